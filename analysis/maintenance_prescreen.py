"""Which maintenance mechanism can hold an LTP without CaMKII (docs/trafficking.md,
"Maintenance options"; docs/science.md §8.5 "Calibration, part 2b"): a cheap pre-screen on
the standalone trafficking module, with the enzyme activities prescribed, before the
expensive screen of the full spine (``analysis/lasting_ltp.py``).

The standalone module (``reactions/modules/ampar_trafficking.toml``) holds the four enzyme
activities as counts; here they are set to the default spine's measured resting state
(docs/science.md §8.5: PSD CaMKII ~2.7 % active, 7 of 240; free PP1 ~56 %, 7 of 12; PKA 1
of 60; calcineurin 0) with the spine's ``k_slot_p`` = 0.2 /s, and an **HFS-like enzyme
pulse** is applied at 30 min as interventions, read from the spine's measured HFS
(docs/science.md §8.5 "Calibration, part 2": pT286 188 of 240 at 10 s and 0 by 20 s, free
PP1 1 of 12 at 10 s, CaN·CaM 84 of 96 decaying with τ ≈ 50 s): CaMKII 200 of 240, PKA 50
of 60, PP1 1 of 12 and calcineurin 80 for 15 s, then rest with calcineurin 60 for 1 min
and 20 for another minute. This pulse is an assumption (prescribed, not simulated): the
pre-screen ranks candidates; only the full spine decides.

Per candidate, ``--trajectories`` synapses at rest, as many with the pulse and as many
with an LTD-like enzyme state for 15 min (``LTD_LIKE``; common random numbers): Δweight 5 and 20 min after the pulse (relative to 30 min), the share of
synapses whose trapped receptors exceed 60 at 20 min ("switched"), and the largest
phosphorylated-slot count reached during the 30 min of rest. Criteria: the rest arm flat
(no synapse switched), the pulse arm positive and not decaying from 5 to 20 min, the
LTD-like arm not potentiated.

Usage (repository root; ~2 s CPU per candidate at 100 synapses)::

    python analysis/maintenance_prescreen.py [--trajectories 100] [--spine-pulse]
        [--rest-pp1 6] [--after 1800] [--candidates none,recruit_K85_n24_k1] [--out out]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import REPOSITORY

MODULE = REPOSITORY / "reactions" / "modules" / "ampar_trafficking.toml"
SEED = 20261217
PULSE_AT_S = 1800.0
AFTER_S = 1200.0
SAMPLE_EVERY_S = 30.0
#: The default spine's resting activities (counts) and slot phosphorylation rate.
SPINE_REST = dict(camkii_psd_active=7, pka_active=1, can_active=0, pp1_free=7,
                  k_slot_p="0.2 /s")
#: Marks a count set back to the resting free PP1 (``SPINE_REST["pp1_free"]``, so
#: ``--rest-pp1`` moves it too): after a pulse, free PP1 returns to rest, not to a fixed count.
REST_PP1 = "rest"
#: The HFS-like pulse: (time after PULSE_AT_S in s, species counts set then).
PULSE = [(0.0, dict(CaMKII_psd_active=200, PKA_active=50, CaN_active=80, PP1_free=1)),
         (15.0, dict(CaMKII_psd_active=7, PKA_active=1, CaN_active=60, PP1_free=REST_PP1)),
         (75.0, dict(CaN_active=20)),
         (135.0, dict(CaN_active=0))]
#: ``--spine-pulse``: the course measured in the spine itself (docs/science.md §8.5
#: "Calibration, part 2b", one HFS trajectory, 5 s samples): PSD CaMKII 156 of 240 for
#: ~5 s, PP1 0 during the train and 9-12 of 12 free after it (measured after a 300-s
#: warm-up, while PP1 was still settling: so 10 at rest too by default). After the train
#: PP1 returns to the resting value (``--rest-pp1``: ~6 after the 1800-s warm-up).
SPINE_MEASURED_PULSE = [(0.0, dict(CaMKII_psd_active=156, PKA_active=50, CaN_active=80,
                                   PP1_free=0)),
                        (7.0, dict(CaMKII_psd_active=7, PKA_active=1, CaN_active=60,
                                   PP1_free=REST_PP1)),
                        (75.0, dict(CaN_active=20)),
                        (135.0, dict(CaN_active=0))]
#: An LTD-like enzyme state for 15 min from PULSE_AT_S (analysis/ampar_mutants.py's
#: LTD-like state: calcineurin half active, PP1 all free; a stand-in for 1 Hz x 900, whose
#: enzyme course in the spine is not measured): its 20-min read-out is 5 min after its end.
LTD_LIKE = [(0.0, dict(CaN_active=48, PP1_free=12)),
            (900.0, dict(CaN_active=0, PP1_free=REST_PP1))]
#: Trapped receptors above which a synapse counts as switched (rest: 45).
SWITCHED_ABOVE = 60

CANDIDATES = {
    "none": {},
    # cluster stabilisation of trapped receptors: untrapping x g(T)/g(45)
    "cluster_K55_n12": dict(untrap_cluster_share=1, untrap_cluster_K=55, untrap_cluster_n=12),
    "cluster_K60_n16": dict(untrap_cluster_share=1, untrap_cluster_K=60, untrap_cluster_n=16),
    "cluster_K65_n16": dict(untrap_cluster_share=1, untrap_cluster_K=65, untrap_cluster_n=16),
    # slot self-recruitment: SLOT -> SLOT_p at k Q^n/(K^n + Q^n)
    "recruit_K80_n12": dict(k_slot_recruit="0.1 /s", slot_recruit_K=80, slot_recruit_n=12),
    "recruit_K85_n16": dict(k_slot_recruit="0.3 /s", slot_recruit_K=85, slot_recruit_n=16),
    "recruit_K90_n16": dict(k_slot_recruit="0.5 /s", slot_recruit_K=90, slot_recruit_n=16),
    "recruit_K85_n24": dict(k_slot_recruit="0.3 /s", slot_recruit_K=85, slot_recruit_n=24),
    "recruit_K80_n24_k1": dict(k_slot_recruit="1 /s", slot_recruit_K=80, slot_recruit_n=24),
    # at the warmed-up resting PP1 (~6 of 12) K80 has no margin: higher thresholds at the
    # same steepness and rate (analysis/lasting_ltp.py has the same names)
    "recruit_K85_n24_k1": dict(k_slot_recruit="1 /s", slot_recruit_K=85, slot_recruit_n=24),
    "recruit_K90_n24_k1": dict(k_slot_recruit="1 /s", slot_recruit_K=90, slot_recruit_n=24),
    "recruit_K85_n24_k1_can_dp01": dict(k_slot_recruit="1 /s", slot_recruit_K=85,
                                        slot_recruit_n=24, k_slot_dp_can="0.1 /s"),
    "recruit_K90_n24_k1_can_dp01": dict(k_slot_recruit="1 /s", slot_recruit_K=90,
                                        slot_recruit_n=24, k_slot_dp_can="0.1 /s"),
    "recruit_K90_n24_k1_can_dp003": dict(k_slot_recruit="1 /s", slot_recruit_K=90,
                                         slot_recruit_n=24, k_slot_dp_can="0.03 /s"),
    "recruit_K85_n24_k1_can_dp003": dict(k_slot_recruit="1 /s", slot_recruit_K=85,
                                         slot_recruit_n=24, k_slot_dp_can="0.03 /s"),
}


ARMS = {"rest": [], "HFS-like pulse": PULSE, "LTD-like 15 min": LTD_LIKE}


def build(parameters: dict, arm: str) -> ss.Model:
    """The standalone module at the spine's resting activities with ``parameters``, and
    the enzyme course of ``arm`` (a key of ARMS) as interventions."""
    model = ss.load_model(MODULE).with_parameters(**SPINE_REST, **parameters)
    if not ARMS[arm]:
        return model
    spec = copy.deepcopy(dict(model.spec))
    spec.setdefault("interventions", []).extend(
        {"time": PULSE_AT_S + dt, "note": arm,
         "set": {species: SPINE_REST["pp1_free"] if count == REST_PP1 else count
                 for species, count in counts.items()}}
        for dt, counts in ARMS[arm])
    return ss.Model.from_dict(spec, source=model.source)


def screen(name: str, n: int, after_s: float = AFTER_S) -> tuple[list[dict], pd.DataFrame]:
    """Rest and pulse arms of one candidate: summary rows and the mean weight course, each
    arm run to ``after_s`` (≥ AFTER_S) after the pulse time; ``switched_end_share`` is the
    share switched at that end (the rest arm: within PULSE_AT_S + after_s of rest)."""
    rows, courses = [], []
    for arm in ARMS:
        ens = ss.simulate(build(CANDIDATES[name], arm), t_end=PULSE_AT_S + after_s,
                          n_trajectories=n, seed=SEED, sample_every=SAMPLE_EVERY_S,
                          progress=False)
        times = np.asarray(ens.times)
        k0, k5, k20 = (int(np.argmin(np.abs(times - t)))
                       for t in (PULSE_AT_S, PULSE_AT_S + 300.0, PULSE_AT_S + AFTER_S))
        g = ens.values("ampar_psd_conductance").astype(float)
        dw = 100.0 * (g / g[:, [k0]] - 1.0)
        trapped = ens.values("ampar_trapped")
        phospho = ens.values("slots_phosphorylated")
        row = dict(candidate=name, arm=arm, n=n, parameters=str(CANDIDATES[name] or "-"))
        for label, k in (("5min", k5), ("20min", k20)):
            row[f"dw_{label}_pct"] = dw[:, k].mean()
            row[f"dw_{label}_sem"] = dw[:, k].std(ddof=1) / np.sqrt(n)
        change = dw[:, k20] - dw[:, k5]
        row["dw_5_to_20min_pct"] = change.mean()
        row["dw_5_to_20min_sem"] = change.std(ddof=1) / np.sqrt(n)
        row["switched_share"] = float((trapped[:, k20] > SWITCHED_ABOVE).mean())
        row["end_min"] = times[-1] / 60.0
        row["switched_end_share"] = float((trapped[:, -1] > SWITCHED_ABOVE).mean())
        row["trapped_at_pulse_mean"] = trapped[:, k0].mean()
        row["trapped_20min_mean"] = trapped[:, k20].mean()
        row["max_phospho_slots_rest"] = int(phospho[:, :k0 + 1].max())
        rows.append(row)
        courses.append(pd.DataFrame(dict(candidate=name, arm=arm,
                                         minutes=(times - PULSE_AT_S) / 60.0,
                                         dw_mean=dw.mean(axis=0),
                                         dw_sem=dw.std(axis=0, ddof=1) / np.sqrt(n))))
    return rows, pd.concat(courses)


def plot(courses: pd.DataFrame, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(dict.fromkeys(courses["candidate"]))
    fig, axes = plt.subplots(2, (len(names) + 1) // 2, figsize=(3.2 * ((len(names) + 1) // 2), 5.6),
                             sharex=True, sharey=True, squeeze=False)
    for ax, name in zip(axes.flat, names):
        for arm, colour in zip(ARMS, ("0.4", "C3", "C0")):
            c = courses[(courses["candidate"] == name) & (courses["arm"] == arm)]
            ax.plot(c["minutes"], c["dw_mean"], color=colour, label=arm)
            ax.fill_between(c["minutes"], c["dw_mean"] - c["dw_sem"],
                            c["dw_mean"] + c["dw_sem"], color=colour, alpha=0.25, lw=0)
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(name, fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("min after the pulse")
    for ax in axes[:, 0]:
        ax.set_ylabel("Δweight (%), mean ± SE")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=100)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--spine-pulse", action="store_true",
                        help="the pulse measured in the spine (SPINE_MEASURED_PULSE) and 10 "
                             "of 12 PP1 free at rest, instead of the prescribed pulse")
    parser.add_argument("--rest-pp1", type=int, default=None, metavar="N",
                        help="free PP1 (of 12) at rest instead of 7 (10 with --spine-pulse):"
                             " ~6 after the spine's 30-min warm-up (docs/science.md §8.5"
                             " \"The warm-up\"); the pulse's own course is unchanged")
    parser.add_argument("--after", type=float, default=AFTER_S,
                        help="run every arm to this many s after the pulse time (default"
                             f" {AFTER_S:g}; 1800 gives 60 min of rest in all); the read-outs"
                             " stay at 5 and 20 min, switched_end_share is at the end")
    parser.add_argument("--out", type=Path, default=Path("out"))
    args = parser.parse_args(argv)
    if args.after < AFTER_S:
        parser.error(f"--after {args.after:g}: must be at least {AFTER_S:g} s (the 20-min "
                     "read-out)")
    stem = "maintenance_prescreen"
    if args.spine_pulse:
        ARMS["HFS-like pulse"] = SPINE_MEASURED_PULSE
        SPINE_REST["pp1_free"] = 10
        stem += "_spine_pulse"
    if args.rest_pp1 is not None:
        SPINE_REST["pp1_free"] = args.rest_pp1
        stem += f"_rest_pp1_{args.rest_pp1}"
    if args.after != AFTER_S:
        stem += f"_after_{args.after:g}"
    rows, courses = [], []
    for name in args.candidates.split(","):
        r, c = screen(name, args.trajectories, args.after)
        rows += r
        courses.append(c)
    table = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / f"{stem}.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[["candidate", "arm", "n", "dw_5min_pct", "dw_5min_sem", "dw_20min_pct",
                     "dw_20min_sem", "switched_share", "switched_end_share",
                     "max_phospho_slots_rest"]]
              .round(2).to_string(index=False))
    plot(pd.concat(courses), args.out / f"{stem}.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
