"""Michaelis–Menten and Hill rate laws: parsing, unit conversion, bad input, export.

docs/model-format.md, "Reduced rate laws". The engine side (bit-for-bit against the
reference SSA) is in tests/engine/test_rate_kinds_exact.py, the statistics in
tests/statistical/test_rate_kinds.py.
"""

import math
import textwrap

import pytest

import stochsyn as ss
from stochsyn.model.units import AVOGADRO

VOLUME_L = 0.1e-15                   # 0.1 fL
OMEGA = AVOGADRO * VOLUME_L * 1e-6   # molecules per µM in 0.1 fL (60.22)


def model(*reactions, species=None, **extra):
    data = {"model": {"name": "laws", "volume": "0.1 fL"},
            "parameters": {"km": "0.4 uM", "kcat": "10 /s"},
            "species": species or {"S": 200, "P": 0, "PP1": 12, "Ca4CaM": 5, "I": 3},
            "reactions": [{"name": f"r{i}", "equation": eq, "rate": rate}
                          for i, (eq, rate) in enumerate(reactions)]}
    data.update(extra)
    return ss.Model.from_dict(data)


def mm(**fields):
    return {"kind": "michaelis_menten", **fields}


def hill(**fields):
    return {"kind": "hill", **fields}


# ---------------------------------------------------------------------- parsing


def test_michaelis_menten_with_an_enzyme():
    r = model(("S -> P", mm(kcat="kcat", enzyme="PP1", km="km"))).reactions[0]
    assert r.kind == "michaelis_menten"
    assert r.rate == 10.0                                   # kcat, 1/s
    assert r.modifier == ((2, 1.0),)                        # PP1, weight 1
    assert r.saturation == (0,)                             # S
    assert r.half == pytest.approx(0.4 * OMEGA, rel=1e-12)  # 24.09 molecules, not rounded
    assert r.half != round(r.half)
    assert r.reactants == ((0, 1),) and r.products == ((1, 1),)   # PP1 is not consumed


@pytest.mark.parametrize("km, molecules", [
    ("0.4 uM", 0.4 * OMEGA), ("400 nM", 0.4 * OMEGA), ("0.0004 mM", 0.4 * OMEGA),
    (50, 50.0), (12.5, 12.5), ("50 molecule", 50.0), ("2 * 25", 50.0),
    ("1e-21 mol", 1e-21 * AVOGADRO)])
def test_michaelis_constant_in_molecules_at_the_model_volume(km, molecules):
    r = model(("S -> P", mm(vmax="1 /s", km=km))).reactions[0]
    assert r.half == pytest.approx(molecules, rel=1e-12)


def test_michaelis_constant_scales_with_the_volume():
    small = model(("S -> P", mm(vmax=1, km="1 uM"))).reactions[0].half
    data = {"model": {"volume": "0.05 fL"}, "species": {"S": 1},
            "reactions": [{"name": "r", "equation": "S ->",
                           "rate": mm(vmax=1, km="1 uM")}]}
    assert ss.Model.from_dict(data).reactions[0].half == pytest.approx(small / 2, rel=1e-12)


@pytest.mark.parametrize("vmax, per_second", [
    ("0.5 uM/s", 0.5 * OMEGA), ("30 /s", 30.0), (30, 30.0), ("30 molecule/s", 30.0),
    ("1.8 uM/min", 0.03 * OMEGA)])
def test_vmax_is_a_zeroth_order_rate(vmax, per_second):
    r = model(("S -> P", mm(vmax=vmax, km=50))).reactions[0]
    assert r.rate == pytest.approx(per_second, rel=1e-12)
    assert r.modifier == ()


