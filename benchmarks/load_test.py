"""Load test of the app: 1, 3 and 6 browser sessions at once (Playwright, headless Chromium,
loopback only), each doing the same actions:

* **load**: open the app and wait for the key figures;
* **ask_bands**: ask for uncertainty bands (``--reps`` runs): until the page says they are
  being worked out (expected values shown meanwhile);
* **switch**: while those bands are queued or running, choose another scenario than the
  default (pfg-2027) and wait for its expected-value figures - the answer that must never
  wait behind anyone's bands; in three parts (:class:`AnswerClock`): **switch_asked**, from
  the click to the page's request leaving the browser (the choice typed into the browser's
  list), **switch_delivered**, from that request to the answer's first key figure reaching
  the page (the server), and **switch_drawn**, from there to the figures shown (the browser);
* **year**: move the year slider and wait for the figures to change;
* **bands_done** (one session only): wait until the page shows the bands.

The browsers run on the same machine as the app, standing in for users' own machines: they
are kept at a user's priority (:class:`BrowserPriority`), not above the app's.

Prints the median and maximum seconds per action for each number of sessions, the
server's peak memory (the Streamlit process and its band workers, sampled every 0.2 s) and
the CPU seconds the server, its band workers and the browsers used (:class:`ProcessWatch`: on
two cores shared with six browsers, whose share decides what is being measured);
writes ``benchmarks/load_test.json``. The app is started on a free loopback port and stopped
at the end; nothing leaves the machine. Bounded: each action has a deadline (``--deadline``)
and a session that misses one records it and stops.

With ``--map-drawing off`` the browsers do not draw the deck.gl map (WebGL off), so what is
timed is the server's answer without six software-WebGL maps on its two cores.

``--browser-nice 19`` runs the browsers and their drivers below the server (as if on other
machines; the band workers run at 19 too).

Run: ``.venv/bin/python benchmarks/load_test.py [--sessions 1 3 6] [--reps 200]
[--map-drawing software|off] [--browser-nice N] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
MAP_DRAWING = {
    # The browsers stand in for users' own machines but share the server's cores here. A map
    # drawn with software WebGL takes seconds of both cores per session (a user's GPU draws it
    # in milliseconds, on their machine): six of them measure the test rig, not the server.
    # With "off" the browsers do not draw the map (WebGL off: every other element is drawn),
    # which shows what the server alone does under load; the browser test times the map's
    # drawing for one user.
    "off": ["--disable-webgl", "--disable-3d-apis"],
    "software": ["--use-angle=swiftshader", "--enable-unsafe-swiftshader"],
}
SCENARIOS = ("baseline.yaml", "coldspots-first.yaml", "senior-roles-out.yaml",
             "plan-for-change-2030.yaml", "progression-levers.yaml", "dbt-darlington.yaml")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(port: int) -> subprocess.Popen:
    """The app on ``port``, in a process group of its own (stopped as one) but in this
    harness's session, so in its scheduling group (see :meth:`BrowserPriority._lower`)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, process_group=0, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                      timeout=1).read() == b"ok":
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the app stopped at start")
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("the app did not start")


