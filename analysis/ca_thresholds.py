"""The Ca²⁺ threshold map with the stochastic decoding modules: 900 Ca²⁺ pulses of
amplitude A and decay τ at 0.5–100 Hz, then 20 min at rest; where does CaMKII end up?

Usage::

    python analysis/ca_thresholds.py [--seed 20261215] [--trajectories 2]
        [--cam-total "10 uM"] [--out out/ca_thresholds.png]

The stack: two-lobe calmodulin (``--cam-total``, default 10 µM: the free pool is a
calibration choice, spines hold 10–50 µM mostly bound), 20 CaMKII holoenzymes, the
I1/PKA/PP1 core and calcineurin as Graupner & Brunel's Hill law of Ca₄CaM (0.1 fL;
reactions/modules/cam_two_lobe.toml, camkii_holoenzyme.toml, pp1_i1_pka.toml,
calcineurin_hill.toml). Ca²⁺ is clamped: 0.1 µM plus, from each pulse of a regular train
at t_k, A·exp(−(t − t_k)/τ), as in Graupner & Brunel's deterministic pre-check; A from
0.5 to 8 µM, τ = 80 ms at every frequency and τ = 12 ms at 1 Hz. The summed waveform is
given to the clamp as steps τ/4 long, each at the waveform's value in its middle (the
last step of a pulse train where it falls below 1 % of A): between steps every rate is
constant, so the engine runs its plain exact loop, where a smooth waveform would need
thinning over ~200 Ca²⁺-driven reactions (10–20× slower here). The SSA is exact for this
staircase; the staircase differs from the exponentials by < 13 % within a step.
Every trajectory starts at the core's resting state (PP1 held by phosphorylated I1)
either DOWN (no pT286) or UP (every subunit pT286). Read: the pT286 fraction, free PP1 and
phosphorylated I1 at the end of the train and after 20 min at rest; a final fraction
>= 0.5 is UP, <= 0.1 DOWN.

Writes the PNG (end-of-train and relaxed pT286 maps from each start, and phosphorylated I1
at the end of the train: the CaN-versus-PKA decision) and a CSV beside it, with the command
and seed in its header (``--from-csv`` redraws the PNG from that CSV). About 30–60 minutes on the shared 2-core machine (2·10⁹ events per trajectory set). Needs matplotlib.
"""

from __future__ import annotations

import argparse
import copy
import csv
import math
import sys
import time
from pathlib import Path

import numpy as np

import stochsyn as ss

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "reactions" / "modules"
STACK = ("cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
         "calcineurin_hill.toml")
SEED = 20261215
FREQUENCIES_HZ = (0.5, 1.0, 5.0, 10.0, 50.0, 100.0)
AMPLITUDES_UM = (0.5, 1.0, 2.0, 4.0, 8.0)
TAU_S, SHORT_TAU_S = 0.080, 0.012
N_PULSES, RELAX_S = 900, 1200.0
UP, DOWN = 0.5, 0.1


def staircase(spikes_s, amplitude_um: float, tau_s: float) -> list[dict]:
    """Steps (added to the 0.1 µM rest) approximating Σ_k A·exp(−(t − t_k)/τ): τ/4 long,
    each at the summed waveform's value in its middle; back to 0 where it falls below
    1 % of A before the next pulse."""
    dt = tau_s / 4
    spikes_s = np.asarray(spikes_s, dtype=float)
    steps, t = [], float(spikes_s[0])
    end = float(spikes_s[-1] + tau_s * math.log(100.0))
    k = 0
    while t < end:
        while k < len(spikes_s) and spikes_s[k] <= t + 1e-12:
            k += 1
        mid = t + dt / 2
        past = spikes_s[:k]
        value = float(np.sum(amplitude_um * np.exp(-(mid - past) / tau_s)))
        if value < 0.01 * amplitude_um:
            steps.append({"time": f"{t!r} s", "value": 0.0})
            if k == len(spikes_s):
                break
            t = float(spikes_s[k])         # jump to the next pulse
            continue
        steps.append({"time": f"{t!r} s", "value": f"{value!r} uM"})
        t = t + dt
        if k < len(spikes_s) and spikes_s[k] < t:
            t = float(spikes_s[k])         # a step never straddles a pulse onset
    steps.append({"time": f"{end!r} s", "value": 0.0})
    return steps


def model(amplitude_um: float, tau_s: float, rate_hz: float, cam_total: str,
          start_up: bool) -> ss.Model:
    """The stack at the core's resting state, with N_PULSES Ca²⁺ pulses of this amplitude
    and τ at ``rate_hz`` from t = 1 s."""
    spikes = 1.0 + np.arange(N_PULSES) / rate_hz
    spec = {
        "model": {"name": "ca_thresholds", "volume": "0.1 fL",
                  "include": [str(MODULES / m) for m in STACK]},
        "parameters": {"cam_total": cam_total},
        "inputs": {"Ca_clamp": {"unit": "uM", "value": "0.1 uM",
                                "steps": staircase(spikes, amplitude_um, tau_s)}},
        # the core at rest: PKA's basal activity keeps I1P high enough to hold every PP1
        "species": {"Ca": {"clamp": "Ca_clamp"}, "PP1": 0, "PP1_I1P": "n_pp1",
                    "I1": "n_i1 - n_pp1"},
    }
    m = ss.Model.from_dict(spec, source="<ca_thresholds stack>")
    if start_up:
        spec = copy.deepcopy(dict(m.spec))
        spec["agents"]["CaMKII"]["initial"] = [{"count": "12 * n_camkii", "t286": "p"}]
        m = ss.Model.from_dict(spec, source="<ca_thresholds stack, UP>")
    return m


