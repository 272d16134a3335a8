"""Expected-value mode: the same rules as the person-level engine, as cohort flows.

Instead of people, it tracks expected headcount by (grade, district, SEB) and posts by
(grade, district, profession, role), and applies each step's rules in expectation: exits at
their rates; vacancies filled top-down by promotion (local first, with the chance that a
rejection-sampling search succeeds, then candidates elsewhere weighted by willingness to move
and distance), lateral moves and external recruits; post moves with expected acceptance.
It follows the same SimPy timeline (waves, site capacity, levers), so the two modes differ only
in chance. It answers in tens of milliseconds and is the instant first answer in the app; tests
hold the stochastic mean to it.

A step is a few passes over arrays of about 12,000 cells plus four (district × district)
products, so it is written as compiled loops (:mod:`numba`, :func:`_step_kernel` and
:func:`_move_kernel`): with numpy each of its ~150 array operations cost more in dispatch
and temporaries than in arithmetic.

Simplifications against the person-level mode (documented, small): the expected mode does not
track who holds an accelerator role or which profession a candidate has, so those weights act
only through the acceptance rate, and a person may in expectation move more than once a step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg.cython_blas  # noqa: F401  (the BLAS numba's np.dot calls)
from numba import njit
from threadpoolctl import ThreadpoolController

from .engine import Model, ReplicationResult, RunState, run_timeline
from .flows import LOCAL_ROUNDS, POLICY, REMOTE_ROUNDS, promotion_envelope
from .grades import GRADES, ROLES, SEB_CLASSES
from .population import N_GRADES, START_TENURE_STEPS

LOW = SEB_CLASSES.index("low")
PO = ROLES.index("private_office")
TINY = 1e-12
_BLAS = ThreadpoolController()
"""Limits BLAS to one thread during a run: the mode is meant to take one core (batch workers
and the app's other sessions use the rest), and its products are too small to gain much."""


@dataclass(frozen=True)
class _WaveCells:
    """A wave's origin districts and destinations, as the expected mode moves posts.

    ``entries`` lists each destination's districts in turn (a coldspot destination has
    many), ``group`` the destination each entry belongs to and ``group_size`` how many
    entries it has; ``districts`` are the distinct destination districts and
    ``district_of_entry`` maps entries onto them. Posts moved are kept as
    (origin, destination district) tables per year.
    """

    origins: np.ndarray
    entries: np.ndarray
    group: np.ndarray
    group_size: np.ndarray
    districts: np.ndarray
    district_of_entry: np.ndarray

    @staticmethod
    def of(plan, geo) -> _WaveCells:
        groups = [np.asarray(d, np.int64) for d, _, _ in plan.destinations]
        entries = np.concatenate(groups)
        group = np.repeat(np.arange(len(groups)), [len(d) for d in groups])
        districts, district_of_entry = np.unique(entries, return_inverse=True)
        return _WaveCells(np.flatnonzero(plan.origin_mask), entries, group,
                          np.array([len(d) for d in groups], float)[group], districts,
                          district_of_entry)


class _ExpectedRun(RunState):
    """Expected-value state with the interface :func:`placesim.engine.run_timeline` drives."""

    def __init__(self, model: Model):
        geo = model.geo
        self.posts4 = model.baseline_posts4.astype(float)  # (grade, district, prof, role)
        super().__init__(model, model.baseline_stock.astype(float))
        self.min_steps = max(int(model.rules.min_steps_in_grade), 0)
        # people who entered their grade in each of the last min_steps steps (not yet
        # eligible), a ring whose oldest entry is at ``recent_head``
        self.recent = np.repeat((self.stock / START_TENURE_STEPS)[None], self.min_steps, axis=0)
        self.recent_head = 0
        self.recent_total = self.recent.sum(axis=0)
        self._rules_cache = None
        self.entered = np.zeros_like(self.stock)
        r = model.rules
        # float32 halves the cost of the (district x district) products; sums stay float64
        self.kernel = np.ascontiguousarray(r.relocation_kernel, dtype=np.float32)
        self.kernel_t = np.ascontiguousarray(self.kernel.T)
        self.area = geo.area.astype(np.int64)
        self.n_areas = geo.n_areas
        self._posts_facts = None  # cached while posts stay put
        self.recruit_pdf = np.diff(np.concatenate(
            [np.zeros(r.recruit_cdf.shape[:2] + (1,)), r.recruit_cdf], axis=2), axis=2)
        self.national_pdf = np.ascontiguousarray(np.diff(np.concatenate(
            [np.zeros((N_GRADES, 1)), model.national_cdf], axis=1), axis=1))
        self.no_freeze = np.ones((N_GRADES, geo.n_districts))
        self.mentored_share = 0.0
        self._wave_cells: dict[int, _WaveCells] = {}
        self.moved_cells: dict[tuple[int, int], np.ndarray] = {}  # (wave, year) -> posts

    # --- timeline interface ----------------------------------------------------------------
    def available(self, plan) -> float:
        return _matching_posts(self.posts4, self._cells(plan).origins, plan.grade_mask,
                               plan.profession, plan.role)

    def annual_lever(self, name: str, spec) -> None:
        if name == "mentoring":
            self.mentored_share = spec.coverage

    def result(self) -> ReplicationResult:
        columns = {"wave": [], "year": [], "from": [], "to": [], "posts": []}
        for (wave, year), amount in self.moved_cells.items():
            cells = self._wave_cells[wave]
            i, j = np.nonzero(amount)
            for column, values in zip(columns.values(), (
                    np.full(len(i), wave), np.full(len(i), year), cells.origins[i],
                    cells.districts[j], amount[i, j]), strict=True):
                column.append(values)
        moves = pd.DataFrame({name: np.concatenate(parts) if parts else np.empty(0, np.int64)
                              for name, parts in columns.items()})
        return ReplicationResult(replication=0, years=self.records, moves=moves)

    # --- one step ------------------------------------------------------------------------
    def step(self):
        rules = self.rules()
        self.entered[:] = 0.0
        for plan, per_dest in self.take_pending():
            self._move(plan, per_dest)
        posts, policy_share, posts_area_below, grade_size = self._posts()
        r = self._rule_arrays(rules)
        self.to_london += _step_kernel(
            self.stock, self.exits, self.exposure, self.promotions, self.entered, self.recent,
            self.recent_head, self.recent_total, posts, posts_area_below, policy_share,
            r["w_grade"], rules.policy_match_weight, grade_size, rules.exit_q,
            rules.lateral_share, r["internal"], r["odds"], r["wr_factor"], r["will"],
            self.kernel, self.kernel_t, self.area, self.n_areas, self.m.geo.is_london,
            r["ext_keep"], self.recruit_pdf, float(self.m.steps_per_year))
        if self.min_steps:
            self.recent_head = (self.recent_head + 1) % self.min_steps
        self.step_index += 1

    def _rule_arrays(self, rules) -> dict:
        """What the kernel needs from this step's rules, kept while the rules stay the same."""
        if self._rules_cache is not None and self._rules_cache[0] is rules \
                and self._rules_cache[1] == self.mentored_share:
            return self._rules_cache[2]
        odds = rules.seb_odds.copy()
        if rules.mentoring_multiplier != 1.0:  # mentoring spread over the low-SEB pool
            odds[:, LOW] *= 1 + self.mentored_share * (rules.mentoring_multiplier - 1)
        odds = np.ascontiguousarray(odds[1:])
        w_grade = promotion_envelope(rules)[1:]
        ext_keep = self.no_freeze
        if rules.freeze_share > 0:  # a London recruitment freeze leaves some posts empty
            blocked = rules.freeze_grades[:, None] & self.m.geo.is_london[None, :]
            ext_keep = np.where(blocked, 1 - rules.freeze_share, 1.0)
        internal = rules.internal_share.copy()
        internal[0] = 0.0
        arrays = {
            "odds": odds, "w_grade": w_grade, "ext_keep": ext_keep, "internal": internal,
            "will": rules.willingness * rules.support_willingness,
            "wr_factor": odds * rules.willingness[None, :] * rules.support_willingness,
        }
        self._rules_cache = (rules, self.mentored_share, arrays)
        return arrays

    def _posts(self):
        """Post counts and what follows from them, recomputed only after posts move."""
        if self._posts_facts is None:
            p4 = self.posts4
            posts = p4[:, :, 0, 0] + p4[:, :, 0, 1] + p4[:, :, 1, 0] + p4[:, :, 1, 1]  # (G, D)
            policy = p4[1:, :, POLICY, 0] + p4[1:, :, POLICY, 1]
            policy_share = policy / np.maximum(posts[1:], TINY)
            A = self.n_areas  # posts of the candidate blocks of promotions, by (grade, area)
            cell = np.arange(N_GRADES - 1)[:, None] * A + self.area[None, :]
            area_posts = np.bincount(cell.ravel(), weights=posts[:-1].ravel(),
                                     minlength=(N_GRADES - 1) * A).reshape(N_GRADES - 1, A)
            self._posts_facts = (np.ascontiguousarray(posts), policy_share, area_posts,
                                 np.maximum(posts.sum(axis=1), TINY))
        return self._posts_facts

    def _cells(self, plan) -> _WaveCells:
        cells = self._wave_cells.get(plan.index)
        if cells is None:
            cells = self._wave_cells[plan.index] = _WaveCells.of(plan, self.m.geo)
        return cells

    def _move(self, plan, per_dest):
        """Move posts of one wave tranche to all its destinations at once, in expectation."""
        m, geo, cells = self.m, self.m.geo, self._cells(plan)
        n = float(per_dest.sum())
        share = per_dest[cells.group] / n / cells.group_size  # of the tranche, per entry
        take = share > 0
        if not take.any():
            return
        support, support_gbp = self.relocation_support(plan)
        movers, leavers, moved_o = _move_kernel(
            self.stock, self.posts4, self.entered, cells.origins, plan.grade_mask,
            plan.profession, plan.role, n, cells.entries[take], share[take], geo.distance_km,
            plan.accept_by_grade, plan.per_100km, support, plan.high_seb_multiplier,
            plan.redeploy_share, plan.backfill_anywhere, self.national_pdf, self.area,
            self.n_areas)
        if not moved_o.any():
            return
        self._posts_facts = None
        f = np.bincount(cells.district_of_entry, weights=share,
                        minlength=len(cells.districts))  # share per destination district
        key = (plan.index, self.year)
        amount = moved_o[:, None] * f[None, :]
        if key in self.moved_cells:
            self.moved_cells[key] += amount
        else:
            self.moved_cells[key] = amount
        moved = moved_o.sum()
        self.moved_total += moved * f.sum()
        self.moved_out += (moved_o[geo.is_london[cells.origins]].sum()
                           * f[~geo.is_london[cells.districts]].sum())
        self.moved_cold += moved * f[geo.is_coldspot[cells.districts]].sum()
        self.reloc_movers += movers
        self.reloc_leavers += leavers
        self.cost += (movers.sum() * (m.params.cost_mover_gbp + support_gbp)
                      + leavers.sum() * m.params.cost_leaver_gbp)

    def year_end(self, year_number: int):
        p4 = self.posts4
        self._record_year(year_number, self._posts()[0].copy(),
                          p4[:, :, POLICY, 0] + p4[:, :, POLICY, 1],
                          p4[:, :, 0, PO] + p4[:, :, 1, PO])


@njit(cache=True, inline="always")
def _success(p, rounds):
    """Chance that ``rounds`` independent draws with acceptance ``p`` find someone."""
    miss, base, n = 1.0, 1.0 - p, rounds
    while n:
        if n & 1:
            miss *= base
        base *= base
        n >>= 1
    return 1.0 - miss


@njit(cache=True, error_model="numpy")
def _step_kernel(stock, exits, exposure, promotions, entered, recent, recent_head,
                 recent_total, posts, posts_area_below, policy_share, w_grade,
                 policy_match_weight, grade_size, exit_q, lat, internal, odds, wr_factor, will,
                 kernel, kernel_t, area, n_areas, is_london, ext_keep, recruit_pdf,
                 steps_per_year):
    """One step of the expected flows, in place; returns promotions into London by SEB.

    Exits at their grade rates; then every grade's vacancies (posts minus people) are filled
    at once: promotions into grade g draw on grade g-1 and lateral moves on the pool left
    after promotions out of it — the order of the person-level mode's vacancy chains. Local
    promotions succeed with the chance that a rejection-sampling search of the area's block
    succeeds; the rest search nationally, weighted by willingness to move and the relocation
    kernel (zero within an area, so London's own districts never count as "into London");
    what is left is recruited from the local labour market. Chains continue next step.
    People who entered their grade in the last ``len(recent)`` steps (``recent_total``) are
    not yet eligible; this step's entrants replace the oldest of them.
    """
    G, D, S = stock.shape
    H = G - 1  # grades that can be promoted from
    A = n_areas
    R = recent.shape[0]
    # exits, who is eligible, vacancies by route, and the local candidate pools by area
    eligible = np.empty((G, D, S))
    v_lat = np.empty((G, D))
    v_int = np.empty((G, D))
    v_ext = np.empty((G, D))
    w_max = np.empty((H, D))  # the rejection envelope of promotions into grade h + 1
    w_area = np.zeros((H, A, S))
    cap = np.zeros((H, A))
    for g in range(G):
        q = exit_q[g]
        for d in range(D):
            people = 0.0
            for s in range(S):
                ex = stock[g, d, s] * q
                stock[g, d, s] -= ex
                exits[g, d, s] += ex
                eligible[g, d, s] = max(stock[g, d, s] - recent_total[g, d, s], 0.0)
                people += stock[g, d, s]
            v = max(posts[g, d] - people, 0.0)
            v_lat[g, d] = v * lat[g]
            v_int[g, d] = v * (1 - lat[g]) * internal[g]
            v_ext[g, d] = v - v_lat[g, d] - v_int[g, d]
            if g < H:
                w_max[g, d] = w_grade[g] * (1 + policy_share[g, d] * (policy_match_weight - 1))
                a = area[d]
                for s in range(S):
                    e = eligible[g, d, s]
                    w_area[g, a, s] += e * odds[g, s]
                    cap[g, a] += e

    # promotions into grades 1.. from the grade below: local stage, by labour-market area
    w_area_tot = np.zeros((H, A))
    for h in range(H):
        for a in range(A):
            w_area_tot[h, a] = w_area[h, a, 0] + w_area[h, a, 1] + w_area[h, a, 2]
    want = np.empty((H, D))
    want_area = np.zeros((H, A))
    for h in range(H):
        for d in range(D):
            a = area[d]
            acc_p = w_area_tot[h, a] / max(w_max[h, d] * posts_area_below[h, a], 1e-12)
            acc_p = min(max(acc_p, 0.0), 1.0)
            want[h, d] = v_int[h + 1, d] * _success(acc_p, LOCAL_ROUNDS)
            want_area[h, a] += want[h, d]
    filled = np.empty((H, D))
    filled_area = np.zeros((H, A))
    for h in range(H):
        for d in range(D):
            a = area[d]
            scale = cap[h, a] / max(want_area[h, a], 1e-12) if want_area[h, a] > cap[h, a] \
                else 1.0
            filled[h, d] = want[h, d] * scale
            filled_area[h, a] += filled[h, d]
    # ... applied; what is left of each pool searches for posts elsewhere (remote stage),
    # weighted by willingness and distance. The (district x district) products run in
    # float32, everything else in float64.
    wr = np.empty((H, D, S))
    wr32 = np.empty((D, H * S), np.float32)  # (source district, grade x SEB)
    pool_tot = np.zeros(H)
    for h in range(H):
        for d in range(D):
            a = area[d]
            tot = max(w_area_tot[h, a], 1e-12)
            for s in range(S):
                plus = filled[h, d] * (w_area[h, a, s] / tot)
                minus = eligible[h, d, s] * odds[h, s] / tot * filled_area[h, a]
                stock[h, d, s] -= minus
                eligible[h, d, s] -= minus
                stock[h + 1, d, s] += plus
                entered[h + 1, d, s] += plus
                promotions[h + 1, d, s] += minus
                p = max(eligible[h, d, s], 0.0)
                pool_tot[h] += p
                wr[h, d, s] = p * wr_factor[h, s]
                wr32[d, h * S + s] = wr[h, d, s]
    reach = np.dot(kernel_t, wr32)  # (destination district, grade x SEB)
    ratio = np.empty((H, D))
    ratio32 = np.empty((D, H), np.float32)
    filled_r = np.empty((H, D))
    for h in range(H):
        for d in range(D):
            z = float(reach[d, h * S]) + float(reach[d, h * S + 1]) + float(reach[d, h * S + 2])
            a_rem = min(z / (w_max[h, d] * grade_size[h]), 1.0)
            filled_r[h, d] = (v_int[h + 1, d] - filled[h, d]) * _success(a_rem, REMOTE_ROUNDS)
            ratio[h, d] = filled_r[h, d] / max(z, 1e-12)
            ratio32[d, h] = ratio[h, d]
    back = np.dot(kernel, ratio32)  # (source district, grade)
    cut = np.ones(H)
    for h in range(H):
        taken = 0.0
        for d in range(D):
            b = float(back[d, h])
            for s in range(S):
                taken += wr[h, d, s] * b
        over = taken / max(pool_tot[h], 1e-12)
        if over > 1:  # cannot exceed the pool
            cut[h] = 1 / max(over, 1e-12)
    # ... applied; lateral moves within each grade then draw on what is left
    to_london = np.zeros(S)
    wl = np.empty((G, D, S))
    wl32 = np.empty((D, G * S), np.float32)
    for h in range(H):
        c = cut[h]
        for d in range(D):
            r = ratio[h, d] * c
            b = float(back[d, h])
            for s in range(S):
                minus = wr[h, d, s] * b * c
                plus = float(reach[d, h * S + s]) * r
                stock[h, d, s] -= minus
                eligible[h, d, s] -= minus
                stock[h + 1, d, s] += plus
                entered[h + 1, d, s] += plus
                promotions[h + 1, d, s] += minus
                if is_london[d]:
                    to_london[s] += plus
                wl[h, d, s] = max(eligible[h, d, s], 0.0) * will[s]
                wl32[d, h * S + s] = wl[h, d, s]
            v_ext[h + 1, d] += v_int[h + 1, d] - filled[h, d] - filled_r[h, d] * c
    for d in range(D):  # the top grade is promoted into, not from
        for s in range(S):
            wl[H, d, s] = max(eligible[H, d, s], 0.0) * will[s]
            wl32[d, H * S + s] = wl[H, d, s]
    reach = np.dot(kernel_t, wl32)
    ratio = np.empty((G, D))
    ratio32 = np.empty((D, G), np.float32)
    for g in range(G):
        for d in range(D):
            z = float(reach[d, g * S]) + float(reach[d, g * S + 1]) + float(reach[d, g * S + 2])
            done = v_lat[g, d] * _success(min(z / grade_size[g], 1.0), REMOTE_ROUNDS)
            ratio[g, d] = done / max(z, 1e-12)
            ratio32[d, g] = ratio[g, d]
            v_ext[g, d] += v_lat[g, d] - done
    back = np.dot(kernel, ratio32)
    # ... applied; the rest of the vacancies are filled by recruits from the local labour
    # market's SEB mix, and this step's entrants replace the oldest recent ones
    oldest = recent[recent_head] if R else recent_total  # (unused when R == 0)
    for g in range(G):
        for d in range(D):
            r, b = ratio[g, d], float(back[d, g])
            v = v_ext[g, d] * ext_keep[g, d]
            for s in range(S):
                minus = wl[g, d, s] * b
                stock[g, d, s] += float(reach[d, g * S + s]) * r - minus
                eligible[g, d, s] -= minus
                add = v * recruit_pdf[g, d, s]
                stock[g, d, s] += add
                entered[g, d, s] += add
                exposure[g, d, s] += stock[g, d, s] / steps_per_year
                if R:
                    recent_total[g, d, s] += entered[g, d, s] - oldest[g, d, s]
                    oldest[g, d, s] = entered[g, d, s]
    return to_london


@njit(cache=True)
def _matching_posts(posts4, origins, grade_mask, profession, role):
    """Posts in ``origins`` matching a wave's selector (grades, profession, role; -1: any)."""
    total = 0.0
    for g in range(posts4.shape[0]):
        if grade_mask[g]:
            for o in origins:
                for p in range(2):
                    for r in range(2):
                        if (profession < 0 or p == profession) and (role < 0 or r == role):
                            total += posts4[g, o, p, r]
    return total


@njit(cache=True, error_model="numpy")
def _move_kernel(stock, posts4, entered, origins, grade_mask, profession, role, n, dests, f,
                 distance_km, accept_by_grade, per_100km, support, high_seb_multiplier,
                 redeploy_share, backfill_anywhere, national_pdf, area, n_areas):
    """Move ``n`` posts matching a selector from ``origins`` to ``dests`` (shares ``f``).

    Posts leave each matching (grade, origin, profession, role) cell in proportion; their
    incumbents accept with a probability by grade, SEB and distance (times relocation
    support), and of the rest a share is redeployed into same-grade vacancies of their own
    area while there are any, and the others leave. With ``backfill_anywhere`` the posts left
    empty are filled at once from the national mix. Returns (movers by SEB, leavers by SEB,
    posts moved out of each origin).
    """
    G, D, S = stock.shape
    n_origins, M = len(origins), len(dests)
    total = _matching_posts(posts4, origins, grade_mask, profession, role)
    movers_s = np.zeros(S)
    leavers_s = np.zeros(S)
    moved_o = np.zeros(n_origins)
    if total <= 0:
        return movers_s, leavers_s, moved_o
    share = min(n / total, 1.0)
    people = np.zeros((G, n_origins, S))  # incumbents of the moved posts
    moved_g = np.zeros(G)
    leaving = np.zeros((n_origins, 2, 2))
    for g in range(G):
        if not grade_mask[g]:
            continue
        # every origin's posts leave before any arrive, so a destination that is also an
        # origin does not send on posts it has just received
        for i in range(n_origins):
            o = origins[i]
            before = posts4[g, o, 0, 0] + posts4[g, o, 0, 1] + posts4[g, o, 1, 0] \
                + posts4[g, o, 1, 1]
            moved = 0.0
            for p in range(2):
                for r in range(2):
                    x = 0.0
                    if (profession < 0 or p == profession) and (role < 0 or r == role):
                        x = posts4[g, o, p, r] * share
                        posts4[g, o, p, r] -= x
                    leaving[i, p, r] = x
                    moved += x
            moved_o[i] += moved
            moved_g[g] += moved
            if before > 0:
                for s in range(S):
                    people[g, i, s] = stock[g, o, s] * (moved / before)
        for i in range(n_origins):
            for p in range(2):
                for r in range(2):
                    for j in range(M):
                        posts4[g, dests[j], p, r] += leaving[i, p, r] * f[j]
    decay = np.empty((n_origins, M))
    for i in range(n_origins):
        for j in range(M):
            decay[i, j] = per_100km ** (distance_km[origins[i], dests[j]] / 100.0)
    stay = np.zeros((G, n_origins, S))
    arrived = np.zeros((G, M))
    for g in range(G):
        if moved_g[g] == 0:
            continue
        for i in range(n_origins):
            o = origins[i]
            for s in range(S):
                for j in range(M):
                    inc = people[g, i, s] * f[j]
                    p = accept_by_grade[g] * decay[i, j] * support
                    if s == 0:
                        p *= high_seb_multiplier
                    mv = inc * min(p, 1.0)
                    stock[g, o, s] -= inc
                    stock[g, dests[j], s] += mv
                    arrived[g, j] += mv
                    movers_s[s] += mv
                    stay[g, i, s] += inc - mv
    # redeployed: into same-grade vacancies of their own area, while there are any
    vac_area = np.zeros((G, n_areas))
    for g in range(G):
        for d in range(D):
            v = posts4[g, d, 0, 0] + posts4[g, d, 0, 1] + posts4[g, d, 1, 0] + posts4[g, d, 1, 1] \
                - (stock[g, d, 0] + stock[g, d, 1] + stock[g, d, 2])
            vac_area[g, area[d]] += max(v, 0.0)
    want = np.zeros((G, n_areas))
    for g in range(G):
        for i in range(n_origins):
            for s in range(S):
                want[g, area[origins[i]]] += stay[g, i, s] * redeploy_share
    for g in range(G):
        for i in range(n_origins):
            a = area[origins[i]]
            rate = min(want[g, a], vac_area[g, a]) / max(want[g, a], 1e-12) \
                if want[g, a] > 0 else 0.0
            for s in range(S):
                red = stay[g, i, s] * redeploy_share
                placed = red * rate
                stock[g, origins[i], s] += placed  # kept in their origin district
                leavers_s[s] += stay[g, i, s] * (1 - redeploy_share) + red - placed
    if backfill_anywhere:
        for g in range(G):
            for j in range(M):
                empty = max(moved_g[g] * f[j] - arrived[g, j], 0.0)
                for s in range(S):
                    add = empty * national_pdf[g, s]
                    stock[g, dests[j], s] += add
                    entered[g, dests[j], s] += add
    return movers_s, leavers_s, moved_o


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
    with _BLAS.limit(limits=1, user_api="blas"):
        return run_timeline(model, _ExpectedRun(model))


__all__ = ["run_expected", "GRADES"]
