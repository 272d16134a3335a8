"""A cohort followed through the run: who of the EOs in post at the start reach Grade 7.

The period measure of progression (the chance an EO would reach Grade 7 if one year's rates
held for a whole career) is hard to say aloud. A minister can repeat a cohort measure:
"of 1,000 EOs in post outside London in 2023, N have reached Grade 7 by 2033 (London: M)".
Every mode computes it the same way: Executive Officers in post at the start are tagged by
where they work (London or outside London); the tag goes with them through lateral moves,
relocations, postings and promotions; a tagged person's promotion into Grade 7 is counted
once, and the tag ends there. People who leave stay in the denominator (they did not reach Grade 7).

The stochastic engine carries the tag on each person (:attr:`placesim.population.Slots.cohort`),
the expected mode by area (:mod:`placesim.cohort_tracer`: the same flows, in expectation), and
the reference model on its person objects.
"""

from __future__ import annotations

import numpy as np

from .grades import GRADES

START_GRADE = GRADES.index("EO")
"""The grade followed: Executive Officers in post at the start."""

REACH_GRADE = GRADES.index("G7")
"""A tagged person counts once promoted into this grade."""

GROUPS: tuple[str, ...] = ("london", "outside_london")
"""The cohorts, by where their members worked at the start (tag 1 and tag 2), in the order
the other measures by place list them."""

N_TAGS = len(GROUPS) + 1
"""Tag values: 0 not followed, 1 London, 2 outside London."""


def start_tags(grade: np.ndarray, in_london: np.ndarray, in_post: np.ndarray) -> np.ndarray:
    """Tags of people at the start.

    Parameters
    ----------
    grade : numpy.ndarray
        Grade index of each person or cell.
    in_london : numpy.ndarray
        Whether each works in London.
    in_post : numpy.ndarray
        Whether each is a person in post (not a vacant or held post).

    Returns
    -------
    numpy.ndarray
        int8 tags: 1 for an EO in London, 2 for an EO outside London, else 0.
    """
    followed = (np.asarray(grade) == START_GRADE) & np.asarray(in_post, bool)
    return np.where(followed, 2 - np.asarray(in_london, np.int8), 0).astype(np.int8)


def per_1000(reached: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Of 1,000 in each cohort, how many reached Grade 7 (NaN for an empty cohort)."""
    size = np.asarray(size, float)
    return np.where(size > 0, 1000.0 * np.asarray(reached, float) / np.where(size > 0, size, 1),
                    np.nan)
