"""Many scenarios × sweep variants × replications, on a Dask cluster or in-process, resumable.

Work is cut into **tasks** of a few replications of one scenario variant (so task overhead stays
small against the work). Replication ``r`` always draws from ``SeedSequence(seed,
spawn_key=(r,))`` whichever task or worker runs it, so results are identical serially, on a
laptop's local cluster or on a shared ``dask scheduler``. Each task writes its own Parquet file
(``replications/scenario=…/variant=…/part-r00000-r00004.parquet``) atomically; a rerun of the
same command skips tasks whose file exists, so an interrupted batch (Ctrl-C, a killed worker or
client) resumes where it stopped. A failed task is reported with its scenario and error; the
others complete. Finally the partitions are combined into ``metrics.csv`` with P10/P50/P90.

Sweeps are YAML files naming parameters (dotted paths into the scenario; wave entries by their
name, e.g. ``waves.junior-operational.incumbents.base``) and values, as a cartesian ``grid`` or
a list of named ``variants``.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import Problem, ScenarioError
from .results import atomic_write, write_csv, write_text

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 5


@dataclass(frozen=True)
class Task:
    """A chunk of replications of one scenario variant."""

    scenario: str
    variant: str
    scenario_yaml: str
    data_path: str | None
    seed: int
    first: int
    last: int  # exclusive

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.variant}/r{self.first:05d}-r{self.last:05d}"

    def path(self, out: Path) -> Path:
        return (out / "replications" / f"scenario={self.scenario}" / f"variant={self.variant}"
                / f"part-r{self.first:05d}-r{self.last:05d}.parquet")


def scenario_files(paths: Iterable[str]) -> list[Path]:
    """Expand files and folders (``*.yaml`` inside, sorted) into scenario files."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.yaml")))
        elif p.is_file():
            out.append(p)
        else:
            raise ScenarioError([Problem(str(p), None, "path", "no such file or folder")])
    return out


def _set_path(doc: dict, dotted: str, value, source: str) -> None:
    parts = dotted.split(".")
    node = doc
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            match = [w for w in node if isinstance(w, dict) and w.get("name") == part]
            if not match:
                raise ScenarioError([Problem(source, None, dotted,
                                             f"no entry named {part!r} in {'.'.join(parts[:i])}")])
            node = match[0]
        else:
            node = node.setdefault(part, {})
    if not isinstance(node, dict):
        raise ScenarioError([Problem(source, None, dotted, "cannot set a value here")])
    node[parts[-1]] = value


