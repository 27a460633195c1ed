"""The plasticity validations of the default spine model (docs/science.md §9: V7–V10,
V14, V16–V19): run named conditions, read the synaptic weight, tabulate Δweight.

Every analysis script of the plasticity read-outs (``analysis/ltp_ltd.py``, ``bcm.py``,
``stdp.py``, ``blockers.py``, ``stability.py``, ``reversal.py``) describes its conditions
as :class:`Condition` objects and hands them to :func:`run_conditions`; the slow tests call
the same function, so a figure and its test measure the same thing.

The common design (docs/science.md §8.5):

* **Warm-up.** The model starts from a declared, not a stationary, state (Ca²⁺-free
  calmodulin, I1 unphosphorylated): every trajectory rests ``WARM_UP_S`` = 1800 s first
  (the pools settle in ~25-30 min; docs/science.md §8.5 "The warm-up").
  Stimulation protocols are built to start at ``WARM_UP_S``; drugs and buffers are applied
  at 0 s, so the baseline is taken under the drug, as in a slice experiment.
* **Weight.** ``ampar_psd_conductance`` relative to each trajectory's own value at
  ``WARM_UP_S`` (:func:`stochsyn.trafficking.weight`).
* **Read-out.** ``after_s`` after the *end* of each condition's induction (its last spike;
  :func:`induction_end_s`), 3600 s by default as docs/science.md §9 asks (V7: 45–60 min,
  V10: 60 min). Each condition runs until its own read-out.
* **Seeds.** Every condition of one call uses the same root seed: trajectory i of two
  conditions shares its random stream (common random numbers), which makes condition
  differences less noisy; each condition's own mean and CI are unaffected.

Summaries use :func:`stochsyn.trafficking.summary` (mean ± SE, Student-t 95 % CI,
fractions potentiated/depressed beyond ±10 %).
"""

from __future__ import annotations

import sys
import copy
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .. import protocols, simulate, trafficking
from ..model import Model
from . import REPOSITORY, load_repository_model

MODEL = REPOSITORY / "reactions" / "spine.toml"
#: Rest before any stimulus (s); the weight's baseline is the sample at this time. From the
#: declared start (all PP1 free, I1 unphosphorylated) free PP1 falls 12 -> ~6 over ~30 min and
#: the receptor pools dip (mean weight 0.88 of its start at 600 s, 5-min running mean) and
#: recover: the mean weight is within 3 % of its late level (the mean over 2100-3000 s) from
#: ~1500-1650 s on (``python analysis/warm_up.py --trajectories 4 --t-end 3000``,
#: docs/science.md §8.5 "The warm-up"). 300 s read the baseline on the way into the dip.
WARM_UP_S = 1800.0
#: Default read-out: seconds after the end of induction (docs/science.md §9: 60 min).
READOUT_AFTER_S = 3600.0
#: Default sample spacing (s).
SAMPLE_EVERY_S = 10.0
#: Subunits per CaMKII holoenzyme (two rings of six, camkii_holoenzyme.toml): pT286 is
#: counted over ``SUBUNITS_PER_HOLOENZYME * n_camkii`` of the simulated model.
SUBUNITS_PER_HOLOENZYME = 12
#: Single-synapse time courses kept per condition.
SINGLE_SYNAPSES = 5
#: Per-trajectory columns read at the read-out (molecules; NaN if the model lacks the
#: observable): the state that keeps, or loses, a potentiation (docs/trafficking.md
#: "Maintenance options").
READOUT_STATE = {"slots_phosphorylated_at_readout": "slots_phosphorylated",
                 "pp1_free_at_readout": "pp1_activity",
                 "pt286_at_readout": "camkii_pt286"}


