"""Build the native object of the plain networks' kernel (:mod:`.native`) with numba.

Two C-ABI entries are compiled with ``numba.cfunc``: one that rebuilds the kernel's arrays
from pointers and shapes (``numba.carray``) and calls
:func:`stochsyn.engine.ssa.run_trajectories`, and one that calls
:func:`stochsyn.engine.ssa.wait_for_rows`. They call the numba dispatchers themselves, with
the argument types of the normal call, so numba links the kernel's own compiled version
(from its cache or just compiled) into them: there is no second copy of the algorithm.
Their modules, with numba's runtime functions (``NRT_incref``, ``NRT_decref``, which numba
otherwise compiles at every start), are linked into one LLVM module and emitted as a
native object with numba's own target machine (host CPU, its features, numba's
optimisation level, no fast-math).

Importing this module imports numba; :mod:`.native` imports it only to write a file.
"""

from __future__ import annotations

import struct

import numba
from numba import carray, types
from numba.core.runtime import rtsys
from numba.np import numpy_support


def _numba_type(kind):
    if kind[0] == "a":
        import numpy as np
        return types.CPointer(numpy_support.from_dtype(np.dtype(kind[1])))
    return types.float64 if kind[0] == "f" else types.int64


def _run_entry(run_trajectories, spec):
    """The C-ABI entry around ``run_trajectories`` for arguments of ``spec``: its source is
    generated from the spec (one pointer and ``ndim`` extents per array)."""
    params, call, argtypes = [], [], []
    for k, kind in enumerate(spec):
        if kind[0] == "n":
            call.append("None")
            continue
        params.append(f"p{k}")
        argtypes.append(_numba_type(kind))
        if kind[0] == "a":
            extents = [f"p{k}_{d}" for d in range(kind[2])]
            params += extents
            argtypes += [types.int64] * kind[2]
            call.append(f"carray(p{k}, ({', '.join(extents)},))")
        else:
            call.append(f"p{k}")
    source = (f"def run_entry({', '.join(params)}):\n"
              f"    run_trajectories({', '.join(call)})\n"
              f"    return 0\n")
    scope = {"carray": carray, "run_trajectories": run_trajectories}
    exec(compile(source, "<stochsyn.engine.native_build.run_entry>", "exec"), scope)  # noqa: S102
    return numba.cfunc(types.int64(*argtypes), nopython=True)(scope["run_entry"])


def _wait_entry(wait_for_rows):
    @numba.cfunc(types.int64(types.CPointer(types.int64), types.int64,
                             types.CPointer(types.int64), types.int64, types.int64))
    def wait_entry(claim, claim_size, stop_flag, stop_size, spins):
        done = wait_for_rows(carray(claim, (claim_size,)), carray(stop_flag, (stop_size,)),
                             spins)
        return 1 if done else 0
    return wait_entry


def build(run_trajectories, wait_for_rows, spec):
    """(object bytes, metadata) of the native kernel for arguments of ``spec``
    (:func:`.native.argument_spec`); metadata: the entries' symbol names (``run``,
    ``wait``) and the object's undefined symbols (``undefined``)."""
    run = _run_entry(run_trajectories, spec)
    wait = _wait_entry(wait_for_rows)
    module = run._library._final_module.clone()
    module.link_in(wait._library._final_module.clone())
    module.link_in(rtsys._library._final_module.clone())
    code = run._library.codegen._tm.emit_object(module)
    return code, {"run": run.native_name, "wait": wait.native_name,
                  "undefined": sorted(undefined_symbols(code))}


def undefined_symbols(code: bytes) -> set:
    """Names of the undefined symbols of an ELF64 little-endian object file."""
    if code[:4] != b"\x7fELF" or code[4] != 2 or code[5] != 1:
        raise ValueError("not an ELF64 little-endian object")
    section_offset, = struct.unpack_from("<Q", code, 0x28)
    entry_size, count = struct.unpack_from("<HH", code, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", code, section_offset + i * entry_size)
                for i in range(count)]
    names = set()
    for _, kind, _, _, offset, size, link, _, _, sym_size in sections:
        if kind != 2:       # SHT_SYMTAB
            continue
        strings_offset = sections[link][4]
        for at in range(offset, offset + size, sym_size):
            name_at, info, _, index, _, _ = struct.unpack_from("<IBBHQQ", code, at)
            if index == 0 and name_at:      # SHN_UNDEF
                end = code.index(b"\0", strings_offset + name_at)
                names.add(code[strings_offset + name_at:end].decode())
    return names
