"""The spec reader: a model spec (the dict of a TOML model file, ``docs/model-format.md``)
into the validated, expanded fields of a :class:`~stochsyn.model.model.Model`.

:func:`read_spec` resolves includes, checks every table, converts units once to the
engine's canonical units (molecule counts, seconds), evaluates parameter expressions and
expands agent rules into concrete reactions; :meth:`Model.from_dict
<stochsyn.model.model.Model.from_dict>` makes the Model of what it returns. Errors name the
source, the item (and the line, when known) and how to fix it.
"""

from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Mapping

from .. import limits
from . import expressions, units
from .balance import check_detailed_balance
from .clamp import ClampReader
from .compose import compose
from .elements import CONTINUOUS_ATOL, CONTINUOUS_RTOL, STATE_KINDS, Input, Intervention
from .errors import ModelError, shorten
from .membrane import read_channels, read_membrane, read_pulse_rules, read_steps
from .reaction_reader import ReactionReader
from .temperature import celsius, scaling
from .variants import apply_variants, check_fixed_sites
from .rules import (AgentType, Term, is_name, parse_observable, parse_pattern_sites,
                    single_valued, suggestion)

_TOP_LEVEL = ("model", "parameters", "inputs", "species", "agents", "reactions",
              "observables", "interventions", "channels", "membrane", "continuous",
              "temperature", "variants")
_INPUT_KEYS = ("unit", "value", "sine", "steps", "release", "bap", "depolarisation", "note")
_SINE_KEYS = ("amplitude", "frequency", "phase")
#: The name under which [parameters] expressions read the [model] volume.
MODEL_VOLUME = "model_volume"
_AGENT_KEYS = ("sites", "initial", "ring_size", "complex_size", "capacity", "note")
_INTERVENTION_KEYS = ("time", "set", "add", "parameters", "rates", "note")
_CONTINUOUS_KEYS = ("species", "rtol", "atol", "linear", "note")

def read_spec(data: Mapping[str, Any], *, source: str = "<dict>",
              locations: Mapping[tuple, int] | None = None) -> dict[str, Any]:
    """The fields of the Model that ``data`` describes (keyword arguments of
    :class:`~stochsyn.model.model.Model`); see :meth:`Model.from_dict
    <stochsyn.model.model.Model.from_dict>` for the parameters.

    Raises
    ------
    ModelError
        For any problem in the data, naming the source, the item and how to fix it.
    """
    if not isinstance(data, Mapping):
        raise ModelError("a model must be a table (dict) at the top level", source=source)
    _check_nesting(data, source)
    header = data.get("model")
    if isinstance(header, Mapping) and "include" in header:
        data, locations = compose(data, source=source, locations=locations)
    spec = _plain(copy.deepcopy(dict(data)), source)
    # Variants (named mutations) rewrite a copy; the spec keeps their names, not their
    # result, so with_parameters and the hash see which variants a model has.
    mutated, fixed, variants = apply_variants(spec, source)
    fields = _Builder(mutated, source, locations or {}).build()
    check_fixed_sites(fixed, variants, fields, source)
    fields["spec"] = spec
    return fields


def _check_nesting(data: Mapping, source: str) -> None:
    """Refuse a model dict nested more than :data:`stochsyn.limits.DATA_DEPTH` levels deep
    (or one that contains itself), before anything walks it recursively."""
    stack = [(data, 0, "")]
    while stack:
        value, depth, path = stack.pop()
        if depth > limits.DATA_DEPTH:
            raise ModelError(f"the model is nested more than {limits.DATA_DEPTH} levels deep "
                             "(or contains itself)", source=source,
                             where=f"[{shorten(path)}]" if path else None,
                             hint="a model needs at most 4 levels of tables and arrays "
                                  "(docs/model-format.md)")
        if isinstance(value, Mapping):
            stack.extend((item, depth + 1, f"{path}.{key}" if path else str(key))
                         for key, item in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1, path) for item in value)


def _plain(value, source, path=""):
    """Copy a TOML-like structure into plain dicts and lists (keys must be strings)."""
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise ModelError(f"the key {key!r} is not a string", source=source,
                                 where=f"[{path}]" if path else "top level",
                                 hint="write every name in a model as a string, as in a "
                                      "TOML file")
        return {k: _plain(v, source, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, source, path) for v in value]
    return value


def _override(current, value, name, source):
    """Spec value for a parameter override (see Model.with_parameters)."""
    if isinstance(value, bool):
        raise ModelError(f"parameter '{name}' cannot be a boolean", source=source)
    if isinstance(value, numbers.Real):
        unit = units.bare_number_unit(current)      # the unit `info` shows it in
        return float(value) if unit is None else f"{float(value)!r} * ({unit})"
    if isinstance(value, str):
        return value
    if hasattr(value, "units") and hasattr(value, "magnitude"):
        return f"{float(value.magnitude)!r} * ({value.units})"
    raise ModelError(f"parameter '{name}' must be a number, a string such as '0.1 /s' or a "
                     f"pint Quantity, not {type(value).__name__}", source=source)


