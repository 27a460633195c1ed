"""The hybrid mode in the model layer: the ``[continuous]`` table, its errors, its
composition over includes, ``Model.with_continuous``, the classification of reactions
(stochsyn.model.hybrid_roles), ``stochsyn info/run --continuous`` and SBML export."""

from __future__ import annotations

import textwrap
import warnings
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn import Model, ModelError
from stochsyn.cli import main
from stochsyn.model import hybrid_roles

ROOT = Path(__file__).resolve().parents[2]
SPINE = ROOT / "reactions" / "examples" / "spine_electrophysiology.toml"
CA_MODULE = ("Ca", "B", "CaB", "Bslow", "CaBslow", "PMCA", "CaPMCA", "NCX", "CaNCX")

BASE = {
    "model": {"name": "base", "volume": "0.1 fL"},
    "inputs": {"V": {"unit": "mV", "value": "-70 mV"}},
    "species": {"Ca": 10, "B": 100, "CaB": 0, "X": 3},
    "agents": {"R": {"sites": {"s": ["c", "o"]}, "initial": [{"count": 4}]}},
    "reactions": [
        {"name": "buffer", "equation": "Ca + B <-> CaB", "rate": [1.0, 10.0]},
        {"name": "influx", "equation": "R(s=o) -> R(s=o) + Ca", "rate": 5.0},
        {"name": "gate", "equation": "R(s=c) <-> R(s=o)", "rate": [1.0, 1.0]},
        {"name": "sense", "equation": "Ca + X -> Ca", "rate": 0.1},
    ],
}


def model(**changes):
    data = {**BASE, **changes}
    return Model.from_dict(data)


def error(data, match):
    with pytest.raises(ModelError, match=match) as info:
        Model.from_dict({**BASE, **data})
    return str(info.value)


def test_exact_is_the_default():
    m = model()
    assert m.continuous == () and m.continuous_species == ()
    assert set(hybrid_roles(m)) == {"exact"}


def test_roles():
    m = model(continuous={"species": ["Ca", "B", "CaB"]})
    assert m.continuous_species == ("Ca", "B", "CaB")
    roles = dict(zip((r.name for r in m.reactions), hybrid_roles(m)))
    assert roles["buffer_fwd"] == roles["buffer_rev"] == "ode"
    # an agent "moved" to its own state: only Ca changes, so a flux (a term of dCa/dt)
    assert roles["influx[R(s=o)→R(s=o)]"] == "flux"
    assert roles["sense"] == "coupled"                     # reads Ca, changes X
    assert roles["gate_fwd[R(s=c)→R(s=o)]"] == "exact"
    # only the buffers' partners continuous: the buffer reads Ca (discrete) -> coupled
    m2 = model(continuous={"species": ["B", "CaB"]})
    assert dict(zip((r.name for r in m2.reactions), hybrid_roles(m2)))["buffer_fwd"] == \
        "coupled"


def test_flux_opt_out_and_refusals():
    """``flux = false`` keeps the per-ion jump; ``flux = true`` is refused, naming the
    reaction and the line, where the reaction cannot be a flux: it moves agents (in any
    mode), it is logged, or (in the hybrid mode) it changes a discrete species."""
    reactions = [dict(r) for r in BASE["reactions"]]
    reactions[1]["flux"] = False
    m = model(reactions=reactions, continuous={"species": ["Ca", "B", "CaB"]})
    roles = dict(zip((r.name for r in m.reactions), hybrid_roles(m)))
    assert roles["influx[R(s=o)→R(s=o)]"] == "jump"
    assert m.reactions[2].flux is False and Model.from_dict(BASE).reactions[2].flux is None
    reactions[1]["flux"] = True       # fine in both modes
    assert model(reactions=reactions).reactions[2].flux is True
    for changes, match in (
            ({"name": "gate", "equation": "R(s=c) -> R(s=o)", "rate": 1.0, "flux": True},
             r"'gate\[R\(s=c\)→R\(s=o\)\]' has flux = true, but it moves, creates or "
             r"destroys agents"),
            ({"name": "influx", "equation": "R(s=o) -> R(s=o) + Ca", "rate": 5.0, "flux": True,
              "log": True}, "it is logged"),
            ({"name": "influx", "equation": "R(s=o) -> R(s=o) + Ca", "rate": 5.0,
              "flux": "yes"}, "'flux' must be true or false")):
        bad = [dict(r) for r in BASE["reactions"]]
        bad[1] = changes
        error({"reactions": bad}, match)
    bad = [dict(r) for r in BASE["reactions"]]
    bad[3] = {"name": "sense", "equation": "Ca + X -> Ca", "rate": 0.1, "flux": True}
    Model.from_dict({**BASE, "reactions": bad})        # exact mode: nothing continuous yet
    text = error({"reactions": bad, "continuous": {"species": ["Ca"]}},
                 r"'sense' has flux = true, but it changes the discrete species X")
    assert "flux = true" in text and "[continuous] species" in text