def test_enzyme_as_pattern_observable_or_weighted_sum():
    agents = {"PP1": {"sites": {"i1": ["free", "bound"]},
                      "initial": [{"count": 10}, {"count": 2, "i1": "bound"}]}}
    species = {"S": 100, "P": 0, "E2": 3}
    m = model(("S -> P", mm(kcat=1, enzyme="PP1(i1=free)", km=5)),
              ("S -> P", mm(kcat=1, enzyme="PP1", km=5)),
              ("S -> P", mm(kcat=1, enzyme="active", km=5)),
              ("S -> P", mm(kcat=1, enzyme="E2 + 0.5*PP1(i1=bound)", km=5)),
              species=species, agents=agents,
              observables={"active": "PP1(i1=free) + 2*E2"})
    free = m.species.index("PP1(i1=free)")
    bound = m.species.index("PP1(i1=bound)")
    e2 = m.species.index("E2")
    assert [r.modifier for r in m.reactions] == [
        ((free, 1.0),), ((free, 1.0), (bound, 1.0)), ((e2, 2.0), (free, 1.0)),
        ((e2, 1.0), (bound, 0.5))]


def test_substrate_pattern_saturates_over_all_matching_states():
    agents = {"AMPAR": {"sites": {"loc": ["endo", "psd"], "s845": ["u", "p"]},
                        "initial": [{"count": 10, "s845": "p"}]}}
    m = model(("AMPAR(s845=p) -> AMPAR(s845=u)", mm(kcat=2, enzyme="PP1", km="km")),
              species={"PP1": 5}, agents=agents)
    states = {m.species.index("AMPAR(loc=endo,s845=p)"),
              m.species.index("AMPAR(loc=psd,s845=p)")}
    assert len(m.reactions) == 2
    for r in m.reactions:
        assert set(r.saturation) == states                       # S = Σ AMPAR(s845=p)
        assert r.reactants[0][0] in states and len(r.reactants) == 1


def test_hill_law():
    r = model(("I -> P", hill(k="2 /s", of="Ca4CaM", K="1 uM", n=4))).reactions[0]
    assert r.kind == "hill" and not r.repress
    assert r.rate == 2.0 and r.hill_n == 4.0
    assert r.half == pytest.approx(OMEGA, rel=1e-12)
    assert r.modifier == ((3, 1.0),)
    assert r.saturation == ()


def test_hill_repression_real_coefficient_and_parameters():
    m = ss.Model.from_dict({
        "model": {"volume": "0.1 fL"},
        "parameters": {"K_pka": "0.11 uM", "n_pka": 8, "v": "100 /s", "half_n": "n_pka/3"},
        "species": {"C": 4, "I1": 60, "I1P": 0},
        "reactions": [
            {"name": "pka", "equation": "I1 -> I1P",
             "rate": {"kind": "hill", "k": "v", "of": "C", "K": "K_pka", "n": "n_pka"}},
            {"name": "off", "equation": "I1P -> I1",
             "rate": {"kind": "hill", "k": 1, "of": "C", "K": 3, "n": "half_n",
                      "repress": True}}]})
    pka, off = m.reactions
    assert pka.rate == 100.0 and pka.hill_n == 8.0
    assert pka.half == pytest.approx(0.11 * OMEGA, rel=1e-12)
    assert off.repress and off.hill_n == pytest.approx(8 / 3)


def test_hill_rate_constant_is_converted_with_the_order_of_the_reaction():
    """k·Π C(x, ν): the Hill factor is dimensionless, so k is a mass-action rate."""
    m = model(("S + I -> P", hill(k="2 /uM/s", of="Ca4CaM", K=3, n=1)),
              ("-> P", hill(k="0.6 uM/s", of="Ca4CaM", K=3, n=1)))
    assert m.reactions[0].rate == pytest.approx(2 / OMEGA, rel=1e-12)
    assert m.reactions[1].rate == pytest.approx(0.6 * OMEGA, rel=1e-12)


def test_info_shows_the_laws():
    m = model(("S -> P", mm(kcat="kcat", enzyme="PP1", km="km")),
              ("P ->", mm(vmax="0.5 uM/s", km=50)),
              ("-> P", hill(k="2 /s", of="Ca4CaM", K="1 uM", n=4)),
              ("I -> P", hill(k="1 /s", of="Ca4CaM + 2*PP1", K=7, n=1.5, repress=True)))
    text = m.info()
    assert "MM: kcat = 10 /s · E = PP1 · S / (K_M + S), K_M = 24.0886 molecules" in text
    assert "MM: vmax = 30.1107 molecules/s · P / (K_M + S), K_M = 50 molecules, S = P" in text
    assert "Hill: k = 2 /s · X^n/(K^n + X^n), X = Ca4CaM, K = 60.2214 molecules, n = 4" \
        in text
    assert "Hill: k = 1 /s · I · K^n/(K^n + X^n), X = (2*PP1 + Ca4CaM), K = 7 molecules, " \
           "n = 1.5" in text


