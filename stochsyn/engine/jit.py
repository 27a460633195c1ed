"""How the engine's helper functions are compiled: without numba's reference counting.

numba counts references to every array a compiled function receives: on entry it increments
the count of each array argument (every member of a tuple of arrays included, and again for
each function inlined into it) and decrements them on return, with atomic instructions. Its
pruning pass removes such pairs in simple functions but not across the loops and calls of
the time-dependent path, whose helpers take ``drive`` (a tuple of 18 arrays), nor in the
agent bookkeeping, which takes the whole ``NetworkArrays``: perf put 28 % of an exact HFS
run, 56 % of a hybrid one and 75 % of a CaMKII ring (``reactions/examples/camkii_ring.toml``,
1.8 µs per event) in ``NRT_incref``/``NRT_decref``.

A helper that only reads and writes the arrays it is given, allocates none and returns none
(scalars, or tuples of scalars) needs no counting: the caller holds every argument for the
whole call. :func:`borrowing_njit` compiles it without numba's runtime (its ``_nrt=False``
option), so its arguments are borrowed. A helper that allocated an array would not compile
("NRT required"), and one that returned an array is refused when it compiles
(:func:`borrowing_njit`); one that stored an array must not use this.

:func:`load_from_cache` loads a kernel's machine code from numba's on-disk cache without
first setting up numba's compiler, which a cached kernel does not need (the start-up of
every process that runs a simulation).
"""

from __future__ import annotations

import threading

import numba
import numpy as np
from numba.core import cgutils, types
from numba.np import numpy_support
from numba.extending import intrinsic


def borrowing_njit(**options):
    """``numba.njit(cache=True, **options)`` without reference counting (module docstring):
    for helpers that take arrays, allocate none and return none.

    Both rules are enforced whenever numba compiles (or loads from its cache) a version of
    the helper: an allocation does not compile without numba's runtime, and a version whose
    return type holds an array (an array, or a tuple with one) is refused with a
    ``numba.core.errors.TypingError`` naming the helper, so a caller can never release a
    reference it was not given."""
    def decorate(function):
        dispatcher = numba.njit(cache=True, _nrt=False, **options)(function)
        add_overload = dispatcher.add_overload

        def add_checked_overload(compiled):
            returned = compiled.signature.return_type
            if _holds_an_array(returned):
                raise numba.core.errors.TypingError(
                    f"{function.__module__}.{function.__qualname__} is compiled without "
                    f"reference counting (borrowing_njit) but returns {returned}; return "
                    "scalars only, or compile it with numba.njit")
            add_overload(compiled)

        # The dispatcher adds every version it compiles or loads through this method.
        dispatcher.add_overload = add_checked_overload
        return dispatcher
    return decorate


def _holds_an_array(numba_type) -> bool:
    if isinstance(numba_type, types.Array):
        return True
    if isinstance(numba_type, types.BaseTuple):
        return any(_holds_an_array(member) for member in numba_type.types)
    return False


