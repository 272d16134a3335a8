"""Recruitment outreach and local-central secondments (issue 20): mechanisms that move what
they should, the same in the engine and the per-person reference model, and bad input
refused with the field named.

Direction tests run on the shipped data scaled to a tenth with paired stochastic runs (same
seed: the draws the two scenarios share are the same) and in the expected mode; the
reference-model test runs on the small synthetic package.
"""

from __future__ import annotations

import numpy as np
import pytest

from placesim import engine, load_scenario_text, metrics
from placesim.cli import main
from placesim.expected import run_expected
from placesim.levers import lever_figures
from placesim.metrics import replication_table
from placesim.reference import run_reference
from placesim.rules import outreach_mix

from .helpers import (
    MINIMAL_SCENARIO,
    reduced_package,
    reduced_scenario,
    scenario_text,
    synthetic_model,
)

REPS = 12
OUTREACH = ("recruitment_outreach: {start_year: 2023, grades: [EO], low_seb_points: 0.2, "
            "places: {coldspots: true}}")
SECONDMENTS = ("secondments: {start_year: 2023, inbound_per_site: 300, conversion_share: 0.5, "
               "outbound_per_site: 0}")


def _table(m, res) -> dict:
    labels, _, values = replication_table(m, res)
    return {lab: values[:, i] for i, lab in enumerate(labels)}


def _runs(text: str):
    m = engine.prepare(reduced_scenario(text, years=4), reduced_package())
    return m, _table(m, run_expected(m)), [_table(m, engine.run_replication(m, r))
                                           for r in range(REPS)]


@pytest.fixture(scope="module")
def base():
    return _runs("name: base\n")


@pytest.fixture(scope="module")
def outreach():
    return _runs(f"name: outreach\nlevers:\n  {OUTREACH}\n")


@pytest.fixture(scope="module")
def outreach_off():
    """The same lever never switched on: its figures reported, nothing changed."""
    return _runs(f"name: outreach-off\nlevers:\n  {OUTREACH.replace('2023', '2060')}\n")


def _paired(a_runs, b_runs, fig, year=-1) -> tuple[float, float]:
    """Mean and standard error of the paired difference b - a of a figure in a year."""
    d = np.array([b[fig][year] - a[fig][year] for a, b in zip(a_runs, b_runs, strict=True)])
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def test_outreach_mix_adds_points_to_low_seb_and_keeps_the_rest_in_proportion():
    cdf = np.cumsum([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]], axis=1)
    local = np.array([0.2, 0.3, 0.5])
    got = np.diff(outreach_mix(cdf, local, 0.0, 0.1), axis=1, prepend=0.0)
    np.testing.assert_allclose(got[0], [0.5 * 0.7 / 0.8, 0.3 * 0.7 / 0.8, 0.3])
    np.testing.assert_allclose(got[1], [0.05, 0.05, 0.9])
    full = np.diff(outreach_mix(cdf, local, 0.0, 0.3), axis=1, prepend=0.0)
    np.testing.assert_allclose(full[1], [0.0, 0.0, 1.0], atol=1e-12)  # capped at 1
    half = np.diff(outreach_mix(cdf[:1], local, 0.5, 0.0), axis=1, prepend=0.0)
    np.testing.assert_allclose(half[0], [0.35, 0.3, 0.35])


def test_outreach_raises_low_seb_share_of_its_grade_in_its_places(outreach, outreach_off):
    """Against the same lever never switched on (its figures reported, nothing changed)."""
    _, oe, os_ = outreach
    _, fe, fs = outreach_off
    entrants = ("entrants_low_seb_share", "grade:EO|outreach")
    assert oe[entrants][-1] > fe[entrants][-1] + 0.15  # 20 points, less the cap's trim
    mean, se = _paired(fs, os_, entrants)
    assert mean > 0.15 and mean > 3 * se, (mean, se)
    # the grade's low-SEB share in those places rises as entrants replace leavers
    stock = ("low_seb_share", "grade:EO|outreach")
    assert oe[stock][-1] > fe[stock][-1] + 0.02
    mean, se = _paired(fs, os_, stock)
    assert mean > 0.02 and mean > 3 * se, (mean, se)
    # other grades there, and the grade elsewhere, are not reached
    for fig in (("entrants_low_seb_share", "grade:EO|london"),
                ("entrants_low_seb_share", "london")):
        assert oe[fig][-1] == pytest.approx(fe[fig][-1], abs=1e-3), fig


