"""Reading untrusted input files into raw values (runs inside worker processes).

Nothing here knows the point table: the reader finds the Person and
Questionnaire sheets by their names, rows by their labels and columns by their
headers (SPEC §4.2), and hands back values with the cells they came from.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import functools
import hashlib
import io
import itertools
import mmap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from python_calamine import CalamineWorkbook

from ras.cells import cell_ref, col_letters, heading_key, is_blank, ref_position, to_text
from ras.errors import ERROR_FIX, InputError, Issue, Location, Severity, error_problem
from ras.io.guard import SheetInfo, SheetScan, file_bytes, inspect_workbook, scan_sheet, sniff
from ras.io.schemas import PERSON, QUESTIONNAIRE, SheetSchema
from ras.models.assessment import Cell, FileResult, RawBulk, RawWorkbook
from ras.models.table import norm

PERSON_SHEET = "Person"
QUESTIONNAIRE_SHEET = "Questionnaire"
META_SHEET = "ras"
MAX_CSV_BYTES = 1024 * 1024 * 1024
#: How many rows from the top a header row may be looked for.
HEADER_SEARCH_ROWS = 50
QUESTION_ID, ANSWER = QUESTIONNAIRE.headers[1], QUESTIONNAIRE.headers[3]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in blocks)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@functools.lru_cache(maxsize=4096)
def label_key(text: str) -> str:
    """``norm`` of a sheet name, heading, field label or question ID, remembered.

    Workbooks from one template repeat the same few dozen of these (each read a
    workbook is looked up, not normalised again); cell values are not, and go
    through ``norm`` itself.
    """
    return norm(text)


def _find_sheet(names: Iterable[str], wanted: str) -> str | None:
    key = label_key(wanted)
    for n in names:
        if label_key(n) == key:
            return n
    return None


#: The name :func:`read_sheets` reads the first visible sheet by.
FIRST_SHEET = ""


def _first_visible(sheets: Mapping[str, SheetInfo]) -> str | None:
    return next((n for n, info in sheets.items() if info.state == "visible"), None)


def read_sheets(
    path: Path,
    names: Iterable[str],
    required: Iterable[str] = (),
    formulas: dict[str, frozenset[str]] | None = None,
    refuse_uncalculated: Iterable[SheetSchema] = (),
    errors: dict[str, Mapping[str, str]] | None = None,
) -> dict[str, list[list[Any]]]:
    """Read named sheets of a trusted-format workbook (tables, registers), guarded.

    Sheet names match ignoring case; ``FIRST_SHEET`` is the first visible sheet, whatever
    its name. Missing optional sheets are left out. Given
    ``formulas``, each sheet's formula cells (``B7``) are put in it by name, less those
    whose result is saved as text: a formula that a program wrote without calculating it
    reads as an empty cell, and so does one calculated to an empty text (``=IF(…,"",…)``).
    On the sheets of ``refuse_uncalculated``, a formula that reads empty for want of a
    calculated value is refused instead, and so is a cell holding an error (``#N/A``),
    except in the columns the schema never reads. Given ``errors``, each sheet's error
    cells (``{"B7": "#N/A"}``, which read as empty) are put in it by name.

    Raises:
        InputError: the file is unsafe or damaged, a required sheet is missing, or a
            formula has no calculated value.
    """
    out: dict[str, list[list[Any]]] = {}
    with file_bytes(path) as data:
        if sniff(path, data) != "zip":
            raise InputError(f"{path}: expected an Excel workbook (.xlsx)")
        info = inspect_workbook(path, data)
        found = {
            n: _find_sheet(info.sheets, n) if n != FIRST_SHEET else _first_visible(info.sheets)
            for n in names
        }
        missing = [n for n in required if found.get(n) is None]
        if missing:
            raise InputError(
                f"{path}: no sheet named {', '.join(repr(m) for m in missing)} "
                f"(the sheets are: {', '.join(info.sheets) or 'none'})"
            )
        refuse = {s.sheet: s for s in refuse_uncalculated}
        detail = formulas is not None or bool(refuse)
        cells: dict[str, frozenset[str]] = {}
        failed: dict[str, Mapping[str, str]] = {}
        for n, actual in found.items():
            if actual is not None:
                scan = scan_sheet(info, info.sheets[actual], detail=detail)
                cells[n] = scan.formula_cells - scan.text_results
                failed[n] = scan.errors
        if formulas is not None:
            formulas.update(cells)
        if errors is not None:
            errors.update(failed)
        wb = _open_calamine(path, data)
        try:
            for n, actual in found.items():
                if actual is not None:
                    out[n] = wb.get_sheet_by_name(actual).to_python(skip_empty_area=False)
        finally:
            wb.close()
    for n, rows in out.items():
        if n in refuse:
            _refuse_uncalculated(path, found[n] or n, rows, cells[n], failed[n], refuse[n])
    return out


def _refuse_uncalculated(
    path: Path,
    sheet: str,
    rows: list[list[Any]],
    formulas: frozenset[str],
    failed: Mapping[str, str],
    schema: SheetSchema,
) -> None:
    """Raise if a cell ras reads holds an error, or a formula no program calculated.

    Columns that ras never reads (notes, the financial year ras writes as a formula) are
    left alone: a script that saves the workbook drops their values too.
    """
    if not formulas and not failed:
        return
    shown = {norm(c.name) for c in schema.columns if not c.read}
    heads = [norm(to_text(v)) for v in rows[0]] if rows else []

    def read(ref: str) -> bool:
        c = ref_position(ref)[1]
        return c >= len(heads) or heads[c] not in shown

    refuse_errors(path, sheet, {r: e for r, e in failed.items() if read(r)})
    blank = sorted((r for r in formulas if read(r) and is_blank(_at(rows, r))), key=ref_position)
    if blank:
        more = f" (and {len(blank) - 1} more)" if len(blank) > 1 else ""
        raise InputError(
            f"{path}, sheet {sheet!r}, cell {blank[0]}{more}: holds a formula with no "
            "calculated value (the program that wrote the file did not calculate it); "
            "open the file in Excel or LibreOffice and save it, or type the value"
        )


def refuse_errors(
    path: Path, sheet: str, failed: Mapping[str, str], columns: Iterable[int] | None = None
) -> None:
    """Raise if a cell (of ``columns``, 0-based, if given) shows an error.

    ``failed`` is a sheet's error cells from :func:`read_sheets`. Such a cell reads as
    empty, so a budget, a cost or an ID would otherwise be lost without a word.
    """
    wanted = None if columns is None else set(columns)
    wrong = sorted(
        (r for r in failed if wanted is None or ref_position(r)[1] in wanted), key=ref_position
    )
    if wrong:
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        where = f", sheet {sheet!r}" if sheet else ""
        raise InputError(
            f"{path}{where}, cell {wrong[0]}{more}: "
            f"{error_problem('the cell', failed[wrong[0]])}; {ERROR_FIX}"
        )


def _at(rows: list[list[Any]], ref: str) -> Any:
    r, c = ref_position(ref)
    row = rows[r - 1] if r - 1 < len(rows) else []
    return row[c] if c < len(row) else None


def _open_calamine(path: Path, data: bytes | mmap.mmap) -> CalamineWorkbook:
    """The parser over the bytes the guard checked (a large, mapped file by its path)."""
    try:
        if isinstance(data, bytes):
            return CalamineWorkbook.from_filelike(io.BytesIO(data))
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise InputError(
            f"{path}: the workbook cannot be read ({_short(exc)}); save it again"
        ) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def _merged_lookup(merged: tuple[str, ...]) -> dict[str, str]:
    """Cells inside merged ranges that are not the top-left cell -> the range."""
    out: dict[str, str] = {}
    for rng in merged:
        a, b = rng.split(":")
        (r0, c0), (r1, c1) = ref_position(a), ref_position(b)
        if (r1 - r0 + 1) * (c1 - c0 + 1) > 10_000:
            continue
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    out[cell_ref(r - 1, c)] = rng
    return out


_LETTERS = [col_letters(c) for c in range(64)]


def _cell(rows: list[list[Any]], r: int, c: int, scan: SheetScan, merged: dict[str, str]) -> Cell:
    row = rows[r] if r < len(rows) else ()
    value = row[c] if c < len(row) else None
    ref = (_LETTERS[c] if c < 64 else col_letters(c)) + str(r + 1)
    blank = is_blank(value)
    return Cell(
        None if blank else value,
        ref,
        bool(scan.formula_cells)
        and ref in scan.formula_cells
        and not (blank and ref in scan.text_results),  # a calculated "" is a blank cell
        merged.get(ref, "") if merged else "",
        scan.errors.get(ref, "") if scan.errors and blank else "",
    )


def header_row(
    rows: list[list[Any]], needed: tuple[str, ...], key: Callable[[str], str] = norm
) -> tuple[int, dict[str, int]] | None:
    """The first row (of the first 50) with every heading ``needed``, and its columns.

    Headings match by ``key`` (as labels do, by default); None if no row has them all.
    """
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        cols = {key(v): c for c, v in enumerate(row) if isinstance(v, str) and v.strip()}
        if all(key(n) in cols for n in needed):
            return r, cols
    return None


def _read_person(
    path: Path,
    sheet: str,
    rows: list[list[Any]],
    scan: SheetScan,
    merged: dict[str, str],
    repeated: dict[str, Cell],
) -> dict[str, Cell]:
    head = header_row(rows, PERSON.headers, label_key)
    if head is not None:
        start, cols = head
        label_col, value_col = (cols[label_key(h)] for h in PERSON.headers)
        start += 1
    else:
        found = None
        for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            for c, v in enumerate(row):
                if isinstance(v, str) and norm(v) == norm("Person ID"):
                    found = (r, c)
                    break
            if found:
                break
        if found is None:
            raise InputError(
                f"{path}: sheet {sheet!r}: no 'Field | Value' header and no 'Person ID' row; "
                "use the sheet from `ras template assessment`"
            )
        start, label_col = found
        value_col = label_col + 1
    fields: dict[str, Cell] = {}
    for r in range(start, len(rows)):
        row = rows[r]
        label = row[label_col] if label_col < len(row) else None
        if is_blank(label):
            continue
        key = label_key(to_text(label))
        if key not in fields:
            fields[key] = _cell(rows, r, value_col, scan, merged)
        elif key not in repeated:  # a second person pasted below the first, perhaps
            again = _cell(rows, r, value_col, scan, merged)
            if again.value is not None and to_text(again.value) != to_text(fields[key].value):
                repeated[key] = again
    return fields


def _read_questionnaire(
    path: Path, sheet: str, rows: list[list[Any]], scan: SheetScan, merged: dict[str, str]
) -> dict[str, Cell]:
    head = header_row(rows, (QUESTION_ID, ANSWER), label_key)
    if head is None:
        raise InputError(
            f"{path}: sheet {sheet!r}: no header row with 'Question ID' and 'Answer'; "
            "use the sheet from `ras template assessment`"
        )
    start, cols = head
    qcol, acol = cols[label_key(QUESTION_ID)], cols[label_key(ANSWER)]
    answers: dict[str, Cell] = {}
    for r in range(start + 1, len(rows)):
        row = rows[r]
        qid = row[qcol] if qcol < len(row) else None
        if is_blank(qid):
            continue
        key = label_key(to_text(qid))
        if key in answers:
            raise InputError(
                f"{path}: sheet {sheet!r}, cell {cell_ref(r, qcol)}: question "
                f"{to_text(qid)!r} appears twice; keep one row per question"
            )
        answers[key] = _cell(rows, r, acol, scan, merged)
    return answers


def _read_meta(rows: list[list[Any]]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for row in rows:
        if len(row) >= 2 and not is_blank(row[0]):
            meta[to_text(row[0]).casefold()] = to_text(row[1])
    return meta


def _bulk_from_rows(sheet: str, rows: Iterable[list[Any]]) -> RawBulk:
    """A bulk table from its rows: the first non-blank row (of the first 50) is the header.

    ``rows`` may be an iterator: the rows under the header are not read here.
    """
    it = iter(rows)
    for r, row in enumerate(itertools.islice(it, HEADER_SEARCH_ROWS)):
        if any(not is_blank(v) for v in row):
            header = [to_text(v) for v in row]
            return RawBulk(sheet=sheet, header=header, header_row=r + 1, rows=it)
    return RawBulk(sheet=sheet, header=[], header_row=1, rows=[])


def _absolute_rows(sheet: Any) -> Iterator[list[Any]]:
    """A sheet's rows one by one, padded from A1 (as ``to_python(skip_empty_area=False)``).

    calamine's rows start at row 1 but at the first column in use; the padding keeps
    column letters in messages true to the sheet.
    """
    c0 = (sheet.start or (0, 0))[1]
    if c0:
        pad = [None] * c0
        for row in sheet.iter_rows():
            yield pad + row
    else:
        yield from sheet.iter_rows()


def _with_errors(rows: Iterable[list[Any]], errors: Mapping[str, str]) -> Iterator[list[Any]]:
    """``rows`` with each error cell's error (``#N/A``), which calamine reads as empty."""
    at: dict[int, list[tuple[int, str]]] = {}
    for ref, text in errors.items():
        r, c = ref_position(ref)
        at.setdefault(r - 1, []).append((c, text))
    for i, row in enumerate(rows):
        for c, text in at.get(i, ()):
            if c >= len(row):
                row = row + [None] * (c + 1 - len(row))
            row[c] = text
        yield row


def _csv_encoding(path: Path) -> str:
    """The encoding of a CSV file: UTF-8, else cp1252, or UTF-16.

    UTF-8 (with or without a byte-order mark) if the whole file decodes so, else cp1252;
    UTF-16 when the file starts with its byte-order mark (some exports, Excel's "Unicode
    text"). Checked in blocks: the file is never held whole.
    """
    binary = InputError(f"{path}: this is not a text CSV file (binary content); save it as CSV")
    with path.open("rb") as fh:
        head = fh.read(65536)
        utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if b"\x00" in head and not utf16:
            raise binary
        decoder = codecs.getincrementaldecoder("utf-16" if utf16 else "utf-8")()
        block = head
        try:
            while block:
                text = decoder.decode(block)
                if utf16 and "\x00" in text:  # UTF-16 in name only
                    raise binary
                block = fh.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            if utf16:
                raise binary from None
            return "cp1252"
    return "utf-16" if utf16 else "utf-8-sig"


def csv_rows(path: Path) -> Iterator[list[str]]:
    """A CSV file's rows, read as they are iterated, as ras reads every CSV.

    UTF-8, cp1252 (Excel's "CSV (Comma delimited)") or UTF-16; fields separated by
    commas, semicolons or tabs, whichever the start of the file shows.

    Raises:
        InputError: the file is not text.
    """
    encoding = _csv_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        sample = fh.read(8192)
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return _csv_rows(path, encoding, dialect)


def _csv_rows(path: Path, encoding: str, dialect: Any) -> Iterator[list[Any]]:
    with path.open(encoding=encoding, newline="") as fh:
        yield from csv.reader(fh, dialect)


def _read_csv(path: Path) -> RawBulk:
    """A CSV bulk table; its rows are read lazily, as they are iterated."""
    if path.stat().st_size > MAX_CSV_BYTES:
        raise InputError(f"{path}: the CSV file is larger than 1 GiB; split it")
    return _bulk_from_rows("", csv_rows(path))


@contextlib.contextmanager
def open_input_file(path_text: str) -> Iterator[FileResult]:
    """Open one input file: an assessment workbook, a bulk table (.xlsx) or a CSV.

    A bulk table's rows are read as they are iterated, inside the ``with`` block (a
    problem found then is one more issue on the result). Never raises for a bad file:
    problems come back as issues on the result.
    """
    path = Path(path_text)
    result = FileResult(source=path_text)
    with contextlib.ExitStack() as stack:
        try:
            if path.suffix.lower() == ".csv":
                result.sha256 = sha256_file(path)
                if sniff(path) == "csv":
                    result.bulk = _read_csv(path)
            if result.bulk is None:
                data = stack.enter_context(file_bytes(path))
                result.sha256 = hashlib.sha256(data).hexdigest()
                sniff(path, data)
                _read_workbook(path, data, result, stack)
        except Exception as exc:
            result.issues.append(_issue(path, exc))
            result.bulk = None
        if result.bulk is not None:
            result.bulk.rows = _guarded_rows(path, result, result.bulk.rows)
        yield result


def _guarded_rows(path: Path, result: FileResult, rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
    """A bulk table's rows; a problem met while reading them is an issue, not a crash."""
    try:
        yield from rows
    except Exception as exc:
        result.issues.append(_issue(path, exc))


def _issue(path: Path, exc: BaseException) -> Issue:
    """What went wrong reading a file, as the issue that rejects it."""
    path_text = str(path)
    if isinstance(exc, InputError):
        problem, _, fix = _strip_path(str(exc), path).rpartition("; ")
        if not problem:
            problem, fix = fix, ""
        return Issue(exc.code, Location(path_text), problem, fix)
    if isinstance(exc, MemoryError):
        return Issue(
            "too-big",
            Location(path_text),
            "the file needs more memory than ras allows; refused",
        )
    # A parser failed on a damaged file: one file lost, not the run.
    return Issue(
        "unreadable-file",
        Location(path_text),
        f"the file cannot be read ({type(exc).__name__}: {_short(exc)})",
        "open it in Excel, check it, and save it again",
    )


def _strip_path(message: str, path: Path) -> str:
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


#: The other workbooks of ras's world, by sheets only they have together: met among
#: the inputs (a register, an earlier run's output kept in the folder scored), they are
#: passed over with a warning, not read as bulk tables of assessments.
#: The sheets that make a workbook an allocations workbook ras wrote.
ALLOCATIONS_SHEETS = frozenset({"Allocations", "Run"})
NOT_ASSESSMENTS = {
    "an allocations workbook ras wrote": ALLOCATIONS_SHEETS,
    "a plan ras wrote": {"Moves", "Solver"},
    "a calibration workbook ras wrote": {"Sample", "Affordability"},
    "a comparison workbook ras wrote": {"Runs", "Frontier"},
    "a risk workbook ras wrote": {"Plans", "Draws"},
    "a transition workbook ras wrote": {"People", "Policy", "Run"},
    "a contracts register": {"Contracts", "Members"},
}
#: A placements register's columns that no bulk table of assessments has.
_PLACEMENTS = {norm("Provider"), norm("Setting")}


def _not_an_assessment(sheets: list[str], header: list[str]) -> str | None:
    """What a workbook without a Person and a Questionnaire sheet is, if not a bulk table."""
    names = set(sheets)
    if "Placements" in names and _PLACEMENTS <= {norm(h) for h in header}:
        return "a placements register"
    return next((what for what, has in NOT_ASSESSMENTS.items() if has <= names), None)


def _read_workbook(
    path: Path, data: bytes | mmap.mmap, result: FileResult, stack: contextlib.ExitStack
) -> None:
    """Read an assessment workbook, or open a bulk table whose rows are read lazily.

    The parser stays open (on ``stack``) while a bulk table's rows are iterated.
    """
    info = inspect_workbook(path, data)
    result.macros = info.macros
    names = list(info.sheets)
    person = _find_sheet(names, PERSON_SHEET)
    quest = _find_sheet(names, QUESTIONNAIRE_SHEET)
    meta = _find_sheet(names, META_SHEET)
    if person is None and quest is None:
        visible = [n for n in names if info.sheets[n].state == "visible"] or names
        if not visible:
            raise InputError(f"{path}: the workbook has no sheets")
        first = visible[0]
        bulk_scan = scan_sheet(info, info.sheets[first], detail=False)
        mode = "bulk"
    else:
        missing = [
            n for n, s in ((PERSON_SHEET, person), (QUESTIONNAIRE_SHEET, quest)) if s is None
        ]
        if missing:
            raise InputError(
                f"{path}: no {' or '.join(repr(m) for m in missing)} sheet "
                f"(the sheets are: {', '.join(names)}); use a workbook from "
                "`ras template assessment`"
            )
        assert person is not None and quest is not None
        pscan = scan_sheet(info, info.sheets[person], detail=True)
        qscan = scan_sheet(info, info.sheets[quest], detail=True)
        if meta is not None:
            scan_sheet(info, info.sheets[meta], detail=False)
        mode = "workbook"
    wb = _open_calamine(path, data)
    if mode == "bulk":
        stack.callback(wb.close)
        rows = _absolute_rows(wb.get_sheet_by_name(first))
        if bulk_scan.errors:  # #N/A read as #N/A: named as an error, not taken for blank
            rows = _with_errors(rows, bulk_scan.errors)
        bulk = _bulk_from_rows(first, rows)
        other = _not_an_assessment(names, bulk.header)
        if other is not None:  # a register, or an earlier run's output, among the inputs
            result.issues.append(
                Issue(
                    "not-an-assessment",
                    Location(str(path)),
                    f"is {other}, not assessments; it was not read",
                    "keep it out of the folders you score",
                    severity=Severity.WARNING,
                )
            )
            return
        if not any(heading_key(h) == heading_key("Person ID") for h in bulk.header):
            raise InputError(
                f"{path}: neither an assessment workbook (no 'Person' and 'Questionnaire' "
                f"sheets) nor a bulk table (no 'Person ID' column on sheet {first!r})"
            )
        result.bulk = bulk
        return
    try:
        assert person is not None and quest is not None
        prows = wb.get_sheet_by_name(person).to_python(skip_empty_area=False)
        qrows = wb.get_sheet_by_name(quest).to_python(skip_empty_area=False)
        repeated: dict[str, Cell] = {}
        fields = _read_person(path, person, prows, pscan, _merged_lookup(pscan.merged), repeated)
        answers = _read_questionnaire(path, quest, qrows, qscan, _merged_lookup(qscan.merged))
        meta_values: dict[str, str] = {}
        if meta is not None:
            meta_values = _read_meta(wb.get_sheet_by_name(meta).to_python(skip_empty_area=False))
        result.workbook = RawWorkbook(
            person_sheet=person,
            questionnaire_sheet=quest,
            fields=fields,
            answers=answers,
            meta=meta_values,
            repeated=repeated,
        )
    finally:
        wb.close()
