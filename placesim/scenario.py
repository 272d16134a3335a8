"""Scenario files: a pydantic schema, YAML loading with line numbers, and ``extends:``.

Why this module exists: a scenario is the only thing most users write. It says which posts
move, when and where, which Social Mobility Commission levers are on and which calibrated
parameters are overridden. Users write it by hand (or upload it to the app), so the loader
must be safe and its errors must be actionable:

* files are read with PyYAML's ``SafeLoader`` only, capped at 1 MB, with limits on nesting
  and alias expansion;
* every problem -- all of them at once, not only the first -- is reported as
  ``file:line: field: message`` through :class:`placesim.errors.ScenarioError`;
* ``extends:`` inherits from another scenario file: mappings merge key by key (the child
  wins); ``waves`` merge by wave name (a child wave with a parent's name replaces it, new
  names are appended); every other list is replaced;
* when a ``root`` is given (the app hosting uploads), ``extends:``, ``data:`` and
  ``coldspots.csv`` must stay inside it (``data:`` may also name the shipped data folder);
* the schema is exported as JSON Schema (:func:`scenario_json_schema`) with a description on
  every field, so editors can autocomplete and document scenario files.

Every default states its source, or says ``ASSUMPTION`` when no published figure exists.
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from .errors import MAX_SHOWN, Problem, ScenarioError
from .geodata import DEFAULT_SMC_INDEX, SHIPPED, SHIPPED_ROOT, site_key
from .grades import GRADE_ALIASES, GRADES, canonical_grade

GradeCode = Literal["AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "PS"]
assert get_args(GradeCode) == GRADES, "GradeCode must list grades.GRADES in order"
GradeName = Annotated[GradeCode, BeforeValidator(canonical_grade), WithJsonSchema({
    "type": "string", "enum": [*GRADES, *sorted({a.title() for a in GRADE_ALIASES})],
    "description": "A grade code, or an SCS title; in any case"})]
"""A grade code from :data:`placesim.grades.GRADES`, given in any case or by an SCS title
("Director" is SCS2: :data:`placesim.grades.GRADE_ALIASES`)."""
SiteId = Annotated[str, BeforeValidator(site_key)]
"""A site id from the data package's sites.csv, in any case (ids are lower case:
:func:`placesim.geodata.load_data_package`)."""


def _distinct_keys(canonical, what: str):
    """A check that no two keys of a mapping mean the same (``Director`` and ``SCS2``,
    ``Leeds`` and ``leeds``): read as one, the second silently replaced the first (review)."""
    def check(v):
        if isinstance(v, dict):
            seen: dict = {}
            for key in v:
                c = canonical(key)
                if c in seen:
                    raise ValueError(f"{what} {key!r} is given twice: {seen[c]!r} and {key!r} "
                                     f"are both {c}")
                seen[c] = key
        return v
    return BeforeValidator(check)


ByGrade = Annotated[dict[GradeName, float], _distinct_keys(canonical_grade, "grade")]
"""Values by grade, each grade once however it is named."""

SebName = Literal["high", "intermediate", "low"]
"""A socio-economic background class from :data:`placesim.grades.SEB_CLASSES`."""

MAX_BYTES = 1024 * 1024  # = the app's upload limit (server.maxUploadSize = 1 MB in .streamlit)
"""Largest scenario file accepted (bytes)."""
MAX_NODES = 50_000
"""Most YAML nodes walked in one file, counting alias expansions (guards "billion laughs")."""
MAX_DEPTH = 40
"""Deepest nesting accepted in a scenario file."""
SHIPPED_DATA = SHIPPED
"""The default data package shipped with placesim (``geodata/2023``)."""

_Where = dict[tuple, tuple[str, int]]  # key path -> (file, 1-based line)
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it (20 times faster, same safe constructors, a
nesting limit of its own), else PyYAML's."""
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's safe dumper where PyYAML has it (a scenario's text in 5 ms, not 17: each lever
edit in the app writes one), else PyYAML's."""


MAX_POSTS = 2_000_000
"""Bound on any count of posts or places (ASSUMPTION: about four times the 516,145 people of
the shipped ACSES 2023 baseline; anything larger is a typo, and would exhaust memory)."""
MIN_YEAR, MAX_YEAR = 2000, 2150
"""Bounds on any year: the horizon starts in 2000-2100 and lasts at most 50 years."""
MAX_MULTIPLIER = 100.0
"""Bound on any multiplier of odds or rates (ASSUMPTION: two orders of magnitude)."""
MAX_GBP = 1_000_000.0
"""Bound on any sum of money per person (ASSUMPTION: far above any relocation package)."""


class _Model(BaseModel):
    # every number finite: .inf and .nan are refused with the field's name and line
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


SEED_MAX = 2**64 - 1
"""The largest seed: the random streams' key holds 64 bits (:mod:`placesim.streams`)."""


def _ev(evidence: str, low: float | None = None, high: float | None = None) -> dict:
    """A field's evidence grade (see :data:`placesim.calibration.EVIDENCE`) and plausible
    range, as ``json_schema_extra``: read by ``placesim params``, never inferred from wording."""
    extra: dict = {"evidence": evidence}
    if low is not None:
        extra["range"] = (low, high)
    return extra


def _unit_values(v: dict, what: str = "must be between 0 and 1") -> dict:
    for k, x in v.items():
        if not 0 <= x <= 1:
            raise ValueError(f"{k}: {what} (got {x:g})")
    return v


def _distinct(v: tuple, what: str) -> tuple:
    """``v`` if nothing in it repeats: a repeated site would count its places twice, and a
    repeated grade is a slip the lever would hide."""
    dup = list(dict.fromkeys(x for x in v if v.count(x) > 1))
    if dup:
        raise ValueError(f"{', '.join(map(str, dup))} given more than once: name each "
                         f"{what} once")
    return v


def _shares_problem(shares: dict[str, float]) -> None:
    """Departments' shares of a wave's (or the history's) roles: each between 0 and 1, and
    at most 1 together (the departments not named take the rest)."""
    if any(not 0 <= v <= 1 for v in shares.values()):
        raise ValueError("department shares must be between 0 and 1")
    total = sum(shares.values())
    if total > 1 + 1e-6:
        raise ValueError(f"department shares must sum to at most 1 (they sum to {total:g})")


def _promotable(v: tuple) -> tuple:
    """Grades of a lever whose point is promotion: distinct, and not PS, the top grade, with
    no grade above it to be promoted into (the lever would do nothing for them)."""
    _distinct(v, "grade")
    if "PS" in v:
        raise ValueError("PS is the top grade, with no grade above it to be promoted into: "
                         "this lever raises promotion odds, so leave PS out")
    return v


Grades = Annotated[tuple[GradeName, ...], AfterValidator(lambda v: _distinct(v, "grade"))]
"""Grades of a lever, each once."""
PromotableGrades = Annotated[tuple[GradeName, ...], AfterValidator(_promotable)]
"""Grades of a lever whose point is promotion: each once, and not PS."""


class Horizon(_Model):
    """When the simulation starts and how long it runs."""

    start_year: int = Field(2023, ge=2000, le=2100, description=(
        "First simulated year. Default 2023: the baseline is Civil Service Statistics "
        "(ACSES) at 31 March 2023."))
    years: int = Field(10, ge=1, le=50, description=(
        "Number of years simulated. Default 10 (ASSUMPTION: long enough to see a "
        "relocation's effect on promotions into the SCS)."))


class ColdspotRule(_Model):
    """Which districts count as social-mobility coldspots."""

    rule: Literal["smc2025", "opportunity_areas", "csv"] = Field("smc2025", description=(
        "smc2025: a category of the Social Mobility Commission's State of the Nation 2025 "
        "composite indices (default); opportunity_areas: DfE's 12 Opportunity Areas; csv: "
        "your own list of districts (see csv)."))
    index: Literal["ci1", "ci2", "ci3", "ci4"] = Field(DEFAULT_SMC_INDEX, description=(
        "SMC index used by rule smc2025: ci1 conditions of childhood, ci2 labour market "
        "outcomes, ci3 innovation and growth, ci4 promising prospects (default: its two least "
        "favourable categories give 58 districts, close to the ~65 coldspots of earlier "
        "State of the Nation reports)."))
    categories: tuple[str, ...] = Field(("most unfavourable", "unfavourable"), description=(
        "SMC categories that count as coldspots (default: the two least favourable of "
        "SMC 2025's seven)."))
    csv: str | None = Field(None, description=(
        "CSV file with a lad_code column, used by rule csv (path relative to the scenario "
        "file)."))

    @model_validator(mode="after")
    def _csv_given(self):
        if self.rule == "csv" and not self.csv:
            raise ValueError("rule csv needs csv: the file listing coldspot districts")
        return self


def _department_codes(v):
    """``department:`` as given (a code or a list of codes): a tuple of codes, or None."""
    if v is None:
        return v
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list | tuple) or not v or not all(
            isinstance(x, str) and x.strip() for x in v):
        raise ValueError("must be a department code or a non-empty list of codes")
    return tuple(x.strip() for x in v)


DepartmentCodes = Annotated[tuple[str, ...] | None, BeforeValidator(_department_codes),
                            WithJsonSchema({"anyOf": [
                                {"type": "string", "minLength": 1},
                                {"type": "array", "items": {"type": "string", "minLength": 1},
                                 "minItems": 1},
                                {"type": "null"}]})]
"""``department:``: a code or a list of codes (None: every department)."""


class PostSelector(_Model):
    """Which posts a wave moves."""

    grades: Grades = Field(min_length=1, description=(
        "Grades of the posts that move (at least one; AA ... PS)."))
    profession: Literal["any", "policy", "other"] = Field("any", description=(
        "Profession of the posts: policy, other, or any (default)."))
    role: Literal["any", "standard", "private_office"] = Field("any", description=(
        "Role type: standard, private_office (accelerator roles), or any (default)."))
    department: DepartmentCodes = Field(None, description=(
        "Parent department(s) whose posts move: a code of the data package's "
        "departments.csv (e.g. HO, HMRC; see `placesim data`), or a list of codes. Default: "
        "every department. A wave's origin and destinations are its own, so a department's "
        "offices (origin: [LAD codes]) and sites (destinations) are the wave's."))


class Destination(_Model):
    """Where a share of a wave's posts goes: one site, one district, or the coldspots."""

    site: SiteId | None = Field(None, description=(
        "Site id from the data package's sites.csv (see `placesim data`)."))
    district: str | None = Field(None, description="Local authority district, LAD 2023 code.")
    coldspots: bool = Field(False, description=(
        "true: spread these posts evenly over the coldspot districts."))
    share: float = Field(gt=0, le=1, description=(
        "Share of the wave's posts going here; a wave's shares must sum to 1."))

    @model_validator(mode="after")
    def _one_target(self):
        n = (self.site is not None) + (self.district is not None) + bool(self.coldspots)
        if n != 1:
            raise ValueError("give exactly one of site, district or coldspots: true")
        return self


