"""Run ensembles and sweeps: seeds, batches, threads and executors, progress, event-buffer
sizing, streaming Parquet output, resume, shards and budgets."""

from __future__ import annotations

import functools
import itertools
import math
import os
import platform
import sys
import threading
import time
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from . import dataset as ds
from . import limits
from ._version import __version__
from .engine import INTERRUPTED, NOT_STARTED, OK, STATUS_TEXT, run_batch
from .engine.batch import default_threads, kernel_mode, max_threads, mode_loaded
from .engine.codes import is_plain
from .engine.native import numba_version
from .engine.seeds import entropy_words, new_root_seed
from .limits import LimitError
from .model.errors import ModelError, shorten
from .model.model import Model
from .network import Network, agent_type_labels, compile
from .results import Ensemble, Events, IncompleteDatasetWarning, read, write_batch

#: Default per-trajectory event budget: large enough for hours of a spine model, small
#: enough that a run whose counts explode stops within minutes instead of never.
DEFAULT_MAX_EVENTS = 10**9
_DEFAULT_EVENT_CAPACITY = 256


class SimulationError(RuntimeError):
    """A run could not produce valid trajectories (the message says which and why)."""


class BudgetWarning(RuntimeWarning):
    """Some trajectories stopped before t_end (event budget or a model problem)."""


class RunWarning(UserWarning):
    """An argument of a run that is allowed but probably not what was meant: a sampling
    interval longer than the run (only t = 0 is sampled), a protocol that goes on after the
    run ends (its later events are not simulated)."""


class HybridWarning(RuntimeWarning):
    """In the hybrid mode, a discrete reaction left a deficit of at least
    :data:`DEFICIT_WARN_MOLECULES` in a continuous species (``Ensemble.continuous_deficit``):
    the species is too scarce to be continuous."""


#: A deficit (``Ensemble.continuous_deficit``) of this many molecules or more warns. A
#: coupled reaction fires only from a positive amount, so a deficit is below the
#: reaction's stoichiometry; one molecule or more means a reaction of stoichiometry > 1
#: took from a pool holding less than one molecule (:mod:`stochsyn.engine.continuous`,
#: "Deficits").
DEFICIT_WARN_MOLECULES = 1.0


def sample_grid(t_end: float, sample_every: float | None = None,
                sample_times: Sequence[float] | None = None) -> np.ndarray:
    """The sample times (s) of a run: an explicit array or ``0, every, 2·every, … <= t_end``.

    Without either argument, 101 evenly spaced times from 0 to ``t_end``.

    Raises
    ------
    LimitError
        More than ``STOCHSYN_MAX_SAMPLES`` sample times (counted before any is made).

    Warns
    -----
    RunWarning
        A sampling interval longer than the run: only t = 0 is sampled.
    """
    if sample_times is not None and sample_every is not None:
        raise ValueError("give either sample_times or sample_every, not both")
    if sample_times is not None:
        if hasattr(sample_times, "__len__") and len(sample_times) > limits.value("samples"):
            raise LimitError(limits.exceeded("samples", "the number of sample times",
                                             len(sample_times)), limits.how_to_raise("samples"))
        times = np.asarray(sample_times, dtype=np.float64).reshape(-1)
        # One pass when all is well (NaN fails every comparison); the reason after.
        if len(times) and (times[0] >= 0 and times[-1] <= t_end
                           and np.count_nonzero(times[1:] >= times[:-1]) == len(times) - 1):
            return times
        if not np.all(np.isfinite(times)) or np.any(times < 0) or np.any(times > t_end):
            raise ValueError(f"sample_times must be finite and within [0, t_end = {t_end}]")
        if np.any(np.diff(times) < 0):
            raise ValueError("sample_times must be sorted in increasing order")
        return times
    if sample_every is None:
        return np.linspace(0.0, t_end, 101)
    if not (sample_every > 0 and math.isfinite(sample_every)):
        raise ValueError(f"sample_every must be a positive number of seconds, not "
                         f"{sample_every!r}")
    n_float = math.floor(t_end / sample_every * (1 + 1e-12)) + 1.0
    if n_float > limits.value("samples"):
        raise LimitError(limits.exceeded(
            "samples", f"sampling every {sample_every:g} s for {t_end:g} s: the number of "
            "sample times", n_float), "sample less often; " + limits.how_to_raise("samples"))
    if sample_every > t_end > 0:
        warnings.warn(f"the sampling interval ({sample_every:g} s) is longer than the run "
                      f"({t_end:g} s): only t = 0 is sampled", RunWarning, stacklevel=4)
    return sample_every * np.arange(int(n_float), dtype=np.float64)


def apply_protocol(model: Model, protocol) -> Model:
    """The model as the protocol sets it up: a voltage clamp, the cooperative dendritic
    depolarisation, and pharmacology as the protocol's timed interventions.

    Presynaptic spikes release transmitter into every input with a ``release`` rule (the
    engine samples each release), postsynaptic spikes add the ``bap`` pulses of the inputs
    that have one; both are passed to the engine by :func:`simulate`.

    With a ``[membrane]``, the clamp becomes ``[membrane] clamp`` (NaN releases it and the
    membrane equation runs on), and the cooperative depolarisation a ``depolarisation``
    rule on the dendrite input (alpha functions, docs/science.md §4). Without one, the clamp is the
    waveform of the input ``V`` (mV) and must hold for the whole run; postsynaptic spikes and
    cooperative depolarisation, which need the membrane equation, are refused.

    Raises
    ------
    ModelError
        The model cannot take the protocol (no input ``V`` to clamp, no input with a
        release or bap rule for the spikes, no dendrite for the depolarisation, no
        membrane for bAPs or a released clamp, unknown parameters in a drug intervention,
        ...).
    """
    from .protocols import Protocol
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol must be a stochsyn.protocols.Protocol, not "
                        f"{type(protocol).__name__}")
    membrane = model.membrane
    spec = dict(model.spec)
    inputs = dict(spec.get("inputs", {}))
    if len(protocol.post_spikes_s):
        if membrane is None:
            raise ModelError(
                f"protocol '{protocol.name}' has {len(protocol.post_spikes_s)} postsynaptic "
                "spikes, but the model has no [membrane] for the backpropagating APs to "
                "depolarise", source=model.source,
                hint="include reactions/modules/membrane.toml")
        if not any(p.trigger == "post" for i in model.inputs for p in i.pulses):
            raise ModelError(f"protocol '{protocol.name}' has postsynaptic spikes, but no "
                             "input of the model has a bap rule", source=model.source,
                             hint="e.g. [inputs.V_dend] unit = \"mV\", value = \"-70 mV\", "
                                  "bap = { amplitude = \"67 mV\", kernel = [[0.7, \"3 ms\"], "
                                  "[0.3, \"40 ms\"]] }")
    spikes_depolarise = bool(len(protocol.pre_spikes_s)) and protocol.depolarisation_mv > 0
    if len(protocol.pre_spikes_s):
        if not any(i.release_probability >= 0 for i in model.inputs):
            raise ModelError(f"protocol '{protocol.name}' has presynaptic spikes, but no "
                             f"input of the model has a release rule", source=model.source,
                             hint="e.g. [inputs.glu] unit = \"mM\", value = 0, release = "
                                  "{ probability = 0.3, peak = \"1 mM\", tau = \"1.2 ms\", "
                                  "cv = 0.5 }")
        if protocol.depolarisation_mv > 0:
            if membrane is None or membrane.dendrite_input < 0:
                raise ModelError(
                    f"protocol '{protocol.name}' adds a cooperative dendritic depolarisation "
                    f"of {protocol.depolarisation_mv:g} mV per spike, which needs a [membrane] "
                    "with a dendrite", source=model.source,
                    hint="include reactions/modules/membrane.toml, or give the protocol "
                         "depolarisation_mv=0")
            name = model.inputs[membrane.dendrite_input].name
            body = dict(inputs[name])
            body["depolarisation"] = {"amplitude": f"{protocol.depolarisation_mv!r} mV",
                                      "tau": f"{protocol.depolarisation_tau_ms!r} ms"}
            inputs[name] = body
    if len(protocol.clamp_times_s):
        if membrane is not None:
            spec["membrane"] = dict(spec["membrane"])
            spec["membrane"]["clamp"] = [
                {"time": float(t), "value": "free" if np.isnan(v) else f"{float(v)!r} mV"}
                for t, v in zip(protocol.clamp_times_s, protocol.clamp_mv)]
        else:
            if "V" not in inputs:
                raise ModelError(f"protocol '{protocol.name}' clamps the voltage, but the "
                                 f"model has no input 'V'", source=model.source,
                                 hint="declare [inputs.V] unit = \"mV\" (the voltage that "
                                      "voltage-dependent rates read)")
            if np.any(np.isnan(protocol.clamp_mv)):
                raise ModelError("releasing a voltage clamp (NaN) needs the membrane "
                                 "equation, and the model has no [membrane]",
                                 source=model.source,
                                 hint="include reactions/modules/membrane.toml, or clamp for "
                                      "the whole run")
            rest = model.inputs[[i.name for i in model.inputs].index("V")].value
            first = float(protocol.clamp_times_s[0])
            hold = float(protocol.clamp_mv[0]) if first == 0.0 else rest
            steps = [{"time": float(t), "value": f"{float(v) - hold!r} mV"}
                     for t, v in zip(protocol.clamp_times_s, protocol.clamp_mv) if t > 0.0]
            inputs["V"] = {"unit": "mV", "value": f"{hold!r} mV", "steps": steps}
    if not (spikes_depolarise or len(protocol.clamp_times_s) or protocol.interventions):
        return model    # spikes only: the engine reads them at run time, the model stays
    spec["inputs"] = inputs
    if protocol.interventions:
        spec["interventions"] = list(spec.get("interventions", [])) + [
            dict(item) for item in protocol.interventions]
    return Model.from_dict(spec, source=model.source)


