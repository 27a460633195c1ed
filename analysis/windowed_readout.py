"""Δweight from windowed means of the weight instead of single samples
(docs/science.md §8.5, "The K90 screen"): the per-synapse weight of the default spine
flickers by ~10 % from one 10-s sample to the next at rest (PSD receptors exchanging with
the extrasynaptic pool, GluA1 sites turning over), so a Δw read as the ratio of two single
samples wanders by ~±14 % even for a stationary synapse. A slice experiment averages its
test responses over minutes; here the baseline is the mean weight over the ``--window``
minutes before the stimulus starts (the end of the warm-up) and each read-out the mean over
the ``--window`` minutes that end at it.

Reads the time courses ``analysis/lasting_ltp.py`` writes (``lasting_ltp_timecourse.csv``,
one column ``weight_trajI`` per single synapse, I counted from the run's
``--first-trajectory``: give that offset after the file as ``path:offset``), simulates
nothing, and prints per condition the windowed Δw (mean ± SE, 95 % CI, per synapse) beside
the single-sample one, and the rest's sample-to-sample noise (the coefficient of variation
of each synapse's weight over the baseline window). With ``--versus`` it also prints each
condition's difference from a second set of runs, synapse by synapse (e.g. a candidate
with a rule on against the same seeds with it off: trajectory i of both draws from the
same stream, so the pair differs only by what the rule did).

Usage (repository root)::

    python analysis/windowed_readout.py run/lasting_ltp_timecourse.csv[:first_trajectory] ...
        [--window 5] [--readouts 5,20] [--out out/windowed_readout.csv]
        [--versus other/lasting_ltp_timecourse.csv[:first_trajectory] ...]

Only the first ``stochsyn.validation.plasticity.SINGLE_SYNAPSES`` (5) synapses of a run are
in its time course, so a run of more trajectories is read in part (a warning says so).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as pl


def per_synapse(course: pd.DataFrame, first_trajectory: int, window_min: float,
                readouts_min: list[float], warm_up_s: float = pl.WARM_UP_S) -> pd.DataFrame:
    """One row per (condition, synapse) of one time course: the windowed Δw at each
    read-out, the single-sample Δw there, and the baseline window's coefficient of
    variation.

    Parameters
    ----------
    course : DataFrame
        ``lasting_ltp_timecourse.csv`` of one run (columns ``condition``, ``time_s``,
        ``minutes_after_induction``, ``n``, ``weight_traj0`` …).
    first_trajectory : int
        The run's ``--first-trajectory`` (column ``weight_trajI`` is synapse
        ``first_trajectory + I``).
    window_min : float
        Width of the baseline and read-out windows (min).
    readouts_min : list of float
        Read-out times, min after the end of induction; each window ends there.
    warm_up_s : float
        End of the warm-up (s): the baseline window ends there.

    Raises
    ------
    ValueError
        A window that holds no sample (a read-out after the run's end, or a window narrower
        than the sample spacing).
    """
    rows = []
    for condition, c in course.groupby("condition", sort=False):
        t = c["time_s"].to_numpy()
        minutes = c["minutes_after_induction"].to_numpy()
        base = (t >= warm_up_s - 60.0 * window_min - 1e-9) & (t <= warm_up_s + 1e-9)
        k0 = int(np.argmin(np.abs(t - warm_up_s)))
        columns = [col for col in c.columns if col.startswith("weight_traj")]
        n_run = int(c["n"].max())
        if n_run > len(columns):
            warnings.warn(f"{condition}: {n_run} trajectories, {len(columns)} in the time "
                          "course (plasticity.SINGLE_SYNAPSES): the rest are left out")
        windows = {}
        for r in readouts_min:
            mask = (minutes >= r - window_min - 1e-9) & (minutes <= r + 1e-9)
            if not mask.any() or r > minutes.max() + 1e-9:
                raise ValueError(f"{condition}: read-out at {r:g} min after induction is "
                                 f"outside the run (it ends {minutes.max():.1f} min after)")
            windows[r] = (mask, int(np.argmin(np.abs(minutes - r))))
        if base.sum() < 2:
            raise ValueError(f"{condition}: the baseline window of {window_min:g} min holds "
                             f"{int(base.sum())} sample(s); widen --window")
        for col in columns:
            w = c[col].to_numpy(dtype=float)
            if np.isnan(w).all():
                continue
            row = dict(condition=condition,
                       trajectory=first_trajectory + int(col.removeprefix("weight_traj")),
                       baseline_mean=float(np.mean(w[base])),
                       baseline_cv=float(np.std(w[base]) / np.mean(w[base])))
            for r, (mask, k) in windows.items():
                row[f"dw_{r:g}min_windowed_pct"] = 100.0 * (w[mask].mean() / w[base].mean()
                                                            - 1.0)
                row[f"dw_{r:g}min_sample_pct"] = 100.0 * (w[k] / w[k0] - 1.0)
            rows.append(row)
    return pd.DataFrame(rows)


def _mean_ci(summary: pd.Series) -> str:
    """``mean ± SE % [CI low, CI high]`` of a row of ``stochsyn.trafficking.summary``."""
    return (f"{summary['delta_weight_pct_mean']:+.1f} ± {summary['delta_weight_pct_se']:.1f} %"
            f" [{summary['ci95_low_pct']:+.1f}, {summary['ci95_high_pct']:+.1f}]")


def report(table: pd.DataFrame, readouts_min: list[float]) -> str:
    """Per condition and read-out: windowed and single-sample Δw (mean ± SE, 95 % CI), the
    per-synapse windowed values, and the baseline's coefficient of variation."""
    lines = []
    for condition, c in table.groupby("condition", sort=False):
        c = c.sort_values("trajectory")
        lines.append(f"{condition} (n = {len(c)}; baseline CV {c['baseline_cv'].mean():.3f}"
                     f" ± {c['baseline_cv'].sem():.3f})")
        for r in readouts_min:
            for kind in ("windowed", "sample"):
                s = ss.trafficking.summary(c[f"dw_{r:g}min_{kind}_pct"].to_numpy()).iloc[0]
                lines.append(f"  {r:g} min, {kind:<8}: {_mean_ci(s)}  pot. "
                             f"{s['fraction_potentiated']:.2f} dep. "
                             f"{s['fraction_depressed']:.2f}")
            lines.append(f"  {r:g} min per synapse (windowed): " + " ".join(
                f"{x:+.1f}" for x in c[f"dw_{r:g}min_windowed_pct"]))
    return "\n".join(lines)


