"""Stimulation protocols: what the experimenter does to one synapse, as plain data.

A :class:`Protocol` holds presynaptic spike times, postsynaptic spike times (each one a
backpropagating action potential, bAP, in the spine), an optional voltage clamp, the
cooperative dendritic depolarisation that field stimulation adds per presynaptic spike, and
timed interventions (pharmacology) in the model-file format. The engine turns a protocol into
per-trajectory events; transmitter release at each presynaptic spike (probability Pr) is
sampled there, from the trajectory's own random stream, never here. A protocol is therefore
the same for every trajectory of an ensemble.

All times are in seconds (float64) unless a name says otherwise (``delta_t_ms``,
``burst_interval_ms``); voltages are in mV; rates in Hz.

Examples
--------
>>> import stochsyn as ss
>>> p = ss.protocols.hfs(trains=4)                          # 4 × (100 Hz, 1 s), 20 s apart
>>> p = ss.protocols.combine(ss.protocols.hfs(), ss.protocols.apv())   # HFS under APV
>>> p = ss.protocols.hfs().then(ss.protocols.lfs(), gap_s=600.0)       # reversal (V19)
>>> p = ss.protocols.parse("stdp:delta_t_ms=-10,pairs=60")             # the CLI form
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import limits
from .model.errors import shorten

__all__ = [
    "Protocol", "ProtocolError", "GENERATORS", "parse", "combine",
    "spikes", "train", "hfs", "tbs", "lfs", "stdp", "poisson", "voltage_clamp",
    "voltage_step", "apv", "mg_free", "extracellular_calcium", "magnesium",
    "block_exocytosis", "block_endocytosis", "block_calcineurin", "block_pp1", "bapta",
    "EXOCYTOSIS_PARAMETER", "ENDOCYTOSIS_PARAMETER", "CALCINEURIN_BLOCK_PARAMETERS",
    "PP1_BLOCK_PARAMETERS", "PP1_BLOCK_RATES", "BUFFER_SPECIES",
    "APV_PARAMETER", "MG_PARAMETER", "CA_PARAMETER", "FIELD_DEPOLARISATION_MV",
    "DEPOLARISATION_TAU_MS", "INTERVENTION_KEYS",
]

# -- conventions shared with the spine model ------------------------------------------------

APV_PARAMETER = "apv_fraction"
"""Spine-model parameter: fraction (0–1) of NMDARs held by a competitive antagonist (APV,
D-AP5). 0 = no drug, 1 = complete block. :func:`apv` sets it by an intervention; a model that
does not declare it is refused by the model layer when the protocol is applied."""

MG_PARAMETER = "Mg_out"
"""Spine-model parameter: extracellular [Mg²⁺] (default 1 mM in the spine model; a quantity
such as ``"1 mM"``). It scales the NMDAR Mg²⁺-block rate (docs/science.md §2). Set by
:func:`mg_free` and :func:`magnesium`."""

CA_PARAMETER = "Ca_out"
"""Spine-model parameter: extracellular [Ca²⁺] (default 2 mM, docs/science.md §5). It scales the
Ca²⁺ flux through open NMDARs. Set by :func:`extracellular_calcium`."""

EXOCYTOSIS_PARAMETER = "k_exo"
"""Trafficking-module parameter: basal AMPAR exocytosis rate; every exocytosis rule of
``reactions/modules/ampar_trafficking_rules.toml`` is proportional to it, so 0 blocks them all.
Set by :func:`block_exocytosis`."""

ENDOCYTOSIS_PARAMETER = "k_endo"
"""Trafficking-module parameter: basal AMPAR endocytosis rate (every endocytosis rule is
proportional to it). Set by :func:`block_endocytosis`."""

CALCINEURIN_BLOCK_PARAMETERS = {"can_max": "0 /s", "k_845_can": "0 /s", "endo_factor_can": 1}
"""Spine-model parameters that :func:`block_calcineurin` sets: every catalytic action of
Ca²⁺/CaM-bound calcineurin stops — I1P dephosphorylation (``can_max``, so ``can_kcat`` = 0;
``calcineurin_cam.toml``), GluA1 S845 dephosphorylation (``k_845_can``) and the extra
endocytosis of S845-free receptors (``endo_factor_can`` = 1, no extra;
``ampar_trafficking_rules.toml``). CaM binding to calcineurin is left as it is (FK506–FKBP12
and cyclosporin A–cyclophilin block the catalytic site, not CaM binding), and so is the
basal, Ca²⁺-independent I1P dephosphorylation ``can_basal``."""

PP1_BLOCK_PARAMETERS = {"k_slot_dp": "0 /s", "k_831_pp1": "0 /s", "k_845_pp1": "0 /s"}
"""Trafficking-module parameters that :func:`block_pp1` sets to 0: PP1's dephosphorylation of
the TARP slots and of GluA1 S831 and S845 (``ampar_trafficking_rules.toml``)."""

PP1_BLOCK_RATES = {"pp1_camkii_bind": "0 /s"}
"""Reaction rates that :func:`block_pp1` sets to 0: PP1 no longer binds pT286 subunits
(``camkii_holoenzyme.toml``), so it stops dephosphorylating CaMKII once the subunits it held
at the time of the block are released. (Set as a rate: ``pp1_camkii_koff`` is derived from
``pp1_camkii_kon``, so the parameter cannot be zeroed.)"""

BUFFER_SPECIES = "B"
"""Spine-model species that :func:`bapta` adds to: the fast immobile Ca²⁺ buffer of
``calcium.toml`` (k_on 247 /µM/s, K_d 2.1 µM), Ca²⁺-free."""

FIELD_DEPOLARISATION_MV = 2.0
"""Default cooperative dendritic depolarisation A_coop (mV) per presynaptic spike for field
protocols (:func:`hfs`, :func:`tbs`, :func:`lfs`). **[calib]**: docs/science.md §4 gives
A_coop ≈ 1–3 mV; 2 mV is the middle of that range, to be fitted once (docs/science.md §8.4).
Note: with the alpha waveform of peak A and τ = 20 ms, a 100 Hz train sums to a plateau of
about A·e·τ/Δt ≈ 5.4·A, i.e. ≈ 11 mV for 2 mV; docs/science.md §4's 20–40 mV plateau would need
A ≈ 3.7–7.4 mV. The calibration must decide between the two statements."""

DEPOLARISATION_TAU_MS = 20.0
"""Default time constant τ (ms) of the cooperative alpha function (docs/science.md §4)."""

INTERVENTION_KEYS = ("time", "set", "add", "parameters", "rates", "note")
"""Keys an intervention may have (``docs/model-format.md``, section Interventions)."""

_CHANGE_KEYS = ("set", "add", "parameters", "rates")
_FIELDS = ("name", "params", "pre_spikes_s", "post_spikes_s", "clamp_times_s", "clamp_mv",
           "depolarisation_mv", "depolarisation_tau_ms", "interventions", "duration_s")


class ProtocolError(ValueError):
    """A protocol that cannot be built; the message says which field or argument and how
    to fix it."""

    def __str__(self) -> str:
        return shorten(super().__str__())      # a text of a megabyte is not echoed whole


def _check_size(where: str, factors: Sequence[tuple[str, float]]) -> None:
    """Refuse a protocol of more events than ``STOCHSYN_MAX_PROTOCOL_EVENTS``
    (:mod:`stochsyn.limits`) before its arrays are made; ``factors`` are (name, count)
    whose product is the number of events."""
    total = math.prod(float(n) for _, n in factors)
    if total > limits.value("protocol_events"):
        product = " × ".join(f"{limits.number_text(n)} {name}" for name, n in factors)
        raise ProtocolError(f"{where}: " + limits.exceeded(
            "protocol_events", f"the number of events ({product})", total)
            + "; " + limits.how_to_raise("protocol_events"))


# -- small checks -----------------------------------------------------------------------------

def _suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(str(name), list(candidates), n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def _real(where: str, value, *, minimum: float | None = None, strict: bool = False,
          maximum: float | None = None, example: str = "") -> float:
    """A finite float within bounds, or ProtocolError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ProtocolError(f"{where} must be a number, got {value!r}"
                            + (f"; e.g. {example}" if example else ""))
    value = float(value)
    if not math.isfinite(value):
        raise ProtocolError(f"{where} must be finite, got {value!r}"
                            + (f"; e.g. {example}" if example else ""))
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise ProtocolError(f"{where} must be {'>' if strict else '>='} {minimum:g}, "
                            f"got {value:g}" + (f"; e.g. {example}" if example else ""))
    if maximum is not None and value > maximum:
        raise ProtocolError(f"{where} must be <= {maximum:g}, got {value:g}"
                            + (f"; e.g. {example}" if example else ""))
    return value


