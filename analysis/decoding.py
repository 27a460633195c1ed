"""V11 and V12: which calmodulin target reads which Ca²⁺ signal.

Usage::

    python analysis/decoding.py [--seed 20261213] [--trajectories 8]
        [--out out/decoding.png] [--skip-v12]

V11 (frequency decoding at fixed total Ca²⁺): the decoding stack (two-lobe calmodulin
30 µM, 20 CaMKII holoenzymes, I1/PKA/PP1, calcineurin 1.6 µM binding Ca₄CaM; 0.1 fL)
driven by 20 Ca²⁺ pulses A·exp(−t/τ), A = 2 µM, τ = 60 ms, on 0.1 µM at rest, at 0.1–100
Hz (the same total Ca²⁺ at every frequency); activation = peak fraction of CaMKII subunits
and of calcineurin holding Ca₄CaM, over the train and 10 s after. Then, at 10 Hz, the
amplitude A (the total Ca²⁺) from 0.5 to 4 µM.

V12 (Ca²⁺ sensitivity): the MWC calmodulin of Stefan et al. (2008) with one target at a
time (their totals, 1 fL), Ca²⁺ clamped at steady levels 1 nM–10 µM for 2000 s; the
fraction of the target bound (time average over the second half, ± SE over trajectories)
against the mass-action equilibrium; EC50 of each, normalised between no Ca²⁺ and saturation.

Code: stochsyn.validation.decoding. Writes the PNG (four panels) and a CSV beside it (the
command and seed in its header) and prints the numbers. About 4–6 minutes on 2 cores.
Needs matplotlib (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

from stochsyn.validation import decoding as dec

SEED = 20261213
FREQUENCIES_HZ = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
AMPLITUDES_UM = (0.5, 1.0, 2.0, 4.0)
N_PULSES, AMPLITUDE_UM, TAU_S, AMPLITUDE_RATE_HZ = 20, 2.0, 0.06, 10.0
CA_LEVELS_UM = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0)
V12_T_END_S = 2000.0


def v11(n_traj, seed, threads):
    by_frequency = [dec.activation(f, n_pulses=N_PULSES, amplitude_um=AMPLITUDE_UM,
                                   tau_s=TAU_S, n_trajectories=n_traj, seed=seed,
                                   n_threads=threads) for f in FREQUENCIES_HZ]
    by_amplitude = [dec.activation(AMPLITUDE_RATE_HZ, n_pulses=N_PULSES, amplitude_um=a,
                                   tau_s=TAU_S, n_trajectories=n_traj, seed=seed,
                                   n_threads=threads) for a in AMPLITUDES_UM]
    return by_frequency, by_amplitude


def v12(n_traj, seed, threads):
    return {target: dec.dose_response(target, CA_LEVELS_UM, t_end_s=V12_T_END_S,
                                      n_trajectories=n_traj, seed=seed, n_threads=threads)
            for target in ("CaN", "CaMKII")}


def ec50s(responses):
    """(SSA EC50, exact EC50) per target, normalised by the exact no-Ca²⁺ and saturated
    values."""
    out = {}
    for target, r in responses.items():
        low = dec.mwc_equilibrium(0.0, target)
        high = dec.mwc_equilibrium(1e4, target)
        out[target] = (dec.ec50(r.ca_um, r.bound, low, high),
                       dec.ec50(r.ca_um, r.exact, low, high))
    return out


def plot(out, by_f, by_a, responses, ec, rho):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    f = [a.rate_hz for a in by_f]
    ax = axes[0, 0]
    ax.errorbar(f, [a.camkii for a in by_f], yerr=[2 * a.camkii_se for a in by_f], fmt="o-",
                color="tab:red", label="CaMKII: subunits holding Ca₄CaM")
    ax.errorbar(f, [a.can for a in by_f], yerr=[2 * a.can_se for a in by_f], fmt="s-",
                color="tab:blue", label="CaN: bound to Ca₄CaM")
    ax.set_xscale("log")
    ax.set_xlabel("pulse frequency (Hz)")
    ax.set_ylabel("peak fraction active (± 2 SE)")
    ax.set_title(f"V11: {N_PULSES} Ca²⁺ pulses, {AMPLITUDE_UM:g} µM × {TAU_S * 1e3:g} ms "
                 "each (same total Ca²⁺)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax = axes[0, 1]
    ax.errorbar(f, [a.ratio for a in by_f], yerr=[2 * a.ratio_se for a in by_f], fmt="o-",
                color="black")
    ax.set_xscale("log")
    ax.set_xlabel("pulse frequency (Hz)")
    ax.set_ylabel("CaMKII / CaN activation (± 2 SE)")
    ax.set_title(f"V11: the ratio rises with frequency (Spearman ρ = {rho:.2f}; "
                 "target ρ > 0.8)", fontsize=9)
    ax = axes[1, 0]
    total = [N_PULSES * a.amplitude_um * TAU_S for a in by_a]
    ax.errorbar(total, [a.camkii for a in by_a], yerr=[2 * a.camkii_se for a in by_a],
                fmt="o-", color="tab:red", label="CaMKII")
    ax.errorbar(total, [a.can for a in by_a], yerr=[2 * a.can_se for a in by_a], fmt="s-",
                color="tab:blue", label="CaN")
    ax.set_xlabel("total Ca²⁺ (µM·s), 10 Hz")
    ax.set_ylabel("peak fraction active (± 2 SE)")
    ax.set_title(f"V11: at {AMPLITUDE_RATE_HZ:g} Hz CaMKII follows the total Ca²⁺",
                 fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    ax = axes[1, 1]
    if responses:
        grid = np.logspace(-3.5, 1.5, 200)
        for target, colour in (("CaN", "tab:blue"), ("CaMKII", "tab:red")):
            r = responses[target]
            low = dec.mwc_equilibrium(0.0, target)
            high = dec.mwc_equilibrium(1e4, target)
            scale = lambda v: (np.asarray(v) - low) / (high - low)   # noqa: E731
            ax.errorbar(r.ca_um, scale(r.bound), yerr=2 * r.bound_se / (high - low),
                        fmt="o", color=colour, label=f"{target} SSA (± 2 SE)")
            ax.plot(grid, scale([dec.mwc_equilibrium(c, target) for c in grid]),
                    color=colour, lw=1, label=f"{target} mass-action equilibrium")
            ax.axvline(ec[target][1], color=colour, lw=0.7, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("free Ca²⁺ (µM)")
        ax.set_ylabel("bound fraction, normalised (0: no Ca²⁺, 1: saturated)")
        ax.set_title(f"V12 (MWC CaM, one target at a time): EC50 CaN "
                     f"{ec['CaN'][0] * 1e3:.3g} nM, CaMKII {ec['CaMKII'][0] * 1e3:.3g} nM",
                     fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=150)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--skip-v12", action="store_true")
    parser.add_argument("--out", default="out/decoding.png")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    by_f, by_a = v11(args.trajectories, args.seed, args.threads)
    rho = stats.spearmanr([a.rate_hz for a in by_f], [a.ratio for a in by_f]).statistic
    rho_total = stats.spearmanr([a.amplitude_um for a in by_a],
                                [a.camkii for a in by_a]).statistic
    responses = {} if args.skip_v12 else v12(max(4, args.trajectories // 2), args.seed,
                                             args.threads)
    ec = ec50s(responses) if responses else {}
    wall = time.perf_counter() - start
    rows = []
    print(f"{'f (Hz)':>7} {'A (uM)':>7} {'CaMKII':>8} {'CaN':>8} {'ratio':>7} {'± SE':>6}")
    for a in by_f + by_a:
        print(f"{a.rate_hz:7g} {a.amplitude_um:7g} {a.camkii:8.4f} {a.can:8.4f} "
              f"{a.ratio:7.3f} {a.ratio_se:6.3f}")
        rows.append({"validation": "V11", "rate_hz": a.rate_hz, "amplitude_um":
                     a.amplitude_um, "tau_s": TAU_S, "pulses": N_PULSES,
                     "camkii_peak": a.camkii, "camkii_se": a.camkii_se,
                     "can_peak": a.can, "can_se": a.can_se, "ratio": a.ratio,
                     "ratio_se": a.ratio_se, "wall_s": round(a.wall_s, 2)})
    print(f"V11: Spearman rho(frequency, CaMKII/CaN) = {rho:.3f}; "
          f"rho(total Ca, CaMKII) at {AMPLITUDE_RATE_HZ:g} Hz = {rho_total:.3f}")
    for target, r in responses.items():
        for ca, m, se, ex in zip(r.ca_um, r.bound, r.bound_se, r.exact):
            rows.append({"validation": "V12", "target": target, "ca_um": ca,
                         "bound_fraction": m, "bound_se": se, "exact": ex,
                         "z": (m - ex) / se if se > 0 else math.nan})
    if ec:
        for target, (ssa, exact) in ec.items():
            rows.append({"validation": "V12", "target": target, "ec50_um": ssa,
                         "ec50_exact_um": exact})
        ratio = ec["CaMKII"][0] / ec["CaN"][0]
        print(f"V12: EC50 CaN {ec['CaN'][0]:.4g} uM (exact {ec['CaN'][1]:.4g}), CaMKII "
              f"{ec['CaMKII'][0]:.4g} uM (exact {ec['CaMKII'][1]:.4g}); ratio {ratio:.3g}")
    print(f"wall time {wall:.1f} s")
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        handle.write(f"# python {' '.join(sys.argv)}  (seed {args.seed}; wall {wall:.1f} s; "
                     f"V11 Spearman rho {rho:.3f})\n")
        names = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(handle, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    plot(out, by_f, by_a, responses, ec, rho)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
