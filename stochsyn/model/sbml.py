"""SBML import (:func:`load_sbml`) and export (:func:`write_sbml`).

Import reads SBML Level 2 and 3 with python-libsbml (the optional extra ``stochsyn[sbml]``)
and builds the plain dict of a model file (``docs/model-format.md``), which then goes
through :meth:`stochsyn.Model.from_dict` like a TOML file. Nothing in an SBML file is ever
executed: MathML is evaluated by the small walker in this module, which knows numbers,
names, ``+ - * /``, powers and unary minus, and refuses everything else by name.

What the stochastic engine can run exactly is a set of mass-action reactions with constant
stochastic constants, timed changes of counts and rates, and linear observables. Every
kinetic law is therefore *recognised* numerically as mass action: it is evaluated at many
integer states and must equal ``c · Π_s C(x_s, ν_s)`` (binomial, DSMTS convention) at all
of them, or ``k · Π_s x_s^ν_s`` (the deterministic spelling, converted with ``c = k·Π ν!``
and a warning). Whatever cannot be run exactly (other rate laws, state-triggered events,
delays, rate and algebraic rules, ...) is refused with an error that names the element and
says why; a model is never silently changed into a different one.

Export writes SBML Level 3 Version 2 with units, in the stochastic convention: each
reaction's kinetic law is ``c_<id> · Π C(x, ν)`` written out (``c * P * (P - 1) / 2``),
counts in ``item``. What SBML core cannot express (agent types and their sites, ring
neighbour conditions, event logging) goes into annotations in the namespace
:data:`STOCHSYN_NS`, as plain XML data; on import they are restored when present, while
species, stoichiometry, rates and events are always read from SBML core.
"""

from __future__ import annotations

import itertools
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from xml.sax.saxutils import escape, quoteattr

from .errors import ModelError
from .rules import is_name, suggestion
from .units import AVOGADRO, MAX_COUNT

__all__ = ["STOCHSYN_NS", "load_sbml", "write_sbml", "sbml_id"]

#: XML namespace of the stochsyn annotations (agent types, neighbours, logging).
STOCHSYN_NS = "https://stochsyn.invalid/sbml/1"
_PREFIX = "stochsyn"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_INSTALL_HINT = "install it with: pip install 'stochsyn[sbml]'"

#: Relative tolerance of the mass-action recognition (a law must match at every test state).
FIT_RTOL = 1e-9
#: Relative tolerance for an initial amount or an event value to count as whole molecules.
COUNT_RTOL = 1e-6
#: Orders tried for a species that a kinetic law depends on but that is not a reactant
#: (a modifier or boundary species acting as a catalyst); 0 means "no real dependence".
_CATALYST_ORDERS = (0, 1, 2, 3)
_MAX_ORDER_COMBINATIONS = 4096


def _import_libsbml(source: str):
    try:
        import libsbml
    except ImportError:
        raise ModelError("SBML support needs python-libsbml, which is not installed",
                         source=source, hint=_INSTALL_HINT) from None
    return libsbml


# =========================================================================== MathML


