"""The followed EOs in expected mode, traced by area rather than by district.

The cohort measure (:mod:`placesim.cohort`) follows the EOs in post at the start until they
reach Grade 7. In the expected mode (:mod:`placesim.expected`) every flow of a step acts
alike on each (grade, area, class): exits by grade; promotions and lateral moves by each
area's shares of its eligible classes (its candidates' start-of-step weights); arrivals by
each vacancy's choice mass; programme states ending by state; the ring of recent entrants
is a sum of those flows. So the followed people are a linear tracer on the step's flows,
exact when kept by (tag, grade, area, class): the step leaves what the tracer reads
(:func:`placesim.expected._fill_moves`'s ``kept``) and :func:`_trace_step` moves them with
it. Kept by district, as copies of every class in the step's passes, they took a quarter of
every run.

What acts on particular districts (a lever's sites or reach, a wave's origins, a pool's
closures) is followed on one assumption: within an area and class, the followed share is
the same in every district, so the followed people give the share of their area's class
that those districts' changes come to (:func:`_follow_change`, and a wave's moves in
:func:`placesim.expected._move_kernel`). That is the tracer's one approximation (the
stochastic engine carries the tag on each person); ``docs/architecture.md`` gives what it
changes in the shipped scenarios.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cohort import N_TAGS, REACH_GRADE, START_GRADE, start_tags

N_TRACED = N_TAGS - 1
"""The cohorts traced (tags 1 to N_TAGS - 1 of :mod:`placesim.cohort`), in that order."""


class CohortTracer:
    """The followed people by (tag, grade, area, class), their ring of recent entrants, who
    is back this step (not yet promotable) and who has reached Grade 7.

    Classes are the expected mode's flattened (seb, post type, programme state) ``j``; only
    the grades from :data:`~placesim.cohort.START_GRADE` up to below
    :data:`~placesim.cohort.REACH_GRADE` ever hold anyone.
    """

    lo = START_GRADE
    hi = REACH_GRADE

    def __init__(self, people: np.ndarray, ring: np.ndarray, area: np.ndarray, n_areas: int,
                 is_london: np.ndarray):
        G, D = people.shape[:2]
        J = int(np.prod(people.shape[2:]))
        R = ring.shape[0]
        tag = start_tags(np.full(D, START_GRADE), is_london, np.ones(D, bool)) - 1
        to_area = np.zeros((N_TRACED * n_areas, D))  # (district -> its tag's area)
        to_area[tag * n_areas + area, np.arange(D)] = 1.0
        self.people = np.zeros((N_TRACED, G, n_areas, J))
        self.people[:, START_GRADE] = (to_area @ people[START_GRADE].reshape(D, J)).reshape(
            N_TRACED, n_areas, J)
        self.ring = np.zeros((R, N_TRACED, G, n_areas, J))
        self.ring[:, :, START_GRADE] = (to_area @ ring[:, START_GRADE].reshape(R, D, J)
                                        ).reshape(R, N_TRACED, n_areas, J)
        self.size = self.people.sum(axis=(1, 2, 3))
        self.reached = np.zeros(N_TRACED)
        self.blocked: np.ndarray | None = None  # back this step: not promotable yet
        self.area = area
        self.n_areas = n_areas

    @classmethod
    def nobody(cls, people: np.ndarray, ring: np.ndarray) -> CohortTracer:
        """A tracer that follows nobody (its arrays empty), for a run that follows no
        cohort: the passes read the same arguments either way."""
        self = cls.__new__(cls)
        G = people.shape[0]
        self.people = np.zeros((0, G, 1, 1))
        self.ring = np.zeros((ring.shape[0], 0, G, 1, 1))
        self.reached = np.zeros(0)
        self.lo = self.hi = 0
        return self

    def back(self) -> np.ndarray:
        """Who is back this step, (tag, grade, area, class): zeros at the step's first use."""
        if self.blocked is None:
            self.blocked = np.zeros_like(self.people)
        return self.blocked

    def watch(self, people: np.ndarray, ring: np.ndarray, grades: np.ndarray,
              districts: np.ndarray, srcs: np.ndarray, Fb: int) -> tuple | None:
        """Before a change to the ``districts`` marked that moves people of ``grades`` (a
        mask) in programme states ``srcs``: the whole population's (grade, area, class) sums
        of ``people`` and of each slot of ``ring``, in those grades and states and the areas
        of those districts, that the tracer follows anyone in, for :meth:`follow` (None if it
        follows nobody there)."""
        grades = np.asarray(grades, bool) & (np.arange(len(grades)) >= self.lo) & (
            np.arange(len(grades)) < self.hi)
        srcs = np.asarray(srcs, np.int64)
        areas = np.zeros(self.n_areas, bool)
        areas[self.area[np.asarray(districts, bool)]] = True
        if not _holds_any(self.people, self.ring, grades, areas, srcs, Fb):
            return None
        return grades, areas, srcs, *_area_sums(people, ring, self.area, grades, areas, srcs,
                                                Fb)

    def follow(self, watched: tuple | None, people: np.ndarray, ring: np.ndarray, dst: int,
               Fb: int) -> np.ndarray | None:
        """Follow a change :meth:`watch` ``watched`` before it that moved people to
        programme state ``dst`` (or out, if ``dst`` < 0): the followed people give the share
        of their area's class that left it (see the module's docstring). Returns those who
        went out, (tag, grade, area, class) (None if the tracer followed nobody there)."""
        if watched is None:
            return None
        grades, areas, srcs, before, before_ring = watched
        after, after_ring = _area_sums(people, ring, self.area, grades, areas, srcs, Fb)
        gone = np.zeros_like(self.people)
        _follow_change(self.people, self.ring, before, before_ring, after, after_ring,
                       grades, areas, srcs, dst, Fb, gone)
        return gone

    def come_back(self, people: np.ndarray, state: int, Fb: int) -> None:
        """People ``people`` (tag, grade, area, class) come back in programme state ``state``
        (whatever they were in), not promotable this step."""
        by_state = people.shape[:3] + (-1, Fb)  # (the class axis as (seb, post type), state)
        home = people.reshape(by_state).sum(axis=-1)
        self.people.reshape(by_state)[..., state] += home
        self.back().reshape(by_state)[..., state] += home


