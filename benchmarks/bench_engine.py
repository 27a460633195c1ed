"""Engine speed, thread scaling and memory of stochsyn, with peers measured in the same run.

What is measured (always after a warm-up call, so numba compilation is excluded and
reported separately):

(a) immigration-death (0 -> X at 100 /s, X -> 0 at 1 /s, X(0) = 0, t = 0..1000 s, samples
    every 1 s): reaction events per second on 1 thread;
(b) the same on 2 threads, and the speed-up;
(c) the AMPA-receptor network ``reactions/examples/ampar_network.toml`` (97 reactions after
    expansion, 120 receptor agents; t = 0..2000 s, samples every 10 s): events/s on 1 and 2
    threads;
(d) DSMTS dimerisation 00030 (``reactions/examples/dimerisation.toml``; 2P -> P2 at
    c = 0.001, P2 -> 2P at 0.01, P(0) = 100): wall time of ``stochsyn.simulate`` for 1,000
    trajectories on the grid t = 0, 1, ..., 50 (best of >= 20 repeats; 1 and 2 threads);
(e) peak resident memory of this process after the stochsyn stages (getrusage), before
    any peer runs.

Events are the reaction firings the kernel counts (``Ensemble.n_events``); samples and
interventions are not events. Throughput = total events / wall time of the whole
``stochsyn.simulate`` call (network compilation, output allocation and the Ensemble object
included).

Peers, each optional (skipped with a message when the import fails), run on one core:

* a hand-written direct-method SSA in NumPy (every propensity recomputed with array
  operations at every step, ``rng.exponential`` for tau, ``searchsorted`` on ``cumsum`` for
  the choice), and the same in pure Python (lists, ``random``): what a researcher writes by
  hand. They count events exactly as stochsyn does, on the same grid. On the receptor
  network they simulate the same 97 reactions as a flat species network (no agent
  identities, i.e. less work than stochsyn does);
* GillesPy2 ``SSACSolver`` (C++, compiled with g++): same models, t_end, grid and number of
  trajectories (unless the budget below cuts them). It cannot report events, so its
  events/s is the number of events stochsyn counted for the same model and trajectory count
  (same distribution) divided by its wall time; the ratio is then exactly the ratio of wall
  times per trajectory;
* cayenne (``algorithm="direct"``, Cython), run in-process (``debug=True``, no process
  pool). It has no output grid (it stores every event), and its events are counted exactly
  from its event list.

Every peer run is kept under ``--peer-budget`` seconds (default 20) by limiting its number
of trajectories, and the peers' models are checked against stochsyn's by the ensemble mean
of one species at t_end (printed as "check").

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_engine.py            # full run, ~4 min
    PYTHONPATH=. python benchmarks/bench_engine.py --quick    # ~1 min smoke run
    PYTHONPATH=. python benchmarks/bench_engine.py --no-peers

Load from other processes distorts timings on a 2-core machine, so every stage also
reports the fraction of the machine's CPU time used by *other* processes while it ran
(from /proc/stat); stages above 10 % are marked ``LOADED``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

REPO = Path(__file__).resolve().parents[1]
try:
    import stochsyn as ss
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, str(REPO))
    import stochsyn as ss

TARGETS = {
    "imm_1t": 40e6,       # events/s, 1 thread
    "ampar_1t": 8e6,      # events/s, 1 thread
    "dim_ms": 10.0,       # ms for 1000 trajectories, after warm-up
    "speedup": 1.8,       # 2 threads / 1 thread
}
LOADED = 0.10


# --------------------------------------------------------------------------- models

def immigration_death_model():
    return ss.Model.from_dict({
        "model": {"name": "immigration_death"},
        "parameters": {"k_in": "100 /s", "k_out": "1 /s"},
        "species": {"X": 0},
        "reactions": [
            {"name": "immigration", "equation": "-> X", "rate": "k_in"},
            {"name": "death", "equation": "X ->", "rate": "k_out"},
        ],
    })


def flat_network(model):
    """The expanded reactions of ``model`` as a plain species network.

    Returns
    -------
    dict with x0 (S,), orders (M, S) reactant stoichiometry, change (M, S) net change,
    c (M,) stochastic constants (binomial convention), species labels.
    """
    n_s, n_r = model.n_species, len(model.reactions)
    orders = np.zeros((n_r, n_s), dtype=np.int64)
    change = np.zeros((n_r, n_s), dtype=np.int64)
    for j, r in enumerate(model.reactions):
        if r.neighbour is not None:
            raise ValueError("neighbour rules have no flat-network equivalent")
        for s, n in r.reactants:
            orders[j, s] += n
            change[j, s] -= n
        for s, n in r.products:
            change[j, s] += n
    return {"x0": np.array(model.x0, dtype=np.int64), "orders": orders, "change": change,
            "c": np.array([r.rate for r in model.reactions]), "species": model.species}


# --------------------------------------------------------------------------- load meter

def _busy_jiffies():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle


class Meter:
    """Wall time of a block and the share of the machine other processes used meanwhile."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        self.b0 = _busy_jiffies()
        self.c0 = os.times()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.t0
        c1 = os.times()
        own = sum(c1[:4]) - sum(self.c0[:4])       # user+sys of self and waited children
        tick = os.sysconf("SC_CLK_TCK")
        busy = (_busy_jiffies() - self.b0) / tick
        ncpu = os.cpu_count() or 1
        self.other = max(0.0, busy - own) / (ncpu * self.wall) if self.wall > 0.05 else 0.0
        return False


