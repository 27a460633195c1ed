"""What one conductance change costs the event loop at rest (issue 12, "quiet phases").

At rest on ``reactions/examples/spine_electrophysiology.toml`` every discrete event is a VGCC
gate (a time-dependent reaction), and about half of them (the T-type channels of the
available state opening or closing, ~15,000 per simulated minute) change the conductance:
the membrane re-anchors with a transient (−0.29 mV for one T-type channel, τ_m ≈ 3 µs), the
frozen rates thaw (:mod:`stochsyn.engine.ssa`, "Rest fallback"), the next event is drawn by
thinning through the transient (:mod:`stochsyn.engine.hazard`) and the rates freeze again
at the event after it. This script times those pieces with the engine's own functions, on
the example's arrays at its resting point, without the kernel (no recompilation of the
hybrid kernel needed to compare two checkouts: run it with each on ``PYTHONPATH``):

* per call (``--calls``, best and median of 5 × 200,000 calls in a loop compiled without
  reference counting, the same arguments each time): ``freeze_factors``, ``_set_tv_leaves``, ``new_interval``,
  ``tv_rate_at``, ``select_tv``, ``quiet_from``, the membrane's ``voltage`` + ``anchor``,
  ``tree_select``, ``tree_build``;
* the cycle (default): a T-type channel opens at t, the bound interval from t, the rate
  and the choice at t + 150 µs (its mean open time), it closes there, the same from there,
  the rates frozen 2 ms later; CPU per conductance change, best and median of 5 × 100,000
  cycles, and a checksum of the rates it computed (equal between checkouts that compute the
  same bits).

**A replay does not predict the kernel.** These loops are compiled apart from the kernel,
which LLVM builds with the same helpers inlined into its event loop: on branch i12h a memo
of the time factors made the replay 17 % cheaper (0.94 → 0.78 µs per change) and the
kernel's resting minute 28 % dearer (discrete part 23 → 30 ms), even its events that never
call the memo (benchmarks/RESULTS.md, i12h). Use the replay to find where the time goes
and to rule a change out; keep a change only on the kernel's own A/B (``bench_hybrid.py``).

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_flicker.py [--calls]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO / "reactions/examples/spine_electrophysiology.toml"


def setup():
    import stochsyn as ss
    from stochsyn.engine import hazard, membrane, ssa
    from stochsyn.network import compile as compile_network
    net = compile_network(ss.load_model(MODEL)).arrays
    work = ssa.workspace(net)
    (x, rate, tree, _, _, _, _, _, _, _, _, _, _, _, _, _, tv_static, tv_factor, tv_fmax, base,
     u_now, u_lo, u_hi, bound, pulse, mem, _, _, _) = work
    drive = hazard.drive_arrays(net)
    x[:len(net.x0)] = net.x0
    x[len(net.x0):] = 0
    rate[:] = net.rate
    pulse[:3, :] = 0.0
    pulse[3, :] = math.inf
    mem[:] = 0.0
    base[:] = 0.0
    n_leaves = net.n_leaves[0]
    ssa._fill_tree(tree, n_leaves, x, rate, net, tv_static)
    membrane.set_bases(drive, base, 0.0)
    membrane.anchor(drive, mem, pulse, base, x, 0.0, net.mem_param[4])
    t_channel = net.ch_idx[3]           # VGCC_T(m=open, h=available): 12 pS
    return (net, (drive, net.tv_idx, tv_static, net.tv_inputs, base, pulse, mem, u_now, u_lo,
                  u_hi, tv_fmax, bound, tree, n_leaves, tv_factor, x, t_channel))


_SOURCE = """
@borrowing_njit()
def cycle(n, drive, tv_list, tv_static, used, base, pulse, mem, u_now, u_lo, u_hi, tv_fmax,
          bound, tree, n_leaves, tv_factor, x, t_channel):
    t = 1.0
    checksum = 0.0
    hazard.freeze_factors(drive, tv_list, used, base, pulse, mem, u_now, t, tv_factor)
    for _ in range(n):
        for change in (1, -1):
            x[t_channel] += change
            membrane.anchor(drive, mem, pulse, base, x, t,
                            membrane.voltage(drive, mem, pulse, base, t))
            checksum += hazard.quiet_from(drive, used, pulse, mem, base, math.inf)
            ssa._set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, False)
            hazard.new_interval(drive, tv_list, tv_static, used, base, pulse, mem, u_lo, u_hi,
                                math.inf, tv_fmax, bound, t)
            checksum += bound[1]
            t += 1.5e-4 if change == 1 else 2e-3
            checksum += hazard.tv_rate_at(drive, tv_list, tv_static, used, base, pulse, mem,
                                          u_now, t)
            checksum += hazard.select_tv(drive, tv_list, tv_static, used, base, pulse, mem,
                                         u_now, t, 50.0)
            if change == -1:
                hazard.freeze_factors(drive, tv_list, used, base, pulse, mem, u_now, t,
                                      tv_factor)
                ssa._set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, True)
    return checksum