def test_outreach_change_reads_against_a_run_without_the_lever(base, outreach):
    """Every run reports entrants' and staff's low-SEB shares by place and grade
    (:mod:`placesim.entrants`), so the outreach's change reads against a run without it, in
    both modes (a run without the lever had none of these rows: compare and the brief read
    "n/a" for it and for the change)."""
    _, be, bs = base
    _, oe, os_ = outreach
    for fig, least in ((("entrants_low_seb_share", "grade:EO|coldspots"), 0.15),
                       (("low_seb_share", "grade:EO|coldspots"), 0.02),
                       (("entrants_low_seb_share", "coldspots"), 0.01)):
        assert fig in be and fig in bs[0], fig
        assert oe[fig][-1] > be[fig][-1] + least, (fig, oe[fig][-1], be[fig][-1])
        mean, se = _paired(bs, os_, fig)
        assert mean > least and mean > 3 * se, (fig, mean, se)


def test_the_brief_shows_the_levers_changes_against_the_baseline():
    """The brief's first page gives the low-SEB share of entrants in the coldspots and the
    secondees for the baseline, the scenario and the change (they read "n/a | 45.5% | n/a"
    and "n/a | 40 | n/a"), and leaves them out of a pack with neither lever."""
    from placesim import simulate
    from placesim.brief import first_page_rows
    from placesim.compare import compare_results

    pkg = reduced_package()
    a, b = (simulate(reduced_scenario(text, years=4), pkg, mode="expected") for text in (
        "name: base\n", f"name: levers\nlevers:\n  {OUTREACH}\n  {SECONDMENTS}\n"))
    table = first_page_rows(b, a, compare_results(a, b)).set_index(["metric", "group"])
    for fig in (("entrants_low_seb_share", "coldspots"), ("secondees_in_post", "all"),
                ("secondee_conversions", "all")):
        row = table.loc[fig]
        assert "n/a" not in (row["Comparison"], row["Scenario"], row["Difference"]), row
        assert row["Difference"].startswith("+"), row
    assert table.loc[("secondees_in_post", "all"), "Comparison"] == "0"
    plain = first_page_rows(a, a, compare_results(a, a)).set_index(["metric", "group"])
    assert not {("entrants_low_seb_share", "coldspots"), ("secondees_in_post", "all")} & set(
        plain.index)
    # and the answer says so in words, against the baseline (it spoke of relocations only)
    from placesim.brief import About, answer

    said = " ".join(answer(b, About("levers"), a, About("base")))
    assert "of the people joining in the coldspots outside London" in said, said
    assert "council staff are on secondment in campus posts" in said and "base: 0; +" in said
    assert "secondment" not in " ".join(answer(a, About("base"), a, About("base")))


def test_the_brief_shows_a_levers_rows_whatever_its_figures():
    """The first page shows a lever's rows when the lever is on, not when a figure stands in
    for it: an outreach that costs nothing, and secondments of six months (no one in post at
    a year's end), were left off (review). Those secondees count on the year's average, half
    of the year's intake (at the year's end they were none: review)."""
    from placesim import simulate
    from placesim.brief import first_page_rows
    from placesim.compare import compare_results

    pkg = reduced_package()
    free = OUTREACH.replace("low_seb_points", "cost_gbp_per_entrant: 0, low_seb_points")
    short = SECONDMENTS.replace("inbound_per_site: 300", "inbound_per_site: 300, "
                                "inbound_months: 6")
    a, b = (simulate(reduced_scenario(text, years=4), pkg, mode="expected") for text in (
        "name: base\n", f"name: levers\nlevers:\n  {free}\n  {short}\n"))
    m = b.metrics
    assert (m[m.metric == "outreach_cost_gbp"]["mean"] == 0).all()
    in_post = m[(m.metric == "secondees_in_post") & (m.group == "all")]["mean"].to_numpy()
    # (six months of each year's intake: 30 a site, the reduced package's tenth of 300)
    np.testing.assert_allclose(in_post, 0.5 * 4 * 30)
    rows = set(first_page_rows(b, a, compare_results(a, b))[["metric", "group"]].itertuples(
        index=False, name=None))
    assert {("entrants_low_seb_share", "coldspots"), ("secondee_conversions", "all")} <= rows


