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
from numba.extending import intrinsic


# numpy's array object as its C structure (PyArrayObject_fields, numpy's ABI, the same in
# numpy 1.x and 2.x), read as int64 words: [refcount, type, data, nd, dimensions, strides,
# base, descr, flags]; nd and flags are C ints (the low half of their word).
_WORD_TYPE, _WORD_DATA, _WORD_ND, _WORD_DIMS, _WORD_DESCR, _WORD_FLAGS = 1, 2, 3, 4, 7, 8
#: NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_WRITEABLE: numba's type
#: ``array(dtype, ndim, 'C')`` (writeable, aligned) is the one the kernel was compiled for.
_NEEDED_FLAGS = 0x0001 | 0x0100 | 0x0400


@intrinsic
def _pointer(typingctx, address, dtype):
    """``address`` (an int64) as a pointer to ``dtype`` (a numba number type)."""
    if not (isinstance(address, types.Integer) and isinstance(dtype, types.NumberClass)):
        return None
    pointer_type = types.CPointer(dtype.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer_type))

    return pointer_type(address, dtype), codegen


@numba.njit(inline="always")
def _dtype_is(descr, number_a, number_b):
    """Whether the PyArray_Descr at ``descr`` has type number ``number_a`` or ``number_b``
    in native or no byte order (its byteorder char is at byte 26, type_num at 28)."""
    words = carray(_pointer(descr + 24, numba.int32), (2,))
    byteorder = (words[0] >> 16) & 0xFF
    return (words[1] == number_a or words[1] == number_b) and byteorder != 62   # '>'


def _type_numbers(typestr):
    """numpy's type numbers of a typestr of :data:`.native._ARRAY_TYPES` (int64 is both
    ``long`` and ``long long`` on Linux)."""
    import numpy as np
    numbers = {np.dtype(typestr).num}
    if typestr == "<i8":
        numbers |= {np.dtype("q").num, np.dtype("l").num}
    numbers = sorted(numbers)
    return numbers[0], numbers[-1]


def _run_entry(run_trajectories, spec):
    """The C-ABI entry around ``run_trajectories`` for arguments of ``spec``: its source is
    generated from the spec. It takes ``(check, ndarray type, *arguments)``: an array as
    the address of its Python object (``id``), whose type, dtype, dimensions and flags it
    checks (-1 if one differs from the spec; with ``check`` set it returns 0 after the
    checks, without running); a float as float64, an integer as int64; None is not
    passed. So a call costs Python no more than ``id`` per array."""
    params, checks, views, call = ["check", "ndarray_type"], [], [], []
    argtypes = [types.int64, types.int64]
    names = {"<f8": "numba.float64", "<i8": "numba.int64", "<u4": "numba.uint32"}
    for k, kind in enumerate(spec):
        if kind[0] == "n":
            call.append("None")
            continue
        params.append(f"p{k}")
        if kind[0] != "a":
            argtypes.append(types.float64 if kind[0] == "f" else types.int64)
            call.append(f"p{k}")
            continue
        argtypes.append(types.CPointer(types.int64))
        ndim = kind[2]
        number_a, number_b = _type_numbers(kind[1])
        checks.append(
            f"    h{k} = carray(p{k}, (9,))\n"
            f"    if (h{k}[{_WORD_TYPE}] != ndarray_type"
            f" or (h{k}[{_WORD_ND}] & 0xFFFFFFFF) != {ndim}"
            f" or (h{k}[{_WORD_FLAGS}] & {_NEEDED_FLAGS}) != {_NEEDED_FLAGS}"
            f" or not _dtype_is(h{k}[{_WORD_DESCR}], {number_a}, {number_b})):\n"
            f"        return -1\n")
        extents = ", ".join(f"d{k}[{d}]" for d in range(ndim))
        views.append(
            f"    d{k} = carray(_pointer(h{k}[{_WORD_DIMS}], numba.int64), ({ndim},))\n"
            f"    a{k} = carray(_pointer(h{k}[{_WORD_DATA}], {names[kind[1]]}), ({extents},))\n")
        call.append(f"a{k}")
    source = (f"def run_entry({', '.join(params)}):\n" + "".join(checks)
              + "    if check:\n        return 0\n" + "".join(views)
              + f"    run_trajectories({', '.join(call)})\n    return 0\n")
    scope = {"carray": carray, "numba": numba, "run_trajectories": run_trajectories,
             "_pointer": _pointer, "_dtype_is": _dtype_is}
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
