"""One map, rendered three ways: the app's pydeck view, the offline HTML and the static figure.

:func:`map_view` gathers everything a map shows — the district values (through disclosure
control), their classes, hub markers, arcs of moved posts, tooltips and labels — once, so
the app, ``placesim map`` and the briefing pack show the same classes, colours and legend.

* **Classes** (:func:`classify`): differences and changes are diverging and centred on zero
  (ColorBrewer PuOr: orange = more, purple = fewer, a neutral class for "no change or fewer
  than 5"); other measures get quantile breaks rounded to readable numbers. Legends carry
  units and never show a degenerate class such as "−10,130 to −10,130".
* **Layout**: every rendering has a London inset (a second deck.gl view; an inset axes in
  the static figure), hub markers are rings so the district under them stays visible, arcs
  are one colour keyed in the legend, site labels are placed so they do not collide (a
  greedy placer for deck.gl, adjustText for the figure) on a white halo that keeps the
  contrast with any fill, and an optional outline marks social-mobility coldspots.
* **Offline**: no basemap, token or CDN (``map_provider=None``); the district polygons are
  the base layer, simplified for speed and file size.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from .disclosure import RULE, SUPPRESSED, DisclosureRule, controlled_numbers, protect
from .present import (
    ARC_COLOUR,
    BORDER_COLOUR,
    COLDSPOT_COLOUR,
    NO_DATA,
    PALETTES,
    RGB,
    SITE_COLOUR,
    fmt_diff,
    fmt_value,
    hex_colour,
    measure,
)

#: District measures from results, and district attributes from the data package.
RESULT_METRICS = ("net_posts_gained", "headcount", "headcount_change", "posts", "scs_posts",
                  "high_seb_share")
ATTRIBUTE_METRICS = ("coldspot", "ci1_zscore", "ci2_zscore", "ci3_zscore", "ci4_zscore")
#: Measures that are themselves changes (mapped like differences: centred on zero).
CHANGE_METRICS = ("net_posts_gained", "headcount_change")
#: The London inset: the Greater London bounding box (lon, lat) and where the inset sits.
LONDON_BOX = (-0.52, 51.28, 0.34, 51.70)
INSET = {"x": "66%", "y": "2%", "width": "33%", "height": "34%"}
MAIN_VIEW = {"latitude": 54.6, "longitude": -3.6, "zoom": 4.7}
LONDON_VIEW = {"latitude": 51.49, "longitude": -0.11, "zoom": 8.1}


@dataclass(frozen=True)
class MapSpec:
    """What a map shows and how.

    Attributes
    ----------
    metric : str
        A district measure (:data:`RESULT_METRICS`) or attribute (:data:`ATTRIBUTE_METRICS`).
    year : int or None
    k : int
        Number of classes for sequential measures.
    palette : str
        Key of :data:`placesim.present.PALETTES` for sequential measures.
    title, subtitle : str
    extra : dict
        ``difference`` (bool): a difference between two runs; ``coldspots`` (bool): outline
        coldspots; ``coldspot_rule``.
    """

    metric: str
    year: int | None = None
    k: int = 5
    palette: str = "viridis"
    title: str = ""
    subtitle: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return measure(self.metric).label

    @property
    def diverging(self) -> bool:
        return bool(self.extra.get("difference")) or self.metric in CHANGE_METRICS

    @property
    def legend_title(self) -> str:
        m = measure(self.metric)
        if self.extra.get("difference"):
            unit = "points" if m.unit in ("share", "chance") else m.unit_words
            return f"{self.title or 'Difference in ' + m.label.lower()} ({unit})"
        return f"{self.title or m.label} ({m.unit_words})" if m.unit_words else (
            self.title or m.label)


@dataclass(frozen=True)
class Classes:
    """Class labels and colours shared by every rendering.

    Attributes
    ----------
    labels, colours : list
        One per class shown in the legend, in legend order.
    index : numpy.ndarray
        Class (position in ``labels``) of each value; -1 = no data or withheld.
    edges : list of float
        Inner class boundaries (a value ``v`` is in the first class whose upper edge is
        above it); for reading and testing.
    """

    labels: list[str]
    colours: list[RGB]
    index: np.ndarray
    edges: list[float] = field(default_factory=list)


# --- classes ----------------------------------------------------------------------------------

def nice(v: float, *, step: float = 1.0) -> float:
    """A class edge a reader can take in, keeping its sign: counts (``step`` of 1 or more)
    to 1, 2, 2.5 or 5 times a power of ten, and a multiple of ``step`` (5 for counts, so an
    edge never splits the rounded counts); shares and indices to two significant figures.
    ``nice(1234, step=5) == 1000``; ``nice(0.3421, step=0.01) == 0.34``."""
    a = abs(float(v))
    if a == 0:
        return 0.0
    p = 10 ** math.floor(math.log10(a))
    if step >= 1:
        a = min((m * p for m in (1, 2, 2.5, 5, 10)), key=lambda x: abs(x - a))
    else:
        a = round(a, 1 - math.floor(math.log10(a)))
    return math.copysign(max(step, round(round(a / step) * step, 10)), v)


def _is_share(metric: str) -> bool:
    return measure(metric).unit in ("share", "chance")


def _num(metric: str, v: float) -> str:
    """A class edge as a reader sees it (no sign)."""
    if _is_share(metric):
        pts = abs(v) * 100
        return f"{pts:g}%"
    if measure(metric).unit == "number":
        return f"{abs(v):g}"
    return f"{abs(v):,.0f}"


def classify(values: pd.Series, spec: MapSpec, rule: DisclosureRule = RULE) -> Classes:
    """Class the values (already through disclosure control; NaN = no data or withheld).

    Parameters
    ----------
    values : pandas.Series
    spec : MapSpec
    rule : DisclosureRule
        Its threshold is the "no change" band of count differences.

    Returns
    -------
    Classes
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    ok = np.isfinite(v)
    idx = np.full(len(v), -1)
    if spec.metric == "coldspot":
        idx[ok] = v[ok].astype(int)
        return Classes(["Not a coldspot", "Coldspot"],
                       [PALETTES["cividis"][1], PALETTES["cividis"][4]], idx, [0.5])
    if not ok.any():
        return Classes([], [], idx)
    if spec.diverging:
        return _diverging(v, spec, rule)
    return _sequential(v, spec)


SKEWED = 10.0
"""How far beyond a map's top class edge its largest value may be before the classes change
to show it (a class of its own on a sequential map; ratio-stepped classes on a difference
map)."""


def quantile_edges(v: np.ndarray, k: int) -> np.ndarray:
    """The inner edges of ``k`` quantile classes of ``v``.

    The ``100 i / k`` percentiles (i = 1..k, linear interpolation), repeated ones once, without
    the last (the maximum): mapclassify's ``Quantiles(v, k).bins[:-1]`` to within rounding
    (2e-15 relative over 12,000 random samples), without importing mapclassify, whose import
    of scipy.stats and scikit-learn took several seconds at each process's first map.

    Parameters
    ----------
    v : numpy.ndarray
        Finite values.
    k : int
        Classes wanted (at least 1).

    Returns
    -------
    numpy.ndarray
        Increasing edges, at most ``k - 1`` of them.

    Examples
    --------
    >>> quantile_edges(np.arange(1.0, 11.0), 2).tolist()
    [5.5]
    """
    p = np.minimum(np.arange(1, k + 1) * (100.0 / k), 100.0)
    return np.unique(np.percentile(v, p))[:-1]


