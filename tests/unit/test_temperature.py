"""The temperature policy (docs/model-format.md, "Temperature"; docs/science.md §0).

A module's ``[temperature]`` (measured, q10, groups) scales the rate constants of the
reactions that file defines by ``q10 ** ((T_model - T_measured) / 10 °C)`` when the model
states ``[model] temperature``. Checked here with exact numbers: the factor of each
reaction, that a file's keys apply to its own reactions only (not to its includes' nor its
includer's), that a model without a temperature uses the rates as written, the refusals,
the hash (unchanged where no number changes), ``stochsyn info``, and that every module in
reactions/modules/ declares its temperature.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn.model.errors import ModelError

ROOT = Path(__file__).resolve().parents[2]
MODULES = ROOT / "reactions" / "modules"
SPINE = ROOT / "reactions" / "examples" / "spine_electrophysiology.toml"

INNER = """
[temperature]
measured = "35 degC"
q10 = 3.0

[species]
B = 10

[[reactions]]
name = "b_decay"
equation = "B ->"
rate = "2 /s"
"""

OUTER = """
[model]
include = ["inner.toml"]

[temperature]
measured = "25 degC"
q10 = 2.0
[temperature.groups.binding]
measured = "15 degC"
q10 = 1.5
reactions = ["a_bind"]

[species]
A = 10
C = 0

[[reactions]]
name = "a_decay"
equation = "A ->"
rate = "1 /s"

