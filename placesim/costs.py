"""A Green Book appraisal of a run: what its relocations cost and save, year by year.

Every relocation decision is argued on value for money (the May 2025 plan's £94m a year saved
by 2032; the Government Hubs programme's £1.7bn NPV; the IfG's "up to £40,000 per worker").
This module turns what a run records — posts by grade and place each year, incumbents who
moved or left, redundancies, closures of London offices — into money, so that every run's
metrics table carries costs, savings, a net present value and a payback year, with bands
from replications and ``--parameter-uncertainty`` like any other metric.

**The counterfactual.** Savings are measured against *the same posts of each grade, located as
at the start of the horizon* (the start year's London share of each grade): the London posts a
run avoids in year *t* are ``N_g(t) * s_g(0) - L_g(t)`` (UK posts of grade *g* times its
starting London share, minus London posts now). Only Civil Service posts count
(:func:`civil_service_posts`): not the posts inbound secondees from councils hold until they
convert, nor the London posts of people on London postings, whose home posts are kept. Each
avoided London post saves the difference in pay and in desk costs between London and outside
it; posts that a recreating wave has replaced but that still wait for a vacancy to close are
**double running**: while one is open the service has a post more, which costs what a post
outside London does (each is charged that, plus the start's London share of the premium, which
the saving lines credit for it meanwhile). The recruitment outreach lever's spending is a cost of
the year it is spent; so is the secondments lever's: the pay and on-costs of council staff on
secondment in campus posts (the host pays them), and the cover of the posts of civil servants
out on secondment with councils (their own pay goes on), each at their grade's pay outside
London, and the permanent posts the secondees who stay add (each a post outside London, from
then on: not a post kept out of London). People costs are the flows the run causes:
relocation packages and support paid to incumbents who move, redundancy for incumbents who will
not move and for posts closed by a deadline, recruitment and training of their replacements,
and the output lost while their posts are vacant; each leaver and each redundancy at the pay of
their own grade (every mode records them by grade). Hub capital is charged when posts leave
London beyond any earlier peak. Named London office closures (``office_closures:`` in a
scenario) save the office's running cost from the closing date for the desks beyond those the
London posts avoided already release (the estate line counts each avoided post's desk: a
closure is how that saving is made, not a second one).

So a run's figures are *against the start year's location of posts*. A scenario's value
against another scenario (against the baseline, say) is the difference of their figures,
replication by replication: ``placesim compare`` gives it with paired bands, and the
baseline against itself is zero to the penny.

**Discounting** follows HM Treasury's Green Book: 3.5% real a year, constant prices of the
horizon's start year (the pay tables are ACSES 2023), the first year undiscounted (a year's
row covers the twelve months up to its start, as the engine records years). ``npv_gbp``
in year *t* is the discounted net saving cumulated to *t* (its last year is the NPV over the
horizon; no residual value after it); ``npv_long_run_gbp`` adds, for the years after *t* to the
end of a 20-year appraisal period (``costs.appraisal_years``, the Government Hubs programme's),
year *t*'s running net saving held flat (an ASSUMPTION: :func:`long_run_npv`), so that a move
late in the run is not judged on its one-off costs alone; ``payback_year`` is the first year
whose cumulated discounted net saving is positive (NaN until then).

**Benefits outside government** — the government's claim of £30m local benefit per 1,000
roles, and Lyons's 10 civil-service jobs to about 11 private-sector jobs — are reported as
``claim_*`` rows, labelled as claims, and never netted into the NPV.

Every unit cost is a parameter (``placesim params`` lists it with its source, or as an
ASSUMPTION with a range), named ``costs.<name>``; a scenario overrides it under
``parameters: values:``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .grades import GRADES

#: Median salary by grade, London and outside London (ACSES 2023, facts.md C1). SCS1 takes the
#: ACSES "SCS" medians (mostly deputy directors); SCS2 and SCS3 the midpoints of the 2024-25
#: pay band ranges, the same in and outside London (national pay ranges, facts.md G).
PAY_LONDON = {"AA": 23500, "AO": 26400, "EO": 31310, "HEO": 36180, "SEO": 43650,
              "G7": 56480, "G6": 69920, "SCS1": 83520, "SCS2": 130250, "SCS3": 168050,
              "PS": 200000}
PAY_OUTSIDE = {"AA": 22180, "AO": 22520, "EO": 28120, "HEO": 34300, "SEO": 41800,
               "G7": 55000, "G6": 69940, "SCS1": 85130, "SCS2": 130250, "SCS3": 168050,
               "PS": 200000}
_ACSES_PAY = "ACSES 2023 median salary by grade, London / outside London (facts.md C1)"
_BAND_PAY = ("Midpoint of the 2024-25 SCS pay band range ({}), national pay range so the same "
             "in and outside London (facts.md G)")

# Estate: the government office estate is 2,712,000 m2 for 303,229 staff at £1.5bn a year
# (ICAEW 2021, facts.md H): £553 per m2 and 8.94 m2 per person. Lyons (2003, facts.md D) put
# London rents at £53 against £27 a square foot in the regions (ratio 1.963). With 20.0% of
# civil servants in London (ACSES 2023), the estate-wide average splits as
# outside = 553 / (0.200 * 1.963 + 0.800) = £464 and London = 1.963 * 464 = £910 per m2.
_ESTATE_AVG_GBP_M2 = 1.5e9 / 2_712_000
_M2_PER_PERSON = 2_712_000 / 303_229
_LONDON_RENT_RATIO = 53 / 27
_LONDON_STAFF_SHARE = 0.200
_ESTATE_OUTSIDE = _ESTATE_AVG_GBP_M2 / (_LONDON_STAFF_SHARE * _LONDON_RENT_RATIO
                                        + 1 - _LONDON_STAFF_SHARE)
_ESTATE_LONDON = _LONDON_RENT_RATIO * _ESTATE_OUTSIDE
_ESTATE_SRC = ("ICAEW 2021: £1.5bn a year for 2,712,000 m2 (facts.md H), split by Lyons 2003's "
               "London/regions rent ratio 53/27 (facts.md D) with 20.0% of staff in London "
               "(ACSES 2023): {}")



def _pay_parameter(grade: str, where: str) -> tuple:
    """A pay parameter's row of :data:`COST_PARAMETERS` (``where``: london or outside)."""
    value = float((PAY_LONDON if where == "london" else PAY_OUTSIDE)[grade])
    if grade == "PS":
        grade_of = ("assumption", 180000.0, 280000.0, "No published figure for permanent "
                    "secretaries' pay in facts.md; ASSUMPTION")
    elif grade in ("SCS2", "SCS3"):
        band = ("pay band 2, £98,000-£162,500" if grade == "SCS2"
                else "pay band 3, £128,000-£208,100")
        grade_of = ("derived", None, None, _BAND_PAY.format(band))
    else:
        grade_of = ("published", None, None, _ACSES_PAY)
    place = "in London" if where == "london" else "outside London"
    return (f"pay_{where}_gbp.{grade}", value, *grade_of, f"Salary of a {grade} post {place}")


