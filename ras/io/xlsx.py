"""Writing workbooks: atomic outputs, Excel tables, £ formats, text kept as text."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import math
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from ras.cells import col_letters
from ras.io import zip_members
from ras.io.cell_text import CONTROL_CHARS, cell_text

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


def _longest_shown(values: list[Any], percent: bool = False) -> int:
    """The longest of ``values`` as shown (see :func:`_shown_length`), measured fast.

    Text is measured by length; among numbers the widest shown is one of the largest in
    size, whole or not, so only those are formatted. The values are sorted by type
    first, so that each is looked at once (a table's widths are measured on its first
    5,000 rows, every column).
    """
    longest = 0
    kinds = set(map(type, values))
    if str in kinds:
        texts = [v for v in values if type(v) is str]
        if "\n" in "".join(texts):
            longest = max(len(t.split("\n", 1)[0]) for t in texts)
        else:
            longest = max(map(len, texts))
    if kinds & _MEASURED_NUMBERS:
        whole: list[Any] = [v for v in values if type(v) is int]
        parts: list[Any] = [v for v in values if type(v) is Decimal]
        if float in kinds:
            floats = [v for v in values if type(v) is float]
            whole += [v for v in floats if v.is_integer()]
            parts += [v for v in floats if not v.is_integer()]
        for part in (whole, parts):
            if part:
                longest = max(
                    longest,
                    _shown_length(max(part, key=abs), percent),
                    _shown_length(min(part), percent),
                )
    others = kinds - _MEASURED_NUMBERS - _NOT_MEASURED
    if others:  # dates, and any other kind: each formatted
        for v in values:
            if type(v) in others:
                longest = max(longest, _shown_length(v, percent))
    return longest


#: The number types measured by their largest values (bool is int's subclass: not one).
_MEASURED_NUMBERS = {int, float, Decimal}
#: Types whose values take no width of their own (bool: a yes/no column is as wide as
#: its heading) or are measured as text.
_NOT_MEASURED = {type(None), bool, str}


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


class Coded(Sequence[Any]):
    """A column given as codes into its distinct values (``values[code]``).

    It reads as the plain column; :class:`RowWriter` formats each distinct value once
    (or finds it among the values of earlier blocks) and looks cells up by their code,
    hashing each distinct value once rather than every cell (a ``Decimal`` hashes
    slowly).
    """

    def __init__(self, codes: Sequence[int], values: Sequence[Any] | Mapping[int, Any]) -> None:
        self.codes, self.values = codes, values

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> Coded: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Coded(self.codes[index], self.values)
        return self.values[self.codes[index]]

    def __iter__(self) -> Iterator[Any]:
        return map(self.values.__getitem__, self.codes)


@dataclass(frozen=True)
class Columns:
    """A block of a table's rows given a column at a time (each column one list).

    :meth:`Book.write_table` takes these among its rows: their cells are written a
    column at a time, never turned into rows.
    """

    columns: Sequence[Sequence[Any]]

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def head(self, n: int) -> list[tuple[Any, ...]]:
        """The first ``n`` rows, as rows."""
        return list(zip(*(c[:n] for c in self.columns), strict=True))

    def after(self, n: int) -> Columns:
        """The rows after the first ``n``."""
        return Columns([c[n:] for c in self.columns])


def rows_of(items: Iterable[Sequence[Any] | Columns]) -> Iterator[Sequence[Any]]:
    """Rows, from rows and :class:`Columns` blocks."""
    for item in items:
        if isinstance(item, Columns):
            yield from zip(*item.columns, strict=True)
        else:
            yield item


def _sample(
    items: Iterator[Sequence[Any] | Columns], size: int
) -> tuple[list[Sequence[Any]], Iterator[Sequence[Any] | Columns]]:
    """The first ``size`` rows of ``items`` (as rows), and the items after them."""
    sample: list[Sequence[Any]] = []
    for item in items:
        if isinstance(item, Columns):
            take = size - len(sample)
            sample.extend(item.head(take))
            if len(item) > take:
                return sample, itertools.chain([item.after(take)], items)
        else:
            sample.append(item)
        if len(sample) >= size:
            break
    return sample, items


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
        self.right = f({"align": "right"})  # a column of numbers with some as text (0.5%)
        self.unlocked = f({"locked": False})
        self.unlocked_text = f({"locked": False, "num_format": "@"})
        self.unlocked_money = f({"locked": False, "num_format": "£#,##0.00"})
        self.bold_money = f({"bold": True, "num_format": "£#,##0.00"})
        self._table_names: set[str] = set()
        self._path = Path(path)
        # Tables whose rows after the first are written by ``splice_rows``: the sheet,
        # its table's name, the rows (an iterator, read once at ``close``), their formats.
        self._splices: list[
            tuple[Worksheet, str, Iterable[Sequence[Any] | Columns], list[Any]]
        ] = []

    def close(self) -> None:
        """Write the workbook to disk (then the rows of large tables, see ``write_table``)."""
        self.wb.close()
        if self._splices:
            splice_rows(
                self._path,
                [
                    Splice(ws.index, table, rows, [_xf_index(f) for f in fmts])
                    for ws, table, rows, fmts in self._splices
                ],
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
        longest = _longest_shown([row[c] for row in sample if c < len(row)], fmt is self.percent)
        width = max(width, min(MAX_WIDTH, longest * 1.1 + 2))
        if fmt in (self.money, self.bold_money):
            width = max(width, MONEY_WIDTH)  # £999,999,999.99 without ###
        return width

    def write_table(
        self,
        sheet: str,
        headers: Sequence[str],
        rows: Iterable[Sequence[Any] | Columns],
        formats: dict[str, Any] | None = None,
        widths: dict[str, float] | None = None,
    ) -> None:
        """Write rows as an Excel table with a frozen header and filters.

        ``rows`` may hold :class:`Columns` blocks among the rows. The first rows are
        measured for column widths; the rest stay in ``rows`` until :meth:`close` writes
        them straight into the sheet, so a long table is never held whole. A table
        longer than Excel allows is an error at :meth:`close`: callers send those to CSV
        (see ``ras.io.allocations``).
        """
        formats = formats or {}
        col_fmts = [formats.get(h) for h in headers]
        it = iter(rows)
        ws = self.wb.add_worksheet(sheet)
        ws.freeze_panes(1, 0)
        sample, it = _sample(it, WIDTH_SAMPLE)
        for c, v in enumerate(sample[0] if sample else ()):
            # The first data row through XlsxWriter: its formats get ids.
            self.put(ws, 1, c, v, col_fmts[c])
        total = 0.0
        for c, h in enumerate(headers):
            width = self._width(h, col_fmts[c], (widths or {}).get(h), sample, c)
            ws.set_column(c, c, width)
            total += width
        self.print_setup(ws, landscape=total > PORTRAIT_WIDTH)  # narrow tables upright
        if total > LANDSCAPE_WIDTH:  # very wide: across pages at a readable size,
            ws.fit_to_pages(math.ceil(total / LANDSCAPE_WIDTH), 0)
            ws.repeat_columns(0)  # each page starting with the first column
        table = self.table_name(sheet)
        if not sample:
            for c, h in enumerate(headers):
                ws.write_string(0, c, h, self.header)
            ws.autofilter(0, 0, 0, max(len(headers) - 1, 0))
            return
        if len(sample) > 1:
            self._splices.append((ws, table, itertools.chain(sample[1:], it), col_fmts))
        # XlsxWriter indexes every cell of a table's range; a spliced table is declared
        # over its first two rows and widened in ``splice_rows``.
        ws.add_table(
            0,
            0,
            1,
            len(headers) - 1,
            {
                "name": table,
                "columns": [{"header": h, "header_format": self.header} for h in headers],
                "style": "Table Style Light 9",
            },
        )


def _xf_index(fmt: Any) -> int | None:
    """The cell-format id XlsxWriter gave ``fmt`` (None: no format).

    XlsxWriter writes equal formats once: a second ``add_format`` with the same
    properties shares the first's id without recording it (its ``xf_index`` stays None;
    the Solver sheet's Bound column lost its number format so). The id is looked up by
    the format's properties, and only where the workbook has it.
    """
    if fmt is None or fmt.xf_index is not None:
        return None if fmt is None else int(fmt.xf_index)
    known = fmt.xf_format_indices
    key = fmt._get_format_key()
    return int(known[key]) if known is not None and key in known else None


MAX_CELL_TEXT = 32_767


def _text_xml(text: str) -> str:
    if len(text) > MAX_CELL_TEXT:
        text = text[:MAX_CELL_TEXT]
    text = cell_text(text)
    if text != text.strip():
        return f'<is><t xml:space="preserve">{text}</t></is>'
    return f"<is><t>{text}</t></is>"


#: Where a row's number goes while its XML is joined (no cell text can hold it: control
#: characters are written as ``_xHHHH_`` escapes, see ``_text_xml``).
_MARK = "\x00"
#: Distinct cells remembered while writing rows (a repeated value is formatted once).
CELL_CACHE = 200_000


def _cell_tail(value: Any, style: str) -> str:
    """A cell's XML after its reference: ``"`` + style + type + value + ``</c>``."""
    if isinstance(value, str):
        return f'"{style} t="inlineStr">{_text_xml(value)}</c>'
    if isinstance(value, bool):
        return f'"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f'"{style}><v>{float(value)!r}</v></c>'
    return f'"{style} t="inlineStr">{_text_xml(str(value))}</c>'


