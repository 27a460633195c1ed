"""Speed of the Ca²⁺-decoding models: the CaMKII holoenzymes during a Ca²⁺ plateau and at
rest, and the wall time of the V13 switch sweep.

* ``holoenzymes``: 20 PSD holoenzymes (240 subunit agents, two 6-rings each) with the
  two-lobe calmodulin (30 µM, 0.1 fL), the I1/PKA/PP1 core and calcineurin as a Hill law
  (reactions/modules/cam_two_lobe.toml, camkii_holoenzyme.toml, pp1_i1_pka.toml,
  calcineurin_hill.toml; ~590 reactions), Ca²⁺ clamped. Measured at rest (0.1 µM) and on a
  plateau (2 µM: CaM binds Ca²⁺ and the subunits, T286 autophosphorylation runs, PP1 is
  busy), each after a warm-up, 1 thread, best of ``--repeats``: events per second of wall
  time and ns per event. At rest the events are mostly Ca²⁺ binding and unbinding on the
  1,800 CaM molecules (their N lobes flicker at ~10⁴ /s); on the plateau, agent moves.
* ``switch``: the reduced switch (reactions/examples/camkii_switch.toml) at rest, N = 10.
* ``V13 sweep``: ``analysis/camkii_switch.py`` as a subprocess, on all cores (``--sweep``;
  about 5 minutes): its own printed simulation wall time and the whole command's.

No peer simulates CaMKII holoenzymes as ring agents; bench_engine.py compares the core
SSA with peers.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_decoding.py            # ~1 minute
    PYTHONPATH=. python benchmarks/bench_decoding.py --sweep    # + the V13 sweep
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import stochsyn as ss

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "reactions" / "modules"
STACK = ("cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
         "calcineurin_hill.toml")


def holoenzyme_model(ca_um: float) -> ss.Model:
    return ss.Model.from_dict({
        "model": {"name": "holoenzymes", "volume": "0.1 fL",
                  "include": [str(MODULES / m) for m in STACK]},
        "inputs": {"Ca_clamp": {"unit": "uM", "value": f"{ca_um} uM"}},
        "species": {"Ca": {"clamp": "Ca_clamp"}},
    })


def measure(model, t_end: float, n: int, repeats: int, threads: int = 1):
    """(best wall s, events of that call) of ``repeats`` identical calls."""
    ss.simulate(model, t_end=min(t_end, 1.0), n_trajectories=1, seed=1, n_threads=threads)
    best, events = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        ens = ss.simulate(model, t_end=t_end, n_trajectories=n, seed=1, n_threads=threads,
                          sample_every=t_end / 10)
        wall = time.perf_counter() - start
        if wall < best:
            best, events = wall, int(ens.n_events.sum())
    return best, events


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sweep", action="store_true", help="also time the V13 sweep")
    args = parser.parse_args(argv)
    cases = [("holoenzymes, rest 0.1 uM", holoenzyme_model(0.1), 20.0),
             ("holoenzymes, plateau 2 uM", holoenzyme_model(2.0), 5.0),
             ("switch N = 10, rest", ss.load_model(ROOT / "reactions/examples/"
                                                   "camkii_switch.toml").with_parameters(
                 n_holo=10, n_up=10, turnover="0 /s"), 86400.0 * 30)]
    print(f"{'case':28s} {'reactions':>9s} {'t_end (s)':>10s} {'events/traj':>12s} "
          f"{'wall (s)':>9s} {'ns/event':>9s} {'M events/s':>10s}")
    for name, model, t_end in cases:
        wall, events = measure(model, t_end, args.trajectories, args.repeats)
        print(f"{name:28s} {len(model.reactions):9d} {t_end:10g} "
              f"{events / args.trajectories:12.0f} {wall:9.3f} {wall / events * 1e9:9.1f} "
              f"{events / wall / 1e6:10.2f}", flush=True)
    if args.sweep:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, str(ROOT / "analysis" / "camkii_switch.py"),
                                 "--out", "/tmp/bench_camkii_switch.png"],
                                capture_output=True, text=True, check=True)
        total = time.perf_counter() - start
        line = next(l for l in result.stdout.splitlines()
                    if l.startswith("simulation wall time"))
        print(f"V13 sweep (analysis/camkii_switch.py, all cores): {line}; whole command "
              f"{total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
