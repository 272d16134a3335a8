"""Slot passes split into ranges run on several cores at once.

The one pass a step over every slot (:func:`placesim.flows.scan`) is independent from slot
to slot, so its compiled kernel releases the GIL (``nogil``) and runs on contiguous ranges of
slots in threads; the ranges' results are merged in slot order, so results are the same
whatever the number of threads. The expected mode's two stages run the same way on two
blocks of grades (:mod:`placesim.expected`). A local batch cluster's workers and the app's
band workers already use every core with one replication each: they set
``PLACESIM_THREADS=1`` (start the workers of a Dask cluster of your own with it too).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

ENV = "PLACESIM_THREADS"
"""Environment variable: threads a replication uses (default: two, or one on one core)."""

# the pool, its size, and a count of its threads not working on a span now
_pool: tuple[ThreadPoolExecutor, int, threading.Semaphore] | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads are not there (a new pool is made)."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


def _workers(n: int) -> tuple[ThreadPoolExecutor, int, threading.Semaphore]:
    """The pool, made (or made larger) to hold at least ``n`` threads, and at least one per
    core but the caller's (several sessions of the app may run at once)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[1] < n:
            size = max(n, (os.cpu_count() or 1) - 1, 1)
            _pool = (ThreadPoolExecutor(size, thread_name_prefix="placesim-slots"), size,
                     threading.Semaphore(size))
        return _pool


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def threads() -> int:
    """Threads a slot pass uses.

    Returns
    -------
    int
        ``PLACESIM_THREADS`` if set, else two, or one if this process may use one core only.

    Raises
    ------
    ValueError
        If ``PLACESIM_THREADS`` is not a whole number of at least 1.
    """
    raw = os.environ.get(ENV)
    if raw is None or raw.strip() == "":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return max(1, min(2, cores))
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV}={raw!r}: give a whole number of threads, at least 1")
    return n


def ranges(n: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous ranges covering ``range(n)``.

    Parameters
    ----------
    n : int
        Number of items.
    parts : int
        Ranges wanted (fewer if ``n`` is smaller; at least one).

    Returns
    -------
    list of tuple
        ``(lo, hi)`` pairs in order, sizes within one of each other.

    Examples
    --------
    >>> ranges(5, 2)
    [(0, 3), (3, 5)]
    """
    parts = max(1, min(parts, n))
    edges = [-(-n * k // parts) for k in range(parts + 1)]  # ceilings: earlier ranges larger
    return list(zip(edges[:-1], edges[1:], strict=True))


def map_spans(fn: Callable[..., object], spans: Sequence[tuple[int, int]], args: Sequence
              ) -> list:
    """Call ``fn(lo, hi, *args)`` for each ``(lo, hi)`` of ``spans``, at once in threads (one
    after the other where :func:`threads` is 1; a span no pool thread is free for, because
    other runs are using them, runs in the calling thread rather than waiting for one).

    ``fn`` must release the GIL (a ``nogil`` compiled kernel) for the calls to overlap, and
    must write only to its own span's part of any shared array.

    Parameters
    ----------
    fn : callable
        The pass over one span.
    spans : sequence of tuple
        ``(lo, hi)`` pairs.
    args : sequence
        The other arguments of ``fn``.

    Returns
    -------
    list
        ``fn``'s results, in span order. If a span raises, the others are waited for
        first (none is left writing), then the first error is raised.
    """
    if len(spans) == 1 or threads() == 1:
        return [fn(lo, hi, *args) for lo, hi in spans]
    pool, _, idle = _workers(len(spans) - 1)
    futures = {}
    for i, (lo, hi) in enumerate(spans[1:], 1):
        if not idle.acquire(blocking=False):
            break  # every pool thread is busy (another run's spans): the rest run here
        future = pool.submit(fn, lo, hi, *args)
        future.add_done_callback(lambda _, idle=idle: idle.release())
        futures[i] = future
    results: list = [None] * len(spans)
    try:
        for i, (lo, hi) in enumerate(spans):
            if i not in futures:
                results[i] = fn(lo, hi, *args)
    finally:
        wait(futures.values())
    for i, future in futures.items():
        results[i] = future.result()
    return results


def map_ranges(fn: Callable[..., object], n: int, args: Sequence) -> list:
    """Call ``fn(lo, hi, *args)`` for each of :func:`threads` ranges of ``range(n)``.

    ``fn`` must release the GIL (a ``nogil`` compiled kernel) for the calls to overlap, and
    must write only to its own range of any shared array.

    Parameters
    ----------
    fn : callable
        The pass over one range.
    n : int
        Number of slots.
    args : sequence
        The other arguments of ``fn``.

    Returns
    -------
    list
        ``fn``'s results, in range order (see :func:`map_spans`).
    """
    return map_spans(fn, ranges(n, threads()), args)
