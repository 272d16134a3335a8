"""Compile the compiled kernels into numba's cache before a test run, on two cores at once.

numba compiles a kernel the first time it is called and keeps the machine code in
``__pycache__``. In a fresh clone nothing is kept, so the test run compiled every kernel
(about 42 s of one core), and its two workers compiled many of them each: a clean clone's
test run took 291 s, the same run with the cache filled 225 s. ``python -m placesim.warm``
runs both engines once on a small copy of the shipped data, with scenarios that use
every kernel, the stochastic engine in one process and the expected mode in another, at
once: about 25 s in a fresh clone, 2 s once the cache is filled (numba recompiles a
kernel whose source has changed). ``make test`` runs it first. (The reference model is
plain Python: nothing of it to compile.)
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SCENARIOS = ("progression-levers", "social-mobility-levers", "ho-regional-centres")
"""Shipped scenarios that between them call every kernel: the programme levers, outreach
and secondments, and department waves that relocate and recreate posts."""
PARTS = ("stochastic", "expected")
SCALE = 0.02
"""The share of the shipped package's posts the runs use (small: only the compiling is
wanted)."""


def run_part(part: str) -> None:
    """Run the shipped :data:`SCENARIOS` once in one mode (``stochastic`` or ``expected``),
    so that their kernels are compiled and kept.

    Parameters
    ----------
    part : str
        One of :data:`PARTS`.
    """
    from . import engine
    from .expected import run_expected
    from .geodata import load_data_package
    from .scenario import load_scenario
    from .testing import scaled_package

    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)} (got {part!r})")
    pkg = scaled_package(load_data_package(), SCALE)
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    for name in SCENARIOS:
        model = engine.prepare(load_scenario(folder / f"{name}.yaml"), pkg)
        if part == "stochastic":
            engine.run_replication(model, 0)
        else:
            run_expected(model)


def main(argv: list[str] | None = None) -> int:
    """Run :func:`run_part` for every part at once, each in its own process.

    Returns
    -------
    int
        0, or the first non-zero exit status of a part (its error is printed).
    """
    args = sys.argv[1:] if argv is None else argv
    if args:  # one part, in this process
        run_part(args[0])
        return 0
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "placesim.warm", part]) for part in PARTS]
    codes = [p.wait() for p in procs]
    bad = [c for c in codes if c]
    print(f"placesim.warm: compiled kernels ready in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    return bad[0] if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
