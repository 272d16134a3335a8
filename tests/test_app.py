"""The Streamlit app through AppTest: every tab, the widgets, compare, uploads (good and bad),
expected values first then bands, and the location planner (rank, allocate, simulate,
infeasible). AppTest runs no JavaScript: drawing is tests/test_browser.py's job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def app():
    return new_app()


def open_tab(at: AppTest, name: str) -> AppTest:
    at.session_state["view"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck_spec(at, i: int = 0) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[i].proto.json)


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def test_map_is_offline_and_has_layers(app):
    spec = deck_spec(app)
    ids = [layer["id"] for layer in spec["layers"]]
    assert "districts" in ids and "sites" in ids and "moves" in ids
    # map_provider=None and no map_style: no basemap (see shared recipes); no URL anywhere
    assert spec.get("mapProvider") in (None, "")
    assert "http" not in str(spec.get("mapStyle", ""))
    text = json.dumps(spec)
    assert "mapbox://" not in text and "carto" not in text.lower()
    # the legend is drawn beside the map
    assert any("Map legend" in m.value for m in app.markdown)
    # tooltips carry each district's figures in plain words
    props = spec["layers"][0]["data"]["features"][0]["properties"]
    assert props["line1"].startswith("Headcount") and "coldspot" in props["line4"].lower()
    site = next(layer for layer in spec["layers"] if layer["id"] == "sites")["data"][0]
    assert site["name"] and site["line2"].startswith("Headcount")
    # arcs are sized by posts moved
    arcs = next(layer for layer in spec["layers"] if layer["id"] == "moves")["data"]
    assert all(a["width"] >= 1 for a in arcs) and sum(a["posts"] for a in arcs) > 0


def test_year_slider_keeps_the_view_and_metric_switch(app):
    before = deck_spec(app)
    figures = [m.value for m in app.metric]
    app.slider(key="year").set_value(2026).run()
    assert not app.exception
    after = deck_spec(app)
    # same view (the browser keeps the user's pan and zoom), different figures
    assert after["initialViewState"] == before["initialViewState"]
    assert [m.value for m in app.metric] != figures
    table = app.dataframe[0].value
    assert "Roles moved out of London" in set(table["Measure"])
    app.selectbox(key="map_metric").set_value("coldspot").run()
    assert not app.exception
    assert any("Coldspot" in m.value for m in app.markdown)
    app.selectbox(key="map_metric").set_value("net_posts_gained").run()


def test_compare_with_baseline_difference_map(app):
    app.selectbox(key="compare").set_value("baseline.yaml")
    open_tab(app, "Compare")
    frames = [d.value for d in app.dataframe]
    table = next(f for f in frames if "Difference" in f.columns)
    assert {"baseline", "pfg-2027"} <= set(table.columns)
    moved = table.set_index("Measure").loc["Roles moved out of London", "Difference"]
    assert moved.startswith("+")
    spec = deck_spec(app)
    assert spec["layers"][0]["id"] == "districts"
    legend = next(m.value for m in app.markdown if "Map legend" in m.value)
    assert "Difference in" in legend and "About the same" in legend
    # PuOr: colour-blind-safe diverging; no class uses red-green
    assert "rgb(84, 39, 136)" in legend or "rgb(179, 88, 6)" in legend
    assert len(app.get("vega_lite_chart")) == 1  # the over-time comparison


def test_charts_tab(app):
    open_tab(app, "Charts")
    assert len(app.get("vega_lite_chart")) >= 7
    targets = app.dataframe[0].value
    assert {"Target", "Target value", "Projected"} <= set(targets.columns)
    assert any("Career ladders at each site" in m.value for m in app.markdown)
    app.radio(key="prog_by").set_value("Place and background").run()
    assert not app.exception


def test_downloads_tab(app):
    open_tab(app, "Downloads")
    labels = [b.proto.label for b in app.get("download_button")]
    assert any("CSV" in x for x in labels) and any("XLSX" in x for x in labels)
    assert any("ODS" in x for x in labels)
    assert any("HTML, works offline" in x for x in labels) and any("PNG" in x for x in labels)
    assert any("Crown copyright" in c.value for c in app.caption)
    open_tab(app, "Map")


def test_lever_edit_runs(app):
    app.checkbox(key="mentoring").check().run()
    assert not app.exception
    assert any("pfg-2027-edited" in c.value for c in app.caption)
    app.checkbox(key="mentoring").uncheck().run()


def test_expected_first_then_bands(app):
    app.number_input(key="reps").set_value(2)
    app.radio(key="mode").set_value("With uncertainty bands (P10 to P90)").run()
    assert not app.exception
    # the replications ran after the expected values were shown, and the page redrew
    assert any("2 runs" in c.value for c in app.caption)
    assert "Range (P10 to P90)" in app.dataframe[0].value.columns
    app.radio(key="mode").set_value("Instant (expected values)").run()


BAD = b"""name: bad-upload
horizon: {start_year: 2023, years: 5}
waves:
  - name: w1
    year: 2024
    posts: {grades: [EO, XX]}
    count: 100
    origin: london
    destinations: [{district: E06000005, share: 1.0}]