#: Rows after which a cache that rarely hits (a column of unique values) is dropped.
CACHE_TRIAL = 2_000


_NUMBERS = {int, float, Decimal}
#: Characters that make a text need more than wrapping (entities, ``_xHHHH_`` escapes),
#: looked for in a whole column at once (with ``_x``, which may start a text that looks
#: like an escape).
_SPECIAL = re.compile(f"[&<>{CONTROL_CHARS}]")


def _text_tails(column: Sequence[str | None], style: str) -> list[str]:
    """The cells of a column of text, as ``_cell_tail`` makes them, a column at once.

    Texts that need escaping, cutting or their spaces kept (``_text_xml``) are made
    one by one. Looking for spaces at either end value by value is several times
    quicker than a multi-line pattern over the whole column.
    """
    texts = [v for v in column if v]
    if texts and (
        max(map(len, texts)) > MAX_CELL_TEXT
        or _SPECIAL.search(joined := "".join(texts)) is not None
        or "_x" in joined
        or any(t != t.strip() for t in texts)
    ):
        return [_tail_or_empty(v, style) for v in column]
    head = f'"{style} t="inlineStr"><is><t>'
    return [head + v + "</t></is></c>" if v else "" for v in column]


#: What every column's cache starts with: an empty cell is no XML.
_EMPTY_CELLS: dict[Any, str] = {None: "", "": ""}


