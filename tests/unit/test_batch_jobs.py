"""Batch jobs at scale: executors, crash safety and resume, shards, sweeps, budgets, lazy
reading, and datasets readable without stochsyn."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import stochsyn as ss
import stochsyn.dataset as ds
import stochsyn.ensemble as ensemble_module
from stochsyn.cli import main
from stochsyn.results import IncompleteDatasetError, IncompleteDatasetWarning
from tests.unit.test_protocol_apply import CHANNEL as BLOCKED_CHANNEL
from tests.unit.test_results import assert_same

AMPAR = "reactions/examples/ampar_exchange.toml"
RUNAWAY = """[model]
name = "runaway"
[species]
X = 10
[[reactions]]
name = "birth"
equation = "X -> 2 X"
rate = 1.0
"""


@pytest.fixture(scope="module")
def model():
    return ss.load_model(AMPAR)


@pytest.fixture(scope="module")
def serial(model):
    return ss.simulate(model, 100.0, 40, seed=3, record_events=True, batch_size=7,
                       n_threads=1)


# ---------------------------------------------------------------- executors
def _same_on(executor, serial, out):
    """The serial run again on ``executor``: sent back, and written by the workers."""
    back = ss.simulate(AMPAR, 100.0, 40, seed=3,
                       record_events=True, batch_size=7, executor=executor)
    written = ss.simulate(AMPAR, 100.0, 40, seed=3,
                          record_events=True, batch_size=9, executor=executor, out=out)
    assert "counts" not in written.__dict__            # read lazily from disk
    assert_same(serial, back)
    assert_same(serial, written)


def test_threads_process_pool_and_disk_give_the_same_bits(serial, tmp_path):
    _same_on(None, serial, tmp_path / "threads")
    with ProcessPoolExecutor(2) as executor:
        _same_on(executor, serial, tmp_path / "processes")


@pytest.mark.distributed
def test_dask_local_cluster_gives_the_same_bits(serial, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0",
                                  env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
            distributed.Client(cluster) as client:
        _same_on(client.get_executor(), serial, tmp_path / "dask")


def test_wrong_scheduler_address_is_one_line(capsys):
    pytest.importorskip("dask.distributed")
    status = main(["run", AMPAR, "--t-end", "1", "--trajectories", "2", "--quiet",
                   "--scheduler", "tcp://127.0.0.1:9", "--out", "/nonexistent/never"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")
    lines = err.strip().splitlines()             # the error, then how to fix it
    assert len(lines) == 2 and lines[1].startswith("  hint: ") and "Traceback" not in err


# ---------------------------------------------------------------- crash safety, resume
def _default_sigint():
    """In the child: take Ctrl-C even if the test run itself ignores it (started in the
    background, nohup): Python turns SIGINT into KeyboardInterrupt only when it is not
    ignored at start-up."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_cli(out, extra=(), **popen):
    command = [sys.executable, "-m", "stochsyn.cli", "run", AMPAR, "--t-end", "600",
               "--trajectories", "480", "--batch-size", "20", "--seed", "11",
               "--record-events", "--sample-every", "100", "--out", str(out), "--quiet",
               *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_sigint, **popen)


def _wait_for_batches(out, at_least, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the run ended before it could be interrupted: "
                        f"{process.communicate()}")
        done = list((out / "trajectories").glob("batch-*.parquet"))
        if len(done) >= at_least:
            return
        time.sleep(0.02)
    pytest.fail("the run made no progress")


@pytest.fixture(scope="module")
def uninterrupted(model, tmp_path_factory):
    """The run of the kill tests, without interruption (24 batches)."""
    out = tmp_path_factory.mktemp("whole") / "run"
    ss.simulate(model, 600.0, 480, seed=11, record_events=True, batch_size=20,
                sample_every=100.0, out=out)
    return out


def _spy_batches(monkeypatch):
    ran = []
    original = ensemble_module.run_batch_task
    monkeypatch.setattr(ensemble_module, "run_batch_task",
                        lambda task, *a, **k: ran.append(task.number) or original(task, *a, **k))
    return ran