class BrowserPriority(threading.Thread):
    """Keeps the browsers' processes at the priority any user's browser has.

    Chromium raises its GPU process to nice -8 when it may (run as root, as here): the
    software-WebGL drawing of every session's maps then outranked the app itself, though the
    browsers stand in for users' own machines and a browser run by a user cannot do that.
    Every 0.5 s, any thread of the browsers (and of their Playwright drivers) below nice
    ``level`` is set to ``level``: 0 by default (no process is made slower than a user's
    would be); a higher level lets the server's work go first, as if the browsers were on
    other machines (``--browser-nice``)."""

    def __init__(self, level: int = 0):
        super().__init__(daemon=True)
        self.stop, self.reset, self.level = threading.Event(), 0, level
        try:  # this harness's group, which the app shares (it is started in this session)
            self.own_group = Path("/proc/self/autogroup").read_text().split()[0]
        except (OSError, IndexError):
            self.own_group = None

    def run(self):
        import psutil

        me = psutil.Process()
        while not self.stop.is_set():
            for p in me.children(recursive=True):
                try:
                    name = p.name()
                    if "chrom" in name or (self.level > 0 and "node" in name):
                        self._lower(p)
                except psutil.Error:
                    pass
            time.sleep(0.5)

    def _lower(self, p) -> None:
        """Every thread of ``p`` to at least :attr:`level`, and its autogroup too.

        On Linux a nice level belongs to a thread: renicing a process that has started its
        threads (as ``p.nice()`` does) lowers only its main thread (a thread started later
        takes its starter's level). And where the kernel groups processes by session
        (``/proc/sys/kernel/sched_autogroup_enabled``, on here), nice levels only rank
        threads within a group, while the groups share the cores equally: Playwright starts
        each browser in a session of its own, so six browsers' groups took as much CPU as the
        app's, whatever their threads' levels. A group's own level is in
        ``/proc/PID/autogroup``."""
        group = Path(f"/proc/{p.pid}/autogroup")
        try:
            name, _, level = group.read_text().split()
            if name != self.own_group and int(level) < self.level:  # (not the app's group)
                group.write_text(str(self.level))
                self.reset += 1
        except (OSError, ValueError):  # (no autogroups here, or it has ended)
            pass
        for t in p.threads():
            try:
                if os.getpriority(os.PRIO_PROCESS, t.id) < self.level:
                    os.setpriority(os.PRIO_PROCESS, t.id, self.level)
                    self.reset += 1
            except OSError:  # (the thread has ended)
                pass


class ProcessWatch(threading.Thread):
    """What the processes of a level use, sampled every 0.2 s: the peak resident memory of the
    server and its children (the band workers), and the CPU seconds of the server, its band
    workers and the browsers (Chromium and the Playwright drivers), to say where the two cores
    went. The server's start (its imports, before the level's first page) is left out of its
    CPU; each process's last reading is kept, so processes that end before the level does
    still count (but for at most their last 0.2 s)."""

    GROUPS = ("server", "band_workers", "browsers")

    def __init__(self, server_pid: int):
        super().__init__(daemon=True)
        self.server_pid, self.peak, self.stop = server_pid, 0, threading.Event()
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (group, CPU seconds so far)
        self.server_start = 0.0

    def _cpu(self, p, group: str) -> None:
        import psutil

        try:
            t = p.cpu_times()
            self.cpu[p.pid] = (group, t.user + t.system)
        except psutil.Error:
            pass

    def _sample(self, server, me) -> None:
        import psutil

        try:
            workers = server.children(recursive=True)
        except psutil.Error:
            workers = []
        rss = 0
        for p, group in [(server, "server"), *((w, "band_workers") for w in workers)]:
            self._cpu(p, group)
            try:
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, rss)
        skip = {self.server_pid, *(p.pid for p in workers)}
        try:
            for p in me.children(recursive=True):
                if p.pid not in skip:
                    self._cpu(p, "browsers")
        except psutil.Error:
            pass

    def run(self):
        import psutil

        server, me = psutil.Process(self.server_pid), psutil.Process()
        self._cpu(server, "server")
        self.server_start = self.cpu.get(self.server_pid, ("server", 0.0))[1]
        while not self.stop.wait(0.2):
            self._sample(server, me)
        self._sample(server, me)  # (the level's last moments)

    def cpu_seconds(self) -> dict[str, float]:
        out = dict.fromkeys(self.GROUPS, 0.0)
        for group, t in self.cpu.values():
            out[group] += t
        out["server"] -= self.server_start
        return {k: round(v, 1) for k, v in out.items()}


def headline(page) -> str:
    return " | ".join(page.locator("[data-testid=stMetric]").all_inner_texts())


def wait_change(page, before: str, deadline: float) -> None:
    page.wait_for_function(
        "b => { const t = [...document.querySelectorAll('[data-testid=stMetric]')]"
        ".map(e => e.innerText).join(' | '); return t && t !== b; }",
        arg=before, timeout=deadline * 1000, polling=100)


