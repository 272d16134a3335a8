"""What the appraisal (placesim.costs) counts: Civil Service posts only, and every lever's
spending. Each test runs a lever against the same scenario without it."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from placesim import engine, load_scenario_text
from placesim.costs import COST_COMPONENTS, cost_columns
from placesim.engine import run_replication
from placesim.expected import run_expected
from placesim.metrics import replication_table

from .helpers import scenario_text, synthetic_package

SECONDMENTS = """levers:
  secondments: {start_year: 2023, sites: [alpha, beta], inbound_per_site: 40,
                outbound_per_site: 0, conversion_share: %s}
"""
POSTINGS = """levers:
  london_postings: {start_year: 2023, places_per_year: 40, months: 12}
"""
OUTREACH = """levers:
  recruitment_outreach: {start_year: 2023, cost_gbp_per_entrant: 2000}
"""


@functools.cache
def _package():
    return synthetic_package()


@functools.cache
def _model(levers: str = ""):
    text = scenario_text(waves=False, years=4) + levers
    return engine.prepare(load_scenario_text(text, filename="synthetic.yaml"), _package())


def _figures(model, result) -> dict[str, np.ndarray]:
    labels, _, values = replication_table(model, result)
    return {m: values[:, k] for k, (m, g) in enumerate(labels) if g == "all"}


@pytest.mark.parametrize("mode", ["expected", "stochastic"])
def test_secondees_posts_are_not_priced_as_civil_service_posts(mode):
    """Council secondees hold posts at the sites but are not civil servants: with none
    converting, the lever moves no post out of London and costs only what the secondees are
    paid (the old appraisal counted their posts as London posts avoided, a saving, and
    charged hub space for them)."""
    base, lever = _model(), _model(SECONDMENTS % 0.0)
    run = run_expected if mode == "expected" else lambda m: run_replication(m, 0)
    a, b = _figures(base, run(base)), _figures(lever, run(lever))
    assert (b["posts"] - a["posts"] == 80).all()  # the secondees' posts are there
    for metric in ("london_posts_avoided", "saving_total_gbp", "cost_hub_capital_gbp"):
        np.testing.assert_allclose(b[metric], a[metric], atol=1e-6, err_msg=metric)
    np.testing.assert_allclose(b["cost_total_gbp"] - a["cost_total_gbp"],
                               b["cost_secondments_gbp"], atol=1e-6)


def test_converted_secondees_posts_are_costed_not_counted_as_posts_out_of_london():
    """Secondees who stay become civil servants in permanent posts the lever adds: each
    costs the secondments line a post outside London (pay, on-costs, a desk) on the year's
    average, and none is a London post avoided (they were: a saving and hub space, with
    their pay never costed; review). Against the same lever with no one staying."""
    none, lever = _model(SECONDMENTS % 0.0), _model(SECONDMENTS % 1.0)
    a, b = _figures(none, run_expected(none)), _figures(lever, run_expected(lever))
    kept = np.cumsum(b["secondee_conversions"])  # permanent posts at each year's end
    assert kept[-1] == 240
    for metric in ("london_posts_avoided", "saving_total_gbp", "cost_hub_capital_gbp"):
        np.testing.assert_allclose(b[metric], a[metric], atol=1e-6, err_msg=metric)
    c = lever.params.costs
    per_post = np.mean([c[f"pay_outside_gbp.{g}"] * (1 + c["employer_oncost_share"])
                        + c["desks_per_post"] * c["m2_per_desk"]
                        * c["estate_gbp_per_m2_outside"]
                        for g in ("HEO", "SEO")])  # (the intake: half HEO, half SEO)
    average = (np.concatenate([[0.0], kept[:-1]]) + kept) / 2  # the year's average posts
    np.testing.assert_allclose(b["cost_secondments_gbp"] - a["cost_secondments_gbp"],
                               average * per_post, rtol=1e-9)


@pytest.mark.parametrize("mode", ["expected", "stochastic", "reference"])
def test_london_postings_posts_are_not_priced(mode):
    """A posting keeps its holder's home post, so its London post is no extra post: every
    mode records the postings' posts (``posting_posts``), and the appraisal leaves them out.
    (The old appraisal read every post: -29 London posts avoided here.)"""
    from placesim.reference import run_reference

    run = {"expected": run_expected, "stochastic": lambda m: run_replication(m, 0),
           "reference": lambda m: run_reference(m, 0)}[mode]
    base, lever = _model(), _model(POSTINGS)
    a_run, b_run = run(base), run(lever)
    d = lever.rules.posting_district
    for ra, rb in zip(a_run.years, b_run.years, strict=True):
        # (posts change only by the postings here: no waves, no workforce change)
        np.testing.assert_allclose(rb.posting_posts, (rb.posts - ra.posts)[:, d], atol=1e-6)
        assert rb.posting_posts.sum() > 20
    labels, values = cost_columns(lever, b_run)
    _, base_values = cost_columns(base, a_run)
    k = labels.index(("london_posts_avoided", "all"))
    np.testing.assert_allclose(values[:, k], base_values[:, k], atol=1e-6)


@pytest.mark.parametrize("mode", ["expected", "stochastic", "reference"])
def test_secondments_are_paid_for_in_the_npv(mode):
    """The secondments lever costs the pay and on-costs of the council staff in campus posts
    and the cover of the civil servants out with councils, at their grades' pay outside
    London, for their person-years (it was free: about £32m over social-mobility-levers'
    horizon). Every mode records both by grade, step by step; a run without the lever pays
    nothing for it."""
    from placesim.costs import default_costs
    from placesim.grades import GRADES
    from placesim.reference import run_reference

    run = {"expected": run_expected, "stochastic": lambda m: run_replication(m, 0),
           "reference": lambda m: run_reference(m, 0)}[mode]
    levers = SECONDMENTS.replace("outbound_per_site: 0", "outbound_per_site: 15") % 0.0
    model, base = _model(levers), _model()
    result = run(model)
    f = _figures(model, result)
    c = default_costs()
    pay = np.array([c[f"pay_outside_gbp.{g}"] for g in GRADES]) * (
        1 + c["employer_oncost_share"])
    years = np.array([r.levers["secondee_years"] for r in result.years])  # (Y, 2, grade)
    # 80 council staff a year in post, each for 12 months, the first intake's year too (the
    # average of its start and end counted it as half a year); 30 out, less those who leave
    np.testing.assert_allclose(years[:, 0].sum(axis=1), 80.0)
    assert ((20 < years[:, 1].sum(axis=1)) & (years[:, 1].sum(axis=1) <= 30)).all()
    assert years[:, 1, [GRADES.index(g) for g in ("HEO", "SEO", "G7")]].sum() == pytest.approx(
        years[:, 1].sum())  # the default outbound grades
    np.testing.assert_allclose(f["cost_secondments_gbp"], years.sum(axis=1) @ pay, rtol=1e-9)
    assert "cost_secondments_gbp" in COST_COMPONENTS
    np.testing.assert_allclose(f["cost_total_gbp"], sum(f[k] for k in COST_COMPONENTS))
    assert (_figures(base, run(base))["cost_secondments_gbp"] == 0).all()


def test_outreach_spending_is_a_cost_in_the_npv():
    """The outreach lever's spending (reported cumulatively) is a cost of each year, in the
    total and the NPV (it was reported but left out of both)."""
    model = _model(OUTREACH)
    f = _figures(model, run_expected(model))
    spent = np.diff(np.concatenate([[0.0], f["outreach_cost_gbp"]]))
    assert spent.sum() > 0
    np.testing.assert_allclose(f["cost_outreach_gbp"], spent)
    assert "cost_outreach_gbp" in COST_COMPONENTS
    np.testing.assert_allclose(f["cost_total_gbp"], sum(f[c] for c in COST_COMPONENTS))
    base = _model()
    b = _figures(base, run_expected(base))
    np.testing.assert_allclose(b["npv_gbp"][-1] - f["npv_gbp"][-1],
                               (spent / 1.035 ** np.arange(len(spent))).sum(), rtol=1e-9)


@pytest.mark.parametrize("mode", ["expected", "stochastic"])
def test_the_headline_relocation_cost_is_the_appraisals_cost_of_people(mode):
    """One costing of the people the moves move or lose: the headline relocation cost is the
    running total of the appraisal's packages, redundancy, recruitment and lost output.
    (It priced each leaver at a flat £40,000 while the value-for-money table priced the same
    leavers by their parts: £10.5m beside £11.9m in one pack; review.)"""
    from placesim.costs import PEOPLE_COSTS

    m = engine.prepare(load_scenario_text(scenario_text(waves=True, years=4),
                                          filename="synthetic.yaml"), _package())
    r = run_expected(m) if mode == "expected" else run_replication(m, 0)
    labels, _, values = replication_table(m, r)
    col = {label: values[:, i] for i, label in enumerate(labels)}
    people = sum(col[(k, "all")] for k in PEOPLE_COSTS)
    assert col[("cost_redundancy_gbp", "all")].sum() > 0  # (someone left: the case at issue)
    assert col[("cost_relocation_gbp", "all")].sum() > 0
    np.testing.assert_allclose(col[("relocation_cost_gbp", "all")], np.cumsum(people))


def test_a_late_move_is_valued_over_the_appraisal_period_not_cut_at_the_horizon():
    """A run's NPV stops at its horizon with no residual value, so a move in its last year
    carries its one-off costs and part of a year of savings and reads as poor value
    (review). The NPV over the appraisal period (20 years, the Government Hubs programme's)
    holds the running saving as things stand at the year's end (the whole move, not the
    year's average) for the rest of the period, discounted; one-off costs are not held."""
    from placesim.costs import appraise, default_costs, discount_factors

    c = default_costs()
    start = np.zeros((11, 2))
    start[2] = [1000, 1000]  # 1,000 EO posts in London and 1,000 outside

    def value(move_year: int, support: float = 0.0) -> dict:
        years = np.arange(2024, 2034)
        posts = np.repeat(start[None], len(years), axis=0)
        posts[years >= move_year, 2] = [500, 1500]  # half London's EO posts move, for good
        leavers = np.zeros((len(years), 11))
        leavers[years == move_year, 2] = 100  # one-off: leavers in the year of the move
        z = np.zeros(len(years))
        return appraise(posts, start, np.array([True, False]), years=years, start_year=2024,
                        costs=c, leavers=leavers, redundancies=np.zeros_like(leavers),
                        wave_redundancies=np.zeros_like(leavers), relocation_cost_gbp=z + support,
                        replaced_pending=np.zeros((len(years), 11, 2)), roles_moved_out=z,
                        promotion_support_gbp=z + support)

    late, early = value(2033), value(2026)
    assert late["npv_gbp"][-1] < 0 < early["npv_gbp"][-1]  # (cut at the horizon)
    # relocation support paid on promotions recurs while its lever is on: held too (left
    # out, the long-run NPV fell year by year with nothing changing; review)
    support = value(2026, support=1e6)
    assert support["npv_long_run_gbp"][-1] == pytest.approx(
        early["npv_long_run_gbp"][-1] - 1e6 * (discount_factors(np.arange(2024, 2044), 2024,
                                                                c["discount_rate"]).sum()))
    a_year = early["saving_total_gbp"][-1]  # (the moved posts' saving in a whole year)
    assert late["saving_total_gbp"][-1] == pytest.approx(a_year / 2)  # (moved in the year)
    later = discount_factors(np.arange(2034, 2044), 2024, c["discount_rate"]).sum()
    assert late["npv_long_run_gbp"][-1] == pytest.approx(late["npv_gbp"][-1] + a_year * later)
    assert late["npv_long_run_gbp"][-1] > 0
    assert early["npv_long_run_gbp"][-1] == pytest.approx(early["npv_gbp"][-1] + a_year * later)
