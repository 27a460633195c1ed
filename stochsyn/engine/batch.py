"""Running a batch of trajectories on several threads.

The kernel :func:`stochsyn.engine.ssa.run_trajectories` is compiled with ``nogil=True``;
each of ``n_threads`` worker threads calls it once, and inside the kernel, without the GIL,
the calls claim the batch's rows a few at a time from one shared counter (an atomic
fetch-and-add): dynamic scheduling, so unequal trajectories still balance, at the cost of
one kernel call per thread and batch. The claims shrink towards the end of the batch
(guided scheduling: at most a quarter of a thread's share of the rows left), so the last
ones are single rows and the threads end within about one trajectory of each other; the
rows finished are counted in the same small array. Every trajectory seeds its own stream
from its global index, so the result does not depend on the number of threads, on the
claims or on which thread ran what. Each call counts firings in its own work arrays and
writes every output row once per trajectory, so two threads never write one cache line
at every event.

In the exact mode the calling thread runs the kernel itself for the first trajectories of
a batch while they are short (:data:`INLINE_ROW_WORK` events each, :data:`INLINE_WORK` in
all; a batch of small trajectories ends there, without waking any worker); then it hands
the rest to the workers (in the hybrid mode all of it: the budget counts events, not the
ODE steps between them) and waits, calls the caller's ``poll`` a few times a second (progress bars,
a wall-clock budget), and stays able to take a Ctrl-C. With several threads it runs only
a pilot (:data:`PILOT_WORK`), which measures the work per row, alone; a rest worth less
than a worker's wake-up (:data:`INLINE_ROW_WORK`) it finishes alone too, and with a rest
worth at most INLINE_WORK per thread it wakes one worker fewer and claims rows itself,
alongside them; when none are left it spins briefly (:data:`JOIN_SPINS`) on the count
of finished rows and returns as soon as the workers' last rows are written, without
blocking on their futures (a blocked thread's wake-up costs tens of microseconds on a
virtual machine). A plain network's batch needs no pilot when the last batch of that very
network, ``t_end``, sample times and ``max_events`` measured the work per row
(:func:`_work_per_row`; a notebook or a benchmark calls the same model again and again):
the workers are woken first and the calling thread joins them at once. On a
KeyboardInterrupt (or any
error from ``poll``) it sets the kernel's stop flag, which every running trajectory reads
every few thousand events, waits for the workers to return (well under a second) and
re-raises.

A plain network (``plain=True``) runs on the native kernel of :mod:`.native` when its
file is there and this process's numba does not hold that kernel already: the same machine
code, called through ctypes (which releases the GIL too), without importing numba
(:func:`_kernels`); the kernels of :mod:`.ssa` are imported only when numba runs one.

Why not numba's ``prange``: a ``parallel=True`` kernel loaded from numba's on-disk cache
ran 5–15 % slower on one thread than the same kernel freshly compiled (numba issue 8085;
measured on the receptor network, benchmarks/RESULTS.md), while recompiling it in every
process costs about 12 s. The ``nogil`` kernel is as fast from the cache as fresh, and
needs no OpenMP/TBB threading layer.
"""

from __future__ import annotations

import functools
import os
import queue
import sys
import threading
from concurrent.futures import Future, wait

import numpy as np

from ..network import PackedNetwork, pack

from . import native
from .kernel_cache import engine_fingerprint, kernel_cache_folder
from .codes import CLAIM_BUDGET, CLAIM_NEXT, new_claim

#: Seconds between two calls of ``poll`` while a batch runs.
POLL_INTERVAL_S = 0.2
#: ``status`` of a row the kernel never started (the batch was stopped first).
NOT_STARTED = -1

#: Events (and samples) of a trajectory beyond which the calling thread hands it to a
#: worker: a hand-off costs 0.05–0.15 ms of CPU (measured with 1,000 dimerisation
#: trajectories), as much as ~4,000 events of a small model, so a longer trajectory is cut
#: there and redone by a worker (same bits), which loses at most this much work a batch.
INLINE_ROW_WORK = 4096
#: Work (events and samples, as counted by :func:`stochsyn.engine.ssa.run_trajectories`)
#: the calling thread does itself, one thread, on trajectories within INLINE_ROW_WORK each,
#: before it hands the rest of a batch to a worker: 1,000 dimerisation trajectories
#: (~5 ms) need no worker, and a Ctrl-C waits for this much work at most (~10 ms on a
#: small model, ~0.2 s at the hybrid mode's ~1.3 µs an event). With several threads the
#: calling thread stops at PILOT_WORK instead, so a batch worth sharing is shared.
INLINE_WORK = 2**17
#: With several threads, the work the calling thread does alone before it decides how to
#: share the rest: enough to measure the work per row of a small model (9 dimerisation
#: trajectories, ~30 µs), and no more, since every thread but one waits meanwhile (at
#: INLINE_ROW_WORK it was 36 trajectories, 3.6 % of a batch of 1,000 run on one thread).
#: A first row longer than this is cut and redone by a worker (same bits).
PILOT_WORK = 1024

