"""The hybrid mode against the exact mode on the spine electrophysiology model: single
EPSPs and 100 Hz trains, a table (CSV) and a figure (PNG).

Model: ``reactions/examples/spine_electrophysiology.toml``. Exact: every species counted,
every reaction an event (``stochsyn.validation.calcium_transients.exact``, ``--exact`` on
the command line). Hybrid: the example's own declaration (its ``[continuous]`` table,
``calcium_transients.hybrid``): the Ca²⁺ module's species continuous (free Ca²⁺, the two
buffers, PMCA and NCX, free and bound) with its rate equations integrated between events,
and Ca²⁺ entry through open, unblocked NMDARs a flux (a GHK term of dCa/dt along the
membrane voltage, no events). Release, receptor gating, every Mg²⁺ block and unblock and
the membrane stay exact in both.

Protocols (``stochsyn.validation.calcium_transients``; first spike at 10 ms, samples
every 0.5 ms):

* EPSP: one presynaptic spike with release probability 1 (as V5), t = 0..250 ms;
* HFS: 100 Hz × 1 s with 5.5 mV cooperative depolarisation per pulse (the V6b train,
  ``calcium_transients.tetanus``) at the model's release probability 0.3, t = 0..1.2 s.

Both modes run trajectories 0..N-1 of the same root seed. Their random streams part at the
first event the hybrid does not have (a buffer or pump event, an ion's entry), so the two
ensembles are independent samples.

Measures, each a mean over trajectories ± its standard error (SE):

* ``peak``: peak of the mean free-Ca²⁺ transient above rest (µM; rest = the samples before
  the first spike), SE by the jackknife over trajectories (EPSP);
* ``integral``: time integral of free Ca²⁺ above rest from the spike to the end (µM·ms);
* ``plateau``: mean free Ca²⁺ above rest over the second half of the train (µM; V6b's);
* ``mg_unblocks``: Mg²⁺ unblock events (firings of ``nmdar_mg_unblock``);
* ``nmdar_open``: NMDAR open time, open and unblocked (the conducting receptors,
  observable ``nmdar_open``), receptor·ms, by the rectangle rule on the 0.5 ms grid (the
  same estimator in both modes);
* ``ca_entry``: Ca²⁺ ions entered through NMDARs: firings of ``nmda_ca_influx`` (exact)
  or its flux total (hybrid, ``Ensemble.flux_totals``);
* ``response_per_ion``: the integral per 10⁴ ions entered, as the ratio of the two means
  (jackknife SE): what the Ca²⁺ module makes of the entry, without most of the spread
  between trajectories, which is the entry's (release amplitude, gating);
* ``releases``: vesicles released, upstream of everything (for the HFS trains, at Pr 0.3);
* ``peak_per_trajectory``: the mean of each trajectory's own peak (µM), and
  ``ca_jitter``: the RMS of free Ca²⁺'s change from one 0.5 ms sample to the next after
  the spike (µM). Not expected to agree (below).

Verdict (issue 12): each mean of the hybrid within max(2 combined SE, 2 %) of the exact
one, for every measure but the last two. The standard deviations over trajectories are
printed too, with their ratio. Where the variance differs and why: the hybrid has no
ion-entry (shot) noise and no binding or pumping noise, so free Ca²⁺ has no fast
fluctuation of its own (``ca_jitter``), and each trajectory's peak sits lower (the maximum
of a noisy trace is above its mean course); the spread *between* trajectories of what is
integrated (entry, integral, plateau) is the spread of what stays discrete — release
amplitude (CV 0.5), gating, the Mg²⁺ block — and barely changes. For the entry the
difference is predicted exactly: given the gating, the exact count of ions is Poisson
with mean the hybrid's flux total, so ``Var(exact) − Var(hybrid) = E[entry]`` (bootstrap
SE printed): under 0.1 % of the entry's variance here.

The ODE's own error (``--tolerances``, on by default): nothing discrete reads Ca²⁺ in this
model, so the hybrid's discrete events do not depend on the ODE, and the same trajectories
run at several tolerances differ only by the integration: the largest difference of free
Ca²⁺ from a run at rtol = atol = 1e-9, relative to the largest free Ca²⁺, per tolerance
(8 EPSPs and 2 trains), and the ODE steps it costs.

Usage::

    python analysis/hybrid_accuracy.py        # 1000 EPSPs, 256 trains per mode
    python analysis/hybrid_accuracy.py --epsps 200 --trains 16 --out /tmp/acc.png

Writes the PNG at ``--out`` and the table next to it (same name, ``.csv``; the command
and seed on its first lines). Needs matplotlib (``pip install '.[analysis]'``).
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

SEED = 20261124
#: The issue's allowance: the hybrid's mean within max(2 combined SE, 2 %) of the exact.
N_SE = 2.0
RELATIVE = 0.02
EPSP_T_END = 0.25
HFS_T_END = 1.2


def protocols():
    """name -> (protocol, release probability or None for the model's, t_end)."""
    return {
        "EPSP": (ss.protocols.spikes(pre_s=[ct.T_SPIKE_S]), 1.0, EPSP_T_END),
        "HFS": (ss.protocols.hfs(start_s=ct.T_SPIKE_S,
                                 depolarisation_mv=ct.TETANUS_DEPOLARISATION_MV),
                None, HFS_T_END),
    }


def run(model, protocol, release_probability, t_end, n, seed, threads):
    """(Ensemble, wall seconds) of trajectories 0..n-1."""
    start = time.perf_counter()
    ens = ct.ensemble(protocol, t_end_s=t_end, n_trajectories=n, seed=seed, model=model,
                      n_threads=threads, release_probability=release_probability,
                      on_stop="raise")
    return ens, time.perf_counter() - start


def reaction_sum(ens, prefix, flux=False) -> np.ndarray:
    """Firings (plus flux totals) per trajectory of the reactions named ``prefix…``."""
    columns = [j for j, r in enumerate(ens.reactions) if r.startswith(prefix)]
    total = ens.firings[:, columns].sum(axis=1).astype(float)
    if flux and ens.flux_totals is not None:
        total = total + ens.flux_totals[:, columns].sum(axis=1)
    return total


def per_trajectory(ens, protocol_name) -> dict:
    """The per-trajectory measures of the module docstring (arrays), and the mean
    transient for the figure."""
    t = ens.times
    free = ens.values("Ca") / ct.IONS_PER_UM
    above = free - free[:, t < ct.T_SPIKE_S].mean()
    after = t >= ct.T_SPIKE_S
    dt_ms = 1e3 * ct.DT_S
    out = {
        "integral": above[:, after].sum(axis=1) * dt_ms,
        "mg_unblocks": reaction_sum(ens, "nmdar_mg_unblock"),
        "nmdar_open": ens.values("nmdar_open")[:, after].sum(axis=1) * dt_ms,
        "ca_entry": reaction_sum(ens, "nmda_ca_influx", flux=True),
        "releases": ens.n_releases.astype(float),
        "peak_per_trajectory": above.max(axis=1),
        "ca_jitter": np.sqrt(np.mean(np.diff(above[:, after], axis=1) ** 2, axis=1)),
    }
    if protocol_name == "HFS":
        window = (t >= ct.T_SPIKE_S + 0.5) & (t <= ct.T_SPIKE_S + 0.99)
        out["plateau"] = above[:, window].mean(axis=1)
    out["_above"] = above
    return out


def jackknife_peak(above: np.ndarray) -> tuple[float, float]:
    """Peak of the mean transient and its delete-one jackknife SE."""
    n = above.shape[0]
    total = above.sum(axis=0)
    leave = np.array([((total - above[i]) / (n - 1)).max() for i in range(n)])
    return float(total.max() / n), float(math.sqrt((n - 1) / n * np.sum((leave - leave.mean())
                                                                          ** 2)))


def jackknife_ratio(num: np.ndarray, den: np.ndarray, scale: float) -> tuple[float, float]:
    """``scale · mean(num)/mean(den)`` and its delete-one jackknife SE."""
    n = len(num)
    total_n, total_d = num.sum(), den.sum()
    leave = scale * (total_n - num) / (total_d - den)
    return (float(scale * total_n / total_d),
            float(math.sqrt((n - 1) / n * np.sum((leave - leave.mean()) ** 2))))


def summary(values: np.ndarray) -> tuple[float, float, float]:
    """(mean, SE, SD) over trajectories."""
    values = np.asarray(values, dtype=float)
    sd = float(values.std(ddof=1))
    return float(values.mean()), sd / math.sqrt(len(values)), sd


def variance_gap(exact: np.ndarray, hybrid: np.ndarray, seed: int, n_boot: int = 400):
    """Var(exact) − Var(hybrid) and its bootstrap SE (resampling trajectories)."""
    rng = np.random.default_rng(seed)
    gap = exact.var(ddof=1) - hybrid.var(ddof=1)
    boot = [exact[rng.integers(0, len(exact), len(exact))].var(ddof=1)
            - hybrid[rng.integers(0, len(hybrid), len(hybrid))].var(ddof=1)
            for _ in range(n_boot)]
    return float(gap), float(np.std(boot, ddof=1))


MEASURES = {  # name -> (unit, checked)
    "peak": ("µM", True), "integral": ("µM·ms", True), "plateau": ("µM", True),
    "mg_unblocks": ("events", True), "nmdar_open": ("receptor·ms", True),
    "ca_entry": ("ions", True), "response_per_ion": ("µM·ms/1e4 ions", True),
    "releases": ("vesicles", True), "peak_per_trajectory": ("µM", False),
    "ca_jitter": ("µM", False),
}


def compare(name, exact, hybrid) -> list[dict]:
    """One row per measure: both modes' mean, SE, SD, the difference and the verdict."""
    rows = []
    for measure, (unit, checked) in MEASURES.items():
        if measure == "peak":
            if name != "EPSP":
                continue
            (e_mean, e_se), (h_mean, h_se) = (jackknife_peak(exact["_above"]),
                                              jackknife_peak(hybrid["_above"]))
            e_sd = h_sd = math.nan
        elif measure == "response_per_ion":
            e_mean, e_se = jackknife_ratio(exact["integral"], exact["ca_entry"], 1e4)
            h_mean, h_se = jackknife_ratio(hybrid["integral"], hybrid["ca_entry"], 1e4)
            e_sd = h_sd = math.nan
        elif measure in exact:
            e_mean, e_se, e_sd = summary(exact[measure])
            h_mean, h_se, h_sd = summary(hybrid[measure])
        else:
            continue
        se = math.hypot(e_se, h_se)
        diff = h_mean - e_mean
        allowed = max(N_SE * se, RELATIVE * abs(e_mean))
        rows.append(dict(
            protocol=name, measure=measure, unit=unit, exact_mean=e_mean, exact_se=e_se,
            exact_sd=e_sd, hybrid_mean=h_mean, hybrid_se=h_se, hybrid_sd=h_sd,
            diff_pct=100 * diff / e_mean, combined_se_pct=100 * se / abs(e_mean),
            allowed_pct=100 * allowed / abs(e_mean),
            sd_ratio=h_sd / e_sd if e_sd > 0 else math.nan,     # (releases at Pr 1: SD 0)
            verdict=("AGREE" if abs(diff) <= allowed else "DIFFER") if checked
            else "(not compared)"))
    return rows


def format_table(rows) -> str:
    head = (f"{'protocol':8s} {'measure':20s} {'unit':12s} {'exact mean ± SE':>22s} "
            f"{'hybrid mean ± SE':>22s} {'hyb−exact':>9s} {'allowed':>8s} {'SD hyb/exact':>12s}"
            "  verdict")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['protocol']:8s} {r['measure']:20s} {r['unit']:12s} "
            f"{r['exact_mean']:11.4g} ± {r['exact_se']:8.2g} "
            f"{r['hybrid_mean']:11.4g} ± {r['hybrid_se']:8.2g} {r['diff_pct']:+8.2f}% "
            f"{r['allowed_pct']:7.2f}% {r['sd_ratio']:12.3f}  {r['verdict']}")
    return "\n".join(lines)


