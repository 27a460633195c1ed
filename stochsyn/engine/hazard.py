"""Time-dependent propensities: prescribed inputs and the integrated hazard.

A reaction of the ``VOLTAGE`` kind has propensity ``s_j · exp(V(t) / v_scale_j)`` and one of
the ``INPUT`` kind ``s_j · u(t)``, where ``s_j = c_j · Π C(x_s, ν_s)`` changes only at
events and the input (``V`` is an input in mV) is a prescribed waveform
``value + A·sin(ωt + φ) + step(t)``. Between events the total propensity is
``a0(t) = a_const + Σ_j s_j f_j(t)``, and the next event time τ solves

    ∫_t^τ a0(s) ds = E,    E ~ Exp(1)

(the time-change / integrated-hazard construction of an inhomogeneous Poisson process;
Gillespie 1991 "Markov Processes" §6; Anderson 2007 J Chem Phys 127:214107). The integral
is taken by 3-point Gauss–Legendre quadrature on steps that never cross a discontinuity of
an input (its step times) and are at most 1/64 of the shortest sine period in use (and a
quarter of a release pulse's time constant while one is active); the
crossing is located by a safeguarded Newton iteration on the same quadrature. For a
constant or piecewise-constant input the quadrature is exact, so the method is exact; for a
sine the relative error of one step is below (π/32)^6/2 ≈ 4e-7 of the step's hazard
(Gauss–Legendre error term), far below the sampling error of any ensemble. With every
``s_j = 0`` the caller uses the plain exact SSA.

Release pulses (cleft glutamate): an input with a release rule gets, at each released
vesicle, a pulse ``A · exp(-(t - t_s)/τ)``; pulses add, so the state is ``G`` (the summed
amplitude at ``t0``) and ``t0``. A pulse older than ``PULSE_LIFETIME_TAUS`` time constants
is dropped: what is left of its integral, ``e^-30 ≈ 1e-13`` of ``A·τ``, is far below any
other error, and it lets the plain SSA take over between spikes.
"""

from __future__ import annotations

import math

import numba

VOLTAGE = 1
INPUT = 2
CURRENT = 3
GHK = 4

#: Quadrature steps per period of the fastest sine input in use.
STEPS_PER_PERIOD = 64.0
#: Quadrature steps per time constant of an active release pulse.
STEPS_PER_PULSE_TAU = 4.0
#: Pulses older than this many time constants are dropped (see the module docstring).
PULSE_LIFETIME_TAUS = 30.0

_GL_X = math.sqrt(3.0 / 5.0)
_GL_W_OUTER = 5.0 / 9.0
_GL_W_MID = 8.0 / 9.0


@numba.njit(cache=True)
def _ghk(u):
    """The GHK influx shape u/(e^u − 1) for a negligible inside concentration: 1 at u = 0,
    ≈ |u| for u ≪ 0 (hyperpolarised: linear driving force), → 0 for u ≫ 0."""
    if abs(u) < 1e-8:
        return 1.0 - 0.5 * u
    return u / math.expm1(u)


@numba.njit(cache=True)
def drive_arrays(net):
    """The arrays of ``net`` that the functions here read, as one small tuple.

    Numba passes a tuple by value; the whole NetworkArrays (≈50 arrays) copied into every
    call of these small functions would dominate their cost."""
    return (net.rate_kind, net.rate_input, net.rate_vscale, net.in_value, net.in_sine_amp,
            net.in_sine_omega, net.in_sine_phase, net.in_step_ptr, net.in_step_time,
            net.in_step_value, net.in_pulse_tau)


@numba.njit(cache=True)
def _step_part(drive, i, t):
    """The step function of input ``i`` at ``t``: the value of the last step <= t."""
    in_step_ptr, in_step_time, in_step_value = drive[7], drive[8], drive[9]
    value = 0.0
    for k in range(in_step_ptr[i], in_step_ptr[i + 1]):
        if in_step_time[k] > t:
            break
        value = in_step_value[k]
    return value


