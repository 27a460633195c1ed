"""The hybrid mode against exact results (stochsyn.engine.continuous).

* Coupling: a continuous A decays, A(t) = A0 e^{-k_d t} (an ODE term), and discrete
  reactions read it: X at rate k1·A (order 1), Z at k2·A²/2 (order 2, the A^ν/ν! form),
  W at a Hill law of A, and V at an input rate (a time-dependent reaction, so the hazard
  along y(t) is integrated together with an input's). Each count is Poisson with mean the
  integral of its rate: the DSMTS test (|Z| < 3, |Y| < 5 at every grid time but at most
  one of each; Evans, Gillespie & Wilkinson 2008) at n = 10,000. Negative controls: a
  rate 10 % off, and A frozen at A0 (a coupling that ignored y(t)), must be rejected.
* Jumps, linear: discrete channels let Ca in (each entry a jump of a continuous Ca), Ca
  is buffered first-order and removed. For a linear network the mean of the hybrid is the
  mean of the exact process (both solve the same linear moment equations; the hybrid only
  drops the noise of the continuous reactions), so the hybrid's mean Ca and CaB must pass
  the Z test against the moment ODE, as the exact SSA's do; its variance is smaller.
  Negative control: a 10 % higher entry rate is rejected.
* Jumps, nonlinear (Ca + B <-> CaB, 50 buffer molecules): here the hybrid is an
  approximation. The exact mean obeys dE[Ca]/dt = … − k E[Ca·B] with E[Ca·B] =
  E[Ca]E[B] + Cov(Ca, B), and the hybrid has no binding noise, so the means differ by the
  effect of that covariance, at most |Cov|/(E[Ca]E[B]) <= sd(Ca)sd(B)/(E[Ca]E[B])
  relative on the binding flux, and (to first order) at most that relative on mean Ca.
  The test allows 3 combined standard errors plus that bound, computed from the exact
  run at each sample (3.1 % at 20 ms, 6-7.6 % later). Measured: differences <= 1.4 %,
  |Z| <= 1.8: the bias is below what 2 × 10,000 trajectories resolve, and the test also
  asserts that.
* The spine's EPSP (slow): the peak of the mean free-Ca²⁺ transient of one release in
  the hybrid mode (Ca²⁺ module continuous) agrees with the exact mode's within 3
  combined jackknife SEs + 2 %. The 2 % is twice the covariance bound above for the
  module's own numbers (≈ 1 %, the PMCA the largest: tests/statistical/test_calcium.py;
  the buffers, with thousands of molecules, ≈ 0.1 %). With 32 exact trajectories the
  exact peak's SE is ≈ 9 %, so this detects only a bias above ≈ 30 %: a guard against
  gross errors; analysis/hybrid_accuracy.py measures it with more trajectories
  (-2.4 % ± 4.4 %, 160 exact and 800 hybrid trajectories).

Seeds: SEED = 20261122 (the suite's), fixed before the first run of this file.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

import stochsyn as ss
from stochsyn.model import hybrid_roles

from .test_time_dependent import dsmts_verdict

SEED = 20261122
N_TRAJ = 10_000


def z_verdict(samples, mean):
    """Z test of the sample mean against ``mean`` with the sample's own SD (for laws whose
    variance is not known): |Z| < 3 at all grid times but one, < 5 at all."""
    n = samples.shape[0]
    sd = samples.std(axis=0, ddof=1)
    keep = sd > 0
    z = math.sqrt(n) * (samples.mean(axis=0)[keep] - mean[keep]) / sd[keep]
    return float(np.max(np.abs(z))), bool(np.sum(np.abs(z) >= 3) <= 1
                                          and np.all(np.abs(z) < 5))


# --------------------------------------------------------------------------- coupling

A0, KD = 200, 2.0
K1, K2, K3, K_HILL, N_HILL = 0.2, 0.004, 20.0, 50.0, 2.0
DRIVE, DRIVE_AMP, DRIVE_HZ = 5.0, 3.0, 1.0

COUPLING = {
    "model": {"name": "hybrid_coupling"},
    "inputs": {"drive": {"value": DRIVE, "sine": {"amplitude": DRIVE_AMP,
                                                  "frequency": f"{DRIVE_HZ} Hz"}}},
    "species": {"A": A0, "X": 0, "Z": 0, "W": 0, "V": 0},
    "reactions": [
        {"name": "decay", "equation": "A ->", "rate": KD},
        {"name": "make_x", "equation": "A -> A + X", "rate": K1},
        {"name": "make_z", "equation": "2 A -> 2 A + Z", "rate": K2},
        {"name": "make_w", "equation": "-> W",
         "rate": {"kind": "hill", "k": f"{K3} /s", "of": "A", "K": K_HILL, "n": N_HILL}},
        {"name": "make_v", "equation": "-> V",
         "rate": {"kind": "input", "input": "drive", "k": "1 /s"}},
    ],
    "continuous": {"species": ["A"]},
}


def coupling_means(times):
    """Exact Poisson means of X, Z, W, V at ``times``."""
    x = K1 * A0 * (1 - np.exp(-KD * times)) / KD
    z = K2 / 2 * A0 ** 2 * (1 - np.exp(-2 * KD * times)) / (2 * KD)

    def hill(s):
        a = A0 * math.exp(-KD * s)
        return K3 * a ** N_HILL / (K_HILL ** N_HILL + a ** N_HILL)
    w = np.array([quad(hill, 0.0, t, epsabs=1e-12, epsrel=1e-12)[0] for t in times])
    omega = 2 * math.pi * DRIVE_HZ
    v = DRIVE * times + DRIVE_AMP * (1 - np.cos(omega * times)) / omega
    return {"X": x, "Z": z, "W": w, "V": v}


@pytest.fixture(scope="module")
def coupling_run():
    model = ss.Model.from_dict(COUPLING)
    assert hybrid_roles(model) == ("ode", "coupled", "coupled", "coupled", "exact")
    return ss.simulate(model, 2.0, N_TRAJ, seed=SEED, sample_every=0.1)


@pytest.mark.parametrize("name", ["X", "Z", "W", "V"])
def test_counts_driven_by_a_continuous_species_are_poisson(coupling_run, name):
    ens = coupling_run
    np.testing.assert_allclose(ens.values("A")[0], A0 * np.exp(-KD * ens.times), rtol=1e-5)
    mu = coupling_means(ens.times)[name]
    z, y, passes = dsmts_verdict(ens.values(name), mu, mu)
    assert passes, (name, z, y)


def test_a_rate_10_percent_off_is_rejected(coupling_run):
    mu = 1.1 * coupling_means(coupling_run.times)["X"]
    assert not dsmts_verdict(coupling_run.values("X"), mu, mu)[2]


def test_a_frozen_continuous_species_is_rejected(coupling_run):
    """The same test against a coupling that ignored the decay of A (A = A0 throughout)."""
    mu = K1 * A0 * coupling_run.times
    assert not dsmts_verdict(coupling_run.values("X"), mu, mu)[2]


# --------------------------------------------------------------------------- jumps

N_CH, ALPHA, BETA, K_IN, K_OUT, K_B, K_U = 10, 20.0, 80.0, 200.0, 50.0, 100.0, 20.0


def channel_model(*, hybrid, nonlinear=False, k_in=K_IN, b_total=50):
    species = {"C": N_CH, "O": 0, "Ca": 0, "CaB": 0}
    reactions = [
        {"name": "gate", "equation": "C <-> O", "rate": [ALPHA, BETA]},
        {"name": "influx", "equation": "O -> O + Ca", "rate": k_in},
        {"name": "out", "equation": "Ca ->", "rate": K_OUT},
    ]
    if nonlinear:
        species["B"] = b_total
        reactions.append({"name": "buffer", "equation": "Ca + B <-> CaB",
                          "rate": [K_B / b_total, K_U]})
    else:
        reactions.append({"name": "buffer", "equation": "Ca <-> CaB", "rate": [K_B, K_U]})
    data = {"model": {"name": "channel_influx"}, "species": species, "reactions": reactions}
    if hybrid:
        data["continuous"] = {"species": ["Ca", "CaB"] + (["B"] if nonlinear else [])}
    return ss.Model.from_dict(data)


def linear_means(times):
    """E[O], E[Ca], E[CaB] of the linear network (its moment equations are closed)."""
    def rhs(_t, m):
        o, ca, cab = m
        return [ALPHA * (N_CH - o) - BETA * o, K_IN * o - (K_OUT + K_B) * ca + K_U * cab,
                K_B * ca - K_U * cab]
    sol = solve_ivp(rhs, (0.0, times[-1]), [0.0, 0.0, 0.0], method="Radau", rtol=1e-11,
                    atol=1e-11, t_eval=times)
    return sol.y


T_JUMPS = 0.2


@pytest.fixture(scope="module")
def linear_runs():
    runs = {}
    for label, kw in (("hybrid", dict(hybrid=True)), ("exact", dict(hybrid=False)),
                      ("wrong", dict(hybrid=True, k_in=1.1 * K_IN))):
        runs[label] = ss.simulate(channel_model(**kw), T_JUMPS, N_TRAJ, seed=SEED,
                                  sample_every=0.01)
    return runs


@pytest.mark.parametrize("mode", ["hybrid", "exact"])
def test_linear_mean_is_exact(linear_runs, mode):
    ens = linear_runs[mode]
    _, ca, cab = linear_means(ens.times)
    for name, mean in (("Ca", ca), ("CaB", cab)):
        z, passes = z_verdict(ens.values(name), mean)
        assert passes, (mode, name, z)


def test_linear_mean_with_a_wrong_entry_rate_is_rejected(linear_runs):
    _, ca, _ = linear_means(linear_runs["wrong"].times)
    assert not z_verdict(linear_runs["wrong"].values("Ca"), ca)[1]


def test_hybrid_drops_the_noise_of_the_continuous_reactions(linear_runs):
    """What the hybrid approximates: its Ca varies only through the channel noise and the
    entries, so its SD is below the exact one (after the start, where both are ~0)."""
    late = linear_runs["exact"].times >= 0.05
    sd_h = linear_runs["hybrid"].values("Ca").std(axis=0)[late]
    sd_e = linear_runs["exact"].values("Ca").std(axis=0)[late]
    assert np.all(sd_h < 0.9 * sd_e)
    # the discrete part is the same process: the open channels' means agree
    z, passes = z_verdict(linear_runs["hybrid"].values("O"),
                          linear_means(linear_runs["hybrid"].times)[0])
    assert passes, z


@pytest.fixture(scope="module")
def nonlinear_runs():
    return {label: ss.simulate(channel_model(hybrid=hybrid, nonlinear=True), T_JUMPS, N_TRAJ,
                               seed=SEED + 1, sample_every=0.01)
            for label, hybrid in (("hybrid", True), ("exact", False))}


def test_nonlinear_buffering_mean_is_within_its_bias_bound(nonlinear_runs):
    exact, hybrid = nonlinear_runs["exact"], nonlinear_runs["hybrid"]
    late = exact.times >= 0.02
    ca_e, ca_h = exact.values("Ca")[:, late], hybrid.values("Ca")[:, late]
    b_e = exact.values("B")[:, late]
    # the covariance bound of the module docstring, from the exact run
    bound = ca_e.std(axis=0) * b_e.std(axis=0) / (ca_e.mean(axis=0) * b_e.mean(axis=0))
    assert 0.02 < np.max(bound) < 0.1          # 3.1 % at 20 ms, then 6-7.6 %
    se = np.sqrt(ca_e.var(axis=0, ddof=1) / len(ca_e) + ca_h.var(axis=0, ddof=1) / len(ca_h))
    diff = np.abs(ca_h.mean(axis=0) - ca_e.mean(axis=0))
    assert np.all(diff <= 3 * se + bound * ca_e.mean(axis=0)), np.max(diff / ca_e.mean(axis=0))
    # and without the allowance: the bias is below what 10,000 trajectories resolve here
    assert np.all(diff <= 3 * se)


# --------------------------------------------------------------------------- spine EPSP

#: 256 each. (The exact mode had 32 while an exact EPSP cost 0.44 s; since thinning it costs
#: 0.04 s. With thinning the exact stream changed, and its first 32 trajectories at SEED
#: drew a Ca²⁺ entry of 12007 ± 603 against 9854 ± 114 for its first 1000 — the entry is
#: skewed by the log-normal release amplitude, so a mean of 32 strays more than its normal
#: SE suggests — and the entry Z against the hybrid's 256 was -3.5. Both modes' first 1000
#: trajectories agree, 9854 ± 114 and 9857 ± 110, as at seed 31: 9912 ± 111 and 9951 ± 110.)
N_EXACT_EPSP, N_HYBRID_EPSP = 256, 256
EPSP_BIAS = 0.02      # the allowance of the module docstring (covariance bound, ≈1 %, x2)


@pytest.mark.slow
def test_spine_epsp_peak_of_hybrid_matches_exact():
    """One release (Pr 1) into the spine electrophysiology model: the peak of the mean
    free-Ca²⁺ transient in the hybrid mode (the Ca²⁺ module continuous) against the exact
    mode, within 3 combined jackknife SEs + 2 % (module docstring). The Ca²⁺ entry through
    NMDARs is upstream of the Ca²⁺ module, the same process in both modes: two-sample
    |Z| < 3. (Measured with analysis/hybrid_accuracy.py, seed 20261124, 2000 trajectories
    of each mode: peaks 1.203 ± 0.015 and 1.202 ± 0.015 µM, -0.1 %.)"""
    from stochsyn.validation import calcium_transients as ct
    protocol = ss.protocols.spikes(pre_s=[ct.T_SPIKE_S])
    runs = {mode: ct.ensemble(protocol, t_end_s=0.15, n_trajectories=n, seed=SEED,
                              model=model)
            for mode, model, n in (("exact", None, N_EXACT_EPSP),
                                   ("hybrid", ct.hybrid(), N_HYBRID_EPSP))}
    exact, hybrid = (ct.transient(runs[m]) for m in ("exact", "hybrid"))
    se = math.hypot(exact.peak_se_um, hybrid.peak_se_um)
    assert abs(hybrid.peak_um - exact.peak_um) <= 3 * se + EPSP_BIAS * exact.peak_um, (
        exact.peak_um, exact.peak_se_um, hybrid.peak_um, hybrid.peak_se_um)
    entry = {m: runs[m].firings[:, -1].astype(float) for m in runs}
    assert runs["exact"].reactions[-1].startswith("nmda_ca_influx")
    z = (entry["hybrid"].mean() - entry["exact"].mean()) / math.sqrt(
        entry["hybrid"].var(ddof=1) / len(entry["hybrid"])
        + entry["exact"].var(ddof=1) / len(entry["exact"]))
    assert abs(z) < 3, z
    assert hybrid.events_per_trajectory < 0.1 * exact.events_per_trajectory
