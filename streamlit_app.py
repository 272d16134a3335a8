"""placesim in the browser: compare Places for Growth scenarios and plan locations, offline.

A thin shell over the placesim API: widgets → Scenario (or Plan) → simulate / plan → views.
No basemap tiles, token or CDN: district polygons are the map's base layer.

Responsiveness: every answer comes first from the expected-value mode (about a second); when
uncertainty bands are asked for, the page shows the expected values while the replications
run, then redraws with P10–P90 bands. Results are kept by scenario hash, seed, mode and
replications, so moving the year slider or switching tabs never re-runs a simulation. Tabs
are drawn only when open.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

import placesim
from placesim.errors import PlacesimError

ROOT = Path(__file__).resolve().parent
SCENARIOS = ROOT / "scenarios"
PLANS = SCENARIOS / "plans"
MAX_UPLOAD = 256 * 1024  # the scenario loader's own limit (placesim.scenario.MAX_BYTES)
EXPECTED = "Instant (expected values)"
BANDS = "With uncertainty bands (P10 to P90)"
VIEWS = ("Map", "Compare", "Charts", "Plan locations", "Downloads")
#: Okabe–Ito: distinguishable with the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
KEY_FIGURES = (
    ("Roles moved out of London", "roles_moved_out_of_london", "all", "{:,.0f}"),
    ("SCS posts outside London", "scs_outside_london_share", "all", "{:.1%}"),
    ("EO to Director outside London", "progression_eo_to_director", "outside_london",
     "{:.2%}"),
    ("London share of high-SEB G7+", "london_share_of_high_seb_g7_plus", "all", "{:.1%}"),
)
GROUPS = {
    "all": "All", "london": "London", "outside_london": "Outside London",
    "coldspots": "Coldspots", "elsewhere": "Elsewhere outside London",
    "seb:high": "Higher SEB", "seb:intermediate": "Intermediate SEB", "seb:low": "Lower SEB",
}
for _p, _pl in (("london", "London"), ("outside_london", "Outside London")):
    for _s, _sl in (("high", "higher"), ("intermediate", "intermediate"), ("low", "lower")):
        GROUPS[f"{_p}|seb:{_s}"] = f"{_pl}, {_sl} SEB"
PROGRESSION_GROUPS = {
    "Place": ["london", "outside_london", "coldspots"],
    "Socio-economic background": ["seb:high", "seb:intermediate", "seb:low"],
    "Place and background": [f"{p}|seb:{s}" for p in ("london", "outside_london")
                             for s in ("high", "intermediate", "low")],
}
CRITERION_LABELS = {
    "coldspot": "Coldspot", "smc_need": "Social-mobility need",
    "cs_presence": "Civil Service already there", "ladder_completeness": "Ladder already there",
    "low_seb_labour_market": "Lower-SEB labour market",
    "distance_from_london": "Distance from London", "near_existing_hub": "Near a hub",
    "site_capacity": "Known spare space", "shared_facilities": "Shared government hub",
}
#: Widgets inside tabs: Streamlit forgets a widget's value while it is not drawn, so these are
#: carried over from run to run.
REMEMBER = ("map_metric", "cmp_metric", "cmp_series", "prog_by", "plan_file", "plan_posts",
            "plan_k")


# --- results, kept across sessions ----------------------------------------------------------

class Store:
    """A small thread-safe LRU of computed things (results, maps, plans)."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value

    def memo(self, key, fn: Callable):
        value = self.get(key)
        return self.put(key, fn()) if value is None else value


@st.cache_resource(show_spinner=False)
def stores() -> dict[str, Store]:
    return {"results": Store(32), "maps": Store(8), "plans": Store(16)}


@st.cache_resource(show_spinner=False)
def data_package(path: str | None = None):
    return placesim.load_data_package(path)


def package_for(s):
    """The data package a scenario names (confined to the shipped data by the loader)."""
    from placesim.scenario import SHIPPED_DATA, resolve_data_path

    p = resolve_data_path(s)
    return data_package(None if p is None or p == SHIPPED_DATA.resolve() else str(p))


def result_key(s, mode: str, reps: int) -> tuple:
    return (s.hash(), s.seed, mode, reps if mode == "stochastic" else 1)


def run_scenario(s, mode: str, reps: int, progress=None):
    res = placesim.simulate(s, package_for(s), replications=reps, seed=s.seed, mode=mode,
                            progress=progress)
    return stores()["results"].put(result_key(s, mode, reps), res)


def expected_results(s):
    res = stores()["results"].get(result_key(s, "expected", 1))
    if res is None:
        with st.spinner(f"Running {s.name} (expected values)…"):
            res = run_scenario(s, "expected", 1)
    return res


def best_results(s, bands: bool, reps: int, pending: list):
    """Banded results if they are ready; otherwise expected values now, bands queued."""
    if bands:
        res = stores()["results"].get(result_key(s, "stochastic", reps))
        if res is not None:
            return res
        if all(p.hash() != s.hash() for p in pending):
            pending.append(s)
    return expected_results(s)


