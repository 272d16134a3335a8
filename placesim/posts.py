"""Posts that open and close: workforce growth and cuts, and roles recreated elsewhere.

The number of posts is not fixed. Civil Service headcount grew from 484,880 (2021) to 519,780
(2023), mostly outside London, and plans cut it again (12,000 London roles by 2030). Places
for Growth mostly *recreates* roles: a new post opens outside London and is filled through
the vacancy chain and local recruitment, while a London post closes when it falls vacant.

This module compiles a scenario's ``workforce`` (the fitted ACSES trend and any paths) into a
schedule every engine reads (:class:`PostPlan`): posts created per step at (grade, district,
post type), and closures added to *pools* — a grade, a set of districts and post types —
whose pending closures are taken by the next vacancies that arise there (natural wastage),
with an optional deadline after which the rest close with their holders made redundant.
Recreating waves use the same pools at run time (:func:`recreate_counts`), because their
tranches wait for desks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numba import njit

from .grades import GRADES
from .population import N_GRADES, N_TYPES, Departments, Geography

CREATE, CLOSE = 0, 1


@dataclass(frozen=True)
class PostPlan:
    """Scheduled post changes and the closure pools they (and recreating waves) use.

    Attributes
    ----------
    pool_grade : numpy.ndarray
        (pool,) grade of each pool.
    pool_mask : numpy.ndarray
        (pool, district) where its posts are.
    pool_types : numpy.ndarray
        (pool, post type) which post types it closes.
    pool_deadline : numpy.ndarray
        (pool,) step at whose start the rest close anyway (-1: never).
    pool_names : tuple of str
    creates : dict
        step -> (grade, district, post type, n) int arrays of posts opened at that step.
    closes : dict
        step -> (pool, n) int arrays of closures added to pools at that step.
    wave_pools : dict
        wave index -> (grade,) pool of the wave's closures at each grade (-1: none).
    wave_split : dict
        wave index -> (grade, post type) shares of the wave's matching posts at the start.
    wave_total : dict
        wave index -> its matching posts at the start.
    wave_count : dict
        wave index -> posts it opens within the horizon (at most).
    wave_origins : dict
        wave index -> (origin districts, (grade, origin) shares): where a recreating wave's
        roles are counted as coming from (:meth:`recreated_from`).
    """

    pool_grade: np.ndarray
    pool_mask: np.ndarray
    pool_types: np.ndarray
    pool_deadline: np.ndarray
    pool_names: tuple[str, ...]
    creates: dict = field(default_factory=dict)
    closes: dict = field(default_factory=dict)
    wave_pools: dict = field(default_factory=dict)
    wave_split: dict = field(default_factory=dict)
    wave_total: dict = field(default_factory=dict)
    wave_count: dict = field(default_factory=dict)
    departments: Departments | None = None
    wave_pool_groups: dict = field(default_factory=dict)
    wave_origins: dict = field(default_factory=dict)

    @property
    def n_pools(self) -> int:
        return len(self.pool_grade)

    @property
    def is_wave_pool(self) -> np.ndarray:
        """(pool,) True for the pools of recreating waves' origin closures."""
        out = np.zeros(self.n_pools, bool)
        for groups in self.wave_pool_groups.values():
            for pools, _ in groups.values():
                out[pools] = True
        return out

    def wave_closures(self, wave: int, g: np.ndarray, n: np.ndarray,
                      given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closures a recreating wave's tranche adds to its pools: (pool, n) arrays.

        The posts a tranche opens at grade g (rows ``g``, ``n``) close as many origin posts
        of grade g, split over the wave's pools of that grade (one pool, unless the wave
        selects departments: see :func:`_closure_groups`): the next items of
        :func:`in_turn` over the pools' shares after the closures ``given`` to them so far
        (by pool, every mode's running total), so that after every tranche each pool has
        its share of them all within one. (Split by the shares alone, each tranche gave its
        odd closures to the same pools: tranches of 12 over 18 districts gave one due 3.5
        closures 8 and the 12 smallest none; by what each pool lacked, rounded, small pools
        took whole closures from the largest, three short among 33 pools; reviews.)
        """
        groups = self.wave_pool_groups.get(wave, {})
        pools, amounts = [], []
        present = np.bincount(g, minlength=N_GRADES)
        total = np.bincount(g, weights=n, minlength=N_GRADES)
        for gi in np.flatnonzero(present).tolist():  # the grades the rows have, in order
            if gi not in groups:
                continue
            idx, shares = groups[gi]
            pools.append(idx)
            if len(shares) == 1:  # (the whole pool)
                amounts.append(np.array([int(total[gi])]))
                continue
            n = int(total[gi])
            so_far = int(round(float(np.sum(np.asarray(given)[idx]))))
            turns = in_turn(so_far + n, shares)[so_far:]  # (the next n of the pools' turns)
            amounts.append(np.bincount(turns, minlength=len(idx)))
        if not pools:
            e = np.empty(0, np.int64)
            return e, e
        return np.concatenate(pools), np.concatenate(amounts)

    def recreated_from(self, wave: int, g: np.ndarray, d: np.ndarray, n: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where a recreating tranche's roles count as coming from: (origin, destination,
        roles) rows, each row ``g, d, n`` of the tranche split over the wave's origin
        districts in proportion to its matching posts there at grade ``g`` (the posts whose
        closures the new ones stand for). Expected shares, not whole roles: a role's
        closure falls wherever a vacancy arises in the origin, so the same in every mode.
        Roles moved out of London are the rows from London to elsewhere."""
        origins, share = self.wave_origins[wave]
        amount = share[np.asarray(g, np.int64)] * np.asarray(n, float)[:, None]  # (row, o)
        row, o = np.nonzero(amount)
        return origins[o], np.asarray(d, np.int64)[row], amount[row, o]

    def recreated_by_cell(self, wave: int, g: np.ndarray, j: np.ndarray, n: np.ndarray,
                          width: int) -> np.ndarray:
        """:meth:`recreated_from`'s roles summed by (origin, destination): (origin of the
        wave's, destination ``j`` of ``width``) for a tranche's rows ``g, j, n``, in one
        product over the grades (the expected mode's records; the rows, thousands a
        tranche, took a third of its run's Python time). The same but for rounding."""
        _, share = self.wave_origins[wave]
        by_grade = np.zeros((share.shape[0], width))
        np.add.at(by_grade, (np.asarray(g, np.int64), np.asarray(j, np.int64)), n)
        return share.T @ by_grade

    def spare(self, scenario) -> np.ndarray:
        """(grade,) most posts the schedule and the recreating waves may open."""
        out = np.zeros(N_GRADES, np.int64)
        for g, _, _, n in self.creates.values():
            np.add.at(out, g, n)
        for i, w in enumerate(scenario.waves):
            split = self.wave_split.get(i)
            if split is None:
                continue
            n = self.wave_count[i]
            # (the wave's (grade, type) cells are within one post of their share, each
            # destination's within two: recreate_counts)
            out += np.ceil(split.sum(axis=1) * n).astype(np.int64) + len(
                w.destinations) * split.shape[1]
        return out


def _largest_remainders(ns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`largest_remainder` of each non-negative whole number in ``ns`` with the same
    ``weights``, as one array operation (rows are identical to the one-at-a-time results)."""
    w = np.asarray(weights, float).ravel()
    if not len(ns) or w.sum() <= 0:
        return np.zeros((len(ns), len(w)), np.int64)
    return _split_rows(np.asarray(ns, np.int64), w / w.sum())


@njit(cache=True)
def _split_rows(ns, shares):
    """Rows of :func:`_largest_remainders` (``shares`` sum to 1): each row's floors, then one
    more for the largest remainders, ties to the earlier weight (a stable sort)."""
    out = np.zeros((len(ns), len(shares)), np.int64)
    frac = np.empty(len(shares))
    for i in range(len(ns)):
        rem = ns[i]
        for j in range(len(shares)):
            raw = shares[j] * float(ns[i])
            base = np.floor(raw)
            out[i, j] = np.int64(base)
            frac[j] = raw - base
            rem -= np.int64(base)
        if rem > 0:
            order = np.argsort(-frac, kind="mergesort")
            for r in range(rem):
                out[i, order[r]] += 1
    return out


def largest_remainder(n: int, weights: np.ndarray) -> np.ndarray:
    """Split the whole number ``n`` in proportion to ``weights`` (sum kept exactly; a
    negative ``n`` is split as ``-n`` and the parts negated)."""
    n = int(n)
    return _largest_remainders(np.array([abs(n)], np.int64), weights)[0] * (1 if n >= 0 else -1)


def passed_deadline(pool_deadline: np.ndarray, closing: np.ndarray, step: int) -> np.ndarray:
    """Closure pools whose deadline (a step; -1: none) has come by ``step`` and that still
    have closures pending: all of them close now, their holders made redundant, so closures
    added after the deadline (by a later tranche or a later year's cut) close at the next
    step's schedule. (Read only at the deadline's own step, they were never forced.)"""
    return np.flatnonzero((pool_deadline >= 0) & (pool_deadline <= step) & (closing > 0))


def in_turn(n: int, weights) -> np.ndarray:
    """The categories of ``n`` items given out one at a time so that after every item each
    category's count is within one of its quota (``k * weight / sum`` after ``k`` items):
    of the categories that can take one more without going a whole item over quota, the one
    that would first fall a whole item short (earliest deadline first; ties to the first).
    Such a sequence exists (Tijdeman's chairman assignment) and earliest deadline first finds
    it. A wave's posts taken a tranche at a time from this sequence keep every tranche's
    split fair and the totals in proportion, where splitting each small tranche by largest
    remainders gave every tranche's odd post to the same place (24 posts in 12 tranches over
    shares 0.34/0.33/0.33 went 12/12/0).

    Returns
    -------
    numpy.ndarray
        int64 category of each item, read-only (kept for the same arguments); a longer
        sequence starts with a shorter one.
    """
    return _in_turn(int(n), tuple(float(w) for w in weights))


def share_out(n: int, weights) -> np.ndarray:
    """``n`` whole items over categories in proportion to ``weights``: the counts of
    :func:`in_turn`'s first ``n`` (each within one of its quota). A wave that finds fewer
    posts than it asked gives them out so over its destinations, in every model."""
    return np.bincount(in_turn(n, weights), minlength=len(weights))


@lru_cache(maxsize=1024)
def _in_turn(n: int, weights: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(weights, float)
    if n <= 0 or not len(w) or w.sum() <= 0:
        return np.empty(0, np.int64)
    out = _earliest_deadline_first(n, w / w.sum())
    out.flags.writeable = False
    return out


@njit(cache=True)
def _earliest_deadline_first(n, share):
    """:func:`in_turn`'s sequence for shares summing to 1."""
    k = len(share)
    count = np.zeros(k)
    out = np.empty(n, np.int64)
    for t in range(1, n + 1):
        best, due = -1, np.inf
        for i in range(k):
            if share[i] <= 0 or count[i] + 1 - t * share[i] >= 1 - 1e-9:
                continue  # (one more would put it a whole item over its quota)
            d = np.ceil((count[i] + 1) / share[i] - 1e-9)  # the step it must have it by
            if d < due:
                best, due = i, d
        out[t - 1] = best
        count[best] += 1
    return out


@lru_cache(maxsize=4)
def acses_trend(years: tuple[int, ...] = (2021, 2022, 2023)) -> np.ndarray:
    """Annual growth of posts by grade in London and outside, fitted to the shipped packages.

    A log-linear fit (least squares of log posts on year) of each grade's posts in London and
    outside London in the packages of ``years`` (Civil Service Statistics at 31 March):
    a trend, not a replay of any one year.

    Returns
    -------
    numpy.ndarray
        (grade, place) growth factors per year, place 0 outside London, 1 London.
    """
    import pandas as pd

    from .geodata import shipped_package

    rows = []
    for y in years:
        folder = shipped_package(y)
        b = pd.read_csv(folder / "baseline_posts.csv", usecols=["lad_code", "grade", "posts"])
        b["year"] = y
        rows.append(b)
    b = pd.concat(rows)
    b["london"] = b["lad_code"].str.startswith("E09").astype(int)
    t = b.groupby(["grade", "london", "year"])["posts"].sum()
    out = np.ones((N_GRADES, 2))
    x = np.array(years, float)
    for gi, g in enumerate(GRADES):
        for place in (0, 1):
            v = np.array([t.get((g, place, y), 0.0) for y in years], float)
            if np.all(v > 0):
                out[gi, place] = float(np.exp(np.polyfit(x, np.log(v), 1)[0]))
    return out


def wave_matching(plan, posts: np.ndarray) -> np.ndarray:
    """(grade, post type) posts in a wave's origin that match its selector (its
    departments' posts when it starts, as the waves before it left them, when it selects
    departments: :func:`select_departments`)."""
    if plan.dept_posts is not None:
        posts = plan.dept_posts
    return (posts[:, plan.origin_mask, :].sum(axis=1) * plan.grade_mask[:, None]
            * plan.type_mask[None, :])


def select_departments(waves, scenario, departments: Departments) -> tuple:
    """Waves resolved against the departments: which of the posts they match are whose.

    Departments' posts change as waves take them, so each wave, in the order they start,
    sees what the waves before it left (:func:`_taken`: what a wave takes, in expectation,
    from each department). A wave with ``posts.department`` matches only its departments'
    posts then (``dept_posts``: its count and share, its grade and post-type mix); its
    origin keeps only the districts where they hold matching posts, so the posts it moves
    and the posts it closes are taken there, the posts it moves from each (grade, district,
    post type) in proportion to theirs (:func:`placesim.rules.department_counts`); and
    ``dept_share``, their share of the matching posts in that origin, scales what the
    engines find available when the wave starts (the engines' posts of one cell are alike:
    see :class:`placesim.population.Departments`). Every wave's ``dept_mix`` is the
    departments' matching posts in its origin when it starts, whose moves the department
    view shares out by it (:mod:`placesim.departments`). (Each wave once saw the
    departments' posts at the start: a second Home Office wave found the posts the first
    had taken still there, and took other departments' posts in their place.)

    Parameters
    ----------
    waves : tuple of WavePlan
    scenario : Scenario
    departments : Departments

    Returns
    -------
    tuple of WavePlan
    """
    from dataclasses import replace

    remaining = departments.posts.astype(float)  # (K, G, D, T), as the waves leave them
    out = list(waves)
    for i in sorted(range(len(waves)), key=lambda i: (waves[i].start_time, i)):
        plan, w = waves[i], scenario.waves[i]
        sel = plan.grade_mask[:, None, None] & plan.type_mask[None, None, :]
        if w.posts.department:
            idx = tuple(departments.index(w.posts.department))
            own = remaining[list(idx)].sum(axis=0)  # (G, D, T)
            held = (own * sel).sum(axis=(0, 2))  # (D,) matching posts by district
            origin = plan.origin_mask & (held > 0)
            if not origin.any():
                origin = plan.origin_mask
            # (their share of the matching posts where the wave now looks: over the whole
            # origin, it took 378 of HMRC's 489 London EO-HEO posts for share: 1)
            everyone = float((remaining.sum(axis=0) * sel)[:, origin].sum())
            share = float(held[origin].sum()) / everyone if everyone > 0 else 0.0
            plan = replace(plan, origin_mask=origin, departments=idx, dept_posts=own,
                           dept_share=share)
        part = remaining * (sel & plan.origin_mask[None, :, None])  # the cells it takes from
        if plan.departments:  # (its departments' posts only)
            part[np.setdiff1d(np.arange(len(part)), plan.departments)] = 0.0
        taken = _taken(plan, part)
        removes = not plan.recreate or w.close_origin
        arriving = taken.sum(axis=(2, 3))  # (K, G) whose the posts it opens or brings are
        if plan.recreate and w.department_shares:  # (as the department view has them)
            from .departments import published_split

            arriving = published_split(arriving, w.department_shares, departments.codes)
        out[i] = replace(plan, dept_mix=part.sum(axis=3), dept_taken=taken.sum(axis=3),
                         dept_arriving=arriving, dept_removes=bool(removes))
        if removes:
            remaining -= taken
    return tuple(out)


def _taken(plan, part: np.ndarray) -> np.ndarray:
    """(K, G, D, T) posts a wave takes from each department, in expectation: its count (or
    share of its matching posts ``part``, its departments' in the cells it takes from), by
    grade as its grade mix says (else as the posts are), from each cell in proportion to
    those posts."""
    total = float(part.sum())
    if total <= 0:
        return part
    n = plan.count if plan.count is not None else plan.share * total
    by_grade = part.sum(axis=(0, 2, 3))
    want = (n * plan.grade_mix if plan.grade_mix is not None
            else n * by_grade / total)  # (G,) posts taken at each grade
    scale = np.divide(want, by_grade, out=np.zeros(len(want)), where=by_grade > 0)
    return np.minimum(part * scale[None, :, None, None], part)


def wave_split(plan, posts: np.ndarray) -> np.ndarray:
    """(grade, post type) shares of the posts a recreating wave opens.

    By grade, the wave's ``grade_mix`` when it gives one, else in proportion to the matching
    posts in the origin; within a grade, post types in proportion to the matching posts.
    """
    matching = wave_matching(plan, posts)
    total = float(matching.sum())
    if plan.grade_mix is None:
        return matching / total if total > 0 else matching
    by_grade = matching.sum(axis=1, keepdims=True)
    types = np.divide(matching, by_grade, out=np.zeros_like(matching, float),
                      where=by_grade > 0)
    types[by_grade[:, 0] <= 0] = type_share_default(plan.type_mask)
    return plan.grade_mix[:, None] * types


def type_share_default(mask: np.ndarray) -> np.ndarray:
    """Post types of a grade with no matching posts: the first allowed type."""
    out = np.zeros(len(mask))
    out[int(np.flatnonzero(mask)[0]) if mask.any() else 0] = 1.0
    return out


@lru_cache(maxsize=1)
def record_posts() -> dict[int, np.ndarray]:
    """Posts by grade in each shipped package (Civil Service Statistics at 31 March)."""
    import pandas as pd

    from .geodata import SHIPPED_YEARS, shipped_package

    out = {}
    for y in SHIPPED_YEARS:
        b = pd.read_csv(shipped_package(y) / "baseline_posts.csv", usecols=["grade", "posts"])
        t = b.groupby("grade")["posts"].sum()
        out[y] = np.array([float(t.get(g, 0.0)) for g in GRADES])
    return out


def compile_posts(scenario, geo: Geography, posts: np.ndarray, spy: int, waves,
                  wave_creations, departments: Departments | None = None) -> PostPlan:
    """Compile a scenario's workforce section and recreating waves into a :class:`PostPlan`.

    Parameters
    ----------
    scenario : Scenario
    geo : Geography
    posts : numpy.ndarray
        (grade, district, post type) posts at the start.
    spy : int
        Steps per year.
    waves : tuple of WavePlan
        The scenario's waves, resolved.
    wave_creations : callable
        ``(year) -> (grade, place)`` posts the scenario's recorded recreating waves open in a
        year (place 0 outside London, 1 London): the ACSES trend counts them towards its
        growth (a what-if wave's act on top of it).
    departments : Departments, optional
        The package's departments, kept for the department view.

    Returns
    -------
    PostPlan
    """
    start = scenario.horizon.start_year
    n_steps = scenario.horizon.years * spy
    D = geo.n_districts
    pools: list[tuple] = []  # (grade, mask, types, deadline step, name)
    creates: dict[int, list] = {}
    closes: dict[int, list] = {}

    def step_of(year: int) -> int:
        return (year - start) * spy

    def deadline(year) -> int:
        return -1 if year is None else step_of(year)

    def schedule(name: str, g: int, mask: np.ndarray, yearly: list[tuple[int, int]],
                 close_by) -> None:
        """Spread each year's change (posts) evenly over its steps."""
        weights = posts[g] * mask[:, None]  # (district, type): new posts where posts are
        if weights.sum() <= 0:
            weights = np.outer(mask.astype(float), [1.0, 0.0, 0.0])
        # new posts go to the cells in turn (in_turn), a step's posts the next of them: split
        # a step at a time, a cell whose share of a step is a fraction got it at every step
        # or at none
        cells = np.flatnonzero(weights.ravel())
        turns = in_turn(sum(a for _, a in yearly if a > 0), weights.ravel()[cells])
        taken = 0
        pool = None
        for year, amount in yearly:
            if amount == 0:
                continue
            first = step_of(year)
            per_step = largest_remainder(abs(amount), np.ones(spy))
            for j in range(spy):
                k, n = first + j, int(per_step[j])
                if n == 0 or not 0 <= k < n_steps:
                    continue
                if amount > 0:
                    got = np.bincount(turns[taken:taken + n], minlength=len(cells))
                    taken += n
                    nz = np.flatnonzero(got)
                    d, t = np.unravel_index(cells[nz], weights.shape)
                    creates.setdefault(k, []).append((np.full(len(nz), g), d, t, got[nz]))
                else:
                    if pool is None:
                        pools.append((g, mask, np.ones(N_TYPES, bool), deadline(close_by),
                                      f"{name}:{GRADES[g]}"))
                        pool = len(pools) - 1
                    closes.setdefault(k, []).append((np.array([pool]), np.array([n])))

    wf = scenario.workforce
    if wf.trend == "acses":
        growth = acses_trend(tuple(wf.trend_years)) if wf.trend_years else acses_trend()
        record = record_posts() if wf.totals == "record" else {}
        until = wf.trend_end
        place_mask = (~geo.is_london, geo.is_london)
        years = range(start, min(until, start + scenario.horizon.years - 1) + 1)
        for g in range(N_GRADES):
            level = np.array([float(posts[g][m].sum()) for m in place_mask])
            yearly: tuple[list, list] = ([], [])
            for year in years:
                change = level * (growth[g] - 1.0)
                if year in record and year + 1 in record:
                    # the year's national change as recorded; the trend says where it goes
                    surprise = record[year + 1][g] - record[year][g] - change.sum()
                    change = change + surprise * level / max(level.sum(), 1.0)
                level = level + change
                for place in (0, 1):
                    yearly[place].append(
                        (year, int(round(change[place] - wave_creations(year)[g, place]))))
            for place in (0, 1):
                schedule(f"trend:{'london' if place else 'outside_london'}", g,
                         place_mask[place], yearly[place], None)
    for path in wf.paths:
        mask = _place_mask(path.place, geo)
        years = list(range(path.from_year, path.to_year + 1))
        for g in [GRADES.index(x) for x in path.grades]:
            base = float(posts[g][mask].sum())
            total = path.change * base / max(sum(
                float(posts[GRADES.index(x)][mask].sum()) for x in path.grades), 1.0) \
                if path.change is not None else base * path.percent / 100.0
            per_year = largest_remainder(int(round(abs(total))), np.ones(len(years)))
            sign = 1 if total >= 0 else -1
            schedule(path.name, g, mask, [(y, sign * int(a)) for y, a in zip(
                years, per_year, strict=True)], path.close_by)
    wave_pools, wave_splits, wave_total, wave_count, wave_origins = {}, {}, {}, {}, {}
    wave_groups: dict[int, dict] = {}
    for i, w in enumerate(scenario.waves):
        if w.mode != "recreate":
            continue
        plan = waves[i]
        tm = plan.type_mask
        wave_splits[i] = wave_split(plan, posts)
        wave_total[i] = float(wave_matching(plan, posts).sum())
        wave_count[i] = plan.count if plan.count is not None else plan.share * wave_total[i]
        wave_origins[i] = _origin_shares(plan, posts)
        grades = np.full(N_GRADES, -1)
        groups: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if w.close_origin:
            for g in np.flatnonzero(plan.grade_mask):
                first = len(pools)
                masks, shares = _closure_groups(plan, g)
                for j, mask in enumerate(masks):
                    pools.append((g, mask, tm, deadline(w.close_by),
                                  f"{w.name}:{GRADES[g]}" + (f":{j}" if j else "")))
                grades[g] = first
                groups[int(g)] = (np.arange(first, len(pools)), shares)
        wave_pools[i] = grades
        wave_groups[i] = groups
    P = len(pools)
    return PostPlan(
        pool_grade=np.array([p[0] for p in pools], np.int64),
        pool_mask=(np.stack([p[1] for p in pools]) if P else np.zeros((0, D), bool)),
        pool_types=(np.stack([p[2] for p in pools]) if P else np.zeros((0, N_TYPES), bool)),
        pool_deadline=np.array([p[3] for p in pools], np.int64),
        pool_names=tuple(p[4] for p in pools),
        creates={k: tuple(np.concatenate(c) for c in zip(*v, strict=True))
                 for k, v in creates.items()},
        closes={k: tuple(np.concatenate(c) for c in zip(*v, strict=True))
                for k, v in closes.items()},
        wave_pools=wave_pools, wave_split=wave_splits, wave_total=wave_total,
        wave_count=wave_count, departments=departments, wave_pool_groups=wave_groups,
        wave_origins=wave_origins,
    )


def london_part(plan, posts: np.ndarray, geo: Geography) -> float:
    """The share of a wave's roles that count as from London: over its grade split
    (:func:`wave_split`), the London part of its origin's matching posts at each grade
    (:func:`_origin_shares`), as :meth:`PostPlan.recreated_from` counts each tranche."""
    split = wave_split(plan, posts).sum(axis=1)
    origins, share = _origin_shares(plan, posts)
    by_grade = share[:, geo.is_london[origins]].sum(axis=1)
    total = split.sum()
    return float((split * by_grade).sum() / total) if total > 0 else float(by_grade.mean())


def _origin_shares(plan, posts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A recreating wave's origin districts and, by grade, each one's share of the wave's
    matching posts there (its departments' posts when it selects departments); a grade
    with none there takes the shares of every grade's matching posts, and a wave with none
    at all takes its origin districts alike."""
    origins = np.flatnonzero(plan.origin_mask)
    held = plan.dept_posts if plan.dept_posts is not None else posts
    held = (held[:, origins, :] * plan.type_mask[None, None, :]).sum(axis=2)  # (G, o)
    held = held * plan.grade_mask[:, None]
    every = held.sum(axis=0)
    if every.sum() <= 0:
        every = np.ones(len(origins))
    held[held.sum(axis=1) <= 0] = every
    return origins, held / held.sum(axis=1, keepdims=True)


def _closure_groups(plan, g: int) -> tuple[list[np.ndarray], np.ndarray]:
    """District masks of a recreating wave's closure pools at grade ``g`` and the shares
    of its closures each takes: the whole origin, or, for a wave that selects departments,
    each origin district where they hold matching posts, in proportion to those posts.

    So a department's closures fall on its own districts, each as many as the department
    view takes from its posts there (:func:`placesim.departments.ledger`). (Its six largest
    districts had a pool each and the rest one together, whose closures fell wherever its
    vacancies came while the view took them from the department's posts district by
    district: a DWP wave closing 500 London posts took 59 of them from other departments'
    posts in the view: the Home Office's London posts fell by 47; review.)"""
    if plan.dept_posts is None:
        return [plan.origin_mask], np.ones(1)
    held = (plan.dept_posts[g] * plan.type_mask[None, :]).sum(axis=1) * plan.origin_mask
    order = np.flatnonzero(held)[np.argsort(-held[held > 0], kind="stable")]
    if not len(order):
        return [plan.origin_mask], np.ones(1)
    masks = [np.arange(len(held)) == d for d in order]
    return masks, held[order] / held[order].sum()


def _place_mask(place, geo: Geography) -> np.ndarray:
    if place == "all":
        return np.ones(geo.n_districts, bool)
    if place == "london":
        return geo.is_london.copy()
    if place == "outside_london":
        return ~geo.is_london
    mask = np.zeros(geo.n_districts, bool)
    mask[geo.index_of(place)] = True
    return mask


def recreate_counts(plan: PostPlan, wave: int, destinations, per_dest: np.ndarray,
                    done: np.ndarray, total: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Posts a recreating wave's tranche opens: (grade, district, post type, n) rows.

    The wave's posts are one sequence over (grade, post type) cells, given in turn in
    proportion to its split (:func:`in_turn`), cut into a block for each destination as
    long as its share of the ``total`` posts the wave takes (:func:`share_out`, of which
    every tranche's split is a prefix); a destination's posts are the next ones of its
    block, and each cell's posts go in turn over the destination's districts: the same
    whole numbers in every engine, fair in every tranche, each destination within two posts
    of its share of each cell and the wave within one.
    (Split tranche by tranche by largest remainders, 24 posts over four grades in 12
    tranches went 12/0/0/12; every destination reading the sequence from its start gave a
    cell of 1.5% its whole-number part at each of 18 destinations: the history's waves
    opened 133 of their 181 SCS posts.)

    Parameters
    ----------
    plan : PostPlan
    wave : int
    destinations : sequence
        The wave's (districts, share, site) destinations.
    per_dest : numpy.ndarray
        Posts for each destination now.
    done : numpy.ndarray
        Posts each destination has had from this wave so far; updated.
    total : int
        Posts the wave takes, over every tranche (``run.wave_totals``).
    """
    shape = plan.wave_split[wave].shape
    weights = plan.wave_split[wave].ravel()
    counts = np.asarray(per_dest, np.int64)
    if len(counts) != len(destinations):
        raise ValueError(f"{len(counts)} counts for {len(destinations)} destinations")
    counts = np.maximum(counts, 0)
    if not counts.sum():
        return tuple(np.empty(0, np.int64) for _ in range(4))
    sizes = np.array([len(d) for d, _, _ in destinations], np.int64)
    flat = np.concatenate([np.asarray(d, np.int64) for d, _, _ in destinations])
    width = int(flat.max()) + 1
    blocks = share_out(int(total), [s for _, s, _ in destinations])
    if np.any(done + counts > blocks):
        raise ValueError(f"destinations given {done + counts} posts of blocks of {blocks}")
    at = np.concatenate([[0], np.cumsum(blocks)[:-1]]).astype(np.int64) + done
    last = int((at + counts).max())
    cells, rank = _turns_and_ranks(max(256, 1 << (last - 1).bit_length()),
                                   tuple(weights.tolist()))
    key, n = _recreated_rows(cells, rank, at, counts, flat, sizes, width, len(weights))
    done += counts
    c, d = np.divmod(key, width)
    return c // shape[1], d, c % shape[1], n


@njit(cache=True)
def _recreated_rows(cells, rank, first, counts, districts, sizes, width, n_cells):
    """The posts of :func:`recreate_counts` by ``cell * width + district``: the keys that
    have any, in order, and how many each. Destination ``i``'s posts are items ``first[i]``
    to ``first[i] + counts[i] - 1`` of the cells' sequence, each cell's in turn over the
    destination's districts: a cell's items there have ranks ``r0`` to ``r1 - 1`` among
    the cell's, one after another, so its ``q``-th district gets those with ``rank % k ==
    q``, counted at once. (A key for each post, sorted, took most of a plan-for-change run's
    waves: its tranches open thousands of posts; before that, a count over every (cell,
    district) of a few hundred posts.)"""
    dense = np.zeros(n_cells * width, np.int64)
    low = np.empty(n_cells, np.int64)
    high = np.empty(n_cells, np.int64)
    start = 0
    for i in range(len(counts)):
        k = sizes[i]
        low[:] = -1
        for j in range(first[i], first[i] + counts[i]):
            c = cells[j]
            if low[c] < 0:
                low[c] = rank[j]
            high[c] = rank[j] + 1
        for c in range(n_cells):
            if low[c] < 0:
                continue
            for q in range(k):  # ranks r0 <= r < r1 with r % k == q
                n = (high[c] - 1 - q) // k - (low[c] - 1 - q) // k
                if n > 0:
                    dense[c * width + districts[start + q]] += n
        start += k
    keys = np.flatnonzero(dense)
    return keys, dense[keys]


@lru_cache(maxsize=256)
def _turns_and_ranks(n: int, weights: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`in_turn` of ``n`` items and each item's rank among its category's."""
    cells = in_turn(n, weights)
    order = np.argsort(cells, kind="stable")
    first = np.searchsorted(cells[order], cells[order])
    rank = np.empty(len(cells), np.int64)
    rank[order] = np.arange(len(cells)) - first
    rank.flags.writeable = False
    return cells, rank

