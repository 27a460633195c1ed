"""Read-outs of the AMPA-receptor trafficking module: synaptic weight, insertions and
endocytoses per trajectory, and one receptor's history from the event records.

The module (``reactions/modules/ampar_trafficking*.toml``; docs/trafficking.md) declares the
observables read here: ``ampar_psd_conductance`` (the sum over PSD receptors, free and
trapped, of their conductance factor: 1, x1.5 with pS831, x1.4 with pS845), and the counts
by location ``ampar_psd``, ``ampar_psd_free``, ``ampar_trapped``, ``ampar_extra``,
``ampar_endo``. Its exo- and endocytosis rules are logged, one event record per receptor.

* :func:`weight` — the synaptic weight relative to baseline, per trajectory and sample;
* :func:`summarize` — one row per trajectory: weight change at a read-out time, the pools
  there, and the number of insertions and endocytoses (by rule) up to it;
* :func:`with_receptor_history` — the same model with every receptor rule logged, and
  :func:`receptor_history` — one receptor's location and phospho-states over time.

Everything here reads a finished run, except :func:`with_receptor_history` (a model in,
a model out). Times are in seconds.
"""

from __future__ import annotations

import copy
import re
from typing import Sequence

import numpy as np
import pandas as pd

from .model import Model, ModelError

__all__ = ["WEIGHT", "INSERTION_RULES", "ENDOCYTOSIS_RULES", "weight", "summarize",
           "with_receptor_history", "receptor_history"]

#: The observable the weight is made of.
WEIGHT = "ampar_psd_conductance"
#: Rules of the trafficking module that insert a receptor into the membrane ...
INSERTION_RULES = ("exocytosis", "exocytosis_pS845", "exocytosis_camkii")
#: ... and that take one out.
ENDOCYTOSIS_RULES = ("endocytosis", "endocytosis_pS845", "endocytosis_can")
LOCATIONS = ("endo", "extra", "psd", "trapped")
_POOLS = ("ampar_psd", "ampar_trapped", "ampar_extra", "ampar_endo")


def _sample_index(ens, time_s: float, what: str) -> int:
    times = np.asarray(ens.times)
    if not times[0] - 1e-9 <= time_s <= times[-1] + 1e-9:
        raise ValueError(f"the {what} {time_s:g} s is outside the run (samples from "
                         f"{times[0]:g} s to {times[-1]:g} s); choose a time within it, or "
                         "simulate longer (t_end)")
    k = int(np.argmin(np.abs(times - time_s)))
    if abs(times[k] - time_s) > 1e-6 * max(1.0, abs(time_s)):
        raise ValueError(f"no sample at the {what} {time_s:g} s; the samples nearest are "
                         f"{times[max(k - 1, 0)]:g} s and {times[min(k + 1, len(times) - 1)]:g} "
                         "s (choose sample_times or sample_every so that it is one)")
    return k


def weight(ens, baseline: float | tuple[float, float] = 0.0) -> np.ndarray:
    """The synaptic weight of each trajectory relative to its baseline.

    Parameters
    ----------
    ens : Ensemble
        A run of a model with the trafficking module (observable ``ampar_psd_conductance``).
    baseline : float or (float, float)
        The sample time (s) whose value is each trajectory's baseline (default the first
        sample), or a window (start, end) in s whose samples are averaged.

    Returns
    -------
    (n_trajectories, n_times) float64 ndarray
        w(t) / w_baseline; NaN where a trajectory stopped early or its baseline is 0.
    """
    if WEIGHT not in ens.names:
        raise KeyError(f"the ensemble has no observable '{WEIGHT}'; the weight needs the AMPA "
                       "receptor trafficking module (reactions/modules/ampar_trafficking.toml)")
    values = ens.values(WEIGHT)
    if isinstance(baseline, tuple):
        start, end = baseline
        times = np.asarray(ens.times)
        inside = (times >= start - 1e-9) & (times <= end + 1e-9)
        if end < start or not inside.any():
            raise ValueError(f"the baseline window ({start:g} s, {end:g} s) holds no sample; "
                             f"the samples run from {times[0]:g} s to {times[-1]:g} s")
        reference = np.nanmean(values[:, inside], axis=1)
    else:
        reference = values[:, _sample_index(ens, float(baseline), "baseline time")]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference[:, None] > 0, values / reference[:, None], np.nan)


