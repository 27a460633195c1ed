"""Where a fresh process's first trajectory goes: the phases of a cold start.

Each repeat starts a new Python process that imports numpy, numba and stochsyn, reads
``reactions/examples/dimerisation.toml``, compiles it, simulates one trajectory (numba
loads the kernel from its on-disk cache: the script runs one process first so that the
cache is warm), simulates a second one (the difference is the kernel's load), writes the
result as Parquet, and, last, builds a table (the first use of pandas, which ``stochsyn
run`` does not need). It prints each phase's wall and CPU time and what was loaded by then,
then times the whole ``stochsyn run`` command on the same model (wall, and user + sys CPU
of the child: robust to other load, which the wall time is not), and an empty Python
(``python -c pass``). Medians over ``--repeats``, [min, max] for the command.

Python's compiled bytecode: an installed package has it (pip compiles it at install), an
editable install writes it at its first import, unless ``PYTHONDONTWRITEBYTECODE`` is set,
in which case every start compiles stochsyn's ~50 source files again (~0.3 s of CPU). The
script compiles stochsyn's bytecode first (``compileall``, as pip does) unless
``--no-compileall`` is given, and says which it measured.

Usage::

    python benchmarks/bench_startup.py [--repeats 7] [--no-compileall]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "reactions" / "examples" / "dimerisation.toml"

PHASES = r"""
import sys, time, json
t0, c0 = time.perf_counter(), time.process_time()
marks = {}
def mark(name):
    loaded = [m for m in ("numba.np.arraymath", "scipy.linalg", "numpy.ma", "pint", "pyarrow",
                          "pyarrow.compute", "pandas")
              if m in sys.modules]
    marks[name] = (time.perf_counter() - t0, time.process_time() - c0, loaded)
import numpy
mark("import numpy")
import numba
mark("import numba")
import stochsyn as ss
mark("import stochsyn")
model = ss.load_model(sys.argv[1])
mark("load_model")
import stochsyn.ensemble
mark("import the runner")
ss.compile(model)
mark("compile network")
ens = ss.simulate(model, 50.0, 1, seed=1, n_threads=1, progress=False)
mark("first simulate")
ss.simulate(model, 50.0, 1, seed=2, n_threads=1, progress=False)
mark("second simulate")
ens.to_parquet(sys.argv[2])
mark("to_parquet")
ens.describe()
mark("describe (pandas)")
from stochsyn.engine import ssa
marks["overloads"] = len(ssa.run_trajectories.overloads)
print(json.dumps(marks))
"""

COMMAND = ["-c", "import sys; from stochsyn.cli import main; sys.exit(main())", "run",
           str(MODEL), "--t-end", "50", "--trajectories", "1", "--seed", "1",
           "--threads", "1", "--no-progress"]


def child_run(command, **kw):
    """Wall time and user + sys CPU time (s) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-compileall", action="store_true",
                        help="do not compile stochsyn's bytecode first")
    args = parser.parse_args(argv)
    python = sys.executable
    import stochsyn
    package = Path(stochsyn.__file__).parent
    if not args.no_compileall:
        compileall.compile_dir(package, quiet=1)
    bytecode = sum(1 for _ in package.rglob("__pycache__/*.pyc"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(package.parent)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                 if p]))
    runs, commands, empty = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        child_run([python, "-c", PHASES, str(MODEL), str(Path(tmp) / "warm")], env=env)
        for r in range(args.repeats):
            out = child_run([python, "-c", PHASES, str(MODEL), str(Path(tmp) / f"p{r}")],
                            env=env, cwd=tmp)[2]
            runs.append(json.loads(out))
            commands.append(child_run([python, *COMMAND, "--out", str(Path(tmp) / f"c{r}")],
                                      env=env, cwd=tmp)[:2])
            empty.append(child_run([python, "-c", "pass"], env=env, cwd=tmp)[:2])
    print(f"cold start of {package}, {args.repeats} fresh processes each (median; loadavg "
          f"{open('/proc/loadavg').read().split()[:3]}); stochsyn's bytecode: "
          f"{'compiled first (compileall)' if not args.no_compileall else 'as found'}, "
          f"{bytecode} .pyc files")
    print(f"  {'phase':20s} {'at (wall)':>10s} {'+wall':>8s} {'+CPU':>8s}  loaded by then")
    previous = (0.0, 0.0)
    for name in runs[0]:
        if name == "overloads":
            continue
        at = float(np.median([run[name][0] for run in runs]))
        cpu = float(np.median([run[name][1] for run in runs]))
        print(f"  {name:20s} {at:8.3f} s {at - previous[0]:+7.3f} {cpu - previous[1]:+7.3f}"
              f"  {', '.join(runs[0][name][2])}")
        previous = (at, cpu)
    print(f"  kernel overloads loaded: {runs[0]['overloads']}")
    walls, cpus = np.array(commands).T
    print(f"  `stochsyn run` (whole command, process start to exit): wall "
          f"{np.median(walls):.3f} s [{walls.min():.3f}, {walls.max():.3f}], user + sys "
          f"{np.median(cpus):.3f} s [{cpus.min():.3f}, {cpus.max():.3f}]")
    walls, cpus = np.array(empty).T
    print(f"  `python -c pass`: wall {np.median(walls):.3f} s, user + sys "
          f"{np.median(cpus):.3f} s")


if __name__ == "__main__":
    main()
