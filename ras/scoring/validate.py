"""Raw values + point table -> validated assessments and exceptions (SPEC §4.2-4.4)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ras.cells import (
    ID_DATE_FIX,
    col_letters,
    heading_key,
    id_date_problem,
    is_blank,
    to_decimal,
    to_text,
)
from ras.errors import (
    ERROR_FIX,
    SPREADSHEET_ERRORS,
    Issue,
    Location,
    Severity,
    error_problem,
    quote,
)
from ras.models.assessment import Assessment, Cell, FileResult, RawWorkbook
from ras.models.base import MONEY_LIMIT
from ras.models.table import PersonField, PointTable, norm
from ras.number_text import number_fix

PERSON_ID = "Person ID"


@dataclass(frozen=True)
class TableIndex:
    """Look-ups prepared once per table for fast matching."""

    table: PointTable
    fingerprint: str
    answers: dict[str, dict[str, str]]  # question id -> normalised label -> label
    options: dict[str, dict[str, str]]  # field id -> normalised option -> option
    required: frozenset[str]
    question_keys: tuple[tuple[str, str], ...]  # (question id, normalised id)
    field_keys: tuple[tuple[str, str, str], ...]  # (field id, normalised label, normalised id)

    @property
    def headings(self) -> frozenset[str]:
        """Every bulk table heading ras reads, normalised: Person ID, fields, questions."""
        return frozenset(
            [norm(PERSON_ID), *(k for _, k in self.question_keys)]
            + [k for _, label, ident in self.field_keys for k in (label, ident)]
        )

    @classmethod
    def build(cls, table: PointTable, fingerprint: str) -> TableIndex:
        """Index a table."""
        answers: dict[str, dict[str, str]] = {}
        for _, q in table.questions():
            m: dict[str, str] = {}
            for label in q.answers:
                m[norm(label)] = label
                m.setdefault(label, label)  # exact text: no normalising needed
                d = to_decimal(label)
                if d is not None:  # a number typed for a numeric label: 3 == "3" == "3.0"
                    m.setdefault("#" + str(d.normalize()), label)
            answers[q.id] = m
        options = {
            f.id: {
                **{norm(f.labels.get(o, o)): o for o in f.options},  # a label typed
                **{norm(o): o for o in f.options},
                **{o: o for o in f.options},
            }
            for f in table.person_fields
            if f.options is not None
        }
        required = frozenset(q.id for _, q in table.questions() if q.required)
        qkeys = tuple((q.id, norm(q.id)) for _, q in table.questions())
        fkeys = tuple((f.id, norm(f.label), norm(f.id)) for f in table.person_fields)
        return cls(table, fingerprint, answers, options, required, qkeys, fkeys)


def _shown_options(f: PersonField) -> str:
    """A field's options as people read them (labels)."""
    return ", ".join(repr(str(f.shown(o))) for o in f.options or ())


def _allowed(labels: dict[str, str]) -> str:
    values = list(dict.fromkeys(labels.values()))
    return ", ".join(repr(v) for v in values)


def _match(value: Any, labels: dict[str, str]) -> str | None:
    text = to_text(value)
    hit = labels.get(text) or labels.get(norm(text))
    if hit is None:
        d = to_decimal(value) if not isinstance(value, str) or text[:1].isdigit() else None
        if d is not None:
            hit = labels.get("#" + str(d.normalize()))
    return hit


class _Record:
    """Collects the problems of one assessment as it is validated."""

    def __init__(self, source: str, person_id: str) -> None:
        self.source, self.person_id = source, person_id
        self.issues: list[Issue] = []
        self.warnings: list[str] = []

    def _where(self, sheet: str, cell: str | int) -> Location:
        if isinstance(cell, int):  # a whole row of a bulk table
            return Location(self.source, sheet, row=cell)
        return Location(self.source, sheet, cell)

    def error(self, code: str, sheet: str, cell: str | int, problem: str, fix: str) -> None:
        self.issues.append(Issue(code, self._where(sheet, cell), problem, fix, self.person_id))

    def warn(self, code: str, sheet: str, cell: str, problem: str, fix: str = "") -> None:
        self.warnings.append(problem)
        self.issues.append(
            Issue(code, self._where(sheet, cell), problem, fix, self.person_id, Severity.WARNING)
        )

    def id_date(self, sheet: str, cell: str, value: Any) -> None:
        """Warn of a Person ID that a spreadsheet took for a date (``1-12``)."""
        slip = id_date_problem("the Person ID", value)
        if slip is not None:
            self.warn("id-is-a-date", sheet, cell, slip, ID_DATE_FIX)


