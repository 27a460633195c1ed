"""The hybrid mode's deterministic parts (stochsyn.engine.continuous): the ODE of the
continuous species against scipy's Radau, conservation under jumps, deficits,
interventions, the failure status, results and Parquet, and that switching the mode off
changes nothing.

Statistical checks of the coupling (a discrete reaction reading a continuous species, and
discrete influx into continuous buffers) are in tests/statistical/test_hybrid.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import stochsyn as ss
from stochsyn.engine import STATUS_TEXT
from stochsyn.ensemble import BudgetWarning, HybridWarning
from stochsyn.model import hybrid_roles
from stochsyn.network import COUPLED, FLUX, ODE_TERM, conservation_laws

SEED = 20261122


def build(species, reactions, continuous=None, **extra):
    data = {"model": {"name": "hybrid_test"}, "species": species, "reactions": reactions}
    if continuous is not None:
        data["continuous"] = continuous
    data.update(extra)
    return ss.Model.from_dict(data)


def rate_equations(model):
    """dy/dt of every species of ``model`` as in the module docstring (a_j = c Π y^ν/ν!
    times the Michaelis–Menten or Hill factor, or the input u(t) of an input-driven
    reaction), written out independently of the engine."""
    def rhs(t, y):
        dy = np.zeros(model.n_species)
        for r in model.reactions:
            a = r.rate * (float(model.inputs[r.input](t)) if r.kind == "input" else 1.0)
            for s, nu in r.reactants:
                a *= max(y[s], 0.0) ** nu / math.factorial(nu)
            if r.kind == "michaelis_menten":
                e = sum(w * y[i] for i, w in r.modifier) if r.modifier else 1.0
                a *= e / (r.half + sum(y[i] for i in r.saturation))
            elif r.kind == "hill":
                m = sum(w * y[i] for i, w in r.modifier)
                f = m ** r.hill_n / (r.half ** r.hill_n + m ** r.hill_n)
                a *= (1.0 - f) if r.repress else f
            for s, nu in r.reactants:
                dy[s] -= nu * a
            for s, nu in r.products:
                dy[s] += nu * a
        return dy
    return rhs


def radau(model, times):
    sol = solve_ivp(rate_equations(model), (0.0, times[-1]), np.array(model.x0, float),
                    method="Radau", rtol=1e-12, atol=1e-12, t_eval=times)
    assert sol.success
    return sol.y.T


PURE = {
    "decay": ({"A": 1000}, [{"name": "d", "equation": "A ->", "rate": 3.0}]),
    # the spine's fast buffer (c = 247 /uM/s in 0.1 fL), a neck-like exchange: stiff
    "buffer": ({"Ca": 100, "B": 500, "CaB": 0},
               [{"name": "b", "equation": "Ca + B <-> CaB", "rate": [4.1, 524.0]},
                {"name": "out", "equation": "Ca ->", "rate": 600.0},
                {"name": "in", "equation": "-> Ca", "rate": 2000.0}]),
    # a Michaelis–Menten pump, and a Hill source with positive feedback
    "pump": ({"Ca": 300, "P": 50},
             [{"name": "pump", "equation": "Ca ->",
               "rate": {"kind": "michaelis_menten", "kcat": "20 /s", "enzyme": "P", "km": 30}},
              {"name": "hill", "equation": "-> Ca",
               "rate": {"kind": "hill", "k": "50 /s", "of": "Ca", "K": 100, "n": 2.5}}]),
    # second order: dM/dt = -2 c M²/2 + 2 c' D
    "dimer": ({"M": 500, "D": 0}, [{"name": "dim", "equation": "2 M <-> D",
                                    "rate": [0.01, 0.5]}]),
}


@pytest.mark.parametrize("name", sorted(PURE))
def test_purely_continuous_models_follow_radau(name):
    """No discrete part: every trajectory is the ODE solution, within 20 (atol + rtol |y|)
    (the bound of the module docstring; measured at most 6.2 (pump), 0.9 elsewhere).
    Rodas4 alone (``linear = false``): the linear propagation would take the linear
    decay in one exact interval."""
    species, reactions = PURE[name]
    model = build(species, reactions, {"species": list(species), "linear": False})
    assert set(hybrid_roles(model)) == {"ode"}
    times = np.linspace(0.0, 1.0, 101)
    ens = ss.simulate(model, 1.0, 3, seed=SEED, sample_times=times)
    assert np.all(ens.n_events == 0) and np.all(ens.ode_steps > 0)
    got = np.stack([ens.values(s) for s in species], axis=2)
    np.testing.assert_array_equal(got[0], got[1])          # deterministic
    expected = radau(model, times)
    rtol, atol = model.continuous_tolerance
    assert (rtol, atol) == (1e-6, 1e-6)
    assert np.max(np.abs(got[0] - expected) / (atol + rtol * np.abs(expected))) < 20


def test_decay_matches_the_analytic_solution_and_tolerance_controls_the_error():
    species, reactions = PURE["decay"]
    times = np.linspace(0.0, 2.0, 41)
    errors = {}
    for tol in (1e-4, 1e-8):       # Rodas4 (the linear propagation is exact here)
        model = build(species, reactions, {"species": ["A"], "rtol": tol, "atol": tol,
                                           "linear": False})
        ens = ss.simulate(model, 2.0, 1, seed=SEED, sample_times=times)
        exact = 1000.0 * np.exp(-3.0 * times)
        errors[tol] = np.max(np.abs(ens.values("A")[0] - exact))
        assert errors[tol] < 20 * tol * 1000.0
    assert errors[1e-8] < 1e-3 * errors[1e-4]


def test_the_error_bound_fails_with_a_wrong_rate():
    """Negative control for the Radau comparison: 1 % off in one constant is far outside."""
    species, reactions = PURE["buffer"]
    model = build(species, reactions, {"species": list(species)})
    times = np.linspace(0.0, 0.2, 41)
    ens = ss.simulate(model, 0.2, 1, seed=SEED, sample_times=times)
    wrong = build(species, [dict(reactions[0], rate=[4.1 * 1.01, 524.0])] + reactions[1:],
                  {"species": list(species)})
    got = np.stack([ens.values(s)[0] for s in species], axis=1)
    expected = radau(wrong, times)
    assert np.max(np.abs(got - expected) / (1e-6 + 1e-6 * np.abs(expected))) > 100


CHANNEL_INFLUX = {
    # discrete channels open and close; an open one lets Ca in: one jump of +1 per ion
    # (flux = false), or by default a flux, a term 300·O of dCa/dt
    "species": {"C": 20, "O": 0, "Ca": 10, "B": 300, "CaB": 0},
    "reactions": [
        {"name": "gate", "equation": "C <-> O", "rate": [50.0, 200.0]},
        {"name": "influx", "equation": "O -> O + Ca", "rate": 300.0, "flux": False},
        {"name": "buffer", "equation": "Ca + B <-> CaB", "rate": [0.5, 30.0]},
    ],
}
CHANNEL_FLUX = {**CHANNEL_INFLUX,
                "reactions": [dict(r) for r in CHANNEL_INFLUX["reactions"]]}
del CHANNEL_FLUX["reactions"][1]["flux"]


def test_roles_of_the_channel_model():
    model = build(**CHANNEL_INFLUX, continuous={"species": ["Ca", "B", "CaB"]})
    assert hybrid_roles(model) == ("exact", "exact", "jump", "ode", "ode")
    network = ss.compile(model)
    assert list(network.arrays.rate_kind[3:]) == [ODE_TERM, ODE_TERM]
    assert list(network.hybrid.cont_idx) == [2, 3, 4]
    assert list(network.hybrid.jump_slot) == [0] and list(network.hybrid.jump_val) == [1]
    assert ss.compile(build(**CHANNEL_INFLUX)).hybrid is None
    flux = build(**CHANNEL_FLUX, continuous={"species": ["Ca", "B", "CaB"]})
    assert hybrid_roles(flux) == ("exact", "exact", "flux", "ode", "ode")
    network = ss.compile(flux)
    assert network.arrays.rate_kind[2] == FLUX and list(network.hybrid.fx_rx) == [2]
    assert len(network.hybrid.jump_slot) == 0
    # the gating changes O, which the flux reads: the ODE settles at each gating event,
    # after the counts changed (the flux's factor is compared); only a jump settles before
    assert list(network.hybrid.settle_before) == [0, 0, 0, 0, 0]
    assert list(network.hybrid.fxdep_ptr) == [0, 1, 2, 2, 2, 2]
    # a flux = true on a reaction that changes a discrete species is refused, naming it
    bad = [dict(r) for r in CHANNEL_INFLUX["reactions"]]
    bad[0] = {"name": "gate", "equation": "C -> O + Ca", "rate": 50.0, "flux": True}
    with pytest.raises(ss.ModelError, match=r"'gate' has flux = true, but it changes the "
                                            r"discrete species C, O"):
        build(CHANNEL_INFLUX["species"], bad, {"species": ["Ca", "B", "CaB"]})


def test_conservation_laws_are_found_and_solved_for_the_most_abundant_species():
    """The integrator solves for the species the conservation laws of the ODE terms and
    fluxes leave independent (stochsyn.network.conservation_laws, exact arithmetic)."""
    binding = [[(0, -1), (1, -1), (2, 1)], [(0, 1), (1, 1), (2, -1)]]     # Ca + B <-> CaB
    # two laws, B − Ca and CaB + Ca; in the preferred order B, CaB, Ca both buffer states
    # are dependent (B = T1 + Ca, CaB = T2 − Ca) and only Ca is integrated
    assert conservation_laws(binding, 3, [1, 2, 0]) == [(1, [(0, -1.0)]), (2, [(0, 1.0)])]
    pump = binding + [[(2, -1), (1, 1)]]                                 # CaB -> B
    assert conservation_laws(pump, 3, [1, 2, 0]) == [(1, [(2, 1.0)])]
    assert conservation_laws([[(0, -2), (1, 1)]], 2, [0, 1]) == [(0, [(1, 2.0)])]   # M + 2 D
    assert conservation_laws([[(0, -1)], [(0, 1), (1, 1)]], 2, [0, 1]) == []         # none
    spine = ss.compile(ss.load_model("reactions/examples/spine_electrophysiology.toml"))
    names = spine.continuous
    # one dependent species per law, the most abundant first (B 3648, PMCA 815, NCX 143,
    # Bslow 0: calcium.toml's slow buffer is off since its V4 fit; 2354 when on)
    assert [names[q] for q in spine.hybrid.dep_slot] == ["B", "PMCA", "NCX", "Bslow"]
    # one integrated total per flux: the NMDAR's and the four VGCC entries (R, T, L O1, L O2)
    assert [names[q] if q < len(names) else "total" for q in spine.hybrid.z_idx] == [
        "Ca", "CaB", "CaBslow", "CaPMCA", "CaNCX"] + ["total"] * 5


def test_total_calcium_is_conserved_under_jumps():
    """Ca + CaB changes only by the influx jumps, B + CaB not at all: both to round-off."""
    model = build(**CHANNEL_INFLUX, continuous={"species": ["Ca", "B", "CaB"]})
    ens = ss.simulate(model, 0.5, 20, seed=SEED, sample_every=0.01)
    influx = ens.firings[:, 2]
    assert np.all(influx > 50)                       # many jumps
    total = ens.values("Ca") + ens.values("CaB")
    np.testing.assert_allclose(total[:, -1], 10 + influx, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(ens.values("B") + ens.values("CaB"), 300.0, rtol=1e-12)
    assert np.all(np.diff(total, axis=1) >= -1e-9)   # only grows (in whole jumps)
    np.testing.assert_allclose(np.diff(total, axis=1), np.rint(np.diff(total, axis=1)),
                               atol=1e-9)
    assert np.all(ens.continuous_deficit == 0)


def test_total_calcium_is_conserved_under_a_flux():
    """With the influx a flux, Ca + CaB grows by exactly the flux's total (integrated with
    the amounts, Ensemble.flux_totals), B + CaB stays: both to round-off; the flux never
    fires, and the ODE restarts only at the gating events, which change what it reads."""
    model = build(**CHANNEL_FLUX, continuous={"species": ["Ca", "B", "CaB"]})
    ens = ss.simulate(model, 0.5, 20, seed=SEED, sample_every=0.01)
    assert np.all(ens.firings[:, 2] == 0)
    entered = ens.flux_totals[:, 2]
    assert np.all(entered > 300)
    total = ens.values("Ca") + ens.values("CaB")
    np.testing.assert_allclose(total[:, -1], 10 + entered, rtol=1e-12)
    np.testing.assert_allclose(ens.values("B") + ens.values("CaB"), 300.0, rtol=1e-12)
    assert np.all(np.diff(total, axis=1) >= -1e-9)        # only grows, now continuously
    np.testing.assert_array_equal(ens.ode_restarts, ens.firings[:, 0] + ens.firings[:, 1])
    assert np.all(ens.flux_totals[:, [0, 1, 3, 4]] == 0)


def test_events_that_change_nothing_the_ode_reads_do_not_restart_it():
    """No restart for unrelated events: a fast discrete exchange (Z <-> W, ~10⁴ firings)
    beside the channel model leaves the ODE's step alone; it restarts only at the gating
    events, which change the flux's factor."""
    model = build({**CHANNEL_FLUX["species"], "Z": 50, "W": 50},
                  CHANNEL_FLUX["reactions"]
                  + [{"name": "swap", "equation": "Z <-> W", "rate": [100.0, 100.0]}],
                  {"species": ["Ca", "B", "CaB"]})
    ens = ss.simulate(model, 0.5, 10, seed=SEED, sample_every=0.01)
    swaps = ens.firings[:, 5] + ens.firings[:, 6]
    assert np.all(swaps > 3000)
    np.testing.assert_array_equal(ens.ode_restarts, ens.firings[:, 0] + ens.firings[:, 1])
    assert np.all(ens.ode_steps < 3 * ens.ode_restarts + 200)


