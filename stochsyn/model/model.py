"""The Model: species, agent types, reactions, parameters, observables, interventions.

A :class:`Model` is a plain value built from a dict (the structure of a TOML model file, see
``docs/model-format.md``). Building it validates everything, converts units once to the
engine's canonical units (molecule counts, seconds) and expands agent rules into concrete
reactions (:mod:`stochsyn.model.spec_reader` does that work). It holds no arrays:
:func:`stochsyn.network.compile` makes those.
"""

from __future__ import annotations

import copy
import hashlib
import json
import numbers
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from . import units
from .elements import (CONTINUOUS_ATOL, CONTINUOUS_RTOL, RATE_KINDS, STATE_KINDS, Input,
                       Intervention, Reaction, flux_obstacle)
from .errors import ModelError, UnitWarning
from .membrane import Channel, Membrane
from .rules import AgentType, suggestion
from .spec_reader import _override, read_spec
from .temperature import TemperatureScaling
from .variants import applied_names, describe_variants

__all__ = ["Model", "hybrid_roles", "Reaction", "Input", "Intervention", "AgentType",
           "RATE_KINDS", "STATE_KINDS", "CONTINUOUS_RTOL", "CONTINUOUS_ATOL"]

_ROLE_TEXT = {"ode": "ODE term", "coupled": "reads continuous species: hazard along y(t)",
              "jump": "discrete, changes continuous species",
              "flux": "flux: a term of dy/dt, no events"}


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
    #: Whether the hybrid mode may propagate the continuous part by the exact solution of
    #: its linearisation where its error estimate allows (``[continuous] linear``; see
    #: docs/model-format.md, "Continuous species"); False: Rodas4 steps only.
    continuous_linear: bool = True
    #: Clamped species: (species index, input index); see docs/model-format.md, "Clamps".
    clamps: tuple[tuple[int, int], ...] = ()
    #: The model's temperature (°C), None if it states none (every rate as written).
    temperature_c: float | None = None
    #: The Q10 scaling of each module (or group of rates), see docs/model-format.md,
    #: "Temperature".
    temperature_scaling: tuple[TemperatureScaling, ...] = ()

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
        return cls(**read_spec(data, source=source, locations=locations))

    def with_parameters(self, **values) -> "Model":
        """A new model with some parameters replaced; kernels are not recompiled.

        Each value is a quantity with its unit (``"1 /s"``, ``"6 /min"``, ``"2 uM"``, a
        pint Quantity), an expression as in the model file (``"k_on * Kd"``), or a bare
        number. A bare number is taken in the unit :meth:`info` (``stochsyn info``) shows
        for the parameter: the unit the model file writes it with (``k_make = "60 /min"``
        then ``with_parameters(k_make=1.0)`` means 1/min), reduced for a parameter computed
        from others (``k_on * Kd`` in 1/s). When that unit is not 1/s, s or mV, a
        :class:`~stochsyn.model.errors.UnitWarning` says which unit it is.

        Raises
        ------
        ModelError
            An unknown parameter, or a value the model cannot take (the message names the
            item it breaks).

        Warns
        -----
        UnitWarning
            A bare number for a parameter with a unit other than 1/s, s or mV.
        """
        if not values:      # the same model (and hash): no empty [parameters] table added
            return self
        spec = copy.deepcopy(dict(self.spec))
        declared = spec.setdefault("parameters", {})
        for name, value in values.items():
            if name not in declared:
                raise ModelError(f"the model has no parameter '{name}'", source=self.source,
                                 hint=suggestion(name, declared) or (
                                     "its parameters: " + ", ".join(list(declared)[:20])
                                     + (", ..." if len(declared) > 20 else "")
                                     if declared else "it declares no [parameters]"))
            current = self.parameters[name]
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                _say_the_unit(name, current)
            spec["parameters"][name] = _override(current, value, name, self.source)
        return Model.from_dict(spec, source=self.source)

    def with_temperature(self, temperature: str | None) -> "Model":
        """The same model at another temperature: each module's rates scaled from its
        measured temperature by its Q10 (docs/model-format.md, "Temperature").

        Parameters
        ----------
        temperature : str or None
            ``"30 degC"``, ``"303.15 K"``; None uses every rate as written (each module at
            its own measurement temperature).

        Raises
        ------
        ModelError
            An unreadable temperature, or a module without ``[temperature]`` (only when a
            temperature is given).
        """
        spec = copy.deepcopy(dict(self.spec))
        if temperature is not None and "temperature" not in spec:
            raise ModelError("no file of this model states the temperature its rates were "
                             "measured at, so there is nothing to scale",
                             source=self.source, where="[temperature]",
                             hint="declare [temperature] measured = \"... degC\", q10 = ... "
                                  "in each module (docs/model-format.md, \"Temperature\")")
        header = dict(spec.get("model", {}))
        header.pop("temperature", None)
        if temperature is not None:
            header["temperature"] = temperature
        spec["model"] = header
        return Model.from_dict(spec, source=self.source)

    def with_variant(self, *names: str) -> "Model":
        """A new model with named variants (mutations) applied, e.g. ``"S831A"``,
        ``"T286A"``, or the combination ``"S831A/S845A"``.

        Variants are declared by the model's modules as ``[variants.NAME]`` tables
        (docs/model-format.md, "Variants"): parameter changes, rules removed, and agent sites
        fixed at one value. They add to the variants the model already has; the spec keeps
        their names (``[model] variants``), so the hash and a later
        :meth:`with_parameters` keep them. Kernels are not recompiled.

        Parameters
        ----------
        *names : str
            Variant names; ``"A/B"`` is ``"A", "B"``.

        Raises
        ------
        ModelError
            An unknown variant (the message lists the declared ones), or a variant that
            names an unknown site, parameter or reaction.
        """
        if not names:
            raise ModelError("with_variant needs at least one variant name",
                             source=self.source, hint="declared variants: " + (
                                 ", ".join(n for n, _ in describe_variants(self.spec))
                                 or "none"))
        for name in names:
            if not isinstance(name, str):
                raise ModelError(f"a variant name must be a string, not {name!r}",
                                 source=self.source)
        spec = copy.deepcopy(dict(self.spec))
        header = spec.setdefault("model", {})
        # stored split and once each, so "A/B", ("A", "B") and A then B hash alike
        header["variants"] = applied_names(
            {"model": {"variants": list(self.variants) + list(names)}}, self.source)
        return Model.from_dict(spec, source=self.source)

    @property
    def variants(self) -> tuple[str, ...]:
        """Names of the variants (mutations) applied to this model, in order."""
        return tuple(applied_names(self.spec, self.source))

    @property
    def declared_variants(self) -> tuple[tuple[str, str], ...]:
        """(name, description) of every variant the model's modules declare."""
        return tuple(describe_variants(self.spec))

    def with_continuous(self, species, *, rtol: float | None = None,
                        atol: float | str | None = None,
                        linear: bool | None = None) -> "Model":
        """A new model whose ``species`` are continuous (the hybrid mode); ``[]`` or None
        gives the exact model back.

        Continuous species evolve by the deterministic rate equations of the reactions that
        involve only them, between the events of the others (``docs/model-format.md``,
        "Continuous species"). The list replaces any ``[continuous] species`` of the model;
        ``rtol`` and ``atol`` (molecules) set the ODE's error control (default: the model's,
        else 1e-6 and 1e-6); ``linear=False`` integrates every interval with Rodas4
        instead of the exact solution of the linearised system where its error estimate
        allows (default: the model's ``[continuous] linear``, else True). Kernels are not
        recompiled.

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
            if rtol is not None or atol is not None or linear is not None:
                raise ModelError("rtol, atol and linear need continuous species",
                                 source=self.source,
                                 hint="name the species: with_continuous(['Ca', ...], "
                                      "rtol=...)")
            spec.pop("continuous", None)
            return Model.from_dict(spec, source=self.source)
        table["species"] = species
        if rtol is not None:
            table["rtol"] = rtol
        if atol is not None:
            table["atol"] = atol
        if linear is not None:
            table["linear"] = bool(linear)
        spec["continuous"] = table
        return Model.from_dict(spec, source=self.source)

    @property
    def continuous_species(self) -> tuple[str, ...]:
        """Names of the continuous species (empty for the exact model)."""
        return tuple(self.species[i] for i in self.continuous)

    def to_sbml(self, path) -> Path:
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
        from .sbml.writer import write_sbml   # (xml.sax and urllib: only for export)
        return write_sbml(self, path)

    def __getstate__(self) -> dict:
        """A Model pickles as its fields alone. What other layers keep on it (the compiled
        Network, :func:`stochsyn.network.compile`) is derived from them and is rebuilt
        where it is used: a Model sent to an executor's worker does not carry arrays that
        the worker's own compiler and kernels might lay out otherwise, nor their size."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # ------------------------------------------------------------------ views
    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def plain_species(self) -> tuple[str, ...]:
        return self.species[: self.n_plain_species]

    @property
    def hash(self) -> str:
        """SHA-256 of the model's canonical JSON form (provenance).

        The temperature declarations (``[temperature]``, ``[model] temperature``) enter
        only through the Q10 factors they give: a model whose factors are all 1 has the
        hash it had before its modules declared their temperatures, and two models with
        the same numbers have the same hash."""
        spec = dict(self.spec)
        spec.pop("temperature", None)
        if isinstance(spec.get("model"), Mapping) and "temperature" in spec["model"]:
            spec["model"] = {k: v for k, v in spec["model"].items() if k != "temperature"}
        factors = {rule: repr(s.factor) for s in self.temperature_scaling
                   for rule in s.rules if s.factor != 1.0}
        if factors:
            spec["temperature factors"] = factors
        text = json.dumps(spec, sort_keys=True, default=str, ensure_ascii=True)
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
        lines.extend(self._temperature_lines())
        if self.variants:
            lines.append("variants applied: " + ", ".join(self.variants))
        if self.declared_variants:
            lines.append("variants declared (apply with --variant NAME / "
                         "Model.with_variant):")
            lines.extend(f"  {name}: {text}" for name, text in self.declared_variants)
        lines.append(f"parameters ({len(self.parameters)}):")
        for name, value in self.parameters.items():
            lines.append(f"  {name} = {units.display(value)}")
        lines.append(f"species ({self.n_plain_species}):")
        clamped = dict(self.clamps)
        for i in range(self.n_plain_species):
            lines.append(f"  {self.species[i]}: {self.x0[i]}"
                         + ("   (continuous)" if i in self.continuous else "")
                         + (f"   (clamped to the input {self.inputs[clamped[i]].name}; "
                            "the count is its value at t = 0)" if i in clamped else ""))
        if self.continuous:
            lines.append(f"hybrid mode: {len(self.continuous)} continuous species, ODE error "
                         f"control rtol = {self.continuous_tolerance[0]:g}, atol = "
                         f"{self.continuous_tolerance[1]:g} molecules")
            obstacle = linear_obstacle(self)
            lines.append("linear propagation near a fixed point: "
                         + ("off ([continuous] linear = false)" if not self.continuous_linear
                            else "applies" if obstacle is None
                            else f"does not apply ({obstacle})"))
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
            roles = hybrid_roles(self)
        for j, reaction in enumerate(self.reactions):
            law = f"c = {reaction.rate:.6g} /s"
            if reaction.kind == "voltage":
                law += (f" · exp({self.inputs[reaction.input].name}/"
                        f"{reaction.v_scale_mv:g} mV)")
            elif reaction.kind == "boltzmann":
                law += (f" / (1 + exp(({reaction.v_half_mv:g} mV - "
                        f"{self.inputs[reaction.input].name})/{reaction.v_scale_mv:g} mV))")
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
            if reaction.complex_type >= 0:
                agent = self.agent_types[reaction.complex_type]
                law += (f" per complex ({sum(agent.initial) // agent.complex_size} "
                        f"{agent.name} complexes of {agent.complex_size}, one drawn at random)"
                        if reaction.complex_pick else "")
                law += (f"; then every member of the {agent.name} complex: "
                        f"{len(reaction.members)} of {len(agent.states)} states changed")
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

    def _temperature_lines(self) -> list[str]:
        """The temperature policy's part of :meth:`info`: the model's temperature and, for
        each module (or group of its rates), the measured temperature, Q10 and factor."""
        if self.temperature_c is None and not self.temperature_scaling:
            return []
        lines = [f"temperature: {self.temperature_c:g} °C (rates scaled by "
                 "Q10^((T - T_measured)/10 °C) at build time)"
                 if self.temperature_c is not None else
                 "temperature: not stated by the model: every rate is used as written, at "
                 "the temperature its module was measured at (set [model] temperature to "
                 "scale)"]
        if self.temperature_scaling:
            width = max(len(s.module + (f" [{s.group}]" if s.group else ""))
                        for s in self.temperature_scaling)
            lines.append(f"  {'module [group]':<{width}}  measured    Q10  factor  reactions")
            for s in self.temperature_scaling:
                name = s.module + (f" [{s.group}]" if s.group else "")
                lines.append(f"  {name:<{width}}  {s.measured_c:5.1f} °C  {s.q10:5.2f}  "
                             f"{s.factor:6.3f}  {len(s.rules)}")
        if self.temperature_c is not None and not any(
                s.module == self.source for s in self.temperature_scaling):
            lines.append(f"  the model file's own reactions are written for "
                         f"{self.temperature_c:g} °C (factor 1)")
        return lines

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
            states = reaction.neighbour[1]
            text += ("   (left neighbour " + (self.species[states[0]] if len(states) == 1 else
                                             f"in one of {len(states)} states") + ")")
        return text

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, {self.n_plain_species} species, "
                f"{len(self.agent_types)} agent types, {len(self.reactions)} reactions)")


