"""Model composition: ``[model] include = [...]`` merges TOML fragments into one model.

A model file may include fragments (``reactions/modules/*.toml``): files with the same
tables as a model (``parameters``, ``inputs``, ``species``, ``agents``, ``reactions``,
``observables``, ``interventions``, ``channels``, ``membrane``) whose own ``[model]`` holds at most ``description``,
``note`` and ``include``. Paths are relative to the including file. The merge is
recursive and, for one file, goes:

1. its includes, in the order listed, each merged recursively. A name (a key of
   ``[parameters]``, ``[inputs]``, ``[species]``, ``[agents]``, ``[observables]``,
   ``[channels]``, ``[membrane]``, or a reaction ``name``) defined in two of them is an
   error that names both files and lines -- unless the including file defines it itself
   in ``[parameters]``, ``[inputs]``, ``[species]``, ``[channels]`` or ``[membrane]``
   (step 2), or both definitions are the same line of the same file (one fragment reached
   along two include paths counts once);
2. then the file's own content: an entry of ``[parameters]``, ``[inputs]``, ``[species]``,
   ``[channels]`` or ``[membrane]`` replaces the included entry of that name as a whole
   (this is how a spine model sets counts and calibrated values of its modules, or
   replaces one key of the membrane, e.g. ``neck_resistance``); any other name that an
   included file already defines is an error. Its reactions and interventions come after
   the included ones.

``[continuous]`` (the hybrid mode): the ``species`` lists of the included files are
united (in include order, each name once); the file's own ``species`` list replaces that
union as a whole (``species = []`` makes the model exact again). Its ``rtol`` and ``atol``
behave like entries of ``[parameters]``: two includes that set different values clash
unless the including file sets its own.

An include cycle is an error that shows the chain. The result is one plain model dict
without ``include`` (what :attr:`stochsyn.Model.spec` holds and :attr:`Model.hash`
covers) and, for error messages, the file and line every item came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Any, Mapping

from .. import limits
from .errors import ModelError
from .files import read_model_text

__all__ = ["locate", "read_toml", "compose"]

_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_RE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_\-µ]+))\s*=""")
_NAME_IN_TABLE_RE = re.compile(r"""^\s*name\s*=\s*["']([^"']+)["']""")

#: Tables whose entries have names (``[table] name = ...`` or ``[table.name]``).
NAMED_TABLES = ("parameters", "inputs", "species", "agents", "observables", "channels",
                "membrane")
#: Of those, the ones whose entries an including file may replace.
OVERRIDABLE = ("parameters", "inputs", "species", "channels", "membrane")
LIST_TABLES = ("reactions", "interventions")
#: The hybrid mode's table: ``species`` lists unite over includes (module docstring).
CONTINUOUS = "continuous"
FRAGMENT_MODEL_KEYS = ("description", "note", "include")


