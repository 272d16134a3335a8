"""Levers given ``department:`` (issue 17 item 2): in each (grade, district) they reach the
departments' share of the staff, their share of its posts as the data package gives them and
the scenario's waves move them (:mod:`placesim.reach`), alike in the stochastic engine, the
expected mode and the per-person reference model; an unknown code is named with its file,
line and the nearest valid codes.

On a synthetic package with departments (``write_synthetic_package(departments=True)``),
5,000 staff: one enrolment event is carried out in each mode from the same start.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from placesim import engine, levers, load_scenario_text
from placesim.errors import ScenarioError
from placesim.expected import _ExpectedRun
from placesim.grades import SEB_CLASSES
from placesim.reach import department_reach
from placesim.reference import ReferenceModel
from placesim.rules import (
    MENTOR_ENROL,
    MENTORED,
    OUTBOUND_START,
    POSTING_ENROL,
    SCHEME,
    SCHEME_ENROL,
)
from placesim.scenario import check_against_data
from placesim.testing import write_synthetic_package

from .helpers import HO_WAVE_SCENARIO

LOW = SEB_CLASSES.index("low")
REPS = 12

MENTORING = """name: dept-mentoring
horizon: {{start_year: 2023, years: 3}}
seed: 5
levers:
  mentoring: {{start_year: 2023, grades: [AO, EO, HEO, SEO], coverage: 0.6{dept}}}
  talent_scheme_ring_fence: {{start_year: 2023, places_per_year: 60, grades: [EO, HEO]{dept}}}
  london_postings: {{start_year: 2023, places_per_year: 40, grades: [EO, HEO, SEO]{dept}}}
  secondments: {{start_year: 2023, sites: [alpha, beta], inbound_per_site: 0,
                 outbound_per_site: 15, outbound_grades: [EO, HEO]{dept}}}