def _count(where: str, value, *, minimum: int = 1, example: str = "") -> int:
    """A whole number >= minimum (an integral float such as 100.0 is accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ProtocolError(f"{where} must be a whole number, got {value!r}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    else:
        if not (math.isfinite(value) and float(value).is_integer()):
            raise ProtocolError(f"{where} must be a whole number, got {value!r}"
                                + (f"; e.g. {example}" if example else ""))
        number = int(value)
    if number < minimum:
        raise ProtocolError(f"{where} must be >= {minimum}, got {number}"
                            + (f"; e.g. {example}" if example else ""))
    return number


def _json_safe(where: str, value):
    """A deep copy of ``value`` as it comes back from JSON (tuples become lists), or
    ProtocolError if it cannot be written as strict JSON."""
    def convert(obj):
        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=convert))
    except (TypeError, ValueError) as err:
        raise ProtocolError(f"{where} must be JSON-serialisable (numbers, strings, lists, "
                            f"dicts; no NaN or infinity): {err}") from None


def _array(where: str, value, *, release_ok: bool = False) -> np.ndarray:
    """A read-only 1-D float64 copy of ``value``. Text and booleans are refused; None
    becomes NaN only where ``release_ok``."""
    try:
        raw = np.asarray(value, dtype=object if release_ok else None)
    except (TypeError, ValueError) as err:
        raise ProtocolError(f"{where} must be a 1-D sequence of numbers: {err}") from None
    if raw.dtype.kind in "USb":
        raise ProtocolError(f"{where} must hold numbers (seconds or mV without units), got "
                            f"{value!r:.80}; convert quantities such as '10 ms' first")
    if raw.ndim != 1:
        raise ProtocolError(f"{where} must be a 1-D sequence, got an array of shape "
                            f"{raw.shape}; wrap a single value in a list, e.g. [0.1]")
    try:
        if release_ok:
            items = [math.nan if v is None else v for v in raw.tolist()]
            for v in items:
                if isinstance(v, (bool, str)) or not isinstance(v, numbers.Real):
                    raise TypeError(repr(v))
            array = np.array(items, dtype=np.float64)
        else:
            array = np.array(raw, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ProtocolError(f"{where} must hold numbers only, got {err}") from None
    array.setflags(write=False)
    return array


def _times(where: str, value, *, strictly: bool = False) -> np.ndarray:
    """Times in s: 1-D, finite, >= 0, sorted (non-decreasing, or increasing if strictly)."""
    array = _array(where, value)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ProtocolError(f"{where} must be finite; element {bad[0]} is {array[bad[0]]!r}. "
                            "Remove it or give a real time in seconds")
    bad = np.flatnonzero(array < 0)
    if bad.size:
        raise ProtocolError(f"{where} must be >= 0; element {bad[0]} is {array[bad[0]]:g} s. "
                            "Times count from the start of the simulation; shift the "
                            "protocol (start_s=..., .shifted(dt_s)) so it starts at >= 0")
    steps = np.diff(array)
    bad = np.flatnonzero(steps <= 0 if strictly else steps < 0)
    if bad.size:
        i = bad[0]
        order = "strictly increasing (no two steps at the same time)" if strictly else \
            "sorted in increasing order"
        raise ProtocolError(f"{where} must be {order}; element {i + 1} ({array[i + 1]:g} s) "
                            f"does not come after element {i} ({array[i]:g} s). "
                            "Sort the times (numpy.sort)" + (" and merge equal steps"
                                                             if strictly else ""))
    return array


def _seconds(where: str, value) -> float:
    """An intervention time: a number in s or a quantity such as '12 s' / '2 min'."""
    if isinstance(value, str):
        from .model import units           # the one place that knows about unit strings
        try:
            value = units.seconds(value)
        except ValueError as err:
            raise ProtocolError(f"{where}: {err}") from None
    return _real(where, value, minimum=0.0, example='12.0 or "12 s"')


def _intervention(i: int, item) -> dict:
    """A normalised copy of one intervention: time in float seconds, JSON-safe."""
    where = f"interventions[{i}]"
    if not isinstance(item, Mapping):
        raise ProtocolError(f"{where} must be a dict such as {{'time': 12.0, 'parameters': "
                            f"{{'Mg_out': '0 mM'}}}}, got {item!r:.80}")
    for key in item:
        if key not in INTERVENTION_KEYS:
            raise ProtocolError(f"{where} has unknown key {key!r}."
                                f"{_suggest(key, INTERVENTION_KEYS)} "
                                f"Allowed: {', '.join(INTERVENTION_KEYS)}")
    if "time" not in item:
        raise ProtocolError(f"{where} has no 'time'; add e.g. 'time': 12.0 (seconds)")
    if not any(key in item for key in _CHANGE_KEYS):
        raise ProtocolError(f"{where} changes nothing; give one of {', '.join(_CHANGE_KEYS)}, "
                            "e.g. 'parameters': {'Mg_out': '0 mM'}")
    for key in _CHANGE_KEYS:
        if key in item and not (isinstance(item[key], Mapping) and item[key]):
            raise ProtocolError(f"{where}['{key}'] must be a non-empty dict such as "
                                "{'Mg_out': '0 mM'}")
    if "note" in item and not isinstance(item["note"], str):
        raise ProtocolError(f"{where}['note'] must be text")
    body = {"time": _seconds(f"{where}['time']", item["time"])}
    body.update((key, item[key]) for key in item if key != "time")
    return _json_safe(where, body)


def _alpha_fmt(mv: float, tau_ms: float) -> str:
    return f"{mv:g} mV (τ {tau_ms:g} ms)"


# -- the Protocol -----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class Protocol:
    """What the experimenter does to one synapse: spikes, clamp, depolarisation, drugs.

    Build protocols with the generators of this module (:func:`hfs`, :func:`stdp`, …) and
    join them with :meth:`then` and :func:`combine`; the constructor is for custom cases.

    Parameters
    ----------
    name : str
        Short name, e.g. ``"hfs"``; joined names for composite protocols.
    params : dict
        The arguments the protocol was built with (JSON-serialisable), for provenance.
    pre_spikes_s : (n_pre,) float64 ndarray
        Presynaptic spike times in s, sorted (ties allowed), finite, >= 0. At each one the
        engine samples release with probability Pr.
    post_spikes_s : (n_post,) float64 ndarray
        Postsynaptic spike times in s; each gives a bAP in the spine. Same rules.
    clamp_times_s, clamp_mv : (n_steps,) float64 ndarray
        Voltage clamp as a step function: V = ``clamp_mv[k]`` from ``clamp_times_s[k]``
        until the next step. Times strictly increasing. A value NaN (or None on input)
        releases the clamp from there on; before the first step the membrane equation runs.
        Both empty = no clamp.
    depolarisation_mv : float, >= 0
        Cooperative dendritic depolarisation A per presynaptic spike, added to the dendrite
        voltage as the alpha function ``A·(t/τ)·exp(1 − t/τ)`` (peak A at t = τ); 0 = off.
        One setting for all presynaptic spikes of the protocol (docs/science.md §4, A_coop).
    depolarisation_tau_ms : float, > 0
        τ of that alpha function in ms.
    interventions : tuple of dict
        Timed changes in the model-file format (``docs/model-format.md``, Interventions):
        ``{"time": 12.0 or "12 s", "parameters": {"Mg_out": "0 mM"}}``, also ``set``,
        ``add``, ``rates`` and ``note``. Times are stored as float seconds; entries are
        kept in time order (stable, so equal times keep their order).
    duration_s : float, optional
        Time of the last scheduled thing (spike, clamp step, intervention); computed when
        omitted. It may be given larger (a window that ends later than its last event, as
        :func:`poisson` does), never smaller. It is not a simulation end time; it is where
        :meth:`then` appends the next protocol.

    Notes
    -----
    The arrays are read-only copies. ``params`` and ``interventions`` are normalised copies
    (as they come back from JSON); do not mutate them. Equality compares :meth:`to_dict`.
    """

    name: str
    params: dict = field(default_factory=dict)
    pre_spikes_s: np.ndarray = ()
    post_spikes_s: np.ndarray = ()
    clamp_times_s: np.ndarray = ()
    clamp_mv: np.ndarray = ()
    depolarisation_mv: float = 0.0
    depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS
    interventions: tuple = ()
    duration_s: float | None = None

    def __post_init__(self):
        def put(name, value):                        # the dataclass is frozen
            object.__setattr__(self, name, value)

        if not isinstance(self.name, str) or not self.name.strip():
            raise ProtocolError(f"name must be non-empty text, got {self.name!r}")
        if not isinstance(self.params, Mapping):
            raise ProtocolError(f"params must be a dict of the arguments, got "
                                f"{type(self.params).__name__}")
        put("params", _json_safe("params", dict(self.params)))
        put("pre_spikes_s", _times("pre_spikes_s", self.pre_spikes_s))
        put("post_spikes_s", _times("post_spikes_s", self.post_spikes_s))
        put("clamp_times_s", _times("clamp_times_s", self.clamp_times_s, strictly=True))
        clamp_mv = _array("clamp_mv", self.clamp_mv, release_ok=True)
        if clamp_mv.shape != self.clamp_times_s.shape:
            raise ProtocolError(f"clamp_times_s and clamp_mv must have equal lengths (one "
                                f"voltage per step), got {self.clamp_times_s.size} and "
                                f"{clamp_mv.size}")
        if np.isinf(clamp_mv).any():
            raise ProtocolError("clamp_mv must be finite, or NaN to release the clamp; "
                                "got an infinite value")
        put("clamp_mv", clamp_mv)
        put("depolarisation_mv", _real("depolarisation_mv", self.depolarisation_mv,
                                       minimum=0.0, example="2.0 (mV), or 0 for none"))
        put("depolarisation_tau_ms", _real("depolarisation_tau_ms", self.depolarisation_tau_ms,
                                           minimum=0.0, strict=True, example="20.0 (ms)"))
        if isinstance(self.interventions, (str, bytes, Mapping)) or \
                not isinstance(self.interventions, Sequence):
            raise ProtocolError("interventions must be a tuple or list of dicts, got "
                                f"{type(self.interventions).__name__}")
        items = [_intervention(i, item) for i, item in enumerate(self.interventions)]
        put("interventions", tuple(sorted(items, key=lambda item: item["time"])))
        last = self._last_event_s()
        if self.duration_s is None:
            put("duration_s", last)
        else:
            duration = _real("duration_s", self.duration_s, minimum=0.0)
            if duration < last:
                raise ProtocolError(f"duration_s ({duration:g} s) is before the last scheduled "
                                    f"event ({last:g} s); leave it out to have it computed")
            put("duration_s", duration)

    def _last_event_s(self) -> float:
        candidates = [0.0]
        for array in (self.pre_spikes_s, self.post_spikes_s, self.clamp_times_s):
            if array.size:
                candidates.append(float(array[-1]))
        candidates += [item["time"] for item in self.interventions]
        return max(candidates)

    # -- composition ----------------------------------------------------------------------------

    def then(self, other: "Protocol", gap_s: float = 0.0) -> "Protocol":
        """Append ``other`` after this protocol: ``other`` shifted by
        ``self.duration_s + gap_s``, everything concatenated, names joined with ``" + "``.

        ``duration_s`` is the *last event*, so with ``gap_s = 0`` the first event of
        ``other`` (at its t = 0) falls on the last event of ``self``; give a gap (e.g. one
        inter-pulse interval, or a rest period) to separate them. A clamp that is still on
        at the end of ``self`` is released where ``other`` starts (``other`` runs as it
        would alone); a clamp step of ``other`` at the same time replaces that release.
        Both parts must have the same depolarisation setting if both have presynaptic
        spikes (see :func:`combine`).
        """
        if not isinstance(other, Protocol):
            raise ProtocolError(f"then() needs a Protocol, got {type(other).__name__}; "
                                "build one with stochsyn.protocols (e.g. lfs())")
        gap_s = _real("then(): gap_s", gap_s, minimum=0.0, example="60.0")
        offset = self.duration_s + gap_s
        times, values = list(self.clamp_times_s), list(self.clamp_mv)

        def put_step(t, v):
            if times and times[-1] == t:
                values[-1] = v
            else:
                times.append(t)
                values.append(v)

        if values and not math.isnan(values[-1]):
            put_step(offset, math.nan)
        for t, v in zip(other.clamp_times_s + offset, other.clamp_mv):
            put_step(float(t), float(v))
        depol = _common_depolarisation([self, other], "then()")
        return Protocol(
            name=f"{self.name} + {other.name}",
            params={"then": [_part(self), _part(other)], "gap_s": gap_s},
            pre_spikes_s=np.concatenate([self.pre_spikes_s, other.pre_spikes_s + offset]),
            post_spikes_s=np.concatenate([self.post_spikes_s, other.post_spikes_s + offset]),
            clamp_times_s=times, clamp_mv=values,
            depolarisation_mv=depol[0], depolarisation_tau_ms=depol[1],
            interventions=self.interventions + tuple(_shift_intervention(item, offset)
                                                     for item in other.interventions),
            duration_s=offset + other.duration_s)

    def shifted(self, dt_s: float) -> "Protocol":
        """The same protocol ``dt_s`` seconds later (negative moves it earlier, as long as
        nothing goes below 0). The name is kept; ``params`` records the base and shift."""
        dt_s = _real("shifted(): dt_s", dt_s, example="10.0")
        first = min([float(a[0]) for a in (self.pre_spikes_s, self.post_spikes_s,
                                           self.clamp_times_s) if a.size]
                    + [item["time"] for item in self.interventions] + [self.duration_s])
        if first + dt_s < 0:
            raise ProtocolError(f"shifted({dt_s:g}) would move the first event (at {first:g} s) "
                                "before 0 s; shift by at most "
                                f"{-first:g} s")
        return dataclasses.replace(
            self, params={"shifted": _part(self), "dt_s": dt_s},
            pre_spikes_s=self.pre_spikes_s + dt_s, post_spikes_s=self.post_spikes_s + dt_s,
            clamp_times_s=self.clamp_times_s + dt_s,
            interventions=tuple(_shift_intervention(item, dt_s) for item in self.interventions),
            duration_s=self.duration_s + dt_s)

    def with_interventions(self, *more: Mapping) -> "Protocol":
        """This protocol with more interventions (dicts in the model-file format)."""
        return dataclasses.replace(self, interventions=self.interventions + tuple(more),
                                   duration_s=None if self.duration_s == self._last_event_s()
                                   else self.duration_s)

    # -- serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-serialisable dict that :meth:`from_dict` turns back into an equal
        protocol (float64 times survive JSON exactly; NaN clamp values become None)."""
        return {
            "name": self.name,
            "params": _json_safe("params", self.params),
            "pre_spikes_s": self.pre_spikes_s.tolist(),
            "post_spikes_s": self.post_spikes_s.tolist(),
            "clamp_times_s": self.clamp_times_s.tolist(),
            "clamp_mv": [None if math.isnan(v) else v for v in self.clamp_mv.tolist()],
            "depolarisation_mv": self.depolarisation_mv,
            "depolarisation_tau_ms": self.depolarisation_tau_ms,
            "interventions": _json_safe("interventions", list(self.interventions)),
            "duration_s": self.duration_s,
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "Protocol":
        """The protocol written by :meth:`to_dict` (e.g. read back from Parquet metadata)."""
        if not isinstance(data, Mapping):
            raise ProtocolError(f"Protocol.from_dict needs a dict, got {type(data).__name__}")
        for key in data:
            if key not in _FIELDS:
                raise ProtocolError(f"unknown protocol field {key!r}.{_suggest(key, _FIELDS)} "
                                    f"Fields: {', '.join(_FIELDS)}")
        if "name" not in data:
            raise ProtocolError("a protocol dict needs a 'name'")
        values = dict(data)
        if "interventions" in values and isinstance(values["interventions"], list):
            values["interventions"] = tuple(values["interventions"])
        return cls(**values)

    # -- reading ----------------------------------------------------------------------------------

    def dendritic_depolarisation_mv(self, t_s) -> np.ndarray:
        """The cooperative depolarisation at times ``t_s`` (s): the sum over presynaptic
        spikes t_k < t of ``A·x·exp(1 − x)``, ``x = (t − t_k)/τ``. Same shape as ``t_s``.
        A reference for the engine and for calibration, O(n_times · n_pre)."""
        t = np.asarray(t_s, dtype=np.float64)
        out = np.zeros(t.shape)
        if self.depolarisation_mv == 0.0:
            return out
        tau_s = self.depolarisation_tau_ms / 1000.0
        for spike in self.pre_spikes_s:
            x = (t - spike) / tau_s
            mask = x > 0
            out[mask] += self.depolarisation_mv * x[mask] * np.exp(1.0 - x[mask])
        return out

    def describe(self) -> str:
        """One line: presynaptic spikes and rate, bAPs, clamp, depolarisation, drugs."""
        parts = []
        if self.pre_spikes_s.size or not (self.post_spikes_s.size or self.clamp_times_s.size
                                          or self.interventions):
            parts.append(_spike_text(self.pre_spikes_s, "presynaptic spike"))
        if self.post_spikes_s.size:
            parts.append(_spike_text(self.post_spikes_s, "bAP"))
        if self.clamp_times_s.size:
            held = [f"{v:g} mV" if not math.isnan(v) else "released" for v in self.clamp_mv]
            parts.append("clamp " + " → ".join(held[:4]) + (" …" if len(held) > 4 else ""))
        if self.depolarisation_mv and self.pre_spikes_s.size:
            parts.append("cooperative depolarisation "
                         + _alpha_fmt(self.depolarisation_mv, self.depolarisation_tau_ms)
                         + " per spike")
        if self.interventions:
            n = len(self.interventions)
            parts.append(f"{n} intervention{'s' if n != 1 else ''}")
        return f"{self.name}: " + ", ".join(parts) + f"; last event at {self.duration_s:g} s"

    def __repr__(self) -> str:
        return (f"<Protocol {self.name!r}: {self.pre_spikes_s.size} pre, "
                f"{self.post_spikes_s.size} post spikes, {self.clamp_times_s.size} clamp steps, "
                f"{len(self.interventions)} interventions, duration_s={self.duration_s:g}>")

    def __eq__(self, other):
        if not isinstance(other, Protocol):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(json.dumps(self.to_dict(), sort_keys=True))


def _part(protocol: Protocol) -> dict:
    return {"name": protocol.name, "params": protocol.params}


def _shift_intervention(item: dict, dt_s: float) -> dict:
    return {**item, "time": item["time"] + dt_s}


def _spike_text(times: np.ndarray, what: str) -> str:
    n = times.size
    text = f"{n} {what}{'s' if n != 1 else ''}"
    if n < 2:
        return text
    isi = np.diff(times)
    if np.allclose(isi, isi[0], rtol=1e-9, atol=0.0) and isi[0] > 0:
        return text + f" at {1.0 / isi[0]:.4g} Hz"
    mean = (n - 1) / (times[-1] - times[0]) if times[-1] > times[0] else math.inf
    fastest = isi[isi > 0].min() if (isi > 0).any() else 0.0
    return text + (f" (up to {1.0 / fastest:.4g} Hz, mean {mean:.3g} Hz)" if fastest else "")


def _common_depolarisation(protocols, what: str) -> tuple[float, float]:
    """The one (A, τ) setting of protocols joined into one: those with presynaptic spikes
    must agree; if none has any, the setting with the largest A (it acts on nothing)."""
    with_spikes = [p for p in protocols if p.pre_spikes_s.size]
    settings = {(p.depolarisation_mv, p.depolarisation_tau_ms) for p in with_spikes}
    if len(settings) > 1:
        listed = "; ".join(f"'{p.name}': "
                           + (_alpha_fmt(p.depolarisation_mv, p.depolarisation_tau_ms)
                              if p.depolarisation_mv else "none")
                           for p in with_spikes)
        raise ProtocolError(
            f"{what}: the protocols' cooperative depolarisation settings differ ({listed}); a "
            "protocol has one setting for all its presynaptic spikes. Build them with the same "
            "depolarisation_mv and depolarisation_tau_ms (e.g. hfs(depolarisation_mv=0))")
    if settings:
        return settings.pop()
    best = max(protocols, key=lambda p: p.depolarisation_mv)
    return best.depolarisation_mv, best.depolarisation_tau_ms


def combine(*protocols: Protocol) -> Protocol:
    """Overlay protocols on the same clock: spikes and interventions merged in time order.

    At most one of them may clamp the voltage. Those with presynaptic spikes must have the
    same depolarisation setting (``depolarisation_mv``, ``depolarisation_tau_ms``), since it
    applies to every presynaptic spike. ``duration_s`` is the largest. Names are joined with
    ``" & "`` (``" + "`` is used by :meth:`Protocol.then`).

    Examples
    --------
    >>> combine(hfs(), apv())          # HFS with all NMDARs blocked from t = 0
    """
    if not protocols:
        raise ProtocolError("combine() needs at least one protocol, e.g. combine(hfs(), apv())")
    for i, p in enumerate(protocols):
        if not isinstance(p, Protocol):
            raise ProtocolError(f"combine(): argument {i} is a {type(p).__name__}, not a "
                                "Protocol")
    if len(protocols) == 1:
        return protocols[0]
    clamped = [p for p in protocols if p.clamp_times_s.size]
    if len(clamped) > 1:
        raise ProtocolError("combine(): at most one protocol may clamp the voltage, but "
                            + ", ".join(f"'{p.name}'" for p in clamped) + " all do; put all "
                            "steps into one voltage_clamp([...])")
    clamp = clamped[0] if clamped else None
    depol = _common_depolarisation(protocols, "combine()")
    return Protocol(
        name=" & ".join(p.name for p in protocols),
        params={"combine": [_part(p) for p in protocols]},
        pre_spikes_s=np.sort(np.concatenate([p.pre_spikes_s for p in protocols]), kind="stable"),
        post_spikes_s=np.sort(np.concatenate([p.post_spikes_s for p in protocols]),
                              kind="stable"),
        clamp_times_s=clamp.clamp_times_s if clamp else (),
        clamp_mv=clamp.clamp_mv if clamp else (),
        depolarisation_mv=depol[0], depolarisation_tau_ms=depol[1],
        interventions=tuple(item for p in protocols for item in p.interventions),
        duration_s=max(p.duration_s for p in protocols))


# -- generators ---------------------------------------------------------------------------------

def spikes(pre_s=(), post_s=()) -> Protocol:
    """Explicit spike times.

    Parameters
    ----------
    pre_s : (n_pre,) array_like of float or float
        Presynaptic spike times in s (sorted, >= 0).
    post_s : (n_post,) array_like of float or float
        Postsynaptic spike (bAP) times in s (sorted, >= 0).
    """
    def one_d(where, value):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = [value]                   # a single time
        return _times(where, value)
    for where, value in (("spikes(): pre_s", pre_s), ("spikes(): post_s", post_s)):
        if hasattr(value, "__len__"):
            _check_size(where, [("spikes", len(value))])
    pre, post = one_d("spikes(): pre_s", pre_s), one_d("spikes(): post_s", post_s)
    return Protocol(name="spikes", params={"pre_s": pre.tolist(), "post_s": post.tolist()},
                    pre_spikes_s=pre, post_spikes_s=post)


def _depolarisation(name, mv, tau_ms) -> tuple[float, float]:
    return (_real(f"{name}(): depolarisation_mv", mv, minimum=0.0, example="2.0, or 0 for none"),
            _real(f"{name}(): depolarisation_tau_ms", tau_ms, minimum=0.0, strict=True,
                  example="20.0"))


def _regular(name, rate_hz, pulses, start_s, depolarisation_mv, depolarisation_tau_ms):
    depolarisation_mv, depolarisation_tau_ms = _depolarisation(name, depolarisation_mv,
                                                               depolarisation_tau_ms)
    rate_hz = _real(f"{name}(): rate_hz", rate_hz, minimum=0.0, strict=True, example="100.0")
    pulses = _count(f"{name}(): pulses", pulses, example="100")
    _check_size(f"{name}()", [("pulses", pulses)])
    start_s = _real(f"{name}(): start_s", start_s, minimum=0.0)
    times = start_s + np.arange(pulses) / rate_hz
    return Protocol(name=name, params={"rate_hz": rate_hz, "pulses": pulses, "start_s": start_s,
                                       "depolarisation_mv": depolarisation_mv,
                                       "depolarisation_tau_ms": depolarisation_tau_ms},
                    pre_spikes_s=times, depolarisation_mv=depolarisation_mv,
                    depolarisation_tau_ms=depolarisation_tau_ms)


def train(rate_hz: float, pulses: int, *, start_s: float = 0.0, depolarisation_mv: float = 0.0,
          depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS) -> Protocol:
    """A regular presynaptic train: spike k (k = 0 … pulses−1) at ``start_s + k/rate_hz``.

    Without cooperative depolarisation by default (one pathway, e.g. test pulses).
    """
    return _regular("train", rate_hz, pulses, start_s, depolarisation_mv, depolarisation_tau_ms)


def lfs(*, rate_hz: float = 1.0, pulses: int = 900, start_s: float = 0.0,
        depolarisation_mv: float = FIELD_DEPOLARISATION_MV,
        depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS) -> Protocol:
    """Low-frequency stimulation (Dudek & Bear 1992): ``pulses`` at ``rate_hz``, spike k at
    ``start_s + k/rate_hz``; 900 at 1 Hz ends at 899 s.

    Any rate and count (the V7 frequency–response curve uses 900 pulses at 0.5–50 Hz).
    Field stimulation, so it carries the same cooperative depolarisation as :func:`hfs`
    (``FIELD_DEPOLARISATION_MV``, **[calib]**); at 1 Hz the bumps do not sum. Pass
    ``depolarisation_mv=0`` for a single-pathway train.

    References
    ----------
    Dudek SM, Bear MF (1992) PNAS 89:4363–4367. doi:10.1073/pnas.89.10.4363
    """
    return _regular("lfs", rate_hz, pulses, start_s, depolarisation_mv, depolarisation_tau_ms)


def hfs(*, trains: int = 1, rate_hz: float = 100.0, pulses: int = 100,
        inter_train_s: float = 20.0, depolarisation_mv: float = FIELD_DEPOLARISATION_MV,
        depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS, start_s: float = 0.0) -> Protocol:
    """High-frequency stimulation (tetanus; docs/science.md §8.3): ``trains`` trains of ``pulses``
    at ``rate_hz``; spike k of train j at ``start_s + j·inter_train_s + k/rate_hz``.

    Parameters
    ----------
    trains : int, >= 1
    rate_hz : float, > 0
    pulses : int, >= 1
        Pulses per train (100 at 100 Hz = 1 s).
    inter_train_s : float
        Onset-to-onset interval between trains in s; must exceed a train's length.
    depolarisation_mv : float
        Cooperative depolarisation A_coop per pulse. Default ``FIELD_DEPOLARISATION_MV`` =
        2 mV, **[calib]** (docs/science.md §4: A_coop ≈ 1–3 mV; to be fitted, §8.4).
    depolarisation_tau_ms : float
        τ of the alpha function (20 ms).
    start_s : float
        Time of the first pulse.
    """
    trains = _count("hfs(): trains", trains, example="4")
    _check_size("hfs()", [("trains", trains), ("pulses", _count("hfs(): pulses", pulses))])
    base = _regular("hfs", rate_hz, pulses, 0.0, depolarisation_mv, depolarisation_tau_ms)
    rate_hz, pulses = base.params["rate_hz"], base.params["pulses"]
    start_s = _real("hfs(): start_s", start_s, minimum=0.0)
    inter_train_s = _real("hfs(): inter_train_s", inter_train_s, minimum=0.0, strict=True,
                          example="20.0")
    length = (pulses - 1) / rate_hz
    if trains > 1 and length >= inter_train_s:
        raise ProtocolError(f"hfs(): a train of {pulses} pulses at {rate_hz:g} Hz lasts "
                            f"{length:g} s, not less than inter_train_s = {inter_train_s:g} s "
                            "(onset to onset), so trains would overlap; raise inter_train_s")
    times = (start_s + np.arange(trains)[:, None] * inter_train_s
             + base.pre_spikes_s[None, :]).ravel()
    return dataclasses.replace(
        base, pre_spikes_s=times, duration_s=None,
        params={"trains": trains, "rate_hz": rate_hz, "pulses": pulses,
                "inter_train_s": inter_train_s, "depolarisation_mv": base.depolarisation_mv,
                "depolarisation_tau_ms": base.depolarisation_tau_ms, "start_s": start_s})


def tbs(*, trains: int = 1, bursts: int = 10, pulses_per_burst: int = 4,
        intra_burst_hz: float = 100.0, burst_interval_ms: float = 200.0,
        inter_train_s: float = 10.0, depolarisation_mv: float = FIELD_DEPOLARISATION_MV,
        depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS, start_s: float = 0.0) -> Protocol:
    """Theta-burst stimulation: ``trains`` × ``bursts`` bursts of ``pulses_per_burst`` at
    ``intra_burst_hz``, bursts every ``burst_interval_ms`` (5 Hz theta by default), trains
    every ``inter_train_s`` (onset to onset). Pulse p of burst b of train j is at
    ``start_s + j·inter_train_s + b·burst_interval_ms/1000 + p/intra_burst_hz``.

    The depolarisation default is ``FIELD_DEPOLARISATION_MV`` (**[calib]**), as for
    :func:`hfs`. docs/science.md §9 V10: 1, 4 and 8 trains.
    """
    trains = _count("tbs(): trains", trains, example="4")
    depolarisation_mv, depolarisation_tau_ms = _depolarisation("tbs", depolarisation_mv,
                                                               depolarisation_tau_ms)
    bursts = _count("tbs(): bursts", bursts, example="10")
    per_burst = _count("tbs(): pulses_per_burst", pulses_per_burst, example="4")
    _check_size("tbs()", [("trains", trains), ("bursts", bursts),
                          ("pulses per burst", per_burst)])
    intra = _real("tbs(): intra_burst_hz", intra_burst_hz, minimum=0.0, strict=True,
                  example="100.0")
    interval_ms = _real("tbs(): burst_interval_ms", burst_interval_ms, minimum=0.0, strict=True,
                        example="200.0")
    inter_train_s = _real("tbs(): inter_train_s", inter_train_s, minimum=0.0, strict=True,
                          example="10.0")
    start_s = _real("tbs(): start_s", start_s, minimum=0.0)
    burst_s = (per_burst - 1) / intra
    if bursts > 1 and burst_s >= interval_ms / 1000.0:
        raise ProtocolError(f"tbs(): a burst of {per_burst} pulses at {intra:g} Hz lasts "
                            f"{burst_s * 1000:g} ms, not less than burst_interval_ms = "
                            f"{interval_ms:g}; raise burst_interval_ms or intra_burst_hz")
    train_s = (bursts - 1) * interval_ms / 1000.0 + burst_s
    if trains > 1 and train_s >= inter_train_s:
        raise ProtocolError(f"tbs(): a train of {bursts} bursts lasts {train_s:g} s, not less "
                            f"than inter_train_s = {inter_train_s:g} s (onset to onset); "
                            "raise inter_train_s")
    times = (start_s + np.arange(trains)[:, None, None] * inter_train_s
             + (np.arange(bursts) * interval_ms / 1000.0)[None, :, None]
             + (np.arange(per_burst) / intra)[None, None, :]).ravel()
    return Protocol(
        name="tbs",
        params={"trains": trains, "bursts": bursts, "pulses_per_burst": per_burst,
                "intra_burst_hz": intra, "burst_interval_ms": interval_ms,
                "inter_train_s": inter_train_s, "depolarisation_mv": depolarisation_mv,
                "depolarisation_tau_ms": depolarisation_tau_ms, "start_s": start_s},
        pre_spikes_s=times, depolarisation_mv=depolarisation_mv,
        depolarisation_tau_ms=depolarisation_tau_ms)


def stdp(delta_t_ms: float, *, pairs: int = 60, rate_hz: float = 1.0, baps_per_pair: int = 1,
         bap_interval_ms: float = 10.0, start_s: float = 0.0) -> Protocol:
    """Spike-timing pairing (docs/science.md §9 V14; Bi & Poo 1998).

    Parameters
    ----------
    delta_t_ms : float
        Δt = t_post − t_pre in ms, to the first bAP of the pair. Positive = pre before
        post (LTP side), negative = post before pre (LTD side).
    pairs : int
        Number of pairings, one every ``1/rate_hz`` s.
    rate_hz : float
        Pairing rate.
    baps_per_pair : int
        bAPs per pairing; the extra ones follow the first at ``bap_interval_ms``.
    bap_interval_ms : float
        Interval between the bAPs of one pairing.
    start_s : float
        Time of the first event. For Δt >= 0 the pre spike of pair k is at
        ``start_s + k/rate_hz``; for Δt < 0 everything is shifted by |Δt| so the first bAP
        is at ``start_s``.

    Notes
    -----
    No cooperative depolarisation (pairing is done with one pathway in whole-cell
    recordings). Pairs may overlap if |Δt| or the bAP burst exceeds the pairing period;
    that is not refused.

    References
    ----------
    Bi G-q, Poo M-m (1998) J Neurosci 18:10464–10472. doi:10.1523/JNEUROSCI.18-24-10464.1998
    """
    delta_t_ms = _real("stdp(): delta_t_ms", delta_t_ms, example="10.0 or -10.0")
    pairs = _count("stdp(): pairs", pairs, example="60")
    rate_hz = _real("stdp(): rate_hz", rate_hz, minimum=0.0, strict=True, example="1.0")
    baps = _count("stdp(): baps_per_pair", baps_per_pair, example="1")
    _check_size("stdp()", [("pairs", pairs), ("spikes per pair", 1 + baps)])
    bap_interval_ms = _real("stdp(): bap_interval_ms", bap_interval_ms, minimum=0.0, strict=True,
                            example="10.0")
    start_s = _real("stdp(): start_s", start_s, minimum=0.0)
    dt_s = delta_t_ms / 1000.0
    base = start_s + np.arange(pairs) / rate_hz
    if dt_s >= 0:
        pre, first_bap = base, base + dt_s
    else:
        first_bap, pre = base, base - dt_s
    post = np.sort((first_bap[:, None] + np.arange(baps)[None, :] * (bap_interval_ms / 1000.0))
                   .ravel(), kind="stable")
    return Protocol(name="stdp",
                    params={"delta_t_ms": delta_t_ms, "pairs": pairs, "rate_hz": rate_hz,
                            "baps_per_pair": baps, "bap_interval_ms": bap_interval_ms,
                            "start_s": start_s},
                    pre_spikes_s=pre, post_spikes_s=post)


def poisson(rate_hz: float, duration_s: float, seed: int, *, start_s: float = 0.0,
            depolarisation_mv: float = 0.0,
            depolarisation_tau_ms: float = DEPOLARISATION_TAU_MS) -> Protocol:
    """A homogeneous Poisson presynaptic train on [start_s, start_s + duration_s).

    Drawn once here with ``numpy.random.default_rng(seed)`` (a Poisson count, then sorted
    uniform times), so **every trajectory of an ensemble gets the same train**; only release
    is sampled per trajectory. For different trains per synapse, build one protocol per seed.
    ``Protocol.duration_s`` is the window end ``start_s + duration_s``, not the last spike.
    NumPy does not promise the same stream across versions; the spike times themselves are
    kept in the provenance (:meth:`Protocol.to_dict`).
    """
    rate_hz = _real("poisson(): rate_hz", rate_hz, minimum=0.0, strict=True, example="5.0")
    duration = _real("poisson(): duration_s", duration_s, minimum=0.0, strict=True,
                     example="60.0")
    seed = _count("poisson(): seed", seed, minimum=0, example="1")
    depolarisation_mv, depolarisation_tau_ms = _depolarisation("poisson", depolarisation_mv,
                                                               depolarisation_tau_ms)
    start_s = _real("poisson(): start_s", start_s, minimum=0.0)
    # the count drawn is within 10 standard deviations of its mean (far beyond any draw)
    mean = rate_hz * duration
    _check_size("poisson()", [("expected spikes", mean + 10 * math.sqrt(mean))])
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate_hz * duration)
    times = start_s + np.sort(rng.uniform(0.0, duration, n))
    return Protocol(name="poisson",
                    params={"rate_hz": rate_hz, "duration_s": duration, "seed": seed,
                            "start_s": start_s, "depolarisation_mv": depolarisation_mv,
                            "depolarisation_tau_ms": depolarisation_tau_ms},
                    pre_spikes_s=times, depolarisation_mv=depolarisation_mv,
                    depolarisation_tau_ms=depolarisation_tau_ms, duration_s=start_s + duration)


