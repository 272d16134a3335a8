"""Uncertainty bands are worked out away from the page: in a bounded pool of worker
processes shared by every session of the app, so that one user's 200 runs never hold up
another user's instant (expected-value) answer.

* **Bounded**: ``PLACESIM_BAND_WORKERS`` processes (default: one fewer than the cores, at
  least one; started at the first request), and at most :data:`MAX_QUEUED` jobs waiting;
  beyond that a request is refused with a message (the page keeps showing expected values).
* **One job per session**: a session that asks for other bands before its last request has
  started replaces it (the old one is cancelled); the same bands asked twice, by any session,
  are worked out once.
* **Priority**: workers run at a lower OS priority (``PLACESIM_BAND_NICE``, default 19, the
  lowest), so a session's instant answer takes the CPU from the bands when both want it,
  rather than sharing it with them; where Linux shares the cores between sessions rather
  than processes (autogroups), each worker starts a session of its own at that level, so
  that the user's browser drawing the answer goes first too, and ends when the app does.
* **Ahead of time**: when the app starts, the workers work out the shipped scenarios'
  expected values, so that choosing one is answered from the results store; one at a time,
  and only while no session's bands wait or run, so that a request never queues behind them.
* **Memory**: a worker keeps a digest per replication, not the replication
  (:func:`placesim.metrics.digest`), and the finished results go into the app's results
  store, which is bounded by memory (:class:`placesim_app.state.Store`).

The library knows nothing of this: a worker calls :func:`placesim.simulate` as the CLI does.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

MAX_QUEUED = 8
"""Jobs that may wait for a worker, all sessions together."""


def worker_count() -> int:
    """Worker processes: ``PLACESIM_BAND_WORKERS``, or one fewer than the cores (at least 1)."""
    env = os.environ.get("PLACESIM_BAND_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, (os.cpu_count() or 2) - 1)


def band_niceness() -> int:
    """How much lower than the app the workers run: ``PLACESIM_BAND_NICE`` (0 to 19, default
    19)."""
    return min(19, max(0, int(os.environ.get("PLACESIM_BAND_NICE", "19"))))


def _start_worker(increment: int) -> None:
    """In a worker as it starts: one thread per replication (the workers and the app already
    share the cores), and ``increment`` nice levels down, in a scheduling group of its own
    where there are such groups (never fails a worker); it ends when the app has ended."""
    from placesim.parallel import ENV

    os.environ[ENV] = "1"
    _lower_priority(increment)
    _watch_parent()
    _own_group(increment)


def _watch_parent() -> None:
    """End this worker once the app has ended (:func:`_end_with_parent`), in the app's
    session or one of its own: killed, the app ends no worker itself."""
    threading.Thread(target=_end_with_parent, args=(os.getppid(),), daemon=True).start()


def _own_group(increment: int) -> None:
    """Where Linux schedules by session (autogroups, ``/proc/sys/kernel/
    sched_autogroup_enabled``), a nice level only ranks a process among its own session's,
    and the sessions share the cores equally: a worker at nice 19 in the app's session still
    took the cores from the user's browser, which draws the answer in a session of its own
    (the app's group, bands and all, against the browser's). So this worker starts a session
    of its own and sets that group ``increment`` levels down. Out of the app's session it no
    longer receives the signals that stop the app: the app ends it at exit
    (:func:`_end_at_exit`), or it ends when the app has (:func:`_watch_parent`)."""
    if increment <= 0 or not hasattr(os, "setsid") or not group_level_settable():
        return
    try:
        os.setsid()
    except OSError:
        return
    try:  # (a process may raise its own group's level: the kernel refuses only lowering it)
        Path("/proc/self/autogroup").write_text(str(min(19, increment)))
    except OSError:
        pass


def group_level_settable() -> bool:
    """Whether Linux schedules by session here (autogroups) and this process may set its
    group's level: a container may not allow it (a read-only /proc), and a group of the
    worker's own at level 0 would then take more than the app's. Checked by writing the
    level back as it is (nothing changes)."""
    group = Path("/proc/self/autogroup")
    try:
        if Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() != "1":
            return False
        group.write_text(group.read_text().split()[-1])
    except (OSError, IndexError):  # (no autogroups here, or not allowed)
        return False
    return True


def _end_at_exit(pool: ProcessPoolExecutor) -> None:
    """End ``pool``'s workers as this process ends. Workers in sessions of their own
    (:func:`_own_group`) do not receive the signals that stop the app, and at exit the pool
    waits for their jobs, minutes for 200 runs: so they are ended first, in one of the hooks
    ``threading`` runs before it waits for threads (the pool registers its own there, at its
    import, and they run last first; one registered with ``atexit`` would run after)."""
    ref = weakref.ref(pool)

    def end() -> None:
        alive = ref()
        for process in list((getattr(alive, "_processes", None) or {}).values()):
            process.kill()
        # the pool's thread, which the exit waits for, may be part-way through reading a
        # result from the pipe (a killed worker's half-sent result: an app run under AppTest
        # then exited only when killed, minutes later): with this process's end of the pipe
        # closed too, the read ends at once
        queue = getattr(alive, "_result_queue", None)
        if queue is not None:
            queue._writer.close()

    getattr(threading, "_register_atexit", atexit.register)(end)


def _end_with_parent(parent: int, every_s: float = 0.5) -> None:
    """End this process once its parent (the app) has ended: a worker busy with a job would
    otherwise go on for as long as the job lasts."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(0)


