"""This process's peak resident memory, for the memory figures of the benchmarks and the
memory limits the tests hold.

Read in the process whose peak it is: ``ru_maxrss`` of a process started from a bigger one
counts the bigger one's size when it started (Linux carries the peak over ``exec``), so a
child's figure rose with what its parent held. Linux's ``VmHWM`` is the process's own.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def peak_rss_kb() -> int:
    """Peak resident memory of this process, in KB.

    Returns
    -------
    int
        ``VmHWM`` from ``/proc/self/status`` where Linux gives it, else ``ru_maxrss`` (KB on
        Linux; bytes on macOS, where it is divided by 1024).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss
