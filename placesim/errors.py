"""Errors a user can act on: each names the file, line and field at fault.

Everything placesim raises on bad input derives from :class:`PlacesimError`, so the CLI and the
app can print one clear line (``file:line: field: message``) and exit non-zero instead of
showing a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_SHOWN = 20
"""Problems a :class:`ScenarioError` lists in full; the rest are counted."""

_NUMPY_SCALAR = re.compile(r"\bnp\.(?:int|uint|float|bool_|str_)\w*\((.*?)\)")


def plain(text: str) -> str:
    """``text`` with numpy scalar reprs (``np.int64(-5)``) written as plain values (``-5``)."""
    return _NUMPY_SCALAR.sub(r"\1", text)


class PlacesimError(Exception):
    """Base class of every error caused by the user's input or data."""


def check_year(what: str, year: int, held, note: str = "") -> None:
    """Raise a :class:`PlacesimError` naming the years results hold (``held``) when ``year``
    is not one of them (``map`` and ``compare`` both ask for a year of a run)."""
    years = sorted({int(y) for y in held})
    if year not in years:
        raise PlacesimError(f"{what} year {year}: the results hold "
                            + (f"{years[0]} to {years[-1]}" if years else "no years") + note)


@dataclass
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return plain(f"{where}: {self.field}: {self.message}")


@dataclass
class ScenarioError(PlacesimError):
    """A scenario file is malformed or inconsistent with the data; holds every problem found.

    Its text lists the first :data:`MAX_SHOWN` problems, one a line, then how many more
    there are: a file with 24,000 bad codes gives 21 lines, not 24,000.
    """

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems[:MAX_SHOWN]]
        if len(self.problems) > MAX_SHOWN:
            lines.append(f"... and {len(self.problems) - MAX_SHOWN:,} more problems "
                         f"({len(self.problems):,} in all); fix these first")
        return "\n".join(lines)


@dataclass
class DataError(PlacesimError):
    """A data package is missing a file or column, or holds bad codes or values."""

    file: str
    column: str | None
    message: str

    def __str__(self) -> str:
        col = f": column {self.column!r}" if self.column else ""
        return plain(f"{self.file}{col}: {self.message}")
