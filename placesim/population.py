"""Posts and the people in them, as a struct of arrays.

Each **slot** is one post (district, grade, post type); its occupant's attributes live in
parallel arrays (``seb`` = :data:`VACANT` marks a vacant post, :data:`HELD` a post kept for
someone away on a London posting). An index, ``order``, lists the slots by (grade,
labour-market area), so the candidates for a vacancy — the people one grade below in an area —
form one contiguous block of it and can be drawn by position. When a post moves to another
area it is swapped across the boundaries between its old and its new block, one swap per
block crossed, so the index never needs re-sorting. The attribute arrays themselves never
move, so the baseline's posts keep the slot numbers they get at synthesis.

Posts can be created and abolished (London postings, and workforce growth and cuts): spare
slots of every grade follow the baseline's; they belong to no district (``district`` =
``n_districts``) and sit in an extra, last "area" of their grade's blocks. Creating a post
moves a spare slot into its area's block; abolishing one moves it back.

The places a slot can be in are fixed per data package in :class:`Geography`: district codes,
their labour-market area (the ITL3 area; London is one area, because London is one commuting
market), London and coldspot flags, the local labour market's SEB mix and distances.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from .grades import GRADES, SEB_CLASSES
from .keep import Kept, digest, kept_for, read_only

N_GRADES = len(GRADES)
N_SEB = len(SEB_CLASSES)
VACANT = -1
"""``seb`` of a vacant post."""
HELD = -2
"""``seb`` of a post kept for its holder while they are away (a London posting)."""
NEVER = np.iinfo(np.int16).max
"""``ready`` of a post whose occupant cannot be promoted or moved (vacant, held, away)."""
NEVER_STEP = np.iinfo(np.int32).max
"""``exit_at`` of a post with no occupant due to leave."""
AREA_LEVEL = "itl2"
"""The default geography of a labour-market area (London is always one area)."""
START_TENURE_STEPS = 16
"""At the start, time in grade is uniform over this many past steps (an assumption)."""

POST_TYPES: tuple[str, ...] = ("other", "policy", "private_office")
"""What a post is beyond grade and place: another profession's post, a policy post, or a
private office (accelerator) post, which is a policy post too."""
OTHER, POLICY, PRIVATE_OFFICE = 0, 1, 2
N_TYPES = len(POST_TYPES)


def post_type(profession: str, role: str) -> int:
    """The post type of a ``(profession, role)`` pair as the data package gives it."""
    if role == "private_office":
        return PRIVATE_OFFICE
    return POLICY if profession == "policy" else OTHER


def post_types(professions, roles) -> np.ndarray:
    """:func:`post_type` of every row of two columns, worked out once per distinct pair (a
    package has tens of thousands of rows and a handful of pairs: a Python call per row was
    a fifth of preparing a model)."""
    pc, pu = pd.factorize(np.asarray(professions, dtype=object), use_na_sentinel=False)
    rc, ru = pd.factorize(np.asarray(roles, dtype=object), use_na_sentinel=False)
    table = np.array([[post_type(p, r) for r in ru] for p in pu], np.int64)
    return table.reshape(len(pu), len(ru))[pc, rc]


def baseline_rows(b, geo: Geography) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grade, district, post type) indices of each row of a baseline-posts table."""
    g = b["grade"].map({x: i for i, x in enumerate(GRADES)}).to_numpy(np.int64)
    return g, geo.index_of(b["lad_code"]), post_types(b["profession"], b["role"])


def type_mask(profession: str, role: str) -> np.ndarray:
    """Post types a wave's selector matches (profession any/policy/other, role
    any/standard/private_office)."""
    m = np.ones(N_TYPES, bool)
    if profession == "policy":
        m[OTHER] = False
    elif profession == "other":
        m[[POLICY, PRIVATE_OFFICE]] = False
    if role == "private_office":
        m[[OTHER, POLICY]] = False
    elif role == "standard":
        m[PRIVATE_OFFICE] = False
    return m


