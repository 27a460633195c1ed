"""Short-term plasticity of release (Tsodyks–Markram, one univesicular site) against exact
results.

The model (stochsyn.model.membrane.read_pulse_rules): the site is loaded or empty; at spike
k a loaded site releases with probability u_k, which empties it; an empty site reloads after
an exponential time of mean τ_rec. With facilitation u_1 = U, u_{k+1} = U + u_k (1 - U)
exp(-Δ_k/τ_F) (deterministic, Δ_k = t_{k+1} - t_k); without it u_k = U.

Exact law. Just before spike k the site is a two-state Markov chain: with p_k = P(loaded),
p_1 = 1 and, since reloading is memoryless,

    p_{k+1} = 1 - (1 - p_k (1 - u_k)) e^{-Δ_k/τ_rec},        P(release at k) = u_k p_k.

Its mean is the deterministic Tsodyks–Markram resource R_k (Tsodyks & Markram 1997, Eq. 3
with R = p). The joint law of the release indicators follows from the same recursion: a
release at j leaves the site empty, so P(release at j and at k > j) = u_j p_j · u_k p_k^{(j)},
with p^{(j)} the chain restarted empty after spike j. That gives the exact covariance of the
per-spike release indicators, hence an exact chi-square (Mahalanobis) test over all spikes.

Per-spike releases are seen through a counting reaction ``-> X`` of rate k·glu(t): a pulse
of τ = 0.1 ms (dropped after 30 τ = 3 ms) gives Poisson(m = k·peak·τ = 20) counts, so a
release at spike k is ``X(t_k + 10 ms) - X(t_{k-1} + 10 ms) > 0``; it is missed with
probability e^{-20} ≈ 2e-9 (and every run checks the per-spike releases against
Ensemble.n_releases, so a miss would fail the test rather than bias it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import stochsyn as ss
from stochsyn.engine.rng import numpy_generator
from stochsyn.model import units

SEED = 20261122
N_TRAJ = 10_000
K_PER_MM_S, TAU_MS = 2e5, 0.1          # m = 200 /mM/ms · 1 mM · 0.1 ms = 20 counts per release
SEE_S = 0.010                           # a release is counted by t_spike + 10 ms


def model(probability, tau_recovery=None, tau_facilitation=None, cv=0.0,
          k_per_mm_s=K_PER_MM_S):
    release = {"probability": probability, "peak": "1 mM", "tau": f"{TAU_MS} ms", "cv": cv}
    if tau_recovery is not None:
        release["tau_recovery"] = tau_recovery
    if tau_facilitation is not None:
        release["tau_facilitation"] = tau_facilitation
    return ss.Model.from_dict({
        "model": {"name": "release_site"},
        "inputs": {"glu": {"unit": "mM", "value": 0, "release": release}},
        "species": {"X": 0},
        "reactions": [{"name": "count", "equation": "-> X",
                       "rate": {"kind": "input", "input": "glu", "k": f"{k_per_mm_s} /mM/s"}}],
    })


def releases_per_spike(mdl, protocol, n=N_TRAJ, seed=SEED):
    """(n, n_spikes) bool: which spikes released, from the counting reaction."""
    spikes = protocol.pre_spikes_s
    assert np.all(np.diff(spikes) > SEE_S)
    times = np.concatenate([[0.0], spikes + SEE_S])
    ens = ss.simulate(mdl, times[-1], n, seed=seed, sample_times=times, protocol=protocol)
    assert np.all(ens.status == 0)
    released = np.diff(ens.values("X"), axis=1) > 0
    np.testing.assert_array_equal(released.sum(axis=1), ens.n_releases)
    return released


# -- the exact law ------------------------------------------------------------------------

def facilitation(times, U, tau_f):
    u = np.empty(len(times))
    u[0] = U
    for k in range(1, len(times)):
        decay = math.exp(-(times[k] - times[k - 1]) / tau_f) if tau_f else 0.0
        u[k] = U + u[k - 1] * (1 - U) * decay
    return u


def loaded(times, u, tau_rec, first=0, p_first=1.0):
    """P(site loaded just before spike k) for k >= first, given p_first at spike first."""
    p = np.zeros(len(times))
    p[first] = p_first
    for k in range(first, len(times) - 1):
        keep = math.exp(-(times[k + 1] - times[k]) / tau_rec) if tau_rec else 0.0
        p[k + 1] = 1 - (1 - p[k] * (1 - u[k])) * keep
    return p


def release_law(times, U, tau_rec, tau_f=0.0):
    """Exact mean and covariance of the per-spike release indicators (module docstring);
    ``tau_rec = math.inf`` is a site that never reloads, 0 one that never depletes."""
    times = np.asarray(times, dtype=float)
    u = facilitation(times, U, tau_f)
    mean = u * loaded(times, u, tau_rec)
    n = len(times)
    cov = np.diag(mean * (1 - mean))
    for j in range(n - 1):
        keep = math.exp(-(times[j + 1] - times[j]) / tau_rec) if tau_rec else 0.0
        after = u * loaded(times, u, tau_rec, j + 1, 1 - keep)   # restarted empty after j
        for k in range(j + 1, n):
            cov[j, k] = cov[k, j] = mean[j] * after[k] - mean[j] * mean[k]
    return mean, cov


def verdict(released, mean, cov):
    """(per-spike Z, chi-square p-value) of the observed release fractions, over the
    spikes whose release is not (nearly) certain either way."""
    keep = np.diag(cov) > 1e-6
    n = released.shape[0]
    d = released.mean(axis=0)[keep] - mean[keep]
    cov = cov[np.ix_(keep, keep)]
    z = d / np.sqrt(np.diag(cov) / n)
    chi2 = n * d @ np.linalg.solve(cov, d)
    return z, float(stats.chi2.sf(chi2, len(d)))


# Per-spike |Z| bound: Šidák for 20 spikes at a family-wise 1 %, Φ⁻¹(1 - 0.005/20) = 3.48.
Z_MAX = 3.5


def test_the_exact_law_reduces_to_the_known_cases():
    times = np.arange(5) * 0.05
    mean, cov = release_law(times, 0.3, 0.0)            # no depression: independent U
    np.testing.assert_allclose(mean, 0.3)
    np.testing.assert_allclose(cov, np.eye(5) * 0.21, atol=1e-15)
    mean, _ = release_law(times, 0.3, math.inf)         # never reloads: U (1 - U)^(k-1)
    np.testing.assert_allclose(mean, 0.3 * 0.7 ** np.arange(5))
    # deterministic Tsodyks–Markram: R_{k+1} = R_k (1 - U) e^{-Δ/τ} + 1 - e^{-Δ/τ}
    r, e = 1.0, math.exp(-0.05 / 0.8)
    for k in range(5):
        assert mean_tm(times, 0.3, 0.8)[k] == pytest.approx(0.3 * r, rel=1e-12)
        r = r * 0.7 * e + 1 - e


def mean_tm(times, U, tau_rec):
    return release_law(times, U, tau_rec)[0]


# -- depression: release per spike of a regular train --------------------------------------

TRAINS = {
    # id: (U, tau_recovery, tau_facilitation, rate_hz, pulses)
    "depression_20Hz": (0.3, "800 ms", None, 20.0, 20),
    "depression_5Hz": (0.5, "300 ms", None, 5.0, 12),
    "facilitation_then_depression_40Hz": (0.1, "500 ms", "200 ms", 40.0, 20),
}
SLOW = pytest.mark.slow


@pytest.mark.parametrize("case", [pytest.param(c, marks=() if c == "depression_20Hz" else SLOW)
                                  for c in TRAINS])
def test_release_per_spike_of_a_train_follows_the_two_state_chain(case):
    U, rec, fac, rate, pulses = TRAINS[case]
    protocol = ss.protocols.train(rate, pulses, start_s=0.01)
    released = releases_per_spike(model(U, rec, fac), protocol)
    tau_rec = units.seconds(rec)
    tau_f = units.seconds(fac) if fac else 0.0
    spikes = protocol.pre_spikes_s
    mean, cov = release_law(spikes, U, tau_rec, tau_f)
    z, p = verdict(released, mean, cov)
    assert np.all(np.abs(z) < Z_MAX) and p > 1e-3, (z, p)
    # negative controls: ignoring recovery, or depression altogether, is rejected
    for tau_wrong in (math.inf, 0.0):
        z_wrong, p_wrong = verdict(released, *release_law(spikes, U, tau_wrong, tau_f))
        assert np.max(np.abs(z_wrong)) > 10 and p_wrong < 1e-12
    # the steady state of the train: P_∞ = u_∞ p_∞, p_∞ = r / (1 - (1 - r)(1 - u_∞)), with
    # r = 1 - e^{-1/(f τ_rec)} (u_∞ = U without facilitation)
    if fac is None:
        r = -math.expm1(-1 / (rate * tau_rec))
        p_inf = U * r / (1 - (1 - r) * (1 - U))
        late = released[:, -4:].mean(axis=1)            # the chain is within 1 % of it
        assert mean[-4:] == pytest.approx(p_inf, rel=1e-2)
        assert abs(late.mean() - p_inf) < Z_MAX * late.std() / math.sqrt(len(late))


# -- recovery time course: certain release (U = 1), pairs far apart -------------------------

@pytest.mark.slow
def test_certain_release_recovers_as_one_minus_exp():
    """With U = 1 each pair's first spike releases (the site has reloaded during the 5 s
    before it, up to e^{-5/0.3} = 6e-8) and its second releases iff the site reloaded within
    Δ: probability 1 - e^{-Δ/τ_rec}."""
    tau_rec, gaps = 0.3, (0.03, 0.1, 0.3, 0.9)
    firsts = 0.01 + 5.0 * np.arange(len(gaps))
    spikes = np.sort(np.concatenate([firsts, firsts + gaps]))
    released = releases_per_spike(model(1.0, f"{tau_rec} s"), ss.protocols.spikes(spikes))
    second = released[:, 1::2].mean(axis=0)
    expected = -np.expm1(-np.array(gaps) / tau_rec)
    z = (second - expected) / np.sqrt(expected * (1 - expected) / len(released))
    assert np.all(np.abs(z) < 3), (second, expected)
    assert released[:, 0].all() and released[:, 2::2].mean() > 0.999
    mean, cov = release_law(spikes, 1.0, tau_rec)
    assert verdict(released, mean, cov)[1] > 1e-3
    np.testing.assert_allclose(mean[1::2], expected, rtol=1e-6)


# -- paired-pulse ratio at steady state ----------------------------------------------------

def steady_paired_pulse(U, tau_rec, interval, period):
    """P(loaded) before the first (a) and second (b) spike of a pair, at the steady state of
    pairs repeated every ``period``: a = 1 - (1 - b(1-U)) e2, b = 1 - (1 - a(1-U)) e1."""
    e1, e2 = math.exp(-interval / tau_rec), math.exp(-(period - interval) / tau_rec)
    a = (1 - e2 + e2 * (1 - U) * (1 - e1)) / (1 - e1 * e2 * (1 - U) ** 2)
    b = 1 - e1 + e1 * (1 - U) * a
    return a, b


@pytest.mark.slow
def test_steady_state_paired_pulse_ratio():
    """Pairs 100 ms apart at 2 Hz: PPR = b/a at steady state (0.707 for U = 0.5, τ_rec =
    300 ms), unlike the first pair's 1 - U e^{-Δ/τ} = 0.642, no recovery's 1 - U = 0.5 and
    no depression's 1."""
    U, tau_rec, interval, period, pairs = 0.5, 0.3, 0.1, 0.5, 10
    firsts = 0.01 + period * np.arange(pairs)
    spikes = np.sort(np.concatenate([firsts, firsts + interval]))
    released = releases_per_spike(model(U, f"{tau_rec} s"), ss.protocols.spikes(spikes))
    a, b = steady_paired_pulse(U, tau_rec, interval, period)
    ppr = b / a
    assert ppr == pytest.approx(0.7073, abs=1e-4)
    mean, _ = release_law(spikes, U, tau_rec)
    assert mean[-1] / mean[-2] == pytest.approx(ppr, rel=1e-6)   # reached by pair 10
    # the last 5 pairs pooled per trajectory (i.i.d. over trajectories): delta method
    x = released[:, 10::2].sum(axis=1).astype(float)
    y = released[:, 11::2].sum(axis=1).astype(float)
    n = len(x)
    ratio = y.mean() / x.mean()
    var = (y.var() + ratio ** 2 * x.var() - 2 * ratio * np.cov(x, y)[0, 1]) / x.mean() ** 2
    se = math.sqrt(var / n)
    assert abs(ratio - ppr) < 3 * se, (ratio, ppr, se)
    for wrong in (1 - U * math.exp(-interval / tau_rec), 1 - U, 1.0):
        assert abs(ratio - wrong) > 4 * se, (ratio, wrong, se)


