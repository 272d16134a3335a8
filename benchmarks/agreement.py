"""Do the modes agree at full scale, and do common random numbers pair?

Prints (and writes ``benchmarks/agreement.json``):

* for every shipped scenario and every lever on its own, on the whole Civil Service, the
  expected mode against the mean of 40 stochastic replications for every headline figure,
  progression by place, SEB and both, moves to and from London for promotion, and the
  outreach and secondments levers' own figures, in every year: how many figures were
  judged, how many agree within three standard errors or 1%, how many would not by chance
  alone with no bias at all (over thousands of figures, some do), and the worst ones
  (``placesim.agreement.compare_modes``);
* common random numbers: the Civil Service against itself plus one small wave (100 AO posts
  to Leeds in 2024), 20 replications each, the standard deviation of the paired difference of
  Scotland's headcount and of EO to G7 outside London against the unpaired one; and the same
  wave re-created (the Places for Growth way) on the shipped baseline.

Run: ``.venv/bin/python benchmarks/agreement.py [--reps 40] [--quick]`` (``--quick``: a
quarter of the Civil Service, the shipped scenarios only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import t as t_dist

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from placesim.agreement import lever_cases  # noqa: E402

SHIPPED = tuple(sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))  # (every one)
LEVERS = lever_cases(2024)


def agreement(pkg, reps: int, names, scale: float = 1.0) -> list[dict]:
    from placesim import engine, load_scenario, load_scenario_text
    from placesim.agreement import checked_figures, compare_modes, scale_scenario
    from placesim.levers import lever_figures

    out = []
    for name in names:
        if name in LEVERS:
            s = load_scenario_text(f"name: {name}\nlevers:\n  {LEVERS[name]}\n",
                                   filename=f"{name}.yaml")
        else:
            s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        if scale != 1.0:
            s = scale_scenario(s, scale)
        t = time.perf_counter()
        model = engine.prepare(s, pkg)
        df = compare_modes(model, replications=reps,
                           figures=checked_figures() + lever_figures(model))
        judged = df[df.testable]
        bad = judged[~judged.ok]
        worst = judged.assign(az=judged.z.abs()).sort_values("az", ascending=False).head(3)
        # misses that chance alone gives a model with no bias: each figure's chance of a
        # mean outside its tolerance (3 standard errors or 1%, measured in standard errors;
        # t with reps - 1 degrees of freedom, as the standard error is estimated)
        allowed = np.maximum(3.0, 0.01 * judged.expected.abs() / judged.se.where(judged.se > 0))
        chance = float(np.nansum(2 * t_dist.sf(allowed, reps - 1)))
        row = {"scenario": name, "figures": int(len(df)), "judged": int(len(judged)),
               "agree": int(judged.ok.sum()), "disagree": int(len(bad)),
               "disagree_by_chance": round(chance, 1),
               "seconds": round(time.perf_counter() - t, 1),
               "worst": worst[["year", "metric", "group", "expected", "mean", "z"]]
               .round(6).to_dict("records"),
               "disagreeing": bad[["year", "metric", "group", "expected", "mean", "se", "z"]]
               .round(6).to_dict("records")}
        out.append(row)
        print(f"  {name:<22} {row['judged']:>4} judged of {row['figures']:>4}: "
              f"{row['agree']:>4} agree, {row['disagree']:>3} do not (chance alone: "
              f"{chance:.1f})  ({row['seconds']} s)",
              flush=True)
        for b in row["disagreeing"]:
            print(f"      {b['year']} {b['metric']} {b['group']}: expected {b['expected']:.4g}, "
                  f"mean {b['mean']:.4g} (z {b['z']:+.1f})")
    return out


def common_random_numbers(pkg, reps: int) -> dict:
    """Paired against unpaired differences for the small wave, moved on the bare
    Civil Service (the issue's case), and re-created (the Places for Growth way) on the
    shipped baseline, whose history re-creates posts from spare slots too."""
    from placesim import engine, load_scenario_text
    from placesim.testing import SMALL_WAVE as WAVE

    shipped = f"extends: {ROOT / 'scenarios' / 'baseline.yaml'}\n"
    moved = WAVE.replace("count: 100", "count: 100\n    mode: relocate")
    recreated = WAVE.replace("count: 100", "count: 100\n    mode: recreate")
    cases = {"moved": ("", moved), "recreated_on_baseline": (shipped, recreated)}
    out = {}
    for case, (head, wave) in cases.items():
        base = engine.prepare(load_scenario_text("name: base\n" + head, filename=str(
            ROOT / "scenarios" / "base.yaml")), pkg)
        moved = engine.prepare(load_scenario_text("name: moved\n" + head + wave, filename=str(
            ROOT / "scenarios" / "moved.yaml")), pkg)
        print(f"  {case}:")
        out[case] = _paired_and_unpaired(base, moved, reps)
    return out


def _paired_and_unpaired(base, moved, reps) -> dict:
    from placesim import engine
    from placesim.metrics import replication_table

    scotland = np.array([c.startswith("S") for c in base.geo.lad_codes])

    def figures(model, res):
        labels, _, values = replication_table(model, res)
        eo = values[:, labels.index(("progression_eo_to_g7", "outside_london"))]
        head = np.array([y.stock[:, scotland].sum() for y in res.years], float)
        return np.stack([head, eo], axis=1)

    a = np.array([figures(base, engine.run_replication(base, r)) for r in range(reps)])
    b = np.array([figures(moved, engine.run_replication(moved, r)) for r in range(reps)])
    c = np.array([figures(moved, engine.run_replication(moved, r, seed=99))
                  for r in range(reps)])
    paired = (b - a).std(axis=0, ddof=1)  # (year, figure)
    unpaired = (c - a).std(axis=0, ddof=1)
    out = {}
    for j, name in enumerate(("scotland_headcount", "eo_to_g7_outside_london")):
        ratio = paired[:, j] / unpaired[:, j]
        out[name] = {"paired_sd": paired[:, j].round(6).tolist(),
                     "unpaired_sd": unpaired[:, j].round(6).tolist(),
                     "ratio": ratio.round(4).tolist(), "worst_ratio": float(ratio.max())}
        print(f"    {name:<26} paired SD {paired[-1, j]:.4g} vs unpaired {unpaired[-1, j]:.4g} "
              f"in the last year; worst year's ratio {ratio.max():.3f} (target <= 0.3)")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args(argv)
    import threadpoolctl

    from placesim import load_data_package
    from placesim.testing import scaled_package

    pkg = load_data_package()
    names = list(SHIPPED) + ([] if a.quick else list(LEVERS))
    if a.quick:
        pkg = scaled_package(pkg, 0.25)
    with threadpoolctl.threadpool_limits(1, "blas"):
        print(f"Expected mode against the mean of {a.reps} replications"
              f"{' (a quarter of the Civil Service)' if a.quick else ''}:")
        agree = agreement(pkg, a.reps, names, 0.25 if a.quick else 1.0)
        print("Common random numbers (one small wave against none, 20 replications):")
        crn = common_random_numbers(pkg, 20)
    result = {"replications": a.reps, "quick": a.quick, "agreement": agree, "crn": crn}
    (ROOT / "benchmarks" / "agreement.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
