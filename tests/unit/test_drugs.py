"""The V8 drugs on the default spine model: calcineurin block, PP1 block and a BAPTA-like
buffer (stochsyn.protocols.block_calcineurin, block_pp1, bapta), applied by simulate()."""

from __future__ import annotations

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.ensemble import apply_protocol
from stochsyn.validation import load_repository_model
from stochsyn.validation.plasticity import MODEL

P = ss.protocols


@pytest.fixture(scope="module")
def spine():
    return load_repository_model(MODEL)


def _set_rates(model, protocol):
    (intervention,) = apply_protocol(model, protocol).interventions
    names = [r.name for r in model.reactions]
    return intervention, {names[j]: c for j, c in intervention.set_rates}


def _rule(name: str) -> str:
    return name.split("[", 1)[0]


def test_calcineurin_block_zeroes_every_catalytic_action_of_calcineurin_and_nothing_else(
        spine):
    intervention, rates = _set_rates(spine, P.block_calcineurin(start_s=12.0))
    assert intervention.time == 12.0
    zeroed = {_rule(n) for n, c in rates.items() if c == 0.0}
    assert {"can_i1p", "endocytosis_can", "s845_can"} <= zeroed
    assert all(c == 0.0 for n, c in rates.items() if _rule(n) in zeroed)
    # CaM binding and the basal I1P dephosphorylation are not calcineurin's catalysis
    assert not zeroed & {"can_cam_fwd", "can_cam_rev", "can_basal", "pp1_camkii_dephosphorylate"}


def test_pp1_block_zeroes_pp1_binding_to_camkii_and_its_trafficking_dephosphorylations(spine):
    intervention, rates = _set_rates(spine, P.block_pp1(start_s=3.0))
    zeroed = {_rule(n) for n, c in rates.items() if c == 0.0}
    assert {"pp1_camkii_bind", "slot_dephosphorylation", "s831_pp1", "s845_pp1"} <= zeroed
    assert not zeroed & {"pp1_i1_fwd", "pp1_i1_rev", "can_i1p", "s845_can"}


def test_every_drug_parameter_is_declared_by_the_spine_model(spine):
    declared = set(spine.spec["parameters"])
    for name in (*P.CALCINEURIN_BLOCK_PARAMETERS, *P.PP1_BLOCK_PARAMETERS):
        assert name in declared, name
    reactions = {r.get("name") for r in spine.spec["reactions"]}
    assert set(P.PP1_BLOCK_RATES) <= reactions
    assert P.BUFFER_SPECIES in spine.species


def test_bapta_adds_one_millimolar_of_free_fast_buffer(spine):
    (intervention,) = apply_protocol(spine, P.bapta(mM=1.0)).interventions
    (species, count), = intervention.add_counts
    assert spine.species[species] == P.BUFFER_SPECIES
    assert count == pytest.approx(1e-3 * 0.1e-15 * 6.02214076e23, abs=1)   # 60,221 in 0.1 fL


def test_no_calcineurin_activity_reaches_i1p_under_the_block(spine):
    """Exact limit: with calcineurin blocked from 0 s, no can_i1p firing in a train."""
    protocol = P.combine(P.lfs(pulses=3), P.block_calcineurin())
    ens = ss.simulate(spine, 4.0, 1, seed=3, sample_every=1.0, protocol=protocol,
                      max_events=10 ** 8)
    fired = [j for j, name in enumerate(ens.reactions) if _rule(name) == "can_i1p"]
    assert fired and ens.firings[:, fired].sum() == 0


def test_bapta_damps_the_calcium_of_a_release(spine):
    """One presynaptic pulse (release probability 1): the sampled free Ca²⁺ with 1 mM of
    the added buffer stays below its value without (same seed, same release)."""
    model = spine.with_parameters(glu_release_probability=1.0)
    times = np.arange(0.0, 0.06, 0.002) + 1.0
    peaks = []
    for drugs in ((), (P.bapta(),)):
        protocol = P.combine(P.train(1.0, 1, start_s=1.0), *drugs)
        ens = ss.simulate(model, 1.06, 4, seed=5, sample_times=times, protocol=protocol,
                          max_events=10 ** 8)
        peaks.append(ens.values("Ca").max(axis=1).mean())
    assert peaks[1] < 0.5 * peaks[0]


@pytest.mark.parametrize("call, message", [
    (lambda: P.bapta(mM=0), "bapta\\(\\): mM"),
    (lambda: P.bapta(mM=-1), "bapta\\(\\): mM"),
    (lambda: P.block_pp1(start_s=-1), "block_pp1\\(\\): start_s"),
    (lambda: P.block_calcineurin(start_s=-1), "block_calcineurin\\(\\): start_s"),
])
def test_bad_drug_arguments_are_clear_errors(call, message):
    with pytest.raises(P.ProtocolError, match=message):
        call()


def test_a_drug_on_a_model_without_its_parameters_is_refused():
    model = ss.Model.from_dict({"model": {"name": "x"}, "species": {"A": 1},
                                "reactions": [{"name": "a", "equation": "A -> 0",
                                               "rate": 1.0}]})
    with pytest.raises(ss.ModelError, match="can_max|k_845_can|endo_factor_can"):
        apply_protocol(model, P.block_calcineurin())
    with pytest.raises(ss.ModelError, match="B"):
        apply_protocol(model, P.bapta())