class _MathError(Exception):
    """Unsupported or invalid math; the caller adds where it is."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


_ARITHMETIC_HINT = ("SBML math in stochsyn may use only numbers, names, + - * /, powers and "
                    "unary minus")


def _convert_math(node, libsbml) -> tuple:
    """Turn a libsbml ASTNode into a tuple tree, refusing every unsupported element.

    Nodes: ``("num", value)``, ``("name", id)``, ``("time",)``, ``("+", [..])``,
    ``("*", [..])``, ``("-", [a, b])``, ``("neg", [a])``, ``("/", [a, b])``,
    ``("^", [a, b])``.
    """
    L = libsbml
    if node is None:
        raise _MathError("the math is missing")
    kind = node.getType()
    n = node.getNumChildren()

    def children():
        return [_convert_math(node.getChild(i), L) for i in range(n)]

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


# =========================================================================== ids


def sbml_id(text: str) -> str:
    """A valid SBML SId made from a stochsyn label.

    ``AMPAR(loc=endo,s831=u,s845=u)`` becomes ``AMPAR__loc_endo__s831_u__s845_u``; any
    other character outside ``[A-Za-z0-9_]`` becomes ``_``.
    """
    text = str(text).replace("(", "__").replace(")", "").replace(",", "__").replace("=", "_")
    text = re.sub(r"[^A-Za-z0-9_]", "_", text.replace(" ", ""))
    if not text or not (text[0].isalpha() or text[0] == "_"):
        text = "_" + text
    return text


class _Ids:
    """Allocates unique SIds (one namespace for the whole SBML model)."""

    def __init__(self):
        self.used: set[str] = set()

    def new(self, wanted: str) -> str:
        base = sbml_id(wanted)
        name, k = base, 2
        while name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.used.add(name)
        return name


# =========================================================================== import


@dataclass
class _Species:
    sid: str
    element: Any
    compartment: str
    only_substance: bool        # hasOnlySubstanceUnits
    fixed: bool                 # boundaryCondition or constant: reactions never change it
    constant: bool
    molecules_per_unit: float   # molecules per amount unit of the species
    conversion: float           # SBML L3 conversion factor (1 if none)


@dataclass
class _Direction:
    name: str                   # reaction name in the model dict
    reaction: str               # SBML reaction id
    orders: dict[str, int]      # propensity orders (reactants and catalysts)
    change: dict[str, int]      # net change of each species per firing
    c: float


@dataclass
class _Fit:
    """How a kinetic law was recognised, so it can be refitted with other parameters."""

    reaction: str
    where: str
    orders: list[dict[str, int]]       # one per term (1 forward, or forward and reverse)
    binomial: bool
    names: list[str]                   # direction names
    change: dict[str, int]
    law: Callable[[dict, dict], float]  # (state, parameters) -> propensity (1/s)
    species: list[str]                 # species the law depends on
    parameters: set[str]               # parameters the law depends on (through rules too)
    formula: str


class _Reader:
    """Reads one SBML file into a model dict (see :func:`load_sbml`)."""

    def __init__(self, path: Path, libsbml):
        self.path = path
        self.source = str(path)
        self.L = libsbml

    # -- helpers -------------------------------------------------------------------------
    def error(self, message, where=None, hint=None) -> ModelError:
        return ModelError(message, source=self.source, where=where, hint=hint)

    def where(self, element, detail: str | None = None) -> str:
        """``reaction 'R1' (line 12), kinetic law``."""
        L = self.L
        code = element.getTypeCode()
        names = {L.SBML_SPECIES: "species", L.SBML_REACTION: "reaction",
                 L.SBML_COMPARTMENT: "compartment", L.SBML_PARAMETER: "parameter",
                 L.SBML_EVENT: "event", L.SBML_MODEL: "model",
                 L.SBML_LOCAL_PARAMETER: "local parameter",
                 L.SBML_SPECIES_REFERENCE: "species reference",
                 L.SBML_MODIFIER_SPECIES_REFERENCE: "modifier",
                 L.SBML_UNIT_DEFINITION: "unit definition",
                 L.SBML_FUNCTION_DEFINITION: "function definition",
                 L.SBML_INITIAL_ASSIGNMENT: "initial assignment",
                 L.SBML_CONSTRAINT: "constraint"}
        if code == L.SBML_ASSIGNMENT_RULE:
            text = f"assignment rule for '{element.getVariable()}'"
        elif code == L.SBML_RATE_RULE:
            text = f"rate rule for '{element.getVariable()}'"
        elif code == L.SBML_ALGEBRAIC_RULE:
            text = "algebraic rule"
        elif code == L.SBML_EVENT_ASSIGNMENT:
            event = element.getParentSBMLObject().getParentSBMLObject()
            text = (f"event '{event.getId() if event else '?'}', assignment to "
                    f"'{element.getVariable()}'")
        else:
            kind = names.get(code, element.getElementName())
            ident = element.getId() if element.isSetId() else ""
            if not ident and code == L.SBML_INITIAL_ASSIGNMENT:
                ident = element.getSymbol()
            text = f"{kind} '{ident}'" if ident else kind
        line = element.getLine()
        if line:
            text += f" (line {line})"
        if detail:
            text += f", {detail}"
        return text

    # -- reading -------------------------------------------------------------------------
    def read(self) -> dict:
        L = self.L
        if not self.path.is_file():
            raise self.error(f"no such model file: {self.path}")
        try:
            doc = L.readSBMLFromFile(str(self.path))
        except Exception as exc:  # noqa: BLE001 - libsbml internals must not reach the user
            raise self.error(f"libsbml cannot read the file ({type(exc).__name__}: {exc})"
                             ) from None
        self.doc = doc
        self.check_read_errors(doc)
        model = doc.getModel()
        if model is None:
            raise self.error("the file has no <model> element",
                             hint="an SBML file needs <sbml><model>...</model></sbml>")
        self.check_packages(doc)
        self.convert(doc)
        self.model = doc.getModel()
        self.level = doc.getLevel()
        return self.build()

    def check_read_errors(self, doc):
        L = self.L
        errors = [doc.getError(i) for i in range(doc.getNumErrors())
                  if doc.getError(i).getSeverity() >= L.LIBSBML_SEV_ERROR]
        if not errors:
            return
        first = errors[0]
        message = " ".join(first.getMessage().split())
        if len(message) > 400:
            message = message[:400] + "..."
        line = first.getLine()
        where = f"line {line}" if line else None
        element = self.element_at_line(doc, line) if line else None
        if element:
            where = f"{where}, in {element}"
        more = f" ({len(errors) - 1} more error(s) follow)" if len(errors) > 1 else ""
        raise self.error(f"not valid SBML (libsbml error {first.getErrorId()}): "
                         f"{message}{more}", where=where,
                         hint="fix the element at that line; libsbml's validator (or the "
                              "online SBML validator) lists all problems")

    def element_at_line(self, doc, line) -> str | None:
        """The innermost element with an id that starts at or before ``line``."""
        best, best_line = None, -1
        try:
            elements = doc.getListOfAllElements()
            for k in range(elements.getSize()):
                element = elements.get(k)
                start = element.getLine()
                if best_line < start <= line:
                    best, best_line = element, start
        except Exception:  # noqa: BLE001 - locating is a courtesy; never fail on it
            return None
        while best is not None and not (best.isSetId() and best.getId()):
            best = best.getParentSBMLObject()
        if best is None:
            return None
        return f"{best.getElementName()} '{best.getId()}'"

    def check_packages(self, doc):
        # Packages exist in Level 3 only. Only those whose namespace the file declares
        # count: libsbml also attaches internal plugins to documents (e.g.
        # 'l3v2extendedmath', in the core namespace, to every L3V2 document).
        if doc.getLevel() < 3:
            return
        namespaces = doc.getNamespaces()
        declared = {namespaces.getURI(i) for i in range(namespaces.getLength())}
        core = doc.getSBMLNamespaces().getURI()
        for i in range(doc.getNumPlugins()):
            plugin = doc.getPlugin(i)
            name = plugin.getPackageName()
            if plugin.getURI() == core or plugin.getURI() not in declared:
                continue
            if name and doc.getPackageRequired(name):
                raise self.error(f"the model uses the SBML Level 3 package '{name}' "
                                 "(required = true), which stochsyn does not read",
                                 where="<sbml>", hint="flatten the model to SBML core "
                                 "(e.g. with libsbml's converters) before importing it")

    def convert(self, doc):
        L = self.L
        model = doc.getModel()
        if model.getNumFunctionDefinitions():
            props = L.ConversionProperties()
            props.addOption("expandFunctionDefinitions", True)
            if doc.convert(props) != L.LIBSBML_OPERATION_SUCCESS:
                fd = model.getFunctionDefinition(0)
                raise self.error("libsbml could not expand the function definitions into "
                                 "the math that uses them", where=self.where(fd),
                                 hint="write the function bodies in place of the calls")
        model = doc.getModel()
        if model.getNumInitialAssignments():
            props = L.ConversionProperties()
            props.addOption("expandInitialAssignments", True)
            status = doc.convert(props)
            model = doc.getModel()
            if status != L.LIBSBML_OPERATION_SUCCESS or model.getNumInitialAssignments():
                ia = model.getInitialAssignment(0) if model.getNumInitialAssignments() else None
                raise self.error("libsbml could not evaluate an initial assignment",
                                 where=self.where(ia) if ia else None,
                                 hint="give the variable a plain initial value instead of "
                                      "an initialAssignment")

    # -- units ---------------------------------------------------------------------------
    def unit(self, unit_id: str, where: str) -> tuple[float, dict[str, float]]:
        """(factor, dimensions) of a unit: factor in molecules, seconds and metres."""
        L = self.L
        model = self.model
        definition = model.getUnitDefinition(unit_id)
        if definition is not None:
            factor, dims = 1.0, {}
            for k in range(definition.getNumUnits()):
                u = definition.getUnit(k)
                kind_factor, kind_dims = self.unit_kind(L.UnitKind_toString(u.getKind()),
                                                        where)
                exponent = u.getExponentAsDouble()
                factor *= (u.getMultiplier() * 10.0 ** u.getScale() * kind_factor) ** exponent
                for d, power in kind_dims.items():
                    dims[d] = dims.get(d, 0.0) + power * exponent
            return factor, {d: p for d, p in dims.items() if p != 0}
        if self.level < 3 and unit_id in ("substance", "time", "volume", "area", "length"):
            # SBML Level 2 built-in units, when not redefined by a unitDefinition
            return {"substance": (AVOGADRO, {"substance": 1.0}),
                    "time": (1.0, {"time": 1.0}),
                    "volume": (1e-3, {"length": 3.0}),
                    "area": (1.0, {"length": 2.0}),
                    "length": (1.0, {"length": 1.0})}[unit_id]
        if L.UnitKind_forName(unit_id) != L.UNIT_KIND_INVALID:
            return self.unit_kind(unit_id, where)
        raise self.error(f"unknown unit '{unit_id}'", where=where,
                         hint="define it in listOfUnitDefinitions or use an SBML base unit")

    def unit_kind(self, kind: str, where: str) -> tuple[float, dict[str, float]]:
        table = {"mole": (AVOGADRO, {"substance": 1.0}), "item": (1.0, {"substance": 1.0}),
                 "avogadro": (AVOGADRO, {}), "dimensionless": (1.0, {}),
                 "second": (1.0, {"time": 1.0}), "hertz": (1.0, {"time": -1.0}),
                 "litre": (1e-3, {"length": 3.0}), "liter": (1e-3, {"length": 3.0}),
                 "metre": (1.0, {"length": 1.0}), "meter": (1.0, {"length": 1.0}),
                 "gram": (1e-3, {"mass": 1.0}), "kilogram": (1.0, {"mass": 1.0})}
        return table.get(kind, (1.0, {kind: 1.0}))

    def substance_factor(self, unit_id: str, where: str) -> float:
        """Molecules per unit of amount: item/dimensionless/unspecified 1, mole N_A."""
        if not unit_id:
            return 1.0
        factor, dims = self.unit(unit_id, where)
        if dims and dims != {"substance": 1.0}:
            raise self.error(f"the substance unit '{unit_id}' is not an amount of substance "
                             f"(dimensions {dims})", where=where,
                             hint="use item (molecules), mole or a scaled mole; mass units "
                                  "cannot be turned into molecule counts")
        return factor

    def seconds_per_time_unit(self) -> float:
        model = self.model
        if self.level >= 3:
            unit_id = model.getTimeUnits() if model.isSetTimeUnits() else ""
        else:
            unit_id = "time"
        if not unit_id:
            return 1.0
        factor, dims = self.unit(unit_id, self.where(model, "timeUnits"))
        if dims != {"time": 1.0}:
            raise self.error(f"the time unit '{unit_id}' is not a time", where=self.where(
                model, "timeUnits"), hint="use second, or a unitDefinition of scaled seconds")
        return factor

    def model_substance_unit(self) -> str:
        if self.level >= 3:
            return self.model.getSubstanceUnits() if self.model.isSetSubstanceUnits() else ""
        return "substance"

    def extent_factor(self, kinetic_law=None) -> float:
        """Molecules per unit of reaction extent (the kinetic law is extent per time)."""
        model = self.model
        where = self.where(model, "extentUnits")
        if self.level >= 3:
            if model.isSetExtentUnits():
                return self.substance_factor(model.getExtentUnits(), where)
            return self.substance_factor(self.model_substance_unit(), where)
        if kinetic_law is not None and kinetic_law.isSetSubstanceUnits():
            return self.substance_factor(kinetic_law.getSubstanceUnits(),
                                         self.where(kinetic_law))
        return self.substance_factor("substance", where)

    # -- build ---------------------------------------------------------------------------
    def build(self) -> dict:
        model = self.model
        self.seconds_per_time = self.seconds_per_time_unit()
        self.read_rules()
        self.read_compartments()
        self.read_parameters()
        self.read_species()
        self.ids = ({s for s in self.species} | set(self.parameters) | set(self.compartments)
                    | {model.getReaction(k).getId() for k in range(model.getNumReactions())})
        self.stoichiometry_ids = set()
        for k in range(model.getNumReactions()):
            r = model.getReaction(k)
            for sr in itertools.chain(r.getListOfReactants(), r.getListOfProducts()):
                if sr.isSetId():
                    self.stoichiometry_ids.add(sr.getId())
        self.read_annotations()
        self.event_targets = self.collect_event_targets()
        self.check_rule_targets()
        counts = self.initial_counts()
        fits = [self.read_reaction(model.getReaction(k)) for k in range(model.getNumReactions())]
        directions = []
        for fit in fits:
            directions.extend(self.solve(fit, self.parameters, where=fit.where))
        observables = self.observables()
        interventions = self.events(fits)
        for k in range(model.getNumConstraints()):
            warnings.warn(f"{self.source}: {self.where(model.getConstraint(k))} is ignored "
                          "(constraints only check a simulation, they do not change it)",
                          UserWarning, stacklevel=4)
        return self.assemble(counts, directions, observables, interventions)

    def read_rules(self):
        model = self.model
        self.rules: dict[str, tuple] = {}
        self.rule_elements = {}
        for k in range(model.getNumRules()):
            rule = model.getRule(k)
            if rule.isRate():
                raise self.error(
                    f"rate rules are not supported: '{rule.getVariable()}' would change "
                    "continuously (d/dt given by a formula), which is not a jump process",
                    where=self.where(rule),
                    hint="write the change as reactions (a rate rule d X/dt = k is the "
                         "reaction '-> X' with rate k)")
            if rule.isAlgebraic():
                raise self.error(
                    "algebraic rules are not supported: they constrain variables to solve "
                    "an equation at every instant", where=self.where(rule),
                    hint="replace it by an assignment rule for one variable, or remove it")
            expr = self.math(rule.getMath(), self.where(rule))
            self.rules[rule.getVariable()] = expr
            self.rule_elements[rule.getVariable()] = rule

    def math(self, node, where: str) -> tuple:
        try:
            return _convert_math(node, self.L)
        except _MathError as exc:
            raise self.error(f"unsupported math: {exc.message}", where=where,
                             hint=exc.hint) from None

    def read_compartments(self):
        model = self.model
        self.compartments: dict[str, float | None] = {}
        self.compartment_elements = {}
        for k in range(model.getNumCompartments()):
            c = model.getCompartment(k)
            cid = c.getId()
            size = c.getSize() if c.isSetSize() else None
            if cid in self.rules:
                raise self.error(f"compartment '{cid}' is given by an assignment rule; "
                                 "stochsyn needs constant compartment sizes",
                                 where=self.where(self.rule_elements[cid]),
                                 hint="give the compartment a constant size")
            if size is not None and not (math.isfinite(size) and size > 0):
                raise self.error(f"compartment '{cid}' has size {size}; it must be finite "
                                 "and > 0", where=self.where(c))
            self.compartments[cid] = size
            self.compartment_elements[cid] = c

    def compartment_size(self, cid: str, why: str, where: str) -> float:
        size = self.compartments.get(cid)
        if size is None:
            element = self.compartment_elements.get(cid)
            raise self.error(f"compartment '{cid}' has no size, which is needed because "
                             f"{why}", where=where,
                             hint=f"give compartment '{cid}' a size attribute"
                             + (f" ({self.where(element)})" if element is not None else ""))
        return size

    def read_parameters(self):
        model = self.model
        self.parameters: dict[str, float | None] = {}
        self.parameter_elements = {}
        for k in range(model.getNumParameters()):
            p = model.getParameter(k)
            pid = p.getId()
            value = p.getValue() if p.isSetValue() else None
            if value is not None and not math.isfinite(value):
                raise self.error(f"parameter '{pid}' has the value {value}",
                                 where=self.where(p), hint="give it a finite value")
            self.parameters[pid] = value
            self.parameter_elements[pid] = p

    def read_species(self):
        model = self.model
        self.species: dict[str, _Species] = {}
        default_unit = self.model_substance_unit()
        model_conversion = (model.getConversionFactor()
                            if self.level >= 3 and model.isSetConversionFactor() else "")
        for k in range(model.getNumSpecies()):
            s = model.getSpecies(k)
            sid = s.getId()
            where = self.where(s)
            if s.getCompartment() not in self.compartments:
                raise self.error(f"species '{sid}' is in compartment '{s.getCompartment()}', "
                                 "which the model does not define", where=where,
                                 hint="declare the compartment in listOfCompartments")
            unit_id = s.getSubstanceUnits() if s.isSetSubstanceUnits() else default_unit
            factor = self.substance_factor(unit_id, where)
            conversion_id = (s.getConversionFactor()
                             if self.level >= 3 and s.isSetConversionFactor()
                             else model_conversion)
            conversion = 1.0
            if conversion_id:
                value = self.parameters.get(conversion_id)
                element = self.parameter_elements.get(conversion_id)
                if value is None or element is None or not element.getConstant():
                    raise self.error(f"the conversion factor '{conversion_id}' of species "
                                     f"'{sid}' must be a constant parameter with a value",
                                     where=where)
                conversion = value
            only_substance = bool(s.getHasOnlySubstanceUnits())
            if not only_substance:
                c = self.compartment_elements[s.getCompartment()]
                dims = (c.getSpatialDimensionsAsDouble() if self.level >= 3
                        else c.getSpatialDimensions())
                if dims == 0:
                    raise self.error(f"species '{sid}' has hasOnlySubstanceUnits=false in "
                                     f"the 0-dimensional compartment '{c.getId()}', so its "
                                     "concentration is undefined", where=where,
                                     hint="set hasOnlySubstanceUnits=\"true\"")
            self.species[sid] = _Species(
                sid=sid, element=s, compartment=s.getCompartment(),
                only_substance=only_substance,
                fixed=bool(s.getBoundaryCondition() or s.getConstant()),
                constant=bool(s.getConstant()), molecules_per_unit=factor,
                conversion=conversion)

    def molecules_per_value(self, sid: str, where: str) -> float:
        """Molecules per unit of the species' symbol in math (amount or concentration)."""
        cache = self.__dict__.setdefault("_scale", {})
        if sid not in cache:
            cache[sid] = self._molecules_per_value(sid, where)
        return cache[sid]

    def _molecules_per_value(self, sid: str, where: str) -> float:
        sp = self.species[sid]
        if sp.only_substance:
            return sp.molecules_per_unit
        size = self.compartment_size(
            sp.compartment, f"species '{sid}' has hasOnlySubstanceUnits=false, so its symbol "
            "in math is a concentration", where)
        return sp.molecules_per_unit * size

    def read_annotations(self):
        """Agent types, agent states, neighbours and logging from the stochsyn annotation."""
        self.agent_types: dict[str, dict] = {}
        self.agent_state: dict[str, tuple[str, dict[str, str]]] = {}
        self.reaction_notes: dict[str, dict] = {}
        self.volume_unknown = set()
        root = self.stochsyn_element(self.model, "model")
        if root is not None:
            for node in self.child_elements(root, "agentType"):
                name = node.getAttrValue("name")
                where = self.where(self.model, "stochsyn annotation")
                if not is_name(name) or name in self.agent_types:
                    raise self.error(f"the stochsyn annotation has an invalid or repeated "
                                     f"agent type name '{name}'", where=where)
                sites = {}
                for site in self.child_elements(node, "site"):
                    values = site.getAttrValue("values").split()
                    sites[site.getAttrValue("name")] = values
                body: dict[str, Any] = {"sites": sites}
                for attribute, key in (("ringSize", "ring_size"), ("capacity", "capacity")):
                    text = node.getAttrValue(attribute)
                    if text:
                        try:
                            body[key] = int(text)
                        except ValueError:
                            raise self.error(f"the stochsyn annotation of agent type "
                                             f"'{name}' has {attribute}='{text}', not an "
                                             "integer", where=where) from None
                self.agent_types[name] = body
        for sid, sp in self.species.items():
            node = self.stochsyn_element(sp.element, "agentState")
            if node is None:
                continue
            type_name = node.getAttrValue("type")
            where = self.where(sp.element, "stochsyn annotation")
            if type_name not in self.agent_types:
                raise self.error(f"species '{sid}' is annotated as a state of agent type "
                                 f"'{type_name}', which the model annotation does not define",
                                 where=where, hint="remove the stochsyn annotation of the "
                                 "species to read it as a plain species")
            sites = {site.getAttrValue("name"): site.getAttrValue("value")
                     for site in self.child_elements(node, "site")}
            declared = self.agent_types[type_name]["sites"]
            if set(sites) != set(declared) or any(sites[k] not in declared[k] for k in sites):
                raise self.error(f"the stochsyn annotation of species '{sid}' does not name "
                                 f"one value for every site of '{type_name}'", where=where)
            self.agent_state[sid] = (type_name, sites)
        for k in range(self.model.getNumReactions()):
            r = self.model.getReaction(k)
            node = self.stochsyn_element(r, "reaction")
            if node is None:
                continue
            note: dict[str, Any] = {"log": node.getAttrValue("log") == "true"}
            neighbours = node.getAttrValue("neighbour").split()
            for neighbour in neighbours:   # one or more states (a set of them, written
                if neighbour not in self.agent_state:     # separated by spaces)
                    raise self.error(f"the stochsyn annotation of reaction '{r.getId()}' "
                                     f"names the neighbour state '{neighbour}', which is not "
                                     "an agent-state species", where=self.where(r))
            if neighbours:
                note["neighbour"] = neighbours
            moves = [(m.getAttrValue("type"), m.getAttrValue("from"), m.getAttrValue("to"))
                     for m in self.child_elements(node, "move")]
            if moves:
                note["moves"] = moves
            self.reaction_notes[r.getId()] = note
        for cid, c in self.compartment_elements.items():
            node = self.stochsyn_element(c, "compartment")
            if node is not None and node.getAttrValue("volumeUnknown") == "true":
                self.volume_unknown.add(cid)

    def stochsyn_element(self, element, name):
        if not element.isSetAnnotation():
            return None
        annotation = element.getAnnotation()
        for k in range(annotation.getNumChildren()):
            child = annotation.getChild(k)
            if child.isElement() and child.getURI() == STOCHSYN_NS and child.getName() == name:
                return child
        return None

    @staticmethod
    def child_elements(node, name):
        return [node.getChild(k) for k in range(node.getNumChildren())
                if node.getChild(k).isElement() and node.getChild(k).getName() == name]

    def collect_event_targets(self) -> dict[str, str]:
        targets = {}
        for k in range(self.model.getNumEvents()):
            event = self.model.getEvent(k)
            for ea in event.getListOfEventAssignments():
                targets.setdefault(ea.getVariable(), self.where(ea))
        return targets

    def check_rule_targets(self):
        for var, rule in self.rule_elements.items():
            where = self.where(rule)
            if var in self.stoichiometry_ids:
                raise self.error(f"the stoichiometry '{var}' is given by an assignment rule; "
                                 "stochsyn needs constant whole-number stoichiometries",
                                 where=where)
            if var not in self.species and var not in self.parameters:
                raise self.error(f"the assignment rule sets '{var}', which is not a species "
                                 "or parameter of the model", where=where,
                                 hint=suggestion(var, list(self.species) + list(self.parameters)))

    # -- names and evaluation --------------------------------------------------------------
    def check_names(self, expr, where: str, local: dict[str, float] | None = None,
                    _visiting: tuple = ()) -> tuple[set[str], set[str]]:
        """Check every name of ``expr`` (through assignment rules) and return the species
        and parameters it depends on."""
        local = local or {}
        species, parameters = set(), set()
        for name in sorted(_names(expr)):
            if name in local:
                continue
            if name in self.rules:
                if name in _visiting:
                    raise self.error(f"assignment rules refer to each other in a cycle: "
                                     f"{' -> '.join(_visiting + (name,))}", where=where)
                rule_where = self.where(self.rule_elements[name])
                rule_expr = self.rules[name]
                if _uses_time(rule_expr):
                    raise self.error(f"the value of '{name}' depends on time, so the "
                                     "propensities would change between events",
                                     where=rule_where, hint="rates are constant between "
                                     "events in stochsyn; use timed events for switches")
                s, p = self.check_names(rule_expr, rule_where, None, _visiting + (name,))
                species |= s
                parameters |= p
                if name in self.parameters:
                    parameters.add(name)
                continue
            if name in self.species:
                self.molecules_per_value(name, where)
                species.add(name)
            elif name in self.parameters:
                if self.parameters[name] is None:
                    raise self.error(f"parameter '{name}' has no value",
                                     where=where, hint=f"give parameter '{name}' a value "
                                     f"({self.where(self.parameter_elements[name])})")
                parameters.add(name)
            elif name in self.compartments:
                self.compartment_size(name, f"'{name}' is used in math", where)
            elif name in self.stoichiometry_ids:
                raise self.error(f"the math uses the stoichiometry '{name}' of a species "
                                 "reference as a value, which stochsyn does not support",
                                 where=where, hint="use a parameter instead")
            elif name in self.ids:
                raise self.error(f"the math uses '{name}', the rate of a reaction, which "
                                 "stochsyn does not support", where=where,
                                 hint="write the reaction's rate law in place of its id")
            else:
                candidates = list(self.species) + list(self.parameters) + list(
                    self.compartments) + list(local)
                raise self.error(f"the math uses '{name}', which is not a species, "
                                 "parameter, compartment or local parameter of the model",
                                 where=where, hint=suggestion(name, candidates)
                                 or "declare it, or correct the name")
        return species, parameters

    def lookup(self, state: dict, parameters: dict, local: dict | None = None):
        local = local or {}

        def value(name):
            if name in local:
                return local[name]
            if name in self.species and name not in self.rules:
                return state[name] / self.molecules_per_value(name, "")
            if name in self.rules:
                return _evaluate(self.rules[name], value)
            if name in parameters:
                return parameters[name]
            return self.compartments[name]
        return value

    # -- species ---------------------------------------------------------------------------
    def initial_counts(self) -> dict[str, int]:
        counts = {}
        for sid, sp in self.species.items():
            if sid in self.rules:
                continue   # an observable, not a species
            s = sp.element
            where = self.where(s)
            if s.isSetInitialAmount():
                amount = s.getInitialAmount()
                what = f"initialAmount {amount:g}"
            elif s.isSetInitialConcentration():
                concentration = s.getInitialConcentration()
                size = self.compartment_size(
                    sp.compartment, f"species '{sid}' is given as initialConcentration", where)
                amount = concentration * size
                what = (f"initialConcentration {concentration:g} × size {size:g} of "
                        f"compartment '{sp.compartment}'")
            else:
                raise self.error(f"species '{sid}' has no initial amount or concentration",
                                 where=where, hint="set initialAmount (molecules) on the "
                                 "species")
            counts[sid] = self.whole_count(amount * sp.molecules_per_unit, sid, what, where)
        return counts

    def whole_count(self, value: float, sid: str, what: str, where: str) -> int:
        if not math.isfinite(value):
            raise self.error(f"species '{sid}': {what} is not a finite number of molecules",
                             where=where)
        nearest = round(value)
        if abs(value - nearest) > COUNT_RTOL * max(abs(value), 1.0):
            raise self.error(f"species '{sid}': {what} gives {value:.10g} molecules, not a "
                             "whole number", where=where,
                             hint="stochastic simulation counts whole molecules; give the "
                                  "amount in items (molecules), or a concentration and "
                                  "compartment size whose product is a whole number")
        if nearest < 0:
            raise self.error(f"species '{sid}': {what} gives {nearest} molecules; counts must "
                             "be >= 0", where=where)
        if nearest > MAX_COUNT:
            raise self.error(f"species '{sid}': {what} gives {value:.3g} molecules, more than "
                             f"the engine can hold (2^53)", where=where,
                             hint="check the substance units (mole means 6.022e23 molecules)")
        return int(nearest)

    # -- reactions -------------------------------------------------------------------------
    def read_reaction(self, r) -> _Fit:
        L = self.L
        rid = r.getId()
        where = self.where(r)
        if r.isSetFast() and r.getFast():
            raise self.error(f"reaction '{rid}' is marked fast=\"true\" (instantaneous "
                             "equilibrium), which the exact SSA cannot simulate", where=where,
                             hint="set fast=\"false\" and give it its real rate law")
        law_element = r.getKineticLaw()
        if law_element is None or not law_element.isSetMath():
            raise self.error(f"reaction '{rid}' has no kinetic law", where=where,
                             hint="give it a mass-action kineticLaw such as k * A * B")
        law_where = self.where(r, "kinetic law")
        local = {}
        for k in range(law_element.getNumParameters()):
            p = law_element.getParameter(k)
            if not p.isSetValue() or not math.isfinite(p.getValue()):
                raise self.error(f"local parameter '{p.getId()}' of reaction '{rid}' has no "
                                 "finite value", where=law_where)
            local[p.getId()] = p.getValue()
        reactants = self.stoichiometry(r, r.getListOfReactants(), "reactant")
        products = self.stoichiometry(r, r.getListOfProducts(), "product")
        for k in range(r.getNumModifiers()):
            m = r.getModifier(k)
            if m.getSpecies() not in self.species:
                raise self.error(f"reaction '{rid}' names the modifier '{m.getSpecies()}', "
                                 "which is not a species of the model", where=where,
                                 hint=suggestion(m.getSpecies(), self.species))
        expr = self.math(law_element.getMath(), law_where)
        formula = _formula(law_element.getMath(), L)
        if _uses_time(expr):
            raise self.error(f"the kinetic law '{formula}' depends on time, so the "
                             "propensity would change between events", where=law_where,
                             hint="rates are constant between events in stochsyn; use timed "
                                  "events to switch rates")
        depends, parameters = self.check_names(expr, law_where, local)
        molecules_per_extent = self.extent_factor(law_element)
        seconds_per_time = self.seconds_per_time
        if self.level < 3 and law_element.isSetTimeUnits():
            factor, dims = self.unit(law_element.getTimeUnits(), law_where)
            if dims != {"time": 1.0}:
                raise self.error(f"the time unit '{law_element.getTimeUnits()}' is not a "
                                 "time", where=law_where)
            seconds_per_time = factor

        # Net change per firing, in molecules (boundary and constant species never change).
        change: dict[str, int] = {}
        for side, sign in ((reactants, -1), (products, +1)):
            for sid, nu in side.items():
                sp = self.species[sid]
                if sp.fixed:
                    continue
                if sid in self.rules:
                    raise self.error(f"species '{sid}' is set by an assignment rule, so a "
                                     f"reaction cannot change it", where=where,
                                     hint="make it a boundary species, or remove the rule")
                delta = sign * nu * sp.conversion * sp.molecules_per_unit / molecules_per_extent
                if abs(delta - round(delta)) > 1e-9 * max(abs(delta), 1.0):
                    raise self.error(
                        f"one firing of reaction '{rid}' changes species '{sid}' by "
                        f"{delta:.10g} molecules, not a whole number (stoichiometry × "
                        "conversion factor × units of the species / units of the extent)",
                        where=where, hint="use the same substance units for the species "
                        "and the reaction extent, or a conversion factor that gives whole "
                        "molecules")
                change[sid] = change.get(sid, 0) + int(round(delta))
        change = {s: d for s, d in change.items() if d != 0}

        def law(state, params):
            value = _evaluate(expr, self.lookup(state, params, local))
            # extent per model time unit -> firings (molecules of extent) per second
            return value * molecules_per_extent / seconds_per_time

        forward = {s: n for s, n in reactants.items() if not self.species[s].fixed}
        backward = {s: n for s, n in products.items() if not self.species[s].fixed}
        fit = self.recognise(rid, where, law_where, formula, law, forward, backward, reactants,
                             products, depends, r.getReversible())
        fit.change = change
        fit.parameters = parameters
        return fit

    def stoichiometry(self, r, references, role) -> dict[str, int]:
        rid = r.getId()
        out: dict[str, int] = {}
        for sr in references:
            sid = sr.getSpecies()
            where = self.where(r, f"{role} '{sid}'")
            if sid not in self.species:
                raise self.error(f"reaction '{rid}' names the {role} '{sid}', which is not a "
                                 "species of the model", where=where,
                                 hint=suggestion(sid, self.species) or "declare the species "
                                 "in listOfSpecies")
            if self.level < 3 and sr.isSetStoichiometryMath():
                raise self.error(f"the stoichiometry of '{sid}' in reaction '{rid}' is "
                                 "given by math (stoichiometryMath); stochsyn needs constant "
                                 "whole numbers", where=where)
            if self.level >= 3:
                if sr.isSetId() and (sr.getId() in self.event_targets
                                     or sr.getId() in self.rules):
                    raise self.error(f"the stoichiometry of '{sid}' in reaction '{rid}' is "
                                     "changed by a rule or event; stochsyn needs constant "
                                     "whole numbers", where=where)
                if not sr.isSetStoichiometry():
                    raise self.error(f"the stoichiometry of '{sid}' in reaction '{rid}' is "
                                     "not set", where=where,
                                     hint="set stoichiometry=\"1\" (or another whole number)")
            nu = sr.getStoichiometry()
            if not math.isfinite(nu) or nu < 0 or nu != int(nu):
                raise self.error(f"the stoichiometry {nu:g} of '{sid}' in reaction '{rid}' "
                                 "is not a whole number", where=where,
                                 hint="stochastic reactions change whole molecules; scale "
                                      "the reaction so that all stoichiometries are integers")
            if nu > 0:
                out[sid] = out.get(sid, 0) + int(nu)
        return out

    def recognise(self, rid, where, law_where, formula, law, forward, backward, reactants,
                  products, depends, reversible) -> _Fit:
        """Find propensity orders that make the law mass action (see module docstring)."""
        # Candidates: species the law depends on that are not changing reactants (boundary
        # reactants, modifiers, any other species) act as catalysts of some order.
        def candidates(fixed, side):
            options = {}
            for sid in sorted(depends - set(fixed)):
                preferred = [side[sid]] if sid in side else []
                options[sid] = list(dict.fromkeys(preferred + list(_CATALYST_ORDERS)))
            return options

        forms = []
        fwd_options = candidates(forward, reactants)
        for combination in _combinations(fwd_options):
            forms.append(([{**forward, **combination}], [rid]))
        if reversible:
            rev_options = candidates(backward, products)
            count = 0
            for fwd in _combinations(fwd_options):
                for rev in _combinations(rev_options):
                    count += 1
                    if count > _MAX_ORDER_COMBINATIONS:
                        break
                    forms.append(([{**forward, **fwd}, {**backward, **rev}],
                                  [f"{rid}_fwd", f"{rid}_rev"]))
        species = sorted(depends | set(forward) | set(backward))
        common = _common_states(species, _top_orders(species, [o for o, _ in forms]))
        params = self.parameters
        cache: dict[tuple, float] = {}

        def evaluate(states):
            out = []
            for state in states:
                key = tuple(state.values())
                if key not in cache:
                    try:
                        cache[key] = law(state, params)
                    except _MathError as exc:
                        raise self.error(f"the kinetic law '{formula}' cannot be evaluated: "
                                         f"{exc.message}", where=law_where,
                                         hint=exc.hint) from None
                out.append(cache[key])
            return out

        values = evaluate(common)
        bad = next((s for s, v in zip(common, values) if not math.isfinite(v)), None)
        if bad is not None:
            raise self.error(f"the kinetic law '{formula}' of reaction '{rid}' is not finite "
                             f"at {_show_state(bad)}, so it is not mass action",
                             where=law_where, hint="only mass-action laws "
                             "c · Π C(x, ν) can be simulated exactly")
        states = common
        for binomial in (True, False):
            for orders, names in forms:
                if not binomial and all(n <= 1 for o in orders for n in o.values()):
                    continue   # identical to the binomial form, already tried
                states = common + _minimal_states(species, orders)
                values = evaluate(states)
                coefficients = _fit_terms(states, values, orders, binomial)
                if coefficients is None:
                    continue
                # (a reversible reaction whose law is irreversible mass action fits one of
                # the one-term forms, tried first, and stays one reaction)
                fit = _Fit(reaction=rid, where=law_where, orders=orders, binomial=binomial,
                           names=names, change={}, law=law, species=species, parameters=set(),
                           formula=formula)
                if not binomial:
                    factorial = [math.prod(math.factorial(n) for n in o.values())
                                 for o in orders]
                    warnings.warn(
                        f"{self.source}: reaction '{rid}': the kinetic law '{formula}' is "
                        "deterministic mass action (k · Π x^ν); read as the stochastic "
                        f"constant c = k · Π ν! (× {', '.join(map(str, factorial))}), as "
                        "COPASI and GillesPy2 do", UserWarning, stacklevel=6)
                return fit
        raise self.not_mass_action(rid, law_where, formula, states, values, forward,
                                   depends, reactants, reversible)

    def not_mass_action(self, rid, where, formula, states, values, forward, depends,
                        reactants, reversible) -> ModelError:
        extra = sorted(depends - set(forward) - set(reactants))
        missing = sorted(set(forward) - depends)
        orders = " · ".join(f"C({s}, {n})" for s, n in sorted(forward.items())) or "1"
        if extra:
            why = (f"it depends on {', '.join(repr(s) for s in extra)}, which "
                   f"{'is not a reactant' if len(extra) == 1 else 'are not reactants'} of the "
                   "reaction, and no mass-action form c · Π C(x, ν) fits")
        elif missing:
            why = (f"it does not depend on the reactant(s) {', '.join(map(repr, missing))}, "
                   f"so it is not c · {orders}")
        else:
            why = f"it is not c · {orders} (nor k · Π x^ν)"
        if reversible:
            why += ", nor kf · (forward mass action) − kr · (reverse mass action)"
        sample = "; ".join(f"{_show_state(s)} → {v:.6g}" for s, v in
                           list(zip(states, values))[:3])
        return self.error(f"the kinetic law '{formula}' of reaction '{rid}' is not mass "
                          f"action: {why} (law values: {sample}, ...)", where=where,
                          hint="write the law as c * A * B (or c * A * (A - 1) / 2 for "
                               "2 A) with a constant c, and declare every species it uses as "
                               "a reactant: stochsyn runs only mass-action kinetics")

    def solve(self, fit: _Fit, params: dict, where: str) -> list[_Direction]:
        """Constants of a recognised law under the given parameter values."""
        states = (_common_states(fit.species, _top_orders(fit.species, [fit.orders]))
                  + _minimal_states(fit.species, fit.orders))
        try:
            values = [fit.law(state, params) for state in states]
        except _MathError as exc:
            raise self.error(f"the kinetic law '{fit.formula}' cannot be evaluated: "
                             f"{exc.message}", where=where) from None
        coefficients = (_fit_terms(states, values, fit.orders, fit.binomial)
                        if all(math.isfinite(v) for v in values) else None)
        if coefficients is None:
            raise self.error(f"with the parameter values set here, the kinetic law "
                             f"'{fit.formula}' of reaction '{fit.reaction}' is no longer of "
                             "the mass-action form it had initially", where=where,
                             hint="events may change the constant of a mass-action law, "
                                  "not its form")
        out = []
        for k, (orders, name, coefficient) in enumerate(zip(fit.orders, fit.names,
                                                            coefficients)):
            if not fit.binomial:
                coefficient *= math.prod(math.factorial(n) for n in orders.values())
            if coefficient < 0:
                direction = ("reverse part" if k else "forward part") if len(
                    fit.orders) == 2 else "law"
                raise self.error(f"the kinetic law '{fit.formula}' of reaction "
                                 f"'{fit.reaction}' has a negative rate constant "
                                 f"({coefficient:.6g}) in its {direction}", where=where,
                                 hint="rate constants must be >= 0; for a reverse reaction "
                                      "write kf * A - kr * B with kf, kr >= 0 and "
                                      "reversible=\"true\"")
            change = fit.change if k == 0 else {s: -d for s, d in fit.change.items()}
            out.append(_Direction(name=name, reaction=fit.reaction, orders=dict(orders),
                                  change=change, c=coefficient))
        return out

    # -- observables ---------------------------------------------------------------------
    def observables(self) -> dict[str, dict[str, float]]:
        law_names = set()
        for k in range(self.model.getNumReactions()):
            kl = self.model.getReaction(k).getKineticLaw()
            if kl is not None and kl.isSetMath():
                law_names |= _names(self.math(kl.getMath(), ""))
        out = {}
        for var, expr in self.rules.items():
            rule = self.rule_elements[var]
            where = self.where(rule)
            if _uses_time(expr):
                raise self.error(f"the assignment rule for '{var}' depends on time",
                                 where=where, hint="observables are weighted sums of "
                                 "counts")
            depends, parameters = self.check_names(expr, where)
            changed = sorted(p for p in parameters if p in self.event_targets)
            if changed:
                raise self.error(f"the assignment rule for '{var}' uses parameter "
                                 f"'{changed[0]}', which an event changes",
                                 where=where, hint="observables must be fixed weighted "
                                 "sums of species")
            if not depends:
                continue   # a constant: only used as a value in other math
            scale = (self.molecules_per_value(var, where) if var in self.species else 1.0)

            def value(state):
                return _evaluate(expr, self.lookup(state, self.parameters)) * scale
            species = sorted(depends)
            zero = {s: 0 for s in species}
            offset = value(zero)
            weights = {}
            for s in species:
                weights[s] = value({**zero, s: 1}) - offset
            linear = math.isfinite(offset) and all(math.isfinite(w) for w in weights.values())
            magnitude = max([abs(w) for w in weights.values()] + [0.0])
            if linear and abs(offset) > 1e-12 * max(magnitude, 1e-300):
                linear = False
            if linear:
                for state in _random_states(species, 5, seed=7):
                    got = value(state)
                    want = sum(weights[s] * state[s] for s in species)
                    scale_ = sum(abs(weights[s] * state[s]) for s in species)
                    if not (math.isfinite(got) and abs(got - want) <= 1e-9 * max(scale_,
                                                                                  1e-300)):
                        linear = False
                        break
            if not linear:
                if var in law_names or any(var in _names(e) for e in self.rules.values()):
                    warnings.warn(f"{self.source}: {where}: '{var}' is not a weighted sum of "
                                  "species, so it is not available as an observable (it is "
                                  "still used where the kinetic laws refer to it)",
                                  UserWarning, stacklevel=4)
                    continue
                raise self.error(f"the assignment rule for '{var}' is not a weighted sum of "
                                 "species (linear, no constant term), so it cannot be an "
                                 "observable", where=where,
                                 hint="observables are sums such as 2*X + Y; compute "
                                      "other quantities from the results")
            weights = {s: float(f"{w:.15g}") for s, w in weights.items() if w != 0}
            out[var] = weights
        return out

    # -- events --------------------------------------------------------------------------
    def events(self, fits: list[_Fit]) -> list[dict]:
        model = self.model
        timed = []
        for k in range(model.getNumEvents()):
            event = model.getEvent(k)
            time_s = self.event_time(event)
            if time_s is not None:
                timed.append((time_s, k, event))
        timed.sort(key=lambda item: (item[0], item[1]))
        self.check_simultaneous(timed)
        in_force = dict(self.parameters)
        interventions = []
        for time_s, _, event in timed:
            sets, adds, changed = {}, {}, {}
            for ea in event.getListOfEventAssignments():
                var = ea.getVariable()
                where = self.where(ea)
                expr = self.math(ea.getMath(), where)
                if _uses_time(expr):
                    raise self.error("the assigned value depends on time", where=where,
                                     hint="use a number")
                depends, _ = self.check_names(expr, where)
                if var in self.species:
                    kind, count = self.species_assignment(var, expr, depends, in_force, where)
                    (sets if kind == "set" else adds)[var] = count
                elif var in self.parameters:
                    if depends:
                        raise self.error(f"the event sets parameter '{var}' to a value that "
                                         f"depends on species ({', '.join(sorted(depends))})",
                                         where=where, hint="an event may set a parameter to "
                                         "a constant value at a given time")
                    value = _evaluate(expr, self.lookup({}, in_force))
                    if not math.isfinite(value):
                        raise self.error(f"the event sets '{var}' to {value}", where=where)
                    changed[var] = value
                elif var in self.compartments:
                    raise self.error(f"the event changes the size of compartment '{var}'; "
                                     "stochsyn needs constant compartment sizes", where=where)
                elif var in self.stoichiometry_ids:
                    raise self.error(f"the event changes the stoichiometry '{var}'; stochsyn "
                                     "needs constant stoichiometries", where=where)
                else:
                    raise self.error(f"the event assigns '{var}', which is not a species or "
                                     "parameter of the model", where=where)
            rates = {}
            if changed:
                in_force.update(changed)
                for fit in fits:
                    if fit.parameters & set(changed):
                        for direction in self.solve(fit, in_force, where=self.where(
                                event, f"new value of {', '.join(sorted(changed))} for "
                                f"reaction '{fit.reaction}'")):
                            rates[direction.name] = direction.c
            body: dict[str, Any] = {"time": time_s}
            for key, table in (("set", sets), ("add", adds), ("rates", rates)):
                if table:
                    body[key] = table
            if len(body) > 1:
                interventions.append(body)
        return interventions

    def event_time(self, event) -> float | None:
        """Firing time (s) of an event triggered by ``time >= t``; None if it never fires."""
        L = self.L
        eid = event.getId() or "?"
        where = self.where(event)
        if event.isSetDelay():
            raise self.error(f"event '{eid}' has a delay; delayed events are not supported",
                             where=self.where(event, "delay"),
                             hint="remove the delay and trigger the event at the time it "
                                  "should act (time >= t + delay)")
        trigger = event.getTrigger()
        if trigger is None or not trigger.isSetMath():
            raise self.error(f"event '{eid}' has no trigger", where=where)
        node = trigger.getMath()
        text = _formula(node, L)
        trigger_where = self.where(event, "trigger")
        state_names = sorted(n for n in _ast_names(node, L)
                             if n in self.species or n in self.rules)
        if state_names:
            raise self.error(f"event '{eid}' is triggered by the state ('{text}' depends on "
                             f"{', '.join(repr(n) for n in state_names)}), not by time; "
                             "stochsyn runs only timed events (time >= t)",
                             where=trigger_where,
                             hint="state-triggered events need the event check inside the "
                                  "SSA loop, which stochsyn does not have; use a trigger "
                                  "'time >= t'")
        kind = node.getType()
        form = None
        if node.getNumChildren() == 2:
            first, second = node.getChild(0), node.getChild(1)
            if kind in (L.AST_RELATIONAL_GEQ, L.AST_RELATIONAL_GT) \
                    and first.getType() == L.AST_NAME_TIME:
                form = (second, kind == L.AST_RELATIONAL_GT)
            elif kind in (L.AST_RELATIONAL_LEQ, L.AST_RELATIONAL_LT) \
                    and second.getType() == L.AST_NAME_TIME:
                form = (first, kind == L.AST_RELATIONAL_LT)
        if form is None:
            raise self.error(f"event '{eid}' has the trigger '{text}', which is not of the "
                             "form time >= t", where=trigger_where,
                             hint="only timed events can be run: write the trigger as "
                                  "time >= t (or time > t, t <= time) with a constant t")
        expr = self.math(form[0], trigger_where)
        if _uses_time(expr):
            raise self.error(f"the trigger '{text}' of event '{eid}' compares time with "
                             "itself", where=trigger_where)
        depends, parameters = self.check_names(expr, trigger_where)
        changed = sorted(p for p in parameters if p in self.event_targets)
        if changed:
            raise self.error(f"the time in the trigger of event '{eid}' uses parameter "
                             f"'{changed[0]}', which an event changes", where=trigger_where,
                             hint="use a constant time")
        threshold = _evaluate(expr, self.lookup({}, self.parameters)) * self.seconds_per_time
        if not math.isfinite(threshold):
            raise self.error(f"the trigger time of event '{eid}' is {threshold}",
                             where=trigger_where)
        if threshold > 0 or (form[1] and threshold == 0):
            return threshold
        # The trigger is already true at t = 0: the event fires then only if the trigger
        # was false "before" (initialValue = false; SBML Level 2 has no such attribute).
        initial_value = trigger.getInitialValue() if self.level >= 3 else True
        if initial_value:
            warnings.warn(f"{self.source}: event '{eid}' never fires (its trigger '{text}' "
                          "is already true at t = 0 and initialValue is true); ignored",
                          UserWarning, stacklevel=5)
            return None
        return 0.0

    def check_simultaneous(self, timed):
        by_time: dict[float, list] = {}
        for time_s, _, event in timed:
            by_time.setdefault(time_s, []).append(event)
        for time_s, events in by_time.items():
            seen: dict[str, str] = {}
            for event in events:
                for ea in event.getListOfEventAssignments():
                    var = ea.getVariable()
                    if var in seen and seen[var] != event.getId():
                        raise self.error(
                            f"events '{seen[var]}' and '{event.getId()}' both fire at "
                            f"t = {time_s:g} s and assign '{var}'; the result would depend "
                            "on their order", where=self.where(event),
                            hint="merge them into one event")
                    seen[var] = event.getId()

    def species_assignment(self, var, expr, depends, in_force, where):
        """('set', n) for X := n, ('add', n) for X := X + n (in molecules)."""
        if var in self.agent_state:
            raise self.error(f"the event sets the agent-state species '{var}'; agents cannot "
                             "be set by interventions", where=where)
        if var in self.rules:
            raise self.error(f"the event sets '{var}', which an assignment rule defines",
                             where=where)
        others = sorted(depends - {var})
        if others:
            raise self.error(f"the value assigned to '{var}' depends on other species "
                             f"({', '.join(others)})", where=where,
                             hint="events may set X := n or X := X + n with a constant n")
        scale = self.molecules_per_value(var, where)

        def count(x):
            return _evaluate(expr, self.lookup({var: x}, in_force)) * scale
        base = count(0)
        if var in depends:
            slope = (count(1000) - base) / 1000
            if not (abs(slope - 1) <= 1e-9 and abs(count(37) - base - 37) <= 1e-6):
                raise self.error(f"the value assigned to '{var}' is neither a constant nor "
                                 f"'{var} + constant'", where=where,
                                 hint="events may set X := n or X := X + n with a constant n")
            nearest = round(base)
            if not math.isfinite(base) or abs(base - nearest) > COUNT_RTOL * max(abs(base), 1):
                raise self.error(f"the event adds {base:.10g} molecules of '{var}', not a "
                                 "whole number", where=where)
            return "add", int(nearest)
        return "set", self.whole_count(base, var, "the assigned value", where)

    # -- assemble --------------------------------------------------------------------------
    def term(self, sid: str) -> str:
        if sid in self.agent_state:
            type_name, sites = self.agent_state[sid]
            order = list(self.agent_types[type_name]["sites"])
            return f"{type_name}({','.join(f'{k}={sites[k]}' for k in order)})"
        return sid

    def side(self, counts: dict[str, int]) -> str:
        parts = []
        for sid, n in counts.items():
            if n <= 0:
                continue
            if sid in self.agent_state:
                parts.extend([self.term(sid)] * n)
            else:
                parts.append(f"{n} {sid}" if n > 1 else sid)
        return " + ".join(parts)

    def equation(self, direction: _Direction, rid: str) -> str:
        left = {s: n for s, n in direction.orders.items() if n > 0}
        right = dict(left)
        for sid, delta in direction.change.items():
            right[sid] = right.get(sid, 0) + delta
        if any(n < 0 for n in right.values()):
            raise self.error(f"reaction '{rid}' consumes more of a species than its kinetic "
                             "law's orders allow", where=f"reaction '{rid}'")
        right = {s: n for s, n in right.items() if n > 0}
        note = self.reaction_notes.get(rid, {})
        moves = note.get("moves")
        if moves:
            left, right = self.order_agents(rid, left, right, moves)
        return f"{self.side(left)} -> {self.side(right)}".strip()

    def order_agents(self, rid, left, right, moves):
        """Order agent terms so that the equation pairs agents as the annotation says."""
        agents_left = {s: n for s, n in left.items() if s in self.agent_state}
        agents_right = {s: n for s, n in right.items() if s in self.agent_state}
        want_left: dict[str, int] = {}
        want_right: dict[str, int] = {}
        for _, frm, to in moves:
            if frm:
                want_left[frm] = want_left.get(frm, 0) + 1
            if to:
                want_right[to] = want_right.get(to, 0) + 1
        if want_left != agents_left or want_right != agents_right:
            raise self.error(f"the stochsyn annotation of reaction '{rid}' moves agents "
                             "between states that do not match its reactants and products",
                             where=f"reaction '{rid}'",
                             hint="the SBML was edited after export; remove the stochsyn "
                                  "annotation of the reaction")
        plain_left = {s: n for s, n in left.items() if s not in self.agent_state}
        plain_right = {s: n for s, n in right.items() if s not in self.agent_state}
        ordered_left = dict(plain_left)
        ordered_right = dict(plain_right)
        for _, frm, to in [m for m in moves if m[1]] + [m for m in moves if not m[1]]:
            if frm:
                ordered_left[frm] = ordered_left.get(frm, 0) + 1
            if to:
                ordered_right[to] = ordered_right.get(to, 0) + 1
        return ordered_left, ordered_right

    def assemble(self, counts, directions, observables, interventions) -> dict:
        model = self.model
        name = (model.getName() if model.isSetName() and model.getName()
                else model.getId() if model.isSetId() and model.getId() else self.path.stem)
        header: dict[str, Any] = {"name": name}
        if len(self.compartments) == 1:
            (cid, size), = self.compartments.items()
            c = self.compartment_elements[cid]
            dims = c.getSpatialDimensionsAsDouble() if self.level >= 3 else \
                c.getSpatialDimensions()
            if size is not None and dims == 3 and cid not in self.volume_unknown:
                unit_id = (c.getUnits() if c.isSetUnits() else
                           model.getVolumeUnits() if self.level >= 3
                           and model.isSetVolumeUnits() else
                           "" if self.level >= 3 else "volume")
                factor, unit_dims = self.unit(unit_id, self.where(c)) if unit_id else \
                    (1e-3, {"length": 3.0})
                if unit_dims == {"length": 3.0}:
                    header["volume"] = f"{size * factor * 1e3!r} L"
        data: dict[str, Any] = {"model": header}
        data["species"] = {sid: n for sid, n in counts.items() if sid not in self.agent_state}
        if self.agent_types:
            agents = {}
            for type_name, body in self.agent_types.items():
                entry = {k: v for k, v in body.items()}
                entry["initial"] = [
                    {"count": counts[sid], **sites}
                    for sid, (t, sites) in self.agent_state.items()
                    if t == type_name and counts.get(sid, 0) > 0]
                agents[type_name] = entry
            data["agents"] = agents
        reactions = []
        for direction in directions:
            sbml_rid = direction.reaction
            body = {"name": direction.name, "equation": self.equation(direction, sbml_rid),
                    "rate": direction.c}
            note = self.reaction_notes.get(sbml_rid, {})
            if note.get("log"):
                body["log"] = True
            if note.get("neighbour"):
                terms = [self.term(n) for n in note["neighbour"]]
                body["neighbour"] = terms[0] if len(terms) == 1 else terms
            reactions.append(body)
        data["reactions"] = reactions
        if observables:
            data["observables"] = {
                var: " + ".join(_weighted(w, self.term(s)) for s, w in weights.items())
                .replace("+ -", "- ") or "0"
                for var, weights in observables.items() if weights}
        if interventions:
            data["interventions"] = interventions
        return data


