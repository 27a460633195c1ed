"""The corpus inputs too large (or too odd) to keep in the repository, written at test time.

Each function writes into ``folder`` (the case's own temporary folder, also its working
directory) the files its case in ``cases.toml`` names with ``{tmp}``. They are built by
code, not stored, so that a 50 MB file or a named pipe is what the test says it is.
"""

from __future__ import annotations

import os
from pathlib import Path

_MODEL = """# BAD: {what}
[model]
name = "generated"
volume = "0.1 fL"

[parameters]
k = {k}

[species]
X = 10

[[reactions]]
name = "decay"
equation = "{equation}"
rate = "k"
"""


def _model(what: str, k: str = '"0.1 /s"', equation: str = "X ->") -> str:
    return _MODEL.format(what=what, k=k, equation=equation)


def flat_sum(folder: Path) -> None:
    """A parameter that is a sum of 20,000 ones (40 KB): RecursionError before."""
    (folder / "flat_sum.toml").write_text(_model(
        "a sum of 20,000 terms", k='"' + "+".join(["1"] * 20_000) + ' /s"'))


def juxtaposition(folder: Path) -> None:
    """20,000 numbers multiplied by juxtaposition ('1 1 1 ...')."""
    (folder / "juxtaposition.toml").write_text(_model(
        "20,000 factors side by side", k='"' + " ".join(["1"] * 20_000) + ' /s"'))


def big_model(folder: Path) -> None:
    """A 50 MB model file: a parameter table of about 2 million entries."""
    with open(folder / "big.toml", "w", encoding="utf-8") as handle:
        handle.write("# BAD: a 50 MB model file\n[parameters]\n")
        line = 0
        while handle.tell() < 50_000_000:
            handle.write("".join(f'k{line + i} = "{line + i}.5 /s"\n' for i in range(10_000)))
            line += 10_000


def big_include(folder: Path) -> None:
    """A small model that includes a 12 MB fragment."""
    with open(folder / "big_fragment.toml", "w", encoding="utf-8") as handle:
        handle.write("[parameters]\n")
        while handle.tell() < 12_000_000:
            handle.write("# padding " + "x" * 90 + "\n")
    (folder / "includes_big.toml").write_text(
        "# BAD: includes a 12 MB fragment\n[model]\nname = \"includes_big\"\n"
        "include = [\"big_fragment.toml\"]\n\n[species]\nX = 1\n")


def big_sbml(folder: Path) -> None:
    """A 50 MB SBML file (a comment of padding)."""
    with open(folder / "big.xml", "w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<!-- ')
        while handle.tell() < 50_000_000:
            handle.write("x" * 10_000)
        handle.write(" -->\n<sbml/>\n")


def fifo(folder: Path) -> None:
    """A named pipe as the model and as an included file (reading one blocks for ever)."""
    os.mkfifo(folder / "pipe.toml")
    (folder / "includes_pipe.toml").write_text(
        "# BAD: includes a named pipe\n[model]\nname = \"includes_pipe\"\n"
        "include = [\"pipe.toml\"]\n\n[species]\nX = 1\n")


def include_diamond(folder: Path) -> None:
    """Twelve levels of fragments, each including both of the next level: 2^12 reads."""
    levels = 12
    for level in range(levels):
        for side in "ab":
            nxt = ("[]" if level == levels - 1 else
                   f'["level{level + 1}a.toml", "level{level + 1}b.toml"]')
            (folder / f"level{level}{side}.toml").write_text(
                f"[model]\ninclude = {nxt}\n\n[species]\nX{level}{side} = 1\n")
    (folder / "diamond.toml").write_text(
        "# BAD: fragments that include each other two by two, 12 levels deep\n"
        "[model]\nname = \"diamond\"\ninclude = [\"level0a.toml\", \"level0b.toml\"]\n")


def include_chain(folder: Path) -> None:
    """A chain of 40 files, each including the next."""
    for i in range(40):
        nxt = f'["chain{i + 1}.toml"]' if i < 39 else "[]"
        (folder / f"chain{i}.toml").write_text(f"[model]\ninclude = {nxt}\n\n[species]\n"
                                                f"X{i} = 1\n")
    (folder / "chain.toml").write_text("# BAD: includes nested 40 files deep\n[model]\n"
                                       "name = \"chain\"\ninclude = [\"chain0.toml\"]\n")


def long_species_name(folder: Path) -> None:
    """An equation naming an undeclared species of 1,000,000 characters (its name was
    printed two or three times in one message)."""
    (folder / "long_name.toml").write_text(_model(
        "an unknown species with a name of a million characters",
        equation="X -> " + "Y" * 1_000_000))


def long_parameter_name(folder: Path) -> None:
    """A rate naming an undefined parameter of 1,000,000 characters."""
    (folder / "long_parameter.toml").write_text(_model(
        "an unknown parameter with a name of a million characters",
        k='"' + "k" * 1_000_000 + '"'))


def deep_mathml(folder: Path) -> None:
    """A kinetic law nested 5,000 levels deep (beyond libsbml's comfort and ours)."""
    (folder / "deep_mathml.xml").write_text(_sbml(
        "a kinetic law 5,000 levels deep",
        "<apply><times/>" + "<apply><plus/><cn>0</cn>" * 5000 + "<ci>k</ci>"
        + "</apply>" * 5000 + "<ci>X</ci></apply>"))


def deep_annotation(folder: Path) -> None:
    """An annotation nested 100,000 elements deep: libsbml's parser crashed the
    interpreter (a C++ stack overflow, exit status 139)."""
    (folder / "deep_annotation.xml").write_text(_sbml(
        "an annotation 100,000 elements deep", "<apply><times/><ci>k</ci><ci>X</ci></apply>",
        annotation='<annotation>' + '<x:a xmlns:x="http://example.org">' * 100_000
        + "</x:a>" * 100_000 + "</annotation>"))


def finished_run(folder: Path) -> None:
    """A results folder that already holds a run (a manifest.json)."""
    (folder / "done").mkdir()
    (folder / "done" / "manifest.json").write_text("{}")


def _sbml(what: str, law: str, annotation: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- BAD: {what} -->
<sbml xmlns="http://www.sbml.org/sbml/level3/version1/core" level="3" version="1">
  <model id="generated" substanceUnits="item" timeUnits="second" extentUnits="item">
    {annotation}
    <listOfCompartments>
      <compartment id="cell" spatialDimensions="3" size="1" constant="true"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="X" compartment="cell" initialAmount="10" hasOnlySubstanceUnits="true"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters>
      <parameter id="k" value="0.1" constant="true"/>
    </listOfParameters>
    <listOfReactions>
      <reaction id="decay" reversible="false" fast="false">
        <listOfReactants>
          <speciesReference species="X" stoichiometry="1" constant="true"/>
        </listOfReactants>
        <kineticLaw>
          <math xmlns="http://www.w3.org/1998/Math/MathML">{law}</math>
        </kineticLaw>
      </reaction>
    </listOfReactions>
  </model>
</sbml>
"""