def _cell_value(rec: _Record, sheet: str, c: Cell, what: str) -> Any:
    """The usable value of a cell, or None (problems recorded)."""
    if c.error:
        rec.error("cell-error", sheet, c.cell, error_problem(what, c.error), ERROR_FIX)
        return None
    if c.merged_into:
        rec.error(
            "merged-cell",
            sheet,
            c.cell,
            f"{what} is inside merged cells {c.merged_into}",
            "unmerge the cells and fill each one",
        )
        return None
    if c.formula:
        if c.value is None:
            rec.error(
                "formula-without-value",
                sheet,
                c.cell,
                f"{what} holds a formula with no calculated value",
                "type the value instead of a formula",
            )
            return None
        rec.warn(
            "formula-value-used",
            sheet,
            c.cell,
            f"{what} holds a formula; its calculated value was used",
        )
    return c.value


def _check_field(
    rec: _Record,
    f: PersonField,
    index: TableIndex,
    sheet: str,
    c: Cell | None,
    out: dict[str, str | Decimal | None],
) -> None:
    value = None if c is None else _cell_value(rec, sheet, c, f"'{f.label}'")
    cell = c.cell if c is not None else ""
    if c is not None and (c.merged_into or c.error or (c.formula and c.value is None)):
        return
    if is_blank(value):
        out[f.id] = None
        if f.required:
            rec.error(
                "missing-value",
                sheet,
                cell,
                f"'{f.label}' is missing",
                "fill it in"
                + (f" with one of {_shown_options(f)}" if f.id in index.options else ""),
            )
        return
    if f.id in index.options:
        hit = _match(value, index.options[f.id])
        if hit is None:
            rec.error(
                "not-an-option",
                sheet,
                cell,
                f"'{f.label}' is {quote(to_text(value))}, which is not allowed",
                f"choose one of {_shown_options(f)}",
            )
            return
        out[f.id] = hit
    elif f.type in ("money", "number"):
        d = to_decimal(value)
        if d is None or (f.type == "money" and not 0 <= d <= MONEY_LIMIT):
            kind = "an amount of money" if f.type == "money" else "a number"
            rec.error(
                "not-a-number",
                sheet,
                cell,
                f"'{f.label}' is {quote(to_text(value))}, which is not {kind}",
                number_fix(value, "type a number such as 12500.00"),
            )
            return
        out[f.id] = d
    else:
        out[f.id] = to_text(value)


def _check_answers(
    rec: _Record,
    index: TableIndex,
    sheet: str,
    cells: dict[str, Cell | None],
    skip: frozenset[str] = frozenset(),
) -> dict[str, str]:
    answers: dict[str, str] = {}
    for _, q in index.table.questions():
        if q.id in skip:
            continue
        c = cells.get(q.id)
        if c is not None and (c.merged_into or c.formula or c.error):
            value = _cell_value(rec, sheet, c, f"the answer to {q.id}")
            if value is None:
                continue
        else:
            value = None if c is None else c.value
        if is_blank(value):
            if q.required:
                rec.error(
                    "not-answered",
                    sheet,
                    c.cell if c is not None else "",
                    f"question {q.id} is not answered",
                    f"choose one of {_allowed(index.answers[q.id])}",
                )
            continue
        hit = _match(value, index.answers[q.id])
        if hit is None:
            assert c is not None
            rec.error(
                "not-an-option",
                sheet,
                c.cell,
                f"the answer to {q.id} is {quote(to_text(value))}, which is not allowed",
                f"choose one of {_allowed(index.answers[q.id])}",
            )
            continue
        answers[q.id] = hit
    return answers


def _person_id(value: Any) -> str:
    return to_text(value)


def _nothing_filled_in(raw: RawWorkbook) -> bool:
    """Whether no field and no answer of a workbook holds anything.

    A cell showing an error, such as #N/A, holds something.
    """
    cells = itertools.chain(raw.fields.values(), raw.answers.values())
    return all(is_blank(c.value) and not c.error for c in cells)


