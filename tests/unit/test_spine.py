"""The default spine model reactions/spine.toml (docs/science.md §8.5): it loads, `stochsyn
info` shows its temperature table and which species are continuous, every conserved total
holds in every sample of a short HFS run in the hybrid mode, the fully exact mode runs,
and the synaptic weight starts at 1."""

from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.cli import main

SPINE = Path(__file__).resolve().parents[2] / "reactions" / "spine.toml"
SEED = 20261214
CAM_STATES = [f"CaM_C{c}N{n}" for n in range(3) for c in range(3)]
# continuous in the hybrid mode: the states that hold many molecules at rest (spine.toml)
ABUNDANT_CAM_STATES = ["CaM_C0N0", "CaM_C1N0", "CaM_C0N1"]


@pytest.fixture(scope="module")
def model():
    return ss.load_model(SPINE)


@pytest.fixture(scope="module")
def hfs_run(model):
    """The first 0.3 s of HFS (30 pulses at 100 Hz) and 0.2 s after, 1 trajectory (the
    totals below are exact invariants of every trajectory)."""
    return ss.simulate(model, 0.5, 1, seed=SEED, sample_every=0.01, record_events=True,
                       protocol=ss.protocols.hfs(pulses=30), n_threads=1)


def test_the_model_is_at_35_C_with_calcium_and_abundant_calmodulin_continuous(model):
    assert set(model.continuous_species) == {"Ca", "B", "CaB", "Bslow", "CaBslow", "PMCA",
                                             "CaPMCA", "NCX", "CaNCX", *ABUNDANT_CAM_STATES}
    assert {"NMDAR", "CaMKII", "AMPAR", "VGCC_R", "VGCC_T", "VGCC_L"} <= {
        getattr(a, "name", a) for a in model.agent_types}


def test_info_shows_the_temperature_table_and_the_roles(capsys):
    assert main(["info", str(SPINE)]) == 0
    out = capsys.readouterr().out
    assert "temperature: 35 °C" in out
    assert "modules/ampar_gating.toml                      23.0 °C   2.00   2.297" in out
    assert "modules/cam_two_lobe.toml                      25.0 °C   1.50   1.500" in out
    assert "CaM_C2N2: 0\n" in out and "Ca: 3   (continuous)" in out   # loaded CaM exact
    assert "PP1: 12\n" in out and "CaN: 96\n" in out      # enzymes exact
    assert "hybrid mode: 12 continuous species" in out


def test_every_conserved_total_holds_during_hfs(hfs_run):
    ens = hfs_run
    v = ens.values
    assert np.all(ens.status == 0)
    # glutamate was released, so the totals below are checked under activity: 30 pulses
    # at Pr = 0.3 release none with probability 0.7**30 = 2.3e-5 (a bound on 5 releases
    # would fail with probability 0.077 under another random stream)
    assert ens.n_releases.sum() >= 1
    exact_totals = {
        "NMDAR": sum(v(s) for s in ens.species if s.startswith("NMDAR(")),
        "AMPA gating": sum(v(f"AMPA_{s}") for s in ("C0", "C1", "C2", "D1", "D2", "O")),
        "CaMKII subunits": sum(v(s) for s in ens.species if s.startswith("CaMKII(")),
        "PP1": v("PP1") + v("PP1_I1P") + v("camkii_pp1_complex"),
        "I1": v("I1") + v("I1P") + v("PP1_I1P"),
        "CaN": v("CaN") + v("CaN_CaM"),
        "PKA": v("PKA") + v("PKA_active"),
        "slots": v("SLOT") + v("SLOT_p") + v("ampar_trapped"),
        "GluN2B": v("GluN2B") + v("camkii_glun2b_subunits") / 12,
    }
    expected = {"NMDAR": 12, "AMPA gating": 50, "CaMKII subunits": 240, "PP1": 12, "I1": 60,
                "CaN": 96, "PKA": 60, "slots": 100, "GluN2B": 14}
    for name, total in exact_totals.items():
        assert np.all(total == expected[name]), name
    # continuous totals (ODE with conservation laws; CaM also jumps at CaMKII/CaN events)
    # Total CaM (continuous abundant states + exact Ca2+-loaded states + held by CaMKII
    # and CaN) is conserved to float rounding: a discrete reaction that takes more of a
    # continuous species than it holds leaves a deficit (below one molecule) that the rate
    # equations repay from the same moiety (stochsyn/engine/continuous.py "Deficits"); the
    # clamp at 0 it replaces created calmodulin (docs/science.md §8.5).
    assert np.all(ens.continuous_deficit < 1)
    cam = (sum(v(s) for s in CAM_STATES) + v("camkii_cam_bound") + v("CaN_CaM"))
    assert np.abs(cam - cam[:, :1]).max() <= 1e-6 and cam[0, 0] == 1807
    for free, bound in (("B", "CaB"), ("Bslow", "CaBslow"), ("PMCA", "CaPMCA"),
                        ("NCX", "CaNCX")):
        total = v(free) + v(bound)
        assert np.abs(total - total[:, :1]).max() <= 1e-6, free
    assert v("ca_free_uM").max() > 0.5                   # the train raised Ca2+


