"""Positive behaviour of the model layer: rule expansion, labels, observables, interventions,
parameter variants, the model hash, line locations and the propensity convention."""

import math
from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss
from stochsyn import Model, ModelError
from stochsyn.model.toml import locate
from stochsyn.model.units import AVOGADRO

OMEGA = 60.2214076                 # molecules per µM in 0.1 fL
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "reactions" / "examples"
SEED = 20261122

AMPAR_SITES = {"loc": ["endo", "extra", "psd", "trapped"], "s831": ["u", "p"],
               "s845": ["u", "p"]}


def ampar_model(reactions, species=None, **extra):
    data = {
        "model": {"name": "ampar", "volume": "0.1 fL"},
        "species": species if species is not None else {},
        "agents": {"AMPAR": {"sites": AMPAR_SITES,
                             "initial": [{"count": 50, "loc": "endo"},
                                         {"count": 45, "loc": "psd"},
                                         {"count": 5, "loc": "psd", "s845": "p"}]}},
        "reactions": reactions,
    }
    data.update(extra)
    return Model.from_dict(data)


def state(model, label):
    return model.species.index(label)


def by_state(model, reaction):
    """{from state label: to state label} of a reaction's agent moves."""
    name = model.species
    return {name[frm] if frm >= 0 else None: name[to] if to >= 0 else None
            for _, frm, to in reaction.agent_moves}


# -- agent states and rule expansion -------------------------------------------------------

def test_agent_state_species_labels_and_initial_counts():
    model = ampar_model([])
    assert model.n_plain_species == 0
    assert model.agent_state_base == {"AMPAR": 0}
    assert len(model.species) == 4 * 2 * 2
    # first site slowest, values in the order written
    assert model.species[:4] == ("AMPAR(loc=endo,s831=u,s845=u)",
                                 "AMPAR(loc=endo,s831=u,s845=p)",
                                 "AMPAR(loc=endo,s831=p,s845=u)",
                                 "AMPAR(loc=endo,s831=p,s845=p)")
    assert model.species[-1] == "AMPAR(loc=trapped,s831=p,s845=p)"
    x0 = dict(zip(model.species, model.x0))
    # unnamed sites take their first value
    assert x0["AMPAR(loc=endo,s831=u,s845=u)"] == 50
    assert x0["AMPAR(loc=psd,s831=u,s845=u)"] == 45
    assert x0["AMPAR(loc=psd,s831=u,s845=p)"] == 5
    assert sum(model.x0) == 100
    assert model.agent_type_of(3) == 0


def test_plain_species_come_before_agent_states():
    model = ampar_model([], species={"PP1": 30, "Ca": "0.05 uM"})
    assert model.plain_species == ("PP1", "Ca")
    assert model.agent_state_base == {"AMPAR": 2}
    assert model.x0[:2] == (30, 3)            # 0.05 uM · 60.22 /uM = 3.01 -> 3
    assert model.agent_type_of(0) == -1 and model.agent_type_of(2) == 0


def test_rule_expands_over_unnamed_sites_and_keeps_them():
    model = ampar_model([{"name": "exocytosis",
                          "equation": "AMPAR(loc=endo) -> AMPAR(loc=extra)",
                          "rate": "0.05 /s", "log": True}])
    assert len(model.reactions) == 4                       # s831 × s845
    moves = {}
    for reaction in model.reactions:
        assert reaction.rule == "exocytosis" and reaction.log
        assert reaction.rate == pytest.approx(0.05)
        assert len(reaction.reactants) == 1 and reaction.reactants[0][1] == 1
        moves.update(by_state(model, reaction))
        assert reaction.name.startswith("exocytosis[AMPAR(loc=endo,")
    assert moves == {f"AMPAR(loc=endo,s831={a},s845={b})": f"AMPAR(loc=extra,s831={a},s845={b})"
                     for a in "up" for b in "up"}
    names = [r.name for r in model.reactions]
    assert len(set(names)) == 4
    assert "exocytosis[AMPAR(loc=endo,s831=p,s845=u)→AMPAR(loc=extra,s831=p,s845=u)]" in names


def test_catalyst_pattern():
    model = ampar_model([{"name": "dephos",
                          "equation": "AMPAR(s845=p) + PP1 -> AMPAR(s845=u) + PP1",
                          "rate": "0.01 /s"}], species={"PP1": 30})
    pp1 = state(model, "PP1")
    assert len(model.reactions) == 4 * 2                   # loc × s831, s845 = p only
    for reaction in model.reactions:
        (frm, to), = by_state(model, reaction).items()
        assert "s845=p" in frm and to == frm.replace("s845=p", "s845=u")
        assert dict(reaction.reactants) == {pp1: 1, state(model, frm): 1}
        assert dict(reaction.products) == {pp1: 1, state(model, to): 1}
        assert reaction.rate == pytest.approx(0.01)