def baseline_posts3(pkg, geo: Geography) -> np.ndarray:
    """(grade, district, post type) posts of a data package's baseline (read-only: kept for
    the package and geography, :data:`_DERIVED`)."""

    def make():
        b = pkg.baseline_posts
        g, d, t = baseline_rows(b, geo)
        out = np.zeros((N_GRADES, geo.n_districts, N_TYPES))
        np.add.at(out, (g, d, t), b["posts"].to_numpy(float))
        read_only(out)
        return out

    return kept_for(_DERIVED, (pkg, geo), ("posts3",), make)


@dataclass(frozen=True)
class Departments:
    """The data package's parent departments and their posts at the start.

    The engines' flows do not depend on a post's department (people move between
    departments: ACSES records 2-5% a year), so posts of one (grade, district, post type)
    cell are alike to them; a department decides which posts a wave selects
    (:func:`placesim.posts.select_departments`) and whose posts they are afterwards
    (:mod:`placesim.departments`).

    Attributes
    ----------
    codes, names : tuple of str
        ``departments.csv`` codes (sorted) and published names; empty for a package
        without the department dimension.
    posts : numpy.ndarray
        (department, grade, district, post type) posts of the baseline.
    """

    codes: tuple[str, ...]
    names: tuple[str, ...]
    posts: np.ndarray

    def index(self, codes) -> list[int]:
        """Indices of department codes (raises KeyError on an unknown code)."""
        at = {c: i for i, c in enumerate(self.codes)}
        return [at[c] for c in codes]


def department_posts(pkg, geo: Geography) -> Departments:
    """The :class:`Departments` of a data package (none if it has no ``department``
    column; read-only: kept for the package and geography, :data:`_DERIVED`)."""
    return kept_for(_DERIVED, (pkg, geo), ("departments",),
                    lambda: _department_posts(pkg, geo))


def _department_posts(pkg, geo: Geography) -> Departments:
    b = pkg.baseline_posts
    depts = getattr(pkg, "departments", None)
    if "department" not in b.columns or depts is None or not len(depts):
        none = np.zeros((0, N_GRADES, geo.n_districts, N_TYPES))
        read_only(none)
        return Departments((), (), none)
    table = depts.sort_values("code")
    codes = tuple(table["code"])
    k = b["department"].map({c: i for i, c in enumerate(codes)}).to_numpy(np.int64)
    g, d, t = baseline_rows(b, geo)
    out = np.zeros((len(codes), N_GRADES, geo.n_districts, N_TYPES))
    np.add.at(out, (k, g, d, t), b["posts"].to_numpy(float))
    read_only(out)
    return Departments(codes, tuple(table["name"].astype(str)), out)


def expected_stock(pkg, geo: Geography, posts3: np.ndarray) -> np.ndarray:
    """(grade, district, seb, post type) people expected in the baseline: every post filled,
    SEB in the fitted grade × place × profession mix (what :func:`synthesise` draws)."""
    mix = seb_mix_table(pkg)  # (grade, place, profession, seb)
    place = geo.is_london.astype(np.int64)
    prof = np.array([0, 1, 1])  # post type -> profession
    m = mix[:, place][:, :, prof]  # (grade, district, type, seb)
    return (posts3[..., None] * m).transpose(0, 1, 3, 2)


SOUTH_EAST_ITL1 = ("TLI", "TLJ")
"""London and the South East (ITL1): with :data:`HOME_COUNTIES_ITL2`, the area of the SMC's
permanent-secretary action (:attr:`Geography.is_south_east`)."""
HOME_COUNTIES_ITL2 = ("TLH2", "TLH3")
"""The East of England's home counties (ITL2): Bedfordshire and Hertfordshire, Essex."""


