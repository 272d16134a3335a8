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

**Secondments** (:class:`placesim.scenario.Secondments`). An inbound secondee holds a policy
post opened for them at the site (a spare slot marked ``HELD``: counted in the site's posts,
not in headcount, never a vacancy); their SEB is drawn from the local population's mix; at
the end of the term a keyed draw decides whether they stay — the post becomes a permanent
post with them in it (an entrant) — or leave, and the post closes. An outbound secondee stays
in their own post (covered temporarily, not a vacancy; counted where they work) but cannot
be promoted or enrolled while away (``ready`` is ``NEVER``); back, they carry the
``seconded`` programme state. :class:`LeverState` keeps the cohorts and the lever's yearly
figures in every mode, and :func:`lever_columns` turns them into metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from . import streams
from .entrants import METRICS as ENTRANT_METRICS
from .entrants import columns as entrant_columns
from .entrants import group_name, standard_places, standard_rows
from .flows import _vacate, open_posts
from .grades import GRADES
from .population import (
    HELD,
    N_GRADES,
    N_SEB,
    NEVER,
    NEVER_STEP,
    POLICY,
    PRIVATE_OFFICE,
    VACANT,
    Slots,
    slot_ident,
)
from .rules import (
    LOW,
    MENTOR_END,
    MENTOR_ENROL,
    MENTORED,
    N_FLAGS,
    NONE,
    OUTBOUND_RETURN,
    OUTBOUND_START,
    POSTED,
    POSTING_ENROL,
    POSTING_RETURN,
    SCHEME,
    SCHEME_ENROL,
    SECONDED,
    SECONDEES_END,
    SECONDEES_IN,
    LeverEvent,
    ran_out,
)

SECONDMENT_EVENTS = (SECONDEES_IN, SECONDEES_END, OUTBOUND_START, OUTBOUND_RETURN)
SECONDEE_POST = POLICY
"""Inbound secondees work in policy posts: the pilot's aim is that local experts "directly
shape national policy" (Cabinet Office, 2025; reference 002)."""
_TAG = 1 << 40
"""Offset of the keyed-draw tags of the secondment events (apart from the other levers')."""


@dataclass
class LeverOutcome:
    """Stock and post changes of one event (rows as the engine's bookkeeping takes them)."""

    minus: list = field(default_factory=list)  # (grade, district, seb) people leaving a place
    plus: list = field(default_factory=list)
    created: tuple = ((), (), ())  # (grade, district, post type) posts opened
    abolished: tuple = ((), (), ())


def spare_slots(scenario) -> np.ndarray:
    """(grade,) spare slots a scenario may need: one per London posting place, and one per
    inbound secondment place of the whole horizon (converted secondees keep theirs)."""
    spare = np.zeros(N_GRADES, np.int64)
    lp = scenario.levers.london_postings
    if lp is not None:
        for g in lp.grades:
            spare[GRADES.index(g)] = lp.places_per_year
    sec = scenario.levers.secondments
    if sec is not None and sec.inbound_per_site > 0:
        from .posts import largest_remainder

        per = largest_remainder(sec.inbound_per_site, np.ones(len(set(sec.inbound_grades))))
        for g, n in zip(sorted({GRADES.index(g) for g in sec.inbound_grades}), per,
                        strict=True):
            spare[g] += int(n) * len(sec.sites) * (scenario.horizon.years + 1)
    return spare


def _pick(key, sl: Slots, pool: np.ndarray, n: int, tag: int) -> np.ndarray:
    """The ``n`` slots of ``pool`` with the smallest draws keyed by their identities
    (:meth:`placesim.population.Slots.ident`): a uniform choice."""
    n = min(int(n), len(pool))
    if n <= 0:
        return pool[:0]
    if n == len(pool):
        return pool
    u = streams.uniforms(key, streams.LEVER_PICK, sl.ident(pool), tag)
    return np.sort(pool[np.argpartition(u, n - 1)[:n]])