@dataclass(frozen=True)
class Condition:
    """One arm of a plasticity experiment.

    Attributes
    ----------
    name : str
        Label in the tables and figures.
    protocol : Protocol or None
        Stimulus (and drugs), in absolute time: build stimuli with ``start_s=WARM_UP_S``
        and drugs with ``start_s=0``. None = rest.
    variants : tuple of str
        Model variants (mutations) applied, e.g. ``("T286A",)`` (:meth:`Model.with_variant`).
    value : float
        A number the condition stands for (frequency in Hz, Δt in ms, number of trains),
        kept in the tables; NaN if none.
    readout_from_s : float, optional
        Count the read-out delay from this time (s) instead of the protocol's last spike
        (e.g. test pulses that last until the read-out).
    reference_s : float, optional
        A second reference time (s, on the sample grid): the table then also gives
        ``delta_from_reference_pct``, the weight change from that time to the read-out
        (e.g. the effect of LFS given after HFS).
    """

    name: str
    protocol: protocols.Protocol | None = None
    variants: tuple[str, ...] = ()
    value: float = float("nan")
    readout_from_s: float | None = None
    reference_s: float | None = None

    def readout_origin_s(self, warm_up_s: float = None) -> float:
        """Where the read-out delay is counted from (s)."""
        if self.readout_from_s is not None:
            return float(self.readout_from_s)
        return induction_end_s(self.protocol, warm_up_s)


def induction_end_s(protocol: protocols.Protocol | None, warm_up_s: float | None = None
                    ) -> float:
    """The time of a protocol's last spike (pre or post, s), or the end of the warm-up
    (default ``WARM_UP_S``) for rest or a drug alone: the read-out is counted from here."""
    warm_up_s = WARM_UP_S if warm_up_s is None else float(warm_up_s)
    if protocol is None:
        return warm_up_s
    times = np.concatenate([np.asarray(protocol.pre_spikes_s, dtype=float),
                            np.asarray(protocol.post_spikes_s, dtype=float)])
    return max(warm_up_s, float(times.max())) if times.size else warm_up_s


@dataclass
class PlasticityRun:
    """What :func:`run_conditions` measured.

    Attributes
    ----------
    per_trajectory : DataFrame
        One row per condition and trajectory: ``condition``, ``value``, ``variants``,
        ``trajectory``, ``delta_weight_pct`` (at the read-out), ``weight``, the pools,
        ``ampar_psd_ratio`` (PSD receptors at the read-out / at the baseline),
        ``mg_unblock_events`` (NMDAR Mg²⁺ unblocks from 0 s to the read-out),
        ``insertions`` and ``endocytoses`` (from the end of the warm-up to the read-out),
        ``peak_ca_uM`` (largest sampled free Ca²⁺ after the warm-up: a lower bound of the
        true peak, samples are ``sample_every`` apart), ``peak_pt286_fraction`` (of the model's
        12 · n_camkii subunits, after the warm-up), ``pt286_fraction_at_baseline``,
        ``slots_phosphorylated_at_readout``, ``pp1_free_at_readout``, ``pt286_at_readout``
        (molecules at the read-out, :data:`READOUT_STATE`), ``readout_s``
        (absolute) and ``readout_after_induction_s``, ``wall_s`` (the condition's wall
        time divided by its trajectories).
    timecourse : DataFrame
        One row per condition and sample: ``condition``, ``value``, ``time_s``,
        ``minutes_after_induction`` (from the end of induction), ``weight_mean``,
        ``weight_se``, ``n`` and ``weight_traj0`` … (up to ``SINGLE_SYNAPSES`` single
        synapses).
    """

    per_trajectory: pd.DataFrame
    timecourse: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def summary(self, threshold_pct: float = trafficking.CHANGE_THRESHOLD_PCT
                ) -> pd.DataFrame:
        """The Δweight table per condition (:func:`stochsyn.trafficking.summary`) with the
        mean peak pT286 fraction, insertions and endocytoses beside it."""
        table = trafficking.summary(self.per_trajectory, by="condition",
                                    threshold_pct=threshold_pct)
        extra = (self.per_trajectory.groupby("condition", sort=False)
                 [["value", "ampar_psd_ratio", "peak_pt286_fraction", "insertions",
                   "endocytoses",
                   "readout_after_induction_s", "wall_s"]].mean().reset_index())
        extra = extra.rename(columns={"ampar_psd_ratio": "ampar_psd_ratio_mean",
                                      "peak_pt286_fraction": "peak_pt286_fraction_mean",
                                      "insertions": "insertions_mean",
                                      "endocytoses": "endocytoses_mean",
                                      "wall_s": "wall_s_per_trajectory"})
        return table.merge(extra, on="condition", how="left", sort=False)


