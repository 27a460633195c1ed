"""The numba engine against the pure-Python reference SSA, fed the same random stream.

Agreement is required bit for bit: every sample of every species, every event record, the
number of events. Any change to the engine's arithmetic or draw order shows up here.
"""

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine.rng import numpy_generator

from .reference_ssa import simulate as reference

SEED = 20261122

DIMERISATION_WITH_INTERVENTIONS = {
    "model": {"name": "dimerisation_interventions"},
    "parameters": {"kf": 0.001, "kr": 0.01},
    "species": {"P": 100, "P2": 0},
    "reactions": [{"name": "dimer", "equation": "2 P <-> P2", "rate": ["kf", "kr"]}],
    "interventions": [
        {"time": 12.5, "set": {"P": 100, "P2": 0}},
        {"time": 20.0, "parameters": {"kr": 0.05}},
        {"time": 30.0, "add": {"P": 7}},
    ],
}

#: Three reactions: the four-leaf loop with a zero leaf, not its two-reaction copy.
BIRTH_DIMERISATION = {
    "model": {"name": "birth_dimerisation"},
    "parameters": {"kb": 20.0, "kf": 0.001, "kr": 0.01},
    "species": {"P": 100, "P2": 0},
    "reactions": [{"name": "birth", "equation": "-> P", "rate": "kb"},
                  {"name": "dimer", "equation": "2 P <-> P2", "rate": ["kf", "kr"]}],
    "interventions": [
        {"time": 10.0, "add": {"P": 30}},
        {"time": 25.0, "parameters": {"kr": 0.05}},
    ],
}

ENZYME_NETWORK = {
    "model": {"name": "enzyme_network", "volume": "0.1 fL"},
    "parameters": {"k_on": "2 /uM/s", "k_off": "5 /s", "k_cat": "1.5 /s"},
    "species": {"E": 20, "S": "1 uM", "ES": 0, "Pr": 0, "I": 3},
    "reactions": [
        {"name": "bind", "equation": "E + S <-> ES", "rate": ["k_on", "k_off"]},
        {"name": "cat", "equation": "ES -> E + Pr", "rate": "k_cat"},
        {"name": "feed", "equation": "-> S", "rate": "0.5 uM/s"},
        {"name": "trimer", "equation": "3 Pr -> I", "rate": 0.002},
        {"name": "decay", "equation": "I ->", "rate": 0.3},
        {"name": "autocat", "equation": "I + Pr -> 2 I", "rate": 0.01},
    ],
}

#: More than four reactions (the plain loop's general sum tree, not the four-leaf one)
#: with every kind of intervention.
ENZYME_WITH_INTERVENTIONS = {
    **ENZYME_NETWORK,
    "model": {"name": "enzyme_interventions", "volume": "0.1 fL"},
    "interventions": [
        {"time": 4.0, "set": {"E": 5}},
        {"time": 9.0, "parameters": {"k_cat": "6 /s"}},
        {"time": 14.0, "add": {"I": 4, "E": 10}},
    ],
}

AMPAR_AGENTS = {
    "model": {"name": "ampar_agents"},
    "species": {"PKA": 4, "PP1": 6},
    "agents": {"AMPAR": {
        "sites": {"loc": ["endo", "extra", "psd"], "s845": ["u", "p"]},
        "initial": [{"count": 15, "loc": "endo"}, {"count": 10, "loc": "psd", "s845": "p"},
                    {"count": 5, "loc": "extra"}],
    }},
    "reactions": [
        {"name": "exo", "equation": "AMPAR(loc=endo) -> AMPAR(loc=extra)", "rate": 0.2,
         "log": True},
        {"name": "endo", "equation": "AMPAR(loc=extra) -> AMPAR(loc=endo)", "rate": 0.1,
         "log": True},
        {"name": "enter", "equation": "AMPAR(loc=extra) <-> AMPAR(loc=psd)",
         "rate": [0.3, 0.05], "log": True},
        {"name": "phos", "equation": "AMPAR(s845=u) + PKA -> AMPAR(s845=p) + PKA",
         "rate": 0.02, "log": True},
        {"name": "dephos", "equation": "AMPAR(s845=p) + PP1 -> AMPAR(s845=u) + PP1",
         "rate": 0.01},
        {"name": "synthesis", "equation": "-> AMPAR(loc=endo, s845=u)", "rate": 0.5,
         "log": True},
        {"name": "degradation", "equation": "AMPAR(loc=endo) ->", "rate": 0.02, "log": True},
        {"name": "pka_flux", "equation": "PKA <-> ", "rate": [0.05, 0.2]},
    ],
}

