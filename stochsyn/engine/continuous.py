"""Continuous species (the hybrid mode): their rate equations between events, and the
hazard of the discrete reactions that read them.

A species declared continuous (``[continuous] species``, :meth:`stochsyn.Model.with_continuous`)
holds a real amount ``y`` (molecules) instead of a count. :func:`stochsyn.network.hybrid_roles`
sorts the reactions:

* an **ODE term** (every species it reads or writes is continuous, state-dependent law) is a
  term of the rate equations ``dy/dt = Σ_j ν_j a_j(y)``. Its propensity is the real-valued
  mass-action law ``a_j(y) = c_j · Π_s y_s^ν_s / ν_s!`` (times the Michaelis–Menten or Hill
  factor, with the amounts for the counts). For ν = 1 this is the count's own law; for
  ν > 1 it is the deterministic limit of ``c · Π C(x, ν)`` (the rate equation
  ``v = k Π [S]^ν`` in molecules, since ``c = k Ω^(1-n) Π ν!``), and also the mean of
  ``C(x, ν)`` over a Poisson-distributed x of mean y; unlike ``C(y, ν)`` it is never
  negative for 0 < y < ν − 1. Negative amounts (round-off of the ODE, at most of the order
  of ``atol``) count as 0 in every law;
* a **coupled** reaction (discrete, reads a continuous species) has the propensity
  ``a_j(t) = s_j · Π_{continuous s} y_s(t)^ν_s / ν_s! · L_j(x, y(t))``, ``s_j`` its discrete
  mass-action factor ``c · Π C(x, ν)``; it varies along y(t) between events, and its next
  firing is found by the integrated hazard (``∫_t^τ a0 = E``; Gauss–Legendre 3-point
  quadrature and a safeguarded Newton iteration, with the time-dependent kinds of
  :mod:`.hazard` joining the integral while a coupled reaction is live), with quadrature
  steps that never cross an ODE step;
* a discrete reaction that changes a continuous species makes y **jump** by its net change
  at the firing; the ODE restarts from there. If a jump would make an amount negative (a
  discrete reaction consuming a continuous species whose amount is below its
  stoichiometry: the species should not be continuous), the amount is set to 0 and the
  molecules so created are added up per trajectory (``Ensemble.continuous_clamped``;
  ``stochsyn.simulate`` warns), so that conservation stays checkable;
* interventions set or add to a continuous amount (``set``/``add``), and restart the ODE;
  a rate change of an ODE term restarts it too.

Integration
-----------
Dormand–Prince 5(4) (the explicit Runge–Kutta pair of DOPRI5, 7 stages with the last one
reused as the first of the next step) with its continuous extension of order 4 (Hairer,
Nørsett & Wanner, *Solving ODEs I*, §II.5–6; Hairer's ``dopri5.f``, ``CONTD5``), so y is
known at any time inside the current step. Error control on the embedded 4th-order
estimate ``err_i`` of each step::

    ‖err‖ = sqrt(mean_i (err_i / (atol + rtol · max(|y0_i|, |y1_i|)))²) <= 1

with ``rtol`` and ``atol`` (molecules) from ``[continuous]`` (default 1e-6 and 1e-6), and
Hairer's PI step-size controller (β = 0.04, safety 0.9, factors in [0.2, 10]; no increase
right after a rejection), which keeps an explicit method stable when stiffness limits the
step. The local error of a step is about ``rtol`` relative (or ``atol`` absolute); the
global error stays within a small multiple of it for the contractive (relaxing) systems
this is meant for: ``tests/engine/test_continuous.py`` measures ``< 20·(atol + rtol·|y|)``
against scipy's Radau at 1e-12, for linear decay, buffering and a pump. The dense output
preserves linear invariants (conserved totals) up to round-off, like the steps.

Stiffness: the spine's Ca²⁺ buffers relax at ``k_on·B + k_off ≈ 2·10⁴ /s``, so the
explicit steps are bounded by stability to ≈ 3.3/2·10⁴ s ≈ 0.15 ms (DOPRI5's stability
interval on the negative real axis). Measured on reactions/modules/calcium.toml (9
species, 15 terms): ~7,300 steps per simulated second at rest, ~0.2 µs per step; 1,100
steps for the 150 ms decay of tests/statistical/test_calcium.py's V4 influx (matching
LSODA at rtol 1e-10 within 3e-5 molecules); an EPSP of the spine model takes ~1.5·10⁴
steps, most of them restarts after its ~10⁴ Ca²⁺ entries (jumps), i.e. a few ms, against
~3·10⁵ buffer and pump events in the exact mode (analysis/hybrid_accuracy.py). An implicit
method is not needed at these rates: what is left of the hybrid's time is the
time-dependent path of the receptors (.hazard).

Performance notes: :func:`cover` holds the whole step loop, and the mass-action terms
(:func:`_rhs`) are a flat int64 code read with few arguments and no call inside: an
inlined function with many array arguments, or any call in the loop, made numba keep the
reference counts of every array at each use (a step then cost 3 µs instead of 0.2 µs).
The Michaelis–Menten and Hill terms are a separate call made only for models that have
them. Every function here uses ``error_model="numpy"`` (a division by zero gives inf, then
ODE_FAILURE, instead of raising), which also keeps their calls free of exception paths,
and is compiled by :func:`.jit.borrowing_njit`, without reference counting: each call took
``hy`` (22 arrays) and the kernel's arrays, and counting them cost more than the ODE step
(spine model, HFS: 3.6 → 1.1 µs per event of the hybrid mode).

y is integrated lazily: only up to the times at which it is needed (a sample, a jump, an
intervention, a quadrature node of a coupled reaction's hazard), by whole steps whose
dense output then serves every time inside them. A step that fails (a non-finite amount,
or a step below 1e-14 s relative) ends the trajectory with status ``ODE_FAILURE``.

No random numbers are drawn here: the draws per event are those of :mod:`.ssa`.

References
----------
J. R. Dormand, P. J. Prince (1980) J Comput Appl Math 6:19-26. doi:10.1016/0771-050X(80)90013-3
E. Hairer, S. P. Nørsett, G. Wanner (1993) Solving Ordinary Differential Equations I, 2nd
ed., Springer, §II.4 (step-size control, ``hinit``), §II.5 (DOPRI5), §II.6 (dense output).
K. Gustafsson (1991) ACM TOMS 17:533-554 (PI control); Hairer & Wanner (1996) §IV.2.
E. L. Haseltine, J. B. Rawlings (2002) J Chem Phys 117:6959 (hybrid SSA/ODE partitioning).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .hazard import quadrature_step_end, select_tv, set_bases, tv_rate_at
from .jit import borrowing_njit

OK = 0
NEGATIVE_COUNT = 2
ODE_FAILURE = 5         # status code (stochsyn.engine.STATUS_TEXT)

MASS_ACTION, MICHAELIS_MENTEN, HILL = 0, 5, 6   # as in stochsyn.network

# Rows of the work array ``ws`` (each of length Y): the amounts y0 at the start t0 of the
# current step, y1 at its end, the seven stages, a stage argument, the dense-output
# coefficients r2 … r5 (r1 = y0), and the amounts at the last time asked (:func:`values_at`).
Y0, Y1, K1, K2, K3, K4, K5, K6, K7, TMP, R2, R3, R4, R5, YT = range(15)
N_ROWS = 15
# Entries of the scalar state ``st``: start and end of the current step (equal: no step),
# the next step size (0: not chosen yet), the controller's previous error, accepted and
# rejected steps, molecules created by clamping, a rejection just happened, and how many
# samples have their amounts recorded (:func:`cover` records those a step it leaves holds).
T0, T1, HNEXT, ERROLD, N_STEPS, N_REJECTED, CLAMPED, REJECTED, SAMPLED = range(9)
N_SCALARS = 9

_SAFETY = 0.9
_BETA = 0.04
_EXPO1 = 0.2 - _BETA * 0.75
_FAC_MIN = 0.2          # the step shrinks at most 5x …
_FAC_MAX = 10.0         # … and grows at most 10x per step

# Dormand–Prince 5(4) (Hairer's dopri5.f): stage s (1 … 6) evaluates f at
# y0 + h Σ_{i<s} _A[s, i] k_i; the 7th stage (row 6, the 5th-order weights) gives y1.
_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
    [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0,
     0.0],
    [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
])
# error estimate (5th minus 4th order) and dense output weights of k1 … k7
_E = np.array([71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0,
               22.0 / 525.0, -1.0 / 40.0])
_D = np.array([-12715105075.0 / 11282082432.0, 0.0, 87487479700.0 / 32700410799.0,
               -10690763975.0 / 1880347072.0, 701980252875.0 / 199316789632.0,
               -1453857185.0 / 822651844.0, 69997945.0 / 29380423.0])

_GL_X = math.sqrt(3.0 / 5.0)
_GL_W_OUTER = 5.0 / 9.0
_GL_W_MID = 8.0 / 9.0


@numba.njit(cache=True, inline="always", error_model="numpy")
def _power(y, nu):
    """``max(y, 0)^ν / ν!``: a real amount's mass-action factor (module docstring)."""
    v = y if y > 0.0 else 0.0
    if nu == 1:
        return v
    b = 1.0
    for k in range(nu):
        b = b * v / (k + 1)
    return b


