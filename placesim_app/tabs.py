"""The app's Map, Compare, Charts and Downloads tabs: views over the placesim API."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from placesim.cohort import GROUPS as COHORT_GROUPS
from placesim.keep import Kept, kept_for
from placesim.present import (
    first_upper,
    fmt_diff,
    fmt_range,
    fmt_value,
    headline_label,
    headlines_in,
    measure,
    metric_pairs,
    progression_sentence,
)
from placesim.results import csv_text

from .charts import band_chart, series
from .served import ServedDeck
from .state import result_key_of, stores

_MATPLOTLIB = threading.Lock()  # pyplot keeps global state: one static figure at a time


def key_figures(metrics) -> list[tuple[str, str, str]]:
    """The four figures across the top: ``(label, metric, group)``; the cohort measure when
    the engine provides it, the period measure otherwise."""
    have = metric_pairs(metrics)
    prog = (("EOs outside London reaching Grade 7, of 1,000", "cohort_eo_to_g7",
             "outside_london") if ("cohort_eo_to_g7", "outside_london") in have else
            ("Chance an EO outside London reaches Director", "progression_eo_to_director",
             "outside_london"))
    return [("Roles moved out of London", "roles_moved_out_of_london", "all"),
            ("Senior Civil Service posts outside London", "scs_outside_london_share", "all"),
            prog,
            # the concentration the brief's answer leads with (London's share of the
            # country's higher-SEB G7+ falls whenever London's G7+ does, even as its mix
            # tilts further)
            ("Higher-background share of London's G7+", "high_seb_share_london_g7_plus",
             "all")]


def row_of(res, metric: str, group: str, year: int):
    """The metrics row of ``(metric, group, year)``, or None if there is none or its value
    is missing."""
    m = res.metrics
    i = _row_index(m).get((metric, group, int(year)))
    if i is None:
        return None
    r = m.iloc[i]
    return None if pd.isna(r["mean"]) else r


_ROWS = Kept(16)
""":func:`_row_index` by metrics table (weakly held; about 1.1 MB each for a ten-year run)."""


def _row_index(m: pd.DataFrame) -> dict[tuple[str, str, int], int]:
    """Where each (metric, group, year) first is in a metrics table, worked out once per
    table: every rerun looks up some twenty rows (the key figures, the headline table), and
    filtering the whole table for each took about a tenth of the server's time per rerun."""
    def make() -> dict[tuple[str, str, int], int]:
        index: dict[tuple[str, str, int], int] = {}
        for i, k in enumerate(zip(m["metric"].to_numpy(), m["group"].to_numpy(),
                                  m["year"].to_numpy().astype(int).tolist(), strict=True)):
            index.setdefault(k, i)
        return index

    return kept_for(_ROWS, (m,), (), make)


def headline(res, year: int) -> pd.DataFrame:
    rows = []
    for metric, group in headlines_in(res.metrics):
        r = row_of(res, metric, group, year)
        if r is not None:
            row = {"Measure": headline_label(metric, group), "Value": fmt_value(metric,
                                                                                r["mean"])}
            if res.banded:
                row["Range (P10 to P90)"] = fmt_range(metric, r["p10"], r["p90"])
            rows.append(row)
    return pd.DataFrame(rows)


def headline_comparison(diff: pd.DataFrame, year: int, a_name: str, b_name: str
                        ) -> pd.DataFrame:
    """Headline figures of b against a from :func:`placesim.compare.compare_results`:
    values, the difference and its interval (never differences of bands)."""
    d = diff[diff.year == year].set_index(["metric", "group"])
    rows = []
    for metric, group in headlines_in(diff.rename(columns={"mean_b": "mean"})):
        if (metric, group) not in d.index:
            continue
        r = d.loc[(metric, group)]
        row = {"Measure": headline_label(metric, group), a_name: fmt_value(metric, r["mean_a"]),
               b_name: fmt_value(metric, r["mean_b"]), "Difference": fmt_diff(metric,
                                                                             r["diff"])}
        if r["interval"] in ("paired", "unpaired", "mixed") and pd.notna(r["diff_p10"]):
            row["Range of the difference (P10 to P90)"] = fmt_range(
                metric, r["diff_p10"], r["diff_p90"], diff=True)
        rows.append(row)
    return pd.DataFrame(rows)


# --- maps ----------------------------------------------------------------------------------------