CAMKII_RINGS = {
    "model": {"name": "camkii_rings"},
    "species": {"CaM": 30},
    "agents": {"CaMKII": {
        "sites": {"cam": ["free", "bound"], "t286": ["u", "p"]},
        "ring_size": 6,
        "initial": [{"count": 16}, {"count": 2, "cam": "bound", "t286": "p"}],
    }},
    "reactions": [
        {"name": "cam_on", "equation": "CaMKII(cam=free) + CaM -> CaMKII(cam=bound)",
         "rate": 0.05},
        {"name": "cam_off", "equation": "CaMKII(cam=bound) -> CaMKII(cam=free) + CaM",
         "rate": 1.0},
        {"name": "auto_bound", "equation": "CaMKII(cam=bound, t286=u) -> CaMKII(t286=p)",
         "neighbour": "CaMKII(cam=bound)", "rate": 3.0, "log": True},
        {"name": "auto_p", "equation": "CaMKII(cam=bound, t286=u) -> CaMKII(t286=p)",
         "neighbour": "CaMKII(t286=p)", "rate": 2.0, "log": True},
        {"name": "pp1", "equation": "CaMKII(t286=p) -> CaMKII(t286=u)", "rate": 0.4,
         "log": True},
    ],
}

HOLOENZYMES = {   # complex rules of both kinds, neighbour sets, PP1 complexes, logging
    "model": {"name": "holoenzymes"},
    "species": {"CaM": 40, "PP1": 3, "N2B": 2},
    "agents": {"K": {
        "sites": {"cam": ["free", "bound"], "t": ["u", "p"], "pp1": ["free", "bound"],
                  "psd": ["no", "yes"]},
        "ring_size": 3, "complex_size": 6,
        "initial": [{"count": 12}, {"count": 6, "cam": "bound", "t": "p"}],
    }},
    "reactions": [
        {"name": "cam", "equation": "K(cam=free, t=u) + CaM <-> K(cam=bound, t=u)",
         "rate": [0.02, 1.0]},
        {"name": "auto_cam", "equation": "K(cam=bound, t=u) -> K(t=p)",
         "neighbour": "K(cam=bound)", "rate": 3.0, "log": True},
        {"name": "auto_p", "equation": "K(cam=bound, t=u) -> K(t=p)",
         "neighbour": ["K(t=p, cam=free)", "K(t=p, pp1=bound)"], "rate": 2.0, "log": True},
        {"name": "pp1_on", "equation": "K(t=p, pp1=free) + PP1 -> K(pp1=bound)", "rate": 0.3},
        {"name": "pp1_off", "equation": "K(pp1=bound) -> K(pp1=free) + PP1", "rate": 1.0},
        {"name": "pp1_cat", "equation": "K(pp1=bound) -> K(pp1=free, t=u) + PP1", "rate": 2.0,
         "log": True},
        {"name": "anchor", "equation": "K(cam=bound, psd=no) + N2B -> K(cam=bound)",
         "rate": 0.5, "members": ["K(psd=no) -> K(psd=yes)"], "log": True},
        {"name": "release", "equation": "K(psd=yes) -> K(psd=yes) + N2B", "rate": 0.05,
         "members": ["K(psd=yes) -> K(psd=no)"]},
        {"name": "turnover", "equation": "->", "complex": "K", "rate": 0.1, "log": True,
         "members": ["K(cam=bound) -> K(cam=free) + CaM", "K(pp1=bound) -> K(pp1=free) + PP1",
                     "K() -> K(t=u)"]},
    ],
}

