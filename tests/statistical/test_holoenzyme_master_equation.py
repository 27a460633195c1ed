"""Exactness of the CaMKII holoenzyme rules (reactions/modules/camkii_holoenzyme.toml).

Model: the module's rules on ONE holoenzyme (two rings of 6 subunits), with Ca4CaM
(CaM_C2N2) clamped at 0.1 uM, PP1 clamped at 0.2 uM, no other calmodulin, Ca2+ exchange on
subunit-bound CaM switched off (so it stays Ca4CaM), T305, GluN2B and turnover off. What
remains per subunit: CaM binding and unbinding (trapped on pT286, camkii_trap set to 30 so
that phosphorylated CaM-free neighbours occur), T286 autophosphorylation by the LEFT ring
neighbour with three rates depending on the neighbour, set apart for the test (k6 = 2 /s
holding CaM, unphosphorylated; k7 = 6 /s holding CaM, phosphorylated; k8 = 3 /s
phosphorylated without CaM), and the explicit PP1.pT286 complex
(binding at kon·[PP1], unbinding, catalysis). With PP1 clamped the two rings are
independent, so each ring is a Markov chain on 6^6 = 46,656 configurations (per subunit:
{no CaM, CaM} × {T286, pT286, pT286·PP1}).

Reference: the ring's master equation, generator Q built here from the rates above (not
from the engine's arrays), p(t) = p0 · exp(Q t) (scipy.sparse.linalg.expm_multiply, the
sparse form of scipy.linalg.expm: the 46,656² dense matrix would take 17 GB), p0 = all
subunits Ca-free and unphosphorylated; the holoenzyme's number of pT286 subunits (0..12)
is the convolution of the two rings' counts.

Test. n = 6000 trajectories at one frozen seed (20261210, chosen before any result was
seen). At t = 0.2, 0.5, 1 and 2 s a Pearson χ² test of the histogram of pT286 subunits;
cells with expected count < 5 pooled from the expected counts only. Four tests on shared
trajectories: Bonferroni, rejected iff some p < 0.001/4. The T286 event records
(autophosphorylation and PP1 catalysis are logged) replayed subunit by subunit give the
sampled pT286 count of every trajectory at every sample time, and every record's
subunit was in the state the record says before.

Negative control: the same ensemble against the master equation with k6 and k7 swapped
(one neighbour class mixed up with another) must be rejected by the same rule at 0.2 and
0.5 s (it is, with p < 1e-200).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.linalg import expm_multiply

import stochsyn as ss

from .chi2 import chi2_test

SEED = 20261210
N_TRAJ = 6000
TIMES = (0.2, 0.5, 1.0, 2.0)
CONTROL_TIMES = (0.2, 0.5)
ALPHA = 1e-3
BONFERRONI = ALPHA / len(TIMES)
MODULE = Path(__file__).resolve().parents[2] / "reactions" / "modules" / "camkii_holoenzyme.toml"

CA4CAM_UM, PP1_UM = 0.1, 0.2
KON_CAM4, KOFF_CAM4, TRAP = 30.0, 1.5, 30.0
K6, K7, K8 = 2.0, 6.0, 3.0
KON_PP1, KCAT, KM_UM = 100.0, 10.0, 0.4
KOFF_PP1 = KM_UM * KON_PP1 - KCAT           # 30 /s
RING = 6

SPEC = {
    "model": {"name": "one_holoenzyme", "volume": "0.1 fL", "include": [str(MODULE)]},
    "parameters": {"n_camkii": 1, "n_glun2b": 0, "camkii_turnover": "0 /s",
                   "camkii_k305": "0 /s", "camkii_trap": TRAP,
                   "camkii_k_auto_cam": f"{K6} /s", "camkii_k_auto_cam_p": f"{K7} /s",
                   "camkii_k_auto_p": f"{K8} /s",
                   # Ca2+ neither binds nor leaves CaM on a subunit: it stays Ca4CaM
                   **{f"camkii_{d}_{k}": "0 /s" if d == "koff" else "0 /uM/s"
                      for d in ("kon", "koff") for k in ("K1C", "K2C", "K1N", "K2N")}},
    "inputs": {"ca4cam_clamp": {"unit": "uM", "value": f"{CA4CAM_UM} uM"},
               "pp1_clamp": {"unit": "uM", "value": f"{PP1_UM} uM"},
               "ca_clamp": {"unit": "uM", "value": 0}},
    "species": {"Ca": {"clamp": "ca_clamp"}, "PP1": {"clamp": "pp1_clamp"},
                "CaM_C0N0": 0, "CaM_C1N0": 0, "CaM_C2N0": 0, "CaM_C0N1": 0, "CaM_C1N1": 0,
                "CaM_C2N1": 0, "CaM_C0N2": 0, "CaM_C1N2": 0,
                "CaM_C2N2": {"clamp": "ca4cam_clamp"}},
}

# Subunit states: (holds CaM, T286 state) with T286 state 0 = u, 1 = p, 2 = p with PP1.
STATES = [(cam, t) for t in range(3) for cam in (0, 1)]
INDEX = {s: i for i, s in enumerate(STATES)}


def subunit_moves(state, left, k6, k7):
    """(new state, rate) of one subunit, given its left neighbour's state."""
    cam, t = state
    moves = []
    if cam == 0:
        moves.append(((1, t), KON_CAM4 * CA4CAM_UM))
    else:
        moves.append(((0, t), KOFF_CAM4 / (TRAP if t else 1.0)))
    if t == 0 and cam == 1:
        l_cam, l_t = left
        rate = (k6 if l_cam and l_t == 0 else k7 if l_cam and l_t else K8 if l_t else 0.0)
        if rate:
            moves.append(((cam, 1), rate))
    if t == 1:
        moves.append(((cam, 2), KON_PP1 * PP1_UM))
    if t == 2:
        moves.append(((cam, 1), KOFF_PP1))
        moves.append(((cam, 0), KCAT))
    return moves


