"""Exceptions raised for bad model input.

Every problem with a model file or model dict is reported as a :class:`ModelError` (a
``ValueError``) whose text says where the problem is, what it is and, when possible, how
to fix it::

    reactions/x.toml, reaction 'exocytosis', field 'rate': unknown name 'k_of'. Did you
    mean 'k_off'? Define it under [parameters].
"""

from __future__ import annotations

__all__ = ["ModelError", "ExpressionError", "UnitError"]


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
        location = ", ".join(str(part) for part in (self.source, self.where) if part)
        text = str(self.message).rstrip()
        hint = (self.hint or "").strip()
        if hint:
            if text and text[-1] not in ".?!":
                text += "."
            hint = hint[0].upper() + hint[1:]
            if hint[-1] not in ".?!":
                hint += "."
            text = f"{text} {hint}"
        return f"{location}: {text}" if location else text

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
