"""The simulation engine: a SimPy timeline over vectorised workforce flows.

A scenario is compiled once into :class:`placesim.rules.Rules`; this module drives it. SimPy
decides what happens *when* relocation waves release posts (in tranches) and whether their
destination sites have desks yet (a :class:`simpy.Container` per site with a known
capacity: a tranche waits for desks). A periodic process applies one step of
:mod:`placesim.flows` to the whole workforce at once, after the lever events the rules list
for that step (:mod:`placesim.levers`). There is never one SimPy process per person: that
pattern takes minutes per run at Civil Service scale.

Randomness: every draw is keyed by (seed, replication, purpose, slot, step) through
:mod:`placesim.streams`, so two scenarios run with the same seed make identical draws for
every post their stories share (common random numbers) and a comparison shows the policy,
not the noise. The baseline population is synthesised once per seed and shared by all
replications. Results do not depend on how replications are spread over processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import simpy
from threadpoolctl import ThreadpoolController

from . import cohort, flows, levers, streams
from .calibration import Parameters, resolve_parameters
from .geodata import devolved_posts
from .grades import GRADES
from .population import (
    N_GRADES,
    N_SEB,
    POLICY,
    PRIVATE_OFFICE,
    Geography,
    Slots,
    baseline_posts3,
    build_geography,
    start_counts,
    start_vacancies,
    synthesise,
)
from .posts import in_turn, largest_remainder, passed_deadline
from .rules import Rules, WavePlan, compile_rules, support_paid

log = logging.getLogger(__name__)

POPULATION_STREAM = 0x5EB


@dataclass
class Model:
    """Everything a replication needs, prepared once per scenario (picklable for workers)."""

    scenario: object
    params: Parameters
    geo: Geography
    rules: Rules
    population: Slots | None  # (None if prepared without people: expected mode only)
    baseline_posts3: np.ndarray  # (grade, district, post type) posts
    baseline_stock4: np.ndarray  # (grade, district, seb, post type) people
    data_vintage: str = ""
    # (grade,) posts of the devolved administrations (outside London), held at the start's
    # level: outside the Places for Growth SCS measure and the permanent-secretary target
    devolved_posts: np.ndarray | None = None

    @property
    def start_year(self) -> int:
        return self.rules.start_year

    @property
    def years(self) -> int:
        return self.rules.n_steps // self.rules.steps_per_year

    @property
    def steps_per_year(self) -> int:
        return self.rules.steps_per_year

    @property
    def waves(self) -> tuple[WavePlan, ...]:
        return self.rules.waves

    @property
    def baseline_posts_gd(self) -> np.ndarray:
        """(grade, district) posts at the start."""
        return self.baseline_posts3.sum(axis=2)

    @property
    def baseline_stock(self) -> np.ndarray:
        """(grade, district, seb) people at the start."""
        s4 = self.baseline_stock4  # (numpy's sum over its last axis, of three, took 8 times
        return sum(s4[..., t] for t in range(s4.shape[3]))  # longer: 0.2 ms a run)

    def people(self, reader: str) -> Slots:
        """The start's people post by post, for ``reader`` (who needs them, named in the
        error raised if the model was prepared without them)."""
        if self.population is None:
            raise ValueError("the model was prepared without people (prepare(..., "
                             f"people=False)): {reader} needs them")
        return self.population


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
    moves_from_london_for_promotion: np.ndarray  # (seb,)
    cross_area_promotions: np.ndarray  # (grade INTO,) promotions from another area
    moved_out_of_london: float  # cumulative (a re-created role by its origin's shares)
    moved_total: int  # cumulative, posts the waves moved since the start (any destination)
    moved_to_coldspots: int  # cumulative, of those, to coldspots
    reloc_leavers: np.ndarray  # (grade, seb) cumulative
    reloc_movers: np.ndarray  # (seb,) cumulative
    awaiting_capacity: int
    posts_created: float = 0.0  # cumulative
    posts_closed: float = 0.0  # cumulative (as they fell vacant, or at a deadline)
    # (pool,) closures waiting for a vacancy, by closure pool (placesim.posts.PostPlan)
    closures_pending: np.ndarray = field(default_factory=lambda: np.zeros(0))
    redundancies: np.ndarray = field(  # (grade, seb) cumulative
        default_factory=lambda: np.zeros((N_GRADES, N_SEB)))
    # (grade, seb) cumulative: of those, the redundancies of recreating waves' deadlines
    # (counted in reloc_leavers too; a workforce cut's are not)
    wave_redundancies: np.ndarray = field(default_factory=lambda: np.zeros((N_GRADES, N_SEB)))
    cost_movers_gbp: float = 0.0  # cumulative: movers' relocation packages and support
    # cumulative: of which the relocation-support lever's payments to people promoted across
    # areas (a running cost while the lever is on: held in the long-run NPV, the rest not)
    cost_promotion_support_gbp: float = 0.0
    # for the department view (placesim.departments), cumulative: roles each wave moved out
    # of London, and posts each closure pool of a wave closed
    moved_out_by_wave: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pools_closed: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # (wave,) posts each wave asked for but did not find, cumulative (:func:`wave_shortfall`)
    wave_posts_not_found: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # every run's entrants, and the outreach and secondments levers' figures (LeverState.year)
    levers: dict = field(default_factory=dict)
    # (grade,) posts of people away on London postings at year end (their home posts are
    # held for them): in ``posts``, in the postings' district, but no extra post
    posting_posts: np.ndarray = field(default_factory=lambda: np.zeros(N_GRADES))
    # the EOs followed from the start (placesim.cohort), by cohort (London, outside London):
    # how many there were, and how many have reached Grade 7 so far (cumulative)
    cohort_size: np.ndarray = field(default_factory=lambda: np.zeros(cohort.N_TAGS - 1))
    cohort_reached: np.ndarray = field(default_factory=lambda: np.zeros(cohort.N_TAGS - 1))


@dataclass
class ReplicationResult:
    """One replication: its yearly records and the posts it moved."""

    replication: int
    years: list[YearRecord]
    moves: pd.DataFrame  # wave, year, origin district idx, destination idx, posts
    timings: dict = field(default_factory=dict)

    def stacked(self, name: str) -> np.ndarray:
        """One array field of every year record, stacked: (year, ...) floats, read-only.

        Kept with the result: the headline, district, lever and department tables read the
        same few, and stacked them again each (the stock five times over for a department
        view, a sixth of its digest's time).

        Parameters
        ----------
        name : str
            A :class:`YearRecord` field (``stock``, ``posts``, ``promotions``...).
        """
        kept = self.__dict__.setdefault("_stacked", {})
        out = kept.get(name)
        if out is None:
            out = np.stack([getattr(rec, name) for rec in self.years]).astype(float)
            out.flags.writeable = False
            kept[name] = out
        return out


def prepare(scenario, pkg=None, *, seed: int | None = None, params=None,
            people: bool = True) -> Model:
    """Resolve a scenario against its data package and synthesise the baseline population.

    Parameters
    ----------
    scenario : Scenario
    pkg : DataPackage, optional
        Defaults to the scenario's data package or the shipped one.
    seed : int, optional
        Defaults to the scenario's seed.
    params : Parameters, optional
        Use these parameters instead of resolving the scenario's (calibration uses this).
    people : bool
        Synthesise the baseline's people post by post (:attr:`Model.population`), which the
        stochastic engine and the reference model start from. The expected mode reads only
        how many there are where (``baseline_posts3``, ``baseline_stock4``), counted from the
        same draws either way: without people, preparing an edited pfg-2027 took a median
        55.5 ms against 75.8 ms.

    Returns
    -------
    Model
    """
    from .geodata import coldspot_districts, load_data_package
    from .scenario import check_departments, resolve_data_path, resolve_scenario_path

    if pkg is None:
        pkg = load_data_package(resolve_data_path(scenario))
    check_departments(scenario, pkg)  # (before any set-up reads a department's index)
    cs = scenario.coldspots
    csv_path = resolve_scenario_path(scenario, cs.csv) if cs.csv else None
    cold = coldspot_districts(pkg, rule=cs.rule, index=cs.index, categories=cs.categories,
                              csv_path=csv_path)
    params = resolve_parameters(scenario, pkg) if params is None else params
    geo = build_geography(pkg, cold, params.area_level)
    start_posts = baseline_posts3(pkg, geo)  # (read by the rules and the start's vacancies)
    rules = compile_rules(scenario, params, geo, pkg, _site_capacity(pkg, scenario, geo),
                          start_posts)
    seed = scenario.seed if seed is None else seed

    def population_rng():  # (the same state each time: the draws are kept, not drawn again)
        return np.random.default_rng(np.random.SeedSequence(seed,
                                                            spawn_key=(POPULATION_STREAM,)))

    vacant = start_vacancies(pkg, geo, rules.steps_per_year, start_posts)
    posts3, stock4 = start_counts(pkg, geo, population_rng(), vacant)
    population = None
    if people:
        population = synthesise(pkg, geo, population_rng(),
                                levers.spare_slots(scenario) + rules.posts.spare(scenario),
                                vacant=vacant)
        population.ready = np.where(population.seb >= 0,
                                    population.grade_since + rules.min_steps,
                                    population.ready).astype(np.int16)
    return Model(scenario=scenario, params=params, geo=geo, rules=rules, population=population,
                 baseline_posts3=posts3, baseline_stock4=stock4,
                 data_vintage=getattr(pkg, "vintage", ""),
                 devolved_posts=devolved_posts(pkg, GRADES))


def _site_capacity(pkg, scenario, geo: Geography) -> dict[int, tuple[float, float]]:
    """Site index -> (open time in years, desks) for the sites a wave may have to wait for:
    those with limited desks, and those that open later (unlimited desks from then)."""
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
        elif opens > 0:
            out[k] = (opens, float("inf"))
    return out


def split(n: int, shares: list[float]) -> np.ndarray:
    """Largest-remainder split of n into parts proportional to shares."""
    return _split_cached(int(n), tuple(shares)).copy()


@lru_cache(maxsize=4096)
def _split_cached(n: int, shares: tuple[float, ...]) -> np.ndarray:
    return largest_remainder(n, np.asarray(shares, float))


def wave_shortfall(waves, taken: dict[int, int], missed: np.ndarray) -> np.ndarray:
    """(wave,) posts each wave asked for but did not find matching its selector in its
    origin (its departments' part): a wave given a count that finds fewer when it starts
    (after earlier waves, the history and the workforce trend) takes those it finds
    (:func:`start_waves`), and a tranche that finds fewer when it moves (a wave starting
    with another from the same posts) moves those it finds (``missed``,
    :func:`move_pending`). The check before a run can count only the census's posts.

    Parameters
    ----------
    waves : sequence of placesim.rules.WavePlan
    taken : dict
        Posts each started wave takes, by wave index (a run's ``wave_totals``).
    missed : numpy.ndarray
        (wave,) posts its tranches asked for but did not find, so far.

    Returns
    -------
    numpy.ndarray
    """
    out = np.asarray(missed, float).copy()
    for plan in waves:
        if plan.count is not None and plan.index in taken:
            out[plan.index] += max(plan.count - taken[plan.index], 0)
    return out


def move_pending(run, move: Callable[[WavePlan, np.ndarray, int], None]) -> None:
    """Carry out a step's post moves (:func:`merge_pending`) with ``move(plan, per_dest,
    tranche)``, in any mode, and add what each asked for but did not find to
    ``run.wave_missed`` (by the rise in ``run.moved_total``, which every mode keeps:
    counts, or expected counts)."""
    for plan, per_dest, tranche in merge_pending(run.pending):
        before = run.moved_total
        move(plan, per_dest, tranche)
        run.wave_missed[plan.index] += max(float(per_dest.sum()) - (run.moved_total - before),
                                           0.0)
    run.pending = []


class RunState:
    """What every mode keeps while :func:`run_timeline` drives it.

    The timeline's interface (``pending`` moves, ``awaiting`` capacity), the year's flows
    (exposure, promotions, exits, moves to and from London), the run's totals and the yearly
    records. Subclasses hold the workforce (people or expected stocks) and provide ``step``,
    ``available``, ``year_end`` and ``result``.
    """

    def __init__(self, model: Model, stock: np.ndarray):
        self.m = model
        self.stock = stock  # (grade, district, seb) people in post
        self.pending: list[tuple[WavePlan, np.ndarray, int]] = []  # (wave, per dest, tranche)
        self.awaiting = 0
        self.moved_cold = 0
        # roles moved before the start (history) count towards the programme's total of
        # roles moved out of London; the posts the run's own moves take (moved_total, the
        # coldspot share's whole) start at none, as those moved to coldspots do
        self.moved_out = model.rules.moved_before_start
        self.moved_total = 0
        # by (grade, seb): what a leaver costs is their grade's pay (placesim.costs)
        self.reloc_leavers = np.zeros((N_GRADES, N_SEB))
        self.reloc_movers = np.zeros(N_SEB)
        self.redundancies = np.zeros((N_GRADES, N_SEB))
        self.wave_redundancies = np.zeros((N_GRADES, N_SEB))  # (of them, waves' deadlines')
        self.posts_created = self.posts_closed = 0.0
        plan = model.rules.posts
        self.closing = np.zeros(plan.n_pools)  # closures waiting for a vacancy, by pool
        self.pool_added = np.zeros(plan.n_pools)  # closures given to each wave pool so far
        self.recreated: dict[int, np.ndarray] = {}  # posts each wave opened, by destination
        self.wave_totals: dict[int, int] = {}  # posts each wave takes, set when it starts
        due = plan.pool_deadline[plan.pool_deadline >= 0]
        self._first_deadline = int(due.min()) if len(due) else np.iinfo(np.int64).max
        self.moved_out_wave = np.zeros(len(model.rules.waves))
        self.wave_missed = np.zeros(len(model.rules.waves))  # (move_pending)
        self.pool_is_wave = plan.is_wave_pool
        self.cost_movers = 0.0
        self.cost_promotion_support = 0.0
        self.records: list[YearRecord] = []
        self.lever_state = levers.LeverState(model)
        self.step_index = 0
        self._posts_version = 0  # bumped whenever posts are created, abolished or moved
        # the followed EOs (placesim.cohort) by tag: how many at the start, how many reached
        self.cohort_size = np.zeros(cohort.N_TAGS)
        self.cohort_reached = np.zeros(cohort.N_TAGS)
        self._reset_year()

    def _reset_year(self):
        shape = self.stock.shape
        self.exposure = np.zeros(shape)
        self.promotions = np.zeros(shape)
        self.exits = np.zeros(shape)
        self.to_london = np.zeros(N_SEB)
        self.from_london = np.zeros(N_SEB)
        self.cross_area = np.zeros(N_GRADES)

    @property
    def year(self) -> int:
        """The year of the record that counts the current step's changes: records are
        labelled by the census date (31 March) that ends their year, so the first year's
        steps count in ``start_year + 1``, and so do the moves they make."""
        return self.m.start_year + int(self.step_index // self.m.steps_per_year) + 1

    def _pay_support(self, k: int, promoted_across: float) -> None:
        """Relocation support for the step's promotions across areas (:func:`support_paid`)."""
        paid = support_paid(self.m.rules, k, promoted_across)
        self.cost_movers += paid
        self.cost_promotion_support += paid

    def relocation_support(self, plan: WavePlan) -> tuple[float, float]:
        """(acceptance multiplier, support per mover in GBP) for a wave's incumbents now."""
        r, k = self.m.rules, min(self.step_index, self.m.rules.n_steps - 1)
        return float(r.accept_mult[k]), plan.support_gbp + float(r.support_gbp[k])

    def _record_year(self, year_number: int, posts3: np.ndarray,
                     lever_record: dict | None = None,
                     posting_posts: np.ndarray | None = None) -> None:
        self.records.append(YearRecord(
            year=self.m.start_year + year_number, stock=self.stock.copy(),
            posts=sum(posts3[:, :, t] for t in range(posts3.shape[2])),  # (numpy's sum over
            # the last axis of three took ten times longer)
            policy_posts=posts3[:, :, POLICY] + posts3[:, :, PRIVATE_OFFICE],
            private_office_posts=posts3[:, :, PRIVATE_OFFICE].copy(),
            exposure=self.exposure, promotions=self.promotions, exits=self.exits,
            moves_to_london_for_promotion=self.to_london,
            moves_from_london_for_promotion=self.from_london,
            cross_area_promotions=self.cross_area,
            moved_out_of_london=self.moved_out, moved_total=self.moved_total,
            moved_to_coldspots=self.moved_cold, reloc_leavers=self.reloc_leavers.copy(),
            reloc_movers=self.reloc_movers.copy(),
            awaiting_capacity=self.awaiting, posts_created=self.posts_created,
            posts_closed=self.posts_closed, closures_pending=self.closing.copy(),
            redundancies=self.redundancies.copy(), cost_movers_gbp=self.cost_movers,
            cost_promotion_support_gbp=self.cost_promotion_support,
            wave_redundancies=self.wave_redundancies.copy(),
            moved_out_by_wave=self.moved_out_wave.copy(),
            wave_posts_not_found=wave_shortfall(self.m.rules.waves, self.wave_totals,
                                                self.wave_missed),
            pools_closed=np.where(self.pool_is_wave, self.pool_added - self.closing, 0.0),
            levers=lever_record or {},
            posting_posts=(np.zeros(N_GRADES) if posting_posts is None
                           else np.asarray(posting_posts, float)),
            cohort_size=np.asarray(self.cohort_size[1:], float).copy(),
            cohort_reached=np.asarray(self.cohort_reached[1:], float).copy(),
        ))
        self._reset_year()

    def _recreate(self, plan: WavePlan, per_dest: np.ndarray):
        """A recreating tranche: (grade, district, post type, n) rows of posts to open, and
        the (origin, destination, roles) rows it counts as moved
        (:meth:`placesim.posts.PostPlan.recreated_from`); adds the origin's closures to the
        wave's pools."""
        rows = self._recreate_posts(plan, per_dest)
        g, d, _, n = rows
        moves = self.m.rules.posts.recreated_from(plan.index, g, d, n)
        self._count_moves(plan, *moves)
        return rows, moves

    def _recreate_posts(self, plan: WavePlan, per_dest: np.ndarray):
        """:meth:`_recreate` but for the roles moved: the rows of posts to open, and the
        origin's closures added to the wave's pools."""
        from .posts import recreate_counts

        done = self.recreated.setdefault(plan.index, np.zeros(len(plan.destinations), np.int64))
        rows = recreate_counts(self.m.rules.posts, plan.index, plan.destinations, per_dest, done,
                               self.wave_totals[plan.index])
        g, _, _, n = rows
        pools, closures = self.m.rules.posts.wave_closures(plan.index, g, n, self.pool_added)
        np.add.at(self.closing, pools, closures)
        np.add.at(self.pool_added, pools, closures)
        return rows

    def _deadline_pools(self, k: int) -> np.ndarray:
        """Pools whose deadline has come (this step or before) and that still have closures
        pending: closures added after a pool's deadline (a later tranche, a later year's
        cut) close at the next step's schedule (:func:`placesim.posts.passed_deadline`)."""
        if k < self._first_deadline:  # (most steps: no array work)
            return np.empty(0, np.int64)
        return passed_deadline(self.m.rules.posts.pool_deadline, self.closing, k)

    def _count_moves(self, plan: WavePlan, from_d, to_d, amount) -> None:
        """Add a tranche's moved posts to the run's totals (counts or expected counts)."""
        geo = self.m.geo
        amount = np.asarray(amount, float)
        self.moved_total += amount.sum()
        out = amount[geo.is_london[from_d] & ~geo.is_london[to_d]].sum()
        self.moved_out += out
        self.moved_out_wave[plan.index] += out
        self.moved_cold += amount[geo.is_coldspot[to_d]].sum()

    def _count_relocation(self, plan: WavePlan, movers_s, leavers_gs) -> None:
        """Add a tranche's incumbents who moved (by seb) and who left (by grade, seb)."""
        _, support_gbp = self.relocation_support(plan)
        self.reloc_movers += movers_s
        self.reloc_leavers += leavers_gs
        moving = np.sum(movers_s) * (self.m.rules.cost_mover_gbp + support_gbp)
        self.cost_movers += moving


class _Run(RunState):
    """State of one stochastic replication while the SimPy environment runs."""

    def __init__(self, model: Model, replication: int, seed: int):
        self.rep = replication
        self.key = streams.key(seed, replication)
        self.slots = model.people("a stochastic replication").copy()
        self.posts3 = model.baseline_posts3.copy()
        super().__init__(model, model.baseline_stock.astype(np.int64))
        r = model.rules
        self.wtab = flows.weight_table(r)
        self.ltab = flows.lateral_table(r)
        # the rejection envelope's bound on the weights, by (grade, seb, flag, vp): the step
        # takes it over the programme states someone eligible is in (flows.envelope)
        self.wtop = self.wtab.max(axis=2)
        self.lmax = self.ltab.max(axis=(0, 1))
        self.kernel_t = np.ascontiguousarray(r.kernel.T)  # (district, area): a vacancy's row
        self.adv_area = np.where(model.geo.area_is_london, r.london_advantage, 1.0)
        self.leave = r.area_leave
        sl = self.slots
        flows.start_exits(self.key, sl.seb, sl.grade, r.exit_q, sl.exit_at)
        sl.cohort[:] = cohort.start_tags(sl.grade, np.append(model.geo.is_london, False)[
            sl.district], sl.seb >= 0)
        self.cohort_size = np.bincount(sl.cohort, minlength=cohort.N_TAGS).astype(float)
        self.cohort_size[0] = 0
        self.cohort_reached = np.zeros(cohort.N_TAGS, np.int64)
        self.closing = self.closing.astype(np.int64)
        self.move_rows: list[tuple] = []

    # -- stock bookkeeping ---------------------------------------------------------------
    def _flat(self, g, d, s) -> np.ndarray:
        """Flat (grade, district, seb) index of rows."""
        D = self.m.geo.n_districts
        return (np.asarray(g, np.int64) * D + np.asarray(d, np.int64)) * N_SEB \
            + np.asarray(s, np.int64)

    def _count(self, g, d, s) -> np.ndarray:
        D = self.m.geo.n_districts
        shape = (N_GRADES, D, N_SEB)
        if len(g) == 0:
            return np.zeros(shape, np.int64)
        return np.bincount(self._flat(g, d, s), minlength=int(np.prod(shape))).reshape(shape)

    def _posts(self, rows, sign: int) -> None:
        """Add (grade, district, post type) rows of created (+1) or abolished (-1) posts."""
        g, d, t = rows
        if len(g):
            np.add.at(self.posts3, (np.asarray(g), np.asarray(d), np.asarray(t)), sign)
            self._posts_version += 1

    # -- one step ------------------------------------------------------------------------
    def step(self):
        m, r, geo, sl = self.m, self.m.rules, self.m.geo, self.slots
        k = self.step_index
        minus, plus = [], []
        for event in r.events_at(k):
            out = levers.apply_event(event, self, k)
            minus += out.minus
            plus += out.plus
            self._posts(out.created, +1)
            self._posts(out.abolished, -1)
            self._posts_version += 1
        self._post_schedule(k, minus)
        move_pending(self, lambda plan, per_dest, tranche: self._apply_move(
            plan, per_dest, tranche, minus, plus))
        exits, gone, vac, counts, E = flows.scan(
            self.key, k, sl.district, sl.grade, sl.ptype, sl.seb, sl.flag, sl.flag_until,
            sl.ready, sl.exit_at, sl.home, sl.return_at, sl.area_of_district, sl.order,
            sl.position, sl.block_start.reshape(-1), sl.block_end.reshape(-1), sl.spare_from)
        self._posts(gone.T, -1)
        W, Lw = flows.class_weights(counts, self.wtab, self.ltab, geo.area_is_london,
                                    r.london_advantage)
        wmax = flows.envelope(self.wtop, counts)
        remote, lateral = flows.choice_masses(W, Lw, r.kernel, r.willingness, self.leave)
        pp = r.posts
        promoted, moved, recruited, closed = flows.fill(
            self.key, k, vac, W, Lw, E, remote, lateral, sl.grade, sl.district, sl.ptype,
            sl.seb, sl.flag, sl.flag_until, sl.grade_since, sl.ready, sl.exit_at, sl.order,
            sl.position, sl.block_start, sl.block_end, sl.area_of_district, geo.is_london,
            self.kernel_t, self.wtab, self.ltab, wmax, self.lmax, self.adv_area, self.leave,
            r.lateral_share, r.internal_share, r.exit_q, r.reach, r.london_pull, r.willingness,
            float(r.will_mult[k]), r.flag_after, r.min_steps, float(r.scs_low_target[k]),
            r.freeze_at(k), r.recruit_cdf_at(k), pp.pool_grade, pp.pool_mask, pp.pool_types,
            self.closing, sl.cohort, self.cohort_reached, cohort.REACH_GRADE, sl.spare_from)
        if len(closed):
            self._posts(closed.T, -1)
            self.posts_closed += len(closed)

        rg, rd, rs = recruited.T  # (every run reports entrants: placesim.entrants)
        self.lever_state.add_recruits(r, k, self._count(rg, rd, rs))
        if self.lever_state.inbound or self.lever_state.outbound:  # the step's secondees
            in_post, away = levers.stochastic_secondees(self)
            self.lever_state.add_time(in_post, away, 1.0 / r.steps_per_year)
        across = self.cross_area.sum()
        flows.tally(self.stock, self.exits, self.promotions, self.to_london, self.from_london,
                    self.cross_area, geo.is_london, geo.area, exits, promoted, moved, recruited)
        self._pay_support(k, self.cross_area.sum() - across)
        # the step's other changes (lever events, closures at a deadline, relocation waves)
        if plus or minus:
            n = int(np.prod(self.stock.shape))
            flat = np.concatenate([self._flat(*x) for x in plus]
                                  + [self._flat(*x) + n for x in minus])
            counts = np.bincount(flat, minlength=2 * n).reshape((2,) + self.stock.shape)
            self.stock += counts[0]
            self.stock -= counts[1]
        self.exposure += self.stock / m.steps_per_year
        self.step_index += 1

    def available(self, plan: WavePlan) -> int:
        """Posts matching a wave's selector in its origin now."""
        return len(flows.matching_slots(self.slots, self.m.geo, plan.origin_mask,
                                        plan.grade_mask, plan.type_mask))

    def result(self) -> ReplicationResult:
        cols = ["wave", "year", "from", "to", "posts"]
        if not self.move_rows:
            return ReplicationResult(self.rep, self.records, pd.DataFrame(columns=cols))
        D = self.m.geo.n_districts
        key = np.concatenate([
            ((w * 10_000 + (y - self.m.start_year)) * D + f) * D + t
            for w, y, f, t, _ in self.move_rows])
        posts = np.concatenate([np.ones(len(f)) if x is None else x
                                for _, _, f, _, x in self.move_rows])
        uniq, where = np.unique(key, return_inverse=True)
        counts = np.bincount(where, weights=posts, minlength=len(uniq))
        to, rest = uniq % D, uniq // D
        frm, rest = rest % D, rest // D
        year, wave = rest % 10_000 + self.m.start_year, rest // 10_000
        moves = pd.DataFrame({"wave": wave, "year": year, "from": frm, "to": to,
                              "posts": counts})
        return ReplicationResult(replication=self.rep, years=self.records, moves=moves)

    def _post_schedule(self, k: int, minus: list) -> None:
        """This step's scheduled post changes: posts opened, closures added to their pools,
        and pools whose deadline has come closed at once (their holders made redundant)."""
        pp, sl = self.m.rules.posts, self.slots
        if k in pp.creates:
            g, d, t, n = pp.creates[k]
            flows.open_posts(sl, g, d, t, n)
            self._posts((np.repeat(g, n), np.repeat(d, n), np.repeat(t, n)), +1)
            self.posts_created += int(n.sum())
        if k in pp.closes:
            pool, n = pp.closes[k]
            np.add.at(self.closing, pool, n)
        for p in self._deadline_pools(k):
            rows, (g, d, s) = flows.close_posts_now(
                sl, self.m.geo, self.key, k, int(p), int(pp.pool_grade[p]), pp.pool_mask[p],
                pp.pool_types[p], int(self.closing[p]))
            self.closing[p] = 0
            self._posts(rows, -1)
            self.posts_closed += len(rows[0])
            minus.append((g, d, s))
            grade, lost = int(pp.pool_grade[p]), np.bincount(s, minlength=N_SEB)  # (one grade)
            self.redundancies[grade] += lost
            if self.pool_is_wave[p]:
                self.reloc_leavers[grade] += lost
                self.wave_redundancies[grade] += lost

    def _apply_move(self, plan: WavePlan, per_dest: np.ndarray, tranche: int, minus, plus):
        geo = self.m.geo
        if plan.recreate:
            (g, d, t, n), (frm, to, amount) = self._recreate(plan, per_dest)
            flows.open_posts(self.slots, g, d, t, n)
            self._posts((np.repeat(g, n), np.repeat(d, n), np.repeat(t, n)), +1)
            self.posts_created += int(n.sum())
            if len(amount):  # (expected shares of roles: see PostPlan.recreated_from)
                self.move_rows.append((plan.index, self.year, frm, to, amount))
            return
        support, _ = self.relocation_support(plan)
        order = flows.MoveOrder(
            wave=plan.index, tranche=tranche, origin_mask=plan.origin_mask,
            grade_mask=plan.grade_mask, type_mask=plan.type_mask,
            dest_groups=tuple((d, int(c)) for (d, _, _), c in zip(plan.destinations, per_dest,
                                                                  strict=True)),
            accept_by_grade=plan.accept_by_grade, high_seb_multiplier=plan.high_seb_multiplier,
            per_100km=plan.per_100km, redeploy_share=plan.redeploy_share,
            backfill_anywhere=plan.backfill_anywhere, support_multiplier=support,
            dept_posts=plan.dept_posts,
        )
        out = flows.move_posts(self.slots, geo, self.m.rules, order, self.key,
                               self.step_index)
        self._posts_version += 1
        minus.extend(out.minus)
        plus.extend(out.plus)
        self._posts((out.grade, out.from_d, out.ptype), -1)
        self._posts((out.grade, out.to_d, out.ptype), +1)
        self._count_moves(plan, out.from_d, out.to_d, np.ones(len(out.to_d)))
        self._count_relocation(plan, np.bincount(out.mover_s, minlength=N_SEB),
                               np.bincount(out.leaver_g * N_SEB + out.leaver_s,
                                           minlength=N_GRADES * N_SEB
                                           ).reshape(N_GRADES, N_SEB))
        if len(out.to_d):
            self.move_rows.append((plan.index, self.year, out.from_d, out.to_d, None))

    def year_end(self, year_number: int):
        sl = self.slots
        self._record_year(year_number, self.posts3, levers.stochastic_year(self),
                          np.bincount(sl.grade[sl.home >= 0], minlength=N_GRADES))


def run_replication(model: Model, replication: int, seed: int | None = None) -> ReplicationResult:
    """Run one replication of a prepared model.

    Parameters
    ----------
    model : Model
    replication : int
        Replication number; keys the random draws.
    seed : int, optional
        Defaults to the scenario's seed.

    Returns
    -------
    ReplicationResult
    """
    seed = model.scenario.seed if seed is None else seed
    return run_timeline(model, _Run(model, replication, seed))


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    """The BLAS libraries a run calls, limited to one thread during a run (:func:`run_timeline`):
    numpy's (the engine's products) and scipy's (numba's ``np.dot``, in the expected mode's
    kernels). A run's products are too small to gain from more threads, and it takes its own
    (:mod:`placesim.parallel`) while batch workers, band workers and the app's other sessions
    use the other cores: BLAS threads waiting for work between products kept cores busy, so
    a replication took 1.2 times as long with two (0.625 against 0.51 s, median of ten
    alternating pairs) and the test suite's agreement checks, two workers at once, 2.2
    times (41-47 s against 19 s)."""
    import scipy.linalg.cython_blas  # noqa: F401  (loaded, so that it is found)

    return ThreadpoolController()


def start_waves(env: simpy.Environment, run, rules: Rules,
                start: Callable[[Generator], None]) -> None:
    """Start the scenario's relocation waves and its sites' desks on ``env``: the one
    timeline of moves every model reads (the stochastic engine and expected mode through
    :func:`run_timeline`, the reference model on its own environment).

    Each wave releases a tranche a step from its start time, split over its destinations
    in turn (:func:`placesim.posts.in_turn`: every tranche fair, the totals in proportion);
    a destination's posts at a site with limited desks, or not yet open, move as far as the
    site has free desks, and the rest wait until it has more (first come, first served: a
    tranche wanting more than a site's free desks once waited whole, and blocked every
    later wave to the site). Released moves are appended to ``run.pending`` as (wave, posts
    by destination, tranche); ``run.awaiting`` counts the posts waiting for desks;
    ``run.available(plan)`` says how many posts a wave may take, and ``run.wave_totals``
    records how many each takes (a re-creating wave no more than planned). ``start`` starts
    a process (its caller closes them when the run ends).
    """
    dt = 1.0 / rules.steps_per_year
    containers = {
        k: (simpy.Container(env, capacity=float("inf"), init=0), opens, cap)
        for k, (opens, cap) in rules.site_capacity.items()
    }

    def site_opening(container, opens, cap):
        yield env.timeout(opens)
        if cap > 0:  # (a site of no desks never takes posts)
            yield container.put(cap)

    def await_desks(plan: WavePlan, per_dest: np.ndarray, tranche: int, desks: simpy.Event):
        """Posts bound for a site with limited desks wait until the desks exist."""
        k = int(per_dest.sum())
        run.awaiting += k
        yield desks
        run.awaiting -= k
        run.pending.append((plan, per_dest, tranche))

    def wave(plan: WavePlan):
        yield env.timeout(max(plan.start_time, 0.0))
        available = run.available(plan) * plan.dept_share  # its departments' part
        total = plan.count if plan.count is not None else int(round(plan.share * available))
        total = min(total, int(available))
        if plan.recreate:  # (at most as planned: the engine's spare posts are so many)
            total = min(total, int(round(rules.posts.wave_count[plan.index])))
        run.wave_totals[plan.index] = total
        # each tranche's posts by destination: the next ones of the wave's fair sequence
        turns = in_turn(total, [s for _, s, _ in plan.destinations])
        taken = 0
        for tranche, n in enumerate(split(total, [1.0] * plan.n_tranches)):
            per_dest = np.bincount(turns[taken:taken + n], minlength=len(plan.destinations))
            taken += n
            for i, (_, _, site) in enumerate(plan.destinations):
                if per_dest[i] and site in containers:
                    # desks are taken first come, first served: the posts the free desks
                    # hold move now (none while others wait), the rest wait for more
                    desks = containers[site][0]
                    now = 0 if desks.get_queue else int(min(per_dest[i], desks.level))
                    if now:
                        desks.get(now)
                    if per_dest[i] > now:
                        waiting = np.zeros_like(per_dest)
                        waiting[i], per_dest[i] = per_dest[i] - now, now
                        start(await_desks(plan, waiting, tranche, desks.get(int(waiting[i]))))
            if per_dest.sum():
                run.pending.append((plan, per_dest, tranche))
            yield env.timeout(dt)

    for c, opens, cap in containers.values():
        start(site_opening(c, opens, cap))
    for plan in rules.waves:
        start(wave(plan))


def merge_pending(pending: list) -> list[tuple[WavePlan, np.ndarray, int]]:
    """Moves released in one step, one per wave in the order released: a tranche bound for
    sites with limited desks is released one destination at a time (as desks exist); what a
    wave releases in one step is moved together, so a step costs one selection per wave
    rather than one per destination (and every model rounds a department's share alike)."""
    merged: dict[int, list] = {}
    for plan, per_dest, tranche in pending:
        if plan.index in merged:
            merged[plan.index][1] = merged[plan.index][1] + per_dest
        else:
            merged[plan.index] = [plan, per_dest, tranche]
    return [tuple(v) for v in merged.values()]


def run_timeline(model: Model, run) -> ReplicationResult:
    """Drive a run state (stochastic or expected) through the scenario's SimPy timeline,
    with BLAS on one thread (:func:`_blas`).

    ``run`` provides ``step()``, ``year_end(n)``, ``available(plan)``, ``result()`` and the
    attributes ``pending`` and ``awaiting``.
    """
    env = simpy.Environment()
    r = model.rules
    dt = 1.0 / r.steps_per_year
    horizon = float(model.years)

    def stepper():
        # Steps run mid-period so that events at period boundaries come first.
        yield env.timeout(dt / 2)
        for k in range(r.n_steps):
            run.step()
            if (k + 1) % r.steps_per_year == 0:
                run.year_end((k + 1) // r.steps_per_year)
            yield env.timeout(dt)

    processes: list[Generator] = []

    def start(generator: Generator) -> None:
        processes.append(generator)
        env.process(generator)

    start(stepper())
    start_waves(env, run, r, start)
    try:
        with _blas().limit(limits=1, user_api="blas"):
            env.run(until=horizon)
        return run.result()
    finally:
        # the processes still waiting at the horizon hold the run through their closures,
        # in a cycle with the environment: closed, the run's arrays are freed on return,
        # not at the next garbage collection. (Meanwhile each run took new memory: an
        # expected run touched 1,300-4,900 new pages, microseconds a page fault, and a
        # replication about 5,000.)
        for generator in processes:
            generator.close()
