"""SCIENCE §9 V1: the steady-state Mg²⁺ block of open NMDA receptors under voltage clamp.

For a receptor module (``reactions/modules/nmdar_vcr.toml``, ``nmdar_kampa.toml``) clamped
at a voltage V with glutamate held at a constant concentration, the quantity checked is

    f(V) = time in (O, Mg-free) / time in (O, Mg-free) + (O, Mg-bound)

over all receptors, after equilibration. It is estimated from a fine sample grid:
``a_i = Σ_t #O,free``, ``b_i = Σ_t (#O,free + #O,bound)`` per trajectory i, the ratio
``R = Σ a_i / Σ b_i``, with the delta-method standard error over independent trajectories
``SE² = Σ (a_i − R b_i)² / (n (n − 1) b̄²)``.

References:

* ``analytic``: k_u/(k_u + k_b) from the rate laws of SCIENCE §2.2 (:func:`block_rates`),
  the table there;
* ``exact``: the stationary conditional P(O,free)/P(O) of the per-receptor Markov chain
  (receptors are independent), from its 10-state generator (:func:`generator`), written
  here from the mod files' numbers independently of the TOML modules
  (:func:`generator_from_model` builds the same matrix from a Model, to check the module).
  For the Vargas-Caballero & Robinson scheme the state graph is a tree, so exact = analytic
  to rounding. The Kampa scheme is not detailed-balanced (:func:`cycle_ratios`): its exact
  value is 0.01–0.21 % (relative) below the analytic one at 1 mM glutamate.

:func:`expected_window_fraction` gives the exact expectation of the estimator over a finite
window from the initial state (all receptors unliganded and Mg-free), i.e. the
equilibration bias of a run.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

__all__ = ["SCHEMES", "VOLTAGES_MV", "GATES", "MG_BOUND", "state_labels", "block_rates", "analytic_fraction", "generator",
           "stationary", "exact_fraction", "generator_from_model", "cycle_ratios",
           "KAMPA_CYCLES", "expected_window_fraction", "clamped_spec", "condition_seed",
           "ratio_estimate", "Estimate", "RunSettings", "RUNS", "run_condition",
           "format_table"]

#: The two schemes of SCIENCE §2.2: Option B (default) and Option A.
SCHEMES = ("vcr", "kampa")
#: Clamp voltages of V1 (mV).
VOLTAGES_MV = (-80.0, -60.0, -40.0, -20.0, 0.0, 20.0)
#: Agent states (gate values in the module's order; mg = free/blocked or free/bound) and the
#: names of the Mg²⁺-bound value.
GATES = {"vcr": ("C0", "C1", "C2", "D", "O"), "kampa": ("U", "Cl", "O", "D1", "D2")}
MG_BOUND = {"vcr": "blocked", "kampa": "bound"}


def block_rates(scheme: str, v_mv: float, mg_mm: float = 1.0) -> tuple[float, float]:
    """(k_u, k_b) of the open state in 1/s at ``v_mv`` (mV) and [Mg²⁺]ₒ = ``mg_mm`` (mM),
    as written in SCIENCE §2.2."""
    if scheme == "vcr":
        return 5.4e3 * math.exp(v_mv / 47.0), 0.61e3 * mg_mm * math.exp(-v_mv / 17.0)
    if scheme == "kampa":
        return (12.8e3 * math.exp(0.016 * (v_mv - 40.0)),
                0.05e3 * mg_mm * math.exp(-0.064 * (v_mv - 40.0)))
    raise ValueError(f"unknown scheme {scheme!r}; use one of {SCHEMES}")


def analytic_fraction(scheme: str, v_mv: float, mg_mm: float = 1.0) -> float:
    """k_u / (k_u + k_b): the SCIENCE §2.2 table."""
    ku, kb = block_rates(scheme, v_mv, mg_mm)
    return ku / (ku + kb)


def state_labels(scheme: str) -> list[str]:
    """The model's agent-state species labels, in the module's order."""
    return [f"NMDAR(gate={g},mg={m})" for g in GATES[scheme]
            for m in ("free", MG_BOUND[scheme])]


def generator(scheme: str, v_mv: float, glu_mm: float = 1.0, mg_mm: float = 1.0
              ) -> tuple[list[str], np.ndarray]:
    """The per-receptor generator (1/s), states as :func:`state_labels`.

    Numbers from the sources (s⁻¹; mM⁻¹s⁻¹ for binding and block): Vargas-Caballero &
    Robinson 2004 Mg²⁺ rates (SynNMDA10_2.mod) with the Destexhe 1996 gating set
    (7988_nmda5.mod) and symmetric trapping; Kampa et al. 2004 (ModelDB 50207
    NMDA_Mg.mod), original values.
    """
    labels = state_labels(scheme)
    index = {label: i for i, label in enumerate(labels)}
    q = np.zeros((len(labels), len(labels)))
    bound = MG_BOUND[scheme]

    def rate(gate_from, mg_from, gate_to, mg_to, k):
        q[index[f"NMDAR(gate={gate_from},mg={mg_from})"],
          index[f"NMDAR(gate={gate_to},mg={mg_to})"]] += k

    ku, kb = block_rates(scheme, v_mv, mg_mm)
    if scheme == "vcr":
        rb, ru, rd, rr, ro, rc = 5e3 * glu_mm, 12.9, 8.4, 6.8, 46.5, 73.8
        for mg in ("free", bound):            # trapping: gating ignores the mg site
            rate("C0", mg, "C1", mg, 2 * rb)
            rate("C1", mg, "C0", mg, ru)
            rate("C1", mg, "C2", mg, rb)
            rate("C2", mg, "C1", mg, 2 * ru)
            rate("C2", mg, "D", mg, rd)
            rate("D", mg, "C2", mg, rr)
            rate("C2", mg, "O", mg, ro)
            rate("O", mg, "C2", mg, rc)
        rate("O", "free", "O", bound, kb)
        rate("O", bound, "O", "free", ku)
    else:
        gating = {"free": (10e3, 5.6, 10.0, 273.0, 2.2, 1.6, 0.43, 0.5),
                  bound: (10e3, 17.1, 10.0, 548.0, 2.1, 0.87, 0.26, 0.42)}
        for mg, (rb, ru, ro, rc, rd1, rr1, rd2, rr2) in gating.items():
            rate("U", mg, "Cl", mg, rb * glu_mm)
            rate("Cl", mg, "U", mg, ru)
            rate("Cl", mg, "O", mg, ro)
            rate("O", mg, "Cl", mg, rc)
            rate("Cl", mg, "D1", mg, rd1)
            rate("D1", mg, "Cl", mg, rr1)
            rate("D1", mg, "D2", mg, rd2)
            rate("D2", mg, "D1", mg, rr2)
        rate("O", "free", "O", bound, kb)
        rate("O", bound, "O", "free", ku)
        # closed and desensitised states: block 0.05 /mM/s, unblock as in the mod file,
        # both with the open state's voltage factors
        fb = math.exp(-0.064 * (v_mv - 40.0))
        fu = math.exp(0.016 * (v_mv - 40.0))
        for gate, unblock in (("U", 2.438312), ("Cl", 5.041915), ("D1", 2.98874),
                              ("D2", 2.953408)):
            rate(gate, "free", gate, bound, 0.05 * mg_mm * fb)
            rate(gate, bound, gate, "free", unblock * fu)
    np.fill_diagonal(q, -q.sum(axis=1))
    return labels, q


def stationary(q: np.ndarray) -> np.ndarray:
    """The stationary distribution π (π Q = 0, Σ π = 1) of an irreducible generator."""
    n = len(q)
    a = np.vstack([q.T, np.ones(n)])
    b = np.zeros(n + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    return pi / pi.sum()


def _open_indices(scheme: str) -> tuple[int, int]:
    labels = state_labels(scheme)
    return (labels.index("NMDAR(gate=O,mg=free)"),
            labels.index(f"NMDAR(gate=O,mg={MG_BOUND[scheme]})"))


def exact_fraction(scheme: str, v_mv: float, glu_mm: float = 1.0, mg_mm: float = 1.0
                   ) -> float:
    """Stationary P(O, free) / P(O) of the per-receptor chain (:func:`generator`)."""
    _, q = generator(scheme, v_mv, glu_mm, mg_mm)
    pi = stationary(q)
    free, bound = _open_indices(scheme)
    return float(pi[free] / (pi[free] + pi[bound]))


def expected_window_fraction(scheme: str, v_mv: float, t0: float, t1: float,
                             n_grid: int = 200, glu_mm: float = 1.0, mg_mm: float = 1.0
                             ) -> float:
    """E[Σ a] / E[Σ b] of the estimator on ``n_grid`` times evenly spaced in [t0, t1] (s),
    starting from all receptors in the module's initial state (first gate value, Mg-free):
    what a correct simulation converges to, transient included."""
    from scipy.linalg import expm
    _, q = generator(scheme, v_mv, glu_mm, mg_mm)
    p = np.zeros(len(q))
    p[0] = 1.0
    times = np.linspace(t0, t1, n_grid)
    step = expm(q * (times[1] - times[0])) if n_grid > 1 else None
    current = p @ expm(q * t0)
    free, bound = _open_indices(scheme)
    a = b = 0.0
    for k in range(n_grid):
        a += current[free]
        b += current[free] + current[bound]
        if step is not None:
            current = current @ step
    return float(a / b)


def generator_from_model(model, t: float = 0.0) -> tuple[list[str], np.ndarray]:
    """The per-agent generator of a model with one agent type and no plain species, with
    its inputs evaluated at time ``t`` (s): the rate of every expanded reaction that moves
    one agent from state i to state j, times exp(V/v_scale) or the input value."""
    if len(model.agent_types) != 1 or model.n_plain_species:
        raise ValueError("generator_from_model needs exactly one agent type and no species")
    base = model.agent_state_base[model.agent_types[0].name]
    n = len(model.agent_types[0].states)
    q = np.zeros((n, n))
    for reaction in model.reactions:
        (_, frm, to), = reaction.agent_moves
        factor = 1.0
        if reaction.kind == "voltage":
            factor = math.exp(float(model.inputs[reaction.input](t)) / reaction.v_scale_mv)
        elif reaction.kind == "input":
            factor = float(model.inputs[reaction.input](t))
        q[frm - base, to - base] += reaction.rate * factor
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(q, -q.sum(axis=1))
    return list(model.species[base:base + n]), q


#: The four independent cycles of the Kampa scheme (each a gating step, its Mg-bound twin
#: and the two Mg²⁺ steps joining them), as state labels in order.
KAMPA_CYCLES = {
    f"{a}-{b}-{b}Mg-{a}Mg": [f"NMDAR(gate={a},mg=free)", f"NMDAR(gate={b},mg=free)",
                             f"NMDAR(gate={b},mg=bound)", f"NMDAR(gate={a},mg=bound)"]
    for a, b in (("U", "Cl"), ("Cl", "O"), ("Cl", "D1"), ("D1", "D2"))}


def cycle_ratios(labels: Sequence[str], q: np.ndarray,
                 cycles: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Kolmogorov's criterion: product of the rates around each cycle one way over the
    product the other way (1 for every cycle iff the chain is detailed-balanced)."""
    index = {label: i for i, label in enumerate(labels)}
    result = {}
    for name, cycle in cycles.items():
        ids = [index[s] for s in cycle]
        forward = np.prod([q[ids[k], ids[(k + 1) % len(ids)]] for k in range(len(ids))])
        backward = np.prod([q[ids[(k + 1) % len(ids)], ids[k]] for k in range(len(ids))])
        result[name] = float(forward / backward)
    return result


