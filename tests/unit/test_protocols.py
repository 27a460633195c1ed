"""Stimulation protocols: exact spike times of every generator, composition, the JSON round
trip, the command-line form and its error messages, and input validation."""

import json
import math

import numpy as np
import pytest

import stochsyn as ss
from stochsyn import protocols as P
from stochsyn.protocols import Protocol, ProtocolError


def exact(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-12)


def json_round_trip(protocol):
    return Protocol.from_dict(json.loads(json.dumps(protocol.to_dict(), allow_nan=False)))


# -- generators: exact times -------------------------------------------------------------------

def test_submodule_is_exported():
    assert ss.protocols is P
    assert "protocols" in ss.__all__


def test_hfs_one_train_is_100_spikes_10_ms_apart():
    p = P.hfs()
    assert p.pre_spikes_s.size == 100
    exact(p.pre_spikes_s, np.arange(100) * 0.010)
    exact(np.diff(p.pre_spikes_s), np.full(99, 0.010))
    assert p.post_spikes_s.size == 0 and p.clamp_times_s.size == 0
    assert p.duration_s == pytest.approx(0.99, abs=1e-12)
    assert p.depolarisation_mv == P.FIELD_DEPOLARISATION_MV == 2.0
    assert p.depolarisation_tau_ms == 20.0
    assert p.name == "hfs" and p.params["rate_hz"] == 100.0 and p.params["pulses"] == 100


def test_hfs_four_trains_20_s_apart_onset_to_onset():
    p = P.hfs(trains=4, start_s=5.0)
    expected = np.concatenate([5.0 + 20.0 * j + np.arange(100) * 0.010 for j in range(4)])
    exact(p.pre_spikes_s, expected)
    assert p.duration_s == pytest.approx(5.0 + 60.99, abs=1e-12)


def test_hfs_overlapping_trains_are_refused():
    with pytest.raises(ProtocolError, match="inter_train_s"):
        P.hfs(trains=2, inter_train_s=0.5)
    P.hfs(trains=1, inter_train_s=0.5)          # one train cannot overlap


def test_tbs_10_bursts_of_4_at_100_hz_every_200_ms():
    p = P.tbs()
    expected = (np.arange(10)[:, None] * 0.200 + np.arange(4)[None, :] * 0.010).ravel()
    exact(p.pre_spikes_s, expected)
    assert p.pre_spikes_s.size == 40
    assert p.duration_s == pytest.approx(1.83, abs=1e-12)
    four = P.tbs(trains=4, start_s=1.0)
    exact(four.pre_spikes_s, np.concatenate([1.0 + 10.0 * j + expected for j in range(4)]))


def test_tbs_bursts_that_do_not_fit_are_refused():
    with pytest.raises(ProtocolError, match="burst_interval_ms"):
        P.tbs(pulses_per_burst=4, intra_burst_hz=10.0, burst_interval_ms=200.0)
    with pytest.raises(ProtocolError, match="inter_train_s"):
        P.tbs(trains=2, inter_train_s=1.0)


def test_lfs_900_at_1_hz_ends_at_899_s():
    p = P.lfs()
    exact(p.pre_spikes_s, np.arange(900, dtype=float))
    assert p.pre_spikes_s[-1] == 899.0 and p.duration_s == 899.0
    fast = P.lfs(rate_hz=3, pulses=900, start_s=2.0)
    exact(fast.pre_spikes_s, 2.0 + np.arange(900) / 3.0)


def test_train_is_regular_and_without_depolarisation():
    p = P.train(20.0, 5, start_s=0.5)
    exact(p.pre_spikes_s, [0.5, 0.55, 0.6, 0.65, 0.7])
    assert p.depolarisation_mv == 0.0


