"""The app's value-for-money table and its "What would it take?" panel, through AppTest.

Each AppTest starts the whole app (half a minute or more on 2 cores), so these are slow tests
(`make test-deep`); their cheaper default-run twins test the same tables without Streamlit:
tests/test_costs.py (appraisal rows) and tests/test_planner_targets.py (the plan).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _frames(at):
    return [d.value for d in at.dataframe]


@pytest.mark.slow
def test_value_for_money_table_with_sources(app):
    vfm = next(f for f in _frames(app) if "Line" in f.columns and "Source" in f.columns)
    lines = set(vfm["Line"])
    assert {"Net present value", "Payback year", "Costs", "Savings"} <= lines
    npv = vfm.set_index("Line").loc["Net present value"]
    assert npv["Scenario"].startswith(("£", "-£")) and "Green Book" in npv["Source"]
    assert vfm["Source"].str.len().min() > 10


@pytest.mark.slow
def test_what_would_it_take_panel_is_offered(app):
    app.session_state["view"] = "Plan locations"
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("What would it take?" in m.value for m in app.markdown)
    assert app.button(key="seek_go") is not None
    assert app.selectbox(key="seek_metric_1").value == 0  # SCS outside London


@pytest.mark.slow
def test_what_would_it_take_finds_and_saves_a_plan(app):
    app.session_state["view"] = "Plan locations"
    app.run()
    app.button(key="seek_go").click()
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("cheapest plan found" in s.value for s in app.success), [
        e.value for e in app.error]
    plan = next(f for f in _frames(app) if "Campus" in f.columns)
    assert "SCS posts" in plan.columns and "G7+ posts within 50 km" in plan.columns
    vfm = next(f for f in _frames(app) if "Difference" in f.columns and "Source" in f.columns)
    assert "Net present value" in set(vfm["Line"])
    assert any(b.proto.label.startswith("Save the plan") for b in app.get("download_button"))