def test_creation_and_destruction():
    model = ampar_model([
        {"name": "synthesis", "equation": "-> AMPAR(loc=endo, s831=u, s845=u)",
         "rate": "0.5 /s"},
        {"name": "degradation", "equation": "AMPAR(loc=endo) ->", "rate": "0.01 /s"},
    ])
    synthesis = [r for r in model.reactions if r.rule == "synthesis"]
    degradation = [r for r in model.reactions if r.rule == "degradation"]
    assert len(synthesis) == 1 and len(degradation) == 4
    target = state(model, "AMPAR(loc=endo,s831=u,s845=u)")
    assert synthesis[0].reactants == ()
    assert synthesis[0].products == ((target, 1),)
    assert synthesis[0].agent_moves == ((0, -1, target),)
    for reaction in degradation:
        (_, frm, to), = reaction.agent_moves
        assert to == -1 and model.species[frm].startswith("AMPAR(loc=endo,")
        assert reaction.products == ()
    # a type with a creation rule gets head-room, one without keeps its number
    assert model.agent_types[0].capacity == 100 + 1000
    assert ampar_model([]).agent_types[0].capacity == 100


def test_neighbour_rule_counts_one_class_for_its_neighbour_set():
    """A neighbour pattern matching several states (t286 = u or p) gives one reaction whose
    pair class holds every target agent with its left neighbour in any of them."""
    model = Model.from_dict({
        "agents": {"CaMKII": {"sites": {"cam": ["free", "bound"], "t286": ["u", "p"]},
                              "ring_size": 6, "initial": [{"count": 12}]}},
        "reactions": [{"name": "auto", "equation": "CaMKII(cam=bound, t286=u) -> CaMKII(t286=p)",
                       "neighbour": "CaMKII(cam=bound)", "rate": "6 /s"}],
    })
    assert model.agent_types[0].ring_size == 6
    target = state(model, "CaMKII(cam=bound,t286=u)")
    product = state(model, "CaMKII(cam=bound,t286=p)")
    [reaction] = model.reactions
    assert reaction.rate == 6.0
    assert reaction.agent_moves == ((0, target, product),)
    assert reaction.neighbour == (target, (target, product))
    assert reaction.name.endswith("left=CaMKII(cam=bound)]")


def test_overlapping_neighbour_sets_split_into_atoms():
    """Two rules on one target whose neighbour sets overlap: the sets are cut into their
    atoms ({bound,u}, {bound,p}, {free,p}); each rule is one reaction per atom it covers."""
    model = Model.from_dict({
        "agents": {"CaMKII": {"sites": {"cam": ["free", "bound"], "t286": ["u", "p"]},
                              "ring_size": 6, "initial": [{"count": 12}]}},
        "reactions": [
            {"name": "by_cam", "equation": "CaMKII(cam=bound, t286=u) -> CaMKII(t286=p)",
             "neighbour": "CaMKII(cam=bound)", "rate": "6 /s"},
            {"name": "by_p", "equation": "CaMKII(cam=bound, t286=u) -> CaMKII(t286=p)",
             "neighbour": "CaMKII(t286=p)", "rate": "4.8 /s"},
        ],
    })
    bu, bp, fp = (state(model, f"CaMKII(cam={c},t286={t})")
                  for c, t in (("bound", "u"), ("bound", "p"), ("free", "p")))
    got = [(r.rule, r.neighbour[1]) for r in model.reactions]
    assert got == [("by_cam", (bu,)), ("by_cam", (bp,)), ("by_p", (fp,)), ("by_p", (bp,))]
    assert len({r.name for r in model.reactions}) == 4


def test_value_alternatives_and_exclusions_in_patterns():
    model = Model.from_dict({
        "agents": {"K": {"sites": {"cam": ["none", "c0", "c2", "c4"], "t": ["u", "p"]},
                         "initial": [{"count": 5}]}},
        "reactions": [{"name": "on", "equation": "K(cam!=none, t=u) -> K(t=p)", "rate": 1}],
        "observables": {"loaded": "K(cam=c2|c4)", "active": "K(cam!=none|c0) + K(t=p)"},
    })
    assert [model.species[r.agent_moves[0][1]] for r in model.reactions] == [
        "K(cam=c0,t=u)", "K(cam=c2,t=u)", "K(cam=c4,t=u)"]
    assert sorted(model.species[i] for i in model.observables["loaded"]) == [
        "K(cam=c2,t=p)", "K(cam=c2,t=u)", "K(cam=c4,t=p)", "K(cam=c4,t=u)"]
    weights = {model.species[i]: w for i, w in model.observables["active"].items()}
    assert weights["K(cam=c4,t=p)"] == 2 and weights["K(cam=none,t=p)"] == 1
    assert "K(cam=c0,t=u)" not in weights and "K(cam=none,t=u)" not in weights


