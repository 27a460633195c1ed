"""What the SBML reader and writer share: the namespace of stochsyn's annotations and the
import of python-libsbml (the optional extra ``stochsyn[sbml]``)."""

from __future__ import annotations

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
