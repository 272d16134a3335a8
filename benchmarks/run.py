"""Benchmarks: speed and memory of the engine against its targets (outside the test run).

Prints a table and writes ``benchmarks/results.json``:

* the full 2023 baseline, ``plan-for-change-2030.yaml``, ``social-mobility-levers.yaml``
  (outreach and secondments on), ``progression-levers.yaml`` (mentoring, London postings,
  relocation support and a talent scheme on: the most programme states) and
  ``ho-regional-centres.yaml`` (the department dimension on: a Home Office view), 10 years
  at quarterly steps:
  seconds per stochastic replication (median of several, after one warm-up run), person-steps
  per second, peak RSS of a run (measured in a fresh process), and the expected-value mode's
  time; for a scenario with a department view, also each run with its digest (the view's
  figures, as :func:`placesim.simulate` works them out per run);
* the one-off cost of the compiled kernels: a fresh process's first replication and expected
  run with numba's cache empty (a fresh clone's first run) and with it filled;
* a scaling sweep: 50k, 100k, 260k, 520k people × 1, 10, 100 replications;
* the per-person SimPy reference model against the engine on the same scenario and size;
* replications per second through the batch runner on 1 and 2 local Dask workers;
* a probe of the machine's speed at the start and at the end (a fixed numpy workload that
  does not depend on placesim's code): the host is shared and its speed varies, by twofold
  within an hour at times, so figures of two runs compare only through their probes.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py [--quick]``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"replication_s": 0.5, "peak_rss_mb": 1024, "expected_s": 0.05, "speedup": 100}


def machine_probe() -> float:
    """Milliseconds (median of nine) of a fixed numpy workload: a sort of two million numbers
    and ten 256 x 256 matrix products on one thread; placesim's code plays no part."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    x, a = rng.random(2_000_000), rng.random((256, 256))
    times = []
    with threadpool_limits(limits=1):
        for _ in range(9):
            t = time.perf_counter()
            np.sort(x)
            for _ in range(10):
                a @ a
            times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 1)


def _scenario(name: str):
    from placesim import load_scenario

    return load_scenario(ROOT / "scenarios" / f"{name}.yaml")


def time_engine(name: str, pkg, reps: int) -> dict:
    """Median seconds per replication and expected-mode time for a scenario."""
    from placesim import engine
    from placesim.expected import run_expected

    s = _scenario(name)
    t = time.perf_counter()
    model = engine.prepare(s, pkg)
    prep = time.perf_counter() - t
    engine.run_replication(model, reps)  # warm-up: loads the compiled kernels
    run_expected(model)
    times = []
    for r in range(reps):
        t = time.perf_counter()
        engine.run_replication(model, r)
        times.append(time.perf_counter() - t)
    ex, bare = [], []
    run_expected(model, follow_cohort=False)
    for _ in range(5):  # with the cohort followed (as the app and the CLI run it), and without
        t = time.perf_counter()
        run_expected(model)
        ex.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_expected(model, follow_cohort=False)
        bare.append(time.perf_counter() - t)
    steps = model.years * model.steps_per_year
    med = statistics.median(times)
    out = {
        "scenario": name, "people": int(model.population.size), "steps": steps,
        "prepare_s": round(prep, 3), "replication_s_median": round(med, 4),
        "replication_s_all": [round(x, 4) for x in times],
        "person_steps_per_s": round(model.population.size * steps / med),
        "expected_s_median": round(statistics.median(ex), 4),
        "expected_without_cohort_s_median": round(statistics.median(bare), 4),
    }
    if s.departments:  # the department dimension: a run and its digest, as simulate does
        from placesim.metrics import digest

        both = {"replication": [], "expected": []}
        for r in range(reps):
            t = time.perf_counter()
            digest(model, engine.run_replication(model, r))
            both["replication"].append(time.perf_counter() - t)
        for _ in range(5):
            t = time.perf_counter()
            digest(model, run_expected(model))
            both["expected"].append(time.perf_counter() - t)
        out["departments"] = list(s.departments)
        out["replication_with_view_s_median"] = round(statistics.median(both["replication"]), 4)
        out["expected_with_view_s_median"] = round(statistics.median(both["expected"]), 4)
    return out


