"""A department's view of a whole-service run: whose posts are where, year by year.

Departments own plans, SCS and London offices (the Home Office, MoJ, HMRC ...), so a
strategy team wants its own figures inside the whole picture. The engines' flows do not
depend on a post's department — people are promoted and move across departments (ACSES
records 2-5% a year changing department) — so posts of one (grade, district) are alike to
them, and which of them are a department's is bookkeeping kept here, from what a run
records:

- at the start, each department's posts as the data package gives them;
- a wave's posts are its departments' (the departments it selects, else every department
  in proportion to the matching posts of its origin, grade by grade): the posts it opens
  at its destinations, the origin posts it closes as they fall vacant (placed over the
  origin districts in proportion to the departments' matching posts there), and the posts
  it relocates (``YearRecord.pools_closed``, ``moves``);
- every other change of a (grade, district)'s posts (the workforce trend, cuts) is shared
  in proportion to the departments' posts there at the start (ASSUMPTION: departments grow
  and shrink alike within a grade and place; where a district had no posts of a grade, as
  the departments' posts of that grade in or outside London).

So the departments' posts add up to the whole service's in every (grade, district) and
year. People, promotions, exits and person-time of a (grade, district) are shared in
proportion to its departments' posts (every post filled alike); a promotion is credited to
the department of the post the person was promoted from. The metrics
(:func:`department_columns`) are grouped ``dept:CODE``; counts add up to the whole
service's, and so do the flows behind each department's progression.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .geodata import DEVOLVED_ADMINISTRATIONS
from .grades import GRADES, is_rung
from .metrics import (
    CUT_METRIC,
    EO,
    G7,
    G7_PLUS,
    HIGH,
    LADDER,
    PS,
    SCS2,
    SCS_IDX,
    _div,
    _largest_gap,
    _seb_total,
    cut_since_base,
    period_progression,
)
from .population import N_GRADES

ALL = "all"
"""``departments: [all]`` reports every department."""
PLACES = ("london", "outside_london", "coldspots")
"""Places a department's progression is reported for (as the whole service's)."""


def requested(model, codes=None) -> list[int]:
    """Indices of the departments whose view is asked for (``codes`` or the scenario's
    ``departments``; ``all`` for every one).

    Raises
    ------
    ValueError
        If the data package has no department dimension or a code is unknown.
    """
    depts = model.rules.posts.departments
    codes = tuple(model.scenario.departments if codes is None else codes)
    if not codes:
        return []
    if depts is None or not depts.codes:
        raise ValueError("the data package has no department dimension (no departments.csv)")
    if ALL in codes:
        return list(range(len(depts.codes)))
    unknown = [c for c in codes if c not in depts.codes]
    if unknown:
        raise ValueError(f"unknown department {unknown[0]!r}")
    return depts.index(codes)


def _per_model(fn):
    """Work ``fn(model)`` out once per model and keep it on the model (a prepared model is
    not changed by its runs)."""
    key = f"_department{fn.__name__}"

    @functools.wraps(fn)
    def kept(model):
        value = model.__dict__.get(key)
        if value is None:
            value = model.__dict__[key] = fn(model)
        return value

    return kept


@_per_model
def _wave_parts(model) -> list[dict]:
    """Per wave: its departments' matching posts in the origin and the shares derived."""
    r = model.rules
    out = []
    for i, plan in enumerate(r.waves):
        m = plan.dept_mix  # (K, G, D) matching posts when it starts: whose posts it takes
        mg = m.sum(axis=2)  # (K, G)
        mk = mg.sum(axis=1)
        fallback = mk / mk.sum() if mk.sum() > 0 else np.full(len(mk), 1.0 / len(mk))
        tot = mg.sum(axis=0)
        w = np.where(tot > 0, mg / np.where(tot > 0, tot, 1.0), fallback[:, None])  # (K, G)
        split = r.posts.wave_split.get(i)
        if split is not None:
            s = split.sum(axis=1)
        else:
            s = tot / tot.sum() if tot.sum() > 0 else np.zeros(N_GRADES)
        closes = []  # (pool, grade, districts, (K, districts) where its closures fall)
        for g, (pools, _) in r.posts.wave_pool_groups.get(i, {}).items():
            for pool in pools:
                cols = np.flatnonzero(r.posts.pool_mask[pool])
                x = m[:, g][:, cols]
                if x.sum() > 0:
                    closes.append((pool, g, cols, x / x.sum()))
        ws = published_split(w * s, model.scenario.waves[i].department_shares,
                             r.posts.departments.codes)
        out.append(dict(m=m, ws=ws, W=ws.sum(axis=1), closes=closes,
                        recreate=plan.recreate))
    return out


