"""Time-dependent propensities: prescribed inputs, and exact event times by thinning.

A reaction of the ``VOLTAGE`` kind has propensity ``s_j · exp(V(t) / v_scale_j)``, one of
the ``INPUT`` kind ``s_j · u(t)``, ``CURRENT`` ``s_j · max(0, E_j − V(t))``, ``GHK``
``s_j · GHK(V(t))`` and ``BOLTZMANN`` ``s_j / (1 + exp((v_half_j − V(t))/v_scale_j))``
(voltage-gated channels' rates, monotone in V like the others), where ``s_j = c_j · Π C(x_s, ν_s)`` changes only at events and the
input (``V`` is an input in mV) is a prescribed waveform ``value + A·sin(ωt + φ) +
step(t) + pulses(t)``, or the spine-head voltage of :mod:`.membrane`, known in closed form
between events. Between events the total propensity is ``a0(t) = a_const + Σ_j s_j f_j(t)``.

Event times: thinning
---------------------
The events of that inhomogeneous process are drawn by thinning (Lewis & Shedler 1979;
Ogata 1981; the exact "extrande"-style bound-and-reject of stochastic simulation,
Voliotis et al. 2016): over an interval ``[a, b]`` every ``f_j`` is at most ``F_j`` (each
``f_j`` is monotone in its input, and the input's range over the interval is bounded
part by part, :func:`input_ranges`), so ``a0(t) <= λ = a_const + Σ_j s_j F_j``.
Candidates come as a Poisson process of rate λ; a candidate at τ is kept with
probability ``a0(τ)/λ`` (the loop is in :func:`.ssa.simulate_trajectory`; its pieces
are :func:`new_interval`, :func:`tv_rate_at` and :func:`bound_holds`). The kept
candidates are exactly the events of the process with rate ``a0(t)``: there is no
quadrature, no ODE step and no tolerance, whatever the inputs' shapes. (Before thinning
the engine matched ``∫ a0 = E`` by 3-point Gauss–Legendre quadrature and Newton's method
at every event, 30–100 times the cost of an event of the plain SSA while a release was
active; the hybrid mode's coupled reactions still do, in :mod:`.continuous`, because their
rates follow an ODE.)

The bound's interval (:func:`bound_interval_end`) only sets the cost: at most a sixteenth
of the fastest sine's period, half the time constant of the fastest active pulse, and two
membrane time constants while the membrane transient exceeds 0.5 mV; it ends at any step
of an input in use. The tree's reactions (``a_const``) cost nothing extra: a candidate
whose uniform falls below ``a_const`` is an event of the tree without evaluating any
time-dependent rate. Where the rates' inputs do not vary at all (a clamp between its
steps, rest), :mod:`.ssa` freezes them into the tree instead (:func:`freeze_factors`).

Pulses (cleft glutamate after a release, bAPs, cooperative depolarisation) are sums of
exponential or alpha-function components (:mod:`.membrane`); a component older than
``EXP_LIFETIME_TAUS`` (``ALPHA_LIFETIME_TAUS``) time constants is dropped: what is left
of its integral, ``< 1e-13`` of ``A·τ``, is far below any other error, and it lets the plain
SSA take over between spikes. The membrane transient ``R e^{-a(t - t_R)}`` (``τ_m = 1/a``
≈ 1 µs for a head behind a 100 MΩ neck) is dropped below ``1e-10 mV``
(:func:`_step_bound`, which also ends each bound interval where the next pulse expires:
after the last one, the interval is unbounded and the bound exact).

Quadrature step rules (:func:`quadrature_step_end`, for the hybrid mode's integrated
hazard in :mod:`.continuous`): steps never cross an input's step time, are at most 1/64 of
the shortest sine period in use, a quarter of an active pulse's time constant, and
``τ_m/4`` while the membrane transient exceeds 1 mV, then ``2 τ_m``.
"""

from __future__ import annotations

import math

import numba

from .jit import borrowing_njit
from .membrane import (ALPHA_LIFETIME_TAUS, EXP_LIFETIME_TAUS, lowpass_gain, pulse_sum,
                       voltage)

VOLTAGE = 1
INPUT = 2
CURRENT = 3
GHK = 4
BOLTZMANN = 5

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

