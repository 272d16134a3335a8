"""Expected-value mode: the same rules as the person-level engine, as cohort flows.

Instead of people it tracks expected headcount by (grade, district, SEB, post type,
programme state) and posts by (grade, district, post type), and applies each step of
:mod:`placesim.rules` in expectation, in the stochastic engine's order: lever events, post
moves, exits, then vacancies filled by lateral moves, promotions and recruits. Every choice
uses the same start-of-step weights as the stochastic engine (:mod:`placesim.flows`): the
share of a vacancy's promotions that comes from each area is that area's candidates' total
weight over the vacancy's total choice mass; within an area, people are taken by their own
weight, one pick after another leaving the pool (each class gives ``1 - exp(-theta * w)`` of
its people a step: successive sampling). People who entered their grade in the last
``min_steps - 1`` steps are not yet eligible (a ring of the steps' entrants); programme
states end at their rates. The followed EOs (:mod:`placesim.cohort`) go with the same
choices, kept by region (:mod:`placesim.cohort_tracer`). It follows the same SimPy timeline,
so the two modes differ only in chance (and in what chance does to small numbers). It
answers in tens of milliseconds and is the app's instant first answer; tests hold the
stochastic mean to it.

A step is two stages of passes over the stocks plus a few (area x district) products on one
BLAS thread, written as compiled loops (:mod:`numba`): with numpy each of its many small array
operations would cost more in dispatch than in arithmetic. Both stages run on two blocks of
grades, at once on two cores (:mod:`placesim.parallel`), with a short serial step between them
(closures and the split of vacancies).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg.cython_blas  # noqa: F401  (the BLAS numba's np.dot calls)
from numba import njit

from . import parallel
from .cohort_tracer import CohortTracer
from .engine import Model, ReplicationResult, RunState, move_pending, run_timeline
from .flows import lateral_table, weight_table
from .levers import SECONDEE_POST
from .population import N_GRADES, N_SEB, N_TYPES, OTHER, PRIVATE_OFFICE, START_TENURE_STEPS
from .rules import (
    FLAGS,
    LOW,
    MENTOR_END,
    MENTOR_ENROL,
    MENTORED,
    NONE,
    OUTBOUND_RETURN,
    OUTBOUND_START,
    POSTED,
    POSTING_ENROL,
    POSTING_RETURN,
    SCHEME,
    SCHEME_ENROL,
    SCS1,
    SECONDED,
    SECONDEES_END,
    SECONDEES_IN,
    department_counts,
)


@dataclass
class _Cohort:
    """People away on London postings. While away they only leave, each grade at its own
    rate, so they are kept as they left, ``start`` (grade, home district, seb, post type,
    state), with the share of each grade still away (``alive``), and what every step reads
    is kept summed: posts held at home (grade, district, post type) and people by (grade,
    seb). (Passes over the whole ``start`` every step took most of a lever scenario's run.)"""

    back: int  # step they return
    start: np.ndarray
    alive: np.ndarray  # (grade,)
    held: np.ndarray  # at the start, (grade, district, post type)
    by_seb: np.ndarray  # at the start, (grade, seb)
    traced: np.ndarray | None = None  # the followed among them at the start (CohortTracer)

    @classmethod
    def leaving(cls, back: int, people: np.ndarray, traced: np.ndarray | None) -> _Cohort:
        return cls(back, people, np.ones(people.shape[0]), *_held_and_by_seb(people), traced)

    def away_by_seb(self) -> np.ndarray:
        """Who is still away, (grade, seb)."""
        return self.by_seb * self.alive[:, None]


_NO_STOCKS = np.zeros((0, 0, 0, 0, 0))
"""An empty stocks array, for a kernel's argument that is not read."""
_NO_CELLS = np.zeros((0, 0, 0))
"""No posts given by (grade, origin, post type): a wave's posts taken alike from its cells."""
_NO_REACH = np.zeros((0, 0))
"""No (grade, district) weights: a lever event reaches everyone it selects."""


class _ExpectedRun(RunState):
    """Expected-value state with the interface :func:`placesim.engine.run_timeline` drives."""

    def __init__(self, model: Model, follow_cohort: bool = True):
        r, geo = model.rules, model.geo
        self.posts3 = model.baseline_posts3.astype(float)
        super().__init__(model, model.baseline_stock.astype(float))
        # closures pending are a random count in the engine: their variance by pool, so that
        # what random vacancies take from them is the mean over both (_split_grades)
        self.closing_var = np.zeros(len(self.closing))
        # programme states in use, compactly numbered (state none is 0)
        used = [NONE] + [f for f, lever in ((MENTORED, "mentoring"),
                                            (SCHEME, "talent_scheme_ring_fence"),
                                            (POSTED, "london_postings"))
                         if getattr(model.scenario.levers, lever) is not None]
        sec = model.scenario.levers.secondments
        if sec is not None and sec.outbound_per_site > 0 and sec.promotion_multiplier != 1:
            used.append(SECONDED)  # (a multiplier of 1 would change nothing: no state)
        F = self.Fb = len(used)  # (flag_index numbers them)
        self.flags = np.array(used)
        self.flag_index = np.full(len(FLAGS), -1)
        self.flag_index[used] = np.arange(F)
        open_states = self.flag_index[[NONE, MENTORED]]
        self.open_states = open_states[open_states >= 0]  # (a programme takes people from)
        self.people = np.zeros(model.baseline_stock4.shape + (F,))
        self.people[..., 0] = model.baseline_stock4
        self.M = r.min_steps
        # ring[j], j < M: people who entered their grade at a step e ≡ j (mod M), not yet
        # eligible, as entered (exits thin them by survival[g] ** (k - e) by step k); ring[M]:
        # all of them that are not eligible at this step, so thinned. The first stage reads
        # only ring[M] (reading every slot took it out of the core's cache and twice as
        # long); each step's end adds its entrants to it and takes out those eligible next.
        # Every change of the slots (lever events, moves, closures, states ending) is made
        # to ring[M] too: each acts alike on every entry of a grade, so on sums of them.
        self.survival = 1.0 - r.exit_q
        # at the start, time in grade is uniform over 16 steps: slot j holds those who
        # entered at step j - M, thinned by exits since
        thin = np.array([self.survival ** ((-j) % self.M) for j in range(self.M)])
        self.ring, self.state_live = _start_state(self.people, thin, float(START_TENURE_STEPS))
        # the followed EOs (placesim.cohort), by region
        self.tracer = (CohortTracer(self.people, self.ring, geo.area, geo.n_areas,
                                    geo.is_london, watched_districts(model))
                       if follow_cohort else None)
        if self.tracer is not None:
            self.cohort_size[1:] = self.tracer.size
        self.blocked = None  # people back from a posting this step: not promotable yet
        self._spare = None  # (the last step's blocked array, zeroed and used again)
        self.held = np.zeros_like(self.posts3)
        self.cohorts: list[_Cohort] = []
        self.away: list[_Away] = []  # outbound secondees, at their sites
        wt = weight_table(r)[:, :, :, self.flags, :]  # (G, S, T, F, vp)
        self.wtab = np.ascontiguousarray(wt)
        self.flag_after = np.ascontiguousarray(self.flag_index[r.flag_after[self.flags]])
        self.flag_hazard = r.flag_hazard[self.flags]
        # the (grade, state) pairs that can hold anyone: states a lever event has put
        # people in, and where promotions carry them; every pass skips the others
        self.index = _class_index(N_SEB, N_TYPES, F)
        # lateral-move weights by (seb, post type, state) class j, vacancy is policy: the same
        # for every state (worked out once here, read by both stages)
        self.ltj = np.ascontiguousarray(np.broadcast_to(
            lateral_table(r)[:, :, None, :], (N_SEB, N_TYPES, F, 2)).reshape(-1, 2))
        self.state_live[:, 0] = True
        self._classes()
        self._split_blocks()
        self.adv_area = np.where(geo.area_is_london, r.london_advantage, 1.0)
        self.leave = r.area_leave
        self.pull = np.where(geo.is_london, r.london_pull, 1.0)
        self.kernel = np.ascontiguousarray(r.kernel.astype(np.float64))  # (A, D)
        self.kernel_t = np.ascontiguousarray(self.kernel.T)
        self.recruit_pdfs = tuple(np.diff(c, axis=2, prepend=0.0)
                                  for c in (r.recruit_cdf, r.outreach_cdf))
        self.secondee_pdf = np.diff(r.secondee_cdf, axis=1, prepend=0.0)
        by_year = r.outreach_cdf_by_year  # (an outreach given department:, by year)
        self.outreach_pdfs = (None if by_year is None
                              else np.diff(by_year, axis=3, prepend=0.0))
        self.national_pdf = np.diff(r.national_cdf, axis=1, prepend=0.0)
        S, T, G, D = N_SEB, N_TYPES, N_GRADES, geo.n_districts
        J, A = S * T * F, geo.n_areas
        self.scratch = (np.empty((G, D, J)), np.empty((G, A, J)), np.empty((G, D, T)),
                        np.empty((G - 1, A, S * F, 2)), np.empty((G, A, S * F, 2)),
                        np.empty((G, D), np.bool_), np.empty((G, D, T)), np.empty((G, D, T)),
                        np.empty((G, D, T)))
        # the year's moves to and from London for promotion, by seb: by grade (each block
        # adds to its own grades' rows; summed at the year's end)
        self.by_grade = (np.zeros((G, S)), np.zeros((G, S)))
        # the followed people's stocks, ring and eligible, and their grades, as the step's
        # passes read them (nobody, if none is followed)
        self._followed = self.tracer or CohortTracer.nobody(self.people, self.ring)
        tr = self._followed
        self._traced = (tr.people, tr.ring, np.zeros_like(tr.people), tr.reached, tr.lo,
                        tr.hi, tr.region, tr.region_area)
        self._wave_cells: dict[int, tuple] = {}
        self.moved_cells: dict[tuple[int, int], np.ndarray] = {}  # (wave, year) -> posts

    # --- timeline interface ----------------------------------------------------------------
    def available(self, plan) -> float:
        movable = (self.posts3 - self.held)[plan.grade_mask][:, plan.origin_mask]
        return float(movable[..., plan.type_mask].sum())

    def result(self) -> ReplicationResult:
        columns = {"wave": [], "year": [], "from": [], "to": [], "posts": []}
        for (wave, year), amount in self.moved_cells.items():
            origins, districts = self._wave_cells[wave][:2]
            i, j = np.nonzero(amount)
            for column, values in zip(columns.values(), (
                    np.full(len(i), wave), np.full(len(i), year), origins[i],
                    districts[j], amount[i, j]), strict=True):
                column.append(values)
        moves = pd.DataFrame({name: np.concatenate(parts) if parts else np.empty(0, np.int64)
                              for name, parts in columns.items()})
        return ReplicationResult(replication=0, years=self.records, moves=moves)

    # --- one step ------------------------------------------------------------------------
    def step(self):
        r, geo = self.m.rules, self.m.geo
        k = self.step_index
        M = self.M
        # (slot k % M, whose entrants of step k - M are eligible from now on, was cleared at
        # the end of the last step's fill, for this step's entrants; the programme states
        # that end at this step ended then too)
        for event in r.events_at(k):
            self._event(event, k)
        self._post_schedule(k)
        move_pending(self, lambda plan, per_dest, _: self._move(plan, per_dest))
        for c in self.cohorts:  # people away leave at the same rates, counted where they are
            self.exits[:, r.posting_district] += c.away_by_seb() * r.exit_q[:, None]
            c.alive *= self.survival
        for c in self.away:  # outbound secondees leave at the same rates, counted at home
            x = c.people * r.exit_q[:, None, None, None, None]
            c.people -= x
            self.exits[:, c.districts] += x.sum(axis=(3, 4))
            if c.traced is not None:
                c.traced *= self.survival[None, :, None, None]
        if self.cohorts or self.away:
            self.held = self._held()
        fresh = self.ring[k % M]  # this step's entrants into a new grade join the ring
        any_blocked = self.blocked is not None
        blocked = self.blocked if any_blocked else fresh  # (not read when nobody is)
        self.blocked = None
        pp = r.posts
        recruited = np.zeros(self.stock.shape)
        el, ea, vac, wsf, lsf, live, v_lat, v_pro, v_ext = self.scratch
        # two stages, each on two blocks of grades at once on two cores (the first ends with
        # the block's closures and split of vacancies: a closure pool is of one grade; they
        # ran between the stages, in this thread alone, 3% of a run). (The first stage, about a
        # quarter of the second, ran in this thread alone while waking a pool thread for half
        # of it cost more than it saved; with BLAS kept to one thread, runs are about 3%
        # shorter this way: the median of ten same-process comparisons of 20-30 pairs, in
        # five shipped scenarios, each between 0.90 and 1.10)
        t_people, t_ring, t_el, t_reached, t_lo, t_hi, t_region, t_area = self._traced
        t_back = None if self.tracer is None else self.tracer.blocked
        closed = sum(parallel.map_spans(_fill_exits, self.blocks, (
            self.people, self.ring, blocked, any_blocked, r.exit_q, self.exits,
            self.posts3, self.held, self.wtab, self.ltj, self.adv_area, geo.area, self.index,
            self.classes, el, ea, vac, wsf, lsf, live,
            (t_people, t_ring, t_people if t_back is None else t_back, t_back is not None,
             t_el, t_lo, t_hi),
            (r.lateral_share, r.internal_share, pp.pool_grade, pp.pool_mask, pp.pool_types,
             self.closing, self.closing_var, v_lat, v_pro, v_ext))))
        across = parallel.map_spans(_fill_moves, self.blocks, (
            self.people, fresh, self.ring, (k + 1) % M, self.index, self.classes,
            self.exposure, self.promotions, recruited, self.cross_area, *self.by_grade,
            self.wtab, self.ltj, self.flag_after, self.adv_area, self.leave, self.kernel,
            self.kernel_t, geo.area, geo.is_london, self.pull, r.reach, r.willingness,
            float(r.will_mult[k]), float(r.scs_low_target[k]), r.freeze_at(k),
            self._recruit_pdf(k), 1.0 / r.steps_per_year, el, ea, wsf,
            lsf, live, v_lat, v_pro, v_ext, self.flag_hazard, r.exit_q,
            (t_people, t_ring, t_el, t_reached, t_lo, t_hi, t_region, t_area)))
        if any_blocked:
            self._spare = blocked
        if self.tracer is not None:
            self.tracer.blocked = None
            self.cohort_reached[1:] = self.tracer.reached
        self._pay_support(k, sum(across))
        self.lever_state.add_recruits(r, k, recruited)  # (every run reports entrants)
        for c in self.away:  # (counted at home, by seb)
            self.exposure[:, c.districts] += c.people.sum(axis=(3, 4)) / r.steps_per_year
        if self.lever_state.inbound or self.away:  # the step's secondees
            self.lever_state.add_time(*self._secondees(), 1.0 / r.steps_per_year)
        if closed > 0:
            self.posts_closed += closed
            self._posts_version += 1
        for c in self.cohorts:
            self.exposure[:, r.posting_district] += c.away_by_seb() / r.steps_per_year
        self.step_index += 1

    def _recruit_pdf(self, k: int) -> np.ndarray:
        """(grade, district, seb) SEB mix of a step's recruits (:meth:`Rules.recruit_cdf_at`;
        with an outreach given ``department:``, that year's blend)."""
        r = self.m.rules
        if self.outreach_pdfs is None or not r.outreach_on[k]:
            return self.recruit_pdfs[int(r.outreach_on[k])]
        return self.outreach_pdfs[r.year_index(k)]

    def year_end(self, year_number: int):
        to_london, from_london = self.by_grade  # (the year's, by grade)
        self.to_london += to_london.sum(axis=0)
        self.from_london += from_london.sum(axis=0)
        to_london[:] = from_london[:] = 0.0
        posts = self.posts3.copy()
        away = sum((c.away_by_seb() for c in self.cohorts), np.zeros((N_GRADES, N_SEB)))
        self.stock = _reported(self.people, *self.classes[:2])
        # people away on postings are counted where their posting is, in posts held there
        self.stock[:, self.m.rules.posting_district] += away
        posts[:, self.m.rules.posting_district, PRIVATE_OFFICE] += away.sum(axis=1)
        for c in self.away:
            self.stock[:, c.districts] += c.people.sum(axis=(3, 4))
        in_post, _ = self._secondees()
        posts[:, :, SECONDEE_POST] += in_post
        self._record_year(year_number, posts, self.lever_state.year(in_post),
                          away.sum(axis=1))

    def _secondees(self) -> tuple[np.ndarray, np.ndarray]:
        """(grade, district) council secondees in post and civil servants out on secondment
        now, the latter at their homes (each step's person-time and the year's record read
        them; the reference model's ``_secondees`` counts its people so)."""
        shape = self.posts3.shape[:2]
        in_post, away = np.zeros(shape), np.zeros(shape)
        for _, g, d, n in self.lever_state.inbound:
            in_post[g, d] += n.sum()
        for c in self.away:
            away[:, c.districts] += c.people.sum(axis=(2, 3, 4))
        return in_post, away

    # --- lever events ----------------------------------------------------------------------
    def _enter(self, state: int, grades: np.ndarray) -> None:
        """Note that people of programme state ``state`` (a :data:`FLAGS` number) may be in
        ``grades`` (a mask) from now on."""
        i = self.flag_index[state]
        assert i >= 0, f"state {FLAGS[state]} is not in use in this run"
        self.state_live[:, i] |= grades
        self._classes()
        self._split_blocks()

    def _classes(self) -> None:
        """The classes each grade can hold (:func:`_live_classes`), from ``state_live``,
        carried up the grades by promotion (a state can be kept, or end, on promotion)."""
        live = self.state_live
        for g in range(1, N_GRADES):
            live[g, self.flag_after[live[g - 1], g]] = True
        self.classes = _live_classes(live, N_SEB, N_TYPES)

    def _split_blocks(self) -> None:
        """The two blocks of grades a step's fill runs on (:func:`_fill_exits`,
        :func:`_fill_moves`), at once where there are two threads: split where the classes
        each grade holds times its districts with posts are about even, so worked out again
        whenever a lever's state makes a grade hold more classes (on the shipped lever
        scenarios the split at the start left the upper block half as long again as the
        lower once the states were in). The blocks are the same whatever the number of
        threads (so are the results)."""
        G = N_GRADES
        in_use = (self.posts3.sum(axis=2) > 0).sum(axis=1)
        work = np.cumsum(self.classes[1] * in_use)
        cut = int(np.clip(np.argmin(np.abs(work - work[-1] / 2)) + 1, 1, G - 1))
        # the calling thread takes the first block at once, a pool thread the other some tens
        # of microseconds later: the upper grades go first, as their block takes longer
        # (each grade's pass has a part the estimate leaves out, its products over every
        # district; in the shipped scenarios, the median run is 3-16% faster this way round)
        self.blocks = [(cut, G), (0, cut)]

    def _event(self, event, k: int) -> None:
        """Carry out a lever event in expectation (see :mod:`placesim.levers`)."""
        p, fi = self.people, self.flag_index
        grades = event.grades
        everywhere = np.ones(p.shape[1], np.bool_)
        low_seb = np.arange(N_SEB) == LOW
        open_states = self.open_states
        reach = event.reach  # (a lever given department:, placesim.reach)
        weights = _NO_REACH if reach is None else reach
        if event.kind == MENTOR_ENROL:
            none, ment = fi[NONE], fi[MENTORED]
            states = np.array([none, ment])
            by_seb, _ = _state_totals(p, grades, everywhere, states, _NO_REACH)
            pool, already = by_seb[LOW]
            staff = pool + already  # (the departments' low-SEB staff: every mentee is theirs)
            if reach is not None:
                pool, staff = _state_totals(p, grades, everywhere, states, reach)[0][LOW]
                staff += pool
            n = event.mentees_wanted(staff, already, whole=False)
            frac = min(n / pool, 1.0) if pool > 0 else 0.0
            self._enter(MENTORED, grades)
            self._shift(grades, everywhere, frac * low_seb, np.array([none]), ment,
                        reach=reach)
        elif event.kind == MENTOR_END:
            every_grade = np.ones(p.shape[0], np.bool_)
            self._shift(every_grade, everywhere, np.ones(N_SEB), np.array([fi[MENTORED]]),
                        fi[NONE])
        elif event.kind == SCHEME_ENROL:
            by_seb, every_seb = _state_totals(p, grades, everywhere, open_states, weights)
            low_pool = sum(by_seb[LOW])
            total = sum(every_seb)
            n_low = min(event.low_seb_places(), low_pool)
            f_low = n_low / low_pool if low_pool > 0 else 0.0
            rest = total - n_low
            f_rest = min((event.places - n_low) / rest, 1.0) if rest > 0 else 0.0
            frac = np.full(N_SEB, f_rest)
            frac[LOW] = f_low + (1 - f_low) * f_rest
            self._enter(SCHEME, grades)
            self._shift(grades, everywhere, frac, open_states, fi[SCHEME], reach=reach)
        elif event.kind == POSTING_ENROL:
            regional = ~self.m.geo.is_london
            pool = sum(_state_totals(p, grades, regional, open_states, weights)[1])
            frac = np.full(N_SEB, min(event.places / pool, 1.0) if pool > 0 else 0.0)
            away = np.zeros_like(p)
            traced = self._shift(grades, regional, frac, open_states, -1, away, reach=reach)
            self.cohorts.append(_Cohort.leaving(k + self.m.rules.posting_steps, away, traced))
            self._posts_version += 1
        elif event.kind == POSTING_RETURN:
            back = [c for c in self.cohorts if c.back == k]
            self.cohorts = [c for c in self.cohorts if c.back != k]
            for c in back:
                self._enter(POSTED, c.by_seb.any(axis=1))
                # promotable from the next step
                _come_back(p, self._blocked(), c.start, c.alive, fi[POSTED])
                if c.traced is not None:
                    self.tracer.come_back(c.traced * c.alive[None, :, None, None],
                                          fi[POSTED])
            self._posts_version += 1
        elif event.kind in (SECONDEES_IN, SECONDEES_END, OUTBOUND_START, OUTBOUND_RETURN):
            self._secondment_event(event, k)
        self.held = self._held()

    def _shift(self, grades, districts, frac, srcs, dst, out=_NO_STOCKS, people=True,
               reach=None, follow=True) -> np.ndarray | None:
        """:func:`_shift_stocks` on the people (unless not ``people``) and every slot of the
        ring, on the two blocks of grades at once; ``frac`` by seb, or by (district, seb),
        times ``reach`` by (grade, district) if given. The followed people follow
        (:meth:`CohortTracer.follow`; unless not ``follow``): returns those of them who went
        out (``dst`` < 0), if any are followed."""
        if frac.ndim == 1:
            frac = np.broadcast_to(frac, (len(districts), len(frac)))
        watched = self._watch(grades, districts, srcs) if follow else None
        parallel.map_spans(_shift_stocks, self.blocks, (
            self.people, self.ring, people, grades, districts, frac, srcs, dst, out,
            _NO_REACH if reach is None else reach))
        return self._follow(watched, dst)

    def _watch(self, grades, districts, srcs) -> tuple | None:
        """Before a change to the ``districts`` marked that moves people of ``grades`` (a
        mask) in states ``srcs``: what the followed people need to follow it
        (:meth:`CohortTracer.watch`; None if none is followed there)."""
        if self.tracer is None:
            return None
        return self.tracer.watch(self.people, self.ring, grades, districts, srcs)

    def _follow(self, watched: tuple | None, dst: int) -> np.ndarray | None:
        """The followed people follow the change :meth:`_watch` ``watched`` before, which
        moved people to state ``dst`` or out: returns those who went out."""
        if watched is None:
            return None
        return self.tracer.follow(watched, self.people, self.ring, dst)

    def _held(self) -> np.ndarray:
        """Posts held for people away (London postings, outbound secondments)."""
        held = _held(self.cohorts, self.posts3.shape)
        for c in self.away:
            held[:, c.districts] += c.people.sum(axis=(2, 4))
        return held

    def _blocked(self) -> np.ndarray:
        """The people not promotable this step (back from away, converted, or entrants who
        filled empty posts), by (grade, district, seb, post type, state): zeros at the
        step's first use. (The last such step's array, zeroed: a new one each time cost
        the first touch of every page, a fortieth of a lever scenario's run.)"""
        if self.blocked is None:
            if self._spare is None:
                self.blocked = np.zeros_like(self.people)
            else:
                self.blocked, self._spare = self._spare, None
                self.blocked.fill(0.0)
        return self.blocked

    def _secondment_event(self, event, k: int) -> None:
        """A secondments event in expectation (see :mod:`placesim.levers`)."""
        r, p, fi, state = self.m.rules, self.people, self.flag_index, self.lever_state
        if event.kind == SECONDEES_IN:
            for d in event.districts:
                for g in np.flatnonzero(event.by_grade):
                    state.inbound.append((k + r.secondee_steps, int(g), int(d),
                                          event.by_grade[g] * self.secondee_pdf[d]))
        elif event.kind == SECONDEES_END:
            ending = [c for c in state.inbound if c[0] == k]
            state.inbound = [c for c in state.inbound if c[0] != k]
            stays = []
            for _, g, d, n in ending:
                stay = n * r.secondee_conversion
                stays.append(stay)
                p[g, d, :, SECONDEE_POST, 0] += stay
                self.posts3[g, d, SECONDEE_POST] += stay.sum()
                # entrants now: not eligible for min_steps (this step: blocked; then the ring)
                self.ring[k % self.M, g, d, :, SECONDEE_POST, 0] += stay * self.survival[g]
                self._blocked()[g, d, :, SECONDEE_POST, 0] += stay
            if ending:  # (counted at once: each call sums over every (grade, district, seb))
                cells = np.array([(g, d) for _, g, d, _ in ending])
                state.convert(cells[:, :1], cells[:, 1:], np.arange(N_SEB), np.array(stays))
            self._posts_version += 1
        elif event.kind == OUTBOUND_START:
            open_states = self.open_states
            districts = np.unique(event.districts)
            away = np.zeros((p.shape[0], len(districts)) + p.shape[2:])
            sites = np.zeros(p.shape[1], bool)
            sites[list(event.districts)] = True
            watched = self._watch(event.grades, sites, open_states)
            # site by site, as the stochastic engine picks; in the ring, the shares taken
            # at once, in rounds (a district with two sites is taken from twice)
            rounds: list[np.ndarray] = []  # round r: the share each district's r-th site takes
            for n, d in enumerate(event.districts):
                j = int(np.searchsorted(districts, d))
                sel = (event.grades if event.reach is None
                       else event.grades * event.reach[:, d])[:, None, None]
                pool = sum((p[:, d, :, :, i] * sel).sum() for i in open_states)
                frac = min(event.places / pool, 1.0) if pool > 0 else 0.0
                for i in open_states:
                    x = p[:, d, :, :, i] * sel * frac
                    away[:, j, :, :, i] += x
                    p[:, d, :, :, i] -= x
                r_d = event.districts[:n].count(d)  # (sites before this one there)
                if r_d == len(rounds):
                    rounds.append(np.zeros((p.shape[1], N_SEB)))
                rounds[r_d][d] = frac
            for share in rounds:
                self._shift(event.grades, share.any(axis=1), share, open_states, -1,
                            people=False, reach=event.reach, follow=False)
            traced = self._follow(watched, -1)
            self.away.append(_Away(k + r.outbound_steps, districts, away, traced))
            self._posts_version += 1
        elif event.kind == OUTBOUND_RETURN:
            back = [c for c in self.away if c.back == k]
            self.away = [c for c in self.away if c.back != k]
            to = fi[SECONDED] if fi[SECONDED] >= 0 else fi[NONE]
            for c in back:
                self._enter(SECONDED if fi[SECONDED] >= 0 else NONE,
                            c.people.any(axis=(1, 2, 3, 4)))
                home = c.people.sum(axis=-1)  # (G, site, S, T)
                blocked = self._blocked()
                for j, d in enumerate(c.districts):
                    p[:, d, :, :, to] += home[:, j]
                    blocked[:, d, :, :, to] += home[:, j]
                if c.traced is not None:
                    self.tracer.come_back(c.traced, to)
            self._posts_version += 1

    # --- posts opened and closed -----------------------------------------------------------
    def _post_schedule(self, k: int) -> None:
        """This step's scheduled post changes, in expectation (see the stochastic engine's
        ``_post_schedule``): posts opened, closures added, deadlines met by closing vacant
        posts first and then occupied ones, their holders made redundant."""
        pp = self.m.rules.posts
        if k in pp.creates:
            g, d, t, n = pp.creates[k]
            np.add.at(self.posts3, (g, d, t), n)
            self.posts_created += float(n.sum())
            self._posts_version += 1
        if k in pp.closes:
            pool, n = pp.closes[k]
            np.add.at(self.closing, pool, n)
        for p in self._deadline_pools(k):
            g, mask, types = pp.pool_grade[p], pp.pool_mask[p], pp.pool_types[p]
            watched = self._watch(np.arange(N_GRADES) == g, mask, np.arange(self.Fb))
            posts = self.posts3[g][:, types] * mask[:, None]  # (D, T)
            occupied = self.people[g].sum(axis=(1, 3))[:, types] * mask[:, None]
            held = self.held[g][:, types] * mask[:, None]
            vacant = np.maximum(posts - held - occupied, 0.0)
            # the closures pending (random, with the variance kept) take the vacant posts
            # first and the rest close occupied ones
            rest, _ = _positive_part(float(self.closing[p]) - vacant.sum(),
                                     float(self.closing_var[p]))
            shut_vacant = float(self.closing[p]) - rest
            share_occ = min(rest / occupied.sum(), 1.0) if occupied.sum() else 0
            gone = np.zeros_like(self.people[g])
            gone[:, :, types] = self.people[g][:, :, types] * (share_occ * mask)[:, None, None,
                                                                                  None]
            self.people[g] -= gone
            for j in range(self.M + 1):  # (the slots and their sum, ring[M])
                self.ring[j, g][:, :, types] *= (1 - share_occ * mask)[:, None, None, None]
            closing = vacant * (shut_vacant / max(vacant.sum(), 1e-12)) + occupied * share_occ
            self.posts3[g][:, types] -= closing
            self.posts_closed += float(closing.sum())
            self.closing[p] = self.closing_var[p] = 0.0
            lost = gone.sum(axis=(0, 2, 3))
            self.redundancies[g] += lost
            if self.pool_is_wave[p]:
                self.reloc_leavers[g] += lost
                self.wave_redundancies[g] += lost
            self._posts_version += 1
            self._follow(watched, -1)  # (the followed made redundant leave)

    # --- relocation waves ------------------------------------------------------------------
    def _cells(self, plan) -> tuple:
        cells = self._wave_cells.get(plan.index)
        if cells is None:
            groups = [np.asarray(d, np.int64) for d, _, _ in plan.destinations]
            entries = np.concatenate(groups)
            group = np.repeat(np.arange(len(groups)), [len(d) for d in groups])
            districts, of_entry = np.unique(entries, return_inverse=True)
            size = np.array([len(d) for d in groups], float)[group]
            cells = (np.flatnonzero(plan.origin_mask), districts, entries, group, size,
                     of_entry)
            self._wave_cells[plan.index] = cells
        return cells

    def _move(self, plan, per_dest):
        """Move posts of one wave tranche to all its destinations at once, in expectation."""
        geo = self.m.geo
        origins, districts, entries, group, size, of_entry = self._cells(plan)
        if plan.recreate:
            g, d, t, n = self._recreate_posts(plan, per_dest)
            np.add.at(self.posts3, (g, d, t), n)
            self.posts_created += float(n.sum())
            self._posts_version += 1
            # the roles moved, by (origin, destination) at once (PostPlan.recreated_from's
            # rows, summed)
            amount = self.m.rules.posts.recreated_by_cell(
                plan.index, g, np.searchsorted(districts, d), n, len(districts))
            self._count_cells(plan, origins, districts, amount)
            key = (plan.index, self.year)
            self.moved_cells[key] = self.moved_cells.get(key, 0) + amount
            return
        n = float(per_dest.sum())
        f = per_dest[group] / n / size  # share of the tranche going to each entry
        take = f > 0
        if not take.any():
            return
        support, _ = self.relocation_support(plan)
        if plan.backfill_anywhere:
            self._blocked()  # (the entrants who fill empty posts)
        given = _NO_CELLS  # (any matching post alike: the same share of every cell)
        if plan.dept_posts is not None:  # its departments' posts: so many from each cell
            movable = np.maximum(self.posts3 - self.held, 0.0)[:, origins]
            cells = (plan.grade_mask[:, None, None] & plan.type_mask[None, None, :]
                     & (movable > 0))
            given = np.zeros(movable.shape)
            given[cells] = department_counts(plan.dept_posts[:, origins][cells],
                                             movable[cells], n)
        movers, leavers, moved_o = _move_kernel(
            self.people, self.ring, self.posts3, self.held, origins, plan.grade_mask,
            plan.type_mask, n, entries[take], f[take], geo.distance_km, plan.accept_by_grade,
            plan.per_100km, support, plan.high_seb_multiplier, plan.redeploy_share,
            plan.backfill_anywhere, self.national_pdf, geo.area, geo.n_areas,
            self.ring_slot(), self.blocked if self.blocked is not None else _NO_STOCKS,
            self.survival, given, *self._traced_stocks())
        if not moved_o.any():
            return
        self._posts_version += 1
        share = np.bincount(of_entry, weights=f, minlength=len(districts))
        amount = moved_o[:, None] * share[None, :]
        key = (plan.index, self.year)
        self.moved_cells[key] = self.moved_cells.get(key, 0) + amount
        self._count_cells(plan, origins, districts, amount)
        self._count_relocation(plan, movers, leavers)

    def _traced_stocks(self) -> tuple:
        """The followed people and their ring with the class axis split as the people's
        (seb, post type, state), and their grades (nobody, if none is followed)."""
        tr = self._followed
        split = (N_SEB, N_TYPES, self.Fb)
        return (tr.people.reshape(tr.people.shape[:3] + split),
                tr.ring.reshape(tr.ring.shape[:4] + split), tr.lo, tr.hi, tr.region,
                tr.region_area)

    def _count_cells(self, plan, origins, districts, amount) -> None:
        """:meth:`_count_moves` of a tranche's (origin, destination) ``amount``, a row for each
        cell (built by repeat and tile: ``np.meshgrid`` took three times as long)."""
        self._count_moves(plan, np.repeat(origins, len(districts)),
                          np.tile(districts, len(origins)), amount.ravel())

    def ring_slot(self) -> int:
        """Where this step's entrants go in the ring."""
        return self.step_index % self.M


def watched_districts(model: Model) -> np.ndarray:
    """(district,) the districts a change to particular districts can touch, where it does
    not take the same share of a whole area, each its own region of the followed people
    (:class:`CohortTracer`): the origins of the waves that move people (every origin, for a
    wave that takes so many from each department's cells), the districts of the pools that
    close at a deadline, the outbound secondments' sites; and every district, when a lever
    reaches a department's staff (its share differs by district)."""
    r, area = model.rules, model.geo.area

    def part_of_an_area(mask: np.ndarray) -> np.ndarray:
        outside = np.bincount(area[~mask], minlength=model.geo.n_areas) > 0
        return mask & outside[area]

    watched = np.zeros(model.geo.n_districts, bool)
    for plan in r.waves:
        if not plan.recreate:
            watched |= (plan.origin_mask if plan.dept_posts is not None
                        else part_of_an_area(np.asarray(plan.origin_mask, bool)))
    for mask, deadline in zip(r.posts.pool_mask, r.posts.pool_deadline, strict=True):
        if deadline >= 0:
            watched |= part_of_an_area(np.asarray(mask, bool))
    for event in r.events:
        if event.reach is not None:
            watched[:] = True
        if event.kind == OUTBOUND_START:
            sites = np.zeros(len(area), bool)
            sites[list(event.districts)] = True
            watched |= part_of_an_area(sites)
    return watched


@dataclass
class _Away:
    """Outbound secondees: (grade, site district, seb, post type, state) at ``districts``."""

    back: int  # step they return
    districts: np.ndarray
    people: np.ndarray
    traced: np.ndarray | None = None  # the followed among them (CohortTracer)


def _held(cohorts: list[_Cohort], shape) -> np.ndarray:
    """Posts held at home for people away on postings: (grade, district, post type)."""
    out = np.zeros(shape)
    for c in cohorts:
        out += c.held * c.alive[:, None, None]
    return out


@njit(cache=True)
def _start_state(people, thin, steps):
    """The ring of recent entrants at the start (see :class:`_ExpectedRun`): slot ``j``,
    ``0 < j < M``, holds ``people / steps / thin[j]`` (as entered, ``thin[j]`` by grade the
    survival since), slot 0 nobody, slot ``M`` the sum of the others as thinned; and the
    states (last axis) each grade holds anyone in. One pass, writing each slot once
    (numpy's passes, one temporary each, took most of a run's start)."""
    M = thin.shape[0]
    G, F = people.shape[0], people.shape[-1]
    p = people.reshape(G, -1)
    ring = np.zeros((M + 1,) + people.shape)
    rg = ring.reshape(M + 1, G, -1)
    live = np.zeros((G, F), np.bool_)
    back = 1.0 / thin  # (a product where a division a slot took most of the time)
    for g in range(G):
        for i in range(p.shape[1]):
            if p[g, i] == 0:  # (about two classes in three: every slot stays 0)
                continue
            live[g, i % F] = True
            x = p[g, i] / steps
            total = 0.0
            for j in range(1, M):
                y = x * back[j, g]
                rg[j, g, i] = y
                total += y * thin[j, g]
            rg[M, g, i] = total
    return ring, live


@njit(cache=True)
def _held_and_by_seb(people):
    """Sums of ``people`` (grade, district, seb, post type, state) by (grade, district, post
    type) and by (grade, seb), in one pass (numpy's sums over those axes took 2 ms each
    posting a lever scenario makes)."""
    G, D, S, T, F = people.shape
    held = np.zeros((G, D, T))
    by_seb = np.zeros((G, S))
    for g in range(G):
        for d in range(D):
            for s in range(S):
                for t in range(T):
                    x = 0.0
                    for f in range(F):
                        x += people[g, d, s, t, f]
                    held[g, d, t] += x
                    by_seb[g, s] += x
    return held, by_seb


@njit(cache=True)
def _state_totals(arr, grades, districts, states, reach):
    """People of ``arr`` (grade, district, seb, post type, state) in each programme state of
    ``states``, in the grades and districts marked, each (grade, district)'s times its
    ``reach`` if that has rows (a lever given ``department:``, :mod:`placesim.reach`): by
    (seb, state), and by state (every seb), in one pass."""
    G, D, S, T, F = arr.shape
    n = len(states)
    weighted = reach.shape[0] > 0
    by_seb = np.zeros((S, n))
    every_seb = np.zeros(n)
    for g in range(G):
        if grades[g]:
            for d in range(D):
                if districts[d]:
                    w = reach[g, d] if weighted else 1.0
                    for s in range(S):
                        for t in range(T):
                            for k in range(n):
                                x = arr[g, d, s, t, states[k]]
                                if weighted:
                                    x *= w
                                by_seb[s, k] += x
                                every_seb[k] += x
    return by_seb, every_seb


@njit(cache=True, nogil=True)
def _shift_stocks(g0, g1, people, ring, people_too, grades, districts, frac, srcs, dst, out,
                  reach):
    """Move the share ``frac[d, s]`` (times ``reach[g, d]`` if ``reach`` has rows: a lever
    given ``department:``) of the people (grade, district, seb, post type, state)
    in each programme state of ``srcs``, in the grades (of ``g0`` to ``g1 - 1``) and
    districts marked, to state ``dst``, or out if ``dst`` < 0:
    in ``people`` (if ``people_too``; where ``out`` has rows, what leaves is added to it at
    the index it left) and in every slot of the ``ring``, a cell of them all at a time. (A
    lever event's masked array operations over every grade cost several times more; a pass
    per array, or per source state, read the arrays again.)"""
    G, D, S, T, F = people.shape
    R = ring.shape[0]
    to_out = out.shape[0] > 0
    weighted = reach.shape[0] > 0
    for g in range(g0, g1):
        if not grades[g]:
            continue
        for d in range(D):
            if not districts[d]:
                continue
            for s in range(S):
                q = frac[d, s]
                if weighted:
                    q *= reach[g, d]
                if q == 0:
                    continue
                for t in range(T):
                    for i in srcs:
                        if people_too:
                            x = people[g, d, s, t, i] * q
                            people[g, d, s, t, i] -= x
                            if dst >= 0:
                                people[g, d, s, t, dst] += x
                            if to_out:
                                out[g, d, s, t, i] += x
                        for m in range(R):
                            x = ring[m, g, d, s, t, i] * q
                            ring[m, g, d, s, t, i] -= x
                            if dst >= 0:
                                ring[m, g, d, s, t, dst] += x


@njit(cache=True)
def _come_back(people, blocked, start, alive, post):
    """People back from a London posting (``start``, thinned by ``alive`` by grade) return
    to their home posts in programme state ``post``, and are ``blocked`` (not promotable)
    this step."""
    G, D, S, T, F = people.shape
    for g in range(G):
        a = alive[g]
        for d in range(D):
            for s in range(S):
                for t in range(T):
                    x = 0.0
                    for f in range(F):
                        x += start[g, d, s, t, f]
                    x *= a
                    if x != 0:
                        people[g, d, s, t, post] += x
                        blocked[g, d, s, t, post] += x


@njit(cache=True)
def _reported(people, jl, nj):
    """(grade, district, seb) headcount of people in post, summed over the classes each
    grade can hold (``jl``, ``nj``: :func:`_live_classes`; the others hold exact zeros, so
    the sums are the same: the chains of additions were the time, a third as long)."""
    G, D, S, T, F = people.shape
    p = people.reshape(G, D, S * T * F)
    out = np.empty((G, D, S))
    first = np.empty(S + 1, np.int64)  # (a grade's classes of seb s: jl[g, first[s]:first[s + 1]])
    for g in range(G):
        first[:] = nj[g]
        for jj in range(nj[g] - 1, -1, -1):
            first[jl[g, jj] // (T * F)] = jj
        for s in range(S - 1, 0, -1):  # (a seb with no classes: an empty range)
            first[s - 1] = min(first[s - 1], first[s])
        for d in range(D):
            for s in range(S):
                x = 0.0
                for jj in range(first[s], first[s + 1]):
                    x += p[g, d, jl[g, jj]]
                out[g, d, s] = x
    return out


@njit(cache=True)
def _class_index(S, T, F):
    """Lookups for the flattened (seb, post type, state) index ``j = (s * T + t) * F + f``
    of the stocks' last three axes: its s, t and ``s * F + f`` (the (seb, state) index
    ``sf``); and each ``sf``'s s and f.

    The passes below loop over (grade, district, j): a nest of tiny (3 x 3 x F) loops costs
    several times more than one loop of 9 F, and an integer division in those loops more
    than the rest of them."""
    n = S * T * F
    js = np.empty(n, np.int64)
    jt = np.empty(n, np.int64)
    jsf = np.empty(n, np.int64)
    for j in range(n):
        js[j] = j // (T * F)
        jt[j] = (j // F) % T
        jsf[j] = js[j] * F + j % F
    sfs = np.arange(S * F) // F
    sff = np.arange(S * F) % F
    return js, jt, jsf, sfs, sff


@njit(cache=True)
def _live_classes(state_live, S, T):
    """The (seb, post type, state) classes ``j`` and (seb, state) classes ``sf`` each grade
    can hold, in order, from ``state_live`` (grade, state): state none in every grade; a
    programme state where a lever has put people and the grades above that
    promotion carries them to. A pass over the others would only read zeros."""
    G, F = state_live.shape
    J, SF = S * T * F, S * F
    jl = np.empty((G, J), np.int64)
    nj = np.zeros(G, np.int64)
    sfl = np.empty((G, SF), np.int64)
    nsf = np.zeros(G, np.int64)
    for g in range(G):
        for j in range(J):
            if state_live[g, j % F]:
                jl[g, nj[g]] = j
                nj[g] += 1
        for sf in range(SF):
            if state_live[g, sf % F]:
                sfl[g, nsf[g]] = sf
                nsf[g] += 1
    return jl, nj, sfl, nsf


@njit(cache=True)
def _columns(first, n, SF, nsf, sfl):
    """First column of each (grade, live class)'s pair (vacancy not policy, policy) in a
    product over the live classes of grades ``first`` to ``first + n - 1`` only (-1 for a
    class the grade cannot hold), and the number of columns."""
    col = np.full((n, SF), -1, np.int64)
    c = 0
    for i in range(n):
        g = first + i
        for ii in range(nsf[g]):
            col[i, sfl[g, ii]] = c
            c += 2
    return col, c

@njit(cache=True, nogil=True, error_model="numpy")
def _fill_exits(g0, g1, people, ring, blocked, any_blocked, exit_q, exits, posts, held,
                wtab, ltj, adv_area, area, index, classes, el, ea, vac, wsf, lsf, live, traced,
                split_args):
    """First stage of a step's fill, for grades ``g0`` to ``g1 - 1`` (a block: every write is
    to those grades' rows): exits, who is eligible, vacancies, and the start-of-step choice
    weights; and last :func:`_split_grades` for the block (``split_args``: its arguments
    after ``live``), whose posts closed it returns.

    Everyone in post leaves at their grade's rate ``exit_q`` (recorded in ``exits`` by
    (grade, district, seb)). Who is not yet eligible is read from the ``ring`` of recent
    entrants (its last slot: all those not yet eligible at this step, after its exits),
    plus ``blocked`` (people back this step, thinned by one step's exits; read only
    if ``any_blocked``). Fills
    ``el`` (eligible by live class), ``ea`` (eligible by area), ``live`` (cells with posts or
    people: the others, about 30%, have nothing to move and every pass skips them), ``wsf``
    and ``lsf`` (weights by (grade, area, (seb, state), vacancy is policy) for promotion and
    for lateral moves) and ``vac``, the vacancies. ``index`` holds the class lookups
    (:func:`_class_index`), ``classes`` the classes each grade can hold
    (:func:`_live_classes`): the passes skip the others. The followed people (``traced``:
    their stocks, ring, who is back this step if anyone, and eligible, by (tag, grade,
    region, class), and their grades; :mod:`placesim.cohort_tracer`) leave alike, and their
    eligible are worked out alike, by region.
    """
    G, D, S, T, F = people.shape
    H = G - 1
    J = S * T * F
    js, jt, jsf, sfs, sff = index
    jl, nj, sfl, nsf = classes  # the classes each grade can hold: every pass skips the others
    tr, tr_ring, tr_bl, tr_any_bl, tr_el, t_lo, t_hi = traced
    M = tr_ring.shape[0] - 1
    p = people.reshape(G, D, J)
    young = ring[ring.shape[0] - 1].reshape(G, D, J)
    bl = blocked.reshape(G, D, J)
    wt = wtab.reshape(G, J, 2)
    occ = np.empty(T)
    for g in range(g0, g1):
        ea[g] = 0.0
        lsf[g] = 0.0
        live[g] = False
        if g < H:
            wsf[g] = 0.0
        q = exit_q[g]
        sg = 1.0 - q
        # the grade's classes are every (seb, post type) with each of its nf states, in order
        # (:func:`_live_classes`): the loops below follow them, with the sums by seb and by
        # post type in registers (through memory, class by class, they were chains of
        # dependent loads and stores), added in the same order
        nf = nj[g] // (S * T)
        for d in range(D):
            a = area[d]
            for t in range(T):
                occ[t] = 0.0
                if posts[g, d, t] > 0:
                    live[g, d] = True
            jj = 0
            for s in range(S):
                gone = 0.0
                for t in range(T):
                    o = occ[t]
                    for _ in range(nf):
                        j = jl[g, jj]
                        x = p[g, d, j]
                        e = 0.0
                        if x != 0:  # (about two classes in three are empty: nothing to do)
                            live[g, d] = True
                            y = x * q  # exits
                            x -= y
                            p[g, d, j] = x
                            gone += y
                            o += x
                            if x > 0:
                                r = young[g, d, j]  # not yet eligible
                                if any_blocked:
                                    r += bl[g, d, j] * sg
                                e = max(x - r, 0.0)
                                ea[g, a, j] += e
                        el[g, d, jj] = e
                        jj += 1
                    occ[t] = o
                exits[g, d, s] += gone
            for t in range(T):
                vac[g, d, t] = max(posts[g, d, t] - held[g, d, t] - occ[t], 0.0)
        # start-of-step choice weights, from each area's eligible people
        for a in range(len(adv_area)):
            c = adv_area[a]
            for jj in range(nj[g]):
                j = jl[g, jj]
                e = ea[g, a, j]
                if e > 0:
                    k = jsf[j]
                    if g < H:
                        wsf[g, a, k, 0] += e * wt[g, j, 0] * c
                        wsf[g, a, k, 1] += e * wt[g, j, 1] * c
                    lsf[g, a, k, 0] += e * ltj[j, 0]
                    lsf[g, a, k, 1] += e * ltj[j, 1]
        # the followed, by region
        for tag in range(tr.shape[0] if t_lo <= g < t_hi else 0):
            for rn in range(tr.shape[2]):
                for jj in range(nj[g]):
                    j = jl[g, jj]
                    x = tr[tag, g, rn, j]
                    e = 0.0
                    if x != 0:
                        x -= x * q
                        tr[tag, g, rn, j] = x
                        if x > 0:
                            r = tr_ring[M, tag, g, rn, j]
                            if tr_any_bl:
                                r += tr_bl[tag, g, rn, j] * sg
                            e = max(x - r, 0.0)
                    tr_el[tag, g, rn, j] = e
    # the block's closures and split of vacancies (its grades' alone: this block only)
    return _split_grades(g0, g1, posts, vac, live, *split_args)


@njit(cache=True, nogil=True, error_model="numpy")
def _split_grades(g0, g1, posts, vac, live, lateral_share, internal_share, pool_grade,
                  pool_mask, pool_types, pending, pending_var, v_lat, v_pro, v_ext):
    """The end of a step's first stage for grades ``g0`` to ``g1 - 1`` (and the pools of
    those grades: a pool is of one grade), once their exits are done (:func:`_fill_exits`
    runs it for its block): posts waiting to close (``pending``, by pool) take the vacancies
    ``vac`` that arise in their pool first (the expected number a random count of vacancies
    can give), and the rest are split into those to fill laterally, by promotion and from
    outside (``v_lat``, ``v_pro``, ``v_ext``), in the cells with posts or people (``live``);
    returns the posts closed."""
    G, D, T = vac.shape
    # posts waiting to close take the vacancies that arise in their pool first
    closed = 0.0
    for q in range(len(pending)):
        g = pool_grade[q]
        if pending[q] <= 0 or not g0 <= g < g1:
            continue
        vq = 0.0
        for d in range(D):
            if pool_mask[q, d]:
                for t in range(T):
                    if pool_types[q, t]:
                        vq += vac[g, d, t]
        if vq <= 0:
            continue
        # the closures left are (pending - vacancies)+, both random (the vacancies' count
        # with variance equal to its mean): their mean and variance, a normal's; with the
        # pending count taken as its mean, 8.8 redundancies came out where the engine's
        # mean was 11.5 (a pool closing 40 posts by a deadline)
        left, pending_var[q] = _positive_part(pending[q] - vq, pending_var[q] + vq)
        if left >= pending[q]:  # (a fraction of one left, beyond the normal's reach: each
            # closes when a vacancy comes, Poisson; held, it stayed pending for ever)
            left = pending[q] * np.exp(-vq)
            pending_var[q] *= np.exp(-vq)
        shut = min(max(pending[q] - left, 0.0), pending[q])
        pending[q] -= shut
        closed += shut
        frac = shut / vq
        for d in range(D):
            if pool_mask[q, d]:
                for t in range(T):
                    if pool_types[q, t]:
                        x = vac[g, d, t] * frac
                        vac[g, d, t] -= x
                        posts[g, d, t] -= x
    # vacancies to fill laterally, by promotion and from outside
    for g in range(g0, g1):
        v_lat[g] = 0.0
        v_pro[g] = 0.0
        v_ext[g] = 0.0
        for d in range(D):
            if not live[g, d]:
                continue
            for t in range(T):
                v = vac[g, d, t]
                v_lat[g, d, t] = v * lateral_share[g]
                if g > 0:
                    v_pro[g, d, t] = v * (1 - lateral_share[g]) * internal_share[g]
                v_ext[g, d, t] = v - v_lat[g, d, t] - v_pro[g, d, t]
    return closed


@njit(cache=True, nogil=True, error_model="numpy")
def _fill_moves(g0, g1, people, fresh, ring, next_slot, index, classes, exposure,
                promotions, recruited, cross_area, to_london, from_london, wtab, ltj,
                flag_after, adv_area, leave, kernel, kernel_t, area, is_london, pull, reach,
                willingness, will_mult, scs_low_target, freeze, recruit_pdf, dt, el, ea, wsf,
                lsf, live, v_lat, v_pro, v_ext, hazard, exit_q, traced):
    """Second stage of a step's fill, for grades ``g0`` to ``g1 - 1`` (a block: every write
    is to those grades' rows, but for ``promotions``, recorded by grade into, where grade
    ``g`` writes row ``g + 1``; ``to_london`` and ``from_london`` by grade,
    added to over the whole run and summed by the caller), after the first
    (:func:`_fill_exits`) for every grade. Returns the block's promotions from another area
    (added to ``cross_area`` by grade).

    Each vacancy's promotions are shared among the candidates of the grade below by their
    weight (local, and remote through the distance kernel), each area's as picks that leave
    the pool (:func:`_sampling_theta`); lateral vacancies among the
    same grade's people who are left; recruits fill the rest from the local labour market
    (unless a freeze blocks them). The promotions into the block's first grade and out of
    its last are worked out in both blocks that need them (the same figures), so the blocks
    need each other only through the first stage. ``fresh`` receives the people who entered
    a grade (promotions and recruits: not yet eligible); lateral movers are eligible again
    from the next step. Promotions are recorded at their origin (grade into, district,
    seb), recruits in ``recruited``, the step's person-time in ``exposure``. Last, cell by cell, the
    step's entrants join the ring's sum of those not yet eligible (its last slot, thinned by
    ``exit_q`` to the next step) and slot ``next_slot`` leaves it and is cleared for the next
    step's entrants (its people are eligible then); and the programme states that end at a
    rate (``hazard``) end, to state none, in the people and every slot of the ring but
    ``next_slot``: the next step's expiry (nothing touches the states in between), on both
    cores, while the cell's stocks are in cache.

    The followed people (``traced``: their stocks, ring and eligible by (tag, grade, region,
    class), who has reached Grade 7 by tag, their grades, each district's region and each
    region's area; :mod:`placesim.cohort_tracer`) go with the same choices: each region's
    class gives them its area's shares, their picks (by area) are columns of the same
    products, and each cell's arrivals take their share, to the cell's region; the block
    moves its own grades' followed people (those who reach Grade 7 are counted in the block
    with Grade 7), and last moves their ring on and ends their states.
    """
    G, D, S, T, F = people.shape
    A = len(adv_area)
    H = G - 1
    J = S * T * F
    SF = S * F
    js, jt, jsf, sfs, sff = index
    jl, nj, sfl, nsf = classes
    tr, tr_ring, tr_el, reached, t_lo, t_hi, t_region, t_area = traced
    NT, NR = tr.shape[0], tr.shape[2]
    p = people.reshape(G, D, J)
    fr = fresh.reshape(G, D, J)
    wt = wtab.reshape(G, J, 2)
    # the promotions (grade from h to h + 1) the block needs: into its grades, out of them
    l0 = max(g0 - 1, 0)
    nl = min(g1, H) - l0
    ng = g1 - g0
    # The step's three products with the area-district kernel each serve promotions and
    # lateral moves at once, their columns side by side (promotions' first, then lateral
    # moves' from column ``lat0`` of the first two products and ``n_col`` of the third): as
    # six products, each packing the kernel again, they took a tenth longer.
    lat0 = nl * S * 2
    # lateral moves' totals of start-of-step weights by (grade, area, vp), times London's
    # hold on its staff
    lat_tot = np.zeros((ng, A, 2))
    for gi in range(ng):
        g = g0 + gi
        for a in range(A):
            for ii in range(nsf[g]):
                sf = sfl[g, ii]
                lat_tot[gi, a, 0] += lsf[g, a, sf, 0]
                lat_tot[gi, a, 1] += lsf[g, a, sf, 1]
            lat_tot[gi, a, 0] *= leave[a]
            lat_tot[gi, a, 1] *= leave[a]
    # -- promotions: remote masses by (district, grade from, seb, vp): over other areas,
    # kernel x candidates' weights x willingness (states summed first: a vacancy's choice
    # needs only the seb totals, and the product is F times smaller); and each lateral
    # vacancy's choice mass, by (district, grade, vp), from column lat0
    wr = np.zeros((A, lat0 + ng * 2))
    for a in range(A):
        for li in range(nl):
            h = l0 + li
            for ii in range(nsf[h]):
                sf = sfl[h, ii]
                s = sfs[sf]
                for vp in range(2):
                    wr[a, (li * S + s) * 2 + vp] += wsf[h, a, sf, vp] * willingness[s] * leave[a]
        for gi in range(ng):
            wr[a, lat0 + gi * 2] = lat_tot[gi, a, 0]
            wr[a, lat0 + gi * 2 + 1] = lat_tot[gi, a, 1]
    rem = np.dot(kernel_t, wr)
    # each vacancy's choice mass, boost for the SCS1 target
    wsa = np.zeros((nl, A, S, 2))  # the local part: candidates' weights by seb
    for li in range(nl):
        h = l0 + li
        for a in range(A):
            for vp in range(2):
                for ii in range(nsf[h]):
                    sf = sfl[h, ii]
                    wsa[li, a, sfs[sf], vp] += wsf[h, a, sf, vp]
    ratio = np.zeros((nl, D, T, S))  # promotions per unit of choice mass, by candidate seb
    shortfall = np.zeros((nl, D, T))
    qloc = np.zeros((nl, A, S, 2))
    qd = np.zeros((D, lat0 + ng * 2))  # (and lateral vacancies per unit of mass, from lat0)
    loc = np.empty(S)  # (scratch, reused: an allocation per vacancy cell costs more than it)
    rmt = np.empty(S)
    boost = np.empty(S)
    for li in range(nl):
        h = l0 + li
        g = h + 1
        for d in range(D):
            if not live[g, d]:
                continue
            a = area[d]
            rf = reach[g] * will_mult * pull[d]
            for vp in range(2):
                busy = False  # any promotions wanted here for this kind of vacancy?
                for t in range(T):
                    if ((t != OTHER) == (vp == 1)) and v_pro[g, d, t] > 0:
                        busy = True
                if not busy:
                    continue
                boosted = g == SCS1 and scs_low_target > 0
                mass = 0.0
                if boosted:
                    for s in range(S):  # (element by element: a slice costs a view here)
                        loc[s] = wsa[li, a, s, vp]
                        rmt[s] = rem[d, (li * S + s) * 2 + vp] * rf
                        boost[s] = 1.0
                    tot = loc.sum() + rmt.sum()
                    low = loc[LOW] + rmt[LOW]
                    if 0 < low < scs_low_target * tot:
                        pl = low / tot
                        boost[LOW] = scs_low_target * (1 - pl) / (pl * (1 - scs_low_target))
                    for s in range(S):
                        mass += (loc[s] + rmt[s]) * boost[s]
                else:  # (no boost: the same sums, with none of the scratch's stores and loads)
                    for s in range(S):
                        mass += wsa[li, a, s, vp] + rem[d, (li * S + s) * 2 + vp] * rf
                for t in range(T):
                    if (t != OTHER) != (vp == 1):
                        continue
                    v = v_pro[g, d, t]
                    if v <= 0:
                        continue
                    if mass <= 0:
                        shortfall[li, d, t] += v
                        continue
                    q_all = v / mass  # (a candidate's, but for the SCS1 boost: one division)
                    for s in range(S):
                        q = v / mass * boost[s] if boosted else q_all
                        ratio[li, d, t, s] = q
                        if q > 0:  # the candidates' outflows: local, and remote by district
                            qloc[li, a, s, vp] += q
                            qd[d, (li * S + s) * 2 + vp] += q * rf
    # lateral vacancies per unit of their choice mass
    for gi in range(ng):
        g = g0 + gi
        for d in range(D):
            if not live[g, d]:
                continue
            for t in range(T):
                vp = 1 if t != OTHER else 0
                v = v_lat[g, d, t]
                if v <= 0:
                    continue
                if rem[d, lat0 + gi * 2 + vp] <= 0:
                    v_ext[g, d, t] += v
                    continue
                qd[d, lat0 + gi * 2 + vp] += v / rem[d, lat0 + gi * 2 + vp]
    # outflows of candidates: the remote part through the kernel; and the posts each area's
    # pool is asked to fill laterally, from column lat0
    qrem = np.dot(kernel, qd)
    # promotions per unit of a candidate's weight, by (grade from, area, seb, vp), that leave
    # for posts in other areas (the local part is qloc, times the area's advantage)
    qout = np.empty((nl, A, S, 2))
    for li in range(nl):
        for a in range(A):
            c = adv_area[a]
            for s in range(S):
                for vp in range(2):
                    qout[li, a, s, vp] = (c * willingness[s] * leave[a]
                                          * qrem[a, (li * S + s) * 2 + vp])
    # what each area's eligible people give, per unit of eligible: promotions (fac), the
    # part to posts in other areas (out). The step's promotions are drawn one at a time from
    # those not yet chosen, so the weightiest, chosen first, are fewer for later draws
    # (:func:`_share_taken`); each kind of vacancy (local or remote, policy or other)
    # still takes as many from the area as the start-of-step weights say (``nu``). ``wsc``:
    # the weights by (seb, state) and vacancy kind that the choices among the area's people
    # come to, for the arrivals below (times ``nu``).
    fac = np.zeros((nl, A, J))
    out = np.zeros((nl, A, J))
    wsc = np.zeros((nl, A, SF, 2))
    kap = np.zeros((nl, A, J))  # (kappa, kept for the followed's picks)
    nu = np.ones((nl, A, 4))  # (by kind: local other, local policy, remote other, remote
    # policy)
    for li in range(nl):
        h = l0 + li
        for a in range(A):
            c = adv_area[a]
            have_a = 0.0
            out_a = 0.0
            second = 0.0
            top = 0.0
            for jj in range(nj[h]):  # each class's rate: all kinds of vacancy together
                j = jl[h, jj]
                e = ea[h, a, j]
                if e <= 0:  # (about two classes in three are empty)
                    fac[li, a, j] = 0.0
                    continue
                s = js[j]
                w = (wt[h, j, 0] * (c * qloc[li, a, s, 0] + qout[li, a, s, 0])
                     + wt[h, j, 1] * (c * qloc[li, a, s, 1] + qout[li, a, s, 1]))
                fac[li, a, j] = w
                if w > 0:
                    have_a += e
                    out_a += e * w
                    second += e * w * w
                    top = max(top, w)
            if out_a <= 0:
                for jj in range(nj[h]):
                    fac[li, a, jl[h, jj]] = 0.0
                continue
            theta = _sampling_theta(fac[li, a], ea[h, a], jl[h, :nj[h]], out_a, second, top,
                                    have_a)
            most = 0.0
            got = 0.0
            for jj in range(nj[h]):  # kappa (in out, for now): given per unit of rate
                j = jl[h, jj]
                w = fac[li, a, j]
                if w <= 0:
                    out[li, a, j] = 0.0
                    continue
                x = _share_taken(theta, w)
                most = max(most, x)
                got += ea[h, a, j] * x
                kappa = x / w
                out[li, a, j] = kappa
                y = ea[h, a, j] * kappa * c
                wsc[li, a, jsf[j], 0] += y * wt[h, j, 0]
                wsc[li, a, jsf[j], 1] += y * wt[h, j, 1]
                kap[li, a, j] = kappa
            if theta >= 0:  # each kind takes its start-of-step number (nu)
                _kinds_back(wsf[h, a], wsc[li, a], qloc[li, a], qout[li, a], sfl[h, :nsf[h]],
                            sfs, nu[li, a])
                if most * nu[li, a].max() > 1.0:  # (near exhaustion a class could give more
                    for jj in range(nj[h]):        # than it has: then one factor for all)
                        j = jl[h, jj]
                        s = js[j]
                        y = out[li, a, j] * (
                            wt[h, j, 0] * (qout[li, a, s, 0] * nu[li, a, 2]
                                           + c * qloc[li, a, s, 0] * nu[li, a, 0])
                            + wt[h, j, 1] * (qout[li, a, s, 1] * nu[li, a, 3]
                                             + c * qloc[li, a, s, 1] * nu[li, a, 1]))
                        if y > 1.0 + 1e-9:
                            nu[li, a, :] = out_a / got
                            break
            for jj in range(nj[h]):
                j = jl[h, jj]
                kappa = out[li, a, j]
                if kappa <= 0:
                    continue
                s = js[j]
                re = (wt[h, j, 0] * qout[li, a, s, 0] * nu[li, a, 2]
                      + wt[h, j, 1] * qout[li, a, s, 1] * nu[li, a, 3])
                fac[li, a, j] = kappa * (re + c * (wt[h, j, 0] * qloc[li, a, s, 0] * nu[li, a, 0]
                                                   + wt[h, j, 1] * qloc[li, a, s, 1]
                                                   * nu[li, a, 1]))
                out[li, a, j] = kappa * re
    # the followed's picks: each region's eligible by its area's kappa, by (tag, area)
    t_wsc = np.zeros((NT, nl, A, SF, 2))
    for li in range(nl):
        h = l0 + li
        for tag in range(NT if t_lo <= h < t_hi else 0):
            for rn in range(NR):
                a = t_area[rn]
                c = adv_area[a]
                for jj in range(nj[h]):
                    j = jl[h, jj]
                    e = tr_el[tag, h, rn, j]
                    if e > 0:
                        y = e * kap[li, a, j] * c
                        t_wsc[tag, li, a, jsf[j], 0] += y * wt[h, j, 0]
                        t_wsc[tag, li, a, jsf[j], 1] += y * wt[h, j, 1]
    # the followed promoted into Grade 7 (counted, no longer followed), in the block with it:
    # each area's promoted take every local vacancy's and every remote one's share alike,
    # so they come to their picks times the vacancies' shares summed (qloc, and through the
    # kernel qrem)
    if NT > 0 and g0 <= t_hi < g1 and t_hi >= 1:
        li = t_hi - 1 - l0
        for tag in range(NT):
            for a in range(A):
                for ii in range(nsf[t_hi - 1]):
                    sf = sfl[t_hi - 1, ii]
                    s = sfs[sf]
                    for vp in range(2):
                        reached[tag] += t_wsc[tag, li, a, sf, vp] * (
                            nu[li, a, vp] * qloc[li, a, s, vp] + willingness[s] * leave[a]
                            * nu[li, a, 2 + vp] * qrem[a, (li * S + s) * 2 + vp])
    # -- lateral moves: area by start-of-step weights, people from who is left -------------
    # the lateral vacancies of each kind (policy or other) take from an area as many as its
    # start-of-step lateral mass says, from the people promotions left, one at a time by
    # their weight as promotions do (latf: the share of a class that moves; lat_pick: the
    # movers by (seb, state) and kind, whom the arrivals share out)
    latf = np.zeros((ng, A, J))
    lat_pick = np.zeros((ng, A, SF, 2))
    lat_p = np.zeros((ng, A, J, 2))  # (the shares by kind, kept for the followed)
    rest = np.zeros(J)
    lw = np.zeros(J)
    for gi in range(ng):
        g = g0 + gi
        c_list = jl[g, :nj[g]]
        for a in range(A):
            t0 = 0.0
            t1 = 0.0
            for j in c_list:
                x = ea[g, a, j]
                if g < H:
                    x -= x * fac[g - l0, a, j]
                rest[j] = max(x, 0.0)
                t0 += rest[j] * ltj[j, 0]
                t1 += rest[j] * ltj[j, 1]
            want0 = lat_tot[gi, a, 0] * qrem[a, lat0 + gi * 2]
            want1 = lat_tot[gi, a, 1] * qrem[a, lat0 + gi * 2 + 1]
            m0 = want0 / t0 if t0 > 0 else 0.0
            m1 = want1 / t1 if t1 > 0 else 0.0
            have_a = 0.0
            total = 0.0
            second = 0.0
            top = 0.0
            for j in c_list:
                w = m0 * ltj[j, 0] + m1 * ltj[j, 1]
                lw[j] = w
                if w > 0 and rest[j] > 0:
                    have_a += rest[j]
                    total += rest[j] * w
                    second += rest[j] * w * w
                    top = max(top, w)
            if total <= 0:
                continue
            # (rates below TINY_RATE barely deplete the pool: each class gives its rate)
            theta = (0.0 if top < TINY_RATE and total < have_a
                     else _sampling_theta(lw, rest, c_list, total, second, top, have_a))
            tk0 = 0.0
            tk1 = 0.0
            most = 0.0
            got = 0.0
            for j in c_list:
                if lw[j] <= 0 or rest[j] <= 0:
                    latf[gi, a, j] = 0.0
                    continue
                x = _share_taken(theta, lw[j])
                most = max(most, x)
                got += rest[j] * x
                kappa = x / lw[j]
                latf[gi, a, j] = kappa  # (for now)
                tk0 += rest[j] * kappa * m0 * ltj[j, 0]
                tk1 += rest[j] * kappa * m1 * ltj[j, 1]
            n0 = want0 / tk0 if theta > 0 and tk0 > 0 else 1.0
            n1 = want1 / tk1 if theta > 0 and tk1 > 0 else 1.0
            if most * max(n0, n1) > 1.0:  # (near exhaustion, as for promotions)
                for j in c_list:
                    if latf[gi, a, j] * (m0 * ltj[j, 0] * n0 + m1 * ltj[j, 1] * n1) > 1.0 + 1e-9:
                        n0 = n1 = total / got
                        break
            for j in c_list:
                kappa = latf[gi, a, j]
                if kappa <= 0:
                    continue
                p0 = kappa * m0 * ltj[j, 0] * n0
                p1 = kappa * m1 * ltj[j, 1] * n1
                latf[gi, a, j] = p0 + p1
                lat_pick[gi, a, jsf[j], 0] += rest[j] * p0
                lat_pick[gi, a, jsf[j], 1] += rest[j] * p1
                lat_p[gi, a, j, 0] = p0
                lat_p[gi, a, j, 1] = p1
    # the followed of the block's grades who are promoted or move laterally leave, each
    # region's by its area's shares; the lateral movers by (tag, area), for the arrivals
    t_lat = np.zeros((NT, ng, A, SF, 2))
    for gi in range(ng):
        g = g0 + gi
        for tag in range(NT if t_lo <= g < t_hi else 0):
            for rn in range(NR):
                a = t_area[rn]
                for jj in range(nj[g]):
                    j = jl[g, jj]
                    e = tr_el[tag, g, rn, j]
                    if e <= 0:
                        continue
                    x = e * fac[g - l0, a, j] if g < H else 0.0
                    rest = max(e - x, 0.0)
                    tr[tag, g, rn, j] -= x + rest * latf[gi, a, j]
                    t_lat[tag, gi, a, jsf[j], 0] += rest * lat_p[gi, a, j, 0]
                    t_lat[tag, gi, a, jsf[j], 1] += rest * lat_p[gi, a, j, 1]
    # promotions arrive: local from the own area, remote through the kernel; and lateral
    # movers, as lat_pick has them, from column n_col
    col, n_col = _columns(l0, nl, SF, nsf, sfl)  # (grade from, class): its pair of columns
    col_l, n_col_l = _columns(g0, ng, SF, nsf, sfl)
    # the followed's promoted and lateral movers, by tag, from column n_col + n_col_l
    t_col = np.full((NT, nl, SF), -1, np.int64)
    t_col_l = np.full((NT, ng, SF), -1, np.int64)
    n_all = n_col + n_col_l
    for tag in range(NT):
        for li in range(nl):
            h = l0 + li
            if t_lo <= h < t_hi - 1:  # (those promoted into Grade 7 are only counted)
                for ii in range(nsf[h]):
                    t_col[tag, li, sfl[h, ii]] = n_all
                    n_all += 2
        for gi in range(ng):
            g = g0 + gi
            if t_lo <= g < t_hi:
                for ii in range(nsf[g]):
                    t_col_l[tag, gi, sfl[g, ii]] = n_all
                    n_all += 2
    capped = np.zeros((A, n_all))
    for a in range(A):
        for li in range(nl):
            h = l0 + li
            for ii in range(nsf[h]):
                sf = sfl[h, ii]
                for vp in range(2):
                    capped[a, col[li, sf] + vp] = (wsc[li, a, sf, vp] * willingness[sfs[sf]]
                                                   * leave[a] * nu[li, a, 2 + vp])
                    for tag in range(NT if t_lo <= h < t_hi - 1 else 0):
                        capped[a, t_col[tag, li, sf] + vp] = (
                            t_wsc[tag, li, a, sf, vp] * willingness[sfs[sf]] * leave[a]
                            * nu[li, a, 2 + vp])
    for gi in range(ng):  # (the movers, in the units of a vacancy's choice mass)
        g = g0 + gi
        for a in range(A):
            for vp in range(2):
                qv = qrem[a, lat0 + gi * 2 + vp]
                if qv <= 0:
                    continue
                for ii in range(nsf[g]):
                    sf = sfl[g, ii]
                    capped[a, n_col + col_l[gi, sf] + vp] = lat_pick[gi, a, sf, vp] / qv
                    for tag in range(NT if t_lo <= g < t_hi else 0):
                        capped[a, t_col_l[tag, gi, sf] + vp] = t_lat[tag, gi, a, sf, vp] / qv
    rem_c = np.dot(kernel_t, capped)
    # -- the block's grades, one at a time, and in each its cells (district) one at a time:
    # promotions arrive; promoted and lateral movers leave; lateral movers arrive; recruits;
    # the step's person-time; the step's entrants join those not yet eligible (the ring's last
    # slot, thinned to the next step) and the entrants of M - 1 steps ago leave it (they are
    # eligible next step); the programme states that end at a rate end (the next step's
    # expiry). All in one visit of a cell, while its stocks are in cache: a pass over the
    # block's cells for each part took a quarter longer. Each part reads the cell's stocks as
    # the parts before it left them, as it did in separate passes.
    M = ring.shape[0] - 1
    R = M + 1
    rg = ring.reshape(R, G, D, J)
    slot = (next_slot + M - 1) % M  # (fresh's: this step's entrants)
    # a grade's lookups, once per grade rather than in every cell: the classes promotions
    # arrive in (from class sf of the grade below: their seb, sf, column in rem_c, and class
    # in the grade but for its post type),
    # the classes lateral movers arrive in (column in arr, class but for post type), the
    # classes whose programme state ends (class, class after, rate)
    in_s = np.empty(SF, np.int64)
    in_sf = np.empty(SF, np.int64)
    in_col = np.empty(SF, np.int64)
    in_k = np.empty(SF, np.int64)
    lat_col = np.empty(SF, np.int64)
    lat_k = np.empty(SF, np.int64)
    t_in_col = np.empty((NT, SF), np.int64)  # (the followed's columns)
    t_lat_col = np.empty((NT, SF), np.int64)
    src = np.empty(J, np.int64)
    dst = np.empty(J, np.int64)
    rate = np.empty(J)
    block_across = 0.0
    for gi in range(ng):
        g = g0 + gi
        h = g - 1
        li = h - l0
        n_in = nsf[h] if g >= 1 else 0
        for ii in range(n_in):
            sf = sfl[h, ii]
            s, f = sfs[sf], sff[sf]
            in_s[ii] = s
            in_sf[ii] = sf
            in_col[ii] = col[li, sf]
            in_k[ii] = s * T * F + flag_after[f, g]
        for ii in range(nsf[g]):
            sf = sfl[g, ii]
            lat_col[ii] = n_col + col_l[gi, sf]
            lat_k[ii] = sfs[sf] * T * F + sff[sf]
        nt_in = NT if t_lo <= h < t_hi - 1 and g >= 1 else 0  # (the followed arriving)
        nt_g = NT if t_lo <= g < t_hi else 0  # (and here)
        for tag in range(nt_in):
            for ii in range(n_in):
                t_in_col[tag, ii] = t_col[tag, li, in_sf[ii]]
        for tag in range(nt_g):
            for ii in range(nsf[g]):
                t_lat_col[tag, ii] = t_col_l[tag, gi, sfl[g, ii]]
        n_end = 0
        for jj in range(nj[g]):
            j = jl[g, jj]
            f = j % F
            if hazard[f] > 0:
                src[n_end] = j
                dst[n_end] = j - f
                rate[n_end] = hazard[f]
                n_end += 1
        sg = 1.0 - exit_q[g]
        old = sg ** (M - 1)
        n_st = nj[g] // S  # (its classes are every (seb, post type) with each of its states,
        # in order: :func:`_live_classes`; sums by seb are kept in registers)
        out_li = g - l0  # (its promotions out, if any)
        across = 0.0  # (loop invariants and sums in locals: the stores to the stocks below
        for d in range(D):  # would otherwise make every array read again each time)
            if not live[g, d]:  # (nobody there, nor in any slot of the ring)
                continue
            a = area[d]
            lon = is_london[d]
            # promotions arrive from the grade below
            if n_in > 0:
                rf = reach[g] * will_mult * pull[d]
                for t in range(T):
                    if v_pro[g, d, t] <= 0:
                        continue  # (no promotions wanted here: nothing arrives, no shortfall)
                    vp = 1 if t != OTHER else 0
                    got = 0.0
                    for ii in range(n_in):
                        s = in_s[ii]
                        q = ratio[li, d, t, s]
                        if q <= 0:
                            continue
                        lx = wsc[li, a, in_sf[ii], vp] * nu[li, a, vp] * q
                        rx = rem_c[d, in_col[ii] + vp] * rf * q
                        k = in_k[ii] + t * F
                        fr[g, d, k] += lx + rx
                        p[g, d, k] += lx + rx
                        got += lx + rx
                        across += rx
                        if lon:
                            to_london[g, s] += rx
                        for tag in range(nt_in):  # (the followed among them)
                            x = q * (t_wsc[tag, li, a, in_sf[ii], vp] * nu[li, a, vp]
                                     + rem_c[d, t_in_col[tag, ii] + vp] * rf)
                            tr[tag, g, t_region[d], k] += x
                            tr_ring[slot, tag, g, t_region[d], k] += x
                    v_ext[g, d, t] += max(v_pro[g, d, t] - got, 0.0) + shortfall[li, d, t]
            # promoted and lateral movers leave
            for s in range(S):  # (the grade's classes of seb s are jl[g, s * n_st:][:n_st])
                out_s = 0.0
                for jj in range(s * n_st, (s + 1) * n_st):
                    j = jl[g, jj]
                    e = el[g, d, jj]
                    if e <= 0:
                        continue
                    if g < H:  # promotions leave their grade
                        x = e * fac[out_li, a, j]
                        if x > 0:
                            out_s += x
                            if lon:  # the part that went to posts outside London
                                from_london[g, s] += e * out[out_li, a, j]
                            p[g, d, j] -= x
                            e -= x
                    if e > 0:
                        p[g, d, j] -= e * latf[gi, a, j]
                if g < H:
                    promotions[g + 1, d, s] += out_s
            for t in range(T):  # and arrive
                vp = 1 if t != OTHER else 0
                v = v_lat[g, d, t]
                mass = rem[d, lat0 + gi * 2 + vp]
                if v <= 0 or mass <= 0:
                    continue
                q = v / mass
                got = 0.0
                for ii in range(nsf[g]):
                    x = rem_c[d, lat_col[ii] + vp] * q
                    p[g, d, lat_k[ii] + t * F] += x
                    got += x
                    for tag in range(nt_g):  # (the followed among them)
                        tr[tag, g, t_region[d], lat_k[ii] + t * F] += (
                            rem_c[d, t_lat_col[tag, ii] + vp] * q)
                v_ext[g, d, t] += max(v - got, 0.0)
            keep = 1.0 - freeze[g, d]  # (hires the London recruitment freeze blocks)
            for t in range(T):  # recruits
                v = v_ext[g, d, t] * keep
                if v <= 0:
                    continue
                for s in range(S):
                    x = v * recruit_pdf[g, d, s]
                    k = (s * T + t) * F
                    p[g, d, k] += x
                    fr[g, d, k] += x
                    recruited[g, d, s] += x
            # person-time; and the ring (the classes the grade cannot hold are empty in it)
            for s in range(S):
                ex_s = 0.0
                for jj in range(s * n_st, (s + 1) * n_st):
                    j = jl[g, jj]
                    ex_s += p[g, d, j]
                    rg[M, g, d, j] = (rg[M, g, d, j] - rg[next_slot, g, d, j] * old
                                      + fr[g, d, j]) * sg
                    rg[next_slot, g, d, j] = 0.0
                exposure[g, d, s] += ex_s * dt
            for i in range(n_end):  # programme states end, but in the slot just cleared
                j, to, hz = src[i], dst[i], rate[i]
                x = p[g, d, j] * hz
                p[g, d, j] -= x
                p[g, d, to] += x
            if n_end > 0:
                for m in range(R):
                    if m == next_slot:
                        continue
                    for i in range(n_end):
                        j, to, hz = src[i], dst[i], rate[i]
                        x = rg[m, g, d, j] * hz
                        rg[m, g, d, j] -= x
                        rg[m, g, d, to] += x
        for tag in range(nt_g):  # the followed's ring and programme states, by region, alike
            for rn in range(NR):
                for jj in range(nj[g]):
                    j = jl[g, jj]
                    tr_ring[M, tag, g, rn, j] = (tr_ring[M, tag, g, rn, j]
                                                 - tr_ring[next_slot, tag, g, rn, j] * old
                                                 + tr_ring[slot, tag, g, rn, j]) * sg
                    tr_ring[next_slot, tag, g, rn, j] = 0.0
                for i in range(n_end):
                    j, to, hz = src[i], dst[i], rate[i]
                    x = tr[tag, g, rn, j] * hz
                    tr[tag, g, rn, j] -= x
                    tr[tag, g, rn, to] += x
                    for m in range(R):
                        if m != next_slot:
                            x = tr_ring[m, tag, g, rn, j] * hz
                            tr_ring[m, tag, g, rn, j] -= x
                            tr_ring[m, tag, g, rn, to] += x
        if g >= 1:
            cross_area[g] += across
            block_across += across
    return block_across


TINY_RATE = 0.01
"""A step's largest rate of lateral moves from a class below which the depletion of the
pool is left out: it changes a class's share of the movers by less than half that,
relatively, of a flow of under 1% of the class a step. In the baseline, 94-100% of (grade,
area, step) from AA to SCS1 are below it (the largest 1.3%), 70% of SCS2's (1.6%), 6% of
SCS3's (2.6%) and a third of PS's (15%); the others keep the depletion. A speed setting."""


@njit(cache=True, nogil=True, inline="always")
def _share_taken(theta, w):
    """The share of a class of start-of-step rate ``w`` that a step's picks take, one at a
    time, each leaving the pool: ``1 - exp(-theta * w)`` (successive sampling;
    :func:`_sampling_theta`), all of it if ``theta`` is -1, ``w`` if ``theta`` is 0 (the
    depletion left out). By its series where ``theta * w`` is small, as a step's rates
    mostly are (within 3e-9 of it: expm1 took a tenth of a run)."""
    if theta < 0:
        return 1.0
    if theta == 0:  # (depletion left out: the start-of-step rate)
        return w
    y = theta * w
    return y * (1 - y / 2 * (1 - y / 3 * (1 - y / 4))) if y < 0.05 else -math.expm1(-y)


@njit(cache=True, nogil=True)
def _kinds_back(start, taken, qloc, qout, sf_list, sfs, nu):
    """``nu``: what scales each kind of promotion vacancy's depleted choice back to the
    number its start-of-step weights take from the area (kinds: local other, local policy,
    remote other, remote policy): depletion changes whom a vacancy takes, never how many.
    ``start`` and ``taken``: the area's candidates' weights by ((seb, state), vacancy is
    policy), at the start of the step and as the step's picks leave them (both times the
    area's advantage); ``qloc`` and ``qout`` the picks per unit of weight, local and remote
    (the latter times the advantage too, which cancels), by (seb, vacancy is policy)."""
    for vp in range(2):
        a_loc = t_loc = a_rem = t_rem = 0.0
        for sf in sf_list:
            s = sfs[sf]
            a_loc += qloc[s, vp] * start[sf, vp]
            t_loc += qloc[s, vp] * taken[sf, vp]
            a_rem += qout[s, vp] * start[sf, vp]
            t_rem += qout[s, vp] * taken[sf, vp]
        nu[vp] = a_loc / t_loc if t_loc > 0 else 1.0
        nu[2 + vp] = a_rem / t_rem if t_rem > 0 else 1.0


@njit(cache=True, nogil=True)
def _sampling_theta(w, e, classes, total, second, top, have):
    """``theta`` with ``sum(e * (1 - exp(-theta * w)))`` over ``classes`` equal to ``total``
    (people ``e`` of start-of-step rate ``w``, at most ``top``; ``total`` and ``second`` their
    sums of ``e * w`` and ``e * w ** 2``): the successive-sampling share
    (:func:`_share_taken`) of :func:`_fill_moves`; -1 if ``total`` is at least ``have``, the
    people with any rate (every one of them is chosen).

    Where the rates are small (``theta * top`` at most 0.3), the root of the sum's
    second-order expansion: off by about ``(theta * w) ** 2 / 6`` of the sum, which the
    caller's normalisation by kind of vacancy takes away (the classes' shares are then
    within about ``(theta * w) ** 3`` of the exact ones). Otherwise Newton's method from
    there: the sum is increasing and concave in ``theta``, so from either side the steps reach
    the root."""
    if total >= have * (1 - 1e-12):
        return -1.0
    disc = total * total - 2.0 * second * total
    theta = 2.0 * total / (total + math.sqrt(disc)) if disc > 0 else 1.0  # (the smaller
    # root, in the form that does not cancel when the rates are tiny)
    if disc > 0 and theta * top <= 0.3:
        return theta
    for _ in range(100):
        f = -total
        df = 0.0
        for j in classes:
            if w[j] > 0 and e[j] > 0:
                x = -math.expm1(-theta * w[j])
                f += e[j] * x
                df += e[j] * w[j] * (1.0 - x)
        if abs(f) <= 1e-12 * total or df <= 0:
            break
        theta -= f / df
    return theta


@njit(cache=True)
def _expected_min(x, y):
    """E[min(X, Y)] for independent counts with means x and y (variances equal to the means,
    normal approximation): the places a step's redeployments find when both the people to
    place and the vacancies are random."""
    s = np.sqrt(x + y)
    if s <= 0:
        return min(x, y)
    m = (y - x) / s  # standardised margin of vacancies over people
    phi = np.exp(-0.5 * m * m) / np.sqrt(2 * np.pi)
    shortfall = s * (phi - m * 0.5 * math.erfc(m / np.sqrt(2.0)))  # E[(X - Y)+]
    return max(x - shortfall, 0.0)


@njit(cache=True)
def _positive_part(mu, var):
    """Mean and variance of max(X, 0) for X normal with mean ``mu`` and variance ``var``
    (a point at ``mu`` if ``var`` is 0)."""
    if var <= 0:
        return max(mu, 0.0), 0.0
    sd = np.sqrt(var)
    z = mu / sd
    phi = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    above = 0.5 * math.erfc(-z / np.sqrt(2.0))  # P(X > 0)
    m1 = mu * above + sd * phi
    m2 = (mu * mu + var) * above + mu * sd * phi
    return max(m1, 0.0), max(m2 - m1 * m1, 0.0)


@njit(cache=True, error_model="numpy")
def _move_kernel(people, ring, posts, held, origins, grade_mask, type_mask, n, dests, f,
                 distance_km, accept_by_grade, per_100km, support, high_seb_multiplier,
                 redeploy_share, backfill_anywhere, national_pdf, area, n_areas, ring_slot,
                 blocked, survival, given, traced, traced_ring, lo, hi, t_region, t_area):
    """Move ``n`` posts matching a selector from ``origins`` to ``dests`` (shares ``f``).

    Posts leave each matching (grade, origin, post type) cell in proportion (posts held for
    people away excluded), or as many as ``given`` says by (grade, origin, post type) when
    it has rows (a wave that selects departments: :func:`placesim.rules.department_counts`),
    their incumbents with them; incumbents accept with a probability
    by grade, SEB and distance (times relocation support); of the rest a share is redeployed
    into the same-grade vacancies of their own area (any post type, each district in
    proportion to its vacancies) while there are any — in expectation, the expected minimum of
    people and vacancies (:func:`_expected_min`) — and the others leave. With
    ``backfill_anywhere`` the posts that arrive empty are filled at once from the national
    mix: entrants now, as the stochastic engine's (``ready`` ``min_steps`` on), so not
    eligible this step (``blocked``) and then in the ring's slot ``ring_slot`` as they will
    be after this step's exits (``survival``), as a conversion at the end of a secondment.
    The followed people (``traced``, (tag, grade, region, seb, post type, state), grades
    ``lo`` to ``hi - 1``, and their ``traced_ring``; ``t_region`` each district's region,
    ``t_area`` each region's area: :mod:`placesim.cohort_tracer`) are the same share of
    every district's incumbents in a region's class (each origin is a region of its own),
    and move, are redeployed and leave with them.
    Returns (movers by SEB, leavers by (grade, SEB), posts moved out of each origin).
    """
    G, D, S, T, F = people.shape
    R = ring.shape[0]
    n_origins, M = len(origins), len(dests)
    total = 0.0
    for g in range(G):
        if grade_mask[g]:
            for o in origins:
                for t in range(T):
                    if type_mask[t]:
                        total += max(posts[g, o, t] - held[g, o, t], 0.0)
    movers_s = np.zeros(S)
    leavers_gs = np.zeros((G, S))
    moved_o = np.zeros(n_origins)
    if total <= 0:
        return movers_s, leavers_gs, moved_o
    share = min(n / total, 1.0)
    moved = np.zeros((G, n_origins, T))
    cell_share = np.zeros((G, n_origins, T))  # (the share of each cell's incumbents moved)
    # every origin's posts leave before any arrive, so a destination that is also an origin
    # does not send on posts it has just received
    for g in range(G):
        if not grade_mask[g]:
            continue
        for i in range(n_origins):
            o = origins[i]
            for t in range(T):
                movable = max(posts[g, o, t] - held[g, o, t], 0.0)
                if not type_mask[t] or movable <= 0:
                    continue
                if given.shape[0] > 0:
                    x = min(given[g, i, t], movable)
                    cell_share[g, i, t] = x / movable
                else:
                    x = movable * share
                    cell_share[g, i, t] = share
                moved[g, i, t] = x
                posts[g, o, t] -= x
                moved_o[i] += x
    for g in range(G):
        for i in range(n_origins):
            for t in range(T):
                for j in range(M):
                    posts[g, dests[j], t] += moved[g, i, t] * f[j]
    stay = np.zeros((G, n_areas, S, F))  # incumbents who do not move, by origin area
    stay_ring = np.zeros((R, G, n_areas, S, F))
    # the followed: their share of each origin area's class (and of each ring slot's),
    # before anyone moves, and who of them does not move
    NT, NR = traced.shape[0], traced.shape[2]
    share_t = np.zeros((NT, G, NR, S, T, F))
    share_r = np.zeros((R, NT, G, NR, S, T, F))
    if NT > 0:
        from_region = np.zeros(NR, np.bool_)
        for o in origins:
            from_region[t_region[o]] = True
        whole = np.zeros((G, NR, S, T, F))
        whole_r = np.zeros((R, G, NR, S, T, F))
        for g in range(lo, hi):
            if grade_mask[g]:
                for d in range(D):
                    if from_region[t_region[d]]:
                        whole[g, t_region[d]] += people[g, d]
                        for r in range(R):
                            whole_r[r, g, t_region[d]] += ring[r, g, d]
        for g in range(lo, hi):
            for a in range(NR):
                if not from_region[a]:
                    continue
                for s in range(S):
                    for t in range(T):
                        for fl in range(F):
                            x = whole[g, a, s, t, fl]
                            for tag in range(NT):
                                if x > 0:
                                    share_t[tag, g, a, s, t, fl] = traced[tag, g, a, s, t, fl] / x
                                for r in range(R):
                                    y = whole_r[r, g, a, s, t, fl]
                                    if y > 0:
                                        share_r[r, tag, g, a, s, t, fl] = (
                                            traced_ring[r, tag, g, a, s, t, fl] / y)
    stay_t = np.zeros((NT, G, NR, S, F))
    stay_ring_t = np.zeros((R, NT, G, NR, S, F))
    arrived = np.zeros((G, M, T))
    accept = np.empty((M, S))  # (worked out once per origin and grade, not per person class)
    for g in range(G):
        for i in range(n_origins):
            o = origins[i]
            a = area[o]
            ro = t_region[o]  # (the followed's region)
            if moved[g, i].max() <= 0:
                continue  # (nothing left this cell)
            for j in range(M):
                for s in range(S):
                    p = accept_by_grade[g] * per_100km ** (
                        distance_km[o, dests[j]] / 100.0) * support
                    if s == 0:
                        p *= high_seb_multiplier
                    accept[j, s] = min(p, 1.0)
            for t in range(T):
                fr = cell_share[g, i, t]  # the same share of the cell's incumbents
                if moved[g, i, t] <= 0 or fr <= 0:
                    continue
                for s in range(S):
                    for fl in range(F):
                        inc = people[g, o, s, t, fl] * fr
                        people[g, o, s, t, fl] -= inc
                        for j in range(M):
                            p = accept[j, s]
                            mv = inc * f[j] * p
                            people[g, dests[j], s, t, fl] += mv
                            arrived[g, j, t] += mv
                            movers_s[s] += mv
                            stay[g, a, s, fl] += inc * f[j] * (1 - p)
                        for r in range(R):
                            part = ring[r, g, o, s, t, fl] * fr
                            ring[r, g, o, s, t, fl] -= part
                            for j in range(M):
                                p = accept[j, s]
                                ring[r, g, dests[j], s, t, fl] += part * f[j] * p
                                stay_ring[r, g, a, s, fl] += part * f[j] * (1 - p)
                            for tag in range(NT if lo <= g < hi else 0):
                                y = part * share_r[r, tag, g, ro, s, t, fl]
                                traced_ring[r, tag, g, ro, s, t, fl] -= y
                                for j in range(M):
                                    p = accept[j, s]
                                    traced_ring[r, tag, g, t_region[dests[j]], s, t, fl] += (
                                        y * f[j] * p)
                                    stay_ring_t[r, tag, g, ro, s, fl] += y * f[j] * (1 - p)
                        for tag in range(NT if lo <= g < hi else 0):
                            x = inc * share_t[tag, g, ro, s, t, fl]
                            traced[tag, g, ro, s, t, fl] -= x
                            for j in range(M):
                                p = accept[j, s]
                                traced[tag, g, t_region[dests[j]], s, t, fl] += x * f[j] * p
                                stay_t[tag, g, ro, s, fl] += x * f[j] * (1 - p)
    # redeployed: into same-grade vacancies of their own area, while there are any
    vac = np.zeros((G, D, T))
    vac_area = np.zeros((G, n_areas))
    for g in range(G):
        for d in range(D):
            for t in range(T):
                occ = 0.0
                for s in range(S):
                    for fl in range(F):
                        occ += people[g, d, s, t, fl]
                v = max(posts[g, d, t] - held[g, d, t] - occ, 0.0)
                vac[g, d, t] = v
                vac_area[g, area[d]] += v
    for g in range(G):
        for a in range(n_areas):
            want = 0.0
            for s in range(S):
                for fl in range(F):
                    want += stay[g, a, s, fl] * redeploy_share
            if want <= 0:
                continue
            rate = _expected_min(want, vac_area[g, a]) / want
            for s in range(S):
                for fl in range(F):
                    st = stay[g, a, s, fl]
                    got = st * redeploy_share * rate
                    leavers_gs[g, s] += st - got
                    if got <= 0:
                        continue
                    ring_part = np.zeros(R)
                    for r in range(R):
                        ring_part[r] = stay_ring[r, g, a, s, fl] * redeploy_share * rate
                    for d in range(D):
                        if area[d] != a:
                            continue
                        for t in range(T):
                            w = vac[g, d, t] / vac_area[g, a]
                            if w > 0:
                                people[g, d, s, t, fl] += got * w
                                for r in range(R):
                                    ring[r, g, d, s, t, fl] += ring_part[r] * w
            if NT > 0 and lo <= g < hi and vac_area[g, a] > 0:  # (the followed alike)
                into = np.zeros((NR, T))  # (each region's share of the area's vacancies)
                for d in range(D):
                    if area[d] == a:
                        for t in range(T):
                            into[t_region[d], t] += vac[g, d, t] / vac_area[g, a]
                for rs in range(NR):  # (from each of the area's regions, to each)
                    if t_area[rs] != a:
                        continue
                    for rd in range(NR):
                        if t_area[rd] != a:
                            continue
                        for tag in range(NT):
                            for s in range(S):
                                for fl in range(F):
                                    got = stay_t[tag, g, rs, s, fl] * redeploy_share * rate
                                    for t in range(T):
                                        w = into[rd, t]
                                        traced[tag, g, rd, s, t, fl] += got * w
                                        for r in range(R):
                                            traced_ring[r, tag, g, rd, s, t, fl] += (
                                                stay_ring_t[r, tag, g, rs, s, fl]
                                                * redeploy_share * rate * w)
    if backfill_anywhere:
        for g in range(G):
            for j in range(M):
                for t in range(T):
                    into = 0.0
                    for i in range(n_origins):
                        into += moved[g, i, t] * f[j]
                    empty = max(into - arrived[g, j, t], 0.0)
                    for s in range(S):
                        add = empty * national_pdf[g, s]
                        people[g, dests[j], s, t, 0] += add
                        blocked[g, dests[j], s, t, 0] += add
                        ring[ring_slot, g, dests[j], s, t, 0] += add * survival[g]
    return movers_s, leavers_gs, moved_o


def run_expected(model: Model, *, follow_cohort: bool = True) -> ReplicationResult:
    """Run the expected-value (cohort flow) mode of a prepared model.

    Parameters
    ----------
    model : Model
    follow_cohort : bool
        Follow the EOs in post at the start (:mod:`placesim.cohort`,
        :mod:`placesim.cohort_tracer`): a run takes about a tenth longer; a fit that reads
        no cohort figures can leave it out (its records then hold zeros), and nothing else
        changes.

    Returns
    -------
    ReplicationResult
        One "replication" whose values are expectations.
    """
    return run_timeline(model, _ExpectedRun(model, follow_cohort))


__all__ = ["run_expected"]
