"""Location planner: rank destinations, allocate posts, and publish the rationale.

The Social Mobility Commission asks government to target expansion in coldspots and to publish
"plans for target locations and the rationale in choosing each", with a grade mix in each hub
that gives real progression. This module answers the planner's question — *given N posts of
these kinds, where should they go?* — in three steps:

1. **Scoring** every candidate district on the criteria a planner weighs (each normalised to
   0–1 and explained), with weights from the plan file; the ranked table keeps each
   criterion's contribution.
2. **Allocation** as an integer programme solved offline with SciPy's HiGHS ``milp``: choose
   ``k`` sites (fixed campuses always in) and allocate posts by grade, maximising score-weighted
   coverage plus a progression-parity bonus for senior posts in places whose ladder is
   incomplete, subject to site capacities and a minimum viable ladder at every chosen site.
   Infeasible plans are explained in words, never with a raw solver status.
3. **Closing the loop**: the allocation becomes a scenario (relocation waves from London, on
   top of a base scenario: by default the baseline, with its recorded history) that the
   engine simulates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from .errors import PlacesimError, Problem, ScenarioError
from .geodata import DEFAULT_SMC_INDEX, place_key
from .grades import GRADES, LADDER, RUNG_POSTS
from .labour_pool import ladder_rungs
from .present import listed
from .scenario import GradeName

#: The shipped scenarios: a plan's generated scenario extends baseline.yaml by default, and
#: the app reads generated scenarios from this folder.
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

CRITERIA: dict[str, str] = {
    "coldspot": "1 if the district is a social-mobility coldspot under the plan's rule",
    "smc_need": "How unfavourable the district's SMC State of the Nation 2025 index is "
                "(most unfavourable = 1, most favourable = 0)",
    "cs_presence": "Existing Civil Service presence: log headcount, scaled to the largest",
    "ladder_completeness": "Share of the grades AO to Director (SCS2) already present with at "
                           f"least {RUNG_POSTS} posts each",
    "low_seb_labour_market": "Share of the local labour market from lower socio-economic "
                             "backgrounds (who local recruitment would reach)",
    "distance_from_london": "Straight-line distance from London, scaled to the farthest",
    "near_existing_hub": "Closeness to the nearest existing hub (1 = a hub in the district)",
    "site_capacity": "1 if a site with known spare capacity is in the district",
    "shared_facilities": "1 if a government hub shared across departments is in the district",
}


#: Plain headings of the criteria (tables and the rationale).
CRITERION_LABELS: dict[str, str] = {
    "coldspot": "Social-mobility coldspot", "smc_need": "Social-mobility need",
    "cs_presence": "Civil Service already there", "ladder_completeness": "Career ladder already "
    "there", "low_seb_labour_market": "Local workers from lower-income backgrounds",
    "distance_from_london": "Distance from London", "near_existing_hub": "Close to a hub",
    "site_capacity": "Known spare space", "shared_facilities": "Shared government hub",
}


class PostDemand(BaseModel):
    """Posts of one grade (and profession) to place."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grade: GradeName
    count: int = Field(ge=0, description="Number of posts of this grade to place")
    profession: Literal["any", "policy", "other"] = "any"


