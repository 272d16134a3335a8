"""Briefing tables and files: spreadsheets, GeoPackage, targets, the source line.

* **Spreadsheets** follow the Government Analysis Function's guidance on releasing
  statistics in spreadsheets, written with ONS's ``gptables`` (XLSX): a cover sheet, a
  contents sheet, a notes sheet whose notes are referenced from the tables, each table on its
  own sheet with its title in cell A1 and marked up as a table, plain column headers with
  units, percentages as percentages, district names beside codes, ``[c]`` for withheld cells
  and ``[x]`` for figures that are not available. The ODS (the open format official
  statistics are published in) holds exactly the same cells: it is written from the XLSX.
* Every people count goes through :mod:`placesim.disclosure` first.
* District results as a GeoPackage that opens in QGIS or ArcGIS.
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
from .disclosure import (  # noqa: F401  (re-exported: one rule, used from here too)
    RULE,
    SUPPRESSED,
    DisclosureRule,
    control_districts,
    control_metrics,
    protect,
    protect_value,
    rule_text,
)
from .metrics import CUT_METRIC, READS_HIGH_BY
from .present import (
    _missing,
    first_upper,
    fmt_diff,
    fmt_range,
    fmt_value,
    group_label,
    measure,
    setting_text,
)
from .results import atomic_write

NOT_AVAILABLE_CELL = "[x]"

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
    return (f"Source: placesim {manifest.get('code_version', __version__)} model projections "
            "from Civil Service Statistics 2023 (Cabinet Office) and the Social Mobility "
            "Commission's State of the Nation 2025. Contains OS data © Crown copyright and "
            "database right")


# --- targets -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """A published target and the metric that tracks it."""

    label: str
    metric: str
    group: str
    value: float
    year: int
    source: str
    # how far the model's measure reads above the one the target is tracked on: within it
    # a projection is not judged met (0: the same measure)
    reads_high_by: float = 0.0
    stated: str = ""  # the value as the target states it, where that is a range (else
    # ``value``, formatted)

    @property
    def value_words(self) -> str:
        """The target's value as the target gives it, in a chart's title and the targets
        table (:attr:`stated`, else ``value`` formatted; a range is judged met from its
        lower end, ``value``)."""
        return self.stated or fmt_value(self.metric, self.value)


TARGETS = (
    Target("Roles moved out of London", "roles_moved_out_of_london", "all", 22_000, 2027,
           "Places for Growth: 22,000 roles by 2027 (Written Ministerial Statement, "
           "12 December 2023). Measure: roles counted by the programme since 2020 (re-created "
           "outside London or moved), as its published progress series (23,249 by June 2024)"),
    Target("London roles cut (Plan for Change)", CUT_METRIC, "all",
           12_000, 2030, "Plan for Change (May 2025): cut London civil-service roles by 12,000 "
           "by 2030, closing 11 London offices (facts B). Measure: London's Civil Service posts "
           "in March 2025 less those in the year, whether moved, closed or not refilled; roles "
           "re-created outside London with none closed in London do not count (the programme's "
           "own count, roles moved, rose while London grew: facts B)"),
    Target("Senior Civil Service posts outside London", "scs_outside_london_share", "all", 0.5,
           2030, "Declaration on Government Reform: 50% of UK-based SCS outside London by "
           "2030. Measure: Places for Growth's (31.2% at Q4 2023), UK Government SCS without "
           "the Scottish and Welsh Governments; Civil Service Statistics' all UK-based SCS "
           "(37.6% in March 2023) is in the results' metrics (scs_outside_london_share_acses). "
           f"The model's measure reads about {100 * READS_HIGH_BY['scs_outside_london_share']:.1f}"
           " points above the programme's (35.4% against 31.2% in December 2023, "
           "docs/validation.md section 5): a projection less than that above 50% is not "
           "judged met",
           reads_high_by=READS_HIGH_BY["scs_outside_london_share"]),
    Target("Permanent secretaries outside London, the South East and the home counties",
           "perm_secs_outside_south_east", "all", 2, 2025,
           "Social Mobility Commission action plan, action 8.1: \"seek to move two to three "
           "permanent secretaries out of London, the south-east and the home counties by "
           "2025\". Measure: UK Government permanent secretary posts (the data package's 45, "
           "placed at their departments' headquarters) outside London, the South East and "
           "Bedfordshire, Hertfordshire and Essex, not the Scottish and Welsh Governments'; "
           # (it read outside London only, by 2030; review)
           "at the record of 31 March 2025", stated="two to three"),
)


def target_words(metric: str) -> str:
    """The published targets on ``metric``, as a chart's title gives them.

    Examples
    --------
    >>> target_words("roles_moved_out_of_london")
    'target: 22,000 by 2027'
    >>> target_words("london_roles_cut_since_2025")
    'target: 12,000 by 2030'
    >>> target_words("perm_secs_outside_south_east")
    'target: two to three by 2025'
    """
    ts = [t for t in TARGETS if t.metric == metric]
    return (("targets: " if len(ts) > 1 else "target: ")
            + "; ".join(f"{t.value_words} by {t.year}" for t in ts))


def _value(metrics: pd.DataFrame, metric: str, group: str, year: int) -> pd.Series | None:
    m = metrics[(metrics["metric"] == metric) & (metrics["group"] == group)]
    if m.empty:
        return None
    years = m["year"].to_numpy()
    y = year if year in years else int(years[years <= year].max()) if (years <= year).any() \
        else int(years.min())
    return m[m["year"] == y].iloc[0]


def targets_table(metrics: pd.DataFrame, *, banded: bool | None = None,
                  rule: DisclosureRule = RULE, department: str | None = None) -> pd.DataFrame:
    """Each target: the projection in its year (through disclosure control), its range,
    and whether it is met, in words.

    Parameters
    ----------
    metrics : pandas.DataFrame
    banded : bool, optional
        Whether the run has ranges (stochastic); default: whether P10 and P90 differ.
    rule : DisclosureRule
    department : str, optional
        ``metrics`` are this department's view (:func:`placesim.departments.department_results`):
        the targets are the whole Civil Service's, so its projection is shown as its part,
        with no gap and no verdict (a department's 6,875 roles is not a miss of 22,000).

    Returns
    -------
    pandas.DataFrame
        ``Target, By, Target value, Projected, Range (P10 to P90), Gap, Met?, Source``.
    """
    rows = []
    for t in TARGETS:
        r = _value(metrics, t.metric, t.group, t.year)
        if r is None:
            continue
        if banded is None:  # (NaN != NaN: a measure with no value yet, payback_year, made
            # an expected-value run look banded: "likely met", ranges of one value)
            p10, p90 = metrics["p10"].to_numpy(float), metrics["p90"].to_numpy(float)
            banded = bool(np.any((p10 != p90) & ~(np.isnan(p10) & np.isnan(p90))))
        proj = protect_value(t.metric, r["mean"], rule=rule)
        gap = r["mean"] - t.value
        if isinstance(proj, str):
            verdict = "not shown (fewer than 5)"
        else:  # (an expected-value run: its one value is both ends)
            low, high = (r["p10"], r["p90"]) if banded else (r["mean"], r["mean"])
            # (a range of one value, as shown, is no likelihood: the SCS share of a plan read
            # "49.8% to 49.8% ... likely missed"; review)
            alike = banded and (fmt_value(t.metric, protect_value(t.metric, low, rule=rule))
                                == fmt_value(t.metric, protect_value(t.metric, high,
                                                                     rule=rule)))
            likely = "likely " if banded and not alike else ""
            every = " across P10 to P90" if alike else ""
            verdict = (f"{likely}met{every}" if low - t.reads_high_by >= t.value else
                       f"{likely}missed{every}" if high < t.value else
                       f"uncertain: within the {100 * t.reads_high_by:.1f} points the model's "
                       "measure reads above the target's" if low >= t.value else
                       "uncertain")
        unit = measure(t.metric).unit
        rows.append({
            "Target": t.label, "By": t.year, "Target value": t.value_words,
            "Projected": fmt_value(t.metric, proj),
            "Range (P10 to P90)": (fmt_range(t.metric, protect_value(t.metric, r["p10"],
                                                                     rule=rule),
                                             protect_value(t.metric, r["p90"], rule=rule))
                                   if banded else "expected value only"),
            "Gap": (SUPPRESSED if isinstance(proj, str) else
                    fmt_diff(t.metric, protect_value(t.metric, gap, rule=rule))
                    if unit != "share" else fmt_diff(t.metric, gap)).replace(
                        "no change", "none"),
            "Met?": verdict, "Source": t.source,
        })
        held = int(r["year"])
        if held < t.year:  # (results that stop before its year: a pack as of 2026 said a
            # 2030 target was missed; review; and one already reached, "not yet due")
            early = isinstance(verdict, str) and verdict.startswith(("met", "likely met"))
            rows[-1].update({"Projected": f"{rows[-1]['Projected']} by {held}",
                             "Gap": rows[-1]["Gap"] if early else "n/a",
                             "Met?": (f"{verdict} by {held}, ahead of {t.year}" if early
                                      else f"not yet due (its year is {t.year}; the figure "
                                           f"is {held}'s)")})
        if department is not None:
            rows[-1].update({"Target value": f"{rows[-1]['Target value']} (whole Civil "
                                             "Service)",
                             "Gap": "n/a", "Met?": "not judged: the whole service's "
                                                  f"target ({department}'s figure shown)"})
    return pd.DataFrame(rows)


# --- tables for people -----------------------------------------------------------------------

def _shown(metric: str, v):
    """A protected value as a spreadsheet cell: shares as percentages, ``[c]`` and ``[x]``."""
    if isinstance(v, str):
        return v
    if v is None or not math.isfinite(float(v)):
        return NOT_AVAILABLE_CELL
    unit = measure(metric).unit
    if unit in ("share", "chance"):
        return round(float(v) * 100, 2 if unit == "share" else 3)
    if unit == "gbp":
        return int(round(float(v), -3))
    if unit == "per_1000":
        return round(float(v), 1)
    return v


def _unit(metric: str) -> str:
    m = measure(metric)
    return {"share": "per cent", "chance": "per cent", "gbp": "pounds",
            "per_1000": "per 1,000 EOs", "number": "number"}.get(m.unit, m.unit)


def _headline_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """Headline metrics without the per-site grade counts (those are their own table)."""
    return metrics[metrics["metric"] != "site_posts"].reset_index(drop=True)


def headline_long(results, rule: DisclosureRule = RULE,
                  site_names: dict[str, str] | None = None) -> pd.DataFrame:
    """Every headline metric by year, for people: plain labels, unit, value and range."""
    c = _headline_rows(control_metrics(results.metrics, rule))
    banded = results.banded
    out = pd.DataFrame({
        "Measure": [measure(m).label for m in c["metric"]],
        "Group": [group_label(g, site_names) for g in c["group"]],
        "Year": c["year"].astype(int).to_numpy(),
        "Unit": [_unit(m) for m in c["metric"]],
        "Value": [_shown(m, v) for m, v in zip(c["metric"], c["mean"], strict=True)],
    })
    if banded:
        for col, name in (("p10", "Low (P10)"), ("p50", "Middle (P50)"), ("p90", "High (P90)")):
            out[name] = [_shown(m, v) for m, v in zip(c["metric"], c[col], strict=True)]
    out["Metric code"] = c["metric"].to_numpy()
    out["Group code"] = c["group"].to_numpy()
    return out


def difference_long(a, b, diff: pd.DataFrame, rule: DisclosureRule = RULE,
                    site_names: dict[str, str] | None = None) -> pd.DataFrame:
    """Both runs and the difference (b minus a) with its interval, for people."""
    name_a = a.manifest.get("scenario", "A")
    name_b = b.manifest.get("scenario", "B")
    key = ["year", "metric", "group"]
    va = control_metrics(a.metrics, rule).set_index(key)["mean"]
    vb = control_metrics(b.metrics, rule).set_index(key)["mean"]
    d = _headline_rows(diff).set_index(key)
    idx = d.index
    is_count = np.array([measure(m).is_count for m in idx.get_level_values("metric")])

    def prot(col):
        return protect(d[col].to_numpy(float), count=is_count, rule=rule)

    rows = pd.DataFrame({
        "Measure": [measure(m).label for m in idx.get_level_values("metric")],
        "Group": [group_label(g, site_names) for g in idx.get_level_values("group")],
        "Year": idx.get_level_values("year").astype(int),
        "Unit": [_unit(m) + (" (differences in points)" if measure(m).unit in
                             ("share", "chance") else "")
                 for m in idx.get_level_values("metric")],
    })
    mets = idx.get_level_values("metric")
    rows[f"{name_a}"] = [_shown(m, v) for m, v in zip(mets, va.reindex(idx), strict=True)]
    rows[f"{name_b}"] = [_shown(m, v) for m, v in zip(mets, vb.reindex(idx), strict=True)]
    for col, name in (("diff", "Difference"), ("diff_p10", "Difference, low (P10)"),
                      ("diff_p90", "Difference, high (P90)")):
        rows[name] = [_shown(m, v) for m, v in zip(mets, prot(col), strict=True)]
    rows["Interval"] = d["interval"].to_numpy()
    rows["Metric code"] = mets
    rows["Group code"] = idx.get_level_values("group")
    return rows


def districts_wide(results, pkg, rule: DisclosureRule = RULE, year: int | None = None
                   ) -> pd.DataFrame:
    """District results in a year (default: the last) with names and codes, for people
    (means over runs)."""
    d = results.districts
    d = d[d["year"] == (int(d["year"].max()) if year is None else year)]
    wide = d.pivot_table(index=["year", "lad_code"], columns="metric", values="mean",
                         aggfunc="first").reset_index()
    wide = control_districts(wide, rule)
    names = pkg.districts.set_index("lad_code")["lad_name"] if pkg is not None else None
    out = pd.DataFrame({
        "District code": wide["lad_code"],
        "District name": (wide["lad_code"].map(names).fillna("") if names is not None
                          else ""),
        "Year": wide["year"].astype(int),
    })
    for metric in ("headcount", "posts", "net_posts_gained", "headcount_change", "scs_posts",
                   "high_seb_share"):
        if metric in wide:
            m = measure(metric)
            unit = "per cent" if m.unit == "share" else m.unit
            out[f"{m.label} ({unit})"] = [_shown(metric, v) for v in wide[metric]]
    return out.sort_values(["Year", "District name"]).reset_index(drop=True)


def site_ladders(results, pkg=None, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """Posts of each grade at each site in the last year (through disclosure control)."""
    m = results.metrics
    last = int(m["year"].max())
    sp = m[(m["metric"] == "site_posts") & (m["year"] == last)
           & m["group"].str.startswith("site:")]  # (not a department's view: dept:X|site:)
    if sp.empty:
        return pd.DataFrame()
    parts = sp["group"].str.split(":", expand=True)
    grid = pd.DataFrame({"site": parts[1].to_numpy(), "grade": parts[2].to_numpy(),
                         "posts": protect(sp["mean"].to_numpy(float), count=True, rule=rule)})
    wide = grid.pivot(index="site", columns="grade", values="posts")
    from .grades import GRADES

    wide = wide[[g for g in GRADES if g in wide.columns]]
    names = (dict(zip(pkg.sites["site_id"], pkg.sites["site_name"], strict=True))
             if pkg is not None else {})
    out = pd.DataFrame({"Site": [names.get(s, s) for s in wide.index]})
    for g in wide.columns:
        out[f"{g} (posts)"] = wide[g].to_numpy()
    return out.sort_values("Site").reset_index(drop=True)


EVIDENCE_WORDS = {"published": "Published", "derived": "Derived from published figures",
                  "assumption": "Assumption", "scenario": "Set by the scenario"}
"""Each evidence grade (:data:`placesim.calibration.EVIDENCE`) as a reader's table says it."""


def assumptions_table(results) -> pd.DataFrame:
    """Every parameter and lever setting in force, with its value, its evidence grade (as
    ``placesim params`` gives it), its range where it has one, and its source. (It called
    everything not an assumption a "Published source": derived odds whose own text says no
    rate is published, and values a scenario set; review.)"""
    a = results.assumptions
    if a is None or a.empty:
        return pd.DataFrame({"Parameter": [], "Value": [], "Type": [], "Range": [],
                             "Source or reasoning": []})
    if "evidence" in a:
        kind = a["evidence"].astype(str).map(EVIDENCE_WORDS).fillna("Assumption")
    else:  # (a results folder written before the grade was kept)
        kind = pd.Series(np.where(a["assumption"].astype(bool), "Assumption", "Published"))
    low = a["low"] if "low" in a else pd.Series([None] * len(a))
    high = a["high"] if "high" in a else pd.Series([None] * len(a))
    return pd.DataFrame({
        "Parameter": a["name"].astype(str),
        "Value": [setting_text(v) for v in a["value"]],
        "Type": kind.to_numpy(),
        "Range": [f"{float(lo):g} to {float(hi):g}" if not (_missing(lo) or _missing(hi))
                  else "none"
                  for lo, hi in zip(low, high, strict=True)],
        "Source or reasoning": a["source"].astype(str),
    })


# --- spreadsheets ----------------------------------------------------------------------------

def _notes_table(rule: DisclosureRule) -> pd.DataFrame:
    notes = [
        ("sources", "Sources: " + "; ".join(f"{n} ({d})" for n, d in SOURCES) + "."),
        ("projections", "These are model projections from the placesim simulator, not "
                        "official statistics."),
        ("disclosure", rule_text(rule) + " [c] marks a withheld cell; [x] a figure that is "
                                         "not available."),
        ("ranges", "Low (P10) and High (P90): 8 in 10 of the model's runs fall between them. "
                   "Runs of expected values have no range."),
        ("percentages", "Shares and chances are shown as percentages; their differences are "
                        "in percentage points."),
        ("intervals", "Paired: both runs used the same random numbers, so the range is of "
                      "the run-by-run difference. Unpaired: independent runs. None: "
                      "expected values, no range."),
        ("seb", "Socio-economic background is measured by the main earner's job when the "
                "person was 14 (higher: professional or managerial)."),
    ]
    return pd.DataFrame(notes, columns=["Note reference", "Note text"])


def view_of(manifest: dict) -> str | None:
    """The department whose view results are (:func:`placesim.departments.department_results`),
    as ``Name (CODE)``, or None for the whole Civil Service."""
    code = manifest.get("department")
    if not code:
        return None
    name = manifest.get("department_name") or code
    return name if name == code else f"{name} ({code})"


def with_view(frame: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """``frame`` with a ``department`` column after ``scenario`` (or first) when the results
    are one department's view: its rows say ``all`` for the department's own total, which a
    file passed on would otherwise read as the whole Civil Service's."""
    view = view_of(manifest)
    if view is None:
        return frame
    out = frame.copy()
    at = list(out.columns).index("scenario") + 1 if "scenario" in out.columns else 0
    out.insert(at, "department", manifest["department"])
    return out


def workbook_tables(results, pkg=None, *, compare=None, diff: pd.DataFrame | None = None,
                    rule: DisclosureRule = RULE) -> list[dict]:
    """The tables of a results workbook: name, title, subtitles, notes and the table."""
    man = results.manifest
    title = man.get("title") or man.get("scenario", "")
    sites = (dict(zip(pkg.sites["site_id"], pkg.sites["site_name"], strict=True))
             if pkg is not None else None)
    tables = []
    if compare is not None:
        if diff is None:
            from .compare import compare_results

            diff = compare_results(compare, results)
        tables.append({
            "name": "Table_1",
            "title": f"Headline figures: {results.manifest.get('scenario')} compared with "
                     f"{compare.manifest.get('scenario')}, by year $$projections$$",
            "subtitles": ["Difference is the scenario minus the comparison. "
                          "$$percentages$$ $$intervals$$"],
            "table": difference_long(compare, results, diff, rule, sites)})
    tables.append({
        "name": f"Table_{len(tables) + 1}",
        "title": f"Headline figures for {results.manifest.get('scenario')}, by year "
                 "$$projections$$",
        "subtitles": [f"Scenario: {title}. $$ranges$$ $$percentages$$"],
        "table": headline_long(results, rule, sites)})
    if compare is not None:
        tables.append({
            "name": f"Table_{len(tables) + 1}",
            "title": f"Headline figures for {compare.manifest.get('scenario')}, by year "
                     "$$projections$$",
            "subtitles": ["The comparison run. $$ranges$$ $$percentages$$"],
            "table": headline_long(compare, rule, sites)})
    tables.append({
        "name": f"Table_{len(tables) + 1}",
        "title": f"District results for {results.manifest.get('scenario')}, "
                 f"{int(results.districts['year'].max())} $$disclosure$$",
        "subtitles": [_district_basis(results) + " $$seb$$"],
        "table": districts_wide(results, pkg, rule)})
    ladders = site_ladders(results, pkg, rule)
    if len(ladders):
        tables.append({"name": f"Table_{len(tables) + 1}",
                       "title": f"Posts by grade at each hub or campus, "
                                f"{int(results.metrics['year'].max())} $$disclosure$$",
                       "subtitles": ["Posts in the district the site is in. $$projections$$"],
                       "table": ladders})
    tt = targets_table(results.metrics, rule=rule,
                       department=results.manifest.get("department"),
                       banded=results.banded)
    if len(tt):
        tables.append({"name": f"Table_{len(tables) + 1}",
                       "title": f"Published targets and the projection of "
                                f"{results.manifest.get('scenario')} $$projections$$",
                       "subtitles": ["$$ranges$$"], "table": tt})
    tables.append({"name": f"Table_{len(tables) + 1}",
                   "title": "Parameters and assumptions in force $$sources$$",
                   "subtitles": ["Each parameter's published source, or the reasoning "
                                 "behind an assumption."],
                   "table": assumptions_table(results)})
    view = view_of(results.manifest)
    if view is not None:  # (one department's figures: every table says so)
        for t in tables:
            t["title"] = f"{view}: {t['title']}"
            t["subtitles"] = [f"The {view} view: its posts and the people in them; 'All' is "
                              "its own total, not the whole Civil Service's.",
                              *t["subtitles"]]
    return tables


def write_spreadsheet(results, path: Path, *, pkg=None, compare=None,
                      diff: pd.DataFrame | None = None, rule: DisclosureRule = RULE,
                      also: tuple[Path, ...] = ()):
    """Write results as an XLSX or ODS workbook to the Analysis Function's standard.

    Parameters
    ----------
    results : Results
    path : pathlib.Path
        ``.xlsx`` or ``.ods`` (same cells).
    pkg : DataPackage, optional
        For district and site names.
    compare : Results, optional
        Adds the comparison run and the difference (first table).
    diff : pandas.DataFrame, optional
        ``compare_results(compare, results)`` if already computed.
    rule : DisclosureRule
    also : tuple of pathlib.Path
        The same workbook in more files (``.xlsx`` or ``.ods``), written from the same cells.

    Returns
    -------
    pathlib.Path, or list of pathlib.Path when ``also`` is given
    """
    paths = [Path(path), *map(Path, also)]
    for p in paths:
        if p.suffix.lower() not in (".ods", ".xlsx"):
            raise ValueError(f"{p}: spreadsheet must end in .ods or .xlsx")
    tables = workbook_tables(results, pkg, compare=compare, diff=diff, rule=rule)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        book = Path(d) / "book.xlsx"
        _write_xlsx(results.manifest, tables, book, rule)
        cells = None
        for p in paths:
            if p.suffix.lower() == ".xlsx":
                atomic_write(p, lambda tmp: __import__("shutil").copyfile(book, tmp))
            else:
                cells = cells or _read_cells(book)
                atomic_write(p, lambda tmp, c=cells: _write_ods(c, tmp))
    return paths if also else paths[0]


def _write_xlsx(manifest: dict, tables: list[dict], path: Path, rule: DisclosureRule) -> None:
    import gptables as gpt

    sheets = {}
    for t in tables:
        table = t["table"].copy()
        for col in table.columns:  # gptables writes object columns cell by cell
            if table[col].dtype == object:
                table[col] = table[col].map(lambda v: v if not isinstance(v, float) or
                                            math.isfinite(v) else NOT_AVAILABLE_CELL)
        sheets[t["name"]] = gpt.GPTable(
            table=table, table_name=t["name"], title=t["title"], subtitles=t["subtitles"],
            instructions="This worksheet contains one table. Some cells refer to notes, which "
                         "are on the Notes worksheet.",
            source=source_line(manifest))
    title = manifest.get("title") or manifest.get("scenario", "")
    view = view_of(manifest)
    if view is not None:
        title = f"{title}, {view} view"
    from .simulation import runs_words

    runs = runs_words(manifest)
    cover = gpt.Cover(
        title=f"Places for Growth scenario projections: {title}",
        intro=["Projected Civil Service workforce, relocations and progression under a Places "
               "for Growth scenario, from the placesim simulator.",
               "These are model projections, not official statistics."],
        about=[f"Scenario: {manifest.get('scenario', '')} (version "
               f"{manifest.get('scenario_hash', '')})",
               f"Results: {runs}",
               f"Created: {manifest.get('created', '')} with placesim "
               f"{manifest.get('code_version', __version__)}",
               f"Disclosure control: {rule_text(rule)}"],
        contact=["Places for Growth analysis team"])
    wb = gpt.produce_workbook(filename=str(path), sheets=sheets, cover=cover,
                              notes_table=_notes_table(rule), auto_width=False)
    wb.close()


def _read_cells(xlsx: Path) -> dict[str, list[list]]:
    """Every sheet's cells (row by row) of a workbook, as the ODS copy's content."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    out = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
    wb.close()
    return out


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
    paras = "".join(f"<text:p>{escape(p)}</text:p>" for p in str(value).split("\n"))
    return f'<table:table-cell office:value-type="string">{paras}</table:table-cell>'


def _write_ods(sheets: dict[str, list[list]], path: Path) -> None:
    """Write sheets of cells as an OpenDocument spreadsheet (ODF 1.2 ``content.xml`` in a
    zip), directly: odfpy builds a DOM of every cell and takes about a minute for a
    briefing's district table."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content '
             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
             'office:version="1.2"><office:body><office:spreadsheet>']
    for name, rows in sheets.items():
        parts.append(f'<table:table table:name="{escape(name, {chr(34): "&quot;"})}">')
        for row in rows:
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
                     *, rule: DisclosureRule = RULE) -> Path:
    """District results of one year (default: the last) as a GeoPackage layer; withheld
    cells are empty.

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


def _district_basis(results) -> str:
    """What the district table's figures are, in the words every caption uses
    (:func:`placesim.simulation.runs_words`): one run's, or the means over several. (It said
    "averages over the model's runs" of one expected run; review. Then it had words of its
    own, which called one replication with a parameter draw "one run of the model".)"""
    from .simulation import banded, runs_words

    words = runs_words(results.manifest)
    return f"Means over {words}." if banded(results.manifest) else f"{first_upper(words)}."
