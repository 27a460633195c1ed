"""DSMTS acceptance from the original SBML files (tests/data/dsmts_sbml/).

Each supported case is read with the SBML importer, simulated at n = 10,000 and judged with
the suite's own expected values (``NNNNN-results.csv``) and settings (``NNNNN-settings.txt``),
under the same rules, seeds and rerun policy as the JSON cases of test_dsmts.py. Cases
00033–00036 must be refused with a clear message.

The acceptance seed is fixed (DEFAULT_SEED) and must never be re-picked to make a case pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stochsyn import ModelError
from stochsyn.validation import dsmts, dsmts_sbml

DATA = Path(__file__).resolve().parents[1] / "data" / "dsmts_sbml"
SUPPORTED = dsmts.case_ids()
REFUSED = {
    "00033": ["event 'reset'", "triggered by the state", "'P2 > 30'"],
    "00034": ["reaction 'Dimerisation'", "is not mass action",
              "depends on 'P2', which is not a reactant"],
    "00035": ["reaction 'Dimerisation'", "is not mass action",
              "depends on 'P2', which is not a reactant"],
    "00036": ["reaction 'Dimerisation'", "is not mass action",
              "depends on 'P2', which is not a reactant"],
}


def test_data_folder_holds_all_39_cases_and_attribution():
    for number in range(1, 40):
        files = dsmts_sbml.case_files(number, DATA)
        assert all(path.is_file() for path in files.values()), files
    text = (DATA / "README.md").read_text()
    assert "Evans" in text and "24:285" in text and "LGPL" in text
    assert "7ab011efe471877987b5d6dcba8cc19a6ff71254" in text
    assert len(SUPPORTED) == 35 and not set(SUPPORTED) & set(REFUSED)


@pytest.mark.parametrize("cid", SUPPORTED)
def test_sbml_case_matches_the_bundled_json_case(cid):
    """The importer finds what the neutral JSON states: species, initial counts, rate
    constants, events; and the CSV files give the same expected values."""
    case, model = dsmts_sbml.load_case(cid, DATA)
    reference = dsmts.load_case(cid)
    assert case["checked_species"] == reference["checked_species"]
    assert case["times"] == reference["times"]
    for key in ("mean_range", "sd_range"):
        assert case["test"][key] == reference["test"][key]
    for name in case["checked_species"]:
        np.testing.assert_allclose(case["expected"][name]["mean"],
                                   reference["expected"][name]["mean"], rtol=1e-12)
        np.testing.assert_allclose(case["expected"][name]["sd"],
                                   reference["expected"][name]["sd"], rtol=1e-12)
    json_model = dsmts.case_model_dict(reference)
    assert dict(zip(model.species, model.x0)) == json_model["species"]
    assert {r.name: r.rate for r in model.reactions} == pytest.approx(
        {r["name"]: r["rate"] for r in json_model["reactions"]}, rel=1e-12)
    assert len(model.interventions) == len(json_model.get("interventions", []))


@pytest.mark.parametrize("cid", sorted(REFUSED))
def test_unsupported_cases_are_refused_with_a_clear_message(cid):
    path = dsmts_sbml.case_files(cid, DATA)["sbml"]
    with pytest.raises(ModelError) as info:
        dsmts_sbml.load_case(cid, DATA)
    text = str(info.value)
    assert text.startswith(str(path))
    for fragment in REFUSED[cid]:
        assert fragment in text, text


def test_settings_and_results_readers():
    settings = dsmts_sbml.read_settings(DATA / "00024-settings.txt")
    assert settings == {"start": 0.0, "duration": 50.0, "steps": 50,
                        "variables": ["X", "Source", "Sink"],
                        "amount": ["X", "Source", "Sink"], "concentration": [],
                        "mean_range": [-3.0, 3.0], "sd_range": [-5.0, 5.0]}
    times, expected = dsmts_sbml.read_results(DATA / "00019-results.csv")
    assert times.tolist() == [float(t) for t in range(51)]
    assert set(expected) == {"X", "y"}
    assert expected["y"]["mean"][0] == 200.0 and expected["y"]["sd"][1] == 9.09668


@pytest.mark.parametrize("cid", SUPPORTED)
def test_dsmts_sbml_case_passes(cid):
    """Acceptance: every supported case, read from its original SBML, PASSes at
    n = 10,000 under the DSMTS rule (κ₄-corrected Y for 00003, as for the JSON cases)."""
    res = dsmts_sbml.run_case(cid, DATA, 10_000, seed=dsmts.DEFAULT_SEED)
    detail = res.report()
    assert res.verdict == "PASS", detail
    assert res.n == 10_000
    assert res.kurtosis_corrected == (cid in dsmts.KURTOSIS_CORRECTED_CASES)