def _stamps(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / "trajectories").glob("*.parquet")}


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_killed_run_resumes_to_the_uninterrupted_dataset(how, model, uninterrupted, tmp_path,
                                                         monkeypatch):
    out = tmp_path / "run"
    process = _run_cli(out)
    _wait_for_batches(out, 6, process)
    getattr(process, "kill" if how == "SIGKILL" else "send_signal")(
        *(() if how == "SIGKILL" else (signal.SIGINT,)))
    _, err = process.communicate(timeout=60)
    kept = _stamps(out)
    assert 6 <= len(kept) < 24
    if how == "SIGINT":
        assert process.returncode == 130
        assert "finished and kept in" in err and "--resume" in err
        assert not list(out.rglob("*.tmp-*"))      # the batch in flight left nothing
    else:
        # What a kill in the middle of a write leaves behind: a temporary file.
        (out / "counts" / f".batch-00023.parquet.tmp-{process.pid}").write_bytes(b"PAR1")
    with pytest.warns(IncompleteDatasetWarning, match="incomplete"):
        partial = ss.read(out)
    assert not partial.complete and partial.n_trajectories == 20 * len(kept)
    with pytest.raises(IncompleteDatasetError):
        ss.read(out, strict=True)
    ran = _spy_batches(monkeypatch)
    resumed = ss.simulate(model, 600.0, 480, seed=11, record_events=True, batch_size=20,
                          sample_every=100.0, out=out, resume=True)
    finished = sorted(ds.batch_number(name) for name in kept)
    assert sorted(ran) == sorted(set(range(24)) - set(finished))      # only the rest
    assert {k: v for k, v in _stamps(out).items() if k in kept} == kept  # not rewritten
    assert not list(out.rglob("*.tmp-*"))
    assert resumed.complete
    assert_same(ss.read(uninterrupted), resumed)