# --------------------------------------------------------------------------- stochsyn

def run_stochsyn(model, t_end, n, threads, seed, **grid):
    with Meter() as m:
        ens = ss.simulate(model, t_end, n, seed=seed, n_threads=threads, **grid)
    assert np.all(ens.status == 0), "trajectories stopped early"
    return ens, m


def throughput(model, t_end, n, threads, repeats, seed, grid):
    """Best and median events/s over ``repeats`` runs (same seed: identical work)."""
    rates, walls, others = [], [], []
    ens = None
    for _ in range(repeats):
        ens, m = run_stochsyn(model, t_end, n, threads, seed, **grid)
        rates.append(ens.n_events.sum() / m.wall)
        walls.append(m.wall)
        others.append(m.other)
    return {"n_traj": n, "t_end": t_end, "threads": threads,
            "events": int(ens.n_events.sum()), "events_per_traj": float(ens.n_events.mean()),
            "best": max(rates), "median": float(np.median(rates)), "all": rates,
            "wall_best": min(walls), "other_load": max(others), "ens": ens}


def dimerisation_timing(model, n, times, threads, repeats, seed):
    walls = []
    ens = None
    with Meter() as total:      # the load over all repeats (one is too short to meter)
        for r in range(repeats):
            ens, m = run_stochsyn(model, float(times[-1]), n, threads, seed + r,
                                  sample_times=times)
            walls.append(m.wall)
    return {"threads": threads, "n_traj": n, "best_ms": 1e3 * min(walls),
            "median_ms": 1e3 * float(np.median(walls)), "other_load": total.other,
            "events_per_traj": float(ens.n_events.mean()), "ens": ens}


def kernel_only_dimerisation(model, n, times, threads, repeats):
    """The compiled batch kernel alone (no network compile, no Ensemble) - for diagnosis."""
    from stochsyn.engine import run_batch
    from stochsyn.engine.rng import entropy_words
    net = ss.compile(model)
    a = net.arrays
    s = net.n_species
    counts = np.empty((n, len(times), s), np.int64)
    firings = np.empty((n, net.n_reactions), np.int64)
    status = np.empty(n, np.int64)
    res = np.zeros((n, 4))
    buf = (np.empty((n, 0)),) + tuple(np.empty((n, 0), np.int64) for _ in range(4))
    idx = np.arange(s, dtype=np.int64)
    traj = np.arange(n, dtype=np.int64)
    walls = []
    for r in range(repeats):
        t0 = time.perf_counter()
        run_batch(a, entropy_words(r), traj, times, float(times[-1]), 10**9, idx, counts,
                  firings, *buf, status, res, n_threads=threads)
        walls.append(time.perf_counter() - t0)
    return 1e3 * min(walls)


# --------------------------------------------------------------------------- peers: by hand

