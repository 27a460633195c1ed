"""The electrophysiology validations read model files of the source tree (reactions/), which a
plain ``pip install .`` does not install. A plain install must fail with an error that says
what to do, and the analysis scripts must pass the files' paths themselves (they once
imported the installed package and looked for reactions/ inside site-packages)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stochsyn.validation import (REPOSITORY, calcium_transients, load_repository_model,
                                 mg_unblock)

ROOT = Path(__file__).resolve().parents[2]


def test_the_default_files_are_the_source_trees():
    assert REPOSITORY == ROOT
    assert mg_unblock.MODULE_PATH.is_file()
    assert calcium_transients.MODEL.is_file()


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pip install -e \.") as info:
        load_repository_model(tmp_path / "reactions" / "modules" / "nmdar_kampa.toml")
    assert "module=" in str(info.value)


def test_a_plain_install_fails_clearly_and_takes_an_explicit_path(tmp_path):
    """The package copied alone (as site-packages holds it) finds no reactions/; given the
    module's path it builds the V3 model."""
    shutil.copytree(ROOT / "stochsyn", tmp_path / "stochsyn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    script = (
        "import sys\n"
        "from stochsyn.validation import mg_unblock as mu\n"
        "assert mu.__file__.startswith(sys.argv[1]), mu.__file__\n"
        "try:\n"
        "    mu.build_model(0.01)\n"
        "except FileNotFoundError as error:\n"
        "    print('refused:', error)\n"
        "else:\n"
        "    raise SystemExit('a plain install found reactions/')\n"
        "model = mu.build_model(0.01, module=sys.argv[2])\n"
        "print('built', sum(model.agent_types[0].initial))\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path),
                           str(ROOT / "reactions" / "modules" / "nmdar_kampa.toml")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and "pip install -e ." in done.stdout
    assert f"built {mg_unblock.N_RECEPTORS}" in done.stdout


def test_the_v3_script_passes_the_module_path():
    spec = importlib.util.spec_from_file_location("mg_unblock_v3",
                                                  ROOT / "analysis" / "mg_unblock_v3.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.MODULE == mg_unblock.MODULE_PATH