#: Claims per thread a batch is cut into: rows are claimed at most ``n // (threads · this)``
#: at a time (at least 1), and fewer towards the end (guided: the last claims are single
#: rows, so this does not bound how unevenly the threads end). A claim is three atomic
#: operations on one cache line the threads share; 8 rather than 64 claims per thread
#: made 2 threads on 1,000 dimerisation trajectories ~2 % faster (benchmarks/RESULTS.md).
CLAIMS_PER_THREAD = 8

#: A batch of a plain network with at least this many rows records its work per row
#: (events and samples) for the next batch of the same network, ``t_end``, sample times
#: and ``max_events`` (:func:`_work_per_row`), which then needs no pilot.
MEMO_ROWS = 16

#: Looks at the count of finished rows (:func:`stochsyn.engine.ssa.wait_for_rows`, an
#: atomic read of 10-40 ns each) the calling thread makes, when it has claimed its last
#: rows alongside the workers, before it blocks on their futures instead: ~0.1 ms, tens of
#: small trajectories (the last claims are single rows), so a short batch ends without
#: a second wake-up while a long row in a worker costs little spinning.
JOIN_SPINS = 2**12

class _Worker:
    """A thread of the batch runner: runs the jobs put on its queue, one at a time, each
    with a future for its end (``concurrent.futures.Future``: the wait for it holds no
    token a Ctrl-C could lose). A ``ThreadPoolExecutor.submit`` cost the calling thread
    ~11 µs (its locks, work item and thread accounting), as much as a fifth of what two
    threads gain on a 3-ms batch."""

    def __init__(self, number: int):
        self._jobs = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=f"stochsyn-{number}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            future, run, args = self._jobs.get()
            try:
                future.set_result(run(*args))
            except BaseException as error:  # noqa: BLE001 - re-raised by the caller
                future.set_exception(error)
            del future, run, args           # (the batch's arrays are not kept alive)

    def submit(self, run, args) -> Future:
        """``run(*args)`` in this thread, after the jobs before it; its future."""
        future = Future()
        self._jobs.put((future, run, args))
        return future


_workers: list = []
_workers_lock = threading.Lock()


def _forget_pool() -> None:
    """In a child made by fork the workers' threads do not exist: start new ones there."""
    global _workers, _workers_lock
    _workers, _workers_lock = [], threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _worker_pool(n_threads: int) -> list:
    """``n_threads`` worker threads of the process, kept between calls (starting threads
    costs ~0.1 ms each, as much as a whole small batch)."""
    with _workers_lock:
        while len(_workers) < n_threads:
            _workers.append(_Worker(len(_workers)))
        return _workers[:n_threads]


def wait_for_workers() -> None:
    """Until every worker thread has run what it was given (a batch may return while a
    worker that has nothing left to claim is still returning: tests that count calls wait
    for it)."""
    wait([worker.submit(int, ()) for worker in list(_workers)])


#: (network, key, work per row) of the last plain batch of at least MEMO_ROWS rows: the
#: network is held so that its identity cannot be taken by another object meanwhile.
_last_work: tuple | None = None


def _work_key(t_end, sample_times, max_events) -> tuple:
    n_times = len(sample_times)
    return (float(t_end), n_times, float(sample_times[0]) if n_times else 0.0,
            float(sample_times[-1]) if n_times else 0.0, int(max_events))


def _work_per_row(net, t_end, sample_times, max_events) -> float | None:
    """Events and samples per row of the last plain batch of this very network (the same
    object), ``t_end``, sample times and ``max_events``, or None. The trajectories of a
    plain network are then drawn from the same distribution, so its mean work per row is
    the one the pilot would measure, without the pilot (~35 µs with every other thread
    idle, and the workers woken after it)."""
    last = _last_work
    if last is None or last[0] is not net or last[1] != _work_key(t_end, sample_times,
                                                                   max_events):
        return None
    return last[2]