def run_pending(pending: list, reps: int, slot) -> None:
    """Run the queued replications with a progress bar, then redraw the page with bands."""
    tried = st.session_state.setdefault("_bands_tried", set())
    todo = [s for s in pending if result_key(s, "stochastic", reps) not in tried]
    for s in todo:
        bar = slot.progress(0.0, text=f"Working out uncertainty bands for {s.name}: "
                                      f"0 of {reps} replications")

        def tick(done, total, bar=bar, name=s.name):
            bar.progress(done / total, text=f"Working out uncertainty bands for {name}: "
                                            f"{done} of {total} replications")

        tried.add(result_key(s, "stochastic", reps))
        try:
            run_scenario(s, "stochastic", reps, progress=tick)
        except PlacesimError as e:
            slot.error(f"The replications for {s.name} failed: {e}")
            return
    if todo:
        slot.empty()
        st.rerun()


# --- scenarios ------------------------------------------------------------------------------

def scenario_files() -> list[str]:
    return sorted(p.name for p in SCENARIOS.glob("*.yaml"))


def load_choice(name: str):
    return placesim.load_scenario(SCENARIOS / name, root=SCENARIOS)


def problems_markdown(intro: str, err: Exception) -> str:
    lines = [str(line).replace("`", "'") for line in str(err).splitlines() if str(line).strip()]
    return intro + "\n\n" + "\n".join(f"- `{line}`" for line in lines)


def uploaded_scenario():
    """The uploaded scenario, or None; problems are reported in the page as the CLI reports
    them (``file:line: field: message``). Uploads are read with the safe YAML loader and their
    ``extends:``, ``data:`` and coldspot files are confined to the shipped scenarios and data.
    """
    from placesim.errors import Problem, ScenarioError
    from placesim.scenario import check_against_data

    up = st.sidebar.file_uploader(
        "Or upload a scenario file (YAML, up to 256 KB)", type=["yaml", "yml"], key="upload",
        max_upload_size=1,
        help="The file is checked as `placesim validate` checks it. It may extend a shipped "
             "scenario (for example `extends: pfg-2027.yaml`) but cannot read other files.")
    if up is None:
        return None, None
    data = up.getvalue()
    try:
        if len(data) > MAX_UPLOAD:
            raise ScenarioError([Problem(up.name, None, "file",
                                         f"larger than {MAX_UPLOAD // 1024} KB")])
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ScenarioError([Problem(up.name, None, "file",
                                         f"not UTF-8 text ({e.reason})")]) from None
        s = placesim.load_scenario_text(text, filename=up.name, root=SCENARIOS,
                                        base_dir=SCENARIOS)
        check_against_data(s, package_for(s))
        return s, None
    except PlacesimError as e:
        return None, problems_markdown(f"**{up.name} cannot be used.** Fix these problems and "
                                       "upload it again:", e)


def lever_edits(s):
    """Sidebar controls for the main levers; returns the edited scenario."""
    from placesim.scenario import dump_scenario

    with st.sidebar.expander("Change the levers"):
        freeze = st.checkbox("Freeze half of London recruitment", key="freeze")
        mentoring = st.checkbox("Mentoring for staff from lower socio-economic backgrounds",
                                key="mentoring")
        postings = st.checkbox("Short London postings for staff based elsewhere",
                               key="postings")
        support = st.checkbox("Financial support to relocate", key="support")
        scale = st.slider("Scale every relocation wave (%)", 0, 200, 100, step=10, key="scale",
                          help="100% keeps the scenario's numbers of posts.")
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


# --- formatting -----------------------------------------------------------------------------

def row_of(res, metric: str, group: str, year: int):
    m = res.metrics
    r = m[(m.metric == metric) & (m.group == group) & (m.year == year)]
    return None if r.empty or pd.isna(r["mean"].iloc[0]) else r.iloc[0]


def is_banded(res) -> bool:
    return res.manifest.get("mode") == "stochastic"


def band(r, fmt: str, res) -> str:
    if not is_banded(res):
        return "expected value only"
    return f"{fmt.format(r['p10'])} to {fmt.format(r['p90'])}"


def fmt_diff(v: float, fmt: str) -> str:
    if pd.isna(v):
        return "n/a"
    pct = re.search(r"\.(\d)%", fmt)
    if pct:
        d = int(pct.group(1))
        pp = v * 100
        return (f"{pp:+.{d}f} pp" if pp == 0 or abs(pp) >= 10 ** -d else f"{pp:+.2g} pp")
    if fmt.startswith("£"):
        return ("+" if v >= 0 else "-") + "£" + f"{abs(v):,.0f}"
    return fmt.replace("{:", "{:+", 1).format(v)


def headline(res, year: int) -> pd.DataFrame:
    from placesim.metrics import HEADLINES

    rows = []
    for label, metric, group, fmt in HEADLINES:
        r = row_of(res, metric, group, year)
        if r is not None:
            row = {"Measure": label, "Value": fmt.format(r["mean"])}
            if is_banded(res):
                row["Range (P10 to P90)"] = band(r, fmt, res)
            rows.append(row)
    return pd.DataFrame(rows)


