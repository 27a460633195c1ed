"""The temperature policy: rates measured at one temperature, used at the model's.

Every kinetic module states the temperature its rates were measured at and a Q10, in a
``[temperature]`` table (``docs/model-format.md``, "Temperature"; the policy and the
values of each module are in ``docs/science.md`` §0)::

    [temperature]
    measured = "23 degC"     # the temperature of the measurements the rates come from
    q10 = 2.0                # Q10 of every reaction this file defines ...
    [temperature.groups.mg_binding]
    q10 = 1.5                # ... except those of a group (optionally its own 'measured')
    reactions = ["nmda_mg_bind", "nmda_mg_unbind"]

A model states its temperature in ``[model] temperature = "35 degC"``. When it does, each
reaction a module defines has its rate constant c multiplied, when the model is built, by
``Q10 ** ((T_model - T_measured) / 10 °C)`` (NEURON's convention); the model's own
reactions are taken as written for the model's temperature unless the model file has its
own ``[temperature]`` table. A model that states a temperature refuses an included file
that defines reactions but no ``[temperature]``: silently mixing rates of two temperatures
is the defect the policy exists to prevent. A model that states no temperature uses every
rate as written (each module at its own measurement temperature), which is how a module
is run on its own to reproduce its source.

A group scales whole reactions: both directions of a reversible reaction and every
transition an agent rule expands to. Explicit ``rates`` of an intervention are stochastic
constants at the model's temperature and are not scaled.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import ModelError

__all__ = ["TemperatureScaling", "celsius", "check_declaration", "scaling"]

#: Keys of a file's [temperature] table and of one of its groups.
DECLARATION_KEYS = ("measured", "q10", "groups", "note")
GROUP_KEYS = ("measured", "q10", "reactions", "note")
#: Key of the composed spec's [temperature] table listing the included modules.
MODULES = "modules"

_TEMPERATURE_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                             r"(degC|°C|celsius|K|kelvin)\s*$")
_ZERO_CELSIUS_K = 273.15


@dataclass(frozen=True)
class TemperatureScaling:
    """The Q10 scaling of one group of reactions (a module, or a group inside it).

    Attributes
    ----------
    module : str
        The file that defines the reactions (as its includer names it), or the model file.
    group : str
        ``""`` for the module's default Q10, else the group's name.
    measured_c : float
        Temperature the rates were measured at (°C).
    q10 : float
        Factor per 10 °C (> 0).
    factor : float
        ``q10 ** ((T_model - measured_c) / 10)``; 1 when the model states no temperature.
    rules : tuple of str
        The ``[[reactions]]`` names the factor applies to.
    """

    module: str
    group: str
    measured_c: float
    q10: float
    factor: float
    rules: tuple[str, ...]


def celsius(value, *, source: str, where: str) -> float:
    """A temperature written as ``"35 degC"``, ``"35 °C"`` or ``"308.15 K"``, in °C.

    Raises
    ------
    ModelError
        A bare number (its scale is ambiguous), an unknown unit, or a temperature at or
        below absolute zero.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ModelError(f"a temperature must be a string such as \"35 degC\", got {value!r}",
                         source=source, where=where)
    if not isinstance(value, str):
        raise ModelError(f"the temperature {value!r} has no unit", source=source, where=where,
                         hint='write it with its scale: "35 degC" (or "35 °C") or "308.15 K"')
    match = _TEMPERATURE_RE.match(value)
    if not match:
        unit = value.strip().split()[-1] if value.strip() else ""
        raise ModelError(f"'{value}' is not a temperature stochsyn reads"
                         + (f" (unknown unit '{unit}')" if len(value.split()) == 2 else ""),
                         source=source, where=where,
                         hint='write a number and degC, °C or K, e.g. "35 degC" or '
                              '"308.15 K" (Fahrenheit is not accepted)')
    number, unit = float(match.group(1)), match.group(2)
    result = number - _ZERO_CELSIUS_K if unit in ("K", "kelvin") else number
    if not (math.isfinite(result) and result > -_ZERO_CELSIUS_K):
        raise ModelError(f"the temperature '{value}' is at or below absolute zero",
                         source=source, where=where,
                         hint='a kinetic temperature such as "35 degC"')
    return result


