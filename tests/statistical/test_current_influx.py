"""Ion influx through open channels (rate kinds "current" and "ghk") against exact results.

Open channels are a fixed count O; each carries ions at c·f(V(t)), so the ions counted by
`O -> O + Ca` form an inhomogeneous Poisson process with mean N_O·c·∫f(V(t))dt:

* "current": c = fraction·γ·1 mV/(z e), f = max(0, E_rev − V) in mV (docs/science.md §2.3's check:
  10 % of 50 pS at −65 mV is ≈ 1.0×10³ Ca²⁺/ms per channel);
* "ghk": f = u/(e^u − 1), u = z V / V_T, V_T = RT/F.

DSMTS criterion on the counts (|Z| < 3, |Y| < 5, one point of each may fail), n = 10,000,
frozen seed; a sinusoidal clamp that crosses E_rev exercises the rectification.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

import stochsyn as ss

from .test_time_dependent import dsmts_verdict

SEED = 20261122
N_OPEN = 3
E_CHARGE = 1.602176634e-19


def channel_model(rate, v_spec):
    return ss.Model.from_dict({
        "model": {"name": "influx"},
        "inputs": {"V": {"unit": "mV", **v_spec}},
        "species": {"O": N_OPEN, "Ca": 0},
        "reactions": [{"name": "influx", "equation": "O -> O + Ca", "rate": rate}],
    })


CURRENT = {"kind": "current", "conductance": "50 pS", "fraction": 0.1, "reversal": "0 mV"}
C_CURRENT = 0.1 * 50e-12 * 1e-3 / (2 * E_CHARGE)          # ions/s per mV per channel


def test_the_conversion_matches_the_science_check():
    model = channel_model(CURRENT, {"value": "-65 mV"})
    assert model.reactions[0].rate == pytest.approx(C_CURRENT, rel=1e-12)
    per_ms = C_CURRENT * 65 / 1e3
    assert 0.95e3 < per_ms < 1.05e3                      # docs/science.md §2.3: ≈ 1.0×10³ /ms


SLOW = {**CURRENT, "fraction": 0.001}                     # 100× fewer ions: a fast test
C_SLOW = C_CURRENT / 100


def test_current_influx_under_a_sinusoidal_clamp_crossing_the_reversal():
    v_mean, v_amp, hz = -20.0, 40.0, 200.0                # spends part of each cycle > 0 mV
    model = channel_model(SLOW, {"value": f"{v_mean} mV",
                                    "sine": {"amplitude": f"{v_amp} mV",
                                             "frequency": f"{hz} Hz"}})
    times = np.linspace(0.0, 0.02, 21)
    ens = ss.simulate(model, 0.02, 10_000, seed=SEED, sample_times=times)

    def f(t):
        return max(0.0, 0.0 - (v_mean + v_amp * math.sin(2 * math.pi * hz * t)))

    # the integrand has kinks where V crosses 0 mV; quad with many subintervals is exact
    # to far below the sampling error
    mean = N_OPEN * C_SLOW * np.array([quad(f, 0, t, limit=400, epsabs=0, epsrel=1e-10)[0]
                                       if t > 0 else 0.0 for t in times])
    z, y, passes = dsmts_verdict(ens.values("Ca"), mean, mean)
    assert passes, (z, y)
    # negative control: without the rectification the expected counts are far lower
    linear = N_OPEN * C_SLOW * np.array(
        [quad(lambda s: -(v_mean + v_amp * math.sin(2 * math.pi * hz * s)), 0, t)[0]
         for t in times])
    assert not dsmts_verdict(ens.values("Ca"), linear, np.maximum(linear, 1.0))[2]


def test_ghk_influx_at_steps():
    k, v_t = 2.0e3, 1e3 * 8.314462618 * 308.15 / 96485.33212
    model = channel_model({"kind": "ghk", "k": f"{k} /s"},
                          {"value": "-70 mV", "steps": [{"time": "5 ms", "value": "90 mV"}]})
    assert model.reactions[0].v_scale_mv == pytest.approx(v_t / 2, rel=1e-12)
    times = np.linspace(0.0, 0.01, 11)
    ens = ss.simulate(model, 0.01, 10_000, seed=SEED, sample_times=times)

    def ghk(v):
        u = 2 * v / v_t
        return u / math.expm1(u)

    rate = np.where(times <= 0.005, ghk(-70.0) * times,
                    ghk(-70.0) * 0.005 + ghk(20.0) * (times - 0.005))
    mean = N_OPEN * k * rate
    z, y, passes = dsmts_verdict(ens.values("Ca"), mean, mean)
    assert passes, (z, y)
    assert ghk(-200.0) == pytest.approx(-2 * -200.0 / v_t, rel=1e-6)   # linear limit
