"""Default model parameters, each carrying its source or marked as an assumption.

HM Treasury's Aqua Book asks government models to keep an assumptions log. Every number the
engine uses comes from :func:`default_parameters` (sourced from Civil Service Statistics 2023,
the People Survey and relocation evidence in ``facts.md``), then scenario overrides are
applied by :func:`resolve_parameters`, and :func:`assumptions_log` lists what is in force.

Derivations kept here, so a reviewer can follow them:

* **Internal fill share** (share of vacancies at a grade filled by promotion from the grade
  below): ``1 - entrants / (leavers + promotions out)`` from ACSES 2022/23 flows (section C1,
  C2 of the facts). The remainder is filled by external recruits (or lateral moves).
* **Promotion odds by SEB**: the People Survey grade gradient in socio-economic background
  has been almost unchanged since 2019. If external recruits to a grade resemble the grade's
  current staff, the gradient is stationary only if promotion from grade g-1 to g favours
  class k by ``m_g(k) / m_{g-1}(k)`` (m = the grade's SEB mix). These implied odds are the
  "class ceiling" the Social Mobility Commission describes, expressed as a rate.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .grades import GRADES, SEB_CLASSES

if TYPE_CHECKING:
    from .scenario import Scenario

N_GRADES = len(GRADES)

# --- Published flows, ACSES 2023 (year to 31 March 2023), by ACSES grade -------------------
ACSES_FLOWS_2023: dict[str, dict[str, int]] = {
    # grade: in post, leavers from the Civil Service, new entrants, net promotions out (C2)
    "AA": {"in_post": 18705, "leavers": 2755, "entrants": 4315, "promotions_out": 425},
    "AO": {"in_post": 117895, "leavers": 14515, "entrants": 21635, "promotions_out": 8130},
    "EO": {"in_post": 127335, "leavers": 10440, "entrants": 10835, "promotions_out": 12460},
    "HEO": {"in_post": 84900, "leavers": 5650, "entrants": 7390, "promotions_out": 12345},
    "SEO": {"in_post": 62630, "leavers": 4430, "entrants": 4175, "promotions_out": 7940},
    "G7": {"in_post": 54480, "leavers": 3645, "entrants": 2905, "promotions_out": 3070},
    "G6": {"in_post": 20740, "leavers": 1545, "entrants": 705, "promotions_out": 585},
    "SCS": {"in_post": 7385, "leavers": 725, "entrants": 305, "promotions_out": 0},
}
ACSES_SOURCE = "Civil Service Statistics 2023 (ACSES), staff_by_grade.csv; facts.md C1/C2"


def _acses_grade(g: str) -> str:
    return "SCS" if g.startswith("SCS") or g == "PS" else g


EVIDENCE = ("published", "derived", "assumption", "scenario")
"""Evidence grades: a published figure; derived from published figures (the derivation is in
this module or a script); an assumption (with a plausible range); a scenario's own choice."""


@dataclass(frozen=True)
class Param:
    """One named parameter: its value, evidence grade, plausible range and source.

    ``evidence`` is set where the parameter is defined (never inferred from wording); an
    ``assumption`` carries the range ``low`` to ``high`` that sweeps and parameter
    uncertainty explore.
    """

    name: str
    value: Any
    source: str
    evidence: str
    description: str = ""
    low: float | None = None
    high: float | None = None

    def __post_init__(self):
        if self.evidence not in EVIDENCE:
            raise ValueError(f"{self.name}: evidence must be one of {EVIDENCE}")

    @property
    def assumption(self) -> bool:
        """True for an assumption (no published or derived value)."""
        return self.evidence == "assumption"


@dataclass(frozen=True)
class Parameters:
    """All numbers the engine and the expected-value mode use.

    Arrays are indexed by grade code (see :data:`placesim.grades.GRADES`) or SEB class.
    Rates are annual; :mod:`placesim.rules` converts them to the scenario's step.
    """

    exit_rate: np.ndarray
    internal_fill_share: np.ndarray
    lateral_share: np.ndarray
    seb_promotion_odds: np.ndarray  # (grade, seb): relative odds of promotion INTO grade
    relocation_willingness: np.ndarray  # (seb,)
    cross_area_share: np.ndarray  # (grade,): share of promotions INTO grade from another area
    recruit_mix: np.ndarray  # (grade, seb): SEB mix of external recruits, nationally
    distance_decay_per_100km: float
    into_london_share: float  # of cross-area promotions, in the baseline
    london_pull: float
    london_stay: float | None  # None: derived from into_london_share
    min_quarters_in_grade: int
    london_promotion_advantage: float
    policy_match_weight: float
    accelerator_weight: float
    cost_mover_gbp: float
    recruit_seb_shift: np.ndarray = field(default_factory=lambda: np.zeros(N_GRADES))
    recruit_low_shift: np.ndarray = field(default_factory=lambda: np.zeros(N_GRADES))
    recruit_seb_trend_2021_2024: float = 0.0  # weight on the other SEB trend fit, 0 to 1
    area_level: str = "itl2"  # labour-market areas: itl1, itl2 or itl3 (London is one)
    log: tuple[Param, ...] = field(default=(), compare=False)
    costs: dict = field(default_factory=dict)  # unit costs by name (placesim.costs)

    def with_log(self, *params: Param) -> Parameters:
        """Return a copy whose assumptions log has ``params`` replacing same-named entries."""
        names = {p.name for p in params}
        kept = tuple(p for p in self.log if p.name not in names)
        return replace(self, log=kept + tuple(params))


