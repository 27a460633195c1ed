"""V19: reversal of plasticity on the default spine model: depotentiation (LFS after HFS)
and de-depression (HFS after LFS).

Usage::

    python analysis/reversal.py [--trajectories 100] [--after 3600] [--seed 20261220]
        [--threads 2] [--out-dir out] [--gap 1800] [--lfs-pulses 900]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up, baseline at 300 s), then

* HFS (100 Hz × 1 s) alone, and HFS followed ``--gap`` s later (onset to onset, default
  1800 s = 30 min) by LFS (1 Hz × 900): depotentiation;
* LFS alone, and LFS followed ``--gap`` s after its end by HFS: de-depression;
* a control (no stimulus);

each read ``--after`` s (default 3600 = 60 min) after the end of its last protocol. The
single-protocol arms are read at the same absolute time as the paired arm that starts
with them, so "HFS then LFS" is compared with "HFS" at the same age of the LTP.

Target (docs/science.md §9, V19; Dudek & Bear 1993): the second protocol reverses the
first — LFS after HFS lowers the weight (depotentiation), HFS after LFS raises it. Measured:
Δweight % from the baseline at the read-out (mean ± SE, Student-t 95 % CI, fractions
beyond ±10 %; stochsyn.trafficking.summary) and, for the paired arms, the change from the
sample just before the second protocol to the read-out (``delta_from_reference_pct``,
summarised the same way in ``reversal_second_stage.csv``); the sign of the latter is V19.

Writes ``OUT_DIR/reversal.png`` (weight time courses, mean ± SE), ``reversal.csv``,
``reversal_second_stage.csv``, ``reversal_trajectories.csv`` and
``reversal_timecourse.csv``; prints the tables. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261220
GAP_S = 1800.0


def conditions(gap_s: float = GAP_S, lfs_pulses: int = 900, hfs_pulses: int = 100,
               sample_every: float = P.SAMPLE_EVERY_S, start: float = P.WARM_UP_S
               ) -> list[P.Condition]:
    pr = ss.protocols
    hfs = pr.hfs(start_s=start, pulses=hfs_pulses)
    lfs = pr.lfs(start_s=start, pulses=lfs_pulses)
    hfs_then_lfs = pr.combine(hfs, pr.lfs(start_s=start + gap_s, pulses=lfs_pulses))
    lfs_end = P.induction_end_s(lfs, start)
    lfs_then_hfs = pr.combine(lfs, pr.hfs(start_s=lfs_end + gap_s, pulses=hfs_pulses))
    # the reference sample: the last one before the second protocol starts
    before_lfs = np.floor((start + gap_s) / sample_every - 1e-9) * sample_every
    before_hfs = np.floor((lfs_end + gap_s) / sample_every - 1e-9) * sample_every
    return [P.Condition("control", None, readout_from_s=P.induction_end_s(hfs_then_lfs, start)),
            P.Condition("HFS", hfs, readout_from_s=P.induction_end_s(hfs_then_lfs, start),
                        reference_s=before_lfs),
            P.Condition("HFS then LFS", hfs_then_lfs, reference_s=before_lfs),
            P.Condition("LFS", lfs, readout_from_s=P.induction_end_s(lfs_then_hfs, start),
                        reference_s=before_hfs),
            P.Condition("LFS then HFS", lfs_then_hfs, reference_s=before_hfs)]


def plot(run: P.PlasticityRun, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.2))
    course = run.timecourse.copy()
    course["minutes_after_induction"] = (course["time_s"] - run.settings["warm_up_s"]) / 60.0
    P.plot_timecourses(ax, course, {"control": "0.4", "HFS": "#f4a582",
                                    "HFS then LFS": "tab:red", "LFS": "#92c5de",
                                    "LFS then HFS": "tab:blue"}, singles=False)
    ax.set_xlabel("time after the first protocol's onset (min)")
    ax.set_title(f"V19: {run.settings['n_trajectories']} synapses, mean ± SE", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=100)
    parser.add_argument("--gap", type=float, default=GAP_S,
                        help=f"s from the first protocol to the second (default {GAP_S:g})")
    parser.add_argument("--lfs-pulses", type=int, default=900,
                        help="LFS pulses (default 900; fewer only for a check)")
    parser.add_argument("--hfs-pulses", type=int, default=100,
                        help="HFS pulses at 100 Hz (default 100; fewer only for a check)")
    args = parser.parse_args(argv)
    run = P.run_from_arguments(
        lambda: conditions(args.gap, args.lfs_pulses, args.hfs_pulses, args.sample_every,
                           args.warm_up), args)
    summary = run.summary()
    paths = P.write_tables(run, args.out_dir, "reversal")
    staged = run.per_trajectory.dropna(subset=["delta_from_reference_pct"])
    second = ss.trafficking.summary(
        staged[["condition", "delta_from_reference_pct"]].rename(
            columns={"delta_from_reference_pct": "delta_weight_pct"}), by="condition")
    expected = {"HFS then LFS": "< 0", "LFS then HFS": "> 0"}
    second["target"] = second["condition"].map(expected).fillna("")
    second["meets"] = [(m < 0 if t == "< 0" else m > 0) if t else np.nan
                       for m, t in zip(second["delta_weight_pct_mean"], second["target"])]
    second.to_csv(args.out_dir / "reversal_second_stage.csv", index=False)
    plot(run, args.out_dir / "reversal.png")
    print(P.format_summary(summary))
    print("change from just before the second protocol to the read-out:")
    print(P.format_summary(second))
    print(f"wrote {args.out_dir / 'reversal.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