@pytest.mark.parametrize("spec_change, message", [
    ({"equation": "K(t=u) -> K(t=p|u)"}, "several values"),
    ({"equation": "K(cam!=none|c0|c2|c4) -> K(t=p)"}, "excludes every value"),
    ({"equation": "K(cam=c9) -> K(t=p)"}, "has no value 'c9'"),
])
def test_value_alternatives_are_refused_where_a_value_is_set(spec_change, message):
    reaction = {"name": "r", "equation": "K(t=u) -> K(t=p)", "rate": 1, **spec_change}
    with pytest.raises(ModelError, match=message):
        Model.from_dict({"agents": {"K": {"sites": {"cam": ["none", "c0", "c2", "c4"],
                                                     "t": ["u", "p"]},
                                           "initial": [{"count": 5}]}},
                         "reactions": [reaction]})


def test_reversible_equation_gives_fwd_and_rev():
    model = ss.load_model(EXAMPLES / "dimerisation.toml")
    assert [r.name for r in model.reactions] == ["dimerisation_fwd", "dimerisation_rev"]
    fwd, rev = model.reactions
    p, p2 = state(model, "P"), state(model, "P2")
    assert fwd.reactants == ((p, 2),) and fwd.products == ((p2, 1),)
    assert rev.reactants == ((p2, 1),) and rev.products == ((p, 2),)
    assert (fwd.rate, rev.rate) == (0.001, 0.01)
    assert fwd.rule == "dimerisation_fwd"


@pytest.mark.parametrize("equation, reactants, products", [
    ("2 P -> P2", {"P": 2}, {"P2": 1}),
    ("2P -> P2", {"P": 2}, {"P2": 1}),
    ("2*P -> P2", {"P": 2}, {"P2": 1}),
    ("P + P -> P2", {"P": 2}, {"P2": 1}),
    ("-> P", {}, {"P": 1}),
    ("0 -> P", {}, {"P": 1}),
    ("∅ -> P", {}, {"P": 1}),
    ("P2 ->", {"P2": 1}, {}),
    ("P -> 2 P", {"P": 1}, {"P": 2}),
])
def test_equation_forms(equation, reactants, products):
    model = Model.from_dict({"species": {"P": 1, "P2": 0},
                             "reactions": [{"name": "r", "equation": equation, "rate": 1}]})
    reaction, = model.reactions
    assert {model.species[i]: n for i, n in reaction.reactants} == reactants
    assert {model.species[i]: n for i, n in reaction.products} == products


# -- observables ---------------------------------------------------------------------------

def test_observables_weights():
    model = ampar_model(
        [], species={"P": 1, "P2": 0, "X": 0, "Y": 0},
        observables={"psd_ampar": "AMPAR(loc=psd) + AMPAR(loc=trapped)",
                     "total": "AMPAR",
                     "P_total": "P + 2*P2",
                     "difference": "X - Y",
                     "milli": "1e-3*X",
                     "mixed": "-X + 2.5*Y - 0.5 * P",
                     "repeated": "X + X + 2 X",
                     "weighted": "1.5*AMPAR(loc=endo, s845=p) - AMPAR(s831=p)"})
    obs = model.observables

    def named(weights):
        return {model.species[i]: w for i, w in weights.items()}

    psd = named(obs["psd_ampar"])
    assert len(psd) == 8 and set(psd.values()) == {1.0}
    assert all("loc=psd" in s or "loc=trapped" in s for s in psd)
    assert named(obs["total"]) == {s: 1.0 for s in model.species if s.startswith("AMPAR(")}
    assert named(obs["P_total"]) == {"P": 1.0, "P2": 2.0}
    assert named(obs["difference"]) == {"X": 1.0, "Y": -1.0}
    assert named(obs["milli"]) == {"X": pytest.approx(1e-3)}
    assert named(obs["mixed"]) == {"X": -1.0, "Y": 2.5, "P": -0.5}
    assert named(obs["repeated"]) == {"X": 4.0}
    weighted = named(obs["weighted"])
    # overlap of the two patterns: endo, s831=p, s845=p has 1.5 - 1
    assert weighted["AMPAR(loc=endo,s831=p,s845=p)"] == pytest.approx(0.5)
    assert weighted["AMPAR(loc=endo,s831=u,s845=p)"] == pytest.approx(1.5)
    assert weighted["AMPAR(loc=psd,s831=p,s845=u)"] == pytest.approx(-1.0)
    assert "AMPAR(loc=psd,s831=u,s845=u)" not in weighted