def _bound(cache: dict[Any, str]) -> None:
    """Start ``cache`` again once it holds more than CELL_CACHE values."""
    if len(cache) > CELL_CACHE:
        cache.clear()
        cache.update(_EMPTY_CELLS)


def _tail_or_empty(value: Any, style: str) -> str:
    """A cell's XML after its reference, or "" for an empty cell (None or "")."""
    if value is None or (type(value) is str and value == ""):
        return ""
    return _cell_tail(value, style)


class RowWriter:
    """Writes a table's data rows as SpreadsheetML, a block of rows at a time.

    The block is turned into columns: tables repeat most of their values (a person's
    answers, points and steps recur from person to person), so each distinct value of
    a column is formatted once and looked up after that, a column at a time. The
    pieces of every row (reference with row number, value) are laid out column by
    column and joined row by row, which costs a few tens of nanoseconds a cell. A column whose
    values rarely repeat (IDs, amounts) stops being cached after the first rows:
    formatting is then cheaper than looking up.
    """

    def __init__(self, xf: Sequence[int | None]) -> None:
        self.xf = list(xf)
        self.starts: list[str] = []
        self.style: list[str] = []
        self.caches: list[dict[Any, str] | None] = []
        self.misses: list[int] = []
        self.rows = 0

    def _widen_to(self, width: int) -> None:
        for c in range(len(self.starts), width):
            self.starts.append(f'<c r="{col_letters(c)}')
            x = self.xf[c] if c < len(self.xf) else None
            self.style.append(f' s="{x}"' if x else "")
            self.caches.append(dict(_EMPTY_CELLS))
            self.misses.append(0)

    def _tails(self, c: int, column: Sequence[Any]) -> list[str]:
        """Each value's XML after its reference ("" for an empty cell)."""
        style, cache = self.style[c], self.caches[c]
        if isinstance(column, Coded):
            return self._coded_tails(column, style, cache)
        kinds = set(map(type, column))
        # True == 1 and hashes alike: a column holding yes/no values is never cached.
        if cache is None or bool in kinds:
            kinds.discard(type(None))
            if kinds <= _NUMBERS:  # numbers as _cell_tail writes them, without its tests
                return [
                    f'"{style}><v>{float(v)!r}</v></c>' if v is not None else "" for v in column
                ]
            if kinds == {str}:
                return _text_tails(column, style)
            return [_tail_or_empty(v, style) for v in column]
        try:
            found: list[str | None] = list(map(cache.get, column))
        except TypeError:  # an unhashable value: formatted every time
            return [_tail_or_empty(v, style) for v in column]
        missed = 0
        tails: list[str] = found  # type: ignore[assignment]  # every None is filled below
        if None in found:
            for i, tail in enumerate(found):
                if tail is None:
                    v = column[i]
                    tail = cache.get(v)
                    if tail is None:
                        missed += 1
                        tail = cache[v] = _cell_tail(v, style)
                    tails[i] = tail
        self.misses[c] += missed
        _bound(cache)
        return tails

    @staticmethod
    def _coded_tails(column: Coded, style: str, cache: dict[Any, str] | None) -> list[str]:
        """A coded column's cells: each code's value formatted once, or found in ``cache``.

        Blocks of a bulk table repeat the same amounts under different codes (each
        block numbers its own money groups), so the column's cache is kept across
        blocks: looking an amount up costs a third of formatting it.
        """
        values = column.values
        made: dict[int, str] = {}
        for k in set(column.codes):
            v = values[k]
            tail = None
            if cache is not None and type(v) is not bool:  # True == 1: never cached
                try:
                    tail = cache.get(v)
                    if tail is None:
                        tail = cache[v] = _tail_or_empty(v, style)
                except TypeError:  # unhashable: formatted every time
                    pass
            made[k] = _tail_or_empty(v, style) if tail is None else tail
        if cache is not None:
            _bound(cache)
        return list(map(made.__getitem__, column.codes))

    def xml(self, rows: Sequence[Sequence[Any]], first_row: int) -> str:
        """The XML of ``rows``, the first numbered ``first_row``."""
        if not rows:
            return ""
        return self.xml_columns(list(itertools.zip_longest(*rows)), first_row)

    def xml_columns(self, columns: Sequence[Sequence[Any]], first_row: int) -> str:
        """The XML of the rows whose columns are ``columns``, numbered from ``first_row``."""
        count = len(columns[0]) if columns else 0
        if not count:
            return ""
        self._widen_to(len(columns))
        numbers = [str(r) for r in range(first_row, first_row + count)]
        # Each row is joined with a mark where its number goes, then the mark replaced:
        # the references are the same text in every row (no text made per cell).
        pieces: list[Iterable[str]] = [itertools.repeat('<row r="' + _MARK + '">')]
        for c, column in enumerate(columns):
            tails = self._tails(c, column)
            ref = self.starts[c] + _MARK
            if "" in tails:  # empty cells are left out, reference and all
                pieces.append([ref if t else "" for t in tails])
            else:
                pieces.append(itertools.repeat(ref))
            pieces.append(tails)
        pieces.append(itertools.repeat("</row>"))
        rows = map("".join, zip(*pieces, strict=False))  # the lists give the length
        before = self.rows
        self.rows += count
        if before < CACHE_TRIAL <= self.rows:
            for c, missed in enumerate(self.misses):
                if missed * 2 > self.rows:
                    self.caches[c] = None
        return "".join(map(str.replace, rows, itertools.repeat(_MARK), numbers))


