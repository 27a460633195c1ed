"""Michaelis–Menten and Hill rate laws in the engine, against the pure-Python reference.

The reference (``reference_ssa.py``) recomputes every propensity from the Model with the
formulas of docs/model-format.md; the engine must reproduce its trajectories bit for bit,
fed the same random stream. The model below makes every part of the laws matter: an enzyme
and a regulator whose counts change (so a stale propensity after a firing shows up as a
different trajectory), a substrate pattern over several agent states (the K_M + S sum), a
weighted regulator, a non-integer Hill coefficient, repression, vmax without an enzyme,
and interventions that change counts and a rate constant.
"""

import dataclasses

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine.rng import numpy_generator
from stochsyn.network import HILL, HILL_REPRESS, MASS_ACTION, MICHAELIS_MENTEN, compile

from .reference_ssa import simulate as reference

SEED = 20261122

RATE_LAWS = {
    "model": {"name": "rate_laws", "volume": "0.1 fL"},
    "parameters": {"km": "0.4 uM", "kx": "0.1 uM"},
    "species": {"S": 150, "P": 0, "E": 6, "E_off": 2, "X": 0, "Y": 3},
    "agents": {"AMPAR": {
        "sites": {"loc": ["endo", "psd"], "s845": ["u", "p"]},
        "initial": [{"count": 12, "s845": "p"}, {"count": 8, "loc": "psd", "s845": "p"},
                    {"count": 5, "loc": "psd"}],
    }},
    "observables": {"signal": "X + 0.5*P"},
    "reactions": [
        {"name": "convert", "equation": "S -> P",
         "rate": {"kind": "michaelis_menten", "kcat": "4 /s", "enzyme": "E", "km": "km"}},
        {"name": "clear", "equation": "P ->",
         "rate": {"kind": "michaelis_menten", "vmax": "0.2 uM/s", "km": 30}},
        {"name": "enzyme", "equation": "E <-> E_off", "rate": [0.3, 0.5]},
        {"name": "x_make", "equation": "-> X", "rate": 2.0},
        {"name": "x_lose", "equation": "X ->", "rate": 0.25},
        {"name": "y_make", "equation": "-> Y",
         "rate": {"kind": "hill", "k": "3 /s", "of": "X", "K": "kx", "n": 2.5}},
        {"name": "y_lose", "equation": "Y ->",
         "rate": {"kind": "hill", "k": "0.8 /s", "of": "signal", "K": 9, "n": 1.7,
                  "repress": True}},
        {"name": "dephos", "equation": "AMPAR(s845=p) -> AMPAR(s845=u)", "log": True,
         "rate": {"kind": "michaelis_menten", "kcat": "0.5 /s", "enzyme": "E + 0.5*E_off",
                  "km": 10}},
        {"name": "phos", "equation": "AMPAR(s845=u) -> AMPAR(s845=p)", "log": True,
         "rate": {"kind": "hill", "k": "0.2 /s", "of": "Y", "K": 4, "n": 3}},
        {"name": "insert", "equation": "AMPAR(loc=endo) -> AMPAR(loc=psd)", "log": True,
         "rate": {"kind": "hill", "k": "0.1 /s", "of": "AMPAR(loc=psd)", "K": 10, "n": 2,
                  "repress": True}},
    ],
    "interventions": [
        {"time": 8.0, "set": {"X": 0}, "add": {"S": 60}},
        {"time": 14.0, "rates": {"convert": "1 /s", "y_make": "6 /s"}},
    ],
}


def test_rate_law_arrays():
    network = compile(ss.Model.from_dict(RATE_LAWS))
    arrays = network.arrays
    kinds = dict(zip(network.reactions, arrays.rate_kind))
    assert kinds["convert"] == kinds["clear"] == MICHAELIS_MENTEN
    assert kinds["y_make"] == HILL and kinds["y_lose"] == HILL_REPRESS
    assert kinds["x_make"] == MASS_ACTION
    assert len(arrays.tv_idx) == 0          # state laws live in the sum tree
    assert sorted(network.reactions[j] for j in arrays.law_rx) == sorted(
        n for n in network.reactions if n.split("[")[0] in
        ("convert", "clear", "y_make", "y_lose", "dephos", "phos", "insert"))
    j = network.reactions.index("convert")
    species = network.species
    assert [species[i] for i in arrays.law_idx[arrays.law_ptr[j]:arrays.law_ptr[j + 1]]] \
        == ["E"]
    assert arrays.law_k[j] == pytest.approx(0.4e-6 * 6.02214076e23 * 1e-16)  # 24.09
    j = network.reactions.index("clear")
    assert arrays.law_ptr[j] == arrays.law_ptr[j + 1]      # vmax: no enzyme
    assert arrays.rate[j] == pytest.approx(0.2e-6 * 6.02214076e23 * 1e-16)
    j = network.reactions.index("y_lose")
    lo, hi = arrays.law_ptr[j], arrays.law_ptr[j + 1]
    assert sorted(zip((species[i] for i in arrays.law_idx[lo:hi]), arrays.law_w[lo:hi])) \
        == [("P", 0.5), ("X", 1.0)]
    assert arrays.law_n[j] == 1.7
    dephos = [k for k, name in enumerate(network.reactions) if name.startswith("dephos")]
    assert len(dephos) == 2
    for j in dephos:   # S of K_M + S is the whole pattern AMPAR(s845=p): both states
        assert sorted(species[i] for i in arrays.sat_idx[arrays.sat_ptr[j]:
                                                        arrays.sat_ptr[j + 1]]) \
            == ["AMPAR(loc=endo,s845=p)", "AMPAR(loc=psd,s845=p)"]


