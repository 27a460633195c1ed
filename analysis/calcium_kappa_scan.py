"""docs/science.md §5, §8.4, §9 V4: the buffer capacity κ_E and the decay τ of calcium.toml
for the parameter sets the V4 calibration compared, from the module's mass-action ODE.

Usage::

    python analysis/calcium_kappa_scan.py [--out calcium_kappa_scan.csv]

Each row is calcium.toml (0.1 fL, neck on) with the listed parameters changed, under the V4
protocol of tests/statistical/test_calcium.py (N_ADD = 1265 ions added at 10 ms). Columns:
τ, the least-squares single exponential from the buffered peak to 10 % of it (V4's
estimator; ms); the 1/e time of the same decay (ms); the buffered peak above rest (µM);
the resting free Ca (µM); κ_E as analysis/calcium.py reads it (bound/free increment against
rest, 2 ms after the buffered peak), buffers only and buffers + pumps (V4 grades the
latter, 10–40); and κ at rest in the small-signal sense, Σ B_tot K/(K + c)² over buffers and
pumps (K = (k₂ + k₃)/k₁ for a pump), for comparison. The first rows are the sourced ranges'
ends (Mahajan & Nadkarni: immobile 80 µM + slow 40 µM; Rodrigues et al. 2023: immobile
62 µM, no slow buffer); the last rows leave a range (marked) to show what κ_E ≈ 20 would
take. ODE only: a second or so. The SSA values of the frozen set are analysis/calcium.py's.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.statistical.test_calcium import (  # noqa: E402
    DT, MODULE, OMEGA, fit_decay, ode_steady_state, ode_v4, v4_model)

BUFFERS = ("CaB", "CaBslow")
PUMPS = ("CaPMCA", "CaNCX")

#: (label, parameters, inside the sourced ranges?)
SETS = (
    ("Mahajan & Nadkarni: immobile 80 + slow 40 uM (before)",
     dict(ca_B_total="80 uM", ca_Bslow_total="40 uM"), True),
    ("immobile 62 + slow 40 uM", dict(ca_B_total="62 uM", ca_Bslow_total="40 uM"), True),
    ("immobile 80 uM, slow off", dict(ca_B_total="80 uM", ca_Bslow_total="0 uM"), True),
    ("immobile 62 uM, slow off (frozen)", dict(ca_B_total="62 uM", ca_Bslow_total="0 uM"), True),
    ("  same, neck off", dict(ca_B_total="62 uM", ca_Bslow_total="0 uM",
                              ca_neck_diffusion=0), True),
    ("immobile 40 uM, slow off [out of range]",
     dict(ca_B_total="40 uM", ca_Bslow_total="0 uM"), False),
    ("immobile 62 uM, PMCA 500/um2 [out of range]",
     dict(ca_B_total="62 uM", ca_Bslow_total="0 uM",
          ca_pmca_density="500 molecule/um^2"), False),
    ("immobile 40 uM, PMCA 500/um2 [out of range]",
     dict(ca_B_total="40 uM", ca_Bslow_total="0 uM",
          ca_pmca_density="500 molecule/um^2"), False),
)


def small_signal_kappa(model, rest: dict) -> float:
    """Σ over buffers and pumps of total · K / (K + c)² at the resting free Ca c."""
    rates = {r.name: r.rate for r in model.reactions}
    c = rest["Ca"]
    kappa = 0.0
    for free, bound, binding, turnover in (("B", "CaB", "ca_buffer", None),
                                           ("Bslow", "CaBslow", "ca_slow_buffer", None),
                                           ("PMCA", "CaPMCA", "ca_pmca_binding",
                                            "ca_pmca_extrusion"),
                                           ("NCX", "CaNCX", "ca_ncx_binding",
                                            "ca_ncx_extrusion")):
        total = rest[free] + rest[bound]
        k_d = (rates[binding + "_rev"] + (rates[turnover] if turnover else 0.0)) \
            / rates[binding + "_fwd"]                      # molecules
        kappa += total * k_d / (k_d + c) ** 2
    return kappa


def evaluate(parameters: dict) -> dict:
    model = v4_model(MODULE, **parameters)
    times = np.arange(0.0, 0.4 + DT / 2, DT)
    ode = ode_v4(model, times)
    rest = dict(zip(model.species, ode_steady_state(model)))
    ca = ode[model.species.index("Ca")]
    tau, peak, start, _ = fit_decay(times, ca, rest["Ca"])
    excess = ca - rest["Ca"]
    one_e = start + int(np.nonzero(excess[start:] < excess[start] / np.e)[0][0])
    k = start + 4                                            # 2 ms after the buffered peak

    def kappa(names):
        return sum(ode[model.species.index(n)][k] - rest[n] for n in names) / excess[k]
    return {"tau_ms": tau * 1e3, "t_1e_ms": (times[one_e] - times[start]) * 1e3,
            "peak_uM": peak / OMEGA, "rest_uM": rest["Ca"] / OMEGA,
            "kappa_buffers": kappa(BUFFERS), "kappa_buffers_pumps": kappa(BUFFERS + PUMPS),
            "kappa_small_signal_rest": small_signal_kappa(model, rest)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="calcium_kappa_scan.csv")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'calcium.toml variant':46s} {'tau':>6s} {'1/e':>5s} {'peak':>6s} {'rest':>6s} "
          f"{'kB':>6s} {'kE':>6s} {'k0 rest':>8s}  V4")
    for label, parameters, in_range in SETS:
        r = evaluate(parameters)
        ok = 8 <= r["tau_ms"] <= 25 and 10 <= r["kappa_buffers_pumps"] <= 40
        print(f"{label:46s} {r['tau_ms']:6.1f} {r['t_1e_ms']:5.1f} {r['peak_uM']:6.3f} "
              f"{r['rest_uM']:6.3f} {r['kappa_buffers']:6.1f} {r['kappa_buffers_pumps']:6.1f} "
              f"{r['kappa_small_signal_rest']:8.1f}  {'PASS' if ok else 'FAIL'}")
        rows.append({"variant": label, "in_sourced_ranges": in_range,
                     **{k: repr(v) if isinstance(v, str) else v for k, v in parameters.items()},
                     **r, "v4_pass": ok})
    print("tau: V4's single exponential (ms); 1/e: the 1/e time (ms); peak, rest: uM; kB, kE: "
          "bound/free increment 2 ms after the buffered peak, buffers / buffers + pumps "
          "(V4: kE in 10-40, tau in 8-25 ms); k0 rest: small-signal capacity at rest")
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[-1]).index(k)
                    if k in rows[-1] else 99)
    with open(args.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