def headline_comparison(a, b, year: int, a_name: str, b_name: str) -> pd.DataFrame:
    """Headline figures of b against a: values, bands, and b minus a with its range."""
    from placesim.compare import compare_results
    from placesim.metrics import HEADLINES

    diff = compare_results(a, b)
    diff = diff[diff.year == year].set_index(["metric", "group"])
    rows = []
    for label, metric, group, fmt in HEADLINES:
        ra, rb = row_of(a, metric, group, year), row_of(b, metric, group, year)
        if ra is None or rb is None or (metric, group) not in diff.index:
            continue
        d = diff.loc[(metric, group)]
        row = {"Measure": label, a_name: fmt.format(ra["mean"]), b_name: fmt.format(rb["mean"]),
               "Difference": fmt_diff(d["diff"], fmt)}
        if is_banded(a) and is_banded(b):
            row.update({f"{a_name} (P10 to P90)": band(ra, fmt, a),
                        f"{b_name} (P10 to P90)": band(rb, fmt, b),
                        "Difference (range)": f"{fmt_diff(d['diff_p10'], fmt)} to "
                                              f"{fmt_diff(d['diff_p90'], fmt)}"})
        rows.append(row)
    return pd.DataFrame(rows)


def series(res, metric: str, groups: list[str], label: str | None = None) -> pd.DataFrame:
    """``year, series, mean, p10, p90`` for a metric's groups, with plain labels."""
    m = res.metrics
    sel = m[(m.metric == metric) & m.group.isin(groups)].copy()
    sel["series"] = [label or GROUPS.get(g, g) for g in sel.group]
    return sel[["year", "series", "group", "mean", "p10", "p90"]]


def band_chart(frame: pd.DataFrame, *, y_title: str, fmt: str,
               targets: list[dict] | None = None, height: int = 260):
    """Lines with P10–P90 bands (colour and dash both tell series apart) and target marks."""
    import altair as alt

    order = list(dict.fromkeys(frame["series"]))
    colour = alt.Color("series:N", title=None, sort=order,
                       scale=alt.Scale(domain=order, range=OKABE_ITO[:len(order)]),
                       legend=alt.Legend(orient="bottom", labelLimit=260))
    x = alt.X("year:O", title="Year", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(frame).encode(x=x)
    layers = [
        base.mark_area(opacity=0.18).encode(y="p10:Q", y2="p90:Q",
                                            color=colour.legend(None)),
        base.mark_line(point=True, strokeWidth=2.5).encode(
            y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(format=fmt)), color=colour,
            strokeDash=alt.StrokeDash("series:N", sort=order, legend=None),
            tooltip=[alt.Tooltip("series:N", title="Series"), alt.Tooltip("year:O"),
                     alt.Tooltip("mean:Q", title="Value", format=fmt),
                     alt.Tooltip("p10:Q", title="P10", format=fmt),
                     alt.Tooltip("p90:Q", title="P90", format=fmt)]),
    ]
    if targets:
        t = alt.Chart(pd.DataFrame(targets)).encode(x=alt.X("year:O"), y=alt.Y("value:Q"))
        layers += [t.mark_point(shape="diamond", size=140, filled=True, color="black"
                                ).encode(tooltip=["label:N"]),
                   t.mark_text(dy=-14, color="black", fontWeight="bold").encode(text="label:N")]
    return alt.layer(*layers).properties(height=height)


# --- map ------------------------------------------------------------------------------------

def map_deck(pkg, res, metric: str, year: int, *, compare=None, compare_name: str = ""):
    """The deck, classes and spec for a measure in a year (difference map when ``compare``)."""
    from placesim.maps import (
        LABELS,
        MapSpec,
        arc_frame,
        build_deck,
        district_details,
        district_difference,
        district_values,
        site_frame,
    )

    label = LABELS.get(metric, metric)
    key = (result_key_of(res), metric, year,
           None if compare is None else result_key_of(compare))

    def make():
        if compare is None:
            signed = metric in ("net_posts_gained", "headcount_change")
            spec = MapSpec(metric=metric, year=year, title=f"{label}, {year}",
                           extra={"difference": True} if signed else {})
            values = district_values(res, pkg, spec)
            arcs = arc_frame(pkg, res, year)
        else:
            spec = MapSpec(metric=metric, year=year, extra={"difference": True},
                           title=f"Difference in {label[0].lower() + label[1:]}, {year}",
                           subtitle=f"{res.manifest.get('scenario')} minus {compare_name}")
            values = district_difference(compare, res, pkg, spec)
            arcs = None
        deck, classes = build_deck(pkg, spec, values, sites=site_frame(pkg, res, year),
                                   arcs=arcs, details=district_details(res, pkg, year),
                                   compact=True)
        return deck, classes, spec, values

    return stores()["maps"].memo(key, make)


def result_key_of(res) -> tuple:
    m = res.manifest
    return (m.get("scenario_hash"), m.get("seed"), m.get("mode"), m.get("replications"))


