"""Charts for the app: every chart has a legend, colours and dashes from Okabe–Ito, and
target markers keyed in the legend instead of text printed over the lines."""

from __future__ import annotations

import pandas as pd

from placesim.present import COUNT_UNITS, OKABE_ITO, axis_format, group_label, measure


def series(res, metric: str, groups: list[str], label: str | None = None) -> pd.DataFrame:
    """``year, series, group, mean, p10, p90`` for a metric's groups, with plain labels."""
    m = res.metrics
    sel = m[(m.metric == metric) & m.group.isin(groups)].copy()
    sel["series"] = [label or group_label(g) for g in sel.group]
    return sel[["year", "series", "group", "mean", "p10", "p90"]]


def band_chart(frame: pd.DataFrame, *, metric: str, y_title: str | None = None,
               targets: list[dict] | None = None, height: int = 260):
    """Lines with P10–P90 bands and an optional target marker, with a legend.

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`series` (one or more series).
    metric : str
        For the axis format and title.
    targets : list of dict, optional
        ``year, value, label``: drawn as diamonds beside the year's point, keyed "Target" in
        the legend.

    Returns
    -------
    altair.Chart
    """
    import altair as alt

    fmt = axis_format(metric)
    m = measure(metric)
    y_title = y_title or {"posts": "Posts", "people": "People", "share": "Share (%)",
                          "chance": "Chance (%)", "per_1000": "Of 1,000 EOs",
                          "gbp": "Pounds"}.get(m.unit, m.label)
    order = list(dict.fromkeys(frame["series"]))
    keys = order + (["Target"] if targets else [])
    colours = list(OKABE_ITO[:len(order)]) + (["#000000"] if targets else [])
    dashes = [[1, 0], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4]]
    legend = alt.Legend(orient="bottom", labelLimit=320, direction="vertical", title=None,
                        symbolStrokeWidth=2.5)
    # one legend: colour and dash on the same field, merged (a layer that switched its legend
    # off would switch off the merged one)
    colour = alt.Color("series:N", sort=keys, scale=alt.Scale(domain=keys, range=colours),
                       legend=legend)
    dash = alt.StrokeDash("series:N", sort=keys, legend=legend,
                          scale=alt.Scale(domain=keys, range=dashes[:len(keys)]))
    x = alt.X("year:O", title="Year", axis=alt.Axis(labelAngle=0))
    base = alt.Chart(frame).encode(x=x)
    layers = [
        # the band on the fill channel, keyless: the legend shows the lines and the target
        alt.Chart(frame.assign(band=frame["series"])).mark_area(opacity=0.18).encode(
            x=x, y="p10:Q", y2="p90:Q",
            fill=alt.Fill("band:N", legend=None, scale=alt.Scale(domain=keys,
                                                                 range=colours))),
        base.mark_line(point=True, strokeWidth=2.5).encode(
            # (whole numbers of people or posts: no half-steps, which showed as 1, 1, 2, 2)
            y=alt.Y("mean:Q", title=y_title, axis=alt.Axis(
                format=fmt, tickMinStep=1 if m.unit in COUNT_UNITS else alt.Undefined)),
            color=colour,
            strokeDash=dash,
            tooltip=[alt.Tooltip("series:N", title="Series"), alt.Tooltip("year:O"),
                     alt.Tooltip("mean:Q", title="Value", format=fmt),
                     alt.Tooltip("p10:Q", title="Low (P10)", format=fmt),
                     alt.Tooltip("p90:Q", title="High (P90)", format=fmt)]),
    ]
    if targets:
        t = pd.DataFrame(targets).assign(series="Target")
        # beside the year's point (dx), so a target met exactly does not hide the data
        layers.append(alt.Chart(t).mark_point(shape="diamond", size=130, filled=True,
                                              opacity=0.9, dx=12).encode(
            x=alt.X("year:O"), y=alt.Y("value:Q"), color=colour,
            tooltip=[alt.Tooltip("label:N", title="Target")]))
    return alt.layer(*layers).properties(height=height).resolve_legend(color="shared")


def spec_has_legend(spec: dict) -> bool:
    """Whether a Vega-Lite spec shows a legend (an encoding with a legend that is not
    switched off) or labelled marks (a text mark). Used by the tests."""
    def walk(node):
        if isinstance(node, dict):
            if node.get("mark") in ("text",) or (isinstance(node.get("mark"), dict)
                                                 and node["mark"].get("type") == "text"):
                return True
            enc = node.get("encoding", {})
            for ch in ("color", "fill", "stroke", "shape", "strokeDash", "size", "opacity"):
                e = enc.get(ch)
                if isinstance(e, dict) and e.get("field") and e.get("legend", {}) is not None:
                    return True
            return any(walk(v) for v in node.values())
        if isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    return walk(spec)
