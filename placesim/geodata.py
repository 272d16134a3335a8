"""Load and validate a data package as a whole: districts, coldspots, sites, labour markets,
baseline posts, SEB, flows and the published figures the baseline must reproduce.

Every figure placesim shows rests on this data, so nothing runs until the whole package has
passed: every file present and non-empty, every column there, keys unique, codes known,
numbers finite and plausible, shares in [0, 1] summing to 1, SEB rows complete, coordinates
inside the UK, row counts as recorded in the package's own ``package.json``, and the
package's check figures (``checks.csv``) reproduced within stated tolerances. A problem raises
:class:`~placesim.errors.DataError` naming the file, column, row and rule. The shipped
packages are ``geodata/<year>/`` (built by ``geodata/build.py`` from public sources; the
default is :data:`SHIPPED`); a department can point ``--data DIR`` at its own package with the
same schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .grades import (
    ACSES_GRADES,
    CSPS_GRADE_BANDS,
    GRADES,
    PROFESSIONS,
    ROLES,
    SCS_GRADES,
    SEB_CLASSES,
)
from .keep import Kept, kept_for

SHIPPED_ROOT = Path(__file__).resolve().parent.parent / "geodata"
"""Folder of the shipped packages, one sub-folder per census year."""
SHIPPED_YEARS: tuple[int, ...] = (2021, 2022, 2023)
"""Census years (31 March) with a shipped package."""
SHIPPED = SHIPPED_ROOT / "2023"
"""The default data package: the Civil Service at 31 March 2023."""


def shipped_package(year: int = 2023) -> Path:
    """Folder of the shipped data package of a census year.

    Parameters
    ----------
    year : int
        One of :data:`SHIPPED_YEARS` (the package describes 31 March of that year).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        If no package is shipped for ``year``.
    """
    if year not in SHIPPED_YEARS:
        raise DataError(str(SHIPPED_ROOT / str(year)), None, f"no shipped data package for "
                        f"{year} (shipped: {', '.join(map(str, SHIPPED_YEARS))})")
    return SHIPPED_ROOT / str(year)


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
"""Required files of a data package and their required columns (``docs/architecture.md``)."""

OPTIONAL: dict[str, tuple[str, ...]] = {
    "checks.csv": ("measure", "grade", "region", "value"),
    "flows_by_grade.csv": ("grade", "in_post", "leavers_cs", "leavers_dept", "entrants"),
    "seb_trend.csv": ("survey_year", "dimension", "group", "high", "intermediate", "low"),
    "departments.csv": ("code", "name"),
    "department_posts.csv": ("lad_code", "grade", "profession", "role", "department", "posts"),
}
"""Files a package may have: the first three every shipped package has and a department's
own package may leave out; ``departments.csv`` is required once ``baseline_posts.csv`` has a
``department`` column; ``department_posts.csv`` is a department's own table that replaces its
rows of the baseline (see :func:`load_data_package`)."""

KEYS: dict[str, tuple[str, ...]] = {
    "districts.parquet": ("lad_code",), "social_mobility.csv": ("lad_code",),
    "opportunity_areas.csv": ("lad_code",), "labour_market.csv": ("lad_code",),
    "sites.csv": ("site_id",), "baseline_posts.csv": ("lad_code", "grade", "profession", "role"),
    "seb_by_grade_place.csv": ("grade", "place", "profession"),
    "checks.csv": ("measure", "grade", "region"), "flows_by_grade.csv": ("grade",),
    "seb_trend.csv": ("survey_year", "dimension", "group"), "departments.csv": ("code",),
    "department_posts.csv": ("lad_code", "grade", "profession", "role", "department"),
}
"""Columns that identify a row: no two rows of a file may share them."""

OPTIONAL_KEY_COLUMNS: dict[str, tuple[str, ...]] = {"baseline_posts.csv": ("department",),
                                                    "checks.csv": ("department",)}
"""Columns that join the key when a file has them (the ``department`` dimension)."""

UK_BOUNDS = (-9.0, 49.5, 2.5, 61.5)
"""Longitude/latitude box (EPSG:4326) that holds every UK district: Scilly and St Kilda to
Lowestoft and Shetland, with a margin."""

MEASURES = ("headcount", "headcount_london", "london_share", "scs_band", "dept_headcount",
            "dept_london_share")
"""Measures of ``checks.csv`` (see :func:`reproduce_checks`)."""

CHECK_TOLERANCE: dict[str, float] = {
    "headcount_total": 0.01, "grade_share": 0.01, "region_share": 0.005,
    "grade_region_share": 0.015, "london_share": 0.01, "scs_band": 0.01,
    "dept_region": 0.02, "dept_london_share": 0.02,
}
"""How closely the baseline must reproduce each kind of check figure (see
:func:`reproduce_checks`): total UK-based headcount within 1%; each grade's share of staff of
known grade within 1 percentage point (the build spreads the 3-5% of staff of unknown grade
over grades by each area's mix, which moves a grade's share by up to about 0.5 points); each
ITL1 region's share of UK-based staff within 0.5 points; each grade's distribution over ITL1
regions within 1.5 points (small cells are rounded to 5, and unknown-grade and unknown-region
staff are spread by the build); London share by grade within 1 point; SCS pay bands within 1%
or 5 posts; a department's headcount in an ITL1 region within 2% or one post (published
cells are rounded to 5, to 10 in 2021); a department's London share of UK-based SCS within 2
points (issue 17). The shipped packages' largest errors (2021/2022/2023): grade share
0.43/0.42/0.44 points, region 0.01, grade by region 0.49/0.71/0.86, London share
0.41/0.45/0.55, department by region 2.5% (one post of 40)/1.4%/1.5%, department SCS London
share -/0.8/1.1 points."""

CHECK_MIN_POSTS: dict[str, float] = {"scs_band": 5.0, "dept_region": 1.0}
"""Smallest tolerance, in posts, of the check kinds compared in posts."""

_LEGACY_CHECKS = "acses_2023_checks.csv"  # the single-year layout before checks.csv

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
CHECK_GRADES: dict[str, tuple[str, ...]] = {
    **{g: (g,) for g in ACSES_GRADES if g != "SCS"}, "SCS": SCS_GRADES,
    **CSPS_GRADE_BANDS, "SEO/HEO": ("HEO", "SEO"), "G6/G7": ("G7", "G6"),
    **{g: (g,) for g in SCS_GRADES},
}
"""Grade labels of ``checks.csv`` -> the model grades they add up: ACSES grades, the grouped
grades of ACSES 2021 as published (``AA/AO``, ``SEO/HEO``, ``G6/G7``) or as People Survey
bands, and SCS pay bands (``scs_band``). ``Unknown`` (staff of unknown grade) is published
but has no model counterpart."""


@dataclass(frozen=True)
class Limits:
    """Plausibility bounds a package must respect (configurable).

    Attributes
    ----------
    max_total_posts : int
        Most baseline posts in all (2,000,000; the Civil Service has never passed 751,000, its
        1976 peak, so this leaves room for any scenario's starting point).
    max_cell_posts : int
        Most posts in one row of ``baseline_posts.csv`` (100,000: London, the largest ITL1
        region, had 103,735 civil servants in 2023, spread over 33 districts and 44 cells each).
    max_rows : int
        Most rows of any table with no bounded key space (sites, checks, SEB trend).
    max_districts : int
        Most districts (the UK has 361 LADs in 2023; 1,000 allows any older or finer set).
    """

    max_total_posts: int = 2_000_000
    max_cell_posts: int = 100_000
    max_rows: int = 100_000
    max_districts: int = 1_000


@dataclass(frozen=True)
class DataPackage:
    """A validated data package (see ``docs/architecture.md`` for the schema).

    Attributes
    ----------
    path : pathlib.Path
        The package folder.
    districts : geopandas.GeoDataFrame
        The LADs (361 of 2023 in the shipped packages, EPSG:4326), sorted by ``lad_code``.
    social_mobility, opportunity_areas, labour_market, sites, baseline_posts,
    seb_by_grade_place, checks : pandas.DataFrame
        The other files of the package (``checks`` is empty if the package has none).
    vintage : str
        Data vintage text (``package.json``, else a ``VINTAGE`` file, else the folder name).
    year : int or None
        Census year (the package describes 31 March of it), from ``package.json``.
    census_date : str or None
        ISO date of the census (``package.json``).
    flows_by_grade, seb_trend : pandas.DataFrame
        In post and flows by ACSES grade in the year to the census date, and the People
        Survey SEB time series (empty if the package has none).
    manifest : dict
        ``package.json`` (empty if the package has none).
    departments : pandas.DataFrame
        ``departments.csv``: ``code``, ``name``, ``aliases`` and the rest (empty if the
        package has no department dimension; ``baseline_posts`` then has no ``department``
        column).
    check_report : pandas.DataFrame
        Every check figure compared (:func:`reproduce_checks`).
    notes : tuple of str
        What loading noticed but accepted: encodings other than UTF-8, files edited since the
        build, check figures outside tolerance under ``allow_check_mismatch``.
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
    year: int | None = None
    census_date: str | None = None
    flows_by_grade: pd.DataFrame = field(default_factory=pd.DataFrame)
    seb_trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    manifest: dict = field(default_factory=dict)
    check_report: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()
    departments: pd.DataFrame = field(default_factory=pd.DataFrame)


def _fail(f: Path, column: str | None, row: int | None, what: str, rule: str) -> DataError:
    """A DataError naming file, column, row (as in the file, header = row 1) and rule."""
    where = f"row {row}: " if row is not None else ""
    return DataError(str(f), column, f"{where}{what} [rule: {rule}]")


def _first_bad(mask) -> int:
    """Position of the first True in ``mask``."""
    return int(np.flatnonzero(np.asarray(mask))[0])


class _Reader:
    """Reads the files of one package, remembering encodings and checking row counts."""

    def __init__(self, path: Path, limits: Limits):
        self.path, self.limits = path, limits
        self.notes: list[str] = []
        self.counts: dict[str, int] = {}
        self.manifest = self._manifest()

    def _manifest(self) -> dict:
        f = self.path / "package.json"
        if not f.is_file():
            return {}
        try:
            doc = json.loads(f.read_text(encoding="utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            line = getattr(e, "lineno", None)
            raise _fail(f, None, line, f"not valid JSON ({type(e).__name__})",
                        "readable") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("files", {}), dict):
            raise _fail(f, "files", None, "expected an object with a 'files' object", "readable")
        return doc

    def csv(self, name: str, max_rows) -> pd.DataFrame:
        """Read a CSV as text (UTF-8 with or without BOM, else cp1252), at most ``max_rows``
        data rows (an int, or a function of the header's columns): a longer file is then
        reported by the unique-key rule without reading it all."""
        f = self.path / name
        if not f.is_file():
            raise _fail(f, None, None, "missing file", "required file")
        df = None
        for enc in ("utf-8-sig", "cp1252"):
            try:
                cap = max_rows
                if callable(max_rows):
                    cap = max_rows(pd.read_csv(f, nrows=0, encoding=enc).columns)
                df = _read_until_duplicate(f, name, enc, cap + 1)
                break
            except UnicodeDecodeError:
                continue
            except pd.errors.EmptyDataError:
                raise _fail(f, None, None, "empty file (no header)", "non-empty") from None
            except Exception as e:  # noqa: BLE001 - any parser failure is a data problem
                raise _fail(f, None, None, f"cannot read as CSV ({type(e).__name__})",
                            "readable") from None
        if df is None:
            raise _fail(f, None, None, "neither UTF-8 nor cp1252 text", "readable")
        if enc == "cp1252":
            self.notes.append(f"{name}: read as cp1252 (Windows/Excel), not UTF-8")
        df.columns = [str(c).strip() for c in df.columns]
        self._columns(f, name, df)
        if df.empty:
            raise _fail(f, None, 2, "no data rows, only a header", "non-empty")
        self.counts[name] = len(df)
        return df

    def parquet(self, name: str):
        import geopandas as gpd
        import pyarrow.parquet as pq

        f = self.path / name
        if not f.is_file():
            raise _fail(f, None, None, "missing file", "required file")
        try:
            n = pq.ParquetFile(f).metadata.num_rows
            if n > self.limits.max_districts:
                raise _fail(f, None, None, f"{n:,} rows, more than the "
                            f"{self.limits.max_districts:,} districts allowed", "plausible size")
            df = gpd.read_parquet(f)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001
            raise _fail(f, None, None, f"cannot read as GeoParquet ({type(e).__name__}: {e})",
                        "readable") from None
        self._columns(f, name, df)
        if df.empty:
            raise _fail(f, None, None, "no rows", "non-empty")
        self.counts[name] = len(df)
        return df

    @staticmethod
    def _columns(f: Path, name: str, df) -> None:
        need = REQUIRED.get(name) or OPTIONAL[name]
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise _fail(f, missing[0], None, "missing column", "required column")

    def verify_counts(self) -> None:
        """Compare each file read with ``package.json``: a file cut at a line boundary has
        fewer rows. Runs after the content rules, which name a duplicate or a missing row more
        precisely."""
        for name, rows in self.counts.items():
            self._count(self.path / name, name, rows)

    def _count(self, f: Path, name: str, rows: int) -> None:
        entry = self.manifest.get("files", {}).get(name)
        if not isinstance(entry, dict) or "rows" not in entry:
            return
        want = entry["rows"]
        if rows != want:
            cut = rows < want
            raise _fail(f, None, rows + (2 if cut else 1), (
                f"{rows:,} data rows but package.json records {want:,}: the file "
                + ("ends early (truncated?)" if cut else "has rows added")
                + "; if you changed it on purpose, update or delete its entry in package.json"),
                "row count (package.json)")
        if entry.get("sha256") and entry["sha256"] != file_sha256(f):
            self.notes.append(f"{name}: edited since the package was built (same row count)")


def file_sha256(f: Path) -> str:
    """Hex SHA-256 of a file's bytes (``package.json`` records one per data file)."""
    h = hashlib.sha256()
    with open(f, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


CHUNK_ROWS = 100_000
"""Rows read at a time: a file is read in chunks so that a huge file of repeated rows is
stopped at its first duplicate key (then reported by :func:`_unique`) instead of held whole."""


def _read_until_duplicate(f: Path, name: str, encoding: str, nrows: int) -> pd.DataFrame:
    """Up to ``nrows`` rows of a CSV as text, stopping after the chunk where a key first
    repeats (a file whose key space is large, such as posts by department, may otherwise be
    millions of rows of copies)."""
    chunks, seen = [], []
    with pd.read_csv(f, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding,
                     nrows=nrows, skipinitialspace=True, chunksize=CHUNK_ROWS) as reader:
        for chunk in reader:
            chunks.append(chunk)
            key = [c for c in (*KEYS.get(name, ()), *OPTIONAL_KEY_COLUMNS.get(name, ()))
                   if c in chunk.columns]
            if not key:
                continue
            seen.append(pd.util.hash_pandas_object(
                chunk[key].fillna("").apply(lambda c: c.str.strip()), index=False).to_numpy())
            if len(chunk) == CHUNK_ROWS:  # more may follow: stop at a repeat
                if pd.Index(np.concatenate(seen)).has_duplicates:
                    break
    if not chunks:  # pandas yields no chunk for a header-only file
        return pd.read_csv(f, dtype=str, encoding=encoding, nrows=0)
    return pd.concat(chunks, ignore_index=True)


def site_key(name):
    """A site id as the package keeps it: lower case, no surrounding spaces (sites.csv's
    ids are lowered on loading, and a scenario's or plan's references the same way, so a
    site may be named in any case); not text, as given (for the caller to refuse).

    >>> site_key(" Leeds ")
    'leeds'
    """
    return name.strip().lower() if isinstance(name, str) else name


def place_key(name):
    """A plan's place, a site id or a district code, as the package keeps it: a district
    code (a letter and eight digits) upper case, anything else as a site id
    (:func:`site_key`); not text, as given.

    >>> place_key("Darlington"), place_key("e06000005")
    ('darlington', 'E06000005')
    """
    code = name.strip() if isinstance(name, str) else ""
    if len(code) == 9 and code[0].isalpha() and code[1:].isdigit():
        return code.upper()
    return site_key(name)


def _unique(df: pd.DataFrame, f: Path, name: str, first_row: int = 2) -> None:
    """No two rows share the file's key; a duplicate names both rows."""
    key = [*KEYS[name], *[c for c in OPTIONAL_KEY_COLUMNS.get(name, ()) if c in df.columns]]
    k = df[key].fillna("").astype(str).apply(lambda c: c.str.strip())
    dup = k.duplicated(keep=False)
    if dup.any():
        second = _first_bad(k.duplicated(keep="first"))
        first = _first_bad(dup & (k == k.iloc[second]).all(axis=1))
        value = ", ".join(f"{c}={k[c].iloc[second]!r}" for c in key)
        raise _fail(f, key[0], second + first_row, f"duplicate key ({value}), same as row "
                    f"{first + first_row}", "unique key")


def _codes(df: pd.DataFrame, f: Path, column: str, known: set, what: str,
           allow_blank: bool = False, first_row: int = 2) -> None:
    """Every value of ``column`` must be in ``known``; rows are numbered as in the file."""
    v = df[column]
    bad = ~v.isin(known)
    if allow_blank:
        bad &= v.notna()
    if bad.any():
        i = _first_bad(bad)
        hint = " (not in districts.parquet)" if what == "district code" else ""
        raise _fail(f, column, i + first_row, f"unknown {what} {v.iloc[i]!r}{hint}",
                    "known code")


def _numeric(df: pd.DataFrame, f: Path, column: str, *, allow_blank: bool = False,
             minimum: float | None = None, maximum: float | None = None,
             integer: bool = False, rule: str = "range", first_row: int = 2) -> pd.Series:
    """``column`` as finite numbers; DataError on text, blanks, infinities or out-of-range.

    Rows are reported as ``first_row`` + position (2 for a CSV with a header line)."""
    raw = df[column]
    v = pd.to_numeric(raw, errors="coerce")
    text = v.isna() & raw.notna()
    if text.any():
        i = _first_bad(text)
        raise _fail(f, column, i + first_row, f"not a number: {raw.iloc[i]!r}", "number")
    if not allow_blank and v.isna().any():
        raise _fail(f, column, _first_bad(v.isna()) + first_row, "blank value", "number")
    inf = np.isinf(v.to_numpy(float, na_value=0.0))
    if inf.any():
        i = _first_bad(inf)
        raise _fail(f, column, i + first_row, f"not finite: {raw.iloc[i]!r}", "finite")
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
            raise _fail(f, column, i + first_row, f"{what}: {raw.iloc[i]!r}", rule)
    return v


def _shares(df: pd.DataFrame, f: Path, cols: list[str]) -> None:
    """Share columns must lie in [0, 1] and sum to 1 (within 1e-6) on every row."""
    for c in cols:
        df[c] = _numeric(df, f, c, minimum=0.0, maximum=1.0)
    tot = df[cols].sum(axis=1)
    bad = (tot - 1).abs() > 1e-6
    if bad.any():
        i = _first_bad(bad)
        raise _fail(f, cols[0], i + 2, f"shares {', '.join(cols)} sum to {tot.iloc[i]:.6f}, "
                    "not 1", "shares sum to 1")


def _bool(df: pd.DataFrame, f: Path, column: str, first_row: int = 2) -> pd.Series:
    """Parse a True/False column (bool, or text true/false/1/0/yes/no)."""
    if df[column].dtype == bool:
        return df[column]
    m = df[column].astype(str).str.strip().str.lower().map(
        {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False})
    if m.isna().any():
        i = _first_bad(m.isna())
        raise _fail(f, column, i + first_row, f"not True/False: {df[column].iloc[i]!r}",
                    "boolean")
    return m.astype(bool)


def _in_uk(lon: pd.Series, lat: pd.Series, f: Path, columns: tuple[str, str], what: str,
           row_offset: int = 2) -> None:
    """Longitudes and latitudes must fall inside :data:`UK_BOUNDS`."""
    x0, y0, x1, y1 = UK_BOUNDS
    for col, v, lo, hi in ((columns[0], lon, x0, x1), (columns[1], lat, y0, y1)):
        bad = (v < lo) | (v > hi)
        if bad.any():
            i = _first_bad(bad)
            hint = (" (metres labelled as degrees?)" if abs(float(v.iloc[i])) > 180 else "")
            raise _fail(f, col, i + row_offset, f"{what} {float(v.iloc[i]):g} is outside the "
                        f"UK ({lo:g} to {hi:g} degrees in EPSG:4326){hint}", "UK bounds")


def _validate_districts(d, f: Path, notes: list[str]):
    """Check the districts GeoDataFrame and return it sorted by code, CRS EPSG:4326."""
    _unique(d, f, "districts.parquet", first_row=1)
    if d["lad_code"].isna().any():
        raise _fail(f, "lad_code", _first_bad(d["lad_code"].isna()) + 1, "blank district code",
                    "known code")
    if d.crs is None:
        notes.append(f"{f.name}: no CRS recorded; taken as EPSG:4326 (degrees)")
        d = d.set_crs(4326)
    elif d.crs.to_epsg() != 4326:
        try:
            d = d.to_crs(4326)
        except Exception as e:  # noqa: BLE001
            raise _fail(f, "geometry", None, f"cannot reproject from {d.crs} to EPSG:4326 "
                        f"({type(e).__name__})", "UK bounds") from None
    if d.geometry.isna().any() or d.geometry.is_empty.any():
        i = _first_bad(d.geometry.isna() | d.geometry.is_empty)
        raise _fail(f, "geometry", i + 1, "missing or empty geometry", "non-empty")
    b = d.geometry.bounds
    # rows of a parquet file are numbered from 1 (no header line)
    _in_uk(b["minx"], b["miny"], f, ("geometry", "geometry"), "coordinate", row_offset=1)
    _in_uk(b["maxx"], b["maxy"], f, ("geometry", "geometry"), "coordinate", row_offset=1)
    _codes(d, f, "country", set(COUNTRIES), "country", first_row=1)
    d["is_london"] = _bool(d, f, "is_london", first_row=1)
    for c in ("centroid_lon", "centroid_lat"):
        d[c] = _numeric(d, f, c, first_row=1)
    _in_uk(d["centroid_lon"], d["centroid_lat"], f, ("centroid_lon", "centroid_lat"),
           "centroid", row_offset=1)
    return d.sort_values("lad_code").reset_index(drop=True)


def _region_is_itl1(region: pd.Series) -> pd.Series:
    return region.str.fullmatch(r"TL[C-N]").fillna(False).astype(bool)


def reproduce_checks(posts: pd.DataFrame, districts, checks: pd.DataFrame,
                     tolerance: dict[str, float] | None = None) -> pd.DataFrame:
    """Compare posts with published check figures, as the loader does with the baseline.

    Parameters
    ----------
    posts : pandas.DataFrame
        Columns ``lad_code``, ``grade`` (model grades AA … PS) and ``posts`` (any other
        columns are summed over), e.g. a package's baseline or a simulated year.
    districts : pandas.DataFrame
        With ``lad_code``, ``itl1_code`` and ``is_london``.
    checks : pandas.DataFrame
        ``checks.csv``: ``measure``, ``grade``, ``region``, ``value`` (and ``row``, its line).
    tolerance : dict, optional
        Overrides of :data:`CHECK_TOLERANCE`.

    Returns
    -------
    pandas.DataFrame
        One row per figure compared: ``row``, ``measure``, ``grade``, ``region``, ``kind``,
        ``published`` and ``model`` (on the same basis), ``error``, ``tolerance``, ``unit``
        (``share``: error in proportion points; ``relative``; ``posts``) and ``ok``. The bases:
        ``headcount`` total vs published total less the Overseas row (the model has no overseas
        posts); a grade's share of staff of known grade; an ITL1 region's share of UK-based
        staff; a grade's share in each ITL1 region; ``london_share`` as published (London /
        UK-based); ``scs_band`` posts; ``dept_headcount`` a department's posts in an ITL1
        region; ``dept_london_share`` a department's London share of its (UK-based) SCS.
        Unknown grade, Overseas and Unknown region rows and ``headcount_london`` are
        published context and not compared; department rows are compared only when
        ``posts`` has a ``department`` column.
    """
    tol = {**CHECK_TOLERANCE, **(tolerance or {})}
    dd = districts.set_index("lad_code")
    b = posts.groupby(["lad_code", "grade"], as_index=False)["posts"].sum()
    b["itl1"] = b["lad_code"].map(dd["itl1_code"])
    b["london"] = b["lad_code"].map(dd["is_london"]).fillna(False).astype(bool)
    total = float(b["posts"].sum())
    by_grade = b.groupby("grade")["posts"].sum().to_dict()
    by_grade_itl1 = b.groupby(["grade", "itl1"])["posts"].sum().to_dict()
    by_grade_london = b[b["london"]].groupby("grade")["posts"].sum().to_dict()
    by_itl1 = b.groupby("itl1")["posts"].sum().to_dict()

    def posts_of(label: str, table: dict, *key) -> float:
        return float(sum(table.get((g, *key) if key else g, 0) for g in CHECK_GRADES[label]))

    c = checks.copy()
    if "row" not in c.columns:
        c["row"] = np.arange(len(c)) + 2
    if "department" not in c.columns:
        c["department"] = ""
    for col in ("department", "grade", "region"):
        c[col] = c[col].fillna("").astype(str)
    by_dept_itl1, scs_all, scs_london = {}, {}, {}
    if "department" in posts.columns:
        pd_ = posts.assign(itl1=posts["lad_code"].map(dd["itl1_code"]),
                           london=posts["lad_code"].map(dd["is_london"]).fillna(False))
        by_dept_itl1 = pd_.groupby(["department", "itl1"])["posts"].sum().to_dict()
        scs = pd_[pd_["grade"].isin(SCS_GRADES)]
        scs_all = scs.groupby("department")["posts"].sum().to_dict()
        scs_london = scs[scs["london"].astype(bool)].groupby("department")["posts"].sum().to_dict()
    else:
        c = c[c["department"] == ""]
    head = c[c["measure"] == "headcount"]
    itl1 = _region_is_itl1(head["region"])
    overseas = head.loc[(head["grade"] == "") & (head["region"] == "Overseas"), "value"].sum()
    known = head.loc[(head["region"] == "") & head["grade"].isin(CHECK_GRADES), "value"].sum()
    uk = head.loc[(head["grade"] == "") & itl1, "value"].sum()
    grade_uk = head[(head["grade"] != "") & itl1].groupby("grade")["value"].sum()
    rows = []
    for r in c.itertuples(index=False):
        g, reg = r.grade, r.region
        is_itl1 = re.fullmatch(r"TL[C-N]", reg) is not None
        if r.measure == "headcount" and g == "" and reg == "":
            pub = float(r.value) - overseas
            rows.append((r, "headcount_total", pub, total, total / pub - 1, "relative"))
        elif r.measure == "headcount" and reg == "" and g in CHECK_GRADES and known:
            model = posts_of(g, by_grade) / total
            rows.append((r, "grade_share", r.value / known, model, None, "share"))
        elif r.measure == "headcount" and g == "" and is_itl1:
            model = by_itl1.get(reg, 0) / total
            rows.append((r, "region_share", r.value / uk, model, None, "share"))
        elif r.measure == "headcount" and g in CHECK_GRADES and is_itl1 and grade_uk.get(g, 0):
            den = posts_of(g, by_grade)
            model = posts_of(g, by_grade_itl1, reg) / den if den else np.nan
            rows.append((r, "grade_region_share", r.value / grade_uk[g], model, None, "share"))
        elif r.measure == "london_share" and reg == "" and (g == "" or g in CHECK_GRADES):
            den = posts_of(g, by_grade) if g else total
            lon = posts_of(g, by_grade_london) if g else sum(by_grade_london.values())
            rows.append((r, "london_share", float(r.value), lon / den if den else np.nan, None,
                         "share"))
        elif r.measure == "scs_band" and g in SCS_GRADES:
            model = float(by_grade.get(g, 0))
            rows.append((r, "scs_band", float(r.value), model, model - r.value, "posts"))
        elif r.measure == "dept_headcount" and is_itl1:
            model = float(by_dept_itl1.get((r.department, reg), 0))
            rows.append((r, "dept_region", float(r.value), model, model - r.value, "posts"))
        elif r.measure == "dept_london_share" and g == "SCS" and reg == "":
            den = scs_all.get(r.department, 0)
            model = scs_london.get(r.department, 0) / den if den else np.nan
            rows.append((r, "dept_london_share", float(r.value), model, None, "share"))
    out = []
    for r, kind, pub, model, err, unit in rows:
        err = (model - pub) if err is None else err
        t = tol[kind]
        limit = max(CHECK_MIN_POSTS[kind], t * pub) if unit == "posts" else t
        ok = bool(np.isfinite(err) and abs(err) <= limit + 1e-12)
        out.append((r.row, r.measure, r.department, r.grade, r.region, kind, pub, model, err,
                    limit, unit, ok))
    return pd.DataFrame(out, columns=["row", "measure", "department", "grade", "region", "kind",
                                      "published", "model", "error", "tolerance", "unit", "ok"])


def _describe_check(r) -> str:
    what = {"headcount_total": "UK-based headcount", "grade_share": "share of staff",
            "region_share": "share of UK-based staff", "grade_region_share": "share of the grade",
            "london_share": "London share", "scs_band": "posts", "dept_region": "posts",
            "dept_london_share": "London share of UK-based SCS"}[r.kind]
    who = " ".join(x for x in (getattr(r, "department", ""), r.grade, r.region) if x) or "all"
    if r.unit == "share":
        nums = (f"model {r.model:.1%} vs published {r.published:.1%} "
                f"({r.error * 100:+.2f} points; tolerance {r.tolerance * 100:.2f})")
    elif r.unit == "relative":
        nums = (f"model {r.model:,.0f} vs published {r.published:,.0f} "
                f"({r.error:+.2%}; tolerance {r.tolerance:.2%})")
    else:
        nums = (f"model {r.model:,.0f} vs published {r.published:,.0f} "
                f"({r.error:+,.0f}; tolerance {r.tolerance:,.0f})")
    return f"{r.measure} {who}: {what}: {nums}"


def _read_checks(r: _Reader, p: Path, depts: pd.DataFrame | None = None) -> pd.DataFrame:
    empty = pd.DataFrame({"measure": pd.Series(dtype=str), "department": pd.Series(dtype=str),
                          "grade": pd.Series(dtype=str), "region": pd.Series(dtype=str),
                          "value": pd.Series(dtype=float)})
    if (p / "checks.csv").is_file() or "checks.csv" in r.manifest.get("files", {}):
        name = "checks.csv"
        checks = r.csv(name, r.limits.max_rows)
    elif (p / _LEGACY_CHECKS).is_file():  # single-year layout: measure, grade, value
        name = _LEGACY_CHECKS
        checks = pd.read_csv(p / name, dtype=str, keep_default_na=False, na_values=[""])
        if checks.empty:
            raise _fail(p / name, None, 2, "no data rows, only a header", "non-empty")
        checks["measure"] = checks["measure"].replace({"headcount_total": "headcount",
                                                       "grade_total": "headcount"})
        checks["region"] = ""
    else:
        return empty
    f = p / name
    checks["row"] = np.arange(len(checks)) + 2
    if "department" not in checks.columns:
        checks["department"] = ""
    checks[["department", "grade", "region"]] = checks[["department", "grade",
                                                        "region"]].fillna("")
    _unique(checks, f, "checks.csv")
    _codes(checks, f, "measure", set(MEASURES), "measure")
    _codes(checks, f, "grade", {"", "Unknown", *CHECK_GRADES}, "grade")
    is_dept = checks["measure"].str.startswith("dept_")
    blank = is_dept & (checks["department"] == "")
    if blank.any():
        raise _fail(f, "department", _first_bad(blank) + 2, "a department measure with no "
                    "department", "known code")
    if depts is not None and is_dept.any():
        _department_codes(checks[is_dept], f, depts)
    checks["value"] = _numeric(checks, f, "value", minimum=0)
    return checks


def _read_optional(r: _Reader, p: Path, name: str, max_rows: int) -> pd.DataFrame | None:
    if (p / name).is_file() or name in r.manifest.get("files", {}):
        df = r.csv(name, max_rows)
        _unique(df, p / name, name)
        return df
    return None


def load_data_package(path: str | Path | None = None, *, allow_check_mismatch: bool = False,
                      limits: Limits | None = None) -> DataPackage:
    """Load a data package and validate it as a whole.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        The package folder; ``None`` (default) is :data:`SHIPPED` (31 March 2023).
    allow_check_mismatch : bool
        Accept a baseline that does not reproduce the package's check figures (a department's
        partial package); the mismatches are kept in ``check_report`` and ``notes``.
    limits : Limits, optional
        Plausibility bounds (default :class:`Limits`).

    Returns
    -------
    DataPackage
        Validated frames; ``districts`` is a GeoDataFrame in EPSG:4326.

    Raises
    ------
    DataError
        On the first problem, naming the file, column, row (numbered as in the file with the
        header as row 1) and the rule broken.

    Examples
    --------
    >>> pkg = load_data_package()            # doctest: +SKIP
    >>> pkg.year, len(pkg.districts)         # doctest: +SKIP
    (2023, 361)
    """
    p = Path(path) if path is not None else SHIPPED
    if not p.is_dir():
        raise DataError(str(p), None, "no such data package folder")
    lim = limits or Limits()
    r = _Reader(p, lim)
    for name in r.manifest.get("files", {}):
        if not (p / name).is_file():
            raise _fail(p / name, None, None, "missing file (package.json lists it)",
                        "required file")
    d = _validate_districts(r.parquet("districts.parquet"), p / "districts.parquet", r.notes)
    codes = set(d["lad_code"])
    n = len(codes)

    f = p / "social_mobility.csv"
    sm = r.csv("social_mobility.csv", n)
    _unique(sm, f, "social_mobility.csv")
    _codes(sm, f, "lad_code", codes, "district code")
    _complete(sm, f, codes)
    for i in range(1, 5):
        sm[f"ci{i}_zscore"] = _numeric(sm, f, f"ci{i}_zscore", allow_blank=True)
        sm[f"ci{i}_rank"] = _numeric(sm, f, f"ci{i}_rank", allow_blank=True, minimum=1,
                                     maximum=7, integer=True).astype("Int64")
        cat = sm[f"ci{i}_category"].str.lower()
        _codes(cat.to_frame(), f, f"ci{i}_category", set(SMC_CATEGORIES), "category",
               allow_blank=True)

    f = p / "opportunity_areas.csv"
    oa = r.csv("opportunity_areas.csv", n)
    _unique(oa, f, "opportunity_areas.csv")
    _codes(oa, f, "lad_code", codes, "district code")

    f = p / "labour_market.csv"
    lm = r.csv("labour_market.csv", n)
    _unique(lm, f, "labour_market.csv")
    _codes(lm, f, "lad_code", codes, "district code")
    _shares(lm, f, list(SEB_CLASSES))
    _complete(lm, f, codes)

    f = p / "sites.csv"
    sites = r.csv("sites.csv", lim.max_rows)
    # ids are lower case, so a scenario may name a site in any case (its references are
    # lowered too: placesim.scenario.SiteId); two ids alike but for case are duplicates
    sites["site_id"] = sites["site_id"].map(site_key)
    _unique(sites, f, "sites.csv")
    if sites["site_id"].isna().any():
        raise _fail(f, "site_id", _first_bad(sites["site_id"].isna()) + 2, "blank site id",
                    "unique key")
    _codes(sites, f, "lad_code", codes, "district code")
    sites["lon"] = _numeric(sites, f, "lon")
    sites["lat"] = _numeric(sites, f, "lat")
    _in_uk(sites["lon"], sites["lat"], f, ("lon", "lat"), "site")
    sites["capacity"] = _numeric(sites, f, "capacity", allow_blank=True, minimum=0,
                                 maximum=lim.max_total_posts, integer=True).astype("Int64")
    sites["confirmed"] = _bool(sites, f, "confirmed")
    for c in ("theme", "kind", "evidence"):
        sites[c] = sites[c].fillna("").astype(str)

    depts = _read_departments(r, p, lim)
    keyspace = n * len(GRADES) * len(PROFESSIONS) * len(ROLES)  # most distinct keys
    n_dept = len(depts) if depts is not None else 1
    b = _read_posts(r, p, "baseline_posts.csv", codes, depts,
                    lambda cols: keyspace * (n_dept if "department" in cols else 1))
    replaced: set[str] = set()
    if (p / "department_posts.csv").is_file():
        b, replaced = _replace_departments(r, p, b, codes, depts, keyspace)
    if b["posts"].sum() > lim.max_total_posts:
        raise _fail(p / "baseline_posts.csv", "posts", None, f"{b['posts'].sum():,} posts in "
                    f"all, more than the {lim.max_total_posts:,} allowed", "plausible size")

    f = p / "seb_by_grade_place.csv"
    seb = r.csv("seb_by_grade_place.csv", len(GRADES) * 2 * len(PROFESSIONS))
    _unique(seb, f, "seb_by_grade_place.csv")
    _codes(seb, f, "grade", set(GRADES), "grade")
    _codes(seb, f, "place", {"london", "elsewhere"}, "place")
    _codes(seb, f, "profession", set(PROFESSIONS), "profession")
    _shares(seb, f, list(SEB_CLASSES))
    have = set(zip(seb["grade"], seb["place"], seb["profession"], strict=True))
    for g in GRADES:
        for place in ("london", "elsewhere"):
            for prof in PROFESSIONS:
                if (g, place, prof) not in have:
                    raise _fail(f, "grade", None, f"no row for grade {g!r}, place {place!r}, "
                                f"profession {prof!r}", "complete SEB rows")

    checks = _read_checks(r, p, depts)
    flows = _read_optional(r, p, "flows_by_grade.csv", len(ACSES_GRADES) + 1)
    if flows is not None:
        f = p / "flows_by_grade.csv"
        _codes(flows, f, "grade", {*ACSES_GRADES, "Unknown"}, "grade")
        for c in ("in_post", "leavers_cs", "leavers_dept", "entrants"):
            flows[c] = _numeric(flows, f, c, minimum=0, maximum=lim.max_total_posts,
                                integer=True, rule="plausible size").astype(np.int64)
    trend = _read_optional(r, p, "seb_trend.csv", lim.max_rows)
    if trend is not None:
        f = p / "seb_trend.csv"
        trend["survey_year"] = _numeric(trend, f, "survey_year", minimum=1990, maximum=2100,
                                        integer=True).astype(int)
        _shares(trend, f, list(SEB_CLASSES))
        if "respondents" in trend.columns:
            trend["respondents"] = _numeric(trend, f, "respondents", allow_blank=True,
                                            minimum=0, integer=True).astype("Int64")

    r.verify_counts()
    dept_rows = checks["department"] != ""
    if dept_rows.any() and "department" not in b.columns:
        r.notes.append(f"checks.csv: {int(dept_rows.sum())} department figures not compared "
                       "(baseline_posts.csv has no department column)")
    if replaced:
        mine = dept_rows & checks["department"].isin(replaced)
        r.notes.append(f"checks.csv: {int(mine.sum())} published figures of "
                       f"{', '.join(sorted(replaced))} not compared (department_posts.csv "
                       "replaces them)")
        checks = checks[~mine]
    report = reproduce_checks(b, d, checks)
    bad = report[~report["ok"]]
    if len(bad) and not allow_check_mismatch:
        first = bad.iloc[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise _fail(p / ("checks.csv" if (p / "checks.csv").is_file() else _LEGACY_CHECKS),
                    "value", int(first["row"]), _describe_check(first) + more
                    + "; use --allow-check-mismatch for a partial package", "check figures")
    notes = list(r.notes)
    if len(bad):
        notes.append(f"check figures: {len(bad)} of {len(report)} outside tolerance "
                     "(accepted: --allow-check-mismatch)")
    meta = r.manifest
    vfile = p / "VINTAGE"
    vintage = (str(meta["vintage"]) if meta.get("vintage") else
               vfile.read_text(encoding="utf-8").strip() if vfile.is_file() else p.name)
    year = meta.get("year")
    return DataPackage(
        p, d, sm, oa, lm, sites, b, seb, checks, vintage,
        year=int(year) if isinstance(year, int) else None,
        census_date=str(meta["census_date"]) if meta.get("census_date") else None,
        flows_by_grade=flows if flows is not None else pd.DataFrame(),
        seb_trend=trend if trend is not None else pd.DataFrame(),
        manifest=meta, check_report=report, notes=tuple(notes),
        departments=depts if depts is not None else pd.DataFrame(columns=["code", "name",
                                                                          "aliases"]))


def _read_departments(r: _Reader, p: Path, lim: Limits) -> pd.DataFrame | None:
    """``departments.csv`` if the package has one: codes unique and non-blank, names given,
    no alias that is another department's code or alias."""
    name = "departments.csv"
    if not ((p / name).is_file() or name in r.manifest.get("files", {})):
        return None
    f = p / name
    dep = r.csv(name, lim.max_rows)
    for c in ("code", "name"):
        if dep[c].isna().any():
            raise _fail(f, c, _first_bad(dep[c].isna()) + 2, f"blank {c}", "known code")
    dep["code"] = dep["code"].str.strip()
    _unique(dep, f, name)
    dep["aliases"] = dep["aliases"].fillna("") if "aliases" in dep.columns else ""
    for c in ("overseas", "unknown_region"):
        if c in dep.columns:
            dep[c] = _numeric(dep, f, c, allow_blank=True, minimum=0, integer=True).astype(
                "Int64")
    seen = {c.casefold(): c for c in dep["code"]}
    for i, (code, aliases) in enumerate(zip(dep["code"], dep["aliases"], strict=True)):
        for a in _split_aliases(aliases):
            other = seen.setdefault(a.casefold(), code)
            if other != code:
                raise _fail(f, "aliases", i + 2, f"alias {a!r} of {code} already names "
                            f"{other}", "unique key")
    return dep


def _split_aliases(text: str) -> list[str]:
    return [a.strip() for a in str(text).split(";") if a.strip()]


def resolve_department(value: str, departments: pd.DataFrame) -> str | None:
    """The code of a department given by its code, name or an alias (case-insensitive).

    Parameters
    ----------
    value : str
        What the user wrote, e.g. ``"HO"``, ``"hmrc"``, ``"DLUHC"`` or ``"Home Office"``.
    departments : pandas.DataFrame
        A package's ``departments`` (``code``, ``name``, ``aliases``).

    Returns
    -------
    str or None
        The code, or None if nothing matches (see :func:`nearest_departments`).
    """
    key = str(value).strip().casefold()
    aliases_of = departments.get("aliases", pd.Series("", index=departments.index))
    for code, name, aliases in zip(departments["code"], departments["name"], aliases_of,
                                   strict=True):
        if key in {code.casefold(), str(name).casefold(),
                   *(a.casefold() for a in _split_aliases(aliases))}:
            return code
    return None


def nearest_departments(value: str, departments: pd.DataFrame, n: int = 3) -> list[str]:
    """The ``n`` department codes whose code, name or alias is closest in spelling to
    ``value`` (for error messages: "Home Offfice" is near the Home Office's name, not the
    code HO, and was answered with HMRC, OFGEM and OFSTED)."""
    import difflib

    spelt: dict[str, str] = {}  # each way of writing a department -> its code
    aliases_of = departments.get("aliases", pd.Series("", index=departments.index))
    for code, name, aliases in zip(departments["code"], departments["name"], aliases_of,
                                   strict=True):
        for way in (code, str(name), *_split_aliases(aliases)):
            spelt.setdefault(way.casefold(), code)
    out: list[str] = []
    for way in difflib.get_close_matches(str(value).strip().casefold(), list(spelt),
                                         n=len(spelt), cutoff=0.0):
        if spelt[way] not in out:
            out.append(spelt[way])
        if len(out) == n:
            break
    return out


def _department_codes(df: pd.DataFrame, f: Path, depts: pd.DataFrame) -> None:
    """Every ``department`` value must be a code of ``departments.csv``; an unknown one is
    named with its row and the nearest valid codes (or the code, if it is an alias)."""
    v = df["department"]
    bad = ~v.isin(set(depts["code"]))
    if bad.any():
        i = _first_bad(bad)
        row = int(df["row"].iloc[i]) if "row" in df.columns else i + 2
        value = v.iloc[i]
        if pd.isna(value):
            raise _fail(f, "department", row, "blank department code", "known code")
        code = resolve_department(value, depts)
        hint = (f"{value!r} is {code}'s name or alias: use the code {code}" if code else
                f"unknown department {value!r} (not in departments.csv; nearest: "
                f"{', '.join(nearest_departments(value, depts))})")
        raise _fail(f, "department", row, hint, "known code")


def _read_posts(r: _Reader, p: Path, name: str, codes: set, depts: pd.DataFrame | None,
                max_rows) -> pd.DataFrame:
    """A table of posts (``baseline_posts.csv`` or ``department_posts.csv``), validated."""
    f = p / name
    b = r.csv(name, max_rows)
    _unique(b, f, name)
    _codes(b, f, "lad_code", codes, "district code")
    _codes(b, f, "grade", set(GRADES), "grade")
    _codes(b, f, "profession", set(PROFESSIONS), "profession")
    _codes(b, f, "role", set(ROLES), "role")
    if "department" in b.columns:
        if depts is None:
            raise _fail(p / "departments.csv", None, None, f"missing file ({name} has a "
                        "department column; departments.csv lists the codes)", "required file")
        b["department"] = b["department"].str.strip()
        _department_codes(b, f, depts)
    b["posts"] = _numeric(b, f, "posts", minimum=0, maximum=r.limits.max_cell_posts,
                          integer=True, rule="plausible size").astype(np.int64)
    return b


def _replace_departments(r: _Reader, p: Path, b: pd.DataFrame, codes: set,
                         depts: pd.DataFrame | None, keyspace: int
                         ) -> tuple[pd.DataFrame, set[str]]:
    """``department_posts.csv``: a department's own table (same columns as the baseline)
    replaces every baseline row of each department it names."""
    f = p / "department_posts.csv"
    if "department" not in b.columns:
        raise _fail(f, None, None, "baseline_posts.csv has no department column, so there is "
                    "no department slice to replace", "required column")
    own = _read_posts(r, p, "department_posts.csv", codes, depts, keyspace)
    replaced = set(own["department"])
    old = b[b["department"].isin(replaced)].groupby("department")["posts"].sum()
    new = own.groupby("department")["posts"].sum()
    for code in sorted(replaced):
        r.notes.append(f"department_posts.csv: {code}'s {int(new[code]):,} posts replace its "
                       f"{int(old.get(code, 0)):,} in baseline_posts.csv")
    cols = list(b.columns)
    out = pd.concat([b[~b["department"].isin(replaced)], own[cols]], ignore_index=True)
    return out, replaced


def _complete(df: pd.DataFrame, f: Path, codes: set) -> None:
    """Every district must have a row."""
    missing = codes - set(df["lad_code"])
    if missing:
        raise _fail(f, "lad_code", None, f"no row for district {sorted(missing)[0]!r}"
                    + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                    "complete")


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
    if rule in ("smc2025", "opportunity_areas"):
        # (these read the package only: worked out once for it, a copy each time; every
        # prepare and every new map asks, and each took about 2 ms)
        return kept_for(_FROM_PACKAGE, (pkg,), (rule, index, tuple(categories)),
                        lambda: _coldspot_flags(pkg, rule, index, categories, None)).copy()
    return _coldspot_flags(pkg, rule, index, categories, csv_path)


_FROM_PACKAGE = Kept(8)
"""Figures that read a data package only, by package (weakly held) and what they are: its
:func:`coldspot_districts` by a rule that reads nothing else, its :func:`devolved_posts`."""


def _coldspot_flags(pkg: DataPackage, rule: str, index: str, categories, csv_path
                    ) -> pd.Series:
    """:func:`coldspot_districts`, worked out."""
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


def _published(pkg: DataPackage, grade: str, region: str) -> float | None:
    c = pkg.checks
    if c.empty:
        return None
    v = c.loc[(c["measure"] == "headcount") & (c["grade"] == grade) & (c["region"] == region),
              "value"]
    return float(v.iloc[0]) if len(v) else None


def _treatment(pkg: DataPackage) -> dict:
    """How the build placed staff the statistics leave without a place or grade."""
    overseas, unknown = _published(pkg, "", "Overseas"), _published(pkg, "Unknown", "")
    n_over = f"The {overseas:,.0f} staff" if overseas is not None else "Staff"
    n_unk = f"The {unknown:,.0f} staff" if unknown is not None else "Staff"
    return {
        "overseas": f"{n_over} based overseas are excluded (they are in no district).",
        "unknown_grade": f"{n_unk} of unknown grade are allocated to grades in proportion to "
                         "the known-grade mix of their own ITL3 area.",
        "unknown_region": "Staff with no recorded UK location are spread over areas in "
                          "proportion to each grade's known distribution.",
    }


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
        Keys ``year`` and ``census_date`` (None if the package does not record them),
        ``districts``, ``districts_by_country``, ``coldspot_districts``, ``coldspot_rule``,
        ``sites``, ``headcount``, ``headcount_by_grade`` (ACSES grades, SCS =
        SCS1+SCS2+SCS3+PS), ``headcount_by_grade_detail`` (11 grades),
        ``london_share_by_grade`` (share of UK-based staff in London), ``data_vintage``,
        ``checks`` (figures compared and how many are outside tolerance), ``notes``,
        ``treatment`` and ``departments`` (:func:`department_summary`; empty without a
        department dimension).
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
    report = pkg.check_report
    return {
        "year": pkg.year,
        "census_date": pkg.census_date,
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
        "checks": {"compared": int(len(report)),
                   "outside_tolerance": int((~report["ok"]).sum()) if len(report) else 0},
        "notes": list(pkg.notes),
        "treatment": _treatment(pkg),
        "departments": department_summary(pkg),
    }


DEVOLVED_ADMINISTRATIONS: tuple[str, ...] = ("SG", "WG")
"""Department codes of the Scottish and Welsh Governments. Their staff are civil servants
counted by ACSES (305 and 190 SCS in 2023, none in London: facts C4) but not part of the UK
Government's Places for Growth programme, whose SCS measure (31.2% outside London at Q4 2023)
is narrower than ACSES's UK-based SCS (37.6%); their two permanent secretaries (Edinburgh,
Cardiff) are not the "permanent secretaries outside London" the Social Mobility Commission
asks for."""


def devolved_posts(pkg: DataPackage, grades: tuple[str, ...]) -> np.ndarray:
    """Posts of the devolved administrations by grade, in the order of ``grades``.

    Parameters
    ----------
    pkg : DataPackage
    grades : tuple of str
        Grade names, the order of the result.

    Returns
    -------
    numpy.ndarray
        (grade,) posts; zeros if the package has no ``department`` column (a department's
        own package), so that every measure then covers all posts.
    """
    def make():
        b = pkg.baseline_posts
        if "department" not in b.columns:
            return {}
        d = b[b["department"].isin(DEVOLVED_ADMINISTRATIONS)].groupby("grade")["posts"].sum()
        return {g: float(v) for g, v in d.items()}

    # (the package's figures are worked out once: about 2 ms a prepare)
    by_grade = kept_for(_FROM_PACKAGE, (pkg,), ("devolved",), make)
    return np.array([by_grade.get(g, 0.0) for g in grades])


def department_summary(pkg: DataPackage) -> list[dict]:
    """Each department's posts in the package (``placesim data --json``, ``departments``).

    Parameters
    ----------
    pkg : DataPackage
        A loaded data package.

    Returns
    -------
    list of dict
        One per row of ``departments.csv``: ``code``, ``name``, ``posts``, ``scs_posts``
        (SCS1 … PS) and ``scs_london_share`` (London share of its UK-based SCS, 4 dp; None
        without SCS). Empty if the baseline has no ``department`` column.
    """
    b = pkg.baseline_posts
    if "department" not in b.columns or pkg.departments.empty:
        return []
    london = set(pkg.districts.loc[pkg.districts["is_london"], "lad_code"])
    posts = b.groupby("department")["posts"].sum()
    scs = b[b["grade"].isin(SCS_GRADES)]
    scs_all = scs.groupby("department")["posts"].sum()
    scs_lon = scs[scs["lad_code"].isin(london)].groupby("department")["posts"].sum()
    out = []
    for code, name in zip(pkg.departments["code"], pkg.departments["name"], strict=True):
        n_scs = int(scs_all.get(code, 0))
        out.append({"code": code, "name": name, "posts": int(posts.get(code, 0)),
                    "scs_posts": n_scs,
                    "scs_london_share": round(float(scs_lon.get(code, 0) / n_scs), 4)
                    if n_scs else None})
    return out


def _date_text(s: dict) -> str:
    if s.get("census_date"):
        y, m, day = str(s["census_date"]).split("-")
        months = ("January February March April May June July August September October "
                  "November December").split()
        return f"{int(day)} {months[int(m) - 1]} {y}"
    return str(s["year"]) if s.get("year") else "date not recorded"


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
        f"  headcount (UK-based, {_date_text(s)}): {s['headcount']:,}",
        "  grade      headcount   London share",
    ]
    for g, n in s["headcount_by_grade"].items():
        share = s["london_share_by_grade"][g]
        lines.append(f"  {g:<8} {n:>11,}   {'' if share is None else f'{share:.1%}'}")
    detail = s.get("headcount_by_grade_detail", {})
    if detail:
        lines.append("  SCS bands: " + ", ".join(f"{g} {detail.get(g, 0):,}"
                                                 for g in SCS_GRADES))
    checks = s.get("checks", {})
    if checks.get("compared"):
        lines.append(f"  check figures: {checks['compared']} compared with published "
                     f"statistics, {checks['outside_tolerance']} outside tolerance")
    lines += [f"  {k.replace('_', ' ')}: {v}" for k, v in s["treatment"].items()]
    depts = s.get("departments", [])
    if depts:
        lines.append(f"  departments: {len(depts)}")
        lines.append("  code         posts    SCS   SCS in London   name")
        for d in depts:
            share = "" if d["scs_london_share"] is None else f"{d['scs_london_share']:.1%}"
            lines.append(f"  {d['code']:<8} {d['posts']:>9,} {d['scs_posts']:>6,}   {share:>13}"
                         f"   {d['name']}")
    lines += [f"  note: {n}" for n in s.get("notes", [])]
    return "\n".join(lines)
