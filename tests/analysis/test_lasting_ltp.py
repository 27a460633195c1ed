"""analysis/lasting_ltp.py: the combined report of a screen split across runs, and the
offset runner that lets a run start at trajectory k (docs/science.md §8.5, part 2b)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as P

from .scripts import load_script


def _script():
    return load_script("lasting_ltp")


def test_the_report_gives_the_first_readout_the_per_synapse_values_and_the_state():
    ll = _script()
    table = pd.DataFrame({
        "candidate": "c", "condition": ["control", "control", "HFS", "HFS"],
        "trajectory": [1, 0, 0, 1],
        "delta_weight_pct": [-10.0, 10.0, 80.0, 50.0],
        # w(second) / w(first) - 1: first read-out w = 1.8 / 1.2 = 1.5 and 1.5 / 1.0 = 1.5
        "delta_from_reference_pct": [np.nan, np.nan, 20.0, 0.0],
        "ampar_trapped": [44.0, 46.0, 70.0, 80.0]})
    text = ll.report(table)
    assert "control per synapse (Δw %): +10.0 -10.0" in text      # in trajectory order
    assert "HFS per synapse (Δw %): +80.0 +50.0" in text
    assert "Δw at the first read-out (%)           HFS 50 ± 0" in text
    assert "trapped receptors                      control 45 ± 1   HFS 75 ± 5" in text
    assert "+65.0 ± 15.0" in text and "+0.0 ± 10.0" in text       # the Δweight table
    # paired by trajectory: 80 - 10 = 70 and 50 - (-10) = 60
    assert "HFS − control, paired (n = 2): +65.0 ± 5.0 % [+1.5, +128.5]" in text


def test_the_offset_runner_reproduces_the_trajectories_of_a_run_from_zero():
    """Trajectory 1 of a run from 0 and trajectory 0 of a run from 1 are the same stream:
    bit-exact weight and pools (spine, 10 s warm-up, 10 s read-out; ~10 s CPU)."""
    ll = _script()
    model = ss.load_model(P.MODEL)
    conditions = [P.Condition("control", None)]
    both = P.run_conditions(conditions, n_trajectories=2, after_s=10.0, seed=5,
                            warm_up_s=10.0, model=model).per_trajectory
    second = P.run_conditions(conditions, n_trajectories=1, after_s=10.0, seed=5,
                              warm_up_s=10.0, model=model,
                              simulate_condition=ll.offset_runner(1, 1, 1)).per_trajectory
    assert list(second["trajectory"]) == [1]
    columns = ["weight", "ampar_psd", "ampar_trapped", "slots_phosphorylated_at_readout",
               "pp1_free_at_readout", "pt286_at_readout"]
    np.testing.assert_array_equal(second[columns].to_numpy(),
                                  both[both["trajectory"] == 1][columns].to_numpy())


def test_maintenance_drive_tabulates_the_lattice_of_each_synapse(monkeypatch, tmp_path):
    """analysis/maintenance_drive.py's per-synapse table agrees with its own time course
    (largest Q from the start of induction to 2 min after it, Q and Δw at the read-out) and
    the plot is written; 2 synapses, a 10 s warm-up, 5 pulses (~5 s CPU)."""
    md = load_script("maintenance_drive")
    monkeypatch.setattr(P, "WARM_UP_S", 10.0)
    model = P.log_trafficking_only(ss.load_model(P.MODEL))
    protocol = ss.protocols.hfs(start_s=10.0, pulses=5)
    ens = ss.simulate(model, 30.0, 2, seed=1, sample_every=10.0, protocol=protocol,
                      record_events=True, n_threads=1)
    table, course = md.drive(ens, "HFS", P.induction_end_s(protocol, 10.0), 30.0)
    assert list(table["trajectory"]) == [0, 1]
    for i, row in table.iterrows():
        one = course[course["trajectory"] == i]
        q = one["slots_phosphorylated"].to_numpy()
        assert row["q_max_induction"] == q[one["time_s"].to_numpy() >= 10.0].max()
        assert row["q_at_readout"] == q[-1]
        assert row["delta_weight_pct"] == 100.0 * (one["weight"].to_numpy()[-1] - 1.0)
        assert 0 <= row["minutes_q_ge_85"] <= row["minutes_q_ge_80"] <= 20.0 / 60.0
    md.plot(course, tmp_path / "drive.png", "test")
    assert (tmp_path / "drive.png").stat().st_size > 10_000


def test_the_arms_of_a_split_screen():
    """--lfs-only and --control-only give one arm each (to extend an LFS run's control with
    --first-trajectory); the default gives control and HFS, --lfs adds LFS."""
    ll = _script()
    names = {option: [c.name for c in ll.conditions(option, 1200.0, 300.0)]
             for option in (False, True, "only", "control")}
    assert names == {False: ["control", "HFS"], True: ["control", "HFS", "LFS"],
                     "only": ["LFS"], "control": ["control"]}