@pytest.mark.parametrize("delta_t_ms", [10.0, -10.0])
def test_stdp_pairs_have_exact_delta_t_and_start_at_start_s(delta_t_ms):
    p = P.stdp(delta_t_ms, pairs=60, rate_hz=1.0, start_s=3.0)
    assert p.pre_spikes_s.size == 60 and p.post_spikes_s.size == 60
    exact(p.post_spikes_s - p.pre_spikes_s, np.full(60, delta_t_ms / 1000.0))
    first = min(p.pre_spikes_s[0], p.post_spikes_s[0])
    assert first == 3.0
    exact(np.diff(p.pre_spikes_s), np.ones(59))
    if delta_t_ms > 0:
        exact(p.pre_spikes_s, 3.0 + np.arange(60.0))
    else:
        exact(p.post_spikes_s, 3.0 + np.arange(60.0))
        exact(p.pre_spikes_s, 3.01 + np.arange(60.0))


def test_stdp_two_baps_per_pair():
    p = P.stdp(10.0, pairs=3, rate_hz=2.0, baps_per_pair=2, bap_interval_ms=15.0)
    exact(p.pre_spikes_s, [0.0, 0.5, 1.0])
    exact(p.post_spikes_s, [0.010, 0.025, 0.510, 0.525, 1.010, 1.025])
    negative = P.stdp(-10.0, pairs=2, baps_per_pair=2)
    exact(negative.post_spikes_s, [0.0, 0.010, 1.0, 1.010])
    exact(negative.pre_spikes_s, [0.010, 1.010])


def test_poisson_rate_reproducibility_and_window():
    rate, duration = 20.0, 1000.0
    p = P.poisson(rate, duration, seed=11, start_s=5.0)
    expected = rate * duration
    assert abs(p.pre_spikes_s.size - expected) < 4 * math.sqrt(expected)
    assert p.pre_spikes_s[0] >= 5.0 and p.pre_spikes_s[-1] < 5.0 + duration
    assert np.all(np.diff(p.pre_spikes_s) >= 0)
    isi = np.diff(p.pre_spikes_s)            # exponential intervals: CV = 1
    assert abs(isi.std() / isi.mean() - 1.0) < 0.05
    assert p.duration_s == 5.0 + duration    # the window end, not the last spike
    exact(P.poisson(rate, duration, seed=11, start_s=5.0).pre_spikes_s, p.pre_spikes_s)
    other = P.poisson(rate, duration, seed=12, start_s=5.0)
    assert other.pre_spikes_s.size != p.pre_spikes_s.size or \
        not np.array_equal(other.pre_spikes_s, p.pre_spikes_s)


def test_voltage_clamp_step_function_and_release():
    p = P.voltage_clamp([(0.0, -70.0), (0.01, 40.0), (0.05, None)])
    exact(p.clamp_times_s, [0.0, 0.01, 0.05])
    exact(p.clamp_mv[:2], [-70.0, 40.0])
    assert math.isnan(p.clamp_mv[2])
    assert p.duration_s == 0.05
    step = P.voltage_step(-70.0, 40.0, 0.01, step_until_s=0.11)
    exact(step.clamp_times_s, [0.0, 0.01, 0.11])
    exact(step.clamp_mv, [-70.0, 40.0, -70.0])
    held = P.voltage_step(hold_mv=-70, step_mv=0, step_at_s=0.02)
    exact(held.clamp_times_s, [0.0, 0.02])
    exact(held.clamp_mv, [-70.0, 0.0])
    with pytest.raises(ProtocolError, match="step_at_s must be > 0"):
        P.voltage_step(-70.0, 40.0, 0.0)
    with pytest.raises(ProtocolError, match="step_until_s"):
        P.voltage_step(-70.0, 40.0, 0.1, step_until_s=0.05)


def test_explicit_spikes_accept_scalars_and_lists():
    p = P.spikes(pre_s=0.1, post_s=[0.11, 0.2])
    exact(p.pre_spikes_s, [0.1])
    exact(p.post_spikes_s, [0.11, 0.2])
    assert P.spikes().pre_spikes_s.size == 0 and P.spikes().duration_s == 0.0


