"""Writing and reading a results folder, atomically.

A run's outputs (``metrics.csv``/``.parquet``, ``districts.csv``/``.parquet``, ``moves.csv``,
``assumptions.csv``, ``replications.parquet``, ``scenario.yaml``, ``manifest.json``) are each
written to a temporary file in the same folder and renamed into place, so an interrupted run
never leaves a half-written file; the manifest is written last and marks the folder complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from .errors import PlacesimError

FLOAT_FORMAT = "%.6g"


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


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write a table as CSV atomically, with a stable float format (same input → same bytes)."""
    atomic_write(path, lambda p: df.to_csv(p, index=False, float_format=FLOAT_FORMAT,
                                           lineterminator="\n"))


def write_text(text: str, path: Path) -> None:
    """Write text atomically."""
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_results(results, out_dir: Path, scenario_yaml: str | None = None) -> Path:
    """Write a :class:`~placesim.simulation.Results` to a folder.

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
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # incomplete until rewritten last
    write_csv(results.metrics, out / "metrics.csv")
    write_csv(results.districts, out / "districts.csv")
    write_csv(results.moves, out / "moves.csv")
    write_csv(results.assumptions, out / "assumptions.csv")
    atomic_write(out / "metrics.parquet", lambda p: results.metrics.to_parquet(p, index=False))
    atomic_write(out / "districts.parquet",
                 lambda p: results.districts.to_parquet(p, index=False))
    if results.replications is not None:
        atomic_write(out / "replications.parquet",
                     lambda p: results.replications.to_parquet(p, index=False))
    if scenario_yaml is not None:
        write_text(scenario_yaml, out / "scenario.yaml")
    write_text(json.dumps(results.manifest, indent=2, sort_keys=True) + "\n",
               out / "manifest.json")
    return out


def read_results(out_dir: Path):
    """Read a results folder written by :func:`write_results`.

    Raises
    ------
    PlacesimError
        If the folder is missing or incomplete (no manifest).
    """
    from .simulation import Results

    out = Path(out_dir)
    manifest = out / "manifest.json"
    if not manifest.is_file():
        raise PlacesimError(f"{out}: not a complete results folder (no manifest.json); "
                            "run `placesim run` first")
    return Results(
        metrics=pd.read_csv(out / "metrics.csv"),
        districts=pd.read_csv(out / "districts.csv"),
        moves=pd.read_csv(out / "moves.csv"),
        assumptions=pd.read_csv(out / "assumptions.csv"),
        manifest=json.loads(manifest.read_text(encoding="utf-8")),
        replications=(pd.read_parquet(out / "replications.parquet")
                      if (out / "replications.parquet").is_file() else None),
    )
