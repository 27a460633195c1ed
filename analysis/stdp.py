"""V14: the spike-timing-dependent plasticity window of the default spine model.

Usage::

    python analysis/stdp.py [--trajectories 100] [--after 3600] [--seed 20261217]
        [--threads 2] [--out-dir out] [--delays -100,-50,...] [--pairs 60]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up, baseline at 300 s), then 60 pre–post pairings at 1 Hz with one bAP each
(stochsyn.protocols.stdp; Δt = t_post − t_pre, positive = pre before post; no cooperative
depolarisation: pairing is a whole-cell, one-pathway protocol) for Δt = −100, −50, −40,
−20, −10, −5, +5, +10, +20, +40, +50, +100 ms, and the weight read ``--after`` s (default
3600 = 60 min) after the last spike. A control (no stimulus) is read at the same delay.

Target (docs/science.md §9, V14, held out; Bi & Poo 1998): LTP ≈ +40–100 % for
0 < Δt ≤ 20 ms, LTD ≈ −20–40 % for −20 ≤ Δt < 0, small beyond ±40–50 ms; window
half-widths τ+ ≈ 16.8 ms, τ− ≈ 33.7 ms within ×2. Measured: Δweight % per synapse at the
read-out (mean ± SE, Student-t 95 % CI, fractions beyond ±10 %;
stochsyn.trafficking.summary) and, per side, the least-squares fit of
A·exp(−|Δt|/τ) to the mean Δweight (τ on a 1–300 ms grid, A in closed form), with the
sign pattern checked against V14.

Writes ``OUT_DIR/stdp.png`` (Δweight against Δt with 95 % CIs and the two fitted
exponentials), ``stdp.csv``, ``stdp_fit.csv``, ``stdp_trajectories.csv`` and
``stdp_timecourse.csv``; prints the table. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261217
DELAYS_MS = (-100.0, -50.0, -40.0, -20.0, -10.0, -5.0, 5.0, 10.0, 20.0, 40.0, 50.0, 100.0)
PAIRS = 60
#: Bi & Poo's fitted half-widths (docs/science.md §9 V14), ms.
TAU_PLUS_MS, TAU_MINUS_MS = 16.8, 33.7


def conditions(delays_ms=DELAYS_MS, pairs: int = PAIRS,
               start: float = P.WARM_UP_S) -> list[P.Condition]:
    return [P.Condition("control", None)] + [
        P.Condition(f"dt {d:+g} ms", ss.protocols.stdp(d, pairs=pairs, start_s=start),
                    value=d) for d in delays_ms]


def fit_window(delay_ms, delta_pct) -> dict:
    """Least-squares A·exp(−|Δt|/τ) on each side of Δt = 0.

    Parameters
    ----------
    delay_ms, delta_pct : (n,) array_like
        Δt (ms) and mean Δweight (%).

    Returns
    -------
    dict
        ``a_plus_pct``, ``tau_plus_ms`` (Δt > 0) and ``a_minus_pct``, ``tau_minus_ms``
        (Δt < 0); NaN for a side with fewer than two delays. τ is the grid value (1–300 ms,
        1 ms steps) of least squared error, A its closed-form amplitude;
        ``tau_plus_at_grid_edge`` / ``tau_minus_at_grid_edge`` say that the best τ is an end
        of the grid (the side is not an exponential window: no half-width to compare).
    """
    d = np.asarray(delay_ms, dtype=float)
    y = np.asarray(delta_pct, dtype=float)
    out = {}
    taus = np.arange(1.0, 301.0)
    for side, mask in (("plus", d > 0), ("minus", d < 0)):
        x, v = np.abs(d[mask]), y[mask]
        keep = ~np.isnan(v)
        x, v = x[keep], v[keep]
        if len(x) < 2:
            out[f"a_{side}_pct"], out[f"tau_{side}_ms"] = np.nan, np.nan
            out[f"tau_{side}_at_grid_edge"] = False
            continue
        basis = np.exp(-x[None, :] / taus[:, None])             # (n_tau, n_delay)
        amplitude = (basis @ v) / np.sum(basis ** 2, axis=1)
        error = np.sum((v[None, :] - amplitude[:, None] * basis) ** 2, axis=1)
        k = int(np.argmin(error))
        out[f"a_{side}_pct"], out[f"tau_{side}_ms"] = float(amplitude[k]), float(taus[k])
        out[f"tau_{side}_at_grid_edge"] = k in (0, len(taus) - 1)
    return out


def plot(summary: pd.DataFrame, fit: dict, settings: dict, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    paired = summary[summary["condition"] != "control"]
    P.plot_delta(ax, paired, paired["value"], xlabel="Δt = t_post − t_pre (ms)")
    for side, sign in (("plus", 1), ("minus", -1)):
        if np.isfinite(fit[f"tau_{side}_ms"]):
            x = np.linspace(1, 100, 200)
            ax.plot(sign * x, fit[f"a_{side}_pct"] * np.exp(-x / fit[f"tau_{side}_ms"]),
                    color="tab:red" if sign > 0 else "tab:blue", lw=1,
                    label=f"τ{'+' if sign > 0 else '−'} = {fit[f'tau_{side}_ms']:g} ms")
    control = summary[summary["condition"] == "control"]
    if len(control):
        ax.axhline(control["delta_weight_pct_mean"].iloc[0], color="0.5", ls="--", lw=1,
                   label="control (no stimulus)")
    ax.axvline(0, color="k", lw=0.5)
    ax.set_title(f"{settings['pairs']} pairings at 1 Hz, read "
                 f"{settings['after_s'] / 60:.3g} min after; "
                 f"{settings['n_trajectories']} synapses per point", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=100)
    parser.add_argument("--delays", default=",".join(f"{d:g}" for d in DELAYS_MS),
                        help="comma-separated Δt in ms")
    parser.add_argument("--pairs", type=int, default=PAIRS,
                        help=f"pairings (default {PAIRS}; fewer only for a check)")
    args = parser.parse_args(argv)
    delays = [float(d) for d in args.delays.split(",") if d.strip()]
    run = P.run_from_arguments(lambda: conditions(delays, args.pairs, args.warm_up), args)
    run.settings["pairs"] = args.pairs
    summary = run.summary()
    paired = summary[summary["condition"] != "control"]
    fit = fit_window(paired["value"], paired["delta_weight_pct_mean"])
    fit.update(tau_plus_target_ms=TAU_PLUS_MS, tau_minus_target_ms=TAU_MINUS_MS)
    paths = P.write_tables(run, args.out_dir, "stdp")
    pd.DataFrame([{**fit, **run.settings}]).to_csv(args.out_dir / "stdp_fit.csv", index=False)
    plot(summary, fit, run.settings, args.out_dir / "stdp.png")
    print(P.format_summary(summary))
    print(f"fit: A+ = {fit['a_plus_pct']:.3g} %, τ+ = {fit['tau_plus_ms']:g} ms "
          f"(V14: {TAU_PLUS_MS}); A− = {fit['a_minus_pct']:.3g} %, "
          f"τ− = {fit['tau_minus_ms']:g} ms (V14: {TAU_MINUS_MS})"
          + ("; a τ at the end of its 1–300 ms grid means no exponential window on that side"
             if fit["tau_plus_at_grid_edge"] or fit["tau_minus_at_grid_edge"] else ""))
    print(f"wrote {args.out_dir / 'stdp.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
