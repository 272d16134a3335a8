"""How figures are shown to people: labels, units, number formats, glossary and colours.

One presentation layer for the app, the command line, the maps and the briefing pack, so a
figure reads the same everywhere: whole people and posts ("22,000"), rounded money
("£460m"), shares as per cent ("41.2%") and their differences in percentage points
("+1.2 points"), never scientific notation or ``nan``. Unknown metrics (the engine may add
some) get a label made from their name and a format guessed from it.

Colour rules live here too: palettes safe for the common colour-vision deficiencies
(Okabe–Ito for lines, viridis for sequential maps, ColorBrewer PuOr for differences) and a
WCAG contrast check for text placed on a colour.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from .costs import YEAR_ONLY_METRICS
from .grades import RUNG_POSTS

NOT_AVAILABLE = "n/a"

#: Units a measure can have. ``people`` and ``posts`` are counts (disclosure-controlled).
UNITS = ("people", "posts", "share", "chance", "per_1000", "gbp", "grades", "number", "year")
COUNT_UNITS = frozenset({"people", "posts"})


@dataclass(frozen=True)
class Measure:
    """What a metric is called and how its values read.

    Attributes
    ----------
    label : str
        Plain words, sentence case, no unit.
    unit : str
        One of :data:`UNITS`.
    description : str
        One sentence a reader can act on (shown as help and in the glossary of a pack).
    public : bool
        Named public posts (permanent secretaries), whose whereabouts are published: shown
        as they are, not disclosure-controlled as counts of people are.
    below_zero : str
        How a count below zero reads, ``{}`` standing for its size (a cut that is a rise:
        "none (5,000 more)", not "-5,000 ... cut"); "" for a plain minus.
    in_the_year : bool
        Money that is the year's alone, not a total to date
        (:data:`placesim.costs.YEAR_ONLY_METRICS`, which sets it).
    """

    label: str
    unit: str
    description: str = ""
    public: bool = False
    below_zero: str = ""
    in_the_year: bool = False

    @property
    def is_count(self) -> bool:
        """Counts of people or posts (these are disclosure-controlled), but named public
        posts."""
        return self.unit in COUNT_UNITS and not self.public

    @property
    def unit_words(self) -> str:
        """The unit as a reader sees it in a column header or legend title."""
        return {"people": "people", "posts": "posts", "share": "%", "chance": "%",
                "per_1000": "per 1,000", "gbp": "£", "grades": "grades",
                "number": "", "year": "year"}[self.unit]


MEASURES: dict[str, Measure] = {
    "roles_moved_out_of_london": Measure(
        "Roles moved out of London", "posts",
        "Posts moved from London districts to elsewhere since the programme began, "
        "cumulative: roles the scenario records as moved before its start year are included."),
    "london_roles_cut_since_2025": Measure(
        "London roles cut since March 2025", "posts",
        "London's Civil Service posts in March 2025 less those in the year: roles moved out, "
        "closed or not refilled (the Plan for Change's measure; roles re-created outside "
        "London with none closed in London do not count). Not shown for a run that starts "
        "after 2025.", below_zero="none ({} more)"),
    "roles_moved_before_start": Measure(
        "Roles moved out of London before the run", "posts",
        "Roles moved out of London before the run's start year, from the scenario's record "
        "of the programme so far: included in the roles moved out of London."),
    "scs_outside_london_share": Measure(
        "Senior Civil Service posts outside London", "share",
        "Share of UK Government Senior Civil Service (SCS) posts held outside London, the "
        "Places for Growth measure: UK-based SCS without the Scottish and Welsh Governments' "
        "(about 500 SCS, none in London)."),
    "scs_outside_london_share_acses": Measure(
        "Senior Civil Service posts outside London (all UK-based)", "share",
        "Share of all UK-based SCS posts held outside London, as Civil Service Statistics "
        "count them (devolved administrations included)."),
    "perm_secs_outside_london": Measure(
        "Permanent secretaries outside London", "posts",
        "UK Government permanent secretary posts held outside London (the Scottish and "
        "Welsh Governments' permanent secretaries, in Edinburgh and Cardiff, not counted). "
        "Named public posts: shown as they are (a count under 5 of people would be "
        "withheld, which left the 2-3 target unanswerable).", public=True),
    "perm_secs_outside_south_east": Measure(
        "Permanent secretaries outside London, the South East and the home counties", "posts",
        "UK Government permanent secretary posts held outside London, the South East and the "
        "home counties (Bedfordshire, Hertfordshire and Essex), the area the Social Mobility "
        "Commission's action 8.1 names; the Scottish and Welsh Governments' not counted. "
        "Named public posts: shown as they are.", public=True),
    "policy_roles_outside_london": Measure(
        "Policy roles outside London", "posts", "Policy profession posts held outside London."),
    "private_office_roles_outside_london": Measure(
        "Private office roles outside London", "posts",
        "Private office posts held outside London."),
    "high_seb_share_london_scs": Measure(
        "Senior civil servants in London from higher socio-economic backgrounds", "share",
        "Share of SCS in London whose parents had professional or managerial jobs."),
    "high_seb_share_non_london_scs": Measure(
        "Senior civil servants outside London from higher socio-economic backgrounds", "share",
        "Share of SCS outside London whose parents had professional or managerial jobs."),
    "london_share_of_high_seb_g7_plus": Measure(
        "London's share of higher-background staff at Grade 7 and above", "share",
        "Of staff at Grade 7 and above from higher socio-economic backgrounds, the share "
        "working in London: it falls whenever London's share of all staff at those grades "
        "does, whatever their backgrounds (the concentration is the measure below)."),
    "high_seb_share_london_g7_plus": Measure(
        "Staff at Grade 7 and above in London from higher socio-economic backgrounds",
        "share", "Of London's own staff at Grade 7 and above, the share whose parents had "
        "professional or managerial jobs: the concentration the Social Mobility Commission "
        "asks about."),
    "progression_eo_to_g7": Measure(
        "Chance an EO reaches Grade 7 (period measure)", "chance",
        "Technical measure: the chance that an Executive Officer would reach Grade 7 if that "
        "year's promotion and leaving rates held throughout their career (by place or "
        "background: that group's rates at every grade, as if they stayed in it). It follows "
        "the "
        "year's vacancies: growth and new posts raise it, so in the shipped baseline, whose "
        "posts stop growing after March 2024, it falls over the next two years as that "
        "growth works through the grades, then holds."),
    "progression_eo_to_director": Measure(
        "Chance an EO reaches Director (period measure)", "chance",
        "Technical measure: the chance that an Executive Officer would reach Director (SCS2) "
        "if that year's promotion and leaving rates held throughout their career (by place or "
        "background: that group's rates at every grade, as if they stayed in it)."),
    "cohort_eo_to_g7": Measure(
        "EOs reaching Grade 7, of 1,000", "per_1000",
        "Of 1,000 Executive Officers in post at the start (outside London, or in London), "
        "how many have been promoted to Grade 7 by the end of each year, wherever they work "
        "by then. Those who leave count as not reaching it."),
    "moves_to_london_for_promotion": Measure(
        "Moves to London for promotion", "people",
        "People who moved to a London post to be promoted, in the year."),
    "moves_from_london_for_promotion": Measure(
        "Moves out of London for promotion", "people",
        "People who moved from London to a post elsewhere to be promoted, in the year."),
    "leavers_caused_by_relocation": Measure(
        "Leavers because their post moved", "people",
        "People who left the Civil Service rather than move with their post, since the "
        "start (cumulative)."),
    "posts_created": Measure(
        "Posts opened", "posts",
        "Posts opened since the start: re-created roles and workforce growth (cumulative)."),
    "posts_closed": Measure(
        "Posts closed", "posts",
        "Posts closed since the start, as they fell vacant or at a set year (cumulative)."),
    "closures_pending": Measure(
        "Closures waiting for a vacancy", "posts",
        "Posts due to close (a re-created role's old post, a workforce cut) that are still "
        "open at the year's end, waiting to fall vacant."),
    "redundancies": Measure(
        "Redundancies", "people",
        "People made redundant because their London post closed by a set year before it "
        "fell vacant, since the start (cumulative)."),
    "incumbents_relocated": Measure(
        "People who moved with their post", "people",
        "People who moved with their post when it was relocated, since the start "
        "(cumulative)."),
    "site_posts": Measure("Posts at the site", "posts", "Posts of a grade at a hub or campus."),
    "site_ladder_completeness": Measure(
        "Grades AO to Director present", "share",
        f"Share of the grades from AO to Director (SCS2) with at least {RUNG_POSTS} posts at "
        "the site (fewer is a count withheld, and a promotion there every few years at "
        "most)."),
    "site_ladder_largest_gap": Measure(
        "Longest run of missing grades", "grades",
        f"The longest run of consecutive grades with fewer than {RUNG_POSTS} posts at the "
        "site."),
    "coldspot_share_of_moved_roles": Measure(
        "Roles moved in the run that went to coldspots", "share",
        "Share of the posts moved since the start that went to social-mobility coldspots "
        "(moves before the start, the recorded history, are left out: where they went is "
        "not all known)."),
    "relocation_cost_gbp": Measure(
        "People costs of the moves to date", "gbp", "Cost of the people the moves move or lose, "
        "since the start (cumulative, undiscounted): relocation packages and support for those who "
        "move, and with the relocation-support lever its payments to people who move area for "
        "promotion; redundancy pay, recruiting replacements and output lost while posts are "
        "vacant for those who leave or are made redundant (the value-for-money "
        "appraisal's figures)."),
    # the Green Book appraisal (placesim.costs): against the start year's location of posts
    "cost_relocation_gbp": Measure(
        "Cost: relocation packages", "gbp",
        "Relocation packages and support paid to people moving with their post, and the "
        "relocation-support lever's payment for every promotion across a labour-market area "
        "while it is on (those who would have moved anyway included), in the year."),
    "cost_redundancy_gbp": Measure(
        "Cost: redundancy", "gbp",
        "Redundancy pay for people who leave rather than move, or whose post closes, in the "
        "year."),
    "cost_recruitment_gbp": Measure(
        "Cost: recruiting replacements", "gbp",
        "Recruiting and training replacements for people who leave rather than move, in the "
        "year."),
    "cost_vacancy_gbp": Measure(
        "Cost: output lost to vacancies", "gbp",
        "Output lost while the posts of people who left stand vacant, in the year."),
    "cost_hub_capital_gbp": Measure(
        "Cost: new hub space", "gbp",
        "Capital cost of new office space outside London, in the year."),
    "cost_double_running_gbp": Measure(
        "Cost: double running", "gbp",
        "London posts already replaced elsewhere but not yet closed, paid in full, in the "
        "year."),
    "cost_outreach_gbp": Measure(
        "Cost: recruitment outreach", "gbp",
        "What the recruitment outreach lever spent on the people it reached, in the year."),
    "cost_secondments_gbp": Measure(
        "Cost: secondments", "gbp",
        "What the secondments lever cost: council staff on secondment in campus posts, cover "
        "for civil servants out on secondment with councils, and the permanent posts of "
        "secondees who stayed, in the year."),
    "cost_total_gbp": Measure(
        "Costs", "gbp", "All costs of the relocations and levers in the year."),
    "saving_pay_gbp": Measure(
        "Saving: pay", "gbp",
        "Lower pay outside London for the London posts avoided, in the year."),
    "saving_estate_gbp": Measure(
        "Saving: desks", "gbp",
        "Cheaper desks outside London for the London posts avoided, in the year."),
    "saving_office_closures_gbp": Measure(
        "Saving: London offices closed", "gbp",
        "Running costs of the London offices closed, in the year."),
    "saving_total_gbp": Measure("Savings", "gbp", "All savings of the relocations in the year."),
    "net_saving_gbp": Measure("Net saving", "gbp", "Savings minus costs in the year."),
    "discounted_net_saving_gbp": Measure(
        "Net saving, discounted", "gbp",
        "Savings minus costs at 3.5% a year (HM Treasury Green Book), in the year."),
    "npv_gbp": Measure(
        "Net present value", "gbp",
        "Savings minus costs to date, discounted at 3.5% a year (HM Treasury Green Book), in "
        "constant prices of the start year. Against the posts staying where they were at the "
        "start; compare two scenarios for the difference between them."),
    "npv_long_run_gbp": Measure(
        "Net present value over the appraisal period", "gbp",
        "The net present value to date plus, for each later year of the appraisal period (20 "
        "years from the start unless costs.appraisal_years sets it: the Government Hubs "
        "programme's), the year's running net saving (savings less double running, outreach, "
        "secondments and relocation support for promotions) held flat and discounted at 3.5% a "
        "year: an ASSUMPTION that things stay as they are after the run, so that moves late "
        "in it are not judged on their one-off costs alone."),
    "payback_year": Measure(
        "Payback year", "year",
        "First year in which the discounted savings have repaid the costs."),
    "london_posts_avoided": Measure(
        "London posts avoided", "posts",
        "Posts that would be in London at the start year's share of each grade, but are not."),
    "claim_local_benefit_gbp": Measure(
        "Claimed local benefit of the roles moved in the run (a claim)", "gbp",
        "The government's claim of £30m of local economic benefit per 1,000 roles moved out "
        "of London (it gives no period), times the roles moved since the run's start. A "
        "claim: never counted in the net present value."),
    "claim_private_sector_jobs": Measure(
        "Claimed private-sector jobs (a claim)", "number",
        "Lyons (2004): 10 civil-service jobs bring about 11 private-sector jobs. A claim: "
        "never counted in the net present value."),
    "posts_awaiting_site_capacity": Measure(
        "Posts waiting for desks", "posts",
        "Posts due to move but waiting for space at a full site."),
    "wave_posts_not_found": Measure(
        "Posts a wave asked for but did not find", "posts",
        "Posts a wave asked for but did not find matching its selector in its origin, to "
        "date (earlier waves, the history or the workforce trend had taken them): it moved "
        "those it found."),
    "headcount": Measure("Headcount", "people", "Civil servants in post."),
    "posts": Measure("Posts", "posts", (
        "Posts, filled or waiting to be filled, and those council staff hold on secondment at "
        "the campuses (not civil servants, so not in the headcount).")),
    "net_posts_gained": Measure(
        "Net posts gained since the start", "posts",
        "Posts in the district now minus posts at the start (negative: posts lost)."),
    "headcount_change": Measure(
        "Headcount change since the start", "people",
        "People in post in the district now minus at the start."),
    "scs_posts": Measure("Senior Civil Service posts", "posts", "SCS posts in the district."),
    "high_seb_share": Measure(
        "Staff from higher socio-economic backgrounds", "share",
        "Share of staff whose parents had professional or managerial jobs."),
    "coldspot": Measure("Social-mobility coldspot", "number",
                        "Districts the Social Mobility Commission's index ranks least "
                        "favourable."),
    "ci1_zscore": Measure("Conditions of childhood (SMC index)", "number",
                          "Social Mobility Commission index: standard deviations from the "
                          "average district (negative: less favourable)."),
    "ci2_zscore": Measure("Labour market outcomes (SMC index)", "number",
                          "Social Mobility Commission index: standard deviations from the "
                          "average district (negative: less favourable)."),
    "ci3_zscore": Measure("Innovation and growth (SMC index)", "number",
                          "Social Mobility Commission index: standard deviations from the "
                          "average district (negative: less favourable)."),
    "ci4_zscore": Measure("Promising prospects (SMC index)", "number",
                          "Social Mobility Commission index: standard deviations from the "
                          "average district (negative: less favourable)."),
    "planned_posts": Measure("Posts placed by the location plan", "posts",
                             "Posts the location plan places in the district."),
    "entrants": Measure(
        "People joining", "people",
        "People who joined the Civil Service in the year: recruits, and council secondees "
        "who stayed on as civil servants."),
    "entrants_low_seb_share": Measure(
        "People joining from lower socio-economic backgrounds", "share",
        "Share of the year's new joiners whose main-earning parent had routine, semi-routine, "
        "lower supervisory or technical work, or never worked."),
    "low_seb_share": Measure(
        "Staff from lower socio-economic backgrounds", "share",
        "Share of staff whose main-earning parent had routine, semi-routine, lower "
        "supervisory or technical work, or never worked."),
    "outreach_cost_gbp": Measure(
        "Outreach cost since the start", "gbp",
        "Cost of recruitment outreach for the people it reached, since the start."),
    "secondees_in_post": Measure(
        "Council staff on secondment at the campuses", "people",
        "Local-government staff working in campus posts on secondment, on average over the "
        "year."),
    "secondee_conversions": Measure(
        "Secondees who stayed as civil servants", "people",
        "Council secondees who took a permanent post when their secondment ended, in the "
        "year."),
    "secondees_out": Measure(
        "Civil servants on secondment to councils", "people",
        "Civil servants working in a local authority on secondment, on average over the "
        "year."),
}
MEASURES.update({name: replace(MEASURES[name], in_the_year=True) for name in YEAR_ONLY_METRICS})


def measure(metric: str) -> Measure:
    """The :class:`Measure` of a metric; unknown metrics get a label made from their name.

    Examples
    --------
    >>> measure("headcount").unit
    'people'
    >>> measure("new_thing_share").label, measure("new_thing_share").unit
    ('New thing share', 'share')
    """
    if metric in MEASURES:
        return MEASURES[metric]
    words = metric.replace("_", " ").strip()
    unit = ("share" if metric.endswith(("_share", "_rate")) else
            "gbp" if metric.endswith("_gbp") else
            "chance" if metric.startswith("progression_") else
            "per_1000" if metric.startswith("cohort_") else
            "people" if metric.startswith(("moves_", "leavers_", "joiners_")) else
            "posts" if metric.endswith(("_posts", "_roles")) else "number")
    if unit == "gbp":
        words = words.removesuffix(" gbp")
    return Measure(first_upper(words), unit)


def metric_label(metric: str) -> str:
    """Plain label of a metric."""
    return measure(metric).label


def label_with_unit(metric: str) -> str:
    """Label with its unit in brackets, for column headers and legend titles."""
    m = measure(metric)
    return f"{m.label} ({m.unit_words})" if m.unit_words else m.label


# --- groups -----------------------------------------------------------------------------------

_PLACES = {"all": "All", "london": "London", "outside_london": "Outside London",
           "coldspots": "Coldspots outside London",
           "elsewhere": "Outside London, neither a coldspot nor a hub or campus",
           "elsewhere_in_london": "London", "outreach": "Where the outreach works",
           "g7_plus": "Grade 7 and above"}
_SEB = {"high": "higher", "intermediate": "intermediate", "low": "lower"}


def group_label(group: str, site_names: dict[str, str] | None = None) -> str:
    """Plain label of a metric's group (``all``, ``london``, ``seb:low``, ``site:leeds``,
    ``grade:EO|london``, ``london|seb:high``, ``site:leeds:EO`` …).

    Examples
    --------
    >>> group_label("outside_london|seb:low")
    'Outside London, lower socio-economic background'
    >>> group_label("grade:G7|london")
    'Grade 7, London'
    >>> group_label("dept:HO|london")
    'Department HO (its own view), London'
    """
    parts = group.split("|")
    out = []
    for p in parts:
        if p in _PLACES:
            out.append(_PLACES[p])
        elif p.startswith("seb:"):
            out.append(f"{_SEB.get(p[4:], p[4:])} socio-economic background")
        elif p.startswith("grade:"):
            out.append(grade_label(p[6:]))
        elif p.startswith("dept:"):
            out.append(f"Department {p[5:]} (its own view)")
        elif p.startswith("site:"):
            bits = p.split(":")
            name = (site_names or {}).get(bits[1], bits[1].replace("-", " ").title())
            out.append(name + (f", {grade_label(bits[2])}" if len(bits) > 2 else ""))
        else:
            out.append(p.replace("_", " "))
    return first_upper(", ".join(out))


def listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c`` (items may hold commas themselves).

    Examples
    --------
    >>> listed(["moves", "leavers", "money"])
    'moves, leavers and money'
    """
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def first_upper(text: str) -> str:
    """``text`` with its first letter in capitals and the rest as it is (``str.capitalize``
    lowers the rest: "SCS2" became "scs2")."""
    return text[:1].upper() + text[1:]


