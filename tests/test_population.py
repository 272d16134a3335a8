"""What is kept between prepares (the geography, the baseline's posts, its draws) is what
working it out again gives, is shared read-only, and is not given for other inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from placesim import population
from placesim.population import (
    baseline_posts3,
    build_geography,
    department_posts,
    start_vacancies,
    synthesise,
)

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


def test_kept_geography_and_posts_are_shared_read_only_and_per_input():
    pkg = synthetic_package()
    codes = pkg.districts["lad_code"]
    none = pd.Series(False, index=codes)
    geo = build_geography(pkg, none)
    assert build_geography(pkg, none.copy()) is geo  # equal inputs: the kept one
    fresh = population._build_geography(pkg, none, population.AREA_LEVEL)
    for name, value in vars(geo).items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, getattr(fresh, name))
            assert not value.flags.writeable, name
    one = none.copy()
    one.iloc[0] = True
    other = build_geography(pkg, one)  # other coldspots, another area level: not the kept one
    assert other is not geo and other.is_coldspot.sum() == 1
    assert build_geography(pkg, none, "itl1") is not geo
    assert build_geography(dataclasses.replace(pkg), none) is not geo  # (another package,
    # even an equal one: kept by identity)
    posts = baseline_posts3(pkg, geo)
    assert baseline_posts3(pkg, geo) is posts and not posts.flags.writeable
    assert posts.sum() == pkg.baseline_posts["posts"].sum()
    assert baseline_posts3(pkg, other) is not posts  # another geography
    depts = department_posts(pkg, geo)
    assert department_posts(pkg, geo) is depts and not depts.posts.flags.writeable
    vacant = start_vacancies(pkg, geo, 4)
    assert start_vacancies(pkg, geo, 4, posts) is vacant and not vacant.flags.writeable
    np.testing.assert_array_equal(vacant, population._start_vacancies(pkg, 4, posts))
    assert start_vacancies(pkg, geo, 12) is not vacant  # (other steps a year)
    assert start_vacancies(pkg, geo, 4, posts * 2) is not vacant  # (other posts)


def test_kept_start_vacancies_follow_a_recalibration(monkeypatch):
    from placesim import calibration

    pkg = synthetic_package()
    geo = build_geography(pkg, pd.Series(False, index=pkg.districts["lad_code"]))
    vacant = start_vacancies(pkg, geo, 4)
    fitted = dict(calibration.load_calibrated())
    fitted["internal_fill_share"] = {g: 0.2 for g in population.GRADES}
    monkeypatch.setattr(calibration, "load_calibrated", lambda: fitted)
    again = start_vacancies(pkg, geo, 4)  # fitted again in this process: worked out again
    assert again is not vacant
    np.testing.assert_array_equal(again, population._start_vacancies(pkg, 4, baseline_posts3(
        pkg, geo)))
