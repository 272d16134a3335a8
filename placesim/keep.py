"""Values kept by a digest of everything they were worked out from.

Preparing a scenario repeats work whose inputs rarely change between prepares (each lever
edit in the app, each batch task): the geography, the baseline's posts by district and by
department, the geography's calibration, the baseline's draws. They keep their results
here, keyed by :func:`digest` of their inputs (or by the objects they were worked out from,
:func:`kept_for`), a few at a time, safe for the app's sessions preparing in threads and for
a forked child.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref

import numpy as np


def digest(*values) -> bytes:
    """A 20-byte digest of arrays and numbers (their dtype, shape and bytes) and ``None``.

    Raises
    ------
    TypeError
        For a value that is not an array of plain numbers or text (object or structured
        dtype): its bytes would not say what it holds.
    """
    h = hashlib.blake2b(digest_size=20)
    for v in values:
        if v is None:
            h.update(b"\0none|")
            continue
        a = np.asarray(v)
        if a.dtype == object or a.dtype.names is not None:
            raise TypeError(f"cannot digest {type(v).__name__}")
        h.update(f"{a.dtype.str}{a.shape}|".encode())  # (shape before any copy: 0-d kept)
        h.update(np.ascontiguousarray(a).tobytes())
    return h.digest()


class Kept:
    """At most ``size`` values by key, the oldest given up first; thread-safe."""

    def __init__(self, size: int):
        self.size = size
        self._values: dict = {}
        self._lock = threading.Lock()
        me = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (k := me()) is not None and k._new_lock())

    def _new_lock(self) -> None:
        self._lock = threading.Lock()  # (a fork while another thread held it)

    def get(self, key):
        """The value kept for ``key``, or None."""
        with self._lock:
            return self._values.get(key)

    def put(self, key, value) -> None:
        """Keep ``value`` for ``key`` (a key kept already evicts nothing)."""
        with self._lock:
            while key not in self._values and len(self._values) >= self.size:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)


def kept_for(kept: Kept, owners: tuple, key: tuple, make):
    """The value ``kept`` for these ``owners`` (objects, by identity: a data package, a
    geography) and ``key`` (hashable), or ``make()``'s, kept.

    The owners are held weakly: an entry for an object that no longer exists is never
    returned for a new one at the same address.
    """
    k = (*(id(o) for o in owners), *key)
    hit = kept.get(k)
    if hit is not None and all(r() is o for r, o in zip(hit[0], owners, strict=True)):
        return hit[1]
    value = make()
    kept.put(k, (tuple(weakref.ref(o) for o in owners), value))
    return value


def read_only(*arrays: np.ndarray) -> None:
    """Mark arrays kept and shared between callers read-only (a caller that changed one
    would change it for every later one)."""
    for a in arrays:
        a.flags.writeable = False
