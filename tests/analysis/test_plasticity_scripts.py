"""The plasticity analysis scripts run end to end on tiny cases and write their PNG and CSVs
(analysis/ltp_ltd.py, bcm.py, stdp.py, blockers.py, stability.py, reversal.py,
receptor_history.py), and the pure functions they use are right.

The tiny cases (1 synapse, a 10 s warm-up, a 10 s read-out, trains cut to a few pulses)
check the plumbing, not the science: the directions (V7–V10, V14) need the calibrated model
and ensembles read 60 min after induction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stochsyn as ss
from stochsyn.validation import plasticity as P

from .scripts import load_script

TINY = ["--trajectories", "1", "--warm-up", "10", "--after", "10", "--sample-every", "5",
        "--threads", "1"]

pytest.importorskip("matplotlib")


def script(name: str):
    return load_script(name)


def _check_outputs(out: Path, stem: str, conditions: list[str]):
    assert (out / f"{stem}.png").stat().st_size > 10_000
    summary = pd.read_csv(out / f"{stem}.csv")
    assert list(summary["condition"]) == conditions
    assert (summary["n"] == 1).all()
    assert np.isfinite(summary["delta_weight_pct_mean"]).all()
    trajectories = pd.read_csv(out / f"{stem}_trajectories.csv")
    assert len(trajectories) == len(conditions)
    course = pd.read_csv(out / f"{stem}_timecourse.csv")
    assert set(course["condition"]) == set(conditions)
    baseline = course[np.isclose(course["time_s"], 10.0)]
    np.testing.assert_allclose(baseline["weight_mean"], 1.0)   # the weight's baseline
    return summary, trajectories


def test_ltp_ltd_runs_end_to_end(tmp_path):
    code = script("ltp_ltd").main(TINY + ["--tbs-trains", "1", "--lfs-pulses", "3",
                                          "--hfs-pulses", "10", "--out-dir", str(tmp_path)])
    assert code == 0
    _, rows = _check_outputs(tmp_path, "ltp_ltd", ["control", "HFS", "TBS x1", "LFS"])
    # read 10 s after each condition's last pulse: HFS of 10 pulses ends at 10.09 s
    assert rows.set_index("condition")["readout_s"].to_dict() == {
        "control": 20.0, "HFS": 25.0, "TBS x1": 25.0, "LFS": 25.0}


def test_bcm_runs_end_to_end_and_estimates_a_crossover(tmp_path):
    code = script("bcm").main(TINY + ["--frequencies", "20,50", "--pulses", "5",
                                      "--out-dir", str(tmp_path)])
    assert code == 0
    summary, _ = _check_outputs(tmp_path, "bcm", ["control", "20 Hz", "50 Hz"])
    assert list(summary["value"].iloc[1:]) == [20.0, 50.0]
    cross = pd.read_csv(tmp_path / "bcm_crossover.csv")
    assert {"crossover_hz", "bracket_low_hz", "bracket_high_hz"} <= set(cross.columns)


def test_crossover_interpolates_in_log_frequency():
    bcm = script("bcm")
    c = bcm.crossover([1, 3, 10, 30, 100], [-20, -10, 10, 20, 30])
    assert c["crossover_hz"] == pytest.approx(np.sqrt(30.0))    # half-way from 3 to 10 in log
    assert (c["bracket_low_hz"], c["bracket_high_hz"], c["sign_changes"]) == (3, 10, 1)
    assert np.isnan(bcm.crossover([1, 10], [5, 6])["crossover_hz"])
    unordered = bcm.crossover([100, 1, 10], [30, -20, 10])
    assert unordered["bracket_low_hz"] == 1 and unordered["bracket_high_hz"] == 10
    assert bcm.crossover([1, 3, 10, 30], [-5, 5, -5, 5])["sign_changes"] == 3


def test_stdp_runs_end_to_end(tmp_path):
    code = script("stdp").main(TINY + ["--delays=-10,10", "--pairs", "3",
                                       "--out-dir", str(tmp_path)])
    assert code == 0
    _check_outputs(tmp_path, "stdp", ["control", "dt -10 ms", "dt +10 ms"])
    assert (tmp_path / "stdp_fit.csv").exists()


def test_stdp_fit_recovers_a_known_window():
    stdp = script("stdp")
    d = np.array([-100, -50, -20, -10, -5, 5, 10, 20, 50, 100], dtype=float)
    y = np.where(d > 0, 80 * np.exp(-d / 17.0), -30 * np.exp(d / 34.0))
    fit = stdp.fit_window(d, y)
    assert fit["tau_plus_ms"] == 17.0 and fit["tau_minus_ms"] == 34.0
    assert fit["a_plus_pct"] == pytest.approx(80) and fit["a_minus_pct"] == pytest.approx(-30)
    assert not fit["tau_plus_at_grid_edge"] and not fit["tau_minus_at_grid_edge"]
    assert np.isnan(stdp.fit_window([10.0], [5.0])["tau_plus_ms"])
    flat = stdp.fit_window([5.0, 10.0, 50.0], [10.0, 10.0, 10.0])
    assert flat["tau_plus_ms"] == 300.0 and flat["tau_plus_at_grid_edge"]


def test_blockers_runs_end_to_end(tmp_path):
    code = script("blockers").main(TINY + ["--groups", "V18", "--lfs-pulses", "3",
                                           "--hfs-pulses", "10", "--out-dir", str(tmp_path)])
    assert code == 0
    summary, _ = _check_outputs(tmp_path, "blockers", [
        "control", "LFS", "HFS", "exocytosis blocked", "endocytosis blocked"])
    assert list(summary["target"].fillna("")) == ["", "< 0", "> 0", "PSD halves", "PSD rises"]


def test_blockers_lists_every_v8_v16_v18_arm_and_judges_targets():
    blockers = script("blockers")
    arms = blockers.conditions()
    names = [c.name for _, c, _ in arms]
    assert names == ["control", "LFS", "HFS", "LFS + APV", "LFS + CaN block",
                     "LFS + PP1 block", "LFS + BAPTA-like", "HFS T286A", "HFS S831A/S845A",
                     "LFS S831A/S845A", "exocytosis blocked", "endocytosis blocked"]
    variants = {c.name: c.variants for _, c, _ in arms}
    assert variants["HFS T286A"] == ("T286A",)
    assert variants["LFS S831A/S845A"] == ("S831A", "S845A")
    summary = pd.DataFrame({
        "condition": ["HFS", "LFS + APV", "HFS T286A", "HFS S831A/S845A", "exocytosis blocked"],
        "target": ["> 0", "|.| < 5", "no LTP", "LTP < wild type", "PSD halves"],
        "delta_weight_pct_mean": [50.0, -6.0, 2.0, 60.0, -40.0],
        "ampar_psd_ratio_mean": [1.3, 0.9, 1.0, 1.2, 0.5]})
    assert list(blockers.verdict(summary)) == [True, False, True, False, True]


def test_stability_runs_end_to_end(tmp_path):
    code = script("stability").main(TINY + ["--after", "40", "--out-dir", str(tmp_path)])
    assert code == 0
    summary, rows = _check_outputs(tmp_path, "stability", ["rest", "0.05 Hz test pulses"])
    assert (rows["readout_s"] == 50.0).all()     # 40 s after the warm-up, pulses or not
    drift = pd.read_csv(tmp_path / "stability_drift.csv")
    assert len(drift) == 2
    np.testing.assert_allclose(drift["minutes"], 40 / 60)


def test_reversal_runs_end_to_end(tmp_path):
    code = script("reversal").main(TINY + ["--gap", "10", "--lfs-pulses", "3",
                                           "--hfs-pulses", "10", "--out-dir", str(tmp_path)])
    assert code == 0
    _, rows = _check_outputs(tmp_path, "reversal", [
        "control", "HFS", "HFS then LFS", "LFS", "LFS then HFS"])
    rows = rows.set_index("condition")
    # single arms are read with the paired arm that starts with them
    assert rows.loc["HFS", "readout_s"] == rows.loc["HFS then LFS", "readout_s"]
    assert rows.loc["LFS", "readout_s"] == rows.loc["LFS then HFS", "readout_s"]
    assert np.isfinite(rows.loc["HFS then LFS", "delta_from_reference_pct"])
    second = pd.read_csv(tmp_path / "reversal_second_stage.csv")
    assert list(second["target"].fillna("")) == ["", "< 0", "", "> 0"]


def test_receptor_history_runs_on_the_spine_model(tmp_path):
    out = tmp_path / "history.png"
    code = script("receptor_history").main([
        "--model", str(P.MODEL), "--t-end", "40", "--induce-at", "20", "--sample-every", "5",
        "--protocol", "hfs:pulses=10", "--out", str(out)])
    assert code == 0 and out.stat().st_size > 10_000
    history = pd.read_csv(out.with_suffix(".csv"))
    assert history["rule"].iloc[0] == "start"
    assert set(history["loc"]) <= set(ss.trafficking.LOCATIONS)


def test_run_conditions_refuses_a_stimulus_inside_the_warm_up_and_a_negative_readout():
    early = P.Condition("early", ss.protocols.hfs(start_s=5.0))
    with pytest.raises(ValueError, match="before the end of the warm-up"):
        P.run_conditions([early], n_trajectories=1, seed=1, warm_up_s=10.0, sample_every=5.0,
                         after_s=1.0)
    with pytest.raises(ValueError, match="after_s"):
        P.run_conditions([P.Condition("rest")], n_trajectories=1, seed=1, after_s=-1.0)
    with pytest.raises(ValueError, match="does not divide the warm-up"):
        P.run_conditions([P.Condition("rest")], n_trajectories=1, seed=1, warm_up_s=10.0,
                         sample_every=3.0, after_s=1.0)
    with pytest.raises(ValueError, match="no conditions"):
        P.run_conditions([], n_trajectories=1, seed=1)
    # an unknown knock-in is refused before the first condition runs
    arms = [P.Condition("rest"), P.Condition("mutant", variants=("T286D",))]
    with pytest.raises(ss.ModelError, match="unknown variant 'T286D'"):
        P.run_conditions(arms, n_trajectories=1, seed=1, warm_up_s=10.0, sample_every=5.0,
                         after_s=1.0, progress=pytest.fail)


def test_induction_end_is_the_last_spike_or_the_warm_up():
    assert P.induction_end_s(None) == P.WARM_UP_S
    assert P.induction_end_s(ss.protocols.apv()) == P.WARM_UP_S
    lfs = ss.protocols.lfs(start_s=P.WARM_UP_S, pulses=900)     # 1 Hz: last pulse 899 s on
    assert P.induction_end_s(lfs) == P.WARM_UP_S + 899.0
    # a protocol that ends before the warm-up does is read from the warm-up's end
    assert P.induction_end_s(ss.protocols.lfs(start_s=0.0, pulses=5), warm_up_s=300.0) == 300.0
    stdp = ss.protocols.stdp(10.0, pairs=2, start_s=20.0)
    assert P.induction_end_s(stdp, warm_up_s=20.0) == pytest.approx(21.01)


def test_the_runs_log_only_insertions_and_endocytoses():
    """The spine logs Mg²⁺ (un)blocks and CaMKII phosphorylations too; the plasticity runs
    keep only the trafficking records (memory), and count unblocks from the firings."""
    spine = ss.load_model(P.MODEL)
    assert {r.name.split("[")[0] for r in spine.reactions if r.log} > {
        "nmdar_mg_unblock", "exocytosis"}
    logged = {r.name.split("[")[0] for r in P.log_trafficking_only(spine).reactions if r.log}
    assert logged == set(ss.trafficking.INSERTION_RULES + ss.trafficking.ENDOCYTOSIS_RULES)
    # Pr = 1: at the model's 0.3 the 5 pulses release nothing with probability 0.7^5 = 17 %,
    # and then there is no unblock to count (seed 3 did so once n_nmdar went 15 -> 12 and
    # the random stream changed)
    run = P.run_conditions([P.Condition("HFS", ss.protocols.hfs(pulses=5, start_s=10.0))],
                           n_trajectories=1, seed=3, warm_up_s=10.0, sample_every=5.0,
                           after_s=5.0,
                           model=spine.with_parameters(glu_release_probability=1.0))
    assert (run.per_trajectory["mg_unblock_events"] > 0).all()


@pytest.mark.parametrize("name, extra, message", [
    ("ltp_ltd", ["--after", "-5"], "after_s"),
    ("bcm", ["--sample-every", "3"], "does not divide the warm-up"),
    ("stdp", ["--delays=-10", "--pairs", "0"], "pairs"),
])
def test_bad_options_end_the_script_with_a_clear_message(name, extra, message):
    with pytest.raises(SystemExit, match=message):
        script(name).main(TINY + extra)
