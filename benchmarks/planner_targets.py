"""Benchmark: `placesim plan --target` at full size (issue 18: under 60 s on 2 cores).

Finds the cheapest plan for 50% of SCS posts outside London by 2030 on the shipped data over
the baseline, then confirms it with 20 stochastic replications (timed separately).

    .venv/bin/python benchmarks/planner_targets.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from placesim import load_data_package, load_scenario
from placesim.planner import _plan_scenario, confirm, parse_target, seek
from placesim.scenario import resolve_data_path

ROOT = Path(__file__).resolve().parent.parent


def main() -> dict:
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    pkg = load_data_package(resolve_data_path(base))
    t = parse_target("scs_outside_london_share>=0.50@2030")
    t0 = time.perf_counter()
    res = seek(base, [t], pkg, budget=300e6)
    seek_s = time.perf_counter() - t0
    out = {"seek_s": round(seek_s, 1), "feasible": res.feasible, "evaluations": res.evaluations,
           "explanation": res.explanation, "achieved": res.achieved,
           "cost_gbp": round(res.cost_gbp), "within_budget": res.cost_gbp <= 300e6}
    if res.feasible:
        counts = {tuple(k.split("|")): n for k, n in res.counts.items()}
        plan = _plan_scenario(base, counts, base.horizon.start_year + 1, 1.0, "plan")
        t1 = time.perf_counter()
        out["probability_met_20_replications"] = confirm(plan, [t], pkg, 20)
        out["confirm_s"] = round(time.perf_counter() - t1, 1)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
