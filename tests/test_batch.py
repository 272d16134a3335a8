"""Batch runner: sweeps expand as documented and bad ones name file:line: field; results are
byte-identical serially, on a local Dask cluster and through a real ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1; a worker killed mid-run, an interrupted or killed
client, and a failing task are survived, resumed or reported.

Runs on the synthetic data package (20,000 posts, five years) so the whole file
takes well under a minute and a half on two cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from placesim.batch import (
    Task,
    combine,
    format_summary,
    plan_tasks,
    read_sweep,
    run_batch,
    scenario_files,
    sweep_variants,
)
from placesim.cli import main as cli_main
from placesim.errors import ScenarioError
from placesim.testing import write_synthetic_package

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SWEEP = ROOT / "scenarios" / "sweeps" / "acceptance-and-seb.sweep.yaml"
HEADCOUNT = 20_000
REPS = 18  # per scenario: 36 replications, 18 tasks of 2 on the cluster
CLUSTER_CHUNK = 2

MOVE = """name: move
data: ../pkg
horizon: {start_year: 2023, years: 5}
seed: 7
replications: 4
waves:
  - name: senior
    year: 2024
    posts: {grades: [G6, SCS1, SCS2]}
    share: 0.5
    origin: london
    destinations:
      - {site: alpha, share: 0.6}
      - {site: beta, share: 0.4}
    mode: relocate
    incumbents: {base: 0.2}
  - name: junior
    year: 2025
    spread_years: 2
    posts: {grades: [AO, EO]}
    share: 0.2
    origin: london
    destinations:
      - {coldspots: true, share: 1.0}
"""
CALM = """name: calm
data: ../pkg
horizon: {start_year: 2023, years: 5}
seed: 11
"""


# --- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("batch")
    write_synthetic_package(d / "pkg", headcount=HEADCOUNT)
    (d / "scenarios").mkdir()
    (d / "scenarios" / "move.yaml").write_text(MOVE)
    (d / "scenarios" / "calm.yaml").write_text(CALM)
    return d


def _files(work: Path) -> list[str]:
    return [str(work / "scenarios")]


@pytest.fixture(scope="module")
def serial(work) -> Path:
    """The reference: every replication run in this process, one replication per task."""
    out = work / "serial"
    tasks = plan_tasks(scenario_files(_files(work)), replications=REPS, seed=None, sweep=None,
                       chunk=1)
    s = run_batch(tasks, out, workers=0, progress=False)
    assert (s.tasks, s.ran, s.failed) == (2 * REPS, 2 * REPS, [])
    return out


def _scheduler_address(info: Path) -> str | None:
    try:
        return json.loads(info.read_text())["address"]
    except (OSError, ValueError, KeyError):  # not written yet, or half-written
        return None


class DaskProcesses:
    """A real ``dask scheduler`` and ``dask worker`` subprocesses on 127.0.0.1.

    The scheduler takes a port the kernel gives it (``--port 0``) and writes its address to a
    scheduler file: no port is chosen beforehand that another program could take first."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.workers: dict[str, subprocess.Popen] = {}
        info = folder / "scheduler.json"
        self.scheduler = self._spawn("scheduler", [
            "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
            "--scheduler-file", str(info), "--no-dashboard", "--idle-timeout", "300s"])
        _wait_for(lambda: _scheduler_address(info) or self.scheduler.poll() is not None,
                  timeout=90, what="the scheduler")
        assert self.scheduler.poll() is None, (folder / "scheduler.log").read_text()
        self.address = _scheduler_address(info)
        assert self.address.startswith("tcp://127.0.0.1:"), self.address
        self.n = 0

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        p = subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=subprocess.STDOUT,
                             cwd=self.folder, start_new_session=True)
        p.log = log
        return p

    def add_worker(self) -> str:
        self.n += 1
        name = f"w{self.n}"
        self.workers[name] = self._spawn(name, [
            "distributed.cli.dask_worker", self.address, "--nworkers", "1", "--nthreads", "1",
            "--no-dashboard", "--name", name, "--death-timeout", "60",
            "--local-directory", str(self.folder / name)])
        return name

    def pause(self) -> None:
        """Stop every worker (nanny and worker process: their process group)."""
        for p in self.workers.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGSTOP)

    def resume(self) -> None:
        for p in self.workers.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGCONT)

    def client(self):
        from dask.distributed import Client

        return Client(self.address, timeout="30s")

    def wait_for_workers(self, n: int) -> None:
        with self.client() as c:
            c.wait_for_workers(n, timeout=90)

    def kill(self, name: str) -> None:
        p = self.workers.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        p.log.close()

    def close(self) -> None:
        for p in [*self.workers.values(), self.scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in [*self.workers.values(), self.scheduler]:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=15)
            p.log.close()


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        yield procs
    finally:
        procs.close()