def map_view_of(pkg, res, metric: str, year: int, *, compare=None, compare_name: str = "",
                coldspots: bool = False):
    """The :class:`placesim.maps.MapView`, its deck and its London inset's deck, kept by
    results, measure and year (a rerun shows them again without building them)."""
    from placesim.maps import build_deck, map_view

    key = (result_key_of(res), metric, year, coldspots,
           None if compare is None else result_key_of(compare))

    def make():
        view = map_view(res, pkg, metric, year, compare=compare, compare_name=compare_name,
                        coldspots=coldspots)
        return view, build_deck(pkg, view, part="main"), build_deck(pkg, view, part="london")

    return stores()["maps"].memo(key, make)


def show_map(view, deck, *, key: str, note: str, inset=None) -> None:
    """The map, and beside it the London inset (``inset``, a second, small deck), the legend
    and a note."""
    from placesim.maps import legend_html

    c1, c2 = st.columns([3, 1])
    with c1:
        st.pydeck_chart(ServedDeck(deck, key), key=key, height=620,
                        alt=f"Map of districts: {view.spec.title}. London is drawn larger in "
                            "the inset beside the map, above the legend.")
    with c2:
        if inset is not None:
            st.markdown("**London**")
            st.pydeck_chart(ServedDeck(inset, f"{key}_london"), key=f"{key}_london",
                            height=230, alt=f"London's districts: {view.spec.title}.")
        st.markdown(legend_html(view), unsafe_allow_html=True)
        st.markdown(note)


MAP_NOTE = ("Rings mark hubs and campuses (sized by headcount); black lines run from London "
            "to the places posts moved to, wider for more posts. The box marks London, drawn "
            "larger above the legend. Point at a district or ring for its figures.")


def map_tab(pkg, s, res, year: int) -> None:
    from placesim.maps import ATTRIBUTE_METRICS, RESULT_METRICS

    options = list(RESULT_METRICS) + list(ATTRIBUTE_METRICS)
    st.session_state.setdefault("map_metric", "net_posts_gained")
    c1, c2 = st.columns([3, 1])
    metric = c1.selectbox("Show on the map", options, key="map_metric",
                          format_func=lambda k: measure(k).label,
                          help="District measures from the scenario, or social-mobility "
                               "indices and coldspots from the data.")
    cold = c2.checkbox("Outline coldspots", key="map_coldspots",
                       help="Districts the Social Mobility Commission ranks least favourable.")
    view, deck, inset = map_view_of(pkg, res, metric, year, coldspots=cold)
    show_map(view, deck, key="map", note=MAP_NOTE, inset=inset)
    st.markdown(f"**Headline figures, {year}**")
    st.dataframe(headline(res, year), hide_index=True, width="stretch")


def compare_tab(pkg, s, res, other, compare_to: str, year: int) -> None:
    from placesim.compare import (
        INTERVALS,
        coldspots_note,
        compare_results,
        few_runs_note,
        measures_note,
    )
    from placesim.maps import RESULT_METRICS

    if other is None:
        st.info("Choose a scenario to compare with in the sidebar.")
        return
    name_a, name_b = other.manifest.get("scenario", compare_to), s.name
    if name_a == name_b:
        name_a = f"{name_a} (comparison)"
    diff = compare_results(other, res)
    note = few_runs_note(diff)
    st.markdown(f"**{name_b}** compared with **{name_a}**, {year}. Differences are "
                f"{name_b} minus {name_a}. Range of a difference: "
                f"{INTERVALS[diff.attrs['pairing']]}." + (f" ({note}.)" if note else ""))
    cold = coldspots_note(diff)
    if cold:  # (not capitalize(): it lowered "SMC" and "DfE")
        st.warning(first_upper(cold) + ".")
    apart = measures_note(diff, year)
    if apart:
        st.info(first_upper(apart) + ".")
    cols = st.columns(4)
    d = diff[diff.year == year].set_index(["metric", "group"])
    for col, (label, metric, group) in zip(cols, key_figures(res.metrics), strict=True):
        if (metric, group) in d.index:
            r = d.loc[(metric, group)]
            col.metric(label, fmt_value(metric, r["mean_b"]), fmt_diff(metric, r["diff"]),
                       delta_color="off", help=f"{name_a}: {fmt_value(metric, r['mean_a'])}")
    st.dataframe(headline_comparison(diff, year, name_a, name_b), hide_index=True,
                 width="stretch")
    from .value import value_section

    st.markdown(f"**Value for money of {name_b} against {name_a}**")
    value_section(res, other, name_a)
    st.session_state.setdefault("cmp_metric", "net_posts_gained")
    metric = st.selectbox("Difference to map", list(RESULT_METRICS), key="cmp_metric",
                          format_func=lambda k: measure(k).label)
    view, deck, inset = map_view_of(pkg, res, metric, year, compare=other,
                                    compare_name=name_a)
    show_map(view, deck, key="diffmap", inset=inset, note=(
        f"Orange: more in {name_b} than in {name_a}. Purple: fewer. Near white: no change "
        "(or fewer than 5)."))
    figures = key_figures(res.metrics)
    st.session_state.setdefault("cmp_series", figures[0][0])
    label = st.selectbox("Over time", [k[0] for k in figures], key="cmp_series")
    _, metric, group = next(k for k in figures if k[0] == label)
    frame = pd.concat([series(other, metric, [group], name_a),
                       series(res, metric, [group], name_b)])
    st.altair_chart(band_chart(frame, metric=metric), width="stretch")


