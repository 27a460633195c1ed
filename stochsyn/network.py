"""Compile a Model into the flat arrays the numba kernels read.

The Network is the contract between the Python layers and the kernels. Every integer array
is ``int64`` and every real array ``float64`` whatever the model, so one compiled kernel
serves every model and a parameter change never recompiles. The kernels receive the
arrays packed into two buffers (:func:`pack`; :mod:`stochsyn.engine.layout` unpacks them),
made once per Network.

The state vector of the engine has ``n_species + n_pair_classes`` entries: the species
counts (agent states included, each the number of agents in that state), followed by the
ring pair classes that neighbour rules read (the number of agents in state s whose left
ring neighbour is in one of the states of a set A; the sets of one target state are
disjoint, :func:`stochsyn.model.rules.split_neighbour_classes`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .model.balance import rref
from .model.elements import STATE_KINDS
from .model.model import Model, hybrid_roles

#: Rate-law kinds the kernels dispatch on: c·ΠC, c·exp(V(t)/v_scale)·ΠC, c·u(t)·ΠC,
#: c·max(0, E − V(t))·ΠC (ion current), c·GHK(V(t))·ΠC and
#: c·ΠC/(1 + exp((v_half − V(t))/v_scale)) (Boltzmann), all time-dependent but the first; and the state-dependent c·ΠC·E/(K_M + S) (Michaelis–Menten), c·ΠC·X^n/(K^n + X^n)
#: (Hill) and c·ΠC·K^n/(K^n + X^n) (Hill repression), which live in the sum tree like mass
#: action (codes >= MICHAELIS_MENTEN).
MASS_ACTION, VOLTAGE, INPUT, CURRENT, GHK, BOLTZMANN = 0, 1, 2, 3, 4, 5
MICHAELIS_MENTEN, HILL, HILL_REPRESS = 6, 7, 8
_KIND_CODES = {"mass_action": MASS_ACTION, "voltage": VOLTAGE, "input": INPUT,
               "current": CURRENT, "ghk": GHK, "boltzmann": BOLTZMANN,
               "michaelis_menten": MICHAELIS_MENTEN,
               "hill": HILL}

#: Hybrid mode (``[continuous]``): reactions that are terms of the ODE of the continuous
#: species, discrete reactions whose propensity reads continuous species (evaluated
#: along y(t) by stochsyn.engine.continuous), and fluxes (terms of the ODE with a discrete
#: factor). Their leaves in the sum tree stay 0.
ODE_TERM, COUPLED, FLUX = 9, 10, 11

#: Intervention kinds (the last two: set or add to a continuous species' value).
SET_COUNT, ADD_COUNT, SET_RATE, SET_VALUE, ADD_VALUE = 0, 1, 2, 3, 4

#: What triggers a pulse component (stochsyn.model.membrane.Pulse.trigger).
PULSE_RELEASE, PULSE_PRE, PULSE_POST = 0, 1, 2
_TRIGGER_CODES = {"release": PULSE_RELEASE, "pre": PULSE_PRE, "post": PULSE_POST}


class NetworkArrays(NamedTuple):
    """The compiled network, as the kernels see it.

    Sizes: ``S`` species, ``P`` pair classes, ``M`` reactions, ``T`` agent types,
    ``K`` interventions, ``L`` sum-tree leaves (power of four >= M), ``I`` inputs.
    """

    x0: np.ndarray             # (S,) int64 initial counts
    n_state: np.ndarray        # () int64 as (1,): S + P, length of the engine's state vector
    rate_kind: np.ndarray      # (M,) int64
    rate: np.ndarray           # (M,) float64 stochastic constants, 1/s (per input unit)
    rate_input: np.ndarray     # (M,) int64 input a time-dependent kind reads, -1 for none
    rate_vscale: np.ndarray    # (M,) float64 mV: v_scale (VOLTAGE, BOLTZMANN), E_rev
                               #   (CURRENT), V_T/z (GHK), else 0
    rate_vhalf: np.ndarray     # (M,) float64 mV: v_half (BOLTZMANN), else 0
    reac_ptr: np.ndarray       # (M+1,) int64 CSR over the reactants
    reac_idx: np.ndarray       # state-vector index (a pair class for a neighbour rule's target)
    reac_order: np.ndarray     # stoichiometry of each reactant
    delta_ptr: np.ndarray      # (M+1,) int64 CSR of the net change of plain species
    delta_idx: np.ndarray
    delta_val: np.ndarray
    move_ptr: np.ndarray       # (M+1,) int64 CSR of agent moves
    move_type: np.ndarray      # agent type of each move
    move_from: np.ndarray      # state species, -1 = create
    move_to: np.ndarray        # state species, -1 = destroy
    pick_class: np.ndarray     # (M,) pair class the first moved agent is drawn from, or -1
    log: np.ndarray            # (M,) int64, 1 = write event records
    dep_ptr: np.ndarray        # (M+1,) int64: mass-action reactions whose propensity j's
    dep_idx: np.ndarray        #   firing changes (sorted)
    tvdep_ptr: np.ndarray      # (M+1,) int64: the same for time-dependent reactions
    tvdep_idx: np.ndarray
    lawdep_ptr: np.ndarray     # (M+1,) int64: the same for MICHAELIS_MENTEN and HILL
    lawdep_idx: np.ndarray     #   reactions
    law_rx: np.ndarray         # int64 the MICHAELIS_MENTEN and HILL reactions
    tv_idx: np.ndarray         # int64 time-dependent reactions (rate_kind != MASS_ACTION)
    tv_inputs: np.ndarray      # int64 inputs they read, sorted
    type_capacity: np.ndarray  # (T,) most agents alive at once
    type_n_initial: np.ndarray  # (T,) agents at t = 0 (ids 0 .. n-1)
    type_agent_offset: np.ndarray  # (T,) first global agent slot of the type
    type_state_base: np.ndarray    # (T,) first state species of the type
    type_n_states: np.ndarray      # (T,)
    type_ring_size: np.ndarray     # (T,) 0 = no ring
    type_class_base: np.ndarray    # (T,) offset into class_of, -1 if the type has no classes
    state_list_offset: np.ndarray  # (S,) start of the state's member list, -1 for plain species
    class_list_offset: np.ndarray  # (P,) start of the pair class's member list
    class_of: np.ndarray           # flattened (n_states, n_states) per ring type -> class or -1
    n_members: np.ndarray          # (1,) size of the state member-list storage
    n_class_members: np.ndarray    # (1,) size of the pair-class member-list storage
    n_agent_slots: np.ndarray      # (1,) sum of capacities
    iv_time: np.ndarray        # (K,) float64, sorted
    iv_ptr: np.ndarray         # (K+1,) CSR of the actions of each intervention
    iv_kind: np.ndarray        # SET_COUNT, ADD_COUNT or SET_RATE
    iv_target: np.ndarray      # species or reaction index
    iv_count: np.ndarray       # int64 value for SET_COUNT / ADD_COUNT
    iv_rate: np.ndarray        # float64 value for SET_RATE
    n_leaves: np.ndarray       # (1,) L
    in_value: np.ndarray       # (I,) float64 constant part of each input
    in_sine_amp: np.ndarray    # (I,) float64 sine amplitude
    in_sine_omega: np.ndarray  # (I,) float64 angular frequency, rad/s
    in_sine_phase: np.ndarray  # (I,) float64 phase, rad
    in_step_ptr: np.ndarray    # (I+1,) int64 CSR of each input's steps
    in_step_time: np.ndarray   # float64 step times (s), increasing within an input
    in_step_value: np.ndarray  # float64 value added from that time on
    in_release_prob: np.ndarray  # (I,) float64 release probability per spike, -1 = none
    in_pulse_peak: np.ndarray  # (I,) float64 mean vesicle amplitude (input unit)
    in_pulse_cv: np.ndarray    # (I,) float64 CV of the vesicle amplitude
    in_release_tau_rec: np.ndarray    # (I,) float64 s, reloading of the empty site, 0 = none
    in_release_tau_facil: np.ndarray  # (I,) float64 s, decay of facilitation, 0 = none
    in_comp_ptr: np.ndarray    # (I+1,) int64 CSR of each input's pulse components
    comp_trigger: np.ndarray   # (C,) int64 PULSE_RELEASE, PULSE_PRE or PULSE_POST
    comp_amp: np.ndarray       # (C,) float64 peak (input unit; a weight for PULSE_RELEASE)
    comp_rate: np.ndarray      # (C,) float64 1/τ (1/s)
    comp_alpha: np.ndarray     # (C,) int64 1 = alpha function, 0 = exponential
    mem_io: np.ndarray         # (2,) int64 membrane voltage input, dendrite input (-1 = none)
    mem_param: np.ndarray      # (5,) float64 C (F), g_L (S), E_L (mV), g_neck (S), V(0) (mV)
    ch_idx: np.ndarray         # int64 state-vector index of each conducting state
    ch_g: np.ndarray           # float64 its conductance per molecule or agent (S)
    ch_e: np.ndarray           # float64 its reversal potential (mV)
    rx_conductance: np.ndarray  # (M,) int64 1 = the reaction changes a conducting state
    law_ptr: np.ndarray        # (M+1,) int64 CSR of the modifier of a MICHAELIS_MENTEN or HILL
    law_idx: np.ndarray        #   reaction: state-vector indices of the enzyme E (none: E = 1)
    law_w: np.ndarray          #   or the regulator X, and their float64 weights (X = Σ w x)
    sat_ptr: np.ndarray        # (M+1,) int64 CSR of the states summed as S in K_M + S
    sat_idx: np.ndarray        #   (MICHAELIS_MENTEN)
    law_k: np.ndarray          # (M,) float64 K_M or the Hill constant K (molecules), else 0
    law_n: np.ndarray          # (M,) float64 Hill coefficient n, else 0
    type_complex_size: np.ndarray  # (T,) int64 agents per complex, 0 = none
    cx_type: np.ndarray        # (M,) int64 agent type whose complex a complex rule changes, -1
    cx_pick: np.ndarray        # (M,) int64 1 = draw the complex uniformly, 0 = the complex of
                               #   the first agent the reaction moved
    cx_off: np.ndarray         # (M,) int64 start of the reaction's block in cx_to, -1 = none
    cx_to: np.ndarray          # int64 per block, per state of the type (in order): the state a
                               #   member in that state ends in (itself if unchanged)
    cx_dptr: np.ndarray        # (len(cx_to)+1,) int64 CSR per block entry of the species the
    cx_didx: np.ndarray        #   member releases, and how many
    cx_dval: np.ndarray


class HybridArrays(NamedTuple):
    """The hybrid mode's part of a compiled network (``[continuous]``; see
    :func:`stochsyn.model.hybrid_roles` and :mod:`stochsyn.engine.continuous`), passed to
    the kernels apart from :class:`NetworkArrays`: a model without continuous species has
    none, and its kernel neither compiles nor pays for any of it (every array a kernel
    receives costs reference counting at each call).

    Sizes: ``Y`` continuous species, ``N`` coupled reactions, ``F`` fluxes; a "slot" is
    an index into y (the continuous species in species order; slot ``Y + q`` is the total
    moved by flux ``q``, integrated with them).
    """

    cont_idx: np.ndarray       # (Y,) int64 state index of each continuous species
    cont_slot: np.ndarray      # (S + P,) int64 slot of each state entry, -1 if discrete
    cont_tol: np.ndarray       # (3,) float64 ODE rtol, atol (molecules), 1.0 if the
                               # linear propagation may be used ([continuous] linear)
    ode_rx: np.ndarray         # (Q,) int64 the ODE terms (rate_kind ODE_TERM)
    mt_rx: np.ndarray          # int64 the mass-action ODE terms of at most two reactants of
    mt_a: np.ndarray           #   order 1 (the usual ones), laid out for speed: reaction,
    mt_b: np.ndarray           #   reactant slots a, b (-1: none), and the CSR of their net
    mt_ptr: np.ndarray         #   changes of the integrated variables (slot, float64
                               #   change; a dependent species' is implied)
    mt_slot: np.ndarray
    mt_val: np.ndarray
    jt_ptr: np.ndarray         # (2 len(mt_rx) + 1,) int64 CSR, per fast term and reactant
    jt_row: np.ndarray         #   (a, then b), of its Jacobian entries among the integrated
    jt_col: np.ndarray         #   variables (z positions, the conservation laws folded in):
    jt_val: np.ndarray         #   J_z[row, col] += val · ∂a/∂y_reactant
    ode_code: np.ndarray       # int64 the other mass-action ODE terms, one after another:
                               #   j, n, n × (slot, order), m, m × (slot, net change)
    ode_law_code: np.ndarray   # int64 the Michaelis–Menten and Hill ODE terms: j, kind, then
                               #   as in ode_code
    cp_rx: np.ndarray          # (N,) int64 the coupled reactions (rate_kind COUPLED)
    cp_ptr: np.ndarray         # (N+1,) int64 start of each in cp_code:
    cp_code: np.ndarray        #   j, kind, n, n × (state index of a discrete reactant, a
                               #   pair class for a neighbour rule; order), m, m × (slot of
                               #   a continuous reactant, order)
    cpdep_ptr: np.ndarray      # (M+1,) int64: positions in cp_rx whose discrete part
    cpdep_idx: np.ndarray      #   reaction j's firing changes
    jump_ptr: np.ndarray       # (M+1,) int64 CSR of each discrete reaction's change of
    jump_slot: np.ndarray      #   continuous species: slot, int64 net change
    jump_val: np.ndarray
    fx_rx: np.ndarray          # (F,) int64 the fluxes (rate_kind FLUX)
    fx_ptr: np.ndarray         # (F+1,) int64 start of each in fx_code:
    fx_code: np.ndarray        #   j, kind (its own: MASS_ACTION … HILL_REPRESS), n,
                               #   n × (state index of a discrete reactant; order), m,
                               #   m × (slot of a continuous reactant, order), k,
                               #   k × (slot, net change)
    fx_input: np.ndarray       # (F,) int64 input a time-dependent flux reads, else -1
    fx_state: np.ndarray       # (1,) int64 1 = a flux is of a state kind (mass action,
                               #   Michaelis–Menten, Hill)
    fxdep_ptr: np.ndarray      # (M+1,) int64: fluxes whose discrete factor (or discrete
    fxdep_idx: np.ndarray      #   law modifier) reaction j's firing changes
    settle_before: np.ndarray  # (M,) int64 1 = reaction j's firing jumps y or changes a
                               #   count a flux's law reads: the ODE is settled first
    fx_voltage: np.ndarray     # (1,) int64 1 = a flux reads the membrane voltage
    fx_steps_inputs: np.ndarray  # int64 inputs (not the membrane's) of time-dependent
                                 #   fluxes that have steps: the ODE's steps end there
    fx_consumed: np.ndarray    # int64 pairs (slot, flux) of a continuous species a flux
                               #   consumes (FLUX_NEGATIVE check)
    law_slots: np.ndarray      # int64 slots read by a Michaelis–Menten or Hill term (ODE
                               #   term or flux): finite-difference columns of the Jacobian
    z_idx: np.ndarray          # (Z,) int64 the slots the integrator solves for: the species
                               #   the conservation laws leave independent, then the Y + q
                               #   of the flux totals
    zpos: np.ndarray           # (Y + F,) int64 position of each slot in z_idx, -1 if dependent
    dep_slot: np.ndarray       # (D,) int64 the species each conservation law makes
    dep_ptr: np.ndarray        #   dependent, y_d = T_d − Σ coef · y_c, and the CSR of its
    dep_col: np.ndarray        #   terms: position of c in z_idx, float64 coef
    dep_coef: np.ndarray
    depof: np.ndarray          # (Y + F,) int64 the law of each dependent slot, else -1
    law_ptr: np.ndarray        # the Michaelis–Menten and Hill arrays of NetworkArrays
    law_idx: np.ndarray        #   (the same objects)
    law_w: np.ndarray
    sat_ptr: np.ndarray
    sat_idx: np.ndarray
    law_k: np.ndarray
    law_n: np.ndarray


class PackedNetwork(NamedTuple):
    """A network's arrays in two buffers (:func:`pack`).

    Handing 86 arrays to a compiled kernel costs ~0.1 µs each at every call (numba types
    and unboxes every array, and makes and frees a reference-count record for each): 8–9 µs,
    as much as the rest of a one-trajectory ``simulate`` call. Packed, a call passes 3, and
    :func:`stochsyn.engine.layout.unpack` rebuilds the named tuple from views of them.

    Attributes
    ----------
    ints : (N_i,) int64 ndarray
        The int64 fields of :class:`NetworkArrays`, one after another in field order.
    reals : (N_f,) float64 ndarray
        The float64 fields, likewise.
    bounds : (F, 2) int64 ndarray
        Field k is ``ints[bounds[k, 0]:bounds[k, 1]]`` or ``reals[…]``, by its dtype.
    """

    ints: np.ndarray
    reals: np.ndarray
    bounds: np.ndarray


def pack(arrays: NetworkArrays) -> PackedNetwork:
    """Lay the arrays of a :class:`NetworkArrays` out in two buffers, in field order.

    Raises
    ------
    TypeError
        A field that is not a 1-D int64 or float64 array (the message names it).
    """
    parts = {"i": [], "f": []}
    sizes = {"i": 0, "f": 0}
    bounds = np.empty((len(arrays), 2), dtype=np.int64)
    for k, name in enumerate(arrays._fields):
        value = getattr(arrays, name)
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if not (isinstance(value, np.ndarray) and value.ndim == 1 and value.itemsize == 8
                and kind in "if"):
            raise TypeError(f"NetworkArrays.{name} must be a 1-D int64 or float64 array, "
                            f"not {value!r:.80}")
        parts[kind].append(value)
        bounds[k] = sizes[kind], sizes[kind] + len(value)
        sizes[kind] += len(value)
    ints = np.concatenate(parts["i"]) if parts["i"] else np.zeros(0, np.int64)
    reals = np.concatenate(parts["f"]) if parts["f"] else np.zeros(0, np.float64)
    return PackedNetwork(ints.astype(np.int64, copy=False),
                         reals.astype(np.float64, copy=False), bounds)


@dataclass(frozen=True, eq=False)
class Network:
    """A compiled model: labels for the Python side, :class:`NetworkArrays` for the kernels.
    Compared and hashed by identity (arrays have no truth value to compare by), so the
    layers above can key what they learn of a network on it.

    Attributes
    ----------
    model : Model
    species : tuple of str
        Labels of the first ``S`` entries of the state vector.
    reactions : tuple of str
    pair_classes : tuple of (target state species, tuple of neighbour state species)
    arrays : NetworkArrays
    continuous : tuple of str
        The continuous species in the order of y (species order); empty for the exact mode.
    hybrid : HybridArrays or None
        The hybrid mode's arrays; None for the exact mode.
    packed : stochsyn.engine.layout.PackedNetwork
        ``arrays`` packed for the kernels (a cached property).
    every_species : ndarray of int64, shape (S,)
        ``arange(S)``, the index of every species (a cached property).
    agent_types : tuple of (str, int, int)
        Each agent type's name, first state index and number of states (a cached property).
    """

    model: Model
    species: tuple[str, ...]
    reactions: tuple[str, ...]
    pair_classes: tuple[tuple[int, tuple[int, ...]], ...]
    arrays: NetworkArrays
    continuous: tuple[str, ...] = ()
    hybrid: HybridArrays | None = None

    @functools.cached_property
    def packed(self) -> PackedNetwork:
        """``arrays`` in the two buffers the kernels take (:func:`pack`: 3 arrays to hand
        over per call instead of 85), made on first use."""
        return pack(self.arrays)

    @functools.cached_property
    def every_species(self) -> np.ndarray:
        """``arange(n_species)``: the kernels record every species (made once per network;
        left writable, since a read-only array is another type to numba, i.e. another
        compiled kernel; the kernels only read it)."""
        return np.arange(self.n_species, dtype=np.int64)

    @functools.cached_property
    def agent_types(self) -> tuple[tuple[str, int, int], ...]:
        """Each agent type of ``model`` as (name, index of its first state, number of
        states), the labels an :class:`~stochsyn.Ensemble` reads its event records with."""
        return agent_type_labels(self.model)

    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def n_reactions(self) -> int:
        return len(self.reactions)


def agent_type_labels(model: Model) -> tuple[tuple[str, int, int], ...]:
    """Each agent type of ``model`` as (name, index of its first state, number of states)."""
    return tuple((a.name, model.agent_state_base[a.name], len(a.states))
                 for a in model.agent_types)


def _csr(rows: list[list], n_fields: int, dtypes):
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    columns = []
    for f in range(n_fields):
        columns.append(np.array([entry[f] if n_fields > 1 else entry
                                 for row in rows for entry in row], dtype=dtypes[f]))
    return (ptr, *columns)


def _i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _f64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).reshape(-1)


def compile(model: Model) -> Network:  # noqa: A001 - the layer's verb, as in DESIGN.md
    """Compile ``model`` into a :class:`Network`, once per Model.

    A Model is an immutable value, so its Network is kept with it and later calls return
    the same object (building it takes 0.2 ms for 2 reactions, 1.3 ms for the 97 of
    ``reactions/examples/ampar_network.toml``; the lookup ~0.2 µs). The kernels copy what
    they change (the rate constants), so the arrays are only read: do not write to them.
    Parameters are runtime values in these arrays, so a Model from
    :meth:`Model.with_parameters` gets its own Network without recompiling any kernel.

    Parameters
    ----------
    model : Model

    Returns
    -------
    Network
    """
    network = vars(model).get(_KEPT)
    if network is None:
        network = _compile(model)
        # Kept on the Model itself (it is immutable, so its arrays cannot go stale): the
        # Network refers back to its Model, so a table keyed by Models would keep every
        # Model of a parameter sweep alive; this cycle is freed with the Model.
        object.__setattr__(model, _KEPT, network)
    return network


#: The attribute under which a Model keeps its Network (:func:`compile`).
_KEPT = "_stochsyn_network"


def _compile(model: Model) -> Network:
    """Build the Network of ``model`` (:func:`compile` keeps it)."""
    n_species = model.n_species
    reactions = model.reactions
    agent_types = model.agent_types

    # Pair classes that neighbour rules read, numbered in order of first use.
    pair_classes: list[tuple[int, tuple[int, ...]]] = []
    for reaction in reactions:
        if reaction.neighbour is not None and reaction.neighbour not in pair_classes:
            pair_classes.append(reaction.neighbour)
    class_index = {pc: n_species + c for c, pc in enumerate(pair_classes)}

    continuous = set(model.continuous)
    roles = hybrid_roles(model)
    reactant_rows, delta_rows, move_rows, pick_class, change_rows = [], [], [], [], []
    for reaction in reactions:
        row = []
        for species, order in reaction.reactants:
            if reaction.neighbour is not None and species == reaction.neighbour[0]:
                row.append((class_index[reaction.neighbour], order))
            else:
                row.append((species, order))
        reactant_rows.append(row)
        net: dict[int, int] = {}
        for species, order in reaction.reactants:
            net[species] = net.get(species, 0) - order
        for species, count in reaction.products:
            net[species] = net.get(species, 0) + count
        # Agent-state counts change through the moves, not through the delta; continuous
        # species through jumps (discrete reactions) or the ODE (ODE terms).
        delta_rows.append([(s, d) for s, d in sorted(net.items())
                           if d != 0 and s < model.n_plain_species and s not in continuous])
        change_rows.append([(s, d) for s, d in sorted(net.items())
                            if d != 0 and s in continuous])
        move_rows.append(list(reaction.agent_moves))
        pick_class.append(-1 if reaction.neighbour is None
                          else class_index[reaction.neighbour] - n_species)

    # A complex rule with complex = "Type" fires at c · Π C per complex: c × n complexes.
    complex_count = [sum(a.initial) // a.complex_size if a.complex_size else 0
                     for a in agent_types]
    rate_scale = [complex_count[r.complex_type] if r.complex_pick else 1 for r in reactions]

    reac_ptr, reac_idx, reac_order = _csr(reactant_rows, 2, (np.int64, np.int64))
    delta_ptr, delta_idx, delta_val = _csr(delta_rows, 2, (np.int64, np.int64))
    move_ptr, move_type, move_from, move_to = _csr(move_rows, 3, (np.int64,) * 3)

    # Agent storage: one member list per agent state, each as long as the type's capacity.
    state_list_offset = np.full(n_species, -1, dtype=np.int64)
    type_state_base, type_n_states, type_capacity, type_offset = [], [], [], []
    n_members, n_slots = 0, 0
    for agent in agent_types:
        base = model.agent_state_base[agent.name]
        type_state_base.append(base)
        type_n_states.append(len(agent.states))
        type_capacity.append(agent.capacity)
        type_offset.append(n_slots)
        n_slots += agent.capacity
        for k in range(len(agent.states)):
            state_list_offset[base + k] = n_members
            n_members += agent.capacity

    # Pair classes: a lookup table (target state, neighbour state) -> class per ring type
    # (the neighbour sets of one target are disjoint, so each entry names one class).
    type_class_base, class_of = [], []
    class_list_offset, n_class_members = [], 0
    for t, agent in enumerate(agent_types):
        if not agent.ring_size:
            type_class_base.append(-1)
            continue
        type_class_base.append(len(class_of))
        base, n = type_state_base[t], type_n_states[t]
        table = [-1] * (n * n)
        for c, (target, neighbours) in enumerate(pair_classes):
            if base <= target < base + n:
                for neighbour in neighbours:
                    table[(target - base) * n + (neighbour - base)] = c
        class_of.extend(table)
    for target, _ in pair_classes:
        t = model.agent_type_of(target)
        class_list_offset.append(n_class_members)
        n_class_members += agent_types[t].capacity

    dependents = _dependencies(model, reactant_rows, delta_rows, move_rows, class_index,
                               pair_classes)
    # Split by kind, so that the engine's hot loop over the tree's dependents needs no test.
    # ODE terms and coupled reactions (hybrid mode) are in none of these lists.
    hybrid = [role in ("ode", "coupled", "flux") for role in roles]
    timed = [r.kind not in STATE_KINDS and not h for r, h in zip(reactions, hybrid)]
    lawful = [r.kind in STATE_KINDS and r.kind != "mass_action" and not h
              for r, h in zip(reactions, hybrid)]
    timed_or_lawful = [t or l_ for t, l_ in zip(timed, lawful)]
    dep_ptr, dep_idx = _csr([[k for k in row if not (timed_or_lawful[k] or hybrid[k])]
                             for row in dependents], 1, (np.int64,))
    tvdep_ptr, tvdep_idx = _csr([[k for k in row if timed[k]] for row in dependents], 1,
                                (np.int64,))
    lawdep_ptr, lawdep_idx = _csr([[k for k in row if lawful[k]] for row in dependents], 1,
                                  (np.int64,))
    tv_idx = [j for j in range(len(reactions)) if timed[j]]
    tv_inputs = sorted({reactions[j].input for j in tv_idx})

    slot = {s: q for q, s in enumerate(sorted(continuous))}
    iv_time, iv_rows = [], []
    for intervention in model.interventions:
        iv_time.append(intervention.time)
        iv_rows.append([(SET_VALUE, slot[s], c, 0.0) if s in continuous
                        else (SET_COUNT, s, c, 0.0) for s, c in intervention.set_counts]
                       + [(ADD_VALUE, slot[s], c, 0.0) if s in continuous
                          else (ADD_COUNT, s, c, 0.0) for s, c in intervention.add_counts]
                       + [(SET_RATE, j, 0, c * rate_scale[j])
                          for j, c in intervention.set_rates])
    iv_ptr, iv_kind, iv_target, iv_count, iv_rate = _csr(
        iv_rows, 4, (np.int64, np.int64, np.int64, np.float64))

    membrane = _membrane_arrays(model, delta_rows, move_rows)
    # The clamp is the step function of the membrane's voltage input (absolute values).
    steps = list(model.inputs)
    if model.membrane is not None:
        m = model.membrane
        steps[m.voltage_input] = _Steps(m.clamp_times_s, m.clamp_mv)

    n_leaves = 1                      # leaves of the 4-ary sum tree: a power of 4
    while n_leaves < len(reactions):
        n_leaves *= 4

    arrays = NetworkArrays(
        x0=_i64(model.x0),
        n_state=_i64([n_species + len(pair_classes)]),
        rate_kind=_i64([{"ode": ODE_TERM, "coupled": COUPLED, "flux": FLUX}.get(
            role, _kind_code(r)) for r, role in zip(reactions, roles)]),
        rate=np.array([r.rate * k for r, k in zip(reactions, rate_scale)],
                      dtype=np.float64).reshape(-1),
        rate_input=_i64([r.input for r in reactions]),
        rate_vscale=np.array([r.v_scale_mv for r in reactions], dtype=np.float64).reshape(-1),
        rate_vhalf=np.array([r.v_half_mv for r in reactions], dtype=np.float64).reshape(-1),
        reac_ptr=reac_ptr, reac_idx=reac_idx, reac_order=reac_order,
        delta_ptr=delta_ptr, delta_idx=delta_idx, delta_val=delta_val,
        move_ptr=move_ptr, move_type=move_type, move_from=move_from, move_to=move_to,
        pick_class=_i64(pick_class),
        log=_i64([1 if r.log and (r.agent_moves or r.members) else 0 for r in reactions]),
        dep_ptr=dep_ptr, dep_idx=dep_idx, tvdep_ptr=tvdep_ptr, tvdep_idx=tvdep_idx,
        lawdep_ptr=lawdep_ptr, lawdep_idx=lawdep_idx,
        law_rx=_i64([j for j in range(len(reactions)) if lawful[j]]),
        tv_idx=_i64(tv_idx), tv_inputs=_i64(tv_inputs),
        type_capacity=_i64(type_capacity),
        type_n_initial=_i64([sum(a.initial) for a in agent_types]),
        type_agent_offset=_i64(type_offset),
        type_state_base=_i64(type_state_base),
        type_n_states=_i64(type_n_states),
        type_ring_size=_i64([a.ring_size for a in agent_types]),
        type_class_base=_i64(type_class_base),
        state_list_offset=state_list_offset,
        class_list_offset=_i64(class_list_offset),
        class_of=_i64(class_of),
        n_members=_i64([n_members]),
        n_class_members=_i64([n_class_members]),
        n_agent_slots=_i64([n_slots]),
        iv_time=np.array(iv_time, dtype=np.float64).reshape(-1),
        iv_ptr=iv_ptr, iv_kind=iv_kind, iv_target=iv_target, iv_count=iv_count,
        iv_rate=iv_rate,
        n_leaves=_i64([n_leaves]),
        in_value=_f64([math.nan if membrane["mem_io"][0] == k else i.value
                       for k, i in enumerate(model.inputs)]),
        in_sine_amp=_f64([i.sine_amplitude for i in model.inputs]),
        in_sine_omega=_f64([2 * math.pi * i.sine_frequency_hz for i in model.inputs]),
        in_sine_phase=_f64([i.sine_phase for i in model.inputs]),
        in_step_ptr=_i64(np.cumsum([0] + [len(i.step_times) for i in steps])),
        in_step_time=_f64([t for i in steps for t in i.step_times]),
        in_step_value=_f64([v for i in steps for v in i.step_values]),
        in_release_prob=_f64([i.release_probability for i in model.inputs]),
        in_pulse_peak=_f64([i.pulse_peak for i in model.inputs]),
        in_pulse_cv=_f64([i.pulse_cv for i in model.inputs]),
        in_release_tau_rec=_f64([i.release_recovery_s for i in model.inputs]),
        in_release_tau_facil=_f64([i.release_facilitation_s for i in model.inputs]),
        in_comp_ptr=_i64(np.cumsum([0] + [len(i.pulses) for i in model.inputs])),
        comp_trigger=_i64([_TRIGGER_CODES[p.trigger] for i in model.inputs for p in i.pulses]),
        comp_amp=_f64([p.amplitude for i in model.inputs for p in i.pulses]),
        comp_rate=_f64([1.0 / p.tau_s for i in model.inputs for p in i.pulses]),
        comp_alpha=_i64([p.shape == "alpha" for i in model.inputs for p in i.pulses]),
        **membrane,
        **_law_arrays(reactions),
        **_complex_arrays(model),
    )
    hybrid = None
    if continuous:
        hybrid = HybridArrays(
            **_hybrid_arrays(model, roles, slot, reactant_rows, change_rows, dependents,
                             len(pair_classes), membrane["mem_io"]),
            **{name: getattr(arrays, name) for name in ("law_ptr", "law_idx", "law_w",
                                                         "sat_ptr", "sat_idx", "law_k",
                                                         "law_n")})
    return Network(model=model, species=model.species,
                   reactions=tuple(r.name for r in reactions),
                   pair_classes=tuple(pair_classes), arrays=arrays,
                   continuous=tuple(model.species[s] for s in sorted(continuous)),
                   hybrid=hybrid)


class _Steps(NamedTuple):
    step_times: tuple
    step_values: tuple


def _membrane_arrays(model, delta_rows, move_rows) -> dict:
    """The membrane's arrays (empty ones and mem_io = (-1, -1) without a [membrane])."""
    m = model.membrane
    n_reactions = len(model.reactions)
    if m is None:
        return dict(mem_io=_i64([-1, -1]), mem_param=_f64([1.0, 0.0, 0.0, 0.0, 0.0]),
                    ch_idx=_i64([]), ch_g=_f64([]), ch_e=_f64([]),
                    rx_conductance=np.zeros(n_reactions, dtype=np.int64))
    entries = [(s, channel.conductance_s * w, channel.reversal_mv)
               for channel in m.channels for s, w in channel.weights if w != 0]
    conducting = {s for s, _, _ in entries}
    # A reaction changes the conductance if it changes a conducting count; an agent moved to
    # its own state (e.g. Ca2+ entry through an open NMDAR, ~10^4 per EPSP) does not.
    rx = [int(any(s in conducting and change != 0 for s, change in delta_rows[j])
              or any(frm != to and (frm in conducting or to in conducting)
                     for _, frm, to in move_rows[j]))
          for j in range(n_reactions)]
    return dict(mem_io=_i64([m.voltage_input, m.dendrite_input]),
                mem_param=_f64([m.capacitance_f, m.leak_conductance_s, m.leak_reversal_mv,
                                m.neck_conductance_s, model.inputs[m.voltage_input].value]),
                ch_idx=_i64([e[0] for e in entries]), ch_g=_f64([e[1] for e in entries]),
                ch_e=_f64([e[2] for e in entries]), rx_conductance=_i64(rx))


