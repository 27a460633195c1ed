"""docs/science.md §9 V2: NMDA g(V)/g(+40 mV) against Jahr & Stevens, for both receptor modules.

Two separate checks (stochsyn.validation.nmda_iv):

* the model: the exact expectation of the protocol (1 mM glutamate for 100 ms, clamp, 15
  receptors, master equation by matrix exponentials) lies within V2's band of B_JS at every
  voltage from −80 to 0 mV (0.05 at V ≤ −50 mV, 0.15 from −40 to 0 mV) — deterministic;
* the engine: the SSA estimate of the mean open, unblocked count g(V) agrees with that exact
  value; 12 conditions, each |Z| < 4 (family false-alarm rate ≈ 1e-3).

Seed 20261122, frozen; conditions draw independent streams (variant 2 of
mg_block.condition_seed). analysis/mg_block.py draws the full curve (PNG + CSV).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn.validation import nmda_iv as iv

ROOT = Path(__file__).resolve().parents[2]
TEST_VOLTAGES = (-80.0, -50.0, -20.0, -10.0, 0.0, 40.0)


@pytest.mark.parametrize("scheme", sorted(iv.MODULES))
def test_the_model_meets_jahr_stevens_within_the_v2_band(scheme):
    g40 = iv.exact_conductance(scheme, 40.0)
    for v in iv.VOLTAGES_MV:
        gap = abs(iv.exact_conductance(scheme, v) / g40 - float(iv.jahr_stevens(v)))
        assert gap <= iv.tolerance(v), (scheme, v, gap)


def test_a_wrong_block_would_fail_the_band():
    """Negative control: with the conductance read 10 mV off (a shifted block curve) the
    band is violated, so the check has power."""
    g40 = iv.exact_conductance("vcr", 40.0)
    gaps = [abs(iv.exact_conductance("vcr", v + 10.0) / g40 - float(iv.jahr_stevens(v)))
            - iv.tolerance(v) for v in iv.VOLTAGES_MV if v <= 0]
    assert max(gaps) > 0


@pytest.mark.parametrize("scheme", sorted(iv.MODULES))
def test_the_engine_reproduces_the_exact_conductance(scheme):
    spec = ss.load_model(ROOT / "reactions" / "modules" / iv.MODULES[scheme]).spec
    points = iv.run(scheme, spec, voltages=TEST_VOLTAGES, n_trajectories=2000)
    z = {p.v_mv: (p.g - p.g_exact) / p.g_se for p in points}
    assert all(abs(value) < 4 for value in z.values()), z
    # and a wrong reference is rejected: the exact value 10 mV away
    wrong = [abs(p.g - iv.exact_conductance(scheme, p.v_mv + 10.0)) / p.g_se
             for p in points if -50.0 <= p.v_mv <= 0.0]
    assert max(wrong) > 4
