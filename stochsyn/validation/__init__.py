"""Correctness suites (DSMTS) and the electrophysiology validations of docs/science.md §9.

The electrophysiology validations read model files of the stochsyn source tree
(``reactions/``), which ``pip install .`` does not install with the package: they run from a
source checkout, or are given the file's path (:func:`load_repository_model`).
"""

from __future__ import annotations

from pathlib import Path

from ..model import load_model

#: The source tree's root when the package is imported from a checkout (or an editable
#: install); in a plain install this points into site-packages, where reactions/ is absent.
REPOSITORY = Path(__file__).resolve().parents[2]


def load_repository_model(path):
    """``stochsyn.load_model(path)`` for a model file of the source tree, with an error
    that says what to do when a plain install has no ``reactions/`` folder.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such model file. The electrophysiology validations read the model "
            "files of the stochsyn repository (reactions/), which `pip install .` does not "
            "install: run from a source checkout (`pip install -e .`), or pass the file's "
            "path (module=... or model=...; the scripts in analysis/ do)")
    return load_model(path)