GRADE_NAMES = {"AA": "Administrative Assistant", "AO": "Administrative Officer",
               "EO": "Executive Officer", "HEO": "Higher Executive Officer",
               "SEO": "Senior Executive Officer", "G7": "Grade 7", "G6": "Grade 6",
               "SCS1": "Deputy Director (SCS1)", "SCS2": "Director (SCS2)",
               "SCS3": "Director General (SCS3)", "PS": "Permanent Secretary"}


def grade_label(grade: str) -> str:
    """Short plain label of a grade: ``G7`` → ``Grade 7``; others keep their code."""
    return {"G7": "Grade 7", "G6": "Grade 6", "SCS1": "Deputy Director",
            "SCS2": "Director", "SCS3": "Director General",
            "PS": "Permanent Secretary"}.get(grade, grade)


# --- numbers ----------------------------------------------------------------------------------

def _missing(v) -> bool:
    return v is None or isinstance(v, str) or not math.isfinite(float(v))


def fmt_number(v: float, digits: int = 3) -> str:
    """A number to ``digits`` significant figures, with thousands separators, never in
    scientific notation (nor past 12 decimals: a rounding crumb reads 0).

    Examples
    --------
    >>> fmt_number(0.012345), fmt_number(3e-320)
    ('0.0123', '0')
    """
    if _missing(v):
        return NOT_AVAILABLE
    v = float(v)
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = min(max(0, digits - 1 - mag), 12)  # (a rounding crumb, 1e-300, reads 0)
    r = round(v, decimals)
    if r == 0:  # (not "-0")
        return "0"
    if not decimals:
        return f"{r:,.0f}"
    return f"{r:,.{decimals}f}".rstrip("0").rstrip(".")


