"""stochsyn: exact, agent-based stochastic simulation of synaptic plasticity at a spine."""

from ._version import __version__
from .model import Model, ModelError, load_model
from .dataset import DatasetMismatchError, DatasetWriteError, merge
from .ensemble import (AlreadyComplete, BudgetWarning, RunInterrupted, SimulationError,
                       simulate, sweep)
from .results import Ensemble, IncompleteDatasetError, IncompleteDatasetWarning, read
from .network import compile
from . import protocols

__all__ = ["Model", "ModelError", "load_model", "simulate", "sweep", "Ensemble", "read",
           "merge", "compile", "protocols", "SimulationError", "BudgetWarning",
           "RunInterrupted", "AlreadyComplete", "IncompleteDatasetWarning",
           "IncompleteDatasetError", "DatasetWriteError", "DatasetMismatchError",
           "__version__"]
