"""Tests for the safe expression parser (stochsyn.model.expressions) and the error type."""

import builtins
import dataclasses
import pickle
import random

import pytest

from stochsyn.model.errors import ExpressionError, ModelError, UnitError
from stochsyn.model.expressions import Expr, parse

a, b, c, d = 2.0, 3.0, 5.0, 7.0
ENV = {"a": a, "b": b, "c": c, "d": d}


def value(text, env=ENV):
    return parse(text).evaluate(env.__getitem__)


# -- precedence and associativity, against Python arithmetic on the same numbers ----------

PRECEDENCE = [
    ("a + b * c", a + b * c),
    ("(a + b) * c", (a + b) * c),
    ("a - b - c", a - b - c),
    ("a - (b - c)", a - (b - c)),
    ("a / b / c", a / b / c),
    ("a / (b / c)", a / (b / c)),
    ("a * b / c * d", a * b / c * d),
    ("a ** b ** 2", a ** b ** 2),
    ("a ^ b ^ 2", a ** b ** 2),
    ("(a ** b) ** 2", (a ** b) ** 2),
    ("-2**2", -2 ** 2),
    ("-a ** 2", -a ** 2),
    ("(-a) ** 2", (-a) ** 2),
    ("a ** -1", a ** -1),
    ("a ** -b ** 2", a ** -b ** 2),
    ("a^-1", a ** -1),
    ("- - a", - - a),
    ("+a - -b", +a - -b),
    ("a * -b", a * -b),
    ("a + b * c ** 2 / d - 1", a + b * c ** 2 / d - 1),
    ("a * b ** -1 * c", a * b ** -1 * c),
    ("2 ** 0.5", 2 ** 0.5),
    ("1e-3 * a", 1e-3 * a),
    ("2.5e2 + .5", 2.5e2 + .5),
    ("3. * 1E+2", 3. * 1E+2),
    ("((a))", a),
]


@pytest.mark.parametrize("text, expected", PRECEDENCE)
def test_precedence_matches_python(text, expected):
    assert value(text) == pytest.approx(expected, rel=1e-15)


IMPLICIT = [
    ("6.8 /a/b", 6.8 / a / b),
    ("0.1 a", 0.1 * a),
    ("20 b", 20 * b),
    ("6.8 a^-1 b^-1", 6.8 * a ** -1 * b ** -1),
    ("6.8 a**-1 b**-1", 6.8 * a ** -1 * b ** -1),
    ("1/(20 c)", 1 / (20 * c)),
    ("1/20 c", 1 / 20 * c),             # juxtaposition has the precedence of '*'
    ("a/b c", a / b * c),
    ("2 (a + b)", 2 * (a + b)),
    ("(a)(b)", a * b),
    ("(a + b) c", (a + b) * c),
    ("2a", 2 * a),
    ("a b c", a * b * c),
    (".5a", 0.5 * a),
    ("2 3", 6.0),
    ("-a b", -a * b),
    ("a^2 b", a ** 2 * b),
    ("a + b c", a + b * c),
]


@pytest.mark.parametrize("text, expected", IMPLICIT)
def test_implicit_multiplication(text, expected):
    assert value(text) == pytest.approx(expected, rel=1e-15)


def test_names_and_text():
    expr = parse("k_on * kd + 6.8 /µM/s")
    assert isinstance(expr, Expr)
    assert expr.names == frozenset({"k_on", "kd", "µM", "s"})
    assert expr.text == str(expr) == "k_on * kd + 6.8 /µM/s"
    assert parse("1/(20 min)").names == {"min"}
    assert parse("3.5").names == frozenset()
    assert parse("_x1 + x_2").names == {"_x1", "x_2"}