def test_pharmacology_sets_the_documented_parameters():
    assert (P.APV_PARAMETER, P.MG_PARAMETER, P.CA_PARAMETER) == ("apv_fraction", "Mg_out",
                                                                 "Ca_out")
    a = P.apv(start_s=12.0, fraction=0.5)
    assert a.pre_spikes_s.size == 0 and len(a.interventions) == 1
    assert a.interventions[0]["time"] == 12.0
    assert a.interventions[0]["parameters"] == {"apv_fraction": 0.5}
    assert a.duration_s == 12.0
    assert P.mg_free().interventions[0]["parameters"] == {"Mg_out": "0 mM"}
    assert P.magnesium(2).interventions[0]["parameters"] == {"Mg_out": "2.0 mM"}
    calcium = P.extracellular_calcium(2.5, start_s=60.0).interventions[0]
    assert calcium["parameters"] == {"Ca_out": "2.5 mM"} and calcium["time"] == 60.0
    with pytest.raises(ProtocolError, match="fraction must be <= 1"):
        P.apv(fraction=1.5)
    with pytest.raises(ProtocolError, match="mM must be >= 0"):
        P.magnesium(-1)


def test_dendritic_depolarisation_is_an_alpha_function_peaking_at_tau():
    p = Protocol("x", pre_spikes_s=[0.1], depolarisation_mv=3.0, depolarisation_tau_ms=20.0)
    v = p.dendritic_depolarisation_mv([0.05, 0.1, 0.12, 0.14])
    assert v[0] == 0.0 and v[1] == 0.0
    assert v[2] == pytest.approx(3.0, rel=1e-12)
    assert v[3] == pytest.approx(3.0 * 2.0 * math.exp(-1.0), rel=1e-12)
    grid = np.linspace(0.1, 0.3, 20001)
    assert grid[np.argmax(p.dendritic_depolarisation_mv(grid))] == pytest.approx(0.12, abs=1e-5)
    assert not P.stdp(10).dendritic_depolarisation_mv(np.linspace(0, 2, 50)).any()


# -- composition -------------------------------------------------------------------------------

def test_then_appends_after_the_last_event_plus_gap():
    hfs, lfs = P.hfs(), P.lfs(pulses=3)
    p = hfs.then(lfs, gap_s=60.0)
    assert p.name == "hfs + lfs"
    exact(p.pre_spikes_s, np.concatenate([np.arange(100) * 0.01, 60.99 + np.arange(3.0)]))
    assert p.duration_s == pytest.approx(60.99 + 2.0, abs=1e-12)
    assert p.params["gap_s"] == 60.0 and [x["name"] for x in p.params["then"]] == ["hfs", "lfs"]
    drug = P.stdp(10, pairs=2).then(P.apv(start_s=1.0))
    assert drug.interventions[0]["time"] == pytest.approx(1.01 + 1.0, abs=1e-12)


def test_then_releases_a_clamp_that_is_still_on():
    p = P.voltage_step(-70.0, 0.0, 0.5).then(P.spikes(pre_s=[0.0, 0.1]), gap_s=1.0)
    exact(p.clamp_times_s, [0.0, 0.5, 1.5])
    assert math.isnan(p.clamp_mv[-1])
    exact(p.pre_spikes_s, [1.5, 1.6])
    chained = P.voltage_step(-70.0, 0.0, 0.5).then(P.voltage_step(-60.0, 40.0, 0.1))
    exact(chained.clamp_times_s, [0.0, 0.5, 0.6])      # -60 replaces the release at 0.5
    exact(chained.clamp_mv, [-70.0, -60.0, 40.0])


def test_then_refuses_different_depolarisation_settings():
    with pytest.raises(ProtocolError, match="depolarisation settings differ"):
        P.stdp(10, pairs=2).then(P.hfs())
    P.stdp(10, pairs=2).then(P.hfs(depolarisation_mv=0))


