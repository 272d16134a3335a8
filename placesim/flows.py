"""One step of workforce flows on the slot arrays: exits, vacancy chains, recruitment, moves.

The stochastic engine's mechanics, as compiled kernels (:mod:`numba`) whose work follows the
events, not headcount — except one pass a step over the slots (:func:`scan`) that lists the
vacancies, carries out the step's exits and counts the eligible candidates by class:

* **exits**: each person's exit step is drawn when they enter a post (a geometric time at
  their grade's rate — the same law as a Bernoulli draw per step, because the rate is
  constant), so the scan only compares it with the step;
* **vacancies** are filled one at a time in an order drawn afresh each step, following
  :mod:`placesim.rules`: a route (lateral, promotion, recruitment); for a promotion an area
  with probability proportional to its candidates' total weight at the start of the step (the
  candidate's own area, or others through the distance kernel); then a person of
  that area with probability proportional to their own weight among those still eligible
  (rejection sampling within the area's contiguous block, exact: it repeats until it
  accepts, with an exact scan as the fallback). No draw-count constant: weights decide who,
  never how many. They fall into two groups that touch no person in common (lower grades,
  upper grades), filled on two cores at once with the result of one at a time;
* every random number comes from :mod:`placesim.streams`, keyed by what it decides and the
  slot it concerns, so scenarios sharing a seed make the same draws for the posts they share
  (one hash state per vacancy and step, many draws from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from . import parallel, streams
from .population import (
    HELD,
    N_GRADES,
    N_SEB,
    N_TYPES,
    NEVER,
    NEVER_STEP,
    OTHER,
    VACANT,
    Geography,
    Slots,
    _set_district,
    slot_ident,
)
from .posts import share_out
from .prefetch import prefetch
from .rules import (
    LOW,
    N_FLAGS,
    NONE,
    SCS1,
    Rules,
    department_counts,
    lateral_factor,
    promotion_weight,
    ran_out,
)

INITIAL = (1 << 31) - 1
"""The ``b`` key of draws made for the people in post at the start."""
PICK_DRAWS = 64
"""Rejection draws per eligible candidate of a block before an exact scan takes over (a
safeguard, not a model parameter: the scan picks with the same probabilities)."""
LATERAL, LOCAL, REMOTE = 0, 1, 2
FIRST_PICK_DRAW = 2
"""A vacancy's draws 0 and 1 choose its route and area; its candidates are drawn from 2 on."""
PICK_COST = 6.0
"""About how many times longer a vacancy takes to fill by choosing someone (a lateral move or
a promotion) than from outside, here (a speed setting: it balances :func:`fill`'s two groups
of vacancies between the cores; no value changes)."""
AHEAD, AHEAD2, AHEAD3 = 12, 8, 4
"""How many vacancies ahead :func:`fill` prefetches a vacancy's slot, the index entry of its
likely first candidate, and that candidate's slot (speed settings only: no value changes)."""


# --- weight tables: promotion_weight and lateral_factor for every class of person -------------

def weight_table(rules: Rules) -> np.ndarray:
    """(grade from, seb, post type, flag, vacancy is policy) promotion weights into the grade
    above, without the London advantage and accessibility (which depend on the area)."""
    return _weight_table(rules.odds, rules.flag_weight, float(rules.accelerator_weight),
                         float(rules.policy_match_weight))


@njit(cache=True)
def _weight_table(odds, flag_weight, accelerator_weight, policy_match_weight):
    """:func:`weight_table`'s loop, compiled (a thousand calls from Python cost a
    millisecond a run)."""
    G = N_GRADES
    out = np.zeros((G, N_SEB, N_TYPES, N_FLAGS, 2))
    for g in range(G - 1):
        for s in range(N_SEB):
            for t in range(N_TYPES):
                for f in range(N_FLAGS):
                    for vp in range(2):
                        out[g, s, t, f, vp] = promotion_weight(
                            odds, flag_weight, accelerator_weight, 1.0, policy_match_weight,
                            g + 1, s, t, f, False, vp == 1)
    return out


