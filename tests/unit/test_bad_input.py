"""Bad model input: every malformed file in tests/data/bad gives one clear ModelError.

Project standard: a malformed file, an unknown species, a negative count or rate, a unit
mistake ... gets an error naming the file, the line or reaction and how to fix it, never a
traceback from deep inside numba and never silently wrong numbers; nothing in a model file is
ever executed as Python.
"""

import builtins
import os
import subprocess
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn.model import units

BAD = Path(__file__).resolve().parent.parent / "data" / "bad"

# file -> substrings the error text must contain: (the item at fault and its line, what is
# wrong, how to fix it). The file name is checked for every file.
EXPECTED = {
    "unknown_species.toml": [
        "reaction 'binding' (line 6)", "field 'equation'",
        "unknown species or agent type 'B'", "Declare it under [species]"],
    "equation_no_arrow.toml": [
        "reaction 'conversion' (line 6)", "must contain exactly one arrow",
        "write e.g. 'A + B -> C'"],
    "equation_two_arrows.toml": [
        "reaction 'chain' (line 7)", "'A -> B -> C' must contain exactly one arrow",
        "write e.g."],
    "equation_garbage_term.toml": [
        "reaction 'garbled' (line 6)", "cannot read the term '2 2 X'",
        "terms look like 'X', '2 X'"],
    "equation_dangling_plus.toml": [
        "reaction 'dangling' (line 6)", "an empty term", "remove the extra '+'"],
    "negative_count.toml": [
        "[species] 'X' (line 3)", "counts must be >= 0, got -5", "whole number of molecules"],
    "negative_rate.toml": [
        "reaction 'decay' (line 5)", "field 'rate'", "must be a finite number >= 0",
        "'-0.1'", "use 0 to switch a reaction off"],
    "negative_rate_parameter.toml": [
        "reaction 'decay' (line 8)", "field 'rate'", "'-0.1 /s'", "use 0 to switch"],
    "nonintegral_count.toml": [
        "[species] 'X' (line 3)", "must be a whole number, got '2.5'",
        "give a concentration such as"],
    "unknown_unit.toml": [
        "reaction 'decay' (line 5)", "field 'rate'", "unknown name 'bananas'",
        "check its spelling"],
    "rate_wrong_dimension_mV.toml": [
        "reaction 'decay' (line 5)", "field 'rate'", "first-order rate needs 1/s",
        "such as '0.05 /s'", "got '5 mV'"],
    "first_order_concentration_rate.toml": [
        "reaction 'isomerisation' (line 9)", "first-order rate needs 1/s", "µM/s",
        "such as '0.05 /s'"],
    "first_order_uM_rate.toml": [
        "reaction 'isomerisation' (line 9)", "first-order rate needs 1/s", "got '2 µM'"],
    "zero_order_wrong_unit.toml": [
        "reaction 'production' (line 8)", "zeroth-order rate needs", "such as uM/s"],
    "concentration_without_volume.toml": [
        "[species] 'Ca' (line 3)", "need the compartment volume",
        "volume = \"0.1 fL\""],
    "rate_concentration_without_volume.toml": [
        "reaction 'binding' (line 7)", "field 'rate'", "need the compartment volume",
        "set volume under [model]"],
    "volume_plain_number.toml": [
        "[model] 'volume' (line 3)", "a volume needs a unit", "'0.1 fL'"],
    "duplicate_species_agent.toml": [
        "[agents] 'AMPAR' (line 5)", "'AMPAR' is used for a species and for an agent type",
        "rename one of them"],
    "duplicate_reaction_name.toml": [
        "reaction 'decay' (line 11)", "two reactions are named 'decay'",
        "unique name"],
    "observable_named_like_species.toml": [
        "[observables] 'P' (line 12)", "has the name of a species", "must be unique"],
    "observable_unknown_species.toml": [
        "[observables] 'P_total' (line 12)", "unknown species or agent type 'P3'",
        "Did you mean"],
    "duplicate_toml_key.toml": [
        "line 4", "not valid TOML", "Cannot overwrite", "defined twice"],
    "invalid_toml.toml": [
        "line 4", "not valid TOML", "check the quoting"],
    "unknown_site.toml": [
        "reaction 'exocytosis' (line 6)", "has no site 'location'", "(sites: loc, s845)"],
    "unknown_site_value.toml": [
        "reaction 'exocytosis' (line 6)", "has no value 'extr'", "Did you mean 'extra'?"],
    "unknown_site_value_initial.toml": [
        "[agents] 'AMPAR' (line 2)", "has no value 'psd'", "(values: endo, extra)"],
    "expression_function_call.toml": [
        "reaction 'decay' (line 5)", "field 'rate'", "function calls are not allowed",
        "'exp*(...)'"],
    "expression_attribute.toml": [
        "[parameters] 'k2' (line 4)", "attribute access is not allowed",
        "know only numbers"],
    "expression_import.toml": [
        "reaction 'decay' (line 5)", "function calls are not allowed",
        "'__import__(...)'", "know only numbers"],
    "unknown_parameter.toml": [
        "reaction 'unbinding' (line 10)", "field 'rate'", "unknown name 'k_of'",
        "Did you mean 'k_off'?", "Define it under [parameters]"],
    "parameter_cycle.toml": [
        "[parameters] 'a' (line 3)", "cycle: a -> b -> c -> a",
        "does not depend on the others"],
    "unknown_top_level_table.toml": [
        "[reaction] (line 5)", "unknown top-level table [reaction]",
        "Did you mean 'reactions'?"],
    "unknown_reaction_field.toml": [
        "reaction 'decay' (line 5)", "unknown field 'rates'", "Did you mean 'rate'?"],
    "unknown_species_table_key.toml": [
        "[species] 'X' (line 3)", "unknown key 'count'", "use 'initial'"],
    "ring_not_multiple.toml": [
        "[agents] 'CaMKII' (line 2)", "rings of 6 but has 10 agents",
        "change the counts in 'initial'"],
    "neighbour_on_non_ring.toml": [
        "reaction 'autophosphorylation' (line 6)", "needs exactly one agent of a ring type",
        "declare ring_size"],
    "ring_agent_created.toml": [
        "reaction 'synthesis' (line 7)", "would create a 'CaMKII' agent",
        "their number is fixed"],
    "created_agent_unnamed_sites.toml": [
        "reaction 'synthesis' (line 6)", "does not name its site(s) s845",
        "needs every site value"],
    "intervention_unknown_species.toml": [
        "interventions[0] (line 10)", "field 'set'", "unknown species 'Y'",
        "declared under [species] (X)"],
    "intervention_unknown_parameter.toml": [
        "interventions[0] (line 13)", "field 'parameters'", "unknown parameter 'k_deca'",
        "Did you mean 'k_decay'?"],
    "missing_rate.toml": [
        "reaction 'decay' (line 5)", "missing 'rate'", "add e.g. rate ="],
    "hill_negative_exponent.toml": [
        "reaction 'pka' (line 7)", "field 'rate.n'", "must be a finite number > 0, got -8",
        "use repress = true"],
    "mwc_detailed_balance.toml": [
        "reaction 'flip_bound' (line 39)", "break detailed balance",
        "k_fwd/k_rev is 0.0629285, not 1", "multiply the reverse rate of 'flip_bound'",
        "k_RT(S) = k_RT · Π √c_i"],
    "reversible_sites_one_side.toml": [
        "reaction 'cam_binding' (line 10)", "names site(s) t286 of 'CaMKII' on one side only",
        "name the same sites on both sides"],
    "complex_rule_without_complex_size.toml": [
        "reaction 'turnover' (line 7)", "field 'members'", "declares no complex_size",
        "complex_size = 12"],
    "clamp_order_two.toml": [
        "reaction 'two_at_once' (line 14)", "reads the clamped species 'Ca' to order 2",
        "write 'Ca' once on the left"],
    "reversible_single_rate.toml": [
        "reaction 'dimerisation' (line 6)", "field 'rate'", "needs two rates",
        "rate = [forward, reverse]"],
}

