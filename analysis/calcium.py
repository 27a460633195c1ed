"""SCIENCE §9 V4: free-Ca decay in the spine head after a brief influx, with the module
reactions/modules/calcium.toml (SCIENCE §5 numbers), as a table and a PNG.

Usage::

    python analysis/calcium.py [--trajectories 1000] [--seed 20261122] [--out calcium_v4.png]

The protocol and the fit are those of tests/statistical/test_calcium.py (imported from it):
N_ADD = 1265 ions (1 µM free if κ_E were 20) added at t = 10 ms, samples every 0.5 ms to
150 ms; τ is a least-squares single exponential on mean free Ca above rest, from the
buffered peak (first sample after the influx) to 10 % of the peak excess. κ_E is the change
of buffer-bound Ca (CaB + CaBslow) over the change of free Ca, both against rest, at the
buffered peak and 2 ms later (the slow buffer binds with τ ≈ 1 ms); "+ pumps" also counts
Ca bound to PMCA/NCX. The PNG shows mean ± SD free Ca (µM) and the ODE. A few seconds.
Needs matplotlib (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import stochsyn as ss  # noqa: E402
from tests.statistical.test_calcium import (  # noqa: E402
    DT, N_ADD, OMEGA, SEED, T_ADD, T_END, fit_decay, ode_steady_state, ode_v4, v4_model)


def kappa(mean_of, rest, k, bound_names):
    bound = sum(mean_of(n)[k] - rest[n] for n in bound_names)
    return bound / (mean_of("Ca")[k] - rest["Ca"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", default="calcium_v4.png")
    args = parser.parse_args(argv)

    model = v4_model()
    ens = ss.simulate(model, T_END, args.trajectories, seed=args.seed, sample_every=DT)
    times = ens.times
    ode = ode_v4(model, times)
    rest = dict(zip(model.species, ode_steady_state(model)))
    index = model.species.index

    def ssa_mean(name):
        return ens.values(name).mean(axis=0)

    def ode_of(name):
        return ode[index(name)]

    rows = []
    for label, mean_of in (("SSA mean", ssa_mean), ("ODE", ode_of)):
        free = mean_of("Ca")
        tau, peak, start, end = fit_decay(times, free, rest["Ca"])
        excess = free[start:end] - rest["Ca"]
        tau_log = -1 / np.polyfit(times[start:end], np.log(excess), 1)[0]
        buffers, pumps = ("CaB", "CaBslow"), ("CaB", "CaBslow", "CaPMCA", "CaNCX")
        rows.append((label, peak / OMEGA, tau * 1e3, tau_log * 1e3,
                     (times[end - 1] - times[start]) * 1e3,
                     kappa(mean_of, rest, start, buffers), kappa(mean_of, rest, start + 4, buffers),
                     kappa(mean_of, rest, start + 4, pumps)))
    print(f"V4: {N_ADD} Ca ions added at {T_ADD * 1e3:g} ms to 0.1 fL; rest "
          f"{rest['Ca']:.3f} molecules = {rest['Ca'] / OMEGA * 1e3:.1f} nM (ODE); "
          f"{args.trajectories} trajectories, seed {args.seed}")
    print(f"{'':9s} {'peak above rest':>16s} {'tau (LSQ)':>10s} {'tau (log)':>10s} "
          f"{'fit window':>10s} {'kE peak':>8s} {'kE +2ms':>8s} {'+pumps':>7s}")
    for label, peak, tau, tau_log, window, k0, k2, kp in rows:
        print(f"{label:9s} {peak:13.3f} uM {tau:7.1f} ms {tau_log:7.1f} ms {window:7.1f} ms "
              f"{k0:8.1f} {k2:8.1f} {kp:7.1f}")
    print("SCIENCE §9 V4: tau in 8-25 ms (12 ms), kappa_E ~ 20 (Sabatini et al. 2002): "
          + ("PASS" if 8 <= rows[0][2] <= 25 else "FAIL"))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    free = ens.values("Ca") / OMEGA
    mean, sd = free.mean(axis=0), free.std(axis=0)
    shown = times > T_ADD + 1e-9         # the sample at T_ADD holds the unbuffered bolus
    fig, ax = plt.subplots(figsize=(7, 4))
    t_ms = times * 1e3
    ax.fill_between(t_ms[shown], (mean - sd)[shown], (mean + sd)[shown], color="C0",
                    alpha=0.25, label="SSA ± SD")
    ax.plot(t_ms[shown], mean[shown], color="C0", label=f"SSA mean ({args.trajectories})")
    ax.plot(t_ms[shown], ode_of("Ca")[shown] / OMEGA, "k--", label="ODE")
    before = times < T_ADD - 1e-9
    ax.plot(t_ms[before], mean[before], color="C0")
    ax.axhline(rest["Ca"] / OMEGA, color="grey", lw=0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("free Ca²⁺ (µM)")
    ax.set_title(f"V4: {N_ADD} ions at {T_ADD * 1e3:g} ms; τ = {rows[0][2]:.0f} ms "
                 f"(target 8–25 ms)")
    ax.legend()
    fig.tight_layout()
    out = Path(args.out)
    fig.savefig(out, dpi=150)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
