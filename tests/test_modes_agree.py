"""The expected mode says what the stochastic engine says on average — for every shipped
scenario and every lever, on the shipped data scaled to a quarter.

For each headline figure, progression by place and by socio-economic background, moves
to and from London for promotion, and the outreach and secondments levers' own figures
(entrants and their SEB by grade and place, secondees in post, conversions, secondees out),
the mean of 40 stochastic replications must agree with the expected mode within z standard
errors or 1% of the value, whichever is larger
(:func:`placesim.agreement.compare_modes`; the benchmark runs the same check at full scale
over every figure and year). z controls the chance of a false alarm over all the figures a
scenario judges (Sidak: 0.1% for the scenario, about 4 standard errors for 35 figures), not
for each figure: at three standard errors for each of some 400 figures, a model with no bias
at all fails about two runs in three by chance (seen: |z| = 3.5 for low-SEB EO to G7 in
senior-roles-out with 40 replications, 1.3 with 160).

A figure whose events are too rare at a quarter of the Civil Service for a mean and its
standard error to mean much (no value or zero in more than 10% of replications, e.g.
progression to Director of small groups) is not judged here; at least 25 figures must be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm

from placesim import engine, load_scenario
from placesim.agreement import checked_figures, compare_modes, lever_cases
from placesim.levers import lever_figures

from .helpers import reduced_package, reduced_scenario

ROOT = Path(__file__).resolve().parent.parent
SCALE = 0.25
SHIPPED = tuple(sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
"""Every shipped scenario (a list written out left out the two departments' plans and the
history when they were added)."""
LEVERS = lever_cases(2023)  # (the reduced package starts in 2023)


FAMILY_ALPHA = 0.001
"""Chance that a scenario with no bias fails by chance, over all the figures it judges."""


def family_z(n: int, alpha: float) -> float:
    """Two-sided critical z so that ``n`` independent unbiased figures all pass with
    probability ``1 - alpha`` (Sidak)."""
    return float(norm.isf((1 - (1 - alpha) ** (1 / n)) / 2))


def test_family_z():
    assert family_z(1, 0.0027) == pytest.approx(3.0, abs=0.01)
    assert 3.9 < family_z(35, FAMILY_ALPHA) < 4.3


def _scenario_text(name: str) -> str:
    if name in LEVERS:
        return f"name: {name}\nlevers:\n  {LEVERS[name]}\n"
    return (ROOT / "scenarios" / f"{name}.yaml").read_text()


@pytest.mark.parametrize("name", SHIPPED)
def test_stochastic_mean_agrees_with_expected_mode(name):
    check_agreement(name)


def check_agreement(name: str) -> None:
    """The stochastic mean of 40 replications agrees with the expected mode on every judged
    figure of shipped scenario or lever ``name`` (module docstring)."""
    if name in LEVERS:
        scenario = reduced_scenario(_scenario_text(name), SCALE, years=3)
    else:  # shipped scenarios extend others: load from their folder, then scale
        from placesim.agreement import scale_scenario

        s = scale_scenario(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), SCALE)
        scenario = s.model_copy(update={"horizon": s.horizon.model_copy(update={"years": 3})})
    model = engine.prepare(scenario, reduced_package(SCALE))
    # and the outreach and secondments levers' own figures
    df = compare_modes(model, replications=40,
                       figures=checked_figures() + lever_figures(model))
    last = df[(df.year == df.year.max()) & df.testable]
    assert len(last) >= 25
    z = family_z(len(last), FAMILY_ALPHA)
    tol = np.maximum(z * last.se, 0.01 * last.expected.abs())
    bad = last[(last["mean"] - last.expected).abs() > tol + 1e-12]
    assert bad.empty, bad.to_string()


@pytest.mark.parametrize("picks", [25.0, 60.0])
def test_expected_mode_takes_picks_out_of_the_pool(picks):
    """Within a step the engine's promotions are picked one by one from those not yet
    picked, so a heavily weighted class gives fewer than its start-of-step share. The
    expected mode's share of each class (:func:`placesim.expected._sampling_theta`,
    :func:`placesim.expected._share_taken`) matches exact sequential weighted sampling
    without replacement (simulated: the ``picks`` smallest of exponential keys over weight),
    where sharing by weight alone is about 17 standard errors off at 25 picks and 69 at 60. The
    25 picks take the second-order closed form (then scaled to the total, as the kernel's
    normalisation by kind does), the 60 Newton's method, which must hit the root."""
    from scipy.optimize import brentq

    from placesim.expected import _sampling_theta, _share_taken

    w, e = np.array([2.0, 1.0]), np.array([100.0, 100.0])
    rate = w * picks / (e * w).sum()  # per person, by the start-of-step weights
    classes = np.arange(2)
    theta = _sampling_theta(rate, e, classes, picks, (e * rate**2).sum(), rate.max(), e.sum())
    share = np.array([_share_taken(theta, r) for r in rate])
    if theta * rate.max() > 0.3:  # Newton's method: on the root
        root = brentq(lambda t: (e * -np.expm1(-t * rate)).sum() - picks, 1.0, 100.0)
        assert theta == pytest.approx(root, rel=1e-9)
        assert (e * share).sum() == pytest.approx(picks, rel=1e-9)
    share *= picks / (e * share).sum()
    rng = np.random.default_rng(7)
    keys = rng.exponential(size=(20000, 200)) / np.repeat(w, 100)
    heavy = (np.argpartition(keys, int(picks), axis=1)[:, :int(picks)] < 100).sum(axis=1)
    se = heavy.std() / np.sqrt(len(heavy))
    assert abs(e[0] * share[0] - heavy.mean()) < 4 * se + 0.002 * picks
    assert heavy.mean() < e[0] * rate[0] - 10 * se  # (by weight alone: well off)