def _q10(value, *, source, where) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ModelError(f"q10 must be a number > 0, got {value!r}", source=source,
                         where=where,
                         hint="Q10 is the factor per 10 °C: about 2-3 for gating and "
                              "unblocking, 1.3-1.5 for diffusion-limited binding, 1 for a "
                              "temperature-independent rate")
    return float(value)


def check_declaration(table, *, own_reactions, source: str, where: str = "[temperature]"
                      ) -> None:
    """Check a file's ``[temperature]`` table against the reactions the file defines.

    Parameters
    ----------
    table : object
        The table as read from the file.
    own_reactions : collection of str
        Names of the reactions this file itself defines (not those of its includes).

    Raises
    ------
    ModelError
        Unknown keys, a missing or unreadable ``measured`` or ``q10``, a group naming a
        reaction the file does not define or a reaction in two groups.
    """
    if not isinstance(table, Mapping):
        raise ModelError("[temperature] must be a table with 'measured' and 'q10'",
                         source=source, where=where,
                         hint='e.g. [temperature] measured = "23 degC", q10 = 2')
    unknown = [k for k in table if k not in DECLARATION_KEYS]
    if unknown:
        raise ModelError(f"unknown key '{unknown[0]}' in [temperature]", source=source,
                         where=where, hint="allowed: " + ", ".join(DECLARATION_KEYS))
    for key in ("measured", "q10"):
        if key not in table:
            raise ModelError(f"[temperature] needs '{key}'", source=source, where=where,
                             hint='e.g. measured = "23 degC" (the temperature of the '
                                  'measurements the rates come from) and q10 = 2')
    celsius(table["measured"], source=source, where=f"{where} 'measured'")
    _q10(table["q10"], source=source, where=f"{where} 'q10'")
    groups = table.get("groups", {})
    if not isinstance(groups, Mapping):
        raise ModelError("[temperature] 'groups' must be a table of groups",
                         source=source, where=where,
                         hint='e.g. [temperature.groups.binding] q10 = 1.5, '
                              'reactions = ["ca_bind"]')
    seen: dict[str, str] = {}
    for name, group in groups.items():
        at = f"[temperature.groups.{name}]"
        if not isinstance(group, Mapping):
            raise ModelError(f"{at} must be a table", source=source, where=at)
        unknown = [k for k in group if k not in GROUP_KEYS]
        if unknown:
            raise ModelError(f"unknown key '{unknown[0]}' in {at}", source=source, where=at,
                             hint="allowed: " + ", ".join(GROUP_KEYS))
        if "q10" not in group and "measured" not in group:
            raise ModelError(f"{at} sets neither 'q10' nor 'measured'", source=source,
                             where=at, hint="a group exists to give its reactions another "
                                            "Q10 or measurement temperature")
        if "q10" in group:
            _q10(group["q10"], source=source, where=f"{at} 'q10'")
        if "measured" in group:
            celsius(group["measured"], source=source, where=f"{at} 'measured'")
        names = group.get("reactions")
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            raise ModelError(f"{at} needs 'reactions', a list of reaction names",
                             source=source, where=at, hint='e.g. reactions = ["ca_bind"]')
        for reaction in names:
            if reaction not in own_reactions:
                raise ModelError(
                    f"{at} names '{reaction}', which is not a reaction this file defines",
                    source=source, where=at,
                    hint="a file's [temperature] applies to its own [[reactions]] only"
                         + (" (" + ", ".join(sorted(own_reactions)[:12]) + ")"
                            if own_reactions else "; this file defines none"))
            if reaction in seen:
                raise ModelError(f"'{reaction}' is in two temperature groups: "
                                 f"{seen[reaction]} and {name}", source=source, where=at)
            seen[reaction] = name