def test_a_flux_follows_its_input_inside_the_steps_and_stops_at_its_steps():
    """A flux of the input kind, c·X·u(t) with u = 10 + 5 sin(2π·3 t) + (20 from 0.4 s on),
    three channels X and no event at all: the amount it moves is its integral, which the
    ODE must get by evaluating u at its stages (a factor frozen at the last event would
    be u(0)·t) and by ending a step at the input's step (a step over it would smear it).
    Against the closed form to 1e-7 relative; the flux's total is the same."""
    model = build({"X": 3, "A": 0},
                  [{"name": "in", "equation": "X -> X + A",
                    "rate": {"kind": "input", "input": "u", "k": "2 /s"}}],
                  {"species": ["A"], "rtol": 1e-9, "atol": 1e-9},
                  inputs={"u": {"value": 10.0, "sine": {"amplitude": 5.0, "frequency": "3 Hz"},
                                "steps": [{"time": 0.4, "value": 20.0}]}})
    assert hybrid_roles(model) == ("flux",)
    times = np.linspace(0.0, 1.0, 51)
    ens = ss.simulate(model, 1.0, 1, seed=SEED, sample_times=times)
    omega = 2 * math.pi * 3
    expected = 3 * 2.0 * (10 * times + 5 * (1 - np.cos(omega * times)) / omega
                          + 20 * np.maximum(times - 0.4, 0.0))
    np.testing.assert_allclose(ens.values("A")[0], expected, rtol=1e-7, atol=1e-9)
    assert ens.flux_totals[0, 0] == pytest.approx(expected[-1], rel=1e-7)
    assert ens.n_events[0] == 0 and ens.firings[0, 0] == 0