def _kind_code(reaction) -> int:
    return (HILL_REPRESS if reaction.kind == "hill" and reaction.repress
            else _KIND_CODES[reaction.kind])


def _hybrid_arrays(model, roles, slot, reactant_rows, change_rows, dependents,
                   n_pair_classes, mem_io) -> dict:
    """The hybrid mode's own arrays (see HybridArrays).

    ``slot`` maps the state index of each continuous species to its place in y (species
    order); ``reactant_rows`` hold state indices (pair classes for neighbour rules),
    ``change_rows`` each reaction's net change of continuous species; ``mem_io`` the
    membrane's voltage and dendrite inputs."""
    reactions = model.reactions
    ode = [j for j, role in enumerate(roles) if role == "ode"]
    coupled = [j for j, role in enumerate(roles) if role == "coupled"]
    fluxes = [j for j, role in enumerate(roles) if role == "flux"]
    position = {j: q for q, j in enumerate(coupled)}
    flux_position = {j: q for q, j in enumerate(fluxes)}
    n_state = model.n_species + n_pair_classes
    cont_slot = np.full(n_state, -1, dtype=np.int64)
    for s, q in slot.items():
        cont_slot[s] = q

    def term(j):
        reactants = [(slot[s], n) for s, n in reactant_rows[j]]
        changes = [(slot[s], d) for s, d in change_rows[j]]
        return ([len(reactants)] + [v for pair in reactants for v in pair]
                + [len(changes)] + [v for pair in changes for v in pair])

    def split(j):
        """j, kind, the discrete reactants, the continuous ones (the coupled layout)."""
        discrete = [(s, n) for s, n in reactant_rows[j] if s not in slot]
        continuous = [(slot[s], n) for s, n in reactant_rows[j] if s in slot]
        return ([j, _kind_code(reactions[j]), len(discrete)]
                + [v for pair in discrete for v in pair]
                + [len(continuous)] + [v for pair in continuous for v in pair])

    def law_reads(j):
        r = reactions[j]
        return {slot[s] for s in {i for i, _ in r.modifier} | set(r.saturation) if s in slot}

    ode_code, ode_law_code, cp_code, cp_ptr, law_slots = [], [], [], [0], set()
    fast = []       # (j, a, order a, b, order b, changes) of the short mass-action terms
    for j in ode:
        kind = _kind_code(reactions[j])
        if (kind == MASS_ACTION and len(reactant_rows[j]) <= 2
                and all(n == 1 for _, n in reactant_rows[j])):
            pairs = [(slot[s], n) for s, n in reactant_rows[j]] + [(-1, 0)] * 2
            fast.append((j, *pairs[0], *pairs[1],
                         [(slot[s], d) for s, d in change_rows[j]]))
        elif kind == MASS_ACTION:
            ode_code += [j] + term(j)
        else:
            ode_law_code += [j, kind] + term(j)
            law_slots |= {slot[s] for s, _ in reactant_rows[j]} | law_reads(j)
    for j in coupled:
        cp_code += split(j)
        cp_ptr.append(len(cp_code))
    fx_code, fx_ptr, fx_input, consumed = [], [0], [], []
    for q, j in enumerate(fluxes):
        changes = [(slot[s], d) for s, d in change_rows[j]]
        fx_code += split(j) + [len(changes)] + [v for pair in changes for v in pair]
        fx_ptr.append(len(fx_code))
        timed = reactions[j].kind not in STATE_KINDS
        fx_input.append(reactions[j].input if timed else -1)
        consumed += [v for s, d in changes if d < 0 for v in (s, q)]
        if reactions[j].kind in ("michaelis_menten", "hill"):
            law_slots |= {slot[s] for s, _ in reactant_rows[j] if s in slot} | law_reads(j)
    steps_inputs = sorted({fx_input[q] for q in range(len(fluxes)) if fx_input[q] >= 0
                           and fx_input[q] not in (int(mem_io[0]), int(mem_io[1]))
                           and model.inputs[fx_input[q]].step_times})
    cpdep = _csr([[position[k] for k in row if k in position] for row in dependents], 1,
                 (np.int64,))
    fxdep = _csr([[flux_position[k] for k in row if k in flux_position]
                  for row in dependents], 1, (np.int64,))
    jumps = _csr([[] if roles[j] in ("ode", "flux") else [(slot[s], d) for s, d in change_rows[j]]
                  for j in range(len(reactions))], 2, (np.int64, np.int64))
    law_reads_discrete = {s for j in fluxes for s in {i for i, _ in reactions[j].modifier}
                          | set(reactions[j].saturation) if s not in slot}
    # (a complex rule's members change agent states beyond its own net change)
    settle_before = [int(jumps[0][j + 1] > jumps[0][j]
                         or any(s in law_reads_discrete for s, d in _net_change(reactions[j])
                                if d)
                         or any(s in law_reads_discrete for frm, to, _ in reactions[j].members
                                for s in (frm, to))
                         # a complex rule that releases continuous species jumps y
                         # (engine.ssa._complex_members)
                         or any(s in slot for _, _, products in reactions[j].members
                                for s, _ in products))
                     for j in range(len(reactions))]
    order = sorted(slot, key=lambda s: (-model.x0[s], s))     # most abundant first
    laws = conservation_laws([[(slot[s], d) for s, d in change_rows[j]]
                              for j in ode + fluxes], len(slot),
                             [slot[s] for s in order])
    dependent = [d for d, _ in laws]
    independent = [q for q in range(len(slot)) if q not in dependent]
    z_idx = independent + [len(slot) + q for q in range(len(fluxes))]
    position = {q: k for k, q in enumerate(z_idx)}
    dep = _csr([[(position[c], coef) for c, coef in terms] for _, terms in laws], 2,
               (np.int64, np.float64))
    # the fast terms' changes at the integrated variables only (continuous._fast_mass)
    mt = _csr([[(r, d) for r, d in f[5] if r in position] for f in fast], 2,
              (np.int64, np.float64))
    folded = {d: terms for d, terms in laws}

    def partials(reactant, changes):
        """J_z entries (row, col, val) of ∂(term)/∂y_reactant, the laws folded in."""
        entries: dict[tuple[int, int], float] = {}
        for r, change in changes:
            if r not in position:
                continue            # a dependent species is not integrated
            if reactant in position:
                cols = [(position[reactant], 1.0)]
            else:                   # y_d = T − Σ coef·y_c
                cols = [(position[c], -coef) for c, coef in folded[reactant]]
            for col, factor in cols:
                key = (position[r], col)
                entries[key] = entries.get(key, 0.0) + change * factor
        return [(i, c, v) for (i, c), v in sorted(entries.items()) if v != 0.0]
    jt = _csr([partials(f[k], f[5]) if f[k] >= 0 else [] for f in fast for k in (1, 3)], 3,
              (np.int64, np.int64, np.float64))
    return dict(
        cont_idx=_i64(sorted(slot)), cont_slot=cont_slot,
        cont_tol=_f64(tuple(model.continuous_tolerance) + (float(model.continuous_linear),)),
        ode_rx=_i64(ode), ode_code=_i64(ode_code), ode_law_code=_i64(ode_law_code),
        mt_rx=_i64([f[0] for f in fast]), mt_a=_i64([f[1] for f in fast]),
        mt_b=_i64([f[3] for f in fast]), mt_ptr=mt[0], mt_slot=mt[1], mt_val=mt[2],
        jt_ptr=jt[0], jt_row=jt[1], jt_col=jt[2], jt_val=jt[3],
        cp_rx=_i64(coupled), cp_ptr=_i64(cp_ptr), cp_code=_i64(cp_code),
        cpdep_ptr=cpdep[0], cpdep_idx=cpdep[1],
        jump_ptr=jumps[0], jump_slot=jumps[1], jump_val=jumps[2],
        fx_rx=_i64(fluxes), fx_ptr=_i64(fx_ptr), fx_code=_i64(fx_code), fx_input=_i64(fx_input),
        fx_state=_i64([int(any(i < 0 for i in fx_input))]),
        fxdep_ptr=fxdep[0], fxdep_idx=fxdep[1], settle_before=_i64(settle_before),
        fx_voltage=_i64([int(int(mem_io[0]) >= 0 and int(mem_io[0]) in fx_input)]),
        fx_steps_inputs=_i64(steps_inputs), fx_consumed=_i64(consumed),
        law_slots=_i64(sorted(law_slots)),
        z_idx=_i64(z_idx),
        zpos=_i64([position.get(q, -1) for q in range(len(slot) + len(fluxes))]),
        dep_slot=_i64(dependent), dep_ptr=dep[0], dep_col=dep[1], dep_coef=dep[2],
        depof=_i64([dependent.index(q) if q in dependent else -1
                    for q in range(len(slot) + len(fluxes))]))