def test_interventions_change_kcat_but_refuse_a_changed_constant():
    base = {"model": {"volume": "0.1 fL"},
            "parameters": {"kcat": "10 /s", "km": "0.4 uM"},
            "species": {"S": 100, "E": 3},
            "reactions": [{"name": "r", "equation": "S ->",
                           "rate": mm(kcat="kcat", enzyme="E", km="km")}]}
    ok = ss.Model.from_dict({**base, "interventions": [
        {"time": 1, "parameters": {"kcat": "20 /s"}}, {"time": 2, "rates": {"r": "5 /s"}}]})
    assert [iv.set_rates for iv in ok.interventions] == [((0, 20.0),), ((0, 5.0),)]
    with pytest.raises(ss.ModelError, match=r"interventions\[0\].*K_M, K or n of a "
                                            r"michaelis_menten or hill rate") as info:
        ss.Model.from_dict({**base, "interventions": [
            {"time": 1, "parameters": {"km": "1 uM"}}]})
    assert "Change kcat, vmax or k instead" in str(info.value)


def test_with_parameters_rebuilds_the_constants():
    m = model(("S -> P", mm(kcat="kcat", enzyme="PP1", km="km")))
    assert m.with_parameters(km="0.8 uM").reactions[0].half == pytest.approx(
        2 * m.reactions[0].half, rel=1e-12)


def test_to_sbml_refuses_the_reduced_laws(tmp_path):
    pytest.importorskip("libsbml")
    m = model(("S -> P", mm(kcat="kcat", enzyme="PP1", km="km")), ("P -> S", 0.1))
    with pytest.raises(ss.ModelError, match=r"Michaelis–Menten or Hill rate laws \(r0\)") \
            as info:
        m.to_sbml(tmp_path / "out.xml")
    assert "mass-action steps" in str(info.value)
    assert not (tmp_path / "out.xml").exists()


# ---------------------------------------------------------------------- bad input

