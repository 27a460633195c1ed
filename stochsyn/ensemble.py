"""Run ensembles: seeds, batches, threads, progress, event-buffer sizing, Parquet output."""

from __future__ import annotations

import math
import os
import platform
import warnings
from pathlib import Path
from typing import Sequence

import numba
import numpy as np

from . import __version__
from .engine import STATUS_TEXT, run_batch
from .engine.rng import entropy_words, new_root_seed
from .model.errors import ModelError
from .model.model import Model
from .network import Network, compile
from .results import Ensemble, Events, batch_done, read, write_batch, write_manifest

#: Default per-trajectory event budget: large enough for hours of a spine model, small
#: enough that a run whose counts explode stops within minutes instead of never.
DEFAULT_MAX_EVENTS = 10**9
_DEFAULT_EVENT_CAPACITY = 256


class SimulationError(RuntimeError):
    """A run could not produce valid trajectories (the message says which and why)."""


class BudgetWarning(RuntimeWarning):
    """Some trajectories stopped before t_end (event budget or a model problem)."""


class HybridWarning(RuntimeWarning):
    """In the hybrid mode, a discrete reaction consumed more of a continuous species than
    there was; the amount was set to 0 (``Ensemble.continuous_clamped`` says how much was
    created so)."""


def sample_grid(t_end: float, sample_every: float | None = None,
                sample_times: Sequence[float] | None = None) -> np.ndarray:
    """The sample times (s) of a run: an explicit array or ``0, every, 2·every, … <= t_end``.

    Without either argument, 101 evenly spaced times from 0 to ``t_end``.
    """
    if sample_times is not None and sample_every is not None:
        raise ValueError("give either sample_times or sample_every, not both")
    if sample_times is not None:
        times = np.asarray(sample_times, dtype=np.float64).reshape(-1)
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
    n = int(math.floor(t_end / sample_every * (1 + 1e-12)))
    return sample_every * np.arange(n + 1, dtype=np.float64)


