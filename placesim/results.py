"""Writing and reading a results folder: all of it or none of it.

A run's outputs (``metrics.csv``/``.parquet``, ``districts.csv``/``.parquet``, ``moves.csv``,
``assumptions.csv``, ``replications.parquet``, ``scenario.yaml``, ``manifest.json``) are
written into a temporary sibling folder (``.OUT.tmp-*``), which is renamed to ``OUT`` only
when complete, so a run that is killed or fails never leaves a mix of old and new files. The
results ``OUT`` held before are kept, complete, as ``OUT.previous`` (one generation; the one
before is removed), so nothing is lost even to a wrong ``--out``. A lock (``.OUT.lock``)
refuses a second writer while the first runs, and temporary folders left by killed runs are
removed by the next writer. Only folders placesim wrote (a ``manifest.json`` marks them) or
empty ones are ever replaced.

Reading checks the folder before trusting it: the manifest is a JSON object naming the
scenario and mode, each table is present, parses and has its columns with numbers where
numbers belong; anything else is a :class:`~placesim.errors.DataError` naming the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, PlacesimError
from .metrics import DISTRICT_COLUMNS, METRIC_COLUMNS

SIGNIFICANT = 10
"""Significant digits of a number in a CSV table (positional: never an exponent)."""
CRUMB = 1e-12
"""Numbers smaller than this are written as 0: the crumbs of expected values (a cohort's
reach of G7 in its first year was written 6.41265e-39; review)."""


def _plain(values) -> np.ndarray:
    """Numbers as CSV text people can read: :data:`SIGNIFICANT` significant digits, or as
    many as the whole part has (ten digits wrote a cost of £12,345,678,901 as 12345678900),
    never in scientific notation (a table of a briefing pack wrote money as 1.92199e+08,
    six digits of £192,199,123; review), blank where missing."""
    v = np.asarray(values, float)
    v = np.where(np.abs(v) < CRUMB, 0.0, v)
    text = [("" if x != x else np.format_float_positional(
        x, precision=max(SIGNIFICANT, _whole_digits(x)), unique=False, fractional=False,
        trim="-")) for x in v]
    return np.array(text, dtype=object)


def _whole_digits(x: float) -> int:
    """Digits of the whole part of ``x`` (0 below 1 and for infinities)."""
    a = abs(x)
    return len(str(int(a))) if 1 <= a < math.inf else 0


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path`` (same folder, so the rename is atomic).

    The temporary file keeps ``path``'s extension, so writers that choose a format from it
    (spreadsheets, GeoPackage) work unchanged.

    Parameters
    ----------
    path : pathlib.Path
    write : callable
        Writes the content to the temporary path it is given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                               dir=path.parent)
    os.close(fd)
    Path(tmp).unlink()  # writers that refuse to overwrite (GeoPackage) get a fresh path
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def csv_text(df: pd.DataFrame) -> str:
    """A table as CSV text, its numbers in one plain form (:func:`_plain`: the same input
    gives the same bytes). Every CSV placesim gives a user goes through it: the results
    folder's, the pack's and the app's downloads.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    str
        The CSV, without the index, lines ended by ``\\n``.

    Examples
    --------
    >>> print(csv_text(pd.DataFrame({"posts": [1.5e8, 2e-15, float("nan")],
    ...                              "value": [1e-05, "leeds", True]})), end="")
    posts,value
    150000000,0.00001
    0,leeds
    ,True
    """
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    mixed = [c for c in df.columns if df[c].dtype == object]  # (numbers among text: an
    # assumptions log's values, a lever's list beside a rate)
    if floats or mixed:
        df = df.assign(**{c: _plain(df[c]) for c in floats},
                       **{c: [_plain([v])[0] if isinstance(v, float) else v for v in df[c]]
                          for c in mixed})
    return df.to_csv(index=False, lineterminator="\n")


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV atomically (:func:`csv_text`)."""
    text = csv_text(df)
    atomic_write(path, lambda p: p.write_bytes(text.encode("utf-8")))


def write_text(text: str, path: Path) -> None:
    """Write text atomically."""
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