def handwritten_numpy_ssa(net, t_end, times, rng):
    """Gillespie's direct method as it is usually written with NumPy.

    Every propensity is recomputed from the state at every step (binomial convention:
    c * x for order 1, c * x (x - 1) / 2 for order 2).
    """
    x = net["x0"].copy()
    orders, change, c = net["orders"], net["change"], net["c"]
    out = np.empty((len(times), len(x)), dtype=np.int64)
    t, k, n_events = 0.0, 0, 0
    while True:
        h = np.where(orders == 1, x, np.where(orders == 2, x * (x - 1) / 2, 1.0))
        a = c * h.prod(axis=1)
        a0 = a.sum()
        t_next = t + rng.exponential(1.0 / a0) if a0 > 0 else math.inf
        while k < len(times) and times[k] < t_next:
            out[k] = x
            k += 1
        if t_next > t_end:
            break
        j = np.searchsorted(np.cumsum(a), rng.random() * a0, side="right")
        x += change[j]
        t = t_next
        n_events += 1
    return out, n_events


def handwritten_python_ssa(net, t_end, times, rng):
    """The same in pure Python (lists, ``random``), also recomputing every propensity."""
    x = [int(v) for v in net["x0"]]
    reactants = [[(s, int(o)) for s, o in enumerate(row) if o] for row in net["orders"]]
    changes = [[(s, int(d)) for s, d in enumerate(row) if d] for row in net["change"]]
    c = [float(v) for v in net["c"]]
    out = []
    n_times = len(times)
    times = [float(v) for v in times]
    t, k, n_events = 0.0, 0, 0
    m = len(c)
    a = [0.0] * m
    while True:
        a0 = 0.0
        for j in range(m):
            p = c[j]
            for s, o in reactants[j]:
                p *= x[s] if o == 1 else x[s] * (x[s] - 1) / 2
            a[j] = p
            a0 += p
        t_next = t + rng.expovariate(a0) if a0 > 0 else math.inf
        while k < n_times and times[k] < t_next:
            out.append(list(x))
            k += 1
        if t_next > t_end:
            break
        u = rng.random() * a0
        j = 0
        acc = a[0]
        while acc <= u and j < m - 1:
            j += 1
            acc += a[j]
        for s, d in changes[j]:
            x[s] += d
        t = t_next
        n_events += 1
    return np.array(out), n_events


def run_handwritten(kind, net, t_end, times, n_max, budget, seed):
    """Trajectories until ``n_max`` or ``budget`` seconds; returns events/s and the mean of
    species 0 at t_end."""
    finals, events = [], 0
    with Meter() as m:
        t0 = time.perf_counter()
        for i in range(n_max):
            if kind == "numpy":
                out, ne = handwritten_numpy_ssa(net, t_end, times,
                                                np.random.default_rng([seed, i]))
            else:
                out, ne = handwritten_python_ssa(net, t_end, times, random.Random(seed * 7919 + i))
            finals.append(out[-1])
            events += ne
            if time.perf_counter() - t0 > budget:
                break
    n = len(finals)
    return {"n_traj": n, "events": events, "wall": m.wall, "rate": events / m.wall,
            "per_traj_ms": 1e3 * m.wall / n, "final_mean": np.mean(finals, axis=0),
            "other_load": m.other}


# --------------------------------------------------------------------------- peers: GillesPy2

def gillespy2_model(gillespy2, net, times, name):
    model = gillespy2.Model(name=name)          # volume 1
    names = [f"s{i}" for i in range(len(net["x0"]))]
    for s, n in zip(names, net["x0"]):
        model.add_species(gillespy2.Species(name=s, initial_value=int(n), mode="discrete"))
    for j in range(len(net["c"])):
        orders = net["orders"][j]
        reactants = {names[s]: int(o) for s, o in enumerate(orders) if o}
        products = {}
        for s in range(len(names)):
            p = int(orders[s] + net["change"][j, s])
            if p:
                products[names[s]] = p
        # GillesPy2's mass action for 2X has propensity k X (X - 1) (no 1/2): halve k.
        rate = net["c"][j] / (2.0 if 2 in orders else 1.0)
        param = gillespy2.Parameter(name=f"k{j}", expression=repr(float(rate)))
        model.add_parameter(param)
        model.add_reaction(gillespy2.Reaction(name=f"r{j}", reactants=reactants,
                                              products=products, rate=param))
    model.timespan(gillespy2.TimeSpan(np.asarray(times, dtype=float)))
    return model


