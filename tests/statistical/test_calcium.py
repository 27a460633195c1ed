"""Spine-head Ca2+ modules (reactions/modules/calcium.toml, calbindin.toml,
calcium_simple.toml; docs/science.md §5) against their own mass-action ODEs, and docs/science.md §9 V4
(free-Ca decay after a brief influx).

Deterministic checks (fast): the derived numbers of each module header (pump counts, resting
leak, neck time constant τ_diff, calbindin site counts), the ODE steady state at
ca_rest = 50 nM with the neck on and off, and that the per-site calbindin scheme gives the
same free Ca as the source's nine-state scheme with its statistical factors of 2.

Statistical checks (``slow``):

* conservation: buffer (B + CaB, Bslow + CaBslow), pump (PMCA + CaPMCA, NCX + CaNCX) and
  calbindin site (Calb_H + CaCalb_H, Calb_M + CaCalb_M) totals are the same in every sample
  of every trajectory;
* rest: the ensemble mean of the per-trajectory time average of free Ca over 0.3–1 s,
  starting at rest, with neck diffusion on (the default), against the deterministic steady
  state of the module's mass-action ODE (in molecules; scipy). The SSA mean of a nonlinear
  network differs from the ODE by O(1/Ω): here the nonlinear terms are Ca·B, Ca·Bslow,
  Ca·PMCA, Ca·NCX (and Ca·Calb_H, Ca·Calb_M), and their covariance correction
  |Cov(Ca, X)| / (E[Ca] E[X]) ≤ sd(Ca) sd(X) / (E[Ca] E[X]) is at most ≈1.8 · 13 / (3 · 815)
  ≈ 1 % (PMCA, the largest; buffers ≈0.1 %, calbindin sites ≈0.4 %). The bound is 4 SE +
  1 % of the ODE value (kept from the first version of this file, whose 4000-trajectory
  pilot, another seed, showed no bias distinguishable from noise at rest or during the
  transient; a 1000-trajectory pilot of each V4 run added here, seed 777, which no test
  uses, was within 2 SE of its ODE in every window);
* V4 protocol: an instantaneous influx of N_ADD ions at t = 10 ms (the intervention `add`),
  1000 trajectories sampled every 0.5 ms to 150 ms. N_ADD = round(Ω · 1 µM · (1 + 20)) =
  1265: the ions that raise free Ca by 1 µM if the endogenous buffer capacity were docs/science.md
  §5's κ_E ≈ 20 (Sabatini et al. 2002). The peak reached shows the module's real capacity.
  The SSA mean of free Ca is compared with the ODE (a) in four windows (before the influx,
  10.5–30, 30–60, 60–150 ms): the ensemble mean of per-trajectory window averages within
  3 SE + 1 % (four comparisons; the bias allowance as at rest), and, for the default
  module, (b) at every sample within 4 SE + 1 % (301 correlated comparisons, hence 4 SE).
  The decay time constant τ is a least-squares single exponential fitted to the mean free
  Ca above rest, from the first sample after the influx (the buffered peak; the fast buffer
  equilibrates in ~0.05 ms, so the sample at exactly 10 ms, taken after the intervention,
  holds the unbuffered 21 µM and is skipped) to the first sample below 10 % of the peak
  excess. The SSA τ must match the ODE τ within 4 jackknife SE + 1 %.

  Measured with the seeds below (τ of the SSA mean ± jackknife SE; ODE τ in brackets),
  docs/science.md V4 asks for τ in 8–25 ms and κ_E (buffers + pumps) in 10–40:
    calcium.toml, neck diffusion on (default)   τ = 15.9 ± 0.04 ms [15.9], κ_E 34.8 ± 0.14  PASS
    calcium.toml, neck off                      τ = 28.7 ms (analysis/calcium.py)  FAIL
    + calbindin.toml (neck on)                  τ = 29.8 ± 1.2 ms [32.8]  FAIL (xfail, strict)
    calcium_simple.toml (neck on)               τ = 28.8 ± 0.1 ms [28.8]  FAIL (xfail, strict)
  The default's two buffer totals are fitted to V4's κ_E inside their sourced ranges
  (immobile 62 µM of 62–80, slow buffer off of 0–40; calcium.toml header "Calibration to
  V4"; with Mahajan & Nadkarni's 80 + 40 µM: τ 22.9 ms, κ_E 49.5, out of range); every
  other number is the sourced one of the module headers. The neck matters (Rodrigues et
  al. 2023: τ_diff = 1.56 ms at 0.1 fL, here with a dendrite held at ca_rest; with the
  source's dendrite at max(ca_rest, Ca/3) the ODE gives 17.0 ms); none of these decays is
  one exponential, and the same fit started 5 ms after the influx gives 20.0 ms for the
  default (ODE; analysis/calcium.py).
  The definition of τ above is the one this file had before the neck was added.

Negative controls: the same comparisons must fail against a 10 % higher resting level, a
PMCA density 20 % lower (same resting level), a neck exchange 20 % slower (D_Ca 20 % lower),
calbindin with the code's factor-2 numbers taken as per-site constants (each site twice as
fast, same Kd), and the simple module with its buffer at calcium.toml's 80 µM.

Seeds: SEED = 20261122 was fixed before any run of this file and is never re-picked. The
default module's V4 and rest runs keep SEED and SEED + 1 (now with the neck on); the runs
added for calbindin and the simple module use SEED + 2 and SEED + 3, fixed before their
first run.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import curve_fit

import stochsyn as ss

SEED = 20261122
ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "reactions" / "modules"
MODULE = MODULES / "calcium.toml"
CALBINDIN = MODULES / "calbindin.toml"
SIMPLE = MODULES / "calcium_simple.toml"

OMEGA = 60.2214076          # molecules per µM in 0.1 fL
N_ADD = round(OMEGA * 1.0 * (1 + 20))      # 1265 ions
T_ADD, T_END, DT = 0.010, 0.150, 0.0005
N_V4 = 1000
N_REST, T_REST_END, T_REST_FROM = 400, 1.0, 0.3
REL_BIAS = 0.01             # O(1/Ω) allowance (module docstring)
WINDOWS = ((0.0, T_ADD), (T_ADD + DT, 0.030), (0.030, 0.060), (0.060, T_END + DT))
TOTALS = (("B", "CaB"), ("Bslow", "CaBslow"), ("PMCA", "CaPMCA"), ("NCX", "CaNCX"))
CALB_TOTALS = (("Calb_H", "CaCalb_H"), ("Calb_M", "CaCalb_M"))
V4_RANGE = (0.008, 0.025)   # docs/science.md §9 V4, s


def module(path: Path = MODULE, volume: str = "0.1 fL", **parameters) -> ss.Model:
    """The module at ``path`` included by a model of ``volume`` (a module takes its
    compartment volume from the including model: ``ca_volume = "model_volume"``)."""
    model = ss.Model.from_dict({"model": {"name": path.stem, "volume": volume,
                                          "include": [str(path)]}},
                               source=f"<a model including {path.name}>")
    return _with_file_units(model, parameters)


def _with_file_units(model: ss.Model, parameters: dict) -> ss.Model:
    """``model.with_parameters(**parameters)`` for numbers meant in the units the module
    file writes (the tests scale the file's own values), without the UnitWarning a user
    gets for a bare number."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ss.model.UnitWarning)
        return model.with_parameters(**parameters)


def v4_model(path: Path = MODULE, **parameters) -> ss.Model:
    """The module at ``path`` included by a model that adds N_ADD ions at T_ADD."""
    model = ss.Model.from_dict({
        "model": {"name": "calcium_v4", "volume": "0.1 fL", "include": [str(path)]},
        "interventions": [{"time": T_ADD, "add": {"Ca": N_ADD}}]})
    return _with_file_units(model, parameters)


def ode_rhs(model: ss.Model):
    """Deterministic mass action in molecules: v = c · Π x_s^ν_s over the reactants.

    Every reaction of the Ca modules has reactants of ν = 1 or none, so this is the ODE whose
    large-Ω limit the SSA approaches: zero order (the neck's and the first-order
    extrusion's return influx, the resting leak: v = c), first order (the neck efflux, the
    simple extrusion, unbinding, pump turnover: v = c x) and second order (binding:
    v = c x_Ca x_B).
    """
    reactions = [(r.rate, r.reactants, r.products) for r in model.reactions]
    assert all(nu == 1 for _, reactants, _ in reactions for _, nu in reactants)
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


def fit_decay(times: np.ndarray, free: np.ndarray, rest: float, delay: float = 0.0):
    """(τ, peak excess, index of the peak, index of the end) of a single exponential fitted
    by least squares to free − rest from the first sample after the influx to the first
    sample below 10 % of the peak excess. With ``delay`` (s) the fit starts at the first
    sample more than ``delay`` after the influx instead (analysis/calcium.py: how much τ
    depends on the start of a fit to a decay that is not a single exponential)."""
    start = int(np.searchsorted(times, T_ADD + delay + 1e-9))
    excess = free - rest
    below = np.nonzero(excess[start:] < 0.1 * excess[start])[0]
    end = start + int(below[0]) if below.size else len(times)
    t = times[start:end] - times[start]
    (amplitude, tau), _ = curve_fit(lambda s, a, k: a * np.exp(-s / k), t, excess[start:end],
                                    p0=(excess[start], 0.03))
    return float(tau), float(excess[start]), start, end


def jackknife_tau(ens, rest: float, groups: int = 10) -> tuple[float, float]:
    """(τ of the ensemble mean, its delete-a-group jackknife SE)."""
    values = ens.values("Ca").astype(float)
    tau = fit_decay(ens.times, values.mean(axis=0), rest)[0]
    parts = np.array_split(np.arange(values.shape[0]), groups)
    taus = np.array([fit_decay(ens.times, np.delete(values, g, axis=0).mean(axis=0), rest)[0]
                     for g in parts])
    return tau, math.sqrt((groups - 1) / groups * np.sum((taus - taus.mean()) ** 2))


def v4_run_of(path: Path, seed: int):
    return ss.simulate(v4_model(path), T_END, N_V4, seed=seed, sample_every=DT)


@pytest.fixture(scope="module")
def rest_run():
    return ss.simulate(module(), T_REST_END, N_REST, seed=SEED + 1, sample_every=0.001)


@pytest.fixture(scope="module")
def v4_run():
    return v4_run_of(MODULE, SEED)


@pytest.fixture(scope="module")
def v4_calbindin_run():
    return v4_run_of(CALBINDIN, SEED + 2)


@pytest.fixture(scope="module")
def v4_simple_run():
    return v4_run_of(SIMPLE, SEED + 3)


# --------------------------------------------------------------- deterministic checks

def rates(model):
    return {r.name: r.rate for r in model.reactions}


def test_module_numbers():
    """The derived numbers of the calcium.toml header: 0.1 fL head, ≈1.04 µm² area, pump
    counts, resting leak, neck τ_diff = 1.558 ms, and an ODE steady state at
    ca_rest = 50 nM with the neck on (default) and off."""
    model = module()
    x0 = dict(zip(model.species, model.x0))
    assert x0["B"] + x0["CaB"] == round(62 * OMEGA)          # 62 uM (fitted to V4)
    assert x0["Bslow"] + x0["CaBslow"] == 0                  # the slow buffer is off
    assert x0["PMCA"] + x0["CaPMCA"] in (1041, 1042)     # 1041.7, each part rounded
    assert x0["NCX"] + x0["CaNCX"] in (145, 146)          # 145.8
    c = rates(model)
    assert c["ca_resting_leak"] == pytest.approx(2.718, abs=1e-3)
    # τ_diff = V/(2 D d) + L²/(2 D) = 0.1/(2·0.3338·0.1) + 0.04/(2·0.3338) ms
    tau_diff = (0.1 / (2 * 0.3338 * 0.1) + 0.2 ** 2 / (2 * 0.3338)) * 1e-3
    assert tau_diff == pytest.approx(1.5578e-3, rel=1e-4)
    assert c["ca_neck_efflux"] == pytest.approx(1 / tau_diff, rel=1e-9)
    assert c["ca_neck_influx"] == pytest.approx(0.05 * OMEGA / tau_diff, rel=1e-9)
    for neck in (1, 0):
        m = module(ca_neck_diffusion=neck)
        ss_ca = ode_steady_state(m)[m.species.index("Ca")]
        assert ss_ca / OMEGA == pytest.approx(0.050, rel=2e-3), neck
    assert rates(module(ca_neck_diffusion=0))["ca_neck_efflux"] == 0.0
    # the module follows the including model's volume: twice the volume, twice the
    # buffer molecules, half the per-pair binding constant, the neck's V/(2 D d) doubled
    double = module(volume="0.2 fL")
    x2 = dict(zip(double.species, double.x0))
    assert abs(x2["B"] + x2["CaB"] - 62 * 2 * OMEGA) <= 1     # each part rounded
    c2 = rates(double)
    assert c2["ca_buffer_fwd"] == pytest.approx(c["ca_buffer_fwd"] / 2, rel=1e-12)
    tau_diff_2 = (0.2 / (2 * 0.3338 * 0.1) + 0.2 ** 2 / (2 * 0.3338)) * 1e-3
    assert c2["ca_neck_efflux"] == pytest.approx(1 / tau_diff_2, rel=1e-9)
    with pytest.raises(ss.ModelError, match="model_volume.*no volume"):
        ss.load_model(MODULE)


def test_calbindin_numbers():
    """calbindin.toml: 45 µM = 2710 molecules → 5420 sites of each type, at their binding
    equilibrium at ca_rest; per-site constants converted with ca_volume; the ODE steady
    state stays at ca_rest; including calcium.toml too, in either order, changes nothing."""
    model = module(CALBINDIN)
    x0 = dict(zip(model.species, model.x0))
    for free, bound in CALB_TOTALS:
        assert x0[free] + x0[bound] in (5419, 5420, 5421)          # 2 · 2709.96, rounded
    assert x0["CaCalb_H"] / 5420 == pytest.approx(0.05 / (0.05 + 2.6 / 11), abs=1e-3)
    assert x0["CaCalb_M"] / 5420 == pytest.approx(0.05 / (0.05 + 35.8 / 87), abs=1e-3)
    c = rates(model)
    assert c["calb_high_site_fwd"] == pytest.approx(11 / OMEGA, rel=1e-9)
    assert c["calb_high_site_rev"] == 2.6
    assert c["calb_medium_site_fwd"] == pytest.approx(87 / OMEGA, rel=1e-9)
    assert c["calb_medium_site_rev"] == 35.8
    assert ode_steady_state(model)[model.species.index("Ca")] / OMEGA == pytest.approx(
        0.050, rel=2e-3)
    for order in ([MODULE, CALBINDIN], [CALBINDIN, MODULE]):
        both = ss.Model.from_dict({"model": {"name": "spine", "volume": "0.1 fL",
                                             "include": [str(p) for p in order]}})
        assert both.species == model.species and both.x0 == model.x0
        assert rates(both) == c


def nine_state_calbindin_ca(times, ca0_um, calb_um, p_h, p_m, factor=(2, 1)):
    """Free Ca (µM) of Ca + calbindin alone in the source's nine-state scheme
    (spine_model() of Mahajan & Nadkarni's code: km0m1 = 174, km1m2 = 87, km1m0 = 35.8,
    km2m1 = 71.6, kh0h1 = 22, kh1h2 = 11, kh1h0 = 2.6, kh2h1 = 5.2), started with
    independently occupied sites (binomial in each type)."""
    kon = {"m": (174.0, 87.0), "h": (22.0, 11.0)}       # X -> X+1 for X = 0, 1
    koff = {"m": (35.8, 71.6), "h": (2.6, 5.2)}         # X -> X-1 for X = 1, 2
    binom = lambda p: np.array([(1 - p) ** 2, 2 * p * (1 - p), p ** 2])  # noqa: E731
    y0 = np.concatenate([[ca0_um], (calb_um * np.outer(binom(p_m), binom(p_h))).ravel()])

    def rhs(_t, y):
        ca, s = y[0], y[1:].reshape(3, 3)              # s[m, h]
        d = np.zeros((3, 3))
        dca = 0.0
        for axis, key in ((0, "m"), (1, "h")):
            for x in (0, 1):
                lo = s[x, :] if axis == 0 else s[:, x]
                hi = s[x + 1, :] if axis == 0 else s[:, x + 1]
                flux = kon[key][x] * ca * lo - koff[key][x] * hi     # x -> x+1, net
                if axis == 0:
                    d[x, :] -= flux
                    d[x + 1, :] += flux
                else:
                    d[:, x] -= flux
                    d[:, x + 1] += flux
                dca -= flux.sum()
        return np.concatenate([[dca], d.ravel()])
    sol = solve_ivp(rhs, (0, times[-1]), y0, t_eval=times, method="LSODA", rtol=1e-10,
                    atol=1e-12)
    return sol.y[0]


def test_per_site_calbindin_is_the_nine_state_scheme():
    """The module's per-site species with per-site constants (11, 2.6; 87, 35.8) give the
    same free Ca as the source's nine-state scheme with the statistical factors (22, 5.2;
    174, 71.6): Ca + calbindin alone (everything else of calcium.toml switched off), after
    N_ADD ions, to 1e-6. The code's numbers used as per-site constants (a factor 2 too
    fast, same Kd) differ visibly."""
    off = dict(ca_B_total=0, ca_Bslow_total=0, ca_pmca_density=0, ca_ncx_density=0,
               ca_neck_diffusion=0)
    times = np.linspace(0, 0.05, 101)

    def per_site(**extra):
        model = module(CALBINDIN, **off, **extra)
        x0 = dict(zip(model.species, model.x0))
        # only Ca and the calbindin sites remain: no buffer or pump molecules, no influx
        assert not any(x0[n] for pair in TOTALS for n in pair)
        assert all(r.rate == 0 for r in model.reactions if not r.reactants)
        x0 = np.array(model.x0, float)
        x0[model.species.index("Ca")] += N_ADD
        sol = solve_ivp(ode_rhs(model), (0, times[-1]), x0, t_eval=times, method="LSODA",
                        rtol=1e-10, atol=1e-10)
        return model, sol.y[model.species.index("Ca")] / OMEGA

    model, ca = per_site()
    x0 = dict(zip(model.species, model.x0))
    h_total, m_total = x0["Calb_H"] + x0["CaCalb_H"], x0["Calb_M"] + x0["CaCalb_M"]
    assert h_total == m_total
    reference = nine_state_calbindin_ca(times, (x0["Ca"] + N_ADD) / OMEGA,
                                        h_total / 2 / OMEGA, x0["CaCalb_H"] / h_total,
                                        x0["CaCalb_M"] / m_total)
    assert np.allclose(ca, reference, rtol=1e-6, atol=1e-9)
    _, doubled = per_site(calb_H_kon=22, calb_H_koff=5.2, calb_M_kon=174, calb_M_koff=71.6)
    assert np.max(np.abs(doubled - reference)) > 0.1 * (reference[1] - reference[-1])


def test_simple_module_numbers():
    """calcium_simple.toml: 62 µM buffer, relaxation at 1/10 ms to 50 nM, the same neck as
    calcium.toml; ODE steady state at ca_rest with and without the neck."""
    model = module(SIMPLE)
    x0 = dict(zip(model.species, model.x0))
    assert x0["B"] + x0["CaB"] == round(62 * OMEGA)
    c = rates(model)
    assert c["ca_simple_extrusion"] == pytest.approx(100.0)
    assert c["ca_simple_influx"] == pytest.approx(0.05 * OMEGA * 100.0)
    assert c["ca_neck_efflux"] == rates(module())["ca_neck_efflux"]
    for neck in (1, 0):
        m = module(SIMPLE, ca_neck_diffusion=neck)
        ss_ca = ode_steady_state(m)[m.species.index("Ca")]
        assert ss_ca / OMEGA == pytest.approx(0.050, rel=1e-6)


def test_calcium_and_calcium_simple_cannot_be_combined():
    with pytest.raises(ss.ModelError, match="defined in two included files"):
        ss.Model.from_dict({"model": {"name": "spine", "volume": "0.1 fL",
                                      "include": [str(MODULE), str(SIMPLE)]}})


# ---------------------------------------------------------------- statistical checks

@pytest.mark.slow
@pytest.mark.parametrize("run, path, totals", [
    ("rest_run", MODULE, TOTALS), ("v4_run", MODULE, TOTALS),
    ("v4_calbindin_run", CALBINDIN, TOTALS + CALB_TOTALS),
    ("v4_simple_run", SIMPLE, (("B", "CaB"),))], ids=["rest", "v4", "v4_calbindin",
                                                       "v4_simple"])
def test_buffer_pump_and_site_totals_are_conserved(run, path, totals, request):
    ens = request.getfixturevalue(run)
    x0 = module(path).x0
    assert np.all(ens.status == 0)
    assert tuple(ens.species) == module(path).species
    assert np.all(ens.counts[:, 0, :] == np.array(x0))     # starts at rest
    x0 = dict(zip(ens.species, x0))
    for free, bound in totals:
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


@pytest.mark.slow
def test_resting_free_ca_matches_the_ode_steady_state(rest_run):
    """With neck diffusion on (the default): ≈1930 ions/s in and out through the neck."""
    model = module()
    assert rates(model)["ca_neck_efflux"] > 600
    expected = ode_steady_state(model)[model.species.index("Ca")]     # 3.011 molecules
    mean, se, ok = rest_verdict(rest_run, expected)
    assert ok, (mean, se, expected)


@pytest.mark.slow
def test_resting_level_10_percent_off_is_rejected(rest_run):
    model = module()
    expected = 1.1 * ode_steady_state(model)[model.species.index("Ca")]
    assert not rest_verdict(rest_run, expected)[2]


def v4_verdict(ens, ode_free):
    """Every sample: |SSA mean − ODE| ≤ 4 SE + 1 %."""
    values = ens.values("Ca").astype(float)
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
    bound = 4 * se + REL_BIAS * ode_free
    return mean, bool(np.all(np.abs(mean - ode_free) <= bound + 1e-12))


def window_verdict(ens, ode_free):
    """Each window of WINDOWS: |mean of per-trajectory window averages − ODE window
    average| ≤ 3 SE + 1 %. Returns (list of (SSA, SE, ODE) per window, all within)."""
    values = ens.values("Ca").astype(float)
    rows, ok = [], True
    for a, b in WINDOWS:
        sel = (ens.times >= a - 1e-12) & (ens.times < b - 1e-12)
        per_trajectory = values[:, sel].mean(axis=1)
        mean = per_trajectory.mean()
        se = per_trajectory.std(ddof=1) / math.sqrt(per_trajectory.size)
        expected = ode_free[sel].mean()
        rows.append((mean, se, expected))
        ok &= abs(mean - expected) <= 3 * se + REL_BIAS * expected
    return rows, bool(ok)


def check_v4_follows_the_ode(ens, model):
    ode = ode_v4(model, ens.times)
    i = model.species.index("Ca")
    rows, ok = window_verdict(ens, ode[i])
    assert ok, rows
    rest = ode_steady_state(model)[i]
    tau_ssa, se_tau = jackknife_tau(ens, rest)
    tau_ode, peak_ode, *_ = fit_decay(ens.times, ode[i], rest)
    assert abs(tau_ssa - tau_ode) <= 4 * se_tau + REL_BIAS * tau_ode, (tau_ssa, tau_ode, se_tau)
    peak_ssa = fit_decay(ens.times, ens.values("Ca").mean(axis=0), rest)[1]
    assert peak_ssa == pytest.approx(peak_ode, rel=0.05)
    return ode[i]


@pytest.mark.slow
def test_v4_mean_free_ca_follows_the_ode(v4_run):
    ode_free = check_v4_follows_the_ode(v4_run, v4_model())
    assert v4_verdict(v4_run, ode_free)[1]


@pytest.mark.slow
def test_v4_with_calbindin_follows_the_ode(v4_calbindin_run):
    check_v4_follows_the_ode(v4_calbindin_run, v4_model(CALBINDIN))


@pytest.mark.slow
def test_v4_simple_module_follows_the_ode(v4_simple_run):
    check_v4_follows_the_ode(v4_simple_run, v4_model(SIMPLE))


@pytest.mark.slow
@pytest.mark.parametrize("run, path, wrong", [
    # 20 % fewer PMCA pumps (the resting leak is recomputed: same resting level)
    ("v4_run", MODULE, dict(ca_pmca_density=800)),
    # neck exchange 20 % slower
    ("v4_run", MODULE, dict(ca_D="0.26704 um^2/ms")),
    # the code's statistical factors taken as per-site constants (twice as fast, same Kd)
    ("v4_calbindin_run", CALBINDIN, dict(calb_H_kon=22, calb_H_koff=5.2, calb_M_kon=174,
                                         calb_M_koff=71.6)),
    # the simple module with calcium.toml's 80 µM immobile buffer instead of 62 µM
    ("v4_simple_run", SIMPLE, dict(ca_B_total=80)),
], ids=["pmca_-20%", "neck_-20%", "calbindin_factor_2", "simple_buffer_80uM"])
def test_v4_wrong_rate_is_rejected(run, path, wrong, request):
    """Negative controls: the ODE of a module with one wrong number must not fit."""
    ens = request.getfixturevalue(run)
    model = v4_model(path, **wrong)
    ode = ode_v4(model, ens.times)[model.species.index("Ca")]
    assert not window_verdict(ens, ode)[1]
    if path == MODULE:
        assert not v4_verdict(ens, ode)[1]


def v4_tau(ens, path):
    model = module(path)
    rest = ode_steady_state(model)[model.species.index("Ca")]
    return fit_decay(ens.times, ens.values("Ca").astype(float).mean(axis=0), rest)[0]


@pytest.mark.slow
def test_v4_decay_time_constant_is_in_the_science_range(v4_run):
    """calcium.toml with its defaults (neck diffusion on): τ = 15.9 ms, in 8–25 ms (22.9 ms
    before the buffers were fitted to κ_E). Without the neck τ = 28.7 ms, and a fit started
    5 ms later gives 20.0 ms (module docstring)."""
    tau = v4_tau(v4_run, MODULE)
    assert V4_RANGE[0] <= tau <= V4_RANGE[1], tau


KAPPA_RANGE = (10.0, 40.0)  # docs/science.md §9 V4: κ_E, buffers + pumps
BOUND_CA = ("CaB", "CaBslow", "CaPMCA", "CaNCX")
KAPPA_DELAY = 4             # samples (2 ms) after the buffered peak: analysis/calcium.py


def kappa_e(mean_of, rest: dict, start: int) -> float:
    """V4's κ_E: the increment of Ca bound to the buffers and pumps over the increment of
    free Ca, both against rest, 2 ms after the buffered peak (analysis/calcium.py, column
    "+pumps"; the slow buffer and the PMCA bind with τ ≈ 1 ms, so the peak sample itself
    would miss part of their share)."""
    k = start + KAPPA_DELAY
    bound = sum(mean_of(n)[k] - rest[n] for n in BOUND_CA)
    return bound / (mean_of("Ca")[k] - rest["Ca"])


@pytest.mark.slow
def test_v4_buffer_capacity_is_in_the_science_range(v4_run):
    """calcium.toml with its defaults: κ_E (buffers + pumps, +2 ms) = 34.9 (ODE 34.8), in
    10–40, with the immobile buffer at 62 µM and the slow buffer off (fitted to V4, module
    header "Calibration to V4"; with Mahajan & Nadkarni's 80 + 40 µM it was 49.5, the strict
    range failure this test replaces). The estimate's SE is a delete-a-tenth jackknife over
    the 1000 trajectories; the SSA κ must match the ODE's within 4 SE + 1 % (the bias
    allowance of the module docstring) and lie in the range by the SSA value itself."""
    model = module()
    rest = dict(zip(model.species, ode_steady_state(model)))
    ens = v4_run
    start = fit_decay(ens.times, ens.values("Ca").astype(float).mean(axis=0), rest["Ca"])[2]
    counts = {n: ens.values(n).astype(float) for n in ("Ca",) + BOUND_CA}
    kappa = kappa_e(lambda n: counts[n].mean(axis=0), rest, start)
    parts = np.array_split(np.arange(counts["Ca"].shape[0]), 10)
    kappas = np.array([kappa_e(lambda n, g=g: np.delete(counts[n], g, axis=0).mean(axis=0),
                               rest, start) for g in parts])
    se = math.sqrt(9 / 10 * np.sum((kappas - kappas.mean()) ** 2))
    ode = ode_v4(v4_model(), ens.times)
    ode_start = fit_decay(ens.times, ode[model.species.index("Ca")], rest["Ca"])[2]
    assert ode_start == start
    kappa_ode = kappa_e(lambda n: ode[model.species.index(n)], rest, start)
    assert abs(kappa - kappa_ode) <= 4 * se + REL_BIAS * kappa_ode, (kappa, se, kappa_ode)
    assert KAPPA_RANGE[0] <= kappa <= KAPPA_RANGE[1], (kappa, se)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="docs/science.md V4 fails with calbindin (45 µM, §5 numbers): "
                                        "τ = 29.8 ± 1.2 ms (ODE 32.8 ms), not 8–25 ms "
                                        "(calbindin's κ ≈ 430 at rest; docs/science.md §10 "
                                        "item 4); not tuned")
def test_v4_with_calbindin_is_in_the_science_range(v4_calbindin_run):
    tau = v4_tau(v4_calbindin_run, CALBINDIN)
    assert V4_RANGE[0] <= tau <= V4_RANGE[1], tau


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="docs/science.md V4 fails with the simple module at 0.1 fL: "
                                        "τ = 29 ms, not 8–25 ms (62 µM buffer, τ_ca 10 ms, "
                                        "τ_diff 1.56 ms); not tuned")
def test_v4_simple_module_is_in_the_science_range(v4_simple_run):
    tau = v4_tau(v4_simple_run, SIMPLE)
    assert V4_RANGE[0] <= tau <= V4_RANGE[1], tau