def test_outreach_moves_nothing_else_beyond_noise(base, outreach, outreach_off):
    """Headcount, posts and promotions (how many) are untouched, and so is the grade's mix
    where the outreach does not reach (London) and other grades' entrants."""
    _, be, bs = base
    _, oe, os_ = outreach
    same = [("headcount", "all"), ("posts", "all")]
    same += [("headcount", f"grade:{g}|{p}") for g in ("EO", "HEO", "G7")
             for p in ("london", "outside_london")]
    same += [("promotions", f"grade:{g}") for g in ("HEO", "SEO", "G7", "G6")]
    same += [("high_seb_share", f"grade:{g}") for g in ("G7", "G6", "SCS1")]
    for fig in same:
        np.testing.assert_allclose(oe[fig], be[fig], rtol=5e-3, err_msg=str(fig))
        mean, se = _paired(bs, os_, fig)
        count = 0 if "share" in fig[0] else 1  # (one person of slack, for counts only)
        assert abs(mean) <= 3 * se + 0.005 * abs(np.mean([b[fig][-1] for b in bs])) + count, (
            fig, mean, se)
    # where the outreach does not reach, entrants' and staff's mix is as without it: the EOs
    # who join outside London but not in its places, other grades who join in its places, and
    # London's EOs
    m, _, _ = outreach
    assert metrics.place_groups(m)["london"].any()
    untouched = {
        "EO entrants outside London, not in its places": lambda t: _rest_low_share(
            t, "grade:EO|outside_london", "grade:EO|outreach"),
        "other grades' entrants in its places": lambda t: _rest_low_share(
            t, "outreach", "grade:EO|outreach"),
        "EO entrants in London": lambda t: t[("entrants_low_seb_share", "grade:EO|london")][-1],
        "EOs in London": lambda t: t[("low_seb_share", "grade:EO|london")][-1],
    }
    _, fe, fs = outreach_off
    for what, share in untouched.items():
        assert share(oe) == pytest.approx(share(fe), abs=1e-3), what
        d = np.array([share(o) - share(f) for o, f in zip(os_, fs, strict=True)])
        assert abs(d.mean()) <= 3 * d.std(ddof=1) / np.sqrt(REPS) + 1e-3, (what, d.mean())


def _rest_low_share(t: dict, whole: str, part: str) -> float:
    """Low-SEB share of the last year's entrants in place group ``whole`` but not in
    ``part`` (a group inside it), from the two groups' entrants and shares."""
    n_w, n_p = t[("entrants", whole)][-1], t[("entrants", part)][-1]
    low = (t[("entrants_low_seb_share", whole)][-1] * n_w
           - t[("entrants_low_seb_share", part)][-1] * n_p)
    return float(low / (n_w - n_p))


def test_inbound_secondments_with_conversion_raise_local_recruitment(base):
    bm, be, bs = base
    text = f"name: sec\nlevers:\n  {SECONDMENTS}\n"
    m, se_, ss = _runs(text)
    none = engine.prepare(reduced_scenario(text.replace("conversion_share: 0.5",
                                                        "conversion_share: 0.0"), years=4),
                          reduced_package())
    ne = _table(none, run_expected(none))
    ns = [_table(none, engine.run_replication(none, r)) for r in range(REPS)]
    for site in ("darlington", "sheffield", "leeds", "manchester"):
        fig = ("entrants", f"site:{site}")
        total = se_[fig].sum()
        assert total > ne[fig].sum() + 0.9 * 45, (site, total, ne[fig].sum())
        d = np.array([s[fig].sum() - n[fig].sum() for s, n in zip(ss, ns, strict=True)])
        assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(REPS), (site, d)
        # secondees hold posts at the site while there (counted in posts, not headcount)
        assert se_[("secondees_in_post", f"site:{site}")][-1] == 30
    # conversions are a half of those whose term ended (three yearly cohorts)
    assert se_[("secondee_conversions", "all")][1:].sum() == pytest.approx(0.5 * 120 * 3)
    # the Civil Service's policy roles gain the posts of those who convert, not the council
    # staff in post (40 secondees counted as policy roles moved out of London; review)
    _, base_e, _ = base
    roles = ("policy_roles_outside_london", "all")
    np.testing.assert_allclose(ne[roles], base_e[roles], atol=1e-6)
    np.testing.assert_allclose(se_[roles] - base_e[roles],
                               np.cumsum(se_[("secondee_conversions", "all")]), atol=1e-6)
    # the appraisal: the posts secondees who stay add are not posts kept out of London (they
    # made London posts "avoided", with hub space, and their pay was never costed; review)
    # but each costs the secondments line a post outside London, on the year's average
    avoided = ("london_posts_avoided", "all")
    np.testing.assert_allclose(se_[avoided], ne[avoided], atol=1e-6)
    hub = ("cost_hub_capital_gbp", "all")
    np.testing.assert_allclose(se_[hub], ne[hub], atol=1e-3)
    ends = np.cumsum(se_[("secondee_conversions", "all")])
    held = (np.concatenate([[0.0], ends[:-1]]) + ends) / 2
    c = m.params.costs
    post = {g: c[f"pay_outside_gbp.{g}"] * (1 + c["employer_oncost_share"])
            + c["desks_per_post"] * c["m2_per_desk"] * c["estate_gbp_per_m2_outside"]
            for g in ("HEO", "SEO")}
    paid = ("cost_secondments_gbp", "all")
    added = se_[paid] - ne[paid]  # (the same secondees in post; only conversions differ)
    assert np.all(added >= held * post["HEO"] - 1e-6) and np.all(added <= held * post["SEO"]
                                                                   + 1e-6), (added, held)
    assert added[-1] > 0


