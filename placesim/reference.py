"""A reference model written the straightforward way: one SimPy process per person.

It implements the same rules as :mod:`placesim.flows` — exits at grade rates, vacancies filled
by promotion (local candidates first, then candidates elsewhere willing to move), lateral moves
or external recruits, and relocation waves with incumbents accepting, being redeployed or
leaving — with Python objects: each person is a SimPy process that ages and may leave at each
step, and a manager process fills vacancies one at a time.

It exists for two reasons: as a **correctness oracle** (on a small scenario its distribution
must match the vectorised engine's within Monte Carlo error) and as the **speed baseline** the
benchmark compares the engine with. Do not use it for real runs: it scales like the frameworks
placesim avoids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from .engine import Model, ReplicationResult, YearRecord, _split, replication_rng
from .flows import LOCAL_ROUNDS, POLICY, REMOTE_ROUNDS
from .grades import ROLES
from .population import N_GRADES, N_SEB

PO = ROLES.index("private_office")


@dataclass(eq=False)
class Post:
    """One post and its occupant (None when vacant)."""

    grade: int
    district: int
    profession: int
    role: int
    person: Person | None = None


@dataclass(eq=False)
class Person:
    """One civil servant."""

    seb: int
    since: int
    accelerator: bool
    mentored: bool
    post: Post | None = None
    touched: int = -1
    active: bool = True


class ReferenceModel:
    """Per-person simulation of a prepared :class:`~placesim.engine.Model`.

    Parameters
    ----------
    model : Model
        Prepared by :func:`placesim.engine.prepare` (small populations only).
    replication, seed : int
        Random streams, as the engine's (the draws differ: only distributions match).
    """

    def __init__(self, model: Model, replication: int, seed: int):
        self.m = model
        self.rng, self.rng_moves, _ = replication_rng(seed, replication + 10_000_019)
        sl = model.population
        self.posts: list[Post] = []
        self.people: list[Person] = []
        for i in range(sl.size):
            post = Post(int(sl.grade[i]), int(sl.district[i]), int(sl.profession[i]),
                        int(sl.role[i]))
            person = Person(int(sl.seb[i]), int(sl.grade_since[i]), bool(sl.accelerator[i]),
                            False, post)
            post.person = person
            self.posts.append(post)
            self.people.append(person)
        self.step_index = 0
        self.env = simpy.Environment()
        self.records: list[YearRecord] = []
        self._year_reset()
        self.moved_out = self.moved_total = self.moved_cold = 0
        self.reloc_leavers = np.zeros(N_SEB)
        self.reloc_movers = np.zeros(N_SEB)
        self.cost = 0.0

    # -- groups of posts by (grade, area), rebuilt when posts move ------------------------
    def _index(self):
        area = self.m.geo.area
        self.by_block: dict[tuple[int, int], list[Post]] = {}
        self.by_grade: dict[int, list[Post]] = {}
        for p in self.posts:
            self.by_block.setdefault((p.grade, int(area[p.district])), []).append(p)
            self.by_grade.setdefault(p.grade, []).append(p)

    def _year_reset(self):
        D = self.m.geo.n_districts
        self.promotions = np.zeros((N_GRADES, D, N_SEB))
        self.exits = np.zeros((N_GRADES, D, N_SEB))
        self.exposure = np.zeros((N_GRADES, D, N_SEB))
        self.to_london = np.zeros(N_SEB)

    # -- processes ------------------------------------------------------------------------
    def person_process(self, person: Person):
        """A person's life: at each step they may leave the Civil Service."""
        dt = 1.0 / self.m.steps_per_year
        yield self.env.timeout(dt / 2)
        while person.active:
            post = person.post
            if self.rng.random() < self.m.rules.exit_q[post.grade]:
                self.exits[post.grade, post.district, person.seb] += 1
                post.person = None
                person.active = False
                return
            yield self.env.timeout(dt)

    def manager_process(self):
        """Each step, after the people: fill vacancies one by one, then count."""
        dt = 1.0 / self.m.steps_per_year
        yield self.env.timeout(dt / 2 + 1e-9)
        for k in range(self.m.years * self.m.steps_per_year):
            self.step_index = k
            self._fill()
            for p in self.posts:
                if p.person is not None:
                    self.exposure[p.grade, p.district, p.person.seb] += dt
            if (k + 1) % self.m.steps_per_year == 0:
                self._year_end((k + 1) // self.m.steps_per_year)
            yield self.env.timeout(dt)

    def wave_process(self, plan):
        """A relocation wave in tranches (site capacity is not modelled here)."""
        dt = 1.0 / self.m.steps_per_year
        yield self.env.timeout(max(plan.start_time, 0.0) + dt / 2 - 2e-9)
        matching = [p for p in self.posts if self._matches(plan, p)]
        total = plan.count if plan.count is not None else int(round(plan.share * len(matching)))
        for n in _split(min(total, len(matching)), [1.0] * plan.n_tranches):
            per_dest = _split(int(n), [s for _, s, _ in plan.destinations])
            self._move(plan, per_dest)
            yield self.env.timeout(dt)

    # -- rules ----------------------------------------------------------------------------
    @staticmethod
    def _matches(plan, p: Post) -> bool:
        return bool(plan.origin_mask[p.district] and plan.grade_mask[p.grade]
                    and (plan.profession < 0 or p.profession == plan.profession)
                    and (plan.role < 0 or p.role == plan.role))

    def _eligible(self, person: Person | None) -> bool:
        r = self.m.rules
        return (person is not None and person.touched != self.step_index
                and self.step_index - person.since >= r.min_steps_in_grade)

    def _weight(self, person: Person, vacancy: Post) -> tuple[float, float]:
        r = self.m.rules
        g = vacancy.grade
        w = r.seb_odds[g, person.seb]
        if person.accelerator:
            w *= r.accelerator_weight
        policy = vacancy.profession == POLICY
        if policy and person.post.profession == POLICY:
            w *= r.policy_match_weight
        w_max = r.seb_odds[g].max() * r.accelerator_weight
        if policy:
            w_max *= r.policy_match_weight
        return w, w_max

    def _reloc(self, person: Person, vacancy: Post) -> float:
        """Chance a candidate from elsewhere moves for the post (0 within an area)."""
        r = self.m.rules
        k = float(r.relocation_kernel[person.post.district, vacancy.district])
        return min(r.willingness[person.seb] * r.support_willingness * k, 1.0)

    def _search(self, pool: list[Post], vacancy: Post, rounds: int, accept) -> Person | None:
        for _ in range(rounds):
            if not pool:
                return None
            cand = pool[int(self.rng.random() * len(pool))].person
            if self._eligible(cand) and self.rng.random() < accept(cand):
                return cand
        return None

    def _fill(self):
        r, geo, k = self.m.rules, self.m.geo, self.step_index
        vacancies = [p for p in self.posts if p.person is None]
        order = self.rng.permutation(len(vacancies))
        for i in order:
            v = vacancies[i]
            g = v.grade
            u = self.rng.random()
            lat = r.lateral_share[g]
            chosen = None
            promoted = False
            if u < lat:
                chosen = self._search(self.by_grade.get(g, []), v, REMOTE_ROUNDS,
                                      lambda c, v=v: self._reloc(c, v))
            elif g > 0 and u < lat + (1 - lat) * r.internal_share[g]:
                local = self.by_block.get((g - 1, int(geo.area[v.district])), [])

                def acc_local(c, v=v):
                    w, w_max = self._weight(c, v)
                    return w / w_max

                def acc_remote(c, v=v):
                    w, w_max = self._weight(c, v)
                    return w / w_max * self._reloc(c, v)

                chosen = self._search(local, v, LOCAL_ROUNDS, acc_local)
                if chosen is None:
                    chosen = self._search(self.by_grade.get(g - 1, []), v, REMOTE_ROUNDS,
                                          acc_remote)
                promoted = chosen is not None
            if chosen is not None:
                old = chosen.post
                old.person = None
                if promoted:
                    self.promotions[g, old.district, chosen.seb] += 1
                    if geo.is_london[v.district] and not geo.is_london[old.district]:
                        self.to_london[chosen.seb] += 1
                    chosen.since = k
                chosen.post = v
                chosen.touched = k
                v.person = chosen
                continue
            if (r.freeze_share > 0 and r.freeze_grades[g] and geo.is_london[v.district]
                    and self.rng.random() < r.freeze_share):
                continue
            c = r.recruit_cdf[g, v.district]
            seb = int(np.searchsorted(c, self.rng.random(), side="right"))
            person = Person(min(seb, N_SEB - 1), k, False, False, v, touched=k)
            v.person = person
            self.people.append(person)
            self.env.process(self.person_process(person))

    def _move(self, plan, per_dest):
        geo = self.m.geo
        matching = [p for p in self.posts if self._matches(plan, p)]
        n = min(int(per_dest.sum()), len(matching))
        chosen_idx = np.sort(self.rng_moves.choice(len(matching), size=n, replace=False))
        dests = []
        for (districts, _, _), kk in zip(plan.destinations, per_dest, strict=True):
            for _ in range(kk):
                dests.append(int(districts[0]) if len(districts) == 1
                             else int(districts[self.rng_moves.integers(0, len(districts))]))
        moving = {id(matching[i]) for i in chosen_idx}
        for post_i, dest in zip(chosen_idx, dests, strict=False):
            post = matching[post_i]
            origin = post.district
            person = post.person
            if person is not None:
                p = (plan.accept_by_grade[post.grade]
                     * plan.per_100km ** (geo.distance_km[origin, dest] / 100.0))
                if person.seb == 0:
                    p *= plan.high_seb_multiplier
                if self.rng_moves.random() < min(p, 1.0):
                    self.reloc_movers[person.seb] += 1
                    self.cost += self.m.params.cost_mover_gbp + plan.support_gbp
                else:
                    post.person = None
                    placed = False
                    if self.rng_moves.random() < plan.redeploy_share:
                        for q in self.by_block.get((post.grade, int(geo.area[origin])), []):
                            if q.person is None and id(q) not in moving:
                                q.person = person
                                person.post = q
                                placed = True
                                break
                    if not placed:
                        person.active = False
                        self.reloc_leavers[person.seb] += 1
                        self.cost += self.m.params.cost_leaver_gbp
            post.district = dest
            self.moved_total += 1
            self.moved_out += int(geo.is_london[origin] and not geo.is_london[dest])
            self.moved_cold += int(geo.is_coldspot[dest])
        self._index()

    def _year_end(self, n: int):
        D = self.m.geo.n_districts
        stock = np.zeros((N_GRADES, D, N_SEB))
        posts = np.zeros((N_GRADES, D))
        pol = np.zeros((N_GRADES, D))
        po = np.zeros((N_GRADES, D))
        for p in self.posts:
            posts[p.grade, p.district] += 1
            pol[p.grade, p.district] += p.profession == POLICY
            po[p.grade, p.district] += p.role == PO
            if p.person is not None:
                stock[p.grade, p.district, p.person.seb] += 1
        self.records.append(YearRecord(
            year=self.m.start_year + n, stock=stock, posts=posts, policy_posts=pol,
            private_office_posts=po, exposure=self.exposure, promotions=self.promotions,
            exits=self.exits, moves_to_london_for_promotion=self.to_london,
            moved_out_of_london=self.moved_out, moved_total=self.moved_total,
            moved_to_coldspots=self.moved_cold, reloc_leavers=self.reloc_leavers.copy(),
            reloc_movers=self.reloc_movers.copy(), cost_gbp=self.cost, awaiting_capacity=0,
        ))
        self._year_reset()

    def run(self) -> ReplicationResult:
        """Run the whole horizon and return records in the engine's format."""
        import pandas as pd

        self._index()
        for person in self.people:
            self.env.process(self.person_process(person))
        self.env.process(self.manager_process())
        for plan in self.m.waves:
            self.env.process(self.wave_process(plan))
        self.env.run(until=float(self.m.years))
        cols = ["wave", "year", "from", "to", "posts"]
        moves = pd.DataFrame(columns=cols)
        return ReplicationResult(replication=0, years=self.records, moves=moves)


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
