"""Modules imported on first use.

pandas and pyarrow take ~0.25 s to import (more than numba's kernels take to load from the
cache), and only building tables or writing Parquet needs them: a ``simulate`` call that
returns arrays never does. :func:`lazy_module` gives a stand-in whose first attribute
access imports the real module.
"""

from __future__ import annotations

import importlib
import types


class _LazyModule(types.ModuleType):
    """A module imported on its first attribute access (then it is the real one's)."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__["_lazy_target"] = None

    def _load(self):
        target = self.__dict__["_lazy_target"]
        if target is None:
            target = importlib.import_module(self.__name__)
            self.__dict__["_lazy_target"] = target
        return target

    def __getattr__(self, attribute: str):
        return getattr(self._load(), attribute)

    def __dir__(self):
        return dir(self._load())


def lazy_module(name: str) -> types.ModuleType:
    """A stand-in for the module ``name`` that imports it when first used.

    Parameters
    ----------
    name : str
        Absolute module name, e.g. ``"pandas"`` or ``"pyarrow.parquet"``.
    """
    return _LazyModule(name)


__all__ = ["lazy_module"]
