"""A scenario compiled once into the rules every engine reads.

Parameters (:mod:`placesim.calibration`), the data package's geography, the scenario's waves
and its levers become one immutable :class:`Rules` object of plain arrays — per grade, per
area and district, per SEB class, per programme state, per step. The stochastic engine
(:mod:`placesim.engine`, :mod:`placesim.flows`), the expected-value mode
(:mod:`placesim.expected`) and the per-person reference model (:mod:`placesim.reference`)
all read it, and none of them interprets a lever or a parameter itself: what a lever *does*
is written here once, as arrays and events, and what a candidate's weight *is* is written
here once, as :func:`promotion_weight` and :func:`remote_factor`.

**How a vacancy is filled** (the rule all three engines follow). Each vacancy is, by a draw,
a lateral move (share ``lateral_share``), a promotion (share ``internal_share`` of the rest)
or an external recruitment. A promotion into grade g at district d chooses one eligible person
of grade g-1 anywhere, with probability proportional to

    weight = promotion_weight(...) × (1 if they work in d's area, else remote_factor(...))

so weights decide *who*, never *how many*: the route decides how many posts are filled by
promotion. The totals that split a step's choices between areas are taken once at the start
of the step (a round of advertising); within the chosen area the person is drawn with
probability proportional to their own weight among those still eligible. A lateral move
chooses a same-grade person from another area with weight ``lateral_factor``. Recruits are
drawn from the local labour market's SEB mix.

**Programme states** (``FLAGS``): a person is in at most one — mentored, on a talent scheme,
or back from a London posting — each multiplying their promotion weight; being in a private
office post multiplies it by ``accelerator_weight``. Time-limited states end at a constant
rate (mean duration as given), so the expected mode tracks them exactly as a Markov state.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import njit

from .calibration import Parameters, default_parameters
from .errors import ScenarioError
from .grades import GRADES, SEB_CLASSES, grade_mask
from .keep import Kept, digest
from .population import (
    N_GRADES,
    N_SEB,
    N_TYPES,
    OTHER,
    POLICY,
    PRIVATE_OFFICE,
    Geography,
    baseline_posts3,
    department_posts,
    expected_stock,
    type_mask,
)
from .posts import (
    PostPlan,
    compile_posts,
    largest_remainder,
    london_part,
    select_departments,
    wave_matching,
    wave_split,
)
from .scenario import scenario_problem

FLAGS: tuple[str, ...] = ("none", "mentored", "scheme", "posted", "seconded")
"""Programme states: none; mentored (while the mentoring lever is on and the person is at one
of its grades); on a talent scheme; back from a London posting (for a while); back from a
secondment to a local authority (for a while)."""
NONE, MENTORED, SCHEME, POSTED, SECONDED = 0, 1, 2, 3, 4
TIMED = (SCHEME, POSTED, SECONDED)
"""Programme states that end at a constant rate."""
N_FLAGS = len(FLAGS)
LOW = SEB_CLASSES.index("low")
SCS1 = GRADES.index("SCS1")

# lever events (kinds)
(MENTOR_ENROL, MENTOR_END, SCHEME_ENROL, POSTING_ENROL, POSTING_RETURN, SECONDEES_IN,
 SECONDEES_END, OUTBOUND_START, OUTBOUND_RETURN) = range(9)
EVENT_NAMES = ("mentoring enrolment", "mentoring ends", "talent scheme enrolment",
               "London postings start", "London postings end", "inbound secondees start",
               "inbound secondments end", "outbound secondments start",
               "outbound secondees return")


@dataclass(frozen=True)
class LeverEvent:
    """Something a lever does at one step: enrol people, or end a programme."""

    step: int
    kind: int
    grades: np.ndarray  # (grade,) bool: who is eligible
    places: int = 0  # enrolments (talent scheme, postings)
    low_share: float = 0.0  # share of places reserved for low-SEB staff
    coverage: float = 0.0  # mentoring: target share of low-SEB staff at the grades
    districts: tuple[int, ...] = ()  # secondments: each site's district (one per site)
    by_grade: np.ndarray | None = None  # inbound secondments: (grade,) places per site
    # (grade, district) share of each cell's staff the event may take (a lever given
    # ``department:``: the departments' share of its posts then, placesim.reach); None: all
    reach: np.ndarray | None = None

    def low_seb_places(self) -> int:
        """Talent scheme: the places reserved for low-SEB staff (the rest are open to all)."""
        return round(self.places * self.low_share)

    def mentees_wanted(self, staff: float, mentored: float, *, whole: bool) -> float:
        """Mentoring: how many to enrol, topping mentees up to ``coverage`` of the low-SEB
        staff at the lever's grades (of its departments, for a lever given ``department:``),
        ``staff``, of whom ``mentored`` already are; in whole people where ``whole`` (the
        stochastic engine and the reference model), in expectation otherwise."""
        target = self.coverage * staff
        return max((int(round(target)) if whole else target) - mentored, 0)


@dataclass(frozen=True)
class WavePlan:
    """A relocation wave resolved against the data: indices instead of names."""

    index: int
    name: str
    start_time: float  # years from the start of the horizon
    n_tranches: int
    origin_mask: np.ndarray  # (district,) bool
    grade_mask: np.ndarray  # (grade,) bool
    type_mask: np.ndarray  # (post type,) bool
    count: int | None
    share: float | None
    destinations: tuple[tuple[np.ndarray, float, int], ...]  # (districts, share, site | -1)
    accept_by_grade: np.ndarray
    high_seb_multiplier: float
    per_100km: float
    redeploy_share: float
    backfill_anywhere: bool
    support_gbp: float
    recreate: bool  # open new posts at the destinations (and close origin posts as vacant)
    grade_mix: np.ndarray | None = None  # (grade,) recreate: shares of new posts by grade
    moved_before: int = 0  # posts of tranches scheduled before the start (history)
    moved_out_before: float = 0.0  # of those, roles moved out of London (moved_before_start)
    # department selector (placesim.posts.select_departments): department indices, their
    # (grade, district, post type) posts when it starts, their share of the matching posts;
    # and every department's matching (grade, district) posts in its origin then (its own
    # departments' only, for a wave that selects them)
    departments: tuple[int, ...] = ()
    dept_posts: np.ndarray | None = None
    dept_share: float = 1.0
    dept_mix: np.ndarray | None = None
    # (department, grade, district) posts it takes from each department's in its origin, in
    # expectation over its tranches, and whether they leave the origin (a recreating wave
    # that keeps its origin posts opens new ones only), and whose the posts it opens at its
    # destinations are (a recreating wave's by published department_shares where given):
    # where the departments' posts are as the waves move them (placesim.reach)
    dept_taken: np.ndarray | None = None
    dept_removes: bool = True
    dept_arriving: np.ndarray | None = None  # (department, grade): whose its new posts are


@dataclass(frozen=True)
class Rules:
    """Everything the engines need to know about a scenario, as arrays (see module docs).

    Per-step arrays have one entry per step of the horizon (``n_steps``); per-district
    arrays follow :attr:`Geography.lad_codes`; areas are labour-market areas (London is one).
    """

    steps_per_year: int
    n_steps: int
    start_year: int
    # flows by grade
    exit_q: np.ndarray  # (grade,) per-step probability of leaving
    lateral_share: np.ndarray  # (grade,)
    internal_share: np.ndarray  # (grade,) share of non-lateral vacancies filled by promotion
    odds: np.ndarray  # (grade, seb) relative odds of promotion INTO the grade
    min_steps: int  # minimum steps in grade before promotion or a move
    # who is chosen
    flag_weight: np.ndarray  # (flag,) promotion weight multiplier of each programme state
    flag_after: np.ndarray  # (flag, grade) state of someone promoted into the grade
    flag_hazard: np.ndarray  # (flag,) per-step chance that the state ends (to NONE)
    accelerator_weight: float
    policy_match_weight: float
    london_advantage: float
    # geography of choice
    area: np.ndarray  # (district,) area index
    n_areas: int
    is_london: np.ndarray  # (district,)
    area_is_london: np.ndarray  # (area,)
    kernel: np.ndarray  # (area, district) float32: distance decay, 0 within the area
    reach: np.ndarray  # (grade,) scale of remote candidates' pull for promotions INTO grade
    london_pull: float  # extra pull of London posts on candidates from elsewhere
    london_stay: float  # relative willingness of London-based staff to move out
    willingness: np.ndarray  # (seb,)
    # recruitment
    recruit_cdf: np.ndarray  # (grade, district, seb) cumulative SEB mix of recruits
    national_cdf: np.ndarray  # (grade, seb)
    # levers, per step
    will_mult: np.ndarray  # (step,) relocation support: willingness multiplier
    accept_mult: np.ndarray  # (step,) relocation support: acceptance multiplier
    support_gbp: np.ndarray  # (step,) relocation support paid per mover
    freeze: np.ndarray  # (step, grade) share of London external hires blocked
    # (year, grade, district) the departments' reach of a freeze given department: (None:
    # every London post's hires); freeze_at(step) gives the (grade, district) share
    freeze_reach: np.ndarray | None
    scs_low_target: np.ndarray  # (step,) lowest low-SEB share of promotions into SCS1
    events: tuple[LeverEvent, ...]  # sorted by step
    posting_steps: int  # length of a London posting
    posting_district: int  # where postings are (the London district with most PO posts)
    # recruitment outreach: entrants' SEB mix while it is on
    outreach_cdf: np.ndarray  # (grade, district, seb) cumulative mix at the outreach cells
    outreach_on: np.ndarray  # (step,) bool
    outreach_cells: np.ndarray  # (grade, district) bool: entrants the outreach reaches
    outreach_gbp: float  # cost per entrant reached
    # (year, grade, district) the departments' reach of an outreach given department: (None:
    # every entrant at its cells)
    outreach_reach: np.ndarray | None
    # secondments
    secondee_cdf: np.ndarray  # (district, seb) local population's cumulative origin mix
    secondee_steps: int  # length of an inbound secondment
    secondee_conversion: float  # share of inbound secondees who stay (permanent post)
    outbound_steps: int  # length of an outbound secondment
    secondment_sites: tuple[int, ...]  # site indices
    # waves and sites
    waves: tuple[WavePlan, ...]
    site_capacity: dict  # site index -> (open time in years, capacity)
    posts: PostPlan  # posts opened and closed by the workforce section and recreating waves
    moved_before_start: int  # roles moved out of London before the start (history)
    cost_mover_gbp: float

    @property
    def n_districts(self) -> int:
        return len(self.area)

    @property
    def area_leave(self) -> np.ndarray:
        """(area,) London's hold on its staff as a factor on each area's remote candidates."""
        return np.where(self.area_is_london, self.london_stay, 1.0)

    def recruit_cdf_at(self, step: int) -> np.ndarray:
        """(grade, district, seb) cumulative SEB mix of recruits at a step (outreach on or
        off; an outreach given ``department:`` reaches its departments' share of each cell's
        recruits, so their mix is that blend of the two)."""
        k = min(step, self.n_steps - 1)
        if not self.outreach_on[k]:
            return self.recruit_cdf
        if self.outreach_reach is None:
            return self.outreach_cdf
        return self.outreach_cdf_by_year[self.year_index(k)]

    @functools.cached_property
    def outreach_cdf_by_year(self) -> np.ndarray | None:
        """(year, grade, district, seb) recruits' cumulative mix while an outreach given
        ``department:`` is on: the blend of the two mixes by its reach that year (None
        without one)."""
        if self.outreach_reach is None:
            return None
        w = self.outreach_reach[:, :, :, None]
        return self.recruit_cdf[None] + w * (self.outreach_cdf - self.recruit_cdf)[None]

    def year_index(self, step: int) -> int:
        """The year of the run a step is in (0 first; the last step's for a step beyond)."""
        return min(step, self.n_steps - 1) // self.steps_per_year

    def outreach_share_at(self, step: int) -> np.ndarray:
        """(grade, district) share of a cell's recruits the outreach reaches at a step (what
        its cost per entrant is paid on)."""
        share = self.outreach_cells * float(self.outreach_on[min(step, self.n_steps - 1)])
        if self.outreach_reach is not None:
            share = share * self.outreach_reach[self.year_index(step)]
        return share

    def freeze_at(self, step: int) -> np.ndarray:
        """(grade, district) share of external hires blocked at a step: the London
        recruitment freeze's share at its grades in London, times its departments' reach (a
        freeze given ``department:``)."""
        k = min(step, self.n_steps - 1)
        if not self._freeze_on[k]:  # (most steps of most scenarios: no freeze, no array)
            return self._no_freeze
        f = self.freeze[k][:, None] * self.is_london[None, :]
        if self.freeze_reach is not None:
            f = f * self.freeze_reach[self.year_index(k)]
        return f

    @functools.cached_property
    def _freeze_on(self) -> np.ndarray:
        """(step,) whether the London recruitment freeze blocks any hires."""
        return self.freeze.any(axis=1)

    @functools.cached_property
    def _no_freeze(self) -> np.ndarray:
        """(grade, district) zeros: no hires blocked (the kernels only read it)."""
        return np.zeros((len(self.freeze[0]), len(self.is_london)))

    def events_at(self, step: int) -> list[LeverEvent]:
        """Lever events of one step, in the order they happen."""
        return [e for e in self.events if e.step == step]


# --- the weights: one definition, read by every engine ---------------------------------------

@njit(cache=True, inline="always")
def ran_out(flag, flag_until, step):
    """Whether programme state ``flag`` has ended by ``step``: a time-limited one
    (:data:`TIMED`) whose end step has come (it is then state none)."""
    return flag in TIMED and flag_until <= step


@njit(cache=True, inline="always")
def is_policy(ptype):
    """Policy and private office posts are policy-profession posts."""
    return ptype != OTHER


def support_paid(rules: Rules, k: int, promoted_across: float) -> float:
    """Relocation support paid at step ``k`` for promotions that crossed an area boundary
    (the moves for promotion the lever's willingness multiplier makes more likely): each
    mover gets the lever's support, as a wave's incumbents do. The one rule of every mode."""
    return float(promoted_across) * float(rules.support_gbp[min(k, rules.n_steps - 1)])


@njit(cache=True, inline="always")
def promotion_weight(odds, flag_weight, accelerator_weight, london_advantage, policy_match,
                     g_into, seb, ptype, flag, in_london, vacancy_policy):
    """Relative weight of an eligible person for promotion into ``g_into``.

    The calibrated odds of their SEB class, times their programme state's multiplier, the
    accelerator weight if they hold a private office post, the London advantage if they work
    in London, and the policy-match weight when a policy post meets a policy candidate.
    """
    w = odds[g_into, seb] * flag_weight[flag]
    if ptype == PRIVATE_OFFICE:
        w *= accelerator_weight
    if in_london:
        w *= london_advantage
    if vacancy_policy and ptype != OTHER:
        w *= policy_match
    return w


@njit(cache=True, inline="always")
def remote_factor(kernel, reach, london_pull, london_stay, willingness, will_mult, g_into,
                  area_from, from_london, district_to, to_london, seb):
    """Extra factor on the weight of a candidate working in another area (their own area's
    factor is 1; the kernel is 0 there): the reach of promotions into the grade, the
    distance decay, their willingness to move (times relocation support), London's pull for
    a London post, and London's hold on its own staff for a candidate based there."""
    f = reach[g_into] * willingness[seb] * will_mult * kernel[area_from, district_to]
    if to_london:
        f *= london_pull
    if from_london:
        f *= london_stay
    return f


@njit(cache=True, inline="always")
def lateral_factor(kernel, london_pull, london_stay, willingness, will_mult, policy_match,
                   area_from, from_london, district_to, to_london, seb, ptype, vacancy_policy):
    """Weight of a same-grade person from another area for a lateral move."""
    f = kernel[area_from, district_to] * willingness[seb] * will_mult
    if to_london:
        f *= london_pull
    if from_london:
        f *= london_stay
    if vacancy_policy and ptype != OTHER:
        f *= policy_match
    return f


def department_counts(weight: np.ndarray, movable: np.ndarray, n: float,
                      offset: float | None = None) -> np.ndarray:
    """How many of a wave tranche's ``n`` posts each matching origin cell (grade, district,
    post type) gives when the wave selects departments: in proportion to its departments'
    posts there at the start (``weight``; a cell's posts are alike, so that many of them are
    the departments'), at most the cell's ``movable`` posts. The one rule of the stochastic
    engine, the expected mode and the reference model.

    Parameters
    ----------
    weight, movable : numpy.ndarray
        By cell, in the same order.
    n : float
        Posts the tranche moves.
    offset : float, optional
        A uniform draw: whole numbers by systematic rounding of the cumulative shares, so
        each cell's expected count is its share and the counts add up to ``n`` (but where a
        cell has fewer movable posts). Without it, the shares themselves (the expected mode).

    Returns
    -------
    numpy.ndarray
        By cell: int64 with ``offset``, float without.
    """
    total = float(weight.sum())
    share = n * weight / total if total > 0 else np.zeros(len(weight))
    if offset is None:
        return np.minimum(share, movable)
    edges = np.floor(np.concatenate([[0.0], np.cumsum(share)]) + offset)
    return np.minimum(np.diff(edges).astype(np.int64), movable)


# --- compiling a scenario -------------------------------------------------------------------

def compile_rules(scenario, params: Parameters, geo: Geography, pkg, site_capacity: dict,
                  baseline_posts: np.ndarray | None = None) -> Rules:
    """Compile a scenario with its parameters and geography into :class:`Rules`.

    Parameters
    ----------
    scenario : Scenario
    params : Parameters
        From :func:`placesim.calibration.resolve_parameters`.
    geo : Geography
    pkg : DataPackage
        Its baseline posts and SEB mix (the expected people in them calibrate the geography
        of promotion, whatever the population's seed).
    site_capacity : dict
        Site index -> (open time in years, desks).
    baseline_posts : numpy.ndarray, optional
        The package's :func:`placesim.population.baseline_posts3`, if already at hand.

    Returns
    -------
    Rules
    """
    if baseline_posts is None:
        baseline_posts = baseline_posts3(pkg, geo)
    baseline_stock = expected_stock(pkg, geo, baseline_posts)
    spy = scenario.steps_per_year()
    n_steps = scenario.horizon.years * spy
    start = scenario.horizon.start_year
    dt = 1.0 / spy
    kernel = _kernel(geo, params.distance_decay_per_100km)
    odds = params.seb_promotion_odds
    lv = scenario.levers
    flag_weight = np.ones(N_FLAGS)
    flag_hazard = np.zeros(N_FLAGS)
    flag_after = np.tile(np.arange(N_FLAGS, dtype=np.int8)[:, None], (1, N_GRADES))
    if lv.mentoring is not None:
        flag_weight[MENTORED] = lv.mentoring.promotion_multiplier
        flag_after[MENTORED] = np.where(grade_mask(lv.mentoring.grades), MENTORED, NONE)
    if lv.talent_scheme_ring_fence is not None:
        ts = lv.talent_scheme_ring_fence
        flag_weight[SCHEME] = ts.promotion_multiplier
        flag_hazard[SCHEME] = min(1.0, 1.0 / (ts.years * spy))
    if lv.london_postings is not None:
        lp = lv.london_postings
        flag_weight[POSTED] = lp.promotion_multiplier
        flag_hazard[POSTED] = min(1.0, 1.0 / (lp.effect_years * spy))
    if lv.secondments is not None:
        flag_weight[SECONDED] = lv.secondments.promotion_multiplier
        flag_hazard[SECONDED] = min(1.0, 1.0 / (lv.secondments.effect_years * spy))
    # The geography of promotion is calibrated once, to the baseline world: with the default
    # behaviour (weights, willingness, London's pull) and the scenario's calibration targets
    # and distance decay. A scenario that changes behaviour then changes it against that
    # calibration (a counterfactual), rather than being recalibrated away.
    d = default_parameters(pkg)
    weights = dict(odds=d.seb_promotion_odds, flag_weight=np.ones(N_FLAGS),
                   accelerator_weight=d.accelerator_weight,
                   london_advantage=d.london_promotion_advantage,
                   policy_match=d.policy_match_weight)
    promotions = baseline_posts.sum(axis=(1, 2)) * d.exit_rate * d.internal_fill_share
    reach, london_stay = calibrate_geography(
        params.cross_area_share, params.into_london_share, baseline_stock, baseline_posts,
        promotions, geo, kernel, d.relocation_willingness, weights, d.london_pull,
        london_stay=params.london_stay)
    district_weights = baseline_posts.sum(axis=(0, 2)).astype(float)
    per_step = _lever_arrays(scenario, n_steps, spy)
    waves = tuple(_plan_wave(i, w, scenario, geo, spy) for i, w in enumerate(scenario.waves))
    base_cdf = recruit_cdf(params.recruit_mix, geo.labour_mix, district_weights)
    departments = department_posts(pkg, geo)
    waves = select_departments(waves, scenario, departments)
    waves, moved_before = moved_before_start(scenario, waves, geo, baseline_posts)
    return Rules(
        steps_per_year=spy, n_steps=n_steps, start_year=start,
        exit_q=1.0 - (1.0 - params.exit_rate) ** dt,
        lateral_share=params.lateral_share.copy(),
        internal_share=np.where(np.arange(N_GRADES) == 0, 0.0, params.internal_fill_share),
        odds=odds.copy(),
        min_steps=max(int(round(params.min_quarters_in_grade * spy / 4)), 1),
        flag_weight=flag_weight, flag_after=flag_after, flag_hazard=flag_hazard,
        accelerator_weight=params.accelerator_weight,
        policy_match_weight=params.policy_match_weight,
        london_advantage=params.london_promotion_advantage,
        area=geo.area, n_areas=geo.n_areas, is_london=geo.is_london,
        area_is_london=geo.area_is_london, kernel=kernel, reach=reach,
        london_pull=params.london_pull, london_stay=london_stay,
        willingness=params.relocation_willingness.copy(),
        recruit_cdf=base_cdf,
        national_cdf=np.cumsum(params.recruit_mix, axis=1),
        events=_lever_events(scenario, n_steps, spy, geo, departments, waves),
        posting_steps=(max(1, int(round(lv.london_postings.months * spy / 12)))
                       if lv.london_postings is not None else 0),
        posting_district=_posting_district(geo, baseline_posts),
        waves=waves, site_capacity=site_capacity,
        posts=compile_posts(scenario, geo, baseline_posts, spy, waves,
                            _wave_creations(waves, scenario, geo, baseline_posts, spy),
                            departments),
        moved_before_start=moved_before,
        cost_mover_gbp=params.cost_mover_gbp,
        **per_step,
        **_outreach(scenario, geo, base_cdf, n_steps, spy),
        freeze_reach=_yearly_reach(scenario, "london_recruitment_freeze", departments, waves,
                                   n_steps, spy, geo.is_london),
        outreach_reach=_yearly_reach(scenario, "recruitment_outreach", departments, waves,
                                     n_steps, spy, geo.is_london),
        **_secondment_rules(scenario, geo, spy),
    )



def _kernel(geo: Geography, decay_per_100km: float) -> np.ndarray:
    """(area, district) distance decay ``decay ** (km / 100)``, 0 from a district's own area."""
    k = decay_per_100km ** (geo.area_distance_km.astype(np.float64) / 100.0)
    own = geo.area[None, :] == np.arange(geo.n_areas)[:, None]
    return np.where(own, 0.0, k).astype(np.float32)


def _posting_district(geo: Geography, baseline_posts: np.ndarray) -> int:
    """The London district with the most private office posts (where postings are)."""
    po = baseline_posts[:, :, PRIVATE_OFFICE].sum(axis=0) + 1e-9 * baseline_posts.sum(axis=(0, 2))
    po = np.where(geo.is_london, po, -1.0)
    return int(np.argmax(po))


def _lever_arrays(scenario, n_steps: int, spy: int) -> dict:
    """Per-step arrays of the levers that change a rate while they are on."""
    lv = scenario.levers
    start = scenario.horizon.start_year
    out = {"will_mult": np.ones(n_steps), "accept_mult": np.ones(n_steps),
           "support_gbp": np.zeros(n_steps), "freeze": np.zeros((n_steps, N_GRADES)),
           "scs_low_target": np.zeros(n_steps)}
    if lv.relocation_support is not None:
        on = _window(lv.relocation_support, start, n_steps, spy)
        out["will_mult"][on] = lv.relocation_support.willingness_multiplier
        out["accept_mult"][on] = lv.relocation_support.acceptance_multiplier
        out["support_gbp"][on] = lv.relocation_support.gbp_per_move
    if lv.london_recruitment_freeze is not None:
        f = lv.london_recruitment_freeze
        on = _window(f, start, n_steps, spy)
        out["freeze"][np.ix_(on, grade_mask(f.grades))] = f.share_blocked
    if lv.low_seb_scs_flow_target is not None:
        on = _window(lv.low_seb_scs_flow_target, start, n_steps, spy)
        out["scs_low_target"][on] = lv.low_seb_scs_flow_target.share
    return out


def _window(spec, start_year: int, n_steps: int, spy: int) -> np.ndarray:
    """Steps at which a lever with a (start_year, end_year) window is on."""
    year = start_year + np.arange(n_steps) // spy
    end = np.inf if spec.end_year is None else spec.end_year
    return np.flatnonzero((year >= spec.start_year) & (year <= end))


def _lever_events(scenario, n_steps: int, spy: int, geo: Geography, departments,
                  waves: tuple) -> tuple[LeverEvent, ...]:
    """Enrolments at the first step of each year a lever is on, and programme ends; the
    enrolments of a lever given ``department:`` reach its departments' share of each
    (grade, district)'s staff then (:func:`placesim.reach.department_reach`)."""
    lv = scenario.levers
    start = scenario.horizon.start_year
    events: list[LeverEvent] = []

    def first_steps(spec) -> list[int]:
        on = _window(spec, start, n_steps, spy)
        return sorted({int(k) for k in on if k % spy == 0 or k == on[0]})

    if lv.mentoring is not None:
        m = lv.mentoring
        grades = grade_mask(m.grades)
        steps = first_steps(m)
        events += [LeverEvent(k, MENTOR_ENROL, grades, coverage=m.coverage) for k in steps]
        on = _window(m, start, n_steps, spy)
        if len(on) and on[-1] + 1 < n_steps:
            events.append(LeverEvent(int(on[-1]) + 1, MENTOR_END, grades))
    if lv.talent_scheme_ring_fence is not None:
        ts = lv.talent_scheme_ring_fence
        events += [LeverEvent(k, SCHEME_ENROL, grade_mask(ts.grades),
                              places=ts.places_per_year, low_share=ts.low_seb_share)
                   for k in first_steps(ts)]
    if lv.london_postings is not None:
        lp = lv.london_postings
        length = max(1, int(round(lp.months * spy / 12)))
        for k in first_steps(lp):
            events.append(LeverEvent(k, POSTING_ENROL, grade_mask(lp.grades),
                                     places=lp.places_per_year))
            if k + length < n_steps:
                events.append(LeverEvent(k + length, POSTING_RETURN, grade_mask(lp.grades)))
    if lv.secondments is not None:
        events += _secondment_events(lv.secondments, geo, first_steps(lv.secondments),
                                     n_steps, spy)
    # at one step: people come back and programmes end before anyone is enrolled
    order = {POSTING_RETURN: 0, SECONDEES_END: 1, OUTBOUND_RETURN: 2, MENTOR_END: 3,
             MENTOR_ENROL: 4, SCHEME_ENROL: 5, POSTING_ENROL: 6, OUTBOUND_START: 7,
             SECONDEES_IN: 8}
    events.sort(key=lambda e: (e.step, order[e.kind]))
    return _with_reach(events, scenario, departments, waves, spy, geo.is_london)


def _yearly_reach(scenario, name: str, departments, waves: tuple, n_steps: int, spy: int,
                  is_london: np.ndarray):
    """(year, grade, district) reach of rate lever ``name`` given ``department:`` at the
    start of each year of the run (:func:`placesim.reach.department_reach`), or None."""
    lever = getattr(scenario.levers, name)
    if lever is None or not lever.department:
        return None
    from .reach import department_reach

    years = np.arange((n_steps - 1) // spy + 1, dtype=float)
    return department_reach(departments, waves, _lever_departments(scenario, name, departments),
                            years, spy, is_london)


def _lever_departments(scenario, name: str, departments) -> list[int]:
    """Indices of the departments lever ``name`` is given (known codes:
    :func:`placesim.scenario.check_departments` has run, in :func:`placesim.engine.prepare`)."""
    return departments.index(getattr(scenario.levers, name).department)


_REACHED = {MENTOR_ENROL: "mentoring", SCHEME_ENROL: "talent_scheme_ring_fence",
            POSTING_ENROL: "london_postings", OUTBOUND_START: "secondments"}
"""The events that take people, and the lever (its ``department:``) each belongs to."""


def _with_reach(events: list, scenario, departments, waves: tuple, spy: int,
                is_london: np.ndarray) -> tuple:
    """``events`` with ``reach`` set on those of a lever given ``department:``."""
    from dataclasses import replace

    from .reach import department_reach

    out = list(events)
    for kind, name in _REACHED.items():  # (each lever's event times in one call)
        lever = getattr(scenario.levers, name)
        at = [i for i, e in enumerate(out) if e.kind == kind]
        if lever is None or not lever.department or not at:
            continue
        reach = department_reach(departments, waves,
                                 _lever_departments(scenario, name, departments),
                                 [out[i].step / spy for i in at], spy, is_london)
        for i, r in zip(at, reach, strict=True):
            out[i] = replace(out[i], reach=r)
    return tuple(out)


def _steps(months: int, spy: int) -> int:
    """Steps of a period given in months (at least one)."""
    return max(1, int(round(months * spy / 12)))


def lever_places(places, geo: Geography) -> np.ndarray:
    """(district,) bool: the districts a lever's :class:`~placesim.scenario.Places` name."""
    mask = np.zeros(geo.n_districts, bool)
    if places.coldspots:
        mask |= geo.is_coldspot & ~geo.is_london
    if places.districts:
        mask[geo.index_of(list(places.districts))] = True
    if places.sites:
        mask[site_districts(places.sites, geo, "recruitment_outreach.places.sites")] = True
    return mask


def site_districts(sites, geo: Geography, field: str) -> np.ndarray:
    """Each site's district; an unknown site is a ValueError naming ``field``."""
    index = {s: k for k, s in enumerate(geo.site_ids)}
    unknown = [s for s in sites if s not in index]
    if unknown:
        raise ValueError(f"{field}: unknown site {unknown[0]!r} (known: "
                         f"{', '.join(sorted(index))})")
    return np.array([geo.site_district[index[s]] for s in sites], np.int64)


def outreach_mix(cdf: np.ndarray, local: np.ndarray, towards_local: float,
                 low_points: float) -> np.ndarray:
    """Recruits' cumulative SEB mix changed by outreach.

    The mix moves ``towards_local`` of the way to the local population's mix, then
    ``low_points`` are added to the low-SEB share (capped at 1), taken from the other
    classes in proportion to their shares.

    Parameters
    ----------
    cdf : numpy.ndarray
        (..., seb) cumulative mix.
    local : numpy.ndarray
        (..., seb) local population's mix (not cumulative), broadcastable to ``cdf``.
    towards_local, low_points : float

    Returns
    -------
    numpy.ndarray
        (..., seb) cumulative mix.

    Examples
    --------
    >>> import numpy as np
    >>> outreach_mix(np.array([0.5, 0.8, 1.0]), np.array([0.2, 0.3, 0.5]), 0.0, 0.1).round(3)
    array([0.438, 0.7  , 1.   ])
    """
    p = np.diff(cdf, axis=-1, prepend=0.0)
    p = (1 - towards_local) * p + towards_local * local
    low = np.minimum(p[..., LOW] + low_points, 1.0)
    rest = 1.0 - p[..., LOW]
    scale = np.divide(1.0 - low, rest, out=np.zeros_like(rest), where=rest > 0)
    p = p * scale[..., None]
    p[..., LOW] = low
    return np.cumsum(p, axis=-1)


def _outreach(scenario, geo: Geography, base_cdf: np.ndarray, n_steps: int, spy: int) -> dict:
    """The recruitment outreach lever as rules: its cells, mix and steps."""
    o = scenario.levers.recruitment_outreach
    on = np.zeros(n_steps, bool)
    cells = np.zeros(base_cdf.shape[:2], bool)
    if o is None:
        return dict(outreach_cdf=base_cdf, outreach_on=on, outreach_cells=cells,
                    outreach_gbp=0.0)
    on[_window(o, scenario.horizon.start_year, n_steps, spy)] = True
    cells = grade_mask(o.grades)[:, None] & lever_places(o.places, geo)[None, :]
    shifted = outreach_mix(base_cdf, geo.labour_mix[None, :, :], o.towards_local_mix,
                           o.low_seb_points)
    return dict(outreach_cdf=np.where(cells[:, :, None], shifted, base_cdf), outreach_on=on,
                outreach_cells=cells, outreach_gbp=float(o.cost_gbp_per_entrant))


def _secondment_rules(scenario, geo: Geography, spy: int) -> dict:
    """The secondments lever's lengths, conversion and the secondees' origin mix."""
    sec = scenario.levers.secondments
    labour = geo.labour_mix / geo.labour_mix.sum(axis=1, keepdims=True)
    out = dict(secondee_cdf=np.cumsum(labour, axis=1), secondee_steps=0,
               secondee_conversion=0.0, outbound_steps=0, secondment_sites=())
    if sec is not None:
        index = {s: k for k, s in enumerate(geo.site_ids)}
        site_districts(sec.sites, geo, "secondments.sites")
        out.update(secondee_steps=_steps(sec.inbound_months, spy),
                   secondee_conversion=float(sec.conversion_share),
                   outbound_steps=_steps(sec.outbound_months, spy),
                   secondment_sites=tuple(index[s] for s in sec.sites))
    return out


def _secondment_events(sec, geo: Geography, starts: list[int], n_steps: int, spy: int
                       ) -> list[LeverEvent]:
    """Each year's inbound and outbound secondments, and their ends."""
    districts = tuple(int(d) for d in site_districts(sec.sites, geo, "secondments.sites"))
    grades_in = grade_mask(sec.inbound_grades)
    by_grade = np.zeros(N_GRADES, np.int64)
    by_grade[grades_in] = largest_remainder(sec.inbound_per_site, np.ones(grades_in.sum()))
    grades_out = grade_mask(sec.outbound_grades)
    n_in, n_out = _steps(sec.inbound_months, spy), _steps(sec.outbound_months, spy)
    events = []
    for k in starts:
        if sec.inbound_per_site > 0:
            events.append(LeverEvent(k, SECONDEES_IN, grades_in, places=sec.inbound_per_site,
                                     districts=districts, by_grade=by_grade))
            if k + n_in < n_steps:
                events.append(LeverEvent(k + n_in, SECONDEES_END, grades_in,
                                         districts=districts))
        if sec.outbound_per_site > 0:
            events.append(LeverEvent(k, OUTBOUND_START, grades_out,
                                     places=sec.outbound_per_site, districts=districts))
            if k + n_out < n_steps:
                events.append(LeverEvent(k + n_out, OUTBOUND_RETURN, grades_out,
                                         districts=districts))
    return events


def wave_begins(year: float, quarter: float, start_year: float) -> float:
    """When a wave (from ``year`` Q``quarter``) begins, in years from the run's start
    (the census of 31 March ``start_year``; negative: before it)."""
    return (year - start_year) + (quarter - 1) / 4.0


def wave_tranches(start: float, spread_years: float, spy: int) -> tuple[int, int]:
    """A wave's tranches (one a step over its spread) and how many of them fall before the
    run's start (history, in the data already).

    Parameters
    ----------
    start : float
        When the wave begins, in years from the run's start (:func:`wave_begins`).
    spread_years : float
    spy : int
        Steps a year.

    Returns
    -------
    tuple of int
        ``(tranches, before the start)``; the wave runs if the second is smaller.
    """
    n = max(1, int(round(spread_years * spy))) if spread_years > 0 else 1
    done = min(n, int(np.ceil(-start * spy - 1e-9))) if start < -1e-9 else 0
    return n, done


def _plan_wave(i: int, w, scenario, geo: Geography, spy: int) -> WavePlan:
    start = wave_begins(w.year, w.quarter, scenario.horizon.start_year)
    if isinstance(w.origin, str):
        origin = geo.is_london.copy()
    else:
        origin = np.zeros(geo.n_districts, bool)
        origin[geo.index_of(w.origin)] = True
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
            if not len(cold):  # (a coldspot list of London districts only)
                raise ScenarioError([scenario_problem(
                    scenario, ("waves", i, "destinations", len(dests), "coldspots"),
                    "no coldspot district outside London to send posts to (see coldspots)")])
            dests.append((cold, d.share, -1))
    acc = np.full(N_GRADES, w.incumbents.base)
    for g, v in w.incumbents.by_grade.items():
        acc[GRADES.index(g)] = v
    n_tranches, done = wave_tranches(start, w.spread_years, spy)
    count, before = w.count, 0
    if done and count is not None:
        # tranches scheduled before the start are history: in the data already, only counted
        tranches = largest_remainder(count, np.ones(n_tranches))
        before, count = int(tranches[:done].sum()), int(tranches[done:].sum())
        n_tranches, start = max(n_tranches - done, 1), max(start + done / spy, 0.0)
    mix = None
    if w.grade_mix is not None:
        mix = np.zeros(N_GRADES)
        for g, v in w.grade_mix.items():
            mix[GRADES.index(g)] = v
    return WavePlan(
        index=i, name=w.name, start_time=start, n_tranches=n_tranches, origin_mask=origin,
        grade_mask=grade_mask(w.posts.grades), type_mask=type_mask(w.posts.profession,
                                                                     w.posts.role),
        count=count, share=w.share, destinations=tuple(dests), accept_by_grade=acc,
        high_seb_multiplier=w.incumbents.high_seb_multiplier,
        per_100km=w.incumbents.per_100km_multiplier,
        redeploy_share=w.incumbents.redeploy_share,
        backfill_anywhere=w.backfill == "anywhere", support_gbp=w.relocation_support_gbp,
        recreate=w.mode == "recreate", grade_mix=mix, moved_before=before,
    )


def moved_before_start(scenario, waves, geo: Geography, posts: np.ndarray
                       ) -> tuple[tuple[WavePlan, ...], int]:
    """Roles moved out of London before the start: the scenario's ``roles_moved_before``
    and the waves' tranches scheduled before it, each wave's ``moved_out_before`` (its
    non-London destinations' share of them, from London by the rule of the roles it moves
    in the run, :func:`placesim.posts.london_part`: a list of London districts counts as
    London, where only the whole of London once did); the waves with it set, and the
    total. (After :func:`placesim.posts.select_departments`: a department's wave by its
    posts.)"""
    from dataclasses import replace

    total = float(scenario.roles_moved_before)
    out = []
    for plan in waves:
        if plan.moved_before:
            outside = sum(share for d, share, _ in plan.destinations
                          if not geo.is_london[d].any())
            plan = replace(plan, moved_out_before=(plan.moved_before * outside
                                                   * london_part(plan, posts, geo)))
            total += plan.moved_out_before
        out.append(plan)
    return tuple(out), int(round(total))


def _wave_creations(waves, scenario, geo: Geography, posts: np.ndarray, spy: int):
    """``(year) -> (grade, place)`` posts the recorded recreating waves open, less those they
    close, in a year, as planned (place 0 outside London, 1 London): what the fitted ACSES
    trend counts them towards, as the record it follows holds both. (A recorded wave that
    closed its origin's posts lost them: its new posts were counted within the trend, its
    closures on top of it; review.)

    A wave that is not ``recorded`` (a what-if) acts on top of the trend: its new posts add to
    the trend's and the posts it closes come off it. (Counted within the trend too, its new
    posts were taken off the trend's growth outside London while its closures in London were
    not put back: coldspots-first's first tranches lost 4,125 posts in a trend year, which
    still counted as roles moved; review.)"""
    out: dict[int, np.ndarray] = {}
    start = scenario.horizon.start_year
    for plan in waves:
        if not plan.recreate or not scenario.waves[plan.index].recorded:
            continue
        split = wave_split(plan, posts)
        total = plan.count if plan.count is not None else round(
            plan.share * wave_matching(plan, posts).sum())
        by_grade = split.sum(axis=1)
        london = sum(share for d, share, _ in plan.destinations if geo.is_london[d].all())
        # the origin's closures, by place (none for a wave that keeps its origin's posts)
        from_london = (london_part(plan, posts, geo)
                       if scenario.waves[plan.index].close_origin else None)
        tranches = np.full(plan.n_tranches, total / plan.n_tranches)
        for j, n in enumerate(tranches):
            year = start + int((plan.start_time + j / spy) // 1)
            add = out.setdefault(year, np.zeros((N_GRADES, 2)))
            add[:, 0] += n * by_grade * (1 - london)
            add[:, 1] += n * by_grade * london
            if from_london is not None:
                add[:, 0] -= n * by_grade * (1 - from_london)
                add[:, 1] -= n * by_grade * from_london
    return lambda year: out.get(year, np.zeros((N_GRADES, 2)))


def recruit_cdf(seb_mix_by_grade: np.ndarray, labour_mix: np.ndarray, weights: np.ndarray):
    """Cumulative recruit SEB mix by (grade, district).

    A grade's recruits resemble its current staff nationally (so the grade gradient is
    stationary), tilted by how the local labour market's class mix differs from the national
    one: ``p(k) ∝ m_g(k) · L_d(k) / L(k)``.

    Parameters
    ----------
    seb_mix_by_grade : numpy.ndarray
        (grade, seb) national mix.
    labour_mix : numpy.ndarray
        (district, seb) local origin-class mix.
    weights : numpy.ndarray
        (district,) weights for the national labour mix (baseline headcount).

    Returns
    -------
    numpy.ndarray
        (grade, district, seb) cumulative probabilities.
    """
    national = (labour_mix * weights[:, None]).sum(axis=0) / max(weights.sum(), 1e-12)
    tilt = labour_mix / national[None, :]
    p = seb_mix_by_grade[:, None, :] * tilt[None, :, :]
    p /= p.sum(axis=2, keepdims=True)
    return np.cumsum(p, axis=2)


# --- calibrating the geography of promotion ------------------------------------------------

def _promotion_masses(stock: np.ndarray, posts: np.ndarray, geo: Geography,
                      kernel: np.ndarray, willingness: np.ndarray, weights: dict, g: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baseline choice masses for promotions into grade ``g``, for plain and policy posts.

    Returns
    -------
    local : numpy.ndarray
        (2, district) local choice mass.
    remote_regional, remote_london : numpy.ndarray
        (2, district) remote mass per unit of reach from candidates outside London and in
        London (before London's hold on its staff and London's pull).
    vacancies : numpy.ndarray
        (2, district) vacancies, in proportion to posts.
    """
    A = geo.n_areas
    adv = np.where(geo.is_london, weights["london_advantage"], 1.0)
    w = np.zeros((2, A, N_SEB))
    for vp in (0, 1):
        for s in range(N_SEB):
            for t in range(N_TYPES):
                wt = promotion_weight(weights["odds"], weights["flag_weight"],
                                      weights["accelerator_weight"], 1.0,
                                      weights["policy_match"], g, s, t, NONE, False, bool(vp))
                w[vp, :, s] += np.bincount(geo.area, weights=stock[g - 1, :, s, t] * adv * wt,
                                           minlength=A)
    local = w.sum(axis=2)[:, geo.area]
    per_area = (w * willingness[None, None, :]).sum(axis=2)  # (2, A)
    lon_area = geo.area_is_london
    kt = kernel.T.astype(np.float64)
    remote_regional = (kt @ (per_area * ~lon_area[None, :]).T).T
    remote_london = (kt @ (per_area * lon_area[None, :]).T).T
    vac = np.stack([posts[g, :, OTHER], posts[g, :, POLICY] + posts[g, :, PRIVATE_OFFICE]])
    return local, remote_regional, remote_london, vac


@njit(cache=True)
def _solve_reach(local, remote, vac, target):
    """The reach at which vacancies (weights ``vac``) go to remote candidates in the share
    ``target``, by bisection on log(reach) (local and remote choice masses given)."""
    total = vac.sum()
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        r = np.exp(mid)
        got = 0.0
        for i in range(local.shape[0]):
            for d in range(local.shape[1]):
                t = local[i, d] + r * remote[i, d]
                if t > 0:
                    got += vac[i, d] * r * remote[i, d] / t
        if got < target * total:
            lo = mid
        else:
            hi = mid
    return np.exp((lo + hi) / 2)


def calibrate_geography(cross_area: np.ndarray, into_london: float, stock: np.ndarray,
                        posts: np.ndarray, promotions: np.ndarray, geo: Geography,
                        kernel: np.ndarray, willingness: np.ndarray, weights: dict,
                        london_pull: float, london_stay: float | None = None
                        ) -> tuple[np.ndarray, float]:
    """Remote reach per grade and London's hold on its staff that reproduce, in the
    baseline, the share of promotions into each grade taken by someone from another area
    (``cross_area``) and, of the promotions that move someone into or out of London, the
    share that move them in (``into_london``).

    A vacancy's remote candidates are weighted by reach × distance decay × willingness (and
    London's pull for a London post). Without more, London's large pools would fill posts
    across the regions far more often than regional staff fill London's posts; London's
    hold on its staff (a factor on London-based candidates' remote weight, the
    "stay" factor) sets the balance of the two flows. Vacancies are taken in proportion to
    posts (every post falls vacant at its grade's rate), and grades are weighted by
    ``promotions``. Both are solved by bisection on logarithms (the reach for each factor
    tried). Where a grade's posts are in areas with no candidates, those promotions are
    remote whatever the reach: its share cannot go below that floor.

    Parameters
    ----------
    cross_area : numpy.ndarray
        (grade,) target shares (0: no remote promotions into the grade).
    into_london : float
        Target share of moves into London among promotions into or out of London.
    stock, posts : numpy.ndarray
        Baseline (grade, district, seb, post type) people and (grade, district, post type)
        posts.
    promotions : numpy.ndarray
        (grade,) relative number of promotions into each grade (weights across grades).
    london_pull : float
    london_stay : float, optional
        Use this factor instead of solving for it.

    Returns
    -------
    reach : numpy.ndarray
        (grade,)
    london_stay : float
    """
    key = digest(cross_area, into_london, stock, posts, promotions, geo.area, geo.is_london,
                  geo.area_is_london, kernel, willingness,
                  *(x for item in sorted(weights.items()) for x in item), london_pull,
                  london_stay)
    kept = _CALIBRATED.get(key)
    if kept is None:
        kept = _calibrate_geography(cross_area, into_london, stock, posts, promotions, geo,
                                    kernel, willingness, weights, london_pull, london_stay)
        _CALIBRATED.put(key, kept)
    reach, stay = kept
    return reach.copy(), stay


_CALIBRATED = Kept(16)
"""Solved calibrations by a digest of everything they read: every prepare of a scenario
against the same data and parameters (each lever edit in the app, each batch task) would
solve the same bisections again (about 0.05 s)."""


def _calibrate_geography(cross_area, into_london, stock, posts, promotions, geo, kernel,
                         willingness, weights, london_pull, london_stay):
    lon = geo.is_london
    pull = np.where(lon, london_pull, 1.0)[None, :]
    pieces = {g: _promotion_masses(stock, posts, geo, kernel, willingness, weights, g)
              for g in range(1, N_GRADES) if cross_area[g] > 0 and posts[g].sum() > 0}

    def flows(stay: float) -> tuple[np.ndarray, float, float]:
        reach = np.zeros(N_GRADES)
        into = out = 0.0
        for g, (local, rem_reg, rem_lon, vac) in pieces.items():
            rem = (rem_reg + stay * rem_lon) * pull
            r = reach[g] = _solve_reach(local, rem, vac, cross_area[g])
            tot = local + r * rem
            ok = tot > 0
            scale = promotions[g] / max(vac.sum(), 1e-12)
            into += (vac[:, lon] * np.divide(r * rem[:, lon], tot[:, lon], out=np.zeros_like(
                tot[:, lon]), where=ok[:, lon])).sum() * scale
            out += (vac[:, ~lon] * np.divide(r * stay * (rem_lon * pull)[:, ~lon],
                                              tot[:, ~lon], out=np.zeros_like(tot[:, ~lon]),
                                              where=ok[:, ~lon])).sum() * scale
        return reach, into, out

    if london_stay is not None:
        return flows(london_stay)[0], float(london_stay)
    lo, hi = np.log(1e-4), np.log(1e2)
    for _ in range(40):
        mid = (lo + hi) / 2
        _, into, out = flows(np.exp(mid))
        if into + out > 0 and into / (into + out) > into_london:
            lo = mid
        else:
            hi = mid
    stay = float(np.exp((lo + hi) / 2))
    return flows(stay)[0], stay


__all__ = ["Rules", "WavePlan", "LeverEvent", "compile_rules", "promotion_weight",
           "outreach_mix", "lever_places", "site_districts",
           "remote_factor", "lateral_factor", "type_mask", "FLAGS", "recruit_cdf",
           "calibrate_geography"]