def validate_workbook(
    result: FileResult, index: TableIndex
) -> tuple[list[Assessment], list[Issue]]:
    """Validate one assessment workbook: one assessment, or its exceptions."""
    raw = result.workbook
    assert raw is not None
    pid_cell = raw.fields.get(norm(PERSON_ID))
    pid = "" if pid_cell is None or is_blank(pid_cell.value) else _person_id(pid_cell.value)
    rec = _Record(result.source, pid)
    if pid_cell is not None and (pid_cell.formula or pid_cell.merged_into or pid_cell.error):
        if _cell_value(rec, raw.person_sheet, pid_cell, "the Person ID") is None:
            return [], rec.issues
    if not pid and _nothing_filled_in(raw):
        # A blank copy of the template among the completed ones: one line, not one for
        # every field and question (a 13-question table gave 15).
        rec.error(
            "blank-assessment",
            raw.person_sheet,
            pid_cell.cell if pid_cell else "",
            "the assessment is blank: no Person ID, no details and no answers",
            "fill it in, or take it out of the folder of completed assessments",
        )
        return [], rec.issues
    if pid_cell is not None:
        rec.id_date(raw.person_sheet, pid_cell.cell, pid_cell.value)
    if result.macros:
        rec.warn(
            "macros-ignored",
            "",
            "",
            "macro-enabled workbook: values were read, macros were ignored",
        )
    if not pid:
        rec.error(
            "missing-person-id",
            raw.person_sheet,
            pid_cell.cell if pid_cell else "",
            "the Person ID is missing",
            "type the person's ID next to 'Person ID' on the Person sheet",
        )
    read = [(PERSON_ID, norm(PERSON_ID))] + [
        (f.label, k)
        for f, (_, lk, ik) in zip(index.table.person_fields, index.field_keys, strict=True)
        for k in (lk, ik)
    ]
    for label, key in read:
        again = raw.repeated.get(key)
        if again is not None:
            rec.error(
                "field-twice",
                raw.person_sheet,
                again.cell,
                f"{label!r} is given twice, with another value (first at {raw.fields[key].cell})",
                "keep one row per field: one workbook is one person's assessment",
            )
    fields: dict[str, str | Decimal | None] = {}
    for f, (_, label_key, id_key) in zip(index.table.person_fields, index.field_keys, strict=True):
        c = raw.fields.get(label_key) or raw.fields.get(id_key)
        _check_field(rec, f, index, raw.person_sheet, c, fields)
    cells: dict[str, Cell | None] = {qid: raw.answers.get(key) for qid, key in index.question_keys}
    missing_rows = [q.id for _, q in index.table.questions() if cells[q.id] is None and q.required]
    for qid in missing_rows:
        rec.error(
            "question-row-missing",
            raw.questionnaire_sheet,
            "",
            f"question {qid} has no row on the sheet",
            "use a workbook made by `ras template assessment` for this table",
        )
    answers = _check_answers(rec, index, raw.questionnaire_sheet, cells, frozenset(missing_rows))
    if any(i.severity == "error" for i in rec.issues):
        return [], rec.issues
    fp = raw.meta.get("fingerprint", "")
    if fp and fp != index.fingerprint:
        rec.warn(
            "other-table-version",
            "ras",
            "",
            (
                f"made from table {raw.meta.get('table', '?')!r} "
                f"version {raw.meta.get('version', '?')}; "
                f"scored with version {index.table.version} (every answer is valid)"
            ),
        )
    return [
        Assessment(
            pid,
            result.source,
            fields,
            answers,
            raw.person_sheet,
            0,
            tuple(rec.warnings),
            pid_cell.cell if pid_cell else "",
        )
    ], rec.issues


