"""Pulses on inputs and the spine-head membrane equation, in closed form between events.

Pulses
------
An input's pulse component ``c`` (decay rate ``k = 1/τ``) holds ``(A, B, t0, t_drop)`` and
adds ``exp(-k (t - t0)) · (A + (t - t0) B)`` to the input at times ``t < t_drop``: ``B = 0`` for exponential pulses
(a pulse of amplitude ``a`` adds ``a`` to ``A``), and ``B`` for alpha functions (a pulse of
peak ``a`` at ``τ`` adds ``a·e·k`` to ``B``). Re-anchoring the sum at a later ``t1``
(``s1 = t1 - t0``) gives ``A' = (A + s1 B) e^{-k s1}``, ``B' = B e^{-k s1}``, so any number of
overlapping pulses costs three numbers per component. ``t_drop`` is ``inf`` while the
component lives; once it has expired (:data:`EXP_LIFETIME_TAUS`) the engine looks past it
from the time ``t_drop`` it noticed that on (:func:`.hazard._step_bound`), which may be
ahead of samples and of the hybrid mode's ODE not yet done (both are computed lazily):
they still see the component before ``t_drop``. Every rate is evaluated at or after it.

Membrane
--------
``C dV/dt = -G (V - E(t))`` with ``G = g_L + g_N + Σ g_c n_c`` and
``G E(t) = g_L E_L + g_N V_d(t) + Σ g_c n_c E_c`` is linear in V, and between events the
open-channel counts ``n_c`` are constant. With ``a = G/C``, ``w = g_N/G`` and
``E0 = (g_L E_L + Σ g_c n_c E_c)/G`` the solution is

    V(t) = E0 + w P_d(t) + R exp(-a (t - t_R)),

where ``P_d`` is the particular solution of ``y' = a (V_d - y)`` for the dendrite's
waveform, known in closed form for each of its parts: a constant or step part passes
unchanged; a sine ``A sin θ`` gives ``A a (a sin θ - ω cos θ)/(a² + ω²)``; a pulse
component ``e^{-ks}(A + sB)`` gives ``e^{-ks}(α(A + sB) + βB)`` with ``α = a/(a - k)``,
``β = -a/(a - k)²``. At every event that changes a conductance, and whenever the dendrite's
waveform changes form (a step, a new pulse, a clamp released), V is continuous: the new
``R`` is the voltage just before minus the new particular solution (:func:`anchor`).
The solution is exact (no ODE step), and so are the events of the voltage-dependent
rates along it (thinning, :mod:`.hazard`; the hybrid mode's coupled reactions integrate
their hazard by quadrature, :mod:`.continuous`).

While the voltage input's step part (its clamp) is finite, V is clamped to it; NaN
releases the clamp.

If ``|a - k| < 1e-9 a`` (a pulse as fast as the membrane, never the case for a spine
head coupled to a dendrite, τ_m ≈ 1 µs) the difference is taken as ``1e-9 a``.
"""

from __future__ import annotations

import math

import numba

from .jit import borrowing_njit

#: Pulse components older than this many time constants are dropped (exponential and
#: alpha shapes): what is left is below 1e-13 and 3e-14 of the pulse amplitude.
EXP_LIFETIME_TAUS = 30.0
ALPHA_LIFETIME_TAUS = 36.0


@numba.njit(cache=True, inline="always")
def pulse_sum(drive, pulse, i, t):
    """The summed pulse components of input ``i`` at ``t`` (input unit)."""
    comp_ptr, comp_rate = drive[10], drive[11]
    total = 0.0
    for c in range(comp_ptr[i], comp_ptr[i + 1]):
        a_part = pulse[0, c]
        b_part = pulse[1, c]
        if (a_part != 0.0 or b_part != 0.0) and t < pulse[3, c]:
            s = t - pulse[2, c]
            total += math.exp(-comp_rate[c] * s) * (a_part + s * b_part)
    return total


@borrowing_njit()
def pulse_add(drive, pulse, c, t, amplitude):
    """Re-anchor component ``c`` at ``t`` and add one pulse of ``amplitude`` (the peak); a
    dropped component starts from nothing."""
    if pulse[3, c] < math.inf:
        pulse[0, c] = 0.0
        pulse[1, c] = 0.0
        pulse[3, c] = math.inf
    k = drive[11][c]
    s = t - pulse[2, c]
    decay = math.exp(-k * s)
    pulse[0, c] = (pulse[0, c] + s * pulse[1, c]) * decay
    pulse[1, c] = pulse[1, c] * decay
    pulse[2, c] = t
    if drive[12][c]:
        pulse[1, c] += amplitude * math.e * k
    else:
        pulse[0, c] += amplitude


