"""The Streamlit app through AppTest: pages, widgets, compare, upload errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


@pytest.fixture(scope="module")
def app():
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def deck_spec(at) -> dict:
    return json.loads(at.get("deck_gl_json_chart")[0].proto.json)


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


def test_year_slider_and_metric_switch(app):
    app.slider(key="year").set_value(2026).run()
    assert not app.exception
    table = app.dataframe[0].value
    assert "Roles moved out of London" in set(table["Measure"])
    app.selectbox(key="map_metric").set_value("coldspot").run()
    assert not app.exception
    assert any("Coldspot" in m.value for m in app.markdown)


def test_compare_with_baseline(app):
    app.selectbox(key="compare").set_value("baseline.yaml").run()
    assert not app.exception
    frames = [d.value for d in app.dataframe]
    assert any("diff" in f.columns for f in frames)


def test_lever_edit_runs(app):
    app.checkbox(key="mentoring").check().run()
    assert not app.exception
    assert "edited" in app.subheader[0].value or app.subheader