def voltage_clamp(steps) -> Protocol:
    """A voltage clamp as steps ``[(t_s, mV), …]``: V = mV from t_s until the next step.

    A voltage of NaN or None releases the clamp from that time (the membrane equation runs
    again). Before the first step the membrane is free. Times strictly increasing.
    """
    if isinstance(steps, np.ndarray):
        steps = steps.tolist()
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or not steps:
        raise ProtocolError("voltage_clamp(): steps must be a non-empty list of (t_s, mV) "
                            "pairs, e.g. [(0.0, -70.0), (0.01, 40.0)]")
    _check_size("voltage_clamp()", [("steps", len(steps))])
    times, volts = [], []
    for i, step in enumerate(steps):
        if isinstance(step, (str, bytes)) or not isinstance(step, Sequence) or len(step) != 2:
            raise ProtocolError(f"voltage_clamp(): step {i} must be a pair (t_s, mV), got "
                                f"{step!r}")
        times.append(_real(f"voltage_clamp(): time of step {i}", step[0], minimum=0.0))
        v = step[1]
        if v is None or (isinstance(v, float) and math.isnan(v)):
            volts.append(math.nan)
        else:
            volts.append(_real(f"voltage_clamp(): voltage of step {i}", v,
                               example="-70.0 (mV), or None to release"))
    return Protocol(name="voltage_clamp",
                    params={"steps": [[t, None if math.isnan(v) else v]
                                      for t, v in zip(times, volts)]},
                    clamp_times_s=times, clamp_mv=volts)


