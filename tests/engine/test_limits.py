"""Exact limits of the engine: results that hold with probability one (or bit for bit).

Nothing here is statistical: every assertion is an identity that any correct exact SSA
satisfies for every seed (a few hold up to an event of probability < 1e-40, stated where
they are used).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss

SEED = 20261122


def model(spec: dict) -> ss.Model:
    return ss.Model.from_dict(spec)


BIRTH_DEATH = {
    "model": {"name": "birth_death"},
    "parameters": {"kb": 0.1, "kd": 0.11},
    "species": {"X": 100},
    "reactions": [{"name": "birth", "equation": "X -> 2 X", "rate": "kb"},
                  {"name": "death", "equation": "X ->", "rate": "kd"}],
}


def immigration_death(interventions=()):
    """DSMTS 002 (immigration 1/s, death 0.1/s, X(0) = 0) with optional interventions."""
    return model({
        "model": {"name": "immigration_death"},
        "species": {"X": 0},
        "reactions": [{"name": "immigration", "equation": "-> X", "rate": 1.0},
                      {"name": "death", "equation": "X ->", "rate": 0.1}],
        "interventions": list(interventions),
    })


# --------------------------------------------------------------------- zero rates


def test_zero_rates_give_no_events_and_constant_counts():
    m = model({
        "model": {"name": "frozen"},
        "species": {"A": 7, "B": 3, "C": 0},
        "agents": {"R": {"sites": {"loc": ["in", "out"]},
                         "initial": [{"count": 4, "loc": "in"}, {"count": 2, "loc": "out"}]}},
        "reactions": [
            {"name": "bind", "equation": "A + B <-> C", "rate": [0.0, 0.0]},
            {"name": "make", "equation": "-> A", "rate": "0 /s"},
            {"name": "move", "equation": "R(loc=in) <-> R(loc=out)", "rate": [0, 0],
             "log": True},
        ],
    })
    ens = ss.simulate(m, 1e6, 5, seed=SEED, sample_every=1e5, record_events=True)
    assert np.all(ens.status == 0) and np.all(ens.n_events == 0)
    assert np.all(ens.firings == 0) and len(ens.event_records) == 0
    np.testing.assert_array_equal(ens.t_reached, 1e6)
    x0 = np.array([7, 3, 0, 4, 2])
    np.testing.assert_array_equal(ens.counts, np.broadcast_to(x0, ens.counts.shape))


# ------------------------------------------------------- single molecule, X -> Y


def test_one_molecule_fires_exactly_once():
    """X = 1, X -> Y at 1/s, t_end = 200 s: P(not yet fired) = e^-200 per trajectory."""
    m = model({"model": {"name": "one_shot"}, "species": {"X": 1, "Y": 0},
               "reactions": [{"name": "convert", "equation": "X -> Y", "rate": 1.0}]})
    n = 500
    ens = ss.simulate(m, 200.0, n, seed=SEED, sample_every=0.25)
    assert np.all(ens.status == 0)
    np.testing.assert_array_equal(ens.n_events, 1)
    np.testing.assert_array_equal(ens.firings, 1)
    x, y = ens.counts[:, :, 0], ens.counts[:, :, 1]
    np.testing.assert_array_equal(x + y, 1)  # conserved in every sample
    assert np.all(x[:, 0] == 1) and np.all(x[:, -1] == 0)
    assert np.all(np.diff(x, axis=1) <= 0)  # irreversible: X only ever drops, once
    assert len(np.unique(np.argmax(x == 0, axis=1))) > 5  # at various times


def test_reaction_with_an_absent_reactant_never_fires():
    m = model({"model": {"name": "missing_b"}, "species": {"A": 10, "B": 0, "C": 0, "D": 5},
               "reactions": [{"name": "abc", "equation": "A + B -> C", "rate": 1e6},
                             {"name": "dd", "equation": "2 D -> D", "rate": 1e6},
                             {"name": "aa", "equation": "A + D -> A + 2 D", "rate": 0.0}]})
    ens = ss.simulate(m, 1e4, 20, seed=SEED, sample_every=100.0)
    assert np.all(ens.status == 0)
    np.testing.assert_array_equal(ens.firings[:, 0], 0)
    np.testing.assert_array_equal(ens.firings[:, 1], 4)  # 2 D -> D runs D from 5 down to 1
    np.testing.assert_array_equal(ens.counts[:, :, :3],
                                  np.broadcast_to([10, 0, 0], ens.counts[:, :, :3].shape))
    np.testing.assert_array_equal(ens.counts[:, -1, 3], 1)


# ------------------------------------------------------------------- interventions


def test_intervention_on_a_sample_time_is_visible_there():
    """DSMTS 00028: set X = 50 at t = 25; samples are right-continuous, so the sample at
    t = 25 is exactly 50 (mean 50, sd 0) in every trajectory, and every sample before 25
    is bit-identical to the run without the intervention (same streams: a pending waiting
    time is only discarded at the intervention)."""
    times = np.arange(51.0)
    with_iv = ss.simulate(immigration_death([{"time": 25.0, "set": {"X": 50}}]), 50.0, 300,
                          seed=SEED, sample_times=times)
    without = ss.simulate(immigration_death(), 50.0, 300, seed=SEED, sample_times=times)
    x = with_iv.values("X")
    assert x[:, 25].mean() == 50.0 and x[:, 25].std() == 0.0
    np.testing.assert_array_equal(with_iv.counts[:, :25], without.counts[:, :25])
    assert x[:, 24].std() > 0 and x[:, 26].std() > 0  # not a frozen state otherwise
    assert not np.array_equal(with_iv.counts[:, 26:], without.counts[:, 26:])


@pytest.mark.parametrize("t_iv", [0.0, 50.0])
def test_intervention_at_the_ends_of_the_run(t_iv):
    """At t = 0 the first sample already shows it; at t = t_end the last sample does."""
    ens = ss.simulate(immigration_death([{"time": t_iv, "set": {"X": 50}}]), 50.0, 50,
                      seed=SEED, sample_every=1.0)
    k = int(t_iv)
    np.testing.assert_array_equal(ens.counts[:, k, 0], 50)


def test_intervention_after_t_end_is_not_applied():
    later = ss.simulate(immigration_death([{"time": 50.5, "set": {"X": 1000}}]), 50.0, 50,
                        seed=SEED, sample_every=1.0)
    plain = ss.simulate(immigration_death(), 50.0, 50, seed=SEED, sample_every=1.0)
    np.testing.assert_array_equal(later.counts, plain.counts)
    np.testing.assert_array_equal(later.firings, plain.firings)


def test_intervention_between_grid_points():
    """X(0) = 100, pure death; 'set X = 0' at t = 25.5: samples up to 25 equal the run
    without intervention bit for bit, every sample from 26 on is exactly 0 and events stop.
    Then, with immigration on from the start, both rates set to 0 at t = 37.25: samples up
    to 37 equal the plain run, and from 38 on the counts are frozen."""
    spec = {"model": {"name": "death_reset"}, "parameters": {"kd": 0.05, "ki": 0.0},
            "species": {"X": 100},
            "reactions": [{"name": "death", "equation": "X ->", "rate": "kd"},
                          {"name": "immigration", "equation": "-> X", "rate": "ki"}]}
    plain = ss.simulate(model(spec), 50.0, 200, seed=SEED, sample_every=1.0)
    spec_iv = {**spec, "interventions": [{"time": 25.5, "set": {"X": 0}}]}
    ens = ss.simulate(model(spec_iv), 50.0, 200, seed=SEED, sample_every=1.0)
    np.testing.assert_array_equal(ens.counts[:, :26], plain.counts[:, :26])
    assert ens.counts[:, 25, 0].min() > 0
    np.testing.assert_array_equal(ens.counts[:, 26:], 0)
    np.testing.assert_array_equal(ens.firings[:, 1], 0)
    assert np.all(ens.firings[:, 0] >= 100 - ens.counts[:, 25, 0])  # deaths up to 25.5 only
    assert np.all(ens.firings[:, 0] < plain.firings[:, 0])  # later deaths did not happen

    # a parameter change between grid points: immigration (on from the start) and death
    # both switched off at 37.25 -> counts frozen from sample 38 on, identical up to 37
    spec_on = {**spec, "parameters": {"kd": 0.05, "ki": 2.0}}
    plain_on = ss.simulate(model(spec_on), 50.0, 200, seed=SEED, sample_every=1.0)
    spec_off = {**spec_on, "interventions": [
        {"time": 37.25, "parameters": {"kd": 0.0, "ki": 0.0}}]}
    ens = ss.simulate(model(spec_off), 50.0, 200, seed=SEED, sample_every=1.0)
    np.testing.assert_array_equal(ens.counts[:, :38], plain_on.counts[:, :38])
    frozen = ens.counts[:, 38:, 0]
    np.testing.assert_array_equal(frozen, np.broadcast_to(frozen[:, :1], frozen.shape))
    assert not np.array_equal(ens.counts[:, 38:], plain_on.counts[:, 38:])


def test_parameter_set_back_to_its_initial_value_is_applied():
    """ki = 0 initially, set to 2 at t = 10.5, set back to 0 at t = 37.25 (and kd to 0):
    from then on nothing can fire, so every sample from t = 38 on is the same.

    (Fails while the compiler drops a rate change whose new value equals the rate of the
    *initial* model instead of the rate in force at that time: Model.rates_after.)"""
    spec = {"model": {"name": "reset"}, "parameters": {"kd": 0.05, "ki": 0.0},
            "species": {"X": 100},
            "reactions": [{"name": "death", "equation": "X ->", "rate": "kd"},
                          {"name": "immigration", "equation": "-> X", "rate": "ki"}],
            "interventions": [{"time": 10.5, "parameters": {"ki": 2.0}},
                              {"time": 37.25, "parameters": {"kd": 0.0, "ki": 0.0}}]}
    ens = ss.simulate(model(spec), 50.0, 20, seed=SEED, sample_every=1.0)
    assert np.all(ens.firings[:, 1] > 0)  # immigration did run in between
    frozen = ens.counts[:, 38:, 0]
    np.testing.assert_array_equal(frozen, np.broadcast_to(frozen[:, :1], frozen.shape))


def test_parameter_interventions_compose():
    """k = a*b: a := 2 at t = 1, then b := 3 at t = 2 gives k = 6 from t = 2 on (not 3).
    Checked on the compiled rate and on the process: with immigration at k, X(5) - X(2)
    is Poisson(3k), whose mean 18 (k = 6) vs 9 (k = 3) the 400-trajectory mean separates
    by > 20 standard errors."""
    spec = {"model": {"name": "compose"}, "parameters": {"a": 1.0, "b": 1.0, "k": "a*b"},
            "species": {"X": 0},
            "reactions": [{"name": "make", "equation": "-> X", "rate": "k"}],
            "interventions": [{"time": 1.0, "parameters": {"a": 2.0}},
                              {"time": 2.0, "parameters": {"b": 3.0}}]}
    m = model(spec)
    arrays = ss.compile(m).arrays
    rates = [arrays.iv_rate[arrays.iv_ptr[i]:arrays.iv_ptr[i + 1]].tolist() for i in range(2)]
    assert rates == [[2.0], [6.0]]
    ens = ss.simulate(m, 5.0, 400, seed=SEED, sample_times=[2.0, 5.0])
    increase = ens.counts[:, 1, 0] - ens.counts[:, 0, 0]
    assert abs(increase.mean() - 18.0) < 5 * np.sqrt(18.0 / 400)


# -------------------------------------------------------------------- event budget


def test_max_events_stops_with_status_1_and_marks_later_samples():
    m = model(BIRTH_DEATH)
    times = np.arange(0.0, 201.0, 1.0)
    full = ss.simulate(m, 200.0, 30, seed=SEED, sample_times=times)
    assert np.all(full.status == 0) and np.all(full.n_events > 60)
    ens = ss.simulate(m, 200.0, 30, seed=SEED, sample_times=times, max_events=50,
                      on_stop="ignore")
    np.testing.assert_array_equal(ens.status, 1)
    np.testing.assert_array_equal(ens.n_events, 50)
    np.testing.assert_array_equal(ens.firings.sum(axis=1), 50)
    assert np.all(ens.t_reached < 200.0)
    for i in range(30):
        c = ens.counts[i, :, 0]
        stopped = c == -1
        assert stopped[-1] and not stopped[0]
        k = int(np.argmax(stopped))
        assert np.all(stopped[k:]) and not np.any(stopped[:k])  # -1 from the stop on
        assert times[k] > ens.t_reached[i]  # every sample up to the 50th event is valid
        # the samples before the stop are those of the unlimited run (same streams)
        np.testing.assert_array_equal(c[:k], full.counts[i, :k, 0])
    x = ens.values("X")
    assert np.array_equal(np.isnan(x), ens.counts[:, :, 0] == -1)


def test_max_events_zero_records_only_the_initial_state():
    ens = ss.simulate(model(BIRTH_DEATH), 10.0, 5, seed=SEED, sample_every=1.0,
                      max_events=0, on_stop="ignore")
    np.testing.assert_array_equal(ens.status, 1)
    np.testing.assert_array_equal(ens.n_events, 0)
    np.testing.assert_array_equal(ens.counts[:, 0, 0], 100)
    assert np.all(ens.counts[:, -1, 0] == -1)


def test_max_events_raise_and_warn():
    m = model(BIRTH_DEATH)
    with pytest.raises(ss.SimulationError, match="max_events"):
        ss.simulate(m, 200.0, 4, seed=SEED, max_events=50, on_stop="raise")
    with pytest.warns(ss.BudgetWarning, match="max_events = 50"):
        ens = ss.simulate(m, 200.0, 4, seed=SEED, max_events=50)
    assert np.all(ens.status == 1)
    # no warning when every trajectory reaches t_end
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss.simulate(m, 1.0, 4, seed=SEED, max_events=10**6)


def test_exploding_model_stops_within_the_budget():
    """X -> 2X at 5/s from X = 10 up to t = 100 would need ~e^500 events: a modest budget
    must stop it quickly, with a warning (default) or an error (on_stop='raise')."""
    m = model({"model": {"name": "explosion"}, "species": {"X": 10},
               "reactions": [{"name": "birth", "equation": "X -> 2 X", "rate": 5.0}]})
    start = time.perf_counter()
    with pytest.warns(ss.BudgetWarning, match="max_events"):
        ens = ss.simulate(m, 100.0, 4, seed=SEED, max_events=200_000)
    with pytest.raises(ss.SimulationError, match="grow without bound"):
        ss.simulate(m, 100.0, 4, seed=SEED, max_events=200_000, on_stop="raise")
    assert time.perf_counter() - start < 30.0
    np.testing.assert_array_equal(ens.status, 1)
    np.testing.assert_array_equal(ens.n_events, 200_000)
    assert np.all(ens.t_reached < 100.0)
    # X grew by exactly one per event
    last_valid = np.array([c[c >= 0][-1] for c in ens.counts[:, :, 0]])
    assert np.all(last_valid <= 10 + 200_000)


# ------------------------------------------------------------------ degenerate runs


def test_model_without_reactions_samples_the_initial_state():
    m = model({"model": {"name": "inert"}, "species": {"X": 3, "Y": 0},
               "agents": {"R": {"sites": {"s": ["a", "b"]},
                                "initial": [{"count": 2, "s": "b"}]}}})
    ens = ss.simulate(m, 10.0, 3, seed=SEED, sample_every=1.0, record_events=True)
    assert ens.counts.shape == (3, 11, 4) and ens.firings.shape == (3, 0)
    np.testing.assert_array_equal(ens.counts, np.broadcast_to([3, 0, 0, 2], (3, 11, 4)))
    assert np.all(ens.status == 0) and np.all(ens.n_events == 0)
    np.testing.assert_array_equal(ens.t_reached, 10.0)

    # a model with nothing in it is a mistake (an empty file, a wrong path), not a run
    with pytest.raises(ss.ModelError, match="the model has no species, agents or reactions"):
        model({"model": {"name": "nothing"}})


def test_zero_trajectories_give_an_empty_ensemble():
    m = model(BIRTH_DEATH)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ens = ss.simulate(m, 10.0, 0, seed=SEED, sample_every=1.0, record_events=True)
    assert ens.n_trajectories == 0
    assert ens.counts.shape == (0, 11, 1) and ens.counts.dtype == np.int64
    assert ens.firings.shape == (0, 2)
    assert ens.status.shape == ens.n_events.shape == ens.trajectories.shape == (0,)
    assert len(ens.event_records) == 0 and len(ens.events()) == 0
    assert ens.values("X").shape == (0, 11)
    assert len(ens.timeseries()) == 0 and len(ens.summary()) == 0


def test_zero_trajectories_of_an_agent_model():
    path = Path(__file__).resolve().parents[2] / "reactions" / "examples" / "ampar_exchange.toml"
    ens = ss.simulate(ss.load_model(path), 10.0, 0, seed=SEED, record_events=True)
    assert ens.counts.shape == (0, 101, 2) and len(ens.events()) == 0


# ---------------------------------------------------------------- agent capacity


def test_creation_beyond_capacity_stops_with_status_4():
    m = model({"model": {"name": "overflow"},
               "agents": {"A": {"sites": {"s": ["x"]}, "initial": [{"count": 2}],
                                "capacity": 5}},
               "reactions": [{"name": "make", "equation": "-> A(s=x)", "rate": 10.0,
                              "log": True}]})
    ens = ss.simulate(m, 50.0, 6, seed=SEED, sample_every=0.05, record_events=True,
                      on_stop="ignore")
    np.testing.assert_array_equal(ens.status, 4)
    valid = ens.counts[:, :, 0] >= 0
    assert np.all(ens.counts[:, :, 0][valid] <= 5)
    assert np.all(ens.counts[:, -1, 0] == -1)
    ev = ens.event_records
    np.testing.assert_array_equal(np.bincount(ev.trajectory, minlength=6), 3)  # ids 2, 3, 4
    assert set(ev.agent.tolist()) == {2, 3, 4}
    with pytest.raises(ss.SimulationError, match="capacity") as info:
        ss.simulate(m, 50.0, 6, seed=SEED, on_stop="raise")
    assert "agent_capacity" in str(info.value)
    with pytest.warns(ss.BudgetWarning, match="capacity"):
        ss.simulate(m, 50.0, 6, seed=SEED)


def test_capacity_bounds_agents_alive_at_once_and_ids_are_never_reused():
    """Storage slots of destroyed agents are reused; ids are not."""
    model = ss.Model.from_dict({
        "model": {"name": "turnover"},
        "agents": {"A": {"sites": {"s": ["x"]}, "initial": [{"count": 0}], "capacity": 5}},
        "reactions": [
            {"name": "make", "equation": "-> A(s=x)", "rate": 1.0, "log": True},
            {"name": "kill", "equation": "A(s=x) ->", "rate": 100.0, "log": True}]})
    ens = ss.simulate(model, 100.0, 3, seed=SEED, record_events=True)
    assert (ens.status == 0).all()
    events = ens.events()
    for i in range(3):
        made = events[(events.trajectory == i) & (events.rule == "make")]
        assert len(made) > 50
        assert list(made.agent) == list(range(len(made)))
        killed = events[(events.trajectory == i) & (events.rule == "kill")]
        assert set(killed.agent) <= set(made.agent)


# ---------------------------------------------------------------- kernel cache hygiene
def test_kernel_cache_is_cleared_when_any_engine_source_changes(tmp_path, monkeypatch):
    """numba keys a cached kernel to its own file only; the engine keeps a fingerprint of
    the code of its sources that numba compiles and drops the cache when it changes."""
    from stochsyn.engine import invalidate_stale_kernel_cache
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)

    kernel = "import numba\nfrom .hazard import b\n\n@numba.njit(cache=True)\ndef k():\n    return b\n"
    (tmp_path / "ssa.py").write_text(kernel)
    (tmp_path / "hazard.py").write_text("b = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "ssa.kernel-1.py311.nbi").write_text("index")
    assert invalidate_stale_kernel_cache(tmp_path)          # no fingerprint yet
    (cache / "ssa.kernel-1.py311.nbi").write_text("index")
    assert not invalidate_stale_kernel_cache(tmp_path)      # unchanged sources: kept
    assert (cache / "ssa.kernel-1.py311.nbi").exists()
    (tmp_path / "hazard.py").write_text("b = 2\n")            # only the inlined module
    assert invalidate_stale_kernel_cache(tmp_path)
    assert not (cache / "ssa.kernel-1.py311.nbi").exists()


def test_kernel_cache_outlives_edits_of_docstrings_comments_layout_and_python_around(
        tmp_path, monkeypatch):
    """The fingerprint is of the code numba compiles: a docstring, a comment or the
    layout of a line may change (numba itself recompiles what the edited file defines, by
    a digest of its text), and so may a module that compiles nothing and that no kernel
    imports (batch.py); a constant, an operator or a name of kernel code may not."""
    from stochsyn.engine import invalidate_stale_kernel_cache
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)

    (tmp_path / "ssa.py").write_text("from stochsyn.engine.hazard import f\n"
                                     "from .jit import njit\nk = njit(f)\n")
    (tmp_path / "jit.py").write_text("from numba import njit\n")
    (tmp_path / "batch.py").write_text("from .ssa import k\nTHREADS = 2\n")
    source = tmp_path / "hazard.py"
    source.write_text('"""Module."""\nK = 2\n\n\ndef f(x):\n    """Doc."""\n    return x * K\n')
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    kernel = cache / "ssa.kernel-1.py311.nbc"
    kernel.write_text("machine code")
    invalidate_stale_kernel_cache(tmp_path)
    kernel.write_text("machine code")
    for path, edit in (
            (source, '"""Module, explained."""\nK = 2\n\n\ndef f(x):\n    """Doc."""\n'
                     '    return x * K\n'),
            (source, '"""Module."""\nK = 2  # why two\n\ndef f(x):\n    """Doc, longer,\n'
                     '    on two lines."""\n    return (x\n            * K)\n'),
            (source, 'K = 2\ndef f(x): return x * K\n'),
            (tmp_path / "batch.py", "from .ssa import k\nTHREADS = 4\n")):
        path.write_text(edit)
        assert not invalidate_stale_kernel_cache(tmp_path), edit
        assert kernel.exists(), edit
    for path, edit in ((source, 'K = 3\ndef f(x): return x * K\n'),
                       (source, 'K = 3\ndef f(x): return x + K\n'),
                       (source, 'K = 3\ndef f(y): return y + K\n'),
                       (source, 'K = 3\ndef f(y): return "y" + K\n'),
                       (tmp_path / "jit.py", "from numba import njit as njit\n"),
                       (tmp_path / "batch.py", "import numba\nk = numba.njit(len)\n")):
        kernel.write_text("machine code")
        path.write_text(edit)
        assert invalidate_stale_kernel_cache(tmp_path), edit
        assert not kernel.exists(), edit
    assert not invalidate_stale_kernel_cache(tmp_path)       # the new code is kept


def test_kernel_cache_under_numba_cache_dir_is_cleared_there(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR (clusters) numba caches the kernels in a folder of its own
    there, which is the one the engine clears."""
    from stochsyn.engine import invalidate_stale_kernel_cache, kernel_cache_folder
    from numba.core.caching import _CacheLocator

    package = tmp_path / "engine"
    package.mkdir()
    source = package / "ssa.py"
    source.write_text("import numba\nk = numba.njit(lambda: 1)\n")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    folder = kernel_cache_folder(package)
    assert folder == tmp_path / "numba" / _CacheLocator.get_suitable_cache_subpath(
        str(source))                                    # where numba itself puts it
    invalidate_stale_kernel_cache(package)
    (folder / "ssa.k-2.py311.nbi").write_text("index")
    assert not invalidate_stale_kernel_cache(package)
    source.write_text("import numba\nk = numba.njit(lambda: 2)\n")
    assert invalidate_stale_kernel_cache(package)
    assert not (folder / "ssa.k-2.py311.nbi").exists()
    assert not (package / "__pycache__").exists()
