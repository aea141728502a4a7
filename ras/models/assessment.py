"""Assessments as read from files, and as validated against a point table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from ras.errors import Issue


class Cell(NamedTuple):
    """A value read from a sheet, with where it was found."""

    value: Any
    cell: str
    formula: bool = False
    merged_into: str = ""  # the merged range this cell lies inside, if not its top-left
    error: str = ""  # the error the cell shows (#N/A), which reads as an empty value


@dataclass
class RawWorkbook:
    """An assessment workbook's values, found by header and label (SPEC §4.1-4.2)."""

    person_sheet: str
    questionnaire_sheet: str
    fields: dict[str, Cell]  # normalised label on the Person sheet -> value
    answers: dict[str, Cell]  # normalised question ID -> Answer cell
    meta: dict[str, str]  # from the very hidden `ras` sheet: name, version, fingerprint
    #: a label given again on the Person sheet with another value -> that later cell
    repeated: dict[str, Cell] = field(default_factory=dict)


@dataclass
class RawBulk:
    """A bulk table: a header row and the rows under it (SPEC §4.3)."""

    sheet: str  # "" for CSV
    header: list[str]
    header_row: int  # 1-based row number of the header
    rows: Iterable[list[Any]]  # a list, or an iterator over the file (read once)


@dataclass
class FileResult:
    """What a worker read from one input file."""

    source: str
    sha256: str = ""
    workbook: RawWorkbook | None = None
    bulk: RawBulk | None = None
    macros: bool = False
    issues: list[Issue] = field(default_factory=list)


@dataclass(frozen=True)
class Assessment:
    """A validated assessment: every answer is one of the table's labels."""

    person_id: str
    source: str
    fields: dict[str, str | Decimal | None]  # person field id -> value
    answers: dict[str, str]  # question id -> canonical answer label (answered only)
    sheet: str = ""  # where the Person ID is: the Person sheet, or the bulk table's
    row: int = 0  # bulk rows: 1-based row number; 0 for workbooks
    warnings: tuple[str, ...] = ()
    cell: str = ""  # workbooks: the Person ID's cell

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Compact pickling: workers send hundreds of thousands of these."""
        return (
            Assessment,
            (
                self.person_id,
                self.source,
                self.fields,
                self.answers,
                self.sheet,
                self.row,
                self.warnings,
                self.cell,
            ),
        )
