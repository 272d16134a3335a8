"""Slot passes split into ranges run on several cores at once.

The one pass a step over every slot (:func:`placesim.flows.scan`) is independent from slot
to slot, so its compiled kernel releases the GIL (``nogil``) and runs on contiguous ranges of
slots in threads; the ranges' results are merged in slot order, so results are the same
whatever the number of threads. Batch workers and the app's band workers already use every
core with one replication each: they set ``PLACESIM_THREADS=1``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

ENV = "PLACESIM_THREADS"
"""Environment variable: threads a replication uses (default: two, or one on one core)."""

_pool: ThreadPoolExecutor | None = None


def threads() -> int:
    """Threads a slot pass uses: ``PLACESIM_THREADS`` or ``min(2, cores)``.

    Raises
    ------
    ValueError
        If ``PLACESIM_THREADS`` is not a whole number of at least 1.
    """
    raw = os.environ.get(ENV)
    if raw is None or raw.strip() == "":
        return max(1, min(2, os.cpu_count() or 1))
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV}={raw!r}: give a whole number of threads, at least 1")
    return n


def ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``(lo, hi)`` ranges covering ``range(n)``, sizes within one.

    >>> ranges(5, 2)
    [(0, 3), (3, 5)]
    """
    parts = max(1, min(parts, n))
    edges = [-(-n * k // parts) for k in range(parts + 1)]  # ceilings: earlier ranges larger
    return list(zip(edges[:-1], edges[1:], strict=True))


def map_ranges(fn: Callable, n: int, args: Sequence) -> list:
    """``fn(lo, hi, *args)`` for each range of ``range(n)``, in threads; results in order.

    ``fn`` must release the GIL (a ``nogil`` compiled kernel) for the threads to overlap, and
    must write only to its own range of any shared array.
    """
    global _pool
    spans = ranges(n, threads())
    if len(spans) == 1:
        return [fn(0, n, *args)]
    if _pool is None or _pool._max_workers < len(spans) - 1:
        _pool = ThreadPoolExecutor(len(spans) - 1, thread_name_prefix="placesim-slots")
    futures = [_pool.submit(fn, lo, hi, *args) for lo, hi in spans[1:]]
    first = fn(spans[0][0], spans[0][1], *args)
    return [first] + [f.result() for f in futures]