#: (name, value, evidence, low, high, source, description) of every cost parameter.
COST_PARAMETERS: tuple[tuple, ...] = (
    ("discount_rate", 0.035, "published", None, None,
     "HM Treasury Green Book (2022): 3.5% real a year for years 0-30 (facts.md H)",
     "Real discount rate a year (constant prices of the horizon's start year)"),
    ("appraisal_years", 20.0, "published", 10.0, 30.0,
     "Government Hubs programme, Accounting Officer assessment (25 August 2022): NPV over 20 "
     "years (facts.md B); the range is an ASSUMPTION (the Green Book's 3.5% holds for years "
     "0-30)",
     "Years the long-run net present value covers from the first year appraised: the run's "
     "years, then its last year's running savings and costs held flat (ASSUMPTION) for the "
     "rest"),
    ("employer_oncost_share", 0.42, "derived", 0.37, 0.431,
     "docs/evidence.md section 4: employer pension 28.97% of pay (Civil Service Pensions, "
     "April 2024 to March 2027) plus employer National Insurance at 15% above £5,000 (from "
     "April 2025): 0.2897 S + 0.15 (S - 5,000), 41.5% of S at £30,000 to 43.1% at £90,000. "
     "Range: about 37% at 2023/24's rates (pension 26.6-30.3% banded, 13.8% above £9,100) "
     "to 43.1%",  # (it was 30%, an assumption below its own evidence; review)
     "Employer on-costs as a share of salary"),
    *(_pay_parameter(g, where) for where in ("london", "outside") for g in GRADES),
    ("estate_gbp_per_m2_london", round(_ESTATE_LONDON, 1), "derived", 700.0, 1100.0,
     _ESTATE_SRC.format("London"), "Running cost of London office space, per m2 a year"),
    ("estate_gbp_per_m2_outside", round(_ESTATE_OUTSIDE, 1), "derived", 350.0, 560.0,
     _ESTATE_SRC.format("outside London"),
     "Running cost of office space outside London, per m2 a year"),
    ("m2_per_desk", round(_M2_PER_PERSON, 2), "derived", 7.0, 11.0,
     "ICAEW 2021: 2,712,000 m2 for 303,229 staff (facts.md H), an estate sized at about one "
     "desk a person", "Office space per desk (m2)"),
    ("desks_per_post", 0.75, "assumption", 0.5, 1.0,
     "60% minimum office attendance (May 2025, facts.md B) with headroom for peak days; hubs "
     "now planned on 50% attendance (CSW Oct 2022, facts.md H); ASSUMPTION",
     "Desks needed per post"),
    ("hub_capital_gbp_per_role", round((118e6 + 105e6 + 100e6) / (1450 + 2600 + 4250), 0),
     "derived", 22000.0, 120000.0,
     "The three hubs with a published cost and size (docs/evidence.md section 4), over the "
     "roles they hold: Darlington £118m for 1,450 (about £81k a role; facts.md B), "
     "Manchester First Street £105m for about 2,600 (about £40k), Cardiff £100m for "
     "4,000-4,500 (£22-25k): £323m / 8,300. Range: Cardiff's £22k to £120k (Darlington's "
     "and more)",  # (it was Darlington's alone, the dearest: review)
     "Capital cost of new hub space per role it holds"),
    ("hub_new_space_share", 0.5, "assumption", 0.0, 1.0,
     "No figure: the share of roles leaving London that need newly built or fitted space "
     "(the rest use existing regional estate); ASSUMPTION",
     "Share of roles moved out of London that need new hub space"),
    ("redundancy_months_pay", 9.0, "assumption", 3.0, 21.0,
     "No figure in facts.md: the Civil Service Compensation Scheme pays up to 21 months' pay; "
     "ASSUMPTION for the average", "Redundancy pay, in months of salary"),
    ("recruitment_gbp", 6000.0, "assumption", 3000.0, 12000.0,
     "No figure in facts.md (the IfG's up to £40,000 per worker covers relocation, "
     "redundancy and recruitment together, facts.md D); ASSUMPTION",
     "Recruiting and training the replacement of an incumbent who leaves"),
    ("vacancy_months", 4.0, "assumption", 2.0, 9.0,
     "No figure in facts.md; ASSUMPTION", "Months a post stays vacant when its holder leaves "
     "rather than move"),
    ("vacancy_output_lost_share", 0.5, "assumption", 0.25, 1.0,
     "No figure; the ONS move to Newport showed lost expertise hurting output (Bean Review "
     "2016, facts.md H); ASSUMPTION", "Share of a vacant post's output lost while it is "
     "vacant (valued at its salary and on-costs)"),
    ("secondee_inbound_paid_share", 1.0, "assumption", 0.5, 1.5,
     "No figure: the secondments pilot's terms are not published (reference 002); a host "
     "usually pays a secondee's employer their pay and on-costs (1); less where the council "
     "shares the cost, more where it recharges its overheads; ASSUMPTION, range centred on "
     "the usual rule (parameter draws are uniform over it)",
     "What the Civil Service pays for an inbound council secondee, as a share of their pay "
     "and on-costs"),
    ("secondee_cover_share", 1.0, "assumption", 0.5, 1.5,
     "No figure: the pilot's terms are not published (reference 002); the posts of civil "
     "servants out on secondment are covered (the issue's 'backfilled temporarily') while "
     "their department pays them: cover at the post's own pay (1); less where part of the "
     "work is absorbed or the council repays part of their pay, more with agency cover; "
     "ASSUMPTION, range centred on 1 (parameter draws are uniform over it)",
     "What a department pays again, for cover, while one of its staff is out on secondment, "
     "as a share of that post's pay and on-costs, net of what the council repays"),
    ("claim_local_benefit_gbp_per_role", 30000.0, "published", None, None,
     "Government claim: £30m of local economic benefit per 1,000 roles (Cabinet Office "
     "press release, facts.md B). A claim, reported separately, never in the NPV",
     "Claimed local economic benefit per role moved out of London (the claim gives no "
     "period)"),
    ("claim_private_jobs_per_role", 1.1, "published", None, None,
     "Lyons 2004 as cited by CSW (facts.md B): 10 civil-service jobs lead to about 11 "
     "private-sector jobs. A claim, reported separately", "Claimed private-sector jobs per "
     "role moved out of London"),
)

