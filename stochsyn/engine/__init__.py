"""Numba kernels: random streams (:mod:`.rng`), the exact SSA (:mod:`.ssa`) and the
continuous species of the hybrid mode (:mod:`.continuous`)."""

import hashlib
from pathlib import Path


def invalidate_stale_kernel_cache(package_dir: Path | None = None) -> bool:
    """Clear numba's on-disk kernel cache when any engine source file changed.

    Numba checks only the timestamp of the file that defines a cached function. The SSA
    kernel inlines code from ``rng.py`` and ``hazard.py``, so after an edit (or a
    ``git pull``) that touches only those, it would load stale machine code. A fingerprint
    of all engine sources is kept next to the cache; when it differs, the cache files are
    removed and numba recompiles (about 12 s, once). Best effort: a read-only install
    (whose files change only on reinstall) is left alone.

    Returns
    -------
    bool
        True if cache files were removed.
    """
    here = Path(package_dir) if package_dir is not None else Path(__file__).parent
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes()
                                     for p in sorted(here.glob("*.py")))).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "stochsyn-engine.fingerprint"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    removed = False
    try:
        cache.mkdir(exist_ok=True)
        for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            path.unlink(missing_ok=True)
            removed = True
        stamp.write_text(digest)
    except OSError:
        pass
    return removed


invalidate_stale_kernel_cache()

from .batch import NOT_STARTED, run_batch  # noqa: E402
from .ssa import (AGENT_CAPACITY, HAZARD_BOUND, INTERRUPTED, MAX_EVENTS,  # noqa: E402
                  NEGATIVE_COUNT, NONFINITE_PROPENSITY, OK)
from .continuous import FLUX_NEGATIVE, ODE_FAILURE  # noqa: E402

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
