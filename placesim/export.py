"""Briefing outputs: disclosure-controlled tables, spreadsheets, GeoPackage, briefing packs.

Results travel as briefing packs: a box note with a map, a table and a source line. This module
writes them, offline:

* **disclosure control** on every exported table (counts of people under a threshold — default
  5, as ONS and the Cabinet Office do — are suppressed and shown as ``[c]``; other counts are
  rounded to the nearest 5; SEB breakdowns and shares computed on small bases too, because SEB
  is sensitive personal data);
* spreadsheets (ODS, the open format UK official statistics are published in, and XLSX) laid
  out as the Government Analysis Function's guidance on releasing statistics in spreadsheets
  asks: a cover sheet, a contents sheet, a notes sheet of sources and assumptions, one table
  per sheet starting in cell A1 of its own header block, no merged cells, no blank rows inside
  tables;
* district results as a GeoPackage that opens in QGIS or ArcGIS;
* the briefing pack (``placesim brief``): maps of the key metrics, a one-page PDF with the
  headline figures and bands, the targets table and a plain-English summary generated from the
  figures, and the spreadsheets — all carrying provenance.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from . import __version__
from .results import atomic_write

SUPPRESSED = "[c]"
VALUE_COLUMNS = ("mean", "p10", "p50", "p90")

#: Headline metrics that count people (others are shares, posts or money).
PEOPLE_COUNT_METRICS = frozenset({
    "headcount", "leavers_caused_by_relocation", "moves_to_london_for_promotion",
    "incumbents_relocated",
})
#: District metrics that count people or posts held by people.
DISTRICT_COUNT_METRICS = frozenset({"headcount", "posts", "scs_posts", "headcount_change",
                                    "net_posts_gained"})


@dataclass(frozen=True)
class DisclosureRule:
    """How small numbers are protected.

    Attributes
    ----------
    threshold : int
        Counts of people below this are suppressed.
    rounding : int
        Other counts are rounded to a multiple of this (1 = no rounding).
    """

    threshold: int = 5
    rounding: int = 5


def _round_to(x: np.ndarray, base: int) -> np.ndarray:
    return x if base <= 1 else np.round(x / base) * base


def control_metrics(metrics: pd.DataFrame, rule: DisclosureRule = DisclosureRule()
                    ) -> pd.DataFrame:
    """Apply disclosure control to a headline metrics table.

    Counts of people (and every SEB breakdown of a count) under ``rule.threshold`` are
    suppressed (``[c]``); other counts are rounded to ``rule.rounding``. Non-count metrics
    (shares, probabilities, money) are kept but rounded to 4 significant figures.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``scenario, year, metric, group, mean, p10, p50, p90``.
    rule : DisclosureRule

    Returns
    -------
    pandas.DataFrame
        Same columns; value columns are objects holding numbers or ``"[c]"``.

    Examples
    --------
    >>> df = pd.DataFrame({"scenario": ["s"], "year": [2030], "metric": ["headcount"],
    ...                    "group": ["seb:low"], "mean": [3.0], "p10": [1.0], "p50": [3.0],
    ...                    "p90": [6.0]})
    >>> control_metrics(df)["mean"].iloc[0]
    '[c]'
    """
    out = metrics.copy()
    is_count = out["metric"].isin(PEOPLE_COUNT_METRICS).to_numpy()
    for col in VALUE_COLUMNS:
        v = out[col].to_numpy(float)
        small = is_count & (v < rule.threshold)
        shown = np.where(is_count, _round_to(v, rule.rounding), _sig(v, 4))
        out[col] = pd.Series(shown, dtype=object).where(~small, SUPPRESSED).to_numpy()
    return out


def control_districts(districts: pd.DataFrame, rule: DisclosureRule = DisclosureRule()
                      ) -> pd.DataFrame:
    """Disclosure control for the district table (wide or long).

    Counts under the threshold are suppressed; the high-SEB share of a district is suppressed
    where its headcount is under ``10 * threshold`` (a share on a small base discloses the SEB
    of few people).
    """
    out = districts.copy()
    long = "metric" in out.columns
    if long:
        base = out[out["metric"] == "headcount"].set_index(["year", "lad_code"])["mean"]
        key = pd.MultiIndex.from_frame(out[["year", "lad_code"]])
        hc = base.reindex(key).to_numpy(float)
        is_count = out["metric"].isin(DISTRICT_COUNT_METRICS).to_numpy()
        is_seb = (out["metric"] == "high_seb_share").to_numpy()
        for col in VALUE_COLUMNS:
            if col not in out:
                continue
            v = out[col].to_numpy(float)
            small = (is_count & (np.abs(v) < rule.threshold) & (v != 0)) | (
                is_seb & ~(hc >= 10 * rule.threshold))
            shown = np.where(is_count, _round_to(v, rule.rounding), _sig(v, 4))
            out[col] = pd.Series(shown, dtype=object).where(~small, SUPPRESSED).to_numpy()
        return out
    for col in out.columns:
        if col in DISTRICT_COUNT_METRICS:
            v = out[col].to_numpy(float)
            small = (np.abs(v) < rule.threshold) & (v != 0)
            out[col] = pd.Series(_round_to(v, rule.rounding), dtype=object).where(
                ~small, SUPPRESSED).to_numpy()
    if "high_seb_share" in out.columns and "headcount" in districts.columns:
        hc = districts["headcount"].to_numpy(float)
        out["high_seb_share"] = out["high_seb_share"].where(hc >= 10 * rule.threshold,
                                                            SUPPRESSED)
    return out


def _sig(v: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where((v == 0) | ~np.isfinite(v), 0,
                       np.floor(np.log10(np.abs(np.where(v == 0, 1, v)))))
        factor = 10.0 ** (digits - 1 - mag)
        return np.where(np.isfinite(v), np.round(v * factor) / factor, v)


# --- spreadsheets ---------------------------------------------------------------------------

SOURCES = (
    ("Civil Service Statistics 2023", "Cabinet Office, Annual Civil Service Employment Survey, "
     "31 March 2023 (official statistics, Open Government Licence v3.0)"),
    ("Civil Service People Survey 2019-2024, results by socio-economic background",
     "Cabinet Office (Open Government Licence v3.0)"),
    ("State of the Nation 2025 local composite indices; local occupation mix",
     "Social Mobility Commission (Open Government Licence v3.0)"),
    ("Local authority district boundaries and lookups", "Office for National Statistics "
     "(Open Government Licence v3.0). Contains OS data © Crown copyright and database right"),
)


def source_line(manifest: dict) -> str:
    """The source and copyright line every map and table carries."""
    return (f"Source: placesim {manifest.get('code_version', __version__)}, scenario "
            f"{manifest.get('scenario_hash', '?')}; Civil Service Statistics 2023; Social "
            "Mobility Commission; Contains OS data © Crown copyright and database right")


def _cover(manifest: dict, tables: list[tuple[str, str]]) -> pd.DataFrame:
    rows = [
        ("Title", f"placesim results: {manifest.get('scenario', '')}"),
        ("Description", "Projected Civil Service workforce, relocations and progression under a "
         "Places for Growth scenario, with uncertainty bands (P10-P90) over replications."),
        ("Scenario", str(manifest.get("scenario", ""))),
        ("Scenario hash", str(manifest.get("scenario_hash", ""))),
        ("Mode", str(manifest.get("mode", ""))),
        ("Replications", str(manifest.get("replications", ""))),
        ("Seed", str(manifest.get("seed", ""))),
        ("Code version", f"placesim {manifest.get('code_version', __version__)}"),
        ("Data vintage", str(manifest.get("data_vintage", ""))),
        ("Created", str(manifest.get("created", ""))),
        ("Disclosure control", "Counts of people under 5 are suppressed and shown as [c]; "
         "other counts are rounded to the nearest 5. SEB is sensitive personal data."),
        ("Status", "Model projections, not official statistics."),
        ("Contents", "; ".join(f"{sheet}: {title}" for sheet, title in tables)),
    ]
    return pd.DataFrame(rows, columns=["Item", "Detail"])


def _notes(assumptions: pd.DataFrame | None) -> pd.DataFrame:
    rows = [(f"[note {i + 1}]", "Source", f"{name}: {detail}")
            for i, (name, detail) in enumerate(SOURCES)]
    if assumptions is not None and len(assumptions):
        for j, r in enumerate(assumptions.itertuples(index=False)):
            kind = "Assumption" if bool(r.assumption) else "Sourced parameter"
            rows.append((f"[note {len(SOURCES) + j + 1}]", kind,
                         f"{r.name} = {r.value}: {r.source}"))
    return pd.DataFrame(rows, columns=["Note number", "Type", "Note text"])


def write_spreadsheet(results, path: Path, *, rule: DisclosureRule = DisclosureRule()) -> Path:
    """Write results as an ODS or XLSX workbook in the Analysis Function's layout.

    Parameters
    ----------
    results : Results
    path : pathlib.Path
        ``.ods`` or ``.xlsx``.
    rule : DisclosureRule

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".ods", ".xlsx"):
        raise ValueError(f"{path}: spreadsheet must end in .ods or .xlsx")
    metrics = control_metrics(results.metrics, rule)
    districts = control_districts(results.districts, rule)
    tables = [
        ("Table_1", "Headline metrics by year, with P10, P50 and P90 over replications"),
        ("Table_2", "District results by year"),
    ]
    sheets = {
        "Cover_sheet": _cover(results.manifest, tables),
        "Notes": _notes(results.assumptions),
        "Table_1": metrics,
        "Table_2": districts,
    }

    def write(tmp: Path) -> None:
        if suffix == ".ods":
            _write_ods(sheets, tmp)
            return
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, df in sheets.items():
                df.to_excel(xw, sheet_name=name, index=False)

    atomic_write(path, write)
    return path


_ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" \
manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:version="1.2" \
manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def _ods_cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "<table:table-cell/>"
    if isinstance(value, (bool, np.bool_)):
        value = str(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = repr(float(value)) if isinstance(value, (float, np.floating)) else str(int(value))
        return (f'<table:table-cell office:value-type="float" office:value="{v}">'
                f"<text:p>{v}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>")


def _write_ods(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Write sheets as an OpenDocument spreadsheet: a header row, then one row per record.

    Written directly (ODF 1.2 ``content.xml`` in a zip) because odfpy builds a DOM of every
    cell and takes about a minute for a briefing's district table; this takes about a second.
    """
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
             'office:version="1.2"><office:body><office:spreadsheet>']
    for name, df in sheets.items():
        parts.append(f'<table:table table:name="{escape(name, {chr(34): "&quot;"})}">')
        parts.append("<table:table-row>" + "".join(_ods_cell(str(c)) for c in df.columns)
                     + "</table:table-row>")
        for row in df.itertuples(index=False, name=None):
            parts.append("<table:table-row>" + "".join(map(_ods_cell, row))
                         + "</table:table-row>")
        parts.append("</table:table>")
    parts.append("</office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as z:  # the mimetype entry first and uncompressed
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet",
                   compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/manifest.xml", _ODS_MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", "".join(parts), compress_type=zipfile.ZIP_DEFLATED)


def write_geopackage(results, pkg, path: Path, year: int | None = None,
                     *, rule: DisclosureRule = DisclosureRule()) -> Path:
    """District results of one year (default: the last) as a GeoPackage layer.

    Parameters
    ----------
    results : Results
    pkg : DataPackage
        For the district polygons.
    path : pathlib.Path
    year : int, optional
    rule : DisclosureRule

    Returns
    -------
    pathlib.Path
    """
    d = results.districts
    year = int(d["year"].max()) if year is None else year
    wide = (d[d["year"] == year].pivot(index="lad_code", columns="metric", values="mean")
            .reset_index())
    wide = control_districts(wide, rule)
    for col in wide.columns:
        if col != "lad_code":
            wide[col] = pd.to_numeric(wide[col], errors="coerce")  # [c] -> empty
    gdf = pkg.districts[["lad_code", "lad_name", "geometry"]].merge(wide, on="lad_code",
                                                                     how="left")
    gdf["year"] = year
    gdf["scenario"] = results.manifest.get("scenario", "")
    atomic_write(Path(path), lambda tmp: gdf.to_file(tmp, driver="GPKG", layer="districts"))
    return Path(path)


# --- briefing text -----------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A published target and the metric that tracks it."""

    label: str
    metric: str
    group: str
    value: float
    year: int
    kind: str  # "count" or "share"
    source: str


TARGETS = (
    Target("Roles moved out of London", "roles_moved_out_of_london", "all", 22_000, 2027,
           "count", "Places for Growth: 22,000 roles by 2027 (WMS 12 Dec 2023)"),
    Target("Roles moved out of London (Plan for Change)", "roles_moved_out_of_london", "all",
           34_000, 2030, "count", "A further 12,000 London roles by 2030 (May 2025)"),
    Target("SCS posts outside London", "scs_outside_london_share", "all", 0.5, 2030, "share",
           "Declaration on Government Reform: 50% of UK-based SCS outside London by 2030"),
    Target("Permanent secretaries outside London", "perm_secs_outside_london", "all", 2, 2030,
           "count", "Social Mobility Commission action point 8.1: two to three permanent "
           "secretaries out of London"),
)


def _value(metrics: pd.DataFrame, metric: str, group: str, year: int) -> pd.Series | None:
    m = metrics[(metrics["metric"] == metric) & (metrics["group"] == group)]
    if m.empty:
        return None
    years = m["year"].to_numpy()
    y = year if year in years else int(years[years <= year].max()) if (years <= year).any() \
        else int(years.min())
    return m[m["year"] == y].iloc[0]


def _fmt(v: float, kind: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.1%}" if kind == "share" else f"{v:,.0f}"


def targets_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Each target: the projected value in its year with its band, met or missed, and by how
    much."""
    rows = []
    for t in TARGETS:
        r = _value(metrics, t.metric, t.group, t.year)
        if r is None:
            continue
        gap = r["mean"] - t.value
        p_met = "likely met" if r["p10"] >= t.value else (
            "likely missed" if r["p90"] < t.value else "uncertain")
        rows.append({
            "target": t.label, "target_year": t.year, "target_value": _fmt(t.value, t.kind),
            "projected": _fmt(r["mean"], t.kind),
            "band_p10_p90": f"{_fmt(r['p10'], t.kind)} to {_fmt(r['p90'], t.kind)}",
            "difference": ("+" if gap >= 0 else "-") + _fmt(abs(gap), t.kind),
            "verdict": "met" if r["mean"] >= t.value else "missed",
            "confidence": p_met, "source": t.source,
        })
    return pd.DataFrame(rows)


def plain_summary(results, compare=None) -> list[str]:
    """Short plain-English sentences generated from the figures (no hand-written numbers)."""
    m = results.metrics
    last = int(m["year"].max())
    out = []
    for row in targets_table(m).itertuples(index=False):
        out.append(f"{row.target}: projected {row.projected} by {row.target_year} against a "
                   f"target of {row.target_value} — {row.verdict} by {row.difference.lstrip('+-')}"
                   f" (range {row.band_p10_p90}; {row.confidence}).")
    lon = _value(m, "progression_eo_to_director", "london", last)
    out_l = _value(m, "progression_eo_to_director", "outside_london", last)
    if lon is not None and out_l is not None and lon["mean"] > 0:
        ratio = out_l["mean"] / lon["mean"]
        out.append(f"In {last}, an EO outside London is {ratio:.0%} as likely as one in London "
                   f"to reach Director at that year's promotion and leaving rates "
                   f"({out_l['mean']:.2%} against {lon['mean']:.2%}).")
    hs = _value(m, "london_share_of_high_seb_g7_plus", "all", last)
    if hs is not None:
        out.append(f"London holds {hs['mean']:.0%} of high-SEB staff at G7 and above in {last} "
                   f"(range {hs['p10']:.0%} to {hs['p90']:.0%}).")
    if compare is not None:
        from .compare import compare_results

        d = compare_results(compare, results)
        d = d[(d["year"] == last) & (d["group"].isin(["all", "outside_london"]))
              & d["metric"].isin(["scs_outside_london_share", "progression_eo_to_director",
                                  "london_share_of_high_seb_g7_plus",
                                  "roles_moved_out_of_london"])]
        if len(d):
            base = d["mean_a"].abs().replace(0, np.nan)
            rel = (d["diff"].abs() / base).fillna(d["diff"].abs())
            top = d.loc[rel.idxmax()]
            other = compare.manifest.get("scenario", "the comparison")
            out.append(f"The largest change against {other} is in "
                       f"{top['metric'].replace('_', ' ')} ({top['group'].replace('_', ' ')}): "
                       f"{top['mean_a']:.4g} to {top['mean_b']:.4g}.")
    return out