def show_map(deck, classes, spec, *, key: str, note: str) -> None:
    from placesim.maps import legend_html

    c1, c2 = st.columns([4, 1])
    with c1:
        st.pydeck_chart(deck, key=key, height=600,
                        alt=f"Map of districts: {spec.title}. The legend is beside the map.")
    with c2:
        st.markdown(legend_html(classes, spec.title or spec.label), unsafe_allow_html=True)
        st.markdown(note)


# --- tabs -----------------------------------------------------------------------------------

def map_tab(pkg, s, res, year: int) -> None:
    from placesim.maps import ATTRIBUTE_METRICS, LABELS, RESULT_METRICS

    options = list(RESULT_METRICS) + list(ATTRIBUTE_METRICS)
    st.session_state.setdefault("map_metric", "net_posts_gained")
    metric = st.selectbox("Show on the map", options, key="map_metric",
                          format_func=lambda k: LABELS.get(k, k),
                          help="District measures from the scenario, or social-mobility "
                               "indices and coldspots from the data.")
    deck, classes, spec, _ = map_deck(pkg, res, metric, year)
    show_map(deck, classes, spec, key="map", note=(
        "Black dots are hubs and campuses, sized by headcount. Arcs run from London to the "
        "places posts moved to, wider for more posts. Point at a district for its figures."))
    st.markdown(f"**Headline figures, {year}**")
    st.dataframe(headline(res, year), hide_index=True, width="stretch")


def compare_tab(pkg, s, res, other, compare_to: str, year: int) -> None:
    from placesim.maps import LABELS, RESULT_METRICS

    if other is None:
        st.info("Choose a scenario to compare with in the sidebar.")
        return
    name_a, name_b = other.manifest.get("scenario", compare_to), s.name
    if name_a == name_b:
        name_a = f"{name_a} (comparison)"
    st.markdown(f"**{name_b}** compared with **{name_a}**, {year}. Differences are "
                f"{name_b} minus {name_a}.")
    cols = st.columns(len(KEY_FIGURES))
    for col, (label, metric, group, fmt) in zip(cols, KEY_FIGURES, strict=True):
        ra, rb = row_of(other, metric, group, year), row_of(res, metric, group, year)
        if ra is not None and rb is not None:
            col.metric(label, fmt.format(rb["mean"]), fmt_diff(rb["mean"] - ra["mean"], fmt),
                       delta_color="off", help=f"{name_a}: {fmt.format(ra['mean'])}")
    st.dataframe(headline_comparison(other, res, year, name_a, name_b), hide_index=True,
                 width="stretch")
    st.session_state.setdefault("cmp_metric", "net_posts_gained")
    metric = st.selectbox("Difference to map", list(RESULT_METRICS), key="cmp_metric",
                          format_func=lambda k: LABELS.get(k, k))
    deck, classes, spec, _ = map_deck(pkg, res, metric, year, compare=other,
                                      compare_name=name_a)
    show_map(deck, classes, spec, key="diffmap", note=(
        f"Orange: more in {name_b} than in {name_a}. Purple: fewer. Light grey: about the "
        "same."))
    st.session_state.setdefault("cmp_series", KEY_FIGURES[0][0])
    label = st.selectbox("Over time", [k[0] for k in KEY_FIGURES], key="cmp_series")
    _, metric, group, fmt = next(k for k in KEY_FIGURES if k[0] == label)
    frame = pd.concat([series(other, metric, [group], name_a), series(res, metric, [group],
                                                                        name_b)])
    st.altair_chart(band_chart(frame, y_title=label, fmt=axis_format(fmt)), width="stretch")


def axis_format(fmt: str) -> str:
    pct = re.search(r"\.(\d)%", fmt)
    return f".{pct.group(1)}%" if pct else ",.0f"


