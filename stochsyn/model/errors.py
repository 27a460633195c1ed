"""Exceptions raised for bad model input.

Every problem with a model file or model dict is reported as a :class:`ModelError` (a
``ValueError``) whose text says where the problem is, what it is and, when possible, how
to fix it::

    reactions/x.toml, reaction 'exocytosis', field 'rate': unknown name 'k_of'. Did you
    mean 'k_off'? Define it under [parameters].
"""

from __future__ import annotations

import difflib
import re

__all__ = ["ModelError", "ExpressionError", "UnitError", "UnitWarning", "shorten", "closest"]

#: Longest run of characters without a space that a message shows whole (a name, a path,
#: an expression without spaces); longer ones are cut in the middle.
_LONGEST_WORD = 200
#: Longest part (location, message or hint) of a message.
_LONGEST_PART = 1000
_LONG_WORD_RE = re.compile(r"\S{%d,}" % (_LONGEST_WORD + 1))


def _cut(text: str, keep: int) -> str:
    """The start and the end of ``text``, together shorter than ``keep`` (so that cutting
    again changes nothing), and its length."""
    return f"{text[:keep * 3 // 4 - 5]}…{text[-(keep // 4 - 5):]} [{len(text):,} characters]"


def shorten(text: str) -> str:
    """``text`` for a message: every run of more than 200 non-space characters (a name, a
    path, an expression) and then the whole, if longer than 1000 characters, are cut in the
    middle with ``…`` and their length in brackets. An unknown name of a megabyte is shown
    once, and briefly, never two or three times in full."""
    text = str(text)
    if len(text) <= _LONGEST_WORD:
        return text
    text = _LONG_WORD_RE.sub(lambda m: _cut(m.group(0), _LONGEST_WORD), text)
    return text if len(text) <= _LONGEST_PART else _cut(text, _LONGEST_PART)


def closest(name: str, candidates) -> str | None:
    """The candidate closest to a misspelt ``name`` (``difflib``, cutoff 0.6), or None.

    Bounded work whatever the input: a name longer than 100 characters gets no match, and
    of more than 2,000 candidates only those of about the same length (then also with the
    same first two characters) are compared, at most 2,000.
    """
    name = str(name)
    if len(name) > 100:
        return None
    pool = [str(c) for c in candidates]
    if len(pool) > 2000:
        pool = [c for c in pool if abs(len(c) - len(name)) <= 2]
    if len(pool) > 2000:
        pool = [c for c in pool if c[:2] == name[:2]][:2000]
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return close[0] if close else None


class ModelError(ValueError):
    """A problem with a model file or model dict.

    Parameters
    ----------
    message : str
        What is wrong, e.g. ``"unknown name 'k_of'"``.
    source : str, optional
        The model file path, or ``"<dict>"`` for a model given as a Python dict.
    where : str, optional
        The location inside the model, e.g. ``"reaction 'exocytosis', field 'rate'"``.
    hint : str, optional
        How to fix it, e.g. ``"Did you mean 'k_off'? Define it under [parameters]."``.

    Attributes
    ----------
    message, source, where, hint : str or None
        The constructor arguments. They may be filled in later with :meth:`locate`; the
        string form is always rendered from their current values.
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None,
                 hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.where = where
        self.hint = hint

    def locate(self, *, source: str | None = None, where: str | None = None) -> "ModelError":
        """Fill in ``source`` and ``where`` if they are not set yet; return ``self``.

        Lets low-level code (e.g. the expression parser) raise without knowing the file,
        and the caller add the location on the way out: ``raise err.locate(...)``.
        """
        if self.source is None:
            self.source = source
        if self.where is None:
            self.where = where
        return self

    def __str__(self) -> str:
        location = self.location
        text = shorten(str(self.message).rstrip())
        hint = shorten((self.hint or "").strip())
        if hint:
            if text and text[-1] not in ".?!":
                text += "."
            hint = hint[0].upper() + hint[1:]
            if hint[-1] not in ".?!":
                hint += "."
            text = f"{text} {hint}"
        return f"{location}: {text}" if location else text

    @property
    def location(self) -> str:
        """``source, where`` (the file and the item in it), shortened; "" if neither is
        known."""
        return ", ".join(shorten(str(part)) for part in (self.source, self.where) if part)

    def __reduce__(self):
        # keyword-only constructor arguments: keep them when pickled (multiprocessing)
        return (_rebuild, (type(self), self.message, self.source, self.where, self.hint,
                           self.__dict__))


def _rebuild(cls, message, source, where, hint, state):
    error = cls(message, source=source, where=where, hint=hint)
    error.__dict__.update(state)
    return error


class ExpressionError(ModelError):
    """A rate or quantity expression that cannot be read or evaluated.

    Attributes
    ----------
    text : str or None
        The expression text, when known.
    position : int or None
        0-based index into ``text`` of the offending character, when known (the message
        shows it 1-based, as ``character N``).
    """

    def __init__(self, message: str, *, source: str | None = None, where: str | None = None,
                 hint: str | None = None, text: str | None = None,
                 position: int | None = None):
        super().__init__(message, source=source, where=where, hint=hint)
        self.text = text
        self.position = position


class UnitError(ModelError):
    """A quantity whose unit or dimension does not fit where it is used."""


class UnitWarning(UserWarning):
    """A value whose unit stochsyn had to assume: a bare number given for a parameter that
    the model writes with a unit is taken in that unit, and the warning says which."""
