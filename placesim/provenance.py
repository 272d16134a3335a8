"""Which dependencies produced a result: the digest of the lock file.

Why this module exists: results are promised byte-identical across machines, but another pandas
or numba is other code too. ``make setup`` installs exactly the versions pinned in
``requirements.lock``; recording that file's digest in every results manifest, and folding it
into a batch's code digest, says which versions a result came from and makes a batch refuse
workers installed from another lock.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

LOCK_FILE = Path(__file__).resolve().parent.parent / "requirements.lock"
"""The project's lock file, beside ``pyproject.toml`` (placesim is installed in place)."""


@functools.cache
def lock_digest() -> str:
    """First 12 hex digits of the SHA-256 of ``requirements.lock``.

    Returns
    -------
    str
        The digest, or ``"unlocked"`` when placesim runs without its lock file (installed
        from a wheel rather than by ``make setup``), so nothing claims a lock it did not use.
    """
    try:
        return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()[:12]
    except FileNotFoundError:
        return "unlocked"
