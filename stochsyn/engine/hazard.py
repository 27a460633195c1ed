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
crossing is located by a safeguarded Newton iteration on the same quadrature. Where nothing
varies (no sine in use, no active pulse, no membrane transient: e.g. a clamp between its
steps) the rate is constant up to the next step time, and the crossing is computed directly. For a
constant or piecewise-constant input the quadrature is exact, so the method is exact; for a
sine the relative error of one step is below (π/32)^6/2 ≈ 4e-7 of the step's hazard
(Gauss–Legendre error term), far below the sampling error of any ensemble. With every
``s_j = 0`` the caller uses the plain exact SSA.

Pulses (cleft glutamate after a release, bAPs, cooperative depolarisation) are sums of
exponential or alpha-function components (:mod:`.membrane`). While one is active on an input
in use, quadrature steps are at most a quarter of its time constant; a component older
than ``EXP_LIFETIME_TAUS`` (``ALPHA_LIFETIME_TAUS``) time constants is dropped: what is left
of its integral, ``< 1e-13`` of ``A·τ``, is far below any other error, and it lets the plain
SSA take over between spikes.

The spine-head voltage of a model with a ``[membrane]`` is the closed-form solution of
:mod:`.membrane`, ``V(t) = E0 + w P_d(t) + R e^{-a(t - t_R)}``. Its transient relaxes with
the membrane time constant ``τ_m = 1/a`` (≈ 1 µs for a head behind a 100 MΩ neck). While
``|R e^{-a s}| > 1 mV`` steps are at most ``τ_m/4``, then at most ``2 τ_m``; the transient is
dropped below ``1e-10 mV``. The Gauss–Legendre error of a step ``h`` on ``e^{-s/τ_m}`` is
``≈ 5e-7 (h/τ_m)^7`` of ``τ_m`` times the amplitude, so for a transient below 1 mV and
``v_scale >= 10 mV`` a ``2 τ_m`` step errs by ``< 1e-5 τ_m λ`` in the hazard — with
``τ_m λ ≪ 1`` far below the sampling error.
"""

from __future__ import annotations

import math

import numba

from .membrane import ALPHA_LIFETIME_TAUS, EXP_LIFETIME_TAUS, pulse_sum, voltage

VOLTAGE = 1
INPUT = 2
CURRENT = 3
GHK = 4

#: Quadrature steps per period of the fastest sine input in use.
STEPS_PER_PERIOD = 64.0
#: Quadrature steps per time constant of an active pulse component.
STEPS_PER_PULSE_TAU = 4.0
#: Membrane transient: steps of TRANSIENT_FINE_STEP·τ_m while it exceeds TRANSIENT_FINE_MV,
#: then TRANSIENT_COARSE_STEP·τ_m; dropped below TRANSIENT_DROP_MV (module docstring).
TRANSIENT_FINE_MV = 1.0
TRANSIENT_FINE_STEP = 0.25
TRANSIENT_COARSE_STEP = 2.0
TRANSIENT_DROP_MV = 1e-10

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

    Numba passes a tuple by value; the whole NetworkArrays (≈60 arrays) copied into every
    call of these small functions would dominate their cost."""
    return (net.rate_kind, net.rate_input, net.rate_vscale, net.in_value, net.in_sine_amp,
            net.in_sine_omega, net.in_sine_phase, net.in_step_ptr, net.in_step_time,
            net.in_step_value, net.in_comp_ptr, net.comp_rate, net.comp_alpha, net.mem_io,
            net.mem_param, net.ch_idx, net.ch_g, net.ch_e)


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
    none), where the bases must be set again. The membrane's inputs are skipped: their
    steps are stops of the main loop (:func:`.membrane.set_bases`)."""
    in_step_ptr, in_step_time = drive[7], drive[8]
    mem_io = drive[13]
    t_break = math.inf
    for q in range(len(used_inputs)):
        i = used_inputs[q]
        if i == mem_io[0] or i == mem_io[1]:
            continue
        base[i] = drive[3][i] + _step_part(drive, i, t)
        for k in range(in_step_ptr[i], in_step_ptr[i + 1]):
            if in_step_time[k] > t:
                t_break = min(t_break, in_step_time[k])
                break
    return t_break


@numba.njit(cache=True, inline="always")
def input_values(drive, used_inputs, base, pulse, mem, t, u_now):
    """``u_now[i]`` = input ``i`` at ``t`` for the used inputs (the membrane voltage for
    the membrane's voltage input)."""
    in_sine_amp, in_sine_omega, in_sine_phase, comp_ptr = drive[4], drive[5], drive[6], drive[10]
    mem_v = drive[13][0]
    for q in range(len(used_inputs)):
        i = used_inputs[q]
        if i == mem_v:
            u_now[i] = voltage(drive, mem, pulse, base, t)
            continue
        u = base[i]
        if in_sine_amp[i] != 0.0:
            u += in_sine_amp[i] * math.sin(in_sine_omega[i] * t + in_sine_phase[i])
        if comp_ptr[i + 1] > comp_ptr[i]:
            u += pulse_sum(drive, pulse, i, t)
        u_now[i] = u


@numba.njit(cache=True, inline="always")
def _factor(kind, u, v_param):
    """The time factor f_j of a reaction of ``kind`` at input value ``u``."""
    if kind == VOLTAGE:
        return math.exp(u / v_param)
    if kind == CURRENT:
        return max(0.0, v_param - u)
    if kind == GHK:
        return _ghk(u / v_param)
    return u


@numba.njit(cache=True, inline="always")
def tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t):
    """``Σ_j s_j f_j(t)`` over the time-dependent reactions (1/s), with the inputs' step
    parts taken from ``base`` (see :func:`set_bases`), their pulses from ``pulse`` and the
    membrane from ``mem``."""
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input, rate_vscale = drive[0], drive[1], drive[2]
    total = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            total += s * _factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j])
    return total


