"""Differences between two scenarios' results, with intervals that say what they are.

Two stochastic runs with the same seed draw the same random numbers for everything their
scenarios share (common random numbers, see ``docs/architecture.md``), so replication *r* of
one is the counterpart of replication *r* of the other: the difference ``b_r - a_r`` is the
policy's effect in one possible world, with most of the noise cancelled. Its P10/P50/P90 over
replications is the **paired** interval.

Runs with different seeds (or different data) are independent: the difference of two
independent draws ``b_i - a_j`` has the **unpaired** interval, which is wider. An expected-mode
run has no spread at all; comparing it with a stochastic run mixes a mean with a distribution,
so it is refused unless asked for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import PlacesimError, check_year
from .present import fmt_diff, fmt_range

KEYS = ["year", "metric", "group"]
COLUMNS = KEYS + ["mean_a", "mean_b", "diff", "diff_p10", "diff_p50", "diff_p90", "interval",
                  "p50_a", "p50_b"]
INTERVALS = {
    "paired": "P10 to P90 of the paired (replication-by-replication) difference (the same "
              "seed: the same random numbers, and parameter draws where both draw them)",
    "unpaired": "P10 to P90 of the unpaired difference (of independent replications)",
    "mixed": "P10 to P90 of the difference (B minus A, as every difference here) over every "
             "pair of a stochastic replication and an expected-value run (one, or one a "
             "parameter draw)",
    "none": "exact difference of expected values (no uncertainty band)",
    "unavailable": "no per-replication values in a results folder: no interval",
}
"""What each ``interval`` label means (printed under comparisons)."""
FEW_RUNS = 20
"""Fewer runs than this behind an interval, and the printed comparison says it is rough
(four paired replications gave a headcount difference of -104 (-150 to -44) where the
expected-value difference was +27; review)."""
MAX_UNPAIRED = 40_000
"""Most (i, j) pairs used for an unpaired interval (a regular subsample beyond)."""


class MixedModesError(PlacesimError):
    """An expected-mode run compared with a stochastic one without ``allow_mixed``."""


def _mode(res) -> str:
    return str(res.manifest.get("mode", "stochastic"))


def pairing(a, b) -> str:
    """How two results can be compared: ``paired``, ``unpaired``, ``mixed`` or ``none``.

    Parameters
    ----------
    a, b : Results

    Returns
    -------
    str
        ``none`` when both are single expected-value runs; ``mixed`` when one run is
        expected-mode and the other stochastic; ``paired`` when both have several runs
        (stochastic replications, or expected-value runs each with its own parameter draw)
        with the same seed and per-replication values; ``unpaired`` otherwise (among them an
        expected-value run with parameter draws against one without), ``unavailable``
        without per-replication values.
    """
    modes = {_mode(a), _mode(b)}
    if modes == {"expected"}:
        if not (a.banded or b.banded):
            return "none"
        if not (a.banded and b.banded):  # (one run's draws against the other's value)
            return "unpaired" if a.replications is not None and b.replications is not None \
                else "unavailable"
    elif "expected" in modes:
        return "mixed"
    if a.replications is None or b.replications is None:
        return "unavailable"
    if a.manifest.get("seed") == b.manifest.get("seed"):
        return "paired"
    return "unpaired"


def _wide(res) -> pd.DataFrame:
    """Per-replication values as a (year, metric, group) x replication table."""
    r = res.replications
    r = r.assign(metric=r["metric"].astype(str), group=r["group"].astype(str))
    return r.pivot_table(index=KEYS, columns="replication", values="value", aggfunc="first",
                         dropna=False)


def _quantiles(values: np.ndarray) -> np.ndarray:
    """P10, P50, P90 along axis 1, ignoring NaN (rows all NaN give NaN)."""
    out = np.full((len(values), 3), np.nan)
    ok = ~np.all(np.isnan(values), axis=1)
    if ok.any():
        out[ok] = np.nanquantile(values[ok], [0.1, 0.5, 0.9], axis=1).T
    return out


def compare_results(a, b, *, allow_mixed: bool = False) -> pd.DataFrame:
    """Join two results on ``year, metric, group`` and describe the difference ``b - a``.

    Parameters
    ----------
    a, b : Results
        ``a`` is the reference (e.g. the baseline), ``b`` the scenario.
    allow_mixed : bool, default False
        Compare an expected-mode run with a stochastic one (refused otherwise).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`: the means (and medians, ``p50_a``, ``p50_b``, of each run's
        runs), ``diff`` (difference of the means), ``diff_p10``,
        ``diff_p50``, ``diff_p90`` and ``interval`` saying which interval they are (see
        :data:`INTERVALS`). ``attrs`` holds the scenario names (``a``, ``b``) and the pairing.

    Raises
    ------
    MixedModesError
        One run is expected-mode, the other stochastic, and ``allow_mixed`` is False.
    """
    how = pairing(a, b)
    if how == "mixed" and not allow_mixed:
        raise MixedModesError(
            "cannot compare an expected-mode run with a stochastic one (a mean against a "
            "distribution); rerun both in one mode, or pass --allow-mixed")
    ma = a.metrics[KEYS + ["mean", "p50"]].rename(columns={"p50": "p50_a"})
    mb = b.metrics[KEYS + ["mean", "p50"]].rename(columns={"p50": "p50_b"})
    # every row of either run: one only a lever's run has (its sites, the places its
    # outreach works) is kept with the other run's value missing (an inner join dropped them)
    j = ma.merge(mb, on=KEYS, suffixes=("_a", "_b"), how="left")
    only_b = mb.merge(ma[KEYS], on=KEYS, how="left", indicator=True)
    only_b = only_b[only_b["_merge"] == "left_only"].drop(columns="_merge")
    if len(only_b):  # (after A's rows of each year, in B's order)
        j = pd.concat([j, only_b.rename(columns={"mean": "mean_b"}).assign(
            mean_a=np.nan, p50_a=np.nan)], ignore_index=True).sort_values(
            "year", kind="stable", ignore_index=True)
    j["diff"] = j["mean_b"] - j["mean_a"]
    q = np.full((len(j), 3), np.nan)
    runs = 0  # (behind the interval: the pairs, or the fewer of two sets of runs)
    if how == "none":
        q[:] = j[["diff"]].to_numpy()
    elif how != "unavailable":
        wa = _wide(a).reindex(pd.MultiIndex.from_frame(j[KEYS]))
        wb = _wide(b).reindex(pd.MultiIndex.from_frame(j[KEYS]))
        va, vb = wa.to_numpy(float), wb.to_numpy(float)
        if how == "paired":
            common = wa.columns.intersection(wb.columns)
            runs = len(common)
            d = wb[common].to_numpy(float) - wa[common].to_numpy(float)
            n = (~np.isnan(d)).sum(axis=1)  # the exact mean difference (not rounded)
            j["diff"] = np.where(n > 0, np.nansum(d, axis=1) / np.maximum(n, 1), j["diff"])
        else:  # unpaired or mixed: every (i, j) pair of independent draws
            runs = min(n for n in (va.shape[1], vb.shape[1]) if n > 1) if max(
                va.shape[1], vb.shape[1]) > 1 else 1
            ia, ib = np.meshgrid(np.arange(va.shape[1]), np.arange(vb.shape[1]), indexing="ij")
            ia, ib = ia.ravel(), ib.ravel()
            if len(ia) > MAX_UNPAIRED:
                keep = np.linspace(0, len(ia) - 1, MAX_UNPAIRED).astype(np.int64)
                ia, ib = ia[keep], ib[keep]
            d = vb[:, ib] - va[:, ia]
        q = _quantiles(d)
    j["diff_p10"], j["diff_p50"], j["diff_p90"] = q[:, 0], q[:, 1], q[:, 2]
    differ = coldspots_differ(a, b)
    if differ:  # (each run's own figure stays; their difference would be the definition's)
        j.loc[about_coldspots(j["metric"], j["group"]),
              ["diff", "diff_p10", "diff_p50", "diff_p90"]] = np.nan
    j["interval"] = how
    j.attrs["coldspots"] = differ
    j.attrs["runs"] = runs
    j.attrs["banded"] = (a.banded, b.banded)
    j.attrs["chance"] = "stochastic" in {_mode(a), _mode(b)}  # (random variation in a band)
    j.attrs["a"] = a.manifest.get("scenario", "A")
    j.attrs["b"] = b.manifest.get("scenario", "B")
    j.attrs["pairing"] = how
    return j[COLUMNS]


def coldspots_differ(a, b) -> tuple[str, str] | None:
    """The two runs' coldspot definitions in words (with their numbers of districts) when
    they count different districts as coldspots, else None (also when either results folder
    predates the record of them)."""
    ca, cb = (r.manifest.get("coldspots") for r in (a, b))
    if not ca or not cb or ca["digest"] == cb["digest"]:
        return None
    return tuple(f"{c['definition']} ({_districts(c)})" for c in (ca, cb))


def _districts(c: dict) -> str:
    """A coldspot definition's districts in words: how many, and how many of them are
    outside London, which the coldspot figures count (a definition of 31 with Newham among
    them was read as 31 in figures over 30; review)."""
    n, out = c["districts"], c.get("outside_london")
    if out is None or out == n:
        return f"{n} districts"
    return f"{n} districts, {out} of them outside London"


def about_coldspots(metric: pd.Series, group: pd.Series) -> np.ndarray:
    """Rows whose figure depends on which districts are coldspots: a group in the coldspots
    or the rest outside London (``coldspots``, ``grade:EO|coldspots``, ``elsewhere``: neither
    a coldspot nor a site; it was differenced; review) or a coldspot metric."""
    parts = group.astype(str).str.split("|")
    return (parts.map(lambda p: "coldspots" in p or "elsewhere" in p)
            | metric.astype(str).str.contains("coldspot")).to_numpy(bool)


def coldspots_note(diff: pd.DataFrame) -> str:
    """What to say when the two runs count different districts as coldspots ("" when they
    count the same): their coldspot figures are shown, not differenced. (coldspots-first uses
    ci1's 31 districts, the baseline ci4's 58, 9 in both: the difference in the low-SEB share
    of joiners in the coldspots was +0.8 points against the baseline, -0.2 against the
    baseline with ci1; review.)"""
    differ = diff.attrs.get("coldspots")
    if not differ:
        return ""
    return coldspots_words(diff.attrs.get("a", "A"), diff.attrs.get("b", "B"), differ)


def coldspots_words(a: str, b: str, differ: tuple[str, str]) -> str:
    """:func:`coldspots_note` for runs named ``a`` and ``b`` (:func:`coldspots_differ`)."""
    return (f"{a} and {b} count different districts as coldspots ({a}: {differ[0]}; {b}: "
            f"{differ[1]}): their coldspot figures are each run's own, not differenced; to "
            f"compare them, run {a} with {b}'s coldspots: section")


def measures_note(diff: pd.DataFrame, year: int | None = None) -> str:
    """What to say where the two measures of EOs reaching Grade 7 move in opposite
    directions in a place ("" where they do not): the EOs followed from the start (of
    1,000) and the period chance. (In coldspots-first, London's followed EOs went 38 -> 20
    of 1,000 while its period chance rose 17.3% -> 20.1%, with nothing to reconcile them;
    review.)"""
    from .present import group_label, listed

    year = int(diff["year"].max()) if year is None else year
    d = diff[diff["year"] == year].set_index(["metric", "group"])["diff"]
    apart = [group for group in ("london", "outside_london")
             if ("cohort_eo_to_g7", group) in d.index
             and ("progression_eo_to_g7", group) in d.index
             and d[("cohort_eo_to_g7", group)] * d[("progression_eo_to_g7", group)] < 0]
    if not apart:
        return ""
    return (f"in {listed([group_label(g) for g in apart])}, the EOs followed from the "
            "start and the chance an EO reaches Grade 7 move in opposite directions: the "
            "first follows the people in post there at the start wherever they go, or leave "
            "(a moved post's holder may leave rather than move, and posts above them that "
            "move away are vacancies they can no longer be promoted into there); the second "
            "is the promotion and leaving rates of the posts there in the year, whoever holds "
            "them")


def few_runs_note(diff: pd.DataFrame) -> str:
    """What to say of a comparison's intervals when fewer than :data:`FEW_RUNS` runs are
    behind them ("" otherwise, and for exact differences)."""
    runs = diff.attrs.get("runs", 0)
    if diff.attrs.get("pairing") not in ("paired", "unpaired", "mixed") or not (
            0 < runs < FEW_RUNS):
        return ""
    if not diff.attrs.get("chance", True):  # (expected values of parameter draws)
        return (f"{runs} parameter draws: the P10 and P90 of so few are rough: run "
                f"{FEW_RUNS} or more")
    return (f"{runs} runs: the P10 and P90 of so few are rough; a difference whose interval "
            f"leaves out zero may still be chance: run {FEW_RUNS} or more")


def format_comparison(diff: pd.DataFrame, year: int | None = None,
                      groups: tuple[str, ...] = ("all", "london", "outside_london", "coldspots")
                      ) -> str:
    """Plain-text table of the differences in one year (default: the last), for the UK,
    London, outside London and the coldspots outside London (``difference.csv`` of a brief
    has every group), each figure by its name as the brief gives it.

    Raises
    ------
    PlacesimError
        ``year`` is not one the comparison holds (an empty table, exit 0, said nothing of
        it; review).
    """
    from .metrics import LATER_THAN_THE_RUN
    from .present import fmt_central, headline_label, measure

    if year is not None:
        check_year("compare", year, diff["year"], " (each figure is at 31 March of its year)")
    year = int(diff["year"].max()) if year is None else year
    d = diff[(diff["year"] == year) & diff["group"].isin(groups)]
    a, b = diff.attrs.get("a", "A"), diff.attrs.get("b", "B")
    how = diff.attrs.get("pairing", "unavailable")
    lines = [f"{b} minus {a}, {year}: the figure of each, the difference, and its interval",
             f"  interval: {INTERVALS[how]}"]
    for note in (few_runs_note(diff), coldspots_note(diff), measures_note(diff, year)):
        if note:
            lines.append(f"  ({note})")
    if any(measure(m).unit == "gbp" for m in d["metric"].unique()):
        lines.append(f"  money: in constant prices; lines marked \"in {year}\" are that year's "
                     "alone (the brief's value-for-money page sums them over the years)")
    labels = [headline_label(r.metric, r.group) + (f", in {year}" if measure(
        r.metric).in_the_year else "") for r in d.itertuples(index=False)]
    width = min(max((len(x) for x in labels), default=0), 72)
    banded_a, banded_b = diff.attrs.get("banded", (False, False))
    for label, r in zip(labels, d.itertuples(index=False), strict=True):
        # a figure some runs never come to (the payback year): each run's median run, as
        # the brief gives it, and no difference of years (the brief's "n/a": the mean of
        # the runs where both came to it said -1 year between two "none by"; review)
        later = r.metric in LATER_THAN_THE_RUN and (banded_a or banded_b)
        lo, hi = (fmt_diff(r.metric, x, in_range=True) for x in (r.diff_p10, r.diff_p90))
        band = ("" if how == "none" or np.isnan(r.diff_p10) or later  # (exact, or none)
                else f"  (P10 and P90: {lo})" if lo == hi
                else f"  ({fmt_range(r.metric, lo, hi, diff=True)})")  # (already formatted)
        if len(label) > width:  # (a long name on a line of its own)
            lines.append(f"  {label}")
            label = ""
        lines.append(
            f"  {label:<{width}} {fmt_central(r.metric, r.mean_a, r.p50_a, banded_a, year):>13}"
            f" → {fmt_central(r.metric, r.mean_b, r.p50_b, banded_b, year):>13}   "
            f"{'n/a' if later else fmt_diff(r.metric, r.diff):>14}{band}")
    return "\n".join(lines)
