"""The shipped 2023 data package reproduces Civil Service Statistics 2023; loading checks it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
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
# facts.md section G: CSPS 2024 and 2019 (high, intermediate, low)
CSPS_BANDS = {"AA/AO": (.447, .136, .417), "EO": (.476, .142, .382),
              "HEO/SEO": (.544, .138, .318), "G7/G6": (.628, .127, .245),
              "SCS": (.709, .109, .183)}
CSPS_PLACE = {"london": (.639, .131, .229), "elsewhere": (.498, .138, .364)}
CSPS_2019_BANDS = {"AA/AO": (.452, .121, .427), "EO": (.487, .124, .388),
                   "HEO/SEO": (.565, .117, .318), "G7/G6": (.649, .109, .242),
                   "SCS": (.720, .095, .185)}
# facts.md section G: low-SEB share by grade band, CSPS 2021 / 2022 / 2023
CSPS_LOW_2021_2023 = {"AA/AO": (.432, .427, .424), "EO": (.389, .388, .388),
                      "HEO/SEO": (.326, .323, .322), "G7/G6": (.248, .248, .248),
                      "SCS": (.209, .191, .191)}
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
    assert set(s) == {"year", "census_date", "districts", "districts_by_country",
                      "coldspot_districts", "coldspot_rule", "sites", "headcount",
                      "headcount_by_grade", "headcount_by_grade_detail",
                      "london_share_by_grade", "data_vintage", "checks", "notes", "treatment",
                      "departments"}
    assert s["year"] == 2023 and s["census_date"] == "2023-03-31"
    assert list(s["headcount_by_grade"]) == list(ACSES_GRADES)
    assert list(s["headcount_by_grade_detail"]) == list(GRADES)
    assert s["coldspot_rule"].startswith("smc2025")
    assert s["checks"]["compared"] > 100 and s["checks"]["outside_tolerance"] == 0
    text = format_summary(s)
    assert "361" in text and "London share" in text and "31 March 2023" in text
    assert "3,515 staff based overseas" in text and "25,715 staff of unknown grade" in text


def _headcount(c, grade="", region=""):
    sel = (c.measure == "headcount") & (c.grade == grade) & (c.region == region)
    assert sel.sum() == 1, (grade, region)
    return float(c.loc[sel, "value"].iloc[0])


def test_check_table_agrees_with_published_figures(pkg):
    c = pkg.checks
    assert _headcount(c) == 519_780
    shares = c[(c.measure == "london_share") & (c.grade != "")].set_index("grade")["value"]
    for g, share in PUBLISHED_LONDON_SHARE.items():
        assert abs(shares[g] - share) < 0.0006, g
    assert _headcount(c, "SCS") == 7385 and _headcount(c, "AO") == 117_895
    assert _headcount(c, "Unknown") == 25_715
    # facts.md section C: regions, 2023
    assert _headcount(c, region="TLI") == 103_735 and _headcount(c, region="TLD") == 67_110
    assert _headcount(c, region="TLN") == 4_550 and _headcount(c, region="Overseas") == 3_515
    scs = c[c.measure == "scs_band"].set_index("grade")["value"]
    assert dict(scs) == {"SCS2": 1140, "SCS3": 180, "PS": 45}


def test_headcount_and_london_shares_match_acses_2023(pkg, s):
    c = pkg.checks
    total = _headcount(c) - _headcount(c, region="Overseas")
    assert abs(s["headcount"] - total) / total < 0.01
    published = c[c.measure == "london_share"].set_index("grade")["value"]
    for g in ACSES_GRADES:
        assert abs(s["london_share_by_grade"][g] - published[g]) < 0.01, g
    report = pkg.check_report
    assert report["ok"].all() and set(report["kind"]) >= {
        "headcount_total", "grade_share", "region_share", "grade_region_share",
        "london_share", "scs_band", "dept_region", "dept_london_share"}


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
    assert b.duplicated(["lad_code", "grade", "profession", "role", "department"]).sum() == 0


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


def test_seb_trend_matches_people_survey_figures(pkg):
    t = pkg.seb_trend.set_index(["survey_year", "dimension", "group"]).sort_index()
    cls = ["high", "intermediate", "low"]
    for band, want in CSPS_BANDS.items():
        assert np.allclose(t.loc[(2024, "grade_band", band), cls].astype(float), want,
                           atol=6e-4), band
    for band, want in CSPS_2019_BANDS.items():
        assert np.allclose(t.loc[(2019, "grade_band", band), cls].astype(float), want,
                           atol=6e-4), band
    for band, lows in CSPS_LOW_2021_2023.items():
        got = [t.loc[(y, "grade_band", band), "low"] for y in (2021, 2022, 2023)]
        assert np.allclose(got, lows, atol=1e-3), (band, got)  # facts: 1 dp, derived
    for place, want in CSPS_PLACE.items():
        assert np.allclose(t.loc[(2024, "place", place), cls].astype(float), want, atol=6e-4)
    assert abs(t.loc[(2024, "profession", "policy"), "high"] - 0.680) < 6e-4
    assert t.loc[(2024, "grade_band", "SCS"), "respondents"] == 5848  # facts G: n = 5,848
    # facts G: 42.6% low SEB among 20+ years' service vs 27.2% under 6 months (2024)
    assert abs(t.loc[(2024, "length_of_service_detail", "20+"), "low"] - 0.426) < 6e-4
    assert abs(t.loc[(2024, "length_of_service_detail", "<0.5"), "low"] - 0.272) < 6e-4
    for y in (2021, 2022, 2023, 2024):
        assert len(t.loc[(y, "length_of_service")]) == 5
    # facts G: whole Civil Service 2019 54.1 / 11.7 / 34.1 and 2024 53.3 / 13.6 / 33.1
    assert np.allclose(t.loc[(2019, "all", "all"), cls].astype(float), (.541, .117, .341),
                       atol=6e-4)
    assert np.allclose(t.loc[(2024, "all", "all"), cls].astype(float), (.533, .136, .331),
                       atol=6e-4)


def test_seb_fit_reproduces_people_survey_margins_of_its_year(pkg):
    seb = _seb_weighted(pkg)
    assert len(pkg.seb_by_grade_place) == len(GRADES) * 2 * 2
    cls = ["high", "intermediate", "low"]
    survey = pkg.manifest["people_survey"]
    assert survey == 2024  # geodata/README.md: 2023 keeps the 2024 survey for now
    t = pkg.seb_trend.set_index(["survey_year", "dimension", "group"]).loc[survey]

    def mix(sel):
        x = seb[sel]
        return (x[cls].mul(x.posts, axis=0).sum() / x.posts.sum()).to_numpy()

    for band, grades in CSPS_GRADE_BANDS.items():
        got = mix(seb.grade.isin(grades))
        assert np.allclose(got, t.loc[("grade_band", band), cls].astype(float), atol=0.01), band
    for place in ("london", "elsewhere"):
        got = mix(seb.place == place)
        assert np.allclose(got, t.loc[("place", place), cls].astype(float), atol=0.01), place
    assert abs(mix(seb.profession == "policy")[0] - t.loc[("profession", "policy"), "high"]) \
        < 0.01


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


def test_shipped_map_mesh_is_the_districts_own_and_a_stale_one_is_redone(pkg, tmp_path):
    """The national map's shared-border mesh ships with the package (worked out by its
    build); it is the mesh of the package's districts, and a package whose mesh no longer
    fits (another tolerance) gets it worked out afresh, the same as the shipped one."""
    import geopandas as gpd

    from placesim import maps
    from placesim.geodata import load_data_package

    shipped = maps._shipped_mesh(pkg)
    assert shipped is not None
    fresh = maps.build_mesh(pkg.districts)
    assert list(shipped["kind"]) == list(fresh["kind"])
    assert shipped.geometry.geom_equals_exact(fresh.geometry, tolerance=0).all()
    copy = tmp_path / "pkg"
    shutil.copytree(pkg.path, copy)
    stale = gpd.read_parquet(copy / maps.MESH_FILE)
    stale["tolerance"] = 0.5
    stale.to_parquet(copy / maps.MESH_FILE)
    other = load_data_package(copy, allow_check_mismatch=True)
    assert maps._shipped_mesh(other) is None
    assert maps.district_mesh(other)[:2] == maps.district_mesh(pkg)[:2]
