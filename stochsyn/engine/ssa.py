"""Exact stochastic simulation: Gillespie's direct method with agents and ring neighbours.

The kernels take the arrays of :class:`stochsyn.network.NetworkArrays` (passed as one
tuple, ``net``), a per-trajectory random state (:mod:`stochsyn.engine.rng`) and
preallocated output buffers; they return a status code and never raise for a model problem.

Algorithm
---------
Direct method (Gillespie 1976, 1977): the waiting time is ``tau = E / a0`` with ``E`` a
standard exponential draw, and the reaction is chosen with probability ``a_j / a0`` by one
uniform draw. The propensities are the leaves of a 4-ary sum tree (heap layout: node ``i``
has children ``4i+1 … 4i+4``, root 0, inner node = ((c1 + c2) + c3) + c4). Its inner nodes
are recomputed (never incrementally adjusted, so there is no round-off drift) above the
leaves that a firing changes (each such node once, children before parents); the
dependency graph says which leaves those are (laid out per firing reaction by
:func:`dependent_tables`). The choice walks down the tree, so both the
update and the choice cost O(log M). Four children per node halve the depth of a binary
tree; on the 97-reaction receptor network that is 10 % more events/s (benchmarks/).

Draws per event, in this order: one standard exponential for tau; if the reaction fires
before the next intervention, one uniform for the choice, then one uniform per agent the
reaction moves (the agent is drawn uniformly among those in its source state, or in its
source pair class for a neighbour rule), then, for a complex rule that draws its complex
(``complex = "Type"``), one uniform for the complex. A pending waiting time is discarded at an
intervention, which memorylessness allows. ``tests/engine/reference_ssa.py`` repeats these
steps in pure Python and must agree bit for bit.

Time-dependent reactions (``VOLTAGE``, ``INPUT``, ``CURRENT``, ``GHK`` and ``BOLTZMANN`` kinds, see
:mod:`.hazard`) keep a zero leaf in the tree; their static factors ``c · Π C(x_s, ν_s)``
are kept apart. While all of those are zero the loop above is the whole algorithm (the
plain exact SSA, at full speed). Otherwise events come by thinning (Lewis & Shedler
1979): with ``B`` a bound of ``Σ_j s_j f_j(t)`` over an interval,
candidates come at rate ``a_tree + B`` (the loop is written out in :func:`simulate_trajectory`;
its pieces are in :mod:`.hazard`). Draws per candidate: one standard exponential for
its waiting time (discarded, by memorylessness, if it falls past the interval's end or a
scheduled change); then one uniform ``u`` on ``[0, a_tree + B)``: below ``a_tree`` it
walks the tree (an event); otherwise it is an event of the time-dependent reaction it
falls on if ``u − a_tree < Σ_j s_j f_j(τ)``, and rejected if not (the next candidate is
drawn from τ). An event then draws its agents as above. The bound is kept up to date when
an ``s_j`` changes and recomputed after anything else that changes the rates (a stop, a
conductance change).

Rest fallback: where nothing that the time-dependent rates read varies (no sine input in
use, every release or spike pulse on an input in use expired, the membrane transient
dropped: :func:`.hazard.quiet_from`), their rates are constant until the next step time of
an input in use or the next scheduled change. They are then *frozen* into their leaves
(``s_j · f_j``) and the loop runs as the plain exact SSA, including the refresh of a frozen
leaf when ``s_j`` changes. They thaw (leaf 0 again) at that step time, at any scheduled
change (spike, intervention, membrane step) and when a conductance change starts a membrane
transient. Freezing changes which reaction a uniform draw selects (the leaves' order), not
the law: both ways the choice is exact.

Continuous species (the hybrid mode, :mod:`.continuous`) hold real amounts that follow
their rate equations between events. Everything about them is behind ``hybrid is not
None``, which numba resolves when it compiles (a model without continuous species runs a
kernel without that code), and draws no random numbers: reactions that read continuous
species ("coupled") keep a zero leaf, like the time-dependent ones; while any is live the
exponential draw is matched by the integrated hazard along y(t)
(:func:`.continuous.next_event_time`) and the choice's uniform is scaled by the total
propensity there (:func:`.continuous.select`). The draws per event are those above.
Fluxes (terms of dy/dt with a discrete factor) never fire and keep a zero leaf. The ODE is
integrated lazily (:func:`.continuous.cover`) and settled at an event or scheduled change
only when that changes its right-hand side or y: a firing that jumps y or changes a
count a flux's law reads settles it before the counts change
(:func:`.continuous.settle_first`); one that changes a flux's discrete factor, or the
conductance while a voltage-driven flux is live, after them but before the membrane
follows (:func:`.continuous.fired`); a scheduled change while a time-dependent flux is
live, before it is applied. Any other event costs the ODE nothing.

Samples are right-continuous: the value at a sample time ``s`` is the state after every
reaction and intervention at times <= s.

References
----------
D. T. Gillespie (1976) J Comput Phys 22:403-434. doi:10.1016/0021-9991(76)90041-3
D. T. Gillespie (1977) J Phys Chem 81:2340-2361. doi:10.1021/j100540a008
P. A. W. Lewis, G. S. Shedler (1979) Naval Res Logist Q 26:403-413 (thinning).
M. A. Gibson, J. Bruck (2000) J Phys Chem A 104:1876-1889 (dependency graph).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import codes as _codes
from . import continuous, membrane
# The status codes (also in stochsyn.engine.STATUS_TEXT), the slots of a batch's ``claim``
# array and new_claim are defined in .codes (plain Python: the runner reads them without
# numba).
from .codes import (AGENT_CAPACITY, CLAIM_BUDGET, CLAIM_END, CLAIM_FINISHED,  # noqa: F401
                    CLAIM_NEXT, CLAIM_ROW_BUDGET, CLAIM_ROWS, CLAIM_SLOTS, CLAIM_THREADS,
                    FLUX_NEGATIVE, GUIDED_SHARE, HAZARD_BOUND, INTERRUPTED, MAX_EVENTS,
                    NEGATIVE_COUNT, NONFINITE_PROPENSITY, ODE_FAILURE, OK, new_claim)
from .hazard import (STEPS_PER_PERIOD, THIN_STEPS_PER_PERIOD, bound_holds, drive_arrays,
                     freeze_factors, new_interval, quiet_from, select_tv, tv_rate_at)
from .jit import borrowing_njit, fetch_add
from .layout import unpack
from .rng import (double_words, exponential_fast_words, exponential_words, lognormal_mean_cv,
                  next_double, seed_pcg64, standard_exponential)

#: Events between two looks at the caller's stop flag: ~0.1 ms of simulation at 50 M
#: events/s, so a request stops every trajectory within a fraction of a second.
STOP_CHECK_EVENTS = 4096

MASS_ACTION = 0   # VOLTAGE = 1 … BOLTZMANN = 5 are handled in .hazard
MICHAELIS_MENTEN, HILL, HILL_REPRESS = 6, 7, 8   # state-dependent: in the sum tree
ODE_TERM = 9     # hybrid mode: ODE terms, coupled reactions (10) and fluxes (11), never in
                 # the sum tree
SET_COUNT, ADD_COUNT, SET_RATE, SET_VALUE, ADD_VALUE = 0, 1, 2, 3, 4
PULSE_RELEASE, PULSE_PRE, PULSE_POST = 0, 1, 2


@borrowing_njit()
def propensity(j, x, rate, rate_kind, reac_ptr, reac_idx, reac_order):
    """Propensity (1/s) of reaction ``j`` in state ``x``: ``c · Π_s C(x_s, ν_s)``; for the
    Michaelis–Menten and Hill kinds the callers multiply it by :func:`law_factor`.

    (The factor is not applied here: any call inside this function, even on a branch never
    taken, stops it from being inlined into the event loop, which then runs 2–5× slower.)

    Parameters
    ----------
    j : int
    x : (S + P,) int64 ndarray
        Species counts followed by pair-class counts.
    rate : (M,) float64 ndarray
    rate_kind, reac_ptr, reac_idx, reac_order : int64 ndarrays (see NetworkArrays)

    Returns
    -------
    float
    """
    a = rate[j]
    for p in range(reac_ptr[j], reac_ptr[j + 1]):
        n = x[reac_idx[p]]
        nu = reac_order[p]
        if n < nu:
            return 0.0
        if nu == 1:
            a = a * n
        else:
            b = 1.0
            for k in range(nu):
                b = b * (n - k) / (k + 1)
            a = a * b
    return a


@borrowing_njit()
def law_factor(j, x, kind, law):
    """The state-dependent factor of a Michaelis–Menten or Hill reaction ``j``
    (``kind >= MICHAELIS_MENTEN``), which multiplies :func:`propensity`.

    With the modifier ``M = Σ w · x`` over ``law_ptr[j] … law_ptr[j+1]``:
    ``MICHAELIS_MENTEN``: ``M / (K_M + S)``, ``S`` the sum of the ``sat_idx`` counts and
    ``M = 1`` without an enzyme (then ``c`` is v_max); ``HILL``: ``M^n / (K^n + M^n)``,
    computed as ``1 / (1 + (K/M)^n)`` (0 for ``M = 0``); ``HILL_REPRESS``:
    ``K^n / (K^n + M^n) = 1 / (1 + (M/K)^n)``. These forms neither overflow nor divide 0
    by 0 for any counts and n. ``tests/engine/reference_ssa.py`` repeats the operations in
    this order.

    Parameters
    ----------
    j : int
    x : (S + P,) int64 ndarray
    kind : int
        ``rate_kind[j]``.
    law : tuple
        ``(law_ptr, law_idx, law_w, sat_ptr, sat_idx, law_k, law_n, law_rx, lawdep_ptr,
        lawdep_idx, rate_kind, reac_ptr, reac_idx, reac_order)`` of the network, built once
        per trajectory by :func:`simulate_trajectory` (in place: a call taking ``net``
        costs ~0.4 µs).
    """
    law_ptr, law_idx, law_w, sat_ptr, sat_idx, law_k, law_n = law[:7]
    m = 0.0
    for p in range(law_ptr[j], law_ptr[j + 1]):
        m = m + law_w[p] * x[law_idx[p]]
    if kind == MICHAELIS_MENTEN:
        if law_ptr[j + 1] == law_ptr[j]:
            m = 1.0
        s = 0
        for p in range(sat_ptr[j], sat_ptr[j + 1]):
            s += x[sat_idx[p]]
        return m / (law_k[j] + s)
    if kind == HILL:
        if m <= 0.0:
            return 0.0
        return 1.0 / (1.0 + (law_k[j] / m) ** law_n[j])
    return 1.0 / (1.0 + (m / law_k[j]) ** law_n[j])


@borrowing_njit()
def _law_leaves(tree, n_leaves, x, law):
    """After :func:`_fill_tree`: multiply the leaves of the Michaelis–Menten and Hill
    reactions by their factors and rebuild the tree."""
    law_rx, rate_kind = law[7], law[10]
    first_leaf = (n_leaves - 1) // 3
    for q in range(len(law_rx)):
        j = law_rx[q]
        tree[first_leaf + j] *= law_factor(j, x, rate_kind[j], law)
    tree_build(tree, n_leaves)


@borrowing_njit()
def _law_refresh(j, tree, first_leaf, x, rate, law):
    """After reaction ``j`` fired: recompute the leaves of the Michaelis–Menten and Hill
    reactions it affects (``c · Π C · factor``) and the tree paths above them. Kept out of
    the event loop's mass-action refresh, which so needs no test of the kind; the order of
    the two refreshes does not matter, every inner node ends up recomputed from its final
    children."""
    lawdep_ptr, lawdep_idx, rate_kind = law[8], law[9], law[10]
    reac_ptr, reac_idx, reac_order = law[11], law[12], law[13]
    for p in range(lawdep_ptr[j], lawdep_ptr[j + 1]):
        r = lawdep_idx[p]
        i = first_leaf + r
        tree[i] = (propensity(r, x, rate, rate_kind, reac_ptr, reac_idx, reac_order)
                   * law_factor(r, x, rate_kind[r], law))
        while i > 0:
            i = (i - 1) >> 2
            c = 4 * i + 1
            tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]

@borrowing_njit()
def _set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, frozen):
    """Freeze (``frozen``: leaf ``j`` = ``s_j · f_j``, the rate of a time-dependent reaction
    while nothing varies) or thaw (leaf 0, the rate kept apart) the time-dependent
    reactions' leaves, and rebuild the tree."""
    first_leaf = (n_leaves - 1) // 3
    for q in range(len(tv_list)):
        j = tv_list[q]
        tree[first_leaf + j] = tv_static[j] * tv_factor[j] if frozen else 0.0
    tree_build(tree, n_leaves)


