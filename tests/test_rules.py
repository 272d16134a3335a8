"""One rule, one place: the engines' fast decompositions of the choice weights are the rule.

:func:`placesim.rules.promotion_weight` and :func:`placesim.rules.remote_factor` define a
candidate's weight for a vacancy; the stochastic engine sums them by (grade, area, SEB) and
through a kernel product (:func:`placesim.flows.choice_masses`). Summed person by person
they must give the same masses.
"""

from __future__ import annotations

import numpy as np

from placesim import engine, flows
from placesim.rules import promotion_weight, remote_factor

from .helpers import synthetic_package, synthetic_scenario


def test_choice_masses_are_the_rule_summed_over_candidates():
    m = engine.prepare(synthetic_scenario(waves=False), synthetic_package())
    r, geo, sl = m.rules, m.geo, m.population
    run = engine._Run(m, 0, 1)
    _, _, _, counts, _ = flows.scan(
        run.key, 5, sl.district.copy(), sl.grade, sl.ptype, sl.seb.copy(), sl.flag.copy(),
        sl.flag_until, sl.ready.copy(), sl.exit_at.copy(), sl.home.copy(), sl.return_at.copy(),
        sl.area_of_district, sl.order.copy(), sl.position.copy(), sl.block_start.ravel().copy(),
        sl.block_end.ravel().copy(), sl.spare_from)
    W, Lw = flows.class_weights(counts, run.wtab, run.ltab, geo.area_is_london,
                                r.london_advantage)
    remote, _ = flows.choice_masses(W, Lw, r.kernel, r.willingness, r.area_leave)
    eligible = (sl.seb >= 0) & (sl.ready <= 5) & (sl.district < geo.n_districts)
    for g_into in (3, 6, 8):
        for d in range(geo.n_districts):
            for vp in (0, 1):
                local = rem = 0.0
                for i in np.flatnonzero(eligible & (sl.grade == g_into - 1)):
                    a, di = geo.area[sl.district[i]], sl.district[i]
                    w = promotion_weight(r.odds, r.flag_weight, r.accelerator_weight,
                                         r.london_advantage, r.policy_match_weight, g_into,
                                         sl.seb[i], sl.ptype[i], sl.flag[i],
                                         bool(geo.is_london[di]), bool(vp))
                    if a == geo.area[d]:
                        local += w
                    else:
                        rem += w * remote_factor(r.kernel, r.reach, r.london_pull,
                                                 r.london_stay, r.willingness, 1.0, g_into,
                                                 a, bool(geo.area_is_london[a]), d,
                                                 bool(geo.is_london[d]), sl.seb[i])
                pull = r.london_pull if geo.is_london[d] else 1.0
                engine_local = W[g_into - 1, geo.area[d], :, vp].sum()
                engine_remote = remote[d, g_into, vp].sum() * r.reach[g_into] * pull
                np.testing.assert_allclose(engine_local, local, rtol=1e-9)
                np.testing.assert_allclose(engine_remote, rem, rtol=1e-5, atol=1e-12)


def test_a_solved_calibration_is_reused_only_for_the_same_inputs():
    """calibrate_geography keeps its solutions by a digest of everything it reads: the same
    inputs give the same answer (a copy), any changed input is solved afresh."""
    from placesim import rules

    model = engine.prepare(synthetic_scenario(waves=False), synthetic_package())
    stock = model.baseline_stock4.astype(float)
    posts = model.baseline_posts3.astype(float)
    d = rules.default_parameters(synthetic_package())
    weights = dict(odds=d.seb_promotion_odds, flag_weight=np.ones(rules.N_FLAGS),
                   accelerator_weight=d.accelerator_weight, london_advantage=1.2,
                   policy_match=d.policy_match_weight)
    args = (np.full(len(rules.GRADES), 0.3), 0.4, stock, posts, posts.sum(axis=(1, 2)),
            model.geo, model.rules.kernel, np.array([1.0, 1.0, 1.0]), weights, 1.1)
    rules._CALIBRATED.clear()
    first = rules.calibrate_geography(*args)
    first[0][:] = -1  # a caller changing its copy changes nothing kept
    again = rules.calibrate_geography(*args)
    assert len(rules._CALIBRATED) == 1 and (again[0] >= 0).all()
    other = rules.calibrate_geography(*args[:1], 0.6, *args[2:])
    assert len(rules._CALIBRATED) == 2 and other[1] != again[1]
    stock2 = stock.copy()
    stock2[3, 0, 0, 0] += 50
    rules.calibrate_geography(*args[:2], stock2, *args[3:])
    assert len(rules._CALIBRATED) == 3
    rules.calibrate_geography(*args[:8], dict(weights, london_advantage=1.3), 1.1)
    assert len(rules._CALIBRATED) == 4
