"""Ensemble results: dense arrays with labels and provenance, as pandas tables and Parquet.

A Parquet dataset written by :meth:`Ensemble.to_parquet` (or by ``simulate(..., out=...)``)
is a folder::

    manifest.json                     provenance, labels, sample times
    counts/batch-NNNNN.parquet        one row per (trajectory, time), one column per species
                                      (int64; float64 for continuous species)
    trajectories/batch-NNNNN.parquet  one row per trajectory: status, events, firings
    events/batch-NNNNN.parquet        event records (when recorded)

Every file carries the provenance in its Parquet key-value metadata (key ``stochsyn``).
Files are written to a temporary name and renamed, so a reader never sees half a batch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .engine import STATUS_TEXT

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The name under which tables and :meth:`Ensemble.values` give the membrane voltage (mV).
VOLTAGE_NAME = "voltage_mV"


@dataclass
class Events:
    """Event records of logged agent transitions (one entry per record).

    Attributes
    ----------
    trajectory : (E,) int64 ndarray
        Global trajectory index.
    time : (E,) float64 ndarray
        Time of the transition (s).
    agent : (E,) int64 ndarray
        Agent id within its type (stable for the agent's lifetime).
    reaction : (E,) int64 ndarray
        Index of the concrete reaction.
    state_before, state_after : (E,) int64 ndarrays
        Species index of the agent state, -1 for none (creation, destruction).
    """

    trajectory: np.ndarray
    time: np.ndarray
    agent: np.ndarray
    reaction: np.ndarray
    state_before: np.ndarray
    state_after: np.ndarray

    @classmethod
    def empty(cls) -> "Events":
        i = np.zeros(0, dtype=np.int64)
        return cls(i, np.zeros(0), i, i, i, i)

    @classmethod
    def concatenate(cls, parts: Sequence["Events"]) -> "Events":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("trajectory", "time", "agent", "reaction", "state_before",
                               "state_after")))

    def __len__(self) -> int:
        return len(self.time)


@dataclass
class Ensemble:
    """The trajectories of one run.

    Attributes
    ----------
    times : (n_times,) float64 ndarray
        Sample times (s).
    species : tuple of str
        Labels of the last axis of :attr:`counts` (agent states included).
    counts : (n_trajectories, n_times, n_species) int64 ndarray
        Molecule counts; -1 marks samples after a trajectory stopped early (see
        :attr:`status`).
    trajectories : (n_trajectories,) int64 ndarray
        Global trajectory index i: trajectory i drew from SeedSequence(seed, spawn_key=(i,)).
    status : (n_trajectories,) int64 ndarray
        Kernel status (0 = reached t_end; see :data:`stochsyn.engine.STATUS_TEXT`).
    n_events : (n_trajectories,) int64 ndarray
        Reaction events simulated.
    t_reached : (n_trajectories,) float64 ndarray
        Time the trajectory reached (t_end unless it stopped early), s.
    firings : (n_trajectories, n_reactions) int64 ndarray
        How often each reaction fired.
    reactions : tuple of str
    observables : dict
        Observable name -> {species index: weight}.
    agent_types : tuple of (name, first state species, number of states)
    event_records : Events
    provenance : dict
        stochsyn version, model name and hash, model spec, parameters, seed, t_end,
        versions of numpy and numba.
    n_releases : (n_trajectories,) int64 ndarray
        Vesicles released (over all inputs with a release rule); zeros without a protocol.
    voltage_mv : (n_trajectories, n_times) float64 ndarray or None
        Spine-head membrane voltage (mV) at the sample times, for a model with a
        ``[membrane]`` (NaN after an early stop); None otherwise. Also available as the
        name :data:`VOLTAGE_NAME` in :meth:`values` and the tables.
    continuous : tuple of str
        The continuous species of the hybrid mode (``[continuous]``), in species order;
        empty for an exact run.
    continuous_values : (n_trajectories, n_times, n_continuous) float64 ndarray or None
        Their amounts (molecules, real-valued; NaN after an early stop). :meth:`values`,
        the tables, observables and Parquet use these; ``counts`` holds their nearest
        whole numbers (>= 0), so that integer code keeps working.
    ode_steps : (n_trajectories,) int64 ndarray or None
        Accepted steps of the ODE of the continuous species.
    continuous_clamped : (n_trajectories,) float64 ndarray or None
        Molecules created by setting an amount that a discrete reaction made negative to 0
        (0 unless a continuous species is too scarce for the hybrid mode; see
        :mod:`stochsyn.engine.continuous`).
    ode_restarts : (n_trajectories,) int64 ndarray or None
        Times the ODE was stopped at an event or a scheduled change that altered its
        right-hand side (a jump, a flux's discrete factor, V(t) under a live flux, ...) and
        started afresh there.
    flux_totals : (n_trajectories, n_reactions) float64 ndarray or None
        The hybrid mode's fluxes (reactions that are terms of dy/dt, never events): how
        many times each would have fired, i.e. the molecules it moved, integrated to the
        time reached (0 for the other reactions, whose count is in ``firings``). So
        ``firings + flux_totals`` compares with an exact run's ``firings``.
    """

    times: np.ndarray
    species: tuple[str, ...]
    counts: np.ndarray
    trajectories: np.ndarray
    status: np.ndarray
    n_events: np.ndarray
    t_reached: np.ndarray
    firings: np.ndarray
    reactions: tuple[str, ...]
    observables: dict[str, dict[int, float]]
    agent_types: tuple[tuple[str, int, int], ...]
    event_records: Events = field(default_factory=Events.empty)
    provenance: dict[str, Any] = field(default_factory=dict)
    n_releases: np.ndarray | None = None
    voltage_mv: np.ndarray | None = None
    continuous: tuple[str, ...] = ()
    continuous_values: np.ndarray | None = None
    ode_steps: np.ndarray | None = None
    continuous_clamped: np.ndarray | None = None
    ode_restarts: np.ndarray | None = None
    flux_totals: np.ndarray | None = None

    def __post_init__(self):
        if self.n_releases is None:
            self.n_releases = np.zeros(len(self.trajectories), dtype=np.int64)
        self.continuous = tuple(self.continuous)
        if self.continuous:
            n = len(self.trajectories)
            if self.continuous_values is None:
                self.continuous_values = np.zeros((n, len(self.times), len(self.continuous)))
            if self.ode_steps is None:
                self.ode_steps = np.zeros(n, dtype=np.int64)
            if self.continuous_clamped is None:
                self.continuous_clamped = np.zeros(n)
            if self.ode_restarts is None:
                self.ode_restarts = np.zeros(n, dtype=np.int64)
            if self.flux_totals is None:
                self.flux_totals = np.zeros((n, len(self.reactions)))

    # ------------------------------------------------------------------ basic views
    @property
    def n_trajectories(self) -> int:
        return self.counts.shape[0]

    @property
    def seed(self) -> int | None:
        return self.provenance.get("seed")

    @property
    def names(self) -> tuple[str, ...]:
        """Species labels followed by observable names (and :data:`VOLTAGE_NAME` for a
        model with a membrane)."""
        return (tuple(self.species) + tuple(self.observables)
                + ((VOLTAGE_NAME,) if self.voltage_mv is not None else ()))

    def values(self, name: str) -> np.ndarray:
        """Samples of one species or observable.

        Returns
        -------
        (n_trajectories, n_times) float64 ndarray
            NaN where a trajectory had stopped early.
        """
        valid = self.counts[:, :, 0] >= 0 if self.counts.shape[2] else None
        if name == VOLTAGE_NAME and self.voltage_mv is not None:
            return self.voltage_mv.copy()
        if name in self.observables:
            weights = np.zeros(len(self.species))
            for index, weight in self.observables[name].items():
                weights[index] = weight
            out = self._amounts() @ weights
        elif name in self.continuous:
            out = self.continuous_values[:, :, self.continuous.index(name)].copy()
        elif name in self.species:
            out = self.counts[:, :, self.species.index(name)].astype(np.float64)
        else:
            import difflib
            close = difflib.get_close_matches(name, self.names, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise KeyError(f"no species or observable named '{name}'.{hint}")
        if valid is not None:
            out[~valid] = np.nan
        return out

    def _amounts(self) -> np.ndarray:
        """Counts as float64, with the continuous species' amounts in their columns."""
        out = self.counts.astype(np.float64)
        for q, name in enumerate(self.continuous):
            out[:, :, self.species.index(name)] = self.continuous_values[:, :, q]
        return out

    def timeseries(self, names: Iterable[str] | None = None) -> pd.DataFrame:
        """Tidy table: one row per trajectory, time and name.

        Parameters
        ----------
        names : iterable of str, optional
            Species and observables to include (default: all).

        Returns
        -------
        DataFrame with columns ``trajectory`` (int64), ``time`` (float64, s), ``name``
        (categorical), ``value`` (float64; NaN after an early stop).
        """
        names = list(self.names if names is None else names)
        n_traj, n_times = self.counts.shape[:2]
        blocks = [self.values(name) for name in names]
        value = np.stack(blocks, axis=2) if blocks else np.zeros((n_traj, n_times, 0))
        frame = pd.DataFrame({
            "trajectory": np.repeat(self.trajectories, n_times * len(names)),
            "time": np.tile(np.repeat(self.times, len(names)), n_traj),
            "name": pd.Categorical.from_codes(
                np.tile(np.arange(len(names)), n_traj * n_times), categories=names),
            "value": value.reshape(-1),
        })
        frame.attrs["provenance"] = self.provenance
        return frame

    def describe(self, names: Iterable[str] | None = None,
                 quantiles: Sequence[float] = _QUANTILES) -> pd.DataFrame:
        """Statistics over trajectories per time and name.

        Returns
        -------
        DataFrame indexed by (``time``, ``name``) with columns ``n``, ``mean``, ``sd``,
        ``sem`` and one column per quantile (``q05`` …). Stopped samples are left out.
        """
        frame = self.timeseries(names)
        grouped = frame.groupby(["time", "name"], observed=True, sort=True)["value"]
        table = grouped.agg(n="count", mean="mean", sd="std")
        table["sem"] = table["sd"] / np.sqrt(table["n"])
        for q in quantiles:
            table[f"q{round(q * 100):02d}"] = grouped.quantile(q)
        return table

    def summary(self) -> pd.DataFrame:
        """One row per trajectory: status, events, time reached (in the hybrid mode also
        ODE steps and restarts and clamped molecules), and for every observable (or,
        without observables, every species) its final and maximum value."""
        table = pd.DataFrame({
            "trajectory": self.trajectories,
            "status": pd.Categorical([STATUS_TEXT.get(int(s), str(s)) for s in self.status]),
            "n_events": self.n_events,
            "t_reached": self.t_reached,
            "n_releases": self.n_releases,
        })
        if self.continuous:
            table["ode_steps"] = self.ode_steps
            table["ode_restarts"] = self.ode_restarts
            table["continuous_clamped"] = self.continuous_clamped
        for name in (tuple(self.observables or self.species)
                     + ((VOLTAGE_NAME,) if self.voltage_mv is not None else ())):
            values = self.values(name)
            with np.errstate(all="ignore"):
                table[f"{name}_final"] = values[:, -1] if values.shape[1] else np.nan
                table[f"{name}_max"] = np.nanmax(values, axis=1) if values.shape[1] else np.nan
        table.attrs["provenance"] = self.provenance
        return table

    def events(self) -> pd.DataFrame:
        """Event records as a table.

        Returns
        -------
        DataFrame with columns ``trajectory``, ``time`` (s), ``agent_type``, ``agent``
        (id within the type), ``rule``, ``reaction``, ``state_before``, ``state_after``
        (categoricals; ``None`` for a created or destroyed agent's missing state).
        """
        ev = self.event_records
        reaction_names = list(self.reactions)
        rules = [_rule_of(name) for name in reaction_names]
        rule_categories = list(dict.fromkeys(rules))
        state_labels = list(self.species)
        type_names = [name for name, _, _ in self.agent_types]

        def state_column(codes):
            return pd.Categorical.from_codes(np.where(codes >= 0, codes, -1),
                                             categories=state_labels)

        either = np.where(ev.state_before >= 0, ev.state_before, ev.state_after)
        type_code = np.full(len(ev), -1, dtype=np.int64)
        for t, (_, base, n) in enumerate(self.agent_types):
            type_code[(either >= base) & (either < base + n)] = t
        rule_code = np.array([rule_categories.index(r) for r in rules], dtype=np.int64)
        frame = pd.DataFrame({
            "trajectory": ev.trajectory,
            "time": ev.time,
            "agent_type": pd.Categorical.from_codes(type_code, categories=type_names),
            "agent": ev.agent,
            "rule": pd.Categorical.from_codes(rule_code[ev.reaction] if len(ev) else
                                              np.zeros(0, np.int64),
                                              categories=rule_categories),
            "reaction": pd.Categorical.from_codes(ev.reaction, categories=reaction_names),
            "state_before": state_column(ev.state_before),
            "state_after": state_column(ev.state_after),
        })
        frame.attrs["provenance"] = self.provenance
        return frame

    # ------------------------------------------------------------------ storage
    def to_parquet(self, directory: str | os.PathLike, batch: int = 0) -> Path:
        """Write the ensemble as a Parquet dataset (see the module docstring).

        Returns the directory. Writing into a directory that holds another run's dataset
        is refused (its manifest's provenance would not match).
        """
        directory = Path(directory)
        write_manifest(directory, self.manifest())
        write_batch(directory, batch, self)
        return directory

    def manifest(self) -> dict[str, Any]:
        manifest = {
            "format": "stochsyn-ensemble-1",
            "provenance": self.provenance,
            "times": [float(t) for t in self.times],
            "species": list(self.species),
            "reactions": list(self.reactions),
            "observables": {k: {str(i): w for i, w in v.items()}
                            for k, v in self.observables.items()},
            "agent_types": [list(a) for a in self.agent_types],
        }
        if self.continuous:       # (absent for exact runs: their manifests are unchanged)
            manifest["continuous"] = list(self.continuous)
        return manifest

    def __repr__(self) -> str:
        stopped = int(np.count_nonzero(self.status))
        return (f"Ensemble({self.n_trajectories} trajectories × {len(self.times)} times × "
                f"{len(self.species)} species"
                + (f" ({len(self.continuous)} continuous)" if self.continuous else "")
                + f", seed={self.seed}, "
                f"{len(self.event_records)} event records"
                + (f", {stopped} stopped early" if stopped else "") + ")")


def _rule_of(reaction_name: str) -> str:
    return reaction_name.split("[", 1)[0]


def _metadata(provenance: Mapping[str, Any]) -> dict[bytes, bytes]:
    return {b"stochsyn": json.dumps(provenance, sort_keys=True, default=str).encode()}


def _atomic_write_table(table: pa.Table, path: Path, provenance) -> None:
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           **_metadata(provenance)})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def write_manifest(directory: Path, manifest: Mapping[str, Any]) -> None:
    """Create ``directory`` with its manifest, or check that an existing one matches."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "manifest.json"
    text = json.dumps(manifest, sort_keys=True, indent=1, default=str)
    if path.exists():
        existing = json.loads(path.read_text())
        if json.loads(text) != existing:
            raise FileExistsError(
                f"{directory} already holds results of a different run (its manifest.json "
                "differs: model, parameters, seed or sample times). Choose another --out "
                "folder or delete that one.")
        return
    tmp = directory / f".manifest.json.tmp-{os.getpid()}"
    tmp.write_text(text)
    os.replace(tmp, path)


def batch_done(directory: Path, batch: int) -> bool:
    """True if every file of ``batch`` has been written completely."""
    name = f"batch-{batch:05d}.parquet"
    return (directory / "trajectories" / name).exists() and (directory / "counts" / name
                                                              ).exists()


def write_batch(directory: Path, batch: int, ens: Ensemble) -> None:
    """Write one batch of trajectories (counts, per-trajectory table, events)."""
    name = f"batch-{batch:05d}.parquet"
    n_traj, n_times, n_species = ens.counts.shape
    columns = {"trajectory": np.repeat(ens.trajectories, n_times),
               "time": np.tile(ens.times, n_traj)}
    flat = ens.counts.reshape(n_traj * n_times, n_species)
    for s, label in enumerate(ens.species):
        columns[label] = flat[:, s]
    for q, label in enumerate(ens.continuous):      # their amounts, as float64
        columns[label] = ens.continuous_values[:, :, q].reshape(-1)
    if ens.voltage_mv is not None:
        columns[VOLTAGE_NAME] = ens.voltage_mv.reshape(-1)
    if ens.event_records is not None and len(ens.event_records):
        ev = ens.event_records
        _atomic_write_table(pa.table({
            "trajectory": ev.trajectory, "time": ev.time, "agent": ev.agent,
            "reaction": ev.reaction, "state_before": ev.state_before,
            "state_after": ev.state_after}), directory / "events" / name, ens.provenance)
    _atomic_write_table(pa.table(columns), directory / "counts" / name, ens.provenance)
    trajectories = {"trajectory": ens.trajectories, "status": ens.status,
                    "n_events": ens.n_events, "t_reached": ens.t_reached,
                    "n_releases": ens.n_releases}
    if ens.continuous:
        trajectories["ode_steps"] = ens.ode_steps
        trajectories["continuous_clamped"] = ens.continuous_clamped
        trajectories["ode_restarts"] = ens.ode_restarts
        for j in range(ens.flux_totals.shape[1]):
            trajectories[f"flux_{j}"] = ens.flux_totals[:, j]
    for j in range(ens.firings.shape[1]):
        trajectories[f"firings_{j}"] = ens.firings[:, j]
    # Written last: its presence marks the batch as complete (see batch_done).
    _atomic_write_table(pa.table(trajectories), directory / "trajectories" / name,
                        ens.provenance)


def _count_column(values: np.ndarray, continuous: bool) -> np.ndarray:
    """A species column as counts: a continuous species' amounts as their nearest whole
    numbers (>= 0), -1 where NaN (a stopped trajectory), as Ensemble.counts holds them."""
    if not continuous:
        return values
    return np.where(np.isnan(values), -1, np.maximum(np.rint(values), 0)).astype(np.int64)


def read(directory: str | os.PathLike) -> Ensemble:
    """Read an ensemble written by :meth:`Ensemble.to_parquet` or ``simulate(out=...)``.

    Parameters
    ----------
    directory : str or path

    Returns
    -------
    Ensemble
        Trajectories in the order of their global index.
    """
    directory = Path(directory)
    path = directory / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{directory} is not a stochsyn dataset (no manifest.json)")
    manifest = json.loads(path.read_text())
    species = tuple(manifest["species"])
    continuous = tuple(manifest.get("continuous", ()))
    times = np.asarray(manifest["times"], dtype=np.float64)
    n_reactions = len(manifest["reactions"])
    names = sorted(p.name for p in (directory / "trajectories").glob("batch-*.parquet"))
    counts, traj, events, voltages, amounts = [], [], [], [], []
    for name in names:
        t_table = pq.read_table(directory / "trajectories" / name).to_pandas()
        c_table = pq.read_table(directory / "counts" / name)
        n = len(t_table)
        if continuous:
            amount = np.stack([c_table.column(label).to_numpy() for label in continuous],
                              axis=1).astype(np.float64)
            amounts.append(amount.reshape(n, len(times), len(continuous)))
        block = np.stack([_count_column(c_table.column(label).to_numpy(), label in continuous)
                          for label in species], axis=1) \
            if species else np.zeros((n * len(times), 0), dtype=np.int64)
        counts.append(block.reshape(n, len(times), len(species)).astype(np.int64))
        if VOLTAGE_NAME in c_table.column_names:
            voltages.append(c_table.column(VOLTAGE_NAME).to_numpy().reshape(n, len(times)))
        traj.append(t_table)
        event_path = directory / "events" / name
        if event_path.exists():
            e = pq.read_table(event_path).to_pandas()
            events.append(Events(*(e[c].to_numpy() for c in (
                "trajectory", "time", "agent", "reaction", "state_before", "state_after"))))
    table = pd.concat(traj, ignore_index=True) if traj else pd.DataFrame(
        {c: [] for c in ("trajectory", "status", "n_events", "t_reached")})
    order = np.argsort(table["trajectory"].to_numpy(), kind="stable")
    all_counts = (np.concatenate(counts) if counts
                  else np.zeros((0, len(times), len(species)), dtype=np.int64))
    firings = np.stack([table[f"firings_{j}"].to_numpy() for j in range(n_reactions)], axis=1) \
        if n_reactions and len(table) else np.zeros((len(table), n_reactions), dtype=np.int64)
    ev = Events.concatenate(events)
    ev_order = np.lexsort((ev.time, ev.trajectory)) if len(ev) else np.zeros(0, np.int64)
    return Ensemble(
        times=times, species=species, counts=all_counts[order],
        trajectories=table["trajectory"].to_numpy(np.int64)[order],
        status=table["status"].to_numpy(np.int64)[order],
        n_events=table["n_events"].to_numpy(np.int64)[order],
        t_reached=table["t_reached"].to_numpy(np.float64)[order],
        n_releases=(table["n_releases"].to_numpy(np.int64)[order] if "n_releases" in table
                    else np.zeros(len(table), dtype=np.int64)),
        firings=firings[order].astype(np.int64),
        voltage_mv=np.concatenate(voltages)[order] if voltages else None,
        continuous=continuous,
        **({} if not continuous else dict(
            continuous_values=(np.concatenate(amounts)[order] if amounts
                               else np.zeros((0, len(times), len(continuous)))),
            ode_steps=(table["ode_steps"].to_numpy(np.int64)[order] if "ode_steps" in table
                       else np.zeros(0, np.int64)),
            continuous_clamped=(table["continuous_clamped"].to_numpy(np.float64)[order]
                                if "continuous_clamped" in table else np.zeros(0)),
            ode_restarts=(table["ode_restarts"].to_numpy(np.int64)[order]
                          if "ode_restarts" in table else None),
            flux_totals=(np.stack([table[f"flux_{j}"].to_numpy(np.float64)
                                   for j in range(n_reactions)], axis=1)[order]
                         if n_reactions and len(table) and "flux_0" in table else None))),
        reactions=tuple(manifest["reactions"]),
        observables={k: {int(i): w for i, w in v.items()}
                     for k, v in manifest["observables"].items()},
        agent_types=tuple(tuple(a) for a in manifest["agent_types"]),
        event_records=Events(*(getattr(ev, f)[ev_order] for f in (
            "trajectory", "time", "agent", "reaction", "state_before", "state_after"))),
        provenance=manifest["provenance"])
