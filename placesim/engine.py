"""The simulation engine: a SimPy timeline over vectorised workforce flows.

SimPy drives what happens *when*: relocation waves (in tranches), site openings that release
desk capacity (a :class:`simpy.Container` per site with a known capacity — a wave waits for
desks), and levers switching on and off. A periodic process applies one step of
:mod:`placesim.flows` to the whole workforce at once. There is never one SimPy process per
person: that pattern takes minutes per run at Civil Service scale.

Randomness: each replication draws from ``SeedSequence(seed, spawn_key=(replication,))``, split
into one stream per purpose (flows, moves, levers), so two scenarios run with the same seed
share their random numbers (common random numbers) and their differences are signal. The
baseline population is synthesised once per seed and shared by all replications. Results do
not depend on how replications are spread over processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import simpy

from . import flows
from .calibration import Parameters, resolve_parameters, seb_mix_by_grade
from .grades import GRADES, PROFESSIONS, ROLES, SEB_CLASSES
from .population import N_GRADES, N_SEB, NEVER, Geography, Slots, build_geography, synthesise

log = logging.getLogger(__name__)

POPULATION_STREAM = 0x5EB


@dataclass(frozen=True)
class WavePlan:
    """A relocation wave resolved against the data: indices instead of names."""

    index: int
    name: str
    start_time: float  # years from the start of the horizon
    n_tranches: int
    origin_mask: np.ndarray
    grade_mask: np.ndarray
    profession: int
    role: int
    count: int | None
    share: float | None
    destinations: tuple[tuple[np.ndarray, float, int], ...]  # (districts, share, site index|-1)
    accept_by_grade: np.ndarray
    high_seb_multiplier: float
    per_100km: float
    redeploy_share: float
    backfill_anywhere: bool
    support_gbp: float


@dataclass
class Model:
    """Everything a replication needs, prepared once per scenario (picklable for workers)."""

    scenario: object
    params: Parameters
    geo: Geography
    population: Slots
    rules: flows.StepRules
    waves: tuple[WavePlan, ...]
    national_cdf: np.ndarray
    site_capacity: dict[int, tuple[float, int]]  # site index -> (open time, capacity)
    start_year: int
    years: int
    steps_per_year: int
    baseline_posts4: np.ndarray  # (grade, district, profession, role) posts
    baseline_stock: np.ndarray  # (grade, district, seb) people
    data_vintage: str = ""

    @property
    def baseline_posts_gd(self) -> np.ndarray:
        """(grade, district) posts at the start."""
        return self.baseline_posts4.sum(axis=(2, 3))


@dataclass
class YearRecord:
    """Raw yearly state and flows of one replication; metrics are computed from these."""

    year: int
    stock: np.ndarray  # (grade, district, seb) headcount at year end
    posts: np.ndarray  # (grade, district) posts at year end
    policy_posts: np.ndarray  # (grade, district)
    private_office_posts: np.ndarray  # (grade, district)
    exposure: np.ndarray  # (grade, district, seb) person-years in the year
    promotions: np.ndarray  # (grade INTO, origin district, seb)
    exits: np.ndarray  # (grade, district, seb)
    moves_to_london_for_promotion: np.ndarray  # (seb,)
    moved_out_of_london: int  # cumulative
    moved_total: int  # cumulative
    moved_to_coldspots: int  # cumulative
    reloc_leavers: np.ndarray  # (seb,) cumulative
    reloc_movers: np.ndarray  # (seb,) cumulative
    cost_gbp: float  # cumulative
    awaiting_capacity: int


@dataclass
class ReplicationResult:
    """One replication: its yearly records and the posts it moved."""

    replication: int
    years: list[YearRecord]
    moves: pd.DataFrame  # wave, year, origin district idx, destination idx, posts
    timings: dict = field(default_factory=dict)


def replication_rng(seed: int, replication: int) -> list[np.random.Generator]:
    """Independent generators (flows, moves, levers) for one replication.

    Parameters
    ----------
    seed : int
    replication : int

    Returns
    -------
    list of numpy.random.Generator
    """
    ss = np.random.SeedSequence(seed, spawn_key=(replication,))
    return [np.random.default_rng(c) for c in ss.spawn(3)]


def prepare(scenario, pkg=None, *, seed: int | None = None) -> Model:
    """Resolve a scenario against its data package and synthesise the baseline population.

    Parameters
    ----------
    scenario : Scenario
    pkg : DataPackage, optional
        Defaults to the scenario's data package or the shipped one.
    seed : int, optional
        Defaults to the scenario's seed.

    Returns
    -------
    Model
    """
    from .geodata import coldspot_districts, load_data_package
    from .scenario import resolve_data_path, resolve_scenario_path

    if pkg is None:
        pkg = load_data_package(resolve_data_path(scenario))
    cs = scenario.coldspots
    csv_path = resolve_scenario_path(scenario, cs.csv) if cs.csv else None
    cold = coldspot_districts(pkg, rule=cs.rule, index=cs.index, categories=cs.categories,
                              csv_path=csv_path)
    geo = build_geography(pkg, cold)
    params = resolve_parameters(scenario)
    seed = scenario.seed if seed is None else seed
    pop_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(POPULATION_STREAM,)))
    population = synthesise(pkg, geo, pop_rng)

    spy = 4 if scenario.step == "quarter" else 12
    dt = 1.0 / spy
    weights = np.bincount(population.district, minlength=geo.n_districts).astype(float)
    mix = seb_mix_by_grade()
    rules = flows.StepRules(
        exit_q=1.0 - (1.0 - params.exit_rate) ** dt,
        lateral_share=params.lateral_share,
        internal_share=params.internal_fill_share,
        seb_odds=params.seb_promotion_odds,
        willingness=params.relocation_willingness,
        min_steps_in_grade=int(round(params.min_quarters_in_grade * spy / 4)),
        accelerator_weight=params.accelerator_weight,
        policy_match_weight=params.policy_match_weight,
        london_advantage=params.london_promotion_advantage,
        recruit_cdf=flows.recruit_cdf(mix, geo.labour_mix, weights),
        relocation_kernel=flows.relocation_kernel(geo, params.relocation_base,
                                                  params.willingness_per_100km),
    )
    national_cdf = np.cumsum(mix, axis=1)
    population.ready = np.where(population.seb >= 0,
                                population.grade_since + rules.min_steps_in_grade,
                                NEVER).astype(np.int16)
    waves = tuple(_plan_wave(i, w, scenario, geo, spy) for i, w in enumerate(scenario.waves))
    capacity = _site_capacity(pkg, scenario, geo)
    D = geo.n_districts
    g, d = population.grade.astype(np.int64), population.district.astype(np.int64)
    cell = (g * D + d) * 4 + population.profession.astype(np.int64) * 2 + population.role
    posts4 = np.bincount(cell, minlength=N_GRADES * D * 4).reshape(N_GRADES, D, 2, 2)
    filled = population.seb >= 0
    stock = np.bincount(((g * D + d) * N_SEB + population.seb)[filled],
                        minlength=N_GRADES * D * N_SEB).reshape(N_GRADES, D, N_SEB)
    return Model(
        scenario=scenario, params=params, geo=geo, population=population, rules=rules,
        waves=waves, national_cdf=national_cdf, site_capacity=capacity,
        start_year=scenario.horizon.start_year, years=scenario.horizon.years,
        steps_per_year=spy, baseline_posts4=posts4, baseline_stock=stock,
        data_vintage=getattr(pkg, "vintage", ""),
    )


def _plan_wave(i: int, w, scenario, geo: Geography, spy: int) -> WavePlan:
    start = (w.year - scenario.horizon.start_year) + (w.quarter - 1) / 4.0
    if isinstance(w.origin, str):
        origin = geo.is_london.copy()
    else:
        origin = np.zeros(geo.n_districts, bool)
        origin[geo.index_of(w.origin)] = True
    grade_mask = np.zeros(N_GRADES, bool)
    grade_mask[[GRADES.index(g) for g in w.posts.grades]] = True
    prof = -1 if w.posts.profession == "any" else PROFESSIONS.index(w.posts.profession)
    role = -1 if w.posts.role == "any" else ROLES.index(w.posts.role)
    site_index = {s: k for k, s in enumerate(geo.site_ids)}
    dests = []
    for d in w.destinations:
        if d.site is not None:
            k = site_index[d.site]
            dests.append((np.array([geo.site_district[k]]), d.share, k))
        elif d.district is not None:
            dests.append((geo.index_of([d.district]), d.share, -1))
        else:
            cold = np.flatnonzero(geo.is_coldspot & ~geo.is_london)
            dests.append((cold, d.share, -1))
    acc = np.full(N_GRADES, w.incumbents.base)
    for g, v in w.incumbents.by_grade.items():
        acc[GRADES.index(g)] = v
    n_tranches = max(1, int(round(w.spread_years * spy))) if w.spread_years > 0 else 1
    return WavePlan(
        index=i, name=w.name, start_time=start, n_tranches=n_tranches, origin_mask=origin,
        grade_mask=grade_mask, profession=prof, role=role, count=w.count, share=w.share,
        destinations=tuple(dests), accept_by_grade=acc,
        high_seb_multiplier=w.incumbents.high_seb_multiplier,
        per_100km=w.incumbents.per_100km_multiplier,
        redeploy_share=w.incumbents.redeploy_share,
        backfill_anywhere=w.backfill == "anywhere", support_gbp=w.relocation_support_gbp,
    )


def _site_capacity(pkg, scenario, geo: Geography) -> dict[int, tuple[float, int]]:
    out = {}
    sites = pkg.sites.set_index("site_id")
    for k, sid in enumerate(geo.site_ids):
        cap = sites.loc[sid, "capacity"] if "capacity" in sites.columns else None
        opens = 0.0
        ov = scenario.sites.get(sid)
        if ov is not None:
            if ov.capacity is not None:
                cap = ov.capacity
            if ov.opens_year is not None:
                opens = float(ov.opens_year - scenario.horizon.start_year)
        if cap is not None and not pd.isna(cap):
            out[k] = (max(opens, 0.0), int(cap))
    return out


def _split(n: int, shares: list[float]) -> np.ndarray:
    """Largest-remainder split of n into parts proportional to shares."""
    return _split_cached(int(n), tuple(shares)).copy()


@lru_cache(maxsize=4096)
def _split_cached(n: int, shares: tuple[float, ...]) -> np.ndarray:
    w = np.asarray(shares, float)
    raw = w / w.sum() * n
    base = np.floor(raw).astype(np.int64)
    rem = n - base.sum()
    if rem > 0:
        base[np.argsort(-(raw - base), kind="stable")[:rem]] += 1
    return base


class RunState:
    """What both modes keep while :func:`run_timeline` drives them.

    The timeline's interface (``pending`` moves, ``active`` levers, ``awaiting`` capacity),
    the year's flows (exposure, promotions, exits, moves to London), the run's totals and the
    yearly records. Subclasses hold the workforce (people or expected stocks) and provide
    ``step``, ``available``, ``annual_lever``, ``year_end`` and ``result``.
    """

    def __init__(self, model: Model, stock: np.ndarray):
        self.m = model
        self.stock = stock  # (grade, district, seb) people in post
        self.pending: list[tuple[WavePlan, np.ndarray]] = []  # (wave, posts per destination)
        self.active: dict[str, object] = {}
        self.awaiting = 0
        self.moved_out = self.moved_total = self.moved_cold = 0
        self.reloc_leavers = np.zeros(N_SEB)
        self.reloc_movers = np.zeros(N_SEB)
        self.cost = 0.0
        self.move_rows: list[tuple] = []
        self.records: list[YearRecord] = []
        self.step_index = 0
        self._reset_year()

    def _reset_year(self):
        shape = self.stock.shape
        self.exposure = np.zeros(shape)
        self.promotions = np.zeros(shape)
        self.exits = np.zeros(shape)
        self.to_london = np.zeros(N_SEB)

    @property
    def year(self) -> int:
        """Calendar year of the current step."""
        return self.m.start_year + int(self.step_index // self.m.steps_per_year)

    def rules(self) -> flows.StepRules:
        """This step's rules: the model's, changed by the levers now active."""
        r = self.m.rules
        kw = {}
        sc = self.m.scenario.levers
        if "mentoring" in self.active:
            kw["mentoring_multiplier"] = sc.mentoring.promotion_multiplier
        if "london_recruitment_freeze" in self.active:
            f = sc.london_recruitment_freeze
            mask = np.zeros(N_GRADES, bool)
            mask[[GRADES.index(g) for g in f.grades]] = True
            kw["freeze_share"] = f.share_blocked
            kw["freeze_grades"] = mask
        if "relocation_support" in self.active:
            kw["support_willingness"] = sc.relocation_support.willingness_multiplier
        if "low_seb_scs_flow_target" in self.active:
            kw["low_seb_scs_share"] = sc.low_seb_scs_flow_target.share
        return replace(r, **kw) if kw else r

    def take_pending(self) -> list[tuple[WavePlan, np.ndarray]]:
        """This step's post moves, one per wave in the order released; clears them.

        A tranche bound for sites with limited desks is released one destination at a time
        (as desks exist); what a wave releases in one step is moved together, so a step costs
        one selection per wave rather than one per destination.
        """
        merged: dict[int, tuple[WavePlan, np.ndarray]] = {}
        for plan, per_dest in self.pending:
            if plan.index in merged:
                merged[plan.index] = (plan, merged[plan.index][1] + per_dest)
            else:
                merged[plan.index] = (plan, per_dest)
        self.pending = []
        return list(merged.values())

    def relocation_support(self, plan: WavePlan) -> tuple[float, float]:
        """(acceptance multiplier, support per mover in GBP) for a wave's incumbents now."""
        if "relocation_support" in self.active:
            rs = self.m.scenario.levers.relocation_support
            return rs.acceptance_multiplier, plan.support_gbp + rs.gbp_per_move
        return 1.0, plan.support_gbp

    def _record_year(self, year_number: int, posts: np.ndarray, policy_posts: np.ndarray,
                     private_office_posts: np.ndarray) -> None:
        self.records.append(YearRecord(
            year=self.m.start_year + year_number, stock=self.stock.copy(), posts=posts,
            policy_posts=policy_posts, private_office_posts=private_office_posts,
            exposure=self.exposure, promotions=self.promotions, exits=self.exits,
            moves_to_london_for_promotion=self.to_london,
            moved_out_of_london=self.moved_out, moved_total=self.moved_total,
            moved_to_coldspots=self.moved_cold, reloc_leavers=self.reloc_leavers.copy(),
            reloc_movers=self.reloc_movers.copy(), cost_gbp=self.cost,
            awaiting_capacity=self.awaiting,
        ))
        self._reset_year()