class Acceptance(_Model):
    """What incumbents do when their post moves."""

    base: float = Field(0.2, ge=0, le=1, json_schema_extra=_ev("published", 0.1, 0.38),
                        description=(
        "Share of incumbents who move with their post. Default 0.2, source: Institute for "
        "Government 2023, about 20% of Darlington Economic Campus staff relocated from "
        "London (anchors: ONS Newport about 10%, BBC Salford 38%)."))
    by_grade: ByGrade = Field(default_factory=dict, description=(
        "Acceptance by grade, overriding base for the grades named (each 0 to 1)."))
    high_seb_multiplier: float = Field(1.0, ge=0, le=MAX_MULTIPLIER,
                                       json_schema_extra=_ev("assumption", 0.8, 1.3),
                                       description=(
        "Relative acceptance of high-SEB incumbents. Default 1 (ASSUMPTION: no published "
        "difference)."))
    per_100km_multiplier: float = Field(0.9, gt=0, le=1,
                                        json_schema_extra=_ev("assumption", 0.7, 1.0),
                                        description=(
        "Acceptance is multiplied by this per 100 km moved. Default 0.9 (ASSUMPTION: "
        "acceptance falls by 10% per 100 km)."))
    redeploy_share: float = Field(0.5, ge=0, le=1, json_schema_extra=_ev("assumption", 0.2, 0.8),
                                  description=(
        "Of incumbents who do not move, the share redeployed to another London post; the "
        "rest leave. Default 0.5 (ASSUMPTION)."))

    @field_validator("by_grade")
    @classmethod
    def _unit(cls, v):
        return _unit_values(v, "acceptance must be between 0 and 1")


RETIRED_PARAMETERS = {
    "cost_leaver_gbp": "leavers are costed by the value-for-money appraisal's parts, "
                       "costs.redundancy_months_pay, costs.recruitment_gbp, "
                       "costs.vacancy_months and costs.vacancy_output_lost_share (see "
                       "`placesim params`)"}
"""Parameters placesim once had, and what to set instead (a close name's hint misled)."""

RELOCATE_ONLY = ("incumbents", "relocation_support_gbp", "backfill")
"""Wave fields only a relocating wave (``mode: relocate``) reads. (``backfill: anywhere`` on a
re-creating wave was accepted and changed none of 6,250 figures; review.)"""


class Wave(_Model):
    """A relocation wave: which posts move, how many, from where, to where and when."""

    name: str = Field(min_length=1, description=(
        "Unique name of the wave (a child scenario's wave with the same name replaces it)."))
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Year the wave starts. A wave given by count may start before the horizon: the part "
        "scheduled before the start is history, already in the data package, and only "
        "counted as roles moved."))
    quarter: int = Field(1, ge=1, le=4, description=(
        "Quarter of the year it starts (1-4): quarter 1 is April to June, after the census "
        "date (31 March) that starts the model's year; its moves show in the next year's "
        "record (year ending 31 March)."))
    spread_years: float = Field(0, ge=0, le=50, description=(
        "Moves are spread evenly over this many years from the start, ending within the "
        "horizon; 0 (default) moves them all at once."))
    posts: PostSelector = Field(description="Which posts move.")
    count: int | None = Field(None, ge=0, le=MAX_POSTS, description=(
        "Number of posts to move (give count or share, not both)."))
    share: float | None = Field(None, ge=0, le=1, description=(
        "Share of the matching posts in the origin to move when it starts (give count or "
        "share, not both); a re-creating wave opens at most that share of those at the "
        "start of the run."))
    origin: Literal["london"] | tuple[str, ...] = Field("london", description=(
        "Where the posts come from: 'london' (default, the 33 London boroughs) or a list of "
        "LAD 2023 codes."))
    destinations: tuple[Destination, ...] = Field(min_length=1, description=(
        "Where the posts go; shares must sum to 1."))
    incumbents: Acceptance = Field(Acceptance(), description=(
        "What incumbents do when their post moves (defaults: see each field)."))
    backfill: Literal["local", "anywhere"] = Field("local", description=(
        "relocate: how moved posts that arrive without their holder (who declined to move) "
        "are filled. local (default): through the local vacancy chain; anywhere: recruit "
        "from the national labour market."))
    relocation_support_gbp: float = Field(0, ge=0, le=MAX_GBP, description=(
        "Extra relocation support per mover, GBP (default 0: none beyond standard terms)."))
    mode: Literal["recreate", "relocate"] = Field("recreate", description=(
        "recreate (default; how Places for Growth mostly works): new posts open at the "
        "destinations and are filled through the vacancy chain and local recruitment, and "
        "as many matching posts in the origin close as they fall vacant; relocate: occupied "
        "posts move, their incumbents moving with them, being redeployed or leaving."))
    recorded: bool = Field(False, description=(
        "The wave is the record of moves already made (history.yaml's Places for Growth "
        "quarters), not a plan: a what-if edit that scales the waves (the app's slider) "
        "leaves it as recorded, and in the years of the fitted workforce trend its new "
        "posts count within the trend's growth (the record holds them), where a plan's act "
        "on top of it. Default false."))
    close_origin: bool = Field(True, description=(
        "recreate: close as many origin posts as open at the destinations (default); false "
        "counts new roles outside the origin without closing any (the workforce trend "
        "carries the origin's own change)."))
    close_by: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR, description=(
        "recreate: the year by whose start origin posts not yet closed by a vacancy are "
        "closed anyway, their holders made redundant, and after which the closures of later "
        "tranches close at the step after they are added (default: none; closures wait for "
        "vacancies)."))
    grade_mix: ByGrade | None = Field(None, description=(
        "recreate: shares of the new posts by grade (must sum to 1, grades among "
        "posts.grades); default: in proportion to the matching posts in the origin."))
    department_shares: dict[str, float] | None = Field(None, description=(
        "Departments' shares of the wave's roles as published (codes of the data package's "
        "departments.csv, summing to at most 1): the record of Places for Growth by "
        "department. The departments not named share the rest by their matching posts in "
        "the origin (the default for all). It decides only whose roles and new posts they "
        "are in the department view: the wave takes any department's posts (for a wave "
        "that takes only some departments' posts, use posts.department)."))

    @field_validator("origin", mode="before")
    @classmethod
    def _origin(cls, v):
        if isinstance(v, str):
            if v != "london":
                raise ValueError("must be 'london' or a list of LAD 2023 codes "
                                 f"(got {v!r}; write [{v}] for a single district)")
            return v
        if not isinstance(v, list | tuple) or not v or not all(isinstance(x, str) for x in v):
            raise ValueError("must be 'london' or a non-empty list of LAD 2023 codes")
        return tuple(v)

    @field_validator("destinations")
    @classmethod
    def _shares_sum_to_one(cls, v):
        # (a field's own check: reported beside other fields' problems, where the wave's
        # checks below run only once every field is valid)
        total = sum(d.share for d in v)
        if abs(total - 1) > 1e-6:
            raise ValueError(f"destination shares must sum to 1 (they sum to {total:g})")
        return v

    @model_validator(mode="after")
    def _count_or_share(self):
        if (self.count is None) == (self.share is None):
            raise ValueError("give exactly one of count or share")
        if self.mode == "recreate":  # (fields only a relocating wave reads: set, they did
            # nothing, and placesim params listed them as in force)
            dead = [f for f in RELOCATE_ONLY if f in self.model_fields_set
                    and getattr(self, f) != type(self).model_fields[f].default]
            if dead:
                raise ValueError(f"{' and '.join(dead)} applies only to mode: relocate (a "
                                 "re-created role's holder is not asked to move: its origin "
                                 "post closes when it falls vacant)")
        if self.department_shares is not None:
            if self.posts.department:
                raise ValueError("give department_shares or posts.department, not both: a "
                                 "wave that selects departments' posts moves only theirs")
            if self.mode != "recreate":
                raise ValueError("department_shares applies only to mode: recreate (a "
                                 "relocating wave's posts are the departments' whose they "
                                 "were)")
            _shares_problem(self.department_shares)
        if self.grade_mix is not None:
            if self.mode != "recreate":
                raise ValueError("grade_mix applies only to mode: recreate")
            extra = set(self.grade_mix) - set(self.posts.grades)
            if extra:
                raise ValueError(f"grade_mix names grades not in posts.grades: "
                                 f"{', '.join(sorted(extra))}")
            if any(not 0 <= v <= 1 for v in self.grade_mix.values()):
                raise ValueError("grade_mix shares must be between 0 and 1")
            mix = sum(self.grade_mix.values())
            if abs(mix - 1) > 1e-6:
                raise ValueError(f"grade_mix shares must sum to 1 (they sum to {mix:g})")
        return self


class LeverWindow(_Model):
    """When a lever is on (inclusive years).

    A lever year is a model year, as a wave's: year Y runs from April Y to March Y+1 and
    shows in the record labelled Y+1 (the year to 31 March), so a horizon from 2023 of ten
    years has lever years 2023-2032 and records 2024-2033.
    """

    start_year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description=(
        "First year the lever is on: year Y runs from April Y to March Y+1 and shows in the "
        "record labelled Y+1 (the year to 31 March), as a wave's year does."))
    end_year: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Last year the lever is on, inclusive: year Y runs from April Y to March Y+1, the "
        "record labelled Y+1 (default: to the end of the horizon)."))

    @model_validator(mode="after")
    def _order(self):
        if self.end_year is not None and self.end_year < self.start_year:
            raise ValueError("end_year must not be before start_year")
        return self


class DepartmentLever(LeverWindow):
    """A lever for some departments' staff only (``department:``)."""

    department: DepartmentCodes = Field(None, description=(
        "Parent department(s) whose staff the lever is for: a code of the data package's "
        "departments.csv (e.g. HO, HMRC; see `placesim data`), or a list of codes. Default: "
        "every department. People are not tracked by department, so in each grade and "
        "district the lever reaches the departments' share of the staff (of the hires, for a "
        "recruitment freeze or outreach; of the staff sent out, for secondments): their share "
        "of the posts there, as the data package gives them at the start and the scenario's waves "
        "move them (ASSUMPTION: a (grade, district)'s staff are spread over its departments "
        "as its posts are; see docs/architecture.md)."))


class LondonRecruitmentFreeze(DepartmentLever):
    """External recruitment to London posts is blocked (vacancies stay empty)."""

    share_blocked: float = Field(1.0, ge=0, le=1, json_schema_extra=_ev("scenario"),
                                 description=(
        "Share of external hires to London posts blocked (default 1: a full freeze)."))
    grades: Grades = Field(GRADES, min_length=1, description=(
        "Grades frozen (default: all grades)."))


class Mentoring(DepartmentLever):
    """Mentoring for lower-SEB staff (SMC action point 7; MoJ Catapult, HMRC Stride)."""

    coverage: float = Field(0.2, ge=0, le=1, json_schema_extra=_ev("scenario"), description=(
        "Share of low-SEB staff at the scheme's grades who are mentored (topped up each "
        "year). Default 0.2 (a scenario choice)."))
    promotion_multiplier: float = Field(1.3, ge=1, le=MAX_MULTIPLIER,
                                        json_schema_extra=_ev("assumption", 1.0, 1.5),
                                        description=(
        "Multiplier on a mentee's promotion odds. Default 1.3 (ASSUMPTION anchored on MoJ "
        "Catapult: a third of mentees were promoted or moved laterally within a year, with "
        "no control group -- an upper bound)."))
    grades: PromotableGrades = Field(("AO", "EO", "HEO", "SEO", "G7"), min_length=1,
                                          description=(
        "Grades eligible (default AO to G7, as in departmental schemes; not PS). A mentee "
        "promoted beyond them leaves the scheme."))


