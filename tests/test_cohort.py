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

from placesim import cohort_tracer, engine, expected, flows, load_scenario_text, metrics
from placesim.calibration import resolve_parameters
from placesim.cohort import GROUPS, N_TAGS, REACH_GRADE, START_GRADE, per_1000
from placesim.expected import run_expected
from placesim.reference import run_reference

from .helpers import scenario_text, synthetic_package, synthetic_scenario

LEVERS = """
levers:
  mentoring: {start_year: 2023, coverage: 0.4, promotion_multiplier: 2}
  london_postings: {start_year: 2023, places_per_year: 60, months: 6}
  talent_scheme_ring_fence: {start_year: 2024, places_per_year: 40}
  relocation_support: {start_year: 2023}
"""


def _lever_model(pkg, waves: bool):
    """Levers that move people about (postings away and back, programme states), and with
    ``waves`` a relocation of EO, HEO and SEO posts."""
    text = scenario_text(waves=waves, grades=("EO", "HEO", "SEO"), years=5) + LEVERS
    return engine.prepare(load_scenario_text(text, filename="levers.yaml"), pkg)


@pytest.fixture(scope="module")
def pkg():
    return synthetic_package()


def _runs(model, reps: int = 2):
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
        # a few of about 1,000 EOs reach Grade 7 in six years (about 3 a run on average;
        # these seeds give some in every mode)
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


@pytest.mark.parametrize("waves", [False, True])
def test_the_engine_loses_a_tag_only_when_someone_reaches_grade_7_or_leaves(pkg, monkeypatch,
                                                                            waves):
    """Step by step, the tagged people in post fall by exactly those counted into Grade 7
    and those who left the service (exits; with a relocation wave, also incumbents who would
    not move): a tag dropped on a posting's return, a lateral move or a redeployment fails
    this."""
    model = _lever_model(pkg, waves)
    state: dict = {}
    step, scan, move = engine._Run.step, flows.scan, flows.move_posts

    def in_post(sl):
        return np.bincount(sl.cohort[sl.seb >= 0], minlength=N_TAGS)[1:]

    def counting_scan(*args, **kwargs):
        sl = state["run"].slots
        before = sl.seb >= 0
        out = scan(*args, **kwargs)
        state["left"] += np.bincount(sl.cohort[before & (sl.seb < 0)], minlength=N_TAGS)[1:]
        return out

    def counting_move(slots, *args, **kwargs):
        before = in_post(slots)
        out = move(slots, *args, **kwargs)
        left = np.bincount(out.leaver_cohort, minlength=N_TAGS)[1:]  # would not move
        np.testing.assert_array_equal(before - in_post(slots), left)  # (redeployed keep it)
        state["left"] += left
        return out

    def checked_step(self):
        state.update(run=self, left=np.zeros(N_TAGS - 1, np.int64))
        before, reached = in_post(self.slots), self.cohort_reached[1:].copy()
        step(self)
        np.testing.assert_array_equal(before - in_post(self.slots),
                                      state["left"] + self.cohort_reached[1:] - reached)
        state["steps"] = state.get("steps", 0) + 1

    monkeypatch.setattr(engine._Run, "step", checked_step)
    monkeypatch.setattr(flows, "scan", counting_scan)
    monkeypatch.setattr(flows, "move_posts", counting_move)
    # (and someone tagged reaches Grade 7: about 1.5 people a run in expectation without
    # the wave, so one run has none in about one case in five; five runs, 1 in 2,000)
    runs = [engine.run_replication(model, r) for r in range(5)]
    assert state["steps"] == 5 * model.rules.n_steps
    assert sum(run.years[-1].cohort_reached.sum() for run in runs) > 0
    tagged = model.population.cohort  # (the model's own population is never tagged)
    assert not tagged.any()


def test_the_expected_mode_loses_tagged_people_only_by_grade_7_or_exits(pkg, monkeypatch):
    """The same in expectation: each step, the tagged mass (in post, on London postings)
    falls by exactly the exits at each grade's rate and the promotions into Grade 7: a lever
    event that moved tagged people into an untagged state would fail this."""
    model = _lever_model(pkg, waves=False)
    q = model.rules.exit_q
    step = expected._ExpectedRun.step
    seen = []

    def tagged(run) -> np.ndarray:  # (grade, tag) followed mass, wherever it is
        out = run.tracer.people.sum(axis=(2, 3)).T
        for c in run.cohorts:  # (traced None: none of the followed went)
            if c.traced is not None:
                out += (c.traced * c.alive[None, :, None, None]).sum(axis=(2, 3)).T
        for c in run.away:
            if c.traced is not None:
                out += c.traced.sum(axis=(2, 3)).T
        return out

    def checked_step(self):
        before, reached = tagged(self), self.cohort_reached[1:].copy()
        step(self)
        want = before.sum(axis=0) - (q[:, None] * before).sum(axis=0) \
            - (self.cohort_reached[1:] - reached)
        np.testing.assert_allclose(tagged(self).sum(axis=0), want, rtol=1e-9, atol=1e-9)
        seen.append(any(c.traced is not None and c.traced.sum() > 0 for c in self.cohorts))

    monkeypatch.setattr(expected._ExpectedRun, "step", checked_step)
    run = run_expected(model)
    assert any(seen)  # followed people were away on postings during the run
    assert run.years[-1].cohort_reached.sum() > 0


@pytest.mark.parametrize("engine_reps,reference_reps", [
    (8, 4), pytest.param(24, 12, marks=pytest.mark.slow)])
