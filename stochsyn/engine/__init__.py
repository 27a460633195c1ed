"""Numba kernels: random streams (:mod:`.rng`), the exact SSA (:mod:`.ssa`) and the
continuous species of the hybrid mode (:mod:`.continuous`)."""

import ast
import hashlib
from pathlib import Path


class _WithoutDocstrings(ast.NodeTransformer):
    """Drops every statement that is a bare string (docstrings)."""

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        return node


def code_fingerprint(source: str) -> str:
    """What of a Python source numba can compile, as text: its syntax tree without
    docstrings, comments, formatting or line numbers (``ast.dump``). A source that does
    not parse is its own fingerprint (the import then fails, and a fix changes it)."""
    try:
        tree = _WithoutDocstrings().visit(ast.parse(source))
    except (SyntaxError, ValueError):
        return source
    return ast.dump(tree, annotate_fields=False)


def invalidate_stale_kernel_cache(package_dir: Path | None = None) -> bool:
    """Clear numba's on-disk kernel cache when the code of an engine source file changed.

    Numba checks only the timestamp of the file that defines a cached function. The SSA
    kernel inlines code from ``rng.py`` and ``hazard.py``, so after an edit (or a
    ``git pull``) that touches only those, it would load stale machine code. A fingerprint
    of the code of all engine sources (:func:`code_fingerprint`: an edit of a docstring or
    a comment, or a reformatting, keeps it) is kept next to the cache; when it differs,
    the cache files are removed and numba recompiles (2–3 minutes of CPU, once).
    Best effort: a read-only install (whose files change only on reinstall) is left
    alone.

    Returns
    -------
    bool
        True if cache files were removed.
    """
    here = Path(package_dir) if package_dir is not None else Path(__file__).parent
    sources = [(p.name, p.read_bytes()) for p in sorted(here.glob("*.py"))]
    # The bytes' digest first (~0.4 ms): parsing every source (~0.13 s) is needed only
    # when a file changed, to tell a change of its code from one of its text.
    text = hashlib.sha256(b"".join(name.encode() + b"\0" + data + b"\0"
                                   for name, data in sources)).hexdigest()
    cache = here / "__pycache__"
    stamp = cache / "stochsyn-engine.fingerprint"
    try:
        kept_text, kept_code = stamp.read_text().split()
    except (OSError, ValueError):
        kept_text = kept_code = None
    if text == kept_text:
        return False
    code = hashlib.sha256(b"".join(
        name.encode() + b"\0" + code_fingerprint(data.decode("utf-8", "replace")).encode()
        + b"\0" for name, data in sources)).hexdigest()
    removed = False
    try:
        cache.mkdir(exist_ok=True)
        if code != kept_code:
            for path in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
                path.unlink(missing_ok=True)
                removed = True
        stamp.write_text(f"{text}\n{code}\n")
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
