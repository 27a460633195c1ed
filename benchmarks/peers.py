"""stochsyn against rebop, libroadrunner, GillesPy2 (C++) and COPASI (basico) in one run.

Every engine runs the same models with the same constants, in interleaved rounds (each
round measures every engine on every workload, in an order that rotates from round to
round), so a slow minute of a shared machine hits all of them alike. Each figure is a
*paired* ratio: stochsyn against the peer within the same round; the report gives the
median over the rounds and their range. stochsyn always runs through its public API
(``stochsyn.simulate``: network lookup, output allocation and the ``Ensemble``
included) on one thread, except in the thread-scaling workload.

Workloads (the models of issue 18):

* **imm** — immigration–death, 0 -> X at 100 /s, X -> 0 at 1 /s, X(0) = 0, t = 0..1000 s,
  sampled every 1 s (~2·10⁵ events per trajectory): events per second on one core;
* **receptor** — ``reactions/examples/ampar_network.toml``, 97 reactions after expansion
  (30 species counting receptor states), t = 0..2000 s, sampled every 10 s: events per
  second. Peers get the 97 expanded reactions as a flat network (no receptor identities:
  less work than stochsyn's agents);
* **dim1** — DSMTS 003-01 dimerisation (2P -> P2 at c = 0.001, P2 -> 2P at 0.01, P(0) =
  100) on the grid t = 0, 1, …, 50: wall time of one call that returns one trajectory
  (median of calls made back to back, each timed by ``time.perf_counter`` alone);
* **dim1000** — the same, 1,000 trajectories per call;
* **threads** — stochsyn alone: 2 threads against 1 on 16 immigration–death trajectories
  and on 1,000 dimerisation trajectories;
* **start** — a fresh process to one dimerisation trajectory: ``stochsyn run`` (numba's
  kernel cache warm) against ``import roadrunner`` + load + simulate.

Peers do not count events: a peer's events/s is stochsyn's mean events per trajectory on
the same model (the same distribution) times its trajectories over its wall time, so the
ratio is exactly the ratio of time per trajectory.

**Conventions for 2A.** A binomial propensity ``c·P(P−1)/2`` (stochsyn, SBML's DSMTS
model) is written as ``k·P(P−1)`` with ``k = c/2`` for rebop and GillesPy2 (measured for
rebop: the waiting time of 2A -> B from A = 2 has mean 1/(2k)) and for COPASI's built-in
"Mass action" kinetics, which COPASI's stochastic methods evaluate on particle numbers.
COPASI is *not* given the explicit SBML rate law ``c·P·(P−1)/2``: its stochastic methods
evaluate a general rate law on concentrations, which biases the dimerisation. libroadrunner
reads ``Model.to_sbml``'s explicit propensities (species in amounts), which its Gillespie
integrator uses as they are.

**Checks.** Every engine's ensemble mean is compared with the exact answer: X(1000) of
immigration–death is Poisson(100), P(50) of the dimerisation has the DSMTS mean and SD; the
receptor network has no closed form, so a peer's mean PSD-receptor count is compared with
stochsyn's (two-sample Z). |Z| > 4 is flagged ``CHECK FAILED`` (a wrong convention moves
these by tens of standard errors).

Usage (from the repository root; peers: ``pip install -r benchmarks/requirements-peers.txt``)::

    python benchmarks/peers.py                 # 5 rounds, ~6 min
    python benchmarks/peers.py --rounds 2 --quick
    python benchmarks/peers.py --peers rebop,roadrunner --json /tmp/peers.json

A peer that cannot be imported is skipped with the reason. Load from other processes
distorts everything on a 2-core machine: each round prints the share of the machine other
processes used (from /proc/stat).
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
try:
    import stochsyn as ss
except ImportError:     # run from a checkout without an install
    sys.path.insert(0, str(REPO))
    import stochsyn as ss

from bench_engine import Meter, flat_network, load_mark  # noqa: E402

ALL_PEERS = ("rebop", "roadrunner", "gillespy2", "copasi")
IMM = {"k_in": 100.0, "k_out": 1.0, "t_end": 1000.0, "every": 1.0}
DIM_T = np.linspace(0.0, 50.0, 51)
DIM_EXACT = (28.542298, 4.789331)          # DSMTS 003-01, P(50): mean, SD
RECEPTOR_T_END = 2000.0
RECEPTOR_EVERY = 10.0


# --------------------------------------------------------------------------- models

def immigration_death_model():
    return ss.Model.from_dict({
        "model": {"name": "immigration_death"},
        "parameters": {"k_in": f"{IMM['k_in']} /s", "k_out": f"{IMM['k_out']} /s"},
        "species": {"X": 0},
        "reactions": [{"name": "immigration", "equation": "-> X", "rate": "k_in"},
                      {"name": "death", "equation": "X ->", "rate": "k_out"}]})


def grid(t_end, every):
    return every * np.arange(int(round(t_end / every)) + 1, dtype=float)


class Workload:
    """A model for every engine: the stochsyn Model, its flat network, its SBML file,
    the grid, and which species the check reads."""

    def __init__(self, name, model, times, check_species, sbml_dir):
        self.name = name
        self.model = model
        self.net = flat_network(model)
        self.times = times
        self.check = model.species.index(check_species)
        self.sbml = Path(sbml_dir) / f"{name}.xml"
        model.to_sbml(self.sbml)


def halved(net, j):
    """The rate constant k of reaction j for an engine with ``k·A(A−1)`` for 2A."""
    return float(net["c"][j]) / (2.0 if 2 in net["orders"][j] else 1.0)


# --------------------------------------------------------------------------- engines
# Each engine: prepare(workload) (not timed: building, compiling) and
# run(workload, n, seed) -> (n,) values of the checked species at t_end.

class Stochsyn:
    name = "stochsyn"

    def prepare(self, w):
        ss.simulate(w.model, float(w.times[-1]), 2, seed=1, sample_times=w.times, n_threads=1)

    def run(self, w, n, seed, threads=1):
        ens = ss.simulate(w.model, float(w.times[-1]), n, seed=seed, sample_times=w.times,
                          n_threads=threads)
        self.last_events = ens.n_events
        return ens.counts[:, -1, w.check].astype(float)


class Rebop:
    name = "rebop"

    def __init__(self):
        import rebop
        self.rebop = rebop
        self.systems = {}

    def prepare(self, w):
        system = self.rebop.Gillespie()
        net = w.net
        for j in range(len(net["c"])):
            reactants = [f"s{s}" for s, o in enumerate(net["orders"][j]) for _ in range(o)]
            products = [f"s{s}" for s in range(len(net["x0"]))
                        for _ in range(int(net["orders"][j, s] + net["change"][j, s]))]
            system.add_reaction(halved(net, j), reactants, products)
        self.systems[w.name] = (system, {f"s{s}": int(v) for s, v in enumerate(net["x0"])})
        self.run(w, 1, 0)

    def run(self, w, n, seed, threads=1):
        system, init = self.systems[w.name]
        t_end, steps = float(w.times[-1]), len(w.times) - 1
        key = f"s{w.check}"
        return np.array([float(system.run(init, tmax=t_end, nb_steps=steps,
                                          rng=seed * 100_003 + i)[key][-1])
                         for i in range(n)])


class RoadRunner:
    name = "roadrunner"

    def __init__(self):
        import roadrunner
        self.roadrunner = roadrunner
        self.runners = {}

    def prepare(self, w):
        rr = self.roadrunner.RoadRunner(str(w.sbml))
        rr.setIntegrator("gillespie")
        rr.integrator.variable_step_size = False
        import libsbml           # the SBML id of the checked species (names are not ids)
        document = libsbml.readSBMLFromFile(str(w.sbml))    # (kept alive while read)
        species_id = document.getModel().getSpecies(w.check).getId()
        rr.timeCourseSelections = ["time", species_id]
        self.runners[w.name] = rr
        self.run(w, 1, 0)

    def run(self, w, n, seed, threads=1):
        rr = self.runners[w.name]
        t_end, points = float(w.times[-1]), len(w.times)
        out = np.empty(n)
        for i in range(n):
            rr.reset()
            rr.integrator.seed = (seed * 100_003 + i) % 2**31
            out[i] = rr.simulate(0.0, t_end, points)[-1, 1]
        return out


class GillesPy2:
    name = "gillespy2"

    def __init__(self):
        # GillesPy2 builds its solver with a `scons` found on PATH: this interpreter's first.
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
        import logging

        import gillespy2
        logging.getLogger("GillesPy2").setLevel(logging.ERROR)
        self.gillespy2 = gillespy2
        self.solvers = {}

    def prepare(self, w):
        from bench_engine import gillespy2_model      # k = c/2 for 2A, as here
        model = gillespy2_model(self.gillespy2, w.net, w.times, f"peers_{w.name}")
        solver = self.gillespy2.SSACSolver(model=model)
        solver.run(number_of_trajectories=1, seed=1)     # builds the C++ solver
        self.solvers[w.name] = solver

    def run(self, w, n, seed, threads=1):
        results = self.solvers[w.name].run(number_of_trajectories=n, seed=seed + 1)
        return np.array([float(traj[f"s{w.check}"][-1]) for traj in results])


class Copasi:
    name = "copasi"

    def __init__(self):
        import basico
        self.basico = basico
        self.models = {}

    def prepare(self, w):
        b = self.basico
        model = b.new_model(name=f"peers_{w.name}", quantity_unit="#", volume_unit="l",
                            time_unit="s")
        b.add_compartment("cell", initial_size=1.0, model=model)
        net = w.net
        names = [f"s{s}" for s in range(len(net["x0"]))]
        for s, value in zip(names, net["x0"]):
            b.add_species(s, compartment_name="cell", initial_particle_number=int(value),
                          model=model)
        for j in range(len(net["c"])):
            def side(counts):
                return " + ".join((f"{k} " if k > 1 else "") + names[s]
                                  for s, k in enumerate(counts) if k)
            products = net["orders"][j] + net["change"][j]
            scheme = f"{side(net['orders'][j])} -> {side(products)}".strip()
            # COPASI's own kinetics: "Mass action (irreversible)" (parameter k1), or
            # "Constant flux (irreversible)" (v, particles/s) without substrates.
            b.add_reaction(f"r{j}", scheme, model=model)
            parameter = "k1" if net["orders"][j].any() else "v"
            b.set_reaction_parameters(f"(r{j}).{parameter}", value=halved(net, j),
                                      model=model)
        self.models[w.name] = model
        self.run(w, 1, 0)

    def run(self, w, n, seed, threads=1):
        model = self.models[w.name]
        t_end, intervals = float(w.times[-1]), len(w.times) - 1
        column = f"s{w.check}"
        out = np.empty(n)
        for i in range(n):
            frame = self.basico.run_time_course(
                duration=t_end, intervals=intervals, method="directMethod",
                use_seed=True, seed=(seed * 100_003 + i + 1) % 2**31, use_numbers=True,
                model=model)
            out[i] = float(frame[column].iloc[-1])
        return out


ENGINES = {"rebop": Rebop, "roadrunner": RoadRunner, "gillespy2": GillesPy2,
           "copasi": Copasi}


# --------------------------------------------------------------------------- measuring

def timed(engine, w, n, seed, **kw):
    with Meter() as m:
        values = engine.run(w, n, seed, **kw)
    return m.wall, m.other, values


def sized(engine, w, budget, n_max, seed):
    """How many trajectories of ``w`` fit ``budget`` seconds for ``engine`` (one timed)."""
    wall, _, _ = timed(engine, w, 1, seed)
    return int(max(1, min(n_max, budget / max(wall, 1e-6))))


def cold_start(kind, w, python):
    """Wall time (s) of a fresh process that simulates one dimerisation trajectory."""
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "stochsyn":
            command = [python, "-c", "import sys; from stochsyn.cli import main; "
                       "sys.exit(main())", "run",
                       str(REPO / "reactions/examples/dimerisation.toml"), "--t-end", "50",
                       "--trajectories", "1", "--seed", "1", "--threads", "1",
                       "--no-progress", "--out", str(Path(tmp) / "out")]
        else:
            command = [python, "-c",
                       "import roadrunner; rr = roadrunner.RoadRunner(%r); "
                       "rr.setIntegrator('gillespie'); rr.simulate(0, 50, 51)" % str(w.sbml)]
        t0 = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=tmp)
        return time.perf_counter() - t0


def z_exact(values, mean, sd):
    return (np.mean(values) - mean) / (sd / math.sqrt(len(values)))


def z_two(a, b):
    se = math.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b))
    return (np.mean(a) - np.mean(b)) / se if se > 0 else 0.0


def summary(values):
    values = np.asarray(values, dtype=float)
    return float(np.median(values)), float(values.min()), float(values.max())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--peers", default=",".join(ALL_PEERS))
    parser.add_argument("--budget", type=float, default=0.6,
                        help="seconds per engine and throughput measurement (default 0.6)")
    parser.add_argument("--quick", action="store_true", help="smaller budgets and workloads")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    budget = args.budget / (3 if args.quick else 1)
    n_calls = 50 if args.quick else 200
    started = time.perf_counter()
    print("stochsyn vs peers", time.strftime("%Y-%m-%d %H:%M:%S"),
          "| loadavg", open("/proc/loadavg").read().split()[:3])
    print("command:", " ".join([Path(sys.executable).name] + sys.argv))

    engines = {"stochsyn": Stochsyn()}
    versions = {"stochsyn": ss.__version__}
    for name in [p.strip() for p in args.peers.split(",") if p.strip()]:
        try:
            engines[name] = ENGINES[name]()
        except Exception as exc:     # noqa: BLE001 - report any import or set-up failure
            print(f"skipped {name}: {type(exc).__name__}: {exc}")
            continue
        module = {"rebop": "rebop", "roadrunner": "roadrunner", "gillespy2": "gillespy2",
                  "copasi": "COPASI"}[name]
        versions[name] = getattr(sys.modules.get(module), "__version__", "?")
    print("versions:", json.dumps(versions))

    tmp = tempfile.mkdtemp(prefix="stochsyn-peers-")
    imm = Workload("imm", immigration_death_model(), grid(IMM["t_end"], IMM["every"]), "X",
                   tmp)
    receptor_model = ss.load_model(REPO / "reactions/examples/ampar_network.toml")
    psd = [s for s in receptor_model.species if "psd" in s.lower()]
    receptor = Workload("receptor", receptor_model,
                        grid(RECEPTOR_T_END / (4 if args.quick else 1), RECEPTOR_EVERY),
                        psd[0], tmp)
    dim = Workload("dim", ss.load_model(REPO / "reactions/examples/dimerisation.toml"),
                   DIM_T, "P", tmp)
    workloads = (imm, receptor, dim)
    for name, engine in list(engines.items()):
        try:
            for w in workloads:
                engine.prepare(w)
        except Exception as exc:     # noqa: BLE001
            print(f"skipped {name}: preparing failed: {type(exc).__name__}: {exc}")
            del engines[name]
    peers = [name for name in engines if name != "stochsyn"]
    stoch = engines["stochsyn"]

    # Trajectories per throughput measurement, sized once per engine to the budget.
    counts = {}
    for name, engine in engines.items():
        for w in (imm, receptor):
            counts[name, w.name] = sized(engine, w, budget, 2000, args.seed)
    events_per_traj = {}
    for w in (imm, receptor):
        stoch.run(w, 16, args.seed)
        events_per_traj[w.name] = float(np.mean(stoch.last_events))
    print("trajectories per measurement:",
          {f"{a}/{b}": n for (a, b), n in counts.items()})

    # Bytecode as an installed package has it (pip compiles it at install; an editable
    # install under PYTHONDONTWRITEBYTECODE would compile stochsyn's sources at every
    # start, ~0.3 s of CPU); then a first start fills numba's kernel cache if an edit
    # emptied it ("warm cache").
    compileall.compile_dir(Path(ss.__file__).parent, quiet=1)
    cold_start("stochsyn", dim, sys.executable)
    rates = {}        # (engine, workload) -> [events/s per round]
    walls = {}        # (engine, workload) -> [s per call per round]
    checks = {}       # (engine, workload) -> values at t_end, all rounds
    threads = {"imm16": [], "dim1000": [], "imm16_cpu": [], "dim1000_cpu": []}
    start = {"stochsyn": [], "roadrunner": []}
    loads = []
    for r in range(args.rounds):
        order = list(engines)
        order = order[r % len(order):] + order[:r % len(order)]
        seed = args.seed + 1000 * r
        with Meter() as round_meter:
            for name in order:
                engine = engines[name]
                for w in (imm, receptor):
                    n = counts[name, w.name]
                    wall, _, values = timed(engine, w, n, seed)
                    events = (float(np.sum(stoch.last_events)) if name == "stochsyn"
                              else events_per_traj[w.name] * n)
                    rates.setdefault((name, w.name), []).append(events / wall)
                    checks.setdefault((name, w.name), []).extend(values)
                # One trajectory per call: the median of n_calls calls, back to back and
                # timed by the clock alone (Meter reads /proc/stat before and after a
                # block; between calls of ~0.1 ms that added ~25-50 us to every engine's
                # figure and evicted its caches).
                per_call = []
                for i in range(n_calls if name in ("stochsyn", "rebop", "roadrunner")
                               else max(5, n_calls // 20)):
                    t0 = time.perf_counter()
                    values = engine.run(dim, 1, seed + i)
                    per_call.append(time.perf_counter() - t0)
                    checks.setdefault((name, "dim1"), []).extend(values)
                walls.setdefault((name, "dim1"), []).append(float(np.median(per_call)))
                # 1,000 trajectories per call (slow peers: fewer, scaled to 1,000).
                n = 1000 if name in ("stochsyn", "rebop", "roadrunner", "gillespy2") else 100
                wall, _, values = timed(engine, dim, n, seed)
                walls.setdefault((name, "dim1000"), []).append(wall * 1000 / n)
                checks.setdefault((name, "dim1000"), []).extend(values)
            # stochsyn's threads, interleaved with the rest.
            for key, w, n in (("imm16", imm, 16), ("dim1000", dim, 1000)):
                walls_cpu = {}
                for k in (1, 2):
                    best = (math.inf, math.inf)
                    for _ in range(3):
                        cpu = time.process_time()
                        wall = timed(stoch, w, n, seed, threads=k)[0]
                        best = min(best, (wall, time.process_time() - cpu))
                    walls_cpu[k] = best
                threads[key].append(walls_cpu[1][0] / walls_cpu[2][0])
                # CPU time of both threads over one thread's: 1.0 = no cost of sharing
                # the work (robust to other load, which the wall-time ratio is not).
                threads[key + "_cpu"].append(walls_cpu[2][1] / walls_cpu[1][1])
            python = sys.executable
            start["stochsyn"].append(cold_start("stochsyn", dim, python))
            if "roadrunner" in engines:
                start["roadrunner"].append(cold_start("roadrunner", dim, python))
        loads.append(round_meter.other)
        print(f"round {r + 1}/{args.rounds}: {round_meter.wall:.0f} s, other load "
              f"{load_mark(round_meter.other)}", flush=True)

    # ---------------------------------------------------------------- report
    print("\n== checks (mean at t_end against the exact answer; receptor: against "
          "stochsyn) ==")
    failed = []
    for (name, wname), values in sorted(checks.items()):
        values = np.asarray(values, dtype=float)
        if wname == "imm":
            z = z_exact(values, IMM["k_in"] / IMM["k_out"], math.sqrt(IMM["k_in"] / IMM["k_out"]))
            what = "X(1000) vs Poisson(100)"
        elif wname.startswith("dim"):
            z = z_exact(values, *DIM_EXACT)
            what = f"P(50) vs DSMTS {DIM_EXACT[0]}"
        else:
            z = z_two(values, checks["stochsyn", "receptor"]) if name != "stochsyn" else 0.0
            what = f"{receptor.model.species[receptor.check]}(t_end) vs stochsyn"
        flag = "" if abs(z) < 4 else "  CHECK FAILED"
        if flag:
            failed.append((name, wname))
        print(f"{name:10s} {wname:9s} n={len(values):6d} mean {values.mean():9.3f}  "
              f"Z = {z:+6.2f}  ({what}){flag}")

    print("\n== paired ratios (> 1: stochsyn faster), median over rounds [min, max] ==")
    rows = {}
    for wname, label in (("imm", "immigration-death events/s"),
                         ("receptor", f"receptor network ({len(receptor.net['c'])} rx) "
                                      "events/s")):
        s_rates = rates["stochsyn", wname]
        print(f"{label}: stochsyn {summary(s_rates)[0] / 1e6:.2f} M/s")
        for name in peers:
            ratio = summary(np.array(s_rates) / np.array(rates[name, wname]))
            rows[f"{wname}/{name}"] = ratio
            print(f"   vs {name:10s} {summary(rates[name, wname])[0] / 1e6:9.3f} M/s  "
                  f"ratio {ratio[0]:6.2f}x [{ratio[1]:.2f}, {ratio[2]:.2f}]")
    for wname, label in (("dim1", "one dimerisation trajectory per call"),
                         ("dim1000", "1,000 dimerisation trajectories per call")):
        s_walls = walls["stochsyn", wname]
        print(f"{label}: stochsyn {1e6 * summary(s_walls)[0]:.1f} us")
        for name in peers:
            ratio = summary(np.array(walls[name, wname]) / np.array(s_walls))
            rows[f"{wname}/{name}"] = ratio
            print(f"   vs {name:10s} {1e6 * summary(walls[name, wname])[0]:12.1f} us  "
                  f"ratio {ratio[0]:6.2f}x [{ratio[1]:.2f}, {ratio[2]:.2f}]")
    print("cold start, one dimerisation trajectory in a fresh process: stochsyn "
          f"{summary(start['stochsyn'])[0]:.3f} s [{summary(start['stochsyn'])[1]:.3f}, "
          f"{summary(start['stochsyn'])[2]:.3f}]")
    if start["roadrunner"]:
        ratio = summary(np.array(start["roadrunner"]) / np.array(start["stochsyn"]))
        rows["start/roadrunner"] = ratio
        print(f"   vs roadrunner {summary(start['roadrunner'])[0]:.3f} s  ratio "
              f"{ratio[0]:.2f}x [{ratio[1]:.2f}, {ratio[2]:.2f}]")
    for key, label in (("imm16", "16 immigration-death trajectories"),
                       ("dim1000", "1,000 dimerisation trajectories")):
        s = summary(threads[key])
        c = summary(threads[key + "_cpu"])
        print(f"stochsyn 2 threads / 1 thread, {label}: {s[0]:.2f}x [{s[1]:.2f}, {s[2]:.2f}]"
              f"; CPU time of 2 threads / 1 thread {c[0]:.2f} [{c[1]:.2f}, {c[2]:.2f}]")
    print(f"\nother load per round: {', '.join(load_mark(x).strip() for x in loads)}; "
          f"loadavg {open('/proc/loadavg').read().split()[:3]}; total "
          f"{time.perf_counter() - started:.0f} s")
    if failed:
        print(f"CHECK FAILED for {failed}: those ratios compare different models")
    if args.json:
        args.json.write_text(json.dumps({
            "versions": versions, "rounds": args.rounds, "ratios": rows,
            "rates": {f"{a}/{b}": v for (a, b), v in rates.items()},
            "walls": {f"{a}/{b}": v for (a, b), v in walls.items()},
            "threads": threads, "start": start, "other_load": loads,
            "checks_failed": failed}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
