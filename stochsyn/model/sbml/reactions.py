"""SBML reactions: stoichiometry, and each kinetic law recognised as mass action.

:class:`SbmlReactions` is a part of the SBML reader (:class:`.reader._Reader` derives from
it). A kinetic law is evaluated at many integer states and must equal
``c · Π_s C(x_s, ν_s)`` (binomial, DSMTS convention) at all of them, or ``k · Π_s x_s^ν_s``
(the deterministic spelling, converted with ``c = k·Π ν!`` and a warning); anything else is
refused with the element named."""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Callable

from ..errors import ModelError
from ..rules import suggestion
from .mathml import _MathError, _evaluate, _formula, _uses_time

#: Relative tolerance of the mass-action recognition (a law must match at every test state).
FIT_RTOL = 1e-9
#: Relative tolerance for an initial amount or an event value to count as whole molecules.
COUNT_RTOL = 1e-6
#: Orders tried for a species that a kinetic law depends on but that is not a reactant
#: (a modifier or boundary species acting as a catalyst); 0 means "no real dependence".
_CATALYST_ORDERS = (0, 1, 2, 3)
_MAX_ORDER_COMBINATIONS = 4096


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


class SbmlReactions:
    """Reads the reactions of an SBML model (a base of the SBML reader)."""

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
