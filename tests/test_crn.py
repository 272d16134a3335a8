"""Common random numbers that survive a policy change.

Two scenarios run with the same seed make the same draws for every post a change does not
touch, so the paired difference of a figure far from the change is far less noisy than the
difference of two independent runs (issue: Scotland's headcount and EO→G7 outside London,
baseline against baseline plus one small wave to Leeds).
"""

from __future__ import annotations

import numpy as np

from placesim import engine
from placesim.metrics import replication_table
from placesim.testing import SMALL_WAVE as WAVE

from .helpers import reduced_package, reduced_scenario

REPS = 20


def _figures(model, res) -> np.ndarray:
    scotland = np.array([c.startswith("S") for c in model.geo.lad_codes])
    labels, _, values = replication_table(model, res)
    eo_g7 = values[:, labels.index(("progression_eo_to_g7", "outside_london"))]
    head = np.array([y.stock[:, scotland].sum() for y in res.years], float)
    return np.stack([head, eo_g7], axis=1)  # (year, figure)


def test_paired_differences_are_far_tighter_than_unpaired():
    pkg = reduced_package()
    base = engine.prepare(reduced_scenario("name: base\n"), pkg)
    moved = engine.prepare(reduced_scenario("name: moved\n" + WAVE), pkg)
    a = np.array([_figures(base, engine.run_replication(base, r)) for r in range(REPS)])
    b = np.array([_figures(moved, engine.run_replication(moved, r)) for r in range(REPS)])
    b_other = np.array([_figures(moved, engine.run_replication(moved, r, seed=99))
                        for r in range(REPS)])
    paired = (b - a).std(axis=0, ddof=1)[-1]  # last year
    unpaired = (b_other - a).std(axis=0, ddof=1)[-1]
    assert np.all(paired <= 0.3 * unpaired), (paired, unpaired)
    assert np.all(unpaired > 0)
