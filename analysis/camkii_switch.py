"""V13: how long the UP and DOWN states of the CaMKII/PP1 switch last, against the number
of PSD holoenzymes N, with and without turnover, and with one PP1 fewer or more.

Usage::

    python analysis/camkii_switch.py [--seed 20261211] [--trajectories 16]
        [--n 4 6 8 10] [--pp1-at 6] [--out out/camkii_switch.png]

Model: reactions/examples/camkii_switch.toml (Miller et al. 2005's reduced switch at
resting Ca²⁺; its header gives the sources and the calibration). Every trajectory starts
fully phosphorylated and runs for ``days(N)`` simulated days; the pT286 fraction, sampled
every 30 min, is cut into UP (entered at >= 0.55) and DOWN (entered at <= 0.1) episodes
(stochsyn.validation.camkii_switch). Mean dwell times are maximum-likelihood exponential
means with the last, unfinished episode of each trajectory censored; their SE is mean/√k.

How the long lifetimes are reached: direct exact simulation (the plain SSA loop at rest:
about 2,000 events per holoenzyme and simulated day, so N = 10 for 3 simulated years is
~2·10⁸ events). Lifetimes grow by a factor e^slope per holoenzyme; N = 12–20 are
extrapolated from the weighted fit of ln(mean dwell) on N (band: ± 1.96 SE of the line),
because a simulated century per episode at N = 15–20 is out of reach here and importance
splitting is not implemented.

Writes the PNG (dwell time against N with the fits and the extrapolation; the UP dwell-time
distribution at the PP1 comparison's N against the exponential law; the PP1 ± 1 trade-off;
a sample trajectory) and a CSV beside it (rows: one per configuration and state, then the
fits, with the command and seed in the header). Prints the table. Three sweeps: no
turnover; turnover at 1/(30 h) with the same calibration; turnover with PP1 15 % less
active (pp1_active_fraction 5.5e-4), which balances UP and DOWN again. About 4–6 minutes on
2 cores. Needs matplotlib (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

import stochsyn as ss
from stochsyn.validation import camkii_switch as v13

SEED = 20261211
#: Simulated days per N: about 40 expected UP + DOWN cycles over 16 trajectories, from
#: lifetimes that grow ~e^0.5 per holoenzyme (a first run gave 125 h UP at N = 4).
DAYS = {2: 15, 3: 20, 4: 40, 5: 70, 6: 120, 7: 220, 8: 400, 9: 700, 10: 1200}
EXTRAPOLATE = np.arange(4, 21)
#: The model's calibration (pp1_active_fraction 6.5e-4) balances UP and DOWN without
#: turnover; with turnover the balance moves towards DOWN, and 5.5e-4 (PP1 15 % less
#: active) balances it again. Both are run with turnover.
CALIBRATIONS = ((False, None), (True, None), (True, 5.5e-4))


def run_all(ns, n_traj, seed, pp1_at, n_threads=None):
    base = v13.load_repository_model(v13.MODEL)
    runs = []
    for turnover, fraction in CALIBRATIONS:
        model = base if fraction is None else base.with_parameters(
            pp1_active_fraction=fraction)
        for n in ns:
            run = v13.dwell_times(n, t_end_h=24 * DAYS[n], n_trajectories=n_traj, seed=seed,
                                  turnover=turnover, sample_every_h=0.5,
                                  n_threads=n_threads, model=model)
            runs.append(run)
            print(f"  N = {n:2d}, turnover {'on ' if turnover else 'off'}, PP1 active "
                  f"{run.pp1_active_fraction:.2g}: {run.wall_s:6.1f} s, {run.events:.3g} "
                  "events", flush=True)
    for n_pp1 in (pp1_at - 1, pp1_at + 1):
        run = v13.dwell_times(pp1_at, n_pp1=n_pp1, t_end_h=24 * DAYS[pp1_at],
                              n_trajectories=n_traj, seed=seed, sample_every_h=0.5,
                              n_threads=n_threads, model=base)
        runs.append(run)
        print(f"  N = {pp1_at}, PP1 = {n_pp1}: {run.wall_s:6.1f} s", flush=True)
    return runs


def table_rows(runs):
    rows = []
    for r in runs:
        for state in ("UP", "DOWN"):
            mean, se, k = r.mean(state)
            censored = r.up_censored_h if state == "UP" else r.down_censored_h
            rows.append({"kind": "dwell", "n_holo": r.n_holo, "n_pp1": r.n_pp1,
                         "turnover": int(r.turnover),
                         "pp1_active_fraction": r.pp1_active_fraction,
                         "state": state, "episodes": k,
                         "censored": len(censored), "mean_h": mean, "se_h": se,
                         "ks_p_exponential": r.ks_exponential(state),
                         "t_end_h": r.t_end_h, "trajectories": r.n_trajectories,
                         "events": r.events, "wall_s": round(r.wall_s, 2),
                         "stopped": r.stopped})
    return rows


def groups(rows):
    """(turnover, PP1 active fraction) of every sweep, in run order."""
    return list(dict.fromkeys((r["turnover"], r["pp1_active_fraction"]) for r in rows
                              if r["n_pp1"] == r["n_holo"]))


def fits(rows):
    out = {}
    for turnover, fraction in groups(rows):
        for state in ("UP", "DOWN"):
            pts = [r for r in rows if r["turnover"] == turnover and r["state"] == state
                   and r["pp1_active_fraction"] == fraction and r["n_pp1"] == r["n_holo"]
                   and r["episodes"] >= 3]
            if len(pts) >= 2:
                out[(turnover, fraction, state)] = v13.fit_log_lifetime(
                    [p["n_holo"] for p in pts], [p["mean_h"] for p in pts],
                    [p["se_h"] for p in pts])
    return out


def fit_rows(fitted):
    rows = []
    for (turnover, fraction, state), fit in fitted.items():
        mean, low, high = fit.predict_h(EXTRAPOLATE)
        rows.append({"kind": "fit", "turnover": turnover, "pp1_active_fraction": fraction,
                     "state": state,
                     "slope_per_holoenzyme": fit.slope, "slope_se": fit.slope_se,
                     "r2": fit.r2, **{f"pred_N{n}_h": m for n, m in zip(EXTRAPOLATE, mean)},
                     **{f"pred_N{n}_low_h": lo for n, lo in zip(EXTRAPOLATE, low)},
                     **{f"pred_N{n}_high_h": hi for n, hi in zip(EXTRAPOLATE, high)}})
    return rows


def plot(out, runs, rows, fitted, pp1_at, seed):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    ax = axes[0, 0]
    lines = ("-", ":", "-.")
    for g, (turnover, fraction) in enumerate(groups(rows)):
        for state, colour, marker in (("UP", "tab:red", "o"), ("DOWN", "tab:blue", "s")):
            pts = [r for r in rows if r["kind"] == "dwell" and r["turnover"] == turnover
                   and r["pp1_active_fraction"] == fraction and r["state"] == state
                   and r["n_pp1"] == r["n_holo"] and math.isfinite(r["mean_h"])]
            label = (f"{state}, turnover {'1/(30 h)' if turnover else 'off'}, PP1 active "
                     f"{fraction:.2g}")
            ax.errorbar([p["n_holo"] for p in pts], [p["mean_h"] for p in pts],
                        yerr=[2 * p["se_h"] for p in pts], fmt=marker, color=colour,
                        mfc=("white", colour, "none")[g % 3], label=label + " (± 2 SE)")
            fit = fitted.get((turnover, fraction, state))
            if fit is not None:
                mean, low, high = fit.predict_h(EXTRAPOLATE)
                ax.plot(EXTRAPOLATE, mean, lines[g % 3], color=colour, lw=1)
                if g == 0:
                    ax.fill_between(EXTRAPOLATE, low, high, color=colour, alpha=0.12, lw=0)
    for years, text in ((1, "1 year"), (10, "10 years"), (100, "100 years")):
        ax.axhline(years * 8766, color="grey", lw=0.6, ls="--")
        ax.text(EXTRAPOLATE[0], years * 8766 * 1.15, text, fontsize=7, color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("PSD holoenzymes N (PP1 = N)")
    ax.set_ylabel("mean dwell time (h)")
    ax.set_title("V13: dwell times; lines: weighted fit of ln(mean) on N,\n"
                 "shaded: extrapolation ± 1.96 SE (no turnover)", fontsize=9)
    ax.legend(fontsize=6.5, frameon=True, loc="lower right")

    ax = axes[0, 1]
    ref = runs[[r.n_holo for r in runs].index(pp1_at)]     # the first sweep: no turnover
    for state, data, colour in (("UP", ref.up_h, "tab:red"), ("DOWN", ref.down_h,
                                                            "tab:blue")):
        if len(data) == 0:
            continue
        mean = ref.mean(state)[0]
        x = np.sort(data)
        survival = 1.0 - np.arange(len(x)) / len(x)
        ax.step(x, survival, where="post", color=colour,
                label=f"{state}: {len(x)} episodes, KS p = {ref.ks_exponential(state):.2f}")
        grid = np.linspace(0, x.max(), 100)
        ax.plot(grid, np.exp(-grid / mean), color=colour, lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("dwell time (h)")
    ax.set_ylabel("fraction of episodes longer")
    ax.set_title(f"N = {pp1_at}: survival of episodes (steps) against the exponential "
                 "law (dashed)", fontsize=9)
    ax.legend(fontsize=7, frameon=False)

    ax = axes[1, 0]
    labels, ups, downs, up_err, down_err = [], [], [], [], []
    for n_pp1 in (pp1_at - 1, pp1_at, pp1_at + 1):
        r = next(x for x in runs if x.n_holo == pp1_at and x.n_pp1 == n_pp1
                 and not x.turnover and x.pp1_active_fraction == runs[0].pp1_active_fraction)
        labels.append(f"PP1 = {n_pp1}")
        for state, means, errors in (("UP", ups, up_err), ("DOWN", downs, down_err)):
            mean, se, _ = r.mean(state)     # inf: no episode ended (shown as a gap)
            means.append(mean if math.isfinite(mean) else np.nan)
            errors.append(2 * se if math.isfinite(se) else np.nan)
    x = np.arange(3)
    ax.bar(x - 0.2, ups, 0.4, yerr=up_err, color="tab:red", label="UP (± 2 SE)")
    ax.bar(x + 0.2, downs, 0.4, yerr=down_err, color="tab:blue", label="DOWN (± 2 SE)")
    for i, (u, d) in enumerate(zip(ups, downs)):
        for value, dx in ((u, -0.2), (d, 0.2)):
            if np.isnan(value):
                ax.text(i + dx, 30, f"no episode ended\nin {DAYS[pp1_at]} days", ha="center",
                        fontsize=6.5, rotation=90)
    ax.set_xticks(x, labels)
    ax.set_yscale("log")
    ax.set_ylabel("mean dwell time (h)")
    ax.set_title(f"N = {pp1_at} holoenzymes: one PP1 fewer lengthens UP and shortens DOWN",
                 fontsize=9)
    ax.legend(fontsize=7, frameon=False)

    ax = axes[1, 1]
    model = v13.switch_model(pp1_at)
    ens = ss.simulate(model, 24 * 3600 * DAYS[pp1_at] / 4, 2, seed=seed,
                      sample_every=1800.0)
    for i in range(2):
        ax.plot(ens.times / 3600 / 24, ens.values("pt286")[i] / (12 * pp1_at), lw=0.6)
    ax.axhline(v13.UP_FRACTION, color="tab:red", lw=0.6, ls="--")
    ax.axhline(v13.DOWN_FRACTION, color="tab:blue", lw=0.6, ls="--")
    ax.set_xlabel("time (days)")
    ax.set_ylabel("pT286 fraction")
    ax.set_title(f"N = {pp1_at}, no turnover: two trajectories (dashed: the UP and DOWN "
                 "thresholds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=150)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--trajectories", type=int, default=16)
    parser.add_argument("--n", type=int, nargs="+", default=[4, 6, 8, 10])
    parser.add_argument("--pp1-at", type=int, default=6)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="out/camkii_switch.png")
    args = parser.parse_args(argv)
    if args.pp1_at not in args.n:
        parser.error("--pp1-at must be one of --n")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    runs = run_all(args.n, args.trajectories, args.seed, args.pp1_at, args.threads)
    wall = time.perf_counter() - start
    rows = table_rows(runs)
    fitted = fits(rows)
    frows = fit_rows(fitted)
    print(f"{'N':>3} {'PP1':>4} {'turn':>4} {'active':>7} {'state':>5} {'k':>4} "
          f"{'mean (h)':>10} {'SE (h)':>9} {'KS p':>6}")
    for r in rows:
        print(f"{r['n_holo']:3d} {r['n_pp1']:4d} {r['turnover']:4d} "
              f"{r['pp1_active_fraction']:7.2g} {r['state']:>5} {r['episodes']:4d} "
              f"{r['mean_h']:10.1f} {r['se_h']:9.1f} {r['ks_p_exponential']:6.3f}")
    for f in frows:
        print(f"fit turnover={f['turnover']} active={f['pp1_active_fraction']:.2g} "
              f"{f['state']}: slope {f['slope_per_holoenzyme']:.3f}"
              f" ± {f['slope_se']:.3f} per holoenzyme, r² = {f['r2']:.3f}; "
              f"N = 15: {f['pred_N15_h'] / 8766:.3g} years "
              f"({f['pred_N15_low_h'] / 8766:.3g}–{f['pred_N15_high_h'] / 8766:.3g}), "
              f"N = 20: {f['pred_N20_h'] / 8766:.3g} years")
    print(f"simulation wall time {wall:.1f} s "
          f"({sum(r.events for r in runs):.3g} events)")
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        handle.write(f"# python {' '.join(sys.argv)}  (seed {args.seed}; sweep wall time "
                     f"{wall:.1f} s)\n")
        names = list(dict.fromkeys(k for r in rows + frows for k in r))
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows + frows)
    plot(out, runs, rows, fitted, args.pp1_at, args.seed)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
