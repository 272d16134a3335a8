"""The shipped data package reproduces Civil Service Statistics 2023 and validates its input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from placesim.errors import DataError
from placesim.geodata import (
    COLDSPOT_RULES,
    coldspot_districts,
    format_summary,
    load_data_package,
    summary,
)
from placesim.grades import ACSES_GRADES, CSPS_GRADE_BANDS, GRADES

# facts.md section C1 / Suggested defaults: London share of UK-based staff, ACSES 2023
PUBLISHED_LONDON_SHARE = {"AA": .083, "AO": .087, "EO": .156, "HEO": .233, "SEO": .255,
                          "G7": .385, "G6": .462, "SCS": .624}
# facts.md section G: CSPS 2024 (high, intermediate, low)
CSPS_BANDS = {"AA/AO": (.447, .136, .417), "EO": (.476, .142, .382),
              "HEO/SEO": (.544, .138, .318), "G7/G6": (.628, .127, .245),
              "SCS": (.709, .109, .183)}
CSPS_PLACE = {"london": (.639, .131, .229), "elsewhere": (.498, .138, .364)}
OPPORTUNITY_AREA_DISTRICTS = {
    "E06000009": "Blackpool", "E08000004": "Oldham", "E08000032": "Bradford",
    "E08000017": "Doncaster", "E06000021": "Stoke-on-Trent", "E06000015": "Derby",
    "E07000148": "Norwich", "E07000202": "Ipswich", "E07000062": "Hastings",
    "E06000065": "North Yorkshire", "E06000066": "Somerset", "E07000010": "Fenland",
    "E07000009": "East Cambridgeshire",
}


@pytest.fixture(scope="module")
def pkg():
    return load_data_package()


@pytest.fixture(scope="module")
def s(pkg):
    return summary(pkg)


def test_districts(pkg, s):
    assert s["districts"] == 361
    assert s["districts_by_country"] == {"England": 296, "Northern Ireland": 11,
                                         "Scotland": 32, "Wales": 22}
    d = pkg.districts
    assert d.crs.to_epsg() == 4326
    assert d["is_london"].sum() == 33
    assert d.geometry.is_valid.all()
    assert d[["itl1_code", "itl2_code", "itl3_code"]].notna().all().all()
    names = d.set_index("lad_code")["lad_name"]
    assert names["E07000083"] == "Tewkesbury"
    assert names["S12000049"] == "Glasgow City" and names["S12000050"] == "North Lanarkshire"
    # every district has a labour market mix and SMC indices
    assert set(pkg.labour_market["lad_code"]) == set(d["lad_code"])
    assert pkg.social_mobility["ci4_category"].notna().all()


def test_summary_keys_and_text(s):
    assert set(s) == {"districts", "districts_by_country", "coldspot_districts",
                      "coldspot_rule", "sites", "headcount", "headcount_by_grade",
                      "headcount_by_grade_detail", "london_share_by_grade", "data_vintage",
                      "treatment"}
    assert list(s["headcount_by_grade"]) == list(ACSES_GRADES)
    assert list(s["headcount_by_grade_detail"]) == list(GRADES)
    assert s["coldspot_rule"].startswith("smc2025")
    text = format_summary(s)
    assert "361" in text and "London share" in text


def test_check_table_agrees_with_published_figures(pkg):
    c = pkg.checks
    assert float(c.loc[c.measure == "headcount_total", "value"].iloc[0]) == 519_780
    shares = c[c.measure == "london_share"].set_index("grade")["value"]
    for g, share in PUBLISHED_LONDON_SHARE.items():
        assert abs(shares[g] - share) < 0.0006, g
    totals = c[c.measure == "grade_total"].set_index("grade")["value"]
    assert totals["SCS"] == 7385 and totals["AO"] == 117_895 and totals["Unknown"] == 25_715


def test_headcount_and_london_shares_match_acses_2023(pkg, s):
    c = pkg.checks
    total = float(c.loc[c.measure == "headcount_total", "value"].iloc[0])
    assert abs(s["headcount"] - total) / total < 0.01
    published = c[c.measure == "london_share"].set_index("grade")["value"]
    for g in ACSES_GRADES:
        assert abs(s["london_share_by_grade"][g] - published[g]) < 0.01, g


def test_scs_bands_profession_and_private_office(pkg):
    b = pkg.baseline_posts
    by = b.groupby("grade")["posts"].sum()
    assert abs(by["SCS2"] - 1140) <= 5 and abs(by["SCS3"] - 180) <= 5
    assert abs(by["PS"] - 45) <= 5
    assert by["SCS1"] > by["SCS2"]
    po = b[b.role == "private_office"]
    assert 700 <= po.posts.sum() <= 900
    assert (po.profession == "policy").all()
    policy = b.loc[b.profession == "policy", "posts"].sum()
    assert 25_000 < policy < 40_000  # ACSES 2023: 33,010 incl. overseas
    assert b.duplicated(["lad_code", "grade", "profession", "role"]).sum() == 0


def test_sites(pkg):
    sites = pkg.sites.set_index("site_id")
    for sid in ("darlington", "sheffield", "leeds", "manchester", "salford", "glasgow",
                "birmingham", "cardiff", "edinburgh", "belfast", "bristol", "newcastle",
                "york", "aberdeen", "wrexham"):
        assert sid in sites.index, sid
    assert sites.loc["darlington", "theme"] == "growth"
    assert sites.loc["sheffield", "theme"] == "opportunity"
    assert sites.loc["leeds", "theme"] == "health"
    assert sites.loc["manchester", "theme"] == "digital"
    assert sites.loc["aberdeen", "theme"] == "energy"
    assert sites.loc["darlington", "capacity"] == 1450
    assert sites.loc["wrexham", "capacity"] == 300
    assert not sites.loc["edinburgh", "confirmed"] and sites.loc["leeds", "confirmed"]


def test_coldspot_smc2025(pkg):
    smc = coldspot_districts(pkg)
    assert smc.index.is_unique and len(smc) == 361
    assert 50 <= smc.sum() <= 110
    for index in ("ci1", "ci2", "ci3", "ci4"):
        assert coldspot_districts(pkg, rule="smc2025", index=index).sum() > 0
    assert set(COLDSPOT_RULES) == {"smc2025", "opportunity_areas", "csv"}
    with pytest.raises(DataError):
        coldspot_districts(pkg, rule="nope")


def test_coldspot_opportunity_areas(pkg):
    oa = coldspot_districts(pkg, rule="opportunity_areas")
    names = pkg.districts.set_index("lad_code")["lad_name"]
    for code, name in OPPORTUNITY_AREA_DISTRICTS.items():
        assert oa[code], code
        assert names[code].startswith(name), (code, names[code])
    assert oa.sum() == 13
    assert pkg.opportunity_areas["opportunity_area"].nunique() == 12


def test_coldspot_csv(pkg, tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("lad_code\nE06000009\nE08000004\n")
    assert coldspot_districts(pkg, rule="csv", csv_path=f).sum() == 2
    f.write_text("lad_code\nE06000009\nE99999999\n")
    with pytest.raises(DataError) as e:
        coldspot_districts(pkg, rule="csv", csv_path=f)
    assert e.value.file == str(f) and e.value.column == "lad_code"
    assert "line 3" in str(e.value) and "E99999999" in str(e.value)
    f.write_text("code\nE06000009\n")
    with pytest.raises(DataError) as e:
        coldspot_districts(pkg, rule="csv", csv_path=f)
    assert e.value.column == "lad_code"


def _copy(tmp_path):
    dst = tmp_path / "pkg"
    shutil.copytree(load_data_package().path, dst,
                    ignore=shutil.ignore_patterns("build.py", "README.md", "__pycache__"))
    return dst


@pytest.mark.parametrize("name,column", [("baseline_posts.csv", "profession"),
                                         ("labour_market.csv", "high"),
                                         ("sites.csv", "lad_code"),
                                         ("social_mobility.csv", "ci4_category")])
def test_missing_column_names_file_and_column(tmp_path, name, column):
    dst = _copy(tmp_path)
    pd.read_csv(dst / name).drop(columns=[column]).to_csv(dst / name, index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith(name) and e.value.column == column
    assert "missing column" in e.value.message


@pytest.mark.parametrize("name,row", [("sites.csv", 2), ("baseline_posts.csv", 10),
                                      ("social_mobility.csv", 5), ("labour_market.csv", 7)])
def test_wrong_district_code_names_file_column_and_row(tmp_path, name, row):
    dst = _copy(tmp_path)
    df = pd.read_csv(dst / name)
    df.loc[row, "lad_code"] = "E99999999"
    df.to_csv(dst / name, index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith(name) and e.value.column == "lad_code"
    assert "E99999999" in e.value.message and f"row {row + 2}" in e.value.message


def test_bad_values(tmp_path):
    dst = _copy(tmp_path)
    b = pd.read_csv(dst / "baseline_posts.csv")
    b.loc[3, "posts"] = -1
    b.to_csv(dst / "baseline_posts.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.column == "posts"
    dst2 = tmp_path / "b"
    shutil.copytree(dst, dst2)
    shutil.copy(load_data_package().path / "baseline_posts.csv", dst2 / "baseline_posts.csv")
    b = pd.read_csv(dst2 / "baseline_posts.csv")
    b.loc[0, "grade"] = "G8"
    b.to_csv(dst2 / "baseline_posts.csv", index=False)
    with pytest.raises(DataError) as e:
        load_data_package(dst2)
    assert e.value.column == "grade" and "G8" in e.value.message
    lm = pd.read_csv(dst / "labour_market.csv")
    lm.loc[0, "high"] = 0.9
    lm.to_csv(dst / "labour_market.csv", index=False)
    shutil.copy(load_data_package().path / "baseline_posts.csv", dst / "baseline_posts.csv")
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("labour_market.csv") and "sum to" in e.value.message


def test_missing_file(tmp_path):
    dst = _copy(tmp_path)
    (dst / "seb_by_grade_place.csv").unlink()
    with pytest.raises(DataError) as e:
        load_data_package(dst)
    assert e.value.file.endswith("seb_by_grade_place.csv") and "missing file" in str(e.value)


def _seb_weighted(pkg):
    london = set(pkg.districts.loc[pkg.districts.is_london, "lad_code"])
    w = (pkg.baseline_posts.assign(place=lambda b: b.lad_code.isin(london).map(
        {True: "london", False: "elsewhere"}))
        .groupby(["grade", "place", "profession"], as_index=False)["posts"].sum())
    return pkg.seb_by_grade_place.merge(w, how="inner")


def test_seb_fit_reproduces_people_survey_margins(pkg):
    seb = _seb_weighted(pkg)
    assert len(pkg.seb_by_grade_place) == len(GRADES) * 2 * 2
    cls = ["high", "intermediate", "low"]

    def mix(sel):
        x = seb[sel]
        return (x[cls].mul(x.posts, axis=0).sum() / x.posts.sum()).to_numpy()

    for band, grades in CSPS_GRADE_BANDS.items():
        got = mix(seb.grade.isin(grades))
        for g, want in zip(got, CSPS_BANDS[band], strict=True):
            assert abs(g - want) < 0.01, (band, got)
    for place, want_mix in CSPS_PLACE.items():
        got = mix(seb.place == place)
        for g, want in zip(got, want_mix, strict=True):
            assert abs(g - want) < 0.01, (place, got)
    assert abs(mix(seb.profession == "policy")[0] - 0.680) < 0.01


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