def test_flux_totals_reading_a_continuous_species_follow_the_closed_form():
    """The stage matrix is inverted on its species block only; the flux totals' increments
    follow by substitution, through their Jacobian row (a flux that reads a continuous
    species: here the removal k·O·Ca). One open channel O lets Ca in at J and takes it out
    at k·Ca, both fluxes: Ca(t) = J/k (1 − e^(−kt)), the entry's total J·t, the removal's
    J·t − Ca(t), each to 1e-7 relative at rtol = atol = 1e-10. Negative control: the
    removal's total without the Jacobian coupling would be integrated with the wrong
    stage matrix, off by far more (checked against a 1 % wrong k below)."""
    influx, k = 1000.0, 50.0
    model = build({"O": 1, "Ca": 0},
                  [{"name": "in", "equation": "O -> O + Ca", "rate": influx},
                   {"name": "out", "equation": "O + Ca -> O", "rate": k}],
                  {"species": ["Ca"], "rtol": 1e-10, "atol": 1e-10})
    assert hybrid_roles(model) == ("flux", "flux")
    network = ss.compile(model)
    assert len(network.hybrid.z_idx) == 3          # Ca and the two totals
    times = np.linspace(0.0, 0.2, 21)
    ens = ss.simulate(model, 0.2, 1, seed=SEED, sample_times=times)
    ca = influx / k * (1.0 - np.exp(-k * times))
    np.testing.assert_allclose(ens.values("Ca")[0], ca, rtol=1e-7, atol=1e-7)
    assert ens.flux_totals[0, 0] == pytest.approx(influx * 0.2, rel=1e-9)
    removed = influx * 0.2 - ca[-1]
    assert ens.flux_totals[0, 1] == pytest.approx(removed, rel=1e-7)
    ca_wrong = influx / (1.01 * k) * (1.0 - np.exp(-1.01 * k * times))
    assert abs(ens.flux_totals[0, 1] - (influx * 0.2 - ca_wrong[-1])) > 100 * 1e-7 * removed
    assert ens.n_events[0] == 0 and ens.ode_restarts[0] == 0


def test_a_minute_at_rest_costs_a_handful_of_steps():
    """Quiet phases: the spine example at rest (its hybrid declaration) has no discrete
    event and its ODE, once relaxed from the whole-number initial counts, takes steps
    that grow sixfold each: a simulated minute is a few dozen steps and no restart. The
    VGCCs are removed: at rest their gates flicker (T-type m opens ~70 times a second per
    channel at -70 mV), ~500 events a second, each a restart of the ODE (benchmarks/RESULTS.md)."""
    spine = ss.load_model("reactions/examples/spine_electrophysiology.toml").with_parameters(
        n_vgcc_R=0, n_vgcc_T=0, n_vgcc_L=0, n_vgcc_T_inactivated=0)
    assert spine.continuous_species and "nmda_ca_influx" in [
        r.rule for r, role in zip(spine.reactions, hybrid_roles(spine)) if role == "flux"]
    ens = ss.simulate(spine, 60.0, 2, seed=SEED, sample_every=1.0)
    assert np.all(ens.n_events == 0) and np.all(ens.ode_restarts == 0)
    assert np.all(ens.ode_steps < 60)
    ca = ens.values("Ca")[0]
    assert abs(ca[-1] - ca[-2]) < 1e-6          # relaxed: 50 nM, 3.01 ions


