"""Indicators per year, with P10/P50/P90 over replications, in one tidy table.

The headline table has one row per ``(scenario, year, metric, group)``; the district table one
row per ``(scenario, year, lad_code, metric)``. Both carry ``mean, p10, p50, p90`` over
replications (the expected-value mode has one "replication", so its bands collapse).

Progression is a **period** measure, as demographers compute period life expectancy: from the
promotion and exit rates observed in a year for people in a place, the probability that an EO
eventually reaches G7 (or Director, SCS2), with promotion and leaving as competing risks at
each grade: ``prod_g h_promote(g) / (h_promote(g) + h_exit(g))``. Promotions are credited to the
place the person was in before promotion, so a promotion that needed a move to London counts
for the place they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import cohort
from .costs import PEOPLE_COSTS, civil_service_posts, cost_columns, policy_roles
from .grades import GRADES, SCS_GRADES, SEB_CLASSES, is_rung
from .grades import LADDER as LADDER_GRADES

EO, G7, SCS2 = GRADES.index("EO"), GRADES.index("G7"), GRADES.index("SCS2")
SCS_IDX = [GRADES.index(g) for g in SCS_GRADES]
G7_PLUS = list(range(G7, len(GRADES)))
PS = GRADES.index("PS")
LADDER = [GRADES.index(g) for g in LADDER_GRADES]  # (the ladder's rungs, by grade index)
HIGH = SEB_CLASSES.index("high")
CUT_BASE_YEAR = 2025
"""The base of London roles cut (``london_roles_cut_since_2025``): the record of March 2025,
the last before the May 2025 Plan for Change said it would cut London civil-service roles by
12,000 by 2030 (facts B)."""
CUT_METRIC = f"london_roles_cut_since_{CUT_BASE_YEAR}"
"""The metric of London roles cut since the base (:func:`london_roles_cut`)."""

METRIC_COLUMNS = ["scenario", "year", "metric", "group", "mean", "p10", "p50", "p90"]
DISTRICT_COLUMNS = ["scenario", "year", "lad_code", "metric", "mean", "p10", "p50", "p90"]
DISTRICT_METRICS = ("headcount", "posts", "net_posts_gained", "scs_posts", "high_seb_share",
                    "headcount_change")

def _div(a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def period_progression(promotions: np.ndarray, exits: np.ndarray, exposure: np.ndarray,
                       start: int, target: int) -> np.ndarray:
    """Probability of rising from grade ``start`` to ``target`` at this year's rates.

    Parameters
    ----------
    promotions : numpy.ndarray
        (..., grade) promotions INTO each grade from people in the group.
    exits, exposure : numpy.ndarray
        (..., grade) exits and person-years of the group at each grade.
    start, target : int
        Grade codes.

    Returns
    -------
    numpy.ndarray
        (...) probabilities in [0, 1]; NaN where the group has no one at some rung.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0, 0, 0, 10.0]); e = np.array([0, 0, 10.0, 0]); x = np.array([1, 1, 100.0, 1])
    >>> float(period_progression(p, e, x, 2, 3))
    0.5
    """
    h_p = _div(promotions[..., start + 1:target + 1], exposure[..., start:target])
    h_e = _div(exits[..., start:target], exposure[..., start:target])
    total = h_p + h_e  # NaN where no one was at the rung: the chance is unknown, not 0
    with np.errstate(invalid="ignore"):
        step = np.where(total > 0, h_p / np.where(total > 0, total, 1),
                        np.where(np.isnan(total), np.nan, 0.0))
    return np.prod(step, axis=-1)


PFG_SCS_PUBLISHED: tuple[tuple[int, str, float], ...] = (
    (6, "September 2023", 0.300), (9, "December 2023", 0.312))
"""Places for Growth's own SCS share outside London as published (facts.md B): months after
the census of 31 March 2023, when, and the share."""


READS_HIGH_BY: dict[str, float] = {"scs_outside_london_share": 0.042}
"""How far a metric reads above the measure its published target is tracked on, by metric
(derived: :func:`pfg_measure_gaps` at December 2023, 35.4% against the programme's 31.2%;
a test holds it to that): a projection less than this above a target is not judged to meet
it, by the targets table (:func:`placesim.export.targets_table`) and the planner alike."""


def pfg_measure_gaps(model, first_year) -> list[tuple[str, float, float]]:
    """The model's SCS share outside London against the programme's own, at its dates:
    ``(when, model, published)``, the model's from the census and ``first_year`` (the
    record of a run's first year from March 2023), interpolated. What the model's measure
    reads above the programme's (docs/validation.md section 5, and the SCS target's
    ``reads_high_by``)."""
    lon, dev = model.geo.is_london, model.devolved_posts
    census = target_measures(model.baseline_posts_gd, lon, dev)["scs_outside_london_share"]
    year = target_measures(first_year.posts[None], lon, dev)["scs_outside_london_share"][0]
    return [(when, float(census + (year - census) * months / 12), published)
            for months, when, published in PFG_SCS_PUBLISHED]


def target_measures(posts: np.ndarray, is_london: np.ndarray,
                    devolved: np.ndarray | None, south_east: np.ndarray | None = None
                    ) -> dict[str, np.ndarray]:
    """The senior targets, each on its own basis.

    Parameters
    ----------
    posts : numpy.ndarray
        (..., grade, district) posts.
    is_london : numpy.ndarray
        (district,) London flags.
    devolved : numpy.ndarray or None
        (grade,) posts of the Scottish and Welsh Governments (all outside London), held at
        the start's level (:func:`placesim.geodata.devolved_posts`).
    south_east : numpy.ndarray, optional
        (district,) flags of London, the South East and the home counties
        (:attr:`placesim.population.Geography.is_south_east`).

    Returns
    -------
    dict
        ``scs_outside_london_share`` on the Places for Growth measure (UK Government SCS:
        the devolved administrations left out), ``scs_outside_london_share_acses`` (all
        UK-based SCS, as Civil Service Statistics count them) and ``perm_secs_outside_london``
        (UK Government permanent secretaries); with ``south_east``,
        ``perm_secs_outside_south_east`` (those outside London, the South East and the home
        counties, the Social Mobility Commission's action 8.1).
    """
    dev = np.zeros(len(GRADES)) if devolved is None else devolved
    scs = posts[..., SCS_IDX, :]
    out, total = scs[..., ~is_london].sum(axis=(-2, -1)), scs.sum(axis=(-2, -1))
    d = dev[SCS_IDX].sum()
    # (the devolved posts are held at the start's level, the others may fall below them: a
    # workforce cut of the grade outside London, in expectation, left -0.08 UK Government
    # permanent secretaries outside London; review. None is fewer than none.)
    ps = np.maximum(posts[..., PS, ~is_london].sum(axis=-1) - dev[PS], 0.0)
    out_ = {"scs_outside_london_share": _div(np.maximum(out - d, 0.0), total - d),
            "scs_outside_london_share_acses": _div(out, total),
            "perm_secs_outside_london": ps}
    if south_east is not None:  # (the devolved permanent secretaries are outside it too)
        out_["perm_secs_outside_south_east"] = np.maximum(
            posts[..., PS, ~south_east].sum(axis=-1) - dev[PS], 0.0)
    return out_


def london_roles_cut(model, recs) -> np.ndarray:
    """London's Civil Service posts at the base (:data:`CUT_BASE_YEAR`) less each year's.

    The Plan for Change's measure: a cut in London roles, whether they moved, closed or were
    not refilled. Roles moved out of London count roles created elsewhere, and London could
    grow while they rose ("despite the 11,000-plus relocations ... headcount in the capital
    has continued to grow", facts B): a plan that re-creates roles outside London and closes
    none in London moves roles but cuts none. Posts are
    :func:`placesim.costs.civil_service_posts` (not council secondees' posts nor London
    postings' posts).

    Parameters
    ----------
    model : Model
    recs : list of YearRecord

    Returns
    -------
    numpy.ndarray
        (year,) posts; NaN in every year when the run starts after the base year (it does
        not hold the base) and in years before it.
    """
    lon = model.geo.is_london
    london = np.array([civil_service_posts(model, r)[:, lon].sum() for r in recs])
    return cut_since_base(london, np.array([r.year for r in recs]),
                          model.scenario.horizon.start_year,
                          float(model.baseline_posts3[:, lon].sum()))


def cut_since_base(london: np.ndarray, years: np.ndarray, start_year: int,
                   at_start: float) -> np.ndarray:
    """London posts at :data:`CUT_BASE_YEAR` less each year's (``london`` by ``years``;
    ``at_start``: at the start, the base when the run starts in that year); NaN before the
    base and for a run that starts after it. (The whole service's and each department's.)"""
    if start_year == CUT_BASE_YEAR:
        base = at_start
    elif start_year < CUT_BASE_YEAR and CUT_BASE_YEAR in years:
        base = float(london[years == CUT_BASE_YEAR][0])
    else:
        return np.full(len(years), np.nan)
    return np.where(years >= CUT_BASE_YEAR, base - london, np.nan)


def place_groups(model) -> dict[str, np.ndarray]:
    """District masks of the places progression is reported for."""
    geo = model.geo
    groups = {
        "london": geo.is_london,
        "outside_london": ~geo.is_london,
        "coldspots": geo.is_coldspot & ~geo.is_london,
    }
    site_mask = np.zeros(geo.n_districts, bool)
    for k, sid in enumerate(geo.site_ids):
        m = np.zeros(geo.n_districts, bool)
        m[geo.site_district[k]] = True
        groups[f"site:{sid}"] = m
        site_mask |= m
    groups["elsewhere"] = ~geo.is_london & ~geo.is_coldspot & ~site_mask
    return groups


def replication_rows(model, result) -> list[tuple[int, str, str, float]]:
    """Headline metric values of one replication as ``(year, metric, group, value)``."""
    labels, years, values = replication_table(model, result)
    return [(int(y), m, g, float(v)) for y, row in zip(years, values, strict=True)
            for (m, g), v in zip(labels, row, strict=True)]


def replication_table(model, result) -> tuple[list[tuple[str, str]], np.ndarray, np.ndarray]:
    """Headline metric values of one replication, all years at once.

    Parameters
    ----------
    model : Model
    result : ReplicationResult

    Returns
    -------
    labels : list of (metric, group)
        The same for every replication of a model.
    years : numpy.ndarray
        (year,)
    values : numpy.ndarray
        (year, label) values.
    """
    geo = model.geo
    lon = geo.is_london
    recs = result.years
    posts = result.stacked("posts")  # (Y, G, D)
    stock = result.stacked("stock")  # (Y, G, D, S)
    promotions, exits, exposure = (result.stacked(k)
                                   for k in ("promotions", "exits", "exposure"))
    labels: list[tuple[str, str]] = []
    columns: list[np.ndarray] = []

    def add(metric: str, groups, values) -> None:
        """Columns ``values`` (Y, len(groups)) or (Y,) for one group."""
        values = np.asarray(values, float).reshape(len(recs), -1)
        groups = [groups] if isinstance(groups, str) else list(groups)
        labels.extend((metric, g) for g in groups)
        columns.append(values)

    def scalar(name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in recs], float)

    add("roles_moved_out_of_london", "all", scalar("moved_out_of_london"))
    # the part of it moved before the run (the scenario's history), so that a reader can
    # tell the run's own moves from the programme's total
    add("roles_moved_before_start", "all", np.full(len(recs), model.rules.moved_before_start,
                                                   float))
    add(CUT_METRIC, "all", london_roles_cut(model, recs))
    for name, values in target_measures(posts, lon, model.devolved_posts,
                                        model.geo.is_south_east).items():
        add(name, "all", values)
    add("policy_roles_outside_london", "all",
        np.stack([policy_roles(model, r)[:, ~lon].sum() for r in recs]))
    add("private_office_roles_outside_london", "all",
        np.stack([r.private_office_posts[:, ~lon].sum() for r in recs]))
    scs_stock = stock[:, SCS_IDX]
    add("high_seb_share_london_scs", "all",
        _div(scs_stock[:, :, lon, HIGH].sum(axis=(1, 2)),
             _seb_total(scs_stock[:, :, lon]).sum(axis=(1, 2))))
    add("high_seb_share_non_london_scs", "all",
        _div(scs_stock[:, :, ~lon, HIGH].sum(axis=(1, 2)),
             _seb_total(scs_stock[:, :, ~lon]).sum(axis=(1, 2))))
    g7p = stock[:, G7_PLUS][..., HIGH]  # (Y, grades, D)
    add("london_share_of_high_seb_g7_plus", "all",
        _div(g7p[:, :, lon].sum(axis=(1, 2)), g7p.sum(axis=(1, 2))))
    # the concentration the SMC asks about: the higher-SEB share of London's own G7+ (the
    # share above falls whenever London's G7+ does, even as its mix tilts further; review)
    g7_london = stock[:, G7_PLUS][:, :, lon]  # (Y, grades, London districts, S)
    g7_london_people = _seb_total(g7_london).sum(axis=(1, 2))
    add("high_seb_share_london_g7_plus", "all",
        _div(g7_london[..., HIGH].sum(axis=(1, 2)), g7_london_people))
    add("headcount", "g7_plus|london", g7_london_people)  # (its base: disclosure control)
    # progression by place (K groups), interleaved EO->G7, EO->Director for each place
    groups = place_groups(model)
    member = np.stack(list(groups.values())).astype(float)  # (K, D)
    flows = [_seb_total(a) @ member.T for a in (promotions, exits, exposure)]  # (Y, G, K)
    flows = [f.transpose(0, 2, 1) for f in flows]  # (Y, K, G)
    both = np.stack([period_progression(*flows, EO, G7),
                     period_progression(*flows, EO, SCS2)], axis=2)  # (Y, K, 2)
    labels.extend((m, g) for g in groups for m in ("progression_eo_to_g7",
                                                   "progression_eo_to_director"))
    columns.append(both.reshape(len(recs), -1))
    # ... and by place x SEB
    cross = np.stack([np.ones_like(lon), lon, ~lon]).astype(float)  # all, london, outside
    flows = [(a.transpose(0, 3, 1, 2) @ cross.T).transpose(0, 3, 1, 2)
             for a in (promotions, exits, exposure)]  # (Y, place, S, G)
    both = np.stack([period_progression(*flows, EO, G7),
                     period_progression(*flows, EO, SCS2)], axis=3)  # (Y, place, S, 2)
    labels.extend((m, f"{place}seb:{k}") for place in ("", "london|", "outside_london|")
                  for k in SEB_CLASSES for m in ("progression_eo_to_g7",
                                                 "progression_eo_to_director"))
    columns.append(both.reshape(len(recs), -1))
    # the cohort measure (placesim.cohort): of 1,000 EOs in post at the start, outside
    # London and in London, how many have reached Grade 7 by each year's end
    add("cohort_eo_to_g7", list(cohort.GROUPS),
        cohort.per_1000(np.stack([r.cohort_reached for r in recs]),
                        np.stack([r.cohort_size for r in recs])))
    by_seb = np.stack([np.stack([r.moves_to_london_for_promotion,
                                 r.moves_from_london_for_promotion, r.reloc_leavers.sum(axis=0),
                                 r.reloc_movers], axis=1) for r in recs])  # (Y, S, 4)
    names = ("moves_to_london_for_promotion", "moves_from_london_for_promotion",
             "leavers_caused_by_relocation", "incumbents_relocated")
    labels.extend((m, f"seb:{k}") for k in SEB_CLASSES for m in names)
    columns.append(by_seb.reshape(len(recs), -1))
    labels.extend((m, "all") for m in names)
    columns.append(by_seb.sum(axis=1))
    # each site's grade ladder
    site_posts = posts[:, :, geo.site_district]  # (Y, G, sites)
    ladder = is_rung(site_posts[:, LADDER])  # (Y, rungs, sites)
    gap = _largest_gap(ladder).astype(float)  # (Y, sites)
    per_site = np.concatenate([site_posts.transpose(0, 2, 1), ladder.mean(axis=1)[:, :, None],
                               gap[:, :, None]], axis=2)  # (Y, sites, G + 2)
    for sid in geo.site_ids:
        labels.extend(("site_posts", f"site:{sid}:{grade}") for grade in GRADES)
        labels.extend([("site_ladder_completeness", f"site:{sid}"),
                       ("site_ladder_largest_gap", f"site:{sid}")])
    columns.append(per_site.reshape(len(recs), -1))
    promoted_into = _seb_total(promotions).sum(axis=2)  # (Y, G)
    cross = np.stack([r.cross_area_promotions for r in recs])  # (Y, G)
    add("cross_area_promotion_share", "all", _div(cross.sum(axis=1), promoted_into.sum(axis=1)))
    add("cross_area_promotion_share", [f"grade:{g}" for g in GRADES[1:]],
        _div(cross[:, 1:], promoted_into[:, 1:]))
    add("promotions", [f"grade:{g}" for g in GRADES[1:]], promoted_into[:, 1:])
    add("posts_created", "all", scalar("posts_created"))
    add("posts_closed", "all", scalar("posts_closed"))
    add("closures_pending", "all", np.array([np.sum(r.closures_pending) for r in recs]))
    red = np.stack([r.redundancies.sum(axis=0) for r in recs])  # (Y, S)
    add("redundancies", "all", red.sum(axis=1))
    add("redundancies", [f"seb:{k}" for k in SEB_CLASSES], red)
    add("coldspot_share_of_moved_roles", "all",
        _div(scalar("moved_to_coldspots"), scalar("moved_total")))
    cost_labels, cost_values = cost_columns(model, result)  # the Green Book appraisal
    # the moves' one-off cost for people, since the start: the appraisal's own figures
    people_costs = [cost_labels.index((m, "all")) for m in PEOPLE_COSTS]
    add("relocation_cost_gbp", "all", np.cumsum(cost_values[:, people_costs].sum(axis=1)))
    add("posts_awaiting_site_capacity", "all", scalar("awaiting_capacity"))
    # posts the waves asked for but did not find, to date (engine.wave_shortfall)
    short = np.stack([r.wave_posts_not_found for r in recs]).reshape(len(recs), -1)  # (Y, W)
    add("wave_posts_not_found", "all", short.sum(axis=1))
    add("wave_posts_not_found", [f"wave:{w.name}" for w in model.scenario.waves], short)
    hc = _seb_total(stock)  # (Y, G, D)
    add("headcount", "all", hc.sum(axis=(1, 2)))
    add("posts", "all", posts.sum(axis=(1, 2)))
    per_grade = np.stack([hc[:, :, lon].sum(axis=2), hc[:, :, ~lon].sum(axis=2),
                          _div(stock[:, :, :, HIGH].sum(axis=2), hc.sum(axis=2))], axis=2)
    for grade in GRADES:
        labels.extend([("headcount", f"grade:{grade}|london"),
                       # (outside London, all of it: "elsewhere" is progression's group of
                       # districts neither coldspot nor site, so one word meant two; review)
                       ("headcount", f"grade:{grade}|outside_london"),
                       ("high_seb_share", f"grade:{grade}")])
    columns.append(per_grade.reshape(len(recs), -1))
    labels.extend(cost_labels)
    columns.append(cost_values)
    from .levers import lever_columns  # the outreach and secondments levers' figures

    more, values = lever_columns(model, recs, stock)
    labels.extend(more)
    columns.append(values)
    if getattr(model.scenario, "departments", ()):  # each department's view, when asked
        from .departments import department_columns

        dept_labels, dept_values = department_columns(model, result)
        labels.extend(dept_labels)
        columns.append(dept_values)
    years = np.array([r.year for r in recs], np.int64)
    return labels, years, np.concatenate(columns, axis=1)


def _seb_total(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=-1)`` over the three SEB classes, without numpy's slow short reduction."""
    return a[..., 0] + a[..., 1] + a[..., 2]


def _largest_gap(present: np.ndarray) -> np.ndarray:
    """Longest run of missing rungs in each ladder: ``present`` is (..., rung, ladder)."""
    best = run = np.zeros(present.shape[:-2] + present.shape[-1:], np.int64)
    for rung in np.moveaxis(present, -2, 0):
        run = np.where(rung, 0, run + 1)
        best = np.maximum(best, run)
    return best


def district_values(model, result) -> np.ndarray:
    """(year, district, metric) values of one replication, metrics as :data:`DISTRICT_METRICS`."""
    base_posts = model.baseline_posts_gd.sum(axis=0)
    base_hc = model.baseline_stock.sum(axis=(0, 2))  # people in post at the start (not
    # its posts: some start vacant, the chains' steady state; 7,873 in the 2023 package)
    out = np.empty((len(result.years), model.geo.n_districts, len(DISTRICT_METRICS)))
    if not result.years:
        return out
    stock = result.stacked("stock").sum(axis=1)  # (Y, D, S)
    posts_g = result.stacked("posts")  # (Y, G, D)
    hc = _seb_total(stock)
    posts = posts_g.sum(axis=1)
    out[:, :, 0] = hc
    out[:, :, 1] = posts
    out[:, :, 2] = posts - base_posts
    out[:, :, 3] = posts_g[:, SCS_IDX].sum(axis=1)
    out[:, :, 4] = _div(stock[:, :, HIGH], hc)
    out[:, :, 5] = hc - base_hc
    return out


LATER_THAN_THE_RUN = frozenset({"payback_year"})
"""Metrics whose missing value in a replication means "not within the years run" (later than
any of them), not "unknown": a summary ranks it after every year, so a band reaches past the
run's years when enough runs never get there, and has no mean when any run does not (the mean
of the years of the runs that did, 2028 where 9 runs in 20 never paid back, read as if all
had)."""


def later_than_the_run(metrics) -> np.ndarray:
    """Boolean mask of the metric names (an array or Series) in :data:`LATER_THAN_THE_RUN`."""
    return np.isin(np.asarray(metrics, dtype=object), list(LATER_THAN_THE_RUN))


def _bands(values: np.ndarray, later=None) -> tuple[np.ndarray, ...]:
    """Mean, P10, P50, P90 over axis 0, ignoring NaN (vectorised; linear interpolation); in
    the columns ``later`` marks (a mask over axes 1 on), NaN is later than every value
    (:data:`LATER_THAN_THE_RUN`): ranked last, and a quantile or mean that reaches it is
    NaN."""
    if later is not None and np.any(later):
        values = np.where(np.asarray(later, bool) & np.isnan(values), np.inf, values)
    v = np.sort(values, axis=0)  # NaN sort last
    n = (~np.isnan(v)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(v, axis=0) / np.maximum(n, 1), np.nan)
        out = [mean]
        for q in (0.1, 0.5, 0.9):
            pos = (np.maximum(n, 1) - 1) * q
            lo = np.floor(pos).astype(np.int64)
            hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
            frac = pos - lo
            a = np.take_along_axis(v, lo[None], axis=0)[0]
            b = np.take_along_axis(v, hi[None], axis=0)[0]
            # (a == b, or no fraction of the way: a itself, which may be the run's "later")
            out.append(np.where(n > 0, np.where((frac == 0) | (a == b), a,
                                                a + (b - a) * frac), np.nan))
    return tuple(np.where(np.isinf(x), np.nan, x) for x in out)


def replication_frame(labels: list[tuple[str, str]], years: np.ndarray, tables: Sequence,
                      replications: Sequence[int]) -> pd.DataFrame:
    """Every replication's headline values as ``replication, year, metric, group, value``.

    Kept in results folders so that two runs can be compared replication by replication
    (common random numbers: see :func:`placesim.compare.compare_results`).
    """
    n_rep, n_years, n_labels = len(tables), len(years), len(labels)
    metric, group = zip(*labels, strict=True)
    return pd.DataFrame({
        "replication": np.repeat(np.asarray(replications, np.int64), n_years * n_labels),
        "year": np.tile(np.repeat(years, n_labels), n_rep),
        "metric": pd.Categorical(np.tile(np.array(metric, dtype=object), n_rep * n_years)),
        "group": pd.Categorical(np.tile(np.array(group, dtype=object), n_rep * n_years)),
        "value": np.concatenate([t[2].ravel() for t in tables]),
    })


@dataclass
class Digest:
    """What the summaries keep of one replication: its headline values, its district values
    (and the requested departments'), its moves and years - about a tenth of the
    replication's arrays (a whole-service replication is ~5 MB), so a run of many
    replications holds digests, not replications (:func:`digest`)."""

    replication: int
    table: tuple  # (labels, years, values): replication_table
    districts: np.ndarray  # (year, district, metric): district_values
    departments: tuple  # (names, values): placesim.departments.district_values
    moves: pd.DataFrame
    years: list


def digest(model, result) -> Digest:
    """The :class:`Digest` of one replication (or expected-value run)."""
    if isinstance(result, Digest):
        return result
    dept = ([], None)
    if getattr(model.scenario, "departments", ()):
        from .departments import district_values as department_districts

        dept = department_districts(model, result)
    return Digest(replication=result.replication, table=replication_table(model, result),
                  districts=district_values(model, result), departments=dept,
                  moves=result.moves, years=[rec.year for rec in result.years])


def summarise(model, results: Sequence, scenario_name: str
              ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Headline and district tables with bands over replications, and every replication's
    headline values.

    Parameters
    ----------
    model : Model
    results : sequence of ReplicationResult or Digest
    scenario_name : str

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, pandas.DataFrame)
        Metrics (:data:`METRIC_COLUMNS`), districts (:data:`DISTRICT_COLUMNS`) and the
        per-replication values (:func:`replication_frame`).
    """
    ordered = sorted((digest(model, r) for r in results), key=lambda r: r.replication)
    tables = [r.table for r in ordered]
    labels, years, _ = tables[0]
    metric, group = zip(*labels, strict=True)
    mean, p10, p50, p90 = _bands(np.stack([t[2].ravel() for t in tables]),
                                 later=np.tile(later_than_the_run(metric), len(years)))
    metrics = pd.DataFrame({"year": np.repeat(years, len(labels)),
                            "metric": np.tile(np.array(metric, dtype=object), len(years)),
                            "group": np.tile(np.array(group, dtype=object), len(years))})
    metrics.insert(0, "scenario", scenario_name)
    metrics["mean"], metrics["p10"], metrics["p50"], metrics["p90"] = mean, p10, p50, p90

    per_replication = replication_frame(labels, years, tables, [r.replication for r in ordered])
    dm, d10, d50, d90 = _bands(np.stack([r.districts for r in ordered]))
    n_years, n_d, n_m = dm.shape
    years = ordered[0].years
    districts = pd.DataFrame({
        "scenario": scenario_name,
        "year": np.repeat(years, n_d * n_m),
        "lad_code": np.tile(np.repeat(model.geo.lad_codes, n_m), n_years),
        "metric": np.tile(np.array(DISTRICT_METRICS), n_years * n_d),
        "mean": dm.ravel(), "p10": d10.ravel(), "p50": d50.ravel(), "p90": d90.ravel(),
    })
    if getattr(model.scenario, "departments", ()):  # each department's districts, when asked
        from .departments import district_frame

        districts = pd.concat([districts, district_frame(model, ordered, scenario_name)],
                              ignore_index=True)
    return metrics, districts, per_replication


def summarise_moves(model, results: Sequence, scenario_name: str) -> pd.DataFrame:
    """Mean posts moved per (wave, year, origin, destination) over replications (each a
    ReplicationResult or a :class:`Digest`)."""
    frames = [r.moves for r in results if len(r.moves)]
    cols = ["scenario", "wave", "year", "origin_lad_code", "destination_lad_code", "posts"]
    if not frames:
        return pd.DataFrame(columns=cols)
    m = pd.concat(frames, ignore_index=True)
    m = m.groupby(["wave", "year", "from", "to"], as_index=False)["posts"].sum()
    m["posts"] = m["posts"] / len(results)
    names = [w.name for w in model.scenario.waves]
    m["wave"] = [names[int(i)] for i in m["wave"]]
    m["origin_lad_code"] = model.geo.lad_codes[m["from"].to_numpy(int)]
    m["destination_lad_code"] = model.geo.lad_codes[m["to"].to_numpy(int)]
    m.insert(0, "scenario", scenario_name)
    return m[cols]