class Weights(BaseModel):
    """Weight of each criterion in the score (any real number; 0 ignores it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    coldspot: float = 3.0
    smc_need: float = 1.0
    cs_presence: float = 1.0
    ladder_completeness: float = 1.0
    low_seb_labour_market: float = 1.0
    distance_from_london: float = 0.5
    near_existing_hub: float = 0.5
    site_capacity: float = 0.5
    shared_facilities: float = 0.5


Place = Annotated[str, BeforeValidator(place_key)]
"""A site id (in any case) or a district code (:func:`placesim.geodata.place_key`): as a
scenario names sites (a plan's capacity of Darlington was silently ignored; review)."""


class SiteRules(BaseModel):
    """How many places to choose and what each must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    k: int = Field(5, ge=1, description="Number of destination places to choose")
    fixed: tuple[Place, ...] = Field((), description="Site ids or district codes always chosen")
    capacity: dict[Place, int] = Field(default_factory=dict,
                                       description="Capacity by site id or district code")
    default_capacity: int = Field(3000, ge=0, description="Capacity where none is known "
                                  "(ASSUMPTION: a large government hub holds about 3,000)")
    min_ladder: tuple[GradeName, ...] = Field(("EO", "HEO", "SEO", "G7", "G6", "SCS1"),
                                              description="Grades every chosen place must get")
    min_posts_per_grade: int = Field(5, ge=0)
    min_posts_fixed: int = Field(0, ge=0, description="Fewest posts each fixed place receives "
                                 "(e.g. a campus's planned size); 0: only its minimum ladder")


class ScenarioOut(BaseModel):
    """How the allocation becomes waves: each re-creates its roles at the chosen places (Places
    for Growth's way; no one is asked to move)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = 2025
    quarter: int = Field(1, ge=1, le=4)
    spread_years: float = Field(3.0, ge=0)
    horizon_start: int = 2023
    horizon_years: int = 10


class Plan(BaseModel):
    """A location plan: which posts to place, where they may go, and how to weigh places."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # (file, line) its department was read from, for messages (a plan made in code: none)
    _where: tuple[str, int | None] = PrivateAttr(default=("plan", None))
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    title: str = ""
    data: str | None = Field(None, description="Data package folder (relative to the plan "
                             "file); default: the shipped one")
    base: str | None = Field(None, description="Scenario the generated scenario extends "
                             "(relative to the plan file): its history, workforce trend and "
                             "sites; default: the shipped scenarios/baseline.yaml")
    department: str | None = Field(None, description="Parent department whose posts the plan "
                                   "moves (code, name or alias, e.g. HO or 'Home Office'): "
                                   "its London posts bound the plan and the waves select "
                                   "them; default: any department's")
    coldspot_rule: Literal["smc2025", "opportunity_areas"] = "smc2025"
    smc_index: Literal["ci1", "ci2", "ci3", "ci4"] = DEFAULT_SMC_INDEX
    candidates: Literal["all", "sites"] | tuple[Place, ...] = "all"
    shortlist: int = Field(40, ge=1, description="Top-scoring candidates given to the solver")
    posts: tuple[PostDemand, ...]
    sites: SiteRules = SiteRules()
    weights: Weights = Weights()
    senior_parity_bonus: float = Field(1.0, ge=0, description="Extra objective weight for "
                                       "G6+ posts in places whose ladder is incomplete")
    mix_balance: float = Field(0.5, ge=0, le=1, description="Each chosen place gets at least "
                               "this fraction of its proportional share of every grade (a "
                               "full grade mix, as the SMC asks of regional hubs)")
    scenario: ScenarioOut = ScenarioOut()

    @model_validator(mode="after")
    def _some_posts(self):
        if sum(p.count for p in self.posts) == 0:
            raise ValueError("posts: at least one post must be placed")
        return self


def load_plan(path: str | Path) -> Plan:
    """Load and validate a plan file; errors name the file, line and field."""
    from .scenario import _line_map_and_doc  # shared YAML-with-lines reader

    path = Path(path)
    doc, lines = _line_map_and_doc(path.read_text(encoding="utf-8"), str(path))
    try:
        plan = Plan.model_validate(doc)
        # (where its department is, for a message naming an unknown one)
        plan._where = (str(path), lines.get(("department",)))
        return plan
    except Exception as e:  # pydantic ValidationError
        errs = getattr(e, "errors", lambda: [])()
        probs = []
        for err in errs:
            loc = tuple(err["loc"])
            line = next((lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in lines),
                        None)
            probs.append(Problem(str(path), line, ".".join(map(str, loc)) or "plan",
                                 err["msg"]))
        raise ScenarioError(probs or [Problem(str(path), None, "plan", str(e))]) from e


def _resolve_places(plan: Plan, pkg, names) -> list[str]:
    site_to_lad = dict(zip(pkg.sites["site_id"], pkg.sites["lad_code"], strict=True))
    codes = set(pkg.districts["lad_code"])
    out = []
    for n in names:
        lad = site_to_lad.get(n, n)  # (n is a Place: a site id in any case was lowered)
        if lad not in codes:
            from .scenario import _known

            names = dict(zip(pkg.districts["lad_code"], pkg.districts["lad_name"],
                             strict=True))
            hint = _known(n, set(site_to_lad) | codes, "place", names)
            raise PlacesimError(f"plan {plan.name}: {n!r} is neither a site id nor a district "
                                f"code; {hint}")
        out.append(lad)
    return out


def score_districts(plan: Plan, pkg) -> pd.DataFrame:
    """Score candidate districts; one column per criterion's contribution.

    Parameters
    ----------
    plan : Plan
    pkg : DataPackage

    Returns
    -------
    pandas.DataFrame
        ``rank, lad_code, lad_name, score`` then ``<criterion>`` (value 0–1) and
        ``<criterion>_points`` (weight × value), sorted by score.
    """
    from .geodata import coldspot_districts

    d = pkg.districts[["lad_code", "lad_name", "is_london", "centroid_lon",
                       "centroid_lat"]].copy()
    d = pd.DataFrame(d.drop(columns=[], errors="ignore"))
    cold = coldspot_districts(pkg, rule=plan.coldspot_rule, index=plan.smc_index)
    d["coldspot"] = d["lad_code"].map(cold).fillna(False).astype(float)
    sm = pkg.social_mobility.set_index("lad_code")
    rank = d["lad_code"].map(sm[f"{plan.smc_index}_rank"]).astype(float)
    d["smc_need"] = ((7 - rank) / 6).fillna(0.0)
    b = pkg.baseline_posts
    hc = b.groupby("lad_code")["posts"].sum()
    d["cs_presence"] = np.log1p(d["lad_code"].map(hc).fillna(0))
    d["cs_presence"] /= max(d["cs_presence"].max(), 1e-12)
    present = ladder_rungs(b).map(len)
    d["ladder_completeness"] = d["lad_code"].map(present).fillna(0) / len(LADDER)
    lm = pkg.labour_market.set_index("lad_code")["low"]
    low = d["lad_code"].map(lm).astype(float)
    d["low_seb_labour_market"] = ((low - low.min()) / max(low.max() - low.min(), 1e-12)).fillna(0)
    lon, lat = np.radians(d["centroid_lon"].to_numpy()), np.radians(d["centroid_lat"].to_numpy())
    ldn = d["is_london"].to_numpy(bool)
    lon0, lat0 = lon[ldn].mean(), lat[ldn].mean()
    dist_london = _haversine(lon, lat, lon0, lat0)
    d["distance_from_london"] = dist_london / max(dist_london.max(), 1e-12)
    site_lads = set(pkg.sites["lad_code"])
    hubs = d["lad_code"].isin(site_lads).to_numpy()
    near = np.full(len(d), np.inf)
    for i in np.flatnonzero(hubs):
        near = np.minimum(near, _haversine(lon, lat, lon[i], lat[i]))
    d["near_existing_hub"] = 1 - near / max(near[np.isfinite(near)].max(), 1e-12)
    cap_sites = pkg.sites.dropna(subset=["capacity"]) if "capacity" in pkg.sites else \
        pkg.sites.iloc[:0]
    d["site_capacity"] = d["lad_code"].isin(set(cap_sites["lad_code"])).astype(float)
    kinds = pkg.sites.set_index("lad_code")["kind"].astype(str).str.contains("hub|campus",
                                                                               case=False)
    shared = set(kinds[kinds].index)
    d["shared_facilities"] = d["lad_code"].isin(shared).astype(float)

    w = plan.weights.model_dump()
    d["score"] = 0.0
    for c in CRITERIA:
        d[f"{c}_points"] = w[c] * d[c]
        d["score"] += d[f"{c}_points"]
    d = d[~d["is_london"]]
    if plan.candidates == "sites":
        d = d[d["lad_code"].isin(site_lads)]
    elif not isinstance(plan.candidates, str):
        keep = set(_resolve_places(plan, pkg, plan.candidates))
        d = d[d["lad_code"].isin(keep)]
    d = d.sort_values(["score", "lad_code"], ascending=[False, True]).reset_index(drop=True)
    d.insert(0, "rank", np.arange(1, len(d) + 1))
    cols = ["rank", "lad_code", "lad_name", "score"] + list(CRITERIA) + [
        f"{c}_points" for c in CRITERIA]
    return d[cols]


def _haversine(lon, lat, lon0, lat0):
    h = np.sin((lat - lat0) / 2) ** 2 + np.cos(lat) * np.cos(lat0) * np.sin((lon - lon0) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


class InfeasiblePlan(PlacesimError):
    """No allocation satisfies the plan; the message says why in words."""


def allocate(plan: Plan, pkg, ranking: pd.DataFrame | None = None) -> pd.DataFrame:
    """Choose places and allocate posts by grade with an integer programme (HiGHS).

    Parameters
    ----------
    plan : Plan
    pkg : DataPackage
    ranking : pandas.DataFrame, optional
        From :func:`score_districts` (computed if omitted).

    Returns
    -------
    pandas.DataFrame
        ``lad_code, lad_name, grade, profession, posts`` (chosen places only, posts > 0).

    Raises
    ------
    InfeasiblePlan
        With a plain-English reason.
    ScenarioError
        The plan names a department the package does not hold (:func:`plan_department`).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    ranking = score_districts(plan, pkg) if ranking is None else ranking
    fixed = _resolve_places(plan, pkg, plan.sites.fixed)
    short = list(ranking["lad_code"].head(plan.shortlist))
    for f in fixed:
        if f not in set(ranking["lad_code"]):
            raise InfeasiblePlan(f"The fixed place {f} is not a candidate (it may be in London "
                                 "or excluded by the plan's candidate list).")
        if f not in short:
            short.append(f)
    cand = ranking.set_index("lad_code").loc[short]
    names = cand["lad_name"].to_dict()
    demand = [p for p in plan.posts if p.count > 0]
    n_d, n_g = len(short), len(demand)
    cap = np.array([_capacity(plan, pkg, lad) for lad in short], float)
    _explain_infeasible(plan, demand, short, fixed, cap, names)
    department = plan_department(plan, pkg)
    _check_london_posts(plan, pkg, demand, department)

    score = cand["score"].to_numpy(float)
    score = (score - score.min()) / max(score.max() - score.min(), 1e-12) + 0.1
    incomplete = 1 - cand["ladder_completeness"].to_numpy(float)
    senior = np.array([_earns_bonus(p.grade) for p in demand], float)
    total = sum(p.count for p in demand)
    # variables: x[d, g] (posts) then y[d] (chosen)
    n_x = n_d * n_g
    c = np.zeros(n_x + n_d)
    gain = (score[:, None] + plan.senior_parity_bonus * incomplete[:, None] * senior[None, :])
    c[:n_x] = -(gain / total).ravel()
    rows, lo, hi = [], [], []

    def add(row, lower, upper):
        rows.append(row)
        lo.append(lower)
        hi.append(upper)

    for j, p in enumerate(demand):  # every post placed
        r = np.zeros(n_x + n_d)
        r[j:n_x:n_g] = 1
        add(r, p.count, p.count)
    min_g = {g for g in plan.sites.min_ladder}
    for i in range(n_d):
        r = np.zeros(n_x + n_d)  # capacity, only if chosen
        r[i * n_g:(i + 1) * n_g] = 1
        r[n_x + i] = -cap[i]
        add(r, -np.inf, 0)
        for j, p in enumerate(demand):
            if p.grade in min_g:
                r = np.zeros(n_x + n_d)  # minimum viable ladder at chosen places
                r[i * n_g + j] = 1
                r[n_x + i] = -plan.sites.min_posts_per_grade
                add(r, 0, np.inf)
        shares = np.array([p.count for p in demand], float) / total
        for j in range(n_g):  # balanced grade mix: x[i,j] >= a * share_j * total_i
            r = np.zeros(n_x + n_d)
            r[i * n_g:(i + 1) * n_g] = -plan.mix_balance * shares[j]
            r[i * n_g + j] += 1
            add(r, 0, np.inf)
    r = np.zeros(n_x + n_d)
    r[n_x:] = 1
    add(r, 0, plan.sites.k)
    lb = np.zeros(n_x + n_d)
    ub = np.concatenate([np.repeat(cap, n_g), np.ones(n_d)])
    for f in fixed:
        i = short.index(f)
        lb[n_x + i] = 1
        r = np.zeros(n_x + n_d)  # a fixed campus gets at least its planned size
        r[i * n_g:(i + 1) * n_g] = 1
        add(r, plan.sites.min_posts_fixed, np.inf)
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=np.ones(n_x + n_d), bounds=Bounds(lb, ub),
               options={"time_limit": 60})
    if res.status != 0 or res.x is None:
        raise InfeasiblePlan(
            f"No allocation fits plan {plan.name}: the {plan.sites.k} places allowed cannot "
            f"hold all {total:,} posts with at least {plan.sites.min_posts_per_grade} posts of "
            f"each of {', '.join(plan.sites.min_ladder)} at every chosen place within their "
            "capacities. Allow more places, raise capacities or lower the minimum ladder.")
    x = np.round(res.x[:n_x]).astype(int).reshape(n_d, n_g)
    out = [(short[i], names[short[i]], demand[j].grade, demand[j].profession, int(x[i, j]),
            department or "")
           for i in range(n_d) for j in range(n_g) if x[i, j] > 0]
    return pd.DataFrame(out, columns=["lad_code", "lad_name", "grade", "profession", "posts",
                                      "department"])


def plan_department(plan: Plan, pkg) -> str | None:
    """The code of the department a plan moves the posts of (None: any department's).

    Raises
    ------
    ScenarioError
        The package has no departments, or the plan names none of them (with the nearest),
        naming the plan's file and line where it was read from one.
    """
    if plan.department is None:
        return None
    from .scenario import department_codes

    source, line = plan._where
    # (resolved as every command resolves one: codes, names, aliases, nearest codes)
    (code,) = department_codes([plan.department], pkg, allow_all=False, source=source,
                               field="department", line=line)
    return code


def _capacity(plan: Plan, pkg, lad: str) -> float:
    sites = pkg.sites[pkg.sites["lad_code"] == lad]
    for key in [lad, *sites["site_id"]]:
        if key in plan.sites.capacity:
            return float(plan.sites.capacity[key])
    if "capacity" in sites and sites["capacity"].notna().any():
        return float(sites["capacity"].dropna().sum())
    return float(plan.sites.default_capacity)


def _explain_infeasible(plan, demand, short, fixed, cap, names) -> None:
    k = plan.sites.k
    total = sum(p.count for p in demand)
    if len(fixed) > k:
        raise InfeasiblePlan(f"The plan fixes {len(fixed)} places but allows only k = {k}.")
    best = np.sort(cap)[::-1][:k].sum()
    if best < total:
        biggest = ", ".join(f"{names[short[i]]} ({cap[i]:,.0f})"
                            for i in np.argsort(-cap)[:k])
        raise InfeasiblePlan(f"No allocation fits the capacity of the {k} largest places "
                             f"({biggest}: {best:,.0f} desks in all) for {total:,} posts.")
    for p in demand:
        need = plan.sites.min_posts_per_grade * (len(fixed) or 1)
        if p.grade in plan.sites.min_ladder and p.count < need:
            raise InfeasiblePlan(f"There are only {p.count} {p.grade} posts to place, but every "
                                 f"chosen place needs at least {plan.sites.min_posts_per_grade} "
                                 f"for a viable ladder ({need} across the fixed places).")
    if plan.sites.min_posts_fixed * len(fixed) > total:
        raise InfeasiblePlan(f"The {len(fixed)} fixed places need at least "
                             f"{plan.sites.min_posts_fixed:,} posts each, more than the "
                             f"{total:,} posts to place.")
    for f in fixed:
        i = short.index(f)
        need = max(plan.sites.min_posts_per_grade * sum(
            1 for p in demand if p.grade in plan.sites.min_ladder), plan.sites.min_posts_fixed)
        if cap[i] < need:
            raise InfeasiblePlan(f"The fixed place {names[f]} has capacity for {cap[i]:,.0f} "
                                 f"posts, fewer than the {need} its minimum ladder needs.")


def _check_london_posts(plan: Plan, pkg, demand: list[PostDemand],
                        department: str | None = None) -> None:
    """Raise if the plan asks for more posts of a grade (and profession) than London holds
    (of its department, when it names one): the engine would move only those it finds,
    silently fewer than the plan says."""
    b = pkg.baseline_posts
    lon = set(pkg.districts.loc[pkg.districts["is_london"].astype(bool), "lad_code"])
    b = b[b["lad_code"].isin(lon)]
    if department is not None:
        b = b[b["department"] == department]
    asked: dict[tuple[str, str], int] = {}
    for p in demand:
        asked[(p.grade, "any")] = asked.get((p.grade, "any"), 0) + p.count
        if p.profession != "any":
            asked[(p.grade, p.profession)] = asked.get((p.grade, p.profession), 0) + p.count
    for (grade, prof), n in asked.items():
        rows = b[b["grade"] == grade]
        if prof != "any":
            rows = rows[rows["profession"] == prof]
        have = int(rows["posts"].sum())
        if n > have:
            what = f"{grade} {prof}" if prof != "any" else grade
            whose = f" of {department}" if department is not None else ""
            raise InfeasiblePlan(f"The plan asks for {n:,} {what} posts{whose} to move from "
                                 f"London, but London holds only {have:,} {what} "
                                 f"posts{whose} in the data package: ask for at most "
                                 f"{have:,}.")


def _scenario_path(value: str, plan_dir: Path, out_dir: Path) -> str:
    """A path the plan gives (relative to its file), as the generated scenario in
    ``out_dir`` must write it: absolute paths stay absolute."""
    import os

    if Path(value).is_absolute():
        return value
    return os.path.relpath((plan_dir / value).resolve(), out_dir.resolve())


def allocation_scenario(plan: Plan, allocation: pd.DataFrame, *,
                        plan_dir: str | Path | None = None,
                        out_dir: str | Path | None = None,
                        start_year: int | None = None, pkg=None) -> str:
    """The allocation as a scenario YAML: one relocation wave per grade and profession.

    The scenario ``extends:`` the plan's base (default: the shipped baseline), so it runs with
    the recorded history and the workforce trend, and reads the plan's ``data:``.

    Parameters
    ----------
    plan : Plan
    allocation : pandas.DataFrame
        From :func:`allocate`.
    plan_dir : str or Path, optional
        Folder of the plan file: its ``base:`` and ``data:`` are relative to it (default: the
        shipped plans folder, where the app reads plans).
    out_dir : str or Path, optional
        Folder the scenario is read from: ``extends:`` and ``data:`` are written relative to
        it (default: the shipped scenarios folder, where the app reads it).
    start_year : int, optional
        The data package's census year: the horizon starts there (a run starts from the
        census) unless the plan gives ``scenario.horizon_start``.
    pkg : DataPackage, optional
        Its sites: posts for a district with a campus go to the campus by name, so that the
        run holds them to its desks (by district they never waited for any, however full the
        base scenario had left it; review). Without it, by district.

    Returns
    -------
    str
    """
    import os

    s = plan.scenario
    plan_dir = Path(plan_dir) if plan_dir is not None else SCENARIOS / "plans"
    out_dir = Path(out_dir) if out_dir is not None else SCENARIOS
    base = (_scenario_path(plan.base, plan_dir, out_dir) if plan.base is not None
            else os.path.relpath(SCENARIOS / "baseline.yaml", out_dir.resolve()))
    waves = []
    department = (str(allocation["department"].iloc[0])
                  if "department" in allocation and len(allocation) else "")
    site_of: dict[str, str] = {}  # (a district's campus: one with desks known, first)
    if pkg is not None:
        sites = pkg.sites.assign(known=pkg.sites["capacity"].notna()).sort_values(
            ["known", "site_id"], ascending=[False, True])
        for sid, lad in zip(sites["site_id"], sites["lad_code"], strict=True):
            site_of.setdefault(lad, sid)
    for (grade, prof), g in allocation.groupby(["grade", "profession"], sort=False):
        n = int(g["posts"].sum())
        dests = [{"site": site_of[lad]} if lad in site_of else {"district": lad}
                 for lad in g["lad_code"]]
        for d, c in zip(dests, g["posts"], strict=True):
            d["share"] = round(int(c) / n, 6)
        # shares must sum to exactly 1: put the rounding residue on the largest
        resid = round(1 - sum(d["share"] for d in dests), 6)
        max(dests, key=lambda d: d["share"])["share"] = round(
            max(dests, key=lambda d: d["share"])["share"] + resid, 6)
        wave = {"name": f"plan-{grade.lower()}-{prof}", "year": s.year, "quarter": s.quarter,
                "spread_years": s.spread_years, "posts": {"grades": [grade]}, "count": n,
                "origin": "london", "destinations": dests}  # (re-created: no one moves)
        if prof != "any":
            wave["posts"]["profession"] = prof
        if department:  # (a department's plan moves its posts, and reports its view)
            wave["posts"]["department"] = [department]
        waves.append(wave)
    doc = {"name": plan.name, "extends": base,
           "title": plan.title or f"Allocation from plan {plan.name}",
           "question": "What does the planner's allocation do to progression and London's "
                       "high-SEB concentration?",
           "horizon": {"start_year": s.horizon_start if start_year is None or (
               "horizon_start" in s.model_fields_set) else start_year,
               "years": s.horizon_years},
           "coldspots": {"rule": plan.coldspot_rule, "index": plan.smc_index},
           "waves": waves}
    if department:
        doc["departments"] = [department]
    overrides = {site_of.get(k, k): {"capacity": int(v)} for k, v in plan.sites.capacity.items()
                 if site_of.get(k, k) in set(site_of.values())}
    if overrides:  # (the desks the plan was allocated to are the run's too)
        doc["sites"] = overrides
    if plan.data is not None:
        doc["data"] = _scenario_path(plan.data, plan_dir, out_dir)
    header = (f"# Generated by `placesim plan` from plan {plan.name!r}.\n"
              "# Question: what does this allocation of posts do to regional progression and "
              "London's\n# concentration of high-SEB staff?\n")
    from .scenario import document_text

    return header + document_text(doc)


def fixed_places(plan: Plan, pkg) -> list[str]:
    """District codes of the places the plan always includes."""
    return _resolve_places(plan, pkg, plan.sites.fixed)


def explain_choice(plan: Plan, pkg, ranking: pd.DataFrame, allocation: pd.DataFrame) -> str:
    """How many places were asked for and chosen, and why, in plain English.

    ``k`` is a ceiling: the optimiser puts posts in the highest-scoring places that can hold
    them, so it uses fewer places when those have room for every post and each further
    place would only lower the score.
    """
    chosen = list(dict.fromkeys(allocation["lad_code"]))
    fixed = fixed_places(plan, pkg)
    names = ranking.set_index("lad_code")["lad_name"].to_dict()
    total = int(allocation["posts"].sum())
    k = plan.sites.k
    text = (f"You asked for up to {k} place{'s' if k != 1 else ''}; {len(chosen)} "
            f"{'were' if len(chosen) != 1 else 'was'} chosen for {total:,} posts.")
    if fixed:
        text += (" Fixed by the plan (always included): "
                 + ", ".join(names.get(f, f) for f in fixed) + ".")
    if len(chosen) < k:
        caps = {lad: _capacity(plan, pkg, lad) for lad in chosen}
        rest = ranking[~ranking["lad_code"].isin(chosen)].head(1)
        nxt = _next_best(plan, rest, ranking, chosen, fixed) if len(rest) else ""
        text += (f" The places chosen have room for all the posts "
                 f"({sum(caps.values()):,.0f} desks in all), and a further place would not "
                 "raise the allocation's total score (each place chosen takes at least its "
                 f"minimum ladder), so it stopped at {len(chosen)}.{nxt} Raise a place's "
                 "weight or lower the capacities to spread the posts further.")
    return text


def _next_best(plan: Plan, rest: pd.DataFrame, ranking: pd.DataFrame, chosen: list[str],
               fixed: list[str]) -> str:
    """A sentence on the best place not chosen (``rest``, one row of the ranking) against
    the places chosen: those that score lower are there because the plan fixed them, or
    for the bonus for senior posts where the ladder is incomplete, or for the allocation as
    a whole (capacities, the minimum ladder at every place)."""
    by = ranking.set_index("lad_code")
    name, score = rest["lad_name"].iloc[0], float(rest["score"].iloc[0])
    ladder = float(rest["ladder_completeness"].iloc[0])
    below = [c for c in chosen if float(by.at[c, "score"]) < score]
    if not below:
        return f" The next best place, {name} (score {score:.2f}), scores lower than every " \
               "place chosen."
    reasons = []
    pinned = [c for c in below if c in fixed]
    if pinned:
        reasons.append(f"{_names(by, pinned)} {'is' if len(pinned) == 1 else 'are'} fixed "
                       "by the plan")
    senior = plan.senior_parity_bonus > 0 and any(
        p.count > 0 and _earns_bonus(p.grade) for p in plan.posts)
    bonus = [c for c in below if senior and c not in fixed
             and float(by.at[c, "ladder_completeness"]) < ladder]
    if bonus:
        reasons.append(f"{_names(by, bonus)} {'has' if len(bonus) == 1 else 'have'} an "
                       f"incomplete career ladder ({name}'s is {ladder:.0%} complete), so its "
                       "senior posts earn the plan's bonus for senior posts there")
    other = [c for c in below if c not in fixed and c not in bonus]
    if other:
        reasons.append(f"{_names(by, other)} {'makes' if len(other) == 1 else 'make'} the "
                       "allocation as a whole score higher (its capacity and the minimum "
                       "ladder at every place)")
    scored = listed([f"{by.at[c, 'lad_name']} ({float(by.at[c, 'score']):.2f})"
                      for c in below])
    return (f" The next best place not chosen, {name} (score {score:.2f}), scores higher "
            f"than {'a place' if len(below) == 1 else f'{len(below)} places'} chosen: "
            f"{scored}. " + "; ".join(r[0].upper() + r[1:] if i == 0 else r
                                      for i, r in enumerate(reasons)) + ".")


def _earns_bonus(grade: str) -> bool:
    """Whether the plan's bonus for senior posts where the ladder is incomplete is paid on
    posts of ``grade`` (G6 and above)."""
    return GRADES.index(grade) >= GRADES.index("G6")


def _names(by: pd.DataFrame, codes: list[str]) -> str:
    return listed([by.at[c, "lad_name"] for c in codes])


def allocation_table(plan: Plan, pkg, allocation: pd.DataFrame) -> pd.DataFrame:
    """Posts by place and grade, with a total and whether the plan fixed the place."""
    grid = allocation.pivot_table(index=["lad_code", "lad_name"], columns="grade",
                                  values="posts", aggfunc="sum", fill_value=0)
    grid = grid[[g for g in LADDER if g in grid.columns]
                + [g for g in grid.columns if g not in LADDER]]
    grid["Total"] = grid.sum(axis=1)
    fixed = set(fixed_places(plan, pkg))
    grid = grid.reset_index()
    grid.insert(2, "Fixed by the plan", ["yes" if c in fixed else "" for c in grid["lad_code"]])
    grid = grid.sort_values("Total", ascending=False).drop(columns="lad_code")
    return grid.rename(columns={"lad_name": "Place"}).reset_index(drop=True)


def edited_plan(base: Plan, total: int, k: int, weights: dict) -> Plan:
    """The plan with its posts scaled to ``total`` (grade mix kept, rounded per grade),
    ``k`` places and new weights.

    Raises
    ------
    PlacesimError
        If the edited plan is not valid.
    """
    doc = base.model_dump(mode="json")
    base_total = sum(p["count"] for p in doc["posts"])
    for p in doc["posts"]:
        p["count"] = int(round(p["count"] * total / base_total))
    doc["sites"]["k"] = int(k)
    doc["weights"] = {**doc["weights"], **weights}
    try:
        return Plan.model_validate(doc)
    except ValueError as e:
        raise PlacesimError(f"The plan as edited is not valid: {e}") from None


def rationale(plan: Plan, ranking: pd.DataFrame, allocation: pd.DataFrame, pkg=None) -> str:
    """A Markdown rationale: how places were chosen, then for each chosen place why (its
    strongest criteria, in words) and whether the plan fixed it."""
    fixed = set(_resolve_places(plan, pkg, plan.sites.fixed)) if pkg is not None else set()
    lines = [f"# Location plan: {plan.title or plan.name}", "",
             "Places outside London were scored on the criteria below (each from 0 to 1, "
             f"times its weight) and chosen by an optimiser: at most {plan.sites.k} places, "
             f"{'fixed: ' + ', '.join(plan.sites.fixed) if plan.sites.fixed else 'none fixed'}"
             f", at least {plan.sites.min_posts_per_grade} posts of each of "
             f"{', '.join(plan.sites.min_ladder)} at every chosen place.", "",
             "| Criterion | Weight | What it measures |", "|---|---|---|"]
    w = plan.weights.model_dump()
    for c, meaning in CRITERIA.items():
        lines.append(f"| {CRITERION_LABELS[c]} | {w[c]:g} | {meaning} |")
    lines.append("")
    if pkg is not None:
        lines += [explain_choice(plan, pkg, ranking, allocation), ""]
    r = ranking.set_index("lad_code")
    pool = None
    if pkg is not None:
        from .labour_pool import describe, labour_pool
        from .present import first_upper

        pool = labour_pool(pkg).set_index("lad_code")
    for lad, g in allocation.groupby("lad_code", sort=False):
        row = r.loc[lad]
        pts = sorted(((row[f"{c}_points"], c) for c in CRITERIA), reverse=True)
        top = [f"{CRITERION_LABELS[c].lower()} ({row[c]:.2f} × {w[c]:g} = {p:.2f} points)"
               for p, c in pts[:3] if p > 0]
        mix = ", ".join(f"{gr} {n}" for gr, n in zip(g["grade"], g["posts"], strict=True))
        why = ("Fixed by the plan: always included. Its strongest criteria: " if lad in fixed
               else "Chosen because of: ")
        lines += [f"## {row['lad_name']} ({lad}): rank {int(row['rank'])}, score "
                  f"{row['score']:.2f}", "",
                  f"Posts: {int(g['posts'].sum()):,} ({mix}).", "",
                  why + ("; ".join(top) if top else "room for the posts and the minimum "
                                                     "ladder") + ".", ""]
        if pool is not None and lad in pool.index:
            lines += [first_upper(describe(pool.loc[lad])) + ".", ""]
    return "\n".join(lines)


def run_plan(plan_path: str | Path, out: str | Path, pkg=None) -> dict[str, Path]:
    """Score, allocate and write ranking, allocation, rationale and the generated scenario.

    Returns
    -------
    dict
        Paths written, by kind.
    """
    from .geodata import load_data_package
    from .results import write_csv, write_text
    from .scenario import check_against_data, load_scenario_text

    plan_path = Path(plan_path)
    plan = load_plan(plan_path)
    if pkg is None:
        data = None if plan.data is None else (plan_path.parent / plan.data)
        pkg = load_data_package(data)
    out = Path(out)
    ranking = score_districts(plan, pkg)
    alloc = allocate(plan, pkg, ranking)
    paths = {"ranking": out / "ranking.csv", "allocation": out / "allocation.csv",
             "rationale": out / "rationale.md", "scenario": out / f"{plan.name}.yaml"}
    text = allocation_scenario(plan, alloc, plan_dir=plan_path.parent, out_dir=out,
                               start_year=getattr(pkg, "year", None), pkg=pkg)
    # the scenario must run on the plan's data (its base's history and sites included)
    out.mkdir(parents=True, exist_ok=True)  # (extends: is found through it)
    check_against_data(load_scenario_text(text, filename=str(paths["scenario"]),
                                          base_dir=out), pkg)
    write_csv(ranking, paths["ranking"])
    write_csv(alloc, paths["allocation"])
    write_text(rationale(plan, ranking, alloc, pkg), paths["rationale"])
    write_text(text, paths["scenario"])
    return paths


# --- target seeking: "what would it take?" ------------------------------------------------------
#
# Which optimiser, and why: the expected-value mode answers a full-size scenario in about two
# seconds, too slow for a derivative-free search (CMA-ES or Bayesian optimisation need
# hundreds of runs), while the indicators a target names respond almost linearly to the
# number of posts moved. So the planner *linearises* each target around the base scenario
# with one expected run per kind of post (a finite difference), and solves the cheapest plan
# as a mixed-integer programme with HiGHS (scipy.optimize.milp, already a dependency): posts
# of each kind to each campus, within its spare desks and the budget, meeting every target.
# It then runs the plan in expected mode and, where a target is missed or the plan's simulated
# cost is over the budget (neither is exactly linear: double running starts once a campus's
# desks are full), re-solves with the slope and the cost per post measured between the base
# and the plan (a secant step), at most three times; a plan is feasible only if its own run
# meets every target within the budget. A stochastic confirmation reports the share of
# replications meeting each target.

TARGET_RE = (r"^\s*([a-z0-9_]+)(?::([A-Za-z0-9_:|.-]+))?\s*(>=|<=)\s*([-+0-9.eE]+)(%?)"
             r"\s*@\s*(\d{4})\s*$")

#: Kinds of post the planner can move: (name, grades). Each becomes one recreating wave.
POST_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("scs", ("SCS1", "SCS2")),
    ("g7-g6", ("G7", "G6")),
    ("eo-seo", ("EO", "HEO", "SEO")),
)


