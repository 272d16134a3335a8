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

from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Param:
    """One named parameter: its value, where it comes from, and whether it is an assumption."""

    name: str
    value: Any
    source: str
    assumption: bool
    description: str = ""


@dataclass(frozen=True)
class Parameters:
    """All numbers the engine and the expected-value mode use.

    Arrays are indexed by grade code (see :data:`placesim.grades.GRADES`) or SEB class.
    Rates are annual; the engine converts them to its step.
    """

    exit_rate: np.ndarray
    internal_fill_share: np.ndarray
    lateral_share: np.ndarray
    seb_promotion_odds: np.ndarray  # (grade, seb): relative odds of promotion INTO grade
    relocation_willingness: np.ndarray  # (seb,)
    relocation_base: float
    willingness_per_100km: float
    min_quarters_in_grade: int
    london_promotion_advantage: float
    policy_match_weight: float
    accelerator_weight: float
    cost_mover_gbp: float
    cost_leaver_gbp: float
    log: tuple[Param, ...] = field(default=(), compare=False)

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


def _internal_fill_share() -> tuple[np.ndarray, list[Param]]:
    share = np.zeros(N_GRADES)
    log = []
    for i, g in enumerate(GRADES):
        if g == "AA":
            share[i] = 0.0
            continue
        if g in ("SCS2", "SCS3", "PS"):
            continue
        f = ACSES_FLOWS_2023[_acses_grade(g)]
        share[i] = 1.0 - f["entrants"] / (f["leavers"] + f["promotions_out"])
    # Senior bands: mostly filled from the band below (assumption; no published flows).
    share[GRADES.index("SCS2")] = 0.80
    share[GRADES.index("SCS3")] = 0.80
    share[GRADES.index("PS")] = 0.85
    for i, g in enumerate(GRADES):
        derived = g not in ("SCS2", "SCS3", "PS")
        log.append(
            Param(
                f"internal_fill_share.{g}",
                round(float(share[i]), 4),
                ACSES_SOURCE + " (derived: 1 - entrants/(leavers + promotions out))"
                if derived
                else "No published flows for SCS pay bands",
                assumption=not derived,
                description=f"Share of {g} vacancies filled by promotion from the grade below",
            )
        )
    return share, log


def _exit_rate() -> tuple[np.ndarray, list[Param]]:
    rate = np.zeros(N_GRADES)
    log = []
    for i, g in enumerate(GRADES):
        if g == "PS":
            rate[i] = 0.20
            log.append(Param("exit_rate.PS", 0.20, "No published figure: permanent secretaries "
                             "serve about five years", True, "Annual rate of leaving the post"))
            continue
        f = ACSES_FLOWS_2023[_acses_grade(g)]
        rate[i] = f["leavers"] / f["in_post"]
        log.append(Param(f"exit_rate.{g}", round(float(rate[i]), 4),
                         ACSES_SOURCE + " (leavers / in post)", False,
                         "Annual rate of leaving the Civil Service"))
    return rate, log


def _seb_promotion_odds() -> tuple[np.ndarray, list[Param]]:
    mix = seb_mix_by_grade()
    odds = np.ones((N_GRADES, len(SEB_CLASSES)))
    for i in range(1, N_GRADES):
        ratio = mix[i] / mix[i - 1]
        odds[i] = ratio / ratio[0]  # relative to high SEB
    log = [
        Param(
            f"seb_promotion_odds.{GRADES[i]}.{k}",
            round(float(odds[i, j]), 4),
            "Derived from People Survey 2024 SEB by grade (facts.md G): odds that keep the "
            "observed grade gradient stationary",
            False,
            f"Relative odds of promotion into {GRADES[i]} for {k} SEB (high = 1)",
        )
        for i in range(1, N_GRADES)
        for j, k in enumerate(SEB_CLASSES)
        if k != "high"
    ]
    return odds, log