def voltage_step(hold_mv: float, step_mv: float, step_at_s: float,
                 step_until_s: float | None = None) -> Protocol:
    """Clamp at ``hold_mv`` from 0 s, step to ``step_mv`` at ``step_at_s``, and back to
    ``hold_mv`` at ``step_until_s`` if given (else the step holds)."""
    hold_mv = _real("voltage_step(): hold_mv", hold_mv, example="-70.0")
    step_mv = _real("voltage_step(): step_mv", step_mv, example="40.0")
    step_at_s = _real("voltage_step(): step_at_s", step_at_s, minimum=0.0, strict=True,
                      example="0.01 (the clamp holds at hold_mv from 0 s)")
    steps = [(0.0, hold_mv), (step_at_s, step_mv)]
    if step_until_s is not None:
        step_until_s = _real("voltage_step(): step_until_s", step_until_s, minimum=step_at_s,
                             strict=True)
        steps.append((step_until_s, hold_mv))
    protocol = voltage_clamp(steps)
    return dataclasses.replace(protocol, name="voltage_step",
                               params={"hold_mv": hold_mv, "step_mv": step_mv,
                                       "step_at_s": step_at_s, "step_until_s": step_until_s})


# -- pharmacology -------------------------------------------------------------------------------

def _drug(name: str, params: dict, start_s: float, parameters: dict | None, note: str,
          **changes) -> Protocol:
    """A drug applied once at ``start_s``: one intervention setting ``parameters`` (if not
    None) and the other intervention keys in ``changes`` (``rates``, ``add``, ...)."""
    start_s = _real(f"{name}(): start_s", start_s, minimum=0.0)
    intervention = {"time": start_s}
    if parameters is not None:
        intervention["parameters"] = parameters
    intervention.update(changes)
    intervention["note"] = note
    return Protocol(name=name, params={**params, "start_s": start_s},
                    interventions=(intervention,))


