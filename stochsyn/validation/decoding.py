"""V11 and V12: how calmodulin's targets decode Ca²⁺ (docs/decoding.md).

V11, frequency decoding (after Li, Stefan & Le Novère 2012, PLoS ONE 7:e43810). The
decoding stack -- two-lobe calmodulin, CaMKII holoenzymes, the I1/PKA/PP1 core and
calcineurin binding Ca₄CaM (reactions/modules/cam_two_lobe.toml, camkii_holoenzyme.toml,
pp1_i1_pka.toml, calcineurin_cam.toml) -- is driven by a prescribed Ca²⁺: the clamp of
``Ca`` (docs/model-format.md, "Clamps") at 0.1 µM plus, at each spike of a regular train,
a pulse ``A·exp(−(t − t_k)/τ)`` (a release rule of probability 1 and CV 0 on the clamp's
input, so every trajectory gets the same waveform). The total Ca²⁺ (``n·A·τ``) is the same
at every frequency. Activation of each target is the peak, during the train and 10 s after,
of the fraction of it bound to Ca₄CaM: CaMKII subunits holding CaM_C2N2
(``camkii_ca4cam_bound`` / subunits) and calcineurin holding it (``can_active`` / CaN).
The target: the CaMKII/CaN ratio rises with frequency (Spearman ρ > 0.8), both are active
at every frequency, and CaMKII's activation rises with the total Ca²⁺ at fixed frequency.

V12, Ca²⁺ sensitivity (after Stefan, Edelstein & Le Novère 2008). The MWC calmodulin of
reactions/modules/cam_mwc.toml with one target at a time (Stefan et al.'s totals: CaM
0.2 µM, CaMKII subunits 70 µM or calcineurin 1.6 µM, 1 fL), Ca²⁺ clamped at a series of
steady levels: the fraction of the target bound to CaM at steady state (SSA: time average
over the second half of the run), normalised between its value without Ca²⁺ and at
saturation (the mass-action equilibrium, :func:`mwc_equilibrium`); EC50 by log-linear
interpolation. Target: EC50(CaN) ≪ EC50(CaMKII), a ratio ≥ 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .. import Model, protocols, simulate
from . import REPOSITORY

MODULES = REPOSITORY / "reactions" / "modules"
STACK = ("cam_two_lobe.toml", "camkii_holoenzyme.toml", "pp1_i1_pka.toml",
         "calcineurin_cam.toml")
CA_REST_UM = 0.1
AFTER_S = 10.0      # V11: the peaks are read over the train and this long after it


def stack_model(amplitude_um: float, tau_s: float, *, volume_fl: float = 0.1,
                parameters: dict | None = None) -> Model:
    """The decoding stack with Ca²⁺ clamped at rest plus a pulse of ``amplitude_um`` µM
    decaying with ``tau_s`` at every presynaptic spike of a protocol."""
    spec = {
        "model": {"name": "decoding_stack", "volume": f"{volume_fl} fL",
                  "include": [str(MODULES / m) for m in STACK]},
        "inputs": {"Ca_clamp": {
            "unit": "uM", "value": f"{CA_REST_UM} uM",
            "release": {"probability": 1.0, "peak": f"{amplitude_um} uM",
                        "tau": f"{tau_s} s", "cv": 0.0}}},
        "species": {"Ca": {"clamp": "Ca_clamp"}},
    }
    if parameters:
        spec["parameters"] = dict(parameters)
    return Model.from_dict(spec, source="<decoding stack>")


@dataclass
class Activation:
    """Peak activation of CaMKII and CaN for one stimulus (means over trajectories)."""

    rate_hz: float
    amplitude_um: float
    camkii: float           # mean peak fraction of subunits holding Ca4CaM
    camkii_se: float
    can: float              # mean peak fraction of CaN bound to Ca4CaM
    can_se: float
    ratio: float            # camkii / can
    ratio_se: float         # delta method
    wall_s: float


def activation(rate_hz: float, *, n_pulses: int, amplitude_um: float, tau_s: float,
               n_trajectories: int, seed: int, parameters: dict | None = None,
               n_threads: int | None = None, sample_every_s: float = 0.002) -> Activation:
    """Peak activations for ``n_pulses`` Ca²⁺ pulses at ``rate_hz``."""
    import time
    model = stack_model(amplitude_um, tau_s, parameters=parameters)
    protocol = protocols.train(rate_hz, n_pulses, start_s=1.0)
    t_end = 1.0 + (n_pulses - 1) / rate_hz + AFTER_S
    # Sample finely enough to catch a pulse's peak (τ ≥ 20 ms), but at most 20,000 times.
    every = max(sample_every_s, t_end / 20000)
    start = time.perf_counter()
    ens = simulate(model, t_end, n_trajectories, seed=seed, protocol=protocol,
                   sample_every=every, n_threads=n_threads)
    wall = time.perf_counter() - start
    n_sub = 12 * int(model.parameters["n_camkii"])
    n_can = model.x0[model.species_index("CaN")]
    camkii = np.nanmax(ens.values("camkii_ca4cam_bound"), axis=1) / n_sub
    can = np.nanmax(ens.values("can_active"), axis=1) / n_can
    n = len(camkii)
    m_k, s_k = camkii.mean(), camkii.std(ddof=1) / math.sqrt(n)
    m_c, s_c = can.mean(), can.std(ddof=1) / math.sqrt(n)
    cov = np.cov(camkii, can, ddof=1)[0, 1] / n
    ratio = m_k / m_c
    ratio_se = abs(ratio) * math.sqrt(max((s_k / m_k) ** 2 + (s_c / m_c) ** 2
                                          - 2 * cov / (m_k * m_c), 0.0))
    return Activation(rate_hz, amplitude_um, m_k, s_k, m_c, s_c, ratio, ratio_se, wall)


# ------------------------------------------------------------------------------- V12

MWC_TOTALS_UM = {"cam": 0.2, "CaMKII": 70.0, "CaN": 1.6}    # BIOMD0000000183


def mwc_model(target: str, ca_um: float, *, volume_fl: float = 1.0) -> Model:
    """The MWC module with only ``target`` ("CaMKII" or "CaN") present and Ca²⁺ clamped at
    ``ca_um``."""
    other = {"CaMKII": "mwc_can_total", "CaN": "mwc_camkii_total"}[target]
    spec = {"model": {"name": f"mwc_{target}", "volume": f"{volume_fl} fL",
                      "include": [str(MODULES / "cam_mwc.toml")]},
            "parameters": {other: "0 uM"},
            "inputs": {"Ca_clamp": {"unit": "uM", "value": f"{ca_um} uM"}},
            "species": {"Ca": {"clamp": "Ca_clamp"}}}
    return Model.from_dict(spec, source=f"<MWC calmodulin with {target}>")


def mwc_equilibrium(ca_um: float, target: str, model: Model | None = None) -> float:
    """Mass-action equilibrium fraction of ``target`` bound to CaM at free Ca²⁺ ``ca_um``
    (the deterministic steady state; the SSA's differs by O(1/number of CaM)).

    With detailed balance the steady state is the equilibrium: free CaM in state (X, S)
    has concentration ``c0 · w_X · Π_{i∈S} Ca/K_X,i`` (w_T = 1, w_R = 1/L), and a target
    binds R-state CaM with K_d = koff/kon. Solved for the free target by bisection; the
    constants are read from the module's parameters."""
    model = mwc_model(target, ca_um) if model is None else model
    p = model.parameters

    def um(name):
        q = p[name]
        return float(q.to("uM").magnitude) if hasattr(q, "to") else float(q)

    def per_s(name):
        return float(p[name].to("1/s").magnitude)

    k_r = np.array([um(f"mwc_KR_{s}") for s in "ABCD"])
    c = np.array([float(p[f"mwc_c{s}"]) for s in "ABCD"])
    k_t = k_r / c
    big_l = float(p["mwc_L"])
    kd = per_s(f"mwc_koff_{target}") / float(p[f"mwc_kon_{target}"].to("1/uM/s").magnitude)
    z_t = np.prod(1 + ca_um / k_t)
    z_r = np.prod(1 + ca_um / k_r)
    cam = MWC_TOTALS_UM["cam"]
    total = MWC_TOTALS_UM[target]

    def free_target(x):   # bound from the CaM balance minus bound from the target balance
        bound = cam * (z_r / big_l) * x / kd / (z_t + (z_r / big_l) * (1 + x / kd))
        return total - x - bound
    x = brentq(free_target, 0.0, total)
    return (total - x) / total


@dataclass
class DoseResponse:
    target: str
    ca_um: np.ndarray
    bound: np.ndarray        # SSA steady-state fraction of the target bound (mean)
    bound_se: np.ndarray
    exact: np.ndarray        # equilibrium fraction


def dose_response(target: str, ca_levels_um, *, t_end_s: float, n_trajectories: int,
                  seed: int, n_threads: int | None = None) -> DoseResponse:
    """SSA steady-state fraction of ``target`` bound to CaM at each clamped Ca²⁺ level:
    each trajectory's time average over [t_end/2, t_end] (the binding of calcineurin to
    apo-CaM relaxes with τ ≈ 200 s at Stefan et al.'s totals, so t_end ≥ 2000 s)."""
    means, ses, exact = [], [], []
    for ca in ca_levels_um:
        model = mwc_model(target, ca)
        ens = simulate(model, t_end_s, n_trajectories, seed=seed, n_threads=n_threads,
                       sample_times=np.linspace(t_end_s / 2, t_end_s, 101))
        observable = "camkii_bound" if target == "CaMKII" else "can_active"
        total = model.x0[model.species_index("CaMKII_subunit" if target == "CaMKII"
                                             else "CaN")]
        per_trajectory = ens.values(observable).mean(axis=1) / total
        means.append(per_trajectory.mean())
        ses.append(per_trajectory.std(ddof=1) / math.sqrt(len(per_trajectory)))
        exact.append(mwc_equilibrium(ca, target, model))
    return DoseResponse(target, np.asarray(ca_levels_um, dtype=float), np.array(means),
                        np.array(ses), np.array(exact))


def ec50(ca_um, response, low: float, high: float) -> float:
    """Ca²⁺ (µM) at which ``response`` is halfway from ``low`` to ``high``, interpolated
    linearly in log Ca between the two levels around it (NaN if it is not crossed)."""
    ca_um = np.asarray(ca_um, dtype=float)
    normalised = (np.asarray(response, dtype=float) - low) / (high - low)
    for k in range(1, len(ca_um)):
        a, b = normalised[k - 1], normalised[k]
        if (a - 0.5) * (b - 0.5) <= 0 and a != b:
            x = (0.5 - a) / (b - a)
            return float(np.exp(np.log(ca_um[k - 1]) + x * (np.log(ca_um[k])
                                                            - np.log(ca_um[k - 1]))))
    return math.nan
