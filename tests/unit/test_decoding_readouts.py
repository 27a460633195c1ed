"""stochsyn.decoding: summaries, switch episodes, exponential means, T286 event tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn.decoding import (DOWN, UP, exponential_mean, summarize, switch_episodes,
                               t286_events)


def test_switch_episodes_use_two_thresholds_and_censor_the_last():
    times = np.arange(12.0)
    values = np.array([[0.9, 0.8, 0.3, 0.6, 0.05, 0.2, 0.3, 0.7, 0.8, 0.0, 0.1, 0.05]])
    ep = switch_episodes(times, values, up=0.55, down=0.1)
    # UP from 0; 0.3 and 0.6 do not switch; DOWN at 4 (0.05); UP at 7; DOWN at 9 to the end
    np.testing.assert_array_equal(ep.up, [4.0, 2.0])
    np.testing.assert_array_equal(ep.down, [3.0])
    np.testing.assert_array_equal(ep.down_censored, [2.0])
    np.testing.assert_array_equal(ep.first_up, [4.0])
    with pytest.raises(ValueError, match="up > down"):
        switch_episodes(times, values, up=0.1, down=0.5)


def test_exponential_mean_with_censoring():
    mean, se, k = exponential_mean([1.0, 3.0], [4.0])
    assert (mean, k) == (4.0, 2) and se == pytest.approx(4 / math.sqrt(2))
    assert exponential_mean([], [5.0]) == (math.inf, math.inf, 0)


RING = {
    "model": {"name": "ring"},
    "agents": {"CaMKII": {"sites": {"t286": ["u", "p"]}, "ring_size": 6, "complex_size": 12,
                          "initial": [{"count": 24}]}},
    "reactions": [
        {"name": "on", "equation": "CaMKII(t286=u) -> CaMKII(t286=p)", "rate": 0.5,
         "log": True},
        {"name": "off", "equation": "CaMKII(t286=p) -> CaMKII(t286=u)", "rate": 0.3,
         "log": True}],
    "observables": {"pt286": "CaMKII(t286=p)"},
}


def test_summary_and_t286_events_agree_with_the_samples():
    ens = ss.simulate(ss.Model.from_dict(RING), 10.0, 4, seed=5, sample_every=0.01,
                      record_events=True)
    table = summarize(ens, ["pt286"], thresholds={"pt286": [5, 10]},
                      switch=("pt286", 12, 3))
    values = ens.values("pt286")
    np.testing.assert_array_equal(table.pt286_peak, values.max(axis=1))
    np.testing.assert_array_equal(table.pt286_final, values[:, -1])
    assert np.all(table["pt286_time_above_5"] >= table["pt286_time_above_10"])
    expected = ((values[:, :-1] >= 5) * np.diff(ens.times)).sum(axis=1)
    np.testing.assert_allclose(table["pt286_time_above_5"], expected)
    assert set(table.final_state.dropna()) <= {UP, DOWN}
    events = t286_events(ens)
    assert set(events.holoenzyme) <= {0, 1} and set(events.subunit) <= set(range(12))
    for i in range(4):
        mine = events[events.trajectory == i]
        assert mine.change.sum() == values[i, -1]      # every change of pT286 replayed