def test_calmodulin_all_continuous_is_conserved_through_deficits(model):
    """With all nine CaM states continuous, CaMKII binding takes whole molecules from
    Ca2+-loaded states holding ~0.3 (C2N0): each such jump leaves a deficit (up to one
    molecule) that the rate equations repay, and total CaM stays 1807 to float rounding
    (the clamp at 0 it replaces created 1807 -> 2189 in 600 s: docs/science.md §8.5)."""
    all_cam = model.with_continuous([*model.continuous_species,
                                     *(s for s in CAM_STATES if s not in ABUNDANT_CAM_STATES)])
    assert set(CAM_STATES) <= set(all_cam.continuous_species)
    ens = ss.simulate(all_cam, 20.0, 1, seed=SEED, sample_every=0.5, n_threads=1)
    assert ens.status[0] == 0
    assert 0.1 < ens.continuous_deficit[0] < 1                  # a pool was overdrawn
    cam = ens.values("cam_total_count")
    assert np.abs(cam - 1807).max() <= 1e-6


def test_the_weight_starts_at_one(hfs_run):
    w = ss.trafficking.weight(hfs_run)
    np.testing.assert_array_equal(w[:, 0], 1.0)
    assert np.all(np.isfinite(w))


def test_the_exact_mode_runs(model):
    exact = model.with_continuous([])
    assert len(exact.continuous) == 0
    ens = ss.simulate(exact, 0.02, 1, seed=SEED, sample_every=0.005, n_threads=1,
                      protocol=ss.protocols.hfs(pulses=2))
    assert ens.status[0] == 0 and ens.n_events[0] > 1000     # every ion an event
    cam = ens.values("cam_total_count")
    assert np.all(cam == cam[:, :1])


def test_the_cli_exact_flag_runs_the_spine(tmp_path):
    assert main(["run", str(SPINE), "--exact", "--t-end", "0.01", "--trajectories", "1",
                 "--seed", "1", "--threads", "1", "--quiet",
                 "--out", str(tmp_path / "exact")]) == 0


def test_the_resting_spine_is_at_rest(model):
    """docs/science.md §8.5 "A resting spine at rest", at a short horizon: 200 s without
    stimulus from the declared start, 1 trajectory (the bounds hold per trajectory),
    sampled every 10 s. Before the
    calibration of the resting rates (spine.toml [parameters]) PP1 was all held by I1P
    within ~60 s and pT286 reached ~0.5 of the 240 subunits by 200 s; the hybrid mode
    clamped ~0.7 CaM molecules/s into existence. Bounds: pT286 a few % at most
    (docs/science.md §6: a few % at rest) at every sample; calcineurin mostly inactive
    (CaN.CaM <= 2 of 96 at every sample); free PP1 partly free (its time average >= 3 of
    12; at steady state ~half is expected: the K_I / free-I1P balance of spine.toml);
    every deficit below one molecule and total calmodulin conserved."""
    ens = ss.simulate(model, 200.0, 1, seed=SEED, sample_every=10.0, n_threads=1)
    v = ens.values
    assert np.all(ens.status == 0)
    assert np.all(ens.continuous_deficit < 1)
    cam = v("cam_total_count")
    assert np.abs(cam - 1807).max() <= 1e-6
    assert v("camkii_pt286").max() / 240 < 0.05
    assert v("CaN_CaM").max() <= 2
    assert np.all(v("PP1").mean(axis=1) >= 3)