def test_expr_is_immutable():
    expr = parse("a + b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.text = "c"
    assert hash(expr) == hash(parse("a + b"))


def test_evaluate_calls_resolve_per_name_and_allows_any_value_type():
    seen = []

    def resolve(name):
        seen.append(name)
        return {"x": 4.0, "y": 2}[name]

    assert parse("x / y + x").evaluate(resolve) == 6.0
    assert sorted(seen) == ["x", "x", "y"]


def test_unknown_name_error_comes_from_resolve():
    def resolve(name):
        raise ExpressionError(f"unknown name {name!r}")

    with pytest.raises(ExpressionError, match="unknown name 'zz'"):
        parse("2 * zz").evaluate(resolve)


@pytest.mark.parametrize("text, fragment", [
    ("a / (b - b)", "division by zero"),
    ("10 ^ 400", "too large"),
    ("(-8) ^ (1/3)", "fractional power"),
])
def test_evaluation_errors(text, fragment):
    with pytest.raises(ExpressionError, match=fragment):
        value(text)


def test_integer_values_cannot_build_huge_integers():
    # with Python ints, 9 ** 9 ** 9 would take minutes; names are turned into floats
    with pytest.raises(ExpressionError, match="too large"):
        parse("n ** n ** n").evaluate(lambda name: 9)


def test_power_needs_dimensionless_exponent():
    class FakeQuantity:              # stands in for a pint Quantity with units
        dimensionless = False

    with pytest.raises(ExpressionError, match="exponent .* dimensionless"):
        parse("2 ^ q").evaluate(lambda name: FakeQuantity())


# -- rejections ---------------------------------------------------------------------------

REJECTED = [
    ("exp(x)", "function calls are not allowed in rate expressions: 'exp(...)'", 0),
    ("k_on * exp (x)", "function calls are not allowed", 7),
    ("__import__('os').system('ls')", "function calls are not allowed", 0),
    ("a.b", "attribute access is not allowed", 1),
    ("(1).real", "attribute access is not allowed", 3),
    ("x.__class__", "attribute access is not allowed in rate expressions: 'x.__class__'", 1),
    ("a[0]", "subscripts", 1),
    ("'a'", "strings", 0),
    ('"uM"', "strings", 0),
    ("a, b", "commas are not allowed", 1),
    ("a = 1", "assignments ('=') are not allowed", 2),
    ("a == b", "comparisons ('==') are not allowed", 2),
    ("lambda: 1", "'lambda' is not allowed", 0),
    ("a; b", "';' is not allowed", 1),
    ("", "empty expression", 0),
    ("   ", "empty expression", 0),
    ("(1 + 2", "unbalanced parentheses: this '(' is never closed", 0),
    ("((a) + b", "unbalanced parentheses", 0),
    ("1 + 2)", "unbalanced parentheses: ')' has no matching '('", 5),
    (")", "unbalanced parentheses", 0),
    ("()", "empty parentheses", 0),
    ("1 +", "ends with the operator '+'", 3),
    ("2 *", "ends with the operator '*'", 3),
    ("2 /", "ends with the operator '/'", 3),
    ("s ^", "ends with the operator '^'", 3),
    ("s ** -", "ends with the operator '-'", 6),
    ("* 2", "expected a number, a name or '('", 0),
    ("2 * * 3", "expected a number, a name or '('", 4),
    ("a // b", "'//' (integer division) is not allowed", 2),
    ("a % b", "unexpected character '%'", 2),
    ("a @ b", "unexpected character '@'", 2),
    ("a $ b", "unexpected character '$'", 2),
    ("a < b", "unexpected character '<'", 2),
    ("{a}", "unexpected character '{'", 0),
    ("um²", "unexpected character '²'", 2),
    ("a − b", "unexpected character '−'", 2),
    ("1.2.3", "malformed number '1.2.3'", 0),
    ("1e", "malformed number", 0),
    ("1e-x", "malformed number", 0),
    ("1_000", "malformed number", 0),
    (".", "a lone '.' is not a number", 0),
    ("(" * 150 + "1" + ")" * 150, "nested too deeply", 100),
    ("-" * 150 + "1", "nested too deeply", 100),
]


@pytest.mark.parametrize("text, fragment, position", REJECTED)
def test_rejections_name_the_problem_and_position(text, fragment, position):
    with pytest.raises(ExpressionError) as info:
        parse(text)
    error = info.value
    assert fragment in error.message
    assert error.position == position
    assert error.text == text
    if text.strip():
        assert f"character {position + 1} of" in str(error)


def test_rejection_hints():
    with pytest.raises(ExpressionError) as info:
        parse("um²")
    assert "um^3" in info.value.hint
    with pytest.raises(ExpressionError) as info:
        parse("k (a + b)")
    assert "k*(...)" in info.value.hint


def test_parse_needs_a_string():
    with pytest.raises(ExpressionError, match="must be a string"):
        parse(3.0)


def test_random_token_soup_never_executes_anything(monkeypatch):
    rng = random.Random(20240501)
    pieces = ["1", "2.5", "1e-3", ".5", "0", "a", "b", "µM", "s", "_x", "__import__", "os",
              "system", "eval", "exec", "lambda", "exp", "open", "__class__", "+", "-", "*",
              "/", "**", "^", "//", "(", ")", "(", ")", "[", "]", "'", '"', ",", ".", "=",
              "==", ";", ":", " ", " ", "@", "!", "%", "\\", "\n", "{", "}", "#", "`", "²",
              "−", "\x00", "é", "0x1", "1_0"]
    soup = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
            for _ in range(2000)]
    soup += ["__import__('os').system('echo pwned')", "exec('1')", "eval('1')",
             "open('/etc/passwd')", "a.__class__.__bases__[0].__subclasses__()",
             "(lambda: 1)()", "[x for x in ()]", "globals()['__builtins__']"]

    calls = []

    def trap(name):
        def trapped(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} was called while parsing")
        return trapped

    parsed = rejected = 0
    armed = False
    with monkeypatch.context() as patch:
        # '__import__' last: monkeypatch itself imports while patching
        for name in ("eval", "exec", "compile", "open", "breakpoint", "__import__"):
            patch.setattr(builtins, name, trap(name))
        try:                                  # the traps are armed
            builtins.eval("1")
        except AssertionError:
            armed = calls.pop() == "eval"
        for text in soup:
            try:
                expr = parse(text)
            except ExpressionError:
                rejected += 1
                continue
            parsed += 1
            assert isinstance(expr, Expr)
            try:
                expr.evaluate(lambda name: 1.5)
            except ExpressionError:
                pass
    assert armed and calls == []
    assert parsed > 50 and rejected > 1000


