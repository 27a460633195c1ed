"""Numba random numbers that reproduce NumPy's ``Generator`` bit for bit.

Contract
--------
Trajectory ``i`` of a run with root seed ``s`` draws only from the stream of::

    np.random.Generator(np.random.PCG64(np.random.SeedSequence(s, spawn_key=(i,))))

which is exactly ``np.random.default_rng(np.random.SeedSequence(s, spawn_key=(i,)))``.
Every draw made through this module (:func:`next_uint64`, :func:`next_double`,
:func:`standard_exponential`, :func:`uniform_index`) consumes that stream in
the same way as the corresponding ``Generator`` call, so a trajectory can be
replayed, or checked, with plain NumPy (:func:`numpy_generator`).

Why not use NumPy Generators directly?  Building one ``Generator`` costs
several microseconds of Python, which dominates an ensemble of thousands of
short trajectories, and a ``Generator`` cannot be passed into ``nopython``
code in a form that is cheap per draw.  Here the whole generator is a plain
``(4,) uint64`` array ``[state_hi, state_lo, inc_hi, inc_lo]`` holding the
128-bit PCG64 state and increment, and both seeding and drawing run inside
``numba.njit`` code.  Each trajectory owns its own state array, so
trajectories can be simulated in any order or in parallel without changing
any of their draws.

Algorithms
----------
* Seeding reimplements NumPy's ``SeedSequence`` (entropy assembly,
  ``mix_entropy`` and ``generate_state``), which is derived from
  M. E. O'Neill's proposal for a ``std::seed_seq`` replacement
  (https://www.pcg-random.org/posts/developing-a-seed_seq-alternative.html)
  and is described in NumPy's "Parallel random number generation" and
  NEP 19 documents.  Only the form ``SeedSequence(root_seed,
  spawn_key=(i,))`` with the default pool size of 4 is supported.
* The bit generator is PCG64 (PCG XSL-RR 128/64) of M. E. O'Neill (2014),
  "PCG: A Family of Simple Fast Space-Efficient Statistically Good
  Algorithms for Random Number Generation", Harvey Mudd College technical
  report HMC-CS-2014-0905, as implemented in NumPy's ``pcg64.h``.  The
  128-bit arithmetic is emulated with pairs of 64-bit words.
* Doubles and standard exponentials follow NumPy's
  ``distributions.c`` (53-bit doubles; the 256-layer ziggurat of Marsaglia &
  Tsang 2000 for the exponential, tables in
  :mod:`stochsyn.engine._ziggurat_tables`).

All compiled functions avoid ``fastmath`` because contraction or
reassociation of floating-point operations would break bit-for-bit
agreement with NumPy.

Numba typing note: mixing ``uint64`` with ``int64`` operands promotes to
``float64`` (or silently to ``int64`` for bitwise operators) in Numba, so
every integer constant used with the state is a module-level ``np.uint64``.
"""

import math
import numbers

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from stochsyn.engine.seeds import _validate_root_seed, entropy_words, new_root_seed  # noqa: F401
from stochsyn.engine._ziggurat_tables import (
    fe_double as _FE_DOUBLE,
    ke_double as _KE_DOUBLE,
    we_double as _WE_DOUBLE,
    ziggurat_exp_r as _ZIGGURAT_EXP_R,
)

__all__ = [
    "STATE_SIZE",
    "entropy_words",
    "new_root_seed",
    "numpy_generator",
    "seed_states",
    "seed_pcg64",
    "next_uint64",
    "next_double",
    "pcg64_words",
    "double_words",
    "exponential_words",
    "exponential_fast_words",
    "standard_exponential",
    "uniform_index",
    "normal_quantile",
    "lognormal_mean_cv",
]

#: Number of uint64 words in a generator state: [state_hi, state_lo, inc_hi, inc_lo].
STATE_SIZE = 4

