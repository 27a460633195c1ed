"""Reproducibility: a trajectory is a function of (model, seed, global index) only.

Trajectory i draws from ``SeedSequence(seed, spawn_key=(i,))`` (see ``stochsyn.simulate``),
so the thread count, the batch size and sharding a run over jobs must not change a single
bit of ``counts``, ``firings``, ``n_events``, ``status``, ``t_reached`` or the event
records. The model below mixes plain species, free agents that are created and destroyed,
and rings with a neighbour rule, and every agent rule is logged, so the event-record path
(including the re-run of trajectories whose records overflow the default buffer of 256) is
covered too.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest

import stochsyn as ss
from stochsyn.results import Events

SEED = 20261122
EVENT_FIELDS = ("trajectory", "time", "agent", "reaction", "state_before", "state_after")

REPRO_MODEL = {
    "model": {"name": "repro_agents"},
    "species": {"K": 5},
    "agents": {
        "R": {"sites": {"loc": ["in", "out"]},
              "initial": [{"count": 10, "loc": "in"}, {"count": 5, "loc": "out"}]},
        "C": {"sites": {"t": ["u", "p"]}, "ring_size": 6, "initial": [{"count": 12}]},
    },
    "reactions": [
        {"name": "exo", "equation": "R(loc=in) -> R(loc=out)", "rate": 0.5, "log": True},
        {"name": "endo", "equation": "R(loc=out) -> R(loc=in)", "rate": 0.3, "log": True},
        {"name": "make", "equation": "-> R(loc=in)", "rate": 0.8, "log": True},
        {"name": "deg", "equation": "R(loc=out) ->", "rate": 0.05, "log": True},
        {"name": "basal", "equation": "C(t=u) + K -> C(t=p) + K", "rate": 0.02, "log": True},
        {"name": "auto", "equation": "C(t=u) -> C(t=p)", "neighbour": "C(t=p)", "rate": 2.0,
         "log": True},
        {"name": "off", "equation": "C(t=p) -> C(t=u)", "rate": 0.7, "log": True},
        {"name": "kflux", "equation": "K <->", "rate": [0.1, 0.5]},
    ],
}
T_END = 15.0
N = 20
DEFAULT_EVENT_BUFFER = 256  # stochsyn.ensemble._DEFAULT_EVENT_CAPACITY

IMMIGRATION = {
    "model": {"name": "agent_immigration"},
    "agents": {"A": {"sites": {"s": ["x"]}, "initial": [{"count": 0}]}},
    "reactions": [{"name": "arrive", "equation": "-> A(s=x)", "rate": 1.0, "log": True}],
}


@pytest.fixture(scope="module")
def model():
    return ss.Model.from_dict(REPRO_MODEL)


def run(model, n=N, seed=SEED, **kw):
    return ss.simulate(model, T_END, n, seed=seed, sample_every=0.5, record_events=True,
                       **kw)


@pytest.fixture(scope="module")
def reference(model):
    return run(model)


def assert_same_run(a: ss.Ensemble, b: ss.Ensemble) -> None:
    np.testing.assert_array_equal(a.trajectories, b.trajectories)
    np.testing.assert_array_equal(a.times, b.times)
    for name in ("counts", "firings", "n_events", "status", "t_reached"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert len(a.event_records) == len(b.event_records)
    for name in EVENT_FIELDS:
        np.testing.assert_array_equal(getattr(a.event_records, name),
                                      getattr(b.event_records, name), err_msg=name)


def test_reference_run_is_meaningful(reference):
    """The comparisons below cover real dynamics, both sides of the event buffer, and
    records that are grouped by trajectory and in time order."""
    assert np.all(reference.status == 0)
    ev = reference.event_records
    per_traj = np.bincount(ev.trajectory, minlength=N)
    assert np.any(per_traj <= DEFAULT_EVENT_BUFFER) and np.any(per_traj > DEFAULT_EVENT_BUFFER)
    assert np.all(np.diff(ev.trajectory) >= 0)
    for i in range(N):
        assert np.all(np.diff(ev.time[ev.trajectory == i]) >= 0)
    # every logged reaction fired; K's flux is unlogged, so records < events
    logged = reference.firings[:, :7].sum(axis=1)
    np.testing.assert_array_equal(per_traj, logged)
    assert np.all(reference.n_events > per_traj)
    # creation gives ids beyond the initial 15 receptors
    r_events = ev.state_after == reference.species.index("R(loc=in)")
    assert ev.agent[r_events].max() >= 15


def test_same_seed_twice_is_identical(model, reference):
    assert_same_run(reference, run(model))
    pd.testing.assert_frame_equal(reference.events(), run(model).events())


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_thread_count_does_not_matter(model, reference):
    before = numba.get_num_threads()
    one = run(model, n_threads=1)
    two = run(model, n_threads=2)
    assert numba.get_num_threads() == before  # simulate restores the setting
    assert_same_run(one, two)
    assert_same_run(one, reference)


@pytest.mark.parametrize("batch_size", [1, 7, N])
def test_batch_size_does_not_matter(model, reference, batch_size):
    assert_same_run(run(model, batch_size=batch_size), reference)


def test_shards_concatenate_to_the_full_run(model, reference):
    first = run(model, n=10, first_trajectory=0)
    second = run(model, n=10, first_trajectory=10, batch_size=3)
    np.testing.assert_array_equal(second.trajectories, np.arange(10, 20))
    assert set(np.unique(second.event_records.trajectory)) == set(range(10, 20))
    joined = ss.Ensemble(
        times=first.times, species=first.species,
        counts=np.concatenate([first.counts, second.counts]),
        trajectories=np.concatenate([first.trajectories, second.trajectories]),
        status=np.concatenate([first.status, second.status]),
        n_events=np.concatenate([first.n_events, second.n_events]),
        t_reached=np.concatenate([first.t_reached, second.t_reached]),
        firings=np.concatenate([first.firings, second.firings]),
        reactions=first.reactions, observables=first.observables,
        agent_types=first.agent_types,
        event_records=Events.concatenate(
            [first.event_records, second.event_records]))
    assert_same_run(joined, reference)


def test_a_shard_alone_is_the_same_bits(model, reference):
    """Trajectory 13 simulated on its own equals trajectory 13 of the full run."""
    one = run(model, n=1, first_trajectory=13)
    assert one.trajectories.tolist() == [13]
    np.testing.assert_array_equal(one.counts[0], reference.counts[13])
    np.testing.assert_array_equal(one.firings[0], reference.firings[13])
    mine = reference.event_records.trajectory == 13
    for name in EVENT_FIELDS:
        np.testing.assert_array_equal(getattr(one.event_records, name),
                                      getattr(reference.event_records, name)[mine])


def test_different_seeds_differ(model, reference):
    other = run(model, seed=SEED + 1)
    # each of the 20 trajectories differs from its counterpart in the event times
    for i in range(N):
        a = reference.event_records.time[reference.event_records.trajectory == i]
        b = other.event_records.time[other.event_records.trajectory == i]
        assert a[0] != b[0]
    assert not np.array_equal(reference.counts, other.counts)
    assert not np.array_equal(reference.firings, other.firings)


def first_event_times(ens: ss.Ensemble, n: int) -> np.ndarray:
    ev = ens.event_records
    assert np.all(np.diff(ev.trajectory) >= 0)
    starts = np.searchsorted(ev.trajectory, np.arange(n))
    assert np.all(ev.trajectory[starts] == np.arange(n))  # every trajectory has an event
    return ev.time[starts]


def test_distinct_trajectories_and_seeds_are_distinct_streams():
    """1000 trajectories of agent immigration (rate 1/s): all first-arrival times are
    distinct, within a run and across two seeds. (A repeated stream would repeat the
    arrival time exactly; independent continuous draws collide with probability ~0.)"""
    model = ss.Model.from_dict(IMMIGRATION)
    n = 1000
    a = ss.simulate(model, 30.0, n, seed=SEED, sample_every=1.0, record_events=True)
    b = ss.simulate(model, 30.0, n, seed=SEED + 1, sample_every=1.0, record_events=True)
    ta, tb = first_event_times(a, n), first_event_times(b, n)
    assert len(np.unique(ta)) == n
    assert len(np.unique(np.concatenate([ta, tb]))) == 2 * n
    # the agents get ids 0, 1, 2, ... in order of arrival in every trajectory
    ev = a.event_records
    starts = np.searchsorted(ev.trajectory, np.arange(n))
    expected_ids = np.arange(len(ev)) - np.repeat(starts, np.diff(np.append(starts, len(ev))))
    np.testing.assert_array_equal(ev.agent, expected_ids)
    # the whole firing patterns are not all equal either
    assert len(np.unique(a.firings[:, 0])) > 5


def test_long_logs_are_mostly_simulated_once(monkeypatch):
    """Event buffers are sized from a pilot of a few trajectories, so a run whose every
    trajectory logs far more than the default 256 records re-simulates at most the pilot,
    not the whole batch - and still loses no record."""
    import stochsyn.ensemble as ensemble

    rows_run = []
    real = ensemble.run_batch

    def counting(*args, **kw):
        rows_run.append(len(args[2]))
        return real(*args, **kw)

    monkeypatch.setattr(ensemble, "run_batch", counting)
    spec = {**IMMIGRATION, "agents": {"A": {**IMMIGRATION["agents"]["A"], "capacity": 2000}}}
    n = 40
    ens = ss.simulate(ss.Model.from_dict(spec), 1000.0, n, seed=SEED, record_events=True,
                      n_threads=2)
    assert np.all(ens.status == 0)
    per_traj = np.bincount(ens.event_records.trajectory, minlength=n)
    assert per_traj.min() > 3 * DEFAULT_EVENT_BUFFER          # ~1000 records each
    np.testing.assert_array_equal(per_traj, ens.firings[:, 0])
    assert sum(rows_run) <= n + 4                              # pilot of 2 x 2 threads


# A hybrid model (stochsyn.engine.continuous): continuous buffering with jumps from a
# logged agent rule (flux = false), the same entry as a flux driven by the input, a
# discrete reaction whose propensity follows the continuous Ca(t), and a time-dependent
# (input) reaction, so both hazard paths, the fluxes and the ODE restarts are covered.
HYBRID_MODEL = {
    "model": {"name": "repro_hybrid"},
    "inputs": {"drive": {"value": 2.0, "sine": {"amplitude": 1.5, "frequency": "1 Hz"}}},
    "species": {"Ca": 20, "B": 200, "CaB": 0, "X": 0},
    "agents": {"Ch": {"sites": {"s": ["c", "o"]}, "initial": [{"count": 8}]}},
    "reactions": [
        {"name": "gate", "equation": "Ch(s=c) <-> Ch(s=o)", "rate": [3.0, 6.0], "log": True},
        {"name": "influx", "equation": "Ch(s=o) -> Ch(s=o) + Ca", "rate": 40.0,
         "flux": False},
        {"name": "driven_influx", "equation": "Ch(s=o) -> Ch(s=o) + Ca",
         "rate": {"kind": "input", "input": "drive", "k": "10 /s"}},
        {"name": "buffer", "equation": "Ca + B <-> CaB", "rate": [0.05, 5.0]},
        {"name": "out", "equation": "Ca ->", "rate": 3.0},
        {"name": "sense", "equation": "Ca -> X", "rate": 0.05},
        {"name": "driven", "equation": "-> X", "rate": {"kind": "input", "input": "drive",
                                                       "k": "1 /s"}},
    ],
    "continuous": {"species": ["Ca", "B", "CaB"]},
}


@pytest.fixture(scope="module")
def hybrid_model():
    return ss.Model.from_dict(HYBRID_MODEL)


@pytest.fixture(scope="module")
def hybrid_reference(hybrid_model):
    return run(hybrid_model)


def assert_same_hybrid_run(a, b):
    assert_same_run(a, b)
    np.testing.assert_array_equal(a.continuous_values, b.continuous_values)
    np.testing.assert_array_equal(a.ode_steps, b.ode_steps)
    np.testing.assert_array_equal(a.ode_rejected, b.ode_rejected)
    np.testing.assert_array_equal(a.ode_restarts, b.ode_restarts)
    np.testing.assert_array_equal(a.flux_totals, b.flux_totals)


def test_hybrid_reference_run_is_meaningful(hybrid_reference):
    from stochsyn.model import hybrid_roles
    assert hybrid_roles(ss.Model.from_dict(HYBRID_MODEL)) == (
        ("exact",) * 2 + ("jump", "flux", "ode", "ode", "ode", "coupled", "exact"))
    assert np.all(hybrid_reference.status == 0)
    f = hybrid_reference.firings
    assert np.all(f[:, 2] > 20) and np.all(f[:, 7] > 0) and np.all(f[:, 8] > 0)
    assert np.all(hybrid_reference.flux_totals[:, 3] > 10) and np.all(f[:, 3] == 0)
    assert np.all(hybrid_reference.ode_steps > 100)
    assert np.all(hybrid_reference.ode_restarts > 20)


def test_hybrid_same_seed_twice_is_identical(hybrid_model, hybrid_reference):
    assert_same_hybrid_run(hybrid_reference, run(hybrid_model))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_hybrid_thread_count_does_not_matter(hybrid_model, hybrid_reference):
    assert_same_hybrid_run(run(hybrid_model, n_threads=1), run(hybrid_model, n_threads=2))
    assert_same_hybrid_run(run(hybrid_model, n_threads=2), hybrid_reference)


@pytest.mark.parametrize("batch_size", [1, 7])
def test_hybrid_batch_size_and_shards_do_not_matter(hybrid_model, hybrid_reference,
                                                    batch_size):
    assert_same_hybrid_run(run(hybrid_model, batch_size=batch_size), hybrid_reference)
    one = run(hybrid_model, n=1, first_trajectory=13)
    np.testing.assert_array_equal(one.continuous_values[0],
                                  hybrid_reference.continuous_values[13])
    np.testing.assert_array_equal(one.firings[0], hybrid_reference.firings[13])