def published_split(default: np.ndarray, shares: dict | None, codes) -> np.ndarray:
    """(K, G) departments' parts of roles by grade, with the published ``shares`` of the
    departments a scenario names (``department_shares``, in each grade alike) and the
    rest shared grade by grade as in ``default`` (whose columns add up to the grade's
    part of the roles); each grade's total is kept."""
    if not shares or not len(default):
        return default
    f = np.zeros(len(default))
    named = np.zeros(len(default), bool)
    for code, v in shares.items():
        f[codes.index(code)] = v
        named[codes.index(code)] = True
    grade = default.sum(axis=0)  # (G,)
    rest = np.where(named[:, None], 0.0, default)
    tot = rest.sum(axis=0)
    spread = np.where(tot > 0, rest / np.where(tot > 0, tot, 1.0),
                      (f / max(f.sum(), 1e-12))[:, None])  # (none else at the grade: named)
    return (f[:, None] + (1.0 - f.sum()) * spread) * grade[None, :]


@_per_model
def _start_shares(model) -> np.ndarray:
    """(K, G, D) departments' shares of each (grade, district)'s posts at the start; where
    there were none, their shares of the grade's posts in (or outside) London."""
    return post_shares(model.rules.posts.departments.posts.sum(axis=3), model.geo.is_london)


def post_shares(posts: np.ndarray, is_london: np.ndarray) -> np.ndarray:
    """Departments' shares of each (grade, district)'s posts.

    Parameters
    ----------
    posts : numpy.ndarray
        (department, grade, district) posts.
    is_london : numpy.ndarray
        (district,) bool.

    Returns
    -------
    numpy.ndarray
        (department, grade, district) shares adding up to 1 in every cell: where a cell has
        no posts, the departments' shares of the grade's posts in (or outside) London (a
        cell's later posts, from the workforce trend, are shared so).
    """
    base, lon = posts, is_london
    total = base.sum(axis=0)
    fb = np.stack([base[:, :, ~lon].sum(axis=2), base[:, :, lon].sum(axis=2)], axis=2)
    anyg = base.sum(axis=(1, 2))
    fb_tot = fb.sum(axis=0)
    fb = np.where(fb_tot > 0, fb / np.where(fb_tot > 0, fb_tot, 1.0),
                  (anyg / anyg.sum())[:, None, None])  # (K, G, place)
    fallback = fb[:, :, lon.astype(np.int64)]
    return np.where(total > 0, base / np.where(total > 0, total, 1.0), fallback)


@_per_model
def _start_posts(model) -> np.ndarray:
    """(K, D) departments' posts at the start."""
    return (_start_shares(model) * model.baseline_posts_gd[None]).sum(axis=1)