def sweep_variants(sweep_file: str | None) -> list[tuple[str, dict]]:
    """Named variants of a sweep file: ``[(name, {dotted path: value})]``.

    Without a sweep, the single variant ``base`` changes nothing.
    """
    if sweep_file is None:
        return [("base", {})]
    try:
        doc = yaml.safe_load(Path(sweep_file).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise ScenarioError([Problem(sweep_file, None if line is None else line + 1, "sweep",
                                     f"malformed YAML: {e}")]) from e
    if not isinstance(doc, dict) or not (set(doc) <= {"grid", "variants"}) or not doc:
        raise ScenarioError([Problem(sweep_file, 1, "sweep",
                                     "expected a mapping with 'grid' and/or 'variants'")])
    variants: list[tuple[str, dict]] = []
    grid = doc.get("grid") or {}
    if grid:
        keys = list(grid)
        for k in keys:
            if not isinstance(grid[k], list) or not grid[k]:
                raise ScenarioError([Problem(sweep_file, None, f"grid.{k}",
                                             "must be a non-empty list of values")])
        for combo in itertools.product(*(grid[k] for k in keys)):
            name = "__".join(f"{k.split('.')[-1]}={v}" for k, v in zip(keys, combo, strict=True))
            variants.append((name, dict(zip(keys, combo, strict=True))))
    for i, v in enumerate(doc.get("variants") or []):
        if not isinstance(v, dict) or "name" not in v or not isinstance(v.get("set", {}), dict):
            raise ScenarioError([Problem(sweep_file, None, f"variants[{i}]",
                                         "each variant needs a 'name' and a 'set' mapping")])
        variants.append((str(v["name"]), dict(v.get("set") or {})))
    return variants


def plan_tasks(files: list[Path], *, replications: int | None, seed: int | None,
               sweep: str | None, chunk: int = DEFAULT_CHUNK) -> list[Task]:
    """Resolve scenarios and sweep variants and cut them into tasks.

    Raises
    ------
    ScenarioError
        If a scenario or the sweep is invalid (checked before any work starts).
    """
    from .geodata import load_data_package
    from .scenario import (
        check_against_data,
        dump_scenario,
        load_scenario,
        load_scenario_text,
        resolve_data_path,
    )

    variants = sweep_variants(sweep)
    tasks: list[Task] = []
    for f in files:
        base = load_scenario(f)
        for vname, changes in variants:
            doc = yaml.safe_load(dump_scenario(base))
            for dotted, value in changes.items():
                _set_path(doc, dotted, value, sweep or str(f))
            text = yaml.safe_dump(doc, sort_keys=False)
            s = load_scenario_text(text, filename=f"{f} [{vname}]", root=None)
            data = resolve_data_path(base)
            check_against_data(s, load_data_package(data))
            reps = replications or s.replications
            sd = s.seed if seed is None else seed
            step = max(1, chunk)
            for first in range(0, reps, step):
                tasks.append(Task(s.name, vname, text, None if data is None else str(data), sd,
                                  first, min(first + step, reps)))
    return tasks


_MODEL_CACHE: dict[tuple[str, str | None, int], object] = {}


def run_task(task: Task, out: str) -> str:
    """Run a task's replications and write its Parquet partition atomically.

    Runs in a worker process; models are cached per process by scenario text and seed.
    """
    from .engine import prepare, run_replication
    from .geodata import load_data_package
    from .metrics import DISTRICT_METRICS, district_values, replication_rows
    from .scenario import load_scenario_text

    key = (task.scenario_yaml, task.data_path, task.seed)
    model = _MODEL_CACHE.get(key)
    if model is None:
        s = load_scenario_text(task.scenario_yaml, filename=f"{task.scenario}.yaml", root=None)
        model = prepare(s, load_data_package(task.data_path), seed=task.seed)
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = model
    frames = []
    for r in range(task.first, task.last):
        res = run_replication(model, r, task.seed)
        rows = replication_rows(model, res)
        f = pd.DataFrame(rows, columns=["year", "metric", "group", "value"])
        f.insert(0, "replication", r)
        frames.append(f)
        dv = district_values(model, res)  # (year, district, metric)
        years = [rec.year for rec in res.years]
        n_y, n_d, n_m = dv.shape
        frames.append(pd.DataFrame({
            "replication": r,
            "year": np.repeat(years, n_d * n_m),
            "metric": np.tile(np.array(DISTRICT_METRICS), n_y * n_d),
            "group": np.tile(np.repeat(np.char.add("lad:", model.geo.lad_codes.astype(str)),
                                       n_m), n_y),
            "value": dv.ravel(),
        }))
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "variant", task.variant)
    table.insert(0, "scenario", task.scenario)
    path = task.path(Path(out))
    atomic_write(path, lambda p: table.to_parquet(p, index=False))
    return task.key


def _progress(total: int, done_before: int) -> Callable[[int, float], None]:
    start = time.perf_counter()

    def show(done: int, _t: float) -> None:
        el = time.perf_counter() - start
        new = done - done_before
        eta = el / new * (total - done) if new else float("nan")
        bar = "#" * int(30 * done / max(total, 1))
        sys.stderr.write(f"\r[{bar:<30}] {done}/{total} tasks  {el:6.1f}s elapsed  "
                         f"ETA {eta:6.1f}s")
        sys.stderr.flush()

    return show


@dataclass
class BatchSummary:
    """What a batch did."""

    tasks: int
    skipped: int
    ran: int
    failed: list[tuple[str, str]]
    seconds: float
    out: Path