def _net_change(reaction) -> list[tuple[int, int]]:
    """(species, net change) of a reaction (agent states included)."""
    net: dict[int, int] = {}
    for s, n in reaction.reactants:
        net[s] = net.get(s, 0) - n
    for s, n in reaction.products:
        net[s] = net.get(s, 0) + n
    return sorted(net.items())


def conservation_laws(changes: list[list[tuple[int, int]]], n: int,
                      preference: list[int]) -> list[tuple[int, list[tuple[int, float]]]]:
    """The linear conservation laws of the continuous dynamics, each solved for one species.

    ``changes`` holds the net change ``[(slot, ν), …]`` of every ODE term and flux over the
    ``n`` continuous species. A law is a vector ``l`` with ``l · ν_j = 0`` for every j, so
    ``l · y`` stays constant between events (jumps and interventions move the constant, not
    the law). The laws are brought to reduced row echelon form over the species in the
    order ``preference`` (exact rational arithmetic), so each law's pivot, the species it
    makes dependent, ``y_d = T − Σ_c coef_c · y_c``, is the first of its species in that
    order (the most abundant: the difference of large totals loses the fewest digits),
    and no dependent species appears in another law.

    Returns
    -------
    list of (dependent slot, [(independent slot, coef), …])
    """
    from fractions import Fraction
    rows = [[Fraction(0)] * n for _ in changes]
    for row, change in zip(rows, changes):
        for s, d in change:
            row[s] += d
    # null space of the transposed stoichiometry (terms × species): the laws l
    matrix = [row[:] for row in rows]
    pivots = rref(matrix, range(n))
    basis = []
    for free in (c for c in range(n) if c not in pivots):
        vector = [Fraction(0)] * n
        vector[free] = Fraction(1)
        for row_index, col in enumerate(pivots):
            vector[col] = -matrix[row_index][free]
        basis.append(vector)
    # reduced row echelon form of the laws, columns taken in the preferred order
    laws = rref(basis, preference)
    return [(d, [(c, float(basis[k][c])) for c in range(n) if c != d and basis[k][c] != 0])
            for k, d in enumerate(laws)]


