"""Ensemble results: dense arrays with labels and provenance, as pandas tables and Parquet.

A dataset written by :meth:`Ensemble.to_parquet` or ``simulate(..., out=...)`` is a folder
of Parquet files (layout, crash safety and column units: :mod:`stochsyn.dataset`).
:func:`read` opens it lazily: the per-trajectory table is read at once, counts and event
records when first used, and a choice of names or trajectories is pushed down to pyarrow,
so only those columns and rows are read.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from . import dataset as ds
from ._lazy import lazy_module
from .engine import STATUS_TEXT

# Imported when a table or a Parquet file is first made (~0.25 s saved at start-up).
pd = lazy_module("pandas")
pa = lazy_module("pyarrow")
pq = lazy_module("pyarrow.parquet")

_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The name under which tables and :meth:`Ensemble.values` give the membrane voltage (mV).
VOLTAGE_NAME = "voltage_mV"


class IncompleteDatasetWarning(UserWarning):
    """A dataset read from disk lacks batches (an interrupted run, a missing shard)."""


class IncompleteDatasetError(ValueError):
    """``read(..., strict=True)`` of a dataset that lacks batches."""


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
    ode_rejected : (n_trajectories,) int64 ndarray or None
        Steps of that ODE rejected by its error control (or for non-finite amounts or a
        singular stage matrix) and retried with a smaller step: each cost as much as an
        accepted one, so ``ode_steps + ode_rejected`` is what the integrator paid (0 in a
        dataset written before this column existed).
    continuous_deficit : (n_trajectories,) float64 ndarray or None
        The largest deficit (molecules) a discrete reaction left in a continuous amount by
        taking more than the amount held: the amount goes below 0 and the ODE repays it
        from the same moiety, so every conserved total holds (:mod:`stochsyn.engine.continuous`,
        "Deficits"). Below the reaction's stoichiometry by construction; 0 when no pool
        was overdrawn. (Datasets written before deficits were kept have NaN here.)
    ode_restarts : (n_trajectories,) int64 ndarray or None
        Times the ODE was stopped at an event or a scheduled change that altered its
        right-hand side (a jump, a flux's discrete factor, V(t) under a live flux, ...) and
        started afresh there.
    ode_linear : (n_trajectories,) int64 ndarray or None
        Intervals between events that the linear propagation took instead of Rodas4 steps
        (:mod:`stochsyn.engine.continuous`, "Linear propagation near a fixed point";
        ``[continuous] linear``). 0 when the model does not qualify (``stochsyn info``:
        coupled reactions, Michaelis–Menten or Hill terms, ...) and in a dataset written
        before this column existed.
    ode_linear_refused : (n_trajectories,) int64 ndarray or None
        Linear propagations its error estimate refused (Rodas4 took the interval).
    ode_linear_refreshes : (n_trajectories,) int64 ndarray or None
        Linearisations (a Jacobian and its eigen-decomposition) the linear propagation
        computed.
    flux_totals : (n_trajectories, n_reactions) float64 ndarray or None
        The hybrid mode's fluxes (reactions that are terms of dy/dt, never events): how
        many times each would have fired, i.e. the molecules it moved, integrated to the
        time reached (0 for the other reactions, whose count is in ``firings``). So
        ``firings + flux_totals`` compares with an exact run's ``firings``.
    sweep_columns : dict of str -> (n_trajectories,) ndarray
        For a sweep (:func:`stochsyn.sweep`): the point index (``point``), the parameter
        values and the protocol name of each trajectory; empty for a plain run.
    complete : bool
        False for a dataset read from disk that lacks batches (an interrupted run).

    An Ensemble read from disk (:func:`read`) loads ``counts``, ``firings``,
    ``event_records``, ``voltage_mv`` and ``continuous_values`` when first used.
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
    ode_rejected: np.ndarray | None = None
    continuous_deficit: np.ndarray | None = None
    ode_restarts: np.ndarray | None = None
    flux_totals: np.ndarray | None = None
    ode_linear: np.ndarray | None = None
    ode_linear_refused: np.ndarray | None = None
    ode_linear_refreshes: np.ndarray | None = None
    sweep_columns: dict[str, np.ndarray] = field(default_factory=dict)
    complete: bool = True

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
            if self.ode_rejected is None:
                self.ode_rejected = np.zeros(n, dtype=np.int64)
            if self.continuous_deficit is None:
                self.continuous_deficit = np.zeros(n)
            if self.ode_restarts is None:
                self.ode_restarts = np.zeros(n, dtype=np.int64)
            for name in ("ode_linear", "ode_linear_refused", "ode_linear_refreshes"):
                if getattr(self, name) is None:
                    setattr(self, name, np.zeros(n, dtype=np.int64))
            if self.flux_totals is None:
                self.flux_totals = np.zeros((n, len(self.reactions)))

    # ------------------------------------------------------------------ basic views
    @property
    def continuous_clamped(self) -> np.ndarray | None:
        """Molecules created by clamping a continuous amount at 0: zeros since deficits are
        kept instead (:attr:`continuous_deficit`); kept so that code reading it runs."""
        if self.continuous_deficit is None:
            return None
        return np.zeros(len(self.continuous_deficit))

    @property
    def n_trajectories(self) -> int:
        return len(self.trajectories)

    @property
    def seed(self) -> int | None:
        return self.provenance.get("seed")

    @property
    def names(self) -> tuple[str, ...]:
        """Species labels followed by observable names (and :data:`VOLTAGE_NAME` for a
        model with a membrane)."""
        return (tuple(self.species) + tuple(self.observables)
                + ((VOLTAGE_NAME,) if self.voltage_mv is not None else ()))

    def _name_list(self, names) -> list[str]:
        """``names`` as a list, all names for None; one name is a name, not a sequence of
        one-letter names (``describe("surface")``)."""
        if names is None:
            return list(self.names)
        return [names] if isinstance(names, str) else list(names)

    def unit_of(self, name: str) -> str:
        """The unit of a name's samples: ``mV`` for the voltage, else ``molecules``."""
        return "mV" if name == VOLTAGE_NAME else "molecules"

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
            # Term by term over the observable's species: no float copy of all counts.
            out = np.zeros(self.counts.shape[:2])
            for index, weight in sorted(self.observables[name].items()):
                label = self.species[index]
                amount = (self.continuous_values[:, :, self.continuous.index(label)]
                          if label in self.continuous else self.counts[:, :, index])
                out += weight * amount
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

    def timeseries(self, names: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Tidy table: one row per trajectory, time and name.

        Parameters
        ----------
        names : str or iterable of str, optional
            A species or observable, or several (default: all).

        Returns
        -------
        DataFrame with columns ``trajectory`` (int64), ``time`` (float64, s), ``name``
        (categorical), ``value`` (float64; NaN after an early stop).
        """
        names = self._name_list(names)
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

    def describe(self, names: str | Iterable[str] | None = None,
                 quantiles: Sequence[float] = _QUANTILES,
                 by: Sequence[str] | None = None) -> pd.DataFrame:
        """Statistics over trajectories per time and name (and sweep point).

        Parameters
        ----------
        names : str or iterable of str, optional
            A species or observable (``"surface"``), or several (default: all).
        quantiles : sequence of float
        by : sequence of str, optional
            Columns of :attr:`sweep_columns` to group by (default: all of them for a
            sweep, none for a plain run).

        Returns
        -------
        DataFrame indexed by (``by`` …, ``time``, ``name``) with columns ``n``, ``mean``,
        ``sd``, ``sem`` and one column per quantile (``q05`` …). Stopped samples are left
        out. Computed name by name from the sample arrays (no tidy table in between).
        """
        names = self._name_list(names)
        by, groups = self.groups(by)
        n_times = len(self.times)
        blocks = []
        for key, rows in groups:
            for name in names:
                x = self.values(name)[rows]
                valid = ~np.isnan(x)
                n = valid.sum(axis=0)
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.where(n > 0, np.nanmean(x, axis=0) if len(x) else np.nan,
                                    np.nan)
                    sd = np.where(n > 1, np.nanstd(x, axis=0, ddof=1) if len(x) else np.nan,
                                  np.nan)
                    qs = (np.nanquantile(x, list(quantiles), axis=0) if len(x)
                          else np.full((len(quantiles), n_times), np.nan))
                block = {"n": n.astype(np.int64), "mean": mean, "sd": sd,
                         "sem": sd / np.sqrt(n)}
                for q, values in zip(quantiles, qs):
                    block[f"q{round(q * 100):02d}"] = values
                frame = pd.DataFrame(block)
                for column, value in zip(by, key):
                    frame[column] = value
                frame["time"] = self.times
                frame["name"] = name
                blocks.append(frame)
        columns = ["n", "mean", "sd", "sem"] + [f"q{round(q * 100):02d}" for q in quantiles]
        if not blocks:
            empty = pd.DataFrame(columns=list(by) + ["time", "name"] + columns)
            return empty.set_index(list(by) + ["time", "name"])
        table = pd.concat(blocks, ignore_index=True)
        table["name"] = pd.Categorical(table["name"], categories=names)
        table = table.sort_values(list(by) + ["time", "name"], kind="stable")
        return table.set_index(list(by) + ["time", "name"])[columns]

    def groups(self, by: Sequence[str] | None = None):
        """The trajectories grouped by sweep columns.

        Parameters
        ----------
        by : sequence of str, optional
            Columns of :attr:`sweep_columns` (default: all but ``point``; none for a
            plain run).

        Returns
        -------
        (list of str, list of (tuple, row selector))
            The columns, and per group its values and the rows of its trajectories.
        """
        if by is None:
            by = [c for c in self.sweep_columns if c != "point"]
        by = list(by)
        for column in by:
            if column not in self.sweep_columns:
                raise KeyError(f"no sweep column '{column}' (there are: "
                               f"{', '.join(self.sweep_columns) or 'none'})")
        if not by:
            return by, [((), slice(None))]
        keys = pd.DataFrame({c: self.sweep_columns[c] for c in by})
        groups = keys.groupby(by, sort=True, dropna=False).indices
        return by, [(k if isinstance(k, tuple) else (k,), rows) for k, rows in groups.items()]

    def summary(self, names: str | Iterable[str] | None = None) -> pd.DataFrame:
        """One row per trajectory: sweep columns, status, events, time reached (in the
        hybrid mode also ODE steps and clamped molecules), and for each of ``names``
        (default: every observable, or without observables every species, and the
        voltage) its final value, its peak (``_max``) and the first sample time of the
        peak (``_t_peak``, s)."""
        table = pd.DataFrame({
            "trajectory": self.trajectories,
            **{c: v for c, v in self.sweep_columns.items()},
            "status": pd.Categorical([STATUS_TEXT.get(int(s), str(s)) for s in self.status]),
            "n_events": self.n_events,
            "t_reached": self.t_reached,
            "n_releases": self.n_releases,
        })
        if self.continuous:
            table["ode_steps"] = self.ode_steps
            table["ode_rejected"] = self.ode_rejected
            table["ode_restarts"] = self.ode_restarts
            table["ode_linear"] = self.ode_linear
            table["ode_linear_refused"] = self.ode_linear_refused
            table["ode_linear_refreshes"] = self.ode_linear_refreshes
            table["continuous_deficit"] = self.continuous_deficit
        if names is None:
            names = (tuple(self.observables or self.species)
                     + ((VOLTAGE_NAME,) if self.voltage_mv is not None else ()))
        elif isinstance(names, str):
            names = (names,)
        for name in names:
            values = self.values(name)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)    # all-NaN: never began
                table[f"{name}_final"] = values[:, -1] if values.shape[1] else np.nan
                table[f"{name}_max"] = np.nanmax(values, axis=1) if values.shape[1] else np.nan
                filled = np.where(np.isnan(values), -np.inf, values)
                t_peak = (self.times[np.argmax(filled, axis=1)] if values.shape[1]
                          else np.full(len(values), np.nan))
                table[f"{name}_t_peak"] = np.where(np.isnan(values).all(axis=1), np.nan,
                                                   t_peak)
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
    def plot(self, names: Sequence[str] | str | None = None, *, ax=None,
             n_examples: int = 3, by: Sequence[str] | None = None, band: str = "sd"):
        """Mean ± sd (or sem) bands and a few single trajectories over time, with units
        on the axes (:func:`stochsyn.plotting.plot_ensemble`; needs matplotlib, the
        ``analysis`` extra).

        Returns
        -------
        matplotlib Figure
        """
        from .plotting import plot_ensemble
        return plot_ensemble(self, names, ax=ax, n_examples=n_examples, by=by, band=band)

    def to_parquet(self, directory: str | os.PathLike, batch: int = 0, *,
                   overwrite: bool = False) -> Path:
        """Write the ensemble as a Parquet dataset (layout: :mod:`stochsyn.dataset`).

        Returns the directory. Writing into a folder that holds another dataset is refused
        unless ``overwrite``.
        """
        directory = Path(directory)
        manifest = self.manifest()
        n = self.n_trajectories
        manifest["batches"] = [[int(batch), int(self.trajectories[0]) if n else 0, n]]
        ds.prepare_directory(directory, manifest, resume=False, overwrite=overwrite)
        write_batch(directory, batch, self)
        return directory

    def manifest(self) -> dict[str, Any]:
        manifest = {
            "format": ds.FORMAT,
            "provenance": self.provenance,
            "times": [float(t) for t in self.times],
            "species": list(self.species),
            "reactions": list(self.reactions),
            "observables": {k: {str(i): w for i, w in v.items()}
                            for k, v in self.observables.items()},
            "agent_types": [list(a) for a in self.agent_types],
            "has_voltage": self.voltage_mv is not None,
        }
        if self.continuous:       # (absent for exact runs)
            manifest["continuous"] = list(self.continuous)
        return manifest

    def __repr__(self) -> str:
        stopped = int(np.count_nonzero(self.status))
        records = ("not loaded" if "event_records" not in self.__dict__
                   else len(self.event_records))
        return (f"Ensemble({self.n_trajectories} trajectories × {len(self.times)} times × "
                f"{len(self.species)} species"
                + (f" ({len(self.continuous)} continuous)" if self.continuous else "")
                + f", seed={self.seed}, "
                f"{records} event records"
                + (f", {stopped} stopped early" if stopped else "")
                + ("" if self.complete else ", INCOMPLETE") + ")")


class _Lazy:
    """A field of :class:`Ensemble` that an ensemble read from disk loads when first used.

    The value lives in the instance's ``__dict__``; an ensemble made by :func:`read` has,
    instead, a loader for it in ``_loaders``."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return _LAZY_DEFAULTS.get(self.name)
        try:
            return instance.__dict__[self.name]
        except KeyError:
            pass
        loaders = instance.__dict__.get("_loaders", {})
        if self.name not in loaders:
            raise AttributeError(self.name)
        value = loaders.pop(self.name)()
        instance.__dict__[self.name] = value
        return value

    def __set__(self, instance, value):
        state = instance.__dict__
        state[self.name] = value
        if "_loaders" in state:
            state["_loaders"].pop(self.name, None)


#: Column prefix of the fluxes' totals in a dataset's per-trajectory table (the hybrid mode).
FLUX_PREFIX = "flux:"

_LAZY_DEFAULTS = {"voltage_mv": None, "continuous_values": None}
for _name in ("counts", "firings", "event_records", "voltage_mv", "continuous_values"):
    setattr(Ensemble, _name, _Lazy(_name))


def _rule_of(reaction_name: str) -> str:
    return reaction_name.split("[", 1)[0]


# ---------------------------------------------------------------------- writing a batch
_UNIT_COUNT = "molecules"


def _event_labels(reactions, species, agent_types):
    rules = [_rule_of(name) for name in reactions]
    rule_labels = list(dict.fromkeys(rules))
    rule_code = np.array([rule_labels.index(r) for r in rules], dtype=np.int64)
    type_of_state = np.full(len(species) + 1, -1, dtype=np.int64)    # last: "none" (-1)
    for t, (_, base, n) in enumerate(agent_types):
        type_of_state[base:base + n] = t
    return rule_labels, rule_code, type_of_state


def events_table(ev: Events, reactions, species, agent_types) -> pa.Table:
    """Event records as a Parquet-ready table with dictionary-encoded string labels."""
    rule_labels, rule_code, type_of_state = _event_labels(reactions, species, agent_types)
    either = np.where(ev.state_before >= 0, ev.state_before, ev.state_after)
    reaction = ev.reaction.astype(np.int64)
    return pa.Table.from_arrays([
        ds.numeric_array(ev.trajectory, pa.int64()),
        ds.numeric_array(ev.time, pa.float64()),
        ds.dictionary(type_of_state[either], [a[0] for a in agent_types]),
        ds.numeric_array(ev.agent, pa.int64()),
        ds.dictionary(rule_code[reaction] if len(reaction) else reaction, rule_labels),
        ds.dictionary(reaction, list(reactions)),
        ds.dictionary(ev.state_before, list(species)),
        ds.dictionary(ev.state_after, list(species)),
    ], schema=events_schema())


def events_schema() -> pa.Schema:
    label = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([
        pa.field("trajectory", pa.int64()),
        ds.unit_field("time", pa.float64(), "s"),
        pa.field("agent_type", label), pa.field("agent", pa.int64()),
        pa.field("rule", label), pa.field("reaction", label),
        pa.field("state_before", label), pa.field("state_after", label)])


def _read_table(path, columns=None, filters=None, footer=None) -> pa.Table:
    """``pq.read_table``; without filters through ``pq.ParquetFile`` (``footer``, if the
    caller has it open already), which does not load pyarrow's dataset module (and with
    it pandas: 0.3–0.8 s of a ``stochsyn run``)."""
    if filters is None:
        return (footer if footer is not None else pq.ParquetFile(path)).read(columns=columns)
    return pq.read_table(path, columns=columns, filters=filters)


def counts_table(ens: Ensemble) -> pa.Table:
    """One row per (trajectory, time): species, observables, voltage, with units."""
    n_traj, n_times, n_species = ens.counts.shape
    fields, arrays = [], []

    def add(name, values, dtype, unit):
        fields.append(ds.unit_field(name, dtype, unit))
        arrays.append(ds.numeric_array(values, dtype))

    add("trajectory", np.repeat(ens.trajectories, n_times), pa.int64(), None)
    add("time", np.tile(ens.times, n_traj), pa.float64(), "s")
    flat = ens.counts.reshape(n_traj * n_times, n_species)
    for s, label in enumerate(ens.species):
        if label in ens.continuous:        # the amounts, real-valued
            q = ens.continuous.index(label)
            add(label, ens.continuous_values[:, :, q].reshape(-1), pa.float64(), _UNIT_COUNT)
        else:
            add(label, flat[:, s], pa.int64(), _UNIT_COUNT)
    for name in ens.observables:
        add(name, ens.values(name).reshape(-1), pa.float64(), _UNIT_COUNT)
    if ens.voltage_mv is not None:
        add(VOLTAGE_NAME, ens.voltage_mv.reshape(-1), pa.float64(), "mV")
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def trajectory_table(ens: Ensemble, records_per_trajectory: np.ndarray | None = None
                     ) -> pa.Table:
    """One row per trajectory: sweep columns, status (a string), events, event records
    made (``n_records``; default: those in ``ens.event_records``), firings."""
    fields, arrays = [], []

    def add(name, values, dtype=None, unit=None):
        array = (values if isinstance(values, pa.Array) else pa.array(values) if dtype is None
                 else ds.numeric_array(values, dtype))
        fields.append(ds.unit_field(name, array.type, unit))
        arrays.append(array)

    add("trajectory", ens.trajectories, pa.int64())
    for name, values in ens.sweep_columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "OUS":
            labels = list(dict.fromkeys(values.tolist()))
            add(name, ds.dictionary(np.array([labels.index(v) for v in values.tolist()],
                                             dtype=np.int64), labels))
        else:
            add(name, values)
    # (a set of the codes: np.unique imports numpy.ma, ~0.03 s of a cold start)
    codes = sorted(set(STATUS_TEXT) | set(np.asarray(ens.status, dtype=np.int64).tolist()))
    status_labels = [STATUS_TEXT.get(c, str(c)) for c in codes]
    add("status", ds.dictionary(np.searchsorted(codes, ens.status), status_labels))
    add("n_events", ens.n_events, pa.int64())
    add("t_reached", ens.t_reached, pa.float64(), "s")
    add("n_releases", ens.n_releases, pa.int64())
    per_trajectory = records_per_trajectory
    if per_trajectory is None:
        records = ens.event_records
        per_trajectory = np.zeros(len(ens.trajectories), dtype=np.int64)
        if len(records):
            order = np.searchsorted(ens.trajectories, records.trajectory)
            per_trajectory = np.bincount(order, minlength=len(ens.trajectories))
    add("n_records", per_trajectory, pa.int64())
    if ens.continuous:
        add("ode_steps", ens.ode_steps, pa.int64())
        add("ode_rejected", ens.ode_rejected, pa.int64())
        add("continuous_deficit", ens.continuous_deficit, pa.float64(), _UNIT_COUNT)
        add("ode_restarts", ens.ode_restarts, pa.int64())
        add("ode_linear", ens.ode_linear, pa.int64())
        add("ode_linear_refused", ens.ode_linear_refused, pa.int64())
        add("ode_linear_refreshes", ens.ode_linear_refreshes, pa.int64())
        for j, reaction in enumerate(ens.reactions):      # the fluxes' totals (else 0)
            add(f"{FLUX_PREFIX}{reaction}", ens.flux_totals[:, j], pa.float64(), _UNIT_COUNT)
    for j, reaction in enumerate(ens.reactions):
        add(f"{ds.FIRED_PREFIX}{reaction}", ens.firings[:, j], pa.int64())
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_batch(directory: Path, number: int, ens: Ensemble,
                events_written: int | None = None,
                records_per_trajectory: np.ndarray | None = None) -> None:
    """Write one batch: events (unless ``events_written`` says a streaming writer already
    wrote that many), counts, then the trajectory table, whose presence and metadata mark
    the batch as complete (:func:`stochsyn.dataset.batch_state`)."""
    name = ds.batch_name(number)
    n_records = events_written
    if events_written is None:
        ev = ens.event_records
        n_records = len(ev)
        if n_records:
            ds.write_table(events_table(ev, ens.reactions, ens.species, ens.agent_types),
                           directory / "events" / name, ens.provenance)
    ds.write_table(counts_table(ens), directory / "counts" / name, ens.provenance)
    from .engine import INTERRUPTED
    interrupted = int(np.count_nonzero((ens.status == INTERRUPTED) | (ens.status < 0)))
    batch_meta = {"n_trajectories": len(ens.trajectories), "n_records": int(n_records),
                  "n_interrupted": interrupted}
    ds.write_table(trajectory_table(ens, records_per_trajectory),
                   directory / "trajectories" / name, ens.provenance,
                   {b"stochsyn-batch": json.dumps(batch_meta).encode()})


# ---------------------------------------------------------------------- reading
def _count_column(values: np.ndarray, continuous: bool) -> np.ndarray:
    """A species column as counts: a continuous species' amounts as their nearest whole
    numbers (>= 0), -1 where NaN (a stopped trajectory), as Ensemble.counts holds them."""
    if not continuous:
        return values
    return np.where(np.isnan(values), -1, np.maximum(np.rint(values), 0)).astype(np.int64)


def _as_index_set(trajectories) -> np.ndarray | None:
    if trajectories is None:
        return None
    if isinstance(trajectories, slice):
        raise TypeError("give trajectories as indices (a range or array), not a slice")
    return np.unique(np.asarray(list(trajectories) if isinstance(trajectories, range)
                                else trajectories, dtype=np.int64))


def read(directory: str | os.PathLike, names: str | Iterable[str] | None = None,
         trajectories=None, *, strict: bool = False) -> Ensemble:
    """Open a dataset written by :meth:`Ensemble.to_parquet` or ``simulate(out=...)``.

    The per-trajectory table (status, events, sweep columns) is read at once; counts,
    firings, event records, voltages and continuous amounts are read when first used.

    Parameters
    ----------
    directory : str or path
    names : iterable of str, optional
        Species and observables to load (default: all); only their columns are read and
        the Ensemble holds only these species (and the species the observables need).
    trajectories : array of int or range, optional
        Global trajectory indices to load (default: all); pushed down to pyarrow.
    strict : bool
        Raise :class:`IncompleteDatasetError` instead of warning when batches are missing
        or broken.

    Returns
    -------
    Ensemble
        Trajectories in the order of their global index; ``complete`` is False (with an
        :class:`IncompleteDatasetWarning`) when the run did not finish.
    """
    directory = Path(directory)
    manifest = ds.read_manifest(directory)
    all_species = tuple(manifest["species"])
    continuous_all = tuple(manifest.get("continuous", ()))
    times = np.asarray(manifest["times"], dtype=np.float64)
    reactions = tuple(manifest["reactions"])
    observables_all = {k: {int(i): w for i, w in v.items()}
                       for k, v in manifest["observables"].items()}
    wanted = _as_index_set(trajectories)
    n_times = len(times)

    # Which batches are on disk and whole.
    if "batches" in manifest:
        states = ds.dataset_state(directory, manifest)
        planned = sum(int(n) for _, _, n in manifest["batches"])
    else:       # format 1: no plan, every batch whose trajectory table exists
        states = {ds.batch_number(p.name): ds.BatchState("done")
                  for p in (directory / "trajectories").glob("batch-*.parquet")}
        planned = None
    usable = sorted(n for n, s in states.items() if s.state in ("done", "unfinished"))
    problems = {n: s for n, s in states.items() if s.state != "done"}
    complete = not problems

    # Species and observables to load.
    if names is None:
        species_idx = list(range(len(all_species)))
        observables = observables_all
        want_voltage = True
    else:
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in all_species and n not in observables_all
                   and n != VOLTAGE_NAME]
        if unknown:
            import difflib
            close = difflib.get_close_matches(unknown[0], all_species + tuple(observables_all),
                                              n=1)
            raise KeyError(f"no species or observable named '{unknown[0]}' in {directory}"
                           + (f"; did you mean '{close[0]}'?" if close else ""))
        chosen = {all_species.index(n) for n in names if n in all_species}
        for n in names:
            chosen |= set(observables_all.get(n, {}))
        species_idx = sorted(chosen)
        remap = {old: new for new, old in enumerate(species_idx)}
        observables = {n: {remap[i]: w for i, w in observables_all[n].items()}
                       for n in names if n in observables_all}
        want_voltage = VOLTAGE_NAME in names
    species = tuple(all_species[i] for i in species_idx)
    continuous = tuple(s for s in species if s in continuous_all)

    # The per-trajectory table, for the batches in use (pushed-down selection).
    filters = [("trajectory", "in", wanted.tolist())] if wanted is not None else None
    light_tables, files, partial = [], [], set()
    for number in usable:
        path = directory / "trajectories" / ds.batch_name(number)
        footer = pq.ParquetFile(path)
        light = [c for c in footer.schema_arrow.names
                 if not c.startswith((ds.FIRED_PREFIX, "firings_"))]
        table = _read_table(path, columns=light, filters=filters, footer=footer)
        if table.num_rows:
            light_tables.append(table)
            files.append(number)
            if table.num_rows < footer.metadata.num_rows:
                partial.add(number)     # only these batches need the row filter
    if light_tables:
        light = pa.concat_tables(light_tables, promote_options="permissive")
    else:
        light = pa.table({"trajectory": pa.array([], pa.int64())})
    index = ds.numpy_of(light.column("trajectory")).astype(np.int64)
    order = np.argsort(index, kind="stable")
    in_order = bool(np.all(np.diff(index) > 0))
    n = len(index)

    def column(name, dtype, default=0):
        if name not in light.column_names:
            return np.full(n, default, dtype=dtype)
        return np.asarray(ds.numpy_of(light.column(name)))[order].astype(
            dtype)

    if "status" in light.column_names and pa.types.is_integer(light.column("status").type):
        status = column("status", np.int64)
    elif n:
        text_to_code = {text: code for code, text in STATUS_TEXT.items()}
        codes = sorted(text_to_code.values())
        labels = [STATUS_TEXT[c] for c in codes]
        raw = light.column("status").combine_chunks()
        if pa.types.is_dictionary(raw.type) and not raw.null_count:
            # every label of the dictionary (codes_of below maps them all), not those in
            # use: cast and unique would import pyarrow.compute (~0.03-0.05 s of a cold
            # `stochsyn run`)
            present = set(raw.dictionary.to_pylist())
        else:
            if pa.types.is_dictionary(raw.type):
                raw = raw.cast(pa.string())
            present = set(raw.unique().to_pylist())
        unknown = present - set(labels)
        labels += sorted(unknown)
        codes += [int(t) if t.lstrip("-").isdigit() else -2 for t in sorted(unknown)]
        status = np.asarray(codes, dtype=np.int64)[ds.codes_of(raw, labels)][order]
    else:
        status = np.zeros(0, dtype=np.int64)
    sweep_names = [c for c in manifest.get("sweep", {}).get("columns", [])]
    sweep_columns = {}
    for c in sweep_names:
        values = light.column(c)
        if pa.types.is_dictionary(values.type):
            values = values.cast(pa.string())
        sweep_columns[c] = np.asarray(ds.numpy_of(values))[order]
        if sweep_columns[c].dtype == object:
            sweep_columns[c] = sweep_columns[c].astype(str)

    def selection(number):
        return filters if number in partial else None

    def reorder(array):
        """Rows in trajectory order (a copy only if the batches were not already)."""
        return array if in_order else array[order]

    def load_counts():
        """Counts, continuous amounts and voltages, filled batch by batch into arrays
        allocated once (no list of blocks and concatenated copy)."""
        columns = [all_species[i] for i in species_idx]
        counts = np.empty((n, n_times, len(columns)), dtype=np.int64)
        amounts = np.full((n, n_times, len(continuous)), np.nan)
        voltages = np.full((n, n_times), np.nan) if has_voltage else None
        row = 0
        for number in files:
            path = directory / "counts" / ds.batch_name(number)
            extra = [VOLTAGE_NAME] if has_voltage else []
            table = _read_table(path, columns=columns + extra, filters=selection(number))
            m = table.num_rows // n_times if n_times else 0
            block = counts[row:row + m].reshape(m * n_times, len(columns))
            for k, label in enumerate(columns):
                block[:, k] = _count_column(ds.numpy_of(table.column(label)),
                                            label in continuous_all)
            for q, label in enumerate(continuous):
                amounts[row:row + m, :, q] = ds.numpy_of(table.column(label)).reshape(
                    m, n_times)
            if extra:
                voltages[row:row + m] = ds.numpy_of(table.column(VOLTAGE_NAME)).reshape(
                    m, n_times)
            del table
            row += m
        return (reorder(counts), reorder(amounts),
                reorder(voltages) if voltages is not None else None)

    cache = {}

    def counts_part(which):
        if "counts" not in cache:
            cache["counts"], cache["amounts"], cache["voltages"] = load_counts()
        return cache.pop(which) if which != "counts" else cache["counts"]

    def load_firings():
        out = np.zeros((n, len(reactions)), dtype=np.int64)
        row = 0
        blocks = []
        for number in files:
            path = directory / "trajectories" / ds.batch_name(number)
            names_on_disk = pq.read_schema(path).names
            cols = [f"{ds.FIRED_PREFIX}{r}" for r in reactions]
            if cols and cols[0] not in names_on_disk:         # format 1
                cols = [f"firings_{j}" for j in range(len(reactions))]
            table = _read_table(path, columns=cols, filters=selection(number))
            blocks.append(np.stack([ds.numpy_of(table.column(c)) for c in cols], axis=1)
                          if cols else np.zeros((table.num_rows, 0), dtype=np.int64))
            row += table.num_rows
        if blocks:
            out = reorder(np.concatenate(blocks).astype(np.int64))
        return out

    def load_events():
        parts = []
        for number in files:
            path = directory / "events" / ds.batch_name(number)
            if not path.exists():
                continue
            table = _read_table(path, filters=selection(number))
            parts.append(Events(
                np.asarray(ds.numpy_of(table.column("trajectory")), dtype=np.int64),
                np.asarray(ds.numpy_of(table.column("time")), dtype=np.float64),
                np.asarray(ds.numpy_of(table.column("agent")), dtype=np.int64),
                ds.codes_of(table.column("reaction"), list(reactions)),
                ds.codes_of(table.column("state_before"), list(all_species)),
                ds.codes_of(table.column("state_after"), list(all_species))))
        ev = Events.concatenate(parts)
        if names is not None and len(ev):       # states as indices of the loaded species
            remap = np.full(len(all_species) + 1, -1, dtype=np.int64)
            remap[species_idx] = np.arange(len(species_idx))
            ev = Events(ev.trajectory, ev.time, ev.agent, ev.reaction,
                        remap[ev.state_before], remap[ev.state_after])
        step = np.diff(ev.trajectory)
        if np.all((step > 0) | ((step == 0) & (np.diff(ev.time) >= 0))):
            return ev          # as written: by trajectory, then time (no sorted copies)
        ev_order = np.lexsort((ev.time, ev.trajectory))
        return Events(*(getattr(ev, f)[ev_order] for f in (
            "trajectory", "time", "agent", "reaction", "state_before", "state_after")))

    has_voltage = bool(manifest.get("has_voltage", False)) and want_voltage
    if "has_voltage" not in manifest and want_voltage and files:   # format 1
        has_voltage = VOLTAGE_NAME in pq.read_schema(
            directory / "counts" / ds.batch_name(files[0])).names
    agent_types = tuple(tuple(a) for a in manifest["agent_types"])
    if names is not None:
        agent_types = tuple((name, base, k) for name, base, k in agent_types
                            if all(i in species_idx for i in range(base, base + k)))
        agent_types = tuple((name, species_idx.index(base), k)
                            for name, base, k in agent_types)
    ens = object.__new__(Ensemble)
    ens.__dict__.update(
        times=times, species=species, trajectories=index[order], status=status,
        n_events=column("n_events", np.int64), t_reached=column("t_reached", np.float64),
        reactions=reactions, observables=observables, agent_types=agent_types,
        provenance=manifest["provenance"], n_releases=column("n_releases", np.int64),
        continuous=continuous,
        ode_steps=column("ode_steps", np.int64) if continuous else None,
        ode_rejected=column("ode_rejected", np.int64) if continuous else None,
        continuous_deficit=(column("continuous_deficit", np.float64, np.nan) if continuous
                            else None),
        ode_restarts=column("ode_restarts", np.int64) if continuous else None,
        ode_linear=column("ode_linear", np.int64) if continuous else None,
        ode_linear_refused=column("ode_linear_refused", np.int64) if continuous else None,
        ode_linear_refreshes=(column("ode_linear_refreshes", np.int64) if continuous
                              else None),
        flux_totals=((np.stack([column(f"{FLUX_PREFIX}{r}", np.float64) for r in reactions],
                               axis=1) if reactions else np.zeros((n, 0)))
                     if continuous else None),
        sweep_columns=sweep_columns, complete=complete)
    ens.__dict__["_loaders"] = {
        "counts": lambda: counts_part("counts"),
        "firings": load_firings,
        "event_records": load_events,
        "voltage_mv": (lambda: (counts_part("counts"), counts_part("voltages"))[1])
        if has_voltage else (lambda: None),
        "continuous_values": (lambda: (counts_part("counts"), counts_part("amounts"))[1])
        if continuous else (lambda: None),
    }
    if problems:
        found = sum(s.n_trajectories for s in states.values() if s.state == "done")
        first = next(iter(problems.items()))
        kinds = sorted({s.state for s in problems.values()})
        message = (f"{directory} is incomplete: {len(problems)} of {len(states)} batches "
                   f"are {'/'.join(kinds)} (batch {first[0]}: {first[1].state}"
                   f"{', ' + first[1].reason if first[1].reason else ''}); "
                   f"{found} of {planned} trajectories are complete. Finish the run with "
                   "the same command and --resume (simulate(..., resume=True))")
        if strict:
            raise IncompleteDatasetError(message)
        warnings.warn(message, IncompleteDatasetWarning, stacklevel=2)
    return ens