def test_observable_values_in_a_simulation():
    model = ss.load_model(EXAMPLES / "dimerisation.toml")
    ens = ss.simulate(model, t_end=5.0, n_trajectories=3, seed=SEED, sample_every=1.0)
    np.testing.assert_array_equal(ens.values("P_total"), 100.0)


# -- interventions -------------------------------------------------------------------------

def test_interventions_set_add_parameters_sorted_with_time_units():
    model = ampar_model(
        [{"name": "exocytosis", "equation": "AMPAR(loc=endo) -> AMPAR(loc=extra)",
          "rate": "k_exo"},
         {"name": "endocytosis", "equation": "AMPAR(loc=extra) -> AMPAR(loc=endo)",
          "rate": "k_endo"},
         {"name": "decay", "equation": "X ->", "rate": "k_x"}],
        species={"X": 10, "Y": 0},
        parameters={"k_exo": "0.05 /s", "k_endo": "0.1 /s", "k_x": "2 * k_exo"},
        interventions=[
            {"time": "2 min", "parameters": {"k_endo": "0.3 /s"}},
            {"time": "100 ms", "set": {"X": 50}, "add": {"Y": 3}},
            {"time": 5, "add": {"X": -4}},
            {"time": "1 s", "parameters": {"k_exo": "0.2 /s"}},
            {"time": "30 s", "set": {"X": "1 uM"}},
        ])
    ivs = model.interventions
    assert [iv.time for iv in ivs] == pytest.approx([0.1, 1.0, 5.0, 30.0, 120.0])
    x, y = state(model, "X"), state(model, "Y")
    assert ivs[0].set_counts == ((x, 50),) and ivs[0].add_counts == ((y, 3),)
    assert ivs[0].set_rates == ()
    assert ivs[2].add_counts == ((x, -4),)
    assert ivs[3].set_counts == ((x, 60),)
    assert "X := 50" in ivs[0].label and "Y += 3" in ivs[0].label
    # k_exo changes the 4 exocytosis reactions and, through k_x = 2 k_exo, the decay
    rules = [r.rule for r in model.reactions]
    changed = dict(ivs[1].set_rates)
    assert sorted(changed) == [j for j, rule in enumerate(rules)
                               if rule in ("exocytosis", "decay")]
    for j, c in changed.items():
        assert c == pytest.approx(0.2 if rules[j] == "exocytosis" else 0.4)
    changed = dict(ivs[4].set_rates)
    assert sorted(changed) == [j for j, rule in enumerate(rules) if rule == "endocytosis"]
    assert list(changed.values()) == [pytest.approx(0.3)] * 4
    # the model's own rates are the ones before any intervention
    assert {r.rule: r.rate for r in model.reactions} == {
        "exocytosis": pytest.approx(0.05), "endocytosis": pytest.approx(0.1),
        "decay": pytest.approx(0.1)}


def test_intervention_setting_a_parameter_to_its_own_value_changes_no_rate():
    model = Model.from_dict({
        "parameters": {"k": "0.1 /s"}, "species": {"X": 10},
        "reactions": [{"name": "decay", "equation": "X ->", "rate": "k"}],
        "interventions": [{"time": 1, "parameters": {"k": "0.10/s"}}]})
    assert model.interventions[0].set_rates == ()


# -- the 'rates' field of interventions ------------------------------------------------


def test_intervention_rates_field_sets_the_constant_of_named_reactions():
    model = Model.from_dict({
        "parameters": {"k": "0.1 /s"}, "species": {"X": 10, "P": 100, "P2": 0},
        "reactions": [{"name": "decay", "equation": "X ->", "rate": "k"},
                      {"name": "dimer", "equation": "2 P <-> P2", "rate": [0.001, 0.01]}],
        "interventions": [
            {"time": 1, "rates": {"decay": 0.5, "dimer_rev": "2 /min"}},
            {"time": 2, "parameters": {"k": "0.3 /s"}},      # changes decay's rate again
            {"time": 3, "rates": {"decay": 0.5}},            # differs from what is in force
            {"time": 4, "rates": {"dimer_rev": "2 /min"}},   # same as in force: no change
        ]})
    ivs = model.interventions
    assert ivs[0].set_rates == ((0, 0.5), (2, pytest.approx(2 / 60)))
    assert ivs[1].set_rates == ((0, pytest.approx(0.3)),)
    assert ivs[2].set_rates == ((0, 0.5),)
    assert ivs[3].set_rates == ()
    assert "rate of decay := 0.5 /s" in ivs[0].label


