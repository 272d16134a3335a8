"""Many scenarios × sweep variants × replications, on a Dask cluster or in-process, resumable.

Work is cut into **tasks** of a few replications of one scenario variant (``--chunk``, default
5), so the cost of shipping a task to a worker and of preparing the scenario there stays small
against the work: each worker process keeps the last prepared models and data packages, and
tasks are queued variant by variant so consecutive tasks on a worker reuse them.

Replication ``r`` always draws from ``SeedSequence(seed, spawn_key=(r,))`` whichever task or
worker runs it, so results are identical serially, on a laptop's local cluster or on a shared
``dask scheduler``, and whatever the chunk size.

Each task writes one Parquet file, atomically (temporary file then rename)::

    OUT/replications/scenario=<name>/variant=<variant>/part-r00000-r00005.parquet

with the raw per-replication values (``replication, year, metric, group, value``; district
measures have ``group`` ``lad:<code>``). The folder is a Hive-partitioned dataset:
``pandas.read_parquet(OUT / "replications")`` reads it all with ``scenario`` and ``variant``
columns. A rerun of the same command skips tasks whose file exists, so an interrupted batch
(Ctrl-C, a killed worker or client) resumes where it stopped; ``batch.json`` records the plan
and refuses a different batch in the same folder (a larger ``--replications`` extends it).
A failed task is reported with its scenario, variant and error; the others complete. Finally
the partitions of the planned tasks are combined into ``metrics.csv`` and ``districts.csv``
with mean and P10/P50/P90 over replications, and ``summary.json`` records what this
invocation did.

A **sweep** is a YAML file naming scenario parameters by dotted path (wave entries by their
name, e.g. ``waves.senior-token.incumbents.base``) and the values to try, as a cartesian
``grid`` and/or a list of named ``variants``; it is applied over every scenario given (what
incumbents do is set on waves that relocate posts, as PfG 2027's senior-token does)::

    grid:
      waves.senior-token.incumbents.base: [0.1, 0.2, 0.4]
      waves.senior-token.incumbents.high_seb_multiplier: [0.8, 1.0]
    variants:
      - name: as-planned
        set: {}
      - name: generous-support
        set:
          waves.senior-token.relocation_support_gbp: 15000

Grid variants are named ``base=0.1,high_seb_multiplier=0.8`` (each path shortened to its
shortest unique ending). Every variant is validated, and checked against its data, before any
work starts; problems name the sweep file, line and path.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import hashlib
import itertools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__, parallel
from .errors import DataError, PlacesimError, Problem, ScenarioError
from .provenance import lock_digest
from .results import atomic_write, write_csv, write_text

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 5
"""Replications per task by default."""
MAX_VARIANTS = 10_000
"""Most variants a sweep may name (a grid's size is the product of its value counts)."""
VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=,-]{0,119}$")
UNSWEEPABLE = ("name", "extends")
STALE_TEMP_S = 600.0
"""Temporary partition files older than this (seconds) are left by killed workers: removed."""


@dataclass(frozen=True)
class Task:
    """A chunk of replications ``first`` to ``last - 1`` of one scenario variant."""

    scenario: str
    variant: str
    scenario_yaml: str
    data_path: str | None
    seed: int
    first: int
    last: int  # exclusive
    code: str = ""  # code_digest() of the placesim that planned the task
    parameter_uncertainty: bool = False  # each replication draws its own parameters

    @property
    def key(self) -> str:
        return f"{self.scenario}/{self.variant}/r{self.first:05d}-r{self.last:05d}"

    @property
    def replications(self) -> int:
        return self.last - self.first

    def describe(self) -> str:
        reps = (f"replication {self.first}" if self.replications == 1
                else f"replications {self.first}-{self.last - 1}")
        return f"scenario {self.scenario}, variant {self.variant}, {reps}"

    def path(self, out: Path) -> Path:
        return (Path(out) / "replications" / f"scenario={self.scenario}"
                / f"variant={self.variant}" / f"part-r{self.first:05d}-r{self.last:05d}.parquet")


def _code_digest() -> str:
    h = hashlib.sha256(f"lock {lock_digest()}\0".encode())
    for f in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


CODE_DIGEST = _code_digest()
"""Digest of this placesim's source and of its dependency lock, taken when it is imported: a
worker running other code than the client (an upgrade, a source tree edited after the workers
started, or dependencies installed from another lock) would give other results, so its tasks
fail instead."""


# --- inputs -------------------------------------------------------------------------------

