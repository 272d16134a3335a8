"""Whose staff a lever given ``department:`` reaches, grade by grade and place by place.

People are not tracked by department: the engines' posts of one (grade, district) are
alike, and people move between departments (ACSES records 2-5% a year changing department;
:class:`placesim.population.Departments`). So a lever for some departments' staff reaches,
in each (grade, district), the share of its people that the departments' share of its posts
says (ASSUMPTION: a cell's staff are spread over its departments as its posts are). The
departments' posts are those of the data package at the start, moved by the scenario's
waves as planned: each wave's expected take from each department
(:func:`placesim.posts.select_departments`), tranche by tranche as released, leaves its
origin (unless a recreating wave keeps its origin posts) and arrives at its destinations by
their shares. (The department view, :mod:`placesim.departments`, follows a run's own moves
afterwards; a lever needs the weights before the run, the same for every mode.)

The weights are compiled into the rules, and every mode reads them there: an enrolment's
(:class:`placesim.rules.LeverEvent`'s ``reach``: the stochastic engine and the reference
model count each person in with that chance, drawn afresh at each event; the expected mode
takes that share of each (grade, district)), and the London recruitment freeze's and the
outreach's, by year (``Rules.freeze_at``: the share of a cell's hires blocked;
``Rules.recruit_cdf_at``: its recruits' mix, the blend of the two mixes by that share).
"""

from __future__ import annotations

import math

import numpy as np


def moved_share(plan, t: float, spy: int) -> float:
    """Share of a wave's planned posts moved by time ``t`` (years from the start, before
    that step's moves): its tranches released before ``t``, one a step from its start.

    Parameters
    ----------
    plan : placesim.rules.WavePlan
    t : float
    spy : int
        Steps a year.

    Returns
    -------
    float
        Between 0 and 1.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(start_time=1.0, n_tranches=4)
    >>> [moved_share(w, t, 4) for t in (0.5, 1.0, 1.25, 1.5, 3.0)]
    [0.0, 0.0, 0.25, 0.5, 1.0]
    """
    released = math.ceil((t - plan.start_time) * spy - 1e-9)
    return min(max(released, 0), plan.n_tranches) / plan.n_tranches


def department_reach(departments, waves, idx, times, spy: int) -> np.ndarray:
    """Share of each (grade, district)'s posts that are departments ``idx``'s at each time.

    Parameters
    ----------
    departments : placesim.population.Departments
        The data package's departments and their posts at the start.
    waves : tuple of placesim.rules.WavePlan
        After :func:`placesim.posts.select_departments` (``dept_taken`` set).
    idx : sequence of int
        The departments (indices of ``departments.codes``).
    times : sequence of float
        Years from the start.
    spy : int
        Steps a year.

    Returns
    -------
    numpy.ndarray
        (time, grade, district) shares between 0 and 1 (0 where a cell has no posts).
    """
    start = departments.posts.sum(axis=3).astype(float)  # (K, G, D)
    mine = np.zeros(start.shape[0], bool)
    mine[list(idx)] = True
    out = np.zeros((len(times),) + start.shape[1:])
    for n, t in enumerate(times):
        posts = start.copy()
        for plan in waves:
            f = moved_share(plan, t, spy) if plan.dept_taken is not None else 0.0
            if f <= 0:
                continue
            taken = plan.dept_taken * f
            if plan.dept_removes:
                posts -= taken
            arriving = taken.sum(axis=2)  # (K, G)
            for districts, share, _ in plan.destinations:
                posts[:, :, districts] += (arriving * (share / len(districts)))[:, :, None]
        posts = np.maximum(posts, 0.0)
        total = posts.sum(axis=0)
        np.divide(posts[mine].sum(axis=0), total, out=out[n], where=total > 0)
    return np.clip(out, 0.0, 1.0)
