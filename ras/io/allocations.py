"""Writing ``allocations.xlsx`` (SPEC §5). The headers are a contract other tools read."""

from __future__ import annotations

import bisect
import contextlib
import csv
import math
import multiprocessing as mp
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.cells import col_letters, is_blank, to_decimal, to_text
from ras.errors import (
    DISK_FULL,
    DISK_FULL_TEXT,
    DiskFull,
    InputError,
    OutputError,
    every_problem,
    quote,
)
from ras.io.allocation_rows import (
    FUNDING_PREFIX,
    FUNDING_SUFFIX,
    allocation_blocks,
    allocation_headers,
    allocation_rows,
    answer_rows,
    exception_rows,
    explanation_rows,
    funding_header,
)
from ras.io.parquet import read_parquet, write_parquet
from ras.io.person_csv import PersonSheet, answer_lines, explanation_lines, write_person_csvs
from ras.io.reader import read_sheets, refuse_errors
from ras.io.schemas import (
    ALLOCATIONS,
    ANSWERS,
    BUDGET,
    CURRENT_COST,
    EXCEPTIONS,
    EXPLANATIONS,
    PERSON_ID,
    RUN,
    SheetSchema,
)
from ras.io.xlsx import EXCEL_MAX_ROWS, Book
from ras.models.base import decimal_text, too_much_money
from ras.models.calibration import Person
from ras.models.scored import RunTotals, ScoreRun
from ras.models.table import PointTable, norm
from ras.money import pence
from ras.outputs import atomic_output, committed_together, leave_group
from ras.parallel import children_deaf_to_ctrl_c, gc_paused, ignore_ctrl_c, single_threaded

EXPLANATION_HEADERS = EXPLANATIONS.headers
EXCEPTION_HEADERS = EXCEPTIONS.headers


#: The Run row naming each stream's id and label: ``health = Health; social_care = Social care``.
FUNDING_STREAMS = "Funding streams"
ZERO = Decimal(0)


def _bins(values: Sequence[int], n: int = 10) -> list[tuple[Decimal, Decimal]]:
    """Equal bins from £0 past the largest budget (``values`` in pence)."""
    if not values:
        return []
    top = Decimal(max(values)) / 100
    if top <= 0:
        return [(Decimal(0), Decimal(0))]
    raw = float(top) / n
    magnitude = 10 ** max(0, int(math.floor(math.log10(raw))) if raw > 0 else 0)
    width = Decimal(math.ceil(raw / magnitude) * magnitude)
    bins = []
    lo = Decimal(0)
    while lo <= top:
        bins.append((lo, lo + width))
        lo += width
    return bins


def _write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV to ``path`` (a temporary file the caller commits)."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)  # None is written as an empty field


def _csv_child(run: ScoreRun, sheets: list[tuple[str, Path]]) -> None:
    """A forked child's CSV job; Ctrl-C is the parent's to handle.

    The parent stops the child itself (``_stop_csv_jobs``), so the terminal's SIGINT,
    sent to the whole process group, neither prints the child's traceback nor races the
    parent's clean-up.
    """
    ignore_ctrl_c()
    leave_group()
    try:
        _csv_job(run, sheets)
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        sys.exit(_DISK_FULL_EXIT)  # said by the parent, once, of the file it names


def _kinds(schema: SheetSchema, headers: Sequence[str], table: PointTable) -> list[str]:
    """Each column's type (text, money, points), for typed files such as Parquet."""
    if schema is not ALLOCATIONS:
        return [c.type for c in schema.columns]
    kinds: list[str] = []
    for c in ALLOCATIONS.columns:
        if c.name == "<person field label>":
            kinds += ["money" if f.type == "money" else "text" for f in table.person_fields]
        elif c.name == "<domain label>":
            kinds += ["points"] * len(table.domains)
        elif c.name == "Funding: <stream> (£)":
            kinds += ["money"] * len(table.streams())
        else:
            kinds.append(c.type)
    assert len(kinds) == len(headers)
    return kinds