@numba.njit(cache=True, inline="always")
def lowpass_gain(a, k):
    """``(α, a - k)`` with ``α = a/(a - k)``: the gain of the membrane (rate ``a``) on a pulse
    component of rate ``k`` (module docstring; ``a - k`` kept at least ``1e-9 a``)."""
    diff = a - k
    if abs(diff) < 1e-9 * a:
        diff = 1e-9 * a
    return a / diff, diff


@numba.njit(cache=True, inline="always")
def dendrite_particular(drive, mem, pulse, base, t):
    """``P_d(t)``: the dendritic voltage low-pass filtered at the membrane's rate (mV)."""
    d = drive[13][1]
    a = mem[0]
    p = base[d]
    amplitude = drive[4][d]
    if amplitude != 0.0:
        omega = drive[5][d]
        theta = omega * t + drive[6][d]
        p += amplitude * a * (a * math.sin(theta) - omega * math.cos(theta)) / (a * a
                                                                               + omega * omega)
    comp_ptr, comp_rate = drive[10], drive[11]
    for c in range(comp_ptr[d], comp_ptr[d + 1]):
        a_part = pulse[0, c]
        b_part = pulse[1, c]
        if (a_part != 0.0 or b_part != 0.0) and t < pulse[3, c]:
            k = comp_rate[c]
            alpha, diff = lowpass_gain(a, k)
            s = t - pulse[2, c]
            p += math.exp(-k * s) * (alpha * (a_part + s * b_part) - alpha / diff * b_part)
    return p


@numba.njit(cache=True, inline="always")
def voltage(drive, mem, pulse, base, t):
    """The spine-head voltage at ``t`` (mV): the clamp if one holds, else the closed-form
    solution."""
    clamp = base[drive[13][0]]
    if clamp == clamp:
        return clamp
    v = mem[2]
    if mem[3] != 0.0:
        v += mem[3] * math.exp(-mem[0] * (t - mem[4]))
    if mem[1] != 0.0:
        v += mem[1] * dendrite_particular(drive, mem, pulse, base, t)
    return v


@numba.njit(cache=True, inline="always")
def steady_voltage(drive, mem, pulse, base, t):
    """The spine-head voltage at ``t`` without the membrane's transient (mV): the clamp if
    one holds, else ``E0 + w P_d(t)``, the voltage the head follows once the transient
    ``R exp(-a (t - t_R))`` (τ_m = 1/a ≈ 1 µs for a head behind a 100 MΩ neck) has died
    out. The hybrid mode's fluxes read it (:mod:`.continuous`)."""
    clamp = base[drive[13][0]]
    if clamp == clamp:
        return clamp
    v = mem[2]
    if mem[1] != 0.0:
        v += mem[1] * dendrite_particular(drive, mem, pulse, base, t)
    return v


@borrowing_njit()
def anchor(drive, mem, pulse, base, x, t, v_now):
    """Set the membrane's rate, weights and resting part from the counts ``x``, and the
    transient so that ``V(t) = v_now`` (V is continuous)."""
    params, ch_idx, ch_g, ch_e = drive[14], drive[15], drive[16], drive[17]
    g = params[1] + params[3]
    numerator = params[1] * params[2]
    for q in range(len(ch_idx)):
        n = x[ch_idx[q]]
        if n != 0:
            gq = ch_g[q] * n
            g += gq
            numerator += gq * ch_e[q]
    mem[0] = g / params[0]
    mem[1] = params[3] / g
    mem[2] = numerator / g
    p = mem[2]
    if mem[1] != 0.0:
        p += mem[1] * dendrite_particular(drive, mem, pulse, base, t)
    mem[3] = v_now - p
    mem[4] = t


@borrowing_njit()
def set_bases(drive, base, t):
    """The step parts of the membrane's inputs at ``t``: the clamp (absolute, NaN = free,
    NaN before the first step) and the dendrite's steps (added to its value). Returns the
    next step time of either after ``t`` (inf if none)."""
    in_value, step_ptr, step_time, step_value = drive[3], drive[7], drive[8], drive[9]
    t_next = math.inf
    for which in range(2):
        i = drive[13][which]
        if i < 0:
            continue
        value = math.nan if which == 0 else in_value[i]
        for k in range(step_ptr[i], step_ptr[i + 1]):
            if step_time[k] > t:
                t_next = min(t_next, step_time[k])
                break
            value = step_value[k] if which == 0 else in_value[i] + step_value[k]
        base[i] = value
    return t_next


__all__ = ["ALPHA_LIFETIME_TAUS", "EXP_LIFETIME_TAUS", "anchor", "dendrite_particular",
           "lowpass_gain", "pulse_add", "pulse_sum", "set_bases", "steady_voltage", "voltage"]