@pytest.mark.parametrize("rates_table, fragment", [
    ({"dimer": 0.1}, "'dimer' is reversible: name its directions 'dimer_fwd' and"),
    ({"decy": 0.1}, "Did you mean 'decay'?"),
    ({"decay": "1 /uM/s"}, "needs 1/s"),
    ({"decay": -1}, "must be a finite number >= 0"),
    ("fast", "must be a table"),
])
def test_intervention_rates_field_errors(rates_table, fragment):
    data = {"species": {"X": 10, "P": 100, "P2": 0},
            "reactions": [{"name": "decay", "equation": "X ->", "rate": 0.1},
                          {"name": "dimer", "equation": "2 P <-> P2", "rate": [0.001, 0.01]}],
            "interventions": [{"time": 1, "rates": rates_table}]}
    with pytest.raises(ModelError) as info:
        Model.from_dict(data)
    assert fragment in str(info.value)
    assert "interventions[0], field 'rates'" in str(info.value)



def test_observable_with_names_ending_in_e_and_exponents():
    """Regression: a name ending in 'e'/'E' before '+'/'-' was read as a number's exponent."""
    model = Model.from_dict({"species": {"E": 1, "X": 2, "Kinase": 3},
                             "observables": {"a": "E + X", "b": "1.5e-3*X - Kinase",
                                             "c": "2e+1*E-X"}})
    assert model.observables == {"a": {0: 1.0, 1: 1.0}, "b": {1: 0.0015, 2: -1.0},
                                 "c": {0: 20.0, 1: -1.0}}


# -- with_parameters -----------------------------------------------------------------------

BINDING = {
    "model": {"volume": "0.1 fL"},
    "parameters": {"k_exo": "0.05 /s", "k_on": "6.8 /uM/s", "Kd": "2 uM",
                   "k_off": "k_on * Kd", "k_plain": 0.5},
    "species": {"A": 10, "B": 10, "C": 0, "X": 5},
    "reactions": [{"name": "binding", "equation": "A + B <-> C", "rate": ["k_on", "k_off"]},
                  {"name": "decay", "equation": "X ->", "rate": "k_exo"},
                  {"name": "plain", "equation": "C ->", "rate": "k_plain"}],
}


def rates(model):
    return {r.name: r.rate for r in model.reactions}


def test_with_parameters_bare_number_keeps_the_unit():
    model = Model.from_dict(BINDING)
    assert rates(model)["decay"] == pytest.approx(0.05)
    faster = model.with_parameters(k_exo=0.1)
    assert rates(faster)["decay"] == pytest.approx(0.1)
    # /uM/s stays /uM/s: c = k / Ω
    with pytest.warns(ss.model.UnitWarning, match="'k_on' is taken in 1/µM/s"):
        assert rates(model.with_parameters(k_on=13.6))["binding_fwd"] == pytest.approx(
            13.6 / OMEGA)
    # a parameter written as a plain number stays a plain number
    assert rates(model.with_parameters(k_plain=2))["plain"] == 2.0
    assert model.with_parameters(k_exo=0.1) is not model
    assert rates(model)["decay"] == pytest.approx(0.05)        # the original is unchanged


def test_with_parameters_of_nothing_is_the_same_model():
    model = Model.from_dict(BINDING)
    assert model.with_parameters() is model
    assert model.with_parameters().hash == model.hash


def test_with_parameters_strings_and_dependents():
    model = Model.from_dict(BINDING)
    assert rates(model)["binding_rev"] == pytest.approx(6.8 * 2)            # k_on·Kd in /s
    assert rates(model.with_parameters(k_exo="1/(10 s)"))["decay"] == pytest.approx(0.1)
    assert rates(model.with_parameters(k_exo="6 /min"))["decay"] == pytest.approx(0.1)
    wider = model.with_parameters(Kd="4 uM")
    assert rates(wider)["binding_rev"] == pytest.approx(6.8 * 4)
    assert rates(wider)["binding_fwd"] == pytest.approx(6.8 / OMEGA)
    with pytest.warns(ss.model.UnitWarning, match="'Kd' is taken in µM"):
        assert rates(model.with_parameters(Kd=0.5))["binding_rev"] == pytest.approx(6.8 * 0.5)
    both = model.with_parameters(k_on="1 /uM/s", Kd="1000 nM")
    assert rates(both)["binding_rev"] == pytest.approx(1.0)
    assert rates(both)["binding_fwd"] == pytest.approx(1 / OMEGA)


