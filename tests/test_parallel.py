"""The passes split over threads give the same replication, and the same expected-mode run,
whatever the thread count."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placesim import engine, parallel

from .helpers import synthetic_model, synthetic_scenario
from .test_engine import LEVERS


def test_ranges_cover_the_slots_once():
    for n in (0, 1, 2, 5, 549_642):
        for parts in (1, 2, 3, 8):
            spans = parallel.ranges(n, parts)
            assert spans[0][0] == 0 and spans[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
            assert max(hi - lo for lo, hi in spans) - min(hi - lo for lo, hi in spans) <= 1


def test_bad_thread_setting_is_named(monkeypatch):
    monkeypatch.setenv(parallel.ENV, "two")
    with pytest.raises(ValueError, match="PLACESIM_THREADS"):
        parallel.threads()


def _arrays(result) -> dict[str, np.ndarray]:
    out = {}
    for y in result.years:
        for f in dataclasses.fields(y):
            v = getattr(y, f.name)
            for k, x in (v.items() if isinstance(v, dict) else [("", v)]):
                out[f"{y.year}.{f.name}.{k}"] = np.asarray(x, float)
    return out


def _in_turn(reverse: bool):
    """A ``map_spans`` that runs the spans one at a time in this thread, last first if
    ``reverse``, and returns their results in span order."""
    def in_turn(fn, spans, args):
        done = {span: fn(*span, *args) for span in (spans[::-1] if reverse else spans)}
        return [done[span] for span in spans]
    return in_turn


def _every_lever_model(years: int, more_levers: str = ""):
    """A small synthetic model with waves and every lever on (:data:`LEVERS`), and
    ``more_levers`` (YAML lines under ``levers:``)."""
    from placesim import load_scenario_text
    from placesim.scenario import dump_scenario

    s = synthetic_scenario(waves=True, years=years, headcount=1500)
    return synthetic_model(load_scenario_text(dump_scenario(s) + LEVERS + more_levers,
                                              filename="levers.yaml"), headcount=1500)


def _same_for_any_thread_count(monkeypatch, run) -> None:
    """``run()`` with 1, 2 and 3 threads gives identical arrays."""
    runs = []
    for n in ("1", "2", "3"):
        monkeypatch.setenv(parallel.ENV, n)
        runs.append(_arrays(run()))
    assert runs[0].keys() == runs[1].keys() == runs[2].keys()
    for k in runs[0]:
        np.testing.assert_array_equal(runs[0][k], runs[1][k], err_msg=k)
        np.testing.assert_array_equal(runs[0][k], runs[2][k], err_msg=k)


def test_replication_does_not_depend_on_threads(monkeypatch):
    """With London postings ending (the freed home post is listed across ranges) and every
    other lever on, 1, 2 and 3 threads give identical arrays."""
    m = _every_lever_model(4)
    _same_for_any_thread_count(monkeypatch, lambda: engine.run_replication(m, 3))


def test_expected_mode_does_not_depend_on_threads(monkeypatch):
    """The expected mode's second stage runs on two blocks of grades, at once or one after
    the other: with every lever on (postings, secondments, closures, the cohort followed), 1, 2
    and 3 threads give identical arrays."""
    from placesim.expected import run_expected

    m = _every_lever_model(4)
    _same_for_any_thread_count(monkeypatch, lambda: run_expected(m))


def test_expected_mode_blocks_meet_only_between_stages(monkeypatch):
    """The expected mode's blocks of grades, run one at a time in either order, give the
    same arrays (no block reads what another writes in the same stage), and every cut
    between two blocks, and three blocks, give what one block of all grades gives (each
    grade's flows worked out once; the promotion across a cut in both blocks)."""
    from placesim.engine import run_timeline
    from placesim.expected import _ExpectedRun
    from placesim.grades import GRADES

    m = _every_lever_model(3)

    def run(blocks, reverse=False):
        monkeypatch.setattr(parallel, "map_spans", _in_turn(reverse))
        # (the blocks held all run: a lever's state splits them again)
        monkeypatch.setattr(_ExpectedRun, "_split_blocks",
                            lambda self: setattr(self, "blocks", list(blocks)))
        state = _ExpectedRun(m)
        out = _arrays(run_timeline(m, state))
        assert state.blocks == list(blocks)
        return out

    G = len(GRADES)
    whole = run([(0, G)])
    cuts = [[(0, cut), (cut, G)] for cut in range(1, G)] + [[(0, 2), (2, 3), (3, G)]]
    for blocks in cuts:
        forward = run(blocks)
        backward = run(blocks, reverse=True)
        assert forward.keys() == backward.keys() == whole.keys()
        for k in whole:
            np.testing.assert_array_equal(forward[k], backward[k], err_msg=f"{blocks}: {k}")
            np.testing.assert_allclose(forward[k], whole[k], rtol=1e-12, atol=1e-9,
                                       err_msg=f"{blocks}: {k}")


def _every_lever_and_secondments_model():
    """:func:`_every_lever_model` with outbound secondments too (a third state that ends)."""
    return _every_lever_model(4, (
        "  secondments: {start_year: 2023, sites: [alpha, beta], outbound_per_site: 20,"
        " outbound_grades: [EO, HEO], promotion_multiplier: 3, effect_years: 1}\n"))


def test_expected_mode_skips_only_classes_nobody_holds(monkeypatch):
    """The expected mode passes over the (grade, state) classes a lever can have put anyone
    in; with every class passed over, every lever on (outbound
    secondments too), the result is the same."""
    from placesim.engine import run_timeline
    from placesim.expected import _ExpectedRun, _live_classes

    m = _every_lever_and_secondments_model()
    some = _ExpectedRun(m)
    skipped = ~some.state_live
    assert skipped.any()  # (else the test shows nothing)
    some_run = _arrays(run_timeline(m, some))
    assert (~some.state_live).sum() < skipped.sum()  # the levers' events added classes

    def every(self):
        self.state_live[:] = True
        self.classes = _live_classes(self.state_live, *self.people.shape[2:4])

    monkeypatch.setattr(_ExpectedRun, "_classes", every)
    all_run = _arrays(run_timeline(m, _ExpectedRun(m)))
    assert some_run.keys() == all_run.keys()
    for k in all_run:
        np.testing.assert_allclose(some_run[k], all_run[k], rtol=1e-12, atol=1e-9, err_msg=k)


def test_expected_mode_ends_states_as_at_the_start_of_each_step(monkeypatch):
    """The time-limited states (scheme, London posting, back from a secondment) end at the
    end of each block's fill, for the next step: the same as ending them, over the whole
    arrays, at the start of each step before anything else."""
    from placesim.engine import run_timeline
    from placesim.expected import _ExpectedRun

    m = _every_lever_and_secondments_model()
    at_start = _ExpectedRun(m)
    hazard = at_start.flag_hazard.copy()
    assert (hazard > 0).sum() >= 3  # (the states that end: else this shows nothing)
    at_start.flag_hazard = np.zeros_like(hazard)  # (its fill ends nothing)
    step = _ExpectedRun.step

    def by_state(arr):  # (the followed's, by area: their class axis split as the people's)
        return arr.reshape(arr.shape[:-1] + (-1, at_start.Fb))

    def ending_first(self):
        if self is at_start:
            followed = (by_state(self.tracer.people), *by_state(self.tracer.ring))
            for arr in (self.people, *self.ring, *followed):
                for f in np.flatnonzero(hazard):
                    x = arr[..., f] * hazard[f]
                    arr[..., f] -= x
                    arr[..., f - f % self.Fb] += x
        step(self)

    monkeypatch.setattr(_ExpectedRun, "step", ending_first)
    first = _arrays(run_timeline(m, at_start))
    inside = _arrays(run_timeline(m, _ExpectedRun(m)))
    assert first.keys() == inside.keys()
    for k in first:
        np.testing.assert_allclose(inside[k], first[k], rtol=1e-12, atol=1e-9, err_msg=k)


def test_a_busy_pool_does_not_make_a_run_wait(monkeypatch):
    """With every pool thread taken (another session's run), the spans run in the caller."""
    import threading

    monkeypatch.setenv(parallel.ENV, "2")
    taken = []
    while more := parallel._take(1):  # (every thread the pool has or may make)
        taken += more
    assert taken
    try:
        seen = []
        parallel.map_spans(lambda lo, hi: seen.append(threading.get_ident()),
                           [(0, 1), (1, 2)], ())
        assert seen == [threading.get_ident()] * 2
    finally:
        parallel._give_back(taken)


def test_one_thread_runs_the_spans_in_turn(monkeypatch):
    import threading

    monkeypatch.setenv(parallel.ENV, "1")
    seen = []
    parallel.map_spans(lambda lo, hi: seen.append((lo, hi, threading.get_ident())),
                       [(0, 4), (4, 11)], ())
    assert [(lo, hi) for lo, hi, _ in seen] == [(0, 4), (4, 11)]
    assert {t for _, _, t in seen} == {threading.get_ident()}


def _span(lo, hi, extra):
    return hi - lo + extra


def test_a_forked_child_makes_its_own_threads(monkeypatch):
    """After a fork the parent's pool threads are gone: the child must not wait for them."""
    import os
    import signal

    monkeypatch.setenv(parallel.ENV, "2")
    assert parallel.map_ranges(_span, 10, (0,)) == [5, 5]
    pid = os.fork()
    if pid == 0:  # (child: exit code 0 only if the pass ran; killed by the alarm if it hung)
        signal.alarm(20)
        os._exit(0 if parallel.map_ranges(_span, 10, (1,)) == [6, 6] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_every_range_is_finished_before_an_error_is_raised(monkeypatch):
    import time

    monkeypatch.setenv(parallel.ENV, "2")
    finished = []

    def work(lo, hi):
        if lo == 0:
            raise RuntimeError("first range failed")
        time.sleep(0.2)
        finished.append(lo)

    with pytest.raises(RuntimeError, match="first range"):
        parallel.map_ranges(work, 10, ())
    assert finished == [5]


CUTS = """workforce:
  paths:
    - {name: cut, change: -3000, from_year: 2024, to_year: 2025}
"""


def test_a_replications_two_groups_of_vacancies_commute(monkeypatch):
    """The stochastic fill's two groups of vacancies (:func:`placesim.flows._two_groups`)
    read and write nothing in common: split at every grade, and filled in either order,
    a replication (with posts closing as they fall vacant, and every lever on) is the one
    that fills every vacancy of a step in order, one at a time (all in one group)."""
    from functools import partial

    from placesim import flows
    from placesim.grades import GRADES

    from .helpers import reduced_package, reduced_scenario

    m = engine.prepare(reduced_scenario("name: cuts\n" + CUTS + LEVERS, years=3),
                       reduced_package())
    fill = flows.fill

    def run(cut, reverse=False):
        monkeypatch.setattr(parallel, "map_spans", _in_turn(reverse))
        monkeypatch.setattr(flows, "fill", partial(fill, cut=cut))
        return engine.run_replication(m, 1)

    one_at_a_time = run(len(GRADES))
    assert one_at_a_time.years[-1].posts_closed > 0  # (closures were taken in the fill)
    whole = _arrays(one_at_a_time)
    for cut in range(len(GRADES)):
        for reverse in (False, True):
            split = _arrays(run(cut, reverse))
            assert split.keys() == whole.keys()
            for k in whole:
                np.testing.assert_array_equal(split[k], whole[k], err_msg=f"{cut}: {k}")
