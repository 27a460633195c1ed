"""V13 on small switches: dwell times grow exponentially with N, are exponentially
distributed, and one PP1 fewer lengthens UP and shortens DOWN.

Model: reactions/examples/camkii_switch.toml via stochsyn.validation.camkii_switch (the same
code as analysis/camkii_switch.py, which runs N = 4–10 and extrapolates to 20). Here N = 2,
3, 4 holoenzymes without turnover, 16 trajectories each (half starting UP, half DOWN), one
frozen seed (20261212, chosen before any result was seen).

Bounds, from the standard errors (exponential MLE: SE = mean/√k):
* the weighted fit of ln(mean dwell) on N has slope > 0 by more than 3 SE, and r² > 0.9,
  for UP and for DOWN;
* at N = 4, a Kolmogorov–Smirnov test of the completed episodes against the exponential law
  of their mean does not reject at 0.001 (two tests: Bonferroni 0.0005);
* at N = 3 with PP1 = 2 instead of 3: UP longer and DOWN shorter, each difference more
  than 2 SE of the difference (an UP state that never ended counts as longer).
"""

from __future__ import annotations

import math

import pytest

from stochsyn.validation import camkii_switch as v13

SEED = 20261212
DAYS = {2: 15, 3: 20, 4: 40}
N_TRAJ = 16


@pytest.fixture(scope="module")
def runs():
    return {n: v13.dwell_times(n, t_end_h=24 * DAYS[n], n_trajectories=N_TRAJ, seed=SEED,
                               sample_every_h=0.5) for n in DAYS}


@pytest.mark.slow
@pytest.mark.parametrize("state", ["UP", "DOWN"])
def test_log_dwell_time_grows_linearly_with_n(runs, state):
    points = [runs[n].mean(state) for n in DAYS]
    assert all(k >= 10 for _, _, k in points), points
    fit = v13.fit_log_lifetime(list(DAYS), [m for m, _, _ in points], [s for _, s, _ in points])
    assert fit.slope > 3 * fit.slope_se, (fit.slope, fit.slope_se)
    assert fit.r2 > 0.9, fit.r2


@pytest.mark.slow
def test_dwell_times_are_exponential(runs):
    p_values = [runs[4].ks_exponential(state) for state in ("UP", "DOWN")]
    assert min(p_values) > 0.001 / 2, p_values


@pytest.mark.slow
def test_one_pp1_fewer_lengthens_up_and_shortens_down(runs):
    fewer = v13.dwell_times(3, n_pp1=2, t_end_h=24 * DAYS[3], n_trajectories=N_TRAJ,
                            seed=SEED, sample_every_h=0.5)
    base = runs[3]
    up_f, up_f_se, _ = fewer.mean("UP")
    up_b, up_b_se, _ = base.mean("UP")
    assert math.isinf(up_f) or up_f - up_b > 2 * math.hypot(up_f_se, up_b_se), (up_f, up_b)
    down_f, down_f_se, k = fewer.mean("DOWN")
    down_b, down_b_se, _ = base.mean("DOWN")
    assert k >= 5 and down_b - down_f > 2 * math.hypot(down_f_se, down_b_se), (down_f, down_b)
