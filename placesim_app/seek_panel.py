"""The app's "What would it take?" panel: pick targets and a budget, get the cheapest plan,
its costs and savings, its map and the chance it meets each target, and save it as a
scenario file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from placesim.errors import PlacesimError
from placesim.present import fmt_value, measure

from .state import SCENARIOS, load_choice, package_for, stores

#: Targets offered: (metric, group, default value, default year).
CHOICES: tuple[tuple[str, str, float, int], ...] = (
    ("scs_outside_london_share", "all", 0.50, 2030),
    ("london_share_of_high_seb_g7_plus", "all", 0.30, 2030),
    ("policy_roles_outside_london", "all", 10000.0, 2030),
    ("roles_moved_out_of_london", "all", 30000.0, 2030),
)


def _label(i: int) -> str:
    metric, group, _, _ = CHOICES[i]
    return measure(metric).label


def _target_row(n: int, years: list[int]):
    """One target's widgets; returns its text (``metric>=value@year``)."""
    c1, c2, c3, c4 = st.columns([3, 1, 1.5, 1])
    i = c1.selectbox(f"Target {n}", range(len(CHOICES)), format_func=_label,
                     key=f"seek_metric_{n}")
    metric, group, value, year = CHOICES[i]
    share = measure(metric).unit in ("share", "chance")
    op = c2.selectbox("At least or at most", [">=", "<="], key=f"seek_op_{n}_{i}",
                      format_func=lambda o: "at least" if o == ">=" else "at most")
    v = c3.number_input("Value" + (" (%)" if share else ""), min_value=0.0,
                        max_value=100.0 if share else 2_000_000.0,
                        value=value * 100 if share else value, step=1.0 if share else 100.0,
                        key=f"seek_value_{n}_{i}")
    y = c4.selectbox("By", years, index=years.index(year) if year in years else len(years) - 1,
                     key=f"seek_year_{n}")
    g = "" if group == "all" else f":{group}"
    return f"{metric}{g}{op}{v / 100 if share else v:g}@{y}"


def seek_panel() -> None:
    """The panel (inside the planner's tab)."""
    from placesim.planner import after_the_record, parse_budget, parse_target, plan_yaml, seek

    st.markdown("### What would it take?")
    st.markdown("Pick targets and a budget: the planner finds the cheapest set of posts to "
                "move from London to the campuses (within their spare desks) that meets every "
                "target in expected values, over the baseline.")
    base = load_choice("baseline.yaml")
    pkg = package_for(base)
    start = base.horizon.start_year
    # (a plan's moves start after the record, in April: targets from the March after)
    years = list(range(after_the_record(base) + 1, start + base.horizon.years + 1))
    texts = [_target_row(1, years)]
    if st.checkbox("Add a second target", key="seek_second"):
        texts.append(_target_row(2, years))
    c1, c2 = st.columns(2)
    budget_m = c1.number_input("Budget, £ million (0: no budget)", min_value=0.0,
                               max_value=100_000.0, value=300.0, step=50.0, key="seek_budget")
    reps = int(c2.number_input("Runs with random variation to check it (0: none)",
                               min_value=0, max_value=100, value=0, step=10, key="seek_reps"))
    if not st.button("Find the cheapest plan", key="seek_go", type="primary"):
        return
    try:
        targets = [parse_target(t, years=(years[0], years[-1])) for t in texts]
        budget = parse_budget(budget_m * 1e6) if budget_m > 0 else None
    except PlacesimError as e:
        st.error(str(e))
        return
    key = ("seek", tuple(texts), budget)
    with st.spinner("Finding the cheapest plan (about half a minute)…"):
        res = stores()["plans"].memo(key, lambda: seek(base, targets, pkg, budget=budget))
    if not res.feasible:
        st.error(res.explanation)
        return
    st.success(res.explanation)
    show_plan(pkg, res)
    from .value import value_section

    st.markdown("**Costs and savings of the plan against the baseline**")
    value_section(res.results, res.base_results, "the baseline")
    if reps:
        from placesim.planner import replicated

        with st.spinner(f"Running the plan {reps} times with random variation…"):
            prob, words = stores()["plans"].memo(key + (reps,), lambda: replicated(
                res.scenario, targets, pkg, reps, [res.achieved[t.text] for t in targets]))
        if "Warning" in words:  # (a target met by less than the runs' spread)
            st.warning(words.strip())
        st.dataframe(pd.DataFrame([{"Target": t, "Met in": f"{p:.0%} of {reps} runs"}
                                   for t, p in prob.items()]), hide_index=True,
                     width="stretch")
    text = plan_yaml(res, base, SCENARIOS / "baseline.yaml", SCENARIOS, targets, budget)
    st.download_button("Save the plan as a scenario (YAML)", text,
                       file_name=f"{res.scenario.name}.yaml", mime="application/x-yaml",
                       key="seek_download")


def show_plan(pkg, res) -> None:
    """The plan by campus with each campus's labour pool, and its map."""
    from .planner_tab import plan_map

    t = res.table.copy()
    names = pkg.districts.set_index("lad_code")["lad_name"]
    kinds = [c for c in ("scs", "g7-g6", "eo-seo") if c in t]
    shown = pd.DataFrame({"Campus": t["lad_code"].map(names)})
    for k in kinds:
        shown[f"{k.upper()} posts"] = t[k].astype(int)
    shown["Higher professional workers within 50 km"] = [
        fmt_value("high_seb_share", v) for v in t["higher_professional_share"]]
    shown["Civil Service posts within 50 km"] = t["cs_posts_within_commute"].map("{:,.0f}".format)
    shown["G7+ posts within 50 km"] = t["g7_plus_posts_within_commute"].map("{:,.0f}".format)
    shown["Grades AO-SCS2 there now"] = t["ladder"]
    st.dataframe(shown, hide_index=True, width="stretch")
    alloc = t.melt(id_vars=["lad_code"], value_vars=kinds, var_name="grade", value_name="posts")
    alloc = alloc[alloc["posts"] > 0]
    plan_map(pkg, alloc, None)