@njit(cache=True)
def _holds_any(traced, ring, grades, areas, srcs, Fb):
    """Whether ``traced`` (tag, grade, area, class) or any slot of its ``ring`` holds anyone
    in the ``grades`` and ``areas`` marked and programme states ``srcs``."""
    NT, G, A, J = traced.shape
    for g in range(G):
        if grades[g]:
            for tag in range(NT):
                for a in range(A):
                    if not areas[a]:
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
def _area_sums(people, ring, area, grades, areas, srcs, Fb):
    """(grade, area, class) sums of ``people`` (grade, district, seb, post type, state) and
    (slot, grade, area, class) of ``ring``, in the ``grades`` and ``areas`` marked and
    programme states ``srcs`` (zeros in the others)."""
    G, D = people.shape[:2]
    R = ring.shape[0]
    p = people.reshape(G, D, -1)
    rg = ring.reshape(R, G, D, -1)
    J = p.shape[2]
    out = np.zeros((G, len(areas), J))
    out_ring = np.zeros((R, G, len(areas), J))
    for g in range(G):
        if not grades[g]:
            continue
        for d in range(D):
            a = area[d]
            if not areas[a]:
                continue
            for j0 in range(0, J, Fb):
                for src in srcs:
                    j = j0 + src
                    out[g, a, j] += p[g, d, j]
                    for m in range(R):
                        out_ring[m, g, a, j] += rg[m, g, d, j]
    return out, out_ring


@njit(cache=True)
def _follow_change(traced, ring, before, before_ring, after, after_ring, grades, areas, srcs,
                   dst, Fb, gone):
    """:meth:`CohortTracer.follow`: each source class of ``traced`` (tag, grade, area, class)
    and of each slot of its ``ring`` in the ``grades`` and ``areas`` marked gives the share
    its area's class lost, to state ``dst`` of the same (seb, post type), or out (to
    ``gone``, but for the ring's)."""
    NT, G, A, J = traced.shape
    R = ring.shape[0]
    for g in range(G):
        if not grades[g]:
            continue
        for a in range(A):
            if not areas[a]:
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
