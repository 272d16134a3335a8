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

from placesim import engine, load_data_package, load_scenario
from placesim.expected import run_expected
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
    stock = np.zeros((N_GRADES, 3))
    np.add.at(stock, (p.grade.astype(int), p.seb.astype(int)), 1)
    return stock


@pytest.mark.parametrize("mode", ["expected", "stochastic"])
def test_baseline_grade_stocks_and_seb_mix_drift_little(baseline_model, mode):
    start = _initial(baseline_model)
    run = (run_expected(baseline_model) if mode == "expected"
           else engine.run_replication(baseline_model, 0))
    first = run.years[0].stock.sum(axis=(1, 2))
    end = run.years[-1].stock.sum(axis=1)  # (grade, seb) after ten years
    # posts stay put; about 1-2% are vacant at any time while chains run
    growth = end.sum(axis=1) / start.sum(axis=1) - 1
    assert np.all((growth < 0.005) & (growth > -0.03)), growth
    drift = end.sum(axis=1) / first - 1  # no trend once the vacancy pipeline has settled
    assert np.all(np.abs(drift[: SCS2 + 1]) < 0.01), drift
    high_start = start[:, 0] / start.sum(axis=1)
    high_end = end[:, 0] / end.sum(axis=1)
    drift = np.abs(high_end - high_start)[: SCS2 + 1]  # permanent secretaries are 45 people
    assert np.all(drift < 0.04), drift


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
