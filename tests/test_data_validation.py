"""A data package is validated as a whole before anything runs (issue 19 item 1).

Each broken package is fed to ``placesim data`` as a user would: exit 2, one line naming the
file, column, row and rule, no traceback, and (for the 5-million-row file) bounded memory.
Excel-style exports (BOM + CRLF, cp1252) load.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from placesim.cli import main
from placesim.errors import DataError
from placesim.geodata import (
    SHIPPED,
    SHIPPED_YEARS,
    Limits,
    format_summary,
    load_data_package,
    reproduce_checks,
    shipped_package,
    summary,
)

ROOT = Path(__file__).resolve().parent.parent


def _copy(tmp_path: Path, year: int = 2023) -> Path:
    dst = tmp_path / f"pkg{year}"
    shutil.copytree(shipped_package(year), dst)
    return dst


def _cli(*args: str) -> subprocess.CompletedProcess:
    """``placesim`` in a child process, reporting its own peak memory
    (:func:`placesim.peak_memory.peak_rss_kb`) in the last stderr line."""
    code = ("import sys, runpy\n"
            "from placesim.peak_memory import peak_rss_kb\n"
            "sys.argv = ['placesim', *sys.argv[1:]]\n"
            "try:\n"
            "    runpy.run_module('placesim.cli', run_name='__main__')\n"
            "finally:\n"
            "    print(f'PEAK_RSS_KB {peak_rss_kb()}', file=sys.stderr)\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _break(kind: str, dst: Path) -> None:
    """Break the package in ``dst`` the way issue 19 lists."""
    b = dst / "baseline_posts.csv"
    if kind == "duplicate_keys":
        lines = _lines(b)
        b.write_bytes(b"".join([*lines[:40], lines[12], *lines[40:]]))
    elif kind == "header_only":
        b.write_bytes(_lines(b)[0])
    elif kind == "line_truncated":
        lines = _lines(b)
        b.write_bytes(b"".join(lines[: len(lines) // 2]))
    elif kind == "missing_seb_rows":
        seb = pd.read_csv(dst / "seb_by_grade_place.csv")
        seb[seb.grade != "EO"].to_csv(dst / "seb_by_grade_place.csv", index=False)
    elif kind == "inf":
        df = pd.read_csv(b, dtype=str)
        df.loc[7, "posts"] = "inf"
        df.to_csv(b, index=False)
    elif kind == "100_billion_posts":
        df = pd.read_csv(b, dtype=str)
        df.loc[3, "posts"] = "100000000000"
        df.to_csv(b, index=False)
    elif kind == "5_million_rows":
        lines = _lines(b)
        body = b"".join(lines[1:])
        copies = 5_000_000 // (len(lines) - 1) + 1
        with open(b, "wb") as f:
            f.write(lines[0])
            for _ in range(copies):
                f.write(body)
    elif kind == "metres_as_degrees":
        d = gpd.read_parquet(dst / "districts.parquet")
        d = d.to_crs(27700).set_crs(4326, allow_override=True)
        d.to_parquet(dst / "districts.parquet")
    else:
        raise AssertionError(kind)


# file, column, row (None: any row named), rule
BROKEN = {
    "duplicate_keys": ("baseline_posts.csv", "lad_code", 41, "unique key"),
    "header_only": ("baseline_posts.csv", None, 2, "non-empty"),
    "line_truncated": ("baseline_posts.csv", None, None, "row count (package.json)"),
    "missing_seb_rows": ("seb_by_grade_place.csv", "grade", None, "complete SEB rows"),
    "inf": ("baseline_posts.csv", "posts", 9, "finite"),
    "100_billion_posts": ("baseline_posts.csv", "posts", 5, "plausible size"),
    "5_million_rows": ("baseline_posts.csv", "lad_code", None, "unique key"),
    "metres_as_degrees": ("districts.parquet", "geometry", None, "UK bounds"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_package_exits_2_naming_file_column_row_and_rule(tmp_path, capsys, kind):
    dst = _copy(tmp_path)
    _break(kind, dst)
    if kind == "5_million_rows":  # in a child process, to measure its memory
        out = _cli("data", "--data", str(dst))
        code, stderr = out.returncode, out.stderr
        peak_kb = int(stderr.rsplit("PEAK_RSS_KB", 1)[1])
        assert peak_kb < 1_000_000, f"peak memory {peak_kb / 1024:.0f} MB"
    else:
        code, stderr = main(["data", "--data", str(dst)]), capsys.readouterr().err
    assert code == 2, stderr
    assert "Traceback" not in stderr
    msg = stderr.splitlines()[0]
    name, column, row, rule = BROKEN[kind]
    assert msg.startswith(str(dst / name)), msg
    if column:
        assert f"column {column!r}" in msg, msg
    if row:
        assert f"row {row}:" in msg, msg
    elif kind not in ("missing_seb_rows",):
        assert re.search(r"row \d+", msg), msg
    assert f"[rule: {rule}]" in msg, msg


def test_duplicate_names_both_rows(tmp_path):
    dst = _copy(tmp_path)
    _break("duplicate_keys", dst)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert "row 41: duplicate key (lad_code=" in e.value.message
    assert "same as row 13" in e.value.message


def test_missing_seb_row_names_the_missing_cell(tmp_path):
    dst = _copy(tmp_path)
    _break("missing_seb_rows", dst)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert "grade 'EO'" in e.value.message


def test_duplicate_seb_row_is_an_error_not_last_wins(tmp_path):
    dst = _copy(tmp_path)
    seb = pd.read_csv(dst / "seb_by_grade_place.csv")
    pd.concat([seb, seb.iloc[[5]]]).to_csv(dst / "seb_by_grade_place.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("seb_by_grade_place.csv") and "unique key" in e.value.message
    assert "row 46" in e.value.message and "same as row 7" in e.value.message


def test_header_only_other_tables(tmp_path):
    dst = _copy(tmp_path)
    f = dst / "sites.csv"
    f.write_bytes(_lines(f)[0])
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("sites.csv") and "non-empty" in e.value.message


def test_truncation_without_manifest_is_caught_by_completeness_or_checks(tmp_path):
    """A user-made package has no package.json: a line-truncated table is still caught when
    the cut removes required rows (SEB, districts) or moves the check figures."""
    dst = _copy(tmp_path)
    (dst / "package.json").unlink()
    lines = _lines(dst / "labour_market.csv")
    (dst / "labour_market.csv").write_bytes(b"".join(lines[:-3]))
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert "no row for district" in e.value.message and "[rule: complete]" in e.value.message
    shutil.copy(SHIPPED / "labour_market.csv", dst / "labour_market.csv")
    lines = _lines(dst / "baseline_posts.csv")
    (dst / "baseline_posts.csv").write_bytes(b"".join(lines[: len(lines) * 9 // 10]))
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("checks.csv") and "[rule: check figures]" in e.value.message


def test_plausibility_bounds_are_configurable(tmp_path):
    pkg = load_data_package(SHIPPED, limits=Limits(max_total_posts=600_000))
    assert pkg.baseline_posts["posts"].sum() < 600_000
    with pytest.raises(DataError) as e:
        load_data_package(SHIPPED, limits=Limits(max_total_posts=500_000))
    assert "plausible size" in e.value.message and "516,145 posts" in e.value.message
    with pytest.raises(DataError) as e:
        load_data_package(SHIPPED, limits=Limits(max_cell_posts=1_000))
    assert e.value.column == "posts" and "plausible size" in e.value.message


def test_sites_outside_the_uk_are_rejected(tmp_path):
    dst = _copy(tmp_path)
    sites = pd.read_csv(dst / "sites.csv")
    sites.loc[2, "lat"] = 5.1
    sites.to_csv(dst / "sites.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.column == "lat" and "row 4" in e.value.message
    assert "UK bounds" in e.value.message


def _excel_export(src: Path, dst: Path, encoding: str) -> None:
    for f in src.glob("*.csv"):
        text = f.read_text(encoding="utf-8")
        (dst / f.name).write_bytes(text.replace("\n", "\r\n").encode(encoding))


def test_bom_crlf_export_loads(tmp_path):
    dst = _copy(tmp_path)
    _excel_export(SHIPPED, dst, "utf-8-sig")
    assert (dst / "sites.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    pkg = load_data_package(dst)
    ref = load_data_package(SHIPPED)
    pd.testing.assert_frame_equal(pkg.baseline_posts, ref.baseline_posts)
    pd.testing.assert_frame_equal(pkg.sites, ref.sites)
    assert not any("cp1252" in n for n in pkg.notes)


def test_cp1252_export_loads_and_says_so(tmp_path):
    dst = _copy(tmp_path)
    _excel_export(SHIPPED, dst, "cp1252")
    pkg = load_data_package(dst)
    ref = load_data_package(SHIPPED)
    pd.testing.assert_frame_equal(pkg.sites, ref.sites)  # '£118m' read back correctly
    assert "sites.csv: read as cp1252 (Windows/Excel), not UTF-8" in pkg.notes
    assert "£118m" in pkg.sites.set_index("site_id").loc["darlington", "evidence"]
    text = format_summary(summary(pkg))
    assert "cp1252" in text


def test_edited_file_with_same_rows_is_noted(tmp_path):
    dst = _copy(tmp_path)
    b = pd.read_csv(dst / "baseline_posts.csv")
    b.loc[0, "posts"] += 1
    b.to_csv(dst / "baseline_posts.csv", index=False)
    pkg = load_data_package(dst)
    assert any("baseline_posts.csv: edited since" in n for n in pkg.notes)


def _partial(tmp_path: Path) -> Path:
    """A department-style partial package: only the posts in Wales."""
    dst = _copy(tmp_path)
    b = pd.read_csv(dst / "baseline_posts.csv")
    b[b.lad_code.str.startswith("W")].to_csv(dst / "baseline_posts.csv", index=False)
    doc = json.loads((dst / "package.json").read_text())
    del doc["files"]["baseline_posts.csv"]
    (dst / "package.json").write_text(json.dumps(doc))
    return dst


def test_check_mismatch_is_an_error_unless_allowed(tmp_path, capsys):
    dst = _partial(tmp_path)
    assert main(["data", "--data", str(dst)]) == 2
    msg = capsys.readouterr().err.splitlines()[0]
    assert msg.startswith(str(dst / "checks.csv")) and "column 'value'" in msg
    assert "[rule: check figures]" in msg and "--allow-check-mismatch" in msg
    assert re.search(r"row \d+: headcount", msg), msg
    assert main(["data", "--data", str(dst), "--allow-check-mismatch"]) == 0
    assert "outside tolerance (accepted: --allow-check-mismatch)" in capsys.readouterr().out
    pkg = load_data_package(dst, allow_check_mismatch=True)
    assert (~pkg.check_report["ok"]).sum() > 10


def test_reproduce_checks_on_any_posts_table():
    pkg = load_data_package(shipped_package(2022))
    report = reproduce_checks(pkg.baseline_posts, pkg.districts, pkg.checks)
    assert report["ok"].all()
    moved = pkg.baseline_posts.copy()
    london = set(pkg.districts.loc[pkg.districts.is_london, "lad_code"])
    moved.loc[moved.lad_code.isin(london) & (moved.grade == "G6"), "posts"] //= 2
    report = reproduce_checks(moved, pkg.districts, pkg.checks)
    bad = report[~report.ok]
    assert "G6" in set(bad.grade) and "london_share" in set(bad.measure)


@pytest.mark.parametrize("year", SHIPPED_YEARS)
def test_every_shipped_package_loads_and_records_its_year(year):
    pkg = load_data_package(shipped_package(year))
    assert pkg.year == year and pkg.census_date == f"{year}-03-31"
    assert pkg.check_report["ok"].all() and len(pkg.check_report) > 80
    assert not pkg.notes
    text = format_summary(summary(pkg))
    assert f"31 March {year}" in text and f"Civil Service Statistics 31 March {year}" in text
    flows = pkg.flows_by_grade.set_index("grade")
    assert list(flows.index) == ["AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS", "Unknown"]
    assert (flows[["in_post", "leavers_cs", "leavers_dept", "entrants"]] > 0).all().all()


def test_unknown_year_is_a_clear_error():
    with pytest.raises(DataError) as e:
        shipped_package(2019)
    assert "2021, 2022, 2023" in e.value.message
    assert np.array_equal(SHIPPED_YEARS, (2021, 2022, 2023))


def test_declared_projected_crs_is_reprojected_not_rejected(tmp_path):
    """British National Grid metres labelled EPSG:27700 are fine: only a wrong label fails."""
    dst = _copy(tmp_path)
    d = gpd.read_parquet(dst / "districts.parquet")
    d.to_crs(27700).to_parquet(dst / "districts.parquet")
    pkg = load_data_package(dst)
    assert pkg.districts.crs.to_epsg() == 4326
    x0, y0, x1, y1 = pkg.districts.total_bounds
    assert -9 < x0 < x1 < 2.5 and 49.5 < y0 < y1 < 61.5


def test_manifest_that_is_not_json_is_named(tmp_path):
    dst = _copy(tmp_path)
    (dst / "package.json").write_text('{"year": 2023,\n "files": {\n')
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("package.json") and "row 3" in e.value.message
    assert "[rule: readable]" in e.value.message
