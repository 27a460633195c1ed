"""Issue acceptance for ring agents: one CaMKII 6-ring against its exact master equation.

Model: ``reactions/examples/camkii_ring.toml`` — six subunits in one ring, all start u;
u -> p at k_basal = 0.05 /s, u -> p at k_auto = 6 /s when the LEFT neighbour is p
(autophosphorylation), p -> u at k_off = 0.5 /s. Agent k's left neighbour is agent
(k − 1) mod 6 of its ring (``stochsyn.engine.ssa._ring_left``).

Reference: the master equation over the 2^6 = 64 configurations (bit k = subunit k is p),
generator Q, p(t) = p0 · expm(Q t) with p0 = δ(all u) (``scipy.linalg.expm``), reduced to
the number of active subunits 0..6.

Test. n = 10,000 trajectories, one frozen seed (20261122, chosen before any result was
seen; never to be re-picked). At each of t = 0.5, 1, 2, 5, 20 s a Pearson χ²
goodness-of-fit test of the ensemble histogram of active subunits against the master
equation; cells with expected count < 5 are pooled (decided from the expected counts only).
The five tests share trajectories, so they are combined by Bonferroni: the family is
rejected iff some p < 0.001 / 5 (family-wise error ≤ 0.001 whatever the dependence).
The configuration-level distribution (64 cells) at t = 1 s gets its own χ² test
(p > 0.001); it needs the configuration, which the event records give when all three rules
are logged (the example logs only autophosphorylation), so that run uses the same model
built with ``Model.from_dict`` and every rule logged — and logging must not change one bit.

Negative control (the test can fail): the same ensemble against the master equation with
k_auto = 5 /s instead of 6 /s must be rejected by the same Bonferroni rule at the same n.
(The RIGHT-neighbour master equation cannot serve: by reflection symmetry it gives exactly
the same count distribution, and its configuration distribution differs from the left one
by a non-centrality of only ~3 at n = 10,000 — no power; both facts are checked below.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import linalg

import stochsyn as ss

from .chi2 import chi2_test, power

SEED = 20261122
MODEL_PATH = Path(__file__).resolve().parents[2] / "reactions" / "examples" / "camkii_ring.toml"
RING = 6
K_BASAL, K_AUTO, K_OFF = 0.05, 6.0, 0.5
N_TRAJ = 10_000
TEST_TIMES = (0.5, 1.0, 2.0, 5.0, 20.0)
SAMPLE_TIMES = (0.0,) + TEST_TIMES
ALPHA = 1e-3
BONFERRONI = ALPHA / len(TEST_TIMES)
CONFIG_TIME = 1.0

ALL_LOGGED = {
    "model": {"name": "camkii_ring_logged"},
    "parameters": {"k_basal": "0.05 /s", "k_auto": "6 /s", "k_off": "0.5 /s"},
    "agents": {"CaMKII": {"sites": {"t286": ["u", "p"]}, "ring_size": 6,
                          "initial": [{"count": 6, "t286": "u"}]}},
    "reactions": [
        {"name": "basal", "equation": "CaMKII(t286=u) -> CaMKII(t286=p)", "rate": "k_basal",
         "log": True},
        {"name": "autophosphorylation", "equation": "CaMKII(t286=u) -> CaMKII(t286=p)",
         "neighbour": "CaMKII(t286=p)", "rate": "k_auto", "log": True},
        {"name": "dephosphorylation", "equation": "CaMKII(t286=p) -> CaMKII(t286=u)",
         "rate": "k_off", "log": True},
    ],
    "observables": {"active": "CaMKII(t286=p)"},
}

POPCOUNT = np.array([bin(c).count("1") for c in range(2 ** RING)])


# ---------------------------------------------------------------- master equation


def generator(k_basal=K_BASAL, k_auto=K_AUTO, k_off=K_OFF, offset=-1) -> np.ndarray:
    """Q over the 64 configurations; the neighbour of subunit k is (k + offset) mod 6
    (offset −1: left, as in the engine; +1: right)."""
    n = 2 ** RING
    q = np.zeros((n, n))
    for c in range(n):
        for k in range(RING):
            if (c >> k) & 1:
                rate = k_off
            else:
                rate = k_basal + k_auto * ((c >> ((k + offset) % RING)) & 1)
            q[c, c ^ (1 << k)] += rate
        q[c, c] = -q[c].sum()
    return q


def config_distribution(t, **kw) -> np.ndarray:
    p0 = np.zeros(2 ** RING)
    p0[0] = 1.0
    p = p0 @ linalg.expm(generator(**kw) * t)
    assert abs(p.sum() - 1) < 1e-12 and p.min() > -1e-12
    return np.clip(p, 0.0, None)


def count_distribution(t, **kw) -> np.ndarray:
    return np.bincount(POPCOUNT, weights=config_distribution(t, **kw), minlength=RING + 1)


# ------------------------------------------------------------------------ runs


@pytest.fixture(scope="module")
def example_model():
    m = ss.load_model(MODEL_PATH)
    (agent,) = m.agent_types
    assert agent.ring_size == RING and agent.initial == (RING, 0)
    net = ss.compile(m)
    rates = dict(zip((r.split("[")[0] for r in net.reactions), net.arrays.rate))
    assert rates == pytest.approx({"basal": K_BASAL, "autophosphorylation": K_AUTO,
                                   "dephosphorylation": K_OFF}, rel=1e-12)
    return m


@pytest.fixture(scope="module")
def example_run(example_model):
    return ss.simulate(example_model, max(SAMPLE_TIMES), N_TRAJ, seed=SEED,
                       sample_times=SAMPLE_TIMES)


@pytest.fixture(scope="module")
def logged_run():
    return ss.simulate(ss.Model.from_dict(ALL_LOGGED), max(SAMPLE_TIMES), N_TRAJ, seed=SEED,
                       sample_times=SAMPLE_TIMES, record_events=True)


def active_histograms(ens):
    active = ens.values("active")
    assert not np.isnan(active).any()
    return {t: np.bincount(active[:, k].astype(np.int64), minlength=RING + 1)
            for k, t in enumerate(ens.times)}


# ------------------------------------------------------------------- the tests


def test_master_equation_sanity():
    """Left and right neighbour give the same count law (reflection), so the orientation
    cannot be a negative control for the count test; k_auto = 5 does differ."""
    for t in TEST_TIMES:
        left = count_distribution(t)
        np.testing.assert_allclose(count_distribution(t, offset=+1), left, atol=1e-12)
        assert np.abs(count_distribution(t, k_auto=5.0) - left).max() > 0.005
        # configuration level: chiral configurations do differ, but only slightly
        p_left, p_right = config_distribution(t), config_distribution(t, offset=+1)
        assert 0 < N_TRAJ * np.sum((p_left - p_right) ** 2 / p_right) < 5
    np.testing.assert_allclose(count_distribution(1e-12), np.eye(RING + 1)[0], atol=1e-9)


def test_logging_does_not_change_the_trajectories(example_run, logged_run):
    np.testing.assert_array_equal(example_run.counts, logged_run.counts)
    np.testing.assert_array_equal(example_run.n_events, logged_run.n_events)


def test_active_count_matches_the_master_equation(example_run):
    ens = example_run
    assert np.all(ens.status == 0)
    hist = active_histograms(ens)
    np.testing.assert_array_equal(hist[0.0], [N_TRAJ, 0, 0, 0, 0, 0, 0])
    p_values = []
    for t in TEST_TIMES:
        statistic, df, p = chi2_test(hist[t], count_distribution(t), N_TRAJ)
        print(f"t = {t:g} s: observed {hist[t].tolist()}, χ² = {statistic:.3f}, "
              f"df = {df}, p = {p:.4g}")
        p_values.append(p)
    assert min(p_values) > BONFERRONI, p_values


def test_negative_control_wrong_rate_is_rejected(example_run):
    """k_auto = 5 /s instead of 6 /s: the same test at the same n rejects it. The power of
    the Bonferroni family (at least that of its best single time) is first shown to be
    > 0.999, so the rejection is the expected outcome, not luck."""
    hist = active_histograms(example_run)
    best_power = 0.0
    p_values = []
    for t in TEST_TIMES:
        wrong = count_distribution(t, k_auto=5.0)
        pw, nc = power(count_distribution(t), wrong, N_TRAJ, BONFERRONI)
        best_power = max(best_power, pw)
        statistic, df, p = chi2_test(hist[t], wrong, N_TRAJ)
        print(f"k_auto = 5: t = {t:g} s: non-centrality {nc:.1f}, power {pw:.6f}, "
              f"χ² = {statistic:.1f}, df = {df}, p = {p:.3g}")
        p_values.append(p)
    assert best_power > 0.999
    assert min(p_values) < BONFERRONI, p_values


def replay_configurations(ens):
    """Configurations (bit k = subunit k is p) just before every record and at every
    sample time, from the all-logged event records and the all-u start."""
    ev = ens.event_records
    n = ens.n_trajectories
    assert len(ev) == ens.n_events.sum()  # every rule logged: one record per event
    assert np.all(np.diff(ev.trajectory) >= 0)
    starts = np.searchsorted(ev.trajectory, np.arange(n + 1))
    for i in range(0, n, 997):  # time order within trajectories (spot check, cheap)
        assert np.all(np.diff(ev.time[starts[i]:starts[i + 1]]) >= 0)
    assert np.all(np.diff(ev.time)[np.diff(ev.trajectory) == 0] >= 0)
    toggles = np.left_shift(1, ev.agent)
    acc = np.bitwise_xor.accumulate(toggles)
    base = np.concatenate([[0], acc])  # base[e] = xor of records 0..e-1
    traj_base = base[starts[ev.trajectory]]
    before = base[np.arange(len(ev))] ^ traj_base
    at_samples = np.empty((n, len(ens.times)), dtype=np.int64)
    for k, t in enumerate(ens.times):
        m = np.bincount(ev.trajectory[ev.time <= t], minlength=n)
        at_samples[:, k] = base[starts[:-1] + m] ^ base[starts[:-1]]
    return before, at_samples


def test_event_records_replay_exactly(logged_run):
    """Replay: every record's state_before is the replayed state, the neighbour condition
    of autophosphorylation held (left neighbour p at that moment), and the replayed number
    of active subunits equals .counts at every sample of every trajectory."""
    ens = logged_run
    ev = ens.event_records
    u, p = ens.species.index("CaMKII(t286=u)"), ens.species.index("CaMKII(t286=p)")
    assert np.all((ev.agent >= 0) & (ev.agent < RING))
    before, at_samples = replay_configurations(ens)
    bit = (before >> ev.agent) & 1
    np.testing.assert_array_equal(np.where(bit == 1, p, u), ev.state_before)
    np.testing.assert_array_equal(np.where(bit == 1, u, p), ev.state_after)
    rule = np.array([r.split("[")[0] for r in ens.reactions])[ev.reaction]
    auto = rule == "autophosphorylation"
    assert auto.sum() > 10_000
    left_bit = (before[auto] >> ((ev.agent[auto] - 1) % RING)) & 1
    np.testing.assert_array_equal(left_bit, 1)
    np.testing.assert_array_equal(POPCOUNT[at_samples], ens.counts[:, :, p])


def test_configuration_distribution_matches_the_master_equation(logged_run):
    _, at_samples = replay_configurations(logged_run)
    k = list(logged_run.times).index(CONFIG_TIME)
    observed = np.bincount(at_samples[:, k], minlength=2 ** RING)
    statistic, df, p = chi2_test(observed, config_distribution(CONFIG_TIME), N_TRAJ)
    print(f"configurations at t = {CONFIG_TIME:g} s: χ² = {statistic:.3f}, df = {df}, "
          f"p = {p:.4g}")
    assert p > ALPHA
    # the configuration test has power too: k_auto = 5 is (expected to be) rejected
    wrong = config_distribution(CONFIG_TIME, k_auto=5.0)
    pw, nc = power(config_distribution(CONFIG_TIME), wrong, N_TRAJ, ALPHA)
    statistic, df, p_wrong = chi2_test(observed, wrong, N_TRAJ)
    print(f"  against k_auto = 5: non-centrality {nc:.1f}, power {pw:.4f}, "
          f"χ² = {statistic:.1f}, df = {df}, p = {p_wrong:.3g}")
    assert pw > 0.99
    assert p_wrong < ALPHA