def test_the_reference_follows_the_cohort_as_the_engine_and_expected_mode_do(
        pkg, monkeypatch, engine_reps, reference_reps):
    """The per-person reference's cohort against the engine's and the expected mode's, with
    enough people counted to judge: too few EOs reach Grade 7 at the reference's size, so
    the cohort here counts promotions into HEO (the same code carries the tags; only the
    grade that ends them moves). With postings away and back, programme states and a
    relocation of EO posts, a tag the reference lost or kept too long would show: the
    default run's check sees gross errors (counting at another grade), the slow one 15%
    too few counted (10% is within its noise)."""
    from placesim import cohort, reference

    heo = START_GRADE + 1
    monkeypatch.setattr(cohort, "REACH_GRADE", heo)  # (the engine reads it from here)
    monkeypatch.setattr(reference, "REACH_GRADE", heo)
    monkeypatch.setattr(cohort_tracer.CohortTracer, "hi", heo)
    model = _lever_model(pkg, waves=True)

    def per_1000(runs) -> np.ndarray:  # (run, group) at the end
        return np.array([1000 * r.years[-1].cohort_reached / r.years[-1].cohort_size
                         for r in runs])

    eng = per_1000([engine.run_replication(model, r) for r in range(engine_reps)])
    ref = per_1000([run_reference(model, r) for r in range(reference_reps)])
    exp = per_1000([run_expected(model)])[0]
    assert (eng.mean(axis=0) > 100).all()  # hundreds of the 1,000 counted: a test with power
    se = np.sqrt(eng.var(axis=0, ddof=1) / engine_reps + ref.var(axis=0, ddof=1)
                 / reference_reps)
    assert (np.abs(eng.mean(axis=0) - ref.mean(axis=0)) <= 4 * se).all(), (eng, ref, se)
    se_exp = np.sqrt(eng.var(axis=0, ddof=1) / engine_reps)
    assert (np.abs(eng.mean(axis=0) - exp) <= 4 * se_exp + 1e-9).all(), (eng, exp, se_exp)


def test_the_expected_mode_follows_a_change_to_some_districts_by_the_region_s_share():
    """placesim.cohort_tracer: a change to some districts takes from the followed people the
    share of their region's class that it took from everyone there (a region is an area but
    for the watched districts, each its own); other regions, other grades and other states
    are left alone, and a change where nobody is followed gives nothing to follow."""
    from placesim.cohort_tracer import CohortTracer
    from placesim.population import N_GRADES

    eo, j = START_GRADE, 0
    area, is_london = np.array([0, 0, 1]), np.zeros(3, bool)
    people = np.zeros((N_GRADES, 3, 3, 3, 1))  # (grade, district, seb, post type, state)
    people[eo, :, 0, 0, 0] = [10.0, 30.0, 20.0]
    ring = np.zeros((4,) + people.shape)
    tracer = CohortTracer(people, ring, area, 2, is_london, np.zeros(3, bool))
    np.testing.assert_allclose(tracer.people[1, eo, :, j], [40.0, 20.0])  # all followed
    tracer.people[1, eo, 0, j] = 8.0  # (a fifth of area 0's class, say)
    everywhere = np.ones(N_GRADES, bool)
    watched = tracer.watch(people, ring, everywhere, np.array([True, False, False]),
                           np.array([0]))
    people[eo, 0, 0, 0] -= 5.0  # half of district 0's leave: an eighth of area 0's class
    gone = tracer.follow(watched, people, ring, -1)
    np.testing.assert_allclose(tracer.people[1, eo, :, j], [7.0, 20.0])
    np.testing.assert_allclose(gone[1, eo, :, j], [1.0, 0.0])
    assert gone.sum() == 1.0 and tracer.people[0].sum() == 0.0
    nobody = tracer.watch(people, ring, np.arange(N_GRADES) == REACH_GRADE + 1,
                          np.ones(3, bool), np.array([0]))
    assert nobody is None and tracer.follow(nobody, people, ring, -1) is None


@pytest.mark.parametrize("levers", [False, True])
def test_the_expected_mode_follows_the_cohort_as_if_by_district(pkg, monkeypatch, levers):
    """The followed people kept by region (an area, but for the districts a change to some
    districts touches: here a pool that closes one London borough's posts at a deadline, and
    outbound secondment sites) give the same cohort, every year, as kept by district, the
    representation that assumes nothing: kept by area alone, the borough's redundancies
    took an area's share of the followed and the London figure was 6% off."""
    text = scenario_text(waves=False, years=6) + """
waves:
  - name: close one borough
    year: 2024
    spread_years: 1
    posts: {grades: [EO, HEO, SEO]}
    share: 0.5
    close_by: 2026
    origin: [E09000000]
    destinations:
      - {site: alpha, share: 1.0}
"""
    if levers:
        text += LEVERS + (
            "  secondments: {start_year: 2023, sites: [alpha, beta], outbound_per_site: 20,"
            " outbound_grades: [EO, HEO, SEO], promotion_multiplier: 3, effect_years: 1}\n")
    model = engine.prepare(load_scenario_text(text, filename="close.yaml"), pkg)
    by_region = expected.watched_districts(model)
    assert by_region.any() and not by_region.all()  # (else this shows nothing)

    def cohort(watched):
        monkeypatch.setattr(expected, "watched_districts", lambda _: watched)
        run = run_expected(model)
        return np.stack([per_1000(y.cohort_reached, y.cohort_size)
                         for y in run.years])

    every = np.ones(model.geo.n_districts, bool)
    want = cohort(every)
    assert want[-1].min() > 0
    np.testing.assert_allclose(cohort(by_region), want, rtol=1e-10, atol=1e-10)