def run_conditions(conditions: Sequence[Condition], *, n_trajectories: int,
                   after_s: float = READOUT_AFTER_S, seed: int, n_threads: int = 1,
                   sample_every: float = SAMPLE_EVERY_S, warm_up_s: float = WARM_UP_S,
                   model=None, progress=None, simulate_condition=None) -> PlasticityRun:
    """Simulate each condition and read its weight ``after_s`` after its induction.

    Parameters
    ----------
    conditions : sequence of Condition
    n_trajectories : int
        Trajectories (synapses) per condition.
    after_s : float
        Read-out, s after the end of induction (:func:`induction_end_s`); >= 0.
    seed : int or None
        Root seed, the same for every condition (common random numbers). None: the first
        condition's run draws one (its ``Ensemble.seed``) and the others reuse it.
    n_threads : int
    sample_every : float
        Sample spacing (s); ``warm_up_s`` must be a multiple of it (read-outs are moved to
        the next sample).
    warm_up_s : float
        End of the warm-up (s), where the baseline is read; the conditions' stimuli must
        start at or after it (default ``WARM_UP_S``; shorter only for checks).
    model : Model, optional
        Default: ``reactions/spine.toml``.
    progress : callable, optional
        Called with one line of text per finished condition (e.g. ``print``).
    simulate_condition : callable, optional
        ``simulate_condition(model, condition, t_end_s, seed) -> Ensemble`` runs one
        condition (``model`` with its variants applied and only trafficking logged, to
        ``t_end_s``, the read-out on the sample grid); it must record events and sample every
        ``sample_every`` s from 0. Default: :func:`stochsyn.simulate` in memory.
        ``stochsyn run --readout-after`` passes one that writes each dataset to disk.

    Raises
    ------
    ValueError
        A negative read-out delay, a sample spacing that misses the baseline or a
        read-out, or no conditions.
    """
    if not conditions:
        raise ValueError("no conditions to run")
    if not after_s >= 0:
        raise ValueError(f"the read-out must be at or after the end of induction: after_s = "
                         f"{after_s:g} s")
    if not is_multiple(warm_up_s, sample_every):
        raise ValueError(f"sample_every = {sample_every:g} s does not divide the warm-up "
                         f"({warm_up_s:g} s), where the baseline is read")
    # every condition is checked before the first one runs (a run can take hours)
    for condition in conditions:
        first = _first_stimulus_s(condition.protocol)
        if first is not None and first < warm_up_s - 1e-9:
            raise ValueError(f"condition {condition.name!r} stimulates at {first:g} s, before "
                             f"the end of the warm-up ({warm_up_s:g} s) where the baseline is "
                             "read; start its stimuli at start_s=warm_up_s")
    if model is None:
        model = load_repository_model(MODEL)
    model = log_trafficking_only(model)
    arms = [model.with_variant(*c.variants) if c.variants else model for c in conditions]
    rows, courses = [], []
    for condition, arm in zip(conditions, arms):
        end = condition.readout_origin_s(warm_up_s)
        readout = on_sample_grid(end + after_s, sample_every)
        start = time.perf_counter()
        if simulate_condition is None:
            ens = simulate(arm, readout, n_trajectories, seed=seed, sample_every=sample_every,
                           protocol=condition.protocol, record_events=True,
                           n_threads=n_threads, max_events=10 ** 9)
        else:
            ens = simulate_condition(arm, condition, readout, seed)
        wall = time.perf_counter() - start
        seed = ens.seed
        rows.append(per_trajectory_table(ens, condition, readout, warm_up_s,
                                         wall / n_trajectories, camkii_subunits(arm)))
        courses.append(timecourse_table(ens, condition, warm_up_s))
        if progress is not None:
            progress(f"{condition.name}: {n_trajectories} trajectories to {readout:g} s in "
                     f"{wall:.1f} s")
    return PlasticityRun(pd.concat(rows, ignore_index=True),
                         pd.concat(courses, ignore_index=True),
                         {"n_trajectories": n_trajectories, "after_s": after_s, "seed": seed,
                          "sample_every": sample_every, "warm_up_s": warm_up_s,
                          "model": str(getattr(model, "source", ""))})