def summarize(ens, readout_time: float | None = None,
              baseline: float | tuple[float, float] = 0.0) -> pd.DataFrame:
    """One row per trajectory: weight change, pools, insertions and endocytoses.

    Parameters
    ----------
    ens : Ensemble
        A run with ``record_events=True`` of a model with the trafficking module.
    readout_time : float, optional
        Time (s) of the read-out, a sample time; default the last sample.
    baseline : float or (float, float)
        As in :func:`weight`.

    Returns
    -------
    DataFrame
        ``trajectory``, ``weight`` (relative), ``delta_weight_pct``, the pools
        ``ampar_psd``, ``ampar_trapped``, ``ampar_extra``, ``ampar_endo`` at the read-out,
        ``insertions`` and ``endocytoses`` (events from the start to the read-out) and one
        column per insertion or endocytosis rule.

    Raises
    ------
    ValueError
        A read-out or baseline time outside the run or between samples, or a run without
        event records.
    """
    times = np.asarray(ens.times)
    k = len(times) - 1 if readout_time is None else _sample_index(ens, float(readout_time),
                                                                     "read-out time")
    w = weight(ens, baseline)[:, k]
    trajectories = np.asarray(ens.trajectories)
    table = pd.DataFrame({"trajectory": trajectories, "weight": w,
                          "delta_weight_pct": 100.0 * (w - 1.0)})
    for name in _POOLS:
        table[name] = ens.values(name)[:, k]
    recorded = ens.provenance.get("record_events", len(ens.event_records) > 0)
    if not recorded or not _logs_trafficking(ens):
        raise ValueError("the run has no event records of insertions and endocytoses; "
                         "simulate with record_events=True (stochsyn run --record-events)")
    events = ens.events()
    events = events[events["time"] <= times[k] + 1e-12]
    rules = events["rule"].astype(str)
    row_of = {int(t): i for i, t in enumerate(trajectories)}
    index = np.array([row_of[int(t)] for t in events["trajectory"]], dtype=np.int64)
    for rule in INSERTION_RULES + ENDOCYTOSIS_RULES:
        table[rule] = np.bincount(index[(rules == rule).to_numpy()],
                                  minlength=ens.n_trajectories)[:ens.n_trajectories]
    table["insertions"] = table[list(INSERTION_RULES)].sum(axis=1)
    table["endocytoses"] = table[list(ENDOCYTOSIS_RULES)].sum(axis=1)
    return table


def _logs_trafficking(ens) -> bool:
    """Whether the run's reactions include logged exo/endocytosis rules (records may be
    empty if none fired)."""
    return any(name.split("[", 1)[0] in INSERTION_RULES + ENDOCYTOSIS_RULES
               for name in ens.reactions)


def with_receptor_history(model, agent: str = "AMPAR"):
    """The model with every rule that changes an ``agent`` logged, so that
    :func:`receptor_history` can follow one receptor through locations and phosphorylations.

    Logging every hop and phosphorylation writes many records (about 15 per second for 120
    receptors at rest): use it for a few trajectories.

    Raises
    ------
    ModelError
        If the model has no agent type of that name.
    """
    if agent not in {a.name for a in model.agent_types}:
        raise ModelError(f"the model has no agent type '{agent}'", source=model.source,
                         hint="agent types: " + ", ".join(a.name for a in model.agent_types))
    spec = copy.deepcopy(dict(model.spec))
    pattern = re.compile(rf"\b{re.escape(agent)}\s*\(")
    for reaction in spec.get("reactions", []):
        if pattern.search(str(reaction.get("equation", ""))):
            reaction["log"] = True
    return Model.from_dict(spec, source=model.source)


def _site_values(label: str) -> dict[str, str]:
    inside = label[label.index("(") + 1: label.rindex(")")]
    return dict(part.split("=", 1) for part in inside.split(",") if "=" in part)


def receptor_history(ens, trajectory: int, receptor: int) -> pd.DataFrame:
    """One receptor's states over time, from the event records.

    Parameters
    ----------
    ens : Ensemble
        A run with ``record_events=True``; every change of the receptor is in the records
        only if every rule that changes it is logged (:func:`with_receptor_history`).
    trajectory, receptor : int
        The trajectory index and the receptor's agent id (``events()['agent']``).

    Returns
    -------
    DataFrame
        One row per change: ``time`` (s), ``rule``, and the receptor's site values after it
        (``loc``, ``s831``, ``s845`` for the AMPAR agent), preceded by a row at the first
        sample time with its state before its first event (rule ``"start"``).

    Raises
    ------
    ValueError
        If the records hold no event of that receptor in that trajectory.
    """
    events = ens.events()
    mine = events[(events["trajectory"] == trajectory) & (events["agent"] == receptor)]
    if mine.empty:
        raise ValueError(f"no event records for receptor {receptor} in trajectory "
                         f"{trajectory}; was the run made with record_events=True, and "
                         "with its rules logged (stochsyn.trafficking.with_receptor_history)?")
    mine = mine.sort_values("time", kind="stable")
    first = mine.iloc[0]
    start_label = first["state_before"]
    rows = []
    if isinstance(start_label, str):
        rows.append({"time": float(ens.times[0]), "rule": "start", **_site_values(start_label)})
    for time, rule, after in zip(mine["time"], mine["rule"].astype(str), mine["state_after"]):
        sites = _site_values(after) if isinstance(after, str) else {"loc": "degraded"}
        rows.append({"time": float(time), "rule": rule, **sites})
    return pd.DataFrame(rows)
