"""Model variants: named mutations (knock-ins) declared by the modules and applied by name.

A module declares what a mutation does to its own rules, e.g. in
``reactions/modules/ampar_trafficking_rules.toml``::

    [variants.S831A]
    description = "GluA1 S831A knock-in: S831 cannot be phosphorylated"
    fix = { AMPAR = { s831 = "u" } }          # the mutated site keeps this value
    remove = ["s831_camkii"]                   # rules that can no longer happen
    parameters = { }                           # optional parameter changes

and a user applies it with ``model.with_variant("S831A")``, ``stochsyn run --variant
S831A`` or ``[model] variants = ["S831A"]`` in a model file. A name with slashes is a
combination (``"S831A/S845A"`` applies both). The variant's ``fix`` moves every initial
agent to the fixed value and is then checked against the expanded model: a reaction that
could still set the site to another value is an error naming it (add it to ``remove``), so
a declared knock-in cannot silently leave a phosphorylation path behind.

The spec keeps the names of the applied variants (``[model] variants``), not their
result: :attr:`Model.spec` and :attr:`Model.hash` record which mutations a run had, and
:meth:`Model.with_parameters` on a variant model keeps the variant.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from .errors import ModelError
from .rules import suggestion

__all__ = ["VARIANT_KEYS", "applied_names", "apply_variants", "check_fixed_sites",
           "describe_variants"]

VARIANT_KEYS = ("description", "note", "fix", "remove", "parameters")


def applied_names(spec: Mapping[str, Any], source: str) -> list[str]:
    """The variant names listed by ``[model] variants``, combinations split at ``/``,
    each once, in order."""
    header = spec.get("model", {})
    listed = header.get("variants", []) if isinstance(header, Mapping) else []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(v, str) for v in listed):
        raise ModelError("[model] variants must be a list of variant names", source=source,
                         where="[model] 'variants'", hint='e.g. variants = ["S831A", "T286A"]')
    names: list[str] = []
    for item in listed:
        for part in item.split("/"):
            part = part.strip()
            if not part:
                raise ModelError(f"empty variant name in {item!r}", source=source,
                                 where="[model] 'variants'",
                                 hint="combine variants as 'S831A/S845A'")
            if part not in names:
                names.append(part)
    return names


def _declared(spec: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    declared = spec.get("variants", {})
    if not isinstance(declared, Mapping):
        raise ModelError("[variants] must be a table of [variants.NAME] tables",
                         source=source, where="[variants]")
    return declared


def _unknown_variant(name: str, declared: Mapping, source: str) -> ModelError:
    return ModelError(f"unknown variant '{name}'", source=source,
                      hint=suggestion(name, declared) or (
                          "this model declares the variants " + ", ".join(declared)
                          if declared else "this model declares no [variants]; a module "
                          "declares its mutations as [variants.NAME] tables "
                          "(docs/model-format.md, 'Variants')"))


def apply_variants(spec: dict, source: str) -> tuple[dict, dict[str, dict[str, str]],
                                                     list[str]]:
    """The spec with the variants of ``[model] variants`` applied.

    Parameters
    ----------
    spec : dict
        A merged model spec (includes resolved); not changed.
    source : str
        For error messages.

    Returns
    -------
    (dict, dict, list)
        The new spec; the fixed sites ``{agent: {site: value}}`` to check against the
        expanded model (:func:`check_fixed_sites`); the names applied.

    Raises
    ------
    ModelError
        An unknown variant, or a variant naming an unknown parameter, reaction, agent,
        site or site value.
    """
    names = applied_names(spec, source)
    declared = _declared(spec, source)
    if not names:
        return spec, {}, []
    spec = copy.deepcopy(spec)
    fixed: dict[str, dict[str, str]] = {}
    for name in names:
        if name not in declared:
            raise _unknown_variant(name, declared, source)
        body = declared[name]
        where = f"[variants.{name}]"
        if not isinstance(body, Mapping):
            raise ModelError(f"{where} must be a table", source=source, where=where)
        for key in body:
            if key not in VARIANT_KEYS:
                raise ModelError(f"unknown key '{key}' in {where}", source=source, where=where,
                                 hint=suggestion(key, VARIANT_KEYS)
                                 or "allowed: " + ", ".join(VARIANT_KEYS))
        _change_parameters(spec, body.get("parameters", {}), name, source)
        _remove_reactions(spec, body.get("remove", []), name, source)
        for agent, sites in _fix_sites(spec, body.get("fix", {}), name, source).items():
            fixed.setdefault(agent, {}).update(sites)
    return spec, fixed, names


def _change_parameters(spec: dict, values, name: str, source: str) -> None:
    where = f"[variants.{name}] 'parameters'"
    if not isinstance(values, Mapping):
        raise ModelError(f"{where} must be a table of name = value", source=source,
                         where=where)
    declared = spec.setdefault("parameters", {})
    for key, value in values.items():
        if key not in declared:
            raise ModelError(f"variant '{name}' changes unknown parameter '{key}'",
                             source=source, where=where,
                             hint=suggestion(key, declared) or "declare it under [parameters]")
        declared[key] = value


def _remove_reactions(spec: dict, names, variant: str, source: str) -> None:
    where = f"[variants.{variant}] 'remove'"
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelError(f"{where} must be a list of reaction names", source=source,
                         where=where, hint='e.g. remove = ["s831_camkii"]')
    reactions = spec.get("reactions", [])
    present = [r.get("name") for r in reactions if isinstance(r, Mapping)]
    for reaction in names:
        if reaction not in present:
            raise ModelError(f"variant '{variant}' removes unknown reaction '{reaction}'",
                             source=source, where=where,
                             hint=suggestion(reaction, [p for p in present if p])
                             or "name a reaction as under [[reactions]] name = ...")
    spec["reactions"] = [r for r in reactions
                         if not (isinstance(r, Mapping) and r.get("name") in names)]


def _fix_sites(spec: dict, fix, variant: str, source: str) -> dict[str, dict[str, str]]:
    where = f"[variants.{variant}] 'fix'"
    if not isinstance(fix, Mapping):
        raise ModelError(f"{where} must be a table such as {{ AMPAR = {{ s831 = \"u\" }} }}",
                         source=source, where=where)
    agents = spec.get("agents", {})
    result: dict[str, dict[str, str]] = {}
    for agent, sites in fix.items():
        if agent not in agents:
            raise ModelError(f"variant '{variant}' fixes a site of unknown agent type "
                             f"'{agent}'", source=source, where=where,
                             hint=suggestion(agent, agents) or (
                                 "agent types: " + ", ".join(agents) if agents
                                 else "the model has no [agents]"))
        declared_sites = agents[agent].get("sites", {}) if isinstance(agents[agent],
                                                                       Mapping) else {}
        if not isinstance(sites, Mapping):
            raise ModelError(f"{where} '{agent}' must be a table of site = value",
                             source=source, where=where)
        for site, value in sites.items():
            if site not in declared_sites:
                raise ModelError(f"variant '{variant}' names unknown site '{site}' of "
                                 f"{agent}", source=source, where=where,
                                 hint=suggestion(site, declared_sites)
                                 or f"{agent}'s sites: " + ", ".join(declared_sites))
            if value not in declared_sites[site]:
                raise ModelError(f"variant '{variant}' fixes {agent} {site} = {value!r}, "
                                 f"not a value of that site", source=source, where=where,
                                 hint=f"its values: {', '.join(map(str, declared_sites[site]))}")
            result.setdefault(agent, {})[site] = value
        for entry in agents[agent].get("initial", []):
            if isinstance(entry, dict):
                entry.update(result[agent])
    return result


def check_fixed_sites(fixed: Mapping[str, Mapping[str, str]], names: Iterable[str],
                      fields: Mapping[str, Any], source: str) -> None:
    """Refuse an expanded model in which a reaction can still move an agent out of a site
    value that a variant fixes (``fields``: what :func:`read_spec` returns)."""
    if not fixed:
        return
    species = fields["species"]
    forbidden: dict[int, tuple[str, str, str]] = {}
    for agent in fields["agent_types"]:
        if agent.name not in fixed:
            continue
        base = fields["agent_state_base"][agent.name]
        for k, state in enumerate(agent.states):
            for site, value in fixed[agent.name].items():
                if state[agent.site_names.index(site)] != value:
                    forbidden[base + k] = (agent.name, site, value)
    for reaction in fields["reactions"]:
        # Reactions among the forbidden states are harmless (no agent reaches them); what
        # must not exist is a way in: a move from an allowed state, or a creation.
        moves = [(before, after) for _, before, after in reaction.agent_moves]
        moves += [(before, after) for before, after, _ in reaction.members]
        ways_in = [after for before, after in moves
                   if after in forbidden and before not in forbidden]
        moved_to = {after for _, after in moves}
        ways_in += [s for s, _ in reaction.products if s in forbidden and s not in moved_to]
        if ways_in:
            agent, site, value = forbidden[ways_in[0]]
            variant = " / ".join(names)
            raise ModelError(
                f"variant {variant} fixes {agent} {site} = {value!r}, but reaction "
                f"'{reaction.name}' still makes {species[ways_in[0]]}", source=source,
                where="[variants]",
                hint="add the rule that makes it to the variant's 'remove' list")


def describe_variants(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, description) of every variant the model declares."""
    declared = spec.get("variants", {})
    if not isinstance(declared, Mapping):
        return []
    return [(name, str(body.get("description", "")) if isinstance(body, Mapping) else "")
            for name, body in declared.items()]