def apv(*, start_s: float = 0.0, fraction: float = 1.0) -> Protocol:
    """APV (D-AP5), a competitive NMDAR antagonist, from ``start_s``: sets the spine-model
    parameter ``APV_PARAMETER`` (``"apv_fraction"``) to ``fraction`` (0–1, the fraction of
    NMDARs antagonised). Combine with a stimulus: ``combine(lfs(), apv())`` (docs/science.md V8)."""
    fraction = _real("apv(): fraction", fraction, minimum=0.0, maximum=1.0, example="1.0")
    return _drug("apv", {"fraction": fraction}, start_s, {APV_PARAMETER: fraction},
                 f"APV: {fraction:g} of NMDARs antagonised")


def mg_free(*, start_s: float = 0.0) -> Protocol:
    """Mg²⁺-free bath from ``start_s``: ``MG_PARAMETER`` (``"Mg_out"``) = ``"0 mM"``."""
    return _drug("mg_free", {}, start_s, {MG_PARAMETER: "0 mM"}, "Mg-free bath")


def magnesium(mM: float, *, start_s: float = 0.0) -> Protocol:
    """Extracellular [Mg²⁺] = ``mM`` from ``start_s`` (``MG_PARAMETER``, ``"Mg_out"``)."""
    mM = _real("magnesium(): mM", mM, minimum=0.0, example="1.0")
    return _drug("magnesium", {"mM": mM}, start_s, {MG_PARAMETER: f"{mM!r} mM"},
                 f"[Mg2+]o = {mM:g} mM")


