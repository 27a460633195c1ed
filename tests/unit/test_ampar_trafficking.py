"""Exact limits of the AMPA-receptor trafficking module (reactions/modules/ampar_trafficking*.toml):
zero rates freeze what they should, receptors and slots are conserved, and every insertion
and endocytosis is an event record whose receptor ids replay the sampled pools."""

from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss

MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"
STANDALONE = MODULES / "ampar_trafficking.toml"

TRAFFICKING_RATES = dict(k_exo="0 /s", k_endo="0 /s", k_in="0 /s", k_out="0 /s",
                         k_trap="0 /s", k_untrap="0 /s", k_ampar_degradation="0 /s")
NO_ENZYMES = dict(camkii_psd_active=0, pka_active=0, can_active=0, pp1_free=0)
LOCATIONS = ("endo", "extra", "psd", "trapped")


@pytest.fixture(scope="module")
def model():
    return ss.load_model(STANDALONE)


def _run(model, t_end=600.0, n=4, seed=3, **kw):
    return ss.simulate(model, t_end=t_end, n_trajectories=n, seed=seed, sample_every=60.0,
                       progress=False, **kw)


def test_the_module_loads_standalone_with_the_resting_pools(model):
    ens = _run(model, t_end=0.0, n=1)
    assert ens.values("ampar_psd")[0, 0] == 50
    assert ens.values("ampar_extra")[0, 0] == 20
    assert ens.values("ampar_endo")[0, 0] == 50
    assert ens.values("slots_phosphorylated")[0, 0] == 50
    assert ens.values("SLOT")[0, 0] + ens.values("slots_phosphorylated")[0, 0] == 100


def test_all_rates_zero_freezes_every_receptor_and_slot(model):
    frozen = model.with_parameters(**TRAFFICKING_RATES, **NO_ENZYMES)
    ens = _run(frozen, record_events=True)
    assert len(ens.events()) == 0
    assert (ens.counts == ens.counts[:, :1, :]).all()


def test_without_enzymes_phospho_states_never_change_while_receptors_move(model):
    ens = _run(model.with_parameters(**NO_ENZYMES), t_end=1200.0)
    for name in ("ampar_ps831", "ampar_ps845", "slots_phosphorylated"):
        # slots_phosphorylated counts occupied and free phospho-slots: with no kinase and no
        # phosphatase, trapping and release only move a slot between those two
        values = ens.values(name)
        assert (values == values[:, :1]).all(), name
    # ... while the receptors do move
    assert (ens.values("ampar_extra") != 20).any()


def test_without_trafficking_only_phosphorylation_changes(model):
    ens = _run(model.with_parameters(**TRAFFICKING_RATES), t_end=1200.0)
    for loc in LOCATIONS:
        values = ens.values(f"ampar_{loc}" if loc != "psd" else "ampar_psd_free")
        assert (values == values[:, :1]).all(), loc
    assert (ens.values("ampar_ps845") != ens.values("ampar_ps845")[:, :1]).any()


@pytest.mark.parametrize("activities", [NO_ENZYMES,
                                        dict(camkii_psd_active=240, pka_active=60,
                                             can_active=96, pp1_free=0)])
def test_receptors_and_slots_are_conserved_without_turnover(model, activities):
    m = model.with_parameters(k_ampar_degradation="0 /s", **activities)
    ens = _run(m, t_end=1800.0)
    total = ens.values("ampar_total")
    assert (total == 120).all()
    slots = ens.values("SLOT") + ens.values("slots_phosphorylated")
    assert (slots == 100).all()
    assert (ens.values("ampar_trapped") <= ens.values("slots_phosphorylated")).all()


def test_full_kinase_and_no_phosphatase_phosphorylates_every_slot_and_surface_receptor(model):
    m = model.with_parameters(camkii_psd_active=240, pka_active=60, can_active=0, pp1_free=0,
                              k_ampar_degradation="0 /s")
    ens = _run(m, t_end=3600.0, n=2)
    assert (ens.values("slots_phosphorylated")[:, -1] == 100).all()
    assert (ens.values("ampar_ps845")[:, -1] == 120).all()
    # S831 is reached on surface receptors only: the endosomal ones keep what they had
    assert (ens.values("ampar_psd_ps831")[:, -1] == ens.values("ampar_psd")[:, -1]).all()


