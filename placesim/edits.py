"""Quick edits to a scenario's main levers, as the app's sidebar offers them.

The app (and anything else) describes an edit as :class:`LeverEdits` — plain values that
also travel in a shareable URL — and :func:`apply_edits` turns it into a new, validated
scenario: a London recruitment freeze, mentoring, short London postings, relocation
support, recruitment outreach in the coldspots, local-central secondments at the four pilot
campuses (each from the year after the start, at its defaults) and every relocation wave
scaled by a percentage. Kept out of the app so the rule is tested and reused, and the app
stays a view.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

#: ASSUMPTION (app default, range 0–1): the share of London recruitment a freeze blocks.
FREEZE_SHARE = 0.5

#: Each :class:`LeverEdits` flag and the scenario lever it adds (at its defaults, from the
#: year after the start, unless the scenario has it already).
LEVERS = {"freeze": "london_recruitment_freeze", "mentoring": "mentoring",
          "postings": "london_postings", "support": "relocation_support",
          "outreach": "recruitment_outreach", "secondments": "secondments"}


@dataclass(frozen=True)
class LeverEdits:
    """The app's lever edits; the default changes nothing.

    Attributes
    ----------
    freeze : bool
        Block half of London recruitment (:data:`FREEZE_SHARE`).
    mentoring : bool
        Mentoring for staff from lower socio-economic backgrounds.
    postings : bool
        Short London postings for staff based elsewhere.
    support : bool
        Financial support to relocate.
    outreach : bool
        Recruitment outreach raising the low-SEB share of EO and HEO entrants in the
        coldspots (the lever's defaults).
    secondments : bool
        Local-central government secondments at the four pilot campuses (the lever's
        defaults).
    scale : int
        Every planned relocation wave's size in per cent (100 keeps the scenario's numbers;
        recorded waves, the history, are kept as recorded).
    """

    freeze: bool = False
    mentoring: bool = False
    postings: bool = False
    support: bool = False
    outreach: bool = False
    secondments: bool = False
    scale: int = 100

    @property
    def any(self) -> bool:
        return self != LeverEdits()

    def to_query(self) -> dict[str, str]:
        """The edits that differ from the default, as URL query parameters."""
        default = LeverEdits()
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if v != getattr(default, f.name):
                out[f.name] = str(int(v)) if isinstance(v, bool) else str(v)
        return out

    @classmethod
    def from_query(cls, params) -> LeverEdits:
        """Edits from URL query parameters; values that do not parse are ignored.

        Examples
        --------
        >>> e = LeverEdits.from_query({"mentoring": "1", "scale": "150", "freeze": "x"})
        >>> e.mentoring, e.freeze, e.scale
        (True, False, 150)
        """
        kw = {}
        for f in fields(cls):
            raw = params.get(f.name)
            if raw is None:
                continue
            raw = str(raw)
            if f.type in ("bool", bool):
                if raw in ("0", "1"):
                    kw[f.name] = raw == "1"
            elif raw.isdigit() and 0 <= int(raw) <= 200:
                kw[f.name] = int(raw) // 10 * 10
        return cls(**kw)


def scale_waves(doc: dict, percent: float) -> dict:
    """Scale every planned wave of a scenario document (not one marked ``recorded``, the
    record of moves already made): counts rounded down, shares capped at 1."""
    for w in doc.get("waves", []) or []:
        if w.get("recorded"):
            continue
        if "count" in w:
            w["count"] = int(w["count"] * percent / 100)
        elif "share" in w:
            w["share"] = min(1.0, w["share"] * percent / 100)
    return doc


def apply_edits(scenario, edits: LeverEdits, *, root: Path | None = None):
    """The scenario with the edits applied (named ``<name>-edited``), or itself when there
    are none.

    Parameters
    ----------
    scenario : Scenario
    edits : LeverEdits
    root : pathlib.Path, optional
        Confine file references as :func:`placesim.load_scenario_text` does.

    Returns
    -------
    Scenario
    """
    from .scenario import document_text, load_scenario_text, scenario_document

    edits = effective(edits, scenario)
    if not edits.any:
        return scenario
    doc = scenario_document(scenario)
    start = scenario.horizon.start_year + 1
    levers = doc.setdefault("levers", {}) or {}
    doc["levers"] = levers
    for flag, lever in LEVERS.items():  # (none the scenario has: :func:`effective`)
        if getattr(edits, flag):
            levers[lever] = {"start_year": start}
            if flag == "freeze":
                levers[lever]["share_blocked"] = FREEZE_SHARE
    if edits.scale != 100:
        scale_waves(doc, edits.scale)
    doc["name"] = f"{scenario.name}-edited"
    return load_scenario_text(document_text(doc), filename="edited.yaml", root=root,
                              base_dir=root)


def in_scenario(scenario) -> set[str]:
    """The edits (:class:`LeverEdits` flags) whose lever the scenario already has: ticking
    one changes nothing (the scenario's own settings are kept)."""
    return {flag for flag, lever in LEVERS.items()
            if getattr(scenario.levers, lever) is not None}


def plans_waves(scenario) -> bool:
    """Whether the scenario has a wave that is not the record of moves made (one the waves'
    scaling changes)."""
    return any(not w.recorded for w in scenario.waves)


def effective(edits: LeverEdits, scenario) -> LeverEdits:
    """The edits that change ``scenario``: none for a lever it has already (ticking it
    replaced its settings with the defaults: the social-mobility levers' campus sites were
    dropped), and no scaling where it plans no wave (every wave is the record)."""
    from dataclasses import replace

    out = replace(edits, **{flag: False for flag in in_scenario(scenario)})
    if not plans_waves(scenario):
        out = replace(out, scale=100)
    return out


def describe(edits: LeverEdits, scenario=None) -> str:
    """The edits in words (for captions); given the ``scenario``, only those that change it."""
    words = {"freeze": "half of London recruitment frozen", "mentoring": "mentoring",
             "postings": "short London postings", "support": "relocation support",
             "outreach": "recruitment outreach", "secondments": "campus secondments"}
    if scenario is not None:
        edits = effective(edits, scenario)
    parts = [w for k, w in words.items() if asdict(edits)[k]]
    if edits.scale != 100:
        parts.append(f"planned relocation waves at {edits.scale}%")
    return ", ".join(parts)