def test_a_pool_asked_for_everyone_gives_everyone():
    """When the step's vacancies ask an area for at least as many as it has, every one of its
    people with any weight goes (theta -1: a share of 1), and no more."""
    from placesim.expected import _sampling_theta, _share_taken

    rate, e = np.array([0.9, 1.6, 0.0]), np.array([50.0, 50.0, 10.0])
    total = (e * rate).sum()  # 125 asked of the 100 with any weight
    theta = _sampling_theta(rate, e, np.arange(3), total, (e * rate**2).sum(), rate.max(),
                            100.0)
    assert theta == -1
    assert _share_taken(theta, 0.9) == 1.0


def test_each_kind_of_vacancy_takes_its_start_of_step_number():
    """:func:`placesim.expected._kinds_back`: scaled by ``nu``, the depleted weights give each
    kind of promotion vacancy (local or remote, other or policy) the number its start-of-step
    weights take, whatever the depletion did to the classes; with no depletion, ``nu`` is 1."""
    from placesim.expected import _kinds_back

    rng = np.random.default_rng(3)
    sf_list, sfs = np.arange(6), np.repeat(np.arange(3), 2)  # (seb, state) classes
    start = rng.uniform(1, 5, (6, 2))
    taken = start * rng.uniform(0.8, 1.0, (6, 2))  # the weightiest lose most in the step
    qloc, qout = rng.uniform(0, 1, (3, 2)), rng.uniform(0, 1, (3, 2))
    nu = np.zeros(4)
    _kinds_back(start, taken, qloc, qout, sf_list, sfs, nu)
    for vp in range(2):
        for k, q in ((vp, qloc), (2 + vp, qout)):
            asked = (q[sfs, vp] * start[:, vp]).sum()
            assert (q[sfs, vp] * taken[:, vp]).sum() * nu[k] == pytest.approx(asked, rel=1e-12)
    assert (nu > 1).all()
    _kinds_back(start, start, qloc, qout, sf_list, sfs, nu)
    assert nu == pytest.approx(np.ones(4))