@numba.njit(cache=True, inline="always")
def _tv_integral(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, a, b):
    """Gauss–Legendre (3 points) estimate of ``∫_a^b Σ_j s_j f_j(t) dt``."""
    half = 0.5 * (b - a)
    mid = a + half
    return half * (_GL_W_OUTER * (tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse,
                                          mem, u_now, mid - half * _GL_X)
                                  + tv_rate(drive, tv_list, tv_static, used_inputs, base,
                                            pulse, mem, u_now, mid + half * _GL_X))
                   + _GL_W_MID * tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse,
                                         mem, u_now, mid))


@numba.njit(cache=True, inline="always")
def _pulsed_input(drive, used_inputs, q):
    """For ``q < len(used_inputs)`` the ``q``-th input in use, for ``q = len(used_inputs)``
    the dendrite when only the membrane voltage reads it: an input whose pulses the
    time-dependent rates feel; -1 for none (the voltage input itself, whose pulses reach
    the rates through the membrane)."""
    mem_v, mem_d = drive[13][0], drive[13][1]
    if q < len(used_inputs):
        i = used_inputs[q]
        return -1 if i == mem_v else i
    if mem_d < 0 or not _uses(used_inputs, mem_v) or _uses(used_inputs, mem_d):
        return -1
    return mem_d


@numba.njit(cache=True, inline="always")
def _pulse_tau_expiry(drive, pulse, c):
    """Time constant (s) of pulse component ``c`` and the time it is dropped at."""
    tau = 1.0 / drive[11][c]
    return tau, pulse[2, c] + (ALPHA_LIFETIME_TAUS if drive[12][c] else EXP_LIFETIME_TAUS) * tau


@numba.njit(cache=True, inline="always")
def _transient_in_use(drive, used_inputs, mem, base):
    """Whether the membrane has a transient that the rates read (voltage in use, no clamp)."""
    mem_v = drive[13][0]
    return (mem_v >= 0 and mem[3] != 0.0 and _uses(used_inputs, mem_v)
            and base[mem_v] != base[mem_v])


@numba.njit(cache=True)
def _step_bound(drive, used_inputs, pulse, mem, base, a, h):
    """The longest quadrature step from ``a`` allowed by the active pulses and the membrane
    transient (and the time the next pulse expires); drops expired pulses and a negligible
    transient."""
    comp_ptr = drive[10]
    t_end = math.inf
    for q in range(len(used_inputs) + 1):
        i = _pulsed_input(drive, used_inputs, q)
        if i < 0:
            continue
        for c in range(comp_ptr[i], comp_ptr[i + 1]):
            if pulse[0, c] != 0.0 or pulse[1, c] != 0.0:
                tau, expiry = _pulse_tau_expiry(drive, pulse, c)
                if expiry <= a:
                    pulse[0, c] = 0.0
                    pulse[1, c] = 0.0
                else:
                    t_end = min(t_end, expiry)
                    h = min(h, tau / STEPS_PER_PULSE_TAU)
    if _transient_in_use(drive, used_inputs, mem, base):
        transient = abs(mem[3]) * math.exp(-mem[0] * (a - mem[4]))
        if transient < TRANSIENT_DROP_MV:
            mem[3] = 0.0
        elif transient > TRANSIENT_FINE_MV:
            h = min(h, TRANSIENT_FINE_STEP / mem[0])
        else:
            h = min(h, TRANSIENT_COARSE_STEP / mem[0])
    return min(a + h, t_end)