def _dependents(network, name):
    """Reactions refreshed after ``name`` fires: mass action (dep) and the laws (lawdep)."""
    a = network.arrays
    j = network.reactions.index(name)
    plain = {network.reactions[k] for k in a.dep_idx[a.dep_ptr[j]:a.dep_ptr[j + 1]]}
    laws = {network.reactions[k] for k in a.lawdep_idx[a.lawdep_ptr[j]:a.lawdep_ptr[j + 1]]}
    assert all(a.rate_kind[network.reactions.index(k)] == MASS_ACTION for k in plain)
    assert all(a.rate_kind[network.reactions.index(k)] >= MICHAELIS_MENTEN for k in laws)
    return plain | laws


def test_dependency_graph_follows_modifiers_and_substrate_patterns():
    network = compile(ss.Model.from_dict(RATE_LAWS))
    # X is read by y_make (Hill) and by y_lose through the observable 'signal'.
    assert {"y_make", "y_lose", "x_lose"} <= _dependents(network, "x_make")
    # The enzyme's changes reach both MM reactions that read it.
    deps = _dependents(network, "enzyme_fwd")
    assert "convert" in deps and sum(d.startswith("dephos[") for d in deps) == 2
    # convert makes P: clear (substrate) and y_lose (regulator weight 0.5) follow.
    assert {"convert", "clear", "y_lose"} <= _dependents(network, "convert")
    # Dephosphorylating an endosomal receptor changes S = ΣAMPAR(s845=p) of the psd one.
    endo = next(n for n in network.reactions if n.startswith("dephos[AMPAR(loc=endo"))
    assert sum(d.startswith("dephos[") for d in _dependents(network, endo)) == 2
    # Y drives phos (Hill); insert reads the psd receptors it fills.
    assert sum(d.startswith("phos[") for d in _dependents(network, "y_make")) == 2
    insert = next(n for n in network.reactions if n.startswith("insert["))
    assert sum(d.startswith("insert[") for d in _dependents(network, insert)) == 2
    # Nothing reads Y but its own reactions and phos: no spurious edges from x_lose.
    assert not any(d.startswith("phos[") for d in _dependents(network, "x_lose"))


def test_engine_equals_reference_with_rate_laws():
    model = ss.Model.from_dict(RATE_LAWS)
    t_end = 25.0
    times = np.linspace(0.0, t_end, 51)
    n = 6
    ens = ss.simulate(model, t_end, n, seed=SEED, sample_times=times, record_events=True)
    events = ens.event_records
    fired = np.zeros(len(model.reactions), dtype=np.int64)
    for i in range(n):
        counts, records, n_events, status = reference(model, numpy_generator(SEED, i), times,
                                                      t_end)
        assert status == "ok"
        np.testing.assert_array_equal(ens.counts[i], np.array(counts, dtype=np.int64),
                                      err_msg=f"trajectory {i} differs from the reference")
        assert ens.n_events[i] == n_events
        mine = events.trajectory == i
        got = list(zip(events.time[mine], events.agent[mine], events.reaction[mine],
                       events.state_before[mine], events.state_after[mine]))
        assert got == records, f"event records of trajectory {i} differ"
        fired += ens.firings[i]
    # Every reaction fired, so every law and its dependencies were exercised.
    assert np.all(fired > 0), dict(zip(model.reactions, fired))
    assert ens.n_events.sum() > 300 * n


def _differs(ens, model, times, t_end):
    """True if any trajectory of ``ens`` differs from the reference run on ``model``."""
    for i in range(ens.counts.shape[0]):
        counts, _, n_events, _ = reference(model, numpy_generator(SEED, i), times, t_end)
        if not np.array_equal(ens.counts[i], np.array(counts)) or ens.n_events[i] != n_events:
            return True
    return False


def test_the_comparison_catches_a_missing_dependency(monkeypatch):
    """Check of the check: an engine whose dependency graph ignores modifiers and substrate
    patterns (refreshing only reactions whose reactants changed) is caught."""
    import stochsyn.network as network_module

    original = network_module._dependencies

    def without_law_edges(model, *args):
        bare = tuple(dataclasses.replace(r, modifier=(), saturation=())
                     for r in model.reactions)
        return original(dataclasses.replace(model, reactions=bare), *args)

    model = ss.Model.from_dict(RATE_LAWS)
    times = np.linspace(0.0, 25.0, 51)
    assert not _differs(ss.simulate(model, 25.0, 3, seed=SEED, sample_times=times), model,
                        times, 25.0)
    monkeypatch.setattr(network_module, "_dependencies", without_law_edges)
    fresh = ss.Model.from_dict(RATE_LAWS)    # a Model keeps its compiled Network
    assert _differs(ss.simulate(fresh, 25.0, 3, seed=SEED, sample_times=times), model,
                    times, 25.0)


def test_the_comparison_catches_a_per_state_michaelis_constant():
    """Check of the check: a reference that saturates each substrate state on its own
    (S_i / (K_M + S_i) instead of S_i / (K_M + ΣS)) is told apart from the engine."""
    model = ss.Model.from_dict(RATE_LAWS)
    naive = tuple(dataclasses.replace(r, saturation=(r.reactants[0][0],))
                  if r.kind == "michaelis_menten" else r for r in model.reactions)
    times = np.linspace(0.0, 25.0, 51)
    ens = ss.simulate(model, 25.0, 3, seed=SEED, sample_times=times)
    assert _differs(ens, dataclasses.replace(model, reactions=naive), times, 25.0)