# People Survey 2024 SEB mix by grade band (high, intermediate, low): facts.md section G.
CSPS_2024_SEB_BY_BAND: dict[str, tuple[float, float, float]] = {
    "AA/AO": (0.447, 0.136, 0.417),
    "EO": (0.476, 0.142, 0.382),
    "HEO/SEO": (0.544, 0.138, 0.318),
    "G7/G6": (0.628, 0.127, 0.245),
    "SCS": (0.709, 0.109, 0.183),
}
CSPS_GRADE_BANDS_OF = {
    "AA/AO": ("AA", "AO"), "EO": ("EO",), "HEO/SEO": ("HEO", "SEO"), "G7/G6": ("G7", "G6"),
    "SCS": ("SCS1", "SCS2", "SCS3", "PS"),
}
"""The People Survey's grade bands and the model grades in each."""
_BAND_OF = {
    "AA": "AA/AO", "AO": "AA/AO", "EO": "EO", "HEO": "HEO/SEO", "SEO": "HEO/SEO",
    "G7": "G7/G6", "G6": "G7/G6", "SCS1": "SCS", "SCS2": "SCS", "SCS3": "SCS", "PS": "SCS",
}


def seb_mix_by_grade() -> np.ndarray:
    """SEB mix (high, intermediate, low) of each of the 11 grades from the People Survey 2024.

    Returns
    -------
    numpy.ndarray
        Shape (11, 3); rows sum to 1.
    """
    m = np.array([CSPS_2024_SEB_BY_BAND[_BAND_OF[g]] for g in GRADES], dtype=float)
    return m / m.sum(axis=1, keepdims=True)


def _internal_fill_share(flows: dict, source: str) -> tuple[np.ndarray, list[Param]]:
    share = np.zeros(N_GRADES)
    log = []
    fitted = load_calibrated().get("internal_fill_share", {})
    held_out = load_calibrated().get("internal_fill_share_held_out_error", {})
    senior = {"SCS2": 0.80, "SCS3": 0.80, "PS": 0.85}  # no published flows for the bands
    for i, g in enumerate(GRADES):
        what = f"Share of {g} vacancies filled by promotion from the grade below"
        if g == "AA":
            log.append(Param("internal_fill_share.AA", 0.0, "AA is the lowest grade",
                             "published", what))
            continue
        if g in senior:
            share[i] = senior[g]
            log.append(Param(f"internal_fill_share.{g}", senior[g], "No published flows for "
                             "SCS pay bands: mostly filled from the band below", "assumption",
                             what, 0.6, 0.95))
            continue
        if g in fitted:
            share[i] = fitted[g]
            e = abs(float(held_out.get(g, 0.0)))  # the year not fitted: its promotions' miss
            log.append(Param(f"internal_fill_share.{g}", round(float(share[i]), 4),
                             "Fitted by `placesim calibrate` so that, with 2021-2023 growth, "
                             "promotions into the grade in 2022/23 are the implied net "
                             "promotions of Civil Service Statistics 2022 and 2023 "
                             "(calibration/calibrated.json; docs/validation.md); range: the "
                             f"share times 1 -/+ the held-out year's error ({100 * e:.0f}% "
                             "in 2021/22)", "derived", what,
                             *((round(max(share[i] * (1 - e), 0.01), 4),
                                round(min(share[i] * (1 + e), 0.99), 4)) if e else ())))
            continue
        f = flows[_acses_grade(g)]
        share[i] = 1.0 - f["entrants"] / (f["leavers"] + f["promotions_out"])
        log.append(Param(f"internal_fill_share.{g}", round(float(share[i]), 4),
                         source + " (1 - entrants / (leavers + promotions out))",
                         "derived", what))
    return share, log


LATER_TURNOVER_RATIO = round(7.1 / 8.9, 2)
"""The whole Civil Service's turnover in 2024/25 (7.1%, Civil Service Statistics as reported
by Personnel Today; docs/evidence.md section 3) against 2022/23's leaving rate (8.9%, ACSES;
facts.md C): how far below the census years' leaving rates a later year has been."""


def _exit_rate(flows: dict, source: str) -> tuple[np.ndarray, list[Param]]:
    rate = np.zeros(N_GRADES)
    log = []
    change = load_calibrated().get("exit_rate_year_to_year_change", {})
    leaving = leaver_rates(flows)
    for i, g in enumerate(GRADES):
        if g == "PS":
            rate[i] = 0.20
            log.append(Param("exit_rate.PS", 0.20, "No published figure: permanent secretaries "
                             "serve about five years", "assumption",
                             "Annual rate of leaving the post", 0.1, 0.3))
            continue
        rate[i] = leaving[_acses_grade(g)]
        e = abs(float(change.get(_acses_grade(g), 0.0)))  # one recorded year to the next
        # (the range reached no lower than the census years' own change, while the whole
        # service's turnover fell by a fifth after them; record review)
        low = min(1 - e, LATER_TURNOVER_RATIO)
        log.append(Param(f"exit_rate.{g}", round(float(rate[i]), 4),
                         source + " (leavers / in post); range: the rate times 1 -/+ its "
                         f"change from 2021/22 to 2022/23 ({100 * e:.0f}%), and down to "
                         f"{LATER_TURNOVER_RATIO:.2f} of it, the whole service's turnover in "
                         "2024/25 (7.1%, docs/evidence.md section 3) against 2022/23's "
                         "leaving rate (8.9%, facts.md C)", "derived",
                         "Annual rate of leaving the Civil Service",
                         round(rate[i] * low, 4), round(rate[i] * (1 + e), 4)))
    return rate, log


