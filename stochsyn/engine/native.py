"""The kernel of plain networks as native code, loaded and called without importing numba.

Importing numba costs a cold ``stochsyn run`` ~0.12 s of CPU, and loading a kernel from
numba's cache ~0.06 s more (numba's runtime compiled by LLVM at every start, the cached
code's bitcode parsed, ``numba.np.arrayobj`` imported), while libroadrunner's whole cold
start is ~0.12 s (benchmarks/RESULTS.md, issue 18). So for a network of the plain loop
(:func:`.codes.is_plain`), once numba has compiled or loaded that kernel the normal way,
the same compiled code is also written to a file beside numba's cache: a native object file
holding a C-ABI entry (``numba.cfunc``, :mod:`.native_build`) around the very kernel
:func:`stochsyn.engine.ssa.run_trajectories` (arrays passed as pointers and shapes), with
numba's runtime functions linked in. A later process loads that file with llvmlite's
MCJIT alone (``llvmlite.binding``, ~0.02 s to import) and calls it through ``ctypes``,
which releases the GIL, so the batch runner's threads run it in parallel as they run the
numba kernel. The machine code is the one numba makes for the kernel (same source, same
compiler, same options: no ``fastmath``), so a trajectory's bits are the same either way
(``tests/engine/test_native.py``).

The file is keyed by everything that can change the code or its calling convention
(:func:`_key`): the engine's code fingerprint (:func:`.kernel_cache.code_fingerprint`,
which changes with any code edit of a compiled engine module, :mod:`.native_build`
included), the numba and llvmlite versions, the Python version, the CPU's name and
features, and the types of the arguments. Every failure (no file, another key, a file whose
checksum does not match, a symbol the process cannot provide, an array of another layout)
gives None, and the runner uses numba as before: the same bits, the old start-up cost.

Nothing is taken from numba but two of its C extension modules, loaded as files without
importing the ``numba`` package (:func:`_runtime_symbols`): ``_nrt_python`` (the
reference-counted allocator the kernel's work arrays come from, set up to use Python's raw
allocator as ``numba.core.runtime.nrt`` sets it up) and ``_helperlib`` (the C math functions
numba binds, and the helpers of the exception path: a kernel reports problems by status
codes, so that path is not taken).

Set ``STOCHSYN_NATIVE=0`` to use numba alone (no file read or written).
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import threading
from pathlib import Path

import numpy as np

#: Version of the files' layout and of the entries' calling convention.
FORMAT = 1
#: Stem of the files in the kernel cache folder (``<stem>-<key digest>.o`` and ``.json``).
STEM = "stochsyn-native-plain"


def enabled() -> bool:
    """Whether the native path may be used (``STOCHSYN_NATIVE`` not ``0``) here: CPython
    (an object's ``id`` is its address) on 64-bit Linux (ELF objects)."""
    return (os.environ.get("STOCHSYN_NATIVE", "1") != "0" and sys.platform.startswith("linux")
            and sys.maxsize > 2**32 and sys.implementation.name == "cpython")


#: dtypes of the arrays the kernel takes (numba types each as its own dtype).
_ARRAY_TYPES = {"<f8": 8, "<i8": 8, "<u4": 4}


def argument_spec(args):
    """The calling convention of ``args`` (the kernel's arguments), or None when one of them
    cannot be passed to the native entry (then numba runs the call).

    Each argument gives ``("a", typestr, ndim)`` for a C-contiguous, aligned, writeable
    little-endian float64, int64 or uint32 ndarray (numba's type of it is then
    ``array(dtype, ndim, 'C')``), ``("f",)`` for a Python or NumPy float (float64),
    ``("i",)`` for a Python or NumPy integer (int64), or ``("n",)`` for None."""
    spec = []
    for value in args:
        if value is None:
            spec.append(("n",))
        elif type(value) is np.ndarray:
            interface = value.__array_interface__
            typestr = interface["typestr"]
            address, readonly = interface["data"]
            if (readonly or interface["strides"] is not None or typestr not in _ARRAY_TYPES
                    or address % _ARRAY_TYPES[typestr]):
                return None
            spec.append(("a", typestr, len(interface["shape"])))
        elif isinstance(value, (float, np.float64)):
            spec.append(("f",))
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            spec.append(("i",))
        else:
            return None
    return tuple(spec)


def numba_version() -> str | None:
    """The installed numba's version, read from its ``_version.py`` without importing it
    (numba's own ``__version__`` when it is imported); None if it cannot be found."""
    if "numba" in sys.modules:
        return sys.modules["numba"].__version__
    folder = _numba_folder()
    try:
        text = (folder / "_version.py").read_text() if folder is not None else ""
    except OSError:
        text = ""
    found = re.search(r'"version":\s*"([^"]+)"', text)
    if found:
        return found.group(1)
    try:                            # (slower: ~10 ms; an install without versioneer's file)
        from importlib.metadata import version
        return version("numba")
    except Exception:       # noqa: BLE001 - not installed as a distribution
        return None


def _numba_folder() -> Path | None:
    try:
        spec = importlib.util.find_spec("numba")     # locates the package, imports nothing
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _key(spec, fingerprint: str) -> dict:
    """What the native code depends on (module docstring)."""
    import llvmlite
    import llvmlite.binding as ll
    return {"format": FORMAT, "engine": fingerprint, "numba": numba_version(),
            "numpy": np.__version__, "implementation": sys.implementation.name,
            "llvmlite": llvmlite.__version__, "python": sys.version,
            "platform": sys.platform, "cpu": ll.get_host_cpu_name(),
            "features": ll.get_host_cpu_features().flatten(),
            "arguments": [list(kind) for kind in spec]}


def file_stem(spec, fingerprint: str) -> str:
    """``<STEM>-<digest of the key>``: the name of the files of ``spec`` (no suffix)."""
    text = json.dumps(_key(spec, fingerprint), sort_keys=True)
    return f"{STEM}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


class NativeKernel:
    """The loaded entries of one argument spec (:func:`argument_spec`):
    :meth:`bind` the kernel's arguments, then ``run(bound)`` as
    :func:`stochsyn.engine.ssa.run_trajectories` on them, and ``wait_for_rows(claim,
    stop_flag, spins)`` as :func:`stochsyn.engine.ssa.wait_for_rows`."""

    def __init__(self, spec, engine, run_address: int, wait_address: int):
        self.spec = spec
        self._engine = engine       # owns the machine code: kept as long as this object
        self._codes = tuple(kind[0] for kind in spec)
        self._passed = tuple((k, code == "a") for k, code in enumerate(self._codes)
                             if code != "n")
        self._none_slots = tuple(k for k, code in enumerate(self._codes) if code == "n")
        self._float_slots = tuple(k for k, code in enumerate(self._codes) if code == "f")
        self._int_slots = tuple(k for k, code in enumerate(self._codes) if code == "i")
        self._ndarray = id(np.ndarray)
        argtypes = [ctypes.c_int64, ctypes.c_int64]          # check, id(numpy.ndarray)
        for code in self._codes:
            if code == "a":
                argtypes.append(ctypes.c_void_p)             # the array object's address
            elif code == "f":
                argtypes.append(ctypes.c_double)
            elif code == "i":
                argtypes.append(ctypes.c_int64)
        # CFUNCTYPE (not PYFUNCTYPE): ctypes releases the GIL during the call.
        self._run = ctypes.CFUNCTYPE(ctypes.c_int64, *argtypes)(run_address)
        self._wait = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                      ctypes.c_void_p, ctypes.c_int64,
                                      ctypes.c_int64)(wait_address)

    def bind(self, args):
        """The entry's arguments for the kernel's ``args`` (each array as the address of
        its object: the entry reads numpy's array structure and checks its type, dtype,
        dimensions and flags itself, when it runs), or None if a scalar or a None of
        ``args`` does not fit this kernel's spec. The arrays must stay alive while the
        entry runs (the caller holds ``args``)."""
        if len(args) != len(self._codes):
            return None
        for k in self._none_slots:
            if args[k] is not None:
                return None
        for k in self._float_slots:
            if not isinstance(args[k], float):          # (np.float64 is a float)
                return None
        for k in self._int_slots:
            value = args[k]
            if type(value) is not int and not isinstance(value, np.integer):
                return None
        # (an array as its object's address, in CPython; a scalar as itself)
        return [0, self._ndarray] + [id(args[k]) if is_array else args[k]
                                     for k, is_array in self._passed]

    def run(self, bound) -> bool:
        """Run the kernel on arguments :meth:`bind` gave (the arrays must still be alive);
        False, with nothing run, if an array is not of the spec."""
        return self._run(*bound) == 0

    def fits(self, bound) -> bool:
        """Whether the arrays of ``bound`` are of the spec (the entry's checks alone)."""
        bound[0] = 1
        try:
            return self._run(*bound) == 0
        finally:
            bound[0] = 0

    def wait_for_rows(self, claim, stop_flag, spins) -> bool:
        """:func:`stochsyn.engine.ssa.wait_for_rows` (int64 arrays of one dimension)."""
        return bool(self._wait(claim.ctypes.data, len(claim), stop_flag.ctypes.data,
                               len(stop_flag), int(spins)))


