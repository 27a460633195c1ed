"""Result tables and the Parquet dataset: round trip, provenance, resume, table shapes."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import stochsyn as ss

AMPAR = "reactions/examples/ampar_exchange.toml"


@pytest.fixture(scope="module")
def ensemble():
    return ss.simulate(ss.load_model(AMPAR), t_end=100.0, n_trajectories=30, seed=7,
                       sample_every=5.0, record_events=True, batch_size=8)


def assert_same(a, b):
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.trajectories, b.trajectories)
    np.testing.assert_array_equal(a.status, b.status)
    np.testing.assert_array_equal(a.n_events, b.n_events)
    np.testing.assert_array_equal(a.firings, b.firings)
    np.testing.assert_array_equal(a.times, b.times)
    for field in ("trajectory", "time", "agent", "reaction", "state_before", "state_after"):
        np.testing.assert_array_equal(getattr(a.event_records, field),
                                      getattr(b.event_records, field))
    assert a.species == b.species and a.reactions == b.reactions
    assert a.observables == b.observables


def test_parquet_round_trip_keeps_everything(ensemble, tmp_path):
    ensemble.to_parquet(tmp_path / "run")
    back = ss.read(tmp_path / "run")
    assert_same(ensemble, back)
    pd.testing.assert_frame_equal(ensemble.events(), back.events())
    pd.testing.assert_frame_equal(ensemble.describe(), back.describe())


def test_every_file_carries_provenance(tmp_path):
    model = ss.load_model(AMPAR)
    ens = ss.simulate(model, 50.0, 10, seed=3, record_events=True, batch_size=4,
                      out=tmp_path / "run")
    files = sorted((tmp_path / "run").rglob("*.parquet"))
    assert len(files) == 3 * 3  # counts, trajectories, events for 3 batches
    for path in files:
        meta = json.loads(pq.read_schema(path).metadata[b"stochsyn"])
        assert meta["seed"] == 3
        assert meta["model_hash"] == model.hash
        assert meta["stochsyn_version"] == ss.__version__
        assert meta["model_spec"]["parameters"]["k_exo"] == "0.05 /s"
    assert not list((tmp_path / "run").rglob("*.tmp-*"))
    assert_same(ens, ss.read(tmp_path / "run"))


def test_resume_skips_finished_batches_and_gives_the_same_result(tmp_path, monkeypatch):
    model = ss.load_model(AMPAR)
    full = ss.simulate(model, 50.0, 10, seed=3, record_events=True, batch_size=4,
                       out=tmp_path / "a")
    # An interrupted run: only batch 0 finished.
    ss.simulate(model, 50.0, 4, seed=3, record_events=True, batch_size=4, out=tmp_path / "b")
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    calls = []
    import stochsyn.ensemble as ensemble_module
    original = ensemble_module.run_batch_task
    monkeypatch.setattr(ensemble_module, "run_batch_task",
                        lambda task, *a, **k: calls.append(task.trajectories[0])
                        or original(task, *a, **k))
    resumed = ss.simulate(model, 50.0, 10, seed=3, record_events=True, batch_size=4,
                          out=tmp_path / "b", resume=True)
    assert calls == [4, 8]
    assert_same(full, resumed)


def test_out_refuses_to_mix_runs(tmp_path):
    model = ss.load_model(AMPAR)
    ss.simulate(model, 10.0, 2, seed=1, out=tmp_path / "run")
    with pytest.raises(FileExistsError, match="already holds this run, complete"):
        ss.simulate(model, 10.0, 2, seed=1, out=tmp_path / "run")
    with pytest.raises(FileExistsError, match=r"different run \(provenance.seed: 2 in this "
                                              r"run, 1 in the folder\)"):
        ss.simulate(model, 10.0, 2, seed=2, out=tmp_path / "run", resume=True)


def test_timeseries_is_tidy_and_matches_counts(ensemble):
    frame = ensemble.timeseries()
    n_traj, n_times, n_species = ensemble.counts.shape
    names = ensemble.names
    assert list(frame.columns) == ["trajectory", "time", "name", "value"]
    assert len(frame) == n_traj * n_times * len(names)
    assert isinstance(frame["name"].dtype, pd.CategoricalDtype)
    row = frame[(frame.trajectory == 5) & (frame.time == 20.0) & (frame.name == "surface")]
    k = list(ensemble.times).index(20.0)
    assert row.value.item() == ensemble.counts[5, k, ensemble.species.index(
        "AMPAR(loc=extra)")]
    total = frame[frame.name == "total"].value
    assert (total == 70).all()


def test_describe_statistics(ensemble):
    table = ensemble.describe(["surface"])
    final = table.loc[(ensemble.times[-1], "surface")]
    values = ensemble.values("surface")[:, -1]
    assert final["n"] == 30
    assert final["mean"] == pytest.approx(values.mean())
    assert final["sd"] == pytest.approx(values.std(ddof=1))
    assert final["sem"] == pytest.approx(values.std(ddof=1) / np.sqrt(30))
    assert final["q50"] == pytest.approx(np.median(values))


def test_events_table(ensemble):
    events = ensemble.events()
    assert list(events.columns) == ["trajectory", "time", "agent_type", "agent", "rule",
                                    "reaction", "state_before", "state_after"]
    assert set(events.rule.unique()) == {"exocytosis", "endocytosis"}
    exo = events[events.rule == "exocytosis"]
    assert (exo.state_before == "AMPAR(loc=endo)").all()
    assert (exo.state_after == "AMPAR(loc=extra)").all()
    assert events.agent.between(0, 69).all()
    # Records per trajectory are in time order.
    assert (events.groupby("trajectory").time.diff().dropna() >= 0).all()
    # Every firing of a logged rule moved one agent: one record each.
    assert len(events) == ensemble.firings.sum()


def test_summary_and_stopped_trajectories_are_masked():
    model = ss.Model.from_dict({"species": {"X": 10},
                                "reactions": [{"equation": "X -> 2 X", "rate": 1.0}]})
    with pytest.warns(ss.BudgetWarning, match="max_events"):
        ens = ss.simulate(model, 100.0, 3, seed=1, max_events=50, sample_every=1.0)
    summary = ens.summary()
    assert (summary.status == "max_events").all()
    assert (summary.n_events == 50).all()
    values = ens.values("X")
    assert np.isnan(values[:, -1]).all() and not np.isnan(values[:, 0]).any()
    assert ens.describe().loc[(100.0, "X"), "n"] == 0


def test_unknown_name_suggests(ensemble):
    with pytest.raises(KeyError, match="surface"):
        ensemble.values("surfac")
