"""The per-call and per-trajectory machinery: the compiled network kept per Model, the
network packed for the kernels, work arrays reused across trajectories, rows claimed by
threads, pandas and pyarrow imported only when tables are made."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine import layout
from stochsyn.network import pack
from stochsyn.engine.jit import fetch_add
from stochsyn.engine.ssa import run_trajectories
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

