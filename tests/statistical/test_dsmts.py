"""DSMTS validation suite: package data, model dicts, the evaluation rule, the exact κ₄ of
case 00003, and the acceptance test (every bundled case must PASS at n = 10,000).

The acceptance seed is fixed (20260601) and must never be re-picked to make a case pass:
a case that fails is an engine bug (or a data bug) to be reported.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from stochsyn.validation import dsmts

SEED = 20260601
ALL_CASES = [
    "00001", "00002", "00003", "00004", "00005", "00006", "00007", "00008", "00009",
    "00010", "00011", "00012", "00013", "00014", "00015", "00016", "00017", "00018",
    "00019", "00020", "00021", "00022", "00023", "00024", "00025", "00026", "00027",
    "00028", "00029", "00030", "00031", "00032", "00037", "00038", "00039",
]


# ----------------------------------------------------------------------- data


def test_case_ids_are_the_35_supported_cases():
    assert dsmts.case_ids() == ALL_CASES


def test_package_data_is_complete_and_consistent():
    for cid in ALL_CASES:
        case = dsmts.load_case(cid)
        assert case["case_id"] == cid
        assert case["times"] == [float(t) for t in range(51)]
        assert set(case["expected"]) == set(case["checked_species"])
        for arrays in case["expected"].values():
            assert len(arrays["mean"]) == len(arrays["sd"]) == 51
            assert min(arrays["sd"]) >= 0
        assert case["test"]["mean_range"] == [-3.0, 3.0]
        assert case["test"]["sd_range"] == [-5.0, 5.0]
        assert case["source"]["commit"] == "7ab011efe471877987b5d6dcba8cc19a6ff71254"
    assert dsmts.load_case(3)["case_id"] == "00003"
    assert dsmts.load_case("dsmts-003-03")["case_id"] == "00032"
    with pytest.raises(KeyError):
        dsmts.load_case("00033")  # state-triggered event: left out


def test_license_file_is_bundled():
    from importlib import resources

    text = resources.files("stochsyn.data").joinpath("dsmts", "LICENSE.md").read_text()
    assert "Evans" in text and "Gillespie" in text and "Wilkinson" in text
    assert "24:285" in text and "LGPL" in text
    assert "7ab011efe471877987b5d6dcba8cc19a6ff71254" in text


# ------------------------------------------------------------------ model dicts

_BD = [("Birth", "X -> 2 X", 0.1), ("Death", "X ->", 0.11)]
_BD_HALF = [("Birth", "X -> 2 X", 0.05), ("Death", "X ->", 0.055)]
_ID = lambda alpha: [("Immigration", "-> X", alpha), ("Death", "X ->", 0.1)]  # noqa: E731
_DIMER = [("Dimerisation", "2 P -> P2", 0.001), ("Disassociation", "P2 -> 2 P", 0.01)]

#: The case table of /work/shared/dsmts/README.md, written out independently of the data.
STATED = {
    "00001": ({"X": 100}, _BD),
    "00002": ({"X": 100}, _BD),
    "00003": ({"X": 100}, [("Birth", "X -> 2 X", 1.0), ("Death", "X ->", 1.1)]),
    "00004": ({"X": 10}, _BD),
    "00005": ({"X": 10000}, _BD),
    "00006": ({"X": 100, "Sink": 0}, _BD),
    "00007": ({"X": 100, "Sink": 0}, [("Birth", "X -> 2 X", 0.1), ("Death", "X -> Sink", 0.11)]),
    **{c: ({"X": 100}, _BD) for c in ["00008", "00009", "00010", "00012", "00013",
                                      "00014", "00015", "00016", "00017", "00019"]},
    "00011": ({"X": 100}, _BD_HALF),
    "00018": ({"X": 100}, _BD_HALF),
    "00020": ({"X": 0}, _ID(1.0)),
    "00021": ({"X": 0}, _ID(10.0)),
    "00022": ({"X": 0}, _ID(5.0)),
    "00023": ({"X": 0}, _ID(1000.0)),
    "00024": ({"X": 0, "Source": 0, "Sink": 0}, _ID(10.0)),
    "00025": ({"X": 0, "Source": 0, "Sink": 0},
              [("Immigration", "-> X", 10.0), ("Death", "X -> Sink", 0.1)]),
    "00026": ({"X": 0, "Source": 0, "Sink": 0}, _ID(10.0)),
    "00027": ({"X": 0}, _ID(1.0)),
    "00028": ({"X": 0}, _ID(1.0)),
    "00029": ({"X": 0}, _ID(1.0)),
    "00030": ({"P": 100, "P2": 0}, _DIMER),
    "00031": ({"P": 1000, "P2": 0},
              [("Dimerisation", "2 P -> P2", 0.0002), ("Disassociation", "P2 -> 2 P", 0.004)]),
    "00032": ({"P": 100, "P2": 0}, _DIMER),
    "00037": ({"X": 0}, [("Immigration", "-> 5 X", 1.0), ("Death", "X ->", 0.2)]),
    "00038": ({"X": 0}, [("Immigration", "-> 10 X", 1.0), ("Death", "X ->", 0.4)]),
    "00039": ({"X": 0}, [("Immigration", "-> 100 X", 1.0), ("Death", "X ->", 4.0)]),
}
STATED_INTERVENTIONS = {
    "00028": [{"time": 25.0, "set": {"X": 50}}],
    "00029": [{"time": 22.5, "set": {"X": 20}}],
    "00032": [{"time": 25.0, "set": {"P": 100, "P2": 0}}],
}


def test_stated_table_covers_all_cases():
    assert sorted(STATED) == ALL_CASES


@pytest.mark.parametrize("cid", ALL_CASES)
def test_model_dict_has_stated_species_and_reactions(cid):
    model = dsmts.case_model_dict(cid)
    species, reactions = STATED[cid]
    assert model["model"] == {"name": f"dsmts-{cid}"}
    assert model["species"] == species
    assert all(type(v) is int for v in model["species"].values())
    got = [(r["name"], r["equation"], r["rate"]) for r in model["reactions"]]
    assert got == reactions
    assert all(type(r["rate"]) is float for r in model["reactions"])
    if cid == "00019":
        assert model["observables"] == {"y": "2*X"}
    else:
        assert "observables" not in model
    assert model.get("interventions") == STATED_INTERVENTIONS.get(cid)
    # every checked name is a species or an observable of the model
    names = set(model["species"]) | set(model.get("observables", {}))
    assert set(dsmts.load_case(cid)["checked_species"]) <= names
    json.dumps(model)  # plain data only


def test_boundary_species_are_untouched_by_reactions():
    for cid in ["00006", "00024", "00025", "00026"]:
        case = dsmts.load_case(cid)
        boundary = {s["id"] for s in case["species"] if s["boundary"]}
        model = dsmts.case_model_dict(cid)
        for r in model["reactions"]:
            tokens = set(r["equation"].replace("->", " ").split())
            assert not tokens & boundary
        assert boundary <= set(model["species"])


# ------------------------------------------------------------- exact κ₄ (00003)


def _single_ancestor_cumulants(lam, mu, t, n_max=20_000):
    """Mean, variance, κ₄ from one ancestor, by summing Kendall's closed-form pmf:
    P(0) = α, P(k) = (1 − α)(1 − β) β^(k−1), k ≥ 1 (independent of the moment ODE)."""
    e = math.exp((lam - mu) * t)
    alpha = mu * (e - 1) / (lam * e - mu)
    beta = lam * (e - 1) / (lam * e - mu)
    k = np.arange(1, n_max, dtype=float)
    p = (1 - alpha) * (1 - beta) * beta ** (k - 1)
    m1, m2, m3, m4 = ((p * k**j).sum() for j in range(1, 5))
    return m1, m2 - m1**2, m4 - 4 * m3 * m1 - 3 * m2**2 + 12 * m2 * m1**2 - 6 * m1**4


def test_kappa4_00003_moments_equal_expected_arrays():
    case = dsmts.load_case("00003")
    cum = dsmts.birth_death_cumulants(100, 1.0, 1.1, case["times"])
    mean = np.asarray(case["expected"]["X"]["mean"])
    sd = np.asarray(case["expected"]["X"]["sd"])
    # the file prints 5 decimals (0.67379 at t = 50): equal to the printed precision
    np.testing.assert_allclose(cum["mean"], mean, rtol=1e-6, atol=5e-6)
    np.testing.assert_allclose(np.sqrt(cum["var"]), sd, rtol=1e-6, atol=5e-6)
    # and to 1e-6 relative wherever the printed value has enough digits (mean >= 5)
    big = mean >= 5
    np.testing.assert_allclose(cum["mean"][big], mean[big], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(cum["var"][1:]), sd[1:], rtol=1e-6)
    # closed form for comparison: E X = x0 e^{(λ−μ)t}
    np.testing.assert_allclose(cum["mean"], 100 * np.exp(-0.1 * np.arange(51)), rtol=1e-12)

    k4 = dsmts.case_kappa4(case)["X"]
    np.testing.assert_array_equal(k4, cum["kappa4"])
    assert k4[0] == pytest.approx(0.0, abs=1e-6)  # X(0) = 100 is deterministic
    # κ₄ is additive over the 100 independent ancestors: compare with the exact pmf
    for t in [1.0, 5.0, 10.0, 25.0, 50.0]:
        m1, var, k4_one = _single_ancestor_cumulants(1.0, 1.1, t)
        i = int(t)
        assert cum["mean"][i] == pytest.approx(100 * m1, rel=1e-10)
        assert cum["var"][i] == pytest.approx(100 * var, rel=1e-10)
        assert k4[i] == pytest.approx(100 * k4_one, rel=1e-8)
    # heavy tail: excess kurtosis grows to ~93 at t = 50
    assert k4[50] / cum["var"][50] ** 2 > 50


@pytest.mark.parametrize("cid", ["00001", "00004", "00005", "00011"])
def test_moment_ode_reproduces_other_birth_death_cases(cid):
    case = dsmts.load_case(cid)
    kappa4 = dsmts.case_kappa4(case)  # raises if the moments do not match
    assert set(kappa4) == {"X"}


def test_moment_ode_with_immigration_is_poisson():
    case = dsmts.load_case("00021")  # ∅ -> X 10, X -> ∅ 0.1 from 0: Poisson
    cum = dsmts.birth_death_cumulants(0, 0.0, 0.1, case["times"], immigration=10.0)
    np.testing.assert_allclose(cum["mean"], case["expected"]["X"]["mean"], rtol=1e-6)
    np.testing.assert_allclose(cum["var"], cum["mean"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(cum["kappa4"], cum["mean"], rtol=1e-7, atol=1e-7)


def test_kappa4_refuses_other_models():
    for cid in ["00020", "00030", "00028", "00037"]:
        with pytest.raises(ValueError):
            dsmts.case_kappa4(cid)


# ------------------------------------------------------------------ evaluate


def _normal_samples(case, n, rng):
    return {
        name: rng.normal(np.asarray(v["mean"]), np.asarray(v["sd"]), size=(n, 51))
        for name, v in case["expected"].items()
    }


def _moment_matched_samples(case, n, rng):
    """Samples whose mean is exactly μ_t and whose S² around μ_t is exactly σ_t²
    (Z = Y = 0 up to rounding), so the rule can be tested with known shifts."""
    out = {}
    for name, v in case["expected"].items():
        u = rng.standard_normal((n, 51))
        u -= u.mean(axis=0)
        u /= np.sqrt((u**2).mean(axis=0))
        out[name] = np.asarray(v["mean"]) + np.asarray(v["sd"]) * u
    return out


@pytest.mark.parametrize("cid", ["00001", "00003", "00019", "00024", "00028", "00030",
                                 "00032", "00039"])
def test_evaluate_normal_samples_pass(cid):
    case = dsmts.load_case(cid)
    rng = np.random.default_rng([SEED, int(cid)])
    res = dsmts.evaluate(case, _normal_samples(case, 10_000, rng))
    assert res.verdict == "PASS", res.failing_points()
    assert res.exact_ok and res.n == 10_000
    assert res.max_abs_z < 4 and res.max_abs_y < 4
    assert res.z.shape == res.y.shape == (len(case["checked_species"]), 51)
    # σ = 0 points have no Z / Y
    sd = np.array([case["expected"][n]["sd"] for n in res.names])
    assert np.isnan(res.z[sd == 0]).all() and np.isfinite(res.z[sd > 0]).all()


def test_evaluate_normal_samples_whole_suite_never_fail():
    """At n = 10,000 independent normal points, |Z| ≥ 3 happens ~0.27% per point, so an
    occasional CHECK is expected; FAIL must not happen."""
    rng = np.random.default_rng(SEED)
    verdicts = []
    for cid in ALL_CASES:
        res = dsmts.evaluate(cid, _normal_samples(dsmts.load_case(cid), 10_000, rng))
        verdicts.append(res.verdict)
        assert res.verdict != "FAIL" and res.n_fail_y == 0
    assert verdicts.count("PASS") >= 32


def test_evaluate_biased_mean_fails_with_huge_z():
    case = dsmts.load_case("00001")
    rng = np.random.default_rng(SEED)
    values = _normal_samples(case, 10_000, rng)
    values["X"] = values["X"] * 1.03
    values["X"][:, 0] = 100.0  # keep t = 0 exact: the failure must come from Z
    res = dsmts.evaluate(case, values)
    assert res.verdict == "FAIL"
    assert res.exact_ok
    assert res.max_abs_z > 30
    assert res.n_fail_z == 50


def test_evaluate_wrong_sigma0_point_fails():
    case = dsmts.load_case("00028")  # σ = 0 at t = 0 and at the event t = 25
    rng = np.random.default_rng(SEED)
    values = _moment_matched_samples(case, 10_000, rng)
    assert dsmts.evaluate(case, values).verdict == "PASS"
    values["X"][123, 25] = 49.0
    res = dsmts.evaluate(case, values)
    assert res.verdict == "FAIL" and not res.exact_ok
    assert res.max_abs_z < 1e-6 and res.max_abs_y < 1e-6
    assert np.argwhere(~res.exact).tolist() == [[0, 25]]
    assert [p[:3] for p in res.failing_points()] == [("X", 25.0, "exact")]
    # boundary species must stay exactly 0
    case = dsmts.load_case("00024")
    values = _moment_matched_samples(case, 1000, rng)
    values["Sink"][7, 40] = 1.0
    assert dsmts.evaluate(case, values).verdict == "FAIL"


def test_evaluate_rule_pass_check_fail_thresholds():
    case = dsmts.load_case("00030")
    rng = np.random.default_rng(SEED)
    n = 10_000
    base = _moment_matched_samples(case, n, rng)
    sd_p = np.asarray(case["expected"]["P"]["sd"])
    sd_p2 = np.asarray(case["expected"]["P2"]["sd"])

    def shifted(shifts):
        values = {k: v.copy() for k, v in base.items()}
        for name, t, z in shifts:
            sd = sd_p if name == "P" else sd_p2
            values[name][:, t] += z * sd[t] / math.sqrt(n)  # adds exactly z to Z_t
        return dsmts.evaluate(case, values)

    res = shifted([])
    assert res.verdict == "PASS" and res.max_abs_z < 1e-9 and res.max_abs_y < 1e-9
    # one failing time point: PASS
    res = shifted([("P", 10, 3.5)])
    assert (res.verdict, res.n_fail_z) == ("PASS", 1)
    assert res.z[0, 10] == pytest.approx(3.5)
    # two species failing at the same time point count once: still PASS
    res = shifted([("P", 10, 3.5), ("P2", 10, -3.5)])
    assert (res.verdict, res.n_fail_z) == ("PASS", 1)
    # two failing time points: CHECK
    res = shifted([("P", 10, 3.5), ("P2", 11, -3.5)])
    assert (res.verdict, res.n_fail_z) == ("CHECK", 2)
    # the range is open: |Z| = 3 fails
    res = shifted([("P", 10, 3.0 + 1e-9), ("P", 12, -3.0 - 1e-9)])
    assert res.verdict == "CHECK"
    # any |Z| >= 5: FAIL even at a single point
    res = shifted([("P2", 30, 5.2)])
    assert (res.verdict, res.n_fail_z) == ("FAIL", 1)

    # Y: scale the deviations at one time point so that Y_t = target exactly
    def y_scaled(points):
        values = {k: v.copy() for k, v in base.items()}
        for name, t, y in points:
            mu = np.asarray(case["expected"][name]["mean"])[t]
            factor = math.sqrt(1 + y / math.sqrt(n / 2))
            values[name][:, t] = mu + (values[name][:, t] - mu) * factor
        return dsmts.evaluate(case, values)

    res = y_scaled([("P", 20, 6.0)])
    assert (res.verdict, res.n_fail_y) == ("PASS", 1)
    assert res.y[0, 20] == pytest.approx(6.0)
    assert res.z[0, 20] == pytest.approx(0.0, abs=1e-9)
    assert y_scaled([("P", 20, 6.0), ("P", 21, -6.0)]).verdict == "CHECK"
    assert y_scaled([("P2", 40, 10.5)]).verdict == "FAIL"


def test_evaluate_kurtosis_corrected_y_00003():
    case = dsmts.load_case("00003")
    rng = np.random.default_rng(SEED)
    n = 10_000
    values = _moment_matched_samples(case, n, rng)
    mu = np.asarray(case["expected"]["X"]["mean"])
    values["X"] = mu + (values["X"] - mu) * math.sqrt(1.2)  # S² = 1.2 σ² everywhere
    res = dsmts.evaluate(case, values)
    assert res.kurtosis_corrected
    sd = np.asarray(case["expected"]["X"]["sd"])
    k4 = dsmts.case_kappa4(case)["X"]
    strict = math.sqrt(n / 2) * 0.2
    np.testing.assert_allclose(res.y_dsmts[0, 1:], strict, rtol=1e-9)
    expected_y = 0.2 * sd[1:] ** 2 / np.sqrt((k4[1:] + 2 * sd[1:] ** 4) / n)
    np.testing.assert_allclose(res.y[0, 1:], expected_y, rtol=1e-9)
    assert res.max_abs_y_dsmts == pytest.approx(strict)
    assert res.max_abs_y < res.max_abs_y_dsmts
    # the strict rule alone would FAIL (|Y| = 14.1 >= 10); the corrected one decides
    assert res.n_fail_y_dsmts == 50
    strict_res = dsmts.evaluate(case, values, kurtosis_correction=False)
    assert strict_res.verdict == "FAIL" and not strict_res.kurtosis_corrected
    np.testing.assert_array_equal(strict_res.y, res.y_dsmts)
    # other cases are never corrected by default
    assert not dsmts.evaluate("00001", _moment_matched_samples(
        dsmts.load_case("00001"), 100, rng)).kurtosis_corrected


def test_evaluate_nan_samples_fail():
    """NaN marks a trajectory that stopped early: never a silent pass."""
    case = dsmts.load_case("00001")
    values = _moment_matched_samples(case, 1000, np.random.default_rng(SEED))
    values["X"][5, 30:] = np.nan
    res = dsmts.evaluate(case, values)
    assert res.verdict == "FAIL" and res.n_nonfinite == 21


def test_evaluate_rejects_bad_input():
    case = dsmts.load_case("00030")
    rng = np.random.default_rng(SEED)
    values = _moment_matched_samples(case, 100, rng)
    with pytest.raises(KeyError):
        dsmts.evaluate(case, {"P": values["P"]})
    with pytest.raises(ValueError):
        dsmts.evaluate(case, {"P": values["P"][:, :50], "P2": values["P2"][:, :50]})
    with pytest.raises(ValueError):
        dsmts.evaluate(case, {"P": values["P"], "P2": values["P2"][:50]})


def test_case_seed_is_deterministic_and_distinct():
    seeds = {dsmts.case_seed(SEED, c, a) for c in ALL_CASES for a in (0, 1)}
    assert len(seeds) == 2 * len(ALL_CASES)
    assert all(0 <= s < 2**63 for s in seeds)
    assert dsmts.case_seed(SEED, "00003", 1) == dsmts.case_seed(SEED, 3, 1)
    assert dsmts.case_seed(SEED, "00003") != dsmts.case_seed(SEED + 1, "00003")


def test_format_table_from_results():
    import pandas as pd

    rng = np.random.default_rng(SEED)
    rows = []
    for cid in ["00001", "00003"]:
        case = dsmts.load_case(cid)
        res = dsmts.evaluate(case, _normal_samples(case, 1000, rng))
        res.seconds = 0.5
        rows.append(dsmts._row(res, case["family"]))
    df = pd.DataFrame(rows)
    text = dsmts.format_table(df)
    assert "00001" in text and "00003" in text and "birth-death" in text
    assert "strict DSMTS max|Y|" in text
    assert "2 cases:" in text


# --------------------------------------------------------------- acceptance


@pytest.mark.parametrize("cid", ALL_CASES)
def test_dsmts_case_passes(cid):
    """The DSMTS acceptance test: every case PASSes at n = 10,000 with the fixed seed."""
    res = dsmts.run_case(cid, 10_000, seed=SEED)
    detail = res.report()
    assert res.verdict == "PASS", detail
    assert res.n == 10_000
