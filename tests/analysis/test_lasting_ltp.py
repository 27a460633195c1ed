"""analysis/lasting_ltp.py: the combined report of a screen split across runs, and the
offset runner that lets a run start at trajectory k (docs/science.md §8.5, part 2b)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import stochsyn as ss
from stochsyn.validation import plasticity as P

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def _script():
    spec = importlib.util.spec_from_file_location("analysis_lasting_ltp",
                                                  ANALYSIS / "lasting_ltp.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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
