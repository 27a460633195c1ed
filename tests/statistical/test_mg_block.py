"""docs/science.md §9 V1: steady-state Mg²⁺ block of open NMDA receptors under voltage clamp.

Models: the two receptor modules, ``reactions/modules/nmdar_vcr.toml`` (Option B, default:
Vargas-Caballero & Robinson 2004 block, Destexhe 1996 gating, trapping) and
``nmdar_kampa.toml`` (Option A: Kampa et al. 2004, 10 states). Each is clamped at
V ∈ {−80, −60, −40, −20, 0, +20} mV (input ``V`` set through ``Model.from_dict`` on the
module's dict) with glutamate held at 1 mM (constant input ``glu``), 15 receptors, all
unliganded and Mg-free at t = 0. Both inputs are constant, so the engine is exact.

(a) The fraction of time open receptors spend unblocked, f = time in (O, free) / time in
    (O, free) + (O, Mg-bound), is estimated after an equilibration (0.5 s VC&R, 1.5 s
    Kampa) from a sample grid (every 0.1 ms for 0.4 s, 100 trajectories, VC&R; every
    0.2 ms for 1.2 s, 400 trajectories, Kampa; the flicker correlation time
    1/(k_u + k_b) is 15–170 µs), as R = Σ a_i / Σ b_i over trajectories with its
    delta-method standard error across independent trajectories
    (:func:`stochsyn.validation.mg_block.ratio_estimate`). The reference is the exact
    stationary conditional of the per-receptor 10-state chain (numpy, from the sources'
    numbers, independent of the TOML files; receptors are independent):

    * VC&R: the state graph is a tree, so the reference *is* k_u/(k_u + k_b), the §2.2
      table (checked to 1e-12);
    * Kampa: the scheme is not detailed-balanced (cycle ratios 1.477, 0.791, 0.961, 1.406),
      and the exact value is 0.01–0.21 % (relative) below k_u/(k_u + k_b). The SSA is
      compared with the exact value; Z against k_u/(k_u + k_b) is printed too. The gap is
      at most about one SE of these runs (at −20 mV), so this test cannot tell the two
      references apart; it only shows the SSA agrees with the exact one.

    Acceptance. The issue asks for "within 2 s.e." at each point. Applied to all 12
    points at once, that rule rejects a correct simulator with probability
    1 − 0.9545¹² = 43 %. The bound stays 2 SE, but over the family, DSMTS-like: at most 2
    of the 12 estimates may lie 2–3.5 SE from their reference and none beyond 3.5 SE
    (false-alarm probability 2.0 % for normal Z, 2.5 % for t with 99 d.f.). The table
    printed by the test (``-s``) shows which points are within 2 SE.
    The finite-window expectation of the estimator (transient from the initial state
    included, by matrix exponentials) is within 0.1 SE of the stationary value at every
    point, so the equilibration is long enough.

(b) Every reaction is logged in the test copy. In every trajectory: the number of records
    of the unblock reactions equals their ``firings``; the records per reaction equal the
    firings; each receptor's records chain (state after = next state before), starting
    from its initial state; replaying the records reproduces the sampled counts at every
    sample time. With the module as written only the Mg²⁺ moves are logged, one record per
    block/unblock firing.

Negative control: k_b's v_scale 20 % too large (−20.4 mV instead of −17 mV for VC&R,
−18.75 instead of −15.625 mV for Kampa) must fail the same comparison.

Seed: one frozen seed, 20261122, chosen before any result was seen; conditions draw
independent streams from it (:func:`stochsyn.validation.mg_block.condition_seed`). It must
never be re-picked to make a test pass.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.validation import mg_block as mb

SEED = 20261122
MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"
Z_BAND, MAX_OUTSIDE, Z_HARD = 2.0, 2, 3.5
WRONG_KB_VSCALE = {"vcr": "-20.4 mV", "kampa": "-18.75 mV"}    # 1.2 x -17, 1.2 x -15.625
UNBLOCK_RULES = {"vcr": ("nmdar_mg_unblock",),
                 "kampa": ("nmdar_mg_unblock", "nmdar_mg_unblock_U", "nmdar_mg_unblock_Cl",
                           "nmdar_mg_unblock_D1", "nmdar_mg_unblock_D2")}


def module_spec(scheme):
    with open(MODULES / f"nmdar_{scheme}.toml", "rb") as handle:
        return tomllib.load(handle)


def clamped(scheme, v, log_all=False):
    return ss.Model.from_dict(mb.clamped_spec(module_spec(scheme), v, 1.0, log_all=log_all),
                              source=f"nmdar_{scheme}.toml clamped at {v:g} mV")


def rule_of(reaction_name):
    return reaction_name.split("[", 1)[0]


def replay_problems(model, ens, scheme):
    """(b) for one chunk: a list of what is wrong (empty if nothing)."""
    problems = []
    ev = ens.event_records
    (_, base, n_states), = ens.agent_types
    init = np.repeat(base + np.arange(n_states), model.agent_types[0].initial)
    n_traj = ens.n_trajectories
    local = np.searchsorted(ens.trajectories, ev.trajectory)
    if not np.array_equal(ens.trajectories[local], ev.trajectory):
        return ["records of unknown trajectories"]
    rules = np.array([rule_of(r) for r in ens.reactions])
    unblock = np.isin(rules, UNBLOCK_RULES[scheme])
    if not unblock.any():
        return ["no unblock reaction found"]
    n_unblock = np.bincount(local[unblock[ev.reaction]], minlength=n_traj)
    if not np.array_equal(n_unblock, ens.firings[:, unblock].sum(axis=1)):
        problems.append("unblock records != unblock firings")
    per_reaction = np.zeros_like(ens.firings)
    np.add.at(per_reaction, (local, ev.reaction), 1)
    if not np.array_equal(per_reaction, ens.firings):
        problems.append("records per reaction != firings")
    if not np.array_equal(np.bincount(local, minlength=n_traj), ens.n_events):
        problems.append("records per trajectory != events")
    if not (np.all((ev.agent >= 0) & (ev.agent < len(init)))
            and np.all(ev.state_before != ev.state_after)
            and np.all((ev.state_before >= base) & (ev.state_before < base + n_states))
            and np.all((ev.state_after >= base) & (ev.state_after < base + n_states))):
        problems.append("a record with an impossible agent or state")
        return problems
    # each receptor's records chain from its initial state
    order = np.lexsort((ev.time, ev.agent, local))
    tr, ag = local[order], ev.agent[order]
    before, after = ev.state_before[order], ev.state_after[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (tr[1:] != tr[:-1]) | (ag[1:] != ag[:-1])
    if not np.array_equal(before[first], init[ag[first]]):
        problems.append("a receptor's first record does not start from its initial state")
    if not np.array_equal(before[1:][~first[1:]], after[:-1][~first[1:]]):
        problems.append("a receptor's records do not chain")
    # replay: counts at every sample time
    for i in range(n_traj):
        mine = local == i
        times = ev.time[mine]
        if np.any(np.diff(times) < 0):
            problems.append(f"trajectory {i}: records out of time order")
            continue
        change = np.zeros((len(times) + 1, n_states), dtype=np.int64)
        rows = np.arange(1, len(times) + 1)
        np.add.at(change, (rows, ev.state_before[mine] - base), -1)
        np.add.at(change, (rows, ev.state_after[mine] - base), 1)
        counts = np.bincount(init - base, minlength=n_states) + np.cumsum(change, axis=0)
        upto = np.searchsorted(times, ens.times, side="right")
        if not np.array_equal(counts[upto], ens.counts[i, :, base:base + n_states]):
            problems.append(f"trajectory {i}: replayed counts differ from the samples")
    return problems


# ------------------------------------------------------------------ references


@pytest.mark.parametrize("scheme", mb.SCHEMES)
def test_modules_have_the_sources_rates(scheme):
    """The TOML module's expanded reactions give exactly the generator transcribed from the
    mod files (at every clamp voltage, 1 mM glutamate)."""
    for v in mb.VOLTAGES_MV:
        labels, q = mb.generator_from_model(clamped(scheme, v))
        ref_labels, ref = mb.generator(scheme, v)
        assert labels == ref_labels
        np.testing.assert_allclose(q, ref, rtol=1e-12, atol=0)


def test_module_observables_and_receptors():
    for scheme in mb.SCHEMES:
        model = ss.load_model(MODULES / f"nmdar_{scheme}.toml")
        assert sum(model.agent_types[0].initial) == 15
        assert model.x0[model.species.index(mb.state_labels(scheme)[0])] == 15
        for name in ("nmdar_open", "nmdar_open_blocked", "nmdar_bound", "nmdar_mg",
                     "nmdar_desensitised", "nmdar_total"):
            assert name in model.observables
        assert model.observables["nmdar_open"] == {
            model.species.index("NMDAR(gate=O,mg=free)"): 1.0}


def test_analytic_table_of_science_2_2():
    table = {"kampa": (0.017, 0.079, 0.298, 0.678, 0.913, 0.981),
             "vcr": (0.014, 0.068, 0.264, 0.641, 0.899, 0.978)}
    for scheme, values in table.items():
        got = [mb.analytic_fraction(scheme, v) for v in mb.VOLTAGES_MV]
        np.testing.assert_allclose(got, values, atol=0.0006)


def test_vcr_is_detailed_balanced_and_exact_equals_analytic():
    for v in mb.VOLTAGES_MV:
        _, q = mb.generator("vcr", v)
        pi = mb.stationary(q)
        flux = pi[:, None] * q - (pi[:, None] * q).T
        np.fill_diagonal(flux, 0.0)
        assert np.max(np.abs(flux)) < 1e-12 * np.max(np.abs(pi[:, None] * q))
        assert mb.exact_fraction("vcr", v) == pytest.approx(mb.analytic_fraction("vcr", v),
                                                           rel=1e-12)


def test_kampa_is_not_detailed_balanced():
    """The cycle ratios stated in nmdar_kampa.toml, the same at every V (and glutamate)."""
    stated = {"U-Cl-ClMg-UMg": 1.477, "Cl-O-OMg-ClMg": 0.791, "Cl-D1-D1Mg-ClMg": 0.961,
              "D1-D2-D2Mg-D1Mg": 1.406}
    for v in mb.VOLTAGES_MV:
        for glu in (0.1, 1.0):
            labels, q = mb.generator("kampa", v, glu)
            ratios = mb.cycle_ratios(labels, q, mb.KAMPA_CYCLES)
            assert ratios == pytest.approx(stated, abs=0.0006)
    gaps = [mb.exact_fraction("kampa", v) / mb.analytic_fraction("kampa", v) - 1
            for v in mb.VOLTAGES_MV]
    assert all(-0.0022 < g < -0.00005 for g in gaps), gaps


# ------------------------------------------------------------------ the V1 runs


@pytest.fixture(scope="module")
def v1():
    """Every (scheme, V): the estimate, the references and the (b) problems found."""
    rows, problems, walls = [], {}, {}
    for scheme in mb.SCHEMES:
        start = time.perf_counter()
        settings = mb.RUNS[scheme]
        for v in mb.VOLTAGES_MV:
            model = clamped(scheme, v, log_all=True)
            found = []
            estimate = mb.run_condition(
                model, scheme, settings, mb.condition_seed(SEED, scheme, v),
                record_events=True,
                check=lambda ens, model=model: found.extend(replay_problems(model, ens,
                                                                            scheme)))
            problems[(scheme, v)] = found
            rows.append({"scheme": scheme, "v": v, "estimate": estimate,
                         "analytic": mb.analytic_fraction(scheme, v),
                         "exact": mb.exact_fraction(scheme, v),
                         "window": mb.expected_window_fraction(
                             scheme, v, settings.t_eq, settings.t_eq + settings.t_obs,
                             n_grid=401)})
        walls[scheme] = time.perf_counter() - start
    print("\nV1 (1 mM glutamate, 1 mM Mg2+, 15 receptors):")
    print(mb.format_table(rows))
    print("wall time: " + ", ".join(f"{k} {w:.1f} s" for k, w in walls.items()))
    return rows, problems


def verdict(rows, reference="exact"):
    """(passes, Z values) of the family criterion (module docstring)."""
    z = np.array([row["estimate"].z(row[reference]) for row in rows])
    outside = int(np.sum(np.abs(z) >= Z_BAND))
    return outside <= MAX_OUTSIDE and bool(np.all(np.abs(z) < Z_HARD)), z


def test_open_unblocked_fraction_matches_the_stationary_value(v1):
    rows, _ = v1
    assert len(rows) == 12
    passes, z = verdict(rows)
    assert passes, {(r["scheme"], r["v"]): round(float(x), 2) for r, x in zip(rows, z)}


def test_equilibration_is_long_enough(v1):
    rows, _ = v1
    for row in rows:
        bias = abs(row["window"] - row["exact"])
        assert bias < 0.1 * row["estimate"].se, (row["scheme"], row["v"], bias)


def test_every_unblock_is_logged_and_the_log_replays(v1):
    _, problems = v1
    assert not any(problems.values()), {k: p[:3] for k, p in problems.items() if p}


def test_the_replay_check_can_fail():
    """replay_problems finds a dropped record, a wrong state and a wrong count."""
    import dataclasses
    model = clamped("vcr", -20.0, log_all=True)
    ens = ss.simulate(model, 0.2, 4, seed=mb.condition_seed(SEED, "vcr", -20.0, 3),
                      sample_every=1e-3, record_events=True)
    assert replay_problems(model, ens, "vcr") == []
    ev = ens.event_records
    k = len(ev) // 2
    dropped = dataclasses.replace(ens, event_records=type(ev)(
        *(np.delete(getattr(ev, f), k) for f in ("trajectory", "time", "agent", "reaction",
                                                  "state_before", "state_after"))))
    assert replay_problems(model, dropped, "vcr")
    after = ev.state_after.copy()
    after[k] = min(set(range(10)) - {ev.state_before[k], ev.state_after[k]})
    wrong = dataclasses.replace(ens, event_records=dataclasses.replace(ev, state_after=after))
    assert replay_problems(model, wrong, "vcr")
    counts = ens.counts.copy()
    counts[0, 50, 0] += 1
    assert replay_problems(model, dataclasses.replace(ens, counts=counts), "vcr")


@pytest.mark.parametrize("scheme", mb.SCHEMES)
def test_module_logs_the_mg_moves_only(scheme):
    """As written, the modules log exactly the Mg²⁺ block and unblock firings."""
    model = clamped(scheme, -40.0)
    ens = ss.simulate(model, 0.3, 8, seed=mb.condition_seed(SEED, scheme, -40.0, 2),
                      record_events=True)
    rules = np.array([rule_of(r) for r in ens.reactions])
    mg_moves = np.array(["_mg_block" in r or "_mg_unblock" in r for r in rules])
    ev = ens.event_records
    assert np.all(mg_moves[ev.reaction])
    assert np.array_equal(np.bincount(ev.trajectory, minlength=8),
                          ens.firings[:, mg_moves].sum(axis=1))
    unblock = np.isin(rules, UNBLOCK_RULES[scheme])
    assert np.array_equal(np.bincount(ev.trajectory[unblock[ev.reaction]], minlength=8),
                          ens.firings[:, unblock].sum(axis=1))
    assert ens.firings[:, unblock].sum() > 100


def test_a_wrong_block_voltage_scale_is_rejected():
    """Negative control: k_b's v_scale 20 % too large fails the same comparison."""
    rows = []
    for scheme in mb.SCHEMES:
        for v in mb.VOLTAGES_MV:
            model = clamped(scheme, v).with_parameters(nmda_kb_vscale=WRONG_KB_VSCALE[scheme])
            estimate = mb.run_condition(model, scheme, mb.RUNS[scheme],
                                        mb.condition_seed(SEED, scheme, v, 1))
            rows.append({"scheme": scheme, "v": v, "estimate": estimate,
                         "analytic": mb.analytic_fraction(scheme, v),
                         "exact": mb.exact_fraction(scheme, v)})
    print("\nV1 negative control (k_b v_scale x 1.2):")
    print(mb.format_table(rows))
    passes, z = verdict(rows)
    assert not passes
    for scheme in mb.SCHEMES:        # each scheme alone fails too
        assert not verdict([r for r in rows if r["scheme"] == scheme])[0]