[[reactions]]
name = "a_bind"
equation = "A + B <-> C"
rate = ["0.1 /s", "4 /s"]
"""


def _write(tmp_path, model_text, outer=OUTER, inner=INNER):
    (tmp_path / "inner.toml").write_text(inner)
    (tmp_path / "outer.toml").write_text(outer)
    path = tmp_path / "model.toml"
    path.write_text(model_text)
    return path


def _model(tmp_path, temperature='"35 degC"', own="", outer=OUTER, inner=INNER):
    header = f"temperature = {temperature}\n" if temperature is not None else ""
    text = (f'[model]\nname = "t"\n{header}include = ["outer.toml"]\n{own}')
    return ss.load_model(_write(tmp_path, text, outer, inner))


def _rate(model, name):
    return next(r.rate for r in model.reactions if r.name == name)


def test_each_file_scales_its_own_reactions(tmp_path):
    model = _model(tmp_path)
    # outer.toml: 25 -> 35 °C with Q10 2; its group 'binding' 15 -> 35 °C with Q10 1.5
    assert _rate(model, "a_decay") == pytest.approx(1.0 * 2.0, rel=1e-12)
    assert _rate(model, "a_bind_fwd") == pytest.approx(0.1 * 1.5 ** 2, rel=1e-12)
    assert _rate(model, "a_bind_rev") == pytest.approx(4.0 * 1.5 ** 2, rel=1e-12)
    # inner.toml, included by outer.toml, declares 35 °C: outer's Q10 does not reach it
    assert _rate(model, "b_decay") == pytest.approx(2.0, rel=1e-12)
    groups = {(Path(s.module).name, s.group): s for s in model.temperature_scaling}
    assert groups[("outer.toml", "")].factor == pytest.approx(2.0)
    assert groups[("outer.toml", "binding")].rules == ("a_bind",)
    assert groups[("inner.toml", "")].measured_c == 35.0


def test_model_temperature_in_kelvin_and_other_values(tmp_path):
    model = _model(tmp_path, temperature='"288.15 K"')          # 15 °C
    assert _rate(model, "a_decay") == pytest.approx(2.0 ** -1.0, rel=1e-12)
    assert _rate(model, "b_decay") == pytest.approx(2.0 * 3.0 ** -2.0, rel=1e-12)
    assert _rate(model, "a_bind_fwd") == pytest.approx(0.1, rel=1e-12)


def test_with_temperature(tmp_path):
    model = _model(tmp_path)
    cold = model.with_temperature("15 degC")
    assert _rate(cold, "a_decay") == pytest.approx(0.5, rel=1e-12)
    assert _rate(model.with_temperature(None), "a_decay") == 1.0
    assert [r.rate for r in cold.with_temperature("35 degC").reactions] == \
        [r.rate for r in model.reactions]
    undeclared = ss.Model.from_dict({"species": {"A": 1}, "reactions": [
        {"name": "a", "equation": "A ->", "rate": "1 /s"}]})
    with pytest.raises(ModelError, match="nothing to scale"):
        undeclared.with_temperature("30 degC")


def test_no_model_temperature_uses_the_rates_as_written(tmp_path):
    model = _model(tmp_path, temperature=None)
    assert model.temperature_c is None
    assert _rate(model, "a_decay") == 1.0 and _rate(model, "b_decay") == 2.0
    assert all(s.factor == 1.0 for s in model.temperature_scaling)
    assert "not stated by the model" in model.info()


def test_the_model_files_own_reactions_are_at_the_model_temperature(tmp_path):
    own = '\n[species]\nD = 5\n[[reactions]]\nname = "d_decay"\nequation = "D ->"\nrate = "3 /s"\n'
    model = _model(tmp_path, own=own)
    assert _rate(model, "d_decay") == 3.0
    assert "own reactions are written for 35 °C" in model.info()
    declared = own + '[temperature]\nmeasured = "25 degC"\nq10 = 4.0\n'
    model = _model(tmp_path, own=declared)
    assert _rate(model, "d_decay") == pytest.approx(12.0, rel=1e-12)
    assert _rate(model, "a_decay") == pytest.approx(2.0, rel=1e-12)   # outer's, not 4


def test_rebuilt_models_keep_the_scaling(tmp_path):
    model = _model(tmp_path)
    variant = model.with_parameters()
    assert [r.rate for r in variant.reactions] == [r.rate for r in model.reactions]
    assert variant.temperature_scaling == model.temperature_scaling


@pytest.mark.parametrize("value, words", [
    ('"35 F"', "unknown unit 'F'"), ('35', "has no unit"), ('"warm"', "not a temperature"),
    ('"-300 degC"', "absolute zero"), ('"0 K"', "absolute zero")])
def test_bad_model_temperature(tmp_path, value, words):
    with pytest.raises(ModelError, match=words) as info:
        _model(tmp_path, temperature=value)
    assert "temperature" in str(info.value)


@pytest.mark.parametrize("q10", ["0.0", "-2.0", '"2"', "true", "nan"])
def test_q10_must_be_a_positive_number(tmp_path, q10):
    inner = INNER.replace("q10 = 3.0", f"q10 = {q10}")
    with pytest.raises(ModelError, match="q10 must be a number > 0") as info:
        _model(tmp_path, inner=inner)
    assert "inner.toml" in str(info.value)


def test_a_module_without_temperature_in_a_model_that_states_one(tmp_path):
    inner = INNER.split("[species]")[0].replace('[temperature]\nmeasured = "35 degC"\n'
                                                'q10 = 3.0\n', "") + "[species]" \
        + INNER.split("[species]")[1]
    with pytest.raises(ModelError, match=r"inner\.toml.*does not say at which temperature"):
        _model(tmp_path, inner=inner)
    # without a model temperature the same files load, every rate as written
    assert _rate(_model(tmp_path, temperature=None, inner=inner), "b_decay") == 2.0


def test_a_group_may_name_only_the_files_own_reactions(tmp_path):
    outer = OUTER.replace('reactions = ["a_bind"]', 'reactions = ["a_bind", "b_decay"]')
    with pytest.raises(ModelError, match="'b_decay', which is not a reaction this file"):
        _model(tmp_path, outer=outer)


@pytest.mark.parametrize("change, words", [
    (('measured = "25 degC"\n', ""), "needs 'measured'"),
    (("q10 = 2.0\n[temperature.groups", "q10 = 2.0\nwarm = 1\n[temperature.groups"),
     "unknown key 'warm'"),
    (('measured = "15 degC"\nq10 = 1.5\n', ""), "neither 'q10' nor 'measured'"),
    (('reactions = ["a_bind"]', 'reactions = "a_bind"'), "needs 'reactions'")])
def test_bad_declarations(tmp_path, change, words):
    with pytest.raises(ModelError, match=words):
        _model(tmp_path, outer=OUTER.replace(*change, 1))


def test_a_fragment_may_not_set_the_model_temperature(tmp_path):
    outer = OUTER.replace('[model]\n', '[model]\ntemperature = "35 degC"\n')
    with pytest.raises(ModelError, match="may not set 'temperature'"):
        _model(tmp_path, outer=outer)


def test_hash_changes_only_with_the_numbers(tmp_path):
    at_35 = _model(tmp_path, temperature=None, outer=OUTER.replace("25 degC", "35 degC")
                   .replace("15 degC", "35 degC"), inner=INNER)
    plain = _model(tmp_path, temperature=None,
                   outer=OUTER.split("[temperature]")[0] + "[species]"
                   + OUTER.split("[species]")[1], inner=INNER.split("[species]")[0]
                   .split("[temperature]")[0] + "[species]" + INNER.split("[species]")[1])
    declared_35 = _model(tmp_path, temperature='"35 degC"',
                         outer=OUTER.replace("25 degC", "35 degC").replace("15 degC", "35 degC"))
    assert at_35.hash == plain.hash == declared_35.hash     # every factor 1
    assert _model(tmp_path).hash != plain.hash               # factors 2 and 2.25


def test_spine_model_info_shows_each_module(tmp_path):
    model = ss.load_model(SPINE)
    assert model.temperature_c == 35.0
    text = model.info()
    for line in ("temperature: 35 °C", "ampar_gating.toml", "23.0 °C", "2.297",
                 "nmdar_vcr.toml [mg_block]", "22.0 °C", "2.462"):
        assert line in text
    ampa = ss.load_model(MODULES / "ampar_gating.toml")
    assert _rate(model, "ampa_close") == pytest.approx(
        _rate(ampa, "ampa_close") * 2.0 ** 1.2, rel=1e-12)
    # the block's steady state (V1, V2) is unchanged: block and unblock scale together
    k_b = next(r.rate for r in model.reactions if r.rule == "nmdar_mg_block")
    k_u = next(r.rate for r in model.reactions if r.rule == "nmdar_mg_unblock")
    vcr = ss.load_model(MODULES / "nmdar_vcr.toml")
    k_b0 = next(r.rate for r in vcr.reactions if r.rule == "nmdar_mg_block")
    k_u0 = next(r.rate for r in vcr.reactions if r.rule == "nmdar_mg_unblock")
    assert k_b / k_u == pytest.approx(k_b0 / k_u0, rel=1e-12)
    assert k_u / k_u0 == pytest.approx(2.0 ** 1.3, rel=1e-12)


def test_cli_info_prints_the_temperature_table():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "stochsyn.cli", "info", str(SPINE)],
                         capture_output=True, text=True, check=True).stdout
    assert "measured    Q10  factor" in out and "2.297" in out


def test_every_kinetic_module_declares_its_temperature():
    for path in sorted(MODULES.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        if data.get("reactions"):
            table = data.get("temperature")
            assert table and "measured" in table and "q10" in table, path.name
            assert "Temperature policy" in path.read_text(), path.name
    assert math.isclose(2.0 ** 1.2, 2.2974, rel_tol=1e-4)
