"""Reading model files with care: only regular files, their size checked before a byte is
read, UTF-8 text, and a close name for a misspelt path.

Both readers (TOML with its includes, SBML) read through :func:`read_model_text`, so a path
that names a folder, a device such as ``/dev/zero``, a pipe, or a file larger than the
limit ``STOCHSYN_MAX_FILE_MB`` (:mod:`stochsyn.limits`) is refused at once with a message
that names it, and, for an include, the including file and line.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path

from .. import limits
from .errors import ModelError

__all__ = ["read_model_text", "close_path"]

_BYTES_PER_MB = 1_000_000
#: A folder with more entries than this is not searched for a close name.
_MAX_LISTED = 10_000


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def close_path(path: str | os.PathLike) -> str | None:
    """An existing path that differs from ``path`` by close spellings of its missing parts
    (``reactions/exmaples/birth_death`` -> ``reactions/examples/birth_death.toml``), or None.

    Each part that does not exist is replaced by the closest name in its folder
    (``difflib``, cutoff 0.6); folders with more than 10,000 entries and parts longer than
    255 characters are not searched.
    """
    text = os.fspath(path)
    if len(text) > 4096 or "\0" in text:
        return None
    parts = Path(text).parts
    if not parts:
        return None
    current = Path(parts[0]) if Path(text).is_absolute() else Path(".")
    rest = parts[1:] if Path(text).is_absolute() else parts
    changed = False
    for part in rest:
        candidate = current / part
        try:
            if candidate.exists():
                current = candidate
                continue
            if len(part) > 255 or not current.is_dir():
                return None
            names = []
            with os.scandir(current) as entries:
                for entry in entries:
                    names.append(entry.name)
                    if len(names) > _MAX_LISTED:
                        return None
        except OSError:
            return None
        match = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
        if not match:
            return None
        current, changed = current / match[0], True
    if not changed:
        return None
    shown = str(current)
    return shown if Path(text).is_absolute() or not shown.startswith("./") else shown[2:]


def read_model_text(path: str, *, included_by: tuple[str, int | None] | None = None) -> str:
    """The text of a model file, or of a file it includes.

    Parameters
    ----------
    path : str
    included_by : (str, int or None), optional
        The including file and the line of its ``include``: every problem with reading
        ``path`` is then reported there, naming ``path``.

    Returns
    -------
    str

    Raises
    ------
    ModelError
        A missing path (with a close name when there is one), a folder, a device, pipe or
        socket, a file larger than ``STOCHSYN_MAX_FILE_MB``, a file that cannot be read,
        or one that is not UTF-8 text.
    """
    if included_by is not None:
        source = included_by[0]
        where = "[model] 'include'" + (f" (line {included_by[1]})" if included_by[1] else "")
        noun = f"the included file {path}"
    else:
        source, where, noun = path, None, "the model file"      # the message starts with path

    def refuse(message, hint=None):
        return ModelError(message, source=source, where=where, hint=hint)

    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        close = close_path(path)
        hint = f"did you mean {close}?" if close else None
        if included_by is not None:
            raise refuse(f"{noun} does not exist", "include paths are relative to the "
                         "including file" + (f"; {hint}" if hint else "")) from None
        if hint is None and not os.path.isabs(path):
            hint = f"a relative path starts in the current folder, {os.getcwd()}"
        raise refuse("no such model file", hint) from None
    except PermissionError:
        raise refuse(f"{noun} cannot be read: permission denied",
                     "check the file's permissions") from None
    except (OSError, ValueError) as exc:           # a name too long, a NUL byte in it, ...
        reason = getattr(exc, "strerror", None) or str(exc)
        raise refuse(f"{noun} cannot be read: {reason}", "check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(f"{noun} is a folder, not a file",
                     "give the path of a .toml or SBML (.xml) model file")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(f"{noun} is {_kind(info.st_mode)}, not a regular file",
                     "model files and included files must be ordinary files; save the "
                     "content to a file and give its path")
    limit_bytes = int(limits.value("file_mb") * _BYTES_PER_MB)

    def too_large(size_bytes):
        return refuse(limits.exceeded("file_mb", f"the size of {noun}",
                                      round(size_bytes / _BYTES_PER_MB, 1)),
                      limits.how_to_raise("file_mb"))

    if info.st_size > limit_bytes:
        raise too_large(info.st_size)
    try:
        with open(path, "rb") as handle:
            # At most one byte more than the limit: files that report no size (/proc) or
            # grow while read are refused too, without reading them to the end.
            data = handle.read(limit_bytes + 1)
    except OSError as exc:
        raise refuse(f"{noun} cannot be read: {exc.strerror or exc}") from None
    if len(data) > limit_bytes:
        raise too_large(len(data))
    try:
        return data.decode("utf-8-sig")          # a byte-order mark is not content
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ModelError(f"{noun} is not UTF-8 text (byte {exc.start + 1}, line {line})",
                         source=source, where=where,
                         hint="model files are text; save it as UTF-8, or check that the "
                              "path names the model file") from None
