"""Writing workbooks: atomic outputs, Excel tables, £ formats, text kept as text."""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ras.cells import col_letters

#: Excel's last row; a data sheet longer than this is split (see ``write_table``).
EXCEL_MAX_ROWS = 1_048_576
FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
#: Column width that shows £999,999,999.99 whole in Excel and LibreOffice at 100 %.
MONEY_WIDTH = 17.0
#: The widest a column is made to fit its content (longer text wraps or is cut).
MAX_WIDTH = 60.0
#: The widest table (in Excel's character widths) printed upright on A4; wider tables
#: print in landscape, every table one page wide.
PORTRAIT_WIDTH = 100.0
#: The widest table printed one page wide (landscape, scaled to about 60 % at most);
#: wider ones print across pages.
LANDSCAPE_WIDTH = 220.0
#: Rows measured to fit a column to its content.
WIDTH_SAMPLE = 5000


def _shown_length(value: Any, percent: bool = False) -> int:
    """About how many characters a value takes on screen."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float, Decimal)):
        if percent:
            return len(f"{float(value) * 100:.1f}%")
        number = float(value)
        return (
            len(f"£{number:,.2f}")
            if number != int(number) or isinstance(value, Decimal)
            else len(f"{int(number):,}")
        )
    text = str(value)
    return len(text.split("\n", 1)[0])


class Book:
    """An XlsxWriter workbook with ras's formats."""

    def __init__(self, path: Path, *, deterministic: bool = False, constant_memory: bool = False):
        options: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False}
        if constant_memory:
            options["constant_memory"] = True
        self.wb: Workbook = xlsxwriter.Workbook(str(path), options)
        if deterministic:
            self.wb.set_properties({"created": FIXED_TIME})
        else:
            self.wb.set_properties({"created": dt.datetime.now()})
        f = self.wb.add_format
        self.header = f({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.money = f({"num_format": "£#,##0.00"})
        self.money0 = f({"num_format": "£#,##0"})
        self.number = f({"num_format": "#,##0.##"})
        self.percent = f({"num_format": "0.0%"})
        self.bold = f({"bold": True})
        self.title = f({"bold": True, "font_size": 14})
        self.wrap = f({"text_wrap": True, "valign": "top"})
        self.text = f({"num_format": "@"})
        self.unlocked = f({"locked": False})
        self.unlocked_money = f({"locked": False, "num_format": "£#,##0.00"})
        self.bold_money = f({"bold": True, "num_format": "£#,##0.00"})
        self._table_names: set[str] = set()
        self._path = Path(path)
        self._splices: list[tuple[Worksheet, list[Sequence[Any]], list[Any]]] = []
        self._table_rows: dict[str, int] = {}  # spliced table name -> its last row (1-based)

    def close(self) -> None:
        """Write the workbook to disk (then the rows of large tables, see ``write_table``)."""
        self.wb.close()
        if self._splices:
            splice_rows(
                self._path,
                [
                    (ws.index, rows, [None if f is None else f.xf_index for f in fmts])
                    for ws, rows, fmts in self._splices
                ],
                self._table_rows,
            )

    def put(self, ws: Worksheet, row: int, col: int, value: Any, fmt: Any = None) -> None:
        """Write one value: text always as text, numbers and money as numbers."""
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(row, col, value, fmt)
        elif isinstance(value, (int, float, Decimal)):
            ws.write_number(row, col, float(value), fmt)
        elif isinstance(value, (dt.datetime, dt.date)):
            ws.write_datetime(row, col, value, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)

    def print_setup(
        self,
        ws: Worksheet,
        *,
        landscape: bool = True,
        header_rows: int = 1,
        one_page: bool = False,
    ) -> None:
        """Print set-up: A4, one page wide, the header rows repeated on every page.

        ``one_page`` fits the whole sheet on one page: for summaries with charts, so
        that no chart is cut across pages.
        """
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 1 if one_page else 0)
        if header_rows and not one_page:
            ws.repeat_rows(0, header_rows - 1)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer("&L&A&RPage &P of &N")

    def sheet(self, name: str, *, landscape: bool = True, one_page: bool = False) -> Worksheet:
        """A new worksheet with ras's print set-up (see :meth:`print_setup`)."""
        ws = self.wb.add_worksheet(name)
        self.print_setup(ws, landscape=landscape, one_page=one_page, header_rows=0)
        return ws

    def pairs_sheet(
        self,
        name: str,
        headers: tuple[str, str],
        rows: Sequence[tuple[str, Any, Any]],
        widths: tuple[float, float] = (42, 60),
    ) -> Worksheet:
        """A sheet of label and value rows, each value in its own format (upright, A4)."""
        ws = self.sheet(name, landscape=False)
        ws.set_column(0, 0, widths[0])
        ws.set_column(1, 1, widths[1])
        ws.write_string(0, 0, headers[0], self.header)
        ws.write_string(0, 1, headers[1], self.header)
        ws.freeze_panes(1, 0)
        for r, (label, value, fmt) in enumerate(rows, start=1):
            ws.write_string(r, 0, label, self.bold)
            self.put(ws, r, 1, value, fmt)
        return ws

    def table_name(self, sheet: str) -> str:
        """A unique Excel table name derived from a sheet name."""
        base = "".join(ch for ch in sheet.title() if ch.isalnum()) or "Table"
        name, n = base, 1
        while name in self._table_names:
            n += 1
            name = f"{base}{n}"
        self._table_names.add(name)
        return name

    def _width(
        self, header: str, fmt: Any, asked: float | None, sample: list[Sequence[Any]], c: int
    ) -> float:
        """A column's width: what the header, the asked width and the content need.

        Content is measured on the first ``WIDTH_SAMPLE`` rows as it will be shown (money
        with £ and separators, shares as percentages), up to ``MAX_WIDTH``; money columns
        are never narrower than ``MONEY_WIDTH``, so no figure shows as ``###``.
        """
        width = asked if asked is not None else max(10.0, min(40.0, len(header) * 1.1 + 2))
        longest = 0
        for row in sample:
            if c < len(row):
                longest = max(longest, _shown_length(row[c], fmt is self.percent))
        width = max(width, min(MAX_WIDTH, longest * 1.1 + 2))
        if fmt in (self.money, self.bold_money):
            width = max(width, MONEY_WIDTH)  # £999,999,999.99 without ###
        return width

    def write_table(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any]],
        formats: dict[str, Any] | None = None,
        widths: dict[str, float] | None = None,
        max_rows: int = EXCEL_MAX_ROWS - 1,
    ) -> list[str]:
        """Write rows as an Excel table with a frozen header and filters.

        A table longer than Excel allows is continued on sheets ``<sheet> (2)``,
        ``<sheet> (3)``, ...; the names of every sheet written are returned.
        """
        formats = formats or {}
        col_fmts = [formats.get(h) for h in headers]
        names: list[str] = []
        it = iter(rows)
        part = 1
        while True:
            name = sheet if part == 1 else f"{sheet} ({part})"
            ws = self.wb.add_worksheet(name)
            names.append(name)
            ws.freeze_panes(1, 0)
            n = 0
            first_row: Sequence[Any] = ()
            more = False
            rest: list[Sequence[Any]] = []
            for values in it:
                n += 1
                if n <= 1:  # the first data row through XlsxWriter: its formats get ids
                    first_row = values
                    for c, v in enumerate(values):
                        self.put(ws, n, c, v, col_fmts[c])
                else:
                    rest.append(values)
                if n >= max_rows:
                    more = True
                    break
            sample = ([first_row] if n else []) + rest[: WIDTH_SAMPLE - 1]
            total = 0.0
            for c, h in enumerate(headers):
                width = self._width(h, col_fmts[c], (widths or {}).get(h), sample, c)
                ws.set_column(c, c, width)
                total += width
            self.print_setup(ws, landscape=total > PORTRAIT_WIDTH)  # narrow tables upright
            if total > LANDSCAPE_WIDTH:  # very wide: across pages at a readable size,
                ws.fit_to_pages(math.ceil(total / LANDSCAPE_WIDTH), 0)
                ws.repeat_columns(0)  # each page starting with the first column
            table = self.table_name(name)
            if rest:
                self._splices.append((ws, rest, col_fmts))
                self._table_rows[table] = n + 1
            if n == 0:
                for c, h in enumerate(headers):
                    ws.write_string(0, c, h, self.header)
                ws.autofilter(0, 0, 0, max(len(headers) - 1, 0))
            else:
                # XlsxWriter indexes every cell of a table's range; a spliced table is
                # declared over its first two rows and widened in ``splice_rows``.
                ws.add_table(
                    0,
                    0,
                    min(n, 1),
                    len(headers) - 1,
                    {
                        "name": table,
                        "columns": [{"header": h, "header_format": self.header} for h in headers],
                        "style": "Table Style Light 9",
                    },
                )
            if not more:
                break
            # Peek: stop if the iterator is exhausted exactly at the limit.
            try:
                first = next(it)
            except StopIteration:
                break
            it = _chain_one(first, it)
            part += 1
        return names


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_CELL_TEXT = 32_767


