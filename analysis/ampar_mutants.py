"""GluA1 knock-ins in the standalone trafficking module: how much of an LTP-like and an
LTD-like enzyme state reaches the synaptic weight with S831A, S845A and S831A/S845A.

Usage::

    python analysis/ampar_mutants.py [--trajectories 100] [--seed 20261217]
        [--out out/ampar_mutants.png]

Model: reactions/modules/ampar_trafficking.toml, each variant applied with
Model.with_variant. 10 min at rest, then 10 min of an enzyme state set by interventions,
read at its end (20 min) against each trajectory's 0-10 min mean weight:

* LTP-like: PSD CaMKII 50 % active, PKA 50 %, calcineurin at rest, PP1 one quarter free;
* LTD-like: CaMKII and PKA at rest, calcineurin 50 % active, PP1 all free.

This is the module's share of V16 (Lee et al. 2003: the double knock-in lacks LTD and has
reduced LTP); the enzyme states are prescribed here, not produced by Ca²⁺, so it says what
the receptor side does with a given enzyme signal, not what the spine model does with a
stimulus. Writes the PNG (Δweight per variant and state, mean ± 1.96 SE) and a CSV beside
it, and prints the table. Needs matplotlib.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import load_repository_model
from stochsyn.validation import trafficking as v18

SEED = 20261217
VARIANTS = ("wild type", "S831A", "S845A", "S831A/S845A")
REST = {"CaMKII_psd_active": 5, "PKA_active": 1, "CaN_active": 5, "PP1_free": 10}
STATES = {"LTP-like": {"CaMKII_psd_active": 120, "PKA_active": 30, "PP1_free": 3},
          "LTD-like": {"CaN_active": 48, "PP1_free": 12}}


def with_state(model, activities):
    spec = copy.deepcopy(dict(model.spec))
    spec.setdefault("interventions", []).append(
        {"time": 600.0, "set": activities, "note": "induction-like enzyme state"})
    return ss.Model.from_dict(spec, source=model.source)


def run(path, n, seed):
    base = load_repository_model(path)
    rows = []
    for k, variant in enumerate(VARIANTS):
        model = base if variant == "wild type" else base.with_variant(variant)
        for state, activities in STATES.items():
            ens = ss.simulate(with_state(model, activities), t_end=1200.0, n_trajectories=n,
                              seed=seed + k, sample_every=60.0)
            w = ss.trafficking.weight(ens, baseline=(0.0, 540.0))[:, -1]
            psd = ens.values("ampar_psd")
            psd_ratio = psd[:, -1] / psd[:, :10].mean(axis=1)
            rows.append({"variant": variant, "state": state, "n_trajectories": n,
                         "delta_weight_pct": 100 * (w.mean() - 1),
                         "sem_pct": 100 * w.std(ddof=1) / np.sqrt(n),
                         "delta_psd_pct": 100 * (psd_ratio.mean() - 1),
                         "psd_sem_pct": 100 * psd_ratio.std(ddof=1) / np.sqrt(n)})
    return pd.DataFrame(rows)


def plot(table, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(VARIANTS))
    for k, (state, colour) in enumerate((("LTP-like", "tab:red"), ("LTD-like", "tab:blue"))):
        part = table[table["state"] == state].set_index("variant").loc[list(VARIANTS)]
        ax.bar(x + (k - 0.5) * 0.38, part["delta_weight_pct"], 0.38, color=colour,
               yerr=1.96 * part["sem_pct"], label=f"{state} enzymes, 10 min")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, VARIANTS)
    ax.set_ylabel("Δweight at the end (%)")
    ax.legend(frameon=False, fontsize=8)
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=100)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--model", default=str(v18.MODEL))
    parser.add_argument("--out", default="out/ampar_mutants.png")
    args = parser.parse_args(argv)
    table = run(args.model, args.trajectories, args.seed)
    out = Path(args.out)
    plot(table, out)
    table.to_csv(out.with_suffix(".csv"), index=False)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nwrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