@dataclass(frozen=True)
class Geography:
    """Static facts about districts the engine needs in its hot loop (plain numpy).

    Attributes
    ----------
    lad_codes : numpy.ndarray
        District codes, the order every district-indexed array follows.
    area : numpy.ndarray
        Labour-market area index of each district.
    is_london, is_coldspot : numpy.ndarray
        Boolean flags per district.
    is_south_east : numpy.ndarray
        Districts in London, the South East or the home counties of the East of England
        (ITL1 TLI and TLJ; ITL2 TLH2, Bedfordshire and Hertfordshire, and TLH3, Essex): the
        area the Social Mobility Commission's action 8.1 asks permanent secretaries to move
        out of (the counties: ASSUMPTION, the usual list of home counties).
    site_ids : tuple[str, ...]
        Site identifiers; ``site_district[i]`` is the district index of site i.
    site_of : numpy.ndarray
        Index into ``site_ids`` of the site in each district, -1 where none.
    labour_mix : numpy.ndarray
        (district, seb) origin-class mix of the local population.
    distance_km : numpy.ndarray
        (district, district) great-circle distance between centroids, float32.
    area_distance_km : numpy.ndarray
        (area, district) distance from each area's centre (its districts' centroids
        weighted by baseline posts) to each district, float32.
    """

    lad_codes: np.ndarray
    area: np.ndarray
    is_london: np.ndarray
    is_coldspot: np.ndarray
    is_south_east: np.ndarray
    site_ids: tuple[str, ...]
    site_district: np.ndarray
    site_of: np.ndarray
    labour_mix: np.ndarray
    distance_km: np.ndarray
    area_distance_km: np.ndarray

    @property
    def n_districts(self) -> int:
        return len(self.lad_codes)

    @property
    def n_areas(self) -> int:
        return int(self.area.max()) + 1

    @property
    def area_is_london(self) -> np.ndarray:
        """(area,) True for the London area."""
        out = np.zeros(self.n_areas, bool)
        out[self.area[self.is_london]] = True
        return out

    @functools.cached_property
    def _code_index(self) -> pd.Index:
        """The district codes as an index (made once: each wave's plan asks)."""
        return pd.Index(self.lad_codes)

    def index_of(self, codes) -> np.ndarray:
        """District indices of LAD codes (raises KeyError on an unknown code)."""
        codes = np.asarray(codes, dtype=object).ravel()
        at = self._code_index.get_indexer(codes)
        if (at < 0).any():
            raise KeyError(codes[np.flatnonzero(at < 0)[0]])
        return at.astype(np.int64)


def _haversine_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(x, float)) for x in (lon1, lat1, lon2, lat2))
    h = (np.sin((lat1 - lat2) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon1 - lon2) / 2) ** 2)
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def build_geography(pkg, coldspots: pd.Series, area_level: str = AREA_LEVEL) -> Geography:
    """Derive the engine's :class:`Geography` from a data package.

    Parameters
    ----------
    pkg : DataPackage
        From :func:`placesim.geodata.load_data_package`.
    coldspots : pandas.Series
        Boolean by ``lad_code`` (from :func:`placesim.geodata.coldspot_districts`).
    area_level : {"itl1", "itl2", "itl3"}
        Geography of a labour-market area (London is always one).

    Returns
    -------
    Geography
        Read-only: kept for the package, the coldspots and the area level
        (:data:`_DERIVED`), so that every prepare of the package's scenarios shares it (and
        what is kept for it).
    """
    cold = digest(np.asarray(coldspots.index).astype(str),  # (read as the geography reads it)
                  coldspots.fillna(False).to_numpy(dtype=bool))
    return kept_for(_DERIVED, (pkg,), ("geography", area_level, cold),
                    lambda: _build_geography(pkg, coldspots, area_level))


_DERIVED = Kept(16)
"""What every prepare of a data package's scenarios works out alike (its geography, its
baseline's posts by district and by department, the start's vacancies: about 40 ms a
prepare), by the package and geography they came from (held weakly)."""


