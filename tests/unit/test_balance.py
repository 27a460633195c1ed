"""Detailed balance (``detailed_balance = true``): the check of closed cycles of rates.

Exact cases: a three-state cycle balances iff the product of its equilibrium constants is 1;
the MWC calmodulin module (Stefan et al. 2008, rates derived from K_R, c, L) passes, and
breaking one of its 160 rates by 1 % is refused with that rule's cycle named.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import stochsyn as ss
from stochsyn.model.compose import compose

MODULES = Path(__file__).resolve().parents[2] / "reactions" / "modules"


def triangle(k_ca_fwd: float) -> dict:
    return {"species": {"A": 10, "B": 0, "C": 0},
            "reactions": [
                {"name": "ab", "equation": "A <-> B", "rate": [1, 2], "detailed_balance": True},
                {"name": "bc", "equation": "B <-> C", "rate": [3, 4], "detailed_balance": True},
                {"name": "ca", "equation": "C <-> A", "rate": [k_ca_fwd, 1],
                 "detailed_balance": True}]}


def test_a_balanced_cycle_passes_and_an_unbalanced_one_is_named():
    ss.Model.from_dict(triangle(8 / 3))                  # (1/2)(3/4)(8/3) = 1
    with pytest.raises(ss.ModelError, match=r"cycle ab_fwd; bc_fwd; ca_fwd .* is 1.125") as info:
        ss.Model.from_dict(triangle(3.0))
    assert "multiply the reverse rate of 'ca'" in info.value.hint
    unmarked = triangle(3.0)
    for reaction in unmarked["reactions"]:
        del reaction["detailed_balance"]
    ss.Model.from_dict(unmarked)                          # not checked unless marked


def test_an_irreversible_marked_rule_is_refused():
    spec = {"species": {"A": 1, "B": 0},
            "reactions": [{"name": "ab", "equation": "A -> B", "rate": 1,
                           "detailed_balance": True}]}
    with pytest.raises(ss.ModelError, match="is irreversible"):
        ss.Model.from_dict(spec)


def mwc_spec() -> dict:
    data, _ = compose({"model": {"name": "mwc", "volume": "1 fL",
                                 "include": [str(MODULES / "cam_mwc.toml")]}}, source="test")
    return data


def test_the_mwc_module_balances_and_a_one_percent_error_is_refused():
    spec = mwc_spec()
    model = ss.Model.from_dict(copy.deepcopy(spec))
    assert sum(1 for r in model.reactions if r.rule.startswith("mwc_TR")) == 32
    broken = copy.deepcopy(spec)
    rule = next(r for r in broken["reactions"] if r["name"] == "mwc_TR_AC")
    rule["rate"][1] = f"1.01 * ({rule['rate'][1]})"
    with pytest.raises(ss.ModelError, match=r"is 0\.990099|is 1\.01") as info:
        ss.Model.from_dict(broken)
    assert "mwc_TR_AC" in str(info.value)


def test_the_two_lobe_calmodulin_module_balances():
    model = ss.Model.from_dict({"model": {"volume": "0.1 fL",
                                          "include": [str(MODULES / "cam_two_lobe.toml")]}})
    assert len(model.reactions) == 24
