"""Time-dependent propensities (inputs and voltage-dependent rates) against exact results.

The engine integrates the hazard of time-dependent reactions (stochsyn.engine.hazard). Two
processes with known laws check it, with the DSMTS criterion (|Z| < 3, |Y| < 5 at every
grid time but at most one of each; Evans, Gillespie & Wilkinson 2008):

* an inhomogeneous Poisson process with λ(t) = a + b·sin(ωt) + step(t): N(t) is Poisson
  with mean and variance Λ(t) = ∫_0^t λ;
* N independent two-state channels C ⇌ O under a sinusoidal voltage clamp with a step,
  with a voltage-dependent opening rate k0·exp(V/v_scale) and a constant closing rate:
  the number open is Binomial(N, p(t)), p solving dp/dt = α(t)(1 − p) − β p, integrated
  here with scipy (rtol 1e-11).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import stochsyn as ss

SEED = 20261122
N_TRAJ = 10_000


def y_scores(samples, mean, variance):
    """DSMTS Y-scores √(n/2)·(s²/σ² − 1) at each grid time (s² about the true mean)."""
    n = samples.shape[0]
    s2 = ((samples - mean) ** 2).mean(axis=0)
    return math.sqrt(n / 2) * (s2 / variance - 1)


def dsmts_verdict(samples, mean, variance):
    """(max |Z|, max |Y|, passes) of the DSMTS test at each grid time with variance > 0."""
    n = samples.shape[0]
    keep = variance > 0
    z = math.sqrt(n) * (samples.mean(axis=0)[keep] - mean[keep]) / np.sqrt(variance[keep])
    y = y_scores(samples[:, keep], mean[keep], variance[keep])
    passes = (np.sum(np.abs(z) >= 3) <= 1 and np.sum(np.abs(y) >= 5) <= 1
              and np.all(np.abs(z) < 5) and np.all(np.abs(y) < 10))
    return float(np.max(np.abs(z))), float(np.max(np.abs(y))), passes


A, B, F_HZ, STEP_AT, STEP = 5.0, 3.0, 0.5, 4.25, 4.0

POISSON = {
    "model": {"name": "inhomogeneous_poisson"},
    "inputs": {"drive": {"value": A, "sine": {"amplitude": B, "frequency": f"{F_HZ} Hz"},
                         "steps": [{"time": f"{STEP_AT} s", "value": STEP}]}},
    "species": {"X": 0},
    "reactions": [{"name": "arrive", "equation": "-> X",
                   "rate": {"kind": "input", "input": "drive", "k": "1 /s"}}],
}


def poisson_mean(t):
    w = 2 * math.pi * F_HZ
    return A * t + B * (1 - np.cos(w * t)) / w + STEP * np.maximum(t - STEP_AT, 0.0)


def test_inhomogeneous_poisson_counts_are_poisson_of_the_integrated_rate():
    ens = ss.simulate(ss.Model.from_dict(POISSON), 10.0, N_TRAJ, seed=SEED,
                      sample_every=0.5)
    mu = poisson_mean(ens.times)
    z, y, passes = dsmts_verdict(ens.values("X"), mu, mu)
    assert passes, (z, y)


def test_a_rate_10_percent_off_is_rejected():
    """Negative control: the same test against Λ·1.1 must fail."""
    ens = ss.simulate(ss.Model.from_dict(POISSON), 10.0, N_TRAJ, seed=SEED + 1,
                      sample_every=0.5)
    mu = 1.1 * poisson_mean(ens.times)
    assert not dsmts_verdict(ens.values("X"), mu, mu)[2]


N_CHANNELS, K0, V_SCALE, BETA = 20, 40.0, 25.0, 60.0
V_MEAN, V_AMP, V_HZ, V_STEP_AT, V_STEP = -40.0, 30.0, 2.0, 0.6, 20.0

CHANNEL = {
    "model": {"name": "two_state_channel"},
    "inputs": {"V": {"unit": "mV", "value": f"{V_MEAN} mV",
                     "sine": {"amplitude": f"{V_AMP} mV", "frequency": f"{V_HZ} Hz"},
                     "steps": [{"time": f"{V_STEP_AT} s", "value": f"{V_STEP} mV"}]}},
    "species": {"C": N_CHANNELS, "O": 0},
    "reactions": [
        {"name": "open", "equation": "C -> O",
         "rate": {"kind": "voltage", "k0": f"{K0} /s", "v_scale": f"{V_SCALE} mV"}},
        {"name": "close", "equation": "O -> C", "rate": f"{BETA} /s"},
    ],
}


def open_probability(times):
    from scipy.integrate import solve_ivp

    def voltage(t):
        return (V_MEAN + V_AMP * math.sin(2 * math.pi * V_HZ * t)
                + (V_STEP if t >= V_STEP_AT else 0.0))

    def rhs(t, p):
        alpha = K0 * math.exp(voltage(t) / V_SCALE)
        return [alpha * (1 - p[0]) - BETA * p[0]]

    p = np.empty(len(times))
    p[0] = 0.0
    for k in range(1, len(times)):   # restart at each grid time: the step is on the grid
        sol = solve_ivp(rhs, (times[k - 1], times[k]), [p[k - 1]], rtol=1e-11, atol=1e-13,
                        method="DOP853")
        p[k] = sol.y[0, -1]
    return p


def test_channels_under_sinusoidal_clamp_match_the_master_equation():
    ens = ss.simulate(ss.Model.from_dict(CHANNEL), 1.2, N_TRAJ, seed=SEED, sample_every=0.05)
    p = open_probability(ens.times)
    opened = ens.values("O")
    mean, variance = N_CHANNELS * p, N_CHANNELS * p * (1 - p)
    z, y, passes = dsmts_verdict(opened, mean, variance)
    assert passes, (z, y)
    np.testing.assert_array_equal(opened + ens.values("C"), N_CHANNELS)   # conservation


def test_channels_with_a_wrong_voltage_scale_are_rejected():
    """Negative control: v_scale 10 % off must fail the same test."""
    spec = {**CHANNEL, "reactions": [dict(CHANNEL["reactions"][0]), CHANNEL["reactions"][1]]}
    spec["reactions"][0]["rate"] = {"kind": "voltage", "k0": f"{K0} /s",
                                    "v_scale": f"{V_SCALE * 1.1} mV"}
    ens = ss.simulate(ss.Model.from_dict(spec), 1.2, N_TRAJ, seed=SEED, sample_every=0.05)
    p = open_probability(ens.times)
    assert not dsmts_verdict(ens.values("O"), N_CHANNELS * p,
                             N_CHANNELS * p * (1 - p))[2]


# Rest fallback (stochsyn.engine.ssa): under a piecewise-constant input the time-dependent
# rates are frozen into the sum tree, thawed at each step and frozen again; while frozen, the
# rate of "X -> X + Y" follows X. Immigration at k_in·u(t), decay μ·X and Y counting at
# k_y·u(t)·X have linear propensities, so the moments close: solved exactly below.
U0, U_STEPS, K_IN, MU, K_Y = 2.0, ((1.0, 3.0), (2.0, -2.0)), 20.0, 2.0, 0.5

STEPPED = {
    "model": {"name": "stepped_input"},
    "inputs": {"u": {"value": U0, "steps": [{"time": f"{t} s", "value": v}
                                            for t, v in U_STEPS]}},
    "species": {"X": 0, "Y": 0},
    "reactions": [
        {"name": "arrive", "equation": "-> X",
         "rate": {"kind": "input", "input": "u", "k": f"{K_IN} /s"}},
        {"name": "leave", "equation": "X ->", "rate": f"{MU} /s"},
        {"name": "count", "equation": "X -> X + Y",
         "rate": {"kind": "input", "input": "u", "k": f"{K_Y} /s"}},
    ],
}


def stepped_moments(times, k_y=K_Y):
    """E X, Var X, E Y, Var Y at ``times`` from the closed moment equations."""
    from scipy.integrate import solve_ivp

    def rhs(_, m, u):
        ex, ey, exx, exy, eyy = m
        lam, kap = K_IN * u, k_y * u
        return [lam - MU * ex, kap * ex,
                lam * (2 * ex + 1) - 2 * MU * exx + MU * ex,
                lam * ey - MU * exy + kap * exx,
                kap * (2 * exy + ex)]

    edges = [0.0] + [t for t, _ in U_STEPS] + [float(times[-1])]
    values = [U0] + [U0 + v for _, v in U_STEPS]
    state, out = np.zeros(5), np.zeros((len(times), 5))
    for lo, hi, u in zip(edges[:-1], edges[1:], values):
        inside = (times >= lo) & (times <= hi)
        sol = solve_ivp(rhs, (lo, hi), state, args=(u,), method="DOP853", rtol=1e-12,
                        atol=1e-12, dense_output=True)
        out[inside] = sol.sol(times[inside]).T
        state = sol.y[:, -1]
    ex, ey, exx, exy, eyy = out.T
    return ex, exx - ex ** 2, ey, eyy - ey ** 2


def test_frozen_rates_thaw_at_input_steps_and_follow_the_state():
    ens = ss.simulate(ss.Model.from_dict(STEPPED), 3.0, N_TRAJ, seed=SEED, sample_every=0.1)
    ex, vx, ey, vy = stepped_moments(ens.times)
    for name, mean, var in (("X", ex, vx), ("Y", ey, vy)):
        z, y, passes = dsmts_verdict(ens.values(name), mean, var)
        assert passes, (name, z, y)
    # Negative control: a counting rate 5 % off is rejected.
    _, _, ey_wrong, vy_wrong = stepped_moments(ens.times, k_y=1.05 * K_Y)
    assert not dsmts_verdict(ens.values("Y"), ey_wrong, vy_wrong)[2]


def test_zero_input_means_no_events_and_constant_input_is_plain_mass_action():
    off = {**POISSON, "inputs": {"drive": {"value": 0.0}}}
    ens = ss.simulate(ss.Model.from_dict(off), 100.0, 50, seed=SEED)
    assert ens.n_events.sum() == 0
    const = {**POISSON, "inputs": {"drive": {"value": 7.0}}}
    plain = {**POISSON, "inputs": {}, "reactions": [
        {"name": "arrive", "equation": "-> X", "rate": "7 /s"}]}
    a = ss.simulate(ss.Model.from_dict(const), 10.0, 2000, seed=SEED, sample_every=1.0)
    b = ss.simulate(ss.Model.from_dict(plain), 10.0, 2000, seed=SEED, sample_every=1.0)
    # Nothing varies, so the input's rate is frozen into the sum tree: the plain SSA, the
    # same draws and the same bits.
    assert np.array_equal(a.counts, b.counts)


@pytest.mark.parametrize("bad, message", [
    ({"kind": "input", "input": "nope", "k": "1 /s"}, "does not declare"),
    ({"kind": "voltage", "k0": "1 /s", "v_scale": "10 mV"}, "does not declare"),
    ({"kind": "input", "input": "drive"}, "needs k"),
    ({"kind": "magic", "k": 1}, "kind"),
    ({"kind": "input", "input": "drive", "k": "1 /s", "extra": 1}, "unknown field"),
])
def test_bad_rate_tables_are_refused(bad, message):
    spec = {**POISSON, "reactions": [{"name": "arrive", "equation": "-> X", "rate": bad}]}
    with pytest.raises(ss.ModelError, match=message):
        ss.Model.from_dict(spec)


def test_an_input_that_can_go_negative_is_refused_for_an_input_rate():
    spec = {**POISSON, "inputs": {"drive": {"value": 1.0, "sine": {"amplitude": 2.0,
                                                                    "frequency": "1 Hz"}}}}
    with pytest.raises(ss.ModelError, match="negative"):
        ss.Model.from_dict(spec)


def test_input_waveform_evaluates_like_its_definition():
    drive = ss.Model.from_dict(POISSON).inputs[0]
    t = np.array([0.0, 1.0, 4.25, 5.0])
    expected = A + B * np.sin(2 * math.pi * F_HZ * t) + np.where(t >= STEP_AT, STEP, 0.0)
    np.testing.assert_allclose(drive(t), expected, rtol=0, atol=1e-12)


def test_an_intervention_may_not_silently_miss_a_waveform_or_a_voltage_scale():
    spec = {**CHANNEL,
            "parameters": {"v_hold": "-40 mV", "vs": f"{V_SCALE} mV"},
            "inputs": {"V": {"unit": "mV", "value": "v_hold"}},
            "reactions": [{"name": "open", "equation": "C -> O",
                           "rate": {"kind": "voltage", "k0": f"{K0} /s", "v_scale": "vs"}},
                          CHANNEL["reactions"][1]]}
    ss.Model.from_dict(spec)                                  # valid as it is
    for name, value in (("v_hold", "-20 mV"), ("vs", "30 mV")):
        bad = {**spec, "interventions": [{"time": "0.5 s", "parameters": {name: value}}]}
        with pytest.raises(ss.ModelError, match="interventions change rates only"):
            ss.Model.from_dict(bad)