def extracellular_calcium(mM: float, *, start_s: float = 0.0) -> Protocol:
    """Extracellular [Ca²⁺] = ``mM`` from ``start_s`` (``CA_PARAMETER``, ``"Ca_out"``)."""
    mM = _real("extracellular_calcium(): mM", mM, minimum=0.0, example="2.5")
    return _drug("extracellular_calcium", {"mM": mM}, start_s, {CA_PARAMETER: f"{mM!r} mM"},
                 f"[Ca2+]o = {mM:g} mM")


def block_exocytosis(*, start_s: float = 0.0) -> Protocol:
    """AMPA-receptor exocytosis blocked from ``start_s`` (as by tetanus toxin or
    N-ethylmaleimide): ``EXOCYTOSIS_PARAMETER`` (``"k_exo"``) = 0, which stops every
    exocytosis rule of the trafficking module (V18; docs/trafficking.md)."""
    return _drug("block_exocytosis", {}, start_s, {EXOCYTOSIS_PARAMETER: "0 /s"},
                 "AMPAR exocytosis blocked")


def block_endocytosis(*, start_s: float = 0.0) -> Protocol:
    """AMPA-receptor endocytosis blocked from ``start_s`` (as by a dynamin inhibitory
    peptide, Lüscher et al. 1999): ``ENDOCYTOSIS_PARAMETER`` (``"k_endo"``) = 0 (V18)."""
    return _drug("block_endocytosis", {}, start_s, {ENDOCYTOSIS_PARAMETER: "0 /s"},
                 "AMPAR endocytosis blocked")


