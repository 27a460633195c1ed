"""Where an event of the receptor network goes (issue 18): the 97-reaction
``reactions/examples/ampar_network.toml`` (t 0–2000 s, sampled every 10 s), CPU time per
event on one thread.

Two parts:

* ``simulate`` (default): ``ss.simulate`` of 20 trajectories per call, ``--repeats``
  calls (seeds 0, 1, …), CPU ns per event (``time.process_time``) and a SHA-256 of the
  counts, firings and event counts. Run it from two checkouts, interleaved, to compare
  them: equal hashes mean the same bits.
* ``--profile``: a replica of ``engine.ssa.simulate_trajectory``'s event for this network
  in one numba loop (agents replaced by their counts, which is all the propensities read;
  the same draws, choice and firings, so the same trajectories as the replica's other
  variants), timed per variant on the same seeds, in interleaved rounds. A piece's cost
  is measured by doing it twice (same dynamics) and subtracting. Variants:
  ``dirty`` the refresh before ``dependent_tables`` (a generic propensity per dependent,
  changed leaves' ancestors found and deduplicated at every event); ``dirty+refresh2``
  its refresh done twice (the second finds every leaf unchanged: the propensities'
  cost); ``dirty+select2`` the choice made twice; ``listed`` inner nodes listed per
  reaction (generic propensities); ``tables`` the engine's refresh now (propensities by
  form, listed nodes: ``engine.ssa._refresh_dependents``); ``tables+refresh2`` that refresh
  twice.

Usage::

    python benchmarks/bench_receptor_event.py [--repeats 5]
    python benchmarks/bench_receptor_event.py --profile [--repeats 5]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numba
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import stochsyn as ss  # noqa: E402
from stochsyn.engine.rng import double_words, exponential_words  # noqa: E402
from stochsyn.engine.ssa import propensity, tree_build, tree_select  # noqa: E402
from stochsyn.network import compile as compile_network  # noqa: E402

MODEL = REPO / "reactions/examples/ampar_network.toml"
TIMES = 10.0 * np.arange(201)


def simulate_part(repeats):
    model = ss.load_model(MODEL)
    ss.simulate(model, 2000.0, 2, seed=1, sample_times=TIMES, n_threads=1)
    per_event = []
    digest = hashlib.sha256()
    for seed in range(repeats):
        t0 = time.process_time()
        ens = ss.simulate(model, 2000.0, 20, seed=seed, sample_times=TIMES, n_threads=1)
        per_event.append(1e9 * (time.process_time() - t0) / ens.n_events.sum())
        for a in (ens.counts, ens.firings, ens.n_events):
            digest.update(np.ascontiguousarray(a).tobytes())
    print("ns/event", " ".join(f"{v:.1f}" for v in per_event),
          f"median {np.median(per_event):.1f}", "sha256", digest.hexdigest()[:16])


def make_replica(tables=False, listed=False, refresh_twice=False, select_twice=False):
    """The replica's event loop, one variant (flags are compile-time constants)."""
    @numba.njit
    def run(net, moves, dep_rows, dep_split, dep_nodes, t_end, state, every):
        n_reactions = len(net.rate)
        n_leaves = net.n_leaves[0]
        first_leaf = (n_leaves - 1) // 3
        x = net.x0.copy()
        rate = net.rate
        tree = np.zeros(first_leaf + n_leaves)
        dirty = np.zeros(dep_rows.shape[0] + 1, np.int64)
        for j in range(n_reactions):
            tree[first_leaf + j] = propensity(j, x, rate, net.rate_kind, net.reac_ptr,
                                              net.reac_idx, net.reac_order)
        tree_build(tree, n_leaves)
        s_hi, s_lo, inc_hi, inc_lo = state[0], state[1], state[2], state[3]
        t = 0.0
        n_events = 0
        k = 0
        check = 0
        while True:
            a0 = tree[0]
            e, s_hi, s_lo = exponential_words(s_hi, s_lo, inc_hi, inc_lo)
            t_next = t + e / a0
            if t_next > t_end:
                break
            while k * every < t_next:     # a sample
                check += x[0]
                k += 1
            t = t_next
            u, s_hi, s_lo = double_words(s_hi, s_lo, inc_hi, inc_lo)
            j = tree_select(tree, n_leaves, u * a0)
            if select_twice:
                j = tree_select(tree, n_leaves, u * a0 * 0.999999999) if j >= 0 else j
            for p in range(net.delta_ptr[j], net.delta_ptr[j + 1]):
                x[net.delta_idx[p]] += net.delta_val[p]
            if moves[j, 0] >= 0:
                x[moves[j, 0]] -= 1
                x[moves[j, 1]] += 1
            n_events += 1
            for _ in range(2 if refresh_twice else 1):
                if tables:
                    for p in range(dep_split[j, 0], dep_split[j, 1]):
                        n_a = x[dep_rows[p, 1]]
                        value = rate[dep_rows[p, 0]] * n_a
                        tree[first_leaf + dep_rows[p, 0]] = value if n_a >= 1 else 0.0
                    for p in range(dep_split[j, 1], dep_split[j, 2]):
                        n_a = x[dep_rows[p, 1]]
                        n_b = x[dep_rows[p, 2]]
                        value = (rate[dep_rows[p, 0]] * n_a) * n_b
                        tree[first_leaf + dep_rows[p, 0]] = (value if (n_a >= 1 and n_b >= 1)
                                                             else 0.0)
                    for p in range(dep_split[j, 2], dep_split[j, 3]):
                        r = dep_rows[p, 0]
                        tree[first_leaf + r] = propensity(r, x, rate, net.rate_kind,
                                                          net.reac_ptr, net.reac_idx,
                                                          net.reac_order)
                elif listed:
                    for p in range(net.dep_ptr[j], net.dep_ptr[j + 1]):
                        r = net.dep_idx[p]
                        tree[first_leaf + r] = propensity(r, x, rate, net.rate_kind,
                                                          net.reac_ptr, net.reac_idx,
                                                          net.reac_order)
                if tables or listed:
                    for q in range(dep_split[j, 4], dep_split[j, 5]):
                        i = dep_nodes[q]
                        c = 4 * i + 1
                        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]
                    continue
                n_dirty = 0      # the refresh before dependent_tables (f429a27)
                for p in range(net.dep_ptr[j], net.dep_ptr[j + 1]):
                    r = net.dep_idx[p]
                    leaf = first_leaf + r
                    value = propensity(r, x, rate, net.rate_kind, net.reac_ptr, net.reac_idx,
                                       net.reac_order)
                    if value == tree[leaf]:
                        continue
                    tree[leaf] = value
                    parent = (leaf - 1) >> 2
                    if n_dirty == 0 or dirty[n_dirty - 1] != parent:
                        dirty[n_dirty] = parent
                        n_dirty += 1
                while n_dirty > 0:
                    n_next = 0
                    for q in range(n_dirty):
                        i = dirty[q]
                        c = 4 * i + 1
                        tree[i] = ((tree[c] + tree[c + 1]) + tree[c + 2]) + tree[c + 3]
                        if i > 0:
                            parent = (i - 1) >> 2
                            if n_next == 0 or dirty[n_next - 1] != parent:
                                dirty[n_next] = parent
                                n_next += 1
                    n_dirty = n_next
        return n_events, check + x.sum()
    return run