def _toggled_channel(n_toggles, period_s, linear=True):
    """One channel O (open at 0) that interventions close and reopen every ``period_s``;
    while open it lets Ca in at J (a flux), Ca leaves at k (an ODE term): every toggle is
    a flux-only change (dCa/dt gains or loses the constant J; the Jacobian, −k, stays).
    ``linear``: the model's ``[continuous] linear`` (False: Rodas4 steps only)."""
    influx, k = 2000.0, 200.0
    interventions = [{"time": period_s * (i + 1), "set": {"O": int(i % 2 == 1)}}
                     for i in range(n_toggles)]
    model = build({"O": 1, "Ca": 0},
                  [{"name": "in", "equation": "O -> O + Ca", "rate": influx},
                   {"name": "out", "equation": "Ca ->", "rate": k}],
                  {"species": ["Ca"], "rtol": 1e-6, "atol": 1e-6, "linear": linear},
                  interventions=interventions)
    return model, influx, k


def _toggled_closed_form(times, period, influx, k):
    """Ca(t) of :func:`_toggled_channel`: exponential relaxation towards J/k while the
    channel is open and towards 0 while it is shut, segment by segment."""
    ca, level, t0 = [], 0.0, 0.0
    for t in times:
        while t >= t0 + period:
            is_open = int(round(t0 / period)) % 2 == 0
            target = influx / k if is_open else 0.0
            level = target + (level - target) * math.exp(-k * period)
            t0 += period
        target = influx / k if int(round(t0 / period)) % 2 == 0 else 0.0
        ca.append(target + (level - target) * math.exp(-k * (t - t0)))
    return np.array(ca)


def test_the_linear_propagation_is_the_exact_relaxation_of_a_switched_influx():
    """One pool, a constant influx switched on and off 40 times (module docstring of
    stochsyn.engine.continuous, "Linear propagation near a fixed point"): the system is
    linear, so its quadratic remainder and error estimate are 0 and every interval is
    propagated by the exact exponential relaxation without a Rodas4 step. The samples are
    the closed form to round-off (Rodas4 on the same model, ``linear = false``: 18 steps
    per segment and an error up to ~1 (atol + rtol |y|)), and the flux's total is J times
    the open time."""
    period = 0.005
    times = np.arange(0.0005, 40 * period, 0.001)
    model, influx, k = _toggled_channel(40, period)
    ens = ss.simulate(model, 41 * period, 1, seed=SEED, sample_times=times)
    ca = _toggled_closed_form(times, period, influx, k)
    got = ens.values("Ca")[0]
    assert ens.ode_steps[0] == 0 and ens.ode_rejected[0] == 0 and ens.ode_restarts[0] == 40
    # never refused; a linearisation at the start and after each intervention (which
    # may change rates: continuous.resume), an interval per restart and sample at least
    assert ens.ode_linear_refreshes[0] == 41 and ens.ode_linear_refused[0] == 0
    assert ens.ode_linear[0] >= 40 + len(times)
    assert np.max(np.abs(got - ca)) < 1e-9 * np.max(ca)
    assert ens.flux_totals[0, 0] == pytest.approx(influx * 21 * period, rel=1e-12)
    rodas, _, _ = _toggled_channel(40, period, linear=False)
    stepped = ss.simulate(rodas, 41 * period, 1, seed=SEED, sample_times=times)
    assert stepped.ode_steps[0] > 40
    assert np.max(np.abs(stepped.values("Ca")[0] - ca)) > 100 * np.max(np.abs(got - ca))


def _toggled_buffer(influx, linear=True):
    """:func:`_toggled_channel`'s pool with a buffer (Ca + B <-> CaB, the spine's fast
    buffer constants; bilinear): the channel opens for 5 ms every 10 ms, 10 times."""
    interventions = [{"time": 0.005 * (i + 1), "set": {"O": int(i % 2 == 1)}}
                     for i in range(20)]
    return build({"O": 1, "Ca": 0, "B": 500, "CaB": 0},
                 [{"name": "in", "equation": "O -> O + Ca", "rate": influx},
                  {"name": "b", "equation": "Ca + B <-> CaB", "rate": [4.1, 524.0]},
                  {"name": "out", "equation": "Ca ->", "rate": 600.0}],
                 {"species": ["Ca", "B", "CaB"], "rtol": 1e-6, "atol": 1e-6,
                  "linear": linear}, interventions=interventions)


def _toggled_buffer_reference(influx, times):
    """Radau at 1e-12, segment by segment, of :func:`_toggled_buffer`: (Ca, B, CaB)."""
    def rhs(t, y, on):
        bind = 4.1 * y[0] * y[1] - 524.0 * y[2]
        return [influx * on - bind - 600.0 * y[0], -bind, bind]
    y, out, t0 = np.array([0.0, 500.0, 0.0]), [], 0.0
    for i in range(21):
        t1 = 0.005 * (i + 1)
        sol = solve_ivp(rhs, (t0, t1), y, method="Radau", rtol=1e-12, atol=1e-12,
                        dense_output=True, args=(float(i % 2 == 0),))
        inside = times[(times >= t0) & (times < t1)]
        out.append(sol.sol(inside).T)
        y, t0 = sol.y[:, -1], t1
    return np.concatenate(out)


