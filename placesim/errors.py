"""Errors a user can act on: each names the file, line and field at fault.

Everything placesim raises on bad input derives from :class:`PlacesimError`, so the CLI and the
app can print one clear line (``file:line: field: message``) and exit non-zero instead of
showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class PlacesimError(Exception):
    """Base class of every error caused by the user's input or data."""


@dataclass
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


@dataclass
class ScenarioError(PlacesimError):
    """A scenario file is malformed or inconsistent with the data; holds every problem found."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass
class DataError(PlacesimError):
    """A data package is missing a file or column, or holds bad codes or values."""

    file: str
    column: str | None
    message: str

    def __str__(self) -> str:
        col = f": column {self.column!r}" if self.column else ""
        return f"{self.file}{col}: {self.message}"