def _remember_work(net, t_end, sample_times, max_events, results, stop_flag) -> None:
    """Record the work per row of a finished plain batch (:func:`_work_per_row`)."""
    global _last_work
    if stop_flag[0]:                    # (a stopped batch: its rows' work is not all there)
        return
    work = float(results[:, 0].sum()) / len(results) + len(sample_times)
    _last_work = (net, _work_key(t_end, sample_times, max_events), work)


#: The modes :func:`mode_loaded` found loaded. Only a memo of numba's own list, which
#: is the source of truth: numba never drops a compiled version, so a mode once found
#: stays loaded, and asking numba again costs ~13 µs per call (its ``signatures`` list
#: and the comparison of numba types), a fifth of a one-trajectory ``simulate`` call.
_modes_found_loaded: set = set()


#: The kernel's modes: plain networks (``ev_time`` None), the exact mode, the hybrid mode.
PLAIN, EXACT, HYBRID = "plain", "exact", "hybrid"
_EV_TIME = 15       # the position of ``ev_time`` in the kernel's arguments


def _mode_of(signature) -> str:
    """The mode a version of the kernel (its argument types) was compiled for."""
    from numba.core import types
    if signature[-1] != types.none:          # the hybrid arrays
        return HYBRID
    return PLAIN if signature[_EV_TIME] == types.none else EXACT


def kernel_mode(hybrid, plain: bool) -> str:
    """The kernel's mode for a network: :data:`HYBRID` with hybrid arrays, else
    :data:`PLAIN` for a network :func:`stochsyn.engine.ssa.is_plain` accepts, else
    :data:`EXACT`."""
    return HYBRID if hybrid is not None else PLAIN if plain else EXACT


def mode_loaded(mode: str) -> bool:
    """Whether the kernel of ``mode`` (:func:`kernel_mode`) is loaded in this process: numba
    holds it (then :func:`load_from_cache`, whose typing of the arguments costs ~20 µs, is
    not needed), or for :data:`PLAIN` a native kernel is loaded (:mod:`.native`); then
    the runner's warm-up (``stochsyn.ensemble._warm_up``) is not needed either."""
    return _numba_holds(mode) or (mode == PLAIN and native.loaded())


#: mode -> how many versions of the kernel numba held when :func:`_numba_holds` last found
#: none of that mode: asked again only when numba holds more (it never drops one). A plain
#: network run natively while numba holds the exact mode's kernel would otherwise have
#: numba's list compared on every call (~8 µs, twice a call).
_versions_without: dict = {}


def _numba_holds(mode: str) -> bool:
    """Whether numba holds the kernel of ``mode`` (memo: :data:`_modes_found_loaded`)."""
    if mode in _modes_found_loaded:
        return True
    ssa = sys.modules.get(_SSA)
    if ssa is None:         # the kernels are not imported: numba holds none of them
        return False
    versions = getattr(ssa.run_trajectories, "overloads", None)   # (a stand-in has none)
    if versions is None or _versions_without.get(mode) == len(versions):
        return False
    if any(_mode_of(signature) == mode
           for signature in getattr(ssa.run_trajectories, "signatures", ())):
        _modes_found_loaded.add(mode)
        return True
    _versions_without[mode] = len(versions)
    return False


_SSA = f"{__package__}.ssa"


def default_threads() -> int:
    """Threads used when none are given: numba's setting (``NUMBA_NUM_THREADS``, or
    :func:`numba.set_num_threads`), which is the number of cores unless limited; without
    numba imported (:mod:`.native`), the value numba would start with (:func:`max_threads`;
    ``set_num_threads`` needs numba imported)."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return int(numba.get_num_threads())
    return max_threads()


def max_threads() -> int:
    """The most threads numba allows (``numba.config.NUMBA_NUM_THREADS``): the environment
    variable ``NUMBA_NUM_THREADS``, else the cores this process may run on, computed as
    numba computes it when numba is not imported."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return int(numba.config.NUMBA_NUM_THREADS)
    return _numba_default_threads()


@functools.cache
def _numba_default_threads() -> int:
    """numba's ``NUMBA_NUM_THREADS`` as numba computes it when imported (numba reads it
    once too; asking the system at every call cost a one-trajectory call ~5 µs)."""
    if os.environ.get("NUMBA_NUM_THREADS"):
        return int(os.environ["NUMBA_NUM_THREADS"])
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def load_from_cache(dispatcher, args) -> bool:
    """:func:`stochsyn.engine.jit.load_from_cache` (imported when numba runs a kernel)."""
    from .jit import load_from_cache as load
    return load(dispatcher, args)