def run_batch(tasks: list[Task], out: Path, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True) -> BatchSummary:
    """Run the tasks not already done; combine results into ``metrics.csv``.

    Parameters
    ----------
    tasks : list of Task
    out : pathlib.Path
    workers : int, optional
        Local worker processes (default: all cores); 0 runs in this process, serially.
    scheduler : str, optional
        Address of an existing ``dask scheduler`` (``tcp://HOST:PORT``).
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    BatchSummary
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_batch_manifest(out, tasks)
    todo = [t for t in tasks if not t.path(out).is_file()]
    skipped = len(tasks) - len(todo)
    show = _progress(len(tasks), skipped) if progress else (lambda done, t: None)
    failed: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    done = skipped
    show(done, 0)
    if todo and scheduler is None and workers == 0:
        for t in todo:
            try:
                run_task(t, str(out))
            except Exception as e:  # noqa: BLE001 - reported per task, the others go on
                failed.append((t.key, f"{type(e).__name__}: {e}"))
            done += 1
            show(done, time.perf_counter() - t0)
    elif todo:
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None
        if scheduler is None:
            n = workers or os.cpu_count() or 1
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
        else:
            client = Client(scheduler)
        try:
            futures = {client.submit(run_task, t, str(out.resolve()), key=f"placesim-{t.key}",
                                     pure=False, retries=2): t for t in todo}
            for fut in as_completed(futures):
                t = futures[fut]
                try:
                    fut.result()
                except Exception as e:  # noqa: BLE001
                    failed.append((t.key, f"{type(e).__name__}: {e}"))
                done += 1
                show(done, time.perf_counter() - t0)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    if progress:
        sys.stderr.write("\n")
    combine(out)
    return BatchSummary(len(tasks), skipped, len(todo) - len(failed), failed,
                        time.perf_counter() - t0, out)


def _check_batch_manifest(out: Path, tasks: list[Task]) -> None:
    """Refuse to mix different batches in one folder; record this batch's plan."""
    plan = sorted({(t.scenario, t.variant, t.seed, _digest(t.scenario_yaml)) for t in tasks})
    doc = {"tasks": len(tasks), "plan": [list(p) for p in plan]}
    path = out / "batch.json"
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("plan") != doc["plan"]:
            raise ScenarioError([Problem(str(path), None, "batch",
                                         "this folder holds a different batch (other scenarios, "
                                         "sweep or seed); use a new --out folder")])
    write_text(json.dumps(doc, indent=2) + "\n", path)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def combine(out: Path) -> pd.DataFrame:
    """Combine every partition into ``metrics.csv`` and ``districts.csv`` with bands."""
    from .metrics import _bands

    parts = sorted((out / "replications").glob("scenario=*/variant=*/*.parquet"))
    if not parts:
        return pd.DataFrame()
    raw = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    keys = ["scenario", "variant", "year", "metric", "group"]
    raw = raw.sort_values(keys + ["replication"], kind="stable")
    n_rep = raw.groupby(keys, sort=False)["replication"].transform("size")
    frames = []
    for n, chunk in raw.groupby(n_rep, sort=False):
        vals = chunk["value"].to_numpy().reshape(-1, int(n)).T
        mean, p10, p50, p90 = _bands(vals)
        k = chunk[keys].iloc[:: int(n)].reset_index(drop=True)
        k["replications"] = int(n)
        k["mean"], k["p10"], k["p50"], k["p90"] = mean, p10, p50, p90
        frames.append(k)
    table = pd.concat(frames, ignore_index=True).sort_values(keys, kind="stable")
    is_district = table["group"].str.startswith("lad:")
    headline = table[~is_district].reset_index(drop=True)
    districts = table[is_district].copy()
    districts.insert(3, "lad_code", districts.pop("group").str.slice(4))
    write_csv(headline, out / "metrics.csv")
    write_csv(districts.reset_index(drop=True), out / "districts.csv")
    return headline


def format_summary(s: BatchSummary) -> str:
    """The final summary printed by ``placesim batch``."""
    lines = [f"{s.tasks} tasks: {s.skipped} already done, {s.ran} run, {len(s.failed)} failed "
             f"in {s.seconds:.1f}s; results in {s.out / 'metrics.csv'}"]
    for key, err in s.failed:
        lines.append(f"  FAILED {key}: {err}")
    return "\n".join(lines)


def tasks_per_second(summary: BatchSummary) -> float:
    """Tasks run per second (for benchmarks)."""
    return summary.ran / summary.seconds if summary.seconds > 0 else math.nan
