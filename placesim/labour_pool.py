"""Labour-pool depth of a destination: can it recruit G7 to SCS locally?

A campus has a real career ladder only if it can fill senior posts from people who live
within reach. For each district this module reports, within a commute (straight-line
distance between district centroids, :data:`COMMUTE_KM`, a proxy for about an hour's
journey):

* the share of the local labour market from higher professional and managerial occupations
  (SMC State of the Nation DR14 occupation mix at ITL2, the package's ``labour_market``
  table; districts within the commute averaged with equal weight, as the package holds no
  working-age population);
* the Civil Service posts already there, in all and at G7 and above (the package's baseline);
* the district's own ladder: which grades from AO to Director (SCS2) it has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .grades import GRADES, LADDER, RUNG_POSTS, is_rung

COMMUTE_KM = 50.0
"""Commuting reach (ASSUMPTION: 50 km straight line, about an hour by road or rail; range
30-80 km)."""


def ladder_rungs(posts: pd.DataFrame) -> pd.Series:
    """Each district's rungs (by ``lad_code``): the :data:`placesim.grades.LADDER` grades with
    at least :data:`placesim.grades.RUNG_POSTS` posts in a table of posts (``lad_code``,
    ``grade``, ``posts``), as sets; the planner's ranking and this module's words read it."""
    b = posts[posts["grade"].isin(LADDER)]
    by_grade = b.groupby(["lad_code", "grade"])["posts"].sum()
    return by_grade[is_rung(by_grade.to_numpy())].reset_index().groupby("lad_code")[
        "grade"].agg(set)


def labour_pool(pkg, commute_km: float = COMMUTE_KM) -> pd.DataFrame:
    """Labour-pool depth of every district.

    Parameters
    ----------
    pkg : DataPackage
    commute_km : float

    Returns
    -------
    pandas.DataFrame
        ``lad_code, higher_professional_share, cs_posts_within_commute,
        g7_plus_posts_within_commute, ladder`` (the grades AO-SCS2 present, e.g.
        ``"7 of 8 (no SCS2)"``).
    """
    d = pkg.districts
    lon = np.radians(d["centroid_lon"].to_numpy(float))
    lat = np.radians(d["centroid_lat"].to_numpy(float))
    h = (np.sin((lat[:, None] - lat[None]) / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None])
         * np.sin((lon[:, None] - lon[None]) / 2) ** 2)
    near = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1))) <= commute_km  # (D, D)
    codes = d["lad_code"].to_numpy()
    high = d["lad_code"].map(pkg.labour_market.set_index("lad_code")["high"]).to_numpy(float)
    ok = np.isfinite(high)
    w = near & ok[None]
    share = np.where(w.sum(axis=1) > 0, (w * np.nan_to_num(high)[None]).sum(axis=1)
                     / np.maximum(w.sum(axis=1), 1), np.nan)
    b = pkg.baseline_posts
    posts = b.groupby("lad_code")["posts"].sum().reindex(codes, fill_value=0).to_numpy(float)
    senior = b[b["grade"].isin(GRADES[GRADES.index("G7"):])].groupby("lad_code")["posts"] \
        .sum().reindex(codes, fill_value=0).to_numpy(float)
    present = ladder_rungs(b)
    ladder = []
    for c in codes:
        have = present.get(c, set())
        missing = [g for g in LADDER if g not in have]
        ladder.append(f"{len(LADDER) - len(missing)} of {len(LADDER)}" + (
            f" (fewer than {RUNG_POSTS} {', '.join(missing)})" if missing else " (complete)"))
    return pd.DataFrame({"lad_code": codes, "higher_professional_share": share,
                         "cs_posts_within_commute": near @ posts,
                         "g7_plus_posts_within_commute": near @ senior, "ladder": ladder})


def describe(row) -> str:
    """One sentence on a district's labour pool (for a planner's rationale)."""
    return (f"labour pool within {COMMUTE_KM:.0f} km: {row['higher_professional_share']:.0%} "
            f"of workers in higher professional or managerial jobs, "
            f"{row['cs_posts_within_commute']:,.0f} Civil Service posts "
            f"({row['g7_plus_posts_within_commute']:,.0f} at G7 and above); ladder here: "
            f"{row['ladder']}")