def test_every_insertion_and_endocytosis_is_logged_with_the_receptor_id(model):
    m = model.with_parameters(k_ampar_degradation="0 /s")
    ens = _run(m, t_end=3600.0, n=3, record_events=True)
    events = ens.events()
    rules = set(events["rule"].astype(str))
    assert rules <= {"exocytosis", "exocytosis_pS845", "exocytosis_camkii", "endocytosis",
                     "endocytosis_pS845", "endocytosis_can"}
    assert {"exocytosis", "endocytosis"} <= rules
    assert (events["agent_type"].astype(str) == "AMPAR").all()
    inserted = events["rule"].astype(str).str.startswith("exocytosis").to_numpy()
    before = events["state_before"].astype(str)
    after = events["state_after"].astype(str)
    assert before[inserted].str.contains("loc=endo").all()
    assert after[inserted].str.contains("loc=extra").all()
    assert before[~inserted].str.contains("loc=extra").all()
    assert after[~inserted].str.contains("loc=endo").all()
    # Replay: the endosomal pool at each sample = initial - insertions + endocytoses so far,
    # and each receptor alternates between insertion and endocytosis.
    endo = ens.values("ampar_endo")
    for trajectory in range(ens.n_trajectories):
        mine = events[events["trajectory"] == trajectory]
        step = np.where(mine["rule"].astype(str).str.startswith("exocytosis"), -1, 1)
        for k, t in enumerate(ens.times):
            assert endo[trajectory, k] == 50 + step[mine["time"].to_numpy() <= t].sum()
        for _, one in mine.groupby("agent"):
            kinds = one["rule"].astype(str).str.startswith("exocytosis").to_numpy()
            assert (kinds[1:] != kinds[:-1]).all()


def _coupled_model():
    return ss.Model.from_dict({
        "model": {"name": "coupled", "volume": "0.1 fL", "include": [
            str(MODULES / name) for name in (
                "cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
                "calcineurin_cam.toml", "ampar_trafficking_decoding.toml")]},
        "inputs": {"Ca_clamp": {"unit": "uM", "value": "0.05 uM"}},
        "species": {"Ca": {"clamp": "Ca_clamp"}}})


def test_coupled_rules_read_the_decoding_modules_enzymes():
    model = _coupled_model()
    by_name = {r.name: r for r in model.reactions}
    slot = by_name["slot_phosphorylation"]
    camkii = next(a for a in model.agent_types if a.name == "CaMKII")
    base = model.agent_state_base["CaMKII"]
    active = {base + k for k, state in enumerate(camkii.states)
              if "cam=none" not in camkii.state_label(state)
              or "t286=p" in camkii.state_label(state)}
    assert {s for s, _ in slot.modifier} == active
    assert [model.species[s] for s, _ in by_name["slot_dephosphorylation"].modifier] == ["PP1"]
    assert model.parameters["camkii_psd_total"] == 240
    assert round(model.parameters["can_total"]) == 96
    assert round(model.parameters["pp1_total"]) == 12
    ens = ss.simulate(model, t_end=2.0, n_trajectories=1, seed=5, sample_every=1.0,
                      progress=False)
    assert (ens.values("ampar_total") == 120).all()
    assert (ens.values("SLOT") + ens.values("slots_phosphorylated") == 100).all()


