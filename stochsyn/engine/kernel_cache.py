"""The engine's kernel cache: where numba (and :mod:`.native`) keep the compiled kernels, and
when that cache is stale (:func:`invalidate_stale_kernel_cache`, run when
:mod:`stochsyn.engine` is imported).

Plain Python without numba: the batch runner asks it for the folder and the code
fingerprint that key the native kernels.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path


class _WithoutDocstrings(ast.NodeTransformer):
    """Drops every statement that is a bare string (docstrings)."""

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        return node


#: Names of numba's decorators and calls that compile Python code (a name ending in "jit"
#: counts too: njit, jit, borrowing_njit).
_COMPILING = {"intrinsic", "overload", "overload_method", "overload_attribute",
              "overload_classmethod", "register_jitable", "cfunc", "vectorize",
              "guvectorize", "stencil", "jitclass", "lower_builtin", "lower_cast",
              "lower_getattr", "lower_setattr", "typeof_impl", "type_callable",
              "register_model", "box", "unbox"}


def _terminal_name(node) -> str:
    while isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _kernel_tree(source: str):
    """(tree without docstrings, whether it compiles anything, engine modules it imports)
    of one engine source; None for a source that does not parse."""
    try:
        tree = _WithoutDocstrings().visit(ast.parse(source))
    except (SyntaxError, ValueError):
        return None
    compiles, imports = False, set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Call):
            names.append(_terminal_name(node.func))
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.extend(_terminal_name(d) for d in node.decorator_list)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module.startswith("stochsyn.engine"):
                inner = module.removeprefix("stochsyn.engine").lstrip(".")
                if inner:
                    imports.add(inner.split(".")[0])
                else:                   # from . import continuous, membrane
                    imports.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imports.update(alias.name.split(".")[2] for alias in node.names
                           if alias.name.startswith("stochsyn.engine."))
        compiles = compiles or any(n.endswith("jit") or n in _COMPILING for n in names)
    return tree, compiles, imports


def code_fingerprint(sources: dict[str, str]) -> str:
    """What numba compiles of the engine's sources (module name -> text), as one digest.

    Each module that compiles anything, and each module those import (transitively), is
    taken as its syntax tree without docstrings, comments, formatting or line numbers
    (``ast.dump``); a module that compiles nothing and is imported by none that does
    (``batch.py``, ``__init__``, this module: Python around the kernels) is left out. A source
    that does not parse is taken as its text (its import fails; a fix changes it)."""
    trees = {name: _kernel_tree(text) for name, text in sources.items()}
    wanted = [name for name, t in trees.items() if t is None or t[1]]
    kept = set()
    while wanted:
        name = wanted.pop()
        if name in kept or name not in trees:
            continue
        kept.add(name)
        if trees[name] is not None:
            wanted.extend(trees[name][2])
    digest = hashlib.sha256()
    for name in sorted(kept):
        text = (sources[name] if trees[name] is None
                else ast.dump(trees[name][0], annotate_fields=False))
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def kernel_cache_folder(package_dir: Path) -> Path:
    """The folder where numba caches the kernels of the modules in ``package_dir``: its
    ``__pycache__``, or with ``NUMBA_CACHE_DIR`` set (clusters, docs/batch-jobs.md) the
    subfolder numba makes there (the folder's name and the SHA-1 of its path, as
    ``numba.core.caching.UserProvidedCacheLocator`` names it)."""
    user_dir = os.environ.get("NUMBA_CACHE_DIR")
    if not user_dir:
        return Path(package_dir) / "__pycache__"
    folder = os.path.abspath(package_dir)
    return Path(user_dir) / "_".join([os.path.basename(folder),
                                      hashlib.sha1(folder.encode()).hexdigest()])


def invalidate_stale_kernel_cache(package_dir: Path | None = None) -> bool:
    """Clear numba's on-disk kernel cache when the code of an engine source file changed.

    Numba checks only the file that defines a cached function (its digest). The SSA
    kernel inlines code from ``rng.py`` and ``hazard.py``, so after an edit (or a
    ``git pull``) that touches only those, it would load stale machine code. A fingerprint
    of the engine's code that numba compiles (:func:`code_fingerprint`: an edit of a
    docstring or a comment, a reformatting, or an edit of ``batch.py``, which compiles
    nothing, keeps it) is kept next to the cache; when it differs,
    the cache files are removed (:func:`kernel_cache_folder`: also under
    ``NUMBA_CACHE_DIR``) and numba recompiles (once: ~1 CPU-minute for the exact kernels,
    ~6 more and ~5 GB of memory for the hybrid one; README "Start-up").
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
    cache = kernel_cache_folder(here)
    stamp = cache / "stochsyn-engine.fingerprint"
    try:
        kept_text, kept_code = stamp.read_text().split()
    except (OSError, ValueError):
        kept_text = kept_code = None
    global _code_fingerprint
    ours = here == Path(__file__).parent
    if text == kept_text:
        if ours:
            _code_fingerprint = kept_code
        return False
    code = code_fingerprint({
        name.removesuffix(".py"): data.decode("utf-8", "replace") for name, data in sources})
    if ours:
        _code_fingerprint = code
    removed = False
    try:
        cache.mkdir(parents=True, exist_ok=True)
        if code != kept_code:
            for path in (list(cache.glob("*.nbi")) + list(cache.glob("*.nbc"))
                         + list(cache.glob("stochsyn-native-*"))):
                path.unlink(missing_ok=True)
                removed = True
        stamp.write_text(f"{text}\n{code}\n")
    except OSError:
        pass
    return removed


#: The engine's code fingerprint (:func:`code_fingerprint`) as found by
#: :func:`invalidate_stale_kernel_cache` at import; None if it could not be read.
_code_fingerprint: str | None = None


def engine_fingerprint() -> str | None:
    """The fingerprint of the engine's compiled code in this install (it keys the native
    kernel files, :mod:`.native`), or None."""
    return _code_fingerprint


__all__ = ["code_fingerprint", "engine_fingerprint", "invalidate_stale_kernel_cache",
           "kernel_cache_folder"]