@numba.njit(cache=True, inline="always", error_model="numpy")
def _law(hy, j, kind, x, ws, row):
    """The Michaelis–Menten or Hill factor of reaction ``j`` (``kind``), reading each
    modifier and substrate state from ``ws[row]`` if continuous (negative as 0), else
    from ``x``; the forms of :func:`.ssa.law_factor`."""
    cont_slot = hy.cont_slot
    law_ptr, law_idx, law_w, sat_ptr, sat_idx, law_k, law_n = (hy.law_ptr, hy.law_idx, hy.law_w,
                                                               hy.sat_ptr, hy.sat_idx, hy.law_k, hy.law_n)
    m = 0.0
    for p in range(law_ptr[j], law_ptr[j + 1]):
        i = law_idx[p]
        q = cont_slot[i]
        m = m + law_w[p] * (x[i] if q < 0 else max(ws[row, q], 0.0))
    if kind == MICHAELIS_MENTEN:
        if law_ptr[j + 1] == law_ptr[j]:
            m = 1.0
        s = 0.0
        for p in range(sat_ptr[j], sat_ptr[j + 1]):
            i = sat_idx[p]
            q = cont_slot[i]
            s += x[i] if q < 0 else max(ws[row, q], 0.0)
        return m / (law_k[j] + s)
    if kind == HILL:
        if m <= 0.0:
            return 0.0
        return 1.0 / (1.0 + (law_k[j] / m) ** law_n[j])
    return 1.0 / (1.0 + (m / law_k[j]) ** law_n[j])


