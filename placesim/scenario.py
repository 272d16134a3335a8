"""Scenario files: a pydantic schema, YAML loading with line numbers, and ``extends:``.

A scenario says what to move, when and where, which levers are on, and which parameters are
overridden. Files are read with a safe YAML loader only; every problem is reported as
``file:line: field: message`` (all problems at once), never a traceback. ``extends:`` inherits
from another scenario: mappings merge key by key, the child winning; ``waves`` merge by wave
name (a child wave with a parent's name replaces it, new names are appended); other lists are
replaced. When a ``root`` is given (the app hosting uploads), ``extends:`` and ``data:`` must
stay inside it (or the shipped data folder).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import Problem, ScenarioError
from .grades import GRADES

GradeName = Literal["AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "PS"]
SebName = Literal["high", "intermediate", "low"]
MAX_BYTES = 256 * 1024
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "geodata"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Horizon(_Model):
    """When the simulation starts and how long it runs."""

    start_year: int = Field(2023, ge=2000, le=2100, description="First year (the baseline is "
                            "Civil Service Statistics at 31 March 2023)")
    years: int = Field(10, ge=1, le=50, description="Number of years simulated")


class ColdspotRule(_Model):
    """Which districts count as social-mobility coldspots."""

    rule: Literal["smc2025", "opportunity_areas", "csv"] = Field(
        "smc2025", description="smc2025: SMC State of the Nation 2025 composite index "
        "category; opportunity_areas: the 12 DfE Opportunity Areas; csv: your own list")
    index: Literal["ci1", "ci2", "ci3", "ci4"] = Field(
        "ci1", description="SMC index for smc2025: ci1 conditions of childhood, ci2 labour "
        "market outcomes, ci3 innovation and growth, ci4 promising prospects")
    categories: tuple[str, ...] = Field(("most unfavourable", "unfavourable"),
                                        description="SMC categories that count as coldspots")
    csv: str | None = Field(None, description="CSV with a lad_code column (rule csv)")


class PostSelector(_Model):
    """Which posts a wave moves."""

    grades: tuple[GradeName, ...] = Field(min_length=1, description="Grades of the posts")
    profession: Literal["any", "policy", "other"] = Field("any", description="Profession")
    role: Literal["any", "standard", "private_office"] = Field(
        "any", description="Role type (private office posts are accelerator roles)")
    department: str | None = Field(None, description="Label only: the shipped data has no "
                                   "department split")


class Destination(_Model):
    """Where a share of a wave's posts goes: a site, a district, or coldspots."""

    site: str | None = Field(None, description="Site id (see `placesim data`)")
    district: str | None = Field(None, description="LAD 2023 code")
    coldspots: bool = Field(False, description="Spread evenly over coldspot districts")
    share: float = Field(gt=0, le=1, description="Share of the wave's posts")

    @model_validator(mode="after")
    def _one_target(self):
        n = (self.site is not None) + (self.district is not None) + bool(self.coldspots)
        if n != 1:
            raise ValueError("give exactly one of site, district or coldspots: true")
        return self


class Acceptance(_Model):
    """What incumbents do when their post moves."""

    base: float = Field(0.2, ge=0, le=1, description="Share of incumbents who move with their "
                        "post. Source: IfG 2023, about 20% of Darlington Economic Campus staff "
                        "relocated from London (anchors: ONS Newport ~10%, BBC Salford 38%)")
    by_grade: dict[GradeName, float] = Field(default_factory=dict,
                                             description="Acceptance by grade (overrides base)")
    high_seb_multiplier: float = Field(1.0, ge=0, description="ASSUMPTION: relative "
                                       "acceptance of high-SEB incumbents")
    per_100km_multiplier: float = Field(0.9, gt=0, le=1, description="ASSUMPTION: acceptance "
                                        "falls by this factor per 100 km moved")
    redeploy_share: float = Field(0.5, ge=0, le=1, description="ASSUMPTION: of those not "
                                  "moving, the share redeployed to a vacancy nearby (the rest "
                                  "leave)")

    @field_validator("by_grade")
    @classmethod
    def _unit(cls, v):
        for g, x in v.items():
            if not 0 <= x <= 1:
                raise ValueError(f"{g}: acceptance must be between 0 and 1")
        return v


