"""Spine-head Ca2+ module (reactions/modules/calcium.toml, SCIENCE §5) against its own
mass-action ODE, and SCIENCE §9 V4 (free-Ca decay after a brief influx).

* conservation: buffer (B + CaB, Bslow + CaBslow) and pump (PMCA + CaPMCA, NCX + CaNCX)
  totals are the same in every sample of every trajectory;
* rest: the ensemble mean of the per-trajectory time average of free Ca over 0.3–1 s,
  starting at rest, against the deterministic steady state of the module's mass-action ODE
  (in molecules; scipy). The SSA mean of a nonlinear network differs from the ODE by
  O(1/Ω): here the nonlinear terms are Ca·B, Ca·Bslow, Ca·PMCA, Ca·NCX, and their
  covariance correction |Cov(Ca, X)| / (E[Ca] E[X]) ≤ sd(Ca) sd(X) / (E[Ca] E[X]) is at most
  ≈1.8 · 13 / (3 · 815) ≈ 1 % (PMCA, the largest; buffers ≈0.1 %). The bound is 4 SE + 1 %
  of the ODE value; a 4000-trajectory pilot (another seed) showed no bias distinguishable
  from noise at rest or during the transient;
* V4: an instantaneous influx of N_ADD ions at t = 10 ms (the intervention `add`), 1000
  trajectories sampled every 0.5 ms. N_ADD = round(Ω · 1 µM · (1 + 20)) = 1265: the ions
  that raise free Ca by 1 µM if the endogenous buffer capacity were SCIENCE §5's κ_E ≈ 20
  (Sabatini et al. 2002). The peak reached shows the module's real capacity. The decay time
  constant τ is a least-squares single exponential fitted to the mean free Ca above rest,
  from the first sample after the influx (the buffered peak; the fast buffer equilibrates
  in ~0.05 ms, so the sample at exactly 10 ms, taken after the intervention, holds the
  unbuffered 21 µM and is skipped) to the first sample below 10 % of the peak excess.

  With the §5 numbers (Mahajan & Nadkarni 2019) τ ≈ 42 ms, outside V4's 8–25 ms: the
  buffers alone give κ ≈ 54 at rest (not ≈20), and the PMCA, 17 µM of a 0.18 µM-affinity
  carrier with a 12 /s turnover, adds a slow tail (small-signal τ ≈ 80 ms). Nothing is
  tuned here: the test asserts that the SSA mean follows the ODE, and the V4 range check is
  an xfail (strict) that records the failure.

Negative controls: the same comparisons against a 10 % higher resting level and against a
PMCA density 20 % lower (same resting level) must fail.
SEED = 20261122 was fixed before any run of this file and is never re-picked.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import curve_fit

import stochsyn as ss

SEED = 20261122
ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "reactions" / "modules" / "calcium.toml"

OMEGA = 60.2214076          # molecules per µM in 0.1 fL
N_ADD = round(OMEGA * 1.0 * (1 + 20))      # 1265 ions
T_ADD, T_END, DT = 0.010, 0.150, 0.0005
N_V4 = 1000
N_REST, T_REST_END, T_REST_FROM = 400, 1.0, 0.3
REL_BIAS = 0.01             # O(1/Ω) allowance (module docstring)
TOTALS = (("B", "CaB"), ("Bslow", "CaBslow"), ("PMCA", "CaPMCA"), ("NCX", "CaNCX"))


def module(**parameters) -> ss.Model:
    model = ss.load_model(MODULE)
    return model.with_parameters(**parameters) if parameters else model


def v4_model(**parameters) -> ss.Model:
    """The module included by a model that adds N_ADD ions at T_ADD."""
    model = ss.Model.from_dict({
        "model": {"name": "calcium_v4", "volume": "0.1 fL", "include": [str(MODULE)]},
        "interventions": [{"time": T_ADD, "add": {"Ca": N_ADD}}]})
    return model.with_parameters(**parameters) if parameters else model


def ode_rhs(model: ss.Model):
    """Deterministic mass action in molecules: v = c · Π x_s^ν_s (all reactants here have
    ν = 1, so this is the ODE whose large-Ω limit the SSA approaches)."""
    reactions = [(r.rate, r.reactants, r.products) for r in model.reactions]
    n = model.n_species

    def rhs(_t, x):
        dx = np.zeros(n)
        for rate, reactants, products in reactions:
            v = rate
            for i, nu in reactants:
                v *= x[i] ** nu
            for i, nu in reactants:
                dx[i] -= nu * v
            for i, nu in products:
                dx[i] += nu * v
        return dx
    return rhs


def ode_steady_state(model: ss.Model) -> np.ndarray:
    rhs = ode_rhs(model)
    sol = solve_ivp(rhs, (0.0, 100.0), np.array(model.x0, float), method="LSODA",
                    rtol=1e-11, atol=1e-11)
    x = sol.y[:, -1]
    assert np.max(np.abs(rhs(0, x))) < 1e-6
    return x


def ode_v4(model: ss.Model, times: np.ndarray) -> np.ndarray:
    """ODE solution (molecules, species × times) of the V4 protocol from the module's x0."""
    rhs = ode_rhs(model)
    before, after = times[times <= T_ADD], times[times >= T_ADD]
    a = solve_ivp(rhs, (0.0, T_ADD), np.array(model.x0, float), method="LSODA",
                  rtol=1e-10, atol=1e-10, t_eval=before)
    x = a.y[:, -1].copy()
    x[model.species.index("Ca")] += N_ADD
    b = solve_ivp(rhs, (T_ADD, times[-1]), x, method="LSODA", rtol=1e-10, atol=1e-10,
                  t_eval=after)
    return np.concatenate([a.y[:, :-1], b.y], axis=1)