@borrowing_njit()
def tree_build(tree, n_leaves):
    """Recompute every inner node of the 4-ary sum tree from the leaves."""
    first_leaf = (n_leaves - 1) // 3
    for i in range(first_leaf - 1, -1, -1):
        c = 4 * i + 1
        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]


@borrowing_njit()
def tree_select(tree, n_leaves, u):
    """Leaf index ``j`` with ``Σ_{k<j} a_k <= u < Σ_{k<=j} a_k``, for ``0 <= u < a0``.

    At each node the children are passed in order, subtracting each one passed; the first
    child whose sum exceeds what is left of ``u`` is entered. A child whose sum is zero is
    never entered (``u`` left is never negative). When round-off leaves ``u`` at or beyond
    the sum of all children, the last child with a positive sum is taken.

    The four comparisons of a node are made before the choice, which is then a chain of
    selects, not of branches: which reaction fires is random, so a branch per child was
    mispredicted about once per event. The subtractions are the sequential ones of a scan,
    so the choice is the same bits as scanning (``tests/engine/reference_ssa.py``).
    """
    first_leaf = (n_leaves - 1) // 3
    i = 0
    while i < first_leaf:
        c = 4 * i + 1
        v0 = tree[c]
        v1 = tree[c + 1]
        v2 = tree[c + 2]
        v3 = tree[c + 3]
        u1 = u - v0
        u2 = u1 - v1
        u3 = u2 - v2
        if u3 < v3:
            chosen, rest = c + 3, u3
        else:   # round-off: the last child with a positive sum, with all four passed
            chosen = c + 3 if v3 > 0.0 else (c + 2 if v2 > 0.0 else (c + 1 if v1 > 0.0
                                                                      else c))
            rest = u3 - v3
        take2 = u2 < v2
        chosen = c + 2 if take2 else chosen
        rest = u2 if take2 else rest
        take1 = u1 < v1
        chosen = c + 1 if take1 else chosen
        rest = u1 if take1 else rest
        take0 = u < v0
        chosen = c if take0 else chosen
        rest = u if take0 else rest
        i = chosen
        u = rest
    return i - first_leaf


@borrowing_njit()
def _list_remove(members, offset, pos, agent, x, slot):
    """Swap-remove ``agent`` from the member list at ``offset`` whose length is ``x[slot]``."""
    last = x[slot] - 1
    position = pos[agent]
    moved = members[offset + last]
    members[offset + position] = moved
    pos[moved] = position
    x[slot] = last


@borrowing_njit()
def _list_append(members, offset, pos, agent, x, slot):
    n = x[slot]
    members[offset + n] = agent
    pos[agent] = n
    x[slot] = n + 1


@borrowing_njit()
def _ring_left(g, type_offset, ring_size):
    local = g - type_offset
    start = local - local % ring_size
    return type_offset + start + (local - start + ring_size - 1) % ring_size


@borrowing_njit()
def _ring_right(g, type_offset, ring_size):
    local = g - type_offset
    start = local - local % ring_size
    return type_offset + start + (local - start + 1) % ring_size


@borrowing_njit()
def _class_refresh(g, t, net, agent_state, class_members, class_slot, class_pos, x, n_species):
    """Put agent ``g`` (of ring type ``t``) in the pair class its and its left neighbour's
    states give now, leaving the class it was in."""
    old = class_slot[g]
    if old >= 0:
        _list_remove(class_members, net.class_list_offset[old], class_pos, g, x,
                     n_species + old)
    base = net.type_state_base[t]
    n = net.type_n_states[t]
    left = _ring_left(g, net.type_agent_offset[t], net.type_ring_size[t])
    c = net.class_of[net.type_class_base[t] + (agent_state[g] - base) * n
                     + (agent_state[left] - base)]
    class_slot[g] = c
    if c >= 0:
        _list_append(class_members, net.class_list_offset[c], class_pos, g, x, n_species + c)


@borrowing_njit()
def _complex_members(j, net, first_moved, u_complex, x, agent_state, agent_id, members,
                     state_pos, class_members, class_slot, class_pos, n_species, t, ev_time,
                     ev_agent, ev_reaction, ev_from, ev_to, n_records, cont_slot, y0):
    """Apply complex rule ``j`` to every member of one complex; returns the event-record
    count.

    The complex is drawn uniformly (``cx_pick``: from the uniform ``u_complex`` in [0, 1),
    which the event loop draws from its generator, as :func:`rng.uniform_index` would) or
    is the one of agent slot ``first_moved`` (the agent the rule's equation moved, already
    in its new state; ``u_complex`` unused). Each
    member, in slot order, goes to ``cx_to`` of its state and releases that entry's species;
    a member that changes state is logged (when the rule is) after the rule's own move.
    Then every member's pair class is recomputed: a complex is made of whole rings, so the
    members' left neighbours are members too.

    In the hybrid mode ``cont_slot`` maps a state entry to its slot in y (-1: discrete) and
    ``y0`` is y at ``t`` (the ODE settled there: ``settle_before``): a released continuous
    species jumps y, as a discrete reaction's product does (.continuous.fired). Without
    continuous species both are empty."""
    t_type = net.cx_type[j]
    size = net.type_complex_size[t_type]
    offset = net.type_agent_offset[t_type]
    if net.cx_pick[j]:
        n_complexes = net.type_n_initial[t_type] // size
        first = offset + size * min(np.int64(u_complex * n_complexes), n_complexes - 1)
    else:
        local = first_moved - offset
        first = offset + local - local % size
    base = net.type_state_base[t_type]
    block = net.cx_off[j]
    for g in range(first, first + size):
        s = agent_state[g]
        e = block + s - base
        for p in range(net.cx_dptr[e], net.cx_dptr[e + 1]):
            x[net.cx_didx[p]] += net.cx_dval[p]
            if len(cont_slot) > 0 and cont_slot[net.cx_didx[p]] >= 0:
                y0[cont_slot[net.cx_didx[p]]] += net.cx_dval[p]
        to = net.cx_to[e]
        if to != s:
            _list_remove(members, net.state_list_offset[s], state_pos, g, x, s)
            _list_append(members, net.state_list_offset[to], state_pos, g, x, to)
            agent_state[g] = to
            if net.log[j]:
                if n_records < len(ev_time):
                    ev_time[n_records] = t
                    ev_agent[n_records] = agent_id[g]
                    ev_reaction[n_records] = j
                    ev_from[n_records] = s
                    ev_to[n_records] = to
                n_records += 1
    if net.type_class_base[t_type] >= 0:
        for g in range(first, first + size):
            _class_refresh(g, t_type, net, agent_state, class_members, class_slot, class_pos,
                           x, n_species)
    return n_records


@borrowing_njit()
def _init_agents(net, x, agent_state, agent_id, state_pos, members, class_slot, class_pos,
                 class_members, next_id, free_slots, n_free, n_species):
    """Give agents of each type ids 0..n-1, filling the states in order.

    An agent lives in a storage slot; slots of destroyed agents are reused, ids never are
    (``agent_id[slot]``), so a type's capacity bounds the agents alive at once.
    """
    agent_state[:] = -1
    class_slot[:] = -1
    for t in range(len(net.type_capacity)):
        offset = net.type_agent_offset[t]
        base = net.type_state_base[t]
        g = offset
        for s in range(base, base + net.type_n_states[t]):
            count = x[s]
            x[s] = 0
            for _ in range(count):
                agent_state[g] = s
                agent_id[g] = g - offset
                _list_append(members, net.state_list_offset[s], state_pos, g, x, s)
                g += 1
        next_id[t] = g - offset
        # Free slots as a stack whose top is the lowest unused slot.
        capacity = net.type_capacity[t]
        n_free[t] = capacity - next_id[t]
        for k in range(n_free[t]):
            free_slots[offset + k] = offset + capacity - 1 - k
    for t in range(len(net.type_capacity)):
        if net.type_class_base[t] >= 0:
            offset = net.type_agent_offset[t]
            for g in range(offset, offset + net.type_n_initial[t]):
                _class_refresh(g, t, net, agent_state, class_members, class_slot, class_pos,
                               x, n_species)


@borrowing_njit()
def _fill_tree(tree, n_leaves, x, rate, net, tv_static):
    """All propensities from scratch. A time-dependent reaction's leaf is 0; its static
    factor ``c · Π C(x_s, ν_s)`` goes to ``tv_static``. Returns how many of those are > 0.
    The leaves of Michaelis–Menten and Hill reactions hold ``c · Π C`` here; the caller
    applies their factors (:func:`_law_leaves`), so this stays small enough to be inlined
    (a call here costs ~0.8 µs per trajectory)."""
    n_reactions = len(rate)
    first_leaf = (n_leaves - 1) // 3
    n_tv_live = 0
    for j in range(n_reactions):
        value = propensity(j, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                           net.reac_order)
        if net.rate_kind[j] != MASS_ACTION and net.rate_kind[j] < MICHAELIS_MENTEN:
            tv_static[j] = value
            if value > 0.0:
                n_tv_live += 1
            value = 0.0
        elif net.rate_kind[j] >= ODE_TERM:
            value = 0.0
        tree[first_leaf + j] = value
    for j in range(n_reactions, n_leaves):
        tree[first_leaf + j] = 0.0
    tree_build(tree, n_leaves)
    return n_tv_live


