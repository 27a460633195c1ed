"""How long the default spine needs to settle from its declared start (docs/science.md §8.5,
"The warm-up"): control trajectories at rest, the trafficking pools and the enzymes that
drive them sampled every ``--sample-every`` s, and the time after which the mean weight
stays within a band of its late mean.

The model starts from a declared state (calmodulin Ca²⁺-free, I1 unphosphorylated, all PP1
free, the receptor pools of the standalone trafficking module), not from the spine's own
rest, so every plasticity read-out rests ``stochsyn.validation.plasticity.WARM_UP_S``
first and takes its baseline there. This script measures what that warm-up must be.

Per sample it writes the ensemble mean ± SE of the weight (``ampar_psd_conductance``
relative to its value at 0 s), PSD / trapped / extrasynaptic / endosomal receptors, the
phosphorylated slots Q, pS845 and pS831 receptors, active PSD CaMKII, CaN·CaM, free PP1.
The settling time it prints is the first sample after which the mean weight (relative to
the mean over the last ``--late`` s) never leaves ``1 ± --band`` again; with a few
trajectories that is noisy, so the per-pool means are printed every 5 min as well.

Usage (repository root)::

    python analysis/warm_up.py [--trajectories 4] [--t-end 3000] [--sample-every 10]
        [--late 900] [--band 0.03] [--seed 20261217] [--threads 1] [--out out]

Writes ``warm_up.csv`` (ensemble means per sample) and ``warm_up.png``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as pl

#: Observables followed (names from reactions/spine.toml's modules).
OBSERVABLES = ["ampar_psd_conductance", "ampar_psd", "ampar_trapped", "ampar_psd_free",
               "ampar_extra", "ampar_endo", "slots_phosphorylated", "ampar_ps845",
               "ampar_ps831", "camkii_psd_activity", "can_activity", "pp1_activity"]
SEED = 20261217


def settling_time(times: np.ndarray, mean_weight: np.ndarray, late_s: float,
                  band: float) -> float:
    """The first time after which ``mean_weight`` / (its mean over the last ``late_s``)
    stays within ``1 ± band`` (s); NaN if it never does."""
    late = mean_weight[times >= times[-1] - late_s].mean()
    outside = np.abs(mean_weight / late - 1.0) > band
    if not outside.any():
        return float(times[0])
    last = int(np.nonzero(outside)[0].max())
    return float(times[last + 1]) if last + 1 < len(times) else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=4)
    parser.add_argument("--t-end", type=float, default=3000.0)
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--late", type=float, default=900.0,
                        help="the reference: mean weight over the last LATE s")
    parser.add_argument("--band", type=float, default=0.03,
                        help="relative band around the reference (default 3 %%)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    model = ss.load_model(pl.MODEL)
    cpu, wall = time.process_time(), time.perf_counter()
    ens = ss.simulate(model, args.t_end, args.trajectories, seed=args.seed,
                      sample_every=args.sample_every, n_threads=args.threads,
                      max_events=10 ** 9)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    t = np.asarray(ens.times)
    table = {"time_s": t}
    for name in OBSERVABLES:
        values = np.asarray(ens.values(name), dtype=float)
        table[name + "_mean"] = values.mean(axis=0)
        table[name + "_se"] = values.std(axis=0, ddof=1) / np.sqrt(len(values))
    w = ss.trafficking.weight(ens, 0.0)
    table["weight_mean"], table["weight_se"] = w.mean(0), w.std(0, ddof=1) / np.sqrt(len(w))
    table = pd.DataFrame(table)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "warm_up.csv", index=False)
    print(f"{args.trajectories} trajectories to {args.t_end:g} s: {cpu:.1f} s CPU, "
          f"{wall:.1f} s wall ({1e3 * cpu / (args.trajectories * args.t_end):.1f} ms CPU per "
          "simulated second)")
    every = t % 300.0 < 1e-9
    columns = ["time_s", "weight_mean", "weight_se"] + [n + "_mean" for n in OBSERVABLES[1:]]
    print(table.loc[every, columns].round(2).to_string(index=False))
    settle = settling_time(t, table["weight_mean"].to_numpy(), args.late, args.band)
    late = table["weight_mean"][t >= t[-1] - args.late].mean()
    print(f"late mean weight (last {args.late:g} s, relative to 0 s): {late:.3f}; the mean "
          f"weight stays within ±{100 * args.band:g} % of it from {settle:g} s on")
    plot(table, args.out / "warm_up.png")
    return 0


def plot(table: pd.DataFrame, path: Path) -> None:
    """Weight and receptor pools (top), Q and the enzymes (bottom), mean ± SE."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    minutes = table["time_s"] / 60.0
    for name in ["ampar_psd", "ampar_trapped", "ampar_extra", "ampar_endo"]:
        top.plot(minutes, table[name + "_mean"], label=name)
    top.plot(minutes, 50 * table["weight_mean"], "k", label="50 × weight")
    top.set_ylabel("receptors")
    top.legend(fontsize=7)
    for name in ["slots_phosphorylated", "camkii_psd_activity", "can_activity",
                 "pp1_activity", "ampar_ps845"]:
        bottom.plot(minutes, table[name + "_mean"], label=name)
    bottom.set_ylabel("count")
    bottom.set_xlabel("min from the declared start")
    bottom.axvline(pl.WARM_UP_S / 60.0, color="k", lw=0.5, ls=":")
    bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
