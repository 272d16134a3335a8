"""The followed EOs in expected mode, kept by region rather than by district.

The cohort measure (:mod:`placesim.cohort`) follows the EOs in post at the start until they
reach Grade 7. In the expected mode (:mod:`placesim.expected`) every flow of a step acts
alike on each (grade, area, class): exits by grade; promotions and lateral moves by each
area's shares of its eligible classes (its candidates' start-of-step weights); programme
states ending by state; and arrivals come to each district by its vacancies. So the
followed people are a linear tracer on the step's flows, exact when kept by any grouping
of districts finer than the areas: the step's two passes carry them beside everyone else
(:func:`placesim.expected._fill_exits`, :func:`placesim.expected._fill_moves`). Kept by
district, as copies of every class in those passes, they took a quarter of every run.

A change to particular districts (a wave's origins, a pool's closures at a deadline, a
lever's sites or reach) takes a share of each of those districts' classes, and the
followed among them are only known by group: so each district a change can touch without
taking the same share of its whole area is a region of its own
(:func:`placesim.expected.watched_districts`), the other districts of an area one region,
and the followed give the share of their region's class that the change took
(:meth:`CohortTracer.watch`, :meth:`CohortTracer.follow`, and a wave's moves in
:func:`placesim.expected._move_kernel`). Kept by area alone, a pool closing one borough's
posts took an area's share of the followed: a London cohort 6% off.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cohort import N_TAGS, REACH_GRADE, START_GRADE, start_tags

N_TRACED = N_TAGS - 1
"""The cohorts traced (tags 1 to N_TAGS - 1 of :mod:`placesim.cohort`), in that order."""


class CohortTracer:
    """The followed people by (tag, grade, region, class), their ring of recent entrants,
    who is back this step (not yet promotable) and who has reached Grade 7.

    A region is an area, but for the districts a change to particular districts can touch
    (``watched``: a wave's origins, a pool's districts, a lever's sites), each its own
    region: the step's flows act alike on each region's class (as on its area's), and those
    changes take whole regions, so the tracer is exact for them too. Classes are the
    expected mode's flattened (seb, post type, programme state) ``j``; only the grades from
    :data:`~placesim.cohort.START_GRADE` up to below :data:`~placesim.cohort.REACH_GRADE`
    ever hold anyone.
    """

    lo = START_GRADE
    hi = REACH_GRADE

    def __init__(self, people: np.ndarray, ring: np.ndarray, area: np.ndarray, n_areas: int,
                 is_london: np.ndarray, watched: np.ndarray):
        G, D = people.shape[:2]
        J = int(np.prod(people.shape[2:]))
        R = ring.shape[0]
        self.n_states = people.shape[-1]  # (a class's last axis: programme state)
        # regions: the areas (those with any district not watched), then each watched district
        key = np.where(watched, n_areas + np.arange(D), area)
        _, self.region = np.unique(key, return_inverse=True)
        self.n_regions = int(self.region.max()) + 1
        self.region_area = np.zeros(self.n_regions, np.int64)
        self.region_area[self.region] = area
        n = self.n_regions
        tag = start_tags(np.full(D, START_GRADE), is_london, np.ones(D, bool)).astype(int) - 1
        to_region = np.zeros((N_TRACED * n, D))  # (district -> its tag's region)
        to_region[tag * n + self.region, np.arange(D)] = 1.0
        self.people = np.zeros((N_TRACED, G, n, J))
        self.people[:, START_GRADE] = (to_region @ people[START_GRADE].reshape(D, J)).reshape(
            N_TRACED, n, J)
        self.ring = np.zeros((R, N_TRACED, G, n, J))
        self.ring[:, :, START_GRADE] = (to_region @ ring[:, START_GRADE].reshape(R, D, J)
                                        ).reshape(R, N_TRACED, n, J)
        self.size = self.people.sum(axis=(1, 2, 3))
        self.reached = np.zeros(N_TRACED)
        self.blocked: np.ndarray | None = None  # back this step: not promotable yet

    @classmethod
    def nobody(cls, people: np.ndarray, ring: np.ndarray) -> CohortTracer:
        """A tracer that follows nobody (its arrays empty), for a run that follows no
        cohort: the passes read the same arguments either way."""
        self = cls.__new__(cls)
        G, D = people.shape[:2]
        self.people = np.zeros((0, G, 1, 1))
        self.ring = np.zeros((ring.shape[0], 0, G, 1, 1))
        self.reached = np.zeros(0)
        self.lo = self.hi = 0
        self.n_states = people.shape[-1]
        self.region = np.zeros(D, np.int64)
        self.region_area = np.zeros(1, np.int64)
        return self

    def back(self) -> np.ndarray:
        """Who is back this step, (tag, grade, region, class): zeros at the step's first
        use."""
        if self.blocked is None:
            self.blocked = np.zeros_like(self.people)
        return self.blocked

    def watch(self, people: np.ndarray, ring: np.ndarray, grades: np.ndarray,
              districts: np.ndarray, srcs: np.ndarray) -> tuple | None:
        """Before a change to the ``districts`` marked that moves people of ``grades`` (a
        mask) in programme states ``srcs``: the whole population's (grade, region, class)
        sums of ``people`` and of each slot of ``ring``, in those grades and states and the
        regions of those districts, that the tracer follows anyone in, for :meth:`follow`
        (None if it follows nobody there)."""
        grades = np.asarray(grades, bool) & (np.arange(len(grades)) >= self.lo) & (
            np.arange(len(grades)) < self.hi)
        srcs = np.asarray(srcs, np.int64)
        regions = np.zeros(self.n_regions, bool)
        regions[self.region[np.asarray(districts, bool)]] = True
        if not _holds_any(self.people, self.ring, grades, regions, srcs, self.n_states):
            return None
        return grades, regions, srcs, *_region_sums(people, ring, self.region, grades, regions,
                                                  srcs, self.n_states)

    def follow(self, watched: tuple | None, people: np.ndarray, ring: np.ndarray, dst: int
               ) -> np.ndarray | None:
        """Follow a change :meth:`watch` ``watched`` before it that moved people to
        programme state ``dst`` (or out, if ``dst`` < 0): the followed people give the share
        of their region's class that left it (see the module's docstring). Returns those who
        went out, (tag, grade, region, class) (None if the tracer followed nobody there)."""
        if watched is None:
            return None
        grades, regions, srcs, before, before_ring = watched
        after, after_ring = _region_sums(people, ring, self.region, grades, regions, srcs,
                                         self.n_states)
        gone = np.zeros_like(self.people)
        _follow_change(self.people, self.ring, before, before_ring, after, after_ring,
                       grades, regions, srcs, dst, self.n_states, gone)
        return gone

    def come_back(self, people: np.ndarray, state: int) -> None:
        """People ``people`` (tag, grade, region, class) come back in programme state ``state``
        (whatever they were in), not promotable this step."""
        by_state = people.shape[:3] + (-1, self.n_states)  # (classes as (seb, type), state)
        home = people.reshape(by_state).sum(axis=-1)
        self.people.reshape(by_state)[..., state] += home
        self.back().reshape(by_state)[..., state] += home


@njit(cache=True)
def _holds_any(traced, ring, grades, regions, srcs, Fb):
    """Whether ``traced`` (tag, grade, region, class) or any slot of its ``ring`` holds
    anyone in the ``grades`` and ``regions`` marked and programme states ``srcs``."""
    NT, G, A, J = traced.shape
    for g in range(G):
        if grades[g]:
            for tag in range(NT):
                for a in range(A):
                    if not regions[a]:
                        continue
                    for j0 in range(0, J, Fb):
                        for src in srcs:
                            if traced[tag, g, a, j0 + src] != 0:
                                return True
                            for m in range(ring.shape[0]):
                                if ring[m, tag, g, a, j0 + src] != 0:
                                    return True
    return False


@njit(cache=True)
def _region_sums(people, ring, region, grades, regions, srcs, Fb):
    """(grade, region, class) sums of ``people`` (grade, district, seb, post type, state) and
    (slot, grade, region, class) of ``ring``, each district in its region ``region[d]``, in
    the ``grades`` and ``regions`` marked and programme states
    ``srcs`` (zeros in the others)."""
    G, D = people.shape[:2]
    R = ring.shape[0]
    p = people.reshape(G, D, -1)
    rg = ring.reshape(R, G, D, -1)
    J = p.shape[2]
    out = np.zeros((G, len(regions), J))
    out_ring = np.zeros((R, G, len(regions), J))
    for g in range(G):
        if not grades[g]:
            continue
        for d in range(D):
            a = region[d]
            if not regions[a]:
                continue
            for j0 in range(0, J, Fb):
                for src in srcs:
                    j = j0 + src
                    out[g, a, j] += p[g, d, j]
                    for m in range(R):
                        out_ring[m, g, a, j] += rg[m, g, d, j]
    return out, out_ring


@njit(cache=True)
def _follow_change(traced, ring, before, before_ring, after, after_ring, grades, regions, srcs,
                   dst, Fb, gone):
    """:meth:`CohortTracer.follow`: each source class of ``traced`` (tag, grade, region,
    class) and of each slot of its ``ring`` in the ``grades`` and ``regions`` marked
    gives the share its region's class lost, to state ``dst`` of the same (seb, post type),
    or out (to ``gone``, but for the ring's)."""
    NT, G, A, J = traced.shape
    R = ring.shape[0]
    for g in range(G):
        if not grades[g]:
            continue
        for a in range(A):
            if not regions[a]:
                continue
            for j0 in range(0, J, Fb):
                for src in srcs:
                    j = j0 + src
                    b = before[g, a, j]
                    f = min(max((b - after[g, a, j]) / b, 0.0), 1.0) if b > 0 else 0.0
                    for tag in range(NT):
                        x = traced[tag, g, a, j] * f
                        traced[tag, g, a, j] -= x
                        if dst >= 0:
                            traced[tag, g, a, j0 + dst] += x
                        else:
                            gone[tag, g, a, j] += x
                    for m in range(R):
                        b = before_ring[m, g, a, j]
                        f = (min(max((b - after_ring[m, g, a, j]) / b, 0.0), 1.0) if b > 0
                             else 0.0)
                        for tag in range(NT):
                            x = ring[m, tag, g, a, j] * f
                            ring[m, tag, g, a, j] -= x
                            if dst >= 0:
                                ring[m, tag, g, a, j0 + dst] += x
