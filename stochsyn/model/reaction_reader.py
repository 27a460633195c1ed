"""The reactions table of a model spec: equations, agent-rule expansion and rate laws.

:class:`ReactionReader` is the part of the spec reader's builder
(:class:`stochsyn.model.spec_reader._Builder`, which derives from it) that turns each
``[[reactions]]`` entry into concrete :class:`~stochsyn.model.elements.Reaction` values:
it parses the equation, expands an agent rule over the site values, and reads the rate
(mass action, the time-dependent kinds, the current-driven influx, Michaelis–Menten and
Hill). It uses the builder's helpers (``where``, ``error``, ``refuse_unknown``, ``table``)
and what the builder has read before the reactions (``spec``, ``source``, ``volume``,
``inputs``, ``membrane``, ``species_index``, ``agent_types_list``, ``agent_state_base``).
"""

from __future__ import annotations

import math
from typing import Mapping

from .. import limits
from . import units
from .elements import Reaction, flux_obstacle
from .rules import (AgentType, expand_members, expand_rule, is_name, parse_equation,
                    parse_observable, split_neighbour_classes, suggestion)

_LAW_KEYS = {"michaelis_menten": ("kind", "kcat", "enzyme", "vmax", "km"),
             "hill": ("kind", "k", "of", "K", "n", "repress")}
#: Elementary charge (C) and the gas/Faraday constants, for current-driven influx.
_ELEMENTARY_CHARGE_C = 1.602176634e-19
_GAS_CONSTANT = 8.314462618
_FARADAY = 96485.33212
_REACTION_KEYS = ("name", "equation", "rate", "log", "neighbour", "flux", "members", "complex",
                  "detailed_balance", "note")


def _reactant_orders(terms) -> tuple[int, ...]:
    """Stoichiometry of each distinct reactant: 'A + A' and '2 A' are both A to order 2
    (expand_rule allows at most one agent of each type on the left)."""
    total: dict[str, int] = {}
    for term in terms:
        total[term.name] = total.get(term.name, 0) + term.count
    return tuple(total.values())


