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
* :func:`summary` — the ensemble's Δweight table: mean ± SE, 95 % confidence interval and
  the fractions of synapses potentiated or depressed (beyond ``CHANGE_THRESHOLD_PCT``);
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

__all__ = ["WEIGHT", "INSERTION_RULES", "ENDOCYTOSIS_RULES", "CHANGE_THRESHOLD_PCT",
           "weight", "summarize", "summary", "t_quantile_975", "with_receptor_history",
           "receptor_history"]

#: The observable the weight is made of.
WEIGHT = "ampar_psd_conductance"
#: Rules of the trafficking module that insert a receptor into the membrane ...
INSERTION_RULES = ("exocytosis", "exocytosis_pS845", "exocytosis_camkii")
#: ... and that take one out.
ENDOCYTOSIS_RULES = ("endocytosis", "endocytosis_pS845", "endocytosis_can")
LOCATIONS = ("endo", "extra", "psd", "trapped")
#: A synapse counts as potentiated when its Δweight exceeds +10 %, as depressed below −10 %.
#: One tenth of the baseline is five of the 50 PSD receptors of the default spine, and the
#: smallest change a field recording would report as plasticity (V9's LTD is −15 to −30 %).
#: Unstimulated synapses also cross it by chance: compare with a control ensemble.
CHANGE_THRESHOLD_PCT = 10.0
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


# Student's t 0.975 quantile for 1..30 degrees of freedom (standard tables; scipy is not a
# core dependency). Beyond 30 the Cornish-Fisher expansion below is within 2e-6 of it.
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
_Z975 = 1.959963984540054


def t_quantile_975(dof: int) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom (>= 1): the factor
    of the two-sided 95 % confidence interval of a mean, mean ± t · SE."""
    dof = int(dof)
    if dof < 1:
        raise ValueError(f"Student's t needs at least 1 degree of freedom, got {dof}")
    if dof <= len(_T975):
        return _T975[dof - 1]
    z = _Z975
    return (z + (z ** 3 + z) / (4 * dof) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * dof ** 2)
            + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * dof ** 3))


def summary(delta_weight_pct, by=None, threshold_pct: float = CHANGE_THRESHOLD_PCT
            ) -> pd.DataFrame:
    """The Δweight table of an ensemble: mean ± SE, 95 % CI, fractions potentiated and
    depressed.

    Parameters
    ----------
    delta_weight_pct : DataFrame, Series or (n_trajectories,) array_like of float
        Per-trajectory weight changes in % (:func:`summarize`'s ``delta_weight_pct``
        column, or a table holding it). NaN entries (trajectories that stopped early or had
        no baseline) are left out and counted in ``n_missing``.
    by : str or list of str, optional
        Column(s) of a DataFrame to group by (e.g. ``"condition"``): one row per group, in
        the order they first appear.
    threshold_pct : float
        A trajectory is potentiated if Δweight > +threshold_pct, depressed if
        < −threshold_pct (default ``CHANGE_THRESHOLD_PCT`` = 10 %).

    Returns
    -------
    DataFrame
        One row (per group): ``n``, ``n_missing``, ``delta_weight_pct_mean``,
        ``delta_weight_pct_se`` (sample SD / √n), ``ci95_low_pct``, ``ci95_high_pct``
        (mean ± t₀.₉₇₅(n−1) · SE, Student's t), ``fraction_potentiated``,
        ``fraction_depressed`` (of the n), ``threshold_pct``. SE and CI are NaN for n < 2;
        everything is NaN for n = 0.

    Raises
    ------
    KeyError
        A DataFrame without a ``delta_weight_pct`` column, or ``by`` naming an absent one.
    ValueError
        A negative threshold.
    """
    threshold_pct = float(threshold_pct)
    if not threshold_pct >= 0:
        raise ValueError(f"threshold_pct must be >= 0 (a change in %), got {threshold_pct}")
    if isinstance(delta_weight_pct, pd.DataFrame):
        table = delta_weight_pct
        if "delta_weight_pct" not in table.columns:
            raise KeyError("the table has no 'delta_weight_pct' column (the per-trajectory "
                           "output of stochsyn.trafficking.summarize)")
        if by is not None:
            keys = [by] if isinstance(by, str) else list(by)
            missing = [k for k in keys if k not in table.columns]
            if missing:
                raise KeyError(f"no column {missing[0]!r} to group by; columns: "
                               + ", ".join(map(str, table.columns)))
            rows = []
            for key, group in table.groupby(keys, sort=False):
                key = key if isinstance(key, tuple) else (key,)
                rows.append({**dict(zip(keys, key)),
                             **_summary_row(group["delta_weight_pct"], threshold_pct)})
            return pd.DataFrame(rows)
        delta_weight_pct = table["delta_weight_pct"]
    elif by is not None:
        raise ValueError("'by' groups the rows of a DataFrame; pass the table, not an array")
    return pd.DataFrame([_summary_row(delta_weight_pct, threshold_pct)])


def _summary_row(values, threshold_pct: float) -> dict:
    d = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = d[~np.isnan(d)]
    n = len(finite)
    mean = finite.mean() if n else np.nan
    se = finite.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
    half = t_quantile_975(n - 1) * se if n > 1 else np.nan
    return {"n": n, "n_missing": len(d) - n, "delta_weight_pct_mean": mean,
            "delta_weight_pct_se": se, "ci95_low_pct": mean - half,
            "ci95_high_pct": mean + half,
            "fraction_potentiated": (finite > threshold_pct).mean() if n else np.nan,
            "fraction_depressed": (finite < -threshold_pct).mean() if n else np.nan,
            "threshold_pct": threshold_pct}


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


def receptor_history(ens, trajectory: int, receptor: int, agent: str = "AMPAR"
                     ) -> pd.DataFrame:
    """One receptor's states over time, from the event records.

    Parameters
    ----------
    ens : Ensemble
        A run with ``record_events=True``; every change of the receptor is in the records
        only if every rule that changes it is logged (:func:`with_receptor_history`).
    trajectory, receptor : int
        The trajectory index and the receptor's agent id (``events()['agent']``).
    agent : str
        The receptor's agent type (default ``"AMPAR"``): agent ids are numbered per type,
        so in a model with other agents (CaMKII subunits, NMDARs) the same id names
        another molecule of another type.

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
    mine = events[(events["trajectory"] == trajectory) & (events["agent"] == receptor)
                  & (events["agent_type"].astype(str) == agent)]
    if mine.empty:
        raise ValueError(f"no event records for {agent} {receptor} in trajectory "
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