@borrowing_njit()
def _record(counts, k, x, record_idx):
    for r in range(len(record_idx)):
        counts[k, r] = x[record_idx[r]]


@numba.njit(cache=True, inline="always")
def _record_until(counts, k, x, record_idx, sample_times, t_until):
    """Record the state at every sample before ``t_until``; returns the next sample's
    index. (Inlined: as a call it cost 2 µs per trajectory of the DSMTS dimerisation.)"""
    n_times = len(sample_times)
    while k < n_times and sample_times[k] < t_until:
        _record(counts, k, x, record_idx)
        k += 1
    return k


@borrowing_njit()
def _record_voltages(voltages, k_first, k_stop, sample_times, drive, mem, pulse, base):
    """The membrane voltage at samples ``k_first … k_stop-1`` (kept apart from
    :func:`_record_until`, which runs at every event)."""
    if len(voltages) == 0:      # not recorded (e.g. a re-run for its event records)
        return
    for k in range(k_first, k_stop):
        voltages[k] = membrane.voltage(drive, mem, pulse, base, sample_times[k])


@borrowing_njit()
def _reset_release_sites(sites):
    """The release site of each input at t = 0, in ``sites`` (3, I): rows [loaded (1.0) or
    empty (0.0), u at the last presynaptic spike, time of the last presynaptic spike (-inf:
    none yet)]."""
    sites[0, :] = 1.0
    sites[1, :] = 0.0
    sites[2, :] = -math.inf


@numba.njit(cache=True)
def workspace(net):
    """The work arrays of :func:`simulate_trajectory` for ``net``, allocated once per worker
    (:func:`run_trajectories`) and reset by each trajectory.

    Returns
    -------
    tuple
        ``(x, rate, tree, agent_state, state_pos, class_slot, class_pos, members,
        class_members, agent_id, free_slots, next_id, n_free, picked, dep_nodes, fire,
        tv_static, tv_factor, tv_fmax, base, u_now, u_lo, u_hi, bound, pulse, mem, sites,
        dep_rows, dep_split)``:
        the state vector (S + P,) int64, the rate constants (M,), the sum tree, the agent
        tables, scratch for the moved agents, the inner tree nodes above each reaction's
        dependents (:func:`dependent_tables`), the firings (M,) int64, the time-dependent
        reactions' factors (M,), the inputs' values and bounds (I,), the thinning bound
        (2,), the pulses (4, C), the membrane (5,), the release sites (3, I), and the
        dependents grouped by the form of their propensity (:func:`dependent_tables`; these
        three are read, never reset).
    """
    n_reactions = len(net.rate)
    n_leaves = net.n_leaves[0]
    first_leaf = (n_leaves - 1) // 3
    n_slots = net.n_agent_slots[0]
    n_types = len(net.type_capacity)
    n_inputs = len(net.in_value)
    max_moves = 1
    for j in range(n_reactions):
        max_moves = max(max_moves, net.move_ptr[j + 1] - net.move_ptr[j])
    dep_rows, dep_split, dep_nodes = dependent_tables(net)
    return (np.zeros(net.n_state[0], dtype=np.int64), np.empty(n_reactions, np.float64),
            np.zeros(first_leaf + n_leaves, dtype=np.float64),
            np.empty(n_slots, np.int64), np.empty(n_slots, np.int64),
            np.empty(n_slots, np.int64), np.empty(n_slots, np.int64),
            np.empty(net.n_members[0], np.int64), np.empty(net.n_class_members[0], np.int64),
            np.empty(n_slots, np.int64), np.empty(n_slots, np.int64),
            np.zeros(n_types, np.int64), np.zeros(n_types, np.int64),
            np.empty(max_moves, np.int64), dep_nodes,
            np.zeros(n_reactions, np.int64),
            np.zeros(n_reactions, np.float64), np.zeros(n_reactions, np.float64),
            np.zeros(n_reactions, np.float64),
            np.zeros(n_inputs, np.float64), np.zeros(n_inputs, np.float64),
            np.zeros(n_inputs, np.float64), np.zeros(n_inputs, np.float64),
            np.zeros(2, np.float64), np.zeros((4, len(net.comp_rate)), np.float64),
            np.zeros(5, np.float64), np.zeros((3, n_inputs), np.float64), dep_rows,
            dep_split)


#: Forms of a dependent's propensity in :func:`dependent_tables` (columns of ``dep_split``).
DEP_ONE, DEP_TWO, DEP_OTHER = 0, 1, 2


@numba.njit(cache=True)
def dependent_tables(net):
    """The dependency graph laid out for :func:`_refresh_dependents`, once per worker.

    After reaction ``j`` fires, the leaves of its dependents (``dep_idx[dep_ptr[j] …
    dep_ptr[j+1]]``) are recomputed, then every inner node above them, once each. Here
    the dependents of each reaction are grouped by the form of their propensity, so that
    the refresh runs a loop per form without a test of the form per dependent:
    ``DEP_ONE`` ``c · x_a`` (one reactant of order 1), ``DEP_TWO`` ``c · x_a · x_b`` (two
    of order 1), ``DEP_OTHER`` anything else (:func:`propensity`). And the inner nodes above
    them are listed once per reaction, children before parents, instead of being found and
    deduplicated at every event. On the receptor network (97 reactions, ~13 dependents and
    ~13 distinct inner nodes per event) this took the event from ~128 to ~91 ns
    (benchmarks/RESULTS.md, "Issue 18, the receptor network's event").

    Returns
    -------
    dep_rows : (E, 3) int64 ndarray
        Per dependent ``[r, a, b]``: the reaction and its reactant species (-1 where its
        form has none), grouped per firing reaction and, within it, by form.
    dep_split : (M, 6) int64 ndarray
        Per firing reaction ``j``: the rows of ``dep_rows`` of each form,
        ``[start, end of DEP_ONE, end of DEP_TWO, end of DEP_OTHER]``, then the range
        ``[start, end)`` of its inner nodes in ``dep_nodes``.
    dep_nodes : (N,) int64 ndarray
        Inner nodes of the sum tree, per firing reaction in decreasing index order (so a
        node's children, which have larger indices, come before it).
    """
    n_reactions = len(net.rate)
    first_leaf = (net.n_leaves[0] - 1) // 3
    n_entries = net.dep_ptr[n_reactions]
    depth = 0
    i = first_leaf
    while i > 0:
        i = (i - 1) >> 2
        depth += 1
    dep_rows = np.empty((n_entries, 3), np.int64)
    dep_split = np.empty((n_reactions, 6), np.int64)
    dep_nodes = np.empty(n_entries * depth, np.int64)
    marked = np.full(max(first_leaf, 1), -1, np.int64)   # the last reaction marking a node
    n_rows = 0
    n_nodes = 0
    for j in range(n_reactions):
        d0 = net.dep_ptr[j]
        d1 = net.dep_ptr[j + 1]
        dep_split[j, 0] = n_rows
        for form in range(DEP_OTHER + 1):
            for p in range(d0, d1):
                r = net.dep_idx[p]
                q = net.reac_ptr[r]
                n_reactants = net.reac_ptr[r + 1] - q
                this = DEP_OTHER
                if n_reactants == 1 and net.reac_order[q] == 1:
                    this = DEP_ONE
                elif n_reactants == 2 and net.reac_order[q] == 1 and net.reac_order[q + 1] == 1:
                    this = DEP_TWO
                if this != form:
                    continue
                dep_rows[n_rows, 0] = r
                dep_rows[n_rows, 1] = net.reac_idx[q] if form != DEP_OTHER else -1
                dep_rows[n_rows, 2] = net.reac_idx[q + 1] if form == DEP_TWO else -1
                n_rows += 1
            dep_split[j, form + 1] = n_rows
        start = n_nodes
        for p in range(d0, d1):
            i = first_leaf + net.dep_idx[p]
            while i > 0:
                i = (i - 1) >> 2
                if marked[i] == j:    # so are its ancestors
                    break
                marked[i] = j
                # insert, keeping this reaction's nodes in decreasing order
                k = n_nodes
                while k > start and dep_nodes[k - 1] < i:
                    dep_nodes[k] = dep_nodes[k - 1]
                    k -= 1
                dep_nodes[k] = i
                n_nodes += 1
        dep_split[j, 4] = start
        dep_split[j, 5] = n_nodes
    return dep_rows, dep_split, dep_nodes[:n_nodes]


@borrowing_njit(inline="always")
def _refresh_dependents(j, tree, first_leaf, x, rate, dep_rows, dep_split, dep_nodes, net):
    """After reaction ``j`` fired: recompute its dependents' leaves (``c · Π C``, the
    operations of :func:`propensity` for each form, so the same bits) and then every inner
    node above them once, each from its final children (:func:`dependent_tables`)."""
    for p in range(dep_split[j, 0], dep_split[j, 1]):          # DEP_ONE: c · x_a
        n_a = x[dep_rows[p, 1]]
        value = rate[dep_rows[p, 0]] * n_a
        tree[first_leaf + dep_rows[p, 0]] = value if n_a >= 1 else 0.0
    for p in range(dep_split[j, 1], dep_split[j, 2]):          # DEP_TWO: c · x_a · x_b
        n_a = x[dep_rows[p, 1]]
        n_b = x[dep_rows[p, 2]]
        value = (rate[dep_rows[p, 0]] * n_a) * n_b
        tree[first_leaf + dep_rows[p, 0]] = value if (n_a >= 1 and n_b >= 1) else 0.0
    for p in range(dep_split[j, 2], dep_split[j, 3]):          # DEP_OTHER
        r = dep_rows[p, 0]
        tree[first_leaf + r] = propensity(r, x, rate, net.rate_kind, net.reac_ptr,
                                          net.reac_idx, net.reac_order)
    for q in range(dep_split[j, 4], dep_split[j, 5]):
        i = dep_nodes[q]
        c = 4 * i + 1
        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]


@borrowing_njit()
def _release(p, tau_rec, tau_f, i, t, sites, rng_state):
    """Whether input ``i``'s site releases at the presynaptic spike at ``t``; ``p`` is its
    release probability (U), ``tau_rec`` and ``tau_f`` its plasticity time constants (s).

    Without short-term plasticity: one uniform, released if below the probability. With it
    (Tsodyks–Markram, one univesicular site; :func:`stochsyn.model.membrane.read_pulse_rules`):
    u = U at the first spike and U + u_prev (1 - U) exp(-Δt/τ_F) after (no draw); then, if
    the site is empty, one uniform: it has reloaded since the previous spike if below
    1 - exp(-Δt/τ_rec) (exponential reloading is memoryless, so this is exact); then, if the
    site is loaded, one uniform: released if below u, which empties it."""
    if tau_rec == 0.0 and tau_f == 0.0:
        return next_double(rng_state) < p
    dt = t - sites[2, i]                     # inf at the first spike
    u = p
    if tau_f > 0.0 and dt < math.inf:
        u = p + sites[1, i] * (1.0 - p) * math.exp(-dt / tau_f)
    sites[1, i] = u
    sites[2, i] = t
    if sites[0, i] == 0.0 and next_double(rng_state) < -math.expm1(-dt / tau_rec):
        sites[0, i] = 1.0
    if sites[0, i] == 0.0 or not next_double(rng_state) < u:
        return False
    if tau_rec > 0.0:
        sites[0, i] = 0.0
    return True


