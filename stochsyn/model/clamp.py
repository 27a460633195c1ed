"""Clamped species: a species held at a prescribed input, as a voltage clamp holds V.

``[species] Ca = { clamp = "Ca_in" }`` makes the amount of ``Ca`` the input ``Ca_in`` (a
concentration, converted with the model volume, or an amount): every mass-action reaction
that reads it to order 1 becomes input-driven, ``a = c · x(t) · Π C(x_s, ν_s)``, and no
reaction changes it (docs/model-format.md, "Clamps"). One calmodulin module so serves a
spine model with Ca²⁺ dynamics and an analysis that prescribes the Ca²⁺ waveform.

:class:`ClampReader` is a part of the spec reader (a base class of its builder, like
:class:`~stochsyn.model.reaction_reader.ReactionReader`): it uses the builder's
``inputs``, ``volume``, ``error``, ``where`` and fills ``clamps`` (species name -> input
index).
"""

from __future__ import annotations

import math
from dataclasses import replace

from . import units
from .errors import ModelError
from .rules import suggestion


class ClampReader:
    """The clamp part of the model reader (see the module docstring)."""

    def clamp_species(self, name, body, where) -> int:
        """A species held at a prescribed input (``Ca = { clamp = "Ca_in" }``): its count
        at t = 0 (the input's value then, for the tables); :meth:`apply_clamps` turns the
        reactions that read it into input-driven ones."""
        if "initial" in body:
            raise self.error(f"species '{name}' is clamped to an input, so it has no initial "
                             "count of its own", where=where,
                             hint="set the input's value instead (its value at t = 0)")
        input_name = body["clamp"]
        names = [i.name for i in self.inputs]
        if input_name not in names:
            raise self.error(f"species '{name}' is clamped to input '{input_name}', which "
                             "[inputs] does not declare", where=where,
                             hint=suggestion(str(input_name), names) or
                             f"declare it, e.g. [inputs.{input_name}] unit = \"uM\", "
                             "value = \"0.1 uM\"")
        index = names.index(input_name)
        self.clamps[name] = index
        per_unit = self.molecules_per_input_unit(index, where)
        return int(round(self.inputs[index].value * per_unit))

    def molecules_per_input_unit(self, index, where) -> float:
        """Molecules in one unit of input ``index`` (a concentration or an amount)."""
        item = self.inputs[index]
        try:
            return units.molecules(f"1 {item.unit}", what=f"one unit of input '{item.name}'",
                                   volume_litre=self.volume, source=self.source, where=where)
        except ModelError as exc:
            raise self.error(f"a species clamped to input '{item.name}' needs the input in "
                             f"a concentration or an amount, not '{item.unit}' "
                             f"({exc.message})", where=where,
                             hint="e.g. unit = \"uM\" (with [model] volume) or "
                                  "unit = \"molecule\"") from None

    def apply_clamps(self, reactions, species):
        """Reactions with a clamped species (see :meth:`clamp_species`).

        A clamped species is not changed by any reaction (dropped from products and net
        changes), and a mass-action reaction that reads it to order 1 becomes input-driven:
        ``a = c · x_clamp · Π C(x_s, ν_s)`` with ``x_clamp = u(t) · (molecules per unit)``,
        i.e. kind ``"input"`` with ``c · molecules-per-unit`` per unit of the input. So one
        module (calmodulin binding Ca²⁺) serves a model with Ca²⁺ dynamics and a Ca²⁺ clamp.
        Refused: an order above 1, another rate kind, a rate law or channel reading it."""
        if not self.clamps:
            return reactions
        index = {species.index(name): i for name, i in self.clamps.items()}
        result = []
        for reaction in reactions:
            where = self.where("reactions", reaction.rule)
            read = [(s, n) for s, n in reaction.reactants if s in index]
            law_reads = [s for s, _ in reaction.modifier if s in index] + [
                s for s in reaction.saturation if s in index]
            if law_reads:
                raise self.error(f"reaction '{reaction.rule}' reads the clamped species "
                                 f"'{species[law_reads[0]]}' in its {reaction.kind} law; a "
                                 "clamp drives mass-action reactions only", where=where,
                                 hint="give the law another regulator, or do not clamp it")
            products = tuple((s, n) for s, n in reaction.products if s not in index)
            if not read:
                result.append(replace(reaction, products=products) if len(products)
                              != len(reaction.products) else reaction)
                continue
            (s, order), = read if len(read) == 1 else (None,) * 2
            if len(read) != 1 or order != 1 or reaction.kind != "mass_action":
                raise self.error(f"reaction '{reaction.rule}' reads the clamped species "
                                 f"'{species[read[0][0]]}'"
                                 + (f" to order {read[0][1]}" if len(read) == 1 else
                                    " together with another clamped species")
                                 + ("" if reaction.kind == "mass_action" else
                                    f" with a {reaction.kind} rate")
                                 + "; a clamp turns a mass-action reaction of order 1 in it "
                                   "into an input-driven one, and no other", where=where,
                                 hint=f"write '{species[read[0][0]]}' once on the left, with "
                                      "a mass-action rate, or do not clamp it")
            item = self.inputs[index[s]]
            lowest = (item.value + min((0.0,) + item.step_values) - abs(item.sine_amplitude)
                      + (-math.inf if any(p.amplitude < 0 for p in item.pulses) else 0.0))
            if lowest < 0:
                raise self.error(f"input '{item.name}' clamps '{species[s]}' but can reach "
                                 f"{lowest:g} {item.unit}", where=where,
                                 hint="a clamped amount must stay >= 0")
            per_unit = self.molecules_per_input_unit(index[s], where)
            result.append(replace(
                reaction, kind="input", input=index[s], rate=reaction.rate * per_unit,
                reactants=tuple(r for r in reaction.reactants if r[0] != s),
                products=products))
        return result
