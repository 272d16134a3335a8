"""Target seeking ("what would it take?"): parsing, bad input, infeasibility in words, and a
reduced case whose saved plan meets the target in stochastic replications."""

from __future__ import annotations

import functools

import pytest

from placesim.cli import main
from placesim.planner import TargetError, confirm, parse_budget, parse_target, seek

from .helpers import reduced_package, reduced_scenario

BASE = """name: base
horizon: {start_year: 2023, years: 8}
seed: 11
replications: 20
"""


@functools.cache
def _base():
    return reduced_scenario(BASE, years=8)


@functools.cache
def _seek(text: str, budget: float | None = None):
    t = parse_target(text, years=(2024, 2031))
    return t, seek(_base(), [t], reduced_package(), budget=budget, probe=20)


def test_parse_targets_and_budgets():
    t = parse_target("scs_outside_london_share>=50%@2030")
    assert (t.metric, t.group, t.op, t.value, t.year) == ("scs_outside_london_share", "all",
                                                          ">=", 0.5, 2030)
    t = parse_target("progression_eo_to_director:outside_london <= 0.2 @ 2031")
    assert t.group == "outside_london" and t.op == "<="
    assert parse_budget("300e6") == 3e8 and parse_budget(None) is None


@pytest.mark.parametrize("target, words", [
    ("scs_outside_london_share>=120%@2030", "between 0 and 100%"),
    ("scs_outside_london_share>=0.5@2090", "outside the horizon"),
    ("scs_outside_london_shares>=0.5@2030", "unknown metric"),
    ("scs_outside_london_share=0.5", "metric>=value@year"),
    # a department's figure: said to be out of target seeking's reach, not a syntax error
    # (its upper-case code was refused as "write it as metric>=value@year"; review)
    ("scs_outside_london_share:dept:HO>=0.5@2030", "department: HO"),
    ("roles_moved_out_of_london:dept:HO|london>=8000@2030", "one department's figure"),
])
def test_bad_targets_name_the_field(target, words):
    import pandas as pd

    metrics = pd.DataFrame({"metric": ["scs_outside_london_share"], "group": ["all"]})
    with pytest.raises(TargetError) as e:
        parse_target(target, metrics, (2024, 2033))
    assert "--target" in str(e.value) and words in str(e.value)


