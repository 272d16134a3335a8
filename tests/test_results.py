"""Results folders: written whole or not at all, one writer at a time, checked when read.

A run killed while it writes over a complete folder leaves that folder as it was; a second
writer is refused (exit 2); the folder placesim replaces is kept as OUT.previous; folders it
did not write are never replaced. ``map``, ``brief`` and ``compare`` on a damaged folder exit 2
with one line naming the file, and write nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from placesim.cli import main
from placesim.errors import PlacesimError
from placesim.results import previous_path, read_results, write_results, writer_lock
from placesim.testing import write_synthetic_package

from .helpers import scenario_text

SCENARIO = scenario_text(waves=True, years=3).replace("name: synthetic", "name: small\ndata: pkg")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A synthetic data package and a scenario over it (``small.yaml``)."""
    d = tmp_path_factory.mktemp("results")
    write_synthetic_package(d / "pkg", headcount=3000)
    (d / "small.yaml").write_text(SCENARIO)
    return d


@pytest.fixture(scope="module")
def first(work) -> Path:
    """A complete results folder, as `placesim run` writes it."""
    assert main(["run", str(work / "small.yaml"), "--mode", "expected",
                 "--out", str(work / "first")]) == 0
    return work / "first"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name, data in _files(src).items():
        (dst / name).write_bytes(data)
    return dst


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "placesim.cli", *args], capture_output=True,
                          text=True, timeout=300)


# --- writing ------------------------------------------------------------------------------

KILLED_WHILE_WRITING = """
import os, signal, sys
from placesim import results
res = results.read_results(sys.argv[1])
write = results.write_csv
def dies(df, path):  # the process is killed after metrics.csv, before the rest
    if path.name == "districts.csv":
        os.kill(os.getpid(), signal.SIGKILL)
    write(df, path)
results.write_csv = dies
results.write_results(res, sys.argv[1])
"""


def test_killed_half_way_through_writing_leaves_the_earlier_results(first, tmp_path):
    out = _copy(first, tmp_path / "out")
    before = _files(out)
    p = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert _files(out) == before
    (left,) = tmp_path.glob(".out.tmp-*")  # the half-written folder, beside, not inside
    assert (left / "metrics.csv").exists() and not (left / "manifest.json").exists()
    write_results(read_results(out), out)  # the next writer removes it
    assert not list(tmp_path.glob(".out.tmp-*"))
    assert _files(previous_path(out)) == before