#: Units in which a bare number for a parameter surprises no one: those of plain numbers in
#: model files (a rate constant in 1/s, a time in s, a voltage in mV).
_UNSURPRISING_UNITS = ("1 / second", "second", "millivolt")


def _say_the_unit(name: str, current) -> None:
    """Warn which unit a bare number for parameter ``name`` (now ``current``) is taken in,
    unless it is plain or in 1/s, s or mV."""
    unit = units.bare_number_unit(current)
    if unit is None or unit in _UNSURPRISING_UNITS:
        return
    shown = units.display(current).split(" ", 1)[1]
    example = "2 " + (shown[1:] if shown.startswith("1/") else shown)
    warnings.warn(f"a bare number for parameter '{name}' is taken in {shown}, the unit of its "
                  f"value in the model ({units.display(current)}); write the number with a "
                  f"unit to be explicit, e.g. '{example}'", UnitWarning, stacklevel=3)


def hybrid_roles(model: Model) -> tuple[str, ...]:
    """The role of each reaction of ``model`` in the hybrid mode (``[continuous]``).

    * ``"ode"``: every species it reads or writes (reactants, products, the modifier and
      substrate states of a Michaelis–Menten or Hill law) is continuous, and its law is a
      state kind (mass action, Michaelis–Menten, Hill): a term ``ν_j a_j(y)`` of the rate
      equations ``dy/dt = Σ_j ν_j a_j(y)``, never an event;
    * ``"flux"``: a reaction that changes continuous species and leaves every discrete
      species and agent state as it was (:func:`~stochsyn.model.elements.flux_obstacle`),
      unless its table says ``flux = false``: a term ``ν_j s_j(x) f_j(t) Π y^ν/ν!`` of
      dy/dt, with its discrete factor ``s_j`` constant between events (Ca²⁺ entry through
      open NMDARs);
    * ``"coupled"``: a discrete reaction that reads a continuous species: its propensity
      varies along y(t) between events (integrated hazard);
    * ``"jump"``: a discrete reaction that reads none but changes one (and a discrete
      one too, or has ``flux = false``): each firing adds its net change to y;
    * ``"exact"``: none of these (every reaction of a model without continuous species).

    Agent rules and time-dependent kinds are never ODE terms (agents are discrete; the
    model refuses time-dependent laws that read continuous species). The model layer owns
    this classification: :meth:`Model.info` shows it, :func:`stochsyn.network.compile`
    builds the hybrid mode's arrays from it.
    """
    continuous = set(model.continuous)
    roles = []
    for r in model.reactions:
        reads = ({s for s, _ in r.reactants} | {s for s, _ in r.modifier}
                 | set(r.saturation))
        change: dict[int, int] = {}
        for s, n in r.reactants:
            change[s] = change.get(s, 0) - n
        for s, n in r.products:
            change[s] = change.get(s, 0) + n
        touched = reads | {s for s, _ in r.products}
        if (continuous and touched and touched <= continuous and r.kind in STATE_KINDS
                and not r.agent_moves and r.neighbour is None):
            roles.append("ode")
        elif (continuous and r.flux is not False
              and flux_obstacle(r, continuous, model.species) is None):
            roles.append("flux")
        elif reads & continuous:
            roles.append("coupled")
        elif {s for s, d in change.items() if d} & continuous:
            roles.append("jump")
        else:
            roles.append("exact")
    return tuple(roles)