def _widen(data: bytes, pattern: bytes, last_row: int, count: int = 0) -> bytes:
    """Set the last row of the ``A1:F2``-style ranges that ``pattern`` matches."""
    tail = str(last_row).encode()
    return re.sub(
        pattern, lambda m: m.group(1) + b":" + m.group(2) + tail + b'"', data, count=count
    )


@dataclass
class Splice:
    """Rows to write into a sheet after XlsxWriter has written it (see ``splice_rows``)."""

    sheet_index: int  # 0-based, as XlsxWriter numbers sheet files
    table: str  # the Excel table over the rows (widened to the last row)
    rows: Iterable[Sequence[Any] | Columns]
    xf: list[int | None]  # each column's format id


#: Rows turned into XML at a time while splicing.
SPLICE_BLOCK = 5_000


def _spool_rows(splice: Splice, spool: zip_members.Deflated) -> int:
    """Write a splice's rows as sheet XML (UTF-8) to ``spool``; how many rows there were.

    Rows go in blocks: however long the table, only one block is held at a time.
    """
    first = 3  # row 1 is the header and row 2 the row XlsxWriter wrote
    writer = RowWriter(splice.xf)
    block: list[Sequence[Any]] = []

    def write(xml: str, count: int) -> None:
        nonlocal first
        if first + count - 1 > EXCEL_MAX_ROWS:
            raise ValueError(f"table {splice.table}: more rows than Excel allows")
        spool.write(xml.encode("utf-8"))
        first += count

    for item in splice.rows:
        if isinstance(item, Columns):
            if block:
                write(writer.xml(block, first), len(block))
                block = []
            for at in range(0, len(item), SPLICE_BLOCK * 4):
                part = [c[at : at + SPLICE_BLOCK * 4] for c in item.columns]
                write(writer.xml_columns(part, first), len(part[0]))
            continue
        block.append(item)
        if len(block) >= SPLICE_BLOCK:
            write(writer.xml(block, first), len(block))
            block = []
    if block:
        write(writer.xml(block, first), len(block))
    spool.finish()
    return first - 3