@borrowing_njit()
def _spike_pulses(drive, net, pulse, mem, base, x, t, trigger, rng_state, has_membrane, sites):
    """Add the pulses a spike triggers (``trigger`` PULSE_PRE or PULSE_POST) to every input,
    and for PULSE_PRE first the releases, input by input in input order (:func:`_release`;
    ``sites`` from :func:`_release_sites` holds the short-term plasticity state), each
    release followed by one word for its log-normal amplitude. Keeps the membrane voltage
    continuous. Returns the number of releases."""
    v_now = membrane.voltage(drive, mem, pulse, base, t) if has_membrane else 0.0
    n_released = 0
    for i in range(len(net.in_value)):
        amplitude = 0.0
        if trigger == PULSE_PRE and net.in_release_prob[i] >= 0.0:
            if _release(net.in_release_prob[i], net.in_release_tau_rec[i],
                        net.in_release_tau_facil[i], i, t, sites, rng_state):
                amplitude = lognormal_mean_cv(rng_state, net.in_pulse_peak[i],
                                              net.in_pulse_cv[i])
                n_released += 1
        for c in range(net.in_comp_ptr[i], net.in_comp_ptr[i + 1]):
            kind = net.comp_trigger[c]
            if kind == trigger:
                membrane.pulse_add(drive, pulse, c, t, net.comp_amp[c])
            elif kind == PULSE_RELEASE and amplitude > 0.0:
                membrane.pulse_add(drive, pulse, c, t, amplitude * net.comp_amp[c])
    if has_membrane:
        membrane.anchor(drive, mem, pulse, base, x, t, v_now)
    return n_released


