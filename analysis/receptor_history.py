"""One AMPA receptor's history: where it was and how it was phosphorylated, from the event
records.

Usage::

    python analysis/receptor_history.py [--seed 20261215] [--receptor ID]
        [--out out/receptor_history.png]

Model: reactions/modules/ampar_trafficking.toml with every receptor rule logged
(stochsyn.trafficking.with_receptor_history). One trajectory: 20 min at rest, then 10 min
of an LTP-like enzyme state (PSD CaMKII 50 % active, PKA 50 %, calcineurin at rest, PP1
one quarter free), then back to rest until 90 min: the activities are set by interventions,
as the standalone module allows. The receptor shown is ``--receptor`` or, by default, the
one with the most insertions and endocytoses.

Writes the PNG (top: the receptor's location as a step plot; middle: its S831 and S845;
bottom: the trajectory's PSD receptors and the weight) and a CSV beside it with the
receptor's history (time, rule, loc, s831, s845). Needs matplotlib.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

import stochsyn as ss
from stochsyn.plotting import save_figure
from stochsyn.validation import load_repository_model
from stochsyn.validation import trafficking as v18

SEED = 20261215
LTP_ACTIVITIES = {"CaMKII_psd_active": 120, "PKA_active": 30, "PP1_free": 3}
REST_ACTIVITIES = {"CaMKII_psd_active": 5, "PKA_active": 1, "PP1_free": 10}


def model_with_induction(path):
    model = ss.trafficking.with_receptor_history(load_repository_model(path))
    spec = copy.deepcopy(dict(model.spec))
    spec.setdefault("interventions", []).extend([
        {"time": 1200.0, "set": LTP_ACTIVITIES, "note": "LTP-like enzyme activities"},
        {"time": 1800.0, "set": REST_ACTIVITIES, "note": "back to rest"}])
    return ss.Model.from_dict(spec, source=model.source)


def plot(history, ens, receptor, out: Path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1.2, 2]})
    minutes = history["time"].to_numpy() / 60.0
    end = ens.times[-1] / 60.0
    t = np.append(minutes, end)
    levels = {name: k for k, name in enumerate(ss.trafficking.LOCATIONS)}
    loc = [levels.get(v, -1) for v in history["loc"]]
    axes[0].step(t, loc + loc[-1:], where="post", color="k", lw=1)
    axes[0].set_yticks(range(4), ["endosome", "extrasynaptic", "PSD free", "PSD trapped"])
    axes[0].set_title(f"receptor {receptor}: {len(history) - 1} changes "
                      f"({(history['rule'].str.startswith(('exocytosis', 'endocytosis'))).sum()}"
                      " insertions/endocytoses)", fontsize=9)
    for k, site in enumerate(("s831", "s845")):
        on = (history[site] == "p").astype(float).to_numpy() * 0.8 + 1.1 * k
        axes[1].step(t, np.append(on, on[-1]), where="post", lw=1.2,
                     color=("tab:orange", "tab:green")[k], label=f"{site.upper()} phosphorylated")
    axes[1].set_yticks([0, 0.8, 1.1, 1.9], ["S831 u", "p", "S845 u", "p"])
    axes[1].legend(frameon=False, fontsize=7, loc="upper right")
    times = ens.times / 60.0
    axes[2].plot(times, ens.values("ampar_psd")[0], color="k", label="PSD receptors")
    axes[2].plot(times, ens.values("ampar_psd_conductance")[0], color="tab:purple",
                 label="PSD conductance (units of one receptor)")
    axes[2].legend(frameon=False, fontsize=7)
    axes[2].set_xlabel("time (min)")
    for ax in axes:
        ax.axvspan(20, 30, color="tab:red", alpha=0.08, lw=0)
    axes[2].text(20.3, axes[2].get_ylim()[1] * 0.97, "LTP-like enzymes", fontsize=7,
                 va="top", color="tab:red")
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--receptor", type=int, default=None)
    parser.add_argument("--model", default=str(v18.MODEL))
    parser.add_argument("--out", default="out/receptor_history.png")
    args = parser.parse_args(argv)
    model = model_with_induction(args.model)
    ens = ss.simulate(model, t_end=5400.0, n_trajectories=1, seed=args.seed,
                      sample_every=30.0, record_events=True)
    events = ens.events()
    receptor = args.receptor
    if receptor is None:
        rules = events["rule"].astype(str)
        moving = events[rules.str.startswith(("exocytosis", "endocytosis"))]
        receptor = int(moving["agent"].value_counts().idxmax())
    history = ss.trafficking.receptor_history(ens, int(ens.trajectories[0]), receptor)
    out = Path(args.out)
    plot(history, ens, receptor, out)
    history.to_csv(out.with_suffix(".csv"), index=False)
    print(history.to_string(index=False, max_rows=40))
    print(f"\nwrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