def apply_protocol(model: Model, protocol) -> Model:
    """The model as the protocol sets it up: a voltage clamp, the cooperative dendritic
    depolarisation, and pharmacology as the protocol's timed interventions.

    Presynaptic spikes release transmitter into every input with a ``release`` rule (the
    engine samples each release), postsynaptic spikes add the ``bap`` pulses of the inputs
    that have one; both are passed to the engine by :func:`simulate`.

    With a ``[membrane]``, the clamp becomes ``[membrane] clamp`` (NaN releases it and the
    membrane equation runs on), and the cooperative depolarisation a ``depolarisation``
    rule on the dendrite input (alpha functions, SCIENCE §4). Without one, the clamp is the
    waveform of the input ``V`` (mV) and must hold for the whole run; postsynaptic spikes and
    cooperative depolarisation, which need the membrane equation, are refused.

    Raises
    ------
    ModelError
        The model cannot take the protocol (no input ``V`` to clamp, no input with a
        release or bap rule for the spikes, no dendrite for the depolarisation, unknown
        parameters in a drug intervention, ...).
    ValueError
        The protocol needs the membrane equation and the model has none.
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
            raise ValueError(
                f"protocol '{protocol.name}' has {len(protocol.post_spikes_s)} postsynaptic "
                "spikes, but the model has no [membrane] for the backpropagating APs to "
                "depolarise; include reactions/modules/membrane.toml")
        if not any(p.trigger == "post" for i in model.inputs for p in i.pulses):
            raise ModelError(f"protocol '{protocol.name}' has postsynaptic spikes, but no "
                             "input of the model has a bap rule", source=model.source,
                             hint="e.g. [inputs.V_dend] unit = \"mV\", value = \"-70 mV\", "
                                  "bap = { amplitude = \"67 mV\", kernel = [[0.7, \"3 ms\"], "
                                  "[0.3, \"40 ms\"]] }")
    if len(protocol.pre_spikes_s):
        if not any(i.release_probability >= 0 for i in model.inputs):
            raise ModelError(f"protocol '{protocol.name}' has presynaptic spikes, but no "
                             f"input of the model has a release rule", source=model.source,
                             hint="e.g. [inputs.glu] unit = \"mM\", value = 0, release = "
                                  "{ probability = 0.3, peak = \"1 mM\", tau = \"1.2 ms\", "
                                  "cv = 0.5 }")
        if protocol.depolarisation_mv > 0:
            if membrane is None or membrane.dendrite_input < 0:
                raise ValueError(
                    f"protocol '{protocol.name}' adds a cooperative dendritic depolarisation "
                    f"of {protocol.depolarisation_mv:g} mV per spike, which needs a [membrane] "
                    "with a dendrite; include reactions/modules/membrane.toml, or use "
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
                raise ValueError("releasing a voltage clamp (NaN) needs the membrane "
                                 "equation: include reactions/modules/membrane.toml, or "
                                 "clamp for the whole run")
            rest = model.inputs[[i.name for i in model.inputs].index("V")].value
            first = float(protocol.clamp_times_s[0])
            hold = float(protocol.clamp_mv[0]) if first == 0.0 else rest
            steps = [{"time": float(t), "value": f"{float(v) - hold!r} mV"}
                     for t, v in zip(protocol.clamp_times_s, protocol.clamp_mv) if t > 0.0]
            inputs["V"] = {"unit": "mV", "value": f"{hold!r} mV", "steps": steps}
    spec["inputs"] = inputs
    if protocol.interventions:
        spec["interventions"] = list(spec.get("interventions", [])) + [
            dict(item) for item in protocol.interventions]
    return Model.from_dict(spec, source=model.source)


def _provenance(network: Network, seed: int, t_end: float, max_events: int) -> dict:
    model = network.model
    return {
        "stochsyn_version": __version__,
        "model_name": model.name,
        "model_source": model.source,
        "model_hash": model.hash,
        "model_spec": model.spec,
        "parameters": {k: str(v) for k, v in model.parameters.items()},
        "seed": int(seed),
        "t_end": float(t_end),
        "max_events": int(max_events),
        "seeding": "trajectory i draws from numpy SeedSequence(seed, spawn_key=(i,)) -> PCG64",
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "python_version": platform.python_version(),
    }


def simulate(model: Model | str | os.PathLike, t_end: float, n_trajectories: int = 1,
             seed: int | None = None, *, sample_every: float | None = None,
             sample_times: Sequence[float] | None = None, record_events: bool = False,
             max_events: int = DEFAULT_MAX_EVENTS, n_threads: int | None = None,
             batch_size: int | None = None, first_trajectory: int = 0,
             progress: bool = False, out: str | os.PathLike | None = None,
             resume: bool = False, on_stop: str = "warn", protocol=None) -> Ensemble:
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
        is the same bits whatever the thread count, batch size or machine. Without a seed a
        fresh one is drawn and recorded in the provenance.
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
        Threads running trajectories in parallel (default: numba's setting, i.e. the
        number of cores unless ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads`` limit it).
    batch_size : int, optional
        Trajectories per call of the compiled kernel (and per file with ``out``).
    first_trajectory : int
        Global index of the first trajectory (for sharding a run across jobs).
    progress : bool
        Show a tqdm progress bar over batches.
    out : path, optional
        Write the ensemble to this Parquet dataset, batch by batch as they finish.
    resume : bool
        With ``out``: keep batches already written there by the same run (same model,
        parameters, seed and grid) and simulate only the missing ones.
    on_stop : {"warn", "raise", "ignore"}
        What to do when trajectories stop before t_end: their samples after the stop are
        -1 in ``counts`` (NaN in tables) and ``status`` says why.
    protocol : stochsyn.protocols.Protocol, optional
        Stimulation; see :func:`apply_protocol` for what this version can apply. Recorded
        in the provenance.

    Returns
    -------
    Ensemble
    """
    if isinstance(model, (str, os.PathLike)):
        from .model import load_model
        model = load_model(model)
    if not isinstance(model, Model):
        raise TypeError(f"model must be a stochsyn Model or a file path, not "
                        f"{type(model).__name__}")
    if protocol is not None:
        model = apply_protocol(model, protocol)
    t_end = float(t_end)
    if not (math.isfinite(t_end) and t_end >= 0):
        raise ValueError(f"t_end must be a finite time >= 0 (s), not {t_end!r}")
    if int(n_trajectories) != n_trajectories or n_trajectories < 0:
        raise ValueError(f"n_trajectories must be a non-negative integer, not "
                         f"{n_trajectories!r}")
    n_trajectories = int(n_trajectories)
    if int(max_events) != max_events or max_events < 0:
        raise ValueError(f"max_events must be a non-negative integer, not {max_events!r}")
    if on_stop not in ("warn", "raise", "ignore"):
        raise ValueError("on_stop must be 'warn', 'raise' or 'ignore'")
    if seed is None:
        seed = new_root_seed()
    run_entropy = entropy_words(seed)
    times = sample_grid(t_end, sample_every, sample_times)
    network = compile(model)
    arrays = network.arrays
    n_species = network.n_species
    n_reactions = network.n_reactions
    record_idx = np.arange(n_species, dtype=np.int64)
    if batch_size is None:
        batch_size = max(1, min(n_trajectories, 4096))
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    logs = bool(np.any(arrays.log)) and record_events
    capacity = _DEFAULT_EVENT_CAPACITY if logs else 0
    provenance = _provenance(network, seed, t_end, max_events)
    provenance["protocol"] = protocol.to_dict() if protocol is not None else None
    spike_times = ((np.asarray(protocol.pre_spikes_s, dtype=np.float64),
                    np.asarray(protocol.post_spikes_s, dtype=np.float64))
                   if protocol is not None else (np.zeros(0), np.zeros(0)))
    record_voltage = model.membrane is not None
    ensemble_base = dict(
        times=times, species=network.species, reactions=network.reactions,
        continuous=network.continuous,
        observables={k: dict(v) for k, v in model.observables.items()},
        agent_types=tuple((a.name, model.agent_state_base[a.name], len(a.states))
                          for a in model.agent_types),
        provenance=provenance)
    directory = Path(out) if out is not None else None
    if directory is not None:
        manifest = Ensemble(counts=np.zeros((0, len(times), n_species), np.int64),
                            trajectories=np.zeros(0, np.int64), status=np.zeros(0, np.int64),
                            n_events=np.zeros(0, np.int64), t_reached=np.zeros(0),
                            firings=np.zeros((0, n_reactions), np.int64),
                            **ensemble_base).manifest()
        manifest["provenance"] = {**provenance, "n_trajectories": n_trajectories,
                                  "first_trajectory": first_trajectory,
                                  "batch_size": batch_size, "record_events": record_events}
        if not resume and (directory / "manifest.json").exists():
            raise FileExistsError(f"{directory} already exists; pass resume=True (--resume) "
                                  "to finish an interrupted run there, or choose another "
                                  "folder")
        write_manifest(directory, manifest)
        provenance = manifest["provenance"]
        ensemble_base["provenance"] = provenance

    if n_threads is not None and (isinstance(n_threads, bool)
                                  or not isinstance(n_threads, (int, np.integer))
                                  or n_threads < 1):
        raise ValueError(f"n_threads must be a positive integer, not {n_threads!r}")
    starts = range(0, n_trajectories, batch_size)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_trajectories, unit="traj", desc=model.name)
    parts = []
    for number, start in enumerate(starts):
        stop = min(start + batch_size, n_trajectories)
        if directory is not None and resume and batch_done(directory, number):
            parts.append(None)
        else:
            trajectories = np.arange(first_trajectory + start, first_trajectory + stop,
                                     dtype=np.int64)
            part, capacity = _run((arrays, network.hybrid), run_entropy, trajectories,
                                  times, t_end, max_events, record_idx, capacity, logs,
                                  n_reactions, ensemble_base, n_threads, spike_times,
                                  record_voltage)
            if directory is not None:
                write_batch(directory, number, part)
            parts.append(part)
        if bar is not None:
            bar.update(stop - start)
    if bar is not None:
        bar.close()

    if directory is not None and any(p is None for p in parts):
        ens = read(directory)
    else:
        ens = _concatenate(parts, ensemble_base, n_species, n_reactions)
    _check_status(ens, on_stop, max_events, network)
    return ens


