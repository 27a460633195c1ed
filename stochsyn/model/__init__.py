"""Model files and Model objects: reading, validation, units, agent-rule expansion."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ExpressionError, ModelError, UnitError
from .model import Intervention, Model, Reaction
from .rules import AgentType


def load_model(path: str | os.PathLike) -> Model:
    """Read a model file: TOML (``.toml``); SBML import is a separate, optional reader.

    Raises
    ------
    ModelError
        For a missing, unreadable or invalid file; the message names the file and item.
    """
    path = Path(path)
    if path.suffix.lower() in (".xml", ".sbml"):
        raise ModelError("SBML import is not available yet in this version of stochsyn",
                         source=str(path), hint="write the model as a TOML file "
                         "(docs/model-format.md)")
    from .toml import load_toml
    return load_toml(path)


__all__ = ["Model", "Reaction", "Intervention", "AgentType", "ModelError", "ExpressionError",
           "UnitError", "load_model"]