"""


def upload(at: AppTest, name: str | None, data: bytes = b"") -> AppTest:
    up = at.file_uploader(key="upload")
    up.set_value(None if name is None else (name, data, "application/x-yaml"))
    return at.run()


def test_upload_bad_file_shows_errors(app):
    upload(app, "bad.yaml", BAD)
    assert not app.exception
    text = errors(app)
    # the CLI's format: file:line: field: message
    assert "bad.yaml cannot be used" in text, text
    assert "bad.yaml:6: waves[0].posts.grades[1]: Input should be" in text, text
    assert "Showing **pfg-2027** instead" in text
    # safe YAML only: no Python objects, no alias bombs, UTF-8 text
    upload(app, "py.yaml", b"name: !!python/object/apply:os.system ['echo hi']\n")
    assert "py.yaml:1: yaml:" in errors(app)
    upload(app, "bin.yaml", b"\xff\xfename: x\n")
    assert "bin.yaml: file: not UTF-8 text" in errors(app)
    # extends: and data: cannot leave the shipped scenarios and data
    upload(app, "escape.yaml", b"name: escape\nextends: ../pyproject.toml\n")
    assert "escape.yaml:2: extends:" in errors(app) and "outside" in errors(app)
    upload(app, "data.yaml", b"name: d\ndata: /etc\n")
    assert "data.yaml:2: data:" in errors(app)
    upload(app, "big.yaml", b"#" * (300 * 1024))
    assert "big.yaml: file: larger than 256 KB" in errors(app)
    # a good upload extending a shipped scenario runs
    upload(app, "mine.yaml", b"extends: pfg-2027.yaml\nname: my-upload\n")
    assert not app.exception and not app.error
    assert any("Scenario my-upload" in c.value for c in app.caption)
    upload(app, None)


def test_planner_rank_allocate_simulate():
    at = new_app()
    open_tab(at, "Plan locations")
    frames = {tuple(d.value.columns)[:2]: d.value for d in at.dataframe}
    alloc = next(f for k, f in frames.items() if k[0] == "Place")
    ranking = next(f for k, f in frames.items() if k[0] == "Rank")
    assert alloc["Total"].sum() == 6000  # every post placed
    assert {"Darlington", "Sheffield"} <= set(alloc["Place"])  # fixed campuses
    assert len(alloc) <= 5 and (alloc[["EO", "G6", "SCS2"]] >= 5).all().all()  # full ladders
    assert "Coldspot" in ranking.columns and ranking["Rank"].iloc[0] == 1
    assert any("Posts placed by the plan" in m.value for m in at.markdown)
    assert any(e.label == "Why these places (rationale)" for e in at.expander)
    at.button(key="plan_simulate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    effect = next(d.value for d in at.dataframe if "With the plan" in d.value.columns)
    assert "London share of high-SEB G7+" in set(effect["Measure"])
    assert effect.set_index("Measure").loc["Roles moved out of London", "With the plan"] != "0"
    # editing the plan so it cannot be met: explained in words, no traceback
    at.number_input(key="plan_k").set_value(1).run()
    assert not at.exception
    assert "fixes 2 places but allows only k = 1" in errors(at)
    at.number_input(key="plan_k").set_value(5)
    at.number_input(key="plan_posts").set_value(3000).run()
    alloc = next(d.value for d in at.dataframe if d.value.columns[0] == "Place")
    assert 2990 <= alloc["Total"].sum() <= 3010  # the grade mix scaled, rounded per grade