def log_trafficking_only(model):
    """The model with only its insertion and endocytosis rules logged.

    The default spine also logs every NMDAR Mg²⁺ block and unblock (~50 per second per
    synapse) and CaMKII's phosphorylations: 200 synapses read at 60 min would hold tens of
    millions of records, while the plasticity tables need only the insertions and
    endocytoses (:func:`stochsyn.trafficking.summarize`). Unblock events are still counted,
    from the firing counts (``mg_unblock_events``).
    """
    keep = set(trafficking.INSERTION_RULES + trafficking.ENDOCYTOSIS_RULES)
    spec = copy.deepcopy(dict(model.spec))
    changed = False
    for reaction in spec.get("reactions", []):
        logged = reaction.get("name") in keep
        if bool(reaction.get("log", False)) != logged:
            reaction["log"] = logged
            changed = True
    return Model.from_dict(spec, source=model.source) if changed else model


def is_multiple(t: float, step: float) -> bool:
    """Whether ``t`` is a whole multiple of ``step`` (to 1e-9 of a step)."""
    return abs(t / step - round(t / step)) < 1e-9


def on_sample_grid(t: float, step: float) -> float:
    """The first sample time at or after ``t``."""
    k = np.ceil(t / step - 1e-9)
    return float(k * step)


def _first_stimulus_s(protocol) -> float | None:
    if protocol is None:
        return None
    times = np.concatenate([np.asarray(protocol.pre_spikes_s, dtype=float),
                            np.asarray(protocol.post_spikes_s, dtype=float)])
    return float(times.min()) if times.size else None


def camkii_subunits(model: Model) -> float:
    """CaMKII subunits of ``model`` (its ``n_camkii`` holoenzymes × 12): the denominator of
    the pT286 fraction, read from the model so that a variant or a user's model with
    another count is not divided by the default's 240; NaN for a model without CaMKII."""
    n_camkii = model.parameters.get("n_camkii")
    return float("nan") if n_camkii is None else float(SUBUNITS_PER_HOLOENZYME * n_camkii)