BAD = [
    # (equation, rate, where, fragments of the message and hint)
    ("S -> P", mm(kcat=1, enzyme="PP2", km=1), "reaction 'r0', field 'rate.enzyme'",
     ["'enzyme' names 'PP2', which is not a species", "Did you mean 'PP1'?"]),
    ("-> P", hill(k=1, of="Ca4CaN", K=1, n=2), "reaction 'r0', field 'rate.of'",
     ["'of' names 'Ca4CaN'", "Did you mean 'Ca4CaM'?"]),
    ("-> P", hill(k=1, of="CaMKII(t286=p)", K=1, n=2), "reaction 'r0', field 'rate.of'",
     ["unknown species or agent type 'CaMKII'"]),
    ("-> P", hill(k=1, of="Ca4CaM - S", K=1, n=2), "field 'rate.of'",
     ["positive weights, got 'Ca4CaM - S'"]),
    ("-> P", hill(k=1, of=["Ca4CaM"], K=1, n=2), "field 'rate.of'",
     ["must be a string naming a species", 'of = "PP1"']),
    ("-> P", hill(k=1, of="Ca4CaM", K=0, n=2), "field 'rate.K'",
     ["the Hill constant K must be a finite amount > 0, got '0'",
      "the concentration at which the law is half-maximal"]),
    ("-> P", hill(k=1, of="Ca4CaM", K="-1 uM", n=2), "field 'rate.K'", ["> 0"]),
    ("S -> P", mm(vmax=1, km=0), "field 'rate.km'",
     ["the Michaelis constant km must be a finite amount > 0"]),
    ("-> P", hill(k=1, of="Ca4CaM", K=1, n=0), "field 'rate.n'",
     ["n must be a finite number > 0, got 0", "e.g. n = 4"]),
    ("-> P", hill(k=1, of="Ca4CaM", K=1, n=-2), "field 'rate.n'", ["> 0, got -2"]),
    ("-> P", hill(k=1, of="Ca4CaM", K=1, n="2 mV"), "field 'rate.n'",
     ["n is a pure number, got '2 mV'"]),
    # unit mistakes
    ("-> P", hill(k=1, of="Ca4CaM", K="1 /s", n=2), "field 'rate.K'",
     ["the Hill constant K needs a concentration such as '0.4 uM'", "got '1 /s'"]),
    ("S -> P", mm(kcat=1, enzyme="PP1", km="0.4 /s"), "field 'rate.km'",
     ["km needs a concentration", "got '0.4 /s'"]),
    ("S -> P", mm(kcat="10 /uM/s", enzyme="PP1", km=1), "field 'rate.kcat'",
     ["a first-order rate needs 1/s", "got '10 /uM/s'"]),
    ("S -> P", mm(vmax="10 uM", km=1), "field 'rate.vmax'",
     ["a zeroth-order rate needs 1/s", "got '10 uM'"]),
    ("I -> P", hill(k="2 uM/s", of="Ca4CaM", K=1, n=2), "field 'rate.k'",
     ["a first-order rate needs 1/s"]),
    # the shape of the reaction
    ("S + PP1 -> P + PP1", mm(kcat=1, enzyme="PP1", km=1), "reaction 'r0', field 'rate'",
     ["exactly one reactant of order 1", "this equation has 2 reactants of order 1, 1",
      'equation = "S -> P"', "it is read, not consumed"]),
    ("2 S -> P", mm(kcat=1, enzyme="PP1", km=1), "field 'rate'",
     ["1 reactant of order 2"]),
    ("-> P", mm(vmax=1, km=1), "field 'rate'", ["this equation has no reactant"]),
    # fields
    ("S -> P", mm(kcat=1, km=1), "field 'rate'", ["enzyme is missing", "kcat = \"10 /s\""]),
    ("S -> P", mm(enzyme="PP1", km=1), "field 'rate'", ["kcat is missing"]),
    ("S -> P", mm(kcat=1, enzyme="PP1"), "field 'rate'", ["km is missing"]),
    ("S -> P", mm(kcat=1, enzyme="PP1", vmax=2, km=1), "field 'rate'",
     ["vmax replaces kcat·E: give one or the other"]),
    ("S -> P", mm(vmax=1, Km=1), "field 'rate'",
     ["unknown field 'Km' in a michaelis_menten rate", "Did you mean 'km'? (names are "
      "case-sensitive)"]),
    ("-> P", hill(k=1, of="Ca4CaM", K=1, n=2, hill=3), "field 'rate'",
     ["unknown field 'hill' in a hill rate", "Allowed: kind, k, of, K, n, repress"]),
    ("-> P", hill(k=1, of="Ca4CaM", K=1), "field 'rate'",
     ["a hill rate needs n", 'K = "1 uM", n = 4']),
    ("-> P", hill(k=1, of="Ca4CaM", K=1, n=2, repress="yes"), "field 'rate.repress'",
     ["'repress' must be true or false"]),
    ("-> P", {"kind": "hil", "k": 1}, "field 'rate'",
     ['"michaelis_menten" or "hill", not \'hil\'']),
]


@pytest.mark.parametrize("equation, rate, where, fragments", BAD)
def test_bad_rate_law_gives_a_model_error(equation, rate, where, fragments):
    try:
        model((equation, rate))
    except ss.ModelError as error:
        text = str(error)
        assert text.startswith("<dict>, reaction 'r0'") and f"{where}: " in text, text
        for fragment in fragments:
            assert fragment in text, (fragment, text)
    except BaseException as error:            # any other type is a bug
        pytest.fail(f"{type(error).__name__} escaped instead of ModelError: {error}")
    else:
        pytest.fail("accepted")


def test_concentration_constant_without_a_volume():
    with pytest.raises(ss.ModelError, match=r"field 'rate.km'.*need the compartment "
                                            r"volume.*volume = \"0.1 fL\""):
        ss.Model.from_dict({"species": {"S": 1}, "reactions": [
            {"name": "r", "equation": "S ->", "rate": mm(vmax=1, km="1 uM")}]})


