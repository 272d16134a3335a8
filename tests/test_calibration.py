"""The model against the published record: promotions, SEB trend, back-casts, PfG history.

These check calibrated and structural numbers against Civil Service Statistics and the
People Survey (facts.md B, C2, G), not against earlier runs of the model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from placesim import fit
from placesim.backcast import TARGET_HEADCOUNT_PCT, TARGET_SHARE_PP, backcast
from placesim.calibration import CALIBRATED, default_parameters
from placesim.engine import prepare
from placesim.expected import run_expected
from placesim.geodata import load_data_package, shipped_package
from placesim.grades import GRADES


@pytest.fixture(scope="module")
def packages():
    return {y: load_data_package(shipped_package(y)) for y in (2021, 2022, 2023)}


@pytest.fixture(scope="module")
def record_run(packages):
    return fit._record_run(packages, default_parameters(packages[2023]))[1]


# promotions out of EO ... G6 are promotions into HEO ... the SCS
OUT_OF = {"EO": "HEO", "HEO": "SEO", "SEO": "G7", "G7": "G6", "G6": "SCS1"}


@pytest.mark.parametrize("year_index, before, after", [(1, 2022, 2023), (0, 2021, 2022)])
def test_promotions_match_implied_flows(packages, record_run, year_index, before, after):
    """Promotions out of EO to G6 within 25% of those implied by Civil Service Statistics
    (facts C2), in the calibration year (2022/23) and in the year before, which was not
    fitted."""
    implied = fit.implied_promotions(packages[before], packages[after])
    into = record_run.years[year_index].promotions.sum(axis=(1, 2))
    for grade, up in OUT_OF.items():
        model = into[GRADES.index(up)]
        want = implied["SCS" if up == "SCS1" else up]
        assert abs(model / want - 1) <= 0.25, (grade, model, want)


def test_seb_follows_people_survey_trend(packages):
    """With no policy (the shipped baseline), no grade's high-SEB or low-SEB share drifts
    more than 1 point from its People Survey band's 2019-2024 trend, in any of ten years.
    (The low-SEB shares were not fitted and strayed up to 3.4 points: the whole Civil
    Service's went from 34.4% to 36.3% where the survey's fell; review.)"""
    pkg = packages[2023]
    trend = fit.survey_trend(pkg)
    model = prepare(fit.baseline_scenario(2023, 10), pkg)
    shares = fit.seb_by_grade(model, run_expected(model))
    years = np.arange(len(shares))
    for (i, g), k in ((x, k) for x in enumerate(GRADES) for k in (0, 2)):
        slope = trend[fit._band(g)][1][k]
        drift = (shares[:, i, k] - shares[0, i, k]) - slope * years
        assert np.abs(drift).max() <= 0.01, (g, drift.round(4))


def test_seb_follows_the_2021_2024_trend_at_the_other_end_of_its_range(packages):
    """With recruits fitted to the 2021-2024 survey trend (the other end of the range
    parameter uncertainty draws), each grade's high-SEB share follows that band trend within
    1 point in every year of ten, but SCS2 within 2: four in five of its posts are filled
    from SCS1, whose share rises only as fast as SCS1's own recruits move it, and the fit
    stops at its bound (1.6 points, docs/validation.md)."""
    from placesim.calibration import RECENT_TREND

    pkg = packages[2023]
    trend = fit.survey_trend(pkg, fit.TREND_SINCE_ALTERNATIVE)
    s = fit.baseline_scenario(2023, 10)
    s = s.model_copy(update={"parameters": s.parameters.model_copy(
        update={"values": {RECENT_TREND: 1.0}})})
    model = prepare(s, pkg)
    shares = fit.high_seb_by_grade(model, run_expected(model))
    years = np.arange(len(shares))
    for i, g in enumerate(GRADES):
        drift = (shares[:, i] - shares[0, i]) - trend[fit._band(g)][1][0] * years
        assert np.abs(drift).max() <= (0.02 if g == "SCS2" else 0.01), (g, drift.round(4))


@pytest.mark.slow  # the whole fit, 11-15 s, and the default run is at its 5-minute limit
def test_shipped_calibration_is_what_calibrate_derives_now(tmp_path):
    """calibration/calibrated.json is what `placesim calibrate` derives from the shipped
    packages with today's engine: a change to the engine that moves the fit (as the
    successive-sampling depletion moved recruits' SEB shifts by up to 0.012) fails here
    until the file, docs/validation.md and the goldens are re-made. Equal to the file's
    rounding (5 decimals), give or take one unit in the last place."""
    shipped = json.loads(CALIBRATED.read_text())
    fresh = fit.calibrate(out=tmp_path / "calibrated.json")
    assert set(fresh) == set(shipped)
    for key, want in shipped.items():
        if not isinstance(want, dict):
            assert fresh[key] == want, key
            continue
        assert set(fresh[key]) == set(want), key
        for name, value in want.items():
            assert fresh[key][name] == pytest.approx(value, abs=1.5e-5), (key, name)


def test_calibration_file_names_its_fit():
    data = json.loads(CALIBRATED.read_text())
    assert set(data["internal_fill_share"]) == set(fit.FIT_GRADES)
    assert set(data["recruit_seb_shift"]) == set(GRADES)
    assert set(data["recruit_seb_shift_2021_2024"]) == set(GRADES)
    assert set(data["recruit_low_shift"]) == set(GRADES)
    assert "recruit_low_shift_2021_2024" not in data  # (that trend moves the high one only)
    assert data["implied_promotions"]["HEO"] == 12460  # facts.md C2


@pytest.mark.parametrize("start, end", [(2021, 2022), (2022, 2023)])
def test_backcast_matches_next_census(start, end):
    """History from one census reproduces the next: London's share of every grade group
    within 1 point, total and London headcount within 2%, of the later census's package and
    of Civil Service Statistics as published (audit: the package's London shares are 0.1-0.6
    points below the published ones, which the test did not read)."""
    b = backcast(start, end)
    for error in ("error_pp", "error_published_pp"):
        assert (b.by_grade[error].abs() <= TARGET_SHARE_PP).all(), b.by_grade
    assert b.by_grade["published"].notna().all()
    for error in ("error_pct", "error_published_pct"):
        assert (b.headcount[error].abs() <= TARGET_HEADCOUNT_PCT).all(), b.headcount
    assert len(b.by_region) == 12
    # policy posts outside London, a headline of every run: the recorded tranches re-made
    # London's policy mix outside it, 20% above the 2023 census (record review). 2021 to
    # 2022's census jump (+2,457 in a year, then +388) no rule of ours follows: reported
    simulated, record = b.policy_outside_london
    if start == 2022:
        assert abs(simulated / record - 1) <= 0.05, (simulated, record)
    else:
        assert record == 10313 and simulated < record


def test_backcast_out_of_sample_trend():
    """With the trend of where posts grow fitted to 2021 and 2022 only, 2023 is still within
    the targets (each grade's national number of posts comes from the 2023 census: the
    output says it is an input)."""
    from placesim.backcast import format_backcast

    b = backcast(2022, 2023, past_only=True)
    assert b.trend_years == (2021, 2022) and b.national_totals == "record"
    assert b.within_targets(), (b.by_grade, b.headcount)
    assert "taken from the 2023 census (an input, not predicted)" in format_backcast(b)


def test_backcast_forecast_predicts_the_national_totals_too():
    """With past_totals the national number of posts by grade is extrapolated from 2021-2022
    (audit: --past-only was called 'a true out-of-sample test' while the 2023 totals were an
    input): its totals are its own, not the census's, and it says so."""
    from placesim.backcast import format_backcast

    given, forecast = backcast(2022, 2023, past_only=True), backcast(
        2022, 2023, past_only=True, past_totals=True)
    assert forecast.national_totals == "trend"
    total = forecast.headcount.set_index("measure")["simulated"]["total"]
    assert abs(total / given.headcount.set_index("measure")["simulated"]["total"] - 1) > 0.01
    assert "extrapolated from it too (predicted)" in format_backcast(forecast)


