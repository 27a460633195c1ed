"""Model composition: ``[model] include`` (stochsyn.model.compose).

Merge of fragments, overrides by the including file, names defined twice, cycles, missing
files, error messages that name the fragment and its line, the merged spec and hash, and
parameters in initial counts (how an including model sets the counts of a module's agents).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn import Model, ModelError

MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"

CHANNEL = """\
[model]
description = "a two-state channel"

[parameters]
k_open = "2 /s"
k_close = "3 /s"
n_chan = 10

[inputs.V]
unit = "mV"
value = "-70 mV"

[agents.Chan]
sites = { s = ["c", "o"] }
initial = [{ count = "n_chan" }]

[[reactions]]
name = "chan_open"
equation = "Chan(s=c) -> Chan(s=o)"
rate = "k_open"

[[reactions]]
name = "chan_close"
equation = "Chan(s=o) -> Chan(s=c)"
rate = "k_close"
log = true

[observables]
chan_open = "Chan(s=o)"
"""

POOL = """\
[parameters]
k_make = "1 /s"

[species]
X = 5

[[reactions]]
name = "make"
equation = "-> X"
rate = "k_make"

[[interventions]]
time = "1 s"
add = { X = 2 }
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def tree(tmp_path):
    write(tmp_path, "modules/channel.toml", CHANNEL)
    write(tmp_path, "modules/pool.toml", POOL)
    return tmp_path


def test_fragments_are_merged(tree):
    top = write(tree, "spine.toml", """\
        [model]
        name = "spine"
        volume = "0.1 fL"
        include = ["modules/channel.toml", "modules/pool.toml"]

        [species]
        Y = 1

        [[reactions]]
        name = "decay"
        equation = "Y ->"
        rate = "0.5 /s"
        """)
    model = ss.load_model(top)
    assert model.name == "spine" and model.volume_litre == pytest.approx(1e-16)
    assert set(model.parameters) == {"k_open", "k_close", "n_chan", "k_make"}
    assert model.plain_species == ("X", "Y")            # included first, then own
    assert [r.rule for r in model.reactions] == ["chan_open", "chan_close", "make", "decay"]
    assert sum(model.agent_types[0].initial) == 10
    assert [i.name for i in model.inputs] == ["V"]
    assert "chan_open" in model.observables
    assert len(model.interventions) == 1
    assert "include" not in model.spec["model"]
    assert model.spec["model"] == {"name": "spine", "volume": "0.1 fL"}


def test_the_including_file_overrides_parameters_inputs_and_species(tree):
    top = write(tree, "spine.toml", """\
        [model]
        include = ["modules/channel.toml", "modules/pool.toml"]

        [parameters]
        k_open = "7 /s"
        n_chan = 4

        [inputs.V]
        unit = "mV"
        value = "-60 mV"

        [species]
        X = 9
        """)
    model = ss.load_model(top)
    rates = {r.rule: r.rate for r in model.reactions}
    assert rates["chan_open"] == pytest.approx(7.0)
    assert rates["chan_close"] == pytest.approx(3.0)
    assert sum(model.agent_types[0].initial) == 4       # a count through a parameter
    assert model.inputs[0].value == pytest.approx(-60.0)
    assert model.x0[model.species_index("X")] == 9
    # the override replaces the entry where the fragment had it (order kept)
    assert list(model.spec["parameters"])[:3] == ["k_open", "k_close", "n_chan"]


def test_nested_includes_and_a_fragment_included_twice(tree):
    write(tree, "modules/both.toml", """\
        [model]
        include = ["channel.toml", "pool.toml"]
        """)
    top = write(tree, "spine.toml", """\
        [model]
        include = ["modules/both.toml", "modules/pool.toml"]
        """)
    model = ss.load_model(top)             # pool.toml reached twice: its items count once
    assert [r.rule for r in model.reactions] == ["chan_open", "chan_close", "make"]
    assert len(model.interventions) == 1


def test_a_name_in_two_included_files_is_an_error_naming_both(tree):
    write(tree, "modules/other.toml", """\
        [parameters]
        k_close = "4 /s"
        """)
    top = write(tree, "spine.toml", """\
        [model]
        include = ["modules/channel.toml", "modules/other.toml"]
        """)
    with pytest.raises(ModelError) as info:
        ss.load_model(top)
    text = str(info.value)
    assert "[parameters] 'k_close' is defined in two included files" in text
    assert str(tree / "modules" / "channel.toml") + " (line 6)" in text
    assert str(tree / "modules" / "other.toml") + " (line 2)" in text
    assert text.startswith(str(top))


def test_the_including_file_settles_a_name_two_fragments_define(tree):
    write(tree, "modules/other.toml", """\
        [inputs.V]
        unit = "mV"
        value = "-65 mV"
        """)
    top = write(tree, "spine.toml", """\
        [model]
        include = ["modules/channel.toml", "modules/other.toml"]

        [inputs.V]
        unit = "mV"
        value = "-50 mV"
        """)
    assert ss.load_model(top).inputs[0].value == pytest.approx(-50.0)