def splice_rows(path: Path, splices: list[Splice]) -> None:
    """Write the rows of large tables straight into their sheets' XML.

    XlsxWriter costs several microseconds a cell; a table of a few hundred thousand
    cells is written here instead, after XlsxWriter has written the header, the first
    data row (so the formats have ids) and the table definition over its first rows.
    Each table's rows are deflated as they are made into a temporary file, so memory
    stays flat however long the table is; the sheet's own XML goes around them, and
    every other part of the workbook is copied still compressed.
    """
    members = {s.sheet_index: s for s in splices}
    tmp = path.with_name(path.name + ".splice")
    with contextlib.ExitStack() as stack:
        stack.callback(tmp.unlink, missing_ok=True)  # interrupted or failed: nothing left
        spools: dict[int, tuple[zip_members.Deflated, int]] = {}
        last_rows: dict[str, int] = {}
        for index, splice in members.items():
            spool = zip_members.Deflated(
                stack.enter_context(tempfile.TemporaryFile(dir=path.parent))
            )
            count = _spool_rows(splice, spool)
            spools[index] = (spool, count)
            last_rows[splice.table] = 2 + count
        data = path.read_bytes()
        with tmp.open("wb") as fh:
            zout = zip_members.ZipWriter(fh)
            for member in zip_members.members(data):
                name = member.name
                sheet = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", name)
                index = int(sheet.group(1)) - 1 if sheet else -1
                if index in spools:
                    spool, count = spools[index]
                    xml = zip_members.inflate(data, member, member.file_size)
                    at = xml.rindex(b"</sheetData>")
                    head = _widen(
                        xml[:at], rb'(<dimension ref="[A-Z]+[0-9]+):([A-Z]+)[0-9]+"', 2 + count, 1
                    )
                    zout.add_around(name, head, spool, xml[at:])
                elif name.startswith("xl/tables/"):
                    xml = zip_members.inflate(data, member, member.file_size)
                    found = re.search(rb'displayName="([^"]+)"', xml)
                    last_row = last_rows.get(found.group(1).decode()) if found else None
                    if last_row is not None:
                        xml = _widen(xml, rb'(ref="[A-Z]+[0-9]+):([A-Z]+)[0-9]+"', last_row)
                    zout.add(name, xml)
                else:
                    zout.copy(data, member)  # as XlsxWriter wrote it
            zout.close()
        tmp.replace(path)
