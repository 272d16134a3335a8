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

from .engine import Model, ReplicationResult, YearRecord, run_timeline
from .flows import LOCAL_ROUNDS, POLICY, REMOTE_ROUNDS
from .grades import GRADES, ROLES, SEB_CLASSES
from .population import N_GRADES, N_SEB

LOW = SEB_CLASSES.index("low")
PO = ROLES.index("private_office")


class _ExpectedRun:
    """Expected-value state with the interface :func:`placesim.engine.run_timeline` drives."""

    def __init__(self, model: Model):
        self.m = model
        geo, slots = model.geo, model.population
        D = geo.n_districts
        self.D = D
        self.posts4 = np.zeros((N_GRADES, D, 2, 2))
        np.add.at(self.posts4, (slots.grade.astype(np.int64), slots.district.astype(np.int64),
                                slots.profession.astype(np.int64), slots.role.astype(np.int64)), 1)
        self.stock = np.zeros((N_GRADES, D, N_SEB))
        np.add.at(self.stock, (slots.grade.astype(np.int64), slots.district.astype(np.int64),
                               slots.seb.astype(np.int64)), 1)
        self.min_steps = max(int(model.rules.min_steps_in_grade), 0)
        # people who entered their grade in each of the last min_steps steps (not yet eligible)
        self.recent = [self.stock / 16.0 for _ in range(self.min_steps)]
        # kernel of relocation: base * decay^(distance/100) between different areas
        diff_area = geo.area[:, None] != geo.area[None, :]
        r = model.rules
        self.kernel = (r.relocation_base * r.per_100km ** (geo.distance_km.astype(float) / 100.0)
                       * diff_area)
        self.area_onehot = np.zeros((geo.n_areas, D))
        self.area_onehot[geo.area, np.arange(D)] = 1.0
        self.recruit_pdf = np.diff(np.concatenate(
            [np.zeros(r.recruit_cdf.shape[:2] + (1,)), r.recruit_cdf], axis=2), axis=2)
        self.national_pdf = np.diff(np.concatenate(
            [np.zeros((N_GRADES, 1)), model.national_cdf], axis=1), axis=1)
        self.pending = []
        self.active: dict[str, object] = {}
        self.awaiting = 0
        self.moved_out = self.moved_total = self.moved_cold = 0.0
        self.reloc_leavers = np.zeros(N_SEB)
        self.reloc_movers = np.zeros(N_SEB)
        self.cost = 0.0
        self.mentored_share = 0.0
        self.move_rows: list[tuple[int, int, int, int, float]] = []
        self.records: list[YearRecord] = []
        self.step_index = 0
        self._reset_year()

    def _reset_year(self):
        shape = self.stock.shape
        self.exposure = np.zeros(shape)
        self.promotions = np.zeros(shape)
        self.exits = np.zeros(shape)
        self.to_london = np.zeros(N_SEB)

    # --- timeline interface ----------------------------------------------------------------
    def available(self, plan) -> float:
        return float(self._matching(plan).sum())

    def _matching(self, plan) -> np.ndarray:
        m = self.posts4 * plan.grade_mask[:, None, None, None] * plan.origin_mask[None, :, None,
                                                                                  None]
        if plan.profession >= 0:
            keep = np.zeros(2)
            keep[plan.profession] = 1
            m = m * keep[None, None, :, None]
        if plan.role >= 0:
            keep = np.zeros(2)
            keep[plan.role] = 1
            m = m * keep[None, None, None, :]
        return m

    def annual_lever(self, name: str, spec) -> None:
        if name == "mentoring":
            self.mentored_share = spec.coverage

    def rules(self):
        from .engine import _Run

        return _Run.rules(self)  # same lever → rule mapping as the person-level mode

    def result(self) -> ReplicationResult:
        cols = ["wave", "year", "from", "to", "posts"]
        moves = pd.DataFrame(self.move_rows, columns=cols)
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
        posts = self.posts4.sum(axis=(2, 3))
        vac = np.maximum(posts - self.stock.sum(axis=2), 0)
        for g in range(N_GRADES - 1, -1, -1):
            self._fill_grade(g, vac[g], eligible, rules, entered)
        self.exposure += self.stock / self.m.steps_per_year
        if self.min_steps:
            self.recent = self.recent[1:] + [entered]
        self.step_index += 1

    def _odds(self, g, rules):
        odds = rules.seb_odds[g].copy()
        if rules.mentoring_multiplier != 1.0:
            odds[LOW] *= 1 + self.mentored_share * (rules.mentoring_multiplier - 1)
        return odds

    def _w_max(self, g, rules, policy_share):
        w = rules.seb_odds[g].max() * rules.accelerator_weight * max(rules.mentoring_multiplier, 1)
        w *= max(rules.london_advantage, 1.0)
        return w * (1 + policy_share * (rules.policy_match_weight - 1))

    def _fill_grade(self, g, v, eligible, rules, entered):
        """Fill grade g's vacancies ``v`` (by district); chains continue next step."""
        geo = self.m.geo
        if v.sum() <= 1e-12:
            return
        lat = rules.lateral_share[g]
        v_lat = v * lat
        v_int = v * (1 - lat) * (rules.internal_share[g] if g > 0 else 0.0)
        v_ext = v - v_lat - v_int
        slots_per_district = self.posts4.sum(axis=(2, 3))
        if g > 0 and v_int.sum() > 0:
            src = g - 1
            E = eligible[src]  # (D, S)
            odds = self._odds(g, rules)
            policy_share = (self.posts4[g, :, POLICY].sum(axis=1)
                            / np.maximum(slots_per_district[g], 1e-12))
            w_max = self._w_max(g, rules, policy_share)  # (D,) per vacancy district
            W = E * odds[None, :]  # weighted pool (D, S)
            # local stage: draws from the vacancy's area block
            W_area = self.area_onehot @ W  # (A, S)
            E_area = self.area_onehot @ E
            B_area = self.area_onehot @ slots_per_district[src]
            a_loc = W_area.sum(axis=1)[geo.area] / np.maximum(w_max * B_area[geo.area], 1e-12)
            succ = 1 - (1 - np.clip(a_loc, 0, 1)) ** LOCAL_ROUNDS
            want = v_int * succ  # (D,)
            want_area = self.area_onehot @ want
            cap = E_area.sum(axis=1)
            scale_area = np.where(want_area > cap, cap / np.maximum(want_area, 1e-12), 1.0)
            filled = want * scale_area[geo.area]
            filled_area = self.area_onehot @ filled
            mix_area = W_area / np.maximum(W_area.sum(axis=1, keepdims=True), 1e-12)  # (A, S)
            plus = filled[:, None] * mix_area[geo.area]
            share_in_area = W / np.maximum(W_area.sum(axis=1)[geo.area][:, None], 1e-12)
            minus = share_in_area * filled_area[geo.area][:, None]
            self._promote(g, minus, plus, eligible, entered)
            # remote stage
            rest = v_int - filled
            if rest.sum() > 0:
                eligible_now = np.maximum(eligible[src], 0)
                Wr = eligible_now * odds[None, :] * rules.willingness[None, :] \
                    * rules.support_willingness
                reach = self.kernel.T @ Wr  # (D vac, S): sum over sources
                n_src = max(slots_per_district[src].sum(), 1e-12)
                a_rem = np.minimum(reach.sum(axis=1) / (w_max * n_src), 1)
                succ_r = 1 - (1 - a_rem) ** REMOTE_ROUNDS
                filled_r = rest * succ_r
                z = np.maximum(reach.sum(axis=1), 1e-12)
                ratio = filled_r / z  # (D vac,)
                minus_r = Wr * (self.kernel @ ratio)[:, None]  # (D src, S)
                # cannot take more than the pool
                over = minus_r.sum() / max(eligible_now.sum(), 1e-12)
                if over > 1:
                    minus_r /= over
                    filled_r /= over
                    ratio /= over
                plus_r = reach * ratio[:, None]
                nonlon = (~geo.is_london).astype(float)
                reach_out = self.kernel.T @ (Wr * nonlon[:, None])
                self.to_london += (reach_out * ratio[:, None])[geo.is_london].sum(axis=0)
                self._promote(g, minus_r, plus_r, eligible, entered)
                v_ext += rest - filled_r
        if v_lat.sum() > 0:
            E = np.maximum(eligible[g], 0)
            Wl = E * rules.willingness[None, :] * rules.support_willingness
            reach = self.kernel.T @ Wl
            n_src = max(slots_per_district[g].sum(), 1e-12)
            a = np.minimum(reach.sum(axis=1) / n_src, 1)
            filled = v_lat * (1 - (1 - a) ** REMOTE_ROUNDS)
            ratio = filled / np.maximum(reach.sum(axis=1), 1e-12)
            minus = Wl * (self.kernel @ ratio)[:, None]
            plus = reach * ratio[:, None]
            self.stock[g] += plus - minus
            eligible[g] -= minus
            v_ext += v_lat - filled
        # external recruits (a London freeze leaves some posts empty)
        if rules.freeze_share > 0 and rules.freeze_grades[g]:
            v_ext = v_ext * np.where(geo.is_london, 1 - rules.freeze_share, 1.0)
        add = v_ext[:, None] * self.recruit_pdf[g]
        self.stock[g] += add
        entered[g] += add

    def _promote(self, g, minus, plus, eligible, entered):
        """Promotions into g: ``minus`` leaves g-1 (by origin district), ``plus`` arrives."""
        self.stock[g - 1] -= minus
        eligible[g - 1] -= minus
        self.stock[g] += plus
        entered[g] += plus
        self.promotions[g] += minus

    def _move(self, plan, per_dest, rules, entered):
        m, geo = self.m, self.m.geo
        match = self._matching(plan)
        total = match.sum()
        if total <= 0:
            return
        n = float(per_dest.sum())
        frac = min(n / total, 1.0)
        moved4 = match * frac  # (G, D, P, R) posts leaving each origin cell
        moved_gd = moved4.sum(axis=(2, 3))
        posts_gd = self.posts4.sum(axis=(2, 3))
        occ = np.where(posts_gd > 0, self.stock.sum(axis=2) / np.maximum(posts_gd, 1e-12), 0)
        mix = self.stock / np.maximum(self.stock.sum(axis=2, keepdims=True), 1e-12)
        people = moved_gd[:, :, None] * occ[:, :, None] * mix  # (G, D, S) incumbents
        self.posts4 -= moved4
        support = 1.0
        support_gbp = plan.support_gbp
        if "relocation_support" in self.active:
            rs = m.scenario.levers.relocation_support
            support, support_gbp = rs.acceptance_multiplier, support_gbp + rs.gbp_per_move
        origins = np.flatnonzero(moved_gd.sum(axis=0) > 0)
        year = m.start_year + int(self.step_index // m.steps_per_year)
        leave_total = np.zeros(N_SEB)
        for (districts, _, _), k in zip(plan.destinations, per_dest, strict=True):
            if k == 0:
                continue
            share_k = k / n
            for d_dest in districts:
                f = share_k / len(districts)
                self.posts4[:, d_dest] += moved4.sum(axis=1) * f
                dist = geo.distance_km[origins, d_dest].astype(float)
                p = (plan.accept_by_grade[:, None] * plan.per_100km ** (dist[None, :] / 100.0)
                     * support)  # (G, O)
                p_s = np.repeat(p[:, :, None], N_SEB, axis=2)
                p_s[:, :, 0] *= plan.high_seb_multiplier
                p_s = np.minimum(p_s, 1.0)
                inc = people[:, origins] * f
                movers = inc * p_s
                self.stock[:, origins] -= inc
                self.stock[:, d_dest] += movers.sum(axis=1)
                self.reloc_movers += movers.sum(axis=(0, 1))
                leave_total += (inc - movers).sum(axis=(0, 1)) * (1 - plan.redeploy_share)
                # redeployed: into same-grade vacancies of their own area if any
                red = (inc - movers) * plan.redeploy_share  # (G, O, S)
                self._redeploy(red, origins, leave_total)
                if plan.backfill_anywhere:
                    empty = moved4.sum(axis=(2, 3))[:, origins].sum(axis=1) * f - \
                        movers.sum(axis=(1, 2))
                    add = np.maximum(empty, 0)[:, None] * self.national_pdf
                    self.stock[:, d_dest] += add
                    entered[:, d_dest] += add
                for o, amount in zip(origins, moved_gd[:, origins].sum(axis=0) * f, strict=True):
                    self.move_rows.append((plan.index, year, int(o), int(d_dest), float(amount)))
                    self.moved_total += amount
                    if geo.is_london[o] and not geo.is_london[d_dest]:
                        self.moved_out += amount
                    if geo.is_coldspot[d_dest]:
                        self.moved_cold += amount
        self.reloc_leavers += leave_total
        self.cost += (self.reloc_movers.sum() - getattr(self, "_movers_costed", 0.0)) * (
            m.params.cost_mover_gbp + support_gbp) + leave_total.sum() * m.params.cost_leaver_gbp
        self._movers_costed = self.reloc_movers.sum()

    def _redeploy(self, red, origins, leave_total):
        geo = self.m.geo
        posts = self.posts4.sum(axis=(2, 3))
        vac = np.maximum(posts - self.stock.sum(axis=2), 0)  # (G, D)
        vac_area = vac @ self.area_onehot.T  # (G, A)
        want = np.zeros_like(vac_area)
        np.add.at(want.T, geo.area[origins], red.sum(axis=2).T)
        fill = np.minimum(want, vac_area)
        rate = np.where(want > 0, fill / np.maximum(want, 1e-12), 0)  # (G, A)
        placed = red * rate[:, geo.area[origins]][:, :, None]
        # placed people take a vacancy in their own area (kept in their origin district)
        self.stock[:, origins] += placed
        leave_total += (red - placed).sum(axis=(0, 1))

    def year_end(self, year_number: int):
        posts4 = self.posts4
        self.records.append(YearRecord(
            year=self.m.start_year + year_number, stock=self.stock.copy(),
            posts=posts4.sum(axis=(2, 3)), policy_posts=posts4[:, :, POLICY].sum(axis=2),
            private_office_posts=posts4[:, :, :, PO].sum(axis=2),
            exposure=self.exposure, promotions=self.promotions, exits=self.exits,
            moves_to_london_for_promotion=self.to_london,
            moved_out_of_london=self.moved_out, moved_total=self.moved_total,
            moved_to_coldspots=self.moved_cold, reloc_leavers=self.reloc_leavers.copy(),
            reloc_movers=self.reloc_movers.copy(), cost_gbp=self.cost,
            awaiting_capacity=self.awaiting,
        ))
        self._reset_year()


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
    return run_timeline(model, _ExpectedRun(model))


__all__ = ["run_expected", "GRADES"]