def peak_rss(name: str) -> float:
    """Peak RSS (MB) of a fresh process that prepares and runs one replication, with the
    compiled kernels in numba's cache: a process that compiles them (the first after an
    install or a change of a kernel's source; see :func:`first_calls`) takes about 80 MB
    more, so the process is run twice and the second measured.

    The peak is the process's own (:func:`placesim.peak_memory.peak_rss_kb`): ``ru_maxrss``
    rose with the models this benchmark holds, 456-500 MB for runs that peak at 379."""
    code = (
        "import sys; sys.path.insert(0, {!r})\n"
        "from placesim import engine, load_scenario\n"
        "from placesim.peak_memory import peak_rss_kb\n"
        "m = engine.prepare(load_scenario({!r})); engine.run_replication(m, 0)\n"
        "print(peak_rss_kb() / 1024)\n"
    ).format(str(ROOT), str(ROOT / "scenarios" / f"{name}.yaml"))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def first_calls(name: str, cache_dir: str | None) -> dict:
    """Seconds of a fresh process's first replication and first expected-mode run.

    With ``cache_dir`` an empty folder, numba compiles every kernel (a fresh clone's first
    run); with ``None`` it loads them from the cache that earlier runs filled.
    """
    import os

    code = (
        "import sys, time, json; sys.path.insert(0, {!r})\n"
        "from placesim import engine, load_scenario\n"
        "from placesim.expected import run_expected\n"
        "m = engine.prepare(load_scenario({!r}))\n"
        "t = time.perf_counter(); engine.run_replication(m, 0); a = time.perf_counter() - t\n"
        "t = time.perf_counter(); run_expected(m); b = time.perf_counter() - t\n"
        "print(json.dumps([a, b]))\n"
    ).format(str(ROOT), str(ROOT / "scenarios" / f"{name}.yaml"))
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    a, b = json.loads(out.stdout.strip().splitlines()[-1])
    return {"replication_s": round(a, 3), "expected_s": round(b, 3)}


def scaling(pkg, sizes, reps_list) -> list[dict]:
    """Seconds for R replications of the baseline at several population sizes."""
    from placesim import engine
    from placesim.testing import scaled_package

    s = _scenario("baseline")
    rows = []
    full = int(pkg.baseline_posts["posts"].sum())
    for n in sizes:
        p = scaled_package(pkg, n / full)
        model = engine.prepare(s, p)
        for reps in reps_list:
            t = time.perf_counter()
            for r in range(reps):
                engine.run_replication(model, r)
            el = time.perf_counter() - t
            rows.append({"people": int(model.population.size), "replications": reps,
                         "seconds": round(el, 3), "per_replication_s": round(el / reps, 4)})
            print(f"  scaling: {model.population.size:>7,} people x {reps:>3} reps: "
                  f"{el:7.2f}s ({el / reps:.3f}s/rep)", flush=True)
    return rows


def reference_ratio(pkg, people: int, years: int) -> dict:
    """Engine vs the one-SimPy-process-per-person reference, same scenario and size."""
    from placesim import engine
    from placesim.reference import run_reference
    from placesim.testing import scaled_package

    s = _scenario("pfg-2027")
    full = int(pkg.baseline_posts["posts"].sum())
    p = scaled_package(pkg, people / full)
    s = s.model_copy(update={"horizon": s.horizon.model_copy(update={"years": years})})
    model = engine.prepare(s, p)
    t = time.perf_counter()
    run_reference(model, 0)
    ref = time.perf_counter() - t
    times = []
    for r in range(5):
        t = time.perf_counter()
        engine.run_replication(model, r)
        times.append(time.perf_counter() - t)
    eng = statistics.median(times)
    return {"people": int(model.population.size), "years": years,
            "reference_s": round(ref, 3), "engine_s": round(eng, 4),
            "speedup": round(ref / eng, 1)}


