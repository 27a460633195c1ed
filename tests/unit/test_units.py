"""Tests for unit handling and the rate convention (stochsyn.model.units)."""

import subprocess
import sys
import textwrap

import pytest

from stochsyn.model import units
from stochsyn.model.errors import ExpressionError, ModelError, UnitError
from stochsyn.model.units import (AVOGADRO, evaluate_parameters, evaluate_quantity, millivolts,
                                  molecule_count, resolve_unit, seconds,
                                  stochastic_rate_constant, volume_litre)

FL_01 = 1e-16                      # 0.1 fL in litres
OMEGA = 60.2214076                 # molecules per µM in 0.1 fL


def rate(text, orders, volume=FL_01, **kwargs):
    return stochastic_rate_constant(text, reactant_orders=orders, volume_litre=volume, **kwargs)


def test_avogadro_and_omega():
    assert AVOGADRO == 6.02214076e23
    assert AVOGADRO * volume_litre("0.1 fL") * 1e-6 == pytest.approx(OMEGA, rel=1e-12)


# -- worked numbers of docs/model-format.md -----------------------------------------------

@pytest.mark.parametrize("text, orders, volume, expected", [
    ("1 /uM/s", [2], FL_01, 2 / OMEGA),                       # 2 P -> P2 (homodimer: ×2!)
    ("6.8 /uM/s", [1, 1], FL_01, 6.8 / OMEGA),                # A + B -> C
    ("6.8 uM^-1 s^-1", [1, 1], FL_01, 6.8 / OMEGA),
    ("6.8 /µM/s", [1, 1], FL_01, 6.8 / OMEGA),
    ("6.8e6 /M/s", [1, 1], FL_01, 6.8 / OMEGA),
    ("10 /uM/s", [1, 1], 2e-17, 10 / (AVOGADRO * 2e-17 * 1e-6)),   # 0.02 um^3
    ("1 uM/s", [], FL_01, OMEGA),                             # zeroth order: c = k·Ω
    ("1 /uM^2/s", [3], FL_01, 6 / OMEGA ** 2),                # 3 A -> B: ×3!
    ("1 /uM^2/s", [2, 1], FL_01, 2 / OMEGA ** 2),             # 2 A + B -> C
    ("0.1 /s", [1], None, 0.1),
    ("1/(20 min)", [1], None, 1 / 1200),
    ("0.001 /s", [2], None, 0.001),           # 1/time is c itself, whatever the order
    ("3 /s", [], None, 3.0),
    ("1 /molecule/s", [2], None, 2.0),        # amounts: Ω = N_A
    ("1 /molecule/s", [1, 1], None, 1.0),
    ("1 /nmol/s", [1, 1], None, 1e9 / AVOGADRO),
    ("1 molecule/s", [], None, 1.0),
    ("1 nmol/s", [], None, 1e-9 * AVOGADRO),
    ("2 /molecule^2/s", [1, 1, 1], None, 2.0),
    ("1 /uM^3/s", [2, 2], FL_01, 4 / OMEGA ** 3),            # 2 A + 2 B -> C: ×2!·2!
])
def test_worked_rate_constants(text, orders, volume, expected):
    c = rate(text, orders, volume)
    assert type(c) is float
    assert c == pytest.approx(expected, rel=1e-12)


def test_style_check_value():
    v = volume_litre("0.02 um^3")
    assert v == pytest.approx(2e-17, rel=1e-12)
    assert rate("10 /uM/s", [1, 1], v) == pytest.approx(0.8303, rel=1e-4)


def test_plain_numbers_are_c_for_every_order():
    for orders in ([], [1], [2], [1, 1], [3]):
        assert rate(0.25, orders, None) == 0.25
        assert rate("0.25", orders, None) == 0.25
        assert rate(2, orders, None) == 2.0


def test_first_order_forms_coincide():
    assert rate("0.1 /s", [1]) == rate(0.1, [1]) == rate("6 /min", [1]) == pytest.approx(0.1)