_lock = threading.Lock()
_kernels: dict = {}         # spec -> NativeKernel or None (tried once per process)
_symbols_ready = False
_any_loaded = False


def loaded() -> bool:
    """Whether a native kernel is loaded in this process."""
    return _any_loaded


_last: NativeKernel | None = None        # the kernel used last (nearly always the next)


def plain_kernel(args, folder, fingerprint: str | None):
    """(kernel, bound arguments) of the native kernel for ``args``, loaded from ``folder()``
    (a function giving the kernel cache folder, asked only when a file is loaded) once per
    process and argument spec; None when it cannot be used (module docstring)."""
    global _any_loaded, _last
    last = _last
    if last is not None:
        bound = last.bind(args)
        if bound is not None:
            return last, bound
    if fingerprint is None or not enabled():
        return None
    spec = argument_spec(args)
    if spec is None:
        return None
    with _lock:
        if spec not in _kernels:
            try:
                _kernels[spec] = _load(spec, folder(), fingerprint)
            except Exception:       # noqa: BLE001 - any failure: numba runs it instead
                _kernels[spec] = None
            _any_loaded = _any_loaded or _kernels[spec] is not None
        kernel = _kernels[spec]
    if kernel is None:
        return None
    _last = kernel
    bound = kernel.bind(args)
    return None if bound is None or not kernel.fits(bound) else (kernel, bound)


