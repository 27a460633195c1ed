"""stochsyn.engine.jit.borrowing_njit compiles helpers without reference counting, which is
safe only for helpers that allocate no array and return none: an allocation must not
compile, and no helper compiled that way may return an array (the caller would release a
reference it was never given)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from stochsyn.engine.jit import borrowing_njit


@borrowing_njit()
def _allocates(n):
    return np.zeros(n).sum()


def test_an_allocating_helper_does_not_compile():
    with pytest.raises(numba.core.errors.TypingError):
        _allocates(3)


@borrowing_njit()
def _returns_its_argument(array):
    return array


@borrowing_njit()
def _returns_a_tuple_with_an_array(array):
    return array[0], array


@borrowing_njit()
def _returns_a_scalar(array):
    return array[0] + 1.0


@numba.njit
def _kernel_calling_a_helper_that_returns_an_array(array):
    return _returns_its_argument(array)[0]


@pytest.mark.parametrize("helper", [_returns_its_argument, _returns_a_tuple_with_an_array,
                                    _kernel_calling_a_helper_that_returns_an_array])
def test_a_helper_returning_an_array_does_not_compile(helper):
    """The check runs whenever numba adds a version of a borrowing helper, also when the
    helper is typed as a call inside another kernel."""
    with pytest.raises(numba.core.errors.TypingError, match="borrowing_njit|returns"):
        helper(np.ones(3))


def test_a_helper_returning_a_scalar_compiles():
    assert _returns_a_scalar(np.ones(3)) == 2.0


def test_every_engine_helper_without_reference_counting_is_checked():
    """Every helper of the engine compiled without numba's runtime goes through
    borrowing_njit (a bare ``numba.njit(_nrt=False)`` would skip the return-type check)."""
    from stochsyn.engine import continuous, hazard, jit, membrane, ssa
    borrowing = []
    for module in (hazard, membrane, continuous, ssa, jit):
        for name in dir(module):
            dispatcher = getattr(module, name)
            if (isinstance(dispatcher, numba.core.registry.CPUDispatcher)
                    and dispatcher.__module__ == module.__name__
                    and dispatcher.targetoptions.get("_nrt") is False):
                borrowing.append(name)
                assert dispatcher.add_overload.__name__ == "add_checked_overload", name
    assert {"tv_rate_at", "new_interval", "cover", "settle", "anchor", "select_tv",
            "propensity", "tree_select", "_class_refresh", "_list_remove"} <= set(borrowing)
    assert len(borrowing) >= 25, borrowing