class LondonPostings(DepartmentLever):
    """Short London postings in accelerator roles for regional staff (SMC 8.4, FCDO-style).

    Each year, ``places_per_year`` people of the eligible grades working outside London
    spend ``months`` in a London private-office post (counted in London while there; their
    own post is held for them), then return; for about ``effect_years`` after they return
    their promotion odds are multiplied by ``promotion_multiplier``.
    """

    places_per_year: int = Field(200, ge=0, le=100_000, json_schema_extra=_ev("scenario"),
                                 description="Postings a year. Default 200 (a scenario choice).")
    months: Literal[6, 12] = Field(12, json_schema_extra=_ev("scenario"), description=(
        "Length of a posting, 6 or 12 months (default 12, FCDO-style)."))
    grades: PromotableGrades = Field(("HEO", "SEO", "G7"), min_length=1, description=(
        "Grades eligible (default HEO, SEO, G7: the feeder grades for accelerator roles; not "
        "PS)."))
    promotion_multiplier: float = Field(1.5, ge=1, le=10,
                                        json_schema_extra=_ev("assumption", 1.0, 2.0),
                                        description=(
        "Multiplier on a returnee's promotion odds. Default 1.5 (ASSUMPTION: "
        "accelerator-role experience raises later promotion chances; Friedman 2022, "
        "qualitative)."))
    effect_years: float = Field(2.0, gt=0, le=20, json_schema_extra=_ev("assumption", 1.0, 5.0),
                                description=(
        "Average years after returning during which the multiplier applies (the effect ends "
        "at a constant rate). Default 2 (ASSUMPTION)."))


class RelocationSupport(LeverWindow):
    """Financial support for moving (SMC 8.4: deposits, salary advances, packages)."""

    gbp_per_move: float = Field(10000, ge=0, le=1e6, json_schema_extra=_ev("scenario"),
                                description=(
        "Support per mover, GBP: the policy's own choice (a scenario setting, not a fact "
        "about the world). Default 10,000, an illustration, not a published figure. Paid to "
        "every incumbent who moves with their post and to every promotion across a "
        "labour-market area while the lever is on, including the moves that would have "
        "happened without it (the policy's deadweight, most of them in a run of PfG "
        "2027), so its cost counts them all."))
    acceptance_multiplier: float = Field(1.5, ge=1, le=10,
                                         json_schema_extra=_ev("assumption", 1.0, 2.0),
                                         description=(
        "Multiplier on incumbents' acceptance. Default 1.5 (ASSUMPTION anchored on BBC "
        "Salford: 38% moved with generous packages against about 20% typically)."))
    willingness_multiplier: float = Field(1.5, ge=1, le=10,
                                          json_schema_extra=_ev("assumption", 1.0, 2.0),
                                          description=(
        "Multiplier on willingness to move for a promotion that requires moving. Default "
        "1.5 (ASSUMPTION)."))


class TalentSchemeRingFence(DepartmentLever):
    """Ring-fenced places on accelerated development schemes.

    Each year ``places_per_year`` people of the eligible grades join the scheme, a share of
    the places reserved for low-SEB staff; members' promotion odds are multiplied by
    ``promotion_multiplier`` for about ``years`` (the scheme ends at a constant rate).
    """

    places_per_year: int = Field(300, ge=0, le=100_000, json_schema_extra=_ev("scenario"),
                                 description=(
        "Ring-fenced accelerated development places a year. Default 300 (a scenario "
        "choice)."))
    low_seb_share: float = Field(0.5, ge=0, le=1, json_schema_extra=_ev("scenario"),
                                 description=(
        "Share of the places reserved for low-SEB staff. Default 0.5 (a scenario choice)."))
    grades: PromotableGrades = Field(("HEO", "SEO", "G7"), min_length=1, description=(
        "Grades eligible (default HEO, SEO, G7; not PS)."))
    promotion_multiplier: float = Field(1.5, ge=1, le=10,
                                        json_schema_extra=_ev("assumption", 1.0, 2.0),
                                        description=(
        "Multiplier on a member's promotion odds while on the scheme. Default 1.5 "
        "(ASSUMPTION: no published promotion-rate evaluation of the Future Leaders or "
        "similar schemes, facts.md F)."))
    years: float = Field(2.0, gt=0, le=20, json_schema_extra=_ev("assumption", 1.0, 3.0),
                         description=(
        "Average years on the scheme. Default 2 (ASSUMPTION; the Future Leaders Scheme "
        "lasts 12 months, facts.md F, and its networks longer)."))


class LowSebScsFlowTarget(LeverWindow):
    """A target low-SEB share of promotions into the SCS."""

    share: float = Field(0.3, ge=0, lt=1, json_schema_extra=_ev("scenario"), description=(
        "Lowest low-SEB share of promotions into the SCS (SCS1): while the choice of "
        "candidates would give less, low-SEB candidates are weighted up to it. Below 1 (at 1 "
        "their weight would be infinite: the stochastic engine failed and the expected mode "
        "wrote NaN). Default 0.3 (a scenario choice near the low-SEB share of the UK working "
        "population)."))


class Places(_Model):
    """Where a lever applies: the union of some sites, some districts and the coldspots."""

    sites: tuple[SiteId, ...] = Field((), description=(
        "Site ids from the data package's sites.csv (see `placesim data`)."))
    districts: tuple[str, ...] = Field((), description="District (LAD) codes.")
    coldspots: bool = Field(False, description=(
        "The scenario's social mobility coldspots outside London."))

    @model_validator(mode="after")
    def _some(self):
        if not (self.sites or self.districts or self.coldspots):
            raise ValueError("give at least one of sites, districts or coldspots: true")
        return self


class RecruitmentOutreach(DepartmentLever):
    """Outreach that changes who joins (MoJ social mobility programme: 65,000 students
    engaged, over 1,000 work-experience placements, 1,250 ambassadors; Reimagine Challenge's
    ambassadors and feeder scheme; SMC action plan 9.4 and 9.9).

    While it is on, external recruits to the chosen grades at the chosen places come from a
    changed SEB mix: first moved ``towards_local_mix`` of the way to the local population's
    origin-class mix, then with ``low_seb_points`` added to the low-SEB share (taken from the
    other classes in proportion). Recruits through the vacancy chain only: posts a wave
    backfills "from anywhere" recruit from the national mix as before.
    """

    grades: Grades = Field(("EO", "HEO"), min_length=1, description=(
        "Grades whose entrants the outreach reaches (default EO and HEO, the grades of the "
        "MoJ and Reimagine schemes' entry routes)."))
    places: Places = Field(Places(coldspots=True), description=(
        "Where (default: the social mobility coldspots, SMC action point 9.4)."))
    low_seb_points: float = Field(0.05, ge=0, le=1,
                                  json_schema_extra=_ev("assumption", 0.0, 0.10),
                                  description=(
        "Share points added to the low-SEB share of entrants (0.05 = 5 points). Default 0.05 "
        "(ASSUMPTION: no published evaluation links outreach to entrants' backgrounds; the "
        "range spans no effect to the issue's 10-point question)."))
    towards_local_mix: float = Field(0.0, ge=0, le=1, json_schema_extra=_ev("scenario"),
                                     description=(
        "How far (0 to 1) entrants' SEB mix moves towards the local population's origin-class "
        "mix before the points are added. Default 0 (a scenario choice)."))
    cost_gbp_per_entrant: float = Field(500.0, ge=0, le=MAX_GBP,
                                        json_schema_extra=_ev("assumption", 0.0, 2000.0),
                                        description=(
        "Outreach cost per entrant it reaches, GBP. Default 500 (ASSUMPTION: no published "
        "cost per entrant for the MoJ or Reimagine programmes)."))


class Secondments(DepartmentLever):
    """Local-central government secondments at the thematic campuses (Cabinet Office, 2025:
    "piloted in Places for Growth thematic campuses in Darlington, Sheffield, Leeds and
    Manchester", reference 002).

    **Inbound**: each year ``inbound_per_site`` local-government staff (youth workers,
    social workers and other experts) join each site's teams for ``inbound_months``, in
    policy posts opened for them (counted in the site's posts, not in Civil Service
    headcount), their SEB drawn from the local population's origin-class mix; at the end a
    share ``conversion_share`` stay as permanent civil servants (the post becomes
    permanent), the rest go back and the post closes.
    **Outbound**: each year ``outbound_per_site`` civil servants of ``outbound_grades`` at
    each site (of ``department`` only, when given) spend ``outbound_months`` in a local
    authority: their post is held and covered temporarily (not a vacancy), they cannot be
    promoted while away, and for about ``effect_years`` after they return their promotion
    odds are multiplied by ``promotion_multiplier``.
    """

    sites: tuple[SiteId, ...] = Field(("darlington", "sheffield", "leeds", "manchester"),
                                   min_length=1, description=(
        "Site ids, each once (default the four pilot campuses: Darlington, Sheffield, Leeds, "
        "Manchester)."))
    inbound_per_site: int = Field(10, ge=0, le=100_000,
                                  json_schema_extra=_ev("assumption", 5, 25), description=(
        "Inbound secondees starting at each site each year. Default 10 (ASSUMPTION: the "
        "pilot's size is not published)."))
    inbound_grades: Grades = Field(("HEO", "SEO"), min_length=1,
                                                  json_schema_extra=_ev("assumption"),
                                                  description=(
        "Grades of the posts inbound secondees fill, places split evenly (default HEO and "
        "SEO: ASSUMPTION, experienced practitioners)."))
    inbound_months: int = Field(12, ge=1, le=60, json_schema_extra=_ev("assumption", 6, 24),
                                description=(
        "Length of an inbound secondment in months, a whole number of steps (a multiple of 3 "
        "with quarterly steps). Default 12 (ASSUMPTION; Civil Service secondments usually "
        "run up to two years)."))
    conversion_share: float = Field(0.1, ge=0, le=1,
                                    json_schema_extra=_ev("assumption", 0.0, 0.3),
                                    description=(
        "Share of inbound secondees who convert to a permanent post at the end. Default 0.1 "
        "(ASSUMPTION: no published conversion rate)."))
    outbound_per_site: int = Field(10, ge=0, le=100_000,
                                   json_schema_extra=_ev("assumption", 5, 25), description=(
        "Civil servants at each site going out to a local authority each year. Default 10 "
        "(ASSUMPTION)."))
    outbound_grades: PromotableGrades = Field(("HEO", "SEO", "G7"), min_length=1,
                                                   description=(
        "Grades eligible to go out (default HEO, SEO, G7; not PS: the point is their "
        "promotion on return)."))
    outbound_months: int = Field(12, ge=1, le=60, json_schema_extra=_ev("assumption", 6, 24),
                                 description=(
        "Length of an outbound secondment in months, a whole number of steps (a multiple of "
        "3 with quarterly steps). Default 12 (ASSUMPTION)."))
    promotion_multiplier: float = Field(1.2, ge=1, le=10,
                                        json_schema_extra=_ev("assumption", 1.0, 1.5),
                                        description=(
        "Multiplier on a returner's promotion odds. Default 1.2 (ASSUMPTION: below the "
        "London postings' 1.5, as local-authority experience is less directly valued for "
        "promotion in departments; no evaluation published)."))
    effect_years: float = Field(2.0, gt=0, le=20, json_schema_extra=_ev("assumption", 1.0, 5.0),
                                description=(
        "Average years after returning during which the multiplier applies (the effect ends "
        "at a constant rate). Default 2 (ASSUMPTION)."))

    @field_validator("sites")
    @classmethod
    def _sites(cls, v):
        return _distinct(v, "site")


class Levers(_Model):
    """Levers from the Social Mobility Commission's action plan (all off by default)."""

    london_recruitment_freeze: LondonRecruitmentFreeze | None = Field(None, description=(
        "Block external recruitment to London posts."))
    mentoring: Mentoring | None = Field(None, description="Mentoring for low-SEB staff.")
    london_postings: LondonPostings | None = Field(None, description=(
        "Short London postings in accelerator roles for regional staff."))
    relocation_support: RelocationSupport | None = Field(None, description=(
        "Financial support for moving."))
    talent_scheme_ring_fence: TalentSchemeRingFence | None = Field(None, description=(
        "Ring-fenced accelerated development places."))
    low_seb_scs_flow_target: LowSebScsFlowTarget | None = Field(None, description=(
        "Target low-SEB share of promotions into the SCS."))
    recruitment_outreach: RecruitmentOutreach | None = Field(None, description=(
        "Outreach that changes the SEB mix of entrants to chosen grades and places."))
    secondments: Secondments | None = Field(None, description=(
        "Local-central government secondments at chosen sites, inbound and outbound."))