#: Thinning: bound intervals of at most THIN_STEPS_PER_PERIOD⁻¹ of
#: the fastest sine's period, BOUND_PULSE_TAUS of the fastest active pulse's time constant,
#: and BOUND_TRANSIENT_TAUS membrane time constants while the membrane transient exceeds
#: BOUND_TRANSIENT_MV (see :func:`bound_interval_end`).
THIN_STEPS_PER_PERIOD = 16.0
BOUND_PULSE_TAUS = 0.5
BOUND_TRANSIENT_TAUS = 2.0
BOUND_TRANSIENT_MV = 0.5


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

    Numba passes a tuple by value, and counts references to each of its arrays in a
    function compiled with its runtime: the whole NetworkArrays (≈60 arrays) passed to
    every call of these small functions would dominate their cost (:mod:`.jit`)."""
    return (net.rate_kind, net.rate_input, net.rate_vscale, net.in_value, net.in_sine_amp,
            net.in_sine_omega, net.in_sine_phase, net.in_step_ptr, net.in_step_time,
            net.in_step_value, net.in_comp_ptr, net.comp_rate, net.comp_alpha, net.mem_io,
            net.mem_param, net.ch_idx, net.ch_g, net.ch_e, net.rate_vhalf)


@borrowing_njit()
def step_part(drive, i, t):
    """The step function of input ``i`` at ``t``: the value of the last step <= t."""
    in_step_ptr, in_step_time, in_step_value = drive[7], drive[8], drive[9]
    value = 0.0
    for k in range(in_step_ptr[i], in_step_ptr[i + 1]):
        if in_step_time[k] > t:
            break
        value = in_step_value[k]
    return value


@borrowing_njit()
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
        base[i] = drive[3][i] + step_part(drive, i, t)
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
def time_factor(kind, u, v_param, v_half):
    """The time factor f_j of a reaction of ``kind`` at input value ``u`` (``v_param`` and
    ``v_half``: the reaction's ``rate_vscale`` and ``rate_vhalf``)."""
    if kind == VOLTAGE:
        return math.exp(u / v_param)
    if kind == BOLTZMANN:
        # 1/(1 + e^x) without overflow: e^x is inf far on the falling side, giving 0
        return 1.0 / (1.0 + math.exp(min((v_half - u) / v_param, 700.0)))
    if kind == CURRENT:
        return max(0.0, v_param - u)
    if kind == GHK:
        return _ghk(u / v_param)
    return u


@numba.njit(cache=True, inline="always")
def same_law(drive, j, k):
    """Whether reactions ``j`` and ``k`` have the same time factor: the same kind, input,
    ``rate_vscale`` and ``rate_vhalf``. An agent rule expanded over the states of its
    other sites gives runs of such reactions in ``tv_list`` (a VGCC's gate opening with
    its inactivation site in either state): the loops below compute a run's factor once
    and reuse it, the same bits: on the spine example 15 factors instead of 28, 13
    exponentials instead of 22."""
    return (drive[0][j] == drive[0][k] and drive[1][j] == drive[1][k]
            and drive[2][j] == drive[2][k] and drive[18][j] == drive[18][k])


@numba.njit(cache=True, inline="always")
def tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t):
    """``Σ_j s_j f_j(t)`` over the time-dependent reactions (1/s), with the inputs' step
    parts taken from ``base`` (see :func:`set_bases`), their pulses from ``pulse`` and the
    membrane from ``mem``."""
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input = drive[0], drive[1]
    rate_vscale, rate_vhalf = drive[2], drive[18]
    total = 0.0
    done = -1       # the last reaction whose factor f was computed (:func:`same_law`)
    f = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            if done < 0 or not same_law(drive, j, done):
                f = time_factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j],
                                rate_vhalf[j])
                done = j
            total += s * f
    return total


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
def _live(pulse, c):
    """Whether pulse component ``c`` holds a pulse that has not been dropped."""
    return (pulse[0, c] != 0.0 or pulse[1, c] != 0.0) and pulse[3, c] == math.inf


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


@borrowing_njit()
def _step_bound(drive, used_inputs, pulse, mem, base, a, h, pulse_taus, transient_mv,
                fine_taus, coarse_taus):
    """The longest step from ``a``: at most ``h``, ``pulse_taus`` time constants of every
    active pulse (and no further than the time the next one expires), and ``fine_taus``
    membrane time constants while the transient exceeds ``transient_mv``, ``coarse_taus``
    below. Drops expired pulses and a negligible transient (below TRANSIENT_DROP_MV).

    The quadrature of :mod:`.continuous` uses (STEPS_PER_PULSE_TAU⁻¹, TRANSIENT_FINE_MV,
    TRANSIENT_FINE_STEP, TRANSIENT_COARSE_STEP); thinning's intervals
    (:func:`bound_interval_end`) longer ones."""
    comp_ptr = drive[10]
    t_end = math.inf
    for q in range(len(used_inputs) + 1):
        i = _pulsed_input(drive, used_inputs, q)
        if i < 0:
            continue
        for c in range(comp_ptr[i], comp_ptr[i + 1]):
            if _live(pulse, c):
                tau, expiry = _pulse_tau_expiry(drive, pulse, c)
                if expiry <= a:     # dropped from a on (.membrane: earlier times keep it)
                    pulse[3, c] = a
                else:
                    t_end = min(t_end, expiry)
                    h = min(h, pulse_taus * tau)
    if _transient_in_use(drive, used_inputs, mem, base):
        transient = abs(mem[3]) * math.exp(-mem[0] * (a - mem[4]))
        if transient < TRANSIENT_DROP_MV:
            mem[3] = 0.0
        elif transient > transient_mv:
            h = min(h, fine_taus / mem[0])
        else:
            h = min(h, coarse_taus / mem[0])
    return min(a + h, t_end)