TABLES = {
    "metrics.csv": METRIC_COLUMNS,
    "districts.csv": DISTRICT_COLUMNS,
    "moves.csv": ["scenario", "wave", "year", "origin_lad_code", "destination_lad_code", "posts"],
    "assumptions.csv": ["name", "value", "source", "assumption", "description"],
}
"""The tables of a results folder and the columns each must have."""
NUMERIC = {"year", "mean", "p10", "p50", "p90", "posts"}
"""Columns that hold numbers (the bands may be blank where a measure is undefined)."""
REPLICATION_COLUMNS = ["replication", "year", "metric", "group", "value"]
MANIFEST_KEYS = {"scenario": str, "mode": str, "replications": int}
"""Keys every manifest has, with their types."""


class FolderBusy(PlacesimError):
    """Another placesim process is writing the same output folder."""


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


_HELD: set[Path] = set()  # output folders whose lock this process holds


@contextlib.contextmanager
def writer_lock(out: Path) -> Iterator[None]:
    """Hold the lock of output folder ``out`` for the duration of the block.

    The lock is an ``flock`` on ``.OUT.lock`` beside the folder: the kernel releases it when
    the holder exits, however it exits, so a killed run never leaves it held. Re-entrant
    within one process.

    Raises
    ------
    FolderBusy
        If another process holds it (naming that process).
    """
    out = Path(out).absolute()
    if out in _HELD:
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(out)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise FolderBusy(f"{out}: another placesim ({holder}) is writing this folder; "
                             "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        _HELD.add(out)
        try:
            yield
        finally:
            _HELD.discard(out)
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def previous_path(out: Path) -> Path:
    """Where the results ``out`` held before the last write are kept: ``OUT.previous``."""
    out = Path(out)
    return out.with_name(out.name + ".previous")


def _replaceable(folder: Path, marker: str) -> bool:
    return not folder.exists() or (folder.is_dir() and (
        (folder / marker).is_file() or not any(folder.iterdir())))


@contextlib.contextmanager
def replace_folder(out: Path, *, marker: str = "manifest.json",
                   what: str = "results folder") -> Iterator[Path]:
    """Write a folder all at once: the block fills an empty temporary sibling, which replaces
    ``out`` when the block ends without error.

    The folder ``out`` held before is kept as ``OUT.previous`` (see :func:`previous_path`);
    if the block fails, or the process is killed, ``out`` is untouched and the temporary
    folder is removed (by the next writer, after a kill). Holds :func:`writer_lock`.

    Parameters
    ----------
    out : pathlib.Path
    marker : str
        A file every folder of this kind holds: an existing ``out`` (or ``OUT.previous``)
        without it is replaced only if empty, so a folder placesim did not write is never
        moved aside.
    what : str
        What the folder is, for messages.

    Yields
    ------
    pathlib.Path
        The temporary folder to write into.

    Raises
    ------
    FolderBusy
        If another process is writing ``out``.
    PlacesimError
        If ``out`` or ``OUT.previous`` exists and is not a folder of this kind.
    """
    out = Path(out).absolute()  # "." and "runs/x/" have names too
    previous = previous_path(out)
    with writer_lock(out):
        for stale in out.parent.glob(f".{out.name}.tmp-*"):  # left by killed writers
            shutil.rmtree(stale, ignore_errors=True)
        for folder in (out, previous):
            if not _replaceable(folder, marker):
                raise PlacesimError(
                    f"{folder}: exists and is not a {what} (no {marker}); placesim replaces "
                    "only what it wrote: choose another --out, or move that folder away")
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        try:
            yield tmp
            if previous.exists():
                shutil.rmtree(previous)
            if out.exists():
                os.rename(out, previous)
            os.rename(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


def write_results(results, out_dir: Path, scenario_yaml: str | None = None) -> Path:
    """Write a :class:`~placesim.simulation.Results` to a folder, all at once.

    See the module docstring: the folder appears complete or not at all, the previous
    results are kept as ``OUT.previous``, and a second writer is refused.

    Parameters
    ----------
    results : Results
    out_dir : pathlib.Path
    scenario_yaml : str, optional
        The resolved scenario, saved beside the results.

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    FolderBusy
        If another process is writing the same folder.
    PlacesimError
        If ``out_dir`` exists and is not a results folder.
    """
    out = Path(out_dir)
    with replace_folder(out) as tmp:
        write_csv(results.metrics, tmp / "metrics.csv")
        write_csv(results.districts, tmp / "districts.csv")
        write_csv(results.moves, tmp / "moves.csv")
        write_csv(results.assumptions, tmp / "assumptions.csv")
        results.metrics.to_parquet(tmp / "metrics.parquet", index=False)
        results.districts.to_parquet(tmp / "districts.parquet", index=False)
        if results.replications is not None:
            results.replications.to_parquet(tmp / "replications.parquet", index=False)
        if scenario_yaml is not None:
            write_text(scenario_yaml, tmp / "scenario.yaml")
        write_text(json.dumps(results.manifest, indent=2, sort_keys=True) + "\n",
                   tmp / "manifest.json")
    return out


def _manifest(out: Path) -> dict:
    f = out / "manifest.json"
    try:
        m = json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(str(f), None, "not JSON: the folder is damaged; run again") from None
    if not isinstance(m, dict):
        raise DataError(str(f), None, "not a JSON object: the folder is damaged; run again")
    for key, kind in MANIFEST_KEYS.items():
        if not isinstance(m.get(key), kind):
            raise DataError(str(f), key, f"missing or not {kind.__name__}: the folder is "
                            "damaged; run again")
    return m


def _table(out: Path, name: str, columns: list[str]) -> pd.DataFrame:
    f = out / name
    if not f.is_file():
        raise DataError(str(f), None, "missing: the folder is incomplete; run again")
    try:
        df = pd.read_csv(f, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError):
        raise DataError(str(f), None, "not a readable CSV table (empty or damaged); run "
                        "again") from None
    for col in columns:
        if col not in df.columns:
            raise DataError(str(f), col, "missing column: the folder is damaged; run again")
        if col in NUMERIC and len(df) and not pd.api.types.is_numeric_dtype(df[col]):
            row = int(pd.to_numeric(df[col], errors="coerce").isna().to_numpy().argmax())
            raise DataError(str(f), col, f"row {row + 2}: not a number: the folder is "
                            "damaged; run again")
    return df


def _replications(out: Path) -> pd.DataFrame | None:
    f = out / "replications.parquet"
    if not f.exists():
        return None
    try:
        df = pd.read_parquet(f)
    except Exception:  # noqa: BLE001 - pyarrow raises several kinds for a damaged file
        raise DataError(str(f), None, "not a readable Parquet file (damaged); run "
                        "again") from None
    missing = [c for c in REPLICATION_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(str(f), missing[0], "missing column: the folder is damaged; run again")
    return df


def read_results(out_dir: Path):
    """Read a results folder written by :func:`write_results`, checking it first.

    Raises
    ------
    PlacesimError
        If the folder is missing or incomplete (no manifest; the message names
        ``OUT.previous`` when that holds the earlier results).
    DataError
        If the manifest is not a JSON object with the keys of :data:`MANIFEST_KEYS`, a table
        of :data:`TABLES` is missing, unreadable or lacks a column (or holds text in a
        numeric one), or ``replications.parquet`` is damaged: one line naming the file.
    """
    from .simulation import Results

    out = Path(out_dir)
    if not (out / "manifest.json").is_file():
        hint = "run `placesim run` first"
        if (previous_path(out) / "manifest.json").is_file():
            hint = f"the earlier results are in {previous_path(out)}"
        raise PlacesimError(f"{out}: not a complete results folder (no manifest.json); {hint}")
    manifest = _manifest(out)
    tables = {name: _table(out, name, cols) for name, cols in TABLES.items()}
    return Results(
        metrics=tables["metrics.csv"],
        districts=tables["districts.csv"],
        moves=tables["moves.csv"],
        assumptions=tables["assumptions.csv"],
        manifest=manifest,
        replications=_replications(out),
    )
