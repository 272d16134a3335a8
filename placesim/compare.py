"""Differences between two scenarios' results, with intervals.

Scenarios run with the same seed share their random numbers (common random numbers), so the
difference of the means is a sharper estimate than either run alone. Without the per-
replication values in a results folder, the interval shown for a difference is the
conservative range ``[p10_a - p90_b, p90_a - p10_b]``.
"""

from __future__ import annotations

import pandas as pd

KEYS = ["year", "metric", "group"]


def compare_results(a, b) -> pd.DataFrame:
    """Join two results on ``year, metric, group`` and compute differences (b - a).

    Parameters
    ----------
    a, b : Results

    Returns
    -------
    pandas.DataFrame
        ``year, metric, group, mean_a, mean_b, diff, diff_low, diff_high``.
    """
    ma = a.metrics[KEYS + ["mean", "p10", "p90"]]
    mb = b.metrics[KEYS + ["mean", "p10", "p90"]]
    j = ma.merge(mb, on=KEYS, suffixes=("_a", "_b"), how="inner")
    j["diff"] = j["mean_b"] - j["mean_a"]
    j["diff_low"] = j["p10_b"] - j["p90_a"]
    j["diff_high"] = j["p90_b"] - j["p10_a"]
    j.attrs["a"] = a.manifest.get("scenario", "A")
    j.attrs["b"] = b.manifest.get("scenario", "B")
    return j[KEYS + ["mean_a", "mean_b", "diff", "diff_low", "diff_high"]]


def format_comparison(diff: pd.DataFrame, year: int | None = None,
                      groups: tuple[str, ...] = ("all", "london", "outside_london")) -> str:
    """Plain-text table of the differences in one year (default: the last)."""
    year = int(diff["year"].max()) if year is None else year
    d = diff[(diff["year"] == year) & diff["group"].isin(groups)]
    a, b = diff.attrs.get("a", "A"), diff.attrs.get("b", "B")
    lines = [f"{b} minus {a}, {year} (mean; P10–P90 range of the difference)"]
    for r in d.itertuples(index=False):
        lines.append(f"  {r.metric:<40} {r.group:<16} {r.mean_a:>12.4g} → {r.mean_b:>12.4g}   "
                     f"{r.diff:>+12.4g}  ({r.diff_low:+.4g} … {r.diff_high:+.4g})")
    return "\n".join(lines)
