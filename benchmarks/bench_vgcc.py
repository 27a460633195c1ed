"""What the VGCC module (reactions/modules/vgcc.toml) costs the spine example in the hybrid
mode: the same cases with and without its channels (n_vgcc_R = n_vgcc_T = n_vgcc_L = 0), in
one process, 1 thread, compilation excluded by a warm-up, best of 2 repeats; wall and CPU
time per trajectory (the CPU time is the process's: closer to the idle cost when other
processes share the cores), events, ODE steps and restarts per trajectory.

Cases: a simulated minute at rest; one presynaptic spike at 10 ms (the model's Pr 0.3),
0.3 s; protocols.hfs() (100 pulses at 100 Hz), 1 s. benchmarks/bench_hybrid.py measures
the example as it is (now with VGCCs) against the exact mode.

Usage (from the repository root)::

    PYTHONPATH=. python benchmarks/bench_vgcc.py
"""
import os
import time

import stochsyn as ss
from stochsyn import protocols
from stochsyn.validation import calcium_transients as ct
NO = {"n_vgcc_R": 0, "n_vgcc_T": 0, "n_vgcc_L": 0, "n_vgcc_T_inactivated": 0}
base = ct.hybrid()
cases = [("rest 60 s", None, 60.0, 4), ("EPSP Pr 0.3, 0.3 s", protocols.spikes(pre_s=[0.01]), 0.3, 100),
         ("HFS 100 Hz 1 s", protocols.hfs(start_s=0.01), 1.0, 12)]
for name, prot, t_end, n in cases:
    for label, model in (("without VGCCs", base.with_parameters(**NO)), ("with VGCCs", base)):
        ss.simulate(model, t_end, 2, seed=1, protocol=prot, n_threads=1)   # warm-up / compile
        best = []
        for rep in range(2):
            c0, t0 = time.process_time(), time.perf_counter()
            ens = ss.simulate(model, t_end, n, seed=20261207 + rep, protocol=prot, n_threads=1)
            best.append(((time.perf_counter() - t0) / n, (time.process_time() - c0) / n))
        wall, cpu = min(best)
        print(f"{name:20s} {label:14s} wall {wall*1e3:9.3f} ms  cpu {cpu*1e3:9.3f} ms/traj  "
              f"events {ens.n_events.mean():9.0f}  ode_steps {ens.ode_steps.mean():9.0f}  "
              f"restarts {ens.ode_restarts.mean():8.0f}", flush=True)
print("loadavg", os.getloadavg())
