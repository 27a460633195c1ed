"""Units: the one place that knows about pint, Avogadro's number and volumes.

Quantities in model files are converted once, when the model is built, to the engine's
canonical units: molecule counts, seconds, millivolts, and stochastic rate constants in
1/s. Text such as ``"6.8 /uM/s"`` is read by :mod:`stochsyn.model.expressions` (never by
pint's own string parser); each name in it is looked up first among the model's
parameters and only then among pint's units, so **a parameter shadows a unit of the same
name** (a parameter called ``s`` would make ``"0.05 /s"`` mean 0.05 divided by it).
Beware that many short names are pint units: ``s``, ``h``, ``a`` (year), ``k`` (Boltzmann
constant), ``kd`` (kiloday), ``P`` (poise), ``A`` (ampere), ``M`` (molar), ``e``...;
a misspelt parameter that happens to be a unit is usually caught later by a dimension
check.

The pint ``UnitRegistry`` is created lazily, on the first quantity with a unit: a model
written only with plain numbers never imports pint.
"""

from __future__ import annotations

import math
import numbers
import re
import sys
import threading
from typing import Any, Mapping, Sequence

from .errors import ExpressionError, ModelError, UnitError, closest, shorten
from .expressions import parse

__all__ = ["AVOGADRO", "MAX_COUNT", "registry", "registry_created", "resolve_unit", "unit_of",
           "readable", "display", "bare_number_unit",
           "evaluate_quantity", "evaluate_parameters", "stochastic_rate_constant",
           "molecule_count", "molecules", "volume_litre", "seconds", "millivolts", "electrical"]

AVOGADRO = 6.02214076e23
"""Avogadro constant in 1/mol (exact since the 2019 SI)."""

MAX_COUNT = 2 ** 53
"""Largest molecule count (or stoichiometry, or agent capacity) a model may hold: the
engine counts in int64 and computes propensities in float64, exact up to 2^53."""

_REGISTRY = None                      # the pint UnitRegistry, once created
_UNIT_CACHE: dict[str, Any] = {}      # name -> Quantity of magnitude 1.0, or None
_UNIT_TEXT_CACHE: dict[str, Any] = {}  # unit text -> Quantity of magnitude 1 (unit_of)
_LOCK = threading.Lock()


