"""The app's department picker (issue 17 item 4), through Streamlit's AppTest: the shipped
departmental scenarios are in the scenario picker, and picking a department filters the
headline figures, the map and the charts to that department's view of the same run. The
app test runs the whole Civil Service (``make test-deep``); its cheaper twin in
tests/test_departments.py checks the view it shows (``department_results``)."""

from __future__ import annotations

import json

from placesim.departments import department_results
from placesim.disclosure import protect_value
from placesim.present import fmt_value

from .test_app import new_app, open_tab


def _figures(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_department_picker_filters_figures_map_and_charts():
    at = new_app(scenario="ho-regional-centres.yaml", compare="none")
    files = at.sidebar.selectbox(key="scenario").options
    assert {"ho-regional-centres.yaml", "dbt-darlington.yaml"} <= set(files)
    whole = _figures(at)
    whole_deck = at.get("deck_gl_json_chart")[0].proto.json
    at.session_state["value_open"] = True  # (the value-for-money panel, open)
    at.run()
    assert not any("not by department" in i.value for i in at.info)
    picker = at.sidebar.selectbox(key="department")
    assert "Home Office (HO)" in picker.options and picker.value == "(whole Civil Service)"
    picker.set_value("HO").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(h.value.startswith("Home Office: ") for h in at.subheader)
    figures = _figures(at)
    # the figures are the Home Office's, as the library's department view gives them
    from placesim_app.state import stores

    runs = [r for r in stores()["results"].items.values()
            if r.manifest.get("scenario") == "ho-regional-centres"
            and (r.metrics["group"] == "dept:HO").any()]
    assert len(runs) == 1  # the same run, its department view switched on
    ho = department_results(runs[0], "HO", "Home Office").metrics
    last = ho[(ho.year == ho.year.max()) & (ho.group == "all")].set_index("metric")["mean"]
    assert figures["Roles moved out of London"] == fmt_value(  # (to the nearest 5)
        "roles_moved_out_of_london", protect_value("roles_moved_out_of_london",
                                                   last["roles_moved_out_of_london"]))
    assert figures["Senior Civil Service posts outside London"] == fmt_value(
        "scs_outside_london_share", last["scs_outside_london_share"])
    assert figures != whole
    # the third figure is another measure there, and says so (review)
    third = [m for m in at.metric if m.label.startswith("Chance an EO outside London")]
    assert third and "not followed by department" in third[0].proto.help
    assert "not followed by department" not in " ".join(m.proto.help for m in at.metric
                                                         if m.label != third[0].label)
    assert at.query_params["dept"] == ["HO"] or at.query_params["dept"] == "HO"
    # the map shows the department's posts
    deck = at.get("deck_gl_json_chart")[0].proto.json
    assert deck != whole_deck  # not the whole service's map, kept under the same run
    spec = json.loads(deck)
    assert any(layer["id"] == "districts" for layer in spec["layers"])
    # costs are not split by department: the page says so instead of the whole run's table
    assert any("not by department" in i.value for i in at.info)
    open_tab(at, "Charts")
    assert not at.exception
    assert len(at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")) >= 4


def test_a_departments_downloads_say_whose_figures_they_are(tmp_path):
    """A department's view keeps the whole service's names (its own total is 'all'), so its
    downloads passed on read as the whole Civil Service's (the Home Office's 7,050 roles
    moved, 'all'; review): each file is named for the department, each table has a
    department column, and every workbook table is titled with it."""
    from placesim import load_scenario
    from placesim.export import workbook_tables
    from placesim.geodata import load_data_package
    from placesim.simulation import simulate
    from placesim_app.tabs import downloads

    s = load_scenario("scenarios/ho-regional-centres.yaml")
    pkg = load_data_package()
    whole = simulate(s, pkg, mode="expected")
    view = department_results(whole, "HO", "Home Office")
    items = {d.key: d for d in downloads(pkg, s, view, 2033)}
    assert all("-HO" in d.file_name for k, d in items.items() if k != "dl_yaml")
    for key in ("dl_csv", "dl_districts"):
        head = items[key].make().splitlines()[:2]
        assert "department" in head[0].split(",") and ",HO," in f",{head[1]},", head
    tables = workbook_tables(view, pkg)
    assert all(t["title"].startswith("Home Office (HO): ") for t in tables)
    assert not any(t["title"].startswith("Home Office") for t in workbook_tables(whole, pkg))


def test_the_department_picker_finds_a_department_by_its_newer_name():
    """Typing DBT found only BEIS: the statistics still report the Department for Business
    and Trade as DIT, which the scenario and the command line accept as DBT (review)."""
    from placesim.departments import department_labels
    from placesim.geodata import load_data_package

    labels = department_labels(load_data_package().departments)
    assert labels["DIT"] == ("Department for International Trade (DIT; also DBT, Department "
                             "for Business and Trade)")
    assert labels["HO"] == "Home Office (HO)"
    assert [c for c, label in labels.items() if "DBT" in label] == ["DIT"]
