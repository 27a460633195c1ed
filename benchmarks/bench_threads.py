"""Two threads against one, per call, with a timeline: where a call of ``ss.simulate``
with ``n_threads`` 1 and 2 spends its time (issue 18).

The peers.py workloads (16 immigration–death trajectories, 0–1000 s; 1,000 DSMTS
dimerisation trajectories on 51 points), 1- and 2-thread calls interleaved. Prints the
median wall and process CPU time per call, the paired 2-thread/1-thread wall ratio, and
with ``-d`` a timeline (the kernel ``batch._kernels`` gives and ``run_batch`` wrapped in Python): the
serial Python before and after the kernels, each kernel call's start, end and thread
CPU time. Load from other processes distorts every wall figure on a 2-core machine
(the load average is printed).

Usage::

    python benchmarks/bench_threads.py [REPEATS] [-d]
"""
import sys, time, threading, os, statistics as st
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
import stochsyn as ss
from peers import immigration_death_model, grid, IMM, DIM_T, REPO
import stochsyn.engine.batch as B
import stochsyn.ensemble as E

imm = immigration_death_model(); imm_t = grid(IMM["t_end"], IMM["every"])
dim = ss.load_model(REPO / "reactions/examples/dimerisation.toml")
work = {"imm16": (imm, imm_t, 16), "dim1000": (dim, DIM_T, 1000)}
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
detail = "-d" in sys.argv

rec = []
if detail:
    # (the batch runner asks _kernels for the kernel it runs: numba's, or the native one)
    orig_kernels = B._kernels
    def kernels(mode, args):
        orig_rt, wait = orig_kernels(mode, args)
        def rt(*a):
            t0 = time.perf_counter(); c0 = time.thread_time()
            r = orig_rt(*a)
            rec.append((threading.current_thread().name, t0, time.perf_counter(), time.thread_time() - c0))
            return r
        return rt, wait
    B._kernels = kernels
    orig_rb = E.run_batch
    def rb(*a, **k):
        t0 = time.perf_counter()
        r = orig_rb(*a, **k)
        rec.append(("run_batch", t0, time.perf_counter(), 0))
        return r
    E.run_batch = rb

def call(m, t, n, k, seed=1):
    return ss.simulate(m, float(t[-1]), n, seed=seed, sample_times=t, n_threads=k)

for key, (m, t, n) in work.items():
    for k in (1, 2):
        call(m, t, n, k)
    res = {1: [], 2: []}
    det = {1: [], 2: []}
    for r in range(reps):
        for k in (1, 2):
            rec.clear()
            c0 = time.process_time(); t0 = time.perf_counter()
            call(m, t, n, k, seed=r)
            t1 = time.perf_counter(); c1 = time.process_time()
            res[k].append((t1 - t0, c1 - c0))
            if detail:
                rb = [x for x in rec if x[0] == "run_batch"][0]
                ker = [x for x in rec if x[0] != "run_batch"]
                kstart = min(x[1] for x in ker); kend = max(x[2] for x in ker)
                det[k].append((rb[1] - t0, t1 - rb[2], kstart - rb[1], rb[2] - kend,
                               sum(x[3] for x in ker), [(x[0][:8], round((x[1]-rb[1])*1e6), round((x[2]-rb[1])*1e6), round(x[3]*1e6)) for x in ker]))
    w1 = st.median(x[0] for x in res[1]); w2 = st.median(x[0] for x in res[2])
    c1 = st.median(x[1] for x in res[1]); c2 = st.median(x[1] for x in res[2])
    ratios = sorted(a[0] / b[0] for a, b in zip(res[1], res[2]))
    print(f"{key}: wall 1t {w1*1e3:.3f} ms, 2t {w2*1e3:.3f} ms, ratio of medians {w1/w2:.2f}, "
          f"min-wall ratio {min(x[0] for x in res[1])/min(x[0] for x in res[2]):.2f}, paired median {st.median(ratios):.2f} "
          f"[q25 {ratios[len(ratios)//4]:.2f}, q75 {ratios[3*len(ratios)//4]:.2f}]; CPU 1t {c1*1e3:.3f} 2t {c2*1e3:.3f} ms (2/1 {c2/c1:.2f})")
    if detail:
        for k in (1, 2):
            d = det[k]
            print(f"  {k}t: pre {st.median(x[0] for x in d)*1e6:.0f} us, post {st.median(x[1] for x in d)*1e6:.0f} us, "
                  f"run_batch->first kernel {st.median(x[2] for x in d)*1e6:.0f} us, last kernel->return {st.median(x[3] for x in d)*1e6:.0f} us, kernel CPU {st.median(x[4] for x in d)*1e6:.0f} us")
            print("    sample:", d[len(d)//2][5])
print("uptime:", os.getloadavg())