@numba.njit(cache=True)
def simulate_trajectory(net, work, rng_state, trajectory, sample_times, spike_times,
                        post_spike_times, t_end, max_events, record_idx, counts, voltages,
                        firings, ev_time, ev_agent, ev_reaction, ev_from, ev_to, result,
                        stop_flag, hybrid=None):
    """Simulate one trajectory from t = 0 to ``t_end``.

    Parameters
    ----------
    net : NetworkArrays
    work : tuple
        The work arrays of ``net`` (:func:`workspace`), overwritten.
    rng_state : (4,) uint64 ndarray
        Seeded random state of this trajectory (advanced in place).
    trajectory : int
        Global trajectory index (only for bookkeeping by the caller).
    sample_times : (n_times,) float64 ndarray
        Non-decreasing, within [0, t_end] (s).
    spike_times : (n_spikes,) float64 ndarray
        Presynaptic spikes (s), sorted. At each, every input with a release rule releases
        with its probability (one uniform per such input, in input order; if released, one
        more word for the log-normal amplitude), and presynaptically triggered pulses
        (cooperative depolarisation) are added. Ignored when no input has either.
        An input whose release rule has short-term plasticity (``tau_recovery``,
        ``tau_facilitation``) draws instead, in its turn: if its site is empty, one uniform
        (reloaded since the previous spike if below ``1 - exp(-Δt/tau_recovery)``); then,
        if the site is loaded, one uniform (released if below ``u``, the facilitated
        probability, computed without a draw); if released, the amplitude word. The site
        starts loaded. See :func:`_release`.
    post_spike_times : (n_post,) float64 ndarray
        Postsynaptic spikes (s), sorted: each adds the inputs' bAP pulses. Ignored when no
        input has one.
    t_end : float
        End time (s).
    max_events : int
        Reaction firings allowed before the trajectory stops with status MAX_EVENTS.
    record_idx : (R,) int64 ndarray
        Species recorded at each sample time.
    counts : (n_times, R) int64 ndarray
        Output; samples not reached (a trajectory stopped early) are set to -1.
    voltages : (n_times,) or (0,) float64 ndarray
        Output: the spine-head voltage (mV) at the sample times, for a model with a
        membrane (length 0 otherwise); NaN for samples not reached.
    firings : (M,) int64 ndarray
        Output: how often each reaction fired.
    ev_time, ev_agent, ev_reaction, ev_from, ev_to : (capacity,) ndarrays
        Output event records of logged reactions (time s; agent id within its type;
        reaction; state species before and after, -1 for none).
    result : (4,) or (12 + F,) float64 ndarray
        Output: [number of reaction events, time reached (s), event records wanted
        (may exceed the capacity), number of releases]; in the hybrid mode also
        [accepted ODE steps, rejected ODE steps, the largest deficit a jump left in a
        continuous amount (molecules; .continuous, "Deficits"), ODE restarts
        (.continuous.settle), the slot a flux drove below zero (-1: none), intervals
        propagated linearly, linear propagations refused, linearisations
        (.continuous, "Linear propagation near a fixed point"), then the amount each of
        the F fluxes moved (molecules)].
    stop_flag : (1,) int64 ndarray
        Read every :data:`STOP_CHECK_EVENTS` events: non-zero (set by another thread) stops
        the trajectory with status INTERRUPTED. Reading it draws nothing, so the bits of a
        trajectory that is not stopped are unchanged.
    hybrid : tuple or None
        The hybrid mode (continuous species, :mod:`.continuous`): (hy, cont_values, ws,
        st, cp_static, fx_static): the network's HybridArrays; output (n_times, Y)
        float64, the Y amounts at the sample times (NaN for samples not reached;
        ``counts`` holds their nearest whole numbers); and the work arrays of
        :mod:`.continuous`. None (a separate compilation, without any of it) for a model
        without continuous species.

    Returns
    -------
    status : int
        OK, MAX_EVENTS, NEGATIVE_COUNT, NONFINITE_PROPENSITY, AGENT_CAPACITY,
        ODE_FAILURE, INTERRUPTED or FLUX_NEGATIVE.
    """
    n_species = len(net.x0)
    n_reactions = len(net.rate)
    n_leaves = net.n_leaves[0]
    first_leaf = (n_leaves - 1) // 3
    n_times = len(sample_times)
    n_interventions = len(net.iv_time)
    ev_capacity = len(ev_time)

    # The work arrays (:func:`workspace`), reset here: allocated once per worker, not per
    # trajectory (25 allocations cost ~2 µs, 40 % of a DSMTS dimerisation trajectory).
    (x, rate, tree, agent_state, state_pos, class_slot, class_pos, members, class_members,
     agent_id, free_slots, next_id, n_free, picked, dep_nodes, fire, tv_static, tv_factor,
     tv_fmax, base, u_now, u_lo, u_hi, bound, pulse, mem, sites, dep_rows, dep_split) = work
    x[:n_species] = net.x0
    x[n_species:] = 0
    rate[:] = net.rate
    fire[:] = 0        # firings counted here, copied out at the end: a shared output row
    #                    written at every event put two threads on one cache line

    # Time-dependent reactions (not MASS_ACTION): their static factors, and the longest
    # bound interval (thinning) and quadrature step (hybrid mode) that sines allow (.hazard).
    tv_list = net.tv_idx
    used_inputs = net.tv_inputs
    tv_static[:] = 0.0
    # Rest fallback: while nothing the time-dependent rates read varies (from t_quiet on,
    # until the next step of an input in use) their rates are constant and sit in the tree
    # as ``s_j · tv_factor[j]`` (``frozen``), so the loop is the plain SSA.
    tv_factor[:] = 0.0
    can_freeze = len(tv_list) > 0
    frozen = False
    mem_v = net.mem_io[0]
    has_membrane = mem_v >= 0
    omega_max = 0.0
    for q in range(len(used_inputs)):
        i = used_inputs[q]
        if net.in_sine_amp[i] != 0.0:
            omega_max = max(omega_max, net.in_sine_omega[i])
        if i == mem_v and net.mem_io[1] >= 0 and net.in_sine_amp[net.mem_io[1]] != 0.0:
            omega_max = max(omega_max, net.in_sine_omega[net.mem_io[1]])
    h_max = 2.0 * math.pi / (STEPS_PER_PERIOD * omega_max) if omega_max > 0.0 else math.inf
    h_sine = 2.0 * math.pi / (THIN_STEPS_PER_PERIOD * omega_max) if omega_max > 0.0 else math.inf
    drive = drive_arrays(net)
    law = (net.law_ptr, net.law_idx, net.law_w, net.sat_ptr, net.sat_idx, net.law_k,
           net.law_n, net.law_rx, net.lawdep_ptr, net.lawdep_idx, net.rate_kind,
           net.reac_ptr, net.reac_idx, net.reac_order)   # Michaelis–Menten, Hill (law_factor)
    has_laws = len(net.law_rx) > 0
    base[:] = 0.0
    u_now[:] = 0.0
    # Thinning (below; .hazard): the time-dependent rates' bound over an interval,
    # [end, Σ s_j tv_fmax[j]], kept up to date when an s_j changes; end = -inf after
    # anything else that changes them (a stop, a conductance change, a freeze).
    u_lo[:] = 0.0
    u_hi[:] = 0.0
    tv_fmax[:] = 0.0
    bound[:] = -math.inf
    u_choice = 0.0
    pulse[:3, :] = 0.0              # A, B, t0, t_drop
    pulse[3, :] = math.inf          # (.membrane: a component's pulses, live till dropped)
    mem[:] = 0.0
    _reset_release_sites(sites)
    # Spikes matter only to inputs with pulses that they trigger.
    n_spikes = 0
    n_post = 0
    for c in range(len(net.comp_trigger)):
        if net.comp_trigger[c] == PULSE_POST:
            n_post = len(post_spike_times)
        else:
            n_spikes = len(spike_times)
    sp = 0           # next presynaptic spike
    pp = 0           # next postsynaptic spike
    n_releases = 0
    t_spike = spike_times[0] if n_spikes > 0 else math.inf
    t_post = post_spike_times[0] if n_post > 0 else math.inf
    t_mem = math.inf  # next step of the membrane's inputs (clamp, dendrite)

    _init_agents(net, x, agent_state, agent_id, state_pos, members, class_slot, class_pos,
                 class_members, next_id, free_slots, n_free, n_species)
    n_cp_live = 0     # coupled reactions (hybrid mode) whose discrete factor is > 0
    n_fx_timed = 0    # time-dependent fluxes (hybrid mode) whose discrete factor is > 0
    cx_cont_slot = np.empty(0, np.int64)    # complex rules' releases into y (hybrid mode)
    cx_y0 = np.empty(0, np.float64)
    if hybrid is not None:
        hy, cont_values, ws, st, cp_static, fx_static = hybrid
        cx_cont_slot = hy.cont_slot
        cx_y0 = ws[continuous.Y0]
        # what the ODE's right-hand side reads besides y (.continuous.cover)
        ctx = (rate, x, fx_static, mem, pulse, base)
        n_cp_live, n_fx_timed = continuous.start(hy, ctx, ws, st, cp_static)
        if len(hy.cp_rx) > 0:   # coupled rates vary along y(t): never frozen (rest fallback)
            can_freeze = False
    n_tv_live = _fill_tree(tree, n_leaves, x, rate, net, tv_static)
    if has_laws:
        _law_leaves(tree, n_leaves, x, law)
    if has_membrane:
        t_mem = membrane.set_bases(drive, base, 0.0)
        membrane.anchor(drive, mem, pulse, base, x, 0.0,
                        base[mem_v] if base[mem_v] == base[mem_v] else net.mem_param[4])

    # The generator in registers (rng.pcg64_words): the plain loop draws from these
    # locals; code that draws through ``rng_state`` (thinning, the hybrid mode, spikes)
    # gets them stored before and reloads them after.
    s_hi = rng_state[0]
    s_lo = rng_state[1]
    inc_hi = rng_state[2]
    inc_lo = rng_state[3]
    t = 0.0
    k = 0            # next sample
    iv = 0           # next intervention
    n_events = 0
    next_check = 0   # events at which the event budget and the stop flag are looked at next
    n_records = 0
    status = OK
    t_iv = net.iv_time[0] if n_interventions > 0 else math.inf
    # The next scheduled time (intervention, membrane step, spike): one comparison per event.
    t_stop = min(min(t_iv, t_mem), min(t_spike, t_post))
    t_quiet = quiet_from(drive, used_inputs, pulse, mem, base, h_max) if can_freeze else math.inf
    while True:
        if n_tv_live > 0 and not frozen and t >= t_quiet:
            t_thaw = freeze_factors(drive, tv_list, used_inputs, base, pulse, mem, u_now, t,
                                    tv_factor)
            if t_thaw >= 0.0:
                _set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, True)
                frozen = True
                bound[0] = -math.inf
                t_stop = min(t_stop, t_thaw)   # thawed there (a stop)
            else:   # round-off at the transient's end: try again a little later
                t_quiet = max(quiet_from(drive, used_inputs, pulse, mem, base, h_max),
                              t + 1e-9)
        a0 = tree[0]
        if not (a0 >= 0.0 and a0 < math.inf):
            status = NONFINITE_PROPENSITY
            break
        t_next = math.inf
        if hybrid is not None and n_cp_live > 0:    # reactions reading continuous species
            bound[0] = -math.inf
            e, s_hi, s_lo = exponential_words(s_hi, s_lo, inc_hi, inc_lo)
            t_next, status = continuous.next_event_time(
                hy, drive, ctx, ws, st, cp_static, tv_list, tv_static, used_inputs, u_now,
                h_max, n_tv_live > 0, a0, t, e, min(t_stop, t_end), cont_values,
                sample_times)
            if status != OK:
                break
        elif n_tv_live == 0 or frozen:
            if a0 > 0.0:
                e, s_hi, s_lo = exponential_words(s_hi, s_lo, inc_hi, inc_lo)
                t_next = t + e / a0
        else:
            # Thinning (module docstring, .hazard): candidates at a0 + B over the bound's
            # interval. Written out here, not called: a call per candidate cost 0.35 µs,
            # 6x an event of the plain SSA (reference counting of the arrays it was given,
            # since avoided by .jit.borrowing_njit; the loop stayed written out).
            t_c = t
            t_limit = min(t_stop, t_end)
            rng_state[0] = s_hi
            rng_state[1] = s_lo
            while True:
                if t_c >= bound[0]:
                    new_interval(drive, tv_list, tv_static, used_inputs, base, pulse, mem,
                                 u_lo, u_hi, h_sine, tv_fmax, bound, t_c)
                total = a0 + bound[1]
                if total > 0.0:
                    t_next = t_c + standard_exponential(rng_state) / total
                else:
                    t_next = math.inf
                if t_next >= min(bound[0], t_limit):
                    if bound[0] >= t_limit:
                        t_next = math.inf     # no event before the next stop or the end
                        break
                    t_c = bound[0]            # discarded (memoryless): a new interval
                    continue
                u_choice = next_double(rng_state) * total
                if u_choice < a0:             # an event of the tree
                    break
                rate_tv = tv_rate_at(drive, tv_list, tv_static, used_inputs, base, pulse,
                                     mem, u_now, t_next)
                if rate_tv > bound[1] and not bound_holds(tv_list, tv_static, tv_fmax, bound,
                                                          rate_tv):
                    status = HAZARD_BOUND
                    break
                if u_choice - a0 < rate_tv:   # an event of a time-dependent reaction
                    break
                t_c = t_next                  # rejected
            s_hi = rng_state[0]
            s_lo = rng_state[1]
            if status != OK:
                t = t_next
                break
        if t_stop <= t_next and t_stop <= t_end:
            # A scheduled change, one per pass (at a tie: intervention, membrane step,
            # presynaptic spike, postsynaptic spike). The pending waiting time is discarded,
            # which memorylessness allows.
            k_first = k
            k = _record_until(counts, k, x, record_idx, sample_times, t_stop)
            if has_membrane:
                _record_voltages(voltages, k_first, k, sample_times, drive, mem, pulse, base)
            if hybrid is not None:
                status = continuous.record(hy, drive, ctx, ws, st, cont_values, counts,
                                           record_idx, sample_times, k_first, k)
                if status != OK:
                    k = int(st[continuous.SAMPLED])     # the samples the ODE reached
                    break
                # a live time-dependent flux reads what the change alters (a spike's pulses,
                # a membrane step, the clamp): y to t_stop with the old right-hand side
                # (an intervention settles below in any case)
                if n_fx_timed > 0 and t_iv != t_stop:
                    status = continuous.settle(hy, drive, ctx, ws, st, t_stop, cont_values,
                                               sample_times)
                    if status != OK:
                        k = int(st[continuous.SAMPLED])
                        break
            t = t_stop
            bound[0] = -math.inf
            if frozen:   # (at an input's step: refrozen below if still quiet)
                _set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, False)
                frozen = False
            if t_iv == t_stop:
                v_now = membrane.voltage(drive, mem, pulse, base, t) if has_membrane else 0.0
                if hybrid is not None:      # y(t) into ws[Y0], where SET/ADD_VALUE act
                    status = continuous.settle(hy, drive, ctx, ws, st, t, cont_values,
                                               sample_times)
                    if status != OK:
                        break
                status, iv, t_iv = apply_interventions(net, x, rate, iv, t_iv, cx_y0)
                if status != OK:
                    break
                if hybrid is not None:
                    n_cp_live, n_fx_timed = continuous.resume(hy, ctx, st, cp_static)
                n_tv_live = _fill_tree(tree, n_leaves, x, rate, net, tv_static)
                if has_laws:
                    _law_leaves(tree, n_leaves, x, law)
                if has_membrane:
                    membrane.anchor(drive, mem, pulse, base, x, t, v_now)
            elif t_mem == t_stop:
                v_now = membrane.voltage(drive, mem, pulse, base, t)
                t_mem = membrane.set_bases(drive, base, t)
                membrane.anchor(drive, mem, pulse, base, x, t, v_now)
            elif t_spike == t_stop:
                rng_state[0] = s_hi
                rng_state[1] = s_lo
                n_releases += _spike_pulses(drive, net, pulse, mem, base, x, t, PULSE_PRE,
                                            rng_state, has_membrane, sites)
                s_hi = rng_state[0]
                s_lo = rng_state[1]
                sp += 1
                t_spike = spike_times[sp] if sp < n_spikes else math.inf
            elif t_post == t_stop:
                rng_state[0] = s_hi
                rng_state[1] = s_lo
                _spike_pulses(drive, net, pulse, mem, base, x, t, PULSE_POST, rng_state,
                              has_membrane, sites)
                s_hi = rng_state[0]
                s_lo = rng_state[1]
                pp += 1
                t_post = post_spike_times[pp] if pp < n_post else math.inf
            t_stop = min(min(t_iv, t_mem), min(t_spike, t_post))
            if can_freeze:
                t_quiet = quiet_from(drive, used_inputs, pulse, mem, base, h_max)
            continue
        if t_next > t_end:
            k_first = k
            k = _record_until(counts, k, x, record_idx, sample_times, math.inf)
            if has_membrane:
                _record_voltages(voltages, k_first, k, sample_times, drive, mem, pulse, base)
            if hybrid is not None:
                status = continuous.record(hy, drive, ctx, ws, st, cont_values, counts,
                                           record_idx, sample_times, k_first, k)
                if status != OK:
                    k = int(st[continuous.SAMPLED])
                    t = st[continuous.T0]
                    break
            t = t_end
            break
        if k < n_times and sample_times[k] < t_next:   # (a call per event costs ~10 %)
            k_first = k
            k = _record_until(counts, k, x, record_idx, sample_times, t_next)
            if has_membrane:
                _record_voltages(voltages, k_first, k, sample_times, drive, mem, pulse, base)
            if hybrid is not None:
                status = continuous.record(hy, drive, ctx, ws, st, cont_values, counts,
                                           record_idx, sample_times, k_first, k)
                if status != OK:
                    k = int(st[continuous.SAMPLED])
                    break
        if n_events >= next_check:  # one comparison per event for the budget and the flag
            if n_events >= max_events:
                status = MAX_EVENTS
                break
            if stop_flag[0] != 0:
                status = INTERRUPTED
                break
            next_check = min(max_events, n_events + STOP_CHECK_EVENTS)
        t = t_next
        if hybrid is not None and n_cp_live > 0:
            u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
            j, u = continuous.select(hy, ctx, ws, st, cp_static, drive, tv_list, tv_static,
                                     used_inputs, u_now, n_tv_live > 0, a0, t, u)
            if j < 0:
                j = tree_select(tree, n_leaves, u)
        elif n_tv_live == 0 or frozen:
            u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
            j = tree_select(tree, n_leaves, u * a0)
        elif u_choice < a0:     # drawn by the thinning loop
            j = tree_select(tree, n_leaves, u_choice)
        else:
            j = select_tv(drive, tv_list, tv_static, used_inputs, base, pulse, mem, u_now, t,
                          u_choice - a0)
        settled = False
        if hybrid is not None and continuous.settle_first(hy, j):
            # y to t with the right-hand side as it was (.continuous): the firing jumps y
            # or changes a count that a flux's law reads
            status = continuous.settle(hy, drive, ctx, ws, st, t, cont_values, sample_times)
            if status != OK:
                break
            settled = True
        for p in range(net.delta_ptr[j], net.delta_ptr[j + 1]):
            x[net.delta_idx[p]] += net.delta_val[p]
        m0 = net.move_ptr[j]
        m1 = net.move_ptr[j + 1]
        if m1 > m0:
            # Take every moving agent out of its state first, then put them all in their new
            # states, so that one firing never picks an agent another of its moves placed.
            for m in range(m0, m1):
                t_type = net.move_type[m]
                frm = net.move_from[m]
                if frm < 0:
                    if n_free[t_type] == 0:
                        status = AGENT_CAPACITY
                        break
                    n_free[t_type] -= 1
                    g = free_slots[net.type_agent_offset[t_type] + n_free[t_type]]
                    agent_id[g] = next_id[t_type]
                    next_id[t_type] += 1
                else:
                    c = net.pick_class[j] if m == m0 else -1
                    n_from = x[n_species + c] if c >= 0 else x[frm]
                    u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
                    pick = min(np.int64(u * n_from), n_from - 1)   # as rng.uniform_index
                    if c >= 0:
                        g = class_members[net.class_list_offset[c] + pick]
                    else:
                        g = members[net.state_list_offset[frm] + pick]
                    _list_remove(members, net.state_list_offset[frm], state_pos, g, x, frm)
                picked[m - m0] = g
            if status != OK:
                break
            for m in range(m0, m1):
                t_type = net.move_type[m]
                g = picked[m - m0]
                to = net.move_to[m]
                if to >= 0:
                    _list_append(members, net.state_list_offset[to], state_pos, g, x, to)
                agent_state[g] = to
                if to < 0:
                    free_slots[net.type_agent_offset[t_type] + n_free[t_type]] = g
                    n_free[t_type] += 1
                if net.type_class_base[t_type] >= 0:
                    _class_refresh(g, t_type, net, agent_state, class_members, class_slot,
                                   class_pos, x, n_species)
                    right = _ring_right(g, net.type_agent_offset[t_type],
                                        net.type_ring_size[t_type])
                    _class_refresh(right, t_type, net, agent_state, class_members, class_slot,
                                   class_pos, x, n_species)
                if net.log[j]:
                    if n_records < ev_capacity:
                        ev_time[n_records] = t
                        ev_agent[n_records] = agent_id[g]
                        ev_reaction[n_records] = j
                        ev_from[n_records] = net.move_from[m]
                        ev_to[n_records] = to
                    n_records += 1
        if net.cx_type[j] >= 0:     # a complex rule: every member of one complex changes
            u_complex = 0.0
            if net.cx_pick[j]:      # the generator is in registers here, not in rng_state
                u_complex, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
            n_records = _complex_members(j, net, picked[0], u_complex, x, agent_state,
                                         agent_id, members, state_pos, class_members,
                                         class_slot, class_pos, n_species, t, ev_time,
                                         ev_agent, ev_reaction, ev_from, ev_to, n_records,
                                         cx_cont_slot, cx_y0)
        n_events += 1
        fire[j] += 1
        if hybrid is not None:    # jumps of y; the factors of fluxes and coupled reactions
            # (before the membrane follows a conductance change: the ODE may settle here)
            status, change_cp, change_fx = continuous.fired(
                hy, drive, ctx, ws, st, cp_static, j, t, settled, net.rx_conductance[j],
                n_fx_timed, cont_values, sample_times)
            if status != OK:
                break
            n_cp_live += change_cp
            n_fx_timed += change_fx
        if has_membrane and net.rx_conductance[j]:
            membrane.anchor(drive, mem, pulse, base, x, t,
                            membrane.voltage(drive, mem, pulse, base, t))
            bound[0] = -math.inf
            if can_freeze:
                t_quiet = quiet_from(drive, used_inputs, pulse, mem, base, h_max)
                if frozen and t_quiet > t:   # a transient: V varies again
                    _set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, False)
                    frozen = False
                    t_stop = min(min(t_iv, t_mem), min(t_spike, t_post))
        for p in range(net.tvdep_ptr[j], net.tvdep_ptr[j + 1]):
            r = net.tvdep_idx[p]
            value = propensity(r, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                               net.reac_order)
            n_tv_live += (value > 0.0) - (tv_static[r] > 0.0)
            bound[1] = max(bound[1] + (value - tv_static[r]) * tv_fmax[r], 0.0)
            tv_static[r] = value
            if frozen:
                i = first_leaf + r
                tree[i] = value * tv_factor[r]
                while i > 0:
                    i = (i - 1) >> 2
                    c = 4 * i + 1
                    tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]
        if has_laws:
            _law_refresh(j, tree, first_leaf, x, rate, law)
        # The dependents' leaves and the sum tree above them, each inner node once
        _refresh_dependents(j, tree, first_leaf, x, rate, dep_rows, dep_split, dep_nodes, net)
    while k < n_times:
        for r in range(len(record_idx)):
            counts[k, r] = -1
        if len(voltages):
            voltages[k] = math.nan
        if hybrid is not None:
            cont_values[k, :] = math.nan
        k += 1
    firings[:] = fire
    result[0] = n_events
    result[1] = t
    result[2] = n_records
    result[3] = n_releases
    if hybrid is not None and len(result) >= 12:
        if status == OK:    # the fluxes' totals at the end (the ODE may have stopped short)
            status = continuous.totals(hy, drive, ctx, ws, st, t, cont_values, sample_times,
                                       result, 12)
        result[4] = st[continuous.N_STEPS]
        result[5] = st[continuous.N_REJECTED]
        result[6] = st[continuous.MAX_DEFICIT]
        result[7] = st[continuous.N_RESTARTS]
        result[8] = st[continuous.NEG_SLOT] if status == FLUX_NEGATIVE else -1.0
        result[9] = st[continuous.N_LINEAR]
        result[10] = st[continuous.N_LIN_REFUSED]
        result[11] = st[continuous.N_LIN_REFRESH]
    return status


