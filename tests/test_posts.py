"""The compiled splits of posts (largest remainders, recreated posts spread over districts)
give the same whole numbers as the array formulas they replaced, ties included."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placesim.posts import _largest_remainders, _spread


def _largest_remainders_numpy(ns, weights):
    """The array formula (before the compiled loop): ties go to the earlier weight."""
    w = np.asarray(weights, float).ravel()
    out = np.zeros((len(ns), len(w)), np.int64)
    if not len(ns) or w.sum() <= 0:
        return out
    raw = (w / w.sum())[None, :] * ns[:, None].astype(float)
    base = np.floor(raw).astype(np.int64)
    rem = ns - base.sum(axis=1)
    order = np.argsort(-(raw - base), axis=1, kind="stable")
    top = np.arange(len(w))[None, :] < rem[:, None]
    np.put_along_axis(base, order, np.take_along_axis(base, order, axis=1) + top, axis=1)
    return base


def _spread_loops(gts, counts, destinations, T):
    """Recreated posts by plain loops: destination, then (grade, type) cell, then district."""
    rows = []
    for (districts, k), c, gt in zip(destinations, np.asarray(counts), gts, strict=True):
        if c <= 0:
            continue
        for cell in np.flatnonzero(gt):
            for j in range(k):
                m = gt[cell] // k + (j < gt[cell] % k)
                if m > 0:
                    rows.append((cell // T, districts[j], cell % T, m))
    return [np.array(x, np.int64) for x in zip(*rows, strict=True)] if rows else [
        np.empty(0, np.int64)] * 4


@pytest.mark.parametrize("seed", range(6))
def test_largest_remainders_match_the_array_formula(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        k = int(rng.integers(1, 12))
        # equal weights and simple fractions make ties; random ones do not
        w = rng.choice([np.ones(k), rng.integers(0, 4, k).astype(float), rng.random(k)])
        ns = rng.integers(0, 500, int(rng.integers(0, 6)))
        got = _largest_remainders(ns, w)
        assert np.array_equal(got, _largest_remainders_numpy(ns, w)), (ns, w)
        if w.sum() > 0:
            assert np.array_equal(got.sum(axis=1), ns)


def test_ties_go_to_the_earlier_weight():
    assert _largest_remainders(np.array([1, 2, 5]), np.ones(3)).tolist() == [
        [1, 0, 0], [1, 1, 0], [2, 2, 1]]


@pytest.mark.parametrize("seed", range(4))
def test_spread_matches_plain_loops(seed):
    rng = np.random.default_rng(seed)
    T = 3
    for _ in range(100):
        n_dest = int(rng.integers(1, 5))
        sizes = rng.integers(1, 6, n_dest)
        destinations = [(rng.choice(300, k, replace=False), k) for k in sizes]
        counts = rng.integers(-2, 40, n_dest)
        gts = rng.integers(0, 9, (n_dest, 4 * T)) * (rng.random((n_dest, 4 * T)) < 0.5)
        flat = np.concatenate([d for d, _ in destinations]).astype(np.int64)
        got = _spread(gts.astype(np.int64), counts.astype(np.int64), flat,
                      sizes.astype(np.int64), T)
        want = _spread_loops(gts, counts, destinations, T)
        for a, b in zip(got, want, strict=True):
            assert np.array_equal(a, b)


@given(u=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75]) | st.floats(0.0, 1.0),
                  max_size=60),
       n=st.integers(-1, 70))
@settings(max_examples=300, deadline=None)
def test_a_waves_posts_are_the_first_of_a_stable_sort_of_their_draws(u, n):
    """A wave takes the posts with the smallest draws, smallest first and equal draws in
    slot order, without sorting every draw: the same as the first n of a stable argsort,
    ties (many of them here) included."""
    from placesim.flows import _smallest

    u = np.array(u, float)
    np.testing.assert_array_equal(_smallest(u, n), np.argsort(u, kind="stable")[:max(n, 0)])