TREND_UNTIL = 2022
"""The last year the workforce trend applies when a scenario does not say (the year before
the last shipped package: growth to March 2023)."""


class WorkforcePath(_Model):
    """A change in the number of posts: growth, or cuts that close posts as they fall
    vacant (with redundancy only as a fallback, by a date)."""

    name: str = Field(min_length=1, description="Name of the change (unique).")
    grades: Grades = Field(GRADES, min_length=1, description=(
        "Grades whose posts change (default: all)."))
    place: Literal["all", "london", "outside_london"] | tuple[str, ...] = Field(
        "all", description=(
            "Where: all (default), london, outside_london, or a list of LAD 2023 codes."))
    change: int | None = Field(None, ge=-2_000_000, le=2_000_000, description=(
        "Posts added (positive) or removed (negative) in all, spread evenly over the "
        "years (give change or percent)."))
    percent: float | None = Field(None, ge=-100, le=500, description=(
        "Change in per cent of the selection's posts at the start (give change or "
        "percent)."))
    from_year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description="First year of the change.")
    to_year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Last year of the change (inclusive)."))
    close_by: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Cuts: the year by whose start posts not yet closed by a vacancy are closed anyway, "
        "their holders made redundant, and after which later cuts close at the step after "
        "they are due (default: none)."))

    @model_validator(mode="after")
    def _one_amount(self):
        if (self.change is None) == (self.percent is None):
            raise ValueError("give exactly one of change or percent")
        if self.to_year < self.from_year:
            raise ValueError("to_year must not be before from_year")
        return self

    @field_validator("place", mode="before")
    @classmethod
    def _place(cls, v):
        if isinstance(v, list):
            return tuple(v)
        return v


class Workforce(_Model):
    """How many posts there are over time (default: as at the start)."""

    trend: Literal["none", "acses"] = Field("none", description=(
        "none (default): posts change only by waves and paths; acses: posts by grade in and "
        "outside London follow the growth fitted to Civil Service Statistics 2021-2023 "
        "(see `placesim params`) up to trend_until; new roles the waves open in those years "
        "count towards it."))
    trend_years: tuple[int, ...] | None = Field(None, min_length=2, description=(
        "Census years (31 March) of the shipped packages the trend is fitted to, two or "
        "more (default: all, 2021-2023); a back-cast can leave out the year it predicts."))
    totals: Literal["trend", "record"] = Field("trend", description=(
        "trend (default): the national number of posts by grade follows the fitted trend "
        "too; record: in years the shipped data packages cover (a year to the next 31 "
        "March), it follows the record, the difference from the trend spread over places "
        "in proportion to their posts (history and back-casts: the trend says only where "
        "growth goes)."))
    trend_until: int | None = Field(None, description=(
        "Last year the fitted trend applies (default: the year before the last package, "
        "i.e. growth to March 2023)."))
    paths: tuple[WorkforcePath, ...] = Field((), description=(
        "Changes on top of the trend: growth, or cuts by closing posts as they fall vacant."))

    @property
    def trend_end(self) -> int:
        """The last year the trend applies: ``trend_until``, or :data:`TREND_UNTIL`."""
        return self.trend_until if self.trend_until is not None else TREND_UNTIL


class SiteOverride(_Model):
    """Change a site's capacity, opening year or theme."""

    capacity: int | None = Field(None, ge=0, le=MAX_POSTS, description=(
        "Posts the site can hold (default: from sites.csv)."))
    opens_year: int | None = Field(None, ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Year the site opens; posts cannot move there before (default: open now)."))
    theme: str | None = Field(None, description="Thematic label (default: from sites.csv).")


class Parameters(_Model):
    """Overrides of calibrated parameters (see `placesim params` for the defaults)."""

    exit_rate: ByGrade = Field(default_factory=dict, description=(
        "Annual rate of leaving the Civil Service by grade (0 to 1), overriding the "
        "calibrated ACSES 2023 rates."))
    # (kept to refuse it with a reason, left out of the JSON Schema: an editor offered a field
    # that is always refused)
    promotion_rate: SkipJsonSchema[ByGrade] = Field(
        default_factory=dict, exclude=True, description=(
        "Annual promotion rate from the named grade to the next (0 to 1). Not supported by "
        "this version: promotions are driven by vacancy chains, so give exit_rate or "
        "external_hire_share instead; must be left empty."))
    external_hire_share: ByGrade = Field(default_factory=dict, description=(
        "Share of vacancies at a grade filled from outside the Civil Service (0 to 1), "
        "overriding the ACSES 2023 calibration."))
    seb_promotion_odds: dict[SebName, float] = Field(default_factory=dict, description=(
        "Multiplier (0 or more) on the calibrated relative odds of promotion of an SEB "
        "class (1 = as calibrated)."))
    relocation_willingness: dict[SebName, float] = Field(default_factory=dict, description=(
        "Relative willingness (0 or more) of an SEB class to relocate for a promotion."))
    london_promotion_advantage: float | None = Field(None, ge=0, le=MAX_MULTIPLIER, description=(
        "Extra odds of promotion for London-based candidates (default: calibrated value)."))
    cross_area_share: ByGrade = Field(default_factory=dict, description=(
        "Share of promotions into a grade taken by someone from another labour-market "
        "area, in the baseline (0 to 1; see `placesim params`)."))
    lateral_share: float | None = Field(None, ge=0, le=1, description=(
        "Share of vacancies filled by a same-grade move from another area."))
    distance_decay_per_100km: float | None = Field(None, gt=0, le=1, description=(
        "Multiplier on the pull of a post in another area per 100 km."))
    into_london_share: float | None = Field(None, gt=0, lt=1, description=(
        "Of promotions that move someone into or out of London, the share that move them "
        "in, in the baseline (london_stay is derived from it)."))
    london_pull: float | None = Field(None, gt=0, le=100, description=(
        "Extra pull of London posts on candidates from other areas."))
    london_stay: float | None = Field(None, gt=0, le=100, description=(
        "Relative willingness of London-based staff to move out of London for a post "
        "(default: derived from into_london_share)."))
    min_quarters_in_grade: int | None = Field(None, ge=0, le=40, description=(
        "Minimum time in grade (quarters) before promotion or a move."))
    policy_match_weight: float | None = Field(None, ge=0, le=100, description=(
        "Relative odds that a policy post goes to a policy-profession candidate."))
    accelerator_weight: float | None = Field(None, ge=0, le=100, description=(
        "Relative odds of promotion of someone in a private office post."))
    labour_market_area: Literal["itl1", "itl2", "itl3"] | None = Field(None, description=(
        "Geography of a labour-market area (London is always one): itl1, itl2 (default) or "
        "itl3."))
    values: dict[str, float] = Field(default_factory=dict, description=(
        "Any parameter by its `placesim params` name, e.g. {recruit_seb_shift.HEO: -0.3, "
        "seb_promotion_odds.G7.low: 0.7, cost_mover_gbp: 30000}; applied after the "
        "fields above."))

    @field_validator("exit_rate", "external_hire_share", "cross_area_share")
    @classmethod
    def _rates(cls, v):
        return _unit_values(v)

    @field_validator("values")
    @classmethod
    def _known(cls, v):
        import difflib

        from .calibration import known_parameter_names

        known = known_parameter_names()
        for name in v:
            if name in RETIRED_PARAMETERS:
                raise ValueError(f"{name!r} is no longer a parameter: {RETIRED_PARAMETERS[name]}")
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=3)
                raise ValueError(f"unknown parameter {name!r}" + (
                    f"; did you mean {', '.join(close)}?" if close
                    else "; see `placesim params`"))
        return v

    @field_validator("promotion_rate")
    @classmethod
    def _unsupported(cls, v):
        if v:
            raise ValueError("not supported by this version (promotions follow vacancy "
                             "chains); use exit_rate or external_hire_share")
        return v

    @field_validator("seb_promotion_odds", "relocation_willingness")
    @classmethod
    def _nonneg(cls, v):
        for k, x in v.items():
            if not 0 <= x <= MAX_MULTIPLIER:
                raise ValueError(f"{k}: must be between 0 and {MAX_MULTIPLIER:g} (got {x:g})")
        return v


class OfficeClosure(_Model):
    """A London office closed on a date: its running cost is saved from then on (costs)."""

    name: str = Field(min_length=1, description="Name of the office, e.g. 102 Petty France.")
    district: str = Field(description="London district (LAD 2023 code) the office is in.")
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR, description=(
        "Year it closes (within the horizon); its cost is saved from then on."))
    quarter: int = Field(1, ge=1, le=4, description="Quarter of the year it closes (1-4).")
    desks: int = Field(ge=1, le=MAX_POSTS, description=(
        "Desks in the office: its cost is desks x costs.m2_per_desk x "
        "costs.estate_gbp_per_m2_london a year, unless annual_cost_gbp is given."))
    annual_cost_gbp: float | None = Field(None, ge=0, le=1e10, description=(
        "The office's running cost a year, if known (default: from its desks)."))