@pytest.mark.parametrize("influx", [20.0, 2e6])
def test_the_linear_propagation_falls_back_to_rodas4_when_its_error_estimate_is_large(influx):
    """A bilinear buffer: with 0.1 ion per opening the linearisation's error estimate
    (its quadratic remainder integrated along the interval) stays far below the tolerance
    and no Rodas4 step is taken; with 10⁴ ions per opening against 500 buffer sites it is
    far above, and Rodas4 takes the intervals. Both follow Radau at 1e-12 within the
    tolerance bound of the module docstring, 20 (atol + rtol |y|)."""
    times = np.arange(0.0005, 0.105, 0.001)
    ens = ss.simulate(_toggled_buffer(influx), 0.105, 1, seed=SEED, sample_times=times)
    got = np.stack([ens.values(s)[0] for s in ("Ca", "B", "CaB")], axis=1)
    expected = _toggled_buffer_reference(influx, times)
    assert np.max(np.abs(got - expected) / (1e-6 + 1e-6 * np.abs(expected))) < 20
    if influx < 100:
        assert ens.ode_steps[0] == 0 and ens.ode_linear_refused[0] == 0
    else:
        stepped = ss.simulate(_toggled_buffer(influx, linear=False), 0.105, 1, seed=SEED,
                              sample_times=times)
        assert ens.ode_steps[0] > 0.5 * stepped.ode_steps[0] > 0
        assert stepped.ode_linear[0] == stepped.ode_linear_refreshes[0] == 0
        # No wasted tries (module docstring): a refusal comes only from a fresh
        # linearisation (one per refusal at most), and none follows before the wait,
        # so the refusals are far fewer than the Rodas4 steps taken meanwhile
        assert 0 < ens.ode_linear_refused[0] <= ens.ode_linear_refreshes[0]
        assert ens.ode_linear_refused[0] < 0.1 * ens.ode_steps[0]


@pytest.mark.parametrize("influx", [2e3, 2e4, 2e5])
def test_tries_with_the_kept_decomposition_after_a_mild_refusal_stay_within_the_tolerance(
        influx):
    """:func:`_toggled_buffer` between the two cases above (10 to 10³ ions per opening
    against 500 sites): refusals with an estimate below continuous._MILD_ESTIMATE let each
    interval of the wait try the kept decomposition (module docstring, "Linear propagation
    near a fixed point"). Whatever it accepts must keep the amounts within the tolerance
    bound of Radau at 1e-12, 20 (atol + rtol |y|), as Rodas4 alone does."""
    times = np.arange(0.0005, 0.105, 0.001)
    ens = ss.simulate(_toggled_buffer(influx), 0.105, 1, seed=SEED, sample_times=times)
    got = np.stack([ens.values(s)[0] for s in ("Ca", "B", "CaB")], axis=1)
    expected = _toggled_buffer_reference(influx, times)
    assert np.max(np.abs(got - expected) / (1e-6 + 1e-6 * np.abs(expected))) < 20


def test_a_buffer_whose_total_is_zero_does_not_stop_the_linear_propagation():
    """A second buffer whose sites total 0 (the spine example's slow buffer, set to 0 µM):
    its two amounts are 0 up to the propagation's round-off, ~10⁻¹⁷ either side. Counted as
    a deficit, that refused every interval (the example's resting minute: 0 intervals and
    8.3·10⁴ Rodas4 steps on main f429a27); an amount above −10⁻³ atol is 0 to the linear
    propagation (continuous._ZERO_ATOLS). So, as with the buffer alone (the test above),
    no Rodas4 step is taken, and the amounts follow Radau within 20 (atol + rtol |y|)."""
    interventions = [{"time": 0.005 * (i + 1), "set": {"O": int(i % 2 == 1)}}
                     for i in range(20)]
    model = build({"O": 1, "Ca": 0, "B": 500, "CaB": 0, "S": 0, "CaS": 0},
                  [{"name": "in", "equation": "O -> O + Ca", "rate": 20.0},
                   {"name": "b", "equation": "Ca + B <-> CaB", "rate": [4.1, 524.0]},
                   {"name": "slow", "equation": "Ca + S <-> CaS", "rate": [0.41, 52.4]},
                   {"name": "out", "equation": "Ca ->", "rate": 600.0}],
                  {"species": ["Ca", "B", "CaB", "S", "CaS"], "rtol": 1e-6, "atol": 1e-6},
                  interventions=interventions)
    times = np.arange(0.0005, 0.105, 0.001)
    ens = ss.simulate(model, 0.105, 1, seed=SEED, sample_times=times)
    assert ens.ode_steps[0] == 0 and ens.ode_linear_refused[0] == 0
    assert ens.ode_linear[0] >= 20 + len(times)
    got = np.stack([ens.values(s)[0] for s in ("Ca", "B", "CaB")], axis=1)
    expected = _toggled_buffer_reference(20.0, times)
    assert np.max(np.abs(got - expected) / (1e-6 + 1e-6 * np.abs(expected))) < 20
    assert np.max(np.abs(ens.values("S"))) < 1e-9 and np.max(np.abs(ens.values("CaS"))) < 1e-9


def test_a_restart_keeps_the_step_size_and_the_solution():
    """At a restart (here 40 flux-only changes, by interventions) the integrator starts
    from the step size it had (at most twice the first step accepted after the previous
    restart, module docstring), not from a first-step estimate: the solution is the
    closed form to the tolerance, and a segment after a restart costs at least one step
    fewer than the fresh start at t = 0, which begins with hinit's estimate (the first
    segment, run alone: 12 attempts; 10.1 per segment over the 41, measured). The saving
    is the ramp-up from hinit's tiny first step; the rest of a segment's steps are set
    by the tolerance (benchmarks/RESULTS.md, issue 12, i12d)."""
    period = 0.005
    model, influx, k = _toggled_channel(40, period, linear=False)
    times = np.arange(0.0005, 40 * period, 0.001)
    ens = ss.simulate(model, 41 * period, 1, seed=SEED, sample_times=times)
    ca = _toggled_closed_form(times, period, influx, k)
    assert np.max(np.abs(ens.values("Ca")[0] - ca) / (1e-6 + 1e-6 * ca)) < 20
    assert ens.ode_restarts[0] == 40 and ens.n_events[0] == 0
    fresh_model, _, _ = _toggled_channel(0, period, linear=False)
    fresh = ss.simulate(fresh_model, period, 1, seed=SEED, sample_times=[period])
    per_restart = (ens.ode_steps[0] + ens.ode_rejected[0]) / 41
    fresh_cost = fresh.ode_steps[0] + fresh.ode_rejected[0]
    assert per_restart <= fresh_cost - 1, (per_restart, fresh_cost)     # 10.1 vs 12