# --- charts -------------------------------------------------------------------------------------

PROGRESSION_GROUPS = {
    "Place": ["london", "outside_london", "coldspots"],
    "Socio-economic background": ["seb:high", "seb:intermediate", "seb:low"],
    "Place and background": [f"{p}|seb:{s}" for p in ("london", "outside_london")
                             for s in ("high", "intermediate", "low")],
}


def charts_tab(pkg, res, year: int) -> None:
    from placesim.export import TARGETS, target_words, targets_table

    st.markdown("### Targets")
    dept = res.manifest.get("department")  # (a department's view: its part of each target)
    table = targets_table(res.metrics, banded=res.banded, department=dept)
    if not res.banded:
        table = table.drop(columns=["Range (P10 to P90)"])
    if len(table):
        st.dataframe(table, hide_index=True, width="stretch")

    def targets(metric):
        if dept is not None:  # (the whole service's: no line for one department's figures)
            return []
        return [{"year": t.year, "value": t.value,
                 "label": f"{t.value_words} by {t.year}"}
                for t in TARGETS if t.metric == metric]

    charts = [(m, f"**{next(t.label for t in TARGETS if t.metric == m)}** "
                  f"({target_words(m)})") for m in dict.fromkeys(t.metric for t in TARGETS)]
    for col, (metric, title) in zip(st.columns(len(charts)), charts, strict=True):
        with col:
            st.markdown(title if dept is None else
                        title.replace("(target", "(the whole Civil Service's target"))
            st.altair_chart(band_chart(series(res, metric, ["all"], "Projected"),
                                       metric=metric, targets=targets(metric)),
                            width="stretch")

    st.markdown("### Progression")
    cohort = (res.metrics["metric"] == "cohort_eo_to_g7").any()
    sentence = progression_sentence(res.metrics, year)
    if sentence:
        st.markdown(sentence)
    if cohort:  # the EOs in post at the start, followed (placesim.cohort)
        st.markdown("**Of 1,000 EOs in post at the start, how many have reached Grade 7 by "
                    "each year**, by where they worked at the start")
        st.altair_chart(band_chart(series(res, "cohort_eo_to_g7", list(COHORT_GROUPS)),
                                   metric="cohort_eo_to_g7"), width="stretch")
        st.markdown("The period measure below is the technical one: it applies one year's "
                    "promotion and leaving rates to a whole career.")
    st.session_state.setdefault("prog_by", "Place")
    by = st.radio("Show progression by", list(PROGRESSION_GROUPS), key="prog_by",
                  horizontal=True)
    groups = PROGRESSION_GROUPS[by]
    pairs = (("progression_eo_to_g7", "**Chance an EO reaches Grade 7**, at each year's "
                                      "promotion and leaving rates (period measure)"),
             ("progression_eo_to_director", "**Chance an EO reaches Director**, at each "
                                            "year's rates (period measure)"))
    for col, (metric, title) in zip(st.columns(2), pairs, strict=True):
        with col:
            st.markdown(title)
            st.altair_chart(band_chart(series(res, metric, groups), metric=metric),
                            width="stretch")

    st.markdown("### London's concentration of staff from higher socio-economic backgrounds")
    frame = pd.concat([
        series(res, "high_seb_share_london_g7_plus", ["all"],
               "Higher-background share of Grade 7 and above in London"),
        series(res, "london_share_of_high_seb_g7_plus", ["all"],
               "London's share of all higher-background staff at Grade 7 and above"),
        series(res, "high_seb_share_london_scs", ["all"],
               "Higher-background share of the SCS in London"),
        series(res, "high_seb_share_non_london_scs", ["all"],
               "Higher-background share of the SCS outside London"),
    ])
    st.altair_chart(band_chart(frame, metric="high_seb_share", y_title="Share (%)"),
                    width="stretch")

    st.markdown(f"### Career ladders at each site, {year}")
    ladder_section(pkg, res, year)


