"""The command line's guards: --confine keeps scenario files inside a folder (as the app does),
errors are capped and plain, every exit on bad input is 2 with no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from placesim.cli import main
from placesim.errors import DataError, Problem, plain

from .helpers import MINIMAL_SCENARIO

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def shared(tmp_path) -> Path:
    """A shared server's scenarios folder, and a secret file outside it."""
    d = tmp_path / "scenarios"
    d.mkdir()
    (d / "ok.yaml").write_text(MINIMAL_SCENARIO)
    (tmp_path / "secret.csv").write_text("lad_code\nE08000003\n")
    (tmp_path / "outside.yaml").write_text(MINIMAL_SCENARIO)
    return d


def test_confine_accepts_files_inside(shared, capsys):
    (shared / "child.yaml").write_text("name: child\nextends: ok.yaml\n")
    assert main(["validate", "--confine", str(shared), str(shared / "child.yaml")]) == 0
    assert capsys.readouterr().out.strip() == f"{shared / 'child.yaml'}: ok"


@pytest.mark.parametrize("text,field", [
    ("name: x\nextends: ../outside.yaml\n", "extends"),
    (MINIMAL_SCENARIO + "coldspots: {rule: csv, csv: ../secret.csv}\n", "coldspots.csv"),
    (MINIMAL_SCENARIO + "data: /etc\n", "data"),
])
def test_confine_refuses_paths_outside(shared, capsys, text, field):
    f = shared / "escape.yaml"
    f.write_text(text)
    assert main(["validate", "--confine", str(shared), str(f)]) == 2
    err = capsys.readouterr().err
    assert "escape.yaml:" in err and f": {field}: " in err and "outside" in err, err


def test_confine_refuses_a_scenario_file_outside(shared, capsys):
    outside = shared.parent / "outside.yaml"
    for cmd in (["validate"], ["run", "--mode", "expected"], ["params"]):
        assert main([*cmd, "--confine", str(shared), str(outside)]) == 2
        assert capsys.readouterr().err.strip() == \
            f"{outside}: file: outside --confine {shared}"
    assert main(["validate", "--confine", str(shared / "nope"), str(outside)]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_validate_rejects_inf_with_the_line(tmp_path, capsys):
    f = tmp_path / "inf.yaml"
    f.write_text(MINIMAL_SCENARIO.replace("count: 100", "count: 100\n    spread_years: .inf"))
    assert main(["validate", str(f)]) == 2
    assert capsys.readouterr().err.strip() == \
        f"{f}:8: waves[0].spread_years: must be a finite number (got inf)"


def test_messages_show_plain_numbers():
    assert plain("negative posts np.int64(-5) on row 3") == "negative posts -5 on row 3"
    assert plain("share np.float64(1.5) and np.True_") == "share 1.5 and np.True_"
    assert str(DataError("b.csv", "posts", "negative: np.int64(-5)")) == \
        "b.csv: column 'posts': negative: -5"
    assert str(Problem("s.yaml", 3, "count", "got np.int64(7)")) == "s.yaml:3: count: got 7"
