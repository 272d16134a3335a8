"""Scenario files as users meet them: the shipped ones validate, bad ones give
file:line: field: message errors from the CLI, paths resolve from the scenario's folder.

The loader itself (schema, YAML, extends, confinement, round trips) is tested in
test_scenario.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from placesim.errors import ScenarioError
from placesim.geodata import load_data_package
from placesim.scenario import (
    check_against_data,
    load_scenario,
    load_scenario_text,
)

from .helpers import MINIMAL_SCENARIO

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

GOOD = MINIMAL_SCENARIO


@pytest.fixture(scope="module")
def pkg():
    return load_data_package()


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path, pkg):
    """Against the package each runs on (the history starts from the 2021 census)."""
    from placesim.geodata import load_data_package
    from placesim.scenario import resolve_data_path

    s = load_scenario(path)
    own = resolve_data_path(s)
    check_against_data(s, pkg if own is None else load_data_package(own))
    assert path.read_text().startswith("#"), "each scenario opens with its question"


def _err(text, pkg=None, name="bad.yaml"):
    with pytest.raises(ScenarioError) as e:
        s = load_scenario_text(text, filename=name)
        if pkg is not None:
            check_against_data(s, pkg)
    return str(e.value)


@pytest.mark.parametrize("text,line,field,words", [
    (GOOD.replace("horizon:", "horizonn:"), 2, "horizonn", "unknown key"),
    (GOOD.replace("count: 100", "count: many"), 7, "waves[0].count", "whole number"),
    (GOOD.replace("count: 100", "count: -5"), 7, "waves[0].count", "greater than"),
    (GOOD.replace("share: 1.0", "share: 0.5"), 8, "waves[0].destinations", "sum to 1"),
    (GOOD.replace("count: 100", "count: 100\n    share: 0.1"), 4, "waves[0]", "exactly one"),
    (GOOD.replace("[EO]", "[XO]"), 6, "waves[0].posts.grades[0]", "Input should be"),
])
def test_bad_scenarios_name_file_line_field(text, line, field, words):
    msg = _err(text)
    assert f"bad.yaml:{line}: {field}" in msg, msg
    assert words in msg


def test_unknown_site_district_and_too_many_posts(pkg):
    msg = _err(GOOD.replace("site: leeds", "site: atlantis"), pkg)
    assert "bad.yaml:9: waves[0].destinations[0].site: unknown site 'atlantis'" in msg
    msg = _err(GOOD.replace("site: leeds", "district: E99999999"), pkg)
    assert "unknown district 'E99999999'" in msg
    msg = _err(GOOD.replace("count: 100", "count: 1000000"), pkg)
    assert "bad.yaml:7: waves[0].count" in msg and "only" in msg


def test_extends_merges_waves_by_name(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text("name: b\nextends: a.yaml\nwaves:\n  - name: w2\n"
                                     "    year: 2025\n    posts: {grades: [HEO]}\n"
                                     "    share: 0.1\n    destinations: [{site: leeds, "
                                     "share: 1}]\n")
    s = load_scenario(tmp_path / "b.yaml")
    assert [w.name for w in s.waves] == ["w", "w2"]  # cycles: test_scenario.py


def test_cli_validate_exit_codes(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("horizon:", "horizonn:"))
    out = subprocess.run([sys.executable, "-m", "placesim.cli", "validate", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{bad}:2: horizonn: unknown key" in out.stderr
    assert "Traceback" not in out.stderr
    ok = subprocess.run([sys.executable, "-m", "placesim.cli", "validate",
                         str(ROOT / "scenarios" / "baseline.yaml")], capture_output=True,
                        text=True)
    assert ok.returncode == 0


def test_coldspot_csv_is_read_from_the_scenario_folder(tmp_path, monkeypatch, pkg):
    from placesim import engine

    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "our-coldspots.csv").write_text("lad_code\nE06000005\nE08000019\n")
    (folder / "s.yaml").write_text(
        "name: own-coldspots\nhorizon: {start_year: 2023, years: 1}\n"
        "coldspots: {rule: csv, csv: our-coldspots.csv}\n")
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    m = engine.prepare(load_scenario(folder / "s.yaml"), pkg)
    assert sorted(m.geo.lad_codes[m.geo.is_coldspot]) == ["E06000005", "E08000019"]
