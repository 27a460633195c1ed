"""Which parameter gives the default spine a lasting LTP (docs/science.md §8.5, "Lasting
LTP"): small ensembles of rest, HFS and (optionally) 1 Hz × 900 for each candidate, and
the Δweight, pT286 and free PP1 they give, written as a table (CSV) and a figure (PNG).

Candidates (each a parameter set on top of ``reactions/spine.toml``; ``--candidates``
picks some by name):

* ``literature``: the model's own values (``pp1_camkii_kcat`` = 10 /s, Miller et al. 2005);
* ``kcat2`` / ``kcat1``: PP1's catalytic rate on pT286 at 2 or 1 /s;
* ``untrap_hours``: slot maintenance, ``k_untrap`` = 1/(3 h) instead of 0.01 /s;
* ``cluster_K55_n12``, ``cluster_K60_n16``: cluster stabilisation of trapped receptors,
  untrapping slowed as the trapped count rises (ampar_trafficking_rules.toml);
* ``recruit_K85_n24``, ``recruit_K90_n16``: slot self-recruitment, CaMKII-free slot
  phosphorylation as a Hill law of the phosphorylated slots (docs/trafficking.md
  "Maintenance options"; ranked first by ``analysis/maintenance_prescreen.py``);
* ``recruit_K80_n24_k1`` (first of the ``--spine-pulse`` pre-screen), ``recruit_K90_n24_k1``
  (a higher threshold, after K80 let 1 Hz × 900 switch the lattice: docs/science.md §8.5
  part 2b, "The screen at n = 8"); ``no_recruitment``: the rule off (k = 0);
* ``recruit_K80_can_dp01``: K80 with slot dephosphorylation downstream of calcineurin
  (``k_slot_dp_can`` = 0.1 /s at full CaN; docs/trafficking.md), ``can_dp01`` the latter
  alone (docs/science.md §8.5 part 2c);
* ``recruit_K90_can_dp003``: ``recruit_K90_n24_k1`` (the best margin of the pre-screen at
  the warmed-up resting PP1, docs/trafficking.md) with ``k_slot_dp_can`` = 0.03 /s;
Graupner & Brunel's k8 (a CaM-free pT286 *neighbour*) is already the module's
``camkii_k_auto_p``; phosphorylation of a CaM-free *substrate* is in neither source, so it
is not a candidate (docs/science.md §8.5).

Every condition goes through :func:`stochsyn.validation.plasticity.run_conditions`
(``WARM_UP_S`` = 1800 s of warm-up, the weight relative to it, read-out ``--after`` seconds after the end of
induction, common random numbers across conditions of one candidate). Criteria (§8.5):
rest quiet (pT286 < 5 %, control Δw ~ 0), HFS Δw > 0 and not decaying between the two
read-outs (``--reference-after``, by default ``--after`` / 2, and ``--after``), LFS Δw < 0.

Usage (repository root)::

    python analysis/lasting_ltp.py [--trajectories 8] [--after 900] [--reference-after 300]
        [--lfs | --lfs-only | --control-only] [--candidates literature,kcat2] [--first-trajectory 0]
        [--out out]
    python analysis/lasting_ltp.py --combine run1/lasting_ltp.csv run2/lasting_ltp.csv

Each run prints, per candidate, the Δweight table and the maintenance state at the
read-out (per-synapse Δw, the first read-out's Δw, trapped receptors, phosphorylated slots
Q, free PP1, peak pT286: :func:`report`); ``--combine`` prints the same for runs of one
screen split by arm (``--lfs-only``) or by trajectories (``--first-trajectory``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as pl

CANDIDATES = {
    "literature": {},
    "kcat2": {"pp1_camkii_kcat": "2 /s"},
    "kcat1": {"pp1_camkii_kcat": "1 /s"},
    "untrap_hours": {"k_untrap": "1/(3 h)"},
    # Cluster stabilisation of trapped receptors (ampar_trafficking_rules.toml,
    # docs/trafficking.md "Cluster stabilisation"): untrapping slowed as the trapped count T
    # rises, k_untrap * g(T)/g(45) with g = K^n/(K^n + T^n); the resting dwell is unchanged.
    "cluster_K55_n12": {"untrap_cluster_share": 1, "untrap_cluster_K": 55,
                        "untrap_cluster_n": 12},
    "cluster_K60_n16": {"untrap_cluster_share": 1, "untrap_cluster_K": 60,
                        "untrap_cluster_n": 16},
    # Slot self-recruitment (ampar_trafficking_rules.toml, docs/trafficking.md "Slot
    # self-recruitment"): a free slot is phosphorylated without CaMKII at
    # k_slot_recruit * Q^n/(K^n + Q^n), Q the phosphorylated slots (free + occupied).
    "recruit_K85_n24": {"k_slot_recruit": "0.3 /s", "slot_recruit_K": 85,
                        "slot_recruit_n": 24},
    "recruit_K90_n16": {"k_slot_recruit": "0.5 /s", "slot_recruit_K": 90,
                        "slot_recruit_n": 16},
    "recruit_K80_n24_k1": {"k_slot_recruit": "1 /s", "slot_recruit_K": 80,
                           "slot_recruit_n": 24},
    # K80 passes HFS but 1 Hz x 900 switches the lattice too (docs/science.md §8.5 part 2b,
    # "The screen at n = 8"); a higher threshold, the same steepness and rate:
    "recruit_K90_n24_k1": {"k_slot_recruit": "1 /s", "slot_recruit_K": 90,
                           "slot_recruit_n": 24},
    "no_recruitment": {"k_slot_recruit": "0 /s"},
    # K80 with slot dephosphorylation downstream of calcineurin (ampar_trafficking_rules.toml
    # k_slot_dp_can; Tomita et al. 2005: PP1 downstream of PP2B dephosphorylates stargazin in
    # LTD), a free phospho-slot dephosphorylated at k_slot_dp_can * CaN.CaM / 96: calcineurin
    # is ~50 % active for the whole 15-min LFS and ~100 % for ~1 min after an HFS
    # (docs/science.md §8.5 part 2b), so the rule works against the lattice during LFS.
    # 0.1 /s is the slot rate of PP1 at full activity (k_slot_dp); a mean-field estimate
    # of the slot and pool equations puts the HFS lattice's loss between 0.12 and 0.15 /s.
    "recruit_K80_can_dp01": {"k_slot_recruit": "1 /s", "slot_recruit_K": 80,
                             "slot_recruit_n": 24, "k_slot_dp_can": "0.1 /s"},
    "can_dp01": {"k_slot_dp_can": "0.1 /s"},
    # At the warmed-up resting PP1 (~6 of 12) K80 switches resting lattices; K90 (n = 24,
    # 1 /s) has the best margin of the pre-screen (analysis/maintenance_prescreen.py
    # --spine-pulse --rest-pp1 6 --after 1800: rest at the rule-free floor, 80 % of pulses
    # held), and calcineurin-gated slot dephosphorylation at 0.03 /s keeps 56 % of them
    # there (0.1 /s: 7 %), so K90 takes the rule at 0.03 /s (docs/trafficking.md "The
    # pre-screen at the warmed-up resting PP1").
    "recruit_K90_can_dp003": {"k_slot_recruit": "1 /s", "slot_recruit_K": 90,
                              "slot_recruit_n": 24, "k_slot_dp_can": "0.03 /s"},
}
SEED = 20261216


def conditions(lfs: bool, after_s: float, reference_after_s: float | None = None):
    """Control, HFS (its weight also read ``reference_after_s`` after the train, by default
    half-way to the read-out: ``delta_from_reference_pct`` is the change from there to the
    read-out, for the decay criterion) and optionally LFS."""
    if reference_after_s is None:
        reference_after_s = after_s / 2
    # the HFS train lasts 1 s: its last spike is ~1 s after WARM_UP_S
    halfway = pl.WARM_UP_S + pl.SAMPLE_EVERY_S * round((1.0 + reference_after_s)
                                                       / pl.SAMPLE_EVERY_S)
    if lfs == "only":
        return [pl.Condition("LFS", ss.protocols.lfs(start_s=pl.WARM_UP_S))]
    if lfs == "control":
        return [pl.Condition("control", None)]
    out = [pl.Condition("control", None),
           pl.Condition("HFS", ss.protocols.hfs(start_s=pl.WARM_UP_S), reference_s=halfway)]
    if lfs:
        out.append(pl.Condition("LFS", ss.protocols.lfs(start_s=pl.WARM_UP_S)))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=8)
    parser.add_argument("--after", type=float, default=900.0)
    parser.add_argument("--reference-after", type=float, default=None,
                        help="second HFS read-out, s after the train (default: --after / 2);"
                             " delta_from_reference_pct is the change from it to --after")
    parser.add_argument("--lfs", action="store_true", help="also 1 Hz x 900")
    parser.add_argument("--lfs-only", action="store_true", help="only 1 Hz x 900")
    parser.add_argument("--control-only", action="store_true",
                        help="only the control (rest), e.g. to add control trajectories to"
                             " an --lfs-only run with --first-trajectory")
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--first-trajectory", type=int, default=0,
                        help="global index of the first trajectory (default 0): trajectory i"
                             " draws from SeedSequence(seed, spawn_key=(i,)) whatever the run,"
                             " so a screen can be split, e.g. 0-3 and then 4-7")
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--combine", type=Path, nargs="+", default=None, metavar="CSV",
                        help="simulate nothing: read these lasting_ltp.csv files (runs of one"
                             " screen split by arm or trajectories) and print their tables")
    args = parser.parse_args(argv)
    if args.combine:
        print(report(pd.concat([pd.read_csv(path) for path in args.combine],
                               ignore_index=True)))
        return 0
    base = ss.load_model(pl.MODEL)
    rows, courses = [], []
    for name in args.candidates.split(","):
        model = base.with_parameters(**CANDIDATES[name]) if CANDIDATES[name] else base
        run = pl.run_conditions(conditions("only" if args.lfs_only else
                                           "control" if args.control_only else args.lfs,
                                           args.after,
                                           args.reference_after),
                                n_trajectories=args.trajectories,
                                after_s=args.after, seed=SEED, n_threads=args.threads,
                                model=model, progress=lambda s: print(name, s, flush=True),
                                simulate_condition=(None if args.first_trajectory == 0 else
                                                    offset_runner(args.first_trajectory,
                                                                  args.trajectories,
                                                                  args.threads)))
        table = run.per_trajectory.assign(candidate=name)
        course = run.timecourse.assign(candidate=name)
        rows.append(table)
        courses.append(course)
        print(report(table), flush=True)
        args.out.mkdir(parents=True, exist_ok=True)
        pd.concat(rows).to_csv(args.out / "lasting_ltp.csv", index=False)
        pd.concat(courses).to_csv(args.out / "lasting_ltp_timecourse.csv", index=False)
    plot(pd.concat(courses), args.out / "lasting_ltp.png")
    return 0


#: Per-trajectory columns of the maintenance state (means per condition in :func:`report`).
STATE_COLUMNS = {"delta_5min_pct": "Δw at the first read-out (%)",
                 "delta_from_reference_pct": "change first → second read-out (%)",
                 "ampar_trapped": "trapped receptors",
                 "slots_phosphorylated_at_readout": "Q (phospho-slots, of 100)",
                 "pp1_free_at_readout": "free PP1 (of 12)",
                 "peak_pt286_fraction": "peak pT286 fraction"}


def report(table: pd.DataFrame) -> str:
    """Per candidate: the Δweight table (mean ± SE, 95 % CI, fractions) and the mean ± SE
    of the maintenance state at the read-out (:data:`STATE_COLUMNS`). The first read-out's
    Δw is ``(1 + Δw) / (1 + change from it) − 1`` for the conditions that have one."""
    table = table.copy()
    if "delta_from_reference_pct" in table:
        table["delta_5min_pct"] = 100.0 * ((1 + table["delta_weight_pct"] / 100.0)
                                           / (1 + table["delta_from_reference_pct"] / 100.0)
                                           - 1.0)
    lines = []
    for name, rows in table.groupby("candidate", sort=False):
        lines += [str(name), pl.format_summary(ss.trafficking.summary(rows, by="condition"))]
        columns = [c for c in STATE_COLUMNS if c in rows]
        state = rows.groupby("condition", sort=False)[columns].agg(["mean", "sem"])
        for condition, c in rows.groupby("condition", sort=False):
            lines.append(f"  {condition} per synapse (Δw %): " + " ".join(
                f"{x:+.1f}" for x in c.sort_values("trajectory")["delta_weight_pct"]))
        # common random numbers: trajectory i of every condition shares its stream
        control = rows[rows["condition"] == "control"].set_index("trajectory")
        for condition, c in rows.groupby("condition", sort=False):
            if condition == "control" or control.empty:
                continue
            paired = (c.set_index("trajectory")["delta_weight_pct"]
                      - control["delta_weight_pct"]).dropna()
            if len(paired) > 1:
                d = ss.trafficking.summary(paired.to_numpy()).iloc[0]
                lines.append(f"  {condition} − control, paired (n = {len(paired)}): "
                             f"{d['delta_weight_pct_mean']:+.1f} ± "
                             f"{d['delta_weight_pct_se']:.1f} % [{d['ci95_low_pct']:+.1f}, "
                             f"{d['ci95_high_pct']:+.1f}]")
        for column in columns:
            lines.append(f"  {STATE_COLUMNS[column]:<38} " + "   ".join(
                f"{condition} {state.loc[condition, (column, 'mean')]:.3g}"
                f" ± {state.loc[condition, (column, 'sem')]:.2g}"
                for condition in state.index
                if pd.notna(state.loc[condition, (column, 'mean')])))
    return "\n".join(lines)


def offset_runner(first_trajectory: int, n_trajectories: int, n_threads: int):
    """A ``simulate_condition`` for :func:`stochsyn.validation.plasticity.run_conditions`
    that runs trajectories ``first_trajectory`` … ``first_trajectory + n_trajectories - 1``
    (the same streams a run of all of them from 0 would give those trajectories)."""
    def run(model, condition, t_end_s, seed):
        return ss.simulate(model, t_end_s, n_trajectories, seed=seed,
                           sample_every=pl.SAMPLE_EVERY_S, protocol=condition.protocol,
                           record_events=True, n_threads=n_threads, max_events=10 ** 9,
                           first_trajectory=first_trajectory)
    return run


def plot(courses: pd.DataFrame, path: Path) -> None:
    """One panel per candidate: the weight of each condition, mean ± SE and single
    synapses (:func:`stochsyn.validation.plasticity.plot_timecourses`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(courses["candidate"]))
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.6), sharey=True,
                             squeeze=False)
    for ax, name in zip(axes[0], names):
        pl.plot_timecourses(ax, courses[courses["candidate"] == name])
        ax.set_title(f"{name}: {CANDIDATES[name] or 'spine.toml as is'}", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