def run_gillespy2(gillespy2, net, times, n, repeats, seed, name):
    model = gillespy2_model(gillespy2, net, times, name)
    t0 = time.perf_counter()
    solver = gillespy2.SSACSolver(model=model)
    solver.run(number_of_trajectories=1, seed=seed)       # build + first run
    build = time.perf_counter() - t0
    walls, other = [], 0.0
    results = None
    for r in range(repeats):
        with Meter() as m:
            results = solver.run(number_of_trajectories=n, seed=seed + 1 + r)
        walls.append(m.wall)
        other = max(other, m.other)
    final = np.mean([[traj[s][-1] for s in ("s0",)] for traj in results], axis=0)
    return {"n_traj": n, "build_s": build, "wall": min(walls), "walls": walls,
            "per_traj_ms": 1e3 * min(walls) / n, "final_mean": final, "other_load": other}


# --------------------------------------------------------------------------- peers: cayenne

def cayenne_model_string(net):
    lines = ["const compartment comp1;", "comp1 = 1.0;"]
    names = [f"s{i}" for i in range(len(net["x0"]))]
    for j in range(len(net["c"])):
        orders = net["orders"][j]
        left = " + ".join((f"{o} " if o > 1 else "") + names[s]
                          for s, o in enumerate(orders) if o)
        right = " + ".join((f"{p} " if p > 1 else "") + names[s]
                           for s in range(len(names))
                           for p in [int(orders[s] + net["change"][j, s])] if p)
        lines.append(f"r{j}: {left} => {right}; k{j};")
    for j, c in enumerate(net["c"]):
        # cayenne (chem_flag false, volume 1): k_stoc = 2 k for a 2X reaction, and its
        # propensity is k_stoc X (X - 1) / 2; so k = c / 2 gives c X (X - 1) / 2.
        k = c / (2.0 if 2 in net["orders"][j] else 1.0)
        lines.append(f"k{j} = {float(k)!r};")
    for s, n in zip(names, net["x0"]):
        lines.append(f"{s} = {int(n)};")
    lines.append("chem_flag = false;")
    return "\n".join(lines)


def run_cayenne(Simulation, net, t_end, n_max, budget, seed, max_iter, repeats=1):
    text = cayenne_model_string(net)
    sim = Simulation.load_model(text, "ModelString")
    sim.simulate(max_t=min(t_end, 1.0), max_iter=max_iter, n_rep=1, seed=seed,
                 algorithm="direct", debug=True)                      # warm-up
    # How many trajectories fit the budget: time one, then scale.
    with Meter() as probe:
        sim.simulate(max_t=t_end, max_iter=max_iter, n_rep=1, seed=seed, algorithm="direct",
                     debug=True)
    n = int(max(1, min(n_max, budget / max(probe.wall, 1e-6))))
    best = None
    for r in range(repeats):
        with Meter() as m:
            sim.simulate(max_t=t_end, max_iter=max_iter, n_rep=n, seed=seed + 1 + r,
                         algorithm="direct", debug=True)
        if best is None or m.wall < best[0].wall:
            res = sim.results
            # cayenne orders species by its own reading of the model: put them back.
            order = [list(res.species_names).index(f"s{i}") for i in range(len(net["x0"]))]
            best = (m, [len(t) - 1 for t in res.t_list], [x[-1][order] for x in res.x_list],
                    list(res.status_list))
    m, events, finals, status = best
    if any(s not in (2, 3) for s in status):
        raise RuntimeError(f"cayenne status {set(status)} (1 = max_iter reached)")
    return {"n_traj": n, "events": int(sum(events)), "wall": m.wall,
            "rate": sum(events) / m.wall, "per_traj_ms": 1e3 * m.wall / n,
            "final_mean": np.mean(finals, axis=0), "other_load": m.other}


# --------------------------------------------------------------------------- report

def _status_mb(key):
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def fmt_rate(v):
    return f"{v / 1e6:.2f} M/s"


