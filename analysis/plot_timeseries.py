"""Mean ± SD bands (and a few single trajectories) of a stochsyn results dataset.

Usage::

    python analysis/plot_timeseries.py results/ampar_exchange [NAME ...] [--out fig.png]

Writes a PNG and, beside it, a CSV of the plotted statistics (time, name, n, mean, sd, sem,
quantiles). Needs matplotlib (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import stochsyn as ss


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="folder written by 'stochsyn run' or to_parquet")
    parser.add_argument("names", nargs="*", help="species or observables (default: the "
                        "observables, or the first 6 species)")
    parser.add_argument("--out", default=None, help="PNG path (default: DATASET/timeseries.png)")
    parser.add_argument("--examples", type=int, default=3,
                        help="single trajectories drawn thinly (default 3)")
    args = parser.parse_args(argv)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ens = ss.read(args.dataset)
    names = args.names or list(ens.observables) or list(ens.species)[:6]
    table = ens.describe(names)
    out = Path(args.out) if args.out else Path(args.dataset) / "timeseries.png"
    table.to_csv(out.with_suffix(".csv"))

    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.2 * len(names)), sharex=True,
                             squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        stats = table.xs(name, level="name")
        t = stats.index.to_numpy()
        ax.fill_between(t, stats["mean"] - stats["sd"], stats["mean"] + stats["sd"],
                        alpha=0.3, label="mean ± SD")
        ax.plot(t, stats["mean"], lw=1.5)
        values = ens.values(name)
        for i in range(min(args.examples, len(values))):
            ax.plot(ens.times, values[i], lw=0.6, alpha=0.7, drawstyle="steps-post")
        ax.set_ylabel(name)
    axes[-1, 0].set_xlabel("time (s)")
    axes[0, 0].legend(loc="best", fontsize=8)
    prov = ens.provenance
    fig.suptitle(f"{prov.get('model_name')}: {ens.n_trajectories} trajectories, "
                 f"seed {prov.get('seed')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
