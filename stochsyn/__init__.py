"""stochsyn: exact, agent-based stochastic simulation of synaptic plasticity at a spine."""

__version__ = "0.1.0"

from .model import Model, ModelError, load_model  # noqa: E402
from .ensemble import BudgetWarning, SimulationError, simulate  # noqa: E402
from .results import Ensemble, read  # noqa: E402
from .network import compile  # noqa: E402
from . import decoding, protocols  # noqa: E402

__all__ = ["Model", "ModelError", "load_model", "simulate", "Ensemble", "read", "compile",
           "protocols", "decoding", "SimulationError", "BudgetWarning", "__version__"]