# -- facilitation alone --------------------------------------------------------------------

@pytest.mark.slow
def test_facilitation_alone_gives_independent_releases_with_probability_u_k():
    U, tau_f = 0.1, 0.1
    protocol = ss.protocols.train(50.0, 10, start_s=0.01)
    released = releases_per_spike(model(U, None, f"{tau_f} s"), protocol)
    u = facilitation(protocol.pre_spikes_s, U, tau_f)
    assert u[1] == pytest.approx(0.1 + 0.1 * 0.9 * math.exp(-0.2))   # Loebel 2009 Eq. 4
    mean, cov = release_law(protocol.pre_spikes_s, U, 0.0, tau_f)
    np.testing.assert_allclose(mean, u)
    np.testing.assert_allclose(cov, np.diag(u * (1 - u)), atol=1e-15)
    z, p = verdict(released, mean, cov)
    assert np.all(np.abs(z) < Z_MAX) and p > 1e-3, (z, p)
    assert np.max(np.abs(verdict(released, np.full(10, U), np.eye(10) * U * (1 - U))[0])) > 10


# -- the draw order, bit for bit -----------------------------------------------------------

def replay_releases(seed, trajectory, spikes, sites):
    """Releases of one trajectory, replayed from the documented draw order with NumPy's
    Generator for the trajectory's stream (no reaction can fire, so the spikes are the only
    draws): per spike, input by input, [empty site with τ_rec: one uniform, reloaded if
    < 1 - e^{-Δt/τ_rec}], [loaded: one uniform, released if < u], [released: one word]."""
    g = numpy_generator(seed, trajectory)
    state = [{"loaded": True, "u": 0.0, "last": -math.inf} for _ in sites]
    n = 0
    for t in spikes:
        for (U, tau_rec, tau_f), s in zip(sites, state):
            if tau_rec == 0 and tau_f == 0:
                hit = g.random() < U
            else:
                dt = t - s["last"]
                u = U + s["u"] * (1 - U) * math.exp(-dt / tau_f) if tau_f and dt < math.inf \
                    else U
                s["u"], s["last"] = u, t
                if not s["loaded"] and g.random() < -math.expm1(-dt / tau_rec):
                    s["loaded"] = True
                hit = s["loaded"] and g.random() < u
                if hit and tau_rec > 0:
                    s["loaded"] = False
            if hit:
                g.bit_generator.random_raw()            # the amplitude word
                n += 1
    return n