@numba.njit(cache=True, inline="always", error_model="numpy")
def _rhs(code, rate, ws, row, out):
    """``ws[out] = Σ_j ν_j a_j(ws[row])`` over the mass-action ODE terms (molecules/s).

    (Few arguments and no call inside: every array an inlined function binds is reference
    counted at each use unless numba can prune the counts, which a call prevents; with
    the law terms in here, a step cost 3 µs instead of 0.2 µs.)"""
    for q in range(ws.shape[1]):
        ws[out, q] = 0.0
    p = 0
    while p < len(code):
        a = rate[code[p]]
        n = code[p + 1]
        p += 2
        for _ in range(n):
            a *= _power(ws[row, code[p]], code[p + 1])
            p += 2
        n = code[p]
        p += 1
        for _ in range(n):
            ws[out, code[p]] += code[p + 1] * a
            p += 2


@borrowing_njit(error_model="numpy")
def _rhs_laws(hy, rate, x, ws, row, out):
    """Add the Michaelis–Menten and Hill ODE terms to ``ws[out]``."""
    code = hy.ode_law_code
    p = 0
    while p < len(code):
        j = code[p]
        kind = code[p + 1]
        a = rate[j]
        n = code[p + 2]
        p += 3
        for _ in range(n):
            a *= _power(ws[row, code[p]], code[p + 1])
            p += 2
        a *= _law(hy, j, kind, x, ws, row)
        n = code[p]
        p += 1
        for _ in range(n):
            ws[out, code[p]] += code[p + 1] * a
            p += 2


