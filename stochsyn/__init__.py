"""stochsyn: exact, agent-based stochastic simulation of synaptic plasticity at a spine."""

from ._version import __version__
from .model import Model, ModelError, load_model
from .ensemble import BudgetWarning, SimulationError, simulate
from .results import Ensemble, read
from .network import compile
from . import protocols

__all__ = ["Model", "ModelError", "load_model", "simulate", "Ensemble", "read", "compile",
           "protocols", "SimulationError", "BudgetWarning", "__version__"]
