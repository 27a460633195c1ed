"""docs/science.md §9 V2: the macroscopic NMDA current–voltage relation against Jahr & Stevens.

Protocol: 1 mM glutamate applied for 100 ms to 15 unliganded, Mg²⁺-free receptors, the
spine clamped at V; the conductance g(V) is the mean number of open, unblocked receptors
over the 100 ms (times the single-channel conductance, which cancels). The relation is
reported as g(V)/g(+40 mV) and compared with the steady-state block of Jahr & Stevens 1990,
B_JS(V) = 1 / (1 + [Mg]/3.57 mM · exp(−0.062 V/mV)) (docs/science.md §2.1). Acceptance (V2):
|g(V)/g(+40) − B_JS(V)| ≤ 0.05 for V ≤ −50 mV and ≤ 0.15 for −40 … 0 mV.

Besides the SSA estimate (mean over trajectories, standard error by the delta method), the
exact expectation of the same window average comes from the per-receptor master equation
(:func:`stochsyn.validation.mg_block.generator`, matrix exponentials), so the two checks are
separate: the model against Jahr–Stevens, and the engine against the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import mg_block

#: Clamp voltages (mV) of the I–V relation.
VOLTAGES_MV = (-80.0, -70.0, -60.0, -50.0, -40.0, -30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0,
               40.0)
STEP_S = 0.1
DT_S = 2e-4


def jahr_stevens(v_mv, mg_mm: float = 1.0):
    """B_JS(V), the Jahr–Stevens steady-state unblocked fraction."""
    return 1.0 / (1.0 + mg_mm / 3.57 * np.exp(-0.062 * np.asarray(v_mv, dtype=float)))


def tolerance(v_mv: float) -> float:
    """V2's allowed |g/g(+40) − B_JS|: 0.05 at V ≤ −50 mV, 0.15 from −40 to 0 mV, and no
    requirement (inf) above 0 mV."""
    return 0.05 if v_mv <= -50 else (0.15 if v_mv <= 0 else math.inf)


def exact_conductance(scheme: str, v_mv: float, n_receptors: int = 15) -> float:
    """Expected mean open-unblocked count over [0, STEP_S] from all-unliganded at t = 0."""
    from scipy.linalg import expm
    labels, q = mg_block.generator(scheme, v_mv, 1.0, 1.0)
    free = labels.index("NMDAR(gate=O,mg=free)")
    start = labels.index("NMDAR(gate=U,mg=free)" if scheme == "kampa"
                         else "NMDAR(gate=C0,mg=free)")
    p = np.zeros(len(labels))
    p[start] = 1.0
    # Integral of p(t) over the window: augmented-matrix exponential (Van Loan).
    n = len(labels)
    big = np.zeros((2 * n, 2 * n))
    big[:n, :n] = q.T
    big[n:, :n] = np.eye(n)
    out = expm(big * STEP_S) @ np.concatenate([p, np.zeros(n)])
    return n_receptors * out[n + free] / STEP_S


@dataclass(frozen=True)
class Point:
    scheme: str
    v_mv: float
    g: float            # SSA mean open-unblocked count over the step
    g_se: float
    g_exact: float


def simulate_point(module_spec, scheme: str, v_mv: float, n_trajectories: int, seed: int
                   ) -> Point:
    """The SSA estimate of g(V) for one clamp voltage."""
    import stochsyn as ss
    model = ss.Model.from_dict(mg_block.clamped_spec(module_spec, v_mv, 1.0))
    times = np.arange(0.0, STEP_S + DT_S / 2, DT_S)
    ens = ss.simulate(model, STEP_S, n_trajectories, seed=seed, sample_times=times,
                      on_stop="raise")
    open_free = ens.values("NMDAR(gate=O,mg=free)")
    # time average of the right-continuous path, sampled on a fine grid (trapezoid)
    per_trajectory = np.trapezoid(open_free, times, axis=1) / STEP_S
    return Point(scheme, v_mv, float(per_trajectory.mean()),
                 float(per_trajectory.std(ddof=1) / math.sqrt(n_trajectories)),
                 exact_conductance(scheme, v_mv))


MODULES = {"vcr": "nmdar_vcr.toml", "kampa": "nmdar_kampa.toml"}
SEED = 20261122


def run(scheme: str, module_spec, voltages=VOLTAGES_MV, n_trajectories: int = 3000,
        seed: int = SEED) -> list[Point]:
    """SSA points of one scheme; condition seeds as in V1 (variant 2 = this protocol)."""
    return [simulate_point(module_spec, scheme, v, n_trajectories,
                           mg_block.condition_seed(seed, scheme, v, variant=2))
            for v in voltages]


def relation(points: list[Point]) -> list[dict]:
    """Rows of the I–V table: g/g(+40) (SSA, its SE, exact) against B_JS."""
    ref = {p.scheme: p for p in points if p.v_mv == 40.0}
    rows = []
    for p in points:
        r = ref[p.scheme]
        ratio = p.g / r.g
        se = ratio * math.sqrt((p.g_se / p.g) ** 2 + (r.g_se / r.g) ** 2) if p.g > 0 else 0.0
        rows.append({"scheme": p.scheme, "v_mv": p.v_mv, "ratio": ratio, "ratio_se": se,
                     "ratio_exact": p.g_exact / r.g_exact,
                     "b_js": float(jahr_stevens(p.v_mv)), "tolerance": tolerance(p.v_mv)})
    return rows


def format_table(rows: list[dict]) -> str:
    lines = [f"{'scheme':6s} {'V (mV)':>7s} {'g/g(+40) SSA':>16s} {'exact':>7s} "
             f"{'B_JS':>7s} {'|exact-B_JS|':>12s} {'allowed':>8s}"]
    for r in rows:
        lines.append(f"{r['scheme']:6s} {r['v_mv']:7.0f} {r['ratio']:9.4f} ± {r['ratio_se']:.4f} "
                     f"{r['ratio_exact']:7.4f} {r['b_js']:7.4f} "
                     f"{abs(r['ratio_exact'] - r['b_js']):12.4f} {r['tolerance']:8.2f}")
    return "\n".join(lines)


__all__ = ["VOLTAGES_MV", "MODULES", "SEED", "jahr_stevens", "tolerance", "exact_conductance",
           "simulate_point", "run", "relation", "format_table", "Point"]