@numba.njit(cache=True, inline="always", error_model="numpy")
def _norm(ws, row, rtol, atol):
    """The error norm of ``ws[row]`` (a difference of amounts), scaled by y0 and y1."""
    n = ws.shape[1]
    total = 0.0
    for q in range(n):
        scale = atol + rtol * max(abs(ws[Y0, q]), abs(ws[Y1, q]))
        total += (ws[row, q] / scale) ** 2
    return math.sqrt(total / max(n, 1))


@borrowing_njit(error_model="numpy")
def _initial_step(hy, rate, x, ws):
    """A first step size from y0 and f(y0) = ws[K1] (Hairer's ``hinit``, order 5)."""
    rtol, atol = hy.cont_tol[0], hy.cont_tol[1]
    n = ws.shape[1]
    d0 = 0.0
    d1 = 0.0
    for q in range(n):
        scale = atol + rtol * abs(ws[Y0, q])
        d0 += (ws[Y0, q] / scale) ** 2
        d1 += (ws[K1, q] / scale) ** 2
    d0 = math.sqrt(d0 / max(n, 1))
    d1 = math.sqrt(d1 / max(n, 1))
    h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    for q in range(n):
        ws[TMP, q] = ws[Y0, q] + h * ws[K1, q]
    _rhs(hy.ode_code, rate, ws, TMP, K2)
    if len(hy.ode_law_code):
        _rhs_laws(hy, rate, x, ws, TMP, K2)
    d2 = 0.0
    for q in range(n):
        scale = atol + rtol * abs(ws[Y0, q])
        d2 += ((ws[K2, q] - ws[K1, q]) / scale) ** 2
    d2 = math.sqrt(d2 / max(n, 1)) / h
    biggest = max(d1, d2)
    h1 = max(1e-6, h * 1e-3) if biggest <= 1e-15 else (0.01 / biggest) ** 0.2
    return min(100.0 * h, h1)


@borrowing_njit(error_model="numpy")
def cover(hy, rate, x, ws, st, t, strict, values, sample_times):
    """Integrate until a step covers ``t``: ``st[T0] <= t <= st[T1]``, and ``t < st[T1]``
    if ``strict`` (a quadrature step starting at t needs room after it). ``t`` must not
    be before ``st[T0]``, and nothing may change y before ``t`` (no event: the caller
    asks for times up to the next one). Before leaving a step, the amounts at the samples
    it holds go to ``values`` (the caller records the others): once left, a step's dense
    output is gone. Returns OK or ODE_FAILURE.

    Each step: Dormand–Prince stages from (st[T0], ws[Y0]) with f(y0) in ws[K1]; accepted,
    it fills ws[Y1], ws[K7] (= f(y1)), the dense-output rows and st[T1] and chooses the
    next step size (module docstring)."""
    code = hy.ode_code
    has_laws = len(hy.ode_law_code) > 0
    rtol, atol = hy.cont_tol[0], hy.cont_tol[1]
    n = ws.shape[1]
    while True:
        if t == st[T0] and not strict:
            return OK
        if st[T1] > st[T0] and (t < st[T1] or (t == st[T1] and not strict)):
            return OK
        if st[T1] > st[T0]:            # move to the end of the current step (FSAL)
            k = int(st[SAMPLED])
            while k < len(sample_times) and sample_times[k] <= st[T1]:
                for q in range(n):
                    values[k, q] = value_at(ws, st, q, sample_times[k])
                k += 1
            st[SAMPLED] = k
            st[T0] = st[T1]
            for q in range(n):
                ws[Y0, q] = ws[Y1, q]
                ws[K1, q] = ws[K7, q]
            if t == st[T0] and not strict:
                return OK
        # one accepted step from T0
        t0 = st[T0]
        h = st[HNEXT]
        if not h > 0.0:
            h = _initial_step(hy, rate, x, ws)
        while True:
            if not (h > 1e-14 * max(1.0, abs(t0)) and h < math.inf):
                return ODE_FAILURE
            for stage in range(1, 7):       # k2 … k6, then y1 and k7 = f(y1)
                row = Y1 if stage == 6 else TMP
                for q in range(n):
                    acc = 0.0
                    for i in range(stage):
                        acc += _A[stage, i] * ws[K1 + i, q]
                    ws[row, q] = ws[Y0, q] + h * acc
                _rhs(code, rate, ws, row, K1 + stage)
                if has_laws:
                    _rhs_laws(hy, rate, x, ws, row, K1 + stage)
            for q in range(n):
                acc = 0.0
                for i in range(7):
                    acc += _E[i] * ws[K1 + i, q]
                ws[TMP, q] = h * acc
            err = _norm(ws, TMP, rtol, atol)
            if not err == err or err == math.inf:
                # A stage left the finite numbers: retry much shorter (and give up on y0).
                for q in range(n):
                    if not abs(ws[Y0, q]) < math.inf:
                        return ODE_FAILURE
                h *= _FAC_MIN
                st[N_REJECTED] += 1
                st[REJECTED] = 1.0
                continue
            fac11 = err ** _EXPO1
            if err <= 1.0:
                break
            h = h / min(1.0 / _FAC_MIN, fac11 / _SAFETY)
            st[N_REJECTED] += 1
            st[REJECTED] = 1.0
        fac = fac11 / max(st[ERROLD], 1e-4) ** _BETA
        fac = max(1.0 / _FAC_MAX, min(1.0 / _FAC_MIN, fac / _SAFETY))
        h_next = h / fac
        if st[REJECTED] != 0.0:
            h_next = min(h_next, h)
        st[REJECTED] = 0.0
        st[ERROLD] = max(err, 1e-4)
        for q in range(n):
            y_diff = ws[Y1, q] - ws[Y0, q]
            bspl = h * ws[K1, q] - y_diff
            ws[R2, q] = y_diff
            ws[R3, q] = bspl
            ws[R4, q] = y_diff - h * ws[K7, q] - bspl
            acc = 0.0
            for i in range(7):
                acc += _D[i] * ws[K1 + i, q]
            ws[R5, q] = h * acc
        st[T1] = t0 + h
        st[HNEXT] = h_next
        st[N_STEPS] += 1


