"""Posts and the people in them, as a struct of arrays.

Each **slot** is one post (district, grade, profession, role); its occupant's attributes live
in parallel arrays (``seb`` = -1 marks a vacant post). An index, ``order``, lists the slots by
(grade, labour-market area, district, profession, role), so the candidates for a vacancy — the
people one grade below in the same area — form one contiguous block of it. That layout lets the
engine choose candidates by rejection sampling within a block, so each step's work grows with
churn (tens of thousands of moves a quarter), not with headcount (half a million people). When
a post moves to another area it is swapped across the boundaries between its old and its new
block, one swap per block crossed, so the index never needs re-sorting (draws within a block
are uniform, so the order inside a block does not matter). The attribute arrays themselves
never move, so each grade stays one contiguous range of them, as laid out at synthesis.

The places a slot can be in are fixed per data package in :class:`Geography`: district codes,
their labour-market area (the ITL3 area; London is one area, because London is one commuting
market), London and coldspot flags, the local labour market's SEB mix and a distance matrix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from .grades import GRADES, PROFESSIONS, ROLES, SEB_CLASSES

N_GRADES = len(GRADES)
N_SEB = len(SEB_CLASSES)
VACANT = -1
NEVER = np.iinfo(np.int16).max
"""``ready`` of a vacant post."""
START_TENURE_STEPS = 16
"""At the start, time in grade is uniform over this many past steps (an assumption)."""


@dataclass(frozen=True)
class Geography:
    """Static facts about districts the engine needs in its hot loop (plain numpy, no GeoDataFrame).

    Attributes
    ----------
    lad_codes : numpy.ndarray
        District codes, the order every district-indexed array follows.
    area : numpy.ndarray
        Labour-market area index of each district.
    is_london, is_coldspot : numpy.ndarray
        Boolean flags per district.
    site_of : numpy.ndarray
        Index into ``site_ids`` of the site in each district, -1 where none.
    site_ids : tuple[str, ...]
        Site identifiers; ``site_district[i]`` is the district index of site i.
    labour_mix : numpy.ndarray
        (district, seb) origin-class mix of the local population.
    distance_km : numpy.ndarray
        (district, district) great-circle distance between centroids, float32.
    """

    lad_codes: np.ndarray
    area: np.ndarray
    is_london: np.ndarray
    is_coldspot: np.ndarray
    site_ids: tuple[str, ...]
    site_district: np.ndarray
    site_of: np.ndarray
    labour_mix: np.ndarray
    distance_km: np.ndarray

    @property
    def n_districts(self) -> int:
        return len(self.lad_codes)

    @property
    def n_areas(self) -> int:
        return int(self.area.max()) + 1

    def index_of(self, codes) -> np.ndarray:
        """District indices of LAD codes (raises KeyError on an unknown code)."""
        lookup = {c: i for i, c in enumerate(self.lad_codes)}
        return np.array([lookup[c] for c in codes], dtype=np.int64)


def build_geography(pkg, coldspots: pd.Series) -> Geography:
    """Derive the engine's :class:`Geography` from a data package.

    Parameters
    ----------
    pkg : DataPackage
        From :func:`placesim.geodata.load_data_package`.
    coldspots : pandas.Series
        Boolean by ``lad_code`` (from :func:`placesim.geodata.coldspot_districts`).

    Returns
    -------
    Geography
    """
    d = pkg.districts.sort_values("lad_code").reset_index(drop=True)
    codes = d["lad_code"].to_numpy(dtype=object)
    is_london = d["is_london"].to_numpy(dtype=bool)
    area_key = np.where(is_london, "LONDON", d["itl3_code"].astype(str).to_numpy())
    _, area = np.unique(area_key, return_inverse=True)
    lon = np.radians(d["centroid_lon"].to_numpy(float))
    lat = np.radians(d["centroid_lat"].to_numpy(float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    dist = (2 * 6371.0 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))).astype(np.float32)
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
    return Geography(
        lad_codes=codes,
        area=area.astype(np.int32),
        is_london=is_london,
        is_coldspot=cold,
        site_ids=tuple(sites["site_id"]),
        site_district=site_district,
        site_of=site_of,
        labour_mix=labour_mix,
        distance_km=dist,
    )


@dataclass
class Slots:
    """Posts and their occupants (struct of arrays), indexed by (grade, area, district, …).

    Attributes
    ----------
    district, grade, profession, role : numpy.ndarray
        The post: where it is and what it is.
    seb : numpy.ndarray
        Occupant's SEB class (0 high, 1 intermediate, 2 low), -1 if the post is vacant.
    grade_since : numpy.ndarray
        Step at which the occupant entered this grade (negative: before the start).
    accelerator : numpy.ndarray
        Occupant has held an accelerator role (private office, London posting, talent scheme).
    mentored : numpy.ndarray
        Occupant is in a mentoring scheme.
    ready : numpy.ndarray
        Step from which the occupant may be promoted or moved: after their minimum time in
        grade, and not twice in one step; :data:`NEVER` for a vacant post.
    order : numpy.ndarray
        Slot indices grouped by (grade, area) block; at synthesis sorted by (grade, area,
        district, profession, role).
    position : numpy.ndarray
        Where each slot is in ``order`` (its inverse).
    block_start, block_end : numpy.ndarray
        (grade, area) → slice of ``order``.
    """

    district: np.ndarray
    grade: np.ndarray
    profession: np.ndarray
    role: np.ndarray
    seb: np.ndarray
    grade_since: np.ndarray
    accelerator: np.ndarray
    mentored: np.ndarray
    ready: np.ndarray
    area_of_district: np.ndarray
    order: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    position: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    block_start: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    block_end: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @property
    def size(self) -> int:
        return len(self.grade)

    @property
    def n_areas(self) -> int:
        return int(self.area_of_district.max()) + 1

    def copy(self) -> Slots:
        """A deep copy (replications start from the same synthesised population)."""
        return Slots(**{k: v.copy() for k, v in self.__dict__.items()})

    def block_of(self, idx: np.ndarray | slice) -> np.ndarray:
        """(grade, area) block number of slots: ``grade * n_areas + area``."""
        area = self.area_of_district[self.district[idx].astype(np.int64)]
        return self.grade[idx].astype(np.int64) * self.n_areas + area

    def set_district(self, idx: np.ndarray, district: np.ndarray) -> None:
        """Move posts ``idx`` to ``district``, keeping ``order`` grouped by block."""
        idx = np.asarray(idx, np.int64)
        before = self.block_of(idx)
        self.district[idx] = district
        _move_between_blocks(self.order, self.position, self.block_start.reshape(-1),
                             self.block_end.reshape(-1), idx, before, self.block_of(idx))

    def sort(self) -> None:
        """Sort ``order`` by (grade, area, district, profession, role) and find the blocks."""
        d = self.district.astype(np.int64)
        key = ((((self.grade.astype(np.int64) * 1024 + self.area_of_district[d]) * 1024 + d)
                * 4 + self.profession) * 4 + self.role)
        self.order = np.argsort(key, kind="stable")
        self.position = np.empty_like(self.order)
        self.position[self.order] = np.arange(self.size)
        counts = np.bincount(self.block_of(slice(None)), minlength=N_GRADES * self.n_areas)
        bounds = np.concatenate([[0], np.cumsum(counts)])
        self.block_start = bounds[:-1].reshape(N_GRADES, self.n_areas).copy()
        self.block_end = bounds[1:].reshape(N_GRADES, self.n_areas).copy()


@njit(cache=True)
def _move_between_blocks(order, position, block_start, block_end, slots, before, after):
    """Carry each slot from block ``before`` to block ``after`` through the blocks between.

    Crossing one boundary is one swap: with the last slot of its block (moving up) or the
    first (moving down), after which the boundary shifts past it. ``block_start`` and
    ``block_end`` are the flat (grade x area) bounds, changed in place with ``order`` and
    ``position``.
    """
    for k in range(len(slots)):
        x, p = slots[k], position[slots[k]]
        step = 1 if after[k] > before[k] else -1
        for b in range(before[k], after[k], step):
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


def synthesise(pkg, geo: Geography, rng: np.random.Generator) -> Slots:
    """Create every post of the baseline and draw its occupant's SEB and time in grade.

    SEB is drawn from the fitted grade × place × profession mix
    (``seb_by_grade_place.csv``); time in grade uniformly over the last four years (an
    assumption: no published tenure-in-grade distribution).

    Parameters
    ----------
    pkg : DataPackage
    geo : Geography
    rng : numpy.random.Generator

    Returns
    -------
    Slots
        Sorted, every post filled.
    """
    b = pkg.baseline_posts
    b = b[b["posts"] > 0]
    counts = b["posts"].to_numpy(np.int64)
    d_idx = geo.index_of(b["lad_code"])
    g_idx = b["grade"].map({g: i for i, g in enumerate(GRADES)}).to_numpy(np.int64)
    p_idx = b["profession"].map({p: i for i, p in enumerate(PROFESSIONS)}).to_numpy(np.int64)
    r_idx = b["role"].map({r: i for i, r in enumerate(ROLES)}).to_numpy(np.int64)
    district = np.repeat(d_idx, counts).astype(np.int16)
    grade = np.repeat(g_idx, counts).astype(np.int8)
    profession = np.repeat(p_idx, counts).astype(np.int8)
    role = np.repeat(r_idx, counts).astype(np.int8)
    n = len(grade)

    mix = seb_mix_table(pkg)  # (grade, place, profession, seb)
    place = geo.is_london[district].astype(np.int64)  # 1 = london
    probs = mix[grade, place, profession]  # (n, 3)
    u = rng.random(n)
    cum = np.cumsum(probs, axis=1)
    seb = (u > cum[:, 0]).astype(np.int8) + (u > cum[:, 1])  # three SEB classes
    since = -rng.integers(0, START_TENURE_STEPS, size=n).astype(np.int16)
    slots = Slots(
        district=district,
        grade=grade,
        profession=profession,
        role=role,
        seb=seb,
        grade_since=since,
        accelerator=(role == ROLES.index("private_office")),
        mentored=np.zeros(n, dtype=bool),
        ready=since.copy(),  # the engine adds the minimum time in grade
        area_of_district=geo.area.astype(np.int64),
    )
    slots.sort()
    # Lay the arrays out in that order once, so blocks are contiguous in memory too.
    o = slots.order
    slots = Slots(**{k: (v[o] if k != "area_of_district" else v)
                     for k, v in slots.__dict__.items() if k not in ("order", "position",
                                                                   "block_start", "block_end")})
    slots.sort()
    return slots


def seb_mix_table(pkg) -> np.ndarray:
    """The fitted SEB mix as an array (grade, place [0 elsewhere, 1 london], profession, seb)."""
    t = pkg.seb_by_grade_place
    out = np.zeros((N_GRADES, 2, len(PROFESSIONS), N_SEB))
    for row in t.itertuples(index=False):
        g = GRADES.index(row.grade)
        pl = 1 if row.place == "london" else 0
        pr = PROFESSIONS.index(row.profession)
        out[g, pl, pr] = [getattr(row, k) for k in SEB_CLASSES]
    missing = out.sum(axis=3) == 0
    if missing.any():
        out[missing] = 1.0 / N_SEB
    return out / out.sum(axis=3, keepdims=True)
