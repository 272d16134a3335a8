"""The Streamlit app through AppTest: every tab, the widgets, compare, uploads (good and bad),
expected values first then bands, shareable URLs, legends on every chart, and the location
planner (rank, allocate, explain, simulate, infeasible). AppTest runs no JavaScript: drawing
is tests/test_browser.py's job."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from placesim_app.charts import spec_has_legend

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")


def new_app(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


SERVED: dict[str, bytes] = {}  # URL -> what the app served there (its maps' layers' data)


@pytest.fixture(scope="module", autouse=True)
def record_served():
    """Keep what the app serves at its media endpoint, by URL (AppTest makes a new media
    manager at every run, and drops it after)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    add = MediaFileManager.add

    def recording(self, data, mimetype, coordinates, *args, **kwargs):
        url = add(self, data, mimetype, coordinates, *args, **kwargs)
        SERVED[url] = data
        return url

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(MediaFileManager, "add", recording)
        yield


@pytest.fixture(scope="module")
def app():
    return new_app()


def open_tab(at: AppTest, name: str) -> AppTest:
    at.session_state["view"] = name
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck_spec(at, i: int = 0) -> dict:
    """The ``i``-th map's deck, its layers' data read from where the app served it."""
    spec = json.loads(at.get("deck_gl_json_chart")[i].proto.json)
    for layer in spec["layers"]:
        if isinstance(layer.get("data"), str):
            layer["data"] = json.loads(SERVED[layer["data"]])
    return spec