@numba.njit(cache=True)
def set_bases(drive, used_inputs, t, base):
    """``base[i] = value_i + step_i(t)`` for the used inputs: the part of each input that
    is constant until the next step time. Returns the next step time after ``t`` (inf if
    none), where the bases must be set again."""
    in_step_ptr, in_step_time = drive[7], drive[8]
    t_break = math.inf
    for q in range(len(used_inputs)):
        i = used_inputs[q]
        base[i] = drive[3][i] + _step_part(drive, i, t)
        for k in range(in_step_ptr[i], in_step_ptr[i + 1]):
            if in_step_time[k] > t:
                t_break = min(t_break, in_step_time[k])
                break
    return t_break


@numba.njit(cache=True)
def tv_rate(drive, tv_list, tv_static, base, pulse_g, pulse_t0, t):
    """``Σ_j s_j f_j(t)`` over the time-dependent reactions (1/s), with the inputs' step
    parts taken from ``base`` (see :func:`set_bases`) and their release pulses from
    ``pulse_g``, ``pulse_t0``."""
    rate_kind, rate_input, rate_vscale = drive[0], drive[1], drive[2]
    in_sine_amp, in_sine_omega, in_sine_phase = drive[4], drive[5], drive[6]
    in_pulse_tau = drive[10]
    total = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            i = rate_input[j]
            u = base[i]
            if in_sine_amp[i] != 0.0:
                u += in_sine_amp[i] * math.sin(in_sine_omega[i] * t + in_sine_phase[i])
            if pulse_g[i] != 0.0:
                u += pulse_g[i] * math.exp(-(t - pulse_t0[i]) / in_pulse_tau[i])
            kind = rate_kind[j]
            if kind == VOLTAGE:
                u = math.exp(u / rate_vscale[j])
            elif kind == CURRENT:
                u = max(0.0, rate_vscale[j] - u)
            elif kind == GHK:
                u = _ghk(u / rate_vscale[j])
            total += s * u
    return total


