"""Who joins, and the low-SEB share of entrants and of staff, by place and grade, in every run.

The recruitment outreach lever changes who joins; its question is how much the low-SEB share
of entrants and of staff changes where it works. A change needs the same figure in the run
it is measured against, and a baseline reported these figures only when a lever was on, so
``compare`` and the brief read "n/a" for the baseline and for the change (review). Every run
now reports them for the same places: the UK, London, outside London and the coldspots
outside London, all grades and each grade; and each site, all grades. A lever's own places
and grades (the outreach's places, the secondment sites, at the levers' grades) add rows of
the same figures (:func:`placesim.levers.lever_columns`).

Entrants are recruits and inbound secondees who stay as civil servants (each mode records
them by grade, district and SEB in :class:`placesim.levers.LeverState`).
"""

from __future__ import annotations

import numpy as np

from .grades import GRADES
from .rules import LOW

#: The figures, in order: entrants in the year; their low-SEB share; the low-SEB share of
#: people in post at the year's end.
METRICS = ("entrants", "entrants_low_seb_share", "low_seb_share")
#: The places every run reports for each grade as well as for all grades together.
BY_GRADE = ("all", "london", "outside_london", "coldspots")


def standard_places(model) -> dict[str, np.ndarray]:
    """(district,) masks of the places every run reports: :data:`BY_GRADE`, then each
    site."""
    from .metrics import place_groups

    groups = place_groups(model)
    places = {"all": np.ones(model.geo.n_districts, bool)}
    places.update((k, groups[k]) for k in BY_GRADE[1:])
    places.update((f"site:{sid}", groups[f"site:{sid}"]) for sid in model.geo.site_ids)
    return places


def group_name(place: str, grade: int | None) -> str:
    """A row's group: the place, with the grade before it if there is one (``grade:EO`` for
    the whole UK, as the other metrics by grade name it)."""
    if grade is None:
        return place
    return f"grade:{GRADES[grade]}" if place == "all" else f"grade:{GRADES[grade]}|{place}"


def standard_rows(places: dict[str, np.ndarray]) -> list[tuple[str, int | None]]:
    """(place, grade or None) of the rows every run reports: :data:`BY_GRADE` all grades
    and each grade, then each site of ``places`` (:func:`standard_places`) all grades."""
    rows = [(p, g) for p in BY_GRADE for g in (None, *range(len(GRADES)))]
    return rows + [(p, None) for p in places if p.startswith("site:")]


def columns(recs, places: dict[str, np.ndarray], rows: list[tuple[str, int | None]],
            stock: np.ndarray) -> tuple[list[tuple[str, str]], np.ndarray]:
    """The figures of ``rows`` ((place, grade or None): all grades if None), all years at
    once.

    Parameters
    ----------
    recs : list of placesim.engine.YearRecord
        Their ``levers["entrants"]`` (grade, district, seb) and ``stock``.
    places : dict of str to numpy.ndarray
        (district,) bool mask of each place.
    rows : list of (str, int or None)
    stock : numpy.ndarray
        The records' ``stock`` stacked, (year, grade, district, seb)
        (:meth:`placesim.engine.ReplicationResult.stacked`).

    Returns
    -------
    labels : list of (metric, group)
        Each row's three :data:`METRICS`, row by row.
    values : numpy.ndarray
        (year, label)
    """
    from .metrics import _div

    if not rows:
        return [], np.zeros((len(recs), 0))
    names = list(places)
    mask = np.stack([places[n] for n in names], axis=1).astype(float)  # (D, place)
    p = np.array([names.index(place) for place, _ in rows])
    g = np.array([len(GRADES) if grade is None else grade for _, grade in rows])
    out = []
    for a in (np.stack([r.levers["entrants"] for r in recs]), stock):  # (Y, G, D, S)
        by_place = np.moveaxis(a.transpose(0, 1, 3, 2) @ mask, 3, 1)  # (Y, place, G, S)
        by_place = np.concatenate([by_place, by_place.sum(axis=2, keepdims=True)], axis=2)
        x = by_place[:, p, g]  # (Y, row, S): a grade's, or all grades' (index G)
        out.append((x.sum(axis=2), x[..., LOW]))
    (e_tot, e_low), (s_tot, s_low) = out
    values = np.stack([e_tot, _div(e_low, e_tot), _div(s_low, s_tot)], axis=2)
    labels = [(m, group_name(place, grade)) for place, grade in rows for m in METRICS]
    return labels, values.reshape(len(recs), -1)
