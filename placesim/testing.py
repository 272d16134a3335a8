"""A small synthetic data package with the real package's schema, for tests and benchmarks.

Like geopandas' public ``testing`` module, it lets tests (and users checking their own data
pipelines) exercise the whole model on a few thousand posts in a dozen square districts:
three London boroughs and nine districts in five other labour-market areas, three sites, and a
grade pyramid shaped like the Civil Service's, with flows at the ACSES 2023 rates and a
(flat) People Survey trend. It has no ``checks.csv``, so nothing is checked against published
figures. With ``departments=True`` every post also belongs to one of three departments
(``departments.csv``), as in the shipped packages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .grades import GRADES, SCS_GRADES

SMALL_WAVE = """
waves:
  - name: small
    year: 2024
    posts: {grades: [AO]}
    count: 100
    destinations: [{site: leeds, share: 1.0}]
"""
"""A scenario fragment: 100 AO posts to Leeds in 2024, the "one small wave" the common
random numbers are judged on (tests/test_crn.py, benchmarks/agreement.py)."""

#: Share of the Civil Service in each grade (ACSES 2023 shape; SCS split by band).
GRADE_SHAPE = {
    "AA": 0.036, "AO": 0.228, "EO": 0.247, "HEO": 0.164, "SEO": 0.121, "G7": 0.105,
    "G6": 0.040, "SCS1": 0.0116, "SCS2": 0.0022, "SCS3": 0.0006, "PS": 0.0002,
}
LONDON_SHARE = {
    "AA": 0.08, "AO": 0.09, "EO": 0.16, "HEO": 0.23, "SEO": 0.26, "G7": 0.39, "G6": 0.46,
    "SCS1": 0.6, "SCS2": 0.7, "SCS3": 0.85, "PS": 0.95,
}


def synthetic_districts() -> pd.DataFrame:
    """Twelve square districts with codes, areas and flags."""
    rows = []
    for i in range(12):
        london = i < 3
        rows.append({
            "lad_code": f"E0{9 if london else 8}0000{i:02d}",
            "lad_name": f"{'Borough' if london else 'Town'} {i}",
            "country": "England",
            "itl1_code": "TLI" if london else f"TL{'CDEFG'[i % 5]}",
            "itl1_name": "London" if london else f"Region {'CDEFG'[i % 5]}",
            "itl2_code": "TLI3" if london else f"TL{'CDEFG'[i % 5]}1",
            "itl3_code": f"TLI3{i}" if london else f"TL{'CDEFG'[i % 5]}11",
            "is_london": london,
            "centroid_lon": -0.1 - (0 if london else 0.4 * i),
            "centroid_lat": 51.5 + (0 if london else 0.3 * i),
        })
    return pd.DataFrame(rows)


#: Departments of the synthetic package when asked for: code, name, share of posts in London
#: and elsewhere (each row of the baseline is split in these shares, largest remainder).
SYNTHETIC_DEPARTMENTS = (("HO", "Home Office", 0.5, 0.2), ("HMRC", "HM Revenue and Customs",
                         0.3, 0.3), ("DWP", "Department for Work and Pensions", 0.2, 0.5))


def write_synthetic_package(path: str | Path, *, headcount: int = 6000, seed: int = 0,
                            departments: bool = False) -> Path:
    """Write a synthetic data package to ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        Folder to create.
    headcount : int
        Approximate number of posts.
    seed : int
        Seed for the district shares.
    departments : bool
        Split every post over :data:`SYNTHETIC_DEPARTMENTS` (a ``department`` column in
        ``baseline_posts.csv`` and a ``departments.csv``); the cells' totals are the same as
        without.

    Returns
    -------
    pathlib.Path
        The folder, loadable with :func:`placesim.geodata.load_data_package`.
    """
    import geopandas as gpd
    from shapely.geometry import box

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    d = synthetic_districts()
    geom = [box(lon - 0.1, lat - 0.1, lon + 0.1, lat + 0.1)
            for lon, lat in zip(d["centroid_lon"], d["centroid_lat"], strict=True)]
    gpd.GeoDataFrame(d, geometry=geom, crs="EPSG:4326").to_parquet(out / "districts.parquet")

    codes = d["lad_code"].tolist()
    london = d["is_london"].to_numpy()
    rows = []
    weights_out = rng.dirichlet(np.full((~london).sum(), 2.0))
    weights_lon = rng.dirichlet(np.full(london.sum(), 2.0))
    for g in GRADES:
        total = GRADE_SHAPE[g] * headcount
        for j, code in enumerate(codes):
            if london[j]:
                share = LONDON_SHARE[g] * weights_lon[int(np.flatnonzero(london).tolist().index(j))]
            else:
                k = int(np.flatnonzero(~london).tolist().index(j))
                share = (1 - LONDON_SHARE[g]) * weights_out[k]
            n = int(round(total * share))
            if n == 0:
                continue
            policy = int(round(n * (0.3 if london[j] else 0.05))) if g not in ("AA", "AO") else 0
            po = int(round(n * 0.1)) if (london[j] and g in ("HEO", "SEO", "G7")) else 0
            rows.append((code, g, "policy", "private_office", po))
            rows.append((code, g, "policy", "standard", max(policy - po, 0)))
            rows.append((code, g, "other", "standard", n - max(policy, po)))
    b = pd.DataFrame(rows, columns=["lad_code", "grade", "profession", "role", "posts"])
    b = b[b["posts"] > 0].reset_index(drop=True)
    if departments:
        b = _split_departments(b, set(d.loc[d["is_london"], "lad_code"]))
        pd.DataFrame([(c, n, "") for c, n, _, _ in SYNTHETIC_DEPARTMENTS],
                     columns=["code", "name", "aliases"]).to_csv(out / "departments.csv",
                                                                 index=False)
    b.to_csv(out / "baseline_posts.csv", index=False)

    seb_rows = []
    band = {"AA": (0.45, 0.14, 0.41), "AO": (0.45, 0.14, 0.41), "EO": (0.48, 0.14, 0.38),
            "HEO": (0.54, 0.14, 0.32), "SEO": (0.54, 0.14, 0.32), "G7": (0.63, 0.13, 0.24),
            "G6": (0.63, 0.13, 0.24)}
    for g in GRADES:
        h, i_, lo = band.get(g, (0.71, 0.11, 0.18))
        for place, up in (("london", 0.08), ("elsewhere", -0.04)):
            for prof, pu in (("policy", 0.05), ("other", 0.0)):
                hh = min(h + up + pu, 0.95)
                ll = max(1 - hh - i_, 0.01)
                tot = hh + i_ + ll
                seb_rows.append((g, place, prof, hh / tot, i_ / tot, ll / tot))
    pd.DataFrame(seb_rows, columns=["grade", "place", "profession", "high", "intermediate",
                                    "low"]).to_csv(out / "seb_by_grade_place.csv", index=False)

    lm = pd.DataFrame({"lad_code": codes, "itl2_code": d["itl2_code"],
                       "high": np.where(london, 0.45, 0.32), "intermediate": 0.18})
    lm["low"] = 1 - lm["high"] - lm["intermediate"]
    lm["source"] = "synthetic"
    lm.to_csv(out / "labour_market.csv", index=False)

    cats = ["most unfavourable", "unfavourable", "lower middling", "middling",
            "upper middling", "favourable", "most favourable"]
    sm = {"lad_code": codes, "smc_area_name": d["lad_name"]}
    for k, ci in enumerate(["ci1", "ci2", "ci3", "ci4"]):
        rank = np.where(london, 6, (np.arange(12) + k) % 5 + 1)
        sm[f"{ci}_zscore"] = (rank - 4) / 2.0
        sm[f"{ci}_category"] = [cats[r - 1] for r in rank]
        sm[f"{ci}_rank"] = rank
        sm[f"{ci}_period"] = "2018 to 2024"
    pd.DataFrame(sm).to_csv(out / "social_mobility.csv", index=False)
    pd.DataFrame({"lad_code": [codes[4], codes[9]],
                  "opportunity_area": ["Town 4", "Town 9"]}).to_csv(
        out / "opportunity_areas.csv", index=False)
    sites = pd.DataFrame({
        "site_id": ["alpha", "beta", "gamma"],
        "site_name": ["Alpha campus", "Beta hub", "Gamma hub"],
        "lad_code": [codes[3], codes[5], codes[8]],
        "lon": d["centroid_lon"].iloc[[3, 5, 8]].to_numpy(),
        "lat": d["centroid_lat"].iloc[[3, 5, 8]].to_numpy(),
        "theme": ["growth", "", ""], "kind": ["campus", "hub", "hub"],
        "capacity": [np.nan, np.nan, np.nan], "confirmed": [True, True, False],
        "evidence": ["synthetic"] * 3,
    })
    sites.to_csv(out / "sites.csv", index=False)
    _flows(b).to_csv(out / "flows_by_grade.csv", index=False)
    _trend(band).to_csv(out / "seb_trend.csv", index=False)
    (out / "package.json").write_text(json.dumps({
        "format": 1, "year": 2023, "census_date": "2023-03-31",
        "title": "Synthetic Civil Service", "vintage": "synthetic (placesim.testing)"}, indent=2))
    return out


def _split_departments(b: pd.DataFrame, london: set) -> pd.DataFrame:
    """Each row's posts over the synthetic departments, keeping the row's total."""
    parts = []
    for row in b.itertuples(index=False):
        w = np.array([lon if row.lad_code in london else out
                      for _, _, lon, out in SYNTHETIC_DEPARTMENTS]) * row.posts
        n = np.floor(w).astype(np.int64)
        n[np.argsort(-(w - n), kind="stable")[:row.posts - n.sum()]] += 1
        parts += [(*row[:4], code, int(k)) for (code, *_), k in zip(SYNTHETIC_DEPARTMENTS, n,
                                                                   strict=True) if k]
    return pd.DataFrame(parts, columns=[*b.columns[:4], "department", "posts"])


#: ACSES 2023 rates by grade (facts.md C1): leave the Civil Service, move department, new
#: entrants, each as a share of in post.
FLOW_RATES = {"AA": (.147, .008, .231), "AO": (.123, .022, .184), "EO": (.082, .028, .085),
              "HEO": (.067, .043, .087), "SEO": (.071, .036, .067), "G7": (.067, .035, .053),
              "G6": (.074, .033, .034), "SCS": (.098, .053, .041)}


def _flows(baseline: pd.DataFrame) -> pd.DataFrame:
    """``flows_by_grade.csv`` of the synthetic posts at the ACSES 2023 rates."""
    acses = baseline["grade"].where(~baseline["grade"].isin(SCS_GRADES), "SCS")
    in_post = baseline.groupby(acses)["posts"].sum()
    rows = [(g, int(in_post.get(g, 0)), *(int(round(in_post.get(g, 0) * r)) for r in rates), g)
            for g, rates in FLOW_RATES.items()]
    rows.append(("Unknown", 0, 0, 0, 0, "Unknown"))
    return pd.DataFrame(rows, columns=["grade", "in_post", "leavers_cs", "leavers_dept",
                                       "entrants", "published_as"])


def _trend(band: dict) -> pd.DataFrame:
    """``seb_trend.csv``: the synthetic grade-band mixes, unchanged over the survey years."""
    bands = {"AA/AO": "AA", "EO": "EO", "HEO/SEO": "HEO", "G7/G6": "G7", "SCS": "SCS1"}
    rows = [(y, "grade_band", name, *band.get(g, (0.71, 0.11, 0.18)), 1000)
            for y in (2019, 2021, 2022, 2023, 2024) for name, g in bands.items()]
    t = pd.DataFrame(rows, columns=["survey_year", "dimension", "group", "high",
                                    "intermediate", "low", "respondents"])
    tot = t[["high", "intermediate", "low"]].sum(axis=1)
    for c in ("high", "intermediate", "low"):
        t[c] = (t[c] / tot).round(6)
    t["low"] = (1 - t["high"] - t["intermediate"]).round(6)
    return t


def scaled_package(pkg, factor: float):
    """A copy of a data package whose baseline posts are scaled by ``factor``.

    Counts are rounded by largest remainder so the total is ``round(factor * total)``; used
    by the benchmarks' scaling sweep.
    """
    import dataclasses

    b = pkg.baseline_posts.copy()
    raw = b["posts"].to_numpy(float) * factor
    base = np.floor(raw).astype(np.int64)
    rem = int(round(raw.sum())) - int(base.sum())
    if rem > 0:
        base[np.argsort(-(raw - base), kind="stable")[:rem]] += 1
    b["posts"] = base
    return dataclasses.replace(pkg, baseline_posts=b[b["posts"] > 0].reset_index(drop=True))
