"""The on-disk ensemble dataset: a folder of Parquet files that survives crashes.

Layout (format ``stochsyn-ensemble-2``)::

    manifest.json                     the run: provenance, labels, sample times, batch plan
    counts/batch-NNNNN.parquet        one row per (trajectory, time): species counts (int64;
                                      float64 for continuous species), observables (float64)
                                      and the membrane voltage beside them
    trajectories/batch-NNNNN.parquet  one row per trajectory: status, events, records,
                                      firings per reaction ("fired:NAME"), sweep columns
    events/batch-NNNNN.parquet        event records (when recorded): reaction, rule, agent
                                      type and states as dictionary-encoded strings

The files need nothing from stochsyn to be read (pandas, polars, DuckDB): labels are
strings, every column's unit is in its Parquet field metadata (key ``unit``) and every
file carries the run's provenance in its key-value metadata (key ``stochsyn``).

Crash safety. Every file is written under a temporary name (``.NAME.tmp-PID``), flushed
to disk (``fsync``) and renamed; the batch's trajectory table is written last and its
metadata (key ``stochsyn-batch``) says how many rows the batch's other files must have.
:func:`batch_state` checks that from the Parquet footers alone, so a resumed run knows
which batches are finished without reading their data, and redoes a truncated one.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._lazy import lazy_module

# Imported when a dataset is first written or read: ``import stochsyn`` and a simulate
# call that returns arrays need neither (pyarrow alone takes ~0.15 s to import).
pa = lazy_module("pyarrow")
pq = lazy_module("pyarrow.parquet")

FORMAT = "stochsyn-ensemble-2"
#: Folders of a dataset holding one file per batch.
PARTS = ("counts", "trajectories", "events")
#: Prefix of the per-reaction firing columns of the trajectory table.
FIRED_PREFIX = "fired:"


class DatasetWriteError(OSError):
    """Results could not be written (full disk, unwritable folder); finished batches are
    kept."""


class DatasetMismatchError(FileExistsError):
    """The folder holds a dataset of a different run (the message names the setting)."""


class DatasetError(ValueError):
    """A dataset that cannot be used as asked: a damaged manifest, shards that do not fit
    together (the message says which and what to do)."""


def batch_name(number: int) -> str:
    return f"batch-{number:05d}.parquet"


def batch_number(name: str) -> int:
    return int(name[len("batch-"):-len(".parquet")])


def _metadata(provenance: Mapping[str, Any]) -> dict[bytes, bytes]:
    return {b"stochsyn": json.dumps(provenance, sort_keys=True, default=str).encode()}


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:          # some filesystems do not open directories; the rename stands
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_error(exc: OSError, path: Path) -> DatasetWriteError:
    reason = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is exceeded",
              errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "the file system is read-only"}.get(exc.errno,
                                                               exc.strerror or str(exc))
    error = DatasetWriteError(exc.errno, f"cannot write {path}: {reason}")
    error.path = path
    return error


class AtomicParquetWriter:
    """One Parquet file written in pieces (row groups) under a temporary name, flushed and
    renamed into place by :meth:`commit`; :meth:`abort` removes the temporary file."""

    def __init__(self, path: Path, schema: pa.Schema, provenance: Mapping[str, Any],
                 extra_metadata: Mapping[bytes, bytes] | None = None):
        self.path = path
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        self.schema = schema.with_metadata({**(schema.metadata or {}), **_metadata(provenance),
                                            **(extra_metadata or {})})
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        except OSError as exc:
            raise _write_error(exc, path) from None
        self.n_rows = 0

    def write(self, table: pa.Table) -> None:
        # The file's schema and metadata are the writer's; a table whose columns already
        # have its types is written as it is: Table.cast would import pyarrow.compute
        # (~0.03-0.05 s of a cold `stochsyn run`) for nothing.
        if not table.schema.equals(self.schema, check_metadata=False):
            table = table.cast(self.schema)
        try:
            self._writer.write_table(table)
        except OSError as exc:
            self.abort()
            raise _write_error(exc, self.path) from None
        self.n_rows += table.num_rows

    def commit(self) -> None:
        try:
            self._writer.close()
            with open(self.tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise _write_error(exc, self.path) from None
        _fsync_directory(self.path.parent)

    def abort(self) -> None:
        try:
            self._writer.close()
        except Exception:        # noqa: BLE001 - the file is being thrown away anyway
            pass
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass


def write_table(table: pa.Table, path: Path, provenance: Mapping[str, Any],
                extra_metadata: Mapping[bytes, bytes] | None = None) -> None:
    """Write ``table`` to ``path`` atomically (temporary file, fsync, rename)."""
    writer = AtomicParquetWriter(path, table.schema, provenance, extra_metadata)
    writer.write(table)
    writer.commit()


def write_json_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise _write_error(exc, path) from None
    _fsync_directory(path.parent)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{directory} is not a stochsyn dataset (no manifest.json)")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path} is damaged ({exc}); the batch files are intact, but the "
                         "run's description is lost: run again into a new folder") from None


def _differences(ours: Any, theirs: Any, where: str, found: list) -> None:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs), key=str):
            name = f"{where}.{key}" if where else str(key)
            if key not in ours or key not in theirs:
                found.append(f"{name} (only in {'this run' if key in ours else 'the folder'})")
            else:
                _differences(ours[key], theirs[key], name, found)
    elif (isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs)
          and ours != theirs):
        for k, (a, b) in enumerate(zip(ours, theirs)):
            _differences(a, b, f"{where}[{k}]", found)
    elif ours != theirs:
        def short(value):
            text = json.dumps(value, default=str)
            return text if len(text) <= 60 else text[:57] + "..."
        found.append(f"{where or 'manifest'}: {short(ours)} in this run, {short(theirs)} "
                     "in the folder")


def manifest_difference(ours: Any, theirs: Any) -> str | None:
    """The setting in which two manifests differ, as ``"name: A in this run, B in the
    folder"`` (``None`` if they are equal): a parameter, the seed or the sample times
    rather than the model hash or spec that follow from them."""
    found: list[str] = []
    _differences(ours, theirs, "", found)
    if not found:
        return None

    def rank(difference):       # the hash and the spec follow from the settings
        name = difference.split(" ")[0]
        return 2 if "model_hash" in name else 1 if "model_spec" in name else 0
    return min(found, key=rank)


#: Manifest entries that describe how a run is cut into work, not what it computes: a
#: resume may change them (more threads, another machine) without changing any result.
_EXECUTION_KEYS = ("n_threads",)


def _comparable(manifest: Mapping[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(manifest, sort_keys=True, default=str))
    for key in _EXECUTION_KEYS:
        out.get("provenance", {}).pop(key, None)
    return out


def prepare_directory(directory: Path, manifest: Mapping[str, Any], *, resume: bool,
                      overwrite: bool, exists_ok: bool = False) -> str:
    """Make ``directory`` ready for a run described by ``manifest``.

    Returns
    -------
    str
        ``"new"`` (created), ``"resume"`` (the same run's folder, to be finished),
        ``"exists"`` (the same run's folder, without ``resume``; only with ``exists_ok``)
        or ``"overwritten"``.

    Raises
    ------
    DatasetMismatchError
        The folder holds another run (the message names the first differing setting), or
        the same run without ``resume``/``overwrite``.
    """
    path = directory / "manifest.json"
    text = json.dumps(manifest, sort_keys=True, indent=1, default=str)
    state = "new"
    if directory.exists() and not directory.is_dir():
        raise DatasetMismatchError(f"{directory} is a file, not a folder: choose another "
                                   "output folder")
    if path.exists() and overwrite:
        remove_dataset(directory)
        state = "overwritten"
    elif path.exists():
        existing = read_manifest(directory)
        difference = manifest_difference(_comparable(manifest), _comparable(existing))
        if difference:
            raise DatasetMismatchError(
                f"{directory} holds the results of a different run ({difference}); choose "
                "another output folder, or pass overwrite=True (--overwrite) to replace it")
        if not resume and exists_ok:
            return "exists"
        if not resume:
            raise DatasetMismatchError(
                f"{directory} already holds this run; pass resume=True (--resume) to "
                "finish it, or overwrite=True (--overwrite) to run it again")
        return "resume"
    elif directory.exists() and any(directory.iterdir()):
        raise DatasetMismatchError(f"{directory} is not empty and holds no stochsyn dataset; "
                                   "choose another output folder")
    write_json_atomic(path, text)
    return state


def remove_dataset(directory: Path) -> None:
    """Delete a dataset's files (only those a dataset has), then its folders if empty."""
    for part in PARTS:
        folder = directory / part
        if folder.is_dir():
            for item in folder.iterdir():
                if item.name.startswith(("batch-", ".batch-")):
                    item.unlink()
            try:
                folder.rmdir()
            except OSError:
                pass
    for item in directory.glob(".manifest.json.tmp-*"):
        item.unlink()
    (directory / "manifest.json").unlink(missing_ok=True)


def clean_temporary_files(directory: Path) -> int:
    """Remove the temporary files a killed writer left behind; returns how many.

    Call it only while no process writes into the folder (at the start of a run)."""
    removed = 0
    for part in PARTS:
        for item in (directory / part).glob(".batch-*.tmp-*"):
            try:
                item.unlink()
                removed += 1
            except OSError:
                pass
    return removed


@dataclass(frozen=True)
class BatchState:
    """What is on disk for one batch."""

    state: str          #: "done", "missing", "broken" or "unfinished"
    reason: str = ""
    n_trajectories: int = 0


def _rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def batch_state(directory: Path, number: int, n_expected: int, n_times: int) -> BatchState:
    """Check one batch from its files' Parquet footers (no data is read).

    A batch is ``done`` when its trajectory table exists, opens, has ``n_expected`` rows
    and says no trajectory was interrupted, and its counts (and events) files have the
    number of rows that table's metadata promises; ``missing`` when the trajectory table
    is absent; ``broken`` when a file is truncated or disagrees; ``unfinished`` when it was
    written with interrupted trajectories (a wall-clock budget ran out).
    """
    name = batch_name(number)
    table_path = directory / "trajectories" / name
    if not table_path.exists():
        return BatchState("missing")
    try:
        footer = pq.ParquetFile(table_path)
        meta = json.loads(footer.schema_arrow.metadata[b"stochsyn-batch"])
        rows = footer.metadata.num_rows
    except Exception as exc:     # noqa: BLE001 - any unreadable footer means redo the batch
        return BatchState("broken", f"{table_path.name} unreadable ({type(exc).__name__})")
    if rows != n_expected or meta.get("n_trajectories") != n_expected:
        return BatchState("broken", f"{rows} trajectories instead of {n_expected}")
    for part, expected in (("counts", n_expected * n_times),
                           ("events", meta.get("n_records", 0))):
        path = directory / part / name
        if part == "events" and not expected and not path.exists():
            continue
        try:
            found = _rows(path)
        except Exception as exc:     # noqa: BLE001
            return BatchState("broken", f"{part}/{name} unreadable ({type(exc).__name__})")
        if found != expected:
            return BatchState("broken", f"{part}/{name} has {found} rows, not {expected}")
    if meta.get("n_interrupted", 0):
        return BatchState("unfinished", f"{meta['n_interrupted']} trajectories interrupted",
                          n_expected)
    return BatchState("done", "", n_expected)


def dataset_state(directory: Path, manifest: Mapping[str, Any]) -> dict[int, BatchState]:
    """The state of every batch of the manifest's plan."""
    n_times = len(manifest["times"])
    return {int(number): batch_state(directory, int(number), int(n), n_times)
            for number, _, n in manifest["batches"]}


def unit_field(name: str, dtype: pa.DataType, unit: str | None) -> pa.Field:
    return pa.field(name, dtype, metadata={b"unit": unit.encode()} if unit else None)


#: The numpy dtype of each Arrow type :func:`numeric_array` builds from buffers.
_NUMPY_OF_ARROW = {"int64": np.int64, "int32": np.int32, "double": np.float64}


def numeric_array(values, dtype: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """``pa.array(values, dtype, mask=mask)`` for a 1-D numeric array, built from its
    buffers: ``pa.array`` imports pandas to ask whether ``values`` is one of its types
    (0.3–0.8 s of a ``stochsyn run`` that writes a dataset), this does not. NaN stays a
    value, as with ``pa.array``; what is not a safe cast to ``dtype`` goes to ``pa.array``.
    """
    kind = _NUMPY_OF_ARROW.get(str(dtype))
    values = np.asarray(values)
    if kind is None or values.ndim != 1 or not np.can_cast(values.dtype, kind, "safe"):
        return pa.array(values, dtype, mask=mask)
    data = pa.py_buffer(np.ascontiguousarray(values, dtype=kind))
    if mask is None or not mask.any():
        return pa.Array.from_buffers(dtype, len(values), [None, data], null_count=0)
    valid = pa.py_buffer(np.packbits(~np.asarray(mask, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(dtype, len(values), [valid, data],
                                 null_count=int(np.count_nonzero(mask)))


def numpy_of(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """``column.to_numpy(zero_copy_only=False)``, read from the buffers for a numeric
    column without nulls (``to_numpy`` imports pandas, :func:`numeric_array`)."""
    if isinstance(column, pa.ChunkedArray):
        column = (column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
                  if column.num_chunks else None)
        if column is None:
            return np.zeros(0)
    kind = _NUMPY_OF_ARROW.get(str(column.type))
    if kind is None or column.null_count:
        return column.to_numpy(zero_copy_only=False)
    start = column.offset
    return np.frombuffer(column.buffers()[1], dtype=kind)[start:start + len(column)]


def string_array(labels: list[str]) -> pa.Array:
    """``pa.array(labels, pa.string())`` from its buffers (without importing pandas,
    :func:`numeric_array`)."""
    encoded = [str(label).encode() for label in labels]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count=0)


def dictionary(codes: np.ndarray, labels: list[str]) -> pa.DictionaryArray:
    """Integer codes (-1 = missing) as a dictionary-encoded string column."""
    codes = np.asarray(codes, dtype=np.int32)
    mask = codes < 0
    indices = numeric_array(np.where(mask, 0, codes), pa.int32(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, string_array(labels))


def codes_of(column: pa.ChunkedArray | pa.Array, labels: list[str]) -> np.ndarray:
    """A dictionary-encoded (or plain string, or integer) column back as codes into
    ``labels`` (-1 for nulls)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], pa.int64())
    if pa.types.is_integer(column.type):        # format 1: integer codes
        return np.asarray(numpy_of(column), dtype=np.int64)
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    lookup = {label: k for k, label in enumerate(labels)}
    mapping = np.array([lookup[v] for v in column.dictionary.to_pylist()] + [-1],
                       dtype=np.int64)
    indices = column.indices
    indices = (numpy_of(indices) if not indices.null_count    # (fill_null imports pandas)
               else indices.fill_null(-1).to_numpy(zero_copy_only=False)).astype(np.int64)
    return mapping[indices]


def merge(out: Path, shards: list[Path], *, overwrite: bool = False) -> dict[str, Any]:
    """Join the datasets of ``stochsyn run --shard i/N`` into one dataset at ``out``.

    Every shard must be complete and come from the same run (the manifests may differ only
    in their shard and batch plan). Batch files are hard-linked where possible (copied
    otherwise); the shards are left as they were.

    Returns
    -------
    dict
        The merged manifest.

    Raises
    ------
    DatasetError
        A shard is incomplete, belongs to another run, is missing, or appears twice.
    """
    import shutil
    if not shards:
        raise DatasetError("give the shard folders to merge")
    manifests = [read_manifest(Path(s)) for s in shards]
    base = dict(manifests[0])
    total = base["provenance"].get("shard", {}).get("count")
    if total is None:
        raise DatasetError(f"{shards[0]} is not a shard (it was not run with --shard i/N)")
    seen: dict[int, Path] = {}
    plan: list[list[int]] = []

    def run_part(m):
        m = _comparable(m)
        m["provenance"].pop("shard", None)
        m.pop("batches", None)
        return m

    for folder, manifest in zip(shards, manifests):
        difference = manifest_difference(run_part(manifest), run_part(base))
        if difference:
            raise DatasetError(f"{folder} is a shard of a different run than {shards[0]} "
                             f"({difference})")
        index = manifest["provenance"]["shard"]["index"]
        if index in seen:
            raise DatasetError(f"shard {index}/{total} given twice: {seen[index]} and {folder}")
        seen[index] = Path(folder)
        states = dataset_state(Path(folder), manifest)
        bad = {n: s for n, s in states.items() if s.state != "done"}
        if bad:
            number, state = next(iter(bad.items()))
            raise DatasetError(f"{folder} (shard {index}/{total}) is not complete: "
                             f"{len(bad)} of {len(states)} batches are missing or broken "
                             f"(batch {number}: {state.state} {state.reason}); finish it "
                             "with --resume first")
        plan += [list(b) for b in manifest["batches"]]
    missing = sorted(set(range(total)) - set(seen))
    if missing:
        raise DatasetError(f"shards {', '.join(f'{i}/{total}' for i in missing)} are missing")
    merged = dict(base)
    merged["provenance"] = dict(base["provenance"])
    merged["provenance"].pop("shard")
    merged["batches"] = sorted(plan)
    prepare_directory(out, merged, resume=False, overwrite=overwrite)
    for folder in seen.values():
        for part in PARTS:
            for item in sorted((folder / part).glob("batch-*.parquet")):
                target = out / part / item.name
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(item, target)
                except OSError:
                    shutil.copyfile(item, target)
    return merged
