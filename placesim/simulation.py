"""The one entry point the CLI, the app and the batch runner share: :func:`simulate`.

It prepares a scenario once (data, parameters, baseline population), runs the replications
(stochastic person-level mode) or the cohort flows (expected-value mode), and returns
:class:`Results` — tidy tables plus a manifest with provenance.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from . import __version__
from .calibration import assumptions_in_force
from .departments import wave_shares
from .engine import Model, prepare, run_replication
from .metrics import digest, summarise, summarise_moves
from .provenance import lock_digest

Progress = Callable[[int, int], None]


@dataclass
class Results:
    """Outcome of a simulation.

    Attributes
    ----------
    metrics : pandas.DataFrame
        ``scenario, year, metric, group, mean, p10, p50, p90``.
    districts : pandas.DataFrame
        ``scenario, year, lad_code, metric, mean, p10, p50, p90``.
    moves : pandas.DataFrame
        ``scenario, wave, year, origin_lad_code, destination_lad_code, posts`` (mean posts).
    replications : pandas.DataFrame or None
        Every replication's headline values, ``replication, year, metric, group, value``
        (what :func:`placesim.compare.compare_results` pairs); None for results folders
        written before it was kept.
    assumptions : pandas.DataFrame
        The parameters in force: ``name, value, source, assumption, description``.
    manifest : dict
        Provenance: scenario name and hash, code version, digest of the dependency lock
        (:func:`placesim.provenance.lock_digest`), data vintage, seed, replications, mode,
        timings.
    """

    metrics: pd.DataFrame
    districts: pd.DataFrame
    moves: pd.DataFrame
    assumptions: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    replications: pd.DataFrame | None = None

    @property
    def banded(self) -> bool:
        """Whether the figures have bands (:func:`banded`)."""
        return banded(self.manifest)

    @property
    def unbanded_words(self) -> str:
        """What a run without bands shows (:func:`unbanded_words`)."""
        return unbanded_words(self.manifest)

    @property
    def runs_words(self) -> str:
        """What runs the figures come from (:func:`runs_words`)."""
        return runs_words(self.manifest)

    def metric(self, name: str, group: str = "all") -> pd.DataFrame:
        """Rows of one headline metric and group, by year."""
        m = self.metrics
        return m[(m["metric"] == name) & (m["group"] == group)].reset_index(drop=True)

    def up_to(self, year: int) -> Results:
        """The results as they stand at the record of ``year`` (31 March): every table's
        years after it left out, so that a brief of a target year (2030, say, of a run to
        2033) reads that year as its last: its answer, its maps and its appraisal's period.
        The manifest notes the year (``as_of_year``).

        Raises
        ------
        PlacesimError
            If the results do not hold ``year`` (the message gives the years they hold).
        """
        from .errors import check_year

        check_year("brief", year, self.metrics["year"])

        def cut(t: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if t is None else t[t["year"] <= year].reset_index(drop=True)

        return Results(metrics=cut(self.metrics), districts=cut(self.districts),
                       moves=cut(self.moves), assumptions=self.assumptions,
                       manifest={**self.manifest, "as_of_year": int(year)},
                       replications=cut(self.replications))


def banded(manifest: dict) -> bool:
    """Whether a run's figures have bands: several runs, replications of the stochastic
    engine or expected-value runs with their own parameter draws (the manifest's
    ``uncertainty``; a folder written before it was kept: a stochastic run). Every table,
    page and caption asks this one question: the appraisal asked whether there were several
    runs and the rest whether the mode was stochastic, so an expected-value run with
    parameter draws had bands in its value-for-money table and "expected values" in its
    targets table (review)."""
    u = manifest.get("uncertainty")
    if isinstance(u, dict) and "replications" in u:
        return int(u["replications"]) > 1 and bool(u.get("monte_carlo") or u.get("parameters"))
    return manifest.get("mode") == "stochastic"


def unbanded_words(manifest: dict) -> str:
    """What a run without bands shows, for captions: expected values, or one replication of
    the stochastic engine (it was called "expected values" too; review), with one draw of
    the parameters if it drew them (it was called "expected values" alone; review)."""
    u = manifest.get("uncertainty")
    drawn = isinstance(u, dict) and bool(u.get("parameters"))
    if manifest.get("mode", "expected") == "expected":
        return "expected values of one parameter draw" if drawn else "expected values"
    return "one replication with one parameter draw, no range" if drawn else \
        "one replication, no range"


def runs_words(manifest: dict) -> str:
    """What runs a run's figures come from, for a caption or a cover: the expected values,
    one replication, or how many runs with what varying in them. (Pages and workbooks said
    "runs with random variation" of expected-value runs with parameter draws; review.)"""
    if not banded(manifest):
        words = unbanded_words(manifest)
        return "expected values (no random variation)" if words == "expected values" else words
    u = manifest.get("uncertainty")
    n = manifest.get("replications", "")
    if isinstance(u, dict) and u.get("parameters"):
        if u.get("monte_carlo"):
            return f"{n} runs with random variation, each with its own parameter draw"
        return f"{n} expected-value runs, each with its own parameter draw"
    return f"{n} runs with random variation"


def simulate(
    scenario,
    pkg=None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    mode: str = "stochastic",
    progress: Progress | None = None,
    model: Model | None = None,
    parameter_uncertainty: bool = False,
) -> Results:
    """Run a scenario and summarise it.

    Parameters
    ----------
    scenario : Scenario
        From :func:`placesim.load_scenario`.
    pkg : DataPackage, optional
        Data package; defaults to the scenario's (or the shipped one).
    replications : int, optional
        Defaults to the scenario's ``replications``. Ignored in expected mode.
    seed : int, optional
        Defaults to the scenario's ``seed``.
    mode : {"stochastic", "expected"}
        Person-level replications, or the expected-value cohort flows.
    progress : callable, optional
        Called as ``progress(done, total)`` after each replication.
    model : Model, optional
        A model already prepared for this scenario and seed (saves the set-up).
    parameter_uncertainty : bool
        Draw every parameter with a plausible range anew for each replication
        (:func:`placesim.calibration.draw_parameters`), so the bands include what we do not
        know as well as chance. In expected mode this runs one expected-value run per draw
        (``replications`` of them): bands from parameter uncertainty alone.

    Returns
    -------
    Results

    Raises
    ------
    ValueError
        An unknown ``mode``, fewer than one replication (where they are run) or a negative
        seed.
    """
    if mode not in ("stochastic", "expected"):
        raise ValueError(f"mode must be 'stochastic' or 'expected', not {mode!r}")
    seed = scenario.seed if seed is None else int(seed)
    reps = scenario.replications if replications is None else int(replications)
    if reps < 1 and (mode == "stochastic" or parameter_uncertainty):
        raise ValueError(f"replications must be at least 1, not {reps}")
    from .scenario import SEED_MAX

    if not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed must be a whole number from 0 to {SEED_MAX}, not {seed}")
    t0 = time.perf_counter()
    if model is None:
        model = prepare(scenario, pkg, seed=seed, people=mode == "stochastic")
    t_prep = time.perf_counter() - t0
    t1 = time.perf_counter()
    if parameter_uncertainty:
        runs = _with_parameter_draws(scenario, pkg, model, mode, reps, seed, progress)
    elif mode == "expected":
        from .expected import run_expected

        runs = [digest(model, run_expected(model))]
        reps = 1
        if progress:
            progress(1, 1)
    else:
        runs = []  # digests: memory stays ~0.5 MB a replication, not ~5 MB
        for r in range(reps):
            runs.append(digest(model, run_replication(model, r, seed)))
            if progress:
                progress(r + 1, reps)
    t_run = time.perf_counter() - t1
    metrics, districts, per_replication = summarise(model, runs, scenario.name)
    moves = summarise_moves(model, runs, scenario.name)
    manifest = {
        "scenario": scenario.name,
        "title": scenario.title or "",
        "scenario_hash": scenario.hash(),
        "code_version": __version__,
        "lock_digest": lock_digest(),
        "data_vintage": getattr(model, "data_vintage", ""),
        "seed": seed,
        "replications": reps,
        "mode": mode,
        "start_year": model.start_year,
        "years": model.years,
        "step": scenario.step,
        "uncertainty": uncertainty(mode, reps, parameter_uncertainty, model.params,
                                   scenario),
        "department_wave_shares": wave_shares(model),
        "coldspots": coldspot_definition(scenario, model),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timings": {"prepare_s": round(t_prep, 3), "run_s": round(t_run, 3),
                    "per_replication_s": round(t_run / max(reps, 1), 4)},
    }
    return Results(metrics=metrics, districts=districts, moves=moves,
                   assumptions=assumptions_in_force(model.params, model.scenario),
                   manifest=manifest,
                   replications=per_replication)


def coldspot_definition(scenario, model: Model) -> dict:
    """What a run counts as coldspots, for its manifest: the rule in words, the number of
    districts (and of those outside London, which the coldspot figures count), their codes
    (the maps draw them: they drew the default index's whatever the run's; review) and a
    digest of them (two runs whose digests differ count different districts, and
    :func:`placesim.compare.compare_results` does not difference their coldspot
    figures)."""
    import hashlib

    c = scenario.coldspots
    words = {"smc2025": f"SMC 2025 {c.index}: {', '.join(c.categories)}",
             "opportunity_areas": "DfE Opportunity Areas",
             "csv": f"the districts of {c.csv}"}[c.rule]
    geo = model.geo
    codes = sorted(str(x) for x in geo.lad_codes[geo.is_coldspot])
    return {"definition": words, "districts": len(codes),
            "outside_london": int((geo.is_coldspot & ~geo.is_london).sum()), "codes": codes,
            "digest": hashlib.sha256(",".join(codes).encode()).hexdigest()[:12]}


def _with_parameter_draws(scenario, pkg, model: Model, mode: str, reps: int, seed: int,
                          progress: Progress | None) -> list:
    """One run per replication, each with its own draw of the uncertain parameters and of
    the scenario's own assumptions with a range."""
    from .calibration import drawn_replication
    from .expected import run_expected
    from .geodata import load_data_package
    from .scenario import resolve_data_path

    if pkg is None:
        pkg = load_data_package(resolve_data_path(scenario))
    runs = []
    for r in range(reps):
        drawn, params = drawn_replication(scenario, model.params, seed, r)
        m = prepare(drawn, pkg, seed=seed, params=params, people=mode == "stochastic")
        run = run_expected(m) if mode == "expected" else run_replication(m, r, seed)
        run.replication = r  # (an expected-value run is replication 0: each draw is its own)
        run.costs = m.params.costs  # its drawn unit costs, for the appraisal (placesim.costs)
        runs.append(digest(m, run))  # (its figures through the model it ran, as a batch's)
        if progress:
            progress(r + 1, reps)
    return runs


