"""The bounds behind thinning (the time-dependent path of stochsyn.engine.ssa).

Thinning is exact only if the bound holds everywhere in its interval, so the bounds are
tested against dense samples of what they bound: the range helpers on their own (sine,
exponential and alpha components, with the interior extremum), then the inputs of a
compiled model with every kind of part at once (the membrane voltage with a transient and
a dendrite carrying a sine, a bAP and a cooperative alpha pulse; a glutamate-like input
with a release and an alpha pulse and a sine), and the time-dependent rates of every kind
(voltage, input, current, GHK, Boltzmann) against their bound. The statistical tests of the law are
in tests/statistical (test_time_dependent, test_membrane, test_release, test_mg_block,
test_mg_unblock). The last test checks that a rate above its bound is caught, not used.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine import hazard, membrane
from stochsyn.network import compile as compile_network

SEED = 20261122


def test_sine_range_contains_dense_samples_and_reaches_the_peaks():
    rng = np.random.default_rng(SEED)
    for _ in range(2000):
        amplitude = rng.normal(0.0, 3.0)
        theta_a = rng.uniform(-20.0, 20.0)
        theta_b = theta_a + rng.choice([rng.uniform(0, 0.3), rng.uniform(0, 8.0)])
        lo, hi = hazard._sine_range(amplitude, theta_a, theta_b)
        samples = amplitude * np.sin(np.linspace(theta_a, theta_b, 4001))
        assert lo <= samples.min() + 1e-12 and samples.max() <= hi + 1e-12
        # tight: the dense samples come within the grid's resolution of the range
        tol = abs(amplitude) * ((theta_b - theta_a) / 4000) ** 2
        assert samples.min() - lo <= tol + 1e-12 and hi - samples.max() <= tol + 1e-12


def test_wave_range_contains_dense_samples_including_the_alpha_peak():
    rng = np.random.default_rng(SEED + 1)
    n_interior = 0
    for _ in range(2000):
        k = 10 ** rng.uniform(1.0, 4.0)
        c1 = rng.normal(0.0, 5.0)
        c2 = rng.choice([0.0, rng.normal(0.0, 5.0) * k])
        s_a = rng.uniform(0.0, 3.0 / k)
        s_b = s_a + rng.uniform(0.0, 3.0 / k)
        lo, hi = hazard._wave_range(c1, c2, k, s_a, s_b)
        s = np.linspace(s_a, s_b, 4001)
        samples = np.exp(-k * s) * (c1 + c2 * s)
        scale = abs(c1) + abs(c2) * s_b + 1e-300
        assert lo <= samples.min() + 1e-12 * scale and samples.max() <= hi + 1e-12 * scale
        if c2 != 0.0 and s_a < 1 / k - c1 / c2 < s_b:
            n_interior += 1
    assert n_interior > 100      # the extremum branch was exercised


def _model():
    return ss.Model.from_dict({
        "model": {"name": "bounds", "volume": "0.1 fL"},
        "inputs": {
            "V": {"unit": "mV", "value": "-70 mV"},
            "V_d": {"unit": "mV", "value": "-70 mV",
                    "sine": {"amplitude": "4 mV", "frequency": "50 Hz", "phase": 0.3},
                    "bap": {"amplitude": "67 mV", "kernel": [[0.7, "3 ms"], [0.3, "40 ms"]]},
                    "depolarisation": {"amplitude": "5 mV", "tau": "20 ms"}},
            "glu": {"unit": "mM", "value": 0.05,
                    "sine": {"amplitude": 0.04, "frequency": "200 Hz", "phase": 0},
                    "release": {"probability": 1, "peak": "1 mM", "tau": "1.2 ms", "cv": 0},
                    "depolarisation": {"amplitude": 0.5, "tau": "2 ms"}},
        },
        "membrane": {"capacitance": "10 fF", "leak_conductance": "2 pS",
                     "leak_reversal": "-70 mV", "dendrite": "V_d",
                     "neck_resistance": "100 Mohm"},
        "species": {"C": 40, "O": 3, "Ca": 0},
        "channels": {"ch": {"open": "O", "conductance": "20 pS", "reversal": "0 mV"}},
        "reactions": [
            {"name": "open_v", "equation": "C -> O",
             "rate": {"kind": "voltage", "k0": "300 /s", "v_scale": "17 mV"}},
            {"name": "close_v", "equation": "O -> C",
             "rate": {"kind": "voltage", "k0": "200 /s", "v_scale": "-30 mV"}},
            {"name": "bind", "equation": "C -> O",
             "rate": {"kind": "input", "input": "glu", "k": "5 /mM/ms"}},
            {"name": "influx_i", "equation": "O -> O + Ca",
             "rate": {"kind": "current", "conductance": "50 pS", "fraction": 0.1,
                      "reversal": "0 mV", "charge": 2}},
            {"name": "influx_ghk", "equation": "O -> O + Ca",
             "rate": {"kind": "ghk", "k": "2e5 /s", "charge": 2}},
            {"name": "open_b", "equation": "C -> O",
             "rate": {"kind": "boltzmann", "k": "400 /s", "v_half": "-20 mV",
                      "v_slope": "7 mV"}},
            {"name": "close_b", "equation": "O -> C",
             "rate": {"kind": "boltzmann", "k": "250 /s", "v_half": "-30 mV",
                      "v_slope": "-6 mV"}},
            {"name": "clear", "equation": "Ca ->", "rate": 100.0},
        ]})


def _state(net, rng):
    """drive, base, pulse and mem of a mid-run state: random active pulses (A, B, t0 at or
    before 0), the membrane anchored at a voltage away from its rest (a transient)."""
    drive = hazard.drive_arrays(net)
    n_inputs = len(net.in_value)
    base = np.zeros(n_inputs)
    pulse = np.zeros((4, len(net.comp_rate)))
    pulse[3] = math.inf                 # live (not dropped)
    for c in range(len(net.comp_rate)):
        pulse[2, c] = -rng.uniform(0.0, 2.0) / net.comp_rate[c]
        if net.comp_alpha[c]:
            pulse[1, c] = rng.uniform(0.0, 3.0) * math.e * net.comp_rate[c]
        else:
            pulse[0, c] = rng.uniform(0.0, 3.0)
    mem = np.zeros(5)
    membrane.set_bases(drive, base, 0.0)
    hazard.set_bases(drive, net.tv_inputs, 0.0, base)
    x = net.x0.astype(np.int64).copy()
    membrane.anchor(drive, mem, pulse, base, x, 0.0, rng.uniform(-80.0, 10.0))
    return drive, base, pulse, mem


def test_input_ranges_and_rate_bound_contain_dense_samples():
    model = _model()
    net = compile_network(model).arrays
    kinds = {int(net.rate_kind[j]) for j in net.tv_idx}
    assert kinds == {hazard.VOLTAGE, hazard.INPUT, hazard.CURRENT, hazard.GHK,
                     hazard.BOLTZMANN}
    rng = np.random.default_rng(SEED + 2)
    n_inputs = len(net.in_value)
    u_lo, u_hi, u_now = np.zeros(n_inputs), np.zeros(n_inputs), np.zeros(n_inputs)
    tv_static = np.zeros(len(net.rate))
    tv_static[net.tv_idx] = rng.uniform(0.5, 2.0, len(net.tv_idx))
    tv_fmax = np.zeros(len(net.rate))
    used = net.tv_inputs
    for _ in range(60):
        drive, base, pulse, mem = _state(net, rng)
        a = rng.choice([0.0, rng.uniform(0.0, 5e-6), rng.uniform(0.0, 5e-3)])
        b = a + rng.choice([rng.uniform(0.0, 4e-6), rng.uniform(0.0, 2e-3),
                            rng.uniform(0.0, 0.05)])
        bound = hazard.tv_bound(drive, net.tv_idx, tv_static, used, base, pulse, mem, u_lo,
                                u_hi, a, b, tv_fmax)
        assert bound == pytest.approx(float(np.sum(tv_static[net.tv_idx] * tv_fmax[net.tv_idx])))
        for t in np.linspace(a, b, 801):
            hazard.input_values(drive, used, base, pulse, mem, t, u_now)
            for i in used:
                assert u_lo[i] <= u_now[i] <= u_hi[i], (i, t, u_lo[i], u_now[i], u_hi[i])
            rate = hazard.tv_rate(drive, net.tv_idx, tv_static, used, base, pulse, mem,
                                  u_now, t)
            assert 0.0 <= rate <= bound


def test_a_rate_above_its_bound_is_reported_not_used():
    """The kernel's guard (hazard.bound_holds, called when a candidate's rate exceeds the
    incrementally kept bound): it recomputes the bound from tv_fmax; a rate still above it
    (here a stale tv_fmax of 0 while the rates are not) is reported, never used."""
    net = compile_network(_model()).arrays
    tv_static = np.zeros(len(net.rate))
    tv_static[net.tv_idx] = 2.0
    tv_fmax = np.zeros(len(net.rate))
    bound = np.array([1.0, 5.0])
    assert not hazard.bound_holds(net.tv_idx, tv_static, tv_fmax, bound, 1.0)
    assert bound[1] == 0.0
    # round-off in the increments only: the recomputed bound holds, and is kept
    tv_fmax[net.tv_idx] = 1.5
    bound[1] = 3.0 * len(net.tv_idx) * (1 - 1e-15)
    rate = 3.0 * len(net.tv_idx)
    assert hazard.bound_holds(net.tv_idx, tv_static, tv_fmax, bound, rate)
    assert bound[1] == pytest.approx(rate, rel=1e-15)