COST_METRICS: tuple[str, ...] = (
    "cost_relocation_gbp", "cost_redundancy_gbp", "cost_recruitment_gbp",
    "cost_vacancy_gbp", "cost_hub_capital_gbp", "cost_double_running_gbp",
    "cost_outreach_gbp", "cost_secondments_gbp", "cost_total_gbp",
    "saving_pay_gbp", "saving_estate_gbp", "saving_office_closures_gbp", "saving_total_gbp",
    "net_saving_gbp", "discounted_net_saving_gbp", "npv_gbp", "npv_long_run_gbp",
    "payback_year",
    "london_posts_avoided", "claim_local_benefit_gbp", "claim_private_sector_jobs",
)
"""The metrics (group ``all``) :func:`cost_columns` adds to every run, in order."""
COST_COMPONENTS = COST_METRICS[:COST_METRICS.index("cost_total_gbp")]
YEAR_ONLY_METRICS = COST_METRICS[:COST_METRICS.index("npv_gbp")]
"""The appraisal's money that is the year's alone (costs, savings, net savings), not a total
to date: ``placesim compare`` labels it with its year, and the brief's value-for-money page
sums it over the years (:attr:`placesim.present.Measure.in_the_year`)."""
PEOPLE_COSTS = ("cost_relocation_gbp", "cost_redundancy_gbp", "cost_recruitment_gbp",
                "cost_vacancy_gbp")
"""The costs of the people the moves move or lose (packages and support, redundancy,
recruiting replacements, output lost while their posts are vacant): their running total is
the headline relocation cost."""
SAVING_COMPONENTS = COST_METRICS[COST_METRICS.index("cost_total_gbp") + 1:
                                 COST_METRICS.index("saving_total_gbp")]


def default_costs() -> dict[str, float]:
    """The cost parameters' default values, by name (without the ``costs.`` prefix)."""
    return {name: float(value) for name, value, *_ in COST_PARAMETERS}


def cost_parameter_log() -> list:
    """The cost parameters as assumptions-log entries (:class:`placesim.calibration.Param`),
    named ``costs.<name>``."""
    from .calibration import Param

    return [Param(f"costs.{name}", value, source, evidence, description, low, high)
            for name, value, evidence, low, high, source, description in COST_PARAMETERS]


def _by_grade(costs: Mapping[str, float], key: str) -> np.ndarray:
    return np.array([costs[f"{key}.{g}"] for g in GRADES], float)


