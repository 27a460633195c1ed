"""Root seeds as the kernels receive them: plain Python, without numba.

The runner seeds every run (:func:`entropy_words`) also when the kernel of plain networks
runs as native code loaded without numba (:mod:`.native`); :mod:`.rng`, which compiles
the generators, imports these from here.
"""

from __future__ import annotations

import numbers

import numpy as np


def _validate_root_seed(root_seed):
    """Return ``root_seed`` as a Python int, or raise ValueError."""
    # bool is an int subclass but True/False as a seed is almost surely a bug.
    if isinstance(root_seed, (bool, np.bool_)) or not isinstance(
            root_seed, numbers.Integral):
        raise ValueError(
            f"invalid root seed {root_seed!r} of type "
            f"{type(root_seed).__name__}: seeds must be non-negative integers "
            "(use new_root_seed() for a fresh one)")
    value = int(root_seed)
    if value < 0:
        raise ValueError(
            f"invalid root seed {value}: seeds must be non-negative integers "
            "(use new_root_seed() for a fresh one)")
    return value


def entropy_words(root_seed):
    """Split a root seed into NumPy's SeedSequence entropy words.

    Equivalent to NumPy's private ``_coerce_to_uint32_array(root_seed)`` for
    integer seeds.

    Parameters
    ----------
    root_seed : int
        Non-negative integer of any size (Python ``int`` or NumPy integer).

    Returns
    -------
    numpy.ndarray, shape (max(1, ceil(bits / 32)),), dtype uint32
        Little-endian 32-bit words (least significant first); ``0`` gives
        ``[0]``.

    Raises
    ------
    ValueError
        If ``root_seed`` is negative or not an integer.
    """
    value = _validate_root_seed(root_seed)
    if value == 0:
        return np.zeros(1, dtype=np.uint32)
    words = []
    while value:
        words.append(value & 0xFFFFFFFF)
        value >>= 32
    return np.array(words, dtype=np.uint32)


def new_root_seed():
    """Draw a fresh 128-bit root seed from operating-system entropy.

    Returns
    -------
    int
        ``np.random.SeedSequence().entropy``; log it to reproduce a run.
    """
    return int(np.random.SeedSequence().entropy)
