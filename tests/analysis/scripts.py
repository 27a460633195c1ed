"""The scripts of ``analysis/`` imported as modules, for the tests of their functions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "analysis"


def load_script(name: str):
    """``analysis/<name>.py`` run afresh as the module ``analysis_<name>`` (the scripts
    are not a package; registered in ``sys.modules`` under that name, as the dataclasses
    they define need)."""
    spec = importlib.util.spec_from_file_location(f"analysis_{name}", ANALYSIS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