def charts_tab(pkg, res, year: int) -> None:
    from placesim.export import TARGETS, targets_table

    st.markdown("### Targets")
    table = targets_table(res.metrics)
    if not is_banded(res):
        table = table.drop(columns=["band_p10_p90", "confidence"])
    if len(table):
        st.dataframe(table.rename(columns={
            "target": "Target", "target_year": "By", "target_value": "Target value",
            "projected": "Projected", "band_p10_p90": "Range (P10 to P90)",
            "difference": "Difference", "verdict": "Met?", "confidence": "Confidence",
            "source": "Source"}), hide_index=True, width="stretch")

    def targets(metric, fmt):
        return [{"year": t.year, "value": t.value,
                 "label": f"Target {fmt.format(t.value)} by {t.year}"}
                for t in TARGETS if t.metric == metric]

    charts = (  # (metric, title, series label, axis title, axis format, target format)
        ("roles_moved_out_of_london",
         "**Roles moved out of London** (22,000 by 2027; a further 12,000 by 2030)",
         "Roles moved", "Roles", ",.0f", "{:,.0f}"),
        ("scs_outside_london_share", "**Senior Civil Service posts outside London** "
         "(50% by 2030)", "Share outside London", "Share", ".0%", "{:.0%}"),
        ("perm_secs_outside_london", "**Permanent secretaries outside London** (two to three)",
         "Permanent secretaries", "Posts", ",.1f", "{:,.0f}"),
    )
    for col, (metric, title, label, y_title, fmt, target_fmt) in zip(
            st.columns(len(charts)), charts, strict=True):
        with col:
            st.markdown(title)
            st.altair_chart(band_chart(series(res, metric, ["all"], label), y_title=y_title,
                                       fmt=fmt, targets=targets(metric, target_fmt)),
                            width="stretch")

    st.markdown("### Progression")
    st.session_state.setdefault("prog_by", "Place")
    by = st.radio("Show progression by", list(PROGRESSION_GROUPS), key="prog_by",
                  horizontal=True)
    groups = PROGRESSION_GROUPS[by]
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Chance an EO reaches G7**, at each year's promotion and leaving rates")
        st.altair_chart(band_chart(series(res, "progression_eo_to_g7", groups),
                                   y_title="Chance", fmt=".1%"), width="stretch")
    with c2:
        st.markdown("**Chance an EO reaches Director**, at each year's rates")
        st.altair_chart(band_chart(series(res, "progression_eo_to_director", groups),
                                   y_title="Chance", fmt=".2%"), width="stretch")

    st.markdown("### London's concentration of staff from higher socio-economic backgrounds")
    frame = pd.concat([
        series(res, "london_share_of_high_seb_g7_plus", ["all"],
               "London's share of all higher-SEB staff at G7 and above"),
        series(res, "high_seb_share_london_scs", ["all"], "Higher-SEB share of SCS in London"),
        series(res, "high_seb_share_non_london_scs", ["all"],
               "Higher-SEB share of SCS outside London"),
    ])
    st.altair_chart(band_chart(frame, y_title="Share", fmt=".0%"), width="stretch")

    st.markdown(f"### Career ladders at each site, {year}")
    ladder_section(pkg, res, year)


def ladder_section(pkg, res, year: int) -> None:
    """Per site in ``year``: whether the grade ladder is complete, and posts by grade."""
    import altair as alt

    from placesim.grades import GRADES
    from placesim.planner import LADDER

    m = res.metrics
    sel = m[(m.year == year) & m.metric.isin(["site_ladder_completeness",
                                               "site_ladder_largest_gap"])]
    wide = sel.pivot(index="group", columns="metric", values="mean")
    sites = pkg.sites.set_index("site_id")
    rows = []
    for g, r in wide.iterrows():
        sid = g.split(":", 1)[1]
        rows.append({"Site": sites["site_name"].get(sid, sid),
                     "Grades AO to Director present": f"{r['site_ladder_completeness']:.0%}",
                     "Longest run of missing grades": int(round(r["site_ladder_largest_gap"]))})
    table = pd.DataFrame(rows).sort_values("Site")
    st.dataframe(table, hide_index=True, width="stretch")
    sp = m[(m.year == year) & (m.metric == "site_posts")]
    parts = sp["group"].str.split(":", expand=True)
    grid = pd.DataFrame({"site_id": parts[1], "grade": parts[2], "posts": sp["mean"]})
    grid = grid[grid.grade.isin(LADDER)]
    grid["site_name"] = grid["site_id"].map(sites["site_name"]).fillna(grid["site_id"])
    grid["present"] = grid["posts"] >= 0.5
    st.markdown(f"**Each site's ladder in {year}**: posts by grade in the site's district "
                "(faint = no posts of that grade)")
    order = [g for g in GRADES if g in LADDER]
    chart = alt.Chart(grid).mark_rect(stroke="white").encode(
        x=alt.X("grade:O", sort=order, title="Grade"),
        y=alt.Y("site_name:N", title=None),
        color=alt.Color("posts:Q", title="Posts", scale=alt.Scale(scheme="viridis",
                                                                    type="symlog")),
        opacity=alt.condition("datum.present", alt.value(1), alt.value(0.15)),
        tooltip=[alt.Tooltip("site_name:N", title="Site"), "grade:N",
                 alt.Tooltip("posts:Q", format=",.0f")])
    st.altair_chart(chart.properties(height=28 * pkg.sites.shape[0]), width="stretch")


