"""Numba kernels: random streams (:mod:`.rng`), the exact SSA (:mod:`.ssa`) and the
continuous species of the hybrid mode (:mod:`.continuous`); the kernel of plain networks
also as native code loaded without numba (:mod:`.native`)."""

from .kernel_cache import (code_fingerprint, engine_fingerprint,  # noqa: F401
                           invalidate_stale_kernel_cache, kernel_cache_folder)

invalidate_stale_kernel_cache()

# Nothing here imports numba: the batch runner imports the kernels (.ssa) when numba runs
# them, not when the native kernel of a plain network does (.native).
from .batch import NOT_STARTED, run_batch  # noqa: E402
from .codes import (AGENT_CAPACITY, FLUX_NEGATIVE, HAZARD_BOUND, INTERRUPTED,  # noqa: E402
                    MAX_EVENTS, NEGATIVE_COUNT, NONFINITE_PROPENSITY, ODE_FAILURE, OK)

#: What each kernel status code means, for messages and result tables.
STATUS_TEXT = {
    OK: "ok",
    MAX_EVENTS: "max_events",
    NEGATIVE_COUNT: "negative_count",
    NONFINITE_PROPENSITY: "nonfinite_propensity",
    AGENT_CAPACITY: "agent_capacity",
    ODE_FAILURE: "ode_failure",
    HAZARD_BOUND: "hazard_bound",
    INTERRUPTED: "interrupted",
    NOT_STARTED: "not_started",
    FLUX_NEGATIVE: "flux_negative",
}

__all__ = ["STATUS_TEXT", "OK", "MAX_EVENTS", "NEGATIVE_COUNT", "NONFINITE_PROPENSITY",
           "AGENT_CAPACITY", "ODE_FAILURE", "HAZARD_BOUND", "INTERRUPTED", "NOT_STARTED",
           "FLUX_NEGATIVE", "run_batch"]
