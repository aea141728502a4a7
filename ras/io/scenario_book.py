"""The scenario as a workbook (SPEC §15): ``Scenario``, ``Years``, ``Data``, ``Variants``.

The reader turns the workbook into the same plain data (and a locator naming each
value's sheet and cell) that the YAML reader gives, so validation, variants and
``--set`` are shared. The writer lays out a canonical scenario (see
:mod:`ras.io.scenario_file`); its sheets, keys and notes come from the scenario model
and :data:`ras.io.schemas.SCENARIO_SHEETS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.cells import cell_ref, is_blank, to_text
from ras.choices import SAVINGS_KIND_LABELS, label_of, match_choice
from ras.errors import ConfigError, Issue, KeyPath, Location, quote
from ras.io.organisations_book import read_organisations, write_organisations
from ras.io.reader import read_sheets
from ras.io.schemas import (
    SCENARIO_DATA,
    SCENARIO_SHEETS,
    SCENARIO_VALUES,
    SCENARIO_VARIANTS,
    SCENARIO_YEARS,
)
from ras.io.xlsx import Book
from ras.models.base import decimal_text
from ras.models.scenario import ScenarioKey, scenario_keys
from ras.models.table import norm
from ras.outputs import atomic_output

#: Keys given per year on the Years sheet: key -> its column there.
PER_YEAR = {
    "capacity.moves_per_year": "Moves",
    "savings.rates": "Savings rate",
    "savings.amounts": "Savings amount (£)",
}
#: The Scenario-sheet value a per-year column falls back on for the years it leaves empty.
SCALAR_OF = {
    "capacity.moves_per_year": ("capacity", "moves_per_year"),
    "savings.rates": ("savings", "rate"),
}
#: Characters of a note on one line of the Notes column (70 wide): rows are made tall
#: enough for their note, as Excel and LibreOffice do not grow them on opening.
NOTE_CHARS = 80
#: What separates the values of a per-year list typed in one cell (``2%; 3%; 4%``).
LIST_SEPARATOR = ";"


def _keys() -> dict[str, ScenarioKey]:
    return {k.key: k for k in scenario_keys()}


def _key_typed(name: str, keys: Mapping[str, ScenarioKey]) -> str:
    """The key a cell names, in any case and with stray spaces (``Savings.Rate``)."""
    text = name.strip()
    if text in keys:
        return text
    folded = "".join(text.split()).casefold()
    return next((k for k in keys if k.casefold() == folded), text)


def typed_list(value: Any, dotted: str) -> Any:
    """``10; 12; 12`` as the list it means, for a key that takes one (as in a cell)."""
    if isinstance(value, str) and LIST_SEPARATOR in value:
        return _value(value, _keys().get(dotted))
    return value


def _place(sheet: str, r: int, c: int) -> str:
    return f"sheet {sheet!r}, cell {cell_ref(r, c)}"


class _Sheet:
    """One sheet's rows, its header's columns, and the problems found in it."""

    def __init__(self, path: Path, name: str, rows: list[list[Any]], issues: list[Issue]):
        self.path, self.name, self.rows, self.issues = path, name, rows, issues
        header = [norm(to_text(v)) for v in (rows[0] if rows else [])]
        self.cols = {h: c for c, h in reversed(list(enumerate(header))) if h}

    def col(self, name: str, required: bool) -> int | None:
        c = self.cols.get(norm(name))
        if c is None and required:
            shown = ", ".join(to_text(v) for v in (self.rows[0] if self.rows else []) if v)
            self.error(
                0,
                0,
                f"no column {name!r} in the header row (found: {shown or 'none'})",
                f"put the heading {name!r} in row 1",
            )
        return c

    def cell(self, row: list[Any], c: int | None) -> Any:
        return row[c] if c is not None and c < len(row) else None

    def error(self, r: int, c: int, problem: str, fix: str) -> None:
        self.issues.append(
            Issue(
                "invalid-setting", Location(str(self.path), self.name, cell_ref(r, c)), problem, fix
            )
        )


def _value(raw: Any, key: ScenarioKey | None) -> Any:
    """A cell as the YAML reader would give it: text, or a list for per-year values."""
    if isinstance(raw, str) and key is not None and key.kind.startswith(("list of", "integer or")):
        if LIST_SEPARATOR in raw:
            return [part.strip() for part in raw.split(LIST_SEPARATOR) if part.strip()]
    if isinstance(raw, bool):
        return raw
    return to_text(raw)


def set_path(data: dict[str, Any], keys: Sequence[str], value: Any) -> None:
    """Set ``data[k1][k2]...`` to ``value``, making the mappings on the way."""
    node = data
    for k in keys[:-1]:
        child = node.get(k)
        if not isinstance(child, dict):
            child = {}
            node[k] = child
        node = child
    node[keys[-1]] = value


def _get(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    node: Any = data
    for k in keys:
        if not isinstance(node, Mapping) or k not in node:
            return None
        node = node[k]
    return node


def read_scenario_book(path: Path) -> tuple[dict[str, Any], dict[KeyPath, str]]:
    """The scenario in a workbook as plain data, and where each value is (sheet, cell).

    Raises:
        ConfigError: every problem with the sheets' layout at once (sheet and cell).
    """
    sheets = read_sheets(
        path,
        [s.sheet for s in SCENARIO_SHEETS],
        required=[SCENARIO_VALUES.sheet],
        refuse_uncalculated=SCENARIO_SHEETS,
    )
    keys = _keys()
    issues: list[Issue] = []
    data: dict[str, Any] = {}
    where: dict[KeyPath, str] = {}
    seen: dict[str, str] = {}
    values = _Sheet(path, SCENARIO_VALUES.sheet, sheets[SCENARIO_VALUES.sheet], issues)
    _read_pairs(values, ("Key", "Value"), keys, data, where, seen)
    if SCENARIO_DATA.sheet in sheets:
        inputs = _Sheet(path, SCENARIO_DATA.sheet, sheets[SCENARIO_DATA.sheet], issues)
        _read_pairs(inputs, ("Input", "Path"), keys, data, where, seen, prefix="data.")
    if SCENARIO_YEARS.sheet in sheets:
        _read_years(path, sheets[SCENARIO_YEARS.sheet], keys, data, where, issues)
    if SCENARIO_VARIANTS.sheet in sheets:
        _read_variants(path, sheets[SCENARIO_VARIANTS.sheet], keys, data, where, issues)
    horizon = to_text(_get(data, ["horizon"]))
    read_organisations(
        path, sheets, int(horizon) if horizon.isdigit() else None, data, where, issues
    )
    if issues:
        raise ConfigError("\n".join(i.one_line() for i in issues), issues)
    return data, where


def _read_pairs(
    sheet: _Sheet,
    columns: tuple[str, str],
    keys: Mapping[str, ScenarioKey],
    data: dict[str, Any],
    where: dict[KeyPath, str],
    seen: dict[str, str],
    prefix: str = "",
) -> None:
    """Rows of ``key | value`` (the Scenario sheet; the Data sheet with ``data.``)."""
    kc, vc = sheet.col(columns[0], True), sheet.col(columns[1], True)
    if kc is None or vc is None:
        return
    for r, row in enumerate(sheet.rows[1:], start=1):
        name = to_text(sheet.cell(row, kc))
        if not name:
            continue
        key = prefix + norm(name) if prefix else _key_typed(name, keys)
        place = _place(sheet.name, r, vc)
        if key in seen:
            sheet.error(r, kc, f"{name} is given twice (first at {seen[key]})", "keep one row")
            continue
        seen[key] = place
        parts = tuple(key.split("."))
        for n in range(1, len(parts)):  # an unknown section is named at its first cell
            where.setdefault(parts[:n], place)
        where[parts] = place
        raw = sheet.cell(row, vc)
        if not is_blank(raw):
            set_path(data, parts, _value(raw, keys.get(key)) if not prefix else to_text(raw))


def _read_years(  # noqa: C901 - one pass over the rows, then one per column
    path: Path,
    rows: list[list[Any]],
    keys: Mapping[str, ScenarioKey],
    data: dict[str, Any],
    where: dict[KeyPath, str],
    issues: list[Issue],
) -> None:
    sheet = _Sheet(path, SCENARIO_YEARS.sheet, rows, issues)
    yc = sheet.col("Year", True)
    if yc is None:
        return
    try:
        horizon = int(str(_get(data, ["horizon"])))
    except ValueError:
        return  # the horizon's own error says what is wrong
    columns = {key: sheet.col(name, False) for key, name in PER_YEAR.items()}
    given: dict[str, dict[int, tuple[Any, str]]] = {key: {} for key in PER_YEAR}
    for r, row in enumerate(rows[1:], start=1):
        raw_year = sheet.cell(row, yc)
        values = {key: sheet.cell(row, c) for key, c in columns.items()}
        if is_blank(raw_year):
            if any(not is_blank(v) for v in values.values()):
                sheet.error(r, yc, "a row with values but no Year", "give the plan year (1, 2, …)")
            continue
        text = to_text(raw_year)
        if not text.isdigit() or not 1 <= int(text) <= horizon:
            if text.isdigit() and all(is_blank(v) for v in values.values()):
                continue  # a year past a shortened horizon, with nothing in it
            sheet.error(
                r, yc, f"Year {quote(text)} is not a plan year", f"use 1 to the horizon, {horizon}"
            )
            continue
        year = int(text)
        for key, raw in values.items():
            c = columns[key]
            if is_blank(raw) or c is None:
                continue
            if year in given[key]:
                sheet.error(
                    r, c, f"year {year} is given twice (first at {given[key][year][1]})", "keep one"
                )
                continue
            given[key][year] = (_value(raw, None), _place(sheet.name, r, c))
    kind = match_choice(_get(data, ["savings", "kind"]) or "", SAVINGS_KIND_LABELS)
    uses = {"savings.rates": "vs_baseline", "savings.amounts": "absolute"}
    for key, by_year in given.items():
        if key in uses and by_year and kind is not None and kind != uses[key]:
            first = min(by_year)
            shown = label_of(kind, SAVINGS_KIND_LABELS)
            issues.append(
                Issue(
                    "invalid-setting",
                    Location(str(path), sheet.name, by_year[first][1].rsplit(" ", 1)[-1]),
                    f"a per-year {PER_YEAR[key]} is not used with the savings kind {shown!r}",
                    "clear the column, or change savings.kind"
                    + (" (the one rate is savings.rate)" if kind == "year_on_year" else ""),
                )
            )
            continue
        scalar: Any = _get(data, SCALAR_OF[key]) if key in SCALAR_OF else None
        if isinstance(scalar, list):
            scalar = None
        use_scalar = key == "capacity.moves_per_year" or kind == "vs_baseline"
        if key == "savings.rates" and kind == "vs_baseline" and scalar is not None:
            del data["savings"]["rate"]  # it fills the years the sheet leaves empty
        if not by_year and not (key == "savings.rates" and kind == "vs_baseline" and scalar):
            continue
        out: list[Any] = []
        for year in range(1, horizon + 1):
            if year in by_year:
                out.append(by_year[year][0])
                where[(*key.split("."), year - 1)] = by_year[year][1]
            elif scalar is not None and use_scalar:
                out.append(scalar)
            else:
                c = columns[key] or 0
                issues.append(
                    Issue(
                        "invalid-setting",
                        Location(str(path), sheet.name, cell_ref(0, c)),
                        f"{PER_YEAR[key]} has no value for year {year}",
                        "give one for every plan year",
                    )
                )
                break
        else:
            set_path(data, key.split("."), out)
            where[tuple(key.split("."))] = f"sheet {sheet.name!r}, column {PER_YEAR[key]!r}"


def _read_variants(
    path: Path,
    rows: list[list[Any]],
    keys: Mapping[str, ScenarioKey],
    data: dict[str, Any],
    where: dict[KeyPath, str],
    issues: list[Issue],
) -> None:
    sheet = _Sheet(path, SCENARIO_VARIANTS.sheet, rows, issues)
    nc, kc, vc = sheet.col("Variant", True), sheet.col("Key", True), sheet.col("Value", True)
    if nc is None or kc is None or vc is None:
        return
    variants: dict[str, Any] = {}
    seen: dict[tuple[str, str], str] = {}
    for r, row in enumerate(rows[1:], start=1):
        name, key = to_text(sheet.cell(row, nc)), _key_typed(to_text(sheet.cell(row, kc)), keys)
        raw = sheet.cell(row, vc)
        if not name and not key and is_blank(raw):
            continue
        if not name or not key:
            sheet.error(
                r, nc if not name else kc, "a variant row needs Variant and Key", "fill both"
            )
            continue
        place = _place(sheet.name, r, vc)
        if (name, key) in seen:
            sheet.error(
                r, kc, f"{name}: {key} is given twice (first at {seen[(name, key)]})", "keep one"
            )
            continue
        seen[(name, key)] = place
        where[("variants", name)] = where.get(("variants", name), _place(sheet.name, r, nc))
        parts = tuple(key.split("."))
        for n in range(1, len(parts)):  # an unknown section is named at its first cell
            where.setdefault(("variants", name, *parts[:n]), place)
        where[("variants", name, *parts)] = place
        set_path(variants.setdefault(name, {}), key.split("."), _value(raw, keys.get(key)))
    if variants:
        data["variants"] = variants


# --------------------------------------------------------------------------- writing


def _shown(value: Any, key: ScenarioKey) -> Any:
    """A list's values as one cell's text: ``2%; 3%`` (rates), ``£1,000; £2,000`` (money)."""
    kind = key.kind.removeprefix("list of ").removesuffix(" or list")
    if isinstance(value, list | tuple):
        return f"{LIST_SEPARATOR} ".join(_item_text(v, kind) for v in value)
    return value


def _item_text(value: Any, kind: str) -> str:
    if kind == "rate":
        return f"{decimal_text(Decimal(value) * 100)}%"
    if kind == "money":
        return f"£{Decimal(value):,}"
    return decimal_text(Decimal(value)) if isinstance(value, Decimal) else str(value)


def _note(key: ScenarioKey) -> str:
    note = key.description
    if key.choices:
        note += " Choose " + ", ".join(key.choices.values()) + "."
    if key.default is not None:
        note += f" Default: {key.default}."
    elif key.required:
        note += " Required."
    return note


def write_scenario_book(scenario: Mapping[str, Any], out: Path, deterministic: bool = True) -> None:
    """Write a canonical scenario (see ``canonical_scenario``) as ``scenario.xlsx``."""
    keys = _keys()
    with atomic_output(out) as tmp:
        book = Book(tmp, deterministic=deterministic)
        top = {"locked": False, "valign": "top", "align": "left"}
        rate = book.wb.add_format({"num_format": "0.0##%", **top})
        money = book.wb.add_format({"num_format": "£#,##0.00", **top})
        plain = book.wb.add_format(top)
        formats = {"rate": rate, "money": money}
        _write_values(book, scenario, keys, formats, plain)
        _write_years(book, scenario, formats, plain)
        _write_data(book, scenario, keys)
        _write_variants(book, scenario, keys, formats, plain)
        write_organisations(book, scenario)
        book.close()


def _write_values(
    book: Book,
    scenario: Mapping[str, Any],
    keys: Mapping[str, ScenarioKey],
    formats: Mapping[str, Any],
    plain: Any,
) -> None:
    ws = book.wb.add_worksheet(SCENARIO_VALUES.sheet)
    key_format = book.wb.add_format({"bold": True, "valign": "top"})
    book.print_setup(ws)
    for c, h in enumerate(SCENARIO_VALUES.headers):
        ws.write_string(0, c, h, book.header)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 32)
    ws.set_column(1, 1, 26)
    ws.set_column(2, 2, 70, book.wrap)
    r = 1
    for key in keys.values():
        if key.key.startswith("data.") or key.key in ("savings.rates", "savings.amounts"):
            continue
        value = _get(scenario, key.key.split("."))
        ws.write_string(r, 0, key.key, key_format)
        fmt = formats.get(key.kind, plain)
        if isinstance(value, list):  # per year: on the Years sheet
            ws.write_blank(r, 1, None, plain)
            note = _note(key) + " Given per year on the Years sheet."
            ws.write_string(r, 2, note, book.wrap)
        else:
            if key.choices and value is not None:
                value = label_of(str(value), key.choices)
            book.put(ws, r, 1, value, fmt)
            note = _note(key)
            ws.write_string(r, 2, note, book.wrap)
        ws.set_row(r, 15 * max(1, -(-len(note) // NOTE_CHARS)))
        if key.choices:
            ws.data_validation(
                r, 1, r, 1, {"validate": "list", "source": list(key.choices.values())}
            )
        r += 1
    ws.activate()


def _write_years(
    book: Book, scenario: Mapping[str, Any], formats: Mapping[str, Any], plain: Any
) -> None:
    ws = book.wb.add_worksheet(SCENARIO_YEARS.sheet)
    book.print_setup(ws)
    for c, h in enumerate(SCENARIO_YEARS.headers):
        ws.write_string(0, c, h, book.header)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 1, 14)
    ws.set_column(2, 4, 20)
    horizon = int(scenario.get("horizon") or 0)
    base = int(scenario.get("base_year") or 0)
    base_row = 1 + next(
        i
        for i, k in enumerate(k for k in _keys().values() if not k.key.startswith("data."))
        if k.key == "base_year"
    )
    lists = {
        "capacity.moves_per_year": (2, plain),
        "savings.rates": (3, formats["rate"]),
        "savings.amounts": (4, formats["money"]),
    }
    for year in range(1, horizon + 1):
        ws.write_number(year, 0, year)
        start = base + year
        # base_year may be typed 2026 or 2026/27: its first four characters are the year
        first = f"VALUE(LEFT(Scenario!$B${base_row + 1},4))+A{year + 1}"
        ws.write_formula(
            year,
            1,
            f'=({first})&"/"&RIGHT({first}+1,2)',
            None,
            f"{start}/{str(start + 1)[-2:]}",
        )
        for key, (c, fmt) in lists.items():
            value = _get(scenario, key.split("."))
            if isinstance(value, list) and year <= len(value):
                book.put(ws, year, c, Decimal(str(value[year - 1])), fmt)
            else:
                ws.write_blank(year, c, None, fmt)


def _write_data(book: Book, scenario: Mapping[str, Any], keys: Mapping[str, ScenarioKey]) -> None:
    ws = book.wb.add_worksheet(SCENARIO_DATA.sheet)
    book.print_setup(ws)
    for c, h in enumerate(SCENARIO_DATA.headers):
        ws.write_string(0, c, h, book.header)
    ws.freeze_panes(1, 0)
    data = scenario.get("data") or {}
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, max(30, 2 + max((len(str(v)) for v in data.values()), default=0)))
    ws.set_column(2, 2, 70, book.wrap)
    for r, name in enumerate(SCENARIO_DATA.column("Input").choices, start=1):
        ws.write_string(r, 0, name, book.bold)
        book.put(ws, r, 1, data.get(name, ""), book.unlocked)
        ws.write_string(r, 2, keys[f"data.{name}"].description, book.wrap)


def _write_variants(
    book: Book,
    scenario: Mapping[str, Any],
    keys: Mapping[str, ScenarioKey],
    formats: Mapping[str, Any],
    plain: Any,
) -> None:
    ws = book.wb.add_worksheet(SCENARIO_VARIANTS.sheet)
    book.print_setup(ws)
    for c, h in enumerate(SCENARIO_VARIANTS.headers):
        ws.write_string(0, c, h, book.header)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, 32)
    ws.set_column(2, 2, 30)
    r = 1
    for name, body in (scenario.get("variants") or {}).items():
        for dotted, value in leaves("", body):
            key = keys.get(dotted)
            ws.write_string(r, 0, name)
            ws.write_string(r, 1, dotted)
            if key is None and isinstance(value, list | tuple):  # organisations.*: one cell
                if all(isinstance(v, str) for v in value):
                    ws.write_string(r, 2, f"{LIST_SEPARATOR} ".join(value), plain)
                elif value:
                    ws.write_string(r, 2, json.dumps(value, default=str), plain)
                else:
                    ws.write_blank(r, 2, None, plain)
            elif key is None:
                book.put(ws, r, 2, value, plain)
            elif isinstance(value, list):
                ws.write_string(r, 2, str(_shown(value, key)), plain)
            elif key.choices:
                ws.write_string(r, 2, label_of(str(value), key.choices), plain)
            else:
                book.put(ws, r, 2, value, formats.get(key.kind, plain))
            r += 1
    last = max(r - 1, 1)
    listed = [k for k in keys if not k.startswith("data.")]
    for i, k in enumerate(listed, start=1):  # the keys, for the Key drop-down (hidden)
        ws.write_string(i, 5, k)
    ws.set_column(5, 5, None, None, {"hidden": True})
    ws.data_validation(
        1,
        1,
        max(last, 200),
        1,
        {
            "validate": "list",
            "source": f"=$F$2:$F${len(listed) + 1}",
            "error_type": "information",
        },
    )
    ws.autofilter(0, 0, last, 2)


def leaves(prefix: str, value: Any) -> list[tuple[str, Any]]:
    """Nested mappings as (dotted key, value) pairs: ``savings.rate``."""
    if isinstance(value, Mapping):
        out: list[tuple[str, Any]] = []
        for k, v in value.items():
            out += leaves(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    return [(prefix, value)]
