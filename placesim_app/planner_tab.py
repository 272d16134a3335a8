"""The app's location planner: rank places, allocate posts, explain the choice, simulate."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from placesim.errors import PlacesimError
from placesim.present import fmt_diff, fmt_value, headline_label

from .charts import band_chart, series
from .state import PLANS, expected_results, load_choice, package_for, problems_markdown, stores
from .tabs import row_of, show_map

PLAN_KEYS = ("plan_posts", "plan_k", "plan_sim")


def reset_plan_edits() -> None:
    for k in list(st.session_state.keys()):
        if k in PLAN_KEYS or str(k).startswith("plan_w_"):
            del st.session_state[k]


def plan_outcome(plan, pkg) -> dict:
    """Ranking, allocation (or the reason there is none), explanation, rationale, scenario."""
    from placesim.planner import (
        InfeasiblePlan,
        allocate,
        allocation_scenario,
        allocation_table,
        explain_choice,
        rationale,
        score_districts,
    )

    def make():
        ranking = score_districts(plan, pkg)
        try:
            alloc = allocate(plan, pkg, ranking)
        except InfeasiblePlan as e:
            return {"ranking": ranking, "allocation": None, "reason": str(e)}
        return {"ranking": ranking, "allocation": alloc, "reason": None,
                "table": allocation_table(plan, pkg, alloc),
                "explanation": explain_choice(plan, pkg, ranking, alloc),
                "rationale": rationale(plan, ranking, alloc, pkg),
                "scenario": allocation_scenario(plan, alloc, pkg=pkg)}

    return stores()["plans"].memo(plan.model_dump_json(), make)


def plan_tab(pkg, year: int) -> None:
    from placesim.planner import CRITERIA, CRITERION_LABELS, edited_plan, fixed_places, load_plan

    files = sorted(p.name for p in PLANS.glob("*.plan.yaml"))
    if not files:
        st.info("There are no location plans in scenarios/plans.")
        return
    st.markdown("Given a number of posts and their grades, which places outside London should "
                "take them? Places are scored on the criteria below, then an optimiser chooses "
                "the places and gives each a full career ladder.")
    st.session_state.setdefault("plan_file", files[0])
    choice = st.selectbox("Location plan", files, key="plan_file", on_change=reset_plan_edits)
    try:
        base = load_plan(PLANS / choice)
    except PlacesimError as e:
        st.error(problems_markdown(f"**{choice} cannot be used:**", e))
        return
    if base.title:
        st.markdown(f"**{base.title}**")
    names = pkg.districts.set_index("lad_code")["lad_name"]
    try:
        fixed = [names.get(c, c) for c in fixed_places(base, pkg)]
    except PlacesimError as e:
        st.error(str(e))
        return
    st.markdown("Fixed by the plan (always included): " + (", ".join(fixed) or "none") + ".")
    st.session_state.setdefault("plan_posts", sum(p.count for p in base.posts))
    st.session_state.setdefault("plan_k", base.sites.k)
    c1, c2 = st.columns(2)
    total = c1.number_input("Posts to place (the plan's mix of grades is kept)", min_value=1,
                            max_value=200_000, step=100, key="plan_posts")
    k = c2.number_input("Most places to choose (including the fixed ones)", min_value=1,
                        max_value=50, step=1, key="plan_k")
    weights = {}
    with st.expander("How much each criterion counts (weights)"):
        w0 = base.weights.model_dump()
        cols = st.columns(3)
        for i, (c, meaning) in enumerate(CRITERIA.items()):
            st.session_state.setdefault(f"plan_w_{c}", float(w0[c]))
            weights[c] = cols[i % 3].number_input(
                CRITERION_LABELS[c], min_value=-10.0, max_value=10.0, step=0.5,
                key=f"plan_w_{c}", help=meaning)
    try:  # (a plan's bad input, e.g. an unknown department: its message)
        plan = edited_plan(base, int(total), int(k), weights)
        out = plan_outcome(plan, pkg)
    except PlacesimError as e:
        st.error(str(e))
        return
    ranking, alloc = out["ranking"], out["allocation"]
    if alloc is None:
        st.error(f"**This plan cannot be met as it stands.** {out['reason']}")
    else:
        st.markdown("### Where the posts go")
        st.markdown(out["explanation"])
        st.dataframe(out["table"], hide_index=True, width="stretch")
        plan_map(pkg, alloc, ranking)
        with st.expander("Why these places (rationale)", expanded=False):
            st.markdown(out["rationale"])
    st.markdown("### How places rank")
    show = ranking.head(25).copy()
    rename = {"rank": "Rank", "lad_name": "Place", "score": "Score"}
    rename.update({f"{c}_points": CRITERION_LABELS[c] for c in CRITERIA})
    show = show[["rank", "lad_name", "score"] + [f"{c}_points" for c in CRITERIA]]
    st.dataframe(show.rename(columns=rename).round(2), hide_index=True, width="stretch")
    st.caption("Each criterion column is its points: the criterion's value (0 to 1) times its "
               "weight. The score is their sum.")
    if alloc is None:
        return
    plan_key = plan.model_dump_json()
    if st.button("Simulate this allocation (expected values)", key="plan_simulate",
                 type="primary"):
        st.session_state["plan_sim"] = plan_key
    if st.session_state.get("plan_sim") == plan_key:
        plan_effect(pkg, plan, out["scenario"])


def plan_map(pkg, alloc: pd.DataFrame, ranking: pd.DataFrame | None) -> None:
    """The chosen places on the map, classed by the posts they take (with their rank and score
    when a ranking is given)."""
    from placesim.disclosure import controlled_numbers, protect
    from placesim.maps import MapSpec, MapView, build_deck, classify

    posts = alloc.groupby("lad_code")["posts"].sum()
    codes = pkg.districts["lad_code"].to_numpy()
    values = controlled_numbers(protect(posts.reindex(codes).fillna(0).to_numpy(float),
                                        count=True)).set_axis(codes)
    spec = MapSpec(metric="planned_posts", title="Posts placed by the plan", k=4)
    classes = classify(values.where(values > 0), spec)
    d = pkg.districts.set_index("lad_code")
    r = ranking.set_index("lad_code") if ranking is not None else pd.DataFrame(
        columns=["rank", "score"])

    def rank_of(c) -> str:
        return (f"Rank {int(r.loc[c, 'rank'])}, score {r.loc[c, 'score']:.2f}"
                if c in r.index else "")

    marks = pd.DataFrame({
        "lad_code": posts.index, "lon": d.loc[posts.index, "centroid_lon"].to_numpy(),
        "lat": d.loc[posts.index, "centroid_lat"].to_numpy(),
        "radius": 3000 + 100 * posts.to_numpy() ** 0.5,
        "label": [d.loc[c, "lad_name"] for c in posts.index],
        "name": [f"{d.loc[c, 'lad_name']} ({c})" for c in posts.index],
        "line0": [f"Posts placed: {fmt_value('posts', v)}" for v in
                  protect(posts.to_numpy(float), count=True)],
        "line1": [rank_of(c) for c in posts.index],
        "line2": "", "line3": "", "line4": ""})
    details = pd.DataFrame(index=pd.Index(codes, name="lad_code"))
    details["line1"] = [rank_of(c) or ("Not a candidate (London)" if ranking is not None
                                       else "") for c in codes]
    details["line2"] = details["line3"] = details["line4"] = ""
    view = MapView(spec, values.where(values > 0), classes, sites=marks, details=details)
    show_map(view, build_deck(pkg, view, part="main"), key="planmap",
             note="Rings mark the chosen places, sized by the posts they take. Grey: not "
                  "chosen.")


PLAN_FIGURES = (
    ("roles_moved_out_of_london", "all"),
    ("cohort_eo_to_g7", "outside_london"),
    ("progression_eo_to_g7", "outside_london"),
    ("progression_eo_to_g7", "coldspots"),
    ("progression_eo_to_g7", "seb:low"),
    ("progression_eo_to_director", "outside_london"),
    ("london_share_of_high_seb_g7_plus", "all"),
)


def plan_effect(pkg, plan, scenario_text: str) -> None:
    """Simulate the plan's scenario (expected values) and compare it with the baseline."""
    import placesim
    from placesim.compare import compare_results
    from placesim.scenario import check_against_data

    from .state import SCENARIOS

    try:
        s = placesim.load_scenario_text(scenario_text, filename=f"{plan.name}.yaml",
                                        root=SCENARIOS, base_dir=SCENARIOS)
        check_against_data(s, package_for(s))
        res = expected_results(s)
        base = expected_results(load_choice("baseline.yaml"))
    except PlacesimError as e:
        st.error(problems_markdown("**The generated scenario could not be run:**", e))
        return
    year = int(min(res.metrics.year.max(), base.metrics.year.max()))
    st.markdown(f"### What the allocation does, {year}")
    st.markdown(f"Expected values for the generated scenario **{s.name}** (relocation from "
                f"{plan.scenario.year}) against the **baseline**.")
    diff = compare_results(base, res)
    d = diff[diff.year == year].set_index(["metric", "group"])
    rows = []
    for metric, group in PLAN_FIGURES:
        if (metric, group) in d.index and row_of(res, metric, group, year) is not None:
            r = d.loc[(metric, group)]
            rows.append({"Measure": headline_label(metric, group),
                         "Baseline": fmt_value(metric, r["mean_a"]),
                         "With the plan": fmt_value(metric, r["mean_b"]),
                         "Difference": fmt_diff(metric, r["diff"])})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    cohort = (res.metrics["metric"] == "cohort_eo_to_g7").any()
    prog = "cohort_eo_to_g7" if cohort else "progression_eo_to_g7"
    for col, (title, metric, group) in zip(st.columns(2), (
            ("**London's share of higher-background staff at Grade 7 and above**",
             "london_share_of_high_seb_g7_plus", "all"),
            ("**EOs outside London reaching Grade 7**", prog, "outside_london")),
            strict=True):
        with col:
            st.markdown(title)
            frame = pd.concat([series(base, metric, [group], "Baseline"),
                               series(res, metric, [group], "With the plan")])
            st.altair_chart(band_chart(frame, metric=metric), width="stretch")