def _csv_job(run: ScoreRun, sheets: list[tuple[str, Path]]) -> None:
    """Write sheets too long for Excel beside the workbook.

    As CSV (Allocations on its own, the per-person ones in one pass), or as Parquet
    when their files are named ``.parquet``.
    """
    per_person: list[PersonSheet] = []
    for sheet, path in sheets:
        if path.suffix == ".parquet":
            schema = {"Allocations": ALLOCATIONS, "Answers": ANSWERS}.get(sheet, EXPLANATIONS)
            headers = allocation_headers(run.table) if schema is ALLOCATIONS else schema.headers
            rows = {"Allocations": allocation_rows, "Answers": answer_rows}.get(
                sheet, explanation_rows
            )(run)
            write_parquet(path, headers, _kinds(schema, headers, run.table), rows)
            continue
        if sheet == "Allocations":
            _write_csv(path, allocation_headers(run.table), allocation_rows(run))
        elif sheet == "Answers":
            per_person.append(answer_lines(run, path))
        else:
            per_person.append(explanation_lines(run, path))
    if per_person:
        write_person_csvs(run, per_person)


def _start_csv_jobs(run: ScoreRun, alongside: dict[str, Path]) -> list[Any]:
    """Write huge sheets as CSV.

    In forked children (no copying of the run) where that is safe, so that they are
    written while this process writes the workbook: Allocations in one, the
    per-person sheets (Explanations, Answers) together in another.
    """
    if not alongside:
        return []
    groups = [
        [(sheet, path) for sheet, path in alongside.items() if sheet == "Allocations"],
        [(sheet, path) for sheet, path in alongside.items() if sheet != "Allocations"],
    ]
    groups = [g for g in groups if g]
    if sys.platform.startswith("linux") and single_threaded():
        ctx = mp.get_context("fork")
        procs = []
        with children_deaf_to_ctrl_c():
            for group in groups:
                proc = ctx.Process(target=_csv_child, args=(run, group), daemon=True)
                proc.start()
                procs.append((proc, group[0][1]))
        return procs
    for group in groups:
        _csv_job(run, group)
    return []


#: A CSV child's exit code when the disk filled up.
_DISK_FULL_EXIT = 28


def _finish_csv_jobs(procs: list[Any], real: Mapping[Path, Path]) -> None:
    """Wait for the CSV children.

    A failed one is said of its file: ``real`` maps each temporary name to it.
    """
    for proc, tmp in procs:
        proc.join()
        path = real.get(tmp, tmp)
        if proc.exitcode == _DISK_FULL_EXIT:
            raise DiskFull(f"{path}: {DISK_FULL_TEXT}")
        if proc.exitcode != 0:
            raise OutputError(f"{path}: the CSV could not be written (exit {proc.exitcode})")


def _stop_csv_jobs(procs: list[Any]) -> None:
    """Stop the CSV children still running (the run failed or was interrupted)."""
    for proc, _ in procs:
        if proc.is_alive():
            proc.kill()
    for proc, _ in procs:
        proc.join()