def fmt_money(v: float) -> str:
    """Rounded pounds: ``£460m``, ``£12.3m``, ``£850k``, ``£0``.

    Examples
    --------
    >>> fmt_money(459_814_000)
    '£460m'
    """
    if _missing(v):
        return NOT_AVAILABLE
    sign = "-" if v < 0 else ""
    a = abs(float(v))
    if a >= 1e9:
        return f"{sign}£{fmt_number(a / 1e9)}bn"
    if a >= 1e6:
        return f"{sign}£{fmt_number(a / 1e6)}m"
    if a >= 1e3:
        return f"{sign}£{fmt_number(a / 1e3)}k"
    return f"{sign}£{a:,.0f}"


def fmt_percent(v: float) -> str:
    """A share (0–1) as per cent, one decimal place, more only for very small shares.

    Examples
    --------
    >>> fmt_percent(0.41234), fmt_percent(0.0002)
    ('41.2%', '0.02%')
    """
    if _missing(v):
        return NOT_AVAILABLE
    pct = float(v) * 100
    if pct == 0 or abs(pct) >= 0.1:
        return f"{pct:.1f}%"
    return f"{fmt_number(pct, 1)}%"


def fmt_reached(metric: str, v, last: int) -> str:
    """A value as text (:func:`fmt_value`); a missing value of a measure a run may never
    come to (:data:`placesim.metrics.LATER_THAN_THE_RUN`: the payback year) as ``none by
    <last year>``.

    Examples
    --------
    >>> fmt_reached("payback_year", float("nan"), 2033), fmt_reached("payback_year", 2031, 2033)
    ('none by 2033', '2031')
    """
    from .metrics import LATER_THAN_THE_RUN

    if metric in LATER_THAN_THE_RUN and not isinstance(v, str) and not math.isfinite(float(v)):
        return f"none by {last}"
    return fmt_value(metric, v)