@borrowing_njit()
def calls(which, n, drive, tv_list, tv_static, used, base, pulse, mem, u_now, u_lo, u_hi,
          tv_fmax, bound, tree, n_leaves, tv_factor, x, t_channel):
    acc = 0.0
    t = 1.0
    m0, m1, m2, m3, m4 = mem[0], mem[1], mem[2], mem[3], mem[4]
    for r in range(n):
        if which == 0:
            acc += hazard.freeze_factors(drive, tv_list, used, base, pulse, mem, u_now,
                                         t + 1e-3, tv_factor)
        elif which == 1:
            ssa._set_tv_leaves(tree, n_leaves, tv_list, tv_static, tv_factor, r & 1 == 0)
        elif which == 2:
            hazard.new_interval(drive, tv_list, tv_static, used, base, pulse, mem, u_lo, u_hi,
                                math.inf, tv_fmax, bound, t)
            acc += bound[1]
        elif which == 3:
            acc += hazard.tv_rate_at(drive, tv_list, tv_static, used, base, pulse, mem, u_now,
                                     t + 1e-3)
        elif which == 4:
            acc += hazard.select_tv(drive, tv_list, tv_static, used, base, pulse, mem, u_now,
                                    t + 1e-3, 100.0)
        elif which == 5:
            acc += hazard.quiet_from(drive, used, pulse, mem, base, math.inf)
        elif which == 6:
            membrane.anchor(drive, mem, pulse, base, x, t,
                            membrane.voltage(drive, mem, pulse, base, t))
            mem[0], mem[1], mem[2], mem[3], mem[4] = m0, m1, m2, m3, m4
        elif which == 7:
            acc += ssa.tree_select(tree, n_leaves, 0.37 * tree[0])
        elif which == 8:
            ssa.tree_build(tree, n_leaves)
    return acc
"""


def compiled():
    """(cycle, calls), compiled in this process from ``_SOURCE`` (kept as text, so that a
    variant of the engine's signatures can be timed by editing it)."""
    import numba
    from stochsyn.engine import hazard, membrane, ssa

    def borrowing_njit():   # as stochsyn.engine.jit's, without the on-disk cache (exec'd)
        return numba.njit(_nrt=False)

    scope = {"borrowing_njit": borrowing_njit, "hazard": hazard, "membrane": membrane,
             "ssa": ssa, "math": math}
    exec(_SOURCE, scope)
    return scope["cycle"], scope["calls"]


CALLS = ["freeze_factors", "_set_tv_leaves", "new_interval", "tv_rate_at", "select_tv",
         "quiet_from", "voltage + anchor", "tree_select", "tree_build"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", action="store_true",
                        help="also time each piece on its own")
    args = parser.parse_args(argv)
    import stochsyn
    from stochsyn.engine import membrane
    print("stochsyn:", stochsyn.__file__)
    net, state = setup()
    cycle, calls = compiled()
    drive, mem, x, t_channel = state[0], state[6], state[15], state[16]
    if args.calls:
        # the state after one T-type opening (a transient of the calls to bound)
        x[t_channel] += 1
        membrane.anchor(drive, mem, state[5], state[4], x, 1.0,
                        membrane.voltage(drive, mem, state[5], state[4], 1.0))
        print(f"after one T-type opening: transient {mem[3]:.4f} mV, tau_m "
              f"{1e6 / mem[0]:.2f} us")
        for which in range(len(CALLS)):
            calls(which, 10, *state)
        n = 200_000
        for which, name in enumerate(CALLS):
            costs = []
            for _ in range(5):
                c0 = time.process_time_ns()
                calls(which, n, *state)
                costs.append((time.process_time_ns() - c0) / n)
            print(f"{name:18s} best {min(costs):7.1f} ns  median {sorted(costs)[2]:7.1f} ns")
        net, state = setup()
    cycle(10, *state)
    n = 100_000
    costs = []
    for _ in range(5):
        c0 = time.process_time_ns()
        checksum = cycle(n, *state)
        costs.append((time.process_time_ns() - c0) / (2 * n))
    print(f"per conductance change (cycle): best {min(costs):.1f} ns, median "
          f"{sorted(costs)[2]:.1f} ns; checksum {checksum!r}; loadavg "
          f"{open('/proc/loadavg').read().split()[:3]}")


if __name__ == "__main__":
    sys.exit(main())
