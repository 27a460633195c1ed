"""Figures of an ensemble: mean ± sd (or sem) bands and a few single trajectories.

matplotlib is an optional dependency (``pip install 'stochsyn[analysis]'``) and is imported
only when a figure is drawn.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt     # headless, matplotlib picks Agg by itself
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'stochsyn[analysis]'"
                          ) from None
    return plt


def plot_ensemble(ens, names: Sequence[str] | str | None = None, *, ax=None,
                  n_examples: int = 3, by: Sequence[str] | None = None, band: str = "sd"):
    """Draw each name in its own panel: the mean over trajectories with a ± sd (or ± sem)
    band, and ``n_examples`` single trajectories; one colour per sweep point.

    Parameters
    ----------
    ens : stochsyn.Ensemble
        (read through its public methods only: ``values``, ``unit_of``, ``groups``)
    names : str or sequence of str, optional
        Species or observables (default: the observables, else the first 4 species).
    ax : matplotlib Axes or sequence of Axes, optional
        Where to draw (one per name); default a new figure.
    n_examples : int
        Single trajectories drawn per panel (per sweep point), thin lines.
    by : sequence of str, optional
        Sweep columns that make the groups (default: all but ``point``).
    band : {"sd", "sem"}

    Returns
    -------
    matplotlib Figure
    """
    if band not in ("sd", "sem"):
        raise ValueError("band must be 'sd' or 'sem'")
    plt = _pyplot()
    if isinstance(names, str):
        names = [names]
    names = list(names or list(ens.observables) or list(ens.species)[:4])
    if ax is None:
        figure, axes = plt.subplots(len(names), 1, figsize=(7, 2.6 * len(names) + 0.6),
                                    sharex=True, squeeze=False)
        axes = list(axes[:, 0])
    else:
        axes = list(np.atleast_1d(ax))
        if len(axes) != len(names):
            raise ValueError(f"give one Axes per name ({len(names)}), not {len(axes)}")
        figure = axes[0].figure
    by, groups = ens.groups(by)
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    times = ens.times
    scale, time_unit = (1e3, "ms") if len(times) and times[-1] <= 2.0 else (1.0, "s")
    for axis, name in zip(axes, names):
        values = ens.values(name)
        for g, (key, rows) in enumerate(groups):
            colour = colours[g % len(colours)]
            x = values[rows]
            n = np.sum(~np.isnan(x), axis=0)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN after stops
                mean = np.nanmean(x, axis=0)
                spread = np.nanstd(x, axis=0, ddof=1)
            if band == "sem":
                spread = spread / np.sqrt(n)
            label = ", ".join(f"{c}={v:g}" if isinstance(v, (int, float, np.floating))
                              else f"{c}={v}" for c, v in zip(by, key))
            label = (label + ", " if label else "") + f"N={x.shape[0]}"
            for k in range(min(n_examples, x.shape[0])):
                axis.plot(times * scale, x[k], color=colour, lw=0.6, alpha=0.45, zorder=1)
            axis.fill_between(times * scale, mean - spread, mean + spread, color=colour,
                              alpha=0.2, lw=0, zorder=2)
            axis.plot(times * scale, mean, color=colour, lw=2.0, zorder=3,
                      label=f"mean ± {band} ({label})")
        axis.set_ylabel(f"{name} ({ens.unit_of(name)})")
        axis.legend(fontsize="small", loc="best", frameon=False)
    axes[-1].set_xlabel(f"time ({time_unit})")
    provenance = ens.provenance
    axes[0].set_title(f"{provenance.get('model_name', '')}: seed {provenance.get('seed')}, "
                      f"{ens.n_trajectories} trajectories; thin lines: {n_examples} single "
                      "trajectories", fontsize="medium")
    figure.tight_layout()
    return figure
