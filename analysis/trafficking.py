"""V18 (trafficking block) and V17 (baseline stability) of the AMPA-receptor trafficking
module alone.

Usage::

    python analysis/trafficking.py [--trajectories 200] [--seed 20261214]
        [--set k_endo="1/(5 min)" ...] [--out out/trafficking_v18.png]

Model: reactions/modules/ampar_trafficking.toml (the rules of ampar_trafficking_rules.toml
with the enzyme activities at rest). Each condition runs 10 min of baseline, then 2 h with
exocytosis blocked (k_exo = 0: every exocytosis rule), endocytosis blocked (k_endo = 0) or
nothing (rest, V17), through stochsyn.protocols.block_exocytosis / block_endocytosis. PSD
receptors (free + trapped) and the weight are divided by each trajectory's own baseline
mean; the curves are ensemble means ± 1.96 SE.

Targets (Earnshaw & Bressloff 2006; Lüscher et al. 1999): exocytosis blocked -> the PSD
receptors halve in about 10 min; endocytosis blocked -> they nearly double (x1.7 taken
here) in about 1 h; "within x2 in time" = halving by 20 min and x1.7 by 2 h. V17: rest,
|Δw| < 5 % at 2 h. ``--set`` runs the same with changed parameters (the calibration
study of docs/trafficking.md).

Writes the PNG, a CSV of the time courses beside it and ``*_summary.csv`` (one row per
condition: ratios at 10, 60, 120 min with SE, minutes to half and to x1.7), and prints the
summary. About 2-4 minutes on 2 cores for 200 trajectories per condition. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import load_repository_model
from stochsyn.validation import trafficking as v18

SEED = 20261214


def plot(runs, out: Path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"rest": "0.4", "exocytosis blocked": "tab:red",
               "endocytosis blocked": "tab:blue"}
    for name, run in runs.items():
        for ax, mean, sem in ((axes[0], run.psd_ratio, run.psd_sem),
                              (axes[1], run.weight_ratio, run.weight_sem)):
            ax.plot(run.minutes, mean, color=colours[name], label=name)
            ax.fill_between(run.minutes, mean - 1.96 * sem, mean + 1.96 * sem,
                            color=colours[name], alpha=0.2, lw=0)
    for ax, label in ((axes[0], "PSD AMPARs / baseline"),
                      (axes[1], "synaptic weight w / baseline")):
        ax.axvline(0, color="k", lw=0.5)
        ax.axhline(1, color="k", lw=0.5, ls=":")
        ax.set_xlabel("time after the block (min)")
        ax.set_ylabel(label)
    axes[0].axhline(0.5, color="tab:red", lw=0.6, ls="--")
    axes[0].axvline(10, color="tab:red", lw=0.6, ls="--")
    axes[0].axhline(1.7, color="tab:blue", lw=0.6, ls="--")
    axes[0].axvline(60, color="tab:blue", lw=0.6, ls="--")
    axes[0].legend(frameon=False, fontsize=8)
    axes[0].set_title("V18: dashed = targets (half by 10 min, x1.7 by 60 min)", fontsize=9)
    axes[1].set_title("V17: rest stays within ±5 %", fontsize=9)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="change a module parameter, e.g. --set 'k_endo=1/(5 min)'")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=str(v18.MODEL))
    parser.add_argument("--out", default="out/trafficking_v18.png")
    args = parser.parse_args(argv)
    model = load_repository_model(args.model)
    changes = dict(item.split("=", 1) for item in args.set)
    if changes:
        model = model.with_parameters(**changes)
    started = time.time()
    runs = {name: v18.run_condition(model, name, n_trajectories=args.trajectories,
                                    seed=args.seed + k, n_threads=args.threads)
            for k, name in enumerate(v18.CONDITIONS)}
    wall = time.time() - started
    out = Path(args.out)
    table = v18.summary(runs)
    command = "python analysis/trafficking.py " + " ".join(sys.argv[1:] if argv is None
                                                             else argv)
    out.parent.mkdir(parents=True, exist_ok=True)
    curves = out.with_suffix(".csv")
    with open(curves, "w") as handle:
        handle.write(f"# {command}\n# seed {args.seed} (+0, +1, +2 per condition), "
                     f"{args.trajectories} trajectories per condition, stochsyn "
                     f"{ss.__version__}\n")
        for run in runs.values():
            run.frame().to_csv(handle, index=False, header=handle.tell() < 200)
    summary_path = out.with_name(out.stem + "_summary.csv")
    with open(summary_path, "w") as handle:
        handle.write(f"# {command}\n")
        table.to_csv(handle, index=False)
    title = (f"{Path(args.model).name}" + (" with " + ", ".join(args.set) if args.set else "")
             + f"; {args.trajectories} trajectories per condition")
    plot(runs, out, title)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\n{wall:.0f} s; wrote {out}, {curves}, {summary_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