def ledger(model, result, idx=None) -> np.ndarray:
    """Departments' posts at each year end.

    Parameters
    ----------
    model : Model
    result : ReplicationResult
    idx : sequence of int, optional
        Departments wanted (default: every one).

    Returns
    -------
    numpy.ndarray
        (year, department, grade, district) posts; summed over every department, the
        run's posts by (grade, district) (see the module docstring for the rule).
    """
    parts = _wave_parts(model)
    share0 = _start_shares(model)
    idx = np.arange(share0.shape[0]) if idx is None else np.asarray(idx, np.int64)
    share0 = share0[idx]
    K, G, D = share0.shape
    Y = len(result.years)
    mv = result.moves
    cols = ("wave", "year", "from", "to", "posts")
    wave, year, frm, to, x = (mv[c].to_numpy() if len(mv) else np.empty(0) for c in cols)
    wave, year, frm, to = (a.astype(np.int64) for a in (wave, year, frm, to))
    x = x.astype(float)
    # a move counts from the first year end at or after it: changes by that year, summed
    ends = np.array([rec.year for rec in result.years])
    first = np.searchsorted(ends, year)
    own = np.zeros((Y, D, K, G))  # the wanted departments' posts from waves, by year
    every = np.zeros((Y, D, G))  # every department's
    for i, p in enumerate(parts):
        rows = (wave == i) & (first < Y)
        if not rows.any():
            continue
        b, t, n = first[rows], to[rows], x[rows]
        if p["recreate"]:
            amount = np.zeros((Y, D))
            np.add.at(amount, (b, t), n)
            own += amount[:, :, None, None] * p["ws"][idx][None, None]
            every += amount[:, :, None] * p["ws"].sum(axis=0)[None, None]
        else:
            f = frm[rows]
            mix = p["m"][:, :, f]  # (K, G, rows)
            tot = mix.sum(axis=(0, 1))
            mix = np.where(tot > 0, mix / np.where(tot > 0, tot, 1.0),
                           p["ws"][:, :, None]) * n
            for target, moved in ((own, mix[idx]), (every, mix.sum(axis=0))):
                moved = np.moveaxis(moved, -1, 0)  # (rows, ...)
                np.add.at(target, (b, f), -moved)
                np.add.at(target, (b, t), moved)
    if not Y:
        return np.zeros((0, K, G, D))
    own = np.cumsum(own, axis=0, out=own).transpose(0, 2, 3, 1)  # (Y, K, G, D)
    every = np.cumsum(every, axis=0, out=every).transpose(0, 2, 1)  # (Y, G, D)
    closed = np.stack([rec.pools_closed for rec in result.years])
    for p in parts:
        for pool, g, where, share in p["closes"]:
            own[:, :, g, where] -= share[idx][None] * closed[:, pool, None, None]
            every[:, g, where] -= share.sum(axis=0)[None] * closed[:, pool, None]
    posts = result.stacked("posts")  # (Y, G, D)
    out = share0[None] * (posts - every)[:, None]
    out += own
    return out


def roles_moved(model, result) -> np.ndarray:
    """(year, department) roles moved out of London, history included; summed over
    departments, the run's ``roles_moved_out_of_london``."""
    W, hist = _moved_shares(model)
    moved = np.stack([rec.moved_out_by_wave for rec in result.years])  # (Y, W)
    return moved @ W.T + hist[None, :]


@_per_model
def _moved_shares(model) -> tuple[np.ndarray, np.ndarray]:
    """Each department's share of each wave's roles (department, wave) and its roles moved
    out of London before the run."""
    r = model.rules
    parts = _wave_parts(model)
    K = len(r.posts.departments.codes)
    W = np.stack([p["W"] for p in parts], axis=1) if parts else np.zeros((K, 0))  # (K, W)
    hist = np.zeros(K)
    geo = model.geo
    for plan, p in zip(r.waves, parts, strict=True):
        hist += plan.moved_out_before * p["W"]
    base = r.posts.departments.posts.sum(axis=3)[:, :, geo.is_london].sum(axis=(1, 2))
    before = published_split((base / max(base.sum(), 1.0))[:, None],
                             model.scenario.roles_moved_before_shares,
                             r.posts.departments.codes)
    hist += model.scenario.roles_moved_before * before[:, 0]
    if hist.sum() > 0:
        hist *= r.moved_before_start / hist.sum()
    return W, hist


def wave_shares(model) -> dict[str, dict[str, float]]:
    """Each requested department's share of each wave's posts, by wave name (its share of
    the roles the wave moves, :func:`roles_moved`'s rule): what the department's view draws
    of the run's moves (:func:`department_results`); empty without a department view."""
    idx = requested(model)
    if not idx:
        return {}
    W, _ = _moved_shares(model)
    codes = model.rules.posts.departments.codes
    names = [w.name for w in model.scenario.waves]
    return {codes[k]: {name: float(W[k, i]) for i, name in enumerate(names)} for k in idx}


def progression_flows(model, result, shares: np.ndarray) -> tuple[np.ndarray, ...]:
    """Promotions, exits and person-time of each department by place (all SEB classes).

    Parameters
    ----------
    shares : numpy.ndarray
        (year, department, grade, district) departments' shares of posts.

    Returns
    -------
    tuple of numpy.ndarray
        Three (year, department, place, grade) arrays, places as :data:`PLACES` (London,
        outside London, coldspots outside London); promotions are INTO each grade,
        credited to the department the person came from.
    """
    geo = model.geo
    lon = geo.is_london
    places = np.stack([lon, ~lon, geo.is_coldspot & ~lon]).astype(float)  # (place, D)
    out = []
    for name in ("promotions", "exits", "exposure"):
        a = _seb_total(result.stacked(name))
        if name == "promotions":  # credited to the grade below's department
            s = np.concatenate([shares[:, :, :1], shares[:, :, :-1]], axis=2)
        else:
            s = shares
        out.append(np.einsum("ykgd,ygd,pd->ykpg", s, a, places))
    return tuple(out)


