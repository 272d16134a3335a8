"""Disclosure control: the one rule every exported count, share and chart passes through.

Results describe people (grade, place and socio-economic background, which is sensitive
personal data), so every export — tables, CSVs, spreadsheets, maps, tooltips, the briefing
PDF — shows figures through :func:`protect`. The rule, stated once in :data:`RULE_TEXT`:

* a count of people or posts is rounded to a whole number; zero stays zero; a count under
  the threshold (default 5, as ONS and the Cabinet Office use) is withheld and shown as
  ``[c]``; other counts are rounded to the nearest 5;
* a share, rate or chance computed from fewer than 10 × threshold people (50) is withheld as
  ``[c]`` too, since it would disclose the background of a few people;
* other figures (shares, money, ratios) are kept as they are.

Which metrics are counts comes from :mod:`placesim.present` (units ``people`` and ``posts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .present import measure

SUPPRESSED = "[c]"
VALUE_COLUMNS = ("mean", "p10", "p50", "p90")


@dataclass(frozen=True)
class DisclosureRule:
    """How small numbers are protected.

    Attributes
    ----------
    threshold : int
        Counts under this are withheld.
    rounding : int
        Other counts are rounded to a multiple of this (1 = no rounding).
    share_base : int or None
        Shares of fewer people than this are withheld (default ``10 * threshold``).
    """

    threshold: int = 5
    rounding: int = 5
    share_base: int | None = None

    @property
    def base(self) -> int:
        return 10 * self.threshold if self.share_base is None else self.share_base


RULE = DisclosureRule()


def rule_text(rule: DisclosureRule = RULE) -> str:
    """The rule in one sentence, for cover sheets, captions and the briefing pack."""
    rounding = (f"other counts are rounded to the nearest {rule.rounding}"
                if rule.rounding > 1 else "other counts are shown in full")
    worked = (" Shares and changes are worked out from the unrounded figures, so they can "
              "differ a little from the rounded counts beside them."
              if rule.rounding > 1 else "")
    return (f"Counts of people or posts under {rule.threshold} are withheld and shown as "
            f"{SUPPRESSED}; {rounding}; shares of fewer than {rule.base} people are withheld "
            f"too.{worked}")


RULE_TEXT = rule_text()


def protect(values, *, count, base=None, rule: DisclosureRule = RULE) -> np.ndarray:
    """Apply the disclosure rule to values.

    Parameters
    ----------
    values : array-like of float
    count : bool or array-like of bool
        Which values are counts of people or posts.
    base : array-like of float, optional
        The number of people each non-count value (a share or chance) is computed from; NaN
        where unknown (then the value is kept).
    rule : DisclosureRule

    Returns
    -------
    numpy.ndarray
        Object array: counts as ``int`` (multiples of ``rule.rounding``, or 0),
        ``"[c]"`` where withheld, other values as ``float`` (NaN kept).

    Examples
    --------
    >>> protect([0.2, 3.0, 7.0, 123.0], count=True).tolist()
    [0, '[c]', 5, 125]
    >>> protect([0.41234, 0.5], count=False, base=[400, 20]).tolist()
    [0.41234, '[c]']
    """
    v = np.asarray(values, float)
    is_count = np.broadcast_to(np.asarray(count, bool), v.shape)
    finite = np.isfinite(v)
    whole = np.where(finite, np.round(v), 0.0)
    small = is_count & finite & (whole != 0) & (np.abs(whole) < rule.threshold)
    if base is not None:
        b = np.broadcast_to(np.asarray(base, float), v.shape)
        small |= ~is_count & finite & np.isfinite(b) & (b < rule.base)
    step = max(rule.rounding, 1)
    counts = np.round(whole / step) * step
    out = np.empty(v.shape, dtype=object)
    for i in np.ndindex(v.shape):
        if small[i]:
            out[i] = SUPPRESSED
        elif not finite[i]:
            out[i] = float("nan")
        elif is_count[i]:
            out[i] = int(counts[i]) + 0  # + 0: no negative zero
        else:
            out[i] = float(v[i])
    return out


def protect_value(metric: str, value, *, base=None, rule: DisclosureRule = RULE):
    """One metric's value through :func:`protect` (``int``, ``float`` or ``"[c]"``)."""
    if isinstance(value, str):
        return value
    return protect([value], count=measure(metric).is_count,
                   base=None if base is None else [base], rule=rule)[0]


def is_count_metric(metrics: pd.Series) -> np.ndarray:
    """Boolean mask of rows whose metric counts people or posts."""
    kinds = {m: measure(str(m)).is_count for m in pd.unique(metrics)}
    return metrics.map(kinds).to_numpy(bool)