_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_MASK32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(0x100000000)
_SIX3 = np.uint64(63)
_SIX4 = np.uint64(64)
_BYTE = np.uint64(0xFF)

# PCG64 default multiplier (PCG_DEFAULT_MULTIPLIER_128), split into halves.
_PCG_MULT_HI = np.uint64(0x2360ED051FC65DA4)
_PCG_MULT_LO = np.uint64(0x4385DF649FCCF645)

# SeedSequence hashing constants (numpy/random/bit_generator.pyx).  The
# arithmetic is mod 2**32 in NumPy; here it is done in uint64 and masked.
_POOL_SIZE = 4
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_MULT_L = np.uint64(0xCA01F9DD)
_MIX_MULT_R = np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)

# 2**-53: NumPy's next_double keeps the top 53 bits of a 64-bit draw.
_DOUBLE_SCALE = 1.0 / 9007199254740992.0


# --------------------------------------------------------------------------
# 128-bit arithmetic on (hi, lo) uint64 pairs
# --------------------------------------------------------------------------


@intrinsic
def _mulhi64(typingctx, a, b):
    """High 64 bits of the 128-bit product of two uint64 values, ``(a * b) >> 64``.

    An LLVM intrinsic: the operands are widened to i128 and multiplied, which compiles to
    one 64×64→128 multiply instruction on x86-64 and AArch64. (Splitting into 32-bit limbs
    in Python-level numba code costs four multiplies and measurably slows every draw.)

    Parameters
    ----------
    a, b : uint64

    Returns
    -------
    uint64
    """
    if a != types.uint64 or b != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(product, ir.Constant(i128, 64)), ir.IntType(64))

    return types.uint64(types.uint64, types.uint64), codegen


@numba.njit(cache=True)
def _pcg_step(state):
    """Advance the LCG: ``state = state * MULT + inc (mod 2**128)`` in place.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64
        ``[state_hi, state_lo, inc_hi, inc_lo]``; words 0 and 1 are updated.
    """
    s_hi = state[0]
    s_lo = state[1]
    # Only the low 64 bits of the cross terms survive mod 2**128, and uint64
    # multiplication in Numba wraps, which is exactly that.
    p_lo = s_lo * _PCG_MULT_LO
    p_hi = (_mulhi64(s_lo, _PCG_MULT_LO) + s_hi * _PCG_MULT_LO
            + s_lo * _PCG_MULT_HI)
    n_lo = p_lo + state[3]
    n_hi = p_hi + state[2]
    if n_lo < p_lo:
        n_hi += _ONE
    state[0] = n_hi
    state[1] = n_lo


@numba.njit(cache=True)
def pcg64_words(s_hi, s_lo, inc_hi, inc_lo):
    """One PCG64 draw on a state held in four uint64 values (registers, not an array).

    The event loop keeps its generator in local variables with this and the ``*_words``
    draws below: a draw through the ``(4,)`` state array loads and stores the state in
    memory, and the compiler must assume any store to another array (the counts, the sum
    tree) may change it, so every draw waited on memory. Same stream as
    :func:`next_uint64`, which calls this.

    Returns
    -------
    tuple of uint64
        ``(new s_hi, new s_lo, the 64-bit output)``.
    """
    p_lo = s_lo * _PCG_MULT_LO
    p_hi = (_mulhi64(s_lo, _PCG_MULT_LO) + s_hi * _PCG_MULT_LO + s_lo * _PCG_MULT_HI)
    n_lo = p_lo + inc_lo
    n_hi = p_hi + inc_hi
    if n_lo < p_lo:
        n_hi += _ONE
    xored = n_hi ^ n_lo
    rot = n_hi >> np.uint64(58)
    # Masking the left shift avoids an undefined shift by 64 when rot == 0.
    return n_hi, n_lo, (xored >> rot) | (xored << ((_SIX4 - rot) & _SIX3))