@njit(cache=True)
def _end_run_out(step, flag, flag_until):
    """End the programme states that have run out (:func:`placesim.rules.ran_out`), in one
    pass over every slot."""
    for i in range(len(flag)):
        if ran_out(flag[i], flag_until[i], step):
            flag[i] = NONE


@njit(cache=True)
def _end_run_out_at(step, flag, flag_until, slots):
    """:func:`_end_run_out` in ``slots`` only."""
    for i in slots:
        if ran_out(flag[i], flag_until[i], step):
            flag[i] = NONE


@njit(cache=True)
def _in_post_at(grades, places, states, low_only, grade, district, seb, flag, home, ready):
    """The people in a post of their own (not away on a posting or a secondment, not in a
    vacant, held or spare post) at the marked grades, districts (``places``, the spare
    district last) and programme ``states`` (and of low SEB if ``low_only``), in slot
    order. One pass: numpy's masks over every slot, a dozen of them an event, took 6 ms an
    event here."""
    out = np.empty(len(seb), np.int64)
    n = 0
    for i in range(len(seb)):
        s = seb[i]
        if (s >= 0 and home[i] < 0 and ready[i] < NEVER and grades[grade[i]]
                and places[district[i]] and states[flag[i]] and (s == LOW or not low_only)):
            out[n] = i
            n += 1
    return out[:n]