BAD_FILES = sorted(p.name for p in BAD.glob("*.toml"))


def test_the_table_covers_every_bad_file():
    assert len(BAD_FILES) >= 24
    assert set(BAD_FILES) == set(EXPECTED)


@pytest.mark.parametrize("name", BAD_FILES)
def test_each_bad_file_starts_with_a_comment_saying_what_is_wrong(name):
    first = (BAD / name).read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# BAD: ") and len(first) > 20


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_gives_a_model_error_naming_file_item_and_fix(name):
    path = BAD / name
    try:
        ss.load_model(path)
    except ss.ModelError as error:
        text = str(error)
        assert error.source == str(path)
        assert text.startswith(str(path))
        assert name in text
        for fragment in EXPECTED[name]:
            assert fragment.lower() in text.lower(), (fragment, text)
        assert error.where or "line" in text, text
        assert "Traceback" not in text
    except BaseException as error:             # any other type is a bug
        pytest.fail(f"{name}: {type(error).__name__} escaped instead of ModelError: {error}")
    else:
        pytest.fail(f"{name} was accepted")


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_as_a_string_path_too(name):
    with pytest.raises(ss.ModelError, match=name.replace(".", r"\.")):
        ss.load_model(str(BAD / name))


def test_missing_file_is_a_model_error(tmp_path):
    with pytest.raises(ss.ModelError, match="no such model file"):
        ss.load_model(tmp_path / "nothing_here.toml")


