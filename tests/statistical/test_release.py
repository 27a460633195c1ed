"""Presynaptic release into an input (cleft glutamate) against exact results.

Each spike releases with probability Pr a pulse A·exp(-(t - t_s)/τ), A log-normal with
mean `peak` and CV `cv` (stochsyn.engine.ssa, .hazard). With a reaction `-> X` of rate
k·glu(t), X counts the hazard, so (X | pulses) is Poisson with mean k·Σ A_s τ (1 - e^{-(t-t_s)/τ}):

* Pr = 1, cv = 0: X(t) is Poisson with that mean — DSMTS Z/Y at every grid time;
* Pr = 0.3, cv = 0, N spikes: E X = m N Pr, Var X = m N Pr + m² N Pr (1 - Pr), m = k A τ;
* Pr = 1, cv = 0.5, one spike: E X = m, Var X = m + m² cv².
"""

from __future__ import annotations

import math

import numpy as np

import stochsyn as ss

from .test_time_dependent import dsmts_verdict

SEED = 20261122
N_TRAJ = 10_000
K_PER_MM_S, PEAK_MM, TAU_S = 400.0, 1.0, 0.005


def model(probability, cv):
    return ss.Model.from_dict({
        "model": {"name": "release_counter"},
        "inputs": {"glu": {"unit": "mM", "value": 0,
                           "release": {"probability": probability, "peak": f"{PEAK_MM} mM",
                                       "tau": f"{TAU_S * 1e3} ms", "cv": cv}}},
        "species": {"X": 0},
        "reactions": [{"name": "count", "equation": "-> X",
                       "rate": {"kind": "input", "input": "glu", "k": f"{K_PER_MM_S} /mM/s"}}],
    })


def train(rate_hz, pulses):
    return ss.protocols.train(rate_hz, pulses, start_s=0.01)


def test_every_spike_releasing_gives_poisson_counts_of_the_summed_pulses():
    protocol = train(100.0, 10)              # pulses 10 ms apart overlap (τ = 5 ms)
    times = np.linspace(0.0, 0.2, 41)
    ens = ss.simulate(model(1.0, 0.0), 0.2, N_TRAJ, seed=SEED, sample_times=times,
                      protocol=protocol)
    m = K_PER_MM_S * PEAK_MM * TAU_S
    mean = np.zeros_like(times)
    for t_s in protocol.pre_spikes_s:
        mean += np.where(times > t_s, m * (1 - np.exp(-(times - t_s) / TAU_S)), 0.0)
    z, y, passes = dsmts_verdict(ens.values("X"), mean, mean)
    assert passes, (z, y)


def test_release_probability_thins_the_releases():
    n, pr = 20, 0.3
    ens = ss.simulate(model(pr, 0.0), 1.5, N_TRAJ, seed=SEED, sample_times=[1.5],
                      protocol=train(20.0, n))
    x = ens.values("X")[:, 0]
    m = K_PER_MM_S * PEAK_MM * TAU_S
    mean, var = m * n * pr, m * n * pr + m * m * n * pr * (1 - pr)
    z, y, passes = dsmts_verdict(x[:, None], np.array([mean]), np.array([var]))
    assert passes, (z, y)
    wrong = m * n * 0.33                     # negative control: Pr 10 % off
    assert not dsmts_verdict(x[:, None], np.array([wrong]), np.array([wrong]))[2]


def test_amplitude_variability_adds_the_mixing_variance():
    cv = 0.5
    ens = ss.simulate(model(1.0, cv), 0.5, N_TRAJ, seed=SEED, sample_times=[0.5],
                      protocol=train(1.0, 1))
    x = ens.values("X")[:, 0]
    m = K_PER_MM_S * PEAK_MM * TAU_S
    z, y, passes = dsmts_verdict(x[:, None], np.array([m]), np.array([m + (m * cv) ** 2]))
    assert passes, (z, y)
    # without the mixing term the variance test fails
    assert not dsmts_verdict(x[:, None], np.array([m]), np.array([m]))[2]


def test_no_release_no_counts_and_same_seed_same_bits():
    ens = ss.simulate(model(0.0, 0.0), 0.5, 100, seed=SEED, protocol=train(100.0, 10))
    assert ens.n_events.sum() == 0
    a = ss.simulate(model(0.5, 0.5), 0.3, 50, seed=SEED, protocol=train(100.0, 10),
                    n_threads=1)
    b = ss.simulate(model(0.5, 0.5), 0.3, 50, seed=SEED, protocol=train(100.0, 10),
                    n_threads=2, batch_size=7)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert math.isfinite(a.values("X").mean())


def test_release_counts_are_reported_and_survive_parquet(tmp_path):
    """Each trajectory's vesicle count is in the Ensemble, its summary and its dataset."""
    n, pr = 40, 0.3
    ens = ss.simulate(model(pr, 0.0), 2.5, 2000, seed=SEED, protocol=train(20.0, n),
                      out=tmp_path / "run")
    released = ens.n_releases
    assert released.shape == (2000,) and released.min() >= 0 and released.max() <= n
    z = (released.mean() - n * pr) / math.sqrt(n * pr * (1 - pr) / len(released))
    assert abs(z) < 4
    np.testing.assert_array_equal(ens.summary()["n_releases"].to_numpy(), released)
    np.testing.assert_array_equal(ss.read(tmp_path / "run").n_releases, released)
    # with Pr = 1 every spike releases
    assert np.all(ss.simulate(model(1.0, 0.0), 2.5, 20, seed=SEED,
                              protocol=train(20.0, n)).n_releases == n)