def write_allocations(run: ScoreRun, out: Path, overflow: str = "csv") -> list[Path]:
    """Write ``allocations.xlsx``; returns the files written beside it for huge sheets.

    ``overflow``: ``csv`` or ``parquet``, the format of those files.
    """
    if overflow not in ("csv", "parquet"):
        raise ValueError(f"overflow is csv or parquet, not {overflow!r}")
    t = run.table
    headers = allocation_headers(t)
    totals = run.totals
    if totals is None:
        raise ValueError("the run has no totals: score it with ras.commands.score")
    alongside: dict[str, Path] = {}
    limit = EXCEL_MAX_ROWS - 1
    if totals.people > limit:
        alongside["Allocations"] = out.with_name(f"{out.stem}.allocations.{overflow}")
    if totals.explanation_rows > limit:
        alongside["Explanations"] = out.with_name(f"{out.stem}.explanations.{overflow}")
    if totals.answer_rows > limit:
        alongside["Answers"] = out.with_name(f"{out.stem}.answers.{overflow}")
    extra = list(alongside.values())
    # The workbook and the files beside it are committed together, or none (SPEC §16):
    # the files are written (by a forked child) to temporary names this process owns,
    # so an interrupted or failed run leaves none of them behind.
    with committed_together(), contextlib.ExitStack() as beside:
        temps = {sheet: beside.enter_context(atomic_output(p)) for sheet, p in alongside.items()}
        procs = _start_csv_jobs(run, temps)
        try:
            _workbook(run, out, totals, headers, alongside)
            _finish_csv_jobs(procs, {tmp: alongside[sheet] for sheet, tmp in temps.items()})
        finally:  # before the temporary files go: no child writes one again after
            _stop_csv_jobs(procs)
    return extra


def _workbook(
    run: ScoreRun, out: Path, totals: RunTotals, headers: list[str], alongside: dict[str, Path]
) -> None:
    t = run.table
    with atomic_output(out) as tmp, gc_paused():
        book = Book(tmp)
        _summary(book, run, totals, headers, alongside)
        money = {h: book.money for h in headers if h.endswith("(£)") or h.endswith("(£/year)")}
        money |= {f.label: book.money for f in t.person_fields if f.type == "money"}
        if "Allocations" in alongside:
            _pointer(book, "Allocations", alongside["Allocations"])
        else:
            book.write_table(
                "Allocations",
                headers,
                allocation_blocks(run),
                formats=money,
                widths={"Source": 30, "Flags": 30},
            )
        if "Explanations" in alongside:
            _pointer(book, "Explanations", alongside["Explanations"])
        else:
            book.write_table(
                "Explanations",
                EXPLANATION_HEADERS,
                explanation_rows(run),
                formats={"Amount (£)": book.money},
                widths={"Item": 28, "Note": 60},
            )
        if "Answers" in alongside:
            _pointer(book, "Answers", alongside["Answers"])
        else:
            book.write_table("Answers", ANSWERS.headers, answer_rows(run), widths={"Answer": 40})
        book.write_table(
            "Exceptions",
            EXCEPTION_HEADERS,
            exception_rows(run),
            widths={"Source": 40, "Problem": 60, "How to fix": 50},
        )
        book.write_table(
            "Warnings",
            EXCEPTION_HEADERS,
            exception_rows(run, "warning"),
            widths={"Source": 40, "Problem": 60, "How to fix": 30},
        )
        _run_sheet(book, run)
        book.close()


#: What a sheet says in A1 when its rows went to a CSV file beside the workbook.
POINTER = "This sheet has more rows than Excel allows; it was written to "


def _pointer(book: Book, sheet: str, path: Path) -> None:
    ws = book.wb.add_worksheet(sheet)
    ws.write_string(0, 0, POINTER + path.name)