class _Run(RunState):
    """State of one replication while the SimPy environment runs."""

    def __init__(self, model: Model, replication: int, seed: int):
        self.rep = replication
        self.rng_flows, self.rng_moves, self.rng_levers = replication_rng(seed, replication)
        self.slots = model.population.copy()
        self.posts4 = model.baseline_posts4.copy()  # (grade, district, profession, role)
        self.m = model
        super().__init__(model, model.baseline_stock.astype(np.int64))

    # -- stock bookkeeping ---------------------------------------------------------------
    def _flat(self, g, d, s):
        geo = self.m.geo
        return (np.asarray(g, np.int64) * geo.n_districts + np.asarray(d, np.int64)) * N_SEB + s

    def _count(self, g, d, s) -> np.ndarray:
        shape = (N_GRADES, self.m.geo.n_districts, N_SEB)
        if len(g) == 0:
            return np.zeros(shape, np.int64)
        return np.bincount(self._flat(g, d, s), minlength=int(np.prod(shape))).reshape(shape)

    # -- one step ------------------------------------------------------------------------
    def step(self):
        m, geo, slots = self.m, self.m.geo, self.slots
        k = self.step_index
        logbook = flows.StepLog()
        minus, plus = [], []
        for plan, dest in self.take_pending():
            self._apply_move(plan, dest, logbook, minus, plus)
        rules = self.rules()
        flows.draw_exits(slots, rules.exit_q, self.rng_flows, logbook)
        flows.fill_vacancies(slots, geo, rules, self.rng_flows, k, logbook)

        cat = flows.StepLog.cat
        eg, ed, es = cat(logbook.exit_g), cat(logbook.exit_d), cat(logbook.exit_s)
        pg, pf, pt, ps = (cat(logbook.promo_g), cat(logbook.promo_from_d),
                          cat(logbook.promo_to_d), cat(logbook.promo_s))
        lg, lf, lt, ls = (cat(logbook.lateral_g), cat(logbook.lateral_from_d),
                          cat(logbook.lateral_to_d), cat(logbook.lateral_s))
        rg, rd, rs = cat(logbook.recruit_g), cat(logbook.recruit_d), cat(logbook.recruit_s)
        minus += [(eg, ed, es), (pg - 1, pf, ps), (lg, lf, ls)]
        plus += [(pg, pt, ps), (lg, lt, ls), (rg, rd, rs)]
        self.stock += self._count(*map(np.concatenate, zip(*plus, strict=True)))
        self.stock -= self._count(*map(np.concatenate, zip(*minus, strict=True)))
        self.exposure += self.stock / m.steps_per_year
        self.exits += self._count(eg, ed, es)
        self.promotions += self._count(pg, pf, ps)
        into_london = geo.is_london[pt] & ~geo.is_london[pf]
        self.to_london += np.bincount(ps[into_london], minlength=N_SEB)
        self.step_index += 1

    def available(self, plan: WavePlan) -> int:
        """Posts matching a wave's selector in its origin now."""
        return len(flows.matching_slots(self.slots, self.m.geo, plan.origin_mask,
                                        plan.grade_mask, plan.profession, plan.role))

    def annual_lever(self, name: str, spec) -> None:
        _annual_lever_action(self, name, spec)

    def result(self) -> ReplicationResult:
        cols = ["wave", "year", "from", "to", "posts"]
        if not self.move_rows:
            return ReplicationResult(self.rep, self.records, pd.DataFrame(columns=cols))
        D = self.m.geo.n_districts
        key = np.concatenate([
            ((w * 10_000 + (y - self.m.start_year)) * D + f) * D + t
            for w, y, f, t in self.move_rows])
        uniq, counts = np.unique(key, return_counts=True)
        to, rest = uniq % D, uniq // D
        frm, rest = rest % D, rest // D
        year, wave = rest % 10_000 + self.m.start_year, rest // 10_000
        moves = pd.DataFrame({"wave": wave, "year": year, "from": frm, "to": to,
                              "posts": counts})
        return ReplicationResult(replication=self.rep, years=self.records, moves=moves)

    def _apply_move(self, plan: WavePlan, per_dest: np.ndarray, logbook, minus, plus):
        m, geo = self.m, self.m.geo
        chunks = []
        for (districts, _, _), k in zip(plan.destinations, per_dest, strict=True):
            if len(districts) == 1:
                chunks.append(np.full(k, districts[0], np.int64))
            else:
                chunks.append(districts[self.rng_moves.integers(0, len(districts), k)])
        dest = np.concatenate(chunks)
        support, support_gbp = self.relocation_support(plan)
        order = flows.MoveOrder(
            wave=plan.index, origin_mask=plan.origin_mask, grade_mask=plan.grade_mask,
            profession=plan.profession, role=plan.role, dest_districts=dest,
            accept_by_grade=plan.accept_by_grade, high_seb_multiplier=plan.high_seb_multiplier,
            per_100km=plan.per_100km, redeploy_share=plan.redeploy_share,
            backfill_anywhere=plan.backfill_anywhere, support_multiplier=support,
            min_steps_in_grade=m.rules.min_steps_in_grade,
        )
        out = flows.move_posts(self.slots, geo, order, m.national_cdf, self.rng_moves,
                               self.step_index, logbook)
        minus.extend(out.minus)
        plus.extend(out.plus)
        n = len(out.to_d)
        for sign, d in ((-1, out.from_d), (1, out.to_d)):
            cell = ((out.grade * m.geo.n_districts + d) * 2 + out.profession) * 2 + out.role
            self.posts4 += sign * np.bincount(cell, minlength=self.posts4.size).reshape(
                self.posts4.shape)
        self.moved_total += n
        self.moved_out += int(np.sum(geo.is_london[out.from_d] & ~geo.is_london[out.to_d]))
        self.moved_cold += int(np.sum(geo.is_coldspot[out.to_d]))
        self.reloc_leavers += np.bincount(out.leaver_s, minlength=N_SEB)
        self.reloc_movers += np.bincount(out.mover_s, minlength=N_SEB)
        self.cost += (len(out.mover_s) * (m.params.cost_mover_gbp + support_gbp)
                      + len(out.leaver_s) * m.params.cost_leaver_gbp)
        if n:
            self.move_rows.append((plan.index, self.year, out.from_d, out.to_d))

    def year_end(self, year_number: int):
        p4 = self.posts4
        self._record_year(year_number, p4.sum(axis=(2, 3)), p4[:, :, flows.POLICY].sum(axis=2),
                          p4[:, :, :, ROLES.index("private_office")].sum(axis=2))


