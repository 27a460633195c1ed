"""Cold start of ``stochsyn run`` against libroadrunner, and the cost of one call, with the
native kernel of plain networks (stochsyn.engine.native) and without it.

Each round runs, in fresh processes and one after another (interleaved, so every variant
sees the same load): this checkout; this checkout with ``STOCHSYN_NATIVE=0`` (numba);
optionally another checkout (``--baseline SRC CACHE``: its source folder and its own
``NUMBA_CACHE_DIR``, warmed by one run first); libroadrunner on the same model (SBML from
``Model.to_sbml``). Wall time and the child's user+sys CPU (``os.wait4``) are printed per
variant, median and range, with the paired ratio libroadrunner / variant (> 1: faster than
libroadrunner). ``--per-call`` instead times one-trajectory ``simulate`` calls (median of
2,000, three repeats) in one process per variant, after loading the exact mode's kernel
too (as benchmarks/peers.py does).

    PYTHONPATH=. NUMBA_CACHE_DIR=<cache> python benchmarks/bench_cold_start.py --rounds 12
    PYTHONPATH=. NUMBA_CACHE_DIR=<cache> python benchmarks/bench_cold_start.py --rounds 12 \\
        --baseline /tmp/base <base cache>      # e.g. git archive <commit> | tar -x -C /tmp/base
    PYTHONPATH=. NUMBA_CACHE_DIR=<cache> python benchmarks/bench_cold_start.py --per-call
    PYTHONPATH=. NUMBA_CACHE_DIR=<cache> python benchmarks/bench_cold_start.py --phases

``--phases`` prints the CPU of each phase of a start (imports, the native kernel's load,
the first simulation) in one process of this checkout, from the script's first line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "reactions/examples/dimerisation.toml"
RUN = ["-c", "import sys; from stochsyn.cli import main; sys.exit(main())", "run", MODEL,
       "--t-end", "50", "--trajectories", "1", "--seed", "1", "--threads", "1",
       "--no-progress", "--out"]
PER_CALL = """
import statistics, sys, time
import numpy as np
import stochsyn as ss
ss.simulate(ss.load_model("reactions/examples/ampar_network.toml"), 1.0, 1, seed=1,
            n_threads=1)                      # numba holds the exact kernel (peers.py)
model = ss.load_model("reactions/examples/dimerisation.toml")
times = np.linspace(0.0, 50.0, 51)
for i in range(300):
    ss.simulate(model, 50.0, 1, seed=i, sample_times=times, n_threads=1)
medians = []
for _ in range(3):
    per = []
    for i in range(2000):
        t0 = time.perf_counter()
        ss.simulate(model, 50.0, 1, seed=i, sample_times=times, n_threads=1)
        per.append(time.perf_counter() - t0)
    medians.append(statistics.median(per) * 1e6)
print(" ".join(f"{m:.1f}" for m in medians))
"""
PHASES = """
import sys, time
c0, w0 = time.process_time(), time.perf_counter()
marks = []
def mark(name):
    marks.append((name, time.process_time() - c0, time.perf_counter() - w0))
import numpy as np; mark("import numpy")
import stochsyn as ss; mark("import stochsyn (model layer)")
import stochsyn.ensemble; mark("import stochsyn.ensemble (runner, engine, results)")
import llvmlite.binding; mark("import llvmlite.binding")
from stochsyn.engine import native
model = ss.load_model("reactions/examples/dimerisation.toml"); mark("read the model")
load = native._load
def timed_load(*args):
    t = time.process_time(); kernel = load(*args)
    marks.append(("  of which native._load", time.process_time() - t, float("nan")))
    return kernel
native._load = timed_load
ss.simulate(model, 50.0, 1, seed=1, n_threads=1); mark("first simulate (kernel load and run)")
print("numba imported:", "numba" in sys.modules)
for name, cpu, wall in marks:
    print(f"{name:52s} CPU {1e3 * cpu:6.1f} ms   wall {1e3 * wall:6.1f} ms (cumulative)")
"""


def timed(command, env, cwd):
    """(wall s, user+sys s) of a child process."""
    t0 = time.perf_counter()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{command} failed: {child.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def variants(args):
    """name -> (environment, source folder) of each stochsyn variant."""
    base = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    found = {"this": (dict(base, PYTHONPATH=str(REPO)), REPO),
             "this, STOCHSYN_NATIVE=0": (dict(base, PYTHONPATH=str(REPO),
                                              STOCHSYN_NATIVE="0"), REPO)}
    if args.baseline:
        source, cache = args.baseline
        found[f"baseline {source}"] = (dict(base, PYTHONPATH=source, NUMBA_CACHE_DIR=cache),
                                       Path(source))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--baseline", nargs=2, metavar=("SRC", "CACHE"))
    parser.add_argument("--per-call", action="store_true")
    parser.add_argument("--phases", action="store_true",
                        help="CPU per start-up phase of this checkout (one process)")
    args = parser.parse_args(argv)
    runs = variants(args)
    print(f"load average at start: {os.getloadavg()}")
    if args.phases:
        env, src = runs["this"]
        print(subprocess.run([sys.executable, "-c", PHASES], env=env, cwd=src,
                             capture_output=True, text=True, check=True).stdout)
        return 0
    if args.per_call:
        for _ in range(2):
            for name, (env, src) in runs.items():
                out = subprocess.run([sys.executable, "-c", PER_CALL], env=env, cwd=src,
                                     capture_output=True, text=True, check=True).stdout
                print(f"{name:40s} one-trajectory call, median us: {out.strip()}")
        print(f"load average at end: {os.getloadavg()}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        sbml = Path(tmp) / "dimerisation.xml"
        subprocess.run([sys.executable, "-c", "import sys, stochsyn as ss; "
                        f"ss.load_model({MODEL!r}).to_sbml(sys.argv[1])", str(sbml)],
                       env=runs["this"][0], cwd=REPO, check=True)
        roadrunner = [sys.executable, "-c", "import sys, roadrunner; "
                      "rr = roadrunner.RoadRunner(sys.argv[1]); "
                      "rr.setIntegrator('gillespie'); rr.simulate(0, 50, 51)", str(sbml)]
        for name, (env, src) in runs.items():        # caches (and native files) warm
            timed([sys.executable, *RUN, str(Path(tmp) / f"warm{len(name)}")], env, src)
        times = {name: [] for name in [*runs, "libroadrunner"]}
        for r in range(args.rounds):
            for k, (name, (env, src)) in enumerate(runs.items()):
                times[name].append(timed([sys.executable, *RUN, str(Path(tmp) / f"{r}-{k}")],
                                         env, src))
            times["libroadrunner"].append(timed(roadrunner, dict(os.environ), tmp))
    peer = [wall for wall, _ in times["libroadrunner"]]
    print(f"{'variant':40s} {'wall median [range]':>24s} {'user+sys median [range]':>26s}"
          "  libroadrunner/it (paired wall)")
    for name, rows in times.items():
        wall = [w for w, _ in rows]
        cpu = [c for _, c in rows]
        ratio = [p / w for p, w in zip(peer, wall)]
        print(f"{name:40s} {statistics.median(wall):8.3f} [{min(wall):.2f}-{max(wall):.2f}]"
              f"      {statistics.median(cpu):8.3f} [{min(cpu):.2f}-{max(cpu):.2f}]"
              f"    {statistics.median(ratio):.2f}x [{min(ratio):.2f}-{max(ratio):.2f}]")
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