def test_unknown_species_is_named_with_a_suggestion():
    text = error({"continuous": {"species": ["Cab"]}}, "names 'Cab', which is not a species")
    assert "Did you mean" in text


def test_agent_types_and_states_cannot_be_continuous():
    error({"continuous": {"species": ["R"]}}, "agent type or state")
    error({"continuous": {"species": ["R(s=o)"]}}, "agent type or state")


def test_a_channel_state_cannot_be_continuous():
    data = {"species": {**BASE["species"], "O": 2},
            "channels": {"K": {"open": "O", "conductance": "10 pS", "reversal": "-90 mV"}},
            "continuous": {"species": ["O"]}}
    error(data, "channel 'K' conducts through the continuous species O")


def test_a_time_dependent_rate_cannot_read_a_continuous_species():
    reactions = BASE["reactions"] + [
        {"name": "vdep", "equation": "Ca -> X",
         "rate": {"kind": "voltage", "k0": "1 /s", "v_scale": "20 mV"}}]
    text = error({"reactions": reactions, "continuous": {"species": ["Ca"]}},
                 "reaction 'vdep' has a time-dependent rate")
    assert "Leave Ca discrete" in text
    # producing a continuous species is fine (a jump)
    reactions[-1] = dict(reactions[-1], equation="X -> Ca")
    m = Model.from_dict({**BASE, "reactions": reactions, "continuous": {"species": ["Ca"]}})
    assert hybrid_roles(m)[-1] == "jump"


@pytest.mark.parametrize("table, match", [
    ({"species": "Ca"}, "must be a list of species names"),
    ({"species": ["Ca", "Ca"]}, "lists 'Ca' twice"),
    ({"specie": ["Ca"]}, "unknown key 'specie'"),
    ({"species": ["Ca"], "rtol": 0}, "rtol must be a number in"),
    ({"species": ["Ca"], "rtol": "1e-6"}, "rtol must be a number in"),
    ({"species": ["Ca"], "atol": "1 /s"}, "atol"),
    ({"species": ["Ca"], "linear": "no"}, "linear must be true or false"),
])
def test_bad_tables(table, match):
    error({"continuous": table}, match)


def test_tolerances_and_units():
    m = model(continuous={"species": ["Ca"], "rtol": 1e-8, "atol": "1 pM"})
    assert m.continuous_tolerance[0] == 1e-8
    assert m.continuous_tolerance[1] == pytest.approx(1e-12 * 6.02214076e23 * 1e-16)


def test_with_continuous():
    exact = model()
    hybrid = exact.with_continuous(["Ca", "B", "CaB"], rtol=1e-7)
    assert hybrid.continuous_species == ("Ca", "B", "CaB")
    assert hybrid.continuous_tolerance[0] == 1e-7 and hybrid.hash != exact.hash
    assert exact.with_continuous("Ca").continuous_species == ("Ca",)
    assert hybrid.with_continuous(None).hash == exact.hash
    assert hybrid.with_parameters().continuous == hybrid.continuous       # kept in the spec
    with pytest.raises(ModelError, match="need continuous species"):
        exact.with_continuous([], rtol=1e-3)
    assert hybrid.continuous_linear and exact.continuous_linear         # the default
    rodas = exact.with_continuous(["Ca", "B", "CaB"], rtol=1e-7, linear=False)
    assert not rodas.continuous_linear and rodas.hash != hybrid.hash
    assert rodas.with_parameters().continuous_linear is False             # kept in the spec
    with pytest.raises(ModelError, match="need continuous species"):
        exact.with_continuous([], linear=False)
    with pytest.raises(ModelError, match="not a species"):
        exact.with_continuous(["Cq"])


