"""Common random numbers that survive a policy change.

Two scenarios run with the same seed make the same draws for every post a change does not
touch, so the paired difference of a figure far from the change is far less noisy than the
difference of two independent runs (issue: Scotland's headcount and EO→G7 outside London,
baseline against baseline plus one small wave to Leeds).
"""

from __future__ import annotations

import numpy as np
import pytest

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


#: Posts both scenarios re-create (the Places for Growth way: new posts opened from spare
#: slots), as the shipped baseline's history does.
BOTH = """waves:
  - name: shared
    year: 2024
    posts: {grades: [EO, HEO, SEO, G7]}
    count: 2000
    mode: recreate
    destinations: [{site: manchester, share: 1.0}]
"""


@pytest.mark.parametrize("mode", ["relocate", "recreate"])
def test_paired_differences_are_far_tighter_than_unpaired(mode):
    """In every year, for a small wave that moves posts and for one that re-creates them,
    on top of a wave both scenarios re-create."""
    pkg = reduced_package()
    small = WAVE.replace("waves:\n", "").replace("count: 100", f"count: 100\n    mode: {mode}")
    base = engine.prepare(reduced_scenario("name: base\n" + BOTH), pkg)
    moved = engine.prepare(reduced_scenario("name: moved\n" + BOTH + small), pkg)
    assert [w.recreate for w in moved.rules.waves] == [True, mode == "recreate"]
    a = np.array([_figures(base, engine.run_replication(base, r)) for r in range(REPS)])
    b = np.array([_figures(moved, engine.run_replication(moved, r)) for r in range(REPS)])
    b_other = np.array([_figures(moved, engine.run_replication(moved, r, seed=99))
                        for r in range(REPS)])
    paired = (b - a).std(axis=0, ddof=1)  # (year, figure)
    unpaired = (b_other - a).std(axis=0, ddof=1)
    assert np.all(unpaired > 0)
    assert np.all(paired <= 0.3 * unpaired), paired / unpaired


@pytest.mark.parametrize("mode", ["relocate", "recreate"])
def test_a_later_wave_changes_nothing_before_it(mode):
    """Every figure of every year before a wave starts is the same with and without it, in
    each replication. Spare slots are keyed by grade and rank, not by their place: a wave
    re-creating AO posts once shifted every higher grade's spares, so the posts both
    scenarios opened before it drew differently (at full scale, baseline against baseline
    plus the small wave re-created, the paired differences of Scotland's headcount were
    0.45-0.93 of the unpaired ones, against 0.08-0.17 now)."""
    pkg = reduced_package()
    later = WAVE.replace("waves:\n", "").replace("year: 2024", "year: 2026").replace(
        "count: 100", f"count: 100\n    mode: {mode}")
    base = engine.prepare(reduced_scenario("name: base\n" + BOTH), pkg)
    moved = engine.prepare(reduced_scenario("name: moved\n" + BOTH + later), pkg)
    for r in range(3):
        a, b = engine.run_replication(base, r), engine.run_replication(moved, r)
        va, vb, before = _same_before(base, a, moved, b)
        for x, y in zip(a.years, b.years, strict=True):
            if x.year <= 2026:
                np.testing.assert_array_equal(x.stock, y.stock)
                np.testing.assert_array_equal(x.promotions, y.promotions)
        after = ~before
        assert not np.array_equal(va[after], vb[after])  # (and the wave does something)


@pytest.mark.parametrize("lever", ["mentoring", "postings", "scheme", "secondments"])
def test_a_later_lever_changes_nothing_before_it(lever):
    """A lever starting in 2026 leaves every stochastic record to 31 March 2026 as it was
    (audit: these four changed 233 figures of the 2024-2026 records, up to 88 people of
    headcount in a replication: the pick's rejection envelope was the largest weight of any
    state a lever could give, so it moved from the first step; it is now taken over the
    states someone eligible is in, flows.envelope)."""
    from placesim.agreement import lever_cases

    pkg = reduced_package()
    text = f"levers:\n  {lever_cases(2026)[lever]}\n"
    base = engine.prepare(reduced_scenario("name: base\n" + BOTH), pkg)
    late = engine.prepare(reduced_scenario("name: late\n" + BOTH + text), pkg)
    for r in range(2):
        va, vb, before = _same_before(base, engine.run_replication(base, r), late,
                                      engine.run_replication(late, r))
        assert not np.array_equal(va[~before], vb[~before])  # (it does act)


def _same_before(model_a, a, model_b, b):
    """Both runs' figures (those they share, by year) and the years to 31 March 2026 (the
    changes start from April), which must be equal."""
    la, ya, va = replication_table(model_a, a)
    lb, yb, vb = replication_table(model_b, b)
    assert list(ya) == list(yb)
    shared = [label for label in lb if label in la]  # (a lever adds figures of its own)
    va = va[:, [la.index(label) for label in shared]]
    vb = vb[:, [lb.index(label) for label in shared]]
    before = np.asarray(ya) <= 2026
    np.testing.assert_array_equal(va[before], vb[before])
    return va, vb, before
