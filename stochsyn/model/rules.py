"""Parse reaction equations, agent patterns and observables, and expand agent rules.

A rule such as ``AMPAR(loc=endo) -> AMPAR(loc=extra)`` is a *pattern*: it applies to
every agent state whose named sites match, and on the right it names only the sites that
change. :func:`expand_rule` turns one rule into the concrete transitions between agent
states that the engine simulates.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from dataclasses import dataclass, fields, replace
from functools import cached_property

from .. import limits
from .errors import ModelError, closest

_NAME = r"[^\W\d]\w*"
_NAME_RE = re.compile(rf"^{_NAME}$")
_TERM_RE = re.compile(rf"^(?:(\d+)\s*\*?\s*)?({_NAME})\s*(?:\((.*)\))?$", re.DOTALL)
_EMPTY_SIDES = {"", "0", "∅", "Ø"}
#: Separates the alternatives of a site value in a pattern: ``cam=c0|c2`` matches either.
VALUE_SEPARATOR = "|"


def is_name(text: str) -> bool:
    """True if ``text`` is a valid species, agent, site or parameter name."""
    return bool(_NAME_RE.match(text))


def suggestion(name: str, candidates) -> str | None:
    """A 'Did you mean ...?' hint for a misspelt name, or None."""
    close = closest(name, candidates)
    return f"Did you mean '{close}'?" if close else None


@dataclass(frozen=True)
class AgentType:
    """A kind of individually tracked molecule.

    Attributes
    ----------
    name : str
    sites : tuple of (site name, tuple of values)
        Site order fixes the order of the states.
    ring_size : int
        0 for free agents; otherwise agents form rings of this size, and agent ``k``'s left
        neighbour is the previous agent of its ring (cyclically).
    initial : tuple of int
        Number of agents in each state at t = 0, in the order of :attr:`states`.
    capacity : int
        Most agents of this type that can exist at once (creation rules add agents).
    complex_size : int
        0 for none; otherwise consecutive agents form complexes of this many (whole rings:
        a CaMKII holoenzyme is two rings of 6, ``complex_size = 12``), which complex rules
        (``members``) change as a whole.
    """

    name: str
    sites: tuple[tuple[str, tuple[str, ...]], ...]
    ring_size: int
    initial: tuple[int, ...]
    capacity: int
    complex_size: int = 0

    @cached_property
    def states(self) -> tuple[tuple[str, ...], ...]:
        """Every combination of site values, first site slowest (made once, then kept)."""
        return tuple(itertools.product(*(values for _, values in self.sites)))

    @cached_property
    def site_names(self) -> tuple[str, ...]:
        return tuple(site for site, _ in self.sites)

    @cached_property
    def _strides(self) -> tuple[int, ...]:
        """How far the state index moves per value of each site (the last site fastest)."""
        strides, stride = [], 1
        for _, values in reversed(self.sites):
            strides.append(stride)
            stride *= len(values)
        return tuple(reversed(strides))

    @cached_property
    def _value_index(self) -> tuple[dict[str, int], ...]:
        return tuple({value: i for i, value in enumerate(values)} for _, values in self.sites)

    def __getstate__(self):
        # the fields only: the cached states of a large type need not travel with it
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def state_label(self, state: tuple[str, ...]) -> str:
        inner = ",".join(f"{site}={value}" for site, value in zip(self.site_names, state))
        return f"{self.name}({inner})"

    def matching(self, pattern: dict[str, str]) -> list[int]:
        """Indices of the states whose sites take the values named in ``pattern``; a value
        may be a set of alternatives written ``a|b`` (see :func:`parse_pattern_sites`)."""
        position = {site: i for i, site in enumerate(self.site_names)}
        allowed = {site: set(value.split(VALUE_SEPARATOR)) for site, value in pattern.items()}
        return [
            k
            for k, state in enumerate(self.states)
            if all(state[position[site]] in values for site, values in allowed.items())
        ]

    def changed(self, state_index: int, changes: dict[str, str]) -> int:
        """Index of the state reached from ``state_index`` by setting the sites in ``changes``
        (by arithmetic on the index: no search through the states)."""
        index = state_index
        for i, (site, values) in enumerate(self.sites):
            if site in changes:
                current = state_index // self._strides[i] % len(values)
                index += (self._value_index[i][changes[site]] - current) * self._strides[i]
        return index


@dataclass(frozen=True)
class Term:
    """One term of an equation side: ``count`` copies of a species or of an agent pattern."""

    count: int
    name: str
    pattern: dict[str, str] | None  # None for a plain species

    @property
    def is_agent(self) -> bool:
        return self.pattern is not None


def parse_pattern_sites(text: str, agent: AgentType, *, source, where) -> dict[str, str]:
    """Parse ``"loc=endo, s845=p"`` against the sites of ``agent``.

    A value may list alternatives, ``cam=c2|c4`` (the state's value is one of them), or
    exclude values, ``cam!=none`` (any value but those named; ``cam!=a|b`` excludes both).
    Alternatives are kept as the allowed values joined by ``|`` in the site's declared
    order, so ``matching`` selects every state with one of them; only patterns that select
    states (left sides, neighbours, observables, enzymes) may use them
    (:func:`single_valued` checks the others).
    """
    sites: dict[str, str] = {}
    if not text.strip():
        return sites
    known = dict(agent.sites)
    for item in text.split(","):
        if "=" not in item:
            raise ModelError(
                f"agent pattern '{agent.name}({text})' has '{item.strip()}' where a "
                "'site=value' pair was expected",
                source=source, where=where,
                hint=f"write e.g. {agent.name}({agent.sites[0][0]}={agent.sites[0][1][0]})",
            )
        site, value = (part.strip() for part in item.split("=", 1))
        negated = site.endswith("!")
        site = site[:-1].strip() if negated else site
        if site not in known:
            raise ModelError(
                f"agent type '{agent.name}' has no site '{site}' (sites: {', '.join(known)})",
                source=source, where=where, hint=suggestion(site, known),
            )
        named = [v.strip() for v in value.split(VALUE_SEPARATOR)]
        for one in named:
            if one not in known[site]:
                raise ModelError(
                    f"site '{site}' of agent type '{agent.name}' has no value '{one}' "
                    f"(values: {', '.join(known[site])})",
                    source=source, where=where, hint=suggestion(one, known[site]),
                )
        if site in sites:
            raise ModelError(f"site '{site}' is named twice in '{agent.name}({text})'",
                             source=source, where=where)
        allowed = [v for v in known[site] if (v in named) != negated]
        if not allowed:
            raise ModelError(f"'{item.strip()}' in '{agent.name}({text})' excludes every "
                             f"value of site '{site}', so the pattern matches nothing",
                             source=source, where=where)
        sites[site] = VALUE_SEPARATOR.join(allowed)
    return sites


def single_valued(term: "Term", *, what: str, source, where) -> None:
    """Refuse value alternatives (``a|b``, ``!=``) in a pattern that sets values: the right
    side of a rule, a created agent, an initial state."""
    for site, value in (term.pattern or {}).items():
        if VALUE_SEPARATOR in value:
            raise ModelError(
                f"{what} '{term.name}(...)' gives site '{site}' several values "
                f"({value.replace(VALUE_SEPARATOR, ' or ')}); a pattern that sets values "
                "must name one value per site", source=source, where=where,
                hint="alternatives (a|b) and exclusions (!=) select states on the left of a "
                     "rule, in 'neighbour', observables and enzymes; write one rule per "
                     "new value on the right")


def _split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_side(text: str, species: set[str], agents: dict[str, AgentType], *, source, where
               ) -> list[Term]:
    """Parse one side of an equation into terms."""
    text = text.strip()
    if text in _EMPTY_SIDES:
        return []
    if text.count("(") != text.count(")"):
        raise ModelError(f"unbalanced parentheses in '{text}'", source=source, where=where)
    terms = []
    for raw in _split_top_level(text, "+"):
        raw = raw.strip()
        if not raw:
            raise ModelError(
                f"an empty term (a '+' with nothing on one side) in '{text}'",
                source=source, where=where,
                hint="remove the extra '+', or write '-> X' / 'X ->' (or '0') for an "
                     "empty side",
            )
        match = _TERM_RE.match(raw)
        if not match:
            raise ModelError(
                f"cannot read the term '{raw}' in '{text}'",
                source=source, where=where,
                hint="terms look like 'X', '2 X', '2*X' or 'Agent(site=value)', "
                     "separated by ' + '",
            )
        count = int(match.group(1)) if match.group(1) else 1
        name, inner = match.group(2), match.group(3)
        if count < 1 or count > 2 ** 53:
            raise ModelError(f"stoichiometry must be between 1 and 2^53 in '{raw}'",
                             source=source, where=where)
        if name in agents:
            pattern = parse_pattern_sites(inner or "", agents[name], source=source, where=where)
            terms.append(Term(count, name, pattern))
        elif name in species:
            if inner is not None:
                raise ModelError(
                    f"'{name}' is a species, not an agent type, so '{raw}' cannot have sites",
                    source=source, where=where,
                    hint=f"declare it under [agents.{name}] to give it sites",
                )
            terms.append(Term(count, name, None))
        else:
            # the name once: not again as the whole side, nor in the hint when it is long
            raise ModelError(
                f"unknown species or agent type '{name}'"
                + (f" in '{text}'" if text != name else ""),
                source=source, where=where,
                hint=(suggestion(name, list(species) + list(agents)) or "")
                + " Declare it under [species] (or [agents."
                + (name if len(name) <= 40 else "NAME") + "]).",
            )
    return terms


def parse_equation(text: str, species, agents, *, source, where):
    """Split an equation into (left terms, right terms, reversible)."""
    if not isinstance(text, str):
        raise ModelError("the equation must be a string such as 'A + B -> C'",
                         source=source, where=where)
    # Site patterns contain '=', so look for arrows outside parentheses only.
    outside = re.sub(r"\([^()]*\)", "()", text)
    arrows = re.findall(r"<=>|<->|->|<-|=>|=", outside)
    if len(arrows) != 1 or arrows[0] not in ("->", "<->"):
        raise ModelError(
            f"the equation '{text}' must contain exactly one arrow '->' (or '<->')",
            source=source, where=where, hint="write e.g. 'A + B -> C' or '2 P <-> P2'",
        )
    left, right = _split_at_arrow(text, arrows[0])
    return (parse_side(left, species, agents, source=source, where=where),
            parse_side(right, species, agents, source=source, where=where),
            arrows[0] == "<->")


def _split_at_arrow(text: str, arrow: str) -> tuple[str, str]:
    depth = 0
    for i in range(len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
        elif depth == 0 and text.startswith(arrow, i):
            return text[:i], text[i + len(arrow):]
    raise AssertionError("arrow not found")  # the caller found it outside parentheses


@dataclass(frozen=True)
class Transition:
    """One concrete reaction produced by expanding a rule.

    Species indices refer to the model's full species list, in which every agent state is a
    species whose count is the number of agents in that state.
    """

    label: str
    reactants: tuple[tuple[int, int], ...]   # (species index, order)
    products: tuple[tuple[int, int], ...]    # (species index, stoichiometry)
    agent_moves: tuple[tuple[int, int, int], ...]  # (agent type, from species or -1, to or -1)
    # (target state species, the neighbour states the rule accepts, sorted); split into
    # the classes the engine counts by :func:`split_neighbour_classes`.
    neighbour: tuple[int, tuple[int, ...]] | None


def expand_rule(name: str, left: list[Term], right: list[Term], neighbour: list[Term] | None,
                species_index: dict[str, int], agent_types: list[AgentType],
                agent_state_base: dict[str, int], *, source, where,
                reactions_before: int = 0) -> list[Transition]:
    """Expand a rule over the agent states its patterns match.

    Parameters
    ----------
    name : str
        Rule name, used in the labels of the concrete transitions.
    left, right : list of Term
        The two sides of the equation.
    neighbour : list of Term or None
        For a neighbour rule, the patterns the target agent's left ring neighbour must
        match (one of them: their union).
    species_index : dict
        Plain species name -> index in the model's species list.
    agent_types : list of AgentType
    agent_state_base : dict
        Agent type name -> species index of its first state.
    reactions_before : int
        Reactions the model has before this rule: the expansion is refused, before it is
        made, if it would take the model past ``STOCHSYN_MAX_REACTIONS``
        (:mod:`stochsyn.limits`).

    Returns
    -------
    list of Transition
        One per combination of the left agents' states; a neighbour rule's transition
        carries the whole set of neighbour states it accepts.
    """
    type_index = {agent.name: i for i, agent in enumerate(agent_types)}
    left_agents = [t for t in left if t.is_agent]
    right_agents = [t for t in right if t.is_agent]
    for term in right_agents:
        single_valued(term, what=f"the right side of rule '{name}' has", source=source,
                      where=where)
    seen = set()
    for term in left_agents:
        if term.count > 1 or term.name in seen:
            raise ModelError(
                f"rule '{name}' has more than one '{term.name}' agent on the left; rules with "
                "two agents of one type as reactants are not supported",
                source=source, where=where,
                hint="split the rule, or model the pair as a species",
            )
        seen.add(term.name)
    # Pair left agents with right agents of the same type in order; the rest are created.
    pairs, created = [], []
    pending = {t.name: t for t in left_agents}
    for term in right_agents:
        for _ in range(term.count):
            if term.name in pending:
                pairs.append((pending.pop(term.name), term))
            else:
                created.append(term)
    destroyed = list(pending.values())
    for term in created + destroyed:
        if agent_types[type_index[term.name]].ring_size:
            raise ModelError(
                f"rule '{name}' would {'create' if term in created else 'destroy'} a "
                f"'{term.name}' agent, but '{term.name}' agents live in rings and their "
                "number is fixed", source=source, where=where)
    if neighbour is not None:
        if len(left_agents) != 1 or agent_types[type_index[left_agents[0].name]].ring_size == 0:
            what = (f"'{left_agents[0].name}', which does not form rings" if len(left_agents) == 1
                    else f"{len(left_agents)} agents")
            raise ModelError(
                f"neighbour rule '{name}' needs exactly one agent of a ring type on the left; "
                f"it has {what}", source=source, where=where,
                hint="declare ring_size under [agents.NAME] (agents then form rings and each "
                     "has a left neighbour) and write e.g. 'CaMKII(t286=u) -> CaMKII(t286=p)'"
                     ", or drop 'neighbour'")
        for term in neighbour:
            if term.name != left_agents[0].name:
                raise ModelError(
                    f"the neighbour pattern of rule '{name}' names '{term.name}', but the "
                    f"rule acts on '{left_agents[0].name}'; ring neighbours are of the same "
                    "type", source=source, where=where)

    species_reactants = tuple((species_index[t.name], t.count) for t in left if not t.is_agent)
    species_products = tuple((species_index[t.name], t.count) for t in right if not t.is_agent)
    created_states = []
    for term in created:
        agent = agent_types[type_index[term.name]]
        missing = [s for s in agent.site_names if s not in term.pattern]
        if missing:
            raise ModelError(
                f"rule '{name}' creates a '{term.name}' agent but does not name its site(s) "
                f"{', '.join(missing)}", source=source, where=where,
                hint="a created agent needs every site value, e.g. "
                     f"{agent.state_label(agent.states[0])}")
        created_states.append((type_index[term.name],
                               agent_state_base[term.name] + agent.matching(term.pattern)[0]))

    sources = []  # per left agent: list of (type, from state species, to state species or -1)
    for term in left_agents:
        agent = agent_types[type_index[term.name]]
        base = agent_state_base[term.name]
        target = next((r for l, r in pairs if l is term), None)
        options = []
        for k in agent.matching(term.pattern):
            to = -1 if target is None else base + agent.changed(k, target.pattern)
            options.append((type_index[term.name], base + k, to))
        if not options:
            raise ModelError(f"the pattern '{term.name}' in rule '{name}' matches no state",
                             source=source, where=where)
        sources.append(options)
    neighbour_states = None
    if neighbour is not None:
        agent = agent_types[type_index[left_agents[0].name]]
        base = agent_state_base[agent.name]
        neighbour_states = tuple(sorted({base + k for term in neighbour
                                         for k in agent.matching(term.pattern)}))
        if not neighbour_states:
            raise ModelError(f"the neighbour pattern of rule '{name}' matches no state",
                             source=source, where=where)

    # One transition per combination of source states; a neighbour rule's set of neighbour
    # states is cut into pair classes later (split_neighbour_classes counts those).
    factors = [len(options) for options in sources]
    n_transitions = math.prod(factors)
    if reactions_before + n_transitions > limits.value("reactions"):
        raise ModelError(limits.exceeded(
            "reactions", f"the number of reactions once rule '{name}' is expanded (it "
            f"matches {' × '.join(f'{n:,}' for n in factors)} states, and {reactions_before:,}"
            " reactions come before it)", reactions_before + n_transitions),
            source=source, where=where,
            hint="name more sites in the rule's patterns (each site left open multiplies "
                 "the states it matches); " + limits.how_to_raise("reactions"))
    names = _StateNames(agent_types, agent_state_base)
    transitions = []
    for combination in itertools.product(*sources):
        moves = tuple(combination) + tuple((t, -1, s) for t, s in created_states)
        agent_reactants = tuple((frm, 1) for _, frm, _ in combination)
        agent_products = tuple((to, 1) for _, _, to in moves if to >= 0)
        neighbour_set = (None if neighbour_states is None
                         else (combination[0][1], neighbour_states))
        details = [names[frm] + ("→" + names[to] if to >= 0 else "→∅")
                   for _, frm, to in combination]
        details += ["∅→" + names[to] for _, to in created_states]
        label = name if not details else f"{name}[{'; '.join(details)}]"
        transitions.append(Transition(
            label=label,
            reactants=_merge(species_reactants + agent_reactants),
            products=_merge(species_products + agent_products),
            agent_moves=moves,
            neighbour=neighbour_set,
        ))
    return transitions


def split_neighbour_classes(reactions, species: tuple[str, ...], neighbour_text: dict,
                            source: str | None = None):
    """Split neighbour reactions into the pair classes the engine counts.

    A neighbour rule accepts a set of left-neighbour states (its pattern may match many:
    ``neighbour = "CaMKII(cam!=none)"``). For each target state, the sets of all rules with
    that target are cut into their *atoms*: the coarsest partition of the neighbour states
    in which every rule's set is a union of parts. The engine keeps one pair class per
    (target state, atom) -- each agent is in at most one, that of its own state and the atom
    its left neighbour's state falls in -- and a rule becomes one reaction per atom of its
    set, with propensity ``c · #agents in that class``: the sum over its atoms is the rule's
    ``c · #{agents matching the target whose left neighbour is in the set}``. With a
    neighbour pattern of one state per rule (the usual case) nothing changes.

    Parameters
    ----------
    reactions : list of Reaction
        With ``neighbour = (target, accepted states)`` as :func:`expand_rule` gives.
    species : tuple of str
        State labels, for the reaction names.
    neighbour_text : dict
        Rule name -> its neighbour pattern as written (for labels).
    source : str, optional
        The model file, for the message when the split would exceed the reactions limit
        (:mod:`stochsyn.limits`), which is checked before any reaction is made.

    Returns
    -------
    list of Reaction
        In the same order, each neighbour reaction replaced by one per atom (in the order
        of the atoms' first states), ``neighbour = (target, atom states)``.
    """
    sets_of: dict[int, list[frozenset]] = {}
    for reaction in reactions:
        if reaction.neighbour is not None:
            target, accepted = reaction.neighbour
            sets_of.setdefault(target, []).append(frozenset(accepted))
    atoms_of: dict[int, list[frozenset]] = {}
    for target, sets in sets_of.items():
        signature: dict[int, tuple] = {}
        for state in sorted(set().union(*sets)):
            signature[state] = tuple(state in s for s in sets)
        groups: dict[tuple, list[int]] = {}
        for state, key in signature.items():
            groups.setdefault(key, []).append(state)
        atoms_of[target] = sorted((frozenset(g) for g in groups.values()), key=min)
    n_split = sum(1 if r.neighbour is None else
                  sum(atom <= frozenset(r.neighbour[1]) for atom in atoms_of[r.neighbour[0]])
                  for r in reactions)
    if n_split > limits.value("reactions"):
        raise ModelError(limits.exceeded(
            "reactions", "the number of reactions once the neighbour rules are split into "
            f"the pair classes the engine counts ({len(reactions):,} before the split)",
            n_split), source=source, where="[[reactions]]",
            hint="neighbour patterns that overlap cut each other's neighbour states into "
                 "classes, one reaction per class: name the same sites in the neighbour "
                 "patterns of rules on one target state; " + limits.how_to_raise("reactions"))
    result = []
    for reaction in reactions:
        if reaction.neighbour is None:
            result.append(reaction)
            continue
        target, accepted = reaction.neighbour
        accepted = frozenset(accepted)
        for atom in atoms_of[target]:
            if not atom <= accepted:
                continue
            states = tuple(sorted(atom))
            if len(states) == 1:
                where = f"left={species[states[0]]}"
            elif atom == accepted:
                where = f"left={neighbour_text.get(reaction.rule, '?')}"
            else:
                where = f"left∈{{{species[states[0]]}, … {len(states)} states}}"
            name = (f"{reaction.name[:-1]}; {where}]" if reaction.name.endswith("]")
                    else f"{reaction.name}[{where}]")
            result.append(replace(reaction, name=name, neighbour=(target, states)))
    return result


def expand_members(name: str, equations: list[tuple[list[Term], list[Term]]], agent: AgentType,
                   type_index: int, base: int, species_index: dict[str, int], *, source,
                   where) -> tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...]:
    """The change a complex rule's ``members`` make to one member, for every state.

    Each equation is ``Type(pattern) -> Type(changes) [+ species]``: one agent of the
    complex's type on each side, species only on the right (released by the member, e.g.
    its bound calmodulin). They are applied in order to a member: each whose left pattern
    matches the member's current state changes it and adds its species.

    Returns
    -------
    tuple of (from state species, to state species, ((species index, count), ...))
        One entry per state the equations change or release something from.
    """
    steps = []
    for left, right in equations:
        agents_l = [t for t in left if t.is_agent]
        agents_r = [t for t in right if t.is_agent]
        if (len(agents_l) != 1 or len(agents_r) != 1 or agents_l[0].count != 1
                or agents_r[0].count != 1 or agents_l[0].name != agent.name
                or agents_r[0].name != agent.name):
            raise ModelError(
                f"each of the 'members' of rule '{name}' must turn one '{agent.name}' into one "
                f"'{agent.name}' (the member), e.g. '{agent.name}({agent.sites[0][0]}="
                f"{agent.sites[0][1][0]}) -> {agent.name}({agent.sites[0][0]}="
                f"{agent.sites[0][1][-1]})'", source=source, where=where)
        if any(not t.is_agent for t in left):
            raise ModelError(
                f"the 'members' of rule '{name}' may release species (on the right) but not "
                "consume them: a member change must not depend on other molecules",
                source=source, where=where,
                hint="consume species in the rule's own equation (the trigger)")
        single_valued(agents_r[0], what=f"a member equation of rule '{name}' has",
                      source=source, where=where)
        released = tuple((species_index[t.name], t.count) for t in right if not t.is_agent)
        steps.append((set(agent.matching(agents_l[0].pattern)), agents_r[0].pattern, released))
    result = []
    for k in range(len(agent.states)):
        state, products = k, {}
        for matched, changes, released in steps:
            if state in matched:
                state = agent.changed(state, changes)
                for s, n in released:
                    products[s] = products.get(s, 0) + n
        if state != k or products:
            result.append((base + k, base + state, tuple(sorted(products.items()))))
    return tuple(result)


def _merge(pairs) -> tuple[tuple[int, int], ...]:
    total: dict[int, int] = {}
    for index, count in pairs:
        total[index] = total.get(index, 0) + count
    return tuple(sorted(total.items()))


class _StateNames:
    """``names[i]``: the label of the agent state that is species ``i``, made when asked
    (a rule needs the labels of the few states it moves, not of all states of all types)."""

    def __init__(self, agent_types, agent_state_base):
        pairs = sorted((agent_state_base[a.name], k) for k, a in enumerate(agent_types))
        self.bases = [base for base, _ in pairs]
        self.agents = [agent_types[k] for _, k in pairs]

    def __getitem__(self, species: int) -> str:
        at = bisect.bisect_right(self.bases, species) - 1
        agent = self.agents[at]
        return agent.state_label(agent.states[species - self.bases[at]])


# A coefficient cut at the sign of its exponent ("1.5e" of "1.5e-3*X"); a name ending in
# 'e' ("Kinase", "E") followed by '+' or '-' is not one.
_MANTISSA_RE = re.compile(r"^(?:\d+\.?\d*|\.\d+)[eE]$")
_OBS_TERM_RE = re.compile(rf"^(?:([0-9.eE+-]+)\s*\*?\s*)?({_NAME})\s*(?:\((.*)\))?$", re.DOTALL)


def parse_observable(text: str, species_index: dict[str, int], agent_types: list[AgentType],
                     agent_state_base: dict[str, int], *, source, where) -> dict[int, float]:
    """Parse ``"P + 2*P2"`` or ``"AMPAR(loc=psd) + 1.5*AMPAR(loc=trapped)"`` into weights.

    Returns
    -------
    dict
        Species index -> weight (summed over repeated terms).
    """
    if not isinstance(text, str) or not text.strip():
        raise ModelError("an observable must be a non-empty string such as 'P + 2*P2'",
                         source=source, where=where)
    agents = {agent.name: agent for agent in agent_types}
    weights: dict[int, float] = {}
    # Terms are separated by + or - at the top level; a leading sign belongs to the term.
    pieces = re.split(r"([+-])(?![^()]*\))", text.replace(" ", ""))
    sign, pending = 1.0, []
    for piece in pieces:
        if piece in ("+", "-"):
            if pending and _MANTISSA_RE.match(pending[0]):  # 1e-3 style exponent
                pending[-1] += piece
                continue
            if pending:
                _add_observable_term(pending[0], sign, weights, species_index, agents,
                                     agent_state_base, text, source=source, where=where)
                pending = []
            sign = -1.0 if piece == "-" else 1.0
        elif piece:
            if pending:
                pending[0] += piece
            else:
                pending = [piece]
    if not pending:
        raise ModelError(f"the observable '{text}' ends without a term", source=source,
                         where=where)
    _add_observable_term(pending[0], sign, weights, species_index, agents, agent_state_base,
                         text, source=source, where=where)
    return weights


def _add_observable_term(term, sign, weights, species_index, agents, agent_state_base, text, *,
                         source, where):
    match = _OBS_TERM_RE.match(term)
    if not match:
        raise ModelError(f"cannot read the term '{term}' of the observable '{text}'",
                         source=source, where=where,
                         hint="terms look like 'X', '2*X' or '1.5*Agent(site=value)'")
    try:
        coefficient = float(match.group(1)) if match.group(1) else 1.0
    except ValueError:
        raise ModelError(f"'{match.group(1)}' is not a number in the observable '{text}'",
                         source=source, where=where,
                         hint="terms look like 'X', '2*X' or '1.5*Agent(site=value)'"
                         ) from None
    name, inner = match.group(2), match.group(3)
    if name in agents:
        agent = agents[name]
        pattern = parse_pattern_sites(inner or "", agent, source=source, where=where)
        indices = [agent_state_base[name] + k for k in agent.matching(pattern)]
    elif name in species_index and inner is None:
        indices = [species_index[name]]
    else:
        raise ModelError(
            f"unknown species or agent type '{name}' in the observable '{text}'",
            source=source, where=where,
            hint=suggestion(name, list(species_index) + list(agents)))
    for index in indices:
        weights[index] = weights.get(index, 0.0) + sign * coefficient
