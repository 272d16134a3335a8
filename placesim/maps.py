"""One map specification, rendered two ways: a pydeck view for the app, a static figure.

A :class:`MapSpec` says what is shown (a district measure and year), how it is classed
(a mapclassify scheme) and coloured (a colour-blind-safe palette), and how it is titled.
:func:`classify` turns values into classes once, so the browser map and the exported figure
share the same breaks, colours and legend. The pydeck view has no basemap, token or CDN: the
district polygons are the base layer (``map_provider=None``), so it works offline.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Colour-blind-safe palettes (viridis / cividis samples; ColorBrewer PuOr for diverging).
PALETTES: dict[str, list[tuple[int, int, int]]] = {
    "viridis": [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)],
    "cividis": [(0, 34, 78), (61, 78, 107), (124, 123, 120), (188, 175, 111), (253, 234, 69)],
    "diverging": [(84, 39, 136), (153, 142, 195), (247, 247, 247), (241, 163, 64),
                  (179, 88, 6)],
}
NO_DATA = (200, 200, 200)

#: District measures from results, and district attributes from the data package.
RESULT_METRICS = ("net_posts_gained", "headcount", "headcount_change", "posts", "scs_posts",
                  "high_seb_share")
ATTRIBUTE_METRICS = ("coldspot", "ci1_zscore", "ci2_zscore", "ci3_zscore", "ci4_zscore")
LABELS = {
    "net_posts_gained": "Net posts gained since the start",
    "headcount": "Headcount",
    "headcount_change": "Headcount change since the start",
    "posts": "Posts",
    "scs_posts": "Senior Civil Service posts",
    "high_seb_share": "Share of staff from higher socio-economic backgrounds",
    "coldspot": "Social-mobility coldspot",
    "ci1_zscore": "SMC conditions of childhood (z-score)",
    "ci2_zscore": "SMC labour market outcomes (z-score)",
    "ci3_zscore": "SMC innovation and growth (z-score)",
    "ci4_zscore": "SMC promising prospects (z-score)",
    "planned_posts": "Posts placed by the location plan",
}


@dataclass(frozen=True)
class MapSpec:
    """What a map shows and how.

    Attributes
    ----------
    metric : str
        A district measure (:data:`RESULT_METRICS`) or attribute (:data:`ATTRIBUTE_METRICS`).
    year : int or None
    scheme : str
        mapclassify scheme (``"Quantiles"``, ``"NaturalBreaks"``, ``"EqualInterval"``).
    k : int
        Number of classes.
    palette : str
        Key of :data:`PALETTES`; diverging is used automatically for changes.
    title, subtitle : str
    """

    metric: str
    year: int | None = None
    scheme: str = "FisherJenks"
    k: int = 5
    palette: str = "viridis"
    title: str = ""
    subtitle: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return LABELS.get(self.metric, self.metric.replace("_", " "))


@dataclass(frozen=True)
class Classes:
    """Class breaks, labels and colours shared by every rendering."""

    bins: list[float]
    labels: list[str]
    colours: list[tuple[int, int, int]]
    index: np.ndarray  # class of each value, -1 = no data


def _fmt(v: float, share: bool) -> str:
    return f"{v:.0%}" if share else f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def classify(values: pd.Series, spec: MapSpec) -> Classes:
    """Class the values with mapclassify and assign colours.

    Parameters
    ----------
    values : pandas.Series
        By district; NaN = no data (for example suppressed).
    spec : MapSpec

    Returns
    -------
    Classes
    """
    if spec.extra.get("difference"):
        return difference_classes(values, spec)
    import mapclassify

    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    ok = np.isfinite(v)
    idx = np.full(len(v), -1)
    share = spec.metric.endswith("share")
    if spec.metric == "coldspot":
        idx[ok] = v[ok].astype(int)
        return Classes([0, 1], ["Not a coldspot", "Coldspot"],
                       [PALETTES["cividis"][1], PALETTES["cividis"][4]], idx)
    uniq = np.unique(v[ok])
    if len(uniq) == 0:
        return Classes([], [], [], idx)
    k = int(min(spec.k, len(uniq)))
    if k <= 1:
        idx[ok] = 0
        return Classes([float(uniq[0])], [_fmt(uniq[0], share)], [PALETTES[spec.palette][2]],
                       idx)
    scheme = getattr(mapclassify, spec.scheme)
    c = scheme(v[ok], k=k)
    idx[ok] = c.yb
    bins = [float(b) for b in c.bins]
    lows = [float(v[ok].min())] + bins[:-1]
    labels = [f"{_fmt(lo, share)} to {_fmt(hi, share)}" for lo, hi in zip(lows, bins,
                                                                          strict=True)]
    diverging = spec.metric in ("net_posts_gained", "headcount_change") and v[ok].min() < 0
    pal = PALETTES["diverging" if diverging else spec.palette]
    cols = [pal[int(round(i * (len(pal) - 1) / max(len(bins) - 1, 1)))] for i in range(len(bins))]
    return Classes(bins, labels, cols, idx)


def _fmt_diff(v: float, share: bool) -> str:
    if share:
        return f"{v * 100:+.1f} pp"
    return f"{v:+,.0f}" if abs(v) >= 10 or v == 0 else f"{v:+.2g}"


def difference_classes(values: pd.Series, spec: MapSpec) -> Classes:
    """Classes for a difference (scenario minus comparison), symmetric about zero.

    Five classes on the colour-blind-safe diverging palette (purple = lower, orange =
    higher): large and small decreases, "about the same" (within a tolerance: half a post, or
    0.05 percentage points for shares; ``spec.extra["tolerance"]`` overrides), small and large
    increases; the split between small and large is the median size of the real changes.
    Classes no district falls in are left out of the legend. Used by :func:`classify` when
    ``spec.extra["difference"]`` is true.
    """
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    ok = np.isfinite(v)
    idx = np.full(len(v), -1)
    share = spec.metric.endswith("share")
    pal = PALETTES["diverging"]
    if not ok.any():
        return Classes([], [], [], idx)
    tol = float(spec.extra.get("tolerance", 0.0005 if share else 0.5))
    top = float(np.abs(v[ok]).max())
    if top <= tol:
        idx[ok] = 0
        return Classes([tol], ["No difference"], [pal[2]], idx)
    real = np.abs(v[ok])[np.abs(v[ok]) > tol]
    mid = float(np.median(real))
    if mid >= top:
        mid = (tol + top) / 2
    edges = [-top, -mid, -tol, tol, mid, top]
    labels = [f"{_fmt_diff(-top, share)} to {_fmt_diff(-mid, share)}",
              f"{_fmt_diff(-mid, share)} to {_fmt_diff(-tol, share)}",
              f"About the same (within ±{_fmt_diff(tol, share).lstrip('+')})",
              f"{_fmt_diff(tol, share)} to {_fmt_diff(mid, share)}",
              f"{_fmt_diff(mid, share)} to {_fmt_diff(top, share)}"]
    cls = np.full(len(v), -1)
    vv = v[ok]
    c = np.where(vv < -mid, 0, np.where(vv < -tol, 1, np.where(vv <= tol, 2,
                                                                  np.where(vv <= mid, 3, 4))))
    cls[ok] = c
    used = [i for i in range(5) if (cls == i).any()]
    remap = {old: new for new, old in enumerate(used)}
    idx[ok] = [remap[i] for i in c]
    return Classes([edges[i + 1] for i in used], [labels[i] for i in used],
                   [pal[i] for i in used], idx)


def district_difference(a, b, pkg, spec: MapSpec) -> pd.Series:
    """A district measure of results ``b`` minus results ``a`` (same year), by district."""
    return district_values(b, pkg, spec) - district_values(a, pkg, spec)


def district_details(results, pkg, year: int | None = None) -> pd.DataFrame:
    """Plain-language tooltip lines for every district: headcount, net posts gained,
    higher-SEB share and coldspot status, in ``year`` (default: the last).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lad_code``; columns ``line1`` … ``line4`` (text).
    """
    from .geodata import coldspot_districts

    codes = pkg.districts["lad_code"].to_numpy()
    out = pd.DataFrame(index=pd.Index(codes, name="lad_code"))
    cold = coldspot_districts(pkg).reindex(codes).fillna(False).astype(bool)
    if results is not None:
        d = results.districts
        y = int(d["year"].max()) if year is None else year
        wide = d[d["year"] == y].pivot(index="lad_code", columns="metric",
                                       values="mean").reindex(codes)

        def col(name):
            return wide[name] if name in wide else pd.Series(np.nan, index=wide.index)

        def text(v, f):
            return "no data" if not np.isfinite(v) else f(v)

        out["line1"] = [f"Headcount {y}: " + text(v, lambda x: f"{x:,.0f}")
                        for v in col("headcount").to_numpy(float)]
        out["line2"] = ["Net posts gained: " + text(v, lambda x: f"{x:+,.0f}")
                        for v in col("net_posts_gained").to_numpy(float)]
        out["line3"] = ["Staff from higher socio-economic backgrounds: "
                        + text(v, lambda x: f"{x:.0%}")
                        for v in col("high_seb_share").to_numpy(float)]
    else:
        hc = pkg.baseline_posts.groupby("lad_code")["posts"].sum().reindex(codes).fillna(0)
        out["line1"] = [f"Civil Service posts, 2023: {v:,.0f}" for v in hc.to_numpy(float)]
        out["line2"] = ""
        out["line3"] = ""
    out["line4"] = np.where(cold.to_numpy(), "Social-mobility coldspot", "Not a coldspot")
    return out


def district_values(results, pkg, spec: MapSpec) -> pd.Series:
    """The values a map shows, by district (results measure or data attribute)."""
    codes = pkg.districts["lad_code"]
    if spec.metric in ATTRIBUTE_METRICS or results is None:
        if spec.metric == "coldspot":
            from .geodata import coldspot_districts

            rule = spec.extra.get("coldspot_rule", "smc2025")
            return coldspot_districts(pkg, rule=rule).astype(float).reindex(codes.to_numpy())
        sm = pkg.social_mobility.set_index("lad_code")
        col = spec.metric if spec.metric in sm.columns else "ci1_zscore"
        return sm[col].reindex(codes.to_numpy()).astype(float)
    d = results.districts
    year = int(d["year"].max()) if spec.year is None else spec.year
    sel = d[(d["year"] == year) & (d["metric"] == spec.metric)]
    return sel.set_index("lad_code")["mean"].reindex(codes.to_numpy()).astype(float)


def legend_html(classes: Classes, title: str) -> str:
    """An HTML legend (pydeck has none) for the same classes as the map."""
    items = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span style="display:inline-block;width:18px;height:14px;margin-right:6px;'
        f'background:rgb{c};border:1px solid #555"></span>{lab}</div>'
        for lab, c in zip(classes.labels, classes.colours, strict=True))
    items += (f'<div style="display:flex;align-items:center;margin:2px 0"><span style="display:'
              f'inline-block;width:18px;height:14px;margin-right:6px;background:rgb{NO_DATA};'
              f'border:1px solid #555"></span>No data or suppressed</div>')
    return (f'<div role="img" aria-label="Map legend: {title}" style="font-size:14px">'
            f"<strong>{title}</strong>{items}</div>")


def build_deck(pkg, spec: MapSpec, values: pd.Series, *, sites: pd.DataFrame | None = None,
               arcs: pd.DataFrame | None = None, view_state=None,
               details: pd.DataFrame | None = None, compact: bool = False,
               classes: Classes | None = None):
    """The interactive map: district choropleth, site markers, arcs of moved posts.

    Parameters
    ----------
    pkg : DataPackage
    spec : MapSpec
    values : pandas.Series
        By district code.
    sites : pandas.DataFrame, optional
        ``site_name, lon, lat, headcount``.
    arcs : pandas.DataFrame, optional
        ``from_lon, from_lat, to_lon, to_lat, posts``.
    view_state : pydeck.ViewState, optional
    details : pandas.DataFrame, optional
        Extra tooltip lines by district code (``line1`` … ``line4``, from
        :func:`district_details`). With it, districts and sites share one tooltip showing a
        name and the lines; without it, the tooltip shows the district and the mapped value.
    compact : bool, default False
        Serialise the deck without indentation (about a fifth of pydeck's default size):
        less to send to the browser on every redraw.
    classes : Classes, optional
        Use these classes instead of classing ``values`` again.

    Returns
    -------
    (pydeck.Deck, Classes)
    """
    import pydeck as pdk

    classes = classify(values, spec) if classes is None else classes
    d = pkg.districts
    feats = []
    vals = values.reindex(d["lad_code"].to_numpy()).to_numpy(float)
    geo = json.loads(d[["lad_code", "lad_name", "geometry"]].to_json())
    share = spec.metric.endswith("share")
    for f, v, ci in zip(geo["features"], vals, classes.index, strict=True):
        col = classes.colours[ci] if ci >= 0 else NO_DATA
        f["properties"]["fill"] = [*col, 200]
        f["properties"]["value"] = ("no data" if not np.isfinite(v)
                                    else _fmt_diff(v, share) if spec.extra.get("difference")
                                    else f"{v:.1%}" if share else f"{v:,.1f}")
        if details is not None:
            p = f["properties"]
            p["name"] = f"{p['lad_name']} ({p['lad_code']})"
            p["line0"] = f"{spec.title or spec.label}: {p['value']}"
            row = details.loc[p["lad_code"]] if p["lad_code"] in details.index else None
            for i in range(1, 5):
                p[f"line{i}"] = "" if row is None else str(row.get(f"line{i}", ""))
        feats.append(f)
    layers = [pdk.Layer("GeoJsonLayer", {"type": "FeatureCollection", "features": feats},
                        id="districts", pickable=True, stroked=True, filled=True,
                        get_fill_color="properties.fill", get_line_color=[80, 80, 80, 160],
                        line_width_min_pixels=0.5)]
    if arcs is not None and len(arcs):
        layers.append(pdk.Layer("ArcLayer", arcs, id="moves", get_source_position=[
            "from_lon", "from_lat"], get_target_position=["to_lon", "to_lat"],
            get_width="width", get_source_color=[230, 97, 1, 200],
            get_target_color=[94, 60, 153, 200], pickable=False))
    if sites is not None and len(sites) and details is not None:
        sites = _site_tooltips(pkg, sites)
    if sites is not None and len(sites):
        layers.append(pdk.Layer("ScatterplotLayer", sites, id="sites",
                                get_position=["lon", "lat"], get_radius="radius",
                                get_fill_color=[0, 0, 0, 180], get_line_color=[255, 255, 255],
                                stroked=True, line_width_min_pixels=1, pickable=True))
    view_state = view_state or pdk.ViewState(latitude=54.3, longitude=-3.2, zoom=4.6)
    tooltip = {"html": "<b>{lad_name}</b> ({lad_code})<br/>" + spec.label + ": {value}",
               "style": {"fontSize": "13px"}}
    if details is not None:
        tooltip = {"html": "<b>{name}</b><br/>{line0}<br/>{line1}<br/>{line2}<br/>{line3}"
                           "<br/>{line4}", "style": {"fontSize": "13px"}}
    deck_type = _compact_deck_class() if compact else pdk.Deck
    deck = deck_type(layers=layers, initial_view_state=view_state, map_provider=None,
                     tooltip=tooltip)
    return deck, classes


@functools.cache
def _compact_deck_class():
    """A pydeck Deck whose JSON has no indentation (pydeck indents by 2, which for district
    polygons makes the spec about five times larger)."""
    import pydeck as pdk
    from pydeck.bindings.json_tools import default_serialize

    class CompactDeck(pdk.Deck):
        def to_json(self):
            return json.dumps(self, sort_keys=True, default=default_serialize,
                              separators=(",", ":"))

    return CompactDeck


def _site_tooltips(pkg, sites: pd.DataFrame) -> pd.DataFrame:
    """Tooltip fields for site markers, matching the district tooltip's ``name``/``line*``."""
    s = sites.copy()
    names = pkg.districts.set_index("lad_code")["lad_name"]
    if "name" not in s:
        s["name"] = s["site_name"].astype(str) if "site_name" in s else "Site"
    if "line0" not in s:
        kind = s["theme"].astype(str) if "theme" in s else pd.Series("", index=s.index)
        s["line0"] = ["Hub or campus" + (f" ({k})" if k and k != "nan" else "")
                      for k in kind]
    if "line1" not in s:
        s["line1"] = [f"In {names.get(c, c)}" for c in s.get("lad_code", [""] * len(s))]
    if "line2" not in s:
        hc = s["headcount"] if "headcount" in s else pd.Series(np.nan, index=s.index)
        s["line2"] = [f"Headcount in the district: {v:,.0f}" if np.isfinite(v) else ""
                      for v in hc.to_numpy(float)]
    for i in (3, 4):
        if f"line{i}" not in s:
            s[f"line{i}"] = ""
    return s


def site_frame(pkg, results=None, year=None) -> pd.DataFrame:
    """Sites with a marker radius from their district's headcount."""
    s = pkg.sites[["site_id", "site_name", "lad_code", "lon", "lat", "theme"]].copy()
    hc = None
    if results is not None:
        d = results.districts
        y = int(d["year"].max()) if year is None else year
        hc = d[(d["year"] == y) & (d["metric"] == "headcount")].set_index("lad_code")["mean"]
    else:
        hc = pkg.baseline_posts.groupby("lad_code")["posts"].sum()
    s["headcount"] = s["lad_code"].map(hc).fillna(0)
    s["radius"] = 2000 + 60 * np.sqrt(s["headcount"])
    return s


def arc_frame(pkg, results, year=None) -> pd.DataFrame:
    """Arcs from origins to destinations, width by posts moved up to ``year``."""
    m = results.moves
    if m is None or len(m) == 0:
        return pd.DataFrame(columns=["from_lon", "from_lat", "to_lon", "to_lat", "posts",
                                     "width"])
    if year is not None:
        m = m[m["year"] <= year]
    d = pkg.districts.set_index("lad_code")
    london = set(d.index[d["is_london"]])
    m = m.assign(origin=np.where(m["origin_lad_code"].isin(london), "LONDON",
                                 m["origin_lad_code"]))
    g = m.groupby(["origin", "destination_lad_code"], as_index=False)["posts"].sum()
    lon_c = (d.loc[d["is_london"], "centroid_lon"].mean(), d.loc[d["is_london"],
                                                                 "centroid_lat"].mean())
    g["from_lon"] = np.where(g["origin"] == "LONDON", lon_c[0],
                             g["origin"].map(d["centroid_lon"]))
    g["from_lat"] = np.where(g["origin"] == "LONDON", lon_c[1],
                             g["origin"].map(d["centroid_lat"]))
    g["to_lon"] = g["destination_lad_code"].map(d["centroid_lon"])
    g["to_lat"] = g["destination_lad_code"].map(d["centroid_lat"])
    g["width"] = 1 + 8 * np.sqrt(g["posts"] / max(g["posts"].max(), 1))
    return g


def export_map(results, pkg, *, metric: str, year: int | None, fmt: str, out: Path,
               size: str = "a4", marking: str | None = None, threshold: int = 5) -> Path:
    """Write a map of a district measure as PNG (300 dpi), PDF, SVG or self-contained HTML.

    Counts under the disclosure threshold are shown as "no data or suppressed".
    """
    from .export import control_districts, source_line

    man = results.manifest if results is not None else {}
    y = year if year is not None else (int(results.districts["year"].max())
                                       if results is not None else None)
    title = f"{LABELS.get(metric, metric)}, {y}" if y else LABELS.get(metric, metric)
    spec = MapSpec(metric=metric, year=y, title=title,
                   subtitle=f"Scenario {man.get('scenario', '')} ({man.get('scenario_hash', '')}"
                            f"), {man.get('replications', '')} replications")
    values = district_values(results, pkg, spec)
    if results is not None and metric in RESULT_METRICS:
        wide = results.districts[results.districts["year"] == y].pivot(
            index="lad_code", columns="metric", values="mean").reset_index()
        from .export import DisclosureRule

        ctl = control_districts(wide, DisclosureRule(threshold=threshold)).set_index("lad_code")
        values = pd.to_numeric(ctl[metric].reindex(values.index), errors="coerce")
    out = Path(out)
    if fmt == "html":
        deck, classes = build_deck(pkg, spec, values, sites=site_frame(pkg, results, y))
        from .offline_html import deck_to_offline_html

        html = deck_to_offline_html(deck, title=spec.title, legend=legend_html(classes,
                                                                               spec.label),
                                    source=source_line(man), marking=marking)
        from .results import write_text

        write_text(html, out)
        return out
    return render_static(pkg, spec, values, out, fmt=fmt, size=size, marking=marking,
                         source=source_line(man), sites=site_frame(pkg, results, y))


def render_static(pkg, spec: MapSpec, values: pd.Series, out: Path, *, fmt: str = "png",
                  size: str = "a4", marking: str | None = None, source: str = "",
                  sites: pd.DataFrame | None = None) -> Path:
    """The static rendering of a map spec: matplotlib/geopandas, with a London inset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .results import atomic_write

    plt.rcParams["pdf.fonttype"] = 42
    plt.rcParams["svg.fonttype"] = "none"
    classes = classify(values, spec)
    d = pkg.districts.copy()
    idx = pd.Series(classes.index, index=values.index).reindex(d["lad_code"]).to_numpy()
    cols = [tuple(c / 255 for c in (classes.colours[i] if i >= 0 else NO_DATA)) for i in idx]
    figsize = (11.69, 8.27) if size == "a4" else (13.33, 7.5)
    fig = plt.figure(figsize=figsize)
    ax = fig.add_axes([0.02, 0.08, 0.55, 0.8])
    d.plot(ax=ax, color=cols, edgecolor="#555555", linewidth=0.15)
    ax.set_axis_off()
    ax.set_aspect(1.6)
    if sites is not None and len(sites):
        ax.scatter(sites["lon"], sites["lat"], s=12, c="black", zorder=3)
        for r in sites.itertuples(index=False):
            ax.annotate(str(r.site_name).split(" (")[0], (r.lon, r.lat), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
    inset = fig.add_axes([0.58, 0.45, 0.2, 0.3])
    ldn = d["is_london"].to_numpy()
    d[ldn].plot(ax=inset, color=[c for c, m in zip(cols, ldn, strict=True) if m],
                edgecolor="#555555", linewidth=0.3)
    inset.set_axis_off()
    inset.set_title("London", fontsize=9)
    handles = [Patch(facecolor=tuple(c / 255 for c in col), edgecolor="#555555", label=lab)
               for lab, col in zip(classes.labels, classes.colours, strict=True)]
    handles.append(Patch(facecolor=tuple(c / 255 for c in NO_DATA), edgecolor="#555555",
                         label="No data or suppressed"))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.8, 0.85), fontsize=8,
               title=spec.label, title_fontsize=8, frameon=False)
    fig.text(0.02, 0.95, spec.title, fontsize=15, weight="bold")
    fig.text(0.02, 0.92, spec.subtitle, fontsize=9)
    fig.text(0.02, 0.02, source, fontsize=6.5, color="#333333", wrap=True)
    if marking:
        fig.text(0.5, 0.985, marking, ha="center", va="top", fontsize=11, weight="bold")
    out = Path(out)
    atomic_write(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=300 if fmt == "png"
                                              else None))
    plt.close(fig)
    return out