def _reached(key, sl: Slots, reach, tag: int, people: np.ndarray) -> np.ndarray:
    """Those of ``people`` an event of a lever given ``department:`` reaches: each with
    the chance ``reach`` gives their (grade, district) (:mod:`placesim.reach`), by a draw
    keyed by their identity and the event; all of them without ``reach``."""
    if reach is None or not len(people):
        return people
    u = streams.uniforms(key, streams.LEVER_REACH, sl.ident(people), tag)
    return people[u < reach[sl.grade[people], sl.district[people]]]


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
    if event.kind in SECONDMENT_EVENTS:  # they work on their sites' people only
        _secondment_event(event, run, step, out)
        return out
    _end_run_out(step, sl.flag, sl.flag_until)  # (before anyone is enrolled)
    everywhere = np.append(np.ones(sl.n_districts, np.bool_), False)  # (not the spare)
    open_states = np.zeros(N_FLAGS, np.bool_)  # (those a programme takes people from)
    open_states[[NONE, MENTORED]] = True

    tag = step * 8 + event.kind

    def in_post(places=everywhere, low_only=False):
        return _reached(key, sl, event.reach, tag, _in_post_at(
            event.grades, places, open_states, low_only, sl.grade, sl.district, sl.seb,
            sl.flag, sl.home, sl.ready))

    if event.kind == MENTOR_ENROL:
        low = _in_post_at(event.grades, everywhere, open_states, True, sl.grade, sl.district,
                          sl.seb, sl.flag, sl.home, sl.ready)
        mentored = low[sl.flag[low] == MENTORED]
        pool = _reached(key, sl, event.reach, tag, low[sl.flag[low] == NONE])
        # (every mentee is one of the departments' staff)
        staff = len(low) if event.reach is None else float(
            event.reach[sl.grade[low], sl.district[low]].sum())
        n = event.mentees_wanted(staff, len(mentored), whole=True)
        sl.flag[_pick(key, sl, pool, n, tag)] = MENTORED
    elif event.kind == MENTOR_END:
        sl.flag[sl.flag == MENTORED] = NONE
    elif event.kind == SCHEME_ENROL:
        open_ = in_post()
        low = _pick(key, sl, in_post(low_only=True), event.low_seb_places(), tag)
        rest = np.ones(len(open_), np.bool_)  # (the others open: both lists are sorted)
        rest[np.searchsorted(open_, low)] = False
        rest = _pick(key, sl, open_[rest], event.places - len(low), tag)
        picks = np.concatenate([low, rest])
        sl.flag[picks] = SCHEME
        u = streams.uniforms(key, streams.EXPIRY, sl.ident(picks), step)
        sl.flag_until[picks] = np.minimum(
            step + _geometric(u, float(r.flag_hazard[SCHEME])), NEVER)
    elif event.kind == POSTING_ENROL:
        picks = _pick(key, sl, in_post(np.append(~r.is_london, False)), event.places,
                      tag)
        # each pick's post: the next spare slot of their grade, opened in London (moving a
        # spare out of its block leaves the next one first)
        g = sl.grade[picks].astype(np.int64)
        posts = np.empty(len(picks), np.int64)
        for gi in np.unique(g):
            mine = g == gi
            if sl.spare(int(gi)) < mine.sum():
                raise RuntimeError(f"no spare {gi} slot for a London posting")
            first = sl.block_start[gi, sl.n_areas]
            posts[mine] = sl.order[first:first + mine.sum()]
        sl.set_district(posts, np.full(len(posts), r.posting_district))
        sl.ptype[posts] = PRIVATE_OFFICE
        g, d, s = (sl.grade[picks].astype(np.int64), sl.district[picks].astype(np.int64),
                   sl.seb[picks].astype(np.int64))
        _send(picks, posts, step + r.posting_steps, sl.seb, sl.flag, sl.flag_until,
              sl.grade_since, sl.ready, sl.exit_at, sl.home, sl.return_at, sl.cohort)
        there = np.full(len(picks), r.posting_district)
        out.minus.append((g, d, s))
        out.plus.append((g, there, s))
        out.created = (g, there, np.full(len(picks), PRIVATE_OFFICE))
    elif event.kind == POSTING_RETURN:
        posts = np.flatnonzero((sl.home >= 0) & (sl.return_at == step) & (sl.seb >= 0))
        homes = sl.home[posts].astype(np.int64)
        g, d, s = (sl.grade[posts].astype(np.int64), sl.district[posts].astype(np.int64),
                   sl.seb[posts].astype(np.int64))
        u = streams.uniforms(key, streams.EXPIRY, sl.ident(homes), step)
        until = np.minimum(step + _geometric(u, float(r.flag_hazard[POSTED])), NEVER)
        _bring_back(step, posts, homes, until, sl.seb, sl.flag, sl.flag_until, sl.grade_since,
                    sl.ready, sl.exit_at, sl.home, sl.return_at, sl.cohort)
        sl.set_district(posts, np.full(len(posts), sl.n_districts))
        out.minus.append((g, d, s))
        out.plus.append((g, sl.district[homes].astype(np.int64), s))
        out.abolished = (g, d, np.full(len(posts), PRIVATE_OFFICE))
    return out


