"""Briefing exports: valid files, offline HTML, disclosure control, legends that match."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from placesim import load_data_package, load_scenario, read_results, simulate, write_results
from placesim.export import DisclosureRule, control_districts, control_metrics
from placesim.maps import MapSpec, classify, export_map
from placesim.scenario import dump_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    s = load_scenario(ROOT / "scenarios" / "pfg-2027.yaml")
    s = s.model_copy(update={"horizon": s.horizon.model_copy(update={"years": 4})})
    res = simulate(s, mode="expected")
    out = tmp_path_factory.mktemp("run")
    write_results(res, out, dump_scenario(s))
    return out


@pytest.fixture(scope="module")
def pkg():
    return load_data_package()


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_brief_pack_offline(run_dir, pkg, tmp_path, no_network):
    from placesim.brief import write_brief

    res = read_results(run_dir)
    out = tmp_path / "brief"
    paths = write_brief(res, pkg, out, compare=res, marking="OFFICIAL-SENSITIVE")
    names = {p.name for p in paths}
    for n in ("summary.pdf", "map_net_posts_gained.png", "map_high_seb_share.pdf",
              "results.ods", "results.xlsx", "districts.gpkg", "targets.csv",
              "provenance.json"):
        assert n in names, n
    from PIL import Image

    with Image.open(out / "map_net_posts_gained.png") as im:
        assert im.info.get("dpi", (0, 0))[0] == pytest.approx(300, abs=1)
    pdf = (out / "summary.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    text = PdfReader(str(out / "summary.pdf")).pages[0].extract_text()
    assert "placesim briefing" in text and "Contains OS data" in text
    assert "OFFICIAL-SENSITIVE" in text
    xl = pd.ExcelFile(out / "results.xlsx")
    assert xl.sheet_names[:2] == ["Cover_sheet", "Notes"]
    ods = pd.ExcelFile(out / "results.ods", engine="odf")
    assert "Table_1" in ods.sheet_names
    import geopandas as gpd

    g = gpd.read_file(out / "districts.gpkg")
    assert len(g) == 361 and "net_posts_gained" in g.columns


@pytest.mark.parametrize("fmt", ["png", "pdf", "svg", "html"])
def test_map_formats(run_dir, pkg, tmp_path, fmt):
    res = read_results(run_dir)
    path = export_map(res, pkg, metric="net_posts_gained", year=None, fmt=fmt,
                      out=tmp_path / f"m.{fmt}")
    data = path.read_bytes()
    if fmt == "png":
        assert data.startswith(b"\x89PNG")
    elif fmt == "pdf":
        assert data.startswith(b"%PDF")
    elif fmt == "svg":
        assert b"<svg" in data[:500] and b"Contains OS data" in data
    else:
        html = data.decode()
        assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", html)
        assert "deck" in html.lower() and "Contains OS data" in html


def test_disclosure_control_suppresses_small_cells():
    m = pd.DataFrame({"scenario": "s", "year": 2030,
                      "metric": ["leavers_caused_by_relocation", "headcount",
                                 "scs_outside_london_share"],
                      "group": ["seb:low", "grade:PS|london", "all"],
                      "mean": [3.0, 123.0, 0.41234], "p10": [1.0, 118.0, 0.4],
                      "p50": [3.0, 122.0, 0.41], "p90": [6.0, 127.0, 0.42]})
    c = control_metrics(m, DisclosureRule(threshold=5, rounding=5))
    assert c.loc[0, "mean"] == "[c]" and c.loc[0, "p10"] == "[c]"
    assert c.loc[0, "p90"] == 5  # 6 rounds to 5
    assert c.loc[1, "mean"] == 125
    assert c.loc[2, "mean"] == pytest.approx(0.4123)
    d = pd.DataFrame({"lad_code": ["A", "B"], "headcount": [3.0, 400.0],
                      "high_seb_share": [0.9, 0.5]})
    cd = control_districts(d)
    assert cd.loc[0, "headcount"] == "[c]" and cd.loc[0, "high_seb_share"] == "[c]"
    assert cd.loc[1, "high_seb_share"] == 0.5


def test_legend_classes_match_data():
    values = pd.Series(np.arange(100, dtype=float))
    c = classify(values, MapSpec(metric="headcount", k=5))
    assert len(c.labels) == len(c.colours) == 5
    assert c.bins[-1] == values.max()
    for i, v in enumerate(values):
        k = c.index[i]
        lo = -np.inf if k == 0 else c.bins[k - 1]
        assert lo < v <= c.bins[k] or (k == 0 and v <= c.bins[0])


def test_cli_run_then_brief(tmp_path):
    env_cmd = [sys.executable, "-m", "placesim.cli"]
    out = tmp_path / "run"
    r = subprocess.run(env_cmd + ["run", str(ROOT / "scenarios" / "baseline.yaml"), "--mode",
                                  "expected", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(env_cmd + ["map", str(out), "--metric", "coldspot", "--format", "svg",
                                  "--out", str(tmp_path / "c.svg")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_ods_and_xlsx_hold_the_same_tables(run_dir, tmp_path):
    from placesim.export import write_spreadsheet
    from placesim.results import read_results

    res = read_results(run_dir)
    ods = write_spreadsheet(res, tmp_path / "r.ods")
    xlsx = write_spreadsheet(res, tmp_path / "r.xlsx")
    import zipfile

    with zipfile.ZipFile(ods) as z:  # ODF packaging: mimetype first, stored
        first = z.infolist()[0]
        assert first.filename == "mimetype" and first.compress_type == zipfile.ZIP_STORED
    a = pd.read_excel(ods, sheet_name=None, engine="odf")
    b = pd.read_excel(xlsx, sheet_name=None)
    assert list(a) == list(b) == ["Cover_sheet", "Notes", "Table_1", "Table_2"]
    for name in a:
        assert a[name].shape == b[name].shape, name
        assert list(a[name].columns) == list(b[name].columns)
        for col in a[name].columns:
            x, y = a[name][col], b[name][col]
            xn, yn = pd.to_numeric(x, errors="coerce"), pd.to_numeric(y, errors="coerce")
            assert (xn.isna() == yn.isna()).all(), (name, col)
            num = xn.notna()
            assert np.allclose(xn[num], yn[num], rtol=1e-12), (name, col)
            assert (x[~num].astype(str) == y[~num].astype(str)).all(), (name, col)