def fit_decay(times: np.ndarray, free: np.ndarray, rest: float):
    """(τ, peak excess, index of the peak, index of the end) of a single exponential fitted
    by least squares to free − rest from the first sample after the influx to the first
    sample below 10 % of the peak excess."""
    start = int(np.searchsorted(times, T_ADD + 1e-9))
    excess = free - rest
    below = np.nonzero(excess[start:] < 0.1 * excess[start])[0]
    end = start + int(below[0]) if below.size else len(times)
    t = times[start:end] - times[start]
    (amplitude, tau), _ = curve_fit(lambda s, a, k: a * np.exp(-s / k), t, excess[start:end],
                                    p0=(excess[start], 0.03))
    return float(tau), float(excess[start]), start, end


@pytest.fixture(scope="module")
def rest_run():
    return ss.simulate(module(), T_REST_END, N_REST, seed=SEED + 1, sample_every=0.001)


@pytest.fixture(scope="module")
def v4_run():
    return ss.simulate(v4_model(), T_END, N_V4, seed=SEED, sample_every=DT)


def test_module_numbers():
    """The derived numbers of the module header: 0.1 fL head, ≈1.04 µm² area, pump counts,
    resting leak, and an ODE steady state at ca_rest = 50 nM."""
    model = module()
    x0 = dict(zip(model.species, model.x0))
    assert x0["B"] + x0["CaB"] == round(80 * OMEGA)
    assert x0["PMCA"] + x0["CaPMCA"] in (1041, 1042)     # 1041.7, each part rounded
    assert x0["NCX"] + x0["CaNCX"] in (145, 146)          # 145.8
    leak = {r.name: r.rate for r in model.reactions}["ca_resting_leak"]
    assert leak == pytest.approx(2.718, abs=1e-3)
    ss_ca = ode_steady_state(model)[model.species.index("Ca")]
    assert ss_ca / OMEGA == pytest.approx(0.050, rel=2e-3)
    # included in a model that sets the volume, the network is the same
    included = ss.Model.from_dict({"model": {"name": "spine", "volume": "0.1 fL",
                                             "include": [str(MODULE)]}})
    assert included.x0 == model.x0
    assert [r.rate for r in included.reactions] == [r.rate for r in model.reactions]