def test_error_chain_hides_library_internals():
    """tomllib's exception is not chained into the ModelError (`from None`)."""
    with pytest.raises(ss.ModelError) as info:
        ss.load_model(BAD / "duplicate_toml_key.toml")
    assert info.value.__cause__ is None and info.value.__suppress_context__


# -- nothing in a model file is executed --------------------------------------------------

PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "__import__(\"os\").system(\"touch {marker}\")",
    "eval(\"__import__('os').system('touch {marker}')\")",
    "exec('import os; os.system(\"touch {marker}\")')",
    "open('{marker}', 'w')",
    "(lambda: __import__('os').system('touch {marker}'))()",
    "k.__class__.__init__.__globals__['os'].system('touch {marker}')",
    "[c for c in ().__class__.__base__.__subclasses__()]",
    "0.1 /s; import os; os.system('touch {marker}')",
    "{{ __import__('os').system('touch {marker}') }}",
]


def _model_with(place: str, payload: str) -> str:
    """A valid model with ``payload`` put in one place that takes an expression or name."""
    quoted = payload.replace("\\", "\\\\").replace('"', '\\"')
    value = f'"{quoted}"'
    rate = value if place == "rate" else '"k"'
    parameter = value if place == "parameter" else '"0.1 /s"'
    species = value if place == "species" else "10"
    volume = value if place == "volume" else '"0.1 fL"'
    equation = value if place == "equation" else '"X ->"'
    observable = value if place == "observable" else '"X"'
    time = value if place == "time" else '"1 s"'
    new_k = value if place == "intervention" else '"0.2 /s"'
    return f"""# payload in {place}
[model]
volume = {volume}

[parameters]
k = {parameter}

[species]
X = {species}

[[reactions]]
name = "decay"
equation = {equation}
rate = {rate}

[observables]
total = {observable}

[[interventions]]
time = {time}
parameters = {{ k = {new_k} }}
"""


PLACES = ["rate", "parameter", "species", "volume", "equation", "observable", "time",
          "intervention"]


