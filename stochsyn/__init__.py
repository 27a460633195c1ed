"""stochsyn: exact, agent-based stochastic simulation of synaptic plasticity at a spine.

The model layer is imported at once; the protocols (and numpy), the runner, the result
tables, the datasets and the compiler (and with them numba, pandas and pyarrow) on first
use of one of their names below. So reading a model (``stochsyn info``, a bad model file's
error message) takes a fraction of a second.
"""

import importlib

from ._version import __version__
from .model import Model, ModelError, load_model

__all__ = ["Model", "ModelError", "load_model", "simulate", "sweep", "Ensemble", "read",
           "merge", "compile", "protocols", "decoding", "SimulationError", "BudgetWarning",
           "RunWarning",
           "RunInterrupted", "AlreadyComplete", "IncompleteDatasetWarning",
           "IncompleteDatasetError", "DatasetWriteError", "DatasetMismatchError",
           "__version__"]

_ENSEMBLE = ("simulate", "sweep", "SimulationError", "BudgetWarning", "RunWarning",
             "RunInterrupted", "AlreadyComplete")
_RESULTS = ("Ensemble", "read", "IncompleteDatasetError", "IncompleteDatasetWarning")
_DATASET = ("merge", "DatasetWriteError", "DatasetMismatchError")


def __getattr__(name: str):
    """The names of the runner, the result tables, the datasets and the compiler,
    imported on first use (PEP 562); then module attributes like the others."""
    if name in _ENSEMBLE:
        from . import ensemble as module
    elif name in _RESULTS:
        from . import results as module
    elif name in _DATASET:
        from . import dataset as module
    elif name == "compile":
        from . import network as module
    elif name in ("protocols", "decoding"):
        # not 'from . import protocols': that asks this function for the name again
        return importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'stochsyn' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
