"""Choosing the reaction that fires: the engine's 4-ary sum tree against composition-
rejection (Slepoy, Thompson & Plimpton 2008, J Chem Phys 128:205101) at 2, 100 and 1,000
reactions, and the tree's choice made with branches (up to 33770bc) or with selects.

Each simulated "event" chooses a reaction with probability a_j / a0 and then changes the
propensities of ``--dependents`` reactions (random new values), which each method must
absorb: the tree recomputes the paths to its root; composition-rejection moves a reaction
between its power-of-two groups and corrects the group sums. Propensities are spread
log-uniformly over four decades, as in the receptor network, and a quarter are zero.
Everything runs in one process on the same random numbers; the figure is CPU time per
event (``time.thread_time``, robust to other processes' load), best of ``--repeats``.

Composition-rejection draws a variable number of uniforms per choice (one for the group,
then a pair per rejection trial), so adopting it would change every trajectory's random
stream; the tree uses one uniform per choice whatever the network.

Usage::

    python benchmarks/bench_selection.py [--events 2000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from stochsyn.engine.ssa import tree_select  # noqa: E402


@numba.njit(cache=True)
def _branchy_select(tree, n_leaves, u):
    """The tree's choice as it was written before 33770bc: a branch per child."""
    first_leaf = (n_leaves - 1) // 3
    i = 0
    while i < first_leaf:
        c = 4 * i + 1
        chosen = -1
        last = c
        for k in range(4):
            v = tree[c + k]
            if v > 0.0:
                last = c + k
                if u < v:
                    chosen = c + k
                    break
                u -= v
        i = chosen if chosen >= 0 else last
    return i - first_leaf


@numba.njit(cache=True)
def _tree_set(tree, first_leaf, j, value):
    i = first_leaf + j
    tree[i] = value
    while i > 0:
        i = (i - 1) >> 2
        c = 4 * i + 1
        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]


@numba.njit(cache=True)
def run_tree(values, n_leaves, uniforms, targets, new_values, branchy):
    """Events on the 4-ary tree; returns a checksum of the choices."""
    first_leaf = (n_leaves - 1) // 3
    tree = np.zeros(first_leaf + n_leaves)
    for j in range(len(values)):
        tree[first_leaf + j] = values[j]
    for i in range(first_leaf - 1, -1, -1):
        c = 4 * i + 1
        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]
    d = targets.shape[1]
    check = 0
    for e in range(len(uniforms)):
        u = uniforms[e] * tree[0]
        j = _branchy_select(tree, n_leaves, u) if branchy else tree_select(tree, n_leaves, u)
        check += j
        for q in range(d):
            _tree_set(tree, first_leaf, targets[e, q], new_values[e, q])
    return check


@numba.njit(cache=True)
def run_composition_rejection(values, uniforms, extra, targets, new_values, a_min):
    """Events by composition-rejection; returns a checksum of the choices. Group g holds
    the propensities in [a_min·2^g, a_min·2^(g+1)); a group is chosen by a linear scan of
    the group sums, a member by rejection (accepted with probability a_j / group bound)."""
    m = len(values)
    n_groups = 16      # 2^16 > the 10^4 spread of the propensities
    members = np.empty((n_groups, m), dtype=np.int64)
    size = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros(n_groups)
    group = np.full(m, -1, dtype=np.int64)
    slot = np.zeros(m, dtype=np.int64)
    a = values.copy()

    def group_of(value):      # the binary exponent of value / a_min, no logarithm
        return min(n_groups - 1, max(0, math.frexp(value / a_min)[1] - 1))

    for j in range(m):
        if a[j] > 0.0:
            g = group_of(a[j])
            group[j] = g
            slot[j] = size[g]
            members[g, size[g]] = j
            size[g] += 1
            sums[g] += a[j]
    d = targets.shape[1]
    check = 0
    k = 0
    for e in range(len(uniforms)):
        total = 0.0
        for g in range(n_groups):
            total += sums[g]
        u = uniforms[e] * total
        g = 0
        while g < n_groups - 1 and (u >= sums[g] or size[g] == 0):
            u -= sums[g]
            g += 1
        bound = math.ldexp(a_min, g + 1)
        while True:     # rejection within the group: two more uniforms per trial
            r = extra[k] * size[g]
            k = k + 2 if k + 2 < len(extra) else 0
            pick = min(int(r), size[g] - 1)
            j = members[g, pick]
            if extra[k - 1] * bound < a[j]:
                break
        check += j
        for q in range(d):
            t = targets[e, q]
            value = new_values[e, q]
            old = group[t]
            if old >= 0:
                sums[old] -= a[t]
            new = group_of(value) if value > 0.0 else -1
            if new != old:
                if old >= 0:          # swap-remove from the old group
                    last = members[old, size[old] - 1]
                    members[old, slot[t]] = last
                    slot[last] = slot[t]
                    size[old] -= 1
                if new >= 0:
                    slot[t] = size[new]
                    members[new, size[new]] = t
                    size[new] += 1
                group[t] = new
            a[t] = value
            if new >= 0:
                sums[new] += value
    return check


def propensities(rng, m, n):
    values = 10.0 ** rng.uniform(-2.0, 2.0, size=n)
    if m > 4:
        values[rng.random(n) < 0.25] = 0.0
    return values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dependents", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261207)
    n = args.events
    print(f"{n} events, {args.dependents} dependents changed per event; CPU ns per event "
          "(best of", args.repeats, "repeats)")
    print(f"{'reactions':>9s} {'tree, selects':>14s} {'tree, branches':>15s} "
          f"{'composition-rejection':>22s}")
    for m in (2, 100, 1000):
        n_leaves = 1
        while n_leaves < m:
            n_leaves *= 4
        values = propensities(rng, m, m)
        uniforms = rng.random(n)
        extra = rng.random(2 * n + 2)
        targets = rng.integers(0, m, size=(n, min(args.dependents, m)))
        new_values = propensities(rng, m, targets.size).reshape(targets.shape)
        a_min = 10.0 ** -2.0
        runs = {
            "tree": lambda: run_tree(values, n_leaves, uniforms, targets, new_values, False),
            "branchy": lambda: run_tree(values, n_leaves, uniforms, targets, new_values, True),
            "cr": lambda: run_composition_rejection(values, uniforms, extra, targets,
                                                    new_values, a_min),
        }
        best = {}
        for name, run in runs.items():
            run()                          # compile / load
        for _ in range(args.repeats):     # interleaved
            for name, run in runs.items():
                t0 = time.thread_time()
                run()
                best[name] = min(best.get(name, math.inf), time.thread_time() - t0)
        print(f"{m:9d} {1e9 * best['tree'] / n:14.1f} {1e9 * best['branchy'] / n:15.1f} "
              f"{1e9 * best['cr'] / n:22.1f}")


if __name__ == "__main__":
    main()
