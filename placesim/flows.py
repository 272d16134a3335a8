"""One step of workforce flows on the slot arrays: exits, vacancy chains, recruitment, moves.

Pure numpy, no Python loop over people. Each function's work is proportional to the number of
events (exits, vacancies, candidates tried), not to headcount:

* exits are drawn as geometric gaps over the slot array at the highest grade rate and thinned
  to each grade's rate — exactly a Bernoulli draw per person, at the cost of the exits;
* a vacancy is filled top-down through the grades (a vacancy chain, H. C. White 1970): by
  promotion from the grade below — local candidates first (the contiguous block of the same
  labour-market area), then candidates elsewhere willing to relocate — by a lateral move, or by
  an external recruit drawn from the local labour market's SEB mix;
* a weighted candidate is chosen by rejection sampling: draw a slot uniformly from the block,
  accept with probability weight / max weight; several vacancies draw in parallel and
  collisions are resolved by keeping the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .grades import GRADES, PROFESSIONS
from .population import N_GRADES, N_SEB, NEVER, Geography, Slots

POLICY = PROFESSIONS.index("policy")
#: Draws per open vacancy in each rejection-sampling pass; their sum bounds a search. Local
#: candidates are usually accepted within two draws, so passes start small; candidates
#: elsewhere are accepted rarely (willingness to move), so passes are long and few.
LOCAL_SCHEDULE = (2, 2, 4, 8)
REMOTE_SCHEDULE = (8, 8)
LOCAL_ROUNDS = sum(LOCAL_SCHEDULE)
REMOTE_ROUNDS = sum(REMOTE_SCHEDULE)
SCS1 = GRADES.index("SCS1")
LOW = 2


@dataclass
class StepRules:
    """What the scenario's levers and the parameters mean for one step (per-step rates)."""

    exit_q: np.ndarray  # (grade,) per-step exit probability
    lateral_share: np.ndarray  # (grade,)
    internal_share: np.ndarray  # (grade,)
    seb_odds: np.ndarray  # (grade, seb) odds of promotion INTO grade
    willingness: np.ndarray  # (seb,) relative willingness to relocate
    relocation_base: float
    per_100km: float
    min_steps_in_grade: int
    accelerator_weight: float
    policy_match_weight: float
    london_advantage: float
    recruit_cdf: np.ndarray  # (grade, district, seb) cumulative recruit SEB mix
    relocation_kernel: np.ndarray  # (district, district) base * decay, 0 within an area
    mentoring_multiplier: float = 1.0  # 1 = lever off
    freeze_share: float = 0.0
    freeze_grades: np.ndarray = field(default_factory=lambda: np.zeros(N_GRADES, bool))
    support_willingness: float = 1.0
    low_seb_scs_share: float = 0.0


@dataclass
class StepLog:
    """Events of one step, as flat arrays the metrics accumulate with ``bincount``."""

    exit_g: list = field(default_factory=list)
    exit_d: list = field(default_factory=list)
    exit_s: list = field(default_factory=list)
    promo_g: list = field(default_factory=list)  # grade promoted INTO
    promo_from_d: list = field(default_factory=list)
    promo_to_d: list = field(default_factory=list)
    promo_s: list = field(default_factory=list)
    lateral_from_d: list = field(default_factory=list)
    lateral_to_d: list = field(default_factory=list)
    lateral_g: list = field(default_factory=list)
    lateral_s: list = field(default_factory=list)
    recruit_g: list = field(default_factory=list)
    recruit_d: list = field(default_factory=list)
    recruit_s: list = field(default_factory=list)

    @staticmethod
    def cat(parts: list) -> np.ndarray:
        return np.concatenate(parts) if parts else np.empty(0, np.int64)