class Wave(_Model):
    """A relocation wave: which posts move, how many, from where, to where, and when."""

    name: str = Field(min_length=1, description="Unique name (child scenarios merge by it)")
    year: int = Field(description="Year the wave starts")
    quarter: int = Field(1, ge=1, le=4, description="Quarter of the year it starts")
    spread_years: float = Field(0, ge=0, description="Moves spread evenly over this many years")
    posts: PostSelector
    count: int | None = Field(None, ge=0, description="Number of posts to move")
    share: float | None = Field(None, ge=0, le=1, description="Share of matching posts to move")
    origin: Literal["london"] | tuple[str, ...] = Field(
        "london", description="'london' or a list of LAD 2023 codes")
    destinations: tuple[Destination, ...] = Field(min_length=1)
    incumbents: Acceptance = Acceptance()
    backfill: Literal["local", "anywhere"] = Field(
        "local", description="local: fill vacated posts through the local vacancy chain; "
        "anywhere: recruit from the national labour market ('hiring from anywhere')")
    relocation_support_gbp: float = Field(0, ge=0, description="Extra support per mover (£)")

    @model_validator(mode="after")
    def _count_or_share(self):
        if (self.count is None) == (self.share is None):
            raise ValueError("give exactly one of count or share")
        total = sum(d.share for d in self.destinations)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"destination shares must sum to 1 (they sum to {total:g})")
        return self


class LeverWindow(_Model):
    """When a lever is on (inclusive years)."""

    start_year: int = Field(description="First year the lever is on")
    end_year: int | None = Field(None, description="Last year (default: to the horizon)")

    @model_validator(mode="after")
    def _order(self):
        if self.end_year is not None and self.end_year < self.start_year:
            raise ValueError("end_year must not be before start_year")
        return self


class LondonRecruitmentFreeze(LeverWindow):
    """External recruitment to London posts is blocked (vacancies stay empty)."""

    share_blocked: float = Field(1.0, ge=0, le=1, description="Share of London external hires "
                                 "blocked")
    grades: tuple[GradeName, ...] = Field(GRADES, description="Grades frozen")


class Mentoring(LeverWindow):
    """Mentoring for lower-SEB staff (SMC action point 7; MoJ Catapult, HMRC Stride)."""

    coverage: float = Field(0.2, ge=0, le=1, description="Share of eligible low-SEB staff "
                            "mentored")
    promotion_multiplier: float = Field(1.3, ge=1, description="ASSUMPTION anchored on MoJ "
                                        "Catapult: a third of mentees promoted or moved "
                                        "laterally within a year, no control group (an upper "
                                        "bound)")
    grades: tuple[GradeName, ...] = Field(("AO", "EO", "HEO", "SEO", "G7"))


class LondonPostings(LeverWindow):
    """Short London postings in accelerator roles for regional staff (SMC 8.4, FCDO-style)."""

    places_per_year: int = Field(200, ge=0)
    months: Literal[6, 12] = 12
    grades: tuple[GradeName, ...] = Field(("HEO", "SEO", "G7"))
    promotion_multiplier: float = Field(1.5, ge=1, description="ASSUMPTION: accelerator-role "
                                        "experience raises later promotion chances (the "
                                        "engine's accelerator weight applies)")


class RelocationSupport(LeverWindow):
    """Financial support for moving (SMC 8.4: deposits, salary advances, packages)."""

    gbp_per_move: float = Field(10000, ge=0, description="Support per mover (£)")
    acceptance_multiplier: float = Field(1.5, ge=1, description="ASSUMPTION anchored on BBC "
                                         "Salford: 38% moved with generous packages vs ~20%")
    willingness_multiplier: float = Field(1.5, ge=1, description="ASSUMPTION: on willingness "
                                          "to move for a promotion")


class TalentSchemeRingFence(LeverWindow):
    """Ring-fenced places on accelerated development schemes."""

    places_per_year: int = Field(300, ge=0)
    low_seb_share: float = Field(0.5, ge=0, le=1)
    grades: tuple[GradeName, ...] = Field(("HEO", "SEO", "G7"))


class LowSebScsFlowTarget(LeverWindow):
    """A target low-SEB share of promotions into the SCS."""

    share: float = Field(0.3, ge=0, le=1)


