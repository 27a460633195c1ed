"""Read model files written in TOML (standard library ``tomllib``)."""

from __future__ import annotations

from pathlib import Path

from .compose import locate, read_toml
from .model import Model

__all__ = ["load_toml", "locate"]


def load_toml(path: str | Path) -> Model:
    """Read a TOML model file, with the fragments it includes (``[model] include``, see
    :mod:`stochsyn.model.compose`).

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    ModelError
        If the file or a fragment cannot be read, is not valid TOML, or describes an
        invalid model; the message names the file, the line or item, and what to do. For an
        item that came from a fragment it names the fragment and the line there.
    """
    data, locations = read_toml(str(Path(path)))
    return Model.from_dict(data, source=str(Path(path)), locations=locations)