def locate(text: str) -> dict[tuple, int]:
    """Line numbers (1-based) of the items of a TOML model file, for error messages.

    Keys: ``(table, key)`` for entries of ``[species]``, ``[parameters]``, ``[inputs]``,
    ``[observables]``, ``[agents]`` and ``[model]`` (also written as ``[table.key]``
    headers); ``("reactions", i)`` and ``("reactions", name)`` for the i-th
    ``[[reactions]]`` entry; ``("interventions", i)``; ``(table, None)`` for the first
    header (or top-level key) of each top-level table.
    """
    locations: dict[tuple, int] = {}
    table, counters = None, {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER_RE.match(line)
        if header:
            table = header.group(2)
            first, _, rest = table.partition(".")
            locations.setdefault((first.strip(), None), number)
            if header.group(1) == "[[":
                index = counters.get(table, 0)
                counters[table] = index + 1
                locations[(table, index)] = number
                table = (table, index)
            elif rest and first.strip() in NAMED_TABLES:
                name = rest.split(".", 1)[0].strip().strip("\"'")
                locations.setdefault((first.strip(), name), number)
            continue
        if isinstance(table, tuple):
            name = _NAME_IN_TABLE_RE.match(line)
            if name:
                locations[(table[0], name.group(1))] = locations[table]
            continue
        key = _KEY_RE.match(line)
        if key and table is None:
            locations.setdefault((next(g for g in key.groups() if g), None), number)
        elif key and table in NAMED_TABLES + ("model", CONTINUOUS):
            locations[(table, next(g for g in key.groups() if g))] = number
    return locations


#: What the nesting scan of a TOML text steps over: strings (the four TOML kinds) and
#: comments whole, so that brackets inside them do not count; and the brackets themselves.
_TOML_TOKEN_RE = re.compile("|".join((
    r'"""(?:[^"\\]|\\.|"(?!""))*"""',      # multi-line basic string
    r"'''(?:[^']|'(?!''))*'''",        # multi-line literal string
    r'"(?:[^"\\\n]|\\.)*"',               # basic string
    r"'[^'\n]*'",                        # literal string
    r"#[^\n]*",                            # comment
    r"[\[\]{}]")))                         # the brackets counted


def toml_nesting(text: str) -> tuple[int, int]:
    """(deepest nesting of arrays and inline tables, 1-based line where it is reached) in a
    TOML text, strings and comments skipped. A table header ``[a]`` counts 1, ``[[a]]`` 2.
    Unbalanced brackets are left to the TOML parser to report."""
    depth = deepest = 0
    at = 0
    if text.count("[") + text.count("{") <= limits.DATA_DEPTH:
        return 0, 0          # too few brackets to nest that deep: no need to scan
    for match in _TOML_TOKEN_RE.finditer(text):
        token = match.group(0)
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest, at = depth, match.start()
                if deepest > limits.DATA_DEPTH:
                    break
        elif token in "]}":
            depth = max(depth - 1, 0)
    return deepest, text.count("\n", 0, at) + 1


def read_toml(path: str, *, included_by: tuple[str, int | None] | None = None
              ) -> tuple[dict, dict[tuple, int]]:
    """The dict and the line locations (:func:`locate`) of one TOML file.

    ``included_by`` = (file, line) of the include entry: a file that cannot be read is
    reported there, and an error inside the file names the file, its line and the
    including file and line.
    """
    text = read_model_text(path, included_by=included_by)
    included = (f" (included by {included_by[0]}"
                + (f", line {included_by[1]})" if included_by[1] else ")")
                if included_by is not None else "")
    deepest, line = toml_nesting(text)
    if deepest > limits.DATA_DEPTH:
        raise _too_deep(path, f"line {line}{included}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(path, f"near the start{included}") from None
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"at line (\d+)", str(exc))
        twice = re.search(r"Cannot (overwrite|declare)", str(exc))
        raise ModelError(f"not valid TOML: {exc}", source=path,
                         where=(f"line {line.group(1)}" if line else "") + included or None,
                         hint="a key or [table] is defined twice; each name may appear only "
                              "once in its table" if twice else
                              "check the quoting and the [table] headers near that line"
                         ) from None
    return data, locate(text)


def _too_deep(path: str, where: str) -> ModelError:
    return ModelError(f"arrays or inline tables are nested more than {limits.DATA_DEPTH} "
                      "levels deep", source=path, where=where,
                      hint="a model file needs at most 4 levels (e.g. a bap kernel: "
                           "kernel = [[0.7, \"3 ms\"], [0.3, \"40 ms\"]]); check the brackets "
                           "near that line")


def _where_include(line) -> str:
    return "[model] 'include'" + (f" (line {line})" if line else "")


def _show(origin) -> str:
    file, line = origin
    return f"{file} (line {line})" if line else file


class _Merged:
    """The merged content of one file and its includes, with the origin of every item:
    (table, name) and (table, index) -> (file, line or None)."""

    def __init__(self, include_where: str = "[model] 'include'"):
        self.include_where = include_where
        self.data: dict[str, Any] = {}
        self.origin: dict[tuple, tuple[str, int | None]] = {}
        # (table, i) -> (real path, index in that file): the identity of a listed item
        self.identity: dict[tuple, tuple[str, int]] = {}
        self.clashes: dict[tuple, tuple] = {}      # (table, name) -> (first, second origin)

    def add_named(self, table, name, value, origin):
        """An entry from an included file (step 1)."""
        key = (table, name)
        entries = self.data.setdefault(table, {})
        if key in self.origin:
            # A file defines a name once (TOML): the same file reached along two include
            # paths is one definition, not a clash.
            if os.path.realpath(self.origin[key][0]) != os.path.realpath(origin[0]):
                self.clashes.setdefault(key, (self.origin[key], origin))
            return
        entries[name] = value
        self.origin[key] = origin

    def add_listed(self, table, body, origin, identity, file):
        """A reaction or intervention from an included file (step 1)."""
        items = self.data.setdefault(table, [])
        if identity in (self.identity[(table, i)] for i in range(len(items))):
            return
        if table == "reactions" and isinstance(body, Mapping) and "name" in body:
            for i, other in enumerate(items):
                if isinstance(other, Mapping) and other.get("name") == body["name"]:
                    raise ModelError(
                        f"the reaction '{body['name']}' is defined in two included files: "
                        f"{_show(self.origin[(table, i)])} and {_show(origin)}",
                        source=file, where=self.include_where,
                        hint="rename one of them, or include only one of the files")
        self.origin[(table, len(items))] = origin
        self.identity[(table, len(items))] = identity
        items.append(body)


def _table(data, table, file, locations):
    value = data.get(table, {} if table not in LIST_TABLES else [])
    expected = list if table in LIST_TABLES else Mapping
    if not isinstance(value, expected):
        line = locations.get((table, None))
        raise ModelError(f"[{table}] must be " + ("an array of tables ([[" + table + "]])"
                                                  if table in LIST_TABLES else
                                                  "a table of name = value entries"),
                         source=file, where=f"[{table}]" + (f" (line {line})" if line else ""))
    return value


def _merge(data: Mapping, locations: Mapping[tuple, int], file: str,
           chain: tuple[str, ...], reads: list[int]) -> _Merged:
    """Merge one file (its dict ``data``, line ``locations``) with its includes;
    ``reads`` = [files read through includes so far], for the limit."""
    header = data.get("model", {})
    if not isinstance(header, Mapping):
        raise ModelError("[model] must be a table", source=file, where="[model]")
    includes = header.get("include", [])
    include_line = locations.get(("model", "include"))
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(p, str) and p for p in includes):
        raise ModelError("'include' must be a list of file paths (strings)", source=file,
                         where=_where_include(include_line),
                         hint='e.g. include = ["modules/nmdar_vcr.toml"]')
    if chain:       # a fragment
        for key in header:
            if key not in FRAGMENT_MODEL_KEYS:
                line = locations.get(("model", key))
                raise ModelError(f"an included file may not set '{key}' in [model]",
                                 source=file,
                                 where=f"[model] '{key}'" + (f" (line {line})" if line else ""),
                                 hint="only the including model sets name and volume; a "
                                      "fragment's [model] may hold description, note and "
                                      "include")
        for key in data:
            if key not in NAMED_TABLES + LIST_TABLES + ("model", CONTINUOUS):
                line = locations.get((key, None))
                raise ModelError(f"unknown top-level table [{key}] in an included file",
                                 source=file,
                                 where=f"[{key}]" + (f" (line {line})" if line else ""),
                                 hint="allowed: " + ", ".join(NAMED_TABLES + LIST_TABLES
                                                               + ("model", CONTINUOUS)))
    merged = _Merged(_where_include(include_line))
    here = os.path.dirname(file) if file != "<dict>" else ""
    for relative in includes:
        path = os.path.normpath(os.path.join(here, relative))
        real = os.path.realpath(path)
        reals = [os.path.realpath(p) for p in chain + (file,)]
        if real in reals:
            cycle = " -> ".join(list(chain + (file,))[reals.index(real):] + [path])
            raise ModelError(f"include cycle: {cycle}", source=file,
                             where=_where_include(include_line),
                             hint="a file may not include itself, directly or through "
                                  "other files")
        _check_include_budget(chain + (file,), reads, file, include_line)
        sub_data, sub_locations = read_toml(path, included_by=(file, include_line))
        sub = _merge(sub_data, sub_locations, path, chain + (file,), reads)
        if sub.clashes:
            _raise_clash(sub, path)
        for table in NAMED_TABLES:
            for name, value in sub.data.get(table, {}).items():
                merged.add_named(table, name, value, sub.origin[(table, name)])
        for table in LIST_TABLES:
            for i, body in enumerate(sub.data.get(table, [])):
                merged.add_listed(table, body, sub.origin[(table, i)],
                                  sub.identity[(table, i)], file)
        for key, value in sub.data.get(CONTINUOUS, {}).items():
            origin = sub.origin.get((CONTINUOUS, key), (path, None))
            if key != "species":
                merged.add_named(CONTINUOUS, key, value, origin)
                continue
            if not isinstance(value, list):
                raise ModelError("[continuous] species must be a list of species names",
                                 source=origin[0], where="[continuous] 'species'",
                                 hint='e.g. species = ["Ca", "B", "CaB"]')
            united = merged.data.setdefault(CONTINUOUS, {}).setdefault("species", [])
            united.extend(name for name in value if name not in united)
            merged.origin.setdefault((CONTINUOUS, key), origin)

    # the file's own content
    for table in NAMED_TABLES:
        for name, value in _table(data, table, file, locations).items():
            key = (table, name)
            origin = (file, locations.get(key))
            if key in merged.origin and table not in OVERRIDABLE:
                raise ModelError(
                    f"[{table}] '{name}' is already defined in the included file "
                    f"{_show(merged.origin[key])}", source=file,
                    where=f"[{table}] {name!r}" + (f" (line {origin[1]})" if origin[1] else ""),
                    hint="an including file may replace entries of [parameters], [inputs], "
                         "[species], [channels] and [membrane] only; rename one of them")
            merged.data.setdefault(table, {})[name] = value
            merged.origin[key] = origin
            merged.clashes.pop(key, None)
    own = data.get(CONTINUOUS, {})
    if not isinstance(own, Mapping):
        raise ModelError("[continuous] must be a table such as species = [\"Ca\"]",
                         source=file, where="[continuous]")
    for key, value in own.items():      # replaces the included entry as a whole
        merged.data.setdefault(CONTINUOUS, {})[key] = value
        merged.origin[(CONTINUOUS, key)] = (file, locations.get((CONTINUOUS, key)))
        merged.clashes.pop((CONTINUOUS, key), None)
    for table in LIST_TABLES:
        for i, body in enumerate(_table(data, table, file, locations)):
            origin = (file, locations.get((table, i)))
            if table == "reactions" and isinstance(body, Mapping) and "name" in body:
                for j, other in enumerate(merged.data.get(table, [])):
                    if isinstance(other, Mapping) and other.get("name") == body["name"]:
                        raise ModelError(
                            f"the reaction '{body['name']}' is already defined in the "
                            f"included file {_show(merged.origin[(table, j)])}", source=file,
                            where=f"reaction {body['name']!r}"
                                  + (f" (line {origin[1]})" if origin[1] else ""),
                            hint="reactions cannot be replaced by an including file; "
                                 "rename one, or change its rate through a parameter")
            index = len(merged.data.setdefault(table, []))
            merged.origin[(table, index)] = origin
            merged.identity[(table, index)] = (os.path.realpath(file), i)
            merged.data[table].append(body)
    if not chain and "model" in data:
        merged.data["model"] = {k: v for k, v in header.items() if k != "include"}
    for key, value in data.items():     # unknown tables: the builder reports them
        if key not in merged.data and key not in NAMED_TABLES + LIST_TABLES + (
                "model", CONTINUOUS):
            merged.data[key] = value
    return merged