class TargetError(PlacesimError):
    """A target, budget or option the planner cannot use; the message names the field."""


class Target(BaseModel):
    """``metric[:group] >= value @ year`` (or ``<=``)."""

    model_config = ConfigDict(frozen=True)
    metric: str
    group: str = "all"
    op: Literal[">=", "<="]
    value: float
    year: int

    @property
    def text(self) -> str:
        g = "" if self.group == "all" else f":{self.group}"
        return f"{self.metric}{g}{self.op}{self.value:g}@{self.year}"

    @property
    def goal(self) -> float:
        """The value the model's measure must reach to meet the target: the target's, plus
        what the measure reads above the one the target is tracked on, for a floor on the
        whole service (:data:`placesim.metrics.READS_HIGH_BY`; as the targets table judges:
        the planner called a 50.0% SCS share met where the brief of the same plan said
        "uncertain: within the 4.2 points"; review)."""
        from .metrics import READS_HIGH_BY

        high = READS_HIGH_BY.get(self.metric, 0.0) if (
            self.op == ">=" and self.group == "all") else 0.0
        return self.value + high

    def met(self, v: float) -> bool:
        """Whether ``v`` (the model's measure) meets the target (see :attr:`goal`)."""
        return bool(np.isfinite(v)) and (v >= self.goal if self.op == ">=" else v <= self.goal)