@borrowing_njit()
def quadrature_step_end(drive, used_inputs, pulse, mem, base, a, h_max):
    """The end of the quadrature step from ``a`` (:mod:`.continuous`; module docstring)."""
    return _step_bound(drive, used_inputs, pulse, mem, base, a, h_max,
                       1.0 / STEPS_PER_PULSE_TAU, TRANSIENT_FINE_MV, TRANSIENT_FINE_STEP,
                       TRANSIENT_COARSE_STEP)


@borrowing_njit()
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
            if _live(pulse, c):
                t_quiet = max(t_quiet, _pulse_tau_expiry(drive, pulse, c)[1])
    if _transient_in_use(drive, used_inputs, mem, base):
        t_quiet = max(t_quiet, mem[4] + math.log(abs(mem[3]) / TRANSIENT_DROP_MV) / mem[0])
    return t_quiet


@borrowing_njit()
def freeze_factors(drive, tv_list, used_inputs, base, pulse, mem, u_now, t, tv_factor):
    """If nothing varies at ``t`` (see :func:`quiet_from`; expired pulses and a dropped
    transient are cleared here), put each time-dependent reaction's time factor
    ``f_j(t)`` in ``tv_factor[j]`` and return the next step time of an input in use, up to
    which the factors are constant. Returns ``-1`` (and leaves ``tv_factor``) if something
    still varies."""
    t_break = set_bases(drive, used_inputs, t, base)
    if quadrature_step_end(drive, used_inputs, pulse, mem, base, t, math.inf) < math.inf:
        return -1.0
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input = drive[0], drive[1]
    rate_vscale, rate_vhalf = drive[2], drive[18]
    for q in range(len(tv_list)):
        j = tv_list[q]
        if q > 0 and same_law(drive, j, tv_list[q - 1]):
            tv_factor[j] = tv_factor[tv_list[q - 1]]
        else:
            tv_factor[j] = time_factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j],
                                       rate_vhalf[j])
    return t_break


@numba.njit(cache=True, inline="always")
def _uses(used_inputs, i):
    for q in range(len(used_inputs)):
        if used_inputs[q] == i:
            return True
    return False


@numba.njit(cache=True, inline="always")
def _wave_range(c1, c2, k, sa, sb):
    """Range of ``e^{-k s} (c1 + c2 s)`` over ``s`` in ``[sa, sb]``: its ends, and its one
    extremum ``s* = 1/k - c1/c2`` if that lies inside (an alpha pulse's peak)."""
    ga = math.exp(-k * sa) * (c1 + c2 * sa)
    gb = math.exp(-k * sb) * (c1 + c2 * sb)
    lo = min(ga, gb)
    hi = max(ga, gb)
    if c2 != 0.0:
        s_star = 1.0 / k - c1 / c2
        if sa < s_star < sb:
            g = math.exp(-k * s_star) * (c1 + c2 * s_star)
            lo = min(lo, g)
            hi = max(hi, g)
    return lo, hi


@numba.njit(cache=True, inline="always")
def _sine_range(amplitude, theta_a, theta_b):
    """Range of ``amplitude · sin θ`` over ``θ`` in ``[theta_a, theta_b]``."""
    sa = math.sin(theta_a)
    sb = math.sin(theta_b)
    lo = min(sa, sb)
    hi = max(sa, sb)
    if math.pi / 2 + 2 * math.pi * math.ceil((theta_a - math.pi / 2) / (2 * math.pi)) <= theta_b:
        hi = 1.0
    if -math.pi / 2 + 2 * math.pi * math.ceil((theta_a + math.pi / 2) / (2 * math.pi)) <= theta_b:
        lo = -1.0
    if amplitude >= 0.0:
        return amplitude * lo, amplitude * hi
    return amplitude * hi, amplitude * lo