def _check_include_budget(chain: tuple[str, ...], reads: list[int], file: str, line):
    """Refuse an include chain deeper than :data:`stochsyn.limits.INCLUDE_DEPTH` and more
    include reads than ``STOCHSYN_MAX_INCLUDE_FILES`` (fragments that include each other
    two by two along 30 levels would be read 2^30 times)."""
    if len(chain) > limits.INCLUDE_DEPTH:
        raise ModelError(f"includes are nested more than {limits.INCLUDE_DEPTH} files deep "
                         f"({' -> '.join(chain[:3])} -> ... -> {chain[-1]})", source=file,
                         where=_where_include(line),
                         hint="include the modules from one model file instead of through "
                              "a chain of files")
    reads[0] += 1
    if reads[0] > limits.value("include_files"):
        raise ModelError(limits.exceeded("include_files", "the number of files read through "
                                         "includes", reads[0]) + " (a file reached along "
                         "several include paths is read once for each)", source=file,
                         where=_where_include(line),
                         hint="include each module once, from the top model file; "
                              + limits.how_to_raise("include_files"))


def _raise_clash(merged: _Merged, file: str):
    (table, name), (first, second) = next(iter(merged.clashes.items()))
    raise ModelError(f"[{table}] '{name}' is defined in two included files: {_show(first)} "
                     f"and {_show(second)}", source=file, where=merged.include_where,
                     hint=f"define [{table}] '{name}' in {file} to choose its value, or rename "
                          "one of them" if table in OVERRIDABLE + (CONTINUOUS,)
                     else "rename one of them")


