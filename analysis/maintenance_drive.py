"""How far HFS and 1 Hz × 900 drive the slot lattice of the default spine (docs/science.md
§8.5, "Calibration, part 2b"): the phosphorylated slots Q (free + occupied, the variable of
the slot self-recruitment rule), active PSD CaMKII, active calcineurin, free PP1, trapped
receptors and the weight, per synapse, through each induction and up to its read-out.

A Hill threshold on Q (``slot_recruit_K``) can keep an HFS and not an LFS only if the HFS
drives Q higher than the LFS does; this script measures both, by default with the rule
off (``--candidate no_recruitment``), so that the drive is the kinases' and phosphatases'
alone. Per synapse it prints the largest Q from the start of induction to 2 min after its
end, the mean Q over the induction, the time Q spends at or above 80 and 85, Q at the
read-out and Δweight there. Writes ``maintenance_drive.csv`` (the per-synapse table),
``maintenance_drive_timecourse.csv`` (every sample) and ``maintenance_drive.png``.

Usage (repository root)::

    python analysis/maintenance_drive.py [--trajectories 4] [--after 1200]
        [--candidate no_recruitment] [--conditions HFS,LFS] [--threads 1] [--out out]

Same root seed as ``analysis/lasting_ltp.py`` (trajectory i of both scripts shares its
random stream when the model is the same).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as pl

_spec = importlib.util.spec_from_file_location(
    "analysis_lasting_ltp", Path(__file__).resolve().parent / "lasting_ltp.py")
lasting_ltp = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = lasting_ltp
_spec.loader.exec_module(lasting_ltp)

#: Observables followed (names of reactions/spine.toml's modules).
OBSERVABLES = ["slots_phosphorylated", "ampar_trapped", "camkii_psd_activity",
               "can_activity", "pp1_activity", "camkii_pt286",
               # the LTD side (docs/science.md §8.3: CaN -> I1 -> PP1 -> S845, slots,
               # endocytosis): where the receptors are and their GluA1 sites
               "ampar_psd", "ampar_extra", "ampar_endo", "ampar_ps845", "ampar_ps831",
               "pka_activity"]
#: Endocytosis rules whose firings during the induction are counted per synapse.
ENDOCYTOSIS_RULES = ss.trafficking.ENDOCYTOSIS_RULES
#: Q thresholds whose occupancy time is reported (the screened ``slot_recruit_K``).
THRESHOLDS = (80, 85)
PROTOCOLS = {"HFS": lambda: ss.protocols.hfs(start_s=pl.WARM_UP_S),
             "LFS": lambda: ss.protocols.lfs(start_s=pl.WARM_UP_S)}


def drive(ens, name: str, induction_end_s: float, readout_s: float) -> tuple:
    """The per-synapse table and the long time course of one condition's run."""
    t = np.asarray(ens.times)
    values = {n: ens.values(n) for n in OBSERVABLES}
    weight = ss.trafficking.weight(ens, pl.WARM_UP_S)
    during = (t >= pl.WARM_UP_S - 1e-9) & (t <= induction_end_s + 120.0 + 1e-9)
    train = (t >= pl.WARM_UP_S - 1e-9) & (t <= induction_end_s + 1e-9)
    after = t >= pl.WARM_UP_S - 1e-9
    k_readout = int(np.argmin(np.abs(t - readout_s)))
    step = t[1] - t[0]
    q = values["slots_phosphorylated"]
    rows = []
    for i in range(len(q)):
        row = {"condition": name, "trajectory": i,
               "q_max_induction": q[i, during].max(),
               "q_mean_train": q[i, train].mean(),
               "q_at_readout": q[i, k_readout],
               "trapped_at_readout": values["ampar_trapped"][i, k_readout],
               "camkii_active_max": values["camkii_psd_activity"][i, after].max(),
               "camkii_active_mean_train": values["camkii_psd_activity"][i, train].mean(),
               "can_active_mean_train": values["can_activity"][i, train].mean(),
               "pp1_free_mean_train": values["pp1_activity"][i, train].mean(),
               "delta_weight_pct": 100.0 * (weight[i, k_readout] - 1.0)}
        for rule, count in events_during(ens, i, pl.WARM_UP_S, induction_end_s).items():
            row[f"{rule}_during_train"] = count
        for threshold in THRESHOLDS:
            row[f"minutes_q_ge_{threshold}"] = step * np.sum(q[i, after] >= threshold) / 60.0
        rows.append(row)
    course = pd.DataFrame({"condition": name, "time_s": np.repeat(t[None, :], len(q), 0).ravel(),
                           "trajectory": np.repeat(np.arange(len(q)), len(t)),
                           "weight": weight.ravel(),
                           **{n: v.ravel() for n, v in values.items()}})
    return pd.DataFrame(rows), course