def _rows_or_csv(path: Path, rows: list[list[Any]]) -> list[list[Any]]:
    """A sheet's rows, or the rows of the CSV its pointer names."""
    first = to_text(rows[0][0]) if rows and rows[0] else ""
    if not first.startswith(POINTER):
        return rows
    csv_path = path.with_name(Path(first.removeprefix(POINTER)).name)
    if csv_path.suffix == ".parquet":
        return read_parquet(csv_path)
    with csv_path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _read_answers(
    path: Path, table: PointTable, sheet: list[list[Any]]
) -> dict[str, dict[str, str]]:
    """Person ID -> question ID -> answer, from the Answers sheet (schema ``ANSWERS``)."""
    rows = _rows_or_csv(path, sheet)
    header = [to_text(v) for v in rows[0]] if rows else []
    cols = {}
    for name in ANSWERS.headers[:3]:  # Person ID, Question ID, Answer
        if name not in header:
            raise InputError(
                f"{path}: sheet 'Answers', row 1: no {name!r} column; use the "
                "allocations.xlsx written by `ras score`"
            )
        cols[name] = header.index(name)
    width = max(cols.values()) + 1
    answers: dict[str, dict[str, str]] = {}
    for r, row in enumerate(rows[1:], start=2):
        if len(row) < width:
            continue
        pid = to_text(row[cols["Person ID"]])
        qid, answer = to_text(row[cols["Question ID"]]), to_text(row[cols["Answer"]])
        q = table.question(qid)
        if q is None:
            raise InputError(
                f"{path}: sheet 'Answers', cell {col_letters(cols['Question ID'])}{r}: question "
                f"{quote(qid)} is not in the table; use the table the workbook was scored with"
            )
        if answer not in q.answers:
            raise InputError(
                f"{path}: sheet 'Answers', cell {col_letters(cols['Answer'])}{r}: "
                f"{quote(answer)} is not an answer to {qid} in this table; use the table "
                "it was scored with"
            )
        answers.setdefault(pid, {})[qid] = answer
    return answers


def _summary(
    book: Book, run: ScoreRun, totals: RunTotals, headers: list[str], alongside: dict[str, Path]
) -> None:
    ws = book.sheet("Summary", one_page=True)
    ws.set_column(0, 0, 38)
    ws.set_column(1, 2, 20)
    t = run.table
    n = totals.people
    last = n + 1  # last data row (1-based) on Allocations
    col = {h: col_letters(i) for i, h in enumerate(headers)}
    budget_col = col[BUDGET]
    rng = f"Allocations!${budget_col}$2:${budget_col}${max(last, 2)}"
    ws.write_string(0, 0, "Indicative budgets", book.title)
    rows: list[tuple[str, Any, Any]] = [
        ("Point table", f"{t.name} (version {t.version})", None),
        ("Files read", len(run.files), None),
        ("People scored", n, None),
        ("Exceptions (inputs rejected)", run.rejected(), None),
        ("Warnings", len(run.warnings), None),
        ("Lock files skipped", len(run.skipped), None),
    ]
    r = 2
    for label, value, _ in rows:
        ws.write_string(r, 0, label, book.bold)
        book.put(ws, r, 1, value)
        r += 1
    total = totals.total
    ws.write_string(r, 0, "Total indicative budgets (£/year)", book.bold)
    if "Allocations" in alongside or n == 0:
        ws.write_number(r, 1, float(total), book.bold_money)
    else:
        ws.write_formula(r, 1, f"=SUM({rng})", book.bold_money, float(total))
    r += 2
    gf = totals.group_field
    if gf is not None:
        f = t.field(gf)
        assert f is not None
        ws.write_string(r, 0, f"By {f.label.lower()}", book.header)
        ws.write_string(r, 1, "People", book.header)
        ws.write_string(r, 2, "Total (£/year)", book.header)
        r += 1
        groups = totals.by_group
        order = list(f.options or []) + sorted(k for k in groups if k not in (f.options or []))
        gcol = col[f.label]
        grng = f"Allocations!${gcol}$2:${gcol}${max(last, 2)}"
        for key in order:
            if key not in groups:
                continue
            ws.write_string(r, 0, str(f.shown(key)) if key else "(not given)")
            people, amount = groups[key]
            if "Allocations" in alongside or not key:
                ws.write_number(r, 1, people)
                ws.write_number(r, 2, float(amount), book.money)
            else:
                ws.write_formula(r, 1, f"=COUNTIF({grng},A{r + 1})", None, people)
                ws.write_formula(r, 2, f"=SUMIF({grng},A{r + 1},{rng})", book.money, float(amount))
            r += 1
        r += 1
    ws.write_string(r, 0, "By funding stream", book.header)
    ws.write_string(r, 1, "", book.header)
    ws.write_string(r, 2, "Total (£/year)", book.header)
    r += 1
    for st in t.streams():
        amount = totals.by_stream[st]
        ws.write_string(r, 0, t.stream_label(st))
        fcol = col[funding_header(st, t)]
        if "Allocations" in alongside or n == 0:
            ws.write_number(r, 2, float(amount), book.money)
        else:
            ws.write_formula(
                r, 2, f"=SUM(Allocations!${fcol}$2:${fcol}${last})", book.money, float(amount)
            )
        r += 1
    r += 1
    for sheet, path in alongside.items():
        ws.write_string(
            r, 0, f"{sheet} has more rows than Excel allows: see {path.name}", book.bold
        )
        r += 1
    # Distribution of budgets, with a chart.
    values = sorted(totals.annual_pence)
    bins = _bins(values)
    if bins:
        ws.write_string(r, 0, "Budget from (£)", book.header)
        ws.write_string(r, 1, "Budget below (£)", book.header)
        ws.write_string(r, 2, "People", book.header)
        first = r + 1
        r += 1
        for lo, hi in bins:
            ws.write_number(r, 0, float(lo), book.money0)
            ws.write_number(r, 1, float(hi), book.money0)
            count = bisect.bisect_left(values, int(hi * 100)) - bisect.bisect_left(
                values, int(lo * 100)
            )
            if "Allocations" in alongside:
                ws.write_number(r, 2, count)
            else:
                ws.write_formula(
                    r, 2, f'=COUNTIFS({rng},">="&A{r + 1},{rng},"<"&B{r + 1})', None, count
                )
            r += 1
        chart = book.wb.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": "People",
                "categories": ["Summary", first, 0, r - 1, 0],
                "values": ["Summary", first, 2, r - 1, 2],
                "gap": 10,
            }
        )
        chart.set_title({"name": "Distribution of indicative budgets"})
        chart.set_x_axis({"name": "Budget from (£)", "num_format": "£#,##0"})
        chart.set_y_axis({"name": "People"})
        chart.set_legend({"none": True})
        ws.insert_chart(1, 4, chart, {"x_scale": 1.4, "y_scale": 1.3})