@pytest.mark.parametrize("run", ["rest_run", "v4_run"])
def test_buffer_and_pump_totals_are_conserved(run, request):
    ens = request.getfixturevalue(run)
    assert np.all(ens.status == 0)
    assert tuple(ens.species) == module().species
    assert np.all(ens.counts[:, 0, :] == np.array(module().x0))     # starts at rest
    x0 = dict(zip(ens.species, module().x0))
    for free, bound in TOTALS:
        total = ens.values(free) + ens.values(bound)
        assert np.all(total == x0[free] + x0[bound]), (free, bound)
    assert np.all(ens.values("Ca") >= 0)


def rest_verdict(ens, expected: float):
    window = ens.times >= T_REST_FROM - 1e-12
    per_trajectory = ens.values("Ca")[:, window].astype(float).mean(axis=1)
    mean = per_trajectory.mean()
    se = per_trajectory.std(ddof=1) / math.sqrt(per_trajectory.size)
    bound = 4 * se + REL_BIAS * expected
    return mean, se, abs(mean - expected) <= bound


def test_resting_free_ca_matches_the_ode_steady_state(rest_run):
    model = module()
    expected = ode_steady_state(model)[model.species.index("Ca")]     # 3.011 molecules
    mean, se, ok = rest_verdict(rest_run, expected)
    assert ok, (mean, se, expected)


def test_resting_level_10_percent_off_is_rejected(rest_run):
    model = module()
    expected = 1.1 * ode_steady_state(model)[model.species.index("Ca")]
    assert not rest_verdict(rest_run, expected)[2]


def v4_verdict(ens, ode_free):
    values = ens.values("Ca").astype(float)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    bound = 4 * se + REL_BIAS * ode_free
    return mean, bool(np.all(np.abs(mean - ode_free) <= bound + 1e-12))


def test_v4_mean_free_ca_follows_the_ode(v4_run):
    model = v4_model()
    ode = ode_v4(model, v4_run.times)
    i = model.species.index("Ca")
    mean, ok = v4_verdict(v4_run, ode[i])
    assert ok
    rest = ode_steady_state(model)[i]
    tau_ssa, peak_ssa, *_ = fit_decay(v4_run.times, mean, rest)
    tau_ode, peak_ode, *_ = fit_decay(v4_run.times, ode[i], rest)
    # the fit of the mean of 1000 trajectories: a few % (jackknife below)
    groups = np.array_split(np.arange(N_V4), 10)
    taus = [fit_decay(v4_run.times, np.delete(v4_run.values("Ca"), g, axis=0).mean(axis=0),
                      rest)[0] for g in groups]
    se_tau = math.sqrt(9 / 10 * np.sum((np.array(taus) - np.mean(taus)) ** 2))
    assert abs(tau_ssa - tau_ode) <= 4 * se_tau + REL_BIAS * tau_ode, (tau_ssa, tau_ode, se_tau)
    assert peak_ssa == pytest.approx(peak_ode, rel=0.05)


def test_v4_slower_pmca_is_rejected(v4_run):
    """Negative control: the ODE of a module with 20 % fewer PMCA pumps (the resting leak
    is recomputed, so the resting level is the same) must not fit."""
    model = v4_model(ca_pmca_density=800)
    ode = ode_v4(model, v4_run.times)
    assert not v4_verdict(v4_run, ode[model.species.index("Ca")])[1]


@pytest.mark.xfail(strict=True, reason="SCIENCE V4 fails with the §5 numbers: τ ≈ 42 ms, "
                                        "not 8–25 ms (κ ≈ 54 from the buffers plus PMCA "
                                        "binding); not tuned, see the module header")
def test_v4_decay_time_constant_is_in_the_science_range(v4_run):
    model = module()
    rest = ode_steady_state(model)[model.species.index("Ca")]
    tau, *_ = fit_decay(v4_run.times, v4_run.values("Ca").astype(float).mean(axis=0), rest)
    assert 0.008 <= tau <= 0.025, tau