def appraise(posts: np.ndarray, start_posts: np.ndarray, is_london: np.ndarray, *,
             years: np.ndarray, start_year: int, costs: Mapping[str, float],
             leavers: np.ndarray, redundancies: np.ndarray,
             wave_redundancies: np.ndarray, relocation_cost_gbp: np.ndarray,
             replaced_pending: np.ndarray,
             roles_moved_out: np.ndarray, office_closures=(),
             promotion_support_gbp: np.ndarray | None = None,
             outreach_cost_gbp: np.ndarray | None = None,
             secondees: np.ndarray | None = None,
             converted: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Costs, savings, NPV and payback, year by year (see the module docs for the method).

    Parameters
    ----------
    posts : numpy.ndarray
        (year, grade, district) Civil Service posts at each year's end
        (:func:`civil_service_posts`).
    start_posts : numpy.ndarray
        (grade, district) posts at the start of the horizon.
    is_london : numpy.ndarray
        (district,) bool.
    years : numpy.ndarray
        (year,) the years of the engine's records: a year's row covers the twelve months up
        to the start of that year (the wave schedule's previous calendar year).
    start_year : int
        The first year appraised (its row is undiscounted; constant prices of the horizon's
        start).
    costs : mapping
        Cost parameters by name (:func:`default_costs`).
    leavers, redundancies, wave_redundancies : numpy.ndarray
        (year, grade) incumbents who left (refusing a move, or made redundant by a wave's
        deadline), all redundancies, and the redundancies of waves' deadlines (counted in
        both ``leavers`` and ``redundancies``), in each year: each is priced at its grade's
        pay.
    relocation_cost_gbp : numpy.ndarray
        (year,) the movers' relocation packages and support in each year, as the engine
        records them (leavers are costed here, by their parts).
    promotion_support_gbp : numpy.ndarray, optional
        (year,) the part of ``relocation_cost_gbp`` that is the relocation-support lever's
        payments to people promoted across areas: a running cost while the lever is on
        (the long-run NPV holds it; default: none).
    replaced_pending : numpy.ndarray
        (year, grade, place) posts that a re-creating wave has replaced elsewhere but that are
        still open at the year's end, waiting for a vacancy to close (place 0 outside
        London, 1 London; :func:`replaced_pending`): double running, each charged what a
        post of its grade outside London costs, plus the start's London share of the premium
        (which the saving lines credit for it meanwhile), wherever it is.
    roles_moved_out : numpy.ndarray
        (year,) roles moved out of London since the start of the horizon (cumulative).
    office_closures : sequence
        Objects with ``year``, ``quarter``, ``desks`` and ``annual_cost_gbp`` (or None).
    outreach_cost_gbp : numpy.ndarray, optional
        (year,) what the recruitment outreach lever spent in each year (default: nothing).
    secondees : numpy.ndarray, optional
        (year, 2, grade) the secondments lever's person-years in each year: council staff in
        campus posts, and civil servants out with councils (default: none). Each is priced
        at their grade's pay outside London (the campuses are) with on-costs, times
        ``secondee_inbound_paid_share`` and ``secondee_cover_share``.
    converted : numpy.ndarray, optional
        (year, grade) the posts secondees who stayed have added, at each year's end
        (cumulative; default: none): each, on the year's average, costs the secondments
        line what a post of its grade outside London costs (pay with on-costs, a desk).

    Returns
    -------
    dict
        One (year,) array per name in :data:`COST_METRICS`.

    Examples
    --------
    >>> import numpy as np
    >>> from placesim.costs import appraise, default_costs
    >>> start = np.zeros((11, 2)); start[2] = [100, 100]  # 100 EO in London, 100 outside
    >>> posts = np.stack([start, start]); posts[1, 2] = [90, 110]  # 10 move in year 2
    >>> z, zg = np.zeros(2), np.zeros((2, 11))
    >>> out = appraise(posts, start, np.array([True, False]), years=np.array([2025, 2026]),
    ...                start_year=2025, costs=default_costs(), leavers=zg,
    ...                redundancies=zg, wave_redundancies=zg, relocation_cost_gbp=z,
    ...                replaced_pending=np.zeros((2, 11, 2)), roles_moved_out=z)
    >>> out["london_posts_avoided"].tolist()  # the year's average
    [0.0, 5.0]
    """
    c = costs
    oncost = 1 + c["employer_oncost_share"]
    pay_l, pay_o = _by_grade(c, "pay_london_gbp"), _by_grade(c, "pay_outside_gbp")
    desk_m2 = c["desks_per_post"] * c["m2_per_desk"]
    estate_l, estate_o = desk_m2 * c["estate_gbp_per_m2_london"], \
        desk_m2 * c["estate_gbp_per_m2_outside"]
    lon = np.asarray(is_london, bool)
    share0 = _share_london(start_posts, lon)  # (grade,)

    def avoided_of(p):
        """(Y, G) London posts avoided, of (Y, G, D) posts."""
        return p.sum(axis=2) * share0[None] - p[:, :, lon].sum(axis=2)

    def released_of(avoided):
        """(Y,) London desks the avoided posts release."""
        return np.clip(avoided.sum(axis=1), 0, None) * c["desks_per_post"]

    def pay_and_estate(avoided):
        """(Y,) the pay and desk savings of the avoided posts, a year."""
        return (avoided @ (pay_l - pay_o) * oncost,
                avoided.sum(axis=1) * (estate_l - estate_o))

    # (Y, G, D) the year's average posts
    avoided = avoided_of(_year_average(posts, start_posts))
    out: dict[str, np.ndarray] = {}
    out["saving_pay_gbp"], out["saving_estate_gbp"] = pay_and_estate(avoided)
    # a named London office's closure saves its running cost for the desks beyond those the
    # posts avoided already release: the estate line has every avoided post's London desk
    # (it saves the desk's cost over one outside London), and counting them again in the
    # closure doubled the saving (£165m of plan-for-change-2030's; review). While an office
    # is closed, all its desks are: each quarter of a year (offices close at a quarter's
    # start), the closed offices' desks are set against the year's average desks released,
    # and each saves its running cost for the quarter times the share of the closed desks
    # beyond those released. (Weighting its desks by the part of the year it was closed, a
    # closure in the last quarter saved a fifth of what it should; setting every office
    # closed in a year against the released desks all year, one closing late in the year
    # hid one closed all year: review.)
    def closures(at, released):
        """The closed offices' running cost a year at times ``at``, for their desks beyond
        those ``released``."""
        closed_cost, closed_desks = np.zeros(len(years)), np.zeros(len(years))
        for o in office_closures:
            cost = (o.annual_cost_gbp if o.annual_cost_gbp is not None
                    else o.desks * c["m2_per_desk"] * c["estate_gbp_per_m2_london"])
            shut = at >= o.year + (o.quarter - 1) / 4
            closed_cost += cost * shut
            closed_desks += o.desks * shut
        beyond = np.clip(closed_desks - released, 0, None) / np.where(closed_desks > 0,
                                                                      closed_desks, 1)
        return closed_cost * beyond

    released = released_of(avoided)
    # (a record year covers the twelve months up to its start: quarters from year - 1)
    out["saving_office_closures_gbp"] = sum(closures(years - 1 + q / 4, released) / 4
                                            for q in range(4))
    # people, each at their own grade's pay: a leaver's redundancy at London pay, the output
    # lost while the post they left is vacant at the pay outside London, where it now is
    move_leavers = np.clip(np.asarray(leavers, float) - wave_redundancies, 0, None)  # (Y, G)
    exits = move_leavers + redundancies
    out["cost_relocation_gbp"] = np.asarray(relocation_cost_gbp, float)
    out["cost_redundancy_gbp"] = exits @ pay_l * c["redundancy_months_pay"] / 12
    out["cost_recruitment_gbp"] = move_leavers.sum(axis=1) * c["recruitment_gbp"]
    out["cost_vacancy_gbp"] = (move_leavers @ pay_o * oncost * c["vacancy_months"] / 12
                               * c["vacancy_output_lost_share"])
    total_avoided = avoided.sum(axis=1)
    peak = np.maximum.accumulate(np.concatenate([[0.0], total_avoided]))
    out["cost_hub_capital_gbp"] = (np.diff(peak) * c["hub_new_space_share"]
                                   * c["hub_capital_gbp_per_role"])
    # double running: the year's average of the replaced posts still open. Against the
    # counterfactual, the extra post costs what a post outside London does. While a London
    # post waits, its replacement outside London adds a post and avoided posts rise by s0
    # (by 1 when it closes); while one outside London waits, the same. Either way the saving
    # lines credit s0 of the premium for the extra post, so each is charged a post outside
    # London plus s0 of the premium, wherever it is (at its own place's pay, a London one
    # was charged (1 - s0) of the premium too much and one outside s0 too little; review)
    pending = _year_average(replaced_pending)
    premium = (pay_l - pay_o) * oncost + estate_l - estate_o  # (grade,)
    per_post = pay_o * oncost + estate_o + share0 * premium
    out["cost_double_running_gbp"] = pending.sum(axis=2) @ per_post
    out["cost_outreach_gbp"] = (np.zeros(len(years)) if outreach_cost_gbp is None
                                else np.asarray(outreach_cost_gbp, float))
    # the secondments lever: the year's person-years in and out, at their grade's pay
    out["cost_secondments_gbp"] = np.zeros(len(years))
    if secondees is not None:
        share = np.array([c["secondee_inbound_paid_share"], c["secondee_cover_share"]])
        out["cost_secondments_gbp"] = np.einsum("ykg,g,k->y", np.asarray(secondees, float),
                                                pay_o * oncost, share)
    if converted is not None:  # the permanent posts it adds, on the year's average
        held = _year_average(converted)
        out["cost_secondments_gbp"] = out["cost_secondments_gbp"] + held @ (
            pay_o * oncost + estate_o)
    out["cost_total_gbp"] = sum(out[k] for k in COST_COMPONENTS)
    out["saving_total_gbp"] = sum(out[k] for k in SAVING_COMPONENTS)
    net = out["saving_total_gbp"] - out["cost_total_gbp"]
    out["net_saving_gbp"] = net
    out["discounted_net_saving_gbp"] = net * discount_factors(years, start_year,
                                                              c["discount_rate"])
    out["npv_gbp"] = np.cumsum(out["discounted_net_saving_gbp"])
    # the running net saving as things stand at each year's end (the lines above are the
    # year's: a move late in the year saved part of a year in it, and held, it read as half
    # a move): posts, closed offices and double running at the end, outreach and secondments
    # as in the year
    avoided_end = avoided_of(np.asarray(posts, float))
    pay_end, estate_end = pay_and_estate(avoided_end)
    running = (pay_end + estate_end
               + closures(np.asarray(years, float), released_of(avoided_end))
               - np.asarray(replaced_pending, float).sum(axis=2) @ per_post
               - out["cost_outreach_gbp"] - out["cost_secondments_gbp"]
               - (0.0 if promotion_support_gbp is None
                  else np.asarray(promotion_support_gbp, float)))
    out["npv_long_run_gbp"] = long_run_npv(years, out["npv_gbp"], running, start_year,
                                           c["discount_rate"], c["appraisal_years"])
    out["payback_year"] = payback_years(years, out["npv_gbp"])
    out["london_posts_avoided"] = total_avoided
    out["claim_local_benefit_gbp"] = roles_moved_out * c["claim_local_benefit_gbp_per_role"]
    out["claim_private_sector_jobs"] = roles_moved_out * c["claim_private_jobs_per_role"]
    return {k: np.asarray(out[k], float) for k in COST_METRICS}


def _share_london(posts_gd: np.ndarray, lon: np.ndarray) -> np.ndarray:
    total = posts_gd.sum(axis=1)
    return np.where(total > 0, posts_gd[:, lon].sum(axis=1) / np.where(total > 0, total, 1), 0)


def appraisal_period(years) -> str:
    """The years an appraisal covers, in words, from the years of its records (a record's
    row covers the twelve months up to the start of its year, so records 2024 to 2033 are
    the ten years from 2023 to 2033), with the prices it is in.

    Examples
    --------
    >>> appraisal_period([2024, 2025, 2033])
    'the 10 years from 2023 to 2033, in constant 2023 prices'
    """
    first, last = int(min(years)) - 1, int(max(years))
    span = f"the {last - first} years" if last - first != 1 else "the year"
    return f"{span} from {first} to {last}, in constant {first} prices"


def discount_factors(years: np.ndarray, start_year: int, rate: float) -> np.ndarray:
    """Green Book discount factors ``1 / (1 + rate) ** (year - start_year)``.

    Examples
    --------
    >>> discount_factors(np.array([2023, 2024]), 2023, 0.035).round(4).tolist()
    [1.0, 0.9662]
    """
    return 1.0 / (1.0 + rate) ** (np.asarray(years, float) - start_year)


def long_run_npv(years: np.ndarray, npv: np.ndarray, running: np.ndarray, start_year: int,
                 rate: float, appraisal_years: float) -> np.ndarray:
    """For each year, the net present value over the appraisal period: the NPV to that
    year, plus its running net saving (savings less the costs that recur: double running,
    outreach, secondments, relocation support for promotions; as things stand at the year's
    end) held flat for every later year of the period, discounted. A run's NPV stops at its
    horizon with no residual value, so a move late in it carries its one-off costs and few
    of its savings and reads as poor value (review); the Government Hubs programme appraised
    over 20 years.

    Parameters
    ----------
    years : numpy.ndarray
        (year,) record years; the period runs ``appraisal_years`` from ``start_year``.
    npv, running : numpy.ndarray
        (year,) the NPV to each year and each year's running net saving.
    start_year : int
    rate : float
    appraisal_years : float

    Returns
    -------
    numpy.ndarray
        (year,) NPV over the period (a year past its end: the NPV to the end).

    Examples
    --------
    >>> long_run_npv(np.array([2024, 2025]), np.array([-100.0, -50.0]), np.array([0.0, 10.0]),
    ...              2024, 0.0, 4).tolist()  # (2026 and 2027 at 10 a year, undiscounted)
    [-100.0, -30.0]
    """
    years = np.asarray(years, int)
    end = start_year + int(round(appraisal_years)) - 1  # (the period's last record year)
    out = np.empty(len(years))
    for i, y in enumerate(years):
        if y >= end:
            out[i] = npv[min(i, int(np.searchsorted(years, end)))]
            continue
        later = np.arange(y + 1, end + 1)
        out[i] = npv[i] + running[i] * discount_factors(later, start_year, rate).sum()
    return out


def payback_years(years: np.ndarray, npv: np.ndarray) -> np.ndarray:
    """For each year, the first year (up to it) whose cumulated discounted net saving is
    positive and stays so to that year; NaN if none."""
    out = np.full(len(years), np.nan)
    first = np.nan
    for i, v in enumerate(npv):
        if v > 0 and np.isnan(first):
            first = float(years[i])
        elif v <= 0:
            first = np.nan
        out[i] = first
    return out


def cost_columns(model, result) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The appraisal of one replication as metric columns (the metrics table's hook).

    Parameters
    ----------
    model : Model
    result : ReplicationResult
        Its unit costs are ``result.costs`` when the replication drew its own (parameter
        uncertainty), else the model's.

    Returns
    -------
    labels : list of (metric, group)
    values : numpy.ndarray
        (year, label).
    """
    geo, rules = model.geo, model.rules
    recs = result.years
    costs = getattr(result, "costs", None) or getattr(model.params, "costs", None) \
        or default_costs()

    def flow(name: str) -> np.ndarray:
        """(year,) a cumulative record's flow in each year."""
        cum = np.array([np.sum(getattr(r, name)) for r in recs], float)
        return np.diff(np.concatenate([[0.0], cum]))

    def flow_by_grade(name: str) -> np.ndarray:
        """(year, grade) a cumulative (grade, seb) record's flow in each year."""
        cum = np.stack([getattr(r, name).sum(axis=1) for r in recs]).astype(float)
        return np.diff(np.concatenate([np.zeros((1, cum.shape[1])), cum]), axis=0)

    years = np.array([r.year for r in recs], np.int64)
    outreach = np.array([r.levers.get("outreach_cost_gbp", 0.0) for r in recs], float)
    out = appraise(
        np.stack([civil_service_posts(model, r) for r in recs]), model.baseline_posts_gd,
        geo.is_london,
        years=years, start_year=int(years[0]), costs=costs,
        leavers=flow_by_grade("reloc_leavers"),
        redundancies=flow_by_grade("redundancies"),
        wave_redundancies=flow_by_grade("wave_redundancies"),
        relocation_cost_gbp=flow("cost_movers_gbp"),
        promotion_support_gbp=flow("cost_promotion_support_gbp"),
        replaced_pending=replaced_pending(model, np.stack([r.closures_pending for r in recs])),
        roles_moved_out=np.array([r.moved_out_of_london for r in recs], float)
        - rules.moved_before_start,
        office_closures=getattr(model.scenario, "office_closures", ()),
        outreach_cost_gbp=np.diff(np.concatenate([[0.0], outreach])),
        secondees=np.stack([r.levers.get("secondee_years", np.zeros((2, len(GRADES))))
                            for r in recs]),
        converted=np.stack([np.sum(r.levers.get("converted_posts", np.zeros((len(GRADES), 1))),
                                   axis=1) for r in recs]))
    return [(m, "all") for m in COST_METRICS], np.stack([out[m] for m in COST_METRICS], axis=1)


