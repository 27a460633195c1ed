"""Read model files written in TOML (standard library ``tomllib``)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from .errors import ModelError
from .model import Model

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_\-µ]+))\s*=""")
_NAME_IN_TABLE_RE = re.compile(r"""^\s*name\s*=\s*["']([^"']+)["']""")


def load_toml(path: str | Path) -> Model:
    """Read a TOML model file.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    ModelError
        If the file cannot be read, is not valid TOML, or describes an invalid model; the
        message names the file, the line or item, and what to do.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelError(f"no such model file: {path}", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read the model file: {exc}", source=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        twice = re.search(r"Cannot (overwrite|declare)", str(exc))
        raise ModelError(f"not valid TOML: {exc}", source=str(path),
                         where=f"line {line.group(1)}" if line else None,
                         hint="a key or [table] is defined twice; each name may appear only "
                              "once in its table" if twice else
                              "check the quoting and the [table] headers near that line"
                         ) from None
    return Model.from_dict(data, source=str(path), locations=locate(text))


def locate(text: str) -> dict[tuple, int]:
    """Line numbers (1-based) of the items of a TOML model file, for error messages.

    Keys: ``(table, key)`` for entries of ``[species]``, ``[parameters]``, ``[observables]``
    and ``[agents.NAME]`` headers; ``("reactions", i)`` and ``("reactions", name)`` for the
    i-th ``[[reactions]]`` entry; ``("interventions", i)``; ``(table, None)`` for the first
    header (or top-level key) of each top-level table.
    """
    locations: dict[tuple, int] = {}
    table, counters = None, {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER_RE.match(line)
        if header:
            table = header.group(2)
            locations.setdefault((table.split(".", 1)[0].strip(), None), number)
            if header.group(1) == "[[":
                index = counters.get(table, 0)
                counters[table] = index + 1
                locations[(table, index)] = number
                table = (table, index)
            elif table.startswith("agents."):
                locations[("agents", table.split(".", 1)[1])] = number
            continue
        if isinstance(table, tuple):
            name = _NAME_IN_TABLE_RE.match(line)
            if name:
                locations[(table[0], name.group(1))] = locations[table]
            continue
        key = _KEY_RE.match(line)
        if key and table is None:
            locations.setdefault((next(g for g in key.groups() if g), None), number)
        elif key and table in ("species", "parameters", "observables", "model"):
            locations[(table, next(g for g in key.groups() if g))] = number
    return locations
