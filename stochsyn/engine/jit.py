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
from numba.core import cgutils, types
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
    call loads the kernel numba's way.

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
            and hasattr(cache, "_guard_against_spurious_io_errors")):
        return False
    try:
        from numba.core.runtime import rtsys
        signature = tuple(dispatcher.typeof_pyval(a) for a in args)
    except Exception:       # noqa: BLE001 - a type numba cannot name: its call says why
        return False
    if signature in dispatcher.overloads:
        return True

    def load_overload(sig, target_context):
        # numba's Cache.load_overload without its target_context.refresh()
        rtsys.initialize(target_context)
        with cache._guard_against_spurious_io_errors():
            return cache._load_overload(sig, target_context)

    with _load_lock:
        cache.load_overload = load_overload     # this instance only, for this call
        try:
            dispatcher.compile(signature)
        finally:
            del cache.load_overload
    return signature in dispatcher.overloads


__all__ = ["borrowing_njit", "fetch_add", "load_from_cache"]
