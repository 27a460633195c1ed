"""analysis/windowed_readout.py: Δw from windowed means of the weight, on a hand-made time
course whose window means are known exactly (no simulation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .scripts import load_script


@pytest.fixture(scope="module")
def wr():
    return load_script("windowed_readout")


def _course():
    """10-s samples from 0 to 3000 s, induction ending at 1800 s; synapse 0 alternates
    0.9/1.1 (mean 1.0) before 1800 s and 1.4/1.6 (mean 1.5) after; synapse 1 is 1.0
    throughout but 2.0 in the single sample at 1800 s (a flicker at the baseline)."""
    t = np.arange(0.0, 3001.0, 10.0)
    flicker = np.where(np.arange(len(t)) % 2 == 0, -0.1, 0.1)
    w0 = np.where(t <= 1800.0, 1.0, 1.5) + flicker
    w1 = np.where(t == 1800.0, 2.0, 1.0)
    return pd.DataFrame(dict(condition="HFS", time_s=t,
                             minutes_after_induction=(t - 1800.0) / 60.0, n=2,
                             weight_traj0=w0, weight_traj1=w1))


def test_windowed_means_against_the_single_samples(wr):
    table = wr.per_synapse(_course(), 8, 5.0, [5.0, 20.0], warm_up_s=1800.0)
    assert list(table["trajectory"]) == [8, 9]
    s0, s1 = table.iloc[0], table.iloc[1]
    # synapse 0, baseline window 1500-1800 s: 31 samples, 16 at 0.9 and 15 at 1.1 (sample
    # 150, at 1500 s, is even); the 20-min window is 2700-3000 s, samples 270-300
    base = (16 * 0.9 + 15 * 1.1) / 31
    after20 = np.where(np.arange(270, 301) % 2 == 0, 1.4, 1.6).mean()
    assert s0["dw_20min_windowed_pct"] == pytest.approx(100 * (after20 / base - 1))
    assert s0["dw_20min_sample_pct"] == pytest.approx(100 * (1.4 / 0.9 - 1))
    # synapse 1: the flicker at 1800 s makes the single-sample Δw -50 %; the windows see it
    # once in 31 baseline samples and not at all 15-20 min later
    assert s1["dw_20min_sample_pct"] == pytest.approx(-50.0)
    assert s1["dw_20min_windowed_pct"] == pytest.approx(100 * (1.0 / (32 / 31) - 1))
    assert s1["baseline_cv"] > 0 and s0["baseline_cv"] == pytest.approx(
        np.std(np.r_[np.full(16, 0.9), np.full(15, 1.1)]) / base)


def test_a_readout_after_the_run_is_refused(wr):
    with pytest.raises(ValueError, match="read-out at 30 min"):
        wr.per_synapse(_course(), 0, 5.0, [30.0], warm_up_s=1800.0)


def test_the_report_and_the_path_offset(wr):
    table = wr.per_synapse(_course(), 0, 5.0, [20.0], warm_up_s=1800.0)
    text = wr.report(table, [20.0])
    assert text.startswith("HFS (n = 2;") and "20 min, windowed" in text
    assert wr.parse_source("run/lasting_ltp_timecourse.csv:12") == (
        Path("run/lasting_ltp_timecourse.csv"), 12)
    assert wr.parse_source("run/x.csv") == (Path("run/x.csv"), 0)


def test_the_difference_from_a_second_set_paired_by_synapse(wr):
    """The same streams with a rule on and off: synapse 0 of the second set is the first's
    but 0.5 lower after 1800 s (the same baseline), synapse 1 is 0.1 higher throughout (its
    baseline differs); an unmatched synapse 2 of the second set is left out."""
    course = _course()
    versus = course.assign(weight_traj0=np.where(course["time_s"] > 1800.0,
                                                 course["weight_traj0"] - 0.5,
                                                 course["weight_traj0"]),
                           weight_traj1=course["weight_traj1"] + 0.1,
                           weight_traj2=1.0, n=3)
    table = wr.per_synapse(course, 0, 5.0, [20.0], warm_up_s=1800.0)
    other = wr.per_synapse(versus, 0, 5.0, [20.0], warm_up_s=1800.0)
    text = wr.paired(table, other, [20.0])
    assert text.startswith("HFS − versus, paired by synapse (n = 2; the same baseline "
                           "window in 1 of 2)")
    # windowed, synapse 0: the same baseline, the 20-min window 0.5 / base higher
    base = (16 * 0.9 + 15 * 1.1) / 31
    d0 = 100 * 0.5 / base
    # synapse 1: 1.0 / (32 / 31) against 1.1 / ((32 / 31) + 0.1) in the windows
    d1 = 100 * (1.0 / (32 / 31) - 1.1 / (32 / 31 + 0.1))
    assert f"per pair {d0:+.1f} {d1:+.1f}" in text.splitlines()[1]
    # single samples: 1.4 / 0.9 against 0.9 / 0.9, and 1.0 / 2.0 against 1.1 / 2.1
    s0, s1 = 100 * (1.4 - 0.9) / 0.9, 100 * (1.0 / 2.0 - 1.1 / 2.1)
    assert f"per pair {s0:+.1f} {s1:+.1f}" in text.splitlines()[2]
    assert wr.paired(table, other.assign(condition="LFS"), [20.0]) == (
        "no (condition, trajectory) in both sets")