def _sequential(v: np.ndarray, spec: MapSpec) -> Classes:
    ok = np.isfinite(v)
    share = _is_share(spec.metric)
    unit = measure(spec.metric).unit
    step = 0.01 if share else 0.5 if unit == "number" else 5.0
    uniq = np.unique(v[ok])
    k = int(min(spec.k, len(uniq)))
    inner: list[float] = []
    if k > 1:
        inner = _nice_edges(quantile_edges(v[ok], k), v[ok], step)
        if not inner:  # (most districts share the least value: a department's SCS posts, 0
            # in 324 of 361, drew every district as one class, "All districts"; review):
            # the classes of the values above it, the least value in the lowest
            inner = _nice_edges(quantile_edges(v[ok][v[ok] > uniq[0]], k), v[ok], step)
        if not inner:  # (those above it all alike, or all below the first nice edge: the
            # least value, and the rest)
            inner = [float(uniq[1])]
        top = float(v[ok].max())
        if inner[-1] > 0 and top > SKEWED * inner[-1]:  # (a few far beyond the rest get a
            # class of their own: Westminster's 2,751 SCS posts and Darlington's 268 were
            # both "10 or more"; review)
            e = nice(inner[-1] * (top / inner[-1]) ** (2 / 3), step=step)
            if inner[-1] < e < top:
                inner.append(e)
    idx = np.full(len(v), -1)
    idx[ok] = np.searchsorted(np.array(inner), v[ok], side="right")
    n = len(inner) + 1
    pal = PALETTES[spec.palette]
    colours = [pal[int(round(i * (len(pal) - 1) / max(n - 1, 1)))] for i in range(n)]
    if n == 1:
        labels = [_num(spec.metric, uniq[0]) if len(uniq) == 1 else "All districts"]
    else:
        def show(e):
            return ("−" if e < 0 else "") + _num(spec.metric, e)
        labels = ([f"Under {show(inner[0])}"]
                  + [f"{show(a)} to under {show(b)}" for a, b in zip(inner, inner[1:],
                                                                      strict=False)]
                  + [f"{show(inner[-1])} or more"])
        lowest = np.unique(v[ok][idx[ok] == 0])
        if len(lowest) == 1:  # (one value alone, as where disclosure control withholds
            # the counts from 1 to 4: "Under 5" held the districts with none; review)
            labels[0] = "None" if lowest[0] == 0 else show(lowest[0])
    return Classes(labels, colours, idx, inner)


def _nice_edges(bins: np.ndarray, v: np.ndarray, step: float) -> list[float]:
    """Quantile edges ``bins`` made :func:`nice`, increasing, and each inside the range of
    ``v`` (above its least value, at most its greatest)."""
    inner: list[float] = []
    for b in bins:
        e = nice(b, step=step) if b > 0 else -nice(-b, step=step) if b < 0 else 0.0
        if (not inner or e > inner[-1]) and v.min() < e <= v.max():
            inner.append(e)
    return inner


def _diverging(v: np.ndarray, spec: MapSpec, rule: DisclosureRule) -> Classes:
    ok = np.isfinite(v)
    share = _is_share(spec.metric)
    unit = measure(spec.metric).unit
    diff = bool(spec.extra.get("difference"))
    if share:
        tol, step, unit_words = 0.005, 0.005, " points"
        more, fewer = "higher", "lower"
    else:
        tol, step = float(rule.threshold), float(max(rule.rounding, 1))
        unit_words = f" {unit}" if unit in ("people", "posts") else ""
        more, fewer = ("more", "fewer") if diff else ("gained", "lost")
    real = np.abs(v[ok])[np.abs(v[ok]) >= tol]
    edges: list[float] = []
    if len(real):
        for q in (1 / 3, 2 / 3):
            e = nice(float(np.quantile(real, q)), step=step)
            if e > tol and (not edges or e > edges[-1]) and e < real.max():
                edges.append(e)
        if real.max() > SKEWED * (edges[-1] if edges else tol):  # (a few far beyond the
            # rest: the classes step by a constant ratio from the threshold to the largest,
            # as Leeds's +2,889 and Cornwall's +26 were both "at least 25 posts"; review)
            edges = []
            for q in (1 / 3, 2 / 3):
                e = nice(tol * (real.max() / tol) ** q, step=step)
                if e > tol and (not edges or e > edges[-1]) and e < real.max():
                    edges.append(e)
    bounds = [tol, *edges]  # positive side: [tol, e1), [e1, e2), [e2, inf)

    def num(x):
        return f"{x * 100:g}" if share else f"{x:,.0f}"

    def side_labels(word):
        out = []
        for i, lo in enumerate(bounds):
            if i + 1 < len(bounds):
                out.append(f"{num(lo)} to under {num(bounds[i + 1])}{unit_words} {word}")
            else:
                out.append(f"At least {num(lo)}{unit_words} {word}")  # ("5 posts or
                # more more" on a difference map; review)
        return out

    central = (f"Within ±{num(tol)} points" if share
               else f"No change or fewer than {num(tol)}{unit_words}")
    labels_all = side_labels(fewer)[::-1] + [central] + side_labels(more)
    pal7 = PALETTES["diverging"]
    n_side = len(bounds)
    side_cols = {1: [2], 2: [1, 2], 3: [0, 1, 2]}[n_side]
    colours_all = ([pal7[i] for i in side_cols] + [pal7[3]]
                   + [pal7[6 - i] for i in side_cols[::-1]])
    a = np.abs(v)
    pos = np.searchsorted(np.array(bounds), a, side="right")  # 0 = central, 1.. = classes
    cls = np.where(pos == 0, n_side, np.where(v > 0, n_side + pos, n_side - pos))
    cls = np.where(ok, cls, -1)
    used = sorted(set(cls[ok].tolist()))
    remap = {old: new for new, old in enumerate(used)}
    idx = np.array([remap.get(c, -1) for c in cls])
    return Classes([labels_all[i] for i in used], [colours_all[i] for i in used], idx,
                   [-e for e in bounds[::-1]] + bounds)


# --- values -----------------------------------------------------------------------------------

def run_coldspots(pkg, results) -> pd.Series:
    """Whether each district is a coldspot (bool, by ``lad_code``): as the run counted them
    (its manifest), or, with no run or one whose manifest predates the record of them, by
    the default rule. (Maps drew the default index's whatever the run's: coldspots-first,
    on ci1, was shaded and labelled with the baseline's ci4; review.)"""
    from .geodata import coldspot_districts

    codes = pkg.districts["lad_code"]
    listed = ((results.manifest.get("coldspots") or {}).get("codes")
              if results is not None else None)
    if listed is not None:
        return pd.Series(codes.isin(listed).to_numpy(), index=codes.to_numpy())
    return coldspot_districts(pkg).reindex(codes).fillna(False).astype(bool)


def district_values(results, pkg, spec: MapSpec) -> pd.Series:
    """The raw values a map shows, by district (results measure or data attribute)."""
    codes = pkg.districts["lad_code"].to_numpy()
    if spec.metric in ATTRIBUTE_METRICS or results is None:
        if spec.metric == "coldspot":
            from .geodata import coldspot_districts

            if "coldspot_rule" not in spec.extra:
                return run_coldspots(pkg, results).astype(float)
            rule = spec.extra["coldspot_rule"]
            return coldspot_districts(pkg, rule=rule).astype(float).reindex(codes)
        sm = pkg.social_mobility.set_index("lad_code")
        col = spec.metric if spec.metric in sm.columns else "ci1_zscore"
        return sm[col].reindex(codes).astype(float)
    d = results.districts
    year = int(d["year"].max()) if spec.year is None else spec.year
    sel = d[(d["year"] == year) & (d["metric"] == spec.metric)]
    return sel.set_index("lad_code")["mean"].reindex(codes).astype(float)


def _district_frame(results, year: int) -> pd.DataFrame:
    """A year's district table, wide: (district, metric) means. Kept for the last few
    (table, year) asked for, by the table's identity (a run's tables are not changed once
    made): a map reads it three times (its values, its tooltips, its sites' headcounts),
    and each pivot of the long table took about 2 ms."""
    d = results.districts
    for table, y, wide in _WIDE:
        if table is d and y == year:
            return wide
    wide = d[d["year"] == year].pivot(index="lad_code", columns="metric", values="mean")
    _WIDE.insert(0, (d, year, wide))
    del _WIDE[4:]
    return wide