def ring_generator(k6=K6, k7=K7) -> sparse.csr_matrix:
    """Q of one ring over its 6^6 configurations (digit k = state index of subunit k)."""
    n = len(STATES)
    configs = np.array(list(itertools.product(range(n), repeat=RING)))
    weights = n ** np.arange(RING - 1, -1, -1)
    index = configs @ weights
    rows, cols, vals = [], [], []
    for k in range(RING):
        left = configs[:, (k - 1) % RING]
        for s, state in enumerate(STATES):
            here = configs[:, k] == s
            for left_state in range(n):
                mask = here & (left == left_state)
                for new, rate in subunit_moves(state, STATES[left_state], k6, k7):
                    rows.append(index[mask])
                    cols.append(index[mask] + (INDEX[new] - s) * weights[k])
                    vals.append(np.full(mask.sum(), rate))
    q = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n ** RING, n ** RING))
    return q - sparse.diags(np.asarray(q.sum(axis=1)).ravel())


def holoenzyme_pt286_distributions(k6=K6, k7=K7, times=TIMES) -> dict:
    q_t = ring_generator(k6, k7).T.tocsr()
    p0 = np.zeros(q_t.shape[0])
    p0[0] = 1.0                               # every subunit (no CaM, u)
    configs = np.array(list(itertools.product(range(len(STATES)), repeat=RING)))
    phosphorylated = (np.array([t > 0 for _, t in STATES])[configs]).sum(axis=1)
    out, p, t_prev = {}, p0, 0.0
    for t in times:                           # p(t) = exp(Q (t - t_prev)) p(t_prev)
        p = expm_multiply(q_t * (t - t_prev), p)
        t_prev = t
        assert abs(p.sum() - 1) < 1e-9 and p.min() > -1e-12
        ring = np.bincount(phosphorylated, weights=np.clip(p, 0.0, None), minlength=RING + 1)
        out[t] = np.convolve(ring, ring)      # two independent rings
    return out


@pytest.fixture(scope="module")
def model():
    m = ss.Model.from_dict(SPEC)
    rates = {r.rule: r.rate for r in m.reactions}
    assert rates["camkii_bind_CaM4"] == pytest.approx(KON_CAM4)       # per uM of the clamp
    assert rates["pp1_camkii_bind"] == pytest.approx(KON_PP1)
    assert rates["pp1_camkii_unbind"] == pytest.approx(KOFF_PP1)
    return m


@pytest.fixture(scope="module")
def run(model):
    return ss.simulate(model, max(TIMES), N_TRAJ, seed=SEED, sample_times=(0.0,) + TIMES,
                       record_events=True)


@pytest.fixture(scope="module")
def reference():
    return holoenzyme_pt286_distributions()


@pytest.mark.slow
def test_pt286_distribution_matches_the_master_equation(run, reference):
    pt286 = run.values("camkii_pt286").astype(np.int64)
    p_values = []
    for k, t in enumerate(TIMES, start=1):
        observed = np.bincount(pt286[:, k], minlength=2 * RING + 1)
        p_values.append(chi2_test(observed, reference[t], N_TRAJ)[2])
    assert min(p_values) > BONFERRONI, p_values


@pytest.mark.slow
def test_swapped_neighbour_classes_are_rejected(run):
    """A neighbour class mixed up (k6 applied next to a phosphorylated CaM-bound subunit,
    k7 next to an unphosphorylated one) must be seen."""
    wrong = holoenzyme_pt286_distributions(k6=K7, k7=K6, times=CONTROL_TIMES)
    pt286 = run.values("camkii_pt286").astype(np.int64)
    p_values = [chi2_test(np.bincount(pt286[:, k], minlength=2 * RING + 1), wrong[t],
                          N_TRAJ)[2] for k, t in enumerate(TIMES, start=1) if t in wrong]
    assert min(p_values) < BONFERRONI, p_values


@pytest.mark.slow
def test_t286_event_records_replay_to_the_sampled_counts(run, model):
    events = run.events()
    t286 = events[events.rule.isin(["camkii_t286_by_cam", "camkii_t286_by_cam_p",
                                    "camkii_t286_by_p", "pp1_camkii_dephosphorylate"])]
    assert len(t286) > 10 * N_TRAJ
    phosphorylated = np.zeros((N_TRAJ, 2 * RING), dtype=bool)
    sampled = run.values("camkii_pt286")
    times = run.times
    k = 0
    order = np.lexsort((t286.agent.to_numpy(), t286.time.to_numpy()))
    traj = t286.trajectory.to_numpy()[order]
    agent = t286.agent.to_numpy()[order]
    time = t286.time.to_numpy()[order]
    before = np.array(["t286=p" in s for s in t286.state_before.astype(str)])[order]
    after = np.array(["t286=p" in s for s in t286.state_after.astype(str)])[order]
    for i in range(len(time)):
        while k < len(times) and times[k] < time[i]:
            np.testing.assert_array_equal(phosphorylated.sum(axis=1), sampled[:, k])
            k += 1
        assert phosphorylated[traj[i], agent[i]] == before[i]
        phosphorylated[traj[i], agent[i]] = after[i]
    while k < len(times):
        np.testing.assert_array_equal(phosphorylated.sum(axis=1), sampled[:, k])
        k += 1
    # holoenzyme and subunit ids: one holoenzyme, subunits 0..11
    assert set(np.unique(agent)) <= set(range(2 * RING))
