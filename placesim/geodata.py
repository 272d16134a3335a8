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
    "acses_2023_checks.csv": ("measure", "grade", "value"),
}
"""Required columns of every file of a data package (``docs/architecture.md``)."""

DEFAULT_SMC_INDEX = "ci4"
"""Default SMC index for the ``smc2025`` rule: ci4 'Promising Prospects' (latest period 2021 to
2024). It measures outcomes for young people from lower socio-economic backgrounds, which is what
a social-mobility coldspot is (the 2016/2017 Social Mobility Index was outcome-based too); its two
lowest categories give 58 districts, close to the SMI's ~65 coldspots, whereas ci1 'Conditions of
Childhood' (an input measure) gives only 31."""

COLDSPOT_RULES: dict[str, str] = {
    "smc2025": "Districts whose Social Mobility Commission State of the Nation 2025 composite "
               "index (default ci4 'Promising Prospects', latest period) is in the 'most "
               "unfavourable' or 'unfavourable' category.",
    "opportunity_areas": "The districts of the 12 DfE Opportunity Areas (2016-17), chosen "
                         "from the 2016 Social Mobility Index coldspots.",
    "csv": "A user-supplied CSV of district codes (column lad_code), e.g. a department's own "
           "list or the 2017 Social Mobility Index coldspots.",
}
"""One sentence per coldspot rule, used in summaries and briefing text."""

COUNTRIES = ("England", "Wales", "Scotland", "Northern Ireland")
SMC_CATEGORIES = ("most unfavourable", "unfavourable", "lower middling", "middling",
                  "upper middling", "favourable", "most favourable")


@dataclass(frozen=True)
class DataPackage:
    """A validated data package (see ``docs/architecture.md`` for the schema).

    Attributes
    ----------
    path : pathlib.Path
        The package folder.
    districts : geopandas.GeoDataFrame
        The 361 LADs of 2023 (EPSG:4326), sorted by ``lad_code``.
    social_mobility, opportunity_areas, labour_market, sites, baseline_posts,
    seb_by_grade_place, checks : pandas.DataFrame
        The other files of the package (``checks`` is empty if the package has none).
    vintage : str
        Data vintage text (``VINTAGE`` file, else the folder name).
    """

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
    """Read one package file and check its required columns are present."""
    f = path / name
    if not f.is_file():
        raise DataError(str(f), None, "missing file")
    try:
        if name.endswith(".parquet"):
            import geopandas as gpd

            df = gpd.read_parquet(f)
        else:
            df = pd.read_csv(f, dtype={"lad_code": str, "itl2_code": str, "grade": str})
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure is a data problem
        raise DataError(str(f), None, f"cannot read: {e}") from e
    missing = [c for c in REQUIRED[name] if c not in df.columns]
    if missing:
        raise DataError(str(f), missing[0], "missing column")
    return df


def _first_bad(mask: pd.Series) -> int:
    """Position of the first True in ``mask``."""
    return int(np.flatnonzero(mask.to_numpy())[0])


def _codes(df: pd.DataFrame, f: Path, column: str, known: set, what: str) -> None:
    """Every value of ``column`` must be in ``known``; rows are numbered as in the file."""
    bad = ~df[column].isin(known)
    if bad.any():
        i = _first_bad(bad)
        raise DataError(str(f), column, f"unknown {what} {df[column].iloc[i]!r} on row {i + 2}")


def _numeric(df: pd.DataFrame, f: Path, column: str, *, allow_blank: bool = False,
             minimum: float | None = None, maximum: float | None = None,
             integer: bool = False) -> pd.Series:
    """Return ``column`` as numbers, raising DataError on text, blanks or out-of-range values."""
    v = pd.to_numeric(df[column], errors="coerce")
    text = v.isna() & df[column].notna()
    if text.any():
        i = _first_bad(text)
        raise DataError(str(f), column, f"not a number: {df[column].iloc[i]!r} on row {i + 2}")
    if not allow_blank and v.isna().any():
        raise DataError(str(f), column, f"blank value on row {_first_bad(v.isna()) + 2}")
    checks = []
    if minimum is not None:
        checks.append((v < minimum, f"below {minimum:g}"))
    if maximum is not None:
        checks.append((v > maximum, f"above {maximum:g}"))
    if integer:
        checks.append((v.notna() & (v != np.floor(v)), "not a whole number"))
    for mask, what in checks:
        if mask.any():
            i = _first_bad(mask)
            raise DataError(str(f), column, f"{what}: {df[column].iloc[i]!r} on row {i + 2}")
    return v