def _groups(module: str, table: Mapping, rules: list[str], model_c: float | None,
            source: str) -> list[TemperatureScaling]:
    """The scalings of one declared file whose reactions are ``rules``."""
    measured = celsius(table["measured"], source=source, where=f"[temperature] of {module}")
    q10 = float(table["q10"])
    result = []
    grouped: set[str] = set()
    for name, group in table.get("groups", {}).items():
        g_measured = (celsius(group["measured"], source=source,
                              where=f"[temperature.groups.{name}] of {module}")
                      if "measured" in group else measured)
        g_q10 = float(group.get("q10", q10))
        members = tuple(r for r in group["reactions"] if r in rules)
        grouped.update(members)
        result.append(_one(module, name, g_measured, g_q10, model_c, members))
    rest = tuple(r for r in rules if r not in grouped)
    if rest or not result:
        result.insert(0, _one(module, "", measured, q10, model_c, rest))
    return result


def _one(module, group, measured_c, q10, model_c, rules) -> TemperatureScaling:
    factor = 1.0 if model_c is None else q10 ** ((model_c - measured_c) / 10.0)
    return TemperatureScaling(module, group, measured_c, q10, factor, tuple(rules))


def scaling(spec: Mapping[str, Any], reaction_labels: list[str], *, model_c: float | None,
            source: str) -> tuple[tuple[TemperatureScaling, ...], dict[str, float]]:
    """The Q10 scalings of a (composed) model spec.

    Parameters
    ----------
    spec : mapping
        The model dict; its ``temperature`` table holds the model file's own declaration
        (``measured``, ``q10``, ``groups``) and, after :func:`stochsyn.model.compose.compose`,
        ``modules``: one entry per included file that defines reactions, with its
        declaration (absent if it has none) and ``reactions``, the names of its reactions.
    reaction_labels : list of str
        The label of every ``[[reactions]]`` entry of the spec, in order.
    model_c : float or None
        The model's temperature (°C), None if it states none.

    Returns
    -------
    (tuple of TemperatureScaling, dict)
        The scalings for ``stochsyn info``, and reaction label -> factor (labels without a
        factor are not scaled).

    Raises
    ------
    ModelError
        An included file without ``[temperature]`` in a model that states a temperature.
    """
    table = spec.get("temperature", {})
    if not isinstance(table, Mapping):
        raise ModelError("[temperature] must be a table with 'measured' and 'q10'",
                         source=source, where="[temperature]")
    modules = table.get(MODULES, [])
    own = {k: v for k, v in table.items() if k != MODULES}
    result: list[TemperatureScaling] = []
    claimed: set[str] = set()
    for entry in modules:
        module, rules = entry["module"], list(entry["reactions"])
        claimed.update(rules)
        declaration = {k: v for k, v in entry.items() if k not in ("module", "reactions")}
        if not declaration:
            if model_c is not None:
                raise ModelError(
                    f"the model's temperature is {model_c:g} °C, but {module} (which defines "
                    f"{len(rules)} reaction{'s' if len(rules) != 1 else ''}: "
                    f"{', '.join(rules[:4])}{', ...' if len(rules) > 4 else ''}) does not "
                    "say at which temperature its rates were measured",
                    source=source, where="[model] 'temperature'",
                    hint=f"add to {module} a [temperature] table (measured = \"... degC\", "
                         "q10 = ...; q10 = 1 for temperature-independent rates), or remove "
                         "[model] temperature to use every rate as written")
            continue
        check_declaration(declaration, own_reactions=set(rules), source=module)
        result.extend(_groups(module, declaration, rules, model_c, source))
    if own:
        check_declaration(own, own_reactions=set(reaction_labels) - claimed, source=source)
        rules = [r for r in reaction_labels if r not in claimed]
        result.extend(_groups(source, own, rules, model_c, source))
    factors = {rule: s.factor for s in result for rule in s.rules if s.factor != 1.0}
    return tuple(result), factors