def envelope(wtop: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(grade, seb, vacancy is policy) bound on the promotion weights of a step's eligible
    people, for the pick's rejection sampling (:func:`_pick`): the largest weight of state
    none (every run has it) and of each programme state someone eligible is in.

    A bound taken over every state a lever could give changed the accept/reject draws from
    the first step of a run whose lever had not started: four levers starting in 2026
    changed the 2024 and 2025 records (audit: common random numbers broken before the
    start). Taken over the states present, a run's draws change only once someone is in a
    lever's state.

    Parameters
    ----------
    wtop : numpy.ndarray
        (grade, seb, flag, vp) weights, their largest over post types.
    counts : numpy.ndarray
        (grade, area, seb, post type, flag) eligible people of the step.
    """
    present = counts.sum(axis=(1, 2, 3)) > 0  # (grade, flag)
    present[:, NONE] = True
    return np.where(present[:, None, :, None], wtop, 0.0).max(axis=2)


def lateral_table(rules: Rules) -> np.ndarray:
    """(seb, post type, vacancy is policy) lateral weights (willingness and the policy match),
    without the distance kernel, London's pull and hold, and relocation support."""
    out = np.zeros((N_SEB, N_TYPES, 2))
    for s in range(N_SEB):
        for t in range(N_TYPES):
            for vp in (0, 1):
                out[s, t, vp] = lateral_factor(
                    np.ones((1, 1), np.float32), 1.0, 1.0, rules.willingness, 1.0,
                    rules.policy_match_weight, 0, False, 0, False, s, t, bool(vp))
    return out


def class_weights(counts: np.ndarray, wtab: np.ndarray, ltab: np.ndarray,
                  area_is_london: np.ndarray, london_advantage: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Eligible people's choice weights by (grade, area, seb, vacancy is policy).

    Parameters
    ----------
    counts : numpy.ndarray
        (grade, area, seb, post type, flag) eligible people.

    Returns
    -------
    W : numpy.ndarray
        Promotion weights of grade g's people for promotion into g + 1 (London advantage
        included).
    Lw : numpy.ndarray
        Lateral weights of grade g's people.
    """
    W, Lw = _class_sums(counts, wtab, ltab)
    W *= np.where(area_is_london, london_advantage, 1.0)[None, :, None, None]
    return W, Lw


@njit(cache=True)
def _class_sums(counts, wtab, ltab):
    """``einsum("gastf,gstfv->gasv")`` and ``einsum("gastf,stv->gasv")`` of
    :func:`class_weights`, skipping the empty classes (most of them)."""
    G, A, S, T, F = counts.shape
    W = np.zeros((G, A, S, 2))
    Lw = np.zeros((G, A, S, 2))
    for g in range(G):
        for a in range(A):
            for s in range(S):
                for t in range(T):
                    n = 0.0  # (the lateral weight does not depend on the state: summed first,
                    for f in range(F):  # as einsum does, so the sums are the same bits)
                        x = float(counts[g, a, s, t, f])
                        if x != 0:
                            n += x
                            for v in range(2):
                                W[g, a, s, v] += x * wtab[g, s, t, f, v]
                    if n != 0:
                        for v in range(2):
                            Lw[g, a, s, v] += n * ltab[s, t, v]
    return W, Lw


# --- exits and the scan of the slots -------------------------------------------------------

def start_exits(key: np.ndarray, seb: np.ndarray, grade: np.ndarray, exit_q: np.ndarray,
                exit_at: np.ndarray) -> None:
    """Draw the exit step of everyone in post at the start, in place.

    A geometric time at their grade's rate: the same law as a Bernoulli draw each step.
    Runs on ranges of slots in threads (:mod:`placesim.parallel`); each draw is keyed by its
    slot, so the result does not depend on how many.

    Parameters
    ----------
    key : numpy.ndarray
        The replication's stream key (:mod:`placesim.streams`).
    seb, grade : numpy.ndarray
        Slot arrays (:class:`placesim.population.Slots`); vacant slots draw nothing.
    exit_q : numpy.ndarray
        (grade,) exit probability a step.
    exit_at : numpy.ndarray
        Slot array written with each occupant's exit step.
    """
    parallel.map_ranges(_start_exits_range, len(seb), (key, seb, grade, exit_q, exit_at))


@njit(cache=True, nogil=True)
def _start_exits_range(lo, hi, key, seb, grade, exit_q, exit_at):
    """:func:`start_exits` for slots ``lo:hi``."""
    for i in range(lo, hi):
        if seb[i] >= 0:  # (a baseline post: its identity is its index)
            u = streams.uniform(key, streams.EXIT, i, INITIAL)
            exit_at[i] = min(streams.geometric(u, exit_q[grade[i]]) - 1, NEVER_STEP)


@njit(cache=True, inline="always")
def _enter(key, ident, slot, step, q, exit_at):
    """A person enters ``slot`` (its identity ``ident``: :func:`slot_ident`) at ``step`` in
    a new grade: draw their exit step."""
    exit_at[slot] = min(step + streams.geometric(streams.uniform(key, streams.EXIT, ident, step),
                                                 q), NEVER_STEP)


@njit(cache=True, inline="always")
def _vacate(slot, seb, flag, ready, exit_at, home, return_at):
    seb[slot] = VACANT
    flag[slot] = NONE
    ready[slot] = NEVER
    exit_at[slot] = NEVER_STEP
    home[slot] = -1
    return_at[slot] = NEVER


def scan(key, step, district, grade, ptype, seb, flag, flag_until, ready, exit_at, home,
         return_at, area_of_district, order, position, block_start, block_end, spare_from):
    """One pass over the slots at the start of a step's filling.

    Everyone whose exit step is now leaves (a London posting's occupant who leaves frees the
    post held at home, and the posting is abolished); programme states that have run out
    end; the vacant posts are listed in an order drawn for this step (keyed by slot
    identity, :func:`slot_ident`, so two scenarios fill the vacancies they share in the same
    order);
    and the eligible people are counted by (grade, area, seb, post type, programme state).
    The pass runs on ranges of slots in threads (:mod:`placesim.parallel`); the results do
    not depend on how many.

    Returns
    -------
    exits : numpy.ndarray
        Rows (grade, district, seb).
    abolished : numpy.ndarray
        Rows (grade, district, post type) of postings abolished.
    vacancies : numpy.ndarray
        Slots, in filling order.
    counts : numpy.ndarray
        (grade, area, seb, post type, flag) eligible people.
    eligible : numpy.ndarray
        (grade, area) eligible people.
    """
    parts = parallel.map_ranges(_scan_range, len(seb), (
        key, step, district, grade, ptype, seb, flag, flag_until, ready, exit_at, home, return_at,
        area_of_district, spare_from))
    if len(parts) == 1:
        exits, away, vac, keys, counts = parts[0]
    else:
        exits, away, vac, keys = (np.concatenate([part[k] for part in parts]) for k in range(4))
        counts = parts[0][4]
        for part in parts[1:]:
            counts += part[4]
    return _scan_finish(key, step, exits, away, vac, keys, counts, district, grade, ptype, seb,
                        flag, ready, exit_at, home, return_at, area_of_district, order,
                        position, block_start, block_end, spare_from)


@njit(cache=True, nogil=True)
def _scan_range(lo, hi, key, step, district, grade, ptype, seb, flag, flag_until, ready, exit_at,
                home, return_at, area_of_district, spare_from):
    """:func:`scan` over slots ``lo:hi``, writing only to those slots.

    A London posting's occupant who leaves also frees the post held at home (another slot,
    perhaps in another range): those exits are listed (``away``) for :func:`_scan_finish`.
    Returns exit rows, those slots, vacant slots (in slot order), their filling-order keys and
    the flat counts.
    """
    G = N_GRADES
    D = len(area_of_district) - 1
    A = area_of_district[D]
    width = G * A * N_SEB * N_TYPES * N_FLAGS
    counts = np.zeros(width, np.int32)  # (integers: quicker to add than floats)
    exits = np.empty((1024, 3), np.int64)
    away = np.empty(16, np.int64)
    vac = np.empty(1024, np.int64)
    n_x = n_a = n_v = 0
    for i in range(lo, hi):
        d = district[i]
        if d == D:
            continue
        s = seb[i]
        if s >= 0 and exit_at[i] == step:
            if n_x == len(exits):
                exits = np.concatenate((exits, np.empty_like(exits)))
            exits[n_x, 0], exits[n_x, 1], exits[n_x, 2] = grade[i], d, s
            n_x += 1
            if home[i] >= 0:  # on a London posting: finished by _scan_finish
                if n_a == len(away):
                    away = np.concatenate((away, np.empty_like(away)))
                away[n_a] = i
                n_a += 1
                continue
            _vacate(i, seb, flag, ready, exit_at, home, return_at)
            s = VACANT
        if s == VACANT:
            if n_v == len(vac):
                vac = np.concatenate((vac, np.empty_like(vac)))
            vac[n_v] = i
            n_v += 1
        elif s >= 0 and ready[i] <= step:
            f = flag[i]
            if ran_out(f, flag_until[i], step):
                f = NONE
                flag[i] = NONE
            ga = np.int64(grade[i]) * A + area_of_district[d]
            counts[((ga * N_SEB + s) * N_TYPES + ptype[i]) * N_FLAGS + f] += 1
    keys = np.empty(n_v, np.uint64)
    for j in range(n_v):
        keys[j] = _order_key(key, slot_ident(vac[j], grade[vac[j]], spare_from), step)
    return exits[:n_x], away[:n_a], vac[:n_v], keys, counts


@njit(cache=True)
def _scan_finish(key, step, exits, away, vac, keys, counts, district, grade, ptype, seb, flag,
                 ready, exit_at, home, return_at, area_of_district, order, position,
                 block_start, block_end, spare_from):
    """The end of :func:`scan`: London postings whose occupants left, and the filling order.

    A posting's occupant who leaves frees the post held at home: it is listed among the
    vacancies where a single pass in slot order would have met it (at the home slot, or at
    the posting if the home slot came first), and the posting is abolished.
    """
    G = N_GRADES
    D = len(area_of_district) - 1
    A = area_of_district[D]
    n_a = len(away)
    gone = np.empty((n_a, 3), np.int64)
    freed = np.empty(n_a, np.int64)
    place = np.empty(n_a, np.int64)  # where a pass in slot order lists the freed post
    for k in range(n_a):
        i = away[k]
        h = home[i]
        gone[k, 0], gone[k, 1], gone[k, 2] = grade[i], district[i], ptype[i]
        _vacate(i, seb, flag, ready, exit_at, home, return_at)
        _vacate(h, seb, flag, ready, exit_at, home, return_at)
        _set_district(district, grade, area_of_district, order, position, block_start,
                      block_end, np.array([i]), np.array([D]))
        freed[k] = h
        place[k] = max(h, i)
    if n_a:
        by_place = np.argsort(place, kind="mergesort")
        merged = np.empty(len(vac) + n_a, np.int64)
        merged_keys = np.empty(len(vac) + n_a, np.uint64)
        j = 0
        for m in range(len(merged)):
            if j < n_a and (m - j == len(vac) or place[by_place[j]] < vac[m - j]):
                merged[m] = freed[by_place[j]]
                merged_keys[m] = _order_key(
                    key, slot_ident(merged[m], grade[merged[m]], spare_from), step)
                j += 1
            else:
                merged[m] = vac[m - j]
                merged_keys[m] = keys[m - j]
        vac, keys = merged, merged_keys
    E = np.zeros((G, A), np.int64)
    per = N_SEB * N_TYPES * N_FLAGS
    for ga in range(G * A):
        t = 0
        for k in range(ga * per, (ga + 1) * per):
            t += counts[k]
        E[ga // A, ga % A] = t
    return (exits, gone, vac[_radix_order(keys)],
            counts.reshape((G, A, N_SEB, N_TYPES, N_FLAGS)), E)


@njit(cache=True, inline="always")
def _order_key(key, ident, step):
    """A vacancy's place in the step's filling order (a draw keyed by its slot's identity)."""
    return np.uint64(streams.uniform(key, streams.ORDER, ident, step) * 4294967296.0)


@njit(cache=True)
def _radix_order(keys):
    """Indices sorting 32-bit keys (three 11-bit counting passes; stable). (Two 16-bit
    passes cleared and summed 65,536 counters twice a step for about 20,000 keys.)"""
    n = len(keys)
    idx = np.arange(n)
    tmp = np.empty(n, np.int64)
    count = np.empty(2049, np.int64)
    mask = np.uint64(0x7FF)
    for shift in (0, 11, 22):
        count[:] = 0
        sh = np.uint64(shift)
        for i in range(n):
            count[((keys[idx[i]] >> sh) & mask) + 1] += 1
        for b in range(2048):
            count[b + 1] += count[b]
        for i in range(n):
            b = (keys[idx[i]] >> sh) & mask
            tmp[count[b]] = idx[i]
            count[b] += 1
        idx, tmp = tmp, idx
    return idx


# --- filling vacancies ---------------------------------------------------------------------

@njit(cache=True, inline="always")
def _candidate_position(x, lo, n):
    """Where in the block ``order[lo:lo + n]`` the draw ``x`` points (a candidate's draw)."""
    return lo + min(int(streams.high(x) * n), n - 1)


@njit(cache=True)
def _pick(z, j0, step, lo, hi, order, seb, ptype, flag, ready, lateral, h, vp, wtab, ltab,
          c, envelope):
    """Draw an eligible person of block ``order[lo:hi]`` with probability proportional to
    their weight (``wtab[h, s, t, f, vp] * c[s]``, or ``ltab[s, t, vp]`` for a lateral
    move): rejection sampling until one is accepted, then an exact scan if a block is nearly
    exhausted. ``z`` is the vacancy's draw state; draws ``j0``, ``j0 + 1``, … are used.
    Returns the slot, or -1 if no one eligible has a positive weight."""
    n = hi - lo
    if n <= 0 or envelope <= 0:
        return -1
    for j in range(PICK_DRAWS * n):
        x = streams.draw(z, j0 + j)
        i = order[_candidate_position(x, lo, n)]
        s = seb[i]
        if s < 0 or ready[i] > step:
            continue
        w = ltab[s, ptype[i], vp] if lateral else wtab[h, s, ptype[i], flag[i], vp] * c[s]
        if streams.low(x) * envelope < w:
            return i
    total = 0.0
    for p in range(lo, hi):
        i = order[p]
        s = seb[i]
        if s >= 0 and ready[i] <= step:
            total += ltab[s, ptype[i], vp] if lateral else wtab[h, s, ptype[i], flag[i], vp] * c[s]
    if total <= 0:
        return -1
    u = streams.high(streams.draw(z, j0 + PICK_DRAWS * n)) * total
    last = -1
    for p in range(lo, hi):
        i = order[p]
        s = seb[i]
        if s >= 0 and ready[i] <= step:
            w = ltab[s, ptype[i], vp] if lateral else wtab[h, s, ptype[i], flag[i], vp] * c[s]
            if w > 0:
                last = i
                u -= w
                if u < 0:
                    return i
    return last


@njit(cache=True)
def _choose_area(u, kernel_col, mass, skip):
    """Area with probability proportional to ``kernel_col[a] * mass[a]`` (``u`` in [0, 1))."""
    total = 0.0
    for a in range(len(mass)):
        if a != skip:
            total += kernel_col[a] * mass[a]
    if total <= 0:
        return -1
    x = u * total
    last = -1
    for a in range(len(mass)):
        if a == skip:
            continue
        w = kernel_col[a] * mass[a]
        if w > 0:
            last = a
            x -= w
            if x < 0:
                return a
    return last


@njit(cache=True, inline="always")
def _promotion_area_mass(W, h, vp, leave, willingness, boost, out):
    """Each area's share of a promotion's choice among areas, into ``out``: its grade-``h``
    candidates' weights (``W``) by willingness to move and the SCS1 target's ``boost``,
    times London's hold on its staff (``leave``) - the remote terms of
    :func:`placesim.rules.remote_factor` before the distance kernel."""
    for b in range(len(out)):
        out[b] = leave[b] * (W[h, b, 0, vp] * willingness[0] * boost[0]
                             + W[h, b, 1, vp] * willingness[1] * boost[1]
                             + W[h, b, 2, vp] * willingness[2] * boost[2])


def fill(key, step, vac, W, Lw, E, remote_mass, lateral_mass, grade, district, ptype, seb,
         flag, flag_until, grade_since, ready, exit_at, order, position, block_start,
         block_end, area_of_district, is_london, kernel_t, wtab, ltab, wmax, lmax, adv_area,
         leave, lateral_share, internal_share, exit_q, reach, london_pull, willingness,
         will_mult, flag_after, min_steps, scs_low_target, freeze, recruit_cdf, pool_grade,
         pool_mask, pool_types, pending, cohort, reached, reach_grade, spare_from,
         cut: int = -1):
    """Fill the vacancies ``vac`` in order, in place (see the module docstring and
    :mod:`placesim.rules` for the rule).

    ``W`` and ``Lw`` are the start-of-step choice weights (:func:`class_weights`);
    ``remote_mass[d, g, vp, s]`` and ``lateral_mass[d, g, vp, s]`` their kernel-weighted
    sums over other areas (:func:`choice_masses`): the totals that split the choices between
    areas. ``wmax[h, s, vp]`` and ``lmax[vp]`` bound the weights within a block. A vacancy in
    a closure pool with closures ``pending`` is closed instead (natural wastage).
    ``cohort`` tags go with the people who move; a tagged person promoted into
    ``reach_grade`` (:data:`placesim.cohort.REACH_GRADE`) is counted in ``reached[tag]``
    and the tag ends.

    The posts that close are found first (:func:`_closures_in_order`); then the vacancies
    fall into two groups that touch nothing in common (:func:`_two_groups`, split at grade
    ``cut``; -1: where the work splits most evenly), each filled in the step's order on a
    core of its own (:mod:`placesim.parallel`): one group's fills commute with the other's,
    so the result is that of filling them all in order, one at a time, whatever the number
    of threads and the cut.

    Returns the promotions and lateral moves as rows (grade, from district, to district,
    SEB), the recruits as rows (grade, district, SEB) and the posts closed as rows (grade,
    district, post type).
    """
    shut = _closures_in_order(vac, grade, district, ptype, pool_grade, pool_mask, pool_types,
                              pending)
    grouped, shut, first = _two_groups(key, step, vac, shut, grade, lateral_share,
                                       internal_share, spare_from, cut)
    n = len(vac)
    spans = [span for span in ((0, first), (first, n)) if span[1] > span[0]] or [(0, 0)]
    if len(spans) == 2 and n - first > first:
        spans.reverse()  # (the larger group in the calling thread, which starts at once)
    parts = parallel.map_spans(_fill_span, spans, (
        key, step, grouped, shut, W, Lw, E, remote_mass, lateral_mass, grade, district, ptype,
        seb, flag, flag_until, grade_since, ready, exit_at, order, position, block_start,
        block_end, area_of_district, is_london, kernel_t, wtab, ltab, wmax, lmax, adv_area,
        leave, lateral_share, internal_share, exit_q, reach, london_pull, willingness,
        will_mult, flag_after, min_steps, scs_low_target, freeze, recruit_cdf, cohort,
        reach_grade, len(reached), spare_from))
    for part in parts:
        reached += part[4]
    if len(parts) == 1:
        return parts[0][:4]
    return tuple(np.concatenate([part[k] for part in parts]) for k in range(4))


@njit(cache=True)
def _closures_in_order(vac, grade, district, ptype, pool_grade, pool_mask, pool_types,
                       pending):
    """Which of a step's vacancies ``vac`` (in filling order) close: those that fall in a
    closure pool with closures ``pending``, taken in that order (they depend on the order
    alone, not on the fills); each takes one from the first of its grade's pools it belongs
    to."""
    n = len(vac)
    G = N_GRADES
    shut = np.zeros(n, np.bool_)
    # the pools with closures pending, by grade, in pool order
    first_pool = np.zeros(G + 1, np.int64)
    for p in range(len(pending)):
        if pending[p] > 0:
            first_pool[pool_grade[p] + 1] += 1
    if first_pool.sum() == 0:
        return shut
    for g in range(G):
        first_pool[g + 1] += first_pool[g]
    pools = np.empty(first_pool[G], np.int64)
    filled = first_pool[:G].copy()
    for p in range(len(pending)):
        if pending[p] > 0:
            pools[filled[pool_grade[p]]] = p
            filled[pool_grade[p]] += 1
    for i in range(n):
        v = vac[i]
        g = grade[v]
        for k in range(first_pool[g], first_pool[g + 1]):
            p = pools[k]
            if pending[p] > 0 and pool_mask[p, district[v]] and pool_types[p, ptype[v]]:
                pending[p] -= 1
                shut[i] = True
                break
    return shut


@njit(cache=True)
def _two_groups(key, step, vac, shut, grade, lateral_share, internal_share, spare_from, cut):
    """Split a step's vacancies ``vac`` (in filling order; ``shut``: those that close) into
    two groups that read and write no state in common, each kept in that order: returns
    the vacancies, group by group, whether each closes, and where the second group starts.

    A vacancy at grade ``g`` reads and changes only the people of grade ``g`` (a lateral
    move: its candidates; a closure: the grade's blocks of slots) or ``g - 1`` (a
    promotion), its own post, and the eligible counts of that grade. A vacant post is not
    eligible before it is filled nor after (``ready`` is past the step), so no one's
    choice of candidates reads it. With a grade ``c``, the vacancies below ``c`` and those
    at ``c`` filled by promotion or from outside touch grades below ``c`` only (and their
    own posts); those above ``c``, and those at ``c`` filled laterally or closed, grades
    ``c`` and above. Their route is the vacancy's first draw, so it is known here; ``c`` is
    ``cut``, or if that is -1 the grade that splits the work most evenly (any ``c`` gives
    the same result)."""
    n = len(vac)
    G = N_GRADES
    per_grade = np.zeros(G, np.int64)
    for i in range(n):
        per_grade[grade[vac[i]]] += 1
    # the grade that splits the work most evenly: a vacancy filled by choosing someone
    # costs about PICK_COST times one filled from outside (or closed)
    work = np.empty(G)
    inside = np.empty(G)  # (the expected work of a grade's vacancies not filled laterally)
    for g in range(G):
        lat = lateral_share[g]
        promoted = (1.0 - lat) * internal_share[g] if g > 0 else 0.0
        inside[g] = per_grade[g] * ((1.0 - lat) + (PICK_COST - 1.0) * promoted)
        work[g] = inside[g] + per_grade[g] * lat * PICK_COST
    c = cut
    best = np.inf
    below = 0.0
    for g in range(G if cut == -1 else 0):
        gap = abs(below + inside[g] - work.sum() / 2)
        if gap < best:
            best, c = gap, g
        below += work[g]
    upper = np.zeros(n, np.bool_)
    n_upper = 0
    for i in range(n):
        v = vac[i]
        g = grade[v]
        if g > c:
            upper[i] = True
        elif g == c:
            if shut[i]:
                upper[i] = True
            else:
                z = streams.state(key, streams.FILL, slot_ident(v, g, spare_from), step)
                u = streams.high(streams.draw(z, 0))
                upper[i] = u < lateral_share[g]
        if upper[i]:
            n_upper += 1
    first = n - n_upper
    grouped = np.empty(n, np.int64)
    closes = np.empty(n, np.bool_)
    lo = 0
    hi = first
    for i in range(n):
        if upper[i]:
            grouped[hi], closes[hi] = vac[i], shut[i]
            hi += 1
        else:
            grouped[lo], closes[lo] = vac[i], shut[i]
            lo += 1
    return grouped, closes, first


@njit(cache=True, nogil=True)
def _fill_span(lo, hi, key, step, vacancies, shut_at, W, Lw, E, remote_mass, lateral_mass,
               grade, district, ptype, seb, flag, flag_until, grade_since, ready, exit_at,
               order, position, block_start, block_end, area_of_district, is_london, kernel_t,
               wtab, ltab, wmax, lmax, adv_area, leave, lateral_share, internal_share, exit_q,
               reach, london_pull, willingness, will_mult, flag_after, min_steps,
               scs_low_target, freeze, recruit_cdf, cohort, reach_grade, n_tags, spare_from):
    """:func:`fill` for the vacancies ``vacancies[lo:hi]`` (one group of
    :func:`_two_groups`; ``shut_at`` says which close). Returns its rows as :func:`fill`
    does, and the tagged people it promoted into ``reach_grade``, by tag (``n_tags``)."""
    vac = vacancies[lo:hi]
    shut_of = shut_at[lo:hi]
    reached = np.zeros(n_tags, np.int64)
    n = len(vac)
    A = W.shape[1]
    D = len(area_of_district) - 1
    promoted = np.empty((n, 4), np.int64)
    moved = np.empty((n, 4), np.int64)
    recruited = np.empty((n, 3), np.int64)
    closed = np.empty((n, 3), np.int64)
    n_p = n_l = n_r = n_c = 0
    flat_start = block_start.reshape(-1)
    flat_end = block_end.reshape(-1)
    one = np.empty(1, np.int64)
    spare = np.full(1, D, np.int64)
    boost = np.ones(N_SEB)
    c = np.ones(N_SEB)
    mass = np.empty(A)
    # the areas' masses for a district's choice among areas, computed once a step (not once
    # a vacancy): lateral moves, and promotions when no SCS1 boost applies
    lat_area = np.empty((W.shape[0], 2, A))
    pro_area = np.empty((W.shape[0], 2, A))
    for g in range(W.shape[0]):
        for vq in range(2):
            for b in range(A):
                lat_area[g, vq, b] = leave[b] * (Lw[g, b, 0, vq] + Lw[g, b, 1, vq]
                                                 + Lw[g, b, 2, vq])
            _promotion_area_mass(W, g, vq, leave, willingness, boost, pro_area[g, vq])
    guess = np.full(16, -1, np.int64)
    for idx in range(n):
        if idx + AHEAD < n:  # the slot visited AHEAD vacancies later: into the cache now
            w = vac[idx + AHEAD]
            prefetch(grade, w)
            prefetch(district, w)
            prefetch(ptype, w)
            prefetch(seb, w)
            prefetch(flag, w)
            prefetch(flag_until, w)
            prefetch(grade_since, w)
            prefetch(ready, w)
            prefetch(exit_at, w)
        # a promotion's first candidate is most often drawn from the block below in the
        # vacancy's own area: guess it early (its draw is keyed, so the guess is the draw)
        if idx + AHEAD2 < n:
            w = vac[idx + AHEAD2]
            guess[(idx + AHEAD2) % 16] = -1
            gw = grade[w]
            if gw > 0:
                aw = area_of_district[district[w]]
                lo_w = block_start[gw - 1, aw]
                nw = block_end[gw - 1, aw] - lo_w
                if nw > 0:
                    zw = streams.state(key, streams.FILL, slot_ident(w, gw, spare_from), step)
                    pos = _candidate_position(streams.draw(zw, FIRST_PICK_DRAW), lo_w, nw)
                    guess[(idx + AHEAD2) % 16] = pos
                    prefetch(order, pos)
        if idx + AHEAD3 < n:
            pos = guess[(idx + AHEAD3) % 16]
            if pos >= 0:
                i = order[pos]
                prefetch(seb, i)
                prefetch(ready, i)
                prefetch(ptype, i)
                prefetch(flag, i)
        v = vac[idx]
        g, dv, tv = grade[v], district[v], ptype[v]
        av = area_of_district[dv]
        vp = 1 if tv != OTHER else 0
        pull = london_pull if is_london[dv] else 1.0
        if shut_of[idx]:  # the post closes as it falls vacant
            closed[n_c, 0], closed[n_c, 1], closed[n_c, 2] = g, dv, tv
            n_c += 1
            one[0] = v
            _set_district(district, grade, area_of_district, order, position, flat_start,
                          flat_end, one, spare)
            continue
        z = streams.state(key, streams.FILL, slot_ident(v, g, spare_from), step)
        x0 = streams.draw(z, 0)
        u = streams.high(x0)
        lat = lateral_share[g]
        chosen = -1
        kind = -1
        if u < lat:
            total = 0.0
            for s in range(N_SEB):
                total += lateral_mass[dv, g, vp, s]
            if total > 0:
                a = _choose_area(streams.low(x0), kernel_t[dv], lat_area[g, vp], av)
                if a >= 0 and E[g, a] > 0:
                    kind = LATERAL
                    chosen = _pick(z, FIRST_PICK_DRAW, step, block_start[g, a],
                                   block_end[g, a], order, seb, ptype, flag, ready, True, g,
                                   vp, wtab, ltab, c, lmax[vp])
        elif g > 0 and u < lat + (1 - lat) * internal_share[g]:
            h = g - 1
            for s in range(N_SEB):  # (element by element: a slice costs a view here)
                boost[s] = 1.0
            rf = reach[g] * will_mult * pull
            if g == SCS1 and scs_low_target > 0:  # weight low-SEB candidates up to the target
                tot = low = 0.0
                for s in range(N_SEB):
                    y = W[h, av, s, vp] + rf * remote_mass[dv, g, vp, s]
                    tot += y
                    if s == LOW:
                        low += y
                if 0 < low < scs_low_target * tot:
                    p = low / tot
                    boost[LOW] = scs_low_target * (1 - p) / (p * (1 - scs_low_target))
            local = remote = 0.0
            for s in range(N_SEB):
                local += W[h, av, s, vp] * boost[s]
                remote += remote_mass[dv, g, vp, s] * boost[s]
            remote *= rf
            a = -1
            if local + remote > 0:
                y = streams.low(x0) * (local + remote)
                if y < local:
                    a = av
                    kind = LOCAL
                else:
                    row = pro_area[h, vp]
                    if boost[LOW] != 1.0:
                        _promotion_area_mass(W, h, vp, leave, willingness, boost, mass)
                        row = mass
                    a = _choose_area(streams.high(streams.draw(z, 1)), kernel_t[dv], row, av)
                    kind = REMOTE
            if a >= 0 and E[h, a] > 0:
                env = 0.0
                for s in range(N_SEB):
                    c[s] = adv_area[a] * boost[s]
                    if kind == REMOTE:
                        c[s] *= willingness[s]
                    env = max(env, wmax[h, s, vp] * c[s])
                chosen = _pick(z, FIRST_PICK_DRAW, step, block_start[h, a], block_end[h, a],
                               order, seb, ptype, flag, ready, False, h, vp, wtab, ltab, c, env)
        if chosen >= 0:
            ch = chosen
            dc = district[ch]
            E[grade[ch], area_of_district[dc]] -= 1
            seb[v] = seb[ch]
            flag_until[v] = flag_until[ch]
            if kind == LATERAL:
                moved[n_l, 0], moved[n_l, 1], moved[n_l, 2], moved[n_l, 3] = g, dc, dv, seb[ch]
                n_l += 1
                flag[v] = flag[ch]
                cohort[v] = cohort[ch]
                grade_since[v] = grade_since[ch]
                ready[v] = max(ready[ch], step + 1)
                exit_at[v] = exit_at[ch]  # same grade: their exit step goes with them
            else:
                promoted[n_p, 0], promoted[n_p, 1] = g, dc
                promoted[n_p, 2], promoted[n_p, 3] = dv, seb[ch]
                n_p += 1
                flag[v] = flag_after[flag[ch], g]
                tg = cohort[ch]
                if tg > 0 and g >= reach_grade:
                    if g == reach_grade:
                        reached[tg] += 1
                    tg = 0
                cohort[v] = tg
                grade_since[v] = step
                ready[v] = step + min_steps
                _enter(key, slot_ident(v, g, spare_from), v, step, exit_q[g], exit_at)
            seb[ch] = VACANT
            flag[ch] = NONE
            cohort[ch] = 0
            ready[ch] = NEVER
            exit_at[ch] = NEVER_STEP
            continue
        x1 = streams.draw(z, 1)
        if freeze[g, dv] > 0 and streams.low(x1) < freeze[g, dv]:
            continue  # left vacant by the London recruitment freeze
        y = streams.high(streams.draw(z, -1))
        s = 0 if y < recruit_cdf[g, dv, 0] else (1 if y < recruit_cdf[g, dv, 1] else 2)
        recruited[n_r, 0], recruited[n_r, 1], recruited[n_r, 2] = g, dv, s
        n_r += 1
        seb[v] = s
        flag[v] = NONE
        cohort[v] = 0
        grade_since[v] = step
        ready[v] = step + min_steps
        _enter(key, slot_ident(v, g, spare_from), v, step, exit_q[g], exit_at)
    return promoted[:n_p], moved[:n_l], recruited[:n_r], closed[:n_c], reached


@njit(cache=True)
def tally(stock, exits, promotions, to_london, from_london, cross_area, is_london, area,
          exited, promoted, moved, recruited):
    """Add a step's flows (the rows :func:`scan` and :func:`fill` return) to the tallies, in
    place: ``stock``, ``exits`` and ``promotions`` (grade, district, seb; promotions by grade
    into and origin district), promotions that moved into or out of London by seb, and
    promotions from another area by grade into. (One compiled pass over the rows: building
    index arrays for them in numpy cost more than the counting.)"""
    for r in range(len(exited)):
        g, d, s = exited[r, 0], exited[r, 1], exited[r, 2]
        stock[g, d, s] -= 1
        exits[g, d, s] += 1
    for r in range(len(promoted)):
        g, f, t, s = promoted[r, 0], promoted[r, 1], promoted[r, 2], promoted[r, 3]
        stock[g - 1, f, s] -= 1
        stock[g, t, s] += 1
        promotions[g, f, s] += 1
        if is_london[t] and not is_london[f]:
            to_london[s] += 1
        elif is_london[f] and not is_london[t]:
            from_london[s] += 1
        if area[f] != area[t]:
            cross_area[g] += 1
    for r in range(len(moved)):
        g, f, t, s = moved[r, 0], moved[r, 1], moved[r, 2], moved[r, 3]
        stock[g, f, s] -= 1
        stock[g, t, s] += 1
    for r in range(len(recruited)):
        stock[recruited[r, 0], recruited[r, 1], recruited[r, 2]] += 1


def choice_masses(W: np.ndarray, Lw: np.ndarray, kernel: np.ndarray, willingness: np.ndarray,
                  leave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The start-of-step remote masses :func:`fill` splits choices with.

    Parameters
    ----------
    W, Lw : numpy.ndarray
        (grade, area, seb, vacancy is policy) choice weights from :func:`class_weights`.
    kernel : numpy.ndarray
        (area, district) distance decay, 0 within an area.
    willingness : numpy.ndarray
        (seb,)
    leave : numpy.ndarray
        (area,) London's hold on its staff (:attr:`placesim.rules.Rules.area_leave`).

    Returns
    -------
    remote_mass, lateral_mass : numpy.ndarray
        (district, grade, vacancy is policy, seb): for promotions INTO the grade (from the
        grade below; row 0 is zero), without reach, relocation support and London's pull;
        and for lateral moves at the grade. Together with those they are
        :func:`placesim.rules.remote_factor` and :func:`placesim.rules.lateral_factor`
        summed over the candidates of the other areas.
    """
    G, A = W.shape[:2]
    D = kernel.shape[1]
    kt = kernel.T.astype(np.float64)
    wr = (W * willingness[None, None, :, None] * leave[None, :, None, None]).transpose(
        1, 0, 3, 2).reshape(A, -1)
    lr = (Lw * leave[None, :, None, None]).transpose(1, 0, 3, 2).reshape(A, -1)
    remote = np.zeros((D, G, 2, N_SEB))
    remote[:, 1:] = (kt @ wr).reshape(D, G, 2, N_SEB)[:, :-1]
    lateral = (kt @ lr).reshape(D, G, 2, N_SEB)
    return remote, lateral


# --- moving posts (relocation waves) -------------------------------------------------------

@dataclass
class MoveOrder:
    """Posts of one wave tranche to move now: which posts, how many to each destination."""

    wave: int
    tranche: int
    origin_mask: np.ndarray  # (district,) bool
    grade_mask: np.ndarray  # (grade,) bool
    type_mask: np.ndarray  # (post type,) bool
    dest_groups: tuple  # ((districts, count), ...) in destination order
    accept_by_grade: np.ndarray  # (grade,) base acceptance
    high_seb_multiplier: float
    per_100km: float
    redeploy_share: float
    backfill_anywhere: bool
    support_multiplier: float
    dept_posts: np.ndarray | None = None  # (grade, district, post type) at the start, or None


@dataclass
class MoveOutcome:
    """What one tranche did, for metrics."""

    wave: int
    from_d: np.ndarray  # per post moved
    to_d: np.ndarray
    grade: np.ndarray
    ptype: np.ndarray
    mover_s: np.ndarray  # SEB of incumbents who moved with their post
    leaver_s: np.ndarray  # SEB of incumbents who left because of the move
    leaver_g: np.ndarray  # and their grade
    redeployed_s: np.ndarray
    leaver_cohort: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # tags
    # stock changes (grade, district, seb) for the running headcount
    minus: list = field(default_factory=list)
    plus: list = field(default_factory=list)
    recruits: tuple = ()


def matching_slots(slots: Slots, geo: Geography, origin_mask: np.ndarray,
                   grade_mask: np.ndarray, type_mask: np.ndarray) -> np.ndarray:
    """Posts matching a wave's selector in its origin (not posts held for someone away),
    found through the (grade, area) blocks: the cost follows the origin's size."""
    areas = np.unique(geo.area[origin_mask])
    parts = [slots.order[slots.block_start[g, a]:slots.block_end[g, a]]
             for g in np.flatnonzero(grade_mask) for a in areas]
    idx = np.concatenate(parts) if parts else np.empty(0, np.int64)
    keep = origin_mask[slots.district[idx]] & type_mask[slots.ptype[idx]]
    keep &= slots.seb[idx] != HELD
    keep &= ~((slots.seb[idx] >= 0) & (slots.ready[idx] == NEVER))  # away on secondment
    found = np.zeros(slots.size, bool)  # slot order by a mask: cheaper than sorting
    found[idx[keep]] = True
    return np.flatnonzero(found)


def _smallest(u: np.ndarray, n: int) -> np.ndarray:
    """Where the ``n`` smallest of ``u`` are, smallest first (equal values by position): the
    first ``n`` of a stable argsort, without sorting all of ``u`` (a wave takes tens of
    posts from over ten thousand)."""
    if n >= len(u):
        return np.argsort(u, kind="stable")
    if n <= 0:
        return np.empty(0, np.int64)
    last = np.partition(u, n - 1)[n - 1]
    below = np.flatnonzero(u < last)
    idx = np.concatenate([below, np.flatnonzero(u == last)[:n - len(below)]])
    return idx[np.lexsort((idx, u[idx]))]


def move_posts(slots: Slots, geo: Geography, rules: Rules, order: MoveOrder, key,
               step: int) -> MoveOutcome:
    """Move posts to their destinations; incumbents accept, are redeployed, or leave.

    The posts moved are those matching the wave's selector with the smallest keyed draws (a
    uniform choice that two scenarios sharing a seed make alike). Incumbents accept with a
    probability by grade, SEB and distance (and relocation support); of the rest, a share is
    redeployed into a vacant post of the same grade in their own area (if there is one) and
    the others leave. Posts left empty are filled at the new place by the normal vacancy
    chain ("recruit locally") or at once by recruits drawn from the national mix ("hiring
    from anywhere").
    """
    cand = matching_slots(slots, geo, order.origin_mask, order.grade_mask, order.type_mask)
    n_want = int(sum(c for _, c in order.dest_groups))
    n = min(n_want, len(cand))
    tag = order.wave * 65536 + order.tranche
    u = streams.uniforms(key, streams.WAVE_PICK, slots.ident(cand), tag)
    if order.dept_posts is None:
        chosen = cand[_smallest(u, n)]  # in random order, so each destination gets a random
        # mix of the matching posts (the slots are laid out by grade)
    else:  # its departments' posts: so many from each cell as the rule says, then at random
        cell = ((slots.grade[cand].astype(np.int64) * slots.n_districts
                 + slots.district[cand]) * N_TYPES + slots.ptype[cand])
        cells, at_cell, have = np.unique(cell, return_inverse=True, return_counts=True)
        g, rest = np.divmod(cells, slots.n_districts * N_TYPES)
        take = department_counts(order.dept_posts[g, rest // N_TYPES, rest % N_TYPES],
                                 have, n_want, streams.uniform(key, streams.WAVE_CELLS,
                                                               order.wave, order.tranche))
        by_cell = np.lexsort((u, at_cell))  # each cell's slots, smallest draw first
        rank = np.arange(len(cand)) - np.searchsorted(at_cell[by_cell], at_cell[by_cell])
        picked = by_cell[rank < take[at_cell[by_cell]]]
        chosen = cand[picked[np.argsort(u[picked])]]  # (in random order, as above)
        n = len(chosen)
    dest = np.empty(n, np.int64)
    at = 0
    counts = [c for _, c in order.dest_groups]
    if n < n_want:  # (fewer posts found than asked: each destination its share of them)
        counts = share_out(n, counts).tolist()
    for (districts, _), count in zip(order.dest_groups, counts, strict=True):
        k = min(count, n - at)
        if k <= 0:  # (a destination given nothing this tranche, its site's desks awaited:
            continue  # the next ones still take theirs)
        if len(districts) == 1:
            dest[at:at + k] = districts[0]
        else:
            u = streams.uniforms(key, streams.DESTINATION, slots.ident(chosen[at:at + k]),
                                 step)
            dest[at:at + k] = districts[np.minimum((u * len(districts)).astype(np.int64),
                                                   len(districts) - 1)]
        at += k
    orig = slots.district[chosen].astype(np.int64)
    g = slots.grade[chosen].astype(np.int64)
    s = slots.seb[chosen].astype(np.int64)
    occupied = s >= 0
    tags = slots.cohort[chosen].copy()
    dist = geo.distance_km[orig, dest]
    p = order.accept_by_grade[g] * order.per_100km ** (dist / 100.0) * order.support_multiplier
    p = np.where(s == 0, p * order.high_seb_multiplier, p)
    accept = occupied & (streams.uniforms(key, streams.INCUMBENT, slots.ident(chosen), step)
                         < np.minimum(p, 1.0))
    stay = occupied & ~accept
    redeploy = stay & (streams.uniforms(key, streams.REDEPLOY, slots.ident(chosen), step)
                       < order.redeploy_share)

    # Redeploy into same-grade vacancies in the same area, matched by rank within groups.
    red_idx = chosen[redeploy]
    targets = np.empty(0, np.int64)
    width = slots.n_areas + 1
    if len(red_idx):
        key_r = slots.grade[red_idx].astype(np.int64) * width + geo.area[slots.district[red_idx]]
        pool = np.concatenate([slots.order[slots.block_start.ravel()[b]:
                                           slots.block_end.ravel()[b]]
                               for b in np.unique(key_r)])
        vac = np.sort(pool[slots.seb[pool] == VACANT])
        vac = vac[~np.isin(vac, chosen, assume_unique=True)]  # not the posts being moved
        key_v = slots.grade[vac].astype(np.int64) * width + geo.area[slots.district[vac]]
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
        by_slot = np.argsort(chosen)
        placed[by_slot[np.searchsorted(chosen[by_slot], src)]] = True
        redeploy &= placed
        _redeploy(src, targets, slots.seb, slots.flag, slots.flag_until, slots.grade_since,
                  slots.ready, slots.exit_at, slots.cohort)
    leave = stay & ~redeploy

    out = MoveOutcome(
        wave=order.wave, from_d=orig, to_d=dest, grade=g,
        ptype=slots.ptype[chosen].astype(np.int64), mover_s=s[accept], leaver_s=s[leave],
        leaver_g=g[leave], redeployed_s=s[redeploy], leaver_cohort=tags[leave],
    )
    out.minus.append((g[occupied], orig[occupied], s[occupied]))
    out.plus.append((g[accept], dest[accept], s[accept]))
    if len(targets):
        out.plus.append((slots.grade[targets].astype(np.int64),
                         slots.district[targets].astype(np.int64),
                         slots.seb[targets].astype(np.int64)))
    empty = chosen[~accept]
    for i in empty:  # the post moves without its incumbent
        slots.seb[i] = VACANT
        slots.flag[i] = NONE
        slots.cohort[i] = 0
        slots.ready[i] = NEVER
        slots.exit_at[i] = NEVER_STEP
    slots.set_district(chosen, dest)
    if order.backfill_anywhere and len(empty):
        rs = recruit_now(key, step, empty, slots, rules)
        out.recruits = (slots.grade[empty].astype(np.int64),
                        slots.district[empty].astype(np.int64), rs)
        out.plus.append(out.recruits)
    return out


@njit(cache=True)
def _redeploy(src, dst, seb, flag, flag_until, grade_since, ready, exit_at, cohort):
    for k in range(len(src)):
        a, b = src[k], dst[k]
        seb[b], flag[b], flag_until[b] = seb[a], flag[a], flag_until[a]
        grade_since[b], ready[b], exit_at[b] = grade_since[a], ready[a], exit_at[a]
        cohort[b] = cohort[a]
        cohort[a] = 0
        seb[a] = VACANT
        ready[a] = NEVER
        exit_at[a] = NEVER_STEP


def recruit_now(key, step: int, idx: np.ndarray, slots: Slots, rules: Rules) -> np.ndarray:
    """Fill posts ``idx`` at once with recruits from the national SEB mix of their grade."""
    g = slots.grade[idx].astype(np.int64)
    u = streams.uniforms(key, streams.RECRUIT, slots.ident(idx), step)
    cdf = rules.national_cdf[g]
    s = ((u >= cdf[:, 0]).astype(np.int64) + (u >= cdf[:, 1])).astype(np.int8)
    slots.seb[idx] = s
    slots.flag[idx] = NONE
    slots.cohort[idx] = 0
    slots.grade_since[idx] = step
    slots.ready[idx] = step + rules.min_steps
    _enter_many(key, slots.spare_from, idx, step, rules.exit_q, slots.grade, slots.exit_at)
    return s.astype(np.int64)


@njit(cache=True)
def _enter_many(key, spare_from, idx, step, exit_q, grade, exit_at):
    for i in idx:
        _enter(key, slot_ident(i, grade[i], spare_from), i, step, exit_q[grade[i]], exit_at)


def open_posts(slots: Slots, g: np.ndarray, d: np.ndarray, t: np.ndarray, n: np.ndarray
               ) -> np.ndarray:
    """Open ``n`` new (vacant) posts of each (grade, district, post type) from the spare slots;
    returns their slot indices (row by row).

    Each grade's spare block gives its rows' slots from its start, in row order; grades'
    blocks are independent, so all rows move in one call."""
    g, d, t, n = (np.asarray(x, np.int64) for x in (g, d, t, n))
    keep = n > 0
    g, d, t, n = g[keep], d[keep], t[keep], n[keep]
    if not len(n):
        return np.empty(0, np.int64)
    A = slots.n_areas
    need = np.bincount(g, weights=n, minlength=N_GRADES).astype(np.int64)
    for gi in np.flatnonzero(need):
        if slots.spare(int(gi)) < need[gi]:
            raise RuntimeError(f"no spare slots left at grade {int(gi)} to open posts")
    row = np.repeat(np.arange(len(n)), n)  # each new post's row
    out = np.empty(len(row), np.int64)
    for gi in np.flatnonzero(need):
        mine = g[row] == gi
        lo = slots.block_start[gi, A]
        out[mine] = slots.order[lo:lo + need[gi]]
    slots.set_district(out, d[row])
    slots.ptype[out] = t[row]
    slots.seb[out] = VACANT
    slots.ready[out] = NEVER
    slots.exit_at[out] = NEVER_STEP
    slots.flag[out] = NONE
    slots.cohort[out] = 0
    return out


def close_posts_now(slots: Slots, geo: Geography, key, step: int, pool: int, grade: int,
                    mask: np.ndarray, types: np.ndarray, n: int) -> tuple:
    """A closure pool's deadline: close ``n`` of its posts at once, vacant ones first, then
    occupied ones chosen by keyed draws, their holders made redundant.

    Returns
    -------
    tuple
        Rows (grade, district, post type) of the posts closed, and rows (grade, district,
        seb) of the people made redundant.
    """
    cand = matching_slots(slots, geo, mask, np.arange(N_GRADES) == grade, types)
    vacant = cand[slots.seb[cand] == VACANT]
    occupied = cand[slots.seb[cand] >= 0]
    k = min(n, len(vacant))
    shut = vacant[:k]
    if n > k and len(occupied):
        u = streams.uniforms(key, streams.WAVE_PICK, slots.ident(occupied),
                             1_000_000 + pool * 4096 + step)
        shut = np.concatenate([shut, occupied[np.argsort(u, kind="stable")[:n - k]]])
    people = shut[slots.seb[shut] >= 0]
    redundant = (slots.grade[people].astype(np.int64), slots.district[people].astype(np.int64),
                 slots.seb[people].astype(np.int64))
    rows = (slots.grade[shut].astype(np.int64), slots.district[shut].astype(np.int64),
            slots.ptype[shut].astype(np.int64))
    slots.seb[shut] = VACANT
    slots.ready[shut] = NEVER
    slots.exit_at[shut] = NEVER_STEP
    slots.flag[shut] = NONE
    slots.cohort[shut] = 0
    slots.set_district(shut, np.full(len(shut), slots.n_districts))
    return rows, redundant


__all__ = ["scan", "fill", "open_posts", "close_posts_now", "class_weights", "choice_masses",
           "move_posts", "matching_slots", "MoveOrder", "MoveOutcome", "weight_table",
           "lateral_table", "start_exits"]