class Levers(_Model):
    """Levers from the Social Mobility Commission's action plan."""

    london_recruitment_freeze: LondonRecruitmentFreeze | None = None
    mentoring: Mentoring | None = None
    london_postings: LondonPostings | None = None
    relocation_support: RelocationSupport | None = None
    talent_scheme_ring_fence: TalentSchemeRingFence | None = None
    low_seb_scs_flow_target: LowSebScsFlowTarget | None = None


class SiteOverride(_Model):
    """Change a site's capacity, opening year or theme."""

    capacity: int | None = Field(None, ge=0)
    opens_year: int | None = None
    theme: str | None = None


class Parameters(_Model):
    """Overrides of calibrated parameters (see `placesim params`)."""

    exit_rate: dict[GradeName, float] = Field(default_factory=dict,
                                              description="Annual leaving rate by grade")
    external_hire_share: dict[GradeName, float] = Field(
        default_factory=dict, description="Share of vacancies filled from outside by grade")
    seb_promotion_odds: dict[SebName, float] = Field(
        default_factory=dict, description="Multiplier on the calibrated promotion odds of an "
        "SEB class (1 = as calibrated)")
    relocation_willingness: dict[SebName, float] = Field(
        default_factory=dict, description="Relative willingness to relocate for promotion")
    london_promotion_advantage: float | None = Field(None, ge=0)

    @field_validator("exit_rate", "external_hire_share")
    @classmethod
    def _rates(cls, v):
        for k, x in v.items():
            if not 0 <= x <= 1:
                raise ValueError(f"{k}: must be between 0 and 1")
        return v

    @field_validator("seb_promotion_odds", "relocation_willingness")
    @classmethod
    def _nonneg(cls, v):
        for k, x in v.items():
            if x < 0:
                raise ValueError(f"{k}: must not be negative")
        return v


