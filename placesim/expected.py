"""Expected-value mode: the same rules as the person-level engine, as cohort flows.

Instead of people, it tracks expected headcount by (grade, district, SEB) and posts by
(grade, district, profession, role), and applies each step's rules in expectation: exits at
their rates; vacancies filled top-down by promotion (local first, with the chance that a
rejection-sampling search succeeds, then candidates elsewhere weighted by willingness to move
and distance), lateral moves and external recruits; post moves with expected acceptance.
It follows the same SimPy timeline (waves, site capacity, levers), so the two modes differ only
in chance. It answers in tens of milliseconds and is the instant first answer in the app; tests
hold the stochastic mean to it.

Simplifications against the person-level mode (documented, small): the expected mode does not
track who holds an accelerator role or which profession a candidate has, so those weights act
only through the acceptance rate, and a person may in expectation move more than once a step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from .engine import Model, ReplicationResult, RunState, run_timeline
from .flows import LOCAL_ROUNDS, POLICY, REMOTE_ROUNDS
from .grades import GRADES, ROLES, SEB_CLASSES
from .population import N_GRADES, N_SEB, START_TENURE_STEPS

LOW = SEB_CLASSES.index("low")
PO = ROLES.index("private_office")


class _ExpectedRun(RunState):
    """Expected-value state with the interface :func:`placesim.engine.run_timeline` drives."""

    def __init__(self, model: Model):
        geo, slots = model.geo, model.population
        D = geo.n_districts
        g, d = slots.grade.astype(np.int64), slots.district.astype(np.int64)
        cell = (g * D + d) * 4 + slots.profession.astype(np.int64) * 2 + slots.role
        self.posts4 = np.bincount(cell, minlength=N_GRADES * D * 4).reshape(
            N_GRADES, D, 2, 2).astype(float)
        super().__init__(model, np.bincount(
            (g * D + d) * N_SEB + slots.seb, minlength=N_GRADES * D * N_SEB
        ).reshape(N_GRADES, D, N_SEB).astype(float))
        self.min_steps = max(int(model.rules.min_steps_in_grade), 0)
        # people who entered their grade in each of the last min_steps steps (not yet eligible)
        self.recent = [self.stock / START_TENURE_STEPS for _ in range(self.min_steps)]
        # kernel of relocation: base * decay^(distance/100) between different areas
        r = model.rules
        # float32 halves the cost of the (district x district) products; sums stay float64
        self.kernel = r.relocation_kernel.astype(np.float32)
        self.kernel_into_london = np.ascontiguousarray(
            self.kernel[~geo.is_london][:, geo.is_london].T)
        self.area_order = np.argsort(geo.area, kind="stable")  # districts grouped by area
        self.area_starts = np.searchsorted(geo.area[self.area_order], np.arange(geo.n_areas))
        self._posts_facts = None  # cached while posts stay put
        self.recruit_pdf = np.diff(np.concatenate(
            [np.zeros(r.recruit_cdf.shape[:2] + (1,)), r.recruit_cdf], axis=2), axis=2)
        self.national_pdf = np.diff(np.concatenate(
            [np.zeros((N_GRADES, 1)), model.national_cdf], axis=1), axis=1)
        self.mentored_share = 0.0

    # --- timeline interface ----------------------------------------------------------------
    def available(self, plan) -> float:
        return float(self._matching(plan)[1].sum())

    def _matching(self, plan) -> tuple[np.ndarray, np.ndarray]:
        """Origin districts of a wave and its matching posts there, (grade, origin, prof, role)."""
        origins = np.flatnonzero(plan.origin_mask)
        m = self.posts4[:, origins] * plan.grade_mask[:, None, None, None]
        if plan.profession >= 0:
            keep = np.zeros(2)
            keep[plan.profession] = 1
            m = m * keep[None, None, :, None]
        if plan.role >= 0:
            keep = np.zeros(2)
            keep[plan.role] = 1
            m = m * keep[None, None, None, :]
        return origins, m

    def annual_lever(self, name: str, spec) -> None:
        if name == "mentoring":
            self.mentored_share = spec.coverage

    def result(self) -> ReplicationResult:
        cols = ["wave", "year", "from", "to", "posts"]
        if not self.move_rows:
            return ReplicationResult(replication=0, years=self.records,
                                     moves=pd.DataFrame(columns=cols))
        rows = self.move_rows
        moves = pd.DataFrame({
            "wave": np.concatenate([np.full(a.size, w) for w, _, _, _, a in rows]),
            "year": np.concatenate([np.full(a.size, y) for _, y, _, _, a in rows]),
            "from": np.concatenate([np.repeat(o, len(d)) for _, _, o, d, _ in rows]),
            "to": np.concatenate([np.tile(d, len(o)) for _, _, o, d, _ in rows]),
            "posts": np.concatenate([a.ravel() for *_, a in rows]),
        })
        if len(moves):
            moves = moves.groupby(["wave", "year", "from", "to"], as_index=False)["posts"].sum()
        return ReplicationResult(replication=0, years=self.records, moves=moves)

    # --- one step ------------------------------------------------------------------------
    def step(self):
        rules = self.rules()
        entered = np.zeros_like(self.stock)
        for plan, per_dest in self.pending:
            self._move(plan, per_dest, rules, entered)
        self.pending = []
        ex = self.stock * rules.exit_q[:, None, None]
        self.stock -= ex
        self.exits += ex
        eligible = np.maximum(self.stock - sum(self.recent) if self.recent else self.stock, 0)
        posts = self._posts(rules)[0]
        vac = np.maximum(posts - self._seb_total(self.stock), 0)
        self._fill(vac, eligible, rules, entered)
        self.exposure += self.stock / self.m.steps_per_year
        if self.min_steps:
            self.recent = self.recent[1:] + [entered]
        self.step_index += 1

    def _odds(self, rules):
        """(grade, seb) promotion odds into each grade, with mentoring spread over low SEB."""
        odds = rules.seb_odds.copy()
        if rules.mentoring_multiplier != 1.0:
            odds[:, LOW] *= 1 + self.mentored_share * (rules.mentoring_multiplier - 1)
        return odds

    def _w_max(self, rules, policy_share):
        """(grade, district) rejection envelope of promotions into grades 1.."""
        w = rules.seb_odds[1:].max(axis=1) * rules.accelerator_weight
        w = w * max(rules.mentoring_multiplier, 1) * max(rules.london_advantage, 1.0)
        return w[:, None] * (1 + policy_share * (rules.policy_match_weight - 1))

    @staticmethod
    def _post_total(x):
        """``x.sum(axis=(2, 3))`` over profession and role, without the slow short reduction."""
        return x[:, :, 0, 0] + x[:, :, 0, 1] + x[:, :, 1, 0] + x[:, :, 1, 1]

    @staticmethod
    def _seb_total(x):
        """``x.sum(axis=-1)`` over the three SEB classes, without numpy's slow short reduction."""
        return x[..., 0] + x[..., 1] + x[..., 2]

    def _back(self, ratio):
        """Sum over destination districts of ``kernel[src, dst] * ratio[g, dst]`` → (g, src)."""
        return (self.kernel @ ratio.T.astype(np.float32)).T.astype(np.float64)

    def _by_area(self, x):
        """Sum ``x[g, d, ...]`` over the districts of each labour-market area → (g, area, ...)."""
        return np.add.reduceat(x[:, self.area_order], self.area_starts, axis=1)

    def _posts(self, rules):
        """Post counts and what follows from them, recomputed only after posts move."""
        if self._posts_facts is None:
            tiny = 1e-12
            posts = self._post_total(self.posts4)  # (G, D)
            policy_share = self.posts4[1:, :, POLICY].sum(axis=2) / np.maximum(posts[1:], tiny)
            self._posts_facts = (
                posts,
                policy_share,
                self._by_area(posts[:-1]),  # (G-1, A) candidate blocks for promotions
                np.maximum(posts.sum(axis=1), tiny)[:, None],  # (G, 1) national grade sizes
            )
        return self._posts_facts

    @staticmethod
    def _success(p, rounds: int):
        """Chance that ``rounds`` independent draws with acceptance ``p`` find someone."""
        miss, base, n = np.ones_like(p), 1 - p, rounds
        while n:  # (1 - p) ** rounds by squaring: numpy's float power is slow
            if n & 1:
                miss = miss * base
            base = base * base
            n >>= 1
        return 1 - miss

    def _reach(self, x):
        """Sum over source districts of ``kernel[src, dst] * x[g, src, s]`` → (g, dst, s)."""
        G, D, S = x.shape
        flat = x.transpose(1, 0, 2).reshape(D, G * S).astype(np.float32)
        out = (self.kernel.T @ flat).astype(np.float64)
        return out.reshape(D, G, S).transpose(1, 0, 2)

    def _fill(self, vac, eligible, rules, entered):
        """Fill every grade's vacancies (grade, district); chains continue next step.

        All grades at once: promotions into grade g draw on grade g-1 and lateral moves on the
        pool left after promotions out of it — the order of the person-level mode's vacancy
        chains. Local promotions succeed with the chance that a rejection-sampling search of
        the area's block succeeds; the rest search nationally, weighted by willingness to move.
        """
        geo, area = self.m.geo, self.m.geo.area
        tiny = 1e-12
        posts, policy_share, B_area, grade_size = self._posts(rules)
        lat = rules.lateral_share[:, None]
        v_lat = vac * lat
        internal = rules.internal_share.copy()
        internal[0] = 0.0
        v_int = vac * (1 - lat) * internal[:, None]
        v_ext = vac - v_lat - v_int

        # promotions into grades 1.. from the grade below: local stage
        E = eligible[:-1]  # (G-1, D, S) pools of the grade below
        odds = self._odds(rules)[1:]
        w_max = self._w_max(rules, policy_share)  # (G-1, D)
        W = E * odds[:, None, :]
        W_area = self._by_area(W)  # (G-1, A, S)
        W_area_tot = self._seb_total(W_area)
        a_loc = W_area_tot[:, area] / np.maximum(w_max * B_area[:, area], tiny)
        want = v_int[1:] * self._success(np.clip(a_loc, 0, 1), LOCAL_ROUNDS)
        want_area = self._by_area(want)
        cap = self._seb_total(self._by_area(E))
        scale = np.where(want_area > cap, cap / np.maximum(want_area, tiny), 1.0)
        filled = want * scale[:, area]
        filled_area = self._by_area(filled)
        mix_area = W_area / np.maximum(W_area_tot[:, :, None], tiny)
        plus = filled[:, :, None] * mix_area[:, area]
        minus = W / np.maximum(W_area_tot[:, area][:, :, None], tiny) \
            * filled_area[:, area][:, :, None]
        self._promote(minus, plus, eligible, entered)

        # remote stage: candidates elsewhere, weighted by willingness and distance
        rest = v_int[1:] - filled
        pool = np.maximum(eligible[:-1], 0)
        Wr = pool * (odds * rules.willingness[None, :] * rules.support_willingness)[:, None, :]
        reach = self._reach(Wr)  # (G-1, D vac, S)
        z = self._seb_total(reach)
        a_rem = np.minimum(z / (w_max * grade_size[:-1]), 1)
        filled_r = rest * self._success(a_rem, REMOTE_ROUNDS)
        ratio = filled_r / np.maximum(z, tiny)
        back = self._back(ratio)  # (G-1, D src)
        minus_r = Wr * back[:, :, None]
        over = minus_r.sum(axis=(1, 2)) / np.maximum(pool.sum(axis=(1, 2)), tiny)
        cut = np.where(over > 1, 1 / np.maximum(over, tiny), 1.0)  # cannot exceed the pool
        minus_r *= cut[:, None, None]
        filled_r *= cut[:, None]
        ratio *= cut[:, None]
        plus_r = reach * ratio[:, :, None]
        # promotions into London of people from outside it (by SEB)
        src = Wr[:, ~geo.is_london].transpose(1, 0, 2).reshape(-1, Wr.shape[0] * N_SEB)
        into = (self.kernel_into_london @ src.astype(np.float32)).reshape(
            -1, Wr.shape[0], N_SEB)  # (London district, G-1, S)
        self.to_london += (into * ratio[:, geo.is_london].T[:, :, None]).sum(axis=(0, 1))
        self._promote(minus_r, plus_r, eligible, entered)
        v_ext[1:] += rest - filled_r

        # lateral moves within each grade
        El = np.maximum(eligible, 0)
        Wl = El * (rules.willingness * rules.support_willingness)[None, None, :]
        reach = self._reach(Wl)
        z = self._seb_total(reach)
        a = np.minimum(z / grade_size, 1)
        filled = v_lat * self._success(a, REMOTE_ROUNDS)
        ratio = filled / np.maximum(z, tiny)
        minus = Wl * self._back(ratio)[:, :, None]
        self.stock += reach * ratio[:, :, None] - minus
        eligible -= minus
        v_ext += v_lat - filled

        # external recruits (a London freeze leaves some posts empty)
        if rules.freeze_share > 0:
            blocked = rules.freeze_grades[:, None] & geo.is_london[None, :]
            v_ext = v_ext * np.where(blocked, 1 - rules.freeze_share, 1.0)
        add = v_ext[:, :, None] * self.recruit_pdf
        self.stock += add
        entered += add

    def _promote(self, minus, plus, eligible, entered):
        """Promotions into grades 1..: ``minus`` leaves the grade below (by origin district)."""
        self.stock[:-1] -= minus
        eligible[:-1] -= minus
        self.stock[1:] += plus
        entered[1:] += plus
        self.promotions[1:] += minus

    def _move(self, plan, per_dest, rules, entered):
        """Move posts of one wave tranche to all its destinations at once, in expectation."""
        m, geo = self.m, self.m.geo
        origins, match = self._matching(plan)
        total = match.sum()
        if total <= 0:
            return
        n = float(per_dest.sum())
        moved4 = match * min(n / total, 1.0)  # (G, O, P, R) posts leaving each origin cell
        moved_gd = self._post_total(moved4)
        keep = moved_gd.sum(axis=0) > 0
        origins, moved4, moved_gd = origins[keep], moved4[:, keep], moved_gd[:, keep]
        # destination districts and the share of the tranche each receives
        dests, f = [], []
        for (districts, _, _), k in zip(plan.destinations, per_dest, strict=True):
            if k:
                dests += list(districts)
                f += [k / n / len(districts)] * len(districts)
        dests, f = np.asarray(dests, np.int64), np.asarray(f)
        if len(dests) == 0:
            return
        stock_o = self.stock[:, origins]  # (G, O, S)
        posts_o = self._post_total(self.posts4[:, origins])
        share_moved = np.where(posts_o > 0, moved_gd / np.maximum(posts_o, 1e-12), 0)
        people = stock_o * share_moved[:, :, None]  # incumbents of the moved posts (G, O, S)
        self.posts4[:, origins] -= moved4
        np.add.at(self.posts4.transpose(1, 0, 2, 3), dests,
                  moved4.sum(axis=1)[None] * f[:, None, None, None])
        self._posts_facts = None

        support, support_gbp = self.relocation_support(plan)
        dist = geo.distance_km[origins][:, dests].astype(float)  # (O, M)
        p = (plan.accept_by_grade[:, None, None] * plan.per_100km ** (dist / 100.0)[None]
             * support)[..., None] * np.ones(N_SEB)  # (G, O, M, S)
        p[..., 0] *= plan.high_seb_multiplier
        inc = people[:, :, None, :] * f[None, None, :, None]  # incumbents by destination
        movers = inc * np.minimum(p, 1.0)
        stay = inc - movers
        self.stock[:, origins] -= inc.sum(axis=2)
        np.add.at(self.stock.transpose(1, 0, 2), dests, movers.sum(axis=1).transpose(1, 0, 2))
        self.reloc_movers += movers.sum(axis=(0, 1, 2))
        leave_total = stay.sum(axis=(0, 1, 2)) * (1 - plan.redeploy_share)
        # redeployed: into same-grade vacancies of their own area, if any
        leave_total += self._redeploy(stay.sum(axis=2) * plan.redeploy_share, origins)
        if plan.backfill_anywhere:
            empty = moved_gd.sum(axis=1)[:, None] * f - movers.sum(axis=(1, 3))
            add = np.maximum(empty, 0)[:, :, None] * self.national_pdf[:, None, :]  # (G, M, S)
            np.add.at(self.stock.transpose(1, 0, 2), dests, add.transpose(1, 0, 2))
            np.add.at(entered.transpose(1, 0, 2), dests, add.transpose(1, 0, 2))
        amount = moved_gd.sum(axis=0)[:, None] * f[None, :]  # (O, M)
        self.move_rows.append((plan.index, self.year, origins, dests, amount))
        self.moved_total += amount.sum()
        self.moved_out += amount[geo.is_london[origins]][:, ~geo.is_london[dests]].sum()
        self.moved_cold += amount[:, geo.is_coldspot[dests]].sum()
        self.reloc_leavers += leave_total
        self.cost += (self.reloc_movers.sum() - getattr(self, "_movers_costed", 0.0)) * (
            m.params.cost_mover_gbp + support_gbp) + leave_total.sum() * m.params.cost_leaver_gbp
        self._movers_costed = self.reloc_movers.sum()

    def _redeploy(self, red, origins) -> np.ndarray:
        """Place ``red`` (grade, origin, SEB) in same-grade vacancies of their own area.

        Returns those who found no vacancy, by SEB (they leave).
        """
        geo = self.m.geo
        posts = self._post_total(self.posts4)
        vac_area = self._by_area(np.maximum(posts - self._seb_total(self.stock), 0))  # (G, A)
        want = np.zeros_like(vac_area)
        np.add.at(want.T, geo.area[origins], self._seb_total(red).T)
        fill = np.minimum(want, vac_area)
        rate = np.where(want > 0, fill / np.maximum(want, 1e-12), 0)  # (G, A)
        placed = red * rate[:, geo.area[origins]][:, :, None]
        # placed people take a vacancy in their own area (kept in their origin district)
        self.stock[:, origins] += placed
        return (red - placed).sum(axis=(0, 1))

    def year_end(self, year_number: int):
        posts4 = self.posts4
        self._record_year(year_number, self._post_total(posts4),
                          posts4[:, :, POLICY].sum(axis=2), posts4[:, :, :, PO].sum(axis=2))


def run_expected(model: Model) -> ReplicationResult:
    """Run the expected-value (cohort flow) mode of a prepared model.

    Parameters
    ----------
    model : Model

    Returns
    -------
    ReplicationResult
        One "replication" whose values are expectations.
    """
    # The (district x district) products are small: a second BLAS thread doubles the CPU used
    # for no gain in wall time, and batch workers already use every core.
    with threadpool_limits(limits=1, user_api="blas"):
        return run_timeline(model, _ExpectedRun(model))


__all__ = ["run_expected", "GRADES"]
