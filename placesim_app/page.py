"""The page: sidebar (scenario, upload, lever edits, results mode, comparison), the key
figures, the tabs, and the URL that reopens the same view."""

from __future__ import annotations

import streamlit as st

import placesim
from placesim.disclosure import control_metrics
from placesim.errors import PlacesimError
from placesim.present import fmt_range, fmt_value, shortfall_notes

from .state import (
    SCENARIOS,
    best_results,
    data_package,
    expected_results,
    load_choice,
    package_for,
    problems_markdown,
    read_url,
    run_pending,
    scenario_files,
    session_folder,
    stores,
    warm_shipped,
    write_url,
)
from .tabs import charts_tab, compare_tab, downloads_tab, key_figures, map_tab, row_of

EXPECTED = "Instant (expected values)"
BANDS = "With uncertainty bands (P10 to P90)"
VIEWS = ("Map", "Compare", "Charts", "Plan locations", "Downloads")
#: Widgets inside tabs: Streamlit forgets a widget's value while it is not drawn, so these are
#: carried over from run to run.
REMEMBER = ("map_metric", "map_coldspots", "cmp_metric", "cmp_series", "prog_by", "plan_file",
            "plan_posts", "plan_k")


def upload_limit_mb() -> int:
    """Streamlit's own upload limit (``server.maxUploadSize``, MB), which the scenario
    loader's check matches (:data:`placesim.scenario.MAX_BYTES`)."""
    from streamlit import config

    return int(config.get_option("server.maxUploadSize"))


def uploaded_scenario():
    """The uploaded scenario, or None; problems are reported in the page as the CLI reports
    them (``file:line: field: message``). Uploads are read with the safe YAML loader, kept
    only in this session's temporary folder, and their ``extends:``, ``data:`` and coldspot
    files are confined to the shipped scenarios and data.
    """
    from placesim.errors import Problem, ScenarioError
    from placesim.scenario import MAX_BYTES, check_against_data

    limit = upload_limit_mb()
    up = st.sidebar.file_uploader(
        f"Or upload a scenario file (YAML, up to {limit} MB)", type=["yaml", "yml"],
        key="upload", max_upload_size=limit,
        help="The file is checked as `placesim validate` checks it. It may extend a shipped "
             "scenario (for example `extends: pfg-2027.yaml`) but cannot read other files.")
    if up is None:
        return None, None
    data = up.getvalue()
    try:
        if len(data) > MAX_BYTES:
            raise ScenarioError([Problem(up.name, None, "file",
                                         f"larger than {MAX_BYTES // 1024} KB")])
        (session_folder() / "upload.yaml").write_bytes(data)
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
    """Sidebar controls for the main levers; returns the edited scenario and the edits."""
    from placesim.edits import LeverEdits, apply_edits, effective, in_scenario, plans_waves

    had = in_scenario(s)  # (levers the scenario has: shown ticked, kept as it sets them)
    planned = plans_waves(s)  # (waves the slider scales)

    def tick(label: str, key: str, **kw) -> bool:
        if key in had:
            st.checkbox(f"{label} (in this scenario already, as it sets it)", value=True,
                        disabled=True, key=f"{key}_had", **kw)
            return False
        return st.checkbox(label, key=key, **kw)

    with st.sidebar.expander("Change the levers", expanded=LeverEdits.from_query(
            st.query_params).any):
        edits = LeverEdits(
            freeze=tick("Freeze half of London recruitment", "freeze"),
            mentoring=tick("Mentoring for staff from lower socio-economic backgrounds",
                           "mentoring"),
            postings=tick("Short London postings for staff based elsewhere", "postings"),
            support=tick("Financial support to relocate", "support"),
            outreach=tick(
                "Outreach to widen who joins", "outreach",
                help="Schools outreach, work experience and ambassadors in the social "
                     "mobility coldspots (as the Ministry of Justice and the Reimagine "
                     "Challenge run them): 5 more in every 100 EO and HEO recruits there "
                     "come from lower socio-economic backgrounds. The size of the effect "
                     "is an assumption: no evaluation has been published."),
            secondments=tick(
                "Secondments between councils and the campuses", "secondments",
                help="Each year 10 council staff (youth workers, social workers and other "
                     "local experts) join each of the Darlington, Sheffield, Leeds and "
                     "Manchester campuses for a year, and 1 in 10 stays on as a civil "
                     "servant; 10 civil servants from each campus spend a year in a "
                     "council and are a little more likely to be promoted afterwards. "
                     "The numbers are assumptions: the pilot's size is not published."),
            scale=st.slider("Scale every planned relocation wave (%)", 0, 200, step=10,
                            key="scale", disabled=not planned,
                            help="100% keeps the scenario's numbers of posts. The moves "
                            "already made (Places for Growth as recorded to June 2024) stay "
                            "as recorded." if planned else "This scenario plans no moves: "
                            "its waves are the record of moves already made."))
    edits = effective(edits, s)  # (a lever it has, or scaling no planned wave: no edit)
    if not edits.any:
        return s, edits
    # kept: every rerun (a year, a tab) would otherwise validate the edited scenario again
    return stores()["scenarios"].memo((s.hash(), edits),
                                      lambda: apply_edits(s, edits, root=SCENARIOS)), edits