def test_rate_from_parameters_and_quantity():
    params = evaluate_parameters({"k_on": "6.8 /uM/s", "kd": "2 uM", "k_off": "k_on * kd"})
    assert rate("k_on", [1, 1], parameters=params) == pytest.approx(6.8 / OMEGA, rel=1e-12)
    assert rate(params["k_off"], [1]) == pytest.approx(13.6, rel=1e-12)


@pytest.mark.parametrize("text, orders, fragments", [
    ("1 /uM/s", [], ["zeroth-order", "uM/s", "molecule/s", "got '1 /uM/s'"]),
    ("1 /uM", [], ["zeroth-order"]),
    ("1 /uM/s", [1], ["first-order rate needs 1/s", "got '1 /uM/s'"]),
    ("1 uM/s", [1], ["first-order"]),
    ("3 mV", [2], ["second-order rate needs 1/s (per pair of molecules)",
                   "concentration⁻¹·time⁻¹ such as /uM/s", "got '3 mV'"]),
    ("3 mV", [1, 1], ["second-order"]),
    ("1 /uM/s", [1, 1, 1], ["third-order", "per triple", "concentration⁻²·time⁻¹",
                            "/uM^2/s"]),
    ("1 /uM^2/s", [1, 1], ["second-order"]),
    ("1 uM", [1, 1], ["second-order"]),
    ("1 /uM^2/s", [2, 2], ["4th-order", "per set of 4", "concentration⁻³", "/uM^3/s"]),
])
def test_wrong_dimension_names_expected_dimension(text, orders, fragments):
    with pytest.raises(UnitError) as info:
        rate(text, orders, source="m.toml", where="reaction 'r', field 'rate'")
    message = str(info.value)
    assert message.startswith("m.toml, reaction 'r', field 'rate': ")
    for fragment in fragments:
        assert fragment in message


def test_concentration_rate_without_volume():
    with pytest.raises(UnitError) as info:
        rate("6.8 /uM/s", [1, 1], None)
    assert "volume" in info.value.message and "[model]" in info.value.hint
    with pytest.raises(UnitError, match="volume"):
        rate("1 uM/s", [], None)


@pytest.mark.parametrize("value", ["-1 /s", -0.5, "-6.8 /uM/s", float("nan"), float("inf"),
                                   "1e308 * 10 /s"])
def test_negative_or_non_finite_rate(value):
    with pytest.raises(ModelError) as info:
        rate(value, [1, 1])
    assert not isinstance(info.value, UnitError)


def test_zero_rate_is_allowed():
    assert rate("0 /s", [1]) == 0.0
    assert rate(0, [1, 1]) == 0.0


# -- evaluating quantities ----------------------------------------------------------------

def test_unknown_name_suggests_parameter():
    with pytest.raises(ExpressionError) as info:
        evaluate_quantity("k_of", parameters={"k_off": 1.0, "k_on": 2.0},
                          source="reactions/x.toml", where="reaction 'exocytosis', field 'rate'")
    assert str(info.value) == ("reactions/x.toml, reaction 'exocytosis', field 'rate': unknown "
                               "name 'k_of'. Did you mean 'k_off'? Define it under [parameters].")


def test_unknown_unit_name():
    with pytest.raises(ExpressionError) as info:
        evaluate_quantity("3 /uMM/s")
    assert "unknown name 'uMM'" in info.value.message
    assert "[parameters]" in info.value.hint


def test_parse_errors_get_the_location():
    with pytest.raises(ExpressionError) as info:
        evaluate_quantity("exp(2)", source="<dict>", where="parameter 'k'")
    assert str(info.value).startswith("<dict>, parameter 'k': function calls are not allowed")