def test_ctrl_c_stops_a_long_trajectory_at_once(tmp_path):
    """Each trajectory of this run takes about a minute (1e9 events): the run must end
    soon after Ctrl-C, not when the batch ends."""
    model = tmp_path / "runaway.toml"
    model.write_text(RUNAWAY)
    process = subprocess.Popen(
        [sys.executable, "-m", "stochsyn.cli", "run", str(model), "--t-end", "100",
         "--trajectories", "2", "--seed", "1", "--out", str(tmp_path / "run"), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 60
    while not (tmp_path / "run" / "manifest.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3.0)             # the kernel is loaded from the cache, and runs
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)   # the batch alone would take ~2 min
    assert process.returncode == 130
    assert "interrupted" in err and "--resume" in err
    assert not list((tmp_path / "run").rglob("*.parquet*"))


def test_truncated_batch_is_detected_and_redone(model, tmp_path, monkeypatch):
    out = tmp_path / "run"
    whole = ss.simulate(model, 100.0, 30, seed=5, record_events=True, batch_size=10, out=out)
    whole = ss.read(out)
    _ = whole.counts, whole.event_records, whole.firings      # into memory before damage
    victim = out / "events" / "batch-00001.parquet"
    victim.write_bytes(victim.read_bytes()[:-100])
    states = ds.dataset_state(out, ds.read_manifest(out))
    assert states[1].state == "broken" and "events" in states[1].reason
    assert states[0].state == states[2].state == "done"
    with pytest.warns(IncompleteDatasetWarning, match="batch 1: broken"):
        ss.read(out)
    ran = _spy_batches(monkeypatch)
    again = ss.simulate(model, 100.0, 30, seed=5, record_events=True, batch_size=10, out=out,
                        resume=True)
    assert ran == [1]
    assert_same(whole, again)


def test_a_finished_run_says_so_and_overwrite_replaces_it(tmp_path, capsys):
    args = ["run", AMPAR, "--t-end", "20", "--trajectories", "4", "--seed", "1", "--out",
            str(tmp_path / "run"), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 0
    assert "already holds this run, complete: nothing to do" in capsys.readouterr().out
    assert main(args + ["--overwrite"]) == 0
    assert "4 trajectories" in capsys.readouterr().out


def test_folder_of_another_run_names_the_setting(tmp_path, capsys):
    base = ["run", AMPAR, "--t-end", "20", "--trajectories", "4", "--out",
            str(tmp_path / "run"), "--quiet"]
    assert main(base + ["--seed", "1"]) == 0
    before = _stamps(tmp_path / "run")
    capsys.readouterr()
    assert main(base + ["--seed", "2", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "provenance.seed: 2 in this run, 1 in the folder" in err
    assert len(err.strip().splitlines()) == 1
    assert main(base + ["--seed", "1", "--set", "k_exo=0.2", "--resume"]) == 2
    assert "k_exo" in capsys.readouterr().err
    assert _stamps(tmp_path / "run") == before


def test_full_disk_is_one_line_and_keeps_finished_batches(model, tmp_path, monkeypatch,
                                                          capsys):
    original = ds.AtomicParquetWriter.write

    def full_from_batch_2(self, table):       # batches 0 and 1 fit, then the disk is full
        if self.path.name == "batch-00002.parquet":
            self.abort()
            raise ds._write_error(OSError(errno.ENOSPC, "No space left on device"), self.path)
        return original(self, table)

    monkeypatch.setattr(ds.AtomicParquetWriter, "write", full_from_batch_2)
    out = tmp_path / "run"
    status = main(["run", AMPAR, "--t-end", "50", "--trajectories", "40", "--batch-size", "10",
                   "--seed", "2", "--record-events", "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: cannot write ") and "the disk is full" in err
    assert "--resume" in err and len(err.strip().splitlines()) == 1
    assert not list(out.rglob("*.tmp-*"))
    states = ds.dataset_state(out, ds.read_manifest(out))
    assert [states[b].state for b in range(4)] == ["done", "done", "missing", "missing"]
    monkeypatch.setattr(ds.AtomicParquetWriter, "write", original)
    resumed = ss.simulate(model, 50.0, 40, seed=2, record_events=True, batch_size=10, out=out,
                          resume=True)
    assert_same(ss.simulate(model, 50.0, 40, seed=2, record_events=True), resumed)


def test_unwritable_folder_is_one_line(tmp_path, capsys):
    """Refused before the run (exit status 2: nothing was simulated), in the command's
    terms; a folder that fails while a run writes is DatasetWriteError (status 1, above)."""
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    status = main(["run", AMPAR, "--t-end", "5", "--trajectories", "2", "--quiet", "--out",
                   str(blocker / "run")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith(f"error: --out {blocker / 'run'}: cannot create "
                                          "the folder (Not a directory)")
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("  hint: ") and "Traceback" not in err


# ---------------------------------------------------------------- budgets
def test_wall_budget_stops_a_runaway_ensemble_and_exit_status(tmp_path, capsys):
    model = tmp_path / "runaway.toml"
    model.write_text(RUNAWAY)
    out = tmp_path / "run"
    args = ["run", str(model), "--t-end", "100", "--trajectories", "6", "--batch-size", "3",
            "--seed", "1", "--max-wall", "1.5", "--quiet", "--out", str(out)]
    started = time.monotonic()
    assert main(args) == 3                 # stopped trajectories: a failure by default
    assert time.monotonic() - started < 60  # (each trajectory alone takes ~1 min)
    err = capsys.readouterr().err
    assert "interrupted" in err and "--allow-stopped" in err
    states = ds.dataset_state(out, ds.read_manifest(out))
    assert states[0].state == "unfinished" and states[1].state == "missing"
    with pytest.warns(IncompleteDatasetWarning):
        ens = ss.read(out)
    assert set(ens.summary().status) <= {"interrupted", "not_started"}
    assert (ens.n_events[ens.status == 7] > 0).all()
    assert main(args + ["--resume", "--allow-stopped"]) == 0


def test_event_records_never_take_n_times_max_events(tmp_path):
    """A logged runaway: every trajectory wants about max_events records. Buffers grow to
    what each needs, at most max_event_records each, and nothing is lost silently."""
    model = ss.Model.from_dict({
        "agents": {"A": {"sites": {"s": ["u", "p"]}, "initial": [{"count": 5, "s": "u"}]}},
        "reactions": [{"name": "flip", "equation": "A(s=u) -> A(s=p)", "rate": 1.0,
                       "log": True},
                      {"name": "flop", "equation": "A(s=p) -> A(s=u)", "rate": 1.0,
                       "log": True}]})
    with pytest.warns(ss.BudgetWarning) as caught:
        ens = ss.simulate(model, 1e9, 6, seed=1, record_events=True, max_events=400_000,
                          max_event_records=50_000, out=tmp_path / "run")
    assert (ens.status == 1).all() and (ens.n_events == 400_000).all()
    assert len(ens.event_records) == 6 * 50_000
    assert any("were not kept" in str(w.message) for w in caught)
    table = pq.read_table(tmp_path / "run" / "trajectories" / "batch-00000.parquet")
    assert (table.column("n_records").to_numpy() == 400_000).all()


# ---------------------------------------------------------------- shards and merge
def test_shards_merge_to_the_unsharded_run(model, serial, tmp_path, capsys):
    for i in range(3):
        ss.simulate(model, 100.0, 40, seed=3, record_events=True, batch_size=7,
                    out=tmp_path / f"shard{i}", shard=(i, 3))
    assert main(["merge", str(tmp_path / "all")] + [str(tmp_path / f"shard{i}")
                                                    for i in (2, 0)]) == 2
    assert "shards 1/3 are missing" in capsys.readouterr().err
    assert main(["merge", str(tmp_path / "all")] + [str(tmp_path / f"shard{i}")
                                                    for i in range(3)]) == 0
    merged = ss.read(tmp_path / "all")
    assert merged.complete
    assert_same(serial, merged)


def test_shard_out_of_range_is_one_line(capsys, tmp_path):
    status = main(["run", AMPAR, "--t-end", "5", "--shard", "4/4", "--quiet", "--out",
                   str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert status == 2 and err == "error: shard 4/4 is out of range: the index runs from 0 " \
                                  "to 3 for 4 slices\n"
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- sweeps
CHANNEL = {**BLOCKED_CHANNEL, "observables": {"open": "O"}}
STEPS = ["voltage_step:hold_mv=-70,step_mv=0,step_at_s=0.01",
         "voltage_step:hold_mv=-70,step_mv=40,step_at_s=0.01"]


def test_sweep_three_values_by_two_protocols(tmp_path, capsys):
    from stochsyn.engine.ssa import run_trajectories
    model = ss.Model.from_dict(CHANNEL)
    ss.simulate(model, 0.02, 1, seed=0, protocol=ss.protocols.parse(STEPS[0]))
    compiled = len(run_trajectories.overloads)        # the kernel for these types exists
    with pytest.warns(ss.model.UnitWarning, match="'Mg_out' is taken in mM"):    # the 1.0
        ens = ss.sweep(model, {"Mg_out": ["0.5 mM", 1.0, "2 mM"]}, STEPS, t_end=0.02,
                       n_trajectories=4, seed=9, sample_every=0.001, out=tmp_path / "sweep")
    assert len(run_trajectories.overloads) == compiled      # no recompilation
    assert ens.n_trajectories == 24 and list(ens.trajectories) == list(range(24))
    summary = ens.summary()
    assert list(summary.columns[:4]) == ["trajectory", "point", "Mg_out", "protocol"]
    assert len(summary.groupby(["Mg_out", "protocol"])) == 6
    table = ens.describe(["open"])
    assert len(table.xs(0.02, level="time")) == 6               # a row per point
    # More Mg2+ blocks more channels; +40 mV unblocks (the values are not swapped).
    final = table.xs(0.02, level="time")["mean"]
    assert final[("0.5 mM", STEPS[0], "open")] > final[("2 mM", STEPS[0], "open")]
    assert final[("2 mM", STEPS[1], "open")] > final[("2 mM", STEPS[0], "open")]
    # Point 5 (2 mM, the second step) is simulate() from trajectory 20.
    alone = ss.simulate(model.with_parameters(Mg_out="2 mM"), 0.02, 4, seed=9,
                        first_trajectory=20, sample_every=0.001,
                        protocol=ss.protocols.parse(STEPS[1]))
    np.testing.assert_array_equal(ens.counts[20:24], alone.counts)
    assert main(["summarize", str(tmp_path / "sweep"), "open"]) == 0
    printed = capsys.readouterr().out
    assert "Mg_out" in printed and "peak_mean" in printed and "t_peak_s" in printed


def test_sweep_command_resumes(tmp_path, capsys):
    args = ["sweep", AMPAR, "--grid", "k_exo=0.05,0.2", "--t-end", "10", "--trajectories",
            "3", "--seed", "4", "--quiet", "--out", str(tmp_path / "s")]
    assert main(args) == 0
    manifest = ds.read_manifest(tmp_path / "s")
    assert [p["parameters"] for p in manifest["sweep"]["points"]] == [{"k_exo": 0.05},
                                                                      {"k_exo": 0.2}]
    (tmp_path / "s" / "trajectories" / "batch-00001.parquet").unlink()
    capsys.readouterr()
    assert main(args + ["--resume"]) == 0
    assert ss.read(tmp_path / "s").complete


# ---------------------------------------------------------------- reading
def test_lazy_read_pushes_selection_down(model, serial, tmp_path, monkeypatch):
    serial.to_parquet(tmp_path / "run")
    opened = []
    original = pq.read_table
    monkeypatch.setattr(pq, "read_table",
                        lambda path, *a, **k: opened.append((Path(path).parent.name,
                                                             k.get("columns")))
                        or original(path, *a, **k))
    part = ss.read(tmp_path / "run", names=["surface"], trajectories=range(10, 20))
    assert all(folder == "trajectories" for folder, _ in opened)
    np.testing.assert_array_equal(part.values("surface"), serial.values("surface")[10:20])
    assert part.species == ("AMPAR(loc=extra)",)
    assert [c for folder, c in opened if folder == "counts"] == [["AMPAR(loc=extra)"]]
    part.describe()
    part.summary()
    assert not any(folder == "events" for folder, _ in opened)   # never unless asked
    assert set(np.unique(part.event_records.trajectory)) <= set(range(10, 20))


def test_dataset_is_readable_without_stochsyn(serial, tmp_path):
    pandas = pytest.importorskip("pandas")
    serial.to_parquet(tmp_path / "run")
    events = pandas.read_parquet(tmp_path / "run" / "events")
    assert set(events["rule"].astype(str)) == {"exocytosis", "endocytosis"}
    assert events["reaction"].astype(str).str.startswith(("exocytosis[", "endocytosis[")).all()
    assert set(events["state_after"].astype(str)) == {"AMPAR(loc=endo)", "AMPAR(loc=extra)"}
    trajectories = pandas.read_parquet(tmp_path / "run" / "trajectories")
    fired = [c for c in trajectories.columns if c.startswith("fired:")]
    assert sorted(c.split("[")[0] for c in fired) == ["fired:endocytosis", "fired:exocytosis"]
    assert (trajectories[fired].sum(axis=1) == trajectories["n_events"]).all()
    assert set(trajectories["status"].astype(str)) == {"ok"}
    schema = pq.read_schema(tmp_path / "run" / "counts" / "batch-00000.parquet")
    assert schema.field("surface").metadata[b"unit"] == b"molecules"
    assert schema.field("time").metadata[b"unit"] == b"s"
    counts = pandas.read_parquet(tmp_path / "run" / "counts")
    assert (counts["total"] == 70).all()


def test_plot_command_and_method(serial, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    serial.to_parquet(tmp_path / "run")
    assert main(["plot", str(tmp_path / "run"), "--names", "surface", "total", "--out",
                 str(tmp_path / "fig" / "surface.png")]) == 0
    assert (tmp_path / "fig" / "surface.png").read_bytes()[:4] == b"\x89PNG"
    assert not list((tmp_path / "run").rglob("*.png"))
    figure = ss.read(tmp_path / "run").plot("surface", n_examples=2)
    axis = figure.axes[0]
    assert axis.get_ylabel() == "surface (molecules)" and axis.get_xlabel() == "time (s)"
    assert len(axis.lines) == 3                     # 2 trajectories and the mean


def test_progress_bar_moves_per_trajectory(model, capsys):
    ss.simulate(model, 200.0, 12, seed=1, progress=True, batch_size=12, n_threads=1)
    err = capsys.readouterr().err
    assert "12/12" in err and "M events/s" in err
