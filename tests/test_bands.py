"""The app's band workers (placesim_app.bands): bounded, one job per session, the same bands
worked out once, failures reported - with a cheap job in place of the replications."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from placesim_app import bands
from placesim_app.bands import BandService, BusyError


def slow_job(scenario, data_path, reps, seed, mode="stochastic"):
    """Stands in for the replications: sleeps ``reps`` tenths of a second (an expected-value
    job half a second)."""
    if scenario == "broken":
        raise ValueError("no such scenario")
    time.sleep(0.5 if mode == "expected" else reps / 10)
    return (scenario, reps, seed)


@pytest.fixture
def service():
    s = BandService(workers=1, max_queued=2, work=slow_job)
    yield s
    s.shutdown()


def test_one_job_per_session_same_bands_once_and_a_bound(service):
    done = []
    a = service.submit("s1", ("a",), "a", None, 10, 1, done.append)  # runs for a second
    while not (a.running() or a.done()):
        time.sleep(0.01)
    assert service.submit("s3", ("a",), "a", None, 10, 1, done.append) is a  # asked twice
    b = service.submit("s2", ("b",), "b", None, 1, 1, done.append)
    c = service.submit("s2", ("c",), "c", None, 1, 1, done.append)  # s2 changed its mind
    assert b.cancelled() and not c.cancelled()
    d = service.submit("s4", ("d",), "d", None, 1, 1, done.append)
    assert service.waiting() == 2
    with pytest.raises(BusyError):
        service.submit("s5", ("e",), "e", None, 1, 1, done.append)
    assert a.result(timeout=30) == ("a", 10, 1)
    assert c.result(timeout=30) == ("c", 1, 1) and d.result(timeout=30) == ("d", 1, 1)
    time.sleep(0.2)  # the callbacks run in the pool's thread
    assert sorted(done) == [("a", 10, 1), ("c", 1, 1), ("d", 1, 1)]


def test_work_ahead_never_holds_up_a_request(service):
    """The shipped scenarios' values worked out ahead go to the worker one at a time and only
    while no bands are asked: a request waits at most for the one running, then the rest
    follow in order."""
    from types import SimpleNamespace

    done = []
    ahead = [service.warm(SimpleNamespace(name=f"w{i}", seed=i), None, done.append)
             for i in range(4)]
    while not ahead[0].running():
        time.sleep(0.01)
    asked = service.submit("s1", ("a",), "a", None, 1, 1, done.append)
    assert asked.result(timeout=30) == ("a", 1, 1)
    assert ahead[0].done() and not ahead[2].done() and not ahead[3].done()
    assert [job.result(timeout=30)[0].name for job in ahead] == ["w0", "w1", "w2", "w3"]
    deadline = time.monotonic() + 30  # (the callbacks run in the pool's thread, just after)
    while len(done) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [getattr(r[0], "name", r[0]) for r in done] == ["w0", "a", "w1", "w2", "w3"]


def test_a_failed_job_is_reported_not_stored(service):
    done = []
    job = service.submit("s1", ("x",), "broken", None, 1, 1, done.append)
    with pytest.raises(ValueError, match="no such scenario"):
        job.result(timeout=30)
    assert done == []


def niceness(scenario, data_path, reps, seed):
    """A job that reports the niceness its worker runs at."""
    import os

    return os.nice(0)


def test_workers_run_at_a_lower_priority_than_the_app():
    import os

    s = BandService(workers=1, work=niceness, niceness=7)
    try:
        got = s.submit("s1", ("n",), "n", None, 1, 1, lambda r: None).result(timeout=60)
    finally:
        s.shutdown()
    assert got == min(19, os.nice(0) + 7)


def test_a_worker_starts_where_there_are_no_nice_levels(monkeypatch):
    """Windows has no ``os.nice``: a worker still starts, in a lower priority class."""
    import os

    import psutil

    from placesim_app import bands

    classes = []

    class Process:
        def nice(self, value):
            classes.append(value)

    monkeypatch.delattr(os, "nice")
    monkeypatch.setattr(bands, "_own_group", lambda increment: None)  # (would move pytest)
    monkeypatch.setattr(bands, "_watch_parent", lambda: None)
    monkeypatch.setattr(psutil, "Process", Process)
    monkeypatch.setattr(psutil, "IDLE_PRIORITY_CLASS", 64, raising=False)
    monkeypatch.setattr(psutil, "BELOW_NORMAL_PRIORITY_CLASS", 16384, raising=False)
    monkeypatch.delenv("PLACESIM_THREADS", raising=False)
    bands._start_worker(19)
    bands._start_worker(5)
    bands._start_worker(0)
    assert classes == [64, 16384]
    monkeypatch.delattr(psutil, "IDLE_PRIORITY_CLASS")
    monkeypatch.delattr(psutil, "BELOW_NORMAL_PRIORITY_CLASS")
    bands._start_worker(19)  # (and where there is neither, it starts as it is)
    assert classes == [64, 16384]


def group_of(scenario, data_path, reps, seed):
    """A job that reports its worker's session and scheduling group."""
    import os

    return os.getsid(0), Path("/proc/self/autogroup").read_text().split()


