"""V13: lifetimes of the UP and DOWN states of a stochastic CaMKII/PP1 switch at rest.

Model: ``reactions/examples/camkii_switch.toml`` (the reduced switch of Miller et al. 2005,
PLoS Biol 3:e107, with the calibration its header explains). Half the trajectories start
with every holoenzyme fully phosphorylated, half with none, and run at resting Ca²⁺ for a
long time; the
fraction of pT286 subunits is sampled on a fixed grid, and the trajectory is cut into UP
and DOWN episodes by two thresholds (UP from the first sample >= ``UP_FRACTION``, DOWN from
the first sample <= ``DOWN_FRACTION``: :func:`stochsyn.decoding.switch_episodes`). Mean
dwell times are the maximum-likelihood means of exponential lifetimes with the episodes
still running at the end counted as censored (:func:`stochsyn.decoding.exponential_mean`).

How the long lifetimes are reached: by direct simulation. At rest the switch makes few
events (≈ 2,000 per holoenzyme and simulated day: autophosphorylation at k1·f ≈ 0.004 /s,
PP1 at its saturated rate), so a trajectory of a simulated year costs about 10⁶–10⁷
events, a fraction of a second to a few seconds, and the engine runs its plain exact loop
(no time-dependent input). This reaches N ≈ 10 holoenzymes, where episodes last about a
year; beyond, :func:`fit_log_lifetime` extrapolates the measured exponential growth, with
its confidence band (importance splitting would reach further but is not implemented).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .. import simulate
from ..decoding import exponential_mean, switch_episodes
from . import REPOSITORY, load_repository_model

MODEL = REPOSITORY / "reactions" / "examples" / "camkii_switch.toml"
UP_FRACTION = 0.55     # pT286 fraction that enters UP (the UP state sits at 0.65-0.9)
DOWN_FRACTION = 0.1    # ... that enters DOWN (the DOWN state sits below 0.05). Thresholds
#: near the two basins, far from the saddle (≈ 0.3): a lower UP threshold counts failed
#: excursions from DOWN as short UP episodes (at 0.4, 14 of 72 UP episodes lasted < 5 h
#: for N = 6 and the exponential law was rejected; at 0.55, 1 of 50, KS p = 0.56).
HOUR = 3600.0


@dataclass
class DwellTimes:
    """Dwell times of one configuration of the switch (times in hours)."""

    n_holo: int
    n_pp1: int
    turnover: bool
    n_trajectories: int
    t_end_h: float
    up_h: np.ndarray            # completed UP episodes
    down_h: np.ndarray
    up_censored_h: np.ndarray
    down_censored_h: np.ndarray
    events: int                 # reaction events over all trajectories
    wall_s: float
    stopped: int                # trajectories that hit the event budget
    pp1_active_fraction: float = math.nan   # the calibration it ran with (for tables)

    def mean(self, state: str) -> tuple[float, float, int]:
        """(mean dwell h, its standard error h, completed episodes) of "UP" or "DOWN"."""
        done, open_ = ((self.up_h, self.up_censored_h) if state == "UP"
                       else (self.down_h, self.down_censored_h))
        return exponential_mean(done, open_)

    def ks_exponential(self, state: str) -> float:
        """p value of a Kolmogorov–Smirnov test of the completed episodes against the
        exponential law of the estimated mean (NaN with fewer than 8 episodes). The mean is
        estimated from the same data, which makes the test conservative (Lilliefors)."""
        done = self.up_h if state == "UP" else self.down_h
        if len(done) < 8:
            return math.nan
        return float(stats.kstest(done, "expon", args=(0.0, self.mean(state)[0])).pvalue)


def switch_model(n_holo: int, *, n_pp1: int | None = None, turnover: bool = False,
                 start_up: bool = True, model=None):
    """The switch with ``n_holo`` holoenzymes (all starting phosphorylated, or none with
    ``start_up=False``), ``n_pp1`` PP1 (default ``n_holo``), turnover at 1/(30 h) or off."""
    model = load_repository_model(MODEL) if model is None else model
    values = {"n_holo": n_holo, "n_up": n_holo if start_up else 0,
              "n_pp1": n_holo if n_pp1 is None else n_pp1}
    if not turnover:
        values["turnover"] = "0 /s"
    return model.with_parameters(**values)


def dwell_times(n_holo: int, *, t_end_h: float, n_trajectories: int, seed: int,
                n_pp1: int | None = None, turnover: bool = False, sample_every_h: float = 0.25,
                max_events: int = 10**9, n_threads: int | None = None,
                model=None) -> DwellTimes:
    """Simulate ``n_trajectories`` trajectories of ``t_end_h`` hours -- the first half
    starting UP (every subunit pT286), the others DOWN, so that both states are measured
    even where one of them almost never ends -- and cut them into UP and DOWN episodes.
    Trajectory i (of either half) draws from ``SeedSequence(seed, spawn_key=(i,))``."""
    halves = ((True, 0, (n_trajectories + 1) // 2),
              (False, (n_trajectories + 1) // 2, n_trajectories // 2))
    done = {"UP": [], "DOWN": []}
    open_ = {"UP": [], "DOWN": []}
    events, stopped, wall = 0, 0, 0.0
    for start_up, first, count in halves:
        if count == 0:
            continue
        m = switch_model(n_holo, n_pp1=n_pp1, turnover=turnover, start_up=start_up,
                         model=model)
        start = time.perf_counter()
        ens = simulate(m, t_end_h * HOUR, count, seed=seed, first_trajectory=first,
                       sample_every=sample_every_h * HOUR, max_events=max_events,
                       n_threads=n_threads, on_stop="ignore")
        wall += time.perf_counter() - start
        fraction = ens.values("pt286") / (12 * n_holo)
        episodes = switch_episodes(ens.times / HOUR, fraction, UP_FRACTION, DOWN_FRACTION)
        done["UP"].append(episodes.up)
        done["DOWN"].append(episodes.down)
        open_["UP"].append(episodes.up_censored)
        open_["DOWN"].append(episodes.down_censored)
        events += int(ens.n_events.sum())
        stopped += int(np.count_nonzero(ens.status))
    return DwellTimes(n_holo, n_holo if n_pp1 is None else n_pp1, turnover, n_trajectories,
                      t_end_h, np.concatenate(done["UP"]), np.concatenate(done["DOWN"]),
                      np.concatenate(open_["UP"]), np.concatenate(open_["DOWN"]), events,
                      wall, stopped, float(m.parameters["pp1_active_fraction"]))


@dataclass
class LogLinearFit:
    """ln(mean dwell time / h) = intercept + slope · N, weighted least squares."""

    slope: float
    slope_se: float
    intercept: float
    r2: float
    covariance: np.ndarray

    def predict_h(self, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, lower, upper) of the extrapolated mean dwell time (h), the band being
        ± 1.96 standard errors of the fitted line."""
        n = np.asarray(n, dtype=float)
        log_mean = self.intercept + self.slope * n
        design = np.stack([np.ones_like(n), n], axis=-1)
        se = np.sqrt(np.einsum("...i,ij,...j->...", design, self.covariance, design))
        return np.exp(log_mean), np.exp(log_mean - 1.96 * se), np.exp(log_mean + 1.96 * se)


def fit_log_lifetime(n_holo, means_h, ses_h) -> LogLinearFit:
    """Weighted least squares of ln(mean) on N; the weight of a point is 1/var(ln mean),
    var(ln mean) ≈ (se/mean)² = 1/k for k completed episodes. r² is the weighted
    coefficient of determination."""
    n = np.asarray(n_holo, dtype=float)
    y = np.log(np.asarray(means_h, dtype=float))
    var = (np.asarray(ses_h, dtype=float) / np.asarray(means_h, dtype=float)) ** 2
    w = 1.0 / var
    design = np.stack([np.ones_like(n), n], axis=1)
    normal = design.T @ (design * w[:, None])
    covariance = np.linalg.inv(normal)
    beta = covariance @ (design.T @ (w * y))
    fitted = design @ beta
    mean_y = np.sum(w * y) / np.sum(w)
    r2 = 1.0 - np.sum(w * (y - fitted) ** 2) / np.sum(w * (y - mean_y) ** 2)
    return LogLinearFit(float(beta[1]), float(math.sqrt(covariance[1, 1])), float(beta[0]),
                        float(r2), covariance)
