"""Values kept by a digest of everything they were worked out from.

Preparing a scenario repeats work whose inputs rarely change between prepares (each lever
edit in the app, each batch task): the geography's calibration, the baseline's draws. Both
keep their results here, keyed by :func:`digest` of their inputs, a few at a time, safe for
the app's sessions preparing in threads and for a forked child.
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