class Scenario(_Model):
    """A placesim scenario: what happens if these posts move to these places on this
    timetable, with these levers.

    Two scenarios compare equal when their content (everything but ``extends``) is equal;
    where they were loaded from is provenance, not content.
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", description=(
        "Short id: lower-case letters, digits, '.', '_' or '-'."))
    title: str = Field("", description="One-line title for maps and briefings.")
    question: str = Field("", description="The question this scenario answers.")
    extends: str | None = Field(None, description=(
        "Scenario file this one inherits from (relative to this file). Mappings merge key "
        "by key, this file winning; waves merge by name; other lists are replaced."))
    horizon: Horizon = Field(Horizon(), description="Start year and length of the run.")
    step: Literal["quarter", "month"] = Field("quarter", description=(
        "Time step: quarter (default) or month."))
    data: str | None = Field(None, description=(
        "Data package folder, relative to this file (default: the shipped package of the "
        "start year, geodata/2021, 2022 or 2023; geodata/2023 for later starts)."))
    coldspots: ColdspotRule = Field(ColdspotRule(), description=(
        "Which districts count as social-mobility coldspots (default: SMC 2025 ci4)."))
    waves: tuple[Wave, ...] = Field((), description="Relocation waves (default: none).")
    roles_moved_before: int = Field(0, ge=0, le=1_000_000, description=(
        "Roles moved out of London before the first wave of this file (and its parents): "
        "added to 'roles moved out of London', which counts from when the programme began "
        "(2020 for Places for Growth). Default 0."))
    roles_moved_before_shares: dict[str, float] | None = Field(None, description=(
        "Departments' shares of roles_moved_before as published (department codes, summing "
        "to at most 1); the rest are shared by the departments' London posts (the default "
        "for all)."))
    workforce: Workforce = Field(Workforce(), description=(
        "How the number of posts changes over time (default: it does not)."))
    levers: Levers = Field(Levers(), description="Levers switched on (default: none).")
    departments: tuple[str, ...] = Field((), description=(
        "Departments whose own view is reported beside the whole service: codes of the data "
        "package's departments.csv, or 'all'. Adds metrics grouped 'dept:CODE' (roles moved, "
        "SCS outside London, progression in and outside London, each site's ladder). Default "
        "none (the department view costs time; `placesim run --department HO` sets it)."))
    sites: Annotated[dict[SiteId, SiteOverride], _distinct_keys(site_key, "site")] = Field(
        default_factory=dict, description=(
        "Overrides of sites by site id (capacity, opening year, theme)."))
    parameters: Parameters = Field(Parameters(), description=(
        "Overrides of calibrated parameters (default: none)."))
    office_closures: tuple[OfficeClosure, ...] = Field((), description=(
        "London offices closed on a date, saving their running cost from then for the "
        "desks beyond those the London posts avoided already release (default: none); see "
        "placesim.costs."))
    seed: int = Field(20230331, ge=0, le=SEED_MAX, description=(
        "Random seed; the same seed across scenarios gives common random numbers. Default "
        "20230331 (the baseline date)."))
    replications: int = Field(20, ge=1, le=10000, description=(
        "Number of replications. Default 20 (ASSUMPTION: enough for stable P10/P50/P90 "
        "of national indicators)."))

    _source: str | None = PrivateAttr(default=None)
    _where: dict = PrivateAttr(default_factory=dict)
    # each merged path's path in the file that wrote it (a wave inherited from a parent is
    # waves[7] of the merged list but waves[0] of its own file): :func:`_in_file`
    _local: dict = PrivateAttr(default_factory=dict)
    _base_dir: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_waves(self):
        names = [w.name for w in self.waves]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"wave names must be unique: {', '.join(sorted(dup))}")
        if self.roles_moved_before_shares is not None:
            _shares_problem(self.roles_moved_before_shares)
        return self

    def _content(self) -> dict:
        # fields added later are left out while unset, so the hashes of scenarios written
        # before them hold
        skip: dict = {"extends": True}
        for name in ("office_closures", "roles_moved_before_shares"):
            if not getattr(self, name):
                skip[name] = True
        if self.waves and all(w.department_shares is None for w in self.waves):
            skip["waves"] = {"__all__": {"department_shares"}}
        levers = {name: {"department"} for name, lever in self.levers
                  if isinstance(lever, DepartmentLever) and lever.department is None}
        if levers:
            skip["levers"] = levers
        return self.model_dump(mode="json", exclude=skip)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scenario):
            return NotImplemented
        return self._content() == other._content()

    def __hash__(self) -> int:
        return hash(self.hash())

    def hash(self) -> str:
        """Short content hash of the resolved scenario (provenance, caching).

        Returns
        -------
        str
            First 12 hex digits of the SHA-256 of the canonical JSON of the scenario,
            ``extends`` excluded (it is already merged in).
        """
        text = json.dumps(self._content(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def steps_per_year(self) -> int:
        """Number of time steps a year: 4 for quarterly steps, 12 for monthly.

        Returns
        -------
        int
        """
        return 4 if self.step == "quarter" else 12

    @property
    def source_file(self) -> str | None:
        """The file (or upload name) the scenario was loaded from, if any."""
        return self._source

    @property
    def base_dir(self) -> Path | None:
        """Folder relative paths in the scenario are resolved against, if known."""
        return None if self._base_dir is None else Path(self._base_dir)

    def line_of(self, *path: str | int) -> tuple[str | None, int | None]:
        """File and line where a key was written (the nearest parent key if not written).

        Parameters
        ----------
        *path : str or int
            Key path, e.g. ``("waves", 0, "count")``.

        Returns
        -------
        tuple of (str or None, int or None)
        """
        return _lookup(self._where, tuple(path), self._source)


# --- YAML with line numbers -------------------------------------------------------------

def _parse(text: str, filename: str) -> tuple[Any, _Where]:
    """Parse YAML safely; return the document and a map key path -> (file, line)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ScenarioError([Problem(filename, None, "file",
                                     f"larger than {MAX_BYTES // 1024} KB")])
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        where = _walk(node, filename)
        doc = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as e:
        # the line where the problem starts: an unclosed quote's opening, not the end of
        # the file where the scanner noticed it
        ctx = str(getattr(e, "context", None) or "")
        start = getattr(e, "context_mark", None) if ctx.startswith("while scanning") else None
        mark = start or getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = None if mark is None else mark.line + 1
        msg = getattr(e, "problem", None) or str(e)
        found = getattr(e, "problem_mark", None)
        detail = f"{ctx}, {msg}" if ctx else msg
        if start is not None and found is not None and found.line != start.line:
            detail += f" (noticed on line {found.line + 1})"
        raise ScenarioError([Problem(filename, line, "yaml",
                                     f"malformed YAML: {detail}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(filename, None, "yaml",
                                     "malformed YAML: nested too deeply")]) from None
    finally:
        loader.dispose()
    return doc, where


def _walk(root: yaml.Node | None, filename: str) -> _Where:
    """Map every key path of a composed YAML tree to its line; reject abuse and duplicates."""
    where: _Where = {}
    if root is None:
        return where
    dups: list[Problem] = []
    budget = MAX_NODES
    # (node, path, ids of the nodes above it: a node that is its own ancestor is a cycle)
    stack: list[tuple[yaml.Node, tuple, frozenset]] = [(root, (), frozenset())]
    while stack:
        node, path, above = stack.pop()
        budget -= 1
        if budget < 0:
            raise ScenarioError([Problem(filename, None, "yaml", (
                f"more than {MAX_NODES:,} values (nested aliases?); not a scenario file"))])
        if len(path) > MAX_DEPTH:
            raise ScenarioError([Problem(filename, node.start_mark.line + 1, "yaml",
                                         "nested too deeply")])
        if id(node) in above:
            raise ScenarioError([Problem(filename, node.start_mark.line + 1, "yaml",
                                         "an alias refers to itself")])
        if isinstance(node, yaml.MappingNode):
            here = above | {id(node)}
            seen: dict[str, int] = {}
            for k, v in node.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else repr(k.value)
                line = k.start_mark.line + 1
                if key in seen and key != "<<":
                    dups.append(Problem(filename, line, _field(path + (key,)),
                                        f"duplicate key (first given on line {seen[key]})"))
                seen.setdefault(key, line)
                where[path + (key,)] = (filename, line)
                stack.append((v, path + (key,), here))
        elif isinstance(node, yaml.SequenceNode):
            here = above | {id(node)}
            for i, v in enumerate(node.value):
                where[path + (i,)] = (filename, v.start_mark.line + 1)
                stack.append((v, path + (i,), here))
    if dups:
        raise ScenarioError(dups)
    return where


def _line_map_and_doc(text: str, filename: str) -> tuple[Any, dict[tuple, int]]:
    """Parse YAML safely; return the document and a map from key path to line number.

    Shared with :mod:`placesim.planner` for plan files.
    """
    doc, where = _parse(text, filename)
    return doc, {p: line for p, (_, line) in where.items()}


def _lookup(where: _Where, loc: tuple, default_file: str | None
            ) -> tuple[str | None, int | None]:
    for i in range(len(loc), 0, -1):
        if loc[:i] in where:
            return where[loc[:i]]
    return default_file, None


def scenario_problem(scenario: Scenario, loc: tuple, message: str) -> Problem:
    """A :class:`Problem` at field ``loc`` of a loaded scenario (its file and line where it
    was loaded from one, the field as that file writes it), for checks made after loading."""
    file, line = _lookup(scenario._where, loc, scenario.source_file)
    return Problem(file or "<scenario>", line, _field(_in_file(scenario._local, loc)), message)


def field_in_file(scenario: Scenario, field: str) -> str:
    """A field of a loaded scenario, as written in messages (``waves[7].count``), named as the
    file that wrote it names it (``waves[0].count`` of a file extending one with 7 waves)."""
    import re

    loc = tuple(int(i) if i else k for k, i in re.findall(r"([^.\[\]]+)|\[(\d+)\]", field))
    return _field(_in_file(scenario._local, loc))


def _in_file(local: dict, loc: tuple) -> tuple:
    """``loc`` of a merged scenario as the file that wrote it writes it (``local``: merged
    path prefixes to their paths in their files; the longest prefix applies)."""
    for i in range(len(loc), 0, -1):
        if loc[:i] in local:
            return local[loc[:i]] + tuple(loc[i:])
    return tuple(loc)


def _step_problems(scenario: Scenario, problem) -> list[Problem]:
    """Lever periods in months that are not a whole number of the scenario's steps: the
    rules round them to whole steps, so 1 or 2 months would silently run 3 (quarterly)."""
    months = 12 // scenario.steps_per_year()
    probs = []
    for lever, fields in (("secondments", ("inbound_months", "outbound_months")),
                          ("london_postings", ("months",))):
        on = getattr(scenario.levers, lever)
        for name in fields if on is not None else ():
            v = getattr(on, name)
            if v % months:
                probs.append(problem(("levers", lever, name), (
                    f"{v} month{'s' if v != 1 else ''} is not a whole number of the "
                    f"scenario's {scenario.step}ly steps ({months} months each) and would run as "
                    f"{max(1, round(v / months)) * months}: give a multiple of {months}"
                    + (", or step: month" if months > 1 else ""))))
    return probs


