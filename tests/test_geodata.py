"""The shipped data package reproduces Civil Service Statistics 2023 and validates input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from placesim.errors import DataError
from placesim.geodata import coldspot_districts, load_data_package, summary

PUBLISHED_LONDON_SHARE = {"AA": .083, "AO": .087, "EO": .156, "HEO": .233, "SEO": .255,
                          "G7": .385, "G6": .462, "SCS": .624}


@pytest.fixture(scope="module")
def pkg():
    return load_data_package()


def test_districts(pkg):
    s = summary(pkg)
    assert s["districts"] == 361
    assert s["districts_by_country"] == {"England": 296, "Northern Ireland": 11,
                                         "Scotland": 32, "Wales": 22}
    assert pkg.districts.crs.to_epsg() == 4326
    assert pkg.districts["is_london"].sum() == 33


def test_headcount_and_london_shares_match_acses_2023(pkg):
    s = summary(pkg)
    checks = pkg.checks
    total = float(checks.loc[checks.measure == "headcount_total", "value"].iloc[0])
    assert total == 519_780
    assert abs(s["headcount"] - total) / total < 0.01
    published = checks[checks.measure == "london_share"].set_index("grade")["value"]
    for g, share in PUBLISHED_LONDON_SHARE.items():
        assert abs(published[g] - share) < 0.0006, g  # the check table is the source's
        assert abs(s["london_share_by_grade"][g] - published[g]) < 0.01, g


def test_scs_bands(pkg):
    b = pkg.baseline_posts.groupby("grade")["posts"].sum()
    assert b["SCS2"] == 1140 and b["SCS3"] == 180 and b["PS"] == 45


def test_coldspot_rules(pkg, tmp_path):
    oa = coldspot_districts(pkg, rule="opportunity_areas")
    for code in ("E06000009", "E08000004", "E08000032", "E08000017", "E06000021",
                 "E06000015", "E07000148", "E07000202", "E07000062", "E06000065",
                 "E06000066", "E07000010", "E07000009"):
        assert oa[code], code
    assert oa.sum() == 13
    smc = coldspot_districts(pkg, rule="smc2025")
    assert 10 < smc.sum() < 200
    assert not smc[pkg.districts.loc[pkg.districts.is_london, "lad_code"]].all()
    f = tmp_path / "mine.csv"
    f.write_text("lad_code\nE06000009\nE99999999\n")
    with pytest.raises(DataError) as e:
        coldspot_districts(pkg, rule="csv", csv_path=f)
    assert "mine.csv" in str(e.value) and "line 3" in str(e.value)
    f.write_text("lad_code\nE06000009\n")
    assert coldspot_districts(pkg, rule="csv", csv_path=f).sum() == 1


def _copy(tmp_path):
    dst = tmp_path / "pkg"
    shutil.copytree(load_data_package().path, dst, ignore=shutil.ignore_patterns("build.py"))
    return dst


def test_missing_column_names_file_and_column(tmp_path):
    dst = _copy(tmp_path)
    b = pd.read_csv(dst / "baseline_posts.csv").drop(columns=["profession"])
    b.to_csv(dst / "baseline_posts.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert "baseline_posts.csv" in str(e.value) and "profession" in str(e.value)


def test_wrong_code_names_file_column_and_row(tmp_path):
    dst = _copy(tmp_path)
    s = pd.read_csv(dst / "sites.csv")
    s.loc[2, "lad_code"] = "E99999999"
    s.to_csv(dst / "sites.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    msg = str(e.value)
    assert "sites.csv" in msg and "lad_code" in msg and "E99999999" in msg and "row 4" in msg


def test_seb_fit_matches_people_survey_margins(pkg):
    seb = pkg.seb_by_grade_place.merge(
        pkg.baseline_posts.assign(place=lambda b: b.lad_code.isin(
            pkg.districts.loc[pkg.districts.is_london, "lad_code"]).map(
            {True: "london", False: "elsewhere"})).groupby(
            ["grade", "place", "profession"], as_index=False)["posts"].sum())
    high = (seb.high * seb.posts).groupby(seb.place).sum() / seb.posts.groupby(seb.place).sum()
    assert abs(high["london"] - 0.639) < 0.01
    assert abs(high["elsewhere"] - 0.498) < 0.02
    band = seb.grade.isin(["G7", "G6"])
    g = (seb.high * seb.posts)[band].sum() / seb.posts[band].sum()
    assert abs(g - 0.628) < 0.01


def test_cli_data_json():
    out = subprocess.run([sys.executable, "-m", "placesim.cli", "data", "--json"],
                         capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    for key in ("districts", "districts_by_country", "coldspot_districts", "sites",
                "headcount", "headcount_by_grade", "london_share_by_grade"):
        assert key in d
    assert "smc2025" in d["coldspot_rule"]


def test_cli_bad_package_exits_2(tmp_path):
    dst = _copy(tmp_path)
    (dst / "labour_market.csv").unlink()
    out = subprocess.run([sys.executable, "-m", "placesim.cli", "data", "--data", str(dst)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "labour_market.csv" in out.stderr and "Traceback" not in out.stderr
