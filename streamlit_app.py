"""placesim in the browser: compare Places for Growth scenarios on an offline map.

A thin shell over the placesim API: widgets → Scenario → simulate → views. No basemap tiles,
token or CDN: district polygons are the map's base layer.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import streamlit as st

import placesim
from placesim.errors import PlacesimError
from placesim.maps import (
    ATTRIBUTE_METRICS,
    LABELS,
    RESULT_METRICS,
    MapSpec,
    arc_frame,
    build_deck,
    district_values,
    legend_html,
    site_frame,
)

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
MAX_UPLOAD = 256 * 1024
KEY_FIGURES = (
    ("Roles moved out of London", "roles_moved_out_of_london", "all", "{:,.0f}"),
    ("SCS posts outside London", "scs_outside_london_share", "all", "{:.1%}"),
    ("EO to Director outside London", "progression_eo_to_director", "outside_london",
     "{:.2%}"),
    ("London share of high-SEB G7+", "london_share_of_high_seb_g7_plus", "all", "{:.1%}"),
)

st.set_page_config(page_title="placesim — Places for Growth planner", layout="wide")


@st.cache_resource(show_spinner=False)
def data_package():
    return placesim.load_data_package()


@st.cache_data(show_spinner=False, max_entries=32)
def run_cached(scenario_yaml: str, scenario_hash: str, seed: int, mode: str, reps: int):
    """Results keyed by scenario hash, seed, mode and replications."""
    s = placesim.load_scenario_text(scenario_yaml, filename="scenario.yaml", root=SCENARIOS,
                                    base_dir=SCENARIOS)
    res = placesim.simulate(s, data_package(), replications=reps, seed=seed, mode=mode)
    return res.metrics, res.districts, res.moves, res.manifest


def load_choice(name: str):
    return placesim.load_scenario(SCENARIOS / name, root=SCENARIOS)


def scenario_picker(label: str, key: str):
    files = sorted(p.name for p in SCENARIOS.glob("*.yaml"))
    choice = st.sidebar.selectbox(label, files, key=key,
                                  index=files.index("pfg-2027.yaml") if "pfg-2027.yaml" in files
                                  else 0)
    return load_choice(choice)


def uploaded_scenario():
    up = st.sidebar.file_uploader("Or upload a scenario file (YAML)", type=["yaml", "yml"],
                                  key="upload")
    if up is None:
        return None
    data = up.getvalue()
    if len(data) > MAX_UPLOAD:
        st.error(f"{up.name}: the file is larger than {MAX_UPLOAD // 1024} KB.")
        return None
    try:
        s = placesim.load_scenario_text(data.decode("utf-8", errors="replace"),
                                        filename=up.name, root=SCENARIOS, base_dir=SCENARIOS)
        from placesim.scenario import check_against_data

        check_against_data(s, data_package())
        return s
    except PlacesimError as e:
        st.error("This scenario file has problems:\n\n" + "\n".join(
            f"- `{line}`" for line in str(e).splitlines()))
        return None


def lever_edits(s):
    """Sidebar controls for the main levers; returns the edited scenario."""
    from placesim.scenario import dump_scenario

    with st.sidebar.expander("Edit levers"):
        freeze = st.checkbox("London recruitment freeze", key="freeze")
        mentoring = st.checkbox("Mentoring for lower-SEB staff", key="mentoring")
        postings = st.checkbox("Short London postings for regional staff", key="postings")
        support = st.checkbox("Relocation financial support", key="support")
        scale = st.slider("Scale every wave's posts (%)", 0, 200, 100, step=10, key="scale")
    if not (freeze or mentoring or postings or support or scale != 100):
        return s
    import yaml

    doc = yaml.safe_load(dump_scenario(s))
    start = s.horizon.start_year + 1
    lev = doc.setdefault("levers", {})
    if freeze:
        lev["london_recruitment_freeze"] = {"start_year": start, "share_blocked": 0.5}
    if mentoring:
        lev["mentoring"] = {"start_year": start}
    if postings:
        lev["london_postings"] = {"start_year": start}
    if support:
        lev["relocation_support"] = {"start_year": start}
    for w in doc.get("waves", []):
        if "count" in w:
            w["count"] = int(w["count"] * scale / 100)
        else:
            w["share"] = min(1.0, w["share"] * scale / 100)
    doc["name"] = f"{s.name}-edited"
    return placesim.load_scenario_text(yaml.safe_dump(doc, sort_keys=False),
                                       filename="edited.yaml", root=SCENARIOS,
                                       base_dir=SCENARIOS)


def get_results(s, mode: str, reps: int):
    from placesim.scenario import dump_scenario

    m, d, mv, man = run_cached(dump_scenario(s), s.hash(), s.seed, mode, reps)
    return placesim.Results(metrics=m, districts=d, moves=mv, assumptions=pd.DataFrame(),
                            manifest=man)


def headline(res, year: int) -> pd.DataFrame:
    from placesim.brief import HEADLINE_ROWS

    m = res.metrics
    rows = []
    for label, metric, group, fmt in HEADLINE_ROWS:
        r = m[(m.metric == metric) & (m.group == group) & (m.year == year)]
        if r.empty or pd.isna(r["mean"].iloc[0]):
            continue
        r = r.iloc[0]
        rows.append({"Measure": label, "Value": fmt.format(r["mean"]),
                     "Range (P10 to P90)": f"{fmt.format(r['p10'])} to {fmt.format(r['p90'])}"})
    return pd.DataFrame(rows)


def series(res, metric: str, groups: list[str]) -> pd.DataFrame:
    m = res.metrics
    sel = m[(m.metric == metric) & m.group.isin(groups)]
    return sel.pivot(index="year", columns="group", values="mean")


def main() -> None:
    pkg = data_package()
    st.title("placesim: Places for Growth scenarios")
    st.caption("Where civil-service posts go, whether regional career ladders are complete, "
               "and what happens to progression and London's concentration of staff from "
               "higher socio-economic backgrounds. Works offline.")
    st.sidebar.header("Scenario")
    s = uploaded_scenario() or scenario_picker("Choose a scenario", "scenario")
    s = lever_edits(s)
    mode_label = st.sidebar.radio("Results", ["Instant (expected values)",
                                              "With uncertainty bands"], key="mode")
    reps = st.sidebar.number_input("Replications (for bands)", 2, 200, 10, key="reps")
    compare_to = st.sidebar.selectbox("Compare with", ["(none)"] + sorted(
        p.name for p in SCENARIOS.glob("*.yaml")), key="compare")
    mode = "expected" if mode_label.startswith("Instant") else "stochastic"
    with st.spinner("Running the scenario…"):
        res = get_results(s, mode, int(reps))
    years = sorted(res.metrics["year"].unique())
    year = st.slider("Year", int(years[0]), int(years[-1]), int(years[-1]), key="year")
    st.subheader(s.title or s.name)
    if s.question:
        st.write(s.question)

    cols = st.columns(4)
    for col, (label, metric, group, fmt) in zip(cols, KEY_FIGURES, strict=True):
        r = res.metrics[(res.metrics.metric == metric) & (res.metrics.group == group)
                        & (res.metrics.year == year)]
        if len(r):
            r = r.iloc[0]
            col.metric(f"{label}, {year}", fmt.format(r["mean"]),
                       help=f"P10 to P90: {fmt.format(r['p10'])} to {fmt.format(r['p90'])}")
    tab_map, tab_compare, tab_charts, tab_data = st.tabs(["Map", "Compare", "Charts",
                                                          "Downloads"])
    with tab_map:
        options = list(RESULT_METRICS) + list(ATTRIBUTE_METRICS)
        metric = st.selectbox("Show on the map", options, index=0,
                              format_func=lambda k: LABELS.get(k, k), key="map_metric")
        spec = MapSpec(metric=metric, year=year, title=LABELS.get(metric, metric))
        values = district_values(res, pkg, spec)
        deck, classes = build_deck(pkg, spec, values, sites=site_frame(pkg, res, year),
                                   arcs=arc_frame(pkg, res, year))
        c1, c2 = st.columns([4, 1])
        with c1:
            st.pydeck_chart(deck, key="map", height=620)
        with c2:
            st.markdown(legend_html(classes, spec.label), unsafe_allow_html=True)
            st.markdown("Black dots are hubs and campuses, sized by headcount; arcs show posts "
                        "moved.")
        st.dataframe(headline(res, year), hide_index=True, width="stretch")
    with tab_compare:
        if compare_to == "(none)":
            st.info("Choose a scenario to compare with in the sidebar.")
        else:
            other = get_results(load_choice(compare_to), mode, int(reps))
            from placesim.compare import compare_results

            diff = compare_results(other, res)
            d = diff[(diff.year == year) & diff.group.isin(["all", "london", "outside_london"])]
            d = d.rename(columns={"mean_a": compare_to, "mean_b": s.name})
            st.dataframe(d, hide_index=True, width="stretch")
    with tab_charts:
        st.markdown("**Roles moved out of London** (targets: 22,000 by 2027; 34,000 by 2030)")
        st.line_chart(series(res, "roles_moved_out_of_london", ["all"]))
        st.markdown("**Share of SCS posts outside London** (target: 50% by 2030)")
        st.line_chart(series(res, "scs_outside_london_share", ["all"]))
        st.markdown("**Chance an EO reaches Director, by place**")
        st.line_chart(series(res, "progression_eo_to_director", ["london", "outside_london",
                                                                  "coldspots"]))
        st.markdown("**Chance an EO reaches G7, by socio-economic background**")
        st.line_chart(series(res, "progression_eo_to_g7", ["seb:high", "seb:intermediate",
                                                            "seb:low"]))
        st.markdown("**London's share of high-SEB staff at G7 and above**")
        st.line_chart(series(res, "london_share_of_high_seb_g7_plus", ["all"]))
        ladder = res.metrics[(res.metrics.metric == "site_ladder_completeness")
                             & (res.metrics.year == year)][["group", "mean"]]
        st.markdown("**Career ladder completeness per site** (share of grades AO to "
                    "Director present)")
        st.bar_chart(ladder.set_index("group"))
    with tab_data:
        from placesim.export import control_metrics

        table = control_metrics(res.metrics)
        st.download_button("Download metrics (CSV)", table.to_csv(index=False),
                           file_name=f"{s.name}-metrics.csv", mime="text/csv")
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as xw:
            table.to_excel(xw, sheet_name="Table_1", index=False)
        st.download_button("Download metrics (XLSX)", buf.getvalue(),
                           file_name=f"{s.name}-metrics.xlsx")
        from placesim.export import source_line
        from placesim.offline_html import deck_to_offline_html

        html = deck_to_offline_html(deck, title=spec.title, legend=legend_html(
            classes, spec.label), source=source_line(res.manifest))
        st.download_button("Download this map (HTML, works offline)", html,
                           file_name=f"{s.name}-{metric}-{year}.html", mime="text/html")
        st.caption(source_line(res.manifest))


main()
