"""Shared test helpers: the synthetic data package and scenarios over it."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from placesim import engine, load_data_package, load_scenario_text
from placesim.testing import write_synthetic_package

#: The smallest valid scenario on the shipped data: one wave of 100 EO posts to Leeds.
MINIMAL_SCENARIO = """name: ok
horizon: {start_year: 2023, years: 5}
waves:
  - name: w
    year: 2024
    posts: {grades: [EO]}
    count: 100
    destinations:
      - {site: leeds, share: 1.0}
"""


HO_WAVE_SCENARIO = """name: ho-wave
horizon: {start_year: 2023, years: 3}
seed: 3
replications: 1
waves:
  - name: ho-out
    year: 2024
    posts: {grades: [EO, HEO], department: HO}
    share: 0.5
    destinations:
      - {site: alpha, share: 1.0}
"""
"""Half the Home Office's EO and HEO posts to site alpha, for the synthetic package with
departments (``write_synthetic_package(..., departments=True)``)."""


@functools.cache
def synthetic_package(headcount: int = 4000):
    folder = Path(tempfile.mkdtemp(prefix="placesim-synth-"))
    return load_data_package(write_synthetic_package(folder / "pkg", headcount=headcount))


def scenario_text(*, waves: bool, grades=("SCS1", "SCS2"), share: float = 0.5,
                  years: int = 6, name: str = "synthetic", mode: str = "relocate") -> str:
    text = f"""
name: {name}
horizon: {{start_year: 2023, years: {years}}}
seed: 7
replications: 4
"""
    if waves:
        text += f"""
waves:
  - name: move
    year: 2024
    posts: {{grades: [{", ".join(grades)}]}}
    share: {share}
    mode: {mode}
    origin: london
    destinations:
      - {{site: alpha, share: 0.6}}
      - {{site: beta, share: 0.4}}
"""
    return text


def synthetic_scenario(**kw):
    headcount = kw.pop("headcount", None)
    del headcount
    return load_scenario_text(scenario_text(**kw), filename="synthetic.yaml")


@functools.cache
def _model(text: str, headcount: int):
    s = load_scenario_text(text, filename="synthetic.yaml")
    return engine.prepare(s, synthetic_package(headcount))


def synthetic_model(scenario, headcount: int = 4000):
    from placesim.scenario import dump_scenario

    return _model(dump_scenario(scenario), headcount)


@functools.cache
def reduced_package(factor: float = 0.1):
    """The shipped data package with every baseline count scaled by ``factor``."""
    from placesim.testing import scaled_package

    return scaled_package(load_data_package(), factor)


def reduced_scenario(text: str, factor: float = 0.1, years: int = 5):
    """A scenario from YAML text, its counts scaled to :func:`reduced_package` and its horizon
    shortened to ``years``."""
    from placesim.agreement import scale_scenario

    s = scale_scenario(load_scenario_text(text, filename="reduced.yaml"), factor)
    return s.model_copy(update={"horizon": s.horizon.model_copy(update={"years": years})})
