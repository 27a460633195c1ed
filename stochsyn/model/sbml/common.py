"""What the SBML reader and writer share: the namespace of stochsyn's annotations, the
import of python-libsbml (the optional extra ``stochsyn[sbml]``) and the guard that keeps
libsbml's internals from reaching the user."""

from __future__ import annotations

from contextlib import contextmanager

from ..errors import ModelError

#: XML namespace of the stochsyn annotations (agent types, neighbours, logging).
STOCHSYN_NS = "https://stochsyn.invalid/sbml/1"
_INSTALL_HINT = "install it with: pip install 'stochsyn[sbml]'"


def _import_libsbml(source: str):
    try:
        import libsbml
    except ImportError:
        raise ModelError("SBML support needs python-libsbml, which is not installed",
                         source=source, hint=_INSTALL_HINT) from None
    return libsbml


@contextmanager
def unexpected_errors_as_bugs(what: str, source: str, hint: str):
    """Turn any exception but a ModelError (or an interrupt) raised inside the block into
    ``ModelError("stochsyn could not {what} (Type: message)")``, with ``hint`` asking for
    a bug report: the reader and writer refuse bad input themselves, so anything else is
    theirs."""
    try:
        yield
    except (ModelError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - no libsbml internals reach the user
        raise ModelError(f"stochsyn could not {what} ({type(exc).__name__}: {exc})",
                         source=source, hint=hint) from None