def run_replication(model: Model, replication: int, seed: int | None = None) -> ReplicationResult:
    """Run one replication of a prepared model.

    Parameters
    ----------
    model : Model
    replication : int
        Replication number; keys the random streams.
    seed : int, optional
        Defaults to the scenario's seed.

    Returns
    -------
    ReplicationResult
    """
    seed = model.scenario.seed if seed is None else seed
    return run_timeline(model, _Run(model, replication, seed))


def run_timeline(model: Model, run) -> ReplicationResult:
    """Drive a run state (stochastic or expected) through the scenario's SimPy timeline.

    ``run`` provides ``step()``, ``year_end(n)``, ``available(plan)``, ``annual_lever(name,
    spec)``, ``result()`` and the attributes ``pending``, ``active`` and ``awaiting``.
    """
    env = simpy.Environment()
    dt = 1.0 / model.steps_per_year
    horizon = float(model.years)
    containers = {
        k: (simpy.Container(env, capacity=float("inf"), init=0), opens, cap)
        for k, (opens, cap) in model.site_capacity.items()
    }

    def stepper():
        # Steps run mid-period so that events at period boundaries come first.
        yield env.timeout(dt / 2)
        for k in range(model.years * model.steps_per_year):
            run.step()
            if (k + 1) % model.steps_per_year == 0:
                run.year_end((k + 1) // model.steps_per_year)
            yield env.timeout(dt)

    def site_opening(container, opens, cap):
        yield env.timeout(opens)
        yield container.put(cap)

    def await_desks(plan: WavePlan, per_dest: np.ndarray, desks: simpy.Event):
        """Posts bound for a site with limited desks wait until the desks exist."""
        k = int(per_dest.sum())
        run.awaiting += k
        yield desks
        run.awaiting -= k
        run.pending.append((plan, per_dest))

    def wave(plan: WavePlan):
        yield env.timeout(max(plan.start_time, 0.0))
        available = run.available(plan)
        total = plan.count if plan.count is not None else int(round(plan.share * available))
        total = min(total, int(available))
        for n in _split(total, [1.0] * plan.n_tranches):
            per_dest = _split(int(n), [s for _, s, _ in plan.destinations])
            for i, (_, _, site) in enumerate(plan.destinations):
                if per_dest[i] and site in containers:
                    # desks are taken first come, first served; most often they are free now
                    desks = containers[site][0].get(int(per_dest[i]))
                    if not desks.triggered:
                        waiting = np.zeros_like(per_dest)
                        waiting[i], per_dest[i] = per_dest[i], 0
                        env.process(await_desks(plan, waiting, desks))
            if per_dest.sum():
                run.pending.append((plan, per_dest))
            yield env.timeout(dt)

    def lever(name: str, spec):
        start = max(spec.start_year - model.start_year, 0)
        end = horizon if spec.end_year is None else spec.end_year + 1 - model.start_year
        yield env.timeout(start)
        run.active[name] = spec
        while env.now < end - 1e-9:
            run.annual_lever(name, spec)
            yield env.timeout(min(1.0, end - env.now))
        run.active.pop(name, None)

    env.process(stepper())
    for c, opens, cap in containers.values():
        env.process(site_opening(c, opens, cap))
    for plan in model.waves:
        env.process(wave(plan))
    levers = model.scenario.levers
    for name in type(levers).model_fields:
        spec = getattr(levers, name)
        if spec is not None:
            env.process(lever(name, spec))
    env.run(until=horizon)

    return run.result()


def _annual_lever_action(run: _Run, name: str, spec) -> None:
    """Once a year while a lever is on: enrol mentees, assign postings and scheme places."""
    slots, geo, rng = run.slots, run.m.geo, run.rng_levers
    if name == "mentoring":
        gm = np.zeros(N_GRADES, bool)
        gm[[GRADES.index(g) for g in spec.grades]] = True
        pool = np.flatnonzero(gm[slots.grade] & (slots.seb == SEB_CLASSES.index("low"))
                              & ~slots.mentored)
        already = int(np.sum(gm[slots.grade] & slots.mentored))
        target = int(round(spec.coverage * (len(pool) + already))) - already
        if target > 0 and len(pool):
            slots.mentored[rng.choice(pool, size=min(target, len(pool)), replace=False)] = True
    elif name in ("london_postings", "talent_scheme_ring_fence"):
        gm = np.zeros(N_GRADES, bool)
        gm[[GRADES.index(g) for g in spec.grades]] = True
        base = gm[slots.grade] & (slots.seb >= 0) & ~slots.accelerator
        if name == "london_postings":
            pool = np.flatnonzero(base & ~geo.is_london[slots.district])
            picks = rng.choice(pool, size=min(spec.places_per_year, len(pool)), replace=False)
        else:
            n_low = int(round(spec.places_per_year * spec.low_seb_share))
            low = np.flatnonzero(base & (slots.seb == SEB_CLASSES.index("low")))
            a = rng.choice(low, size=min(n_low, len(low)), replace=False)
            rest_mask = base.copy()
            rest_mask[a] = False
            rest = np.flatnonzero(rest_mask)
            b = rng.choice(rest, size=min(spec.places_per_year - len(a), len(rest)),
                           replace=False)
            picks = np.concatenate([a, b])
        slots.accelerator[picks] = True