def ladder_table(pkg, res, year: int) -> pd.DataFrame:
    """Each site's ladder in ``year``: the share of grades AO to Director present and the
    longest run of missing grades (the whole service's sites, not a department's view)."""
    m = res.metrics
    sel = m[(m.year == year) & m.metric.isin(["site_ladder_completeness",
                                               "site_ladder_largest_gap"])
            & m.group.str.startswith("site:")]  # (not a department's view: dept:X|site:)
    wide = sel.pivot(index="group", columns="metric", values="mean")
    sites = pkg.sites.set_index("site_id")
    rows = []
    for g, r in wide.iterrows():
        sid = g.split(":", 1)[1]
        rows.append({"Site": sites["site_name"].get(sid, sid),
                     "Grades AO to Director present": fmt_value(
                         "site_ladder_completeness", r["site_ladder_completeness"]),
                     "Longest run of missing grades": int(round(r["site_ladder_largest_gap"]))})
    return pd.DataFrame(rows).sort_values("Site")


def ladder_section(pkg, res, year: int) -> None:
    """Per site in ``year``: whether the grade ladder is complete, and posts by grade."""
    import altair as alt

    from placesim.disclosure import protect
    from placesim.grades import GRADES
    from placesim.planner import LADDER

    m = res.metrics
    sites = pkg.sites.set_index("site_id")
    st.dataframe(ladder_table(pkg, res, year), hide_index=True, width="stretch")
    sp = m[(m.year == year) & (m.metric == "site_posts") & m.group.str.startswith("site:")]
    parts = sp["group"].str.split(":", expand=True)
    grid = pd.DataFrame({"site_id": parts[1], "grade": parts[2],
                         "posts": pd.to_numeric(pd.Series(protect(
                             sp["mean"].to_numpy(float), count=True)), errors="coerce"
                         ).to_numpy()})
    grid = grid[grid.grade.isin(LADDER)]
    grid["Site"] = grid["site_id"].map(sites["site_name"]).fillna(grid["site_id"])
    grid["shown"] = grid["posts"].map(lambda v: "fewer than 5 [c]" if pd.isna(v)
                                      else f"{v:,.0f}")
    st.markdown(f"**Posts by grade at each site in {year}** (blank: fewer than 5 posts, "
                "withheld)")
    order = [g for g in GRADES if g in LADDER]
    chart = alt.Chart(grid).mark_rect(stroke="white").encode(
        x=alt.X("grade:O", sort=order, title="Grade"),
        y=alt.Y("Site:N", title=None, axis=alt.Axis(labelLimit=400)),
        color=alt.Color("posts:Q", title="Posts", scale=alt.Scale(scheme="viridis",
                                                                    type="symlog"),
                        legend=alt.Legend(orient="right")),
        tooltip=[alt.Tooltip("Site:N"), alt.Tooltip("grade:N", title="Grade"),
                 alt.Tooltip("shown:N", title="Posts")])
    st.altair_chart(chart.properties(height=28 * pkg.sites.shape[0]), width="stretch")


# --- downloads ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    """One file the Downloads tab offers; ``make`` builds it when asked."""

    key: str
    label: str
    file_name: str
    mime: str
    make: Callable[[], bytes | str]


