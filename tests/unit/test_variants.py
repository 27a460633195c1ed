"""Model variants (named mutations): declared by modules as [variants.NAME], applied with
Model.with_variant / stochsyn --variant / [model] variants; clear errors for unknown
variants, sites, values, reactions, and for a knock-in that leaves a way to the site."""

import copy
from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.cli import main

MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"
TRAFFICKING = MODULES / "ampar_trafficking.toml"
ALL_KINASES = dict(camkii_psd_active=240, pka_active=60, can_active=0, pp1_free=0)


@pytest.fixture(scope="module")
def model():
    return ss.load_model(TRAFFICKING)


def _final(model, name, t_end=1800.0):
    ens = ss.simulate(model, t_end=t_end, n_trajectories=2, seed=11, sample_every=t_end / 6,
                      progress=False)
    return ens.values(name)


def test_the_trafficking_module_declares_its_knock_ins(model):
    assert [name for name, _ in model.declared_variants] == ["S831A", "S845A"]
    assert model.variants == ()


@pytest.mark.parametrize("variant, site_name, untouched",
                         [("S831A", "ampar_ps831", "ampar_ps845"),
                          ("S845A", "ampar_ps845", "ampar_ps831")])
def test_a_knock_in_site_is_never_phosphorylated_even_with_every_kinase_active(
        model, variant, site_name, untouched):
    mutant = model.with_variant(variant).with_parameters(**ALL_KINASES)
    assert (_final(mutant, site_name) == 0).all()          # initial receptors moved to 'u'
    assert (_final(mutant, untouched)[:, -1] > 60).all()    # the other site still works
    wild = model.with_parameters(**ALL_KINASES)
    assert (_final(wild, site_name)[:, -1] > 60).all()


def test_a_combination_applies_both_and_is_kept_by_with_parameters(model):
    double = model.with_variant("S831A/S845A")
    assert double.variants == ("S831A", "S845A")
    assert double.hash != model.hash
    assert double.hash == model.with_variant("S831A", "S845A").hash
    assert double.hash == model.with_variant("S831A").with_variant("S845A").hash
    kept = double.with_parameters(k_exo="0.01 /s")
    assert kept.variants == ("S831A", "S845A")
    assert not any(r.name.startswith(("s831_camkii", "s845_pka")) for r in kept.reactions)
    assert len(kept.reactions) < len(model.reactions)
    mutant = double.with_parameters(**ALL_KINASES)
    assert (_final(mutant, "ampar_ps831") == 0).all()
    assert (_final(mutant, "ampar_ps845") == 0).all()


def test_a_model_file_can_list_its_variants(tmp_path):
    path = tmp_path / "mutant.toml"
    path.write_text(f'[model]\nname = "mutant"\ninclude = ["{TRAFFICKING.as_posix()}"]\n'
                    'variants = ["S845A"]\n')
    loaded = ss.load_model(path)
    assert loaded.variants == ("S845A",)
    assert "variants applied: S845A" in loaded.info()


def test_unknown_variant_names_the_declared_ones(model):
    with pytest.raises(ss.ModelError, match="unknown variant 'T286A'") as info:
        model.with_variant("T286A")
    assert "S831A, S845A" in str(info.value)
    with pytest.raises(ss.ModelError, match="unknown variant 'S832A'.*S831A"):
        model.with_variant("S832A")
    with pytest.raises(ss.ModelError, match="at least one"):
        model.with_variant()


@pytest.mark.parametrize("change, message", [
    ({"fix": {"AMPAR": {"s832": "u"}}}, "unknown site 's832' of AMPAR.*s831"),
    ({"fix": {"AMPA": {"s831": "u"}}}, "unknown agent type 'AMPA'.*AMPAR"),
    ({"fix": {"AMPAR": {"s831": "x"}}}, "s831 = 'x', not a value of that site"),
    ({"remove": ["s831_camkiii"]}, "unknown reaction 's831_camkiii'.*s831_camkii"),
    ({"parameters": {"k_exoo": 1}}, "unknown parameter 'k_exoo'.*k_exo"),
    ({"remove": []}, "fixes AMPAR s831 = 'u', but reaction 's831_camkii.*'remove'"),
    ({"fixes": {}}, "unknown key 'fixes'"),
])
def test_a_bad_variant_declaration_is_a_clear_error(model, change, message):
    spec = copy.deepcopy(dict(model.spec))
    spec["variants"]["S831A"].update(change)
    with pytest.raises(ss.ModelError, match=message):
        ss.Model.from_dict(spec).with_variant("S831A")