def machine_info():
    info = {"nproc": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "numba": numba.__version__, "stochsyn": ss.__version__,
            "platform": platform.platform()}
    try:
        import llvmlite
        info["llvmlite"] = llvmlite.__version__
    except ImportError:
        pass
    try:
        git = ["git", "-C", str(REPO)]
        info["commit"] = subprocess.run(git + ["rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "stochsyn"],
                               capture_output=True, text=True).stdout.strip()
        info["stochsyn_tree"] = "modified" if dirty else "clean"
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return info


def verdict(value, target, higher_is_better=True):
    ok = value >= target if higher_is_better else value <= target
    return "PASS" if ok else "MISS"


def load_mark(other):
    return f"{100 * other:4.0f}%" + (" LOADED" if other > LOADED else "")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short run (smaller ensembles, fewer repeats) for a smoke test")
    parser.add_argument("--no-peers", action="store_true", help="skip every peer")
    parser.add_argument("--peers", default="handwritten,gillespy2,cayenne",
                        help="comma-separated peers to run (default: all)")
    parser.add_argument("--peer-budget", type=float, default=20.0,
                        help="seconds allowed per peer measurement (default 20)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="repeats of each throughput run; the best is reported")
    parser.add_argument("--dim-repeats", type=int, default=30,
                        help="repeats of the dimerisation timing (>= 20 for the target)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    quick = args.quick
    repeats = 1 if quick else args.repeats
    dim_repeats = 5 if quick else max(20, args.dim_repeats)
    n_imm = 64 if quick else 800
    n_ampar = 48 if quick else 400
    t_ampar = 1000.0 if quick else 2000.0
    budget = min(args.peer_budget, 5.0) if quick else args.peer_budget
    peers = set() if args.no_peers else {p.strip() for p in args.peers.split(",") if p.strip()}

    started = time.perf_counter()
    info = machine_info()
    print("stochsyn engine benchmark", time.strftime("%Y-%m-%d %H:%M:%S"))
    print("command:", " ".join([Path(sys.executable).name] + sys.argv))
    print("machine:", json.dumps(info))
    print("loadavg at start:", open("/proc/loadavg").read().split()[:3])

    imm = immigration_death_model()
    ampar = ss.load_model(REPO / "reactions/examples/ampar_network.toml")
    dim = ss.load_model(REPO / "reactions/examples/dimerisation.toml")
    dim_times = np.linspace(0.0, 50.0, 51)
    imm_grid = {"sample_every": 1.0}
    ampar_grid = {"sample_every": 10.0}
    print(f"receptor network: {len(ampar.reactions)} reactions, {ampar.n_species} species "
          f"(agent states included), {sum(ampar.agent_types[0].initial)} receptor agents")

    # Warm-up: the first call loads (or compiles) the numba kernels.
    t0 = time.perf_counter()
    ss.simulate(imm, 1.0, 2, seed=1, n_threads=1)
    warmup_first = time.perf_counter() - t0
    for model in (imm, ampar, dim):
        for threads in (1, 2):
            ss.simulate(model, 5.0, 4, seed=1, n_threads=threads)
    rss_warm_mb = _status_mb("VmRSS")
    print(f"warm-up: first simulate() call {warmup_first:.2f} s (kernel load/compile); "
          f"RSS after imports and warm-up {rss_warm_mb:.0f} MB")
    print("parallelism: Python threads over the nogil kernel (stochsyn.engine.batch), "
          f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")

    fig = {"machine": info, "quick": quick, "warmup_first_call_s": warmup_first,
           "threading": "python threads, nogil kernel"}

    print("\n== stochsyn ==")
    r = {}
    for key, model, t_end, n, grid in (("imm", imm, 1000.0, n_imm, imm_grid),
                                       ("ampar", ampar, t_ampar, n_ampar, ampar_grid)):
        for threads in (1, 2):
            res = throughput(model, t_end, n, threads, repeats, args.seed, grid)
            r[f"{key}_{threads}t"] = res
            print(f"{key:6s} {threads} thread(s): {n} traj x {t_end:g} s, "
                  f"{res['events_per_traj']:.0f} events/traj, best {fmt_rate(res['best'])} "
                  f"(median {fmt_rate(res['median'])}), wall {res['wall_best']:.2f} s, "
                  f"other load {load_mark(res['other_load'])}")
    for threads in (1, 2):
        res = dimerisation_timing(dim, 1000, dim_times, threads, dim_repeats, args.seed)
        res["kernel_ms"] = kernel_only_dimerisation(dim, 1000, dim_times, threads, dim_repeats)
        r[f"dim_{threads}t"] = res
        print(f"dimer  {threads} thread(s): 1000 traj, best {res['best_ms']:.2f} ms "
              f"(median {res['median_ms']:.2f} ms; kernel alone {res['kernel_ms']:.2f} ms), "
              f"{res['events_per_traj']:.1f} events/traj, other load "
              f"{load_mark(res['other_load'])}")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # = VmHWM
    counts_mb = {k: r[k]["ens"].counts.nbytes / 2**20 for k in ("imm_1t", "ampar_1t", "dim_1t")}
    print(f"peak RSS after stochsyn stages: {peak_rss_mb:.0f} MB, of which "
          f"{rss_warm_mb:.0f} MB imports and warm-up (result count arrays: "
          + ", ".join(f"{k} {v:.1f} MB" for k, v in counts_mb.items()) + ")")

    # ---------------------------------------------------------------- peers
    peer_rows = []      # (label, stochsyn value, peer value, ratio, how)
    fig["peers"] = {}
    imm_net, dim_net, ampar_net = flat_network(imm), flat_network(dim), flat_network(ampar)
    imm_times = np.arange(0.0, 1000.0 + 0.5, 1.0)
    ampar_times = np.arange(0.0, t_ampar + 5.0, 10.0)
    s_imm, s_ampar = r["imm_1t"], r["ampar_1t"]
    s_dim = r["dim_1t"]
    ref_final = {
        "imm": s_imm["ens"].counts[:, -1, 0].mean(),
        "dim": s_dim["ens"].counts[:, -1, 0].mean(),
        "ampar": s_ampar["ens"].counts[:, -1, 0].mean(),
    }

    def add_throughput_row(label, stoch, peer, how):
        peer_rows.append((label, fmt_rate(stoch["best"]), fmt_rate(peer["rate"]),
                          stoch["best"] / peer["rate"], how, peer))

    def record_throughput_peer(prefix, key, peer, stoch, label, how, fig_key):
        """Print a peer's throughput with its model check, add its row, keep its figures."""
        print(f"{prefix} {key:6s}: {peer['n_traj']} traj, {fmt_rate(peer['rate'])}, check "
              f"mean s0(t_end) {peer['final_mean'][0]:.1f} vs stochsyn "
              f"{ref_final[key]:.1f}, other load {load_mark(peer['other_load'])}")
        add_throughput_row(label, stoch, peer, how)
        fig["peers"][fig_key] = {k: v for k, v in peer.items() if k != "final_mean"}

    if "handwritten" in peers:
        print("\n== peer: hand-written direct method (NumPy / pure Python) ==")
        for kind in ("numpy", "python"):
            for key, net, t_end, times, stoch in (("imm", imm_net, 1000.0, imm_times, s_imm),
                                                  ("ampar", ampar_net, t_ampar, ampar_times,
                                                   s_ampar)):
                p = run_handwritten(kind, net, t_end, times, stoch["n_traj"], budget,
                                    args.seed)
                record_throughput_peer(f"{kind:6s}", key, p, stoch,
                                       f"{key} events/s, hand-written {kind}",
                                       "events counted, same grid", f"hand_{kind}_{key}")
            p = run_handwritten(kind, dim_net, 50.0, dim_times, 1000, budget, args.seed)
            scale = 1000 / p["n_traj"]
            print(f"{kind:6s} dimer : {p['n_traj']} traj in {p['wall']:.2f} s "
                  f"({p['per_traj_ms']:.3f} ms/traj), check mean P(50) "
                  f"{p['final_mean'][0]:.2f} vs stochsyn {ref_final['dim']:.2f}")
            peer_rows.append((f"dimer 1000 traj, hand-written {kind}",
                              f"{s_dim['best_ms']:.2f} ms", f"{1e3 * p['wall'] * scale:.1f} ms",
                              1e3 * p["wall"] * scale / s_dim["best_ms"],
                              "wall time (peer ÷ stochsyn)", p))
            fig["peers"][f"hand_{kind}_dim"] = {k: v for k, v in p.items()
                                                if k != "final_mean"}

    if "gillespy2" in peers:
        print("\n== peer: GillesPy2 SSACSolver (C++) ==")
        # GillesPy2 builds its solver with a `scons` found on PATH (else with the resolved
        # base interpreter, which in a venv lacks SCons): put this interpreter's bin first.
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
        try:
            import gillespy2
            import logging
            logging.getLogger("GillesPy2").setLevel(logging.ERROR)
        except ImportError as exc:
            print(f"skipped: gillespy2 not importable ({exc}); pip install -r "
                  "benchmarks/requirements.txt")
        else:
            fig["gillespy2_version"] = gillespy2.__version__
            # Trajectory count for a budget: a small timed run first.
            for key, net, times, stoch, how in (
                    ("imm", imm_net, imm_times, s_imm, "wall/traj; events = stochsyn's"),
                    ("ampar", ampar_net, ampar_times, s_ampar,
                     "wall/traj; events = stochsyn's")):
                probe = run_gillespy2(gillespy2, net, times, 4, 1, args.seed, f"{key}probe")
                n = int(max(2, min(stoch["n_traj"], budget / (probe["per_traj_ms"] / 1e3))))
                p = run_gillespy2(gillespy2, net, times, n, 1 if quick else 2, args.seed, key)
                p["rate"] = stoch["events_per_traj"] * p["n_traj"] / p["wall"]
                print(f"gillespy2 {key:6s}: build {probe['build_s']:.1f} s, {n} traj in "
                      f"{p['wall']:.2f} s ({p['per_traj_ms']:.2f} ms/traj) ~ "
                      f"{fmt_rate(p['rate'])}, check mean s0(t_end) {p['final_mean'][0]:.1f} "
                      f"vs stochsyn {ref_final[key]:.1f}, other load "
                      f"{load_mark(p['other_load'])}")
                add_throughput_row(f"{key} events/s, GillesPy2 SSACSolver", stoch, p, how)
                fig["peers"][f"gillespy2_{key}"] = {k: v for k, v in p.items()
                                                    if k != "final_mean"}
            p = run_gillespy2(gillespy2, dim_net, dim_times, 1000, 3 if quick else 10,
                              args.seed, "dimer")
            print(f"gillespy2 dimer : build {p['build_s']:.1f} s, 1000 traj best "
                  f"{1e3 * p['wall']:.1f} ms (median {1e3 * np.median(p['walls']):.1f} ms), "
                  f"check mean P(50) {p['final_mean'][0]:.2f} vs stochsyn "
                  f"{ref_final['dim']:.2f}")
            peer_rows.append(("dimer 1000 traj, GillesPy2 SSACSolver",
                              f"{s_dim['best_ms']:.2f} ms", f"{1e3 * p['wall']:.1f} ms",
                              1e3 * p["wall"] / s_dim["best_ms"],
                              "wall time (peer ÷ stochsyn)", p))
            fig["peers"]["gillespy2_dim"] = {k: v for k, v in p.items() if k != "final_mean"}

    if "cayenne" in peers:
        print("\n== peer: cayenne direct (Cython) ==")
        try:
            if not hasattr(np, "int"):
                # cayenne 1.0.3 (2020) uses the alias np.int, removed in NumPy 1.24; it is
                # only used to allocate small index arrays while reading the model.
                np.int = int
            import cayenne
            from cayenne.simulation import Simulation
        except ImportError as exc:
            print(f"skipped: cayenne not importable ({exc}); see benchmarks/requirements.txt")
        else:
            fig["cayenne_version"] = getattr(cayenne, "__version__", "?")
            for key, net, t_end, stoch, max_iter in (
                    ("imm", imm_net, 1000.0, s_imm, 400_000),
                    ("ampar", ampar_net, t_ampar, s_ampar,
                     int(4 * s_ampar["events_per_traj"]) + 1000)):
                p = run_cayenne(Simulation, net, t_end, stoch["n_traj"], budget, args.seed,
                                max_iter)
                record_throughput_peer("cayenne", key, p, stoch,
                                       f"{key} events/s, cayenne direct",
                                       "events counted; every event stored, no grid",
                                       f"cayenne_{key}")
            p = run_cayenne(Simulation, dim_net, 50.0, 1000, budget, args.seed, 10_000,
                            repeats=3 if quick else 10)
            scale = 1000 / p["n_traj"]
            print(f"cayenne dimer : {p['n_traj']} traj best {1e3 * p['wall']:.1f} ms, check "
                  f"mean P(50) {p['final_mean'][0]:.2f} vs stochsyn {ref_final['dim']:.2f}")
            peer_rows.append(("dimer 1000 traj, cayenne direct", f"{s_dim['best_ms']:.2f} ms",
                              f"{1e3 * p['wall'] * scale:.1f} ms",
                              1e3 * p["wall"] * scale / s_dim["best_ms"],
                              "wall time (peer ÷ stochsyn); no grid", p))
            fig["peers"]["cayenne_dim"] = {k: v for k, v in p.items() if k != "final_mean"}

    # ---------------------------------------------------------------- tables
    speed = {k: r[f"{k}_2t"]["best"] / r[f"{k}_1t"]["best"] for k in ("imm", "ampar")}
    speed["dim"] = r["dim_1t"]["best_ms"] / r["dim_2t"]["best_ms"]
    rows = [
        ("(a) immigration-death, 1 thread", fmt_rate(r["imm_1t"]["best"]),
         ">= 40 M/s", verdict(r["imm_1t"]["best"], TARGETS["imm_1t"]),
         r["imm_1t"]["other_load"]),
        ("(b) immigration-death, 2 threads", fmt_rate(r["imm_2t"]["best"]), "", "",
         r["imm_2t"]["other_load"]),
        ("(b) speed-up 2/1 threads, imm.-death", f"{speed['imm']:.2f}x", ">= 1.8x",
         verdict(speed["imm"], TARGETS["speedup"]), None),
        (f"(c) receptor network ({len(ampar.reactions)} rx), 1 thread",
         fmt_rate(r["ampar_1t"]["best"]), ">= 8 M/s",
         verdict(r["ampar_1t"]["best"], TARGETS["ampar_1t"]), r["ampar_1t"]["other_load"]),
        ("(c) receptor network, 2 threads", fmt_rate(r["ampar_2t"]["best"]), "", "",
         r["ampar_2t"]["other_load"]),
        ("(c) speed-up 2/1 threads, receptor", f"{speed['ampar']:.2f}x", ">= 1.8x",
         verdict(speed["ampar"], TARGETS["speedup"]), None),
        ("(d) dimerisation 1000 traj, 1 thread", f"{r['dim_1t']['best_ms']:.2f} ms",
         "<= 10 ms", verdict(r["dim_1t"]["best_ms"], TARGETS["dim_ms"], False),
         r["dim_1t"]["other_load"]),
        ("(d) dimerisation 1000 traj, 2 threads", f"{r['dim_2t']['best_ms']:.2f} ms",
         "<= 10 ms", verdict(r["dim_2t"]["best_ms"], TARGETS["dim_ms"], False),
         r["dim_2t"]["other_load"]),
        ("(d) speed-up 2/1 threads, dimerisation", f"{speed['dim']:.2f}x", "(>= 1.8x)",
         verdict(speed["dim"], TARGETS["speedup"]), None),
        ("(e) peak RSS after stochsyn stages", f"{peak_rss_mb:.0f} MB", "", "", None),
        ("(e) RSS after imports and warm-up", f"{rss_warm_mb:.0f} MB", "", "", None),
    ]
    print("\n== targets ==")
    print(f"{'figure':44s} {'value':>12s}  {'target':>10s}  verdict  other load")
    for name, value, target, v, other in rows:
        print(f"{name:44s} {value:>12s}  {target:>10s}  {v:7s}  "
              f"{load_mark(other) if other is not None else ''}")
    if peer_rows:
        print("\n== peers (stochsyn on 1 thread; ratio = how many times faster stochsyn is) ==")
        print(f"{'comparison':48s} {'stochsyn':>11s} {'peer':>11s} {'ratio':>9s}  "
              f"{'peer traj':>9s}  how")
        for label, sv, pv, ratio, how, p in peer_rows:
            print(f"{label:48s} {sv:>11s} {pv:>11s} {ratio:8.1f}x  {p['n_traj']:>9d}  {how}")
    print("\nloadavg at end:", open("/proc/loadavg").read().split()[:3],
          f"; total run time {time.perf_counter() - started:.0f} s")

    if args.json:
        def clean(res):
            return {k: v for k, v in res.items() if k != "ens"}
        fig.update({"stochsyn": {k: clean(v) for k, v in r.items()}, "speedup": speed,
                    "peak_rss_mb": peak_rss_mb, "rss_warm_mb": rss_warm_mb,
                    "peer_rows": [(a, b, c, d, e) for a, b, c, d, e, _ in peer_rows]})
        args.json.write_text(json.dumps(fig, indent=1, default=float))


if __name__ == "__main__":
    main()
