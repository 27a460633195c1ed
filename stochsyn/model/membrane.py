"""The spine membrane: ``[channels]``, ``[membrane]`` and the pulse rules of ``[inputs]``.

The spine head is one isopotential compartment coupled through the neck to a dendrite
whose voltage is an input (SCIENCE.md §4)::

    C dV/dt = -g_L (V - E_L) - Σ_c g_c n_c(t) (V - E_c) - (V - V_d(t)) / R_neck

``n_c`` is the number of open channels of kind ``c`` (a weighted sum of species or agent
states, written like an observable), so the voltage depends on the discrete state and the
model is a piecewise-deterministic Markov process. The engine solves this equation in
closed form between events (:mod:`stochsyn.engine.membrane`).

Inputs may carry *pulse rules*: waveforms added to the input at spikes of the protocol.

* ``release = { probability, peak, tau | kernel, cv, tau_recovery, tau_facilitation }`` --
  at each presynaptic spike, a vesicle is released with ``probability``; the pulse amplitude
  is log-normal with mean ``peak`` and CV ``cv`` (cleft glutamate, SCIENCE §1). The two
  optional keys add Tsodyks–Markram short-term plasticity to the single univesicular site:
  depression (the site is empty after a release and reloads after an exponential time of
  mean ``tau_recovery``) and facilitation (the release probability ``u`` of a loaded site
  jumps at each spike and decays with ``tau_facilitation``); see :func:`read_pulse_rules`;
* ``bap = { amplitude, kernel }`` -- at each postsynaptic spike, the backpropagating action
  potential ``amplitude · Σ_k w_k exp(-t/τ_k)`` (SCIENCE §4);
* ``depolarisation = { amplitude, tau }`` -- at each presynaptic spike, the cooperative
  dendritic depolarisation ``amplitude · (t/τ) exp(1 - t/τ)`` (an alpha function peaking at
  ``amplitude`` after ``τ``; SCIENCE §4, A_coop).

A ``kernel`` is a list of ``[weight, tau]`` pairs (``tau`` a time; a single ``tau`` means
``[[1, tau]]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from . import units
from .rules import is_name, parse_observable, suggestion

__all__ = ["Pulse", "Channel", "Membrane", "PULSE_RULES"]

#: Pulse rules an input may carry, and the spikes that trigger each.
PULSE_RULES = {"release": "release", "bap": "post", "depolarisation": "pre"}
_RELEASE_KEYS = ("probability", "peak", "tau", "kernel", "cv", "tau_recovery",
                 "tau_facilitation")
_BAP_KEYS = ("amplitude", "kernel")
_DEPOLARISATION_KEYS = ("amplitude", "tau")
_CHANNEL_KEYS = ("open", "conductance", "reversal", "note")
_MEMBRANE_KEYS = ("voltage", "dendrite", "capacitance", "leak_conductance", "leak_reversal",
                  "neck_resistance", "clamp", "note")


@dataclass(frozen=True)
class Pulse:
    """One component of a pulse rule: at each triggering spike, the input gets
    ``amplitude · exp(-t/tau_s)`` (``shape = "exp"``) or ``amplitude · (t/tau_s) ·
    exp(1 - t/tau_s)`` (``shape = "alpha"``), t the time since the spike.

    Attributes
    ----------
    trigger : {"release", "pre", "post"}
        A presynaptic spike that releases a vesicle (``amplitude`` is then the weight that
        multiplies the drawn vesicle amplitude), any presynaptic spike, or a postsynaptic
        spike.
    amplitude : float
        In the input's unit (a weight for ``release``).
    tau_s : float
    shape : {"exp", "alpha"}
    """

    trigger: str
    amplitude: float
    tau_s: float
    shape: str = "exp"


@dataclass(frozen=True)
class Channel:
    """A kind of ion channel that conducts while in some states.

    Attributes
    ----------
    name : str
    weights : tuple of (int, float)
        (state-vector species index, number of unit conductances per molecule or agent in
        that state): ``open = "AMPAR(gate=O) + 0.5*AMPAR(gate=O1)"``.
    conductance_s : float
        Unit (single-channel) conductance (S).
    reversal_mv : float
    """

    name: str
    weights: tuple[tuple[int, float], ...]
    conductance_s: float
    reversal_mv: float


@dataclass(frozen=True)
class Membrane:
    """The spine-head membrane equation (module docstring).

    Attributes
    ----------
    voltage_input : int
        Index of the input (mV) that holds the spine-head voltage: voltage-dependent rates
        read it. Its ``value`` is the voltage at t = 0.
    dendrite_input : int
        Index of the input (mV) that is the dendritic voltage V_d(t), or -1 for no neck (an
        isolated head).
    capacitance_f : float
    leak_conductance_s : float
    leak_reversal_mv : float
    neck_conductance_s : float
        1 / R_neck (S); 0 without a dendrite.
    channels : tuple of Channel
    clamp_times_s, clamp_mv : tuple of float
        Voltage clamp, a step function: V = ``clamp_mv[k]`` from ``clamp_times_s[k]`` on;
        NaN releases the clamp (the membrane equation runs from the clamped voltage).
    """

    voltage_input: int
    dendrite_input: int
    capacitance_f: float
    leak_conductance_s: float
    leak_reversal_mv: float
    neck_conductance_s: float
    channels: tuple[Channel, ...]
    clamp_times_s: tuple[float, ...] = ()
    clamp_mv: tuple[float, ...] = ()

    def time_constant_s(self, open_counts: Mapping[str, float] | None = None) -> float:
        """C / G_total with the given open-channel counts (none open by default)."""
        g = self.leak_conductance_s + self.neck_conductance_s
        for channel in self.channels:
            g += channel.conductance_s * (open_counts or {}).get(channel.name, 0.0)
        return self.capacitance_f / g


# -- pulse rules of [inputs] --------------------------------------------------------------

def _kernel(builder, spec, where, parameters, name):
    """[[weight, tau], ...] (or a single tau) -> ((weight, tau_s), ...)."""
    if not isinstance(spec, list):
        spec = [[1.0, spec]]
    pairs = []
    for pair in spec:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise builder.error(f"the kernel of '{name}' must be a list of [weight, tau] "
                                "pairs", where=where,
                                hint="e.g. kernel = [[0.7, \"3 ms\"], [0.3, \"40 ms\"]]")
        weight = units.evaluate_quantity(pair[0], parameters=parameters,
                                         source=builder.source, where=where)
        tau = units.seconds(pair[1], parameters=parameters, source=builder.source,
                            where=where)
        if hasattr(weight, "dimensionality") or not math.isfinite(weight):
            raise builder.error(f"a kernel weight of '{name}' must be a plain number, got "
                                f"{pair[0]!r}", where=where)
        if not (tau > 0 and math.isfinite(tau)):
            raise builder.error(f"a kernel time constant of '{name}' must be > 0, got "
                                f"{pair[1]!r}", where=where)
        pairs.append((float(weight), tau))
    if not pairs:
        raise builder.error(f"the kernel of '{name}' is empty", where=where)
    return tuple(pairs)


def _rule_table(builder, body, key, allowed, required, where, example):
    rule = body[key]
    if (not isinstance(rule, Mapping) or any(k not in allowed for k in rule)
            or not set(required) <= set(rule)):
        unknown = [k for k in rule if k not in allowed] if isinstance(rule, Mapping) else []
        hint = (suggestion(unknown[0], allowed) if unknown else None) or f"e.g. {example}"
        raise builder.error(f"'{key}' must be a table {{ {', '.join(allowed)} }} with "
                            f"{', '.join(required)}", where=where, hint=hint)
    return rule


def read_pulse_rules(builder, name, body, magnitude, parameters, where):
    """The pulse rules of input ``name``.

    The release rule's optional short-term plasticity is the Tsodyks–Markram model
    (Tsodyks & Markram 1997 PNAS 94:719; Tsodyks, Pawelzik & Markram 1998 Neural Comput
    10:821) in its stochastic form for one release site (Fuhrmann, Segev, Markram & Tsodyks
    2002 J Neurophysiol 87:140, as NEST's ``quantal_stp_synapse`` with n = 1): the site is
    loaded or empty; a spike releases from a loaded site with probability ``u``; a release
    empties it, and an empty site reloads at rate 1/``tau_recovery``. Without facilitation
    ``u = probability`` (U); with it, ``u_1 = U`` and ``u_{n+1} = U + u_n (1 - U)
    exp(-Δt_n/tau_facilitation)`` (Loebel et al. 2009 Front Comput Neurosci 3:27, Eq. 4),
    Δt_n the interval between spikes n and n+1. A key left out (or 0) switches its part off.

    Returns
    -------
    release : (probability, peak, cv, tau_recovery_s, tau_facilitation_s) or None
        The two time constants are 0 when not given.
    pulses : tuple of Pulse
    """
    release, pulses = None, []
    if "release" in body:
        rule = _rule_table(builder, body, "release", _RELEASE_KEYS, ("probability", "peak"),
                           where, "release = { probability = 0.3, peak = \"1 mM\", "
                                  "tau = \"1.2 ms\", cv = 0.5 } (optional: tau_recovery = "
                                  "\"800 ms\", tau_facilitation = \"50 ms\")")
        if ("tau" in rule) == ("kernel" in rule):
            raise builder.error(f"the release of '{name}' needs either tau or kernel",
                                where=where, hint="e.g. tau = \"1.2 ms\"")
        probability = float(units.evaluate_quantity(rule["probability"], parameters=parameters,
                                                    source=builder.source, where=where))
        peak = magnitude(rule["peak"], "release peak")
        cv = float(units.evaluate_quantity(rule.get("cv", 0.0), parameters=parameters,
                                           source=builder.source, where=where))
        if not (0.0 <= probability <= 1.0):
            raise builder.error(f"release probability of '{name}' must be in [0, 1], "
                                f"got {probability}", where=where)
        if not (peak >= 0 and cv >= 0 and math.isfinite(peak * cv)):
            raise builder.error(f"release of '{name}' needs peak >= 0 and cv >= 0",
                                where=where)
        kernel = _kernel(builder, rule.get("kernel", rule.get("tau")), where, parameters, name)
        plasticity = []
        for key, what in (("tau_recovery", "recovery from depression"),
                          ("tau_facilitation", "decay of facilitation")):
            if key not in rule:
                plasticity.append(0.0)
                continue
            tau = units.seconds(rule[key], parameters=parameters, source=builder.source,
                                where=where)
            if not (tau >= 0 and math.isfinite(tau)):
                raise builder.error(f"the release {key} of '{name}' (time constant of the "
                                    f"{what}) must be a finite time >= 0, got {rule[key]!r}",
                                    where=where,
                                    hint=f"e.g. {key} = \"{800 if key == 'tau_recovery' else 50}"
                                         " ms\"; leave it out (or 0) for none")
            plasticity.append(tau)
        release = (probability, peak, cv, *plasticity)
        pulses += [Pulse("release", w, tau) for w, tau in kernel]
    if "bap" in body:
        rule = _rule_table(builder, body, "bap", _BAP_KEYS, _BAP_KEYS, where,
                           "bap = { amplitude = \"67 mV\", kernel = [[0.7, \"3 ms\"], "
                           "[0.3, \"40 ms\"]] }")
        amplitude = magnitude(rule["amplitude"], "bap amplitude")
        pulses += [Pulse("post", amplitude * w, tau)
                   for w, tau in _kernel(builder, rule["kernel"], where, parameters, name)]
    if "depolarisation" in body:
        rule = _rule_table(builder, body, "depolarisation", _DEPOLARISATION_KEYS,
                           _DEPOLARISATION_KEYS, where,
                           "depolarisation = { amplitude = \"2 mV\", tau = \"20 ms\" }")
        amplitude = magnitude(rule["amplitude"], "depolarisation amplitude")
        tau = units.seconds(rule["tau"], parameters=parameters, source=builder.source,
                            where=where)
        if not (tau > 0 and math.isfinite(tau)):
            raise builder.error(f"the depolarisation tau of '{name}' must be > 0",
                                where=where)
        pulses.append(Pulse("pre", amplitude, tau, "alpha"))
    return release, tuple(pulses)


# -- [channels] and [membrane] ------------------------------------------------------------

def read_steps(builder, steps, what, where, parameters, value_of, example):
    """A list of ``{ time, value }`` tables -> (times_s, values), times increasing and >= 0;
    ``value_of`` converts a value. Used by input steps and the membrane clamp."""
    if not isinstance(steps, list):
        raise builder.error(f"{what} must be a list of {{ time, value }} tables", where=where)
    times, values = [], []
    for step in steps:
        if not isinstance(step, Mapping) or set(step) != {"time", "value"}:
            raise builder.error(f"each entry of {what} is a table {example}", where=where)
        times.append(units.seconds(step["time"], parameters=parameters, source=builder.source,
                                   where=where))
        values.append(value_of(step["value"]))
    if any(b <= a for a, b in zip(times, times[1:])) or any(t < 0 for t in times):
        raise builder.error(f"{what} must have increasing times >= 0", where=where)
    return times, values


def read_channels(builder, parameters, species_index, agent_types, agent_state_base):
    """The [channels] table: which states conduct, with what conductance and reversal."""
    raw = builder.table("channels")
    result = []
    for name, body in raw.items():
        where = builder.where("channels", name)
        if not is_name(name):
            raise builder.error(f"'{name}' is not a valid channel name", where=where)
        if not isinstance(body, Mapping) or any(k not in _CHANNEL_KEYS for k in body) \
                or not {"open", "conductance", "reversal"} <= set(body):
            unknown = [k for k in body if k not in _CHANNEL_KEYS] \
                if isinstance(body, Mapping) else []
            raise builder.error("a channel is a table { open, conductance, reversal }",
                                where=where,
                                hint=(suggestion(unknown[0], _CHANNEL_KEYS) if unknown else None)
                                or "e.g. [channels.NMDA] open = \"NMDAR(gate=O, mg=free)\", "
                                   "conductance = \"50 pS\", reversal = \"0 mV\"")
        weights = parse_observable(body["open"], species_index, agent_types, agent_state_base,
                                   source=builder.source, where=f"{where}, field 'open'")
        if any(w < 0 for w in weights.values()):
            raise builder.error(f"channel '{name}': the open states must have weights >= 0",
                                where=where)
        conductance = units.electrical(body["conductance"], "siemens",
                                       what="a single-channel conductance",
                                       examples="'50 pS'", source=builder.source,
                                       where=f"{where}, field 'conductance'",
                                       parameters=parameters)
        if conductance < 0:
            raise builder.error(f"channel '{name}': conductance must be >= 0", where=where)
        reversal = units.millivolts(body["reversal"], source=builder.source,
                                    where=f"{where}, field 'reversal'", parameters=parameters)
        result.append(Channel(name, tuple(sorted(weights.items())), conductance, reversal))
    return tuple(result)


def read_membrane(builder, parameters, inputs, channels):
    """The [membrane] table, or None when the model has none."""
    raw = builder.table("membrane")
    if not raw:
        return None
    where = builder.where("membrane")
    builder.refuse_unknown(raw, _MEMBRANE_KEYS, where, context=" in [membrane]")
    for key in ("capacitance", "leak_conductance", "leak_reversal"):
        if key not in raw:
            raise builder.error(f"[membrane] needs '{key}'", where=where,
                                hint="e.g. capacitance = \"0.01 pF\", leak_conductance = "
                                     "\"2 pS\", leak_reversal = \"-70 mV\"")
    names = [i.name for i in inputs]

    def voltage_input(key, default):
        name = raw.get(key, default)
        if name not in names:
            raise builder.error(f"[membrane] {key} = '{name}' is not an input", where=where,
                                hint=suggestion(str(name), names)
                                or f"declare [inputs.{name}] unit = \"mV\", value = \"-70 mV\"")
        index = names.index(name)
        if units.unit_of(inputs[index].unit).dimensionality != \
                units.unit_of("mV").dimensionality:
            raise builder.error(f"[membrane] {key}: input '{name}' must be a voltage (mV)",
                                where=where)
        return index

    v_index = voltage_input("voltage", "V")
    v_input = inputs[v_index]
    if (v_input.sine_amplitude or v_input.step_times or v_input.pulses
            or v_input.release_probability >= 0):
        raise builder.error(f"input '{v_input.name}' is the membrane voltage, computed by the "
                            "membrane equation; it cannot also have a sine, steps or pulses",
                            where=builder.where("inputs", v_input.name),
                            hint="give the dendrite input the waveform (bAPs, steps), or "
                                 "clamp the voltage with [membrane] clamp")
    d_index = -1
    neck = 0.0
    if "dendrite" in raw or "neck_resistance" in raw:
        if not ("dendrite" in raw and "neck_resistance" in raw):
            raise builder.error("[membrane] needs both 'dendrite' (the input with the "
                                "dendritic voltage) and 'neck_resistance', or neither",
                                where=where)
        d_index = voltage_input("dendrite", None)
        if d_index == v_index:
            raise builder.error("[membrane] dendrite and voltage must be different inputs",
                                where=where)
        resistance = units.electrical(raw["neck_resistance"], "ohm", what="a resistance",
                                      examples="'100 Mohm'", source=builder.source,
                                      where=f"{where}, field 'neck_resistance'",
                                      parameters=parameters)
        if not resistance > 0:
            raise builder.error("[membrane] neck_resistance must be > 0 (omit dendrite and "
                                "neck_resistance for an isolated head)", where=where)
        neck = 1.0 / resistance
    capacitance = units.electrical(raw["capacitance"], "farad", what="a capacitance",
                                   examples="'0.01 pF'", source=builder.source,
                                   where=f"{where}, field 'capacitance'",
                                   parameters=parameters)
    leak = units.electrical(raw["leak_conductance"], "siemens", what="a conductance",
                            examples="'2 pS'", source=builder.source,
                            where=f"{where}, field 'leak_conductance'", parameters=parameters)
    e_leak = units.millivolts(raw["leak_reversal"], source=builder.source,
                              where=f"{where}, field 'leak_reversal'", parameters=parameters)
    if not capacitance > 0:
        raise builder.error("[membrane] capacitance must be > 0", where=where)
    if not (leak >= 0 and leak + neck > 0):
        raise builder.error("[membrane] needs leak_conductance >= 0, and > 0 without a neck "
                            "(otherwise the voltage has no resting value)", where=where)
    times, values = read_steps(
        builder, raw.get("clamp", []), "the clamp", where, parameters,
        lambda value: math.nan if value == "free" else units.millivolts(
            value, parameters=parameters, source=builder.source, where=where),
        example="{ time = \"10 ms\", value = \"-60 mV\" } (value = \"free\" releases the "
                "clamp)")
    return Membrane(v_index, d_index, capacitance, leak, e_leak, neck, channels,
                    tuple(times), tuple(values))
