"""SBML export: :func:`write_sbml`, behind :meth:`stochsyn.Model.to_sbml`.

Export writes SBML Level 3 Version 2 with units, in the stochastic convention: each
reaction's kinetic law is ``c_<id> · Π C(x, ν)`` written out (``c * P * (P - 1) / 2``),
counts in ``item``. What SBML core cannot express (agent types and their sites, ring
neighbour conditions, event logging) goes into annotations in the namespace
:data:`~stochsyn.model.sbml.common.STOCHSYN_NS`, as plain XML data, which
:func:`stochsyn.load_model` reads back. The writer reads any Model it is given and imports
none (``stochsyn.model.model`` imports it)."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..errors import ModelError
from .common import STOCHSYN_NS, _import_libsbml, unexpected_errors_as_bugs

__all__ = ["write_sbml", "sbml_id"]

_PREFIX = "stochsyn"
_XHTML_NS = "http://www.w3.org/1999/xhtml"


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
    with unexpected_errors_as_bugs("write the SBML file", str(path),
                                   "this is a bug in stochsyn's SBML writer; please report it"):
        return _write_sbml(model, path)


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
