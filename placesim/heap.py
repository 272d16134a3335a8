"""Keep memory a run frees in the process, for the next run to reuse.

A run allocates its arrays afresh: an expected-mode run about 11 MB (its stocks, the ring of
entrants, the compiled passes' scratch), a replication more. With glibc's defaults, blocks
of more than 128 KB (a threshold that moves) are mapped from the system and given back when
freed, and the top of the heap is trimmed, so the next run touches new pages: 2,000-3,000
page faults an expected-mode run. On this project's virtual machines a fault of a 4 KB page
cost 1.6 microseconds in a quiet spell (more when the host is busy): 3-5 ms of a run of about
45 ms. So the heap keeps freed blocks under 32 MB and keeps up to 256 MB free at its top
(with 64 MB, the top was given back between runs and the faults came back). A process's
peak memory does not change; it keeps what it freed.

The setting is the process's (glibc's ``mallopt``), made once when the engine is imported;
``PLACESIM_KEEP_FREED=0`` leaves the allocator's defaults. Elsewhere than glibc, nothing
changes.
"""

from __future__ import annotations

import ctypes
import os
import platform

ENV = "PLACESIM_KEEP_FREED"
"""Environment variable: ``0`` leaves the C allocator's defaults."""

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
KEEP_FREE_TOP = 256 << 20
"""Bytes the heap may keep free at its top before giving them back."""
MAP_ABOVE = 32 << 20
"""Blocks larger than this are still mapped from the system (glibc's largest threshold)."""

_done = False


def keep_freed_memory() -> bool:
    """Have glibc keep freed memory for reuse (once a process).

    Returns
    -------
    bool
        Whether the allocator's settings were changed (glibc, and not turned off by
        ``PLACESIM_KEEP_FREED=0``).
    """
    global _done
    if _done:
        return True
    if os.environ.get(ENV, "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        ok = (libc.mallopt(_M_MMAP_THRESHOLD, MAP_ABOVE) == 1
              and libc.mallopt(_M_TRIM_THRESHOLD, KEEP_FREE_TOP) == 1)
    except (OSError, AttributeError):
        return False
    _done = ok
    return ok
