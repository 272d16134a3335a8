"""Before/after speed of two checkouts of placesim, measured side by side in one run.

The machine is noisy (shared cores), so wall-clock timings of two separate runs cannot be
compared. This script alternates the two code trees in fresh processes, several rounds, and
reports CPU time (``time.process_time``, less sensitive to other processes than wall time)
and wall time as minima over rounds, for one stochastic replication and one expected-mode run
of the whole Civil Service on each tree's own default data and baseline scenario. A tree that
spreads a replication over threads shows its gain in wall time only (CPU time sums the
threads).

Run: ``.venv/bin/python benchmarks/side_by_side.py OLD_TREE [NEW_TREE] [--rounds 5]``
(``git worktree add /tmp/before <commit>`` makes an old tree).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from placesim import engine, load_data_package, load_scenario
from placesim.expected import run_expected
from placesim.geodata import SHIPPED
root = sys.argv[1]
pkg = load_data_package(SHIPPED)
model = engine.prepare(load_scenario(root + "/scenarios/" + sys.argv[2] + ".yaml"), pkg)
engine.run_replication(model, 0); run_expected(model)  # compiled kernels loaded
out = {}
for name, f in (("replication_cpu_s", lambda: engine.run_replication(model, 1)),
                ("expected_cpu_s", lambda: run_expected(model))):
    cpu = wall = float("inf")
    for _ in range(int(sys.argv[3])):
        t, w = time.process_time(), time.perf_counter(); f()
        cpu = min(cpu, time.process_time() - t); wall = min(wall, time.perf_counter() - w)
    out[name] = cpu
    out[name.replace("cpu", "wall")] = wall
print(json.dumps(out))
"""


def measure(tree: Path, scenario: str, repeats: int) -> dict:
    """CPU and wall seconds (minima of ``repeats``) in a fresh process using ``tree``'s code."""
    env = {"PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree), scenario, str(repeats)],
                         capture_output=True, text=True, env=env, cwd=tree, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path, nargs="?", default=ROOT)
    p.add_argument("--scenario", default="baseline")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    best: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    for _ in range(a.rounds):
        for label, tree in (("old", a.old), ("new", a.new)):
            for k, v in measure(tree.resolve(), a.scenario, a.repeats).items():
                best[label][k] = min(best[label].get(k, v), v)
    print(f"{'':22}{'old':>10}{'new':>10}{'new/old':>10}")
    for k in best["old"]:
        o, n = best["old"][k], best["new"][k]
        print(f"{k:22}{o:10.3f}{n:10.3f}{n / o:10.2f}")
    print(json.dumps(best))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