def _year_average(ends, start=None) -> np.ndarray:
    """Each year's average of a stock counted at the years' ends (axis 0), as the mean of
    its start and its end; the first year starts at ``start`` (none if not given)."""
    ends = np.asarray(ends, float)
    first = np.zeros(ends.shape[1:]) if start is None else np.asarray(start, float)
    return (np.concatenate([first[None], ends[:-1]]) + ends) / 2


def civil_service_posts(model, rec) -> np.ndarray:
    """(grade, district) the Civil Service posts of a year's record whose place the
    appraisal prices: its posts without those of inbound secondees, nor the posts secondees
    who stayed have added, nor London postings' posts.

    A secondee is council staff, not a civil servant; their post would otherwise be priced as
    a post kept out of London (a saving, and hub space). One who stays (converts) holds a
    permanent post the lever has added: the secondments line prices it whole, a post
    outside London, from then on (:func:`appraise`'s ``converted``); counted here too, it
    was also a post kept out of London (review: 28 conversions made 6 London posts
    "avoided", with £254k of hub space, and their pay was never costed). Someone on a London
    posting keeps their home post (held for them), so their London post is no extra post;
    counted, it would be a London post too many.

    Parameters
    ----------
    model : Model
    rec : YearRecord
        Its ``levers["secondees_in_post"]`` ((district,) secondees in post at year end)
        and ``posting_posts`` ((grade,) posts of people away on London postings at year
        end, in the postings' district), where the record has them.

    Returns
    -------
    numpy.ndarray
        (grade, district) posts, float.
    """
    posts = np.array(rec.posts, float) - secondee_posts(model, rec)
    posts -= rec.levers.get("converted_posts", 0.0)
    posts[:, model.rules.posting_district] -= rec.posting_posts
    return posts