def metric_bases(metrics: pd.DataFrame) -> np.ndarray:
    """The number of people each non-count headline value is computed from, where the table
    tells (NaN elsewhere): the grade's headcount for a grade's SEB share, the site's EO
    posts for a site's progression, the SCS headcount or posts for SCS shares."""
    m = metrics
    base = np.full(len(m), np.nan)
    hc = m[m["metric"] == "headcount"]
    grade_hc = (hc[hc["group"].str.startswith("grade:")]
                .assign(grade=lambda f: f["group"].str.split("|").str[0].str[6:],
                        place=lambda f: f["group"].str.split("|").str[1])
                .groupby(["year", "grade", "place"])["mean"].sum())
    if len(grade_hc):
        by_grade = grade_hc.groupby(level=["year", "grade"]).sum()
        sel = (m["metric"] == "high_seb_share") & m["group"].str.startswith("grade:")
        keys = pd.MultiIndex.from_arrays([m.loc[sel, "year"], m.loc[sel, "group"].str[6:]])
        base[sel.to_numpy()] = by_grade.reindex(keys).to_numpy(float)
        scs = grade_hc[grade_hc.index.get_level_values("grade").isin(
            ["SCS1", "SCS2", "SCS3", "PS"])]
        for metric, places in (("high_seb_share_london_scs", ("london",)),
                               ("high_seb_share_non_london_scs",
                                ("outside_london", "elsewhere"))):  # (a folder written
            # before the rename says "elsewhere"; reading only that left the share unguarded)
            sel = ((m["metric"] == metric) & (m["group"] == "all")).to_numpy()
            if sel.any():
                per_year = scs[scs.index.get_level_values("place").isin(places)].groupby(
                    level="year").sum()
                base[sel] = per_year.reindex(m.loc[sel, "year"]).to_numpy(float)
    # a department's view has no headcount by grade and place, whether its rows are dept:X
    # ones or its own table (placesim.departments.department_results: group all): its SCS
    # posts there are the base (not the whole service's SCS, which would pass a small
    # department's share that its own few people should withhold)
    posts = m[m["metric"] == "scs_posts"].set_index(["year", "group"])["mean"]

    def scs_posts(sel: np.ndarray, place: str) -> np.ndarray:
        """The SCS posts of each selected row's group (all, or dept:X) at ``place``."""
        group = m.loc[sel, "group"]
        return posts.reindex(pd.MultiIndex.from_arrays([m.loc[sel, "year"], np.where(
            group == "all", place, group + f"|{place}")])).to_numpy(float)

    dept = m["group"].str.startswith("dept:").to_numpy()
    for metric, place in (("high_seb_share_london_scs", "london"),
                          ("high_seb_share_non_london_scs", "outside_london")):
        sel = (m["metric"] == metric).to_numpy() & (dept | np.isnan(base))
        if sel.any():
            base[sel] = scs_posts(sel, place)
    # the SCS outside London's shares: of the group's SCS posts, in and outside London (a
    # department of four SCS showed 52.5% where its counts were withheld; review)
    for metric in ("scs_outside_london_share", "scs_outside_london_share_acses"):
        sel = (m["metric"] == metric).to_numpy() & (dept | (m["group"] == "all").to_numpy())
        if sel.any():
            base[sel] = scs_posts(sel, "london") + scs_posts(sel, "outside_london")
    # the higher-SEB share of London's own G7 and above: of its people there (the whole
    # service's, or a department's; a department of 50 people showed 69.5%; review)
    sel = (m["metric"] == "high_seb_share_london_g7_plus").to_numpy()
    if sel.any():
        group = m.loc[sel, "group"]
        key = np.where(group == "all", "g7_plus|london", group + "|g7_plus|london")
        people = hc.set_index(["year", "group"])["mean"]
        base[sel] = people.reindex(pd.MultiIndex.from_arrays(
            [m.loc[sel, "year"], key])).to_numpy(float)
    site = m[(m["metric"] == "site_posts") & m["group"].str.endswith(":EO")]
    if len(site):
        eo = site.assign(site=site["group"].str.rsplit(":", n=1).str[0]).set_index(
            ["year", "site"])["mean"]
        sel = (m["metric"].str.startswith("progression_") & m["group"].str.startswith("site:"))
        keys = pd.MultiIndex.from_arrays([m.loc[sel, "year"], m.loc[sel, "group"]])
        base[sel.to_numpy()] = eo.reindex(keys).to_numpy(float)
    return base


def control_metrics(metrics: pd.DataFrame, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """A headline metrics table (``year, metric, group, mean, p10, p50, p90``) through the
    rule; value columns become objects holding numbers or ``"[c]"``.

    Examples
    --------
    >>> df = pd.DataFrame({"scenario": ["s"], "year": [2030], "metric": ["headcount"],
    ...                    "group": ["seb:low"], "mean": [3.0], "p10": [1.0], "p50": [3.0],
    ...                    "p90": [6.0]})
    >>> control_metrics(df)["mean"].iloc[0]
    '[c]'
    """
    out = metrics.copy()
    is_count = is_count_metric(out["metric"])
    base = metric_bases(out)
    for col in VALUE_COLUMNS:
        if col in out:
            out[col] = protect(out[col].to_numpy(float), count=is_count, base=base, rule=rule)
    return out


def control_districts(districts: pd.DataFrame, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """The district table, long (``year, lad_code, metric, mean, …``) or wide (one column per
    metric), through the rule; a district's shares use its headcount as their base."""
    out = districts.copy()
    if "metric" in out.columns:
        hc = out[out["metric"] == "headcount"].set_index(["year", "lad_code"])["mean"]
        key = pd.MultiIndex.from_frame(out[["year", "lad_code"]])
        base = hc.reindex(key).to_numpy(float)
        is_count = is_count_metric(out["metric"])
        for col in VALUE_COLUMNS:
            if col in out:
                out[col] = protect(out[col].to_numpy(float), count=is_count, base=base,
                                   rule=rule)
        return out
    base = districts["headcount"].to_numpy(float) if "headcount" in districts else None
    for col in out.columns:
        if col in ("lad_code", "lad_name", "year", "scenario"):
            continue
        m = measure(col)
        if pd.api.types.is_numeric_dtype(out[col]):
            out[col] = protect(out[col].to_numpy(float), count=m.is_count,
                               base=None if m.is_count else base, rule=rule)
    return out


def controlled_numbers(values) -> pd.Series:
    """Protected values as floats for drawing (``[c]`` becomes NaN: "withheld")."""
    return pd.to_numeric(pd.Series(values), errors="coerce")