@pytest.fixture
def cluster(dask_processes):
    """The scheduler with two live workers (a test may have killed one)."""
    while len(dask_processes.workers) < 2:
        dask_processes.add_worker()
    dask_processes.wait_for_workers(2)
    return dask_processes


def _foreground_signals() -> None:
    """In the child: Ctrl-C interrupts, as for a command typed at a terminal. A test run
    started in the background (``make test &``, some CI runners) ignores SIGINT, the child
    inherits that, and Python then installs no KeyboardInterrupt handler at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "placesim.cli", "batch", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_foreground_signals, **kw)


def _parts(out: Path) -> list[Path]:
    return sorted((out / "replications").glob("scenario=*/variant=*/part-*.parquet"))


def _wait_for(cond, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _same_results(a: Path, b: Path) -> None:
    for name in ("metrics.csv", "districts.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


# --- sweeps -------------------------------------------------------------------------------

def test_sweep_grid_and_variants_expand(work, tmp_path):
    sweep = tmp_path / "s.sweep.yaml"
    sweep.write_text("""grid:
  waves.senior.incumbents.base: [0.1, 0.3]
  waves.*.incumbents.high_seb_multiplier: [0.5, 1.0, 2]
variants:
  - name: as-planned
    set: {}
  - name: no-junior-move
    set:
      waves.junior.share: 0.0
      levers.mentoring: {start_year: 2024}
