"""Running a batch of trajectories on several threads.

The kernel :func:`stochsyn.engine.ssa.run_trajectories` is compiled with ``nogil=True``;
plain Python threads call it on disjoint chunks of the batch, taking the next chunk when
they finish one (dynamic scheduling, so unequal trajectories still balance). Every
trajectory seeds its own stream from its global index, so the result does not depend on
the number of threads or on which thread ran what.

Why not numba's ``prange``: a ``parallel=True`` kernel loaded from numba's on-disk cache
ran 5–15 % slower on one thread than the same kernel freshly compiled (numba issue 8085;
measured on the receptor network, benchmarks/RESULTS.md), while recompiling it in every
process costs about 12 s. The ``nogil`` kernel is as fast from the cache as fresh, and
needs no OpenMP/TBB threading layer.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .ssa import run_trajectories

#: Chunks per thread a batch is cut into (load balance against per-call overhead, ~µs).
CHUNKS_PER_THREAD = 16

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _worker_pool(n_threads: int) -> ThreadPoolExecutor:
    """A process-wide pool with at least ``n_threads`` workers, kept between calls
    (starting threads costs ~0.1 ms each, as much as a whole small batch)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n_threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="stochsyn")
            _pool_size = n_threads
        return _pool


def default_threads() -> int:
    """Threads used when none are given: numba's setting (``NUMBA_NUM_THREADS``, or
    :func:`numba.set_num_threads`), which is the number of cores unless limited."""
    return int(numba.get_num_threads())


def run_batch(net, run_entropy, trajectories, sample_times, t_end, max_events, record_idx,
              counts, firings, ev_time, ev_agent, ev_reaction, ev_from, ev_to, status,
              results, n_threads=None, spike_times=None, post_spike_times=None,
              voltages=None, cont_values=None, hybrid=None):
    """Simulate a batch of trajectories, in parallel when ``n_threads > 1``.

    Parameters are those of :func:`stochsyn.engine.ssa.run_trajectories` (without
    ``start, stop``); every output array has the batch as its first axis.

    Parameters
    ----------
    n_threads : int, optional
        Worker threads; default :func:`default_threads`.
    spike_times, post_spike_times : float64 ndarrays, optional
        Pre- and postsynaptic spike times (s) of the protocol; default none.
    voltages : (B, n_times) float64 ndarray, optional
        Output: the spine-head voltage (mV) at the sample times, for a model with a
        membrane; default: not recorded.
    cont_values : (B, n_times, Y) float64 ndarray, optional
        Output: the amounts of the Y continuous species (hybrid mode) at the sample times.
    hybrid : stochsyn.network.HybridArrays, optional
        ``Network.hybrid`` of a model with continuous species (then ``cont_values`` and
        ``results`` with 9 + F columns, F its fluxes, are needed); without it the kernel
        of the exact mode runs.
    """
    n = len(trajectories)

    def times(values):
        return (np.zeros(0) if values is None
                else np.ascontiguousarray(values, dtype=np.float64))

    spike_times, post_spike_times = times(spike_times), times(post_spike_times)
    if voltages is None:
        voltages = np.zeros((n, 0), dtype=np.float64)
    if hybrid is None:
        cont_values = None          # the kernel compiled without the hybrid mode
    elif cont_values is None or cont_values.shape != (n, len(sample_times),
                                                      len(hybrid.cont_idx)) \
            or results.shape[1] < 9 + len(hybrid.fx_rx):
        n_cont = len(hybrid.cont_idx)
        raise ValueError(f"the network has {n_cont} continuous species: pass cont_values, "
                         f"a float64 array of shape {(n, len(sample_times), n_cont)}, and "
                         f"results with 9 + {len(hybrid.fx_rx)} columns (one per flux)")
    n_threads = default_threads() if n_threads is None else int(n_threads)
    n_threads = max(1, min(n_threads, n))
    args = (sample_times, spike_times, post_spike_times, t_end, max_events, record_idx, counts,
            voltages, firings, ev_time, ev_agent, ev_reaction, ev_from, ev_to, status, results,
            cont_values, hybrid)
    if n_threads == 1:
        run_trajectories(net, run_entropy, trajectories, 0, n, *args)
        return
    chunk = max(1, n // (n_threads * CHUNKS_PER_THREAD))
    next_start = [0]
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                start = next_start[0]
                next_start[0] = start + chunk
            if start >= n:
                return
            run_trajectories(net, run_entropy, trajectories, start, min(n, start + chunk),
                             *args)

    pool = _worker_pool(n_threads)
    futures = [pool.submit(worker) for _ in range(n_threads)]
    for future in futures:
        future.result()          # waits, and re-raises an error from a worker