CASES = {
    "dimerisation_interventions": (DIMERISATION_WITH_INTERVENTIONS, 50.0),
    "birth_dimerisation": (BIRTH_DIMERISATION, 40.0),
    "enzyme_network": (ENZYME_NETWORK, 20.0),
    "enzyme_interventions": (ENZYME_WITH_INTERVENTIONS, 20.0),
    "ampar_agents": (AMPAR_AGENTS, 60.0),
    "camkii_rings": (CAMKII_RINGS, 30.0),
    "holoenzymes": (HOLOENZYMES, 40.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_engine_equals_reference_bit_for_bit(name):
    spec, t_end = CASES[name]
    model = ss.Model.from_dict(spec)
    times = np.linspace(0.0, t_end, 41)
    n = 6
    ens = ss.simulate(model, t_end, n, seed=SEED, sample_times=times, record_events=True)
    events = ens.event_records
    total_events = 0
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
        total_events += n_events
    assert total_events > 50 * n  # the comparison covered real dynamics


@pytest.mark.parametrize("spec, t_end, budget", [
    (ENZYME_NETWORK, 20.0, 300),
    # the four-leaf loop, past its first look at the budget after 4,096 events
    (BIRTH_DIMERISATION, 400.0, 4500)])
def test_reference_agrees_at_the_event_budget(spec, t_end, budget):
    model = ss.Model.from_dict(spec)
    times = np.linspace(0.0, t_end, 21)
    ens = ss.simulate(model, t_end, 2, seed=SEED, sample_times=times, max_events=budget,
                      on_stop="ignore")
    for i in range(2):
        counts, _, n_events, status = reference(model, numpy_generator(SEED, i), times, t_end,
                                                max_events=budget)
        assert status == "max_events" and ens.status[i] == 1 and ens.n_events[i] == budget
        np.testing.assert_array_equal(ens.counts[i, :len(counts)], counts)
        assert np.all(ens.counts[i, len(counts):] == -1)


def test_complex_rules_conserve_what_their_members_release():
    """Totals of CaM, PP1 and N2B (free + held by subunits / anchored complexes) are the
    same in every sample: the members give back what they held."""
    model = ss.Model.from_dict(HOLOENZYMES)
    ens = ss.simulate(model, 40.0, 20, seed=SEED, sample_every=0.5)
    cam = ens.values("CaM") + sum(ens.values(s) for s in ens.species if "cam=bound" in s)
    pp1 = ens.values("PP1") + sum(ens.values(s) for s in ens.species if "pp1=bound" in s)
    anchored = sum(ens.values(s) for s in ens.species if "psd=yes" in s)
    assert np.all(cam == 46) and np.all(pp1 == 3)
    assert np.all(ens.values("N2B") + anchored / 6 == 2)
    assert np.all(anchored % 6 == 0)       # a complex is anchored as a whole
    rule = {name: name.split("[")[0] for name in ens.reactions}
    fired = {r: 0 for r in set(rule.values())}
    for j, name in enumerate(ens.reactions):
        fired[rule[name]] += int(ens.firings[:, j].sum())
    assert fired["turnover"] > 20 and fired["anchor"] > 20 and fired["release"] > 5


def test_complex_rules_release_continuous_species_into_the_ode():
    """Hybrid mode: with CaM continuous, the turnover rule's release of the CaM its members
    hold is a jump of y (engine.ssa._complex_members), so free CaM (continuous) + bound CaM
    (counted on the agents) stays 46 in every sample; before this was supported the model
    was refused. Without the jump the total would fall by each turnover's release."""
    model = ss.Model.from_dict(HOLOENZYMES).with_continuous(["CaM"])
    ens = ss.simulate(model, 40.0, 10, seed=SEED, sample_every=0.5)
    bound = sum(ens.values(s) for s in ens.species if "cam=bound" in s)
    np.testing.assert_allclose(ens.values("CaM") + bound, 46.0, atol=1e-6)
    turnover = [j for j, name in enumerate(ens.reactions) if name.startswith("turnover")]
    assert int(ens.firings[:, turnover].sum()) > 10     # the releases happened


@pytest.mark.parametrize("name, plain", [("dimerisation_interventions", True),
                                         ("birth_dimerisation", True),
                                         ("enzyme_interventions", True),
                                         ("ampar_agents", False), ("camkii_rings", False),
                                         ("holoenzymes", False)])
def test_plain_networks_take_the_plain_loop(name, plain):
    """The cases above cover both loops: mass action with interventions runs on
    ``simulate_plain`` (four leaves with 2 and 3 reactions, and more), agents and complex
    rules do not."""
    from stochsyn.engine.ssa import is_plain
    from stochsyn.network import compile as compile_network
    arrays = compile_network(ss.Model.from_dict(CASES[name][0])).arrays
    assert is_plain(arrays) == plain


#: Propensities of every form that engine.ssa.dependent_tables groups: one reactant, two,
#: and the rest (an order of 2, three reactants); enough reactions for a 3-level tree.
ALL_FORMS = {
    "model": {"name": "all_forms"},
    "parameters": {"k": 0.01},
    "species": {"A": 50, "B": 40, "C": 0, "D": 0, "E": 0},
    "reactions": [{"name": "bind", "equation": "A + B <-> C", "rate": ["k", "k"]},
                  {"name": "dimer", "equation": "2 A <-> D", "rate": ["k", "k"]},
                  {"name": "three", "equation": "A + B + C -> E", "rate": "k"},
                  {"name": "back", "equation": "E -> A + B + C", "rate": "k"}]
                 + [{"name": f"turn{i}", "equation": f"{s} -> {s}", "rate": "k"}
                    for i, s in enumerate("ABCDEABCDEABCDE")],
}


@pytest.mark.parametrize("spec", [ALL_FORMS, HOLOENZYMES])
def test_dependent_tables_list_each_dependent_and_each_ancestor_once(spec):
    """engine.ssa.dependent_tables, against the dependency graph it lays out: per
    reaction, its dependents (each once, in the group of its propensity's form) and the
    inner nodes above them (each once, children before parents)."""
    from stochsyn.engine.ssa import DEP_ONE, DEP_OTHER, DEP_TWO, dependent_tables
    from stochsyn.network import compile as compile_network
    net = compile_network(ss.Model.from_dict(spec)).arrays
    rows, split, nodes = dependent_tables.py_func(net)
    first_leaf = (int(net.n_leaves[0]) - 1) // 3
    forms_seen = set()
    for j in range(len(net.rate)):
        dependents = list(net.dep_idx[net.dep_ptr[j]:net.dep_ptr[j + 1]])
        assert split[j, 0] == (split[j - 1, 3] if j else 0)
        assert sorted(rows[split[j, 0]:split[j, 3], 0]) == sorted(dependents)
        for form in (DEP_ONE, DEP_TWO, DEP_OTHER):
            for r, a, b in rows[split[j, form]:split[j, form + 1]]:
                q0, q1 = net.reac_ptr[r], net.reac_ptr[r + 1]
                reactants = list(zip(net.reac_idx[q0:q1], net.reac_order[q0:q1]))
                expected = {DEP_ONE: [(a, 1)], DEP_TWO: [(a, 1), (b, 1)]}.get(form)
                if expected is None:
                    assert a == b == -1
                    assert [order for _, order in reactants] not in ([1], [1, 1])
                else:
                    assert reactants == expected
                forms_seen.add(form)
        ancestors = set()
        for r in dependents:
            i = first_leaf + r
            while i > 0:
                i = (i - 1) >> 2
                ancestors.add(i)
        assert list(nodes[split[j, 4]:split[j, 5]]) == sorted(ancestors, reverse=True)
    if spec is ALL_FORMS:
        assert forms_seen == {DEP_ONE, DEP_TWO, DEP_OTHER}