AUTOGROUPS = Path("/proc/sys/kernel/sched_autogroup_enabled")
needs_autogroups = pytest.mark.skipif(
    not AUTOGROUPS.exists() or AUTOGROUPS.read_text().strip() != "1",
    reason="the kernel does not schedule by session here")


needs_settable_groups = pytest.mark.skipif(
    not bands.group_level_settable(),
    reason="no scheduling groups whose level a process may set here")


@needs_settable_groups
def test_workers_leave_the_apps_scheduling_group():
    """Where Linux shares the cores between sessions, a worker at a low nice level in the
    app's session would still take half of them from the user's browser: it runs in a
    session of its own, whose group is as many levels down."""
    import os

    s = BandService(workers=1, work=group_of, niceness=7)
    try:
        session, group = s.submit("s1", ("g",), "g", None, 1, 1, lambda r: None).result(
            timeout=60)
    finally:
        s.shutdown()
    assert session != os.getsid(0)
    assert group[0] != Path("/proc/self/autogroup").read_text().split()[0]
    assert group[-1] == "7"


NOT_ALLOWED = """
import os, pathlib, sys
sys.path.insert(0, {root!r})
from placesim_app import bands
write = pathlib.Path.write_text
def refused(self, *args, **kwargs):
    if str(self) == "/proc/self/autogroup":
        raise PermissionError("read-only here")
    return write(self, *args, **kwargs)
pathlib.Path.write_text = refused
before = os.getsid(0)
bands._own_group(19)
print(os.getsid(0) == before)
"""


@needs_autogroups
def test_a_worker_stays_in_the_apps_group_where_it_cannot_set_a_groups_level():
    """Where a group's level cannot be set (a read-only /proc, as some containers have), a
    group of the worker's own would run at level 0, ahead of the app's other work: it stays
    in the app's session, at its own nice level there."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", NOT_ALLOWED.format(root=str(root))],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr


APP_THAT_DIES = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # (as the app's server stops)
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from placesim_app.bands import BandService
from test_bands import slow_job
s = BandService(workers=1, work=slow_job, niceness={niceness})
s.submit("s1", ("slow",), "slow", None, 600, 1, lambda r: None)  # (a minute's job)
while not s.pool._processes:
    time.sleep(0.05)
time.sleep(2)  # (the worker has started and taken the job)
print(*s.pool._processes, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("niceness", [19, 0])
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_a_worker_ends_when_the_app_ends(how, niceness):
    """Out of the app's session (at nice 19, where there are groups whose level may be set)
    a worker no longer receives the signals that stop the app, and in it (at nice 0, or
    where the level may not be set) nothing kills it with the app: stopped (it exits at once,
    not when the worker's job is done) or killed in the middle of a worker's job, the app
    leaves no worker behind."""
    import os
    import signal
    import subprocess
    import sys

    import psutil

    root = Path(__file__).resolve().parent.parent
    app = subprocess.Popen([sys.executable, "-c", APP_THAT_DIES.format(
        root=str(root), tests=str(root / "tests"), niceness=niceness)],
        stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in app.stdout.readline().split()]
        assert workers and all(psutil.pid_exists(pid) for pid in workers)
        os.kill(app.pid, getattr(signal, how))
        app.wait(timeout=20)  # (the worker's job has a minute to go)
    finally:
        app.kill()
        app.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_spawned_worker_does_not_draw_the_page():
    """Spawned workers import the app's script as ``__mp_main__``: that must not run the
    page (each worker drew it, a whole expected-value run, before its first job)."""
    import runpy
    from pathlib import Path

    import placesim_app.page as page

    calls = []
    real = page.main
    page.main = lambda: calls.append(1)
    try:
        runpy.run_path(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"),
                       run_name="__mp_main__")
        assert calls == []
        runpy.run_path(str(Path(__file__).resolve().parent.parent / "streamlit_app.py"),
                       run_name="__main__")
        assert calls == [1]  # (the guard is not simply switching the page off)
    finally:
        page.main = real


APP_WITH_A_HALF_SENT_RESULT = """
import os, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
from placesim_app.bands import BandService
from test_bands import slow_job
s = BandService(workers=1, work=slow_job, niceness=0)
s.submit("s1", ("slow",), "slow", None, 600, 1, lambda r: None)
while not s.pool._processes:
    time.sleep(0.05)
time.sleep(1)
# what a worker killed part-way through sending its result leaves: a message's length (1 MB)
# and none of it, which the pool's thread waits for
os.write(s.pool._result_queue._writer.fileno(), (1 << 20).to_bytes(4, "big"))
time.sleep(0.5)
print("exiting", flush=True)
"""


def test_the_app_exits_though_a_result_was_half_sent():
    """At exit the workers are killed, and the pool's thread, which the exit waits for, may be
    part-way through reading a result from the pipe: an app run under AppTest then exited
    only when killed, minutes later. It now exits at once."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    app = subprocess.run([sys.executable, "-c", APP_WITH_A_HALF_SENT_RESULT.format(
        root=str(root), tests=str(root / "tests"))], capture_output=True, text=True,
        timeout=60)
    assert app.returncode == 0 and "exiting" in app.stdout, app.stderr
