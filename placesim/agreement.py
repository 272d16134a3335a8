"""Do the modes agree? The stochastic mean against the expected mode, metric by metric.

The expected mode is the instant answer the app shows and the per-person reference model is
the oracle; both are only worth having if they say what the stochastic engine says on
average. This module holds the check the tests (on a reduced population) and the benchmark
(at full scale) share: run a prepared model in both modes, and for every headline figure
report the expected value, the stochastic mean, its standard error and whether they agree
within three standard errors or 1% of the value, whichever is larger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .grades import SEB_CLASSES
from .metrics import replication_table
from .present import HEADLINES

PLACES = ("london", "outside_london", "coldspots")
PROGRESSION = ("progression_eo_to_g7", "progression_eo_to_director")
MOVES = ("moves_to_london_for_promotion", "moves_from_london_for_promotion")


def lever_cases(start_year: int) -> dict[str, str]:
    """Each lever on its own from ``start_year``, as the scenario text of its ``levers:``
    entry: the cases the agreement is checked on (the test on a reduced population, the
    benchmark at full scale), so both check the same levers with the same settings."""
    y = int(start_year)
    return {
        "freeze": f"london_recruitment_freeze: {{start_year: {y}, share_blocked: 0.5}}",
        "mentoring": f"mentoring: {{start_year: {y}, grades: [EO, HEO, SEO, G7], "
                     "coverage: 0.3, promotion_multiplier: 1.5}",
        "postings": f"london_postings: {{start_year: {y}, places_per_year: 2000, months: 6}}",
        "support": f"relocation_support: {{start_year: {y}}}",
        "scheme": f"talent_scheme_ring_fence: {{start_year: {y}, places_per_year: 3000}}",
        "scs_target": f"low_seb_scs_flow_target: {{start_year: {y}, share: 0.4}}",
        "outreach": f"recruitment_outreach: {{start_year: {y}, grades: [EO, HEO], "
                    "low_seb_points: 0.1, places: {coldspots: true, sites: [leeds]}}",
        "secondments": f"secondments: {{start_year: {y}, inbound_per_site: 200, "
                       "outbound_per_site: 200, conversion_share: 0.3}",
        "mentoring_ho": f"mentoring: {{start_year: {y}, grades: [EO, HEO, SEO, G7], "
                        "coverage: 0.6, promotion_multiplier: 2, department: HO}",
        "freeze_hmrc": f"london_recruitment_freeze: {{start_year: {y}, share_blocked: 1.0, "
                       "department: HMRC}",
        "outreach_dwp": f"recruitment_outreach: {{start_year: {y}, grades: [AO, EO, HEO], "
                        "low_seb_points: 0.2, places: {coldspots: true}, department: DWP}",
    }


def checked_figures() -> list[tuple[str, str]]:
    """(metric, group) pairs the agreement is checked on: the headline figures, progression
    by place, SEB and both, and moves to and from London for promotion (all and by SEB)."""
    out = list(HEADLINES)
    groups = [*PLACES] + [f"seb:{s}" for s in SEB_CLASSES] + [
        f"{p}|seb:{s}" for p in ("london", "outside_london") for s in SEB_CLASSES]
    out += [(m, g) for m in PROGRESSION for g in groups]
    out += [(m, g) for m in MOVES for g in ("all", *[f"seb:{s}" for s in SEB_CLASSES])]
    seen: set = set()
    return [x for x in out if not (x in seen or seen.add(x))]


def compare_modes(model, replications: int = 40, seed: int | None = None,
                  figures: list[tuple[str, str]] | None = None, z: float = 3.0,
                  relative: float = 0.01) -> pd.DataFrame:
    """The stochastic mean of a prepared model against its expected mode.

    Parameters
    ----------
    model : placesim.engine.Model
    replications : int, default 40
    seed : int, optional
    figures : list of (metric, group), optional
        Default :func:`checked_figures`.
    z : float, default 3
        Standard errors allowed.
    relative : float, default 0.01
        Or this share of the expected value, whichever is larger.

    Returns
    -------
    pandas.DataFrame
        ``year, metric, group, expected, mean, se, z, testable, ok`` for every year and
        figure. ``se`` is the standard error of the stochastic mean (NaN replications
        ignored); a figure with no value in either mode is left out. A figure is
        ``testable`` when at most 10% of replications give it no value or zero while the
        expected value is not zero: otherwise the events behind it are too rare at this
        population for a mean and its standard error to mean much (a rate of promotion into
        a grade that a small group reaches once in several runs), and ``ok`` is only
        reported, not a verdict.
    """
    from .engine import run_replication
    from .expected import run_expected

    figures = checked_figures() if figures is None else figures
    labels, years, exp = replication_table(model, run_expected(model))
    runs = np.stack([replication_table(model, run_replication(model, r, seed))[2]
                     for r in range(replications)])
    index = {lab: i for i, lab in enumerate(labels)}
    rows = []
    for fig in figures:
        i = index.get(fig)
        if i is None:
            continue
        for y, year in enumerate(years):
            all_v = runs[:, y, i]
            v = all_v[~np.isnan(all_v)]
            e = exp[y, i]
            if len(v) < 2 or np.isnan(e):
                continue
            mean, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v)))
            tol = max(z * se, relative * abs(e))
            empty = np.mean(np.isnan(all_v) | (all_v == 0))
            rows.append({"year": int(year), "metric": fig[0], "group": fig[1],
                         "expected": float(e), "mean": mean, "se": se,
                         "z": (mean - e) / se if se > 0 else (0.0 if mean == e else np.inf),
                         "testable": bool(e == 0 or empty <= 0.1),
                         "ok": abs(mean - e) <= tol + 1e-12})
    return pd.DataFrame(rows, columns=["year", "metric", "group", "expected", "mean", "se",
                                       "z", "testable", "ok"])


def scale_scenario(scenario, factor: float):
    """A scenario whose waves' counts, sites' capacities and levers' places are scaled by
    ``factor``, to run on a data package scaled by the same factor
    (:func:`placesim.testing.scaled_package`)."""
    def n(x):
        return None if x is None else max(1, int(round(x * factor)))

    waves = tuple(w.model_copy(update={"count": n(w.count)}) for w in scenario.waves)
    sites = {k: v.model_copy(update={"capacity": n(v.capacity)})
             for k, v in scenario.sites.items()}
    levers = scenario.levers
    update = {}
    for name in ("london_postings", "talent_scheme_ring_fence"):
        lever = getattr(levers, name)
        if lever is not None:
            update[name] = lever.model_copy(update={"places_per_year": n(
                lever.places_per_year)})
    sec = levers.secondments
    if sec is not None:
        update["secondments"] = sec.model_copy(update={
            "inbound_per_site": n(sec.inbound_per_site) if sec.inbound_per_site else 0,
            "outbound_per_site": n(sec.outbound_per_site) if sec.outbound_per_site else 0})
    return scenario.model_copy(update={"waves": waves, "sites": sites,
                                       "levers": levers.model_copy(update=update)})