@numba.njit(cache=True)
def double_words(s_hi, s_lo, inc_hi, inc_lo):
    """:func:`next_double` on a state in four uint64 values: ``(u, s_hi, s_lo)``."""
    s_hi, s_lo, word = pcg64_words(s_hi, s_lo, inc_hi, inc_lo)
    return np.float64(word >> np.uint64(11)) * _DOUBLE_SCALE, s_hi, s_lo


@numba.njit(cache=True, inline="always")
def _ziggurat_try(s_hi, s_lo, inc_hi, inc_lo):
    """One try of NumPy's exponential ziggurat (:func:`standard_exponential`): one draw,
    its layer and candidate, ``(ri, idx, x, n_hi, n_lo)``, the state after the draw in
    the last two. The try is accepted at once if ``ri < _KE_DOUBLE[idx]``.

    The one copy of the first try shared by :func:`exponential_words` and
    :func:`exponential_fast_words`, so the two make the same draw with the same bits."""
    n_hi, n_lo, ri = pcg64_words(s_hi, s_lo, inc_hi, inc_lo)
    ri >>= np.uint64(3)
    idx = ri & _BYTE
    ri >>= np.uint64(8)
    return ri, idx, np.float64(ri) * _WE_DOUBLE[idx], n_hi, n_lo


@numba.njit(cache=True, inline="always")
def exponential_words(s_hi, s_lo, inc_hi, inc_lo):
    """:func:`standard_exponential` on a state in four uint64 values: ``(x, s_hi, s_lo)``;
    the same draws and operations (NumPy's ziggurat, :func:`standard_exponential`).

    Inlined where it is called (numba's ``inline="always"``): LLVM left it a call in the
    event loop (its rare tail and wedge branches make it large), and a call returns the
    state through memory."""
    while True:
        ri, idx, x, s_hi, s_lo = _ziggurat_try(s_hi, s_lo, inc_hi, inc_lo)
        if ri < _KE_DOUBLE[idx]:
            return x, s_hi, s_lo
        if idx == _ZERO:
            u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
            return _ZIGGURAT_EXP_R - math.log1p(-u), s_hi, s_lo
        f_hi = _FE_DOUBLE[idx - _ONE]
        f_lo = _FE_DOUBLE[idx]
        u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
        if (f_hi - f_lo) * u + f_lo < math.exp(-x):
            return x, s_hi, s_lo


@numba.njit(cache=True, inline="always")
def exponential_fast_words(s_hi, s_lo, inc_hi, inc_lo):
    """The first try of :func:`exponential_words` (:func:`_ziggurat_try`), and nothing
    else: ``(accepted, x, n_hi, n_lo)``, with ``x`` and the state after its one draw
    exactly as there when the ziggurat accepts at once (all but ~1.1 % of draws: the
    other 256-layer wedge and tail tests need ``exp``, ``log1p`` and more draws).

    For an event loop without calls (:func:`stochsyn.engine.ssa._simulate_tiny`): when
    ``accepted`` is false the caller keeps its old state (nothing is consumed) and draws
    again with :func:`exponential_words`, which makes the same first draw and goes on."""
    ri, idx, x, n_hi, n_lo = _ziggurat_try(s_hi, s_lo, inc_hi, inc_lo)
    return ri < _KE_DOUBLE[idx], x, n_hi, n_lo


# --------------------------------------------------------------------------
# SeedSequence
# --------------------------------------------------------------------------


@numba.njit(cache=True)
def _hashmix(value, hash_const):
    """NumPy's ``hashmix`` on 32-bit values carried in uint64.

    Parameters
    ----------
    value, hash_const : uint64
        Both in ``[0, 2**32)``.

    Returns
    -------
    tuple of (uint64, uint64)
        The hashed value and the updated hash constant (NumPy mutates the
        constant through a pointer; here it is threaded through explicitly).
    """
    value = value ^ hash_const
    hash_const = (hash_const * _MULT_A) & _MASK32
    value = (value * hash_const) & _MASK32
    value = value ^ (value >> _XSHIFT)
    return value, hash_const


