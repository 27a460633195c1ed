"""Per-trajectory cost of the spine electrophysiology model at rest and for one EPSP,
exact and hybrid (the example's declaration: the Ca2+ module continuous, Ca2+ entry a
flux), on 1 thread.

A quick check of the levers of issues 3 and 12 that bench_electrophysiology.py and
bench_hybrid.py measure at length: the rest fallback (at rest every time-dependent rate is
frozen into the sum tree, so the cost per event is the plain SSA's) and the hybrid mode.
Compilation is excluded by a warm-up call.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_epsp.py [--rest-trajectories 4] [--epsp-trajectories 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import stochsyn as ss
from stochsyn.validation import calcium_transients as ct

MODEL = Path(__file__).resolve().parents[1] / "reactions/examples/spine_electrophysiology.toml"


def per_trajectory(model, protocol, t_end, n, seed):
    """(wall s per trajectory, mean events per trajectory) of n trajectories on 1 thread."""
    ss.simulate(model, 0.01, 1, seed=1, protocol=protocol, n_threads=1)
    start = time.perf_counter()
    ens = ss.simulate(model, t_end, n, seed=seed, protocol=protocol, n_threads=1,
                      sample_every=0.001)
    return (time.perf_counter() - start) / n, float(ens.n_events.mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rest-trajectories", type=int, default=4)
    parser.add_argument("--epsp-trajectories", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261122)
    args = parser.parse_args(argv)
    example = ss.load_model(MODEL)
    models = {"exact": example.with_continuous([]), "hybrid": ct.hybrid(example)}
    epsp = ss.protocols.train(1.0, 1, start_s=0.01)   # Pr 0.3: some trajectories release
    print(f"{'mode':8s} {'rest 1 s: wall/traj':>20s} {'events':>9s} "
          f"{'EPSP 0.3 s: wall/traj':>22s} {'events':>9s}")
    for name, model in models.items():
        rest = per_trajectory(model, None, 1.0, args.rest_trajectories, args.seed)
        one = per_trajectory(model, epsp, 0.3, args.epsp_trajectories, args.seed)
        print(f"{name:8s} {rest[0]:18.4f} s {rest[1]:9.0f} {one[0]:20.4f} s {one[1]:9.0f}")


if __name__ == "__main__":
    main()