def test_shifted_moves_everything_and_refuses_negative_times():
    base = P.combine(P.stdp(10, pairs=2), P.apv(start_s=0.5))
    moved = base.shifted(2.0)
    exact(moved.pre_spikes_s, base.pre_spikes_s + 2.0)
    exact(moved.post_spikes_s, base.post_spikes_s + 2.0)
    assert moved.interventions[0]["time"] == 2.5
    assert moved.duration_s == base.duration_s + 2.0 and moved.name == base.name
    exact(P.voltage_step(-70, 0, 0.1).shifted(1.0).clamp_times_s, [1.0, 1.1])
    exact(moved.shifted(-2.0).pre_spikes_s, base.pre_spikes_s)
    with pytest.raises(ProtocolError, match="before 0 s"):
        base.shifted(-0.1)


def test_combine_overlays_on_the_same_clock():
    p = P.combine(P.hfs(), P.apv(), P.spikes(post_s=[0.005, 0.5]))
    assert p.name == "hfs & apv & spikes"
    exact(p.pre_spikes_s, np.arange(100) * 0.01)
    exact(p.post_spikes_s, [0.005, 0.5])
    assert p.interventions[0]["parameters"] == {"apv_fraction": 1.0}
    assert p.depolarisation_mv == 2.0 and p.duration_s == pytest.approx(0.99, abs=1e-12)
    merged = P.combine(P.train(10, 3), P.train(10, 3, start_s=0.05))
    exact(merged.pre_spikes_s, [0.0, 0.05, 0.1, 0.15, 0.2, 0.25])
    late = P.combine(P.hfs(), P.mg_free(start_s=30.0))
    assert late.duration_s == 30.0


def test_combine_refuses_two_clamps_and_conflicting_depolarisation():
    with pytest.raises(ProtocolError, match="at most one protocol may clamp"):
        P.combine(P.voltage_step(-70, 0, 0.1), P.voltage_clamp([(0.0, -60.0)]))
    with pytest.raises(ProtocolError, match="depolarisation settings differ"):
        P.combine(P.hfs(), P.train(1.0, 5))
    with pytest.raises(ProtocolError, match="depolarisation settings differ"):
        P.combine(P.hfs(), P.lfs(depolarisation_tau_ms=30.0))
    # protocols without presynaptic spikes take part in no depolarisation conflict
    p = P.combine(P.hfs(), P.voltage_step(-70, 0, 0.1), Protocol("bap", post_spikes_s=[0.2]))
    assert p.depolarisation_mv == 2.0 and p.clamp_times_s.size == 2


def test_with_interventions_normalises_times_and_keeps_order():
    p = P.hfs().with_interventions({"time": "2 min", "parameters": {"Mg_out": "0 mM"}},
                                   {"time": 10, "set": {"Ca": 5}})
    assert [item["time"] for item in p.interventions] == [10.0, 120.0]
    assert p.duration_s == 120.0
    with pytest.raises(ProtocolError, match="Did you mean 'time'"):
        P.hfs().with_interventions({"tme": 1.0, "parameters": {"x": 1}})
    with pytest.raises(ProtocolError, match="changes nothing"):
        P.hfs().with_interventions({"time": 1.0})
    with pytest.raises(ProtocolError, match="a time needs a unit"):
        P.hfs().with_interventions({"time": "2 mV", "parameters": {"x": 1}})


# -- provenance ----------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", [
    P.hfs(trains=4), P.tbs(trains=2), P.lfs(rate_hz=3.0, pulses=17), P.stdp(-7.3, pairs=5),
    P.poisson(7.0, 3.0, seed=3), P.voltage_clamp([(0.0, -70.0), (0.01, 40.0), (0.02, None)]),
    P.hfs().then(P.lfs(pulses=5), gap_s=1.0 / 3.0), P.combine(P.hfs(), P.apv(fraction=0.25)),
    P.spikes(pre_s=[0.1 + 1e-17, 1.0 / 7.0 + 0.2]),
    P.mg_free(start_s=3.0).with_interventions({"time": "100 ms", "add": {"X": -4},
                                               "note": "x"}),
], ids=lambda p: p.name)
def test_to_dict_from_dict_round_trips_through_json_exactly(protocol):
    back = json_round_trip(protocol)
    assert back == protocol and back.to_dict() == protocol.to_dict()
    for name in ("pre_spikes_s", "post_spikes_s", "clamp_times_s"):
        np.testing.assert_array_equal(getattr(back, name), getattr(protocol, name))
    np.testing.assert_array_equal(back.clamp_mv, protocol.clamp_mv)      # NaN == NaN here
    assert back.interventions == protocol.interventions and back.params == protocol.params
    assert back.duration_s == protocol.duration_s
    assert hash(back) == hash(protocol)