def _weighted(weight: float, term: str) -> str:
    if weight == 1:
        return term
    if weight == -1:
        return f"-{term}"
    if weight == int(weight) and abs(weight) < 2 ** 53:
        return f"{int(weight)}*{term}"
    return f"{weight!r}*{term}"


def _ast_names(node, libsbml) -> set[str]:
    """Identifiers (``ci`` elements) anywhere in a libsbml ASTNode."""
    names = set()
    if node is None:
        return names
    if node.getType() == libsbml.AST_NAME and node.getName():
        names.add(node.getName())
    for k in range(node.getNumChildren()):
        names |= _ast_names(node.getChild(k), libsbml)
    return names


def _combinations(options: dict[str, list[int]]):
    """Every assignment of an order to each candidate species, preferred orders first."""
    names = list(options)
    for k, orders in enumerate(itertools.product(*(options[n] for n in names))):
        if k >= _MAX_ORDER_COMBINATIONS:
            return
        yield dict(zip(names, orders))


def _random_states(species, n, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    return [{s: int(rng.integers(0, 1000)) for s in species} for _ in range(n)]


def _top_orders(species, forms) -> dict[str, int]:
    """Highest order of each species over the candidate forms (at least 1)."""
    top = {s: 1 for s in species}
    for orders in forms:
        for term in orders:
            for s, n in term.items():
                top[s] = max(top.get(s, 1), n)
    return top


def _common_states(species: list[str], top: dict[str, int]) -> list[dict[str, int]]:
    """Integer states at which a law is compared with mass action.

    Eight random states where every species is present (six up to ~1000 molecules, two up
    to ~10^6), and states where one species takes 0, 1, ..., ν+1 (below ν the binomial
    form must vanish). The random generator is seeded: the result is deterministic.
    """
    import numpy as np
    rng = np.random.default_rng(20260601)
    states = []
    for k in range(8):
        high = 1000 if k < 6 else 10 ** 6
        states.append({s: int(rng.integers(top[s] + 2, high + top[s] + 3)) for s in species})
    base = states[0]
    for s in species:
        for v in sorted({0, 1, 2, 3, 4, top[s] - 1, top[s], top[s] + 1}):
            if v >= 0:
                states.append({**base, s: v})
    return states


def _minimal_states(species: list[str], orders: list[dict[str, int]]):
    """For each term, the state with its species at exactly ν and all others at 0: the
    binomial basis is 1 there, so the law gives the constant directly."""
    return [{s: term.get(s, 0) for s in species} for term in orders]


def _basis(state: dict[str, int], orders: dict[str, int], binomial: bool) -> float:
    value = 1.0
    for s, n in orders.items():
        if n:
            x = state[s]
            value *= float(math.comb(x, n)) if binomial else float(x) ** n
    return value


def _fit_terms(states, values, orders: list[dict[str, int]], binomial: bool):
    """Coefficients k_j with law = k_0·b_0 − k_1·b_1 at every state, or None.

    One term: the constant is read where the basis is smallest (1 at the minimal state),
    so that a law written as ``c * X`` gives back exactly c. Two terms: least squares on
    rows scaled to unit size. Then every state must agree to :data:`FIT_RTOL`.
    """
    import numpy as np
    bases = [[_basis(state, o, binomial) for o in orders] for state in states]
    if len(orders) == 1:
        usable = [(b[0], v) for b, v in zip(bases, values) if b[0] > 0]
        if not usable:
            return None
        b0, v0 = min(usable, key=lambda item: item[0])
        coefficients = [v0 / b0]
    else:
        rows, rhs = [], []
        for b, v in zip(bases, values):
            scale = abs(b[0]) + abs(b[1])
            if scale > 0:
                rows.append([b[0] / scale, -b[1] / scale])
                rhs.append(v / scale)
        if len(rows) < 2:
            return None
        solution, *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
        coefficients = [float(solution[0]), float(solution[1])]
        if not all(math.isfinite(c) for c in coefficients):
            return None
        # Read each constant directly where only its term is present, when such a state
        # exists (exact for laws written as kf*A - kr*B).
        for j in (0, 1):
            other = 1 - j
            direct = [(b[j], v) for b, v in zip(bases, values) if b[other] == 0 and b[j] > 0]
            if direct:
                bj, vj = min(direct, key=lambda item: item[0])
                coefficients[j] = vj / bj if j == 0 else -vj / bj
        magnitude = max(abs(coefficients[0]), abs(coefficients[1]))
        for j in (0, 1):
            if abs(coefficients[j]) <= 1e-12 * magnitude:
                coefficients[j] = 0.0
    total = sum(abs(c) for c in coefficients)
    for b, v in zip(bases, values):
        terms = [coefficients[0] * b[0]] + ([-coefficients[1] * b[1]] if len(b) > 1 else [])
        predicted = sum(terms)
        scale = sum(abs(t) for t in terms)
        tolerance = FIT_RTOL * (scale if scale > 0 else total)
        if not abs(v - predicted) <= tolerance:
            return None
    return coefficients


def _show_state(state: dict[str, int]) -> str:
    return "(" + ", ".join(f"{s}={x}" for s, x in state.items()) + ")" if state else "(no species)"


def load_sbml(path) -> "Model":  # noqa: F821
    """Read an SBML Level 2 or 3 model file into a :class:`stochsyn.Model`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Model

    Raises
    ------
    ModelError
        If python-libsbml is missing, the file is not valid SBML, or the model has an
        element that the exact stochastic engine cannot run (the message names the file,
        the element and why, with a hint).

    Warns
    -----
    UserWarning
        For a kinetic law written in the deterministic form ``k * P^2`` (converted with
        ``c = k · Π ν!``), an ignored constraint or an event that never fires.
    """
    from .model import Model
    path = Path(path)
    return Model.from_dict(sbml_model_dict(path), source=str(path))


def sbml_model_dict(path) -> dict:
    """The model dict (``Model.from_dict`` input) that :func:`load_sbml` builds; for
    inspection and tests."""
    path = Path(path)
    libsbml = _import_libsbml(str(path))
    try:
        return _Reader(path, libsbml).read()
    except (ModelError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - no libsbml internals reach the user
        raise ModelError(f"stochsyn could not read this SBML file ({type(exc).__name__}: "
                         f"{exc})", source=str(path),
                         hint="this is a bug in stochsyn's SBML reader; please report it "
                              "with the file") from None


# =========================================================================== export


class _Ast:
    """Builds libsbml ASTNodes directly (no formula parsing, so any SId stays a name)."""

    def __init__(self, libsbml):
        self.L = libsbml

    def name(self, ident: str):
        node = self.L.ASTNode(self.L.AST_NAME)
        node.setName(ident)
        return node

    def number(self, value, units: str | None = None):
        L = self.L
        if float(value) == int(value) and abs(value) < 2 ** 31:
            node = L.ASTNode(L.AST_INTEGER)
            node.setValue(int(value))
        else:
            node = L.ASTNode(L.AST_REAL)
            node.setValue(float(value))
        if units:
            node.setUnits(units)
        return node

    def time(self):
        node = self.L.ASTNode(self.L.AST_NAME_TIME)
        node.setName("time")
        return node

    def apply(self, kind, *children):
        node = self.L.ASTNode(kind)
        for child in children:
            node.addChild(child)
        return node

    def product(self, factors):
        if len(factors) == 1:
            return factors[0]
        return self.apply(self.L.AST_TIMES, *factors)


def _c_unit(order: int) -> str:
    """Unit id of a stochastic constant for a reaction of total order n: item^(1-n)/s."""
    if order == 0:
        return "item_per_second"
    if order == 1:
        return "per_second"
    if order == 2:
        return "per_item_per_second"
    return f"per_item{order - 1}_per_second"


def _xhtml(text: str) -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return f'<body xmlns="{_XHTML_NS}">{paragraphs}</body>'


def _check(status, what, source):
    """libsbml setters return an int status; anything but success is a bug to report."""
    import libsbml
    if status not in (libsbml.LIBSBML_OPERATION_SUCCESS, None):
        raise ModelError(f"libsbml refused to {what} (status {status})", source=source,
                         hint="please report this as a stochsyn bug")


def write_sbml(model, path) -> Path:
    """Write ``model`` as SBML Level 3 Version 2 (see :meth:`stochsyn.Model.to_sbml`).

    Every reaction of ``model.reactions`` (agent rules expanded) becomes an SBML reaction
    with the kinetic law ``c_<id> · Π C(x, ν)`` in item/second; interventions become
    events with ``time >= t`` triggers; observables become parameters with assignment
    rules. Agent types, ring neighbours and logging are written into stochsyn
    annotations.

    Warns
    -----
    UserWarning
        For each neighbour rule: SBML core cannot count ring pairs, so its law there is
        ``c · (target species)``; stochsyn reads it back exactly through the annotation.
    """
    try:
        return _write_sbml(model, path)
    except (ModelError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - no libsbml internals reach the user
        raise ModelError(f"stochsyn could not write the SBML file ({type(exc).__name__}: "
                         f"{exc})", source=str(path),
                         hint="this is a bug in stochsyn's SBML writer; please report it"
                         ) from None


def _write_sbml(model, path) -> Path:
    """The work of :func:`write_sbml` (which turns unexpected errors into ModelError)."""
    path = Path(path)
    source = str(path)
    reduced = sorted({r.rule for r in model.reactions
                      if r.kind in ("michaelis_menten", "hill")})
    if reduced:
        raise ModelError(f"the model has Michaelis–Menten or Hill rate laws "
                         f"({', '.join(reduced)}), which stochsyn does not write to SBML: it "
                         f"could not read them back (its SBML reader takes mass-action "
                         f"kinetic laws only)", source=model.source,
                         hint="export a variant with those reactions written as mass-action "
                              "steps (e.g. E + S <-> ES -> E + P)")
    whole = sorted({r.rule for r in model.reactions if r.complex_type >= 0})
    if whole:
        raise ModelError(f"the model has complex rules ({', '.join(whole)}: 'members' that "
                         "change every agent of a complex), which stochsyn does not write to "
                         "SBML: SBML core has no complexes of agents", source=model.source,
                         hint="export a variant without those rules")
    timed = sorted({r.rule for r in model.reactions if r.kind != "mass_action"})
    if timed:
        raise ModelError(f"the model has time-dependent rates ({', '.join(timed)}), which "
                         f"stochsyn does not write to SBML yet", source=model.source,
                         hint="export a variant without [inputs]-driven or voltage rates")
    if model.membrane is not None:
        raise ModelError("the model has a [membrane] (the spine-head voltage equation), which "
                         "stochsyn does not write to SBML yet", source=model.source,
                         hint="export a variant without the membrane module")
    if model.continuous:
        warnings.warn(f"the model's continuous species ({', '.join(model.continuous_species)}: "
                      "the hybrid mode, a way of simulating, not part of the model) are not "
                      "written to SBML; the file describes the exact model. Switch the mode "
                      "on again after reading it: Model.with_continuous([...])", UserWarning,
                      stacklevel=3)
    L = _import_libsbml(source)
    ast = _Ast(L)
    doc = L.SBMLDocument(3, 2)
    m = doc.createModel()
    ids = _Ids()
    m.setId(ids.new(model.name or "model"))
    m.setName(model.name)
    if model.description:
        m.setNotes(_xhtml(model.description))
    for attribute in ("SubstanceUnits", "ExtentUnits"):
        getattr(m, f"set{attribute}")("item")
    m.setTimeUnits("second")
    m.setVolumeUnits("litre")

    unit_defs: set[str] = set()

    def unit(order: int) -> str:
        uid = _c_unit(order)
        if uid not in unit_defs:
            ud = m.createUnitDefinition()
            ud.setId(uid)
            ids.used.add(uid)
            for kind, exponent in ((L.UNIT_KIND_ITEM, 1 - order), (L.UNIT_KIND_SECOND, -1)):
                if exponent:
                    u = ud.createUnit()
                    u.setKind(kind)
                    u.setExponent(exponent)
                    u.setScale(0)
                    u.setMultiplier(1.0)
            unit_defs.add(uid)
        return uid

    compartment = m.createCompartment()
    cid = ids.new("cell")
    compartment.setId(cid)
    compartment.setSpatialDimensions(3)
    compartment.setConstant(True)
    compartment.setUnits("litre")
    if model.volume_litre:
        compartment.setSize(model.volume_litre)
    else:
        compartment.setSize(1.0)
        compartment.setNotes(_xhtml(
            "The stochsyn model has no volume: this size of 1 litre is a placeholder. All "
            "species are counts (item) and every rate constant is a stochastic constant in "
            "item-based units, so the size does not enter any rate law."))
        compartment.setAnnotation(
            f'<{_PREFIX}:compartment xmlns:{_PREFIX}="{STOCHSYN_NS}" volumeUnknown="true"/>')

    # -- species -----------------------------------------------------------------------
    species_ids = []
    state_sites: dict[int, tuple[str, dict[str, str]]] = {}
    for agent in model.agent_types:
        base = model.agent_state_base[agent.name]
        for k, state in enumerate(agent.states):
            state_sites[base + k] = (agent.name, dict(zip(agent.site_names, state)))
    for i, label in enumerate(model.species):
        s = m.createSpecies()
        sid = ids.new(label)
        species_ids.append(sid)
        s.setId(sid)
        if sid != label:
            s.setName(label)
        s.setCompartment(cid)
        s.setInitialAmount(float(model.x0[i]))
        s.setSubstanceUnits("item")
        s.setHasOnlySubstanceUnits(True)
        s.setBoundaryCondition(False)
        s.setConstant(False)
        if i in state_sites:
            type_name, sites = state_sites[i]
            inner = "".join(f'<{_PREFIX}:site name={quoteattr(k)} value={quoteattr(v)}/>'
                            for k, v in sites.items())
            _check(s.setAnnotation(
                f'<{_PREFIX}:agentState xmlns:{_PREFIX}="{STOCHSYN_NS}" '
                f'type={quoteattr(type_name)}>{inner}</{_PREFIX}:agentState>'),
                "annotate a species", source)

    # -- reactions -----------------------------------------------------------------------
    per_rule: dict[str, int] = {}
    for reaction in model.reactions:
        per_rule[reaction.rule] = per_rule.get(reaction.rule, 0) + 1
    seen_rule: dict[str, int] = {}
    rate_changed = {j for iv in model.interventions for j, _ in iv.set_rates}
    reaction_ids, rate_ids, rate_units = [], [], []
    warned_rules = set()
    for j, reaction in enumerate(model.reactions):
        seen_rule[reaction.rule] = seen_rule.get(reaction.rule, 0) + 1
        wanted = (reaction.rule if per_rule[reaction.rule] == 1
                  else f"{reaction.rule}__{seen_rule[reaction.rule]}")
        rid = ids.new(wanted)
        reaction_ids.append(rid)
        r = m.createReaction()
        r.setId(rid)
        r.setName(reaction.name)
        r.setReversible(False)
        for index, nu in reaction.reactants:
            sr = r.createReactant()
            sr.setSpecies(species_ids[index])
            sr.setStoichiometry(nu)
            sr.setConstant(True)
        for index, nu in reaction.products:
            sr = r.createProduct()
            sr.setSpecies(species_ids[index])
            sr.setStoichiometry(nu)
            sr.setConstant(True)
        order = sum(nu for _, nu in reaction.reactants)
        pid = ids.new(f"c_{rid}")
        rate_ids.append(pid)
        p = m.createParameter()
        p.setId(pid)
        p.setValue(reaction.rate)
        p.setUnits(unit(order))
        rate_units.append(unit(order))
        p.setConstant(j not in rate_changed)
        factors = [ast.name(pid)]
        divisor = 1
        for index, nu in reaction.reactants:
            for k in range(nu):
                if k == 0:
                    factors.append(ast.name(species_ids[index]))
                else:
                    factors.append(ast.apply(L.AST_MINUS, ast.name(species_ids[index]),
                                             ast.number(k, "item")))
            divisor *= math.factorial(nu)
        law = ast.product(factors)
        if divisor > 1:
            law = ast.apply(L.AST_DIVIDE, law, ast.number(divisor, "dimensionless"))
        kl = r.createKineticLaw()
        _check(kl.setMath(law), f"set the kinetic law of reaction '{rid}'", source)
        annotation = {}
        if reaction.log:
            annotation["log"] = "true"
        if reaction.neighbour is not None:
            target, neighbours = reaction.neighbour
            annotation["neighbour"] = " ".join(species_ids[n] for n in neighbours)
            for neighbour in neighbours:
                modifier = r.createModifier()
                modifier.setSpecies(species_ids[neighbour])
            r.setNotes(_xhtml(
                f"Neighbour rule of stochsyn: the propensity is c times the number of "
                f"'{model.species[target]}' agents whose left ring neighbour is "
                + " or ".join(f"'{model.species[n]}'" for n in neighbours)
                + ". SBML core cannot count ring pairs, so the "
                "kinetic law here uses the number of target agents instead; stochsyn "
                "restores the exact rule from the annotation."))
            if reaction.rule not in warned_rules:
                warned_rules.add(reaction.rule)
                warnings.warn(f"{source}: neighbour rule '{reaction.rule}' is written with "
                              "the kinetic law c · (target agents): SBML core cannot count "
                              "ring pairs, so other tools will simulate a different model "
                              "(stochsyn reads it back exactly)", UserWarning, stacklevel=3)
        if annotation or reaction.agent_moves:
            attributes = "".join(f" {k}={quoteattr(v)}" for k, v in annotation.items())
            moves = "".join(
                f'<{_PREFIX}:move type={quoteattr(model.agent_types[t].name)} '
                f'from={quoteattr(species_ids[frm] if frm >= 0 else "")} '
                f'to={quoteattr(species_ids[to] if to >= 0 else "")}/>'
                for t, frm, to in reaction.agent_moves)
            _check(r.setAnnotation(f'<{_PREFIX}:reaction xmlns:{_PREFIX}="{STOCHSYN_NS}"'
                                   f'{attributes}>{moves}</{_PREFIX}:reaction>'),
                   "annotate a reaction", source)

    # -- observables ---------------------------------------------------------------------
    for name, weights in model.observables.items():
        oid = ids.new(name)
        p = m.createParameter()
        p.setId(oid)
        if oid != name:
            p.setName(name)
        p.setConstant(False)
        p.setUnits("item")
        terms = []
        for index, weight in weights.items():
            if weight == 1:
                terms.append(ast.name(species_ids[index]))
            else:
                terms.append(ast.apply(L.AST_TIMES, ast.number(weight, "dimensionless"),
                                       ast.name(species_ids[index])))
        math_ = (ast.apply(L.AST_PLUS, *terms) if len(terms) > 1 else terms[0]) if terms \
            else ast.number(0, "item")
        rule = m.createAssignmentRule()
        rule.setVariable(oid)
        _check(rule.setMath(math_), f"set the assignment rule of '{oid}'", source)

    # -- interventions -------------------------------------------------------------------
    for k, intervention in enumerate(model.interventions):
        event = m.createEvent()
        event.setId(ids.new(f"intervention_{k + 1}"))
        if intervention.label:
            event.setName(intervention.label)
        event.setUseValuesFromTriggerTime(True)
        trigger = event.createTrigger()
        trigger.setInitialValue(False)   # so that an intervention at t = 0 fires at t = 0
        trigger.setPersistent(True)
        _check(trigger.setMath(ast.apply(L.AST_RELATIONAL_GEQ, ast.time(),
                                         ast.number(intervention.time, "second"))),
               "set an event trigger", source)
        for index, count in intervention.set_counts:
            ea = event.createEventAssignment()
            ea.setVariable(species_ids[index])
            ea.setMath(ast.number(count, "item"))
        for index, count in intervention.add_counts:
            ea = event.createEventAssignment()
            ea.setVariable(species_ids[index])
            ea.setMath(ast.apply(L.AST_PLUS, ast.name(species_ids[index]),
                                 ast.number(count, "item")))
        for j, c in intervention.set_rates:
            ea = event.createEventAssignment()
            ea.setVariable(rate_ids[j])
            ea.setMath(ast.number(c, rate_units[j]))

    # -- agent types (what SBML core cannot say) ---------------------------------------
    if model.agent_types:
        parts = []
        for agent in model.agent_types:
            sites = "".join(f'<{_PREFIX}:site name={quoteattr(site)} '
                            f'values={quoteattr(" ".join(values))}/>'
                            for site, values in agent.sites)
            parts.append(f'<{_PREFIX}:agentType name={quoteattr(agent.name)} '
                         f'ringSize="{agent.ring_size}" capacity="{agent.capacity}">'
                         f'{sites}</{_PREFIX}:agentType>')
        _check(m.setAnnotation(f'<{_PREFIX}:model xmlns:{_PREFIX}="{STOCHSYN_NS}" '
                               f'version="1">{"".join(parts)}</{_PREFIX}:model>'),
               "annotate the model", source)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ok = L.writeSBMLToFile(doc, str(path))
    except OSError as exc:
        raise ModelError(f"cannot write the SBML file: {exc}", source=source) from None
    if not ok:
        raise ModelError("cannot write the SBML file", source=source,
                         hint="check that the folder exists and is writable")
    return path