def events_during(ens, row: int, start_s: float, end_s: float) -> dict:
    """Firings of each endocytosis and exocytosis rule of trajectory row ``row`` in
    [``start_s``, ``end_s``] (the run must record events)."""
    events = ens.events()
    trajectory = int(np.asarray(ens.trajectories)[row])
    mine = events[(events["trajectory"] == trajectory) & (events["time"] >= start_s)
                  & (events["time"] <= end_s)]
    rules = mine["rule"].astype(str)
    return {rule: int((rules == rule).sum())
            for rule in ss.trafficking.INSERTION_RULES + ENDOCYTOSIS_RULES}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=4)
    parser.add_argument("--after", type=float, default=1200.0,
                        help="read-out, s after the end of induction (default 1200)")
    parser.add_argument("--candidate", default="no_recruitment",
                        choices=sorted(lasting_ltp.CANDIDATES))
    parser.add_argument("--conditions", default="HFS,LFS")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    base = ss.load_model(pl.MODEL)
    overrides = lasting_ltp.CANDIDATES[args.candidate]
    model = pl.log_trafficking_only(base.with_parameters(**overrides) if overrides else base)
    tables, courses = [], []
    for name in args.conditions.split(","):
        protocol = PROTOCOLS[name]()
        end = pl.induction_end_s(protocol)
        readout = pl.on_sample_grid(end + args.after, pl.SAMPLE_EVERY_S)
        ens = ss.simulate(model, readout, args.trajectories, seed=lasting_ltp.SEED,
                          sample_every=pl.SAMPLE_EVERY_S, protocol=protocol,
                          record_events=True, n_threads=args.threads, max_events=10 ** 9)
        table, course = drive(ens, name, end, readout)
        tables.append(table)
        courses.append(course)
        print(f"{args.candidate}, {name} (read-out {args.after:g} s after induction):",
              flush=True)
        print(table.drop(columns="condition").round(2).to_string(index=False), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pd.concat(tables).to_csv(args.out / "maintenance_drive.csv", index=False)
    pd.concat(courses).to_csv(args.out / "maintenance_drive_timecourse.csv", index=False)
    plot(pd.concat(courses), args.out / "maintenance_drive.png", args.candidate)
    return 0


def plot(courses: pd.DataFrame, path: Path, candidate: str) -> None:
    """Q and active PSD CaMKII of every synapse against time, one column per condition."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(courses["condition"]))
    fig, axes = plt.subplots(2, len(names), figsize=(5 * len(names), 5.5), sharex="col",
                             squeeze=False)
    for j, name in enumerate(names):
        c = courses[courses["condition"] == name]
        for trajectory, one in c.groupby("trajectory"):
            minutes = (one["time_s"] - pl.WARM_UP_S) / 60.0
            axes[0, j].plot(minutes, one["slots_phosphorylated"], lw=0.8)
            axes[1, j].plot(minutes, one["camkii_psd_activity"], lw=0.8)
        for threshold in THRESHOLDS:
            axes[0, j].axhline(threshold, color="k", lw=0.5, ls=":")
        axes[0, j].set_title(f"{name} ({candidate})", fontsize=9)
        axes[0, j].set_ylabel("Q, phosphorylated slots (of 100)")
        axes[1, j].set_ylabel("active PSD CaMKII (of 240)")
        axes[1, j].set_xlabel("min after the start of induction")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    raise SystemExit(main())