def test_equality_sees_differences_and_from_dict_checks_fields():
    assert P.hfs() != P.hfs(pulses=99)
    assert P.hfs() != P.hfs(depolarisation_mv=1.0)
    with pytest.raises(ProtocolError, match="Did you mean 'pre_spikes_s'"):
        Protocol.from_dict({"name": "x", "pre_spike_s": [0.1]})
    with pytest.raises(ProtocolError, match="needs a 'name'"):
        Protocol.from_dict({"pre_spikes_s": [0.1]})


def test_describe_and_repr_are_short_summaries():
    text = P.hfs().describe()
    assert text.startswith("hfs: 100 presynaptic spikes at 100 Hz")
    assert "2 mV" in text and "0.99 s" in text and "\n" not in text
    assert "up to 100 Hz" in P.tbs().describe()
    assert "1 intervention" in P.combine(P.lfs(), P.apv()).describe()
    assert "-70 mV → 40 mV" in P.voltage_step(-70, 40, 0.01).describe()
    assert repr(P.lfs()) == ("<Protocol 'lfs': 900 pre, 0 post spikes, 0 clamp steps, "
                             "0 interventions, duration_s=899>")


# -- the command-line form -------------------------------------------------------------------------

PARSE_CASES = {
    "spikes": ("spikes:pre_s=0;0.01;0.02,post_s=0.015",
               lambda: P.spikes(pre_s=[0, 0.01, 0.02], post_s=[0.015])),
    "train": ("train:rate_hz=20,pulses=5,start_s=0.5", lambda: P.train(20, 5, start_s=0.5)),
    "hfs": ("hfs", lambda: P.hfs()),
    "tbs": ("tbs:trains=4", lambda: P.tbs(trains=4)),
    "lfs": ("lfs:rate_hz=3,pulses=900", lambda: P.lfs(rate_hz=3, pulses=900)),
    "stdp": ("stdp:delta_t_ms=-10,pairs=60", lambda: P.stdp(-10, pairs=60)),
    "poisson": ("poisson:rate_hz=5,duration_s=10,seed=1", lambda: P.poisson(5, 10, seed=1)),
    "voltage_clamp": ("voltage_clamp:steps=0:-70;0.01:40;0.05:nan",
                      lambda: P.voltage_clamp([(0, -70), (0.01, 40), (0.05, None)])),
    "voltage_step": ("voltage_step:hold_mv=-70,step_mv=40,step_at_s=0.01",
                     lambda: P.voltage_step(-70, 40, 0.01)),
    "apv": ("apv:fraction=0.5,start_s=2", lambda: P.apv(fraction=0.5, start_s=2)),
    "mg_free": ("mg_free", lambda: P.mg_free()),
    "extracellular_calcium": ("extracellular_calcium:mM=2.5",
                              lambda: P.extracellular_calcium(2.5)),
    "magnesium": ("magnesium:mM=1.2,start_s=60", lambda: P.magnesium(1.2, start_s=60)),
    "block_exocytosis": ("block_exocytosis:start_s=600",
                         lambda: P.block_exocytosis(start_s=600)),
    "block_endocytosis": ("block_endocytosis", lambda: P.block_endocytosis()),
    "block_calcineurin": ("block_calcineurin:start_s=5",
                          lambda: P.block_calcineurin(start_s=5)),
    "block_pp1": ("block_pp1", lambda: P.block_pp1()),
    "bapta": ("bapta:mM=2,start_s=1", lambda: P.bapta(mM=2, start_s=1)),
}


def test_parse_cases_cover_every_generator():
    assert set(PARSE_CASES) == set(P.GENERATORS)