class Scenario(_Model):
    """A placesim scenario: what happens if these posts move to these places on this
    timetable, with these levers."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description="Short id")
    title: str = ""
    question: str = Field("", description="The question this scenario answers")
    extends: str | None = Field(None, description="Scenario file this one inherits from")
    horizon: Horizon = Horizon()
    step: Literal["quarter", "month"] = "quarter"
    data: str | None = Field(None, description="Data package folder (default: shipped data)")
    coldspots: ColdspotRule = ColdspotRule()
    waves: tuple[Wave, ...] = ()
    levers: Levers = Levers()
    sites: dict[str, SiteOverride] = Field(default_factory=dict)
    parameters: Parameters = Parameters()
    seed: int = Field(20230331, ge=0, description="Random seed (same seed across scenarios "
                      "gives common random numbers)")
    replications: int = Field(20, ge=1, le=10000)

    _source: str | None = PrivateAttr(default=None)
    _lines: dict = PrivateAttr(default_factory=dict)
    _base_dir: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_waves(self):
        names = [w.name for w in self.waves]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"wave names must be unique: {', '.join(sorted(dup))}")
        return self

    def hash(self) -> str:
        """Short content hash of the resolved scenario (provenance, caching)."""
        doc = self.model_dump(mode="json", exclude={"extends"})
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def steps_per_year(self) -> int:
        """4 for quarterly steps, 12 for monthly."""
        return 4 if self.step == "quarter" else 12

    @property
    def source_file(self) -> str | None:
        """The file the scenario was loaded from, if any."""
        return self._source


# --- YAML with line numbers -------------------------------------------------------------

def _line_map_and_doc(text: str, filename: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely; return the document and a map from key path to line number."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ScenarioError([Problem(filename, None, "file",
                                     f"larger than {MAX_BYTES // 1024} KB")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - SafeLoader
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = None if mark is None else mark.line + 1
        msg = getattr(e, "problem", None) or str(e)
        raise ScenarioError([Problem(filename, line, "yaml", f"malformed YAML: {msg}")]) from e
    lines: dict[tuple, int] = {}

    def walk(n, path):
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                p = path + (k.value,)
                lines[p] = k.start_mark.line + 1
                walk(v, p)
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                p = path + (i,)
                lines[p] = v.start_mark.line + 1
                walk(v, p)

    if node is not None:
        walk(node, ())
    return doc, lines


def _merge(parent: Any, child: Any, key: str | None = None) -> Any:
    if isinstance(parent, dict) and isinstance(child, dict):
        out = dict(parent)
        for k, v in child.items():
            out[k] = _merge(parent[k], v, k) if k in parent else v
        return out
    if key == "waves" and isinstance(parent, list) and isinstance(child, list):
        by_name = {w.get("name"): w for w in child if isinstance(w, dict)}
        merged = [by_name.pop(w.get("name")) if isinstance(w, dict) and w.get("name") in by_name
                  else w for w in parent]
        return merged + [w for w in child if not isinstance(w, dict)
                         or w.get("name") in by_name]
    return child


def _confined(path: Path, roots: list[Path]) -> bool:
    rp = path.resolve()
    return any(rp == r.resolve() or r.resolve() in rp.parents for r in roots)


def _friendly(err: dict) -> str:
    t, msg = err.get("type", ""), err.get("msg", "")
    if t == "extra_forbidden":
        return "unknown key"
    if t in ("int_type", "int_parsing"):
        return "must be a whole number"
    if t in ("float_type", "float_parsing"):
        return "must be a number"
    if t == "missing":
        return "required"
    return msg.removeprefix("Value error, ")


def _allowed_keys(loc: tuple) -> str:
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        ann = field.annotation
        args = getattr(ann, "__args__", ()) or (ann,)
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)),
                     None)
        if model is None:
            return ""
    return ", ".join(getattr(model, "model_fields", {}))


def _resolve(text: str, filename: str, root: Path | None, base_dir: Path | None,
             seen: tuple[str, ...]) -> tuple[dict, dict[tuple, int]]:
    doc, lines = _line_map_and_doc(text, filename)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ScenarioError([Problem(filename, 1, "scenario", "the file must be a mapping of "
                                     "keys to values")])
    parent_ref = doc.get("extends")
    if parent_ref is None:
        return doc, lines
    if not isinstance(parent_ref, str):
        raise ScenarioError([Problem(filename, lines.get(("extends",)), "extends",
                                     "must be a file name")])
    base = base_dir or Path(".")
    ppath = (base / parent_ref)
    if root is not None and (Path(parent_ref).is_absolute() or not _confined(ppath, [root])):
        raise ScenarioError([Problem(filename, lines.get(("extends",)), "extends",
                                     "must name a scenario inside the scenarios folder")])
    key = str(ppath.resolve())
    if key in seen:
        raise ScenarioError([Problem(filename, lines.get(("extends",)), "extends",
                                     f"circular: {' -> '.join(Path(s).name for s in seen)} -> "
                                     f"{ppath.name}")])
    if not ppath.is_file():
        raise ScenarioError([Problem(filename, lines.get(("extends",)), "extends",
                                     f"no such scenario file: {parent_ref}")])
    pdoc, _ = _resolve(ppath.read_text(encoding="utf-8"), str(ppath), root, ppath.parent,
                       seen + (key,))
    merged = _merge(pdoc, doc)
    merged.pop("extends", None)
    merged["extends"] = parent_ref
    return merged, lines


def load_scenario_text(text: str, *, filename: str = "<upload>", root: Path | None = None,
                       base_dir: Path | None = None) -> Scenario:
    """Load a scenario from YAML text.

    Parameters
    ----------
    text : str
    filename : str
        Named in error messages.
    root : pathlib.Path, optional
        Confine ``extends:`` and ``data:`` to this folder (and the shipped data).
    base_dir : pathlib.Path, optional
        Folder relative paths are resolved against (default: ``root`` or the current one).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Every problem found, with file, line and field.
    """
    base_dir = base_dir or root
    seen = (str((Path(base_dir or ".") / Path(filename).name).resolve()),)
    doc, lines = _resolve(text, filename, root, base_dir, seen)
    data = doc.get("data")
    if root is not None and data is not None:
        dpath = Path(base_dir or ".") / str(data)
        if Path(str(data)).is_absolute() or not _confined(dpath, [root, SHIPPED_DATA]):
            raise ScenarioError([Problem(filename, lines.get(("data",)), "data",
                                         "must be a data package inside the scenarios or data "
                                         "folder")])
    try:
        s = Scenario.model_validate(doc)
    except ValidationError as e:
        probs = []
        for err in e.errors():
            loc = tuple(err["loc"])
            line = next((lines[loc[:i]] for i in range(len(loc), 0, -1) if loc[:i] in lines),
                        None)
            field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
            msg = _friendly(err)
            if err.get("type") == "extra_forbidden":
                allowed = _allowed_keys(loc)
                msg = f"unknown key {loc[-1]!r}" + (f" (allowed: {allowed})" if allowed else "")
            probs.append(Problem(filename, line, field or "scenario", msg))
        raise ScenarioError(probs) from None
    s._source = filename
    s._lines = lines
    s._base_dir = str(base_dir) if base_dir else None
    return s


def load_scenario(path: str | Path, *, root: Path | None = None) -> Scenario:
    """Load a scenario file (see :func:`load_scenario_text`)."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(str(path), None, "file", "no such file")])
    if path.stat().st_size > MAX_BYTES:
        raise ScenarioError([Problem(str(path), None, "file",
                                     f"larger than {MAX_BYTES // 1024} KB")])
    return load_scenario_text(path.read_text(encoding="utf-8"), filename=str(path), root=root,
                              base_dir=path.parent)