def test_summary_counts_the_logged_insertions_and_endocytoses(model):
    # turnover off: synthesis and degradation (logged too) would also move the endosomal pool
    ens = _run(model.with_parameters(k_ampar_degradation="0 /s"), t_end=1200.0, n=3, seed=8,
               record_events=True)
    table = ss.trafficking.summarize(ens, readout_time=600.0)
    events = ens.events()
    early = events[events["time"] <= 600.0]
    for row in table.itertuples():
        mine = early[early["trajectory"] == row.trajectory]["rule"].astype(str)
        assert row.insertions == mine.str.startswith("exocytosis").sum()
        assert row.endocytoses == mine.str.startswith("endocytosis").sum()
        # the endosomal pool moved by exactly the net number of events
        assert row.ampar_endo == 50 - row.insertions + row.endocytoses
    weight = ss.trafficking.weight(ens)
    assert (weight[:, 0] == 1).all()
    k = list(ens.times).index(600.0)
    np.testing.assert_allclose(table["weight"], ens.values("ampar_psd_conductance")[:, k]
                               / ens.values("ampar_psd_conductance")[:, 0])
    with pytest.raises(ValueError, match="read-out time 5000 s is outside the run"):
        ss.trafficking.summarize(ens, readout_time=5000.0)
    with pytest.raises(ValueError, match="no sample at the read-out time 90 s"):
        ss.trafficking.summarize(ens, readout_time=90.0)
    with pytest.raises(ValueError, match="record_events=True"):
        ss.trafficking.summarize(_run(model, t_end=60.0, n=1))


def test_a_receptor_history_is_continuous_and_ends_where_the_samples_say(model):
    logged = ss.trafficking.with_receptor_history(model)
    assert all(r.log for r in logged.reactions if "AMPAR" in r.name)
    ens = _run(logged, t_end=300.0, n=1, seed=9, record_events=True)
    events = ens.events()
    final = {loc: 0 for loc in LOCATIONS}
    for receptor, mine in events.groupby("agent"):
        mine = mine.sort_values("time", kind="stable")
        before = mine["state_before"].astype(str).to_numpy()
        after = mine["state_after"].astype(str).to_numpy()
        assert (before[1:] == after[:-1]).all()
        history = ss.trafficking.receptor_history(ens, 0, receptor)
        assert len(history) == len(mine) + 1 and history["rule"].iloc[0] == "start"
        final[history["loc"].iloc[-1]] += 1
    moved = events["agent"].nunique()
    assert sum(final.values()) == moved
    # receptors without an event kept their initial place: together they give the samples
    assert final["psd"] + final["trapped"] <= ens.values("ampar_psd")[0, -1] + (120 - moved)


def test_one_receptor_cycles_between_endosome_and_membrane_as_the_two_state_law(model):
    # One receptor, only basal exo- and endocytosis: P(endosomal at t) =
    # q + (1 - q) exp(-(k_exo + k_endo) t), q = k_endo / (k_exo + k_endo). Frozen seed,
    # binomial standard error, |Z| < 3 at each sample (DSMTS convention).
    import copy
    spec = copy.deepcopy(dict(model.spec))
    spec["agents"]["AMPAR"]["initial"] = [{"count": 1, "loc": "endo"}]
    spec["species"].update(SLOT=100, SLOT_p=0)
    one = ss.Model.from_dict(spec, source=model.source).with_parameters(
        k_exo="0.02 /s", k_endo="0.05 /s", k_in="0 /s", k_ampar_degradation="0 /s",
        **NO_ENZYMES)
    n = 4000
    ens = ss.simulate(one, t_end=60.0, n_trajectories=n, seed=20261216, sample_every=10.0,
                      progress=False)
    k_exo, k_endo = 0.02, 0.05
    q = k_endo / (k_exo + k_endo)
    p = q + (1 - q) * np.exp(-(k_exo + k_endo) * np.asarray(ens.times))
    observed = ens.values("ampar_endo").mean(axis=0)
    se = np.sqrt(p * (1 - p) / n)
    z = (observed[1:] - p[1:]) / se[1:]
    assert (np.abs(z) < 3).all(), z


# -- cluster stabilisation of trapped receptors (docs/trafficking.md, "Cluster stabilisation")

CLUSTER_ON = dict(untrap_cluster_share=1, untrap_cluster_K=50, untrap_cluster_n=8,
                  untrap_cluster_ref=45)


