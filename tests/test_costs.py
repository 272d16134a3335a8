"""The Green Book appraisal of a run (placesim.costs): identities, closures, parameters."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from placesim import load_scenario_text
from placesim.calibration import (
    default_parameters,
    parameter_names,
    set_parameter,
    uncertain_parameters,
)
from placesim.cli import main
from placesim.compare import compare_results
from placesim.costs import (
    COST_COMPONENTS,
    COST_METRICS,
    SAVING_COMPONENTS,
    appraisal,
    appraise,
    default_costs,
    discount_factors,
)
from placesim.errors import ScenarioError
from placesim.grades import GRADES
from placesim.scenario import check_against_data
from placesim.simulation import Results, simulate

from .helpers import scenario_text, synthetic_package

CLOSURE = """
office_closures:
  - {name: Old Admiralty, district: E09000001, year: 2025, quarter: 3, desks: 400}
"""


@functools.cache
def _run(closure: bool = False, mode: str = "stochastic"):
    text = scenario_text(waves=True, grades=("EO", "HEO", "SCS1")) + (CLOSURE if closure else "")
    s = load_scenario_text(text, filename="synthetic.yaml")
    return simulate(s, synthetic_package(), mode=mode, replications=4)


def _wide(res):
    r = res.replications
    r = r[(r["group"].astype(str) == "all") & r["metric"].astype(str).isin(COST_METRICS)]
    return r.assign(metric=r["metric"].astype(str)).pivot_table(
        index=["replication", "year"], columns="metric", values="value", dropna=False)


def test_components_add_up_and_npv_is_the_discounted_sum():
    res = _run()
    w = _wide(res)
    assert (w["cost_total_gbp"] > 0).any() and (w["saving_total_gbp"] > 0).any()
    np.testing.assert_allclose(w["cost_total_gbp"], w[list(COST_COMPONENTS)].sum(axis=1))
    np.testing.assert_allclose(w["saving_total_gbp"], w[list(SAVING_COMPONENTS)].sum(axis=1))
    np.testing.assert_allclose(w["net_saving_gbp"], w["saving_total_gbp"] - w["cost_total_gbp"])
    start = res.manifest["start_year"] + 1  # the first year's record: undiscounted
    for rep, g in w.groupby(level="replication"):
        years = g.index.get_level_values("year").to_numpy()
        disc = g["net_saving_gbp"].to_numpy() / 1.035 ** (years - start)
        np.testing.assert_allclose(g["npv_gbp"].to_numpy(), np.cumsum(disc), rtol=1e-12)
        pay = g["payback_year"].to_numpy()
        npv = g["npv_gbp"].to_numpy()
        assert np.isnan(pay[-1]) == (npv[-1] <= 0), rep
    assert discount_factors(np.array([start, start + 10]), start, 0.035)[1] == \
        pytest.approx(1 / 1.035 ** 10)


def test_appraisal_table_sums_the_years():
    res = _run()
    a = appraisal(res).set_index("metric")
    m = res.metrics[res.metrics["group"] == "all"]
    total = m[m["metric"] == "cost_total_gbp"]["mean"].sum()
    assert a.loc["cost_total_gbp", "mean"] == pytest.approx(total)
    last = m[m["metric"] == "npv_gbp"].sort_values("year")["mean"].iloc[-1]
    assert a.loc["npv_gbp", "mean"] == pytest.approx(last)
    assert a.loc["cost_total_gbp", "p10"] <= a.loc["cost_total_gbp", "p90"]
    assert all(a["source"].str.len() > 20)


def test_a_run_against_itself_is_zero():
    res = _run()
    d = compare_results(res, res)
    d = d[d["metric"].isin(COST_METRICS) & d["diff"].notna()]
    assert len(d) and (d["diff"] == 0).all() and (d["diff_p90"] == 0).all()


def test_closing_a_london_office_saves_its_cost_from_the_closing_date():
    a, b = _run(False), _run(True)
    d = compare_results(a, b).set_index(["metric", "group", "year"]).sort_index()
    cost = 400 * default_costs()["m2_per_desk"] * default_costs()["estate_gbp_per_m2_london"]
    saved = d.loc[("saving_office_closures_gbp", "all")]["diff"]
    # a year's record covers the twelve months to its start: closed from 1 July 2025, the
    # office saves nothing to 2025, half its cost in the year to 2026, all of it after; for
    # the desks beyond those the wave's London posts avoided already release (the estate
    # line has theirs: counted in the closure too, they were saved twice)
    m = a.metrics[(a.metrics["metric"] == "london_posts_avoided") & (a.metrics["group"] == "all")]
    released = m.set_index("year")["mean"] * default_costs()["desks_per_post"]
    assert released.loc[2027] > 50  # (the wave releases some of the office's 400 desks)
    open_share = pd.Series([0.5] + [1.0] * 3, index=range(2026, 2030))
    beyond = (400 - released.loc[2026:]).clip(lower=0) / 400  # (all 400 while closed)
    assert (saved.loc[:2025] == 0).all()
    np.testing.assert_allclose(saved.loc[2026:], cost * open_share * beyond, rtol=1e-9)
    assert 0 < saved.loc[2027] < cost
    np.testing.assert_allclose(d.loc[("saving_total_gbp", "all")]["diff"], saved)
    np.testing.assert_allclose(d.loc[("cost_total_gbp", "all")]["diff"], 0)
    moved = d.loc[("roles_moved_out_of_london", "all")]["diff"]
    assert (moved == 0).all()  # the closure changes money, not the workforce


def _appraise_two_years(posts, start, costs, **given):
    """:func:`appraise` of two record years (2025, 2026) over two districts, London and one
    outside it: no flows, no double running and no roles moved but those ``given``."""
    none, by_grade = np.zeros(2), np.zeros((2, 11))
    flows = dict(leavers=by_grade, redundancies=by_grade, wave_redundancies=by_grade,
                 relocation_cost_gbp=none, replaced_pending=np.zeros((2, 11, 2)),
                 roles_moved_out=none)
    return appraise(posts, start, np.array([True, False]), years=np.array([2025, 2026]),
                    start_year=2025, costs=costs, **{**flows, **given})


def test_an_office_closure_saves_only_desks_the_posts_avoided_do_not_release():
    """20 EO posts leave London (a year's average of 10, then 20, at 0.75 desks a post): a
    closure of 30 desks saves the cost of 22.5 of them in the first year and 15 in the
    second; of 10 desks, 2.5 and then none (the estate line already saves the others)."""
    for desks, kept in ((30, [22.5, 15.0]), (10, [2.5, 0.0])):
        saved, per_desk = _closure_saving_as_20_eo_posts_leave(desks, quarter=1)
        np.testing.assert_allclose(saved, np.array(kept) * per_desk)


def _closure_saving_as_20_eo_posts_leave(desks: int, quarter: int):
    """The closures line of an appraisal in which 20 of 100 London EO posts leave London in
    its first year (2025; 2026 the second), with one office of ``desks`` closed from
    ``quarter`` of 2024's record year; and the saving a desk a year."""
    from types import SimpleNamespace

    start = np.zeros((11, 2))
    start[2] = [100, 100]
    posts = np.stack([start, start])
    posts[:, 2] = [80, 120]
    c = default_costs()
    office = SimpleNamespace(year=2024, quarter=quarter, desks=desks, annual_cost_gbp=None)
    out = _appraise_two_years(posts, start, c, office_closures=[office])
    return out["saving_office_closures_gbp"], c["m2_per_desk"] * c["estate_gbp_per_m2_london"]


def test_an_office_closed_for_part_of_a_year_sets_all_its_desks_against_those_released():
    """An office of 30 desks closes at the start of the year's last quarter, while 20 EO
    posts have left London (10 on the year's average, at 0.75 desks a post: 7.5 desks
    released): for that quarter its 30 desks are closed, 22.5 beyond those released, so it
    saves a quarter of a year of 22.5 desks (weighting its desks by the quarter too set 7.5
    against 7.5 released, and saved nothing)."""
    saved, per_desk = _closure_saving_as_20_eo_posts_leave(30, quarter=4)
    np.testing.assert_allclose(saved, np.array([0.25 * 22.5, 15.0]) * per_desk)


def test_offices_closed_at_different_times_are_set_against_the_released_desks_together():
    """An office of 5 desks closed all year and one of 30 closing at the last quarter's
    start, 7.5 desks released: for three quarters the 5 are all released already; for the
    last, 35 desks are closed, 27.5 beyond: 6.875 desk-years. (With every office closed in
    the year set against the released desks all year it was 9.8; with the offices' desks
    weighted by the part of the year they were closed, 5; review.) The next year, 35 - 15."""
    from types import SimpleNamespace

    start = np.zeros((11, 2))
    start[2] = [100, 100]
    posts = np.stack([start, start])
    posts[:, 2] = [80, 120]
    c = default_costs()
    offices = [SimpleNamespace(year=2023, quarter=1, desks=5, annual_cost_gbp=None),
               SimpleNamespace(year=2024, quarter=4, desks=30, annual_cost_gbp=None)]
    out = _appraise_two_years(posts, start, c, office_closures=offices)
    per_desk = c["m2_per_desk"] * c["estate_gbp_per_m2_london"]
    np.testing.assert_allclose(out["saving_office_closures_gbp"],
                               np.array([0.25 * 27.5, 35 - 15.0]) * per_desk)


def test_appraise_by_hand():
    start = np.zeros((11, 2))
    start[2] = [100, 100]  # EO
    posts = np.stack([start, start])
    posts[0, 2] = [80, 120]  # 20 EO posts leave London in the first year
    posts[1, 2] = [80, 120]
    c = default_costs()
    out = _appraise_two_years(posts, start, c, roles_moved_out=np.array([20.0, 20.0]))
    np.testing.assert_allclose(out["london_posts_avoided"], [10, 20])  # yearly averages
    per_post = (c["pay_london_gbp.EO"] - c["pay_outside_gbp.EO"]) * (
        1 + c["employer_oncost_share"])
    np.testing.assert_allclose(out["saving_pay_gbp"], [10 * per_post, 20 * per_post])
    np.testing.assert_allclose(out["cost_hub_capital_gbp"], np.array([10, 10]) * c[
        "hub_new_space_share"] * c["hub_capital_gbp_per_role"])
    np.testing.assert_allclose(out["claim_local_benefit_gbp"], [600_000, 600_000])
    assert out["npv_gbp"][-1] == pytest.approx(out["net_saving_gbp"][0]
                                               + out["net_saving_gbp"][1] / 1.035)


def test_secondees_are_priced_for_their_person_years_at_their_grades_pay():
    """Council staff in campus posts and civil servants out with councils cost their grade's
    pay outside London with on-costs, for their person-years in the year, times the shares
    the Civil Service pays (inbound) and pays again for cover (outbound)."""
    from placesim.grades import GRADES

    start = np.zeros((11, 2))
    start[2] = [100, 100]
    c = dict(default_costs(), secondee_inbound_paid_share=0.5, secondee_cover_share=0.25)
    heo, seo = GRADES.index("HEO"), GRADES.index("SEO")
    years = np.zeros((2, 2, 11))  # (year, in post or away, grade) person-years
    years[:, 0, heo] = [5, 10]
    years[1, 1, seo] = 2
    out = _appraise_two_years(np.stack([start, start]), start, c, secondees=years)
    per = {g: c[f"pay_outside_gbp.{g}"] * (1 + c["employer_oncost_share"]) for g in GRADES}
    np.testing.assert_allclose(out["cost_secondments_gbp"], [
        5 * per["HEO"] * 0.5, 10 * per["HEO"] * 0.5 + 2 * per["SEO"] * 0.25])
    np.testing.assert_allclose(out["cost_total_gbp"], out["cost_secondments_gbp"])


def test_double_running_costs_what_the_extra_post_does():
    """While a replaced London post waits to close, the service has one post more (its
    replacement outside London): against the counterfactual that costs one post outside
    London, pay, on-costs and desk. Double running less what the saving lines credit for
    the year comes to exactly that (it charged the London post's pay, (1 - s0) of the
    premium too much; review)."""
    start = np.zeros((11, 2))
    start[2] = [100, 300]  # EO: a quarter in London
    posts = np.stack([start, start])
    posts[:, 2] = [100, 310]  # 10 replacements outside London, the London posts still open
    pending = np.zeros((2, 11, 2))
    pending[:, 2, 1] = 10  # ... all year in the second
    c = default_costs()
    out = _appraise_two_years(posts, start, c, replaced_pending=pending)
    desk = c["desks_per_post"] * c["m2_per_desk"]
    outside = c["pay_outside_gbp.EO"] * (1 + c["employer_oncost_share"]) + desk * c[
        "estate_gbp_per_m2_outside"]
    net = (out["cost_double_running_gbp"] - out["saving_pay_gbp"] - out["saving_estate_gbp"])
    assert out["london_posts_avoided"][1] == pytest.approx(2.5)  # 410 x 1/4 - 100
    assert net[1] == pytest.approx(10 * outside)


def test_leavers_and_redundancies_are_priced_at_their_own_grades_pay():
    """A wave moving EO posts whose leavers are SCS1 (a senior relocate wave beside junior
    re-created roles) prices the leavers at SCS1 pay, not at the EO mix of the posts moved
    (which priced every leaver as the posts' average grade)."""
    start = np.zeros((11, 2))
    start[2] = [100, 100]
    posts = np.stack([start, start])
    posts[:, 2] = [80, 120]  # the posts moved out of London are all EO
    c = default_costs()
    leavers = np.zeros((2, 11))
    leavers[0, GRADES.index("SCS1")] = 5  # five SCS1 incumbents would not move
    red = np.zeros((2, 11))
    red[1, GRADES.index("HEO")] = 2  # and a deadline closed two occupied HEO posts
    out = _appraise_two_years(posts, start, c, leavers=leavers, redundancies=red,
                              roles_moved_out=np.array([20.0, 20.0]))
    months = c["redundancy_months_pay"] / 12
    np.testing.assert_allclose(out["cost_redundancy_gbp"], [
        5 * c["pay_london_gbp.SCS1"] * months, 2 * c["pay_london_gbp.HEO"] * months])
    lost = (c["vacancy_months"] / 12 * c["vacancy_output_lost_share"]
            * (1 + c["employer_oncost_share"]))
    np.testing.assert_allclose(out["cost_vacancy_gbp"],
                               [5 * c["pay_outside_gbp.SCS1"] * lost, 0.0])
    np.testing.assert_allclose(out["cost_recruitment_gbp"], [5 * c["recruitment_gbp"], 0.0])


def test_double_running_is_the_replaced_posts_at_their_grade():
    """Posts a re-creating wave has replaced but that are still open are paid at their own
    grade's pay (they were all priced at the average London post's): a post outside London
    plus the start's London share of the grade's premium, wherever they are
    (:func:`test_double_running_costs_what_the_extra_post_does`)."""
    start = np.zeros((11, 2))
    start[2] = [100, 100]
    posts = np.stack([start, start])
    c = default_costs()
    pending = np.zeros((2, 11, 2))
    pending[0, GRADES.index("G6"), 1] = 4  # four G6 London posts wait to close at 2025's end
    pending[1, GRADES.index("EO"), 0] = 2  # and two EO posts outside London at 2026's
    out = _appraise_two_years(posts, start, c, replaced_pending=pending)
    on = 1 + c["employer_oncost_share"]
    desk = c["desks_per_post"] * c["m2_per_desk"]
    g6 = c["pay_outside_gbp.G6"] * on + desk * c["estate_gbp_per_m2_outside"]  # (no G6 at
    # the start: no London share)
    eo = c["pay_outside_gbp.EO"] * on + desk * c["estate_gbp_per_m2_outside"] + 0.5 * (
        (c["pay_london_gbp.EO"] - c["pay_outside_gbp.EO"]) * on
        + desk * (c["estate_gbp_per_m2_london"] - c["estate_gbp_per_m2_outside"]))
    # each year pays the average of its start and its end
    np.testing.assert_allclose(out["cost_double_running_gbp"], [2 * g6, 2 * g6 + eo])


def test_closures_of_a_workforce_cut_are_not_double_running():
    """The history's closures wait for vacancies (58 at 2024's end) but replace nothing: no
    double running (they were charged £3.7m as if re-created elsewhere)."""
    from pathlib import Path

    from placesim import load_scenario

    root = Path(__file__).resolve().parent.parent
    m = simulate(load_scenario(root / "scenarios" / "history.yaml"), mode="expected").metrics
    pending = m[(m["metric"] == "closures_pending") & (m["group"] == "all")]["mean"]
    assert pending.max() > 10
    running = m[(m["metric"] == "cost_double_running_gbp") & (m["group"] == "all")]["mean"]
    assert (running == 0).all()


def test_runs_that_never_pay_back_count_as_later_than_every_year():
    """Summarised over runs, a payback year that some runs never reach has no mean, and its
    band reaches past the run's years when enough runs never get there (the runs that never
    paid back were left out: 2028 was printed where 9 runs in 20 never paid back)."""
    from placesim.metrics import _bands, later_than_the_run

    runs = np.array([[2026.0, 0.5], [2028.0, 0.5], [np.nan, np.nan], [np.nan, np.nan],
                     [2030.0, 0.7]])  # payback year, and a share (NaN: no one to share)
    later = later_than_the_run(["payback_year", "scs_outside_london_share"])
    assert later.tolist() == [True, False]
    mean, p10, p50, p90 = _bands(runs, later=later)
    assert np.isnan(mean[0]) and mean[1] == pytest.approx(0.5667, abs=1e-4)
    assert p10[0] == pytest.approx(2026.8)  # 2026 and 2028, two-fifths of the way
    assert p50[0] == 2030  # the middle run of five (three paid back)
    assert np.isnan(p90[0])  # the last tenth never paid back: past the run's years
    assert p50[1] == 0.5  # (elsewhere NaN is left out, as before)
    # every run paid back: the mean and the band of the years
    mean, p10, _, p90 = _bands(runs[[0, 1, 4], :1], later=later[:1])
    assert (mean[0], p10[0], p90[0]) == (pytest.approx(2028), pytest.approx(2026.4),
                                         pytest.approx(2029.6))


def test_the_appraisal_gives_the_median_runs_payback_and_a_band_past_the_years():
    """Runs of which some never pay back: the table gives the median run's year and a band
    that ends "none by" the last year (it gave the mean of the runs that paid back), and the
    first page gives the same year."""
    from placesim.brief import appraisal_rows, first_page_rows
    from placesim.compare import compare_results
    from placesim.metrics import _bands, later_than_the_run

    years = [2032.0, 2029.0, np.nan, 2031.0, np.nan]  # each run's payback year
    mean, p10, p50, p90 = (float(x[0]) for x in _bands(np.array(years)[:, None],
                                                         later=later_than_the_run(["payback_year"])))
    metrics = pd.DataFrame([{"scenario": "s", "year": 2033, "metric": "payback_year",
                             "group": "all", "mean": mean, "p10": p10, "p50": p50, "p90": p90}])
    reps = pd.DataFrame({"replication": range(5), "year": 2033, "metric": "payback_year",
                         "group": "all", "value": years})
    res = Results(metrics=metrics, districts=pd.DataFrame(), moves=pd.DataFrame(),
                  assumptions=pd.DataFrame(), manifest={"mode": "stochastic"},
                  replications=reps)
    row = appraisal_rows(res).set_index("metric").loc["payback_year"]
    assert row["Scenario"] == "2032 (median run)"  # (2029, 2031, 2032, never, never)
    assert row["Range (P10 to P90)"] == "2030 to none by 2033"
    # the first page says the same (it said "none by 2033": the mean, which has no value)
    first = first_page_rows(res).set_index("metric").loc["payback_year"]
    assert first["Scenario"] == "2032 (median run)"
    # and so does a comparison with these runs, on both pages
    both = appraisal_rows(res, res).set_index("metric").loc["payback_year"]
    assert both["Comparison"] == "2032 (median run)"
    diff = compare_results(res, res)
    first = first_page_rows(res, res, diff).set_index("metric").loc["payback_year"]
    assert first["Comparison"] == "2032 (median run)"


def test_cost_parameters_are_listed_set_and_drawn():
    p = default_parameters()
    names = parameter_names(p)
    assert {"costs.discount_rate", "costs.desks_per_post", "costs.pay_london_gbp.EO"} <= set(
        names)
    log = {q.name: q for q in p.log}
    assert log["costs.discount_rate"].evidence == "published"
    assert log["costs.desks_per_post"].assumption and log["costs.desks_per_post"].low == 0.5
    assert all(log[n].source for n in names if n.startswith("costs."))
    q = set_parameter(p, "costs.desks_per_post", 0.9)
    assert q.costs["desks_per_post"] == 0.9 and p.costs["desks_per_post"] == 0.75
    assert "costs.hub_new_space_share" in {u.name for u in uncertain_parameters(p)}


def test_a_scenario_override_of_a_cost_changes_the_appraisal():
    text = scenario_text(waves=True, grades=("EO",)) + \
        "parameters: {values: {costs.hub_new_space_share: 0}}\n"
    s = load_scenario_text(text, filename="synthetic.yaml")
    res = simulate(s, synthetic_package(), mode="expected")
    m = res.metrics
    assert (m[m["metric"] == "cost_hub_capital_gbp"]["mean"] == 0).all()


@pytest.mark.parametrize("closure, field", [
    ("{name: x, district: E08000004, year: 2025, desks: 10}", "office_closures[0].district"),
    ("{name: x, district: E09000001, year: 2040, desks: 10}", "office_closures[0].year"),
    ("{name: x, district: E09000001, year: 2025, desks: -3}", "office_closures[0].desks"),
])
def test_bad_office_closures_name_the_field(closure, field, tmp_path, capsys):
    text = scenario_text(waves=False) + f"office_closures:\n  - {closure}\n"
    with pytest.raises(ScenarioError) as e:
        s = load_scenario_text(text, filename="bad.yaml")
        check_against_data(s, synthetic_package())
    assert field in str(e.value)
    f = tmp_path / "bad.yaml"
    pkg = tmp_path / "pkg"
    from placesim.testing import write_synthetic_package

    write_synthetic_package(pkg, headcount=2000)
    f.write_text(text + f"data: {pkg}\n", encoding="utf-8")
    assert main(["validate", str(f)]) == 2
    assert field in capsys.readouterr().err


def test_appraisal_rows_for_the_brief_and_the_app():
    from placesim.brief import appraisal_rows

    a, b = _run(False), _run(True)
    rows = appraisal_rows(b, a).set_index("Line")
    assert {"Net present value", "Payback year", "Costs", "Savings",
            "Saving: London offices closed"} <= set(rows.index)
    assert rows.loc["Saving: London offices closed", "Difference"].startswith("+£")
    assert rows.loc["Costs", "Difference"] == "no change"
    assert "Green Book" in rows.loc["Net present value", "Source"]
    # (a year's, in the last year, among totals over the years: its line says so; review)
    assert "claim" in rows.loc["Claimed local benefit of the roles moved in the run (a claim)",
                               "Source"]
    alone = appraisal_rows(a)
    assert "Difference" not in alone and alone["Range (P10 to P90)"].str.contains(" to ").any()


def test_parameter_uncertainty_draws_the_unit_costs():
    s = load_scenario_text(scenario_text(waves=True, grades=("EO", "SCS1")),
                           filename="synthetic.yaml")
    res = simulate(s, synthetic_package(), mode="expected", replications=4,
                   parameter_uncertainty=True)
    m = res.metrics
    npv = m[(m["metric"] == "npv_gbp") & (m["year"] == m["year"].max())].iloc[0]
    assert npv["p10"] < npv["p90"]  # the bands include what the unit costs leave unknown
    assert "costs.desks_per_post" in res.manifest["uncertainty"]["parameters_drawn"]
    # each draw is its own replication (each was numbered 0: the appraisal then saw one
    # run, and its totals, summed over the draws, had no band)
    assert sorted(res.replications["replication"].unique()) == [0, 1, 2, 3]
    rows = appraisal(res).set_index("metric")
    assert rows.loc["cost_total_gbp", "p10"] < rows.loc["cost_total_gbp", "p90"]


def test_people_costs_follow_who_moved_and_who_was_made_redundant():
    # a relocating wave: packages for the movers (no support), replacements for the leavers
    res = _run()
    m = res.metrics[res.metrics["group"] == "all"].pivot(index="year", columns="metric",
                                                         values="mean")
    movers = m["incumbents_relocated"].iloc[-1]
    assert movers > 0
    assert m["cost_relocation_gbp"].sum() == pytest.approx(movers * 28100.0)
    leavers = m["leavers_caused_by_relocation"].iloc[-1]
    assert m["cost_recruitment_gbp"].sum() == pytest.approx(leavers * 6000.0)
    # a recreating wave closing its London posts by a deadline: redundancies, no replacements
    text = scenario_text(waves=True, grades=("EO", "HEO"), mode="recreate").replace(
        "    origin: london\n", "    origin: london\n    close_by: 2025\n")
    s = load_scenario_text(text, filename="synthetic.yaml")
    r = simulate(s, synthetic_package(), mode="expected").metrics
    r = r[r["group"] == "all"].pivot(index="year", columns="metric", values="mean")
    assert r["redundancies"].iloc[-1] > 0
    assert r["cost_redundancy_gbp"].sum() > 0
    assert r["cost_recruitment_gbp"].sum() == pytest.approx(0, abs=1e-6)
    assert r["cost_relocation_gbp"].sum() == pytest.approx(0, abs=1e-6)


def test_the_secondment_shares_draws_centre_on_their_defaults():
    """Parameter draws are uniform over a range: the secondment shares' defaults (the usual
    rule, 1) sat at the top of 0-1, so their draws' band of the cost excluded the figure
    itself (review: P10-P90 £1.04m-£3.49m against £4.11m)."""
    from placesim.calibration import default_parameters, uncertain_parameters

    ranges = {u.name: u for u in uncertain_parameters(default_parameters())}
    for name in ("costs.secondee_inbound_paid_share", "costs.secondee_cover_share"):
        u = ranges[name]
        assert u.low < u.value < u.high and (u.low + u.high) / 2 == pytest.approx(u.value)


def test_an_appraisal_of_a_folder_without_its_replications_has_no_band(tmp_path):
    """A results folder written without its replications is read (older folders); its
    appraisal has no band rather than a crash (it raised TypeError once the band rule read
    the manifest; review)."""
    s = load_scenario_text(scenario_text(waves=True, grades=("EO",)), filename="s.yaml")
    res = simulate(s, synthetic_package(), replications=2)
    res = Results(metrics=res.metrics, districts=res.districts, moves=res.moves,
                  assumptions=res.assumptions, manifest=res.manifest, replications=None)
    assert res.banded
    rows = appraisal(res).set_index("metric")  # (the totals over years have no band)
    assert rows.loc["cost_total_gbp", "mean"] > 0 and np.isnan(rows.loc["cost_total_gbp", "p10"])


@pytest.mark.parametrize("mode", ["expected", "stochastic"])
def test_a_year_with_a_wave_and_a_cut_deadline_counts_the_waves_own_redundancies(mode):
    """A recreating wave's deadline closes EO and HEO posts in London and a workforce cut's
    closes AO posts in the same year: the wave's redundancies, which are also its leavers
    (and so not replaced: no recruitment), are the EO and HEO ones, recorded as they happen.
    (They were all the year's redundancies times the due pools' wave share: here two of
    three, so a third of the cut's AO redundancies were taken for the wave's, and its
    leavers' recruitment undercounted.)"""
    from placesim.costs import cost_columns
    from placesim.engine import prepare, run_replication
    from placesim.expected import run_expected
    from placesim.grades import GRADES

    text = scenario_text(waves=True, grades=("EO", "HEO"), mode="recreate").replace(
        "    origin: london\n", "    origin: london\n    close_by: 2025\n") + (
        "workforce:\n  paths:\n    - {name: cut, grades: [AO], change: -300, from_year: 2024,"
        " to_year: 2024, close_by: 2025}\n")
    s = load_scenario_text(text, filename="mixed.yaml")
    model = prepare(s, synthetic_package(), people=mode == "stochastic")
    run = run_expected(model) if mode == "expected" else run_replication(model, 0)
    recs = run.years
    ao, eo_heo = GRADES.index("AO"), [GRADES.index("EO"), GRADES.index("HEO")]
    last = recs[-1]
    assert last.redundancies[ao].sum() > 0 and last.redundancies[eo_heo].sum() > 0
    np.testing.assert_allclose(last.wave_redundancies[eo_heo], last.redundancies[eo_heo])
    assert last.wave_redundancies[ao].sum() == 0
    # the appraisal recruits for the wave's leavers but its redundancies
    names, table = cost_columns(model, run)
    rec_cost = table[:, [m for m, _ in names].index("cost_recruitment_gbp")]
    leavers = last.reloc_leavers.sum() - last.wave_redundancies.sum()
    assert rec_cost.sum() == pytest.approx(leavers * model.params.costs["recruitment_gbp"])


def test_the_packs_appraisal_table_says_which_lines_are_sums_and_which_are_to_date():
    """The value-for-money CSV mixed sums over the years with the last year's NPV without a
    word, so its costs and savings did not net to its NPV (review): each line says its
    basis."""
    from placesim.brief import _appraisal_numbers

    res = simulate(load_scenario_text(scenario_text(waves=True, grades=("EO",)),
                                      filename="s.yaml"), synthetic_package(), mode="expected")
    t = _appraisal_numbers(res).set_index("metric")["basis"]
    last = int(res.metrics["year"].max())
    assert t["cost_total_gbp"].startswith("sum over the ") and "undiscounted" in t[
        "cost_total_gbp"]
    assert t["npv_gbp"] == f"in {last}, discounted to date"
    assert t["payback_year"] == f"in {last}"