class AnswerClock:
    """When the server's answer reaches a page, in the browser's own clock.

    Listens (Chrome DevTools Protocol) to the page's websocket with the app: ``mark()``
    forgets what came before; ``times()`` gives when the first request of a whole run of the
    page (not a fragment's) was sent after the mark and when the first key figure (a metric
    element) the server sent back arrived.
    Both are stamped by the browser's network service as the frames pass, so this is the
    server's answer time (and loopback), not the time the page then takes to draw it: on two
    cores shared with five other browsers, drawing is what the browsers' own machines do.

    Frames are reported and read only from ``mark()`` until the answer has come: this harness
    runs at the app's priority, in its scheduling group, and taking in every frame of six
    sessions (each sent over the DevTools protocol, then decoded) was about 2.5 of its 7.4-8.8
    CPU seconds a test, taken from the cores it measures."""

    def __init__(self, page):
        self.frames: list[tuple[float, str]] = []  # (browser's timestamp, kind)
        self.watching = False
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.on("Network.webSocketFrameSent", lambda e: self._frame(e, "sent"))
        self.cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e, "received"))

    def _frame(self, event: dict, direction: str) -> None:
        from google.protobuf.message import DecodeError
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if not self.watching:
            return
        try:
            data = base64.b64decode(event["response"]["payloadData"])
            if direction == "sent":
                msg = BackMsg.FromString(data)
                kind = msg.WhichOneof("type")
                if kind == "rerun_script" and msg.rerun_script.fragment_id:
                    kind = "fragment_rerun"  # (a page waiting for bands looks at them)
            else:
                msg = ForwardMsg.FromString(data)
                kind = msg.WhichOneof("type")
                if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    kind = msg.delta.new_element.WhichOneof("type")
        except (KeyError, ValueError, DecodeError):
            return  # (not one of the app's messages)
        self.frames.append((event["timestamp"], kind))
        if kind == "metric" and any(k == "rerun_script" for _, k in self.frames):
            self.watching = False  # (the answer has come)

    def mark(self) -> None:
        self.frames.clear()
        self.watching = True
        self.cdp.send("Network.enable")  # (the browser reports frames from now on)

    def times(self) -> tuple[float | None, float | None]:
        """When the first request of a whole run left the page and when its first key figure
        came back, in seconds of ``CLOCK_MONOTONIC`` (the browser stamps frames with it, as
        ``time.perf_counter`` reads it on Linux), or None. Frames are no longer reported."""
        self.watching = False
        self.cdp.send("Network.disable")
        asked = next((t for t, kind in self.frames if kind == "rerun_script"), None)
        if asked is None:
            return None, None
        return asked, next((t for t, kind in self.frames if kind == "metric" and t >= asked),
                           None)