@pytest.mark.parametrize("argv, field", [
    (["--target", "scs_outside_london_share>=1.2@2030"], "--target"),
    (["--target", "scs_outside_london_share>=0.5@2099"], "--target"),
    (["--target", "no_such_metric>=0.5@2030"], "--target"),
    (["--target", "scs_outside_london_share>=0.5@2030", "--budget=-5"], "--budget"),
])
def test_cli_bad_input_exits_2_naming_the_field(argv, field, tmp_path, capsys):
    assert main(["plan", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err


def test_reduced_plan_meets_the_target_and_replications_confirm_it(tmp_path):
    from placesim import load_scenario
    from placesim.planner import plan_yaml
    from placesim.scenario import dump_scenario

    t, res = _seek("scs_outside_london_share>=0.5@2029")
    assert res.feasible, res.explanation
    assert res.achieved[t.text] >= 0.5
    assert res.cost_gbp > 0 and res.counts
    assert "scs" in {k.split("|")[0] for k in res.counts}
    # the rationale names each chosen site's labour pool and ladder
    assert {"higher_professional_share", "g7_plus_posts_within_commute", "ladder"} <= set(
        res.table.columns)
    # saved as a scenario that extends the base, loaded back, run with 20 replications
    (tmp_path / "base.yaml").write_text(dump_scenario(_base()), encoding="utf-8")
    out = tmp_path / "plans"
    out.mkdir()
    text = plan_yaml(res, _base(), tmp_path / "base.yaml", out, [t], None)
    (out / "plan.yaml").write_text(text, encoding="utf-8")
    plan = load_scenario(out / "plan.yaml")
    assert plan.waves == res.scenario.waves and "extends: ../base.yaml" in text
    p = confirm(plan, [t], reduced_package(), replications=20)
    # (most runs meet it: the plan meets the model's 54.2% in expected values, by 0.3
    # points here; the share was 0.8 or more when the planner aimed at the programme's 50%,
    # 4.2 points lower, and so further past what it then called met)
    assert p[t.text] > 0.5, p


def test_an_impossible_target_is_explained_in_words():
    t, res = _seek("scs_outside_london_share>=0.99@2029")
    assert not res.feasible
    assert "capacity" in res.explanation and "%" in res.explanation
    assert "status" not in res.explanation.lower()


def test_a_budget_too_small_is_the_binding_constraint():
    t, res = _seek("scs_outside_london_share>=0.5@2029", budget=1000.0)
    assert not res.feasible and "budget" in res.explanation


def test_rationales_name_each_site_labour_pool_and_ladder():
    t, res = _seek("scs_outside_london_share>=0.5@2029")
    names = reduced_package().districts.set_index("lad_code")["lad_name"]
    for lad in res.table["lad_code"]:
        assert f"{names[lad]}: labour pool within 50 km" in res.explanation, res.explanation
    assert "Civil Service posts" in res.explanation and "ladder here" in res.explanation
    from placesim.labour_pool import labour_pool

    pool = labour_pool(reduced_package()).set_index("lad_code")
    assert pool["higher_professional_share"].between(0, 1).all()
    assert (pool["g7_plus_posts_within_commute"] <= pool["cs_posts_within_commute"]).all()


@pytest.mark.slow
def test_cli_saves_a_plan_that_validates(tmp_path, capsys):
    from placesim.testing import write_synthetic_package

    write_synthetic_package(tmp_path / "pkg", headcount=4000)
    (tmp_path / "base.yaml").write_text(
        "name: base\ndata: pkg\nhorizon: {start_year: 2023, years: 6}\nseed: 7\n"
        "sites: {alpha: {capacity: 150}, beta: {capacity: 100}}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["plan", "--base", str(tmp_path / "base.yaml"), "--target",
                 "scs_outside_london_share>=0.6@2027", "--out", str(out),
                 "--replications", "3"]) == 0
    printed = capsys.readouterr().out
    assert "met in" in printed and "labour pool within 50 km" in printed
    assert main(["validate", str(out / "plan-targets.yaml")]) == 0


def test_a_plan_over_its_budget_is_never_reported_feasible():
    """The cost per post measured on a small probe was far below the plan's own (double
    running starts once a campus is full), and the plan's simulated cost was never held
    to the budget: a plan costing £20m was reported feasible within £12m."""
    t, free = _seek("scs_outside_london_share>=0.5@2029")
    budget = round(0.6 * free.cost_gbp)
    t, res = _seek("scs_outside_london_share>=0.5@2029", budget=budget)
    assert not res.feasible or res.cost_gbp <= budget, res.explanation
    assert not res.feasible and "over the budget" in res.explanation, res.explanation


def test_only_waves_naming_a_campus_use_its_desks():
    from placesim.planner import campus_capacity
    from placesim.simulation import simulate

    wave = """waves:
  - {{name: w, year: 2024, posts: {{grades: [EO]}}, count: 1000, mode: recreate,
     destinations: [{{{where}, share: 1.0}}]}}
"""
    used = {}
    sized = "sites: {sheffield: {capacity: 1000}}\n"  # (the data give it none)
    for where in ("district: E08000019", "site: sheffield"):  # Sheffield's district, its site
        base = reduced_scenario(BASE + sized + wave.format(where=where), years=8)
        moves = simulate(base, reduced_package(), mode="expected").moves
        camp = campus_capacity(base, reduced_package(), moves).set_index("site_id")
        used[where] = camp.loc["sheffield", "used"]
    assert used == {"district: E08000019": 0.0, "site: sheffield": pytest.approx(100.0)}


def test_a_campus_opening_after_the_target_year_is_not_used():
    """Posts sent to a campus that opens in 2029 cannot count by 2029: the plan uses others."""
    from placesim.planner import campus_capacity

    base = reduced_scenario(BASE + "sites: {sheffield: {opens_year: 2029, capacity: 1000}}\n",
                            years=8)
    t = parse_target("scs_outside_london_share>=0.5@2029")
    res = seek(base, [t], reduced_package(), probe=20)
    assert res.feasible, res.explanation
    assert res.counts and not any(k.endswith("|sheffield") for k in res.counts), res.counts
    assert res.achieved[t.text] >= 0.5
    spare = {y: campus_capacity(base, reduced_package(), res.base_results.moves, year=y)
             .set_index("site_id").loc["sheffield", "spare"] for y in (2029, 2030)}
    assert spare[2029] == 0 < spare[2030]


def test_a_target_met_by_a_thin_margin_is_flagged():
    """Met in expected values by less than the runs' spread: met in only some runs, and
    the explanation says so."""
    from placesim.planner import _value_at

    _, free = _seek("scs_outside_london_share>=0.5@2029")
    base_v = _value_at(free.base_results.metrics, parse_target(
        "london_share_of_high_seb_g7_plus<=0.5@2029"))
    t = parse_target(f"london_share_of_high_seb_g7_plus<={base_v + 1e-6:.9f}@2029")
    res = seek(_base(), [t], reduced_package(), probe=20, replications=8)
    assert res.feasible, res.explanation
    assert "margin less than 0.1 points" in res.explanation
    assert "less than the spread of runs" in res.explanation, res.explanation
    assert 0 < res.probability[t.text] < 1
    _, ok = _seek("scs_outside_london_share>=0.5@2029")
    assert "margin" in ok.explanation and "expected values, the mean of runs" in ok.explanation


def test_why_no_plan_says_its_figures_are_estimates():
    """What the budget or the desks would reach is the planner's straight-line estimate
    from its trial runs: said as fact, it was wrong (a budget said to buy 617 posts reaching
    45.3% bought 780, and 617 reached 45.6%; review)."""
    import numpy as np
    import pandas as pd

    from placesim.planner import Target, _binding

    t = Target(metric="scs_outside_london_share", op=">=", value=0.5, year=2030)
    camp = pd.DataFrame({"lad_name": ["Darlington"], "spare": [5000.0], "opens_year": [np.nan]})
    kinds = ["scs"]
    # each post +0.01 points; 10 points to go; £81,000 a post: the budget buys 617
    why = _binding([t], kinds, np.array([[1e-4]]), np.array([0.1]), np.array([81_000.0]),
                   camp, {"scs": 5000}, 50e6)
    assert "roughly 617 SCS posts" in why and "about" in why, why
    assert "straight-line estimates from the trial runs, not a run of that plan" in why
    why = _binding([t], kinds, np.array([[1e-7]]), np.array([0.1]), np.array([1.0]),
                   camp, {"scs": 5000}, None)  # (desks bind)
    assert "limits scs_outside_london_share to about" in why and "straight-line" in why, why


def test_the_planner_judges_the_scs_target_as_the_targets_table_does():
    """The model's SCS share reads about 4.2 points above the programme's measure: the
    planner aims past that, as the targets table judges, so the table of the plan it finds
    says met (it called 50.0% met where the plan's brief said "uncertain: within the 4.2
    points the model's measure reads above the target's"; review)."""
    from placesim.export import targets_table
    from placesim.metrics import READS_HIGH_BY

    t, res = _seek("scs_outside_london_share>=0.5@2030")
    assert t.goal == pytest.approx(0.5 + READS_HIGH_BY["scs_outside_london_share"])
    assert not t.met(0.5) and t.met(t.goal)
    assert res.feasible, res.explanation
    assert res.achieved[t.text] >= t.goal
    assert "must pass 54.2%" in res.explanation, res.explanation
    row = targets_table(res.results.metrics, banded=False).set_index("Target").loc[
        "Senior Civil Service posts outside London"]
    assert row["Met?"] == "met", row["Met?"]


def test_a_plan_starts_after_the_record_and_has_its_own_title():
    """Target seeking starts its moves in the April after the base's recorded moves end (the
    shipped history runs to June 2024, so 2025; plans started in 2024, inside the record),
    or the horizon's second year without any; a plan is titled as itself (it kept
    "Baseline — ..."; review)."""
    from placesim import load_scenario
    from placesim.planner import after_the_record

    assert after_the_record(load_scenario("scenarios/baseline.yaml")) == 2025
    assert after_the_record(_base()) == _base().horizon.start_year + 1
    t, res = _seek("scs_outside_london_share>=0.5@2029")
    assert res.scenario.title.startswith("plan-targets: the cheapest plan found")
    assert all(w.year == 2024 for w in res.scenario.waves[len(_base().waves):])
    with pytest.raises(TargetError, match="--start-year"):
        seek(_base(), [t], reduced_package(), year=2030)
    with pytest.raises(TargetError, match="--start-year"):  # (2029's figure is March 2029's:
        seek(_base(), [t], reduced_package(), year=2029)    # a move from April cannot count)


def test_a_target_past_the_desks_says_the_most_they_allow_and_which_campuses_are_unsized():
    """Roles moved past the campuses' desks: the most is every spare desk filled (one role
    a post, whatever its kind), not the one kind that moves it most per post until London
    runs out of them (27,488 said where about 29,918 could move; review); and the campuses
    with no capacity figure, left out, are named."""
    from placesim.planner import campus_capacity
    from placesim.simulation import simulate

    t, res = _seek("roles_moved_out_of_london>=60000@2029")
    assert not res.feasible
    moves = simulate(_base(), reduced_package(), mode="expected").moves
    spare = campus_capacity(_base(), reduced_package(), moves).spare.sum()
    base = res.achieved[t.text]  # (the base's: no plan was found)
    assert f"to about {base + spare:,.0f} by 2029" in res.explanation, res.explanation
    assert " and " in res.explanation.split("moving ")[1].split(" posts")[0]
    assert "Campuses with no capacity figure are left out (" in res.explanation
    assert "Leeds" in res.explanation.split("left out (")[1]


def test_a_target_met_exactly_says_so():
    """A plan that reaches its target exactly read "margin no change" (review): it says it
    is met exactly, with no margin; a margin is given where there is one."""
    from placesim.planner import _margin_words

    t = parse_target("roles_moved_out_of_london>=24000@2030")
    assert _margin_words(t, 24000.0) == "; met exactly, no margin"
    assert _margin_words(t, 24003.0) == "; margin 3"
    # a margin the figures round away is one, not "met exactly" (review)
    assert _margin_words(t, 24000.3) == "; margin too small to show"
    assert _margin_words(t, 23990.0) == ""