def _seb_promotion_odds() -> tuple[np.ndarray, list[Param]]:
    mix = seb_mix_by_grade()
    odds = np.ones((N_GRADES, len(SEB_CLASSES)))
    for i in range(1, N_GRADES):
        ratio = mix[i] / mix[i - 1]
        odds[i] = ratio / ratio[0]  # relative to high SEB
    # a grade in the same survey band as the grade below (AO, SEO, G6, SCS2 and above) has
    # the same mix, so odds of 1: no gradient within a band, which no figure gives (it was
    # labelled derived; SMC-analyst review)
    same_band = [i > 0 and _BAND_OF[GRADES[i]] == _BAND_OF[GRADES[i - 1]]
                 for i in range(N_GRADES)]
    # its range: from no gradient (1) to half the band's step in the grade (the square root
    # of the odds into the grade that enters the band, or, in the first band, into the next)
    edge = {}
    for i in range(1, N_GRADES):
        if same_band[i]:
            e = next(k for k in range(i, -1, -1) if k == 0 or not same_band[k])
            if e == 0:
                e = next(k for k in range(i, N_GRADES) if not same_band[k])
            edge[i] = e

    def span(i, j):
        if same_band[i]:
            return round(float(np.sqrt(odds[edge[i], j])), 4), 1.0
        return tuple(sorted((round(float(odds[i, j]), 4), round(float((odds[i, j] + 1) / 2), 4))))

    log = [
        Param(
            f"seb_promotion_odds.{GRADES[i]}.{k}",
            round(float(odds[i, j]), 4),
            ("People Survey 2024 SEB by grade (facts.md G) reports this grade in one band with "
             f"{GRADES[i - 1]}: no SEB gradient within the band is an ASSUMPTION (the band's "
             "step is all in the grade that enters it; the survey cannot split it); range: up "
             f"to half the step into {GRADES[edge[i]]} in this grade (the square root of its "
             "odds)")
            if same_band[i] else
            ("People Survey 2024 SEB by grade (facts.md G): odds that keep the observed grade "
             "gradient stationary; no published promotion rate by SEB (facts.md G), so the "
             "range runs half-way to 1 (recruitment at each grade may keep part of the "
             "gradient: ASSUMPTION)"),
            "assumption" if same_band[i] else "derived",
            f"Relative odds of promotion into {GRADES[i]} for {k} SEB (high = 1)",
            *span(i, j),
        )
        for i in range(1, N_GRADES)
        for j, k in enumerate(SEB_CLASSES)
        if k != "high"
    ]
    return odds, log


#: Share of promotions into each grade that go to someone from another labour-market area
#: (ITL3, with London one area): (value, low, high). No published count exists (promotions are
#: not recorded centrally, facts.md C2; SMC action 8.2 asks for it). Derived order of
#: magnitude (docs/evidence.md, section 1): about 4% of UK job changes cross a region
#: (Resolution Foundation 2017 with ONS job-to-job moves); London's share of each grade rises
#: by 2-8 points at the junior steps, 8-13 at G7/G6 and 16 into the SCS (ACSES 2023); SCS
#: posts are advertised nationally and externally (Cabinet Office, May 2022).
CROSS_AREA_SHARE: dict[str, tuple[float, float, float]] = {
    "AA": (0.0, 0.0, 0.0), "AO": (0.05, 0.02, 0.10), "EO": (0.05, 0.02, 0.10),
    "HEO": (0.05, 0.02, 0.10), "SEO": (0.05, 0.02, 0.10), "G7": (0.12, 0.06, 0.20),
    "G6": (0.12, 0.06, 0.20), "SCS1": (0.20, 0.10, 0.35), "SCS2": (0.20, 0.10, 0.35),
    "SCS3": (0.20, 0.10, 0.35), "PS": (0.20, 0.10, 0.35),
}


def _cross_area_share() -> tuple[np.ndarray, list[Param]]:
    share = np.array([CROSS_AREA_SHARE[g][0] for g in GRADES])
    log = [Param(f"cross_area_share.{g}", v, "No published count (facts.md C2, SMC action "
                 "8.2); order of magnitude from UK job-to-job moves across regions and "
                 "London's share by grade (docs/evidence.md section 1)", "assumption",
                 f"Share of promotions into {g} taken by someone from another labour-market "
                 "area, in the baseline", lo, hi)
           for g, (v, lo, hi) in CROSS_AREA_SHARE.items() if g != "AA"]
    return share, log


def package_flows(pkg=None) -> tuple[dict, str]:
    """Flows by ACSES grade (in post, leavers, entrants, promotions out) from a data
    package's ``flows_by_grade.csv`` (the year to its census date), or Civil Service
    Statistics 2023 when it has none; with the source text."""
    table = getattr(pkg, "flows_by_grade", None)
    if table is None or len(table) == 0:
        return ACSES_FLOWS_2023, ACSES_SOURCE
    year = getattr(pkg, "year", None) or "the package's year"
    # each grade's first row, read in one pass (a filter of the table for each grade took
    # 5 ms, and every prepare asks three times)
    first: dict = {}
    values = table[["in_post", "leavers_cs", "entrants"]].to_numpy(float)
    for g, row in zip(table["grade"].tolist(), values, strict=True):
        first.setdefault(g, row)
    out = {}
    for g, f in ACSES_FLOWS_2023.items():
        if g not in first:
            out[g] = f
            continue
        in_post, leavers, entrants = (float(v) for v in first[g])
        out[g] = {"in_post": in_post, "leavers": leavers, "entrants": entrants,
                  "promotions_out": f["promotions_out"]}
    return out, f"Civil Service Statistics {year} (ACSES), flows_by_grade.csv"


def leaver_rates(flows: dict) -> dict[str, float]:
    """Each ACSES grade's rate of leaving the Civil Service in a year: leavers / in post
    (``flows`` as :func:`package_flows` gives them). The exit rates' defaults and the
    calibration's year-to-year change of them both read it."""
    return {g: f["leavers"] / f["in_post"] for g, f in flows.items() if f["in_post"] > 0}


CALIBRATED = Path(__file__).resolve().parent.parent / "calibration" / "calibrated.json"
"""What `placesim calibrate` fitted to the record (internal fill shares, recruits' SEB)."""


@lru_cache(maxsize=1)
def load_calibrated() -> dict:
    """The fitted values in :data:`CALIBRATED` (empty if the file is absent)."""
    if not CALIBRATED.is_file():
        return {}
    return json.loads(CALIBRATED.read_text(encoding="utf-8"))


RECENT_TREND = "recruit_seb_trend_2021_2024"
"""The parameter that moves recruits' SEB from the 2019-2024 survey trend's fit towards the
fit to 2021-2024 only (:data:`placesim.fit.TREND_SINCE_ALTERNATIVE`): 0 the first, 1 the
second."""
RECENT_TREND_SHIFT = "recruit_seb_shift_2021_2024"
"""Where `placesim calibrate` writes the shifts fitted to the 2021-2024 trend."""


def _recent_trend_delta() -> np.ndarray:
    """(grade,) high-SEB log-odds shift fitted to the 2021-2024 trend minus that fitted to
    2019-2024 (0 where either is missing)."""
    c = load_calibrated()
    a, b = c.get("recruit_seb_shift", {}), c.get(RECENT_TREND_SHIFT, {})
    return np.array([float(b[g]) - float(a[g]) if g in a and g in b else 0.0
                     for g in GRADES])


def fitted_shift(key: str) -> np.ndarray:
    """(grade,) the log-odds shifts `placesim calibrate` fitted under ``key``
    (``recruit_seb_shift``, ``recruit_low_shift``) in calibrated.json; 0 without them."""
    fitted = load_calibrated().get(key, {})
    return np.array([float(fitted.get(g, 0.0)) for g in GRADES])


def recruits_of(shift: np.ndarray, recent_trend: float = 0.0,
                low_shift: np.ndarray | None = None) -> np.ndarray:
    """(grade, seb) SEB mix of external recruits: the grade's People Survey band mix with the
    high-SEB log-odds (against the rest) shifted by ``shift`` plus ``recent_trend`` times the
    move from the 2019-2024 trend's fit to the 2021-2024 one, and the low-SEB log-odds
    (against intermediate) by ``low_shift`` (default: the fitted ones), by grade. The
    2021-2024 trend moves the high shift only: fitted to it, the SCS bands' low shift ran to
    its bound, 1% of SCS recruits from low-SEB backgrounds against the survey's 18% (review).
    The one place the mix is made: defaults, overrides and parameter draws all come through
    here."""
    from .fit import shifted_mix

    low = fitted_shift("recruit_low_shift") if low_shift is None else np.asarray(low_shift,
                                                                                  float)
    w = float(recent_trend)
    high = np.asarray(shift, float) + w * _recent_trend_delta()
    return shifted_mix(seb_mix_by_grade(), dict(zip(GRADES, high, strict=True)),
                       dict(zip(GRADES, low, strict=True)))


def recruit_mix() -> tuple[np.ndarray, list[Param]]:
    """(grade, seb) SEB mix of external recruits: the grade's People Survey mix with the
    high-SEB log-odds shifted by what `placesim calibrate` fitted, so that with no policy
    each grade's high-SEB share follows its band's People Survey 2019-2024 trend; and the
    weight on the 2021-2024 trend's fit instead (:data:`RECENT_TREND`, 0 by default), which
    parameter uncertainty draws."""
    fitted = load_calibrated().get("recruit_seb_shift", {})
    log = [Param(f"recruit_seb_shift.{grade}", round(float(v), 4),
                 "Fitted by `placesim calibrate`: log-odds shift of recruits' high-SEB share "
                 "against the grade band's People Survey 2024 mix, so that the grade's mix "
                 "follows the band's 2019-2024 survey trend in the baseline "
                 "(calibration/calibrated.json)",
                 "derived", f"Recruits' high-SEB log-odds at {grade}, against its band")
           for grade, v in fitted.items()]
    log += [Param(f"recruit_low_shift.{grade}", round(float(v), 4),
                  "Fitted by `placesim calibrate`: log-odds shift of recruits' low-SEB share "
                  "against the intermediate, from the grade band's People Survey 2024 mix, so "
                  "that the grade's low-SEB share follows the band's 2019-2024 survey trend "
                  "in the baseline (calibration/calibrated.json)",
                  "derived", f"Recruits' low-SEB log-odds at {grade}, against intermediate")
            for grade, v in load_calibrated().get("recruit_low_shift", {}).items()]
    if np.any(_recent_trend_delta() != 0):
        log.append(Param(
            RECENT_TREND, 0.0,
            "The People Survey's 2019 shares are the workbook's printed figures, 2021-2024's "
            "are computed from respondent counts (facts.md G); the high-SEB trend through "
            "2019 falls in every band, from 2021 it is flat or rising in most "
            "(docs/validation.md). Which is the trend is not known: 0 follows 2019-2024 (the "
            "default), 1 the 2021-2024 fit (`placesim calibrate` fits both)",
            "assumption", "Weight on recruits' SEB fitted to the 2021-2024 survey trend "
            "rather than the 2019-2024 one", 0.0, 1.0))
    return recruits_of(fitted_shift("recruit_seb_shift")), log


