"""Per-event cost of the agent bookkeeping: the example models with agents, on 1 thread.

* ``camkii_ring.toml``: one ring of 6 subunits with a neighbour-conditioned activation
  (every firing moves an agent and refreshes the pair classes of it and its neighbour);
* ``ampar_exchange.toml``: receptors cycling between two locations (agent moves, logged);
* ``ampar_network.toml``: the 97-reaction receptor network of bench_engine.py (c).

Each model: a warm-up call (compilation excluded), then the best of ``--repeats`` calls of
``stochsyn.simulate`` over ``--trajectories`` trajectories; printed: events per trajectory,
wall, ns per event and M events/s. No peer runs these models (agents with identities and
ring neighbours); bench_engine.py compares the core SSA with peers.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_agents.py     # ~10 s
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import stochsyn as ss

EXAMPLES = Path(__file__).resolve().parents[1] / "reactions" / "examples"
#: (model file, t_end in s): long enough that per-call overhead is < 1 % of the wall.
CASES = (("camkii_ring.toml", 20000.0), ("ampar_exchange.toml", 20000.0),
         ("ampar_network.toml", 2000.0))


def measure(path: Path, t_end: float, n: int, repeats: int) -> tuple[float, int]:
    """(best wall in s, total events) of ``repeats`` identical calls on 1 thread."""
    model = ss.load_model(path)
    ss.simulate(model, t_end=1.0, n_trajectories=1, seed=1, n_threads=1)
    best, events = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        ens = ss.simulate(model, t_end=t_end, n_trajectories=n, seed=1, n_threads=1)
        best = min(best, time.perf_counter() - start)
        events = int(ens.summary()["n_events"].sum())
    return best, events


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'model':22s} {'t_end (s)':>10s} {'events/traj':>12s} {'wall (s)':>9s} "
          f"{'ns/event':>9s} {'M events/s':>10s}")
    for name, t_end in CASES:
        wall, events = measure(EXAMPLES / name, t_end, args.trajectories, args.repeats)
        print(f"{name:22s} {t_end:10g} {events / args.trajectories:12.0f} {wall:9.3f} "
              f"{wall / events * 1e9:9.1f} {events / wall / 1e6:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
