"""V8, V16, V18: drugs, knock-ins and trafficking blocks on the default spine model.

Usage::

    python analysis/blockers.py [--trajectories 100] [--after 3600] [--seed 20261218]
        [--threads 2] [--out-dir out] [--groups V8,V16,V18]

Protocol (reactions/spine.toml through stochsyn.validation.plasticity): 300 s of rest
(warm-up, baseline at 300 s), then the stimulus at 300 s and the weight read ``--after`` s
(default 3600 = 60 min) after its end. Drugs are applied from 0 s, so the baseline is
taken under the drug as in a slice experiment; the trafficking blocks (V18) start at
300 s, at rest. Conditions, by validation target (docs/science.md §9):

* reference: control (no stimulus), LFS (1 Hz × 900), HFS (100 Hz × 1 s);
* **V8** — LFS with APV (stochsyn.protocols.apv: every NMDAR antagonised), with calcineurin
  blocked (block_calcineurin, FK506-like), with PP1 blocked (block_pp1, okadaic-acid-like),
  and with a BAPTA-like buffer (bapta: +1 mM fast buffer). Target: |Δweight| < 5 %
  (Dudek & Bear 1992; Mulkey & Malenka 1992; Mulkey et al. 1993, 1994).
* **V16** — knock-ins (model variants, Model.with_variant): HFS in T286A; HFS and LFS in
  S831A/S845A. Target: T286A has no HFS LTP; the double knock-in has no LTD and reduced
  LTP (Giese et al. 1998; Lee et al. 2003).
* **V18** — at rest, exocytosis blocked (block_exocytosis) and endocytosis blocked
  (block_endocytosis) from 300 s. Target: PSD receptors roughly halve in ~10 min /
  nearly double in ~1 h, within ×2 in time (Earnshaw & Bressloff 2006; Lüscher et al.
  1999). Read from ``ampar_psd_ratio`` (PSD receptors / baseline) and the time course.

Measured: Δweight % per synapse at the read-out (mean ± SE, Student-t 95 % CI, fractions
beyond ±10 %; stochsyn.trafficking.summary), the PSD receptor ratio, and a verdict column
``target`` / ``meets`` for each row with a stated target (sign or |Δ| bound on the mean;
the CI is beside it).

Writes ``OUT_DIR/blockers.png`` (Δweight with 95 % CIs per condition, grouped; right:
weight time courses of the V18 blocks), ``blockers.csv`` (summary with targets),
``blockers_trajectories.csv`` and ``blockers_timecourse.csv``; prints the table. Needs
matplotlib.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import plasticity as P

SEED = 20261218
GROUPS = ("V8", "V16", "V18")
#: |Δweight| bound of V8 (%).
V8_BOUND_PCT = 5.0


def conditions(groups=GROUPS, start: float = P.WARM_UP_S, lfs_pulses: int = 900,
               hfs_pulses: int = 100) -> list[tuple[str, P.Condition, str]]:
    """(group, condition, target) triples; target is text checked by :func:`verdict`."""
    pr = ss.protocols

    def lfs(*drugs):
        train = pr.lfs(start_s=start, pulses=lfs_pulses)
        return pr.combine(train, *drugs) if drugs else train

    hfs = pr.hfs(start_s=start, pulses=hfs_pulses)
    out = [("reference", P.Condition("control", None), ""),
           ("reference", P.Condition("LFS", lfs()), "< 0"),
           ("reference", P.Condition("HFS", hfs), "> 0")]
    if "V8" in groups:
        out += [("V8", P.Condition("LFS + APV", lfs(pr.apv())), "|.| < 5"),
                ("V8", P.Condition("LFS + CaN block", lfs(pr.block_calcineurin())), "|.| < 5"),
                ("V8", P.Condition("LFS + PP1 block", lfs(pr.block_pp1())), "|.| < 5"),
                ("V8", P.Condition("LFS + BAPTA-like", lfs(pr.bapta())), "|.| < 5")]
    if "V16" in groups:
        out += [("V16", P.Condition("HFS T286A", hfs, ("T286A",)), "no LTP"),
                ("V16", P.Condition("HFS S831A/S845A", hfs, ("S831A", "S845A")),
                 "LTP < wild type"),
                ("V16", P.Condition("LFS S831A/S845A", lfs(), ("S831A", "S845A")),
                 "no LTD")]
    if "V18" in groups:
        out += [("V18", P.Condition("exocytosis blocked", pr.block_exocytosis(start_s=start)),
                 "PSD halves"),
                ("V18", P.Condition("endocytosis blocked",
                                    pr.block_endocytosis(start_s=start)), "PSD rises")]
    return out


def verdict(summary: pd.DataFrame) -> pd.Series:
    """Whether each row's mean meets its target (True/False; NaN when there is none).

    "no LTP" / "no LTD" are read as |Δ| < V8_BOUND_PCT or the opposite sign; "LTP < wild
    type" compares with the HFS row; "PSD halves" needs ampar_psd_ratio ≤ 0.75 at the
    read-out and "PSD rises" ≥ 1.25 (half-way to the target, the V18 time scales being
    allowed ×2)."""
    by_name = summary.set_index("condition")
    result = []
    for _, row in summary.iterrows():
        mean, target = row["delta_weight_pct_mean"], row["target"]
        psd = row.get("ampar_psd_ratio_mean", np.nan)
        if not target or np.isnan(mean):
            result.append(np.nan)
        elif target == "< 0":
            result.append(mean < 0)
        elif target == "> 0":
            result.append(mean > 0)
        elif target == "|.| < 5":
            result.append(abs(mean) < V8_BOUND_PCT)
        elif target == "no LTP":
            result.append(mean < V8_BOUND_PCT)
        elif target == "no LTD":
            result.append(mean > -V8_BOUND_PCT)
        elif target == "LTP < wild type":
            wild = by_name["delta_weight_pct_mean"].get("HFS", np.nan)
            result.append(mean < wild if np.isfinite(wild) else np.nan)
        elif target == "PSD halves":
            result.append(psd <= 0.75)
        elif target == "PSD rises":
            result.append(psd >= 1.25)
        else:
            raise ValueError(f"unknown target {target!r}")
    return pd.Series(result, index=summary.index, dtype=object)


def plot(summary: pd.DataFrame, run: P.PlasticityRun, out) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.8),
                                      gridspec_kw={"width_ratios": [1.3, 1]})
    colours = {"reference": "0.3", "V8": "tab:blue", "V16": "tab:purple", "V18": "tab:green"}
    y = np.arange(len(summary))[::-1]
    mean = summary["delta_weight_pct_mean"].to_numpy(float)
    low = np.nan_to_num(mean - summary["ci95_low_pct"].to_numpy(float))
    high = np.nan_to_num(summary["ci95_high_pct"].to_numpy(float) - mean)
    for k, (_, row) in enumerate(summary.iterrows()):
        left.errorbar(mean[k], y[k], xerr=[[low[k]], [high[k]]], fmt="o",
                      color=colours.get(row["group"], "k"), capsize=3)
    left.set_yticks(y, [f"{g}: {c}" for g, c in zip(summary["group"], summary["condition"])],
                    fontsize=8)
    left.axvline(0, color="k", lw=0.5)
    left.axvspan(-V8_BOUND_PCT, V8_BOUND_PCT, color="tab:blue", alpha=0.08, lw=0)
    left.set_xlabel(f"Δweight at read-out (%), mean and 95 % CI (shaded: V8 ±{V8_BOUND_PCT:g} %)")
    blocks = run.timecourse[run.timecourse["condition"].isin(
        ["control", "exocytosis blocked", "endocytosis blocked"])]
    P.plot_timecourses(right, blocks, {"control": "0.4", "exocytosis blocked": "tab:orange",
                                       "endocytosis blocked": "tab:green"}, singles=False)
    right.legend(fontsize=8, frameon=False)
    right.set_title("V18: weight with exo-/endocytosis blocked from 0 min", fontsize=9)
    fig.tight_layout()
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    P.add_arguments(parser, seed=SEED, trajectories=100)
    parser.add_argument("--groups", default=",".join(GROUPS),
                        help="which targets to run, comma-separated (default V8,V16,V18)")
    parser.add_argument("--lfs-pulses", type=int, default=900,
                        help="LFS pulses at 1 Hz (default 900; fewer only for a check)")
    parser.add_argument("--hfs-pulses", type=int, default=100,
                        help="HFS pulses at 100 Hz (default 100; fewer only for a check)")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    try:
        arms = conditions(groups, args.warm_up, args.lfs_pulses, args.hfs_pulses)
    except ValueError as error:                         # a protocol refusing an option
        parser.error(str(error))
    run = P.run_from_arguments([c for _, c, _ in arms], args)
    summary = run.summary()
    summary.insert(0, "group", [g for g, _, _ in arms])
    summary["target"] = [t for _, _, t in arms]
    summary["meets"] = verdict(summary)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    paths = P.write_tables(run, args.out_dir, "blockers")
    summary.to_csv(paths["summary"], index=False)       # with groups, targets, verdicts
    plot(summary, run, args.out_dir / "blockers.png")
    print(P.format_summary(summary))
    print(summary[["group", "condition", "target", "meets", "ampar_psd_ratio_mean"]]
          .to_string(index=False))
    print(f"wrote {args.out_dir / 'blockers.png'}, " + ", ".join(map(str, paths.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
