"""V17: baseline stability of the default spine model under 0.05 Hz test pulses for 2 h.

Usage::

    python analysis/stability.py [--trajectories 100] [--after 7200] [--seed 20261219]
        [--threads 2] [--out-dir out]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up, baseline at 300 s), then either nothing (rest) or test pulses at 0.05 Hz (one
presynaptic spike every 20 s, stochsyn.protocols.train: one pathway, no cooperative
depolarisation) until the read-out. Here ``--after`` is the read-out counted from the
*start* of the test pulses (default 7200 s = 2 h, V17's duration), since the pulses last
until it.

Target (docs/science.md §9, V17): no drift, |Δweight| < 5 % for the ensemble mean after
2 h. Measured: Δweight % per synapse at the read-out (mean ± SE, Student-t 95 % CI,
fractions beyond ±10 %; stochsyn.trafficking.summary) and the drift (mean ± SE of the
weight) at 10, 30, 60 and 120 min and at the read-out.

Writes ``OUT_DIR/stability.png`` (weight / baseline against time, mean ± SE and single
synapses, the ±5 % band), ``stability.csv`` (summary), ``stability_drift.csv``,
``stability_trajectories.csv`` and ``stability_timecourse.csv``; prints the table. Needs
matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261219
TEST_RATE_HZ = 0.05
DURATION_S = 7200.0
BOUND_PCT = 5.0
DRIFT_MINUTES = (10.0, 30.0, 60.0, 120.0)


def conditions(duration_s: float = DURATION_S, start: float = P.WARM_UP_S
               ) -> list[P.Condition]:
    pulses = max(1, int(np.ceil(duration_s * TEST_RATE_HZ - 1e-9)))
    return [P.Condition("rest", None, readout_from_s=start),
            P.Condition("0.05 Hz test pulses",
                        ss.protocols.train(TEST_RATE_HZ, pulses, start_s=start),
                        value=TEST_RATE_HZ, readout_from_s=start)]


def drift(timecourse: pd.DataFrame, minutes=DRIFT_MINUTES) -> pd.DataFrame:
    """Mean ± SE of the weight (as % change) at the sample nearest each time (min)."""
    rows = []
    for name, c in timecourse.groupby("condition", sort=False):
        t = c["minutes_after_induction"].to_numpy()
        for m in sorted({*[m for m in minutes if m <= t.max() + 1e-9], float(t.max())}):
            k = int(np.argmin(np.abs(t - m)))
            rows.append({"condition": name, "minutes": float(t[k]),
                         "delta_weight_pct_mean": 100 * (c["weight_mean"].iloc[k] - 1),
                         "delta_weight_pct_se": 100 * c["weight_se"].iloc[k],
                         "n": int(c["n"].iloc[k])})
    return pd.DataFrame(rows)


def plot(run: P.PlasticityRun, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    P.plot_timecourses(ax, run.timecourse, {"rest": "0.4", "0.05 Hz test pulses": "tab:green"})
    ax.axhspan(1 - BOUND_PCT / 100, 1 + BOUND_PCT / 100, color="tab:green", alpha=0.08, lw=0)
    ax.set_xlabel("time after the warm-up (min)")
    ax.set_title(f"V17: {run.settings['n_trajectories']} synapses, mean ± SE "
                 f"(shaded: ±{BOUND_PCT:g} %)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=100, after_s=DURATION_S)
    args = parser.parse_args(argv)
    run = P.run_from_arguments(lambda: conditions(args.after, args.warm_up), args)
    summary = run.summary()
    summary["meets_v17"] = summary["delta_weight_pct_mean"].abs() < BOUND_PCT
    paths = P.write_tables(run, args.out_dir, "stability")
    summary.to_csv(paths["summary"], index=False)
    table = drift(run.timecourse)
    table.to_csv(args.out_dir / "stability_drift.csv", index=False)
    plot(run, args.out_dir / "stability.png")
    print(P.format_summary(summary))
    print(table.to_string(index=False))
    print(f"wrote {args.out_dir / 'stability.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