def test_evaluate_quantity_results():
    assert evaluate_quantity(3) == 3.0 and type(evaluate_quantity(3)) is float
    assert evaluate_quantity("2 uM / uM") == 2.0
    assert type(evaluate_quantity("2 uM / uM")) is float
    q = evaluate_quantity("k * 2", parameters={"k": evaluate_quantity("3 uM")})
    assert q.to("uM").magnitude == pytest.approx(6.0)
    assert evaluate_quantity("1 s + 500 ms").to("s").magnitude == pytest.approx(1.5)


def test_parameters_shadow_units():
    assert evaluate_quantity("4 /s", parameters={"s": 2.0}) == 2.0
    assert rate("4 /s", [1], parameters={"s": 2.0}) == 2.0


def test_adding_different_dimensions_is_a_unit_error():
    with pytest.raises(UnitError, match="cannot add or subtract"):
        evaluate_quantity("1 s + 1 uM")


@pytest.mark.parametrize("value", [True, [1.0], None, {"a": 1}])
def test_evaluate_quantity_rejects_other_types(value):
    with pytest.raises(ModelError, match="expected a number"):
        evaluate_quantity(value)


def test_quantity_from_another_registry():
    import pint
    other = pint.UnitRegistry()
    assert rate(other.Quantity(6.8, "1/uM/s"), [1, 1]) == pytest.approx(6.8 / OMEGA, rel=1e-12)


def test_evaluate_parameters_in_dependency_order():
    values = evaluate_parameters({"k_off": "k_on * kd", "k_on": "6.8 /uM/s", "kd": "2 uM",
                                  "k_exo": "0.05 /s", "n": 3})
    assert list(values) == ["k_off", "k_on", "kd", "k_exo", "n"]
    assert values["k_off"].to("1/s").magnitude == pytest.approx(13.6)
    assert values["n"] == 3.0


def test_evaluate_parameters_cycle_and_bad_name():
    with pytest.raises(ModelError, match="a -> b -> c -> a"):
        evaluate_parameters({"a": "2 * b", "b": "c", "c": "a + 1"})
    with pytest.raises(ModelError, match="'k-on' cannot be used"):
        evaluate_parameters({"k-on": 1.0})


# -- molecule counts, volumes, times, voltages --------------------------------------------

@pytest.mark.parametrize("value, volume, expected", [
    (30, None, 30),
    (0, None, 0),
    (30.0, None, 30),
    ("30", None, 30),
    ("1e3", None, 1000),
    ("1 µM", FL_01, 60),
    ("1 μM", FL_01, 60),                # Greek mu as well as the micro sign
    ("1 uM", FL_01, 60),
    ("0.05 uM", FL_01, 3),
    ("0 uM", FL_01, 0),
    ("10 nmol", None, round(10e-9 * AVOGADRO)),
    ("50 molecule", None, 50),
    ("50 molecules", None, 50),
    ("2 uM / uM", None, 2),
])
def test_molecule_count(value, volume, expected):
    count = molecule_count(value, volume_litre=volume)
    assert type(count) is int and count == expected


@pytest.mark.parametrize("value, error, fragment", [
    (2.5, ModelError, "whole number"),
    ("2.5", ModelError, "whole number"),
    (-3, ModelError, "counts must be >= 0"),
    ("-1 uM", ModelError, "counts must be >= 0"),
    ("1 s", UnitError, "concentration"),
    (float("nan"), ModelError, "finite"),
])
def test_bad_molecule_counts(value, error, fragment):
    with pytest.raises(error, match=fragment):
        molecule_count(value, volume_litre=FL_01)


def test_count_from_concentration_needs_volume():
    with pytest.raises(UnitError, match="volume"):
        molecule_count("1 uM", volume_litre=None)


@pytest.mark.parametrize("text", ["0.1 fL", "0.1 um^3", "0.1 µm**3", "1e-16 L", "1e-19 m^3"])
def test_volume_litre(text):
    assert volume_litre(text) == pytest.approx(1e-16, rel=1e-12)


