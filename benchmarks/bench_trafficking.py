"""Speed of the AMPA-receptor trafficking module: events per second at rest and under high
kinase activity, and the cost of logging every receptor change.

* ``rest``: reactions/modules/ampar_trafficking.toml (120 receptor agents, 100 slots, 75
  expanded reactions, 4 Michaelis-Menten enzyme laws per receptor pattern) with its resting
  enzyme activities, 2 simulated hours. Most events are lateral hops EXTRA <-> PSD and
  trapping/release (~5 per simulated second).
* ``LTP-like``: the same with PSD CaMKII 50 % active, PKA 50 %, PP1 one quarter free (the
  state analysis/receptor_history.py applies for 10 min): phosphorylation and slot events
  join in.
* ``rest, every receptor change logged``: stochsyn.trafficking.with_receptor_history,
  ``record_events=True``: the price of a receptor-history run.

1 thread, best of ``--repeats`` after a warm-up; events per trajectory, ns per event,
million events per second of wall time. No peer engine simulates AMPA receptors as agents
with phospho-sites (bench_engine.py compares the core SSA with peers).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_trafficking.py      # ~1 minute
"""

from __future__ import annotations

import argparse
from pathlib import Path

import stochsyn as ss
from bench_decoding import measure      # benchmarks/ is the script's folder, on sys.path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "reactions" / "modules" / "ampar_trafficking.toml"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rest = ss.load_model(MODEL)
    cases = [("rest", rest, False),
             ("LTP-like enzyme activities", rest.with_parameters(
                 camkii_psd_active=120, pka_active=30, pp1_free=3), False),
             ("rest, every receptor change logged",
              ss.trafficking.with_receptor_history(rest), True)]
    t_end = 7200.0
    print(f"{'case':36s} {'reactions':>9s} {'t_end (s)':>10s} {'events/traj':>12s} "
          f"{'wall (s)':>9s} {'ns/event':>9s} {'M events/s':>10s}")
    for name, model, logged in cases:
        wall, events = measure(model, t_end, args.trajectories, args.repeats,
                               record_events=logged)
        print(f"{name:36s} {len(model.reactions):9d} {t_end:10g} "
              f"{events / args.trajectories:12.0f} {wall:9.3f} {wall / events * 1e9:9.1f} "
              f"{events / wall / 1e6:10.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
