"""Hybrid mode against the exact mode on the spine electrophysiology model (issue 3):
Ca²⁺ transients of a single EPSP and of a short 100 Hz train, as a table and a PNG.

Model: ``reactions/examples/spine_electrophysiology.toml``. Hybrid: the species of the Ca²⁺
module continuous (``stochsyn.validation.calcium_transients.CALCIUM_SPECIES``: free Ca, the
immobile and slow buffers and the PMCA and NCX pumps, free and bound), so the module's 15
reactions are an ODE and Ca²⁺ entry through NMDARs (discrete, GHK kind) is a jump of +1.
Receptors, release, Mg²⁺ block and the membrane stay exact. (Making only the buffers
continuous would remove no event: every buffer reaction reads Ca.)

Protocols (``stochsyn.validation.calcium_transients``; the first spike at 10 ms, samples
every 0.5 ms, t = 0..250 ms):

* EPSP: one presynaptic spike, release probability 1 (as V5), so every trajectory has one
  release (amplitude CV 0.5);
* HFS: the first ``--hfs-pulses`` pulses (default 10) of ``protocols.hfs()`` (100 Hz, the
  model's Pr 0.3, 2 mV cooperative depolarisation per pulse).

Both modes run trajectories 0..N-1 of the same root seed; their streams diverge at the first
Ca²⁺ event (the hybrid draws none for the module), so the two ensembles are independent.

Columns (free Ca²⁺ above rest, in µM; rest = mean of the samples before 10 ms):
peak of the mean transient ± jackknife SE (what an imaging experiment averages, and what
the hybrid approximates); per-trajectory peak, mean ± SE and SD over trajectories (the
maximum of a noisy trace: the exact mode's binding noise raises it, so the two modes are
not expected to agree there); time-mean free Ca over 10–250 ms; Ca²⁺ entry through NMDARs
(ions, firings of ``nmda_ca_influx``: upstream of Ca²⁺, the same process in both modes);
decay τ of the mean transient (single exponential from its peak to 10 % of it, the fit of
tests/statistical/test_calcium.py, jackknife SE over 8 groups); events and ODE steps per
trajectory; wall time per trajectory (1 thread, compilation excluded). Below the table, per
protocol: the response per ion entered, the least-squares slope of the per-trajectory
time-mean on the entry (µM per 10^4 ions; most of the spread between trajectories is the
entry's, the same process in both modes, so this compares the modes with less noise).

Accuracy criterion (as tests/statistical/test_hybrid.py): the peaks of the mean transients
agree within 3 combined SEs plus 2 % (twice the covariance bound of the module's binding
fluxes, ≈ 1 %, tests/statistical/test_calcium.py). The bound cannot be computed from these
ensembles: across trajectories the spread of Ca²⁺ and of the buffers is mostly the spread
of the entry (30–140 % here), not binding noise.

Usage::

    python analysis/hybrid_accuracy.py                       # ~1 min on 1 core
    python analysis/hybrid_accuracy.py --trajectories 200 --hybrid-trajectories 1000 \\
        --hfs-trajectories 64 --hfs-pulses 100 --out hybrid_accuracy.png

Needs matplotlib for the PNG (``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import stochsyn as ss  # noqa: E402
from stochsyn.validation import calcium_transients as ct  # noqa: E402
from tests.statistical.test_calcium import fit_decay  # noqa: E402

T_END = 0.25
SEED = 20261124
BIAS = 0.02      # the allowance of tests/statistical/test_hybrid.py (module docstring)


def protocols(hfs_pulses: int) -> dict:
    return {
        "EPSP": (ss.protocols.spikes(pre_s=[ct.T_SPIKE_S]), 1.0),
        f"HFS {hfs_pulses} pulses": (ss.protocols.hfs(pulses=hfs_pulses, start_s=ct.T_SPIKE_S),
                                     None),
    }


def run(model, protocol, release_probability, n, seed, threads):
    """(Ensemble, wall seconds) of trajectories 0..n-1."""
    start = time.perf_counter()
    ens = ct.ensemble(protocol, t_end_s=T_END, n_trajectories=n, seed=seed, model=model,
                      n_threads=threads, release_probability=release_probability,
                      on_stop="raise")
    return ens, time.perf_counter() - start


def jackknife(values: np.ndarray, statistic, groups: int = 8) -> tuple[float, float]:
    """(statistic of all rows, delete-a-group jackknife SE)."""
    whole = statistic(values)
    parts = np.array_split(np.arange(values.shape[0]), groups)
    leave = np.array([statistic(np.delete(values, g, axis=0)) for g in parts])
    return whole, math.sqrt((groups - 1) / groups * np.sum((leave - leave.mean()) ** 2))


def decay_tau(times: np.ndarray, free: np.ndarray) -> float:
    """τ (s) of the mean transient ``free`` (rows: trajectories, µM above rest) from its
    peak (tests/statistical/test_calcium.py fit_decay, started at the peak)."""
    mean = free.mean(axis=0)
    peak = int(np.argmax(mean))
    delay = max(times[peak] - ct.T_SPIKE_S - 1e-9, 0.0)
    try:
        tau = fit_decay(times, mean, 0.0, delay=delay)[0]
    except (RuntimeError, TypeError, ValueError):   # too little decay after the peak
        return math.nan
    return tau if 0.0 < tau < 10.0 else math.nan    # no transient (e.g. no release)


def measure(ens, wall) -> dict:
    """The table's figures of one ensemble."""
    t = ens.times
    free = ens.values("Ca") / ct.IONS_PER_UM
    free = free - free[:, t < ct.T_SPIKE_S].mean()
    tr = ct.transient(ens)
    after = t >= ct.T_SPIKE_S
    influx = ens.firings[:, [j for j, r in enumerate(ens.reactions)
                             if r.startswith("nmda_ca_influx")]].sum(axis=1)
    n = ens.n_trajectories

    def stats(v):
        v = np.asarray(v, dtype=float)
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(n)), float(v.std(ddof=1))

    tau, tau_se = jackknife(free, lambda rows: decay_tau(t, rows))
    # response per ion entered: least-squares slope of the time-mean on the entry (most of
    # the spread between trajectories is in the entry, which is the same process in both
    # modes; the slope compares what the Ca²⁺ module makes of it)
    time_mean = free[:, after].mean(axis=1)
    design = np.column_stack([influx / 1e4, np.ones(n)])
    coef, *_ = np.linalg.lstsq(design, time_mean, rcond=None)
    resid = time_mean - design @ coef
    cov = resid @ resid / max(n - 2, 1) * np.linalg.pinv(design.T @ design)
    out = {
        "peak_of_mean": (tr.peak_um, tr.peak_se_um),
        "peak": stats(free.max(axis=1)),
        "time_mean": stats(free[:, after].mean(axis=1)),
        "entry": stats(influx),
        "tau_ms": (1e3 * tau, 1e3 * tau_se),
        "per_entry": (float(coef[0]), float(math.sqrt(cov[0, 0]))),
        "events": float(ens.n_events.mean()),
        "ode_steps": float(ens.ode_steps.mean()) if ens.ode_steps is not None else 0.0,
        "wall": wall / n,
        "mean": free.mean(axis=0), "sd": free.std(axis=0), "times": t,
    }
    return out


