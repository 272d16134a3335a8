"""What the app keeps between reruns: results, maps, plans, edited scenarios and tables by key,
the data packages, each session's temporary folder, and the link between the page and its
URL.

Results are kept by scenario hash, seed, mode and replications, so moving the year slider or
switching tabs never re-runs a simulation. Every answer comes first from the expected-value
mode; bands (replications) are queued and run after the page has shown the expected values.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import streamlit as st

import placesim
from placesim.errors import PlacesimError

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
PLANS = SCENARIOS / "plans"


class Store:
    """A small thread-safe LRU of computed things (results, maps, plans), bounded by count
    and, when ``max_bytes`` is given, by the memory its items hold (:func:`size_of`)."""

    def __init__(self, size: int, max_bytes: int | None = None):
        self.size = size
        self.max_bytes = max_bytes
        self.items: OrderedDict = OrderedDict()
        self.sizes: dict = {}
        self.lock = threading.Lock()
        self.making: dict = {}  # key -> [lock, users]: one session computes, the others wait

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        return None

    def put(self, key, value):
        nbytes = size_of(value) if self.max_bytes is not None else 0
        with self.lock:
            self.items[key] = value
            self.sizes[key] = nbytes
            self.items.move_to_end(key)
            while len(self.items) > 1 and (
                    len(self.items) > self.size
                    or (self.max_bytes is not None and self.nbytes() > self.max_bytes)):
                old, _ = self.items.popitem(last=False)
                self.sizes.pop(old, None)
        return value

    def nbytes(self) -> int:
        return sum(self.sizes.values())

    def memo(self, key, fn: Callable):
        """The value kept for ``key``, or ``fn()`` kept. Sessions asking for the same key at
        once compute it once: the others wait for it (six visitors opening the app together
        ran the same scenario six times over, each slowing the others). ``fn`` must not call
        ``memo`` itself (the key's lock is not re-entrant). A waiting session cannot be
        stopped until the value is ready; if ``fn`` fails, each waiter tries again in turn."""
        value = self.get(key)
        if value is not None:
            return value
        with self.lock:
            entry = self.making.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                value = self.get(key)
                return self.put(key, fn()) if value is None else value
        finally:
            with self.lock:
                entry[1] -= 1
                if not entry[1]:
                    del self.making[key]


def size_of(value) -> int:
    """Bytes held by a results object's tables (other values count as small)."""
    import pandas as pd

    frames = [v for v in getattr(value, "__dict__", {}).values() if isinstance(v, pd.DataFrame)]
    return int(sum(f.memory_usage(index=True, deep=True).sum() for f in frames))


RESULTS_MAX_BYTES = int(float(os.environ.get("PLACESIM_RESULTS_MB", "600")) * 2**20)
"""Memory the kept results may hold, all sessions together (``PLACESIM_RESULTS_MB``)."""


@st.cache_resource(show_spinner=False)
def stores() -> dict[str, Store]:
    return {"results": Store(32, RESULTS_MAX_BYTES), "maps": Store(8), "plans": Store(16),
            "scenarios": Store(32), "tables": Store(16)}


@st.cache_resource(show_spinner=False)
def band_service():
    """The app's pool of band workers (:mod:`placesim_app.bands`), shared by all sessions."""
    from .bands import BandService

    service = BandService()
    atexit.register(service.shutdown)
    return service


@st.cache_resource(show_spinner=False)
def warm_shipped() -> list:
    """Once per app process, at its first page: the shipped scenarios' expected values are
    worked out in the band workers, away from the pages and at the workers' low priority,
    and kept in the results store, so that choosing a shipped scenario is answered without
    running it (about 0.5 s of CPU each, in the page's process otherwise).
    ``PLACESIM_WARM=0`` switches this off. Returns the jobs."""
    if os.environ.get("PLACESIM_WARM", "1") == "0":
        return []
    results = stores()["results"]
    jobs = []
    for name in scenario_files():
        try:
            s = load_choice(name)
        except PlacesimError:
            continue  # (reported when it is chosen)
        key = result_key(s, "expected", 1)
        if results.get(key) is None:
            jobs.append(band_service().warm(s, resolve_data_path_str(s),
                                            lambda res, key=key: results.put(key, res)))
    return jobs


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "session"


# --- the data package and the app's temporary folder -------------------------------------------

def data_option() -> str | None:
    """A data package given to the app (``placesim app --data DIR`` passes ``-- --data DIR``
    to the script; ``PLACESIM_DATA`` works too). Read where it is: never copied."""
    argv = sys.argv
    if "--data" in argv and argv.index("--data") + 1 < len(argv):
        return argv[argv.index("--data") + 1]
    return os.environ.get("PLACESIM_DATA") or None


def data_package(path: str | None = None):
    """A data package (default: the app's ``--data`` or the shipped one), loaded once."""
    return _load_package(path or data_option())


@st.cache_resource(show_spinner=False)
def _load_package(path: str | None):
    return placesim.load_data_package(path)


def package_for(s):
    """The data package a scenario names (confined to the shipped data by the loader)."""
    return data_package(resolve_data_path_str(s))


@st.cache_resource(show_spinner=False)
def app_folder() -> Path:
    """This app process's private temporary folder (mode 0700, one per user and process),
    removed when the app stops. Uploaded files are kept only here."""
    folder = Path(tempfile.mkdtemp(prefix=f"placesim-app-{os.getuid()}-{os.getpid()}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def session_folder() -> Path:
    """A folder for this browser session's uploads inside :func:`app_folder`."""
    sid = session_id()
    folder = app_folder() / "".join(c for c in sid if c.isalnum() or c == "-")
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


# --- results ------------------------------------------------------------------------------------

def result_key(s, mode: str, reps: int) -> tuple:
    return (s.hash(), s.seed, mode, reps if mode == "stochastic" else 1)


def result_key_of(res) -> tuple:
    """What a results object's derived tables and maps are kept by: its run, and the
    department whose view it is (a department's view carries its run's manifest)."""
    m = res.manifest
    return (m.get("scenario_hash"), m.get("seed"), m.get("mode"), m.get("replications"),
            m.get("department"))


def expected_results(s):
    key = result_key(s, "expected", 1)
    res = stores()["results"].get(key)
    if res is None:
        with st.spinner(f"Working out {s.name} (expected values)…"):
            res = stores()["results"].memo(key, lambda: placesim.simulate(
                s, package_for(s), replications=1, seed=s.seed, mode="expected"))
    return res


def best_results(s, bands: bool, reps: int, pending: list):
    """Banded results if they are ready; otherwise expected values now, bands queued."""
    if bands:
        res = stores()["results"].get(result_key(s, "stochastic", reps))
        if res is not None:
            return res
        if all(p.hash() != s.hash() for p in pending):
            pending.append(s)
    return expected_results(s)


BAND_POLL_S = 2.0
"""How often a page waiting for bands looks at its jobs (seconds)."""


def run_pending(pending: list, reps: int, slot) -> None:
    """Ask the band workers for the queued replications and show their progress in ``slot``.

    The page is already drawn with expected values, and the script run ends here: a small
    fragment (:func:`band_progress`) looks at the jobs every :data:`BAND_POLL_S` seconds and
    redraws the page with bands when they are ready. (Waiting in the script kept the page
    "running" for the minutes the bands take, and a running page is animated: every waiting
    browser spent most of a core on it, which on a shared machine was taken from the
    answers.) Waiting holds no lock, so other sessions are answered meanwhile.
    """
    from .bands import BusyError

    tried = st.session_state.setdefault("_bands_tried", set())
    jobs = st.session_state.setdefault("_band_jobs", {})  # result key -> (name, job, started)
    for s in pending:
        key = result_key(s, "stochastic", reps)
        if key in tried:
            continue
        tried.add(key)
        try:
            job = band_service().submit(session_id(), key, s, resolve_data_path_str(s), reps,
                                        s.seed, lambda res, key=key: stores()["results"].put(
                                            key, res))
        except BusyError:
            slot.warning("The app is busy working out other users' uncertainty bands: "
                         "showing expected values. Ask for bands again in a minute.")
            return
        jobs[key] = (s.name, job, time.monotonic())
    wanted = {result_key(s, "stochastic", reps) for s in pending}
    for key in [k for k in jobs if k not in wanted]:  # bands no longer shown: not watched
        del jobs[key]
    failed = [(name, job.exception()) for name, job, _ in jobs.values()
              if job.done() and not job.cancelled() and job.exception() is not None]
    if failed:
        name, e = failed[0]
        slot.error(failure_text(name, e))
    elif jobs:
        with slot.container():
            band_progress(reps)


@st.fragment(run_every=BAND_POLL_S)
def band_progress(reps: int) -> None:
    """Progress of this session's band jobs; the whole page reruns once none is left running
    (to show the bands, or a failure)."""
    jobs = st.session_state.get("_band_jobs", {})
    for key, (name, job, started) in list(jobs.items()):
        if job.cancelled():  # replaced by a newer request: it may be asked for again later
            del jobs[key]
            st.session_state.get("_bands_tried", set()).discard(key)
        elif not job.done():
            state = "being worked out" if job.running() else "waiting for a free worker"
            st.info(f"Uncertainty bands for {name} ({reps} runs) are {state} "
                    f"({int(time.monotonic() - started)} s so far); the figures shown are "
                    "expected values.")
            return
        elif job.exception() is None:
            stores()["results"].put(key, job.result())
            del jobs[key]
    st.rerun()


def failure_text(name: str, e: BaseException) -> str:
    return (f"The runs for {name} failed: {e}" if isinstance(e, PlacesimError)
            else f"The runs for {name} failed ({type(e).__name__}).")


def resolve_data_path_str(s) -> str | None:
    """The data package a scenario names, as the workers load it (None: the shipped one or
    the app's ``--data``)."""
    from placesim.scenario import SHIPPED_DATA, resolve_data_path

    p = resolve_data_path(s)
    if p is None or p == SHIPPED_DATA.resolve():
        return data_option()
    return str(p)


# --- scenarios ----------------------------------------------------------------------------------

def scenario_files() -> list[str]:
    return sorted(p.name for p in SCENARIOS.glob("*.yaml"))


def load_choice(name: str):
    """A shipped scenario, read once until a file in the scenarios folder changes (a
    scenario can extend another or name a CSV there): every rerun reads the chosen one, and
    parsing and validating it took about a twentieth of the server's time per rerun."""
    return stores()["scenarios"].memo(("file", name, _folder_state()), lambda: (
        placesim.load_scenario(SCENARIOS / name, root=SCENARIOS)))


def _folder_state() -> tuple:
    """Each file's name, size and modification time under the scenarios folder."""
    out = []
    for p in sorted(SCENARIOS.rglob("*")):
        try:
            st_ = p.stat()
        except OSError:
            continue
        out.append((str(p), st_.st_size, st_.st_mtime_ns))
    return tuple(out)


def problems_markdown(intro: str, err: Exception) -> str:
    lines = [str(line).replace("`", "'") for line in str(err).splitlines() if str(line).strip()]
    return intro + "\n\n" + "\n".join(f"- `{line}`" for line in lines)


# --- the URL ------------------------------------------------------------------------------------

#: Query parameters and the widget state they restore. Lever edits are added by
#: :class:`placesim.edits.LeverEdits`.
URL_STATE = {"scenario": "scenario", "compare": "compare", "year": "year", "tab": "view",
             "map": "map_metric", "dept": "department"}


def read_url(files: list[str], views: tuple[str, ...], metrics) -> None:
    """On a session's first run, restore the view a shared link describes."""
    if st.session_state.get("_url_read"):
        return
    st.session_state["_url_read"] = True
    from placesim.edits import LeverEdits

    q = st.query_params
    if q.get("scenario") in files:
        st.session_state["scenario"] = q["scenario"]
    if q.get("compare") in files or q.get("compare") == "none":
        st.session_state["compare"] = "(none)" if q["compare"] == "none" else q["compare"]
    if q.get("tab") in views:
        st.session_state["view"] = q["tab"]
    if q.get("map") in metrics:
        st.session_state["map_metric"] = q["map"]
    if q.get("dept"):  # checked against the package's departments by the picker
        st.session_state["department"] = str(q["dept"])
    if str(q.get("year", "")).isdigit():
        st.session_state["_url_year"] = int(q["year"])
    edits = LeverEdits.from_query(q)
    for k, v in edits.__dict__.items():
        st.session_state[k] = v


def write_url(values: dict[str, str | None]) -> None:
    """Keep the URL describing the current view (only what differs is written)."""
    want = {k: str(v) for k, v in values.items() if v is not None and v != ""}
    if dict(st.query_params) != want:
        st.query_params.from_dict(want)
