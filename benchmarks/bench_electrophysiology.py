"""Speed of the spine electrophysiology model (issue 3): exact simulation of 100 Hz HFS and 1 Hz LFS.

Model: ``reactions/examples/spine_electrophysiology.toml`` (glutamate release, AMPAR gating,
NMDAR gating with the kinetic Mg2+ block, GHK Ca2+ entry, Ca2+ buffers, pumps and neck
diffusion, and the spine-head membrane coupled to a dendrite). Protocols from
``stochsyn.protocols``, with their default cooperative depolarisation (2 mV per pulse):

* ``hfs()``: 100 pulses at 100 Hz, simulated for t = 0..1 s;
* ``lfs()``: 900 pulses at 1 Hz (t = 0..900 s). The first ``--lfs-pulses`` pulses (default
  30, t = 0..30 s) of ``--lfs-trajectories`` trajectories are measured as for HFS, and the
  900 s figures **extrapolated linearly** from them (at 1 Hz every pulse starts from the
  same rest, so the expected work per pulse is the same for all 900); then one full 900 s
  trajectory is run and measured (16 s, 2026-11-22; ``--no-lfs-full`` skips it).

What is measured (numba compilation excluded by a warm-up, and reported):

(a) wall time per trajectory, events per trajectory and events/s on 1 thread. Every
    trajectory is its own ``stochsyn.simulate`` call (``first_trajectory=i``), so the
    spread between trajectories is visible: "best" and "median" are over trajectories,
    which differ in their releases (Pr = 0.3) and hence in their work;
(b) the same trajectories (same seed and indices, so the same work, checked) in one call
    on 2 threads: events/s, and the speed-up = sum of the 1-thread walls / 2-thread wall;
(c) firings by reaction group (``Ensemble.firings``): Ca2+ buffers, Ca2+ pumps, Ca2+
    neck exchange and leak, receptor gating (AMPAR and NMDAR, glutamate binding included),
    NMDAR Mg2+ block/unblock, Ca2+ influx through NMDARs. Events of the buffers are what
    a hybrid treatment of the buffers would remove; the share gives the most it can save;
(d) where the time goes: two runs of the same model at rest (no release, no
    depolarisation), one with every time-dependent reaction's static factor zero
    (``n_nmdar = n_ampa_psd = 0``: the engine runs its plain exact SSA) and one with the
    receptors present (their time-dependent rates are live, but glutamate is 0 and no
    channel opens, so the rest fallback freezes them into the sum tree: this run checks
    that the engine then costs what the plain SSA costs; before the fallback it took the
    time-dependent path at every event and cost 30x more).
    Both simulate the same Ca2+ events at rest. The plain run's cost per
    event times a protocol's events, against the protocol's wall time, estimates the
    fraction of the time spent in the time-dependent path;
(e) the accuracy yardstick a faster approximate option must meet: per protocol, the mean
    and standard error over trajectories of the peak free Ca2+ (1 ms grid), the time-mean
    free Ca2+ and the Ca2+ entry through NMDARs (firings of ``nmda_ca_influx``);
(f) the hybrid mode as the example declares it (docs/model-format.md "Continuous
    species"): the Ca2+ module's species continuous (``hybrid_buffer_model``: free Ca, both
    buffers and both pumps, free and bound; its 15 reactions become an ODE, Ca2+ entry
    through NMDARs a flux), run on the same protocols, seed and trajectory indices, one
    trajectory per call on 1 thread as (a): wall per trajectory, events per trajectory,
    events/s, ODE steps per trajectory, the speed-up (exact wall / hybrid wall per
    trajectory), and the yardstick (e) of both side by side (the hybrid's Ca2+ entry is
    its flux total). "At equal accuracy": the hybrid's yardstick must agree with the
    exact one within sampling error (the streams differ after the first Ca2+ event, so the
    two samples are independent; with the few trajectories of this script only gross
    errors show; analysis/hybrid_accuracy.py and tests/statistical/test_hybrid.py compare
    them with many). benchmarks/bench_hybrid.py measures the hybrid against its targets
    (issue 12), with the 900 s LFS in both modes.

The exact rows run the example with ``--exact`` (``Model.with_continuous([])``): the
example declares the hybrid mode.

Peers are not run: GillesPy2 and cayenne have no membrane equation, no per-spike release
with a random amplitude, no time-dependent (voltage-, input- or GHK-driven) propensities
and no receptor agents, so no peer can simulate this model exactly. The core SSA is
compared with peers in ``bench_engine.py``.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_electrophysiology.py            # ~30 s
    PYTHONPATH=. python benchmarks/bench_electrophysiology.py --quick    # smoke run
    PYTHONPATH=. python benchmarks/bench_electrophysiology.py --lfs-pulses 100 \\
        --lfs-trajectories 1 --hfs-trajectories 0 --threads 1           # extrapolation check

Every stage reports the fraction of the machine's CPU time used by *other* processes
while it ran (from /proc/stat); stages above 10 % are marked ``LOADED``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
try:
    import stochsyn as ss
except ImportError:  # run from a checkout without PYTHONPATH
    sys.path.insert(0, str(REPO))
    import stochsyn as ss
from bench_engine import LOADED, Meter, load_mark, machine_info  # noqa: E402

MODEL = REPO / "reactions/examples/spine_electrophysiology.toml"
LFS_FULL_PULSES = 900

#: Reaction groups, by the start of the reaction's name (first match wins).
GROUPS = (
    ("Ca buffers", ("ca_buffer", "ca_slow_buffer", "ca_calbindin")),
    ("Ca pumps (PMCA, NCX)", ("ca_pmca", "ca_ncx", "ca_extrusion")),
    ("Ca neck exchange + leak", ("ca_neck", "ca_resting_leak")),
    ("NMDAR Ca influx (GHK)", ("nmda_ca_influx",)),
    ("NMDAR Mg block/unblock", ("nmdar_mg",)),
    ("receptor gating", ("nmdar_", "ampa_")),
    # the VGCC module (reactions/modules/vgcc.toml): at rest the T-type gates' flicker is
    # most of the events, and in the hybrid mode each opening or closing restarts the ODE
    ("VGCC Ca influx (GHK)", ("vgcc_R_ca_influx", "vgcc_T_ca_influx", "vgcc_L_ca_influx")),
    ("VGCC gating", ("vgcc_",)),
)
OTHER = "other"


def group_of(name: str) -> str:
    for label, prefixes in GROUPS:
        if name.startswith(prefixes):
            return label
    return OTHER


def hybrid_buffer_model(model):
    """The model in the hybrid mode as the example declares it: the Ca2+ module's species
    continuous (``stochsyn.validation.calcium_transients.CALCIUM_SPECIES``) and Ca2+ entry
    a flux. Making only the buffers continuous would remove no event: every buffer
    reaction also reads free Ca."""
    from stochsyn.validation.calcium_transients import hybrid
    return hybrid(model)


# --------------------------------------------------------------------------- measuring

def run_protocol(model, protocol, t_end, n, seed, threads, sample_every):
    """Trajectories 0..n-1 of ``protocol``: one ``simulate`` call per trajectory on 1
    thread, or one call for all of them on ``threads`` > 1."""
    def call(first, count, n_threads):
        c0 = time.process_time()
        with Meter() as m:
            ens = ss.simulate(model, t_end, count, seed=seed, n_threads=n_threads,
                              first_trajectory=first, protocol=protocol,
                              sample_every=sample_every)
        m.cpu = time.process_time() - c0      # this process's CPU time, all threads
        assert np.all(ens.status == 0), "trajectories stopped early"
        return ens, m

    if threads == 1:
        parts = [call(i, 1, 1) for i in range(n)]
        walls = np.array([m.wall for _, m in parts])
        events = np.concatenate([e.n_events for e, _ in parts])
        return {"threads": 1, "n_traj": n, "walls": walls.tolist(), "wall": float(walls.sum()),
                "cpu": float(sum(m.cpu for _, m in parts)),
                "events": events.tolist(), "rates": (events / walls).tolist(),
                "other_load": max(m.other for _, m in parts), "ens": [e for e, _ in parts]}
    ens, m = call(0, n, threads)
    return {"threads": threads, "n_traj": n, "wall": m.wall, "cpu": m.cpu,
            "events": ens.n_events.tolist(), "other_load": m.other, "ens": [ens]}


def yardstick(ens_list):
    """Per-trajectory accuracy figures (e): peak and time-mean free Ca2+ (uM), Ca2+ entry
    through NMDARs (ions), releases."""
    ca = np.concatenate([e.values("ca_free_uM") for e in ens_list])
    firings = np.concatenate([e.firings for e in ens_list])
    names = ens_list[0].reactions
    influx = firings[:, [j for j, r in enumerate(names) if r.startswith("nmda_ca_influx")]]
    if ens_list[0].flux_totals is not None:    # the hybrid mode: the flux's total
        totals = np.concatenate([e.flux_totals for e in ens_list])
        influx = influx + totals[:, [j for j, r in enumerate(names)
                                     if r.startswith("nmda_ca_influx")]]
    releases = np.concatenate([e.n_releases for e in ens_list])
    out = {"peak_ca_uM": ca.max(axis=1), "mean_ca_uM": ca.mean(axis=1),
           "ca_entry_ions": influx.sum(axis=1).astype(float), "releases": releases.astype(float)}
    return {k: (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1
                else float("nan")) for k, v in out.items()}


def groups(ens_list):
    """Firings per trajectory by reaction group, and the per-reaction top list."""
    firings = np.concatenate([e.firings for e in ens_list]).mean(axis=0)
    names = ens_list[0].reactions
    by_group = {label: 0.0 for label, _ in GROUPS}
    by_group[OTHER] = 0.0
    for name, f in zip(names, firings):
        by_group[group_of(name)] += float(f)
    top = sorted(zip(names, firings.tolist()), key=lambda z: -z[1])[:8]
    return by_group, top


def extrapolate(res, pulses, pr):
    """900-pulse figures from the first ``pulses`` (1-thread run ``res``).

    Linear: the sample's mean per pulse times 900. Release-corrected: a trajectory's wall
    time (and events) is fitted as ``pulses * per_pulse + releases * per_release`` by least
    squares over the trajectories, then evaluated at the expected 900 Pr releases; this
    removes the luck of the sample's release count (Pr = 0.3 per pulse), and needs at least
    two trajectories with different release counts.
    """
    walls = np.array(res["walls"])
    events = np.array(res["events"], dtype=float)
    releases = np.concatenate([e.n_releases for e in res["ens"]]).astype(float)
    out = {"releases": releases.tolist(), "expected_releases_per_pulse": pr,
           "linear": {"wall": walls.mean() / pulses * LFS_FULL_PULSES,
                      "events": events.mean() / pulses * LFS_FULL_PULSES},
           "corrected": None}
    design = np.column_stack([np.full(len(walls), float(pulses)), releases])
    if len(walls) >= 2 and np.linalg.matrix_rank(design) == 2:
        point = np.array([LFS_FULL_PULSES, pr * LFS_FULL_PULSES])
        out["corrected"] = {
            "wall": float(point @ np.linalg.lstsq(design, walls, rcond=None)[0]),
            "events": float(point @ np.linalg.lstsq(design, events, rcond=None)[0])}
    return out


def fmt_s(v):
    return f"{v:.3g} s" if v < 100 else f"{v:.0f} s"


# --------------------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 0.1 s of HFS, 2 LFS pulses, short references")
    parser.add_argument("--hfs-trajectories", type=int, default=8,
                        help="HFS trajectories (each 1 s of 100 Hz); 0 skips HFS")
    parser.add_argument("--lfs-pulses", type=int, default=30,
                        help="LFS pulses simulated (the first ones of lfs(); t_end = pulses s)")
    parser.add_argument("--lfs-trajectories", type=int, default=4,
                        help="LFS trajectories; 0 skips LFS")
    parser.add_argument("--no-lfs-full", dest="lfs_full", action="store_false",
                        help="skip the full 900 s LFS trajectory (1 thread, about 16 s)")
    parser.add_argument("--rest-seconds", type=float, default=3.0,
                        help="simulated seconds of each reference run at rest (d)")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--no-hybrid", action="store_true",
                        help="skip the hybrid rows (f)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    quick = args.quick
    hfs_t_end = 0.1 if quick else 1.0
    lfs_pulses = 2 if quick else args.lfs_pulses
    rest_s = 0.5 if quick else args.rest_seconds
    n_hfs = min(args.hfs_trajectories, 2) if quick else args.hfs_trajectories
    n_lfs = min(args.lfs_trajectories, 2) if quick else args.lfs_trajectories
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]

    started = time.perf_counter()
    info = machine_info()
    print("stochsyn electrophysiology benchmark (issue 3)", time.strftime("%Y-%m-%d %H:%M:%S"))
    print("command:", " ".join([Path(sys.executable).name] + sys.argv))
    print("machine:", json.dumps(info))
    print("loadavg at start:", open("/proc/loadavg").read().split()[:3])

    model = ss.load_model(MODEL).with_continuous([])     # the exact mode (--exact)
    kinds = {}
    for r in model.reactions:
        kinds.setdefault(r.kind, []).append(r.name.split("[")[0])
    print(f"model: {MODEL.relative_to(REPO)}: {len(model.reactions)} reactions after "
          f"expansion, {model.n_species} species, "
          + ", ".join(f"{a.name} x{sum(a.initial)} agents" for a in model.agent_types))
    for kind, names in kinds.items():
        if kind != "mass_action":
            print(f"  time-dependent ({kind}): {', '.join(sorted(set(names)))}")

    hfs = ss.protocols.hfs()
    if quick:
        hfs = ss.protocols.hfs(pulses=int(round(hfs_t_end * 100)))
    lfs = ss.protocols.lfs(pulses=lfs_pulses)
    print(f"protocols: {hfs.name} {json.dumps(hfs.params)}, t_end {hfs_t_end:g} s; "
          f"lfs: first {lfs_pulses} of {LFS_FULL_PULSES} pulses "
          f"({json.dumps(lfs.params)}), t_end {lfs_pulses:g} s")

    hybrid_model = None if args.no_hybrid else hybrid_buffer_model(model)
    # Warm-up: loads (or compiles) the kernels; excluded from every timing below.
    t0 = time.perf_counter()
    ss.simulate(model, 0.02, 1, seed=1, n_threads=1, protocol=ss.protocols.hfs(pulses=2))
    warmup_first = time.perf_counter() - t0
    if hybrid_model is not None:    # the hybrid mode's kernel is a compilation of its own
        ss.simulate(hybrid_model, 0.02, 1, seed=1, n_threads=1,
                    protocol=ss.protocols.hfs(pulses=2))
    for threads in thread_counts:
        ss.simulate(model, 0.01, 2, seed=1, n_threads=threads,
                    protocol=ss.protocols.hfs(pulses=1))
    print(f"warm-up: first simulate() call {warmup_first:.2f} s (kernel load or compile)")

    fig = {"machine": info, "quick": quick, "warmup_first_call_s": warmup_first,
           "protocols": {}, "reference": {}}

    # ---------------------------------------------------------------- (d) references
    print(f"\n== (d) where the time goes: {rest_s:g} s at rest, 1 thread ==")
    rest_protocol = ss.protocols.lfs(pulses=max(1, int(rest_s)), depolarisation_mv=0.0)
    refs = {
        "plain": ("no receptors (n_nmdar = n_ampa_psd = 0): plain exact SSA",
                  model.with_parameters(n_nmdar=0, n_ampa_psd=0, glu_release_probability=0)),
        "td_idle": ("receptors present, Pr = 0, no depolarisation: time-dependent rates "
                    "live, inputs idle (rest fallback)", model.with_parameters(glu_release_probability=0)),
    }
    for key, (label, ref_model) in refs.items():
        # The plain run is short: best of 3 (same seed, same events).
        res = min((run_protocol(ref_model, rest_protocol, rest_s, 1, args.seed, 1, None)
                   for _ in range(3 if key == "plain" else 1)), key=lambda z: z["wall"])
        ev = res["events"][0]
        res.update(label=label, ns_per_event=1e9 * res["wall"] / ev, rate=ev / res["wall"])
        fig["reference"][key] = {k: v for k, v in res.items() if k != "ens"}
        print(f"{key:8s}: {ev} events in {res['wall']:.2f} s = {res['rate'] / 1e6:.3f} M "
              f"events/s ({res['ns_per_event']:.0f} ns/event; CPU "
              f"{1e9 * res['cpu'] / ev:.0f} ns/event); {label}; other load "
              f"{load_mark(res['other_load'])}")
    ns_plain = fig["reference"]["plain"]["ns_per_event"]
    print(f"time-dependent path at rest: {fig['reference']['td_idle']['ns_per_event'] / ns_plain:.1f}x "
          "the plain cost per event (same events)")

    # ---------------------------------------------------------------- (a)-(c), (e)
    plan = []
    if n_hfs > 0:
        plan.append(("hfs", f"HFS 100 Hz, {hfs_t_end:g} s", hfs, hfs_t_end, n_hfs, 1.0))
    if n_lfs > 0:
        plan.append(("lfs", f"LFS 1 Hz, first {lfs_pulses} pulses", lfs, float(lfs_pulses),
                     n_lfs, float(lfs_pulses)))
    rows = []
    for key, title, protocol, t_end, n, pulses_per_unit in plan:
        print(f"\n== {title}: {n} trajectories ==")
        r = {}
        for threads in thread_counts:
            res = run_protocol(model, protocol, t_end, n, args.seed, threads, 1e-3)
            r[threads] = res
            total = sum(res["events"])
            if threads == 1:
                walls, rates = np.array(res["walls"]), np.array(res["rates"])
                print(f"1 thread : wall per trajectory {', '.join(f'{w:.1f}' for w in walls)} s "
                      f"(mean {walls.mean():.1f}, best {walls.min():.1f}, median "
                      f"{np.median(walls):.1f}); events/traj mean {np.mean(res['events']):.0f}; "
                      f"events/s best {rates.max() / 1e6:.3f} M, median "
                      f"{np.median(rates) / 1e6:.3f} M, overall {total / res['wall'] / 1e6:.3f} M"
                      f"; CPU time {res['cpu'] / res['wall']:.2f} x wall; other load "
                      f"{load_mark(res['other_load'])}")
            else:
                base = r.get(1)
                same = base is not None and base["events"] == res["events"]
                speed = base["wall"] / res["wall"] if base is not None else float("nan")
                res["speedup"] = speed
                print(f"{threads} threads: wall {res['wall']:.1f} s for {n} trajectories, "
                      f"{total / res['wall'] / 1e6:.3f} M events/s, speed-up {speed:.2f}x "
                      f"(same events as 1 thread: {same}); other load "
                      f"{load_mark(res['other_load'])}")
        ens_list = (r.get(1) or next(iter(r.values())))["ens"]
        events_mean = float(np.mean((r.get(1) or next(iter(r.values())))["events"]))
        by_group, top = groups(ens_list)
        print("firings per trajectory by group:")
        for label, value in sorted(by_group.items(), key=lambda z: -z[1]):
            print(f"  {label:26s} {value:12.0f}  {100 * value / events_mean:5.1f} %")
        print("top reactions: " + "; ".join(f"{name.split('[')[0]} {f:.0f}" for name, f in top))
        buffers = by_group["Ca buffers"] / events_mean
        pumps = by_group["Ca pumps (PMCA, NCX)"] / events_mean
        print(f"hybrid buffers remove at most {100 * buffers:.1f} % of events (buffers), "
              f"{100 * (buffers + pumps):.1f} % with the pumps: at most "
              f"{1 / (1 - buffers):.1f}x ({1 / (1 - buffers - pumps):.1f}x) if time is "
              "proportional to events")
        td_fraction = None
        if 1 in r:
            td_fraction = 1.0 - sum(r[1]["events"]) * ns_plain * 1e-9 / r[1]["wall"]
            print(f"time outside the plain-SSA cost (time-dependent path and stops): "
                  f"{100 * td_fraction:.0f} % (plain cost {ns_plain:.0f} ns/event x events)")
        acc = yardstick(ens_list)
        print("accuracy yardstick (mean +- s.e. over trajectories): "
              + "; ".join(f"{k} {m:.4g} +- {s:.2g}" for k, (m, s) in acc.items()))
        hybrid = None
        if hybrid_model is not None:
            h = run_protocol(hybrid_model, protocol, t_end, n, args.seed, 1, 1e-3)
            h_walls = np.array(h["walls"])
            exact_wall = (r[1]["wall"] / n) if 1 in r else float("nan")
            hybrid = {k: v for k, v in h.items() if k != "ens"}
            # The work of a trajectory grows with its releases (Pr 0.3), which differ
            # between the modes (their streams part at the first Ca2+ event): the speed-up
            # per release corrects for the luck of the draw.
            releases = {"exact": sum(int(e.n_releases.sum()) for e in ens_list),
                        "hybrid": sum(int(e.n_releases.sum()) for e in h["ens"])}
            per_release = (r[1]["wall"] / releases["exact"]) / (h["wall"] / releases["hybrid"]) \
                if 1 in r and min(releases.values()) > 0 else float("nan")
            hybrid.update(
                wall_per_traj=float(h_walls.mean()), events_mean=float(np.mean(h["events"])),
                ode_steps=float(np.mean(np.concatenate([e.ode_steps for e in h["ens"]]))),
                rate=sum(h["events"]) / h["wall"], speedup=exact_wall / float(h_walls.mean()),
                speedup_per_release=per_release, releases=releases,
                yardstick=yardstick(h["ens"]))
            fewer = events_mean / max(hybrid["events_mean"], 1.0)
            print(f"(f) hybrid buffers, 1 thread: wall per trajectory "
                  f"{', '.join(f'{w:.2f}' for w in h_walls)} s (mean {h_walls.mean():.2f}); "
                  f"events/traj {hybrid['events_mean']:.0f} ({fewer:.0f}x fewer); ODE "
                  f"steps/traj {hybrid['ode_steps']:.0f}; events/s "
                  f"{hybrid['rate'] / 1e6:.3f} M; speed-up {hybrid['speedup']:.1f}x "
                  f"(per release: {per_release:.1f}x; releases exact {releases['exact']}, "
                  f"hybrid {releases['hybrid']}); other load {load_mark(h['other_load'])}")
            print("(e) exact  : " + "; ".join(f"{k} {m:.4g} +- {s:.2g}"
                                             for k, (m, s) in acc.items()))
            print("(e) hybrid : " + "; ".join(f"{k} {m:.4g} +- {s:.2g}"
                                             for k, (m, s) in hybrid["yardstick"].items()))
            print("    hybrid - exact in combined s.e.: " + "; ".join(
                f"{k} {(hybrid['yardstick'][k][0] - m) / math.hypot(s, hybrid['yardstick'][k][1]):+.1f}"
                for k, (m, s) in acc.items() if math.hypot(s, hybrid["yardstick"][k][1]) > 0))
        fig["protocols"][key] = {
            "title": title, "t_end": t_end, "n_traj": n,
            "runs": {str(t): {k: v for k, v in res.items() if k != "ens"}
                     for t, res in r.items()},
            "groups": by_group, "top": top, "events_mean": events_mean,
            "td_fraction": td_fraction, "yardstick": acc, "hybrid": hybrid}
        for threads, res in r.items():
            rows.append((title, threads, res["wall"] / n, res["cpu"] / n, events_mean,
                         sum(res["events"]) / res["wall"], res.get("speedup"),
                         res["other_load"], key))
        if key == "lfs" and 1 in r:
            fig["protocols"][key]["extrapolation"] = extrapolate(
                r[1], lfs_pulses, float(model.parameters["glu_release_probability"]))

    full = None
    if args.lfs_full and not quick:
        print(f"\n== LFS 1 Hz, all {LFS_FULL_PULSES} pulses: 1 trajectory, 1 thread ==")
        res = run_protocol(model, ss.protocols.lfs(), float(LFS_FULL_PULSES), 1, args.seed, 1,
                           None)
        full = {k: v for k, v in res.items() if k != "ens"}
        print(f"wall {res['wall']:.0f} s, {res['events'][0]} events, "
              f"{res['events'][0] / res['wall'] / 1e6:.3f} M events/s; other load "
              f"{load_mark(res['other_load'])}")
        fig["lfs_full"] = full

    # ---------------------------------------------------------------- table
    print("\n== summary (per trajectory; events/s = all events / wall of the call) ==")
    print(f"{'protocol':34s} {'threads':>7s} {'wall/traj':>11s} {'CPU/traj':>9s} "
          f"{'events/traj':>12s} {'events/s':>10s} {'speed-up':>8s}  other load")
    for title, threads, wall_per, cpu_per, ev, rate, speed, other, key in rows:
        print(f"{title:34s} {threads:7d} {fmt_s(wall_per):>11s} {fmt_s(cpu_per):>9s} {ev:12.3g} "
              f"{rate / 1e6:8.3f} M {'' if speed is None else f'{speed:.2f}x':>8s}  "
              f"{load_mark(other)}")
        if key == "lfs" and threads == 1:
            ext = fig["protocols"]["lfs"]["extrapolation"]
            rel = ext["releases"]
            for how, e in (("", ext["linear"]), (", Pr-corr.", ext["corrected"])):
                if e is None:
                    continue
                print(f"{'LFS 900 s (EXTRAPOLATED' + how + ')':34s} {threads:7d} "
                      f"{fmt_s(e['wall']):>11s} {'':>9s} {e['events']:12.3g} "
                      f"{e['events'] / e['wall'] / 1e6:8.3f} M {'':>8s}  not measured: "
                      + ("x" + f"{LFS_FULL_PULSES / lfs_pulses:g} the sample mean" if not how
                         else f"at 900 Pr releases (sample: {sum(rel):.0f} in "
                              f"{len(rel) * lfs_pulses} pulses)"))
    if full is not None:
        print(f"{'LFS 1 Hz, 900 s (measured)':34s} {1:7d} {fmt_s(full['wall']):>11s} "
              f"{fmt_s(full['cpu']):>9s} {full['events'][0]:12.3g} {full['events'][0] / full['wall'] / 1e6:8.3f} M "
              f"{'':>8s}  {load_mark(full['other_load'])}")
    for key, entry in fig["protocols"].items():
        h = entry.get("hybrid")
        if h is None:
            continue
        print(f"{'(f) hybrid: ' + entry['title']:34s} {1:7d} {fmt_s(h['wall_per_traj']):>11s} "
              f"{fmt_s(h['cpu'] / h['n_traj']):>9s} {h['events_mean']:12.3g} "
              f"{h['rate'] / 1e6:8.3f} M {'':>8s}  {load_mark(h['other_load'])}; "
              f"{h['ode_steps']:.3g} ODE steps/traj; speed-up vs exact {h['speedup']:.1f}x "
              f"(per release {h['speedup_per_release']:.1f}x)")
        ya, yb = entry["yardstick"], h["yardstick"]
        print(f"{'':34s} (e) exact | hybrid: " + "; ".join(
            f"{k} {ya[k][0]:.4g}±{ya[k][1]:.2g} | {yb[k][0]:.4g}±{yb[k][1]:.2g}" for k in ya))
    if any(other > LOADED for *_, other, _ in rows):
        print("NOTE: stages marked LOADED ran while other processes used the machine; "
              "their timings are pessimistic.")
    print("\nloadavg at end:", open("/proc/loadavg").read().split()[:3],
          f"; total run time {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(fig, indent=1, default=float))


if __name__ == "__main__":
    main()