def compose(data: Mapping, *, source: str, locations: Mapping[tuple, int] | None = None
            ) -> tuple[dict, dict[tuple, Any]]:
    """Resolve ``[model] include`` of a model dict read from ``source``.

    Parameters
    ----------
    data : mapping
        The model file's dict.
    source : str
        Its path (includes are relative to its folder); ``"<dict>"`` for a dict not read
        from a file, whose includes are relative to the working directory.
    locations : mapping, optional
        :func:`locate` of the file's text.

    Returns
    -------
    (dict, dict)
        The merged model dict (no ``include``), and its locations: ``(table, key) -> line``
        for items of ``source`` itself and ``-> (file, line)`` for items from fragments.

    Raises
    ------
    ModelError
        A missing or invalid fragment, an include cycle, a name defined twice.
    """
    locations = dict(locations or {})
    merged = _merge(data, locations, source, (), [0])
    if merged.clashes:
        _raise_clash(merged, source)
    result: dict[tuple, Any] = {k: v for k, v in locations.items()
                                if k[1] is None or k[0] == "model"}
    for key, (file, line) in merged.origin.items():
        if line is None:
            continue
        result[key] = line if file == source else (file, line)
    for i, body in enumerate(merged.data.get("reactions", [])):
        if isinstance(body, Mapping) and isinstance(body.get("name"), str) \
                and ("reactions", i) in result:
            result[("reactions", body["name"])] = result[("reactions", i)]
    return merged.data, result
