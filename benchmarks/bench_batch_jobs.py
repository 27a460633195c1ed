"""Batch jobs at scale: peak memory of large runs and of summarize, and the speed-up of a
2-worker local Dask cluster over one serial process.

Every figure comes from a separate ``stochsyn`` process measured by ``/usr/bin/time -v``
(peak resident set size of that process and its children), so it is what a user sees:

1. ``stochsyn run reactions/examples/ampar_exchange.toml --t-end 600 --record-events``
   (the README's first command) with 10,000 and 100,000 trajectories: peak RSS must stay
   flat in the ensemble size (targets 1 GB and 1.2 GB);
2. ``stochsyn summarize`` of the 10,000-trajectory dataset (target 500 MB);
3. an ensemble whose serial time is >= 20 s (``--threads 1``) against the same with
   ``--workers 2`` (a local Dask cluster of 2 one-thread processes, started and stopped by
   the command, so its start-up is included): target >= 1.7x; and with ``--threads 2`` in
   one process, which says what two cores give on the machine at that moment; and, in
   this process, the same ensemble on one thread against a 2-worker LocalCluster that is
   already running with its kernels loaded (the executor's overhead alone).

Usage::

    python benchmarks/bench_batch_jobs.py [--sizes 10000 100000] [--no-dask] [--dir DIR]

It takes about 12 min on 2 idle cores (most of it the 100,000-trajectory run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "reactions" / "examples" / "ampar_exchange.toml"
STOCHSYN = [sys.executable, "-m", "stochsyn.cli"]


def measured(command: list[str], cwd: Path) -> dict:
    """Run ``command`` under /usr/bin/time -v; its peak RSS (MB), wall time (s), output."""
    result = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n"
                         f"{result.stdout}\n{result.stderr}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                           result.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)",
                     result.stderr).group(1)
    seconds = sum(float(part) * 60 ** k for k, part in enumerate(reversed(wall.split(":"))))
    return {"rss_mb": rss_kb / 1024, "seconds": seconds, "stdout": result.stdout}


def warm_cluster_speedup(t_end: float, n: int) -> str:
    """The same ensemble in this process on one thread, and on a 2-worker LocalCluster
    that is already running with its kernels loaded (what a sweep on a cluster sees after
    the first batches): the executor's own overhead, without the cluster's start-up."""
    import time

    import stochsyn as ss
    from dask.distributed import Client, LocalCluster

    model = ss.load_model(MODEL)
    ss.simulate(model, 1.0, 2, seed=0, n_threads=1)               # kernels loaded here
    started = time.perf_counter()
    serial = ss.simulate(model, t_end, n, seed=2, n_threads=1, batch_size=250)
    serial_s = time.perf_counter() - started
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
            Client(cluster) as client:
        executor = client.get_executor()
        ss.simulate(model, 1.0, 4, seed=0, batch_size=1, executor=executor)   # warm workers
        started = time.perf_counter()
        dask = ss.simulate(model, t_end, n, seed=2, batch_size=250, executor=executor)
        dask_s = time.perf_counter() - started
    same = bool((serial.counts == dask.counts).all())
    return (f"warm 2-worker LocalCluster (start-up excluded), {n:,} trajectories: serial "
            f"{serial_s:.1f} s, Dask {dask_s:.1f} s, {serial_s / dask_s:.2f}x; "
            f"identical counts: {same}")


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--dir", default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--dask-t-end", type=float, default=3000.0,
                        help="t-end of the Dask comparison (s; serial time should be >= 20 s)")
    parser.add_argument("--dask-trajectories", type=int, default=10_000)
    args = parser.parse_args(argv)
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="stochsyn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    print("| run | trajectories | peak RSS (MB) | wall (s) | dataset (MB) | target |")
    print("|---|---|---|---|---|---|")
    first = None
    for n in args.sizes:
        out = work / f"run{n}"
        shutil.rmtree(out, ignore_errors=True)
        figures = measured(STOCHSYN + ["run", str(MODEL), "--t-end", "600", "--trajectories",
                                       str(n), "--seed", "1", "--record-events", "--out",
                                       str(out), "--quiet"], work)
        target = "<= 1024" if n <= 10_000 else "<= 1229"
        print(f"| run --record-events | {n:,} | {figures['rss_mb']:.0f} | "
              f"{figures['seconds']:.1f} | {folder_mb(out):.0f} | {target} |", flush=True)
        first = first or out
    if first is not None:
        figures = measured(STOCHSYN + ["summarize", str(first)], work)
        print(f"| summarize | {args.sizes[0]:,} | {figures['rss_mb']:.0f} | "
              f"{figures['seconds']:.1f} | | <= 500 |", flush=True)
    if not args.no_dask:
        common = ["run", str(MODEL), "--t-end", str(args.dask_t_end), "--trajectories",
                  str(args.dask_trajectories), "--seed", "2", "--quiet", "--batch-size",
                  "250"]
        serial = measured(STOCHSYN + common + ["--threads", "1", "--out",
                                               str(work / "serial"), "--overwrite"], work)
        threads = measured(STOCHSYN + common + ["--threads", "2", "--out",
                                                str(work / "threads"), "--overwrite"], work)
        dask = measured(STOCHSYN + common + ["--workers", "2", "--out", str(work / "dask"),
                                             "--overwrite"], work)
        print(f"| serial, 1 thread | {args.dask_trajectories:,} | {serial['rss_mb']:.0f} | "
              f"{serial['seconds']:.1f} | | serial >= 20 s |")
        print(f"| one process, 2 threads | {args.dask_trajectories:,} | "
              f"{threads['rss_mb']:.0f} | {threads['seconds']:.1f} | | |")
        print(f"| Dask LocalCluster, 2 workers | {args.dask_trajectories:,} | "
              f"{dask['rss_mb']:.0f} | {dask['seconds']:.1f} | | |")
        print(f"speed-up of 2 Dask workers over serial: "
              f"{serial['seconds'] / dask['seconds']:.2f}x (target >= 1.7x; wall times of the "
              "whole commands, cluster start-up included); 2 threads in one process: "
              f"{serial['seconds'] / threads['seconds']:.2f}x (what the machine gives)")
        print(warm_cluster_speedup(args.dask_t_end, args.dask_trajectories), flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if not args.dir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