def block_calcineurin(*, start_s: float = 0.0) -> Protocol:
    """Calcineurin (PP2B) blocked from ``start_s``, as by FK506 or cyclosporin A (Mulkey et
    al. 1994; docs/science.md §9 V8): sets ``CALCINEURIN_BLOCK_PARAMETERS``, which stops
    every catalytic action of Ca²⁺/CaM-bound calcineurin in the spine model (I1P and S845
    dephosphorylation, calcineurin-driven endocytosis). Combine with a stimulus:
    ``combine(lfs(), block_calcineurin())``.

    References
    ----------
    Mulkey RM, Endo S, Shenolikar S, Malenka RC (1994) Nature 369:486–488.
    doi:10.1038/369486a0
    """
    return _drug("block_calcineurin", {}, start_s, dict(CALCINEURIN_BLOCK_PARAMETERS),
                 "calcineurin blocked (FK506-like)")


def block_pp1(*, start_s: float = 0.0) -> Protocol:
    """PP1 blocked from ``start_s``, as by okadaic acid or calyculin A loaded into the cell
    (Mulkey et al. 1993; docs/science.md §9 V8): sets ``PP1_BLOCK_PARAMETERS`` (slot, S831
    and S845 dephosphorylation) and ``PP1_BLOCK_RATES`` (PP1 binding to pT286). PP1's
    binding to I1P is left: the inhibitor's target is the catalytic site.

    References
    ----------
    Mulkey RM, Herron CE, Malenka RC (1993) Science 261:1051–1055.
    doi:10.1126/science.8394601
    """
    return _drug("block_pp1", {}, start_s, dict(PP1_BLOCK_PARAMETERS),
                 "PP1 blocked (okadaic-acid-like)", rates=dict(PP1_BLOCK_RATES))