@borrowing_njit()
def input_ranges(drive, used_inputs, base, pulse, mem, a, b, u_lo, u_hi):
    """``[u_lo[i], u_hi[i]]`` contains input ``i`` over ``[a, b]`` for each used input (the
    membrane voltage for the membrane's voltage input), given ``base`` valid over it.

    Each part of an input (step part, sine, pulse components; for the membrane its rest,
    transient and low-passed dendrite, :mod:`.membrane`) is bounded on its own by its
    values at the ends and at its interior extremum; the sums bound the input. The range
    is widened by ``1e-10`` of the parts' magnitudes, far above round-off, so that the
    input as evaluated at any point inside lies in it."""
    in_sine_amp, in_sine_omega, in_sine_phase = drive[4], drive[5], drive[6]
    comp_ptr, comp_rate = drive[10], drive[11]
    mem_v, mem_d = drive[13][0], drive[13][1]
    for q in range(len(used_inputs)):
        i = used_inputs[q]
        if i == mem_v:
            clamp = base[mem_v]
            if clamp == clamp:
                u_lo[i] = clamp
                u_hi[i] = clamp
                continue
            lo = mem[2]
            hi = mem[2]
            scale = abs(mem[2])
            if mem[3] != 0.0:
                ra = mem[3] * math.exp(-mem[0] * (a - mem[4]))
                rb = mem[3] * math.exp(-mem[0] * (b - mem[4]))
                lo += min(ra, rb)
                hi += max(ra, rb)
                scale += abs(ra)
            w = mem[1]
            if w != 0.0:
                # P_d (.membrane.dendrite_particular), part by part; w > 0
                rate = mem[0]
                lo += w * base[mem_d]
                hi += w * base[mem_d]
                scale += abs(w * base[mem_d])
                amplitude = in_sine_amp[mem_d]
                if amplitude != 0.0:
                    omega = in_sine_omega[mem_d]
                    shift = in_sine_phase[mem_d] - math.atan2(omega, rate)
                    p_lo, p_hi = _sine_range(amplitude * rate / math.hypot(rate, omega),
                                             omega * a + shift, omega * b + shift)
                    lo += w * p_lo
                    hi += w * p_hi
                    scale += abs(w * amplitude)
                for c in range(comp_ptr[mem_d], comp_ptr[mem_d + 1]):
                    a_part = pulse[0, c]
                    b_part = pulse[1, c]
                    if (a_part != 0.0 or b_part != 0.0) and a < pulse[3, c]:
                        k = comp_rate[c]
                        alpha, diff = lowpass_gain(rate, k)
                        c_lo, c_hi = _wave_range(alpha * a_part - alpha / diff * b_part,
                                                 alpha * b_part, k, a - pulse[2, c],
                                                 b - pulse[2, c])
                        lo += w * c_lo
                        hi += w * c_hi
                        scale += w * max(abs(c_lo), abs(c_hi))
        else:
            lo = base[i]
            hi = base[i]
            scale = abs(base[i])
            amplitude = in_sine_amp[i]
            if amplitude != 0.0:
                omega = in_sine_omega[i]
                p_lo, p_hi = _sine_range(amplitude, omega * a + in_sine_phase[i],
                                         omega * b + in_sine_phase[i])
                lo += p_lo
                hi += p_hi
                scale += abs(amplitude)
            for c in range(comp_ptr[i], comp_ptr[i + 1]):
                a_part = pulse[0, c]
                b_part = pulse[1, c]
                if (a_part != 0.0 or b_part != 0.0) and a < pulse[3, c]:
                    c_lo, c_hi = _wave_range(a_part, b_part, comp_rate[c], a - pulse[2, c],
                                             b - pulse[2, c])
                    lo += c_lo
                    hi += c_hi
                    scale += max(abs(c_lo), abs(c_hi))
        margin = 1e-10 * scale + 1e-300
        u_lo[i] = lo - margin
        u_hi[i] = hi + margin


@borrowing_njit()
def bound_interval_end(drive, used_inputs, pulse, mem, base, a, h_sine):
    """The end of the interval from ``a`` over which :func:`tv_bound` bounds the rates.

    Any interval gives an exact method; its length only trades the bound's tightness
    (rejected candidates) against how often it is recomputed: at most ``h_sine`` (a
    sixteenth of the fastest sine's period), ``BOUND_PULSE_TAUS`` time constants of the
    fastest active pulse, and ``BOUND_TRANSIENT_TAUS`` membrane time constants while the
    transient exceeds ``BOUND_TRANSIENT_MV``. It ends where the next pulse expires, and
    expired pulses and a negligible transient are dropped (as for the quadrature), so that
    once nothing varies the interval is unbounded and the rates' bound is exact."""
    return _step_bound(drive, used_inputs, pulse, mem, base, a, h_sine, BOUND_PULSE_TAUS,
                       BOUND_TRANSIENT_MV, BOUND_TRANSIENT_TAUS, math.inf)