"""


@functools.cache
def package():
    import tempfile
    from pathlib import Path

    from placesim import load_data_package

    folder = Path(tempfile.mkdtemp(prefix="placesim-dept-levers-"))
    return load_data_package(write_synthetic_package(folder / "pkg", headcount=5000,
                                                     departments=True))


@functools.cache
def model(dept: str = ""):
    s = load_scenario_text(MENTORING.format(dept=f", department: {dept}" if dept else ""),
                           filename="dept-mentoring.yaml")
    check_against_data(s, package())
    return engine.prepare(s, package())


def first(m, kind):
    return next(e for e in m.rules.events if e.kind == kind)


def _cells(m) -> np.ndarray:
    return np.zeros((m.rules.posts.departments.posts.shape[1], m.geo.n_districts))


def expected_taken(m, event) -> np.ndarray:
    """(grade, district) people the expected mode takes at ``event``: into its programme
    state, or away (by their home post)."""
    run = _ExpectedRun(m)
    run._event(event, event.step)
    if event.kind == POSTING_ENROL:
        return run.cohorts[-1].start.sum(axis=(2, 3, 4))
    if event.kind == OUTBOUND_START:
        out = _cells(m)
        np.add.at(out.T, run.away[-1].districts, run.away[-1].people.sum(axis=(2, 3, 4)).T)
        return out
    i = run.flag_index[STATE[event.kind]]
    return run.people[..., i::run.Fb].sum(axis=(2, 3, 4))


def stochastic_taken(m, event, rep: int) -> np.ndarray:
    run = engine._Run(m, rep, m.scenario.seed)
    levers.apply_event(event, run, event.step)
    sl = run.slots
    if event.kind == POSTING_ENROL:
        who = sl.home[(sl.home >= 0) & (sl.seb >= 0)]
    elif event.kind == OUTBOUND_START:
        who = np.concatenate([picks for _, picks in run.lever_state.outbound])  # (by site)
    else:
        who = np.flatnonzero((sl.flag == STATE[event.kind]) & (sl.seb >= 0))
    out = _cells(m)
    np.add.at(out, (sl.grade[who].astype(int), sl.district[who].astype(int)), 1)
    return out


def reference_taken(m, event, rep: int) -> np.ndarray:
    ref = ReferenceModel(m, rep, m.scenario.seed)
    ref._event(event, event.step)
    out = _cells(m)
    for p in ref.people:
        if not p.active:
            continue
        if event.kind == POSTING_ENROL:
            if p.post.home is not None:
                out[p.post.home.grade, p.post.home.district] += 1
        elif event.kind == OUTBOUND_START:
            if p.away_until > event.step:
                out[p.post.grade, p.post.district] += 1
        elif p.flag == STATE[event.kind]:
            out[p.post.grade, p.post.district] += 1
    return out


def test_reach_is_the_departments_share_of_posts_as_the_waves_move_them():
    """At the start, a department's reach is its share of each (grade, district)'s posts
    (where a cell has none, its share of the grade's in or outside London); once a wave
    has moved half its London EO and HEO posts to a site, it has less of London's and more
    of the site's; every department's reach adds up to 1."""
    from placesim.departments import post_shares

    s = load_scenario_text(HO_WAVE_SCENARIO, filename="ho-wave.yaml")
    m = engine.prepare(s, package())
    depts, lon = m.rules.posts.departments, m.geo.is_london
    ho = depts.index(("HO",))
    before, after = department_reach(depts, m.rules.waves, ho, [0.0, 3.0], m.steps_per_year,
                                     lon)
    posts = depts.posts.sum(axis=3)
    np.testing.assert_allclose(before, post_shares(posts, lon)[ho].sum(axis=0))
    held = posts.sum(axis=0) > 0
    np.testing.assert_allclose(before[held], posts[ho].sum(axis=0)[held]
                               / posts.sum(axis=0)[held])
    eo_heo = [2, 3]
    site = m.geo.site_district[list(m.geo.site_ids).index("alpha")]
    assert (after[eo_heo][:, lon] <= before[eo_heo][:, lon] + 1e-12).all()
    assert after[eo_heo][:, lon].sum() < before[eo_heo][:, lon].sum() - 0.1
    assert (after[eo_heo, site] > before[eo_heo, site] + 0.05).all()
    everyone = department_reach(depts, m.rules.waves, range(len(depts.codes)), [3.0],
                                m.steps_per_year, lon)[0]
    np.testing.assert_allclose(everyone, 1.0)


@pytest.mark.parametrize("mode", ["relocate", "recreate"])
def test_reach_follows_the_department_view_of_a_run_year_by_year(mode):
    """The reach a lever is given before the run (the waves' tranches as planned) against
    the department's share of the posts in the department view of the expected-mode run at
    each year end, while a wave moves half the Home Office's London EOs and HEOs to a site
    over two years and after: at the site, alike; in London, alike for a relocating wave; a
    recreating wave's origin posts close as they fall vacant, so there the reach runs ahead
    of the view while closures are pending (by 0.05 at the wave's end here) and meets it
    within a year (docs/architecture.md)."""
    from placesim import departments
    from placesim.expected import run_expected

    text = HO_WAVE_SCENARIO.replace("years: 3", "years: 5").replace(
        "share: 0.5\n", f"share: 0.5\n    spread_years: 2\n    mode: {mode}\n")
    m = engine.prepare(load_scenario_text(text, filename="ho-wave.yaml"), package())
    depts, lon = m.rules.posts.departments, m.geo.is_london
    ho = depts.index(("HO",))
    res = run_expected(m)
    ledger = departments.ledger(m, res)  # (year, K, G, D) at each year end
    ends = np.arange(1, len(res.years) + 1, dtype=float)
    reach = department_reach(depts, m.rules.waves, ho, ends, m.steps_per_year, lon)
    total = ledger.sum(axis=1)
    site = m.geo.site_district[list(m.geo.site_ids).index("alpha")]
    for y in range(len(ends)):
        view = ledger[y, ho].sum(axis=0) / np.maximum(total[y], 1e-9)
        for g in (2, 3):  # EO, HEO: what the wave moves
            assert reach[y, g, site] == pytest.approx(view[g, site], abs=0.01), (y, g)
            lon_view = ledger[y, ho][:, g][:, lon].sum() / total[y, g, lon].sum()
            lon_reach = (reach[y, g, lon] * total[y, g, lon]).sum() / total[y, g, lon].sum()
            if mode == "relocate" or y >= 3:
                assert lon_reach == pytest.approx(lon_view, abs=0.01), (y, g)
            else:  # (closures pending at the origin)
                assert lon_view - 0.08 < lon_reach < lon_view + 0.005, (y, g)
    assert reach[0, 2, site] < reach[1, 2, site] - 0.05 < reach[2, 2, site] - 0.1


def test_an_unused_department_field_leaves_scenario_hashes_as_they_were():
    """Results folders and the app's results are keyed by the scenario's hash: a lever
    without ``department:`` hashes as if the field did not exist (as a lever that writes
    its default out, ``department: null``, does), and one with it hashes differently. (This
    pinned the shipped scenarios' hashes of the day, which any change to a shipped file
    moved, whatever the field did.)"""
    from pathlib import Path

    from placesim import load_scenario
    from placesim.scenario import document_text, load_scenario_text, scenario_document

    root = Path(__file__).resolve().parent.parent
    for name in ("social-mobility-levers", "progression-levers"):
        s = load_scenario(root / "scenarios" / f"{name}.yaml")
        doc = scenario_document(s)
        levers = [lever for name, lever in doc["levers"].items() if isinstance(lever, dict)
                  and "department" in type(getattr(s.levers, name)).model_fields]
        assert levers and not any("department" in lever for lever in levers)
        for lever in levers:
            lever["department"] = None
        assert load_scenario_text(document_text(doc)).hash() == s.hash()
    assert model("HO").scenario.hash() != model().scenario.hash()


STATE = {MENTOR_ENROL: MENTORED, SCHEME_ENROL: SCHEME}


@pytest.mark.parametrize("kind", [MENTOR_ENROL, SCHEME_ENROL, POSTING_ENROL, OUTBOUND_START])
def test_a_departments_enrolment_is_alike_in_every_mode(kind):
    """Mentoring (coverage of the department's low-SEB staff), a talent scheme (places among
    its staff), London postings (among its staff outside London) and outbound secondments
    (among its staff at each site) given ``department: HO``: the expected mode's
    enrolments, the stochastic mean and the reference model's mean agree in total and in
    the share taken where the Home Office holds most posts; nobody is taken where it holds
    none; and the department's mentoring enrols its share of what the whole service's
    would."""
    m, whole = model("HO"), model()
    event = first(m, kind)
    reach = event.reach
    assert reach is not None and first(whole, kind).reach is None
    exp = expected_taken(m, event)
    sto = np.stack([stochastic_taken(m, event, r) for r in range(REPS)])
    ref = np.stack([reference_taken(m, event, r) for r in range(4)])
    assert exp.sum() > 10
    assert exp[reach == 0].sum() == 0
    assert sto[:, reach == 0].sum() == 0 and ref[:, reach == 0].sum() == 0
    heavy = reach > 0.5
    for runs in (sto, ref):
        totals = runs.sum(axis=(1, 2))
        se = totals.std(ddof=1) / np.sqrt(len(totals))
        assert abs(totals.mean() - exp.sum()) <= max(4 * se, 0.02 * exp.sum(), 1.0), (
            totals, exp.sum())
        part = runs[:, heavy].sum(axis=1) / np.maximum(totals, 1)
        assert part.mean() == pytest.approx(exp[heavy].sum() / exp.sum(), abs=0.08)
    if kind == MENTOR_ENROL:
        staff = expected_taken(whole, first(whole, kind)) / 0.6  # (low-SEB staff)
        share = exp.sum() / (staff.sum() * 0.6)
        assert share == pytest.approx((staff * reach).sum() / staff.sum(), rel=1e-6)
        assert 0 < share < 0.9


def test_unknown_department_in_a_lever_names_file_line_and_nearest_codes():
    text = MENTORING.format(dept=", department: HOO")
    s = load_scenario_text(text, filename="bad.yaml")
    with pytest.raises(ScenarioError) as err:
        check_against_data(s, package())
    msg = str(err.value)
    assert "bad.yaml:5" in msg and "levers.mentoring.department" in msg
    assert "unknown department 'HOO'" in msg and "HO" in msg


RATES = """name: dept-rates
horizon: {{start_year: 2023, years: 2}}
seed: 9
levers:
  london_recruitment_freeze: {{start_year: 2023, share_blocked: 1.0{dept}}}
  recruitment_outreach: {{start_year: 2023, grades: [AO, EO, HEO], low_seb_points: 0.3,
                          places: {{districts: [{places}]}}{dept}}}
"""


@functools.cache
def rates_model(dept: str = ""):
    pkg = package()
    b = pkg.baseline_posts
    biggest = b[~b["lad_code"].str.startswith("E09")].groupby("lad_code")["posts"].sum()
    places = ", ".join(biggest.nlargest(3).index)  # (outside London: the freeze's not there)
    s = load_scenario_text(RATES.format(dept=f", department: {dept}" if dept else "",
                                        places=places), filename="dept-rates.yaml")
    check_against_data(s, pkg)
    return engine.prepare(s, pkg)


def test_a_departments_freeze_and_outreach_reach_its_share_of_each_cell():
    """The freeze blocks the department's share of each London cell's hires (none
    elsewhere); the outreach's recruits' mix is the blend of the two mixes by that share,
    and its cost is paid on the entrants it reaches."""
    m, whole = rates_model("HO"), rates_model()
    r, w = m.rules, whole.rules
    assert w.freeze_reach is None and r.freeze_reach is not None
    reach = r.freeze_reach[0]
    np.testing.assert_allclose(r.freeze_at(0), w.freeze_at(0) * reach)
    assert (r.freeze_at(0)[:, ~m.geo.is_london] == 0).all()
    assert 0 < r.freeze_at(0).max() <= 1 and r.freeze_at(0).sum() < w.freeze_at(0).sum()
    base, full, mine = r.recruit_cdf, w.recruit_cdf_at(0), r.recruit_cdf_at(0)
    np.testing.assert_allclose(mine, base + r.outreach_reach[0][:, :, None] * (full - base))
    np.testing.assert_allclose(r.outreach_share_at(0), r.outreach_cells * r.outreach_reach[0])


def test_a_departments_freeze_and_outreach_agree_in_every_mode():
    """After two years, London's staff (the freeze) and the low-SEB share of the staff in
    the outreach's cells (the outreach): the stochastic mean and the reference model's agree
    with the expected mode, and the expected mode's lie between no lever and the whole
    service's lever."""
    from placesim.expected import run_expected
    from placesim.reference import run_reference

    m = rates_model("HO")
    lon = m.geo.is_london
    cells = m.rules.outreach_cells
    assert cells.any() and not lon[cells.any(axis=0)].any()

    def figures(res):
        stock = res.years[-1].stock  # (grade, district, seb)
        return np.array([stock[:, lon].sum(), stock[cells][:, LOW].sum() / stock[cells].sum()])

    exp = figures(run_expected(m))
    none, whole = figures(run_expected(rates_model_none())), figures(run_expected(rates_model()))
    assert whole[0] < exp[0] < none[0]  # the freeze keeps London smaller
    assert none[1] < exp[1] < whole[1]  # the outreach brings in more low-SEB staff
    sto = np.array([figures(engine.run_replication(m, i)) for i in range(REPS)])
    ref = np.array([figures(run_reference(m, i)) for i in range(6)])
    for runs in (sto, ref):
        se = runs.std(axis=0, ddof=1) / np.sqrt(len(runs))
        assert (np.abs(runs.mean(axis=0) - exp) <= np.maximum(4 * se, 0.01 * exp)).all(), (
            runs.mean(axis=0), exp, se)


@functools.cache
def rates_model_none():
    s = load_scenario_text("name: none\nhorizon: {start_year: 2023, years: 2}\nseed: 9\n",
                           filename="none.yaml")
    return engine.prepare(s, package())


def test_a_departments_secondments_must_send_someone_out():
    text = ("name: sec\nhorizon: {start_year: 2023, years: 2}\nlevers:\n  secondments: "
            "{start_year: 2023, sites: [alpha], outbound_per_site: 0, department: HO}\n")
    with pytest.raises(ScenarioError, match="outbound_per_site is 0"):
        check_against_data(load_scenario_text(text, filename="sec.yaml"), package())