def chart_specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("arrow_vega_lite_chart")] or [
        json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def errors(at) -> str:
    return "\n".join(e.value for e in at.error)


def test_map_is_offline_and_has_layers(app):
    spec = deck_spec(app)
    ids = [layer["id"] for layer in spec["layers"]]
    assert {"districts", "sites", "moves", "labels", "london-box"} <= set(ids)
    # a London inset: a second, small deck of London's districts beside the map
    inset = deck_spec(app, 1)
    assert [v["id"] for v in inset["views"]] == ["london"]
    assert inset["initialViewState"]["zoom"] > spec["initialViewState"]["zoom"] + 2
    feats = inset["layers"][0]["data"]["features"]
    assert len(feats) == 33 and all(f["properties"]["lad_code"].startswith("E09") for f in feats)
    # map_provider=None and no map_style: no basemap (see shared recipes); no URL anywhere
    assert spec.get("mapProvider") in (None, "")
    text = json.dumps(spec)
    assert "http" not in text and "mapbox://" not in text and "carto" not in text.lower()
    legend = next(m.value for m in app.markdown if "Map legend" in m.value)
    assert "(posts)" in legend and "Posts moved from London" in legend and "Hub or campus" in \
        legend
    # tooltips carry each district's figures in plain words, through disclosure control
    props = spec["layers"][0]["data"]["features"][0]["properties"]
    assert props["line1"].startswith("Headcount") and "coldspot" in props["line4"].lower()
    site = next(layer for layer in spec["layers"] if layer["id"] == "sites")["data"][0]
    assert site["name"] and site["line2"].startswith("Headcount")
    # arcs: one colour, sized by posts moved, counts rounded to 5
    moves = next(layer for layer in spec["layers"] if layer["id"] == "moves")
    assert all(a["width"] >= 1 for a in moves["data"])
    counts = [int(a["line0"].split(": ")[1].replace(",", "")) for a in moves["data"]]
    assert counts and all(c >= 5 and c % 5 == 0 for c in counts)
    assert moves["getSourceColor"] == moves["getTargetColor"]


def test_key_figures_pass_the_disclosure_control_the_targets_table_does(app):
    """The figures across the top go through the same disclosure control as the targets
    table below them, the map and the downloads: counts to the nearest 5 (they read 32,249
    above a table saying 32,250; review)."""
    from placesim.disclosure import protect_value
    from placesim.present import fmt_value
    from placesim_app.state import stores

    from .test_departments_app import _figures

    shown = _figures(app)["Roles moved out of London"]
    year = app.slider(key="year").value
    runs = [r for r in stores()["results"].items.values() if r.manifest.get("mode") == "expected"
            and r.manifest.get("scenario") == app.session_state["scenario"].removesuffix(".yaml")]
    m = runs[0].metrics
    raw = float(m[(m.metric == "roles_moved_out_of_london") & (m.group == "all")
                  & (m.year == year)]["mean"].iloc[0])
    assert shown == fmt_value("roles_moved_out_of_london",
                              protect_value("roles_moved_out_of_london", raw))
    assert int(shown.replace(",", "")) % 5 == 0


def test_year_slider_keeps_the_view_and_metric_switch(app):
    before = deck_spec(app)
    figures = [m.value for m in app.metric]
    app.slider(key="year").set_value(2026).run()
    assert not app.exception
    after = deck_spec(app)
    assert after["initialViewState"] == before["initialViewState"]
    assert [m.value for m in app.metric] != figures
    assert app.query_params["year"] == "2026"
    table = app.dataframe[0].value
    assert "Roles moved out of London" in set(table["Measure"])
    assert not table["Value"].str.contains("nan|e\\+", regex=True).any()
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
    share = table.set_index("Measure").loc["Senior Civil Service posts outside London",
                                           "Difference"]
    assert share.endswith("points")  # a difference of percentages is in points
    spec = deck_spec(app)
    assert spec["layers"][0]["id"] == "districts"
    legend = next(m.value for m in app.markdown if "Map legend" in m.value)
    assert "Difference in" in legend and "No change or fewer than 5 posts" in legend
    # PuOr: colour-blind-safe diverging, zero-centred
    assert "#542788" in legend or "#b35806" in legend
    specs = chart_specs(app)
    assert len(specs) == 1 and all(spec_has_legend(s) for s in specs)
    assert app.query_params["tab"] == "Compare"


def test_charts_tab_every_chart_has_a_legend(app):
    open_tab(app, "Charts")
    specs = chart_specs(app)
    assert len(specs) >= 7
    assert all(spec_has_legend(s) for s in specs), [s.get("title") for s in specs]
    targets = app.dataframe[0].value
    assert {"Target", "Target value", "Projected", "Met?"} <= set(targets.columns)
    assert any("Career ladders at each site" in m.value for m in app.markdown)
    app.radio(key="prog_by").set_value("Place and background").run()
    assert not app.exception


def test_downloads_tab(app):
    open_tab(app, "Downloads")
    labels = [b.proto.label for b in app.get("download_button")]
    for word in ("Briefing (PDF)", "CSV", "XLSX", "ODS", "HTML, works offline", "PNG", "YAML"):
        assert any(word in x for x in labels), word
    assert any("Crown copyright" in c.value for c in app.caption)
    open_tab(app, "Map")


def test_value_for_money_is_worked_out_when_opened(app, monkeypatch):
    """The value-for-money panel, closed, asks for no appraisal (every rerun would pay for
    it); opened, it shows the run's costs, savings and net present value with their
    sources."""
    import placesim_app.value as value

    asked = []
    appraisal = value.appraisal_rows
    monkeypatch.setattr(value, "appraisal_rows", lambda *a, **k: asked.append(1) or
                        appraisal(*a, **k))
    app.session_state["value_open"] = False
    app.run()
    panel = next(e for e in app.expander if e.label.startswith("Value for money"))
    assert not panel.dataframe and not asked
    app.session_state["value_open"] = True
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    panel = next(e for e in app.expander if e.label.startswith("Value for money"))
    table = panel.dataframe[0].value
    assert asked and {"Line", "Scenario", "Source"} <= set(table.columns)
    # the years it covers, as the brief says them (placesim.costs.appraisal_period): from
    # the start, a year before the first record's (it said "Over 2024-2033")
    said = " ".join(c.value for c in panel.caption)
    assert re.search(r"Over the \d+ years from (\d{4}) to \d{4}, in constant \1 prices", said), said
    assert table["Line"].str.contains("Net present value").any()
    app.session_state["value_open"] = False
    app.run()


def test_lever_edit_runs_and_is_in_the_url(app):
    app.checkbox(key="mentoring").check().run()
    assert not app.exception
    assert any("pfg-2027-edited" in c.value and "mentoring" in c.value for c in app.caption)
    assert app.query_params["mentoring"] == "1"
    app.checkbox(key="mentoring").uncheck().run()
    assert "mentoring" not in app.query_params


def test_a_lever_the_scenario_has_is_shown_ticked_and_left_as_it_sets_it():
    """On the social-mobility levers scenario, outreach and secondments are its own: shown
    ticked and fixed, not offered as additions that would replace its settings (review)."""
    at = new_app(scenario="social-mobility-levers.yaml")
    for key in ("outreach", "secondments"):
        box = at.checkbox(key=f"{key}_had")
        assert box.value and box.disabled and "in this scenario already" in box.label
    assert not at.checkbox(key="mentoring").disabled
    assert not any("edited" in c.value for c in at.caption)


def test_shared_url_reopens_the_same_view():
    at = new_app(scenario="coldspots-first.yaml", compare="senior-roles-out.yaml",
                 year="2027", tab="Compare", support="1", scale="150")
    assert at.selectbox(key="scenario").value == "coldspots-first.yaml"
    assert at.selectbox(key="compare").value == "senior-roles-out.yaml"
    assert at.slider(key="year").value == 2027
    assert at.checkbox(key="support").value and at.slider(key="scale").value == 150
    assert any("coldspots-first-edited" in c.value for c in at.caption)
    table = next(d.value for d in at.dataframe if "Difference" in d.value.columns)
    assert "senior-roles-out" in table.columns


def test_expected_first_then_bands(app):
    import time

    app.number_input(key="reps").set_value(2)
    app.radio(key="mode").set_value("With uncertainty bands (P10 to P90)").run()
    assert not app.exception
    # expected values at once, the bands worked out meanwhile (the script run does not wait)
    assert any("expected values" in c.value for c in app.caption)
    assert any("being worked out" in i.value for i in app.info)
    deadline = time.monotonic() + 120
    while not any("2 runs" in c.value for c in app.caption) and time.monotonic() < deadline:
        time.sleep(0.5)  # (AppTest does not run the waiting fragment on its timer)
        app.run()
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
    destinations: [{district: Darlingtn, share: 1.0}]
"""


def upload(at: AppTest, name: str | None, data: bytes = b"") -> AppTest:
    up = at.file_uploader(key="upload")
    up.set_value(None if name is None else (name, data, "application/x-yaml"))
    return at.run()


def test_one_upload_limit():
    from placesim.scenario import MAX_BYTES

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_BYTES


def test_upload_bad_file_shows_errors(app):
    label = app.file_uploader(key="upload").label
    assert "up to 1 MB" in label
    upload(app, "bad.yaml", BAD)
    assert not app.exception
    text = errors(app)
    # the CLI's format: file:line: field: message
    assert "bad.yaml cannot be used" in text, text
    assert "bad.yaml:6: waves[0].posts.grades[1]: Input should be" in text, text
    assert "Showing **pfg-2027** instead" in text
    # the problem's first line, not the end of the file
    upload(app, "quote.yaml", b'name: q\ntitle: "unclosed\nhorizon: {years: 5}\n')
    assert "quote.yaml:2: yaml:" in errors(app), errors(app)
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
    # a district misspelt: did you mean
    upload(app, "name.yaml", b"extends: pfg-2027.yaml\nname: n\nwaves:\n  - name: w\n"
                             b"    year: 2024\n    posts: {grades: [EO]}\n    count: 10\n"
                             b"    destinations: [{district: Darlingtn, share: 1.0}]\n")
    assert "did you mean 'E06000005 (Darlington)'" in errors(app), errors(app)
    # a lever for one department's staff: an unknown code is named with the nearest, a
    # known one runs
    lever = b"extends: pfg-2027.yaml\nname: dept\nlevers:\n  mentoring: {start_year: 2025, "
    upload(app, "dept.yaml", lever + b"department: HOO}\n")
    assert ("dept.yaml:4: levers.mentoring.department[0]: unknown department 'HOO' "
            "(nearest valid codes: HO" in errors(app)), errors(app)
    upload(app, "dept.yaml", lever + b"department: HO}\n")
    assert not app.exception and not app.error
    assert any("Scenario dept" in c.value for c in app.caption)
    # a good upload extending a shipped scenario runs; it is kept only in the app's folder
    upload(app, "mine.yaml", b"extends: pfg-2027.yaml\nname: my-upload\n")
    assert not app.exception and not app.error
    assert any("Scenario my-upload" in c.value for c in app.caption)
    from placesim_app.state import app_folder

    kept = list(app_folder().rglob("*.yaml"))
    assert kept and all(p.read_bytes().startswith(b"extends") for p in kept)
    upload(app, None)


def test_planner_rank_allocate_explain_simulate():
    at = new_app(tab="Plan locations")
    frames = {tuple(d.value.columns)[:2]: d.value for d in at.dataframe}
    alloc = next(f for k, f in frames.items() if k[0] == "Place")
    ranking = next(f for k, f in frames.items() if k[0] == "Rank")
    assert alloc["Total"].sum() == 6000  # every post placed
    fixed = set(alloc.loc[alloc["Fixed by the plan"] == "yes", "Place"])
    assert fixed == {"Darlington", "Sheffield"}  # fixed campuses shown in the table
    assert len(alloc) <= 5 and (alloc[["EO", "G6", "SCS2"]] >= 5).all().all()  # full ladders
    assert "Social-mobility coldspot" in ranking.columns and ranking["Rank"].iloc[0] == 1
    said = " ".join(m.value for m in at.markdown)
    assert "You asked for up to 5 places" in said and f"{len(alloc)} were chosen" in said
    assert "Fixed by the plan (always included): Darlington, Sheffield" in said
    assert any(e.label == "Why these places (rationale)" for e in at.expander)
    at.button(key="plan_simulate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    effect = next(d.value for d in at.dataframe if "With the plan" in d.value.columns)
    measures = set(effect["Measure"])
    assert "London's share of higher-background staff at Grade 7 and above" in measures
    assert effect.set_index("Measure").loc["Roles moved out of London", "With the plan"] != "0"
    assert all(spec_has_legend(s) for s in chart_specs(at))
    # editing the plan so it cannot be met: explained in words, no traceback
    at.number_input(key="plan_k").set_value(1).run()
    assert not at.exception
    assert "fixes 2 places but allows only k = 1" in errors(at)
    at.number_input(key="plan_k").set_value(5)
    at.number_input(key="plan_posts").set_value(3000).run()
    alloc = next(d.value for d in at.dataframe if d.value.columns[0] == "Place")
    assert 2990 <= alloc["Total"].sum() <= 3010  # the grade mix scaled, rounded per grade


def test_national_map_districts_meet_and_each_border_is_drawn_once():
    """The national map's districts are simplified together: every district keeps a shape
    mostly its own, neighbours neither overlap nor leave gaps, and the borders (one path
    layer, each shared border once) have far fewer vertices than outlining every polygon."""
    import shapely

    from placesim import load_data_package
    from placesim.maps import _polygonal, district_mesh, district_shapes

    pkg = load_data_package()
    _, borders, shapes = district_mesh(pkg)
    orig = np.array([_polygonal(g) for g in pkg.districts.geometry.values])
    shapes = np.array(shapes)
    assert len(shapes) == len(orig) and not shapely.is_empty(shapes).any()
    own = shapely.area(shapely.intersection(shapes, orig))
    # (the smallest, the Isles of Scilly and Hastings, change most: 0.4 px at the map's zoom)
    assert (own >= 0.6 * shapely.area(orig)).all() and (own >= 0.75 * shapely.area(shapes)).all()
    union = shapely.union_all(shapes)
    assert shapely.area(shapes).sum() == pytest.approx(shapely.area(union), rel=1e-6)
    land = shapely.union_all(orig)
    assert shapely.area(shapely.difference(land, union)) < 0.01 * shapely.area(land)
    n_border = sum(len(b) for b in borders)
    n_outline = int(shapely.get_num_coordinates(district_shapes(pkg).geometry.values).sum())
    assert n_border < 0.5 * n_outline


def test_app_map_borders_and_coldspot_outlines(app):
    spec = deck_spec(app)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    assert not layers["districts"]["stroked"] and layers["borders"]["data"]
    # the borders are drawn as straight segments, each once: the mesh's paths, cut up
    from placesim import load_data_package
    from placesim.maps import border_segments, district_mesh

    pkg = load_data_package()
    geojson, paths, _ = district_mesh(pkg)
    segments = border_segments(pkg)
    assert len(segments) == sum(len(p) - 1 for p in paths)
    assert segments[0].tolist() == [*paths[0][0], *paths[0][1]]
    assert layers["borders"]["@@type"] == "LineLayer"
    assert layers["borders"]["data"] == segments.tolist()
    # (shapes and borders are written once and put into every deck's JSON as they are)
    assert ([f["geometry"] for f in layers["districts"]["data"]["features"]]
            == [f["geometry"] for f in json.loads(geojson)["features"]])
    assert "coldspots" not in layers
    # the districts and borders reach the browser apart from the deck, served by the app (the
    # map element reads a deck with a slow parser), at the same URLs while they are the same
    sent = json.loads(app.get("deck_gl_json_chart")[0].proto.json)
    urls = {layer["id"]: layer["data"] for layer in sent["layers"]
            if isinstance(layer["data"], str)}
    assert set(urls) == {"districts", "borders"}
    assert all(u.startswith("/") and not u.startswith("//") and u.endswith(".json")
               for u in urls.values())
    assert len(app.get("deck_gl_json_chart")[0].proto.json) < 50_000
    # (the London inset's small data stays in its deck: fetched, it would be drawn later)
    inset = json.loads(app.get("deck_gl_json_chart")[1].proto.json)
    assert isinstance(inset["layers"][0]["data"], dict)
    year = app.slider(key="year").value
    app.slider(key="year").set_value(2025 if year != 2025 else 2033).run()
    again = {layer["id"]: layer["data"] for layer in
             json.loads(app.get("deck_gl_json_chart")[0].proto.json)["layers"]}
    assert again["borders"] == urls["borders"] and again["districts"] != urls["districts"]
    app.slider(key="year").set_value(year).run()
    app.checkbox(key="map_coldspots").check().run()
    assert not app.exception
    layers = {layer["id"]: layer for layer in deck_spec(app)["layers"]}
    assert layers["coldspots"]["data"] and layers["coldspots"]["getColor"][:3] == [0, 114, 178]
    app.checkbox(key="map_coldspots").uncheck().run()


def test_a_deck_served_apart_is_the_same_deck():
    """A deck's JSON with its layers' data served apart, the data put back where the URLs
    are, is the deck's JSON with the data in it."""
    import placesim
    from placesim import load_data_package, load_scenario, maps

    pkg = load_data_package()
    s = load_scenario(ROOT / "scenarios" / "pfg-2027.yaml")
    res = placesim.simulate(s, pkg, mode="expected")
    served: dict[str, str] = {}

    def serve(texts):
        urls = [f"/media/{len(served) + i}.json" for i in range(len(texts))]
        served.update(zip(urls, texts, strict=True))
        return urls

    for part in ("main", "london", "both"):
        view = maps.map_view(res, pkg, "net_posts_gained", 2030, coldspots=True)
        deck = maps.build_deck(pkg, view, part=part)
        served.clear()
        spec = json.loads(deck.to_json(serve=serve))
        assert len(served) == (2 if part == "main" else 1)
        for layer in spec["layers"]:
            if isinstance(layer["data"], str):
                layer["data"] = json.loads(served[layer["data"]])
        assert spec == json.loads(deck.to_json())
        # data the server keeps in the deck (None for its URL) is as it was
        assert deck.to_json(serve=lambda texts: [None] * len(texts)) == deck.to_json()


def test_shipped_scenarios_worked_out_ahead_are_the_pages_answers(app):
    """The band workers work out the shipped scenarios' expected values when the app starts;
    the kept results are those the page would work out itself."""
    import pandas as pd

    import placesim
    from placesim_app.state import load_choice, package_for, result_key, stores, warm_shipped

    jobs = warm_shipped()
    assert jobs  # the app's first page asked for them
    done = [j.result(timeout=300) for j in jobs]
    s = load_choice("dbt-darlington.yaml")
    ahead = next(r for r in done if r.manifest["scenario_hash"] == s.hash())
    assert stores()["results"].get(result_key(s, "expected", 1)) is ahead
    fresh = placesim.simulate(s, package_for(s), replications=1, seed=s.seed, mode="expected")
    pd.testing.assert_frame_equal(ahead.metrics, fresh.metrics)
    pd.testing.assert_frame_equal(ahead.districts, fresh.districts)


def test_sessions_asking_for_the_same_thing_at_once_compute_it_once():
    """Store.memo: concurrent askers of one key share one computation (the others wait for
    it); other keys are not held up; a failure is not kept."""
    import threading
    import time

    from placesim_app.state import Store

    store, calls, out = Store(8), [], []
    release = threading.Event()

    def slow_a():
        calls.append("a")
        release.wait(10)  # held until "b" has been answered
        return "a"

    threads = [threading.Thread(target=lambda: out.append(store.memo("a", slow_a)))
               for _ in range(5)]
    for t in threads:
        t.start()
    while not calls:
        time.sleep(0.01)
    assert store.memo("b", lambda: "b") == "b"
    assert not out  # "b" was answered while "a" was still being worked out
    release.set()
    for t in threads:
        t.join()
    assert out == ["a"] * 5 and calls.count("a") == 1
    assert not store.making

    def boom():
        raise RuntimeError("failed")

    with pytest.raises(RuntimeError):
        store.memo("c", boom)
    assert store.get("c") is None and not store.making
    assert store.memo("c", lambda: "c") == "c"


def test_site_ladders_show_sites_not_a_departments_view():
    """On the whole service's view of a run that also holds a department's view
    (``dept:HO|site:...`` groups), the ladder table lists the sites only."""
    from types import SimpleNamespace

    import pandas as pd

    from placesim_app.tabs import ladder_table

    rows = []
    for prefix in ("", "dept:HO|"):
        rows += [(f"{prefix}site:leeds", "site_ladder_completeness", 0.9),
                 (f"{prefix}site:leeds", "site_ladder_largest_gap", 1.0)]
    metrics = pd.DataFrame([{"year": 2030, "group": g, "metric": k, "mean": v}
                            for g, k, v in rows])
    pkg = SimpleNamespace(sites=pd.DataFrame({"site_id": ["leeds"], "site_name": ["Leeds"]}))
    table = ladder_table(pkg, SimpleNamespace(metrics=metrics), 2030)
    assert table["Site"].tolist() == ["Leeds"]


def test_moves_not_made_are_told_above_the_figures(app):
    """The default scenario makes every move it plans: no warning. coldspots-first ends with
    posts still waiting for full sites' desks, which the page says (it gave a roles-moved
    figure short of the plan without a word)."""
    from placesim import load_scenario
    from placesim.simulation import simulate

    assert not app.warning
    at = new_app(scenario="coldspots-first.yaml")
    m = simulate(load_scenario(ROOT / "scenarios" / "coldspots-first.yaml"),
                 mode="expected").metrics
    waiting = m[(m["metric"] == "posts_awaiting_site_capacity") & (m["group"] == "all")
                & (m["year"] == 2033)]["mean"].iloc[0]
    assert waiting > 100  # (Darlington's and Wrexham's desks: 493 since Sheffield has none)
    assert [w.value for w in at.warning] == [
        f"{waiting:,.0f} posts due to move were still waiting for desks in 2033, at sites that "
        "were full or not yet open: they had not moved (sites' desks are in the data "
        "package's sites.csv, or the scenario's sites:)."]


def test_the_figures_across_the_top_lead_with_the_concentration_the_brief_does():
    """The brief's answer leads with the higher-background share of London's own G7+ (the
    concentration the Social Mobility Commission asks about); the app's figures across the
    top showed London's share of the country's higher-background G7+, which falls whenever
    London's G7+ does, even as its mix tilts further (review)."""
    import pandas as pd

    from placesim_app.tabs import key_figures

    metrics = pd.DataFrame({"metric": ["cohort_eo_to_g7"], "group": ["outside_london"]})
    shown = [(m, g) for _, m, g in key_figures(metrics)]
    assert ("high_seb_share_london_g7_plus", "all") in shown
    assert ("london_share_of_high_seb_g7_plus", "all") not in shown