def _field(loc: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


# --- extends: ---------------------------------------------------------------------------

def _merge(p: Any, c: Any, mp: tuple, pp: tuple, cp: tuple, mounts: list, key: Any = None
           ) -> Any:
    """Deep-merge child ``c`` over parent ``p``.

    ``mounts`` receives ``(kind, source path, merged path)`` telling where each merged
    subtree came from (kind ``p``/``c``: whole subtree of parent/child; ``k``: the key only),
    so line numbers follow the values into the merged document.
    """
    if isinstance(p, dict) and isinstance(c, dict):
        out = {}
        for k, v in p.items():
            if k not in c:
                out[k] = v
                mounts.append(("p", pp + (k,), mp + (k,)))
        for k, v in c.items():
            if k in p and isinstance(p[k], dict | list) and isinstance(v, dict | list):
                out[k] = _merge(p[k], v, mp + (k,), pp + (k,), cp + (k,), mounts, k)
                mounts.append(("k", cp + (k,), mp + (k,)))
            else:
                out[k] = v
                mounts.append(("c", cp + (k,), mp + (k,)))
        return out
    if key == "waves" and isinstance(p, list) and isinstance(c, list):
        named = {w["name"]: j for j, w in enumerate(c) if isinstance(w, dict) and "name" in w}
        used: set[int] = set()
        out_list = []
        for i, w in enumerate(p):
            j = named.get(w.get("name")) if isinstance(w, dict) else None
            if j is not None and j not in used:
                used.add(j)
                mounts.append(("c", cp + (j,), mp + (len(out_list),)))
                out_list.append(c[j])
            else:
                mounts.append(("p", pp + (i,), mp + (len(out_list),)))
                out_list.append(w)
        for j, w in enumerate(c):
            if j not in used:
                mounts.append(("c", cp + (j,), mp + (len(out_list),)))
                out_list.append(w)
        return out_list
    mounts.append(("c", cp, mp))
    return c


def _remap(where: _Where, subtrees: dict[tuple, tuple], keys: dict[tuple, tuple]) -> _Where:
    out: _Where = {}
    for path, v in where.items():
        if path in keys:
            out[keys[path]] = v
            continue
        for i in range(len(path), 0, -1):
            if path[:i] in subtrees:
                out[subtrees[path[:i]] + path[i:]] = v
                break
    return out


def _confined(path: Path, roots: list[Path]) -> bool:
    """True if ``path`` (symlinks resolved) lies inside one of ``roots``."""
    rp = path.resolve()
    for r in roots:
        rr = r.resolve()
        if rp == rr or rr in rp.parents:
            return True
    return False


def _resolve(text: str, filename: str, root: Path | None, base_dir: Path,
             seen: tuple[str, ...]) -> tuple[dict, _Where, dict]:
    """The document with its parents merged in, where each value was written (file, line)
    and each merged path's path in its own file (:func:`_in_file`)."""
    doc, where = _parse(text, filename)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ScenarioError([Problem(filename, 1, "scenario", (
            "the file must be a mapping of keys to values (name:, waves:, ...), not a "
            f"{type(doc).__name__}"))])
    parent_ref = doc.get("extends")
    if parent_ref is None:
        return doc, where, {}
    line = where.get(("extends",), (filename, None))[1]

    def fail(msg: str) -> ScenarioError:
        return ScenarioError([Problem(filename, line, "extends", msg)])

    if not isinstance(parent_ref, str) or not parent_ref:
        raise fail("must be the file name of another scenario")
    ppath = base_dir / parent_ref
    if root is not None and (Path(parent_ref).is_absolute()
                             or not _confined(ppath, [root])):
        raise fail(f"{parent_ref!r} is outside the scenarios folder; name a scenario "
                   "file inside it")
    key = str(ppath.resolve())
    if key in seen:
        chain = " -> ".join(Path(s).name for s in seen + (key,))
        raise fail(f"circular extends: {chain}")
    if not ppath.is_file():
        raise fail(f"no such scenario file: {parent_ref}")
    if ppath.stat().st_size > MAX_BYTES:
        raise ScenarioError([Problem(str(ppath), None, "file",
                                     f"larger than {MAX_BYTES // 1024} KB")])
    pdoc, pwhere, plocal = _resolve(ppath.read_text(encoding="utf-8"), str(ppath), root,
                                    ppath.parent, seen + (key,))
    # Relative paths the parent gives are relative to the parent's folder: re-anchor them.
    if ppath.parent.resolve() != base_dir.resolve():
        if isinstance(pdoc.get("data"), str) and not Path(pdoc["data"]).is_absolute():
            pdoc["data"] = os.path.relpath(ppath.parent / pdoc["data"], base_dir)
        cs = pdoc.get("coldspots")
        if isinstance(cs, dict) and isinstance(cs.get("csv"), str) \
                and not Path(cs["csv"]).is_absolute():
            pdoc["coldspots"] = {**cs, "csv": os.path.relpath(ppath.parent / cs["csv"],
                                                               base_dir)}
    mounts: list = []
    merged = _merge(pdoc, doc, (), (), (), mounts)
    merged["extends"] = parent_ref
    p_sub = {src: dst for kind, src, dst in mounts if kind == "p"}
    c_sub = {src: dst for kind, src, dst in mounts if kind == "c"}
    c_key = {src: dst for kind, src, dst in mounts if kind == "k"}
    merged_where = _remap(pwhere, p_sub, {})
    merged_where.update(_remap(where, c_sub, c_key))
    local: dict = {}
    for src, dst in p_sub.items():  # (the parent's own paths, through its parents' too)
        local[dst] = _in_file(plocal, src)
        for k, v in plocal.items():
            if len(k) > len(src) and k[:len(src)] == src:
                local[dst + k[len(src):]] = v
    for src, dst in c_sub.items():
        local[dst] = src
    return merged, merged_where, local


# --- errors -----------------------------------------------------------------------------

def _unwrap(ann: Any) -> list[Any]:
    """Member types of an annotation (Optional/Union unwrapped)."""
    args = get_args(ann)
    if get_origin(ann) is None or not args:
        return [ann]
    if get_origin(ann) in (dict, tuple, list):
        return [ann]
    return [a for a in args if a is not type(None)]


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The model whose keys the location's last part is one of."""
    types: list[Any] = [Scenario]
    for part in loc[:-1]:
        nxt: list[Any] = []
        for t in types:
            for u in _unwrap(t):
                origin = get_origin(u)
                if isinstance(u, type) and issubclass(u, BaseModel) and isinstance(part, str):
                    f = u.model_fields.get(part)
                    if f is not None:
                        nxt.extend(_unwrap(f.annotation))
                elif origin is dict and isinstance(part, str):
                    nxt.extend(_unwrap(get_args(u)[1]))
                elif origin is tuple and isinstance(part, int):
                    nxt.extend(_unwrap(get_args(u)[0]))
        types = nxt
    for t in types:
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _friendly(err: dict, loc: tuple) -> str:
    t, msg, ctx = err.get("type", ""), err.get("msg", ""), err.get("ctx") or {}
    given = err.get("input")
    got = "" if isinstance(given, dict | list) else f" (got {given!r})"
    if t == "extra_forbidden":
        model = _model_at(loc)
        allowed = list(model.model_fields) if model else []
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        text = f"unknown key {loc[-1]!r}"
        if hint:
            text += f" (did you mean {hint[0]!r}?)"
        return text + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if t == "missing":
        return "required but missing"
    if t in ("int_type", "int_parsing", "int_from_float", "float_type", "float_parsing") \
            and isinstance(given, str) and _exponent_text(given):
        whole = t.startswith("int")
        x = float(given)
        if whole and not x.is_integer():
            return "must be a whole number" + got
        # YAML 1.1 reads a number with an exponent only with a point and a signed exponent
        mantissa, _, exponent = given.strip().lower().partition("e")
        yaml_form = (mantissa if "." in mantissa else mantissa + ".0") + "e" + (
            exponent if exponent[:1] in "+-" else "+" + exponent)
        return (f"must be a {'whole ' if whole else ''}number" + got + f": YAML reads "
                f"{given} as text; write "
                + (f"{int(x)}" if whole else f"{yaml_form}")
                + (f" (or {yaml_form})" if whole else ""))
    if t in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number" + got
    if t == "finite_number":
        return "must be a finite number" + got
    if t in ("float_type", "float_parsing"):
        return "must be a number" + got
    if t in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if t == "string_type":
        return "must be text" + got
    if t in ("tuple_type", "list_type"):
        return "must be a list" + got
    if t in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of keys to values" + got
    if t == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if t == "string_pattern_mismatch" and loc == ("name",):
        return ("must be lower-case letters, digits, '.', '_' or '-', starting with a letter "
                "or digit" + got)
    if t in ("value_error", "assertion_error"):
        return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if t == "literal_error" and ctx.get("expected", "").startswith("'AA'"):  # (a grade)
        from .grades import GRADE_ALIASES

        titles = ", ".join(sorted({a.title() for a in GRADE_ALIASES}))
        hint = difflib.get_close_matches(str(given).lower(), list(GRADE_ALIASES), n=1)
        return (msg + got + f", or a title ({titles})"
                + (f" (did you mean {hint[0].title()!r}?)" if hint else ""))
    return msg + got


def _exponent_text(text: str) -> bool:
    """Whether ``text`` is a number in exponent form that YAML 1.1 reads as text (``1e9``)."""
    import re

    return re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", text.strip()) is not None


def _problems(e: ValidationError, filename: str, where: _Where,
              local: dict | None = None) -> list[Problem]:
    probs = []
    errors = e.errors()
    # a list whose items are all wrong is also reported empty: say only what is wrong with
    # the items (audit: "inbound_grades: must not be empty" beside the unknown grade)
    # (an item's field counts too: destinations[0].share; review)
    bad_items = {tuple(x["loc"][:i]) for x in errors
                 for i, part in enumerate(x["loc"]) if isinstance(part, int)}
    for err in errors:
        if err.get("type") == "too_short" and tuple(err["loc"]) in bad_items:
            continue
        raw = tuple(err["loc"])
        is_key = bool(raw) and raw[-1] == "[key]"
        loc = raw[:-1] if is_key else raw
        file, line = _lookup(where, loc, filename)
        msg = _friendly(err, loc)
        if is_key:
            msg = f"key {loc[-1]!r}: {msg}"
        probs.append(Problem(file or filename, line,
                             _field(_in_file(local or {}, loc)) or "scenario", msg))
    return probs


# --- public API -------------------------------------------------------------------------

def load_scenario_text(text: str, *, filename: str = "<upload>", root: Path | None = None,
                       base_dir: Path | None = None) -> Scenario:
    """Load a scenario from YAML text.

    Parameters
    ----------
    text : str
        The YAML document (at most 1 MB).
    filename : str, default "<upload>"
        Named in error messages and kept as :attr:`Scenario.source_file`.
    root : pathlib.Path, optional
        Confine ``extends:``, ``data:`` and ``coldspots.csv`` to this folder (``data:`` may
        also name the shipped data folder). None (the CLI) leaves them unconfined.
    base_dir : pathlib.Path, optional
        Folder relative paths are resolved against (default: ``root``, else the current
        folder).

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        Every problem found, each with file, line and field.

    Examples
    --------
    >>> s = load_scenario_text("name: demo\\nhorizon: {years: 5}\\n")
    >>> s.horizon.years, s.steps_per_year()
    (5, 4)
    """
    base = Path(base_dir or root or ".")
    seen = (str((base / Path(filename).name).resolve()),)
    doc, where, local = _resolve(text, filename, root, base, seen)
    if root is not None:
        _check_confined(doc, where, filename, root, base)
    try:
        s = Scenario.model_validate(doc)
    except ValidationError as e:
        raise ScenarioError(_problems(e, filename, where, local)) from None
    s._source = filename
    s._where = where
    s._local = local
    s._base_dir = str(base.resolve())
    probs = _step_problems(s, functools.partial(scenario_problem, s))
    if probs:
        raise ScenarioError(probs)
    return s


def _check_confined(doc: dict, where: _Where, filename: str, root: Path, base: Path) -> None:
    probs = []
    cs = doc.get("coldspots")
    for path, value, roots in (
        (("data",), doc.get("data"), [root, SHIPPED_ROOT]),
        (("coldspots", "csv"), cs.get("csv") if isinstance(cs, dict) else None, [root]),
    ):
        if not isinstance(value, str):
            continue  # a wrong type is reported by validation
        if Path(value).is_absolute() or not _confined(base / value, roots):
            file, line = _lookup(where, path, filename)
            probs.append(Problem(file or filename, line, _field(path), (
                f"{value!r} is outside the allowed folders (the scenarios folder"
                + (" or the shipped data folder)" if path == ("data",) else ")"))))
    if probs:
        raise ScenarioError(probs)


def load_scenario(path: str | Path, *, root: Path | None = None) -> Scenario:
    """Load a scenario file, resolving ``extends:``.

    Parameters
    ----------
    path : str or pathlib.Path
        The scenario file (at most 1 MB).
    root : pathlib.Path, optional
        Confine ``extends:``, ``data:`` and ``coldspots.csv`` to this folder (see
        :func:`load_scenario_text`).

    Returns
    -------
    Scenario
        With :attr:`Scenario.source_file` set to ``path``.

    Raises
    ------
    ScenarioError
        Every problem found, each with file, line and field.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(str(path), None, "file", "no such file")])
    if path.stat().st_size > MAX_BYTES:
        raise ScenarioError([Problem(str(path), None, "file",
                                     f"larger than {MAX_BYTES // 1024} KB")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ScenarioError([Problem(str(path), None, "file",
                                     f"not UTF-8 text ({e.reason})")]) from None
    return load_scenario_text(text, filename=str(path), root=root, base_dir=path.parent)


def resolve_data_path(scenario: Scenario) -> Path | None:
    """Absolute path of the scenario's data package.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    pathlib.Path or None
        ``data:`` resolved against the scenario file's folder; without ``data:``, the shipped
        package of the start year (31 March 2021 or 2022) when there is one, else None (the
        latest shipped package).
    """
    if scenario.data is None:
        from .geodata import SHIPPED_YEARS, shipped_package

        year = scenario.horizon.start_year
        return shipped_package(year) if year in SHIPPED_YEARS and year != max(
            SHIPPED_YEARS) else None
    return resolve_scenario_path(scenario, scenario.data)


def resolve_scenario_path(scenario: Scenario, value: str) -> Path:
    """A path written in a scenario (``data:``, ``coldspots.csv``), anchored at its folder.

    Parameters
    ----------
    scenario : Scenario
    value : str
        The path as written; relative paths are relative to the scenario file's folder.

    Returns
    -------
    pathlib.Path
    """
    base = scenario.base_dir or Path(".")
    return (base / value).resolve()


@functools.lru_cache(maxsize=16)
def _near_index(known: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each known name, and each name with one character deleted -> the names it comes from."""
    index: dict[str, set[str]] = {}
    for k in known:
        for v in {k, *(k[:i] + k[i + 1:] for i in range(len(k)))}:
            index.setdefault(v, set()).add(k)
    return {v: frozenset(ks) for v, ks in index.items()}


def _suggest(value: str, known: set[str]) -> list[str]:
    """Up to three known names within two edits of ``value`` (a typed letter too many, too
    few, wrong or swapped), closest first: a few dictionary look-ups, where comparing with
    every name took 20-40 ms for the 361 district codes."""
    index = _near_index(frozenset(known))
    near: set[str] = set()
    for v in {value, *(value[:i] + value[i + 1:] for i in range(len(value)))}:
        near |= index.get(v, frozenset())
    return sorted(near, key=lambda k: (-difflib.SequenceMatcher(None, value, k).ratio(), k))[:3]


def _known(value: str, known: set[str], what: str, names: dict[str, str] | None = None, *,
           hint: bool = True) -> str:
    """``unknown district 'X' (did you mean ...?)``; callers ask for the suggestion only for
    the problems that will be shown (:data:`MAX_SHOWN`)."""
    if len(value) > 40:  # not a code at all: say so without repeating the text
        return f"not a {what} ({len(value)} characters of text)"
    text = f"unknown {what} {value!r}"
    close = _suggest(value, known) if hint else []
    if hint and names and not close:  # a district written by name: suggest its code
        by_name = {n.lower(): c for c, n in names.items()}
        near = difflib.get_close_matches(value.lower(), sorted(by_name), n=3, cutoff=0.75)
        close = [f"{by_name[n]} ({names[by_name[n]]})" for n in near]
    if close:
        return text + f" (did you mean {', '.join(map(repr, close))}?)"
    if len(known) <= 30:
        return text + f" (known: {', '.join(sorted(known))})"
    return text


MAX_CSV_BYTES = 1024 * 1024
"""Largest district list (``coldspots.csv``) read; 361 districts take about 4 KB."""


def district_list_problems(path: Path, codes: set[str]) -> list[Problem]:
    """Problems with a CSV listing districts in a ``lad_code`` column (``coldspots.csv``).

    Read as UTF-8 (a byte-order mark is fine); every problem names the file, the line (as
    an editor numbers it, the header being line 1) and the column, never the parser's
    account of what the file holds.

    Parameters
    ----------
    path : pathlib.Path
    codes : set of str
        The known district codes.

    Returns
    -------
    list of Problem
        Empty when every row names a known district.
    """
    f = str(path)
    if not path.is_file():
        return [Problem(f, None, "file", "no such file")]
    if path.stat().st_size > MAX_CSV_BYTES:
        return [Problem(f, None, "file", f"larger than {MAX_CSV_BYTES // 1024} KB; a list of "
                        "districts takes a few KB")]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        return [Problem(f, line, "file", "not UTF-8 text (saved as Windows-1252, perhaps): "
                        "save it as 'CSV UTF-8'")]
    rows = csv.reader(io.StringIO(text))
    probs: list[Problem] = []
    try:
        header = [h.strip() for h in next(rows, [])]
        if "lad_code" not in header:
            return [Problem(f, 1, "lad_code", "missing column: the first line must name the "
                            "columns, one of them lad_code")]
        col = header.index("lad_code")
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) > len(header):  # the engine's reader refuses these too
                probs.append(Problem(f, rows.line_num, "file", f"{len(row)} fields, but the "
                                     f"first line names {len(header)} columns"))
                continue
            code = row[col].strip() if col < len(row) else ""
            if code not in codes:
                msg = ("no district code" if not code else
                       _known(code, codes, "district code", hint=len(probs) < MAX_SHOWN))
                probs.append(Problem(f, rows.line_num, "lad_code", msg))
    except csv.Error:
        return [Problem(f, rows.line_num, "file", "not a CSV file")]
    return probs