def fmt_central(metric: str, mean, p50, banded: bool, last: int) -> str:
    """A run's figure as text: its mean; but in a banded run, a measure some runs may never
    come to (:data:`placesim.metrics.LATER_THAN_THE_RUN`: the payback year) is its median
    run's, so labelled: its mean has no value when any run never came to it. The brief's
    pages and the printed comparison all say it this way (the first page said "none by"
    where the table said the median run's year).

    Examples
    --------
    >>> fmt_central("payback_year", float("nan"), 2031.0, True, 2033)
    '2031 (median run)'
    >>> fmt_central("payback_year", float("nan"), 2031.0, False, 2033)
    'none by 2033'
    """
    from .metrics import LATER_THAN_THE_RUN

    if banded and metric in LATER_THAN_THE_RUN:
        return f"{fmt_reached(metric, p50, last)} (median run)"
    return fmt_reached(metric, mean, last)


def fmt_value(metric: str, v, *, unit: str | None = None) -> str:
    """A metric's value as a reader sees it (``[c]`` passes through).

    Examples
    --------
    >>> fmt_value("roles_moved_out_of_london", 21987.4)
    '21,987'
    >>> fmt_value("relocation_cost_gbp", 459814000.0)
    '£460m'
    >>> fmt_value("scs_outside_london_share", float("nan"))
    'n/a'
    >>> fmt_value("cohort_eo_to_g7", 4.2), fmt_value("cohort_eo_to_g7", 5.9e-18)
    ('4.2', '0')
    >>> fmt_value("london_roles_cut_since_2025", -4999.2)
    'none (4,999 more)'
    """
    if isinstance(v, str):
        return v
    unit = unit or measure(metric).unit
    if _missing(v):
        return NOT_AVAILABLE
    if unit in COUNT_UNITS or unit == "grades":
        below = measure(metric).below_zero if metric in MEASURES else ""
        if below and round(float(v)) < 0:  # (London grew: "-4,999 London roles cut"; review)
            return below.format(f"{-round(float(v)):,.0f}")
        return f"{round(float(v)):,.0f}"
    if unit in ("share", "chance"):
        return fmt_percent(v)
    if unit == "gbp":
        return fmt_money(v)
    if unit == "per_1000":  # (below 0.005 in 1,000 is nobody: no digits of rounding noise)
        return f"{float(v):,.0f}" if abs(v) >= 10 else "0" if abs(v) < 0.005 \
            else fmt_number(v, 2)
    if unit == "year":
        return f"{round(float(v)):d}"
    return fmt_number(v)


