"""docs/validation.md lists every validation target V1–V26 once, with a status, and every
script and test it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "validation.md"
STATUSES = ("reproduced", "partly", "not yet")


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*(V\d+)\s*\|", line)
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} is listed twice"
            cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
            rows[m.group(1)] = [cell.strip() for cell in cells]
    return rows


def test_every_target_has_one_row_with_a_status():
    rows = _rows()
    assert list(rows) == [f"V{k}" for k in range(1, 27)]
    for name, cells in rows.items():
        assert len(cells) == 6, name
        assert cells[2].startswith(STATUSES), (name, cells[2])


def test_every_named_script_and_test_exists():
    text = TABLE.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:analysis|tests/[a-z_]+)/[A-Za-z0-9_]+\.py)", text))
    assert len(paths) > 15
    missing = sorted(p for p in paths if not (ROOT / p).is_file())
    assert not missing, missing


def test_the_readme_links_the_table():
    assert "(docs/validation.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