def test_with_parameters_errors():
    model = Model.from_dict(BINDING)
    with pytest.raises(ModelError, match="no parameter 'k_ex'.*Did you mean 'k_exo'"):
        model.with_parameters(k_ex=0.1)
    with pytest.raises(ModelError, match="first-order rate needs 1/s"):
        model.with_parameters(k_exo="5 mV")
    with pytest.raises(ModelError, match=">= 0"):
        model.with_parameters(k_exo=-1)
    with pytest.raises(ModelError, match="boolean"):
        model.with_parameters(k_exo=True)
    with pytest.raises(ModelError, match="must be a number"):
        model.with_parameters(k_exo=[1])


# -- hash ----------------------------------------------------------------------------------

def test_hash_changes_with_parameters_and_not_otherwise(tmp_path):
    source = (EXAMPLES / "ampar_exchange.toml").read_text(encoding="utf-8")
    model = ss.load_model(EXAMPLES / "ampar_exchange.toml")
    assert len(model.hash) == 64
    assert ss.load_model(EXAMPLES / "ampar_exchange.toml").hash == model.hash
    # comments, blank lines and the order of keys in a table are not part of the model
    edited = tmp_path / "edited.toml"
    edited.write_text("# another comment\n\n" + source.replace(
        'k_exo = "0.05 /s"\nk_endo = "0.1 /s"', 'k_endo = "0.1 /s"   # swapped\n'
        'k_exo = "0.05 /s"'), encoding="utf-8")
    assert ss.load_model(edited).parameters.keys() == {"k_exo", "k_endo"}
    assert ss.load_model(edited).hash == model.hash
    assert model.with_parameters(k_exo="0.05 /s").hash == model.hash
    changed = model.with_parameters(k_exo=0.1)
    assert changed.hash != model.hash
    assert model.with_parameters(k_exo=0.2).hash not in (model.hash, changed.hash)
    assert changed.with_parameters(k_exo=0.1).hash == changed.hash


# -- line locations ------------------------------------------------------------------------

def test_locate_line_numbers():
    text = """# comment
[model]
name = "m"
volume = "0.1 fL"

[parameters]
k = "0.1 /s"
"k2" = 3

[species]
X = 10   # ten
Y = 0

[agents.AMPAR]
sites = { loc = ["a", "b"] }

[[reactions]]
name = "first"
equation = "X -> Y"
rate = "k"

[[reactions]]
equation = "Y -> X"
name = 'second'
rate = 1

[observables]
tot = "X + Y"

[[interventions]]
time = 1
set = { X = 1 }
"""
    where = locate(text)
    assert where[("model", None)] == 2
    assert where[("model", "volume")] == 4
    assert where[("parameters", "k")] == 7
    assert where[("parameters", "k2")] == 8
    assert where[("species", "X")] == 11 and where[("species", "Y")] == 12
    assert where[("agents", "AMPAR")] == 14
    assert where[("reactions", 0)] == where[("reactions", "first")] == 17
    assert where[("reactions", 1)] == where[("reactions", "second")] == 22
    assert where[("observables", "tot")] == 28
    assert where[("interventions", 0)] == 30


def test_error_lines_point_at_the_item(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[species]\nX = 1\n\n[[reactions]]\nname = "a"\nequation = "X ->"\n'
                    'rate = 1\n\n[[reactions]]\nname = "b"\nequation = "Z ->"\nrate = 1\n',
                    encoding="utf-8")
    with pytest.raises(ModelError, match=r"reaction 'b' \(line 9\), field 'equation'"):
        ss.load_model(path)


# -- the propensity convention, through the Model ------------------------------------------

def one_reaction(equation, rate, species, volume="0.1 fL", **extra):
    data = {"species": species,
            "reactions": [{"name": "r", "equation": equation, "rate": rate, **extra}]}
    if volume:
        data["model"] = {"volume": volume}
    return Model.from_dict(data)


@pytest.mark.parametrize("equation, rate, expected", [
    ("2 P -> P2", "1 /uM/s", 2 / OMEGA),                 # homodimer: ×2!
    ("P + P -> P2", "1 /uM/s", 2 / OMEGA),               # the same reaction written out
    ("A + B -> C", "6.8 /uM/s", 6.8 / OMEGA),
    ("-> X", "1 uM/s", OMEGA),                           # zeroth order: c = k·Ω
    ("3 A -> B", "1 /uM^2/s", 6 / OMEGA ** 2),           # ×3!
    ("2 A + B -> C", "1 /uM^2/s", 2 / OMEGA ** 2),
    ("2 P -> P2", "0.001 /s", 0.001),                    # 1/time is c itself
    ("2 P -> P2", 0.001, 0.001),
    ("A + B -> C", "1 /molecule/s", 1.0),                # amounts: Ω = N_A
    ("2 P -> P2", "1 /molecule/s", 2.0),
    ("A + B -> C", "6.8e6 /M/s", 6.8 / OMEGA),
    ("-> X", "1 nmol/s", 1e-9 * AVOGADRO),
])
def test_rate_conversion_worked_numbers(equation, rate, expected):
    model = one_reaction(equation, rate, {"P": 0, "P2": 0, "A": 0, "B": 0, "C": 0, "X": 0})
    assert model.reactions[0].rate == pytest.approx(expected, rel=1e-12)


