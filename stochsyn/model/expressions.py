"""A small, safe parser for rate and quantity expressions.

Model files are data, so expressions such as ``"k_on * kd"``, ``"6.8 /uM/s"`` or
``"1/(20 min)"`` are read by a tokenizer and a recursive-descent parser written here; no
Python ``eval``, ``ast`` or pint string evaluation ever sees the user's text. The grammar::

    expr    := term (('+' | '-') term)*
    term    := unary (('*' | '/') unary | power)*    # a bare 'power' is juxtaposition: '*'
    unary   := ('+' | '-') unary | power
    power   := primary (('**' | '^') unary)?         # right-associative; '-2**2' == -4
    primary := NUMBER | NAME | '(' expr ')'

Juxtaposition applies when a factor is followed by a number, a name or ``(``, so
``0.1 fL``, ``6.8 uM^-1 s^-1`` and ``2 (a + b)`` multiply. A name followed by ``(`` is
rejected as a function call. Juxtaposition binds like ``*``, so ``1/20 min`` is
``(1/20)·min``: write ``1/(20 min)``. Numbers are read as floats (no huge integer powers).

Limits (:mod:`stochsyn.limits`): an expression is at most ``STOCHSYN_MAX_EXPRESSION_CHARS``
characters long (10,000 unless raised), and parentheses, unary signs and powers nest at
most :data:`~stochsyn.limits.EXPRESSION_DEPTH` levels (the parser recurses only there).
Sums, products and juxtapositions of any length are read with loops, and the parsed tree
is kept as a flat postfix program that is evaluated with a stack: no input reaches
Python's recursion limit.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from .. import limits
from .errors import ExpressionError

__all__ = ["Expr", "parse"]

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_HINTS = {"−": "use '-' for minus", "·": "use '*' for multiplication",
          "×": "use '*' for multiplication", "÷": "use '/' for division"}
_HINTS.update(dict.fromkeys("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "write powers with '^', e.g. 'um^3' or 's^-1'"))


_GRAMMAR = ("rate expressions know only numbers, parameter and unit names, "
            "+ - * / ** ^ and parentheses")

_BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


@dataclass(frozen=True)
class _Node:
    op: str             # 'num', 'name', 'neg', 'pos', '+', '-', '*', '/' or '**'
    args: tuple         # (value,) for 'num' and 'name', else the operand nodes


def _postfix(root: _Node) -> tuple:
    """The tree as a flat program in postfix order: ``(op, value)`` per node (``value`` for
    'num' and 'name', else None). Built and run with explicit stacks, so that a long flat
    sum (a left-deep tree 20,000 nodes deep) never recurses."""
    program = []
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if node.op in ("num", "name"):
            program.append((node.op, node.args[0]))
        elif expanded:
            program.append((node.op, None))
        else:
            stack.append((node, True))
            stack.extend((arg, False) for arg in reversed(node.args))
    return tuple(program)


def _run(program: tuple, resolve, text: str):
    values: list = []
    for op, value in program:
        if op == "num":
            values.append(value)
        elif op == "name":
            value = resolve(value)
            # plain ints become floats so that '**' can never build a huge integer
            values.append(float(value) if type(value) is int else value)
        elif op == "neg":
            values[-1] = -values[-1]
        elif op == "pos":
            values[-1] = +values[-1]
        else:
            right = values.pop()
            left = values[-1]
            try:
                values[-1] = (_power(left, right, text) if op == "**"
                              else _BINARY[op](left, right))
            except ZeroDivisionError:
                raise ExpressionError(f"division by zero in {text!r}", text=text,
                                      hint="check the denominator (a parameter that is 0?)"
                                      ) from None
            except OverflowError:
                raise ExpressionError(f"a number is too large in {text!r}", text=text,
                                      hint="numbers stay below about 1e308; check the "
                                           "exponents") from None
    return values[0]


def _power(base, exponent, text):
    if not isinstance(exponent, (int, float)):
        if not getattr(exponent, "dimensionless", False):     # a pint Quantity with units
            raise ExpressionError(f"the exponent of a power must be a dimensionless number in "
                                  f"{text!r}", text=text, hint="write e.g. 'uM^-1' or 's^2'")
        exponent = float(exponent)
    result = base ** exponent
    if isinstance(getattr(result, "magnitude", result), complex):
        raise ExpressionError(f"a negative value cannot be raised to a fractional power in "
                              f"{text!r}", text=text)
    return result


@dataclass(frozen=True)
class Expr:
    """A parsed expression: an immutable tree, safe to keep and evaluate many times.

    Attributes
    ----------
    text : str
        The text it was parsed from.
    names : frozenset of str
        Every identifier used (parameter or unit names).
    """

    text: str
    names: frozenset
    _program: tuple

    def evaluate(self, resolve: Callable[[str], Any]):
        """Compute the value of the expression.

        Parameters
        ----------
        resolve : callable
            ``resolve(name)`` returns the value of a name: a float or a pint Quantity (or
            raises :class:`ExpressionError` for an unknown name).

        Returns
        -------
        float or pint.Quantity
            Computed with plain Python operators, so pint carries the dimensions.

        Raises
        ------
        ExpressionError
            Division by zero, overflow, a dimensioned exponent, or a complex result.
        """
        return _run(self._program, resolve, self.text)

    def __str__(self) -> str:
        return self.text


def _error(problem: str, text: str, pos: int, hint: str | None = None) -> ExpressionError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return ExpressionError(f"{problem} (character {pos + 1} of {shown!r})", text=text,
                           position=pos, hint=hint)


def _word(text: str, i: int) -> int:
    """End of the run of letters, digits, '_' and '.' starting at ``i``."""
    while i < len(text) and (text[i].isalnum() or text[i] in "_."):
        i += 1
    return i


def _tokens(text: str):
    """Yield ``(kind, value, position)``; kind is 'num', 'name', 'op', '(', ')' or 'end'."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isascii() and ch.isdigit() or (ch == "." and text[i + 1:i + 2].isdigit()):
            end = _NUMBER.match(text, i).end()
            nxt, after = text[end:end + 1], text[end + 1:end + 2]
            if nxt in ("_", ".") or nxt.isdecimal() or (text[end - 1] == "." and nxt.isalpha()) \
                    or (nxt in ("e", "E") and not (after.isalpha() or after == "_")):
                raise _error(f"malformed number {text[i:_word(text, end)]!r}", text, i)
            yield "num", float(text[i:end]), i
            i = end
        elif ch.isalpha() or ch == "_":
            end = i + 1
            while end < n and (text[end].isalpha() or text[end].isdecimal() or text[end] == "_"):
                end += 1
            name = text[i:end]
            if name == "lambda":
                raise _error("'lambda' is not allowed in rate expressions", text, i)
            if text[end:end + 1] == ".":
                raise _error(f"attribute access is not allowed in rate expressions: "
                             f"{text[i:_word(text, end)]!r}", text, end, _GRAMMAR)
            yield "name", name, i
            i = end
        elif text.startswith(("**", "^"), i):
            yield "op", ("^" if ch == "^" else "**"), i
            i += 1 if ch == "^" else 2
        elif text.startswith("//", i):
            raise _error("'//' (integer division) is not allowed", text, i, "use '/'")
        elif ch in "+-*/()":
            yield ("op" if ch in "+-*/" else ch), ch, i
            i += 1
        else:
            raise _bad_character(text, i)
    yield "end", None, n


