"""Protocols applied by simulate(): voltage clamps, spikes, dendritic depolarisation and
pharmacology, with and without the membrane equation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.ensemble import apply_protocol

CHANNEL = {
    "model": {"name": "mg_channel"},
    "parameters": {"Mg_out": "1 mM"},
    "inputs": {"V": {"unit": "mV", "value": "-70 mV"}},
    "species": {"O": 10, "B": 0},
    "reactions": [
        {"name": "block", "equation": "O -> B",
         "rate": {"kind": "voltage", "k0": "0.61 /ms * Mg_out / (1 mM)", "v_scale": "-17 mV"}},
        {"name": "unblock", "equation": "B -> O",
         "rate": {"kind": "voltage", "k0": "5.4 /ms", "v_scale": "47 mV"}},
    ],
}


def test_a_clamp_becomes_the_voltage_input():
    model = apply_protocol(ss.Model.from_dict(CHANNEL),
                           ss.protocols.voltage_step(hold_mv=-60, step_mv=40, step_at_s=0.01))
    v = model.inputs[0]
    np.testing.assert_allclose(v([0.0, 0.005, 0.01, 0.5]), [-60, -60, 40, 40], atol=1e-12)
    assert model.hash != ss.Model.from_dict(CHANNEL).hash


def test_clamped_channel_relaxes_to_the_block_equilibrium_of_each_voltage():
    """Under a clamp step the blocked fraction follows k_b/(k_b+k_u) of the new voltage."""
    protocol = ss.protocols.voltage_step(hold_mv=-80, step_mv=0, step_at_s=0.05)
    ens = ss.simulate(ss.Model.from_dict(CHANNEL), 0.1, 4000, seed=7,
                      sample_times=[0.049, 0.099], protocol=protocol)
    for k, v in enumerate((-80.0, 0.0)):
        kb = 0.61e3 * math.exp(-v / 17)
        ku = 5.4e3 * math.exp(v / 47)
        p = kb / (kb + ku)
        blocked = ens.values("B")[:, k]
        z = (blocked.mean() - 10 * p) / math.sqrt(10 * p * (1 - p) / len(blocked))
        assert abs(z) < 4, (v, blocked.mean(), 10 * p)
    assert ens.provenance["protocol"]["name"].startswith("voltage_step")


def test_magnesium_free_solution_removes_the_block():
    protocol = ss.protocols.combine(ss.protocols.voltage_clamp([(0.0, -80.0)]),
                                    ss.protocols.mg_free(start_s=0.02))
    ens = ss.simulate(ss.Model.from_dict(CHANNEL), 0.1, 200, seed=7,
                      sample_times=[0.019, 0.1], protocol=protocol)
    assert ens.values("B")[:, 0].mean() > 5          # blocked at -80 mV in 1 mM Mg
    # after the wash-out nothing blocks again; the old blocks unblock within ~1 ms
    assert ens.values("B")[:, 1].max() == 0


def test_without_a_membrane_what_needs_one_is_refused():
    model = ss.Model.from_dict(CHANNEL)
    with pytest.raises(ss.ModelError, match="no input of the model has a release rule"):
        ss.simulate(model, 1.0, 2, seed=1, protocol=ss.protocols.train(10, 5))
    with pytest.raises(ValueError, match="postsynaptic.*no \\[membrane\\]"):
        ss.simulate(model, 1.0, 2, seed=1, protocol=ss.protocols.stdp(delta_t_ms=10, pairs=2))
    with pytest.raises(ValueError, match="releasing a voltage clamp"):
        apply_protocol(model, ss.protocols.voltage_clamp([(0.0, -60.0), (0.01, None)]))
    released = {**CHANNEL, "inputs": {**CHANNEL["inputs"], "glu": {
        "unit": "mM", "release": {"probability": 0.5, "peak": "1 mM", "tau": "1 ms"}}}}
    with pytest.raises(ValueError, match="depolarisation"):
        ss.simulate(ss.Model.from_dict(released), 1.0, 2, seed=1,
                    protocol=ss.protocols.hfs())


def test_a_clamp_needs_a_voltage_input():
    spec = {**CHANNEL, "inputs": {}, "reactions": [
        {"name": "block", "equation": "O -> B", "rate": "1 /s"}]}
    with pytest.raises(ss.ModelError, match="no input 'V'"):
        apply_protocol(ss.Model.from_dict(spec), ss.protocols.voltage_clamp([(0.0, -60.0)]))


def test_drug_on_a_parameter_the_model_lacks_is_refused():
    with pytest.raises(ss.ModelError, match="apv_fraction"):
        apply_protocol(ss.Model.from_dict(CHANNEL), ss.protocols.apv())


def test_cli_run_with_a_protocol(tmp_path):
    import json

    from stochsyn.cli import main
    path = tmp_path / "channel.toml"
    path.write_text('''[model]
name = "cli_channel"
[parameters]
Mg_out = "1 mM"
[inputs.V]
unit = "mV"
value = "-70 mV"
[species]
O = 10
B = 0
[[reactions]]
name = "block"
equation = "O -> B"
rate = { kind = "voltage", k0 = "0.61 /ms * Mg_out / (1 mM)", v_scale = "-17 mV" }
[[reactions]]
name = "unblock"
equation = "B -> O"
rate = { kind = "voltage", k0 = "5.4 /ms", v_scale = "47 mV" }
''')
    out = tmp_path / "res"
    assert main(["run", str(path), "--t-end", "0.05", "--trajectories", "20", "--seed", "3",
                 "--out", str(out), "--no-progress",
                 "--protocol", "voltage_step:hold_mv=-80,step_mv=20,step_at_s=0.02"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["provenance"]["protocol"]["name"].startswith("voltage_step")
    assert main(["run", str(path), "--t-end", "1", "--trajectories", "2", "--no-progress",
                 "--out", str(tmp_path / "x"), "--protocol", "hfs"]) == 2


# -- with the membrane equation -------------------------------------------------------------

#: The example without its VGCCs: their gates flicker at rest (events) and their current
#: lifts the head a little above the dendrite, and these tests check the protocols' own
#: waveforms in a head that follows the dendrite exactly, with no event between stops.
NO_VGCC = {"n_vgcc_R": 0, "n_vgcc_T": 0, "n_vgcc_L": 0, "n_vgcc_T_inactivated": 0}


def spine(**parameters):
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "reactions/examples/spine_electrophysiology.toml"
    return ss.load_model(path).with_parameters(**{**NO_VGCC, **parameters})


def test_samples_after_a_quiet_gap_still_see_the_pulses():
    """Samples are recorded lazily, at the next event or stop, and the engine drops a pulse
    component once it has expired (30 time constants), possibly while looking ahead past
    samples not yet recorded. With no event at all between a bAP and the next stop (the
    hybrid spine at rest; the exact one without its Ca²⁺ module's events) the samples
    still see the bAP's fast component, dropped only after them (it once went missing:
    V 0.5 ms after the bAP read −50.2 mV instead of −10.4 mV)."""
    protocol = ss.protocols.spikes(post_s=[0.01])
    times = [0.0, 0.0100001, 0.0105, 0.012, 0.02]
    expected = [-70.0] + [-70 + 67 * (0.7 * math.exp(-(t - 0.01) / 0.003)
                                       + 0.3 * math.exp(-(t - 0.01) / 0.04)) for t in times[1:]]
    quiet_exact = spine(glu_release_probability=0.0).with_continuous([]).with_parameters(
        ca_B_total="0 uM", ca_Bslow_total="0 uM", ca_pmca_density="0 molecule/um^2",
        ca_ncx_density="0 molecule/um^2", ca_neck_diffusion=0, ca_rest="0 uM")
    for model in (spine(glu_release_probability=0.0), quiet_exact):
        ens = ss.simulate(model, 0.2, 1, seed=5, sample_times=times, protocol=protocol)
        assert ens.n_events[0] == 0
        np.testing.assert_allclose(ens.values(ss.results.VOLTAGE_NAME)[0], expected,
                                   atol=0.02)


def test_stdp_baps_depolarise_the_head_at_the_post_spikes():
    protocol = ss.protocols.stdp(delta_t_ms=10, pairs=2, rate_hz=10)
    ens = ss.simulate(spine(glu_release_probability=0.0), 0.2, 2, seed=5,
                      sample_times=[0.0, 0.0099, 0.0105, 0.1105], protocol=protocol)
    v = ens.values(ss.results.VOLTAGE_NAME)
    np.testing.assert_allclose(v[:, :2], -70.0, atol=1e-9)      # rest until the first bAP
    # 0.5 ms after a bAP: V_d = -70 + 67 (0.7 e^-1/6 + 0.3 e^-1/80) ≈ -10.4 mV; the head
    # follows within microseconds (τ_m ≈ 1 µs)
    expected = -70 + 67 * (0.7 * math.exp(-0.5 / 3) + 0.3 * math.exp(-0.5 / 40))
    np.testing.assert_allclose(v[:, 2], expected, atol=0.05)
    assert ens.n_releases.sum() == 0


def test_postsynaptic_spikes_need_an_input_with_a_bap_rule():
    model = spine()
    spec = dict(model.spec)
    spec["inputs"] = {**spec["inputs"], "V_dend": {"unit": "mV", "value": "-70 mV"}}
    with pytest.raises(ss.ModelError, match="bap rule"):
        apply_protocol(ss.Model.from_dict(spec), ss.protocols.spikes(post_s=[0.01]))


def test_field_protocol_depolarises_the_dendrite_with_alpha_functions():
    protocol = ss.protocols.train(100, 3, depolarisation_mv=4.0, depolarisation_tau_ms=20)
    model = apply_protocol(spine(), protocol)
    dendrite = model.inputs[model.membrane.dendrite_input]
    alpha = [p for p in dendrite.pulses if p.trigger == "pre"]
    assert len(alpha) == 1 and alpha[0].shape == "alpha"
    assert alpha[0].amplitude == pytest.approx(4.0) and alpha[0].tau_s == pytest.approx(0.02)
    ens = ss.simulate(spine(glu_release_probability=0.0), 0.1, 1, seed=1,
                      sample_times=[0.02, 0.04], protocol=protocol)
    # three alpha functions at 0, 10, 20 ms, read at 20 and 40 ms (+ the head's tiny offset)
    def v_dend(t):
        return -70 + sum(4.0 * (t - s) / 0.02 * math.exp(1 - (t - s) / 0.02)
                         for s in (0.0, 0.01, 0.02) if t >= s)
    np.testing.assert_allclose(ens.values(ss.results.VOLTAGE_NAME)[0],
                               [v_dend(0.02), v_dend(0.04)], atol=0.02)


def test_clamp_release_hands_the_voltage_back_to_the_membrane():
    protocol = ss.protocols.voltage_clamp([(0.0, -20.0), (0.01, None)])
    model = apply_protocol(spine(), protocol)
    assert model.membrane.clamp_times_s == (0.0, 0.01)
    assert model.membrane.clamp_mv[0] == -20.0 and math.isnan(model.membrane.clamp_mv[1])
    ens = ss.simulate(spine(glu_release_probability=0.0), 0.02, 1, seed=1,
                      sample_times=[0.005, 0.0101, 0.015], protocol=protocol)
    v = ens.values(ss.results.VOLTAGE_NAME)[0]
    assert v[0] == -20.0
    np.testing.assert_allclose(v[1:], -70.0, atol=1e-6)    # back at rest within ~20 τ_m


def test_apv_removes_every_nmdar_opening_with_the_membrane_too():
    protocol = ss.protocols.combine(ss.protocols.hfs(pulses=20), ss.protocols.apv())
    ens = ss.simulate(spine(), 0.3, 4, seed=2, protocol=protocol, sample_times=[0.0, 0.3])
    openings = [j for j, name in enumerate(ens.reactions)
                if name.startswith("nmdar_open")]
    assert openings and ens.firings[:, openings].sum() == 0
    assert ens.n_releases.sum() > 0


def test_extracellular_calcium_scales_the_ghk_influx_of_the_spine_model():
    model = spine()
    influx = next(j for j, r in enumerate(model.reactions)
                  if r.name.startswith("nmda_ca_influx"))
    changed = apply_protocol(model, ss.protocols.extracellular_calcium(2.5, start_s=0.05))
    (iv,) = changed.interventions
    rates = dict(iv.set_rates)
    assert iv.time == 0.05
    assert rates[influx] == pytest.approx(1.25 * model.reactions[influx].rate, rel=1e-12)
