"""SBML import and export: :mod:`.reader` (:func:`~stochsyn.model.sbml.reader.load_sbml`,
which ``stochsyn.load_model`` uses for ``.xml`` and ``.sbml`` files, and
:func:`~stochsyn.model.sbml.reader.write_sbml`, behind :meth:`stochsyn.Model.to_sbml`).

This file imports neither: ``stochsyn.model.model`` uses the writer and the reader uses
``stochsyn.model.model``.
"""