""")
    names = [n for n, _ in sweep_variants(sweep)]
    assert names == [f"base={b},high_seb_multiplier={m}" for b in ("0.1", "0.3")
                     for m in ("0.5", "1.0", "2")] + ["as-planned", "no-junior-move"]
    assert sweep_variants(None) == [("base", {})]
    assert read_sweep(sweep)[0].changes == {"waves.senior.incumbents.base": 0.1,
                                            "waves.*.incumbents.high_seb_multiplier": 0.5}

    tasks = plan_tasks([work / "scenarios" / "move.yaml"], replications=5, seed=3, sweep=sweep,
                       chunk=2)
    assert len(tasks) == 8 * 3
    assert [(t.first, t.last) for t in tasks[:3]] == [(0, 2), (2, 4), (4, 5)]
    assert {t.seed for t in tasks} == {3}
    docs = {t.variant: yaml.safe_load(t.scenario_yaml) for t in tasks}
    v = docs["base=0.3,high_seb_multiplier=2"]
    assert v["waves"][0]["incumbents"]["base"] == 0.3
    assert v["waves"][0]["incumbents"]["high_seb_multiplier"] == 2  # '*': every wave it
    assert "incumbents" not in v["waves"][1]  # applies to (junior re-creates: no one moves)
    assert docs["no-junior-move"]["waves"][1]["share"] == 0.0
    assert docs["no-junior-move"]["levers"]["mentoring"] == {"start_year": 2024}
    base = yaml.safe_load(plan_tasks([work / "scenarios" / "move.yaml"], replications=1,
                                     seed=3, sweep=None)[0].scenario_yaml)
    assert docs["as-planned"] == base
    assert Path(base["data"]).is_absolute() and Path(base["data"]) == (work / "pkg").resolve()


def test_sweep_of_a_dotted_parameter_and_the_seed_it_runs_with(work, tmp_path):
    """A parameter whose name has dots (``costs.discount_rate``) can be swept (it was refused
    as 'must be a number'), each run's seed is the one in the scenario saved with it (the
    saved scenario said 111 where the runs used --seed 7), and a sweep of the seed with
    --seed, which would make its variants alike, is refused."""
    sweep = tmp_path / "d.sweep.yaml"
    sweep.write_text("grid:\n  parameters.values.costs.discount_rate: [0.035, 0.05]\n")
    tasks = plan_tasks([work / "scenarios" / "move.yaml"], replications=1, seed=7,
                       sweep=sweep)
    docs = [yaml.safe_load(t.scenario_yaml) for t in tasks]
    assert [d["parameters"]["values"]["costs.discount_rate"] for d in docs] == [0.035, 0.05]
    assert {d["seed"] for d in docs} == {7} == {t.seed for t in tasks}
    seeds = tmp_path / "s.sweep.yaml"
    seeds.write_text("variants:\n  - {name: a, set: {seed: 111}}\n"
                     "  - {name: b, set: {seed: 222}}\n")
    alone = plan_tasks([work / "scenarios" / "move.yaml"], replications=1, seed=None,
                       sweep=seeds)
    assert [t.seed for t in alone] == [111, 222]
    with pytest.raises(ScenarioError, match="--seed sets it for every variant"):
        plan_tasks([work / "scenarios" / "move.yaml"], replications=1, seed=7, sweep=seeds)


def test_sweep_variants_keep_the_scenarios_text(work, tmp_path):
    """A variant's scenario is written out and read back as the same text: a NEL (U+0085),
    which YAML reads as a line break when written as it is, stays a NEL."""
    from placesim import load_scenario

    text = MOVE.replace("name: move", "name: move\nquestion: \"Leeds\\Nor York?\"", 1)
    text = text.replace("data: ../pkg", f"data: {(work / 'pkg').resolve()}", 1)
    (tmp_path / "nel.yaml").write_text(text, encoding="utf-8")
    assert load_scenario(tmp_path / "nel.yaml").question == "Leeds\x85or York?"
    sweep = tmp_path / "q.sweep.yaml"
    sweep.write_text("variants:\n  - name: as-planned\n    set: {}\n")
    tasks = plan_tasks([tmp_path / "nel.yaml"], replications=1, seed=3, sweep=sweep)
    assert [yaml.safe_load(t.scenario_yaml)["question"] for t in tasks] == [
        "Leeds\x85or York?"]


def test_example_sweep_validates_over_its_base_scenario():
    text = EXAMPLE_SWEEP.read_text()
    assert text.startswith("# Question:")
    tasks = plan_tasks([ROOT / "scenarios" / "pfg-2027.yaml"], replications=2, seed=None,
                       sweep=str(EXAMPLE_SWEEP), chunk=2)
    variants = {t.variant: yaml.safe_load(t.scenario_yaml) for t in tasks}
    assert len(variants) == len(tasks) == 8
    v = variants["base=0.38,high_seb_multiplier=0.8"]
    assert len(v["waves"]) == 11  # history's eight PfG tranches and pfg-2027's three
    moving = [w for w in v["waves"] if w.get("mode") == "relocate"]  # (the others re-create
    assert len(moving) == 1  # roles: no one is asked to move, and nothing reads incumbents)
    assert [w["incumbents"]["base"] for w in moving] == [0.38]
    assert [w["incumbents"]["high_seb_multiplier"] for w in moving] == [0.8]
    assert not any("incumbents" in w for w in v["waves"] if w.get("mode") != "relocate")
    assert variants["relocation-support"]["levers"]["relocation_support"]["start_year"] == 2023


BAD_SWEEPS = [
    ("grid:\n  waves.senior.count: [1\n", 3, "yaml", "malformed YAML"),  # at the stream end
    ("grid:\n  waves.senior.incumbents.base: [0.1]\ngird: {}\n", 3, "gird", "unknown key"),
    ("grid:\n  waves.senior.incumbents.base: 0.1\n", 2, "grid.waves.senior.incumbents.base",
     "non-empty list"),
    ("grid:\n  waves.senior.incumbents.base:\n    - 0.1\n    - 1.5\n", 4,
     "waves.senior.incumbents.base", "less than or equal to 1"),
    ("variants:\n  - name: a\n    set:\n      waves.nosuch.share: 0.1\n", 4,
     "waves.nosuch.share", "no entry named 'nosuch'"),
    ("variants:\n  - name: a\n    set:\n      waves.senior.incumbents.bsae: 0.1\n", 4,
     "waves.senior.incumbents.bsae", "unknown key"),
    ("variants:\n  - name: a\n    set:\n      waves.senior.destinations:\n"
     "        - {site: nowhere, share: 1.0}\n", 4, "waves.senior.destinations", "unknown site"),
    ("variants:\n  - name: a\n    set: {}\n  - name: a\n    set: {}\n", 4, "variants",
     "two variants are named 'a'"),
    ("variants:\n  - name: ../../etc\n    set: {}\n", 2, "variants[0].name", "needs a name"),
    ("variants:\n  - name: a\n    set: {name: other}\n", 3, "variants[0].set.name",
     "cannot be swept"),
    ("[1, 2]\n", 1, "sweep", "grid"),
]


@pytest.mark.parametrize("text,line,field,words", BAD_SWEEPS,
                         ids=[f"{i}-{c[2]}" for i, c in enumerate(BAD_SWEEPS)])
def test_bad_sweep_file_names_file_line_and_field(work, tmp_path, capsys, text, line, field,
                                                  words):
    sweep = tmp_path / "bad.sweep.yaml"
    sweep.write_text(text)
    out = tmp_path / "out"
    code = cli_main(["batch", str(work / "scenarios" / "move.yaml"), "--sweep", str(sweep),
                     "--workers", "0", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{sweep}:{line}: {field}: " in err, err
    assert words in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing starts before the whole plan is valid


def test_bad_scenario_and_paths_are_refused_before_any_work(work, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(MOVE.replace("data: ../pkg", f"data: {work / 'pkg'}")
                   .replace("share: 0.5", "share: 1.5"))
    code = cli_main(["batch", str(bad), "--workers", "0", "--out", str(tmp_path / "o")])
    assert code == 2
    assert f"{bad}:10: waves[0].share: " in capsys.readouterr().err
    code = cli_main(["batch", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "no such file or folder" in capsys.readouterr().err
    dup = tmp_path / "dup"
    dup.mkdir()
    for n in ("a", "b"):
        (dup / f"{n}.yaml").write_text(CALM.replace("data: ../pkg", f"data: {work / 'pkg'}"))
    assert cli_main(["batch", str(dup), "--workers", "0", "--out", str(tmp_path / "o")]) == 2
    assert "also used by" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_folder_with_several_bad_files_names_every_one(work, tmp_path, capsys):
    """Every bad file of a batch's folder is named at once, as ``validate`` names them (it
    stopped at the first; review), and nothing runs."""
    folder = tmp_path / "bad"
    folder.mkdir()
    data = f"data: {work / 'pkg'}"
    (folder / "a-field.yaml").write_text(MOVE.replace("data: ../pkg", data)
                                         .replace("name: move", "name: a")
                                         .replace("share: 0.5", "share: 1.5"))
    (folder / "b-site.yaml").write_text(MOVE.replace("data: ../pkg", data)
                                        .replace("name: move", "name: b")
                                        .replace("site: alpha", "site: nowhere"))
    (folder / "c-good.yaml").write_text(CALM.replace("data: ../pkg", data))
    out = tmp_path / "o"
    code = cli_main(["batch", str(folder), "--workers", "0", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{folder / 'a-field.yaml'}:10: waves[0].share: " in err, err
    assert f"{folder / 'b-site.yaml'}:" in err and "nowhere" in err, err
    assert not out.exists()


# --- serial runs ----------------------------------------------------------------------------

def test_batch_bands_match_simulate(work, serial):
    """The combined bands are those `placesim run` computes from the same replications."""
    from placesim import load_scenario
    from placesim.simulation import simulate

    res = simulate(load_scenario(work / "scenarios" / "move.yaml"), replications=REPS)
    got = pd.read_csv(serial / "metrics.csv")
    assert set(got["scenario"]) == {"move", "calm"} and set(got["variant"]) == {"base"}
    assert (got["replications"] == REPS).all()
    got = got[got["scenario"] == "move"]
    j = got.merge(res.metrics, on=["year", "metric", "group"], suffixes=("_b", "_r"))
    assert len(j) == len(got) == len(res.metrics)
    for c in ("mean", "p10", "p50", "p90"):
        np.testing.assert_allclose(j[f"{c}_b"], j[f"{c}_r"], rtol=1e-5, atol=1e-9)
    d = pd.read_csv(serial / "districts.csv", dtype={"lad_code": str})
    d = d[d["scenario"] == "move"].merge(res.districts, on=["year", "lad_code", "metric"],
                                         suffixes=("_b", "_r"))
    assert len(d) == len(res.districts)
    np.testing.assert_allclose(d["p90_b"], d["p90_r"], rtol=1e-5, atol=1e-9)
    # the partitions form a Hive dataset with scenario and variant from the paths
    raw = pd.read_parquet(serial / "replications")
    assert len(raw.groupby(["scenario", "variant", "replication"], observed=True)) == 2 * REPS


def test_batch_with_parameter_draws_matches_simulate(work, tmp_path):
    """With parameter uncertainty, a batch draws what ``placesim run`` draws: an assumption
    the scenario sets (here ``outbound_per_site: 10``, its default) is held in both (the
    batch runs the scenario as written out, which left defaults out, so it drew it: 80
    figures of social-mobility-levers differed, its NPV by up to 3e-4 relatively; review),
    and each replication's figures come through the model it ran."""
    from placesim import load_scenario
    from placesim.simulation import simulate

    scen = work / "levers" / "levers.yaml"  # (its lever's assumptions are drawn too)
    scen.parent.mkdir(exist_ok=True)
    scen.write_text(MOVE.replace("name: move", "name: levers") + """levers:
  secondments: {start_year: 2023, sites: [alpha, beta], inbound_per_site: 40,
                outbound_per_site: 10}
""")
    res = simulate(load_scenario(scen), replications=3, parameter_uncertainty=True)
    tasks = plan_tasks([scen], replications=3, seed=None, sweep=None, chunk=3,
                       parameter_uncertainty=True)
    run_batch(tasks, tmp_path / "b", workers=0, progress=False)
    raw = pd.read_parquet(tmp_path / "b" / "replications")  # (each figure unrounded)
    raw = raw.assign(metric=raw["metric"].astype(str), group=raw["group"].astype(str))
    keys = ["replication", "year", "metric", "group"]
    j = raw.merge(res.replications, on=keys, suffixes=("_b", "_r"))
    assert len(j) == len(res.replications) > 0
    np.testing.assert_allclose(j["value_b"], j["value_r"], rtol=1e-12, atol=1e-9)
    # and the batch's bands say what `placesim run`'s say they hold (the batch's own copy
    # of the words had lost "need not be centred")
    from placesim.simulation import START_WORDS, held_words

    bands = json.loads((tmp_path / "b" / "batch.json").read_text())["bands"]
    assert bands.endswith(held_words() + START_WORDS)
    assert held_words() in res.manifest["uncertainty"]["description"]


