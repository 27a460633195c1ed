"""The decoding modules as built: counts, expansion, and the documented findings.

Finding pinned here (docs/decoding.md): the calmodulin-CaMKII rates of Pepke et al. (2010)
as used by Chang et al. (2019) do not close the thermodynamic cycle free CaM -> CaMKII-bound
CaM -> Ca2+ on bound CaM -> unbind -> Ca2+ off free CaM. Around the C-lobe cycle
(C0N0 -> C2N0) and the N-lobe cycle (C0N0 -> C0N2) the products of the equilibrium
constants are computed from the built models' stochastic constants and must be 1 for a
network without an energy source. With Pepke's own free-CaM rates they are 3.74 (C lobe),
0.471 (N lobe) and 1.22 (the full cycle to C2N2); with the Faas free-CaM rates (the
default module) 5.51, 2.68 and 10.2. So the holoenzyme module's binding rules are not
marked detailed_balance (its bound-Ca2+ steps are, and are checked).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import stochsyn as ss

MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"


def stack(*names, **parameters) -> ss.Model:
    spec = {"model": {"volume": "0.1 fL", "include": [str(MODULES / n) for n in names]}}
    if parameters:
        spec["parameters"] = parameters
    return ss.Model.from_dict(spec)


def test_counts_and_sizes():
    model = stack("cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
                  "calcineurin_cam.toml")
    x = dict(zip(model.species, model.x0))
    assert x["CaM_C0N0"] == 1807 and x["PP1"] == 12 and x["I1"] == 60 and x["CaN"] == 96
    (camkii,) = model.agent_types
    assert (camkii.ring_size, camkii.complex_size, sum(camkii.initial)) == (6, 12, 240)
    assert len(camkii.states) == 160
    # 499 since the trapped CaM of pT286 subunits exchanges no Ca2+ (Chang et al. 2019;
    # camkii_holoenzyme.toml): 12 Ca2+ rules x their pT286 expansions fewer
    assert 450 < len(model.reactions) < 550


def cycle_products(model):
    """Products of c_fwd/c_rev around the C-lobe, N-lobe and full cycles, unphosphorylated
    subunit, no PP1, not anchored."""
    rate = {r.rule: r.rate for r in model.reactions}

    def free(step):                 # a free-CaM step: K = c_on / c_off
        return rate[f"cam_{step}_fwd"] / rate[f"cam_{step}_rev"]

    def bound(a, b):                # a step on subunit-bound CaM
        return rate[f"camkii_ca_{a}_{b}_fwd"] / rate[f"camkii_ca_{a}_{b}_rev"]

    def binding(form):
        return rate[f"camkii_bind_{form}"] / rate[f"camkii_unbind_{form}"]

    # C0N0 + K -> K.C0N0 -> K.C1N0 -> K.C2N0 -> C2N0 + K -> C1N0 -> C0N0
    c_lobe = (binding("CaM0") * bound("C0N0", "C1N0") * bound("C1N0", "C2N0")
              / binding("CaM2C") / (free("C2_N0") * free("C1_N0")))
    n_lobe = (binding("CaM0") * bound("C0N0", "C0N1") * bound("C0N1", "C0N2")
              / binding("CaM2N") / (free("N2_C0") * free("N1_C0")))
    full = (binding("CaM0") * bound("C0N0", "C1N0") * bound("C1N0", "C2N0")
            * bound("C2N0", "C2N1") * bound("C2N1", "C2N2") / binding("CaM4")
            / (free("N2_C2") * free("N1_C2") * free("C2_N0") * free("C1_N0")))
    return c_lobe, n_lobe, full


@pytest.mark.parametrize("cam_module, expected", [
    ("cam_two_lobe_pepke.toml", (3.745, 0.4711, 1.219)),
    ("cam_two_lobe.toml", (5.507, 2.682, 10.21)),
])
def test_pepke_chang_rates_break_detailed_balance(cam_module, expected):
    products = cycle_products(stack(cam_module, "camkii_holoenzyme.toml"))
    assert products == pytest.approx(expected, rel=1e-3)