class _FastRow:
    """The common case of a bulk row, checked without building cells.

    Every value is present and exactly as written in the table. Anything else takes
    the full path, which names the cell of each problem.
    """

    def __init__(
        self,
        index: TableIndex,
        pid_col: int,
        field_cols: dict[str, int | None],
        q_cols: dict[str, int | None],
    ) -> None:
        self.pid_col = pid_col
        self.usable = all(c is not None for c in q_cols.values()) and all(
            c is not None for c in field_cols.values()
        )
        self.questions = [
            (qid, col, index.answers[qid], qid in index.required) for qid, col in q_cols.items()
        ]
        self.fields = [
            (f, field_cols[f.id], index.options.get(f.id)) for f in index.table.person_fields
        ]

    def try_row(
        self, row: list[Any]
    ) -> tuple[str, dict[str, str | Decimal | None], dict[str, str]] | None:
        if not self.usable:
            return None
        n = len(row)
        pid = row[self.pid_col] if self.pid_col < n else None
        if type(pid) is not str or not pid or pid != pid.strip() or pid[0] == "#":
            return None  # (#N/A: the full checks name an error)
        answers: dict[str, str] = {}
        for qid, col, labels, required in self.questions:
            v = row[col] if col is not None and col < n else None
            if v is None or v == "":
                if required:
                    return None
                continue
            hit = labels.get(v) if type(v) is str else None
            if hit is None:
                return None
            answers[qid] = hit
        fields: dict[str, str | Decimal | None] = {}
        for f, col, options in self.fields:
            v = row[col] if col is not None and col < n else None
            if v is None or v == "":
                if f.required:
                    return None
                fields[f.id] = None
            elif options is not None:
                hit = options.get(v) if type(v) is str else None
                if hit is None:
                    return None
                fields[f.id] = hit
            elif f.type == "text":
                if type(v) is not str or v in SPREADSHEET_ERRORS:
                    return None
                fields[f.id] = v.strip()
            else:
                d = to_decimal(v)
                if d is None or (f.type == "money" and not 0 <= d <= MONEY_LIMIT):
                    return None
                fields[f.id] = d
        return pid, fields, answers


def validate_bulk(result: FileResult, index: TableIndex) -> tuple[list[Assessment], list[Issue]]:
    """Validate a bulk table: one assessment or exception(s) per non-empty row."""
    out: list[Assessment] = []
    issues: list[Issue] = []
    for people, problems in iter_bulk(result, index):
        out.extend(people)
        issues.extend(problems)
    return out, issues


#: Rows validated at a time by :func:`iter_bulk`.
BULK_CHUNK = 5_000


@dataclass(frozen=True)
class BulkLayout:
    """Where a bulk table's columns are (SPEC §4.3), found once from its header row."""

    source: str
    sheet: str
    pid_col: int
    field_cols: dict[str, int | None]  # person field id -> column (None: no column)
    q_cols: dict[str, int | None]  # question id -> column
    first: int  # row number of the first row under the header
    width: int  # columns in the header
    letters: dict[int, str]


def bulk_layout(result: FileResult, index: TableIndex) -> BulkLayout | Issue:
    """The columns of a bulk table, or the exception when it has no Person ID column."""
    bulk = result.bulk
    assert bulk is not None
    cols: dict[str, int] = {}
    read = index.headings  # every heading ras reads: Person ID, fields, questions
    for c, h in enumerate(bulk.header):
        key = norm(h) if h else ""
        if key in cols and key in read:  # which column is the answer? (the first was used)
            first = f"{col_letters(cols[key])}{bulk.header_row}"
            return Issue(
                "column-twice",
                Location(result.source, bulk.sheet, f"{col_letters(c)}{bulk.header_row}"),
                f"the column {quote(h)} appears twice (first at {first})",
                "keep one of them",
            )
        if key and key not in cols:
            cols[key] = c
    for f in index.table.person_fields:
        by_id, by_label = cols.get(norm(f.id)), cols.get(norm(f.label))
        if by_id is not None and by_label is not None and by_id != by_label:
            return Issue(
                "column-twice",
                Location(result.source, bulk.sheet, f"{col_letters(by_label)}{bulk.header_row}"),
                f"{f.label!r} has two columns, by its id ({f.id!r}, "
                f"{col_letters(by_id)}{bulk.header_row}) and by its label",
                "keep one of them",
            )
    pid_col = cols.get(norm(PERSON_ID))
    if pid_col is None:  # typed otherwise: person_id, PersonID, Person-ID
        want = heading_key(PERSON_ID)
        pid_col = next((c for c, h in enumerate(bulk.header) if h and heading_key(h) == want), None)
    if pid_col is None:
        return Issue(
            "column-missing",
            Location(result.source, bulk.sheet, f"A{bulk.header_row}"),
            "no 'Person ID' column in the header row",
            "add a 'Person ID' column",
        )
    field_cols: dict[str, int | None] = {}
    for f in index.table.person_fields:
        field_cols[f.id] = cols.get(norm(f.id), cols.get(norm(f.label)))
    q_cols: dict[str, int | None] = {q.id: cols.get(norm(q.id)) for _, q in index.table.questions()}
    lacking = [
        f"field {f.label!r} ({f.id})"
        for f in index.table.person_fields
        if f.required and field_cols[f.id] is None
    ] + [f"question {q}" for q, col in q_cols.items() if col is None and q in index.required]
    if lacking:  # every row would fail for it: said once, of the file
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        return Issue(
            "column-missing",
            Location(result.source, bulk.sheet, row=bulk.header_row),
            f"no column for the required {', '.join(lacking[:5])}{more}",
            "add a column for each, headed by the question's id or the field's id or label",
        )
    letters = {c: col_letters(c) for c in range(len(bulk.header) + 1)}
    return BulkLayout(
        result.source,
        bulk.sheet,
        pid_col,
        field_cols,
        q_cols,
        bulk.header_row + 1,
        len(bulk.header),
        letters,
    )