ALL_DEPARTMENTS = "all"
"""``departments: [all]`` (or ``--department all``): every department's view."""


def department_codes(values: Iterable[str], pkg: Any, *, allow_all: bool = True,
                     source: str = "<command line>", field: str = "--department",
                     line: int | None = None) -> tuple[str, ...]:
    """The department codes meant by what a user typed (``--department``): codes, names or
    aliases (``DBT``, ``ho``, ``Home Office``), or ``all``, resolved the same way by every
    command, so what runs and what is printed or briefed is the same department.

    Parameters
    ----------
    values : iterable of str
        As typed.
    pkg : placesim.geodata.DataPackage
        The package whose ``departments`` they name.
    allow_all : bool, default True
        Accept ``all`` (any case), returned as :data:`ALL_DEPARTMENTS`.
    source, field : str
        Where the values came from, for messages.
    line : int, optional
        The line of ``source`` they are on (a file's).

    Returns
    -------
    tuple of str
        The codes, in order, each once.

    Raises
    ------
    ScenarioError
        The package has no departments, a value names none (with the nearest codes), or
        ``all`` where it is not allowed.
    """
    from .geodata import nearest_departments, resolve_department

    depts = getattr(pkg, "departments", None)
    if depts is None or not len(depts):
        raise ScenarioError([Problem(source, line, field, "the data package has no "
                                     "department dimension (no departments.csv)")])
    codes, probs = [], []
    for v in values:
        if str(v).strip().casefold() == ALL_DEPARTMENTS:
            if allow_all:
                codes.append(ALL_DEPARTMENTS)
            else:
                probs.append(Problem(source, line, field, (
                    "'all' does not apply here: give one department's code, name or alias "
                    "(e.g. HO; see `placesim data`)")))
            continue
        code = resolve_department(v, depts)
        if code is None:
            probs.append(Problem(source, line, field, (
                f"unknown department {v!r} (nearest valid codes: "
                f"{', '.join(nearest_departments(v, depts))})")))
        else:
            codes.append(code)
    if probs:
        raise ScenarioError(probs)
    return tuple(dict.fromkeys(codes))


def _department_references(scenario: Scenario) -> Iterable[tuple[tuple, tuple[str, ...], bool]]:
    """Every field of a scenario that names departments: its path, its codes, and whether
    ``all`` (the whole service) may stand among them."""
    for i, w in enumerate(scenario.waves):
        yield ("waves", i, "posts", "department"), tuple(w.posts.department or ()), False
        yield ("waves", i, "department_shares"), tuple(w.department_shares or ()), False
    yield ("departments",), tuple(scenario.departments), True
    yield ("roles_moved_before_shares",), tuple(scenario.roles_moved_before_shares or ()), False
    for name, lever in scenario.levers:
        if isinstance(lever, DepartmentLever) and lever.department:
            yield ("levers", name, "department"), tuple(lever.department), False


def check_departments(scenario: Scenario, pkg: Any) -> None:
    """Check every department a scenario names against a data package's ``departments.csv``.

    :func:`check_against_data` makes the same checks among its others; the engine makes
    these before it prepares a model (:func:`placesim.engine.prepare`), so that a scenario
    run without the full check (a bare :func:`placesim.simulate`) gets the same message,
    with the nearest valid codes, rather than an error from deep in the set-up.

    Parameters
    ----------
    scenario : Scenario
    pkg : placesim.geodata.DataPackage

    Raises
    ------
    ScenarioError
        Each unknown code, at its field (file and line where the scenario was loaded from
        one), with the nearest valid codes or, for a department's name or alias, its code.
    """
    probs: list[Problem] = []
    for path, codes, allow_all in _department_references(scenario):
        _department_problems(codes, path, pkg, lambda loc, msg: scenario_problem(
            scenario, loc, msg), probs, allow_all=allow_all)
    if probs:
        raise ScenarioError(probs)


def _department_problems(codes: tuple[str, ...], path: tuple, pkg: Any, problem,
                         probs: list[Problem], *, allow_all: bool = False) -> bool:
    """Add a problem for each of ``codes`` that is not a code of the package's
    ``departments.csv`` (or ``all``, where allowed), naming the nearest codes (or the code,
    for a name or an alias); True when all are known."""
    from .geodata import nearest_departments, resolve_department

    depts = getattr(pkg, "departments", None)
    ok = True
    for j, c in enumerate(codes):
        if depts is None or not len(depts):
            probs.append(problem((*path, j), f"department {c!r}: the data package has no "
                                 "department dimension (no departments.csv)"))
            return False
        if c in set(depts["code"]) or (allow_all and c == ALL_DEPARTMENTS):
            continue
        ok = False
        code = resolve_department(c, depts)
        probs.append(problem((*path, j), (
            f"{c!r} is {code}'s name or alias: use the code {code}" if code else
            f"unknown department {c!r} (nearest valid codes: "
            f"{', '.join(nearest_departments(c, depts))})")))
    return ok


def early_wave_notes(scenario: Scenario) -> list[str]:
    """What to say of waves that are not the record (``recorded``) but start before the run:
    their roles before its start count as moved before it and change no posts, as the
    history's do (the census holds what happened before). A what-if wave moved to 2019 was
    accepted in silence, its 3,000 roles counted as moved and none of its posts moved
    (review)."""
    start = scenario.horizon.start_year
    out = []
    for i, w in enumerate(scenario.waves):
        if w.year < start and not w.recorded:
            out.append(f"waves[{i}] ({w.name}) starts in {w.year}, before the run (April "
                       f"{start}): its roles before then count as moved out before the start "
                       "and change no posts, as the recorded history's do (the census holds "
                       f"what happened before); start it in {start} or later to move posts")
    return out


def _lever_years(start: int, end: int) -> str:
    """The horizon in lever years, each tied to the record that shows it (a lever year Y
    is April Y to March Y+1, labelled Y+1 in the outputs)."""
    return (f"lever years run from {start} (April {start} to March {start + 1}, the record "
            f"labelled {start + 1}) to {end} (April {end} to March {end + 1}, the record "
            f"labelled {end + 1})")


def _most_opened(scenario: Scenario, site: str, district: str) -> int | None:
    """The most posts (of any grade) a scenario's waves send to a site or its district: an
    upper bound on its growth (None when a wave there is given by share, not count)."""
    total = 0.0
    for w in scenario.waves:
        for d in w.destinations:
            if d.site == site or d.district == district:
                if w.count is None:
                    return None
                total += w.count * d.share
    return math.ceil(total)


