"""stochsyn: exact, agent-based stochastic simulation of synaptic plasticity at a spine.

The model layer is imported at once; the protocols (and numpy), the runner, the result
tables and the compiler (and with them numba, pandas and pyarrow) on first use of
``protocols``, ``simulate``, ``read``, ``Ensemble``, ``compile`` or the runner's exceptions
and warnings. So reading a model (``stochsyn info``, a bad model file's error message)
takes a fraction of a second.
"""

import importlib

from ._version import __version__
from .model import Model, ModelError, load_model

__all__ = ["Model", "ModelError", "load_model", "simulate", "Ensemble", "read", "compile",
           "protocols", "SimulationError", "BudgetWarning", "RunWarning", "__version__"]


def __getattr__(name: str):
    """The names of the runner, the result tables and the compiler, imported on first use
    (PEP 562); then module attributes like the others."""
    if name in ("simulate", "SimulationError", "BudgetWarning", "RunWarning"):
        from . import ensemble as module
    elif name in ("Ensemble", "read"):
        from . import results as module
    elif name == "compile":
        from . import network as module
    elif name == "protocols":
        # not 'from . import protocols': that asks this function for the name again
        return importlib.import_module(f"{__name__}.protocols")
    else:
        raise AttributeError(f"module 'stochsyn' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