def run_point(amplitude_um, tau_s, rate_hz, start_up, cam_total, n_traj, seed, threads):
    m = model(amplitude_um, tau_s, rate_hz, cam_total, start_up)
    t_train = 1.0 + (N_PULSES - 1) / rate_hz + 10 * tau_s
    t_end = t_train + RELAX_S
    ens = ss.simulate(m, t_end, n_traj, seed=seed, sample_times=(0.0, t_train, t_end),
                      n_threads=threads)
    n_sub = 12 * int(m.parameters["n_camkii"])
    n_pp1 = int(m.x0[m.species_index("PP1_I1P")])
    pt = ens.values("camkii_pt286") / n_sub
    pp1 = ens.values("PP1") / n_pp1
    i1p = ens.values("i1p") / int(m.x0[m.species_index("I1")] + n_pp1)
    final = pt[:, 2]
    return {"amplitude_um": amplitude_um, "tau_ms": tau_s * 1e3, "rate_hz": rate_hz,
            "start": "UP" if start_up else "DOWN", "trajectories": n_traj,
            "pt286_train_end": pt[:, 1].mean(), "pt286_train_end_sd": pt[:, 1].std(ddof=1),
            "pp1_free_train_end": pp1[:, 1].mean(), "i1p_train_end": i1p[:, 1].mean(),
            "pt286_final": final.mean(), "pt286_final_sd": final.std(ddof=1),
            "final_up": int(np.sum(final >= UP)), "final_down": int(np.sum(final <= DOWN)),
            "events": int(ens.n_events.sum())}


def plot(out, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, 3, figsize=(14, 8.5))
    grid_rows = [r for r in rows if r["tau_ms"] == TAU_S * 1e3]
    x = {f: i for i, f in enumerate(FREQUENCIES_HZ)}
    y = {a: i for i, a in enumerate(AMPLITUDES_UM)}

    def heat(ax, start, key, title, vmax=1.0, cmap="viridis"):
        data = np.full((len(AMPLITUDES_UM), len(FREQUENCIES_HZ)), np.nan)
        for r in grid_rows:
            if r["start"] == start:
                data[y[r["amplitude_um"]], x[r["rate_hz"]]] = r[key]
        image = ax.imshow(data, origin="lower", aspect="auto", vmin=0, vmax=vmax, cmap=cmap)
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if not np.isnan(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if data[i, j] < 0.6 * vmax else "black")
        ax.set_xticks(range(len(FREQUENCIES_HZ)), [f"{f:g}" for f in FREQUENCIES_HZ])
        ax.set_yticks(range(len(AMPLITUDES_UM)), [f"{a:g}" for a in AMPLITUDES_UM])
        ax.set_xlabel("pulse frequency (Hz), 900 pulses")
        ax.set_ylabel("pulse amplitude A (µM), τ = 80 ms")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)

    heat(axes[0, 0], "DOWN", "pt286_train_end", "from DOWN: pT286 fraction at the train's end")
    heat(axes[0, 1], "DOWN", "i1p_train_end",
         "from DOWN: phosphorylated I1 at the train's end (rest 0.23;\nabove: PKA wins, "
         "PP1 held; below: CaN wins, PP1 freed)", cmap="magma")
    heat(axes[0, 2], "DOWN", "pt286_final", "from DOWN: pT286 fraction after 20 min at rest")
    heat(axes[1, 0], "UP", "pt286_train_end", "from UP: pT286 fraction at the train's end")
    heat(axes[1, 1], "UP", "i1p_train_end", "from UP: phosphorylated I1 at the train's end",
         cmap="magma")
    heat(axes[1, 2], "UP", "pt286_final", "from UP: pT286 fraction after 20 min at rest")
    fig.tight_layout()
    fig.savefig(out, dpi=150)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--trajectories", type=int, default=2)
    parser.add_argument("--cam-total", default="10 uM")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default="out/ca_thresholds.png")
    parser.add_argument("--from-csv", help="redraw the PNG from this CSV, simulate nothing")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.from_csv:
        with open(args.from_csv) as handle:
            lines = [line for line in handle if not line.startswith("#")]
        rows = [{k: (v if k == "start" else float(v)) for k, v in row.items()}
                for row in csv.DictReader(lines)]
        plot(out, rows)
        print(f"wrote {out}")
        return 0
    points = [(a, TAU_S, f) for a in AMPLITUDES_UM for f in FREQUENCIES_HZ]
    points += [(a, SHORT_TAU_S, 1.0) for a in AMPLITUDES_UM]
    rows = []
    start = time.perf_counter()
    for amplitude, tau, rate in points:
        for start_up in (False, True):
            row = run_point(amplitude, tau, rate, start_up, args.cam_total,
                            args.trajectories, args.seed, args.threads)
            rows.append(row)
            print(f"A {amplitude:5g} uM  tau {tau * 1e3:3g} ms  {rate:5g} Hz  from "
                  f"{row['start']:4s}: pT286 end of train {row['pt286_train_end']:.2f}, "
                  f"free PP1 {row['pp1_free_train_end']:.2f}, I1P "
                  f"{row['i1p_train_end']:.2f}; after 20 min {row['pt286_final']:.2f} "
                  f"(UP {row['final_up']}, DOWN {row['final_down']} of "
                  f"{args.trajectories})", flush=True)
    wall = time.perf_counter() - start
    print(f"wall time {wall:.1f} s ({sum(r['events'] for r in rows):.3g} events)")
    with open(out.with_suffix(".csv"), "w", newline="") as handle:
        handle.write(f"# python {' '.join(sys.argv)}  (seed {args.seed}; wall {wall:.1f} s)\n")
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    plot(out, rows)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