def policy_roles(model, rec) -> np.ndarray:
    """(grade, district) the Civil Service policy roles of a year's record, private offices'
    with them (``rec.policy_posts``): not the policy posts inbound secondees from councils
    hold until they convert (40 council staff were counted as policy roles moved out;
    review). The headline's policy roles outside London and the back-cast's check against
    the record read it.

    Parameters
    ----------
    model : Model
    rec : YearRecord

    Returns
    -------
    numpy.ndarray
        (grade, district) roles, float.
    """
    return np.asarray(rec.policy_posts, float) - secondee_posts(model, rec)


def secondee_posts(model, rec) -> np.ndarray:
    """(grade, district) the posts inbound secondees from councils hold at a year's end
    (``rec.levers["secondees_in_post"]`` by district; policy posts, levers.SECONDEE_POST):
    not Civil Service posts until their holders convert (:func:`civil_service_posts`,
    :func:`policy_roles`)."""
    from .rules import SECONDEES_IN

    in_post = rec.levers.get("secondees_in_post")
    if in_post is None or not np.any(in_post):
        return np.zeros(np.shape(rec.posts))
    # every year's intake has one split over grades (the same at every site)
    by_grade = next(np.asarray(e.by_grade, float) for e in model.rules.events
                    if e.kind == SECONDEES_IN)
    return np.outer(by_grade / by_grade.sum(), np.asarray(in_post, float))