def _run(arrays, run_entropy, trajectories, times, t_end, max_events, record_idx, capacity,
         logs, n_reactions, ensemble_base, n_threads, spike_times, record_voltage
         ) -> tuple[Ensemble, int]:
    """One batch through the compiled kernel; ``arrays`` is (NetworkArrays, HybridArrays or
    None).

    With event logging, each trajectory writes its records into a buffer row of
    ``capacity`` records; a trajectory that wanted more is simulated again with a row that
    fits (same bits, so nothing is lost). To make that rare, a pilot of a few trajectories
    runs first and the rest of the batch gets a capacity 1.25 times the largest the pilot
    needed; the capacity carries over to the next batch.

    Returns
    -------
    (Ensemble, int)
        The batch and the event capacity to use for the next one.
    """
    n = len(trajectories)
    counts = np.empty((n, len(times), len(record_idx)), dtype=np.int64)
    firings = np.empty((n, n_reactions), dtype=np.int64)
    status = np.empty(n, dtype=np.int64)
    hybrid = arrays[1]
    results = np.zeros((n, 9 + (len(hybrid.fx_rx) if hybrid is not None else 0)),
                       dtype=np.float64)
    voltages = np.empty((n, len(times) if record_voltage else 0), dtype=np.float64)
    cont_values = np.empty((n, len(times), len(ensemble_base["continuous"])),
                           dtype=np.float64)
    outputs = (counts, firings, status, results, voltages, cont_values)
    pieces = []
    if not logs:
        _run_rows(arrays, run_entropy, trajectories, times, t_end, max_events, record_idx, 0,
                  outputs, 0, n, n_threads, spike_times)
    else:
        pilot = min(n, 2 * (n_threads or numba.get_num_threads()), 8)
        for first, last in ((0, pilot), (pilot, n)):
            if last > first:
                pieces += _run_rows(arrays, run_entropy, trajectories, times, t_end,
                                    max_events, record_idx, capacity, outputs, first, last,
                                    n_threads, spike_times)
                wanted = int(results[first:last, 2].max())
                capacity = max(capacity, wanted + wanted // 4)
    events = Events.concatenate(pieces) if pieces else Events.empty()
    ensemble = Ensemble(counts=counts, trajectories=trajectories, status=status,
                        n_events=results[:, 0].astype(np.int64),
                        t_reached=results[:, 1].copy(), firings=firings, event_records=events,
                        n_releases=results[:, 3].astype(np.int64),
                        voltage_mv=voltages if record_voltage else None,
                        **_hybrid_fields(cont_values, results, hybrid, n_reactions),
                        **ensemble_base)
    return ensemble, capacity


def _hybrid_fields(cont_values, results, hybrid, n_reactions) -> dict:
    """The Ensemble's fields of the hybrid mode (None without continuous species)."""
    if cont_values.shape[2] == 0:
        return {}
    flux_totals = np.zeros((len(results), n_reactions))
    flux_totals[:, hybrid.fx_rx] = results[:, 9:9 + len(hybrid.fx_rx)]
    return dict(continuous_values=cont_values, ode_steps=results[:, 4].astype(np.int64),
                continuous_clamped=results[:, 6].copy(),
                ode_restarts=results[:, 7].astype(np.int64), flux_totals=flux_totals)


def _run_rows(arrays, run_entropy, trajectories, times, t_end, max_events, record_idx,
              capacity, outputs, first, last, n_threads, spike_times) -> list[Events]:
    """Rows ``first … last-1`` of a batch: fill their slices of ``outputs`` (counts,
    firings, status, results, voltages, continuous amounts) and return their event
    records, one Events per row. ``spike_times`` is (presynaptic, postsynaptic)."""
    counts, firings, status, results, voltages, cont_values = (a[first:last] for a in outputs)
    arrays, hybrid = arrays
    rows = trajectories[first:last]
    n = last - first
    buffers = _event_buffers(n, capacity)
    run_batch(arrays, run_entropy, rows, times, t_end, max_events, record_idx, counts,
              firings, *buffers, status, results, n_threads=n_threads,
              spike_times=spike_times[0], post_spike_times=spike_times[1], voltages=voltages,
              cont_values=cont_values, hybrid=hybrid)
    if capacity == 0:
        return []
    wanted = results[:, 2].astype(np.int64)
    overflow = np.flatnonzero(wanted > capacity)
    if len(overflow):
        bigger = _event_buffers(len(overflow), int(wanted[overflow].max()))
        redo_counts = np.empty((len(overflow),) + counts.shape[1:], dtype=np.int64)
        redo_firings = np.empty((len(overflow), firings.shape[1]), dtype=np.int64)
        redo_status = np.empty(len(overflow), dtype=np.int64)
        redo_results = np.zeros((len(overflow), results.shape[1]))
        # Voltages and amounts are written again too (the kernel writes what it records).
        run_batch(arrays, run_entropy, rows[overflow], times, t_end, max_events, record_idx,
                  redo_counts, redo_firings, *bigger, redo_status, redo_results,
                  n_threads=n_threads, spike_times=spike_times[0],
                  post_spike_times=spike_times[1],
                  voltages=np.empty((len(overflow),) + voltages.shape[1:]),
                  cont_values=np.empty((len(overflow),) + cont_values.shape[1:]),
                  hybrid=hybrid)
        if not (np.array_equal(redo_counts, counts[overflow])
                and np.array_equal(redo_status, status[overflow])):
            raise SimulationError("internal error: a repeated trajectory differed from "
                                  "its first run; please report this as a bug")
    pieces = []
    for b in range(n):
        source, row = buffers, b
        if wanted[b] > capacity:
            source, row = bigger, int(np.searchsorted(overflow, b))
        k = int(wanted[b])
        pieces.append(Events(np.full(k, rows[b], dtype=np.int64),
                             *(buf[row, :k] for buf in source)))
    return pieces


def _event_buffers(n: int, capacity: int):
    return (np.empty((n, capacity), dtype=np.float64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64),
            np.empty((n, capacity), dtype=np.int64))


def _concatenate(parts, ensemble_base, n_species, n_reactions) -> Ensemble:
    if not parts:
        n_times = len(ensemble_base["times"])
        return Ensemble(counts=np.zeros((0, n_times, n_species), np.int64),
                        trajectories=np.zeros(0, np.int64), status=np.zeros(0, np.int64),
                        n_events=np.zeros(0, np.int64), t_reached=np.zeros(0),
                        firings=np.zeros((0, n_reactions), np.int64), **ensemble_base)
    if len(parts) == 1:
        return parts[0]
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
            continuous_clamped=np.concatenate([p.continuous_clamped for p in parts]),
            ode_restarts=np.concatenate([p.ode_restarts for p in parts]),
            flux_totals=np.concatenate([p.flux_totals for p in parts]))),
        firings=np.concatenate([p.firings for p in parts]),
        event_records=Events.concatenate([p.event_records for p in parts]),
        **ensemble_base)