def table(rows) -> str:
    head = (f"{'protocol':16s} {'mode':7s} {'N':>5s} {'peak of mean':>15s} "
            f"{'peak/traj ± SE (SD)':>22s} {'time-mean ± SE':>16s} {'entry (ions) ± SE':>19s} "
            f"{'τ (ms)':>12s} {'events':>9s} {'ODE steps':>9s} {'wall/traj':>10s}")
    lines = [head, "-" * len(head)]
    for protocol, mode, n, m in rows:
        p, pse, psd = m["peak"]
        tm, tmse, _ = m["time_mean"]
        e, ese, _ = m["entry"]
        lines.append(
            f"{protocol:16s} {mode:7s} {n:5d} {m['peak_of_mean'][0]:7.3f} ± "
            f"{m['peak_of_mean'][1]:5.3f} {p:7.3f} ± {pse:5.3f} ({psd:5.3f}) "
            f"{tm:7.3f} ± {tmse:5.3f} {e:9.0f} ± {ese:6.0f} {m['tau_ms'][0]:5.1f} ± "
            f"{m['tau_ms'][1]:4.1f} {m['events']:9.3g} {m['ode_steps']:9.3g} "
            f"{m['wall']:9.3f}s")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=1000,
                        help="exact trajectories per protocol")
    parser.add_argument("--hybrid-trajectories", type=int, default=None,
                        help="hybrid trajectories per protocol (default: as exact)")
    parser.add_argument("--hfs-trajectories", type=int, default=64,
                        help="trajectories of the HFS train per mode (0 skips it)")
    parser.add_argument("--hfs-pulses", type=int, default=10)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=1,
                        help="threads (1: the wall per trajectory is the cost of one)")
    parser.add_argument("--out", default="hybrid_accuracy.png")
    args = parser.parse_args(argv)
    n_hybrid = args.hybrid_trajectories or args.trajectories

    exact_model = ss.load_model(ct.MODEL)
    hybrid_model = ct.hybrid(exact_model)
    # compile both kernels outside the timings
    for model in (exact_model, hybrid_model):
        ct.ensemble(ss.protocols.spikes(pre_s=[ct.T_SPIKE_S]), t_end_s=0.02, n_trajectories=1,
                    seed=1, model=model, n_threads=args.threads)
    print(f"model {ct.MODEL.relative_to(ROOT)}; hybrid: continuous "
          f"{', '.join(ct.CALCIUM_SPECIES)}; rtol, atol = "
          f"{hybrid_model.continuous_tolerance}; seed {args.seed}, {args.threads} thread(s)")

    rows, verdicts = [], []
    for protocol_name, (protocol, pr) in protocols(args.hfs_pulses).items():
        is_hfs = protocol_name.startswith("HFS")
        if is_hfs and args.hfs_trajectories <= 0:
            continue
        n_exact = args.hfs_trajectories if is_hfs else args.trajectories
        n_hyb = args.hfs_trajectories if is_hfs else n_hybrid
        results = {}
        for mode, model, n in (("exact", exact_model, n_exact),
                               ("hybrid", hybrid_model, n_hyb)):
            ens, wall = run(model, protocol, pr, n, args.seed, args.threads)
            results[mode] = measure(ens, wall)
            rows.append((protocol_name, mode, n, results[mode]))
            print(f"  {protocol_name}, {mode}: {n} trajectories in {wall:.1f} s", flush=True)
        e, h = results["exact"], results["hybrid"]
        se = math.hypot(e["peak_of_mean"][1], h["peak_of_mean"][1])
        diff = h["peak_of_mean"][0] - e["peak_of_mean"][0]
        allowed = 3 * se + BIAS * e["peak_of_mean"][0]
        verdicts.append(
            f"{protocol_name}: peak of the mean, hybrid - exact = {diff:+.3f} µM "
            f"({100 * diff / e['peak_of_mean'][0]:+.1f} %), combined SE {se:.3f}, allowed "
            f"3 SE + {100 * BIAS:g} % = {allowed:.3f}: "
            f"{'AGREE' if abs(diff) <= allowed else 'DIFFER'}; entry Z = "
            f"{(h['entry'][0] - e['entry'][0]) / math.hypot(h['entry'][1], e['entry'][1]):+.2f}"
            f"; time-mean per 10^4 ions entered (slope) exact {e['per_entry'][0]:.3f} ± "
            f"{e['per_entry'][1]:.3f}, hybrid {h['per_entry'][0]:.3f} ± {h['per_entry'][1]:.3f} µM"
            f"; speed-up (wall per trajectory) {e['wall'] / h['wall']:.1f}x, events "
            f"{e['events'] / h['events']:.0f}x fewer")
    print()
    print(table(rows))
    print()
    for line in verdicts:
        print(line)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        for protocol, mode, n, m in rows:
            if protocol != name:
                continue
            color = "C0" if mode == "exact" else "C3"
            ms = 1e3 * m["times"]
            ax.plot(ms, m["mean"], color=color, label=f"{mode} (N = {n}), mean ± SD")
            ax.fill_between(ms, m["mean"] - m["sd"], m["mean"] + m["sd"], color=color,
                            alpha=0.18, lw=0)
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("free Ca²⁺ above rest (µM)")
        ax.set_title(f"{name}: exact vs hybrid (Ca²⁺ module continuous)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=150)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