def test_discrete_part_is_unchanged_by_an_independent_continuous_part():
    """A continuous subsystem that no discrete reaction reads or writes draws no random
    numbers: the discrete trajectories are the same bits as without it."""
    discrete = {"species": {"C": 20, "O": 0, "X": 0},
                "reactions": [{"name": "gate", "equation": "C <-> O", "rate": [50.0, 200.0]},
                              {"name": "make", "equation": "O -> O + X", "rate": 3.0}]}
    alone = build(**discrete)
    both = build({**discrete["species"], "Ca": 100, "B": 500, "CaB": 0},
                 discrete["reactions"] + PURE["buffer"][1],
                 {"species": ["Ca", "B", "CaB"]})
    a = ss.simulate(alone, 2.0, 10, seed=SEED, sample_every=0.05)
    b = ss.simulate(both, 2.0, 10, seed=SEED, sample_every=0.05)
    np.testing.assert_array_equal(a.counts, b.counts[:, :, :3])
    np.testing.assert_array_equal(a.firings, b.firings[:, :3])
    np.testing.assert_array_equal(a.n_events, b.n_events)
    assert np.all(b.firings[:, 3:] == 0) and np.all(b.ode_steps > 0)


def test_switching_the_mode_off_gives_the_exact_model_back():
    hybrid = build(**CHANNEL_INFLUX, continuous={"species": ["Ca", "B", "CaB"]})
    exact = build(**CHANNEL_INFLUX)
    back = hybrid.with_continuous([])
    assert back.continuous == () and back.hash == exact.hash
    a = ss.simulate(exact, 0.3, 5, seed=SEED, sample_every=0.01)
    b = ss.simulate(back, 0.3, 5, seed=SEED, sample_every=0.01)
    for name in ("counts", "firings", "n_events", "t_reached"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.continuous == () and a.continuous_values is None and a.ode_steps is None
    with_api = exact.with_continuous(["Ca", "B", "CaB"])
    assert with_api.hash == hybrid.hash and with_api.continuous_species == ("Ca", "B", "CaB")


OVERDRAW = {
    # Ca turns into CaX continuously (so it becomes fractional), and a discrete reaction
    # consumes whole Ca ions: below 1 ion a firing leaves a deficit
    "species": {"X": 5, "Ca": 6, "CaX": 0},
    "reactions": [{"name": "convert", "equation": "Ca -> CaX", "rate": 2.0},
                  {"name": "take", "equation": "Ca + X -> X", "rate": 1.0, "flux": False}],
}


def test_a_jump_below_zero_leaves_a_deficit_and_conserves_the_total_exactly():
    """A firing of ``take`` from a pool holding 0 < Ca < 1 leaves Ca < 0 (a deficit); the
    linear term ``convert`` then runs backward (CaX -> Ca) and repays it. Ca + CaX is
    6 − (firings of take) exactly, in every sample: nothing is created (the clamp at 0 it
    replaces created 0.1-1 molecule per trajectory here), and no warning (a deficit is
    below the stoichiometry, 1)."""
    model = build(**OVERDRAW, continuous={"species": ["Ca", "CaX"]})
    assert hybrid_roles(model) == ("ode", "coupled")
    with warnings.catch_warnings():
        warnings.simplefilter("error", HybridWarning)
        ens = ss.simulate(model, 3.0, 200, seed=SEED, sample_every=0.01)
    assert np.all(ens.status == 0)
    deficit = ens.continuous_deficit
    assert np.count_nonzero(deficit > 0.05) > 10 and np.all(deficit < 1)
    ca = ens.values("Ca")
    assert ca.min() < -0.05                          # a deficit was sampled …
    assert ca.min() >= -deficit.max() - 1e-9         # … never deeper than the jumps left
    total = ca + ens.values("CaX")
    # firings of take up to each sample: the total drops by one per firing, exactly
    final = 6 - ens.firings[:, 1]
    np.testing.assert_allclose(total[:, -1], final, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(total, axis=1), np.rint(np.diff(total, axis=1)),
                               rtol=0, atol=1e-9)
    # the deficit is repaid: convert runs backward at 2 /s per molecule owed (e^-3 over
    # the last 1.5 s), and fewer firings come as the pool empties: the mean deficit at the
    # end is a small part of that at 1.5 s (measured: -0.0047 against -0.068)
    owed = np.minimum(ca, 0.0).mean(axis=0)
    assert owed[-1] > 0.25 * owed[150] and owed[150] < -0.01
    np.testing.assert_array_equal(ens.continuous_clamped, 0.0)   # the old field reads 0


def test_a_deficit_of_a_molecule_or_more_warns():
    """With ``2 Ca + X -> X`` a firing from a pool of less than one ion leaves a deficit of
    more than one: the species is too scarce to be continuous, and simulate says so;
    the totals still hold exactly."""
    model = build({"X": 5, "Ca": 6, "CaX": 0},
                  [{"name": "convert", "equation": "Ca -> CaX", "rate": 2.0},
                   {"name": "take", "equation": "2 Ca + X -> X", "rate": 1.0,
                    "flux": False}],
                  continuous={"species": ["Ca", "CaX"]})
    with pytest.warns(HybridWarning, match="too scarce"):
        ens = ss.simulate(model, 3.0, 200, seed=SEED, sample_every=0.1)
    assert np.any(ens.continuous_deficit >= 1) and np.all(ens.continuous_deficit < 2)
    total = ens.values("Ca")[:, -1] + ens.values("CaX")[:, -1]
    np.testing.assert_allclose(total, 6 - 2 * ens.firings[:, 1], rtol=0, atol=1e-9)


def test_a_flux_driving_an_amount_below_zero_is_stopped_naming_it():
    """A flux's consumption term carries the amount it consumes (``Ca + X -> X``: c·X·Ca),
    so only the integration can take it below zero: with rtol 0.5 the first step of a fast
    uptake (c·X = 10⁵ /s) overshoots, and the trajectory stops with flux_negative, the
    message naming the flux; at the default tolerance the same model runs (A settles at
    feed/(c·X) = 1 molecule)."""
    def uptake(rtol, atol):
        return build({"A": 1000, "X": 1000},
                     [{"name": "take", "equation": "A + X -> X", "rate": 100.0},
                      {"name": "feed", "equation": "-> A", "rate": 1e5}],
                     {"species": ["A"], "rtol": rtol, "atol": atol})
    assert hybrid_roles(uptake(0.5, 1e-9)) == ("flux", "ode")
    with pytest.warns(BudgetWarning, match=r"flux_negative.*'take' \(consumes A\)"):
        ens = ss.simulate(uptake(0.5, 1e-9), 1.0, 1, seed=SEED, sample_every=0.1)
    assert STATUS_TEXT[int(ens.status[0])] == "flux_negative"
    ens = ss.simulate(uptake(1e-6, 1e-6), 1.0, 1, seed=SEED, sample_every=0.1)
    assert ens.status[0] == 0 and np.min(ens.values("A")) > 0.99


def test_interventions_set_and_add_amounts():
    model = build({"A": 100}, [{"name": "d", "equation": "A ->", "rate": 1.0}],
                  {"species": ["A"]},
                  interventions=[{"time": 0.5, "add": {"A": 50}},
                                 {"time": 1.0, "set": {"A": 7}}])
    assert [k for k in ss.compile(model).arrays.iv_kind] == [4, 3]     # ADD_VALUE, SET_VALUE
    times = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5])
    ens = ss.simulate(model, 1.5, 1, seed=SEED, sample_times=times)
    y = ens.values("A")[0]
    a_half = 100 * math.exp(-0.5) + 50
    expected = [100.0, 100 * math.exp(-0.25), a_half, a_half * math.exp(-0.25), 7.0,
                7 * math.exp(-0.5)]
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    assert ens.counts[0, 4, 0] == 7


