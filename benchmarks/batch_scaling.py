"""Batch throughput: replications per second through ``placesim batch`` on 1 and 2 local Dask
workers, for a shipped scenario on the full shipped data, and what a task costs besides its
replications.

For each worker count the same tasks run on a fresh local cluster (one thread per worker
process) into a fresh folder, and the combined ``metrics.csv`` files are checked to be
byte-identical. Reported per run:

* ``replications_per_s``: end to end, as a user sees it (cluster start-up included);
* ``steady_replications_per_s``: from the first task's start to the last task's end;
* ``replication_s``: a replication's own time (the engine, measured inside the tasks).

And the overheads, against a replication's time (target: what a replication costs in the
batch runner besides the engine at most 10% of the engine's time for it):

* ``dispatch_s``: the gap between consecutive tasks on a worker (scheduler round trip,
  shipping the task, finding the cached model, returning the record);
* ``write_s``: per task, gathering its rows and writing the Parquet partition;
* ``task_startup_s`` = dispatch + write: what every task costs besides its replications, and
  ``task_startup_share`` its share of one replication's time;
* ``rows_s``: per replication, turning its result into metric rows;
* ``per_replication_overhead_s`` = (dispatch + write) / replications per task + rows: what
  each replication costs besides the engine, and ``per_replication_share`` its share of a
  replication's time (the 10% target);
* ``cold_start_s``: importing the engine, loading the data package and preparing the model,
  paid once per worker (and scenario variant) and then cached -- reported separately, with
  ``total_overhead_share``: everything that is not the engine (dispatch, rows, writes and
  cold starts), as a share of the engine's time over the whole run.

Run: ``.venv/bin/python benchmarks/batch_scaling.py [--replications 20] [--scenario pfg-2027]``;
``benchmarks/run.py`` calls :func:`batch_scaling`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_SHARE = 0.10
"""What a replication costs besides the engine, as a share of the engine's time for it."""


def _run_stats(summary, replications: int) -> dict:
    recs = summary.task_records
    per_worker: dict[str, list[dict]] = defaultdict(list)
    for r in recs:
        per_worker[r["worker"]].append(r)
    gaps = []
    for rs in per_worker.values():
        rs.sort(key=lambda r: r["started"])
        gaps += [max(b["started"] - a["finished"], 0.0)
                 for a, b in zip(rs, rs[1:], strict=False)]
    span = max(r["finished"] for r in recs) - min(r["started"] for r in recs)
    engine = sum(r["run_s"] for r in recs)
    rep_s = engine / replications
    cold = [r["prepare_s"] for r in recs if r["prepare_s"] > 0]
    dispatch = statistics.median(gaps) if gaps else 0.0
    write = statistics.mean(r["write_s"] for r in recs)
    rows = sum(r["rows_s"] for r in recs) / replications
    overhead = (sum(gaps) + sum(r["total_s"] - r["run_s"] for r in recs))
    per_rep = (dispatch + write) / (replications / len(recs)) + rows
    return {
        "workers": summary.workers,
        "tasks": len(recs),
        "seconds": round(summary.seconds, 3),
        "replications_per_s": round(replications / summary.seconds, 3),
        "steady_replications_per_s": round(replications / span, 3),
        "replication_s": round(rep_s, 4),
        "dispatch_s": round(dispatch, 4),
        "write_s": round(write, 4),
        "task_startup_s": round(dispatch + write, 4),
        "task_startup_share": round((dispatch + write) / rep_s, 4),
        "rows_s": round(rows, 4),
        "per_replication_overhead_s": round(per_rep, 4),
        "per_replication_share": round(per_rep / rep_s, 4),
        "cold_starts": len(cold),
        "cold_start_s": round(statistics.mean(cold), 4) if cold else 0.0,
        "total_overhead_share": round(overhead / engine, 4),
    }