def clamped_spec(spec: Mapping, v_mv: float, glu_mm: float = 1.0, *,
                 log_all: bool = False) -> dict:
    """A copy of a module's model dict with the input V clamped at ``v_mv`` mV and ``glu``
    held at ``glu_mm`` mM (constant: no sine, no steps); with ``log_all`` every reaction
    is logged."""
    spec = copy.deepcopy(dict(spec))
    inputs = spec.setdefault("inputs", {})
    inputs["V"] = {"unit": "mV", "value": f"{v_mv!r} mV"}
    inputs["glu"] = {"unit": "mM", "value": f"{glu_mm!r} mM"}
    if log_all:
        for reaction in spec.get("reactions", []):
            reaction["log"] = True
    return spec


def condition_seed(seed: int, scheme: str, v_mv: float, variant: int = 0) -> int:
    """Engine seed of one (scheme, voltage, variant) condition, < 2**63: SeedSequence
    (entropy = seed, spawn key = (scheme index, voltage in µV, variant)), so conditions
    draw independent streams from one frozen seed."""
    key = (SCHEMES.index(scheme), int(round((v_mv + 1000.0) * 1000)), int(variant))
    words = np.random.SeedSequence(entropy=int(seed), spawn_key=key).generate_state(
        2, dtype=np.uint32)
    return ((int(words[1]) << 32) | int(words[0])) & ((1 << 63) - 1)