@numba.njit(cache=True, inline="always", error_model="numpy")
def value_at(ws, st, q, t):
    """The amount of slot ``q`` at ``t`` (inside the current step; y0 at T0 or without
    one): Hairer's ``CONTD5``."""
    t0 = st[T0]
    h = st[T1] - t0
    if not h > 0.0 or t == t0:
        return ws[Y0, q]
    theta = (t - t0) / h
    theta1 = 1.0 - theta
    return ws[Y0, q] + theta * (ws[R2, q] + theta1 * (ws[R3, q] + theta * (
        ws[R4, q] + theta1 * ws[R5, q])))


@numba.njit(cache=True, inline="always", error_model="numpy")
def values_at(ws, st, t):
    """All amounts at ``t`` into ``ws[YT]``."""
    for q in range(ws.shape[1]):
        ws[YT, q] = value_at(ws, st, q, t)


@borrowing_njit(error_model="numpy")
def restart(hy, rate, x, ws, st, t):
    """Start the ODE afresh at ``t`` from the amounts in ``ws[Y0]`` (after a jump, an
    intervention, at t = 0). The next step size is kept as the first guess."""
    st[T0] = t
    st[T1] = t
    _rhs(hy.ode_code, rate, ws, Y0, K1)
    if len(hy.ode_law_code):
        _rhs_laws(hy, rate, x, ws, Y0, K1)


@borrowing_njit(error_model="numpy")
def start(hy, rate, x, ws, st, cp_static):
    """At t = 0: y from the initial counts, the ODE started, the discrete factors of the
    coupled reactions. Returns how many of those are > 0."""
    cont_idx = hy.cont_idx
    st[:] = 0.0
    for q in range(len(cont_idx)):
        ws[Y0, q] = x[cont_idx[q]]
    restart(hy, rate, x, ws, st, 0.0)
    return refresh_all(hy, rate, x, cp_static)


@borrowing_njit(error_model="numpy")
def resume(hy, rate, x, ws, st, cp_static, t):
    """After interventions at ``t`` (amounts in ws[Y0], see :func:`settle`; counts and
    rates changed): restart the ODE and refresh the coupled reactions' discrete factors.
    Returns how many of those are > 0."""
    restart(hy, rate, x, ws, st, t)
    return refresh_all(hy, rate, x, cp_static)


