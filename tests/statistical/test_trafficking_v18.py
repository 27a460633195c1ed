"""V18 (trafficking block) and V17 (baseline stability) of the AMPA-receptor trafficking
module alone, at a frozen seed (stochsyn.validation.trafficking; analysis/trafficking.py).

Bounds are the ensemble's standard error: the mean PSD-receptor ratio (each trajectory
divided by its own 10-min baseline) must move past 1 by more than 3 SE in the direction V18
states, and at rest the 95 % interval of the mean over 90-120 min must lie within V17's
±5 %. The time targets of V18
(half by ~10 min, x1.7 by ~1 h, "within x2 in time") are NOT met by the module within the
literature ranges of its rates (docs/trafficking.md, "Calibration"): they are strict xfails,
so that a recalibration that meets them is noticed.
"""

from __future__ import annotations

import pytest

import stochsyn as ss
from stochsyn.validation import trafficking as v18

SEED = 20261214
N = 60
#: Simulated time after the block: 2 h where V17/V18 name it, 1 h for the exocytosis block
#: (it is at 0.27 of baseline by then).
AFTER_S = {"rest": 7200.0, "exocytosis blocked": 3600.0, "endocytosis blocked": 7200.0}


@pytest.fixture(scope="module")
def runs():
    model = ss.load_model(v18.MODEL)
    return {name: v18.run_condition(model, name, n_trajectories=N, seed=SEED + k,
                                    after_s=AFTER_S[name])
            for k, name in enumerate(v18.CONDITIONS)}


@pytest.mark.slow
def test_v17_rest_is_stationary_within_5_percent_over_2_hours(runs):
    # V17: |Δw| < 5 % for the ensemble after 2 h. Each trajectory's mean over the last
    # 30 min is one independent value; the 95 % interval of their mean must lie within ±5 %
    # (for the weight and for the PSD count).
    for name in ("weight", "psd"):
        mean, sem = runs["rest"].window(90.0, 120.0, name)
        assert abs(mean - 1) + 1.96 * sem < 0.05, (name, mean, sem)


@pytest.mark.slow
def test_v18_blocking_exocytosis_lowers_and_halves_the_psd_receptors(runs):
    run = runs["exocytosis blocked"]
    ratio, sem = run.at(10.0)
    assert ratio < 1 - 3 * sem
    ratio, sem = run.at(60.0)
    assert ratio + 3 * sem < 0.5


@pytest.mark.slow
def test_v18_blocking_endocytosis_raises_the_psd_receptors(runs):
    run = runs["endocytosis blocked"]
    ratio, sem = run.at(10.0)
    assert ratio > 1 + 3 * sem
    ratio, sem = run.at(60.0)
    assert ratio - 3 * sem > 1.3


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="halving takes ~30 min with k_endo at the fast end of "
                   "1/(10-30 min) and 20 extrasynaptic receptors (docs/trafficking.md)")
def test_v18_exocytosis_block_halves_within_20_minutes(runs):
    assert runs["exocytosis blocked"].first_time(0.5, below=True) <= 20.0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the PSD levels off near x1.5: 100 slots, and an endosomal "
                   "pool (50) smaller than the surface (70) (docs/trafficking.md)")
def test_v18_endocytosis_block_reaches_1_7_fold_within_2_hours(runs):
    assert runs["endocytosis blocked"].first_time(1.7, below=False) <= 120.0
