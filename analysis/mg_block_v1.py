"""docs/science.md §9 V1 table: steady-state Mg²⁺ block of open NMDARs under voltage clamp.

Usage::

    python analysis/mg_block_v1.py [--seed 20261122] [--scheme vcr|kampa] [--csv out.csv]

For each receptor module (reactions/modules/nmdar_vcr.toml, nmdar_kampa.toml) and clamp
voltage (−80 … +20 mV, 1 mM glutamate, 1 mM Mg²⁺, 15 receptors) prints the SSA estimate of
the fraction of open-receptor time that is Mg²⁺-free (± SE over trajectories), the §2.2
value k_u/(k_u + k_b), the exact stationary value of the per-receptor chain and the Z
scores against both. Same settings and, by default, the same seed as
tests/statistical/test_mg_block.py (stochsyn.validation.mg_block.RUNS); about 10 s.
"""

from __future__ import annotations

import argparse
import csv
import time
import tomllib
from pathlib import Path

import stochsyn as ss
from stochsyn.validation import mg_block as mb

MODULES = Path(__file__).resolve().parents[1] / "reactions" / "modules"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--scheme", choices=mb.SCHEMES, action="append",
                        help="default: both")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args(argv)

    rows = []
    for scheme in args.scheme or mb.SCHEMES:
        with open(MODULES / f"nmdar_{scheme}.toml", "rb") as handle:
            spec = tomllib.load(handle)
        start = time.perf_counter()
        for v in mb.VOLTAGES_MV:
            model = ss.Model.from_dict(mb.clamped_spec(spec, v, 1.0))
            estimate = mb.run_condition(model, scheme, mb.RUNS[scheme],
                                        mb.condition_seed(args.seed, scheme, v))
            rows.append({"scheme": scheme, "v": v, "estimate": estimate,
                         "analytic": mb.analytic_fraction(scheme, v),
                         "exact": mb.exact_fraction(scheme, v)})
        print(f"{scheme}: {time.perf_counter() - start:.1f} s", flush=True)
    print(mb.format_table(rows))
    if args.csv:
        with open(args.csv, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["scheme", "V_mV", "estimate", "se", "n_trajectories",
                             "open_samples", "analytic", "exact", "z_exact", "z_analytic"])
            for row in rows:
                est = row["estimate"]
                writer.writerow([row["scheme"], row["v"], est.value, est.se,
                                 est.n_trajectories, est.open_samples, row["analytic"],
                                 row["exact"], est.z(row["exact"]), est.z(row["analytic"])])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
