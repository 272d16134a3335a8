"""Before/after speed of two checkouts of placesim, measured in one process, runs alternating.

:mod:`side_by_side` alternates fresh processes. On this machine two processes running the
same code differ by up to 12% (minima of five rounds), which hides a change of that size.
Here both trees' code is imported into one process (the old tree's package as
``placesim_before``), each prepares its own model from its own data and scenario, and the
runs alternate in pairs (old-new, then new-old) so that a noisy spell falls on both alike.
The report gives each tree's median and quartiles and the median of the pairs' ratios
(new / old) with its quartiles.

Run: ``.venv/bin/python benchmarks/same_process.py OLD_TREE [NEW_TREE] [--scenario baseline]
[--pairs 30] [--replication] [--view]`` (``git worktree add /tmp/before <commit>`` makes an
old tree; its compiled kernels are cached in ``OLD_TREE/.same_process`` after the first run).
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _package(tree: Path, name: str):
    """``tree``'s placesim package imported as ``name`` (its imports are relative)."""
    if name == "placesim":
        sys.path.insert(0, str(tree))
        return importlib.import_module(name)
    home = tree / ".same_process"
    copy = home / name
    if not copy.exists():  # (copied once, times kept: the kernels' cache stays valid)
        shutil.copytree(tree / "placesim", copy, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # the package finds its data and its fitted parameters beside it (without the latter, the
    # old tree ran with the uncalibrated defaults: other figures, and other work)
    for data in ("geodata", "calibration"):
        if not os.path.lexists(home / data):
            os.symlink(tree / data, home / data)
    sys.path.insert(0, str(home))
    return importlib.import_module(name)


def _runner(pkg, tree: Path, scenario: str, replication: bool, view: bool = False):
    engine = importlib.import_module(pkg.__name__ + ".engine")
    expected = importlib.import_module(pkg.__name__ + ".expected")
    digest = importlib.import_module(pkg.__name__ + ".metrics").digest
    model = engine.prepare(pkg.load_scenario(str(tree / "scenarios" / f"{scenario}.yaml")))
    def run():
        result = (engine.run_replication(model, 1) if replication
                  else expected.run_expected(model))
        if view:  # the run and its digest (its headline, district and department tables)
            digest(model, result)

    run()
    return run


def _timed(f, clock=time.perf_counter) -> float:
    t = clock()
    f()
    return clock() - t


def _quartiles(xs: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(xs, n=4)
    return q[0], statistics.median(xs), q[2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path, nargs="?", default=ROOT)
    p.add_argument("--scenario", default="baseline")
    p.add_argument("--pairs", type=int, default=30)
    p.add_argument("--replication", action="store_true",
                   help="time a stochastic replication instead of an expected-mode run")
    p.add_argument("--view", action="store_true",
                   help="time the run and its digest, as simulate does (the benchmark's "
                        "'with view' figure for a scenario with departments)")
    p.add_argument("--cpu", action="store_true",
                   help="time the process's CPU seconds (every thread's) instead of the "
                        "wall clock: the work done, which a busy shared host, whose steal "
                        "time stretches the wall clock by a third at times, leaves alone")
    a = p.parse_args(argv)
    clock = time.process_time if a.cpu else time.perf_counter
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    old = _runner(_package(a.old.resolve(), "placesim_before"), a.old.resolve(), a.scenario,
                  a.replication, a.view)
    new = _runner(_package(a.new.resolve(), "placesim"), a.new.resolve(), a.scenario,
                  a.replication, a.view)
    times: dict[str, list[float]] = {"old": [], "new": []}
    ratios = []
    for i in range(a.pairs):
        pair = {}
        for label, f in ((("old", old), ("new", new)) if i % 2 == 0 else
                         (("new", new), ("old", old))):
            pair[label] = _timed(f, clock)
            times[label].append(pair[label])
        ratios.append(pair["new"] / pair["old"])
    what = ("replication" if a.replication else "expected-mode run") + (
        " and its digest" if a.view else "")
    print(f"{a.scenario}, one {what}, {a.pairs} pairs in one process "
          f"({'CPU ' if a.cpu else ''}seconds: q1 median q3)")
    for label in ("old", "new"):
        q1, med, q3 = _quartiles(times[label])
        print(f"  {label}: {q1:.4f} {med:.4f} {q3:.4f}")
    q1, med, q3 = _quartiles(ratios)
    print(f"  new/old per pair: median {med:.3f} (quartiles {q1:.3f} to {q3:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