# -- the error type -----------------------------------------------------------------------

def test_model_error_rendering():
    error = ModelError("unknown name 'k_of'", source="reactions/x.toml",
                       where="reaction 'exocytosis', field 'rate'",
                       hint="Did you mean 'k_off'? Define it under [parameters].")
    assert str(error) == ("reactions/x.toml, reaction 'exocytosis', field 'rate': unknown "
                          "name 'k_of'. Did you mean 'k_off'? Define it under [parameters].")
    assert (error.source, error.where, error.message) == (
        "reactions/x.toml", "reaction 'exocytosis', field 'rate'", "unknown name 'k_of'")
    assert isinstance(error, ValueError)
    assert str(ModelError("bad")) == "bad"
    assert str(ModelError("bad", where="[model]")) == "[model]: bad"
    assert str(ModelError("bad", hint="fix it")) == "bad. Fix it."
    assert issubclass(ExpressionError, ModelError) and issubclass(UnitError, ModelError)


def test_model_error_locate_fills_only_missing_parts():
    error = ExpressionError("oops", where="inner")
    assert error.locate(source="<dict>", where="outer") is error
    assert (error.source, error.where) == ("<dict>", "inner")
    assert str(error) == "<dict>, inner: oops"


def test_errors_survive_pickling():
    with pytest.raises(ExpressionError) as info:
        parse("exp(x)")
    error = info.value.locate(source="m.toml", where="reaction 'r'")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is ExpressionError
    assert str(copy) == str(error)
    assert (copy.position, copy.text, copy.hint) == (0, "exp(x)", error.hint)
