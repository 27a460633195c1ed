"""How the engine's helper functions are compiled: without numba's reference counting.

numba counts references to every array a compiled function receives: on entry it increments
the count of each array argument (every member of a tuple of arrays included, and again for
each function inlined into it) and decrements them on return, with atomic instructions. Its
pruning pass removes such pairs in simple functions but not across the loops and calls of
the time-dependent path, whose helpers take ``drive`` (a tuple of 18 arrays), nor in the
agent bookkeeping, which takes the whole ``NetworkArrays``: perf put 28 % of an exact HFS
run, 56 % of a hybrid one and 75 % of a CaMKII ring (``reactions/examples/camkii_ring.toml``,
1.8 µs per event) in ``NRT_incref``/``NRT_decref``.

A helper that only reads and writes the arrays it is given, allocates none and returns none
(scalars, or tuples of scalars) needs no counting: the caller holds every argument for the
whole call. :func:`borrowing_njit` compiles it without numba's runtime (its ``_nrt=False``
option), so its arguments are borrowed. A helper that allocated an array would not compile
("NRT required"); one that returned or stored an array must not use this.
"""

from __future__ import annotations

import numba


def borrowing_njit(**options):
    """``numba.njit(cache=True, **options)`` without reference counting (module docstring):
    for helpers that take arrays, allocate none and return none."""
    return numba.njit(cache=True, _nrt=False, **options)


__all__ = ["borrowing_njit"]