def default_parameters(pkg=None) -> Parameters:
    """Build the default parameters with their sources.

    Parameters
    ----------
    pkg : DataPackage, optional
        Exit rates (and, where not fitted, internal fill shares) come from its flows; default
        Civil Service Statistics 2023.

    Returns
    -------
    Parameters
        Defaults from Civil Service Statistics, the People Survey and relocation evidence;
        each entry of ``Parameters.log`` carries its evidence grade and, for an assumption, a
        plausible range.

    Examples
    --------
    >>> p = default_parameters()
    >>> round(float(p.exit_rate[2]), 3)  # EO
    0.082
    """
    from .costs import cost_parameter_log, default_costs

    flows, source = package_flows(pkg)
    exit_rate, log_exit = _exit_rate(flows, source)
    fill, log_fill = _internal_fill_share(flows, source)
    recruits, log_recruits = recruit_mix()
    odds, log_odds = _seb_promotion_odds()
    cross, log_cross = _cross_area_share()
    lateral = np.full(N_GRADES, 0.05)
    willingness = np.array([1.0, 0.75, 0.5])
    log = [
        *log_exit,
        *log_fill,
        *log_odds,
        *log_cross,
        *log_recruits,
        Param("labour_market_area", "itl2", "Travel-to-work areas are about ITL3 size; "
              "promotion markets of middle and senior grades are wider (docs/evidence.md "
              "section 1); London is always one area", "assumption",
              "Geography of a labour-market area: itl1, itl2 or itl3 (not drawn by "
              "--parameter-uncertainty; sweep it)"),
        Param("lateral_share", 0.05, "No published figure on geographic lateral moves "
              "(ACSES department-move rates are 2-5% a year)", "assumption",
              "Share of vacancies filled by a same-grade move from another area", 0.02, 0.10),
        Param("relocation_willingness.high", 1.0, "Reference class", "assumption",
              "Relative willingness to move area for a post, high SEB", 1.0, 1.0),
        Param("relocation_willingness.intermediate", 0.75, "Interpolated between the high "
              "and low classes (docs/evidence.md section 1)", "assumption",
              "Relative willingness to move area for a post, intermediate SEB", 0.6, 0.9),
        Param("relocation_willingness.low", 0.5, "SMC/IES 2020 'Moving out to move on' "
              "(movers' parental class: 0.44) and Sutton Trust 2020 'Elites in the UK' "
              "(long-distance moves: 0.51); docs/evidence.md section 1", "derived",
              "Relative willingness to move area for a post, low SEB", 0.35, 0.7),
        Param("distance_decay_per_100km", 0.85, "No published figure", "assumption",
              "Multiplier on the pull of a post in another area per 100 km of distance",
              0.6, 0.95),
        Param("into_london_share", 0.75, "SMC 2021 action 8 and Cabinet Office 2022 "
              "(Chisholm: 'many of those who wanted to climb the ladder to senior level have "
              "either moved to London or nearby'): more people move to London to be promoted "
              "than move out; value assumed (docs/evidence.md section 1)", "assumption",
              "Of promotions that move someone into or out of London, the share that move "
              "them in, in the baseline (sets London's hold on its own staff, london_stay)",
              0.5, 0.9),
        Param("london_stay", "derived", "Worked out from into_london_share when a run is "
              "prepared (rules.calibrate_geography), unless set", "derived",
              "London-based staff's relative willingness to take a post in another area "
              "(London's hold on its own staff)"),
        Param("london_pull", 1.0, "No published figure; by default London posts pull no more "
              "than others at the same distance (a scenario can raise it)", "assumption",
              "Extra pull of London posts on candidates from other areas", 1.0, 2.0),
        Param("min_quarters_in_grade", 4, "No published figure", "assumption",
              "Minimum time in grade before promotion or a move", 2, 8),
        Param("london_promotion_advantage", 1.0, "SMC 2021: living in London raises "
              "promotion chances (qualitative); the model produces it through where senior "
              "posts are, so no extra factor by default", "assumption",
              "Extra odds of promotion for London-based candidates", 1.0, 1.5),
        Param("policy_match_weight", 3.0, "No published figure", "assumption",
              "Relative odds that a policy post goes to a policy-profession candidate",
              1.0, 5.0),
        Param("accelerator_weight", 1.5, "SMC 2021 / Friedman 2022: accelerator roles speed "
              "promotion (qualitative); value assumed", "assumption",
              "Relative odds of promotion of someone in a private office post", 1.0, 2.5),
        Param("cost_mover_gbp", 28100.0, "NAO 2013, BBC move to Salford: £24m allowances / "
              "854 packages", "derived", "Cost of relocating one incumbent"),
        *cost_parameter_log(),
    ]
    return Parameters(
        exit_rate=exit_rate,
        internal_fill_share=fill,
        lateral_share=lateral,
        seb_promotion_odds=odds,
        relocation_willingness=willingness,
        cross_area_share=cross,
        recruit_mix=recruits,
        distance_decay_per_100km=0.85,
        into_london_share=0.75,
        london_pull=1.0,
        london_stay=None,
        min_quarters_in_grade=4,
        london_promotion_advantage=1.0,
        policy_match_weight=3.0,
        accelerator_weight=1.5,
        cost_mover_gbp=28100.0,
        recruit_seb_shift=fitted_shift("recruit_seb_shift"),
        recruit_low_shift=fitted_shift("recruit_low_shift"),
        area_level="itl2",
        log=tuple(log),
        costs=default_costs(),
    )