def _untrapping_hazard_per_receptor(model, trapped):
    """k_untrap * [(1 - s) + s g(T)/g(T_ref)] from the built reactions' constants (1/s)."""
    for r in model.reactions:
        if r.name.startswith("untrapping_cluster["):
            assert r.kind == "hill" and r.repress
            total_cluster = r.rate * r.half ** r.hill_n / (r.half ** r.hill_n + trapped ** r.hill_n)
        elif r.name.startswith("untrapping["):
            assert r.kind == "mass_action"
            total_plain = r.rate
    return total_plain + total_cluster


@pytest.mark.parametrize("parameters", [{}, CLUSTER_ON,
                                        dict(CLUSTER_ON, untrap_cluster_share=0.5)])
def test_cluster_untrapping_rates_are_as_declared(model, parameters):
    m = model.with_parameters(**parameters)
    s = parameters.get("untrap_cluster_share", 0)
    # at the reference count the dwell is 1/k_untrap whatever the cluster parameters ...
    assert _untrapping_hazard_per_receptor(m, 45) == pytest.approx(0.01, rel=1e-12)
    # ... and above it the cluster share is slowed by g(T)/g(45), g = 50^8/(50^8 + T^8)
    g = lambda t: 1.0 / (1.0 + (t / 50.0) ** 8)
    expected = 0.01 * ((1 - s) + s * g(90) / g(45))
    assert _untrapping_hazard_per_receptor(m, 90) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("trapped, t_s", [(45, 1.5), (90, 60.0)])
def test_cluster_untrapping_first_release_is_exponential_at_the_declared_hazard(
        model, trapped, t_s):
    # Only untrapping on (no trapping, hopping, trafficking or enzymes): the trapped count is
    # a pure death chain, and P(no release by t) = exp(-T0 k(T0) t) exactly, k(T0) the
    # declared per-receptor hazard. Without CaMKII and PP1 the slots a receptor leaves stay
    # phosphorylated: SLOT_p + trapped stays T0 (an occupied slot is never dephosphorylated).
    # Frozen seed, binomial standard error, |Z| < 3 (DSMTS convention).
    import copy
    spec = copy.deepcopy(dict(model.spec))
    spec["agents"]["AMPAR"]["initial"] = [{"count": trapped, "loc": "trapped"}]
    spec["species"].update(SLOT=100 - trapped, SLOT_p=0)
    rates = {k: v for k, v in TRAFFICKING_RATES.items() if k != "k_untrap"}
    m = ss.Model.from_dict(spec, source=model.source).with_parameters(
        **rates, **NO_ENZYMES, **CLUSTER_ON)
    n = 1000
    ens = ss.simulate(m, t_end=t_s, n_trajectories=n, seed=20261217, sample_every=t_s,
                      progress=False)
    hazard = trapped * _untrapping_hazard_per_receptor(m, trapped)
    p = np.exp(-hazard * t_s)
    assert 0.2 < p < 0.8                          # the test has power either way
    observed = (ens.values("ampar_trapped")[:, -1] == trapped).mean()
    z = (observed - p) / np.sqrt(p * (1 - p) / n)
    assert abs(z) < 3, (observed, p, z)
    phospho = ens.values("slots_phosphorylated")
    assert (phospho == trapped).all()
    assert (ens.values("SLOT") == 100 - trapped).all()


# -- slot self-recruitment (docs/trafficking.md, "Slot self-recruitment")

RECRUIT_ON = dict(k_slot_recruit="0.3 /s", slot_recruit_K=85, slot_recruit_n=24)


def test_slot_self_recruitment_is_off_in_the_module_and_as_declared_when_on(model):
    (off,) = [r for r in model.reactions if r.name == "slot_self_recruitment"]
    assert off.rate == 0.0
    (on,) = [r for r in model.with_parameters(**RECRUIT_ON).reactions
             if r.name == "slot_self_recruitment"]
    assert on.kind == "hill" and not on.repress
    assert (on.rate, on.half, on.hill_n) == (0.3, 85.0, 24.0)
    # the law reads every phosphorylated slot, free (SLOT_p) and occupied (trapped receptors)
    names = {model.species[i] for i, _ in on.modifier}
    assert "SLOT_p" in names and "SLOT" not in names
    assert len(names) == 1 + 4                   # SLOT_p + the four trapped AMPAR states


