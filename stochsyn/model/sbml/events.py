"""SBML events (timed interventions) and assignment rules read as observables.

:class:`SbmlEvents` is a part of the SBML reader (:class:`.reader._Reader` derives from
it)."""

from __future__ import annotations

import math
import warnings
from typing import Any

from .mathml import _ast_names, _evaluate, _formula, _MathError, _names, _uses_time
from .reactions import COUNT_RTOL, _Fit, _random_states


class SbmlEvents:
    """Reads the events and the observables of an SBML model (a base of the SBML reader)."""

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
        try:
            names = _ast_names(node, L)
        except _MathError as exc:
            raise self.error(f"unsupported math: {exc.message}", where=trigger_where,
                             hint=exc.hint) from None
        state_names = sorted(n for n in names if n in self.species or n in self.rules)
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
