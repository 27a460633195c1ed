"""V22 for the decoding modules: conservation, detailed balance, SSA mean against the ODE.

1. Conservation, exact, in every sample of every trajectory: total calmodulin (free, on
   CaMKII subunits, on calcineurin), CaMKII subunits, PP1 (free, on I1P, on pT286), I1 (I1,
   I1P, PP1.I1P), calcineurin and GluN2B (free + one per anchored holoenzyme), on the whole
   decoding stack driven by a stepped Ca2+ clamp with turnover sped up to 1/(20 s) so that
   complex rules fire often.
2. Detailed balance of the MWC calmodulin (Stefan et al. 2008), exact: every elementary
   cycle T(S) -> T(S+i) -> R(S+i) -> R(S) -> T(S) of the built model's stochastic
   constants has product 1 to 1e-12 (the model reader's own check is tested in
   tests/unit/test_balance.py).
3. SSA mean of the two-lobe CaM module against the mass-action ODE. Under a Ca2+ clamp every
   CaM molecule is an independent linear (first-order) process, so the ensemble mean equals
   the ODE exactly at every volume: |Z| < 3 at each sample and species at 0.1 and 0.5 fL.
   With Ca2+ as a finite species (5 uM Ca2+, 5 uM CaM, no clamp) binding is bimolecular and
   the SSA mean differs from the ODE by O(1/V); it is within 3 SE at 0.01 fL (30 ions, the
   bias below the standard error of 4000 trajectories) and at 0.5 fL. Each test compares
   5 species x 5 times at |Z| < 3. Frozen seed 20261209 (chosen before any result was seen).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import stochsyn as ss

from ..engine.test_continuous import rate_equations

SEED = 20261209
MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"


def stack(**extra) -> ss.Model:
    spec = {"model": {"name": "decoding_stack", "volume": "0.1 fL",
                      "include": [str(MODULES / m) for m in (
                          "cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
                          "calcineurin_cam.toml")]},
            "inputs": {"Ca_clamp": {"unit": "uM", "value": "0.1 uM",
                                    "steps": [{"time": "2 s", "value": "3 uM"},
                                              {"time": "4 s", "value": "0 uM"},
                                              {"time": "6 s", "value": "0.8 uM"},
                                              {"time": "9 s", "value": "0 uM"}]}},
            "species": {"Ca": {"clamp": "Ca_clamp"}}}
    spec.update(extra)
    return ss.Model.from_dict(spec)


def total(ens, keep) -> np.ndarray:
    return sum(ens.values(s) for s in ens.species if keep(s))


def test_totals_are_conserved_in_every_sample():
    model = stack(parameters={"camkii_turnover": "1/(20 s)", "n_camkii": 4,
                              "camkii_glun2b_koff": "0.5 /s", "camkii_glun2b_kon": "20 /uM/s"})
    ens = ss.simulate(model, 12.0, 8, seed=SEED, sample_every=0.05)
    assert np.all(ens.status == 0)
    cam = (total(ens, lambda s: s.startswith("CaM_")) + ens.values("camkii_cam_bound")
           + ens.values("CaN_CaM"))
    assert np.all(cam == model.x0[model.species_index("CaM_C0N0")])
    subunits = total(ens, lambda s: s.startswith("CaMKII("))
    assert np.all(subunits == 48)
    pp1 = ens.values("PP1") + ens.values("PP1_I1P") + ens.values("camkii_pp1_complex")
    assert np.all(pp1 == 12)
    i1 = ens.values("I1") + ens.values("I1P") + ens.values("PP1_I1P")
    assert np.all(i1 == 60)
    can = ens.values("CaN") + ens.values("CaN_CaM")
    assert np.all(can == model.x0[model.species_index("CaN")])
    anchored = ens.values("camkii_glun2b_subunits")
    assert np.all(anchored % 12 == 0)
    assert np.all(ens.values("GluN2B") + anchored / 12 == 14)
    # the run exercised what it claims to: phosphorylation, PP1, turnover, anchoring
    fired = {}
    for j, name in enumerate(ens.reactions):
        rule = name.split("[")[0]
        fired[rule] = fired.get(rule, 0) + int(ens.firings[:, j].sum())
    for rule in ("camkii_turnover", "camkii_glun2b_bind", "camkii_glun2b_release",
                 "pp1_camkii_dephosphorylate", "camkii_t286_by_cam", "can_cam_fwd",
                 "camkii_unbind_CaM4_trapped"):
        assert fired[rule] > 0, rule
    assert ens.values("camkii_pt286").max() > 20


def test_mwc_cycles_close_exactly():
    model = ss.Model.from_dict({"model": {"volume": "1 fL",
                                          "include": [str(MODULES / "cam_mwc.toml")]}})
    rate = {}
    for r in model.reactions:
        (_, frm, to), = r.agent_moves
        rate[(frm, to)] = r.rate
    label = {s: i for i, s in enumerate(model.species)}

    def state(conf, bound):
        sites = ",".join(f"{k}={'ca' if k in bound else 'empty'}" for k in "ABCD")
        return label[f"CaM(conf={conf},{sites},target=none)"]

    n_cycles = 0
    for n in range(16):
        bound = {k for b, k in enumerate("ABCD") if n >> b & 1}
        for site in set("ABCD") - bound:
            t0, t1 = state("T", bound), state("T", bound | {site})
            r0, r1 = state("R", bound), state("R", bound | {site})
            forward = rate[(t0, t1)] * rate[(t1, r1)] * rate[(r1, r0)] * rate[(r0, t0)]
            backward = rate[(t1, t0)] * rate[(r1, t1)] * rate[(r0, r1)] * rate[(t0, r0)]
            assert forward / backward == pytest.approx(1.0, rel=1e-12, abs=0)
            n_cycles += 1
    assert n_cycles == 32


# ------------------------------------------------------------- SSA mean vs the ODE


def cam_model(volume_fl: float, clamp: bool) -> ss.Model:
    spec = {"model": {"name": "cam", "volume": f"{volume_fl} fL",
                      "include": [str(MODULES / "cam_two_lobe.toml")]},
            "parameters": {"cam_total": "5 uM"}}
    if clamp:
        spec["inputs"] = {"Ca_clamp": {"unit": "uM", "value": "0.5 uM",
                                       "steps": [{"time": "0.05 s", "value": "1.5 uM"}]}}
        spec["species"] = {"Ca": {"clamp": "Ca_clamp"}}
    else:
        spec["species"] = {"Ca": "5 uM"}
    return ss.Model.from_dict(spec)


TIMES = np.array([0.005, 0.02, 0.05, 0.07, 0.1])
WATCHED = ("CaM_C0N0", "CaM_C2N0", "CaM_C1N1", "CaM_C2N2", "Ca")


def z_scores(model, n, seed):
    ens = ss.simulate(model, TIMES[-1], n, seed=seed, sample_times=TIMES)
    ode = solve_ivp(rate_equations(model), (0, TIMES[-1]),
                    np.array(model.x0, dtype=float), t_eval=TIMES, method="LSODA",
                    rtol=1e-10, atol=1e-10, max_step=0.002)
    out = {}
    for name in WATCHED:
        values = ens.values(name)
        if np.all(values == values[0, 0]):
            continue                     # a clamped species: nothing to compare
        se = values.std(axis=0, ddof=1) / np.sqrt(n)
        expected = ode.y[model.species_index(name)]
        out[name] = ((values.mean(axis=0) - expected) / np.where(se > 0, se, np.inf),
                     (values.mean(axis=0) - expected) / max(expected.max(), 1.0))
    return out


@pytest.mark.parametrize("volume_fl", [0.1, 0.5])
def test_ssa_mean_equals_the_ode_under_a_clamp(volume_fl):
    scores = z_scores(cam_model(volume_fl, clamp=True), 300, SEED)
    for name, (z, _) in scores.items():
        assert np.all(np.abs(z) < 3), (name, z)


@pytest.mark.parametrize("volume_fl, n", [(0.01, 4000), (0.5, 300)])
def test_ssa_mean_matches_the_ode_with_finite_calcium(volume_fl, n):
    """Without a clamp the system is bimolecular (Ca2+ is used up): the SSA mean differs
    from the ODE by O(1/V). At 0.01 fL (30 Ca2+ ions, 30 CaM) that bias is already below the
    standard error of 4000 trajectories, and at 0.5 fL far below it."""
    for name, (z, _) in z_scores(cam_model(volume_fl, clamp=False), n, SEED).items():
        assert np.all(np.abs(z) < 3), (name, z)
