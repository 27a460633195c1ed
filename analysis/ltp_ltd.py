"""LTP and LTD of the default spine model: weight time courses for HFS, TBS and LFS.

Usage::

    python analysis/ltp_ltd.py [--trajectories 200] [--after 3600] [--seed 20261214]
        [--threads 2] [--out-dir out]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up; the weight's baseline is each synapse's value at 300 s), then at 300 s one of

* control: nothing;
* HFS: 1 × 100 Hz × 1 s (stochsyn.protocols.hfs);
* TBS ×1, ×4, ×8: theta bursts (10 bursts of 4 pulses at 100 Hz, 5 Hz), trains 10 s apart
  (stochsyn.protocols.tbs);
* LFS: 1 Hz × 900 (stochsyn.protocols.lfs);

and the weight read ``--after`` s (default 3600 = 60 min) after the end of induction.

Targets (docs/science.md §9): V10, 1 × HFS gives Δweight +40 to +100 % at 60 min and the
TBS magnitude rises with the number of trains; V9, LFS gives −15 to −30 %; the issue asks
for ≥ 200 synapses per condition with 95 % CIs excluding 0. Measured: Δweight % at the
read-out per synapse, summarised as mean ± SE, Student-t 95 % CI and fraction of synapses
potentiated / depressed beyond ±10 % (stochsyn.trafficking.summary); also the mean peak
pT286 fraction, insertions and endocytoses.

Writes ``OUT_DIR/ltp_ltd.png`` (weight / baseline against time after induction, mean ±
SE and a few single synapses; right: Δweight with 95 % CIs per condition),
``ltp_ltd.csv`` (the summary), ``ltp_ltd_trajectories.csv`` and
``ltp_ltd_timecourse.csv``; prints the table. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261214
COLOURS = {"control": "0.4", "HFS": "tab:red", "TBS x1": "#f4a582", "TBS x4": "#d6604d",
           "TBS x8": "#67001f", "LFS": "tab:blue"}


TBS_TRAINS = (1, 4, 8)


def conditions(start: float = P.WARM_UP_S, tbs_trains=TBS_TRAINS,
               lfs_pulses: int = 900, hfs_pulses: int = 100) -> list[P.Condition]:
    return [P.Condition("control", None),
            P.Condition("HFS", ss.protocols.hfs(start_s=start, pulses=hfs_pulses), value=1),
            *[P.Condition(f"TBS x{k}", ss.protocols.tbs(trains=k, start_s=start), value=k)
              for k in tbs_trains],
            P.Condition("LFS", ss.protocols.lfs(start_s=start, pulses=lfs_pulses),
                        value=lfs_pulses)]


def plot(run: P.PlasticityRun, summary, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2),
                                      gridspec_kw={"width_ratios": [2.2, 1]})
    P.plot_timecourses(left, run.timecourse, COLOURS)
    left.legend(fontsize=8, frameon=False)
    left.set_title(f"reactions/spine.toml: mean ± SE of {run.settings['n_trajectories']} "
                   "synapses, thin: single synapses", fontsize=9)
    x = range(len(summary))
    P.plot_delta(right, summary, list(x), xlabel="")
    right.set_xticks(list(x), summary["condition"], rotation=45, fontsize=8)
    right.axhspan(40, 100, color="tab:red", alpha=0.08, lw=0)
    right.axhspan(-30, -15, color="tab:blue", alpha=0.08, lw=0)
    right.set_title(f"Δweight, {run.settings['after_s'] / 60:.3g} min after induction\n"
                    "(95 % CI; shaded: V10 and V9 ranges)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=200)
    parser.add_argument("--tbs-trains", default=",".join(map(str, TBS_TRAINS)),
                        help="TBS train counts, comma-separated (default 1,4,8)")
    parser.add_argument("--lfs-pulses", type=int, default=900,
                        help="LFS pulses at 1 Hz (default 900; fewer only for a check)")
    parser.add_argument("--hfs-pulses", type=int, default=100,
                        help="HFS pulses at 100 Hz (default 100; fewer only for a check)")
    args = parser.parse_args(argv)
    trains = [int(k) for k in args.tbs_trains.split(",") if k.strip()]
    run = P.run_from_arguments(
        lambda: conditions(args.warm_up, trains, args.lfs_pulses, args.hfs_pulses), args)
    summary = run.summary()
    paths = P.write_tables(run, args.out_dir, "ltp_ltd")
    plot(run, summary, args.out_dir / "ltp_ltd.png")
    print(P.format_summary(summary))
    print(f"wrote {args.out_dir / 'ltp_ltd.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