def _build_geography(pkg, coldspots: pd.Series, area_level: str) -> Geography:
    d = pkg.districts.sort_values("lad_code").reset_index(drop=True)
    codes = d["lad_code"].to_numpy(dtype=object)
    is_london = d["is_london"].to_numpy(dtype=bool)
    if area_level not in ("itl1", "itl2", "itl3"):
        raise ValueError(f"area_level must be itl1, itl2 or itl3 (got {area_level!r})")
    area_key = np.where(is_london, "LONDON", d[f"{area_level}_code"].astype(str).to_numpy())
    _, area = np.unique(area_key, return_inverse=True)
    lon = d["centroid_lon"].to_numpy(float)
    lat = d["centroid_lat"].to_numpy(float)
    dist = _haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    posts = (pkg.baseline_posts.groupby("lad_code")["posts"].sum()
             .reindex(codes).fillna(0).to_numpy(float) + 1.0)
    n_areas = int(area.max()) + 1
    w = np.bincount(area, weights=posts, minlength=n_areas)
    a_lon = np.bincount(area, weights=posts * lon, minlength=n_areas) / w
    a_lat = np.bincount(area, weights=posts * lat, minlength=n_areas) / w
    area_dist = _haversine_km(a_lon[:, None], a_lat[:, None], lon[None, :], lat[None, :])
    lm = pkg.labour_market.set_index("lad_code").reindex(codes)
    labour_mix = lm[list(SEB_CLASSES)].to_numpy(float)
    labour_mix /= labour_mix.sum(axis=1, keepdims=True)
    sites = pkg.sites.sort_values("site_id").reset_index(drop=True)
    index = {c: i for i, c in enumerate(codes)}
    site_district = np.array([index[c] for c in sites["lad_code"]], dtype=np.int64)
    site_of = np.full(len(codes), -1, dtype=np.int64)
    for i, di in enumerate(site_district):
        if site_of[di] < 0:
            site_of[di] = i
    cold = coldspots.reindex(codes).fillna(False).to_numpy(dtype=bool)
    geo = Geography(
        lad_codes=codes,
        area=area.astype(np.int64),
        is_london=is_london,
        is_coldspot=cold,
        is_south_east=(d["itl1_code"].isin(SOUTH_EAST_ITL1) | d["itl2_code"].isin(
            HOME_COUNTIES_ITL2)).to_numpy(bool),
        site_ids=tuple(sites["site_id"]),
        site_district=site_district,
        site_of=site_of,
        labour_mix=labour_mix,
        distance_km=dist.astype(np.float32),
        area_distance_km=area_dist.astype(np.float32),
    )
    read_only(*(v for v in vars(geo).values() if isinstance(v, np.ndarray)))
    return geo