WHOLE = "(whole Civil Service)"


def department_choice(s):
    """Sidebar picker of a department: the whole Civil Service (default), or one
    department's view of the same run (its figures, map and charts).

    Returns the scenario (with the department's view switched on) and ``(code, name)``
    or None."""
    from placesim.departments import department_labels

    depts = package_for(s).departments
    if depts is None or not len(depts):
        return s, None
    names = dict(zip(depts["code"], depts["name"], strict=True))
    labels = department_labels(depts)
    options = [WHOLE] + sorted(names)
    if st.session_state.get("department") not in options:
        st.session_state["department"] = WHOLE
    code = st.sidebar.selectbox(
        "Department", options, key="department",
        format_func=lambda c: c if c == WHOLE else labels[c],
        help="Show one department's figures inside the whole picture: its roles moved, its "
             "SCS outside London, its staff's progression and its posts on the map.")
    if code == WHOLE:
        return s, None
    return with_department(s, code), (code, names[code])


def with_department(s, code: str):
    """The scenario with department ``code``'s view switched on."""
    return s.model_copy(update={"departments": tuple(dict.fromkeys((*s.departments, code)))})


def remember_widgets() -> None:
    for k in list(st.session_state.keys()):
        if k in REMEMBER or str(k).startswith("plan_w_"):
            st.session_state[k] = st.session_state[k]


