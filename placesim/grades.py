"""Grades, places and backgrounds as small ordered codes shared by every module.

The Civil Service grade ladder is the spine of the model: posts and people carry a grade
code (an ``int8`` index into :data:`GRADES`), so flows between grades are array arithmetic.
The Senior Civil Service is split into its pay bands (SCS1 Deputy Director, SCS2 Director,
SCS3 Director General) and permanent secretaries (PS), because the Social Mobility
Commission's targets name Directors and permanent secretaries.
"""

from __future__ import annotations

GRADES: tuple[str, ...] = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2", "SCS3", "PS")
"""Ordered grade codes, most junior first."""

GRADE_INDEX: dict[str, int] = {g: i for i, g in enumerate(GRADES)}

SCS_GRADES: tuple[str, ...] = ("SCS1", "SCS2", "SCS3", "PS")
"""Grades that make up the Senior Civil Service (ACSES reports them together as "SCS level")."""

ACSES_GRADES: tuple[str, ...] = ("AA", "AO", "EO", "HEO", "SEO", "G7", "G6", "SCS")
"""Grades as Civil Service Statistics (ACSES) publishes them."""

CSPS_GRADE_BANDS: dict[str, tuple[str, ...]] = {
    "AA/AO": ("AA", "AO"),
    "EO": ("EO",),
    "HEO/SEO": ("HEO", "SEO"),
    "G7/G6": ("G7", "G6"),
    "SCS": SCS_GRADES,
}
"""Grade bands in which the Civil Service People Survey publishes socio-economic background."""

SEB_CLASSES: tuple[str, ...] = ("high", "intermediate", "low")
"""Socio-economic background (parental occupation at 14, NS-SEC): high = professional or
managerial; intermediate = clerical, sales, service, intermediate technical; low = routine,
semi-routine, lower supervisory or technical, never worked."""

PROFESSIONS: tuple[str, ...] = ("other", "policy")
"""Profession of post, as far as the model distinguishes it."""

ROLES: tuple[str, ...] = ("standard", "private_office")
"""Role type of a post beyond grade and profession: private office posts are accelerator roles."""

LADDER: tuple[str, ...] = ("AO", "EO", "HEO", "SEO", "G7", "G6", "SCS1", "SCS2")
"""The rungs of a site's career ladder, AO to Director (the SMC's "full grade mixes in
regional hubs")."""

RUNG_POSTS = 5
"""Posts of a grade a site needs for the grade to be a rung of its ladder: fewer than 5 is
a count disclosure control withholds, and a promotion there every few years at most.
(ASSUMPTION: a reporting convention, not a model input. With one post enough, 15 of the
18 sites had complete ladders in the baseline, Belfast's with a single Director: the
measure could not show a site lacking a grade mix; review. With 5, 10 of 18.)"""


def is_rung(posts):
    """Whether ``posts`` of a grade (expected values are rounded) make it a rung
    (:data:`RUNG_POSTS`); elementwise."""
    import numpy as np

    return np.asarray(posts) >= RUNG_POSTS - 0.5


def grade_mask(grades):
    """Boolean mask (a numpy array) over :data:`GRADES` of the named grades."""
    import numpy as np

    m = np.zeros(len(GRADES), bool)
    m[[GRADE_INDEX[g] for g in grades]] = True
    return m


GRADE_ALIASES: dict[str, str] = {
    "deputy director": "SCS1", "director": "SCS2", "director general": "SCS3",
    "permanent secretary": "PS", "grade 7": "G7", "grade 6": "G6",
}
"""Names a user may give a grade by (lower case), beside its code in any case: the SCS pay
bands by their titles, as the Social Mobility Commission's targets name them."""


def canonical_grade(name):
    """The grade code a user's grade name means: a code in any case, or a title from
    :data:`GRADE_ALIASES`; anything else is returned as given (for the caller to refuse,
    naming the valid codes).

    Examples
    --------
    >>> canonical_grade("Director"), canonical_grade("scs1"), canonical_grade(" eo ")
    ('SCS2', 'SCS1', 'EO')
    >>> canonical_grade("Manager")
    'Manager'
    """
    if not isinstance(name, str):
        return name
    key = " ".join(name.split()).lower()
    if key.upper() in GRADE_INDEX:
        return key.upper()
    return GRADE_ALIASES.get(key, name)


def grade_code(name: str) -> int:
    """Return the integer code of a grade name.

    Parameters
    ----------
    name : str
        A grade in :data:`GRADES` (case-insensitive).

    Returns
    -------
    int
        Index into :data:`GRADES`.

    Raises
    ------
    KeyError
        If the grade is unknown.

    Examples
    --------
    >>> grade_code("g7")
    5
    """
    return GRADE_INDEX[name.upper()]
