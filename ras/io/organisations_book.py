"""The scenario workbook's ``Organisations`` and ``Dowries`` sheets (SPEC §14, §15).

One row per organisation says what it pays (settings' placements, funding streams of
budgets, block contracts), whether it is kept no worse off and its own target; one row
per dowry says who pays whom for which setting. The reader gives the same plain data
as the YAML ``organisations:`` section, with each value's sheet and cell; the writer
lays out a canonical section.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.cells import cell_ref, is_blank, to_text
from ras.choices import SAVINGS_KIND_LABELS, SETTING_LABELS, label_of, match_choice
from ras.errors import Issue, KeyPath, Location, quote
from ras.io.schemas import SCENARIO_DOWRIES, SCENARIO_ORGANISATIONS
from ras.io.xlsx import Book
from ras.models.base import decimal_text

#: What separates several values typed in one cell (``Inpatient; Out of area``).
SEPARATOR = ";"
_YES, _NO = {"y", "yes", "true", "1"}, {"n", "no", "false", "0"}


def _place(sheet: str, r: int, c: int) -> str:
    return f"sheet {sheet!r}, cell {cell_ref(r, c)}"


def _parts(raw: Any, commas: bool = False) -> list[str]:
    """The values typed in one cell; ``commas``: a comma separates them too (settings)."""
    text = to_text(raw)
    if commas:
        text = text.replace(",", SEPARATOR)
    return [p.strip() for p in text.split(SEPARATOR) if p.strip()]


def _cell(raw: Any) -> Any:
    """A value as the YAML reader would give it (numbers as text, exactly)."""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        return to_text(raw)
    return raw


class _Rows:
    def __init__(self, path: Path, sheet: str, rows: list[list[Any]], issues: list[Issue]) -> None:
        self.path, self.sheet, self.rows, self.issues = path, sheet, rows, issues
        header = [to_text(v).strip().casefold() for v in (rows[0] if rows else [])]
        self.cols = {h: c for c, h in reversed(list(enumerate(header))) if h}

    def col(self, name: str) -> int | None:
        return self.cols.get(name.casefold())

    def get(self, row: list[Any], name: str) -> tuple[Any, int]:
        c = self.col(name)
        if c is None or c >= len(row):
            return None, c or 0
        return row[c], c

    def error(self, r: int, c: int, problem: str, fix: str) -> None:
        where = Location(str(self.path), self.sheet, cell_ref(r, c))
        self.issues.append(Issue("invalid-setting", where, problem, fix))


def read_organisations(  # noqa: C901 - one column at a time, each with its own checks
    path: Path,
    sheets: Mapping[str, list[list[Any]]],
    horizon: int | None,
    data: dict[str, Any],
    where: dict[KeyPath, str],
    issues: list[Issue],
) -> None:
    """Add the ``organisations`` section the sheets give (none when they are empty)."""
    org_rows = sheets.get(SCENARIO_ORGANISATIONS.sheet) or []
    dowry_rows = sheets.get(SCENARIO_DOWRIES.sheet) or []
    section: dict[str, Any] = {}
    top: KeyPath = ("organisations",)
    sheet = _Rows(path, SCENARIO_ORGANISATIONS.sheet, org_rows, issues)
    if org_rows and sheet.col("Organisation") is None:
        sheet.error(0, 0, "no column 'Organisation' in the header row", "put it in row 1")
        return
    ids: list[str] = []
    paid_by: dict[tuple[str, str], str] = {}  # (what, item) -> where first given
    for r, row in enumerate(org_rows[1:], start=1):
        raw_id, c_id = sheet.get(row, "Organisation")
        if is_blank(raw_id):
            if any(not is_blank(v) for v in row):
                sheet.error(r, c_id, "a row with values but no Organisation", "give its id")
            continue
        org = to_text(raw_id).strip()
        n = len(ids)
        ids.append(org)
        here = _place(sheet.sheet, r, c_id)
        where.setdefault(top, here)
        where[(*top, "ids", n)] = here
        name, c = sheet.get(row, "Name")
        if not is_blank(name):
            section.setdefault("names", {})[org] = to_text(name)
            where[(*top, "names", org)] = _place(sheet.sheet, r, c)
        for column, key in (("Pays placements", "placements"), ("Pays funding streams", "budgets")):
            raw, c = sheet.get(row, column)
            for item in _parts(raw, commas=key == "placements"):
                named = match_choice(item, SETTING_LABELS) if key == "placements" else None
                ident = named or item
                if (key, ident) in paid_by:
                    sheet.error(
                        r,
                        c,
                        f"{quote(item)} is paid by two organisations "
                        f"(also at {paid_by[key, ident]})",
                        "give each one payer",
                    )
                    continue
                paid_by[key, ident] = _place(sheet.sheet, r, c)
                section.setdefault(key, {})[item] = org
                where[(*top, key, ident)] = _place(sheet.sheet, r, c)
        for column, key in (("Pays contracts", "contracts"), ("No worse off", "no_worse_off")):
            raw, c = sheet.get(row, column)
            if is_blank(raw):
                continue
            text = to_text(raw).strip().casefold()
            if text not in _YES | _NO:
                sheet.error(r, c, f"{quote(to_text(raw))} is not Y or N", "write Y or N")
                continue
            if text in _NO:
                continue
            if key == "contracts":
                if "contracts" in section:
                    sheet.error(r, c, "two organisations pay the block contracts", "give one a Y")
                    continue
                section["contracts"] = org
                where[(*top, "contracts")] = _place(sheet.sheet, r, c)
            else:
                where[(*top, "no_worse_off", len(section.get("no_worse_off", [])))] = _place(
                    sheet.sheet, r, c
                )
                section.setdefault("no_worse_off", []).append(org)
        kind_raw, c_kind = sheet.get(row, "Target kind")
        rate_raw, c_rate = sheet.get(row, "Target rate")
        amounts_raw, c_amounts = sheet.get(row, "Target amounts (£)")
        if is_blank(kind_raw):
            if not is_blank(rate_raw) or not is_blank(amounts_raw):
                sheet.error(r, c_kind, "a target with no Target kind", "choose its kind")
            continue
        at: KeyPath = (*top, "targets", org)
        where[at] = where[(*at, "kind")] = _place(sheet.sheet, r, c_kind)
        target: dict[str, Any] = {"kind": to_text(kind_raw)}
        kind = match_choice(to_text(kind_raw), SAVINGS_KIND_LABELS)
        if kind == "year_on_year" and not is_blank(rate_raw):
            target["rate"] = _cell(rate_raw)
            where[(*at, "rate")] = _place(sheet.sheet, r, c_rate)
        elif kind == "vs_baseline" and not is_blank(rate_raw):
            rates = _parts(rate_raw) if isinstance(rate_raw, str) else [_cell(rate_raw)]
            if len(rates) == 1 and horizon:
                rates = rates * horizon  # one rate: every year
            target["rates"] = rates
            where[(*at, "rates")] = _place(sheet.sheet, r, c_rate)
        elif kind == "absolute" and not is_blank(amounts_raw):
            amounts = _parts(amounts_raw) if isinstance(amounts_raw, str) else [_cell(amounts_raw)]
            target["amounts"] = amounts
            where[(*at, "amounts")] = _place(sheet.sheet, r, c_amounts)
        section.setdefault("targets", {})[org] = target
    dowries = _Rows(path, SCENARIO_DOWRIES.sheet, dowry_rows, issues)
    for r, row in enumerate(dowry_rows[1:], start=1):
        if all(is_blank(v) for v in row):
            continue
        n = len(section.get("dowries", []))
        dowry: dict[str, Any] = {}
        for column, key in (
            ("From", "from"),
            ("To", "to"),
            ("Setting", "setting"),
            ("Share", "share"),
        ):
            raw, c = dowries.get(row, column)
            where[(*top, "dowries", n, key)] = _place(dowries.sheet, r, c)
            if not is_blank(raw):
                dowry[key] = _cell(raw)
        where[(*top, "dowries", n)] = _place(dowries.sheet, r, 0)
        where.setdefault(top, _place(dowries.sheet, r, 0))
        section.setdefault("dowries", []).append(dowry)
    if ids or section:
        data["organisations"] = {"ids": ids, **section}


# --------------------------------------------------------------------------- writing


def _rate_text(value: Any) -> str:
    return f"{decimal_text(Decimal(str(value)) * 100)}%"


def write_organisations(book: Book, scenario: Mapping[str, Any]) -> None:
    """The Organisations and Dowries sheets (with headers only when there are none)."""
    section: Mapping[str, Any] = scenario.get("organisations") or {}
    ids: list[str] = list(section.get("ids") or [])
    names = section.get("names") or {}
    ws = book.wb.add_worksheet(SCENARIO_ORGANISATIONS.sheet)
    book.print_setup(ws)
    headers = SCENARIO_ORGANISATIONS.headers
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, book.header)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 16)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 3, 30)
    ws.set_column(4, 5, 14)
    ws.set_column(6, 8, 22)
    rate = book.wb.add_format({"num_format": "0.0##%"})
    money = book.wb.add_format({"num_format": "£#,##0.00"})
    placements = section.get("placements") or {}
    budgets = section.get("budgets") or {}
    targets = section.get("targets") or {}
    for r, org in enumerate(ids, start=1):
        target = targets.get(org) or {}
        kind = target.get("kind")
        cells: list[Any] = [
            org,
            names.get(org, ""),
            f"{SEPARATOR} ".join(
                label_of(s, SETTING_LABELS) for s, o in placements.items() if o == org
            ),
            f"{SEPARATOR} ".join(s for s, o in budgets.items() if o == org),
            "Y" if section.get("contracts") == org else "",
            "Y" if org in (section.get("no_worse_off") or []) else "",
            label_of(kind, SAVINGS_KIND_LABELS) if kind else "",
        ]
        for c, value in enumerate(cells):
            book.put(ws, r, c, value)
        if kind == "year_on_year" and target.get("rate") is not None:
            book.put(ws, r, 7, Decimal(str(target["rate"])), rate)
        elif kind == "vs_baseline" and target.get("rates"):
            ws.write_string(r, 7, f"{SEPARATOR} ".join(_rate_text(v) for v in target["rates"]))
        elif kind == "absolute" and target.get("amounts"):
            amounts = target["amounts"]
            ws.write_string(
                r, 8, f"{SEPARATOR} ".join(f"£{Decimal(str(v)):,}" for v in amounts), money
            )
    last = max(len(ids), 1)
    yes_no = {"validate": "list", "source": ["Y", "N"]}
    ws.data_validation(1, 4, max(last, 20), 5, yes_no)
    ws.data_validation(
        1, 6, max(last, 20), 6, {"validate": "list", "source": list(SAVINGS_KIND_LABELS.values())}
    )
    dw = book.wb.add_worksheet(SCENARIO_DOWRIES.sheet)
    book.print_setup(dw)
    for c, h in enumerate(SCENARIO_DOWRIES.headers):
        dw.write_string(0, c, h, book.header)
    dw.freeze_panes(1, 0)
    dw.set_column(0, 2, 18)
    dw.set_column(3, 3, 12, rate)
    for r, d in enumerate(section.get("dowries") or [], start=1):
        dw.write_string(r, 0, str(d.get("from", "")))
        dw.write_string(r, 1, str(d.get("to", "")))
        dw.write_string(r, 2, label_of(str(d.get("setting", "")), SETTING_LABELS))
        book.put(dw, r, 3, Decimal(str(d.get("share", 0))), rate)
    dw.data_validation(1, 2, 50, 2, {"validate": "list", "source": list(SETTING_LABELS.values())})
