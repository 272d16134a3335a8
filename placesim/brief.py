"""The briefing pack: what ``placesim brief`` writes for a minister's box.

One folder holding maps of the key district metrics (PNG and PDF), a one-page PDF with the
headline figures and their bands, the targets table and a plain-English summary generated
from the figures, the spreadsheets (ODS, XLSX, CSV), the district GeoPackage and a provenance
file. Everything is made offline with matplotlib's Agg backend and carries the source line.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd

from .export import (
    DisclosureRule,
    control_metrics,
    plain_summary,
    source_line,
    targets_table,
    write_geopackage,
    write_spreadsheet,
)
from .metrics import HEADLINES
from .results import atomic_write, write_csv, write_text

KEY_MAPS = ("net_posts_gained", "high_seb_share", "scs_posts")



def headline_table(results, year: int | None = None) -> pd.DataFrame:
    """Headline figures in one year with P10–P90 bands, formatted for print."""
    m = results.metrics
    year = int(m["year"].max()) if year is None else year
    rows = []
    for label, metric, group, fmt in HEADLINES:
        r = m[(m["metric"] == metric) & (m["group"] == group) & (m["year"] == year)]
        if r.empty or pd.isna(r["mean"].iloc[0]):
            continue
        r = r.iloc[0]
        rows.append({"measure": label, "value": fmt.format(r["mean"]),
                     "p10_to_p90": f"{fmt.format(r['p10'])} to {fmt.format(r['p90'])}"})
    return pd.DataFrame(rows)


def one_page_pdf(results, path: Path, *, compare=None, marking: str | None = None) -> Path:
    """The one-page summary PDF: title, headline figures, targets, summary, source line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["pdf.fonttype"] = 42  # real text in the PDF (searchable, extractable)
    man = results.manifest
    year = int(results.metrics["year"].max())
    fig = plt.figure(figsize=(8.27, 11.69))
    y = 0.97
    if marking:
        fig.text(0.5, 0.985, marking, ha="center", va="top", fontsize=11, weight="bold")
        y -= 0.02
    title = f"placesim briefing: {man.get('scenario', '')}"
    fig.text(0.06, y, title, fontsize=16, weight="bold", va="top")
    sub = (f"Scenario {man.get('scenario_hash', '')}, {man.get('mode', '')} mode, "
           f"{man.get('replications', '')} replications, seed {man.get('seed', '')}; "
           f"figures for {year} (mean, P10 to P90)")
    fig.text(0.06, y - 0.03, sub, fontsize=8.5, va="top", color="#333333")
    head = headline_table(results, year)
    ax = fig.add_axes([0.06, 0.52, 0.88, 0.36])
    ax.axis("off")
    if len(head):
        t = ax.table(cellText=head.values.tolist(), colLabels=["Measure", "Value", "P10 to P90"],
                     loc="upper left", colLoc="left", cellLoc="left", colWidths=[0.5, 0.2, 0.3])
        t.auto_set_font_size(False)
        t.set_fontsize(8.5)
        t.scale(1, 1.25)
    tt = targets_table(results.metrics)
    ax2 = fig.add_axes([0.06, 0.33, 0.88, 0.17])
    ax2.axis("off")
    ax2.set_title("Targets", loc="left", fontsize=11, weight="bold")
    if len(tt):
        cells = tt[["target", "target_year", "target_value", "projected", "band_p10_p90",
                    "verdict"]].astype(str).values.tolist()
        t2 = ax2.table(cellText=cells, colLabels=["Target", "By", "Target value", "Projected",
                                                   "P10 to P90", "Verdict"],
                       loc="upper left", colLoc="left", cellLoc="left",
                       colWidths=[0.36, 0.07, 0.13, 0.13, 0.2, 0.11])
        t2.auto_set_font_size(False)
        t2.set_fontsize(7.5)
        t2.scale(1, 1.2)
    summary = plain_summary(results, compare)
    text = "\n".join(textwrap.fill("• " + s, 110) for s in summary)
    fig.text(0.06, 0.31, "Summary", fontsize=11, weight="bold", va="top")
    fig.text(0.06, 0.285, text, fontsize=8, va="top", linespacing=1.4)
    fig.text(0.06, 0.025, textwrap.fill(source_line(man), 140), fontsize=7, color="#333333")
    if marking:
        fig.text(0.5, 0.008, marking, ha="center", fontsize=9, weight="bold")
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="pdf"))
    plt.close(fig)
    return Path(path)


def write_brief(results, pkg, out: Path, *, compare=None, marking: str | None = None,
                threshold: int = 5) -> list[Path]:
    """Write the briefing pack into ``out``.

    Parameters
    ----------
    results : Results
    pkg : DataPackage
    out : pathlib.Path
    compare : Results, optional
        A comparison scenario (e.g. the baseline) for the summary's main change.
    marking : str, optional
        Protective marking printed on every page and map.
    threshold : int
        Disclosure control threshold for counts of people.

    Returns
    -------
    list of pathlib.Path
    """
    from .maps import export_map

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rule = DisclosureRule(threshold=threshold)
    paths = [one_page_pdf(results, out / "summary.pdf", compare=compare, marking=marking)]
    for metric in KEY_MAPS:
        for fmt in ("png", "pdf"):
            paths.append(export_map(results, pkg, metric=metric, year=None, fmt=fmt,
                                    out=out / f"map_{metric}.{fmt}", marking=marking,
                                    threshold=threshold))
    t = targets_table(results.metrics)
    write_csv(t, out / "targets.csv")
    write_csv(control_metrics(results.metrics, rule), out / "metrics.csv")
    paths += [out / "targets.csv", out / "metrics.csv"]
    for ext in ("ods", "xlsx"):
        paths.append(write_spreadsheet(results, out / f"results.{ext}", rule=rule))
    paths.append(write_geopackage(results, pkg, out / "districts.gpkg", rule=rule))
    summary = plain_summary(results, compare)
    write_text("\n".join(summary) + "\n\n" + source_line(results.manifest) + "\n",
               out / "summary.txt")
    prov = dict(results.manifest)
    prov["source_line"] = source_line(results.manifest)
    if compare is not None:
        prov["compared_with"] = {k: compare.manifest.get(k) for k in
                                 ("scenario", "scenario_hash", "seed", "replications")}
    write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n", out / "provenance.json")
    paths += [out / "summary.txt", out / "provenance.json"]
    return paths