def parse_target(text: str, metrics: pd.DataFrame | None = None,
                 years: tuple[int, int] | None = None) -> Target:
    """Parse ``metric[:group]>=value@year`` (a value may end in ``%``).

    Parameters
    ----------
    text : str
    metrics : pandas.DataFrame, optional
        A metrics table: the metric and group must be in it.
    years : (int, int), optional
        First and last year of the horizon: the year must be within it.

    Raises
    ------
    TargetError
        Naming the field (``--target``) and what is wrong.

    Examples
    --------
    >>> parse_target("scs_outside_london_share>=50%@2030").value
    0.5
    """
    import re

    from .present import measure, metric_pairs

    m = re.match(TARGET_RE, text or "")
    if not m:
        raise TargetError(f"--target {text!r}: write it as metric>=value@year, e.g. "
                          "scs_outside_london_share>=0.50@2030")
    metric, group, op, value, pct, year = m.groups()
    if group is not None and group.lower().startswith("dept:"):  # (a department's figure)
        code = group.split(":")[1].split("|")[0]
        raise TargetError(
            f"--target {text!r}: target seeking moves the whole Civil Service's posts, so it "
            f"cannot aim at one department's figure ({group}); write a plan file with "
            f"department: {code} (placesim plan PLAN.yaml --run moves that department's "
            "posts and reports its view)")
    try:
        v = float(value) / (100 if pct else 1)
    except ValueError:
        raise TargetError(f"--target {text!r}: {value!r} is not a number") from None
    t = Target(metric=metric, group=group or "all", op=op, value=v, year=int(year))
    if metrics is not None:
        have = metric_pairs(metrics)
        if t.metric not in set(metrics["metric"]):
            import difflib

            close = difflib.get_close_matches(t.metric, sorted(set(metrics["metric"])), n=3)
            raise TargetError(f"--target {text!r}: unknown metric {t.metric!r}" + (
                f" (did you mean {', '.join(close)}?)" if close else ""))
        if (t.metric, t.group) not in have:
            raise TargetError(f"--target {text!r}: metric {t.metric} has no group {t.group!r}")
    if measure(t.metric).unit in ("share", "chance") and not 0 <= t.value <= 1:
        raise TargetError(f"--target {text!r}: {t.metric} is a share, so the target must be "
                          f"between 0 and 100%, not {t.value:.0%}")
    if years is not None and not years[0] <= t.year <= years[1]:
        raise TargetError(f"--target {text!r}: year {t.year} is outside the horizon "
                          f"{years[0]}-{years[1]}")
    return t