def scenario_files(paths: Iterable[str]) -> list[Path]:
    """Expand files and folders into scenario files.

    A folder contributes its ``*.yaml`` files (sorted, not recursive), leaving out sweep
    (``*.sweep.yaml``) and location plan (``*.plan.yaml``) files. A file named twice counts
    once.

    Raises
    ------
    ScenarioError
        A path that does not exist, or a folder without scenario files.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    probs: list[Problem] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [f for f in sorted(p.glob("*.yaml"))
                     if not f.name.endswith((".sweep.yaml", ".plan.yaml"))]
            if not found:
                probs.append(Problem(str(p), None, "path", "no scenario files (*.yaml) here"))
        elif p.is_file():
            found = [p]
        else:
            probs.append(Problem(str(p), None, "path", "no such file or folder"))
            found = []
        for f in found:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                out.append(f)
    if probs:
        raise ScenarioError(probs)
    return out


@dataclass(frozen=True)
class Variant:
    """One variant of a sweep: its name, the values it sets, and where they are written."""

    name: str
    changes: dict[str, Any]
    line: int | None = None  # where the variant is defined in the sweep file
    lines: dict[str, int | None] = field(default_factory=dict)  # per dotted path


BASE = Variant("base", {})


def _field(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _short_names(keys: list[str]) -> dict[str, str]:
    """Shortest unique ending of each dotted path (``a.b.base`` → ``base``)."""
    parts = {k: k.split(".") for k in keys}
    out = {}
    for k in keys:
        for n in range(1, len(parts[k]) + 1):
            end = ".".join(parts[k][-n:])
            if sum(".".join(parts[o][-n:]) == end for o in keys) == 1 or n == len(parts[k]):
                out[k] = end
                break
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "-".join(_fmt(x) for x in v) or "none"
    if isinstance(v, dict):
        return "-".join(f"{k}-{_fmt(x)}" for k, x in v.items()) or "none"
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(v)).strip("-") or "x"


def _check_path(key: Any, file: str, line: int | None, where: str) -> list[Problem]:
    if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
        return [Problem(file, line, where, f"{key!r} is not a dotted path such as "
                                           "waves.<wave name>.incumbents.base")]
    if key.split(".")[0] in UNSWEEPABLE:
        return [Problem(file, line, f"{where}", f"{key.split('.')[0]!r} cannot be swept")]
    return []


def read_sweep(sweep_file: str | Path) -> list[Variant]:
    """The variants a sweep file names, in order: the grid's, then the listed ones.

    Raises
    ------
    ScenarioError
        Every problem in the file, each with file, line and field.
    """
    from .scenario import MAX_BYTES, _line_map_and_doc

    name = str(sweep_file)
    path = Path(sweep_file)
    if not path.is_file():
        raise ScenarioError([Problem(name, None, "file", "no such sweep file")])
    if path.stat().st_size > MAX_BYTES:
        raise ScenarioError([Problem(name, None, "file", f"larger than {MAX_BYTES // 1024} KB")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError([Problem(name, None, "file", f"not UTF-8 text ({e.reason})")]) from None
    doc, lines = _line_map_and_doc(text, name)

    def at(*loc) -> int | None:
        for i in range(len(loc), 0, -1):
            if loc[:i] in lines:
                return lines[loc[:i]]
        return None

    shape = "a sweep is a mapping with grid: (path: [values]) and/or variants: (- name:, set:)"
    if not isinstance(doc, dict) or not doc:
        raise ScenarioError([Problem(name, 1, "sweep", shape)])
    probs = [Problem(name, at(k), str(k), f"unknown key ({shape})")
             for k in doc if k not in ("grid", "variants")]
    variants: list[Variant] = []
    grid = doc.get("grid")
    if grid is not None and not isinstance(grid, dict):
        probs.append(Problem(name, at("grid"), "grid", "must map dotted paths to lists of values"))
    elif grid:
        for k, values in grid.items():
            probs += _check_path(k, name, at("grid", k), f"grid.{k}")
            if not isinstance(values, list) or not values:
                probs.append(Problem(name, at("grid", k), f"grid.{k}",
                                     "must be a non-empty list of values, e.g. [0.1, 0.2]"))
        size = 1
        for values in grid.values():
            size *= len(values) if isinstance(values, list) else 1
        if size > MAX_VARIANTS:
            probs.append(Problem(name, at("grid"), "grid",
                                 f"{size:,} combinations; at most {MAX_VARIANTS:,}"))
        if not probs:
            keys = list(grid)
            short = _short_names(keys)
            for combo in itertools.product(*(grid[k] for k in keys)):
                vname = ",".join(f"{short[k]}={_fmt(v)}" for k, v in zip(keys, combo,
                                                                          strict=True))
                lines_ = {k: at("grid", k, grid[k].index(v)) for k, v in zip(keys, combo,
                                                                            strict=True)}
                variants.append(Variant(vname, dict(zip(keys, combo, strict=True)),
                                        at("grid"), lines_))
    listed = doc.get("variants")
    if listed is not None and not isinstance(listed, list):
        probs.append(Problem(name, at("variants"), "variants",
                             "must be a list of variants, each with name: and set:"))
        listed = []
    for i, v in enumerate(listed or []):
        where = f"variants[{i}]"
        if not isinstance(v, dict):
            probs.append(Problem(name, at("variants", i), where,
                                 "each variant needs name: and set: (a mapping of paths to "
                                 "values)"))
            continue
        for k in v:
            if k not in ("name", "set"):
                probs.append(Problem(name, at("variants", i, k), f"{where}.{k}",
                                     "unknown key (a variant has name: and set:)"))
        vname = v.get("name")
        if vname is None:
            probs.append(Problem(name, at("variants", i), f"{where}.name",
                                 "missing: each variant needs a name"))
            continue
        if not isinstance(vname, str | int | float) or isinstance(vname, bool) \
                or not VARIANT_NAME.match(str(vname)):
            probs.append(Problem(name, at("variants", i, "name"), f"{where}.name", (
                "needs a name of letters, digits and . _ + = , - (starting with a letter or "
                f"digit, at most 120 characters), not {vname!r}")))
            continue
        changes = v.get("set", {})
        if changes is None:
            changes = {}
        if not isinstance(changes, dict):
            probs.append(Problem(name, at("variants", i, "set"), f"{where}.set",
                                 "must map dotted paths to values"))
            continue
        for k in changes:
            probs += _check_path(k, name, at("variants", i, "set", k), f"{where}.set.{k}")
        variants.append(Variant(str(vname), dict(changes), at("variants", i, "name"),
                                {k: at("variants", i, "set", k) for k in changes}))
    if not variants and not probs:
        probs.append(Problem(name, 1, "sweep", "names no variants"))
    seen: dict[str, int | None] = {}
    for v in variants:
        if v.name in seen:
            probs.append(Problem(name, v.line, "variants", (
                f"two variants are named {v.name!r} (first on line {seen[v.name]})")))
        seen.setdefault(v.name, v.line)
    if len(variants) > MAX_VARIANTS:
        probs.append(Problem(name, 1, "sweep", f"{len(variants):,} variants; at most "
                                               f"{MAX_VARIANTS:,}"))
    if probs:
        raise ScenarioError(probs)
    return variants


def sweep_variants(sweep_file: str | Path | None) -> list[tuple[str, dict]]:
    """Named variants of a sweep file: ``[(name, {dotted path: value})]``.

    Without a sweep, the single variant ``base`` changes nothing.
    """
    if sweep_file is None:
        return [(BASE.name, {})]
    return [(v.name, dict(v.changes)) for v in read_sweep(sweep_file)]


class _PathError(Exception):
    pass


def _apply(doc: dict, dotted: str, value: Any) -> list[tuple]:
    """Set ``value`` at a dotted path of a scenario document; return the paths set, as key
    tuples.

    List entries (waves) are found by their ``name`` or number; ``*`` stands for every entry
    of a list (``waves.*.incumbents.base`` sets it in every wave it applies to: a field only
    a relocating wave reads, :data:`placesim.scenario.RELOCATE_ONLY`, in those waves).
    """
    from .scenario import RELOCATE_ONLY

    parts = dotted.split(".")
    if parts[:2] == ["parameters", "values"] and len(parts) > 3:
        # (a parameter's name may have dots, costs.discount_rate: the rest is one key)
        parts = parts[:2] + [".".join(parts[2:])]

    def walk(node: Any, i: int, loc: tuple) -> list[tuple]:
        part, last = parts[i], i == len(parts) - 1
        if isinstance(node, list):
            names = [w.get("name") if isinstance(w, dict) else None for w in node]
            if part == "*":
                if not node:
                    raise _PathError(f"{_field(loc)} has no entries")
                js = list(range(len(node)))
                if loc == ("waves",) and i + 1 < len(parts) and parts[i + 1] in RELOCATE_ONLY:
                    js = [j for j in js if isinstance(node[j], dict)
                          and node[j].get("mode") == "relocate"]
                    if not js:
                        raise _PathError(f"no wave relocates posts (mode: relocate), and "
                                         f"{parts[i + 1]} applies to those only")
            elif part in names:
                js = [names.index(part)]
            elif part.isdigit() and int(part) < len(node):
                js = [int(part)]
            else:
                known = ", ".join(str(n) for n in names if n is not None) or "none"
                raise _PathError(f"no entry named {part!r} in {_field(loc)} (entries: {known})")
        elif isinstance(node, dict):
            if part == "*":
                raise _PathError(f"'*' stands for every entry of a list, and "
                                 f"{_field(loc) or 'the scenario'} is a mapping")
            if not last and node.get(part) is None:
                node[part] = {}
            js = [part]
        else:
            raise _PathError(f"{_field(loc)} is a single value ({node!r}); nothing can be set "
                             "inside it")
        out: list[tuple] = []
        for j in js:
            if last:
                node[j] = copy.deepcopy(value)
                out.append(loc + (j,))
            else:
                out += walk(node[j], i + 1, loc + (j,))
        return out

    return walk(doc, 0, ())


def _absolute_paths(doc: dict, base: Path) -> None:
    """Anchor relative ``data:`` and ``coldspots.csv`` at ``base`` (the file that gave them)."""
    if isinstance(doc.get("data"), str) and not Path(doc["data"]).is_absolute():
        doc["data"] = str((base / doc["data"]).resolve())
    cs = doc.get("coldspots")
    if isinstance(cs, dict) and isinstance(cs.get("csv"), str) \
            and not Path(cs["csv"]).is_absolute():
        cs["csv"] = str((base / cs["csv"]).resolve())


def _related(a: str, b: str) -> bool:
    """Whether field ``a`` is ``b``, inside it, or contains it."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def _variant_problems(e: ScenarioError, sweep: str, variant: Variant,
                      fields: dict[str, list[str]], scenario_file: Path,
                      base=None) -> list[Problem]:
    """Point a variant's problems at the sweep line that set the offending value (the field
    named as the scenario's own file names it, when ``base``, the loaded scenario, is
    given)."""
    from .scenario import field_in_file

    out = []
    for p in e.problems:
        key = next((k for k, fs in fields.items() if any(_related(p.field, f) for f in fs)),
                   None)
        if key is None and p.file != str(scenario_file):  # another file's own line (a CSV's)
            out.append(Problem(p.file, p.line, p.field,
                               f"{p.message} (variant {variant.name!r} of {scenario_file})"))
            continue
        line = variant.lines.get(key) if key is not None else variant.line
        at = ("" if key is not None and fields[key] == [p.field] else
              f" at {field_in_file(base, p.field) if base is not None else p.field}")
        out.append(Problem(sweep, line, key or p.field,
                           f"{p.message} (variant {variant.name!r} of {scenario_file}{at})"))
    return out