@borrowing_njit(inline="always")
def apply_interventions(net, x, rate, iv, t_iv, y):
    """Apply the interventions at ``t_iv`` from the ``iv``-th on (the event loops of
    :func:`simulate_trajectory` and :func:`simulate_plain`).

    Parameters
    ----------
    net : NetworkArrays
    x : (S + P,) int64 ndarray
        Counts; SET_COUNT and ADD_COUNT act here.
    rate : (M,) float64 ndarray
        Rate constants (1/s); SET_RATE acts here.
    iv : int
        The first intervention not yet applied.
    t_iv : float
        Its time (s).
    y : (Y,) float64 ndarray
        The amounts of the continuous species (hybrid mode), where SET_VALUE and ADD_VALUE
        act; length 0 without continuous species (then no intervention has those kinds).

    Returns
    -------
    (status, iv, t_iv)
        NEGATIVE_COUNT if a count or amount went below zero (else OK), the next intervention
        not applied, and its time (inf if none).
    """
    status = OK
    n_interventions = len(net.iv_time)
    while iv < n_interventions and net.iv_time[iv] == t_iv:
        for p in range(net.iv_ptr[iv], net.iv_ptr[iv + 1]):
            kind = net.iv_kind[p]
            target = net.iv_target[p]
            if kind == SET_COUNT:
                x[target] = net.iv_count[p]
            elif kind == ADD_COUNT:
                x[target] += net.iv_count[p]
            elif kind == SET_RATE:
                rate[target] = net.iv_rate[p]
            elif len(y) > 0:    # SET_VALUE, ADD_VALUE
                y[target] = net.iv_count[p] + (y[target] if kind == ADD_VALUE else 0.0)
                if y[target] < 0.0:
                    status = NEGATIVE_COUNT
            if kind < SET_RATE and x[target] < 0:
                status = NEGATIVE_COUNT
        iv += 1
    return status, iv, net.iv_time[iv] if iv < n_interventions else math.inf


#: Whether a network runs on simulate_plain (.codes.is_plain: also run as Python).
is_plain = borrowing_njit()(_codes.is_plain)


# What one pass of a plain loop does after the waiting time is drawn (_plain_pass).
_FIRE, _REFILL, _STOP = 0, 1, 2


@borrowing_njit(inline="always")
def _plain_pass(net, x, rate, t, t_next, t_end, iv, t_iv, k, counts, record_idx,
                sample_times, n_events, next_check, max_events, stop_flag):
    """What :func:`simulate_trajectory` does between the waiting time and the firing, for
    a plain network (both plain loops): the interventions due before ``t_next``, the end,
    the samples before ``t_next`` and, every ``STOP_CHECK_EVENTS`` events, the event budget
    and the caller's stop flag. The pending waiting time is discarded at an intervention.

    Returns
    -------
    (go, status, t, iv, t_iv, k, next_check)
        ``go``: ``_FIRE`` (fire at the returned ``t`` = ``t_next``), ``_REFILL``
        (interventions applied at ``t``: the caller recomputes its propensities and draws
        again) or ``_STOP`` (with ``status``); then the loop's state after the pass.
    """
    if t_iv <= t_next and t_iv <= t_end:
        k = _record_until(counts, k, x, record_idx, sample_times, t_iv)
        status, iv, t_after = apply_interventions(net, x, rate, iv, t_iv, rate[:0])
        return (_REFILL if status == OK else _STOP), status, t_iv, iv, t_after, k, next_check
    if t_next > t_end:
        k = _record_until(counts, k, x, record_idx, sample_times, math.inf)
        return _STOP, OK, t_end, iv, t_iv, k, next_check
    if k < len(sample_times) and sample_times[k] < t_next:
        k = _record_until(counts, k, x, record_idx, sample_times, t_next)
    if n_events >= next_check:
        if n_events >= max_events:
            return _STOP, MAX_EVENTS, t, iv, t_iv, k, next_check
        if stop_flag[0] != 0:
            return _STOP, INTERRUPTED, t, iv, t_iv, k, next_check
        next_check = min(max_events, n_events + STOP_CHECK_EVENTS)
    return _FIRE, OK, t_next, iv, t_iv, k, next_check


@borrowing_njit()
def _plain_finish(k, counts, voltages, fire, firings, result, n_events, t):
    """The outputs of a plain trajectory, as at the end of :func:`simulate_trajectory`."""
    while k < len(counts):
        for r in range(counts.shape[1]):
            counts[k, r] = -1
        if len(voltages):
            voltages[k] = math.nan
        k += 1
    for j in range(len(fire)):
        firings[j] = fire[j]
    result[0] = n_events
    result[1] = t
    result[2] = 0
    result[3] = 0


@borrowing_njit(inline="always")
def _fast_draws(a0, t, t_fast, s_hi, s_lo, inc_hi, inc_lo):
    """The draws of one event of an inner loop (:func:`_tiny_events`, :func:`_tree_events`)
    when it needs nothing else: a total ``a0`` positive and finite, the ziggurat's first
    try accepted (:func:`.rng.exponential_fast_words`) and the event time before
    ``t_fast``. Returns ``(ok, t_next, u, n_hi, n_lo)``: whether it does, the event time,
    the choice's uniform draw and the generator state after both draws (the caller keeps
    them only if ``ok``)."""
    ok = False
    t_next = t
    u = 0.0
    n_hi, n_lo = s_hi, s_lo
    if a0 > 0.0 and a0 < math.inf:
        accepted, e, n_hi, n_lo = exponential_fast_words(s_hi, s_lo, inc_hi, inc_lo)
        if accepted:
            t_next = t + e / a0
            if t_next < t_fast:
                u, n_hi, n_lo = double_words(n_hi, n_lo, inc_hi, inc_lo)
                ok = True
    return ok, t_next, u, n_hi, n_lo