@pytest.mark.parametrize("plasticity", [
    ((0.5, 0.0, 0.0), (0.3, 0.0, 0.0)),                 # none: the order of before
    ((0.5, 0.15, 0.0), (0.3, 0.0, 0.0)),                # depression on the first input
    ((0.3, 0.0, 0.0), (0.4, 0.2, 0.05)),                # both, on the second
    ((0.2, 0.0, 0.08), (0.7, 0.4, 0.0)),                # facilitation; depression
])
def test_draw_order_replays_bit_for_bit(plasticity):
    inputs = {}
    for name, (U, tau_rec, tau_f) in zip(("glu", "ach"), plasticity):
        release = {"probability": U, "peak": "1 mM", "tau": "1 ms", "cv": 0.5}
        if tau_rec:
            release["tau_recovery"] = tau_rec
        if tau_f:
            release["tau_facilitation"] = tau_f
        inputs[name] = {"unit": "mM", "value": 0, "release": release}
    mdl = ss.Model.from_dict({
        "model": {"name": "silent_sites"}, "inputs": inputs, "species": {"X": 0},
        "reactions": [{"name": "never", "equation": "-> X",
                       "rate": {"kind": "input", "input": "glu", "k": "0 /mM/s"}}]})
    protocol = ss.protocols.poisson(30.0, 2.0, seed=7, start_s=0.01)
    n = 300
    ens = ss.simulate(mdl, 2.1, n, seed=SEED, protocol=protocol)
    assert ens.n_events.sum() == 0 and ens.n_releases.sum() > 0
    replayed = [replay_releases(SEED, i, protocol.pre_spikes_s, plasticity) for i in range(n)]
    np.testing.assert_array_equal(ens.n_releases, replayed)