_WIDE: list[tuple] = []  # (district table, kept alive: its identity is the key; year; wide)


def controlled_and_withheld(results, pkg, spec: MapSpec, *, compare=None,
                            rule: DisclosureRule = RULE) -> tuple[pd.Series, np.ndarray]:
    """What a map shows, through disclosure control: counts rounded to 5 and small counts
    withheld (NaN); shares withheld where the district has fewer than 50 people. With
    ``compare``, the difference ``results − compare`` (each side controlled first, so the
    difference never reveals a withheld count).

    On a map of changes or differences, a withheld count is not missing: it is under the
    threshold either way, which is the map's central class ("No change or fewer than 5"),
    so it is drawn there, and a difference takes it as 0 (its error, under 5, is the
    rounding's). Drawn as missing, the 1-4 posts the Spring Statement's cut took from most
    districts turned England and Scotland grey on a difference map (review). Returns the
    values and, by district, whether a count there was withheld so (for the tooltip: it
    said "no change" of such a district; review)."""
    codes = pkg.districts["lad_code"].to_numpy()
    small = np.zeros(len(codes), bool)
    if results is None or spec.metric in ATTRIBUTE_METRICS:
        return district_values(results, pkg, spec), small

    def one(res):
        year = int(res.districts["year"].max()) if spec.year is None else spec.year
        wide = _district_frame(res, year).reindex(codes)
        m = measure(spec.metric)
        raw = wide[spec.metric].to_numpy(float) if spec.metric in wide else np.full(
            len(codes), np.nan)
        base = None if m.is_count else wide.get("headcount", pd.Series(np.nan,
                                                                       index=codes)).to_numpy()
        shown = protect(raw, count=m.is_count, base=base, rule=rule)
        if m.is_count and spec.diverging:
            withheld = shown == SUPPRESSED
            small[withheld] = True
            shown[withheld] = 0
        return controlled_numbers(shown).set_axis(codes)

    out = one(results)
    if compare is not None:
        out = out - one(compare)
    return out, small


def district_details(results, pkg, year: int | None = None,
                     rule: DisclosureRule = RULE) -> pd.DataFrame:
    """Plain-language tooltip lines for every district, through disclosure control:
    headcount, net posts gained, higher-SEB share and coldspot status.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lad_code``; columns ``line1`` … ``line4`` (text).
    """
    codes = pkg.districts["lad_code"].to_numpy()
    out = pd.DataFrame(index=pd.Index(codes, name="lad_code"))
    cold = run_coldspots(pkg, results)
    if results is not None:
        y = int(results.districts["year"].max()) if year is None else year
        wide = _district_frame(results, y).reindex(codes)

        def col(name):
            return wide[name].to_numpy(float) if name in wide else np.full(len(codes), np.nan)

        hc = col("headcount")
        shown_hc = protect(hc, count=True, rule=rule)
        gained = protect(col("net_posts_gained"), count=True, rule=rule)
        seb = protect(col("high_seb_share"), count=False, base=hc, rule=rule)
        out["line1"] = [f"Headcount {y}: {fmt_value('headcount', v)}" for v in shown_hc]
        out["line2"] = [f"Net posts gained: {fmt_diff('net_posts_gained', v)}" for v in gained]
        out["line3"] = [f"Staff from higher socio-economic backgrounds: "
                        f"{fmt_value('high_seb_share', v)}" for v in seb]
    else:
        hc = pkg.baseline_posts.groupby("lad_code")["posts"].sum().reindex(codes).fillna(0)
        shown = protect(hc.to_numpy(float), count=True, rule=rule)
        out["line1"] = [f"Civil Service posts, 2023: {fmt_value('posts', v)}" for v in shown]
        out["line2"] = ""
        out["line3"] = ""
    out["line4"] = np.where(cold.to_numpy(), "Social-mobility coldspot", "Not a coldspot")
    return out


