"""Baseline draws kept between prepares give the same population as drawing again."""

from __future__ import annotations

import numpy as np
import pandas as pd

from placesim import population
from placesim.population import build_geography, synthesise

from .helpers import synthetic_package


def test_kept_draws_are_the_draws_and_leave_the_generator_alike(monkeypatch):
    pkg = synthetic_package()
    geo = build_geography(pkg, pd.Series(dtype=bool))
    calls = []
    draw = population._draw_baseline
    monkeypatch.setattr(population, "_draw_baseline",
                        lambda *a: calls.append(1) or draw(*a))

    def slots_and_next(seed, spare):
        rng = np.random.default_rng(seed)
        slots = synthesise(pkg, geo, rng, spare=spare)
        return slots, rng.random()  # (where the draws left the generator)

    population._DRAWN.clear()
    spare = np.arange(population.N_GRADES)
    fresh, after = slots_and_next(5, spare)
    n = fresh.size - int(spare.sum())  # the baseline's slots come first
    for more in (spare, spare * 3):  # another scenario's spare slots: the same draws, kept
        kept, after_kept = slots_and_next(5, more)
        assert kept.size == n + int(more.sum())
        for name in ("grade", "district", "ptype", "seb", "grade_since", "ready"):
            np.testing.assert_array_equal(getattr(fresh, name)[:n], getattr(kept, name)[:n])
        assert after_kept == after
    assert len(calls) == 1
    other, _ = slots_and_next(6, spare)  # another seed: drawn again
    assert len(calls) == 2 and not np.array_equal(other.seb[:n], fresh.seb[:n])