def test_backcast_targets_hold_against_the_published_figures_too():
    """A back-cast within 1 point of the package but not of the published share fails."""
    from dataclasses import replace

    b = backcast(2022, 2023)
    assert b.within_targets()
    off = b.by_grade.copy()
    off.loc[0, "error_published_pp"] = 1.2
    assert not replace(b, by_grade=off).within_targets()
    # a figure with no published counterpart is judged against the package alone, and the
    # output says so (review: it passed in silence under "of both")
    from placesim.backcast import format_backcast

    gone = b.by_grade.copy()
    gone.loc[0, ["published", "error_published_pp"]] = np.nan
    c = replace(b, by_grade=gone)
    assert c.within_targets() and c.unpublished == ["London share of AA"]
    assert "judged against the package only: London share of AA" in format_backcast(c)


def test_history_reproduces_pfg_progress(packages):
    """Roles moved out of London count from 2020 and reach the published 21,002 (Q1 2024)
    and 23,249 (Q2 2024) within 2%; the forward baseline starts from the 11,168 moved by
    March 2023."""
    from placesim.backcast import HISTORY
    from placesim.scenario import load_scenario

    history = load_scenario(HISTORY)
    model = prepare(history, packages[2021])
    assert model.rules.moved_before_start == 1000
    years = run_expected(model).years
    assert years[2].moved_out_of_london == pytest.approx(21_002, rel=0.02)  # 31 Mar 2024
    assert years[3].moved_out_of_london == pytest.approx(23_249, rel=0.02)  # after Q2 2024
    baseline = prepare(fit.baseline_scenario(2023, 2), packages[2023])
    assert baseline.rules.moved_before_start == 11_168


def test_backcast_rejects_years_without_packages():
    from placesim.errors import PlacesimError

    with pytest.raises(PlacesimError, match="no shipped data package for 2019"):
        backcast(2019, 2022)
    with pytest.raises(PlacesimError, match="must be after"):
        backcast(2022, 2021)


def test_the_validation_document_is_the_one_the_code_writes():
    """docs/validation.md is computed from the code, the data and calibrated.json: it must
    be what ``calibration/report.py`` writes now (it had gone stale: two parameters that
    parameter uncertainty draws were missing from its table, and a sentence the generator
    never wrote stood in it; review)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "calibration" / "report.py"
    spec = importlib.util.spec_from_file_location("validation_report", path)
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    assert report.main(["--check"]) == 0, "run: python calibration/report.py"