@dataclass
class Slots:
    """Posts and their occupants (struct of arrays), indexed by (grade, area) blocks.

    Attributes
    ----------
    district, grade, ptype : numpy.ndarray
        The post: where it is (``n_districts`` for a spare slot) and what it is
        (:data:`POST_TYPES`).
    seb : numpy.ndarray
        Occupant's SEB class (0 high, 1 intermediate, 2 low), :data:`VACANT` or
        :data:`HELD`.
    flag : numpy.ndarray
        Occupant's programme state (:data:`placesim.rules.FLAGS`).
    flag_until : numpy.ndarray
        Step at which a time-limited programme state ends.
    grade_since : numpy.ndarray
        Step at which the occupant entered this grade (negative: before the start).
    ready : numpy.ndarray
        Step from which the occupant may be promoted or moved (minimum time in grade, not
        twice in one step); :data:`NEVER` for a vacant or held post or someone away.
    exit_at : numpy.ndarray
        Step at which the occupant leaves the Civil Service (drawn when they enter the post).
    home : numpy.ndarray
        For a London posting, the slot held for its occupant; -1 otherwise.
    return_at : numpy.ndarray
        For a London posting, the step its occupant returns home.
    cohort : numpy.ndarray
        The occupant's cohort tag (:mod:`placesim.cohort`): 0 unless they were an EO at the
        start and have not yet reached Grade 7.
    area_of_district : numpy.ndarray
        Area of each district, with one more entry (the spare "area") for spare slots.
    spare_from : numpy.ndarray
        (grade,) the first of each grade's spare slots (laid out grade by grade after the
        baseline's posts): a slot's identity in the keyed draws (:func:`slot_ident`) is its
        index for a baseline post, and for a spare slot its grade and rank among the grade's
        spares, which another grade's spares never shift: two scenarios sharing a seed draw
        alike for the posts they open alike, though one opens more posts of some other grade.
    order, position, block_start, block_end : numpy.ndarray
        The (grade, area) index and its inverse; ``block_start[g, a]`` and
        ``block_end[g, a]`` bound block (g, a) in ``order``; area ``n_areas`` holds spares.
    """

    district: np.ndarray
    grade: np.ndarray
    ptype: np.ndarray
    seb: np.ndarray
    flag: np.ndarray
    flag_until: np.ndarray
    grade_since: np.ndarray
    ready: np.ndarray
    exit_at: np.ndarray
    home: np.ndarray
    return_at: np.ndarray
    cohort: np.ndarray
    area_of_district: np.ndarray
    spare_from: np.ndarray
    order: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    position: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    block_start: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    block_end: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def size(self) -> int:
        return len(self.grade)

    @property
    def n_districts(self) -> int:
        return len(self.area_of_district) - 1

    @property
    def n_areas(self) -> int:
        """Real labour-market areas (the spare area is one more)."""
        return int(self.area_of_district[-1])

    def copy(self) -> Slots:
        """A deep copy (replications start from the same synthesised population)."""
        return Slots(**{k: v.copy() for k, v in self.__dict__.items()})

    def ident(self, idx: np.ndarray) -> np.ndarray:
        """Identities of slots ``idx`` in the keyed draws (:func:`slot_ident`)."""
        idx = np.asarray(idx, np.int64)
        g = self.grade[idx].astype(np.int64)
        return np.where(idx < self.spare_from[0], idx,
                        SPARE_IDENT + (g << 32) + (idx - self.spare_from[g]))

    def block_of(self, idx: np.ndarray | slice) -> np.ndarray:
        """Flat (grade, area) block number of slots: ``grade * (n_areas + 1) + area``."""
        area = self.area_of_district[self.district[idx].astype(np.int64)]
        return self.grade[idx].astype(np.int64) * (self.n_areas + 1) + area

    def set_district(self, idx: np.ndarray, district: np.ndarray) -> None:
        """Move posts ``idx`` to ``district`` (``n_districts``: abolish), keeping ``order``
        grouped by block."""
        idx = np.asarray(idx, np.int64)
        _set_district(self.district, self.grade, self.area_of_district, self.order,
                      self.position, self.block_start.reshape(-1), self.block_end.reshape(-1),
                      idx, np.asarray(district, np.int64))

    def sort(self) -> None:
        """Sort ``order`` by (grade, area, district, post type) and find the blocks."""
        # each district's place in (area, district) order: the key (grade, that place, post
        # type) sorts as (grade, area, district, post type) does, and its few values fit in
        # 16 bits, which numpy sorts stably by radix (several times faster than 64-bit keys)
        areas = self.area_of_district
        place = np.empty(len(areas), np.int64)
        place[np.lexsort((np.arange(len(areas)), areas))] = np.arange(len(areas))
        key = ((self.grade.astype(np.int64) * len(areas) + place[self.district]) * 4
               + self.ptype)
        if key.max(initial=0) < 2**16:
            key = key.astype(np.uint16)
        # 32-bit: the vacancy chains read these at random, and half the bytes is fewer misses
        self.order = np.argsort(key, kind="stable").astype(np.int32)
        self.position = np.empty_like(self.order)
        self.position[self.order] = np.arange(self.size, dtype=np.int32)
        n_blocks = N_GRADES * (self.n_areas + 1)
        counts = np.bincount(self.block_of(slice(None)), minlength=n_blocks)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        self.block_start = bounds[:-1].reshape(N_GRADES, self.n_areas + 1).copy()
        self.block_end = bounds[1:].reshape(N_GRADES, self.n_areas + 1).copy()

    def spare(self, grade: int) -> int:
        """Spare slots left at a grade."""
        a = self.n_areas
        return int(self.block_end[grade, a] - self.block_start[grade, a])


@njit(cache=True)
def _set_district(district, grade, area_of_district, order, position, block_start, block_end,
                  slots, new_district):
    """Move each slot to its new district, carrying it across block boundaries.

    Crossing one boundary is one swap: with the last slot of its block (moving up) or the
    first (moving down), after which the boundary shifts past it. ``block_start`` and
    ``block_end`` are the flat (grade x area) bounds, changed in place with ``order`` and
    ``position``.
    """
    width = area_of_district[len(area_of_district) - 1] + 1
    for k in range(len(slots)):
        x = slots[k]
        g = grade[x]
        before = g * width + area_of_district[district[x]]
        after = g * width + area_of_district[new_district[k]]
        district[x] = new_district[k]
        p = position[x]
        step = 1 if after > before else -1
        for b in range(before, after, step):
            edge = block_end[b] - 1 if step > 0 else block_start[b]
            y = order[edge]
            order[p], position[y] = y, p
            order[edge], position[x] = x, edge
            if step > 0:
                block_end[b] -= 1
                block_start[b + 1] -= 1
            else:
                block_start[b] += 1
                block_end[b - 1] += 1
            p = edge