def linear_obstacle(model: Model) -> str | None:
    """Why the hybrid mode's linear propagation (``[continuous] linear``) cannot apply to
    ``model``, or None if it can: the model-level statement of the engine's
    ``stochsyn.engine.continuous._linear_able`` (its module docstring, "Linear propagation
    near a fixed point"; ``tests/engine/test_continuous.py`` checks that both agree).
    Every ODE term must be mass action of at most two reactants of order 1, no discrete
    reaction may read a continuous species (a coupled reaction), and no flux may read one
    or have a Michaelis–Menten or Hill law. (Per interval the engine also needs real,
    negative, distinct eigenvalues, no deficit and no pulse or sine on a flux's input.)"""
    continuous = set(model.continuous)
    for r, role in zip(model.reactions, hybrid_roles(model)):
        if role == "ode" and (r.kind != "mass_action" or len(r.reactants) > 2
                              or any(n != 1 for _, n in r.reactants)):
            return (f"ODE term {r.name!r} is not mass action of at most two reactants of "
                    "order 1")
        if role == "coupled":
            return f"reaction {r.name!r} reads a continuous species (a coupled reaction)"
        if role == "flux" and (r.kind in ("michaelis_menten", "hill")
                               or any(s in continuous for s, _ in r.reactants)):
            return (f"flux {r.name!r} reads a continuous species or has a "
                    "Michaelis–Menten or Hill law")
    return None
