"""docs/science.md §9 V2: the NMDA conductance–voltage relation of both receptor modules against
Jahr & Stevens (1990), as a PNG and a table.

Usage::

    python analysis/mg_block.py [--trajectories 3000] [--seed 20261122] [--out mg_block_iv.png]

1 mM glutamate for 100 ms at each clamp voltage (−80 … +40 mV, 15 receptors, 1 mM Mg²⁺);
g(V) is the mean open, unblocked count over the step, shown as g(V)/g(+40) with ± 2 SE, the
exact master-equation value of the same protocol, and B_JS(V). Writes the PNG and a CSV
beside it; prints the table. About 1 minute. Needs matplotlib (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import stochsyn as ss
from stochsyn.validation import nmda_iv as iv

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=iv.SEED)
    parser.add_argument("--out", default="mg_block_iv.png")
    args = parser.parse_args(argv)

    rows = []
    for scheme, name in iv.MODULES.items():
        spec = ss.load_model(ROOT / "reactions" / "modules" / name).spec
        rows += iv.relation(iv.run(scheme, spec, n_trajectories=args.trajectories,
                                   seed=args.seed))
    print(iv.format_table(rows))

    out = Path(args.out)
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    v = np.linspace(-90, 45, 300)
    ax.plot(v, iv.jahr_stevens(v), color="black", lw=1.5, label="Jahr & Stevens 1990")
    for scheme, colour in (("vcr", "tab:blue"), ("kampa", "tab:red")):
        r = [row for row in rows if row["scheme"] == scheme]
        volts = [row["v_mv"] for row in r]
        ax.errorbar(volts, [row["ratio"] for row in r],
                    yerr=[2 * row["ratio_se"] for row in r], fmt="o", ms=4, color=colour,
                    label=f"{scheme} SSA (± 2 SE)")
        ax.plot(volts, [row["ratio_exact"] for row in r], color=colour, lw=0.8, ls="--",
                label=f"{scheme} master equation")
    ax.set_xlabel("clamp voltage (mV)")
    ax.set_ylabel("g(V) / g(+40 mV)")
    ax.set_title("NMDA receptor Mg²⁺ block: 1 mM glutamate, 100 ms, 1 mM Mg²⁺", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