class _LRU(OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.lock = threading.Lock()

    def get_or(self, key, make):
        with self.lock:
            if key in self:
                self.move_to_end(key)
                return self[key], True
        value = make()
        with self.lock:
            self[key] = value
            while len(self) > self.size:
                self.popitem(last=False)
        return value, False


_PACKAGES = _LRU(2)  # data path -> DataPackage, per process
_MODELS = _LRU(2)  # (scenario text, data path, seed) -> Model, per process


def _package(data_path: str | None):
    from .geodata import load_data_package

    return _PACKAGES.get_or(data_path, lambda: load_data_package(data_path))[0]


def plan_tasks(files: list[Path], *, replications: int | None, seed: int | None,
               sweep: str | None, chunk: int = DEFAULT_CHUNK,
               parameter_uncertainty: bool = False, department: str | None = None
               ) -> list[Task]:
    """Resolve scenarios and sweep variants and cut them into tasks.

    Every scenario, and every variant of it, is validated and checked against its data package
    (as ``placesim validate`` does) before any work starts.

    Parameters
    ----------
    files : list of pathlib.Path
        Scenario files (see :func:`scenario_files`).
    replications : int, optional
        Replications of each variant (default: each scenario's ``replications``).
    seed : int, optional
        Seed of every scenario (default: each scenario's ``seed``).
    sweep : str, optional
        A sweep file applied over every scenario.
    chunk : int
        Replications per task.
    parameter_uncertainty : bool
        Each replication draws its own uncertain parameters (see
        :func:`placesim.simulate`).
    department : str, optional
        Restrict every scenario to one department's posts (:func:`restrict_to_department`)
        and report its view.

    Returns
    -------
    list of Task
        Scenario by scenario, variant by variant, in replication order.

    Raises
    ------
    ScenarioError
        If a scenario, the sweep or a variant is invalid, with file, line and field.
    """
    from .scenario import (
        check_against_data,
        department_codes,
        document_text,
        load_scenario,
        resolve_data_path,
        scenario_document,
    )

    if replications is not None and replications < 1:
        raise ScenarioError([Problem("<command line>", None, "--replications",
                                     f"must be at least 1 (got {replications})")])
    if seed is not None and seed < 0:
        raise ScenarioError([Problem("<command line>", None, "--seed",
                                     f"must not be negative (got {seed})")])
    if chunk < 1:
        raise ScenarioError([Problem("<command line>", None, "--chunk",
                                     f"must be at least 1 (got {chunk})")])
    variants = [BASE] if sweep is None else read_sweep(sweep)
    sweep_dir = None if sweep is None else Path(sweep).resolve().parent
    tasks: list[Task] = []
    names: dict[str, Path] = {}
    probs: list[Problem] = []
    for f in files:
        try:  # (every file's problems, as validate gives them: it stopped at the first bad
            base = load_scenario(f)  # file of a folder; review)
        except ScenarioError as e:
            probs.extend(e.problems)
            continue
        if base.name in names:
            file, line = base.line_of("name")
            probs.append(Problem(file or str(f), line, "name", (
                f"scenario name {base.name!r} is also used by {names[base.name]}; each scenario "
                "in a batch needs its own name")))
            continue
        names[base.name] = f
        base_data = resolve_data_path(base)
        try:
            pkg = _package(None if base_data is None else str(base_data))
        except DataError as e:
            file, line = base.line_of("data")
            probs.append(Problem(file or str(f), line, "data", str(e)))
            continue
        try:
            check_against_data(base, pkg)
        except ScenarioError as e:
            probs.extend(e.problems)
            continue
        base_doc = scenario_document(base)
        _absolute_paths(base_doc, base.base_dir or Path("."))
        if department is not None:  # (a code, name or alias: one department's posts)
            (department,) = department_codes([department], pkg, allow_all=False)
            restrict_to_department(base_doc, base, department)
        for v in variants:
            doc = json.loads(json.dumps(base_doc))  # deep copy
            fields: dict[str, list[str]] = {}
            bad = False
            for dotted, value in v.changes.items():
                try:
                    fields[dotted] = [_field(loc) for loc in _apply(doc, dotted, value)]
                except _PathError as e:
                    probs.append(Problem(str(sweep), v.lines.get(dotted), dotted,
                                         f"{e} (variant {v.name!r} of {f})"))
                    bad = True
            if bad:
                continue
            if sweep_dir is not None:
                _absolute_paths(doc, sweep_dir)  # paths the sweep sets are relative to it
            if seed is not None:  # (the seed the runs use, in the scenario saved with them)
                if "seed" in v.changes:
                    probs.append(Problem(str(sweep), v.lines.get("seed"), "seed", (
                        f"variant {v.name!r} sets the seed and --seed sets it for every "
                        "variant: drop one")))
                    continue
                doc["seed"] = seed
            text = document_text(doc)
            try:
                s = _load_variant(text, f, v.name)
                data = resolve_data_path(s)
                data = None if data is None else str(data)
                check_against_data(s, _package(data))
            except ScenarioError as e:
                probs.extend(e.problems if v is BASE else
                             _variant_problems(e, str(sweep), v, fields, f, base))
                continue
            reps = replications or s.replications
            sd = s.seed if seed is None else seed
            for first in range(0, reps, chunk):
                tasks.append(Task(s.name, v.name, text, data, sd, first,
                                  min(first + chunk, reps), CODE_DIGEST,
                                  parameter_uncertainty))
    if probs:
        raise ScenarioError(probs)
    return tasks


def restrict_to_department(doc: dict, scenario, code: str) -> int:
    """Restrict a scenario document to one department's posts, in place.

    The waves the scenario's own file defines select only department ``code``'s posts
    (``posts.department``), but for those that already select departments or say whose
    their roles are (``department_shares``): they are those departments' plans, left as they
    are (a DIT wave once became a Home Office wave), as are
    the waves it inherits through ``extends:`` (the record of Places for Growth in
    history.yaml, say), being other departments' too.
    The department's view is switched on (``departments``), so its figures are reported.

    Parameters
    ----------
    doc : dict
        The resolved scenario as a document (:func:`placesim.scenario.scenario_document`).
    scenario : Scenario
        The scenario the document is of (for where each wave was written).
    code : str
        Department code.

    Returns
    -------
    int
        Waves restricted.
    """
    own = Path(scenario.source_file).resolve() if scenario.source_file else None
    n = 0
    for i, wave in enumerate(doc.get("waves") or []):
        file, _ = scenario.line_of("waves", i)
        if own is not None and file is not None and Path(file).resolve() == own:
            posts = wave.setdefault("posts", {})
            if not posts.get("department") and not wave.get("department_shares"):
                posts["department"] = [code]
                n += 1
    doc["departments"] = list(dict.fromkeys([*(doc.get("departments") or []), code]))
    return n


def _load_variant(text: str, scenario_file: Path | str, variant: str):
    from .scenario import load_scenario_text

    return load_scenario_text(text, filename=f"{scenario_file} [variant {variant}]", root=None)


# --- running -----------------------------------------------------------------------------

_HEAP_TUNED = False


def _restore_heap_reuse() -> None:
    """Undo, in this worker process, what dask's ``MALLOC_TRIM_THRESHOLD_`` costs a replication.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``. With it set, glibc fixes
    its mmap threshold at 128 KiB, so every multi-megabyte temporary array of a replication is
    mapped and unmapped afresh and page-faulted in again: replications take about twice as
    long (measured on the full Civil Service). Let arrays up to 32 MiB come from the heap again
    and give memory back above 64 MiB. Local clusters are started without the variable; this
    covers workers someone else started.
    """
    global _HEAP_TUNED
    if _HEAP_TUNED:
        return
    _HEAP_TUNED = True
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def run_task(task: Task, out: str) -> dict:
    """Run a task's replications and write its Parquet partition atomically.

    Runs in a worker process; data packages and prepared models are cached per process.

    Returns
    -------
    dict
        ``key``, ``replications``, timings in seconds (``prepare_s`` is 0 when the model was
        cached, ``run_s`` the replications alone, ``rows_s`` turning them into rows,
        ``write_s`` writing the partition, ``output_s`` both, ``total_s``), the ``worker``
        (host:pid) that ran it, and when it ``started`` and ``finished`` (seconds since the
        epoch).
    """
    from .engine import prepare, run_replication
    from .metrics import DISTRICT_METRICS, district_values, replication_table

    if task.code and task.code != CODE_DIGEST:
        raise PlacesimError(
            f"this worker ({socket.gethostname()}:{os.getpid()}) runs other placesim code "
            f"(digest {CODE_DIGEST}) than the client that planned the batch ({task.code}); "
            "install the same placesim on the workers and restart them")
    _restore_heap_reuse()
    started = time.time()
    t0 = time.perf_counter()
    model, cached = _MODELS.get_or(
        (task.scenario_yaml, task.data_path, task.seed),
        lambda: prepare(_load_variant(task.scenario_yaml, f"{task.scenario}.yaml", task.variant),
                        _package(task.data_path), seed=task.seed))
    t_prep = time.perf_counter() - t0
    base_model = model
    run_s = 0.0
    labels = None  # (year, metric, group) of a replication's rows: the same for each
    values = []
    for r in range(task.first, task.last):
        t = time.perf_counter()
        if task.parameter_uncertainty:
            from .calibration import drawn_replication

            drawn, params = drawn_replication(base_model.scenario, base_model.params,
                                              task.seed, r)
            model = prepare(drawn, _package(task.data_path), seed=task.seed, params=params)
        res = run_replication(model, r, task.seed)
        run_s += time.perf_counter() - t
        names, years, table = replication_table(model, res)  # (year, metric-group)
        dv = district_values(model, res)  # (year, district, metric)
        if labels is None:
            n_y, n_d, n_m = dv.shape
            metric, group = (np.array(c, dtype=object) for c in zip(*names, strict=True))
            lads = np.array(["lad:" + c for c in model.geo.lad_codes], dtype=object)
            labels = [np.concatenate(pair) for pair in zip(
                (np.repeat(years, len(names)), np.tile(metric, n_y), np.tile(group, n_y)),
                (np.repeat(years, n_d * n_m), np.tile(np.array(DISTRICT_METRICS, dtype=object),
                                                      n_y * n_d),
                 np.tile(np.repeat(lads, n_m), n_y)), strict=True)]
        values.append(np.concatenate([table.ravel(), dv.ravel()]))
    t_write = time.perf_counter()
    n, reps = len(labels[0]), len(values)

    def repeated(column):  # the labels of every replication, dictionary-encoded
        codes, names = pd.factorize(column)
        return pd.Categorical.from_codes(np.tile(codes, reps), categories=names)

    table = pd.DataFrame({
        "replication": np.repeat(np.arange(task.first, task.last, dtype=np.int64), n),
        "year": np.tile(labels[0].astype(np.int64), reps), "metric": repeated(labels[1]),
        "group": repeated(labels[2]), "value": np.concatenate(values)})
    # column statistics would double the write and nothing reads them
    atomic_write(task.path(Path(out)),
                 lambda p: table.to_parquet(p, index=False, write_statistics=False))
    end = time.perf_counter()
    total = end - t0
    return {"key": task.key, "replications": task.replications,
            "prepare_s": 0.0 if cached else t_prep, "run_s": run_s,
            "rows_s": t_write - t0 - t_prep - run_s, "write_s": end - t_write,
            "output_s": total - t_prep - run_s, "total_s": total,
            "worker": f"{socket.gethostname()}:{os.getpid()}", "started": started,
            "finished": started + total}


class _Progress:
    """Tasks done, replications done, elapsed time and ETA on standard error."""

    def __init__(self, tasks: list[Task], done: list[Task], enabled: bool):
        self.total = len(tasks)
        self.total_reps = sum(t.replications for t in tasks)
        self.done = len(done)
        self.reps = sum(t.replications for t in done)
        self.reps0 = self.reps
        self.enabled = enabled
        self.start = time.perf_counter()
        self.show()

    def update(self, task: Task) -> None:
        self.done += 1
        self.reps += task.replications
        self.show()

    @staticmethod
    def _clock(s: float) -> str:
        s = int(round(s))
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else \
            f"{s // 60}:{s % 60:02d}"

    def show(self) -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.start
        new = self.reps - self.reps0
        eta = self._clock(el / new * (self.total_reps - self.reps)) if new else "--:--"
        bar = "#" * int(30 * self.done / max(self.total, 1))
        sys.stderr.write(f"\r[{bar:<30}] {self.done}/{self.total} tasks "
                         f"({self.reps}/{self.total_reps} replications)  "
                         f"{self._clock(el)} elapsed  ETA {eta} ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


@dataclass
class BatchSummary:
    """What one invocation of a batch did."""

    tasks: int
    skipped: int
    ran: int
    failed: list[tuple[str, str]]  # (task description, error)
    seconds: float
    out: Path
    replications: int = 0  # replications run by this invocation
    mode: str = "serial"
    workers: int = 1
    task_records: list[dict] = field(default_factory=list)
    superseded: int = 0  # partitions of other replication ranges removed (see run_batch)

    @property
    def replications_per_second(self) -> float:
        return self.replications / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "tasks": self.tasks, "skipped": self.skipped, "ran": self.ran,
            "failed": [{"task": k, "error": e} for k, e in self.failed],
            "replications_run": self.replications, "seconds": round(self.seconds, 3),
            "mode": self.mode, "workers": self.workers, "superseded": self.superseded,
            "task_seconds": {k: round(float(np.mean([r[k] for r in self.task_records])), 4)
                             for k in ("prepare_s", "run_s", "output_s", "total_s")}
            if self.task_records else {},
        }


def _local_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_batch(tasks: list[Task], out: Path, *, workers: int | None = None,
              scheduler: str | None = None, progress: bool = True) -> BatchSummary:
    """Run the tasks not already done; combine results into ``metrics.csv``.

    Parameters
    ----------
    tasks : list of Task
        From :func:`plan_tasks`.
    out : pathlib.Path
        Output folder (on a filesystem the workers share, at the same path, when
        ``scheduler`` is given).
    workers : int, optional
        Local worker processes (default: all cores); 0 runs in this process, serially.
    scheduler : str, optional
        Address of an existing ``dask scheduler`` (``tcp://HOST:PORT``).
    progress : bool
        Show a progress bar on standard error.

    Returns
    -------
    BatchSummary

    Raises
    ------
    ScenarioError
        If ``out`` holds a different batch.
    PlacesimError
        If the scheduler cannot be reached.
    KeyboardInterrupt
        On Ctrl-C, after stopping the work; finished tasks are kept for a rerun.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _check_batch_manifest(out, tasks)
    _write_variants(out, tasks)
    _remove_stale_temp(out)
    superseded = _remove_superseded(out, tasks)
    todo = [t for t in tasks if not t.path(out).is_file()]
    done = [t for t in tasks if t.path(out).is_file()]
    bar = _Progress(tasks, done, progress)
    failed: list[tuple[str, str]] = []
    records: list[dict] = []
    t0 = time.perf_counter()
    mode = "serial" if scheduler is None and workers == 0 else (
        "scheduler" if scheduler is not None else "local")
    n_workers = 0
    try:
        if todo and mode == "serial":
            n_workers = 1
            for t in todo:
                try:
                    records.append(run_task(t, str(out)))
                except Exception as e:  # noqa: BLE001 - reported per task, the others go on
                    failed.append((t.describe(), _error(e)))
                bar.update(t)
        elif todo:
            n_workers = _run_dask(todo, out, workers, scheduler, bar, failed, records)
    except KeyboardInterrupt:
        bar.close()
        finished = sum(t.path(out).is_file() for t in tasks)
        sys.stderr.write(f"interrupted: {finished} of {len(tasks)} tasks finished; rerun the "
                         "same command to resume\n")
        raise
    bar.close()
    seconds = time.perf_counter() - t0
    order = {t.describe(): i for i, t in enumerate(tasks)}
    failed.sort(key=lambda f: order.get(f[0], len(order)))
    combine(out, tasks)
    ok = {r["key"] for r in records}
    summary = BatchSummary(len(tasks), len(done), len(records), failed, seconds, out,
                           sum(t.replications for t in todo if t.key in ok), mode, n_workers,
                           records, superseded)
    write_text(json.dumps(summary.to_dict(), indent=2) + "\n", out / "summary.json")
    return summary


def _error(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _run_dask(todo: list[Task], out: Path, workers: int | None, scheduler: str | None,
              bar: _Progress, failed: list, records: list) -> int:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = client = None
    try:
        if scheduler is None:
            import dask

            n = workers or _local_workers()
            # without dask's MALLOC_TRIM_THRESHOLD_ (see _restore_heap_reuse); one thread per
            # replication when the workers already use the cores between them
            environ = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
            if n > 1:
                environ[f"distributed.nanny.pre-spawn-environ.{parallel.ENV}"] = "1"
            with dask.config.set(environ):
                cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
            # Ctrl-C in a terminal reaches the whole process group: leave it to this process,
            # which stops the workers in order, instead of a traceback from every worker
            client.run(_ignore_sigint)
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as e:
                raise PlacesimError(f"{scheduler}: cannot reach the dask scheduler ({e}); "
                                    "start one with `dask scheduler` or check the address"
                                    ) from None
            n = len(client.nthreads())
            if n == 0:
                sys.stderr.write(f"waiting for workers to join {scheduler} ...\n")
        out_s = str(out.resolve())
        futures = {}
        for t in todo:
            salt = _digest(f"{out_s}\n{t.code}\n{t.data_path}\n{t.seed}\n{t.scenario_yaml}")
            fut = client.submit(run_task, t, out_s, key=f"placesim-{t.key}-{salt}", pure=False)
            futures[fut] = t
        for fut in _completed(as_completed(futures)):
            t = futures.pop(fut)
            try:
                rec = fut.result()
            except Exception as e:  # noqa: BLE001 - reported per task, the others go on
                failed.append((t.describe(), _error(e)))
            else:
                if t.path(out).is_file():
                    records.append(rec)
                else:
                    failed.append((t.describe(), (
                        f"the worker {rec['worker']} wrote {t.path(Path(out_s))} but it is not "
                        "visible here: --out must be on a filesystem the workers share")))
            fut.release()
            bar.update(t)
        if scheduler is not None:
            n = max(n, len(client.nthreads()))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    return n


def _completed(ac):
    """The futures of ``ac`` (a dask ``as_completed``) as they finish; Ctrl-C stops it.

    Python raises Ctrl-C's KeyboardInterrupt wherever the main thread is, and one raised
    inside a finaliser (a dask future's ``__del__``) is printed and dropped: the batch then
    waited on for ever. Here Ctrl-C is also recorded, and the wait checks it every 0.1 s.
    Only Python's own Ctrl-C handler is replaced (a process started with Ctrl-C ignored, or
    with a handler of its caller's, keeps it), and only in the main thread.
    """
    import signal

    interrupted = []

    def on_interrupt(signum, frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    ours = (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if ours:
        signal.signal(signal.SIGINT, on_interrupt)
    try:
        while not ac.is_empty():
            batch = ac.next_batch(block=False) if ac.has_ready() else []
            if interrupted:
                raise KeyboardInterrupt
            if not batch:
                time.sleep(0.1)
            yield from batch
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _ignore_sigint() -> None:
    import signal

    with contextlib.suppress(ValueError):  # only possible in a process's main thread
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _remove_superseded(out: Path, tasks: list[Task]) -> int:
    """Remove partitions whose replications overlap a planned task's but are not its file.

    They come from an earlier run with another ``--chunk``, or from a last, partial chunk that
    a larger ``--replications`` extends (``r00004-r00006`` before ``r00004-r00008``); the
    planned task recomputes them, and ``replications/`` never holds a replication twice.
    """
    planned: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for t in tasks:
        planned.setdefault((t.scenario, t.variant), []).append((t.first, t.last))
    removed = 0
    for (scenario, variant), ranges in planned.items():
        folder = out / "replications" / f"scenario={scenario}" / f"variant={variant}"
        mine = {f"part-r{a:05d}-r{b:05d}.parquet" for a, b in ranges}
        for p in folder.glob("part-r*-r*.parquet"):
            m = _PART.match(p.name)
            if m is None or p.name in mine:
                continue
            a, b = int(m[1]), int(m[2])
            if any(a < hi and lo < b for lo, hi in ranges):
                p.unlink(missing_ok=True)
                removed += 1
    return removed


def _remove_stale_temp(out: Path) -> None:
    now = time.time()
    for p in (out / "replications").glob("scenario=*/variant=*/.part-*.tmp.parquet"):
        try:
            if now - p.stat().st_mtime > STALE_TEMP_S:
                p.unlink()
        except OSError:
            pass


def _check_batch_manifest(out: Path, tasks: list[Task]) -> None:
    """Refuse to mix different batches in one folder; record this batch's plan.

    The plan is what determines each replication's result: scenario, variant, seed, the
    resolved scenario, the data package and the code version. Replication counts and chunk
    sizes may change between runs (more replications extend a batch).
    """
    plan = sorted({(t.scenario, t.variant, t.seed, _digest(t.scenario_yaml), t.data_path or "")
                   + (("parameter-uncertainty",) if t.parameter_uncertainty else ())
                   for t in tasks})
    code = sorted({t.code for t in tasks})
    doc = {"code_version": __version__, "code_digest": ",".join(code),
           "plan": [list(p) for p in plan]}
    path = out / "batch.json"
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("plan") != doc["plan"]:
            raise ScenarioError([Problem(str(path), None, "batch", (
                "this folder holds a different batch (other scenarios, sweep, seed or data); "
                "use a new --out folder"))])
        if (old.get("code_version"), old.get("code_digest")) != (__version__,
                                                                  doc["code_digest"]):
            raise ScenarioError([Problem(str(path), None, "batch", (
                f"this folder holds results of other placesim code (version "
                f"{old.get('code_version')}, digest {old.get('code_digest')}; this is "
                f"{__version__}, {doc['code_digest']}), which may differ; use a new --out "
                "folder"))])
    from .simulation import START_WORDS, held_words

    doc["tasks"] = len(tasks)
    doc["replications"] = sum(t.replications for t in tasks)
    doc["bands"] = ("P10-P90 over replications that each draw their own parameters with a "
                    "stated range: chance and those parameters" + held_words()
                    if any(t.parameter_uncertainty for t in tasks) else
                    "P10-P90 over replications: chance only (parameter uncertainty not "
                    "included)") + START_WORDS  # (the words of placesim.simulation's bands)
    write_text(json.dumps(doc, indent=2) + "\n", path)


def _write_variants(out: Path, tasks: list[Task]) -> None:
    """Save each variant's resolved scenario (``scenarios/<scenario>/<variant>.yaml``)."""
    seen = set()
    for t in tasks:
        if (t.scenario, t.variant) in seen:
            continue
        seen.add((t.scenario, t.variant))
        path = out / "scenarios" / t.scenario / f"{t.variant}.yaml"
        if not path.is_file() or path.read_text(encoding="utf-8") != t.scenario_yaml:
            write_text(t.scenario_yaml, path)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# --- combining ---------------------------------------------------------------------------

_PART = re.compile(r"^part-r(\d{5,})-r(\d{5,})\.parquet$")


def _discover(out: Path) -> dict[tuple[str, str], list[Path]]:
    groups: dict[tuple[str, str], list[Path]] = {}
    for p in sorted((out / "replications").glob("scenario=*/variant=*/part-r*-r*.parquet")):
        if _PART.match(p.name):
            key = (p.parent.parent.name.split("=", 1)[1], p.parent.name.split("=", 1)[1])
            groups.setdefault(key, []).append(p)
    return groups


def combine(out: Path, tasks: list[Task] | None = None) -> pd.DataFrame:
    """Combine partitions into ``metrics.csv`` and ``districts.csv`` with bands.

    Parameters
    ----------
    out : pathlib.Path
        The batch folder.
    tasks : list of Task, optional
        Combine only these tasks' partitions (those that exist); default every partition
        in the folder.

    Returns
    -------
    pandas.DataFrame
        The headline table written to ``metrics.csv``: ``scenario, variant, year, metric,
        group, replications, mean, p10, p50, p90``.
    """
    from .metrics import _bands, later_than_the_run

    out = Path(out)
    if tasks is None:
        groups = _discover(out)
    else:
        groups = {}
        for t in tasks:
            groups.setdefault((t.scenario, t.variant), [])
            if t.path(out).is_file():
                groups[(t.scenario, t.variant)].append(t.path(out))
    keys = ["year", "metric", "group"]
    heads, dists = [], []
    for (scenario, variant) in sorted(groups):
        paths = groups[(scenario, variant)]
        if not paths:
            continue
        raw = pd.concat([pd.read_parquet(p, columns=["replication", *keys, "value"])
                         for p in paths], ignore_index=True)
        for key in ("metric", "group"):  # dictionary-encoded in the partitions
            raw[key] = raw[key].astype(str)
        reps = raw["replication"].unique()
        if len(reps) * raw.groupby(keys, sort=False).ngroups != len(raw):
            raise PlacesimError(f"{paths[0].parent}: partitions overlap or differ in shape; "
                                "delete the folder's partitions and rerun")
        raw = raw.sort_values(keys + ["replication"], kind="stable")
        n = len(reps)
        vals = raw["value"].to_numpy().reshape(-1, n).T
        table = raw[keys].iloc[::n].reset_index(drop=True)
        mean, p10, p50, p90 = _bands(vals, later=later_than_the_run(table["metric"]))
        table.insert(0, "variant", variant)
        table.insert(0, "scenario", scenario)
        table["replications"] = n
        table["mean"], table["p10"], table["p50"], table["p90"] = mean, p10, p50, p90
        is_district = table["group"].str.startswith("lad:")
        heads.append(table[~is_district])
        d = table[is_district].copy()
        d.insert(3, "lad_code", d.pop("group").str.slice(4))
        dists.append(d)
    headline_cols = ["scenario", "variant", *keys, "replications", "mean", "p10", "p50", "p90"]
    district_cols = ["scenario", "variant", "year", "lad_code", "metric", "replications",
                     "mean", "p10", "p50", "p90"]
    headline = (pd.concat(heads, ignore_index=True) if heads
                else pd.DataFrame(columns=headline_cols))
    districts = (pd.concat(dists, ignore_index=True) if dists
                 else pd.DataFrame(columns=district_cols))
    write_csv(headline, out / "metrics.csv")
    write_csv(districts, out / "districts.csv")
    return headline


def format_summary(s: BatchSummary) -> str:
    """The final summary printed by ``placesim batch``."""
    where = {"serial": "in this process", "local": f"on {s.workers} local worker(s)",
             "scheduler": f"on {s.workers} cluster worker(s)"}[s.mode]
    rate = (f", {s.replications_per_second:.2f} replications/s {where}" if s.ran else "")
    lines = [f"{s.tasks} tasks: {s.skipped} already done, {s.ran} run, {len(s.failed)} failed "
             f"in {s.seconds:.1f}s{rate}; results in {s.out / 'metrics.csv'}"]
    if s.superseded:
        lines.append(f"  {s.superseded} partition(s) of other replication ranges (another "
                     "--chunk, or a last partial chunk) were replaced")
    for task, err in s.failed:
        lines.append(f"  FAILED {task}: " + err.replace("\n", "\n    "))
    if s.failed:
        lines.append("  rerun the same command to retry the failed tasks")
    return "\n".join(lines)
