"""docs/science.md §9 V4–V6: free-Ca decay in the spine head after a brief influx, for the Ca²⁺
module variants of docs/science.md §5 (V4), and the Ca²⁺ transients of the electrophysiology model
(V5 single EPSP, V6 pre→post pairing and 100 Hz tetanus), as tables and PNGs.

Usage::

    python analysis/calcium.py [--trajectories 1000] [--seed 20261122] [--out calcium_v4.png]
        [--transient-trajectories 160] [--tetanus-trajectories 16]
        [--transients-out calcium_v5_v6.png] [--skip-v4] [--skip-tetanus]
        [--parameter NAME=VALUE ...]

``--parameter`` (repeatable) changes a parameter of the V5–V6 model (the electrophysiology
example) for a calibration screen, e.g. ``--skip-v4 --skip-tetanus --parameter n_nmdar=13``
(docs/science.md §8.4: the V5 screen of the NMDAR count after the V4 buffer fit); a value
with a unit is given as the model file writes it (``--parameter "ca_B_total=80 uM"``).

V5–V6 use stochsyn.validation.calcium_transients (release probability 1 for V5 and the
pairing, the model's 0.3 for the tetanus; samples every 0.5 ms; peaks of the ensemble-mean free Ca above rest, ± jackknife SE). The tetanus (V6b,
100 Hz × 1 s with 5.5 mV alpha-function cooperative depolarisation per pulse, see
TETANUS_DEPOLARISATION_MV) simulates ≈ 5·10⁶ events per trajectory in the exact mode, about
1 s each; the whole script with its defaults took 38 s on 2 cores (2026-11-22).

V4 details:

Variants (all at 0.1 fL; calcium.toml with its buffer totals fitted to V4 inside their sourced
ranges, every other number the sourced one of the module headers):

* ``calcium.toml`` with its defaults (buffers, PMCA, NCX, leak, neck diffusion);
* the same without neck diffusion (``ca_neck_diffusion = 0``: the module's first version);
* the same with the source's dendrite rule, ODE only: Rodrigues et al. 2023 relax Ca to
  max(Ca_infty, Ca/3) through the neck, not to ca_rest (not mass action, so not simulated;
  it brackets what the linear exchange of the module assumes);
* ``calbindin.toml`` (calcium.toml + 45 µM calbindin-D28k), with and without the neck;
* ``calcium_simple.toml`` (first-order relaxation, τ 10 ms, 62 µM buffer), with and
  without the neck.

The protocol and the fit are those of tests/statistical/test_calcium.py (imported from it):
N_ADD = 1265 ions (1 µM free if κ_E were 20) added at t = 10 ms, samples every 0.5 ms; τ is a
least-squares single exponential on mean free Ca above rest, from the buffered peak (first
sample after the influx) to 10 % of the peak excess, with a delete-a-tenth jackknife SE; the
column "+5 ms" is the same fit to the ODE started 5 ms after the influx, once the slow buffer,
the PMCA and calbindin have bound their share (none of the decays is a single exponential,
so τ depends on where the fit starts; the V4 verdict uses the first definition). Each
variant runs until 1.5 times the time its ODE takes to fall to 10 % (at least 150 ms, the
test's window), so the slow variants are fitted over their whole decay. κ_E is the change of
buffer-bound Ca (immobile, slow and calbindin sites) over the change of free Ca, both against
rest, at the buffered peak and 2 ms later (the slow buffer binds with τ ≈ 1 ms, calbindin's
high-affinity sites with ≈1.2 ms); "+ pumps" also counts Ca bound to PMCA/NCX. The PNG shows
mean free Ca (µM) per variant and its ODE. About a minute on 2 cores. Needs matplotlib
(``pip install '.[analysis]'``).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy.integrate import solve_ivp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import stochsyn as ss  # noqa: E402
from tests.statistical.test_calcium import (  # noqa: E402
    CALBINDIN, DT, MODULE, N_ADD, OMEGA, SEED, SIMPLE, T_ADD, T_END, V4_RANGE, fit_decay,
    jackknife_tau, ode_rhs, ode_steady_state, ode_v4, v4_model)

#: (label, module, parameters, simulate?)
VARIANTS = (
    ("calcium.toml (default, neck on)", MODULE, {}, True),
    ("  no neck diffusion", MODULE, {"ca_neck_diffusion": 0}, True),
    ("  dendrite max(rest, Ca/3) [ODE]", MODULE, {}, False),
    ("+ calbindin.toml", CALBINDIN, {}, True),
    ("  + calbindin, no neck", CALBINDIN, {"ca_neck_diffusion": 0}, True),
    ("calcium_simple.toml (neck on)", SIMPLE, {}, True),
    ("  simple, no neck", SIMPLE, {"ca_neck_diffusion": 0}, True),
)
BUFFERS = ("CaB", "CaBslow", "CaCalb_H", "CaCalb_M")
LATE = 0.005        # s: the "+5 ms" column fits the ODE from 5 ms after the influx
PUMPS = ("CaPMCA", "CaNCX")


def rodrigues_neck_ode(model: ss.Model, times: np.ndarray) -> np.ndarray:
    """ODE of the V4 protocol with the neck of Rodrigues et al. 2023 (SynapseModel.jl,
    F_synapse: ``(max(Ca_infty, Ca/3) - Ca) / tau_diff``) instead of the module's
    ``(ca_rest - Ca) / tau_diff``: the module's ODE plus (max(rest, Ca/3) − rest)/τ_diff."""
    rates = {r.name: r.rate for r in model.reactions}
    k = rates["ca_neck_efflux"]                          # 1/τ_diff
    rest = rates["ca_neck_influx"] / k                   # ca_rest in molecules
    i = model.species.index("Ca")
    base = ode_rhs(model)

    def rhs(t, x):
        dx = base(t, x)
        dx[i] += k * (max(rest, x[i] / 3) - rest)
        return dx
    before, after = times[times <= T_ADD], times[times >= T_ADD]
    a = solve_ivp(rhs, (0.0, T_ADD), np.array(model.x0, float), method="LSODA",
                  rtol=1e-10, atol=1e-10, t_eval=before)
    x = a.y[:, -1].copy()
    x[i] += N_ADD
    b = solve_ivp(rhs, (T_ADD, times[-1]), x, method="LSODA", rtol=1e-10, atol=1e-10,
                  t_eval=after)
    return np.concatenate([a.y[:, :-1], b.y], axis=1)