def per_trajectory_table(ens, condition: Condition, readout_s: float, warm_up_s: float,
                         wall_per_trajectory: float = float("nan"),
                         pt286_subunits: float = float("nan")) -> pd.DataFrame:
    """One row per trajectory of one condition's run: Δweight at ``readout_s`` against the
    baseline at ``warm_up_s``, and the columns listed in :class:`PlasticityRun`.

    Parameters
    ----------
    ens : Ensemble
        The condition's run (``record_events=True``, insertion and endocytosis rules logged;
        samples at ``warm_up_s`` and ``readout_s``).
    condition : Condition
    readout_s, warm_up_s : float
        Absolute sample times (s) of the read-out and of the baseline.
    wall_per_trajectory : float
        Stored as ``wall_s`` (s).
    pt286_subunits : float
        Denominator of the pT286 fractions (12 · n_camkii); NaN leaves them NaN.

    Columns whose observable the model lacks (``ca_free_uM``, ``camkii_pt286``) are NaN.
    """
    readout = float(readout_s)
    end = condition.readout_origin_s(warm_up_s)
    table = trafficking.summarize(ens, readout_time=readout, baseline=warm_up_s)
    before = trafficking.summarize(ens, readout_time=warm_up_s, baseline=warm_up_s)
    table["insertions"] -= before["insertions"].to_numpy()
    table["endocytoses"] -= before["endocytoses"].to_numpy()
    times = np.asarray(ens.times)
    after = times >= warm_up_s - 1e-9
    table.insert(0, "variants", "/".join(condition.variants) or "wild type")
    table.insert(0, "value", condition.value)
    table.insert(0, "condition", condition.name)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["ampar_psd_ratio"] = table["ampar_psd"].to_numpy() / before["ampar_psd"].to_numpy()
    if condition.reference_s is not None:
        w = trafficking.weight(ens, warm_up_s)
        k = _sample(times, condition.reference_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            table["delta_from_reference_pct"] = 100.0 * (
                w[:, _sample(times, readout)] / w[:, k] - 1.0)
    unblocks = [j for j, name in enumerate(ens.reactions)
                if name.split("[", 1)[0] == "nmdar_mg_unblock"]
    table["mg_unblock_events"] = np.asarray(ens.firings)[:, unblocks].sum(axis=1)
    # the model's own observable (ions -> µM at its volume), not a constant for 0.1 fL
    table["peak_ca_uM"] = (ens.values("ca_free_uM")[:, after].max(axis=1)
                           if "ca_free_uM" in ens.names else np.nan)
    if "camkii_pt286" in ens.names:
        pt286 = ens.values("camkii_pt286")
        table["peak_pt286_fraction"] = pt286[:, after].max(axis=1) / pt286_subunits
        table["pt286_fraction_at_baseline"] = pt286[:, np.argmax(after)] / pt286_subunits
    else:
        table["peak_pt286_fraction"] = table["pt286_fraction_at_baseline"] = np.nan
    # the maintenance state at the read-out (docs/science.md §8.5, "Calibration, part 2b"):
    # phosphorylated slots (free + occupied), free PP1 and pT286 subunits, in molecules
    k_readout = _sample(times, readout)
    for column, observable in READOUT_STATE.items():
        table[column] = (ens.values(observable)[:, k_readout] if observable in ens.names
                         else np.nan)
    table["readout_s"] = readout
    table["readout_after_induction_s"] = readout - end
    table["wall_s"] = wall_per_trajectory
    return table


def _sample(times: np.ndarray, t: float) -> int:
    k = int(np.argmin(np.abs(times - t)))
    if abs(times[k] - t) > 1e-6 * max(1.0, t):
        raise ValueError(f"no sample at {t:g} s (samples every {times[1] - times[0]:g} s); "
                         "choose a reference time on the sample grid")
    return k


def timecourse_table(ens, condition: Condition, warm_up_s: float) -> pd.DataFrame:
    """One row per sample of one condition's run: the mean weight ± SE (relative to each
    trajectory's own value at ``warm_up_s``), against the time and the minutes after the end
    of induction, and the first ``SINGLE_SYNAPSES`` single synapses."""
    end = condition.readout_origin_s(warm_up_s)
    w = trafficking.weight(ens, warm_up_s)
    n = np.sum(~np.isnan(w), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # columns of one synapse: SE NaN
        mean = np.nanmean(w, axis=0)
        se = np.where(n > 1, np.nanstd(w, axis=0, ddof=1) / np.sqrt(np.maximum(n, 1)),
                      np.nan)
    times = np.asarray(ens.times)
    return pd.DataFrame({"condition": condition.name, "value": condition.value,
                         "time_s": times, "minutes_after_induction": (times - end) / 60.0,
                         "weight_mean": mean, "weight_se": se, "n": n,
                         **{f"weight_traj{i}": w[i]
                            for i in range(min(len(w), SINGLE_SYNAPSES))}})


# -- the scripts' shared command line and outputs -------------------------------------------

def add_arguments(parser, *, trajectories: int = 100, after_s: float = READOUT_AFTER_S,
                  seed: int, out_dir: str = "out") -> None:
    """The options every plasticity script takes: ``--trajectories``, ``--after``,
    ``--seed``, ``--threads``, ``--sample-every``, ``--warm-up``, ``--out-dir``."""
    parser.add_argument("--trajectories", type=int, default=trajectories,
                        help=f"synapses per condition (default {trajectories})")
    parser.add_argument("--after", type=float, default=after_s,
                        help=f"read-out, s after the end of induction (default {after_s:g})")
    parser.add_argument("--seed", type=int, default=seed, help=f"root seed (default {seed})")
    parser.add_argument("--threads", type=int, default=2, help="threads (default 2)")
    parser.add_argument("--sample-every", type=float, default=SAMPLE_EVERY_S,
                        help=f"sample spacing in s (default {SAMPLE_EVERY_S:g})")
    parser.add_argument("--warm-up", type=float, default=WARM_UP_S,
                        help=f"rest before stimulation, s (default {WARM_UP_S:g}; the "
                             "baseline is read at its end)")
    parser.add_argument("--out-dir", type=Path, default=Path(out_dir),
                        help=f"where the PNG and CSVs go (default {out_dir}/)")


def run_from_arguments(conditions, args) -> PlasticityRun:
    """:func:`run_conditions` with the options of :func:`add_arguments`, reporting each
    condition's wall time on stderr. Bad options (a negative read-out, a warm-up the samples
    miss, an unknown variant, a drug the model lacks) end the script with the error's
    message, not a traceback.

    ``conditions`` is a sequence of :class:`Condition` or a function without arguments
    that builds one (so that a protocol refusing an option is reported the same way).
    """
    try:
        if callable(conditions):
            conditions = conditions()
        return run_conditions(conditions, n_trajectories=args.trajectories,
                              after_s=args.after, seed=args.seed, n_threads=args.threads,
                              sample_every=args.sample_every, warm_up_s=args.warm_up,
                              progress=lambda line: print(line, file=sys.stderr))
    except (ValueError, KeyError) as error:         # ModelError, ProtocolError are ValueErrors
        raise SystemExit(f"error: {error}") from None


def write_tables(run: PlasticityRun, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``STEM.csv`` (the summary per condition), ``STEM_trajectories.csv`` and
    ``STEM_timecourse.csv`` into ``out_dir``; returns the paths by kind."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"summary": out_dir / f"{stem}.csv",
             "trajectories": out_dir / f"{stem}_trajectories.csv",
             "timecourse": out_dir / f"{stem}_timecourse.csv"}
    run.summary().to_csv(paths["summary"], index=False)
    run.per_trajectory.to_csv(paths["trajectories"], index=False)
    run.timecourse.to_csv(paths["timecourse"], index=False)
    return paths


def format_summary(summary: pd.DataFrame) -> str:
    """The summary as a plain-text table: Δweight mean ± SE [95 % CI], fractions."""
    lines = [f"{'condition':<26} {'n':>4} {'Δweight % (mean ± SE)':>22} {'95 % CI':>18} "
             f"{'pot.':>5} {'dep.':>5}"]
    for _, r in summary.iterrows():
        lines.append(f"{str(r['condition']):<26} {int(r['n']):>4} "
                     f"{r['delta_weight_pct_mean']:>+10.1f} ± {r['delta_weight_pct_se']:<9.1f} "
                     f"[{r['ci95_low_pct']:+7.1f}, {r['ci95_high_pct']:+7.1f}] "
                     f"{r['fraction_potentiated']:>5.2f} {r['fraction_depressed']:>5.2f}")
    threshold = summary["threshold_pct"].iloc[0] if len(summary) else np.nan
    lines.append(f"(pot./dep.: fraction of synapses beyond ±{threshold:g} %)")
    return "\n".join(lines)


def plot_timecourses(ax, timecourse: pd.DataFrame, colours: dict | None = None,
                     singles: bool = True) -> None:
    """Mean ± SE weight per condition against minutes after induction, with thin lines for
    the single synapses kept."""
    import matplotlib.pyplot as plt
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, (name, c) in enumerate(timecourse.groupby("condition", sort=False)):
        colour = (colours or {}).get(name, cycle[k % len(cycle)])
        t = c["minutes_after_induction"].to_numpy()
        if singles:
            for col in [col for col in c.columns if col.startswith("weight_traj")]:
                ax.plot(t, c[col], color=colour, lw=0.5, alpha=0.35)
        ax.plot(t, c["weight_mean"], color=colour, lw=2, label=name)
        ax.fill_between(t, c["weight_mean"] - c["weight_se"], c["weight_mean"] + c["weight_se"],
                        color=colour, alpha=0.2, lw=0)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.axvline(0.0, color="k", lw=0.5, ls=":")
    ax.set_xlabel("time after the end of induction (min)")
    ax.set_ylabel("weight / baseline")


def plot_delta(ax, summary: pd.DataFrame, x, *, xlabel: str, log_x: bool = False) -> None:
    """Δweight mean with its 95 % CI against ``x`` (one value per summary row)."""
    x = np.asarray(x, dtype=float)
    mean = summary["delta_weight_pct_mean"].to_numpy(dtype=float)
    low = summary["ci95_low_pct"].to_numpy(dtype=float)
    high = summary["ci95_high_pct"].to_numpy(dtype=float)
    ax.errorbar(x, mean, yerr=[np.nan_to_num(mean - low), np.nan_to_num(high - mean)],
                fmt="o-", color="k", capsize=3, label="mean, 95 % CI")
    ax.axhline(0.0, color="k", lw=0.5)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Δweight at read-out (%)")