def _kernel_folder():
    """The folder of numba's kernel cache, where the native kernels are kept too."""
    return kernel_cache_folder(os.path.dirname(__file__))


def _kernels(mode: str, args):
    """(run, wait): the kernel and :func:`stochsyn.engine.ssa.wait_for_rows` for a batch
    of ``mode`` with the kernel's ``args``.

    A plain network whose kernel numba has not loaded in this process runs the native
    kernel (:mod:`.native`) when its file is there and matches; else numba runs it, and the
    first time in a process, for a plain network, the native file is written if it is
    missing (once per machine, engine version and argument types; it costs numba a
    compilation of two small entries and LLVM a code generation of the kernel:
    benchmarks/RESULTS.md)."""
    if mode == PLAIN and not _numba_holds(PLAIN):
        found = native.plain_kernel(args, _kernel_folder, engine_fingerprint())
        if found is not None:
            kernel, bound = found

            def run_native(*args):
                # The entry checks every array (dtype, dimensions, flags) before it runs a
                # row, and refuses with nothing done: numba runs the call then.
                if not kernel.run(bound):
                    _numba_kernels(mode, args)[0](*args)

            return run_native, kernel.wait_for_rows
    return _numba_kernels(mode, args)


def _numba_kernels(mode: str, args):
    """(run, wait) of numba (:func:`_kernels`)."""
    ssa = sys.modules.get(_SSA)
    if ssa is None:
        from . import ssa
    run_trajectories = ssa.run_trajectories
    if not _numba_holds(mode):
        load_from_cache(run_trajectories, args)     # (else the first call loads it)
        if mode == PLAIN:
            native.save_plain(run_trajectories, ssa.wait_for_rows, args, _kernel_folder(),
                              engine_fingerprint())
    return run_trajectories, _wait_for_rows


def _wait_for_rows(claim, stop_flag, spins):
    """:func:`stochsyn.engine.ssa.wait_for_rows`, loaded as the kernel is (no registries)."""
    wait_for_rows = sys.modules[_SSA].wait_for_rows
    if not wait_for_rows.signatures:
        load_from_cache(wait_for_rows, (claim, stop_flag, spins))
    return wait_for_rows(claim, stop_flag, spins)