@borrowing_njit(error_model="numpy")
def settle(hy, rate, x, ws, st, t, values, sample_times):
    """y(t) into ws[Y0], for interventions at ``t`` to change (then :func:`resume`).
    Returns OK or ODE_FAILURE."""
    status = cover(hy, rate, x, ws, st, t, False, values, sample_times)
    if status != OK:
        return status
    values_at(ws, st, t)
    for q in range(ws.shape[1]):
        ws[Y0, q] = ws[YT, q]
    st[T0] = t
    st[T1] = t
    return OK


@borrowing_njit(error_model="numpy")
def fired(hy, rate, x, ws, st, cp_static, j, t, values, sample_times):
    """Reaction ``j`` fired at ``t`` (its counts and agents changed): the jump of y if it
    changes continuous species (:func:`jump`), and the discrete factors of the coupled
    reactions it affects. Returns (status, change in how many of those are > 0)."""
    jump_ptr = hy.jump_ptr
    if jump_ptr[j + 1] > jump_ptr[j]:
        status = jump(hy, rate, x, ws, st, j, t, values, sample_times)
        if status != OK:
            return status, 0
    return OK, refresh(hy, rate, x, cp_static, j)


@borrowing_njit(error_model="numpy")
def jump(hy, rate, x, ws, st, j, t, values, sample_times):
    """Reaction ``j`` fired at ``t``: add its net change to y and restart the ODE there.
    An amount that would become negative is set to 0 and the molecules so created are
    added to st[CLAMPED]. Returns OK or ODE_FAILURE."""
    jump_ptr, jump_slot, jump_val = hy.jump_ptr, hy.jump_slot, hy.jump_val
    status = settle(hy, rate, x, ws, st, t, values, sample_times)
    if status != OK:
        return status
    for p in range(jump_ptr[j], jump_ptr[j + 1]):
        q = jump_slot[p]
        value = ws[Y0, q] + jump_val[p]
        if value < 0.0 and jump_val[p] < 0:
            st[CLAMPED] -= value
            value = 0.0
        ws[Y0, q] = value
    restart(hy, rate, x, ws, st, t)
    return OK


@borrowing_njit(error_model="numpy")
def record(hy, rate, x, ws, st, values, counts, record_idx, sample_times, k_first, k_stop):
    """The amounts at samples ``k_first … k_stop-1`` (all before the next event):
    ``values[k]`` (float; some may be there already, see :func:`cover`), and in ``counts``
    the nearest whole number (>= 0) for the recorded continuous species. Returns OK or
    ODE_FAILURE."""
    cont_slot = hy.cont_slot
    for k in range(k_first, k_stop):
        if k >= st[SAMPLED]:
            t = sample_times[k]
            status = cover(hy, rate, x, ws, st, t, False, values, sample_times)
            if status != OK:
                return status
            if k >= st[SAMPLED]:
                for q in range(ws.shape[1]):
                    values[k, q] = value_at(ws, st, q, t)
                st[SAMPLED] = k + 1
        for r in range(len(record_idx)):
            q = cont_slot[record_idx[r]]
            if q >= 0:
                counts[k, r] = max(0, round(values[k, q]))
    return OK


# ----------------------------------------------------------------- coupled reactions

@numba.njit(cache=True, inline="always", error_model="numpy")
def _discrete_factor(hy, rate, x, q):
    """``s = c · Π C(x_s, ν_s)`` over the discrete reactants of coupled reaction ``q`` (the
    arithmetic of :func:`.ssa.propensity`, on this module's packed code; not shared: an
    inlined helper for it made the plain SSA loop 4.5x slower)."""
    cp_ptr, cp_code = hy.cp_ptr, hy.cp_code
    p = cp_ptr[q]
    a = rate[cp_code[p]]
    n_discrete = cp_code[p + 2]
    p += 3
    for _ in range(n_discrete):
        n = x[cp_code[p]]
        nu = cp_code[p + 1]
        p += 2
        if n < nu:
            return 0.0
        if nu == 1:
            a = a * n
        else:
            b = 1.0
            for k in range(nu):
                b = b * (n - k) / (k + 1)
            a = a * b
    return a


