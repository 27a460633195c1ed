"""stochsyn.trafficking.summary: the Δweight table (mean ± SE, 95 % CI, fractions)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import stochsyn as ss


def test_t_quantile_matches_scipy_for_every_degree_of_freedom():
    for dof in list(range(1, 61)) + [100, 199, 1000]:
        assert ss.trafficking.t_quantile_975(dof) == pytest.approx(
            stats.t.ppf(0.975, dof), abs=1e-4)
    with pytest.raises(ValueError, match="degree of freedom"):
        ss.trafficking.t_quantile_975(0)


def test_summary_is_the_textbook_mean_se_and_t_interval():
    d = np.array([-30.0, -12.0, -5.0, 0.0, 8.0, 11.0, 45.0])
    row = ss.trafficking.summary(d).iloc[0]
    se = d.std(ddof=1) / np.sqrt(7)
    low, high = stats.t.interval(0.95, 6, loc=d.mean(), scale=se)
    assert row["n"] == 7 and row["n_missing"] == 0
    assert row["delta_weight_pct_mean"] == pytest.approx(d.mean())
    assert row["delta_weight_pct_se"] == pytest.approx(se)
    assert row["ci95_low_pct"] == pytest.approx(low, rel=1e-4)
    assert row["ci95_high_pct"] == pytest.approx(high, rel=1e-4)
    # strictly beyond ±10 %: 11 and 45 potentiated; -30 and -12 depressed
    assert row["fraction_potentiated"] == pytest.approx(2 / 7)
    assert row["fraction_depressed"] == pytest.approx(2 / 7)
    assert row["threshold_pct"] == ss.trafficking.CHANGE_THRESHOLD_PCT == 10.0


def test_threshold_is_strict_and_adjustable():
    d = [10.0, -10.0, 10.5, -10.5]
    row = ss.trafficking.summary(d).iloc[0]
    assert row["fraction_potentiated"] == 0.25 and row["fraction_depressed"] == 0.25
    row = ss.trafficking.summary(d, threshold_pct=0).iloc[0]
    assert row["fraction_potentiated"] == 0.5 and row["fraction_depressed"] == 0.5
    with pytest.raises(ValueError, match=">= 0"):
        ss.trafficking.summary(d, threshold_pct=-1)


def test_missing_trajectories_are_counted_not_averaged():
    row = ss.trafficking.summary([np.nan, 20.0, 40.0]).iloc[0]
    assert row["n"] == 2 and row["n_missing"] == 1
    assert row["delta_weight_pct_mean"] == 30.0
    assert row["fraction_potentiated"] == 1.0
    one = ss.trafficking.summary([5.0]).iloc[0]
    assert one["delta_weight_pct_mean"] == 5.0 and np.isnan(one["delta_weight_pct_se"])
    assert np.isnan(one["ci95_low_pct"])
    none = ss.trafficking.summary([]).iloc[0]
    assert none["n"] == 0 and np.isnan(none["delta_weight_pct_mean"])


def test_groups_keep_their_order_and_match_the_ungrouped_rows():
    table = pd.DataFrame({"condition": ["LFS", "LFS", "HFS", "HFS", "HFS"],
                          "delta_weight_pct": [-20.0, -30.0, 50.0, 70.0, 60.0]})
    out = ss.trafficking.summary(table, by="condition")
    assert list(out["condition"]) == ["LFS", "HFS"]
    hfs = ss.trafficking.summary([50.0, 70.0, 60.0]).iloc[0]
    assert out.iloc[1]["ci95_high_pct"] == pytest.approx(hfs["ci95_high_pct"])
    with pytest.raises(KeyError, match="no column 'rate'"):
        ss.trafficking.summary(table, by="rate")
    with pytest.raises(KeyError, match="delta_weight_pct"):
        ss.trafficking.summary(pd.DataFrame({"x": [1.0]}))