def run_batch(net, run_entropy, trajectories, sample_times, t_end, max_events, record_idx,
              counts, firings, ev_time, ev_agent, ev_reaction, ev_from, ev_to, status,
              results, n_threads=None, spike_times=None, post_spike_times=None,
              voltages=None, cont_values=None, hybrid=None, stop_flag=None, poll=None,
              plain=False):
    """Simulate a batch of trajectories, in parallel when ``n_threads > 1``.

    Parameters are those of :func:`stochsyn.engine.ssa.run_trajectories` (without
    ``claim``); every output array has the batch as its first axis.

    Parameters
    ----------
    net : NetworkArrays or PackedNetwork
        The network (``Network.packed``, or its arrays, which are then packed: ~20 µs).
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
        ``results`` with 12 + F columns, F its fluxes, are needed); without it the kernel
        of the exact mode runs.
    stop_flag : (1,) int64 ndarray, optional
        Setting it non-zero (from ``poll`` or another thread) stops the batch: running
        trajectories end with status INTERRUPTED, rows not started keep status
        :data:`NOT_STARTED`. Default: a private flag, set only on a KeyboardInterrupt.
    poll : callable, optional
        Called without arguments about every :data:`POLL_INTERVAL_S` s while the batch
        runs, in the calling thread; an exception from it stops the batch and propagates.
    plain : bool, optional
        Whether the network runs on :func:`stochsyn.engine.ssa.simulate_plain`
        (:func:`stochsyn.engine.ssa.is_plain`; then it has no event records; the runner
        asks ``is_plain`` once per model). The kernel compiled with that loop alone is
        used: the same bits, and under half the cached code to load (0.75 MB instead of
        1.61 MB: ~45 ms less of a cold start's CPU; benchmarks/RESULTS.md, issue 18).
        Default False: the general kernel, which takes that loop too for such a network.
    """
    n = len(trajectories)
    status[:] = NOT_STARTED     # rows finish by writing their status: progress is >= 0
    if stop_flag is None:
        stop_flag = np.zeros(1, dtype=np.int64)

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
            or results.shape[1] < 12 + len(hybrid.fx_rx):
        n_cont = len(hybrid.cont_idx)
        raise ValueError(f"the network has {n_cont} continuous species: pass cont_values, "
                         f"a float64 array of shape {(n, len(sample_times), n_cont)}, and "
                         f"results with 12 + {len(hybrid.fx_rx)} columns (one per flux)")
    n_threads = default_threads() if n_threads is None else int(n_threads)
    n_threads = max(1, min(n_threads, n))
    rows_per_claim = n if n_threads == 1 else max(1, n // (n_threads * CLAIMS_PER_THREAD))
    # The hybrid mode's trajectories all go to the workers: its work between events (ODE
    # steps) is not counted by the budget, so a Ctrl-C or max_wall could wait for it.
    run_inline = hybrid is None or n == 0
    inline = INLINE_WORK if n_threads == 1 else PILOT_WORK
    if not isinstance(net, PackedNetwork):
        net = pack(net)              # (a Network carries its packed form: Network.packed)
    mode = kernel_mode(hybrid, plain)
    # A plain batch whose work the last batch of this network measured needs no pilot:
    # if it is worth more than a pilot and a wake-up, and short enough for the calling
    # thread to share, the workers are woken first and the calling thread joins them.
    memo = mode == PLAIN and n >= MEMO_ROWS
    per_row = (_work_per_row(net, t_end, sample_times, max_events)
               if memo and run_inline and n_threads > 1 else None)
    eager = (per_row is not None
             and PILOT_WORK + INLINE_ROW_WORK < n * per_row <= INLINE_WORK * n_threads)
    claim = new_claim(n, rows_per_claim, n_threads,
                      inline if run_inline and not eager else 0, INLINE_ROW_WORK)
    args = (*net, run_entropy, trajectories, claim, sample_times, spike_times,
            post_spike_times, t_end, max_events, record_idx, counts, voltages, firings,
            None if mode == PLAIN else ev_time, ev_agent, ev_reaction, ev_from, ev_to,
            status, results, stop_flag, cont_values, hybrid)
    run_trajectories, wait_for_rows = _kernels(mode, args)
    join = eager
    if run_inline and not eager:
        run_trajectories(*args)     # in this thread, up to ``inline`` (no rows: loads it)
        rows_done, work_done = int(claim[CLAIM_NEXT]), inline
        if (n_threads > 1 and 0 < rows_done < n
                and (n - rows_done) * inline <= INLINE_ROW_WORK * rows_done):
            # The pilot's rest is worth less than a worker's wake-up: finished here.
            claim[CLAIM_BUDGET] = INLINE_ROW_WORK
            run_trajectories(*args)
            rows_done, work_done = int(claim[CLAIM_NEXT]), inline + INLINE_ROW_WORK
        claim[CLAIM_BUDGET] = 0
        # A short batch (its rest worth at most INLINE_WORK per thread, at the work per
        # row just measured) is shared with the calling thread, which would otherwise
        # wait idle for n_threads workers: one thread fewer to wake (~0.05-0.1 ms), and
        # a Ctrl-C still waits for no more than INLINE_WORK.
        join = (n_threads > 1 and rows_done > 0
                and (n - rows_done) * work_done <= INLINE_WORK * n_threads * rows_done)
    if claim[CLAIM_NEXT] >= n:  # all done here: no worker woken
        if memo:
            _remember_work(net, t_end, sample_times, max_events, results, stop_flag)
        if poll is not None:
            poll()
        return
    futures = []
    try:
        for worker in _worker_pool(n_threads)[:n_threads - join]:
            futures.append(worker.submit(run_trajectories, args))
        if join:
            run_trajectories(*args)     # rows claimed alongside the workers, no budget
            if wait_for_rows(claim, stop_flag, JOIN_SPINS) and not stop_flag[0]:
                # Every row is written: the workers only return now, claiming nothing;
                # their futures are not waited for (a wake-up of this thread saved).
                if memo:
                    _remember_work(net, t_end, sample_times, max_events, results,
                                   stop_flag)
                if poll is not None:
                    poll()
                return
        while True:
            _, pending = wait(futures, timeout=POLL_INTERVAL_S)
            if poll is not None:
                poll()
            if not pending:
                break
    except BaseException:
        stop_flag[0] = 1         # every trajectory in flight returns within ~0.1 ms
        wait(futures)
        raise
    for future in futures:
        future.result()          # re-raises an error from a worker
    if memo:
        _remember_work(net, t_end, sample_times, max_events, results, stop_flag)