@numba.njit(cache=True)
def _mix(x, y):
    """NumPy's ``mix`` of two 32-bit values carried in uint64.

    Parameters
    ----------
    x, y : uint64
        Both in ``[0, 2**32)``.

    Returns
    -------
    uint64
        In ``[0, 2**32)``.
    """
    # uint64 subtraction wraps mod 2**64, and masking reduces that mod 2**32,
    # which matches NumPy's uint32 arithmetic.
    result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _MASK32
    return result ^ (result >> _XSHIFT)


@numba.njit(cache=True)
def _assembled_word(k, run_entropy, n_padded, index_u64):
    """Word ``k`` of SeedSequence's assembled entropy, without building it.

    Parameters
    ----------
    k : int
        Position in the assembled entropy.
    run_entropy : numpy.ndarray, shape (n,), dtype uint32
        Root-seed words.
    n_padded : int
        ``max(n, 4)``: a non-empty spawn key makes NumPy zero-pad the run
        entropy to the pool size (gh-16539) before appending the spawn key.
    index_u64 : uint64
        The trajectory index (the single spawn-key element).

    Returns
    -------
    uint64
        The 32-bit word, zero-extended.
    """
    if k < run_entropy.shape[0]:
        return np.uint64(run_entropy[k])
    if k < n_padded:
        return _ZERO
    if k == n_padded:
        return index_u64 & _MASK32
    return index_u64 >> np.uint64(32)


@numba.njit(cache=True)
def _generate_word(pool_word, hash_const):
    """One output word of ``SeedSequence.generate_state``.

    Parameters
    ----------
    pool_word, hash_const : uint64
        Both in ``[0, 2**32)``.

    Returns
    -------
    tuple of (uint64, uint64)
        The output word and the updated hash constant.
    """
    value = pool_word ^ hash_const
    hash_const = (hash_const * _MULT_B) & _MASK32
    value = (value * hash_const) & _MASK32
    value = value ^ (value >> _XSHIFT)
    return value, hash_const