MAX_CACHED = 4
"""A result keeps the ledger of at most this many departments (every department's takes
about 25 MB a replication: worked out again rather than kept)."""


def _ledger_of(model, result, idx) -> tuple[np.ndarray, np.ndarray]:
    """:func:`ledger` of departments ``idx`` and their shares of each (grade, district)'s
    posts, kept with the result (the headline and the district tables both read them)."""
    key = ("_department_ledger", tuple(idx))
    cached = result.__dict__.get(key[0])
    if cached is not None and cached[0] == key[1]:
        return cached[1], cached[2]
    led = ledger(model, result, idx)  # (Y, wanted, G, D)
    posts = result.stacked("posts")[:, None]
    shares = np.where(posts > 0, led / np.where(posts > 0, posts, 1.0), 0.0)
    if len(idx) <= MAX_CACHED:
        result.__dict__[key[0]] = (key[1], led, shares)
    return led, shares


def district_values(model, result, codes=None) -> tuple[list[str], np.ndarray]:
    """District measures of the requested departments, named ``METRIC|dept:CODE``.

    Returns
    -------
    names : list of str
    values : numpy.ndarray
        (year, district, name): the district table's measures
        (:data:`placesim.metrics.DISTRICT_METRICS`) for the department, people shared as
        posts are.
    """
    idx = requested(model, codes)
    if not idx:
        return [], np.zeros((len(result.years), model.geo.n_districts, 0))
    led, shares = _ledger_of(model, result, idx)
    base = _start_posts(model)[idx]  # (k, D)
    # their people in post at the start, shared as posts are (some posts start vacant)
    base_people = (_start_shares(model)[idx] * model.baseline_stock.sum(axis=2)[None]).sum(axis=1)
    stock = result.stacked("stock")  # (Y, G, D, S)
    codes_all = model.rules.posts.departments.codes
    names, cols = [], []
    for j, k in enumerate(idx):
        tag = f"dept:{codes_all[k]}"
        posts = led[:, j].sum(axis=1)  # (Y, D)
        people = (stock * shares[:, j, :, :, None]).sum(axis=1)  # (Y, D, S)
        headcount = people.sum(axis=2)
        names += [f"{m}|{tag}" for m in ("posts", "net_posts_gained", "scs_posts",
                                         "headcount", "headcount_change", "high_seb_share")]
        cols += [posts, posts - base[j], led[:, j][:, SCS_IDX].sum(axis=1), headcount,
                 headcount - base_people[j], _div(people[:, :, HIGH], headcount)]
    return names, np.stack(cols, axis=2)


def district_frame(model, results, scenario_name: str) -> pd.DataFrame:
    """The requested departments' district measures with bands over replications, in the
    layout of the district table (:data:`placesim.metrics.DISTRICT_COLUMNS`); ``results``
    are replications or their :class:`placesim.metrics.Digest`."""
    from .metrics import DISTRICT_COLUMNS, _bands, digest

    digests = [digest(model, r) for r in results]
    tables = [d.departments for d in digests]
    names = tables[0][0]
    if not names:
        return pd.DataFrame(columns=DISTRICT_COLUMNS)
    mean, p10, p50, p90 = _bands(np.stack([t[1] for t in tables]))
    n_years, n_d, n_m = mean.shape
    years = digests[0].years
    return pd.DataFrame({
        "scenario": scenario_name, "year": np.repeat(years, n_d * n_m),
        "lad_code": np.tile(np.repeat(model.geo.lad_codes, n_m), n_years),
        "metric": np.tile(np.array(names), n_years * n_d),
        "mean": mean.ravel(), "p10": p10.ravel(), "p50": p50.ravel(), "p90": p90.ravel()})


