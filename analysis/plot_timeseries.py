"""Mean ± SD bands (and a few single trajectories) of a stochsyn results dataset.

Usage::

    python analysis/plot_timeseries.py results/ampar_exchange [NAME ...] [--out fig.png]

Writes the figure of ``stochsyn plot`` (``Ensemble.plot``: mean ± sd bands, a few single
trajectories, one colour per sweep point) and, beside it, a CSV of the plotted statistics
(sweep columns, time, name, n, mean, sd, sem, quantiles). Needs matplotlib
(``pip install '.[analysis]'``).
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
    parser.add_argument("--out", default=None,
                        help="PNG path (default: DATASETNAME-timeseries.png here; never "
                             "inside the dataset)")
    parser.add_argument("--examples", type=int, default=3,
                        help="single trajectories drawn thinly (default 3)")
    args = parser.parse_args(argv)

    ens = ss.read(args.dataset, names=args.names or None)
    names = args.names or list(ens.observables) or list(ens.species)[:6]
    table = ens.describe(names)                 # per sweep point for a sweep
    out = Path(args.out) if args.out else Path(f"{Path(args.dataset).name}-timeseries.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out.with_suffix(".csv"))
    figure = ens.plot(names, n_examples=args.examples)   # stochsyn.plotting
    figure.savefig(out, dpi=120)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