def downloads_tab(pkg, s, res, year: int) -> None:
    from placesim.export import control_districts, control_metrics, source_line
    from placesim.maps import LABELS
    from placesim.scenario import dump_scenario

    st.markdown("Tables are disclosure-controlled: counts of people under 5 are shown as "
                "`[c]` and other counts are rounded to the nearest 5.")
    table = control_metrics(res.metrics)
    st.download_button("Headline metrics, all years (CSV)", table.to_csv(index=False),
                       file_name=f"{s.name}-metrics.csv", mime="text/csv", key="dl_csv",
                       on_click="ignore")
    d = res.districts[res.districts.year == year]
    dist = control_districts(d.pivot(index="lad_code", columns="metric",
                                     values="mean").reset_index())
    dist.insert(0, "year", year)
    st.download_button(f"District figures, {year} (CSV)", dist.to_csv(index=False),
                       file_name=f"{s.name}-districts-{year}.csv", mime="text/csv",
                       key="dl_districts", on_click="ignore")

    def workbook(suffix: str) -> Callable[[], bytes]:
        def make() -> bytes:
            from placesim.export import write_spreadsheet

            with tempfile.TemporaryDirectory() as tmp:
                path = write_spreadsheet(res, Path(tmp) / f"results{suffix}")
                return path.read_bytes()
        return make

    st.download_button("All results as a spreadsheet (ODS, the open format)", workbook(".ods"),
                       file_name=f"{s.name}-results.ods", key="dl_ods", on_click="ignore",
                       mime="application/vnd.oasis.opendocument.spreadsheet")
    st.download_button("All results as a spreadsheet (XLSX)", workbook(".xlsx"),
                       file_name=f"{s.name}-results.xlsx", key="dl_xlsx", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    metric = st.session_state.get("map_metric", "net_posts_gained")
    deck, classes, spec, values = map_deck(pkg, res, metric, year)

    def map_html() -> str:
        from placesim.maps import legend_html
        from placesim.offline_html import deck_to_offline_html

        return deck_to_offline_html(deck, title=spec.title, legend=legend_html(
            classes, spec.title), source=source_line(res.manifest))

    def map_png() -> bytes:
        from placesim.maps import render_static, site_frame

        with tempfile.TemporaryDirectory() as tmp, _MATPLOTLIB:
            out = render_static(pkg, spec, values, Path(tmp) / "map.png", fmt="png",
                                source=source_line(res.manifest),
                                sites=site_frame(pkg, res, year))
            return out.read_bytes()

    label = LABELS.get(metric, metric)
    st.download_button(f"Map of {label[0].lower() + label[1:]}, {year} (HTML, works offline)",
                       map_html, file_name=f"{s.name}-{metric}-{year}.html", mime="text/html",
                       key="dl_html", on_click="ignore")
    st.download_button("Same map as a picture (PNG)", map_png,
                       file_name=f"{s.name}-{metric}-{year}.png", mime="image/png",
                       key="dl_png", on_click="ignore")
    st.download_button("The scenario as run (YAML)", dump_scenario(s),
                       file_name=f"{s.name}.yaml", mime="application/x-yaml", key="dl_yaml",
                       on_click="ignore")
    st.caption(source_line(res.manifest))


_MATPLOTLIB = threading.Lock()  # pyplot keeps global state: one static map at a time


# --- location planner -----------------------------------------------------------------------

def reset_plan_edits() -> None:
    for k in list(st.session_state.keys()):
        if k in ("plan_posts", "plan_k", "plan_sim") or str(k).startswith("plan_w_"):
            del st.session_state[k]


def edited_plan(base, total: int, k: int, weights: dict):
    """The plan with its posts scaled to ``total`` (grade mix kept), ``k`` places and new
    weights."""
    from placesim.planner import Plan

    doc = base.model_dump(mode="json")
    base_total = sum(p["count"] for p in doc["posts"])
    for p in doc["posts"]:
        p["count"] = int(round(p["count"] * total / base_total))
    doc["sites"]["k"] = int(k)
    doc["weights"] = {**doc["weights"], **weights}
    try:
        return Plan.model_validate(doc)
    except ValueError as e:
        raise PlacesimError(f"The plan as edited is not valid: {e}") from None


def plan_outcome(plan, pkg) -> dict:
    """Ranking, allocation (or the reason there is none), rationale and scenario text."""
    from placesim.planner import (
        InfeasiblePlan,
        allocate,
        allocation_scenario,
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
                "rationale": rationale(plan, ranking, alloc),
                "scenario": allocation_scenario(plan, alloc)}

    return stores()["plans"].memo(plan.model_dump_json(), make)


def plan_tab(pkg, year: int) -> None:
    from placesim.planner import CRITERIA, LADDER, load_plan

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
    st.session_state.setdefault("plan_posts", sum(p.count for p in base.posts))
    st.session_state.setdefault("plan_k", base.sites.k)
    c1, c2 = st.columns(2)
    total = c1.number_input("Posts to place (the plan's mix of grades is kept)", min_value=1,
                            max_value=200_000, step=100, key="plan_posts")
    k = c2.number_input("Number of places to choose", min_value=1, max_value=50, step=1,
                        key="plan_k", help="Fixed places: " + (", ".join(base.sites.fixed)
                                                              or "none"))
    weights = {}
    with st.expander("How much each criterion counts (weights)"):
        w0 = base.weights.model_dump()
        cols = st.columns(3)
        for i, (c, meaning) in enumerate(CRITERIA.items()):
            st.session_state.setdefault(f"plan_w_{c}", float(w0[c]))
            weights[c] = cols[i % 3].number_input(
                CRITERION_LABELS.get(c, c), min_value=-10.0, max_value=10.0, step=0.5,
                key=f"plan_w_{c}", help=meaning)
    try:
        plan = edited_plan(base, int(total), int(k), weights)
    except PlacesimError as e:
        st.error(str(e))
        return
    out = plan_outcome(plan, pkg)
    ranking, alloc = out["ranking"], out["allocation"]
    if alloc is None:
        st.error(f"**This plan cannot be met as it stands.** {out['reason']}")
    else:
        st.markdown("### Where the posts go")
        grid = alloc.pivot_table(index="lad_name", columns="grade", values="posts",
                                 aggfunc="sum", fill_value=0)
        grid = grid[[g for g in LADDER if g in grid.columns]
                    + [g for g in grid.columns if g not in LADDER]]
        grid["Total"] = grid.sum(axis=1)
        grid = grid.sort_values("Total", ascending=False).rename_axis("Place").reset_index()
        st.dataframe(grid, hide_index=True, width="stretch")
        plan_map(pkg, alloc, ranking)
        with st.expander("Why these places (rationale)", expanded=False):
            st.markdown(out["rationale"])
    st.markdown("### How places rank")
    show = ranking.head(25).copy()
    rename = {"rank": "Rank", "lad_name": "Place", "score": "Score"}
    rename.update({f"{c}_points": CRITERION_LABELS.get(c, c) for c in CRITERIA})
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


def plan_map(pkg, alloc: pd.DataFrame, ranking: pd.DataFrame) -> None:
    from placesim.maps import Classes, MapSpec, build_deck, classify

    posts = alloc.groupby("lad_code")["posts"].sum()
    codes = pkg.districts["lad_code"].to_numpy()
    values = posts.reindex(codes).fillna(0).astype(float)
    values.index = codes
    spec = MapSpec(metric="planned_posts", title="Posts placed by the plan", k=4)
    chosen = values[values > 0]
    inner = classify(chosen, spec)
    labels = []
    for i in range(len(inner.labels)):
        member = chosen[inner.index == i]
        lo, hi = member.min(), member.max()
        labels.append(f"{lo:,.0f} posts" if lo == hi else f"{lo:,.0f} to {hi:,.0f} posts")
    idx = pd.Series(-1, index=values.index)
    idx[chosen.index] = inner.index + 1
    idx[values == 0] = 0
    classes = Classes([0.0, *inner.bins], ["Not chosen", *labels],
                      [(235, 235, 235), *inner.colours], idx.to_numpy())
    d = pkg.districts.set_index("lad_code")
    r = ranking.set_index("lad_code")
    marks = pd.DataFrame({
        "lad_code": posts.index, "lon": d.loc[posts.index, "centroid_lon"].to_numpy(),
        "lat": d.loc[posts.index, "centroid_lat"].to_numpy(),
        "radius": 3000 + 120 * posts.to_numpy() ** 0.5,
        "name": [f"{d.loc[c, 'lad_name']} ({c})" for c in posts.index],
        "line0": [f"Posts placed: {v:,}" for v in posts.to_numpy()],
        "line1": [f"Rank {int(r.loc[c, 'rank'])}, score {r.loc[c, 'score']:.2f}"
                  for c in posts.index],
        "line2": "", "line3": "", "line4": ""})
    details = pd.DataFrame(index=pd.Index(codes, name="lad_code"))
    details["line1"] = [f"Rank {int(r.loc[c, 'rank'])}, score {r.loc[c, 'score']:.2f}"
                        if c in r.index else "Not a candidate (London)" for c in codes]
    details["line2"] = details["line3"] = details["line4"] = ""
    deck, classes = build_deck(pkg, spec, values, sites=marks, details=details, compact=True,
                               classes=classes)
    show_map(deck, classes, spec, key="planmap",
             note="Dots mark the chosen places, sized by the posts they take.")


def plan_effect(pkg, plan, scenario_text: str) -> None:
    """Simulate the plan's scenario (expected values) and compare it with the baseline."""
    from placesim.scenario import check_against_data

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
    rows = []
    for label, metric, group, fmt in (
        ("Roles moved out of London", "roles_moved_out_of_london", "all", "{:,.0f}"),
        ("EO to G7, outside London", "progression_eo_to_g7", "outside_london", "{:.1%}"),
        ("EO to G7, coldspots", "progression_eo_to_g7", "coldspots", "{:.1%}"),
        ("EO to G7, lower SEB", "progression_eo_to_g7", "seb:low", "{:.1%}"),
        ("EO to Director, outside London", "progression_eo_to_director", "outside_london",
         "{:.2%}"),
        ("EO to Director, coldspots", "progression_eo_to_director", "coldspots", "{:.2%}"),
        ("London share of high-SEB G7+", "london_share_of_high_seb_g7_plus", "all", "{:.1%}"),
    ):
        a, b = row_of(base, metric, group, year), row_of(res, metric, group, year)
        if a is not None and b is not None:
            rows.append({"Measure": label, "Baseline": fmt.format(a["mean"]),
                         "With the plan": fmt.format(b["mean"]),
                         "Difference": fmt_diff(b["mean"] - a["mean"], fmt)})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for col, (title, metric, group, y_title) in zip(st.columns(2), (
            ("**London's share of higher-SEB staff at G7 and above**",
             "london_share_of_high_seb_g7_plus", "all", "Share"),
            ("**Chance an EO outside London reaches G7**", "progression_eo_to_g7",
             "outside_london", "Chance")), strict=True):
        with col:
            st.markdown(title)
            frame = pd.concat([series(base, metric, [group], "Baseline"),
                               series(res, metric, [group], "With the plan")])
            st.altair_chart(band_chart(frame, y_title=y_title, fmt=".1%"), width="stretch")


# --- page -----------------------------------------------------------------------------------

def remember_widgets() -> None:
    for k in list(st.session_state.keys()):
        if k in REMEMBER or str(k).startswith("plan_w_"):
            st.session_state[k] = st.session_state[k]


def main() -> None:
    st.set_page_config(page_title="placesim: Places for Growth planner", layout="wide")
    remember_widgets()
    st.title("placesim: Places for Growth scenarios")
    st.caption("Where Civil Service posts go, whether places have a full career ladder, and "
               "what happens to progression and to London's concentration of staff from "
               "higher socio-economic backgrounds (SEB). Works offline.")
    slot = st.empty()  # upload problems, progress of the replications
    st.sidebar.header("Scenario")
    uploaded, problems = uploaded_scenario()
    files = scenario_files()
    st.session_state.setdefault("scenario", "pfg-2027.yaml" if "pfg-2027.yaml" in files
                                else files[0])
    choice = st.sidebar.selectbox("Choose a scenario", files, key="scenario",
                                  disabled=uploaded is not None,
                                  help="Shipped scenarios in the scenarios folder.")
    try:
        s = uploaded or load_choice(choice)
        s = lever_edits(s)
    except PlacesimError as e:
        st.error(problems_markdown("**The scenario cannot be used:**", e))
        st.stop()
    if problems:
        st.error(problems + f"\n\nShowing **{s.name}** instead.")
    mode_label = st.sidebar.radio("Results", [EXPECTED, BANDS], key="mode",
                                  help="Expected values are instant. Bands come from many "
                                       "runs with random variation and take longer.")
    reps = int(st.sidebar.number_input("Runs for the bands (replications)", 2, 200, 10,
                                       key="reps", help="More runs give steadier bands and "
                                                        "take longer (about a second each)."))
    st.session_state.setdefault("compare", "baseline.yaml" if "baseline.yaml" in files
                                else "(none)")
    compare_to = st.sidebar.selectbox("Compare with", ["(none)"] + files, key="compare")
    bands = mode_label == BANDS
    pending: list = []
    try:
        res = best_results(s, bands, reps, pending)
    except PlacesimError as e:
        st.error(problems_markdown("**The scenario could not be run:**", e))
        st.stop()
    if pending:
        st.info(f"Showing expected values now. The uncertainty bands ({reps} runs) are being "
                "worked out and will appear when ready.")
    years = sorted(int(y) for y in res.metrics["year"].unique())
    if st.session_state.get("year") not in years:
        st.session_state["year"] = years[-1]
    year = st.slider("Year", years[0], years[-1], key="year",
                     help="Every year is already worked out: moving the slider is instant.")
    st.subheader(s.title or s.name)
    if s.question:
        st.write(s.question)
    st.caption(f"Scenario {s.name}, version {s.hash()}, seed {s.seed}"
               + (f", {reps} runs" if is_banded(res) else ", expected values"))
    st.markdown(f"**In {year}**" + ("" if is_banded(res) else " (expected values)"))
    cols = st.columns(len(KEY_FIGURES))
    for col, (label, metric, group, fmt) in zip(cols, KEY_FIGURES, strict=True):
        r = row_of(res, metric, group, year)
        if r is not None:
            col.metric(label, fmt.format(r["mean"]), help="P10 to P90: " + band(r, fmt, res))
    pkg = package_for(s)
    tabs = st.tabs(list(VIEWS), key="view", on_change="rerun")
    view = dict(zip(VIEWS, tabs, strict=True))
    with view["Map"]:
        if view["Map"].open:
            map_tab(pkg, s, res, year)
    with view["Compare"]:
        if view["Compare"].open:
            other = None
            if compare_to != "(none)":
                other_s = load_choice(compare_to)
                other = best_results(other_s, bands, reps, pending)
                if is_banded(res) != is_banded(other):  # compare like with like
                    res_c, other = expected_results(s), expected_results(other_s)
                else:
                    res_c = res
            compare_tab(pkg, s, res if other is None else res_c, other, compare_to, year)
    with view["Charts"]:
        if view["Charts"].open:
            charts_tab(pkg, res, year)
    with view["Plan locations"]:
        if view["Plan locations"].open:
            plan_tab(data_package(), year)
    with view["Downloads"]:
        if view["Downloads"].open:
            downloads_tab(pkg, s, res, year)
    if pending:
        run_pending(pending, reps, slot)


if __name__ == "__main__":
    main()
