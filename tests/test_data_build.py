"""Building the 2021, 2022 and 2023 packages from their sources is a test (issue 15 item 4).

The build reads ``geodata/sources`` (vendored byte copies of ``shared/geodata-src`` plus a
People Survey extract), so it runs on a clean clone; where ``../shared/geodata-src`` is present
the copies are checked against it. A broken source row stops the build with a message naming
the file and the row.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from placesim.geodata import file_sha256, load_data_package, shipped_package

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "geodata" / "sources"
SHARED = next((p for p in (ROOT.parent / "shared" / "geodata-src",
                           ROOT.parent.parent / "shared" / "geodata-src") if p.is_dir()), None)


def _build_module():
    spec = importlib.util.spec_from_file_location("placesim_build", ROOT / "geodata" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


build = _build_module()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("packages")
    done = subprocess.run([sys.executable, str(ROOT / "geodata" / "build.py"), "--year", "all",
                           "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.parametrize("year", [2021, 2022, 2023])
def test_build_reproduces_the_shipped_package_byte_for_byte(built, year):
    shipped = shipped_package(year)
    names = sorted(p.name for p in shipped.iterdir())
    assert names == sorted(p.name for p in (built / str(year)).iterdir())
    for name in names:
        assert (built / str(year) / name).read_bytes() == (shipped / name).read_bytes(), name


def test_vendored_sources_are_the_shared_originals():
    man = pd.read_csv(SOURCES / "MANIFEST.csv")
    for r in man.itertuples():
        assert file_sha256(SOURCES / r.path) == r.sha256, r.path
    if SHARED is None:
        pytest.skip("shared/geodata-src not present: vendored copies checked against their "
                    "MANIFEST.csv only")
    for r in man[man.origin.str.startswith("copy of")].itertuples():
        assert file_sha256(SHARED / r.path) == r.sha256, r.path


def test_every_acses_2021_region_is_placed():
    """The 19 NUTS-2018-era ITL3 names (about 37,400 staff) are coded, nothing is dropped."""
    t = build.grade_by_itl3(SOURCES, 2021)
    raw = pd.read_csv(SOURCES / "civil-service/acses_2021/headcount_grade_by_itl3.csv")
    nuts = raw[(raw.Status == "In post") & raw.Region_ITL3.isin(build.ITL3_NUTS2018_NAMES)]
    assert nuts.Region_ITL3.nunique() == 19
    assert 37_000 < nuts.Headcount.sum() < 38_000
    placed = t[t.Region_ITL3.isin(build.ITL3_NUTS2018_NAMES)]
    assert abs(placed.hc.sum() - nuts.Headcount.fillna(9).sum()) < 1e-6
    assert set(placed.itl3) == set(build.ITL3_NUTS2018_NAMES.values())
    # whole table kept: published cells plus the suppressed-cell estimate, split by grade
    inpost = raw[raw.Status == "In post"]
    assert abs(t.hc.sum() - inpost.Headcount.fillna(9).sum()) < 1e-6
    pkg = load_data_package(shipped_package(2021))
    c = pkg.checks.set_index(["measure", "grade", "region"])["value"]
    uk = c[("headcount", "", "")] - c[("headcount", "", "Overseas")]
    assert abs(pkg.baseline_posts.posts.sum() / uk - 1) < 0.01


def test_2021_grouped_grades_split_keep_published_group_totals():
    pkg = load_data_package(shipped_package(2021))
    flows = pkg.flows_by_grade.set_index("grade")
    staff = pd.read_csv(SOURCES / "civil-service/acses_2021/staff_by_grade.csv")
    for status, col in build.STATUSES.items():
        pub = staff[staff.Status == status].set_index("Responsibility_level")["Headcount"]
        for group, members in build.GRADE_GROUPS_2021.items():
            assert flows.loc[list(members), col].sum() == pub[group], (status, group)
    assert set(flows.loc[["HEO", "SEO"], "published_as"]) == {"SEO/HEO"}
    # checks keep the grouped grades as published: 2021 London share of SCS (facts C1 67.4%)
    c = pkg.checks
    scs = c[(c.measure == "london_share") & (c.grade == "SCS")]["value"].iloc[0]
    assert abs(scs - 0.674) < 0.001
    london = c[(c.measure == "headcount") & (c.grade == "") & (c.region == "TLI")]["value"]
    assert london.iloc[0] == 101_930  # facts C: London 2021


def test_packages_differ_by_year_and_share_one_geography():
    pkgs = {y: load_data_package(shipped_package(y)) for y in (2021, 2022, 2023)}
    totals = {y: int(p.baseline_posts.posts.sum()) for y, p in pkgs.items()}
    assert totals[2021] < totals[2022] < totals[2023]
    for y in (2021, 2022):
        assert (shipped_package(y) / "districts.parquet").read_bytes() == \
            (shipped_package(2023) / "districts.parquet").read_bytes()
    assert [p.manifest["people_survey"] for p in pkgs.values()] == [2021, 2022, 2024]
    pd.testing.assert_frame_equal(pkgs[2021].seb_trend, pkgs[2023].seb_trend)


def _broken_sources(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(SOURCES, src)
    return src


@pytest.mark.parametrize("column,value,message", [
    ("Region_ITL3", "Atlantis", "region 'Atlantis' cannot be placed"),
    ("Headcount", "lots", "not a count"),
    ("Responsibility_level", "G8", "unknown grade 'G8'"),
])
def test_broken_source_row_names_file_and_row(tmp_path, capsys, column, value, message):
    src = _broken_sources(tmp_path)
    f = src / "civil-service/acses_2021/headcount_grade_by_itl3.csv"
    df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df.loc[99, column] = value
    df.to_csv(f, index=False)
    code = build.main(["--year", "2021", "--src", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "civil-service/acses_2021/headcount_grade_by_itl3.csv: row 101:" in err
    assert message in err
    assert not (tmp_path / "out").exists()  # stopped before writing anything


def test_missing_grade_row_names_file_and_grade(tmp_path, capsys):
    """A grade's row cut from the national table (audit: a KeyError traceback, exit 1)."""
    src = _broken_sources(tmp_path)
    f = src / "civil-service/acses_2023/staff_by_grade.csv"
    lines = f.read_text().splitlines(keepends=True)
    f.write_text("".join(line for line in lines if not line.startswith("In post,2023,G6,")))
    code = build.main(["--year", "2023", "--src", str(src), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "civil-service/acses_2023/staff_by_grade.csv: no row for grade 'G6' (in post)" in err
    assert not (tmp_path / "out").exists()


def test_people_survey_extract_reads_both_workbook_layouts(tmp_path):
    """extract_csps on small workbooks laid out as the 2021-2023 and 2024 ones."""
    src = tmp_path
    (src / "csps").mkdir()
    rows = [["Demographic variable", "Response", "Notes", "Count"],
            ["Z02. Civil Service equivalent grades (combined)", "EO", None, 10],
            ["H01. Where do you currently work?", "London", None, 4],
            ["H8B. Which of the following …", "Policy", None, 3],
            ["H8B. Which of the following …", "Consular", None, "[c]"]]
    trend = [["Year", "Response", "Count"], [2022, "High", 100], [2022, "Routine", 50],
             [2022, "Intermediate", 30], [2022, "Never worked", 5], [2021, "High", 1]]
    head = [["Results", None, None, None], ["This worksheet contains 1 table.", None, None, None],
            [None] * 4, [None] * 4]
    trend = [[*r, None] for r in trend]
    with pd.ExcelWriter(build._csps_workbook(src, 2022), engine="odf") as w:
        for sheet in build.CSPS_SHEETS:
            pd.DataFrame(head + rows).to_excel(w, sheet_name=sheet, header=False, index=False)
        pd.DataFrame(head + trend).to_excel(w, sheet_name="Trend", header=False, index=False)
    x = build.extract_csps(src, 2022)
    assert set(x.question) == {"ALL", "Z02", "H01", "H8B"}  # Consular is dropped, not read
    assert x[(x.question == "Z02") & (x.seb_class == "never_worked")].value.iloc[0] == 10
    assert x[x.question == "ALL"].value.sum() == 185
    trend_mix = build.seb_trend(x)
    assert trend_mix.set_index("dimension").loc["all", "high"] == round(100 / 185, 6)
    rows[1][3] = "ten"
    with pd.ExcelWriter(build._csps_workbook(src, 2022), engine="odf") as w:
        for sheet in build.CSPS_SHEETS:
            pd.DataFrame(head + rows).to_excel(w, sheet_name=sheet, header=False, index=False)
        pd.DataFrame(head + trend).to_excel(w, sheet_name="Trend", header=False, index=False)
    with pytest.raises(build.BuildError, match=r"row 6: Z02 'EO': count 'ten'"):
        build.extract_csps(src, 2022)
