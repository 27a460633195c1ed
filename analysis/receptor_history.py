"""One AMPA receptor's history: where it was and how it was phosphorylated, from the event
records.

Usage::

    python analysis/receptor_history.py [--seed 20261215] [--receptor ID]
        [--model reactions/modules/ampar_trafficking.toml] [--t-end 5400]
        [--out out/receptor_history.png]
    python analysis/receptor_history.py --model reactions/spine.toml

Model: by default reactions/modules/ampar_trafficking.toml with every receptor rule
logged (stochsyn.trafficking.with_receptor_history). One trajectory: 20 min at rest, then
10 min of an LTP-like enzyme state (PSD CaMKII 50 % active, PKA 50 %, calcineurin at rest,
PP1 one quarter free), then back to rest until 90 min: the activities are set by
interventions, as the standalone module allows. With a model whose enzymes are simulated
(the default spine, reactions/spine.toml) the induction is a real stimulus instead:
``--protocol`` (default HFS, 100 Hz x 1 s) at ``--induce-at`` s (default 1200 = 20 min).
The receptor shown is ``--receptor`` or, by default, the one with the most insertions and
endocytoses.

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


def prescribes_activities(model) -> bool:
    """Whether the model holds the enzyme activities as plain species to set (the
    standalone trafficking module) rather than simulating the enzymes."""
    return set(LTP_ACTIVITIES) <= set(model.species)


def model_with_induction(path, induce_at_s: float = 1200.0, length_s: float = 600.0):
    """The model with every receptor rule logged and, if it prescribes the enzyme
    activities, the LTP-like activities from ``induce_at_s`` for ``length_s``."""
    model = ss.trafficking.with_receptor_history(load_repository_model(path))
    if not prescribes_activities(model):
        return model
    spec = copy.deepcopy(dict(model.spec))
    spec.setdefault("interventions", []).extend([
        {"time": induce_at_s, "set": LTP_ACTIVITIES, "note": "LTP-like enzyme activities"},
        {"time": induce_at_s + length_s, "set": REST_ACTIVITIES, "note": "back to rest"}])
    return ss.Model.from_dict(spec, source=model.source)


def plot(history, ens, receptor, out: Path, induction=(20.0, 30.0), label="LTP-like enzymes"):
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
        ax.axvspan(*induction, color="tab:red", alpha=0.08, lw=0)
    axes[2].text(induction[0] + 0.3, axes[2].get_ylim()[1] * 0.97, label, fontsize=7,
                 va="top", color="tab:red")
    save_figure(fig, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--receptor", type=int, default=None)
    parser.add_argument("--model", default=str(v18.MODEL))
    parser.add_argument("--t-end", type=float, default=5400.0, help="s (default 5400)")
    parser.add_argument("--sample-every", type=float, default=30.0, help="s (default 30)")
    parser.add_argument("--induce-at", type=float, default=1200.0,
                        help="s, start of the induction (default 1200)")
    parser.add_argument("--protocol", default="hfs",
                        help="the stimulus for a model that simulates its enzymes, in the "
                             "command-line form (default 'hfs'), started at --induce-at")
    parser.add_argument("--out", default="out/receptor_history.png")
    args = parser.parse_args(argv)
    if not args.induce_at < args.t_end:
        parser.error(f"--induce-at {args.induce_at:g} s is not before --t-end {args.t_end:g} s")
    model = model_with_induction(args.model, args.induce_at)
    protocol = None
    if prescribes_activities(model):
        span, label = (args.induce_at / 60, (args.induce_at + 600) / 60), "LTP-like enzymes"
    else:
        protocol = ss.protocols.parse(args.protocol).shifted(args.induce_at)
        last = max([args.induce_at, *protocol.pre_spikes_s, *protocol.post_spikes_s])
        span, label = (args.induce_at / 60, max(last, args.induce_at + 30) / 60), args.protocol
    ens = ss.simulate(model, t_end=args.t_end, n_trajectories=1, seed=args.seed,
                      sample_every=args.sample_every, record_events=True, protocol=protocol,
                      max_events=10 ** 9)
    events = ens.events()
    receptor = args.receptor
    if receptor is None:
        rules = events["rule"].astype(str)
        moving = events[rules.str.startswith(("exocytosis", "endocytosis"))
                        & (events["agent_type"].astype(str) == "AMPAR")]
        receptor = int(moving["agent"].value_counts().idxmax())
    history = ss.trafficking.receptor_history(ens, int(ens.trajectories[0]), receptor)
    out = Path(args.out)
    plot(history, ens, receptor, out, span, label)
    history.to_csv(out.with_suffix(".csv"), index=False)
    print(history.to_string(index=False, max_rows=40))
    print(f"\nwrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
