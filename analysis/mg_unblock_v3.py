"""docs/science.md §9 V3: Mg²⁺ unblock of Kampa-scheme NMDA receptors after a step from −60 to
+40 mV, 10 ms and 3.5 s into a 4.6 s application of 1 mM glutamate, as a table and a PNG.

Usage::

    python analysis/mg_unblock_v3.py [--trajectories 1000] [--seed 20261122] [--out mg_unblock_v3.png]

Each trajectory is a patch of 100 receptors (1 mM Mg²⁺, 23 °C rates of Kampa et al. 2004).
The mean current after the step (open, unblocked receptors × 50 pS × 40 mV) is fitted by
c − Σ a_k exp(−t/τ_k) with three components, and 1 − (Mg²⁺-bound fraction) by two
(stochsyn.validation.mg_unblock); the table gives each τ and amplitude fraction (SSA ±
jackknife SE; the same fit of the exact master-equation curve) against Kampa's 0.1 ms, 4 ms
and 300 ms, then Z of the SSA mean against the master equation. The PNG shows the normalised
current after the step (log time) with the fits, and the unblocked fraction. Writes the PNG
and a CSV of the table beside it. 3 s for 1000 trajectories per condition on 2 cores
(2026-11-22, kernels compiled; the late step spends 3.5 s at −60 mV). Needs scipy and
matplotlib (``pip install '.[test,analysis]'``). The Kampa module is read from this
repository's reactions/ (a plain ``pip install .`` does not install it).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from stochsyn.validation import mg_unblock as mu

MODULE = Path(__file__).resolve().parents[1] / "reactions" / "modules" / "nmdar_kampa.toml"


def table_rows(results) -> list[dict]:
    """One row per (condition, fit, component)."""
    rows = []
    for condition, res in results.items():
        for spec in (mu.CURRENT_FIT, mu.UNBLOCK_FIT):
            fr, ex = res.fits[spec.name], res.exact_fits[spec.name]
            for k, component in enumerate(spec.components):
                kampa = mu.KAMPA_TAUS_S.get(component if spec.name == "current" else
                                            ("slow" if component == "desensitised" else ""))
                rows.append({
                    "condition": condition, "step_s": mu.STEP_TIMES_S[condition],
                    "fit": spec.name, "component": component,
                    "tau_ms": fr.fit.taus_s[k] * 1e3, "tau_se_ms": fr.tau_se_s[k] * 1e3,
                    "tau_exact_ms": ex.taus_s[k] * 1e3,
                    "kampa_tau_ms": kampa * 1e3 if kampa else float("nan"),
                    "within_x2": mu.within_factor(fr.fit.taus_s[k], kampa) if kampa else "",
                    "fraction": fr.fit.fractions[k], "fraction_se": fr.fraction_se[k],
                    "fraction_exact": ex.fractions[k],
                    "trajectories": res.run.n_trajectories,
                    "receptors_per_trajectory": res.run.n_receptors})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=1000,
                        help="trajectories (patches of 100 receptors) per step time")
    parser.add_argument("--seed", type=int, default=mu.SEED)
    parser.add_argument("--out", default="mg_unblock_v3.png")
    args = parser.parse_args(argv)

    results = mu.run_v3(args.trajectories, args.seed, module=MODULE)
    print("V3: 1 mM glutamate for 4.6 s, 1 mM Mg2+, -60 -> +40 mV, Kampa et al. 2004 "
          "(23 degC rates)")
    print(mu.format_table(results))

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = table_rows(results)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax_i, ax_u) = plt.subplots(1, 2, figsize=(10, 4.2))
    colours = {"early": "tab:blue", "late": "tab:red"}
    for condition, res in results.items():
        run, colour = res.run, colours[condition]
        t = run.offsets_s[1:]                 # log axis: leave out t = 0
        fit = res.fits["current"].fit
        scale = fit(mu.sample_offsets()).max()   # normalise to the fitted maximum
        y = run.open_free.mean(axis=0)[1:] / run.n_receptors
        se = run.open_free.std(axis=0, ddof=1)[1:] / run.n_receptors / np.sqrt(
            run.n_trajectories)
        label = f"step {mu.STEP_TIMES_S[condition]:g} s after glutamate"
        ax_i.fill_between(t * 1e3, (y - 2 * se) / scale, (y + 2 * se) / scale, color=colour,
                          alpha=0.25, lw=0)
        ax_i.plot(t * 1e3, y / scale, color=colour, lw=0.6, label=f"{label} (SSA ± 2 SE)")
        exact = res.p_exact[1:, res.labels.index("NMDAR(gate=O,mg=free)")]
        ax_i.plot(t * 1e3, exact / scale, color="grey", lw=1.2, ls=":",
                  label="master equation" if condition == "early" else None)
        taus = ", ".join(mu._ms(x) for x in fit.taus_s)
        ax_i.plot(t * 1e3, fit(t) / scale, color="black", lw=0.9,
                  ls="-" if condition == "early" else "--", label=f"fit: τ = {taus}")
        u_fit = res.fits["unblock"].fit
        u = 1.0 - run.mg_bound.mean(axis=0)[1:] / run.n_receptors
        ax_u.plot(t * 1e3, u, color=colour, lw=0.8, label=f"{label} (SSA)")
        bound = [i for i, s in enumerate(res.labels) if "mg=bound" in s]
        ax_u.plot(t * 1e3, 1.0 - res.p_exact[1:, bound].sum(axis=1), color="grey", lw=1.2,
                  ls=":", label="master equation" if condition == "early" else None)
        keep = t >= mu.UNBLOCK_FIT.t_min_s
        ax_u.plot(t[keep] * 1e3, u_fit(t[keep]), color="black", lw=0.9,
                  ls="-" if condition == "early" else "--",
                  label="fit: τ = " + ", ".join(mu._ms(x) for x in u_fit.taus_s))
    for ax in (ax_i, ax_u):
        ax.set_xscale("log")
        ax.set_xlabel("time after the step to +40 mV (ms)")
    ax_i.set_ylabel("NMDA current / fitted maximum")
    ax_i.set_title("Current (open, unblocked receptors)", fontsize=10)
    ax_u.set_ylabel("fraction of receptors without Mg²⁺")
    ax_u.set_title("Mg²⁺ unblock (all gating states)", fontsize=10)
    ax_i.legend(fontsize=7, frameon=False, loc="upper left")
    ax_u.legend(fontsize=7, frameon=False, loc="upper left")
    fig.suptitle("V3: Kampa et al. 2004 scheme, 1 mM glutamate for 4.6 s, 1 mM Mg²⁺, "
                 "−60 → +40 mV (Kampa: τ ≈ 0.1 ms, 4 ms, 300 ms)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