def fmt_diff(metric: str, v, *, unit: str | None = None, in_range: bool = False) -> str:
    """A difference of a metric (b minus a), signed; shares in percentage points.

    Examples
    --------
    >>> fmt_diff("scs_outside_london_share", 0.0123)
    '+1.2 points'
    >>> fmt_diff("scs_outside_london_share", -0.000011)
    'less than 0.1 points'
    >>> fmt_diff("progression_eo_to_director", 0.00012)
    '+0.01 points'
    >>> fmt_diff("roles_moved_out_of_london", 22000)
    '+22,000'
    """
    if isinstance(v, str):
        return v
    unit = unit or measure(metric).unit
    if _missing(v):
        return NOT_AVAILABLE
    v = float(v)
    if unit in ("share", "chance"):
        pts = v * 100
        decimals = 1 if unit == "share" else 2  # chances are small: hundredths of a point
        if pts == 0:
            return "no change"
        if abs(pts) < 0.5 * 10 ** -decimals:
            if in_range:  # (an end of a range keeps its side of zero)
                return f"{'-' if pts < 0 else '+'}{0:.{decimals}f} points"
            return f"less than {10 ** -decimals:g} points"
        return f"{pts:+.{decimals}f} points"
    if unit == "year":
        return "no change" if round(v) == 0 else f"{round(v):+d} years"
    body = fmt_value(metric, abs(v), unit=unit)
    if body in ("0", "£0"):
        return "no change"
    return ("+" if v > 0 else "-") + body