def site_frame(pkg, results=None, year=None, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """Hubs and campuses with a marker radius and a short label; the tooltip's headcount is
    disclosure-controlled."""
    s = pkg.sites[["site_id", "site_name", "lad_code", "lon", "lat", "theme"]].copy()
    if results is not None:
        d = results.districts
        y = int(d["year"].max()) if year is None else year
        wide = _district_frame(results, y)
        hc = wide["headcount"].dropna() if "headcount" in wide else pd.Series(dtype=float)
    else:
        hc = pkg.baseline_posts.groupby("lad_code")["posts"].sum()
    raw = s["lad_code"].map(hc).fillna(0).to_numpy(float)
    s["headcount"] = protect(raw, count=True, rule=rule)
    s["radius"] = 2500 + 45 * np.sqrt(raw)
    s["label"] = [short_name(n) for n in s["site_name"]]
    return s


def short_name(name: str) -> str:
    """A site's name for a map label: ``Salford (DSIT & DESNZ second HQ)`` → ``Salford``."""
    return str(name).split(" (")[0].split(" / ")[0]


def arc_frame(pkg, results, year=None, rule: DisclosureRule = RULE) -> pd.DataFrame:
    """Arcs from London (or another origin) to destinations, width by posts moved up to
    ``year``; arcs of fewer posts than the disclosure threshold are left out. (After the
    grouping, worked on the few arcs' arrays and looked up by district: column by column
    through pandas, it took about 13 ms of every map the app drew.)"""
    cols = ["from_lon", "from_lat", "to_lon", "to_lat", "posts", "width", "name", "line0"]
    m = results.moves if results is not None else None
    if m is None or len(m) == 0:
        return pd.DataFrame(columns=cols)
    if year is not None:
        m = m[m["year"] <= year]
    d = pkg.districts
    codes = d["lad_code"].to_numpy(object)
    in_london = d["is_london"].to_numpy(bool)
    m = m.assign(origin=np.where(m["origin_lad_code"].isin(set(codes[in_london])), "LONDON",
                                 m["origin_lad_code"]))
    g = m.groupby(["origin", "destination_lad_code"], as_index=False)["posts"].sum()
    shown = protect(g["posts"].to_numpy(float), count=True, rule=rule)
    keep = np.array([isinstance(x, int) and x > 0 for x in shown], bool)
    if not keep.any():
        return pd.DataFrame(columns=cols)
    posts = shown[keep].astype(int)
    origin = g["origin"].to_numpy(object)[keep]
    dest = g["destination_lad_code"].to_numpy(object)[keep]
    lon, lat = d["centroid_lon"].to_numpy(float), d["centroid_lat"].to_numpy(float)
    at = dict(zip(codes, range(len(codes)), strict=True))
    name = dict(zip(codes, d["lad_name"].astype(str), strict=True))
    london = origin == "LONDON"
    o = np.array([at.get(c, -1) for c in origin])
    t = np.array([at.get(c, -1) for c in dest])

    def by_district(values, idx, fill=np.nan):
        return np.where(idx >= 0, values[np.maximum(idx, 0)], fill)

    centre = ((lon[in_london].mean(), lat[in_london].mean()) if in_london.any()
              else (np.nan, np.nan))  # (London's districts' centroids' mean)
    from_name = np.where(london, "London", [str(name.get(c, np.nan)) for c in origin])
    out = pd.DataFrame({
        "origin": origin, "destination_lad_code": dest, "posts": posts,
        "from_lon": np.where(london, centre[0], by_district(lon, o)),
        "from_lat": np.where(london, centre[1], by_district(lat, o)),
        "to_lon": by_district(lon, t), "to_lat": by_district(lat, t),
        "width": 1 + 7 * np.sqrt(posts / max(posts.max(), 1)),
        "name": [f"{a} to {name[b]}" for a, b in zip(from_name, dest, strict=True)],
        "line0": [f"Posts moved: {p:,}" for p in posts]}, index=g.index[keep])
    return out.sort_values("posts", ascending=False)


# --- one map for every rendering --------------------------------------------------------------

@dataclass
class MapView:
    """Everything one map shows; rendered by :func:`build_deck` and :func:`render_static`."""

    spec: MapSpec
    values: pd.Series
    classes: Classes
    sites: pd.DataFrame | None = None
    arcs: pd.DataFrame | None = None
    details: pd.DataFrame | None = None
    coldspots: pd.Series | None = None
    source: str = ""
    marking: str | None = None
    withheld: pd.Series | None = None
    """By district: a count there was withheld as under ``threshold`` and is drawn in the
    central class (:func:`controlled_and_withheld`)."""
    threshold: int = 5


def _withheld_words(metric: str, v: float, threshold: int) -> str:
    """A tooltip's value where a count was withheld: under the threshold either way, or the
    difference to within it."""
    if abs(v) < threshold:
        return f"fewer than {threshold} either way (withheld)"
    return f"{fmt_diff(metric, v)} (to within {threshold}: a count under it withheld)"


def map_view(results, pkg, metric: str, year: int | None = None, *, compare=None,
             compare_name: str = "", coldspots: bool = False, marking: str | None = None,
             rule: DisclosureRule = RULE) -> MapView:
    """The map of a district measure in a year, or of its difference from ``compare``.

    Parameters
    ----------
    results : Results or None
        None maps a data attribute (coldspots, SMC indices) on its own.
    pkg : DataPackage
    metric : str
    year : int, optional
        Default: the last year.
    compare : Results, optional
        Map ``results − compare``.
    compare_name : str
    coldspots : bool
        Outline social-mobility coldspots.
    marking : str, optional
        Protective marking.
    rule : DisclosureRule

    Returns
    -------
    MapView
    """
    from .export import source_line

    _check_map_request(results, metric, year)
    man = results.manifest if results is not None else {}
    y = year if year is not None else (int(results.districts["year"].max())
                                       if results is not None else None)
    label = measure(metric).label
    title_name = man.get("title") or man.get("scenario", "")
    if man.get("department_name"):  # a department's view: its own figures, and its moves
        title_name = f"{man['department_name']}'s view: {title_name}"
    if compare is not None:
        spec = MapSpec(metric=metric, year=y, extra={"difference": True},
                       title=f"Difference in {label[0].lower() + label[1:]}, {y}",
                       subtitle=f"{title_name} minus {compare_name or 'the comparison'}")
        arcs = None
    else:
        spec = MapSpec(metric=metric, year=y, title=f"{label}, {y}" if y else label,
                       subtitle=str(title_name))
        arcs = arc_frame(pkg, results, y, rule) if metric in RESULT_METRICS else None
    values, small = controlled_and_withheld(results, pkg, spec, compare=compare, rule=rule)
    classes = classify(values, spec, rule)
    cold = None
    if coldspots:
        cold = run_coldspots(pkg, results)
    return MapView(spec, values, classes, sites=site_frame(pkg, results, y, rule), arcs=arcs,
                   details=district_details(results, pkg, y, rule), coldspots=cold,
                   source=source_line(man), marking=marking,
                   withheld=pd.Series(small, index=pkg.districts["lad_code"].to_numpy()),
                   threshold=rule.threshold)


def _check_map_request(results, metric: str, year: int | None) -> None:
    """Raise a :class:`PlacesimError` for a measure no map shows, or a year the results do
    not hold (a map of either was drawn all grey, titled as asked, and reported written)."""
    from .errors import PlacesimError, check_year

    known = (RESULT_METRICS if results is not None else ()) + ATTRIBUTE_METRICS
    if metric not in known:
        raise PlacesimError(f"map measure {metric!r}: not one placesim maps; choose one of "
                            + ", ".join(known))
    if year is None or results is None or metric in ATTRIBUTE_METRICS:
        return
    check_year("map", year, results.districts["year"])


# --- legend -----------------------------------------------------------------------------------

def legend_items(view: MapView) -> list[tuple[str, str, RGB]]:
    """The legend as ``(kind, label, colour)``; kind ``fill``, ``arc``, ``site`` or
    ``outline``. Shared by the HTML legend and the static figure."""
    items = [("fill", lab, col) for lab, col in zip(view.classes.labels,
                                                     view.classes.colours, strict=True)]
    if np.any(view.classes.index < 0):
        items.append(("fill", "No data, or withheld [c]", NO_DATA))
    if view.arcs is not None and len(view.arcs):
        items.append(("arc", "Posts moved from London (wider: more posts)", ARC_COLOUR))
    if view.sites is not None and len(view.sites):
        items.append(("site", "Hub or campus (ring sized by headcount)", SITE_COLOUR))
    if view.coldspots is not None:
        items.append(("outline", "Social-mobility coldspot (outline)", COLDSPOT_COLOUR))
    return items


def legend_html(view: MapView) -> str:
    """An HTML legend (pydeck has none) for the same classes and symbols as the map."""
    def swatch(kind, col):
        c = hex_colour(col)
        style = {"fill": f"background:{c};border:1px solid #555",
                 "arc": f"height:0;border-top:3px solid {c};margin-top:6px",
                 "site": f"border-radius:50%;border:2px solid {c};background:#fff",
                 "outline": f"border:2px solid {c};background:transparent"}[kind]
        return (f'<span style="display:inline-block;width:18px;height:14px;margin-right:6px;'
                f'flex:none;{style}"></span>')

    rows = "".join(f'<div style="display:flex;align-items:center;margin:3px 0">'
                   f"{swatch(kind, col)}<span>{_escape(lab)}</span></div>"
                   for kind, lab, col in legend_items(view))
    title = _escape(view.spec.legend_title)
    return (f'<div role="img" aria-label="Map legend: {title}" style="font-size:14px;'
            f'color:#000;background:#fff;line-height:1.3"><strong>{title}</strong>{rows}'
            "</div>")


def _escape(text: str) -> str:
    from html import escape

    return escape(str(text), quote=True)


# --- deck.gl ----------------------------------------------------------------------------------

def district_shapes(pkg):
    """The district polygons every map draws, simplified (to about 300 m) with coordinates
    to 4 decimal places (about 10 m): quick to draw and to redraw, small enough to keep an
    offline HTML map under 3 MB and a map's PDF light. Cached per data package."""
    key = id(pkg.districts)
    if key not in _SHAPES:
        import shapely

        g = pkg.districts.copy()
        g["geometry"] = shapely.set_precision(
            g.geometry.simplify(0.003, preserve_topology=True).values, 1e-4)
        _SHAPES[key] = (pkg.districts, g, g[["lad_code", "lad_name", "geometry"]].to_json(
            drop_id=True))
    return _SHAPES[key][1]


_SHAPES: dict[int, tuple] = {}  # id -> (the original frame, kept alive; shapes; GeoJSON)


@functools.lru_cache(maxsize=4)
def _features(geojson: str) -> list[dict]:
    """A GeoJSON's features, each geometry written as JSON once (:class:`_Written`)."""
    return [dict(f, geometry=_Written(_dumps(f["geometry"])))
            for f in json.loads(geojson)["features"]]


def district_features(pkg, *, national: bool = False) -> list[dict]:
    """:func:`district_shapes` as GeoJSON features (fresh property dicts to fill in; the
    geometry already written as JSON, for :func:`build_deck`); with ``national``,
    :func:`district_mesh`'s coarser polygons instead."""
    if national:
        geojson = _national_mesh(pkg).geojson
    else:
        district_shapes(pkg)
        geojson = _SHAPES[id(pkg.districts)][2]
    return [dict(f, properties=dict(f["properties"])) for f in _features(geojson)]


def _dumps(obj, default=None) -> str:
    """JSON as a deck writes it: no spaces, keys sorted (``default`` as for
    :func:`json.dumps`)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default)


class _Written:
    """Part of a deck already written as JSON, which :func:`build_deck`'s deck puts in as
    it is. The map's shapes are the same at every redraw and were most of the time to write a
    deck (about 0.05 of 0.08 s): they are written once per data package. In a deck, each
    layer's data that is large (the districts, :func:`_collection`, and the borders) is one
    part, so that the deck's JSON can carry it or the URL it is served at
    (``to_json(serve=...)``)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _with_marks(obj, default=None) -> tuple[str, str, list[_Written]]:
    """``obj`` written as a deck writes JSON, each :class:`_Written` part in it left as a
    string no text can hold (a fresh random mark): the text, a pattern matching the marks
    (group 1, the part's index) and the parts. ``default`` writes anything else JSON cannot.
    """
    import secrets

    mark, parts = secrets.token_hex(8), []

    def put(o):
        if isinstance(o, _Written):
            parts.append(o)
            return f"@@{mark}:{len(parts) - 1}"
        if default is None:
            raise TypeError(f"{type(o).__name__} is not JSON")
        return default(o)

    return _dumps(obj, default=put), f'"@@{mark}:([0-9]+)"', parts


def _splice(text: str, marks: str, parts: list[str]) -> str:
    """:func:`_with_marks`' text with each mark replaced by its part (already JSON)."""
    import re

    return re.sub(marks, lambda m: parts[int(m[1])], text)


#: The national map's outlines: simplified to 0.01 degrees (about 0.4 of a pixel at its zoom,
#: 4.7) on a 0.001-degree grid. The London inset keeps :func:`district_shapes`' finer ones.
NATIONAL_TOLERANCE = 0.01
NATIONAL_GRID = 1e-3
MESH_FILE = "district_mesh.parquet"
"""A data package's :func:`build_mesh`, written by its build (``geodata/build.py``)."""


def build_mesh(districts):
    """The districts simplified together and their borders (:func:`_mesh` at the national
    map's tolerance and grid), as one GeoDataFrame: ``kind`` ("district", in the package's
    order, or "border"), ``lad_code`` (blank for borders), ``tolerance``, ``grid``.

    It takes about a second, so a package's build writes it (:data:`MESH_FILE`) and
    :func:`district_mesh` reads it.
    """
    import geopandas as gpd

    shapes, borders = _mesh(districts.geometry.values, NATIONAL_TOLERANCE, NATIONAL_GRID)
    n, m = len(shapes), len(borders)
    return gpd.GeoDataFrame({
        "kind": ["district"] * n + ["border"] * m,
        "lad_code": list(districts["lad_code"].to_numpy()) + [None] * m,
        "tolerance": NATIONAL_TOLERANCE, "grid": NATIONAL_GRID},
        geometry=list(shapes) + list(borders), crs=districts.crs)


def _shipped_mesh(pkg):
    """The package's :data:`MESH_FILE`, if it is there and was made for these districts at
    this tolerance and grid (else None: worked out afresh)."""
    import geopandas as gpd

    f = Path(getattr(pkg, "path", "") or "") / MESH_FILE
    if not f.is_file():
        return None
    try:
        mesh = gpd.read_parquet(f)
    except (OSError, ValueError):
        return None
    shapes = mesh[mesh["kind"] == "district"]
    if (len(mesh) == 0 or not (mesh["tolerance"] == NATIONAL_TOLERANCE).all()
            or not (mesh["grid"] == NATIONAL_GRID).all()
            or list(shapes["lad_code"]) != list(pkg.districts["lad_code"])):
        return None
    return mesh


def district_mesh(pkg) -> tuple[str, list[list[list[float]]], list]:
    """The districts simplified together, for the app's national map, and their borders.

    Each border between two districts is simplified once, so neighbours still meet (no gaps
    or overlaps, as simplifying each polygon on its own leaves at this tolerance), and is
    drawn once: the borders are a layer of their own (:func:`border_segments`) instead of
    every polygon's outline, which drew each shared border twice. Half the vertices of
    :func:`district_shapes` and less than half the border segments: a software-rendered
    browser (no GPU) redraws the map in a fraction of the time. Read from the package's
    :data:`MESH_FILE` (worked out, about a second, if it is missing or stale); cached per
    data package.

    Returns
    -------
    tuple
        The districts as GeoJSON (``lad_code``, ``lad_name``; every district has a shape),
        the borders as paths of ``[lon, lat]`` points, and the districts' shapes (shapely, in
        the package's order).
    """
    m = _national_mesh(pkg)
    return m.geojson, [p.tolist() for p in m.points], m.shapes


def _national_mesh(pkg) -> _Mesh:
    """A package's :func:`district_mesh`, with its borders as segments, worked out once."""
    key = id(pkg.districts)
    if key not in _MESH:
        import geopandas as gpd
        import shapely

        d = pkg.districts
        mesh = _shipped_mesh(pkg)
        if mesh is None:
            mesh = build_mesh(d)
        shapes = mesh.geometry.values[(mesh["kind"] == "district").to_numpy()]
        borders = mesh.geometry.values[(mesh["kind"] == "border").to_numpy()]
        g = gpd.GeoDataFrame({"lad_code": d["lad_code"].to_numpy(),
                              "lad_name": d["lad_name"].to_numpy()}, geometry=shapes,
                             crs=d.crs)
        points = [np.round(shapely.get_coordinates(b), 6) for b in borders]
        segments = np.concatenate([np.hstack([p[:-1], p[1:]]) for p in points]
                                  + [np.empty((0, 4))])
        _MESH[key] = _Mesh(d, g.to_json(drop_id=True), points, shapes, segments,
                           _Written(_dumps(segments.tolist())))
    return _MESH[key]


def border_segments(pkg) -> np.ndarray:
    """The national map's borders (:func:`district_mesh`) as straight segments, each once:
    rows of ``lon0, lat0, lon1, lat1``.

    The app draws them as a line layer: a path layer's every segment is twelve vertices
    through a shader that works out the joins, a line's four through a short one. In a
    browser with no GPU (software WebGL, as on many locked-down and virtual desktops) the
    path layer's borders took about 0.5 s of the frame that redraws the map after an edit;
    the segments make its JSON about a tenth larger. At the borders' width, under a pixel,
    the joins cannot be seen (about 1% of the map's pixels differ, at corners).
    """
    return _national_mesh(pkg).segments


class _Mesh(NamedTuple):
    districts: pd.DataFrame  # (kept alive, so that its id, the key, is not reused)
    geojson: str
    points: list  # the borders, each an (n, 2) array (as lists only when asked for)
    shapes: list
    segments: np.ndarray
    written_segments: _Written  # (the deck's borders, written once)


_MESH: dict[int, _Mesh] = {}  # id of a package's districts -> its mesh


def _polygonal(geom):
    """A district's polygons as one MultiPolygon (a few districts are collections)."""
    import shapely

    todo, polys = [geom], []
    while todo:
        g = todo.pop()
        if g.geom_type == "Polygon":
            polys.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            todo.extend(shapely.get_parts(g))
    return shapely.multipolygons(polys)


def _mesh(geoms, tolerance: float, grid: float):
    """Shared-border simplification: the districts' rings are cut into chains between the
    points where three or more districts meet, each chain is simplified (its ends fixed) and
    snapped to ``grid``, and the faces the chains enclose are given to the district that
    holds most of each (faces mostly outside every district, such as estuaries the new
    lines close off, are dropped). A district left with no face keeps its own simplified
    outline.

    Returns the districts' shapes (one per input, in order) and the border lines.
    """
    import shapely

    geoms = np.array([_polygonal(g) for g in geoms])
    rings = shapely.get_rings(shapely.get_parts(geoms))
    chains = shapely.get_parts(shapely.line_merge(shapely.union_all(rings)))
    simple = shapely.set_precision(shapely.simplify(chains, tolerance, preserve_topology=True),
                                   grid)
    simple = simple[~shapely.is_empty(simple)]
    noded = shapely.union_all(simple)  # (simplified chains may cross: node them again)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    face_i, dist_i = shapely.STRtree(geoms).query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[face_i], geoms[dist_i]))
    owner = np.full(len(faces), -1)
    best = np.zeros(len(faces))
    for f, d, a in zip(face_i, dist_i, overlap, strict=True):
        if a > best[f]:
            best[f], owner[f] = a, d
    owner[best < 0.5 * shapely.area(faces)] = -1
    shapes = []
    for d, geom in enumerate(geoms):
        mine = faces[owner == d]
        shapes.append(mine[0] if len(mine) == 1 else shapely.multipolygons(mine) if len(mine)
                      else shapely.set_precision(shapely.simplify(geom, tolerance), grid))
    return shapes, shapely.get_parts(shapely.line_merge(noded))


def _mercator(lon: np.ndarray, lat: np.ndarray, zoom: float) -> tuple[np.ndarray, np.ndarray]:
    scale = 512 * 2 ** zoom / (2 * np.pi)
    x = scale * (np.radians(lon) + np.pi)
    y = scale * (np.pi - np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)))
    return x, y