_SCALAR_OVERRIDES = ("distance_decay_per_100km", "into_london_share", "london_pull",
                     "london_stay", "min_quarters_in_grade",
                     "london_promotion_advantage", "policy_match_weight", "accelerator_weight")


def resolve_parameters(scenario: Scenario | None = None, pkg=None) -> Parameters:
    """Defaults with a scenario's ``parameters:`` overrides applied and logged.

    Parameters
    ----------
    scenario : Scenario, optional
        The scenario whose overrides apply.
    pkg : DataPackage, optional
        The data package whose flows set the defaults (see :func:`default_parameters`).

    Returns
    -------
    Parameters
    """
    p = default_parameters(pkg)
    if scenario is None:
        return p
    ov = scenario.parameters
    src = f"scenario {scenario.name}"
    changed: list[Param] = []

    def set_grades(values: np.ndarray, given: dict, name: str, what: str,
                   transform=lambda v: v) -> np.ndarray:
        out = values.copy()
        for g, v in given.items():
            out[GRADES.index(g)] = transform(v)
            changed.append(Param(f"{name}.{g}", transform(v), src, "scenario", what))
        return out

    exit_rate = set_grades(p.exit_rate, ov.exit_rate, "exit_rate", "Override")
    fill = set_grades(p.internal_fill_share, ov.external_hire_share, "internal_fill_share",
                      "Override (1 - external_hire_share)", lambda v: 1.0 - v)
    cross = set_grades(p.cross_area_share, ov.cross_area_share, "cross_area_share", "Override")
    lateral = p.lateral_share.copy()
    if ov.lateral_share is not None:
        lateral[:] = ov.lateral_share
        changed.append(Param("lateral_share", ov.lateral_share, src, "scenario", "Override"))
    odds = p.seb_promotion_odds.copy()
    for k, v in ov.seb_promotion_odds.items():
        odds[1:, SEB_CLASSES.index(k)] *= v
        changed.append(Param(f"seb_promotion_odds_multiplier.{k}", v, src, "scenario",
                             "Override: multiplies the calibrated odds at every grade"))
    will = p.relocation_willingness.copy()
    for k, v in ov.relocation_willingness.items():
        will[SEB_CLASSES.index(k)] = v
        changed.append(Param(f"relocation_willingness.{k}", v, src, "scenario", "Override"))
    kw: dict[str, Any] = {}
    for name in _SCALAR_OVERRIDES:
        v = getattr(ov, name)
        if v is not None:
            kw[name] = v
            changed.append(Param(name, v, src, "scenario", "Override"))
    if ov.labour_market_area is not None:
        kw["area_level"] = ov.labour_market_area
        changed.append(Param("labour_market_area", ov.labour_market_area, src, "scenario",
                             "Override"))
    q = replace(p, exit_rate=exit_rate, internal_fill_share=fill, cross_area_share=cross,
                lateral_share=lateral, seb_promotion_odds=odds, relocation_willingness=will,
                **kw)
    for name, value in ov.values.items():
        q = set_parameter(q, name, value)
        changed.append(Param(name, value, src, "scenario", "Override"))
    return q.with_log(*changed)


_SCALARS = ("distance_decay_per_100km", "into_london_share", "london_pull", "london_stay",
            "min_quarters_in_grade", "london_promotion_advantage", "policy_match_weight",
            "accelerator_weight", "cost_mover_gbp")
_BY_GRADE = ("exit_rate", "internal_fill_share", "cross_area_share", "recruit_seb_shift",
             "recruit_low_shift")


def parameter_names(params: Parameters) -> list[str]:
    """Every numeric parameter :func:`set_parameter` accepts: the names `placesim params`
    lists (a sweep or ``parameters: values:`` can set any of them)."""
    return sorted(p.name for p in params.log if p.name != "labour_market_area")


def _remixed(params: Parameters) -> Parameters:
    """``params`` with recruits' SEB mix made again from its shifts and trend weight."""
    return replace(params, recruit_mix=recruits_of(
        params.recruit_seb_shift, params.recruit_seb_trend_2021_2024, params.recruit_low_shift))


def set_parameter(params: Parameters, name: str, value: float) -> Parameters:
    """A copy of ``params`` with one parameter, named as in `placesim params`, set.

    Parameters
    ----------
    params : Parameters
    name : str
        E.g. ``lateral_share``, ``exit_rate.EO``, ``seb_promotion_odds.G7.low``,
        ``recruit_seb_shift.HEO``, ``relocation_willingness.low``, ``accelerator_weight``.
    value : float

    Returns
    -------
    Parameters

    Raises
    ------
    KeyError
        An unknown name (the message lists the closest known names).
    """
    head, _, rest = name.partition(".")
    v = float(value)
    if head == "costs" and rest in params.costs:
        return replace(params, costs={**params.costs, rest: v})
    if head in _SCALARS and not rest:
        return replace(params, **{head: int(round(v)) if head == "min_quarters_in_grade"
                                  else v})
    if head == "lateral_share" and not rest:
        return replace(params, lateral_share=np.full(N_GRADES, v))
    if head in _BY_GRADE and rest in GRADES:
        arr = getattr(params, head).copy()
        arr[GRADES.index(rest)] = v
        out = replace(params, **{head: arr})
        return _remixed(out) if head in ("recruit_seb_shift", "recruit_low_shift") else out
    if head == RECENT_TREND and not rest:
        return _remixed(replace(params, recruit_seb_trend_2021_2024=v))
    if head == "relocation_willingness" and rest in SEB_CLASSES:
        arr = params.relocation_willingness.copy()
        arr[SEB_CLASSES.index(rest)] = v
        return replace(params, relocation_willingness=arr)
    grade, _, seb = rest.partition(".")
    if head == "seb_promotion_odds" and grade in GRADES and seb in SEB_CLASSES:
        arr = params.seb_promotion_odds.copy()
        arr[GRADES.index(grade), SEB_CLASSES.index(seb)] = v
        return replace(params, seb_promotion_odds=arr)
    import difflib

    close = difflib.get_close_matches(name, parameter_names(params), n=3)
    raise KeyError(f"unknown parameter {name!r}" + (
        f"; did you mean {', '.join(close)}?" if close else "; see `placesim params`"))


