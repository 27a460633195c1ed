"""Complex rules (``members``) against their exact master equation.

Model (below): one complex of two rings of 3 subunits (``complex_size = 6``); each subunit
has t ∈ {u, p} and psd ∈ {no, yes}, psd being a property of the whole complex. Rules:
u -> p at k_basal, u -> p at k_auto when the LEFT neighbour is p, p -> u at k_off;
anchoring (a complex rule triggered by one subunit): a p subunit of a free complex anchors
the whole complex at k_anchor (per p subunit); release (triggered by any subunit, k_release/6
each, so k_release per complex): the whole complex lets go; turnover (``complex = "K"``, one
complex drawn at random): every subunit back to u at k_turnover.

Reference: the master equation over the 2^6 t-configurations × 2 psd states, generator Q,
p(t) = p0 · expm(Q t) (``scipy.linalg.expm``), p0 = all u, not anchored.

Test. n = 8,000 trajectories, one frozen seed (20261207, chosen before any result was seen;
never to be re-picked). At t = 0.5, 1, 2, 5 s a Pearson χ² test of the joint histogram of
(number of p subunits, anchored) against the master equation, and at t = 2 s one of the
full configuration (128 cells); cells with expected count < 5 pooled from the expected counts
only. Five tests on shared trajectories: Bonferroni, the family is rejected iff some
p < 0.001 / 5.

Negative control (the test can fail): the same ensemble against the master equation in which
turnover resets one subunit at a time (each at k_turnover) instead of the whole complex at
once — the natural wrong implementation of a complex rule — must be rejected by the same rule.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import linalg

import stochsyn as ss

from .chi2 import chi2_test

SEED = 20261207
N_TRAJ = 8000
RING, SIZE = 3, 6
K_BASAL, K_AUTO, K_OFF = 0.2, 2.0, 1.0
K_ANCHOR, K_RELEASE, K_TURNOVER = 0.3, 0.5, 0.4
TEST_TIMES = (0.5, 1.0, 2.0, 5.0)
CONFIG_TIME = 2.0
ALPHA = 1e-3
BONFERRONI = ALPHA / (len(TEST_TIMES) + 1)

MODEL = {
    "model": {"name": "one_complex"},
    "agents": {"K": {"sites": {"t": ["u", "p"], "psd": ["no", "yes"]}, "ring_size": RING,
                     "complex_size": SIZE, "initial": [{"count": SIZE}]}},
    "reactions": [
        {"name": "basal", "equation": "K(t=u) -> K(t=p)", "rate": K_BASAL, "log": True},
        {"name": "auto", "equation": "K(t=u) -> K(t=p)", "neighbour": "K(t=p)",
         "rate": K_AUTO, "log": True},
        {"name": "off", "equation": "K(t=p) -> K(t=u)", "rate": K_OFF, "log": True},
        {"name": "anchor", "equation": "K(t=p, psd=no) -> K(t=p)", "rate": K_ANCHOR,
         "members": ["K(psd=no) -> K(psd=yes)"], "log": True},
        {"name": "release", "equation": "K(psd=yes) -> K(psd=yes)", "rate": K_RELEASE / SIZE,
         "members": ["K(psd=yes) -> K(psd=no)"], "log": True},
        {"name": "turnover", "equation": "->", "complex": "K", "rate": K_TURNOVER,
         "members": ["K() -> K(t=u)"], "log": True},
    ],
    "observables": {"phosphorylated": "K(t=p)", "anchored": "K(psd=yes)"},
}


def left(k: int) -> int:
    start = k - k % RING
    return start + (k - start - 1) % RING


def generator(whole_complex_turnover: bool = True) -> np.ndarray:
    """Q over states (configuration c: bit k = subunit k is p; a = anchored), index 2c + a."""
    n = 2 ** SIZE * 2
    q = np.zeros((n, n))
    for c, a in itertools.product(range(2 ** SIZE), range(2)):
        i = 2 * c + a
        for k in range(SIZE):
            if (c >> k) & 1:
                q[i, 2 * (c ^ (1 << k)) + a] += K_OFF
            else:
                q[i, 2 * (c | (1 << k)) + a] += K_BASAL + K_AUTO * ((c >> left(k)) & 1)
        if a == 0:
            q[i, 2 * c + 1] += K_ANCHOR * bin(c).count("1")
        else:
            q[i, 2 * c] += K_RELEASE
        if whole_complex_turnover:
            if c:
                q[i, a] += K_TURNOVER
        else:
            for k in range(SIZE):
                if (c >> k) & 1:
                    q[i, 2 * (c ^ (1 << k)) + a] += K_TURNOVER
        q[i, i] = -q[i].sum()
    return q


def state_distribution(t, **kw) -> np.ndarray:
    p0 = np.zeros(2 ** SIZE * 2)
    p0[0] = 1.0
    p = p0 @ linalg.expm(generator(**kw) * t)
    assert abs(p.sum() - 1) < 1e-12 and p.min() > -1e-12
    return np.clip(p, 0.0, None)


def joint_distribution(t, **kw) -> np.ndarray:
    """P(number of p subunits = m, anchored = a), index 2m + a."""
    p = state_distribution(t, **kw)
    cells = np.array([2 * bin(i // 2).count("1") + i % 2 for i in range(len(p))])
    return np.bincount(cells, weights=p, minlength=2 * (SIZE + 1))


@pytest.fixture(scope="module")
def run():
    return ss.simulate(ss.Model.from_dict(MODEL), max(TEST_TIMES), N_TRAJ, seed=SEED,
                       sample_times=(0.0,) + TEST_TIMES, record_events=True)


def joint_histograms(ens):
    m = ens.values("phosphorylated").astype(np.int64)
    anchored = ens.values("anchored").astype(np.int64)
    assert set(np.unique(anchored)) <= {0, SIZE}          # anchored as a whole
    cells = 2 * m + anchored // SIZE
    return {t: np.bincount(cells[:, k], minlength=2 * (SIZE + 1))
            for k, t in enumerate(ens.times)}


def configurations(ens, t_sample) -> np.ndarray:
    """The configuration (bits of p subunits, anchored) of every trajectory at t_sample,
    replayed from the event records: every rule is logged."""
    events = ens.events()
    p_state = {s for s in ens.species if "t=p" in s}
    config = np.zeros(ens.n_trajectories, dtype=np.int64)
    anchored = np.zeros(ens.n_trajectories, dtype=np.int64)
    bits = np.zeros((ens.n_trajectories, SIZE), dtype=np.int64)
    psd = np.zeros((ens.n_trajectories, SIZE), dtype=np.int64)
    before = events[events.time <= t_sample]
    for row in before.itertuples(index=False):
        bits[row.trajectory, row.agent] = str(row.state_after) in p_state
        psd[row.trajectory, row.agent] = "psd=yes" in str(row.state_after)
    config = (bits << np.arange(SIZE)).sum(axis=1)
    assert np.all((psd.sum(axis=1) == 0) | (psd.sum(axis=1) == SIZE))
    anchored = psd[:, 0]
    return 2 * config + anchored


def test_complex_rules_match_the_master_equation(run):
    histograms = joint_histograms(run)
    p_values = []
    for t in TEST_TIMES:
        _, _, p = chi2_test(histograms[t], joint_distribution(t), N_TRAJ)
        p_values.append(p)
    states = configurations(run, CONFIG_TIME)
    # the replay agrees with the sampled counts
    k = list(run.times).index(CONFIG_TIME)
    np.testing.assert_array_equal([bin(s // 2).count("1") for s in states],
                                  run.values("phosphorylated")[:, k])
    observed = np.bincount(states, minlength=2 ** SIZE * 2)
    _, _, p = chi2_test(observed, state_distribution(CONFIG_TIME), N_TRAJ)
    p_values.append(p)
    assert min(p_values) > BONFERRONI, p_values


def test_subunit_wise_turnover_is_rejected(run):
    """Negative control: the master equation with turnover one subunit at a time."""
    histograms = joint_histograms(run)
    p_values = [chi2_test(histograms[t], joint_distribution(t, whole_complex_turnover=False),
                          N_TRAJ)[2] for t in TEST_TIMES]
    assert min(p_values) < BONFERRONI, p_values
