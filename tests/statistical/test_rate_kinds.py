"""Michaelis–Menten and Hill propensities against exact distributions.

Each process here has an exactly computable law, and the ensemble is checked with the DSMTS
criterion (Evans, Gillespie & Wilkinson 2008): at every grid time with a positive variance
``Z = √n (mean − μ)/σ`` and ``Y = (s² − σ²)/√((μ4 − σ⁴)/n)``, ``s²`` the mean squared
deviation from μ and μ4 the exact fourth central moment (for a normal law this is DSMTS's
``√(n/2) (s²/σ² − 1)``), must satisfy |Z| < 3 and |Y| < 5, with at most one exceedance of
each (and never |Z| ≥ 5 or |Y| ≥ 10).

* Michaelis–Menten degradation ``S -> ∅`` with ``a(S) = V S/(K_M + S)`` from S(0) = 200,
  K_M = 50 molecules: a pure-death chain on 0..200, whose master equation is a linear ODE
  solved here with a matrix exponential (written as ``vmax`` and as ``kcat · E``);
* Hill production ``∅ -> P`` with the regulator X held constant: P(t) is Poisson with mean
  ``k f(X) t`` (activation and repression);
* the same Hill production while X itself is born and dies: the joint master equation of
  (X, P) on a truncated grid (so the Hill propensity must follow X after every change of X:
  the dependency graph), solved with ``expm_multiply``.

Each test also shows that it can fail: the same samples against a slightly wrong law, or
an engine with the modifier edges removed from its dependency graph, are rejected.
The seed is frozen; a failure is an engine bug, never a reason to pick another seed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.linalg import expm_multiply

import stochsyn as ss

SEED = 20261122
N_TRAJ = 10_000


def dsmts_verdict(samples, mean, variance, mu4):
    """(max |Z|, max |Y|, passes) at each grid time with variance > 0.

    ``mu4`` is the exact fourth central moment: Y is standardised with the exact variance
    of s², ``(μ4 − σ⁴)/n``, which is DSMTS's ``2σ⁴/n`` for a normal law (the kurtosis
    correction of stochsyn.validation.dsmts). It matters at early times, when few
    molecules have been made and the law is far from normal."""
    n = samples.shape[0]
    keep = variance > 0
    z = math.sqrt(n) * (samples.mean(axis=0)[keep] - mean[keep]) / np.sqrt(variance[keep])
    s2 = ((samples[:, keep] - mean[keep]) ** 2).mean(axis=0)
    y = (s2 - variance[keep]) / np.sqrt((mu4[keep] - variance[keep] ** 2) / n)
    passes = (np.sum(np.abs(z) >= 3) <= 1 and np.sum(np.abs(y) >= 5) <= 1
              and np.all(np.abs(z) < 5) and np.all(np.abs(y) < 10))
    return float(np.max(np.abs(z))), float(np.max(np.abs(y))), bool(passes)


def moments(distributions, values):
    """Mean, variance and fourth central moment of each row of ``distributions``."""
    mean = distributions @ values
    centred = values[None, :] - mean[:, None]
    return (mean, np.maximum((distributions * centred ** 2).sum(axis=1), 0.0),
            (distributions * centred ** 4).sum(axis=1))


def poisson_moments(lam):
    return lam, lam, lam + 3 * lam ** 2


# ----------------------------------------------------------- Michaelis–Menten death

S0, KM, VMAX = 200, 50.0, 20.0
TIMES = np.arange(0.0, 17.0, 1.0)   # mean S: 200 → 14 (S >> K_M, then S << K_M)


def mm_death(rate):
    return {"model": {"name": "mm_death"},
            "species": {"S": S0, "E": 10},
            "reactions": [{"name": "degrade", "equation": "S ->", "rate": rate}]}


def death_chain_moments(km, vmax, times):
    """Exact mean, variance and fourth central moment of S(t): dp/dt = Q p with
    Q[s-1, s] = a(s), Q[s, s] = -a(s)."""
    s = np.arange(S0 + 1, dtype=float)
    a = vmax * s / (km + s)
    q = scipy.sparse.diags([-a, a[1:]], [0, 1], format="csr")
    p0 = np.zeros(S0 + 1)
    p0[S0] = 1.0
    dist = expm_multiply(q, p0, start=times[0], stop=times[-1], num=len(times),
                         endpoint=True)
    assert np.allclose(dist.sum(axis=1), 1.0, atol=1e-12)
    return moments(dist, s)


@pytest.mark.parametrize("rate", [
    {"kind": "michaelis_menten", "vmax": VMAX, "km": KM},
    {"kind": "michaelis_menten", "kcat": "2 /s", "enzyme": "E", "km": f"{KM} molecule"},
], ids=["vmax", "kcat_enzyme"])
def test_michaelis_menten_death_matches_the_master_equation(rate):
    ens = ss.simulate(ss.Model.from_dict(mm_death(rate)), TIMES[-1], N_TRAJ, seed=SEED,
                      sample_times=TIMES)
    samples = ens.counts[:, :, 0].astype(float)
    exact = death_chain_moments(KM, VMAX, TIMES)
    assert 10 < exact[0][-1] < 20    # the grid covers the saturated and the linear phase
    max_z, max_y, passes = dsmts_verdict(samples, *exact)
    assert passes, (max_z, max_y)
    # Power: K_M 8 % off (or first-order decay at the same initial rate) is rejected.
    for wrong in (death_chain_moments(1.08 * KM, VMAX, TIMES),
                  death_chain_moments(1e9, VMAX * 1e9 / (KM + S0), TIMES)):
        assert not dsmts_verdict(samples, *wrong)[2]


# ------------------------------------------------- Hill production, constant regulator

X_FIXED, K_HILL, N_HILL, K_RATE = 30, 20.0, 2.5, 3.0
HILL_TIMES = np.arange(0.0, 10.5, 0.5)


def hill_fraction(x, k_half, n, repress):
    f = x ** n / (k_half ** n + x ** n)
    return 1.0 - f if repress else f


@pytest.mark.parametrize("repress", [False, True], ids=["activation", "repression"])
def test_hill_production_with_a_fixed_regulator_is_poisson(repress):
    model = ss.Model.from_dict({
        "model": {"name": "hill_poisson", "volume": "0.1 fL"},
        "species": {"X": X_FIXED, "P": 0},
        "reactions": [{"name": "make", "equation": "-> P",
                       "rate": {"kind": "hill", "k": K_RATE, "of": "X", "K": K_HILL,
                                "n": N_HILL, "repress": repress}}]})
    ens = ss.simulate(model, HILL_TIMES[-1], N_TRAJ, seed=SEED, sample_times=HILL_TIMES)
    samples = ens.counts[:, :, 1].astype(float)
    assert np.all(ens.counts[:, :, 0] == X_FIXED)
    lam = K_RATE * hill_fraction(X_FIXED, K_HILL, N_HILL, repress)
    max_z, max_y, passes = dsmts_verdict(samples, *poisson_moments(lam * HILL_TIMES))
    assert passes, (max_z, max_y)
    # Power: the Hill coefficient 2 instead of 2.5 is rejected.
    wrong = K_RATE * hill_fraction(X_FIXED, K_HILL, 2.0, repress) * HILL_TIMES
    assert not dsmts_verdict(samples, *poisson_moments(wrong))[2]


# ------------------------------------------------ Hill production, changing regulator

ALPHA, BETA, K_P, K_X, N_X, GAMMA = 2.0, 0.2, 4.0, 6.0, 2.0, 0.5
X_MAX = P_MAX = 50
JOINT_TIMES = np.arange(0.0, 10.5, 0.5)

JOINT = {
    "model": {"name": "hill_follows_x"},
    "species": {"X": 0, "P": 0},
    "reactions": [
        {"name": "x_birth", "equation": "-> X", "rate": ALPHA},
        {"name": "x_death", "equation": "X ->", "rate": BETA},
        {"name": "p_birth", "equation": "-> P",
         "rate": {"kind": "hill", "k": K_P, "of": "X", "K": K_X, "n": N_X}},
        {"name": "p_death", "equation": "P ->", "rate": GAMMA},
    ],
}


def joint_moments(times):
    """Mean, variance and fourth central moment of X(t) and of P(t) from the master
    equation of the pair (X, P), truncated at 50 each (the mass beyond is below 1e-15)."""
    nx, npp = X_MAX + 1, P_MAX + 1
    index = np.arange(nx * npp).reshape(nx, npp)
    rows, cols, vals = [], [], []

    def jump(frm, to, rate):
        rows.extend([to, frm])
        cols.extend([frm, frm])
        vals.extend([rate, -rate])

    for x in range(nx):
        f = x ** N_X / (K_X ** N_X + x ** N_X)
        for p in range(npp):
            i = index[x, p]
            if x < X_MAX:
                jump(i, index[x + 1, p], ALPHA)
            if x > 0:
                jump(i, index[x - 1, p], BETA * x)
            if p < P_MAX and f > 0:
                jump(i, index[x, p + 1], K_P * f)
            if p > 0:
                jump(i, index[x, p - 1], GAMMA * p)
    q = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(nx * npp, nx * npp))
    p0 = np.zeros(nx * npp)
    p0[index[0, 0]] = 1.0
    dist = expm_multiply(q, p0, start=times[0], stop=times[-1], num=len(times),
                         endpoint=True).reshape(len(times), nx, npp)
    assert np.allclose(dist.sum(axis=(1, 2)), 1.0, atol=1e-10)
    return (moments(dist.sum(axis=2), np.arange(nx, dtype=float)),
            moments(dist.sum(axis=1), np.arange(npp, dtype=float)))


def test_hill_propensity_follows_its_regulator():
    model = ss.Model.from_dict(JOINT)
    ens = ss.simulate(model, JOINT_TIMES[-1], N_TRAJ, seed=SEED, sample_times=JOINT_TIMES)
    for k, exact in enumerate(joint_moments(JOINT_TIMES)):
        max_z, max_y, passes = dsmts_verdict(ens.counts[:, :, k].astype(float), *exact)
        assert passes, (model.species[k], max_z, max_y)
    assert joint_moments(JOINT_TIMES)[1][0][-1] > 4   # P really follows the X it has seen


def test_hill_check_rejects_a_stale_regulator(monkeypatch):
    """Check of the check: with the modifier edges gone from the dependency graph, the
    Hill propensity keeps the value it had at X = 0 and the test above fails."""
    import stochsyn.network as network_module

    original = network_module._dependencies

    def without_law_edges(model, *args):
        bare = tuple(dataclasses.replace(r, modifier=(), saturation=())
                     for r in model.reactions)
        return original(dataclasses.replace(model, reactions=bare), *args)

    monkeypatch.setattr(network_module, "_dependencies", without_law_edges)
    ens = ss.simulate(ss.Model.from_dict(JOINT), JOINT_TIMES[-1], 2_000, seed=SEED,
                      sample_times=JOINT_TIMES)
    assert not dsmts_verdict(ens.counts[:, :, 1].astype(float),
                             *joint_moments(JOINT_TIMES)[1])[2]