def _complex_arrays(model) -> dict:
    """The arrays of complex rules (``members``; see NetworkArrays)."""
    cx_type, cx_pick, cx_off, cx_to, released = [], [], [], [], []
    for reaction in model.reactions:
        t = reaction.complex_type
        cx_type.append(t)
        cx_pick.append(int(reaction.complex_pick))
        if t < 0:
            cx_off.append(-1)
            continue
        agent = model.agent_types[t]
        base = model.agent_state_base[agent.name]
        change = {frm: (to, products) for frm, to, products in reaction.members}
        cx_off.append(len(cx_to))
        for s in range(base, base + len(agent.states)):
            to, products = change.get(s, (s, ()))
            cx_to.append(to)
            released.append(list(products))
    dptr, didx, dval = _csr(released, 2, (np.int64, np.int64))
    return dict(type_complex_size=_i64([a.complex_size for a in model.agent_types]),
                cx_type=_i64(cx_type), cx_pick=_i64(cx_pick), cx_off=_i64(cx_off),
                cx_to=_i64(cx_to), cx_dptr=dptr, cx_didx=didx, cx_dval=dval)


def _law_arrays(reactions) -> dict:
    """The arrays of the Michaelis–Menten and Hill kinds (see NetworkArrays)."""
    law_ptr, law_idx, law_w = _csr([list(r.modifier) for r in reactions], 2,
                                   (np.int64, np.float64))
    sat_ptr, sat_idx = _csr([list(r.saturation) for r in reactions], 1, (np.int64,))
    return dict(law_ptr=law_ptr, law_idx=law_idx, law_w=law_w, sat_ptr=sat_ptr,
                sat_idx=sat_idx, law_k=_f64([r.half for r in reactions]),
                law_n=_f64([r.hill_n for r in reactions]))