def replaced_pending(model, pending: np.ndarray) -> np.ndarray:
    """(year, grade, place) posts re-creating waves have replaced elsewhere that still wait
    to close (place 0 outside London, 1 London), from the closures pending by pool at each
    year's end: only the waves' pools (a workforce cut's closures replace nothing, so they
    are not double running). A pool is split between London and the rest as its grade's
    posts in its districts were at the start.

    Parameters
    ----------
    model : Model
    pending : numpy.ndarray
        (year, pool) closures pending at each year's end (``YearRecord.closures_pending``).

    Returns
    -------
    numpy.ndarray
    """
    plan, lon = model.rules.posts, np.asarray(model.geo.is_london, bool)
    out = np.zeros((len(pending), len(GRADES), 2))
    start = model.baseline_posts_gd
    for p in np.flatnonzero(plan.is_wave_pool):
        g, where = int(plan.pool_grade[p]), np.asarray(plan.pool_mask[p], bool)
        posts = start[g, where]
        in_london = (posts[lon[where]].sum() / posts.sum() if posts.sum() > 0
                     else lon[where].mean() if where.any() else 1.0)
        out[:, g, 1] += pending[:, p] * in_london
        out[:, g, 0] += pending[:, p] * (1 - in_london)
    return out


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "eleven", "twelve")
"""How many lines a total adds up, in words (counted, not written by hand: a line added
left "seven costs above" to be bumped)."""