def _secondment_event(event: LeverEvent, run, step: int, out: LeverOutcome) -> None:
    """Carry out a secondments event on a stochastic run (see the module docstring)."""
    sl, r, key, state = run.slots, run.m.rules, run.key, run.lever_state
    tag = _TAG + (step * 16 + event.kind) * 1024
    if event.kind == SECONDEES_IN:
        gs, ds = [], []
        for d in event.districts:
            for g in np.flatnonzero(event.by_grade):
                new = open_posts(sl, np.array([g]), np.array([d]), np.array([SECONDEE_POST]),
                                 np.array([event.by_grade[g]]))
                u = streams.uniforms(key, streams.RECRUIT, sl.ident(new), step)
                cdf = r.secondee_cdf[d]
                seb = (u >= cdf[0]).astype(np.int64) + (u >= cdf[1])
                sl.seb[new] = HELD
                state.inbound.append((step + r.secondee_steps, new, seb))
                gs.append(np.full(len(new), g))
                ds.append(np.full(len(new), d))
        g, d = np.concatenate(gs), np.concatenate(ds)
        out.created = (g, d, np.full(len(g), SECONDEE_POST))
    elif event.kind == SECONDEES_END:
        ending = [c for c in state.inbound if c[0] == step]
        state.inbound = [c for c in state.inbound if c[0] != step]
        closed = []
        for _, idx, seb in ending:
            stay = (streams.uniforms(key, streams.LEVER_PICK, sl.ident(idx), tag)
                    < r.secondee_conversion)
            g, d = sl.grade[idx].astype(np.int64), sl.district[idx].astype(np.int64)
            kept, gone = idx[stay], idx[~stay]
            _convert(key, step, kept, seb[stay], r.min_steps, r.exit_q, sl.grade, sl.seb,
                     sl.flag, sl.grade_since, sl.ready, sl.exit_at, sl.cohort, sl.spare_from)
            out.plus.append((g[stay], d[stay], seb[stay]))
            state.convert(g[stay], d[stay], seb[stay])
            sl.seb[gone] = VACANT
            sl.set_district(gone, np.full(len(gone), sl.n_districts))
            closed.append((g[~stay], d[~stay]))
        if closed:
            g, d = (np.concatenate(x) for x in zip(*closed, strict=True))
            out.abolished = (g, d, np.full(len(g), SECONDEE_POST))
    elif event.kind == OUTBOUND_START:
        for j, d in enumerate(event.districts):
            # the people of the site's district at the grades, through the (grade, area)
            # blocks; programme states that have run out end first
            a = sl.area_of_district[d]
            cand = np.concatenate([sl.order[sl.block_start[g, a]:sl.block_end[g, a]]
                                   for g in np.flatnonzero(event.grades)])
            cand = np.sort(cand[sl.district[cand] == d])
            _end_run_out_at(step, sl.flag, sl.flag_until, cand)
            f = sl.flag[cand]
            ok = ((sl.seb[cand] >= 0) & (sl.home[cand] < 0) & (sl.ready[cand] < NEVER)
                  & ((f == NONE) | (f == MENTORED)))
            picks = _pick(key, sl, _reached(key, sl, event.reach, tag + j, cand[ok]),
                          event.places, tag + j)
            sl.ready[picks] = NEVER  # away: not promotable, not enrolled; post held
            state.outbound.append((step + r.outbound_steps, picks))
    elif event.kind == OUTBOUND_RETURN:
        back = [c for c in state.outbound if c[0] == step]
        state.outbound = [c for c in state.outbound if c[0] != step]
        for _, picks in back:
            idx = picks[_still_away(sl, picks)]
            u = streams.uniforms(key, streams.EXPIRY, sl.ident(idx), step)
            sl.flag[idx] = SECONDED
            sl.flag_until[idx] = np.minimum(
                step + _geometric(u, float(r.flag_hazard[SECONDED])), NEVER)
            sl.ready[idx] = step + 1


def _still_away(sl, picks: np.ndarray) -> np.ndarray:
    """Which outbound secondees are still away in their post (not left, not replaced)."""
    return (sl.seb[picks] >= 0) & (sl.ready[picks] == NEVER) & (sl.home[picks] < 0)


@njit(cache=True)
def _convert(key, step, idx, seb_new, min_steps, exit_q, grade, seb, flag, grade_since,
             ready, exit_at, cohort, spare_from):
    """Inbound secondees who stay become civil servants in their posts (entrants now; they
    may leave from this step on, as the expected mode has them)."""
    for k in range(len(idx)):
        i = idx[k]
        seb[i] = seb_new[k]
        flag[i] = NONE
        cohort[i] = 0
        grade_since[i] = step
        ready[i] = step + min_steps
        u = streams.uniform(key, streams.EXIT, slot_ident(i, grade[i], spare_from), step)
        exit_at[i] = min(step - 1 + streams.geometric(u, exit_q[grade[i]]), NEVER_STEP)