def fmt_range(metric: str, lo, hi, *, diff: bool = False) -> str:
    """``lo to hi`` in the metric's format (a difference's when ``diff``: an end too small to
    show keeps its sign, so a band reaching below zero says so: "less than 0.1 points to
    +1.7" hid a lower end of -0.02; review).

    Examples
    --------
    >>> fmt_range("high_seb_share_london_scs", -0.0002, 0.017, diff=True)
    '-0.0 points to +1.7 points'
    """
    if diff:
        a, b = (fmt_diff(metric, x, in_range=True) for x in (lo, hi))
    else:
        a, b = fmt_value(metric, lo), fmt_value(metric, hi)
    return NOT_AVAILABLE if NOT_AVAILABLE in (a, b) else f"{a} to {b}"


def axis_format(metric: str) -> str:
    """d3 format for a chart axis of the metric."""
    unit = measure(metric).unit
    return {"share": ".0%", "chance": ".1%", "gbp": "~s"}.get(unit, ",.0f")


# --- headline figures -------------------------------------------------------------------------

#: The headline figures of a run as (metric, group): one list for the CLI summary, the
#: briefing pack and the app. Cohort measures appear when the engine provides them.
HEADLINES: tuple[tuple[str, str], ...] = (
    ("roles_moved_out_of_london", "all"),
    ("london_roles_cut_since_2025", "all"),
    ("scs_outside_london_share", "all"),
    ("perm_secs_outside_london", "all"),
    ("policy_roles_outside_london", "all"),
    ("cohort_eo_to_g7", "outside_london"),
    ("cohort_eo_to_g7", "london"),
    ("progression_eo_to_director", "london"),
    ("progression_eo_to_director", "outside_london"),
    ("progression_eo_to_g7", "outside_london"),
    ("high_seb_share_london_scs", "all"),
    ("high_seb_share_non_london_scs", "all"),
    ("london_share_of_high_seb_g7_plus", "all"),
    ("high_seb_share_london_g7_plus", "all"),
    ("coldspot_share_of_moved_roles", "all"),
    ("leavers_caused_by_relocation", "all"),
    ("relocation_cost_gbp", "all"),
)