def test_payload_template_is_a_valid_model_without_a_payload(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(_model_with("none", ""), encoding="utf-8")
    model = ss.load_model(path)
    assert model.reactions[0].rate == pytest.approx(0.1)
    assert model.interventions[0].set_rates == ((0, pytest.approx(0.2)),)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_nothing_in_a_model_file_is_executed(tmp_path, monkeypatch, place, payload):
    marker = tmp_path / "stochsyn_pwned"
    path = tmp_path / "payload.toml"
    path.write_text(_model_with(place, payload.format(marker=marker)), encoding="utf-8")
    units.registry()            # create pint's registry before the traps are armed
    calls = []

    def trap(name):
        def trapped(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called while loading a model")
        return trapped

    with monkeypatch.context() as patch:
        for module, name in ((builtins, "eval"), (builtins, "exec"), (builtins, "compile"),
                             (os, "system"), (os, "popen"), (subprocess, "Popen")):
            patch.setattr(module, name, trap(name))
        try:
            ss.load_model(path)
        except ss.ModelError as error:
            assert str(path) in str(error)
        except BaseException as error:
            pytest.fail(f"{type(error).__name__} escaped instead of ModelError: {error}")
        else:
            pytest.fail(f"a model with {payload!r} in its {place} was accepted")
    assert calls == []
    assert not marker.exists()


def test_payload_from_the_brief_does_not_touch_tmp(tmp_path):
    """The literal payload of the project brief, with its fixed path."""
    fixed = Path("/tmp/stochsyn_pwned")
    existed = fixed.exists()
    path = tmp_path / "pwn.toml"
    path.write_text('[species]\nX = 1\n\n[[reactions]]\nname = "r"\nequation = "X ->"\n'
                    'rate = "__import__(\'os\').system(\'touch /tmp/stochsyn_pwned\')"\n',
                    encoding="utf-8")
    with pytest.raises(ss.ModelError, match="function calls are not allowed"):
        ss.load_model(path)
    if not existed:
        assert not fixed.exists()


# -- every error comes before any numba code runs ------------------------------------------

@pytest.mark.parametrize("name", BAD_FILES)
def test_simulate_reports_model_errors_before_any_kernel_runs(monkeypatch, name):
    import stochsyn.engine
    import stochsyn.ensemble

    def must_not_run(*args, **kwargs):
        raise AssertionError("the engine was reached with an invalid model")

    monkeypatch.setattr(stochsyn.engine, "run_batch", must_not_run)
    monkeypatch.setattr(stochsyn.ensemble, "run_batch", must_not_run)
    monkeypatch.setattr(stochsyn.ensemble, "compile", must_not_run)
    with pytest.raises(ss.ModelError, match=name.replace(".", r"\.")):
        ss.simulate(BAD / name, t_end=1.0, n_trajectories=2, seed=20261122)


def test_the_engine_trap_would_fire_for_a_good_model(monkeypatch):
    """Check of the check: with a valid model the patched runner is reached."""
    import stochsyn.ensemble

    def reached(*args, **kwargs):
        raise RuntimeError("reached")

    monkeypatch.setattr(stochsyn.ensemble, "run_batch", reached)
    good = BAD.parent.parent.parent / "reactions" / "examples" / "birth_death.toml"
    with pytest.raises(RuntimeError, match="reached"):
        ss.simulate(good, t_end=1.0, n_trajectories=2, seed=20261122)


# -- the same standard for models given as dicts ---------------------------------------------

def _dict(**changes):
    data = {"model": {"volume": "0.1 fL"}, "parameters": {"k": "0.1 /s"},
            "species": {"X": 10, "Y": 0},
            "reactions": [{"name": "r", "equation": "X -> Y", "rate": "k"}]}
    data.update(changes)
    return data


DICT_CASES = [
    (_dict(species={1: 5}), "the key 1 is not a string", "[species]"),
    ({1: {}}, "the key 1 is not a string", "top level"),
    (_dict(reactions=[{"name": "r", "equation": "X -> Y", "rate": "k", 2: 1}]),
     "the key 2 is not a string", "[reactions]"),
    (_dict(species={"X": 10 ** 30, "Y": 0}), "more than the engine can hold", "[species] 'X'"),
    (_dict(species={"X": "1 M", "Y": 0}, model={"volume": "1 L"}),
     "more than the engine can hold", "Check the unit"),
    (_dict(reactions=[{"name": "r", "equation": "99999999999999999999 X -> Y", "rate": 1}]),
     "stoichiometry must be between 1 and 2^53", "reaction 'r'"),
    (_dict(interventions=[{"time": 1, "set": {"X": 10 ** 30}}]),
     "more than the engine can hold", "interventions[0]"),
    (_dict(agents={"A": {"sites": {"s": ["u"]}, "initial": [{"count": 2}],
                         "capacity": 10 ** 30}}), "capacity of 'A'", "[agents] 'A'"),
    (_dict(interventions=[{"time": 1, "parameters": {"k": "5 mV"}}]),
     "with these parameter values the model is invalid (reaction 'r', field 'rate')",
     "interventions[0], field 'parameters'"),
    (_dict(interventions=[{"time": 1, "add": {"X": -1.5}}]),
     "whole number", "interventions[0], field 'add'"),
    (_dict(species={"A": 1, "Y": 0}, agents={"A": {"sites": {"s": ["u"]}}}),
     "used for a species and for an agent type", "[agents] 'A'"),
]


@pytest.mark.parametrize("data, message, where", DICT_CASES)
def test_bad_dict_gives_a_model_error(data, message, where):
    try:
        ss.Model.from_dict(data)
    except ss.ModelError as error:
        text = str(error)
        assert text.startswith("<dict>")
        assert message in text and where in text, text
    except BaseException as error:
        pytest.fail(f"{type(error).__name__} escaped instead of ModelError: {error}")
    else:
        pytest.fail("accepted")