@pytest.mark.parametrize("table, text, line", [
    ("reaction", '[[reactions]]\nname = "chan_open"\nequation = "Y ->"\nrate = 1\n', 7),
    ("[agents]", '[agents.Chan]\nsites = { s = ["a"] }\n', 7),
    ("[observables]", '[observables]\nchan_open = "Y"\n', 8),
])
def test_other_tables_cannot_be_overridden(tree, table, text, line):
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/channel.toml"]\n\n'
                '[species]\nY = 1\n\n' + text)
    with pytest.raises(ModelError, match="already defined in the included file") as info:
        ss.load_model(top)
    message = str(info.value)
    assert f"(line {line})" in message
    assert str(tree / "modules" / "channel.toml") in message


def test_two_fragments_with_the_same_reaction_name(tree):
    write(tree, "modules/other.toml", """\
        [[reactions]]
        name = "chan_open"
        equation = "Chan(s=c) -> Chan(s=o)"
        rate = 1
        """)
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/channel.toml", '
                '"modules/other.toml"]\n')
    with pytest.raises(ModelError, match="reaction 'chan_open' is defined in two included") \
            as info:
        ss.load_model(top)
    assert "other.toml (line 1)" in str(info.value)
    assert "channel.toml (line 17)" in str(info.value)


def test_an_include_cycle_is_an_error_showing_the_chain(tmp_path):
    a = write(tmp_path, "a.toml", '[model]\ninclude = ["sub/b.toml"]\n')
    write(tmp_path, "sub/b.toml", '[model]\ninclude = ["c.toml"]\n')
    write(tmp_path, "sub/c.toml", '[model]\ninclude = ["../a.toml"]\n')
    with pytest.raises(ModelError, match="include cycle") as info:
        ss.load_model(a)
    text = str(info.value)
    chain = " -> ".join(str(p) for p in (a, tmp_path / "sub" / "b.toml",
                                         tmp_path / "sub" / "c.toml", a))
    assert chain in text
    assert text.startswith(str(tmp_path / "sub" / "c.toml"))
    assert "[model] 'include' (line 2)" in text


def test_a_file_including_itself(tmp_path):
    a = write(tmp_path, "a.toml", '[model]\ninclude = ["a.toml"]\n')
    with pytest.raises(ModelError, match="include cycle"):
        ss.load_model(a)


def test_a_missing_fragment_names_the_including_file_and_line(tree):
    top = write(tree, "spine.toml",
                '# spine\n[model]\nname = "s"\ninclude = ["modules/nope.toml"]\n')
    with pytest.raises(ModelError) as info:
        ss.load_model(top)
    text = str(info.value)
    assert "the included file" in text and "nope.toml does not exist" in text
    assert text.startswith(str(top)) and "[model] 'include' (line 4)" in text
    assert "relative to the including file" in text


def test_errors_in_a_fragment_name_the_fragment_and_its_line(tree):
    write(tree, "modules/broken.toml", """\
        # a fragment with mistakes
        [parameters]
        k_x = "1 /s"

        [species]
        Z = 0

        [[reactions]]
        name = "zap"
        equation = "Z -> Q"
        rate = "k_x"
        """)
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/broken.toml"]\n')
    with pytest.raises(ModelError) as info:
        ss.load_model(top)
    text = str(info.value)
    fragment = str(tree / "modules" / "broken.toml")
    assert f"reaction 'zap' ({fragment}, line 8)" in text
    assert "'Q'" in text

    write(tree, "modules/broken.toml", """\
        [parameters]
        k_x = "1 /s"
        k_y = "k_z * 2"
        """)
    with pytest.raises(ModelError) as info:
        ss.load_model(top)
    assert f"[parameters] 'k_y' ({fragment}, line 3)" in str(info.value)

    write(tree, "modules/broken.toml", """\
        [inputs.glu]
        unit = "mM"
        value = "1 mV"
        """)
    with pytest.raises(ModelError) as info:
        ss.load_model(top)
    assert f"[inputs] 'glu' ({fragment}, line 1)" in str(info.value)


def test_invalid_toml_in_a_fragment(tree):
    write(tree, "modules/bad.toml", '[parameters]\nk = "1 /s\n')
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/bad.toml"]\n')
    with pytest.raises(ModelError, match="not valid TOML") as info:
        ss.load_model(top)
    assert str(info.value).startswith(str(tree / "modules" / "bad.toml"))


@pytest.mark.parametrize("key", ["name", "volume"])
def test_a_fragment_may_not_set_name_or_volume(tree, key):
    write(tree, "modules/frag.toml", f'[model]\ndescription = "x"\n{key} = "0.1 fL"\n')
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/frag.toml"]\n')
    with pytest.raises(ModelError, match=f"may not set '{key}'") as info:
        ss.load_model(top)
    assert str(info.value).startswith(str(tree / "modules" / "frag.toml"))
    assert f"[model] '{key}' (line 3)" in str(info.value)