def test_omega_is_avogadro_times_volume():
    model = one_reaction("X ->", 1, {"X": 0})
    assert model.volume_litre == pytest.approx(1e-16, rel=1e-12)
    assert AVOGADRO * model.volume_litre * 1e-6 == pytest.approx(OMEGA, rel=1e-12)


def test_neighbour_does_not_count_in_the_order_for_unit_conversion():
    """docs: the neighbour is in the same holoenzyme, so a unimolecular neighbour rule takes
    a first-order rate; a concentration-based constant is a dimension error."""
    data = {"model": {"volume": "0.1 fL"},
            "agents": {"C": {"sites": {"t": ["u", "p"]}, "ring_size": 2,
                             "initial": [{"count": 2}]}},
            "reactions": [{"name": "auto", "equation": "C(t=u) -> C(t=p)",
                           "neighbour": "C(t=p)", "rate": "6 /s"}]}
    assert Model.from_dict(data).reactions[0].rate == 6.0
    data["reactions"][0]["rate"] = "3 /uM/s"
    with pytest.raises(ModelError, match="auto"):
        Model.from_dict(data)
    # With a diffusing species on the left the order is 2: /uM/s converts with Ω.
    data["species"] = {"CaM": 10}
    data["reactions"][0]["equation"] = "C(t=u) + CaM -> C(t=p) + CaM"
    assert Model.from_dict(data).reactions[0].rate == pytest.approx(3 / OMEGA)


@pytest.mark.parametrize("amount, expected", [
    ("1 uM", 60), ("0.05 uM", 3), ("1000 nM", 60), ("2 uM", 120), (7, 7), (7.0, 7),
    ("10 molecule", 10), ("1e-21 mol", 602),
])
def test_initial_amounts(amount, expected):
    model = one_reaction("X ->", 1, {"X": amount})
    assert model.x0 == (expected,)


def dimerisation(p0, k="1 /uM/s"):
    return Model.from_dict({"model": {"volume": "0.1 fL"}, "species": {"P": p0, "P2": 0},
                            "reactions": [{"name": "dim", "equation": "2 P -> P2",
                                           "rate": k}]})


@pytest.mark.parametrize("p0", [2, 3])
def test_dimerisation_waiting_time_matches_c_times_binomial(p0):
    """With P(0) = p0 in {2, 3} only one dimerisation can happen, at an Exp(a) time with
    a = c·C(p0, 2) = c·p0(p0−1)/2. Sampled on a grid of step h, the first sample with
    P2 = 1 is at h·ceil(τ/h): geometric with p = 1 − exp(−a h), mean h/p and variance
    h²(1−p)/p², exactly (no discretisation bias). DSMTS-style |Z| < 3, frozen seed."""
    model = dimerisation(p0)
    c = model.reactions[0].rate
    assert c == pytest.approx(2 / OMEGA, rel=1e-12)
    a = c * p0 * (p0 - 1) / 2
    n, h = 4000, 1.0
    t_end = math.ceil(25 / a)                  # P(no event by t_end) = e^-25
    times = h * np.arange(int(t_end / h) + 1)
    ens = ss.simulate(model, t_end=float(times[-1]), n_trajectories=n, seed=SEED,
                      sample_times=times)
    assert np.all(ens.status == 0)
    p2 = ens.values("P2")
    assert np.all(ens.firings[:, 0] == 1)
    assert np.all(p2[:, -1] == 1) and np.all(ens.values("P")[:, -1] == p0 - 2)
    assert np.all(p2[:, 0] == 0)
    first = times[np.argmax(p2 >= 1, axis=1)]
    p = -math.expm1(-a * h)
    mean, variance = h / p, h * h * (1 - p) / p ** 2
    z = (first.mean() - mean) / math.sqrt(variance / n)
    assert abs(z) < 3, (first.mean(), mean, z)
    # and the survival function at a few times: fraction without an event ~ Bin(n, e^-at)
    for t in (0.5 / a, 1 / a, 2 / a):
        k = int(round(t / h))
        q = math.exp(-a * times[k])
        frac = float(np.mean(p2[:, k] == 0))
        assert abs(frac - q) < 3 * math.sqrt(q * (1 - q) / n), (t, frac, q)


