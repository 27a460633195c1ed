"""The per-call and per-trajectory machinery: the compiled network kept per Model, the
network packed for the kernels, work arrays reused across trajectories, rows claimed by
threads, pandas and pyarrow imported only when tables are made."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numba
import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine import layout
from stochsyn.network import pack
from stochsyn.engine.jit import fetch_add
from stochsyn.engine.ssa import (CLAIM_BUDGET, CLAIM_FINISHED, CLAIM_NEXT, MAX_EVENTS,
                                  new_claim, run_trajectories)
from stochsyn.ensemble import apply_protocol

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "reactions" / "examples"

BIRTH_DEATH = {
    "model": {"name": "birth_death"},
    "parameters": {"k_in": "5 /s", "k_out": "0.5 /s"},
    "species": {"X": 3},
    "reactions": [{"name": "in", "equation": "-> X", "rate": "k_in"},
                  {"name": "out", "equation": "X ->", "rate": "k_out"}],
}


def test_a_model_is_compiled_once():
    model = ss.Model.from_dict(BIRTH_DEATH)
    assert ss.compile(model) is ss.compile(model)
    assert ss.compile(ss.Model.from_dict(BIRTH_DEATH)) is not ss.compile(model)


def test_new_parameters_get_their_own_network_and_no_new_kernel():
    model = ss.Model.from_dict(BIRTH_DEATH)
    ss.simulate(model, 1.0, 2, seed=1, n_threads=1)
    kernels = len(run_trajectories.signatures)
    faster = model.with_parameters(k_out="5 /s")
    np.testing.assert_array_equal(ss.compile(faster).arrays.rate, [5.0, 5.0])
    np.testing.assert_array_equal(ss.compile(model).arrays.rate, [5.0, 0.5])
    ens = ss.simulate(faster, 20.0, 400, seed=2, n_threads=1)
    assert abs(ens.counts[:, -1, 0].mean() - 1.0) < 4 * np.sqrt(1.0 / 400)  # Poisson(1)
    assert len(run_trajectories.signatures) == kernels


def test_the_packed_network_holds_every_array():
    arrays = ss.compile(ss.load_model(EXAMPLES / "ampar_network.toml")).arrays
    packed = pack(arrays)
    assert packed.ints.dtype == np.int64 and packed.reals.dtype == np.float64
    assert layout.NetworkView._fields == type(arrays)._fields
    for k, (name, kind) in enumerate(layout.FIELDS):     # the kinds unpack reads them by
        value = getattr(arrays, name)
        assert value.dtype == (np.int64 if kind == "i" else np.float64), name
        buffer = packed.ints if kind == "i" else packed.reals
        start, stop = packed.bounds[k]
        np.testing.assert_array_equal(buffer[start:stop], value, err_msg=name)


def test_packing_refuses_arrays_of_another_kind():
    arrays = ss.compile(ss.Model.from_dict(BIRTH_DEATH)).arrays
    with pytest.raises(TypeError, match="rate_kind"):
        pack(arrays._replace(rate_kind=arrays.rate_kind.astype(np.int32)))
    with pytest.raises(TypeError, match="rate"):
        pack(arrays._replace(rate=arrays.rate.reshape(1, -1)))


def test_a_protocol_of_spikes_alone_keeps_the_model():
    model = ss.load_model(EXAMPLES / "spine_electrophysiology.toml")
    spikes = ss.protocols.hfs(trains=1, rate_hz=100, pulses=5, depolarisation_mv=0.0)
    assert apply_protocol(model, spikes) is model
    with_depolarisation = ss.protocols.hfs(trains=1, rate_hz=100, pulses=5,
                                           depolarisation_mv=10.0)
    assert apply_protocol(model, with_depolarisation) is not model


def test_work_arrays_are_reset_between_trajectories_of_the_time_dependent_path():
    """Release sites, pulses, the membrane and the thinning bound live in work arrays that
    the next trajectory of a batch reuses: a batch gives the same bits as one trajectory
    per call."""
    model = ss.load_model(EXAMPLES / "spine_electrophysiology.toml")
    protocol = ss.protocols.hfs(trains=1, rate_hz=100, pulses=4)
    kw = dict(seed=7, protocol=protocol, sample_every=0.002, n_threads=1)
    together = ss.simulate(model, 0.05, 3, **kw)
    apart = [ss.simulate(model, 0.05, 1, first_trajectory=i, **kw) for i in range(3)]
    assert together.n_events.min() > 0 and together.n_releases.sum() > 0
    for i, one in enumerate(apart):
        np.testing.assert_array_equal(together.counts[i], one.counts[0])
        np.testing.assert_array_equal(together.firings[i], one.firings[0])
        np.testing.assert_array_equal(together.voltage_mv[i], one.voltage_mv[0])
        assert together.n_releases[i] == one.n_releases[0]


@numba.njit
def _claim_all(counter, step, n):
    taken = np.zeros(n, dtype=np.int64)
    while True:
        first = fetch_add(counter, 0, step)
        if first >= n:
            return taken
        for b in range(first, min(first + step, n)):
            taken[b] += 1


def test_fetch_add_returns_the_old_value_and_claims_every_row_once():
    counter = np.zeros(1, dtype=np.int64)
    np.testing.assert_array_equal(_claim_all(counter, 3, 10), np.ones(10))
    assert counter[0] == 15       # four claims of 3 rows, then one that finds none left


def test_simulate_imports_neither_pandas_nor_pyarrow():
    script = textwrap.dedent(f"""
        import sys
        import stochsyn as ss
        model = ss.load_model({str(EXAMPLES / 'dimerisation.toml')!r})
        ens = ss.simulate(model, 5.0, 3, seed=1, n_threads=1)
        assert ens.counts.shape == (3, 101, 2)
        loaded = [m for m in ("pandas", "pyarrow") if m in sys.modules]
        assert not loaded, loaded
        frame = ens.timeseries()             # a table: pandas now
        assert "pandas" in sys.modules and len(frame) > 0
    """)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)


def test_stochsyn_run_writes_and_summarises_a_dataset_without_pandas(tmp_path):
    """pyarrow's ``pa.array``, ``to_numpy`` and ``fill_null`` import pandas, and numba's
    registries (``numba.np.arraymath``, whose BLAS check imports scipy.linalg) are set up
    before numba looks in its cache (each 0.2–0.8 s of a cold start): the command loads
    the kernel, writes, reads back and summarises the dataset without any of them."""
    script = textwrap.dedent(f"""
        import sys
        from stochsyn.cli import main
        assert main(["run", {str(EXAMPLES / 'dimerisation.toml')!r}, "--t-end", "5",
                     "--trajectories", "3", "--seed", "1", "--threads", "1",
                     "--no-progress", "--out", {str(tmp_path / 'out')!r}]) == 0
        assert "pyarrow" in sys.modules and "pandas" not in sys.modules
        assert "scipy.linalg" not in sys.modules      # (engine.jit.load_from_cache)
        assert "numba.np.arraymath" not in sys.modules
        # nor numpy.ma (numba's typeof of an array) nor pyarrow.compute (Table.cast)
        assert "numpy.ma" not in sys.modules and "pyarrow.compute" not in sys.modules
    """)
    # The kernel in numba's cache first (this test may run first, or just after an edit
    # of the engine): a compilation in the subprocess would set numba's registries up.
    ss.simulate(ss.load_model(EXAMPLES / "dimerisation.toml"), 5.0, 3, seed=1, n_threads=1)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "P_total  3" in done.stdout        # the summary table was printed
    ens = ss.read(tmp_path / "out")
    again = ss.simulate(ss.load_model(EXAMPLES / "dimerisation.toml"), 5.0, 3, seed=1,
                        n_threads=1)
    np.testing.assert_array_equal(ens.counts, again.counts)
    np.testing.assert_array_equal(ens.firings, again.firings)
    assert list(ens.summary()["status"]) == ["ok"] * 3


def test_a_kernel_loaded_from_the_cache_needs_no_compiler_and_gives_the_same_bits(tmp_path):
    """engine.jit.load_from_cache: in a fresh process the kernel comes from numba's cache
    without numba's typing and lowering registries (numba.np.arraymath is the first of
    them; 0.2-0.3 s of CPU); its results are those of the kernel numba loads its own way;
    a function the cache does not hold yet is compiled (and then cached) as usual."""
    # The kernel in numba's cache first: on an empty cache (a fresh clone, or just after an
    # engine edit) the first subprocess would compile it, which sets numba's registries up
    ss.simulate(ss.load_model(EXAMPLES / "ampar_network.toml"), 2.0, 6, seed=3, n_threads=2,
                record_events=True)
    module = tmp_path / "tiny_kernel.py"
    module.write_text("import numba\n\n@numba.njit(cache=True)\ndef twice(x):\n"
                      "    return 2.0 * x\n")
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import stochsyn as ss
        import stochsyn.engine.batch as batch
        if sys.argv[1] == "numba":       # numba's own load, registries and all
            batch.load_from_cache = lambda dispatcher, args: False
        model = ss.load_model({str(EXAMPLES / 'ampar_network.toml')!r})
        ens = ss.simulate(model, 2.0, 6, seed=3, n_threads=2, record_events=True)
        print(hashlib.sha256(ens.counts.tobytes() + ens.firings.tobytes()).hexdigest())
        print("numba.np.arraymath" in sys.modules)
        from stochsyn.engine.jit import load_from_cache
        import tiny_kernel
        print(load_from_cache(tiny_kernel.twice, (1.5,)), tiny_kernel.twice(1.5),
              "numba.np.arraymath" in sys.modules)
    """)

    def run(how):
        done = subprocess.run([sys.executable, "-c", script, how], cwd=REPO,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout.split("\n")

    first = run("cache")        # the kernel loaded; tiny_kernel compiled (a miss)
    assert first[1:3] == ["False", "True 3.0 True"]   # a compilation sets numba up
    cached = run("cache")
    assert cached[1:3] == ["False", "True 3.0 False"]     # both from the cache
    own = run("numba")
    assert own[1] == "True" and own[0] == cached[0] == first[0]


def test_arguments_are_typed_as_numba_types_them_without_numpy_ma():
    """engine.jit types plain arrays (in tuples and named tuples too) itself, to spare
    numba's check for masked arrays, which imports numpy.ma: the same types as numba's
    typeof, and anything else is left to numba."""
    from collections import namedtuple

    from numba.core.typing.typeof import Purpose, typeof

    from stochsyn.engine.jit import _plain_type
    pair = namedtuple("pair", "a b")
    a = np.zeros((3, 4))
    frozen = np.zeros(5)
    frozen.flags.writeable = False
    values = [a, a.T, a[:, ::2], np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros(()),
              frozen, np.zeros(3, np.uint32), np.zeros(3, np.bool_),
              np.zeros(2, np.complex128), np.zeros(7, np.float32)[::3], (a, frozen),
              pair(a, (frozen, a.T)), network_packed()]
    for value in values:
        assert _plain_type(value) == typeof(value, Purpose.argument)
    for other in (np.ma.zeros(3), (a, 1), 1.5, 2, None, ()):
        assert _plain_type(other) is None


def network_packed():
    return ss.compile(ss.Model.from_dict(BIRTH_DEATH)).packed


def test_a_kept_network_does_not_keep_its_model_alive():
    import gc
    import weakref
    model = ss.Model.from_dict(BIRTH_DEATH)
    ss.simulate(model, 1.0, 1, seed=1, n_threads=1)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_a_pickled_model_leaves_its_network_behind():
    """A Model sent to an executor's worker carries its fields, not the Network compiled
    here: the worker compiles its own (once per model, ensemble._network_of)."""
    import pickle
    model = ss.Model.from_dict(BIRTH_DEATH)
    before = len(pickle.dumps(model))
    ss.compile(model)
    copy = pickle.loads(pickle.dumps(model))
    assert len(pickle.dumps(model)) == before
    assert copy.hash == model.hash and "_stochsyn_network" not in vars(copy)
    np.testing.assert_array_equal(ss.compile(copy).packed.ints, ss.compile(model).packed.ints)


def _kernel_args(model, n, claim, stop_flag, t_end=20.0):
    """run_trajectories' arguments for ``n`` trajectories of ``model`` (seed 5), and the
    outputs (counts, firings, status, results)."""
    from stochsyn.engine.rng import entropy_words
    network = ss.compile(model)
    times = np.linspace(0.0, t_end, 11)
    counts = np.zeros((n, len(times), network.n_species), dtype=np.int64)
    firings = np.zeros((n, network.n_reactions), dtype=np.int64)
    status = np.full(n, -1, dtype=np.int64)
    results = np.zeros((n, 4))
    buffers = tuple(np.empty((n, 0), dtype=dtype) for dtype in (np.float64,) + (np.int64,) * 4)
    args = (*network.packed, entropy_words(5), np.arange(n, dtype=np.int64), claim, times,
            np.zeros(0), np.zeros(0), t_end, 10**9, np.arange(network.n_species),
            counts, np.zeros((n, 0)), firings, *buffers, status, results, stop_flag)
    return args, (counts, firings, status, results)


def test_a_call_with_a_work_budget_gives_the_rest_back_unchanged():
    """run_batch's calling thread runs a batch itself up to a budget: the call stops
    before the budget, a trajectory cut by it is given back with its status as it was,
    and the rows finished then by another call are the bits of a call without budget."""
    model = ss.Model.from_dict(BIRTH_DEATH)       # ~100 events and 11 samples a trajectory
    n = 8
    whole_args, whole = _kernel_args(model, n, new_claim(n, n),
                                     np.zeros(1, np.int64))
    run_trajectories(*whole_args)
    assert (whole[2] == 0).all() and whole[3][:, 0].min() > 50

    claim = new_claim(n, 1, budget=300, row_budget=10**6)
    args, parts = _kernel_args(model, n, claim, np.zeros(1, np.int64))
    run_trajectories(*args)
    done = int(claim[CLAIM_NEXT])
    assert claim[CLAIM_FINISHED] == done
    spent = whole[3][:done, 0].sum() + 11 * done
    assert 1 <= done < n and spent < 300 <= spent + whole[3][done, 0] + 11
    assert (parts[2][:done] == 0).all() and (parts[2][done:] == -1).all()
    claim[CLAIM_BUDGET] = 0                      # the rest, by a call without budget
    run_trajectories(*args)
    assert claim[CLAIM_NEXT] >= n and claim[CLAIM_FINISHED] == n
    for mine, reference in zip(parts, whole):
        np.testing.assert_array_equal(mine, reference)

    shortest = int(whole[3][:, 0].min())         # a row budget below every trajectory
    claim = new_claim(n, 1, budget=10**6, row_budget=shortest - 1)
    args, parts = _kernel_args(model, n, claim, np.zeros(1, np.int64))
    run_trajectories(*args)
    assert claim[CLAIM_NEXT] == 0 and claim[CLAIM_FINISHED] == 0 and (parts[2] == -1).all()


def test_a_stop_leaves_unclaimed_rows_not_started():
    model = ss.Model.from_dict(BIRTH_DEATH)
    args, (counts, firings, status, results) = _kernel_args(
        model, 5, new_claim(5, 1), np.ones(1, np.int64))
    run_trajectories(*args)
    assert (status == -1).all() and (results == 0).all()


def test_guided_claims_by_three_threads_give_the_bits_of_one_call():
    """On a shared batch the claims shrink towards its end (guided scheduling): three
    threads claiming rows of one batch at once finish every row once, count them, and
    give each trajectory the bits of a single call that claims them all at once."""
    model = ss.Model.from_dict(BIRTH_DEATH)
    n = 61
    whole_args, whole = _kernel_args(model, n, new_claim(n, n), np.zeros(1, np.int64))
    run_trajectories(*whole_args)
    for rows_per_claim in (1, 4, 64):
        claim = new_claim(n, rows_per_claim, n_threads=3)
        args, parts = _kernel_args(model, n, claim, np.zeros(1, np.int64))
        threads = [threading.Thread(target=run_trajectories, args=args) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert claim[CLAIM_NEXT] >= n and claim[CLAIM_FINISHED] == n
        for mine, reference in zip(parts, whole):
            np.testing.assert_array_equal(mine, reference)


def test_waiting_for_rows_ends_when_all_are_finished_or_at_a_stop():
    """The calling thread's wait for a worker's last rows (wait_for_rows): true once the
    count of finished rows reaches the batch's end, false after its spins or at a stop."""
    from stochsyn.engine.ssa import wait_for_rows
    claim = new_claim(3, 1)
    stop_flag = np.zeros(1, np.int64)
    claim[CLAIM_FINISHED] = 2
    assert not wait_for_rows(claim, stop_flag, 100)
    stop_flag[0] = 1
    assert not wait_for_rows(claim, stop_flag, 10**12)      # returns at once: stopped
    claim[CLAIM_FINISHED] = 3
    assert wait_for_rows(claim, stop_flag, 0)
    stop_flag[0] = 0
    assert wait_for_rows(claim, stop_flag, 1)


def test_short_trajectories_wake_no_worker(monkeypatch):
    """run_batch's calling thread runs short trajectories itself (a worker's wake-up costs
    as much as a small trajectory): with one thread up to INLINE_WORK in all, with more up
    to INLINE_ROW_WORK (then the threads share the rest); a trajectory longer than
    INLINE_ROW_WORK goes to a worker. The bits are the same wherever a trajectory ran."""
    import stochsyn.engine.batch as batch_module
    woken = []
    original = batch_module._worker_pool
    monkeypatch.setattr(batch_module, "_worker_pool",
                        lambda n: woken.append(n) or original(n))
    model = ss.Model.from_dict(BIRTH_DEATH)       # ~10 events/s, 101 samples
    here = ss.simulate(model, 20.0, 100, seed=5, n_threads=1)
    work = here.n_events.sum() + here.counts.shape[0] * here.counts.shape[1]
    assert not woken and batch_module.INLINE_ROW_WORK < work < batch_module.INLINE_WORK
    shared = ss.simulate(model, 20.0, 100, seed=5, n_threads=2)
    assert woken == [2]
    np.testing.assert_array_equal(here.counts, shared.counts)
    long = ss.simulate(model, 2000.0, 2, seed=5, n_threads=1,       # cut here, redone there
                       record_events=True)
    assert woken == [2, 1] and long.n_events.min() > batch_module.INLINE_ROW_WORK
    monkeypatch.setattr(batch_module, "INLINE_WORK", 0)             # no budget: all here
    uncut = ss.simulate(model, 2000.0, 2, seed=5, n_threads=1, record_events=True)
    assert woken == [2, 1]
    np.testing.assert_array_equal(long.counts, uncut.counts)
    np.testing.assert_array_equal(long.firings, uncut.firings)
    np.testing.assert_array_equal(long.status, uncut.status)


def test_with_two_threads_a_pilot_measures_and_a_rest_smaller_than_a_wake_up_stays(
        monkeypatch):
    """With several threads the calling thread runs a pilot of PILOT_WORK alone, finishes
    a rest worth less than INLINE_ROW_WORK alone too, and shares a larger one; the bits
    are those of one thread."""
    import stochsyn.engine.batch as batch_module
    woken = []
    original = batch_module._worker_pool
    monkeypatch.setattr(batch_module, "_worker_pool",
                        lambda n: woken.append(n) or original(n))
    model = ss.load_model(EXAMPLES / "dimerisation.toml")       # ~65 events, 51 samples
    times = np.linspace(0.0, 50.0, 51)
    for n, expected in ((30, []), (400, [2])):
        woken.clear()
        one = ss.simulate(model, 50.0, n, seed=4, sample_times=times, n_threads=1)
        two = ss.simulate(model, 50.0, n, seed=4, sample_times=times, n_threads=2)
        work = one.n_events.sum() + n * len(times)
        assert (batch_module.PILOT_WORK < work < batch_module.PILOT_WORK
                + batch_module.INLINE_ROW_WORK) == (n == 30)
        assert woken == expected, n
        np.testing.assert_array_equal(one.counts, two.counts)
        np.testing.assert_array_equal(one.firings, two.firings)


def test_a_batch_whose_work_the_last_batch_measured_needs_no_pilot(monkeypatch):
    """A plain batch records its work per row; the next batch of the same network,
    t_end, sample times and max_events wakes the workers first and the calling thread
    joins them, without the pilot (one kernel call in the calling thread instead of
    two); another t_end runs the pilot again. The bits are those of one thread."""
    import threading
    import stochsyn.engine.batch as batch_module
    calls = []
    original = batch_module._kernels

    def counting(mode, args):
        run, wait = original(mode, args)

        def run_counted(*a):
            calls.append(threading.current_thread() is threading.main_thread())
            return run(*a)
        return run_counted, wait

    monkeypatch.setattr(batch_module, "_kernels", counting)
    model = ss.load_model(EXAMPLES / "dimerisation.toml")       # ~65 events, 51 samples
    times = np.linspace(0.0, 50.0, 51)
    one = ss.simulate(model, 50.0, 400, seed=4, sample_times=times, n_threads=1)
    calls.clear()
    known = ss.simulate(model, 50.0, 400, seed=4, sample_times=times, n_threads=2)
    assert calls.count(True) == 1 and calls.count(False) == 1, calls
    np.testing.assert_array_equal(one.counts, known.counts)
    np.testing.assert_array_equal(one.firings, known.firings)
    calls.clear()
    other = ss.simulate(model, 40.0, 400, seed=4, sample_times=times[:41], n_threads=2)
    assert calls.count(True) == 2 and calls.count(False) == 1, calls      # a pilot again
    np.testing.assert_array_equal(other.counts, one.counts[:, :41])


def test_event_records_of_a_trajectory_cut_in_the_calling_thread_are_its_full_runs(
        monkeypatch):
    """A trajectory cut at the calling thread's row budget and redone by a worker keeps
    the event records of its full run, once each (every event of this model is logged)."""
    import stochsyn.engine.batch as batch_module
    model = ss.load_model(EXAMPLES / "ampar_exchange.toml")      # ~4.4 events/s
    cut = ss.simulate(model, 2000.0, 2, seed=5, n_threads=1, record_events=True)
    assert cut.n_events.min() > batch_module.INLINE_ROW_WORK
    monkeypatch.setattr(batch_module, "INLINE_WORK", 0)             # no budget: all here
    uncut = ss.simulate(model, 2000.0, 2, seed=5, n_threads=1, record_events=True)
    events = cut.events()
    assert len(events) == cut.n_events.sum()
    assert events.equals(uncut.events())
    np.testing.assert_array_equal(cut.counts, uncut.counts)


def test_a_trajectory_at_max_events_keeps_its_status_when_cut_in_the_calling_thread():
    """A trajectory that really reaches max_events ends MAX_EVENTS with exactly that many
    events, whether max_events is below the calling thread's row budget (the status is
    real there) or above it (the row is cut there, then run in full by a worker)."""
    from stochsyn.engine.batch import INLINE_ROW_WORK
    model = ss.Model.from_dict(BIRTH_DEATH)
    for max_events in (INLINE_ROW_WORK // 2, INLINE_ROW_WORK, 3 * INLINE_ROW_WORK):
        for n_threads in (1, 2):
            ens = ss.simulate(model, 10**5, 3, seed=5, n_threads=n_threads,
                              max_events=max_events, on_stop="ignore")
            assert (ens.status == MAX_EVENTS).all(), (max_events, ens.status)
            assert (ens.n_events == max_events).all(), (max_events, ens.n_events)


def test_hybrid_trajectories_are_not_run_in_the_calling_thread(monkeypatch):
    """The hybrid mode's work between events (ODE steps) is not in the calling thread's
    budget, so none of it runs there: a Ctrl-C is taken while it runs."""
    import stochsyn.engine.ssa as ssa_module      # (run_batch takes the kernel from it)
    calls = []
    original = ssa_module.run_trajectories
    monkeypatch.setattr(ssa_module, "run_trajectories",
                        lambda *args: calls.append((threading.current_thread(),
                                                    len(args[4]))) or original(*args))
    from tests.engine.test_reproducibility import HYBRID_MODEL
    model = ss.Model.from_dict(HYBRID_MODEL)
    ss.simulate(model, 1.0, 2, seed=5, n_threads=1)
    with_rows = [thread for thread, rows in calls if rows]     # (no rows: loading it)
    assert with_rows and threading.main_thread() not in with_rows


@pytest.mark.parametrize("path", ["dimerisation.toml", "birth_death.toml",
                                  "ampar_exchange.toml", "camkii_ring.toml"])
def test_the_runners_plain_test_is_the_kernels_own(path):
    from stochsyn.engine.ssa import is_plain
    from stochsyn.ensemble import _plain
    network = ss.compile(ss.load_model(EXAMPLES / path))
    assert _plain(network) == is_plain(network.arrays)       # the compiled version
    assert _plain(network) == (path in ("dimerisation.toml", "birth_death.toml"))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_the_plain_kernel_gives_the_general_kernels_bits(n_threads):
    """A plain network runs on a kernel compiled with the plain loop alone (``ev_time``
    None, batch.run_batch(plain=True)); the general kernel takes the same loop for it, so
    both give the same bits, and each mode is a kernel of its own."""
    from stochsyn.engine import batch
    from stochsyn.engine.rng import entropy_words
    from stochsyn.ensemble import _plain
    network = ss.compile(ss.load_model(EXAMPLES / "dimerisation.toml"))
    assert _plain(network)
    times = np.linspace(0.0, 5.0, 11)
    n = 40
    outputs = {}
    for plain in (False, True):
        counts = np.zeros((n, len(times), network.n_species), dtype=np.int64)
        firings = np.zeros((n, network.n_reactions), dtype=np.int64)
        status = np.zeros(n, dtype=np.int64)
        results = np.zeros((n, 9), dtype=np.float64)
        empty = np.zeros((n, 0))
        events = (empty, empty.astype(np.int64), empty.astype(np.int64),
                  empty.astype(np.int64), empty.astype(np.int64))
        batch.run_batch(network.packed, entropy_words(7), np.arange(n, dtype=np.int64), times,
                        5.0, 10 ** 7, network.every_species, counts, firings, *events, status,
                        results, n_threads=n_threads, plain=plain)
        outputs[plain] = (counts, firings, status, results)
    for general, plain in zip(outputs[False], outputs[True]):
        np.testing.assert_array_equal(general, plain)
    assert outputs[True][0][:, -1].sum() > 0
    modes = {batch._mode_of(signature) for signature in run_trajectories.signatures}
    # (the plain mode's kernel may be numba's or the native one: engine.native)
    assert batch.EXACT in modes and batch.mode_loaded(batch.PLAIN)


def test_a_second_load_types_through_numba_not_through_the_first_wrapper():
    """load_from_cache installs its typing (without numpy.ma) on the dispatcher; a later
    load for other types must wrap numba's own method again, not the installed wrapper,
    or every load would add one more layer to every later call's typing."""
    import numba

    from stochsyn.engine.jit import _typeof_without_numpy_ma

    @numba.njit
    def identity(x):
        return x

    identity.typeof_pyval = _typeof_without_numpy_ma(identity)
    again = _typeof_without_numpy_ma(identity)
    cells = dict(zip(again.__code__.co_freevars,
                     (cell.cell_contents for cell in again.__closure__)))
    assert getattr(cells["numba_typeof"], "__func__", None) is type(identity).typeof_pyval
    assert again(np.zeros(3)) == numba.typeof(np.zeros(3))