def uncertain_parameters(params: Parameters) -> list[Param]:
    """The parameters with a plausible range (assumptions, and derived values whose
    derivation is uncertain), which parameter uncertainty draws."""
    return [p for p in params.log if p.evidence in ("assumption", "derived")
            and p.low is not None and p.high is not None and p.high > p.low]


def at_range_ends(params: Parameters) -> str:
    """The drawn parameters (:func:`uncertain_parameters`) whose value sits at or near one
    end of its range (in its outer tenth), in words: a band of draws over the range need not
    be centred on a run with those values. A family of values (``seb_promotion_odds.EO.low``,
    …) is named once. (Only those exactly at an end were named: the leaving rates, near the
    top of theirs, draw about a tenth below the default on average; review.)

    Examples
    --------
    >>> at_range_ends(resolve_parameters(None))  # doctest: +ELLIPSIS
    'exit_rate (6 of its values near their high end), ... at 0 (of 0 to 1), ...'
    """
    ends: dict[str, list[tuple[Param, str]]] = {}
    for p in uncertain_parameters(params):
        where = (p.value - p.low) / (p.high - p.low)
        if where <= 0.1 or where >= 0.9:
            side = "low" if where <= 0.1 else "high"
            ends.setdefault(p.name.split(".")[0], []).append((p, side))
    words = []
    for family, ps in ends.items():
        if len(ps) == 1 and ps[0][0].name == family:
            p = ps[0][0]
            words.append(f"{family} at {p.value:g} (of {p.low:g} to {p.high:g})")
        else:
            sides = {s for _, s in ps}
            at = all(p.value in (p.low, p.high) for p, _ in ps)
            words.append(f"{family} ({len(ps)} of its values {'at' if at else 'near'} their "
                         f"{sides.pop() if len(sides) == 1 else 'low or high'} end)")
    return ", ".join(words)


@lru_cache(maxsize=1)
def known_parameter_names() -> frozenset[str]:
    """Names :func:`set_parameter` accepts (for validating scenarios)."""
    return frozenset(parameter_names(default_parameters()))


PARAMETER_STREAM = 0x5041524D  # "PARM": the draws' own random stream


def draw_parameters(params: Parameters, seed: int, replication: int) -> Parameters:
    """One replication's parameters: each assumption with a range drawn uniformly over it.

    Each parameter's draw comes from its own stream keyed by (seed, replication, its name),
    so scenarios run with the same seed draw the same value of each parameter in the same
    replication (paired comparisons compare like with like), whatever else they draw: drawn
    one after another from one stream, a scenario that set one parameter of its own (so not
    drawn) shifted every later parameter's draw.

    Returns
    -------
    Parameters
        With the drawn values in the log (evidence ``scenario``, source ``drawn``).
    """
    out, drawn = params, []
    for p in uncertain_parameters(params):
        v = _uniform_draw(seed, replication, p.name, p.low, p.high)
        out = set_parameter(out, p.name, v)
        drawn.append(Param(p.name, round(v, 4), f"drawn uniformly over {p.low:g}-{p.high:g} "
                           f"(replication {replication})", "scenario", p.description))
    return out.with_log(*drawn)


def _uniform_draw(seed: int, replication: int, name: str, low: float, high: float) -> float:
    """One replication's draw of the quantity ``name``, uniform over ``low``-``high``, from
    its own stream keyed by (seed, replication, name)."""
    rng = np.random.default_rng(np.random.SeedSequence(
        int(seed), spawn_key=(PARAMETER_STREAM, int(replication), zlib.crc32(name.encode()))))
    return float(rng.uniform(low, high))


def uncertain_scenario_fields(scenario: Scenario) -> pd.DataFrame:
    """The scenario's assumptions with a range that it does not set (its levers' and its
    relocating waves' incumbent policies' fields that are ASSUMPTIONs, left at their
    defaults: :func:`lever_assumptions`), which parameter uncertainty draws as it draws the
    parameters. A value the scenario sets is its own and held, as a parameter it sets is:
    a part of a lever it switches off with 0, a sweep's points. (Drawn too, they were drawn
    back on, and every point of a sweep drew alike; reviews.)"""
    rows = pd.DataFrame(_scenario_field_rows(scenario), columns=[*LOG_COLUMNS, "set_here"])
    keep = ((rows["evidence"] == "assumption") & ~rows["set_here"].astype(bool)
            & rows["low"].notna() & rows["high"].notna())
    rows = rows[keep]
    return rows[rows["high"].astype(float) > rows["low"].astype(float)][LOG_COLUMNS]