@intrinsic
def fetch_add(typingctx, array, index, value):
    """Atomically add ``value`` to ``array[index]`` (an int64 array) and return the value it
    had before (LLVM ``atomicrmw add``, sequentially consistent).

    The threads running one batch claim their next rows with it
    (:func:`stochsyn.engine.ssa.run_trajectories`), inside the kernel and without the GIL.
    """
    if not (isinstance(array, types.Array) and array.dtype == types.int64
            and isinstance(index, types.Integer) and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        ary = context.make_array(array_type)(context, builder, args[0])
        where = context.cast(builder, args[1], signature.args[1], types.intp)
        pointer = cgutils.get_item_pointer(context, builder, array_type, ary, [where],
                                           wraparound=False)
        amount = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", pointer, amount, "seq_cst")

    return types.int64(array, index, value), codegen


_load_lock = threading.Lock()


def load_from_cache(dispatcher, args) -> bool:
    """Give ``dispatcher`` its compiled code for ``args`` from numba's on-disk cache,
    without initialising numba's compiler first.

    Before it looks in its cache, numba's dispatcher "refreshes" its target: it imports
    and installs every typing and lowering registry numba has (``numba.np.arraymath``,
    typed containers, jitclass, the random generators and more; ``arraymath`` probes
    ``scipy.linalg`` for BLAS), which a compilation needs and a cached kernel does not:
    0.2–0.3 s of CPU, a quarter of a cold ``stochsyn run`` (benchmarks/RESULTS.md). This
    loads the cached overload with the runtime the machine code links to (numba's
    reference-counted allocator, NRT) set up alone, and registers it the way numba's own
    cache hit does (``Dispatcher.compile``). When the cache has no entry for these types,
    numba compiles them as usual (its compiler sets itself up fully), so a miss costs
    nothing extra; with a numba whose internals differ, nothing is done and the first
    call loads the kernel numba's way. Plain arrays are typed here
    (:func:`_typeof_without_numpy_ma`, also for the dispatcher's later calls): numba's
    own typing of an array imports ``numpy.ma`` (0.03–0.04 s of CPU) to check that it is
    not a masked array.

    Parameters
    ----------
    dispatcher : numba Dispatcher
        A function compiled with ``numba.njit(cache=True)``.
    args : tuple
        Arguments of a call; only their numba types matter (``Dispatcher.typeof_pyval``,
        as the dispatcher types a call).

    Returns
    -------
    bool
        True if ``dispatcher`` now holds the overload for ``args``' types.
    """
    cache = getattr(dispatcher, "_cache", None)
    if not (hasattr(cache, "_load_overload")
            and hasattr(cache, "_guard_against_spurious_io_errors")
            and hasattr(dispatcher, "_types_active_call")):
        return False
    try:
        from numba.core.runtime import rtsys
        typeof_pyval = _typeof_without_numpy_ma(dispatcher)
        quick = tuple(typeof_pyval(a) for a in args)
    except Exception:       # noqa: BLE001 - a type numba cannot name: its call says why
        return False
    if quick in dispatcher.overloads:
        return True
    # Only an entry the cache holds is loaded under the quick types (the cache files an
    # entry under the exact types numba compiled it for); else numba's own types, which
    # a miss compiles.
    if _load_overload(dispatcher, cache, rtsys, quick, only_cached=True):
        # numba's dispatcher types an argument it has not seen (a tuple of arrays, on
        # the first call) through this method of the instance: the same types, without
        # numpy.ma
        dispatcher.typeof_pyval = typeof_pyval
        return True
    try:
        signature = tuple(dispatcher.typeof_pyval(a) for a in args)
    except Exception:       # noqa: BLE001
        return False
    if signature in dispatcher.overloads:
        return True
    _load_overload(dispatcher, cache, rtsys, signature, only_cached=False)
    return signature in dispatcher.overloads


class _NotInCache(Exception):
    """Stops ``Dispatcher.compile`` when the cache has no entry (the quick types)."""


def _load_overload(dispatcher, cache, rtsys, signature, only_cached: bool) -> bool:
    """``dispatcher.compile(signature)`` with its cache's ``load_overload`` replaced by
    one without ``target_context.refresh()`` (numba's registries); with ``only_cached``,
    nothing is compiled on a miss. True if the overload is now there."""

    def load_overload(sig, target_context):
        # numba's Cache.load_overload without its target_context.refresh()
        rtsys.initialize(target_context)
        with cache._guard_against_spurious_io_errors():
            loaded = cache._load_overload(sig, target_context)
        if loaded is None and only_cached:
            raise _NotInCache
        return loaded

    with _load_lock:
        cache.load_overload = load_overload     # this instance only, for this call
        try:
            dispatcher.compile(signature)
        except _NotInCache:
            return False
        finally:
            del cache.load_overload
    return signature in dispatcher.overloads


def _typeof_without_numpy_ma(dispatcher):
    """``dispatcher.typeof_pyval`` (numba's type of an argument), with a plain
    ``numpy.ndarray``, or a tuple (named or not) of such arrays and tuples, typed here as
    numba's ``_typeof_ndarray`` and ``_typeof_tuple`` type it, but without the check that
    an array is no ``numpy.ma.MaskedArray``, which imports ``numpy.ma`` (0.02-0.04 s of
    CPU, a cold start's): a masked array is not a plain ndarray and goes to numba."""
    # numba's own method, not the instance attribute: that may already be a wrapper made
    # here by an earlier load, and wrapping it again would chain one wrapper per load
    numba_typeof = type(dispatcher).typeof_pyval.__get__(dispatcher)
    active = dispatcher._types_active_call

    def typeof_pyval(value):
        numba_type = _plain_type(value)
        if numba_type is None:
            return numba_typeof(value)
        active.add(numba_type)
        return numba_type
    return typeof_pyval


def _plain_type(value):
    """The numba type of a plain ndarray or a tuple of them (recursively); None for
    anything else (numba types it)."""
    if type(value) is np.ndarray:
        try:
            dtype = numpy_support.from_dtype(value.dtype)
        except Exception:       # noqa: BLE001 - numba says why
            return None
        return types.Array(dtype, value.ndim, numpy_support.map_layout(value),
                           readonly=not value.flags.writeable)
    if isinstance(value, tuple) and len(value):
        members = [_plain_type(v) for v in value]
        if any(m is None for m in members):
            return None
        return types.BaseTuple.from_types(members, type(value))
    return None


__all__ = ["borrowing_njit", "fetch_add", "load_from_cache"]