def paired(table: pd.DataFrame, versus: pd.DataFrame, readouts_min: list[float]) -> str:
    """Per condition in both tables and read-out: ``table`` − ``versus`` synapse by synapse
    (matched by condition and trajectory), windowed and single-sample (mean ± SE, 95 % CI,
    per pair), and in how many pairs the baseline window's mean weight is the same to
    1e-12 (their streams had not diverged before the stimulus: a rule that fires only
    after it leaves the warm-up bit-identical).

    Parameters
    ----------
    table, versus : DataFrame
        :func:`per_synapse` tables of the two sets of runs.
    readouts_min : list of float
        Read-out times, min after the end of induction (columns of both tables).
    """
    keys = ["condition", "trajectory"]
    both = table.merge(versus, on=keys, suffixes=("", "_versus"))
    lines = []
    for condition, c in both.groupby("condition", sort=False):
        c = c.sort_values("trajectory")
        same = int(np.sum(np.abs(c["baseline_mean"] - c["baseline_mean_versus"]) < 1e-12))
        lines.append(f"{condition} − versus, paired by synapse (n = {len(c)}; the same "
                     f"baseline window in {same} of {len(c)})")
        for r in readouts_min:
            for kind in ("windowed", "sample"):
                column = f"dw_{r:g}min_{kind}_pct"
                d = (c[column] - c[column + "_versus"]).to_numpy()
                s = ss.trafficking.summary(d).iloc[0]
                lines.append(f"  {r:g} min, {kind:<8}: {_mean_ci(s)}  per pair "
                             + " ".join(f"{x:+.1f}" for x in d))
    if not lines:
        lines.append("no (condition, trajectory) in both sets")
    return "\n".join(lines)


def read_sources(sources: list[str], window_min: float, readouts_min: list[float],
                 error) -> pd.DataFrame:
    """:func:`per_synapse` of every ``path[:first_trajectory]`` in ``sources``, concatenated;
    ``error`` (e.g. ``parser.error``) is called when a synapse is in two runs."""
    tables = []
    for source in sources:
        path, offset = parse_source(source)
        tables.append(per_synapse(pd.read_csv(path), offset, window_min, readouts_min))
    table = pd.concat(tables, ignore_index=True)
    duplicated = table.duplicated(["condition", "trajectory"])
    if duplicated.any():
        error("the same synapse in two runs: "
              + ", ".join(f"{c} {t}" for c, t in
                          table.loc[duplicated, ["condition", "trajectory"]].values))
    return table


def parse_source(text: str) -> tuple[Path, int]:
    """``path`` or ``path:first_trajectory``."""
    path, _, offset = text.rpartition(":") if ":" in text else (text, "", "0")
    return Path(path), int(offset)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("courses", nargs="+", metavar="CSV[:FIRST_TRAJECTORY]")
    parser.add_argument("--window", type=float, default=5.0, help="window width (min)")
    parser.add_argument("--readouts", default="5,20",
                        help="read-out times, min after the end of induction")
    parser.add_argument("--out", type=Path, default=None, help="per-synapse CSV")
    parser.add_argument("--versus", nargs="+", default=None, metavar="CSV[:FIRST_TRAJECTORY]",
                        help="time courses of a second set of runs (same seed): print each"
                             " condition's difference from them, paired by synapse")
    args = parser.parse_args(argv)
    readouts = [float(x) for x in args.readouts.split(",")]
    table = read_sources(args.courses, args.window, readouts, parser.error)
    print(report(table, readouts))
    if args.versus:
        print(paired(table, read_sources(args.versus, args.window, readouts, parser.error),
                     readouts))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