class LeverState:
    """What the outreach and secondments levers keep during a run, in any mode.

    ``inbound`` and ``outbound`` hold each mode's cohorts (first item: the step they end);
    the rest are the figures :func:`lever_columns` reports, in-year unless said.
    """

    def __init__(self, model):
        lv = model.scenario.levers
        self.on = lv.recruitment_outreach is not None or lv.secondments is not None
        D = model.geo.n_districts
        self.inbound: list = []
        self.outbound: list = []
        self.entrants = np.zeros((N_GRADES, D, N_SEB))  # recruits and conversions
        self.conversions = np.zeros(D)
        # (grade, district) cumulative: the permanent posts secondees who stay have added
        self.converted = np.zeros((N_GRADES, D))
        self.outreach_cost = 0.0  # cumulative
        # person-years of council secondees in campus posts and of civil servants out on
        # secondment, by grade (the appraisal prices them)
        self.secondee_years = np.zeros((2, N_GRADES))
        self.secondee_years_d = np.zeros((2, D))  # (and by district: the sites' averages)

    def add_time(self, in_post: np.ndarray, away: np.ndarray, dt: float) -> None:
        """Add a step (``dt`` years) of the secondees in post and away, (grade, district)
        each (where they work, for those in post; their home, for those away)."""
        for k, x in enumerate((in_post, away)):
            x = np.asarray(x, float)
            self.secondee_years[k] += x.sum(axis=1) * dt
            self.secondee_years_d[k] += x.sum(axis=0) * dt

    def add_recruits(self, rules, step: int, counts: np.ndarray) -> None:
        """Add a step's recruits (grade, district, seb) and the outreach's cost for them."""
        self.entrants += counts
        if rules.outreach_on[step]:  # (by cell as a product: numpy's sum over an axis of
            # three took 55 us a step, a tenth of the expected mode's lever overhead)
            by_cell = counts @ np.ones(counts.shape[-1])
            reached = np.vdot(by_cell, rules.outreach_share_at(step))
            self.outreach_cost += rules.outreach_gbp * float(reached)

    def add_recruit(self, rules, step: int, g: int, d: int, seb: int) -> None:
        """Add one recruit (the reference model's)."""
        self.entrants[g, d, seb] += 1
        if rules.outreach_on[step]:
            self.outreach_cost += rules.outreach_gbp * float(rules.outreach_share_at(step)[g, d])

    def convert(self, g, d, seb, amount=1.0) -> None:
        """Inbound secondees who stay: entrants at their grade and district. (Summed with
        ``np.bincount``: ``np.add.at`` cost 50 us a call, whatever the number of people.)"""
        g, d, seb, amount = (np.ravel(a) for a in np.broadcast_arrays(g, d, seb, amount))
        shape = self.entrants.shape
        cells = np.ravel_multi_index((g, d, seb), shape)
        self.entrants += np.bincount(cells, amount, minlength=self.entrants.size
                                     ).reshape(shape)
        self.conversions += np.bincount(d, amount, minlength=len(self.conversions))
        self.converted += np.bincount(g * shape[1] + d, amount, minlength=shape[0] * shape[1]
                                      ).reshape(shape[:2])

    def year(self, in_post: np.ndarray | None) -> dict:
        """The year's record (``in_post``: (grade, district) council secondees in campus
        posts at year end, kept by district, whose posts the appraisal counts; the year's
        ``secondee_years``, (in post or away, grade), and by district in
        ``secondee_years_by_district``; and ``converted_posts``,
        (grade, district) the posts secondees who stayed have added since the start); starts
        the next year. (Civil servants out at year end were kept too, and read by nothing:
        the figures are the year's averages, from ``secondee_years``.)"""
        if not self.on:  # (entrants: every run reports them, :mod:`placesim.entrants`)
            rec = {"entrants": self.entrants}
            self.entrants = np.zeros_like(self.entrants)
            return rec
        in_post = np.asarray(in_post, float)
        rec = {"entrants": self.entrants, "conversions": self.conversions,
               "converted_posts": self.converted.copy(),
               "secondees_in_post": in_post.sum(axis=0),
               "secondee_years": self.secondee_years,
               "secondee_years_by_district": self.secondee_years_d,
               "outreach_cost_gbp": self.outreach_cost}
        self.entrants = np.zeros_like(self.entrants)
        self.conversions = np.zeros_like(self.conversions)
        self.secondee_years = np.zeros_like(self.secondee_years)
        self.secondee_years_d = np.zeros_like(self.secondee_years_d)
        return rec


