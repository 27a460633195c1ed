"""Read-outs of the Ca²⁺-decoding modules: per-trajectory summaries, T286 event records,
and the UP/DOWN dwell times of a CaMKII switch.

The modules (``reactions/modules/cam_*.toml``, ``camkii_holoenzyme.toml``,
``pp1_i1_pka.toml``, ``calcineurin_*.toml``; docs/decoding.md) declare the observables a
researcher reads (``camkii_pt286``, ``camkii_active``, ``can_active``, ``I1P``, ``PP1`` …);
this module turns an :class:`~stochsyn.Ensemble` of them into tables:

* :func:`summarize` — per trajectory and name: peak, time of the peak, final value, time
  spent above thresholds, and (for a switch) the final state UP or DOWN;
* :func:`t286_events` — the logged T286 (de)phosphorylations with holoenzyme and subunit;
* :func:`switch_episodes` — the dwell times in UP and DOWN of a bistable switch, with the
  censored last episode, and :func:`exponential_mean` — their mean (maximum likelihood with
  censoring) and its standard error.

Everything here reads samples (or event records) of a finished run; nothing simulates.
Times are in seconds, amounts in the units of the ensemble (molecule counts; divide by the
number of subunits for fractions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["summarize", "t286_events", "switch_episodes", "SwitchEpisodes",
           "exponential_mean", "UP", "DOWN"]

UP, DOWN = "UP", "DOWN"


def summarize(ens, names: Iterable[str], *, thresholds: Mapping[str, Sequence[float]]
              | None = None, switch: tuple[str, float, float] | None = None) -> pd.DataFrame:
    """One row per trajectory: how each named quantity behaved.

    Parameters
    ----------
    ens : Ensemble
    names : iterable of str
        Species or observables (``Ensemble.values`` names).
    thresholds : mapping, optional
        Name -> thresholds (in the name's unit): the table gets ``<name>_time_above_<thr>``,
        the time (s) the samples spent at or above each threshold, counting each sample
        interval by its left end (piecewise-constant between samples, so the resolution is
        the sample spacing).
    switch : (name, up, down), optional
        A bistable read-out and its two thresholds (``up > down``): ``final_state`` is UP if
        the last sample is at or above ``up``, DOWN if at or below ``down``, and the state
        last crossed into otherwise (hysteresis).

    Returns
    -------
    DataFrame
        Columns ``trajectory``, then per name ``<name>_peak``, ``<name>_t_peak`` (s),
        ``<name>_final``, the time-above columns, and ``final_state``. Samples after an
        early stop (NaN) are left out.
    """
    times = np.asarray(ens.times, dtype=float)
    widths = np.diff(np.append(times, times[-1])) if len(times) else times
    table = {"trajectory": ens.trajectories}
    for name in names:
        values = ens.values(name)
        filled = np.where(np.isnan(values), -np.inf, values)
        peak_at = np.argmax(filled, axis=1)
        table[f"{name}_peak"] = values[np.arange(len(values)), peak_at]
        table[f"{name}_t_peak"] = times[peak_at]
        table[f"{name}_final"] = _last_valid(values)
        for thr in (thresholds or {}).get(name, ()):
            above = np.where(np.isnan(values), False, values >= thr)
            table[f"{name}_time_above_{thr:g}"] = above @ widths
    if switch is not None:
        name, up, down = switch
        if not up > down:
            raise ValueError(f"switch thresholds need up > down, got up={up}, down={down}")
        values = ens.values(name)
        table["final_state"] = pd.Categorical(
            [_hysteresis_state(row[~np.isnan(row)], up, down) for row in values],
            categories=[DOWN, UP])
    frame = pd.DataFrame(table)
    frame.attrs["provenance"] = ens.provenance
    return frame


def _last_valid(values: np.ndarray) -> np.ndarray:
    out = np.full(len(values), np.nan)
    for i, row in enumerate(values):
        ok = np.flatnonzero(~np.isnan(row))
        if len(ok):
            out[i] = row[ok[-1]]
    return out


def _hysteresis_state(row: np.ndarray, up: float, down: float) -> str | None:
    state = None
    for v in row:
        if v >= up:
            state = UP
        elif v <= down:
            state = DOWN
    return state


def t286_events(ens, *, agent_type: str = "CaMKII", subunits_per_holoenzyme: int = 12,
                site: str = "t286") -> pd.DataFrame:
    """The logged events of ``agent_type`` that change its ``site`` (T286), one row each.

    Columns: those of :meth:`Ensemble.events`, plus ``holoenzyme`` (agent id //
    ``subunits_per_holoenzyme``), ``subunit`` (agent id % it: 0–5 the first ring, 6–11 the
    second) and ``change`` (+1 phosphorylation, −1 dephosphorylation). Which rules write
    records is the model's choice (``log = true``: in camkii_holoenzyme.toml the three
    autophosphorylation rules, PP1's catalytic step and turnover).
    """
    events = ens.events()
    events = events[events.agent_type == agent_type]
    before = events.state_before.astype(str).str.contains(f"{site}=p")
    after = events.state_after.astype(str).str.contains(f"{site}=p")
    events = events[before != after].copy()
    events["holoenzyme"] = events.agent // subunits_per_holoenzyme
    events["subunit"] = events.agent % subunits_per_holoenzyme
    events["change"] = np.where(after[before != after], 1, -1)
    return events.reset_index(drop=True)


@dataclass
class SwitchEpisodes:
    """Dwell times of a two-state switch read from samples with hysteresis.

    Attributes
    ----------
    up, down : (k,) float64 ndarrays
        Completed dwell times in UP and in DOWN (s): from the sample at which the state was
        entered to the one at which it was left.
    up_censored, down_censored : (m,) float64 ndarrays
        Episodes still running at the end of a trajectory (a lower bound on their length).
    first_up, first_down : (k,) float64 ndarrays
        Completed episodes that started at t = 0 (their length depends on the initial
        condition; they are also in ``up``/``down``).
    """

    up: np.ndarray
    down: np.ndarray
    up_censored: np.ndarray
    down_censored: np.ndarray
    first_up: np.ndarray
    first_down: np.ndarray


def switch_episodes(times, values, up: float, down: float) -> SwitchEpisodes:
    """Split each trajectory into UP and DOWN episodes.

    A trajectory is UP from the first sample at or above ``up`` until the first later
    sample at or below ``down`` (then DOWN until the next sample at or above ``up``): two
    thresholds, so noise around one of them is not counted as switching. Episode lengths
    are measured between samples, so they are exact to the sample spacing.

    Parameters
    ----------
    times : (n_times,) array, s
    values : (n_trajectories, n_times) array
        The read-out (e.g. the pT286 fraction); NaN after an early stop ends the
        trajectory there.
    up, down : float
        Thresholds, ``up > down``.
    """
    if not up > down:
        raise ValueError(f"switch thresholds need up > down, got up={up}, down={down}")
    times = np.asarray(times, dtype=float)
    values = np.atleast_2d(np.asarray(values, dtype=float))
    done = {UP: [], DOWN: []}
    open_ = {UP: [], DOWN: []}
    first = {UP: [], DOWN: []}
    for row in values:
        state, since, from_start = None, 0.0, True
        last_t = times[0]
        for t, v in zip(times, row):
            if np.isnan(v):
                break
            last_t = t
            new = UP if v >= up else DOWN if v <= down else state
            if state is None:
                state, since = new, t
                continue
            if new != state:
                done[state].append(t - since)
                if from_start:
                    first[state].append(t - since)
                state, since, from_start = new, t, False
        if state is not None:
            open_[state].append(last_t - since)
    arr = {k: np.asarray(v, dtype=float) for k, v in done.items()}
    return SwitchEpisodes(arr[UP], arr[DOWN], np.asarray(open_[UP], dtype=float),
                          np.asarray(open_[DOWN], dtype=float),
                          np.asarray(first[UP], dtype=float),
                          np.asarray(first[DOWN], dtype=float))


def exponential_mean(completed, censored=()) -> tuple[float, float, int]:
    """Mean of exponentially distributed dwell times with right-censoring.

    The maximum-likelihood estimate is (total observed time) / (number of completed
    episodes); its standard error, from the Fisher information, is mean / √k.

    Returns
    -------
    (mean, standard error, number of completed episodes); (inf, inf, 0) without any.
    """
    completed = np.asarray(completed, dtype=float)
    censored = np.asarray(censored, dtype=float)
    k = len(completed)
    if k == 0:
        return math.inf, math.inf, 0
    mean = (completed.sum() + censored.sum()) / k
    return float(mean), float(mean / math.sqrt(k)), k
