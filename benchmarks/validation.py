"""How long `placesim validate` takes to reject hostile scenario files (issue 19's target: 2 s).

Two files: a wave with ``spread_years: .inf``, and a 235 KB upload naming 24,000 unknown
districts (which used to cost 16-23 s of "did you mean" and print 24,003 lines). Each is timed
two ways: the library's checks (load and check against the data package already in memory, as
the app does), median of five, and the whole command in a fresh process, as a user meets it
(Python start-up and imports included), median of three.

Run: ``.venv/bin/python benchmarks/validation.py``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 2.0


def _write(path: Path, **wave) -> Path:
    import yaml

    path.write_text(yaml.safe_dump({
        "name": "hostile", "horizon": {"start_year": 2023, "years": 5},
        "waves": [{"name": "w", "year": 2024, "posts": {"grades": ["EO"]}, "count": 10,
                   "destinations": [{"site": "leeds", "share": 1.0}], **wave}]},
        default_flow_style=None, width=1 << 20))
    return path


def files(folder: Path) -> dict[str, Path]:
    codes = [f"E9{i:06d}" for i in range(24_000)]
    return {"spread_years: .inf": _write(folder / "inf.yaml", spread_years=float("inf")),
            "24,000 unknown districts": _write(folder / "many.yaml", origin=codes)}


def in_process(path: Path, pkg) -> tuple[float, int]:
    from placesim.errors import ScenarioError
    from placesim.scenario import check_against_data, load_scenario

    times, lines = [], 0
    for _ in range(5):
        t = time.perf_counter()
        try:
            check_against_data(load_scenario(path), pkg)
        except ScenarioError as e:
            lines = len(str(e).splitlines())
        times.append(time.perf_counter() - t)
    return statistics.median(times), lines


def command(path: Path) -> tuple[float, int]:
    times, code = [], None
    for _ in range(3):
        t = time.perf_counter()
        code = subprocess.run([sys.executable, "-m", "placesim.cli", "validate", str(path)],
                              capture_output=True).returncode
        times.append(time.perf_counter() - t)
    return statistics.median(times), code


def main() -> None:
    from placesim.geodata import load_data_package

    pkg = load_data_package()
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in files(Path(tmp)).items():
            lib, lines = in_process(path, pkg)
            cli, code = command(path)
            print(f"{name:<26} {path.stat().st_size / 1024:6.0f} KB  checks {lib:5.2f} s, "
                  f"{lines} lines (target <= {TARGET_S:g} s, <= 21 lines): "
                  f"{'met' if lib <= TARGET_S and lines <= 21 else 'MISSED'};  "
                  f"`placesim validate` {cli:5.2f} s, exit {code}", flush=True)


if __name__ == "__main__":
    main()
