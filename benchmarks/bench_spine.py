"""Cost of one trajectory of the default spine model (reactions/spine.toml), hybrid mode,
1 thread: wall and CPU time, events, ODE steps, for

* (a) rest,
* (b) HFS (100 Hz x 1 s, protocols.hfs at t = 0) and the time after it,
* (c) LFS (1 Hz x 900, protocols.lfs at t = 0), a fraction of it (``--lfs-pulses``),

and, for the choice of the [continuous] block, (d) rest with calmodulin discrete (only the
Ca2+ module continuous, as reactions/examples/spine_electrophysiology.toml).

Each is simulated for ``--span`` seconds (default 600) and the cost is extrapolated to
the issue's 60 min after induction linearly in simulated time (printed as "per 60 min");
the spans actually run are printed. The model starts from its declared initial state
(Ca2+-free calmodulin), so the figures include that warm-up. The first call compiles the
kernels (excluded: a warm-up run of 1 s precedes the measurements).

Usage (from the repository root)::

    python benchmarks/bench_spine.py [--span 600] [--lfs-pulses 120] [--discrete-span 10]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import stochsyn as ss

MODEL = Path(__file__).resolve().parent.parent / "reactions" / "spine.toml"
CALCIUM_ONLY = ["Ca", "B", "CaB", "Bslow", "CaBslow", "PMCA", "CaPMCA", "NCX", "CaNCX"]


def measure(model, t_end: float, protocol=None, seed: int = 1) -> dict:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ens = ss.simulate(model, t_end, 1, seed=seed, protocol=protocol, n_threads=1,
                      sample_every=t_end / 10, max_events=10 ** 10)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {"t_end_s": t_end, "wall_s": wall, "cpu_s": cpu, "events": int(ens.n_events[0]),
            "ode_steps": int(np.asarray(ens.ode_steps)[0]),
            "restarts": int(ens.ode_restarts[0]), "linear": int(ens.ode_linear[0]),
            "refused": int(ens.ode_linear_refused[0])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--span", type=float, default=600.0)
    parser.add_argument("--lfs-pulses", type=int, default=120)
    parser.add_argument("--discrete-span", type=float, default=10.0)
    args = parser.parse_args(argv)
    model = ss.load_model(MODEL)
    measure(model, 1.0)                                   # compile
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    cases = [
        ("(a) rest", model, args.span, None),
        ("(b) HFS + rest", model, 1.0 + args.span, ss.protocols.hfs()),
        (f"(c) LFS, first {args.lfs_pulses} pulses", model, float(args.lfs_pulses),
         ss.protocols.lfs(pulses=args.lfs_pulses)),
        ("(d) rest, CaM discrete", model.with_continuous(CALCIUM_ONLY), args.discrete_span,
         None),
    ]
    for name, m, t_end, protocol in cases:
        if name.startswith("(d)"):
            measure(m, 0.5)                               # its own compilation
        r = measure(m, t_end, protocol)
        per_s = r["cpu_s"] / t_end
        print(f"{name:32s} {t_end:7.0f} s simulated: wall {r['wall_s']:7.2f} s, CPU "
              f"{r['cpu_s']:7.2f} s, {r['events'] / t_end:8.0f} events/s, "
              f"{r['ode_steps'] / t_end:8.0f} ODE steps/s, {r['restarts'] / t_end:8.0f} "
              f"restarts/s, {r['linear'] / t_end:8.0f} linear intervals/s "
              f"({r['refused'] / t_end:.0f} refused/s); CPU per simulated s "
              f"{per_s * 1e3:7.2f} ms, per 60 min {per_s * 3600:7.1f} s")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
