"""Model files and Model objects: reading, validation, units, agent-rule expansion."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ExpressionError, ModelError, UnitError, UnitWarning
from .model import Intervention, Model, Reaction, hybrid_roles, linear_obstacle
from .rules import AgentType


def load_model(path: str | os.PathLike) -> Model:
    """Read a model file: TOML (``.toml``) or SBML Level 2/3 (``.xml``, ``.sbml``).

    SBML needs python-libsbml (``pip install 'stochsyn[sbml]'``); see
    :func:`stochsyn.model.sbml.reader.load_sbml` and ``docs/model-format.md`` for what is read
    and what is refused.

    Raises
    ------
    ModelError
        For a missing, unreadable or invalid file; the message names the file and item.
    """
    path = Path(path)
    if path.suffix.lower() in (".xml", ".sbml"):
        from .sbml.reader import load_sbml
        return load_sbml(path)
    from .toml import load_toml
    return load_toml(path)


__all__ = ["Model", "Reaction", "Intervention", "AgentType", "ModelError", "ExpressionError",
           "UnitError", "UnitWarning", "load_model", "hybrid_roles", "linear_obstacle"]