#: Where each appraisal line's numbers come from (the brief and the app print these).
SOURCES: dict[str, str] = {
    "cost_relocation_gbp": "Relocation packages of incumbents who move: NAO 2013 (BBC to "
                           "Salford, £24m for 854 packages) plus the scenario's support, "
                           "which the relocation-support lever also pays on every promotion "
                           "across a labour-market area, moves that would have happened "
                           "anyway included",
    "cost_redundancy_gbp": "Incumbents who leave rather than move, and posts closed by a "
                           "deadline: costs.redundancy_months_pay (ASSUMPTION, 3-21 months) of "
                           "ACSES 2023 London pay at each leaver's own grade",
    "cost_recruitment_gbp": "Replacing leavers: costs.recruitment_gbp (ASSUMPTION, "
                            "£3,000-£12,000 each)",
    "cost_vacancy_gbp": "Output lost while leavers' posts are vacant: costs.vacancy_months and "
                        "costs.vacancy_output_lost_share (ASSUMPTIONS) of the post's grade's pay "
                        "outside London and on-costs",
    "cost_hub_capital_gbp": "New hub space: costs.hub_capital_gbp_per_role (derived: "
                            "Darlington, Manchester and Cardiff, £323m for 8,300 roles; "
                            "£22,000-£120,000), for costs.hub_new_space_share (ASSUMPTION, "
                            "0-1) of the roles leaving London",
    "cost_double_running_gbp": "Posts a re-creating wave has replaced elsewhere but not yet "
                               "closed: ACSES 2023 pay of their grade outside London, on-costs "
                               "and desk costs, plus the start's London share of the London "
                               "premium (which the savings credit while they are open)",
    "cost_outreach_gbp": "The scenario's recruitment outreach: its cost per entrant reached "
                         "(levers.recruitment_outreach.cost_gbp_per_entrant)",
    "cost_secondments_gbp": "The scenario's secondments: council staff in campus posts at "
                            "their grade's ACSES 2023 pay outside London and on-costs, times "
                            "costs.secondee_inbound_paid_share (ASSUMPTION, 0.5-1.5); cover "
                            "for civil servants out with councils, the same, times "
                            "costs.secondee_cover_share (ASSUMPTION, 0.5-1.5); and the "
                            "permanent posts of secondees who stay, each a post outside "
                            "London (pay, on-costs and a desk) from then on",
    "cost_total_gbp": f"The {_NUMBER_WORDS[len(COST_COMPONENTS)]} costs above, added up. "
                      "Mentoring, the talent scheme and London postings have no cost line "
                      "(no source gives one): a scenario using them is appraised as if they "
                      "were free",
    "saving_pay_gbp": "London posts avoided x the London pay difference by grade (ACSES 2023 "
                      "medians) with costs.employer_oncost_share (derived: pension and "
                      "employer National Insurance, 37-43.1%)",
    "saving_estate_gbp": "London posts avoided x desk cost difference: ICAEW 2021 (£1.5bn for "
                         "2.7m m2) split by Lyons 2003's London/regions rents; desks per post "
                         "(ASSUMPTION, 0.5-1.0; 60% attendance)",
    "saving_office_closures_gbp": "The scenario's named London office closures, from their "
                                  "closing dates, for the desks beyond those the London posts "
                                  "avoided release (the estate line has theirs)",
    "saving_total_gbp": f"The {_NUMBER_WORDS[len(SAVING_COMPONENTS)]} savings above, added up",
    "npv_gbp": "HM Treasury Green Book: 3.5% real a year, constant prices of the start year; "
               "over the horizon, no residual value",
    "npv_long_run_gbp": "The net present value, plus the last year's running savings less "
                        "double running, outreach, secondments and relocation support for "
                        "promotions, held flat and discounted "
                        "to the end of the appraisal period (costs.appraisal_years, with "
                        "its source and range in the assumptions; ASSUMPTION that things "
                        "stay as they are after the run)",
    "payback_year": "First year the discounted savings have repaid the costs",
    "claim_local_benefit_gbp": "A government claim (Cabinet Office): £30m of local economic "
                               "benefit per 1,000 roles moved out of London, no period given; "
                               "for the roles moved since the run's start; not in the NPV",
    "claim_private_sector_jobs": "A claim (Lyons 2004): 10 civil-service jobs bring about 11 "
                                 "private-sector jobs; not in the NPV",
}

#: The lines of an appraisal, in order: ``(metric, how it sums over the horizon)``.
APPRAISAL_LINES: tuple[tuple[str, str], ...] = (
    *((m, "sum") for m in COST_COMPONENTS), ("cost_total_gbp", "sum"),
    *((m, "sum") for m in SAVING_COMPONENTS), ("saving_total_gbp", "sum"),
    ("npv_gbp", "last"), ("npv_long_run_gbp", "last"), ("payback_year", "last"),
    ("claim_local_benefit_gbp", "last"), ("claim_private_sector_jobs", "last"),
)


def appraisal(results) -> pd.DataFrame:
    """A run's appraisal over its horizon: one row per line of :data:`APPRAISAL_LINES`.

    Costs and savings are summed over the horizon (undiscounted, constant prices); the NPV,
    payback year and claims are their values in the last year. Bands come from the run's
    replications where it kept them (P10 and P90 of each replication's total).

    Parameters
    ----------
    results : Results

    Returns
    -------
    pandas.DataFrame
        ``metric, mean, p10, p50, p90, source``; no rows for results without cost metrics
        (a department's view: the run's costs are the whole service's).
    """
    m = results.metrics
    m = m[(m["group"] == "all") & m["metric"].isin(COST_METRICS)].sort_values("year")
    if m.empty:  # a department's view: the appraisal is the whole service's only
        return pd.DataFrame(columns=["metric", "mean", "p10", "p50", "p90", "source"])
    metric_of = m["metric"].astype(str).to_numpy()
    last = int(m["year"].max())
    from .metrics import _bands, later_than_the_run

    reps = results.replications
    banded = results.banded and reps is not None  # (a folder written without them: none)
    if banded:  # (the cost lines' rows, picked out once)
        reps = reps[(reps["group"].astype(str) == "all")
                    & reps["metric"].astype(str).isin(COST_METRICS)]
        rep_metric = reps["metric"].astype(str).to_numpy()
    rows = []
    for metric, how in APPRAISAL_LINES:
        s = m[metric_of == metric]
        if s.empty:
            continue
        if how == "sum":
            mean, p10, p50, p90 = s["mean"].sum(), np.nan, np.nan, np.nan
        else:
            r = s[s["year"] == last].iloc[0]
            mean, p10, p50, p90 = r["mean"], r["p10"], r["p50"], r["p90"]
        if banded:
            v = reps[rep_metric == metric]
            per = (v.groupby("replication")["value"].sum() if how == "sum"
                   else v[v["year"] == last].set_index("replication")["value"])
            if len(per) > 1 and per.notna().any():
                _, p10, p50, p90 = (float(x[0]) for x in _bands(
                    per.to_numpy(float)[:, None], later=later_than_the_run([metric])))
        rows.append({"metric": metric, "mean": float(mean), "p10": float(p10),
                     "p50": float(p50), "p90": float(p90), "source": SOURCES.get(metric, "")})
    return pd.DataFrame(rows, columns=["metric", "mean", "p10", "p50", "p90", "source"])