def test_include_must_be_a_list_of_paths(tmp_path):
    top = write(tmp_path, "a.toml", '[model]\ninclude = [1, 2]\n')
    with pytest.raises(ModelError, match="list of file paths"):
        ss.load_model(top)


def test_unknown_table_in_a_fragment(tree):
    write(tree, "modules/frag.toml", '[reaction]\nname = "x"\n')
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/frag.toml"]\n')
    with pytest.raises(ModelError, match=r"unknown top-level table \[reaction\]") as info:
        ss.load_model(top)
    assert str(info.value).startswith(str(tree / "modules" / "frag.toml"))


def test_hash_covers_the_merged_content(tree):
    top = write(tree, "spine.toml", '[model]\ninclude = ["modules/channel.toml"]\n')
    first = ss.load_model(top)
    assert ss.load_model(top).hash == first.hash
    write(tree, "modules/channel.toml", CHANNEL.replace('"3 /s"', '"3.5 /s"'))
    changed = ss.load_model(top)
    assert changed.hash != first.hash
    # the same merged content written in one file has the same hash
    flat = write(tree, "flat.toml", CHANNEL.replace('"3 /s"', '"3.5 /s"').replace(
        '[model]\ndescription = "a two-state channel"\n', "[model]\n"))
    assert ss.load_model(flat).spec == changed.spec
    assert ss.load_model(flat).hash == changed.hash


def test_with_parameters_and_interventions_on_a_merged_model(tree):
    top = write(tree, "spine.toml", """\
        [model]
        include = ["modules/channel.toml"]

        [[interventions]]
        time = "2 s"
        parameters = { k_close = "1 /s" }
        """)
    model = ss.load_model(top)
    variant = model.with_parameters(k_open=5, n_chan=3)
    assert {r.rule: r.rate for r in variant.reactions}["chan_open"] == pytest.approx(5.0)
    assert sum(variant.agent_types[0].initial) == 3
    (intervention,) = variant.interventions
    assert [c for _, c in intervention.set_rates] == [pytest.approx(1.0)]
    ens = ss.simulate(variant, 3.0, 2, seed=1)
    assert ens.status.tolist() == [0, 0]


def test_from_dict_resolves_includes_relative_to_the_source(tree):
    data = {"model": {"name": "d", "include": ["modules/channel.toml"]},
            "parameters": {"n_chan": 2}}
    model = Model.from_dict(data, source=str(tree / "virtual.toml"))
    assert sum(model.agent_types[0].initial) == 2
    assert data["model"]["include"] == ["modules/channel.toml"]     # input not modified


def test_the_nmdar_modules_compose_into_a_model(tmp_path):
    """The way a spine model uses a module: include it, set counts, Mg²⁺ and inputs."""
    for scheme in ("vcr", "kampa"):
        top = write(tmp_path, f"spine_{scheme}.toml", f"""\
            [model]
            name = "spine"
            volume = "0.1 fL"
            include = ["{MODULES / f'nmdar_{scheme}.toml'}"]

            [parameters]
            n_nmdar = 20
            Mg_out = "1.2 mM"

            [inputs.V]
            unit = "mV"
            value = "-65 mV"
            """)
        model = ss.load_model(top)
        assert sum(model.agent_types[0].initial) == 20
        assert model.inputs[[i.name for i in model.inputs].index("V")].value == -65.0
        block = next(r for r in model.reactions if r.rule == "nmdar_mg_block")
        alone = ss.load_model(MODULES / f"nmdar_{scheme}.toml")
        block_alone = next(r for r in alone.reactions if r.rule == "nmdar_mg_block")
        assert block.rate == pytest.approx(1.2 * block_alone.rate)


def test_a_count_can_be_a_parameter_expression():
    model = Model.from_dict({"model": {"volume": "0.1 fL"},
                             "parameters": {"n": 3, "c": "0.1 uM"},
                             "species": {"X": "2 * n", "Y": "c"},
                             "agents": {"A": {"sites": {"s": ["a", "b"]},
                                              "initial": [{"count": "n", "s": "b"}]}}})
    assert model.x0 == (6, 6, 0, 3)
    with pytest.raises(ModelError, match="whole number"):
        model.with_parameters(n=2.5)


def test_reactions_written_as_an_inline_array_are_all_kept(tmp_path):
    write(tmp_path, "frag.toml", 'species = { A = 1, B = 0 }\nreactions = [\n'
          '  { name = "r1", equation = "A -> B", rate = 1 },\n'
          '  { name = "r2", equation = "B -> A", rate = 2 },\n]\n')
    top = write(tmp_path, "top.toml", '[model]\ninclude = ["frag.toml"]\n')
    assert [r.rule for r in ss.load_model(top).reactions] == ["r1", "r2"]