def verdict(report: dict) -> list[str]:
    """One line per target: the measured figure and whether it meets the target."""
    lines = []
    for r in report["scenarios"]:
        for key, target, unit, scale in (("replication_s_median", "replication_s", "s", 1),
                                         ("expected_s_median", "expected_s", "ms", 1000),
                                         ("expected_without_cohort_s_median", "expected_s",
                                          "ms", 1000),
                                         ("replication_with_view_s_median", "replication_s",
                                          "s", 1),
                                         ("expected_with_view_s_median", "expected_s", "ms",
                                          1000),
                                         ("peak_rss_mb", "peak_rss_mb", "MB", 1)):
            if key not in r:
                continue
            v, t = r[key], TARGETS[target]
            digits = 3 if unit == "s" else 1
            lines.append(f"{r['scenario']:<22} {key:<30} {v * scale:8.{digits}f} {unit} "
                         f"(target <= {t * scale:g} {unit}): {'met' if v <= t else 'MISSED'}")
    sp = report["reference"]["speedup"]
    lines.append(f"{'reference':<22} {'speedup':<30} {sp:8.0f} x  (target >= "
                 f"{TARGETS['speedup']} x): {'met' if sp >= TARGETS['speedup'] else 'MISSED'}")
    if "batch" in report:
        b = report["batch"]
        share, target = b["per_replication_share"], b["target_share"]
        lines.append(f"{'batch':<22} {'overhead/replication':<30} {share * 100:8.1f} %  "
                     f"(target <= {target:.0%}): {'met' if share <= target else 'MISSED'}; "
                     f"{b['speedup']:.2f}x on {b['runs'][-1]['workers']} workers")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--reference-people", type=int, default=None,
                    help="population of the reference comparison (default 52,000; the full "
                         "Civil Service takes the reference model several minutes)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    args = ap.parse_args(argv)
    from placesim import load_data_package

    pkg = load_data_package()
    reps = 3 if args.quick else 7
    report: dict = {"targets": TARGETS, "machine_probe_ms": {"start": machine_probe()}}
    print(f"== Machine probe at the start: {report['machine_probe_ms']['start']} ms", flush=True)
    print("== Full Civil Service, 10 years, quarterly steps", flush=True)
    report["scenarios"] = []
    # (progression-levers: the lever scenario with the most programme states, the slowest
    # expected run of the shipped scenarios)
    for name in ("baseline", "plan-for-change-2030", "social-mobility-levers",
                 "progression-levers", "ho-regional-centres"):
        r = time_engine(name, pkg, reps)
        r["peak_rss_mb"] = peak_rss(name)
        report["scenarios"].append(r)
        print(f"  {name:<22} {r['people']:>8,} people  {r['replication_s_median']:.3f} s/rep  "
              f"{r['person_steps_per_s'] / 1e6:6.1f} M person-steps/s  expected "
              f"{r['expected_s_median'] * 1000:.1f} ms "
              f"({r['expected_without_cohort_s_median'] * 1000:.1f} ms without the cohort)  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB",
              flush=True)
    print("== First calls in a fresh process (compiled kernels)", flush=True)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="placesim-numba-") as empty:
        report["first_calls"] = {"cache_empty": first_calls("baseline", empty),
                                 "cache_filled": first_calls("baseline", None)}
    for k, v in report["first_calls"].items():
        print(f"  {k:<13} first replication {v['replication_s']:.2f}s, first expected run "
              f"{v['expected_s']:.2f}s", flush=True)
    print("== Scaling sweep", flush=True)
    report["scaling"] = scaling(pkg, [50_000, 100_000, 260_000, 520_000],
                                [1, 10] if args.quick else [1, 10, 100])
    print("== Per-person SimPy reference vs engine", flush=True)
    ref_people = args.reference_people or (20_000 if args.quick else 52_000)
    report["reference"] = reference_ratio(pkg, ref_people, 10)
    r = report["reference"]
    print(f"  {r['people']:,} people, {r['years']} years: reference {r['reference_s']:.1f}s, "
          f"engine {r['engine_s']:.3f}s, speed-up {r['speedup']:.0f}x", flush=True)
    print("== Batch runner throughput, 1 vs 2 local Dask workers", flush=True)
    from benchmarks.batch_scaling import batch_scaling, format_report

    report["batch"] = batch_scaling(10 if args.quick else 40)
    print(format_report(report["batch"]), flush=True)
    report["machine_probe_ms"]["end"] = machine_probe()
    print(f"== Machine probe at the end: {report['machine_probe_ms']['end']} ms", flush=True)
    report["verdict"] = verdict(report)
    print("== Against the targets", flush=True)
    for line in report["verdict"]:
        print("  " + line, flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