def check_against_data(scenario: Scenario, pkg: Any, *, source: str | None = None) -> None:
    """Check a scenario against a data package.

    Checks that the horizon starts at the package's census year (when it records one),
    that origin and destination districts exist, that destination and overridden sites
    exist, that no wave moves more posts than its origin holds matching its selector
    (``baseline_posts``), that every wave starts and ends within the horizon, and that a
    coldspot CSV (rule ``csv``) lists known districts (:func:`district_list_problems`).

    Parameters
    ----------
    scenario : Scenario
    pkg : placesim.geodata.DataPackage
        Needs ``districts`` (``lad_code``, ``is_london``), ``sites`` (``site_id``) and
        ``baseline_posts`` (``lad_code``, ``grade``, ``profession``, ``role``, ``posts``).
    source : str, optional
        File name for messages (default: where the scenario was loaded from).

    Raises
    ------
    ScenarioError
        Every problem found, with lines where the scenario was loaded from a file.
    """
    default = source or scenario.source_file or "<scenario>"
    lines, loaded_from = scenario._where, scenario.source_file  # read once: 24,000 problems

    def where(*path) -> tuple[str, int | None]:
        file, line = _lookup(lines, path, loaded_from)
        if source is not None and file == loaded_from:
            file = source
        return file or default, line

    def problem(path: tuple, msg: str) -> Problem:
        file, line = where(*path)
        return Problem(file, line, _field(_in_file(scenario._local, path)), msg)

    districts = pkg.districts
    codes = set(districts["lad_code"])
    names = dict(zip(districts["lad_code"], districts["lad_name"], strict=True)) \
        if "lad_name" in districts else None
    sites = set(pkg.sites["site_id"])
    london = set(districts.loc[districts["is_london"].astype(bool), "lad_code"])
    b = pkg.baseline_posts
    probs: list[Problem] = []
    bad_departments = {  # (the fields that name an unknown department)
        path for path, codes, allow_all in _department_references(scenario)
        if not _department_problems(codes, path, pkg, problem, probs, allow_all=allow_all)}
    start = scenario.horizon.start_year
    end = start + scenario.horizon.years - 1
    census = getattr(pkg, "year", None)
    if census is not None and start != census:
        probs.append(problem(("horizon", "start_year"), (
            f"{start} is not the data package's census year ({census}, at 31 March): a run "
            f"starts from the census, so what happened between them would be missing (a wave "
            f"before {start} counts as history, already in the data); start in {census} and "
            f"read the years from {start} on, or give data for {start}")))
    for i, w in enumerate(scenario.waves):
        if w.year > end or (w.year < start and w.count is None):
            probs.append(problem(("waves", i, "year"), (
                f"{w.year} is outside the horizon {start}-{end} (a wave's year runs April to "
                f"March: the last, April {end} to March {end + 1}, is the record labelled "
                f"{end + 1})" if w.year > end else
                f"{w.year} is before the horizon {start}-{end}; only a wave given by count "
                "may start before it (the part before the start counts as history)")))
        elif w.year + (w.quarter - 1) / 4 + w.spread_years > end + 1:
            probs.append(problem(("waves", i, "spread_years"), (
                f"{w.spread_years:g} years from {w.year} Q{w.quarter} runs past the end of the "
                f"horizon: its last year is {end}, April {end} to March {end + 1}, whose "
                f"record is labelled {end + 1} (the results' years end at 31 March)")))
        if w.close_by is not None and not max(start, w.year) <= w.close_by:
            probs.append(problem(("waves", i, "close_by"), (
                f"{w.close_by} is before the wave starts ({w.year})" if w.close_by < w.year
                else f"{w.close_by} is before the horizon {start}-{end}")))
        if w.origin == "london":
            origin = london
        else:
            origin = set(w.origin) & codes  # unknown codes hold no posts
            for j, c in enumerate(w.origin):
                if c not in codes:
                    probs.append(problem(("waves", i, "origin", j), _known(
                        c, codes, "district", names, hint=len(probs) < MAX_SHOWN)))
        for j, d in enumerate(w.destinations):
            if d.site is not None and d.site not in sites:
                probs.append(problem(("waves", i, "destinations", j, "site"), _known(
                    d.site, sites, "site", hint=len(probs) < MAX_SHOWN)))
            if d.district is not None and d.district not in codes:
                probs.append(problem(("waves", i, "destinations", j, "district"), _known(
                    d.district, codes, "district", names, hint=len(probs) < MAX_SHOWN)))
        if w.count is not None and ("waves", i, "posts", "department") not in bad_departments:
            sel = b["lad_code"].isin(origin) & b["grade"].isin(w.posts.grades)
            if w.posts.department:
                sel &= b["department"].isin(w.posts.department)
            if w.posts.profession != "any":
                sel &= b["profession"] == w.posts.profession
            if w.posts.role != "any":
                sel &= b["role"] == w.posts.role
            available = int(b.loc[sel, "posts"].sum())
            if w.count > available:
                probs.append(problem(("waves", i, "count"), (
                    f"moves {w.count:,} posts but only {available:,} posts matching its "
                    "selector (grades, profession, role"
                    f"{', department' if w.posts.department else ''}) exist in its origin")))
    for i, p in enumerate(scenario.workforce.paths):
        for name in ("from_year", "to_year"):
            if not start <= getattr(p, name) <= end:
                probs.append(problem(("workforce", "paths", i, name), (
                    f"{getattr(p, name)} is outside the horizon {start}-{end} (a change's "
                    "years must be run: those outside it would be dropped)")))
        if p.close_by is not None and p.close_by < p.from_year:
            probs.append(problem(("workforce", "paths", i, "close_by"), (
                f"{p.close_by} is before the change starts ({p.from_year})")))
    for name, lever in scenario.levers:
        if isinstance(lever, DepartmentLever) and lever.department:
            if isinstance(lever, Secondments) and lever.outbound_per_site == 0:
                probs.append(problem(("levers", name, "department"), (
                    "a department's secondments are its staff sent out to councils, and "
                    "outbound_per_site is 0 (inbound secondees fill posts opened for them)")))
        if isinstance(lever, LeverWindow) and not (
                lever.start_year <= end and (lever.end_year or end) >= start):
            years = (f"{lever.start_year}" if lever.end_year is None
                     else f"{lever.start_year}-{lever.end_year}")
            probs.append(problem(("levers", name, "start_year"), (
                f"{years} is outside the horizon {start}-{end}: {_lever_years(start, end)}, "
                "so the lever would never be on")))
    sec = scenario.levers.secondments
    if sec is not None and sec.outbound_per_site > 0:  # (more than a site can have: audit,
        # 50,000 asked and about 5,000 sent, without a word)
        site_lad = dict(zip(pkg.sites["site_id"], pkg.sites["lad_code"], strict=True))
        away = sec.outbound_per_site * -(-sec.outbound_months // 12)  # (terms overlap)
        for sid in sec.sites:
            lad = site_lad.get(sid)
            if lad is None:
                continue
            held = int(b.loc[(b["lad_code"] == lad) & b["grade"].isin(sec.outbound_grades),
                             "posts"].sum())
            opened = _most_opened(scenario, sid, lad)  # (waves may build the site up first)
            if opened is not None and away > held + opened:
                probs.append(problem(("levers", "secondments", "outbound_per_site"), (
                    f"{sec.outbound_per_site:,} a year from each site"
                    + (f" for {sec.outbound_months} months" if away > sec.outbound_per_site
                       else "")
                    + f", but {sid!r} has {held:,} posts of the outbound grades "
                    f"({', '.join(sec.outbound_grades)}) at the start"
                    + (f" and its waves bring at most {opened:,} posts of any grade"
                       if opened else ""))))
    if sec is not None:  # (its posts open at the sites: not before a site opens)
        for j, sid in enumerate(sec.sites):
            opens = scenario.sites.get(sid)
            if opens is not None and opens.opens_year is not None \
                    and opens.opens_year > sec.start_year:
                probs.append(problem(("levers", "secondments", "sites", j), (
                    f"{sid!r} opens in {opens.opens_year} (sites.{sid}.opens_year), after "
                    f"the secondments start ({sec.start_year})")))
    probs += _step_problems(scenario, problem)
    for i, o in enumerate(scenario.office_closures):
        if o.district not in london:
            probs.append(problem(("office_closures", i, "district"), (
                f"{o.district!r} is not a London district" if o.district in codes else
                _known(o.district, codes, "district", names, hint=len(probs) < MAX_SHOWN))))
        if not start <= o.year <= end:
            probs.append(problem(("office_closures", i, "year"),
                                 f"{o.year} is outside the horizon {start}-{end}"))
    for sid in scenario.sites:
        if sid not in sites:
            probs.append(problem(("sites", sid), _known(sid, sites, "site",
                                                        hint=len(probs) < MAX_SHOWN)))
    probs += _lever_place_problems(scenario.levers, sites, codes, names, problem,
                                   len(probs) < MAX_SHOWN)
    cs = scenario.coldspots
    if cs.rule == "csv" and cs.csv:
        found = district_list_problems(resolve_scenario_path(scenario, cs.csv), codes)
        if found and found[0].field == "file" and found[0].message == "no such file":
            found = [problem(("coldspots", "csv"), f"no such file: {cs.csv}")]
        probs += found
    if probs:
        raise ScenarioError(probs)


def _lever_place_problems(levers: Levers, sites: set, codes: set, names, problem,
                          hint: bool) -> list[Problem]:
    """Unknown sites and districts named by the levers that work at places."""
    probs: list[Problem] = []
    out = levers.recruitment_outreach
    if out is not None:
        base = ("levers", "recruitment_outreach", "places")
        for j, sid in enumerate(out.places.sites):
            if sid not in sites:
                probs.append(problem((*base, "sites", j), _known(sid, sites, "site",
                                                                 hint=hint)))
        for j, code in enumerate(out.places.districts):
            if code not in codes:
                probs.append(problem((*base, "districts", j), _known(
                    code, codes, "district", names, hint=hint)))
    sec = levers.secondments
    if sec is not None:
        for j, sid in enumerate(sec.sites):
            if sid not in sites:
                probs.append(problem(("levers", "secondments", "sites", j), _known(
                    sid, sites, "site", hint=hint)))
    return probs


def scenario_json_schema() -> dict:
    """The JSON Schema of scenario files (for editor autocompletion).

    Returns
    -------
    dict
        Draft 2020-12 schema; every property has a description and unknown keys are
        forbidden (``additionalProperties: false``).
    """
    schema = Scenario.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "placesim scenario"
    return schema


def scenario_document(scenario: Scenario) -> dict:
    """The resolved scenario as the plain document :func:`dump_scenario` writes (name first,
    ``extends`` and what the file did not set left out), for changing it and loading it
    again.

    A field set to its default is kept: an assumption the scenario sets is held at its value
    under parameter uncertainty, one it leaves is drawn (:func:`placesim.calibration.
    uncertain_scenario_fields`). (Defaults were left out, so a batch, which runs the written
    scenario, drew ``outbound_per_site: 10`` where ``placesim run`` held it; review.)

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    dict
    """
    doc = scenario.model_dump(mode="json", exclude={"extends"}, exclude_unset=True)
    return {"name": scenario.name, **doc}


def dump_scenario(scenario: Scenario) -> str:
    """The resolved scenario as YAML text.

    ``extends`` is dropped (it is already merged in) and what the file did not set is left
    out (:func:`scenario_document`), so ``load_scenario_text(dump_scenario(s)) == s`` for
    every scenario, with the same fields set: text is written as
    UTF-8, except when it holds U+0085 (NEL), which YAML reads back as a line break; then
    every non-ASCII character is written as an escape.

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    str
    """
    return document_text(scenario_document(scenario))


def document_text(doc: dict) -> str:
    """A scenario document (:func:`scenario_document`, edited or not) as YAML text, which
    :func:`load_scenario_text` reads back as the same document (see :func:`dump_scenario`).

    Parameters
    ----------
    doc : dict

    Returns
    -------
    str
    """
    text = yaml.dump(doc, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True)
    if "\x85" in text:
        text = yaml.dump(doc, Dumper=_SafeDumper, sort_keys=False, allow_unicode=False)
    return text