def _lower_priority(increment: int) -> None:
    """This process ``increment`` nice levels down; where there are no nice levels (Windows),
    in the priority class below normal (idle from 10 levels down), which is what Windows
    has instead. Where neither is allowed, it stays as it is."""
    if increment <= 0:
        return
    import psutil

    try:
        if hasattr(os, "nice"):
            os.nice(increment)
            return
        name = "IDLE_PRIORITY_CLASS" if increment >= 10 else "BELOW_NORMAL_PRIORITY_CLASS"
        if hasattr(psutil, name):
            psutil.Process().nice(getattr(psutil, name))
    except (OSError, psutil.Error):  # (not allowed here)
        pass


class BusyError(RuntimeError):
    """Too many band jobs are waiting: the request is refused, not queued."""


@lru_cache(maxsize=2)
def _package(path: str | None):
    import placesim

    return placesim.load_data_package(path)


def _work(scenario, data_path: str | None, reps: int, seed: int, mode: str = "stochastic"):
    """In a worker process: the scenario's replications, summarised (or, with ``mode``
    "expected", its expected values, as the page works them out)."""
    import placesim

    return placesim.simulate(scenario, _package(data_path), replications=reps, seed=seed,
                             mode=mode)


@dataclass
class BandService:
    """The app's band jobs (one instance per app process)."""

    workers: int = field(default_factory=worker_count)
    max_queued: int = MAX_QUEUED
    work: Callable = _work  # what a job runs (tests give a cheaper one)
    niceness: int = field(default_factory=band_niceness)

    def __post_init__(self):
        # spawn: a fork of a server with threads can inherit a held lock
        self.pool = ProcessPoolExecutor(self.workers,
                                        mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker,
                                        initargs=(self.niceness,))
        _end_at_exit(self.pool)
        self.lock = threading.RLock()  # (a job cancelled under it runs its callback at once)
        self.jobs: dict[tuple, Future] = {}  # result key -> job (waiting, running or done)
        self.by_session: dict[str, tuple] = {}  # session -> key of its latest request
        self.ahead: deque = deque()  # work-ahead jobs not yet given to the pool
        self.ahead_running: Future | None = None  # the one the pool has

    def waiting(self) -> int:
        """Jobs not yet started."""
        with self.lock:
            return sum(1 for f in self.jobs.values() if not f.running() and not f.done())

    def submit(self, session: str, key: tuple, scenario, data_path: str | None, reps: int,
               seed: int, on_done) -> Future:
        """Ask for bands; returns the job (an existing one if the same bands were asked).

        ``on_done(result)`` is called (in a pool thread) when the job finishes without
        error. Raises :class:`BusyError` when :attr:`max_queued` jobs are already waiting.
        """
        with self.lock:
            job = self.jobs.get(key)
            if job is not None and not job.cancelled() and not (
                    job.done() and job.exception() is not None):  # (a failure is asked again)
                self.by_session[session] = key
                return job
            old = self.by_session.get(session)
            if old is not None and old != key and old in self.jobs:
                if self.jobs[old].cancel():  # not started yet: this session's newer wish wins
                    self.jobs.pop(old, None)
            waiting = sum(1 for f in self.jobs.values() if not f.running() and not f.done())
            if waiting >= self.max_queued:
                raise BusyError(f"{waiting} band jobs are already waiting")
            job = self.pool.submit(self.work, scenario, data_path, reps, seed)
            self.jobs[key] = job
            self.by_session[session] = key

        def finished(f: Future, key=key):
            failed = not f.cancelled() and f.exception() is not None
            try:
                if not f.cancelled() and not failed:
                    on_done(f.result())
            finally:
                with self.lock:  # keep failures (to report them), forget the rest
                    if self.jobs.get(key) is f and not failed:
                        del self.jobs[key]
                if not f.cancelled():  # (a cancelled job is being replaced by a newer one)
                    self._next_ahead()

        job.add_done_callback(finished)
        return job

    def warm(self, scenario, data_path: str | None, on_done) -> Future:
        """Work out a scenario's expected values ahead of any request; ``on_done(result)`` as
        for :meth:`submit`. Such jobs go to the pool one at a time, and only while no
        session's bands wait or run: a request waits at most for the one running. Not counted
        against :attr:`max_queued`; a failure is only dropped (the page works the values out
        itself when asked)."""
        job: Future = Future()
        job.add_done_callback(lambda f: None if f.cancelled() or f.exception() is not None
                              else on_done(f.result()))
        with self.lock:
            self.ahead.append((job, scenario, data_path))
        self._next_ahead()
        return job

    def _next_ahead(self) -> None:
        """Give the pool the next work-ahead job if it has nothing else to do."""
        with self.lock:
            if self.ahead_running is not None or any(not f.done() for f in self.jobs.values()):
                return
            while self.ahead:
                job, scenario, data_path = self.ahead.popleft()
                if job.set_running_or_notify_cancel():
                    break
            else:
                return
            try:
                inner = self.pool.submit(self.work, scenario, data_path, 1, scenario.seed,
                                         "expected")
            except RuntimeError as e:  # the pool is shut down or broken: so are the rest
                job.set_exception(e)
                while self.ahead:
                    rest = self.ahead.popleft()[0]
                    if rest.set_running_or_notify_cancel():
                        rest.set_exception(e)
                return
            self.ahead_running = inner

        def finished(f: Future, job=job):
            with self.lock:
                self.ahead_running = None
            try:
                if f.cancelled():
                    job.set_exception(CancelledError())
                elif f.exception() is not None:
                    job.set_exception(f.exception())
                else:
                    job.set_result(f.result())
            finally:
                self._next_ahead()

        inner.add_done_callback(finished)

    def shutdown(self) -> None:
        with self.lock:
            while self.ahead:
                self.ahead.popleft()[0].cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)