def _text_xml(text: str) -> str:
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    text = _CONTROL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text != text.strip():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


def rows_xml(rows: Sequence[Sequence[Any]], first_row: int, xf: Sequence[int | None]) -> str:
    """SpreadsheetML for data rows: numbers as numbers, text as inline strings (never formulas)."""
    letters = [col_letters(c) for c in range(max((len(r) for r in rows), default=0))]
    style = [f' s="{x}"' if x else "" for x in xf] + [""] * len(letters)
    cache: dict[str, str] = {}
    out: list[str] = []
    for n, row in enumerate(rows, start=first_row):
        parts = [f'<row r="{n}">']
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            ref = f"{letters[c]}{n}"
            if isinstance(v, str):
                body = cache.get(v)
                if body is None:
                    body = cache[v] = _text_xml(v)
                parts.append(f'<c r="{ref}"{style[c]} t="inlineStr">{body}</c>')
            elif isinstance(v, bool):
                parts.append(f'<c r="{ref}"{style[c]} t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float, Decimal)):
                parts.append(f'<c r="{ref}"{style[c]}><v>{float(v)!r}</v></c>')
            else:
                body = _text_xml(str(v))
                parts.append(f'<c r="{ref}"{style[c]} t="inlineStr">{body}</c>')
        parts.append("</row>")
        out.append("".join(parts))
    return "".join(out)


def _widen(data: bytes, pattern: bytes, last_row: int, count: int = 0) -> bytes:
    """Set the last row of the ``A1:F2``-style ranges that ``pattern`` matches."""
    tail = str(last_row).encode()
    return re.sub(
        pattern, lambda m: m.group(1) + b":" + m.group(2) + tail + b'"', data, count=count
    )


def splice_rows(
    path: Path,
    splices: list[tuple[int, list[Sequence[Any]], list[int | None]]],
    table_rows: dict[str, int],
) -> None:
    """Write the rows of large tables straight into their sheets' XML.

    XlsxWriter costs several microseconds a cell; a table of a few hundred thousand
    cells is written here instead, after XlsxWriter has written the header, the first
    data row (so the formats have ids) and the table definition over its first rows.
    """
    members: dict[int, tuple[list[Sequence[Any]], list[int | None]]] = {
        index: (rows, xf) for index, rows, xf in splices
    }
    tmp = path.with_name(path.name + ".splice")
    with (
        zipfile.ZipFile(path) as zin,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zout,
    ):
        for info in zin.infolist():
            data = zin.read(info.filename)
            sheet = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            if sheet and int(sheet.group(1)) - 1 in members:
                rows, xf = members[int(sheet.group(1)) - 1]
                extra = rows_xml(rows, 3, xf).encode("utf-8")
                at = data.rindex(b"</sheetData>")
                data = data[:at] + extra + data[at:]
                data = _widen(
                    data, rb'(<dimension ref="[A-Z]+[0-9]+):([A-Z]+)[0-9]+"', 2 + len(rows), count=1
                )
            elif info.filename.startswith("xl/tables/"):
                name = re.search(rb'displayName="([^"]+)"', data)
                last_row = table_rows.get(name.group(1).decode()) if name else None
                if last_row is not None:
                    data = _widen(data, rb'(ref="[A-Z]+[0-9]+):([A-Z]+)[0-9]+"', last_row)
            zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    tmp.replace(path)


def _chain_one(first: Sequence[Any], rest: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield first
    yield from rest
