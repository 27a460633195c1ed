"""SBML import: :func:`load_sbml`.

Import reads SBML Level 2 and 3 with python-libsbml (the optional extra ``stochsyn[sbml]``)
and builds the plain dict of a model file (``docs/model-format.md``), which then goes
through :meth:`stochsyn.Model.from_dict` like a TOML file. Nothing in an SBML file is ever
executed: MathML is evaluated by the small walker in :mod:`.mathml`, which knows numbers,
names, ``+ - * /``, powers and unary minus, and refuses everything else by name.

What the stochastic engine can run exactly is a set of mass-action reactions with constant
stochastic constants, timed changes of counts and rates, and linear observables. Every
kinetic law is therefore *recognised* numerically as mass action (:mod:`.reactions`): it is
evaluated at many integer states and must equal ``c · Π_s C(x_s, ν_s)`` (binomial, DSMTS
convention) at all of them, or ``k · Π_s x_s^ν_s`` (the deterministic spelling, converted
with ``c = k·Π ν!`` and a warning). Whatever cannot be run exactly (other rate laws,
state-triggered events, delays, rate and algebraic rules, ...) is refused with an error that
names the element and says why; a model is never silently changed into a different one.

What SBML core cannot express (agent types and their sites, ring neighbour conditions, event
logging) the writer (:mod:`.writer`) puts into annotations in the namespace
:data:`~stochsyn.model.sbml.common.STOCHSYN_NS`; they are restored when present
(:mod:`.annotations`), while species, stoichiometry, rates and events are always read from
SBML core.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelError
from ..files import read_model_text
from ..model import Model
from ..rules import suggestion
from ..units import AVOGADRO, MAX_COUNT
from .annotations import SbmlAnnotations
from .common import _import_libsbml, check_xml_text, unexpected_errors_as_bugs
from .events import SbmlEvents
from .mathml import _MathError, _convert_math, _evaluate, _names, _uses_time
from .reactions import COUNT_RTOL, SbmlReactions

__all__ = ["load_sbml", "sbml_model_dict"]


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


class _Reader(SbmlReactions, SbmlEvents, SbmlAnnotations):
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
        text = read_model_text(self.source)
        check_xml_text(text, self.source)
        if not text.startswith("<?xml"):
            # libsbml would put a declaration on a line of its own, shifting every line
            # number in its messages by one; on the first line it shifts none
            text = '<?xml version="1.0" encoding="UTF-8"?>' + text
        try:
            doc = L.readSBMLFromString(text)
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


def load_sbml(path) -> Model:
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
    path = Path(path)
    return Model.from_dict(sbml_model_dict(path), source=str(path))


def sbml_model_dict(path) -> dict:
    """The model dict (``Model.from_dict`` input) that :func:`load_sbml` builds; for
    inspection and tests."""
    path = Path(path)
    libsbml = _import_libsbml(str(path))
    with unexpected_errors_as_bugs("read this SBML file", str(path),
                                   "this is a bug in stochsyn's SBML reader; please report "
                                   "it with the file"):
        return _Reader(path, libsbml).read()
