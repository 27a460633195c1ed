"""The parts of a built :class:`~stochsyn.model.model.Model`: its concrete reactions, its
time-dependent inputs and its timed interventions, with the vocabularies they use (the
rate-law kinds, the hybrid mode's default error control).

Plain values: the spec reader (:mod:`stochsyn.model.spec_reader`) makes them, the Model
holds them, :func:`stochsyn.network.compile` turns them into arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .membrane import Pulse


#: Rate-law kinds a reaction's rate table may name (docs/model-format.md, "Time-dependent
#: rates" and "Reduced rate laws"); plain numbers and expressions are mass action.
RATE_KINDS = ("mass_action", "voltage", "input", "current", "ghk", "boltzmann",
              "michaelis_menten", "hill")
#: Kinds whose propensity depends on the state only (the engine keeps them in the sum tree).
STATE_KINDS = ("mass_action", "michaelis_menten", "hill")
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
    neighbour : (target state species, tuple of neighbour state species) or None
        Set for neighbour rules: the propensity counts the agents in the target state whose
        left ring neighbour is in one of these states (a pair class) instead of the target
        state (see :func:`stochsyn.model.rules.split_neighbour_classes`).
    log : bool
        Write an event record for each agent this reaction moves.
    kind : str
        Rate law: ``"mass_action"`` (``a = c · Π C(x_s, ν_s)``), ``"voltage"``
        (``a = c · exp(V(t) / v_scale_mv) · Π C``, V the input ``input``, in mV) or
        ``"input"`` (``a = c · u(t) · Π C``, u the input ``input`` in its declared unit).
    input : int
        Index into :attr:`Model.inputs` for the time-dependent kinds, else -1.
    v_scale_mv : float
        Voltage scale of the ``"voltage"`` kind (mV; negative for rates that fall with V);
        the slope of the ``"boltzmann"`` kind, ``a = c / (1 + exp((v_half_mv − V)/v_scale_mv))
        · Π C`` (mV; negative for a rate that falls with V).
    v_half_mv : float
        Half-activation voltage of the ``"boltzmann"`` kind (mV; 0 for the other kinds).
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
        reaction cannot have it, :func:`flux_obstacle`).
    complex_type : int
        A complex rule (``members``): the agent type whose complex it changes, else -1.
    complex_pick : bool
        The rule fires at rate ``c · Π C`` per complex and picks its complex uniformly
        (``complex = "Type"``); otherwise the complex is that of the agent it moves.
    members : tuple of (from state species, to state species, ((species, count), ...))
        What a complex rule does to each member of the complex, by the member's state
        (states not listed are left alone): :func:`stochsyn.model.rules.expand_members`.

    The ``"michaelis_menten"`` kind has ``a = c · E · x_s / (K_M + S)`` (``x_s`` the
    reactant state, order 1) and ``"hill"`` ``a = c · Π C(x_s, ν_s) · X^n / (K^n + X^n)``.
    """

    name: str
    rule: str
    reactants: tuple[tuple[int, int], ...]
    products: tuple[tuple[int, int], ...]
    rate: float
    agent_moves: tuple[tuple[int, int, int], ...] = ()
    neighbour: tuple[int, tuple[int, ...]] | None = None
    log: bool = False
    kind: str = "mass_action"
    input: int = -1
    v_scale_mv: float = 0.0
    v_half_mv: float = 0.0
    modifier: tuple[tuple[int, float], ...] = ()
    saturation: tuple[int, ...] = ()
    half: float = 0.0
    hill_n: float = 0.0
    repress: bool = False
    flux: bool | None = None
    complex_type: int = -1
    complex_pick: bool = False
    members: tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...] = ()


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
    if reaction.complex_type >= 0:
        return "it changes the members of a complex (members), which are agents"
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
