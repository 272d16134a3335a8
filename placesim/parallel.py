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
import platform
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

ENV = "PLACESIM_THREADS"
"""Environment variable: threads a replication uses (default: two, or one on one core)."""
_CORES = os.cpu_count() or 1
"""The machine's cores, read once: a run hands spans over about a hundred times, and
reading them took 9 microseconds a time here."""


_PAUSE = {"x86_64": ("llvm.x86.sse2.pause", ()), "amd64": ("llvm.x86.sse2.pause", ()),
          "aarch64": ("llvm.aarch64.hint", (1,)), "arm64": ("llvm.aarch64.hint", (1,))}.get(
    platform.machine().lower())
"""The processor's spin-wait hint (x86's ``pause``, Arm's ``yield``: it lets the other
hardware thread of a core run), as an LLVM intrinsic and its arguments; none elsewhere."""
SPIN_SECONDS = 300e-6
"""How long a waiting thread watches a hand-over flag before it sleeps on the lock instead:
longer than the gaps between a step's hand-overs, short enough that an idle pool thread
soon stops using a core."""


@intrinsic
def _read_flag(typingctx, flags):
    """``flags[0]``, read afresh each time (an atomic load with acquire ordering: the
    compiler may not keep it in a register, and what was written before the flag is seen)
    after the processor's spin-wait hint."""
    def codegen(context, builder, signature, args):
        if _PAUSE is not None:
            name, hint = _PAUSE
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [i32] * len(hint)), name)
            builder.call(fn, [ir.Constant(i32, h) for h in hint])
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary,
                                       [context.get_constant(types.intp, 0)])
        return builder.load_atomic(ptr, "acquire", 8)
    return types.int64(flags), codegen


@njit(nogil=True, cache=True)
def _spin_until(flags, want, spins):
    """Whether ``flags[0]`` became ``want`` within ``spins`` reads (without the GIL)."""
    for _ in range(spins):
        if _read_flag(flags) == want:
            return True
    return False


def _spins() -> int:
    """Reads of a flag that take about :data:`SPIN_SECONDS` on this processor (a spin-wait
    hint takes from a few to over a hundred cycles, by processor)."""
    n = 20_000
    never = np.zeros(1, np.int64)
    _spin_until(never, 1, 1)  # (compiled, or loaded from the cache, first)
    t = time.perf_counter()
    _spin_until(never, 1, n)
    return max(1_000, int(n * SPIN_SECONDS / max(time.perf_counter() - t, 1e-9)))


class _Worker:
    """A pool thread that runs one span at a time, handed to it and back by a pair of locks,
    each with a flag that the waiting thread watches for a while before it sleeps on the lock.

    A step hands a span over two or three times. Through a ``ThreadPoolExecutor`` (a
    future, a queue, a condition and a callback) a hand-over and its return, with nothing to
    do, took 77 microseconds here; a lock released by one thread and acquired by the other,
    25, but about 100 once the waiting thread's core had gone idle for the few hundred
    microseconds between a step's hand-overs (a virtual machine wakes an idle core slowly).
    Watching a flag (:func:`_spin_until`, without the GIL) keeps the core awake: the lock is
    then taken at once. The flags count the hand-overs, so a flag seen late or never (the
    waiter gave up and slept) changes nothing: the lock decides. Only while one run hands
    spans over, on no more threads than cores (:data:`_spinning`): where threads outnumber
    cores, a watching thread would take a core from the one it waits for."""

    def __init__(self) -> None:
        self._start = threading.Lock()
        self._finish = threading.Lock()
        self._start.acquire()
        self._finish.acquire()
        self._begun = np.zeros(1, np.int64)  # hand-overs begun (flag the worker watches)
        self._ended = np.zeros(1, np.int64)  # and ended (flag the caller watches)
        self._count = 0
        self._spins = _spins()
        self._call: tuple | None = None
        self._outcome: tuple[bool, object] = (True, None)
        threading.Thread(target=self._serve, name="placesim-slots", daemon=True).start()

    def _serve(self) -> None:
        count = 0
        while True:
            count += 1
            _spin_until(self._begun, count, self._spins if _spinning else 0)
            self._start.acquire()
            fn, args = self._call
            self._call = None
            try:
                self._outcome = (True, fn(*args))
            except BaseException as error:  # (raised in the caller, see map_spans)
                self._outcome = (False, error)
            self._finish.release()
            self._ended[0] = count

    def begin(self, fn: Callable[..., object], args: tuple) -> None:
        """Start ``fn(*args)`` in this thread."""
        self._count += 1
        self._call = (fn, args)
        self._start.release()
        self._begun[0] = self._count

    def end(self) -> tuple[bool, object]:
        """Wait for the call to finish: ``(True, result)`` or ``(False, error)``."""
        _spin_until(self._ended, self._count, self._spins if _spinning else 0)
        self._finish.acquire()
        outcome, self._outcome = self._outcome, (True, None)
        return outcome


# the pool: its idle threads, and how many it has made (busy ones are with a run)
_idle: list[_Worker] = []
_made = 0
_pool_lock = threading.Lock()
_running = 0  # calls of map_spans handing spans to pool threads now
_spinning = True
"""Whether waiting threads watch the hand-over flags: one run hands spans over, on no more
threads than cores (several sessions of the app at once, or ``PLACESIM_THREADS`` above the
cores, and they only sleep on the locks)."""


def _forget_pool() -> None:
    """In a forked child: the parent's pool threads are not there (new ones are made)."""
    global _made, _pool_lock, _running, _spinning
    _idle.clear()
    _made = _running = 0
    _spinning = True
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


def _run_begins(threads_used: int) -> None:
    """A run hands spans to pool threads, on ``threads_used`` threads in all (its own
    included): :data:`_spinning` says whether waiting threads may watch the flags."""
    global _running, _spinning
    with _pool_lock:
        _running += 1
        _spinning = _running == 1 and threads_used <= _CORES


def _run_ends() -> None:
    global _running, _spinning
    with _pool_lock:
        _running -= 1
        _spinning = _running <= 1


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
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else _CORES
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
    helpers = _take(len(spans) - 1)  # (spans 1 to len(helpers); the others run here)
    for worker, (lo, hi) in zip(helpers, spans[1:], strict=False):
        worker.begin(fn, (lo, hi, *args))
    _run_begins(len(helpers) + 1)
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
        _run_ends()
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
