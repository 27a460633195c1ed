"""The kernel of plain networks as native code (stochsyn.engine.native): the same bits as
the numba kernel with 1 and 2 threads, a cold process that never imports numba, and every
failure (a damaged file, another key, a symbol the process lacks) falling back to numba
with the same bits.

Runtime: ~5 s with the native file and numba's kernel cached; the first time after an
engine edit, writing the file adds a numba compilation of two small C-ABI entries and
LLVM's code generation of the kernel (~15-25 s of CPU)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.engine import batch, engine_fingerprint, native, ssa

REPO = Path(__file__).resolve().parents[2]
DIMERISATION = REPO / "reactions" / "examples" / "dimerisation.toml"

pytestmark = pytest.mark.skipif(not native.enabled(), reason="native kernels: Linux only")


def _digest(ens) -> str:
    return hashlib.sha256(ens.counts.tobytes() + ens.firings.tobytes()
                          + ens.n_events.tobytes() + ens.status.tobytes()).hexdigest()


@pytest.fixture(scope="module")
def plain_args():
    """The kernel's arguments of a dimerisation run, with the native file written for
    them (as the first numba run of a plain network in a process writes it)."""
    captured = []
    real = batch._kernels

    def spy(mode, args):
        captured.append((mode, args))
        return real(mode, args)

    batch._kernels = spy
    try:
        ss.simulate(ss.load_model(DIMERISATION), 5.0, 3, seed=1, n_threads=1)
    finally:
        batch._kernels = real
    mode, args = captured[0]
    assert mode == batch.PLAIN
    folder = batch.kernel_cache_folder(Path(batch.__file__).parent)
    native.save_plain(ssa.run_trajectories, ssa.wait_for_rows, args, folder,
                      engine_fingerprint())
    stem = folder / native.file_stem(native.argument_spec(args), engine_fingerprint())
    assert stem.with_suffix(".o").exists() and stem.with_suffix(".json").exists()
    return args, stem


def _run(monkeypatch, how, threads, n=400, folder=None):
    """A dimerisation ensemble run by numba (``how`` "numba") or by the native kernel
    when it loads ("native"); returns (ensemble, native kernel calls, threads that made
    them)."""
    with monkeypatch.context() as patch:
        calls = []
        real_run = native.NativeKernel.run

        def counted(self, *args):
            calls.append(threading.get_ident())
            return real_run(self, *args)

        patch.setattr(native.NativeKernel, "run", counted)
        patch.setattr(native, "_kernels", {})        # nothing loaded yet in this "process"
        patch.setattr(native, "_last", None)
        if how == "native":      # as in a process where numba has not loaded the kernel
            numba_holds = batch._numba_holds
            patch.setattr(batch, "_numba_holds",
                          lambda mode: mode != batch.PLAIN and numba_holds(mode))
        else:
            patch.setattr(native, "plain_kernel", lambda *a, **k: None)
        if folder is not None:
            patch.setattr(batch, "kernel_cache_folder", lambda _: folder)
        ens = ss.simulate(ss.load_model(DIMERISATION), 20.0, n, seed=11, n_threads=threads)
        # A worker may still be returning (run_batch does not wait for a worker that has
        # nothing left to claim): wait for it, so it counts here and not in the next run.
        batch.wait_for_workers()
    return ens, len(calls), len(set(calls))


@pytest.mark.parametrize("threads", [1, 2])
def test_the_native_kernel_gives_the_bits_of_numbas(plain_args, monkeypatch, threads):
    by_numba, native_calls, _ = _run(monkeypatch, "numba", threads)
    assert native_calls == 0
    by_native, native_calls, callers = _run(monkeypatch, "native", threads)
    # With 2 threads the batch is shared: the calling thread's pilot, then it claims rows
    # alongside a worker (whose call may come after the batch is done, on a busy machine:
    # how many threads ran rows is not asserted here).
    assert native_calls >= threads and callers <= threads
    assert by_numba.n_events.min() > 0
    np.testing.assert_array_equal(by_native.counts, by_numba.counts)
    np.testing.assert_array_equal(by_native.firings, by_numba.firings)
    np.testing.assert_array_equal(by_native.n_events, by_numba.n_events)
    np.testing.assert_array_equal(by_native.status, by_numba.status)


def test_two_workers_run_the_native_kernel_at_once_with_the_bits_of_one_thread(
        plain_args, monkeypatch):
    """A batch worth more than the calling thread shares (batch.INLINE_WORK per thread)
    goes to two workers after the calling thread's pilot: the kernel is called from the
    calling thread and from the pool (ctypes releases the GIL, so the workers run at once
    when the machine has two cores free), and the bits are those of one thread."""
    one, _, _ = _run(monkeypatch, "native", 1, n=4000)
    two, native_calls, callers = _run(monkeypatch, "native", 2, n=4000)
    assert callers >= 2      # (the ensemble runs it in blocks: a pilot and workers each)
    np.testing.assert_array_equal(two.counts, one.counts)
    np.testing.assert_array_equal(two.firings, one.firings)
    np.testing.assert_array_equal(two.n_events, one.n_events)


def test_a_cold_process_runs_the_native_kernel_without_importing_numba(plain_args,
                                                                       monkeypatch):
    """With 1 and 2 threads (ctypes releases the GIL: the workers run in parallel)."""
    script = textwrap.dedent(f"""
        import hashlib, sys
        import stochsyn as ss
        from stochsyn.engine import native
        model = ss.load_model({str(DIMERISATION)!r})
        for threads in (1, 2):
            ens = ss.simulate(model, 20.0, 400, seed=11, n_threads=threads)
            print(hashlib.sha256(ens.counts.tobytes() + ens.firings.tobytes()
                                 + ens.n_events.tobytes() + ens.status.tobytes()
                                 ).hexdigest())
        print(native.loaded(), "numba" in sys.modules, "llvmlite.binding" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split("\n")
    assert lines[2] == "True False True"
    for threads, line in zip((1, 2), lines):
        assert line == _digest(_run(monkeypatch, "numba", threads)[0]), threads


def _copy_files(stem: Path, folder: Path) -> Path:
    for suffix in (".o", ".json"):
        shutil.copy(stem.with_suffix(suffix), folder / (stem.name + suffix))
    return folder / stem.name


def test_a_damaged_file_falls_back_to_numba_with_the_same_bits(plain_args, monkeypatch,
                                                               tmp_path):
    args, stem = plain_args
    copy = _copy_files(stem, tmp_path)
    expected = _run(monkeypatch, "numba", 2)[0]
    loaded, native_calls, _ = _run(monkeypatch, "native", 2, folder=tmp_path)
    assert native_calls > 0                        # the copy itself loads
    code = bytearray(copy.with_suffix(".o").read_bytes())
    code[len(code) // 2] ^= 0xFF                   # one byte of machine code
    copy.with_suffix(".o").write_bytes(bytes(code))
    damaged, native_calls, _ = _run(monkeypatch, "native", 2, folder=tmp_path)
    assert native_calls == 0
    copy.with_suffix(".o").write_bytes(b"")        # an empty file
    empty, native_calls, _ = _run(monkeypatch, "native", 2, folder=tmp_path)
    assert native_calls == 0
    for ens in (loaded, damaged, empty):
        np.testing.assert_array_equal(ens.counts, expected.counts)


def test_a_missing_symbol_or_another_key_is_never_loaded(plain_args, tmp_path):
    args, stem = plain_args
    spec = native.argument_spec(args)
    copy = _copy_files(stem, tmp_path)
    assert native._load(spec, tmp_path, engine_fingerprint()) is not None
    # another engine (an edit), or other argument types: another file name, not found
    assert native._load(spec, tmp_path, "0" * 64) is None
    other = tuple(("a", "<i4", 1) if k == 0 else kind for k, kind in enumerate(spec))
    assert native._load(other, tmp_path, engine_fingerprint()) is None
    # a symbol the process cannot provide: LLVM would abort, so nothing is loaded
    meta = json.loads(copy.with_suffix(".json").read_text())
    meta["undefined"].append("stochsyn_no_such_symbol")
    copy.with_suffix(".json").write_text(json.dumps(meta))
    assert native._load(spec, tmp_path, engine_fingerprint()) is None
    # a file under this name with another key inside (a digest collision)
    meta["undefined"].pop()
    meta["key"]["cpu"] = "another-cpu"
    copy.with_suffix(".json").write_text(json.dumps(meta))
    assert native._load(spec, tmp_path, engine_fingerprint()) is None


def test_arguments_of_another_layout_go_to_numba(plain_args, monkeypatch):
    """argument_spec (the file's key) and the entry's own checks of numpy's array
    structure refuse the same arrays; a refused call runs on numba, with its bits."""
    args, stem = plain_args
    kernel = native._load(native.argument_spec(args), stem.parent, engine_fingerprint())
    assert kernel.fits(kernel.bind(args))
    for k, value in enumerate(args):
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.size:
            other = list(args)
            other[k] = np.zeros((value.shape[1], 2 * value.shape[0] + 1), value.dtype)[:, 1:]
            assert native.argument_spec(other) is None, k          # not C-contiguous
            assert not kernel.fits(kernel.bind(other)), k
            other[k] = value.astype(np.int32) if value.dtype == np.float64 else value * 1.0
            assert native.argument_spec(other) != native.argument_spec(args), k
            assert not kernel.fits(kernel.bind(other)), k          # another dtype
            other[k] = value.copy()
            other[k].flags.writeable = False
            assert native.argument_spec(other) is None, k
            assert not kernel.fits(kernel.bind(other)), k          # read-only
            other[k] = value.reshape(-1)
            assert not kernel.fits(kernel.bind(other)), k          # another ndim
    # a call whose arrays the entry refuses is run by numba: the same bits
    expected = _run(monkeypatch, "numba", 1)[0]
    with monkeypatch.context() as patch:
        patch.setattr(native.NativeKernel, "fits", lambda self, bound: True)
        patch.setattr(native.NativeKernel, "run", lambda self, bound: False)
        refused = _run(monkeypatch, "native", 1)[0]
    np.testing.assert_array_equal(refused.counts, expected.counts)
    a = np.zeros((4, 3))
    assert native.argument_spec((a, 1.0, 2, None)) == (("a", "<f8", 2), ("f",), ("i",),
                                                         ("n",))
    assert native.argument_spec((a[:, 1],)) is None            # not C-contiguous
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    assert native.argument_spec((frozen,)) is None             # numba types it readonly
    assert native.argument_spec((np.zeros(3, np.float32),)) is None
    assert native.argument_spec((True,)) is None
    assert native.argument_spec(("text",)) is None


def test_a_failed_build_is_not_retried_by_every_process(plain_args, monkeypatch, tmp_path):
    """A build that raises leaves a .failed file (with the error) and no kernel; the next
    save does not build again; a folder that cannot be written is not built for."""
    import stochsyn.engine.native_build as native_build
    args, _ = plain_args
    builds = []

    def failing(*a):
        builds.append(1)
        raise RuntimeError("numba's internals changed")

    monkeypatch.setattr(native_build, "build", failing)
    fingerprint = engine_fingerprint()
    assert not native.save_plain(ssa.run_trajectories, ssa.wait_for_rows, args, tmp_path,
                                 fingerprint)
    stem = tmp_path / native.file_stem(native.argument_spec(args), fingerprint)
    assert "internals changed" in stem.with_suffix(".failed").read_text()
    assert not stem.with_suffix(".json").exists()
    assert not native.save_plain(ssa.run_trajectories, ssa.wait_for_rows, args, tmp_path,
                                 fingerprint)
    assert builds == [1]
    monkeypatch.setattr(native.os, "access", lambda path, mode: False)
    assert not native.save_plain(ssa.run_trajectories, ssa.wait_for_rows, args,
                                 tmp_path / "other", fingerprint)
    assert builds == [1]