def start_vacancies(pkg, geo: Geography, steps_per_year: int,
                    posts: np.ndarray | None = None) -> np.ndarray:
    """(grade, district, post type) posts vacant at the start: the vacancy chain in motion.

    The census counts people, not posts. In the model a vacancy filled by promotion or a
    lateral move leaves a vacancy behind that is filled at the next step, so at any moment
    about one step's worth of those is open. Starting with every post filled would make
    headcount dip by that much in the first year of every scenario; instead the run starts
    with the steady-state number, from the default flows (so every scenario of a package has
    the same posts at the start). With ``E`` exits, ``l`` lateral and ``i`` internal shares,
    the vacancies ``V`` a step leaves at grade ``h`` solve, top down,
    ``V[h] = (V[h+1] + E[h+1]) (1 - l[h+1]) i[h+1] + (V[h] + E[h]) l[h]``;
    each grade's are spread over its posts (largest remainders). ``posts`` is the package's
    :func:`baseline_posts3`, if already at hand. Read-only: kept for the package, geography
    and steps a year (:data:`_DERIVED`).
    """
    import json

    from .calibration import load_calibrated

    kept = baseline_posts3(pkg, geo)
    if posts is None or posts is kept:  # (the package's own: kept, as they are)
        # (the default flows read what `placesim calibrate` fitted, which can change in a
        # long-lived process: a recalibration must not be served the old vacancies)
        fitted = json.dumps(load_calibrated(), sort_keys=True)
        return kept_for(_DERIVED, (pkg, geo), ("vacancies", steps_per_year, fitted),
                        lambda: _start_vacancies(pkg, steps_per_year, kept))
    return _start_vacancies(pkg, steps_per_year, posts)


def _start_vacancies(pkg, steps_per_year: int, posts: np.ndarray) -> np.ndarray:
    from .calibration import default_parameters
    from .posts import largest_remainder

    p = default_parameters(pkg)
    n = posts.sum(axis=(1, 2))
    exits = n * (1.0 - (1.0 - p.exit_rate) ** (1.0 / steps_per_year))
    lat = np.clip(p.lateral_share, 0.0, 0.99)
    internal = np.clip(np.where(np.arange(N_GRADES) == 0, 0.0, p.internal_fill_share), 0, 1)
    v = np.zeros(N_GRADES)
    for h in range(N_GRADES - 1, -1, -1):
        up = (v[h + 1] + exits[h + 1]) * (1 - lat[h + 1]) * internal[h + 1] \
            if h + 1 < N_GRADES else 0.0
        v[h] = max((up + exits[h] * lat[h]) / (1.0 - lat[h]), 0.0)
    out = np.zeros(posts.shape, np.int64)
    for g in range(N_GRADES):
        out[g] = largest_remainder(int(round(v[g])), posts[g].ravel()).reshape(posts[g].shape)
    read_only(out)
    return out