def downloads(pkg, s, res, year: int, *, other=None, other_scenario=None,
              metric: str = "net_posts_gained", coldspots: bool = False) -> list[Download]:
    """Every file the Downloads tab offers, each through disclosure control. Kept apart
    from the buttons so a test can build and scan every one of them."""
    from placesim.brief import about_scenario, briefing_pdf, controlled_difference
    from placesim.disclosure import control_districts, control_metrics
    from placesim.export import with_view, write_spreadsheet
    from placesim.scenario import dump_scenario

    from .state import session_folder

    items = []
    diff = None
    man = res.manifest
    stem = s.name + (f"-{man['department']}" if man.get("department") else "")  # (its view)
    if other is not None:
        from placesim.compare import compare_results

        diff = compare_results(other, res)

        # as of the year shown, as `placesim brief --year`, or the comparison's last if it
        # stops sooner (the download raised; review)
        as_of = min(year, int(other.metrics["year"].max()))

        def pdf() -> bytes:
            now, then = res.up_to(as_of), other.up_to(as_of)
            with tempfile.TemporaryDirectory(dir=session_folder()) as tmp, _MATPLOTLIB:
                return briefing_pdf(now, pkg, Path(tmp) / "briefing.pdf",
                                    about=about_scenario(s).as_of(as_of), compare=then,
                                    compare_about=about_scenario(other_scenario).as_of(as_of),
                                    diff=compare_results(then, now)).read_bytes()

        items += [Download("dl_brief", f"Briefing (PDF) as of {as_of}: the answer, the "
                           "differences and a map", f"{stem}-briefing-{as_of}.pdf",
                           "application/pdf", pdf),
                  Download("dl_diff", "Differences, all years (CSV)",
                           f"{stem}-difference.csv", "text/csv",
                           lambda: csv_text(with_view(controlled_difference(diff), man)))]
    items.append(Download("dl_csv", "Headline figures, all years (CSV)",
                          f"{stem}-metrics.csv", "text/csv",
                          lambda: csv_text(with_view(control_metrics(res.metrics), man))))

    def district_csv() -> str:
        d = res.districts[res.districts.year == year]
        dist = control_districts(d.pivot(index="lad_code", columns="metric",
                                         values="mean").reset_index())
        dist.insert(1, "lad_name", dist["lad_code"].map(
            pkg.districts.set_index("lad_code")["lad_name"]))
        dist.insert(0, "year", year)
        return csv_text(with_view(dist, man))

    items.append(Download("dl_districts", f"District figures, {year} (CSV)",
                          f"{stem}-districts-{year}.csv", "text/csv", district_csv))

    def workbook(suffix: str):
        def make() -> bytes:
            with tempfile.TemporaryDirectory(dir=session_folder()) as tmp:
                return write_spreadsheet(res, Path(tmp) / f"results{suffix}", pkg=pkg,
                                         compare=other, diff=diff).read_bytes()
        return make

    what = "both runs and the difference" if other is not None else "all results"
    items += [Download("dl_ods", f"Spreadsheet: {what} (ODS, the open format)",
                       f"{stem}-results.ods", "application/vnd.oasis.opendocument.spreadsheet",
                       workbook(".ods")),
              Download("dl_xlsx", f"Spreadsheet: {what} (XLSX)", f"{stem}-results.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       workbook(".xlsx"))]
    view = map_view_of(pkg, res, metric, year, coldspots=coldspots)[0]

    def map_html() -> str:
        from placesim.offline_html import map_html as page

        return page(pkg, view)

    def map_png() -> bytes:
        from placesim.maps import render_static

        with tempfile.TemporaryDirectory(dir=session_folder()) as tmp, _MATPLOTLIB:
            return render_static(pkg, view, Path(tmp) / "map.png", fmt="png").read_bytes()

    label = measure(metric).label
    items += [Download("dl_html", f"Map of {label[0].lower() + label[1:]}, {year} (HTML, "
                                  "works offline)", f"{stem}-{metric}-{year}.html",
                       "text/html", map_html),
              Download("dl_png", "Same map as a picture (PNG)", f"{stem}-{metric}-{year}.png",
                       "image/png", map_png),
              Download("dl_yaml", "The scenario as run (YAML)", f"{s.name}.yaml",
                       "application/x-yaml", lambda: dump_scenario(s))]
    return items


def downloads_tab(pkg, s, res, year: int, *, other=None, other_scenario=None) -> None:
    from placesim.disclosure import RULE_TEXT
    from placesim.export import source_line

    st.markdown(f"Every download is disclosure-controlled: {RULE_TEXT}")
    if other is not None:
        st.markdown(f"**Briefing pack**: {s.name} compared with "
                    f"{other.manifest.get('scenario')}.")
    for d in downloads(pkg, s, res, year, other=other, other_scenario=other_scenario,
                       metric=st.session_state.get("map_metric", "net_posts_gained"),
                       coldspots=bool(st.session_state.get("map_coldspots", False))):
        st.download_button(d.label, d.make, file_name=d.file_name, mime=d.mime, key=d.key,
                           on_click="ignore")
    st.caption(source_line(res.manifest))