def test_variant_parameters_are_applied():
    spec = {"model": {"name": "v"}, "parameters": {"k": "1 /s"}, "species": {"X": 10},
            "reactions": [{"name": "decay", "equation": "X ->", "rate": "k"}],
            "variants": {"slow": {"parameters": {"k": "0 /s"}}}}
    slow = ss.Model.from_dict(spec).with_variant("slow")
    assert slow.reactions[0].rate == 0
    assert (_final(slow, "X", t_end=10.0) == 10).all()


def test_the_same_variant_in_two_modules_is_a_clash(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text(
            f'[species]\n{name.upper()} = 1\n[variants.KO]\nparameters = {{}}\n')
    top = tmp_path / "top.toml"
    top.write_text('[model]\nname = "t"\ninclude = ["a.toml", "b.toml"]\n')
    with pytest.raises(ss.ModelError, match=r"\[variants\] 'KO' is defined in two"):
        ss.load_model(top)


def test_t286a_leaves_no_autophosphorylation():
    model = ss.Model.from_dict({
        "model": {"name": "t286a", "volume": "0.1 fL", "include": [
            str(MODULES / "cam_two_lobe.toml"), str(MODULES / "camkii_holoenzyme.toml")]},
        "parameters": {"n_camkii": 2},
        "inputs": {"Ca_clamp": {"unit": "uM", "value": "10 uM"}},
        "species": {"Ca": {"clamp": "Ca_clamp"}}})
    mutant = model.with_variant("T286A")
    assert not any(r.name.startswith("camkii_t286") for r in mutant.reactions)
    assert any(r.name.startswith("camkii_t286") for r in model.reactions)
    pt286 = lambda m: ss.simulate(m, t_end=2.0, n_trajectories=2, seed=2, sample_every=0.5,
                                  progress=False).values("camkii_pt286")
    assert (pt286(mutant) == 0).all()
    assert (pt286(model)[:, -1] > 0).all()


def test_cli_variant(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(TRAFFICKING), "--variant", "S831A", "--t-end", "60",
                 "--trajectories", "2", "--seed", "4", "--out", str(out), "--no-progress"]) == 0
    back = ss.read(out)
    direct = ss.simulate(ss.load_model(TRAFFICKING).with_variant("S831A"), 60.0, 2, seed=4)
    np.testing.assert_array_equal(back.counts, direct.counts)
    capsys.readouterr()
    assert main(["info", str(TRAFFICKING), "--variant", "S845X"]) == 2
    err = capsys.readouterr().err
    assert "unknown variant 'S845X'" in err and "S845A" in err


def _delta_weight(model, activities, n=40, seed=20261217):
    """Mean and SE of Δweight after 10 min of a prescribed enzyme state
    (analysis/ampar_mutants.py, smaller)."""
    spec = copy.deepcopy(dict(model.spec))
    spec.setdefault("interventions", []).append({"time": 600.0, "set": activities})
    ens = ss.simulate(ss.Model.from_dict(spec, source=model.source), t_end=1200.0,
                      n_trajectories=n, seed=seed, sample_every=60.0, progress=False)
    w = ss.trafficking.weight(ens, baseline=(0.0, 540.0))[:, -1]
    return w.mean() - 1, w.std(ddof=1) / np.sqrt(n)


def test_the_double_knock_in_reduces_ltp_like_potentiation_but_keeps_ltd_like_depression(model):
    ltp = {"CaMKII_psd_active": 120, "PKA_active": 30, "PP1_free": 3}
    ltd = {"CaN_active": 48, "PP1_free": 12}
    double = model.with_variant("S831A/S845A")
    wild_ltp, wild_se = _delta_weight(model, ltp)
    double_ltp, double_se = _delta_weight(double, ltp)
    assert double_ltp > 3 * double_se                       # still potentiates ...
    assert wild_ltp - double_ltp > 3 * np.hypot(wild_se, double_se)   # ... but less
    for m in (model, double):                               # LTD-like: both depress
        change, se = _delta_weight(m, ltd)
        assert change < -3 * se