def synthesise(pkg, geo: Geography, rng: np.random.Generator,
               spare: np.ndarray | None = None, vacant: np.ndarray | None = None) -> Slots:
    """Create every post of the baseline and draw its occupant's SEB and time in grade.

    SEB is drawn from the fitted grade × place × profession mix
    (``seb_by_grade_place.csv``); time in grade uniformly over the last
    :data:`START_TENURE_STEPS` steps (an assumption: no published tenure-in-grade
    distribution).

    Parameters
    ----------
    pkg : DataPackage
    geo : Geography
    rng : numpy.random.Generator
    spare : numpy.ndarray, optional
        (grade,) spare slots to add at the end of each grade's range (posts the run may
        create).
    vacant : numpy.ndarray, optional
        (grade, district, post type) posts vacant at the start (:func:`start_vacancies`),
        added to the baseline's occupied posts.

    Returns
    -------
    Slots
        Sorted; every baseline post filled, the ``vacant`` ones empty.
    """
    spare = np.zeros(N_GRADES, np.int64) if spare is None else np.asarray(spare, np.int64)
    D = geo.n_districts
    # the baseline's posts and their occupants, then the spare slots of every grade after
    # all of them: a scenario's spares never shift the baseline's slot numbers, and the
    # spares are keyed by grade and rank (:func:`slot_ident`), so scenarios sharing a seed
    # draw alike for the posts they share
    draws, _ = _baseline_draws(pkg, geo, rng, vacant)
    g_real, d_real, t_real, seb_real, since_real = draws
    n_real = len(g_real)
    grade = np.concatenate([g_real, np.repeat(np.arange(N_GRADES), spare)])
    district = np.concatenate([d_real, np.full(int(spare.sum()), D)])
    ptype = np.concatenate([t_real, np.zeros(int(spare.sum()), np.int64)])
    n = len(grade)
    real = np.zeros(n, bool)
    real[:n_real] = seb_real >= 0
    seb = np.full(n, VACANT, np.int8)
    seb[:n_real] = seb_real
    since = np.zeros(n, np.int16)
    since[:n_real] = since_real
    slots = Slots(
        district=district.astype(np.int16),
        grade=grade.astype(np.int8),
        ptype=ptype.astype(np.int8),
        seb=seb,
        flag=np.zeros(n, np.int8),
        flag_until=np.zeros(n, np.int16),
        grade_since=since,
        ready=np.where(real, since, NEVER).astype(np.int16),  # rules add the minimum wait
        exit_at=np.full(n, NEVER_STEP, np.int32),
        home=np.full(n, -1, np.int32),
        return_at=np.full(n, NEVER, np.int16),
        cohort=np.zeros(n, np.int8),
        area_of_district=np.append(geo.area, geo.n_areas).astype(np.int64),
        spare_from=n_real + np.concatenate([[0], np.cumsum(spare)[:-1]]).astype(np.int64),
    )
    slots.sort()
    return slots


#: Identities of spare slots start here (above any baseline slot number).
SPARE_IDENT = 1 << 40


@njit(cache=True, inline="always")
def slot_ident(v, g, spare_from):
    """Slot ``v``'s identity in the keyed draws (:mod:`placesim.streams`), ``g`` its grade:
    its index for a baseline post; ``SPARE_IDENT + g * 2**32 + rank`` for a spare slot, its
    rank among its grade's spares (``spare_from``: :class:`Slots`). Computed, not looked up:
    a table read at random in the vacancy chains made a replication a fifth longer."""
    if v < spare_from[0]:
        return np.int64(v)
    return np.int64(SPARE_IDENT + (np.int64(g) << 32) + (v - spare_from[g]))