def _bad_character(text: str, i: int) -> ExpressionError:
    ch = text[i]
    if ch in "'\"":
        return _error("strings (quotes) are not allowed in rate expressions", text, i,
                      _GRAMMAR)
    if ch == ",":
        return _error("commas are not allowed in rate expressions (no function arguments or "
                      "tuples)", text, i, _GRAMMAR)
    if ch == "=":
        what = "comparisons ('==')" if text.startswith("==", i) else "assignments ('=')"
        return _error(f"{what} are not allowed in rate expressions", text, i, _GRAMMAR)
    if ch == ";":
        return _error("';' is not allowed: a rate expression is one expression", text, i,
                      _GRAMMAR)
    if ch in "[]":
        return _error("subscripts ('[...]') are not allowed in rate expressions", text, i,
                      _GRAMMAR)
    if ch == ".":
        return _error("attribute access is not allowed in rate expressions"
                      if text[i + 1:i + 2].isalpha() else "a lone '.' is not a number", text, i,
                      _GRAMMAR)
    return _error(f"unexpected character {ch!r}", text, i, _HINTS.get(ch, _GRAMMAR))


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.kind, self.value, self.pos = next(self.tokens)
        self.previous = None
        self.names: set[str] = set()
        self.depth = 0

    def advance(self):
        self.previous = self.value
        self.kind, self.value, self.pos = next(self.tokens)

    def expr(self):
        node = self.term()
        while self.kind == "op" and self.value in ("+", "-"):
            op = self.value
            self.advance()
            node = _Node(op, (node, self.term()))
        return node

    def term(self):
        node = self.unary()
        while True:
            if self.kind == "op" and self.value in ("*", "/"):
                op = self.value
                self.advance()
                node = _Node(op, (node, self.unary()))
            elif self.kind in ("num", "name", "("):       # implicit multiplication
                node = _Node("*", (node, self.power()))
            else:
                return node

    def unary(self):
        if self.kind == "op" and self.value in ("+", "-"):
            op = self.value
            self.enter()
            self.advance()
            node = _Node("neg" if op == "-" else "pos", (self.unary(),))
            self.depth -= 1
            return node
        return self.power()

    def power(self):
        node = self.primary()
        if self.kind == "op" and self.value in ("**", "^"):
            self.enter()             # a**b**c nests to the right: count it like '('
            self.advance()
            node = _Node("**", (node, self.unary()))
            self.depth -= 1
        return node

    def primary(self):
        kind, value, pos = self.kind, self.value, self.pos
        if kind == "num":
            self.advance()
            return _Node("num", (value,))
        if kind == "name":
            self.advance()
            if self.kind == "(":
                raise _error(f"function calls are not allowed in rate expressions: "
                             f"'{value}(...)'", self.text, pos, _GRAMMAR if value[:1] == "_"
                             else f"write '{value}*(...)' if you mean multiplication")
            self.names.add(value)
            return _Node("name", (value,))
        if kind == "(":
            self.enter()
            self.advance()
            if self.kind == ")":
                raise _error("empty parentheses '()'", self.text, pos)
            node = self.expr()
            if self.kind != ")":
                raise _error("unbalanced parentheses: this '(' is never closed", self.text, pos)
            self.depth -= 1
            self.advance()
            return node
        if kind == "end":
            if not self.text.strip():
                raise ExpressionError("empty expression", text=self.text, position=0,
                                      hint="write a number or an expression such as '0.05 /s'")
            raise _error(f"the expression ends with the operator {self.previous!r}", self.text,
                         pos)
        if kind == ")":
            raise _error("unbalanced parentheses: ')' has no matching '('", self.text, pos)
        raise _error(f"expected a number, a name or '(' but found {value!r}", self.text, pos)

    def enter(self):
        self.depth += 1
        if self.depth > limits.EXPRESSION_DEPTH:
            raise _error(f"the expression is nested too deeply (parentheses, signs and "
                         f"powers more than {limits.EXPRESSION_DEPTH} levels)", self.text,
                         self.pos,
                         "write it in parts, as parameters that refer to each other")


def parse(text: str) -> Expr:
    """Parse a rate or quantity expression.

    Parameters
    ----------
    text : str
        E.g. ``"k_on * kd"``, ``"6.8 /uM/s"``, ``"1/(20 min)"``, ``"6.8 uM^-1 s^-1"``.

    Returns
    -------
    Expr

    Raises
    ------
    ExpressionError
        For anything outside the grammar; the message names the problem and its character
        position (also in ``.position``, 0-based).
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, not {type(text).__name__}")
    if len(text) > limits.value("expression_chars"):
        raise ExpressionError(limits.exceeded("expression_chars", "the length of the "
                                              "expression", len(text)), text=text,
                              hint="write a long formula in parts, as parameters that refer "
                                   "to each other; " + limits.how_to_raise("expression_chars"))
    parser = _Parser(text)
    root = parser.expr()
    if parser.kind == ")":
        raise _error("unbalanced parentheses: ')' has no matching '('", text, parser.pos)
    if parser.kind != "end":
        raise _error(f"unexpected {parser.value!r}", text, parser.pos)
    return Expr(text, frozenset(parser.names), _postfix(root))
