"""Where a fresh process's first trajectory goes: the phases of a cold start.

Each repeat starts a new Python process that imports stochsyn, reads
``reactions/examples/dimerisation.toml``, simulates one trajectory (numba loads the kernel
from its on-disk cache: run anything once after an install or an engine edit so that the
cache is warm), writes it as Parquet, and, last, builds a table (the first use of pandas).
It prints each phase's wall time and which heavy modules were imported by then, and then
times the whole ``stochsyn run`` command on the same model. Medians over ``--repeats``.

Usage::

    python benchmarks/bench_startup.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import json
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
t0 = time.perf_counter()
marks = {}
def mark(name):
    marks[name] = (time.perf_counter() - t0,
                   [m for m in ("numba", "pandas", "pyarrow", "pint") if m in sys.modules])
import stochsyn as ss
mark("import stochsyn")
model = ss.load_model(sys.argv[1])
mark("load_model")
ens = ss.simulate(model, 50.0, 1, seed=1, n_threads=1)
mark("first simulate")
ens.to_parquet(sys.argv[2])
mark("to_parquet")
ens.describe()
mark("describe (pandas)")
print(json.dumps(marks))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    python = sys.executable
    runs, commands = [], []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, "-c", PHASES, str(MODEL), str(Path(tmp) / "warm")],
                       check=True, capture_output=True)         # fills the kernel cache
        for r in range(args.repeats):
            out = subprocess.run([python, "-c", PHASES, str(MODEL), str(Path(tmp) / f"p{r}")],
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
            t0 = time.perf_counter()
            subprocess.run([python, "-c", "import sys; from stochsyn.cli import main; "
                            "sys.exit(main())", "run", str(MODEL), "--t-end", "50",
                            "--trajectories", "1", "--seed", "1", "--threads", "1",
                            "--no-progress", "--out", str(Path(tmp) / f"c{r}")],
                           check=True, capture_output=True)
            commands.append(time.perf_counter() - t0)
    print(f"cold start, {args.repeats} fresh processes each (median; loadavg "
          f"{open('/proc/loadavg').read().split()[:3]})")
    previous = 0.0
    for name in runs[0]:
        at = float(np.median([run[name][0] for run in runs]))
        print(f"  {name:20s} at {at:6.3f} s  (+{at - previous:5.3f} s)  modules loaded: "
              f"{', '.join(runs[0][name][1])}")
        previous = at
    print(f"  `stochsyn run` (whole command, process start to exit): "
          f"{float(np.median(commands)):.3f} s [{min(commands):.3f}, {max(commands):.3f}]")


if __name__ == "__main__":
    main()
