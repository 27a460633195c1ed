"""SBML import and export.

* :mod:`.reader` — :func:`~stochsyn.model.sbml.reader.load_sbml` (``stochsyn.load_model``
  reads ``.xml`` and ``.sbml`` files with it), with its parts :mod:`.mathml` (the MathML
  walker), :mod:`.reactions` (stoichiometry, and kinetic laws recognised as mass action),
  :mod:`.events` (events and observables) and :mod:`.annotations` (stochsyn's annotations);
* :mod:`.writer` — :func:`~stochsyn.model.sbml.writer.write_sbml`, behind
  :meth:`stochsyn.Model.to_sbml`;
* :mod:`.common` — what both use: the annotation namespace, the import of python-libsbml.

This file imports none of them: ``stochsyn.model.model`` imports the writer, and the reader
imports ``stochsyn.model.model``, so a package that loaded its reader would be a circle.
"""
