"""V7: the Dudek & Bear frequency–response curve of the default spine model (BCM-like).

Usage::

    python analysis/bcm.py [--trajectories 100] [--after 3600] [--seed 20261216]
        [--threads 2] [--out-dir out] [--frequencies 0.5,1,3,5,10,20,50,100] [--pulses 900]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up, baseline at 300 s), then 900 presynaptic pulses at each frequency, 0.5, 1, 3, 5,
10, 20, 50 and 100 Hz (stochsyn.protocols.lfs(rate_hz=f, pulses=900): field stimulation
with the cooperative depolarisation), and the weight read ``--after`` s (default 3600 =
60 min) after the last pulse. A control (no stimulus) is read at the same delay.

Target (docs/science.md §9, V7, held out of the calibration; Dudek & Bear 1992): Δweight
negative at 1 and 3 Hz, positive at 50 and 100 Hz, crossover between 5 and 20 Hz; the
issue asks for ≥ 100 synapses per frequency. Measured: Δweight % per synapse at the read-out
(mean ± SE, Student-t 95 % CI, fractions beyond ±10 %; stochsyn.trafficking.summary), and
the crossover frequency θ_M: where the mean Δweight first goes from negative to positive
with rising frequency, interpolated linearly in log frequency between the two frequencies
that bracket it (the bracket is reported beside it; no crossover gives NaN, more than one
sign change is reported).

Writes ``OUT_DIR/bcm.png`` (Δweight against frequency, log axis, 95 % CIs, the crossover
and V7's sign windows), ``bcm.csv`` (summary per frequency), ``bcm_crossover.csv``,
``bcm_trajectories.csv`` and ``bcm_timecourse.csv``; prints the table. Needs matplotlib.
The full sweep (8 frequencies × 100 synapses, 0.5 Hz lasts 30 min) is the long one: run it
on the calibrated model; time it (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261216
FREQUENCIES_HZ = (0.5, 1.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)
PULSES = 900


def conditions(frequencies=FREQUENCIES_HZ, pulses: int = PULSES,
               start: float = P.WARM_UP_S) -> list[P.Condition]:
    return [P.Condition("control", None)] + [
        P.Condition(f"{f:g} Hz", ss.protocols.lfs(rate_hz=f, pulses=pulses,
                                                  start_s=start), value=f)
        for f in frequencies]


def crossover(frequency_hz, delta_pct) -> dict:
    """Where the mean Δweight first changes from negative to positive with rising frequency.

    Parameters
    ----------
    frequency_hz, delta_pct : (n,) array_like
        Frequencies (any order) and mean Δweight % at each.

    Returns
    -------
    dict
        ``crossover_hz`` (interpolated linearly in log frequency; NaN if there is no − → +
        change), ``bracket_low_hz``, ``bracket_high_hz`` and ``sign_changes`` (number of
        sign changes along the curve: more than one means the estimate is ambiguous).
    """
    f = np.asarray(frequency_hz, dtype=float)
    d = np.asarray(delta_pct, dtype=float)
    order = np.argsort(f)
    f, d = f[order], d[order]
    keep = ~np.isnan(d)
    f, d = f[keep], d[keep]
    signs = np.sign(d)
    changes = int(np.sum(signs[1:] * signs[:-1] < 0))
    for k in range(len(f) - 1):
        if d[k] < 0 < d[k + 1]:
            x0, x1 = np.log(f[k]), np.log(f[k + 1])
            x = x0 + (0 - d[k]) * (x1 - x0) / (d[k + 1] - d[k])
            return {"crossover_hz": float(np.exp(x)), "bracket_low_hz": f[k],
                    "bracket_high_hz": f[k + 1], "sign_changes": changes}
    return {"crossover_hz": np.nan, "bracket_low_hz": np.nan, "bracket_high_hz": np.nan,
            "sign_changes": changes}


def plot(summary: pd.DataFrame, cross: dict, settings: dict, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    stimulated = summary[summary["condition"] != "control"]
    P.plot_delta(ax, stimulated, stimulated["value"], xlabel="stimulation frequency (Hz)",
                 log_x=True)
    control = summary[summary["condition"] == "control"]
    if len(control):
        ax.axhline(control["delta_weight_pct_mean"].iloc[0], color="0.5", ls="--", lw=1,
                   label="control (no stimulus)")
    ax.axvspan(5, 20, color="0.85", alpha=0.5, lw=0, label="V7 crossover window")
    if np.isfinite(cross["crossover_hz"]):
        ax.axvline(cross["crossover_hz"], color="tab:purple", lw=1,
                   label=f"crossover {cross['crossover_hz']:.3g} Hz")
    ax.set_title(f"{settings['pulses']} pulses, read {settings['after_s'] / 60:.3g} min after; "
                 f"{settings['n_trajectories']} synapses per point", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=100)
    parser.add_argument("--frequencies", default=",".join(f"{f:g}" for f in FREQUENCIES_HZ),
                        help="comma-separated frequencies in Hz")
    parser.add_argument("--pulses", type=int, default=PULSES,
                        help=f"pulses per train (default {PULSES}; fewer only for a check)")
    args = parser.parse_args(argv)
    frequencies = [float(f) for f in args.frequencies.split(",") if f.strip()]
    run = P.run_from_arguments(lambda: conditions(frequencies, args.pulses, args.warm_up),
                               args)
    run.settings["pulses"] = args.pulses
    summary = run.summary()
    stimulated = summary[summary["condition"] != "control"]
    cross = crossover(stimulated["value"], stimulated["delta_weight_pct_mean"])
    paths = P.write_tables(run, args.out_dir, "bcm")
    pd.DataFrame([{**cross, **run.settings}]).to_csv(
        args.out_dir / "bcm_crossover.csv", index=False)
    plot(summary, cross, run.settings, args.out_dir / "bcm.png")
    print(P.format_summary(summary))
    print(f"crossover: {cross['crossover_hz']:.3g} Hz (between {cross['bracket_low_hz']:g} "
          f"and {cross['bracket_high_hz']:g} Hz; {cross['sign_changes']} sign change(s))")
    print(f"wrote {args.out_dir / 'bcm.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