def test_michaelis_menten_neighbour_rule_is_refused():
    agents = {"CaMKII": {"sites": {"t286": ["u", "p"]}, "ring_size": 2,
                         "initial": [{"count": 4}]}}
    with pytest.raises(ss.ModelError, match="cannot be a neighbour rule"):
        ss.Model.from_dict({"species": {"PP1": 2}, "agents": agents, "reactions": [
            {"name": "r", "equation": "CaMKII(t286=u) -> CaMKII(t286=p)",
             "neighbour": "CaMKII(t286=p)",
             "rate": mm(kcat=1, enzyme="PP1", km=3)}]})


def test_bad_law_in_a_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "pka.toml"
    path.write_text(textwrap.dedent("""\
        [model]
        volume = "0.1 fL"

        [species]
        C = 4
        I1 = 60
        I1P = 0

        [[reactions]]
        name = "pka"
        equation = "I1 -> I1P"
        rate = { kind = "hill", k = "100 /s", of = "C", K = "0.11 /s", n = 8 }
        """), encoding="utf-8")
    with pytest.raises(ss.ModelError) as info:
        ss.load_model(path)
    text = str(info.value)
    assert text.startswith(f"{path}, reaction 'pka' (line 9), field 'rate.K': ")
    assert "got '0.11 /s'" in text


def test_the_hill_factor_is_finite_for_extreme_coefficients():
    """1/(1 + (K/X)^n) neither overflows nor gives 0/0 (the engine's form)."""
    import numpy as np
    m = model(("-> P", hill(k=1, of="Ca4CaM", K=1e-3, n=300)),
              ("-> S", hill(k=1, of="Ca4CaM", K=1e6, n=300)),
              ("-> I", hill(k=1, of="Ca4CaM", K=1e6, n=300, repress=True)))
    ens = ss.simulate(m, 2.0, 2, seed=20261122, sample_times=[0.0, 2.0])
    assert np.all(ens.status == 0)
    final = ens.counts[:, -1, :]
    p, s, i = (m.species.index(n) for n in ("P", "S", "I"))
    assert np.all(final[:, s] == 200)            # factor 0 at X = 5 << K
    assert np.all(final[:, p] > 0) and np.all(final[:, i] > 3)   # factor 1
    assert math.isfinite(m.reactions[0].half)


# ---------------------------------------------------------------------- boltzmann


def _gate(rate, v_unit="mV"):
    return ss.Model.from_dict({
        "model": {"name": "gate", "volume": "0.1 fL"},
        "inputs": {"V": {"unit": v_unit, "value": -70}},
        "species": {"C": 5, "O": 0},
        "reactions": [{"name": "open", "equation": "C -> O", "rate": rate}]})


def test_boltzmann_rate_reads_k_v_half_and_v_slope():
    r = _gate({"kind": "boltzmann", "k": "2 /ms", "v_half": "3 mV",
               "v_slope": "-0.008 V"}).reactions[0]
    assert (r.kind, r.rate, r.v_half_mv, r.v_scale_mv) == ("boltzmann", 2000.0, 3.0, -8.0)
    assert "/ (1 + exp((3 mV - V)/-8 mV))" in _gate(
        {"kind": "boltzmann", "k": "2 /ms", "v_half": "3 mV", "v_slope": "-8 mV"}).info()


@pytest.mark.parametrize("rate, message", [
    ({"kind": "boltzmann", "k": "2 /ms", "v_half": "3 mV"}, "missing v_slope"),
    ({"kind": "boltzmann", "k": "2 /ms", "v_half": "3 mV", "v_slope": "0 mV"},
     "v_slope must be a non-zero voltage"),
    ({"kind": "boltzmann", "k": "2 /ms", "v_half": "3 mV", "v_slope": "8 mV", "tau": 1},
     "unknown field 'tau'"),
    ({"kind": "boltzmann", "k": "2 /ms", "v_half": "3 s", "v_slope": "8 mV"}, "a voltage needs a unit"),
])
def test_boltzmann_bad_input_is_refused_with_the_reaction_named(rate, message):
    with pytest.raises(ss.ModelError, match=message) as info:
        _gate(rate)
    assert "open" in str(info.value)