LEVERS_SYNTH = """
levers:
  recruitment_outreach: {start_year: 2023, grades: [EO, HEO], low_seb_points: 0.25,
                         places: {sites: [alpha], coldspots: true}}
  secondments: {start_year: 2023, sites: [alpha, beta], inbound_per_site: 20,
                conversion_share: 0.5, outbound_per_site: 20, outbound_grades: [EO, HEO],
                promotion_multiplier: 3}
"""


def test_reference_model_agrees_on_the_new_levers():
    """The per-person SimPy oracle, reading the same rules, agrees with the engine on the
    levers' own figures and on what they touch."""
    s = load_scenario_text(scenario_text(waves=False, years=4) + LEVERS_SYNTH,
                           filename="social.yaml")
    m = synthetic_model(s, headcount=1500)
    reps = 12
    eng = [engine.run_replication(m, i) for i in range(reps)]
    ref = [run_reference(m, i) for i in range(reps)]
    a = [_table(m, r) for r in eng]
    b = [_table(m, r) for r in ref]
    checks = [f for f in lever_figures(m) if f[0] in (
        "entrants", "entrants_low_seb_share", "secondees_in_post", "secondee_conversions",
        "secondees_out", "outreach_cost_gbp") and "grade:" not in f[1]]
    checks += [("low_seb_share", "grade:EO|outreach"), ("headcount", "all"),
               ("promotions", "grade:HEO"), ("promotions", "grade:SEO")]
    assert len(checks) > 15
    for fig in checks:
        va = np.array([x[fig][-1] for x in a])
        vb = np.array([x[fig][-1] for x in b])
        va, vb = va[~np.isnan(va)], vb[~np.isnan(vb)]
        se = np.sqrt(va.var(ddof=1) / len(va) + vb.var(ddof=1) / len(vb))
        assert abs(va.mean() - vb.mean()) <= 4 * se + 1e-9, (fig, va.mean(), vb.mean(), se)


@pytest.mark.parametrize("lever,field", [
    ("secondments: {start_year: 2024, inbound_per_site: -5}", "inbound_per_site"),
    ("secondments: {start_year: 2024, outbound_per_site: -1}", "outbound_per_site"),
    ("secondments: {start_year: 2024, conversion_share: 1.5}", "conversion_share"),
    ("recruitment_outreach: {start_year: 2024, low_seb_points: 1.2}", "low_seb_points"),
    ("recruitment_outreach: {start_year: 2024, towards_local_mix: -0.1}", "towards_local_mix"),
    ("secondments: {start_year: 2024, sites: [darlington, atlantis]}", "sites"),
    ("recruitment_outreach: {start_year: 2024, places: {sites: [atlantis]}}", "sites"),
    ("recruitment_outreach: {start_year: 2024, places: {districts: [E99999999]}}",
     "districts"),
    # more than a site has (it ran, and sent about a tenth of what was asked: audit)
    ("secondments: {start_year: 2024, outbound_per_site: 50000, outbound_grades: [G7]}",
     "outbound_per_site: 50,000 a year from each site, but 'darlington' has"),
])
def test_bad_lever_input_exits_2_naming_the_field(tmp_path, capsys, lever, field):
    f = tmp_path / "bad.yaml"
    f.write_text(MINIMAL_SCENARIO + f"levers:\n  {lever}\n")
    for cmd in (["validate"], ["run", "--mode", "expected", "--out", str(tmp_path / "o")]):
        assert main([*cmd, str(f)]) == 2
        err = capsys.readouterr().err
        assert "bad.yaml:" in err and field in err and "Traceback" not in err, err