def place_labels(sites: pd.DataFrame, zoom: float, *, font_px: float = 12,
                 marker_px: float = 5) -> pd.DataFrame:
    """Greedy label placement at a zoom: each site (largest first) takes the first of right,
    left, above, below that overlaps no label or marker already placed, or is left unlabelled
    (its tooltip still names it).

    Returns
    -------
    pandas.DataFrame
        The labelled sites with ``dx, dy`` (pixel offset), ``anchor`` and ``baseline``.
    """
    if sites is None or sites.empty:
        return pd.DataFrame()
    order = sites.sort_values("radius", ascending=False)
    x, y = _mercator(order["lon"].to_numpy(float), order["lat"].to_numpy(float), zoom)
    boxes = [(xi - marker_px, yi - marker_px, xi + marker_px, yi + marker_px)
             for xi, yi in zip(x, y, strict=True)]
    placed, kept, where = [], [], []
    for k, (label, xi, yi) in enumerate(zip(order["label"], x, y, strict=True)):
        w, h = 0.6 * font_px * len(label) + 6, font_px + 4
        gap = marker_px + 3
        obstacles = placed + boxes[:k] + boxes[k + 1:]
        for dx, dy, anchor, base, box in (
                (gap, 0, "start", "center", (xi + gap, yi - h / 2, xi + gap + w, yi + h / 2)),
                (-gap, 0, "end", "center", (xi - gap - w, yi - h / 2, xi - gap, yi + h / 2)),
                (0, -gap, "middle", "bottom", (xi - w / 2, yi - gap - h, xi + w / 2, yi - gap)),
                (0, gap, "middle", "top", (xi - w / 2, yi + gap, xi + w / 2, yi + gap + h))):
            if not any(_overlap(box, o) for o in obstacles):
                placed.append(box)
                kept.append(k)
                where.append((dx, dy, anchor, base))
                break
    # (the rows taken whole at the end: a row at a time, through pandas, took most of it)
    out = order.iloc[kept].reset_index(drop=True)
    for i, name in enumerate(("dx", "dy", "anchor", "baseline")):
        out[name] = [w[i] for w in where]
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def build_deck(pkg, view: MapView, *, part: str = "both"):
    """The interactive map of a :class:`MapView`: district choropleth, coldspot outlines,
    arcs, hub rings and labels, in a main view and a London inset.

    Parameters
    ----------
    pkg : DataPackage
    view : MapView
    part : {"both", "main", "london"}
        Both views in one deck (the offline HTML), or one of them: Streamlit's chart keeps a
        single view state, so the app shows the inset as a second, small deck of the London
        districts. The national view alone (``"main"``) draws :func:`district_mesh`'s
        coarser districts and their borders (layer ``borders``, segments drawn as lines:
        :func:`border_segments`; coldspots outlined in layer ``coldspots``, paths 2 pixels
        wide, whose joins show); the others draw :func:`district_shapes` with each district
        outlined.

    Returns
    -------
    pydeck.Deck
    """
    import pydeck as pdk

    spec, classes = view.spec, view.classes
    codes = pkg.districts["lad_code"].to_numpy()
    vals = view.values.reindex(codes).to_numpy(float)
    national = part == "main"  # (the national view alone: coarser shapes, borders apart)
    feats = district_features(pkg, national=national)
    value_text = fmt_diff if spec.diverging else fmt_value
    lines = _tooltip_lines(view.details, codes)
    small = (view.withheld.reindex(codes).fillna(False).to_numpy(bool)
             if view.withheld is not None else np.zeros(len(codes), bool))
    for f, v, ci, extra, w in zip(feats, vals, classes.index, lines, small, strict=True):
        p = f["properties"]
        p["fill"] = [*(classes.colours[ci] if ci >= 0 else NO_DATA), 220]
        shown = "no data or withheld [c]" if not np.isfinite(v) else (
            _withheld_words(spec.metric, v, view.threshold) if w
            else ("coldspot" if v else "not a coldspot") if spec.metric == "coldspot"
            else value_text(spec.metric, v))
        p["name"] = f"{p['lad_name']} ({p['lad_code']})"
        p["line0"] = f"{spec.title or spec.label}: {shown}"
        for i, text in enumerate(extra, start=1):
            p[f"line{i}"] = text
    cold = (view.coldspots.reindex(codes).fillna(False).to_numpy(bool)
            if view.coldspots is not None else np.zeros(len(codes), bool))
    if national:
        layers = [pdk.Layer("GeoJsonLayer", _collection(feats),
                            id="districts", pickable=True, stroked=False, filled=True,
                            get_fill_color="properties.fill"),
                  pdk.Layer("LineLayer", _national_mesh(pkg).written_segments, id="borders",
                            get_source_position="[this[0], this[1]]",
                            get_target_position="[this[2], this[3]]",
                            get_color=[*BORDER_COLOUR, 255], get_width=0.75,
                            width_units="'pixels'", pickable=False)]
        if cold.any():
            import shapely

            shapes = _national_mesh(pkg).shapes
            rings = [np.round(shapely.get_coordinates(r), 6).tolist()
                     for shape, c in zip(shapes, cold, strict=True) if c
                     for r in shapely.get_rings(shapely.get_parts(shape))]
            layers.append(pdk.Layer("PathLayer", [{"path": r} for r in rings], id="coldspots",
                                    get_path="path", get_color=[*COLDSPOT_COLOUR, 255], get_width=2,
                                    width_units="'pixels'", pickable=False))
    else:
        for f, c in zip(feats, cold, strict=True):  # coldspots outlined (no second copy)
            f["properties"]["line"] = [*COLDSPOT_COLOUR, 255] if c else [*BORDER_COLOUR, 200]
            f["properties"]["lw"] = 2 if c else 0.5
        if part == "london":
            feats = [f for f, ldn in zip(feats, pkg.districts["is_london"].to_numpy(bool),
                                         strict=True) if ldn]
        layers = [pdk.Layer("GeoJsonLayer", _collection(feats),
                            id="districts", pickable=True, stroked=True, filled=True,
                            get_fill_color="properties.fill", get_line_color="properties.line",
                            get_line_width="properties.lw", line_width_units="'pixels'")]
    if view.arcs is not None and len(view.arcs):
        arcs = _records(view.arcs, ["from_lon", "from_lat", "to_lon", "to_lat", "width",
                                    "name", "line0"], line1="", line2="", line3="", line4="")
        layers.append(pdk.Layer("ArcLayer", arcs, id="moves",
                                get_source_position=["from_lon", "from_lat"],
                                get_target_position=["to_lon", "to_lat"], get_width="width",
                                get_source_color=[*ARC_COLOUR, 170],
                                get_target_color=[*ARC_COLOUR, 170], pickable=True))
    sites = view.sites if part != "london" else None
    if sites is not None and len(sites):
        sites = _site_tooltips(pkg, sites)
        layers.append(pdk.Layer("ScatterplotLayer", _records(sites, list(sites.columns)),
                                id="sites",
                                get_position=["lon", "lat"], get_radius="radius",
                                radius_min_pixels=4, stroked=True, filled=True,
                                get_fill_color=[255, 255, 255, 60],
                                get_line_color=[*SITE_COLOUR, 255], line_width_min_pixels=2,
                                pickable=True))
        placed = place_labels(sites, MAIN_VIEW["zoom"])
        if len(placed):
            layers.append(pdk.Layer(
                "TextLayer", _records(placed, ["lon", "lat", "label", "dx", "dy", "anchor",
                                               "baseline"]), id="labels",
                get_position=["lon", "lat"], get_text="label", get_size=12,
                get_color=[0, 0, 0, 255], get_pixel_offset="[dx, dy]",
                get_text_anchor="anchor", get_alignment_baseline="baseline",
                background=True, get_background_color=[255, 255, 255, 230],
                background_padding=[2, 1], font_family="'Arial, Helvetica, sans-serif'"))
    if part != "london":
        w, s, e, n = LONDON_BOX
        layers.append(pdk.Layer("PathLayer", [{"path": [[w, s], [e, s], [e, n], [w, n],
                                                         [w, s]]}],
                                id="london-box", get_path="path", get_color=[0, 0, 0, 255],
                                width_min_pixels=1.5, pickable=False))
    tooltip = {"html": "<b>{name}</b><br/>{line0}<br/>{line1}<br/>{line2}<br/>{line3}"
                       "<br/>{line4}", "style": {"fontSize": "13px"}}
    deck_type = _compact_deck_class()
    if part == "both":
        views = [pdk.View(type="MapView", id="main", controller=True),
                 pdk.View(type="MapView", id="london", controller=False, clear=True, **INSET)]
        state = {"main": dict(MAIN_VIEW), "london": dict(LONDON_VIEW)}
    elif part == "main":
        views, state = [pdk.View(type="MapView", id="main", controller=True)], dict(MAIN_VIEW)
    else:
        views = [pdk.View(type="MapView", id="london", controller=False)]
        state = dict(LONDON_VIEW, zoom=LONDON_VIEW["zoom"] - 0.6)
    return deck_type(layers=layers, views=views, initial_view_state=state,
                     map_provider=None, tooltip=tooltip)


