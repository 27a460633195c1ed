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
from dataclasses import dataclass, fields
from functools import cached_property

from .. import limits
from .errors import ModelError, closest

_NAME = r"[^\W\d]\w*"
_NAME_RE = re.compile(rf"^{_NAME}$")
_TERM_RE = re.compile(rf"^(?:(\d+)\s*\*?\s*)?({_NAME})\s*(?:\((.*)\))?$", re.DOTALL)
_EMPTY_SIDES = {"", "0", "∅", "Ø"}


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
    """

    name: str
    sites: tuple[tuple[str, tuple[str, ...]], ...]
    ring_size: int
    initial: tuple[int, ...]
    capacity: int

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
        """Indices of the states whose sites take the values named in ``pattern``."""
        position = {site: i for i, site in enumerate(self.site_names)}
        return [
            k
            for k, state in enumerate(self.states)
            if all(state[position[site]] == value for site, value in pattern.items())
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
    """Parse ``"loc=endo, s845=p"`` against the sites of ``agent``."""
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
        if site not in known:
            raise ModelError(
                f"agent type '{agent.name}' has no site '{site}' (sites: {', '.join(known)})",
                source=source, where=where, hint=suggestion(site, known),
            )
        if value not in known[site]:
            raise ModelError(
                f"site '{site}' of agent type '{agent.name}' has no value '{value}' "
                f"(values: {', '.join(known[site])})",
                source=source, where=where, hint=suggestion(value, known[site]),
            )
        if site in sites:
            raise ModelError(f"site '{site}' is named twice in '{agent.name}({text})'",
                             source=source, where=where)
        sites[site] = value
    return sites


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
    neighbour: tuple[int, int] | None         # (target state species, neighbour state species)


def expand_rule(name: str, left: list[Term], right: list[Term], neighbour: Term | None,
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
    neighbour : Term or None
        For a neighbour rule, the pattern the target agent's left ring neighbour must match.
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
    """
    type_index = {agent.name: i for i, agent in enumerate(agent_types)}
    left_agents = [t for t in left if t.is_agent]
    right_agents = [t for t in right if t.is_agent]
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
            raise ModelError(
                f"neighbour rule '{name}' needs exactly one agent of a ring type on the left",
                source=source, where=where,
                hint="declare ring_size under [agents.NAME] and write e.g. "
                     "'CaMKII(t286=u) -> CaMKII(t286=p)'")
        if neighbour.name != left_agents[0].name:
            raise ModelError(
                f"the neighbour pattern of rule '{name}' names '{neighbour.name}', but the "
                f"rule acts on '{left_agents[0].name}'; ring neighbours are of the same type",
                source=source, where=where)

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
    neighbour_states = [None]
    if neighbour is not None:
        agent = agent_types[type_index[neighbour.name]]
        neighbour_states = [agent_state_base[neighbour.name] + k
                            for k in agent.matching(neighbour.pattern)]

    factors = [len(options) for options in sources]
    if neighbour is not None:
        factors.append(len(neighbour_states))
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
        for n_state in neighbour_states:
            moves = tuple(combination) + tuple((t, -1, s) for t, s in created_states)
            agent_reactants = tuple((frm, 1) for _, frm, _ in combination)
            agent_products = tuple((to, 1) for _, _, to in moves if to >= 0)
            neighbour_pair = None if n_state is None else (combination[0][1], n_state)
            details = [names[frm] + ("→" + names[to] if to >= 0 else "→∅")
                       for _, frm, to in combination]
            details += ["∅→" + names[to] for _, to in created_states]
            if n_state is not None:
                details.append("left=" + names[n_state])
            label = name if not details else f"{name}[{'; '.join(details)}]"
            transitions.append(Transition(
                label=label,
                reactants=_merge(species_reactants + agent_reactants),
                products=_merge(species_products + agent_products),
                agent_moves=moves,
                neighbour=neighbour_pair,
            ))
    return transitions


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