def test_interventions_on_continuous_species_compile_to_amount_changes():
    m = model(continuous={"species": ["Ca"]},
              interventions=[{"time": 1.0, "add": {"Ca": 5, "X": 1}}])
    arrays = ss.compile(m).arrays
    assert list(arrays.iv_kind) == [4, 1]          # ADD_VALUE (slot 0), ADD_COUNT
    assert list(arrays.iv_target) == [0, m.species_index("X")]


def test_spine_model_roles():
    spine = ss.load_model(SPINE).with_continuous(CA_MODULE)
    roles = dict(zip((r.rule for r in spine.reactions), hybrid_roles(spine)))
    assert roles["nmda_ca_influx"] == "flux"
    ca_rules = [r for r in roles if r.startswith("ca_")]
    assert len(ca_rules) == 15 and all(roles[r] == "ode" for r in ca_rules)
    assert "coupled" not in roles.values() and "jump" not in roles.values()
    text = spine.info()
    assert "hybrid mode: 9 continuous species" in text and "(ODE term)" in text
    assert "(flux: a term of dy/dt, no events)" in text
    assert "Ca: 3   (continuous)" in text


FRAGMENT_A = """\
[species]
A = 1
B = 2

[[reactions]]
name = "ab"
equation = "A <-> B"
rate = [1, 1]

[continuous]
species = ["A", "B"]
rtol = 1e-7
"""

