"""Detailed balance of reversible reactions: the check behind ``detailed_balance = true``.

A network of reversible reactions without an energy source must satisfy detailed balance
(Wegscheider's condition): around every closed cycle of reactions the product of the
equilibrium constants ``K = k_forward / k_reverse`` is 1. Allosteric models such as the
Monod–Wyman–Changeux calmodulin of Stefan et al. (2008) build this into their rates
(``k_TR(S) = k_TR / Π_{i∈S} √c_i``); a typing error in one of a hundred derived rates
silently makes a perpetual-motion machine that still runs. Reactions marked
``detailed_balance = true`` are checked when the model is built.

The test is exact in exact arithmetic and uses the stoichiometry, not a drawing of the
graph: with ``ν_p`` the net change of reversible pair ``p`` (agent states included; a
clamped species left out) and ``g_p = ln K_p`` (stochastic constants ``c``: the volume
factors cancel around a cycle), every integer vector ``v`` with ``Σ_p v_p ν_p = 0`` (a
cycle) must have ``Σ_p v_p g_p = 0``. The cycles are the fundamental ones of the null space
of the stoichiometric matrix, found by exact rational elimination (one cycle per pair not
in a spanning set), so the first violated cycle found names a few reactions, not all.
"""

from __future__ import annotations

import math
from fractions import Fraction

from .errors import ModelError

#: Relative tolerance of Σ v ln K = 0 (rates written with 6–15 significant digits pass;
#: a typing error in one rate does not).
TOLERANCE = 1e-9


def check_detailed_balance(reactions, marked: set[str], species, *, source, where_of) -> None:
    """Raise ModelError if the reactions of the rules in ``marked`` break detailed balance.

    Parameters
    ----------
    reactions : sequence of Reaction
        The expanded reactions of the model (clamps applied).
    marked : set of str
        Names of the reversible rules (``name`` of a ``<->`` reaction: its directions are
        ``name_fwd`` and ``name_rev``) marked ``detailed_balance = true``.
    species : sequence of str
        State labels, for the message.
    where_of : callable
        Rule name -> location text for the message.
    """
    if not marked:
        return
    chosen = [r for r in reactions if _base(r.rule) in marked]
    for r in chosen:
        if r.neighbour is not None or r.complex_type >= 0 or r.kind not in (
                "mass_action", "input"):
            raise ModelError(f"rule '{_base(r.rule)}' is marked detailed_balance = true but is "
                             + ("a neighbour rule" if r.neighbour is not None else
                                "a complex rule" if r.complex_type >= 0 else
                                f"of kind '{r.kind}'")
                             + "; the check covers reversible mass-action reactions",
                             source=source, where=where_of(_base(r.rule)),
                             hint="mark only reversible binding and conformation steps")
    by_change: dict[tuple, list] = {}
    for r in chosen:
        by_change.setdefault(_change(r), []).append(r)
    pairs = []
    for r in chosen:
        if not r.rule.endswith("_fwd"):
            continue
        partners = [q for q in by_change.get(_negated(_change(r)), ())
                    if q.rule == r.rule[:-4] + "_rev"]
        if len(partners) != 1:
            raise ModelError(f"reaction '{r.name}' of rule '{_base(r.rule)}' has no single "
                             "reverse reaction", source=source, where=where_of(_base(r.rule)),
                             hint="a detailed-balance rule must be written with '<->'")
        pairs.append((r, partners[0]))
    unpaired = {r.rule for r in chosen if not r.rule.endswith(("_fwd", "_rev"))}
    if unpaired:
        name = sorted(unpaired)[0]
        raise ModelError(f"rule '{name}' is marked detailed_balance = true but is "
                         "irreversible", source=source, where=where_of(name),
                         hint="write it with '<->' and two rates, or drop the mark")
    for forward, reverse in pairs:
        if (forward.rate > 0) != (reverse.rate > 0):
            raise ModelError(f"reaction '{forward.name}' has a zero rate in one direction; "
                             "detailed balance needs both directions", source=source,
                             where=where_of(_base(forward.rule)),
                             hint="give both directions a rate > 0 (or both 0 to switch the "
                                  "step off)")
    # A step with both rates 0 is switched off: it closes no cycle.
    pairs = [(f, r) for f, r in pairs if f.rate > 0]
    cycle, residual, closing = _violated_cycle(pairs)
    if cycle is None:
        return
    steps = "; ".join(f"{'' if v == 1 else f'{v}×'}{f.name}" for v, (f, _) in cycle)
    # Name the pair that closes the cycle (the last declared of it: the free column of the
    # elimination) and the factor on its reverse rate that makes the product 1.
    v_first, (first, _) = next((v, pair) for v, pair in cycle if pair is pairs[closing])
    product = math.exp(residual)
    factor = math.exp(residual / v_first)
    raise ModelError(
        f"the rates of the reactions marked detailed_balance = true break detailed balance: "
        f"around the closed cycle {steps} the product of the equilibrium constants "
        f"k_fwd/k_rev is {product:.6g}, not 1 (a cycle that would turn forever at "
        "equilibrium)", source=source, where=where_of(_base(first.rule)),
        hint=f"derive one rate of the cycle from the others, e.g. multiply the reverse rate "
             f"of '{_base(first.rule)}' ({first.name}) by {factor:.6g} (for an MWC model: "
             "k_TR(S) = k_TR / Π √c_i and k_RT(S) = k_RT · Π √c_i over the bound sites)")


