"""Build placesim's data package (this folder) from the public sources in shared/geodata-src.

Usage::

    python geodata/build.py [--src ../shared/geodata-src] [--out geodata]

Every output is described, with provenance, vintage, licence and method, in
``geodata/README.md``. Assumption constants are at the top of this file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
GRADES8 = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS")
GROUP_2019 = {"AA": "aa_ao", "AO": "aa_ao", "EO": "eo", "HEO": "heo_seo", "SEO": "heo_seo",
              "G7": "g6_g7", "G6": "g6_g7", "SCS": "scs"}

# --- BUILD SETTINGS ---------------------------------------------------------------------------
DISTRICT_YEAR = 2023          # LAD vintage of the package (31 March 2023 baseline)
SIMPLIFY_TOLERANCE = 0.002    # degrees (~150-200 m); Douglas-Peucker, topology preserved
COORD_GRID = 1e-4             # coordinates snapped to 0.0001 degrees (~10 m)
SUPPRESSED_CELL = 2.0         # ACSES suppresses in-post cells below 5 ('..'): estimate 2
SEED_FLOOR_SHARE = 0.02       # 2019 seed floor: 2% of the district's all-grade 2019 staff ...
SEED_FLOOR_CONST = 0.5        # ... plus 0.5, so a grade absent in 2019 can still be filled
IPF_ITERATIONS = 200
# 2023 names where both the topojson and smc_area_to_lad.csv carry a later name
# (SOURCES.md: Tewkesbury E07000083 appears under its 2025 name "North Gloucestershire").
NAME_FIXES = {"E07000083": "Tewkesbury"}

# --- ASSUMPTIONS (documented in README.md, section Methods) ---------------------------------
# SCS pay bands at 1 April 2023 (written PQ 2438, 28 Nov 2023; facts.md section G):
# SCS2 1,140, SCS3 180, PS 45; the rest of ACSES "SCS level" is SCS1.
SCS_BAND_TOTALS = {"SCS2": 1140, "SCS3": 180, "PS": 45}
# ASSUMPTION: where the bands sit. Directors and DGs are more London-concentrated than SCS1
# (ACSES SCS overall: 62.4% of UK-based in London).
SCS_BAND_LONDON_SHARE = {"SCS2": 0.75, "SCS3": 0.85}
# ASSUMPTION: permanent secretaries all in London except the Scottish Government's (Edinburgh)
# and the Welsh Government's (Cardiff).
PS_OUTSIDE_LONDON = {"S12000036": 1, "W06000015": 1}
# ASSUMPTION (no public figure, facts.md C5): private office posts ~ 120 ministers x ~6-7 staff.
PRIVATE_OFFICE_TOTAL = 800
PRIVATE_OFFICE_GRADE_SHARE = {"HEO": 0.30, "SEO": 0.30, "G7": 0.30, "G6": 0.10}
PRIVATE_OFFICE_POSTS = {g: round(PRIVATE_OFFICE_TOTAL * v)
                        for g, v in PRIVATE_OFFICE_GRADE_SHARE.items()}
PRIVATE_OFFICE_LONDON_SHARE = 0.95        # ASSUMPTION; the rest in Edinburgh and Cardiff
PRIVATE_OFFICE_OUTSIDE = ("S12000036", "W06000015")
# People Survey 2024 SEB margins (high, intermediate, low). Read from the raw workbook
# (csps/Civil-Service-People-Survey-2024-results-by-socio-economic-background.ods, sheet
# By_other_demographics, counts; 'low' = Routine + Never worked; respondents who did not
# answer / preferred not to say are not in the counts, so shares are renormalised over the
# four classes). The constants below are the same figures as printed in facts.md section G,
# used only if the workbook cannot be read (e.g. odfpy missing).
CSPS_FILE = "csps/Civil-Service-People-Survey-2024-results-by-socio-economic-background.ods"
SEB_BY_BAND_FALLBACK = {"AA/AO": (0.447, 0.136, 0.417), "EO": (0.476, 0.142, 0.382),
                        "HEO/SEO": (0.544, 0.138, 0.318), "G7/G6": (0.628, 0.127, 0.245),
                        "SCS": (0.709, 0.109, 0.183)}
SEB_LONDON_FALLBACK = (0.639, 0.131, 0.229)
SEB_ELSEWHERE_FALLBACK = (0.498, 0.138, 0.364)
SEB_POLICY_FALLBACK = (0.680, 0.123, 0.197)
CSPS_BAND_NAMES = {"AO / AA": "AA/AO", "EO": "EO", "SEO / HEO": "HEO/SEO", "G6 / 7": "G7/G6",
                   "SCS": "SCS"}
BAND_OF = {"AA": "AA/AO", "AO": "AA/AO", "EO": "EO", "HEO": "HEO/SEO", "SEO": "HEO/SEO",
           "G7": "G7/G6", "G6": "G7/G6", "SCS1": "SCS", "SCS2": "SCS", "SCS3": "SCS",
           "PS": "SCS"}
GRADES11 = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "PS")
# DfE Opportunity Areas (facts.md section E) -> LAD 2023. Scarborough and West Somerset were
# abolished in 2023 (North Yorkshire E06000065) and 2019/2023 (Somerset West and Taunton, then
# Somerset E06000066): the OA maps to the successor unitary.
OPPORTUNITY_AREAS = {
    "West Somerset": ["E06000066"], "Norwich": ["E07000148"], "Blackpool": ["E06000009"],
    "North Yorkshire Coast (Scarborough)": ["E06000065"], "Derby": ["E06000015"],
    "Oldham": ["E08000004"], "Bradford": ["E08000032"], "Doncaster": ["E08000017"],
    "Fenland and East Cambridgeshire": ["E07000010", "E07000009"], "Hastings": ["E07000062"],
    "Ipswich": ["E07000202"], "Stoke-on-Trent": ["E06000021"],
}
# Sites: rows of hubs/pfg_hub_locations_lad_centroids.csv (keyed by its `site` text) ->
# (site_id, short name, theme, capacity, extra evidence). Themes: facts.md section B
# (thematic campuses 2025: Darlington growth, Sheffield opportunity, Leeds health; May 2025:
# Manchester digital/AI campus, Aberdeen energy campus). Capacities only where a source gives one.
SITE_META = {
    "Darlington Economic Campus": (
        "darlington", "Darlington Economic Campus", "growth", 1450,
        "£118m government hub for a further 1,450 roles (Cabinet Office release via govwire, "
        "Mar 2024); growth mission campus (Cabinet Office, 2025)"),
    "Greater Manchester / Salford (DSIT & DESNZ second HQ; digital/AI campus)": (
        "salford", "Salford (DSIT & DESNZ second HQ)", "digital", None,
        "Manchester digital/AI campus (May 2025)"),
    "Manchester": ("manchester", "Manchester", "digital", None,
                   "Manchester digital/AI campus (May 2025 Plan for Change)"),
    "Leeds": ("leeds", "Leeds", "health", None, "health mission campus (Cabinet Office, 2025)"),
    "Glasgow": ("glasgow", "Glasgow", "", None, ""),
    "Birmingham": ("birmingham", "Birmingham", "", None, ""),
    "Sheffield": ("sheffield", "Sheffield Policy Campus", "opportunity", 1000,
                  "about 1,000 policy professionals and 75 SCS already there (CSW 9 Jun 2023); "
                  "opportunity mission (Sheffield City Council, 2025)"),
    "Aberdeen (DESNZ second HQ; energy campus)": (
        "aberdeen", "Aberdeen (DESNZ second HQ)", "energy", None, ""),
    "Wrexham": ("wrexham", "Wrexham", "", 300, "+300 roles (WMS 12 Dec 2023)"),
    "Belfast": ("belfast", "Belfast", "", None, "May 2025 growth location"),
    "Cardiff": ("cardiff", "Cardiff", "", None, "May 2025 growth location"),
    "Tyneside / Newcastle": ("newcastle", "Newcastle / Tyneside", "", None, ""),
    "York": ("york", "York", "", None, ""),
    "Edinburgh": ("edinburgh", "Edinburgh (Queen Elizabeth House)", "", None,
                  "named a May 2025 growth location (facts.md B); the hub itself unconfirmed"),
    "Bristol": ("bristol", "Bristol", "", None,
                "named a May 2025 growth location (facts.md B); the hub itself unconfirmed"),
    "Wolverhampton": ("wolverhampton", "Wolverhampton (MHCLG second HQ)", "", None, ""),
    "Peterborough": ("peterborough", "Peterborough", "", None, ""),
    "East Kilbride": ("east-kilbride", "East Kilbride (FCDO Abercrombie House)", "", None, ""),
}
# Sites that must exist (the build fails otherwise); add rows to SITE_ADDITIONS for any
# location the raw file lacks: (site_id, name, lad_code, theme, kind, capacity, confirmed, evidence)
REQUIRED_SITES = ("darlington", "sheffield", "leeds", "manchester", "salford", "glasgow",
                  "birmingham", "cardiff", "edinburgh", "belfast", "bristol", "newcastle",
                  "york", "aberdeen", "wrexham")
SITE_ADDITIONS: list[tuple] = []


def code_map(changes: pd.DataFrame, year: int):
    """old LAD code -> code in force in ``year`` (follows mergers and recodes)."""
    ch = changes[(changes["start"] <= year) & changes["newcd"].str.match(r"^[ENSW]0[6789]|"
                                                                          r"^[ENSW]1[2]|^N09")]
    nxt = dict(zip(ch["oldcd"], ch["newcd"], strict=False))

    def f(c: str) -> str:
        seen = set()
        while c in nxt and c not in seen:
            seen.add(c)
            c = nxt[c]
        return c

    return f


def largest_remainder(x: np.ndarray, total: int | None = None) -> np.ndarray:
    total = int(round(x.sum())) if total is None else total
    base = np.floor(x).astype(np.int64)
    rem = total - base.sum()
    if rem > 0:
        base[np.argsort(-(x - base), kind="stable")[:rem]] += 1
    return base


def build_districts(src: Path) -> gpd.GeoDataFrame:
    g = gpd.read_file(src / "boundaries/ons_uk_topo_2014_2025.topojson", layer="ltla")
    s = g["start"].fillna(0).astype(float)
    e = g["end"].fillna(9999).astype(float)
    g = g[(s <= DISTRICT_YEAR) & (e >= DISTRICT_YEAR)].copy()
    lk = pd.read_csv(src / "smc/smc_area_to_lad.csv")
    # the topojson keeps pre-2019 codes for Glasgow City and North Lanarkshire
    topo_to_23 = dict(zip(lk["topojson_areacd"], lk["lad23cd"], strict=True))
    names = dict(zip(lk["lad23cd"], lk["lad23nm"], strict=True))  # 2023 names (Tewkesbury)
    g["lad_code"] = g["areacd"].map(topo_to_23).fillna(g["areacd"])
    g["lad_name"] = g["lad_code"].map(names).fillna(g["areanm"])
    g["lad_name"] = g["lad_code"].map(NAME_FIXES).fillna(g["lad_name"])
    g = g.set_crs(4326, allow_override=True)
    g["geometry"] = shapely.make_valid(g.geometry.values)
    g["geometry"] = g.geometry.simplify(SIMPLIFY_TOLERANCE, preserve_topology=True)
    g["geometry"] = shapely.make_valid(shapely.set_precision(g.geometry.values, COORD_GRID))
    # centroid: ONS LAD May 2021 LONG/LAT where the district existed in 2021, else (the four
    # 2023 unitaries) the representative point of the polygon (computed in British National Grid)
    ons = gpd.read_file(src / "boundaries/Local_Authority_Districts_May_2021_UK_BUC.geojson",
                        ignore_geometry=True).set_index("LAD21CD")
    rep = g.to_crs(27700).geometry.representative_point().to_crs(4326)
    g["centroid_lon"] = g["lad_code"].map(ons["LONG"]).fillna(rep.x).round(5)
    g["centroid_lat"] = g["lad_code"].map(ons["LAT"]).fillna(rep.y).round(5)
    # ITL codes from the LAD 2020 lookup; later LADs take their predecessors' codes
    itl = pd.read_csv(src / "regions/LAD20_LAU121_ITL321_ITL221_ITL121_UK_LU_v2.csv")
    itl = itl.drop_duplicates("LAD20CD").set_index("LAD20CD")
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, 2023)
    pred = {}
    for c in itl.index:
        pred.setdefault(to23(c), []).append(c)
    cs19 = pd.read_csv(src / "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv")
    staff19 = dict(zip(cs19["lad19cd"], cs19["total"], strict=True))
    rows = []
    for code in g["lad_code"]:
        cands = [code] if code in itl.index else sorted(pred.get(code, []),
                                                        key=lambda c: -staff19.get(c, 0))
        if not cands:
            raise SystemExit(f"no ITL codes for {code}")
        r = itl.loc[cands[0]]
        rows.append((r["ITL121CD"], r["ITL121NM"], r["ITL221CD"], r["ITL321CD"]))
    g[["itl1_code", "itl1_name", "itl2_code", "itl3_code"]] = pd.DataFrame(rows, index=g.index)
    g["country"] = g["lad_code"].str[0].map({"E": "England", "W": "Wales", "S": "Scotland",
                                             "N": "Northern Ireland"})
    g["is_london"] = g["itl1_code"] == "TLI"
    cols = ["lad_code", "lad_name", "country", "itl1_code", "itl1_name", "itl2_code",
            "itl3_code", "is_london", "centroid_lon", "centroid_lat", "geometry"]
    return g[cols].sort_values("lad_code").reset_index(drop=True)


def build_social_mobility(src: Path, districts) -> pd.DataFrame:
    ci = pd.read_csv(src / "smc/smc_composite_indices_son25.csv")
    lk = pd.read_csv(src / "smc/smc_area_to_lad.csv")
    out = lk[["lad23cd", "smc_area_name"]].rename(columns={"lad23cd": "lad_code"})
    for idx in ("ci1", "ci2", "ci3", "ci4"):
        sub = ci[ci["index"] == idx]
        latest = sorted(sub["time_period"].unique())[-1]
        sub = sub[sub["time_period"] == latest].set_index("area_name")
        out[f"{idx}_zscore"] = out["smc_area_name"].map(sub["zscore"])
        out[f"{idx}_category"] = out["smc_area_name"].map(sub["category"])
        out[f"{idx}_rank"] = out["smc_area_name"].map(sub["category_rank"]).astype("Int64")
        out[f"{idx}_period"] = latest
    assert set(out["lad_code"]) == set(districts["lad_code"])
    return out.sort_values("lad_code").reset_index(drop=True)


def build_labour_market(src: Path, districts) -> pd.DataFrame:
    occ = pd.read_csv(src / "smc/local_occupation_mix.csv")
    sub = occ[(occ["measure_code"] == "dr14") & occ["son_edition"].str.startswith("SON24")]
    piv = sub.pivot_table(index="area_code", columns="category", values="value", aggfunc="first")
    high = piv["Higher professional"] + piv["Lower professional"]
    inter = piv["Intermediate"]
    low = piv["Higher working"] + piv["Lower working"]
    tot = high + inter + low
    mix = pd.DataFrame({"high": high / tot, "intermediate": inter / tot, "low": low / tot})
    d = districts[["lad_code", "itl2_code"]].copy()
    m = mix.reindex(d["itl2_code"])
    if m.isna().any().any():
        missing = d.loc[m["high"].isna().to_numpy(), "itl2_code"].unique()
        raise SystemExit(f"no occupation mix for ITL2 {missing}")
    d[["high", "intermediate", "low"]] = m.round(6).to_numpy()
    d["low"] = (1 - d["high"] - d["intermediate"]).round(6)
    d["source"] = "SMC State of the Nation 2024, DR14 parental occupation (LFS/APS 2014-2022), ITL2"
    return d


def build_sites(src: Path, districts) -> pd.DataFrame:
    """Sites from the raw hub list, with ids, themes and capacities from SITE_META."""
    raw = pd.read_csv(src / "hubs/pfg_hub_locations_lad_centroids.csv")
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, DISTRICT_YEAR)
    rows, prev = [], ""
    for r in raw.itertuples(index=False):
        if r.site not in SITE_META:
            raise SystemExit(f"sites: no SITE_META entry for {r.site!r}")
        sid, name, theme, cap, extra = SITE_META[r.site]
        ev = prev if str(r.evidence).strip() == "as above" else str(r.evidence)
        prev = ev
        confirmed = "not confirmed" not in ev.lower()
        rows.append({"site_id": sid, "site_name": name, "lad_code": to23(r.lad21cd),
                     "theme": theme, "kind": r.kind, "capacity": cap, "confirmed": confirmed,
                     "evidence": "; ".join(x for x in (ev, extra) if x)})
    for sid, name, lad, theme, kind, cap, conf, ev in SITE_ADDITIONS:
        rows.append({"site_id": sid, "site_name": name, "lad_code": lad, "theme": theme,
                     "kind": kind, "capacity": cap, "confirmed": conf, "evidence": ev})
    out = pd.DataFrame(rows)
    missing = set(REQUIRED_SITES) - set(out["site_id"])
    if missing or out["site_id"].duplicated().any():
        raise SystemExit(f"sites: missing {sorted(missing)} or duplicate ids")
    cent = districts.set_index("lad_code")
    if not out["lad_code"].isin(cent.index).all():
        raise SystemExit("sites: unknown district code")
    out.insert(3, "lon", out["lad_code"].map(cent["centroid_lon"]))
    out.insert(4, "lat", out["lad_code"].map(cent["centroid_lat"]))
    out["capacity"] = out["capacity"].astype("Int64")
    return out


def _acses(src: Path, name: str) -> pd.DataFrame:
    df = pd.read_csv(src / "civil-service/acses_2023" / name)
    return df[df["Status"] == "In post"].copy()


def build_baseline(src: Path, districts) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """District x grade headcount fitted to ACSES 2023 (see README: method)."""
    names = pd.read_csv(src / "civil-service/acses_itl_name_to_code.csv")
    itl3_code = dict(zip(names.loc[names["level"] == "ITL3", "acses_name"],
                         names.loc[names["level"] == "ITL3", "itl21cd"], strict=False))
    t = _acses(src, "headcount_grade_by_itl3.csv")
    t["grade"] = t["Responsibility_level_ungrouped"].replace({"SCS level": "SCS"})
    t["itl3"] = t["Region_ITL3"].map(itl3_code)
    t["hc"] = t["Headcount"].fillna(SUPPRESSED_CELL)  # suppressed cells
    uk = t[t["itl3"].notna()]
    mat = uk.pivot_table(index="itl3", columns="grade", values="hc", aggfunc="sum").fillna(0)
    unknown_region = t[t["Region_ITL3"] == "Unknown"].groupby("grade")["hc"].sum()
    known = mat[list(GRADES8)]
    # unknown grade -> grades in proportion to the area's known-grade mix
    unk_grade = mat.get("Unknown", pd.Series(0, index=mat.index))
    known = known + known.div(known.sum(axis=1), axis=0).mul(unk_grade, axis=0)
    # unknown region -> areas in proportion to each grade's distribution
    ur_known = unknown_region.reindex(list(GRADES8)).fillna(0)
    ur_unknown_grade = unknown_region.get("Unknown", 0.0)
    ur = ur_known + ur_known / ur_known.sum() * ur_unknown_grade
    known = known + known.div(known.sum(axis=0), axis=1).mul(ur, axis=1)
    # London share by grade (of UK-based) from the published London table
    gl = _acses(src, "grade_by_london.csv")
    gl["grade"] = gl["Responsibility_level_ungrouped"].replace({"SCS level": "SCS"})
    piv = gl.pivot_table(index="grade", columns="Region_london", values="Headcount",
                         aggfunc="sum")
    london_share = (piv["London"] / (piv["London"] + piv["Outside London"])).reindex(
        list(GRADES8))
    itl3_london = np.asarray(known.index.str.startswith("TLI"))
    grade_tot = known.sum(axis=0)
    area_tot = known.sum(axis=1)
    m = known.to_numpy(float).copy()
    for _ in range(IPF_ITERATIONS):  # IPF: London/outside x grade margins, then area totals
        lon_t = (london_share * grade_tot).to_numpy()
        out_t = ((1 - london_share) * grade_tot).to_numpy()
        m[itl3_london] *= lon_t / m[itl3_london].sum(axis=0)
        m[~itl3_london] *= out_t / m[~itl3_london].sum(axis=0)
        m *= (area_tot.to_numpy() / m.sum(axis=1))[:, None]
    fitted = pd.DataFrame(m, index=known.index, columns=list(GRADES8))

    # split each ITL3 x grade over its districts by the 2019 postcode-level pattern
    changes = pd.read_csv(src / "boundaries/ons_ltla_changes_2014_2025.csv", encoding="utf-8-sig")
    to23 = code_map(changes, 2023)
    cs19 = pd.read_csv(src / "civil-service/cs_headcount_by_lad19_grade_2019_derived.csv")
    cs19["lad_code"] = cs19["lad19cd"].map(to23)
    cs19 = cs19.groupby("lad_code")[["aa_ao", "eo", "heo_seo", "g6_g7", "scs", "total"]].sum()
    d = districts.set_index("lad_code")
    rows = []
    for itl3, row in fitted.iterrows():
        lads = d.index[d["itl3_code"] == itl3]
        if len(lads) == 0:
            # ITL3 areas recoded after 2021 (e.g. county unitaries): match by prefix
            lads = d.index[d["itl3_code"].str[:4] == itl3[:4]]
        seed19 = cs19.reindex(lads).fillna(0)
        for g in GRADES8:
            w = (seed19[GROUP_2019[g]].to_numpy(float)
                 + SEED_FLOOR_SHARE * seed19["total"].to_numpy(float) + SEED_FLOOR_CONST)
            for lad, v in zip(lads, row[g] * w / w.sum(), strict=True):
                rows.append((lad, g, v))
    long = pd.DataFrame(rows, columns=["lad_code", "grade", "hc"])
    long = long.groupby(["lad_code", "grade"], as_index=False)["hc"].sum()
    # integerise per grade, keeping each grade's total
    long["posts"] = 0
    for g in GRADES8:
        sel = long["grade"] == g
        long.loc[sel, "posts"] = largest_remainder(long.loc[sel, "hc"].to_numpy())
    checks = {"london_share": london_share.round(4).to_dict(),
              "grade_total": {g: int(v) for g, v in _acses(src, "staff_by_grade.csv")
                              .assign(g=lambda x: x["Responsibility_level_ungrouped"].replace(
                                  {"SCS level": "SCS"})).set_index("g")["Headcount"].items()}}
    return long[["lad_code", "grade", "posts"]], fitted, checks


def split_scs_profession_role(src: Path, base: pd.DataFrame, districts) -> pd.DataFrame:
    london = set(districts.loc[districts["is_london"], "lad_code"])
    b = base.copy()
    b["london"] = b["lad_code"].isin(london)
    # SCS bands
    scs = b[b["grade"] == "SCS"].set_index("lad_code")["posts"].astype(float)
    scs_lon = scs[scs.index.isin(london)]
    scs_out = scs[~scs.index.isin(london)]
    bands = {}
    remaining = scs.copy()
    for band in ("PS", "SCS3", "SCS2"):
        total = SCS_BAND_TOTALS[band]
        if band == "PS":
            out_alloc = pd.Series(PS_OUTSIDE_LONDON, dtype=float)
            n_lon = total - int(out_alloc.sum())
            lon_alloc = pd.Series(largest_remainder(scs_lon.to_numpy() / scs_lon.sum() * n_lon),
                                  index=scs_lon.index, dtype=float)
            alloc = pd.concat([lon_alloc, out_alloc]).groupby(level=0).sum()
        else:
            n_lon = int(round(total * SCS_BAND_LONDON_SHARE[band]))
            n_out = total - n_lon
            lon_alloc = pd.Series(largest_remainder(scs_lon.to_numpy() / scs_lon.sum() * n_lon),
                                  index=scs_lon.index, dtype=float)
            out_alloc = pd.Series(largest_remainder(scs_out.to_numpy() / scs_out.sum() * n_out),
                                  index=scs_out.index, dtype=float)
            alloc = pd.concat([lon_alloc, out_alloc])
        alloc = alloc.reindex(remaining.index).fillna(0).clip(upper=remaining)
        bands[band] = alloc
        remaining = remaining - alloc
    bands["SCS1"] = remaining
    scs_rows = [pd.DataFrame({"lad_code": v.index, "grade": k, "posts": v.to_numpy()})
                for k, v in bands.items()]
    b = pd.concat([b[b["grade"] != "SCS"][["lad_code", "grade", "posts"]], *scs_rows],
                  ignore_index=True)
    b = b[b["posts"] > 0]
    # policy profession by grade and London/elsewhere (ACSES 2023)
    pg = _acses(src, "profession_grade_by_london.csv")
    pg["grade"] = pg["Responsibility_level_ungrouped"].replace({"SCS level": "SCS"})
    tot = pg.groupby(["grade", "Region_london"])["Headcount"].sum()
    pol = pg[pg["Profession_of_post"] == "Policy"].groupby(["grade", "Region_london"])[
        "Headcount"].sum()
    share = (pol / tot).fillna(0)
    b["acses"] = b["grade"].where(~b["grade"].isin(["SCS1", "SCS2", "SCS3", "PS"]), "SCS")
    b["place"] = np.where(b["lad_code"].isin(london), "London", "Outside London")
    s = [share.get((a, p), 0.0) for a, p in zip(b["acses"], b["place"], strict=True)]
    b["policy"] = np.floor(b["posts"] * np.array(s) + 0.5).astype(int)
    b["other"] = b["posts"] - b["policy"]
    # private office (ASSUMPTION), taken from policy posts
    b["po"] = 0
    for g, n in PRIVATE_OFFICE_POSTS.items():
        n_lon = int(round(n * PRIVATE_OFFICE_LONDON_SHARE))
        sel = (b["grade"] == g) & (b["place"] == "London")
        w = b.loc[sel, "policy"].to_numpy(float)
        b.loc[sel, "po"] = np.minimum(largest_remainder(w / w.sum() * n_lon), b.loc[sel, "policy"])
        rest = n - n_lon
        for j, lad in enumerate(PRIVATE_OFFICE_OUTSIDE):
            k = rest // len(PRIVATE_OFFICE_OUTSIDE) + (j < rest % len(PRIVATE_OFFICE_OUTSIDE))
            sel = (b["grade"] == g) & (b["lad_code"] == lad)
            if sel.any():
                i = b.index[sel][0]
                b.loc[i, "po"] = min(k, int(b.loc[i, "policy"]))
    b["policy"] -= b["po"]
    rows = []
    for prof, role, col in (("policy", "standard", "policy"), ("other", "standard", "other"),
                            ("policy", "private_office", "po")):
        part = b[["lad_code", "grade"]].copy()
        part["profession"], part["role"], part["posts"] = prof, role, b[col].astype(int)
        rows.append(part[part["posts"] > 0])
    out = pd.concat(rows, ignore_index=True)
    order = {g: i for i, g in enumerate(GRADES11)}
    out = out.sort_values(["lad_code", "grade", "profession", "role"],
                          key=lambda c: c.map(order) if c.name == "grade" else c)
    return out.reset_index(drop=True)


def read_csps_margins(src: Path) -> dict:
    """People Survey 2024 SEB margins (high, intermediate, low) from the raw workbook.

    Returns a dict with keys ``bands`` (grade band -> mix), ``london``, ``elsewhere``,
    ``policy``, ``all`` (respondents with a grade band) and ``source``.
    """
    try:
        raw = pd.read_excel(src / CSPS_FILE, sheet_name="By_other_demographics", engine="odf",
                            header=None, usecols=range(6))
    except Exception as e:  # noqa: BLE001 - fall back to the printed figures
        print(f"warning: cannot read {CSPS_FILE} ({e}); using facts.md section G figures")
        return {"bands": SEB_BY_BAND_FALLBACK, "london": SEB_LONDON_FALLBACK,
                "elsewhere": SEB_ELSEWHERE_FALLBACK, "policy": SEB_POLICY_FALLBACK,
                "all": None, "source": "facts.md section G (printed shares)"}
    d = raw.iloc[5:].copy()
    d.columns = ["var", "resp", "fvar", "fresp", "note", "count"]
    d = d[d["fvar"].astype(str).str.startswith("nssec3")]
    d["count"] = pd.to_numeric(d["count"], errors="coerce").fillna(0)
    cls = {"High": "high", "Intermediate": "intermediate", "Routine": "low",
           "Never worked or long term unemployed": "low"}
    d["seb"] = d["fresp"].map(cls)

    def mix(sel) -> tuple:
        c = d[sel].groupby("seb")["count"].sum().reindex(["high", "intermediate", "low"])
        return tuple(float(x) for x in (c / c.sum()).round(6))

    grade = d["var"].str.startswith("Z02")
    bands = {CSPS_BAND_NAMES[r]: mix(grade & (d["resp"] == r)) for r in CSPS_BAND_NAMES}
    region = d["var"].str.startswith("H01")
    not_uk_region = d["resp"].isin(["England (all)", "Outside of the United Kingdom"])
    return {"bands": bands, "london": mix(region & (d["resp"] == "London")),
            "elsewhere": mix(region & ~not_uk_region & (d["resp"] != "London")),
            "policy": mix(d["var"].str.startswith("H8B") & (d["resp"] == "Policy")),
            "all": mix(grade), "source": f"{CSPS_FILE}, sheet By_other_demographics"}


def build_seb(baseline: pd.DataFrame, districts, margins: dict) -> pd.DataFrame:
    """SEB by grade x place x profession by IPF to People Survey 2024 margins (ASSUMPTION).

    The survey's grade-band and London/elsewhere margins imply slightly different whole-CS
    mixes once weighted by the workforce (respondents are not the workforce). Both sets are
    shifted by half the gap to a common whole-CS mix, so the margins are consistent and IPF
    converges; each then misses its published value by about half the gap (< 1 pp).
    """
    london = set(districts.loc[districts["is_london"], "lad_code"])
    b = baseline.assign(place=np.where(baseline["lad_code"].isin(london), "london", "elsewhere"))
    w = b.groupby(["grade", "place", "profession"])["posts"].sum()
    cells = list(w.index)
    W = w.to_numpy(float)
    bands = np.array([BAND_OF[g] for g, _, _ in cells])
    lon = np.array([p == "london" for _, p, _ in cells])
    pol = np.array([f == "policy" for _, _, f in cells])
    band_t = {bd: np.array(m) for bd, m in margins["bands"].items()}
    place_t = {True: np.array(margins["london"]), False: np.array(margins["elsewhere"])}
    whole_bands = sum(W[bands == bd].sum() * m for bd, m in band_t.items()) / W.sum()
    whole_place = sum(W[lon == k].sum() * m for k, m in place_t.items()) / W.sum()
    whole = (whole_bands + whole_place) / 2
    band_t = {bd: m + whole - whole_bands for bd, m in band_t.items()}
    place_t = {k: m + whole - whole_place for k, m in place_t.items()}
    policy_t = np.array(margins["policy"])
    other_t = (whole * W.sum() - policy_t * W[pol].sum()) / W[~pol].sum()
    targets = [(bands == bd, m) for bd, m in band_t.items()]
    targets += [(lon, place_t[True]), (~lon, place_t[False]), (pol, policy_t), (~pol, other_t)]
    N = np.outer(W, np.full(3, 1 / 3))
    for _ in range(2000):
        for mask, target in targets:
            N[mask] *= (target * W[mask].sum() / N[mask].sum(axis=0))[None, :]
        N *= (W / N.sum(axis=1))[:, None]
    shares = N / N.sum(axis=1, keepdims=True)
    out = pd.DataFrame(cells, columns=["grade", "place", "profession"])
    out[["high", "intermediate", "low"]] = shares.round(6)
    out["low"] = (1 - out["high"] - out["intermediate"]).round(6)
    # every (grade, place, profession) gets a row; missing cells take the SCS band/place fit
    full = pd.MultiIndex.from_product([GRADES11, ["london", "elsewhere"], ["policy", "other"]],
                                      names=["grade", "place", "profession"]).to_frame(
        index=False)
    out = full.merge(out, how="left")
    band_of_row = out["grade"].map(BAND_OF)
    for i in out.index[out["high"].isna()]:
        same = out[(band_of_row == band_of_row[i]) & (out["place"] == out.loc[i, "place"])
                   & (out["profession"] == out.loc[i, "profession"]) & out["high"].notna()]
        src_row = same.iloc[0] if len(same) else None
        mix = (src_row[["high", "intermediate", "low"]].to_numpy(float) if src_row is not None
               else band_t[band_of_row[i]].round(6))
        out.loc[i, ["high", "intermediate"]] = mix[:2]
        out.loc[i, "low"] = round(1 - mix[0] - mix[1], 6)
    return out


def build_checks(src: Path, checks: dict) -> pd.DataFrame:
    """The published ACSES 2023 figures the baseline must reproduce, read from the raw tables."""
    tot = _acses(src, "totals.csv")
    rows = [("headcount_total", "", float(tot["Headcount"].iloc[0]))]
    rows += [("grade_total", g, float(checks["grade_total"][g]))
             for g in (*GRADES8, "Unknown")]
    rows += [("london_share", g, checks["london_share"][g]) for g in GRADES8]
    # SCS pay bands: written PQ 2438 (28 Nov 2023), centrally managed SCS at 1 April 2023
    rows += [("scs_band", k, float(v)) for k, v in SCS_BAND_TOTALS.items()]
    return pd.DataFrame(rows, columns=["measure", "grade", "value"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=str(ROOT.parent / "shared" / "geodata-src"))
    ap.add_argument("--out", default=str(ROOT / "geodata"))
    a = ap.parse_args(argv)
    src, out = Path(a.src), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    districts = build_districts(src)
    districts.to_parquet(out / "districts.parquet", compression="zstd", index=False)
    build_social_mobility(src, districts).to_csv(out / "social_mobility.csv", index=False)
    pd.DataFrame([(c, oa) for oa, cs in OPPORTUNITY_AREAS.items() for c in cs],
                 columns=["lad_code", "opportunity_area"]).to_csv(
        out / "opportunity_areas.csv", index=False)
    build_labour_market(src, districts).to_csv(out / "labour_market.csv", index=False)
    build_sites(src, districts).to_csv(out / "sites.csv", index=False)
    base8, _, checks = build_baseline(src, districts)
    baseline = split_scs_profession_role(src, base8, districts)
    baseline.to_csv(out / "baseline_posts.csv", index=False)
    margins = read_csps_margins(src)
    build_seb(baseline, districts, margins).to_csv(out / "seb_by_grade_place.csv", index=False)
    build_checks(src, checks).to_csv(out / "acses_2023_checks.csv", index=False)
    (out / "VINTAGE").write_text("Civil Service Statistics 31 March 2023; SMC State of the "
                                 "Nation 2025; ONS LAD 2023\n", encoding="utf-8")
    print(json.dumps({"districts": len(districts), "posts": int(baseline["posts"].sum()),
                      "csps_margins": margins}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
