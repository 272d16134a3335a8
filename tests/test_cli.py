"""The command line's guards: --confine keeps scenario files inside a folder (as the app does),
errors are capped and plain, every exit on bad input is 2 with no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from placesim.cli import main
from placesim.errors import DataError, Problem, plain

from .helpers import HO_WAVE_SCENARIO, MINIMAL_SCENARIO

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


# --- departments by code, name, alias or all (run and brief resolve them alike) ------------

@pytest.fixture(scope="module")
def dept_pkg(tmp_path_factory) -> Path:
    """A small synthetic package with three departments (HO 'Home Office', HMRC, DWP)."""
    from placesim.testing import write_synthetic_package

    return write_synthetic_package(tmp_path_factory.mktemp("depts") / "pkg", headcount=2000,
                                   departments=True)


def _run_depts(tmp_path, pkg: Path, extra: str = "", *args: str) -> int:
    f = tmp_path / "depts.yaml"
    f.write_text(HO_WAVE_SCENARIO + extra)
    return main(["run", str(f), "--data", str(pkg), "--mode", "expected",
                 "--out", str(tmp_path / "out"), *args])


@pytest.mark.parametrize("typed", ["ho", "Home Office"])
def test_run_department_by_name_or_alias_reports_it_by_its_code(tmp_path, capsys, dept_pkg,
                                                                 typed):
    """The view the run computed (HO) is the one printed, not the name as typed."""
    assert _run_depts(tmp_path, dept_pkg, "", "--department", typed) == 0
    out = capsys.readouterr().out
    assert "HO: the department's view" in out and "Posts in London" in out, out
    # its progression says which measure it is (it read "EO to G7, London" just below the
    # whole service's followed EOs, of 1,000, a different measure; review)
    assert "Chance an EO reaches Grade 7 (period measure): London" in out, out
    assert "not the whole service's followed EOs" in " ".join(out.split()), out


def test_run_department_all_is_accepted_with_a_hint(tmp_path, capsys, dept_pkg):
    """--department all, as departments: [all] in a scenario: every view, one line for them."""
    assert _run_depts(tmp_path, dept_pkg, "", "--department", "all",
                      "--department", "HMRC") == 0
    out = capsys.readouterr().out
    assert "Every department's view (3 departments) is in" in out, out
    assert "HMRC: the department's view" in out and "HO: the department's view" not in out
    import pandas as pd

    groups = set(pd.read_csv(tmp_path / "out" / "metrics.csv")["group"])
    assert {"dept:HO", "dept:HMRC", "dept:DWP"} <= groups


def test_run_prints_the_departments_the_scenario_names(tmp_path, capsys, dept_pkg):
    assert _run_depts(tmp_path, dept_pkg, "departments: [HO]\n") == 0
    out = capsys.readouterr().out
    assert "HO: the department's view" in out and "Every department" not in out, out
    assert _run_depts(tmp_path, dept_pkg, "departments: [all]\n") == 0
    out = capsys.readouterr().out
    assert "Every department's view (3 departments)" in out, out
    assert "the department's view in" not in out


def test_run_department_unknown_exits_2_naming_the_nearest(tmp_path, capsys, dept_pkg):
    assert _run_depts(tmp_path, dept_pkg, "", "--department", "HOX") == 2
    err = capsys.readouterr().err
    assert "--department: unknown department 'HOX' (nearest valid codes: HO" in err, err


def test_brief_department_resolves_names_and_aliases(tmp_path, capsys, dept_pkg, monkeypatch):
    """brief --department takes what run --department takes (checked where it is resolved:
    the pack itself is written by placesim.brief)."""
    import placesim.brief

    assert _run_depts(tmp_path, dept_pkg, "", "--department", "HO") == 0
    capsys.readouterr()
    seen = []
    monkeypatch.setattr(placesim.brief, "write_brief",
                        lambda res, *a, **kw: seen.append(res.manifest["department"]) or [])
    brief = ["brief", str(tmp_path / "out"), "--data", str(dept_pkg)]
    for typed in ("home office", "ho"):
        assert main([*brief, "--department", typed, "--out", str(tmp_path / "pack")]) == 0
    assert seen == ["HO", "HO"]
    assert main([*brief, "--department", "all", "--out", str(tmp_path / "pack2")]) == 2
    assert "--department: 'all' does not apply here" in capsys.readouterr().err
    assert main([*brief, "--department", "HOX", "--out", str(tmp_path / "pack2")]) == 2
    assert "unknown department 'HOX'" in capsys.readouterr().err


def test_map_and_compare_take_a_department(tmp_path, capsys, dept_pkg):
    """``map`` and ``compare`` take --department as ``brief`` does: the map draws the
    department's own district measure and says whose view it is; compare prints the
    department's own figures in both runs (neither took it: a department could not map or
    compare its own figures)."""
    from html import unescape

    from placesim.departments import department_results
    from placesim.results import read_results

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert _run_depts(a, dept_pkg, "", "--department", "HO") == 0
    (b / "depts.yaml").write_text(HO_WAVE_SCENARIO.split("waves:")[0])  # no wave
    assert main(["run", str(b / "depts.yaml"), "--data", str(dept_pkg), "--mode", "expected",
                 "--out", str(b / "out"), "--department", "HO"]) == 0
    capsys.readouterr()
    html = tmp_path / "map.html"
    assert main(["map", str(a / "out"), "--data", str(dept_pkg), "--department", "ho",
                 "--metric", "net_posts_gained", "--format", "html", "--out", str(html)]) == 0
    assert "Home Office's view" in unescape(html.read_text("utf-8"))
    capsys.readouterr()
    assert main(["compare", str(b / "out"), str(a / "out"), "--data", str(dept_pkg),
                 "--department", "Home Office"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Home Office (HO): its own figures in both runs"), out
    # the department's posts, not the whole service's
    mine = department_results(read_results(a / "out"), "HO").metrics
    whole = read_results(a / "out").metrics
    posts = [float(m[(m.metric == "posts") & (m.group == "all")]["mean"].iloc[-1])
             for m in (mine, whole)]
    assert posts[0] < posts[1] / 2
    shown = [line for line in out.splitlines() if line.split()[:1] == ["Posts"]]
    assert len(shown) == 1 and f"{posts[0]:,.0f}" in shown[0], out
    assert main(["compare", str(b / "out"), str(a / "out"), "--department", "HOX"]) == 2
    assert "unknown department 'HOX'" in capsys.readouterr().err


def test_brief_department_names_the_folder_without_its_view(tmp_path, capsys, dept_pkg):
    """A department's pack compared with a run that has no view of the department names
    the comparison's folder (it told the user to re-run the run they had asked for with
    --department: review)."""
    with_view, without = tmp_path / "with", tmp_path / "without"
    with_view.mkdir(), without.mkdir()
    assert _run_depts(with_view, dept_pkg, "", "--department", "HO") == 0
    assert _run_depts(without, dept_pkg) == 0
    capsys.readouterr()
    assert main(["brief", str(with_view / "out"), "--data", str(dept_pkg), "--department",
                 "HO", "--compare", str(without / "out"), "--out", str(tmp_path / "pack")]) == 2
    err = capsys.readouterr().err
    assert f"--department: {without / 'out'}: these results have no view of department HO" \
        in err, err
    assert not (tmp_path / "pack").exists()


def test_all_departments_without_departments_in_the_data_exits_2(tmp_path, capsys):
    """departments: [all] (or --department all) on a package with no departments.csv is
    named with file, line and field, not a traceback from the run."""
    from placesim.testing import write_synthetic_package

    pkg = write_synthetic_package(tmp_path / "pkg", headcount=1500)
    f = tmp_path / "all.yaml"
    f.write_text("name: s\nhorizon: {start_year: 2023, years: 2}\ndepartments: [all]\n")
    run = ["run", "--data", str(pkg), "--mode", "expected", "--out", str(tmp_path / "o")]
    assert main([*run, str(f)]) == 2
    assert f"{f}:3: departments[0]: department 'all': the data package has no department " \
        "dimension" in capsys.readouterr().err
    f.write_text("name: s\nhorizon: {start_year: 2023, years: 2}\n")
    assert main([*run, str(f), "--department", "all"]) == 2
    assert "--department: the data package has no department dimension" in \
        capsys.readouterr().err


@pytest.mark.parametrize("argv,option,rule", [
    (["run", "S", "--replications", "0"], "--replications", "must be at least 1 (got 0)"),
    (["run", "S", "--seed", "-1"], "--seed", "must be at least 0 (got -1)"),
    (["run", "S", "--seed", str(2**64)], "--seed", f"must be at most {2**64 - 1}"),
    (["backcast", "--from", "2021", "--to", "2022", "--mode", "stochastic",
      "--replications", "-3"], "--replications", "must be at least 1 (got -3)"),
    (["batch", "S", "--out", "O", "--replications", "0"], "--replications",
     "must be at least 1"),
    (["plan", "--target", "x", "--out", "O", "--replications", "zero"], "--replications",
     "'zero' is not a whole number"),
])
def test_counts_and_seeds_out_of_range_exit_2_naming_the_option(tmp_path, capsys, argv,
                                                                  option, rule):
    """A replication count below 1 or a negative seed gave a traceback (IndexError,
    ValueError from numpy's seeding) with exit 1; now argparse's exit 2 names the option."""
    (tmp_path / "s.yaml").write_text(MINIMAL_SCENARIO)
    argv = [str(tmp_path / "s.yaml") if a == "S" else str(tmp_path / "o") if a == "O" else a
            for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}: {rule}" in err and "Traceback" not in err


def test_one_stochastic_replication_is_not_called_expected_values(tmp_path, capsys):
    """One replication of the stochastic engine has no band, but it is not an expected value:
    the summary and the manifest say which it is (both called it "expected values"; review)."""
    from placesim.results import read_results

    f = tmp_path / "s.yaml"
    f.write_text(MINIMAL_SCENARIO)
    assert main(["run", str(f), "--mode", "stochastic", "--replications", "1",
                 "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "(one replication, no range):" in out and "(expected values)" not in out, out
    text = read_results(tmp_path / "out").manifest["uncertainty"]["description"]
    assert "one replication of the stochastic engine" in text, text


def test_a_what_if_wave_before_the_run_is_warned_of(tmp_path, capsys):
    """A wave that is not the record but starts before the run counts its roles before the
    start as moved and changes no posts (the census holds them): validate said "ok" and
    nothing else, and a Home Office wave moved to 2019 counted 3,000 roles moved with none
    of its posts moved (review). Now validate warns, naming the wave; the record's own
    waves (recorded: true) and waves in the run are not warned of."""
    f = tmp_path / "early.yaml"
    f.write_text(MINIMAL_SCENARIO.replace("year: 2024", "year: 2019"))
    assert main(["validate", str(f)]) == 0
    err = capsys.readouterr().err
    assert "warning: waves[0] (w) starts in 2019, before the run (April 2023)" in err, err
    assert "change no posts" in err
    f.write_text(MINIMAL_SCENARIO.replace("year: 2024", "year: 2019\n    recorded: true"))
    assert main(["validate", str(f)]) == 0
    f.write_text(MINIMAL_SCENARIO)
    assert main(["validate", str(f)]) == 0
    assert "warning" not in capsys.readouterr().err