def test_an_intervention_making_an_amount_negative_stops_the_trajectory():
    model = build({"A": 10}, [{"name": "d", "equation": "A ->", "rate": 1.0}],
                  {"species": ["A"]}, interventions=[{"time": 1.0, "add": {"A": -20}}])
    with pytest.warns(BudgetWarning, match="negative_count"):
        ens = ss.simulate(model, 2.0, 1, seed=SEED, sample_every=0.5)
    assert STATUS_TEXT[int(ens.status[0])] == "negative_count"
    assert np.isnan(ens.values("A")[0, -1]) and ens.counts[0, -1, 0] == -1


def test_a_blow_up_ends_with_ode_failure():
    """dA/dt = c A²/2 reaches infinity at t = 2/(c A0) = 0.2 s."""
    model = build({"A": 100}, [{"name": "grow", "equation": "2 A -> 3 A", "rate": 0.1}],
                  {"species": ["A"]})
    with pytest.warns(BudgetWarning, match="ode_failure"):
        ens = ss.simulate(model, 1.0, 1, seed=SEED, sample_every=0.05)
    assert STATUS_TEXT[int(ens.status[0])] == "ode_failure"
    assert 0.15 < ens.t_reached[0] < 0.201     # (the numerical blow-up lags a little)
    values = ens.values("A")[0]
    assert np.all(np.isfinite(values[ens.times < 0.15])) and np.all(np.isnan(values[-3:]))


def test_results_tables_and_parquet(tmp_path):
    model = build(**CHANNEL_INFLUX, continuous={"species": ["Ca", "B", "CaB"]},
                  observables={"ca_total": "Ca + CaB", "open": "O"})
    ens = ss.simulate(model, 0.2, 4, seed=SEED, sample_every=0.02)
    assert ens.continuous == ("Ca", "B", "CaB") and ens.continuous_values.shape == (4, 11, 3)
    ca = ens.values("Ca")
    assert ca.dtype == np.float64 and np.any(ca != np.rint(ca))          # real amounts
    np.testing.assert_array_equal(ens.counts[:, :, 2], np.maximum(np.rint(ca), 0))
    np.testing.assert_allclose(ens.values("ca_total"), ca + ens.values("CaB"), rtol=1e-12)
    frame = ens.timeseries(["Ca", "O"])
    assert frame.loc[frame["name"] == "Ca", "value"].to_numpy() == pytest.approx(
        ca.reshape(-1))
    back = ss.read(ens.to_parquet(tmp_path / "run"))
    assert back.continuous == ens.continuous
    np.testing.assert_array_equal(back.continuous_values, ens.continuous_values)
    np.testing.assert_array_equal(back.counts, ens.counts)
    np.testing.assert_array_equal(back.ode_steps, ens.ode_steps)
    np.testing.assert_array_equal(back.ode_rejected, ens.ode_rejected)
    for name in ("ode_linear", "ode_linear_refused", "ode_linear_refreshes"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ens, name))
        np.testing.assert_array_equal(ens.summary()[name], getattr(ens, name))
    assert np.all(ens.ode_linear > 0)
    import pyarrow.parquet as pq
    schema = pq.read_schema(next((tmp_path / "run" / "counts").glob("*.parquet")))
    assert str(schema.field("Ca").type) == "double" and str(schema.field("O").type) == "int64"
    summary = ens.summary()
    np.testing.assert_array_equal(summary["ode_steps"], ens.ode_steps)
    np.testing.assert_array_equal(summary["ode_rejected"], ens.ode_rejected)


def test_event_record_rerun_with_a_membrane():
    """A logged model whose event records overflow the first buffer is simulated again;
    the re-run writes its voltages into an array of its own (it once wrote them into an
    empty one, corrupting the heap)."""
    model = ss.load_model("reactions/examples/spine_electrophysiology.toml").with_continuous(
        []).with_parameters(glu_release_probability=1.0)  # a release: ~400 logged (un)blocks
    ens = ss.simulate(model, 0.05, 2, seed=SEED, sample_every=0.001, record_events=True,
                      protocol=ss.protocols.stdp(delta_t_ms=10, pairs=1))
    assert len(ens.event_records) > 2 * 256
    assert np.all(np.isfinite(ens.voltage_mv))


def test_event_record_rerun_with_continuous_species():
    """The same re-run in the hybrid mode writes its amounts into arrays of its own."""
    model = build({"Ca": 0},
                  [{"name": "influx", "equation": "A(s=o) -> A(s=o) + Ca", "rate": 5.0},
                   {"name": "flip", "equation": "A(s=c) <-> A(s=o)", "rate": [20.0, 20.0],
                    "log": True},
                   {"name": "out", "equation": "Ca ->", "rate": 1.0}],
                  {"species": ["Ca"]},
                  agents={"A": {"sites": {"s": ["c", "o"]}, "initial": [{"count": 10}]}})
    ens = ss.simulate(model, 5.0, 3, seed=SEED, sample_every=0.5, record_events=True)
    assert len(ens.event_records) > 3 * 256
    assert np.all(np.isfinite(ens.values("Ca")))


