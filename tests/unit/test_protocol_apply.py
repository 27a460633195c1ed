"""Protocols applied by simulate(): voltage clamps and pharmacology (what this version runs)."""

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


def test_what_this_version_cannot_run_is_refused():
    model = ss.Model.from_dict(CHANNEL)
    with pytest.raises(ss.ModelError, match="no input of the model has a release rule"):
        ss.simulate(model, 1.0, 2, seed=1, protocol=ss.protocols.train(10, 5))
    with pytest.raises(ValueError, match="postsynaptic"):
        ss.simulate(model, 1.0, 2, seed=1, protocol=ss.protocols.stdp(delta_t_ms=10, pairs=2))
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
