"""The stochsyn command line."""

import subprocess
import sys

import numpy as np

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