@numba.njit(cache=True)
def _tv_integral(drive, tv_list, tv_static, base, pulse_g, pulse_t0, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b Σ_j s_j f_j(t) dt``."""
    half = 0.5 * (b - a)
    mid = a + half
    return half * (_GL_W_OUTER * (tv_rate(drive, tv_list, tv_static, base, pulse_g, pulse_t0,
                                          mid - half * _GL_X)
                                  + tv_rate(drive, tv_list, tv_static, base, pulse_g,
                                            pulse_t0, mid + half * _GL_X))
                   + _GL_W_MID * tv_rate(drive, tv_list, tv_static, base, pulse_g, pulse_t0,
                                         mid))


@numba.njit(cache=True)
def next_event_time(drive, tv_list, tv_static, used_inputs, base, pulse_g, pulse_t0, h_max,
                    a_const, t, e, t_limit):
    """The time τ > t at which ``∫_t^τ a0 = e``, or inf if that is after ``t_limit``.

    On return ``base`` holds the inputs' step parts valid at τ.

    Parameters
    ----------
    drive : tuple of arrays (:func:`drive_arrays`)
    tv_list : (n_tv,) int64 ndarray
        The time-dependent reactions.
    tv_static : (M,) float64 ndarray
        ``s_j`` of each time-dependent reaction (1/s per unit of its time factor).
    used_inputs : int64 ndarray
        Inputs read by time-dependent reactions (their step times end quadrature steps).
    base : (I,) float64 ndarray
        Work array for the inputs' piecewise-constant parts.
    pulse_g, pulse_t0 : (I,) float64 ndarrays
        Release-pulse state of each input (amplitude at ``t0``; 0 = none); a pulse that
        expires before τ is set to 0 here.
    h_max : float
        Longest quadrature step (s); inf when no sine is in use.
    a_const : float
        Sum of the time-independent propensities (1/s).
    t, e, t_limit : float
        Current time (s), the exponential draw, and the time to give up at (s).
    """
    hazard = 0.0
    a = t
    t_break = set_bases(drive, used_inputs, a, base)
    while a < t_limit:
        if a >= t_break:
            t_break = set_bases(drive, used_inputs, a, base)
        h = h_max
        t_pulse_end = math.inf
        for q in range(len(used_inputs)):
            i = used_inputs[q]
            if pulse_g[i] != 0.0:
                expiry = pulse_t0[i] + PULSE_LIFETIME_TAUS * drive[10][i]
                if expiry <= a:
                    pulse_g[i] = 0.0
                else:
                    t_pulse_end = min(t_pulse_end, expiry)
                    h = min(h, drive[10][i] / STEPS_PER_PULSE_TAU)
        b = min(a + h, t_limit, t_break, t_pulse_end)
        step = a_const * (b - a) + _tv_integral(drive, tv_list, tv_static, base, pulse_g,
                                                pulse_t0, a, b)
        if hazard + step >= e:
            # Newton on g(τ) = hazard + ∫_a^τ a0 - e, g' = a0(τ), kept inside [lo, hi].
            lo = a
            hi = b
            tau = a + (b - a) * (e - hazard) / step if step > 0.0 else b
            tol = 4e-16 * max(1.0, abs(tau))
            for _ in range(100):
                g = (hazard + a_const * (tau - a)
                     + _tv_integral(drive, tv_list, tv_static, base, pulse_g, pulse_t0, a,
                                    tau) - e)
                if g == 0.0:
                    break
                if g > 0.0:
                    hi = tau
                else:
                    lo = tau
                slope = a_const + tv_rate(drive, tv_list, tv_static, base, pulse_g, pulse_t0,
                                          tau)
                candidate = tau - g / slope if slope > 0.0 else 0.5 * (lo + hi)
                if abs(candidate - tau) <= tol:
                    tau = min(max(candidate, lo), hi)
                    break
                if not (candidate > lo and candidate < hi):
                    candidate = 0.5 * (lo + hi)
                tau = candidate
                if hi - lo <= tol:
                    break
            return tau
        hazard += step
        a = b
    return math.inf


@numba.njit(cache=True)
def select_tv(drive, tv_list, tv_static, base, pulse_g, pulse_t0, t, u):
    """The time-dependent reaction chosen by ``0 <= u < Σ_j s_j f_j(t)``; never one with
    zero propensity (round-off past the end picks the last positive one).

    The factor f_j is written out here and in :func:`tv_rate` rather than shared: as a
    separate function (even numba-inlined) it made the hazard integration 3-4× slower,
    from the array reference counting of its arguments."""
    rate_kind, rate_input, rate_vscale = drive[0], drive[1], drive[2]
    in_sine_amp, in_sine_omega, in_sine_phase = drive[4], drive[5], drive[6]
    in_pulse_tau = drive[10]
    last = -1
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            i = rate_input[j]
            f = base[i]
            if in_sine_amp[i] != 0.0:
                f += in_sine_amp[i] * math.sin(in_sine_omega[i] * t + in_sine_phase[i])
            if pulse_g[i] != 0.0:
                f += pulse_g[i] * math.exp(-(t - pulse_t0[i]) / in_pulse_tau[i])
            kind = rate_kind[j]
            if kind == VOLTAGE:
                f = math.exp(f / rate_vscale[j])
            elif kind == CURRENT:
                f = max(0.0, rate_vscale[j] - f)
            elif kind == GHK:
                f = _ghk(f / rate_vscale[j])
            a = s * f
            if a > 0.0:
                last = j
                if u < a:
                    return j
                u -= a
    return last


__all__ = ["PULSE_LIFETIME_TAUS", "STEPS_PER_PULSE_TAU", "drive_arrays", "next_event_time",
           "select_tv", "set_bases", "tv_rate", "STEPS_PER_PERIOD"]