def bapta(*, mM: float = 1.0, start_s: float = 0.0) -> Protocol:
    """A BAPTA-like fast Ca²⁺ buffer loaded at ``start_s``: adds ``mM`` of the spine model's
    fast buffer (``BUFFER_SPECIES``, Ca²⁺-free) to the spine (docs/science.md §9 V8: LTD
    is blocked by postsynaptic BAPTA, Mulkey & Malenka 1992).

    The added buffer has the fast buffer's kinetics (k_on 247 /µM/s, K_d 2.1 µM), close to
    BAPTA's fast binding (k_on ≈ 400 /µM/s) but with a 10× weaker affinity (BAPTA's
    K_d ≈ 0.2 µM), so 1 mM raises the buffer capacity κ_B by about 1000/2.1 ≈ 470, ~10×
    the spine's own (docs/science.md §5) and the Ca²⁺ transient falls accordingly. It
    enters Ca²⁺-free and takes up Ca²⁺ until equilibrium: load it before the warm-up
    ends (the analysis scripts add it at 0 s).

    References
    ----------
    Mulkey RM, Malenka RC (1992) Neuron 9:967–975. doi:10.1016/0896-6273(92)90248-C
    """
    mM = _real("bapta(): mM", mM, minimum=0.0, strict=True, example="1.0")
    return _drug("bapta", {"mM": mM}, start_s, None, f"BAPTA-like buffer, +{mM:g} mM",
                 add={BUFFER_SPECIES: f"{mM!r} mM"})


GENERATORS: dict[str, Callable[..., Protocol]] = {
    "spikes": spikes, "train": train, "hfs": hfs, "tbs": tbs, "lfs": lfs, "stdp": stdp,
    "poisson": poisson, "voltage_clamp": voltage_clamp, "voltage_step": voltage_step,
    "apv": apv, "mg_free": mg_free, "extracellular_calcium": extracellular_calcium,
    "magnesium": magnesium, "block_exocytosis": block_exocytosis,
    "block_endocytosis": block_endocytosis, "block_calcineurin": block_calcineurin,
    "block_pp1": block_pp1, "bapta": bapta,
}
"""Protocol generators by name, as used by :func:`parse` (and the command line)."""


# -- the command-line form ----------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+\Z")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNTAX = ("write NAME or NAME:key=value,key=value and join protocols with '+', e.g. "
           "'hfs:trains=4+apv'")


def _number(text: str, where: str):
    if _INT.match(text) and len(text) <= 30:
        return int(text)
    if _NUMBER.match(text):
        return float(text)
    if text.lower() == "nan":
        return math.nan
    raise ProtocolError(f"{where}: {text!r} is not a number; write a plain decimal number such "
                        "as 100, -10, 0.01 or 2.5e-3 (no units: the unit is in the name, "
                        "e.g. delta_t_ms)")


def _value(text: str, where: str):
    """``1.5`` → float, ``2`` → int, ``0;0.01`` → list, ``0:-70;0.01:40`` → pairs."""
    if not text:
        raise ProtocolError(f"{where}: no value after '='")
    items = []
    for item in text.split(";"):
        item = item.strip()
        if ":" in item:
            items.append(tuple(_number(part.strip(), where) for part in item.split(":")))
        else:
            items.append(_number(item, where))
    if len(items) > 1 or isinstance(items[0], tuple):
        return items
    return items[0]


def _parse_one(part: str, text: str) -> Protocol:
    name, colon, arguments = part.partition(":")
    name = name.strip()
    if not _NAME.match(name):
        raise ProtocolError(f"{name!r} in {text!r} is not a protocol name; {_SYNTAX}")
    if name not in GENERATORS:
        raise ProtocolError(f"unknown protocol {name!r}.{_suggest(name, GENERATORS)} "
                            f"Valid protocols: {', '.join(sorted(GENERATORS))}")
    signature = inspect.signature(GENERATORS[name])
    valid = list(signature.parameters)
    kwargs: dict[str, Any] = {}
    if colon:
        if not arguments.strip():
            raise ProtocolError(f"nothing after '{name}:' in {text!r}; {_SYNTAX}")
        for item in arguments.split(","):
            key, equals, raw = item.partition("=")
            key = key.strip()
            if not equals:
                raise ProtocolError(f"{item.strip()!r} in {text!r} is not key=value; {_SYNTAX}")
            if key not in valid:
                raise ProtocolError(f"protocol {name!r} has no parameter {key!r}."
                                    f"{_suggest(key, valid)} Valid parameters: "
                                    f"{', '.join(valid) or 'none'}")
            if key in kwargs:
                raise ProtocolError(f"{name}: {key!r} is given twice in {text!r}")
            kwargs[key] = _value(raw.strip(), f"protocol {name!r}, parameter {key!r}")
    missing = [p for p, spec in signature.parameters.items()
               if spec.default is inspect.Parameter.empty and p not in kwargs]
    if missing:
        example = ",".join(f"{p}=..." for p in missing)
        raise ProtocolError(f"protocol {name!r} needs {', '.join(repr(p) for p in missing)}; "
                            f"write e.g. '{name}:{example}'")
    return GENERATORS[name](**kwargs)


def parse(text: str) -> Protocol:
    """A protocol from its command-line form.

    ``NAME`` or ``NAME:key=value,key=value``; protocols joined with ``+`` are overlaid
    with :func:`combine`. Values are plain numbers (``100``, ``-10``, ``2.5e-3``, ``nan``),
    lists separated by ``;`` (``spikes:pre_s=0;0.01;0.02``) and pairs written ``t:mV``
    (``voltage_clamp:steps=0:-70;0.01:40;0.05:nan``). Nothing is evaluated.

    Examples
    --------
    >>> parse("hfs")
    >>> parse("tbs:trains=4")
    >>> parse("stdp:delta_t_ms=-10,pairs=60")
    >>> parse("lfs:rate_hz=3,pulses=900+apv")

    Raises
    ------
    ProtocolError
        For an unknown name or key (listing the valid ones, with a close match), a value
        that is not a number, or a missing required argument.
    """
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError(f"empty protocol {text!r}; {_SYNTAX}")
    # '+' joins protocols only before a name: '+10' and '1e+3' stay numbers
    parts = re.split(r"\+(?=\s*[A-Za-z_])", text.strip())
    protocols = [_parse_one(part.strip(), text) for part in parts]
    return protocols[0] if len(protocols) == 1 else combine(*protocols)