def test_run_killed_while_writing_over_a_complete_folder(work, first, tmp_path):
    """A real `placesim run`, killed with SIGKILL as soon as its first file appears in its
    temporary folder (in practice: while it writes metrics.csv). Wherever the kill lands, the
    earlier results are intact and OUT, when it exists, is a complete folder."""
    out = _copy(first, tmp_path / "out")
    before = _files(out)
    p = subprocess.Popen([sys.executable, "-m", "placesim.cli", "run", str(work / "small.yaml"),
                          "--mode", "expected", "--out", str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(tmp_path.glob(".out.tmp-*/*")) and p.poll() is None:
            assert time.monotonic() < deadline, "the run did not start writing"
            time.sleep(0.001)
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait(timeout=60)
    kept = out if out.exists() and _files(out) == before else previous_path(out)
    assert _files(kept) == before, "the earlier results were lost"
    if out.exists():
        read_results(out)  # complete, whichever results it holds


def test_second_writer_is_refused_with_exit_2(work, first, tmp_path):
    out = _copy(first, tmp_path / "out")
    before = _files(out)
    with writer_lock(out):  # as a `placesim run` does while it runs
        p = _cli("run", str(work / "small.yaml"), "--mode", "expected", "--out", str(out))
    assert p.returncode == 2, p.stderr
    assert f"another placesim (pid {os.getpid()}) is writing this folder" in p.stderr
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert _files(out) == before


def test_previous_results_kept_and_foreign_folders_never_replaced(first, tmp_path):
    res = read_results(first)
    out = tmp_path / "out"
    write_results(res, out)
    res.manifest["scenario"] = "second"
    write_results(res, out)
    assert read_results(previous_path(out)).manifest["scenario"] == "small"
    assert read_results(out).manifest["scenario"] == "second"
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(PlacesimError, match="is not a results folder"):
        write_results(res, mine)
    assert _files(mine) == {"notes.txt": b"mine"}


# --- reading damaged folders ----------------------------------------------------------------

def _tamper(kind: str, folder: Path) -> str:
    """Damage ``folder`` one way; return the file the error must name."""
    if kind == "manifest-not-json":
        (folder / "manifest.json").write_text('{"scenario": "small", ')
        return "manifest.json"
    if kind == "manifest-not-object":
        (folder / "manifest.json").write_text("[1, 2]")
        return "manifest.json"
    if kind == "metrics-missing-column":
        m = (folder / "metrics.csv").read_text().splitlines()
        cols = m[0].split(",")
        keep = [i for i, c in enumerate(cols) if c != "p90"]
        (folder / "metrics.csv").write_text("\n".join(
            ",".join(row.split(",")[i] for i in keep) for row in m) + "\n")
        return "metrics.csv"
    if kind == "districts-0-bytes":
        (folder / "districts.csv").write_bytes(b"")
        return "districts.csv"
    if kind == "text-in-a-number":
        header, first_row, *rest = (folder / "metrics.csv").read_text().splitlines()
        cells = first_row.split(",")
        cells[header.split(",").index("year")] = "twenty"
        (folder / "metrics.csv").write_text("\n".join([header, ",".join(cells), *rest]))
        return "metrics.csv"
    if kind == "moves-missing":
        (folder / "moves.csv").unlink()
        return "moves.csv"
    raise AssertionError(kind)


DAMAGE = ["manifest-not-json", "manifest-not-object", "metrics-missing-column",
          "districts-0-bytes", "text-in-a-number", "moves-missing"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_folder_gives_exit_2_one_line_and_no_output(kind, work, first, tmp_path,
                                                             capsys):
    bad = _copy(first, tmp_path / "bad")
    name = _tamper(kind, bad)
    data = ["--data", str(work / "pkg")]
    for args, made in (
        (["map", str(bad), "--metric", "headcount", "--out", str(tmp_path / "m.png"), *data],
         tmp_path / "m.png"),
        (["brief", str(bad), "--out", str(tmp_path / "brief"), *data], tmp_path / "brief"),
        (["brief", str(first), "--compare", str(bad), "--out", str(tmp_path / "brief"), *data],
         tmp_path / "brief"),
        (["compare", str(first), str(bad)], None),
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and str(bad / name) in err, err
        if made is not None:
            assert not made.exists(), f"{args[0]} left {made}"
        assert [p.name for p in tmp_path.iterdir()] == ["bad"], "partial output left"


def test_brief_replaces_a_pack_whole(work, first, tmp_path, capsys):
    out = tmp_path / "brief"
    out.mkdir()
    (out / "provenance.json").write_text("{}")  # an earlier pack
    (out / "briefing.pdf").write_bytes(b"earlier")
    data = ["--data", str(work / "pkg")]
    assert main(["brief", str(first), "--out", str(out), *data]) == 0
    printed = capsys.readouterr().out
    assert f"  {out / 'briefing.pdf'}" in printed and ".tmp-" not in printed
    assert json.loads((out / "provenance.json").read_text())["scenario"] == "small"
    assert (out / "briefing.pdf").read_bytes().startswith(b"%PDF")
    assert (previous_path(out) / "briefing.pdf").read_bytes() == b"earlier"
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["brief", str(first), "--out", str(mine), *data]) == 2
    assert "is not a briefing pack folder" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_missing_folder_points_at_the_previous_results(first, tmp_path):
    out = tmp_path / "out"
    _copy(first, previous_path(out))  # as after a kill between the two renames
    with pytest.raises(PlacesimError, match=r"the earlier results are in .*out\.previous"):
        read_results(out)
    manifest = json.loads((first / "manifest.json").read_text())
    assert read_results(previous_path(out)).manifest == manifest


def test_tables_write_numbers_people_can_read(tmp_path):
    """A CSV table writes ten significant digits, never in scientific notation, crumbs as 0
    and missing values blank (money was written as 1.92199e+08, six digits of it, and a
    cohort's first-year reach as 6.41265e-39; review)."""
    import pandas as pd

    from placesim.results import write_csv

    df = pd.DataFrame({"metric": ["a", "b", "c", "d", "e", "f", "g"],
                       "mean": [192199519.0789, 6.41265e-39, 5e-05, float("nan"), -0.0887267250,
                                12345678901.23, -987654321098.7]})
    write_csv(df, tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text()
    # (a whole part longer than ten digits keeps every digit: £12,345,678,901 was written
    # 12345678900)
    assert text == ("metric,mean\na,192199519.1\nb,0\nc,0.00005\nd,\ne,-0.088726725\n"
                    "f,12345678901\ng,-987654321099\n")
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["mean"].iloc[0] == 192199519.1 and back["mean"].isna().iloc[3]
