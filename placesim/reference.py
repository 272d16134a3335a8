"""A reference model written the straightforward way: one SimPy process per person.

It reads the same compiled :class:`placesim.rules.Rules` as the engine and the expected mode
and carries them out with Python objects: each person is a SimPy process that may leave at
each step (a Bernoulli draw at their grade's rate), and a manager process applies the lever
events, the relocation waves' moves and then fills the vacancies one at a time — by the rule
in :mod:`placesim.rules`: a route, then (for a promotion) local or another area with
probability proportional to the start-of-step choice weights, then a person of that area
drawn with probability proportional to their own weight among those still eligible, by an
explicit weighted choice over the area's people.

It exists for two reasons: as a **correctness oracle** (on a small population its
distribution must match the vectorised engine's within Monte Carlo error) and as the **speed
baseline** the benchmark compares the engine with. Do not use it for real runs: it scales like
the frameworks placesim avoids. Waves and sites' desks run on the engine's own timeline
(:func:`placesim.engine.start_waves`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import simpy

from .cohort import N_TAGS, REACH_GRADE, start_tags
from .engine import (
    Model,
    ReplicationResult,
    YearRecord,
    move_pending,
    start_waves,
    wave_shortfall,
)
from .levers import SECONDEE_POST, LeverState
from .population import N_GRADES, N_SEB, N_TYPES, OTHER, POLICY, PRIVATE_OFFICE
from .posts import passed_deadline, share_out
from .rules import (
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
    TIMED,
    department_counts,
    lateral_factor,
    promotion_weight,
    support_paid,
)


@dataclass(eq=False)
class Post:
    """One post and its occupant (None when vacant)."""

    grade: int
    district: int
    ptype: int
    person: Person | None = None
    held_for: Person | None = None  # the holder is away on a London posting
    home: Post | None = None  # for a London posting: the post held at home
    back: int = -1  # for a London posting: the step its holder returns
    open: bool = True


@dataclass(eq=False)
class Person:
    """One civil servant."""

    seb: int
    since: int
    ready: int
    post: Post | None = None
    flag: int = NONE
    flag_until: int = 0
    active: bool = True
    away_until: int = -1  # on an outbound secondment until this step
    cohort: int = 0  # followed from the start (placesim.cohort): 1 London, 2 outside London


class ReferenceModel:
    """Per-person simulation of a prepared :class:`~placesim.engine.Model`.

    Parameters
    ----------
    model : Model
        Prepared by :func:`placesim.engine.prepare` (small populations only).
    replication, seed : int
        Its own random stream (the draws differ from the engine's: only distributions match).
    """

    def __init__(self, model: Model, replication: int, seed: int):
        self.m = model
        self.r = model.rules
        self.rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(
            replication + 10_000_019,)))
        sl = model.people("the reference model")
        self.cohort_size = np.zeros(N_TAGS)
        self.cohort_reached = np.zeros(N_TAGS)
        self.posts: list[Post] = []
        self.people: list[Person] = []
        D = model.geo.n_districts
        for i in range(sl.size):
            if sl.district[i] == D:
                continue
            post = Post(int(sl.grade[i]), int(sl.district[i]), int(sl.ptype[i]))
            if sl.seb[i] >= 0:
                person = Person(int(sl.seb[i]), int(sl.grade_since[i]), int(sl.ready[i]), post,
                                cohort=int(start_tags(sl.grade[i], model.geo.is_london[
                                    sl.district[i]], True)))
                self.cohort_size[person.cohort] += 1
                post.person = person
                self.people.append(person)
            self.posts.append(post)
        self.step_index = 0
        self.env = simpy.Environment()
        self.processes: list = []  # every process started, closed when the run ends
        self.records: list[YearRecord] = []
        self._step_rules: dict = {}  # a step's arrays of the rules (_at)
        self._year_reset()
        self.moved_cold = 0
        # roles moved before the start (history) count towards the programme's total
        self.moved_out = self.r.moved_before_start  # (history: as the engine counts it)
        self.moved_total = 0
        self.reloc_leavers = np.zeros((N_GRADES, N_SEB))
        self.reloc_movers = np.zeros(N_SEB)
        self.cost_movers = 0.0
        self.cost_promotion_support = 0.0
        self.pending: list[tuple] = []  # (wave, posts by destination, tranche)
        self.awaiting = 0  # posts waiting for a site's desks
        self.recreated: dict[int, np.ndarray] = {}  # posts each wave opened, by destination
        self.wave_totals: dict[int, int] = {}  # posts each wave takes (engine.start_waves)
        self.wave_missed = np.zeros(len(self.r.waves))  # (engine.move_pending)
        self.closing = np.zeros(self.r.posts.n_pools, np.int64)  # closures waiting by pool
        self.pool_added = np.zeros(self.r.posts.n_pools, np.int64)  # closures given, so far
        self.redundancies = np.zeros((N_GRADES, N_SEB))
        self.wave_redundancies = np.zeros((N_GRADES, N_SEB))  # (of them, waves' deadlines')
        self.lever_state = LeverState(model)
        self.inbound: list[tuple[int, Post, Person]] = []  # (end step, post, secondee)

    def _year_reset(self):
        D = self.m.geo.n_districts
        self.promotions = np.zeros((N_GRADES, D, N_SEB))
        self.exits = np.zeros((N_GRADES, D, N_SEB))
        self.exposure = np.zeros((N_GRADES, D, N_SEB))
        self.to_london = np.zeros(N_SEB)
        self.from_london = np.zeros(N_SEB)
        self.cross_area = np.zeros(N_GRADES)

    def _area(self, post: Post) -> int:
        return int(self.r.area[post.district])

    # -- processes ------------------------------------------------------------------------
    def person_process(self, person: Person, delay: float | None = None):
        """A person's life: at each step they may leave the Civil Service (first after
        ``delay``, by default half a step)."""
        dt = 1.0 / self.r.steps_per_year
        yield self.env.timeout(dt / 2 if delay is None else delay)
        while person.active:
            post = person.post
            if self.rng.random() < self.r.exit_q[post.grade]:
                self.exits[post.grade, post.district, person.seb] += 1
                self._leave(person)
                return
            yield self.env.timeout(dt)

    def _leave(self, person: Person):
        post = person.post
        post.person = None
        person.active = False
        if post.home is not None:  # on a London posting: both posts are freed
            post.home.held_for = None
            post.home = None
            post.open = False

    def before_exits(self):
        """Each step, before people may leave: lever events, then relocation moves."""
        dt = 1.0 / self.r.steps_per_year
        yield self.env.timeout(dt / 2 - 1e-9)
        for k in range(self.r.n_steps):
            self.step_index = k
            for person in self.people:  # programme states that run out
                if person.active and person.flag in TIMED and person.flag_until <= k:
                    person.flag = NONE
            for event in self.r.events_at(k):
                self._event(event, k)
            self._post_schedule(k)
            move_pending(self, lambda plan, per_dest, _: self._move(plan, per_dest))
            yield self.env.timeout(dt)

    def after_exits(self):
        """Each step, after people may leave: fill vacancies one by one, then count."""
        dt = 1.0 / self.r.steps_per_year
        yield self.env.timeout(dt / 2 + 1e-9)
        for k in range(self.r.n_steps):
            self.step_index = k
            across = self.cross_area.sum()
            self._fill(k)
            paid = support_paid(self.r, k, self.cross_area.sum() - across)  # (the engine's)
            self.cost_movers += paid
            self.cost_promotion_support += paid
            for p in self.posts:
                if p.open and p.person is not None:
                    self.exposure[p.grade, p.district, p.person.seb] += dt
            if self.m.scenario.levers.secondments is not None:  # the step's secondees (an
                # outreach alone has none: every person was walked for nothing each step)
                in_post, away = self._secondees()
                self.lever_state.add_time(in_post, away, dt)
            if (k + 1) % self.r.steps_per_year == 0:
                self._year_end((k + 1) // self.r.steps_per_year)
            yield self.env.timeout(dt)

    def available(self, plan) -> int:
        """Posts a wave may take now (:func:`placesim.engine.start_waves`)."""
        return len(self._matching(plan))

    # -- the rule for choosing who fills a vacancy ----------------------------------------
    def _weight(self, person: Person, vacancy_policy: bool, g_into: int) -> float:
        r = self.r
        post = person.post
        return promotion_weight(r.odds, r.flag_weight, r.accelerator_weight,
                                r.london_advantage, r.policy_match_weight, g_into, person.seb,
                                post.ptype, person.flag, bool(r.is_london[post.district]),
                                vacancy_policy)

    def _lateral(self, person: Person, vacancy_policy: bool) -> float:
        r = self.r
        return lateral_factor(np.ones((1, 1), np.float32), 1.0, 1.0, r.willingness, 1.0,
                              r.policy_match_weight, 0, False, 0, False, person.seb,
                              person.post.ptype, vacancy_policy)

    def _eligible(self, person: Person | None, k: int) -> bool:
        return (person is not None and person.active and person.ready <= k
                and person.post.home is None and person.away_until < 0)

    def _fill(self, k: int):
        r = self.r
        A = r.n_areas
        # start-of-step totals: promotion weights (grade, area, seb, vp), lateral weights
        W = np.zeros((N_GRADES, A, N_SEB, 2))
        Lw = np.zeros((N_GRADES, A, N_SEB, 2))
        blocks: dict[tuple[int, int], list[Post]] = {}
        for p in self.posts:
            if not p.open:
                continue
            blocks.setdefault((p.grade, self._area(p)), []).append(p)
            person = p.person
            if not self._eligible(person, k):
                continue
            a = self._area(p)
            for vp in (0, 1):
                if p.grade < N_GRADES - 1:
                    W[p.grade, a, person.seb, vp] += self._weight(person, bool(vp),
                                                                  p.grade + 1)
                Lw[p.grade, a, person.seb, vp] += self._lateral(person, bool(vp))
        kt = r.kernel.T.astype(float)
        leave = r.area_leave
        vacancies = [p for p in self.posts if p.open and p.person is None and p.held_for is None]
        for i in self.rng.permutation(len(vacancies)):
            v = vacancies[i]
            if self._closes(v):
                continue
            g, dv, av = v.grade, v.district, self._area(v)
            vp = int(v.ptype != OTHER)
            pull = r.london_pull if r.is_london[dv] else 1.0
            u = self.rng.random()
            chosen, kind = None, None
            if u < r.lateral_share[g]:
                mass = kt[dv] * leave * Lw[g, :, :, vp].sum(axis=1)
                mass[av] = 0.0
                if mass.sum() > 0:
                    a = int(self.rng.choice(A, p=mass / mass.sum()))
                    chosen = self._choose(blocks.get((g, a), []), k,
                                          lambda c, vp=vp: self._lateral(c, bool(vp)))
                    kind = "lateral"
            elif g > 0 and u < r.lateral_share[g] + (1 - r.lateral_share[g]) * r.internal_share[g]:
                h = g - 1
                boost = np.ones(N_SEB)
                rf = r.reach[g] * r.will_mult[k] * pull
                loc = W[h, av, :, vp]
                rem = rf * ((kt[dv] * leave)[:, None] * W[h, :, :, vp]
                            * r.willingness[None, :]).sum(axis=0)
                if g == SCS1 and r.scs_low_target[k] > 0:
                    tot, low = (loc + rem).sum(), (loc + rem)[LOW]
                    t = r.scs_low_target[k]
                    if 0 < low < t * tot:
                        p = low / tot
                        boost[LOW] = t * (1 - p) / (p * (1 - t))
                local, remote = (loc * boost).sum(), (rem * boost).sum()
                if local + remote > 0:
                    if self.rng.random() * (local + remote) < local:
                        a, kind = av, "local"
                    else:
                        mass = kt[dv] * leave * (W[h, :, :, vp] * r.willingness[None, :]
                                                 * boost[None, :]).sum(axis=1)
                        a, kind = int(self.rng.choice(A, p=mass / mass.sum())), "remote"

                    def weight(c, a=a, vp=vp, g=g, boost=boost, kind=kind):
                        w = self._weight(c, bool(vp), g) * boost[c.seb]
                        return w * (r.willingness[c.seb] if kind == "remote" else 1.0)

                    chosen = self._choose(blocks.get((h, a), []), k, weight)
            if chosen is not None:
                old = chosen.post
                old.person = None
                if kind == "lateral":
                    chosen.ready = max(chosen.ready, k + 1)
                else:
                    self.promotions[g, old.district, chosen.seb] += 1
                    lon = r.is_london
                    if lon[dv] and not lon[old.district]:
                        self.to_london[chosen.seb] += 1
                    if lon[old.district] and not lon[dv]:
                        self.from_london[chosen.seb] += 1
                    if r.area[dv] != r.area[old.district]:
                        self.cross_area[g] += 1
                    chosen.since = k
                    chosen.ready = k + r.min_steps
                    chosen.flag = int(r.flag_after[chosen.flag, g])
                    if chosen.cohort and g >= REACH_GRADE:  # (as the engine and expected)
                        if g == REACH_GRADE:
                            self.cohort_reached[chosen.cohort] += 1
                        chosen.cohort = 0
                chosen.post = v
                v.person = chosen
                continue
            blocked = self._at(k, r.freeze_at)[g, dv]
            if blocked > 0 and self.rng.random() < blocked:
                continue
            c = self._at(k, r.recruit_cdf_at)[g, dv]
            seb = min(int(np.searchsorted(c, self.rng.random(), side="right")), N_SEB - 1)
            self._recruit(v, seb, k)
            self.lever_state.add_recruit(r, k, g, dv, seb)

    def _closes(self, v: Post) -> bool:
        """A vacancy in a pool with closures waiting closes instead of being filled."""
        pp = self.r.posts
        for p in range(pp.n_pools):
            if (self.closing[p] > 0 and pp.pool_grade[p] == v.grade
                    and pp.pool_mask[p, v.district] and pp.pool_types[p, v.ptype]):
                self.closing[p] -= 1
                v.open = False
                return True
        return False

    def _post_schedule(self, k: int):
        """Posts opened, closures added, and deadlines met (vacant posts first, then occupied
        ones chosen at random, their holders made redundant)."""
        pp = self.r.posts
        if k in pp.creates:
            for g, d, t, n in zip(*pp.creates[k], strict=True):
                self.posts += [Post(int(g), int(d), int(t)) for _ in range(int(n))]
        if k in pp.closes:
            for p, n in zip(*pp.closes[k], strict=True):
                self.closing[p] += n
        for p in passed_deadline(pp.pool_deadline, self.closing, k):
            cands = [q for q in self.posts if q.open and q.held_for is None
                     and q.grade == pp.pool_grade[p] and pp.pool_mask[p, q.district]
                     and pp.pool_types[p, q.ptype]]
            vacant = [q for q in cands if q.person is None]
            occupied = [q for q in cands if q.person is not None]
            n = int(self.closing[p])
            shut = vacant[:n] + self._sample(occupied, n - min(n, len(vacant)))
            wave_pool = bool(pp.is_wave_pool[p])
            for q in shut:
                if q.person is not None:
                    self.redundancies[q.grade, q.person.seb] += 1
                    if wave_pool:
                        self.reloc_leavers[q.grade, q.person.seb] += 1
                        self.wave_redundancies[q.grade, q.person.seb] += 1
                    q.person.active = False
                    q.person = None
                q.open = False
            self.closing[p] = 0

    def _choose(self, block: list[Post], k: int, weight) -> Person | None:
        """A person of the block with probability proportional to ``weight``."""
        cands = [p.person for p in block if self._eligible(p.person, k)]
        if not cands:
            return None
        w = np.array([weight(c) for c in cands], float)
        if w.sum() <= 0:
            return None
        return cands[int(self.rng.choice(len(cands), p=w / w.sum()))]

    def _recruit(self, post: Post, seb: int, k: int):
        person = Person(seb, k, k + self.r.min_steps, post)
        post.person = person
        self.people.append(person)
        self._start(self.person_process(person))

    def _at(self, k: int, rule):
        """``rule(k)`` (a rules method giving a step's arrays), worked out once a step."""
        if self._step_rules.get("step") != k:
            self._step_rules = {"step": k}
        if rule.__name__ not in self._step_rules:
            self._step_rules[rule.__name__] = rule(k)
        return self._step_rules[rule.__name__]

    # -- levers ---------------------------------------------------------------------------
    def _in_post(self, person: Person) -> bool:
        return person.active and person.post.home is None and person.away_until < 0

    def _reached(self, event, people: list) -> list:
        """Those of ``people`` an event of a lever given ``department:`` reaches: each with
        the chance its ``reach`` gives their (grade, district) (:mod:`placesim.reach`),
        drawn afresh at each event; all of them without it."""
        if event.reach is None:
            return people
        return [p for p in people
                if self.rng.random() < event.reach[p.post.grade, p.post.district]]

    def _event(self, event, k: int):
        r = self.r
        everyone = [p for p in self.people if self._in_post(p)
                    and event.grades[p.post.grade]]
        people = (self._reached(event, everyone) if event.kind in (SCHEME_ENROL, POSTING_ENROL)
                  else everyone)
        if event.kind == MENTOR_ENROL:
            low = [p for p in everyone if p.seb == LOW and p.flag in (NONE, MENTORED)]
            pool = self._reached(event, [p for p in low if p.flag == NONE])
            already = sum(p.flag == MENTORED for p in low)
            # (every mentee is one of the departments' staff)
            staff = len(low) if event.reach is None else float(sum(
                event.reach[p.post.grade, p.post.district] for p in low))
            for p in self._sample(pool, event.mentees_wanted(staff, already, whole=True)):
                p.flag = MENTORED
        elif event.kind == MENTOR_END:
            for p in self.people:
                if p.flag == MENTORED:
                    p.flag = NONE
        elif event.kind == SCHEME_ENROL:
            open_ = [p for p in people if p.flag in (NONE, MENTORED)]
            low = self._sample([p for p in open_ if p.seb == LOW], event.low_seb_places())
            chosen = set(map(id, low))
            rest = self._sample([p for p in open_ if id(p) not in chosen],
                                event.places - len(low))
            for p in low + rest:
                p.flag = SCHEME
                p.flag_until = k + int(self.rng.geometric(r.flag_hazard[SCHEME]))
        elif event.kind == POSTING_ENROL:
            open_ = [p for p in people if p.flag in (NONE, MENTORED)
                     and not r.is_london[p.post.district]]
            for person in self._sample(open_, event.places):
                home = person.post
                posting = Post(home.grade, r.posting_district, PRIVATE_OFFICE, person,
                               home=home, back=k + r.posting_steps)
                self.posts.append(posting)
                home.person, home.held_for = None, person
                person.post = posting
        elif event.kind == POSTING_RETURN:
            for posting in [p for p in self.posts if p.open and p.back == k
                            and p.person is not None]:
                person, home = posting.person, posting.home
                home.person, home.held_for = person, None
                person.post = home
                person.ready = k + 1
                person.flag = POSTED
                person.flag_until = k + int(self.rng.geometric(r.flag_hazard[POSTED]))
                posting.person, posting.home, posting.open = None, None, False
        elif event.kind in (SECONDEES_IN, SECONDEES_END, OUTBOUND_START, OUTBOUND_RETURN):
            self._secondment_event(event, k)

    def _secondment_event(self, event, k: int):
        """Secondments (see :mod:`placesim.levers`), one person at a time."""
        r = self.r
        if event.kind == SECONDEES_IN:
            for d in event.districts:
                for g in np.flatnonzero(event.by_grade):
                    for _ in range(int(event.by_grade[g])):
                        seb = min(int(np.searchsorted(r.secondee_cdf[d], self.rng.random(),
                                                      side="right")), N_SEB - 1)
                        secondee = Person(seb, k, 10**9)
                        post = Post(int(g), int(d), SECONDEE_POST, held_for=secondee)
                        self.posts.append(post)
                        self.inbound.append((k + r.secondee_steps, post, secondee))
        elif event.kind == SECONDEES_END:
            for _, post, person in [c for c in self.inbound if c[0] == k]:
                if self.rng.random() < r.secondee_conversion:
                    post.held_for = None
                    person.since, person.ready, person.post = k, k + r.min_steps, post
                    post.person = person
                    self.people.append(person)
                    # may leave from this step on, like anyone in post now
                    self._start(self.person_process(person, delay=1e-9))
                    self.lever_state.convert(post.grade, post.district, person.seb)
                else:
                    post.held_for, post.open = None, False
            self.inbound = [c for c in self.inbound if c[0] != k]
        elif event.kind == OUTBOUND_START:
            for d in event.districts:
                open_ = self._reached(event, [
                    p for p in self.people if self._in_post(p) and event.grades[p.post.grade]
                    and p.post.district == d and p.flag in (NONE, MENTORED)])
                for person in self._sample(open_, event.places):
                    person.away_until = k + r.outbound_steps
        elif event.kind == OUTBOUND_RETURN:
            for person in self.people:
                if person.away_until == k:
                    person.away_until = -1
                    if person.active:
                        person.ready = k + 1
                        person.flag = SECONDED
                        person.flag_until = k + int(self.rng.geometric(
                            r.flag_hazard[SECONDED]))

    def _sample(self, pool: list, n: int) -> list:
        n = max(0, min(int(n), len(pool)))
        return [pool[i] for i in self.rng.choice(len(pool), size=n, replace=False)]

    # -- relocation waves -----------------------------------------------------------------
    def _matching(self, plan) -> list[Post]:
        return [p for p in self.posts if p.open and p.held_for is None
                and (p.person is None or p.person.away_until < 0)
                and plan.origin_mask[p.district] and plan.grade_mask[p.grade]
                and plan.type_mask[p.ptype]]

    def _move(self, plan, per_dest):
        geo, k = self.m.geo, self.step_index
        if plan.recreate:
            from .posts import recreate_counts

            done = self.recreated.setdefault(plan.index,
                                             np.zeros(len(plan.destinations), np.int64))
            g, d, t, n = recreate_counts(self.r.posts, plan.index, plan.destinations, per_dest,
                                         done, self.wave_totals[plan.index])
            # the engine's rule: closures split over the wave's pools (by department)
            pools, closures = self.r.posts.wave_closures(plan.index, g, n, self.pool_added)
            np.add.at(self.closing, pools, closures)
            np.add.at(self.pool_added, pools, closures)
            for gi, di, ti, ni in zip(g, d, t, n, strict=True):
                self.posts += [Post(int(gi), int(di), int(ti)) for _ in range(int(ni))]
                self.moved_total += int(ni)
                self.moved_cold += int(ni) * int(geo.is_coldspot[di])
            # the engine's rule: roles count as from the origin districts by their shares
            frm, to, roles = self.r.posts.recreated_from(plan.index, g, d, n)
            self.moved_out += float(roles[geo.is_london[frm] & ~geo.is_london[to]].sum())
            return
        matching = self._matching(plan)
        n = min(int(per_dest.sum()), len(matching))
        if plan.dept_posts is None:
            chosen = [matching[i] for i in self.rng.choice(len(matching), size=n, replace=False)]
        else:  # its departments' posts: so many from each cell as the rule says, at random
            by_cell: dict[tuple, list] = {}
            for q in matching:
                by_cell.setdefault((q.grade, q.district, q.ptype), []).append(q)
            cells = list(by_cell)
            take = department_counts(np.array([plan.dept_posts[c] for c in cells], float),
                                     np.array([len(by_cell[c]) for c in cells]),
                                     int(per_dest.sum()), self.rng.random())
            chosen = [q for c, k in zip(cells, take, strict=True)
                      for q in self._sample(by_cell[c], k)]
            chosen = [chosen[i] for i in self.rng.permutation(len(chosen))]
            n = len(chosen)
        dests = []
        if n < int(per_dest.sum()):  # (fewer found than asked: each destination its share)
            per_dest = share_out(n, per_dest)
        for (districts, _, _), kk in zip(plan.destinations, per_dest, strict=True):
            dests += [int(districts[0]) if len(districts) == 1
                      else int(districts[self.rng.integers(0, len(districts))])
                      for _ in range(kk)]
        moving = set(map(id, chosen))
        support, support_gbp = float(self.r.accept_mult[k]), plan.support_gbp + float(
            self.r.support_gbp[k])
        for post, dest in zip(chosen, dests, strict=False):
            origin = post.district
            person = post.person
            if person is not None:
                p = (plan.accept_by_grade[post.grade] * support
                     * plan.per_100km ** (geo.distance_km[origin, dest] / 100.0))
                if person.seb == 0:
                    p *= plan.high_seb_multiplier
                if self.rng.random() < min(p, 1.0):
                    self.reloc_movers[person.seb] += 1
                    package = self.r.cost_mover_gbp + support_gbp
                    self.cost_movers += package
                else:
                    post.person = None
                    placed = False
                    if self.rng.random() < plan.redeploy_share:
                        area = self.r.area[origin]
                        free = [q for q in self.posts if q.open and q.grade == post.grade
                                and q.person is None and q.held_for is None
                                and self.r.area[q.district] == area and id(q) not in moving]
                        if free:
                            q = free[int(self.rng.integers(0, len(free)))]
                            q.person, person.post = person, q
                            placed = True
                    if not placed:
                        person.active = False
                        self.reloc_leavers[post.grade, person.seb] += 1
            post.district = dest
            if plan.backfill_anywhere and post.person is None:
                c = self.r.national_cdf[post.grade]
                seb = min(int(np.searchsorted(c, self.rng.random(), side="right")), N_SEB - 1)
                self._recruit(post, seb, k)
            self.moved_total += 1
            self.moved_out += int(geo.is_london[origin] and not geo.is_london[dest])
            self.moved_cold += int(geo.is_coldspot[dest])

    def _year_end(self, n: int):
        D = self.m.geo.n_districts
        stock = np.zeros((N_GRADES, D, N_SEB))
        posts3 = np.zeros((N_GRADES, D, N_TYPES))
        posting = np.zeros(N_GRADES)  # posts of people away on London postings
        for p in self.posts:
            if not p.open:
                continue
            posts3[p.grade, p.district, p.ptype] += 1
            posting[p.grade] += p.home is not None
            if p.person is not None:
                stock[p.grade, p.district, p.person.seb] += 1
        self.records.append(YearRecord(
            year=self.r.start_year + n, stock=stock, posts=posts3.sum(axis=2),
            policy_posts=posts3[:, :, POLICY] + posts3[:, :, PRIVATE_OFFICE],
            private_office_posts=posts3[:, :, PRIVATE_OFFICE], exposure=self.exposure,
            promotions=self.promotions, exits=self.exits,
            moves_to_london_for_promotion=self.to_london,
            moves_from_london_for_promotion=self.from_london,
            cross_area_promotions=self.cross_area, moved_out_of_london=self.moved_out,
            moved_total=self.moved_total, moved_to_coldspots=self.moved_cold,
            reloc_leavers=self.reloc_leavers.copy(), reloc_movers=self.reloc_movers.copy(),
            awaiting_capacity=self.awaiting, posts_closed=0.0,
            closures_pending=self.closing.astype(float), redundancies=self.redundancies.copy(),
            wave_redundancies=self.wave_redundancies.copy(),
            cost_movers_gbp=self.cost_movers,
            cost_promotion_support_gbp=self.cost_promotion_support,
            levers=self.lever_state.year(self._secondees()[0]),
            wave_posts_not_found=wave_shortfall(self.r.waves, self.wave_totals,
                                                self.wave_missed),
            posting_posts=posting, cohort_size=self.cohort_size[1:].copy(),
            cohort_reached=self.cohort_reached[1:].copy(),
        ))
        self._year_reset()

    def _secondees(self) -> tuple[np.ndarray, np.ndarray]:
        """(grade, district) inbound secondees in post and civil servants out on
        secondment."""
        shape = (N_GRADES, self.m.geo.n_districts)
        in_post, away = np.zeros(shape), np.zeros(shape)
        for _, post, _ in self.inbound:
            in_post[post.grade, post.district] += 1
        for person in self.people:
            if person.active and person.away_until >= 0:
                away[person.post.grade, person.post.district] += 1
        return in_post, away

    def run(self) -> ReplicationResult:
        """Run the whole horizon and return records in the engine's format."""
        for person in self.people:
            self._start(self.person_process(person))
        self._start(self.before_exits())
        self._start(self.after_exits())
        start_waves(self.env, self, self.r, self._start)
        try:
            self.env.run(until=float(self.r.n_steps / self.r.steps_per_year))
        finally:
            # (as placesim.engine.run_timeline does: the processes still waiting at the
            # horizon, one a person, hold the model and its people in a cycle with the
            # environment until a garbage collection; closed, the model is freed on return,
            # and only the environment's own queue waits for the collector)
            for generator in self.processes:
                generator.close()
        moves = pd.DataFrame(columns=["wave", "year", "from", "to", "posts"])
        return ReplicationResult(replication=0, years=self.records, moves=moves)

    def _start(self, generator) -> None:
        self.processes.append(generator)
        self.env.process(generator)


def run_reference(model: Model, replication: int, seed: int | None = None) -> ReplicationResult:
    """Run one replication of the per-person reference model.

    Parameters
    ----------
    model : Model
    replication : int
    seed : int, optional

    Returns
    -------
    ReplicationResult
    """
    seed = model.scenario.seed if seed is None else seed
    return ReferenceModel(model, replication, seed).run()