def stochastic_year(run) -> dict:
    """:meth:`LeverState.year` of a stochastic run: secondees counted on the slots."""
    if not run.lever_state.on:
        return run.lever_state.year(None)
    return run.lever_state.year(stochastic_secondees(run)[0])


def stochastic_secondees(run) -> tuple[np.ndarray, np.ndarray]:
    """(grade, district) council secondees in post and civil servants out on secondment
    in a stochastic run, counted on the slots (each step's, for their person-years, and at
    the year's end: ``np.bincount``, not ``np.add.at``, which costs 50 us a call)."""
    state, sl = run.lever_state, run.slots
    D = run.m.geo.n_districts

    def count(idx: np.ndarray) -> np.ndarray:
        cell = sl.grade[idx].astype(np.int64) * D + sl.district[idx]
        return np.bincount(cell, minlength=N_GRADES * D).astype(float)

    in_post = sum((count(idx) for _, idx, _ in state.inbound), np.zeros(N_GRADES * D))
    away = sum((count(picks[_still_away(sl, picks)]) for _, picks in state.outbound),
               np.zeros(N_GRADES * D))
    return in_post.reshape(N_GRADES, D), away.reshape(N_GRADES, D)


#: The secondments lever's figures, by site and in all (every run reports the latter: 0
#: without the lever, so its change reads against a baseline).
SECONDEE_METRICS = ("secondees_in_post", "secondee_conversions", "secondees_out")


def lever_figures(model) -> list[tuple[str, str]]:
    """The (metric, group) figures the outreach and secondments levers concern (none when
    neither is on): entrants and low-SEB shares at their places and grades (some of which
    every run reports, :mod:`placesim.entrants`), the outreach's cost, and secondees."""
    rows, _, extra, _ = _lever_layout(model)
    return [(m, group_name(p, g)) for p, g in rows for m in ENTRANT_METRICS] + extra


def _lever_layout(model):
    """The levers' (place, grade or None) rows of entrant figures, the places they and
    every run report (masks), the levers' other labels, and the secondment sites."""
    from .rules import lever_places

    lv, geo = model.scenario.levers, model.geo
    out, sec = lv.recruitment_outreach, lv.secondments
    places = standard_places(model)
    if out is None and sec is None:
        return [], places, [], []
    rows: list = []
    out_g: set[str] = set()
    if out is not None:  # where the outreach works, and the broad places around it, at its
        # grades (each place at every lever's grades gave the outreach's rows the
        # secondments' grades too: SEO rows where the outreach works; review)
        places["outreach"] = lever_places(out.places, geo)
        out_g = set(out.grades)
        rows += [(p, g) for p in ("london", "outside_london", "coldspots", "outreach")
                 for g in (None, *sorted(GRADES.index(x) for x in out_g))]
    sites = []
    if sec is not None:  # the sites, at the secondees' grades and the outreach's
        sites = list(dict.fromkeys(sec.sites))
        at = sorted(GRADES.index(x) for x in out_g | set(sec.inbound_grades))
        rows += [(f"site:{sid}", g) for sid in sites for g in (None, *at)]
    extra = []
    if out is not None:
        extra.append(("outreach_cost_gbp", "all"))
    for metric in SECONDEE_METRICS:
        if sec is not None:
            extra += [(metric, "all")] + [(metric, f"site:{sid}") for sid in sites]
    return rows, places, extra, sites