def department_columns(model, result, codes=None) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Headline metrics of the requested departments, grouped ``dept:CODE``.

    Parameters
    ----------
    model : Model
    result : ReplicationResult
    codes : sequence of str, optional
        Departments (default: the scenario's ``departments``).

    Returns
    -------
    labels : list of (metric, group)
    values : numpy.ndarray
        (year, label).
    """
    idx = requested(model, codes)
    n_years = len(result.years)
    if not idx:
        return [], np.zeros((n_years, 0))
    geo = model.geo
    lon = geo.is_london
    codes_all = model.rules.posts.departments.codes
    led, shares = _ledger_of(model, result, idx)
    stock = result.stacked("stock")  # (Y, G, D, S)
    moved = roles_moved(model, result)
    _, before = _moved_shares(model)  # (each department's part of the history before it)
    prom, ex, expo = progression_flows(model, result, shares)
    postings = np.stack([np.asarray(r.posting_posts, float) for r in result.years])  # (Y, G)
    years = np.array([r.year for r in result.years])
    # (K,) each department's London posts at the start (the cut's base in a run from 2025)
    london0 = (_start_shares(model) * model.baseline_posts3.sum(axis=2)[None])[:, :, lon].sum(
        axis=(1, 2))
    labels: list[tuple[str, str]] = []
    cols: list[np.ndarray] = []
    for j, k in enumerate(idx):
        tag = f"dept:{codes_all[k]}"
        mine = led[:, j]  # (Y, G, D)
        scs = mine[:, SCS_IDX]
        scs_lon = scs[:, :, lon].sum(axis=(1, 2))
        scs_out = scs[:, :, ~lon].sum(axis=(1, 2))
        # the Places for Growth measures (SCS, permanent secretaries outside London) leave
        # out the devolved administrations: theirs are not counted (NaN), as in the headline
        pfg = np.nan if codes_all[k] in DEVOLVED_ADMINISTRATIONS else 1.0
        # the Plan for Change's measure for the department (a pack of one department left
        # the target out altogether; review)
        # (its Civil Service posts, as the whole service's: not its part of London
        # postings' posts, whose holders keep their home posts; review)
        posted = (shares[:, j, :, model.rules.posting_district] * postings).sum(axis=1)
        labels.append((CUT_METRIC, tag))
        cols.append(cut_since_base(mine[:, :, lon].sum(axis=(1, 2)) - posted, years,
                                   model.scenario.horizon.start_year, float(london0[k])))
        labels += [("roles_moved_out_of_london", tag), ("roles_moved_before_start", tag),
                   ("posts", tag),
                   ("posts", f"{tag}|london"), ("scs_posts", f"{tag}|london"),
                   ("scs_posts", f"{tag}|outside_london"), ("scs_outside_london_share", tag)]
        cols += [moved[:, k], np.full(n_years, before[k]), mine.sum(axis=(1, 2)),
                 mine[:, :, lon].sum(axis=(1, 2)),
                 scs_lon, scs_out, _div(scs_out, scs_lon + scs_out) * pfg]
        people = stock * shares[:, j, :, :, None]  # (Y, G, D, S)
        scs_people = people[:, SCS_IDX]
        high_g7 = people[:, G7_PLUS][..., HIGH]
        high_g7_london = high_g7[:, :, lon].sum(axis=(1, 2))
        g7_london = people[:, G7_PLUS][:, :, lon].sum(axis=(1, 2, 3))
        labels += [("perm_secs_outside_london", tag), ("headcount", tag),
                   ("high_seb_share_london_scs", tag), ("high_seb_share_non_london_scs", tag),
                   ("london_share_of_high_seb_g7_plus", tag),
                   ("high_seb_share_london_g7_plus", tag), ("headcount", f"{tag}|g7_plus|london")]
        cols += [mine[:, PS][:, ~lon].sum(axis=1) * pfg, people.sum(axis=(1, 2, 3)),
                 _div(scs_people[:, :, lon, HIGH].sum(axis=(1, 2)),
                      scs_people[:, :, lon].sum(axis=(1, 2, 3))),
                 _div(scs_people[:, :, ~lon, HIGH].sum(axis=(1, 2)),
                      scs_people[:, :, ~lon].sum(axis=(1, 2, 3))),
                 _div(high_g7_london, high_g7.sum(axis=(1, 2))),
                 _div(high_g7_london, g7_london), g7_london]
        for p, place in enumerate(PLACES):
            flows = (prom[:, j, p], ex[:, j, p], expo[:, j, p])
            labels += [("progression_eo_to_g7", f"{tag}|{place}"),
                       ("progression_eo_to_director", f"{tag}|{place}")]
            cols += [period_progression(*flows, EO, G7), period_progression(*flows, EO, SCS2)]
        site_posts = mine[:, :, geo.site_district]  # (Y, G, sites)
        ladder = is_rung(site_posts[:, LADDER])  # (the whole service's rule: grades.RUNG_POSTS)
        complete, gaps = ladder.mean(axis=1), _largest_gap(ladder).astype(float)  # (Y, sites)
        for s, sid in enumerate(geo.site_ids):
            labels += [("site_posts", f"{tag}|site:{sid}:{g}") for g in GRADES]
            cols += list(site_posts[:, :, s].T)
            labels += [("site_ladder_completeness", f"{tag}|site:{sid}"),
                       ("site_ladder_largest_gap", f"{tag}|site:{sid}")]
            cols += [complete[:, s], gaps[:, s]]
    return labels, np.stack(cols, axis=1)


def department_results(results, code: str, name: str | None = None):
    """A run's results as one department sees them: its figures under the whole service's
    metric and group names, so every table, chart, map and briefing reads them unchanged.

    Parameters
    ----------
    results : Results
        A run with the department's view (scenario ``departments`` or ``--department``).
    code : str
        Department code, e.g. ``"HO"``.
    name : str, optional
        Its published name, for titles (default: the code).

    Returns
    -------
    Results
        Metrics, districts and replications of the department only (measures the view
        does not have are left out); the run's moves times the department's share of each
        wave (:func:`wave_shares`, kept in the manifest); the manifest names the department.

    Raises
    ------
    ValueError
        The run has no view of this department.
    """
    from dataclasses import replace

    tag = f"dept:{code}"

    def own(frame: pd.DataFrame | None) -> pd.DataFrame | None:
        if frame is None:
            return None
        g = frame["group"].astype(str)
        mine = (g == tag) | g.str.startswith(tag + "|")
        out = frame[mine].copy()
        rest = g[mine].str[len(tag) + 1:]
        out["group"] = np.where(rest == "", "all", rest)
        return out.reset_index(drop=True)

    metrics = own(results.metrics)
    if metrics is None or metrics.empty:
        raise ValueError(f"these results have no view of department {code}: run the "
                         f"scenario with --department {code} (or departments: [{code}])")
    d = results.districts
    suffix = f"|{tag}"
    districts = d[d["metric"].astype(str).str.endswith(suffix)].copy()
    districts["metric"] = districts["metric"].astype(str).str[:-len(suffix)]
    manifest = dict(results.manifest)
    manifest.update(department=code, department_name=name or code)
    # its part of each wave's moves (a run that did not keep the shares: none drawn, rather
    # than the whole service's moves under the department's name)
    shares = manifest.get("department_wave_shares", {}).get(code, {})
    moves = results.moves
    if moves is not None and len(moves):
        moves = moves.assign(posts=moves["posts"] * moves["wave"].map(shares).fillna(0.0))
        moves = moves[moves["posts"] > 0].reset_index(drop=True)
    return replace(results, metrics=metrics, districts=districts.reset_index(drop=True),
                   replications=own(results.replications), manifest=manifest, moves=moves)


def department_labels(departments: pd.DataFrame) -> dict[str, str]:
    """Each department's label for a picker, ``Name (CODE)``, with the names it also
    answers to (the data package's aliases: ``Department for International Trade (DIT;
    also DBT, Department for Business and Trade)``), so that typing a newer name finds the
    department the statistics still report (typing DBT found BEIS, not DIT)."""
    out = {}
    aliases = departments.get("aliases", pd.Series("", index=departments.index))
    for code, name, alias in zip(departments["code"], departments["name"], aliases.fillna(""),
                                 strict=True):
        also = [a.strip() for a in str(alias).split(";") if a.strip()]
        out[code] = f"{name} ({code}" + (f"; also {', '.join(also)})" if also else ")")
    return out


def department_names(results) -> dict[str, str]:
    """Departments whose view a run holds: code -> code (the names are the data package's:
    see :func:`placesim.population.department_posts`)."""
    g = results.metrics["group"].astype(str)
    codes = g[g.str.startswith("dept:")].str[5:].str.split("|").str[0].unique()
    return {c: c for c in sorted(codes)}


__all__ = ["ALL", "PLACES", "department_columns", "department_labels", "department_names",
           "department_results", "district_frame", "district_values", "ledger",
           "progression_flows", "requested", "roles_moved"]