def run_length(model: ss.Model) -> float:
    """1.5 × the time the ODE's free Ca takes to fall to 10 % of its buffered peak excess
    (at least T_END), on the sampling grid."""
    times = np.arange(0.0, 2.0 + DT / 2, DT)
    i = model.species.index("Ca")
    _, _, start, end = fit_decay(times, ode_v4(model, times)[i],
                                 ode_steady_state(model)[i])
    t_end = max(T_END, T_ADD + 1.5 * (times[min(end, len(times) - 1)] - T_ADD))
    return math.ceil(t_end / DT - 1e-9) * DT


def kappa(mean_of, rest, k, bound_names):
    bound = sum(mean_of(n)[k] - rest[n] for n in bound_names if n in rest)
    return bound / (mean_of("Ca")[k] - rest["Ca"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", default="calcium_v4.png")
    parser.add_argument("--transient-trajectories", type=int, default=160)
    parser.add_argument("--tetanus-trajectories", type=int, default=16)
    parser.add_argument("--transients-out", default="calcium_v5_v6.png")
    parser.add_argument("--skip-v4", action="store_true")
    parser.add_argument("--skip-tetanus", action="store_true")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="change a parameter of the V5-V6 model (repeatable)")
    args = parser.parse_args(argv)
    if not args.skip_v4:
        v4(args)
    transients(args)
    return 0


def parse_parameter(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` of ``--parameter``: a number if VALUE is one, else the string (a value
    with its unit, e.g. ``80 uM``)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SystemExit(f"--parameter {text!r}: expected NAME=VALUE, e.g. n_nmdar=13")
    value = value.strip()
    try:
        return name.strip(), int(value)
    except ValueError:
        pass
    try:
        return name.strip(), float(value)
    except ValueError:
        return name.strip(), value


def transients(args) -> None:
    """V5 and V6: table and PNG of the mean free-Ca transients."""
    from stochsyn.validation import calcium_transients as ct

    model = None
    changed = dict(parse_parameter(text) for text in args.parameter)
    if changed:
        from stochsyn.validation import load_repository_model
        model = ct.exact(load_repository_model(ct.MODEL).with_parameters(**changed))
    runs = ct.pairing(args.transient_trajectories, args.seed, model=model)
    pre, post, pair = runs["pre"], runs["post"], runs["pair"]
    print(f"\nV5-V6: {ct.MODEL.name}, release probability 1 (tetanus: 0.3), "
          f"{args.transient_trajectories} trajectories per protocol, seed {args.seed}"
          + (f"; changed: {changed}" if changed else ""))
    print(f"{'protocol':28s} {'peak above rest (uM)':>22s} {'V peak (mV)':>12s} "
          f"{'events/traj':>12s}")
    rows = [("pre (1 release at 10 ms)", pre), ("post (1 bAP at 20 ms)", post),
            ("pre -> post, dt = +10 ms", pair)]
    tet = None
    if not args.skip_tetanus:
        tet = ct.tetanus(args.tetanus_trajectories, args.seed + 10, model=model)
        rows.append((f"100 Hz x 1 s, {ct.TETANUS_DEPOLARISATION_MV:g} mV coop.", tet))
    for label, r in rows:
        print(f"{label:28s} {r.peak_um:14.3f} ± {r.peak_se_um:5.3f} {r.voltage_peak_mv:12.2f} "
              f"{r.events_per_trajectory:12.0f}")
    ratio = pair.peak_um / (pre.peak_um + post.peak_um)
    print(f"V5: single EPSP peak {pre.peak_um:.3f} ± {pre.peak_se_um:.3f} uM (target 0.2-1.5): "
          f"{'PASS' if 0.2 <= pre.peak_um <= 1.5 else 'FAIL'}")
    print(f"V6: pairing / (pre + post) = {ratio:.2f} (target >= 1.5): "
          f"{'PASS' if ratio >= 1.5 else 'FAIL'}")
    if tet is not None:
        plateau = ct.plateau_um(tet)
        print(f"V6: tetanus mean free Ca over the train's second half {plateau:.2f} uM above "
              f"rest (target >= 3 uM): {'PASS' if plateau >= 3 else 'FAIL'} "
              f"({args.tetanus_trajectories} trajectories)")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2 if tet is not None else 1, figsize=(11, 4.2), squeeze=False)
    ax = axes[0, 0]
    for label, r in rows[:3]:
        ax.plot(r.times_s * 1e3, r.mean_um, label=label)
    ax.plot(pre.times_s * 1e3, pre.mean_um + post.mean_um, "k:", lw=0.8, label="pre + post")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("mean free Ca²⁺ above rest (µM)")
    ax.set_title("V5/V6: single EPSP, bAP, pairing at +10 ms")
    ax.legend(fontsize=8)
    if tet is not None:
        ax = axes[0, 1]
        ax.plot(tet.times_s * 1e3, tet.mean_um)
        ax.axhline(3.0, color="grey", lw=0.6, ls="--")
        ax.set_xlabel("time (ms)")
        ax.set_title("V6: 100 Hz × 1 s tetanus (target ≥ 3 µM)")
    fig.tight_layout()
    fig.savefig(args.transients_out, dpi=150)
    print(f"wrote {args.transients_out}")


def v4(args) -> None:
    """V4: table and PNG of the free-Ca decay per Ca²⁺ module variant."""

    rows, curves = [], []
    for label, path, parameters, simulate in VARIANTS:
        model = v4_model(path, **parameters)
        t_end = run_length(model)
        rest = dict(zip(model.species, ode_steady_state(model)))
        index = model.species.index
        if simulate:
            ens = ss.simulate(model, t_end, args.trajectories, seed=args.seed,
                              sample_every=DT)
            times = ens.times
            ode = ode_v4(model, times)
        else:
            times = np.arange(0.0, t_end + DT / 2, DT)
            ode = rodrigues_neck_ode(model, times)
        ode_tau, ode_peak, start, _ = fit_decay(times, ode[index("Ca")], rest["Ca"])
        # the late fit runs longer than the first one: on its own 2 s grid
        long = np.arange(0.0, 2.0 + DT / 2, DT)
        long_ode = (ode_v4 if simulate else rodrigues_neck_ode)(model, long)[index("Ca")]
        ode_tau_late = fit_decay(long, long_ode, rest["Ca"], delay=LATE)[0]
        if simulate:
            tau, se = jackknife_tau(ens, rest["Ca"])
            mean_of = lambda n, e=ens: e.values(n).mean(axis=0)  # noqa: E731
            peak = fit_decay(times, mean_of("Ca"), rest["Ca"])[1]
        else:
            tau, se, peak = ode_tau, float("nan"), ode_peak
            mean_of = lambda n, o=ode: o[index(n)]  # noqa: E731
        rows.append((label, peak / OMEGA, tau * 1e3, se * 1e3, ode_tau * 1e3,
                     ode_tau_late * 1e3, t_end * 1e3,
                     kappa(mean_of, rest, start, BUFFERS),
                     kappa(mean_of, rest, start + 4, BUFFERS),
                     kappa(mean_of, rest, start + 4, BUFFERS + PUMPS)))
        curves.append((label, times, mean_of("Ca") / OMEGA, ode[index("Ca")] / OMEGA,
                        simulate))

    print(f"V4: {N_ADD} Ca ions added at {T_ADD * 1e3:g} ms to 0.1 fL; rest 50 nM "
          f"(ODE, every variant); {args.trajectories} trajectories, seed {args.seed}")
    print(f"{'variant':34s} {'peak (uM)':>9s} {'tau SSA (ms)':>14s} {'tau ODE':>8s} "
          f"{'+5 ms':>6s} {'run':>5s} {'kE peak':>8s} {'kE +2ms':>8s} {'+pumps':>7s}  "
          f"V4 8-25 ms")
    for label, peak, tau, se, ode_tau, ode_tau_late, t_end, k0, k2, kp in rows:
        ssa = f"{tau:6.1f} ± {se:4.1f}" if not math.isnan(se) else f"{'(ODE)':>13s}"
        verdict = "PASS" if V4_RANGE[0] * 1e3 <= tau <= V4_RANGE[1] * 1e3 else "FAIL"
        print(f"{label:34s} {peak:9.3f} {ssa:>14s} {ode_tau:8.1f} {ode_tau_late:6.1f} "
              f"{t_end:5.0f} "
              f"{k0:8.1f} {k2:8.1f} {kp:7.1f}  {verdict}")
    print("tau SSA: single exponential from the buffered peak, ± jackknife SE; tau ODE: the "
          "same on the ODE; +5 ms: ODE fit from 5 ms after the influx; run: simulated to (ms)")
    print("docs/science.md §9 V4: tau in 8-25 ms (12 ms), kappa_E ~ 20 (Sabatini et al. 2002)")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, (label, times, mean, ode, simulate) in enumerate(curves):
        shown = times > T_ADD + 1e-9         # the sample at T_ADD holds the unbuffered bolus
        t_ms = times[shown] * 1e3
        if simulate:
            ax.plot(t_ms, mean[shown], color=f"C{k}", label=label.strip())
            ax.plot(t_ms, ode[shown], "k--", lw=0.7)
        else:
            ax.plot(t_ms, ode[shown], color=f"C{k}", ls=":", label=label.strip())
    ax.axhline(0.05, color="grey", lw=0.5)
    ax.set_xlim(0, 300)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("free Ca²⁺ (µM)")
    ax.set_title(f"V4: {N_ADD} ions at {T_ADD * 1e3:g} ms; SSA means (dashed: ODE); "
                 f"target τ 8–25 ms")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(args.out)
    fig.savefig(out, dpi=150)
    print(f"wrote {out}")


if __name__ == "__main__":
    raise SystemExit(main())