def batch_scaling(replications: int = 20, *, scenario: str = "pfg-2027",
                  workers: tuple[int, ...] = (1, 2), chunk: int | None = None,
                  seed: int | None = None, progress: bool = False) -> dict:
    """Replications per second through the batch runner on local Dask clusters.

    Parameters
    ----------
    replications : int
        Replications of the scenario in each run.
    scenario : str
        A shipped scenario (``scenarios/<scenario>.yaml``), run on the shipped data.
    workers : tuple of int
        Local worker processes of each run (one thread each).
    chunk : int, optional
        Replications per task (default: the batch runner's).
    seed : int, optional
        Default: the scenario's.
    progress : bool
        Show the batch progress bar.

    Returns
    -------
    dict
        ``scenario, replications, chunk, tasks``, ``runs`` (one entry per worker count, see
        the module docstring), ``speedup`` (steady throughput of the most workers over the
        fewest), ``identical`` (every run's ``metrics.csv`` byte-identical),
        ``per_replication_share`` (worst run) and ``target_share``.
    """
    from placesim.batch import DEFAULT_CHUNK, plan_tasks, run_batch

    chunk = chunk or DEFAULT_CHUNK
    tasks = plan_tasks([ROOT / "scenarios" / f"{scenario}.yaml"], replications=replications,
                       seed=seed, sweep=None, chunk=chunk)
    runs, digests = [], set()
    for w in workers:
        with tempfile.TemporaryDirectory(prefix="placesim-batch-bench-") as d:
            out = Path(d) / "out"
            summary = run_batch(tasks, out, workers=w, progress=progress)
            if summary.failed:
                raise RuntimeError(f"{len(summary.failed)} task(s) failed: {summary.failed[0]}")
            digests.add(hashlib.sha256((out / "metrics.csv").read_bytes()).hexdigest())
        runs.append(_run_stats(summary, replications))
    lo, hi = runs[0], runs[-1]
    return {
        "scenario": scenario, "replications": replications, "chunk": chunk,
        "tasks": len(tasks), "runs": runs,
        "speedup": round(hi["steady_replications_per_s"] / lo["steady_replications_per_s"], 2),
        "identical": len(digests) == 1,
        "per_replication_share": max(r["per_replication_share"] for r in runs),
        "target_share": TARGET_SHARE,
    }


def format_report(r: dict) -> str:
    lines = [f"{r['scenario']} on the full shipped data: {r['replications']} replications in "
             f"{r['tasks']} tasks of {r['chunk']}"]
    for run in r["runs"]:
        lines.append(
            f"  {run['workers']} worker(s): {run['replications_per_s']:.3f} replications/s end "
            f"to end ({run['seconds']:.1f}s with cluster start-up), "
            f"{run['steady_replications_per_s']:.3f}/s steady; a replication "
            f"{run['replication_s']:.3f}s")
        lines.append(
            f"      task start-up: dispatch {run['dispatch_s'] * 1000:.0f} ms + write "
            f"{run['write_s'] * 1000:.0f} ms = {run['task_startup_s'] * 1000:.0f} ms "
            f"({run['task_startup_share']:.1%} of a replication); rows "
            f"{run['rows_s'] * 1000:.0f} ms a replication; per replication besides the engine "
            f"{run['per_replication_overhead_s'] * 1000:.0f} ms "
            f"({run['per_replication_share']:.1%}); cold start {run['cold_start_s']:.2f}s "
            f"x{run['cold_starts']} (once per worker); all overhead "
            f"{run['total_overhead_share']:.1%} of engine time")
    ok = "meets" if r["per_replication_share"] <= r["target_share"] else "MISSES"
    lines.append(f"  speed-up {r['speedup']:.2f}x (steady) from {r['runs'][0]['workers']} to "
                 f"{r['runs'][-1]['workers']} workers; results identical: {r['identical']}; "
                 f"per replication besides the engine {r['per_replication_share']:.1%} {ok} the "
                 f"{r['target_share']:.0%} target")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=20)
    ap.add_argument("--scenario", default="pfg-2027")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chunk", type=int)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)
    r = batch_scaling(args.replications, scenario=args.scenario, workers=tuple(args.workers),
                      chunk=args.chunk, progress=sys.stderr.isatty())
    print(format_report(r))
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n", encoding="utf-8")
    return 0 if r["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