def _consuming_fluxes(network: Network | None) -> str:
    """The fluxes that consume continuous species, as "reaction (species)" (for the
    flux_negative advice)."""
    hybrid = network.hybrid if network is not None else None
    if hybrid is None or not len(hybrid.fx_consumed):
        return "?"
    pairs = hybrid.fx_consumed.reshape(-1, 2)
    return ", ".join(f"'{network.reactions[hybrid.fx_rx[q]]}' (consumes "
                     f"{network.continuous[s]})" for s, q in pairs)


def _check_status(ens: Ensemble, on_stop: str, max_events: int,
                  network: Network | None = None) -> None:
    if ens.continuous_clamped is not None and np.any(ens.continuous_clamped > 0):
        which = np.flatnonzero(ens.continuous_clamped > 0)
        warnings.warn(
            f"{len(which)} trajectories had a discrete reaction consume more of a continuous "
            f"species than there was (the amount was set to 0, creating "
            f"{float(ens.continuous_clamped.sum()):.3g} molecules in all; "
            "Ensemble.continuous_clamped per trajectory): such a species is too scarce to "
            f"be continuous ({', '.join(ens.continuous)}); make it discrete",
            HybridWarning, stacklevel=3)
    stopped = np.flatnonzero(ens.status != 0)
    if not len(stopped) or on_stop == "ignore":
        return
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
        "flux_negative": "a flux (a reaction integrated as a term of dy/dt, "
                         f"docs/model-format.md) drove a continuous species it consumes "
                         f"below zero, beyond the ODE's error control: "
                         f"{_consuming_fluxes(network)}; tighten [continuous] rtol and "
                         "atol, or set flux = false on that reaction so that each firing is "
                         "an event",
        "hazard_bound": "a time-dependent propensity exceeded the bound the engine "
                        "computed for it (an engine error, not a model one); please report "
                        "it with the model and the seed",
    }
    lines = []
    for reason, which in reasons.items():
        shown = ", ".join(map(str, which[:10])) + (" …" if len(which) > 10 else "")
        t_min = float(np.min(ens.t_reached[np.isin(ens.trajectories, which)]))
        lines.append(f"{len(which)} trajectories stopped early ({reason}; first at "
                     f"t = {t_min:g} s): {shown}. {advice.get(reason, '')}")
    message = ("; ".join(lines) + ". Their samples after the stop are -1 in counts and NaN "
               "in tables; ens.status says which.")
    if on_stop == "raise":
        raise SimulationError(message)
    warnings.warn(message, BudgetWarning, stacklevel=3)


__all__ = ["simulate", "apply_protocol", "sample_grid", "SimulationError", "BudgetWarning",
           "HybridWarning", "ModelError", "DEFAULT_MAX_EVENTS"]
