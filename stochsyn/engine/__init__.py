"""Numba kernels: random streams (:mod:`.rng`) and the exact SSA (:mod:`.ssa`)."""

from .batch import run_batch
from .ssa import AGENT_CAPACITY, MAX_EVENTS, NEGATIVE_COUNT, NONFINITE_PROPENSITY, OK

#: What each kernel status code means, for messages and result tables.
STATUS_TEXT = {
    OK: "ok",
    MAX_EVENTS: "max_events",
    NEGATIVE_COUNT: "negative_count",
    NONFINITE_PROPENSITY: "nonfinite_propensity",
    AGENT_CAPACITY: "agent_capacity",
}

__all__ = ["STATUS_TEXT", "OK", "MAX_EVENTS", "NEGATIVE_COUNT", "NONFINITE_PROPENSITY",
           "AGENT_CAPACITY", "run_batch"]