def reads_high_words(metric: str) -> str:
    """What to say beside a figure whose measure reads above the one its target is tracked on
    (:data:`placesim.metrics.READS_HIGH_BY`), "" for any other: the CLI's headline and the
    brief's answer gave the SCS share with no word of it (review)."""
    from .metrics import READS_HIGH_BY

    high = READS_HIGH_BY.get(metric)
    if not high:
        return ""
    return (f"on the model's measure, about {100 * high:.1f} points above the Places for "
            "Growth programme's")


def setting_text(v) -> str:
    """A parameter's or lever field's value as a reader sees it: a list as its items, a
    mapping as its pairs, nothing as "none" (a spreadsheet cell of symbols alone, such as
    "[]", is refused by its writer).

    Examples
    --------
    >>> setting_text(("darlington", "leeds")), setting_text({}), setting_text(1.5)
    ('darlington, leeds', 'none', '1.5')
    >>> setting_text("('darlington', 'leeds')")  # (as read back from a CSV)
    'darlington, leeds'
    """
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) or "none"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {x}" for k, x in v.items()) or "none"
    text = str(v)
    if re.fullmatch(r"[(\[].*[)\]]", text):  # (a sequence's text, read back from a CSV)
        text = ", ".join(x.strip(" '\"") for x in text[1:-1].split(",") if x.strip())
    return text if re.search(r"[A-Za-z0-9]", text) and text not in ("None", "nan") else "none"


def headline_label(metric: str, group: str) -> str:
    """A headline's label: the metric's, with its group unless that is ``all``."""
    label = metric_label(metric)
    return label if group == "all" else f"{label}: {group_label(group)}"


def metric_pairs(metrics) -> set[tuple[str, str]]:
    """The (metric, group) pairs a metrics table holds. (Through numpy: iterating the
    table's string columns themselves took seven times as long, on every page of the app.)"""
    return set(zip(metrics["metric"].to_numpy(), metrics["group"].to_numpy(), strict=True))


def headlines_in(metrics) -> list[tuple[str, str]]:
    """The headline (metric, group) pairs a metrics table holds; the period chance of
    reaching Grade 7 is left out when the cohort measure of it is there (it stays in the
    tables as a technical metric). The chance of reaching Director stays: no cohort measure
    gives it, and with it left out too no figure of the SMC's EO to Director was in the
    pack (review)."""
    have = metric_pairs(metrics)
    cohort = any(m.startswith("cohort_") for m, _ in have)
    return [(m, g) for m, g in HEADLINES if (m, g) in have
            and not (cohort and m == "progression_eo_to_g7")]


def progression_sentence(metrics, year: int) -> str | None:
    """The progression gap in words: the cohort measure with the London/regions ratio when
    the engine provides it, otherwise the period measure, explained.

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``year, metric, group, mean, …``.
    year : int
        The year shown: the period measure's rates, or how far the cohort has come by then.

    Returns
    -------
    str or None
    """
    def value(metric, group, y=None):
        m = metrics[(metrics["metric"] == metric) & (metrics["group"] == group)]
        if y is not None:
            m = m[m["year"] == y]
        if m.empty:
            return None
        v = float(m.sort_values("year")["mean"].iloc[-1])
        return v if math.isfinite(v) else None

    # a year's figures are at its end, so the first is one year after the people followed
    # were counted (the start)
    start = int(metrics["year"].min()) - 1
    by = min(max(int(year), start + 1), int(metrics["year"].max()))
    out = value("cohort_eo_to_g7", "outside_london", by)
    lon = value("cohort_eo_to_g7", "london", by)
    if out is not None and lon is not None:
        text = (f"Of 1,000 Executive Officers in post outside London in {start}, "
                f"{out:,.0f} have reached Grade 7 by {by} (London: {lon:,.0f})")
        if lon > 0:
            text += f"; regions/London ratio {out / lon:.2f}"
        return text + "."
    out, lon = (value("progression_eo_to_director", "outside_london", year),
                value("progression_eo_to_director", "london", year))
    if out is None or lon is None:
        return None
    text = (f"At {year}'s promotion and leaving rates, an Executive Officer outside London "
            f"has a {fmt_percent(out)} chance of eventually reaching Director, against "
            f"{fmt_percent(lon)} in London")
    if lon > 0:
        text += f" (regions/London ratio {out / lon:.2f})"
    return text + (". This is a period measure: it asks what would happen if that year's "
                   "rates held for a whole career, not what happens to a group of people.")


# --- glossary ---------------------------------------------------------------------------------