#: Model -> the part of a run's provenance that depends on the model only (its hash alone
#: costs 6–80 µs), computed once per Model.
_MODEL_PROVENANCE: "weakref.WeakKeyDictionary[Model, dict]" = weakref.WeakKeyDictionary()


def _provenance(network: Network, seed: int, t_end: float, max_events: int) -> dict:
    model = network.model
    static = _MODEL_PROVENANCE.get(model)
    if static is None:
        static = {
            "stochsyn_version": __version__,
            "model_name": model.name,
            "model_source": model.source,
            "model_hash": model.hash,
            "model_spec": model.spec,
            "parameters": {k: str(v) for k, v in model.parameters.items()},
        }
        _MODEL_PROVENANCE[model] = static
    return {
        **static,
        "parameters": dict(static["parameters"]),
        "seed": int(seed),
        "t_end": float(t_end),
        "max_events": int(max_events),
        **_versions(),
    }


@functools.cache
def _versions() -> dict:
    """The provenance's last entries, the same for every run of this process."""
    return {
        "seeding": "trajectory i draws from numpy SeedSequence(seed, spawn_key=(i,)) -> PCG64",
        "numpy_version": np.__version__,
        "numba_version": numba_version(),
        "python_version": platform.python_version(),
    }


#: Memory the event-record buffers of one kernel call may take (bytes): a batch whose
#: trajectories log many records is simulated in slices that fit, and the records of each
#: slice go to disk before the next (one record = 40 bytes).
EVENT_BUFFER_BYTES = 64 * 2**20
_RECORD_BYTES = 40
#: Event records kept per trajectory (by default); a trajectory that logs more keeps its
#: first ones and is reported (``n_records`` in the trajectory table says how many it made).
DEFAULT_MAX_EVENT_RECORDS = 10**7
#: Trajectories per batch by default: a few seconds of work for a typical model, and the
#: unit a Ctrl-C, a crash or a resume loses or redoes at most.
DEFAULT_BATCH_SIZE = 1000


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; finished batches are on disk (the message says how to
    resume)."""


class AlreadyComplete(FileExistsError):
    """The output folder already holds this run, finished."""


@dataclass
class _Block:
    """Trajectories simulated with one model and protocol: a whole run, or one point of a
    sweep."""

    model: Model
    first_trajectory: int
    n_trajectories: int
    spike_times: tuple
    provenance: dict
    sweep_values: dict = field(default_factory=dict)
    network: Network | None = None


@dataclass
class BatchTask:
    """One batch of trajectories: the unit of work sent to a thread, process or Dask
    worker (picklable; the worker compiles the model's arrays once and keeps them)."""

    number: int
    model: Model
    trajectories: tuple          # (first global index, count)
    run_entropy: np.ndarray
    times: np.ndarray
    t_end: float
    max_events: int
    record_events: bool
    max_event_records: int
    spike_times: tuple
    provenance: dict
    sweep_values: dict
    directory: str | None
    n_threads: int | None
    deadline: float | None       # time.time() after which trajectories are interrupted
    network: Network | None = None   # compiled here; not sent to other processes

    def __getstate__(self):
        state = dict(self.__dict__)
        state["network"] = None      # a worker compiles the model itself (once, cached)
        return state


@dataclass
class BatchOutcome:
    """What a batch task reports back (small: the data went to disk when ``directory``)."""

    number: int
    n_trajectories: int
    n_events: int
    kernel_seconds: float
    ensemble: Ensemble | None = None      # the batch itself when not written to disk
    statuses: dict = field(default_factory=dict)
    records_dropped: int = 0


_NETWORKS: dict = {}


def _network_of(model: Model) -> Network:
    """The compiled arrays of ``model`` in an executor's worker process, built once per
    model and kept for the worker's next batches: every task brings a new copy of the
    Model, pickled without its Network (``Model.__getstate__``), so they are kept by the
    model's hash. (The calling process keeps them on the Model: :func:`compile`.)"""
    key = model.hash
    network = _NETWORKS.get(key)
    if network is None:
        if len(_NETWORKS) > 64:
            _NETWORKS.clear()
        network = _NETWORKS[key] = compile(model)
    return network


#: Whether a network runs on the kernels' plain loop, per network (by identity).
_PLAIN: "weakref.WeakKeyDictionary[Network, bool]" = weakref.WeakKeyDictionary()


def _plain(network: Network) -> bool:
    """Whether ``network`` runs on the kernels' plain loop
    (:func:`stochsyn.engine.codes.is_plain`, run here as Python on its arrays: the test
    the kernel compiles), so that the kernel compiled with that loop alone can run it
    (``stochsyn.engine.batch.run_batch(plain=True)``); False with continuous species."""
    plain = _PLAIN.get(network)
    if plain is None:
        plain = _PLAIN[network] = (network.hybrid is None
                                   and bool(is_plain(network.arrays)))
    return plain


def _labels(network: Network, model: Model, times) -> dict:
    """The labels an Ensemble of ``network`` takes (each its own observables' dict)."""
    agent_types = (network.agent_types if model is network.model
                   else agent_type_labels(model))
    return dict(times=times, species=network.species, reactions=network.reactions,
                continuous=network.continuous,
                observables={k: dict(v) for k, v in model.observables.items()},
                agent_types=agent_types)


def run_batch_task(task: BatchTask, stop_flag: np.ndarray | None = None,
                   on_progress=None) -> BatchOutcome:
    """Simulate one batch; write it to ``task.directory`` (if any) or return it.

    Parameters
    ----------
    task : BatchTask
    stop_flag : (1,) int64 ndarray, optional
        Set non-zero to stop (Ctrl-C); default a private one.
    on_progress : callable(done, events), optional
        Called a few times a second with the trajectories finished and their events.
    """
    if stop_flag is None:
        stop_flag = np.zeros(1, dtype=np.int64)
    if task.deadline is not None and time.time() >= task.deadline:
        return BatchOutcome(task.number, 0, 0, 0.0)        # the budget ran out first
    network = task.network if task.network is not None else _network_of(task.model)
    labels = _labels(network, task.model, task.times)
    first, n = task.trajectories
    trajectories = np.arange(first, first + n, dtype=np.int64)
    logs = task.record_events and bool(network.arrays.log.any())
    directory = Path(task.directory) if task.directory is not None else None
    writer = None
    kept: list[Events] = []
    n_written = 0

    def sink(events: Events) -> None:
        nonlocal writer, n_written
        if not len(events):
            return
        if directory is None:
            kept.append(events)
            return
        from .results import events_schema, events_table
        if writer is None:
            writer = ds.AtomicParquetWriter(directory / "events" / ds.batch_name(task.number),
                                            events_schema(), task.provenance)
        writer.write(events_table(events, labels["reactions"], labels["species"],
                                  labels["agent_types"]))
        n_written += len(events)

    def poll():
        if task.deadline is not None and time.time() >= task.deadline:
            stop_flag[0] = 1
        if on_progress is not None:
            done = status >= 0
            on_progress(int(np.count_nonzero(done)), int(results[done, 0].sum()))

    record_voltage = task.model.membrane is not None
    counts = np.empty((n, len(task.times), network.n_species), dtype=np.int64)
    firings = np.empty((n, network.n_reactions), dtype=np.int64)
    status = np.empty(n, dtype=np.int64)
    status.fill(NOT_STARTED)        # (np.full is a Python function: ~1 µs more)
    results = np.zeros((n, _result_columns(network)), dtype=np.float64)
    # (without a membrane or continuous species these are empty, shared: _empty)
    voltages = (np.empty((n, len(task.times)), dtype=np.float64) if record_voltage
                else _empty((n, 0)))
    cont_values = (np.empty((n, len(task.times), len(network.continuous)), dtype=np.float64)
                   if network.continuous else _empty((n, len(task.times), 0)))
    outputs = (counts, firings, status, results, voltages, cont_values)
    started = time.perf_counter()
    dropped = 0
    try:
        dropped = _simulate_rows(network, task, trajectories, outputs, logs, stop_flag, poll,
                                 sink)
        seconds = time.perf_counter() - started
        statuses = _status_counts(status)
        if NOT_STARTED in statuses:     # stopped before these began: nothing simulated
            not_started = status == NOT_STARTED
            counts[not_started] = -1
            firings[not_started] = 0
            results[not_started] = 0.0
            voltages[not_started] = np.nan
            cont_values[not_started] = np.nan
        n_events = results[:, 0].astype(np.int64)
        ensemble = Ensemble(
            counts=counts, trajectories=trajectories, status=status,
            n_events=n_events, t_reached=results[:, 1].copy(),
            firings=firings, event_records=Events.concatenate(kept) if kept else Events.empty(),
            n_releases=results[:, 3].astype(np.int64),
            voltage_mv=voltages if record_voltage else None,
            **_hybrid_fields(cont_values, results, network), provenance=task.provenance,
            sweep_columns={k: np.full(n, v) for k, v in task.sweep_values.items()},
            **labels)
        if directory is not None:
            if writer is not None:
                writer.commit()
                writer = None
            if stop_flag[0] and task.deadline is None:
                return BatchOutcome(task.number, 0, 0, seconds)    # Ctrl-C: not written
            write_batch(directory, task.number, ensemble, events_written=n_written,
                        records_per_trajectory=results[:, 2].astype(np.int64))
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    return BatchOutcome(task.number, n, int(n_events.sum()), seconds,
                        ensemble if directory is None else None, statuses, dropped)


def _status_counts(status: np.ndarray) -> dict[int, int]:
    """How many rows of a batch have each status code."""
    if not np.count_nonzero(status):    # all OK, the usual case (np.unique takes ~10 µs)
        return {OK: len(status)} if len(status) else {}
    codes, how_many = np.unique(status, return_counts=True)
    return {int(c): int(k) for c, k in zip(codes, how_many)}


def _simulate_rows(network, task, trajectories, outputs, logs, stop_flag, poll, sink) -> int:
    """Run every row of the batch through the kernel; event records go to ``sink`` in
    slices whose buffers fit :data:`EVENT_BUFFER_BYTES`. Returns the records dropped
    (beyond ``max_event_records``)."""
    n = len(trajectories)
    if not logs:
        _kernel(network, task, trajectories, outputs, 0, n, 0, stop_flag, poll)
        return 0
    results = outputs[3]
    n_threads = task.n_threads or default_threads()
    capacity = _DEFAULT_EVENT_CAPACITY
    dropped = 0
    start = 0
    first_slice = min(n, 2 * n_threads, 8)      # a pilot sizes the buffers of the rest
    while start < n and not stop_flag[0]:
        rows = first_slice if start == 0 else max(1, EVENT_BUFFER_BYTES
                                                  // (capacity * _RECORD_BYTES))
        stop = min(n, start + rows)
        buffers = _event_buffers(stop - start, capacity)
        _kernel(network, task, trajectories, outputs, start, stop, capacity, stop_flag, poll,
                buffers)
        wanted = results[start:stop, 2].astype(np.int64)
        done = outputs[2][start:stop] >= 0
        overflow = np.flatnonzero((wanted > capacity) & done)
        extra = _redo_overflow(network, task, trajectories, outputs, start, overflow, wanted,
                               stop_flag)
        pieces = []
        for b in range(stop - start):
            if not done[b]:
                continue
            if b in extra:
                piece = extra[b]
            else:       # (capacity bounds k only if a redo was cut short by a stop)
                k = min(int(wanted[b]), capacity)
                piece = Events(np.full(k, trajectories[start + b], dtype=np.int64),
                               *(buf[b, :k] for buf in buffers))
            dropped += int(wanted[b]) - len(piece)
            pieces.append(piece)
        sink(Events.concatenate(pieces))        # one Parquet row group per slice
        if done.any():
            peak = int(wanted[done].max())
            limit = max(1, min(task.max_event_records,
                               EVENT_BUFFER_BYTES // _RECORD_BYTES))
            capacity = min(max(capacity, peak + peak // 4), limit)
        start = stop
    return dropped


def _redo_overflow(network, task, trajectories, outputs, start, overflow, wanted, stop_flag
                   ) -> dict[int, Events]:
    """Simulate again (same bits) the rows whose records overflowed their buffer, with
    buffers that fit them (at most ``max_event_records`` each), in groups whose buffers
    fit :data:`EVENT_BUFFER_BYTES`."""
    counts, firings, status, results, voltages, cont_values = outputs
    pieces: dict[int, Events] = {}
    order = overflow[np.argsort(wanted[overflow], kind="stable")]
    k = 0
    while k < len(order) and not stop_flag[0]:
        need = min(int(wanted[order[k]]), task.max_event_records)
        group = [order[k]]
        k += 1
        while k < len(order):
            size = min(int(wanted[order[k]]), task.max_event_records)
            if (len(group) + 1) * size * _RECORD_BYTES > EVENT_BUFFER_BYTES:
                break
            group.append(order[k])
            need = size
            k += 1
        rows = start + np.asarray(group)
        m = len(rows)
        redo = (np.empty((m,) + counts.shape[1:], dtype=np.int64),
                np.empty((m, firings.shape[1]), dtype=np.int64),
                np.empty(m, dtype=np.int64), np.zeros((m, results.shape[1])),
                np.empty((m,) + voltages.shape[1:]), np.empty((m,) + cont_values.shape[1:]))
        bigger = _event_buffers(m, need)
        _kernel(network, task, trajectories[rows], redo, 0, m, need, stop_flag, None, bigger)
        if stop_flag[0] and not np.all(redo[2] >= 0):
            break
        if not (np.array_equal(redo[0], counts[rows]) and np.array_equal(redo[2],
                                                                          status[rows])):
            raise SimulationError("internal error: a repeated trajectory differed from "
                                  "its first run; please report this as a bug")
        for q, b in enumerate(group):
            kept = min(int(wanted[b]), need)
            pieces[int(b)] = Events(np.full(kept, trajectories[start + b], dtype=np.int64),
                                    *(buf[q, :kept] for buf in bigger))
    return pieces


def _kernel(network, task, trajectories, outputs, first, last, capacity, stop_flag, poll,
            buffers=None):
    """Rows ``first … last-1`` of ``outputs`` through :func:`stochsyn.engine.run_batch`."""
    if first == 0 and last == len(trajectories):
        counts, firings, status, results, voltages, cont_values = outputs
    else:
        counts, firings, status, results, voltages, cont_values = (a[first:last]
                                                                   for a in outputs)
        trajectories = trajectories[first:last]
    if buffers is None:
        buffers = (_event_buffers(last - first, capacity) if capacity
                   else _no_event_buffers(last - first))
    run_batch(network.packed, task.run_entropy, trajectories, task.times,
              task.t_end, task.max_events, network.every_species,
              counts, firings, *buffers, status, results, n_threads=task.n_threads,
              spike_times=task.spike_times[0], post_spike_times=task.spike_times[1],
              voltages=voltages, cont_values=cont_values, hybrid=network.hybrid,
              stop_flag=stop_flag, poll=poll, plain=_plain(network))


def _result_columns(network: Network) -> int:
    """Columns of the kernel's per-trajectory results: 9, and in the hybrid mode 12 and
    one more per flux (its total; stochsyn.engine.ssa.simulate_trajectory)."""
    return 9 if network.hybrid is None else 12 + len(network.hybrid.fx_rx)


def _hybrid_fields(cont_values, results, network) -> dict:
    """The Ensemble's fields of the hybrid mode (None without continuous species)."""
    if cont_values.shape[2] == 0:
        return {}
    flux_totals = np.zeros((len(results), network.n_reactions))
    fluxes = network.hybrid.fx_rx
    flux_totals[:, fluxes] = results[:, 12:12 + len(fluxes)]
    return dict(continuous_values=cont_values, ode_steps=results[:, 4].astype(np.int64),
                ode_rejected=results[:, 5].astype(np.int64),
                continuous_deficit=results[:, 6].copy(),
                ode_restarts=results[:, 7].astype(np.int64), flux_totals=flux_totals,
                ode_linear=results[:, 9].astype(np.int64),
                ode_linear_refused=results[:, 10].astype(np.int64),
                ode_linear_refreshes=results[:, 11].astype(np.int64))


@functools.lru_cache(maxsize=64)
def _empty(shape: tuple) -> np.ndarray:
    """A float64 array of ``shape`` with no element (one per shape, shared: nothing can be
    written to it)."""
    assert 0 in shape
    return np.empty(shape, dtype=np.float64)


@functools.lru_cache(maxsize=16)
def _no_event_buffers(n: int):
    """:func:`_event_buffers` of capacity 0 (nothing is recorded; empty arrays, shared)."""
    return _event_buffers(n, 0)


def _event_buffers(n: int, capacity: int):
    return (np.empty((n, capacity), dtype=np.float64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64))



def _warm_up(network: Network, times, notify) -> float:
    """Load (or compile, the first time on a machine) the kernel for ``network``'s types
    by running it on zero trajectories, outside any timing; says so via ``notify`` when it
    takes long. Returns the seconds it took (0 when this process has loaded it before:
    needed once per mode and process, its watcher thread alone costs ~0.1 ms a call)."""
    if mode_loaded(kernel_mode(network.hybrid, _plain(network))):
        return 0.0
    task = BatchTask(0, None, (0, 0), entropy_words(0), times, 0.0, 0, False, 0,
                     (np.zeros(0), np.zeros(0)), {}, {}, None, 1, None)
    outputs = (np.empty((0, len(times), network.n_species), dtype=np.int64),
               np.empty((0, network.n_reactions), dtype=np.int64),
               np.empty(0, dtype=np.int64), np.zeros((0, _result_columns(network))),
               np.empty((0, len(times) if network.model.membrane is not None else 0)),
               np.empty((0, len(times), len(network.continuous))))
    done = threading.Event()
    started = time.perf_counter()

    def tell():
        if not done.wait(1.5):
            notify("loading the compiled kernels ..." if _kernel_cached() else
                   "compiling kernels (first run only; numba keeps them in its cache) ...")

    watcher = threading.Thread(target=tell, daemon=True)
    watcher.start()
    try:
        _kernel(network, task, np.zeros(0, dtype=np.int64), outputs, 0, 0, 0,
                np.zeros(1, dtype=np.int64), None)
    finally:
        done.set()
    seconds = time.perf_counter() - started
    if seconds > 1.5:
        notify(f"kernels ready after {seconds:.1f} s (not counted in events/s)")
    return seconds


def _kernel_cached() -> bool:
    """Whether numba's on-disk cache holds the kernel (from an earlier run); a guess that
    only chooses the wording of a notice."""
    from .engine.ssa import run_trajectories
    try:
        return Path(run_trajectories._cache._cache_file._index_path).exists()
    except (AttributeError, TypeError, OSError):       # numba internals changed
        return False


def _concatenate(parts, labels, provenance) -> Ensemble:
    """The parts as one Ensemble; ``labels``: a dict of labels, or a function that makes
    it (not called for one part)."""
    if len(parts) == 1 and not parts[0].sweep_columns:
        parts[0].provenance = provenance
        return parts[0]
    if callable(labels):
        labels = labels()
    n_species = len(labels["species"])
    n_reactions = len(labels["reactions"])
    if not parts:
        n_times = len(labels["times"])
        return Ensemble(counts=np.zeros((0, n_times, n_species), np.int64),
                        trajectories=np.zeros(0, np.int64), status=np.zeros(0, np.int64),
                        n_events=np.zeros(0, np.int64), t_reached=np.zeros(0),
                        firings=np.zeros((0, n_reactions), np.int64), provenance=provenance,
                        **labels)
    return Ensemble(
        counts=np.concatenate([p.counts for p in parts]),
        trajectories=np.concatenate([p.trajectories for p in parts]),
        status=np.concatenate([p.status for p in parts]),
        n_events=np.concatenate([p.n_events for p in parts]),
        t_reached=np.concatenate([p.t_reached for p in parts]),
        n_releases=np.concatenate([p.n_releases for p in parts]),
        voltage_mv=(np.concatenate([p.voltage_mv for p in parts])
                    if parts[0].voltage_mv is not None else None),
        **({} if parts[0].continuous_values is None else dict(
            continuous_values=np.concatenate([p.continuous_values for p in parts]),
            ode_steps=np.concatenate([p.ode_steps for p in parts]),
            ode_rejected=np.concatenate([p.ode_rejected for p in parts]),
            continuous_deficit=np.concatenate([p.continuous_deficit for p in parts]),
            ode_restarts=np.concatenate([p.ode_restarts for p in parts]),
            ode_linear=np.concatenate([p.ode_linear for p in parts]),
            ode_linear_refused=np.concatenate([p.ode_linear_refused for p in parts]),
            ode_linear_refreshes=np.concatenate([p.ode_linear_refreshes for p in parts]),
            flux_totals=np.concatenate([p.flux_totals for p in parts]))),
        firings=np.concatenate([p.firings for p in parts]),
        event_records=Events.concatenate([p.event_records for p in parts]),
        sweep_columns={k: np.concatenate([p.sweep_columns[k] for p in parts])
                       for k in parts[0].sweep_columns},
        provenance=provenance, **labels)


def _check_shard(shard) -> tuple[int, int]:
    index, count = (int(v) for v in shard)
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {index}/{count} is out of range: the index runs from 0 to "
                         f"{count - 1} for {count} slices")
    return index, count


def simulate(model: Model | str | os.PathLike, t_end: float, n_trajectories: int = 1,
             seed: int | None = None, *, sample_every: float | None = None,
             sample_times: Sequence[float] | None = None, record_events: bool = False,
             max_events: int = DEFAULT_MAX_EVENTS, n_threads: int | None = None,
             batch_size: int | None = None, first_trajectory: int = 0,
             progress: bool = False, out: str | os.PathLike | None = None,
             resume: bool = False, overwrite: bool = False, on_stop: str = "warn",
             protocol=None, executor=None, shard: tuple[int, int] | None = None,
             max_wall: float | None = None,
             max_event_records: int = DEFAULT_MAX_EVENT_RECORDS) -> Ensemble:
    """Simulate an ensemble of independent exact trajectories (hybrid ones for a model
    with continuous species: ``Model.with_continuous``, docs/model-format.md).

    Parameters
    ----------
    model : Model or path
        A :class:`Model` or the path of a model file.
    t_end : float
        End time (s); every trajectory starts at t = 0.
    n_trajectories : int
    seed : int, optional
        Root seed. Trajectory i draws only from ``SeedSequence(seed, spawn_key=(i,))``, so it
        is the same bits whatever the thread count, batch size, executor or machine.
        Without a seed a fresh one is drawn and recorded in the provenance.
    sample_every : float, optional
        Sampling interval (s); samples at 0, Δ, 2Δ, … <= t_end.
    sample_times : array of float, optional
        Explicit sample times (s), sorted, within [0, t_end]. Default: 101 times.
    record_events : bool
        Keep the event records of reactions marked ``log = true``.
    max_events : int
        Event budget per trajectory; a trajectory that exhausts it stops with status
        ``max_events`` (see ``on_stop``).
    n_threads : int, optional
        Threads running trajectories in parallel within a batch (default: numba's
        setting, i.e. the cores; 1 on the workers of an ``executor``).
    batch_size : int, optional
        Trajectories per batch: the unit of work, of a file and of a resume (default
        min(n_trajectories, 1000)).
    first_trajectory : int
        Global index of the first trajectory.
    progress : bool
        Show a progress bar (tqdm.auto: terminal or notebook) that moves per trajectory,
        with events/s; and a notice while kernels compile (first run only).
    out : path, optional
        Write the ensemble to this Parquet dataset batch by batch as they finish; then
        only the finished batches' summaries stay in memory and the Ensemble returned
        reads the data from disk when used (:func:`stochsyn.read`).
    resume : bool
        With ``out``: keep the batches of the same run already there (each file's
        integrity checked from its footer), clean temporary files of killed runs, and
        simulate only missing, broken or interrupted batches.
    overwrite : bool
        With ``out``: replace the dataset already there.
    on_stop : {"warn", "raise", "ignore"}
        What to do when trajectories stop before t_end: their samples after the stop are
        -1 in ``counts`` (NaN in tables) and ``status`` says why.
    protocol : stochsyn.protocols.Protocol, optional
        Stimulation; see :func:`apply_protocol`. Recorded in the provenance.
    executor : concurrent.futures.Executor, optional
        Run batches there (``ProcessPoolExecutor``, ``dask.distributed.Client(...)
        .get_executor()``, ...), one task per batch. With ``out`` the workers write their
        batches themselves (a folder every worker can reach); without, they send them
        back. Default: in this process, on ``n_threads`` threads.
    shard : (i, N), optional
        Run only the i-th of N contiguous slices of the batches (job arrays); join the
        slices' folders with :func:`stochsyn.dataset.merge` (``stochsyn merge``).
    max_wall : float, optional
        Wall-clock budget of the run (s): when it runs out, trajectories in flight stop
        with status ``interrupted`` (their batch is written, marked unfinished) and no new
        batch starts; ``resume`` finishes the run later.
    max_event_records : int
        Event records kept per trajectory; one that logs more keeps its first ones (a
        warning says so; the trajectory table's ``n_records`` says how many it made).

    Returns
    -------
    Ensemble

    Raises
    ------
    RunInterrupted
        Ctrl-C: finished batches are kept in ``out``; the message says how to resume.
    AlreadyComplete
        ``out`` holds this run, finished (read it with :func:`stochsyn.read`).
    stochsyn.dataset.DatasetMismatchError
        ``out`` holds another run (the message names the setting that differs).
    stochsyn.dataset.DatasetWriteError
        The disk is full or the folder unwritable (finished batches are kept).
    """
    model = _as_model(model)
    if protocol is not None:
        model = apply_protocol(model, protocol)
    options = _RunOptions.make(t_end, n_trajectories, seed, sample_every, sample_times,
                               record_events, max_events, n_threads, batch_size, progress,
                               on_stop, max_wall, max_event_records, first_trajectory)
    _check_run(model, options, out, [protocol])
    network = compile(model)
    provenance = _provenance(network, options.seed, options.t_end, options.max_events)
    provenance["protocol"] = protocol.to_dict() if protocol is not None else None
    provenance["record_events"] = options.record_events
    block = _Block(model, options.first_trajectory, options.n_trajectories,
                   _spike_times(protocol), provenance, network=network)
    return _run_blocks([block], options, model, out, resume, overwrite, executor, shard)


@dataclass
class _RunOptions:
    t_end: float
    n_trajectories: int
    seed: int
    times: np.ndarray
    record_events: bool
    max_events: int
    n_threads: int | None
    batch_size: int
    progress: bool
    on_stop: str
    max_wall: float | None
    max_event_records: int
    first_trajectory: int

    @classmethod
    def make(cls, t_end, n_trajectories, seed, sample_every, sample_times, record_events,
             max_events, n_threads, batch_size, progress, on_stop, max_wall,
             max_event_records, first_trajectory):
        t_end = float(t_end)
        if not (math.isfinite(t_end) and t_end >= 0):
            raise ValueError(f"t_end must be a finite time >= 0 (s), not {t_end!r}")
        _whole("n_trajectories", n_trajectories, 0)
        _whole("max_events", max_events, 0, limits.INT64_MAX)
        if on_stop not in ("warn", "raise", "ignore"):
            raise ValueError("on_stop must be 'warn', 'raise' or 'ignore'")
        if n_threads is not None and (isinstance(n_threads, bool)
                                      or not isinstance(n_threads, (int, np.integer))
                                      or n_threads < 1):
            raise ValueError(f"n_threads must be a positive integer, not {n_threads!r}")
        if n_threads is not None and n_threads > max_threads():
            available = max_threads()
            raise LimitError(f"the number of threads must be a whole number from 1 to "
                             f"{available}, not {n_threads!r}",
                             f"{available} is NUMBA_NUM_THREADS: by default the number of "
                             "cores of this machine")
        if max_wall is not None and not (max_wall > 0 and math.isfinite(max_wall)):
            raise ValueError(f"max_wall must be a positive number of seconds, not "
                             f"{max_wall!r}")
        _whole("max_event_records", max_event_records, 1)
        _whole("first_trajectory", first_trajectory, 0)
        n_trajectories = int(n_trajectories)
        if batch_size is None:
            batch_size = max(1, min(n_trajectories, DEFAULT_BATCH_SIZE))
        _whole("batch_size", batch_size, 1)
        if seed is None:
            seed = new_root_seed()
        return cls(t_end, n_trajectories, int(seed), sample_grid(t_end, sample_every,
                                                                 sample_times),
                   bool(record_events), int(max_events), n_threads, int(batch_size),
                   bool(progress), on_stop, max_wall, int(max_event_records),
                   int(first_trajectory))


def _whole(name: str, value, minimum: int, maximum: int | None = None) -> None:
    """Refuse a count that is not a whole number in [``minimum``, ``maximum``]."""
    if type(value) is int and minimum <= value and (maximum is None or value <= maximum):
        return          # the usual case, without the checks below (~0.5 µs a call)
    try:
        whole = int(value) == value
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or value < minimum or (maximum is not None and value > maximum):
        kind = "non-negative" if minimum == 0 else f">= {minimum}"
        if maximum is not None:
            kind = f"{kind} (and <= {maximum:,})"
        raise ValueError(f"{name} must be a {kind} integer, not {value!r}")


def _check_run(model: Model, options: "_RunOptions", out, protocols,
               n_points: int = 1) -> None:
    """Checks of a run's arguments against each other and the limits, before anything is
    compiled, allocated or written; the messages name no Python argument, so that the
    command line can pass them on. ``protocols``: those of the run (None for none);
    ``n_points``: the points of a sweep, each with ``options.n_trajectories``.

    Raises
    ------
    ValueError
        An output path that is a file.
    LimitError
        Trajectory indices beyond int64, sample buffers of one batch larger than
        ``STOCHSYN_MAX_BATCH_MB``.

    Warns
    -----
    RunWarning
        A protocol that goes on after the run ends.
    """
    last = options.first_trajectory + n_points * options.n_trajectories - 1
    if last > limits.INT64_MAX:
        raise LimitError(f"trajectory indices would run from {options.first_trajectory:,} to "
                         f"{last:,}, past the largest index, 2^63 - 1 "
                         f"({limits.INT64_MAX:,})", "start the numbering lower")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"the output path {out} is a file; results go into a folder (it is "
                         "created): give a folder name")
    batch = min(options.batch_size, max(options.n_trajectories, 1))
    n_times = len(options.times)
    n_recorded = model.n_species + len(model.continuous) + (model.membrane is not None)
    batch_mb = batch * n_times * max(n_recorded, 1) * 8 / 1e6
    if batch_mb > limits.value("batch_mb"):
        raise LimitError(limits.exceeded(
            "batch_mb", f"the sample buffer of one batch ({batch:,} trajectories × "
            f"{n_times:,} sample times × {n_recorded:,} species, 8 bytes each)", batch_mb),
            "sample less often, or run fewer trajectories per batch; "
            + limits.how_to_raise("batch_mb"))
    for protocol in protocols:
        if protocol is None or protocol.duration_s <= options.t_end:
            continue
        later = {what: int(np.count_nonzero(np.asarray(times) > options.t_end))
                 for what, times in (("presynaptic spikes", protocol.pre_spikes_s),
                                     ("postsynaptic spikes", protocol.post_spikes_s),
                                     ("clamp steps", protocol.clamp_times_s),
                                     ("interventions", [i["time"] for i in
                                                        protocol.interventions]))}
        lost = ", ".join(f"{n:,} {what}" for what, n in later.items() if n)
        if lost:
            warnings.warn(f"the protocol '{shorten(protocol.name)}' goes on until "
                          f"{protocol.duration_s:g} s, after the end of the run "
                          f"({options.t_end:g} s): {lost} come later and are not simulated; "
                          "run longer or shorten the protocol", RunWarning, stacklevel=3)


def _as_model(model) -> Model:
    if type(model) is Model:
        return model        # (isinstance with os.PathLike, an ABC, costs ~1 µs)
    if isinstance(model, (str, os.PathLike)):
        from .model import load_model
        model = load_model(model)
    if not isinstance(model, Model):
        raise TypeError(f"model must be a stochsyn Model or a file path, not "
                        f"{type(model).__name__}")
    return model


#: The spike times of a run without a protocol (empty, so shared).
_NO_SPIKES = (np.zeros(0), np.zeros(0))


def _spike_times(protocol) -> tuple:
    if protocol is None:
        return _NO_SPIKES
    return (np.asarray(protocol.pre_spikes_s, dtype=np.float64),
            np.asarray(protocol.post_spikes_s, dtype=np.float64))


def _plan(blocks, batch_size) -> list[tuple[int, int, int, int]]:
    """(batch number, block, first trajectory, count) of every batch; a batch never spans
    two blocks (sweep points)."""
    plan = []
    for k, block in enumerate(blocks):
        for start in range(0, block.n_trajectories, batch_size):
            n = min(batch_size, block.n_trajectories - start)
            plan.append((len(plan), k, block.first_trajectory + start, n))
    return plan


def _run_blocks(blocks, options, model, out, resume, overwrite, executor, shard,
                sweep_manifest=None) -> Ensemble:
    """Run the batches of ``blocks`` (with ``out``: into a dataset) and return the
    Ensemble (read lazily from ``out`` when given)."""
    network = blocks[0].network

    def labels():
        return _labels(network, blocks[0].model, options.times)

    plan = _plan(blocks, options.batch_size)
    provenance = dict(blocks[0].provenance) if sweep_manifest is None else \
        dict(sweep_manifest["provenance"])
    if shard is not None:
        index, count = _check_shard(shard)
        lo, hi = len(plan) * index // count, len(plan) * (index + 1) // count
        plan = plan[lo:hi]
        provenance["shard"] = {"index": index, "count": count}
    run_entropy = entropy_words(options.seed)
    notify = _notifier(options.progress)
    directory = Path(out) if out is not None else None
    todo = plan
    if directory is not None:
        labels = labels()
        provenance.update(n_trajectories=sum(b.n_trajectories for b in blocks),
                          first_trajectory=options.first_trajectory,
                          batch_size=options.batch_size, record_events=options.record_events)
        manifest = Ensemble(counts=np.zeros((0, len(options.times), len(labels["species"])),
                                            np.int64),
                            trajectories=np.zeros(0, np.int64), status=np.zeros(0, np.int64),
                            n_events=np.zeros(0, np.int64), t_reached=np.zeros(0),
                            firings=np.zeros((0, len(labels["reactions"])), np.int64),
                            voltage_mv=(np.zeros((0, len(options.times)))
                                        if model.membrane is not None else None),
                            provenance=provenance, **labels).manifest()
        manifest["batches"] = [[number, first, n] for number, _, first, n in plan]
        if sweep_manifest is not None:
            manifest["sweep"] = sweep_manifest["sweep"]
        state = ds.prepare_directory(directory, manifest, resume=resume, overwrite=overwrite,
                                     exists_ok=True)
        provenance = manifest["provenance"]
        if state in ("resume", "exists"):
            removed = ds.clean_temporary_files(directory)
            states = ds.dataset_state(directory, manifest)
            todo = [item for item in plan if states[item[0]].state != "done"]
            if state == "exists":
                if todo:
                    raise ds.DatasetMismatchError(
                        f"{directory} holds an unfinished run with these settings "
                        f"({len(plan) - len(todo)} of {len(plan)} batches done); pass "
                        "resume=True (--resume) to finish it, or overwrite=True "
                        "(--overwrite) to start again")
                raise AlreadyComplete(
                    f"{directory} already holds this run, complete "
                    f"({sum(n for *_, n in plan)} trajectories); read it with "
                    f"stochsyn.read({str(directory)!r}), or pass overwrite=True "
                    "(--overwrite) to run it again")
            broken = [f"{n} ({states[n].state}: {states[n].reason})" for n, *_ in todo
                      if states[n].state in ("broken", "unfinished")]
            notify(f"resuming {directory}: {len(plan) - len(todo)} of {len(plan)} batches "
                   f"done" + (f"; redoing {len(broken)}: {', '.join(broken[:5])}"
                              if broken else "")
                   + (f"; removed {removed} temporary files of a killed run"
                      if removed else ""))
    deadline = time.time() + options.max_wall if options.max_wall is not None else None
    tasks = [BatchTask(number, blocks[k].model, (first, n), run_entropy, options.times,
                       options.t_end, options.max_events, options.record_events,
                       options.max_event_records, blocks[k].spike_times,
                       blocks[k].provenance if sweep_manifest is not None else provenance,
                       blocks[k].sweep_values,
                       str(directory) if directory is not None else None,
                       options.n_threads if executor is None else (options.n_threads or 1),
                       deadline, blocks[k].network)
             for number, k, first, n in todo]
    total = sum(n for *_, n in todo)
    outcomes: list[BatchOutcome] = []
    bar = _Bar(False, 0, "")
    try:
        if executor is None and tasks:
            _warm_up(network, options.times, notify)
        bar = _Bar(options.progress, total, model.name)     # its clock starts after compiling
        if executor is None:
            _run_here(tasks, bar, outcomes)
        else:
            _run_on(executor, tasks, bar, outcomes)
    except KeyboardInterrupt:
        bar.close()
        finished = len(plan) - len(todo) + sum(1 for o in outcomes if o.n_trajectories)
        where = (f"; {finished} of {len(plan)} batches are finished and kept in "
                 f"{directory}: run the same command with --resume (simulate(..., "
                 "resume=True)) to finish" if directory is not None else "")
        raise RunInterrupted(f"interrupted{where}") from None
    bar.close()
    dropped = sum(o.records_dropped for o in outcomes)
    n_done = sum(o.n_trajectories for o in outcomes)
    if dropped:
        warnings.warn(f"{dropped} event records were not kept: some trajectories logged "
                      f"more than max_event_records = {options.max_event_records} (their "
                      "first ones are kept; n_records in the trajectory table says how many "
                      "each made)", BudgetWarning, stacklevel=3)
    if directory is not None:
        with warnings.catch_warnings():
            if deadline is None:
                warnings.simplefilter("error", IncompleteDatasetWarning)
            else:
                warnings.simplefilter("ignore", IncompleteDatasetWarning)
            ens = read(directory)
    else:
        parts = [o for o in outcomes if o.ensemble is not None]
        if len(parts) > 1:
            parts.sort(key=lambda o: o.number)
        ens = _concatenate([o.ensemble for o in parts], labels, provenance)
        ens.complete = n_done == total and not any(
            INTERRUPTED in o.statuses or NOT_STARTED in o.statuses for o in outcomes)
    if deadline is not None and not ens.complete:
        ens.complete = False
    _check_status(ens, options.on_stop, options.max_events,
                  skipped=total - n_done, network=network)
    return ens


def _run_here(tasks, bar, outcomes) -> None:
    """Batches one after another in this process (threads within each batch)."""
    stop_flag = np.zeros(1, dtype=np.int64)
    for task in tasks:
        outcome = run_batch_task(task, stop_flag, bar.batch_progress())
        bar.finish_batch(outcome)
        outcomes.append(outcome)
        if stop_flag[0]:            # the wall-clock budget ran out
            break


def _run_on(executor, tasks, bar, outcomes) -> None:
    """One task per batch on ``executor``; progress as batches finish."""
    from concurrent.futures import FIRST_COMPLETED, wait
    futures = {executor.submit(run_batch_task, task): task for task in tasks}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                outcome = future.result()
                bar.finish_batch(outcome, whole=True)
                outcomes.append(outcome)
    except BaseException:
        for future in pending:
            future.cancel()
        raise


class _Bar:
    """Progress per trajectory (tqdm.auto) with events/s of kernel time."""

    def __init__(self, enabled, total, name):
        self.bar = None
        self.events = 0
        self.seconds = 0.0
        self.done = 0
        if enabled and total:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, unit="traj", desc=name, dynamic_ncols=True)
        self._started = None

    def batch_progress(self):
        if self.bar is None:
            return None
        self._started = time.perf_counter()
        shown = [0]

        def update(done, events):
            self.bar.update(done - shown[0])
            shown[0] = done
            seconds = self.seconds + time.perf_counter() - self._started
            self._postfix(self.events + events, seconds)

        self._shown = shown
        return update

    def _postfix(self, events, seconds):
        if seconds > 0:
            self.bar.set_postfix_str(f"{events / seconds / 1e6:.3g} M events/s", refresh=False)

    def finish_batch(self, outcome, whole=False):
        self.events += outcome.n_events
        self.seconds += outcome.kernel_seconds
        if self.bar is None:
            return
        if whole:
            self.bar.update(outcome.n_trajectories)
        else:
            self.bar.update(outcome.n_trajectories - self._shown[0])
        self._postfix(self.events, self.seconds)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _notifier(enabled):
    def notify(message):
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
            tqdm.write(message, file=sys.stderr)
        except Exception:        # noqa: BLE001 - a notice must never stop a run
            print(message, file=sys.stderr)
    return notify


def sweep(model: Model | str | os.PathLike, grid: Mapping[str, Sequence] | None = None,
          protocols: Sequence | None = None, *, t_end: float, n_trajectories: int = 1,
          seed: int | None = None, sample_every: float | None = None,
          sample_times: Sequence[float] | None = None, record_events: bool = False,
          max_events: int = DEFAULT_MAX_EVENTS, n_threads: int | None = None,
          batch_size: int | None = None, progress: bool = False,
          out: str | os.PathLike | None = None, resume: bool = False,
          overwrite: bool = False, on_stop: str = "warn", executor=None,
          shard: tuple[int, int] | None = None, max_wall: float | None = None,
          max_event_records: int = DEFAULT_MAX_EVENT_RECORDS) -> Ensemble:
    """Simulate every combination of parameter values and protocols into one ensemble.

    Point p of the sweep (parameters varying slowest in the order of ``grid``, then the
    protocols) is simulated with ``model.with_parameters(**values)`` and its protocol,
    ``n_trajectories`` trajectories with the global indices ``p·n … p·n + n - 1`` (so
    every trajectory has its own random stream, and a point is reproduced by
    :func:`simulate` with ``first_trajectory = p·n``). Parameters are runtime arrays: the
    kernels are compiled once for the whole sweep.

    Parameters
    ----------
    model : Model or path
    grid : dict of str -> sequence, optional
        Parameter name -> values (numbers in the parameter's unit, or strings with units,
        as for :meth:`Model.with_parameters`).
    protocols : sequence of Protocol or str, optional
        Protocols (or their text, :func:`stochsyn.protocols.parse`; ``None`` or "none"
        for a point without stimulation); default: none.
    t_end, n_trajectories, seed, ...
        As for :func:`simulate`; ``n_trajectories`` is per point.

    Returns
    -------
    Ensemble
        With :attr:`Ensemble.sweep_columns` ``point``, one column per parameter and
        ``protocol``; ``describe()`` and ``summary()`` group or label by them.
    """
    from . import protocols as protocol_module
    model = _as_model(model)
    grid = dict(grid or {})
    for name, values in grid.items():
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not len(values):
            raise ValueError(f"grid['{name}'] must be a non-empty list of values")
        model.with_parameters(**{name: values[0]})        # unknown names fail here
    protocol_list, protocol_labels = [], []
    for item in (protocols or [None]):
        if item is None or (isinstance(item, str) and item.strip() == "none"):
            protocol_list.append(None)
            protocol_labels.append("none")
        elif isinstance(item, str):
            protocol_list.append(protocol_module.parse(item))
            protocol_labels.append(item.strip())
        else:
            protocol_list.append(item)
            protocol_labels.append(item.name)
    for k, label in enumerate(protocol_labels):        # two protocols, two labels
        if protocol_labels.count(label) > 1:
            protocol_labels[k] = f"{label}#{protocol_labels[:k].count(label)}"
    plain = {name: _plain_column(values) for name, values in grid.items()}
    options = _RunOptions.make(t_end, n_trajectories, seed, sample_every, sample_times,
                               record_events, max_events, n_threads, batch_size, progress,
                               on_stop, max_wall, max_event_records, 0)
    n_points = math.prod(len(v) for v in grid.values()) * len(protocol_list)
    _check_run(model, options, out, protocol_list, n_points=n_points)
    names = list(grid)
    blocks, points = [], []
    for p, (k_values, k_protocol) in enumerate(
            (v, pr) for v in itertools.product(*(range(len(grid[n])) for n in names))
            for pr in range(len(protocol_list))):
        parameters = {n: grid[n][k] for n, k in zip(names, k_values)}
        labels = {n: plain[n][k] for n, k in zip(names, k_values)}
        protocol = protocol_list[k_protocol]
        point_model = model.with_parameters(**parameters) if parameters else model
        if protocol is not None:
            point_model = apply_protocol(point_model, protocol)
        network = compile(point_model)
        provenance = _provenance(network, options.seed, options.t_end, options.max_events)
        provenance["protocol"] = protocol.to_dict() if protocol is not None else None
        provenance["sweep_point"] = p
        provenance["record_events"] = options.record_events
        protocol_name = protocol_labels[k_protocol]
        sweep_values = {"point": p, **labels, "protocol": protocol_name}
        first = p * options.n_trajectories
        blocks.append(_Block(point_model, first, options.n_trajectories,
                             _spike_times(protocol), provenance, sweep_values, network))
        points.append({"point": p, "parameters": labels,
                       "protocol": provenance["protocol"], "protocol_name": protocol_name,
                       "model_hash": point_model.hash, "first_trajectory": first,
                       "n_trajectories": options.n_trajectories})
    base = _provenance(compile(model), options.seed, options.t_end, options.max_events)
    base["protocol"] = None
    sweep_manifest = {"provenance": base,
                      "sweep": {"columns": ["point", *names, "protocol"], "grid": plain,
                          "points": points}}
    return _run_blocks(blocks, options, blocks[0].model, out, resume, overwrite, executor,
                       shard, sweep_manifest)


def _plain_column(values) -> list:
    """A grid's values as one column keeps them: floats if all are numbers, else strings
    (a number then as its repr, in the parameter's unit)."""
    numbers = [isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, (bool, np.bool_)) for v in values]
    if all(numbers):
        return [float(v) for v in values]
    return [repr(float(v)) if is_number else str(v) for v, is_number in zip(values, numbers)]


def _consuming_fluxes(network: Network | None) -> str:
    """The fluxes that consume continuous species, as "reaction (species)" (for the
    flux_negative advice)."""
    hybrid = network.hybrid if network is not None else None
    if hybrid is None or not len(hybrid.fx_consumed):
        return "?"
    pairs = hybrid.fx_consumed.reshape(-1, 2)
    return ", ".join(f"'{network.reactions[hybrid.fx_rx[q]]}' (consumes "
                     f"{network.continuous[s]})" for s, q in pairs)


def _check_status(ens: Ensemble, on_stop: str, max_events: int, skipped: int = 0,
                  network: Network | None = None) -> None:
    deficit = ens.continuous_deficit
    if deficit is not None and np.any(deficit >= DEFICIT_WARN_MOLECULES):
        which = np.flatnonzero(deficit >= DEFICIT_WARN_MOLECULES)
        warnings.warn(
            f"{len(which)} trajectories had a discrete reaction take more of a continuous "
            f"species than it held by {float(deficit[which].max()):.3g} molecules or more "
            f"(Ensemble.continuous_deficit per trajectory; the ODE repays a deficit from the "
            "same moiety, so totals hold, but a pool so often empty is too scarce to be "
            f"continuous: {', '.join(ens.continuous)}); make it discrete",
            HybridWarning, stacklevel=3)
    if on_stop == "ignore" or (not skipped and not np.count_nonzero(ens.status)):
        return
    stopped = np.flatnonzero(ens.status != 0)
    reasons = {}
    for b in stopped:
        reasons.setdefault(STATUS_TEXT.get(int(ens.status[b]), str(ens.status[b])), []).append(
            int(ens.trajectories[b]))
    advice = {
        "max_events": f"it used its budget of max_events = {max_events} reaction events; "
                      "raise max_events if the model really needs more, or look for "
                      "counts that grow without bound",
        "negative_count": "an intervention made a count negative; check the 'add' values",
        "nonfinite_propensity": "a propensity overflowed to inf or NaN; look for counts "
                                "that grow without bound or huge rate constants",
        "agent_capacity": "more agents were created than the type's capacity; raise "
                          "'capacity' under [agents.NAME]",
        "ode_failure": "the ODE of the continuous species failed (an amount became "
                       "infinite or NaN, or its step size vanished); look for rates that "
                       "make amounts grow without bound",
        "hazard_bound": "a time-dependent propensity exceeded the bound the engine "
                        "computed for it (an engine error, not a model one); please report "
                        "it with the model and the seed",
        "flux_negative": "a flux (a reaction integrated as a term of dy/dt, "
                         "docs/model-format.md) drove a continuous species it consumes "
                         "below zero, beyond the ODE's error control: "
                         f"{_consuming_fluxes(network)}; tighten [continuous] rtol and "
                         "atol, or set flux = false on that reaction so that each firing is "
                         "an event",
        "interrupted": "the run's wall-clock budget (max_wall) ran out while they ran; "
                       "resume the run (--resume) to finish them",
        "not_started": "the run's wall-clock budget (max_wall) ran out before they began; "
                       "resume the run (--resume) to simulate them",
    }
    lines = []
    for reason, which in reasons.items():
        shown = ", ".join(map(str, which[:10])) + (" …" if len(which) > 10 else "")
        t_min = float(np.min(ens.t_reached[np.isin(ens.trajectories, which)]))
        lines.append(f"{len(which)} trajectories stopped early ({reason}; first at "
                     f"t = {t_min:g} s): {shown}. {advice.get(reason, '')}")
    if skipped:
        lines.append(f"{skipped} trajectories were not simulated: the wall-clock budget "
                     "(max_wall) ran out before their batches began; resume the run "
                     "(--resume) to simulate them")
    message = ("; ".join(lines) + ". Their samples after the stop are -1 in counts and NaN "
               "in tables; ens.status says which.")
    if on_stop == "raise":
        raise SimulationError(message)
    warnings.warn(message, BudgetWarning, stacklevel=3)


__all__ = ["simulate", "sweep", "apply_protocol", "sample_grid", "run_batch_task", "BatchTask",
           "SimulationError", "BudgetWarning", "HybridWarning", "RunWarning", "ModelError",
           "LimitError", "RunInterrupted", "AlreadyComplete", "DEFAULT_MAX_EVENTS",
           "DEFICIT_WARN_MOLECULES"]
