"""The direction of the maintenance pre-screen (analysis/maintenance_prescreen.py,
docs/trafficking.md "Maintenance options"): on the standalone trafficking module at the
default spine's resting activities, slot self-recruitment (K = 85, n = 24, 0.3 /s) keeps an
HFS-like enzyme pulse's potentiation for 20 min while resting synapses stay put and an
LTD-like state still depresses; without it the same pulse leaves nothing.

Frozen seed (the script's), 40 synapses per arm; bounds are 3 standard errors of the
ensemble mean (plus the ±5 % of a stable weight where "flat" is the claim)."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from .scripts import load_script


@pytest.fixture(scope="module")
def prescreen():
    return load_script("maintenance_prescreen")


def _arms(prescreen, name, n=40):
    rows, _ = prescreen.screen(name, n)
    return {row["arm"]: row for row in rows}


@pytest.mark.slow
def test_slot_self_recruitment_holds_a_pulse_and_leaves_rest_and_ltd_alone(prescreen):
    arms = _arms(prescreen, "recruit_K85_n24")
    pulse, rest, ltd = arms["HFS-like pulse"], arms["rest"], arms["LTD-like 15 min"]
    # lasting: well above +20 % at 20 min, and not decaying from 5 to 20 min
    assert pulse["dw_20min_pct"] - 3 * pulse["dw_20min_sem"] > 20.0
    assert pulse["dw_5_to_20min_pct"] + 3 * pulse["dw_5_to_20min_sem"] > 0.0
    # rest flat: within ±5 % beyond 3 SE, and no resting synapse switched
    assert abs(rest["dw_20min_pct"]) < 5.0 + 3 * rest["dw_20min_sem"]
    assert rest["switched_share"] == 0.0
    # the LTD-like state still depresses
    assert ltd["dw_20min_pct"] + 3 * ltd["dw_20min_sem"] < 0.0


@pytest.mark.slow
def test_without_a_maintenance_option_the_pulse_leaves_nothing(prescreen):
    pulse = _arms(prescreen, "none")["HFS-like pulse"]
    assert pulse["dw_20min_pct"] < 5.0 + 3 * pulse["dw_20min_sem"]
    assert pulse["switched_share"] == 0.0


def test_after_a_pulse_free_pp1_returns_to_the_resting_value(prescreen, monkeypatch):
    """The pulse arms set free PP1 back to ``SPINE_REST["pp1_free"]`` (``--rest-pp1``), not
    to a fixed count: with 6 of 12 free at rest, every post-train PP1 setting is 6."""
    monkeypatch.setitem(prescreen.SPINE_REST, "pp1_free", 6)
    monkeypatch.setitem(prescreen.ARMS, "HFS-like pulse", prescreen.SPINE_MEASURED_PULSE)
    for arm in ("HFS-like pulse", "LTD-like 15 min"):
        settings = [(i["time"] - prescreen.PULSE_AT_S, i["set"].get("PP1_free"))
                    for i in prescreen.build(prescreen.CANDIDATES["none"], arm).spec[
                        "interventions"]]
        during, *after = [pp1 for _, pp1 in settings if pp1 is not None]
        assert during in (0, 12)  # the train's own course is unchanged
        assert after == [6]
