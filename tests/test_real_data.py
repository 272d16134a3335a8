"""The engine on the shipped data: a stable baseline, reproducible runs, and the mechanism.

The Social Mobility Commission's point (action plan, action 8) is that moving junior roles
while senior roles stay in London keeps progression in London. On the whole Civil Service
the model must show it: moving senior posts out raises regional progression to Director,
moving junior posts alone does not close the gap.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from placesim import engine, fit, load_data_package, load_scenario
from placesim.expected import run_expected
from placesim.grades import GRADES
from placesim.population import N_GRADES
from placesim.simulation import simulate

ROOT = Path(__file__).resolve().parent.parent
SCS2 = 8  # index of SCS2 in placesim.grades.GRADES


@pytest.fixture(scope="module")
def pkg():
    return load_data_package(ROOT / "geodata" / "2023")


@pytest.fixture(scope="module")
def baseline_model(pkg):
    return engine.prepare(load_scenario(ROOT / "scenarios" / "baseline.yaml"), pkg)


def _initial(model):
    p = model.population
    # people in post: not the vacancies the chains start with, nor spare slots for growth
    held = (p.district < model.geo.n_districts) & (p.seb >= 0)
    stock = np.zeros((N_GRADES, 3))
    np.add.at(stock, (p.grade[held].astype(int), p.seb[held].astype(int)), 1)
    return stock


@pytest.mark.parametrize("mode", ["expected", "stochastic"])
def test_baseline_grade_stocks_and_seb_mix_drift_little(pkg, baseline_model, mode):
    start = _initial(baseline_model)
    # (stochastic: the mean of four runs; one run's SCS1 and SCS2 high-SEB shares drift by
    # 0.006-0.008 from run to run, half the bound below)
    runs = ([run_expected(baseline_model)] if mode == "expected"
            else [engine.run_replication(baseline_model, r) for r in range(4)])
    run = runs[0]
    end = np.mean([r.years[-1].stock.sum(axis=1) for r in runs], axis=0)  # after ten years
    # posts grow with the Places for Growth roles re-created to June 2024 (history) and then
    # hold level; the share of posts filled stays where the chains' steady state starts it
    posts_start = baseline_model.baseline_posts_gd.sum(axis=1)
    posts_end = np.mean([r.years[-1].posts.sum(axis=1) for r in runs], axis=0)
    fill_start = start.sum(axis=1) / posts_start
    fill_end = end.sum(axis=1) / posts_end
    change = fill_end - fill_start
    assert np.all(np.abs(change[: SCS2 + 1]) < 0.01), change
    assert np.all(np.abs(change) < 0.05), change  # SCS3 and permanent secretaries: 225 posts
    # the SEB mix follows the People Survey's 2019-2024 trend by grade band (fitted in
    # placesim.fit; tests/test_calibration.py holds every year of the expected mode to 1 point)
    high_start = start[:, 0] / start.sum(axis=1)
    high_end = end[:, 0] / end.sum(axis=1)
    trend = fit.survey_trend(pkg)
    slope = np.array([trend[fit._band(g)][1][0] for g in GRADES])
    drift = (high_end - high_start - slope * len(run.years))[: SCS2 + 1]
    assert np.all(np.abs(drift) < 0.015), drift  # (four runs: sampling noise too)


def _last(metrics, name, group):
    r = metrics[(metrics.metric == name) & (metrics.group == group)]
    return float(r[r.year == r.year.max()]["mean"].iloc[0])


def test_senior_moves_raise_regional_progression_junior_moves_do_not_close_gap(pkg):
    runs = {n: simulate(load_scenario(ROOT / "scenarios" / f"{n}.yaml"), pkg,
                        mode="expected").metrics
            for n in ("baseline", "pfg-2027", "senior-roles-out")}

    def director(n, group):
        return _last(runs[n], "progression_eo_to_director", group)

    def gap(n):  # how many times likelier an EO in London is to reach Director
        return director(n, "london") / director(n, "outside_london")

    scs = {n: _last(m, "scs_outside_london_share", "all") for n, m in runs.items()}
    assert scs["senior-roles-out"] >= 0.5 > scs["baseline"]
    assert director("senior-roles-out", "outside_london") > 1.2 * director("baseline",
                                                                           "outside_london")
    assert gap("senior-roles-out") < gap("pfg-2027")
    # moving mostly junior roles leaves London's progression advantage at least as large
    assert gap("pfg-2027") >= 0.9 * gap("baseline")


@pytest.mark.slow  # two whole-Civil-Service runs; the golden tests pin exact results per commit
def test_cli_run_twice_gives_byte_identical_metrics(tmp_path):
    outs = []
    for k in (1, 2):
        out = tmp_path / f"run{k}"
        done = subprocess.run(
            [sys.executable, "-m", "placesim.cli", "run",
             str(ROOT / "scenarios" / "progression-levers.yaml"), "--replications", "3",
             "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("metrics.csv", "districts.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "manifest.json").exists()
    assert (outs[0] / "assumptions.csv").exists() or any(outs[0].glob("assumptions*"))
