"""docs/formats.md is made from the sheet schemas: a stale column table fails here."""

from __future__ import annotations

import re

from ras.io.schemas import DOCUMENTED, SHEETS, columns_markdown, with_columns
from tests.conftest import ROOT

FORMATS = ROOT / "docs" / "formats.md"


def test_formats_md_column_tables_are_fresh() -> None:
    text = FORMATS.read_text(encoding="utf-8")
    assert with_columns(text) == text, "docs/formats.md is stale: run python tools/regenerate.py"


def test_every_documented_workbook_has_its_tables() -> None:
    text = FORMATS.read_text(encoding="utf-8")
    marked = re.findall(r"<!-- columns: (\S+) -->", text)
    assert sorted(marked) == sorted(DOCUMENTED)
    for schema in SHEETS.values():
        assert f"`{schema.headers[0]}`" in text
        assert schema.workbook in {"placements.xlsx", "contracts.xlsx", *DOCUMENTED}


def test_a_schema_change_shows_in_the_docs() -> None:
    """Not vacuous: the tables follow the schema (a renamed column would go stale)."""
    table = columns_markdown("plan.xlsx")
    for column in SHEETS["moves"].columns:
        assert f"| `{column.name}` |" in table


def test_every_issue_code_is_documented() -> None:
    """docs/architecture.md lists every Issue code the source uses."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "ras").rglob("*.py"))
    used = set(re.findall(r'Issue\(\s*"([a-z-]+)"', source))
    used |= set(re.findall(r'\.(?:error|warn)\(\s*"([a-z-]+)"', source))
    used |= set(re.findall(r'code: str = "([a-z-]+)"', source))
    documented = set(
        re.findall(r"`([a-z]+(?:-[a-z]+)*)`", (ROOT / "docs" / "architecture.md").read_text())
    )
    assert len(used) > 20
    assert used <= documented, sorted(used - documented)