def lever_columns(model, recs, stock: np.ndarray) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Entrants and the low-SEB shares (:mod:`placesim.entrants`) and the outreach and
    secondments levers' metrics, all years at once.

    Every run reports entrants (recruits, and secondees who stay) and their low-SEB share,
    and the low-SEB share of people in post, in the places of
    :func:`placesim.entrants.standard_rows`; the levers add their own places (the outreach's,
    the secondment sites) at their grades. Then the outreach's cumulative cost; secondees in
    post on the year's average, those who stayed as civil servants in the year, and civil
    servants out on secondment on the year's average: in all (every run: 0 without the
    levers), then at each site. ``stock``: the records' stock stacked, (year, grade, district, seb)
    (:func:`placesim.entrants.columns`).

    Returns
    -------
    labels : list of (metric, group)
    values : numpy.ndarray
        (year, label)
    """
    lever_rows, places, _, sites = _lever_layout(model)
    rows = standard_rows(places)
    seen = set(rows)
    rows += [r for r in lever_rows if r not in seen]
    labels, values = entrant_columns(recs, places, rows, stock)
    site_d = [model.geo.site_district[list(model.geo.site_ids).index(sid)] for sid in sites]
    cols = []
    for rec in recs:  # (every run: the outreach's cost and the secondees, 0 without them)
        lv = rec.levers
        row = [lv.get("outreach_cost_gbp", 0.0)]
        if "conversions" in lv:  # secondees in post and out: the year's average (its
            # person-years), not the year end's, which missed terms within a year (six-month
            # terms from April read 0 in every year; review)
            years_d = lv["secondee_years_by_district"]
            by = (years_d[0], lv["conversions"], years_d[1])
            row += [sum(x[d] for d in site_d) for x in by]
            for x in by:  # (by site: none without the lever)
                row += [x[d] for d in site_d]
        else:
            row += [0.0, 0.0, 0.0]
        cols.append(np.asarray(row, float))
    more = [("outreach_cost_gbp", "all")] + [(m, "all") for m in SECONDEE_METRICS]
    more += [(m, f"site:{sid}") for m in SECONDEE_METRICS for sid in sites]
    return labels + more, np.concatenate([values, np.stack(cols)], axis=1)


def _geometric(u: np.ndarray, q: float) -> np.ndarray:
    """Vectorised :func:`placesim.streams.geometric`."""
    if q >= 1:
        return np.ones(len(u), np.int64)
    if q <= 0:
        return np.full(len(u), NEVER, np.int64)
    return 1 + (np.log1p(-u) / np.log1p(-q)).astype(np.int64)


@njit(cache=True)
def _send(homes, posts, back, seb, flag, flag_until, grade_since, ready, exit_at, home,
          return_at, cohort):
    """Move people from their posts (then held) into London posting posts. Each keeps their
    exit step (theirs, not the post's): a fresh draw counted from the next step spared them
    this step's exits, and the return's another (audit: London EO->G7 1.6% above the
    expected mode's, which counts the exits of both steps)."""
    for k in range(len(homes)):
        h, p = homes[k], posts[k]
        seb[p], flag[p], flag_until[p], grade_since[p] = seb[h], flag[h], flag_until[h], \
            grade_since[h]
        cohort[p] = cohort[h]
        cohort[h] = 0
        ready[p] = NEVER  # not promotable while on the posting
        home[p] = h
        return_at[p] = back
        exit_at[p] = exit_at[h]
        seb[h] = HELD
        flag[h] = NONE
        ready[h] = NEVER
        exit_at[h] = NEVER_STEP


@njit(cache=True)
def _bring_back(step, posts, homes, until, seb, flag, flag_until, grade_since, ready,
                exit_at, home, return_at, cohort):
    """Return people from London postings to the posts held for them, with their exit step
    (see :func:`_send`)."""
    for k in range(len(posts)):
        p, h = posts[k], homes[k]
        seb[h], grade_since[h] = seb[p], grade_since[p]
        cohort[h] = cohort[p]
        cohort[p] = 0
        flag[h] = POSTED
        flag_until[h] = until[k]
        ready[h] = step + 1
        exit_at[h] = exit_at[p]
        _vacate(p, seb, flag, ready, exit_at, home, return_at)