def draw_scenario_assumptions(scenario: Scenario, seed: int, replication: int) -> Scenario:
    """One replication's scenario: each of its own assumptions with a range
    (:func:`uncertain_scenario_fields`, e.g. a secondment's conversion share) drawn
    uniformly over it, as :func:`draw_parameters` draws the parameters, from its own stream
    keyed by (seed, replication, its name). A whole number stays one, and a period in
    months a whole number of the scenario's steps (of the range).

    (``--parameter-uncertainty`` drew the parameters only: the levers' assumptions, which
    ``placesim params`` lists with their ranges, were held, so their bands looked certain
    where the evidence is weakest; review.)
    """
    months = 12 // scenario.steps_per_year()
    waves = {w.name: i for i, w in enumerate(scenario.waves)}
    out = scenario
    for row in uncertain_scenario_fields(scenario).itertuples(index=False):
        v = _uniform_draw(seed, replication, row.name, float(row.low), float(row.high))
        if row.name.startswith("levers."):
            path = row.name.split(".")
        else:  # waves.<its name>.incumbents.<field> (a name may hold dots)
            head, _, rest = row.name[len("waves."):].rpartition(".incumbents.")
            path = ["waves", waves[head], "incumbents", rest]
        out = _with_field(out, path, v, months, float(row.low), float(row.high))
    return out


def drawn_replication(scenario: Scenario, params: Parameters, seed: int, replication: int
                      ) -> tuple[Scenario, Parameters]:
    """One replication's scenario and parameters under parameter uncertainty: its own draw
    of the scenario's assumptions (:func:`draw_scenario_assumptions`) and of the parameters
    (:func:`draw_parameters`), as every runner (``simulate``, batch) prepares it."""
    return (draw_scenario_assumptions(scenario, seed, replication),
            draw_parameters(params, seed, replication))


def _with_field(model, path: list, value: float, months: int, low: float, high: float):
    """``model`` with the field at ``path`` set to ``value`` (as its type holds it)."""
    key = path[0]
    if len(path) == 1:
        kind = type(model).model_fields[key].annotation
        if kind is int:
            step = months if key.endswith("months") else 1
            lo, hi = -(-low // step) * step, high // step * step  # (whole steps in range)
            value = int(min(max(round(value / step) * step, lo), hi))
        return model.model_copy(update={key: value})
    if isinstance(key, int):  # (a wave in the scenario's tuple)
        items = list(model)
        items[key] = _with_field(items[key], path[1:], value, months, low, high)
        return tuple(items)
    return model.model_copy(update={key: _with_field(getattr(model, key), path[1:], value,
                                                     months, low, high)})


LOG_COLUMNS = ["name", "value", "evidence", "low", "high", "source", "description",
               "assumption"]


def assumptions_log(params: Parameters) -> pd.DataFrame:
    """The assumptions log as a table (:data:`LOG_COLUMNS`).

    Parameters
    ----------
    params : Parameters

    Returns
    -------
    pandas.DataFrame
    """
    rows = [{"name": p.name, "value": p.value, "evidence": p.evidence, "low": p.low,
             "high": p.high, "source": p.source, "description": p.description,
             "assumption": p.assumption} for p in params.log]
    return pd.DataFrame(rows, columns=LOG_COLUMNS).sort_values(
        "name", kind="stable").reset_index(drop=True)


def assumptions_in_force(params: Parameters, scenario: Scenario | None = None) -> pd.DataFrame:
    """The assumptions log of ``params`` (:func:`assumptions_log`), then ``scenario``'s
    levers and relocation policies (:func:`lever_assumptions`): what ``placesim params FILE``
    lists and what a run keeps."""
    log = assumptions_log(params)
    levers = lever_assumptions(scenario) if scenario is not None else None
    return log if levers is None or levers.empty else pd.concat([log, levers],
                                                                 ignore_index=True)


def lever_assumptions(scenario: Scenario) -> pd.DataFrame:
    """The scenario's levers and wave incumbent policies as assumptions-log rows.

    Each field's evidence grade and range come from its definition in
    :mod:`placesim.scenario` (``json_schema_extra``), never from its wording; a value the
    scenario sets (other than the default) says so in its source, and is the scenario's
    (evidence ``scenario``) unless the field is an assumption, which it stays. Incumbent
    policies are listed for relocating waves only: no one else reads them.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`assumptions_log`.
    """
    rows = _scenario_field_rows(scenario)
    return pd.DataFrame(rows, columns=LOG_COLUMNS)


def _scenario_field_rows(scenario: Scenario) -> list[dict]:
    """:func:`lever_assumptions`' rows, each with ``set_here``: whether the value is the
    scenario's own (an assumption it sets; another field it sets to other than its
    default)."""
    rows = []

    def walk(prefix: str, model) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if hasattr(type(value), "model_fields"):
                walk(f"{prefix}.{name}", value)
                continue
            extra = info.json_schema_extra or {}
            evidence = extra.get("evidence", "scenario")
            low, high = extra.get("range", (None, None))
            source = info.description or ""
            # the scenario's own value: an assumption it sets stays one (the scenario's,
            # with the field's range), whatever the value, and parameter uncertainty holds
            # it (a sweep's point at the default was drawn, the others held; review); any
            # other field is the scenario's where it differs from the default, whose
            # published or derived evidence it no longer has
            if evidence == "assumption":
                set_here = name in model.model_fields_set
            else:
                set_here = name in model.model_fields_set and value != info.default
                evidence = "scenario" if set_here else evidence
            if set_here:
                source = f"Set by the scenario (the default's evidence: {source})"
            rows.append({"name": f"{prefix}.{name}", "value": value, "evidence": evidence,
                         "low": low, "high": high, "source": source,
                         "description": f"scenario {scenario.name}",
                         "assumption": evidence == "assumption", "set_here": set_here})

    for lever_name in type(scenario.levers).model_fields:
        lever = getattr(scenario.levers, lever_name)
        if lever is not None:
            walk(f"levers.{lever_name}", lever)
    for w in scenario.waves:
        if w.mode == "relocate":
            walk(f"waves.{w.name}.incumbents", w.incumbents)
    return rows