def main() -> None:
    from placesim.maps import ATTRIBUTE_METRICS, RESULT_METRICS

    st.set_page_config(page_title="placesim: Places for Growth planner", layout="wide")
    warm_shipped()
    files = scenario_files()
    read_url(files, VIEWS, RESULT_METRICS + ATTRIBUTE_METRICS)
    remember_widgets()
    st.session_state.setdefault("scale", 100)
    st.title("placesim: Places for Growth scenarios")
    st.caption("Where Civil Service posts go, whether places have a full career ladder, and "
               "what happens to progression and to London's concentration of staff from "
               "higher socio-economic backgrounds. Works offline.")
    slot = st.empty()  # upload problems, progress of the replications
    # Messages that come and go sit in containers of their own, so that every element after
    # them keeps its place in the page from run to run: the browser redraws a chart that
    # moved from scratch, and a map's redraw from scratch (a new WebGL context, its shaders
    # compiled again) costs a browser without a GPU about 15 s of CPU.
    notes = st.container()
    st.sidebar.header("Scenario")
    uploaded, problems = uploaded_scenario()
    st.session_state.setdefault("scenario", "pfg-2027.yaml" if "pfg-2027.yaml" in files
                                else files[0])
    choice = st.sidebar.selectbox("Choose a scenario", files, key="scenario",
                                  disabled=uploaded is not None,
                                  help="Shipped scenarios in the scenarios folder.")
    try:
        s, edits = lever_edits(uploaded or load_choice(choice))
    except PlacesimError as e:
        st.error(problems_markdown("**The scenario cannot be used:**", e))
        st.stop()
    if problems:
        notes.error(problems + f"\n\nShowing **{s.name}** instead.")
    s, dept = department_choice(s)

    def view_of(r):
        """Results as the chosen department sees them (the whole service's otherwise)."""
        from placesim.departments import department_results

        return r if dept is None or r is None else department_results(r, *dept)
    mode_label = st.sidebar.radio("Results", [EXPECTED, BANDS], key="mode",
                                  help="Expected values are instant. Bands come from many "
                                       "runs with random variation and take longer.")
    reps = int(st.sidebar.number_input("Runs for the bands", 2, 200, 10, key="reps",
                                       help="More runs give steadier bands and take longer "
                                            "(about a second each)."))
    st.session_state.setdefault("compare", "baseline.yaml" if "baseline.yaml" in files
                                else "(none)")
    compare_to = st.sidebar.selectbox("Compare with", ["(none)"] + files, key="compare")
    bands = mode_label == BANDS
    pending: list = []
    try:
        res = view_of(best_results(s, bands, reps, pending))
    except PlacesimError as e:
        st.error(problems_markdown("**The scenario could not be run:**", e))
        st.stop()
    if pending:
        notes.info(f"Showing expected values now. The uncertainty bands ({reps} runs) are being "
                "worked out and will appear when ready.")
    years = sorted(int(y) for y in res.metrics["year"].unique())
    wanted = st.session_state.pop("_url_year", None)
    if wanted in years:
        st.session_state["year"] = wanted
    if st.session_state.get("year") not in years:
        st.session_state["year"] = years[-1]
    year = st.slider("Year", years[0], years[-1], key="year",
                     help="Every year is already worked out: moving the slider is instant.")
    st.subheader((f"{dept[1]}: " if dept else "") + (s.title or s.name))
    question = st.container()
    if s.question:
        question.write(s.question)
    from placesim.edits import describe

    st.caption(f"Scenario {s.name}" + (f" ({describe(edits)})" if edits.any else "")
               + f"; {res.runs_words}")
    for note in shortfall_notes(res.metrics):
        st.warning(note)
    st.markdown(f"**In {year}**" + ("" if res.banded else " (expected values)"))
    cols = st.columns(4)
    # through the disclosure control the targets table, the map and every download use (the
    # figures read 32,249 above a table saying 32,250; review)
    shown = control_metrics(res.metrics[res.metrics["year"] == year]).set_index(
        ["metric", "group"])
    for col, (label, metric, group) in zip(cols, key_figures(res.metrics), strict=True):
        if row_of(res, metric, group, year) is not None:
            r = shown.loc[(metric, group)]
            swapped = (" In place of the whole service's followed EOs (of 1,000, reaching "
                       "Grade 7), which are not followed by department: a different measure."
                       if dept is not None and metric == "progression_eo_to_director" else "")
            col.metric(label, fmt_value(metric, r["mean"]),
                       help=(("Range (P10 to P90): " + fmt_range(metric, r["p10"], r["p90"]))
                             if res.banded else "Expected value (no range).") + swapped)
    pkg = package_for(s)
    st.session_state.setdefault("view", VIEWS[0])
    tabs = st.tabs(list(VIEWS), key="view", on_change="rerun")
    view = dict(zip(VIEWS, tabs, strict=True))
    other = other_s = None
    if compare_to != "(none)":
        other_s = load_choice(compare_to)
        if dept is not None:
            other_s = with_department(other_s, dept[0])
    with view["Map"]:
        if view["Map"].open:
            map_tab(pkg, s, res, year)
    with view["Compare"]:
        if view["Compare"].open:
            if other_s is not None:
                other = view_of(best_results(other_s, bands, reps, pending))
                res_c = res
                if res.banded != other.banded:  # compare like with like
                    res_c, other = (view_of(expected_results(s)),
                                    view_of(expected_results(other_s)))
            compare_tab(pkg, s, res if other is None else res_c, other, compare_to, year)
    with view["Charts"]:
        if view["Charts"].open:
            charts_tab(pkg, res, year)
    with view["Plan locations"]:
        if view["Plan locations"].open:
            from .planner_tab import plan_tab

            plan_tab(data_package(), year)
            from .seek_panel import seek_panel

            seek_panel()
    with view["Downloads"]:
        if view["Downloads"].open:
            res_d = res
            if other_s is not None:
                other = view_of(best_results(other_s, bands, reps, pending))
                if res.banded != other.banded:
                    res_d, other = (view_of(expected_results(s)),
                                    view_of(expected_results(other_s)))
            downloads_tab(pkg, s, res_d, year, other=other, other_scenario=other_s)
    # worked out only while open, as the tabs are: closed, it cost every rerun (each scenario,
    # edit or year) about 15 ms of the server's time and the browser a hidden table
    value = st.expander("Value for money: costs, savings, net present value, payback",
                        key="value_open", on_change="rerun")
    with value:
        if value.open:
            from .value import value_section

            value_section(res)
    write_url({"scenario": None if uploaded else choice,
               "compare": "none" if compare_to == "(none)" else compare_to,
               "year": year, "tab": st.session_state.get("view"),
               "map": st.session_state.get("map_metric"),
               "dept": dept[0] if dept else None, **edits.to_query()})
    if pending:
        run_pending(pending, reps, slot)
