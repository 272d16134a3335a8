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
their shares (a recreating wave's by its published ``department_shares`` where given, as
the department view has them). The department view (:mod:`placesim.departments`) follows a
run's own moves afterwards; a lever needs the weights before the run, the same for every
mode. The two agree at the destinations, and at the origin of a relocating wave; a
recreating wave closes its origin posts as they fall vacant, so there the reach runs ahead
of the view while closures are pending (by 0.05 of a cell's share at the end of a two-year
wave in ``tests/test_levers_departments.py``) and meets it within about a year. Other
changes of a cell's posts (the workforce trend and paths) are left out: the department view
shares them by the departments' shares at the start, so they move a cell's shares only where
a wave has moved them away from those.

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


def department_reach(departments, waves, idx, times, spy: int, is_london) -> np.ndarray:
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
    is_london : numpy.ndarray
        (district,) bool.

    Returns
    -------
    numpy.ndarray
        (time, grade, district) shares between 0 and 1; where a cell has no posts, the
        departments' share of the grade's posts in (or outside) London
        (:func:`placesim.departments.post_shares`, as the department view shares a cell's
        later posts).
    """
    from .departments import post_shares

    start = departments.posts.sum(axis=3).astype(float)  # (K, G, D)
    idx = list(idx)
    out = np.zeros((len(times),) + start.shape[1:])
    for n, t in enumerate(times):
        posts = start.copy()
        for plan in waves:
            f = moved_share(plan, t, spy) if plan.dept_taken is not None else 0.0
            if f <= 0:
                continue
            if plan.dept_removes:
                posts -= plan.dept_taken * f
            for districts, share, _ in plan.destinations:
                posts[:, :, districts] += (plan.dept_arriving * (f * share / len(districts))
                                           )[:, :, None]
        out[n] = post_shares(np.maximum(posts, 0.0), is_london)[idx].sum(axis=0)
    return np.clip(out, 0.0, 1.0)