@dataclass(frozen=True)
class Estimate:
    """The estimate of f(V) from one ensemble.

    Attributes
    ----------
    value, se : float
        R = Σ a_i / Σ b_i and its delta-method standard error over trajectories.
    n_trajectories : int
    open_samples : int
        Σ b_i: (open receptor, sample) pairs.
    """

    value: float
    se: float
    n_trajectories: int
    open_samples: int

    def z(self, reference: float) -> float:
        return (self.value - reference) / self.se


def ratio_estimate(free: np.ndarray, bound: np.ndarray) -> Estimate:
    """:class:`Estimate` from per-sample counts ``free``, ``bound`` of shape
    (n_trajectories, n_samples) (the samples after equilibration)."""
    a = free.sum(axis=1).astype(float)
    b = (free + bound).sum(axis=1).astype(float)
    n = len(a)
    if n < 2 or b.sum() == 0:
        raise ValueError("need at least 2 trajectories and some open-receptor samples")
    r = a.sum() / b.sum()
    se = math.sqrt(np.sum((a - r * b) ** 2) / (n * (n - 1))) / b.mean()
    return Estimate(float(r), float(se), n, int(b.sum()))


@dataclass(frozen=True)
class RunSettings:
    """How one V1 condition is simulated: ``n_trajectories`` in chunks of ``chunk``
    (bounded memory), equilibration ``t_eq`` (s), then samples every ``dt`` (s) for
    ``t_obs`` (s)."""

    n_trajectories: int
    chunk: int
    t_eq: float
    t_obs: float
    dt: float

    @property
    def sample_times(self) -> np.ndarray:
        return self.t_eq + self.dt * np.arange(int(round(self.t_obs / self.dt)) + 1)