def test_resume_skips_finished_tasks_and_refuses_another_batch(work, serial, tmp_path):
    out = tmp_path / "out"
    files = scenario_files(_files(work))
    tasks = plan_tasks(files, replications=6, seed=None, sweep=None, chunk=3)
    assert run_batch(tasks, out, workers=0, progress=False).ran == 4
    lost = tasks[1].path(out)
    lost.unlink()  # as if its worker was killed before it finished
    # a temporary file left by a killed worker is not a result
    (lost.parent / ".part-r00003-r00006.x1y2.tmp.parquet").write_bytes(b"half a file")
    kept = {q: (q.stat().st_ino, q.stat().st_mtime_ns) for q in _parts(out)}
    s = run_batch(tasks, out, workers=0, progress=False)
    assert (s.tasks, s.skipped, s.ran, s.failed) == (4, 3, 1, [])
    assert {q: (q.stat().st_ino, q.stat().st_mtime_ns) for q in kept} == kept
    assert lost.is_file()
    assert (_summary(out)["skipped"], _summary(out)["ran"]) == (3, 1)
    with pytest.raises(ScenarioError, match="different batch"):
        run_batch(plan_tasks(files, replications=6, seed=99, sweep=None, chunk=3), out,
                  workers=0, progress=False)
    # more replications extend the batch, and give the serial reference's numbers
    s = run_batch(plan_tasks(files, replications=REPS, seed=None, sweep=None, chunk=3), out,
                  workers=0, progress=False)
    assert (s.skipped, s.ran) == (4, 2 * REPS // 3 - 4)
    _same_results(out, serial)


def test_extending_a_partial_last_chunk_replaces_it(work, tmp_path):
    out = tmp_path / "out"
    files = [work / "scenarios" / "calm.yaml"]
    run_batch(plan_tasks(files, replications=3, seed=None, sweep=None, chunk=2), out,
              workers=0, progress=False)  # r0-2, r2-3
    first = _parts(out)[0]
    kept = (first.stat().st_ino, first.stat().st_mtime_ns)
    s = run_batch(plan_tasks(files, replications=4, seed=None, sweep=None, chunk=2), out,
                  workers=0, progress=False)  # r0-2 kept, r2-4 replaces r2-3
    assert (s.skipped, s.ran, s.superseded) == (1, 1, 1)
    assert [q.name for q in _parts(out)] == ["part-r00000-r00002.parquet",
                                             "part-r00002-r00004.parquet"]
    assert (first.stat().st_ino, first.stat().st_mtime_ns) == kept
    raw = pd.read_parquet(out / "replications")
    assert sorted(raw.groupby("replication").size().index) == [0, 1, 2, 3]
    assert raw.groupby("replication").size().nunique() == 1  # no replication twice
    ref = tmp_path / "ref"
    run_batch(plan_tasks(files, replications=4, seed=None, sweep=None, chunk=4), ref, workers=0,
              progress=False)
    _same_results(out, ref)


def test_combine_rejects_overlapping_partitions(work, tmp_path):
    out = tmp_path / "out"
    files = [work / "scenarios" / "calm.yaml"]
    run_batch(plan_tasks(files, replications=2, seed=None, sweep=None, chunk=1), out,
              workers=0, progress=False)
    t = plan_tasks(files, replications=2, seed=None, sweep=None, chunk=2)[0]
    pd.concat([pd.read_parquet(p) for p in _parts(out)]).to_parquet(t.path(out))
    with pytest.raises(Exception, match="overlap"):
        combine(out)


# --- a local cluster and a real dask scheduler --------------------------------------------

@pytest.mark.cluster
def test_local_cluster_identical_to_serial(work, serial, tmp_path):
    out = tmp_path / "local"
    tasks = plan_tasks([work / "scenarios" / "move.yaml"], replications=REPS, seed=None,
                       sweep=None, chunk=4)
    s = run_batch(tasks, out, workers=2, progress=False)
    assert (s.ran, s.failed, s.mode, s.workers) == (len(tasks), [], "local", 2)
    for name in ("metrics.csv", "districts.csv"):
        ref = [line for line in (serial / name).read_bytes().splitlines(keepends=True)
               if line.startswith(b"move,")]
        header, *rows = (out / name).read_bytes().splitlines(keepends=True)
        assert header == (serial / name).read_bytes().splitlines(keepends=True)[0]
        assert rows == ref, name


@pytest.mark.cluster
def test_scheduler_identical_to_serial(work, serial, cluster, tmp_path):
    out = tmp_path / "sched"
    tasks = plan_tasks(scenario_files(_files(work)), replications=REPS, seed=None, sweep=None,
                       chunk=CLUSTER_CHUNK)
    s = run_batch(tasks, out, scheduler=cluster.address, progress=False)
    assert (s.ran, s.failed, s.mode, s.workers) == (len(tasks), [], "scheduler", 2)
    assert len({r["worker"] for r in s.task_records}) == 2  # both workers took tasks
    _same_results(out, serial)


def _wait_idle(cluster) -> None:
    """Until the scheduler holds no tasks and no worker executes one (an interrupted client's
    running tasks finish on the workers after it has gone)."""
    from dask.distributed import Client

    with Client(cluster.address, timeout="30s") as c:
        quiet = 0
        deadline = time.monotonic() + 60
        while quiet < 3:
            assert time.monotonic() < deadline, "workers did not go idle"
            n_sched = c.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
            running = c.run(lambda dask_worker: dask_worker.state.executing_count)
            quiet = quiet + 1 if n_sched == 0 and not any(running.values()) else 0
            time.sleep(0.2)


@pytest.mark.cluster
def test_interrupted_and_killed_client_resume_without_recomputing(work, serial, cluster,
                                                                   tmp_path):
    out = tmp_path / "resumed"
    args = (*_files(work), "--replications", str(REPS), "--chunk", str(CLUSTER_CHUNK),
            "--scheduler", cluster.address, "--out", str(out))
    total = 2 * REPS // CLUSTER_CHUNK
    finished: dict[Path, tuple[int, int]] = {}

    def snapshot() -> dict[Path, tuple[int, int]]:
        return {q: (q.stat().st_ino, q.stat().st_mtime_ns) for q in _parts(out)}

    for sig, code in ((signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)):
        p = _cli(*args)
        try:
            want = len(finished) + 3
            _wait_for(lambda: len(_parts(out)) >= want or p.poll() is not None,  # noqa: B023
                      what=f"{want} partitions")
            # pause the workers, then freeze the client: between this check and the signal
            # neither the client (a fresh clone's run saw exit 0) nor the workers (the tenth
            # of ten consecutive runs saw every task written: the cluster does not wait for a
            # frozen client) may finish the batch; the tasks they hold finish after it is gone
            cluster.pause()
            p.send_signal(signal.SIGSTOP)
            assert p.poll() is None, "the batch must still be running"
            p.send_signal(sig)
            p.send_signal(signal.SIGCONT)
            stdout, stderr = p.communicate(timeout=60)
        finally:
            cluster.resume()
            if p.poll() is None:
                p.kill()
        assert p.returncode == code, stderr
        if sig == signal.SIGINT:
            assert "rerun the same command to resume" in stderr
        _wait_idle(cluster)
        now = snapshot()
        assert all(now[q] == v for q, v in finished.items()), "finished tasks were rerun"
        assert len(finished) < len(now) < total
        finished = now

    p = _cli(*args)
    stdout, stderr = p.communicate(timeout=120)
    assert p.returncode == 0, stderr
    assert f"{total} tasks: {len(finished)} already done, {total - len(finished)} run" in stdout
    s = _summary(out)
    assert (s["skipped"], s["ran"]) == (len(finished), total - len(finished))
    assert all(snapshot()[q] == v for q, v in finished.items()), "finished tasks were rerun"
    _same_results(out, serial)


@pytest.mark.cluster
def test_failing_task_is_reported_and_the_others_complete(work, serial, cluster, tmp_path,
                                                          capfd):
    """A variant whose coldspot CSV names an unknown district is refused before any work,
    naming the CSV's line; if the CSV changes after the checks (a shared filesystem), its tasks
    fail on the workers, are reported with scenario, variant, replications and error, and the
    other variants complete."""
    csv = tmp_path / "coldspots.csv"
    csv.write_text("lad_code\nE08000003\nE99999999\n")
    sweep = tmp_path / "s.sweep.yaml"
    sweep.write_text("""variants:
  - name: ok
    set: {}
  - name: broken
    set:
      coldspots: {rule: csv, csv: coldspots.csv}
  - name: fewer
    set:
      waves.senior.share: 0.25
""")
    move = work / "scenarios" / "move.yaml"
    with pytest.raises(ScenarioError) as e:
        plan_tasks([move], replications=4, seed=None, sweep=sweep, chunk=2)
    assert f"{csv.resolve()}:3: lad_code: unknown district code 'E99999999'" in str(e.value)
    csv.write_text("lad_code\nE08000003\n")
    tasks = plan_tasks([move], replications=4, seed=None, sweep=sweep, chunk=2)
    csv.write_text("lad_code\nE08000003\nE99999999\n")  # changed after the checks
    out = tmp_path / "failing"
    s = run_batch(tasks, out, scheduler=cluster.address, progress=True)
    stdout, stderr = format_summary(s), capfd.readouterr().err
    assert "6 tasks: 0 already done, 4 run, 2 failed" in stdout
    for reps in ("0-1", "2-3"):
        assert (f"FAILED scenario move, variant broken, replications {reps}: DataError: "
                f"{csv.resolve()}: column 'lad_code': line 3: unknown district code "
                "'E99999999'") in stdout
    assert "6/6 tasks (12/12 replications)" in stderr and "ETA" in stderr  # progress bar
    m = pd.read_csv(out / "metrics.csv")
    assert sorted(set(m["variant"])) == ["fewer", "ok"]
    assert len(_parts(out)) == 4
    summary = _summary(out)
    assert [f["task"] for f in summary["failed"]] == [
        "scenario move, variant broken, replications 0-1",
        "scenario move, variant broken, replications 2-3"]
    # the unchanged variant is the scenario itself: same numbers as its first 4 replications
    ref = run_batch(plan_tasks([move], replications=4, seed=None, sweep=None),
                    tmp_path / "ref", workers=0, progress=False)
    assert ref.ran == 1
    a = m[m["variant"] == "ok"].drop(columns="variant").reset_index(drop=True)
    b = pd.read_csv(tmp_path / "ref" / "metrics.csv").drop(columns="variant")
    pd.testing.assert_frame_equal(a, b)


def test_task_refuses_other_code(work, tmp_path):
    t = plan_tasks([work / "scenarios" / "calm.yaml"], replications=1, seed=None, sweep=None)[0]
    other = Task(**{**t.__dict__, "code": "0123456789ab"})
    s = run_batch([other], tmp_path / "o", workers=0, progress=False)
    assert s.ran == 0 and "runs other placesim code" in s.failed[0][1]


@pytest.mark.cluster
def test_killed_worker_batch_completes_identically(work, serial, cluster, tmp_path):
    from dask.distributed import Client

    out = tmp_path / "killed"
    p = _cli(*_files(work), "--replications", str(REPS), "--chunk", str(CLUSTER_CHUNK),
             "--scheduler", cluster.address, "--out", str(out))
    try:
        _wait_for(lambda: _parts(out) or p.poll() is not None, what="a first partition")
        with Client(cluster.address, timeout="30s") as c:
            busy = [a for a, keys in c.processing().items() if keys]
            names = {a: w["name"] for a, w in c.scheduler_info()["workers"].items()}
        assert p.poll() is None and busy, "the batch must still be running"
        assert len(_parts(out)) < 2 * REPS // CLUSTER_CHUNK
        cluster.kill(str(names[busy[0]]))  # the whole `dask worker` process group
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, stderr
    assert "0 failed" in stdout
    s = _summary(out)
    assert (s["tasks"], s["ran"], s["failed"]) == (2 * REPS // CLUSTER_CHUNK,) * 2 + ([],)
    _same_results(out, serial)


def test_a_variants_problem_names_the_field_as_its_scenario_file_does(tmp_path, capsys):
    """A scenario extending the shipped baseline (7 waves of history) with one wave of its
    own: a sweep giving that wave an unknown department said 'at waves[7]...'."""
    (tmp_path / "s.yaml").write_text(
        f"name: s\nextends: {ROOT / 'scenarios' / 'baseline.yaml'}\nwaves:\n"
        "  - name: mine\n    year: 2025\n    posts: {grades: [EO]}\n    count: 100\n"
        "    mode: recreate\n    destinations: [{site: leeds, share: 1.0}]\n")
    (tmp_path / "sw.yaml").write_text(
        "variants:\n  - name: a\n    set:\n      waves.mine.posts.department: [HOO]\n")
    code = cli_main(["batch", str(tmp_path / "s.yaml"), "--sweep", str(tmp_path / "sw.yaml"),
                     "--workers", "0", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "at waves[0].posts.department[0])" in err, err
