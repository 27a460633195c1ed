"""The compiled network as the kernels receive it: two buffers and a table of bounds.

:func:`stochsyn.network.pack` lays the 86 arrays of a
:class:`stochsyn.network.NetworkArrays` out in one int64 buffer, one float64 buffer and an
(F, 2) table of [start, stop) offsets, once per network; the kernel entry rebuilds the same
named tuple from slices of those (views, no copy) with :func:`unpack`, so a call passes 3
arrays instead of 85 (~8 µs less per call), and every kernel below it reads ``net.x0``,
``net.rate``, … as before.

:data:`FIELDS` is the engine's declaration of the arrays it reads (name and dtype), from
which :func:`unpack` is generated. It lives in the engine so that changing it changes the
engine's sources, which clears the kernel cache
(:func:`stochsyn.engine.invalidate_stale_kernel_cache`); importing this module fails,
naming the fields, when NetworkArrays has other fields.
"""

from __future__ import annotations

from collections import namedtuple

from numba.core import types
from numba.extending import overload

from ..network import NetworkArrays

#: (name, kind) of every array of stochsyn.network.NetworkArrays, in its order; kind "i" is
#: int64, "f" float64. Keep in step with NetworkArrays (checked below and by the tests).
FIELDS = (
    ("x0", "i"), ("n_state", "i"), ("rate_kind", "i"), ("rate", "f"), ("rate_input", "i"),
    ("rate_vscale", "f"), ("rate_vhalf", "f"), ("reac_ptr", "i"), ("reac_idx", "i"), ("reac_order", "i"),
    ("delta_ptr", "i"), ("delta_idx", "i"), ("delta_val", "i"), ("move_ptr", "i"),
    ("move_type", "i"), ("move_from", "i"), ("move_to", "i"), ("pick_class", "i"),
    ("log", "i"), ("dep_ptr", "i"), ("dep_idx", "i"), ("tvdep_ptr", "i"), ("tvdep_idx", "i"),
    ("lawdep_ptr", "i"), ("lawdep_idx", "i"), ("law_rx", "i"), ("tv_idx", "i"),
    ("tv_inputs", "i"), ("type_capacity", "i"), ("type_n_initial", "i"),
    ("type_agent_offset", "i"), ("type_state_base", "i"), ("type_n_states", "i"),
    ("type_ring_size", "i"), ("type_class_base", "i"), ("state_list_offset", "i"),
    ("class_list_offset", "i"), ("class_of", "i"), ("n_members", "i"),
    ("n_class_members", "i"), ("n_agent_slots", "i"), ("iv_time", "f"), ("iv_ptr", "i"),
    ("iv_kind", "i"), ("iv_target", "i"), ("iv_count", "i"), ("iv_rate", "f"),
    ("n_leaves", "i"), ("in_value", "f"), ("in_sine_amp", "f"), ("in_sine_omega", "f"),
    ("in_sine_phase", "f"), ("in_step_ptr", "i"), ("in_step_time", "f"),
    ("in_step_value", "f"), ("in_release_prob", "f"), ("in_pulse_peak", "f"),
    ("in_pulse_cv", "f"), ("in_release_tau_rec", "f"), ("in_release_tau_facil", "f"),
    ("in_comp_ptr", "i"), ("comp_trigger", "i"), ("comp_amp", "f"), ("comp_rate", "f"),
    ("comp_alpha", "i"), ("mem_io", "i"), ("mem_param", "f"), ("ch_idx", "i"), ("ch_g", "f"),
    ("ch_e", "f"), ("rx_conductance", "i"), ("law_ptr", "i"), ("law_idx", "i"),
    ("law_w", "f"), ("sat_ptr", "i"), ("sat_idx", "i"), ("law_k", "f"), ("law_n", "f"),
    ("type_complex_size", "i"), ("cx_type", "i"), ("cx_pick", "i"), ("cx_off", "i"),
    ("cx_to", "i"), ("cx_dptr", "i"), ("cx_didx", "i"), ("cx_dval", "i"),
)

#: The network inside the kernels: the fields of NetworkArrays, as views of the buffers.
NetworkView = namedtuple("NetworkView", [name for name, _ in FIELDS])

if NetworkArrays._fields != NetworkView._fields:
    _DIFFERENT = sorted(set(NetworkArrays._fields) ^ set(NetworkView._fields))
    raise ImportError("stochsyn.network.NetworkArrays and stochsyn.engine.layout.FIELDS "
                      f"differ ({', '.join(_DIFFERENT) or 'in order'}): declare every field "
                      "of NetworkArrays in FIELDS, in its order")


def unpack(ints, reals, bounds):
    """The :data:`NetworkView` of packed buffers (compiled code only: an overload)."""
    raise NotImplementedError("unpack runs in compiled code; in Python, use the "
                              "NetworkArrays that were packed")


@overload(unpack)
def _unpack_overload(ints, reals, bounds):
    if not (isinstance(ints, types.Array) and isinstance(reals, types.Array)
            and isinstance(bounds, types.Array)):
        return None
    # One slice per field, written out from FIELDS (a tuple of 86 differently typed views
    # cannot be built in a loop). The code depends on FIELDS only, an engine source.
    items = ", ".join(f"{'ints' if kind == 'i' else 'reals'}[bounds[{k}, 0]:bounds[{k}, 1]]"
                      for k, (_, kind) in enumerate(FIELDS))
    source = f"def impl(ints, reals, bounds):\n    return NetworkView({items})\n"
    scope = {"NetworkView": NetworkView}
    exec(compile(source, "<stochsyn.engine.layout.unpack>", "exec"), scope)  # noqa: S102
    return scope["impl"]


__all__ = ["FIELDS", "NetworkView", "unpack"]