#: Run settings of the V1 test (tests/statistical/test_mg_block.py) and of
#: analysis/mg_block_v1.py. The VC&R receptor is open ~22 % of the time at 1 mM glutamate,
#: the Kampa receptor < 1 %, so the Kampa runs are longer and have more trajectories; its
#: slow desensitisation (and closed-state Mg²⁺ binding) needs a longer equilibration. With
#: these settings the finite-window expectation (:func:`expected_window_fraction`) is within
#: 0.03 SE of the stationary value. Samples are spaced about as the flicker correlation time
#: 1/(k_u + k_b) (15-170 µs).
RUNS = {"vcr": RunSettings(n_trajectories=100, chunk=100, t_eq=0.5, t_obs=0.4, dt=1e-4),
        "kampa": RunSettings(n_trajectories=400, chunk=100, t_eq=1.5, t_obs=1.2, dt=2e-4)}


def run_condition(model, scheme: str, settings: RunSettings, seed: int, *,
                  record_events: bool = False, check=None) -> Estimate:
    """Simulate a clamped module (:func:`clamped_spec`) and estimate f(V).

    ``check(ens)``, if given, is called with each chunk's Ensemble (all samples, events
    if ``record_events``) before it is dropped. Trajectory i of the condition draws from
    ``SeedSequence(seed, spawn_key=(i,))`` whatever the chunking.
    """
    from .. import simulate
    times = settings.sample_times
    free = bound = None
    a_parts, b_parts = [], []
    for first in range(0, settings.n_trajectories, settings.chunk):
        n = min(settings.chunk, settings.n_trajectories - first)
        ens = simulate(model, float(times[-1]), n, seed=seed, sample_times=times,
                       record_events=record_events, first_trajectory=first,
                       on_stop="raise")
        if free is None:
            free = ens.species.index("NMDAR(gate=O,mg=free)")
            bound = ens.species.index(f"NMDAR(gate=O,mg={MG_BOUND[scheme]})")
        if check is not None:
            check(ens)
        # keep only the per-trajectory sums (all the estimate needs)
        a_parts.append(ens.counts[:, :, free].sum(axis=1, keepdims=True))
        b_parts.append(ens.counts[:, :, bound].sum(axis=1, keepdims=True))
        del ens
    return ratio_estimate(np.concatenate(a_parts), np.concatenate(b_parts))


def format_table(rows: Sequence[Mapping]) -> str:
    """The V1 table: one row per (scheme, V) with the keys scheme, v, estimate (Estimate),
    analytic, exact and, optionally, window (the finite-window expectation)."""
    lines = [f"{'scheme':6} {'V/mV':>5} {'SSA estimate ± SE':>20} {'k_u/(k_u+k_b)':>14} "
             f"{'exact stat.':>12} {'Z(exact)':>9} {'Z(analytic)':>11} {'exact/analytic-1':>17}"]
    for row in rows:
        est = row["estimate"]
        gap = (row["exact"] / row["analytic"] - 1) * 100
        lines.append(
            f"{row['scheme']:6} {row['v']:+5.0f} {est.value:11.5f} ± {est.se:.5f} "
            f"{row['analytic']:14.5f} {row['exact']:12.5f} {est.z(row['exact']):+9.2f} "
            f"{est.z(row['analytic']):+11.2f} {gap:+16.3f}%")
    return "\n".join(lines)