def session(url: str, index: int, reps: int, deadline: float, out: dict, browser_lock,
            wait_bands: bool, args: list[str]):
    """One user's actions, timed; results appended to ``out[action]``."""
    from playwright.sync_api import sync_playwright

    def record(action, t0):
        out.setdefault(action, []).append(round(time.perf_counter() - t0, 2))

    with sync_playwright() as p:
        with browser_lock:  # start the browsers one at a time (they are heavy to start)
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.set_default_timeout(deadline * 1000)
        clock = AnswerClock(page)
        try:
            t0 = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            page.locator("[data-testid=stMetric]").first.wait_for()
            record("load", t0)

            reps_box = page.locator("[data-testid=stSidebar] input[type=number]").first
            reps_box.fill(str(reps))
            reps_box.press("Enter")
            page.wait_for_timeout(1000)
            t0 = time.perf_counter()
            page.get_by_text("With uncertainty bands").first.click()
            page.get_by_text("Uncertainty bands for").first.wait_for()
            record("ask_bands", t0)  # expected values shown, the bands queued or running

            target = SCENARIOS[index % len(SCENARIOS)]
            before = headline(page)
            box = page.get_by_role("combobox", name="Choose a scenario")
            clock.mark()
            t0 = time.perf_counter()
            box.click()
            box.fill(target)
            box.press("Enter")
            page.get_by_text(f"Scenario {target.removesuffix('.yaml')}").first.wait_for()
            wait_change(page, before, deadline)
            record("switch", t0)  # the expected-value answer, with bands being worked out
            drawn = time.perf_counter()
            asked, answered = clock.times()  # (the same answer, as it reached the page)
            if answered is not None:
                # the switch in three parts: the page asks (the choice typed into the
                # browser's list), the server answers, the page draws the answer
                for part, seconds in (("switch_asked", asked - t0),
                                      ("switch_delivered", answered - asked),
                                      ("switch_drawn", drawn - answered)):
                    out.setdefault(part, []).append(round(seconds, 2))

            slider = page.locator('[data-testid=stSlider] input[type=range][aria-label="Year"]')
            slider.wait_for()
            before = headline(page)
            t0 = time.perf_counter()
            slider.focus()
            for _ in range(8):
                slider.press("ArrowLeft")
            wait_change(page, before, deadline)
            record("year", t0)

            if wait_bands:
                t0 = time.perf_counter()
                page.get_by_text(f"{reps} runs with random variation").first.wait_for()
                record("bands_done", t0)
        except Exception as e:  # noqa: BLE001 - a missed deadline is a result, not a crash
            out.setdefault("errors", []).append(f"session {index}: {type(e).__name__}: "
                                                f"{str(e).splitlines()[0][:160]}")
        finally:
            browser.close()


def run_level(url: str, n: int, reps: int, deadline: float, args: list[str]) -> dict:
    out: dict = {}
    lock = threading.Lock()
    threads = [threading.Thread(target=session,
                                args=(url, i, reps, deadline, out, lock, n == 1, args))
               for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 3, 6])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--deadline", type=float, default=600.0, help="seconds per action")
    ap.add_argument("--map-drawing", choices=sorted(MAP_DRAWING), default="software",
                    help="software (default): the browsers draw the map with software WebGL on "
                         "the server's own cores; off: they do not draw it (the server alone)")
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="niceness of the browsers and their drivers (default 0, a user's; 19 "
                         "lets the server go first, as if they were on other machines)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "load_test.json")
    a = ap.parse_args(argv)
    report = {"reps": a.reps, "cores": os.cpu_count(), "map_drawing": a.map_drawing,
              "browser_nice": a.browser_nice, "levels": {}}
    for n in a.sessions:  # a fresh app for each level: no results cached from the last one
        port = free_port()
        proc = start_app(port)
        watch = ProcessWatch(proc.pid)
        watch.start()
        priority = BrowserPriority(a.browser_nice)
        priority.start()
        try:
            out = run_level(f"http://127.0.0.1:{port}", n, a.reps, a.deadline,
                            ARGS + MAP_DRAWING[a.map_drawing])
        finally:
            watch.stop.set()
            watch.join()
            priority.stop.set()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        level = {"peak_memory_mb": round(watch.peak / 2**20),
                 "browsers_reniced": priority.reset, "cpu_seconds": watch.cpu_seconds()}
        for action in ("load", "ask_bands", "switch", "switch_asked", "switch_delivered",
                       "switch_drawn", "year", "bands_done"):
            xs = out.get(action, [])
            level[action] = {"n": len(xs), "median_s": statistics.median(xs) if xs else None,
                             "max_s": max(xs) if xs else None}
        level["errors"] = out.get("errors", [])
        report["levels"][str(n)] = level
        print(f"{n} session(s): " + ", ".join(
            f"{k} median {v['median_s']} s max {v['max_s']} s (n={v['n']})"
            for k, v in level.items() if isinstance(v, dict) and "median_s" in v)
            + f"; server peak {level['peak_memory_mb']} MB"
            + "; CPU seconds " + ", ".join(f"{k} {v}" for k, v in level["cpu_seconds"].items())
            + (f"; errors: {level['errors']}" if level["errors"] else ""), flush=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