def tolerance_errors(seed: int, threads) -> list[str]:
    """The ODE's error against its tolerance on the same discrete trajectories (module
    docstring): lines of a small table."""
    lines = [f"{'protocol':8s} {'rtol = atol':>11s} {'max |ΔCa|/max Ca':>17s} "
             f"{'mean transient':>15s} {'ODE steps':>10s}"]
    for name, (protocol, pr, t_end) in protocols().items():
        n = 8 if name == "EPSP" else 2
        runs = {}
        for tol in (1e-9, 1e-6, 1e-5, 1e-4, 1e-3):
            model = ct.hybrid().with_continuous(ct.CALCIUM_SPECIES, rtol=tol, atol=tol)
            runs[tol] = run(model, protocol, pr, t_end, n, seed, threads)[0]
        reference = runs[1e-9].values("Ca")
        for tol in (1e-6, 1e-5, 1e-4, 1e-3):
            if not np.array_equal(runs[tol].firings, runs[1e-9].firings):
                raise SystemExit("the discrete events differ between tolerances: the check "
                                 "assumes nothing discrete reads Ca2+")
            ca = runs[tol].values("Ca")
            worst = np.abs(ca - reference).max() / np.abs(reference).max()
            mean = (np.abs(ca.mean(axis=0) - reference.mean(axis=0)).max()
                    / reference.mean(axis=0).max())
            lines.append(f"{name:8s} {tol:11g} {worst:17.2e} {mean:15.2e} "
                         f"{runs[tol].ode_steps.mean():10.0f}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsps", type=int, default=1000, help="EPSP trajectories per mode")
    parser.add_argument("--trains", type=int, default=256,
                        help="100 Hz trains per mode (0 skips them)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads (default: all cores; the figures per trajectory are "
                             "then not the cost of one)")
    parser.add_argument("--out", default="hybrid_accuracy.png")
    parser.add_argument("--no-tolerances", dest="tolerances", action="store_false",
                        help="skip the ODE error against its tolerance")
    args = parser.parse_args(argv)

    models = {"exact": ct.exact(), "hybrid": ct.hybrid()}
    for model in models.values():     # compile both kernels outside the timings
        ct.ensemble(ss.protocols.spikes(pre_s=[ct.T_SPIKE_S]), t_end_s=0.02,
                    n_trajectories=1, seed=1, model=model, n_threads=1)
    hybrid_model = models["hybrid"]
    print(f"model {ct.MODEL.relative_to(ROOT)}; hybrid: continuous "
          f"{', '.join(hybrid_model.continuous_species)}, Ca²⁺ entry a flux; rtol, atol = "
          f"{hybrid_model.continuous_tolerance}; seed {args.seed}")

    rows, figures, notes = [], {}, []
    for name, (protocol, pr, t_end) in protocols().items():
        n = args.epsps if name == "EPSP" else args.trains
        if n <= 0:
            continue
        measured = {}
        for mode, model in models.items():
            ens, wall = run(model, protocol, pr, t_end, n, args.seed, args.threads)
            measured[mode] = per_trajectory(ens, name)
            steps = (f", ODE steps {ens.ode_steps.mean():.0f}, restarts "
                     f"{ens.ode_restarts.mean():.0f}" if ens.ode_steps is not None else "")
            print(f"  {name}, {mode}: {n} trajectories in {wall:.1f} s; events per "
                  f"trajectory {ens.n_events.mean():.3g}{steps}", flush=True)
            figures[(name, mode)] = (ens.times, measured[mode]["_above"], n)
        rows += compare(name, measured["exact"], measured["hybrid"])
        entry_e, entry_h = measured["exact"]["ca_entry"], measured["hybrid"]["ca_entry"]
        gap, gap_se = variance_gap(entry_e, entry_h, args.seed)
        notes.append(f"{name}: Ca²⁺ entry Var(exact) − Var(hybrid) = {gap:.4g} ± {gap_se:.2g} "
                     f"(bootstrap SE) against E[entry] = {entry_e.mean():.4g}, the ion-entry "
                     f"(Poisson) variance the flux removes: Z = "
                     f"{(gap - entry_e.mean()) / gap_se:+.2f}")
    table = format_table(rows)
    print()
    print(table)
    print()
    for note in notes:
        print(note)
    checked = [r for r in rows if r["verdict"] != "(not compared)"]
    print(f"{sum(r['verdict'] == 'AGREE' for r in checked)} of {len(checked)} measures agree "
          f"within max({N_SE:g} combined SE, {100 * RELATIVE:g} %)")
    if args.tolerances:
        print("\nThe ODE's error on the same discrete trajectories, against rtol = atol = 1e-9:")
        for line in tolerance_errors(args.seed, args.threads):
            print(line)

    out = Path(args.out)
    csv = out.with_suffix(".csv")
    with open(csv, "w") as handle:
        handle.write(f"# command: {' '.join(['python'] + sys.argv)}\n")
        handle.write(f"# seed: {args.seed}; model {ct.MODEL.relative_to(ROOT)}; hybrid rtol, "
                     f"atol = {hybrid_model.continuous_tolerance}\n")
        keys = list(rows[0])
        handle.write(",".join(keys) + "\n")
        for r in rows:
            handle.write(",".join(str(r[k]) for k in keys) + "\n")
    print(f"wrote {csv}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in protocols() if (name, "exact") in figures]
    fig, axes = plt.subplots(2, len(names) + 1, figsize=(5.2 * (len(names) + 1), 7.2),
                             squeeze=False, gridspec_kw={"height_ratios": [2, 1]})
    for column, name in enumerate(names):
        ax, diff_ax = axes[0, column], axes[1, column]
        means = {}
        for mode, color in (("exact", "C0"), ("hybrid", "C3")):
            times, above, n = figures[(name, mode)]
            ms = 1e3 * times
            mean = above.mean(axis=0)
            sem = above.std(axis=0, ddof=1) / math.sqrt(n)
            means[mode] = (mean, sem)
            for k in range(2):      # two single trajectories: the noise is the point
                ax.plot(ms, above[k], color=color, lw=0.5, alpha=0.35)
            ax.plot(ms, mean, color=color, lw=1.6, label=f"{mode}, mean ± SEM (N = {n})")
            ax.fill_between(ms, mean - sem, mean + sem, color=color, alpha=0.25, lw=0)
        ax.set_title(f"{name}: free Ca²⁺ in the spine head")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("free Ca²⁺ above rest (µM)")
        ax.legend(fontsize=8, title="thin: two single trajectories", title_fontsize=7)
        (m_e, s_e), (m_h, s_h) = means["exact"], means["hybrid"]
        band = 2 * np.hypot(s_e, s_h)
        diff_ax.fill_between(ms, -band, band, color="0.8", lw=0, label="± 2 combined SE")
        diff_ax.plot(ms, m_h - m_e, color="k", lw=1, label="hybrid − exact")
        diff_ax.axhline(0, color="0.4", lw=0.6)
        diff_ax.set_xlabel("time (ms)")
        diff_ax.set_ylabel("difference of means (µM)")
        diff_ax.legend(fontsize=8)
    ax = axes[0, -1]
    checked = [r for r in rows if r["verdict"] != "(not compared)"]
    labels = [f"{r['protocol']} {r['measure']}" for r in checked]
    y = np.arange(len(checked))[::-1]
    ax.axvspan(-100 * RELATIVE, 100 * RELATIVE, color="0.88", label=f"± {100 * RELATIVE:g} %")
    ax.errorbar([r["diff_pct"] for r in checked], y,
                xerr=[N_SE * r["combined_se_pct"] for r in checked], fmt="o", color="k",
                capsize=3, label=f"hybrid − exact\n± {N_SE:g} combined SE")
    ax.axvline(0, color="0.4", lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("difference of means (% of exact)")
    ax.set_title("each measure: max(2 SE, 2 %) allowed")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax = axes[1, -1]
    shown = [r for r in rows if r["sd_ratio"] == r["sd_ratio"]]
    y = np.arange(len(shown))[::-1]
    labels = [f"{r['protocol']} {r['measure']}" for r in shown]
    ax.barh(y, [r["sd_ratio"] for r in shown], color="C2")
    ax.axvline(1, color="0.4", lw=0.6)
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("SD over trajectories, hybrid / exact")
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
