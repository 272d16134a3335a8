"""Counter-based random numbers: every draw is a hash of what it is for.

Common random numbers only help a comparison if two scenarios draw the *same* numbers for
everything they share. A sequential generator cannot promise that: one extra vacancy in Leeds
shifts every later draw, everywhere. So the engine never consumes a stream; each draw is a
pure function of a key::

    u = uniform(key(seed, replication), purpose, a, b)

where ``purpose`` says what the number decides (an exit, a vacancy's route, a candidate
draw, …) and ``a``, ``b`` name the thing and the moment (a post's slot index and the step,
or a draw counter). Two scenarios run with the same seed draw identical numbers for every
post whose story they share, whatever happens elsewhere.

The hash is SplitMix64's finaliser (Steele, Lea and Flood 2014) chained over the key parts:
a bijective 64-bit mixer with full avalanche, cheap inside :mod:`numba` kernels. The top 53
bits give a double in [0, 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

EXIT = 1
"""A person's exit step, drawn when they enter a post."""
RECRUIT = 2
"""A recruit's socio-economic background (outside the vacancy chains)."""
FILL = 3
"""Everything about filling one vacancy at one step: route, area, candidates drawn and
accepted, a recruit's background, a freeze (one :func:`state`, many :func:`draw`)."""
ORDER = 7
"""The order in which a step's vacancies are filled."""
WAVE_PICK = 8
"""Which matching posts a relocation wave moves."""
INCUMBENT = 9
"""Whether an incumbent moves with their post."""
REDEPLOY = 10
"""Whether an incumbent who does not move is redeployed."""
DESTINATION = 11
"""Which district of a many-district destination a moved post goes to."""
LEVER_PICK = 12
"""Who a lever enrols (mentoring, talent scheme, London posting)."""
EXPIRY = 13
"""When a programme's effect on a person ends."""
WAVE_CELLS = 14
"""How a wave that selects departments rounds its cells' shares of a tranche (one a tranche)."""
LEVER_REACH = 15
"""Whether a person is among a department's staff for one lever event (placesim.reach)."""


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_C1 = np.uint64(0xD1B54A32D192ED03)
_C2 = np.uint64(0x8CB92BA72F3D8DD7)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TO_UNIT32 = 1.0 / 4294967296.0  # 2**-32


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def key(seed: int, replication: int) -> np.uint64:
    """The key of one replication's draws.

    Parameters
    ----------
    seed : int
        The scenario's (or the run's) seed.
    replication : int

    Returns
    -------
    numpy.uint64
    """
    mask = (1 << 64) - 1

    def mix(z: int) -> int:  # _mix in Python integers (no overflow warnings)
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    golden = int(_GOLDEN)
    z = mix(((seed & mask) * golden + (replication & mask)) & mask)
    return np.uint64(mix((z + golden) & mask))


@njit(cache=True, inline="always")
def uniform(k, purpose, a, b):
    """A double in [0, 1) determined by ``(k, purpose, a, b)`` alone.

    Parameters
    ----------
    k : numpy.uint64
        From :func:`key`.
    purpose : int
        One of this module's purpose codes.
    a, b : int
        What and when (e.g. a slot index and a step); non-negative.
    """
    z = _mix(k ^ (np.uint64(purpose) * _GOLDEN))
    z = _mix(z + np.uint64(a) * _C1)
    z = _mix(z + np.uint64(b) * _C2)
    return float(z >> _S11) * _TO_UNIT


@njit(cache=True, inline="always")
def state(k, purpose, a, b):
    """A 64-bit state determined by ``(k, purpose, a, b)``, to derive many draws from
    (:func:`draw`): one hash for a vacancy's whole story instead of one per number."""
    z = _mix(k ^ (np.uint64(purpose) * _GOLDEN))
    z = _mix(z + np.uint64(a) * _C1)
    return _mix(z + np.uint64(b) * _C2)


@njit(cache=True, inline="always")
def draw(z, j):
    """The ``j``-th 64-bit draw from a :func:`state`; :func:`high` and :func:`low` turn it
    into two independent doubles in [0, 1) with 32-bit resolution."""
    return _mix(z + np.uint64(j + 1) * _GOLDEN)


@njit(cache=True, inline="always")
def high(z):
    """The top 32 bits of a draw as a double in [0, 1)."""
    return float(z >> _S32) * _TO_UNIT32


@njit(cache=True, inline="always")
def low(z):
    """The bottom 32 bits of a draw as a double in [0, 1)."""
    return float(z & _LOW32) * _TO_UNIT32


@njit(cache=True)
def uniforms(k, purpose, a, b):
    """:func:`uniform` for every ``a`` in an array, one ``b``.

    Returns
    -------
    numpy.ndarray
        float64, same length as ``a``.
    """
    out = np.empty(len(a))
    for i in range(len(a)):
        out[i] = uniform(k, purpose, a[i], b)
    return out


@njit(cache=True, inline="always")
def geometric(u, q):
    """Steps until an event of per-step probability ``q`` happens (1, 2, …), from ``u``.

    Returns a large number when ``q`` is 0.
    """
    if q <= 0.0:
        return 1 << 30
    if q >= 1.0:
        return 1
    return 1 + int(np.log1p(-u) / np.log1p(-q))