def _load(spec, folder: Path, fingerprint: str):
    stem = folder / file_stem(spec, fingerprint)
    try:
        meta = json.loads(stem.with_suffix(".json").read_text())
        code = stem.with_suffix(".o").read_bytes()
    except (OSError, ValueError):
        return None
    if (meta.get("key") != json.loads(json.dumps(_key(spec, fingerprint)))
            or meta.get("sha256") != hashlib.sha256(code).hexdigest()):
        return None     # another key (a digest collision) or a damaged file
    import llvmlite.binding as ll
    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    machine = ll.Target.from_default_triple().create_target_machine()
    module = ll.parse_assembly("")
    module.triple = ll.get_process_triple()
    # (Creating the engine makes the process's own symbols, the C library's and Python's,
    # visible to LLVM's lookup.)
    engine = ll.create_mcjit_compiler(module, machine)
    if not _runtime_symbols(ll, meta["undefined"]):
        return None     # LLVM would abort on a symbol it cannot resolve: never try
    engine.add_object_file(ll.ObjectFileRef.from_data(code))
    engine.finalize_object()
    run = engine.get_function_address(meta["run"])
    wait = engine.get_function_address(meta["wait"])
    if not (run and wait):
        return None
    return NativeKernel(spec, engine, run, wait)


def _extension(path: str, name: str):
    """A C extension module loaded from ``path`` under ``name``, not registered in
    ``sys.modules`` and without importing its package (for numba's: no ``numba``)."""
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    return loader.create_module(importlib.util.spec_from_loader(name, loader))


