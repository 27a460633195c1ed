"""Scientific citations point at the repository's own documents.

Modules, analysis scripts, tests, docs and code cite ``docs/science.md §N`` (or
``docs/decoding.md``), documents a user has; an outside working document is never cited.
Every ``docs/science.md §N`` cited must be a section of docs/science.md, so a renumbering
or a typo fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCIENCE_DOC = ROOT / "docs" / "science.md"
SKIPPED_DIRS = {".git", "__pycache__", ".pytest_cache", "out", "build", "dist"}
TEXT_SUFFIXES = {".py", ".toml", ".md", ".txt", ".cfg", ".ini", ".yml", ".yaml", ".json",
                 ".jl", ".sh", ""}
# Written in two parts so that this file does not match itself.
OUTSIDE_CITATION = re.compile("SCI" + r"ENCE(?:\.md)?\b")
# "§3.2-§3.3", "§3.2–3.3" and "§0, §4" cite two sections; "§3.1, 50 AMPARs" cites one
SECTION_CITATION = re.compile(r"docs/science\.md\s*§\s?(\d+(?:\.\d+)?)"
                              r"((?:\s*(?:[-–]\s*§?|,\s*§)\s?\d+(?:\.\d+)?)*)")


def _repository_text_files():
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.stat().st_size < 2_000_000:
            try:
                yield path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def _sections() -> set[str]:
    numbers = set()
    for line in SCIENCE_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{2,3}\s+(\d+(?:\.\d+)?)\.?\s", line)
        if match:
            numbers.add(match.group(1))
    return numbers


def test_no_file_cites_the_outside_working_document():
    offenders = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                 for path, text in _repository_text_files()
                 for m in OUTSIDE_CITATION.finditer(text)]
    assert not offenders, ("cite docs/science.md (or docs/decoding.md) with its section "
                           "instead: " + ", ".join(offenders[:20]))


def test_every_cited_section_exists():
    sections = _sections()
    assert {"0", "0.1", "2.2", "5", "9"} <= sections
    missing = []
    cited = 0
    for path, text in _repository_text_files():
        for match in SECTION_CITATION.finditer(text):
            numbers = [match.group(1)] + re.findall(r"\d+(?:\.\d+)?", match.group(2))
            for number in numbers:
                cited += 1
                if number not in sections:
                    missing.append(f"{path.relative_to(ROOT)}: §{number}")
    assert cited > 50          # the modules, scripts and tests do cite it
    assert not missing, "sections not in docs/science.md: " + ", ".join(missing[:20])


# Written in two parts so that this file does not match itself.
MACHINE_PATH = re.compile("/wo" + r"rk/out_\w+")


def test_the_user_documents_name_no_output_folder_of_one_machine():
    """The docs and the README name the file a script writes, not where one session
    kept it (a folder a user does not have)."""
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    offenders = [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
                 for path in documents
                 for text in [path.read_text(encoding="utf-8")]
                 for m in MACHINE_PATH.finditer(text)]
    assert not offenders, ("name the script's output file instead: "
                           + ", ".join(offenders[:20]))