@pytest.mark.parametrize("value, error, fragment", [
    (0.1, UnitError, "needs a unit"),
    ("0.1", UnitError, "needs a unit"),
    ("0 fL", ModelError, "> 0"),
    ("-1 fL", ModelError, "> 0"),
    ("1 s", UnitError, "fL"),
    ("1 um^2", UnitError, "fL"),
])
def test_bad_volumes(value, error, fragment):
    with pytest.raises(error, match=fragment):
        volume_litre(value)


@pytest.mark.parametrize("value, expected", [
    (3, 3.0), (2.5, 2.5), ("25 s", 25.0), ("100 ms", 0.1), ("2 min", 120.0), ("1 h", 3600.0),
])
def test_seconds(value, expected):
    assert seconds(value) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("value, expected", [
    (-70, -70.0), ("-70 mV", -70.0), ("0.02 V", 20.0), ("-0.07 V", -70.0),
])
def test_millivolts(value, expected):
    assert millivolts(value) == pytest.approx(expected, rel=1e-12)


def test_wrong_time_and_voltage_units():
    with pytest.raises(UnitError, match="a time needs a unit such as"):
        seconds("1 uM")
    with pytest.raises(UnitError, match="a voltage needs a unit such as"):
        millivolts("1 s")


# -- unit lookup and the lazy registry ----------------------------------------------------

@pytest.mark.parametrize("name, dimension", [
    ("uM", "[concentration]"), ("µM", "[concentration]"), ("nM", "[concentration]"),
    ("mM", "[concentration]"), ("M", "[concentration]"), ("fL", "[volume]"),
    ("um", "[length]"), ("µm", "[length]"), ("mV", "[electric_potential]"),
    ("ms", "[time]"), ("s", "[time]"), ("min", "[time]"), ("h", "[time]"),
    ("molecule", "[substance]"), ("particle", "[substance]"), ("mol", "[substance]"),
    ("nmol", "[substance]"),
])
def test_resolve_unit(name, dimension):
    unit = resolve_unit(name)
    assert unit is not None and unit.magnitude == 1.0
    assert unit.dimensionality == units.registry().get_dimensionality(dimension)


@pytest.mark.parametrize("name", ["k_of", "uMM", "", "1abc", "a.b", "uM/s", "__import__"])
def test_resolve_unit_unknown(name):
    assert resolve_unit(name) is None


def test_registry_not_created_for_plain_numbers(monkeypatch):
    monkeypatch.setattr(units, "_REGISTRY", None)
    monkeypatch.setattr(units, "_UNIT_CACHE", {})
    assert not units.registry_created()
    assert rate(0.5, [1, 1], None) == 0.5
    assert rate("k * 2", [1], None, parameters={"k": 1.0}) == 2.0
    assert molecule_count(30, volume_litre=None) == 30
    assert molecule_count("30", volume_litre=None) == 30
    assert seconds(3) == 3.0 and millivolts(-70) == -70.0
    assert evaluate_parameters({"a": "2 * b", "b": 3}) == {"a": 6.0, "b": 3.0}
    assert units._REGISTRY is None and not units.registry_created()
    evaluate_quantity("1 s")
    assert units.registry_created()


def test_pint_not_even_imported_for_plain_numbers():
    code = textwrap.dedent("""
        import sys
        from stochsyn.model import units
        units.stochastic_rate_constant("k_on * 2", reactant_orders=[1, 1], volume_litre=None,
                                       parameters={"k_on": 0.5})
        units.molecule_count(30, volume_litre=None)
        units.seconds("25")
        units.evaluate_parameters({"a": "2 * b", "b": 3})
        assert not units.registry_created(), "registry created"
        assert "pint" not in sys.modules, "pint imported"
        units.seconds("25 s")
        assert units.registry_created() and "pint" in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=str(__import__("pathlib").Path(__file__).parents[2]))
    assert result.returncode == 0, result.stderr
