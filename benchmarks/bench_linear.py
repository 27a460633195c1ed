"""The hybrid mode's linear propagation (issue 12): linear on against linear off, same
process, interleaved, 1 thread, CPU time per trajectory and what the integrator did.

The linear propagation (``[continuous] linear``, the default; module docstring of
:mod:`stochsyn.engine.continuous`, "Linear propagation near a fixed point") replaces
Rodas4 steps by the exact solution of the linearised continuous part where its error
estimate passes the tolerance. This script runs each case with it on and off
(``Model.with_continuous(..., linear=False)``), alternating the order from one repeat to
the next (on/off, off/on, ...) so that both see the same load, and reports per
trajectory:

* CPU time (this process's; the one kernel thread does the work), the best and the
  median over the repeats, and the change off → on;
* events, ODE restarts, Rodas4 accepted and rejected steps, and the linear propagation's
  intervals, refusals and linearisations (``Ensemble.ode_linear``,
  ``ode_linear_refused``, ``ode_linear_refreshes``);
* whether the discrete events are the same bits with it on and off (``firings``
  identical: they must be whenever no discrete reaction reads a continuous species).

Cases: the spine example (``reactions/examples/spine_electrophysiology.toml``; those of
``bench_hybrid.py``: a resting minute, one EPSP at Pr 0.3 and at Pr 1, 1 s of 100 Hz) and
the default model (``reactions/spine.toml``: rest, and HFS followed by rest). The default
model has coupled reactions (calmodulin's Ca²⁺ binding reads the continuous Ca²⁺ and
CaM states), which the linear propagation does not cover: there both modes must take the
same path (0 linear intervals).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_linear.py [--repeat 3] [--spine-rest 120]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

import stochsyn as ss  # noqa: E402

EXAMPLE = REPO / "reactions/examples/spine_electrophysiology.toml"
SPINE = REPO / "reactions/spine.toml"
COUNTS = ("ode_restarts", "ode_steps", "ode_rejected", "ode_linear", "ode_linear_refused",
          "ode_linear_refreshes")


def cases(spine_rest_s: float, spine_after_hfs_s: float) -> dict:
    """name -> (model path, protocol, t_end s, release probability or None,
    trajectories, sample_every s)."""
    return {
        "example rest 60 s": (EXAMPLE, None, 60.0, None, 4, 1.0),
        "example EPSP": (EXAMPLE, ss.protocols.train(1.0, 1, start_s=0.01), 0.3, None, 64,
                         1e-3),
        "example EPSP Pr 1": (EXAMPLE, ss.protocols.spikes(pre_s=[0.01]), 0.3, 1.0, 16,
                              1e-3),
        "example HFS 1 s": (EXAMPLE, ss.protocols.hfs(), 1.0, None, 4, 1e-3),
        f"spine rest {spine_rest_s:g} s": (SPINE, None, spine_rest_s, None, 1,
                                          spine_rest_s / 10),
        f"spine HFS + {spine_after_hfs_s:g} s": (SPINE, ss.protocols.hfs(),
                                                 1.0 + spine_after_hfs_s, None, 1, 0.1),
    }


def run(model, protocol, t_end, n, every, seed):
    """(Ensemble, CPU s per trajectory) of trajectories 0..n-1 in one call, 1 thread."""
    cpu0 = time.process_time()
    ens = ss.simulate(model, t_end, n, seed=seed, protocol=protocol, n_threads=1,
                      sample_every=every, max_events=10 ** 10)
    cpu = (time.process_time() - cpu0) / n
    assert np.all(ens.status == 0), "trajectories stopped early"
    return ens, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spine-rest", type=float, default=120.0,
                        help="simulated seconds of the default model at rest")
    parser.add_argument("--spine-after-hfs", type=float, default=10.0,
                        help="simulated seconds of rest after the default model's HFS")
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args(argv)
    print("stochsyn linear-propagation benchmark (issue 12)", time.strftime("%Y-%m-%d %H:%M:%S"))
    print("command:", " ".join([Path(sys.executable).name] + sys.argv))
    print("loadavg at start:", open("/proc/loadavg").read().split()[:3])
    loaded = {}
    for path in (EXAMPLE, SPINE):
        base = ss.load_model(path)
        loaded[path] = {"on": base.with_continuous(base.continuous_species, linear=True),
                        "off": base.with_continuous(base.continuous_species, linear=False)}
        for model in loaded[path].values():      # compile / load outside the timings
            ss.simulate(model, 0.02, 1, seed=1, n_threads=1,
                        protocol=ss.protocols.hfs(pulses=2))
    rows = []
    for name, (path, protocol, t_end, pr, n, every) in cases(args.spine_rest,
                                                             args.spine_after_hfs).items():
        if args.only and args.only not in name:
            continue
        models = {mode: (m if pr is None else m.with_parameters(glu_release_probability=pr))
                  for mode, m in loaded[path].items()}
        cpu = {"on": [], "off": []}
        ens = {}
        load = []
        for r in range(args.repeat):
            for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                ens[mode], c = run(models[mode], protocol, t_end, n, every, args.seed)
                cpu[mode].append(c)
            load.append(float(open("/proc/loadavg").read().split()[0]))
        same = bool(np.array_equal(ens["on"].firings, ens["off"].firings))
        row = {"name": name, "n": n, "t_end": t_end, "same": same,
               "load": (min(load), max(load))}
        for mode in ("on", "off"):
            row[mode] = {"best": min(cpu[mode]), "median": float(np.median(cpu[mode])),
                         "events": float(ens[mode].n_events.mean())}
            for count in COUNTS:
                value = getattr(ens[mode], count, None)
                row[mode][count] = float(np.mean(value)) if value is not None else float("nan")
        rows.append(row)
        on, off = row["on"], row["off"]
        print(f"{name:22s} CPU/traj off {1e3 * off['best']:9.3f} (median "
              f"{1e3 * off['median']:9.3f}) ms, on {1e3 * on['best']:9.3f} (median "
              f"{1e3 * on['median']:9.3f}) ms: {100 * (on['median'] / off['median'] - 1):+6.1f} %"
              f" (median), same events: {same}; load {row['load'][0]:.2f}-{row['load'][1]:.2f}",
              flush=True)
    print(f"\n== per trajectory, 1 thread, {args.repeat} repeats interleaved (CPU ms: best /"
          " median) ==")
    head = (f"{'case':22s} {'mode':4s} {'CPU best':>9s} {'median':>9s} {'events':>10s} "
            f"{'restarts':>9s} {'steps':>9s} {'rejected':>9s} {'linear':>9s} "
            f"{'refused':>8s} {'refresh':>8s}")
    print(head)
    print("-" * len(head))
    for row in rows:
        for mode in ("off", "on"):
            m = row[mode]
            print(f"{row['name']:22s} {mode:4s} {1e3 * m['best']:9.3f} {1e3 * m['median']:9.3f} "
                  f"{m['events']:10.5g} {m['ode_restarts']:9.5g} {m['ode_steps']:9.5g} "
                  f"{m['ode_rejected']:9.5g} {m['ode_linear']:9.5g} "
                  f"{m['ode_linear_refused']:8.4g} {m['ode_linear_refreshes']:8.4g}")
    print("\nloadavg at end:", open("/proc/loadavg").read().split()[:3],
          f"(os.getloadavg {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