def _base(rule: str) -> str:
    for suffix in ("_fwd", "_rev"):
        if rule.endswith(suffix):
            return rule[: -len(suffix)]
    return rule


def _change(reaction) -> tuple:
    net: dict[int, int] = {}
    for s, n in reaction.reactants:
        net[s] = net.get(s, 0) - n
    for s, n in reaction.products:
        net[s] = net.get(s, 0) + n
    return tuple(sorted((s, d) for s, d in net.items() if d))


def _negated(change: tuple) -> tuple:
    return tuple((s, -d) for s, d in change)


def rref(matrix: list, columns) -> list[int]:
    """Bring ``matrix`` (a list of rows of Fractions) to reduced row echelon form in place,
    taking pivots in the order of ``columns`` (exact arithmetic); returns the pivot
    columns, row by row. Used here for the cycles of the reaction pairs and by
    :func:`stochsyn.network.conservation_laws` for the continuous species' laws."""
    pivots, row = [], 0
    for col in columns:
        if row == len(matrix):
            break
        pivot = next((r for r in range(row, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[row], matrix[pivot] = matrix[pivot], matrix[row]
        lead = matrix[row][col]
        matrix[row] = [value / lead for value in matrix[row]]
        for r in range(len(matrix)):
            if r != row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[row])]
        pivots.append(col)
        row += 1
    return pivots


def _violated_cycle(pairs):
    """The shortest fundamental cycle with Σ v ln K ≠ 0, as [(v, pair)], Σ v ln K, and the
    index of the pair that closes it (the free column); (None, 0, -1) if there is none."""
    states = sorted({s for f, _ in pairs for s, _ in _change(f)})
    row_of = {s: i for i, s in enumerate(states)}
    n_pairs = len(pairs)
    # Reduced row echelon form of N (states × pairs) in exact rationals.
    matrix = [[Fraction(0)] * n_pairs for _ in states]
    for p, (forward, _) in enumerate(pairs):
        for s, d in _change(forward):
            matrix[row_of[s]][p] = Fraction(d)
    pivots = rref(matrix, range(n_pairs))
    log_k = [math.log(f.rate) - math.log(r.rate) for f, r in pairs]
    pivot_set = set(pivots)
    worst = None
    for free in range(n_pairs):
        if free in pivot_set:
            continue
        vector = {free: Fraction(1)}
        for r, col in enumerate(pivots):
            if matrix[r][free] != 0:
                vector[col] = -matrix[r][free]
        scale = math.lcm(*(v.denominator for v in vector.values()))
        vector = {p: int(v * scale) for p, v in vector.items()}
        residual = sum(v * log_k[p] for p, v in vector.items())
        size = sum(abs(v) * (abs(log_k[p]) + 1.0) for p, v in vector.items())
        if abs(residual) > TOLERANCE * size:
            cycle = sorted(vector.items())
            if worst is None or len(cycle) < len(worst[0]):
                worst = ([(v, pairs[p]) for p, v in cycle], residual, free)
    return (None, 0.0, -1) if worst is None else worst