GLOSSARY: dict[str, str] = {
    "SCS": "Senior Civil Service: Deputy Director (SCS1), Director (SCS2), Director General "
           "(SCS3) and Permanent Secretary.",
    "Grade 7 and above": "Grade 7, Grade 6 and the Senior Civil Service.",
    "EO": "Executive Officer, the usual entry grade for graduates and first-line managers.",
    "Socio-economic background (SEB)": "Measured by the main earner's job when the person was "
           "14. Higher: professional or managerial; intermediate: clerical, sales, service or "
           "intermediate technical; lower: routine, semi-routine, lower supervisory or "
           "technical work, or never worked.",
    "Coldspot": "A district in an area the Social Mobility Commission's State of the Nation "
                "index ranks least favourable for social mobility. The index scores each "
                "local authority of Great Britain, but Northern Ireland as one area: its "
                "11 districts, Belfast among them, share its rank.",
    "Expected values": "The outcome worked out directly, without random variation, at each "
                       "parameter's stated value: instant, but with no range. Not the average "
                       "of runs that vary the parameters, which can differ from it.",
    "Runs with random variation": "The model is run many times with chance events (who "
                                  "leaves, who is promoted); the spread of the runs gives the "
                                  "range.",
    "Range (P10 to P90)": "Eight in ten runs fall within this range: 10% of runs are lower "
                          "and 10% higher.",
    "Points": "Percentage points: the difference between two percentages (40% to 42% is "
              "+2 points).",
    "Period chance": "The chance of reaching a grade if one year's promotion and leaving "
                     "rates held for a whole career. A technical measure.",
    "Of 1,000 EOs": "Follows the Executive Officers in post at the start of the run and "
                    "counts how many have been promoted to the grade by each year.",
    "SMC index": "Social Mobility Commission local index, in standard deviations from the "
                 "average district (a z-score): negative is less favourable.",
    "[c]": "Confidential: a count under 5, or a share of fewer than 50 people, withheld to "
           "protect individuals.",
}


# --- colour -----------------------------------------------------------------------------------

RGB = tuple[int, int, int]

#: Okabe–Ito: distinguishable with the common colour-vision deficiencies (lines, points).
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")

#: Map palettes: viridis and cividis (sequential), ColorBrewer PuOr (diverging, 7 classes:
#: purple = fewer, orange = more). All readable with the common colour-vision deficiencies.
PALETTES: dict[str, list[RGB]] = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "cividis": [(0, 34, 78), (61, 78, 107), (124, 123, 120), (188, 175, 111), (253, 234, 69)],
    "diverging": [(84, 39, 136), (153, 142, 195), (216, 218, 235), (247, 247, 247),
                  (254, 224, 182), (241, 163, 64), (179, 88, 6)],
}
NO_DATA: RGB = (190, 190, 190)
ARC_COLOUR: RGB = (0, 0, 0)
SITE_COLOUR: RGB = (0, 0, 0)
COLDSPOT_COLOUR: RGB = (0, 114, 178)  # Okabe-Ito blue (OKABE_ITO[0])
BORDER_COLOUR: RGB = (90, 90, 90)  # district borders


def shortfall_notes(metrics, shown=None) -> list[str]:
    """A sentence for each way a run's planned moves were not all made: each wave that
    moved fewer posts than it asked for, because fewer matched its selector in its origin
    (``wave_posts_not_found``, :func:`placesim.engine.wave_shortfall`: the check before a
    run counts only the census's posts, so two waves drawing on the same posts both pass
    it), and posts still waiting for desks at the end (``posts_awaiting_site_capacity``: a
    full site, or one not yet open, holds them back, to the horizon if need be).

    Parameters
    ----------
    metrics : pandas.DataFrame
        ``year, metric, group, mean, …`` of a run (a mean over replications, if several).
    shown : callable, optional
        ``shown(metric, value)`` formats a number of posts of that metric (the briefing
        pack's disclosure rounding); default whole posts with thousands separators.

    Returns
    -------
    list of str
        Empty when every planned move was made (or the results predate these measures).
    """
    shown = shown or (lambda metric, v: f"{v:,.0f}")
    last_year = metrics["year"].max()
    last = metrics[metrics["year"] == last_year]
    short_metric, wait_metric = "wave_posts_not_found", "posts_awaiting_site_capacity"
    short = last[(last["metric"] == short_metric)
                 & last["group"].str.startswith("wave:")]
    notes = [f"Wave '{group[len('wave:'):]}' did not find {shown(short_metric, v)} of the "
             "posts it asked for matching its selector in its origin (earlier waves, the "
             "history or the workforce trend had taken them): it moved those it found."
             for group, v in zip(short["group"], short["mean"], strict=True) if v >= 0.5]
    waiting = last.loc[(last["metric"] == wait_metric)
                       & (last["group"] == "all"), "mean"]
    if len(waiting) and waiting.iloc[0] >= 0.5:
        notes.append(f"{shown(wait_metric, waiting.iloc[0])} posts due to move were still "
                     f"waiting for desks in {last_year}, at sites that were full or not yet "
                     "open: they had not moved (sites' desks are in the data package's "
                     "sites.csv, or the scenario's sites:).")
    return notes


def hex_colour(c: RGB) -> str:
    """``#rrggbb`` of an RGB triple."""
    return "#{:02x}{:02x}{:02x}".format(*c)


def luminance(c: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0 black … 1 white)."""
    ch = np.asarray(c, float) / 255
    lin = np.where(ch <= 0.03928, ch / 12.92, ((ch + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG 2 contrast ratio of two colours (1 … 21; text needs 4.5, large text 3)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(fill: RGB) -> RGB:
    """Black or white, whichever reads better on ``fill``."""
    return (0, 0, 0) if contrast_ratio((0, 0, 0), fill) >= contrast_ratio(
        (255, 255, 255), fill) else (255, 255, 255)
