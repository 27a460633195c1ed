"""The Model: species, agent types, reactions, parameters, observables, interventions.

A :class:`Model` is a plain value built from a dict (the structure of a TOML model file, see
``docs/model-format.md``). Building it validates everything, converts units once to the
engine's canonical units (molecule counts, seconds) and expands agent rules into concrete
reactions. It holds no arrays: :func:`stochsyn.network.compile` makes those.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import expressions, units
from .errors import ModelError
from .membrane import (Channel, Membrane, Pulse, read_channels, read_membrane, read_pulse_rules,
                       read_steps)
from .rules import (AgentType, Term, expand_rule, is_name, parse_equation, parse_observable,
                    parse_pattern_sites, suggestion)

_TOP_LEVEL = ("model", "parameters", "inputs", "species", "agents", "reactions",
              "observables", "interventions", "channels", "membrane", "continuous")
_INPUT_KEYS = ("unit", "value", "sine", "steps", "release", "bap", "depolarisation", "note")
_SINE_KEYS = ("amplitude", "frequency", "phase")
#: Rate-law kinds a reaction's rate table may name (docs/model-format.md, "Time-dependent
#: rates" and "Reduced rate laws"); plain numbers and expressions are mass action.
#: The name under which [parameters] expressions read the [model] volume.
MODEL_VOLUME = "model_volume"
RATE_KINDS = ("mass_action", "voltage", "input", "current", "ghk", "michaelis_menten", "hill")
#: Kinds whose propensity depends on the state only (the engine keeps them in the sum tree).
STATE_KINDS = ("mass_action", "michaelis_menten", "hill")
_LAW_KEYS = {"michaelis_menten": ("kind", "kcat", "enzyme", "vmax", "km"),
             "hill": ("kind", "k", "of", "K", "n", "repress")}
#: Elementary charge (C) and the gas/Faraday constants, for current-driven influx.
_ELEMENTARY_CHARGE_C = 1.602176634e-19
_GAS_CONSTANT = 8.314462618
_FARADAY = 96485.33212
_REACTION_KEYS = ("name", "equation", "rate", "log", "neighbour", "flux", "note")
_AGENT_KEYS = ("sites", "initial", "ring_size", "capacity", "note")
_INTERVENTION_KEYS = ("time", "set", "add", "parameters", "rates", "note")
_CONTINUOUS_KEYS = ("species", "rtol", "atol", "note")
_ROLE_TEXT = {"ode": "ODE term", "coupled": "reads continuous species: hazard along y(t)",
              "jump": "discrete, changes continuous species",
              "flux": "flux: a term of dy/dt, no events"}
#: Default error control of the ODE of continuous species (stochsyn.engine.continuous):
#: relative tolerance, and absolute tolerance in molecules.
CONTINUOUS_RTOL = 1e-6
CONTINUOUS_ATOL = 1e-6


@dataclass(frozen=True)
class Reaction:
    """One concrete reaction of the expanded network.

    Attributes
    ----------
    name : str
        Unique label; for an expanded agent rule it names the states involved.
    rule : str
        Name of the rule (reaction table) it came from.
    reactants, products : tuple of (species index, stoichiometry)
    rate : float
        Stochastic rate constant c (1/s, binomial convention: a = c · Π C(x_s, ν_s)).
    agent_moves : tuple of (agent type index, from species, to species)
        -1 as "from" creates an agent, -1 as "to" destroys one.
    neighbour : (target state species, neighbour state species) or None
        Set for neighbour rules: the propensity counts ring pairs instead of the target state.
    log : bool
        Write an event record for each agent this reaction moves.
    kind : str
        Rate law: ``"mass_action"`` (``a = c · Π C(x_s, ν_s)``), ``"voltage"``
        (``a = c · exp(V(t) / v_scale_mv) · Π C``, V the input ``input``, in mV) or
        ``"input"`` (``a = c · u(t) · Π C``, u the input ``input`` in its declared unit).
    input : int
        Index into :attr:`Model.inputs` for the time-dependent kinds, else -1.
    v_scale_mv : float
        Voltage scale of the ``"voltage"`` kind (mV; negative for rates that fall with V).
    modifier : tuple of (species index, weight)
        ``"michaelis_menten"``: the enzyme, ``E = Σ w · x`` (empty: no enzyme, ``c`` is
        v_max); ``"hill"``: the regulator, ``X = Σ w · x``. Read, never changed.
    saturation : tuple of int
        ``"michaelis_menten"``: the states whose counts add up to the substrate ``S`` in
        ``K_M + S``: all the states the rule's reactant pattern matches (one for a species).
    half : float
        ``K_M`` or the Hill constant ``K``, in molecules (not rounded).
    hill_n : float
        Hill coefficient n (> 0).
    repress : bool
        Hill repression, ``K^n / (K^n + X^n)`` instead of ``X^n / (K^n + X^n)``.
    flux : bool or None
        The hybrid mode's flux role (``flux`` of the reaction table; docs/model-format.md):
        None lets a reaction that changes continuous species and leaves every discrete
        species and agent state unchanged be a flux (a term of dy/dt, no events); False
        keeps its firings as events (jumps of y); True requires the role (an error if the
        reaction cannot have it).

    The ``"michaelis_menten"`` kind has ``a = c · E · x_s / (K_M + S)`` (``x_s`` the
    reactant state, order 1) and ``"hill"`` ``a = c · Π C(x_s, ν_s) · X^n / (K^n + X^n)``.
    """

    name: str
    rule: str
    reactants: tuple[tuple[int, int], ...]
    products: tuple[tuple[int, int], ...]
    rate: float
    agent_moves: tuple[tuple[int, int, int], ...] = ()
    neighbour: tuple[int, int] | None = None
    log: bool = False
    kind: str = "mass_action"
    input: int = -1
    v_scale_mv: float = 0.0
    modifier: tuple[tuple[int, float], ...] = ()
    saturation: tuple[int, ...] = ()
    half: float = 0.0
    hill_n: float = 0.0
    repress: bool = False
    flux: bool | None = None


def flux_obstacle(reaction: Reaction, continuous, species) -> str | None:
    """Why ``reaction`` cannot be a flux of the hybrid mode with the ``continuous`` species
    (a set of indices; ``species`` their names, for the message), or None if it can.

    A flux changes continuous species and nothing else: every discrete species keeps its
    count and every agent its state (an agent "moved" to its own state, as in
    ``NMDAR(gate=O) -> NMDAR(gate=O) + Ca``, is unchanged). A logged agent rule keeps its
    events (a flux has no firings to record). With no continuous species only what no
    choice of them can change is an obstacle (agents and logging)."""
    if any(frm != to for _, frm, to in reaction.agent_moves):
        return "it moves, creates or destroys agents (agents are never continuous)"
    if reaction.log and reaction.agent_moves:
        return "it is logged (log = true), and a flux has no firings to record"
    if not continuous:
        return None
    net: dict[int, int] = {}
    for s, n in reaction.reactants:
        net[s] = net.get(s, 0) - n
    for s, n in reaction.products:
        net[s] = net.get(s, 0) + n
    changed = sorted(s for s, d in net.items() if d and s not in continuous)
    if changed:
        return ("it changes the discrete species "
                + ", ".join(species[s] for s in changed))
    if not any(d and s in continuous for s, d in net.items()):
        return "it changes no continuous species"
    return None


@dataclass(frozen=True)
class Input:
    """A prescribed, time-dependent input (s → value in ``unit``): cleft glutamate, a
    clamped membrane voltage ``V`` (mV), a drive.

    ``value(t) = value + amplitude · sin(2π · frequency_hz · t + phase) + step(t)``, where
    ``step(t)`` is the value of the last step at or before t (0 before the first), plus the
    ``pulses`` that spikes of the protocol trigger (:class:`stochsyn.model.membrane.Pulse`).
    With a release rule (``release_probability >= 0``), each presynaptic spike releases
    with that probability a vesicle of log-normal amplitude ``A`` (mean ``pulse_peak``, CV
    ``pulse_cv``, drawn in the engine from the trajectory's stream), which adds
    ``A · w_k exp(-(t - t_s)/τ_k)`` for each ``release`` pulse ``(w_k, τ_k)``.
    ``release_recovery_s`` and ``release_facilitation_s`` (0 = off) add Tsodyks–Markram
    depression and facilitation to the release site
    (:func:`stochsyn.model.membrane.read_pulse_rules`).
    """

    name: str
    unit: str
    value: float
    sine_amplitude: float = 0.0
    sine_frequency_hz: float = 0.0
    sine_phase: float = 0.0
    step_times: tuple[float, ...] = ()
    step_values: tuple[float, ...] = ()
    release_probability: float = -1.0
    pulse_peak: float = 0.0
    pulse_cv: float = 0.0
    release_recovery_s: float = 0.0
    release_facilitation_s: float = 0.0
    pulses: tuple[Pulse, ...] = ()

    def __call__(self, t):
        """The input at time(s) ``t`` (s), in its unit (vectorised over numpy arrays),
        without the pulses (which depend on the protocol's spikes)."""
        import numpy as np
        t = np.asarray(t, dtype=float)
        out = self.value + self.sine_amplitude * np.sin(
            2 * math.pi * self.sine_frequency_hz * t + self.sine_phase)
        if self.step_times:
            k = np.searchsorted(np.asarray(self.step_times), t, side="right") - 1
            steps = np.concatenate(([0.0], self.step_values))
            out = out + steps[k + 1]
        return out


@dataclass(frozen=True)
class Intervention:
    """A timed change applied at exactly ``time`` (s), before the sample at that time."""

    time: float
    set_counts: tuple[tuple[int, int], ...] = ()     # (species index, new count)
    add_counts: tuple[tuple[int, int], ...] = ()     # (species index, change)
    set_rates: tuple[tuple[int, float], ...] = ()    # (reaction index, new c in 1/s)
    label: str = ""


@dataclass(frozen=True, eq=False)
class Model:
    """A validated, expanded stochastic model. Build it with :meth:`from_dict` or
    :func:`stochsyn.load_model`; derive variants with :meth:`with_parameters`."""

    name: str
    description: str
    source: str
    volume_litre: float | None
    species: tuple[str, ...]
    n_plain_species: int
    x0: tuple[int, ...]
    agent_types: tuple[AgentType, ...]
    agent_state_base: Mapping[str, int]
    reactions: tuple[Reaction, ...]
    parameters: Mapping[str, Any]
    observables: Mapping[str, Mapping[int, float]]
    interventions: tuple[Intervention, ...]
    spec: Mapping[str, Any] = field(repr=False)
    inputs: tuple[Input, ...] = ()
    channels: tuple[Channel, ...] = ()
    membrane: Membrane | None = None
    continuous: tuple[int, ...] = ()
    continuous_tolerance: tuple[float, float] = (CONTINUOUS_RTOL, CONTINUOUS_ATOL)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>",
                  locations: Mapping[tuple, int] | None = None) -> "Model":
        """Build a model from the structure of a TOML model file.

        Parameters
        ----------
        data : mapping
            Keys ``model``, ``parameters``, ``species``, ``agents``, ``reactions``,
            ``observables``, ``interventions`` (see ``docs/model-format.md``).
        source : str
            Where the data came from, used in error messages; the paths of
            ``[model] include`` are relative to its folder (to the working directory for
            ``"<dict>"``).
        locations : mapping, optional
            (table, key) -> line number, so errors can name the line of a file; or
            -> (file, line) for an item from another file (an included fragment).

        Raises
        ------
        ModelError
            For any problem in the data, naming the source, the item and how to fix it.
        """
        if not isinstance(data, Mapping):
            raise ModelError("a model must be a table (dict) at the top level", source=source)
        header = data.get("model")
        if isinstance(header, Mapping) and "include" in header:
            from .compose import compose
            data, locations = compose(data, source=source, locations=locations)
        spec = _plain(copy.deepcopy(dict(data)), source)
        return _Builder(spec, source, locations or {}).build()

    def with_parameters(self, **values) -> "Model":
        """A new model with some parameters replaced; kernels are not recompiled.

        A bare number keeps the unit the parameter was written with
        (``k_exo="0.05 /s"`` then ``with_parameters(k_exo=0.1)`` means 0.1 /s); a string is
        read like a value in the model file.
        """
        spec = copy.deepcopy(dict(self.spec))
        declared = spec.setdefault("parameters", {})
        for name, value in values.items():
            if name not in declared:
                raise ModelError(f"the model has no parameter '{name}'", source=self.source,
                                 hint=suggestion(name, declared))
            spec["parameters"][name] = _override(self.parameters[name], value, name,
                                                 self.source)
        return Model.from_dict(spec, source=self.source)

    def with_continuous(self, species, *, rtol: float | None = None,
                        atol: float | str | None = None) -> "Model":
        """A new model whose ``species`` are continuous (the hybrid mode); ``[]`` or None
        gives the exact model back.

        Continuous species evolve by the deterministic rate equations of the reactions that
        involve only them, between the events of the others (``docs/model-format.md``,
        "Continuous species"). The list replaces any ``[continuous] species`` of the model;
        ``rtol`` and ``atol`` (molecules) set the ODE's error control (default: the model's,
        else 1e-6 and 1e-6). Kernels are not recompiled.

        Parameters
        ----------
        species : str or iterable of str
            Names of plain species (declared under ``[species]``).

        Raises
        ------
        ModelError
            An unknown species, an agent type or state, or a species that something which
            needs integer counts reads (a channel's open states, a time-dependent rate).
        """
        if species is None:
            species = []
        elif isinstance(species, str):
            species = [species]
        else:
            species = list(species)
        spec = copy.deepcopy(dict(self.spec))
        table = dict(spec.get("continuous", {}))
        if not species:
            if rtol is not None or atol is not None:
                raise ModelError("rtol and atol need continuous species", source=self.source,
                                 hint="name the species: with_continuous(['Ca', ...], "
                                      "rtol=...)")
            spec.pop("continuous", None)
            return Model.from_dict(spec, source=self.source)
        table["species"] = species
        if rtol is not None:
            table["rtol"] = rtol
        if atol is not None:
            table["atol"] = atol
        spec["continuous"] = table
        return Model.from_dict(spec, source=self.source)

    @property
    def continuous_species(self) -> tuple[str, ...]:
        """Names of the continuous species (empty for the exact model)."""
        return tuple(self.species[i] for i in self.continuous)

    def to_sbml(self, path) -> "Path":
        """Write the model as SBML Level 3 Version 2 (needs python-libsbml).

        Agent rules are written as their expanded reactions; what SBML core cannot say
        (agent types, ring neighbours, logging) goes into a stochsyn annotation that
        :func:`stochsyn.load_model` reads back. See ``docs/model-format.md``.

        Parameters
        ----------
        path : str or Path
            Output file, conventionally ``*.xml``.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        ModelError
            If python-libsbml is not installed or the file cannot be written.
        """
        from .sbml import write_sbml
        return write_sbml(self, path)

    # ------------------------------------------------------------------ views
    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def plain_species(self) -> tuple[str, ...]:
        return self.species[: self.n_plain_species]

    @property
    def hash(self) -> str:
        """SHA-256 of the model's canonical JSON form (provenance)."""
        text = json.dumps(self.spec, sort_keys=True, default=str, ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def species_index(self, name: str) -> int:
        try:
            return self.species.index(name)
        except ValueError:
            raise KeyError(f"no species '{name}' in model '{self.name}'. "
                           f"{suggestion(name, self.species) or ''}".strip()) from None

    def agent_type_of(self, species: int) -> int:
        """Agent type index of an agent-state species, -1 for a plain species."""
        for t, agent in enumerate(self.agent_types):
            base = self.agent_state_base[agent.name]
            if base <= species < base + len(agent.states):
                return t
        return -1

    def info(self) -> str:
        """A human-readable description of the expanded model (``stochsyn info``)."""
        lines = [f"model {self.name!r} ({self.source})"]
        if self.description:
            lines.append(f"  {self.description}")
        if self.volume_litre:
            lines.append(f"volume: {self.volume_litre * 1e15:g} fL")
        lines.append(f"parameters ({len(self.parameters)}):")
        for name, value in self.parameters.items():
            lines.append(f"  {name} = {value}")
        lines.append(f"species ({self.n_plain_species}):")
        for i in range(self.n_plain_species):
            lines.append(f"  {self.species[i]}: {self.x0[i]}"
                         + ("   (continuous)" if i in self.continuous else ""))
        if self.continuous:
            lines.append(f"hybrid mode: {len(self.continuous)} continuous species, ODE error "
                         f"control rtol = {self.continuous_tolerance[0]:g}, atol = "
                         f"{self.continuous_tolerance[1]:g} molecules")
        for agent in self.agent_types:
            ring = f", rings of {agent.ring_size}" if agent.ring_size else ""
            lines.append(f"agent type {agent.name} ({sum(agent.initial)} agents{ring}, "
                         f"{len(agent.states)} states):")
            base = self.agent_state_base[agent.name]
            for k, state in enumerate(agent.states):
                lines.append(f"  [{base + k}] {agent.state_label(state)}: {agent.initial[k]}")
        if self.inputs:
            lines.append(f"inputs ({len(self.inputs)}):")
            for k, item in enumerate(self.inputs):
                wave = f"{item.value:g}"
                if item.sine_amplitude:
                    wave += (f" + {item.sine_amplitude:g}·sin(2π·{item.sine_frequency_hz:g} Hz·t"
                             f" + {item.sine_phase:g})")
                if item.step_times:
                    wave += " + steps at " + ", ".join(f"{t:g} s" for t in item.step_times)
                if item.release_probability >= 0:
                    wave += (f" + release (p = {item.release_probability:g}, mean peak "
                             f"{item.pulse_peak:g}, CV {item.pulse_cv:g})")
                for trigger, what in (("release", "each release"), ("pre", "each pre spike"),
                                      ("post", "each post spike (bAP)")):
                    parts = [f"{p.amplitude:g}·{'α' if p.shape == 'alpha' else 'exp'}"
                             f"(τ {p.tau_s * 1e3:g} ms)" for p in item.pulses
                             if p.trigger == trigger]
                    if parts:
                        wave += f" + at {what}: " + " + ".join(parts)
                if self.membrane is not None and k == self.membrane.voltage_input:
                    wave = f"membrane voltage (starts at {item.value:g})"
                lines.append(f"  {item.name} [{item.unit}] = {wave}")
        if self.channels:
            lines.append(f"channels ({len(self.channels)}):")
            for channel in self.channels:
                states = " + ".join(f"{w:g}·{self.species[i]}" for i, w in channel.weights)
                lines.append(f"  {channel.name}: {channel.conductance_s * 1e12:g} pS, reversal "
                             f"{channel.reversal_mv:g} mV, open = {states}")
        if self.membrane is not None:
            m = self.membrane
            neck = (f"neck {1e-6 / m.neck_conductance_s:g} MΩ to "
                    f"{self.inputs[m.dendrite_input].name}" if m.dendrite_input >= 0
                    else "no neck")
            lines.append(f"membrane: C = {m.capacitance_f * 1e15:g} fF, g_L = "
                         f"{m.leak_conductance_s * 1e12:g} pS, E_L = {m.leak_reversal_mv:g} mV, "
                         f"{neck}; τ_m at rest {m.time_constant_s() * 1e6:.3g} µs")
        lines.append(f"reactions after expansion ({len(self.reactions)}):")
        roles = ()
        if self.continuous:
            from ..network import hybrid_roles   # the compiler's classification
            roles = hybrid_roles(self)
        for j, reaction in enumerate(self.reactions):
            law = f"c = {reaction.rate:.6g} /s"
            if reaction.kind == "voltage":
                law += (f" · exp({self.inputs[reaction.input].name}/"
                        f"{reaction.v_scale_mv:g} mV)")
            elif reaction.kind == "input":
                law = (f"c = {reaction.rate:.6g} /s per {self.inputs[reaction.input].unit}"
                       f" · {self.inputs[reaction.input].name}(t)")
            elif reaction.kind == "current":
                law = (f"c = {reaction.rate:.6g} /s/mV · max(0, {reaction.v_scale_mv:g} mV - "
                       f"{self.inputs[reaction.input].name})")
            elif reaction.kind == "ghk":
                law = (f"c = {reaction.rate:.6g} /s · GHK(z·{self.inputs[reaction.input].name}"
                       f"/{reaction.v_scale_mv * 1:g} mV)")
            elif reaction.kind in ("michaelis_menten", "hill"):
                law = self._state_law_text(reaction)
            lines.append(f"  [{j}] {self._equation(reaction)}   {law}"
                         + ("   (logged)" if reaction.log else "")
                         + (f"   ({_ROLE_TEXT[roles[j]]})" if roles
                            and roles[j] in _ROLE_TEXT else ""))
        if self.observables:
            lines.append("observables:")
            for name, weights in self.observables.items():
                terms = " + ".join(f"{w:g}*{self.species[i]}" for i, w in weights.items())
                lines.append(f"  {name} = {terms}")
        for intervention in self.interventions:
            lines.append(f"intervention at t = {intervention.time:g} s: {intervention.label}")
        return "\n".join(lines)

    def _state_law_text(self, reaction: Reaction) -> str:
        """``a = …`` of a michaelis_menten or hill reaction, K in molecules."""
        def weighted(terms):
            text = " + ".join((f"{w:g}*" if w != 1 else "") + self.species[i]
                              for i, w in terms)
            return f"({text})" if len(terms) > 1 else text
        mass_action = " · ".join((f"C({self.species[i]}, {n})" if n > 1 else self.species[i])
                                 for i, n in reaction.reactants)
        if reaction.kind == "michaelis_menten":
            substrate = " + ".join(self.species[i] for i in reaction.saturation)
            if len(reaction.saturation) > 1:
                substrate = f"({substrate})"
            if reaction.modifier:
                head = f"kcat = {reaction.rate:.6g} /s · E = {weighted(reaction.modifier)}"
            else:
                head = f"vmax = {reaction.rate:.6g} molecules/s"
            return (f"MM: {head} · {mass_action} / (K_M + S), K_M = {reaction.half:.6g} "
                    f"molecules, S = {substrate}")
        x = weighted(reaction.modifier)
        shape = ("K^n/(K^n + X^n)" if reaction.repress else "X^n/(K^n + X^n)")
        factors = f" · {mass_action}" if mass_action else ""
        return (f"Hill: k = {reaction.rate:.6g} /s{factors} · {shape}, X = {x}, "
                f"K = {reaction.half:.6g} molecules, n = {reaction.hill_n:g}")

    def _equation(self, reaction: Reaction) -> str:
        def side(pairs):
            return " + ".join((f"{n} " if n > 1 else "") + self.species[i]
                              for i, n in pairs) or "∅"
        text = f"{reaction.name}: {side(reaction.reactants)} -> {side(reaction.products)}"
        if reaction.neighbour is not None:
            text += f"   (left neighbour {self.species[reaction.neighbour[1]]})"
        return text

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, {self.n_plain_species} species, "
                f"{len(self.agent_types)} agent types, {len(self.reactions)} reactions)")


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


def _reactant_orders(terms) -> tuple[int, ...]:
    """Stoichiometry of each distinct reactant: 'A + A' and '2 A' are both A to order 2
    (expand_rule allows at most one agent of each type on the left)."""
    total: dict[str, int] = {}
    for term in terms:
        total[term.name] = total.get(term.name, 0) + term.count
    return tuple(total.values())


def _override(current, value, name, source):
    """Spec value for a parameter override (see Model.with_parameters)."""
    if isinstance(value, bool):
        raise ModelError(f"parameter '{name}' cannot be a boolean", source=source)
    if isinstance(value, (int, float)):
        if hasattr(current, "units"):
            return f"{float(value)!r} * ({current.units})"
        return float(value)
    if isinstance(value, str):
        return value
    if hasattr(value, "units") and hasattr(value, "magnitude"):
        return f"{float(value.magnitude)!r} * ({value.units})"
    raise ModelError(f"parameter '{name}' must be a number, a string such as '0.1 /s' or a "
                     f"pint Quantity, not {type(value).__name__}", source=source)


class _Builder:
    """Validates a model spec and assembles the Model (one pass, top to bottom)."""

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
    def build(self) -> Model:
        for key in self.spec:
            if key not in _TOP_LEVEL:
                raise self.error(f"unknown top-level table [{key}]", where=self.where(key),
                                 hint=suggestion(key, _TOP_LEVEL)
                                 or f"allowed tables: {', '.join(_TOP_LEVEL)}")
        header = self.table("model")
        self.refuse_unknown(header, ("name", "description", "volume", "note"), "[model]",
                            context=" in [model]")
        name = header.get("name", "model")
        if not isinstance(name, str):
            raise self.error("the model name must be a string", where="[model]")
        volume = None
        if "volume" in header:
            volume = units.volume_litre(header["volume"], source=self.source,
                                        where=self.where("model", "volume"))
        self.volume = volume

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
        self.agent_state_base = agent_state_base
        channels = read_channels(self, parameters, species_index, agent_types,
                                 agent_state_base)
        self.membrane = read_membrane(self, parameters, self.inputs, channels)

        self.flux_keys, self.species_names = {}, species
        reactions = self.reactions(parameters, species_index, agent_types,
                                          agent_state_base)
        self.check_capacity(agent_types, reactions)
        observables = self.observables(species_index, agent_types, agent_state_base,
                                       set(species_names) | {a.name for a in agent_types}
                                       | set(parameters))
        self.x0 = tuple(x0)
        interventions = self.interventions(species_index, parameters, reactions)
        continuous, tolerance = self.continuous(species, species_index, agent_types,
                                                channels, reactions, parameters)
        return Model(
            name=name, description=str(header.get("description", "")), source=self.source,
            volume_litre=volume, species=tuple(species), n_plain_species=len(species_names),
            x0=tuple(x0), agent_types=tuple(agent_types), agent_state_base=agent_state_base,
            reactions=tuple(reactions), parameters=parameters, observables=observables,
            interventions=tuple(interventions), spec=self.spec, inputs=tuple(self.inputs),
            channels=channels, membrane=self.membrane, continuous=continuous,
            continuous_tolerance=tolerance)

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
        for channel in channels:
            states = sorted({species[i] for i, _ in channel.weights if i in chosen})
            if states:
                raise self.error(f"channel '{channel.name}' conducts through the continuous "
                                 f"species {', '.join(states)}; the membrane conductance "
                                 "changes only at events, so open channels must be counted",
                                 where=self.where("continuous", "species"),
                                 hint=f"leave {', '.join(states)} discrete")
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
        for name, value in raw.items():
            where = self.where("species", name)
            if not is_name(name):
                raise self.error(f"'{name}' is not a valid species name", where=where,
                                 hint="names start with a letter or '_' and contain only "
                                      "letters, digits and '_'")
            if isinstance(value, Mapping):
                unknown = [k for k in value if k not in ("initial", "note")]
                if unknown:
                    raise self.error(f"unknown key '{unknown[0]}' for species '{name}'",
                                     where=where, hint="use 'initial' (and 'note')")
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
                full = {site: pattern.get(site, values[0]) for site, values in site_list}
                count = units.molecule_count(entry["count"], volume_litre=self.volume,
                                             source=self.source, where=where,
                                             parameters=self.parameter_values)
                initial[prototype.matching(full)[0]] += count
            total = sum(initial)
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
                                    capacity if capacity is not None else -1))
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

    def reactions(self, parameters, species_index, agent_types, agent_state_base):
        raw = self.spec.get("reactions", [])
        if not isinstance(raw, list):
            raise self.error("'reactions' must be an array of tables ([[reactions]])")
        agents = {a.name: a for a in agent_types}
        reactions: list[Reaction] = []
        names: set[str] = set()
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
                terms = parse_equation(f"{text} ->", species_index, agents, source=self.source,
                                       where=n_where)[0] if isinstance(text, str) else []
                if reversible or len(terms) != 1 or not terms[0].is_agent or terms[0].count != 1:
                    raise self.error("'neighbour' must be one agent pattern such as "
                                     "'CaMKII(cam=bound)', on an irreversible rule",
                                     where=n_where)
                neighbour = terms[0]
            for rule_name, lhs, rhs, rate_spec in directions:
                if rule_name in names:
                    raise self.error(f"two reactions are named '{rule_name}'", where=where,
                                     hint="give every [[reactions]] entry a unique name")
                names.add(rule_name)
                transitions = expand_rule(rule_name, lhs, rhs, neighbour, species_index,
                                          agent_types, agent_state_base, source=self.source,
                                          where=eq_where)
                # The ring neighbour is in the same holoenzyme, not a diffusing reactant:
                # it does not add to the order used for unit conversion (docs).
                orders = _reactant_orders(lhs)
                law = {}
                if isinstance(rate_spec, Mapping) and rate_spec.get("kind") in _LAW_KEYS:
                    kind, input_index, v_scale = rate_spec["kind"], -1, 0.0
                    c, law = self.state_law(rate_spec, parameters, orders, key, neighbour,
                                            transitions)
                else:
                    c, kind, input_index, v_scale = self.rate_law(rate_spec, parameters,
                                                                  orders, key)
                self.flux_keys[rule_name] = key
                for tr in transitions:
                    reaction = Reaction(
                        name=tr.label, rule=rule_name, reactants=tr.reactants,
                        products=tr.products, rate=c, agent_moves=tr.agent_moves,
                        neighbour=tr.neighbour, log=log, kind=kind, input=input_index,
                        v_scale_mv=v_scale, flux=flux, **law)
                    if flux:
                        self.check_flux(reaction, set(), self.species_names)
                    reactions.append(reaction)
        return reactions

    def check_flux(self, reaction, continuous, species):
        """Refuse ``flux = true`` on a reaction that cannot be a flux with the
        ``continuous`` species (:func:`flux_obstacle`), naming the reaction."""
        obstacle = flux_obstacle(reaction, continuous, species)
        if obstacle is not None:
            raise self.error(
                f"reaction '{reaction.name}' has flux = true, but {obstacle}: a flux may "
                "change continuous species only, leaving every discrete species and agent "
                "state as it was", where=self.where("reactions", self.flux_keys[reaction.rule],
                                                    "flux"),
                hint="remove 'flux = true' (its firings are then events), or make the "
                     "species it changes continuous ([continuous] species)")

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
        gives ``c · glu(t)``, where ``k × (1 unit of the input)`` is converted like a rate.
        """
        if not isinstance(rate_spec, Mapping):
            return self.rate_constant(rate_spec, parameters, orders, key), "mass_action", -1, 0.0
        where = self.where("reactions", key, "rate")
        kind = rate_spec.get("kind")
        allowed = {"voltage": ("kind", "k0", "v_scale", "input"),
                   "input": ("kind", "k", "input"),
                   "current": ("kind", "conductance", "fraction", "reversal", "charge",
                               "input"),
                   "ghk": ("kind", "k", "charge", "temperature", "input")}
        if kind not in allowed:
            raise self.error(f"a rate table needs kind = \"voltage\", \"input\", "
                             f"\"current\", \"ghk\", \"michaelis_menten\" or \"hill\", "
                             f"not {kind!r}", where=where,
                             hint="write a mass-action rate as a number or expression; "
                                  "rate tables: docs/model-format.md")
        for field_name in rate_spec:
            if field_name not in allowed[kind]:
                raise self.error(f"unknown field '{field_name}' in a {kind} rate", where=where,
                                 hint=f"allowed: {', '.join(allowed[kind])}")
        names = [i.name for i in self.inputs]
        voltage_kind = kind in ("voltage", "current", "ghk")
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
        if voltage_kind and (units.registry()(unit).dimensionality
                             != units.registry()("mV").dimensionality):
            raise self.error(f"a {kind} rate needs an input in mV; '{input_name}' is in "
                             f"'{unit}'", where=where)
        if kind in ("current", "ghk"):
            return self.current_law(kind, rate_spec, parameters, orders, key, index, where)
        if kind == "voltage":
            if "k0" not in rate_spec or "v_scale" not in rate_spec:
                raise self.error("a voltage rate needs k0 (the rate at 0 mV) and v_scale",
                                 where=where, hint="e.g. { kind = \"voltage\", "
                                 "k0 = \"5.4 /ms\", v_scale = \"47 mV\" }")
            if units.registry()(unit).dimensionality != units.registry()("mV").dimensionality:
                raise self.error(f"a voltage rate needs an input in mV; '{input_name}' is in "
                                 f"'{unit}'", where=where)
            c = self.rate_constant(rate_spec["k0"], parameters, orders, key)
            v_scale = units.millivolts(rate_spec["v_scale"], parameters=parameters,
                                       source=self.source, where=where)
            if not (math.isfinite(v_scale) and v_scale != 0):
                raise self.error(f"v_scale must be a non-zero voltage, got {v_scale} mV",
                                 where=where)
            return c, "voltage", index, float(v_scale)
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
        per_unit = k * units.registry()(unit)
        c = units.stochastic_rate_constant(per_unit, reactant_orders=orders,
                                           volume_litre=self.volume, source=self.source,
                                           where=where)
        return c, "input", index, 0.0

    def current_law(self, kind, rate_spec, parameters, orders, key, index, where):
        """(c, kind, input, v_param) of ions carried through open channels.

        ``current``: ``c = fraction · γ · 1 mV / (z e)`` (ions/s per mV of driving force per
        channel) with ``f(V) = max(0, E_rev − V)`` in mV, stored as ``v_param = E_rev``:
        the linear rule "a fraction of the channel current is carried by the ion"
        (SCIENCE §2.3: 10 % of a 50 pS NMDAR current at −65 mV ≈ 1.0×10³ Ca²⁺/ms).
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
            if not hasattr(g, "to") or g.dimensionality != units.registry()(
                    "pS").dimensionality:
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

    def read_inputs(self, parameters) -> list[Input]:
        """The [inputs] table: prescribed waveforms, each in its own unit."""
        raw = self.table("inputs")
        result = []
        reg = units.registry()
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
                reference = reg(unit if unit != "1" else "dimensionless")
            except Exception:
                raise self.error(f"unknown unit '{unit}' for input '{name}'", where=where,
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
        """Fill in the default capacity: creation rules get headroom, others none."""
        creates = {t for r in reactions for t, frm, _ in r.agent_moves if frm < 0}
        for k, agent in enumerate(agent_types):
            total = sum(agent.initial)
            if agent.capacity < 0:
                capacity = max(2 * total, total + 1000) if k in creates else total
                agent_types[k] = AgentType(agent.name, agent.sites, agent.ring_size,
                                           agent.initial, capacity)

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
            changed = Model.from_dict(spec, source=self.source)
        except ModelError as exc:      # name the intervention, not the table it broke
            inner = f" ({exc.where})" if exc.where else ""
            raise self.error(f"with these parameter values the model is invalid{inner}: "
                             f"{exc.message}", where=where, hint=exc.hint) from None
        # Interventions can change rate constants only. A parameter that also shapes an
        # input waveform, a voltage scale or an initial count would be silently ignored.
        if changed.inputs != tuple(self.inputs) or changed.membrane != self.membrane:
            raise self.error("this intervention changes a parameter that an [inputs] waveform "
                             "or the [membrane] uses; interventions change rates only",
                             where=where,
                             hint="give the input a step at that time instead")
        if changed.x0 != self.x0:
            raise self.error("this intervention changes a parameter that an initial count "
                             "uses; interventions change rates only", where=where,
                             hint="use 'set' or 'add' to change counts at that time")
        if [r.v_scale_mv for r in changed.reactions] != [r.v_scale_mv for r in reactions]:
            raise self.error("this intervention changes a parameter that a voltage rate's "
                             "v_scale uses; interventions change rates only", where=where,
                             hint="change k0 instead, or use two reactions")
        def law(r):
            return r.modifier, r.saturation, r.half, r.hill_n, r.repress
        if [law(r) for r in changed.reactions] != [law(r) for r in reactions]:
            raise self.error("this intervention changes a parameter that the K_M, K or n of a "
                             "michaelis_menten or hill rate uses; interventions change rates "
                             "only", where=where,
                             hint="change kcat, vmax or k instead (or through 'rates')")
        return [reaction.rate for reaction in changed.reactions]