@borrowing_njit(error_model="numpy")
def refresh_all(hy, rate, x, cp_static):
    """Every coupled reaction's discrete factor; returns how many are > 0."""
    live = 0
    for q in range(len(cp_static)):
        cp_static[q] = _discrete_factor(hy, rate, x, q)
        if cp_static[q] > 0.0:
            live += 1
    return live


@borrowing_njit(error_model="numpy")
def refresh(hy, rate, x, cp_static, j):
    """After reaction ``j`` fired: the discrete factors it changes; returns the change in
    the number that are > 0."""
    cpdep_ptr, cpdep_idx = hy.cpdep_ptr, hy.cpdep_idx
    change = 0
    for p in range(cpdep_ptr[j], cpdep_ptr[j + 1]):
        q = cpdep_idx[p]
        value = _discrete_factor(hy, rate, x, q)
        change += (value > 0.0) - (cp_static[q] > 0.0)
        cp_static[q] = value
    return change


@numba.njit(cache=True, inline="always", error_model="numpy")
def _coupled(hy, x, ws, st, cp_static, q, t):
    """Propensity of coupled reaction ``q`` at ``t`` (its continuous reactants from the
    dense output; for a law, all amounts at t in ``ws[YT]``)."""
    cp_ptr, cp_code = hy.cp_ptr, hy.cp_code
    p = cp_ptr[q]
    j = cp_code[p]
    kind = cp_code[p + 1]
    p += 3 + 2 * cp_code[p + 2]
    a = cp_static[q]
    n = cp_code[p]
    p += 1
    for _ in range(n):
        a *= _power(value_at(ws, st, cp_code[p], t), cp_code[p + 1])
        p += 2
    if kind != MASS_ACTION:
        values_at(ws, st, t)
        a *= _law(hy, j, kind, x, ws, YT)
    return a


@borrowing_njit(error_model="numpy")
def coupled_rate(hy, x, ws, st, cp_static, t):
    """Sum of the coupled reactions' propensities at ``t`` (inside the current step)."""
    total = 0.0
    for q in range(len(cp_static)):
        if cp_static[q] > 0.0:
            total += _coupled(hy, x, ws, st, cp_static, q, t)
    return total