def _runtime_symbols(ll, undefined) -> bool:
    """Give LLVM the addresses of the symbols the native code needs from numba's C
    extensions (as ``numba.core.runtime.nrt`` and ``numba.core.base`` give them), and say
    whether every one of ``undefined`` can then be resolved."""
    global _symbols_ready
    if not _symbols_ready:
        folder = _numba_folder()
        nrt_files = glob.glob(str(folder / "core" / "runtime" / "_nrt_python*.so"))
        helper_files = glob.glob(str(folder / "_helperlib*.so"))
        if len(nrt_files) != 1 or len(helper_files) != 1:
            return False
        # The same files numba loads: the operating system maps each once, so numba,
        # if it is imported later, shares the allocator state set up here.
        nrt = _extension(nrt_files[0], "_nrt_python")
        helper = _extension(helper_files[0], "_helperlib")
        nrt.memsys_use_cpython_allocator()      # as numba.core.runtime.nrt does on import
        for name, address in nrt.c_helpers.items():
            ll.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
        for name, address in helper.c_helpers.items():
            ll.add_symbol("numba_" + name, address)
        # numba binds the C math functions to the C library its helper module links to
        # (numba.core.externals): the same functions the kernel calls under numba.
        for name in undefined:
            if name in helper.c_helpers:
                ll.add_symbol(name, helper.c_helpers[name])
        ll.add_symbol("_Py_NoneStruct", id(None))
        import builtins
        for value in vars(builtins).values():
            if isinstance(value, type) and issubclass(value, BaseException):
                ll.add_symbol(f"PyExc_{value.__name__}", id(value))
        _symbols_ready = True
    return all(ll.address_of_symbol(name) for name in undefined)


def save_plain(run_trajectories, wait_for_rows, args, folder: Path, fingerprint) -> bool:
    """Write the native kernel for ``args`` to ``folder`` unless it is there (numba has just
    run ``run_trajectories`` on ``args``: it is compiled or loaded). Best effort: False
    when nothing was written (no spec for these arguments, a folder this process cannot
    write to, an error). A build that failed leaves a ``.failed`` file with the error, so
    that later processes do not pay for another attempt (it goes with the cache: an
    engine edit or ``rm`` of the folder's ``stochsyn-native-*`` files retries)."""
    if fingerprint is None or not enabled():
        return False
    spec = argument_spec(args)
    if spec is None:
        return False
    stem = folder / file_stem(spec, fingerprint)
    if stem.with_suffix(".json").exists() or stem.with_suffix(".failed").exists():
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    if not os.access(folder, os.W_OK):
        return False        # (checked first: a build costs seconds)
    try:
        from .native_build import build
        code, meta = build(run_trajectories, wait_for_rows, spec)
        meta["key"] = _key(spec, fingerprint)
        meta["sha256"] = hashlib.sha256(code).hexdigest()
    except Exception as error:       # noqa: BLE001 - the numba path works without it
        try:
            stem.with_suffix(".failed").write_text(f"{type(error).__name__}: {error}\n")
        except OSError:
            pass
        return False
    try:
        for suffix, data in ((".o", code), (".json", json.dumps(meta).encode())):
            partial = stem.with_suffix(f"{suffix}.{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, stem.with_suffix(suffix))      # the .json last
    except OSError:
        return False
    return True


__all__ = ["NativeKernel", "argument_spec", "enabled", "numba_version", "plain_kernel",
           "save_plain"]