class _Builder(ReactionReader, ClampReader):
    """Validates a model spec and assembles the fields of its Model (one pass, top to
    bottom)."""

    def __init__(self, spec: dict, source: str, locations: Mapping[tuple, int]):
        self.spec = spec
        self.source = source
        self.locations = locations

    # -- helpers ---------------------------------------------------------------
    def where(self, table: str, key=None, field_name: str | None = None) -> str:
        if table == "reactions":
            text = f"reaction {key!r}" if isinstance(key, str) else f"reactions[{key}]"
        elif table == "interventions":
            text = f"interventions[{key}]"
        elif key is None:
            text = f"[{table}]"
        else:
            text = f"[{table}] {key!r}"
        line = self.locations.get((table, key))
        if isinstance(line, tuple):           # an item from an included fragment
            text += f" ({line[0]}, line {line[1]})"
        elif line is not None:
            text += f" (line {line})"
        if field_name:
            text += f", field '{field_name}'"
        return text

    def names_in(self, text: str, where: str) -> frozenset:
        try:
            return expressions.parse(text).names
        except ModelError as exc:
            raise ModelError(exc.message, source=self.source, where=where,
                             hint=exc.hint) from None

    def error(self, message, where=None, hint=None) -> ModelError:
        return ModelError(message, source=self.source, where=where, hint=hint)

    def refuse_unknown(self, body: Mapping, allowed, where: str, noun: str = "key",
                       context: str = "") -> None:
        """Raise for the first key of ``body`` not in ``allowed``: "unknown {noun} 'k'
        {context}", with the closest allowed key, or the list, as the hint."""
        for key in body:
            if key not in allowed:
                raise self.error(f"unknown {noun} '{key}'{context}", where=where,
                                 hint=suggestion(key, allowed)
                                 or f"allowed: {', '.join(allowed)}")

    def table(self, name: str) -> dict:
        value = self.spec.get(name, {})
        if not isinstance(value, Mapping):
            raise self.error(f"[{name}] must be a table of name = value entries",
                             where=f"[{name}]")
        return value

    # -- build -----------------------------------------------------------------
    def build(self) -> dict[str, Any]:
        for key in self.spec:
            if key not in _TOP_LEVEL:
                raise self.error(f"unknown top-level table [{key}]", where=self.where(key),
                                 hint=suggestion(key, _TOP_LEVEL)
                                 or f"allowed tables: {', '.join(_TOP_LEVEL)}")
        header = self.table("model")
        self.refuse_unknown(header, ("name", "description", "volume", "temperature", "note",
                                     "variants"), "[model]", context=" in [model]")
        name = header.get("name", "model")
        if not isinstance(name, str):
            raise self.error("the model name must be a string", where="[model]")
        volume = None
        if "volume" in header:
            volume = units.volume_litre(header["volume"], source=self.source,
                                        where=self.where("model", "volume"))
        self.volume = volume
        temperature_c = None
        if "temperature" in header:
            temperature_c = celsius(header["temperature"], source=self.source,
                                    where=self.where("model", "temperature"))
        raw_reactions = self.spec.get("reactions", [])
        labels = ([body.get("name", f"r{i}") if isinstance(body, Mapping) else f"r{i}"
                   for i, body in enumerate(raw_reactions)]
                  if isinstance(raw_reactions, list) else [])
        temperature_scaling, self.temperature_factors = scaling(
            self.spec, labels, model_c=temperature_c, source=self.source)

        parameters = self.parameters()
        self.parameter_values = parameters
        self.inputs = self.read_inputs(parameters)
        species_names, x0_plain = self.plain_species()
        agent_types = self.agent_types()
        self.check_unique_names(species_names, agent_types, parameters)

        species = list(species_names)
        x0 = list(x0_plain)
        agent_state_base = {}
        for agent in agent_types:
            agent_state_base[agent.name] = len(species)
            species.extend(agent.state_label(s) for s in agent.states)
            x0.extend(agent.initial)
        species_index = {n: i for i, n in enumerate(species_names)}
        self.species_index, self.agent_types_list = species_index, agent_types
        self.species_labels = species
        self.agent_state_base = agent_state_base
        channels = read_channels(self, parameters, species_index, agent_types,
                                 agent_state_base)
        self.membrane = read_membrane(self, parameters, self.inputs, channels)

        reactions = self.apply_clamps(self.reactions(parameters, species_index, agent_types,
                                                     agent_state_base), species)
        check_detailed_balance(reactions, self.balanced_rules, species, source=self.source,
                               where_of=lambda rule: self.where("reactions", rule))
        self.check_capacity(agent_types, reactions)
        if not (species_names or agent_types or reactions or self.membrane):
            # nothing would happen in a run (a [membrane] alone is a passive head: its
            # voltage is simulated, so that is a model)
            raise self.error("the model has no species, agents or reactions",
                             hint="a model declares its molecules under [species] (or "
                                  "[agents.NAME]) and what happens to them as [[reactions]] "
                                  "(docs/model-format.md); is this the model file you meant?")
        observables = self.observables(species_index, agent_types, agent_state_base,
                                       set(species_names) | {a.name for a in agent_types}
                                       | set(parameters))
        self.x0 = tuple(x0)
        interventions = self.interventions(species_index, parameters, reactions)
        continuous, tolerance = self.continuous(species, species_index, agent_types,
                                                channels, reactions, parameters)
        linear = self.table("continuous").get("linear", True)
        if not isinstance(linear, bool):
            raise self.error(f"[continuous] linear must be true or false, got {linear!r}",
                             where=self.where("continuous", "linear"),
                             hint="linear = false integrates every interval with Rodas4 "
                                  "(docs/model-format.md, \"Continuous species\")")
        return dict(
            name=name, description=str(header.get("description", "")), source=self.source,
            volume_litre=volume, species=tuple(species), n_plain_species=len(species_names),
            x0=tuple(x0), agent_types=tuple(agent_types), agent_state_base=agent_state_base,
            reactions=tuple(reactions), parameters=parameters, observables=observables,
            interventions=tuple(interventions), spec=self.spec, inputs=tuple(self.inputs),
            channels=channels, membrane=self.membrane, continuous=continuous,
            continuous_tolerance=tolerance, continuous_linear=linear,
            temperature_c=temperature_c,
            temperature_scaling=temperature_scaling,
            clamps=tuple((species_index[n], i) for n, i in self.clamps.items()))

    def continuous(self, species, species_index, agent_types, channels, reactions,
                   parameters):
        """The ``[continuous]`` table: (species indices in declaration order, (rtol, atol)).

        Only plain species can be continuous. Refused, with the species named: agent types
        and states (tracked one by one), a channel's open states (the membrane conductance
        changes at events only), and a species that a time-dependent rate reads (its
        integrated hazard would need the ODE inside the input's quadrature).
        """
        raw = self.table("continuous")
        tolerance = (CONTINUOUS_RTOL, CONTINUOUS_ATOL)
        if not raw:
            return (), tolerance
        where = self.where("continuous")
        self.refuse_unknown(raw, _CONTINUOUS_KEYS, where, context=" in [continuous]")
        names = raw.get("species", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.error("[continuous] species must be a list of species names",
                             where=self.where("continuous", "species"),
                             hint='e.g. species = ["Ca", "B", "CaB"]')
        agents = {a.name for a in agent_types}
        result = []
        for name in names:
            if name in self.clamps:
                raise self.error(f"'{name}' is clamped to an input, so it cannot be "
                                 "continuous", where=self.where("continuous", "species"),
                                 hint=f"remove '{name}' from [continuous] species")
            if name in species_index:
                if species_index[name] in result:
                    raise self.error(f"[continuous] species lists '{name}' twice",
                                     where=self.where("continuous", "species"))
                result.append(species_index[name])
                continue
            if name in agents or name.split("(", 1)[0].strip() in agents:
                raise self.error(f"'{name}' is an agent type or state: agents are tracked one "
                                 "by one and cannot be continuous",
                                 where=self.where("continuous", "species"),
                                 hint="only plain species declared under [species] can be "
                                      "continuous; leave the agents discrete")
            raise self.error(f"[continuous] species names '{name}', which is not a species",
                             where=self.where("continuous", "species"),
                             hint=suggestion(name, species_index)
                             or "name plain species declared under [species] ("
                             + (", ".join(list(species_index)[:12]) or "there are none")
                             + ")")
        chosen = set(result)

        def refuse(indices, message):
            """Raise ``message`` (with {} for the names) if any of ``indices`` is chosen."""
            names = sorted({species[i] for i in indices if i in chosen})
            if names:
                raise self.error(message.format(", ".join(names)),
                                 where=self.where("continuous", "species"),
                                 hint=f"leave {', '.join(names)} discrete")

        for channel in channels:
            refuse([i for i, _ in channel.weights],
                   f"channel '{channel.name}' conducts through the continuous species {{}}; "
                   "the membrane conductance changes only at events, so open channels must "
                   "be counted")
        for reaction in reactions:
            if reaction.kind in STATE_KINDS:
                continue
            read = sorted({species[i] for i, _ in reaction.reactants if i in chosen})
            if read:
                raise self.error(f"reaction '{reaction.rule}' has a time-dependent rate "
                                 f"(kind = \"{reaction.kind}\") and reads the continuous "
                                 f"species {', '.join(read)}; the engine cannot integrate "
                                 "such a hazard", where=self.where("continuous", "species"),
                                 hint=f"leave {', '.join(read)} discrete (a time-dependent "
                                      "reaction may produce continuous species, not consume "
                                      "them)")
        for reaction in reactions:
            if reaction.flux:
                self.check_flux(reaction, chosen, species)
        rtol = raw.get("rtol", CONTINUOUS_RTOL)
        if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) \
                or not (0 < rtol < 1):
            raise self.error(f"[continuous] rtol must be a number in (0, 1), got {rtol!r}",
                             where=self.where("continuous", "rtol"), hint="e.g. rtol = 1e-6")
        atol = CONTINUOUS_ATOL
        if "atol" in raw:
            atol = units.molecules(raw["atol"], what="[continuous] atol",
                                   volume_litre=self.volume, source=self.source,
                                   where=self.where("continuous", "atol"),
                                   parameters=parameters)
        return tuple(result), (float(rtol), float(atol))

    def parameters(self) -> dict[str, Any]:
        """Evaluate parameters in dependency order (they may refer to each other)."""
        raw = self.table("parameters")
        for name in raw:
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid parameter name",
                                 where=self.where("parameters", name),
                                 hint="names start with a letter or '_' and contain only "
                                      "letters, digits and '_'")
        if MODEL_VOLUME in raw:
            raise self.error(f"'{MODEL_VOLUME}' is reserved: it is the model's volume",
                             where=self.where("parameters", MODEL_VOLUME),
                             hint="set [model] volume, or rename the parameter")
        # model_volume: the [model] volume, so that an included module's compartment
        # volume follows the model it is included in (e.g. ca_volume = "model_volume").
        values: dict[str, Any] = ({MODEL_VOLUME: units.registry().Quantity(self.volume, "L")}
                                  if self.volume else {})
        visiting: list[str] = []

        def evaluate(name):
            if name in values:
                return values[name]
            if name in visiting:
                cycle = " -> ".join(visiting[visiting.index(name):] + [name])
                raise self.error(f"parameters refer to each other in a cycle: {cycle}",
                                 where=self.where("parameters", name),
                                 hint="give one of them a value that does not depend on "
                                      "the others")
            value = raw[name]
            where = self.where("parameters", name)
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise self.error("a parameter must be a number or a string such as "
                                 "'6.8 /uM/s' or 'k_on * Kd'", where=where)
            if isinstance(value, str):
                visiting.append(name)
                for dependency in sorted(self.names_in(value, where)):
                    if dependency == MODEL_VOLUME and not self.volume:
                        raise self.error(f"parameter '{name}' uses {MODEL_VOLUME}, but the "
                                         "model sets no volume", where=where,
                                         hint="set [model] volume (e.g. volume = \"0.1 fL\") "
                                              "in the model that includes this file")
                    if dependency in raw and dependency != name:
                        evaluate(dependency)
                    elif dependency == name:
                        raise self.error(f"parameter '{name}' refers to itself", where=where)
                visiting.pop()
            result = units.evaluate_quantity(value, parameters=values, source=self.source,
                                             where=where)
            magnitude = getattr(result, "magnitude", result)
            if not math.isfinite(float(magnitude)):
                raise self.error(f"parameter '{name}' is not finite ({value!r})", where=where)
            values[name] = result
            return result

        for name in raw:
            evaluate(name)
        return {name: values[name] for name in raw}

    def plain_species(self):
        raw = self.table("species")
        names, counts = [], []
        self.clamps: dict[str, int] = {}     # clamped species -> input index
        for name, value in raw.items():
            where = self.where("species", name)
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid species name", where=where,
                                 hint="names start with a letter or '_' and contain only "
                                      "letters, digits and '_'")
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in ("initial", "clamp", "note")]
                if unknown:
                    raise self.error(f"unknown key '{unknown[0]}' for species '{name}'",
                                     where=where, hint="use 'initial', 'clamp' (and 'note')")
                if "clamp" in value:
                    names.append(name)
                    counts.append(self.clamp_species(name, value, where))
                    continue
                value = value.get("initial", 0)
            if isinstance(value, bool):
                raise self.error("an initial amount cannot be a boolean", where=where)
            names.append(name)
            counts.append(units.molecule_count(value, volume_litre=self.volume,
                                               source=self.source, where=where,
                                               parameters=self.parameter_values))
        return names, counts

    def agent_types(self) -> list[AgentType]:
        raw = self.table("agents")
        result = []
        states_so_far = 0
        for name, body in raw.items():
            where = self.where("agents", name)
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid agent type name", where=where)
            if not isinstance(body, Mapping):
                raise self.error(f"[agents.{name}] must be a table with 'sites' and 'initial'",
                                 where=where)
            self.refuse_unknown(body, _AGENT_KEYS, where, context=f" in [agents.{name}]")
            sites = body.get("sites")
            if not isinstance(sites, Mapping) or not sites:
                raise self.error(f"agent type '{name}' needs 'sites', a table of "
                                 "site = [values]", where=where,
                                 hint='e.g. sites = { loc = ["endo", "extra"] }')
            site_list = []
            for site, values in sites.items():
                if not is_name(site) or site == "count":
                    raise self.error(f"'{site}' is not a valid site name for '{name}'",
                                     where=where, hint="'count' is reserved")
                if (not isinstance(values, list) or not values
                        or not all(isinstance(v, str) and is_name(v) for v in values)):
                    raise self.error(f"site '{site}' of '{name}' needs a non-empty list of "
                                     "value names", where=where, hint='e.g. ["u", "p"]')
                if len(set(values)) != len(values):
                    raise self.error(f"site '{site}' of '{name}' lists a value twice",
                                     where=where)
                site_list.append((site, tuple(values)))
            ring_size = body.get("ring_size", 0)
            if isinstance(ring_size, bool) or not isinstance(ring_size, int) or ring_size < 0 \
                    or ring_size == 1:
                raise self.error(f"ring_size of '{name}' must be an integer >= 2 (or 0 for "
                                 "no ring)", where=where)
            n_states = math.prod(len(values) for _, values in site_list)
            states_so_far += n_states
            if states_so_far > limits.value("agent_states"):
                raise self.error(limits.exceeded(
                    "agent_states", f"the number of states of agent type '{name}' ("
                    + " × ".join(str(len(values)) for _, values in site_list[:12])
                    + (" × …" if len(site_list) > 12 else "") + " site values"
                    + (f", with {states_so_far - n_states:,} of the types before it"
                       if states_so_far > n_states else "") + ")", states_so_far),
                    where=where, hint="every combination of site values is a state, so "
                    "each site multiplies their number: split the type into agent types "
                    "with fewer sites, or model independent sites as species; "
                    + limits.how_to_raise("agent_states"))
            complex_size = body.get("complex_size", 0)
            if complex_size and (isinstance(complex_size, bool)
                                 or not isinstance(complex_size, int) or not ring_size
                                 or complex_size < ring_size or complex_size % ring_size):
                raise self.error(f"complex_size of '{name}' must be a whole number of rings "
                                 f"(a multiple of ring_size = {ring_size})" if ring_size else
                                 f"complex_size of '{name}' needs rings: complexes are made "
                                 "of whole rings", where=where,
                                 hint="e.g. ring_size = 6, complex_size = 12 for CaMKII "
                                      "holoenzymes of two hexameric rings")
            prototype = AgentType(name, tuple(site_list), ring_size, (), 0)
            initial = [0] * len(prototype.states)
            entries = body.get("initial", [])
            if isinstance(entries, Mapping):
                entries = [entries]
            if not isinstance(entries, list):
                raise self.error(f"'initial' of '{name}' must be a list of "
                                 "{ count = N, site = value } tables", where=where)
            for entry in entries:
                if not isinstance(entry, Mapping) or "count" not in entry:
                    raise self.error(f"each 'initial' entry of '{name}' needs a 'count'",
                                     where=where, hint="e.g. { count = 50, loc = \"endo\" }")
                pattern = {k: v for k, v in entry.items() if k != "count"}
                if not all(isinstance(v, str) for v in pattern.values()):
                    raise self.error(f"site values in 'initial' of '{name}' must be strings",
                                     where=where)
                text = ", ".join(f"{k}={v}" for k, v in pattern.items())
                pattern = parse_pattern_sites(text, prototype, source=self.source, where=where)
                single_valued(Term(1, name, pattern), what="an 'initial' entry of",
                              source=self.source, where=where)
                full = {site: pattern.get(site, values[0]) for site, values in site_list}
                count = units.molecule_count(entry["count"], volume_litre=self.volume,
                                             source=self.source, where=where,
                                             parameters=self.parameter_values)
                initial[prototype.matching(full)[0]] += count
            total = sum(initial)
            if complex_size and total % complex_size:
                raise self.error(f"agent type '{name}' forms complexes of {complex_size} but "
                                 f"has {total} agents, not a multiple of {complex_size}",
                                 where=where, hint="change the counts in 'initial'")
            if ring_size and total % ring_size:
                raise self.error(f"agent type '{name}' forms rings of {ring_size} but has "
                                 f"{total} agents, not a multiple of {ring_size}", where=where,
                                 hint=f"change the counts in 'initial' to a total that "
                                      f"is a multiple of {ring_size}, or change 'ring_size'")
            capacity = body.get("capacity", None)
            if capacity is not None and (isinstance(capacity, bool)
                                         or not isinstance(capacity, int) or capacity < total
                                         or capacity > units.MAX_COUNT):
                raise self.error(f"capacity of '{name}' must be an integer >= its initial "
                                 f"number ({total}) and <= {units.MAX_COUNT}", where=where)
            result.append(AgentType(name, tuple(site_list), ring_size, tuple(initial),
                                    capacity if capacity is not None else -1,
                                    complex_size))
        return result

    def check_unique_names(self, species, agent_types, parameters):
        seen: dict[str, str] = {}
        for kind, table, names in (("species", "species", species),
                                   ("agent type", "agents", [a.name for a in agent_types]),
                                   ("parameter", "parameters", list(parameters))):
            for name in names:
                if name in seen:
                    def a(noun):
                        return ("an " if noun[0] in "aeiou" else "a ") + noun
                    raise self.error(f"the name '{name}' is used for {a(seen[name])} and for "
                                     f"{a(kind)}", where=self.where(table, name),
                                     hint="rename one of them: names must be unique across "
                                     "species, agent types, parameters and observables")
                seen[name] = kind
        self.names_in_use = seen

    def read_inputs(self, parameters) -> list[Input]:
        """The [inputs] table: prescribed waveforms, each in its own unit."""
        raw = self.table("inputs")
        result = []
        for name, body in raw.items():
            where = self.where("inputs", name)
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid input name", where=where)
            if not isinstance(body, Mapping):
                raise self.error("an input must be a table such as { unit = \"mM\", "
                                 "value = 0 }", where=where)
            self.refuse_unknown(body, _INPUT_KEYS, where, noun="field",
                                context=f" in input '{name}'")
            unit = body.get("unit", "dimensionless")
            try:
                reference = units.unit_of(unit)
            except ModelError as exc:
                raise self.error(f"unknown unit {shorten(repr(unit))} for input '{name}' "
                                 f"({exc.message})", where=where,
                                 hint="e.g. unit = \"mM\", \"mV\" or \"1\"") from None
            unit = "dimensionless" if unit == "1" else unit

            def magnitude(value, what):
                q = units.evaluate_quantity(value, parameters=parameters, source=self.source,
                                            where=f"{where}, {what}")
                if hasattr(q, "dimensionality"):
                    if q.dimensionality != reference.dimensionality:
                        raise self.error(f"{what} of input '{name}' must be in {unit}, got "
                                         f"'{value}'", where=where)
                    return float((q / reference).to("dimensionless").magnitude)
                return float(q)

            value = magnitude(body.get("value", 0.0), "value")
            amplitude = frequency = phase = 0.0
            if "sine" in body:
                sine = body["sine"]
                if not isinstance(sine, Mapping) or any(k not in _SINE_KEYS for k in sine):
                    raise self.error("'sine' must be a table { amplitude, frequency, phase }",
                                     where=where)
                amplitude = magnitude(sine.get("amplitude", 0.0), "sine amplitude")
                f = units.evaluate_quantity(sine.get("frequency", 0.0), parameters=parameters,
                                            source=self.source, where=where)
                frequency = float(f.to("Hz").magnitude) if hasattr(f, "to") else float(f)
                phase = float(units.evaluate_quantity(sine.get("phase", 0.0),
                                                      parameters=parameters,
                                                      source=self.source, where=where))
                if not (frequency >= 0 and math.isfinite(frequency)):
                    raise self.error(f"the sine frequency of input '{name}' must be >= 0",
                                     where=where)
            times, values = read_steps(
                self, body.get("steps", []), f"the steps of input '{name}'", where, parameters,
                lambda value: magnitude(value, "step value"),
                example="{ time = \"10 ms\", value = … }")
            release, pulses = read_pulse_rules(self, name, body, magnitude, parameters,
                                               where)
            release = release or (-1.0, 0.0, 0.0, 0.0, 0.0)
            result.append(Input(name, unit, value, amplitude, frequency, phase,
                                tuple(times), tuple(values), *release, pulses))
        return result

    def observables(self, species_index, agent_types, agent_state_base, names_in_use):
        raw = self.table("observables")
        result = {}
        for name, text in raw.items():
            where = self.where("observables", name)
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid observable name", where=where)
            if name in names_in_use:
                raise self.error(f"the observable '{name}' has the name of a species, agent "
                                 "type or parameter", where=where,
                                 hint="names must be unique across species, agent types, "
                                      "parameters and observables")
            result[name] = parse_observable(text, species_index, agent_types, agent_state_base,
                                            source=self.source, where=where)
            clamped = [n for n in self.clamps if species_index[n] in result[name]]
            if clamped:
                raise self.error(f"the observable '{name}' reads '{clamped[0]}', which is "
                                 "clamped to an input: its count in the tables is only its "
                                 "value at t = 0", where=where,
                                 hint="leave it out of the observable; its value is the "
                                      f"input '{self.inputs[self.clamps[clamped[0]]].name}'")
        return result

    def interventions(self, species_index, parameters, reactions):
        raw = self.spec.get("interventions", [])
        if not isinstance(raw, list):
            raise self.error("'interventions' must be an array of tables ([[interventions]])")
        result = []
        for i, body in enumerate(raw):
            where = self.where("interventions", i)
            if not isinstance(body, Mapping):
                raise self.error("each [[interventions]] entry must be a table", where=where)
            self.refuse_unknown(body, _INTERVENTION_KEYS, where, noun="field")
            if "time" not in body:
                raise self.error("missing 'time'", where=where, hint="e.g. time = \"25 s\"")
            time = units.seconds(body["time"], source=self.source,
                                 where=self.where("interventions", i, "time"))
            if not math.isfinite(time) or time < 0:
                raise self.error("the time of an intervention must be finite and >= 0",
                                 where=where)
            sets, adds, labels = [], [], []
            for kind, target in (("set", sets), ("add", adds)):
                table = body.get(kind, {})
                if not isinstance(table, Mapping):
                    raise self.error(f"'{kind}' must be a table such as {{ X = 50 }}",
                                     where=where)
                for name, value in table.items():
                    if name in self.clamps:
                        raise self.error(f"'{kind}' names '{name}', which is clamped to the "
                                         f"input '{self.inputs[self.clamps[name]].name}'",
                                         where=self.where("interventions", i, kind),
                                         hint="give that input a step at this time instead")
                    if name not in species_index:
                        agent_hint = (" Agents cannot be set by interventions."
                                      if name in {a.name for a in self.agent_types_list} else "")
                        raise self.error(f"'{kind}' names unknown species '{name}'.{agent_hint}",
                                         where=self.where("interventions", i, kind),
                                         hint=suggestion(name, species_index)
                                         or "name a species declared under [species] ("
                                         + (", ".join(species_index) or "there are none")
                                         + ")")
                    if kind == "add" and isinstance(value, (int, float)) and value < 0:
                        count = -units.molecule_count(-value, volume_litre=self.volume,
                                                      source=self.source,
                                                      where=self.where("interventions", i, kind))
                    else:
                        count = units.molecule_count(value, volume_litre=self.volume,
                                                     source=self.source,
                                                     where=self.where("interventions", i, kind))
                    target.append((species_index[name], count))
                    labels.append(f"{name} {':=' if kind == 'set' else '+='} {count}")
            new_parameters = body.get("parameters", {})
            if not isinstance(new_parameters, Mapping):
                raise self.error("'parameters' must be a table such as { k_exo = \"0 /s\" }",
                                 where=where)
            labels += [f"{k} := {v}" for k, v in new_parameters.items()]
            new_rates = self.intervention_rates(body.get("rates", {}), reactions, i)
            labels += [f"rate of {k} := {c:g} /s" for k, c in new_rates.items()]
            if not (sets or adds or new_parameters or new_rates):
                raise self.error("an intervention must 'set', 'add' or change 'parameters' "
                                 "or 'rates'", where=where)
            result.append((time, i, new_parameters, new_rates,
                           Intervention(time, tuple(sets), tuple(adds), (), "; ".join(labels))))
        # Parameter and rate changes accumulate in time order; each intervention sets the
        # rates that differ from those in force just before it (not from the initial ones).
        # An explicit 'rates' entry holds until a later intervention sets that reaction's
        # rate again, explicitly or through a parameter the rate depends on.
        result.sort(key=lambda item: item[0])
        in_force = {}
        from_parameters = [r.rate for r in reactions]   # rates implied by the parameters
        current = list(from_parameters)                 # rates in force
        final = []
        for time, i, new_parameters, new_rates, intervention in result:
            if new_parameters or new_rates:
                before = list(current)
                if new_parameters:
                    in_force.update(new_parameters)
                    after = self.rates_after(in_force, parameters, i, reactions)
                    for j, c in enumerate(after):
                        if c != from_parameters[j]:
                            current[j] = c
                    from_parameters = after
                for j, reaction in enumerate(reactions):
                    if reaction.rule in new_rates:
                        current[j] = new_rates[reaction.rule]
                changed = tuple((j, c) for j, c in enumerate(current) if c != before[j])
                intervention = Intervention(time, intervention.set_counts,
                                            intervention.add_counts, changed,
                                            intervention.label)
            final.append(intervention)
        return final

    def intervention_rates(self, table, reactions, i) -> dict[str, float]:
        """The 'rates' table of an intervention: reaction (rule) name -> new c in 1/s."""
        where = self.where("interventions", i, "rates")
        if not isinstance(table, Mapping):
            raise self.error("'rates' must be a table such as { decay = \"0.2 /s\" }",
                             where=where)
        rules = list(dict.fromkeys(r.rule for r in reactions))
        result = {}
        for name, value in table.items():
            if name not in rules:
                reversible = [f"{name}_fwd", f"{name}_rev"]
                hint = (f"'{name}' is reversible: name its directions "
                        f"'{reversible[0]}' and '{reversible[1]}'"
                        if all(r in rules for r in reversible) else
                        suggestion(name, rules) or "name a reaction of the model ("
                        + (", ".join(rules[:10]) or "there are none")
                        + (", ..." if len(rules) > 10 else "") + ")")
                raise self.error(f"'rates' names unknown reaction '{name}'", where=where,
                                 hint=hint)
            result[name] = self.rate_value(value, where)
        return result

    def rate_value(self, value, where) -> float:
        """A stochastic constant c given directly: a bare number (1/s) or a quantity of
        dimension 1/time. Unlike a reaction's 'rate', no concentration unit is converted:
        the value is c itself, whatever the order of the reaction."""
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.error("a rate in 'rates' must be a number (1/s) or a quantity such as "
                             "'0.2 /s'", where=where)
        rate = units.evaluate_quantity(value, source=self.source, where=where)
        if hasattr(rate, "dimensionality"):
            if rate.dimensionality != units.registry().get_dimensionality("1/[time]"):
                raise self.error(f"a rate in 'rates' is the stochastic constant c and needs "
                                 f"1/s (time⁻¹); got '{value}'", where=where,
                                 hint="write e.g. '0.2 /s' or '1/(20 min)'; concentration "
                                      "units are converted only in a reaction's 'rate'")
            rate = float(rate.to("1/s").magnitude)
        c = float(rate)
        if not (math.isfinite(c) and c >= 0):
            raise self.error(f"a rate constant must be a finite number >= 0, got {value!r}",
                             where=where, hint="use 0 to switch a reaction off")
        return c

    def rates_after(self, new_parameters, parameters, i, reactions):
        """Rate constants of all reactions with some parameters replaced (dependent
        parameters re-evaluated). ``reactions`` are those built with the declared values,
        to check that nothing but rate constants changes."""
        where = self.where("interventions", i, "parameters")
        for name in new_parameters:
            if name not in parameters:
                raise self.error(f"unknown parameter '{name}'", where=where,
                                 hint=suggestion(name, parameters))
        spec = copy.deepcopy(self.spec)
        # A bare number keeps the parameter's declared unit, as in Model.with_parameters.
        spec["parameters"].update({name: _override(parameters[name], value, name, self.source)
                                   for name, value in new_parameters.items()})
        spec.pop("interventions", None)
        try:
            changed = read_spec(spec, source=self.source)
        except ModelError as exc:      # name the intervention, not the table it broke
            inner = f" ({exc.where})" if exc.where else ""
            raise self.error(f"with these parameter values the model is invalid{inner}: "
                             f"{exc.message}", where=where, hint=exc.hint) from None
        # Interventions can change rate constants only. A parameter that also shapes an
        # input waveform, a voltage scale or an initial count would be silently ignored.
        if changed["inputs"] != tuple(self.inputs) or changed["membrane"] != self.membrane:
            raise self.error("this intervention changes a parameter that an [inputs] waveform "
                             "or the [membrane] uses; interventions change rates only",
                             where=where,
                             hint="give the input a step at that time instead")
        if changed["x0"] != self.x0:
            raise self.error("this intervention changes a parameter that an initial count "
                             "uses; interventions change rates only", where=where,
                             hint="use 'set' or 'add' to change counts at that time")
        if ([(r.v_scale_mv, r.v_half_mv) for r in changed["reactions"]]
                != [(r.v_scale_mv, r.v_half_mv) for r in reactions]):
            raise self.error("this intervention changes a parameter that a voltage rate's "
                             "v_scale (or a boltzmann rate's v_half or v_slope) uses; "
                             "interventions change rates only", where=where,
                             hint="change k0 instead, or use two reactions")
        def law(r):
            return r.modifier, r.saturation, r.half, r.hill_n, r.repress
        if [law(r) for r in changed["reactions"]] != [law(r) for r in reactions]:
            raise self.error("this intervention changes a parameter that the K_M, K or n of a "
                             "michaelis_menten or hill rate uses; interventions change rates "
                             "only", where=where,
                             hint="change kcat, vmax or k instead (or through 'rates')")
        return [reaction.rate for reaction in changed["reactions"]]
