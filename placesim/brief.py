"""The briefing pack: what ``placesim brief`` writes for a minister's box.

The first page answers the scenario's own question in plain English, then shows the
baseline, the scenario and the difference (with the interval :func:`placesim.compare.
compare_results` gives) for each headline, and a map of the difference (page 2, where page 1
has no room left for one a reader could read). Later pages hold
the targets, the scenario's own figures, how progression is measured, the assumptions and
sources, and a glossary. Every page carries the protective marking; every figure about
people goes through :mod:`placesim.disclosure`. Beside the PDF the folder holds the maps
(PNG and PDF), the spreadsheets (XLSX and ODS: both runs and the difference), the CSVs, the
district GeoPackage and a provenance file. Everything is made offline.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .compare import about_coldspots, coldspots_differ, coldspots_words
from .disclosure import RULE, DisclosureRule, control_metrics, protect, protect_value, rule_text
from .export import source_line, targets_table, with_view, write_geopackage, write_spreadsheet
from .metrics import CUT_BASE_YEAR
from .metrics import CUT_METRIC as CUT
from .present import (
    GLOSSARY,
    first_upper,
    fmt_central,
    fmt_diff,
    fmt_range,
    fmt_reached,
    fmt_value,
    headline_label,
    headlines_in,
    listed,
    measure,
    metric_label,
    metric_pairs,
    progression_sentence,
    reads_high_words,
    setting_text,
    shortfall_notes,
)
from .results import atomic_write, write_csv, write_text

KEY_MAPS = ("net_posts_gained", "high_seb_share")
#: The rows of the first page's table, in order, when the results hold them.
FIRST_PAGE = (
    ("roles_moved_out_of_london", "all"),
    ("scs_outside_london_share", "all"),
    ("cohort_eo_to_g7", "outside_london"),
    ("cohort_eo_to_g7", "london"),
    ("progression_eo_to_director", "outside_london"),
    ("progression_eo_to_director", "london"),
    ("high_seb_share_london_g7_plus", "all"),  # (London's share of the country's higher-
    # SEB G7+ stood here, alone, and read as this; the answer gives both; review)
    ("high_seb_share_london_scs", "all"),
    ("leavers_caused_by_relocation", "all"),
    ("relocation_cost_gbp", "all"),
    ("npv_long_run_gbp", "all"),  # (the horizon's NPV, cut at a pack's year, read a plan
    # as worse value than none in its 2030 pack and better in its 2033 one; review)
    ("payback_year", "all"),
    # the outreach and secondments levers, when they are on
    ("entrants_low_seb_share", "coldspots"),
    ("secondees_in_post", "all"),
    ("secondee_conversions", "all"),
)
#: The levers' first-page rows, shown only when either run holds a figure only the lever's
#: runs report (metric, and the start of its group): who joins in the coldspots, when an
#: outreach is on (its own places' rows); the secondees, when the secondments lever is (its
#: sites' rows). Every run reports these rows (0 without the lever: :mod:`placesim.entrants`,
#: :func:`placesim.levers.lever_columns`), so a lever's change reads against a baseline;
#: on every pack they would push the first page's map onto the second. (A lever's figure
#: that is 0 is no sign: an outreach may cost nothing, secondees may all have left by the
#: year's end; review.)
SHOWN_WITH = {("entrants_low_seb_share", "coldspots"): ("entrants", "outreach"),
              ("low_seb_share", "coldspots"): ("entrants", "outreach"),
              ("secondees_in_post", "all"): ("secondees_in_post", "site:"),
              ("secondee_conversions", "all"): ("secondees_in_post", "site:")}
INTERVAL_WORDS = {"paired": "paired runs", "unpaired": "independent runs",
                  "mixed": "mixed modes", "none": "none: expected values",
                  "unavailable": "none: no run-by-run values"}


@dataclass(frozen=True)
class About:
    """What the pack says a run is: name, title and question (from the scenario file)."""

    name: str
    title: str = ""
    question: str = ""
    waves: tuple[tuple[str, str, int | None, bool], ...] = ()
    """(name, mode, close_by, close_origin) of each wave the run carries out (any part of it
    from the start on): how the scenario moves roles."""
    earlier: int = 0
    """Waves wholly before the start: history, already in the data (not counted above)."""
    seb_levers: bool = False
    """A lever aimed at progression by SEB is on (:data:`SEB_LEVERS`): the answer gives the
    gap by SEB too (a progression-levers brief asked "do they close the SEB and regional
    gaps" and answered the regional half; review)."""
    workforce: str = ""
    """How the scenario's posts grow or shrink, in words (:func:`workforce_words`): the first
    of the pack's assumptions, as it sets how many promotions there are."""
    starts: tuple[int, ...] = ()
    """The wave year each of ``waves`` starts in (its first tranche: April of that year), where
    known."""

    @property
    def heading(self) -> str:
        return self.title or self.name

    def as_of(self, year: int) -> About:
        """The run as a pack as of the record of ``year`` tells it (``brief --year``): the
        waves started by then, and a deadline for closing London posts only once it has come
        (a 2024 pack spoke of waves starting in 2026 and of a 2030 deadline; review). A wave
        year runs April to March, so a wave of year w is in the records from w + 1."""
        if len(self.starts) != len(self.waves):
            return self
        keep = [i for i, start in enumerate(self.starts) if start < year]
        return replace(self, starts=tuple(self.starts[i] for i in keep), waves=tuple(
            (name, mode, close_by if close_by is not None and close_by < year else None,
             close_origin) for name, mode, close_by, close_origin in
            (self.waves[i] for i in keep)))


SEB_LEVERS = ("mentoring", "talent_scheme_ring_fence", "london_postings",
              "low_seb_scs_flow_target")
"""Levers aimed at progression by socio-economic background."""


WHOLE_SERVICE_COSTS = (
    "Costs and savings are worked out for the whole Civil Service, not by department: the "
    "value for money of this scenario is in the whole-service briefing (placesim brief "
    "without --department).")
"""What a department's pack says in place of the value-for-money table."""

DEPARTMENT_SHARES = (
    "A department's figures are bookkeeping over the whole-service run: its posts at the "
    "start are the data package's; the roles a wave that names departments moves are "
    "theirs; the roles of waves that name none (the history's before the run, most of them) "
    "and the roles moved out of London before the run are shared over every department in "
    "proportion to its matching posts in the waves' origins (its London posts, for those "
    "moved before the run), unless the scenario gives published shares "
    "(department_shares): so a department is credited with part of waves it may have had "
    "no part in, and their new posts are where the waves put them; other changes of posts, "
    "and people's flows, are shared in proportion to its posts in each grade and place.")
"""How a department's view is kept (its pack says so beside the whole-service costs)."""


def workforce_words(trend: str, trend_until: int | None, paths: int) -> str:
    """The workforce assumption in words: how the number of posts changes beyond the waves.
    (The baseline's chance of an EO outside London reaching Grade 7 fell from 25% to 8% as
    its posts stopped growing after March 2024, and the pack never said they did; review.)

    Examples
    --------
    >>> workforce_words("acses", 2023, 0)
    "Workforce: posts by grade follow Civil Service Statistics' trend to March 2024, then \
stay level, changed only by the scenario's moves. Growth makes vacancies and promotions: \
with none, progression chances are lower than in the years of growth."
    """
    from .scenario import TREND_UNTIL

    more = f" and its {paths} path{'s' if paths != 1 else ''} of growth or cuts" if paths else ""
    if trend == "acses":
        until = trend_until if trend_until is not None else TREND_UNTIL
        head = ("Workforce: posts by grade follow Civil Service Statistics' trend to March "
                f"{until + 1}, then stay level, changed only by the scenario's moves{more}.")
    else:
        head = ("Workforce: posts stay as they are at the start, changed only by the "
                f"scenario's moves{more}.")
    return head + (" Growth makes vacancies and promotions: with none, progression chances "
                   "are lower than in the years of growth.")


RECRUITS_WORDS = (
    "Who joins: recruits' socio-economic backgrounds are fitted so that, with no policy, "
    "each grade's shares follow the Civil Service People Survey's 2019-2024 trend, so the "
    "shares change over the years in every scenario (the 2021-2024 trend, as likely, runs "
    "flatter or the other way: docs/validation.md section 3). A policy's effect is the "
    "difference between scenarios, not the change in one.")
"""The second of the pack's assumptions: background shares move without policy (a reader
took the baseline's 2033 levels, three points lower, as its own; review)."""


def about_folder(results, folder: Path | None = None) -> About:
    """The scenario's name, title and question, from ``scenario.yaml`` in a results folder
    when there is one (the manifest has only the name)."""
    import yaml

    name = str(results.manifest.get("scenario", ""))
    doc = {}
    if folder is not None and (Path(folder) / "scenario.yaml").is_file():
        try:
            doc = yaml.safe_load((Path(folder) / "scenario.yaml").read_text("utf-8")) or {}
        except yaml.YAMLError:
            doc = {}
    waves = [w for w in (doc.get("waves") if isinstance(doc.get("waves"), list) else [])
             if isinstance(w, dict)]
    start = results.manifest.get("start_year")
    spy = 12 if doc.get("step") == "month" else 4
    runs = [start is None or _runs_from(w.get("year", start), w.get("quarter", 1),
                                        w.get("spread_years", 0), int(start), spy)
            for w in waves]
    levers = doc.get("levers") if isinstance(doc.get("levers"), dict) else {}
    wf = doc.get("workforce") if isinstance(doc.get("workforce"), dict) else {}
    paths = wf.get("paths") if isinstance(wf.get("paths"), list) else []
    return About(name, str(doc.get("title") or ""), " ".join(str(doc.get("question") or
                                                                 "").split()),
                 tuple((str(w.get("name", "")), str(w.get("mode") or "recreate"),
                        w.get("close_by"), w.get("close_origin", True) is not False)
                       for w, on in zip(waves, runs, strict=True) if on),
                 runs.count(False),
                 any(levers.get(k) is not None for k in SEB_LEVERS),
                 workforce_words(str(wf.get("trend", "none")), wf.get("trend_until"),
                                 len(paths)) if doc else "",
                 tuple(int(w.get("year", start or 0)) for w, on in zip(waves, runs,
                                                                       strict=True) if on))


def about_scenario(scenario) -> About:
    """The :class:`About` of a loaded scenario."""
    start = scenario.horizon.start_year
    runs = [_runs_from(w.year, w.quarter, w.spread_years, start, scenario.steps_per_year())
            for w in scenario.waves]
    return About(scenario.name, scenario.title or "", " ".join((scenario.question or "").split()),
                 tuple((w.name, w.mode, w.close_by, w.close_origin)
                       for w, on in zip(scenario.waves, runs, strict=True) if on),
                 runs.count(False),
                 any(getattr(scenario.levers, k) is not None for k in SEB_LEVERS),
                 workforce_words(scenario.workforce.trend, scenario.workforce.trend_until,
                                 len(scenario.workforce.paths)),
                 tuple(w.year for w, on in zip(scenario.waves, runs, strict=True) if on))


def _runs_from(year, quarter, spread_years, start: int, steps_per_year: int = 4) -> bool:
    """Whether any tranche of a wave (from ``year`` Q``quarter``, over ``spread_years``)
    falls in a run from the census of ``start``, by the engines' own rule
    (:func:`placesim.rules.wave_tranches`): a wave wholly before it is history."""
    from .rules import wave_begins, wave_tranches

    try:
        begins = wave_begins(float(year), float(quarter), start)
        n, done = wave_tranches(begins, float(spread_years), steps_per_year)
    except (TypeError, ValueError):
        return True
    return done < n


def for_department(about: About, results) -> About:
    """The :class:`About` of a department's view of a run
    (:func:`placesim.departments.department_results`): titled with the department's name,
    e.g. "Home Office: Home Office regional centres ..."; unchanged for the whole service."""
    name = results.manifest.get("department_name")
    if not name or about.heading.startswith(f"{name}: "):
        return about
    return replace(about, title=f"{name}: {about.heading}")


# --- figures ----------------------------------------------------------------------------------

def _rows(metrics: pd.DataFrame, year: int) -> dict[tuple[str, str], pd.Series]:
    m = metrics[metrics["year"] == year]
    return {(r.metric, r.group): r for r in m.itertuples(index=False)}


def lever_shown(row: tuple[str, str], results, compare=None) -> bool:
    """Whether the first page (and the answer) shows a lever's ``row`` (:data:`SHOWN_WITH`):
    either run holds the lever's own figure."""
    metric, group = SHOWN_WITH[row]
    return any(((t["metric"] == metric) & t["group"].astype(str).str.startswith(group)).any()
               for t in (results.metrics, *(() if compare is None else (compare.metrics,))))


def first_page_rows(results, compare=None, diff: pd.DataFrame | None = None,
                    year: int | None = None, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """The first page's table: each headline in the comparison, the scenario, the difference
    and its range, as text (through disclosure control).

    Parameters
    ----------
    results, compare : Results
    diff : pandas.DataFrame, optional
        ``compare_results(compare, results)``.
    year : int, optional
        Default: the last year.
    rule : DisclosureRule

    Returns
    -------
    pandas.DataFrame
        ``metric, group, Measure, <comparison>, <scenario>, Difference, Range``.
    """
    m = results.metrics
    year = int(m["year"].max()) if year is None else year
    have = metric_pairs(m)
    cohort = any(k.startswith("cohort_") for k, _ in have)
    wanted = [(k, g) for k, g in FIRST_PAGE if (k, g) in have
              and not (cohort and k.startswith("progression_"))
              and ((k, g) not in SHOWN_WITH or lever_shown((k, g), results, compare))]
    b = _rows(control_metrics(m, rule), year)
    rows = []
    periods = _periods_differ(results, compare)  # (NPVs over periods of different lengths)
    if compare is not None:
        a = _rows(control_metrics(compare.metrics, rule), year)
        d = diff[diff["year"] == year].set_index(["metric", "group"])
    for metric, group in wanted:
        row = {"metric": metric, "group": group, "Measure": headline_label(metric, group)}
        rb = b.get((metric, group))
        row["Scenario"] = (fmt_central(metric, rb.mean, rb.p50, results.banded, year)
                           if rb is not None else fmt_value(metric, float("nan")))
        if compare is not None:
            ra = a.get((metric, group))
            row["Comparison"] = (fmt_central(metric, ra.mean, ra.p50, compare.banded, year)
                                 if ra is not None else fmt_value(metric, float("nan")))
            if (metric, group) in d.index:
                r = d.loc[(metric, group)]
                row["Difference"] = fmt_diff(metric, _protect_diff(metric, r["diff"], rule))
                row["Range"] = (INTERVAL_WORDS.get(r["interval"], "")
                                if r["interval"] == "none" or not _finite(r["diff_p10"]) else
                                fmt_range(metric, _protect_diff(metric, r["diff_p10"], rule),
                                          _protect_diff(metric, r["diff_p90"], rule), diff=True)
                                + f" ({INTERVAL_WORDS.get(r['interval'], r['interval'])})")
            else:
                row["Difference"] = row["Range"] = "n/a"
            if metric == "npv_long_run_gbp" and periods:
                row["Difference"], row["Range"] = periods, "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


def _appraisal_years(results) -> float | None:
    """The run's appraisal period in years (``costs.appraisal_years`` in its assumptions),
    or None where the results do not say."""
    a = results.assumptions
    if a is None or a.empty or "name" not in a:
        return None
    row = a[a["name"] == "costs.appraisal_years"]
    try:
        return float(row["value"].iloc[0]) if len(row) else None
    except (TypeError, ValueError):
        return None


def _periods_differ(results, compare) -> str:
    """Why two runs' NPVs over their appraisal periods are not differenced ("" if they may
    be): a 20-year and a 10-year figure read as one scenario £23m worse (review)."""
    if compare is None:
        return ""
    a, b = _appraisal_years(compare), _appraisal_years(results)
    if a is None or b is None or a == b:
        return ""
    return f"n/a: periods differ ({b:g} and {a:g} years)"


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _protect_diff(metric: str, v, rule: DisclosureRule):
    """A difference of counts is itself a count (rounded, small ones withheld)."""
    return protect_value(metric, v, rule=rule) if measure(metric).is_count else v


def _value(metrics, metric, group, year):
    r = metrics[(metrics["metric"] == metric) & (metrics["group"] == group)
                & (metrics["year"] == year)]
    if r.empty or not _finite(r["mean"].iloc[0]):
        return None
    return float(r["mean"].iloc[0])


def answer(results, about: About, compare=None, compare_about: About | None = None,
           rule: DisclosureRule = RULE) -> list[str]:
    """Plain-English sentences answering the scenario's question from the figures (no
    hand-written numbers): roles moved, the progression gap between the regions and London
    and how it changes (the same when the runs' band of its change holds none), London's
    concentration of higher-background staff, SCS outside London; and, when a lever is on
    in either run, who joins in the coldspots and the council secondees."""
    m = results.metrics
    last = int(m["year"].max())
    # (the comparison by its name: the page's subtitle gives its title, which, repeated in
    # every sentence, took three lines and pushed the difference map off the page)
    other = compare_about.name if compare_about else (
        compare.manifest.get("scenario", "the comparison") if compare is not None else "")
    out = []
    moved = _value(m, "roles_moved_out_of_london", "all", last)
    if moved is not None:
        man = results.manifest
        before = None if compare is None else _value(compare.metrics, CUT, "all", last)
        out.append(_moved_sentence(results, moved, last, rule)
                   + _london_cut_clause(_value(m, CUT, "all", last), last, rule,
                                        man.get("department_name") or man.get("department"),
                                        before, other))
    if about.waves:
        out.append(_leavers_sentence(m, about, rule))
    out += shortfall_notes(m, lambda metric, v: fmt_value(
        metric, protect_value(metric, v, rule=rule)))
    differ = coldspots_differ(compare, results) if compare is not None else None
    gap = _gap(m, last)
    if gap is not None:
        kind, now = gap
        ratio = now[0] / now[1]
        words = {"cohort": "Of Executive Officers in post at the start, those outside "
                           "London are",
                 "period": "At that year's promotion and leaving rates, an Executive Officer "
                           "outside London is"}[kind]
        # (the cohort's figure is so far, by the last year: "15 and 38 of 1,000" read as a
        # career's chance; review)
        target = f"Grade 7 by March {last}" if kind == "cohort" else "Director"
        text = (f"{words} {ratio:.0%} as likely to reach {target} as those in London "
                f"({_gap_figures(kind, now)})")
        if compare is not None:
            g0 = _gap(compare.metrics, last)
            if g0 is not None and g0[0] == kind:
                before = g0[1][0] / g0[1][1]
                band = _gap_change_band(compare, results, kind, last)
                same = (round(ratio, 2) == round(before, 2)
                        or band is not None and band[0] <= 0 <= band[1]  # (by chance)
                        # (both figures read as before: "the gap narrows, as London's
                        # stayed at 31 and outside London's stayed at 16"; review)
                        or _gap_figures(kind, now) == _gap_figures(kind, g0[1]))
                text += (f"; {other}: {before:.0%} ({_gap_figures(kind, g0[1])}), so "
                         f"{_gap_trend(before, ratio, same)}")
                if not same:  # (which side moved: London's fall narrows it too; review)
                    text += _gap_movement(_GAP_METRIC[kind], g0[1], now)
        out.append(text + ".")
    # by background, always: the Social Mobility Commission's question (it was given only
    # when a lever aimed at it was on, so the baseline's question on background went
    # unanswered; review)
    seb = _seb_gap_sentence(m, last, None if compare is None else compare.metrics, other)
    if seb:
        out.append(seb)
    for metric, group, words in (
            # the concentration first: the share of London's own staff, and then London's
            # share of the country's, which alone read as if it were (review)
            ("high_seb_share_london_g7_plus", "all", "{v} of London's own staff at Grade 7 "
                                                     "and above are from higher "
                                                     "socio-economic backgrounds in {year}"),
            ("london_share_of_high_seb_g7_plus", "all", "Of all staff at Grade 7 and above "
                                                        "from higher socio-economic "
                                                        "backgrounds, {v} work in London in "
                                                        "{year}"),
            ("scs_outside_london_share", "all", "{v} of Senior Civil Service posts are outside "
                                                "London in {year}"),
            # the levers' own figures, when a lever is on in either run (their question)
            ("entrants_low_seb_share", "coldspots", "{v} of the people joining in the "
                                                    "coldspots outside London in {year} are "
                                                    "from lower socio-economic backgrounds"),
            ("secondees_in_post", "all", "{v} council staff are on secondment in campus posts "
                                         "in {year}, on average over the year")):
        if (metric, group) in SHOWN_WITH and not lever_shown((metric, group), results, compare):
            continue
        v = _value(m, metric, group, last)
        if v is None:
            continue
        text = words.format(v=fmt_value(metric, protect_value(metric, v, rule=rule)), year=last)
        # (the whole service's measure against the programme's: a department's view has no
        # programme figure to read above; its pack said 4.2 points of the Home Office's
        # share, which matches its census figure; review)
        high = "" if results.manifest.get("department") else reads_high_words(metric)
        if high:
            text += f", {high}"
        v0 = None if compare is None else _value(compare.metrics, metric, group, last)
        if v0 is not None and differ and about_coldspots(pd.Series([metric]),
                                                         pd.Series([group]))[0]:
            v0 = None  # (other districts: no like-for-like figure, said below)
        if v0 is not None:  # (counts, and their differences, through disclosure control)
            text += (f" ({other}: {fmt_value(metric, protect_value(metric, v0, rule=rule))}; "
                     f"{fmt_diff(metric, _protect_diff(metric, v - v0, rule))})")
        if metric == "entrants_low_seb_share":  # (it read as a finding; review)
            text += (": the outreach lever's assumed shift in who joins sets this, it is not "
                     "a finding of the model")
        out.append(text + ".")
        if metric == "entrants_low_seb_share":  # (the staff share the question asks about,
            # which the joiners' change moves: the model's finding; review)
            staff = _value(m, "low_seb_share", "coldspots", last)
            staff0 = (None if compare is None or differ
                      else _value(compare.metrics, "low_seb_share", "coldspots", last))
            if staff is not None:
                said = (f"Of all staff there, at every grade, "
                        f"{fmt_value('low_seb_share', staff)} are from lower socio-economic "
                        f"backgrounds in {last}")
                if staff0 is not None:
                    said += (f" ({other}: {fmt_value('low_seb_share', staff0)}; "
                             f"{fmt_diff('low_seb_share', staff - staff0)})")
                out.append(said + ".")
    if differ:
        out.append(first_upper(coldspots_words(other, about.name, differ)) + ".")
    return out


def _moved_sentence(results, moved: float, last: int, rule: DisclosureRule) -> str:
    """Roles moved out of London by ``last``. The figure counts from when the programme
    began, so the roles moved before the run's start are told apart from the run's own
    (or, where the results do not say how many, said to be included)."""
    m = results.metrics
    start = int(results.manifest.get("start_year", int(m["year"].min()) - 1))

    def protected(v: float):
        return protect_value("roles_moved_out_of_london", v, rule=rule)

    def shown(v) -> str:
        return fmt_value("roles_moved_out_of_london", v)

    # (a year's figure is the record of 31 March; the run starts on 1 April: "11,170
    # before 2023" ran to March 2023; review)
    before = _value(m, "roles_moved_before_start", "all", last)
    whole = protected(moved)
    head = f"By March {last}, {shown(whole)} roles have moved out of London"
    if before is None:
        return f"{head} since the programme began, including any moved before April {start}."
    if before <= 0:
        return f"{head} since April {start}."
    # the run's own part as the difference of the two figures shown, so the parts add up to
    # the whole as the reader sees them (rounded apart, 795 and 290 made 1,080; review)
    earlier, own = protected(before), protected(moved - before)
    if not any(isinstance(v, str) for v in (whole, earlier, own)):
        own = whole - earlier
    return (f"{head} since the programme began: {shown(own)} from April {start} and "
            f"{shown(earlier)} before.")


def _london_cut_clause(cut: float | None, last: int, rule: DisclosureRule,
                       department: str | None = None, before: float | None = None,
                       other: str = "") -> str:
    """What London itself has lost since March 2025, the Plan for Change's measure (roles
    moved count roles created elsewhere, and London grew while they rose; review), and the
    comparison's; nothing when the run does not hold March 2025 or ends then (it read "as
    many as in March 2025" of March 2025). A department's view: its own London posts."""
    if cut is None or last <= CUT_BASE_YEAR:
        return ""

    def shown(v: float) -> str:
        return fmt_value(CUT, protect_value(CUT, abs(v), rule=rule))

    def change(v: float) -> str:
        if shown(v) == shown(0.0):
            return "as many"
        return f"{shown(v)} {'fewer' if v > 0 else 'more'}"

    who, posts = (department, "posts in London") if department else (
        "London", "Civil Service posts")
    now = change(cut)
    text = (f" {who} has {now} {posts} {'as' if now == 'as many' else 'than'} in March "
            f"{CUT_BASE_YEAR} (modelled posts; every cause")
    if before is not None:
        text += f"; {other}: {change(before)}"
    return text + ")."


def _leavers_sentence(m: pd.DataFrame, about: About, rule: DisclosureRule) -> str:
    """How many leave because of the moves, and why: the scenario's mix of waves that
    re-create roles (no one is asked to move) and waves that relocate occupied posts."""
    def total(metric: str) -> str | None:  # cumulative: the last year's value, shown
        r = m[(m["metric"] == metric) & (m["group"] == "all")]
        if r.empty:  # (a department's view: counted for the whole service only)
            return None
        return fmt_value(metric, protect_value(metric, float(r.loc[r["year"].idxmax(), "mean"]),
                                               rule=rule))

    recreate = [w for w in about.waves if w[1] == "recreate"]
    relocate = [w for w in about.waves if w[1] == "relocate"]
    closing = [w for w in recreate if w[2] is not None]
    leavers = total("leavers_caused_by_relocation")
    # (the records' years: record 2024 holds the twelve months from 2023, as the roles-moved
    # sentence and the appraisal say; this said "over 2024-2033" beside "in 2023-2033")
    years = f"{int(m['year'].min()) - 1}-{int(m['year'].max())}"
    text = ((f"{leavers} people leave the Civil Service rather than move with their post over "
             f"{years}. ") if leavers is not None
            else ("How many people leave the Civil Service rather than move with their post "
                  "is counted for the whole Civil Service only (the pack without "
                  "--department gives it), not by department. "))
    closes = sum(w[3] for w in recreate)  # (a wave that keeps its London posts: the history's
    # waves, as the programme counted roles created, not London's closed; it said they closed)
    how = ("London posts closed as they fall vacant" if closes == len(recreate) else
           "London posts kept open" if not closes else
           f"London posts closed as they fall vacant in {closes} of them, kept open in "
           f"{len(recreate) - closes}")
    def verb(n: int, one: str, many: str) -> str:  # ("1 relocate occupied posts"; review)
        return f"{n} {one if n == 1 else many}"

    # (a kind no wave is is left out, and a lone wave is "its one wave": it read "0 of its 1
    # waves ... re-create roles" and "0 relocate occupied posts"; review)
    n = len(about.waves)
    remade = (f"{'re-creates' if len(recreate) == 1 else 're-create'} roles (new posts "
              f"outside London, {how}, so no one is asked to move)")
    moved = (f"{'relocates' if len(relocate) == 1 else 'relocate'} occupied posts, whose "
             "holders move, are redeployed in London or leave")
    whole = "Its one wave in the run" if n == 1 else f"Its {n} waves in the run"
    if recreate and relocate:
        text += (f"{len(recreate)} of its {n} waves in the run {remade} and "
                 f"{len(relocate)} {moved}")
    else:
        text += f"{whole} {remade if recreate else moved}"
    if closing:
        red = total("redundancies")
        shut = verb(len(closing), "closes", "close")
        text += (f"; {shut} the London posts still open by a set year, making {red} people "
                 "redundant" if red is not None else
                 f"; {shut} the London posts still open by a set year (people made redundant: "
                 "counted for the whole service only)")
    if about.earlier:
        text += (f" ({about.earlier} earlier {'wave is' if about.earlier == 1 else 'waves are'}"
                 " history, already in the data)")
    return text + "."


def _gap_change_band(a, b, kind: str, year: int) -> tuple[float, float] | None:
    """P10 and P90 of the change in the regions/London ratio (:func:`_gap`) from run ``a``
    to run ``b``, replication by replication when they are paired (every pair of runs when
    they are independent); None when either run is one expected value (no band)."""
    from .compare import pairing

    how = pairing(a, b)
    if how not in ("paired", "unpaired"):
        return None
    metric = _GAP_METRIC[kind]
    ratios = []
    for res in (a, b):
        r = res.replications
        r = r[(r["metric"] == metric) & (r["year"] == (r["year"].max() if kind == "cohort"
                                                          else year))]
        wide = r.pivot_table(index="replication", columns="group", values="value")
        if not {"outside_london", "london"} <= set(wide.columns):
            return None
        ratios.append(wide["outside_london"] / wide["london"].where(wide["london"] > 0))
    ra, rb = ratios
    if how == "paired":
        d = (rb - ra).dropna().to_numpy()
    else:
        d = np.subtract.outer(rb.dropna().to_numpy(), ra.dropna().to_numpy()).ravel()
    if len(d) < 2:
        return None
    lo, hi = np.quantile(d, [0.1, 0.9])
    return float(lo), float(hi)


def _seb_gap_sentence(m: pd.DataFrame, year: int, before: pd.DataFrame | None,
                      other: str) -> str:
    """The chance an EO reaches Grade 7 by SEB, lower against higher, at the year's rates
    (and the comparison's), as a sentence ("" without the figures)."""
    def pair(metrics):
        low = _value(metrics, "progression_eo_to_g7", "seb:low", year)
        high = _value(metrics, "progression_eo_to_g7", "seb:high", year)
        return None if low is None or high is None or not high > 0 else (low, high)

    now = pair(m)
    if now is None:
        return ""

    def figures(p):
        return (f"{fmt_value('progression_eo_to_g7', p[0])} against "
                f"{fmt_value('progression_eo_to_g7', p[1])}")

    text = (f"At {year}'s promotion and leaving rates, an Executive Officer from a lower "
            f"socio-economic background is {now[0] / now[1]:.0%} as likely to reach Grade 7 "
            f"as one from a higher background ({figures(now)})")
    then = None if before is None else pair(before)
    if then is not None:
        text += f"; {other}: {then[0] / then[1]:.0%} ({figures(then)})"
    return text + "."


def _gap_trend(before: float, after: float, same: bool) -> str:
    """How the gap between the regions and London moves when their ratio (regions over
    London) goes from ``before`` to ``after``: nearer parity it narrows, further it widens,
    across parity it reverses. (It said "narrows" whenever the ratio rose, so 145% to 101%
    "widened" and 39% to 145% "narrowed"; review.)

    Examples
    --------
    >>> _gap_trend(0.39, 0.6, False), _gap_trend(1.45, 1.10, False)
    ('the gap narrows', 'the gap narrows')
    >>> _gap_trend(1.45, 1.01, False)
    'the two are now about level'
    >>> _gap_trend(0.6, 0.39, False), _gap_trend(0.39, 1.45, False)
    ('the gap widens', 'the gap reverses: those outside London are now ahead')
    """
    if same:
        return "the gap is about the same"
    if abs(after - 1) < LEVEL:  # (101% on one expected-value run "reversed" it; review)
        return "the two are now about level"
    if (before - 1) * (after - 1) < 0:
        return ("the gap reverses: those outside London are now ahead" if after > 1
                else "the gap reverses: those in London are now ahead")
    far = [abs(math.log(max(r, 1e-9))) for r in (before, after)]
    return ("the gap narrows" if far[1] < far[0] else "the gap widens" if far[1] > far[0]
            else "the gap is about the same")


LEVEL = 0.05
"""A regions/London ratio within this of 1 reads as "about level", not a lead either way.
ASSUMPTION (a reporting convention, no source; 0.02 to 0.10 would serve): 101% on one
expected-value run read "the gap reverses". It applies after the band test (a change within
the runs' P10-P90 of zero reads "about the same" whatever the ratio)."""


def _gap_movement(metric: str, before: tuple[float, float], after: tuple[float, float]
                  ) -> str:
    """Which side moved, from the (outside London, London) figures of the comparison and the
    scenario: a gap nearer parity can be London's fall (38 to 19 of 1,000, with outside
    London's 15 to 19, read "the gap reverses"; review).

    Examples
    --------
    >>> print(_gap_movement("cohort_eo_to_g7", (15.0, 38.0), (19.0, 19.0)))
    , as London's fell from 38 to 19 and outside London's rose from 15 to 19
    """
    def moved(name: str, a: float, b: float) -> str:
        va, vb = fmt_value(metric, a), fmt_value(metric, b)
        if va == vb:
            return f"{name} stayed at {va}"
        return f"{name} {'rose' if b > a else 'fell'} from {va} to {vb}"

    london, rest = moved("London's", before[1], after[1]), moved(
        "outside London's", before[0], after[0])
    return f", as {london} and {rest}"


_GAP_METRIC = {"cohort": "cohort_eo_to_g7", "period": "progression_eo_to_director"}
"""The measure of the progression gap by kind: the cohort's when the run follows one."""


def _gap(metrics, year) -> tuple[str, tuple[float, float]] | None:
    """The progression gap's measure and its two figures (outside London, London): cohort EO
    to G7 when available (its last year), else period EO to Director (in ``year``). (The
    sentence gives both, not the ratio alone: a ratio nearer parity can be London's fall,
    38 to 13 of 1,000 there with the regions' 15 to 19 read "the gap narrows"; review.)"""
    for kind, metric in _GAP_METRIC.items():
        rows = metrics[metrics["metric"] == metric]
        if rows.empty:
            continue
        y = int(rows["year"].max()) if kind == "cohort" else year
        out, lon = (_value(metrics, metric, "outside_london", y),
                    _value(metrics, metric, "london", y))
        if out is not None and lon:
            return kind, (out, lon)
    return None


def _gap_figures(kind: str, figures: tuple[float, float]) -> str:
    """The gap's two figures, outside London and in London, as the sentence gives them."""
    metric = _GAP_METRIC[kind]
    text = f"{fmt_value(metric, figures[0])} and {fmt_value(metric, figures[1])}"
    return text + (" of 1,000" if kind == "cohort" else "")


# --- the PDF ----------------------------------------------------------------------------------

A4 = (8.27, 11.69)


def _page(plt, marking: str | None, source: str, number: int):
    fig = plt.figure(figsize=A4)
    if marking:
        fig.text(0.5, 0.988, marking, ha="center", va="top", fontsize=11, weight="bold")
        fig.text(0.5, 0.006, marking, ha="center", va="bottom", fontsize=9, weight="bold")
    fig.text(0.06, 0.022, textwrap.fill(source, 150), fontsize=6.5, color="#333333",
             va="bottom")
    fig.text(0.94, 0.022, f"Page {number}", fontsize=7, ha="right", va="bottom")
    return fig


TOP = 0.945
"""Where a continued table or text starts on a new page (figure coordinates)."""
FOOT = 0.06
"""The lowest a table or text may reach: the footer (source line and marking) is below."""


class _Pages:
    """The PDF's pages as they are made: a table or text that reaches the foot of a page
    goes on to the next (the value-for-money table ran off its page, its net present value
    and payback with it, and the glossary's last entries; review). ``fig`` is the page being
    written."""

    def __init__(self, plt, marking: str | None, source: str):
        self.plt, self.marking, self.source = plt, marking, source
        self.figs: list = []
        self.fig = None

    def new(self):
        """Start the next page, numbered, with the marking and the source line."""
        self.fig = _page(self.plt, self.marking, self.source, len(self.figs) + 1)
        self.figs.append(self.fig)
        return self.fig

    def room(self, y: float, height: float) -> float:
        """``y`` if ``height`` fits below it on this page, else the top of a new one."""
        if y - height >= FOOT:
            return y
        self.new()
        return TOP


def _heading(pages: _Pages, y: float, text: str, *, fontsize=10.5, keep=0.08) -> float:
    """A heading at ``y``, on the next page if it and ``keep`` of what follows would not
    fit here; returns the ``y`` below it."""
    y = pages.room(y, 0.025 + keep)
    pages.fig.text(0.06, y, text, fontsize=fontsize, weight="bold", va="top")
    return y - 0.025


def _table(pages: _Pages, x: float, top: float, width: float, frame: pd.DataFrame, widths,
           *, fontsize=8.0, wrap=None, title=None) -> float:
    """Draw a table whose top edge is at ``top`` (figure coordinates) on the current page;
    rows are as tall as their wrapped text, and those that do not fit go on to the next
    page under the same header (the title marked "continued"). Returns the ``y`` of its
    bottom edge on the page it ends on."""
    wrap = wrap or {}
    line = fontsize * 1.3 / 72 / A4[1]
    pad = 0.007

    def fill(c, v):  # (line by line: a column named "ho-regional-\ncentres", already
        # wrapped, was joined into one line again and ran into the next column)
        return "\n".join(textwrap.fill(part, wrap.get(c, 200)) or part
                         for part in str(v).split("\n"))

    head = [fill(c, c) for c in frame.columns]
    cells = [[fill(c, v) for c, v in zip(frame.columns, row, strict=True)]
             for row in frame.itertuples(index=False, name=None)]
    heights = [max(t.count("\n") + 1 for t in r) * line + pad for r in [head, *cells]]
    if title:  # (wrapped to the table's width: a long one ran off the page)
        title = textwrap.fill(title, int(width * A4[0] * 72 / (10.5 * 0.62)))
    first = True
    while True:
        title_h = (0.022 + title.count("\n") * 10.5 * 1.2 / 72 / A4[1]) if title else 0.0
        # (a title and header with no row under them go on to the next page with it)
        top = pages.room(top, title_h + heights[0] + (heights[1] if cells else 0.0))
        if title:
            pages.fig.text(x, top, title if first else title + " (continued)", fontsize=10.5,
                           weight="bold", va="top", linespacing=1.2)
            top -= title_h
        if not cells:
            return top
        n, total = 0, heights[0]
        while n < len(cells) and top - total - heights[n + 1] >= FOOT:
            total += heights[n + 1]
            n += 1
        n = max(n, 1)  # (a row taller than a page is drawn, not dropped)
        total = heights[0] + sum(heights[1:n + 1])
        _draw_rows(pages.fig, x, top, width, head, cells[:n], [heights[0], *heights[1:n + 1]],
                   widths, fontsize)
        cells, heights = cells[n:], [heights[0], *heights[n + 1:]]
        if not cells:
            return top - total
        pages.new()
        top, first = TOP, False


def _draw_rows(fig, x, top, width, head, cells, heights, widths, fontsize) -> None:
    """One page's part of a table: the header and ``cells``, each row ``heights`` tall."""
    total = sum(heights)
    ax = fig.add_axes([x, top - total, width, total])
    ax.axis("off")
    t = ax.table(cellText=cells, colLabels=head, loc="upper left", cellLoc="left",
                 colLoc="left", colWidths=widths, bbox=None)
    t.auto_set_font_size(False)
    t.set_fontsize(fontsize)
    for (r, _), cell in t.get_celld().items():
        cell.set_height(heights[r] / total)
        cell.set_edgecolor("#999999")
        if r == 0:
            cell.set_facecolor("#e8e8e8")
            cell.get_text().set_weight("bold")


_UNIT_GLUE = re.compile(r"(?<=\d) (?=(?:points|posts|people|of 1,000)\b)")


def _paragraphs(pages: _Pages, x, y, paras: list[str], *, width=100, fontsize=9, gap=0.012,
                bullet=False, linespacing=1.35) -> float:
    """Write wrapped paragraphs from ``y`` down, a paragraph that does not fit on the next
    page; return the ``y`` below them."""
    for p in paras:
        # (a number is never split from its unit at a line's end: "about 4.2 | points")
        text = textwrap.fill(("• " if bullet else "") + _UNIT_GLUE.sub("\u00a0", p), width,
                             subsequent_indent="  " if bullet else "").replace("\u00a0", " ")
        height = (text.count("\n") + 1) * fontsize * linespacing / 72 / A4[1]
        y = pages.room(y, height)
        pages.fig.text(x, y, text, fontsize=fontsize, va="top", linespacing=linespacing)
        y -= height + gap
    return y


def briefing_pdf(results, pkg, path: Path, *, about: About, compare=None,
                 compare_about: About | None = None, diff: pd.DataFrame | None = None,
                 marking: str | None = None, rule: DisclosureRule = RULE) -> Path:
    """The briefing PDF: the answer, the difference table and map first; targets, figures,
    method, assumptions, sources and glossary after.

    Parameters
    ----------
    results : Results
    pkg : DataPackage
    path : pathlib.Path
    about : About
        The scenario's title and question.
    compare : Results, optional
        The comparison (e.g. the baseline).
    compare_about : About, optional
    diff : pandas.DataFrame, optional
        ``compare_results(compare, results)``; computed when omitted.
    marking : str, optional
        Protective marking on every page.
    rule : DisclosureRule

    Returns
    -------
    pathlib.Path
    """
    about = for_department(about, results)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from .maps import draw_map, map_view

    plt.rcParams["pdf.fonttype"] = 42  # real text: searchable and extractable
    if compare is not None and diff is None:
        from .compare import compare_results

        diff = compare_results(compare, results)
    man = results.manifest
    m = results.metrics
    last = int(m["year"].max())
    source = source_line(man)
    other = compare_about or (About(compare.manifest.get("scenario", "comparison"))
                              if compare is not None else None)
    mode = results.runs_words
    pages = _Pages(plt, marking, source)

    # page 1: question, answer, difference table, difference map
    fig = pages.new()
    fig.text(0.06, 0.955, textwrap.fill(about.heading, 62), fontsize=15, weight="bold",
             va="top")
    y = 0.955 - 0.028 * (textwrap.fill(about.heading, 62).count("\n") + 1) - 0.005
    sub = textwrap.fill((f"Compared with {other.heading}. " if other else "")
                        + f"Figures for {last}; {mode}.", 120)  # (it ran off the page)
    fig.text(0.06, y, sub, fontsize=8.5, va="top", color="#333333", linespacing=1.3)
    y -= 0.025 + sub.count("\n") * 8.5 * 1.3 / 72 / A4[1]
    if about.question:
        fig.text(0.06, y, "The question", fontsize=10.5, weight="bold", va="top")
        y = _paragraphs(pages, 0.06, y - 0.02, [about.question], width=98, fontsize=9)
    y = _heading(pages, y - 0.005, "The answer")
    # (108 characters at 9 points ran off the page; 8.5 points and closer lines keep the
    # answer, the table and the map on one page with the answer's background sentence)
    y = _paragraphs(pages, 0.06, y, answer(results, about, compare, other, rule),
                    width=104, fontsize=8.5, bullet=True, gap=0.005, linespacing=1.28)
    rows = first_page_rows(results, compare, diff, last, rule)
    if compare is not None and not (results.banded or compare.banded):  # (no range to give:
        # a column saying "none: expected values" on every row took the room of the map,
        # which the subtitle's "expected values" already explains)
        shown = rows[["Measure", "Comparison", "Scenario", "Difference"]].rename(
            columns={"Comparison": _short(other.name), "Scenario": _short(about.name)})
        widths = [0.52, 0.12, 0.12, 0.16]
        wrap = {"Measure": 64, "Difference": 18}
    elif compare is not None:
        shown = rows[["Measure", "Comparison", "Scenario", "Difference", "Range"]].rename(
            columns={"Comparison": _short(other.name), "Scenario": _short(about.name),
                     "Range": "Range of the difference"})
        widths = [0.36, 0.12, 0.12, 0.16, 0.24]
        wrap = {"Measure": 40, "Difference": 18, "Range of the difference": 27}
    else:
        shown = rows[["Measure", "Scenario"]].rename(columns={"Scenario": _short(about.name)})
        widths, wrap = [0.6, 0.2], {"Measure": 70}
    # (what the rows hold: a department's view has no leavers' or money rows, and its
    # title said "moves, leavers and money"; review)
    kinds = ["moves"] + [word for word, metrics in (
        ("leavers", {"leavers_caused_by_relocation"}),
        ("money", {"relocation_cost_gbp", "npv_gbp", "npv_long_run_gbp", "payback_year"}))
        if rows["metric"].isin(metrics).any()]
    bottom = _table(pages, 0.06, y - 0.012, 0.88, shown, widths, fontsize=7.5, wrap=wrap,
                    # ("to date" stood over an NPV that runs on to the appraisal period's end;
                    # each row's label says what it covers; review)
                    title=f"Headline figures, {last}: {listed(kinds)}"
                    + (" (difference: scenario minus comparison)" if compare is not None
                       else ""))  # (the cumulative ones said nothing of it; review)
    map_top = bottom - 0.025
    view = map_view(results, pkg, "net_posts_gained", last, compare=compare,
                    compare_name=other.name if other else "", rule=rule)
    if map_top <= 0.2:  # (no room for a map a reader could read: it gets a page of its own,
        # the next; the pointer named the pack's map file, which the app's PDF is without)
        what = "the difference in net posts gained" if compare is not None else \
            "net posts gained"
        if map_top - 0.015 >= FOOT:  # (a table ending at the foot leaves no line for it)
            pages.fig.text(0.06, map_top, f"The map of {what} is on page "
                           f"{len(pages.figs) + 1}: it does not fit on this page.",
                           fontsize=8.5, va="top", color="#333333")
        pages.new()
        map_top = 0.955
    fig = pages.fig
    fig.text(0.06, map_top, view.spec.title, fontsize=10.5, weight="bold", va="top")
    h = map_top - 0.075
    if h > 0.25:  # (room: the inset above the legend, right of the map)
        draw_map(fig, pkg, view, [0.03, 0.05, 0.56, h],
                 inset=[0.6, 0.05 + h * 0.58, 0.36, h * 0.38],
                 legend=[0.6, 0.05, 0.38, h * 0.55], labels=False, legend_fontsize=7)
    else:  # (short: map, inset and legend side by side, each the full height; the
        # legend under the inset ran into the page's footer)
        draw_map(fig, pkg, view, [0.03, 0.05, 0.38, h],
                 inset=[0.40, 0.05 + h * 0.15, 0.24, h * 0.7],
                 legend=[0.66, 0.05, 0.32, h], labels=False, legend_fontsize=6.5)

    # then targets, the scenario's figures with ranges, progression explained
    pages.new().text(0.06, 0.955, "Targets and the scenario's figures", fontsize=14,
                     weight="bold", va="top")
    tt = targets_table(m, rule=rule, department=results.manifest.get("department"),
                       banded=results.banded)
    y = 0.92
    if len(tt):
        t = tt[["Target", "By", "Target value", "Projected", "Range (P10 to P90)", "Met?"]]
        y = _table(pages, 0.06, y, 0.88, t, [0.34, 0.07, 0.12, 0.12, 0.2, 0.15], fontsize=7.5,
                   wrap={"Target": 36, "Range (P10 to P90)": 24, "Met?": 18},
                   title="Published targets") - 0.03
    figures = headline_table(results, last, rule)
    y = _table(pages, 0.06, y, 0.88, figures, [0.56, 0.16, 0.28] if figures.shape[1] == 3
               else [0.7, 0.3], fontsize=7.5, wrap={"Measure": 80},
               title=f"All headline figures for {about.name}, {last}") - 0.03
    y = _heading(pages, y, "How progression is measured")
    sentence = progression_sentence(m, last)
    _paragraphs(pages, 0.06, y, [s for s in (sentence, measure(
        "progression_eo_to_director").description) if s], width=105, fontsize=8.5)

    # value for money (Green Book appraisal), every line with its source
    pages.new().text(0.06, 0.955, "Value for money", fontsize=14, weight="bold", va="top")
    vfm = appraisal_rows(results, compare)
    if vfm.empty:  # a department's view: costs are the whole service's
        _paragraphs(pages, 0.06, 0.92, [WHOLE_SERVICE_COSTS, DEPARTMENT_SHARES], width=110,
                    fontsize=8.5)
    else:
        _value_for_money_page(pages, vfm, m["year"].unique(), compare, other,
                              _appraisal_years(results))

    # assumptions, sources, disclosure, glossary
    pages.new().text(0.06, 0.955, "Assumptions, sources and glossary", fontsize=14,
                     weight="bold", va="top")
    y = _paragraphs(pages, 0.06, 0.92, [
        f"Scenario {about.name} (version {man.get('scenario_hash', '')}), {mode}, seed "
        f"{man.get('seed', '')}; made with placesim {man.get('code_version', '')} on "
        f"{str(man.get('created', ''))[:10]}." + (
            f" Compared with {other.name} (version "
            f"{compare.manifest.get('scenario_hash', '')})." if compare is not None else ""),
        "Disclosure control: " + rule_text(rule)], width=110, fontsize=8.5)
    assumptions = (([about.workforce] if about.workforce else []) + [RECRUITS_WORDS]
                   + _key_assumptions(results))
    if assumptions:
        y = _heading(pages, y - 0.01, "Main assumptions (full list in the spreadsheet)")
        y = _paragraphs(pages, 0.06, y - 0.01, assumptions, width=112, fontsize=7.5,
                        bullet=True, gap=0.003)
    from .export import SOURCES

    y = _heading(pages, y - 0.01, "Sources")
    y = _paragraphs(pages, 0.06, y - 0.01, [f"{n}: {d}." for n, d in SOURCES], width=112,
                    fontsize=7.5, bullet=True, gap=0.003)
    y = _heading(pages, y - 0.01, "Glossary")
    _paragraphs(pages, 0.06, y - 0.01, [f"{k}: {v}" for k, v in GLOSSARY.items()], width=112,
                fontsize=7.5, bullet=True, gap=0.003)
    figs = pages.figs

    def write(tmp: Path) -> None:
        with PdfPages(tmp) as pdf:
            for f in figs:
                pdf.savefig(f)
            info = pdf.infodict()
            info["Title"] = about.heading
            info["Subject"] = about.question

    try:
        atomic_write(Path(path), write)
    finally:
        for f in figs:
            plt.close(f)
    return Path(path)


def _value_for_money_page(pages: _Pages, vfm: pd.DataFrame, years, compare, other,
                          period: float | None = None) -> None:
    """The value-for-money page's text and table: the appraisal's lines
    (:func:`appraisal_rows`) over the records' ``years``, the long run over ``period``
    years (the run's ``costs.appraisal_years``)."""
    from .costs import appraisal_period, default_costs

    y = _paragraphs(pages, 0.06, 0.92, [
        f"Costs and savings of {appraisal_period(years)}, against the posts of each grade "
        "staying where they were at the start, each summed over the years undiscounted; the "
        "net present value discounts each year's net saving at 3.5% a year from the first of "
        "them (HM Treasury Green Book), so the two totals do not net to it. The net present "
        f"value over the appraisal period ({period or default_costs()['appraisal_years']:g} "
        "years: "
        "costs.appraisal_years; the Government Hubs programme appraised over 20) adds the last "
        "year's running savings and costs, held flat for the years after the run (an "
        "assumption), so that moves late in the run are not judged on their one-off costs "
        "alone. A London office's "
        "closure saves its running cost only for desks beyond those the London posts avoided "
        "already release, which the desks line counts." + (
            f" The difference is this scenario minus {other.heading}: its value against that."
            if compare is not None else " Compare with the baseline for the value of this "
            "scenario over the baseline."),
        "Claims of benefits outside government are the government's and Lyons's, shown as "
        "claims and never counted in the net present value."], width=110, fontsize=8.5)
    cols = ["Line", "Scenario", "Range (P10 to P90)"] + (
        ["Comparison", "Difference"] if compare is not None else []) + ["Source"]
    widths = ([0.19, 0.11, 0.13, 0.09, 0.09, 0.27] if compare is not None
              else [0.22, 0.1, 0.17, 0.39])
    _table(pages, 0.06, y - 0.01, 0.88, vfm[cols].rename(columns={
        "Range (P10 to P90)": "P10 to P90"}), widths, fontsize=6.5,
           wrap={"Line": 24, "Source": 33 if compare is not None else 55, "P10 to P90": 20},
           title="Costs, savings, net present value")


def appraisal_rows(results, compare=None) -> pd.DataFrame:
    """The value-for-money table as text: each line of :func:`placesim.costs.appraisal`, its
    range, the comparison's value and the difference (when comparing), and its source.

    Parameters
    ----------
    results, compare : Results

    Returns
    -------
    pandas.DataFrame
        ``metric, Line, Scenario, Range (P10 to P90), [Comparison, Difference,] Source``;
        no rows for a department's view (:data:`WHOLE_SERVICE_COSTS`).
    """
    from .costs import appraisal
    from .metrics import LATER_THAN_THE_RUN

    a = appraisal(results).set_index("metric")
    last = int(results.metrics["year"].max())
    c = appraisal(compare).set_index("metric") if compare is not None else None
    banded = results.banded
    periods = _periods_differ(results, compare)
    rows = []
    for metric, r in a.iterrows():
        later = metric in LATER_THAN_THE_RUN  # (a band may reach past the run's years)
        row = {"metric": metric, "Line": metric_label(metric),
               "Scenario": fmt_central(metric, r["mean"], r["p50"], banded, last),
               "Range (P10 to P90)": (
                   f"{fmt_reached(metric, r['p10'], last)} to {fmt_reached(metric, r['p90'], last)}"
                   if banded and later and (_finite(r["p10"]) or _finite(r["p90"])) else
                   fmt_range(metric, r["p10"], r["p90"])
                   if _finite(r["p10"]) and r["p10"] != r["p90"] else "no band")}
        if c is not None:
            v0 = c["mean"].get(metric, float("nan"))
            row["Comparison"] = fmt_central(metric, v0, c["p50"].get(metric, float("nan")),
                                         compare.banded, last)
            row["Difference"] = fmt_diff(metric, r["mean"] - v0) if metric != \
                "payback_year" else "n/a"
            if metric == "npv_long_run_gbp" and periods:
                row["Difference"] = periods
        row["Source"] = r["source"]
        rows.append(row)
    return pd.DataFrame(rows, columns=["metric", "Line", "Scenario", "Range (P10 to P90)"] + (
        ["Comparison", "Difference"] if c is not None else []) + ["Source"])


def _appraisal_numbers(results, compare=None) -> pd.DataFrame:
    """The appraisal as numbers for the pack's CSV (``mean_comparison`` and ``difference``
    when comparing), each line with its ``basis``: a sum over the years, undiscounted, or
    the last year's figure (the net present value, discounted to date; the payback year; the
    claims). (The CSV mixed the two without a word, so its costs and savings did not net to
    its NPV; review.)"""
    from .costs import APPRAISAL_LINES, appraisal, appraisal_period

    a = appraisal(results)
    if compare is not None:
        c = appraisal(compare).set_index("metric")["mean"]
        a.insert(5, "mean_comparison", a["metric"].map(c))
        a.insert(6, "difference", a["mean"] - a["mean_comparison"])
        if _periods_differ(results, compare):  # (NPVs over periods of different lengths)
            a.loc[a["metric"] == "npv_long_run_gbp", "difference"] = float("nan")
    years = results.metrics["year"].unique()
    how = dict(APPRAISAL_LINES)
    last = int(max(years))
    basis = {"sum": f"sum over {appraisal_period(years)}, undiscounted",
             "last": f"in {last}"}
    discounted = {"npv_gbp": ", discounted to date",
                  "npv_long_run_gbp": ", discounted, with its running savings and costs held "
                                      "to the end of the appraisal period"}
    a.insert(1, "basis", [basis[how[m]] + discounted.get(m, "") for m in a["metric"]])
    return a


def _map_stem(metric: str, difference: bool) -> str:
    """The pack's file name (no suffix) of a map of ``metric``, or of its difference."""
    return f"map_difference_{metric}" if difference else f"map_{metric}"


def _short(name: str) -> str:
    return textwrap.fill(name, 14)


def _key_assumptions(results, limit: int = 14) -> list[str]:
    """The assumptions the pack lists: those of the scenario's own levers and relocation
    policies first, then the model's assumed parameters (the list was the first fourteen of
    those alone, in alphabetical order: mostly unit costs, and never the lever that moved
    the answer; review)."""
    a = results.assumptions
    if a is None or a.empty or "assumption" not in a:
        return []
    assumed = a["assumption"].astype(bool)
    own = a["name"].astype(str).str.startswith(("levers.", "waves."))
    a = pd.concat([a[own & assumed], a[~own & assumed]])
    out = [f"{r.name} = {setting_text(r.value)}: {r.source}"
           for r in a.head(limit).itertuples(index=False)]
    if len(a) > limit:
        out.append(f"… and {len(a) - limit} more in the spreadsheet's last table.")
    return out


def headline_table(results, year: int | None = None, rule: DisclosureRule = RULE
                   ) -> pd.DataFrame:
    """The scenario's headline figures in one year with their ranges, as text (through
    disclosure control)."""
    m = results.metrics
    year = int(m["year"].max()) if year is None else year
    ctl = _rows(control_metrics(m, rule), year)
    banded = results.banded
    rows = []
    for metric, group in headlines_in(m):
        r = ctl[(metric, group)]
        row = {"Measure": headline_label(metric, group), "Value": fmt_value(metric, r.mean)}
        if banded:
            row["Range (P10 to P90)"] = fmt_range(metric, r.p10, r.p90)
        rows.append(row)
    return pd.DataFrame(rows)


# --- the pack ---------------------------------------------------------------------------------

def write_brief(results, pkg, out: Path, *, compare=None, marking: str | None = None,
                threshold: int = 5, about: About | None = None,
                compare_about: About | None = None) -> list[Path]:
    """Write the briefing pack into ``out``.

    Parameters
    ----------
    results : Results
    pkg : DataPackage
    out : pathlib.Path
    compare : Results, optional
        The comparison (e.g. the baseline): the pack then leads with the differences.
    marking : str, optional
        Protective marking printed on every page and map.
    threshold : int
        Disclosure control threshold for counts of people.
    about, compare_about : About, optional
        Title and question of each run (default: the names only).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    placesim.compare.MixedModesError
        One run is expected-mode and the other stochastic.
    """
    from .maps import export_map

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rule = DisclosureRule(threshold=threshold)
    about = for_department(about or About(str(results.manifest.get("scenario", ""))), results)
    diff = None
    if compare is not None:
        from .compare import compare_results

        diff = compare_results(compare, results)
        compare_about = compare_about or About(str(compare.manifest.get("scenario", "")))
    paths = [briefing_pdf(results, pkg, out / "briefing.pdf", about=about, compare=compare,
                          compare_about=compare_about, diff=diff, marking=marking, rule=rule)]
    maps = [(metric, None) for metric in KEY_MAPS]
    if compare is not None:
        maps.append(("net_posts_gained", compare))
    for metric, other in maps:
        stem = out / _map_stem(metric, other is not None)
        paths.append(export_map(results, pkg, metric=metric, year=None, fmt="png",
                                out=stem.with_suffix(".png"), marking=marking,
                                threshold=threshold, compare=other,
                                compare_name=compare_about.name if other is not None else "",
                                also=(stem.with_suffix(".pdf"),)))
        paths.append(stem.with_suffix(".pdf"))
    t = targets_table(results.metrics, rule=rule, department=results.manifest.get("department"),
                      banded=results.banded)
    write_csv(t, out / "targets.csv")
    vfm = _appraisal_numbers(results, compare)
    if vfm.empty and results.manifest.get("department"):  # (a department's: it was a header
        # alone, the reason only on the PDF's value-for-money page; review)
        vfm = pd.DataFrame([{"metric": "not_by_department", "source": WHOLE_SERVICE_COSTS}],
                           columns=vfm.columns)
    write_csv(vfm, out / "value_for_money.csv")
    paths.append(out / "value_for_money.csv")
    write_csv(with_view(control_metrics(results.metrics, rule), results.manifest),
              out / "metrics.csv")
    paths += [out / "targets.csv", out / "metrics.csv"]
    if diff is not None:
        write_csv(with_view(controlled_difference(diff, rule), results.manifest),
                  out / "difference.csv")
        paths.append(out / "difference.csv")
    paths += write_spreadsheet(results, out / "results.xlsx", pkg=pkg, compare=compare,
                               diff=diff, rule=rule, also=(out / "results.ods",))
    paths.append(write_geopackage(results, pkg, out / "districts.gpkg", rule=rule))
    summary = answer(results, about, compare, compare_about, rule)
    write_text("\n".join([about.heading, about.question, ""] + summary) + "\n\n"
               + source_line(results.manifest) + "\n", out / "summary.txt")
    prov = dict(results.manifest)
    prov["source_line"] = source_line(results.manifest)
    prov["disclosure_control"] = rule_text(rule)
    if compare is not None:
        prov["compared_with"] = {k: compare.manifest.get(k) for k in
                                 ("scenario", "scenario_hash", "seed", "replications", "mode")}
        prov["interval"] = diff.attrs.get("pairing")
    write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", out / "provenance.json")
    paths += [out / "summary.txt", out / "provenance.json"]
    return paths


def controlled_difference(diff: pd.DataFrame, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """A comparison table (:func:`placesim.compare.compare_results`) through disclosure
    control: counts and their differences rounded, small ones withheld."""
    out = diff.copy()
    is_count = diff["metric"].map(lambda k: measure(k).is_count).to_numpy(bool)
    for col in ("mean_a", "mean_b", "diff", "diff_p10", "diff_p50", "diff_p90", "p50_a",
                "p50_b"):  # (every value column: the runs' medians were passed raw; review)
        if col in out:
            out[col] = protect(diff[col].to_numpy(float), count=is_count, rule=rule)
    return out