def resolve_data_path(scenario: Scenario) -> Path | None:
    """Absolute path of the scenario's data package, or None for the shipped one."""
    if scenario.data is None:
        return None
    base = Path(getattr(scenario, "_base_dir", None) or ".")
    return (base / scenario.data).resolve()


def _line(s: Scenario, *path) -> int | None:
    lines = s._lines
    for i in range(len(path), 0, -1):
        if tuple(path[:i]) in lines:
            return lines[tuple(path[:i])]
    return None


def check_against_data(scenario: Scenario, pkg) -> None:
    """Check a scenario against a data package: districts, sites, post counts, years.

    Raises
    ------
    ScenarioError
    """
    f = scenario.source_file or "<scenario>"
    codes = set(pkg.districts["lad_code"])
    sites = set(pkg.sites["site_id"])
    london = set(pkg.districts.loc[pkg.districts["is_london"], "lad_code"])
    probs: list[Problem] = []
    b = pkg.baseline_posts
    start, end = scenario.horizon.start_year, scenario.horizon.start_year + scenario.horizon.years
    for i, w in enumerate(scenario.waves):
        if not start <= w.year < end:
            probs.append(Problem(f, _line(scenario, "waves", i, "year"), f"waves[{i}].year",
                                 f"{w.year} is outside the horizon {start}-{end - 1}"))
        origin = london if w.origin == "london" else set(w.origin)
        if w.origin != "london":
            for j, c in enumerate(w.origin):
                if c not in codes:
                    probs.append(Problem(f, _line(scenario, "waves", i, "origin", j),
                                         f"waves[{i}].origin[{j}]", f"unknown district {c!r}"))
        for j, d in enumerate(w.destinations):
            if d.site is not None and d.site not in sites:
                probs.append(Problem(f, _line(scenario, "waves", i, "destinations", j, "site"),
                                     f"waves[{i}].destinations[{j}].site",
                                     f"unknown site {d.site!r} (known: "
                                     f"{', '.join(sorted(sites))})"))
            if d.district is not None and d.district not in codes:
                probs.append(Problem(f, _line(scenario, "waves", i, "destinations", j,
                                              "district"),
                                     f"waves[{i}].destinations[{j}].district",
                                     f"unknown district {d.district!r}"))
        sel = b[b["lad_code"].isin(origin) & b["grade"].isin(w.posts.grades)]
        if w.posts.profession != "any":
            sel = sel[sel["profession"] == w.posts.profession]
        if w.posts.role != "any":
            sel = sel[sel["role"] == w.posts.role]
        available = int(sel["posts"].sum())
        if w.count is not None and w.count > available:
            probs.append(Problem(f, _line(scenario, "waves", i, "count"), f"waves[{i}].count",
                                 f"moves {w.count:,} posts but only {available:,} matching "
                                 "posts exist in its origin"))
    for sid in scenario.sites:
        if sid not in sites:
            probs.append(Problem(f, _line(scenario, "sites", sid), f"sites.{sid}",
                                 f"unknown site {sid!r}"))
    if probs:
        raise ScenarioError(probs)


def scenario_json_schema() -> dict:
    """The JSON Schema of scenario files (for editor autocompletion)."""
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "placesim scenario"
    return schema


def dump_scenario(scenario: Scenario) -> str:
    """The resolved scenario as YAML text (``extends`` dropped: it is already merged)."""
    doc = scenario.model_dump(mode="json", exclude={"extends"}, exclude_defaults=True)
    doc = {"name": scenario.name, **doc}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