def parse_budget(text: str | float | None) -> float | None:
    """A budget in GBP (``300e6``, ``300000000``); None for no budget.

    Raises
    ------
    TargetError
        Not a number, or negative (names ``--budget``).
    """
    if text is None:
        return None
    try:
        v = float(str(text).replace(",", "").replace("£", ""))
    except ValueError:
        raise TargetError(f"--budget {text!r}: not a number of pounds (e.g. 300e6)") from None
    if not np.isfinite(v) or v < 0:
        raise TargetError(f"--budget {text!r}: must be zero or more pounds")
    return v


class SeekResult(BaseModel):
    """What :func:`seek` found."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    feasible: bool
    explanation: str
    counts: dict = Field(default_factory=dict)  # (kind, site_id) -> posts, as "kind|site"
    achieved: dict = Field(default_factory=dict)  # target text -> expected value
    cost_gbp: float = 0.0
    npv_gbp: float = 0.0
    scenario_yaml: str = ""
    probability: dict = Field(default_factory=dict)  # target text -> share of replications
    evaluations: int = 0
    table: pd.DataFrame | None = None  # plan by site and kind, with labour-pool depth
    scenario: object = None  # the plan as a Scenario (the base with the plan's waves)
    results: object = None  # expected-mode Results of the plan ...
    base_results: object = None  # ... and of the base scenario


def _value_at(metrics: pd.DataFrame, t: Target) -> float:
    r = metrics[(metrics["metric"] == t.metric) & (metrics["group"] == t.group)
                & (metrics["year"] == t.year)]
    return float(r["mean"].iloc[0]) if len(r) else float("nan")


def _total(metrics: pd.DataFrame, metric: str) -> float:
    r = metrics[(metrics["metric"] == metric) & (metrics["group"] == "all")]
    return float(r["mean"].sum())


def _last(metrics: pd.DataFrame, metric: str) -> float:
    r = metrics[(metrics["metric"] == metric) & (metrics["group"] == "all")]
    return float(r.sort_values("year")["mean"].iloc[-1])


def campus_capacity(base, pkg, base_moves: pd.DataFrame,
                    year: int | None = None) -> pd.DataFrame:
    """Campuses with a known capacity and their spare desks after the base scenario's moves.

    A site's desks are taken only by waves naming it (a wave to its district does not wait
    for them), so only those waves' moves count as used. A site opening in a year (its
    ``opens_year`` in sites.csv or the base's ``sites:``; at 31 March of that year, the
    model's convention) holds nothing in that year's figures or before.

    Parameters
    ----------
    base : Scenario
    pkg : DataPackage
    base_moves : pandas.DataFrame
        The base scenario's ``moves`` (with ``wave``).
    year : int, optional
        Year the targets are read: a site not open before it has no spare desks.

    Returns
    -------
    pandas.DataFrame
        ``site_id, lad_code, lad_name, capacity, used, spare, opens_year, depth`` (depth:
        posts at G7 and above within a commute, :func:`placesim.labour_pool.labour_pool`;
        opens_year NaN when open from the start).
    """
    sites = pkg.sites.copy()
    cap = pd.to_numeric(sites["capacity"], errors="coerce")
    opens = pd.to_numeric(sites["opens_year"], errors="coerce") if "opens_year" in sites \
        else pd.Series(np.nan, index=sites.index)
    for sid, o in base.sites.items():
        if o.capacity is not None:
            cap[sites["site_id"] == sid] = o.capacity
        if o.opens_year is not None:
            opens[sites["site_id"] == sid] = o.opens_year
    sites["capacity"], sites["opens_year"] = cap, opens
    sites = sites[sites["capacity"].notna()].copy()
    naming: dict[str, set[str]] = {}
    for w in base.waves:
        for d in w.destinations:
            if d.site is not None:
                naming.setdefault(d.site, set()).add(w.name)
    moves = base_moves if len(base_moves) else pd.DataFrame(
        {"wave": [], "destination_lad_code": [], "posts": []})
    sites["used"] = [float(moves.loc[moves["wave"].isin(naming.get(sid, set()))
                                     & (moves["destination_lad_code"] == lad), "posts"].sum())
                     for sid, lad in zip(sites["site_id"], sites["lad_code"], strict=True)]
    sites["spare"] = np.floor(np.clip(sites["capacity"] - sites["used"], 0, None))
    if year is not None:
        sites.loc[sites["opens_year"] >= year, "spare"] = 0.0
    names = pkg.districts.set_index("lad_code")["lad_name"]
    sites["lad_name"] = sites["lad_code"].map(names)
    from .labour_pool import labour_pool

    pool = labour_pool(pkg).set_index("lad_code")["g7_plus_posts_within_commute"]
    sites["depth"] = sites["lad_code"].map(pool).fillna(0.0)
    return sites[["site_id", "lad_code", "lad_name", "capacity", "used", "spare", "opens_year",
                  "depth"]].reset_index(drop=True)


def _plan_scenario(base, counts: dict[tuple[str, str], int], year: int, spread: float,
                   name: str):
    """The base scenario with one recreating wave per kind of post."""
    from .scenario import Wave

    waves = list(base.waves)
    kinds = dict(POST_KINDS)
    for kind in kinds:
        per_site = {s: n for (k, s), n in counts.items() if k == kind and n > 0}
        total = sum(per_site.values())
        if not total:
            continue
        shares = {s: round(n / total, 6) for s, n in per_site.items()}
        top = max(shares, key=shares.get)
        shares[top] = round(shares[top] + 1 - sum(shares.values()), 6)
        waves.append(Wave.model_validate({
            "name": f"plan-{kind}", "year": year, "quarter": 1, "spread_years": spread,
            "posts": {"grades": list(kinds[kind])}, "count": int(total), "mode": "recreate",
            "origin": "london", "destinations": [{"site": s, "share": v}
                                                 for s, v in shares.items()]}))
    title = (f"{name}: the cheapest plan found, {sum(counts.values()):,} posts to campuses "
             f"from {year}")  # (it kept the base's title: "Baseline — ..."; review)
    return base.model_copy(update={"waves": tuple(waves), "name": name, "title": title})


def after_the_record(base) -> int:
    """The first year a plan can start in: the April after the base's recorded waves end
    (history's Places for Growth quarters run to June 2024, so 2025), and not before the
    horizon's second year. (Plans started in 2024, inside the record; review.)"""
    import math

    from .rules import wave_begins

    start = base.horizon.start_year
    ends = [start + wave_begins(w.year, w.quarter, start) + w.spread_years for w in base.waves
            if w.recorded]
    return max(start + 1, math.ceil(max(ends))) if ends else start + 1


def seek(base, targets: list[Target], pkg, *, budget: float | None = None,
         year: int | None = None, spread_years: float = 1.0, probe: int = 200,
         kinds: tuple[str, ...] | None = None, name: str = "plan-targets",
         max_rounds: int = 3, replications: int = 0) -> SeekResult:
    """The cheapest plan of recreating waves to campuses that meets every target.

    Parameters
    ----------
    base : Scenario
        What the plan adds to (e.g. the baseline).
    targets : list of Target
    pkg : DataPackage
    budget : float, optional
        Most the plan's costs may add up to over the horizon (GBP, undiscounted).
    year : int, optional
        Year the plan's waves start (default: :func:`after_the_record`).
    spread_years : float
        Years over which each wave's posts move.
    probe : int
        Posts of each kind moved in the probing runs (finite differences).
    kinds : tuple of str, optional
        Names from :data:`POST_KINDS` the plan may move (default: all).
    name : str
        Name of the plan's scenario.
    max_rounds : int
        Most secant corrections after the first solve.
    replications : int
        Stochastic runs of the plan found (0: none). Each target is met in expected values;
        these say in what share of runs (``probability``) and warn, in the explanation,
        where the margin is smaller than the runs' spread.

    Returns
    -------
    SeekResult
        ``feasible`` only when the plan's simulated figures meet every target and its
        simulated cost is within the budget.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    from .simulation import simulate

    kinds = kinds or tuple(k for k, _ in POST_KINDS)
    start = base.horizon.start_year
    year = year or after_the_record(base)
    if not start < year < min(t.year for t in targets):  # (a year's figure is its March's)
        raise TargetError(f"--start-year: {year} is not within the horizon before the "
                          f"targets' first year, whose figure is of 31 March ({start + 1} to "
                          f"{min(t.year for t in targets) - 1})")
    runs = 0

    def run(s):
        nonlocal runs
        runs += 1
        return simulate(s, pkg, mode="expected")

    b = run(base)
    camp = campus_capacity(base, pkg, b.moves, year=min(t.year for t in targets))
    if camp.empty:
        return SeekResult(feasible=False, evaluations=runs, explanation=(
            "No campus has a known capacity: give one under the base scenario's sites: "
            "(e.g. sites: {darlington: {capacity: 2000}})."))
    if camp["spare"].sum() <= 0:
        return SeekResult(feasible=False, evaluations=runs, explanation=(
            "No campus has spare desks: every campus with a known capacity ("
            + ", ".join(camp["lad_name"]) + ") is full after the base scenario's moves, "
            "or opens too late for the targets' years."))
    london = _london_posts(pkg, dict(POST_KINDS))
    base_v = np.array([_value_at(b.metrics, t) for t in targets])
    base_cost, base_npv = _total(b.metrics, "cost_total_gbp"), _last(b.metrics, "npv_gbp")
    site0 = camp["site_id"].iloc[int(np.argmax(camp["spare"]))]
    slope = np.zeros((len(targets), len(kinds)))
    unit_cost = np.zeros(len(kinds))
    unit_loss = np.zeros(len(kinds))
    for j, k in enumerate(kinds):
        n = int(min(probe, london[k]))
        r = run(_plan_scenario(base, {(k, site0): n}, year, spread_years, name))
        slope[:, j] = (np.array([_value_at(r.metrics, t) for t in targets]) - base_v) / n
        unit_cost[j] = (_total(r.metrics, "cost_total_gbp") - base_cost) / n
        unit_loss[j] = -(_last(r.metrics, "npv_gbp") - base_npv) / n
    need = np.array([t.goal for t in targets]) - base_v
    counts, why = _solve(targets, kinds, slope, need, unit_cost, unit_loss, camp, london,
                         budget, milp, LinearConstraint, Bounds)
    if counts is None:
        return SeekResult(feasible=False, explanation=why + _unsized_words(pkg, camp),
                          evaluations=runs,
                          achieved={t.text: float(v) for t, v in zip(targets, base_v,
                                                                     strict=True)})

    def within(c: float) -> bool:
        return budget is None or c <= budget

    for rnd in range(max_rounds + 1):
        s = _plan_scenario(base, counts, year, spread_years, name)
        r = run(s)
        got = np.array([_value_at(r.metrics, t) for t in targets])
        cost = _total(r.metrics, "cost_total_gbp") - base_cost
        if all(t.met(v) for t, v in zip(targets, got, strict=True)) and within(cost):
            break
        if rnd == max_rounds:
            break
        moved = np.array([sum(n for (k, _), n in counts.items() if k == kk) for kk in kinds],
                         float)
        for i in range(len(targets)):  # secant: the slope seen between base and plan
            total_effect = got[i] - base_v[i]
            fitted = slope[i] @ moved
            if abs(fitted) > 1e-12 and np.sign(total_effect) == np.sign(fitted):
                slope[i] *= total_effect / fitted
        # the cost per post too: costs are not linear in posts (double running starts once
        # a campus's desks are full), so the probe's cost per post can be far too low
        fitted_cost = unit_cost @ moved
        if fitted_cost > 0 and cost > 0:
            unit_cost *= cost / fitted_cost
        # aim a little past the target so the plan's own nonlinearity does not miss it
        counts2, why = _solve(targets, kinds, slope, need * 1.02, unit_cost, unit_loss, camp,
                              london, budget, milp, LinearConstraint, Bounds)
        if counts2 is None:
            if not within(cost):
                why = (f"The plan first found ({_counts_words(counts, camp)}) costs "
                       f"{_money(cost)} when simulated, {_money(cost - budget)} over the "
                       f"budget of {_money(budget)}; at its cost per post, " + why[0].lower()
                       + why[1:])
            return SeekResult(feasible=False, explanation=why, evaluations=runs,
                              cost_gbp=cost,
                              achieved={t.text: float(v) for t, v in zip(targets, got,
                                                                         strict=True)})
        counts = counts2
    from .labour_pool import describe

    site_names = dict(zip(camp["site_id"], camp["lad_name"], strict=True))

    def names_of(row) -> str:
        return str(site_names.get(row["site_id"], row["site_id"]))

    met = all(t.met(v) for t, v in zip(targets, got, strict=True))
    ok = met and within(cost)
    table = _plan_table(counts, camp, pkg)
    text = (f"The cheapest plan found moves {_counts_words(counts, camp)}; in expected values "
            + "; ".join(f"{t.metric} reaches {_fmt(t, v)} by {t.year} (target {t.op} "
                        f"{_fmt(t, t.value)}{_margin_words(t, v)})"
                        for t, v in zip(targets, got, strict=True))
            + f". It adds {_money(cost)} of costs over the horizon to the base scenario's."
            + "".join(f" {names_of(row)}: {describe(row)}." for _, row in table.iterrows()))
    if met and replications <= 0:
        text += (" The figures are expected values, the mean of runs with random variation: "
                 "a target met by a margin smaller than the runs' spread is missed in many "
                 "of them.")
    if not met:
        text = ("No plan within the campuses' spare desks and the budget was found to meet "
                "every target after correcting the linear estimate: " + text)
    elif not ok:
        text = (f"No plan was found within the budget: the plan below costs {_money(cost)} "
                f"when simulated, {_money(cost - budget)} over the budget of "
                f"{_money(budget)}. " + text)
    prob = {}
    if ok and replications > 0:
        prob, warn = replicated(s, targets, pkg, replications, got)
        text += warn
    return SeekResult(
        feasible=ok, explanation=text, evaluations=runs,
        counts={f"{k}|{s}": int(n) for (k, s), n in counts.items() if n},
        achieved={t.text: float(v) for t, v in zip(targets, got, strict=True)},
        cost_gbp=cost, npv_gbp=_last(r.metrics, "npv_gbp") - base_npv, table=table,
        scenario=s, results=r, base_results=b, probability=prob)


def _margin_words(t: Target, v: float) -> str:
    """``; margin 0.4 points`` when ``v`` meets ``t`` (empty otherwise)."""
    from .present import fmt_diff

    if not t.met(v):
        return _goal_words(t)
    if v == t.goal:  # (it read "margin no change"; review)
        return "; met exactly, no margin" + _goal_words(t)
    gap = fmt_diff(t.metric, abs(v - t.goal)).lstrip("+")
    if gap == "no change":  # (rounded away: 24,000.3 read "met exactly")
        gap = "too small to show"
    return "; margin " + gap + _goal_words(t)


def _goal_words(t: Target) -> str:
    """What the model's measure must pass, when more than the target's value (""
    otherwise)."""
    if t.goal == t.value:
        return ""
    return (f"; the model's measure must pass {_fmt(t, t.goal)}: it reads about "
            f"{100 * (t.goal - t.value):.1f} points above the programme's")


def replicated(scenario, targets: list[Target], pkg, replications: int,
               expected=None) -> tuple[dict[str, float], str]:
    """Share of stochastic runs meeting each target and, given the plan's ``expected``
    values, a warning for every target met in expected values by less than half the runs'
    P10-P90 spread (so often missed).

    Parameters
    ----------
    scenario : Scenario
        The plan.
    targets : list of Target
    pkg : DataPackage
    replications : int
    expected : sequence of float, optional
        Each target's expected value in the plan (default: no words, only the shares).

    Returns
    -------
    tuple
        ``{target text: share of runs}`` and the words (empty without ``expected``).
    """
    from .simulation import simulate

    res = simulate(scenario, pkg, replications=replications)
    prob, warn = {}, ""
    for i, t in enumerate(targets):
        v = _replication_values(res.replications, t)
        prob[t.text] = float(np.mean([t.met(x) for x in v])) if len(v) else float("nan")
        if not len(v) or expected is None:
            continue
        p10, p90 = np.percentile(v, [10, 90])
        if abs(expected[i] - t.goal) < (p90 - p10) / 2:
            warn += (f" Warning: {t.metric} meets its target in expected values by less than "
                     f"the spread of runs with random variation (P10 {_fmt(t, p10)} to P90 "
                     f"{_fmt(t, p90)} by {t.year}): it is met in only {prob[t.text]:.0%} of "
                     f"{replications} runs.")
        else:
            warn += f" {t.metric} meets its target in {prob[t.text]:.0%} of {replications} runs."
    return prob, warn


def _replication_values(reps: pd.DataFrame, t: Target) -> np.ndarray:
    return reps[(reps["metric"].astype(str) == t.metric) & (reps["group"].astype(str) == t.group)
                & (reps["year"] == t.year)]["value"].to_numpy(float)


def _fmt(t: Target, v: float) -> str:
    from .present import fmt_value

    return fmt_value(t.metric, v)


def _money(v: float) -> str:
    from .present import fmt_money

    return fmt_money(v)


def _counts_words(counts, camp) -> str:
    names = dict(zip(camp["site_id"], camp["lad_name"], strict=True))
    parts = [f"{n:,} {k.upper()} posts to {names.get(s, s)}"
             for (k, s), n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    return ", ".join(parts) or "no posts"


def _london_posts(pkg, kinds: dict) -> dict[str, int]:
    b = pkg.baseline_posts
    lon = set(pkg.districts.loc[pkg.districts["is_london"].astype(bool), "lad_code"])
    in_l = b[b["lad_code"].isin(lon)]
    return {k: int(in_l.loc[in_l["grade"].isin(g), "posts"].sum()) for k, g in kinds.items()}


def _solve(targets, kinds, slope, need, unit_cost, unit_loss, camp, london, budget, milp,
           LinearConstraint, Bounds):
    """Posts of each kind to each campus: the MILP, or None and the binding constraint."""
    nk, ns = len(kinds), len(camp)
    spare = camp["spare"].to_numpy(float)
    idx = lambda j, s: j * ns + s  # noqa: E731
    n = nk * ns
    rows, lo, hi = [], [], []
    for i, t in enumerate(targets):
        r = np.zeros(n)
        for j in range(nk):
            r[[idx(j, s) for s in range(ns)]] = slope[i, j]
        if t.op == ">=":
            rows.append(r), lo.append(need[i]), hi.append(np.inf)
        else:
            rows.append(r), lo.append(-np.inf), hi.append(need[i])
    for s in range(ns):
        r = np.zeros(n)
        r[[idx(j, s) for j in range(nk)]] = 1
        rows.append(r), lo.append(0), hi.append(spare[s])
    for j, k in enumerate(kinds):
        r = np.zeros(n)
        r[[idx(j, s) for s in range(ns)]] = 1
        rows.append(r), lo.append(0), hi.append(london[k])
    if budget is not None:
        r = np.repeat(unit_cost, ns)
        rows.append(r), lo.append(-np.inf), hi.append(budget)
    # cheapest in gross cost, then in value for money (lost NPV); between campuses that cost
    # the same, the deeper labour pool (G7 and above within a commute) first
    depth = camp["depth"].to_numpy(float) if "depth" in camp else spare
    c = np.repeat(unit_cost + 1e-3 * unit_loss, ns) + np.tile(1e-6 * (1 - depth / max(
        depth.max(), 1)), nk)
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi),
               integrality=np.ones(n), bounds=Bounds(np.zeros(n), np.full(n, np.inf)),
               options={"time_limit": 20})
    if res.status == 0 and res.x is not None:
        x = np.round(res.x).astype(int)
        return {(kinds[j], camp["site_id"].iloc[s]): int(x[idx(j, s)])
                for j in range(nk) for s in range(ns)}, ""
    return None, _binding(targets, kinds, slope, need, unit_cost, camp, london, budget)


def _unsized_words(pkg, camp) -> str:
    """The campuses a plan leaves out for want of a capacity figure, in words ("" if none):
    with only a few campuses sized in the shipped data, a target past their desks read as
    infeasible with no word of the others (review)."""
    sized = set(camp["site_id"])  # (those with a capacity, from the data or the base)
    left = [str(name) for sid, name in zip(pkg.sites["site_id"], pkg.sites["site_name"],
                                           strict=True) if sid not in sized]
    if not left:
        return ""
    return (f" Campuses with no capacity figure are left out ({', '.join(sorted(set(left)))}):"
            " give one under the base scenario's sites: (e.g. sites: {leeds: {capacity: "
            "2000}}) to plan with it.")


def _binding(targets, kinds, slope, need, unit_cost, camp, london, budget) -> str:
    """Which constraint makes the targets unreachable, in words. Its figures are the
    planner's straight-line estimates from its trial runs (each post's effect and cost as
    they were there), and say so: a run of that many posts gives other figures (the
    budget's 617 SCS posts took the share to 45.6%, where the estimate said 45.3%, and
    cost £36.5m of the £50m; review)."""
    spare = float(camp["spare"].sum())
    opens = camp["opens_year"] if "opens_year" in camp else pd.Series(np.nan, index=camp.index)
    where = ", ".join(f"{n} ({int(s):,} spare desks" + (
        f", opens in {int(o)}" if pd.notna(o) else "")
        + ")" for n, s, o in zip(camp["lad_name"], camp["spare"], opens, strict=True))
    out = []
    for i, t in enumerate(targets):
        sign = 1 if t.op == ">=" else -1
        best_j = int(np.argmax(sign * slope[i]))
        gain = sign * slope[i, best_j]
        if gain <= 0:
            out.append(f"moving posts to the campuses does not move {t.metric} towards "
                       f"{_fmt(t, t.value)}")
            continue
        # the most the desks allow: filled with the kinds of post that move it most, each
        # as far as London has them (the one kind that moved it most per post, SCS, stopped
        # at London's 4,239 SCS posts with 2,430 desks left: 27,488 roles where 29,918 could
        # move; review)
        left, total, moved = spare, 0.0, []
        for j in np.argsort(-sign * slope[i], kind="stable"):
            if sign * slope[i, j] <= 0 or left <= 0:
                break
            n = min(left, london[kinds[j]])
            total += sign * slope[i, j] * n
            left -= n
            moved.append(f"{int(n):,} {kinds[j].upper()}")
        reach = t.goal - need[i] + sign * total  # (base value + the gain)
        if sign * (reach - t.goal) < 0:
            out.append(f"campus capacity in {where} limits {t.metric} to about "
                       f"{_fmt(t, reach)} by {t.year} (target {t.op} {_fmt(t, t.value)}"
                       f"{_goal_words(t)}), "
                       f"moving {' and '.join(moved)} posts (a straight-line "
                       "estimate from the trial runs)")
            continue
        if budget is not None and unit_cost[best_j] > 0:  # (of the best kind, as London
            afford = budget / unit_cost[best_j]            # has them and desks allow)
            reach_b = t.goal - need[i] + sign * gain * min(spare, london[kinds[best_j]], afford)
            if sign * (reach_b - t.goal) < 0:
                out.append(f"the budget of {_money(budget)} pays for roughly "
                           f"{int(afford):,} {kinds[best_j].upper()} posts at the trial runs' "
                           f"cost per post, which would take {t.metric} to about "
                           f"{_fmt(t, reach_b)} by {t.year} (target {t.op} "
                           f"{_fmt(t, t.value)}{_goal_words(t)}; straight-line estimates from "
                           "the trial runs, "
                           "not a run of that plan)")
    if not out:
        out.append("the targets pull against each other within the campuses' spare desks"
                   + (" and the budget" if budget is not None else ""))
    return "No plan meets every target: " + "; ".join(out) + "."


def _plan_table(counts, camp, pkg) -> pd.DataFrame:
    from .labour_pool import labour_pool

    names = dict(zip(camp["site_id"], camp["lad_code"], strict=True))
    rows = {}
    for (k, s), n in counts.items():
        if n:
            rows.setdefault(s, {})[k] = n
    frame = pd.DataFrame([{"site_id": s, "lad_code": names[s], **v} for s, v in rows.items()])
    if frame.empty:
        return frame
    pool = labour_pool(pkg).set_index("lad_code")
    out = frame.join(pool, on="lad_code")
    return out.fillna({k: 0 for k, _ in POST_KINDS if k in out})


def plan_yaml(result: SeekResult, base, base_path: str | Path, out_dir: str | Path,
              targets: list[Target], budget: float | None = None) -> str:
    """The plan as a scenario file that ``extends:`` the base (path relative to ``out_dir``)
    and adds the plan's waves."""
    import os
    import textwrap

    from .scenario import document_text

    plan = result.scenario
    rel = os.path.relpath(Path(base_path).resolve(), Path(out_dir).resolve())
    waves = [w.model_dump(mode="json", exclude_defaults=True) for w in plan.waves[len(
        base.waves):]]
    body = document_text({"title": plan.title, "waves": waves})
    about = f"Targets: {'; '.join(t.text for t in targets)}" + (
        f"; budget £{budget:,.0f}." if budget is not None else ".")
    notes = "\n".join("# " + line for line in textwrap.wrap(
        f"Generated by placesim's target seeking. {about} {result.explanation}", 96))
    return (f"{notes}\nname: {plan.name}\nextends: {rel}\n{body}")


def confirm(scenario, targets: list[Target], pkg, replications: int = 20) -> dict[str, float]:
    """Share of stochastic replications in which each target is met (:func:`replicated`)."""
    return replicated(scenario, targets, pkg, replications)[0]
