"""reactions/modules/vgcc.toml: R-, T- and L-type Ca²⁺ channels (docs/science.md §4).

At a clamped voltage (the input V constant, no membrane) every gating rate is a constant,
so the module's chains have closed-form laws:

* R and T: the m and h sites flip independently (the rules read one site each), so each
  is a two-state chain: m∞ = α_m/(α_m + β_m), τ_m = 1/(α_m + β_m), likewise h; an open
  channel (m open, h available) has the stationary probability m∞·h∞.
* L: C ⇄ O1 (α, β1), C ⇄ O2 (α, β2): P(open) = 1 − 1/(1 + α/β1 + α/β2).

The rates are the module's Boltzmann forms, a = k/(1 + exp((v_half − V)/v_slope)), with the
35 °C factors (forward 2.5, backward 2.00711), recomputed here from the published
functions (SynapseElife.jl rates_m_r …), not read from the model. Channels are independent,
so the counts at a time are binomial: bounds are |Z| < 3 on the standard error
sqrt(p(1 − p)/n) (DSMTS convention; frozen seeds). Ca_out = 0 switches the Ca²⁺ entry off
and the Ca²⁺ module is continuous (the hybrid mode), so the tests time the gating only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.validation import REPOSITORY
from stochsyn.validation.calcium_transients import CALCIUM_SPECIES

MODULE = REPOSITORY / "reactions" / "modules" / "vgcc.toml"
SEED = 20261207
FORWARD, BACKWARD = 2.5, 2.00711          # frwd_VGCC, bcwd_VGCC at 35 °C


def _logistic(v_mv, v_half, slope):
    return 1.0 / (1.0 + math.exp((v_half - v_mv) / slope))


def rates_r(v):
    """(α_m, β_m, α_h, β_h) of the R-type at 35 °C, 1/s (SynapseElife.jl rates_m_r/_h_r)."""
    beta_star = 1 / 0.4
    m_star = 1 / (1 + math.exp((3 - 10) / 8))
    inv_tau_m = beta_star * m_star / (1 - m_star) + beta_star          # 1/ms
    m_inf = 1 / (1 + math.exp((3 - v) / 8))
    h_inf = 1 / (1 + math.exp((v + 39) / 9.2))
    return (1e3 * FORWARD * m_inf * inv_tau_m, 1e3 * BACKWARD * (1 - m_inf) * inv_tau_m,
            1e3 * FORWARD * h_inf / 100, 1e3 * BACKWARD * (1 - h_inf) / 100)


def rates_t(v):
    """(α_m, β_m, α_h, β_h) of the T-type at 35 °C, 1/s (rates_m_t, rates_h_t)."""
    m_star = 1 / (1 + math.exp((-32 + 20) / 7))
    inv_tau_m = m_star / (1 - m_star) + 1.0
    m_inf = 1 / (1 + math.exp((-32 - v) / 7))
    h_inf = 1 / (1 + math.exp((v + 70) / 6.5))
    return (1e3 * FORWARD * m_inf * inv_tau_m, 1e3 * BACKWARD * (1 - m_inf) * inv_tau_m,
            1e3 * FORWARD * h_inf / 50, 1e3 * BACKWARD * (1 - h_inf) / 50)


def rates_l(v):
    """(α, β1, β2) of the L-type at 35 °C, 1/s (rates_l)."""
    return (1e3 * FORWARD * 0.83 * _logistic(v, 13.7, 6.1),
            1e3 * BACKWARD * 0.53 * _logistic(v, 11.5, -6.4),
            1e3 * BACKWARD * 1.86 * _logistic(v, 18.8, -6.17))


def clamped(v_mv, n=20, **parameters):
    """The module at 35 °C with V held at ``v_mv``, n channels of each type, no Ca²⁺ entry."""
    spec = {"model": {"name": "vgcc_clamp", "volume": "0.1 fL", "temperature": "35 degC",
                      "include": [str(MODULE)]},
            "inputs": {"V": {"unit": "mV", "value": f"{v_mv} mV"}},
            "parameters": {"Ca_out": "0 mM", "n_vgcc_R": n, "n_vgcc_T": n, "n_vgcc_L": n,
                           "n_vgcc_T_inactivated": 0, **parameters}}
    return ss.Model.from_dict(spec).with_continuous(CALCIUM_SPECIES)


def _z(count, n, p):
    """Z score of ``count`` successes in ``n`` independent trials of probability ``p``."""
    return (count - n * p) / math.sqrt(n * p * (1 - p))


def test_module_loads_at_35C_with_its_factors():
    model = clamped(-70)
    rows = {(row.module.split("/")[-1], row.group): row for row in model.temperature_scaling
            if "vgcc" in row.module}
    assert {g for _, g in rows} == {"", "backward", "ca_entry"}
    assert all(row.measured_c == 35.0 and row.factor == 1.0 for row in rows.values())
    assert rows[("vgcc.toml", "backward")].q10 == pytest.approx(3.55)
    at_25 = clamped(-70).with_temperature("25 degC")
    factors = {row.group: row.factor for row in at_25.temperature_scaling if "vgcc" in row.module}
    assert factors["backward"] == pytest.approx(1 / 3.55)
    assert factors[""] == pytest.approx(1 / 1.014)
    assert factors["ca_entry"] == 1.0
    assert "vgcc.toml [backward]" in model.info()


def test_zero_rates_no_gating_and_no_entry():
    zero = {name: "0 /ms" for name in ("vgccR_m_rate", "vgccR_h_rate", "vgccT_m_rate",
                                       "vgccT_h_rate", "vgccL_open_rate", "vgccL_close1_rate",
                                       "vgccL_close2_rate")}
    model = clamped(10, **zero).with_parameters(Ca_out="2 mM")
    ens = ss.simulate(model, 0.05, 4, seed=SEED, sample_every=0.01)
    assert int(ens.n_events.sum()) == 0
    for name in ("vgcc_open", "vgcc_R_inactivated", "vgcc_T_inactivated"):
        assert not ens.values(name).any()


@pytest.mark.slow
@pytest.mark.parametrize("v_mv", [-40.0, -10.0, 20.0])
def test_stationary_open_probabilities_at_clamped_voltages(v_mv):
    n_channels, n_traj = 20, 40
    ens = ss.simulate(clamped(v_mv, n=n_channels), 2.0, n_traj, seed=SEED + int(v_mv),
                      sample_every=0.4)
    late = ens.times >= 0.4 - 1e-12          # > 8 τ_h of the slowest chain (R: ≤ 50 ms)
    n = n_channels * n_traj * int(late.sum())
    for name, rates in (("R", rates_r(v_mv)), ("T", rates_t(v_mv))):
        a_m, b_m, a_h, b_h = rates
        m_inf, h_inf = a_m / (a_m + b_m), a_h / (a_h + b_h)
        opened = ens.values(f"vgcc_{name}_open")[:, late].sum()
        available = n - ens.values(f"vgcc_{name}_inactivated")[:, late].sum()
        assert abs(_z(available, n, h_inf)) < 3, (name, available / n, h_inf)
        assert abs(_z(opened, n, m_inf * h_inf)) < 3, (name, opened / n, m_inf * h_inf)
    a, b1, b2 = rates_l(v_mv)
    p_open = 1 - 1 / (1 + a / b1 + a / b2)
    opened = ens.values("vgcc_L_open")[:, late].sum()
    assert abs(_z(opened, n, p_open)) < 3, ("L", opened / n, p_open)


@pytest.mark.slow
def test_time_constants_at_one_voltage():
    """From all closed and available at t = 0, at -20 mV: E[m open](t) = m∞(1 − e^(−t/τ_m))
    (R-type, τ_m ≈ 0.5 ms) and E[h available](t) = h∞ + (1 − h∞) e^(−t/τ_h) (T-type,
    τ_h ≈ 18 ms), each checked at t = τ/2, τ, 2τ."""
    v_mv, n_channels, n_traj = -20.0, 50, 60
    a_m, b_m, _, _ = rates_r(v_mv)
    _, _, a_h, b_h = rates_t(v_mv)
    tau_m, tau_h = 1 / (a_m + b_m), 1 / (a_h + b_h)
    times = {"m": [0.5 * tau_m, tau_m, 2 * tau_m], "h": [0.5 * tau_h, tau_h, 2 * tau_h]}
    model = clamped(v_mv, n=n_channels)
    ens = ss.simulate(model, 2.5 * tau_h, n_traj, seed=SEED + 1,
                      sample_times=sorted(times["m"] + times["h"]))
    n = n_channels * n_traj
    for t in times["m"]:
        p = a_m / (a_m + b_m) * (1 - math.exp(-t / tau_m))
        k = int(np.argmin(abs(ens.times - t)))
        assert abs(_z(ens.values("vgcc_R_activated")[:, k].sum(), n, p)) < 3, (t, p)
    for t in times["h"]:
        h_inf = a_h / (a_h + b_h)
        p = h_inf + (1 - h_inf) * math.exp(-t / tau_h)
        k = int(np.argmin(abs(ens.times - t)))
        available = n - ens.values("vgcc_T_inactivated")[:, k].sum()
        assert abs(_z(available, n, p)) < 3, (t, p)


@pytest.mark.slow
def test_a_bap_alone_gives_its_own_transient_with_vgccs():
    """V6 (docs/science.md §9): in the electrophysiology example (hybrid mode, its own
    declaration), one bAP without glutamate gives a mean free-Ca²⁺ peak in 0.1–0.5 µM with
    the module's 3 + 3 + 3 channels, and more than 3 combined SE above the same spine
    without VGCCs (≈ 0.008 µM: NMDARs alone, Mg²⁺-blocked and unbound). 40 trajectories:
    SE ≈ 10 % of the peak (measured 0.18 ± 0.02 µM at seed 20261122)."""
    from stochsyn import protocols
    from stochsyn.validation import calcium_transients as ct
    post = protocols.spikes(post_s=[ct.T_SPIKE_S + 0.010])
    with_vgcc = ct.run(post, t_end_s=0.1, n_trajectories=40, seed=SEED, model=ct.hybrid())
    without = ct.run(post, t_end_s=0.1, n_trajectories=40, seed=SEED,
                     model=ct.hybrid().with_parameters(n_vgcc_R=0, n_vgcc_T=0, n_vgcc_L=0,
                                                       n_vgcc_T_inactivated=0))
    assert 0.1 <= with_vgcc.peak_um <= 0.5, with_vgcc.peak_um
    combined_se = math.hypot(with_vgcc.peak_se_um, without.peak_se_um)
    assert with_vgcc.peak_um - without.peak_um > 3 * combined_se
