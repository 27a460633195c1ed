"""docs/science.md §4, §9 V6: what the VGCCs (reactions/modules/vgcc.toml) add to the spine's
Ca²⁺ transients.

The electrophysiology example (reactions/examples/spine_electrophysiology.toml, which
includes the VGCC module) runs the V5/V6a protocols of stochsyn.validation.calcium_transients
— pre alone (one release at 10 ms, Pr 1), post alone (one bAP at 20 ms) and pre→post at
+10 ms — with its 3 + 3 + 3 channels and with none (``n_vgcc_R = n_vgcc_T = n_vgcc_L = 0``),
and reports the peak of each ensemble-mean free-Ca²⁺ transient above rest (± jackknife
SE), the pairing ratio pair / (pre + post), and the peak of the mean open-channel count.
Targets: a bAP alone gives 0.1–0.5 µM (Sabatini et al. 2002 [approx]); the pairing stays
supralinear (≥ 1.5) now that the bAP's own transient is not negligible; V5 (pre alone) stays
in 0.2–1.5 µM.

Usage::

    python analysis/vgcc.py [--trajectories 160] [--seed 20261122] [--exact]
        [--out vgcc_v6.png]

Writes the PNG and a CSV of the same name (``.csv``). The hybrid mode (the example's own
declaration: Ca²⁺ module continuous, entry as a flux) is the default; ``--exact`` runs
every ion as an event (slower; the V5/V6 tests use it).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stochsyn.validation import calcium_transients as ct  # noqa: E402

NO_VGCC = {"n_vgcc_R": 0, "n_vgcc_T": 0, "n_vgcc_L": 0, "n_vgcc_T_inactivated": 0}


def measure(n_trajectories: int, seed: int, exact: bool = False) -> dict:
    """{(with VGCCs?, protocol): Transient} for the three V6a protocols."""
    base = ct.exact() if exact else ct.hybrid()
    out = {}
    for with_vgcc in (True, False):
        model = base if with_vgcc else base.with_parameters(**NO_VGCC)
        for name, transient in ct.pairing(n_trajectories, seed, model=model).items():
            out[(with_vgcc, name)] = transient
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trajectories", type=int, default=160)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--out", default="vgcc_v6.png")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = measure(args.trajectories, args.seed, args.exact)
    rows = []
    for with_vgcc in (True, False):
        peaks = {name: results[(with_vgcc, name)] for name in ("pre", "post", "pair")}
        ratio = peaks["pair"].peak_um / (peaks["pre"].peak_um + peaks["post"].peak_um)
        for name, tr in peaks.items():
            rows.append({"vgcc": "3R+3T+3L" if with_vgcc else "none", "protocol": name,
                         "peak_uM": round(tr.peak_um, 4), "peak_se_uM": round(tr.peak_se_um, 4),
                         "peak_voltage_mV": round(tr.voltage_peak_mv, 2),
                         "pairing_ratio": round(ratio, 3), "trajectories": tr.n_trajectories,
                         "mode": "exact" if args.exact else "hybrid"})
    out = Path(args.out)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(", ".join(f"{k}={v}" for k, v in row.items()))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharex=True)
    for ax, name in zip(axes, ("pre", "post", "pair")):
        for with_vgcc, style in ((True, "-"), (False, "--")):
            tr = results[(with_vgcc, name)]
            ax.plot(tr.times_s * 1e3, tr.mean_um, style,
                    label="3 R + 3 T + 3 L VGCCs" if with_vgcc else "no VGCCs")
        ax.set_title({"pre": "pre alone (EPSP)", "post": "post alone (bAP)",
                      "pair": "pre → post +10 ms"}[name])
        ax.set_xlabel("time (ms)")
        ax.set_xlim(0, 80)
    axes[0].set_ylabel("mean free Ca²⁺ above rest (µM)")
    axes[1].axhspan(0.1, 0.5, color="0.9", zorder=0, label="bAP target 0.1–0.5 µM")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out} and {out.with_suffix('.csv')} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
