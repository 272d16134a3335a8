"""Golden-scenario regression: small CSVs of expected figures that a change must not move.

Each case runs a scenario with a fixed seed and compares the headline metrics of selected
years with ``tests/data/golden/<case>.csv``. A deliberate change to the model updates them:

    PLACESIM_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and the diff of the CSVs goes into the commit, so reviewers see what the change did.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from placesim import load_data_package, load_scenario
from placesim.simulation import simulate

from .helpers import synthetic_package, synthetic_scenario

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
UPDATE = os.environ.get("PLACESIM_UPDATE_GOLDEN") == "1"

HEADLINE = [
    "roles_moved_out_of_london", "scs_outside_london_share", "perm_secs_outside_london",
    "high_seb_share_london_scs", "london_share_of_high_seb_g7_plus",
    "progression_eo_to_g7", "progression_eo_to_director", "relocation_cost_gbp",
]


def _cases():
    return {
        # (scenario loader, package loader, mode, replications)
        "baseline-expected": (lambda: load_scenario(ROOT / "scenarios" / "baseline.yaml"),
                              lambda: load_data_package(ROOT / "geodata" / "2023"), "expected", 1),
        "senior-roles-out-expected": (
            lambda: load_scenario(ROOT / "scenarios" / "senior-roles-out.yaml"),
            lambda: load_data_package(ROOT / "geodata" / "2023"), "expected", 1),
        "synthetic-stochastic": (lambda: synthetic_scenario(waves=True), synthetic_package,
                                 "stochastic", 4),
    }


def _snapshot(metrics: pd.DataFrame) -> pd.DataFrame:
    years = sorted(metrics["year"].unique())
    keep = metrics[metrics["metric"].isin(HEADLINE) & metrics["year"].isin(
        [years[0], years[len(years) // 2], years[-1]])]
    keep = keep[keep["group"].isin(["all", "london", "outside_london", "coldspots"])]
    return (keep[["year", "metric", "group", "mean", "p10", "p90"]]
            .sort_values(["metric", "group", "year"]).reset_index(drop=True))


@pytest.mark.parametrize("case", sorted(_cases()))
def test_golden_scenario(case):
    load_s, load_pkg, mode, reps = _cases()[case]
    got = _snapshot(simulate(load_s(), load_pkg(), replications=reps, mode=mode).metrics)
    path = GOLDEN / f"{case}.csv"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        got.to_csv(path, index=False, float_format="%.10g")
    want = pd.read_csv(path)
    assert len(got) > 10, "the snapshot should cover the headline metrics"
    assert list(got[["year", "metric", "group"]].itertuples(index=False)) == list(
        want[["year", "metric", "group"]].itertuples(index=False)), "rows changed"
    for col in ("mean", "p10", "p90"):
        a, b = got[col].to_numpy(float), want[col].to_numpy(float)
        bad = ~np.isclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True)
        assert not bad.any(), (
            f"{case}: {col} moved for\n{got.loc[bad, ['year', 'metric', 'group']]}\n"
            f"got {a[bad]}\nwant {b[bad]}")
