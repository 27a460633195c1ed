"""The spine at full speed (issue 12): the hybrid mode with Ca²⁺ entry as a flux against
the exact mode, per trajectory on 1 thread, in the same run.

Model: ``reactions/examples/spine_electrophysiology.toml``. Exact: ``--exact``
(``Model.with_continuous([])``): every species counted, every reaction an event. Hybrid:
the example's own ``[continuous]`` declaration (the Ca²⁺ module continuous, Ca²⁺ entry
through NMDARs a flux, its tolerance).

Cases (the issue's targets for the hybrid in brackets):

* ``rest 60 s``: a simulated minute at rest, no stimulation [<= 10 ms];
* ``EPSP``: one presynaptic spike at 10 ms at the model's release probability 0.3, 0.3 s
  simulated (bench_epsp.py's case: most trajectories do not release) [<= 1 ms]; and
  ``EPSP Pr 1``, the same with a release in every trajectory (for reference);
* ``HFS 1 s``: ``protocols.hfs()``, 100 pulses at 100 Hz, 1 s [<= 30 ms];
* ``LFS 900``: ``protocols.lfs()``, 900 pulses at 1 Hz, 900 s, one full trajectory
  [<= 1.0 s].

Per case and mode: wall time and CPU time per trajectory (numba compilation excluded by a
warm-up; the CPU time is the process's, closer than the wall time to the cost on an idle
machine when other processes share the cores; trajectories run in one ``simulate`` call on
1 thread, so the Python overhead of a call is spread over them; the rest and EPSP cases
run ``--repeat`` times and report the best), events per trajectory and events/s, and for
the hybrid ODE steps (accepted and rejected) and restarts per trajectory and the speed-up
over the exact mode. Steps, rejections, restarts and events do not depend on the load:
compare those between runs on a busy machine, the times only on a quiet one.

``ODE steps`` are Rodas4's; an interval the linear propagation takes (the default,
``[continuous] linear``; ``--no-linear`` switches it off) is not a step: "where the time
goes" counts those intervals (``linear``), the refusals of its error estimate
(``refused``: Rodas4 took the interval) and its linearisations (``refresh``: a Jacobian
and its eigen-decomposition) per trajectory. ``bench_linear.py`` compares linear on and
off in one process.

Where the time goes (hybrid): firings per trajectory by reaction group (the groups of
bench_electrophysiology.py), ODE steps per restart and the share rejected, and the wall
time split into the
discrete part and the ODE: the same trajectories run again with the flux's rate set to 0
(``QUIET``: the NMDAR's and the VGCCs' flux rates 0). Nothing discrete reads Ca²⁺ in this model, so that run
draws the same events (checked: identical firings) while its ODE stays at rest (no
restarts); its wall time is the discrete part's, the difference the ODE's.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_hybrid.py                 # ~1 min idle
    PYTHONPATH=. python benchmarks/bench_hybrid.py --no-lfs        # without the 900 s LFS

Each case and mode says how much of the machine other processes used while it ran
(bench_engine.Meter, from /proc/stat), ``LOADED`` above 10 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
# (bench_electrophysiology imports stochsyn, from the checkout if it is not installed)
from bench_electrophysiology import GROUPS, OTHER, group_of, ss  # noqa: E402
from bench_engine import Meter, load_mark, machine_info  # noqa: E402

MODEL = REPO / "reactions/examples/spine_electrophysiology.toml"
#: The fluxes' rates set to 0 for the discrete part alone: the NMDAR's and, since the VGCC
#: module joined the example, the VGCCs' (with only the NMDAR's at 0 the VGCC flicker
#: still restarted the ODE and the "discrete" figure held most of the ODE's cost).
QUIET = {"nmda_ca_flux_0mV_2mM": 0, "vgcc_ca_flux_per_pS": "0 /pS/s"}
TARGETS_S = {"rest 60 s": 0.010, "EPSP": 0.001, "HFS 1 s": 0.030, "LFS 900": 1.0}


def cases(lfs: bool):
    """name -> (protocol, t_end s, release probability or None, trajectories, sample_every)."""
    plan = {
        "rest 60 s": (None, 60.0, None, 8, 1.0),
        "EPSP": (ss.protocols.train(1.0, 1, start_s=0.01), 0.3, None, 64, 1e-3),
        "EPSP Pr 1": (ss.protocols.spikes(pre_s=[0.01]), 0.3, 1.0, 16, 1e-3),
        "HFS 1 s": (ss.protocols.hfs(), 1.0, None, 4, 1e-3),
    }
    if lfs:
        plan["LFS 900"] = (ss.protocols.lfs(), 900.0, None, 1, 1.0)
    return plan


def measure(model, protocol, t_end, n, sample_every, seed, repeat):
    """(Ensemble, best wall s per trajectory, other load, CPU s per trajectory of that
    run) of trajectories 0..n-1 in one call on 1 thread, best of ``repeat``. The CPU time
    (this process's, all threads: the one kernel thread does the work) is what a
    trajectory costs when other processes share the cores; the wall time is what it costs
    on an idle machine only."""
    best, other, cpu, ens = float("inf"), 0.0, 0.0, None
    for _ in range(repeat):
        cpu0 = time.process_time()
        with Meter() as m:
            ens = ss.simulate(model, t_end, n, seed=seed, protocol=protocol, n_threads=1,
                              sample_every=sample_every)
        used = time.process_time() - cpu0
        assert np.all(ens.status == 0), "trajectories stopped early"
        if m.wall / n < best:
            best, other, cpu = m.wall / n, m.other, used / n
    return ens, best, other, cpu


def by_group(ens) -> dict:
    firings = ens.firings.mean(axis=0)
    if ens.flux_totals is not None:
        firings = firings + ens.flux_totals.mean(axis=0)
    groups = {label: 0.0 for label, _ in GROUPS} | {OTHER: 0.0}
    for name, value in zip(ens.reactions, firings):
        groups[group_of(name)] += float(value)
    return groups


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the short cases (the best is reported)")
    parser.add_argument("--no-lfs", dest="lfs", action="store_false",
                        help="skip the 900 s LFS trajectories (exact ~16 s idle)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--no-linear", dest="linear", action="store_false",
                        help="the hybrid with [continuous] linear = false: Rodas4 steps "
                             "for every interval (the integrator before the linear "
                             "propagation, for a before/after in one checkout)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print("stochsyn hybrid benchmark (issue 12)", time.strftime("%Y-%m-%d %H:%M:%S"))
    print("command:", " ".join([Path(sys.executable).name] + sys.argv))
    print("machine:", json.dumps(machine_info()))
    print("loadavg at start:", open("/proc/loadavg").read().split()[:3])
    example = ss.load_model(MODEL)
    hybrid = example if args.linear else example.with_continuous(
        example.continuous_species, linear=False)
    models = {"exact": example.with_continuous([]), "hybrid": hybrid}
    hybrid = models["hybrid"]
    print(f"hybrid: continuous {', '.join(hybrid.continuous_species)}; rtol, atol = "
          f"{hybrid.continuous_tolerance}; linear propagation "
          f"{'on' if hybrid.continuous_linear else 'off (Rodas4 only)'}")
    plan = cases(args.lfs)
    for model in models.values():       # load or compile the kernels outside the timings
        ss.simulate(model, 0.02, 1, seed=1, n_threads=1, protocol=ss.protocols.hfs(pulses=2))

    figures, rows = {}, []
    for name, (protocol, t_end, pr, n, every) in plan.items():
        repeat = args.repeat if name != "LFS 900" else 1
        result = {}
        for mode, model in models.items():
            model = model if pr is None else model.with_parameters(glu_release_probability=pr)
            ens, wall, other, cpu = measure(model, protocol, t_end, n, every, args.seed,
                                            repeat)
            result[mode] = dict(wall=wall, cpu=cpu, events=float(ens.n_events.mean()),
                                other=other,
                                rate=float(ens.n_events.mean()) / wall, groups=by_group(ens))
            if mode == "hybrid":
                result[mode].update(steps=float(ens.ode_steps.mean()),
                                    rejected=float(ens.ode_rejected.mean()),
                                    restarts=float(ens.ode_restarts.mean()),
                                    linear=float(ens.ode_linear.mean()),
                                    refused=float(ens.ode_linear_refused.mean()),
                                    refreshes=float(ens.ode_linear_refreshes.mean()))
                quiet = model.with_parameters(**QUIET)
                ens0, wall0, _, cpu0 = measure(quiet, protocol, t_end, n, every, args.seed,
                                               repeat)
                same = bool(np.array_equal(ens0.firings, ens.firings))
                result[mode].update(discrete_wall=wall0, discrete_cpu=cpu0, same_events=same,
                                    quiet_restarts=float(ens0.ode_restarts.mean()))
            print(f"{name:10s} {mode:6s} {1e3 * wall:10.3f} ms/traj (CPU {1e3 * cpu:.3f} ms)  "
                  f"{result[mode]['events']:10.4g}"
                  f" events  {result[mode]['rate'] / 1e6:7.3f} M events/s  other load "
                  f"{load_mark(other)}", flush=True)
        figures[name] = result
        rows.append(name)

    print("\n== per trajectory, 1 thread (best of the repeats; CPU: of that run) ==")
    head = (f"{'case':10s} {'exact':>11s} {'hybrid':>11s} {'CPU exact':>11s} "
            f"{'CPU hybrid':>11s} {'speed-up':>9s} {'target':>9s} {'CPU':>4s} "
            f"{'events exact':>13s} {'events hyb':>11s} {'M ev/s hyb':>10s} {'ODE steps':>10s}"
            f" {'rejected':>9s} {'restarts':>9s}")
    print(head)
    print("-" * len(head))
    for name in rows:
        e, h = figures[name]["exact"], figures[name]["hybrid"]
        target = TARGETS_S.get(name)
        verdict = "" if target is None else (
            f"{'<=' if h['wall'] <= target else '>'}{1e3 * target:g} ms"
            if target < 1 else f"{'<=' if h['wall'] <= target else '>'}{target:g} s")
        cpu_verdict = "" if target is None else ("met" if h["cpu"] <= target else "no")
        print(f"{name:10s} {1e3 * e['wall']:9.3f}ms {1e3 * h['wall']:9.3f}ms "
              f"{1e3 * e['cpu']:9.3f}ms {1e3 * h['cpu']:9.3f}ms "
              f"{e['wall'] / h['wall']:8.1f}x {verdict:>9s} {cpu_verdict:>4s} "
              f"{e['events']:13.4g} {h['events']:11.4g} {h['rate'] / 1e6:10.3f} "
              f"{h['steps']:10.4g} {h['rejected']:9.4g} {h['restarts']:9.4g}")

    print("\n== where the hybrid's time goes ==")
    labels = [label for label, _ in GROUPS] + [OTHER]
    print(f"{'case':10s} {'discrete':>10s} {'ODE':>10s} {'ODE share':>9s} {'µs/step':>8s} "
          f"{'CPU: disc.':>10s} {'ODE':>10s} {'steps/restart':>13s} {'rejected':>8s} "
          f"{'linear':>8s} {'refused':>8s} {'refresh':>8s}  "
          "firings per trajectory by group (hybrid; Ca²⁺ influx: the flux's total)")
    for name in rows:
        h = figures[name]["hybrid"]
        ode = h["wall"] - h["discrete_wall"]
        ode_cpu = h["cpu"] - h["discrete_cpu"]
        groups = "; ".join(f"{label} {h['groups'][label]:.4g}" for label in labels
                           if h["groups"][label])
        attempts = h["steps"] + h["rejected"]
        print(f"{name:10s} {1e3 * h['discrete_wall']:8.3f}ms {1e3 * ode:8.3f}ms "
              f"{100 * ode / h['wall']:8.0f}% {1e6 * ode / max(attempts, 1):8.2f} "
              f"{1e3 * h['discrete_cpu']:8.3f}ms {1e3 * ode_cpu:8.3f}ms "
              f"{h['steps'] / max(h['restarts'], 1):13.2f} "
              f"{100 * h['rejected'] / max(attempts, 1):7.1f}% {h['linear']:8.4g} "
              f"{h['refused']:8.4g} {h['refreshes']:8.4g}  {groups}"
              + ("" if h["same_events"] else "  (NOT the same events!)"))
    print("(discrete: the same trajectories with the flux's rate 0, same events, ODE at rest "
          f"with {', '.join(str(figures[n]['hybrid']['quiet_restarts']) for n in rows)} "
          "restarts; ODE: the rest; µs/step: the ODE's wall time per step attempted, "
          "accepted or rejected; steps/restart: accepted steps per restart; rejected: "
          "share of the attempts; linear, refused, refresh: intervals the linear "
          "propagation took, its refusals and linearisations per trajectory)")
    print("\nloadavg at end:", open("/proc/loadavg").read().split()[:3],
          f"; total run time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float))


if __name__ == "__main__":
    main()
