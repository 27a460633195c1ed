"""AMPA receptor gating (reactions/modules/ampar_gating.toml) against its master equation.

One presynaptic spike at t_s = 1 ms releases for sure (probability 1, CV 0), so cleft
glutamate is exactly glu(t) = 1 mM·exp(-(t - t_s)/1.2 ms) for t >= t_s. The N = 50 PSD
receptors are independent 6-state chains, so the number in state O is Binomial(N, p_O(t)),
with p(t) the solution of the linear master equation dp/dt = Q(glu(t)) p of one receptor
(ampa5.mod, docs/science.md §3.1), integrated here with scipy (DOP853, rtol 1e-10). The DSMTS
criterion (test_time_dependent.dsmts_verdict) is applied to the open count at every grid
time 0-21 ms; a reference with Ro 20 % off must fail it. The means of all six state counts
are tested jointly as a multinomial (Pearson χ², see multinomial_verdict), with Rd 20 % off
as the negative control; their variances state by state (DSMTS Y where N p (1 - p) >= 0.5);
their sum must be N in every sample. The kinetics test reports the peak open
probability, its time after the spike, the 10-90 % rise and the decay time constant of the
mean open count, for comparison with docs/science.md §3.1's target EPSC (rise 0.2-0.5 ms, decay
≈ 2-3 ms); it asserts only that the simulation and the master equation agree on them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import curve_fit

import stochsyn as ss

from .test_time_dependent import dsmts_verdict, y_scores

SEED = 20261122
N_TRAJ = 10_000
MODULE = Path(__file__).resolve().parents[2] / "reactions" / "modules" / "ampar_gating.toml"
STATES = ("AMPA_C0", "AMPA_C1", "AMPA_C2", "AMPA_D1", "AMPA_D2", "AMPA_O")
N_AMPA = 50
T_SPIKE_MS, PEAK_MM, TAU_GLU_MS = 1.0, 1.0, 1.2
T_END_MS = 21.0
GRID_MS = np.linspace(0.0, T_END_MS, 85)                 # every 0.25 ms
# ampa5.mod rates, in /ms (Rb in /mM/ms)
RATES = dict(Rb=13.0, Ru1=0.0059, Ru2=86.0, Rd=0.9, Rr=0.064, Ro=2.7, Rc=0.2)


def certain_release_model():
    spec = copy.deepcopy(ss.load_model(MODULE).spec)
    spec["inputs"]["glu"]["release"] = {"probability": 1, "peak": f"{PEAK_MM} mM",
                                        "tau": f"{TAU_GLU_MS} ms", "cv": 0}
    return ss.Model.from_dict(spec)


def master_equation(times_ms, Rb, Ru1, Ru2, Rd, Rr, Ro, Rc, dense=False):
    """State probabilities (6, len(times)) of one receptor, all in C0 before the spike."""

    def rhs(t, p):
        c0, c1, c2, d1, d2, o = p
        rb = Rb * PEAK_MM * np.exp(-(t - T_SPIKE_MS) / TAU_GLU_MS)
        return [-rb * c0 + Ru1 * c1,
                rb * c0 - (Ru1 + rb + Rd) * c1 + Ru2 * c2 + Rr * d1,
                rb * c1 - (Ru2 + Rd + Ro) * c2 + Rr * d2 + Rc * o,
                Rd * c1 - Rr * d1,
                Rd * c2 - Rr * d2,
                Ro * c2 - Rc * o]

    after = times_ms >= T_SPIKE_MS
    sol = solve_ivp(rhs, (T_SPIKE_MS, times_ms[-1]), [1.0, 0, 0, 0, 0, 0], method="DOP853",
                    t_eval=times_ms[after], rtol=1e-10, atol=1e-13, dense_output=dense)
    assert sol.success, sol.message
    p = np.zeros((6, len(times_ms)))
    p[0, ~after] = 1.0
    p[:, after] = sol.y
    return (p, sol) if dense else p


@pytest.fixture(scope="module")
def ensemble():
    return ss.simulate(certain_release_model(), T_END_MS * 1e-3, N_TRAJ, seed=SEED,
                       sample_times=GRID_MS * 1e-3,
                       protocol=ss.protocols.train(1.0, 1, start_s=T_SPIKE_MS * 1e-3))


def test_open_receptors_are_binomial_of_the_master_equation(ensemble):
    p_open = master_equation(GRID_MS, **RATES)[5]
    open_ = ensemble.values("ampa_open")
    z, y, passes = dsmts_verdict(open_, N_AMPA * p_open, N_AMPA * p_open * (1 - p_open))
    print(f"\nAMPA open ~ Binomial({N_AMPA}, p(t)): max|Z| = {z:.2f}, max|Y| = {y:.2f}")
    assert passes, (z, y)


def test_an_opening_rate_20_percent_off_is_rejected(ensemble):
    """Negative control: the same test against the master equation with Ro × 1.2 must fail."""
    p_open = master_equation(GRID_MS, **{**RATES, "Ro": 1.2 * RATES["Ro"]})[5]
    z, y, passes = dsmts_verdict(ensemble.values("ampa_open"), N_AMPA * p_open,
                                 N_AMPA * p_open * (1 - p_open))
    print(f"\nnegative control (Ro x 1.2): max|Z| = {z:.2f}, max|Y| = {y:.2f}")
    assert not passes


def multinomial_verdict(counts, p):
    """(min p-value, passes) of the joint test of the six state counts' ensemble means.

    A receptor's state is one of six, so the counts of N receptors are Multinomial(N, p(t))
    and their ensemble mean over n trajectories is asymptotically normal with covariance
    N (diag p - p pᵀ)/n. Pearson's statistic n Σ_k (m̄_k - N p_k)²/(N p_k) is then χ² with
    5 degrees of freedom. Testing the states one by one would count one fluctuation twice
    (a receptor more in C1 is one fewer elsewhere: the C1 and D1 Z-scores move together)
    and multiply the false alarms by five. The allowance is DSMTS's for Z: p < 0.0027
    (|Z| >= 3) at no more than one grid time, and never p < 5.7e-7 (|Z| >= 5)."""
    from scipy.stats import chi2
    n = counts.shape[0]
    m = counts.mean(axis=0)                                   # (times, 6)
    expected = N_AMPA * p.T
    x2 = np.zeros(len(expected))
    dof = np.zeros(len(expected), dtype=int)
    for t in range(len(expected)):
        keep = expected[t] > 0
        x2[t] = n * np.sum((m[t, keep] - expected[t, keep]) ** 2 / expected[t, keep])
        dof[t] = keep.sum() - 1
    tested = dof > 0
    pvalues = chi2.sf(x2[tested], dof[tested])
    passes = np.sum(pvalues < 0.0027) <= 1 and np.all(pvalues >= 5.7e-7)
    return float(pvalues.min()), passes


def test_every_state_count_matches_and_receptors_are_conserved(ensemble):
    counts = np.stack([ensemble.values(s) for s in STATES], axis=-1)
    assert np.all(counts.sum(axis=-1) == N_AMPA)
    assert np.all(ensemble.values("ampa_total") == N_AMPA)
    p = master_equation(GRID_MS, **RATES)
    p_min, passes = multinomial_verdict(counts, p)
    print(f"\nstate means ~ Multinomial means: smallest p = {p_min:.3g}")
    assert passes, p_min
    # Negative control: desensitisation (Rd) 20 % off is rejected by the same test.
    wrong = master_equation(GRID_MS, **{**RATES, "Rd": 1.2 * RATES["Rd"]})
    assert not multinomial_verdict(counts, wrong)[1]
    for k, state in enumerate(STATES[:5]):                 # O is tested above
        mean, var = N_AMPA * p[k], N_AMPA * p[k] * (1 - p[k])
        # The variances, state by state (Y of DSMTS). Y is only a unit-variance statistic
        # when the count is not too skewed: for a binomial sd(Y) = sqrt(1 + (1 - 6pq)/(2Npq)),
        # about 10 at the 0.005 mean of the fast state C2 after the pulse. Test where
        # N p q >= 0.5 (sd(Y) <= 1.6; O stays below 1.8).
        well = var >= 0.5
        big_y = np.abs(y_scores(counts[:, well, k], mean[well], var[well]))
        print(f"\n{state} ~ Binomial: max|Y| = {big_y.max():.2f} ({well.sum()} times)")
        assert np.sum(big_y >= 5) <= 1 and np.all(big_y < 10), (state, float(big_y.max()))


def exponential(t, a, tau):
    return a * np.exp(-t / tau)


def decay_tau(times_ms, values):
    """Single-exponential fit from the peak to the end of the grid (ms)."""
    k = int(np.argmax(values))
    t, v = times_ms[k:] - times_ms[k], values[k:]
    (a, tau), _ = curve_fit(exponential, t, v, p0=(v[0], 3.0))
    return tau


def test_epsc_kinetics_of_the_module(ensemble):
    fine = np.linspace(0.0, T_END_MS, 21_001)               # 1 µs
    p_open = master_equation(fine, **RATES)[5]
    k = int(np.argmax(p_open))
    peak, t_peak = p_open[k], fine[k] - T_SPIKE_MS
    rise = fine[:k + 1]
    t10 = np.interp(0.1 * peak, p_open[:k + 1], rise)
    t90 = np.interp(0.9 * peak, p_open[:k + 1], rise)
    tau_me = decay_tau(fine, p_open)
    mean_open = ensemble.values("ampa_open").mean(axis=0)
    tau_ssa = decay_tau(GRID_MS, mean_open)
    t_peak_ssa = GRID_MS[int(np.argmax(mean_open))] - T_SPIKE_MS
    print(f"\npeak open probability {peak:.4f} ({N_AMPA * peak:.2f} of {N_AMPA} open) at "
          f"{t_peak:.3f} ms after the spike; 10-90 % rise {t90 - t10:.3f} ms; "
          f"decay tau (fit from the peak) {tau_me:.3f} ms (master equation), "
          f"{tau_ssa:.3f} ms (SSA mean, peak at {t_peak_ssa:.2f} ms, 0.25 ms grid)")
    assert abs(tau_ssa - tau_me) < 0.05 * tau_me
    assert abs(t_peak_ssa - t_peak) <= 0.25