@borrowing_njit()
def tv_bound(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_lo, u_hi, a, b,
             tv_fmax):
    """An upper bound (1/s) of ``Σ_j s_j f_j(t)`` over ``[a, b]``; ``tv_fmax[j]`` is set to
    the bound of ``f_j`` there (every ``f_j`` is monotone in its input, so its bound is
    the larger of its values at the ends of the input's range, :func:`input_ranges`),
    raised by ``1e-9`` of itself against round-off."""
    input_ranges(drive, used_inputs, base, pulse, mem, a, b, u_lo, u_hi)
    rate_kind, rate_input = drive[0], drive[1]
    rate_vscale, rate_vhalf = drive[2], drive[18]
    total = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        if q > 0 and same_law(drive, j, tv_list[q - 1]):
            tv_fmax[j] = tv_fmax[tv_list[q - 1]]
        else:
            i = rate_input[j]
            f = max(time_factor(rate_kind[j], u_lo[i], rate_vscale[j], rate_vhalf[j]),
                    time_factor(rate_kind[j], u_hi[i], rate_vscale[j], rate_vhalf[j]))
            tv_fmax[j] = max(f, 0.0) * (1.0 + 1e-9)
        total += tv_static[j] * tv_fmax[j]
    return total


@borrowing_njit()
def new_interval(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_lo, u_hi, h_sine,
                 tv_fmax, bound, t):
    """Start a bound interval at ``t``: ``bound[0]`` = its end (:func:`bound_interval_end`,
    and the next step time of an input in use, from :func:`set_bases`, which also sets
    ``base`` for it), ``bound[1]`` = the bound of ``Σ_j s_j f_j`` over it and ``tv_fmax``
    its factors (:func:`tv_bound`)."""
    t_break = set_bases(drive, used_inputs, t, base)
    end = min(bound_interval_end(drive, used_inputs, pulse, mem, base, t, h_sine), t_break)
    bound[1] = tv_bound(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_lo, u_hi,
                        t, end, tv_fmax)
    bound[0] = end


@borrowing_njit()
def tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t):
    """:func:`tv_rate`, called rather than inlined: the thinning loop of :mod:`.ssa` needs
    it only for candidates above the tree's rates."""
    return tv_rate(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t)


@borrowing_njit()
def bound_holds(tv_list, tv_static, tv_fmax, bound, rate):
    """Whether ``rate`` (the time-dependent rates at a candidate) is within the bound once
    ``bound[1]`` is recomputed as ``Σ_j s_j tv_fmax[j]`` (the thinning loop keeps it by
    increments, whose round-off this removes). False means the bound was wrong: a bug,
    which the kernel reports as HAZARD_BOUND rather than use."""
    total = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        total += tv_static[j] * tv_fmax[j]
    bound[1] = total
    return rate <= total


@borrowing_njit()
def select_tv(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t, u):
    """The time-dependent reaction chosen by ``0 <= u < Σ_j s_j f_j(t)``; never one with
    zero propensity (round-off past the end picks the last positive one)."""
    input_values(drive, used_inputs, base, pulse, mem, t, u_now)
    rate_kind, rate_input = drive[0], drive[1]
    rate_vscale, rate_vhalf = drive[2], drive[18]
    last = -1
    done = -1       # as in :func:`tv_rate`
    f = 0.0
    for q in range(len(tv_list)):
        j = tv_list[q]
        s = tv_static[j]
        if s > 0.0:
            if done < 0 or not same_law(drive, j, done):
                f = time_factor(rate_kind[j], u_now[rate_input[j]], rate_vscale[j],
                                rate_vhalf[j])
                done = j
            a = s * f
            if a > 0.0:
                last = j
                if u < a:
                    return j
                u -= a
    return last


__all__ = ["STEPS_PER_PERIOD", "STEPS_PER_PULSE_TAU", "THIN_STEPS_PER_PERIOD", "bound_holds",
           "drive_arrays", "freeze_factors", "input_ranges", "input_values", "new_interval",
           "quiet_from", "same_law", "select_tv", "set_bases", "step_part", "time_factor", "tv_bound",
           "tv_rate", "tv_rate_at"]