@numba.njit(cache=True)
def quiet_from(drive, used_inputs, pulse, mem, base, h_max):
    """The time from which nothing that the time-dependent rates read varies between step
    times: every active pulse on an input in use expired and the membrane transient
    dropped (the criteria of :func:`_step_bound`). ``inf`` while a sine is in use
    (``h_max < inf``); ``-inf`` if nothing varies now."""
    if h_max < math.inf:
        return math.inf
    comp_ptr = drive[10]
    t_quiet = -math.inf
    for q in range(len(used_inputs) + 1):
        i = _pulsed_input(drive, used_inputs, q)
        if i < 0:
            continue
        for c in range(comp_ptr[i], comp_ptr[i + 1]):
            if pulse[0, c] != 0.0 or pulse[1, c] != 0.0:
                t_quiet = max(t_quiet, _pulse_tau_expiry(drive, pulse, c)[1])
    if _transient_in_use(drive, used_inputs, mem, base):
        t_quiet = max(t_quiet, mem[4] + math.log(abs(mem[3]) / TRANSIENT_DROP_MV) / mem[0])
    return t_quiet


@numba.njit(cache=True)
def freeze_factors(drive, tv_list, used_inputs, base, pulse, mem, u_now, t, tv_factor):
    """If nothing varies at ``t`` (see :func:`quiet_from`; expired pulses and a dropped
    transient are cleared here), put each time-dependent reaction's time factor
    ``f_j(t)`` in ``tv_factor[j]`` and return the next step time of an input in use, up to
    which the factors are constant. Returns ``-1`` (and leaves ``tv_factor``) if something
    still varies."""
    t_break = set_bases(drive, used_inputs, t, base)
    if _step_bound(drive, used_inputs, pulse, mem, base, t, math.inf) < math.inf:
        return -1.0
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input, rate_vscale = drive[0], drive[1], drive[2]
    for q in range(len(tv_list)):
        j = tv_list[q]
        tv_factor[j] = _factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j])
    return t_break


@numba.njit(cache=True, inline="always")
def _uses(used_inputs, i):
    for q in range(len(used_inputs)):
        if used_inputs[q] == i:
            return True
    return False


@numba.njit(cache=True)
def next_event_time(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, h_max,
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
    pulse : (3, C) float64 ndarray
        Pulse components ``(A, B, t0)`` (:mod:`.membrane`); one that expires before τ is
        set to 0 here.
    mem : (5,) float64 ndarray
        Membrane state (:mod:`.membrane`); a transient that becomes negligible is set to 0.
    u_now : (I,) float64 ndarray
        Work array for the inputs' values.
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
        bound = _step_bound(drive, used_inputs, pulse, mem, base, a, h_max)
        b = min(bound, t_limit, t_break)
        if bound == math.inf:
            # Nothing varies until b (no sine, pulse or membrane transient): the rate is
            # constant, and the crossing is where a straight line meets e (exact).
            rate = a_const + tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse, mem,
                                     u_now, a)
            if rate > 0.0 and hazard + rate * (b - a) >= e:
                return a + (e - hazard) / rate
            hazard += rate * (b - a)
            a = b
            continue
        step = a_const * (b - a) + _tv_integral(drive, tv_list, tv_static, used_inputs, base,
                                                pulse, mem, u_now, a, b)
        if hazard + step >= e:
            # Newton on g(τ) = hazard + ∫_a^τ a0 - e, g' = a0(τ), kept inside [lo, hi].
            lo = a
            hi = b
            tau = a + (b - a) * (e - hazard) / step if step > 0.0 else b
            tol = 4e-16 * max(1.0, abs(tau))
            for _ in range(100):
                g = (hazard + a_const * (tau - a)
                     + _tv_integral(drive, tv_list, tv_static, used_inputs, base, pulse, mem,
                                    u_now, a, tau) - e)
                if g == 0.0:
                    break
                if g > 0.0:
                    hi = tau
                else:
                    lo = tau
                slope = a_const + tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse,
                                          mem, u_now, tau)
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
def select_tv(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t, u):
    """The time-dependent reaction chosen by ``0 <= u < Σ_j s_j f_j(t)``; never one with
    zero propensity (round-off past the end picks the last positive one)."""
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input, rate_vscale = drive[0], drive[1], drive[2]
    last = -1
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            a = s * _factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j])
            if a > 0.0:
                last = j
                if u < a:
                    return j
                u -= a
    return last


__all__ = ["STEPS_PER_PERIOD", "STEPS_PER_PULSE_TAU", "drive_arrays", "freeze_factors",
           "input_values", "next_event_time", "quiet_from", "select_tv", "set_bases", "tv_rate"]