START_WORDS = ("; the replications start from the seed's one synthetic population (who is "
               "in post where, from which background, is not drawn again)")
"""What every band over the engine's replications holds fixed (a stochastic band, from one
synthetic starting population, read as all of chance: two seeds' bands of the SCS3 low-SEB
share did not overlap; review)."""


def held_words(params=None) -> str:
    """What a band of parameter draws holds at their values, and which defaults of those it
    draws sit at one end of their range (:func:`placesim.calibration.at_range_ends`, of
    ``params``, the defaults if None), so that the band need not be centred on the default
    run. (The lever assumptions a scenario sets were held without a word; review.)"""
    from .calibration import at_range_ends, resolve_parameters

    ends = at_range_ends(params if params is not None else resolve_parameters(None))
    return ("; the published ones, recruits' SEB shift (the census mixes) and the assumptions "
            "the scenario sets itself are held at their values" + (
                f". Some defaults sit at or near one end of their range ({ends}), so the "
                "band need "
                "not be centred on the default run's figure" if ends else ""))


def uncertainty(mode: str, replications: int, parameters: bool, params=None,
                scenario=None) -> dict:
    """What a run's bands include (kept in the manifest; every band's caption says it).

    Returns
    -------
    dict
        ``monte_carlo`` and ``parameters`` (bool), ``replications``, ``parameters_drawn``
        (names) and ``description`` (one sentence for captions).
    """
    from .calibration import uncertain_parameters, uncertain_scenario_fields

    drawn = [p.name for p in uncertain_parameters(params)] if parameters and params else []
    if parameters and scenario is not None:  # (its levers' own assumptions: drawn too)
        drawn += list(uncertain_scenario_fields(scenario)["name"])
    monte_carlo = mode == "stochastic" and replications > 1
    held, start = held_words(params) if parameters else "", START_WORDS
    if monte_carlo and parameters:
        text = (f"P10-P90 of {replications} replications, each with its own draw of the "
                f"{len(drawn)} parameters with a stated range: chance and those parameters"
                + held + start)
    elif monte_carlo:
        text = (f"P10-P90 of {replications} replications: chance only (parameter "
                "uncertainty not included)" + start)
    elif parameters:
        text = (f"P10-P90 of {replications} expected-value runs, each with its own draw of "
                f"the {len(drawn)} parameters with a stated range: those parameters only"
                + held)
    else:
        text = ("No band: one expected-value run (neither chance nor parameter uncertainty)"
                if mode == "expected" else
                "No band: one replication of the stochastic engine (chance, not summarised)")
    return {"monte_carlo": monte_carlo, "parameters": bool(parameters),
            "replications": int(replications), "parameters_drawn": drawn,
            "description": text}