def default_parameters() -> Parameters:
    """Build the default parameters with their sources.

    Returns
    -------
    Parameters
        Defaults from Civil Service Statistics 2023, the People Survey 2024 and relocation
        evidence; assumptions are marked in ``Parameters.log``.

    Examples
    --------
    >>> p = default_parameters()
    >>> round(float(p.exit_rate[2]), 3)  # EO
    0.082
    """
    exit_rate, log_exit = _exit_rate()
    fill, log_fill = _internal_fill_share()
    odds, log_odds = _seb_promotion_odds()
    lateral = np.full(N_GRADES, 0.05)
    lateral[0] = 0.0
    willingness = np.array([1.0, 0.8, 0.6])
    log = [
        *log_exit,
        *log_fill,
        *log_odds,
        Param("lateral_share", 0.05, "No published figure on geographic lateral moves "
              "(ACSES department-move rates are 2-5% a year)", True,
              "Share of vacancies filled by a same-grade move from another area"),
        Param("relocation_base", 0.30, "No published figure", True,
              "Chance that a suitable candidate outside the area will move for a promotion"),
        Param("relocation_willingness.high", 1.0, "Reference class", True,
              "Relative willingness to relocate for promotion, high SEB"),
        Param("relocation_willingness.intermediate", 0.8, "SMC 2021 (qualitative: moving "
              "costs weigh more on lower-SEB staff); value assumed", True,
              "Relative willingness to relocate, intermediate SEB"),
        Param("relocation_willingness.low", 0.6, "SMC 2021 (qualitative); value assumed", True,
              "Relative willingness to relocate, low SEB"),
        Param("willingness_per_100km", 0.85, "No published figure", True,
              "Multiplier on willingness per 100 km of distance"),
        Param("min_quarters_in_grade", 4, "No published figure", True,
              "Minimum time in grade before promotion"),
        Param("london_promotion_advantage", 1.0, "SMC 2021: living in London raises "
              "promotion chances (qualitative); the model produces it through where senior "
              "posts are, so no extra factor by default", True,
              "Extra odds of promotion for London-based candidates"),
        Param("policy_match_weight", 3.0, "No published figure", True,
              "Relative odds that a policy post goes to a policy-profession candidate"),
        Param("accelerator_weight", 1.5, "SMC 2021 / Friedman 2022: accelerator roles speed "
              "promotion (qualitative); value assumed", True,
              "Relative odds of promotion after an accelerator role (private office, "
              "posting, talent scheme)"),
        Param("cost_mover_gbp", 28100.0, "NAO 2013, BBC move to Salford: £24m allowances / "
              "854 packages", False, "Cost of relocating one incumbent"),
        Param("cost_leaver_gbp", 40000.0, "IfG 2020: relocation could cost up to £40,000 per "
              "worker (relocation, redundancy, recruitment)", False,
              "Cost of an incumbent who leaves, plus replacing them"),
    ]
    return Parameters(
        exit_rate=exit_rate,
        internal_fill_share=fill,
        lateral_share=lateral,
        seb_promotion_odds=odds,
        relocation_willingness=willingness,
        relocation_base=0.30,
        willingness_per_100km=0.85,
        min_quarters_in_grade=4,
        london_promotion_advantage=1.0,
        policy_match_weight=3.0,
        accelerator_weight=1.5,
        cost_mover_gbp=28100.0,
        cost_leaver_gbp=40000.0,
        log=tuple(log),
    )


def resolve_parameters(scenario: Scenario | None = None) -> Parameters:
    """Defaults with a scenario's ``parameters:`` overrides applied and logged.

    Parameters
    ----------
    scenario : Scenario, optional
        The scenario whose overrides apply.

    Returns
    -------
    Parameters
    """
    p = default_parameters()
    if scenario is None:
        return p
    ov = scenario.parameters
    src = f"scenario {scenario.name}"
    changed: list[Param] = []
    exit_rate = p.exit_rate.copy()
    for g, v in ov.exit_rate.items():
        exit_rate[GRADES.index(g)] = v
        changed.append(Param(f"exit_rate.{g}", v, src, True, "Override"))
    fill = p.internal_fill_share.copy()
    for g, v in ov.external_hire_share.items():
        fill[GRADES.index(g)] = 1.0 - v
        changed.append(Param(f"internal_fill_share.{g}", 1.0 - v, src, True,
                             "Override (1 - external_hire_share)"))
    odds = p.seb_promotion_odds.copy()
    for k, v in ov.seb_promotion_odds.items():
        odds[1:, SEB_CLASSES.index(k)] *= v
        changed.append(Param(f"seb_promotion_odds_multiplier.{k}", v, src, True,
                             "Override: multiplies the calibrated odds at every grade"))
    will = p.relocation_willingness.copy()
    for k, v in ov.relocation_willingness.items():
        will[SEB_CLASSES.index(k)] = v
        changed.append(Param(f"relocation_willingness.{k}", v, src, True, "Override"))
    kw: dict[str, Any] = {}
    if ov.london_promotion_advantage is not None:
        kw["london_promotion_advantage"] = ov.london_promotion_advantage
        changed.append(Param("london_promotion_advantage", ov.london_promotion_advantage, src,
                             True, "Override"))
    q = replace(p, exit_rate=exit_rate, internal_fill_share=fill, seb_promotion_odds=odds,
                relocation_willingness=will, **kw)
    return q.with_log(*changed)


def assumptions_log(params: Parameters) -> pd.DataFrame:
    """The assumptions log as a table: ``name, value, source, assumption, description``.

    Parameters
    ----------
    params : Parameters

    Returns
    -------
    pandas.DataFrame
    """
    rows = [
        {"name": p.name, "value": p.value, "source": p.source, "assumption": p.assumption,
         "description": p.description}
        for p in params.log
    ]
    return pd.DataFrame(rows).sort_values("name", kind="stable").reset_index(drop=True)


def lever_assumptions(scenario: Scenario) -> pd.DataFrame:
    """The scenario's levers and wave incumbent policies as assumptions-log rows.

    Each value is reported with its field description (which states its evidence or marks it
    an assumption).

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    pandas.DataFrame
        Columns as :func:`assumptions_log`.
    """
    rows = []

    def walk(prefix: str, model) -> None:
        for name, info in type(model).model_fields.items():
            value = getattr(model, name)
            if hasattr(type(value), "model_fields"):
                walk(f"{prefix}.{name}", value)
                continue
            desc = info.description or ""
            rows.append({
                "name": f"{prefix}.{name}", "value": value, "source": desc,
                "assumption": "ASSUMPTION" in desc.upper() or not desc,
                "description": f"scenario {scenario.name}",
            })

    for lever_name in type(scenario.levers).model_fields:
        lever = getattr(scenario.levers, lever_name)
        if lever is not None:
            walk(f"levers.{lever_name}", lever)
    for w in scenario.waves:
        walk(f"waves.{w.name}.incumbents", w.incumbents)
    cols = ["name", "value", "source", "assumption", "description"]
    return pd.DataFrame(rows, columns=cols)
