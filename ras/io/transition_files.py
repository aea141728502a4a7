"""Reading the two sides of a transition (SPEC §13) and the policy file.

A side is an ``allocations.xlsx`` written by ras (budgets, person fields, total points
and every answer with its points) or, for OLD, a register of current budgets (``.xlsx``
or ``.csv``: ``Person ID``, ``Current budget (£/year)``, optional person fields headed by
id or label).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.cells import col_letters, heading_key, id_date_problem, is_blank, to_decimal, to_text
from ras.errors import InputError, every_problem, quote
from ras.io.allocations import POINTER, person_row
from ras.io.reader import (
    FIRST_SHEET,
    HEADER_SEARCH_ROWS,
    csv_rows,
    read_sheets,
    refuse_errors,
    sniff,
)
from ras.io.schemas import BUDGET, PERSON_ID
from ras.io.strict_yaml import build_model, read_yaml
from ras.models.base import too_much_money
from ras.models.table import PointTable, norm
from ras.models.transition import Policy, Side

#: The budget column of a register of current budgets.
CURRENT_BUDGET = "Current budget (£/year)"
#: The Run sheet rows a transition reads from a ras workbook.
RUN_ROUNDING = "Table rounding (£)"
RUN_FIELDS = "Person fields"


def load_policy(path: Path | None) -> Policy:
    """The policy file (strict YAML, every key optional); the defaults without one."""
    if path is None:
        return Policy()
    data, where = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(f"{path}: a policy is a mapping of keys (ras_policy, years, cuts, ...)")
    return build_model(Policy, data, str(path), where)


def _rows_of(path: Path) -> tuple[dict[str, list[list[Any]]], dict[str, Mapping[str, str]]]:
    """The sheets a side may have, and the cells of each that show an error (``#N/A``).

    A CSV's rows are its ``FIRST_SHEET``.
    """
    if path.suffix.lower() == ".csv":
        try:
            return {FIRST_SHEET: list(csv_rows(path))}, {}
        except FileNotFoundError as exc:
            raise InputError(f"{path}: file not found") from exc
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if sniff(path) != "zip":
        raise InputError(f"{path}: expected an Excel workbook (.xlsx) or a .csv file")
    failed: dict[str, Mapping[str, str]] = {}
    names = ["Allocations", "Answers", "Run", "Budgets", FIRST_SHEET]
    return read_sheets(path, names, errors=failed), failed


def read_side(
    path: Path, table: PointTable | None, *, register_allowed: bool
) -> tuple[list[Side], Decimal | None, dict[str, str]]:
    """The people of one side; the rounding its Run sheet names; field id -> label.

    Raises:
        InputError: the file is neither an allocations workbook nor (for OLD) a
            register; names the file, sheet and cell.
    """
    sheets, failed = _rows_of(path)
    if "Allocations" in sheets:
        return _from_allocations(path, sheets, failed, table)
    if not register_allowed:
        raise InputError(
            f"{path}: no sheet 'Allocations'; NEW is the allocations.xlsx `ras score` wrote "
            "with the new table"
        )
    name = "Budgets" if "Budgets" in sheets else FIRST_SHEET
    return _from_register(path, sheets[name], failed.get(name, {}), table), None, {}


def _header(path: Path, sheet: str, rows: list[list[Any]], needed: tuple[str, ...]) -> list[str]:
    header = [to_text(v) for v in rows[0]] if rows else []
    missing = [n for n in needed if n not in header]
    if missing:
        where = f", sheet {sheet!r}" if sheet else ""
        raise InputError(
            f"{path}{where}, row 1: no {', '.join(repr(m) for m in missing)} column "
            f"(the columns are: {', '.join(h for h in header if h) or 'none'})"
        )
    return header


def _fields_by_column(
    header: list[str], table: PointTable | None, candidates: list[int]
) -> dict[str, tuple[int, str]]:
    """Person field id -> (column, label), by the table's labels or ids, else the headings."""
    out: dict[str, tuple[int, str]] = {}
    for c in candidates:
        name = header[c]
        f = None
        if table is not None:
            f = next(
                (x for x in table.person_fields if norm(name) in (norm(x.label), norm(x.id))),
                None,
            )
        if f is not None:
            out[f.id] = (c, f.label)
        elif table is None:
            out[name] = (c, name)
    return out


def _field_value(table: PointTable | None, fid: str, raw: Any) -> object:
    if is_blank(raw):
        return None
    f = table.field(fid) if table is not None else None
    if f is not None and f.type in ("money", "number"):
        return to_decimal(raw)
    if f is None and isinstance(raw, int | float) and not isinstance(raw, bool):
        return to_decimal(raw)  # a number (a current cost), not a group: no table to ask
    text = to_text(raw)
    return f.id_of(text) if f is not None and f.options else text


def _budget(path: Path, sheet: str, r: int, c: int, raw: Any) -> Decimal:
    at = f"{path}: " + (f"sheet {sheet!r}, " if sheet else "") + f"cell {col_letters(c)}{r}"
    if is_blank(raw):
        raise InputError(
            f"{at}: the budget is empty; give the yearly amount in pounds (0 for none)"
        )
    value = to_decimal(raw)
    if value is None or value < 0 or too_much_money(value):
        raise InputError(
            f"{at}: {quote(to_text(raw))} is not a budget; give the yearly amount in pounds"
        )
    return value


def _from_allocations(
    path: Path,
    sheets: dict[str, list[list[Any]]],
    failed: dict[str, Mapping[str, str]],
    table: PointTable | None,
) -> tuple[list[Side], Decimal | None, dict[str, str]]:
    rows = sheets["Allocations"]
    if rows and rows[0] and to_text(rows[0][0]).startswith(POINTER):
        raise InputError(
            f"{path}: its Allocations rows are in a CSV file beside it; a transition reads "
            "workbooks of up to Excel's row limit"
        )
    header = _header(path, "Allocations", rows, (PERSON_ID, BUDGET, "Total points"))
    run = {to_text(r[0]): r[1] for r in sheets.get("Run", []) if len(r) > 1}
    rounding = to_decimal(run.get(RUN_ROUNDING))
    listed = [x.strip() for x in to_text(run.get(RUN_FIELDS)).split(";") if x.strip()]
    start = header.index("Source") + 1 if "Source" in header else 1
    if listed:
        candidates = [c for c, h in enumerate(header) if h in listed]
    elif table is not None:
        candidates = list(range(start, len(header)))
    else:  # an older workbook: the text columns after Source
        candidates = [
            c
            for c in range(start, header.index("Total points"))
            if all(to_decimal(r[c]) is None for r in rows[1:50] if c < len(r) and r[c] != "")
        ]
    fields = _fields_by_column(header, table, candidates)
    pid_c, b_c, p_c = header.index(PERSON_ID), header.index(BUDGET), header.index("Total points")
    read = (pid_c, b_c, p_c, *(c for c, _ in fields.values()))
    refuse_errors(path, "Allocations", failed.get("Allocations", {}), read)
    refuse_errors(path, "Answers", failed.get("Answers", {}))
    answers = _answers(path, sheets.get("Answers", []))
    people: list[Side] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for r, row in enumerate(rows[1:], start=2):
        if len(row) <= max(pid_c, b_c) or is_blank(row[pid_c]):
            continue
        pid = to_text(row[pid_c])
        try:
            person_row(path, seen, pid, r, pid_c)
            budget = _budget(path, "Allocations", r, b_c, row[b_c])
        except InputError as exc:  # every bad row named at once, not the first only
            problems.append(str(exc))
            continue
        people.append(
            Side(
                pid,
                budget,
                {fid: _field_value(table, fid, row[c]) for fid, (c, _) in fields.items()},
                to_decimal(row[p_c]) if p_c < len(row) else None,
                answers.get(pid, {}),
            )
        )
    if problems:
        raise every_problem(problems)
    return people, rounding, {fid: label for fid, (_, label) in fields.items()}


def _answers(path: Path, rows: list[list[Any]]) -> dict[str, dict[str, tuple[str, Decimal]]]:
    if not rows:
        return {}
    header = _header(path, "Answers", rows, (PERSON_ID, "Question ID", "Answer", "Points"))
    c = {h: header.index(h) for h in (PERSON_ID, "Question ID", "Answer", "Points")}
    out: dict[str, dict[str, tuple[str, Decimal]]] = {}
    for row in rows[1:]:
        if len(row) <= max(c.values()) or is_blank(row[c[PERSON_ID]]):
            continue
        points = to_decimal(row[c["Points"]]) or Decimal(0)
        out.setdefault(to_text(row[c[PERSON_ID]]), {})[to_text(row[c["Question ID"]])] = (
            to_text(row[c["Answer"]]),
            points,
        )
    return out


#: How a register of current budgets may head its budget column (as ras matches labels).
_BUDGET_HEADINGS = {heading_key(h) for h in (CURRENT_BUDGET, "Current budget")}


def _register_header(path: Path, rows: list[list[Any]]) -> tuple[int, list[str], int, int]:
    """The register's header row: its index, its text, the Person ID's and budget's columns.

    It is found within the first rows (a finance system's export may start with a title).
    Headings match as typed by hand (case, spaces, punctuation and the unit aside:
    ``person_id``, ``Current budget £``); the budget's may leave out ``(£/year)``.
    """
    for r, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [heading_key(to_text(v)) for v in row]
        budget = next((c for c, n in enumerate(names) if n in _BUDGET_HEADINGS), None)
        if heading_key(PERSON_ID) in names and budget is not None:
            return r, [to_text(v) for v in row], names.index(heading_key(PERSON_ID)), budget
    first = [to_text(v) for v in rows[0]] if rows else []
    raise InputError(
        f"{path}: no row with both a {PERSON_ID!r} and a {CURRENT_BUDGET!r} column in the "
        f"first {HEADER_SEARCH_ROWS} rows (row 1's columns are: "
        f"{', '.join(h for h in first if h) or 'none'})"
    )


def _from_register(
    path: Path, rows: list[list[Any]], failed: Mapping[str, str], table: PointTable | None
) -> list[Side]:
    top, header, pid_c, b_c = _register_header(path, rows)
    others = [c for c, h in enumerate(header) if h and c not in (pid_c, b_c)]
    fields = _fields_by_column(header, table, others)
    refuse_errors(path, "", failed, (pid_c, b_c, *(c for c, _ in fields.values())))
    people = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for r, row in enumerate(rows[top + 1 :], start=top + 2):
        if len(row) <= max(pid_c, b_c) or is_blank(row[pid_c]):
            continue
        try:
            person_row(path, seen, to_text(row[pid_c]), r, pid_c, sheet="")
            budget = _budget(path, "", r, b_c, row[b_c])
        except InputError as exc:  # every bad row named at once, not the first only
            problems.append(str(exc))
            continue
        dated = id_date_problem(PERSON_ID, row[pid_c]) is not None
        people.append(
            Side(
                to_text(row[pid_c]),
                budget,
                {fid: _field_value(table, fid, row[c]) for fid, (c, _) in fields.items()},
                date_id_at=f"{col_letters(pid_c)}{r}" if dated else "",
            )
        )
    if problems:
        raise every_problem(problems)
    return people
