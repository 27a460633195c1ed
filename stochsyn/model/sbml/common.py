"""What the SBML reader and writer share: the namespace of stochsyn's annotations, the
import of python-libsbml (the optional extra ``stochsyn[sbml]``) and the guard that keeps
libsbml's internals from reaching the user."""

from __future__ import annotations

import re
from contextlib import contextmanager

from ... import limits
from ..errors import ModelError

#: XML namespace of the stochsyn annotations (agent types, neighbours, logging).
STOCHSYN_NS = "https://stochsyn.invalid/sbml/1"
_INSTALL_HINT = "install it with: pip install 'stochsyn[sbml]'"


#: Markup that the depth scan of an XML text steps over whole (comments, CDATA, processing
#: instructions, the DOCTYPE), and the tags it counts (attribute values may hold '>').
_XML_TOKEN_RE = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
                           r"|<(/?)[A-Za-z_][^\s/>]*(?:\"[^\"]*\"|'[^']*'|[^'\">])*?(/?)>",
                           re.DOTALL)
_ENTITY_RE = re.compile(r"<!ENTITY\b")


def check_xml_text(text: str, source: str) -> None:
    """Refuse, before libsbml parses it, a text that is not XML at all (a TOML file named
    .xml), or an XML text that declares DTD entities or nests elements more than
    :data:`stochsyn.limits.XML_DEPTH` deep.

    SBML never needs entity declarations, and an entity defined through others can make a
    small file expand to gigabytes (a "billion laughs" file) or read other files; libsbml
    answers such files with "Unrecognized error". Deeply nested elements crash libsbml's
    parser (a C++ stack overflow, not an exception), so the depth is counted here first.

    Raises
    ------
    ModelError
        Naming the line of the first entity declaration or of the element too deep.
    """
    start = text.lstrip()
    if not start.startswith("<"):
        first = start.split("\n", 1)[0][:40]
        raise ModelError(f"not valid SBML: the content is not well-formed XML (it starts with "
                         f"{first!r}, not '<')", source=source, where="line 1",
                         hint="an SBML file starts with '<?xml' or '<sbml'; a TOML model file "
                              "must be named *.toml")
    entity = _ENTITY_RE.search(text)
    if entity:
        line = text.count("\n", 0, entity.start()) + 1
        raise ModelError("the file declares XML entities (<!ENTITY ...>), which SBML files "
                         "never need; stochsyn does not read them", source=source,
                         where=f"line {line}",
                         hint="remove the DOCTYPE and its entity declarations and write the "
                              "text in place (an entity that expands into others can make "
                              "a small file huge)")
    depth = 0
    for match in _XML_TOKEN_RE.finditer(text):
        closing, empty = match.group(1), match.group(2)
        if closing is None or empty:          # markup that nests nothing, or <a/>
            continue
        if closing:
            depth -= 1
            continue
        depth += 1
        if depth > limits.XML_DEPTH:
            line = text.count("\n", 0, match.start()) + 1
            raise ModelError(f"XML elements are nested more than {limits.XML_DEPTH:,} levels "
                             "deep", source=source, where=f"line {line}",
                             hint="an SBML model nests a few dozen levels at most; simplify "
                                  "the formula or annotation near that line")


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