@pytest.mark.parametrize("name", sorted(PARSE_CASES))
def test_parse_builds_the_same_protocol_as_the_call(name):
    text, build = PARSE_CASES[name]
    assert P.parse(text) == build()


def test_parse_combines_with_plus_and_keeps_signed_numbers():
    assert P.parse("hfs+apv") == P.combine(P.hfs(), P.apv())
    assert P.parse(" lfs:rate_hz=3 + apv:fraction=1 ") == P.combine(P.lfs(rate_hz=3), P.apv())
    assert P.parse("stdp:delta_t_ms=+10") == P.stdp(10)
    assert P.parse("hfs:pulses=1e+2,rate_hz=1.0E2") == P.hfs()
    assert P.parse("voltage_clamp:steps=0:-70") == P.voltage_clamp([(0, -70)])


def test_parse_unknown_name_lists_valid_ones_and_suggests():
    with pytest.raises(ProtocolError) as err:
        P.parse("hsf")
    text = str(err.value)
    assert "unknown protocol 'hsf'" in text and "Did you mean 'hfs'?" in text
    assert ("Valid protocols: apv, bapta, block_calcineurin, block_endocytosis, "
            "block_exocytosis, block_pp1, extracellular_calcium, hfs") in text
    with pytest.raises(ProtocolError, match="Did you mean 'apv'"):
        P.parse("hfs+apx")
    with pytest.raises(ProtocolError) as err:
        P.parse("zzzz")
    assert "Did you mean" not in str(err.value) and "Valid protocols:" in str(err.value)


def test_parse_unknown_key_lists_valid_ones_and_suggests():
    with pytest.raises(ProtocolError) as err:
        P.parse("hfs:rate=50")
    text = str(err.value)
    assert "protocol 'hfs' has no parameter 'rate'" in text
    assert "Did you mean 'rate_hz'?" in text
    assert "Valid parameters: trains, rate_hz, pulses, inter_train_s" in text
    with pytest.raises(ProtocolError, match="Did you mean 'delta_t_ms'"):
        P.parse("stdp:delta_t=10")


@pytest.mark.parametrize("text, pattern", [
    ("hfs:pulses=abc", r"parameter 'pulses': 'abc' is not a number"),
    ("hfs:rate_hz=100Hz", r"'100Hz' is not a number.*no units"),
    ("hfs:pulses=__import__('os')", r"is not a number"),
    ("hfs:rate_hz=1..0", r"'1\.\.0' is not a number"),
    ("hfs:rate_hz=", r"no value after '='"),
    ("hfs:pulses=1.5", r"pulses must be a whole number"),
    ("hfs:rate_hz=-100", r"rate_hz must be > 0"),
    ("hfs:trains", r"'trains' in 'hfs:trains' is not key=value"),
    ("hfs:", r"nothing after 'hfs:'"),
    ("hfs:pulses=1,pulses=2", r"'pulses' is given twice"),
    ("stdp", r"protocol 'stdp' needs 'delta_t_ms'"),
    ("poisson:rate_hz=5", r"needs 'duration_s', 'seed'"),
    ("hfs+", r"'hfs\+' in 'hfs\+' is not a protocol name"),
    ("", r"empty protocol"),
    ("voltage_clamp:steps=0:-70;0:-60", r"strictly increasing"),
])
def test_parse_errors_say_what_is_wrong(text, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        P.parse(text)


# -- validation ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, pattern", [
    ({"pre_spikes_s": [0.2, 0.1]}, r"pre_spikes_s must be sorted.*element 1 \(0\.1 s\)"),
    ({"post_spikes_s": [0.1, -0.1]}, r"post_spikes_s must be >= 0; element 1 is -0\.1"),
    ({"pre_spikes_s": [0.1, float("nan")]}, r"pre_spikes_s must be finite; element 1"),
    ({"pre_spikes_s": [0.1, math.inf]}, r"pre_spikes_s must be finite"),
    ({"pre_spikes_s": [[0.1, 0.2]]}, r"pre_spikes_s must be a 1-D sequence"),
    ({"pre_spikes_s": ["0.1 s"]}, r"must hold numbers.*convert quantities"),
    ({"pre_spikes_s": 0.1}, r"wrap a single value in a list"),
    ({"clamp_times_s": [0.0, 0.1], "clamp_mv": [-70.0]}, r"equal lengths.*2 and 1"),
    ({"clamp_times_s": [0.0, 0.0], "clamp_mv": [-70.0, 0.0]}, r"strictly increasing"),
    ({"clamp_times_s": [0.0], "clamp_mv": [math.inf]}, r"clamp_mv must be finite, or NaN"),
    ({"clamp_times_s": [0.0], "clamp_mv": ["-70"]}, r"clamp_mv must hold numbers"),
    ({"depolarisation_mv": -1.0}, r"depolarisation_mv must be >= 0, got -1"),
    ({"depolarisation_mv": math.nan}, r"depolarisation_mv must be finite"),
    ({"depolarisation_tau_ms": 0.0}, r"depolarisation_tau_ms must be > 0"),
    ({"pre_spikes_s": [1.0], "duration_s": 0.5}, r"duration_s \(0\.5 s\) is before"),
    ({"params": {"x": math.nan}}, r"params must be JSON-serialisable"),
    ({"params": {"x": object()}}, r"params must be JSON-serialisable"),
    ({"interventions": {"time": 1.0}}, r"interventions must be a tuple or list"),
    ({"interventions": [{"time": -1.0, "set": {"X": 1}}]}, r"must be >= 0"),
    ({"interventions": [{"parameters": {"X": 1}}]}, r"has no 'time'"),
])
def test_validation_errors_name_the_field(kwargs, pattern):
    with pytest.raises(ProtocolError, match=pattern):
        Protocol("custom", **kwargs)


