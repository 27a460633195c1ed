"""docs/science.md §9 V5–V6 with reactions/examples/spine_electrophysiology.toml
(stochsyn.validation.calcium_transients; analysis/calcium.py draws them).

V5 and V6a are slow statistical tests with frozen seeds; the bounds are the targets' ranges,
widened by nothing. V5 compares an estimate with a range bound, so the estimate must be
resolved: N_V5 trajectories give a jackknife SE of the peak near 5 % of it (≈ 0.06 µM), well
under a tenth of the range's width, which the test asserts. (With the 24 trajectories of the
pairing runs the SE was 13 %, and the frozen seed's 1.55 ± 0.20 µM, a +1.8 SE fluctuation
about the ≈ 1.2 µM that 400 trajectories at another seed give, sat above the 1.5 µM bound; an
earlier version recorded that as a strict xfail.) The V5 runs share the seed of the pairing
runs' "pre" case, so their first N trajectories are those same trajectories.

V6b (a 1 s tetanus, ≈ 5·10⁶ events per trajectory in the exact mode) takes about 1 s per
trajectory since thinning (35 s before, when analysis/calcium.py alone measured it): 16
trajectories at analysis/calcium.py's seed.
"""

from __future__ import annotations

import math

import pytest

import stochsyn as ss
from stochsyn.validation import calcium_transients as ct

SEED = 20261122
N = 24
#: V5 trajectories: fixed by the resolution the range comparison needs (see above).
N_V5 = 160


def test_ghk_flux_constant_matches_its_derivation():
    """nmda_ca_flux_0mV is written as a number (model expressions have no exp()); recompute
    it from the linear 10 % rule at -65 mV and the GHK shape, as the model header derives."""
    model = ct.exact()
    e, r, f = 1.602176634e-19, 8.314462618, 96485.33212
    v_t = 1e3 * r * 308.15 / f
    u = 2 * -65.0 / v_t
    linear = 0.1 * 50e-12 * 65e-3 / (2 * e)
    expected = linear / (u / math.expm1(u))
    influx = next(x for x in model.reactions if x.name.startswith("nmda_ca_influx"))
    assert influx.kind == "ghk"
    assert influx.rate == pytest.approx(expected, rel=2e-4)
    assert influx.v_scale_mv == pytest.approx(v_t / 2, rel=1e-9)


@pytest.fixture(scope="module")
def pair_runs():
    return ct.pairing(N, SEED)


@pytest.fixture(scope="module")
def single_epsp_run():
    return ct.single_epsp(N_V5, SEED)


@pytest.mark.slow
def test_v5_single_epsp_peak_is_in_range_and_resolved(single_epsp_run):
    pre = single_epsp_run
    resolution_um = 0.1 * (1.5 - 0.2)
    assert 0 < pre.peak_se_um < resolution_um, (
        f"V5 estimate not resolved: SE {pre.peak_se_um:.3f} µM")
    assert 0.2 <= pre.peak_um <= 1.5, (
        f"V5: peak {pre.peak_um:.3f} ± {pre.peak_se_um:.3f} µM above rest")


@pytest.mark.slow
def test_v6_pairing_is_supralinear(pair_runs):
    pre, post, pair = pair_runs["pre"], pair_runs["post"], pair_runs["pair"]
    ratio = pair.peak_um / (pre.peak_um + post.peak_um)
    assert ratio >= 1.5, f"V6: pairing/sum = {ratio:.2f}"
    # the bAP reaches the head: 0.5 ms after it (the first sample after the spike) the head
    # is at the dendrite's -70 + 67 (0.7 e^(-0.5/3) + 0.3 e^(-0.5/40)) mV, or a little
    # above it: the open VGCCs (reactions/modules/vgcc.toml) pass an inward current, at
    # most 9 x 27 pS x (10 mV - V) ≈ 5 pA at -10 mV, 1.5 mV through the 300 MΩ neck
    expected = -70 + 67 * (0.7 * math.exp(-0.5 / 3) + 0.3 * math.exp(-0.5 / 40))
    assert expected - 0.1 <= post.voltage_peak_mv <= expected + 1.5


N_TETANUS = 16


@pytest.mark.slow
def test_v6_tetanus_holds_free_calcium_above_3_um():
    """V6b: 100 Hz × 1 s with the cooperative depolarisation, at the model's Pr (0.3): the
    mean free Ca²⁺ over the train's second half (calcium_transients.plateau_um) is ≥ 3 µM
    above rest, resolved (SE over trajectories below a tenth of it)."""
    ens = ct.ensemble(ss.protocols.hfs(start_s=ct.T_SPIKE_S,
                                       depolarisation_mv=ct.TETANUS_DEPOLARISATION_MV),
                      t_end_s=1.2, n_trajectories=N_TETANUS, seed=SEED + 10,
                      release_probability=None)
    plateau = ct.plateau_um(ct.transient(ens))
    free = ens.values("Ca") / ct.IONS_PER_UM
    inside = (ens.times >= ct.T_SPIKE_S + 0.5) & (ens.times <= ct.T_SPIKE_S + 0.99)
    rest = free[:, ens.times < ct.T_SPIKE_S].mean()
    per_trajectory = free[:, inside].mean(axis=1) - rest
    se = per_trajectory.std(ddof=1) / math.sqrt(N_TETANUS)
    assert plateau == pytest.approx(per_trajectory.mean())
    assert se < 0.1 * plateau, (plateau, se)
    assert plateau >= 3.0, f"V6: tetanus plateau {plateau:.2f} ± {se:.2f} µM"
