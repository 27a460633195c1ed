"""The version of stochsyn, in one place at the bottom of the package: the public API
(``stochsyn.__version__``), the provenance of every run and the packaging metadata
(``pyproject.toml``, ``[tool.setuptools.dynamic]``) read it from here."""

__version__ = "0.1.0"