def _records(frame: pd.DataFrame, columns: list[str], **same) -> list[dict]:
    """``frame[columns]`` as a layer's rows, as pydeck writes a DataFrame
    (``to_dict(orient="records")``: Python's numbers and strings), then each of ``same``'s
    columns with one value for every row. Column by column (pandas' rows, and a copy to add
    ``same``, took about 2 ms of each of a map's small layers). A missing value of a nullable
    column is None, as ``to_dict`` gives it (``tolist`` gives ``pd.NA``)."""
    def column(c):
        values = frame[c].tolist()
        return [None if v is pd.NA else v for v in values] if frame[c].hasnans else values

    return [{**dict(zip(columns, row, strict=True)), **same}
            for row in zip(*(column(c) for c in columns), strict=True)]


def _tooltip_lines(details: pd.DataFrame | None, codes: np.ndarray) -> list[list[str]]:
    """Each district's tooltip lines 1 to 4 from :func:`district_details` (empty where a
    district or a line is missing), read column by column: a lookup per district took
    about 0.1 s of every map the app drew."""
    out = [["", "", "", ""] for _ in codes]
    if details is None:
        return out
    known = set(details.index.tolist())  # (Index.isin between numpy's strings and pandas'
    present = np.flatnonzero([c in known for c in codes])  # took 2.4 ms, this 0.07 ms)
    rows = details.reindex(codes[present])
    for i in range(4):
        column = f"line{i + 1}"
        if column in rows.columns:
            for k, text in zip(present, rows[column].to_numpy(object), strict=True):
                out[k][i] = str(text)
    return out