@borrowing_njit(inline="always")
def _fire_tree(j, x, rate, fire, tree, first_leaf, net, tables):
    """Fire reaction ``j``: change the counts, count the firing, and recompute the leaves of
    its dependents and the inner nodes above them (:func:`_refresh_dependents`, with
    ``tables`` = ``(dep_rows, dep_split, dep_nodes)`` of :func:`dependent_tables`), as
    :func:`simulate_trajectory` does."""
    for p in range(net.delta_ptr[j], net.delta_ptr[j + 1]):
        x[net.delta_idx[p]] += net.delta_val[p]
    fire[j] += 1
    _refresh_dependents(j, tree, first_leaf, x, rate, tables[0], tables[1], tables[2], net)


@borrowing_njit(inline="always")
def _tree_events(tree, n_leaves, t, t_fast, s_hi, s_lo, inc_hi, inc_lo, n_events,
                 next_check, x, rate, fire, net, tables):
    """:func:`simulate_plain`'s inner loop for a network of more than four reactions, as
    :func:`_tiny_events` for fewer: fires events while each needs nothing else, and
    returns ``(t, s_hi, s_lo, n_events)`` when one does, before that event's draws are
    kept."""
    first_leaf = (n_leaves - 1) // 3
    while n_events < next_check:
        a0 = tree[0]
        ok, t_next, u, n_hi, n_lo = _fast_draws(a0, t, t_fast, s_hi, s_lo, inc_hi, inc_lo)
        if not ok:
            break
        t, s_hi, s_lo = t_next, n_hi, n_lo
        _fire_tree(tree_select(tree, n_leaves, u * a0), x, rate, fire, tree, first_leaf, net,
                   tables)
        n_events += 1
    return t, s_hi, s_lo, n_events


@borrowing_njit()
def simulate_plain(net, work, rng_state, sample_times, t_end, max_events, record_idx, counts,
                   voltages, firings, result, stop_flag):
    """:func:`simulate_trajectory` for a network that :func:`is_plain` accepts: the same
    draws, the same operations in the same order, hence the same bits, status and outputs,
    without the code of what such a network cannot have.

    Why a separate loop: in :func:`simulate_trajectory` every event passes a dozen tests
    (time-dependent rates, agents, complex rules, laws, membrane, scheduled changes) that
    a plain network never needs, and immigration–death ran at 29–35 ns per event there
    (29 here, load 4). A network of 2–4 reactions (one level of the sum tree) goes on to
    :func:`_simulate_tiny`. Arguments and return value are those of
    :func:`simulate_trajectory` (``voltages`` has length 0 here; no event records).

    Compiled without numba's reference counting (:func:`.jit.borrowing_njit`): a call of
    :func:`simulate_trajectory`, which has it, increments and decrements the count of
    each of the network's 86 arrays, ~0.5 µs per trajectory of the 1.2 µs a trajectory
    without events costs (DSMTS dimerisation, load 5).
    """
    n_species = len(net.x0)
    n_leaves = net.n_leaves[0]
    first_leaf = (n_leaves - 1) // 3
    x, rate, tree, fire = work[0], work[1], work[2], work[15]
    # (loops, not slice assignments, which would need numba's runtime: see below)
    for s in range(len(x)):
        x[s] = net.x0[s] if s < n_species else 0
    for j in range(len(rate)):
        rate[j] = net.rate[j]
        fire[j] = 0
    _fill_tree(tree, n_leaves, x, rate, net, work[16])
    s_hi, s_lo, inc_hi, inc_lo = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    t_iv = net.iv_time[0] if len(net.iv_time) > 0 else math.inf
    if n_leaves == 4:
        status, k, n_events, t = _simulate_tiny(
            net, work, s_hi, s_lo, inc_hi, inc_lo, t_iv, sample_times, t_end, max_events,
            record_idx, counts, stop_flag)
        _plain_finish(k, counts, voltages, fire, firings, result, n_events, t)
        return status
    n_times = len(sample_times)
    tables = (work[27], work[28], work[14])     # dependent_tables: dep_rows, dep_split, dep_nodes
    t, k, iv, n_events, next_check, status = 0.0, 0, 0, 0, 0, OK
    while True:
        t_fast = min(t_iv, t_end)
        if k < n_times:
            t_fast = min(t_fast, sample_times[k])
        t, s_hi, s_lo, n_events = _tree_events(tree, n_leaves, t, t_fast, s_hi, s_lo, inc_hi,
                                               inc_lo, n_events, next_check, x, rate, fire, net,
                                               tables)
        # one pass of the whole loop
        a0 = tree[0]
        if not (a0 >= 0.0 and a0 < math.inf):
            status = NONFINITE_PROPENSITY
            break
        t_next = math.inf
        if a0 > 0.0:
            e, s_hi, s_lo = exponential_words(s_hi, s_lo, inc_hi, inc_lo)
            t_next = t + e / a0
        go, status, t, iv, t_iv, k, next_check = _plain_pass(
            net, x, rate, t, t_next, t_end, iv, t_iv, k, counts, record_idx, sample_times,
            n_events, next_check, max_events, stop_flag)
        if go == _REFILL:
            _fill_tree(tree, n_leaves, x, rate, net, work[16])
            continue
        if go == _STOP:
            break
        u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
        _fire_tree(tree_select(tree, n_leaves, u * a0), x, rate, fire, tree, first_leaf, net,
                   tables)
        n_events += 1
    _plain_finish(k, counts, voltages, fire, firings, result, n_events, t)
    return status


@borrowing_njit(inline="always")
def _select4(m, v, leaf0, leaf1, leaf2, leaf3):
    """:func:`tree_select` on one level (the root's four children), as selects: the leaf
    ``v`` (in ``[0, a0)``) falls on, the same subtractions and comparisons, hence the same
    choice. ``m``: the number of reactions, a constant where this is inlined; with ``m =
    2`` (``leaf2 = leaf3 = 0``) the comparisons with the two zero leaves, which can change
    nothing, are left out."""
    u1 = v - leaf0
    if m == 2:
        # u1 >= leaf1 only by round-off: the last positive leaf, as below
        j = 1 if u1 < leaf1 or leaf1 > 0.0 else 0
        return 0 if v < leaf0 else j
    u2 = u1 - leaf1
    u3 = u2 - leaf2
    if u3 < leaf3:
        j = 3
    else:   # round-off: the last leaf with a positive propensity
        j = 3 if leaf3 > 0.0 else (2 if leaf2 > 0.0 else (1 if leaf1 > 0.0 else 0))
    j = 2 if u2 < leaf2 else j
    j = 1 if u1 < leaf1 else j
    return 0 if v < leaf0 else j


@borrowing_njit(inline="always")
def _fire_tiny(m, j, x, rate, fire, net):
    """Fire reaction ``j`` of a network of ``m <= 4`` reactions: change the counts, count
    the firing, and return the four leaves (propensities; 0 past the last reaction), each
    recomputed from the new counts.

    All of them, not only ``j``'s dependents: the four are independent of each other and
    of ``j`` (no walk of the dependency list), and each is the value a refresh through the
    dependency list would give, the same bits."""
    for p in range(net.delta_ptr[j], net.delta_ptr[j + 1]):
        x[net.delta_idx[p]] += net.delta_val[p]
    fire[j] += 1
    leaf0 = propensity(0, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx, net.reac_order)
    leaf1 = 0.0
    leaf2 = 0.0
    leaf3 = 0.0
    if m > 1:
        leaf1 = propensity(1, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                           net.reac_order)
    if m > 2:
        leaf2 = propensity(2, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                           net.reac_order)
    if m > 3:
        leaf3 = propensity(3, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                           net.reac_order)
    return leaf0, leaf1, leaf2, leaf3


@borrowing_njit(inline="always")
def _tiny_events(m, leaf0, leaf1, leaf2, leaf3, t, t_fast, s_hi, s_lo, inc_hi, inc_lo,
                 n_events, next_check, x, rate, fire, net):
    """:func:`_simulate_tiny`'s inner loop, for ``m`` reactions (a constant where it is
    inlined: with 2, the two zero leaves cost nothing). Fires events while each needs
    nothing else (see there); returns the loop's state when one does, before that
    event's draws are kept: ``(leaf0, leaf1, leaf2, leaf3, t, s_hi, s_lo, n_events)``."""
    while n_events < next_check:
        if m == 2:
            # ((leaf0 + leaf1) + 0) + 0 is this, or -0.0 for 0.0, which stops here too
            a0 = leaf0 + leaf1
        else:
            a0 = ((leaf0 + leaf1) + leaf2) + leaf3
        ok, t_next, u, n_hi, n_lo = _fast_draws(a0, t, t_fast, s_hi, s_lo, inc_hi, inc_lo)
        if not ok:
            break
        t, s_hi, s_lo = t_next, n_hi, n_lo
        j = _select4(m, u * a0, leaf0, leaf1, leaf2, leaf3)
        leaf0, leaf1, leaf2, leaf3 = _fire_tiny(m, j, x, rate, fire, net)
        n_events += 1
    return leaf0, leaf1, leaf2, leaf3, t, s_hi, s_lo, n_events