def _shares(df: pd.DataFrame, f: Path, cols: list[str]) -> None:
    """Share columns must lie in [0, 1] and sum to 1 (within 1e-6) on every row."""
    for c in cols:
        _numeric(df, f, c, minimum=0.0, maximum=1.0)
    tot = df[cols].astype(float).sum(axis=1)
    bad = (tot - 1).abs() > 1e-6
    if bad.any():
        i = _first_bad(bad)
        raise DataError(str(f), cols[0], f"shares {', '.join(cols)} on row {i + 2} sum to "
                        f"{tot.iloc[i]:.6f}, not 1")


def _bool(df: pd.DataFrame, f: Path, column: str) -> pd.Series:
    """Parse a True/False column (bool, or text true/false/1/0)."""
    if df[column].dtype == bool:
        return df[column]
    m = df[column].astype(str).str.strip().str.lower().map(
        {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
    if m.isna().any():
        i = _first_bad(m.isna())
        raise DataError(str(f), column, f"not True/False: {df[column].iloc[i]!r} on row {i + 2}")
    return m.astype(bool)


def _validate_districts(d, f: Path):
    """Check the districts GeoDataFrame and return it sorted by code, CRS EPSG:4326."""
    if d["lad_code"].isna().any() or d["lad_code"].duplicated().any():
        raise DataError(str(f), "lad_code", "blank or duplicate district codes")
    if d.crs is None:
        d = d.set_crs(4326)
    elif d.crs.to_epsg() != 4326:
        d = d.to_crs(4326)
    _codes(d, f, "country", set(COUNTRIES), "country")
    d["is_london"] = _bool(d, f, "is_london")
    _numeric(d, f, "centroid_lon", minimum=-180, maximum=180)
    _numeric(d, f, "centroid_lat", minimum=-90, maximum=90)
    if d.geometry.isna().any() or d.geometry.is_empty.any():
        raise DataError(str(f), "geometry", "missing or empty geometry")
    return d.sort_values("lad_code").reset_index(drop=True)


def load_data_package(path: str | Path | None = None) -> DataPackage:
    """Load and validate a data package.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The package folder; ``None`` (default) is the shipped ``geodata/`` folder next to the
        ``placesim`` package.

    Returns
    -------
    DataPackage
        Validated frames; ``districts`` is a GeoDataFrame in EPSG:4326.

    Raises
    ------
    DataError
        If a file or column is missing, or a value is malformed, naming the file and column
        (and the row, numbered as in the file with the header as row 1).

    Examples
    --------
    >>> pkg = load_data_package()            # doctest: +SKIP
    >>> len(pkg.districts)                   # doctest: +SKIP
    361
    """
    p = Path(path) if path is not None else SHIPPED
    if not p.is_dir():
        raise DataError(str(p), None, "no such data package folder")
    d = _validate_districts(_read(p, "districts.parquet"), p / "districts.parquet")
    codes = set(d["lad_code"])

    f = p / "social_mobility.csv"
    sm = _read(p, "social_mobility.csv")
    _codes(sm, f, "lad_code", codes, "district code")
    for i in range(1, 5):
        _numeric(sm, f, f"ci{i}_zscore", allow_blank=True)
        sm[f"ci{i}_rank"] = _numeric(sm, f, f"ci{i}_rank", allow_blank=True, minimum=1,
                                     maximum=7, integer=True).astype("Int64")
        cat = sm[f"ci{i}_category"].dropna().astype(str).str.lower()
        _codes(cat.to_frame(), f, f"ci{i}_category", set(SMC_CATEGORIES), "category")

    oa = _read(p, "opportunity_areas.csv")
    _codes(oa, p / "opportunity_areas.csv", "lad_code", codes, "district code")

    f = p / "labour_market.csv"
    lm = _read(p, "labour_market.csv")
    _codes(lm, f, "lad_code", codes, "district code")
    _shares(lm, f, list(SEB_CLASSES))
    missing_lm = codes - set(lm["lad_code"])
    if missing_lm:
        raise DataError(str(f), "lad_code", f"no row for district {sorted(missing_lm)[0]!r}")

    f = p / "sites.csv"
    sites = _read(p, "sites.csv")
    _codes(sites, f, "lad_code", codes, "district code")
    if sites["site_id"].isna().any() or sites["site_id"].duplicated().any():
        raise DataError(str(f), "site_id", "blank or duplicate site ids")
    _numeric(sites, f, "lon", minimum=-180, maximum=180)
    _numeric(sites, f, "lat", minimum=-90, maximum=90)
    sites["capacity"] = _numeric(sites, f, "capacity", allow_blank=True, minimum=0,
                                 integer=True).astype("Int64")
    sites["confirmed"] = _bool(sites, f, "confirmed")
    sites["theme"] = sites["theme"].fillna("").astype(str)

    f = p / "baseline_posts.csv"
    b = _read(p, "baseline_posts.csv")
    _codes(b, f, "lad_code", codes, "district code")
    _codes(b, f, "grade", set(GRADES), "grade")
    _codes(b, f, "profession", set(PROFESSIONS), "profession")
    _codes(b, f, "role", set(ROLES), "role")
    b["posts"] = _numeric(b, f, "posts", minimum=0, integer=True).astype(np.int64)

    f = p / "seb_by_grade_place.csv"
    seb = _read(p, "seb_by_grade_place.csv")
    _codes(seb, f, "grade", set(GRADES), "grade")
    _codes(seb, f, "place", {"london", "elsewhere"}, "place")
    _codes(seb, f, "profession", set(PROFESSIONS), "profession")
    _shares(seb, f, list(SEB_CLASSES))

    # The ACSES checks are optional: a department's own package need not carry them.
    if (p / "acses_2023_checks.csv").is_file():
        f = p / "acses_2023_checks.csv"
        checks = _read(p, "acses_2023_checks.csv")
        _codes(checks, f, "measure", {"headcount_total", "grade_total", "london_share",
                                      "scs_band"}, "measure")
        _numeric(checks, f, "value", minimum=0)
        checks["grade"] = checks["grade"].fillna("").astype(str)
    else:
        checks = pd.DataFrame({"measure": pd.Series(dtype=str), "grade": pd.Series(dtype=str),
                               "value": pd.Series(dtype=float)})
    vfile = p / "VINTAGE"
    vintage = vfile.read_text(encoding="utf-8").strip() if vfile.is_file() else p.name
    return DataPackage(p, d, sm, oa, lm, sites, b, seb, checks, vintage)


def coldspot_districts(pkg: DataPackage, rule: str = "smc2025", index: str = DEFAULT_SMC_INDEX,
                       categories: tuple[str, ...] | list[str] = ("most unfavourable",
                                                                  "unfavourable"),
                       csv_path: str | Path | None = None) -> pd.Series:
    """Which districts are social-mobility coldspots under a rule.

    Parameters
    ----------
    pkg : DataPackage
        A loaded data package.
    rule : {"smc2025", "opportunity_areas", "csv"}
        See :data:`COLDSPOT_RULES`.
    index : {"ci1", "ci2", "ci3", "ci4"}
        SMC composite index for ``rule="smc2025"`` (default :data:`DEFAULT_SMC_INDEX`).
    categories : sequence of str
        SMC categories counted as coldspots (``smc2025`` only).
    csv_path : str or pathlib.Path, optional
        For ``rule="csv"``: a CSV file with a ``lad_code`` column.

    Returns
    -------
    pandas.Series
        Boolean, indexed by ``lad_code``, one entry per district.

    Raises
    ------
    DataError
        Unknown rule or index, missing CSV or column, or an unknown district code in the CSV
        (the message names the file, line and column).
    """
    codes = pkg.districts["lad_code"]
    if rule == "smc2025":
        col = f"{index}_category"
        if col not in pkg.social_mobility.columns:
            raise DataError(str(pkg.path / "social_mobility.csv"), col,
                            f"unknown SMC index {index!r} (ci1 ... ci4)")
        sm = pkg.social_mobility.set_index("lad_code")[col].astype(str).str.lower()
        flag = codes.map(sm).isin({c.lower() for c in categories})
    elif rule == "opportunity_areas":
        flag = codes.isin(set(pkg.opportunity_areas["lad_code"]))
    elif rule == "csv":
        if csv_path is None:
            raise DataError("<coldspots>", "csv_path", "rule 'csv' needs a CSV file")
        f = Path(csv_path)
        if not f.is_file():
            raise DataError(str(f), None, "missing file")
        try:
            user = pd.read_csv(f, dtype=str)
        except Exception as e:  # noqa: BLE001
            raise DataError(str(f), None, f"cannot read: {e}") from e
        if "lad_code" not in user.columns:
            raise DataError(str(f), "lad_code", "missing column")
        user_codes = user["lad_code"].fillna("").str.strip()
        bad = ~user_codes.isin(set(codes))
        if bad.any():
            i = _first_bad(bad)
            raise DataError(str(f), "lad_code", f"line {i + 2}: unknown district code "
                            f"{user_codes.iloc[i]!r}")
        flag = codes.isin(set(user_codes))
    else:
        raise DataError("<coldspots>", "rule", f"unknown rule {rule!r} "
                        f"(known: {', '.join(COLDSPOT_RULES)})")
    return pd.Series(flag.to_numpy(bool), index=pd.Index(codes.to_numpy(), name="lad_code"),
                     name="coldspot")


def summary(pkg: DataPackage, rule: str = "smc2025") -> dict:
    """Machine-readable description of a data package (``placesim data --json``).

    Parameters
    ----------
    pkg : DataPackage
        A loaded data package.
    rule : str
        Coldspot rule counted in ``coldspot_districts`` (see :data:`COLDSPOT_RULES`).

    Returns
    -------
    dict
        Keys ``districts``, ``districts_by_country``, ``coldspot_districts``,
        ``coldspot_rule``, ``sites``, ``headcount``, ``headcount_by_grade`` (ACSES grades, SCS
        = SCS1+SCS2+SCS3+PS), ``headcount_by_grade_detail`` (11 grades),
        ``london_share_by_grade`` (share of UK-based staff in London), ``data_vintage``,
        ``treatment``.
    """
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
        "coldspot_rule": f"{rule}: {COLDSPOT_RULES.get(rule, '')}",
        "sites": int(len(pkg.sites)),
        "headcount": int(b["posts"].sum()),
        "headcount_by_grade": {g: int(by.get(g, 0)) for g in ACSES_GRADES},
        "headcount_by_grade_detail": {g: int(detail.get(g, 0)) for g in GRADES},
        "london_share_by_grade": {g: round(float(lon.get(g, 0) / by[g]), 4) if by.get(g, 0)
                                  else None for g in ACSES_GRADES},
        "data_vintage": pkg.vintage,
        "treatment": {
            "overseas": "The 3,515 staff based overseas are excluded (they are in no district).",
            "unknown_grade": "The 25,715 staff of unknown grade are allocated to grades in "
                             "proportion to the known-grade mix of their own ITL3 area.",
            "unknown_region": "Staff with no recorded UK location are spread over areas in "
                              "proportion to each grade's known distribution.",
        },
    }


def format_summary(summary: dict) -> str:
    """Human-readable text of :func:`summary`.

    Parameters
    ----------
    summary : dict
        As returned by :func:`summary`.

    Returns
    -------
    str
        Several lines of plain text.
    """
    s = summary
    lines = [
        f"Data package ({s['data_vintage']})",
        f"  districts: {s['districts']} (" + ", ".join(
            f"{k} {v}" for k, v in s["districts_by_country"].items()) + ")",
        f"  coldspot districts: {s['coldspot_districts']} ({s['coldspot_rule']})",
        f"  sites: {s['sites']}",
        f"  headcount (UK-based, 31 March 2023): {s['headcount']:,}",
        "  grade      headcount   London share",
    ]
    for g, n in s["headcount_by_grade"].items():
        share = s["london_share_by_grade"][g]
        lines.append(f"  {g:<8} {n:>11,}   {'' if share is None else f'{share:.1%}'}")
    detail = s.get("headcount_by_grade_detail", {})
    if detail:
        lines.append("  SCS bands: " + ", ".join(f"{g} {detail.get(g, 0):,}"
                                                 for g in SCS_GRADES))
    lines += [f"  {k.replace('_', ' ')}: {v}" for k, v in s["treatment"].items()]
    return "\n".join(lines)