def _collection(features: list[dict]) -> _Written:
    """A layer's GeoJSON features as one feature collection, written as JSON (their
    geometries, already written, put in as they are)."""
    text, marks, parts = _with_marks({"type": "FeatureCollection", "features": features})
    return _Written(_splice(text, marks, [p.text for p in parts]))


@functools.cache
def _compact_deck_class():
    """A pydeck Deck whose JSON has no indentation (pydeck indents by 2, about five times
    larger), takes :class:`_Written` parts as they are, and is written once: a deck from
    :func:`build_deck` is not changed after it is built, and the app shows a kept deck at
    every rerun."""
    import importlib.util
    import sys
    import weakref

    import pydeck as pdk
    from pydeck.bindings.json_tools import default_serialize

    if importlib.util.find_spec("ipywidgets") is None:
        # pydeck's Deck tries to import its Jupyter widget five times a deck, and without
        # ipywidgets each try searched the import path again before failing: 2 ms a deck,
        # two decks at every map the app draws. None in sys.modules makes the import fail
        # at once (Python's way to block one); it could not succeed anyway.
        sys.modules.setdefault("pydeck.widget", None)

    written: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    class CompactDeck(pdk.Deck):
        def to_json(self, serve=None):
            """The deck as JSON.

            Parameters
            ----------
            serve : callable, optional
                Given the texts of the deck's layers' data written apart (the districts, and
                the borders of the national map), returns the URL each is served at, or None
                for one to keep in the JSON; the deck's JSON then carries those URLs as the
                layers' data, which deck.gl fetches. Without it, the data is in the JSON.
            """
            if self not in written:
                text, marks, parts = _with_marks(self, default_serialize)
                written[self] = {"text": text, "marks": marks,
                                 "texts": [p.text for p in parts]}
            w = written[self]
            if serve is None:  # (the whole deck, written when first asked for)
                if "whole" not in w:
                    w["whole"] = _splice(w["text"], w["marks"], w["texts"])
                return w["whole"]
            put = [text if url is None else json.dumps(url)
                   for text, url in zip(w["texts"], serve(w["texts"]), strict=True)]
            return _splice(w["text"], w["marks"], put)

    return CompactDeck


def _site_tooltips(pkg, sites: pd.DataFrame) -> pd.DataFrame:
    """Tooltip fields for hub markers, matching the district tooltip's ``name``/``line*``."""
    s = sites.copy()
    names = dict(zip(pkg.districts["lad_code"], pkg.districts["lad_name"], strict=True))
    if "name" not in s:
        s["name"] = s["site_name"].astype(str) if "site_name" in s else "Site"
    if "line0" not in s:
        kind = s["theme"].astype(str) if "theme" in s else pd.Series("", index=s.index)
        s["line0"] = ["Hub or campus" + (f" ({k})" if k and k not in ("nan", "<NA>") else "")
                      for k in kind]
    if "line1" not in s:
        s["line1"] = [f"In {names.get(c, c)}" for c in s.get("lad_code", [""] * len(s))]
    if "line2" not in s:
        hc = s["headcount"] if "headcount" in s else pd.Series(np.nan, index=s.index)
        s["line2"] = [f"Headcount in the district: {fmt_value('headcount', v)}" for v in hc]
    for i in (3, 4):
        if f"line{i}" not in s:
            s[f"line{i}"] = ""
    return s


# --- static figure ----------------------------------------------------------------------------