def draw_exits(slots: Slots, exit_q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Slots whose occupant leaves the Civil Service this step.

    A post's grade never changes and the slot arrays are laid out by grade, so each grade is
    one contiguous range: geometric gaps at that grade's rate pick exactly a Bernoulli draw
    per post at the cost of the exits alone; vacant posts drawn are dropped.

    Parameters
    ----------
    slots : Slots
    exit_q : numpy.ndarray
        Per-step exit probability by grade.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
        Sorted slot indices.
    """
    bounds = np.searchsorted(slots.grade, np.arange(len(exit_q) + 1))
    parts = []
    for g, q in enumerate(exit_q):
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        n = hi - lo
        if q <= 0 or n == 0:
            continue
        k = int(n * q + 6 * np.sqrt(n * q) + 16)
        pos = np.cumsum(rng.geometric(q, size=k)) - 1
        while pos[-1] < n - 1:  # rare: extend the gap sequence
            pos = np.concatenate([pos, np.cumsum(rng.geometric(q, size=k)) + pos[-1]])
        parts.append(lo + pos[pos < n])
    if not parts:
        return np.empty(0, np.int64)
    pos = np.concatenate(parts)
    return pos[slots.seb[pos] >= 0]


def apply_exits(slots: Slots, idx: np.ndarray, log: StepLog) -> None:
    """Vacate the exits' posts and log them."""
    log.exit_g.append(slots.grade[idx].astype(np.int64))
    log.exit_d.append(slots.district[idx].astype(np.int64))
    log.exit_s.append(slots.seb[idx].astype(np.int64))
    slots.seb[idx] = -1
    slots.ready[idx] = NEVER


def _weights(slots: Slots, cand: np.ndarray, g_into: np.ndarray, vac_policy: np.ndarray,
             rules: StepRules, geo: Geography) -> np.ndarray:
    """Promotion weight of each candidate for its vacancy (see :func:`_max_weight`)."""
    s = np.maximum(slots.seb[cand], 0)
    w = rules.seb_odds.ravel()[g_into * N_SEB + s]
    w[slots.accelerator[cand]] *= rules.accelerator_weight
    if rules.mentoring_multiplier != 1.0:
        w[slots.mentored[cand]] *= rules.mentoring_multiplier
    w[vac_policy & (slots.profession[cand] == POLICY)] *= rules.policy_match_weight
    if rules.london_advantage != 1.0:
        w[geo.is_london[slots.district[cand]]] *= rules.london_advantage
    return w


def _max_weight(g_into: np.ndarray, vac_policy: np.ndarray, rules: StepRules) -> np.ndarray:
    """The largest weight any candidate can have for each vacancy (rejection envelope)."""
    w_max = rules.seb_odds.max(axis=1)[g_into] * rules.accelerator_weight
    w_max = w_max * max(rules.mentoring_multiplier, 1.0) * max(rules.london_advantage, 1.0)
    return w_max * np.where(vac_policy, rules.policy_match_weight, 1.0)


def _eligible(slots: Slots, cand: np.ndarray, step: int, rules: StepRules) -> np.ndarray:
    """Occupied, past the minimum time in grade, and not already moved this step."""
    return slots.ready[cand] <= step


def _relocation_accept(slots: Slots, cand: np.ndarray, vac: np.ndarray, rules: StepRules,
                       geo: Geography) -> np.ndarray:
    """Chance a candidate elsewhere moves for the post: SEB, distance and support."""
    will = rules.willingness[np.maximum(slots.seb[cand], 0)] * rules.support_willingness
    k = rules.relocation_kernel[slots.district[cand], slots.district[vac]]
    return np.minimum(will * k, 1.0)


def _choose(
    slots: Slots,
    lo: np.ndarray,
    hi: np.ndarray,
    schedule: tuple[int, ...],
    accept,
    rng: np.random.Generator,
    step: int,
    claim: np.ndarray,
) -> np.ndarray:
    """For each vacancy i, a candidate from positions [lo[i], hi[i]) of ``slots.order``, or -1.

    Rejection sampling in passes of ``schedule[j]`` draws per open vacancy: the first accepted
    draw of each vacancy is its candidate; when two vacancies claim the same person one keeps
    them and the other tries again. ``accept(cand, i) -> probability`` (``i`` = vacancy
    positions) includes eligibility. ``claim`` is an int32 scratch array of -1 over the
    slots, returned as found.
    """
    chosen = np.full(len(lo), -1, dtype=np.int64)
    open_ = np.flatnonzero(hi > lo)
    for k in schedule:
        if len(open_) == 0:
            break
        m = len(open_)
        span = (hi[open_] - lo[open_]).astype(np.float64)
        # draws laid out (k, m): reductions over k run along contiguous rows
        pos = lo[None, open_] + (rng.random((k, m)) * span[None, :]).astype(np.int64)
        cand = slots.order[pos]
        p = accept(cand.ravel(), np.tile(open_, k)).reshape(k, m)
        ok = rng.random((k, m)) < p
        first = np.full(m, -1, dtype=np.int64)
        for j in range(k - 1, -1, -1):  # the earliest accepted draw wins
            first = np.where(ok[j], cand[j], first)
        rows = np.flatnonzero(first >= 0)
        first = first[rows]
        # one winner per claimed person: any of the claimants (vacancies are in random order)
        claim[first] = np.arange(len(first), dtype=np.int32)
        keep = claim[first] == np.arange(len(first))
        claim[first] = -1
        win_rows, win_cand = rows[keep], first[keep]
        chosen[open_[win_rows]] = win_cand
        slots.ready[win_cand] = np.maximum(slots.ready[win_cand], step + 1)  # once a step
        still = np.ones(m, dtype=bool)
        still[win_rows] = False
        open_ = open_[still]
    return chosen


def _log_moves(columns: tuple[list, list, list, list], grade: np.ndarray, slots: Slots,
               src: np.ndarray, dst: np.ndarray) -> None:
    """Log moves of people from ``src`` to ``dst`` slots: (grade, from, to, SEB) columns."""
    for column, values in zip(columns, (grade, slots.district[src], slots.district[dst],
                                        slots.seb[src]), strict=True):
        column.append(values.astype(np.int64))


def _move_person(slots: Slots, src: np.ndarray, dst: np.ndarray, step: int, promoted: bool,
                 min_steps: int = 0) -> None:
    slots.seb[dst] = slots.seb[src]
    slots.accelerator[dst] = slots.accelerator[src]
    slots.mentored[dst] = slots.mentored[src]
    if promoted:
        slots.grade_since[dst] = step
        slots.ready[dst] = step + max(min_steps, 1)
    else:
        slots.grade_since[dst] = slots.grade_since[src]
        slots.ready[dst] = np.maximum(slots.ready[src], step + 1)
    slots.seb[src] = -1
    slots.ready[src] = NEVER
    slots.accelerator[src] = False
    slots.mentored[src] = False


def recruit(
    slots: Slots, idx: np.ndarray, cdf: np.ndarray, rng: np.random.Generator, step: int,
    log: StepLog, min_steps: int = 0,
) -> None:
    """Fill posts with external recruits whose SEB is drawn from ``cdf``.

    Parameters
    ----------
    idx : numpy.ndarray
        Vacant slots to fill.
    cdf : numpy.ndarray
        (len(idx), seb) cumulative SEB mix of each post's recruits.
    """
    if len(idx) == 0:
        return
    u = rng.random(len(idx))
    s = (u > cdf[:, 0]).astype(np.int8) + (u > cdf[:, 1])  # three SEB classes
    slots.seb[idx] = s
    slots.grade_since[idx] = step
    slots.accelerator[idx] = False
    slots.mentored[idx] = False
    slots.ready[idx] = step + max(min_steps, 1)
    log.recruit_g.append(slots.grade[idx].astype(np.int64))
    log.recruit_d.append(slots.district[idx].astype(np.int64))
    log.recruit_s.append(s.astype(np.int64))


def fill_vacancies(
    slots: Slots, geo: Geography, rules: StepRules, rng: np.random.Generator, step: int,
    log: StepLog, claim: np.ndarray | None = None,
) -> None:
    """Fill this step's vacant posts, all grades at once.

    Each vacancy is, by chance, a lateral move (a same-grade candidate from another area), an
    internal promotion (local candidates one grade below first, then candidates elsewhere
    willing to relocate), or an external recruit; failed searches fall through to external
    recruitment, which a London recruitment freeze can block. A person promoted or moved
    leaves a vacancy behind that is filled in the next step, so a vacancy chain descends one
    rung per step — as recruitment takes months in practice.
    """
    vac = np.flatnonzero(slots.seb < 0)
    if len(vac) == 0:
        return
    vac = vac[rng.permutation(len(vac))]
    if claim is None:  # scratch for settling collisions; callers may keep one across steps
        claim = np.full(slots.size, -1, dtype=np.int32)
    g = slots.grade[vac].astype(np.int64)
    area = geo.area[slots.district[vac]]
    u = rng.random(len(vac))
    lat_p = rules.lateral_share[g]
    is_lat = u < lat_p
    is_int = ~is_lat & (g > 0) & (u < lat_p + (1 - lat_p) * rules.internal_share[g])
    ext_mask = ~is_lat & ~is_int

    starts = slots.block_start[:, 0]
    ends = slots.block_end[:, -1]
    if is_int.any():
        iv = np.flatnonzero(is_int)
        v, gv, av = vac[iv], g[iv], area[iv]
        vac_policy = slots.profession[v] == POLICY
        low_only = np.zeros(len(v), bool)
        if rules.low_seb_scs_share > 0:
            low_only = (gv == SCS1) & (rng.random(len(v)) < rules.low_seb_scs_share)

        w_max = _max_weight(gv, vac_policy, rules)

        def promote_accept(cand, i, remote):
            w = _weights(slots, cand, gv[i], vac_policy[i], rules, geo)
            p = w / w_max[i] * _eligible(slots, cand, step, rules)
            if remote:
                p = p * _relocation_accept(slots, cand, v[i], rules, geo)
            if rules.low_seb_scs_share > 0:
                p = p * np.where(low_only[i], slots.seb[cand] == LOW, True)
            return p

        chosen = _choose(slots, slots.block_start[gv - 1, av], slots.block_end[gv - 1, av],
                         LOCAL_SCHEDULE, lambda c, i: promote_accept(c, i, False), rng, step, claim)
        rest = np.flatnonzero(chosen < 0)
        if len(rest):
            chosen[rest] = _choose(
                slots, starts[gv[rest] - 1], ends[gv[rest] - 1], REMOTE_SCHEDULE,
                lambda c, i: promote_accept(c, rest[i], True), rng, step, claim)
        got = chosen >= 0
        src, dst = chosen[got], v[got]
        _log_moves((log.promo_g, log.promo_from_d, log.promo_to_d, log.promo_s), gv[got],
                   slots, src, dst)
        _move_person(slots, src, dst, step, promoted=True, min_steps=rules.min_steps_in_grade)
        ext_mask[iv[~got]] = True

    if is_lat.any():
        lv = np.flatnonzero(is_lat)
        v, gv = vac[lv], g[lv]

        def lateral_accept(cand, i):
            p = _eligible(slots, cand, step, rules).astype(np.float64)
            return p * _relocation_accept(slots, cand, v[i], rules, geo)

        chosen = _choose(slots, starts[gv], ends[gv], REMOTE_SCHEDULE, lateral_accept, rng,
                         step, claim)
        got = chosen >= 0
        src, dst = chosen[got], v[got]
        _log_moves((log.lateral_g, log.lateral_from_d, log.lateral_to_d, log.lateral_s),
                   gv[got], slots, src, dst)
        _move_person(slots, src, dst, step, promoted=False)
        ext_mask[lv[~got]] = True

    ext = vac[ext_mask]
    if len(ext) and rules.freeze_share > 0:
        ge = slots.grade[ext]
        blocked = (rules.freeze_grades[ge] & geo.is_london[slots.district[ext]]
                   & (rng.random(len(ext)) < rules.freeze_share))
        ext = ext[~blocked]
    n_d = rules.recruit_cdf.shape[1]
    flat = slots.grade[ext].astype(np.int64) * n_d + slots.district[ext]
    cdf = rules.recruit_cdf.reshape(-1, N_SEB)[flat]
    recruit(slots, ext, cdf, rng, step, log, rules.min_steps_in_grade)


def relocation_kernel(geo: Geography, base: float, per_100km: float) -> np.ndarray:
    """Chance scale of moving between districts: ``base * per_100km ** (km / 100)``.

    Zero within a labour-market area (moving there is local, not a relocation). Multiplied by
    the candidate's SEB willingness and any relocation support.
    """
    k = base * per_100km ** (geo.distance_km.astype(np.float64) / 100.0)
    return k * (geo.area[:, None] != geo.area[None, :])


def recruit_cdf(seb_mix_by_grade: np.ndarray, labour_mix: np.ndarray, weights: np.ndarray):
    """Cumulative recruit SEB mix by (grade, district).

    A grade's recruits resemble its current staff nationally (so the grade gradient is
    stationary), tilted by how the local labour market's class mix differs from the national
    one: ``p(k) ∝ m_g(k) · L_d(k) / L(k)``.

    Parameters
    ----------
    seb_mix_by_grade : numpy.ndarray
        (grade, seb) national mix.
    labour_mix : numpy.ndarray
        (district, seb) local origin-class mix.
    weights : numpy.ndarray
        (district,) weights for the national labour mix (baseline headcount).

    Returns
    -------
    numpy.ndarray
        (grade, district, seb) cumulative probabilities.
    """
    national = (labour_mix * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-12)
    tilt = labour_mix / national[None, :]
    p = seb_mix_by_grade[:, None, :] * tilt[None, :, :]
    p /= p.sum(axis=2, keepdims=True)
    return np.cumsum(p, axis=2)


__all__ = ["StepRules", "StepLog", "draw_exits", "apply_exits", "fill_vacancies", "recruit",
           "recruit_cdf", "relocation_kernel", "N_SEB"]


@dataclass
class MoveOrder:
    """Posts of one wave tranche to move now: which posts, how many to each destination."""

    wave: int
    origin_mask: np.ndarray  # (district,) bool
    grade_mask: np.ndarray  # (grade,) bool
    profession: int  # -1 any
    role: int  # -1 any
    dest_districts: np.ndarray  # (n,) destination district of each post, in order
    accept_by_grade: np.ndarray  # (grade,) base acceptance
    high_seb_multiplier: float
    per_100km: float
    redeploy_share: float
    backfill_anywhere: bool
    support_multiplier: float
    min_steps_in_grade: int = 0  # for backfill recruits' first eligible step


@dataclass
class MoveOutcome:
    """What one tranche did, for metrics."""

    wave: int
    from_d: np.ndarray  # per post moved
    to_d: np.ndarray
    grade: np.ndarray
    mover_s: np.ndarray  # SEB of incumbents who moved with their post
    leaver_s: np.ndarray  # SEB of incumbents who left because of the move
    redeployed_s: np.ndarray
    # stock changes (grade, district, seb) for the metrics' running headcount
    minus: list = field(default_factory=list)
    plus: list = field(default_factory=list)


def move_posts(
    slots: Slots, geo: Geography, order: MoveOrder, national_cdf: np.ndarray,
    rng: np.random.Generator, step: int, log: StepLog,
) -> MoveOutcome:
    """Move posts to their destinations; incumbents accept, are redeployed, or leave.

    The posts are chosen uniformly among those matching the wave's selector in its origin.
    Incumbents accept with a probability by grade, SEB and distance (and relocation support);
    of the rest, a share is redeployed into a vacant post of the same grade in their own area
    (if there is one) and the others leave. Posts left empty are filled at the new place by the
    normal vacancy chain ("recruit locally") or at once by recruits drawn from the national mix
    ("hiring from anywhere").
    """
    cand = matching_slots(slots, geo, order.origin_mask, order.grade_mask, order.profession,
                          order.role)
    n = min(len(order.dest_districts), len(cand))
    chosen = np.sort(rng.choice(cand, size=n, replace=False)) if n else np.empty(0, np.int64)
    dest = order.dest_districts[:n].astype(np.int16)
    orig = slots.district[chosen].copy()
    g = slots.grade[chosen].astype(np.int64)
    s = slots.seb[chosen].astype(np.int64)
    occupied = s >= 0
    dist = geo.distance_km[orig, dest]
    p = order.accept_by_grade[g] * order.per_100km ** (dist / 100.0) * order.support_multiplier
    p = np.where(s == 0, p * order.high_seb_multiplier, p)
    accept = occupied & (rng.random(n) < np.minimum(p, 1.0))
    stay = occupied & ~accept
    redeploy = stay & (rng.random(n) < order.redeploy_share)

    # Redeploy into same-grade vacancies in the same area, matched by rank within groups.
    red_idx = chosen[redeploy]
    targets = np.empty(0, np.int64)
    if len(red_idx):
        n_areas = geo.n_areas
        key_r = slots.grade[red_idx].astype(np.int64) * n_areas + geo.area[slots.district[red_idx]]
        pool = np.concatenate([slots.order[slots.block_start[ga // n_areas, ga % n_areas]:
                                           slots.block_end[ga // n_areas, ga % n_areas]]
                               for ga in np.unique(key_r)])  # the (grade, area) blocks involved
        vac = np.sort(pool[slots.seb[pool] < 0])
        at = np.minimum(np.searchsorted(chosen, vac), len(chosen) - 1)
        vac = vac[chosen[at] != vac]  # not the posts being moved (both sorted)
        key_v = slots.grade[vac].astype(np.int64) * n_areas + geo.area[slots.district[vac]]
        ov = np.argsort(key_v, kind="stable")
        kv = key_v[ov]
        orr = np.argsort(key_r, kind="stable")
        kr = key_r[orr]
        lo = np.searchsorted(kv, kr, "left")
        hi = np.searchsorted(kv, kr, "right")
        rank = np.arange(len(kr)) - np.searchsorted(kr, kr, "left")
        ok = rank < hi - lo
        src = red_idx[orr][ok]
        targets = vac[ov][(lo + rank)[ok]]
        placed = np.zeros(n, bool)
        placed[np.searchsorted(chosen, src)] = True
        redeploy &= placed
        _move_person(slots, src, targets, step, promoted=False)
    leave = stay & ~redeploy

    out = MoveOutcome(
        wave=order.wave, from_d=orig.astype(np.int64), to_d=dest.astype(np.int64), grade=g,
        mover_s=s[accept], leaver_s=s[leave], redeployed_s=s[redeploy],
    )
    out.minus.append((g[occupied], orig[occupied].astype(np.int64), s[occupied]))
    out.plus.append((g[accept], dest[accept].astype(np.int64), s[accept]))
    if len(targets):
        out.plus.append((slots.grade[targets].astype(np.int64),
                         slots.district[targets].astype(np.int64),
                         slots.seb[targets].astype(np.int64)))

    empty = chosen[~accept]
    slots.seb[empty] = -1
    slots.ready[empty] = NEVER
    slots.accelerator[empty] = False
    slots.mentored[empty] = False
    slots.set_district(chosen, dest)
    if order.backfill_anywhere and len(empty):
        recruit(slots, empty, national_cdf[slots.grade[empty].astype(np.int64)], rng, step, log,
                order.min_steps_in_grade)
    return out  # the caller re-sorts the slots once after all of a step's moves


def matching_slots(slots: Slots, geo: Geography, origin_mask: np.ndarray,
                   grade_mask: np.ndarray, profession: int, role: int) -> np.ndarray:
    """Slots whose post matches a selector, found through the (grade, area) blocks.

    Only the blocks of the origin's areas are scanned, so the cost follows the origin's size,
    not headcount. Valid between moves of one step: moved posts keep their position but no
    longer match the origin.
    """
    areas = np.unique(geo.area[origin_mask])
    parts = [slots.order[slots.block_start[g, a]:slots.block_end[g, a]]
             for g in np.flatnonzero(grade_mask) for a in areas]
    idx = np.concatenate(parts) if parts else np.empty(0, np.int64)
    keep = origin_mask[slots.district[idx]]  # one grade per block; drops posts moved this step
    if profession >= 0:
        keep &= slots.profession[idx] == profession
    if role >= 0:
        keep &= slots.role[idx] == role
    return idx[keep]
