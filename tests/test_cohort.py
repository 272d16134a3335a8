"""The cohort measure (placesim.cohort): the EOs in post at the start, followed in every mode.

The stochastic engine, the expected mode and the per-person reference follow the same
people: the cohorts are the EOs in post at the start, split by London; only promotions into
Grade 7 count, once each; and the figure agrees between modes (the stochastic mean of the
shipped scenarios is also held to the expected mode in ``test_modes_agree``, which judges
every headline)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from placesim import engine, metrics
from placesim.calibration import resolve_parameters
from placesim.cohort import GROUPS, REACH_GRADE, START_GRADE
from placesim.expected import run_expected
from placesim.reference import run_reference

from .helpers import synthetic_package, synthetic_scenario


@pytest.fixture(scope="module")
def pkg():
    return synthetic_package()


def _runs(model, reps: int = 3):
    return {"engine": [engine.run_replication(model, r) for r in range(reps)],
            "expected": [run_expected(model)],
            "reference": [run_reference(model, r) for r in range(reps)]}


def _eos_at_start(model) -> np.ndarray:
    """(London, outside London) EOs in post at the start, counted from the population."""
    sl = model.population
    real = sl.district < model.geo.n_districts
    eo = real & (sl.grade == START_GRADE) & (sl.seb >= 0)
    lon = model.geo.is_london[np.minimum(sl.district, model.geo.n_districts - 1)]
    return np.array([np.sum(eo & lon), np.sum(eo & ~lon)], float)


def test_every_mode_follows_the_eos_in_post_at_the_start_and_counts_up(pkg):
    model = engine.prepare(synthetic_scenario(waves=True, years=6), pkg)
    want = _eos_at_start(model)
    assert want.min() > 0
    for mode, runs in _runs(model).items():
        for run in runs:
            size = np.stack([y.cohort_size for y in run.years])
            reached = np.stack([y.cohort_reached for y in run.years])
            np.testing.assert_allclose(size, np.broadcast_to(want, size.shape), err_msg=mode)
            assert (np.diff(reached, axis=0) >= -1e-9).all(), mode  # cumulative
            assert (reached <= size + 1e-9).all(), mode
        # a few of about 1,000 EOs reach Grade 7 in six years (about 3 a run on average)
        assert sum(run.years[-1].cohort_reached.sum() for run in runs) > 0, mode


def test_nobody_reaches_grade_7_when_its_posts_are_never_filled_by_promotion(pkg):
    """Only promotions into Grade 7 count: with every G7 vacancy filled from outside (and G7
    lateral moves still on), no mode counts anyone, though people are still promoted into
    HEO and SEO and G7 posts are filled."""
    s = synthetic_scenario(waves=False, years=4)
    params = resolve_parameters(s, pkg)
    share = params.internal_fill_share.copy()
    share[REACH_GRADE] = 0.0
    model = engine.prepare(s, pkg, params=replace(params, internal_fill_share=share))
    for mode, runs in _runs(model, reps=2).items():
        for run in runs:
            assert run.years[-1].cohort_reached.sum() == 0, mode
            assert sum(y.promotions[START_GRADE + 1].sum() for y in run.years) > 0, mode


def test_the_measure_is_per_1000_of_each_cohort_by_year(pkg):
    model = engine.prepare(synthetic_scenario(waves=True, years=5), pkg)
    run = engine.run_replication(model, 0)
    labels, years, values = metrics.replication_table(model, run)
    for k, group in enumerate(GROUPS):
        col = values[:, labels.index(("cohort_eo_to_g7", group))]
        want = [1000 * y.cohort_reached[k] / y.cohort_size[k] for y in run.years]
        np.testing.assert_allclose(col, want)


def test_a_run_that_does_not_follow_the_cohort_is_otherwise_the_same(pkg):
    model = engine.prepare(synthetic_scenario(waves=True, years=4), pkg)
    a, b = run_expected(model), run_expected(model, follow_cohort=False)
    for ya, yb in zip(a.years, b.years, strict=True):
        np.testing.assert_allclose(ya.stock, yb.stock, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ya.promotions, yb.promotions, rtol=1e-9, atol=1e-9)
        assert yb.cohort_size.sum() == 0 and yb.cohort_reached.sum() == 0
    assert a.years[-1].cohort_reached.sum() > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", "pfg-2027", "progression-levers"])
def test_modes_agree_over_ten_years(name):
    """Over the whole horizon (the default run checks three years, where London's cohort is
    too small to judge), on a quarter of the shipped data: the stochastic mean of 40
    replications within 4 standard errors of the expected mode, both cohorts, every year."""
    from pathlib import Path

    from placesim import load_scenario
    from placesim.agreement import compare_modes, scale_scenario

    from .helpers import reduced_package

    root = Path(__file__).resolve().parent.parent
    s = scale_scenario(load_scenario(root / "scenarios" / f"{name}.yaml"), 0.25)
    model = engine.prepare(s, reduced_package(0.25))
    df = compare_modes(model, replications=40,
                       figures=[("cohort_eo_to_g7", g) for g in GROUPS])
    late = df[df.year >= df.year.min() + 4]
    assert late.testable.all()
    assert (late.z.abs() <= 4).all(), late.to_string()
