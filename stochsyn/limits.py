"""Size limits on what stochsyn reads and builds, checked before the work they bound.

A hostile or mistaken input (a 50 MB file, an include of ``/dev/zero``, 41 two-valued agent
sites, a sampling interval of 1e-12 s) must end in one clear error, not in a memory blow-up
or a traceback from deep inside a library. Every check below estimates the size from the
input first (a file's size from the file system, an agent's states as the product of its
site values, a sample count from t_end / sample_every, ...) and refuses before anything
of that size is allocated.

Two kinds of limit:

* **policies** (:data:`POLICIES`): generous defaults that a real model never reaches. Each
  can be raised (or lowered) with an environment variable, read when the check runs, so it
  also works from a notebook (``os.environ["STOCHSYN_MAX_FILE_MB"] = "100"``) and in a
  batch job's environment. Every message names the limit, the value found and the
  variable;
* **fixed limits** (the constants below): nesting depths that keep the readers' recursion
  far from Python's own limit. They are not settings: nothing realistic comes near them.

``docs/model-format.md`` ("Limits") lists both for users.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass

__all__ = ["Policy", "POLICIES", "LimitError", "value", "exceeded", "how_to_raise",
           "describe", "number_text", "EXPRESSION_DEPTH", "DATA_DEPTH", "INCLUDE_DEPTH",
           "MATH_DEPTH", "XML_DEPTH", "INT64_MAX"]

#: Deepest nesting of parentheses, unary signs and powers in one rate expression.
EXPRESSION_DEPTH = 100
#: Deepest nesting of arrays and tables in a model file or model dict (a model needs 4).
DATA_DEPTH = 32
#: Longest chain of includes (a file including a file including ...).
INCLUDE_DEPTH = 32
#: Deepest nesting of MathML elements in one SBML formula.
MATH_DEPTH = 200
#: Deepest nesting of elements in an SBML (XML) file: libsbml's parser crashes (a C++ stack
#: overflow) on files nested some ten thousand levels deep.
XML_DEPTH = 1000
#: Largest index a trajectory can have (the engine counts in int64).
INT64_MAX = 2 ** 63 - 1


class LimitError(ValueError):
    """An input larger than a stated limit. The message says what was counted, the value
    and the limit; ``hint`` says what to do (and, for a policy, which variable raises it).
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}. {self.hint[:1].upper()}{self.hint[1:]}." if self.hint \
            else self.message


@dataclass(frozen=True)
class Policy:
    """A limit that users may change.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"file_mb"``.
    default : float
    unit : str
        What the number counts, for messages (``"MB"``, ``"states"``).
    what : str
        What is limited, e.g. ``"size of a model file or an included file"``.
    """

    name: str
    default: float
    unit: str
    what: str

    @property
    def variable(self) -> str:
        """The environment variable that sets it, e.g. ``STOCHSYN_MAX_FILE_MB``."""
        return "STOCHSYN_MAX_" + self.name.upper()


@functools.cache
def _half_the_memory_mb() -> float:
    """Half of this machine's physical memory in MB (4096 if the system does not say).
    Asked once per process: two ``sysconf`` calls cost ~2 µs of every ``simulate`` call."""
    try:
        pages, page_bytes = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4096.0
    if pages <= 0 or page_bytes <= 0:
        return 4096.0
    return float(pages * page_bytes // 2 // 2 ** 20)


POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("file_mb", 10, "MB", "size of a model file (TOML or SBML) or of an included file"),
    Policy("include_files", 1000, "files", "files read through [model] include for one "
           "model (a file reached along two include paths counts twice)"),
    Policy("expression_chars", 10_000, "characters", "length of one rate or quantity "
           "expression"),
    Policy("agent_states", 100_000, "states", "agent states of a model after expansion (the "
           "product of each agent type's site values, summed over the types)"),
    Policy("reactions", 200_000, "reactions", "reactions of a model after its agent rules "
           "are expanded over the site values"),
    Policy("agent_mb", 1024, "MB", "the engine's agent storage for one trajectory "
           "(per agent slot of each type's capacity: one list entry per state and per "
           "ring pair class, plus six, 8 bytes each)"),
    Policy("samples", 10_000_000, "samples", "sample times of one trajectory"),
    Policy("protocol_events", 10_000_000, "events", "spikes and clamp steps of one "
           "stimulation protocol"),
    Policy("batch_mb", None, "MB", "the sample buffers of one batch of trajectories "
           "(default: half of this machine's memory)"),
)}


#: Each limit's environment variable, by name (``Policy.variable``, made once).
_VARIABLES = {name: policy.variable for name, policy in POLICIES.items()}


def value(name: str) -> float:
    """The limit ``name`` now: its environment variable if set, else the default.

    Raises
    ------
    LimitError
        The environment variable is set to something that is not a number > 0.
    """
    policy = POLICIES[name]
    text = os.environ.get(_VARIABLES[name])
    if text is None or not text.strip():
        return policy.default if policy.default is not None else _half_the_memory_mb()
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise LimitError(f"the environment variable {policy.variable} must be a number > 0 "
                         f"(the limit on the {policy.what}), not {text.strip()[:40]!r}")
    return number


def how_to_raise(name: str) -> str:
    """The hint for a message: which environment variable changes the limit."""
    return (f"if the input is meant to be this large, raise the limit with the environment "
            f"variable {POLICIES[name].variable}")


def exceeded(name: str, found: str, amount: float) -> str:
    """``"{found} is {amount} {unit}, more than the limit of {limit} {unit}"``."""
    policy = POLICIES[name]
    return (f"{found} is {number_text(amount)} {policy.unit}, more than the limit of "
            f"{number_text(value(name))} {policy.unit}")


def describe() -> str:
    """The limits in force, one per line (for documentation and ``--help`` texts)."""
    lines = []
    for policy in POLICIES.values():
        lines.append(f"{policy.variable} = {number_text(value(policy.name))} {policy.unit}: "
                     f"{policy.what}")
    return "\n".join(lines)


def number_text(x: float) -> str:
    """``10``, ``1,024``, ``70,368,744``, ``1.5``, ``2.2e+15``: readable at any size."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 1e15 and (x == int(x) or abs(x) >= 1000):
        return f"{round(x):,}"
    return f"{x:.3g}"
