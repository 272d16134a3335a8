"""Load and validate a data package: districts, coldspots, sites, labour markets, baseline.

Every figure placesim shows rests on this data, so loading checks it: every file present,
every column there, codes known, shares in [0, 1] summing to 1, counts whole and non-negative.
A problem raises :class:`~placesim.errors.DataError` naming the file and column. The shipped
package is ``geodata/`` (built by ``geodata/build.py`` from public sources); a department can
point ``--data DIR`` at its own package with the same schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .grades import ACSES_GRADES, GRADES, PROFESSIONS, ROLES, SCS_GRADES, SEB_CLASSES

SHIPPED = Path(__file__).resolve().parent.parent / "geodata"

REQUIRED: dict[str, tuple[str, ...]] = {
    "districts.parquet": ("lad_code", "lad_name", "country", "itl1_code", "itl1_name",
                          "itl2_code", "itl3_code", "is_london", "centroid_lon",
                          "centroid_lat", "geometry"),
    "social_mobility.csv": ("lad_code", "smc_area_name", *[f"ci{i}_{c}" for i in range(1, 5)
                                                             for c in ("zscore", "category",
                                                                       "rank", "period")]),
    "opportunity_areas.csv": ("lad_code", "opportunity_area"),
    "labour_market.csv": ("lad_code", "itl2_code", "high", "intermediate", "low", "source"),
    "sites.csv": ("site_id", "site_name", "lad_code", "lon", "lat", "theme", "kind", "capacity",
                  "confirmed", "evidence"),
    "baseline_posts.csv": ("lad_code", "grade", "profession", "role", "posts"),
    "seb_by_grade_place.csv": ("grade", "place", "profession", "high", "intermediate", "low"),
}

COLDSPOT_RULES = {
    "smc2025": "Districts whose Social Mobility Commission State of the Nation 2025 composite "
               "index (default: conditions of childhood, latest period) is 'unfavourable' or "
               "'most unfavourable'.",
    "opportunity_areas": "The 12 DfE Opportunity Areas, chosen from the 2016 Social Mobility "
                         "Index coldspots.",
    "csv": "A user-supplied list of district codes (e.g. the 2017 Social Mobility Index's 65 "
           "coldspots).",
}


@dataclass(frozen=True)
class DataPackage:
    """A validated data package (see ``docs/architecture.md`` for the schema)."""

    path: Path
    districts: object  # geopandas.GeoDataFrame
    social_mobility: pd.DataFrame
    opportunity_areas: pd.DataFrame
    labour_market: pd.DataFrame
    sites: pd.DataFrame
    baseline_posts: pd.DataFrame
    seb_by_grade_place: pd.DataFrame
    checks: pd.DataFrame
    vintage: str


def _read(path: Path, name: str) -> pd.DataFrame:
    f = path / name
    if not f.is_file():
        raise DataError(str(f), None, "missing file")
    if name.endswith(".parquet"):
        import geopandas as gpd

        try:
            return gpd.read_parquet(f)
        except Exception as e:  # noqa: BLE001
            raise DataError(str(f), None, f"cannot read: {e}") from e
    try:
        df = pd.read_csv(f, keep_default_na=True)
    except Exception as e:  # noqa: BLE001
        raise DataError(str(f), None, f"cannot read: {e}") from e
    missing = [c for c in REQUIRED[name] if c not in df.columns]
    if missing:
        raise DataError(str(f), missing[0], "missing column")
    return df


def _codes(df: pd.DataFrame, f: Path, column: str, known: set, what: str) -> None:
    bad = ~df[column].isin(known)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(str(f), column, f"unknown {what} {df[column].iloc[i]!r} on row {i + 2}")


def _shares(df: pd.DataFrame, f: Path, cols) -> None:
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        if v.isna().any() or ((v < 0) | (v > 1)).any():
            i = int(np.flatnonzero((v.isna() | (v < 0) | (v > 1)).to_numpy())[0])
            raise DataError(str(f), c, f"must be a share between 0 and 1 (row {i + 2})")
    tot = df[list(cols)].sum(axis=1)
    if (abs(tot - 1) > 1e-6).any():
        i = int(np.flatnonzero((abs(tot - 1) > 1e-6).to_numpy())[0])
        raise DataError(str(f), cols[0], f"shares on row {i + 2} sum to {tot.iloc[i]:.4f}, "
                        "not 1")


def load_data_package(path: str | Path | None = None) -> DataPackage:
    """Load and validate a data package.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The package folder; default the shipped ``geodata/``.

    Returns
    -------
    DataPackage

    Raises
    ------
    DataError
        Naming the file and column at fault.
    """
    p = Path(path) if path is not None else SHIPPED
    if not p.is_dir():
        raise DataError(str(p), None, "no such data package folder")
    d = _read(p, "districts.parquet")
    missing = [c for c in REQUIRED["districts.parquet"] if c not in d.columns]
    if missing:
        raise DataError(str(p / "districts.parquet"), missing[0], "missing column")
    if d["lad_code"].duplicated().any():
        raise DataError(str(p / "districts.parquet"), "lad_code", "duplicate district codes")
    d = d.sort_values("lad_code").reset_index(drop=True)
    d["is_london"] = d["is_london"].astype(bool)
    codes = set(d["lad_code"])
    sm = _read(p, "social_mobility.csv")
    _codes(sm, p / "social_mobility.csv", "lad_code", codes, "district code")
    oa = _read(p, "opportunity_areas.csv")
    _codes(oa, p / "opportunity_areas.csv", "lad_code", codes, "district code")
    lm = _read(p, "labour_market.csv")
    _codes(lm, p / "labour_market.csv", "lad_code", codes, "district code")
    _shares(lm, p / "labour_market.csv", list(SEB_CLASSES))
    missing_lm = codes - set(lm["lad_code"])
    if missing_lm:
        raise DataError(str(p / "labour_market.csv"), "lad_code",
                        f"no row for district {sorted(missing_lm)[0]!r}")
    sites = _read(p, "sites.csv")
    _codes(sites, p / "sites.csv", "lad_code", codes, "district code")
    sites["capacity"] = pd.to_numeric(sites["capacity"], errors="coerce")
    sites["theme"] = sites["theme"].fillna("").astype(str)
    if sites["site_id"].duplicated().any():
        raise DataError(str(p / "sites.csv"), "site_id", "duplicate site ids")
    b = _read(p, "baseline_posts.csv")
    f = p / "baseline_posts.csv"
    _codes(b, f, "lad_code", codes, "district code")
    _codes(b, f, "grade", set(GRADES), "grade")
    _codes(b, f, "profession", set(PROFESSIONS), "profession")
    _codes(b, f, "role", set(ROLES), "role")
    posts = pd.to_numeric(b["posts"], errors="coerce")
    if posts.isna().any() or (posts < 0).any() or (posts != np.floor(posts)).any():
        i = int(np.flatnonzero((posts.isna() | (posts < 0) | (posts != np.floor(posts)))
                               .to_numpy())[0])
        raise DataError(str(f), "posts", f"must be a whole number of posts >= 0 (row {i + 2})")
    b["posts"] = posts.astype(np.int64)
    seb = _read(p, "seb_by_grade_place.csv")
    f = p / "seb_by_grade_place.csv"
    _codes(seb, f, "grade", set(GRADES), "grade")
    _codes(seb, f, "place", {"london", "elsewhere"}, "place")
    _codes(seb, f, "profession", set(PROFESSIONS), "profession")
    _shares(seb, f, list(SEB_CLASSES))
    checks_file = p / "acses_2023_checks.csv"
    checks = pd.read_csv(checks_file) if checks_file.is_file() else pd.DataFrame(
        columns=["measure", "grade", "value"])
    vfile = p / "VINTAGE"
    vintage = vfile.read_text(encoding="utf-8").strip() if vfile.is_file() else p.name
    return DataPackage(p, d, sm, oa, lm, sites, b, seb, checks, vintage)


def coldspot_districts(pkg: DataPackage, rule: str = "smc2025", index: str = "ci1",
                       categories=("most unfavourable", "unfavourable"),
                       csv_path: str | Path | None = None) -> pd.Series:
    """Which districts are social-mobility coldspots under a rule.

    Parameters
    ----------
    pkg : DataPackage
    rule : {"smc2025", "opportunity_areas", "csv"}
        See :data:`COLDSPOT_RULES`.
    index : str
        SMC index for ``smc2025`` (``ci1`` … ``ci4``).
    categories : sequence of str
        SMC categories counted as coldspots.
    csv_path : path, optional
        For ``rule="csv"``: a CSV with a ``lad_code`` column.

    Returns
    -------
    pandas.Series
        Boolean, indexed by ``lad_code`` (every district).
    """
    codes = pkg.districts["lad_code"]
    if rule == "smc2025":
        sm = pkg.social_mobility.set_index("lad_code")[f"{index}_category"].str.lower()
        cats = {c.lower() for c in categories}
        flag = codes.map(sm).isin(cats)
    elif rule == "opportunity_areas":
        flag = codes.isin(set(pkg.opportunity_areas["lad_code"]))
    elif rule == "csv":
        if csv_path is None:
            raise DataError("<coldspots>", "csv", "rule 'csv' needs a csv path")
        f = Path(csv_path)
        if not f.is_file():
            raise DataError(str(f), None, "missing file")
        user = pd.read_csv(f)
        if "lad_code" not in user.columns:
            raise DataError(str(f), "lad_code", "missing column")
        bad = ~user["lad_code"].isin(set(codes))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(str(f), "lad_code", f"line {i + 2}: unknown district code "
                            f"{user['lad_code'].iloc[i]!r}")
        flag = codes.isin(set(user["lad_code"]))
    else:
        raise DataError("<coldspots>", "rule", f"unknown rule {rule!r} "
                        f"(known: {', '.join(COLDSPOT_RULES)})")
    return pd.Series(flag.to_numpy(bool), index=codes.to_numpy(), name="coldspot")


def summary(pkg: DataPackage, rule: str = "smc2025") -> dict:
    """Machine-readable counts describing a data package (``placesim data --json``)."""
    d = pkg.districts
    b = pkg.baseline_posts
    london = set(d.loc[d["is_london"], "lad_code"])
    b = b.assign(acses=b["grade"].where(~b["grade"].isin(SCS_GRADES), "SCS"),
                 london=b["lad_code"].isin(london))
    by = b.groupby("acses")["posts"].sum()
    lon = b[b["london"]].groupby("acses")["posts"].sum()
    detail = b.groupby("grade")["posts"].sum()
    cold = coldspot_districts(pkg, rule=rule)
    return {
        "districts": int(len(d)),
        "districts_by_country": {k: int(v) for k, v in d["country"].value_counts()
                                 .sort_index().items()},
        "coldspot_districts": int(cold.sum()),
        "coldspot_rule": f"{rule}: {COLDSPOT_RULES[rule]}",
        "sites": int(len(pkg.sites)),
        "headcount": int(b["posts"].sum()),
        "headcount_by_grade": {g: int(by.get(g, 0)) for g in ACSES_GRADES},
        "headcount_by_grade_detail": {g: int(detail.get(g, 0)) for g in GRADES},
        "london_share_by_grade": {g: round(float(lon.get(g, 0) / by[g]), 4) if by.get(g, 0)
                                  else None for g in ACSES_GRADES},
        "data_vintage": pkg.vintage,
        "treatment": {
            "overseas": "The 3,515 staff based overseas are not in any district and are "
                        "excluded.",
            "unknown_grade": "The 25,715 staff of unknown grade are allocated to grades in "
                             "proportion to the known-grade mix of their own area.",
        },
    }


def format_summary(s: dict) -> str:
    """Human-readable text of :func:`summary`."""
    lines = [
        f"Data package ({s['data_vintage']})",
        f"  districts: {s['districts']} (" + ", ".join(
            f"{k} {v}" for k, v in s["districts_by_country"].items()) + ")",
        f"  coldspot districts: {s['coldspot_districts']} — {s['coldspot_rule']}",
        f"  sites: {s['sites']}",
        f"  headcount (UK-based, 31 March 2023): {s['headcount']:,}",
        "  grade      headcount   London share",
    ]
    for g, n in s["headcount_by_grade"].items():
        share = s["london_share_by_grade"][g]
        lines.append(f"  {g:<8} {n:>11,}   {'' if share is None else f'{share:.1%}'}")
    lines += [f"  {k}: {v}" for k, v in s["treatment"].items()]
    return "\n".join(lines)