def check_bulk_row(
    layout: BulkLayout, index: TableIndex, row: list[Any], rownum: int
) -> tuple[Assessment | None, list[Issue]]:
    """One bulk row the full way: its assessment, or the exceptions naming each cell.

    A blank row gives neither.
    """
    if not any(not is_blank(v) for v in row[: layout.width] if v is not None):
        return None, []
    sheet, letters = layout.sheet, layout.letters

    def cell(col: int | None) -> Cell | None:
        if col is None:
            return None
        v = row[col] if col < len(row) else None
        ref = f"{letters.get(col) or col_letters(col)}{rownum}"
        if type(v) is str and v in SPREADSHEET_ERRORS:  # a workbook's #N/A, or a CSV's
            return Cell(None, ref, error=v)
        return Cell(None if is_blank(v) else v, ref)

    pcell = cell(layout.pid_col)
    pid = "" if pcell is None or pcell.value is None else _person_id(pcell.value)
    rec = _Record(layout.source, pid)
    if pcell is not None:
        rec.id_date(sheet, pcell.cell, pcell.value)
    if pcell is not None and pcell.error:
        _cell_value(rec, sheet, pcell, "the Person ID")
    elif not pid:
        rec.error(
            "missing-person-id",
            sheet,
            f"{letters[layout.pid_col]}{rownum}",
            "the Person ID is missing",
            "fill in the 'Person ID' column",
        )
    fields: dict[str, str | Decimal | None] = {}
    for f in index.table.person_fields:  # a required one has a column (bulk_layout)
        _check_field(rec, f, index, sheet, cell(layout.field_cols[f.id]), fields)
    cells = {qid: cell(col) for qid, col in layout.q_cols.items()}
    answers = _check_answers(rec, index, sheet, cells)
    if any(i.severity == "error" for i in rec.issues):
        return None, rec.issues
    assessment = Assessment(pid, layout.source, fields, answers, sheet, rownum, tuple(rec.warnings))
    return assessment, rec.issues


def iter_bulk(
    result: FileResult, index: TableIndex, chunk: int = BULK_CHUNK
) -> Iterator[tuple[list[Assessment], list[Issue]]]:
    """Validate a bulk table ``chunk`` rows at a time, as its rows are read.

    Yields each chunk's assessments and exceptions: a table of any length is never
    held whole (its rows may be an iterator over the file).
    """
    bulk = result.bulk
    assert bulk is not None
    layout = bulk_layout(result, index)
    if isinstance(layout, Issue):
        yield [], [layout]
        return
    out: list[Assessment] = []
    issues: list[Issue] = []
    fast = _FastRow(index, layout.pid_col, layout.field_cols, layout.q_cols)
    first = layout.first
    for r, row in enumerate(bulk.rows):
        if len(out) + len(issues) >= chunk:
            yield out, issues
            out, issues = [], []
        quick = fast.try_row(row)
        if quick is not None:
            pid, fields_q, answers_q = quick
            out.append(Assessment(pid, result.source, fields_q, answers_q, bulk.sheet, first + r))
            continue
        assessment, problems = check_bulk_row(layout, index, row, first + r)
        issues.extend(problems)
        if assessment is not None:
            out.append(assessment)
    yield out, issues


def validate_file(result: FileResult, index: TableIndex) -> tuple[list[Assessment], list[Issue]]:
    """Validate whatever a worker read from one file."""
    if result.workbook is not None:
        return validate_workbook(result, index)
    if result.bulk is not None:
        return validate_bulk(result, index)
    return [], list(result.issues)
