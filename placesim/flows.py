"""One step of workforce flows on the slot arrays: exits, vacancy chains, recruitment, moves.

No Python loop over people; each function's work is proportional to the number of events
(exits, vacancies, candidates tried), not to headcount:

* exits are drawn as geometric gaps over each grade's range of the slot array — exactly a
  Bernoulli draw per person, at the cost of the exits;
* a vacancy is filled top-down through the grades (a vacancy chain, H. C. White 1970): by
  promotion from the grade below — local candidates first (the contiguous block of the same
  labour-market area), then candidates elsewhere willing to relocate — by a lateral move, or by
  an external recruit drawn from the local labour market's SEB mix;
* a weighted candidate is chosen by rejection sampling: draw a slot uniformly from the block,
  accept with probability weight / max weight. Vacancies are taken one at a time in random
  order in a compiled loop (:func:`_fill_kernel`, :mod:`numba`), as the per-person reference
  model does, so a person is never claimed twice and the cost is the draws (about 1.2 a
  vacancy on the shipped data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .grades import GRADES, PROFESSIONS
from .population import N_GRADES, N_SEB, NEVER, Geography, Slots

POLICY = PROFESSIONS.index("policy")
LOCAL_ROUNDS = 16
"""Draws a search of the local block makes before it looks elsewhere (an assumption)."""
REMOTE_ROUNDS = 16
"""Draws a search elsewhere (or for a lateral move) makes before the post is advertised."""
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


def draw_exits(slots: Slots, exit_q: np.ndarray, rng: np.random.Generator,
               log: StepLog) -> None:
    """Occupants who leave the Civil Service this step: vacate their posts and log them.

    A post's grade never changes and the slot arrays are laid out by grade, so each grade is
    one contiguous range: geometric gaps at that grade's rate pick exactly a Bernoulli draw
    per post at the cost of the exits alone; vacant posts drawn are skipped.

    Parameters
    ----------
    slots : Slots
        Changed in place.
    exit_q : numpy.ndarray
        Per-step exit probability by grade.
    rng : numpy.random.Generator
    log : StepLog
        Exits (grade, district, SEB) are appended to it.
    """
    bounds = np.searchsorted(slots.grade, np.arange(len(exit_q) + 1, dtype=slots.grade.dtype))
    out = _exit_kernel(rng, slots.district, slots.seb, slots.ready, bounds, exit_q)
    log.exit_g.append(out[:, 0])
    log.exit_d.append(out[:, 1])
    log.exit_s.append(out[:, 2])


@njit(cache=True, error_model="numpy")
def _exit_kernel(rng, district, seb, ready, bounds, exit_q):
    """Geometric gaps through each grade's range; returns the exits' (grade, district, SEB)."""
    expected = 0.0
    for g in range(len(exit_q)):
        expected += (bounds[g + 1] - bounds[g]) * exit_q[g]
    out = np.empty((int(expected + 8 * np.sqrt(expected) + 64), 3), np.int64)
    k = 0
    for g in range(len(exit_q)):
        q = exit_q[g]
        if q <= 0:
            continue
        scale = 1.0 / np.log1p(-q)
        pos = bounds[g] - 1
        while True:
            pos += 1 + int(np.log1p(-rng.random()) * scale)  # P(gap = j) = (1 - q)^(j-1) q
            if pos >= bounds[g + 1]:
                break
            if seb[pos] < 0:
                continue
            if k == len(out):  # rare: more exits than room for
                out = np.concatenate((out, np.empty_like(out)))
            out[k, 0], out[k, 1], out[k, 2] = g, district[pos], seb[pos]
            k += 1
            seb[pos] = -1
            ready[pos] = NEVER
    return out[:k]


def _move_person(slots: Slots, src: np.ndarray, dst: np.ndarray, step: int) -> None:
    """Move the occupants of ``src`` into the vacant posts ``dst`` at their grade."""
    slots.seb[dst] = slots.seb[src]
    slots.accelerator[dst] = slots.accelerator[src]
    slots.mentored[dst] = slots.mentored[src]
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


def promotion_envelope(rules: StepRules) -> np.ndarray:
    """The largest weight a candidate can have for promotion into each grade, before the
    policy-match weight: the rejection-sampling envelope (both modes use it)."""
    return (rules.seb_odds.max(axis=1) * rules.accelerator_weight
            * max(rules.mentoring_multiplier, 1.0) * max(rules.london_advantage, 1.0))


def fill_vacancies(
    slots: Slots, geo: Geography, rules: StepRules, rng: np.random.Generator, step: int,
    log: StepLog,
) -> None:
    """Fill this step's vacant posts, one at a time in random order.

    Each vacancy is, by chance, a lateral move (a same-grade candidate from another area), an
    internal promotion (local candidates one grade below first, then candidates elsewhere
    willing to relocate), or an external recruit; failed searches fall through to external
    recruitment, which a London recruitment freeze can block. A person promoted or moved
    leaves a vacancy behind that is filled in the next step, so a vacancy chain descends one
    rung per step — as recruitment takes months in practice.

    Parameters
    ----------
    slots : Slots
        Changed in place.
    geo : Geography
    rules : StepRules
    rng : numpy.random.Generator
    step : int
        This step's number (for time in grade and once-a-step moves).
    log : StepLog
        Promotions, lateral moves and recruits are appended to it.
    """
    w_grade = promotion_envelope(rules)
    promoted, moved, recruited = _fill_kernel(
        rng, step, slots.grade, slots.district, slots.profession, slots.seb, slots.ready,
        slots.grade_since, slots.accelerator, slots.mentored, slots.order, slots.block_start,
        slots.block_end, geo.area, geo.is_london, rules.lateral_share, rules.internal_share,
        rules.seb_odds, w_grade, rules.accelerator_weight, rules.mentoring_multiplier,
        rules.policy_match_weight, rules.london_advantage,
        rules.willingness * rules.support_willingness, rules.relocation_kernel,
        max(rules.min_steps_in_grade, 1), rules.low_seb_scs_share, rules.freeze_share,
        rules.freeze_grades, rules.recruit_cdf)
    for columns, events in (
            ((log.promo_g, log.promo_from_d, log.promo_to_d, log.promo_s), promoted),
            ((log.lateral_g, log.lateral_from_d, log.lateral_to_d, log.lateral_s), moved),
            ((log.recruit_g, log.recruit_d, log.recruit_s), recruited)):
        for column, values in zip(columns, events.T, strict=True):
            column.append(values)


@njit(cache=True, error_model="numpy")
def _fill_kernel(rng, step, grade, district, profession, seb, ready, grade_since,
                 accelerator, mentored, order, block_start, block_end, area, is_london,
                 lateral_share, internal_share, seb_odds, w_grade, accelerator_weight,
                 mentoring_multiplier, policy_match_weight, london_advantage, willingness,
                 relocation_kernel, new_grade_wait, low_seb_scs_share, freeze_share,
                 freeze_grades, recruit_cdf):
    """Fill the vacant posts one at a time in random order, in place.

    Returns the promotions and lateral moves as rows (grade, from district, to district,
    SEB) and the recruits as rows (grade, district, SEB).

    A search draws a position uniformly from a block of ``order`` and accepts its occupant
    with probability weight / envelope (times the chance they relocate, for candidates from
    another area); a vacant post or someone not yet ready (minimum time in grade, or already
    moved this step) is a wasted draw.
    """
    n = 0
    for i in range(len(seb)):
        n += seb[i] < 0
    vac = np.empty(n, np.int64)
    n = 0
    for i in range(len(seb)):
        if seb[i] < 0:
            vac[n] = i
            n += 1
    vac_grade, vac_district = grade[vac], district[vac]  # read in slot order
    for i in range(n - 1, 0, -1):  # then shuffled (Fisher-Yates)
        j = min(int(rng.random() * (i + 1)), i)
        vac[i], vac[j] = vac[j], vac[i]
        vac_grade[i], vac_grade[j] = vac_grade[j], vac_grade[i]
        vac_district[i], vac_district[j] = vac_district[j], vac_district[i]
    promoted = np.empty((n, 4), np.int64)
    moved = np.empty((n, 4), np.int64)
    recruited = np.empty((n, 3), np.int64)
    n_promoted = n_moved = n_recruited = 0
    grade_lo = block_start[:, 0]
    grade_hi = block_end[:, -1]
    for k in range(n):
        v, g, dv = vac[k], vac_grade[k], vac_district[k]
        u = rng.random()
        lat = lateral_share[g]
        chosen = -1
        promoted_ = False
        if u < lat:  # a same-grade move from another area
            lo, hi = grade_lo[g], grade_hi[g]
            for _ in range(REMOTE_ROUNDS if hi > lo else 0):
                c = order[lo + min(int(rng.random() * (hi - lo)), hi - lo - 1)]
                if ready[c] <= step:
                    p = min(willingness[seb[c]] * relocation_kernel[district[c], dv], 1.0)
                    if rng.random() < p:
                        chosen = c
                        break
        elif g > 0 and u < lat + (1 - lat) * internal_share[g]:  # a promotion from g - 1
            policy = profession[v] == POLICY
            w_max = w_grade[g] * (policy_match_weight if policy else 1.0)
            low_only = g == SCS1 and low_seb_scs_share > 0 and rng.random() < low_seb_scs_share
            for remote in (False, True):
                if remote:
                    lo, hi, rounds = grade_lo[g - 1], grade_hi[g - 1], REMOTE_ROUNDS
                else:
                    a = area[dv]
                    lo, hi, rounds = block_start[g - 1, a], block_end[g - 1, a], LOCAL_ROUNDS
                for _ in range(rounds if hi > lo else 0):
                    c = order[lo + min(int(rng.random() * (hi - lo)), hi - lo - 1)]
                    if ready[c] > step or (low_only and seb[c] != LOW):
                        continue
                    w = seb_odds[g, seb[c]]
                    if accelerator[c]:
                        w *= accelerator_weight
                    if mentored[c]:
                        w *= mentoring_multiplier
                    if policy and profession[c] == POLICY:
                        w *= policy_match_weight
                    if is_london[district[c]]:
                        w *= london_advantage
                    p = w / w_max
                    if remote:
                        p *= min(willingness[seb[c]] * relocation_kernel[district[c], dv], 1.0)
                    if rng.random() < p:
                        chosen = c
                        break
                if chosen >= 0:
                    promoted_ = True
                    break
        if chosen >= 0:
            if promoted_:
                events, e = promoted, n_promoted
                n_promoted += 1
            else:
                events, e = moved, n_moved
                n_moved += 1
            events[e, 0], events[e, 1], events[e, 2], events[e, 3] = (
                g, district[chosen], dv, seb[chosen])
            seb[v] = seb[chosen]
            accelerator[v] = accelerator[chosen]
            mentored[v] = mentored[chosen]
            if promoted_:
                grade_since[v] = step
                ready[v] = step + new_grade_wait
            else:
                grade_since[v] = grade_since[chosen]
                ready[v] = max(ready[chosen], step + 1)
            seb[chosen] = -1
            ready[chosen] = NEVER
            accelerator[chosen] = False
            mentored[chosen] = False
            continue
        if freeze_share > 0 and freeze_grades[g] and is_london[dv] \
                and rng.random() < freeze_share:
            continue  # left vacant by the London recruitment freeze
        u = rng.random()
        s = 0 if u <= recruit_cdf[g, dv, 0] else (1 if u <= recruit_cdf[g, dv, 1] else 2)
        recruited[n_recruited, 0], recruited[n_recruited, 1], recruited[n_recruited, 2] = g, dv, s
        n_recruited += 1
        seb[v] = s
        grade_since[v] = step
        accelerator[v] = False
        mentored[v] = False
        ready[v] = step + new_grade_wait
    return promoted[:n_promoted], moved[:n_moved], recruited[:n_recruited]


def relocation_kernel(geo: Geography, base: float, per_100km: float) -> np.ndarray:
    """Chance scale of moving between districts: ``base * per_100km ** (km / 100)``.

    Zero within a labour-market area (moving there is local, not a relocation). Multiplied by
    the candidate's SEB willingness and any relocation support.
    """
    k = base * per_100km ** (geo.distance_km.astype(np.float64) / 100.0)
    return (k * (geo.area[:, None] != geo.area[None, :])).astype(np.float32)


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


__all__ = ["StepRules", "StepLog", "draw_exits", "fill_vacancies", "recruit",
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
    profession: np.ndarray
    role: np.ndarray
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
        _move_person(slots, src, targets, step)
    leave = stay & ~redeploy

    out = MoveOutcome(
        wave=order.wave, from_d=orig.astype(np.int64), to_d=dest.astype(np.int64), grade=g,
        profession=slots.profession[chosen], role=slots.role[chosen], mover_s=s[accept],
        leaver_s=s[leave], redeployed_s=s[redeploy],
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
    return out


def matching_slots(slots: Slots, geo: Geography, origin_mask: np.ndarray,
                   grade_mask: np.ndarray, profession: int, role: int) -> np.ndarray:
    """Slots whose post matches a selector, found through the (grade, area) blocks.

    Only the blocks of the origin's areas are scanned, so the cost follows the origin's size,
    not headcount.
    """
    areas = np.unique(geo.area[origin_mask])
    parts = [slots.order[slots.block_start[g, a]:slots.block_end[g, a]]
             for g in np.flatnonzero(grade_mask) for a in areas]
    idx = np.concatenate(parts) if parts else np.empty(0, np.int64)
    keep = origin_mask[slots.district[idx]]  # blocks hold one grade and area each
    if profession >= 0:
        keep &= slots.profession[idx] == profession
    if role >= 0:
        keep &= slots.role[idx] == role
    return idx[keep]