def test_same_bits_on_any_thread_count_with_plasticity():
    mdl = model(0.4, "200 ms", "30 ms", cv=0.5, k_per_mm_s=2e4)
    protocol = ss.protocols.train(50.0, 15, start_s=0.01)
    a = ss.simulate(mdl, 0.4, 60, seed=SEED, protocol=protocol, n_threads=1)
    b = ss.simulate(mdl, 0.4, 60, seed=SEED, protocol=protocol, n_threads=2, batch_size=7)
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(a.n_releases, b.n_releases)
    assert a.n_releases.sum() > 0


# -- bad input -----------------------------------------------------------------------------

def _with_release(**extra):
    return {"model": {"name": "bad_release"},
            "inputs": {"glu": {"unit": "mM", "value": 0,
                               "release": {"probability": 0.3, "peak": "1 mM",
                                           "tau": "1 ms", **extra}}},
            "species": {"X": 0},
            "reactions": [{"name": "c", "equation": "-> X",
                           "rate": {"kind": "input", "input": "glu", "k": "1 /mM/s"}}]}


@pytest.mark.parametrize("extra, message", [
    ({"tau_recovery": "-800 ms"}, "tau_recovery of 'glu'"),
    ({"tau_facilitation": -0.05}, "tau_facilitation of 'glu'"),
    ({"tau_recovery": math.inf}, "not a finite number"),
    ({"recovery": "800 ms"}, "Did you mean 'tau_recovery'?"),
    ({"depression": {"tau_recovery": "800 ms"}}, "tau_facilitation"),   # lists the keys
    ({"tau_recovery": "5 mM"}, "a time"),
])
def test_bad_plasticity_gives_a_model_error(extra, message):
    with pytest.raises(ss.ModelError) as info:
        ss.Model.from_dict(_with_release(**extra))
    text = str(info.value)
    assert "[inputs] 'glu'" in text and message in text, text


def test_zero_time_constants_are_the_plain_release_rule():
    plain = ss.Model.from_dict(_with_release())
    zero = ss.Model.from_dict(_with_release(tau_recovery=0, tau_facilitation="0 ms"))
    assert plain.inputs == zero.inputs
    assert ss.Model.from_dict(_with_release(tau_recovery="0.8 s")).inputs[0] \
        .release_recovery_s == pytest.approx(0.8)
