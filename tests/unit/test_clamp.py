"""Clamped species: a species held at a prescribed input (a Ca²⁺ clamp).

``Ca = { clamp = "Ca_in" }`` makes every mass-action reaction of order 1 in Ca an
input-driven one, ``a = c · x_Ca(t) · Π C``, with ``x_Ca(t)`` the input in molecules; no
reaction changes Ca. Checked here: the conversion of the constant, the refusals, and (exact
limit: B ⇌ CaB with Ca clamped is linear, each B on its own) the ensemble mean of CaB
after a step of the clamp against the closed-form solution, within 3 standard errors.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.model.units import AVOGADRO

SEED = 20261208
VOLUME_L = 0.1e-15
PER_UM = AVOGADRO * VOLUME_L * 1e-6      # molecules per µM in 0.1 fL
K_ON, K_OFF = 10.0, 10.0                 # /uM/s, /s

SPEC = {
    "model": {"name": "clamp", "volume": "0.1 fL"},
    "inputs": {"Ca_in": {"unit": "uM", "value": "0.5 uM",
                         "steps": [{"time": "0.2 s", "value": "1.5 uM"}]}},
    "species": {"Ca": {"clamp": "Ca_in"}, "B": 100, "CaB": 0},
    "reactions": [{"name": "bind", "equation": "Ca + B <-> CaB",
                   "rate": [f"{K_ON} /uM/s", f"{K_OFF} /s"]}],
}


def with_changes(**changes):
    spec = copy.deepcopy(SPEC)
    for key, value in changes.items():
        spec[key] = value
    return spec


def test_a_clamp_turns_the_binding_into_an_input_driven_reaction():
    model = ss.Model.from_dict(SPEC)
    fwd, rev = model.reactions
    assert fwd.kind == "input" and model.inputs[fwd.input].name == "Ca_in"
    assert fwd.rate == pytest.approx(K_ON, rel=1e-12)       # c per molecule × molecules/µM
    b, cab = model.species_index("B"), model.species_index("CaB")
    assert fwd.reactants == ((b, 1),) and fwd.products == ((cab, 1),)
    assert rev.kind == "mass_action" and rev.products == ((b, 1),)   # Ca is not released
    assert model.x0[model.species_index("Ca")] == round(0.5 * PER_UM)
    assert "clamped to the input Ca_in" in model.info()


def test_the_mean_follows_the_closed_form_after_a_step_of_the_clamp():
    """B + Ca ⇌ CaB with Ca clamped: each of the 100 B is an independent two-state
    process, so E[CaB](t) is exact: relaxation to 100·k_on·Ca/(k_on·Ca + k_off) at rate
    k_on·Ca + k_off, from 0 (Ca = 0.5 µM) and again after the step at 0.2 s (a step adds
    to the input's value: 0.5 + 1.5 = 2 µM)."""
    times = np.array([0.05, 0.1, 0.2, 0.25, 0.3, 0.5])
    ens = ss.simulate(ss.Model.from_dict(SPEC), 0.5, 2000, seed=SEED, sample_times=times)
    n_total = 100

    def relax(start, ca, dt):
        rate = K_ON * ca + K_OFF
        final = n_total * K_ON * ca / rate
        return final + (start - final) * math.exp(-rate * dt)

    at_step = relax(0.0, 0.5, 0.2)
    expected = [relax(0.0, 0.5, t) if t <= 0.2 else relax(at_step, 2.0, t - 0.2)
                for t in times]
    values = ens.values("CaB")
    mean, se = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(len(values))
    z = (mean - expected) / se
    assert np.all(np.abs(z) < 3), z
    assert np.all(ens.values("Ca") == round(0.5 * PER_UM))    # no reaction changes Ca


@pytest.mark.parametrize("change, message", [
    ({"reactions": [{"name": "pair", "equation": "2 Ca + B -> CaB", "rate": 1}]},
     "to order 2"),
    ({"reactions": [{"name": "hill", "equation": "B -> CaB",
                     "rate": {"kind": "hill", "k": 1, "of": "Ca", "K": 5, "n": 2}}]},
     "in its hill law"),
    ({"observables": {"free": "Ca + B"}}, "reads 'Ca', which is clamped"),
    ({"interventions": [{"time": 1, "set": {"Ca": 5}}]}, "clamped to the input 'Ca_in'"),
    ({"continuous": {"species": ["Ca"]}}, "cannot be continuous"),
    ({"species": {"Ca": {"clamp": "Ca_inn"}, "B": 1, "CaB": 0}}, "Did you mean 'Ca_in'"),
    ({"species": {"Ca": {"clamp": "Ca_in", "initial": 3}, "B": 1, "CaB": 0}},
     "no initial count"),
    ({"inputs": {"Ca_in": {"unit": "mV", "value": "1 mV"}}}, "concentration or an amount"),
    ({"inputs": {"Ca_in": {"unit": "uM", "value": "0.5 uM",
                           "sine": {"amplitude": "1 uM", "frequency": "1 Hz"}}}},
     "can reach -0.5"),
])
def test_refusals_name_the_item_and_the_fix(change, message):
    with pytest.raises(ss.ModelError, match=message) as info:
        ss.Model.from_dict(with_changes(**change))
    assert info.value.hint