def test_errors_are_value_errors_and_generators_check_arguments():
    assert issubclass(ProtocolError, ValueError)
    with pytest.raises(ValueError, match="hfs\\(\\): depolarisation_mv must be >= 0"):
        P.hfs(depolarisation_mv=-2.0)
    with pytest.raises(ValueError, match="stdp\\(\\): pairs must be >= 1"):
        P.stdp(10, pairs=0)
    with pytest.raises(ValueError, match="poisson\\(\\): seed must be a whole number"):
        P.poisson(5.0, 1.0, seed=1.5)
    with pytest.raises(ValueError, match="pulses must be a whole number"):
        P.lfs(pulses=True)
    with pytest.raises(ValueError, match="step 1 must be a pair"):
        P.voltage_clamp([(0.0, -70.0), (0.1,)])


def test_arrays_are_read_only_float64_copies():
    times = [0.0, 0.1]
    p = Protocol("custom", pre_spikes_s=times, clamp_times_s=np.array([0.0]), clamp_mv=[None])
    times.append(0.2)
    assert p.pre_spikes_s.dtype == np.float64 and p.pre_spikes_s.size == 2
    assert math.isnan(p.clamp_mv[0])
    for name in ("pre_spikes_s", "post_spikes_s", "clamp_times_s", "clamp_mv"):
        with pytest.raises(ValueError):
            getattr(p, name)[...] = 1.0
    with pytest.raises(AttributeError):
        p.name = "other"


def test_the_protocols_the_documentation_shows_parse():
    """Every ``--protocol`` and ``protocols.parse(...)`` text in the README, docs/, the
    model files' comments and the protocols' docstrings is one the command line takes (a model header once showed a
    syntax it refused)."""
    import re
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    files = [root / "README.md", *sorted((root / "docs").glob("*.md")),
             *sorted((root / "reactions").rglob("*.toml")), root / "stochsyn" / "protocols.py"]
    pattern = re.compile(r"""--protocol[ =]+["']?([^\s"'`]+)|parse\(["']([^"']+)["']\)""")
    texts = [(path.name, a or b) for path in files
             for a, b in pattern.findall(path.read_text(encoding="utf-8"))]
    texts = [(name, text) for name, text in texts if text not in ("TEXT",)]
    assert len(texts) >= 3, texts
    for name, text in texts:
        assert isinstance(P.parse(text), Protocol), (name, text)
