"""placesim: a Places for Growth location and social-mobility coldspot planning simulator.

The public API is small; the CLI (``placesim``) and the Streamlit app are thin shells over it::

    import placesim
    scenario = placesim.load_scenario("scenarios/pfg-2027.yaml")
    results = placesim.simulate(scenario, replications=20)
    results.metrics            # scenario, year, metric, group, mean, p10, p50, p90
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "load_scenario",
    "load_scenario_text",
    "load_data_package",
    "simulate",
    "Results",
    "compare_results",
    "write_results",
    "read_results",
]


def __getattr__(name: str):
    # Lazy: `placesim --help` and `import placesim` stay fast; heavy modules load on use.
    if name in ("load_scenario", "load_scenario_text"):
        from . import scenario

        return getattr(scenario, name)
    if name == "load_data_package":
        from .geodata import load_data_package

        return load_data_package
    if name in ("simulate", "Results"):
        from . import simulation

        return getattr(simulation, name)
    if name == "compare_results":
        from .compare import compare_results

        return compare_results
    if name in ("write_results", "read_results"):
        from . import results

        return getattr(results, name)
    raise AttributeError(f"module 'placesim' has no attribute {name!r}")