@numba.njit(cache=True)
def seed_pcg64(state, run_entropy, trajectory_index):
    """Seed a PCG64 state as ``SeedSequence(root_seed, spawn_key=(i,))`` does.

    After the call, ``state`` equals the state and increment of
    ``np.random.PCG64(np.random.SeedSequence(root_seed,
    spawn_key=(trajectory_index,)))``, where ``run_entropy`` is
    ``entropy_words(root_seed)``.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64
        Output, overwritten with ``[state_hi, state_lo, inc_hi, inc_lo]``.
        It also serves as the 4-word entropy pool during mixing, so no
        temporary array is allocated.
    run_entropy : numpy.ndarray, shape (n,), dtype uint32, n >= 1
        Little-endian 32-bit words of the non-negative root seed, as returned
        by :func:`entropy_words`.
    trajectory_index : int
        Non-negative trajectory index (the spawn key), below ``2**63``.

    Raises
    ------
    ValueError
        If ``trajectory_index`` is negative or ``run_entropy`` is empty.
    """
    if trajectory_index < 0:
        raise ValueError("trajectory_index must be non-negative")
    n_run = run_entropy.shape[0]
    if n_run == 0:
        raise ValueError("run_entropy must hold at least one word")
    index_u64 = np.uint64(trajectory_index)
    n_padded = max(n_run, _POOL_SIZE)
    # NumPy's _coerce_to_uint32_array gives 0 a single word and drops
    # leading zero words otherwise.
    n_spawn = 1 if index_u64 < _TWO32 else 2
    n_total = n_padded + n_spawn

    # mix_entropy: fill the pool (padding hashes of 0 cannot occur because
    # the assembled entropy always has at least pool-size words).
    pool = state
    hash_const = _INIT_A
    for i in range(_POOL_SIZE):
        word = _assembled_word(i, run_entropy, n_padded, index_u64)
        pool[i], hash_const = _hashmix(word, hash_const)
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                hashed, hash_const = _hashmix(pool[i_src], hash_const)
                pool[i_dst] = _mix(pool[i_dst], hashed)
    # Words beyond the pool size (always the spawn key here, and any root
    # seed words past the fourth) are folded into every pool word.
    for i_src in range(_POOL_SIZE, n_total):
        word = _assembled_word(i_src, run_entropy, n_padded, index_u64)
        for i_dst in range(_POOL_SIZE):
            hashed, hash_const = _hashmix(word, hash_const)
            pool[i_dst] = _mix(pool[i_dst], hashed)

    # generate_state(4, uint64): 8 uint32 words cycling over the pool,
    # consecutive pairs joined little-endian.  All are computed before the
    # pool (aliased to `state`) is overwritten.
    hash_const = _INIT_B
    w0, hash_const = _generate_word(pool[0], hash_const)
    w1, hash_const = _generate_word(pool[1], hash_const)
    w2, hash_const = _generate_word(pool[2], hash_const)
    w3, hash_const = _generate_word(pool[3], hash_const)
    w4, hash_const = _generate_word(pool[0], hash_const)
    w5, hash_const = _generate_word(pool[1], hash_const)
    w6, hash_const = _generate_word(pool[2], hash_const)
    w7, hash_const = _generate_word(pool[3], hash_const)
    seed0 = w0 | (w1 << np.uint64(32))
    seed1 = w2 | (w3 << np.uint64(32))
    seed2 = w4 | (w5 << np.uint64(32))
    seed3 = w6 | (w7 << np.uint64(32))

    # pcg64_set_seed / pcg_setseq_128_srandom_r:
    # initstate = seed0:seed1, initseq = seed2:seed3.
    state[0] = _ZERO
    state[1] = _ZERO
    state[2] = (seed2 << _ONE) | (seed3 >> _SIX3)
    state[3] = (seed3 << _ONE) | _ONE
    _pcg_step(state)
    lo = state[1] + seed1
    hi = state[0] + seed0
    if lo < seed1:
        hi += _ONE
    state[0] = hi
    state[1] = lo
    _pcg_step(state)


@numba.njit(cache=True)
def _seed_states_kernel(out, run_entropy, trajectory_indices):
    """Seed ``out[k]`` for trajectory ``trajectory_indices[k]``.

    Parameters
    ----------
    out : numpy.ndarray, shape (n, 4), dtype uint64
        Output states.
    run_entropy : numpy.ndarray, shape (m,), dtype uint32
        Root-seed words.
    trajectory_indices : numpy.ndarray, shape (n,), dtype int64
        Non-negative trajectory indices.
    """
    for k in range(trajectory_indices.shape[0]):
        seed_pcg64(out[k], run_entropy, trajectory_indices[k])


# --------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------


@numba.njit(cache=True)
def next_uint64(state):
    """Draw a uint64 from PCG64 XSL-RR, advancing ``state`` in place.

    Equals ``PCG64.random_raw()`` on the matching NumPy bit generator.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64
        ``[state_hi, state_lo, inc_hi, inc_lo]``.

    Returns
    -------
    uint64
    """
    # NumPy's pcg64_random_r steps first and permutes the *new* state.
    s_hi, s_lo, word = pcg64_words(state[0], state[1], state[2], state[3])
    state[0] = s_hi
    state[1] = s_lo
    return word


@numba.njit(cache=True)
def next_double(state):
    """Draw a float64 uniform on [0, 1), as ``Generator.random()``.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64

    Returns
    -------
    float
        A multiple of ``2**-53`` in ``[0, 1)``.
    """
    return np.float64(next_uint64(state) >> np.uint64(11)) * _DOUBLE_SCALE


