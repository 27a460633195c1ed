"""Which of calmodulin's states the default spine model (reactions/spine.toml) keeps
continuous, by measurement: for each split, one HFS train and a span of rest, 1 thread,
hybrid mode, CPU time, events, ODE steps, the largest deficit (molecules a discrete
reaction took beyond what a continuous pool held; ``Ensemble.continuous_deficit``), total
calmodulin's largest excursion from its start (it must be conserved), peak pT286 (of 240
subunits) and peak CaN·CaM (of 96).

Splits (the Ca²⁺ module's nine species continuous in each):

* ``all``: the nine CaM states continuous (CaMKII's and calcineurin's CaM bindings are
  then coupled reactions that take whole molecules from pools of ~0.3: deficits, which
  the engine keeps and repays; before it kept them, the clamp at 0 created calmodulin);
* ``abundant``: C0N0, C1N0, C0N1 continuous, the six Ca²⁺-loaded states exact (the
  choice of ``reactions/spine.toml``, by this measurement: ``benchmarks/RESULTS.md``);
* ``exact``: every species exact (``--exact``), only with ``--with-exact`` (minutes per
  train).

The HFS (``protocols.hfs()``, 100 Hz × 1 s) starts at ``--warmup`` seconds after the
declared start (default 60 s: CaM loads its resting Ca²⁺) and the run goes on for
``--after`` seconds; the rest case is ``--rest`` seconds from the declared start. Each
split runs trajectories 0..n-1 of the same root seed (``--trajectories``, default 2).

Usage (repository root)::

    python benchmarks/bench_cam_split.py [--trajectories 2] [--rest 120] [--after 20]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

import stochsyn as ss

MODEL = Path(__file__).resolve().parent.parent / "reactions" / "spine.toml"
CALCIUM = ["Ca", "B", "CaB", "Bslow", "CaBslow", "PMCA", "CaPMCA", "NCX", "CaNCX"]
CAM_ALL = [f"CaM_C{c}N{n}" for n in range(3) for c in range(3)]
CAM_ABUNDANT = ["CaM_C0N0", "CaM_C1N0", "CaM_C0N1"]
SEED = 20261214


def run(model, t_end, n, protocol=None, sample_every=0.05):
    """Simulate; returns the ensemble and (wall, CPU) seconds."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    ens = ss.simulate(model, t_end, n, seed=SEED, protocol=protocol, n_threads=1,
                      sample_every=sample_every, max_events=10 ** 10)
    return ens, time.perf_counter() - wall0, time.process_time() - cpu0


def summary(ens) -> dict:
    """Per-ensemble means of the quantities in the module docstring."""
    v = ens.values
    cam = v("cam_total_count")
    deficit = (ens.continuous_deficit if ens.continuous_deficit is not None
               else np.zeros(ens.n_trajectories))
    return {"events": float(np.mean(ens.n_events)),
            "ode_steps": float(np.mean(ens.ode_steps)) if ens.ode_steps is not None else 0.0,
            "max_deficit": float(np.max(deficit)),
            "cam_drift": float(np.max(np.abs(cam - cam[:, :1]))),
            "peak_pt286": float(np.mean(v("camkii_pt286").max(axis=1))),
            "peak_can": float(np.mean(v("CaN_CaM").max(axis=1))),
            "status_ok": int(np.sum(ens.status == 0))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=2)
    parser.add_argument("--rest", type=float, default=120.0)
    parser.add_argument("--warmup", type=float, default=60.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--with-exact", action="store_true")
    args = parser.parse_args(argv)
    base = ss.load_model(MODEL)
    splits = [("all", base.with_continuous(CALCIUM + CAM_ALL)),
              ("abundant", base.with_continuous(CALCIUM + CAM_ABUNDANT))]
    if args.with_exact:
        splits.append(("exact", base.with_continuous([])))
    hfs = ss.protocols.hfs(start_s=args.warmup)
    t_hfs = args.warmup + 1.0 + args.after
    n = args.trajectories
    print(f"load average at start: {os.getloadavg()[0]:.2f}; {n} trajectories per case")
    print(f"{'split':9s} {'case':5s} {'CPU/traj':>10s} {'events':>10s} {'ODE steps':>10s} "
          f"{'deficit':>8s} {'CaM drift':>10s} {'pT286 pk':>9s} {'CaN pk':>7s} ok")
    for name, model in splits:
        run(model, 0.2, 1)                                # compile and load the cache
        cases = [("rest", args.rest, None)] if name != "exact" else []
        cases.append(("HFS", t_hfs, hfs))
        for case, t_end, protocol in cases:
            ens, wall, cpu = run(model, t_end, n, protocol)
            s = summary(ens)
            print(f"{name:9s} {case:5s} {cpu / n:9.2f}s {s['events']:10.0f} "
                  f"{s['ode_steps']:10.0f} {s['max_deficit']:8.3f} {s['cam_drift']:10.2e} "
                  f"{s['peak_pt286']:9.1f} {s['peak_can']:7.1f} {s['status_ok']}/{n}",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
