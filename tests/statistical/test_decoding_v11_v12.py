"""V11 and V12 at reduced size (analysis/decoding.py runs the full figures).

V11: the decoding stack driven by 20 Ca²⁺ pulses (2 µM × 60 ms each, the same total at
every frequency) at 0.3, 3, 10 and 30 Hz, 4 trajectories each: the CaMKII/CaN ratio of
peak activations rises with frequency (Spearman ρ > 0.8, i.e. monotone over these four;
and the 30 Hz ratio exceeds the 0.3 Hz one by more than 3 SE of the difference); both
targets are active at every frequency (peak fraction > 0.02); at 10 Hz CaMKII's activation
rises with the amplitude (1, 2, 4 µM: the total Ca²⁺), each step by more than 2 SE.

V12: the MWC calmodulin with one target at a time, Ca²⁺ clamped at three steady levels
around each target's EC50 (calcineurin 3, 10, 30 nM for 1500 s: its binding relaxes with
τ ≈ 200 s; CaMKII 30, 100, 300 nM for 300 s: it binds and lets go within seconds), 3
trajectories: the SSA steady-state bound fraction (time average over the second half) is
within 3 SE plus 10 % of the target's range of the mass-action equilibrium (with 120 CaM
molecules the stochastic steady state differs from the mass-action one by O(1/120), and
calcineurin is still settling in the averaging window: deviations of 3-6 % of the range
were seen, while the SE is only 0.005-0.03 % of it), and EC50(CaMKII)/EC50(CaN) from the
SSA points is ≥ 5.

Frozen seed 20261214 (chosen before any result was seen).
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

from stochsyn.validation import decoding as dec

SEED = 20261214


@pytest.mark.slow
def test_v11_camkii_over_can_rises_with_frequency():
    runs = [dec.activation(f, n_pulses=20, amplitude_um=2.0, tau_s=0.06, n_trajectories=4,
                           seed=SEED) for f in (0.3, 3.0, 10.0, 30.0)]
    rho = stats.spearmanr([r.rate_hz for r in runs], [r.ratio for r in runs]).statistic
    assert rho > 0.8, [r.ratio for r in runs]
    low, high = runs[0], runs[-1]
    assert high.ratio - low.ratio > 3 * math.hypot(high.ratio_se, low.ratio_se)
    assert all(r.camkii > 0.02 and r.can > 0.02 for r in runs), runs
    by_amplitude = [dec.activation(10.0, n_pulses=20, amplitude_um=a, tau_s=0.06,
                                   n_trajectories=4, seed=SEED) for a in (1.0, 2.0, 4.0)]
    for small, large in zip(by_amplitude, by_amplitude[1:]):
        assert large.camkii - small.camkii > 2 * math.hypot(large.camkii_se, small.camkii_se)


@pytest.mark.slow
def test_v12_can_is_more_calcium_sensitive_than_camkii():
    runs = {"CaN": ((0.003, 0.01, 0.03), 1500.0), "CaMKII": ((0.03, 0.1, 0.3), 300.0)}
    ec = {}
    for target, (levels, t_end) in runs.items():
        r = dec.dose_response(target, levels, t_end_s=t_end, n_trajectories=3, seed=SEED)
        low = dec.mwc_equilibrium(0.0, target)
        high = dec.mwc_equilibrium(1e4, target)
        for m, se, exact in zip(r.bound, r.bound_se, r.exact):
            assert abs(m - exact) < 3 * se + 0.1 * (high - low), (target, m, exact, se)
        ec[target] = dec.ec50(r.ca_um, r.bound, low, high)
    assert ec["CaMKII"] / ec["CaN"] >= 5, ec