@numba.njit(cache=True)
def standard_exponential(state):
    """Draw a standard exponential, as ``Generator.standard_exponential()``.

    Reimplements NumPy's ``random_standard_exponential`` (ziggurat method),
    including its tail and wedge-rejection branches, so the number of raw
    draws consumed, and hence the rest of the stream, matches NumPy.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64

    Returns
    -------
    float
        A non-negative float64 with density ``exp(-x)``.
    """
    # NumPy recurses on rejection; a loop consumes the same draws.
    while True:
        ri = next_uint64(state)
        ri >>= np.uint64(3)
        idx = ri & _BYTE
        ri >>= np.uint64(8)
        x = np.float64(ri) * _WE_DOUBLE[idx]
        if ri < _KE_DOUBLE[idx]:
            return x
        if idx == _ZERO:
            # Tail.  log1p(-U) rather than log(U) mirrors NumPy (gh-13361)
            # and avoids log(0).
            return _ZIGGURAT_EXP_R - math.log1p(-next_double(state))
        f_hi = _FE_DOUBLE[idx - _ONE]
        f_lo = _FE_DOUBLE[idx]
        if (f_hi - f_lo) * next_double(state) + f_lo < math.exp(-x):
            return x


@numba.njit(cache=True)
def uniform_index(state, n):
    """Draw an int64 uniformly from ``[0, n)`` using one double.

    Equals ``min(int(g.random() * n), n - 1)`` on the reference Generator
    ``g``.  The clamp only guards against rounding of ``u * n`` up to ``n``
    for large ``n``; for ``n < 2**53`` every index has probability within
    ``n * 2**-53`` of ``1/n``, which is negligible for agent selection.

    Parameters
    ----------
    state : numpy.ndarray, shape (4,), dtype uint64
    n : int
        Number of choices, ``1 <= n < 2**63``.

    Returns
    -------
    int
        int64 in ``[0, n)``.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if n < 1:
        raise ValueError("uniform_index needs n >= 1")
    k = np.int64(next_double(state) * n)
    if k > n - 1:
        k = n - 1
    return np.int64(k)


# Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9),
# refined below by one Halley step to full double precision.
_ACKLAM_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_ACKLAM_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
             6.680131188771972e+01, -1.328068155288572e+01)
_ACKLAM_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_ACKLAM_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
             3.754408661907416e+00)


@numba.njit(cache=True)
def _lower_normal_quantile(p):
    """Φ⁻¹(p) for 0 < p <= 0.5 (where Φ(x) = erfc(-x/√2)/2 has full relative precision)."""
    a, b, c, d = _ACKLAM_A, _ACKLAM_B, _ACKLAM_C, _ACKLAM_D
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        x = ((((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
             / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0))
    else:
        q = p - 0.5
        r = q * q
        x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
             / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0))
    # One Halley step on e = Φ(x) - p takes Acklam's 1e-9 to full precision.
    e = 0.5 * math.erfc(-x / math.sqrt(2.0)) - p
    u = e * math.sqrt(2.0 * math.pi) * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@numba.njit(cache=True)
def normal_quantile(p):
    """The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (``scipy.special.ndtri``).

    P. J. Acklam's rational approximation with one Halley step on ``erfc``, computed in the
    lower half and mirrored (``1 - p`` is exact for p >= 0.5); agrees with
    ``scipy.special.ndtri`` to ~1e-15 (tests). Returns ±inf at p = 0 or 1 and NaN outside
    [0, 1].
    """
    if not (p >= 0.0 and p <= 1.0):
        return math.nan
    if p == 0.0:
        return -math.inf
    if p == 1.0:
        return math.inf
    if p <= 0.5:
        return _lower_normal_quantile(p)
    return -_lower_normal_quantile(1.0 - p)


@numba.njit(cache=True)
def lognormal_mean_cv(state, mean, cv):
    """A log-normal draw with the given mean and coefficient of variation, from ONE
    uniform draw (inverse CDF), so the stream advances by exactly one word.

    ``mean · exp(σ z − σ²/2)`` with ``σ² = ln(1 + cv²)`` and ``z = Φ⁻¹(u)``, where
    ``u = (k + 0.5) · 2⁻⁵³`` for the 53-bit integer ``k`` of the draw (never 0 or 1).
    ``cv = 0`` returns ``mean`` (and still consumes the draw).
    """
    k = next_uint64(state) >> np.uint64(11)
    if cv == 0.0:
        return mean
    u = (np.float64(k) + 0.5) * _DOUBLE_SCALE
    sigma2 = math.log1p(cv * cv)
    return mean * math.exp(math.sqrt(sigma2) * normal_quantile(u) - 0.5 * sigma2)


# --------------------------------------------------------------------------
# Python helpers
# --------------------------------------------------------------------------


# _validate_root_seed, entropy_words and new_root_seed are in .seeds (plain Python: the
# runner seeds a run without numba) and imported above.


def numpy_generator(root_seed, trajectory_index):
    """Reference NumPy Generator for one trajectory (for tests and replays).

    Parameters
    ----------
    root_seed : int
        Non-negative integer.
    trajectory_index : int
        Non-negative trajectory index.

    Returns
    -------
    numpy.random.Generator
        ``Generator(PCG64(SeedSequence(root_seed,
        spawn_key=(trajectory_index,))))``, whose stream the compiled
        functions of this module reproduce.

    Raises
    ------
    ValueError
        If ``root_seed`` or ``trajectory_index`` is negative or not an
        integer.
    """
    seed = _validate_root_seed(root_seed)
    index = _validate_index(trajectory_index)
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(index,))))


def _validate_index(trajectory_index):
    """Return a trajectory index as a Python int, or raise ValueError."""
    if isinstance(trajectory_index, (bool, np.bool_)) or not isinstance(
            trajectory_index, numbers.Integral):
        raise ValueError(
            f"invalid trajectory index {trajectory_index!r}: trajectory "
            "indices must be non-negative integers")
    value = int(trajectory_index)
    if not 0 <= value < 2**63:
        raise ValueError(
            f"invalid trajectory index {value}: trajectory indices must be "
            "non-negative integers below 2**63")
    return value


def _as_index_array(trajectory_indices):
    """Validate trajectory indices and return them as an int64 array."""
    arr = np.atleast_1d(np.asarray(trajectory_indices))
    if arr.ndim != 1:
        raise ValueError("trajectory_indices must be a 1-D sequence")
    if arr.dtype.kind in "iu":
        # Fast path for integer arrays (the common case: np.arange(n)).
        if arr.size and (arr.min() < 0 or arr.max() >= 2**63):
            raise ValueError(
                "trajectory indices must be non-negative integers below 2**63")
        return arr.astype(np.int64)
    return np.array([_validate_index(v) for v in arr.tolist()], dtype=np.int64)


def seed_states(root_seed, trajectory_indices):
    """Seed one PCG64 state per trajectory in compiled code.

    Parameters
    ----------
    root_seed : int
        Non-negative integer root seed of the run.
    trajectory_indices : int or array_like of int, shape (n,)
        Non-negative trajectory indices below ``2**63``.

    Returns
    -------
    numpy.ndarray, shape (n, 4), dtype uint64
        Row ``k`` is ``[state_hi, state_lo, inc_hi, inc_lo]`` of
        ``PCG64(SeedSequence(root_seed, spawn_key=(trajectory_indices[k],)))``.

    Raises
    ------
    ValueError
        If the root seed or any index is negative or not an integer.
    """
    run_entropy = entropy_words(root_seed)
    indices = _as_index_array(trajectory_indices)
    out = np.empty((indices.shape[0], STATE_SIZE), dtype=np.uint64)
    _seed_states_kernel(out, run_entropy, indices)
    return out