def render_static(pkg, view: MapView, out: Path, *, fmt: str = "png", size: str = "a4",
                  also: tuple[Path, ...] = ()) -> Path:
    """The static rendering of a map: matplotlib/geopandas with a London inset, labels
    placed by adjustText on a white halo, and a legend in its own panel (never clipped).

    Parameters
    ----------
    pkg : DataPackage
    view : MapView
    out : pathlib.Path
    fmt : {"png", "pdf", "svg"}
    size : {"a4", "slide"}
    also : tuple of pathlib.Path
        More files to save the same figure to (format from each suffix): drawing once is
        most of the cost.

    Returns
    -------
    pathlib.Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .results import atomic_write

    plt.rcParams["pdf.fonttype"] = 42
    plt.rcParams["svg.fonttype"] = "none"
    figsize = (11.69, 8.27) if size == "a4" else (13.33, 7.5)
    fig = plt.figure(figsize=figsize)
    draw_map(fig, pkg, view, [0.01, 0.07, 0.56, 0.83], inset=[0.55, 0.50, 0.2, 0.38],
             legend=[0.76, 0.08, 0.23, 0.80])
    fig.text(0.02, 0.955, view.spec.title, fontsize=15, weight="bold")
    if view.spec.subtitle:
        fig.text(0.02, 0.925, view.spec.subtitle, fontsize=9)
    import textwrap

    fig.text(0.02, 0.015, textwrap.fill(view.source, 170), fontsize=6.5, color="#333333")
    if view.marking:
        fig.text(0.5, 0.995, view.marking, ha="center", va="top", fontsize=11,
                 weight="bold")
    out = Path(out)
    try:
        for path, f in [(out, fmt)] + [(Path(p), Path(p).suffix[1:]) for p in also]:
            atomic_write(path, lambda tmp, f=f: fig.savefig(tmp, format=f,
                                                            dpi=300 if f == "png" else None))
    finally:
        plt.close(fig)
    return out


def draw_map(fig, pkg, view: MapView, main_rect, *, inset, legend, labels: bool = True,
             legend_fontsize: float = 8) -> None:
    """Draw a map into ``fig``: the main axes, the London inset and the legend panel, each
    at a ``[left, bottom, width, height]`` rectangle in figure coordinates. Used by
    :func:`render_static` and the briefing pack's first page (small: ``labels=False``
    leaves the hub rings unlabelled)."""
    import matplotlib.patheffects as pe
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    d = district_shapes(pkg)
    idx = pd.Series(view.classes.index, index=view.values.index).reindex(
        d["lad_code"]).fillna(-1).astype(int).to_numpy()
    cols = [tuple(c / 255 for c in (view.classes.colours[i] if i >= 0 else NO_DATA))
            for i in idx]
    ax = fig.add_axes(main_rect)
    d.plot(ax=ax, color=cols, edgecolor="#666666", linewidth=0.12)
    cold = view.coldspots
    if cold is not None and cold.any():
        d[cold.to_numpy(bool)].boundary.plot(ax=ax, color=hex_colour(COLDSPOT_COLOUR),
                                             linewidth=0.6)
    ax.set_axis_off()
    ax.set_aspect(1.6)
    w, s, e, n = LONDON_BOX
    ax.add_patch(Rectangle((w, s), e - w, n - s, fill=False, edgecolor="black", lw=0.8))
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    if view.arcs is not None and len(view.arcs):
        _draw_arcs(ax, view.arcs)
    texts = []
    if view.sites is not None and len(view.sites):
        s_ = view.sites
        ax.scatter(s_["lon"], s_["lat"], s=14 + s_["radius"] / 400, facecolors="none",
                   edgecolors="black", linewidths=1.0, zorder=4)
        for r in s_.itertuples(index=False) if labels else ():
            texts.append(ax.text(r.lon, r.lat, r.label, fontsize=6.5, zorder=5,
                                 path_effects=halo))
    ins = fig.add_axes(inset)
    ldn = d["is_london"].to_numpy()
    d[ldn].plot(ax=ins, color=[c for c, m in zip(cols, ldn, strict=True) if m],
                edgecolor="#666666", linewidth=0.3)
    if cold is not None:
        lc = cold.to_numpy(bool) & ldn
        if lc.any():
            d[lc].boundary.plot(ax=ins, color=hex_colour(COLDSPOT_COLOUR), linewidth=1.0)
    ins.set_xlim(w, e)
    ins.set_ylim(s, n)
    ins.set_aspect(1.6)
    ins.set_xticks([])
    ins.set_yticks([])
    ins.set_xlabel("")
    ins.set_ylabel("")
    for sp in ins.spines.values():
        sp.set_edgecolor("black")
        sp.set_linewidth(0.8)
    ins.set_title("London", fontsize=9)
    if texts:
        from adjustText import adjust_text

        adjust_text(texts, ax=ax, expand=(1.3, 1.5), ensure_inside_axes=False, time_lim=0.5,
                    arrowprops={"arrowstyle": "-", "color": "#333333", "lw": 0.5})
    lax = fig.add_axes(legend)
    lax.set_axis_off()
    handles = []
    for kind, lab, col in legend_items(view):
        c = tuple(x / 255 for x in col)
        handles.append(
            Patch(facecolor=c, edgecolor="#555555", label=lab) if kind == "fill" else
            Line2D([], [], color=c, lw=2.5, label=lab) if kind == "arc" else
            Line2D([], [], marker="o", markerfacecolor="none", markeredgecolor=c, lw=0,
                   markersize=7, label=lab) if kind == "site" else
            Patch(facecolor="none", edgecolor=c, lw=1.5, label=lab))
    import textwrap

    # wrap to the panel's width so no legend text is clipped
    chars = max(12, int(legend[2] * fig.get_figwidth() * 72 / (legend_fontsize * 0.6)) - 5)
    lax.legend(handles=[_wrapped(h, textwrap, chars) for h in handles], loc="upper left",
               fontsize=legend_fontsize, title=textwrap.fill(view.spec.legend_title, chars),
               title_fontsize=legend_fontsize + 0.5, frameon=False, alignment="left",
               borderaxespad=0)


def _wrapped(handle, textwrap, chars: int):
    handle.set_label(textwrap.fill(handle.get_label(), chars))
    return handle


def _draw_arcs(ax, arcs: pd.DataFrame) -> None:
    """Arcs as curved lines from origin to destination, width by posts."""
    c = tuple(x / 255 for x in ARC_COLOUR)
    for r in arcs.itertuples(index=False):
        x0, y0, x1, y1 = r.from_lon, r.from_lat, r.to_lon, r.to_lat
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        dx, dy = x1 - x0, y1 - y0
        cx, cy = mx - 0.2 * dy, my + 0.2 * dx
        t = np.linspace(0, 1, 30)
        xs = (1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t ** 2 * x1
        ys = (1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t ** 2 * y1
        ax.plot(xs, ys, color=c, alpha=0.55, lw=0.3 + r.width * 0.35, zorder=3,
                solid_capstyle="round")


def export_map(results, pkg, *, metric: str, year: int | None, fmt: str, out: Path,
               size: str = "a4", marking: str | None = None, threshold: int = 5,
               compare=None, compare_name: str = "", coldspots: bool = False,
               also: tuple[Path, ...] = ()) -> Path:
    """Write a map as PNG (300 dpi), PDF, SVG or self-contained offline HTML.

    The same :func:`map_view` as the app: values through disclosure control, one
    classification, the London inset, arcs, labels and legend.
    """
    rule = DisclosureRule(threshold=threshold)
    view = map_view(results, pkg, metric, year, compare=compare, compare_name=compare_name,
                    coldspots=coldspots, marking=marking, rule=rule)
    out = Path(out)
    if fmt == "html":
        from .offline_html import map_html
        from .results import write_text

        write_text(map_html(pkg, view), out)
        return out
    return render_static(pkg, view, out, fmt=fmt, size=size, also=also)
