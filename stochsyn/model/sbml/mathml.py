"""The MathML walker of the SBML reader: libsbml ASTs into nested tuples it evaluates itself.

Nothing in an SBML file is ever executed: the walker knows numbers, names, ``+ - * /``,
powers and unary minus, and refuses everything else by name."""

from __future__ import annotations

import math
from typing import Callable

from ... import limits
from ..units import AVOGADRO


class _MathError(Exception):
    """Unsupported or invalid math; the caller adds where it is."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


_ARITHMETIC_HINT = ("SBML math in stochsyn may use only numbers, names, + - * /, powers and "
                    "unary minus")


def _too_deep() -> _MathError:
    return _MathError(f"the formula is nested more than {limits.MATH_DEPTH} levels deep",
                      hint="write it with fewer nested operations (an assignment rule or a "
                           "parameter can hold a part of it)")


def _convert_math(node, libsbml, depth: int = 0) -> tuple:
    """Turn a libsbml ASTNode into a tuple tree, refusing every unsupported element and
    any nesting deeper than :data:`stochsyn.limits.MATH_DEPTH` (so that the walkers below,
    which recurse, stay far from Python's recursion limit).

    Nodes: ``("num", value)``, ``("name", id)``, ``("time",)``, ``("+", [..])``,
    ``("*", [..])``, ``("-", [a, b])``, ``("neg", [a])``, ``("/", [a, b])``,
    ``("^", [a, b])``.
    """
    L = libsbml
    if node is None:
        raise _MathError("the math is missing")
    if depth > limits.MATH_DEPTH:
        raise _too_deep()
    kind = node.getType()
    n = node.getNumChildren()

    def children():
        return [_convert_math(node.getChild(i), L, depth + 1) for i in range(n)]

    if kind == L.AST_INTEGER:
        return ("num", float(node.getInteger()))
    if kind == L.AST_RATIONAL:
        value = node.getNumerator() / node.getDenominator() if node.getDenominator() else \
            math.nan
        if not math.isfinite(value):
            raise _MathError("a rational number with denominator 0")
        return ("num", value)
    if kind in (L.AST_REAL, L.AST_REAL_E):
        value = node.getReal()
        if not math.isfinite(value):
            raise _MathError(f"a number that is not finite ({value})",
                             hint="give a finite value")
        return ("num", float(value))
    if kind == L.AST_CONSTANT_PI:
        return ("num", math.pi)
    if kind == L.AST_CONSTANT_E:
        return ("num", math.e)
    if kind == L.AST_NAME_AVOGADRO:
        value = node.getReal()
        return ("num", float(value) if value > 0 else AVOGADRO)
    if kind == L.AST_NAME:
        return ("name", node.getName())
    if kind == L.AST_NAME_TIME:
        return ("time",)
    if kind == L.AST_PLUS:
        return ("+", children()) if n else ("num", 0.0)
    if kind == L.AST_TIMES:
        return ("*", children()) if n else ("num", 1.0)
    if kind == L.AST_MINUS:
        if n == 1:
            return ("neg", children())
        if n == 2:
            return ("-", children())
    if kind == L.AST_DIVIDE and n == 2:
        return ("/", children())
    if kind in (L.AST_POWER, L.AST_FUNCTION_POWER) and n == 2:
        return ("^", children())
    text = _formula(node, L)
    if kind == L.AST_FUNCTION_DELAY:
        raise _MathError(f"it uses delay() ('{text}'): a delayed value makes the process "
                         "non-Markovian, which the exact SSA cannot simulate",
                         hint="remove the delay, or model it with intermediate species")
    if kind == L.AST_FUNCTION_PIECEWISE:
        raise _MathError(f"it uses piecewise() ('{text}'), whose value switches with the "
                         "state or time", hint="write one reaction per case with a mass-action "
                                               "law, or use timed events for switches in time")
    if kind == L.AST_FUNCTION_RATE_OF:
        raise _MathError(f"it uses rateOf() ('{text}'), the derivative of a variable",
                         hint=_ARITHMETIC_HINT)
    if kind == L.AST_FUNCTION:
        name = node.getName()
        raise _MathError(f"it calls the function '{name}', which is not a function definition "
                         "of the model (or could not be expanded)",
                         hint="define it in listOfFunctionDefinitions, or write its body "
                              "in place of the call")
    if kind == L.AST_LAMBDA:
        raise _MathError("it contains a lambda expression", hint=_ARITHMETIC_HINT)
    relational = {L.AST_RELATIONAL_EQ, L.AST_RELATIONAL_GEQ, L.AST_RELATIONAL_GT,
                  L.AST_RELATIONAL_LEQ, L.AST_RELATIONAL_LT, L.AST_RELATIONAL_NEQ,
                  L.AST_LOGICAL_AND, L.AST_LOGICAL_OR, L.AST_LOGICAL_NOT,
                  L.AST_LOGICAL_XOR, L.AST_CONSTANT_TRUE, L.AST_CONSTANT_FALSE}
    if kind in relational:
        raise _MathError(f"it uses a relational or logical expression ('{text}')",
                         hint=_ARITHMETIC_HINT)
    name = node.getName()
    if name and L.AST_FUNCTION < kind < L.AST_END_OF_CORE:
        raise _MathError(f"it uses the function {name}() ('{text}')",
                         hint=f"{_ARITHMETIC_HINT}; put the value of {name}(...) into a "
                              "parameter")
    if kind == L.AST_CSYMBOL_FUNCTION or kind == L.AST_UNKNOWN:
        raise _MathError(f"it uses an unknown csymbol or MathML element ('{text}')",
                         hint=_ARITHMETIC_HINT)
    raise _MathError(f"it uses an unsupported MathML construct ('{text}')",
                     hint=_ARITHMETIC_HINT)


def _formula(node, libsbml) -> str:
    try:
        text = libsbml.formulaToL3String(node)
    except Exception:  # noqa: BLE001 - only for the message; never let libsbml leak out
        text = None
    return text or "?"


def _names(expr) -> set[str]:
    kind = expr[0]
    if kind == "name":
        return {expr[1]}
    if kind in ("num", "time"):
        return set()
    out = set()
    for child in expr[1]:
        out |= _names(child)
    return out


def _uses_time(expr) -> bool:
    if expr[0] == "time":
        return True
    if expr[0] in ("num", "name"):
        return False
    return any(_uses_time(child) for child in expr[1])


def _evaluate(expr, lookup: Callable[[str], float]) -> float:
    """Evaluate a tuple tree with plain float arithmetic (inf/NaN instead of exceptions)."""
    kind = expr[0]
    if kind == "num":
        return expr[1]
    if kind == "name":
        return lookup(expr[1])
    if kind == "time":
        raise _MathError("it depends on time")
    args = [_evaluate(child, lookup) for child in expr[1]]
    if kind == "+":
        return sum(args)
    if kind == "*":
        result = 1.0
        for a in args:
            result *= a
        return result
    if kind == "-":
        return args[0] - args[1]
    if kind == "neg":
        return -args[0]
    if kind == "/":
        a, b = args
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    if kind == "^":
        try:
            return math.pow(args[0], args[1])
        except ValueError:
            return math.nan
        except OverflowError:
            return math.inf
    raise AssertionError(kind)


def _ast_names(node, libsbml, depth: int = 0) -> set[str]:
    """Identifiers (``ci`` elements) anywhere in a libsbml ASTNode."""
    names = set()
    if node is None:
        return names
    if depth > limits.MATH_DEPTH:
        raise _too_deep()
    if node.getType() == libsbml.AST_NAME and node.getName():
        names.add(node.getName())
    for k in range(node.getNumChildren()):
        names |= _ast_names(node.getChild(k), libsbml, depth + 1)
    return names