def _run_sheet(book: Book, run: ScoreRun) -> None:
    t = run.table
    rows: list[list[Any]] = [
        ["ras version", run.version, ""],
        ["Table name", t.name, ""],
        ["Table version", t.version, ""],
        ["Table fingerprint", run.fingerprint, ""],
        ["Table rounding (£)", decimal_text(t.rounding), ""],
        ["Person fields", "; ".join(f.label for f in t.person_fields), ""],
        [FUNDING_STREAMS, "; ".join(f"{s} = {t.stream_label(s)}" for s in t.streams()), ""],
        ["Run started", run.started.isoformat(timespec="seconds"), ""],
    ]
    for k, v in run.options.items():
        rows.append([f"Option {k}", str(v), ""])
    for f in run.files:
        rows.append([f"Input ({f.kind})", f.path, f.sha256])
    for s in run.skipped:
        rows.append(["Skipped (lock file)", s, ""])
    for link, target in run.links:
        rows.append(["Followed link", f"{link} -> {target} (outside the input folder)", ""])
    book.write_table("Run", RUN.headers, rows, widths={"Item": 24, "Value": 60, "sha256": 66})


def read_budgets(path: Path) -> dict[str, Decimal]:
    """Person ID -> indicative budget from an allocations workbook (``ras score``).

    Raises:
        InputError: the workbook or its Allocations sheet cannot be used (file, cell).
    """
    return read_allocated(path, funding=False)[0]


