"""Slot passes split into ranges run on several cores at once.

The one pass a step over every slot (:func:`placesim.flows.scan`) is independent from slot
to slot, so its compiled kernel releases the GIL (``nogil``) and runs on contiguous ranges of
slots in threads; the ranges' results are merged in slot order, so results are the same
whatever the number of threads. A step's vacancies are filled the same way in two groups
that touch nothing in common (:func:`placesim.flows.fill`), and the expected mode's two
stages on two blocks of grades (:mod:`placesim.expected`). A local batch cluster's workers
and the app's band workers already use every core with one replication each: they set
``PLACESIM_THREADS=1`` (start the workers of a Dask cluster of your own with it too).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

ENV = "PLACESIM_THREADS"
"""Environment variable: threads a replication uses (default: two, or one on one core)."""
_CORES = os.cpu_count() or 1
"""The machine's cores, read once: a run hands spans over about a hundred times, and
reading them took 9 microseconds a time here."""
_USABLE = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else _CORES)
"""The cores this process may use, read once too (3 microseconds a hand-over)."""


class _Worker:
    """A pool thread that runs one span at a time, handed to it and back by a pair of locks.

    A step hands a span over two or three times. Through a ``ThreadPoolExecutor`` (a
    future, a queue, a condition and a callback) a hand-over and its return, with nothing to
    do, took 77 microseconds here; a lock released by one thread and acquired by the other,
    25. Most of it is hidden behind the calling thread's own span: an expected-mode run is
    about 2% shorter this way (same-process comparisons)."""

    def __init__(self) -> None:
        self._start = threading.Lock()
        self._finish = threading.Lock()
        self._start.acquire()
        self._finish.acquire()
        self._call: tuple | None = None
        self._outcome: tuple[bool, object] = (True, None)
        threading.Thread(target=self._serve, name="placesim-slots", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self._start.acquire()
            fn, args = self._call
            self._call = None
            try:
                self._outcome = (True, fn(*args))
            except BaseException as error:  # (raised in the caller, see map_spans)
                self._outcome = (False, error)
            self._finish.release()

    def begin(self, fn: Callable[..., object], args: tuple) -> None:
        """Start ``fn(*args)`` in this thread."""
        self._call = (fn, args)
        self._start.release()

    def end(self) -> tuple[bool, object]:
        """Wait for the call to finish: ``(True, result)`` or ``(False, error)``."""
        self._finish.acquire()
        outcome, self._outcome = self._outcome, (True, None)
        return outcome


# the pool: its idle threads, and how many it has made (busy ones are with a run)
_idle: list[_Worker] = []
_made = 0
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads are not there (new ones are made)."""
    global _made, _pool_lock
    _idle.clear()
    _made = 0
    _pool_lock = threading.Lock()


def _take(n: int) -> list[_Worker]:
    """Up to ``n`` pool threads for a run's spans: idle ones, or new ones while the pool has
    fewer than one per core but the caller's (several sessions of the app may run at once),
    and at least ``n``; fewer (none) if the others are busy with other runs."""
    global _made
    size = max(n, _CORES - 1, 1)
    with _pool_lock:
        taken = [_idle.pop() for _ in range(min(n, len(_idle)))]
        while len(taken) < n and _made < size:
            taken.append(_Worker())
            _made += 1
    return taken


def _give_back(workers: list[_Worker]) -> None:
    with _pool_lock:
        _idle.extend(workers)


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
        return max(1, min(2, _USABLE))
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
    helpers = _take(len(spans) - 1)  # (spans 1 to len(helpers); the others run here)
    for worker, (lo, hi) in zip(helpers, spans[1:], strict=False):
        worker.begin(fn, (lo, hi, *args))
    outcomes: list = [None] * len(spans)
    try:
        for i, (lo, hi) in enumerate(spans):
            if i == 0 or i > len(helpers):
                try:
                    outcomes[i] = (True, fn(lo, hi, *args))
                except BaseException as error:  # (raised once every span has finished)
                    outcomes[i] = (False, error)
    finally:
        for i, worker in enumerate(helpers, 1):
            outcomes[i] = worker.end()
        _give_back(helpers)
    for ok, value in outcomes:
        if not ok:
            raise value
    return [value for _, value in outcomes]


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