def test_info_lists_the_expanded_model():
    text = ampar_model([{"name": "exocytosis", "equation": "AMPAR(loc=endo) -> AMPAR(loc=extra)",
                         "rate": "0.05 /s", "log": True}]).info()
    assert "reactions after expansion (4)" in text and "(logged)" in text
    assert "AMPAR(loc=endo,s831=u,s845=u): 50" in text


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_example_models_load(path):
    model = ss.load_model(path)
    assert model.reactions and model.source == str(path)
    assert all(r.rate >= 0 and math.isfinite(r.rate) for r in model.reactions)


def test_an_intervention_may_not_silently_miss_an_initial_count():
    spec = {"parameters": {"n": 5}, "species": {"X": "n"},
            "reactions": [{"name": "d", "equation": "X ->", "rate": 1}],
            "interventions": [{"time": 1, "parameters": {"n": 7}}]}
    with pytest.raises(ModelError, match="initial count"):
        Model.from_dict(spec)


def test_model_volume_is_the_model_volume_in_parameter_expressions():
    spec = {"model": {"name": "m", "volume": "0.2 fL"},
            "parameters": {"v": "model_volume", "n": "1 uM * v"},
            "species": {"X": "n"}, "reactions": []}
    model = Model.from_dict(spec)
    assert model.x0 == (round(1e-6 * 0.2e-15 * AVOGADRO),)
    with pytest.raises(ModelError, match="uses model_volume, but the model sets no volume"):
        Model.from_dict({**spec, "model": {"name": "m"}})
    with pytest.raises(ModelError, match="'model_volume' is reserved"):
        Model.from_dict({**spec, "parameters": {"model_volume": "1 fL"}})


# -- units at the API: which unit a bare number is taken in, and what info shows ----------------

PER_MINUTE = {"parameters": {"k_make": "60 /min", "k_exo": "0.05 /s", "kd": "2 uM",
                             "k_on": "6.8 /uM/s", "k_off": "k_on * kd",
                             "radius": "(3 * 0.1 fL / (4 * pi)) ** (1/3)"},
              "model": {"volume": "0.1 fL"},
              "species": {"X": 10},
              "reactions": [{"name": "make", "equation": "-> X", "rate": "k_make"},
                            {"name": "decay", "equation": "X ->", "rate": "k_exo"},
                            {"name": "off", "equation": "X ->", "rate": "k_off"}]}


def test_a_bare_number_is_taken_in_the_files_unit_and_the_warning_says_which():
    model = Model.from_dict(PER_MINUTE)
    with pytest.warns(ss.model.UnitWarning, match=r"parameter 'k_make' is taken in 1/min, the "
                                                   r"unit of its value in the model \(60 1/min\)"):
        slower = model.with_parameters(k_make=1.0)
    assert rates(slower)["make"] == pytest.approx(1 / 60)
    with pytest.warns(ss.model.UnitWarning, match="'kd' is taken in µM"):
        assert rates(model.with_parameters(kd=4))["off"] == pytest.approx(6.8 * 4)


def test_no_warning_for_1_per_s_a_string_or_a_quantity(recwarn):
    import pint
    model = Model.from_dict(PER_MINUTE)
    assert rates(model.with_parameters(k_exo=0.1))["decay"] == pytest.approx(0.1)
    assert rates(model.with_parameters(k_make="1 /s"))["make"] == pytest.approx(1.0)
    foreign = pint.UnitRegistry()                   # a user's own registry
    assert rates(model.with_parameters(k_make=foreign.Quantity(120, "1/hour")))["make"] == \
        pytest.approx(120 / 3600)
    # a parameter computed from others: its reduced unit (1/s), not 1/µM/s·µM
    assert rates(model.with_parameters(k_off=3))["off"] == pytest.approx(3.0)
    assert not [w for w in recwarn if issubclass(w.category, ss.model.UnitWarning)]


def test_a_bare_number_for_a_derived_length_is_read_in_the_unit_info_shows():
    model = Model.from_dict(PER_MINUTE)
    assert "radius = 0.287941 µm" in model.info()
    with pytest.warns(ss.model.UnitWarning, match="taken in µm"):
        wider = model.with_parameters(radius=0.5)
    assert wider.parameters["radius"].to("um").magnitude == pytest.approx(0.5)


def test_info_prints_reduced_short_units():
    text = ss.load_model(EXAMPLES / "spine_electrophysiology.toml").info()
    for shown in ("ca_head_radius = 0.287941 µm", "ca_neck_rate = 0.641923 1/ms",
                  "ca_pmca_n = 1041.88 particle", "Mg_out = 1 mM", "nmda_Rb = 5 1/mM/ms",
                  "ca_volume = 0.1 fL", "mem_neck_resistance = 300 MΩ"):
        assert shown in text, shown
    assert "liter ** 0.333333" not in text and "pi **" not in text and "micrometer" not in text