@borrowing_njit()
def _simulate_tiny(net, work, s_hi, s_lo, inc_hi, inc_lo, t_iv, sample_times, t_end,
                   max_events, record_idx, counts, stop_flag):
    """:func:`simulate_plain`'s loop for a network of 2–4 reactions, whose sum tree is its
    root over four leaves: the leaves are held in four local variables (registers), not
    stored and loaded back at every event. The sums and comparisons are those of the tree
    (:func:`tree_select` on one level), so the bits are the same. Called by
    :func:`simulate_plain` with the work arrays reset, the tree filled, the generator's
    state (``s_hi, s_lo, inc_hi, inc_lo``) and the first intervention's time ``t_iv``;
    returns ``(status, samples recorded, events, time reached)``.

    Two loops. The inner one (:func:`_tiny_events`) fires the events that need nothing
    else: the ziggurat accepts its first draw (:func:`.rng.exponential_fast_words`), the
    event comes before the next sample, intervention and ``t_end`` (one comparison with
    their minimum, ``t_fast``) and before the next look at the event budget and stop flag.
    It calls no function, so the compiler keeps its state in registers: a call on any path
    of the loop (``exp`` and ``log1p`` of the ziggurat's rare branches, the sampling) made
    it spill the leaves, the time and the total to the stack and load them back at every
    event (24.4 → 17.2 ns per event on immigration–death, load 7). Anything else leaves the
    inner loop *before* its draws are kept, and one pass of the outer loop, the loop of
    :func:`simulate_plain`, does that event from the same generator state: the same draws
    and operations as a single loop, hence the same bits.
    """
    x, rate, tree, fire = work[0], work[1], work[2], work[15]
    n_times = len(sample_times)
    n_reactions = len(rate)
    leaf0, leaf1, leaf2, leaf3 = tree[1], tree[2], tree[3], tree[4]
    t, k, iv, n_events, next_check, status = 0.0, 0, 0, 0, 0, OK
    while True:
        t_fast = min(t_iv, t_end)
        if k < n_times:
            t_fast = min(t_fast, sample_times[k])
        if n_reactions == 2:     # (the most common tiny network: a copy without leaves 2, 3)
            leaf0, leaf1, leaf2, leaf3, t, s_hi, s_lo, n_events = _tiny_events(
                2, leaf0, leaf1, leaf2, leaf3, t, t_fast, s_hi, s_lo, inc_hi, inc_lo,
                n_events, next_check, x, rate, fire, net)
        else:
            leaf0, leaf1, leaf2, leaf3, t, s_hi, s_lo, n_events = _tiny_events(
                n_reactions, leaf0, leaf1, leaf2, leaf3, t, t_fast, s_hi, s_lo, inc_hi, inc_lo,
                n_events, next_check, x, rate, fire, net)
        # one pass of simulate_plain's loop
        a0 = ((leaf0 + leaf1) + leaf2) + leaf3
        if not (a0 >= 0.0 and a0 < math.inf):
            status = NONFINITE_PROPENSITY
            break
        t_next = math.inf
        if a0 > 0.0:
            e, s_hi, s_lo = exponential_words(s_hi, s_lo, inc_hi, inc_lo)
            t_next = t + e / a0
        go, status, t, iv, t_iv, k, next_check = _plain_pass(
            net, x, rate, t, t_next, t_end, iv, t_iv, k, counts, record_idx, sample_times,
            n_events, next_check, max_events, stop_flag)
        if go == _REFILL:
            _fill_tree(tree, 4, x, rate, net, work[16])
            leaf0, leaf1, leaf2, leaf3 = tree[1], tree[2], tree[3], tree[4]
            continue
        if go == _STOP:
            break
        u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
        j = _select4(4, u * a0, leaf0, leaf1, leaf2, leaf3)
        leaf0, leaf1, leaf2, leaf3 = _fire_tiny(n_reactions, j, x, rate, fire, net)
        n_events += 1
    return status, k, n_events, t


@numba.njit(cache=True, nogil=True)
def wait_for_rows(claim, stop_flag, spins):
    """Wait, without the GIL and without sleeping, until every row of the batch is
    finished (``claim[CLAIM_FINISHED]`` reaches ``claim[CLAIM_END]``; the batch starts at
    row 0) or ``stop_flag`` is set, for at most ``spins`` looks at the count.

    The calling thread of :func:`stochsyn.engine.batch.run_batch`, when it has claimed its
    last rows, waits here for the rows still running in a worker (at most a claim's
    worth): a thread blocked on a lock is woken by the kernel, which on a virtual machine
    takes tens of microseconds more when its core has gone idle.

    Returns
    -------
    bool
        True if every row is finished.
    """
    end = claim[CLAIM_END]
    for _ in range(spins):
        if fetch_add(claim, CLAIM_FINISHED, 0) >= end:
            return True
        if fetch_add(stop_flag, 0, 0) != 0:
            return False
    return fetch_add(claim, CLAIM_FINISHED, 0) >= end


@numba.njit(cache=True, nogil=True)
def run_trajectories(ints, reals, bounds, run_entropy, trajectories, claim, sample_times,
                     spike_times, post_spike_times, t_end, max_events, record_idx, counts,
                     voltages, firings, ev_time, ev_agent, ev_reaction, ev_from, ev_to, status,
                     results, stop_flag, cont_values=None, hy=None):
    """Simulate rows of a batch, one after another, without the GIL.

    The rows are claimed from ``claim[CLAIM_NEXT]`` (an atomic fetch-and-add,
    :func:`.jit.fetch_add`) until ``claim[CLAIM_END]``, ``claim[CLAIM_ROWS]`` at a time (on
    a batch shared by several threads, fewer towards its end: :data:`GUIDED_SHARE`), and
    counted in ``claim[CLAIM_FINISHED]`` once finished: every thread running the batch
    (:func:`stochsyn.engine.batch.run_batch`) calls this once with the same ``claim`` and
    takes rows until none are left, so a batch costs one call per thread, and the work
    arrays are allocated once per call (:func:`workspace`). Trajectory ``trajectories[b]``
    draws only from ``SeedSequence(root_seed, spawn_key=(trajectories[b],))``, so its result
    is the same whichever batch, thread or claim runs it.

    A call alone on a batch may be given a budget of work (``claim[CLAIM_BUDGET] > 0``)
    and a budget per row (``claim[CLAIM_ROW_BUDGET]``): it stops before it would exceed
    the first and gives the rest of the batch back (``claim[CLAIM_NEXT]`` is then the
    first row not done), so that
    :func:`stochsyn.engine.batch.run_batch` can run small trajectories in the calling
    thread, without handing them to a worker, and still stay responsive to Ctrl-C. A row's
    work is its events plus its samples; a row is run with at most the smaller budget left
    as its event budget, and when it stops at that (status MAX_EVENTS below
    ``max_events``) its result is discarded, its ``status`` restored, and it is given back
    to be simulated again in full (same stream, same bits).

    Parameters
    ----------
    ints, reals, bounds : ndarrays
        The network's arrays, packed (:class:`stochsyn.network.PackedNetwork`).
    run_entropy : (n_words,) uint32 ndarray
        The root seed as SeedSequence entropy words (:func:`rng.entropy_words`).
    trajectories : (B,) int64 ndarray
        Global trajectory indices.
    claim : (CLAIM_SLOTS,) int64 ndarray
        :func:`new_claim`: [next row to claim, end row, most rows per claim, work budget
        of this call (events and samples; 0: none), event budget of a row within it, rows
        finished, threads sharing the batch, unused]; the first and the sixth are
        advanced. With a budget, no other call may share ``claim`` while this one runs.
    counts : (B, n_times, R) int64 ndarray
    voltages : (B, n_times) or (B, 0) float64 ndarray
    firings : (B, M) int64 ndarray
    ev_time, ev_agent, ev_reaction, ev_from, ev_to : (B, capacity) ndarrays
        Output: the event records. ``ev_time`` None for a network :func:`is_plain`
        accepts (it has none): the kernel is then compiled with :func:`simulate_plain`
        alone (``stochsyn.engine.batch.run_batch``, ``plain=True``).
    status : (B,) int64 ndarray
    results : (B, 4) or (B, 12 + F) float64 ndarray
        Per trajectory: events, time reached, event records wanted, releases (and in the
        hybrid mode ODE steps, rejected steps, the largest deficit, ODE restarts, the slot
        a flux drove below zero, linear propagations, refused ones, linearisations, the F
        fluxes' totals: :func:`simulate_trajectory`).
    stop_flag : (1,) int64 ndarray
        Set non-zero by another thread to stop: the trajectory running stops with status
        INTERRUPTED and rows not yet started are left untouched (their ``status`` keeps
        the caller's fill value).
    cont_values : (B, n_times, Y) float64 ndarray or None
        The hybrid mode: output, the amounts of the Y continuous species. None (the
        default) for a network without any: its kernel is compiled without the mode.
    hy : HybridArrays or None
        The network's hybrid arrays (with ``cont_values``).
    """
    net = unpack(ints, reals, bounds)
    work = workspace(net)
    rng_state = np.empty(4, dtype=np.uint64)
    if cont_values is not None:     # the hybrid mode's work arrays (.continuous)
        n_ode = len(hy.cont_idx) + len(hy.fx_rx)    # species, then the fluxes' totals
        ws = np.empty((continuous.work_rows(n_ode), n_ode),
                      dtype=np.float64)
        st = np.zeros(continuous.N_SCALARS, dtype=np.float64)
        cp_static = np.zeros(len(hy.cp_rx), dtype=np.float64)
        fx_static = np.zeros(len(hy.fx_rx), dtype=np.float64)
    plain = cont_values is None and is_plain(net)
    stop = claim[CLAIM_END]
    largest = max(claim[CLAIM_ROWS], 1)
    budget = claim[CLAIM_BUDGET]
    row_budget = claim[CLAIM_ROW_BUDGET]
    sharing = claim[CLAIM_THREADS]
    spent = 0
    while True:
        size = largest
        if budget == 0 and sharing > 1:
            # Guided: a claim is at most 1/GUIDED_SHARE of a thread's share of the rows
            # left (read atomically), so the last claims are single rows and the threads
            # end within about one trajectory of each other.
            left = stop - fetch_add(claim, CLAIM_NEXT, 0)
            size = min(largest, max(1, left // (sharing * GUIDED_SHARE)))
        first = fetch_add(claim, CLAIM_NEXT, size)
        if first >= stop:
            break
        finished = 0
        for b in range(first, min(first + size, stop)):
            if stop_flag[0] != 0:       # stopped: this row and the rest stay unstarted
                fetch_add(claim, CLAIM_FINISHED, finished)
                return
            row_events = max_events
            if budget > 0:
                if spent >= budget:     # the rest is given back (this call is alone)
                    claim[CLAIM_NEXT] = b
                    fetch_add(claim, CLAIM_FINISHED, finished)
                    return
                row_events = min(max_events, min(budget - spent, row_budget))
            fill = status[b]
            seed_pcg64(rng_state, run_entropy, trajectories[b])
            if ev_time is None or plain:
                # (ev_time None: the kernel of plain networks, compiled with this loop
                # alone, since numba prunes the other branches: its cached code is under
                # half the general kernel's, ~45 ms less of a cold start's CPU;
                # stochsyn.engine.batch.run_batch)
                status[b] = simulate_plain(
                    net, work, rng_state, sample_times, t_end, row_events, record_idx,
                    counts[b], voltages[b], firings[b], results[b], stop_flag)
            elif cont_values is None:
                status[b] = simulate_trajectory(
                    net, work, rng_state, trajectories[b], sample_times, spike_times,
                    post_spike_times, t_end, row_events, record_idx, counts[b], voltages[b],
                    firings[b], ev_time[b], ev_agent[b], ev_reaction[b], ev_from[b], ev_to[b],
                    results[b], stop_flag)
            else:
                status[b] = simulate_trajectory(
                    net, work, rng_state, trajectories[b], sample_times, spike_times,
                    post_spike_times, t_end, row_events, record_idx, counts[b], voltages[b],
                    firings[b], ev_time[b], ev_agent[b], ev_reaction[b], ev_from[b], ev_to[b],
                    results[b], stop_flag, (hy, cont_values[b], ws, st, cp_static, fx_static))
            if budget > 0:
                if status[b] == MAX_EVENTS and row_events < max_events:
                    status[b] = fill    # cut short by the budget: redone in full later
                    claim[CLAIM_NEXT] = b
                    fetch_add(claim, CLAIM_FINISHED, finished)
                    return
                spent += np.int64(results[b, 0]) + len(sample_times)
            if status[b] != INTERRUPTED:
                finished += 1
        # After the rows' outputs are written (a sequentially consistent add), so a
        # thread that reads the count sees them: wait_for_rows.
        fetch_add(claim, CLAIM_FINISHED, finished)