class ReactionReader:
    """Reads the ``[[reactions]]`` table (a base of the spec reader's builder)."""

    def reactions(self, parameters, species_index, agent_types, agent_state_base):
        self.flux_keys = {}     # rule name -> its [[reactions]] entry (for flux messages)
        raw = self.spec.get("reactions", [])
        if not isinstance(raw, list):
            raise self.error("'reactions' must be an array of tables ([[reactions]])")
        agents = {a.name: a for a in agent_types}
        reactions: list[Reaction] = []
        names: set[str] = set()
        neighbour_text: dict[str, str] = {}
        self.balanced_rules: set[str] = set()
        for i, body in enumerate(raw):
            if not isinstance(body, Mapping):
                raise self.error("each [[reactions]] entry must be a table",
                                 where=self.where("reactions", i))
            label = body.get("name", f"r{i}")
            key = label if isinstance(label, str) else i
            where = self.where("reactions", key)
            self.refuse_unknown(body, _REACTION_KEYS, where, noun="field")
            if not isinstance(label, str) or not label.strip():
                raise self.error("a reaction name must be a non-empty string", where=where)
            if "equation" not in body:
                raise self.error("missing 'equation'", where=where,
                                 hint="e.g. equation = \"A + B -> C\"")
            if "rate" not in body:
                raise self.error("missing 'rate'", where=where,
                                 hint="add e.g. rate = \"0.1 /s\": a number (1/s), a "
                                      "quantity such as '6.8 /uM/s' or a parameter expression")
            balanced = body.get("detailed_balance", False)
            if not isinstance(balanced, bool):
                raise self.error("'detailed_balance' must be true or false",
                                 where=self.where("reactions", key, "detailed_balance"))
            if balanced:
                self.balanced_rules.add(label)
            log = body.get("log", False)
            if not isinstance(log, bool):
                raise self.error("'log' must be true or false", where=self.where(
                    "reactions", key, "log"))
            flux = body.get("flux", None)
            if flux is not None and not isinstance(flux, bool):
                raise self.error("'flux' must be true or false", where=self.where(
                    "reactions", key, "flux"),
                    hint="flux = false keeps the reaction's firings as events in the hybrid "
                         "mode; flux = true requires it to be a flux (a term of dy/dt)")
            eq_where = self.where("reactions", key, "equation")
            left, right, reversible = parse_equation(body["equation"], species_index, agents,
                                                     source=self.source, where=eq_where)
            rate = body["rate"]
            if reversible:
                self.check_reversible_patterns(left, right, label, eq_where)
                if not (isinstance(rate, list) and len(rate) == 2):
                    raise self.error("a reversible equation ('<->') needs two rates, "
                                     "rate = [forward, reverse]",
                                     where=self.where("reactions", key, "rate"))
                directions = [(f"{label}_fwd", left, right, rate[0]),
                              (f"{label}_rev", right, left, rate[1])]
            else:
                if isinstance(rate, list):
                    raise self.error("only a reversible equation ('<->') takes a list of "
                                     "two rates", where=self.where("reactions", key, "rate"))
                directions = [(label, left, right, rate)]
            neighbour = None
            if "neighbour" in body:
                n_where = self.where("reactions", key, "neighbour")
                text = body["neighbour"]
                patterns = text if isinstance(text, list) else [text]
                terms = []
                for pattern in patterns:
                    found = (parse_equation(f"{pattern} ->", species_index, agents,
                                            source=self.source, where=n_where)[0]
                             if isinstance(pattern, str) else [])
                    if len(found) != 1 or not found[0].is_agent or found[0].count != 1:
                        terms = []
                        break
                    terms.extend(found)
                if reversible or not terms:
                    raise self.error("'neighbour' must be one agent pattern such as "
                                     "'CaMKII(cam=bound)' (or a list of them: the neighbour "
                                     "matches one), on an irreversible rule",
                                     where=n_where)
                neighbour = terms
                neighbour_text[label] = " or ".join(patterns)
            complex_fields = self.complex_rule(body, key, label, reversible, left,
                                               species_index, agents, agent_types,
                                               agent_state_base)
            for rule_name, lhs, rhs, rate_spec in directions:
                if rule_name in names:
                    raise self.error(f"two reactions are named '{rule_name}'", where=where,
                                     hint="give every [[reactions]] entry a unique name")
                names.add(rule_name)
                transitions = expand_rule(rule_name, lhs, rhs, neighbour, species_index,
                                          agent_types, agent_state_base, source=self.source,
                                          where=eq_where, reactions_before=len(reactions))
                # The ring neighbour is in the same holoenzyme, not a diffusing reactant:
                # it does not add to the order used for unit conversion (docs).
                orders = _reactant_orders(lhs)
                law = {}
                if isinstance(rate_spec, Mapping) and rate_spec.get("kind") in _LAW_KEYS:
                    kind, input_index, v_scale, v_half = rate_spec["kind"], -1, 0.0, 0.0
                    c, law = self.state_law(rate_spec, parameters, orders, key, neighbour,
                                            transitions)
                else:
                    c, kind, input_index, v_scale = self.rate_law(rate_spec, parameters,
                                                                  orders, key)
                    v_half = 0.0
                    if kind == "boltzmann":
                        v_scale, v_half = v_scale

                # the Q10 scaling of the reaction's module to the model's temperature
                # (stochsyn.model.temperature); 1 when the model states no temperature
                c *= getattr(self, "temperature_factors", {}).get(label, 1.0)
                self.flux_keys[rule_name] = key
                for tr in transitions:
                    reaction = Reaction(
                        name=tr.label, rule=rule_name, reactants=tr.reactants,
                        products=tr.products, rate=c, agent_moves=tr.agent_moves,
                        neighbour=tr.neighbour, log=log, kind=kind, input=input_index,
                        v_scale_mv=v_scale, v_half_mv=v_half, flux=flux, **law, **complex_fields)
                    if flux:
                        self.check_flux(reaction, set(), ())
                    reactions.append(reaction)
        return split_neighbour_classes(reactions, tuple(self.species_labels), neighbour_text,
                                       source=self.source)

    def check_reversible_patterns(self, left, right, label, where) -> None:
        """Refuse a reversible agent rule whose two sides name different sites.

        ``<->`` makes the reverse direction of ``right -> left``: it selects by the right
        side's pattern and sets the left side's sites. Unless both sides name the same
        sites, the reverse acts on states the forward never produced (``K(cam=free, t=u) +
        CaM <-> K(cam=bound)`` would unbind CaM from phosphorylated subunits and reset
        them to t=u) -- silently another model."""
        waiting: dict[str, list] = {}
        for term in left:
            if term.is_agent:
                waiting.setdefault(term.name, []).append(term)
        for term in right:
            if not term.is_agent or not waiting.get(term.name):
                continue
            partner = waiting[term.name].pop(0)
            if set(partner.pattern) != set(term.pattern):
                missing = sorted(set(partner.pattern) ^ set(term.pattern))
                raise self.error(
                    f"the reversible rule '{label}' names site(s) {', '.join(missing)} of "
                    f"'{term.name}' on one side only; its reverse direction would select by "
                    "the right side and so act on states the forward direction never makes",
                    where=where,
                    hint="name the same sites on both sides, e.g. 'K(cam=free, t=u) + CaM "
                         "<-> K(cam=bound, t=u)', or write the two directions as two rules")

    def complex_rule(self, body, key, label, reversible, left, species_index, agents,
                     agent_types, agent_state_base) -> dict:
        """The :class:`Reaction` fields of a complex rule (``members``, ``complex``), or {}.

        ``members = ["K(a=x) -> K(a=y) + S", ...]`` changes every agent of one complex
        (``complex_size`` consecutive agents of a ring type) when the rule fires: the complex
        of the agent the rule's equation moves, or, with ``complex = "K"``, one complex
        drawn uniformly, the rule then firing at ``c · Π C(x_s, ν_s)`` per complex (its
        equation names species only). See :func:`stochsyn.model.rules.expand_members`.
        """
        if "members" not in body and "complex" not in body:
            return {}
        where = self.where("reactions", key, "members")
        members = body.get("members")
        if not isinstance(members, list) or not members or not all(
                isinstance(m, str) for m in members):
            raise self.error("'members' must be a list of equations such as "
                             "\"CaMKII(t286=p) -> CaMKII(t286=u)\", applied to every agent of "
                             "the complex", where=where,
                             hint="a complex rule needs 'members'; 'complex' only says which "
                                  "complexes it picks")
        if reversible:
            raise self.error("a complex rule ('members') must be irreversible", where=where,
                             hint="write the two directions as two rules")
        if "neighbour" in body:
            raise self.error("a complex rule ('members') cannot be a neighbour rule",
                             where=where)
        left_agents = [t for t in left if t.is_agent]
        if "complex" in body:
            type_name = body["complex"]
            if left_agents:
                raise self.error(f"with complex = \"{type_name}\" the rule picks a complex "
                                 "itself; its equation must name species only (e.g. \"->\" "
                                 "or \"GluN2B ->\")", where=self.where("reactions", key,
                                                                     "complex"),
                                 hint="drop 'complex' to act on the complex of the agent the "
                                      "equation moves")
        elif len(left_agents) == 1:
            type_name = left_agents[0].name
        else:
            raise self.error("a complex rule acts on the complex of the one agent its "
                             f"equation moves, but the equation has {len(left_agents)} agents "
                             "on the left", where=where,
                             hint="name one agent on the left, or write complex = \"TYPE\" "
                                  "to pick a complex at random")
        if type_name not in agents:
            raise self.error(f"'complex' names '{type_name}', which is not an agent type",
                             where=self.where("reactions", key, "complex"),
                             hint=suggestion(str(type_name), agents))
        t = [a.name for a in agent_types].index(type_name)
        agent = agent_types[t]
        if not agent.complex_size:
            raise self.error(f"rule '{label}' changes a whole complex, but agent type "
                             f"'{type_name}' declares no complex_size", where=where,
                             hint="set e.g. ring_size = 6, complex_size = 12 under "
                                  f"[agents.{type_name}]")
        equations = []
        for text in members:
            lhs, rhs, two_way = parse_equation(text, species_index, agents, source=self.source,
                                               where=where)
            if two_way:
                raise self.error(f"member equation '{text}' must be irreversible ('->')",
                                 where=where)
            equations.append((lhs, rhs))
        table = expand_members(label, equations, agent, t, agent_state_base[type_name],
                               species_index, source=self.source, where=where)
        return dict(complex_type=t, complex_pick="complex" in body, members=table)

    def check_flux(self, reaction, continuous, species):
        """Refuse ``flux = true`` on a reaction that cannot be a flux with the
        ``continuous`` species (:func:`~stochsyn.model.elements.flux_obstacle`), naming the
        reaction and its line."""
        obstacle = flux_obstacle(reaction, continuous, species)
        if obstacle is not None:
            raise self.error(
                f"reaction '{reaction.name}' has flux = true, but {obstacle}: a flux may "
                "change continuous species only, leaving every discrete species and agent "
                "state as it was", where=self.where("reactions", self.flux_keys[reaction.rule],
                                                    "flux"),
                hint="remove 'flux = true' (its firings are then events), or make the "
                     "species it changes continuous ([continuous] species)"
                if obstacle.startswith("it changes the discrete") else
                "remove 'flux = true' (its firings are then events); to keep an entry a "
                "flux, write it as a reaction of its own that leaves the agent as it is, "
                "e.g. 'R(s=o) -> R(s=o) + Ca'")

    def state_law(self, rate_spec, parameters, orders, key, neighbour, transitions):
        """(c, law fields of :class:`Reaction`) of a ``michaelis_menten`` or ``hill`` rate.

        ``michaelis_menten``: ``a = kcat · E · x_s / (K_M + S)``, or ``vmax · x_s /
        (K_M + S)`` without an enzyme, on a reaction with one reactant of order 1; ``S``
        sums every state the reactant pattern matches (competing substrate states share
        the enzyme). ``hill``: ``a = k · Π C(x_s, ν_s) · X^n / (K^n + X^n)`` (or
        ``K^n / (K^n + X^n)`` with ``repress = true``). ``K_M`` and ``K`` are amounts,
        converted to molecules with the volume and not rounded; ``kcat`` is 1/s, ``vmax``
        events/s (a zeroth-order rate: ``uM/s`` with the volume), ``k`` converted like a
        mass-action rate of the reaction.
        """
        kind = rate_spec["kind"]
        where = self.where("reactions", key, "rate")

        def at(name):
            return self.where("reactions", key, f"rate.{name}")

        allowed = _LAW_KEYS[kind]
        for field_name in rate_spec:
            if field_name not in allowed:
                same = [a for a in allowed if a.lower() == field_name.lower()]
                raise self.error(f"unknown field '{field_name}' in a {kind} rate", where=where,
                                 hint=(f"did you mean '{same[0]}'? (names are case-sensitive)"
                                       if same else suggestion(field_name, allowed))
                                 or f"allowed: {', '.join(allowed)}")
        if kind == "michaelis_menten":
            if orders != (1,):
                found = ("no reactant" if not orders else
                         f"{len(orders)} reactant{'s' if len(orders) > 1 else ''} of order "
                         f"{', '.join(str(o) for o in orders)}")
                raise self.error("a michaelis_menten rate needs exactly one reactant of "
                                 f"order 1 (the substrate); this equation has {found}",
                                 where=where,
                                 hint="write the substrate alone on the left, e.g. "
                                      "equation = \"S -> P\", and name the enzyme in the rate "
                                      "(enzyme = \"E\"); it is read, not consumed. For other "
                                      "shapes use kind = \"hill\" or mass action")
            if neighbour is not None:
                raise self.error("a michaelis_menten rate cannot be a neighbour rule",
                                 where=where, hint="use kind = \"hill\" or mass action")
            has = tuple(f in rate_spec for f in ("kcat", "enzyme", "vmax"))
            if "km" not in rate_spec or has not in ((True, True, False), (False, False, True)):
                problem = ("km is missing" if "km" not in rate_spec and has in (
                    (True, True, False), (False, False, True)) else
                    "vmax replaces kcat·E: give one or the other" if has[2] else
                    "kcat is missing" if has[1] else
                    "enzyme is missing" if has[0] else "kcat, enzyme or vmax is missing")
                raise self.error("a michaelis_menten rate needs km and either kcat with "
                                 "enzyme (a = kcat·E·S/(K_M + S)) or vmax "
                                 f"(a = vmax·S/(K_M + S)); {problem}",
                                 where=where, hint="e.g. { kind = \"michaelis_menten\", "
                                 "kcat = \"10 /s\", enzyme = \"PP1\", km = \"0.4 uM\" }")
            km = units.molecules(rate_spec["km"], what="the Michaelis constant km",
                                 volume_litre=self.volume, source=self.source,
                                 where=at("km"), parameters=parameters)
            if has[2]:
                # a = vmax · S/(K_M + S): vmax is a zeroth-order rate (events per second).
                c = units.stochastic_rate_constant(rate_spec["vmax"], reactant_orders=(),
                                                   volume_litre=self.volume,
                                                   source=self.source, where=at("vmax"),
                                                   parameters=parameters)
                modifier = ()
            else:
                c = units.stochastic_rate_constant(rate_spec["kcat"], reactant_orders=(1,),
                                                   volume_litre=self.volume,
                                                   source=self.source, where=at("kcat"),
                                                   parameters=parameters)
                modifier = self.law_modifier(rate_spec["enzyme"], kind, at("enzyme"))
            saturation = tuple(sorted({tr.reactants[0][0] for tr in transitions}))
            return c, dict(modifier=modifier, saturation=saturation, half=km)
        missing = [f for f in ("k", "of", "K", "n") if f not in rate_spec]
        if missing:
            raise self.error(f"a hill rate needs {', '.join(missing)} (a = k · Π C(x, ν) · "
                             "X^n/(K^n + X^n), X the count of 'of')", where=where,
                             hint="e.g. { kind = \"hill\", k = \"2 /s\", of = \"Ca4CaM\", "
                                  "K = \"1 uM\", n = 4 }")
        c = units.stochastic_rate_constant(rate_spec["k"], reactant_orders=orders,
                                           volume_litre=self.volume, source=self.source,
                                           where=at("k"), parameters=parameters)
        half = units.molecules(rate_spec["K"], what="the Hill constant K",
                               volume_litre=self.volume, source=self.source, where=at("K"),
                               parameters=parameters)
        n = units.evaluate_quantity(rate_spec["n"], parameters=parameters, source=self.source,
                                    where=at("n"))
        if hasattr(n, "dimensionality"):
            if not n.dimensionless:
                raise self.error(f"the Hill coefficient n is a pure number, got "
                                 f"'{rate_spec['n']}'", where=at("n"), hint="e.g. n = 4")
            n = n.to("dimensionless").magnitude
        n = float(n)
        if not (math.isfinite(n) and n > 0):
            raise self.error(f"the Hill coefficient n must be a finite number > 0, got {n:g}",
                             where=at("n"), hint="give e.g. n = 4 (n = 1 is a hyperbola); "
                                                 "for a law that falls as X grows use "
                                                 "repress = true")
        repress = rate_spec.get("repress", False)
        if not isinstance(repress, bool):
            raise self.error("'repress' must be true or false", where=at("repress"))
        modifier = self.law_modifier(rate_spec["of"], kind, at("of"))
        return c, dict(modifier=modifier, half=half, hill_n=n, repress=repress)

    def law_modifier(self, text, kind, where) -> tuple[tuple[int, float], ...]:
        """(state index, weight) of an enzyme or Hill regulator: a species, an agent type or
        pattern, the name of an observable, or a weighted sum of those written like an
        observable (``"CaM4 + CaMKII(cam=bound)"``). Weights must be > 0."""
        field_name = "enzyme" if kind == "michaelis_menten" else "of"
        if not isinstance(text, str) or not text.strip():
            raise self.error(f"'{field_name}' must be a string naming a species, an agent "
                             f"pattern or an observable", where=where,
                             hint=f"e.g. {field_name} = \"PP1\" or "
                                  f"{field_name} = \"CaMKII(t286=p)\"")
        text = text.strip()
        agents = [a.name for a in self.agent_types_list]
        if is_name(text) and text not in self.species_index and text not in agents:
            observables = self.table("observables")
            if isinstance(observables.get(text), str):
                text = observables[text]
            else:
                known = list(self.species_index) + agents + list(observables)
                raise self.error(f"the {kind} rate's '{field_name}' names '{text}', which is "
                                 "not a species, an agent type or an observable", where=where,
                                 hint=suggestion(text, known) or
                                 "declare it under [species] or [observables], or write an "
                                 "agent pattern such as 'CaMKII(t286=p)'")
        weights = parse_observable(text, self.species_index, self.agent_types_list,
                                   self.agent_state_base, source=self.source, where=where)
        terms = tuple((s, float(w)) for s, w in sorted(weights.items()) if w != 0)
        if not terms or any(w < 0 for _, w in terms):
            raise self.error(f"the {kind} rate's '{field_name}' must be a sum of counts with "
                             f"positive weights, got '{text}'", where=where,
                             hint="a negative or empty count makes the law undefined")
        return terms

    def rate_law(self, rate_spec, parameters, orders, key):
        """(c, kind, input index, v_scale_mv) of a reaction's 'rate'.

        A number or expression is mass action. A table names a time-dependent kind:
        ``{ kind = "voltage", k0 = <rate>, v_scale = <voltage>, input = "V" }`` gives
        ``c · exp(V/v_scale)``; ``{ kind = "input", input = "glu", k = <rate per unit> }``
        gives ``c · glu(t)``, where ``k × (1 unit of the input)`` is converted like a rate;
        ``{ kind = "boltzmann", k = <rate>, v_half = <voltage>, v_slope = <voltage> }``
        gives ``c / (1 + exp((v_half − V)/v_slope))`` (its v_scale_mv is then the pair
        (v_slope, v_half) in mV).
        """
        if not isinstance(rate_spec, Mapping):
            return self.rate_constant(rate_spec, parameters, orders, key), "mass_action", -1, 0.0
        where = self.where("reactions", key, "rate")
        kind = rate_spec.get("kind")
        allowed = {"voltage": ("kind", "k0", "v_scale", "input"),
                   "input": ("kind", "k", "input"),
                   "current": ("kind", "conductance", "fraction", "reversal", "charge",
                               "input"),
                   "ghk": ("kind", "k", "charge", "temperature", "input"),
                   "boltzmann": ("kind", "k", "v_half", "v_slope", "input")}
        if kind not in allowed:
            raise self.error(f"a rate table needs kind = \"voltage\", \"input\", "
                             f"\"current\", \"ghk\", \"boltzmann\", \"michaelis_menten\" "
                             f"or \"hill\", "
                             f"not {kind!r}", where=where,
                             hint="write a mass-action rate as a number or expression; "
                                  "rate tables: docs/model-format.md")
        for field_name in rate_spec:
            if field_name not in allowed[kind]:
                raise self.error(f"unknown field '{field_name}' in a {kind} rate", where=where,
                                 hint=f"allowed: {', '.join(allowed[kind])}")
        names = [i.name for i in self.inputs]
        voltage_kind = kind in ("voltage", "current", "ghk", "boltzmann")
        input_name = rate_spec.get("input", "V" if voltage_kind else None)
        if input_name not in names:
            raise self.error(f"the {kind} rate reads input '{input_name}', which [inputs] "
                             f"does not declare", where=where,
                             hint=suggestion(str(input_name), names) or
                             ("declare it, e.g. [inputs.V] unit = \"mV\", value = \"-70 mV\""
                              if voltage_kind else
                              "declare it, e.g. [inputs.glu] unit = \"mM\", value = 0"))
        index = names.index(input_name)
        unit = self.inputs[index].unit
        if voltage_kind and (units.unit_of(unit).dimensionality
                             != units.unit_of("mV").dimensionality):
            raise self.error(f"a {kind} rate needs an input in mV; '{input_name}' is in "
                             f"'{unit}'", where=where)
        if kind in ("current", "ghk"):
            return self.current_law(kind, rate_spec, parameters, orders, key, index, where)
        if kind == "voltage":
            if "k0" not in rate_spec or "v_scale" not in rate_spec:
                raise self.error("a voltage rate needs k0 (the rate at 0 mV) and v_scale",
                                 where=where, hint="e.g. { kind = \"voltage\", "
                                 "k0 = \"5.4 /ms\", v_scale = \"47 mV\" }")
            if units.unit_of(unit).dimensionality != units.unit_of("mV").dimensionality:
                raise self.error(f"a voltage rate needs an input in mV; '{input_name}' is in "
                                 f"'{unit}'", where=where)
            c = self.rate_constant(rate_spec["k0"], parameters, orders, key)
            v_scale = units.millivolts(rate_spec["v_scale"], parameters=parameters,
                                       source=self.source, where=where)
            if not (math.isfinite(v_scale) and v_scale != 0):
                raise self.error(f"v_scale must be a non-zero voltage, got {v_scale} mV",
                                 where=where)
            return c, "voltage", index, float(v_scale)
        if kind == "boltzmann":
            missing = [f for f in ("k", "v_half", "v_slope") if f not in rate_spec]
            if missing:
                raise self.error(f"a boltzmann rate needs k (its rate far on the rising side), "
                                 f"v_half and v_slope; missing {', '.join(missing)}",
                                 where=where, hint="e.g. { kind = \"boltzmann\", k = \"2 /ms\", "
                                 "v_half = \"3 mV\", v_slope = \"8 mV\" } (a negative "
                                 "v_slope for a rate that falls with V)")
            c = self.rate_constant(rate_spec["k"], parameters, orders, key)
            v_half = units.millivolts(rate_spec["v_half"], parameters=parameters,
                                      source=self.source, where=where)
            v_slope = units.millivolts(rate_spec["v_slope"], parameters=parameters,
                                       source=self.source, where=where)
            if not math.isfinite(v_half):
                raise self.error(f"v_half must be a finite voltage, got {v_half} mV",
                                 where=where)
            if not (math.isfinite(v_slope) and v_slope != 0):
                raise self.error(f"v_slope must be a non-zero voltage, got {v_slope} mV",
                                 where=where, hint="negative for a rate that falls with V")
            return c, "boltzmann", index, (float(v_slope), float(v_half))
        if "k" not in rate_spec:
            raise self.error("an input rate needs k (the rate per unit of the input)",
                             where=where, hint="e.g. { kind = \"input\", input = \"glu\", "
                                               "k = \"5 /mM/ms\" }")
        source_input = self.inputs[index]
        if self.membrane is not None and index == self.membrane.voltage_input:
            raise self.error(f"an input rate cannot read '{input_name}', the membrane "
                             "voltage (it can be negative)", where=where,
                             hint="use kind = \"voltage\", \"current\" or \"ghk\"")
        lowest = (source_input.value + min((0.0,) + source_input.step_values)
                  - abs(source_input.sine_amplitude)
                  + (-math.inf if any(p.amplitude < 0 for p in source_input.pulses) else 0.0))
        if lowest < 0:
            raise self.error(f"input '{input_name}' can reach {lowest:g} {unit}, and a rate "
                             f"proportional to it would be negative", where=where,
                             hint=f"keep value + steps - |sine amplitude| >= 0 for "
                                  f"'{input_name}'")
        k = units.evaluate_quantity(rate_spec["k"], parameters=parameters, source=self.source,
                                    where=where)
        per_unit = k * units.unit_of(unit)
        c = units.stochastic_rate_constant(per_unit, reactant_orders=orders,
                                           volume_litre=self.volume, source=self.source,
                                           where=where)
        return c, "input", index, 0.0

    def current_law(self, kind, rate_spec, parameters, orders, key, index, where):
        """(c, kind, input, v_param) of ions carried through open channels.

        ``current``: ``c = fraction · γ · 1 mV / (z e)`` (ions/s per mV of driving force per
        channel) with ``f(V) = max(0, E_rev − V)`` in mV, stored as ``v_param = E_rev``:
        the linear rule "a fraction of the channel current is carried by the ion"
        (docs/science.md §2.3: 10 % of a 50 pS NMDAR current at −65 mV ≈ 1.0×10³ Ca²⁺/ms).
        ``ghk``: ``c = k`` (ions/s per channel at 0 mV) with the Goldman–Hodgkin–Katz
        influx shape for a negligible inside concentration, ``f(V) = u/(exp(u) − 1)``,
        ``u = z V / V_T``, ``V_T = R T / F``; stored as ``v_param = V_T / z`` (mV).
        """
        charge = float(units.evaluate_quantity(rate_spec.get("charge", 2), parameters=parameters,
                                               source=self.source, where=where))
        if charge <= 0 or not math.isfinite(charge):
            raise self.error(f"the ion's charge must be a positive number, got {charge}",
                             where=where, hint="charge = 2 for Ca2+")
        if kind == "current":
            missing = [f for f in ("conductance", "fraction") if f not in rate_spec]
            if missing:
                raise self.error(f"a current rate needs {' and '.join(missing)}", where=where,
                                 hint="e.g. { kind = \"current\", conductance = \"50 pS\", "
                                      "fraction = 0.1, reversal = \"0 mV\" }")
            g = units.evaluate_quantity(rate_spec["conductance"], parameters=parameters,
                                        source=self.source, where=where)
            if not hasattr(g, "to") or g.dimensionality != units.unit_of("pS").dimensionality:
                raise self.error(f"conductance must be a conductance such as '50 pS', got "
                                 f"'{rate_spec['conductance']}'", where=where)
            fraction = float(units.evaluate_quantity(rate_spec["fraction"],
                                                     parameters=parameters,
                                                     source=self.source, where=where))
            if not (0 <= fraction <= 1):
                raise self.error(f"fraction must be in [0, 1], got {fraction}", where=where)
            reversal = units.millivolts(rate_spec.get("reversal", "0 mV"),
                                        parameters=parameters, source=self.source,
                                        where=where)
            c = (fraction * float(g.to("S").magnitude) * 1e-3
                 / (charge * _ELEMENTARY_CHARGE_C))
            return float(c), "current", index, float(reversal)
        if "k" not in rate_spec:
            raise self.error("a ghk rate needs k (ions/s per channel at 0 mV)", where=where)
        c = self.rate_constant(rate_spec["k"], parameters, orders, key)
        temperature = units.evaluate_quantity(rate_spec.get("temperature", "308.15 K"),
                                              parameters=parameters, source=self.source,
                                              where=where)
        kelvin = (float(temperature.to("kelvin").magnitude) if hasattr(temperature, "to")
                  else float(temperature))
        if not kelvin > 0:
            raise self.error(f"temperature must be above 0 K, got {kelvin} K", where=where)
        thermal_mv = 1e3 * _GAS_CONSTANT * kelvin / _FARADAY
        return c, "ghk", index, thermal_mv / charge

    def rate_constant(self, rate_spec, parameters, orders, key) -> float:
        where = self.where("reactions", key, "rate")
        if isinstance(rate_spec, bool) or not isinstance(rate_spec, (int, float, str)):
            raise self.error("a rate must be a number (1/s), a quantity such as '6.8 /uM/s', "
                             "an expression of parameters, or a table for a time-dependent "
                             "rate (kind = \"voltage\" or \"input\")", where=where)
        value = units.evaluate_quantity(rate_spec, parameters=parameters, source=self.source,
                                        where=where)
        return units.stochastic_rate_constant(value, reactant_orders=orders,
                                              volume_litre=self.volume, source=self.source,
                                              where=where)

    def check_capacity(self, agent_types, reactions):
        """Fill in the default capacity (creation rules get headroom, others none), then
        refuse a model whose agents would need more engine storage per trajectory than
        ``STOCHSYN_MAX_AGENT_MB`` (:func:`agent_storage_bytes`)."""
        creates = {t for r in reactions for t, frm, _ in r.agent_moves if frm < 0}
        for k, agent in enumerate(agent_types):
            total = sum(agent.initial)
            if agent.capacity < 0:
                capacity = max(2 * total, total + 1000) if k in creates else total
                agent_types[k] = AgentType(agent.name, agent.sites, agent.ring_size,
                                           agent.initial, capacity, agent.complex_size)
        storage = agent_storage_bytes(agent_types, reactions, self.agent_state_base)
        limit_mb = limits.value("agent_mb")
        if sum(storage.values()) > limit_mb * 1e6:
            name, largest = max(storage.items(), key=lambda item: item[1])
            agent = next(a for a in agent_types if a.name == name)
            raise self.error(
                limits.exceeded("agent_mb", "the agent storage the engine needs for one "
                                "trajectory", round(sum(storage.values()) / 1e6, 1))
                + f"; agent type '{name}' alone needs {largest / 1e6:,.1f} MB (room for "
                  f"{agent.capacity:,} agents in {len(agent.states):,} states)",
                where=self.where("agents", name),
                hint="lower the counts in 'initial' (or 'capacity'), or use fewer sites: the "
                     "engine keeps, for every agent it has room for, one list entry per "
                     "state; " + limits.how_to_raise("agent_mb"))



def agent_storage_bytes(agent_types, reactions, agent_state_base) -> dict[str, int]:
    """Bytes of agent storage the engine allocates for one trajectory, per agent type.

    For every agent slot of a type (its capacity) the engine keeps six int64 entries (state,
    positions, id, free list), one entry in the member list of each of the type's states,
    and one in that of each ring pair class (a target and a neighbour state that a
    neighbour rule reads); the compiled network of a ring type adds a table of
    states x states classes. This is the estimate that :meth:`ReactionReader.check_capacity`
    holds against ``STOCHSYN_MAX_AGENT_MB`` before anything of that size is made.
    """
    classes: dict[str, set] = {}
    for reaction in reactions:
        if reaction.neighbour is not None:
            target = reaction.neighbour[0]
            for agent in agent_types:
                base = agent_state_base[agent.name]
                if base <= target < base + len(agent.states):
                    classes.setdefault(agent.name, set()).add(reaction.neighbour)
    result = {}
    for agent in agent_types:
        n_states = len(agent.states)
        entries = agent.capacity * (6 + n_states + len(classes.get(agent.name, ())))
        if agent.ring_size:
            entries += n_states * n_states
        result[agent.name] = 8 * entries
    return result