def pcg_state(seed):
    s = np.random.PCG64(seed).state["state"]
    mask = 2**64 - 1
    return np.array([s["state"] >> 64, s["state"] & mask, s["inc"] >> 64, s["inc"] & mask],
                    np.uint64)


def profile_part(repeats):
    # (imported here: the simulate part also runs on checkouts from before it)
    from stochsyn.engine.ssa import dependent_tables
    net = compile_network(ss.load_model(MODEL)).arrays
    n_reactions = len(net.rate)
    moves = np.full((n_reactions, 2), -1, np.int64)   # receptor moves as count changes
    for j in range(n_reactions):
        for m in range(net.move_ptr[j], net.move_ptr[j + 1]):
            moves[j] = net.move_from[m], net.move_to[m]
    dep_rows, dep_split, dep_nodes = dependent_tables(net)
    variants = {"dirty": make_replica(), "dirty+refresh2": make_replica(refresh_twice=True),
                "dirty+select2": make_replica(select_twice=True),
                "listed": make_replica(listed=True), "tables": make_replica(tables=True),
                "tables+refresh2": make_replica(tables=True, refresh_twice=True)}
    args = (net, moves, dep_rows, dep_split, dep_nodes)
    outcome = {}
    for name, run in variants.items():          # compile; every variant the same events
        outcome[name] = [run(*args, 2000.0, pcg_state(seed), 10.0) for seed in range(3)]
    assert all(v == outcome["dirty"] for v in outcome.values()), outcome
    times = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            t0 = time.process_time()
            events = 0
            for seed in range(10):
                events += run(*args, 2000.0, pcg_state(seed), 10.0)[0]
            times[name].append(1e9 * (time.process_time() - t0) / events)
    for name, values in times.items():
        print(f"{name:16s} ns/event", " ".join(f"{v:.1f}" for v in values),
              f"median {np.median(values):.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    (profile_part if args.profile else simulate_part)(args.repeats)


if __name__ == "__main__":
    main()