def start_counts(pkg, geo: Geography, rng: np.random.Generator,
                 vacant: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The start's (grade, district, post type) posts and (grade, district, seb, post type)
    people, as :func:`synthesise` places them from a generator in the same state (its spare
    slots aside): counted from the same kept draws, without building the slots, which the
    expected mode does not read (see :func:`placesim.engine.prepare`'s ``people``).

    Returns
    -------
    tuple of numpy.ndarray
        Posts (filled and ``vacant``) and the people in them. Read-only: kept with the
        draws, shared by every model prepared from them (counting them took about 5 ms).
    """
    return _baseline_draws(pkg, geo, rng, vacant)[1]


def _baseline_draws(pkg, geo: Geography, rng: np.random.Generator,
                    vacant: np.ndarray | None) -> tuple[tuple, tuple]:
    """The baseline's slots in order (grade, district, post type) with their occupants' SEB
    (:data:`VACANT` for the ``vacant`` posts) and time in grade, drawn from ``rng``; and
    their counts (:func:`start_counts`).

    They depend on the package, the geography, the start's vacancies and the generator's
    state only, not on the scenario's spare slots: kept (the last four) so that preparing
    an edited scenario does not draw the same 550,000 people again (about 80 ms). A kept
    result leaves ``rng`` where the draws would have.
    """
    key = digest(np.frombuffer(repr(rng.bit_generator.state).encode(), np.uint8),
                 np.asarray(geo.lad_codes).astype(str), geo.is_london, vacant)

    def make():
        draws = _draw_baseline(pkg, geo, rng, vacant)
        return draws, _counted(draws, geo.n_districts), rng.bit_generator.state

    draws, counts, after = kept_for(_DRAWN, (pkg,), (key,), make)
    rng.bit_generator.state = after  # (where drawing them leaves it)
    return draws, counts


def _counted(draws: tuple, D: int) -> tuple[np.ndarray, np.ndarray]:
    """Baseline draws (:func:`_draw_baseline`) counted by (grade, district, post type) and,
    for the posts filled, (grade, district, seb, post type); read-only."""
    g, d, t, seb, _ = draws
    g, d, t = (x.astype(np.int64) for x in (g, d, t))
    posts3 = np.bincount((g * D + d) * N_TYPES + t,
                         minlength=N_GRADES * D * N_TYPES).reshape(N_GRADES, D, N_TYPES)
    o = seb >= 0
    stock4 = np.bincount(((g[o] * D + d[o]) * N_SEB + seb[o]) * N_TYPES + t[o],
                         minlength=N_GRADES * D * N_SEB * N_TYPES
                         ).reshape(N_GRADES, D, N_SEB, N_TYPES)
    read_only(posts3, stock4)
    return posts3, stock4


_DRAWN = Kept(4)
"""Baseline draws and their counts by the package (weakly held) and a digest of the other
inputs."""


def _draw_baseline(pkg, geo: Geography, rng: np.random.Generator,
                   vacant: np.ndarray | None) -> tuple[np.ndarray, ...]:
    """:func:`_baseline_draws`' draws, worked out."""
    b = pkg.baseline_posts
    b = b[b["posts"] > 0]
    counts = b["posts"].to_numpy(np.int64)
    g_idx, d_idx, t_idx = baseline_rows(b, geo)
    g_real, d_real, t_real = (np.repeat(x, counts) for x in (g_idx, d_idx, t_idx))
    occupied = np.ones(len(g_real), bool)
    if vacant is not None and vacant.sum():
        vg, vd, vt = np.nonzero(vacant)
        vn = vacant[vg, vd, vt]
        g_real, d_real, t_real = (np.concatenate([a, np.repeat(b, vn)]) for a, b in (
            (g_real, vg), (d_real, vd), (t_real, vt)))
        occupied = np.concatenate([occupied, np.zeros(int(vn.sum()), bool)])
    lay = np.lexsort((~occupied, t_real, d_real, g_real))
    occupied = occupied[lay]
    grade, district, ptype = g_real[lay], d_real[lay], t_real[lay]
    mix = seb_mix_table(pkg)  # (grade, place, profession, seb)
    who = np.flatnonzero(occupied)
    profession = (ptype[who] != OTHER).astype(np.int64)
    probs = mix[grade[who], geo.is_london[district[who]].astype(np.int64), profession]
    u = rng.random(len(who))
    cum = np.cumsum(probs, axis=1)
    seb = np.full(len(grade), VACANT, np.int8)
    seb[who] = (u > cum[:, 0]).astype(np.int8) + (u > cum[:, 1])
    since = np.zeros(len(grade), np.int16)
    since[who] = -rng.integers(0, START_TENURE_STEPS, size=len(who))
    out = (grade.astype(np.int8), district.astype(np.int16), ptype.astype(np.int8), seb, since)
    for a in out:
        a.flags.writeable = False  # (kept and shared: the callers copy)
    return out


def seb_mix_table(pkg) -> np.ndarray:
    """The fitted SEB mix as an array (grade, place [0 elsewhere, 1 london], profession
    [0 other, 1 policy], seb)."""
    t = pkg.seb_by_grade_place
    out = np.zeros((N_GRADES, 2, 2, N_SEB))
    for row in t.itertuples(index=False):
        g = GRADES.index(row.grade)
        pl = 1 if row.place == "london" else 0
        pr = 1 if row.profession == "policy" else 0
        out[g, pl, pr] = [getattr(row, k) for k in SEB_CLASSES]
    missing = out.sum(axis=3) == 0
    if missing.any():
        out[missing] = 1.0 / N_SEB
    return out / out.sum(axis=3, keepdims=True)
