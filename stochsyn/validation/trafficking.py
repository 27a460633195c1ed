"""V17 and V18 for the AMPA-receptor trafficking module alone (docs/trafficking.md).

* **V18** (trafficking block): with exocytosis blocked, the PSD receptors roughly halve in
  ~10 min; with endocytosis blocked they nearly double within ~1 h (Earnshaw & Bressloff
  2006; Lüscher et al. 1999), "within x2 in time".
* **V17** (baseline stability, the module's part): at rest, no drift of the receptor numbers
  or of the weight over 2 h (|Δw| < 5 % for the ensemble mean).

Both run the standalone module (``reactions/modules/ampar_trafficking.toml``, the enzyme
activities at their resting values) through the public API; the blocks are the protocols
:func:`stochsyn.protocols.block_exocytosis` and :func:`~stochsyn.protocols.block_endocytosis`
applied after a baseline. Used by ``analysis/trafficking.py`` and the slow test
``tests/statistical/test_trafficking_v18.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import protocols, simulate, trafficking
from . import REPOSITORY

MODEL = REPOSITORY / "reactions" / "modules" / "ampar_trafficking.toml"
#: Baseline before the block (s), and the spacing of the samples (s).
BASELINE_S = 600.0
SAMPLE_EVERY_S = 60.0
CONDITIONS = ("rest", "exocytosis blocked", "endocytosis blocked")
_BLOCKS = {"rest": None, "exocytosis blocked": protocols.block_exocytosis,
           "endocytosis blocked": protocols.block_endocytosis}


@dataclass(frozen=True)
class BlockRun:
    """The ensemble mean time course of one condition, relative to its own baseline.

    Attributes
    ----------
    condition : str
    minutes : (n_times,) ndarray
        Time after the block (min); negative during the baseline.
    psd_ratio, psd_sem : (n_times,) ndarray
        Mean over trajectories of PSD receptors / the trajectory's baseline mean, and its SE.
    weight_ratio, weight_sem : (n_times,) ndarray
        The same for the synaptic weight (:func:`stochsyn.trafficking.weight`).
    baseline_psd : float
        Mean PSD receptors over the baseline (all trajectories).
    n_trajectories : int
    per_trajectory : dict of (n_trajectories, n_times) ndarray
        ``"psd"`` and ``"weight"``: each trajectory's ratio to its own baseline.
    """

    condition: str
    minutes: np.ndarray
    psd_ratio: np.ndarray
    psd_sem: np.ndarray
    weight_ratio: np.ndarray
    weight_sem: np.ndarray
    baseline_psd: float
    n_trajectories: int
    per_trajectory: dict

    def window(self, start_min: float, end_min: float, name: str = "psd"
               ) -> tuple[float, float]:
        """(mean, SE) over trajectories of each trajectory's mean ratio in the window
        [start_min, end_min] after the block: one number per trajectory, so the SE is
        that of independent values."""
        inside = (self.minutes >= start_min - 1e-9) & (self.minutes <= end_min + 1e-9)
        if not inside.any():
            raise ValueError(f"no sample between {start_min:g} and {end_min:g} min")
        values = np.nanmean(self.per_trajectory[name][:, inside], axis=1)
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))

    def at(self, minutes: float) -> tuple[float, float]:
        """(PSD ratio, its SE) at the sample nearest ``minutes`` after the block."""
        k = int(np.argmin(np.abs(self.minutes - minutes)))
        return float(self.psd_ratio[k]), float(self.psd_sem[k])

    def first_time(self, level: float, below: bool) -> float:
        """Minutes after the block at which the mean PSD ratio first reaches ``level``
        (from above if ``below``), linearly interpolated between samples; NaN if never."""
        after = self.minutes >= 0
        t, r = self.minutes[after], self.psd_ratio[after]
        hit = np.nonzero(r <= level if below else r >= level)[0]
        if not len(hit):
            return float("nan")
        k = hit[0]
        if k == 0:
            return float(t[0])
        return float(t[k - 1] + (level - r[k - 1]) * (t[k] - t[k - 1]) / (r[k] - r[k - 1]))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"condition": self.condition, "minutes_after_block": self.minutes,
                             "psd_ratio": self.psd_ratio, "psd_sem": self.psd_sem,
                             "weight_ratio": self.weight_ratio,
                             "weight_sem": self.weight_sem})


def run_condition(model, condition: str, *, n_trajectories: int, seed: int,
                  after_s: float = 7200.0, n_threads: int | None = None) -> BlockRun:
    """Simulate one condition: ``BASELINE_S`` at rest, then the block (or nothing) for
    ``after_s`` seconds.

    Parameters
    ----------
    model : Model
        A model with the trafficking module (parameters ``k_exo``, ``k_endo``).
    condition : str
        One of :data:`CONDITIONS`.
    n_trajectories, seed : int
    after_s : float
        Simulated time after the block (s).
    """
    if condition not in _BLOCKS:
        raise ValueError(f"unknown condition {condition!r}; one of {', '.join(CONDITIONS)}")
    block = _BLOCKS[condition]
    ens = simulate(model, t_end=BASELINE_S + after_s, n_trajectories=n_trajectories,
                   seed=seed, sample_every=SAMPLE_EVERY_S, progress=False,
                   protocol=block(start_s=BASELINE_S) if block else None,
                   n_threads=n_threads)
    times = np.asarray(ens.times)
    baseline = times < BASELINE_S - 1e-9
    psd = ens.values("ampar_psd")
    reference = psd[:, baseline].mean(axis=1, keepdims=True)
    ratio = psd / reference
    w = trafficking.weight(ens, baseline=(0.0, BASELINE_S - SAMPLE_EVERY_S))
    n = ens.n_trajectories
    return BlockRun(condition=condition, minutes=(times - BASELINE_S) / 60.0,
                    psd_ratio=ratio.mean(axis=0), psd_sem=ratio.std(axis=0, ddof=1) / np.sqrt(n),
                    weight_ratio=np.nanmean(w, axis=0),
                    weight_sem=np.nanstd(w, axis=0, ddof=1) / np.sqrt(n),
                    baseline_psd=float(psd[:, baseline].mean()), n_trajectories=n,
                    per_trajectory={"psd": ratio, "weight": w})


def summary(runs: dict[str, BlockRun]) -> pd.DataFrame:
    """The V17/V18 figures of each condition (one row each)."""
    rows = []
    for name, run in runs.items():
        r10, s10 = run.at(10.0)
        r60, s60 = run.at(60.0)
        r120, s120 = run.at(120.0)
        late, late_sem = run.window(90.0, 120.0, "weight")
        rows.append({"condition": name, "n_trajectories": run.n_trajectories,
                     "baseline_psd": run.baseline_psd,
                     "psd_ratio_10min": r10, "sem_10min": s10,
                     "psd_ratio_60min": r60, "sem_60min": s60,
                     "psd_ratio_120min": r120, "sem_120min": s120,
                     "weight_ratio_120min": float(run.weight_ratio[-1]),
                     "weight_sem_120min": float(run.weight_sem[-1]),
                     "weight_ratio_90_120min": late, "weight_sem_90_120min": late_sem,
                     "minutes_to_half": run.first_time(0.5, below=True),
                     "minutes_to_1.7x": run.first_time(1.7, below=False)})
    return pd.DataFrame(rows)