def test_the_app_switches_the_new_levers_on_and_shares_them_in_the_url():
    from pathlib import Path

    from placesim import load_scenario
    from placesim.edits import LeverEdits, apply_edits, describe

    s = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml")
    e = LeverEdits(outreach=True, secondments=True)
    t = apply_edits(s, e)
    assert t.levers.recruitment_outreach.start_year == s.horizon.start_year + 1
    assert t.levers.secondments.sites == ("darlington", "sheffield", "leeds", "manchester")
    assert LeverEdits.from_query(e.to_query()) == e
    assert describe(e) == "recruitment outreach, campus secondments"


def test_expected_outbound_secondments_thin_the_ring_as_the_people_at_shared_districts():
    """In the expected mode, outbound secondees leave each site's district in turn; the
    ring of recent entrants is thinned alike (every entry of a cell by the same share),
    also where two sites share a district (taken from twice, the second time from what
    the first left)."""
    from placesim.expected import _ExpectedRun
    from placesim.rules import OUTBOUND_START, LeverEvent

    s = load_scenario_text(scenario_text(waves=False, years=2) + LEVERS_SYNTH,
                           filename="social.yaml")
    m = synthetic_model(s, headcount=1500)
    run = _ExpectedRun(m)
    grades = np.zeros(run.people.shape[0], bool)
    grades[[2, 3]] = True  # EO, HEO
    held = run.people[grades].sum(axis=(0, 2, 3, 4))
    d, other = np.argsort(held)[-2:]  # two districts with people at those grades
    before_people, before_ring = run.people.copy(), run.ring[-1].copy()
    event = LeverEvent(0, OUTBOUND_START, grades, places=5, districts=(int(d), int(other),
                                                                       int(d)))
    run._secondment_event(event, 0)
    for at in (d, other):
        kept = run.people[grades, at].sum() / before_people[grades, at].sum()
        assert 0 < kept < 1
        with np.errstate(invalid="ignore", divide="ignore"):
            people = run.people[:, at] / before_people[:, at]
            ring = run.ring[-1][:, at] / before_ring[:, at]
        both = np.isfinite(people) & np.isfinite(ring)
        assert both.any()
        np.testing.assert_allclose(ring[both], people[both], rtol=1e-12)
    taken = before_people[grades, d].sum() - run.people[grades, d].sum()
    assert taken == pytest.approx(10)  # (two sites' places)


# --- inputs that validated and then did nothing, or something else (review D6) --------------

