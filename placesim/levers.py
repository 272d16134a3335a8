"""What a lever's events do to people in the stochastic engine.

:mod:`placesim.rules` compiles each lever into per-step rates and a list of events (enrol
mentees, start a talent-scheme cohort, send people on London postings and bring them back,
end mentoring). This module carries out an event on the slot arrays; :mod:`placesim.expected`
carries out the same event on expected stocks. Who is enrolled is decided by the smallest keyed
draws among those eligible (:mod:`placesim.streams`), so scenarios sharing a seed enrol alike.

A **London posting** is a real post: a spare private office slot of the person's grade is
opened in the posting district, the person moves into it (counted in London while there, not
promotable), their own post is held for them (``HELD``), and when the posting ends they return
to it and the London post is abolished. Someone who leaves the Civil Service while away frees
both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from . import streams
from .flows import _enter
from .population import HELD, N_GRADES, NEVER, NEVER_STEP, PRIVATE_OFFICE, VACANT
from .rules import (
    LOW,
    MENTOR_END,
    MENTOR_ENROL,
    MENTORED,
    NONE,
    POSTED,
    POSTING_ENROL,
    POSTING_RETURN,
    SCHEME,
    SCHEME_ENROL,
    LeverEvent,
)


@dataclass
class LeverOutcome:
    """Stock and post changes of one event (rows as the engine's bookkeeping takes them)."""

    minus: list = field(default_factory=list)  # (grade, district, seb) people leaving a place
    plus: list = field(default_factory=list)
    created: tuple = ((), (), ())  # (grade, district, post type) posts opened
    abolished: tuple = ((), (), ())


def spare_slots(scenario) -> np.ndarray:
    """(grade,) spare slots a scenario may need: one per London posting place."""
    spare = np.zeros(N_GRADES, np.int64)
    lp = scenario.levers.london_postings
    if lp is not None:
        from .grades import GRADES

        for g in lp.grades:
            spare[GRADES.index(g)] = lp.places_per_year
    return spare


def _pick(key, pool: np.ndarray, n: int, tag: int) -> np.ndarray:
    """The ``n`` slots of ``pool`` with the smallest keyed draws (a uniform choice)."""
    n = min(int(n), len(pool))
    if n <= 0:
        return pool[:0]
    if n == len(pool):
        return pool
    u = streams.uniforms(key, streams.LEVER_PICK, pool, tag)
    return np.sort(pool[np.argpartition(u, n - 1)[:n]])


def _in_post(slots) -> np.ndarray:
    """People in a post of their own (not away on a posting)."""
    return (slots.seb >= 0) & (slots.home < 0) & (slots.district < slots.n_districts)


def apply_event(event: LeverEvent, run, step: int) -> LeverOutcome:
    """Carry out one lever event on a stochastic run (see the module docstring).

    Parameters
    ----------
    event : LeverEvent
    run : placesim.engine._Run
    step : int

    Returns
    -------
    LeverOutcome
    """
    sl, r, key = run.slots, run.m.rules, run.key
    out = LeverOutcome()
    ended = ((sl.flag == SCHEME) | (sl.flag == POSTED)) & (sl.flag_until <= step)
    sl.flag[ended] = NONE  # programme states that have run out, before anyone is enrolled
    grades = event.grades[sl.grade]
    tag = step * 8 + event.kind
    if event.kind == MENTOR_ENROL:
        low = _in_post(sl) & grades & (sl.seb == LOW)
        pool = np.flatnonzero(low & (sl.flag == NONE))
        already = int(np.count_nonzero(low & (sl.flag == MENTORED)))
        n = int(round(event.coverage * (len(pool) + already))) - already
        sl.flag[_pick(key, pool, n, tag)] = MENTORED
    elif event.kind == MENTOR_END:
        sl.flag[sl.flag == MENTORED] = NONE
    elif event.kind == SCHEME_ENROL:
        open_ = _in_post(sl) & grades & ((sl.flag == NONE) | (sl.flag == MENTORED))
        low = _pick(key, np.flatnonzero(open_ & (sl.seb == LOW)),
                    round(event.places * event.low_share), tag)
        open_[low] = False
        rest = _pick(key, np.flatnonzero(open_), event.places - len(low), tag)
        picks = np.concatenate([low, rest])
        sl.flag[picks] = SCHEME
        u = streams.uniforms(key, streams.EXPIRY, picks, step)
        sl.flag_until[picks] = np.minimum(
            step + _geometric(u, float(r.flag_hazard[SCHEME])), NEVER)
    elif event.kind == POSTING_ENROL:
        regional = ~np.append(r.is_london, True)[sl.district]
        open_ = _in_post(sl) & grades & regional & ((sl.flag == NONE) | (sl.flag == MENTORED))
        picks = _pick(key, np.flatnonzero(open_), event.places, tag)
        posts = np.empty(len(picks), np.int64)
        for i, h in enumerate(picks):  # a spare post of the same grade, opened in London
            g = sl.grade[h]
            if sl.spare(g) == 0:
                raise RuntimeError(f"no spare {g} slot for a London posting")
            posts[i] = sl.order[sl.block_start[g, sl.n_areas]]
            sl.set_district(posts[i:i + 1], np.array([r.posting_district]))
        sl.ptype[posts] = PRIVATE_OFFICE
        g, d, s = (sl.grade[picks].astype(np.int64), sl.district[picks].astype(np.int64),
                   sl.seb[picks].astype(np.int64))
        _send(key, step, picks, posts, step + r.posting_steps, r.exit_q, sl.grade, sl.seb,
              sl.flag, sl.flag_until, sl.grade_since, sl.ready, sl.exit_at, sl.home,
              sl.return_at)
        there = np.full(len(picks), r.posting_district)
        out.minus.append((g, d, s))
        out.plus.append((g, there, s))
        out.created = (g, there, np.full(len(picks), PRIVATE_OFFICE))
    elif event.kind == POSTING_RETURN:
        posts = np.flatnonzero((sl.home >= 0) & (sl.return_at == step) & (sl.seb >= 0))
        homes = sl.home[posts].astype(np.int64)
        g, d, s = (sl.grade[posts].astype(np.int64), sl.district[posts].astype(np.int64),
                   sl.seb[posts].astype(np.int64))
        u = streams.uniforms(key, streams.EXPIRY, homes, step)
        until = np.minimum(step + _geometric(u, float(r.flag_hazard[POSTED])), NEVER)
        _bring_back(key, step, posts, homes, until, r.exit_q, sl.grade, sl.seb, sl.flag,
                    sl.flag_until, sl.grade_since, sl.ready, sl.exit_at, sl.home, sl.return_at)
        sl.set_district(posts, np.full(len(posts), sl.n_districts))
        out.minus.append((g, d, s))
        out.plus.append((g, sl.district[homes].astype(np.int64), s))
        out.abolished = (g, d, np.full(len(posts), PRIVATE_OFFICE))
    return out


def _geometric(u: np.ndarray, q: float) -> np.ndarray:
    """Vectorised :func:`placesim.streams.geometric`."""
    if q >= 1:
        return np.ones(len(u), np.int64)
    if q <= 0:
        return np.full(len(u), NEVER, np.int64)
    return 1 + (np.log1p(-u) / np.log1p(-q)).astype(np.int64)


@njit(cache=True)
def _send(key, step, homes, posts, back, exit_q, grade, seb, flag, flag_until, grade_since,
          ready, exit_at, home, return_at):
    """Move people from their posts (then held) into London posting posts."""
    for k in range(len(homes)):
        h, p = homes[k], posts[k]
        seb[p], flag[p], flag_until[p], grade_since[p] = seb[h], flag[h], flag_until[h], \
            grade_since[h]
        ready[p] = NEVER  # not promotable while on the posting
        home[p] = h
        return_at[p] = back
        _enter(key, p, step, exit_q[grade[p]], exit_at)
        seb[h] = HELD
        flag[h] = NONE
        ready[h] = NEVER
        exit_at[h] = NEVER_STEP


@njit(cache=True)
def _bring_back(key, step, posts, homes, until, exit_q, grade, seb, flag, flag_until,
                grade_since, ready, exit_at, home, return_at):
    """Return people from London postings to the posts held for them."""
    for k in range(len(posts)):
        p, h = posts[k], homes[k]
        seb[h], grade_since[h] = seb[p], grade_since[p]
        flag[h] = POSTED
        flag_until[h] = until[k]
        ready[h] = step + 1
        _enter(key, h, step, exit_q[grade[h]], exit_at)
        seb[p] = VACANT
        flag[p] = NONE
        ready[p] = NEVER
        exit_at[p] = NEVER_STEP
        home[p] = -1
        return_at[p] = NEVER