FRAGMENT_C = """\
[species]
C = 3

[[reactions]]
name = "cc"
equation = "C ->"
rate = 1

[continuous]
species = ["C", "A"]
rtol = 1e-5
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_included_lists_unite_and_the_including_file_replaces_them(tmp_path):
    write(tmp_path, "a.toml", FRAGMENT_A)
    write(tmp_path, "c.toml", FRAGMENT_C.replace("rtol = 1e-5\n", ""))
    top = write(tmp_path, "top.toml", '[model]\nname = "top"\ninclude = ["a.toml", "c.toml"]\n')
    m = ss.load_model(top)
    assert m.continuous_species == ("A", "B", "C") and m.continuous_tolerance[0] == 1e-7
    top2 = write(tmp_path, "top2.toml", '[model]\nname = "top2"\ninclude = ["a.toml", "c.toml"]'
                 '\n\n[continuous]\nspecies = ["C"]\n')
    assert ss.load_model(top2).continuous_species == ("C",)
    top3 = write(tmp_path, "top3.toml", '[model]\nname = "top3"\ninclude = ["a.toml"]'
                 '\n\n[continuous]\nspecies = []\n')
    assert ss.load_model(top3).continuous == ()


def test_conflicting_tolerances_of_two_includes_are_an_error(tmp_path):
    write(tmp_path, "a.toml", FRAGMENT_A)
    write(tmp_path, "c.toml", FRAGMENT_C)
    top = write(tmp_path, "top.toml", '[model]\nname = "top"\ninclude = ["a.toml", "c.toml"]\n')
    with pytest.raises(ModelError, match=r"\[continuous\] 'rtol' is defined in two included"):
        ss.load_model(top)
    fixed = write(tmp_path, "fixed.toml", '[model]\nname = "f"\ninclude = ["a.toml", "c.toml"]'
                  '\n\n[continuous]\nrtol = 1e-6\n')
    m = ss.load_model(fixed)
    assert m.continuous_tolerance[0] == 1e-6 and m.continuous_species == ("A", "B", "C")


def test_an_error_in_the_table_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "bad.toml", '[model]\nname = "bad"\n\n[species]\nA = 1\n\n'
                 '[continuous]\nspecies = ["Q"]\n')
    with pytest.raises(ModelError, match=r"\[continuous\] 'species' \(line 8\)"):
        ss.load_model(path)


def test_cli_info_and_run(tmp_path, capsys):
    model_file = write(tmp_path, "m.toml", '[model]\nname = "m"\n\n[species]\nA = 100\n'
                       'X = 0\n\n[[reactions]]\nname = "d"\nequation = "A ->"\nrate = 2\n\n'
                       '[[reactions]]\nname = "x"\nequation = "A -> A + X"\nrate = 0.1\n')
    assert main(["info", str(model_file), "--continuous", "A"]) == 0
    out = capsys.readouterr().out
    assert "(ODE term)" in out and "reads continuous species" in out
    out_dir = tmp_path / "run"
    assert main(["run", str(model_file), "--t-end", "1", "--trajectories", "3", "--seed", "1",
                 "--continuous", "A", "--out", str(out_dir), "--no-progress"]) == 0
    ens = ss.read(out_dir)
    assert ens.continuous == ("A",) and ens.values("A").dtype.kind == "f"
    assert main(["run", str(model_file), "--t-end", "1", "--continuous", "Q",
                 "--out", str(tmp_path / "r2"), "--no-progress"]) == 2
    assert "not a species" in capsys.readouterr().err


def test_the_spine_example_declares_the_hybrid_mode_and_exact_is_one_flag_away(capsys):
    """The example's [continuous] table: the Ca²⁺ module continuous, Ca²⁺ entry a flux;
    ``--exact`` (= ``--continuous none``) shows and runs the fully exact model."""
    spine = ss.load_model(SPINE)
    assert spine.continuous_species == CA_MODULE
    assert dict(zip((r.rule for r in spine.reactions),
                    hybrid_roles(spine)))["nmda_ca_influx"] == "flux"
    assert main(["info", str(SPINE)]) == 0
    out = capsys.readouterr().out
    assert "(flux: a term of dy/dt, no events)" in out and "hybrid mode: 9" in out
    assert main(["info", str(SPINE), "--exact"]) == 0
    out = capsys.readouterr().out
    assert "(flux:" not in out and "(continuous)" not in out and "hybrid mode" not in out
    assert spine.with_continuous([]).hash == ss.load_model(SPINE).with_continuous([]).hash
    assert main(["info", str(SPINE), "--exact", "--continuous", "Ca"]) == 2
    err = capsys.readouterr().err
    assert "error: --exact and --continuous both given" in err and "hint:" in err


def test_sbml_export_warns_that_the_mode_is_not_written(tmp_path):
    pytest.importorskip("libsbml")
    m = Model.from_dict({"model": {"name": "s"}, "species": {"A": 5},
                         "reactions": [{"name": "d", "equation": "A ->", "rate": 1.0}],
                         "continuous": {"species": ["A"]}})
    with pytest.warns(UserWarning, match="not written to SBML"):
        m.to_sbml(tmp_path / "s.xml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = ss.load_model(tmp_path / "s.xml")
    assert back.continuous == ()


def test_the_command_flags_a_flux_that_drives_a_species_below_zero(tmp_path, capsys):
    """A flux whose integration takes the amount it consumes below zero (a fast uptake at a
    loose rtol, tests/engine/test_continuous.py) stops its trajectory: ``stochsyn run``
    says so naming the reaction and the species and how to fix it, keeps the results, and
    exits with status 3 (stopped trajectories), not 0."""
    path = tmp_path / "uptake.toml"
    path.write_text(textwrap.dedent("""\
        [model]
        name = "uptake"
        volume = "1 fL"
        [species]
        A = 1000
        X = 1000
        [continuous]
        species = ["A"]
        rtol = 0.5
        atol = 1e-9
        [[reactions]]
        name = "take"
        equation = "A + X -> X"
        rate = "100 /s"
        [[reactions]]
        name = "feed"
        equation = "-> A"
        rate = "1e5 /s"
        """))
    out = tmp_path / "run"
    assert main(["run", str(path), "--t-end", "1", "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "flux_negative" in err and "'take' (consumes A)" in err
    assert "flux = false" in err and "rtol" in err and "Traceback" not in err
    assert ss.read(out).status[0] != 0


def test_a_complex_rule_cannot_be_a_flux():
    """A complex rule (``members``) whose own equation leaves its agent as it is still
    changes the states of the complex's members: ``flux = true`` on it is refused, naming
    the rule (flux_obstacle; without the check it would pass as a flux that moves none)."""
    data = {"model": {"name": "complex_flux"}, "species": {"Ca": 10},
            "agents": {"K": {"sites": {"psd": ["no", "yes"]}, "ring_size": 3,
                             "complex_size": 6, "initial": [{"count": 6, "psd": "yes"}]}},
            "reactions": [{"name": "release", "equation": "K(psd=yes) -> K(psd=yes) + Ca",
                           "rate": 0.5, "members": ["K(psd=yes) -> K(psd=no)"],
                           "flux": True}]}
    with pytest.raises(ModelError, match=r"'release\[.*\]' has flux = true, but it changes "
                                         r"the members of a complex") as caught:
        Model.from_dict(data)
    assert "reaction 'release', field 'flux'" in str(caught.value)
    data["reactions"][0]["flux"] = False
    Model.from_dict(data)
