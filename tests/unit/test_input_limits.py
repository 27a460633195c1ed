"""Limits and guards (stochsyn.limits): each is checked before the work it bounds, says the
limit, the value and how to change it, and lets through what is within it.

The corpus in tests/bad_input runs the hostile inputs through the command line; these tests
check the same guards in-process, from both sides of each limit, and the mechanisms
(environment variables, shortened messages, close names for paths).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn import limits
from stochsyn.model.errors import ModelError, closest, shorten
from stochsyn.model.expressions import parse
from stochsyn.model.files import close_path

REPO = Path(__file__).resolve().parent.parent.parent
BIRTH_DEATH = REPO / "reactions" / "examples" / "birth_death.toml"
AMPAR = REPO / "reactions" / "examples" / "ampar_exchange.toml"


def _decay(rate: str = "0.1 /s", **extra) -> dict:
    data = {"species": {"X": 10}, "reactions": [{"name": "decay", "equation": "X ->",
                                                  "rate": rate}]}
    data.update(extra)
    return data


# -- the limits themselves -------------------------------------------------------------------

def test_a_policy_is_read_from_its_environment_variable(monkeypatch):
    assert limits.value("file_mb") == 10
    monkeypatch.setenv("STOCHSYN_MAX_FILE_MB", "2.5")
    assert limits.value("file_mb") == 2.5
    monkeypatch.setenv("STOCHSYN_MAX_FILE_MB", "-1")
    with pytest.raises(limits.LimitError, match="STOCHSYN_MAX_FILE_MB must be a number > 0"):
        limits.value("file_mb")


def test_every_policy_has_a_variable_and_a_positive_default():
    for policy in limits.POLICIES.values():
        assert policy.variable.startswith("STOCHSYN_MAX_")
        assert limits.value(policy.name) > 0
    text = limits.describe()
    assert "STOCHSYN_MAX_AGENT_STATES = 100,000 states" in text


def test_messages_name_the_value_the_limit_and_the_variable():
    text = limits.exceeded("samples", "the number of sample times", 2e7)
    assert text == ("the number of sample times is 20,000,000 samples, more than the limit of "
                    "10,000,000 samples")
    assert "STOCHSYN_MAX_SAMPLES" in limits.how_to_raise("samples")


# -- files -------------------------------------------------------------------------------------

def test_a_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("STOCHSYN_MAX_FILE_MB", "0.0001")          # 100 bytes
    with pytest.raises(ModelError, match=r"the size of the model file is 0\.0 MB|more than "
                                         r"the limit of 0\.0001 MB") as info:
        ss.load_model(BIRTH_DEATH)
    assert "STOCHSYN_MAX_FILE_MB" in str(info.value)
    monkeypatch.setenv("STOCHSYN_MAX_FILE_MB", "1")
    assert ss.load_model(BIRTH_DEATH).reactions


def test_only_regular_files_are_read(tmp_path):
    with pytest.raises(ModelError, match="is a device, not a regular file"):
        ss.load_model("/dev/null")
    with pytest.raises(ModelError, match="is a folder, not a file"):
        ss.load_model(tmp_path)
    os.mkfifo(tmp_path / "pipe.toml")           # opening it would block: it is never opened
    with pytest.raises(ModelError, match=r"is a pipe \(FIFO\)"):
        ss.load_model(tmp_path / "pipe.toml")


def test_a_misspelt_path_gets_a_close_name(monkeypatch):
    monkeypatch.chdir(REPO)
    assert close_path("reactions/exmaples/birth_deth.toml") == \
        "reactions/examples/birth_death.toml"
    assert close_path("reactions/examples/birth_death") == "reactions/examples/birth_death.toml"
    assert close_path("nothing/like/this.toml") is None
    with pytest.raises(ModelError, match="Did you mean reactions/examples/dimerisation.toml"):
        ss.load_model("reactions/examples/dimerization.toml")


def test_includes_are_bounded_in_depth(tmp_path):
    for i in range(40):
        (tmp_path / f"f{i}.toml").write_text(f'[model]\ninclude = ["f{i + 1}.toml"]\n'
                                            f"[species]\nX{i} = 1\n")
    (tmp_path / "f40.toml").write_text("[species]\nY = 1\n")
    with pytest.raises(ModelError, match="nested more than 32 files deep"):
        ss.load_model(tmp_path / "f0.toml")
    (tmp_path / "f20.toml").write_text("[species]\nY = 1\n")        # a chain of 21 is fine
    assert ss.load_model(tmp_path / "f0.toml").n_species == 21


# -- nesting and recursion ---------------------------------------------------------------------

def test_long_flat_sums_are_evaluated_without_recursion(monkeypatch):
    assert parse("+".join(["1"] * 4_999)).evaluate(lambda name: 0.0) == 4_999
    monkeypatch.setenv("STOCHSYN_MAX_EXPRESSION_CHARS", "200000")
    for joiner in ("+", " ", "*"):
        text = joiner.join(["1"] * 50_000)
        assert parse(text).evaluate(lambda name: 0.0) == (50_000 if joiner == "+" else 1)


def test_power_chains_count_towards_the_depth():
    assert parse("^".join(["1"] * 90)).evaluate(lambda name: 0.0) == 1
    with pytest.raises(ModelError, match="nested too deeply"):
        parse("^".join(["1"] * 120))


def test_expression_length_is_checked_before_parsing(monkeypatch):
    with pytest.raises(ModelError, match="10,000 characters"):
        parse("1 + " * 3000 + "1")
    monkeypatch.setenv("STOCHSYN_MAX_EXPRESSION_CHARS", "20000")
    assert parse("1 + " * 3000 + "1").evaluate(lambda name: 0.0) == 3001


def test_a_model_dict_nested_deeper_than_the_limit_or_containing_itself():
    note: list = ["x"]
    for _ in range(40):
        note = [note]
    with pytest.raises(ModelError, match="nested more than 32 levels deep"):
        ss.Model.from_dict({**_decay(), "model": {"note": note}})
    looped = _decay()
    looped["model"] = {"note": looped}
    with pytest.raises(ModelError, match="or contains itself"):
        ss.Model.from_dict(looped)


def test_toml_nesting_is_scanned_before_parsing(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('[species]\nX = 1\n[model]\nnote = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["'
                    "\n# [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
                    "[[reactions]]\nname = 'r'\nequation = 'X ->'\nrate = 1\n")
    assert ss.load_model(path).reactions        # brackets in strings and comments: no count
    path.write_text("[species]\nX = 1\n[model]\nnote = " + "[" * 40 + "]" * 40 + "\n")
    with pytest.raises(ModelError, match=r"deep\.toml, line 4: arrays or inline tables"):
        ss.load_model(path)


# -- numbers and units -------------------------------------------------------------------------

@pytest.mark.parametrize("rate", ["uM^1e300 * 0.1 /s", "Ym^40 /s", "(1/ms)^400 /s"])
def test_a_unit_to_a_huge_power_is_a_model_error(rate):
    with pytest.raises(ModelError, match="out of range"):
        ss.Model.from_dict(_decay(rate))


def test_input_units_are_read_by_the_expression_parser():
    model = ss.Model.from_dict({**_decay(), "inputs": {"glu": {"unit": "mM", "value": 0}}})
    assert model.inputs[0].unit == "mM"
    for unit, message in (("2 mM", "is not a unit"), ("mM^(1e300)", "out of range"),
                          ("exp(mM)", "function calls are not allowed")):
        with pytest.raises(ModelError, match="unknown unit"):
            ss.Model.from_dict({**_decay(), "inputs": {"glu": {"unit": unit, "value": 0}}})


# -- model size ----------------------------------------------------------------------------------

def _agents(sites: int, count: int = 1, **extra) -> dict:
    return {"agents": {"A": {"sites": {f"s{i}": ["u", "p"] for i in range(sites)},
                             "initial": [{"count": count}], **extra}},
            "reactions": [{"name": "flip", "equation": "A(s0=u) -> A(s0=p)", "rate": 1}]}


def test_agent_states_are_counted_before_they_are_made(monkeypatch):
    assert len(ss.Model.from_dict(_agents(16)).species) == 2 ** 16          # 65,536 states
    with pytest.raises(ModelError, match=r"2 × 2 × .* is 131,072 states, more than the limit "
                                         r"of 100,000 states"):
        ss.Model.from_dict(_agents(17))
    with pytest.raises(ModelError, match="2,199,023,255,552 states"):
        ss.Model.from_dict(_agents(41))
    monkeypatch.setenv("STOCHSYN_MAX_AGENT_STATES", "200000")
    assert len(ss.Model.from_dict(_agents(17)).species) == 2 ** 17


def test_agent_storage_is_estimated_from_the_capacity(monkeypatch):
    model = ss.Model.from_dict(_agents(1, count=10_000_000))             # 640 MB: within
    assert model.agent_types[0].capacity == 10_000_000
    with pytest.raises(ModelError, match=r"room for 1,099,511,627,776 agents in 2 states"):
        ss.Model.from_dict(_agents(1, count=2 ** 40))
    with pytest.raises(ModelError, match="STOCHSYN_MAX_AGENT_MB"):
        ss.Model.from_dict(_agents(1, count=1, capacity=2 ** 53))
    monkeypatch.setenv("STOCHSYN_MAX_AGENT_MB", "100")
    with pytest.raises(ModelError, match="640 MB, more than the limit of 100 MB"):
        ss.Model.from_dict(_agents(1, count=10_000_000))


def test_reactions_are_counted_before_a_rule_is_expanded(monkeypatch):
    agents = {"R": {"sites": {"a": [f"a{i}" for i in range(20)],
                              "b": [f"b{i}" for i in range(25)]},
                    "ring_size": 2, "initial": [{"count": 2}]}}
    plain = {"agents": agents,
             "reactions": [{"name": "set_a", "equation": "R() -> R(a=a0)", "rate": 1}]}
    assert len(ss.Model.from_dict(plain).reactions) == 500                  # one per state
    monkeypatch.setenv("STOCHSYN_MAX_REACTIONS", "400")
    with pytest.raises(ModelError, match=r"it matches 500 states.*500 reactions, more than "
                                         r"the limit of 400"):
        ss.Model.from_dict(plain)


def test_neighbour_classes_are_counted_before_they_are_made(monkeypatch):
    # Rule 'any' accepts every neighbour state; the rules 'a_k' cut that set into the 20
    # classes a = a_k. Each of the 20 target states R(a=?, b=b0) so has 20 reactions of
    # 'any' (one per class) and one of each 'a_k': 800 in all, from 420 transitions.
    agents = {"R": {"sites": {"a": [f"a{i}" for i in range(20)],
                              "b": [f"b{i}" for i in range(25)]},
                    "ring_size": 2, "initial": [{"count": 2}]}}
    rules = [{"name": "any", "equation": "R(b=b0) -> R(b=b1)", "neighbour": "R()", "rate": 1}]
    rules += [{"name": f"a_{k}", "equation": "R(b=b0) -> R(b=b2)", "neighbour": f"R(a=a{k})",
               "rate": 1} for k in range(20)]
    ring = {"agents": agents, "reactions": rules}
    assert len(ss.Model.from_dict(ring).reactions) == 800
    monkeypatch.setenv("STOCHSYN_MAX_REACTIONS", "700")
    with pytest.raises(ModelError, match=r"split into the pair classes .*\(420 before the "
                                         r"split\) is 800 reactions, more than the limit"):
        ss.Model.from_dict(ring)


@pytest.mark.parametrize("data", [{}, {"model": {"name": "x"}}, {"parameters": {"k": 1}},
                                  {"species": {}, "reactions": []}])
def test_an_empty_model_is_an_error(data):
    with pytest.raises(ModelError, match="the model has no species, agents or reactions"):
        ss.Model.from_dict(data)


# -- messages -------------------------------------------------------------------------------------

def test_long_names_are_shown_once_and_short():
    name = "Y" * 1_000_000
    with pytest.raises(ModelError) as info:
        ss.Model.from_dict({"species": {"X": 1},
                            "reactions": [{"name": "r", "equation": f"X -> {name}",
                                           "rate": 1}]})
    text = str(info.value)
    assert len(text) < 600 and text.count("[1,000,002 characters]") == 1, text
    assert shorten("short") == "short"
    assert shorten(shorten("z" * 5000)) == shorten("z" * 5000)      # cutting twice: no change


def test_close_names_are_found_in_bounded_time():
    names = [f"k{i}" for i in range(200_000)] + ["k_decay"]
    assert closest("k_deacy", names) == "k_decay"
    assert closest("k" * 1000, names) is None
