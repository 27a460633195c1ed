"""Pearson χ² goodness of fit against master-equation probabilities, shared by the
statistical tests of ring and complex rules (cells pooled from the expected counts only)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def pooled_cells(expected) -> list[np.ndarray]:
    """Cells for the χ² test: every cell with expected count >= 5 on its own; the others
    pooled into one cell, adding the smallest remaining cells until it reaches 5. Decided
    from the expected counts only, never from the observations."""
    expected = np.asarray(expected, dtype=float)
    order = np.argsort(expected, kind="stable")
    m = 0
    while m < len(order) and (expected[order[m]] < 5 or 0 < expected[order[:m]].sum() < 5):
        m += 1
    cells = [order[j:j + 1] for j in range(m, len(order))]
    if m:
        cells.append(order[:m])
    return cells


def chi2_test(observed, probabilities, n):
    """Pearson χ² against `probabilities` with pooled cells (pooled_cells).
    Returns (statistic, degrees of freedom, p value)."""
    observed = np.asarray(observed, dtype=float)
    expected = n * np.asarray(probabilities, dtype=float)
    assert observed.sum() == n and abs(expected.sum() - n) < 1e-6 * n
    cells = pooled_cells(expected)
    cells_o = np.array([observed[c].sum() for c in cells])
    cells_e = np.array([expected[c].sum() for c in cells])
    assert cells_e.min() >= 5 and len(cells_e) >= 2
    statistic = float(np.sum((cells_o - cells_e) ** 2 / cells_e))
    df = len(cells_e) - 1
    return statistic, df, float(stats.chi2.sf(statistic, df))


def power(probabilities_true, probabilities_tested, n, alpha):
    """Power of chi2_test(·, probabilities_tested) at level alpha when the truth is
    probabilities_true: non-central χ² (the standard large-n approximation) with
    non-centrality n Σ (p_true − p_tested)² / p_tested over the same pooled cells.
    Returns (power, non-centrality)."""
    cells = pooled_cells(n * probabilities_tested)
    p_true = np.array([probabilities_true[c].sum() for c in cells])
    p_tested = np.array([probabilities_tested[c].sum() for c in cells])
    nc = n * np.sum((p_true - p_tested) ** 2 / p_tested)
    df = len(cells) - 1
    return float(stats.ncx2.sf(stats.chi2.isf(alpha, df), df, nc)), nc
