"""The stochsyn command line."""

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import stochsyn as ss
from stochsyn.cli import main

AMPAR = "reactions/examples/ampar_exchange.toml"


def test_run_writes_a_dataset_that_matches_the_api(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["run", AMPAR, "--t-end", "60", "--trajectories", "20", "--seed", "5",
                   "--sample-every", "10", "--record-events", "--out", str(out),
                   "--no-progress", "--set", "k_exo=0.2"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "20 trajectories" in printed and "seed 5" in printed and "surface" in printed
    back = ss.read(out)
    direct = ss.simulate(ss.load_model(AMPAR).with_parameters(k_exo=0.2), 60.0, 20, seed=5,
                         sample_every=10.0, record_events=True)
    np.testing.assert_array_equal(back.counts, direct.counts)
    assert len(back.event_records) == len(direct.event_records) > 0


def test_info_lists_the_expanded_reactions(capsys):
    assert main(["info", "reactions/examples/camkii_ring.toml"]) == 0
    text = capsys.readouterr().out
    assert "CaMKII(t286=u): 6" in text
    assert "left neighbour CaMKII(t286=p)" in text


def test_bad_model_gives_one_clear_line_and_exit_status_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[species]\nX = 1\n[[reactions]]\nname = "r"\nequation = "X -> Y"\n'
                   'rate = 1\n')
    assert main(["run", str(bad), "--t-end", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.toml" in err and "'Y'" in err
    assert "Traceback" not in err


def test_summarize(tmp_path, capsys):
    out = tmp_path / "run"
    main(["run", AMPAR, "--t-end", "20", "--trajectories", "5", "--seed", "1", "--out",
          str(out), "--no-progress"])
    capsys.readouterr()
    assert main(["summarize", str(out), "surface", "--csv", str(tmp_path / "s.csv")]) == 0
    assert "seed 1" in capsys.readouterr().out
    assert (tmp_path / "s.csv").read_text().startswith("time,name,n,mean,sd,sem")


def test_validate_dsmts_prints_the_table(capsys):
    status = main(["validate", "dsmts", "--cases", "00001", "00030", "--trajectories", "2000",
                   "--no-progress"])
    text = capsys.readouterr().out
    assert "00001" in text and "00030" in text and "max|Z|" in text
    assert status == 0


def test_module_entry_point_runs_in_a_subprocess():
    result = subprocess.run([sys.executable, "-m", "stochsyn.cli", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("stochsyn ")


_BLAS_PROBE = ("import os, sys; sys.argv = ['stochsyn', 'info', {model!r}]; "
               "from stochsyn.cli import main; main(); "
               "print('OPENBLAS_NUM_THREADS=' + str(os.environ.get('OPENBLAS_NUM_THREADS')))")


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("3", "3")])
def test_the_command_starts_numpy_without_a_blas_thread_pool_unless_asked(preset, expected):
    # Run as the command (argv None), the CLI asks OpenBLAS for one thread before numpy is
    # imported (it calls no BLAS; the pool's start costs ~50 ms of CPU); a user's own
    # setting is kept. main(argv) from Python leaves the environment alone.
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    code = _BLAS_PROBE.format(model="reactions/examples/birth_death.toml")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert f"OPENBLAS_NUM_THREADS={expected}" in result.stdout


def test_main_called_with_arguments_leaves_the_blas_setting_alone(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert main(["info", "reactions/examples/birth_death.toml"]) == 0
    assert "OPENBLAS_NUM_THREADS" not in os.environ


# -- mistakes get one clear answer (issue 16) --------------------------------------------------

MINUTES = """[model]
name = "per_minute"

[parameters]
k = "60 /min"

[species]
X = 100

[[reactions]]
name = "decay"
equation = "X ->"
rate = "k"
"""


def test_warnings_are_printed_without_their_source_line(tmp_path, capsys):
    model = tmp_path / "per_minute.toml"
    model.write_text(MINUTES)
    status = main(["run", str(model), "--t-end", "10", "--trajectories", "2", "--seed", "1",
                   "--sample-every", "20", "--set", "k=1", "--out", str(tmp_path / "out"),
                   "--no-progress"])
    assert status == 0
    err = capsys.readouterr().err
    assert "warning: a bare number for parameter 'k' is taken in 1/min" in err
    assert "warning: the sampling interval (20 s) is longer than the run (10 s)" in err
    assert "cli.py" not in err and "Warning:" not in err and "main(" not in err


def test_a_bare_number_in_set_means_what_it_means_in_with_parameters(tmp_path):
    model = tmp_path / "per_minute.toml"
    model.write_text(MINUTES)
    main(["run", str(model), "--t-end", "30", "--trajectories", "4", "--seed", "3",
          "--set", "k=2", "--out", str(tmp_path / "out"), "--no-progress"])
    with pytest.warns(ss.model.UnitWarning):
        direct = ss.simulate(ss.load_model(model).with_parameters(k=2.0), 30.0, 4, seed=3)
    np.testing.assert_array_equal(ss.read(tmp_path / "out").counts, direct.counts)
    assert ss.read(tmp_path / "out").provenance["parameters"]["k"] == "2.0 / minute"


def test_an_unexpected_error_shows_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    def broken(path):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(ss, "load_model", broken)
    assert main(["info", AMPAR]) == 70                   # EX_SOFTWARE
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: a bug" in err
    assert "this is a bug in stochsyn" in err and "please report it" in err


def test_an_internal_value_error_is_not_passed_off_as_bad_input(monkeypatch, capsys):
    def broken(path):
        raise ValueError("operands could not be broadcast together")
    monkeypatch.setattr(ss, "load_model", broken)
    assert main(["info", AMPAR]) == 70
    assert "this is a bug in stochsyn" in capsys.readouterr().err


def test_a_refused_run_leaves_no_results_folder(tmp_path, capsys):
    out = tmp_path / "deep" / "er" / "out"
    assert main(["run", AMPAR, "--t-end", "10", "--sample-every", "1e-12", "--out",
                 str(out)]) == 2
    assert "STOCHSYN_MAX_SAMPLES" in capsys.readouterr().err
    assert not (tmp_path / "deep").exists()


def test_summarize_names_a_missing_species_in_the_users_terms(tmp_path, capsys):
    out = tmp_path / "run"
    main(["run", AMPAR, "--t-end", "5", "--trajectories", "2", "--seed", "1", "--out",
          str(out), "--no-progress"])
    capsys.readouterr()
    assert main(["summarize", str(out), "surfce"]) == 2
    err = capsys.readouterr().err
    assert f"error: no species or observable named 'surfce' in {out}" in err
    assert "hint: Did you mean 'surface'?" in err


def test_describe_takes_one_name_as_a_name():
    ens = ss.simulate(AMPAR, 5.0, 2, seed=1, sample_every=1.0)
    table = ens.describe("surface")
    assert set(table.index.get_level_values("name")) == {"surface"}
    assert len(ens.timeseries("surface")) == 2 * 6


TRAFFICKING = "reactions/modules/ampar_trafficking.toml"


def test_readout_after_tabulates_the_weight_change_of_each_run(tmp_path, capsys):
    """run --readout-after: the dataset of each protocol (here rest: the standalone
    trafficking module has no synapse to stimulate) in OUT/NAME/, and a Δweight table that
    is the one stochsyn.trafficking computes from that dataset."""
    out = tmp_path / "plasticity"
    status = main(["run", TRAFFICKING, "--readout-after", "20", "--warm-up", "10",
                   "--trajectories", "6", "--seed", "3", "--threads", "1", "--out", str(out),
                   "--no-progress"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "Δweight 20 s after the end of each protocol" in printed and "seed 3" in printed
    ens = ss.read(out / "rest")
    assert ens.times[-1] == 30.0 and 10.0 in ens.times   # warm-up 10 s + read-out 20 s
    expected = ss.trafficking.summarize(ens, readout_time=30.0, baseline=10.0)
    assert expected["delta_weight_pct"].abs().sum() > 0   # the weight does move at rest
    table = pd.read_csv(out / "delta_weight_trajectories.csv")
    np.testing.assert_allclose(table["delta_weight_pct"], expected["delta_weight_pct"])
    summary = pd.read_csv(out / "delta_weight.csv")
    row = ss.trafficking.summary(expected["delta_weight_pct"]).iloc[0]
    assert summary.loc[0, "condition"] == "rest" and summary.loc[0, "n"] == 6
    assert summary.loc[0, "delta_weight_pct_mean"] == pytest.approx(
        row["delta_weight_pct_mean"])
    assert f"{row['delta_weight_pct_mean']:+.1f}" in printed
    assert (out / "delta_weight_timecourse.csv").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--readout-after", "10", "--t-end", "5"], "exclude each other"),
    (["--t-end", "5", "--protocol", "hfs", "--protocol", "lfs"], "without --readout-after"),
    ([], "needs --t-end"),
    (["--readout-after", "10", "--warm-up", "15", "--sample-every", "10"],
     "does not divide --warm-up"),
])
def test_readout_after_options_are_checked(argv, message, capsys):
    assert main(["run", TRAFFICKING, "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_readout_after_needs_the_weight_observable(capsys):
    assert main(["run", AMPAR, "--readout-after", "10", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "ampar_psd_conductance" in err and "reactions/spine.toml" in err


def test_the_summary_quantiles_are_numpys_to_the_bit():
    """cli._quantiles (the final table's q05/q50/q95) computes np.quantile's default
    method itself (np.quantile imports numpy.ma through np.unique: a cold start's 0.03 s);
    the same floats, ends, ties and single values included."""
    import numpy as np

    from stochsyn.cli import _quantiles
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 7, 20, 101, 1000):
        for scale in (1e-3, 1.0, 1e6):
            for x in (rng.normal(size=n) * scale, np.round(rng.normal(size=n) * 5)):
                qs = (0.0, 0.05, 0.25, 0.5, 0.95, 1.0, 1 / 3)
                np.testing.assert_array_equal(_quantiles(x, qs), np.quantile(x, list(qs)))