def registry():
    """Return the module's pint ``UnitRegistry``, creating it on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        with _LOCK:
            if _REGISTRY is None:
                import pint
                _UNIT_CACHE.clear()
                _UNIT_TEXT_CACHE.clear()
                _PREFERRED.clear()
                _REGISTRY = _new_registry(pint)
    return _REGISTRY


def _new_registry(pint):
    """pint's registry, from its on-disk cache of the parsed unit definitions when it can
    (``cache_folder=":auto:"``, the user's cache folder): parsing them costs ~0.2 s at every
    start-up, a third of a small run's. Without a usable cache folder, parsed afresh."""
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except Exception:       # noqa: BLE001 - no cache folder, a broken cache: parse instead
        return pint.UnitRegistry()


def registry_created() -> bool:
    """Whether the pint registry has been created (pint is imported only then)."""
    return _REGISTRY is not None


def _is_name(name: str) -> bool:
    return (isinstance(name, str) and name != "" and (name[0].isalpha() or name[0] == "_")
            and all(ch.isalpha() or ch.isdecimal() or ch == "_" for ch in name))


def resolve_unit(name: str):
    """Look up a unit name such as ``uM``, ``µM``, ``fL``, ``um``, ``ms``, ``min``,
    ``molecule`` or ``nmol`` (SI prefixes and plurals included).

    Returns
    -------
    pint.Quantity or None
        The unit as a quantity of magnitude 1.0, or None if pint does not know the name.
        Only names as the expression parser reads them are looked up; nothing else.
    """
    if not _is_name(name):
        return None
    ureg = registry()
    if name not in _UNIT_CACHE:
        import pint
        try:
            _UNIT_CACHE[name] = ureg.Quantity(1.0, ureg.get_name(name))
        except (pint.errors.PintError, AttributeError, KeyError, TypeError, ValueError):
            _UNIT_CACHE[name] = None
    return _UNIT_CACHE[name]


def _is_quantity(value) -> bool:
    pint = sys.modules.get("pint")
    return pint is not None and isinstance(value, pint.Quantity)


def _own(quantity):
    """A pint Quantity made in another registry, rebuilt in ours."""
    ureg = registry()
    if getattr(quantity, "_REGISTRY", None) is ureg:
        return quantity
    import pint
    return ureg.Quantity(quantity.magnitude, pint.util.UnitsContainer(dict(quantity.unit_items())))


def _show(value, text=None) -> str:
    """``3 /µM/s``; with the written text too when it differs: ``'k_on*kd' (= 13.6 /s)``."""
    if _is_quantity(value):
        ureg, top, bottom = registry(), [], []
        for name, exponent in value.unit_items():
            power = "" if abs(exponent) == 1 else f"^{abs(exponent):g}"
            (top if exponent > 0 else bottom).append(ureg.get_symbol(name) + power)
        shown = f"{value.magnitude:g} " + "*".join(top) + "".join("/" + b for b in bottom)
    else:
        shown = f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(text, str):
        def squash(t):
            return "".join(t.split()).replace("µ", "u").replace("μ", "u").replace("**", "^")
        return f"'{text.strip()}'" + ("" if squash(text) == squash(shown) else f" (= {shown})")
    return f"'{shown}'"


def _plain(value, source, where):
    """A float (or pint Quantity) for a value taken from a parameter or given directly."""
    scalar = value.magnitude if _is_quantity(value) else value
    if isinstance(scalar, bool) or not isinstance(scalar, numbers.Real):
        raise ModelError(f"expected a number or a quantity such as '0.05 /s', got "
                         f"{type(value).__name__} {value!r}", source=source, where=where)
    return float(value) if isinstance(value, numbers.Real) else _own(value)


def evaluate_quantity(value, *, parameters: Mapping[str, Any] | None = None,
                      source: str | None = None, where: str | None = None):
    """Evaluate a number or an expression with units.

    Parameters
    ----------
    value : int, float, str or pint.Quantity
        A plain number passes through as a float; a string is parsed with
        :func:`stochsyn.model.expressions.parse` and evaluated.
    parameters : mapping of str to float or pint.Quantity, optional
        Already evaluated parameters (see :func:`evaluate_parameters`). Names are looked
        up here first and only then among units, so parameters shadow units.
    source, where : str, optional
        File (or ``"<dict>"``) and location, for error messages.

    Returns
    -------
    float or pint.Quantity
        A float when the result is a dimensionless number.

    Raises
    ------
    ExpressionError
        Unreadable text or an unknown name (with a close match among the parameters).
    UnitError
        Adding or subtracting quantities of different dimensions.
    ModelError
        Not a number or a string, or a result that is not finite.
    """
    params = parameters or {}
    if isinstance(value, str):
        def resolve(name):
            if name in params:
                return _plain(params[name], source, where)
            unit = resolve_unit(name)
            if unit is None:
                close = closest(name, params)
                hint = "Define it under [parameters]"
                if close:
                    hint = f"Did you mean '{close}'? {hint}."
                else:
                    hint += " (or, if it is a unit, check its spelling: e.g. uM, fL, ms, min)."
                raise ExpressionError(f"unknown name {name!r}", hint=hint)
            return unit
        try:
            result = _evaluate_text(value, resolve)
        except ModelError as error:
            raise error.locate(source=source, where=where)
    else:
        result = _plain(value, source, where)
    if _is_quantity(result):
        try:
            # pint computes conversion factors with float powers: a unit raised to a huge
            # power ('uM^1e300') overflows here, once, instead of in every later conversion
            result.to_base_units()
            if result.dimensionless:
                result = float(result.to("dimensionless").magnitude)
        except ArithmeticError:
            raise ExpressionError(f"the unit of {_brief(value)} is out of range (a unit "
                                  "raised to a huge power?)", source=source, where=where,
                                  hint="units take small powers, e.g. 'uM^-1' or 'um^3'"
                                  ) from None
    magnitude = result.magnitude if _is_quantity(result) else result
    if isinstance(magnitude, complex) or not math.isfinite(magnitude):
        raise ModelError(f"the value {_show(result, value)} is not a finite number",
                         source=source, where=where,
                         hint="numbers stay below about 1e308; check the exponents")
    return result


def unit_of(text: str):
    """The quantity 1 of a unit written as text (``"mM"``, ``"mV"``, ``"uM/s"``; ``"1"`` and
    ``"dimensionless"`` for none), read by the expression parser, never by pint's.

    Raises
    ------
    ModelError
        ``text`` is not a string, names something that is not a unit, or has a number
        other than 1 (``"2 mM"``); the caller adds where it is.
    """
    if not isinstance(text, str):
        raise UnitError(f"a unit must be text such as \"mM\", not {type(text).__name__}")
    if text.strip() in ("1", "dimensionless"):
        return registry().Quantity(1, "dimensionless")
    if text not in _UNIT_TEXT_CACHE:
        value = evaluate_quantity(text)
        if not _is_quantity(value) or value.magnitude != 1:
            raise UnitError(f"{_brief(text)} is not a unit", hint="write a unit alone, e.g. "
                            "\"mM\", \"mV\" or \"1\" (no number)")
        _UNIT_TEXT_CACHE[text] = value
    return _UNIT_TEXT_CACHE[text]


#: The unit a value is shown in (and a bare number for it is read in) when the units it was
#: computed in are not fit to show: fractional powers, π, one dimension in two units. By
#: dimension; anything else is shown in SI base units.
_PREFERRED_UNITS = ("1/s", "s", "um", "um^2", "fL", "molecule", "uM", "molecule/um^2", "mV",
                    "pS", "pF", "megaohm", "pA", "um^2/s", "1/uM/s", "uM/s", "molecule/s",
                    "uF/cm^2", "S/cm^2", "K")
_PREFERRED: dict = {}
_LITRE_SYMBOL_RE = re.compile(r"(?<![A-Za-zµ])(Y|Z|E|P|T|G|M|k|h|da|d|c|m|µ|n|p|f|a|z|y)?l"
                              r"(?![A-Za-z])")


def _preferred(dimensionality):
    if not _PREFERRED:
        for text in _PREFERRED_UNITS:
            _PREFERRED.setdefault(unit_of(text).dimensionality, unit_of(text).units)
    return _PREFERRED.get(dimensionality)


def readable(quantity):
    """``quantity`` in units fit to show and to read a bare number in.

    Its own units reduced to one unit per dimension (pint's ``to_reduced_units``: ``60
    /min`` stays ``60 1/min``, ``k_on * Kd`` in ``1/µM/s·µM`` becomes ``1/s``) when they are
    whole powers of named units and the number is between 0.001 and 10^6; otherwise
    (``1e-16 L``; ``L^0.333333/π^0.333333``, the cube root of a volume) the unit of its
    dimension from a short list (1/s, s, µm, fL, µM, mV, pS, ...), or SI base units, with
    powers within 1e-4 of a whole number rounded to it.

    Parameters
    ----------
    quantity : pint.Quantity

    Returns
    -------
    pint.Quantity
        The same value (to rounding) in the chosen units.
    """
    ureg = registry()
    quantity = _own(quantity)
    try:
        reduced = quantity.to_reduced_units()
        items = dict(reduced.unit_items())
        if "pi" not in items and all(float(e).is_integer() for e in items.values()):
            unit = _preferred(reduced.dimensionality)
            if unit is None or 1e-3 <= abs(reduced.magnitude) < 1e6 or reduced.magnitude == 0:
                return reduced
            # '1e-16 L' is better read as 0.1 fL (and a bare number for it in fL)
            preferred = reduced.to(unit)
            return preferred if 1e-3 <= abs(preferred.magnitude) < 1e6 else reduced
        base = quantity.to_base_units()
    except ArithmeticError:
        return quantity
    import pint
    exponents = dict(base.unit_items())
    rounded = {name: round(e) for name, e in exponents.items()}
    if any(abs(e - rounded[name]) > 1e-4 for name, e in exponents.items()):
        return base
    whole = ureg.Quantity(base.magnitude, pint.util.UnitsContainer(
        {name: e for name, e in rounded.items() if e}))
    unit = _preferred(whole.dimensionality)
    return whole.to(unit) if unit is not None else whole


def display(value) -> str:
    """A value for people: ``0.05 1/s``, ``641.9 1/ms``, ``0.287 µm``, ``2 µM``, ``1.5``.

    Quantities are shown in :func:`readable` units with short symbols, powers written
    ``^`` (``µm^2``, as in model files); plain numbers with 6 significant digits.
    """
    if not _is_quantity(value):
        return f"{value:.6g}" if isinstance(value, float) else str(value)
    shown = readable(value)
    unit = format(shown.units, "~C").replace("**", "^")
    unit = _LITRE_SYMBOL_RE.sub(r"\1L", unit)            # fL, as the field writes it (not fl)
    return f"{shown.magnitude:.6g} {unit}".rstrip()


def bare_number_unit(value) -> str | None:
    """The unit a bare number given for a parameter whose value is ``value`` is read in: the
    units :func:`display` shows it in, as text the expression parser reads
    (``"1 / minute"``); None for a plain number (a bare number stays plain)."""
    if not _is_quantity(value):
        return None
    return str(readable(value).units)


def _brief(value) -> str:
    """A value for a message: a string quoted, shortened if long."""
    return repr(shorten(value)) if isinstance(value, str) else repr(value)


def _evaluate_text(text, resolve):
    expr = parse(text)
    try:
        return expr.evaluate(resolve)
    except TypeError as error:           # pint's DimensionalityError is a TypeError
        pint = sys.modules.get("pint")
        if pint is None or not isinstance(error, pint.errors.PintError):
            raise
        if isinstance(error, pint.errors.DimensionalityError):
            raise UnitError(f"cannot add or subtract '{error.units1}' and '{error.units2}' in "
                            f"{text!r}: their dimensions differ ({error.dim1} vs "
                            f"{error.dim2})") from None
        raise UnitError(f"{error} (in {text!r})") from None


def evaluate_parameters(raw: Mapping[str, Any], *, source: str | None = None) -> dict:
    """Evaluate a ``[parameters]`` table whose entries may refer to each other.

    Parameters
    ----------
    raw : mapping of str to number, str or pint.Quantity
        E.g. ``{"k_on": "6.8 /uM/s", "kd": "2 uM", "k_off": "k_on * kd"}``, in any order.
    source : str, optional
        File (or ``"<dict>"``), for error messages.

    Returns
    -------
    dict of str to float or pint.Quantity
        In the order of ``raw``.

    Raises
    ------
    ModelError
        A name unusable in expressions, or parameters defined in terms of each other.
    """
    done: dict[str, Any] = {}

    def visit(name, chain):
        where = f"parameter '{name}'"
        if name in chain:
            cycle = " -> ".join(chain[chain.index(name):] + [name])
            raise ModelError(f"parameters are defined in terms of each other: {cycle}",
                             source=source, where=where)
        value = raw[name]
        if isinstance(value, str):
            try:
                names = parse(value).names
            except ModelError as error:
                raise error.locate(source=source, where=where)
            for dep in sorted(names & set(raw)):
                if dep not in done:
                    visit(dep, chain + [name])
        done[name] = evaluate_quantity(value, parameters=done, source=source, where=where)

    for name in raw:
        if not _is_name(name):
            raise ModelError(f"the parameter name {name!r} cannot be used in expressions",
                             source=source, where=f"parameter {name!r}",
                             hint="use letters, digits and '_', starting with a letter")
        if name not in done:
            visit(name, [])
    return {name: done[name] for name in raw}


def _quantity(value, parameters, source, where):
    return evaluate_quantity(value, parameters=parameters, source=source, where=where)


def _dims(unit_expression: str):
    return registry().get_dimensionality(unit_expression)


def _order_text(n: int) -> str:
    ordinal = {0: "zeroth", 1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")
    if n == 0:
        return ("a zeroth-order rate needs 1/s (events per second), concentration·time⁻¹ "
                "such as uM/s, or amount·time⁻¹ such as molecule/s")
    if n == 1:
        return "a first-order rate needs 1/s (time⁻¹) such as '0.05 /s' or '1/(20 min)'"
    group = {2: "pair", 3: "triple"}.get(n, f"set of {n}")
    power = str(1 - n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    per = "" if n == 2 else f"^{n - 1}"
    return (f"a {ordinal}-order rate needs 1/s (per {group} of molecules), "
            f"concentration{power}·time⁻¹ such as /uM{per}/s, or amount{power}·time⁻¹ such "
            f"as /molecule{per}/s")


def _check_volume(volume, what, shown, source, where):
    if volume is None:
        raise UnitError(f"{what} {shown} uses concentration units, which need the "
                        "compartment volume", source=source, where=where,
                        hint='set volume under [model], e.g. volume = "0.1 fL"')
    if not (math.isfinite(volume) and volume > 0):
        raise ModelError(f"the volume must be a finite number of litres > 0, got {volume!r}",
                         source=source, where=where)
    return float(volume)


def stochastic_rate_constant(value, *, reactant_orders: Sequence[int],
                             volume_litre: float | None, source: str | None = None,
                             where: str | None = None,
                             parameters: Mapping[str, Any] | None = None) -> float:
    """Convert a written rate to the stochastic constant ``c`` of the propensity
    ``a(x) = c · Π_s C(x_s, ν_s)`` (see docs/model-format.md).

    * a plain number or a quantity of dimension 1/time is ``c`` itself, whatever the order;
    * a concentration-based constant ``k`` (dimension concentration^(1−n)/time, n = Σν)
      gives ``c = k · Ω^(1−n) · Π ν!`` with ``Ω = N_A · volume`` (molecules per mol/L);
    * an amount-based constant (amount^(1−n)/time, e.g. ``/molecule/s``, ``/nmol/s``)
      gives the same with ``Ω = N_A``.

    Parameters
    ----------
    value : float, str or pint.Quantity
        The written rate, e.g. ``"6.8 /uM/s"``.
    reactant_orders : sequence of int
        Stoichiometry ``ν_s`` of each distinct reactant (empty for ``-> X``). For a
        neighbour rule, include one more ``1`` for the ring pair.
    volume_litre : float or None
        Compartment volume; needed only for concentration units.
    source, where : str, optional
        For error messages.
    parameters : mapping, optional
        Evaluated parameters, when ``value`` is a string.

    Returns
    -------
    float
        ``c`` in 1/s (for a zeroth-order reaction: events per second).

    Raises
    ------
    UnitError
        A dimension that does not fit the order, or a concentration without a volume.
    ModelError
        A negative or non-finite rate.
    """
    orders = [int(order) for order in reactant_orders]
    if any(order < 0 for order in orders):
        raise ValueError(f"reactant orders must be >= 0, got {orders}")
    n = sum(orders)
    rate = _quantity(value, parameters, source, where)
    shown = _show(rate, value)
    if not _is_quantity(rate):
        c = float(rate)
    elif rate.dimensionality == _dims("1/[time]"):
        c = float(rate.to("1/s").magnitude)
    elif n != 1 and rate.dimensionality == _dims(f"[concentration]**{1 - n}/[time]"):
        omega = AVOGADRO * _check_volume(volume_litre, "the rate", shown, source, where)
        k = float(rate.to(registry().molar ** (1 - n) / registry().second).magnitude)
        c = k * omega ** (1 - n) * math.prod(math.factorial(order) for order in orders)
    elif n != 1 and rate.dimensionality == _dims(f"[substance]**{1 - n}/[time]"):
        k = float(rate.to(registry().mole ** (1 - n) / registry().second).magnitude)
        c = k * AVOGADRO ** (1 - n) * math.prod(math.factorial(order) for order in orders)
    else:
        raise UnitError(f"{_order_text(n)}; got {shown}", source=source, where=where)
    if not math.isfinite(c) or c < 0:
        raise ModelError(f"a rate constant must be a finite number >= 0, got {shown}",
                         source=source, where=where,
                         hint="use 0 to switch a reaction off; for a reverse direction "
                              "write a second reaction")
    return c


def molecule_count(value, *, volume_litre: float | None, source: str | None = None,
                   where: str | None = None, parameters: Mapping[str, Any] | None = None
                   ) -> int:
    """Convert an initial amount to a whole number of molecules.

    An int is the count itself; a float (or a dimensionless result) must be a whole number.
    A concentration ``c`` becomes ``round(c · N_A · volume)`` and an amount ``n`` (``mol``,
    ``nmol``, ``molecule``) becomes ``round(n · N_A)``, rounding to the nearest integer
    with Python's ``round`` (exact halves go to the even neighbour); so a small enough
    concentration becomes 0 molecules.

    Raises
    ------
    ModelError
        Negative, non-finite, or a plain number that is not whole.
    UnitError
        Any other dimension, or a concentration without a volume.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        count = int(value)
    else:
        amount = _quantity(value, parameters, source, where)
        shown = _show(amount, value)
        if not _is_quantity(amount):
            if amount != int(amount):
                raise ModelError(f"a molecule count must be a whole number, got {shown}",
                                 source=source, where=where,
                                 hint="give a concentration such as '0.05 uM' for a "
                                      "count computed from the volume")
            count = int(amount)
        elif amount.dimensionality == _dims("[concentration]"):
            volume = _check_volume(volume_litre, "the count", shown, source, where)
            count = round(float(amount.to("molar").magnitude) * AVOGADRO * volume)
        elif amount.dimensionality == _dims("[substance]"):
            count = round(float(amount.to("mole").magnitude) * AVOGADRO)
        else:
            raise UnitError(f"a molecule count needs a whole number, a concentration such as "
                            f"'0.05 uM' or an amount such as '10 nmol'; got {shown}",
                            source=source, where=where)
    if count < 0:
        raise ModelError(f"counts must be >= 0, got {count}", source=source, where=where,
                         hint="give a whole number of molecules >= 0 (or a concentration)")
    if count > MAX_COUNT:
        raise ModelError(f"a count of {count:.3g} molecules is more than the engine can hold "
                         f"(at most 2^53 = {MAX_COUNT})", source=source, where=where,
                         hint="check the unit and the compartment volume; an exact stochastic "
                              "simulation is meant for small copy numbers")
    return count


def molecules(value, *, what: str, volume_litre: float | None, source: str | None = None,
              where: str | None = None, parameters: Mapping[str, Any] | None = None
              ) -> float:
    """Convert a constant of a rate law that is an amount (a Michaelis constant, a
    half-activation constant) to molecules, without rounding.

    A plain number (or a dimensionless result) is a number of molecules; a concentration
    ``c`` becomes ``c · N_A · volume`` and an amount ``n`` (``mol``, ``molecule``)
    ``n · N_A``, as for initial counts but not rounded to a whole number.

    Parameters
    ----------
    what : str
        Name of the constant for the messages, e.g. ``"K_M (km)"``.

    Raises
    ------
    UnitError
        Any other dimension (e.g. ``"0.4 /s"``), or a concentration without a volume.
    ModelError
        Non-finite or <= 0.
    """
    amount = _quantity(value, parameters, source, where)
    shown = _show(amount, value)
    if not _is_quantity(amount):
        n = float(amount)
    elif amount.dimensionality == _dims("[concentration]"):
        volume = _check_volume(volume_litre, what, shown, source, where)
        n = float(amount.to("molar").magnitude) * AVOGADRO * volume
    elif amount.dimensionality == _dims("[substance]"):
        n = float(amount.to("mole").magnitude) * AVOGADRO
    else:
        raise UnitError(f"{what} needs a concentration such as '0.4 uM', an amount such as "
                        f"'24 molecule', or a plain number of molecules; got {shown}",
                        source=source, where=where)
    if not (math.isfinite(n) and n > 0):
        raise ModelError(f"{what} must be a finite amount > 0, got {shown}", source=source,
                         where=where, hint="give the concentration at which the law is "
                                           "half-maximal, e.g. '0.4 uM'")
    return n


def _convert(value, unit, dimension, what, examples, plain_ok, source, where, parameters):
    quantity = _quantity(value, parameters, source, where)
    if not _is_quantity(quantity):
        if not plain_ok:
            raise UnitError(f"{what} needs a unit, got the plain number "
                            f"{_show(quantity, value)}",
                            source=source, where=where, hint=f"write e.g. {examples}")
        return float(quantity)
    if quantity.dimensionality != _dims(dimension):
        raise UnitError(f"{what} needs a unit such as {examples}; got {_show(quantity, value)}",
                        source=source, where=where)
    return float(quantity.to(unit).magnitude)


def volume_litre(value, *, source: str | None = None, where: str | None = None,
                 parameters: Mapping[str, Any] | None = None) -> float:
    """Convert a volume (``"0.1 fL"``, ``"0.1 um^3"``, ``"1e-16 L"``) to litres (> 0).

    A plain number is refused (UnitError): litres and µm³ differ by 10^15.
    """
    litres = _convert(value, "liter", "[length]**3", "a volume", "'0.1 fL' or '0.1 um^3'",
                      False, source, where, parameters)
    if not litres > 0:
        raise ModelError(f"the volume must be > 0, got {litres:g} L", source=source,
                         where=where, hint="check the number and its unit, e.g. '0.1 fL'")
    return litres


def seconds(value, *, source: str | None = None, where: str | None = None,
            parameters: Mapping[str, Any] | None = None) -> float:
    """Convert a time (``"25 s"``, ``"100 ms"``, ``"2 min"``) to seconds; a plain number
    is already in seconds. The sign is not checked."""
    return _convert(value, "second", "[time]", "a time", "'25 s', '100 ms' or '2 min'",
                    True, source, where, parameters)


def millivolts(value, *, source: str | None = None, where: str | None = None,
               parameters: Mapping[str, Any] | None = None) -> float:
    """Convert a voltage (``"-70 mV"``, ``"0.02 V"``) to millivolts; a plain number is
    already in millivolts."""
    return _convert(value, "millivolt", "[electric_potential]", "a voltage",
                    "'-70 mV' or '0.02 V'", True, source, where, parameters)


def electrical(value, unit: str, *, what: str, examples: str, source: str | None = None,
               where: str | None = None, parameters: Mapping[str, Any] | None = None) -> float:
    """Convert a capacitance, conductance or resistance to the SI ``unit`` (``"farad"``,
    ``"siemens"``, ``"ohm"``). A unit is required: a plain number is an error, because
    the scales in use (pF, pS, MΩ) are 12 orders of magnitude from SI."""
    return _convert(value, unit, unit, what, examples, False, source, where, parameters)