def test_slot_self_recruitment_without_enzymes_first_phosphorylation_is_exponential(model):
    # No CaMKII, no PP1, no receptor movement: only self-recruitment changes a slot, so
    # P(no SLOT -> SLOT_p by t) = exp(-SLOT * k * Q^n/(K^n + Q^n) * t) exactly, with the
    # phosphorylated count Q = 45 trapped + 45 free. Frozen seed, |Z| < 3.
    import copy
    spec = copy.deepcopy(dict(model.spec))
    spec["species"].update(SLOT=10, SLOT_p=45)   # + the 45 trapped of the initial pools
    m = ss.Model.from_dict(spec, source=model.source).with_parameters(
        **TRAFFICKING_RATES, **NO_ENZYMES, **RECRUIT_ON)
    t_s, n = 0.3, 1000
    ens = ss.simulate(m, t_end=t_s, n_trajectories=n, seed=20261218, sample_every=t_s,
                      progress=False)
    q = 90.0
    p = np.exp(-10 * 0.3 * q ** 24 / (85.0 ** 24 + q ** 24) * t_s)
    assert 0.2 < p < 0.8
    observed = (ens.values("SLOT")[:, -1] == 10).mean()
    z = (observed - p) / np.sqrt(p * (1 - p) / n)
    assert abs(z) < 3, (observed, p, z)
    # no dephosphorylation without PP1, occupied or free
    assert (np.diff(ens.values("slots_phosphorylated"), axis=1) >= 0).all()


# -- slot dephosphorylation downstream of calcineurin (docs/trafficking.md, "Calcineurin-gated
# slot dephosphorylation")

def test_calcineurin_slot_dephosphorylation_is_off_in_the_module_and_linear_when_on(model):
    (off,) = [r for r in model.reactions if r.name == "slot_dephosphorylation_can"]
    assert off.rate == 0.0
    (on,) = [r for r in model.with_parameters(k_slot_dp_can="0.1 /s").reactions
             if r.name == "slot_dephosphorylation_can"]
    assert on.kind == "hill" and not on.repress and on.hill_n == 1.0
    # k * E/(K + E) with K = 1e6 molecules: 0.1 /s * E/can_total to within E/K
    assert on.half == 1e6
    assert on.rate == pytest.approx(0.1 * 1e6 / model.parameters["can_total"], rel=1e-12)
    assert [model.species[i] for i, _ in on.modifier] == ["CaN_active"]


def test_calcineurin_alone_dephosphorylates_free_slots_only_at_the_declared_rate(model):
    # Only calcineurin active (half of 96) and no receptor movement: a free phospho-slot
    # is dephosphorylated at 0.1 /s * 48/96 (+ 0 from PP1), occupied ones never. The count
    # of the 5 free SLOT_p left at t is Binomial(5, exp(-0.05 t)) exactly (E/K = 5e-5 is
    # the Hill law's only departure); the mean over 400 synapses, frozen seed, |Z| < 3.
    m = model.with_parameters(**TRAFFICKING_RATES, **{**NO_ENZYMES, "can_active": 48},
                              k_slot_dp_can="0.1 /s", k_845_can="0 /s")
    t_s, n = 10.0, 400
    ens = ss.simulate(m, t_end=t_s, n_trajectories=n, seed=20261219, sample_every=t_s,
                      progress=False)
    p = np.exp(-0.1 * 48 / 96 * t_s)
    left = ens.values("SLOT_p")[:, -1]
    z = (left.mean() - 5 * p) / np.sqrt(5 * p * (1 - p) / n)
    assert abs(z) < 3, (left.mean(), 5 * p, z)
    assert (ens.values("ampar_trapped") == 45).all()