def _dependencies(model, reactant_rows, delta_rows, move_rows, class_index, pair_classes):
    """Reaction -> reactions whose propensity can change when it fires.

    A reaction changes the species in its net delta and the agent states it moves; moving an
    agent of a ring type can also change every pair class that involves its old or new state
    (as the agent's own class or as its right neighbour's). A propensity reads its reactants
    and, for the Michaelis–Menten and Hill kinds, its modifier (enzyme or regulator) and
    the substrate states summed in K_M + S.
    """
    readers: dict[int, list[int]] = {}
    for k, row in enumerate(reactant_rows):
        for index, _ in row:
            readers.setdefault(index, []).append(k)
    # A Michaelis–Menten or Hill reaction also reads its modifier and substrate states.
    for k, reaction in enumerate(model.reactions):
        for index in {s for s, _ in reaction.modifier} | set(reaction.saturation):
            readers.setdefault(index, []).append(k)
    classes_touching: dict[int, set[int]] = {}
    for pc in pair_classes:
        for state in (pc[0],) + tuple(pc[1]):
            classes_touching.setdefault(state, set()).add(class_index[pc])
    rows = []
    for j in range(len(reactant_rows)):
        changed = {s for s, _ in delta_rows[j]}
        member_moves = [(None, frm, to) for frm, to, _ in model.reactions[j].members]
        changed |= {s for _, _, products in model.reactions[j].members for s, _ in products}
        for _, frm, to in list(move_rows[j]) + member_moves:
            for state in (frm, to):
                if state >= 0:
                    changed.add(state)
                    changed |= classes_touching.get(state, set())
        rows.append(sorted({k for s in changed for k in readers.get(s, ())}))
    return rows