def read_allocated(
    path: Path, *, funding: bool = True
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """Budgets, and each person's split by funding stream id (SPEC §3.2, §14).

    The streams are the ``Funding: <stream> (£)`` columns; the Run sheet's ``Funding
    streams`` row says which id each heading's label stands for (a workbook without it
    gives the label, which the scenario's ``budgets`` also matches).

    Raises:
        InputError: the workbook or its Allocations sheet cannot be used (file, cell).
    """
    wanted = ["Allocations", "Run"] if funding else ["Allocations"]
    failed: dict[str, Mapping[str, str]] = {}
    sheets = read_sheets(path, wanted, required=["Allocations"], errors=failed)
    rows = sheets["Allocations"]
    if not rows:
        raise InputError(f"{path}: sheet 'Allocations' is empty; run `ras score` to make it")
    header = [to_text(v) for v in rows[0]]
    try:
        pid_col = header.index(PERSON_ID)
        budget_col = header.index(BUDGET)
    except ValueError as exc:
        raise InputError(
            f"{path}: sheet 'Allocations', row 1: needs the columns 'Person ID' and "
            "'Indicative budget (£/year)'; use the allocations.xlsx written by `ras score`"
        ) from exc
    streams: dict[int, str] = {}
    if funding:
        ids = _stream_ids(sheets.get("Run") or [])
        for c, h in enumerate(header):
            if h.startswith(FUNDING_PREFIX) and h.endswith(FUNDING_SUFFIX):
                label = h[len(FUNDING_PREFIX) : -len(FUNDING_SUFFIX)]
                streams[c] = ids.get(label, label)
    refuse_errors(path, "Allocations", failed["Allocations"], (pid_col, budget_col, *streams))
    budgets: dict[str, Decimal] = {}
    splits: dict[str, dict[str, Decimal]] = {}
    seen: dict[str, int] = {}
    problems: list[str] = []  # every bad row named at once, not the first only
    for r, row in enumerate(rows[1:], start=2):
        if len(row) <= max(pid_col, budget_col) or is_blank(row[pid_col]):
            continue
        pid = to_text(row[pid_col])
        try:
            person_row(path, seen, pid, r, pid_col)
        except InputError as exc:
            problems.append(str(exc))
            continue
        value = to_decimal(row[budget_col])
        if value is None or value < 0 or too_much_money(value):
            problems.append(
                f"{path}: sheet 'Allocations', cell {col_letters(budget_col)}{r}: "
                f"{quote(to_text(row[budget_col]))} is not a budget; use the workbook "
                "`ras score` wrote"
            )
            continue
        split: dict[str, Decimal] = {}
        for c, stream in streams.items():
            raw = row[c] if c < len(row) else None
            amount = None if is_blank(raw) else to_decimal(raw)
            if (
                amount is None
                and not is_blank(raw)
                or amount is not None
                and (amount < 0 or too_much_money(amount))
            ):
                problems.append(
                    f"{path}: sheet 'Allocations', cell {col_letters(c)}{r}: "
                    f"{quote(to_text(raw))} is not an amount of money; use the workbook "
                    "`ras score` wrote"
                )
            elif amount:
                split[stream] = split.get(stream, ZERO) + pence(amount)
        budgets[pid] = pence(value)
        if split:
            splits[pid] = split
    if problems:
        raise every_problem(problems)
    return budgets, splits


#: Person IDs that are a totals row added by hand, not a person (as ``norm`` leaves them).
TOTALS = frozenset({"total", "totals", "grand total", "sum", "total budgets"})


def person_row(
    path: Path, seen: dict[str, int], pid: str, r: int, col: int, sheet: str = "Allocations"
) -> None:
    """Note that row ``r`` of the ``sheet`` (Allocations, or a register's) holds ``pid``.

    A second row for one person is an error: ``ras score`` never writes one, but an
    edited or pasted-together workbook may, and the last row's budget was quietly the
    one used. So is a totals row added by hand: it was read as a person called Total,
    whose budget was everyone's (a transition counted it as someone who had left).
    """
    at = f"{path}: " + (f"sheet {sheet!r}, " if sheet else "") + f"cell {col_letters(col)}{r}"
    if norm(pid) in TOTALS:
        raise InputError(
            f"{at}: Person ID {quote(pid)} is a totals row, not a person; delete the row "
            "(ras adds the budgets up itself)"
        )
    if pid in seen:
        raise InputError(
            f"{at}: Person ID {quote(pid)} "
            f"appears twice (first at row {seen[pid]}); keep one row per person"
        )
    seen[pid] = r


def _stream_ids(run: list[list[Any]]) -> dict[str, str]:
    """Label -> stream id, from the Run sheet's ``Funding streams`` row."""
    for row in run:
        if len(row) > 1 and to_text(row[0]) == FUNDING_STREAMS:
            out: dict[str, str] = {}
            for part in to_text(row[1]).split(";"):
                ident, sep, label = part.partition("=")
                if sep:
                    out[label.strip()] = ident.strip()
            return out
    return {}


def read_scored_people(path: Path, table: PointTable) -> list[Any]:
    """The scored people of an allocations workbook, for calibration.

    Person fields come from the Allocations columns (by label) and answers from the
    Answers sheet (or the CSV or Parquet file written beside a huge workbook).

    Raises:
        InputError: the workbook does not fit the table (file, sheet, cell).
    """
    failed: dict[str, Mapping[str, str]] = {}
    sheets = read_sheets(path, ["Allocations", "Answers"], required=["Allocations"], errors=failed)
    if sheets.get("Answers") is None:
        raise InputError(
            f"{path}: no sheet 'Answers': the workbook was made by an older ras; "
            "score the assessments again with this one"
        )
    alloc = _rows_or_csv(path, sheets["Allocations"])
    if not alloc:
        raise InputError(f"{path}: sheet 'Allocations' is empty; run `ras score` to make it")
    header = [to_text(v) for v in alloc[0]]
    if PERSON_ID not in header:
        raise InputError(
            f"{path}: sheet 'Allocations', row 1: no 'Person ID' column; use the "
            "allocations.xlsx written by `ras score`"
        )
    pid_col = header.index(PERSON_ID)
    cost_col = header.index(CURRENT_COST) if CURRENT_COST in header else None
    field_cols = {f.id: header.index(f.label) for f in table.person_fields if f.label in header}
    read = (pid_col, *([] if cost_col is None else [cost_col]), *field_cols.values())
    refuse_errors(path, "Allocations", failed["Allocations"], read)
    refuse_errors(path, "Answers", failed.get("Answers", {}))
    options = {
        f.id: {norm(f.shown(o)): o for o in f.options or ()}
        | {o.casefold(): o for o in f.options or ()}
        for f in table.person_fields
    }
    answers = _read_answers(path, table, sheets["Answers"])
    people = []
    seen: dict[str, int] = {}
    for r, row in enumerate(alloc[1:], start=2):
        if len(row) <= pid_col or is_blank(row[pid_col]):
            continue
        pid = to_text(row[pid_col])
        person_row(path, seen, pid, r, pid_col)
        fields: dict[str, object] = {}
        for fid, c in field_cols.items():
            v = row[c] if c < len(row) else None
            f = table.field(fid)
            if is_blank(v) or f is None:
                fields[fid] = None
            elif f.type in ("money", "number"):
                fields[fid] = to_decimal(v)
            else:
                text = to_text(v)
                fields[fid] = options[fid].get(norm(text)) or options[fid].get(
                    text.casefold(), text
                )
        cost = to_decimal(row[cost_col]) if cost_col is not None and cost_col < len(row) else None
        if pid not in answers:
            raise InputError(
                f"{path}: sheet 'Answers': no answers for Person ID {quote(pid)} "
                f"(Allocations row {r}); use the workbook `ras score` wrote"
            )
        people.append(Person(pid, fields, answers[pid], cost))
    return people