def test_coupled_michaelis_menten_and_hill_read_continuous_modifiers():
    """A discrete reaction whose Hill regulator is continuous is coupled (its propensity
    follows y(t)); with y constant it is the ordinary Hill law: X is Poisson with mean
    k·t·f(y) (checked loosely here; tests/statistical/test_hybrid.py does it properly)."""
    model = build({"Ca": 40, "X": 0},
                  [{"name": "signal", "equation": "-> X",
                    "rate": {"kind": "hill", "k": "100 /s", "of": "Ca", "K": 20, "n": 2}}],
                  {"species": ["Ca"]})
    assert hybrid_roles(model) == ("coupled",)
    assert ss.compile(model).arrays.rate_kind[0] == COUPLED
    ens = ss.simulate(model, 1.0, 2000, seed=SEED, sample_every=1.0)
    mean = 100.0 * 40 ** 2 / (20 ** 2 + 40 ** 2)
    assert abs(ens.values("X")[:, -1].mean() - mean) < 4 * math.sqrt(mean / 2000)


def _engine_state(model):
    """The hybrid mode's work arrays for ``model`` at t = 0 as the kernel sets them up
    (stochsyn.engine.ssa.run_trajectories, continuous.start), for calling the engine's
    helpers directly: (hy, drive, ctx, ws, st, cp_static, rate)."""
    from stochsyn.engine import continuous, hazard
    from stochsyn.network import compile as compile_network
    network = compile_network(model)
    net, hy = network.arrays, network.hybrid
    n = len(hy.cont_idx) + len(hy.fx_rx)
    ws = np.zeros((continuous.work_rows(n), n))
    st = np.zeros(continuous.N_SCALARS)
    cp_static = np.zeros(len(hy.cp_rx))
    rate = net.rate.copy()
    ctx = (rate, net.x0.astype(np.int64).copy(), np.zeros(len(hy.fx_rx)), np.zeros(5),
           np.zeros((4, len(net.comp_rate))), np.zeros(len(net.in_value)))
    continuous.start(hy, ctx, ws, st, cp_static)
    return hy, hazard.drive_arrays(net), ctx, ws, st, cp_static, rate


@pytest.mark.parametrize("case", ["spine", "example", "coupled", "hill", "flux_reads"])
def test_the_model_level_linear_obstacle_agrees_with_the_engine(case):
    """stochsyn.model.linear_obstacle (shown by ``stochsyn info``) says what the engine's
    _linear_able decides (continuous.start sets st[LIN_ABLE]): the spine example
    qualifies; the default spine model (calmodulin's Ca²⁺ binding is coupled), a coupled
    reaction, a Hill ODE term and a flux reading a continuous species do not."""
    from pathlib import Path
    from stochsyn.engine import continuous
    from stochsyn.model import linear_obstacle
    root = Path(__file__).resolve().parents[2] / "reactions"
    base = {"A": 50, "S": 2, "P": 0, "O": 1}
    models = {
        "spine": lambda: ss.load_model(root / "spine.toml"),
        "example": lambda: ss.load_model(root / "examples" / "spine_electrophysiology.toml"),
        "coupled": lambda: build(base, [{"name": "d", "equation": "A ->", "rate": 1.0},
                                        {"name": "f", "equation": "S + A -> P + A",
                                         "rate": 0.1}], {"species": ["A"]}),
        "hill": lambda: build(base, [{"name": "h", "equation": "A ->",
                                      "rate": {"kind": "hill", "k": "5 /s", "of": "A",
                                               "K": 10, "n": 2}}], {"species": ["A"]}),
        "flux_reads": lambda: build(base, [{"name": "d", "equation": "A ->", "rate": 1.0},
                                           {"name": "in", "equation": "O + A -> O + 2 A",
                                            "rate": 0.5}], {"species": ["A"]}),
    }
    model = models[case]()
    st = _engine_state(model)[4]
    expected = case == "example"
    assert (linear_obstacle(model) is None) == expected, linear_obstacle(model)
    assert (st[continuous.LIN_ABLE] == 1.0) == expected
    assert ("linear propagation near a fixed point: applies" in model.info()) == expected


def test_a_jump_that_changes_a_conserved_total_is_linearised_afresh():
    """A discrete reaction adds buffer sites one by one (``X -> B``: a jump that changes the
    conserved total B + CaB). The linearisation eliminated CaB with the total at its
    reference point, so each such jump makes the next interval linearise afresh
    (continuous._law_totals_moved); without that the linear solution kept the old total's
    dynamics, 3.7·10⁴ times the tolerance off Rodas4 here. The discrete events are the
    same with the linear propagation on and off (nothing discrete reads a continuous
    species), and the amounts agree within 20 (atol + rtol |y|)."""
    def model(linear):
        return build({"O": 1, "X": 40, "Ca": 3, "B": 500, "CaB": 20},
                     [{"name": "in", "equation": "O -> O + Ca", "rate": 2000.0},
                      {"name": "b", "equation": "Ca + B <-> CaB", "rate": [4.1, 524.0]},
                      {"name": "out", "equation": "Ca ->", "rate": 600.0},
                      {"name": "add_b", "equation": "X -> B", "rate": 10.0}],
                     {"species": ["Ca", "B", "CaB"], "rtol": 1e-6, "atol": 1e-6,
                      "linear": linear})
    times = np.arange(0.001, 0.3, 0.001)
    on = ss.simulate(model(True), 0.3, 2, seed=SEED, sample_times=times)
    off = ss.simulate(model(False), 0.3, 2, seed=SEED, sample_times=times)
    np.testing.assert_array_equal(on.firings, off.firings)
    jumps = on.firings[:, list(on.reactions).index("add_b")]
    assert np.all(jumps >= 20) and np.all(on.ode_linear_refreshes > jumps)
    for name in ("Ca", "B", "CaB"):
        expected = off.values(name)
        assert np.max(np.abs(on.values(name) - expected)
                      / (1e-6 + 1e-6 * np.abs(expected))) < 20, name