@pytest.mark.parametrize("lever,field,words", [
    ("secondments: {start_year: 2024, sites: [leeds, darlington, leeds]}",
     "levers.secondments.sites", "leeds given more than once"),  # doubled Leeds's places
    ("secondments: {start_year: 2024, inbound_grades: [HEO, HEO]}",
     "levers.secondments.inbound_grades", "HEO given more than once"),
    ("mentoring: {start_year: 2024, grades: [EO, EO]}", "levers.mentoring.grades",
     "EO given more than once"),
    ("mentoring: {start_year: 2024, grades: []}", "levers.mentoring.grades", "must not be empty"),
    ("london_recruitment_freeze: {start_year: 2024, grades: []}",
     "levers.london_recruitment_freeze.grades", "must not be empty"),
    ("london_postings: {start_year: 2024, grades: []}", "levers.london_postings.grades",
     "must not be empty"),
    ("talent_scheme_ring_fence: {start_year: 2024, grades: []}",
     "levers.talent_scheme_ring_fence.grades", "must not be empty"),
    ("recruitment_outreach: {start_year: 2024, grades: []}",
     "levers.recruitment_outreach.grades", "must not be empty"),
    ("london_postings: {start_year: 2024, grades: [PS]}", "levers.london_postings.grades",
     "PS is the top grade"),
    ("talent_scheme_ring_fence: {start_year: 2024, grades: [G7, PS]}",
     "levers.talent_scheme_ring_fence.grades", "PS is the top grade"),
    ("mentoring: {start_year: 2024, grades: [PS]}", "levers.mentoring.grades",
     "PS is the top grade"),
    ("secondments: {start_year: 2024, outbound_grades: [PS]}",
     "levers.secondments.outbound_grades", "PS is the top grade"),
    ("secondments: {start_year: 2024, inbound_months: 1}", "levers.secondments.inbound_months",
     "1 month is not a whole number of the scenario's quarterly steps (3 months each) and "
     "would run as 3"),
    ("secondments: {start_year: 2024, outbound_months: 8}",
     "levers.secondments.outbound_months", "would run as 9: give a multiple of 3"),
])
def test_lever_inputs_that_would_do_nothing_or_else_exit_2(tmp_path, capsys, lever, field,
                                                            words):
    f = tmp_path / "odd.yaml"
    f.write_text(MINIMAL_SCENARIO + f"levers:\n  {lever}\n")
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"odd.yaml:11: {field}: " in err and words in err and "Traceback" not in err, err


def test_lever_months_need_whole_steps_of_the_scenarios_step():
    """A month's secondment is whole with monthly steps; the check also holds for a scenario
    changed after loading (check_against_data), as the app's and batch's are."""
    from placesim.errors import ScenarioError
    from placesim.scenario import check_against_data

    text = MINIMAL_SCENARIO + ("step: month\nlevers:\n  secondments: {start_year: 2024, "
                               "inbound_months: 1, outbound_months: 5}\n")
    s = load_scenario_text(text, filename="monthly.yaml")
    assert s.levers.secondments.inbound_months == 1
    quarterly = s.model_copy(update={"step": "quarter"})
    with pytest.raises(ScenarioError) as e:
        check_against_data(quarterly, reduced_package(0.1))
    msg = str(e.value)
    assert "monthly.yaml:12: levers.secondments.inbound_months: 1 month" in msg, msg
    assert "levers.secondments.outbound_months: 5 months" in msg, msg


def test_outbound_secondments_may_count_on_posts_the_waves_bring(tmp_path, capsys):
    """The check on outbound numbers allows for a site the scenario's waves build up first
    (review: it refused one, measured against the census alone), and for terms that overlap:
    400 G7s a year from Darlington (321 at the census) is refused alone and accepted after a
    wave of 2,000 G7 posts there; 200 a year for 24 months needs 400 at once."""
    grow = ("  - name: grow\n    year: 2024\n    posts: {grades: [G7]}\n    count: 2000\n"
            "    mode: recreate\n    destinations: [{site: darlington, share: 1.0}]\n")
    lever = ("levers:\n  secondments: {start_year: 2026, outbound_per_site: %d, "
             "outbound_months: %d, outbound_grades: [G7], sites: [darlington]}\n")
    for waves, n, months, code in (("", 400, 12, 2), (grow, 400, 12, 0), ("", 200, 24, 2)):
        f = tmp_path / "s.yaml"
        f.write_text(MINIMAL_SCENARIO + waves + lever % (n, months))
        assert main(["validate", str(f)]) == code, capsys.readouterr().err
        capsys.readouterr()


def test_a_levers_rows_are_at_its_own_grades():
    """Where the outreach works, its own grades; at the secondment sites, the secondees'
    and the outreach's (the outreach's places had the secondees' SEO rows too; review)."""
    from placesim.levers import lever_figures

    text = ("name: both\nlevers:\n  recruitment_outreach: {start_year: 2023, grades: [EO, HEO],"
            " low_seb_points: 0.05, places: {coldspots: true}}\n"
            "  secondments: {start_year: 2023, inbound_per_site: 10, outbound_per_site: 0}\n")
    m = engine.prepare(reduced_scenario(text, years=2), reduced_package())
    groups = {g for _, g in lever_figures(m)}
    assert {"grade:EO|outreach", "grade:HEO|outreach", "grade:SEO|site:leeds",
            "grade:EO|site:leeds"} <= groups
    assert "grade:SEO|outreach" not in groups and "grade:SEO|coldspots" not in groups