@borrowing_njit(error_model="numpy")
def _tv_span(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b Σ_j s_j f_j(t) dt`` (the time-dependent
    reactions), by calls of :func:`.hazard.tv_rate_at`."""
    half = 0.5 * (b - a)
    mid = a + half
    return half * (_GL_W_OUTER * (tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                             pulse, mem, u_now, mid - half * _GL_X)
                                  + tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                               pulse, mem, u_now, mid + half * _GL_X))
                   + _GL_W_MID * tv_rate_at(drive, tv_list, tv_static, used_inputs, base,
                                            pulse, mem, u_now, mid))


@borrowing_njit(error_model="numpy")
def _rate(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static, used_inputs, base,
          pulse, mem, u_now, t):
    """The time-varying part of a0 at t: coupled reactions, and time-dependent ones."""
    total = coupled_rate(hy, x, ws, st, cp_static, t)
    if has_tv:
        total += tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t)
    return total


@borrowing_njit(error_model="numpy")
def _integral(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static, used_inputs, base,
              pulse, mem, u_now, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b`` of :func:`_rate`."""
    half = 0.5 * (b - a)
    mid = a + half
    total = half * (_GL_W_OUTER * (coupled_rate(hy, x, ws, st, cp_static, mid - half * _GL_X)
                                   + coupled_rate(hy, x, ws, st, cp_static,
                                                  mid + half * _GL_X))
                    + _GL_W_MID * coupled_rate(hy, x, ws, st, cp_static, mid))
    if has_tv:
        total += _tv_span(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, a, b)
    return total


@borrowing_njit(error_model="numpy")
def next_event_time(hy, rate, x, ws, st, cp_static, drive, tv_list, tv_static, used_inputs,
                    base, pulse, mem, u_now, h_max, has_tv, a_const, t, e, t_limit, values,
                    sample_times):
    """(τ, status): the time τ > t at which ``∫_t^τ a0 = e`` (inf if after ``t_limit``),
    with a0 the tree's constant ``a_const`` plus the coupled reactions along y(t) plus,
    if ``has_tv``, the time-dependent ones.

    The ODE is integrated on to τ (its current step covers τ; the samples of the steps
    left on the way are recorded into ``values``, :func:`cover`). Quadrature steps end at
    the ODE's step ends, the input steps and :func:`.hazard.quadrature_step_end`;
    the crossing is found by a safeguarded Newton iteration on the same quadrature. (The
    exact kernel draws the time-dependent kinds' events by thinning instead,
    :mod:`.hazard`; here the rates follow an ODE, whose values between its
    dense-output points are not bounded cheaply.)"""
    hazard = 0.0
    a = t
    t_break = set_bases(drive, used_inputs, a, base) if has_tv else math.inf
    while a < t_limit:
        status = cover(hy, rate, x, ws, st, a, True, values, sample_times)
        if status != OK:
            return math.inf, status
        b = min(st[T1], t_limit)
        if has_tv:
            if a >= t_break:
                t_break = set_bases(drive, used_inputs, a, base)
            b = min(b, quadrature_step_end(drive, used_inputs, pulse, mem, base, a, h_max),
                    t_break)
        step = a_const * (b - a) + _integral(hy, x, ws, st, cp_static, has_tv, drive,
                                             tv_list, tv_static, used_inputs, base, pulse,
                                             mem, u_now, a, b)
        if hazard + step >= e:
            lo = a
            hi = b
            tau = a + (b - a) * (e - hazard) / step if step > 0.0 else b
            tol = 4e-16 * max(1.0, abs(tau))
            for _ in range(100):
                g = (hazard + a_const * (tau - a)
                     + _integral(hy, x, ws, st, cp_static, has_tv, drive, tv_list, tv_static,
                                 used_inputs, base, pulse, mem, u_now, a, tau) - e)
                if g == 0.0:
                    break
                if g > 0.0:
                    hi = tau
                else:
                    lo = tau
                slope = a_const + _rate(hy, x, ws, st, cp_static, has_tv, drive, tv_list,
                                        tv_static, used_inputs, base, pulse, mem, u_now, tau)
                candidate = tau - g / slope if slope > 0.0 else 0.5 * (lo + hi)
                if abs(candidate - tau) <= tol:
                    tau = min(max(candidate, lo), hi)
                    break
                if not (candidate > lo and candidate < hi):
                    candidate = 0.5 * (lo + hi)
                tau = candidate
                if hi - lo <= tol:
                    break
            return tau, OK
        hazard += step
        a = b
    return math.inf, OK


@borrowing_njit(error_model="numpy")
def select(hy, x, ws, st, cp_static, drive, tv_list, tv_static, used_inputs, base, pulse,
           mem, u_now, has_tv, a_tree, t, v):
    """(j, u) for the reaction chosen by the uniform ``v`` in [0, 1) at ``t``, scaled by
    the total propensity ``a_tree + Σ time-dependent + Σ coupled``: ``j = -1`` means the
    sum tree, by ``u < a_tree`` (:func:`.ssa.tree_select`). Never a reaction of zero
    propensity (round-off past the end picks the last positive one)."""
    a_tv = (tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t)
            if has_tv else 0.0)
    a_cp = coupled_rate(hy, x, ws, st, cp_static, t)
    u = v * (a_tree + a_tv + a_cp)
    if u < a_tree or (a_tv <= 0.0 and a_cp <= 0.0):
        return -1, min(u, a_tree)
    u -= a_tree
    if u < a_tv or a_cp <= 0.0:
        return select_tv(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now,
                         t, u), 0.0
    u -= a_tv
    cp_rx = hy.cp_rx
    last = -1
    for q in range(len(cp_static)):
        if cp_static[q] > 0.0:
            a = _coupled(hy, x, ws, st, cp_static, q, t)
            if a > 0.0:
                last = cp_rx[q]
                if u < a:
                    return last, 0.0
                u -= a
    return last, 0.0


__all__ = ["N_ROWS", "N_SCALARS", "ODE_FAILURE", "cover", "coupled_rate", "fired", "jump",
           "next_event_time", "record", "refresh", "refresh_all", "restart", "resume",
           "select", "settle", "start", "value_at", "values_at"]
