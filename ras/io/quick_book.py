"""The part of openpyxl's worksheet interface the budget pages use, written with XlsxWriter.

The budget pages are laid out once (``ras.io.budget_sheets``) against openpyxl's
interface: cells by reference, their number format, font, fill and alignment, column
widths, merged cells and print set-up. Written with openpyxl, two pages cost about as
much as the rest of a budget sheet; this stand-in records the same calls and writes
them with XlsxWriter, several times faster, as a small workbook that is then grafted
into the person's own (``ras.io.graft``). The full openpyxl path stays for workbooks
the graft cannot take, so both paths run the same layout code.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter

from ras.cells import col_index

_REF = re.compile(r"([A-Z]+)([0-9]+)$")


def _rc(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if m is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)) - 1, col_index(m.group(1))


class UnsupportedLayout(Exception):
    """The pages use something this stand-in does not write (use openpyxl)."""


@dataclass
class QuickCell:
    """A cell as the layout code sets it."""

    value: Any = None
    number_format: str = "General"
    font: Any = None
    fill: Any = None
    alignment: Any = None
    data_type: str | None = None


@dataclass
class _Width:
    width: float | None = None


@dataclass
class _Text:
    text: str = ""


@dataclass
class _Footer:
    left: _Text = field(default_factory=_Text)
    center: _Text = field(default_factory=_Text)
    right: _Text = field(default_factory=_Text)


@dataclass
class _PageSetup:
    paperSize: int | None = None  # noqa: N815 - openpyxl's names
    orientation: str | None = None
    fitToWidth: int | None = None  # noqa: N815
    fitToHeight: int | None = None  # noqa: N815


@dataclass
class _FitToPage:
    fitToPage: bool = False  # noqa: N815


@dataclass
class _SheetProperties:
    pageSetUpPr: _FitToPage = field(default_factory=_FitToPage)  # noqa: N815


@dataclass
class _SheetView:
    tabSelected: bool = False  # noqa: N815


class _Columns(dict[str, _Width]):
    def __missing__(self, key: str) -> _Width:
        self[key] = _Width()
        return self[key]


class QuickSheet:
    """A worksheet recorded for XlsxWriter (see the module's notes)."""

    PAPERSIZE_A4 = 9

    def __init__(self, title: str) -> None:
        self.title = title
        self.cells: dict[tuple[int, int], QuickCell] = {}
        self.column_dimensions = _Columns()
        self.merged: list[str] = []
        self.print_area: str | None = None
        self.oddFooter = _Footer()
        self.page_setup = _PageSetup()
        self.sheet_properties = _SheetProperties()
        self.sheet_view = _SheetView()

    def __getitem__(self, ref: str) -> QuickCell:
        key = _rc(ref)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = QuickCell()
        return cell

    def __setitem__(self, ref: str, value: Any) -> None:
        self[ref].value = value

    def merge_cells(self, ref: str) -> None:
        """Merge a range (``A19:C23``)."""
        self.merged.append(ref)


@dataclass
class _Calculation:
    fullCalcOnLoad: bool = True  # noqa: N815


class QuickBook:
    """A workbook of :class:`QuickSheet` s, saved with XlsxWriter."""

    def __init__(self) -> None:
        self.worksheets: list[QuickSheet] = []
        self.active_index = 0
        self.calculation = _Calculation()

    def create_sheet(self, title: str, index: int | None = None) -> QuickSheet:
        """A new sheet at ``index`` (the end by default)."""
        ws = QuickSheet(title)
        self.worksheets.insert(len(self.worksheets) if index is None else index, ws)
        return ws

    @property
    def active(self) -> QuickSheet:
        """The sheet shown when the workbook opens."""
        return self.worksheets[self.active_index]

    @active.setter
    def active(self, index: int) -> None:
        self.active_index = index

    def save(self, target: io.BytesIO) -> None:
        """Write the workbook (inline strings, every row in order) to ``target``."""
        wb = xlsxwriter.Workbook(
            target, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        formats: dict[tuple[Any, ...], Any] = {}

        def fmt(cell: QuickCell) -> Any:
            key = _style(cell)
            if key == _PLAIN:
                return None
            if key not in formats:
                formats[key] = wb.add_format(_properties(key))
            return formats[key]

        for i, ws in enumerate(self.worksheets):
            out = wb.add_worksheet(ws.title)
            if i == self.active_index:
                out.activate()
            for letter, width in ws.column_dimensions.items():
                if width.width is not None:
                    c = col_index(letter)
                    out.set_column(c, c, width.width)
            _page(out, ws)
            merged: dict[tuple[int, int], tuple[int, int, int, int]] = {}
            inside: set[tuple[int, int]] = set()
            for rng in ws.merged:
                a, b = rng.split(":")
                (r0, c0), (r1, c1) = _rc(a), _rc(b)
                merged[(r0, c0)] = (r0, c0, r1, c1)
                inside |= {(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
            for key in sorted(set(ws.cells) | set(merged)):
                cell = ws.cells.get(key, QuickCell())
                if key in merged:
                    value = cell.value
                    if isinstance(value, str) and value.startswith("=") and cell.data_type != "s":
                        raise UnsupportedLayout("a formula in merged cells")
                    out.merge_range(*merged[key], value, fmt(cell))
                elif key not in inside:
                    _write(out, key, cell, fmt(cell))
        wb.close()


_PLAIN = ("General", False, None, False, None, None, None, False)


def _style(cell: QuickCell) -> tuple[Any, ...]:
    font, fill, align = cell.font, cell.fill, cell.alignment
    rgb = None
    if fill is not None and getattr(fill, "fill_type", None) == "solid":
        rgb = str(fill.fgColor.rgb)[-6:]
    return (
        cell.number_format or "General",
        bool(font is not None and font.b),
        None if font is None or font.sz is None else float(font.sz),
        bool(font is not None and font.i),
        rgb,
        None if align is None else align.horizontal,
        None if align is None else align.vertical,
        bool(align is not None and align.wrap_text),
    )


def _properties(key: tuple[Any, ...]) -> dict[str, Any]:
    number_format, bold, size, italic, rgb, horizontal, vertical, wrap = key
    out: dict[str, Any] = {}
    if number_format != "General":
        out["num_format"] = number_format
    if bold:
        out["bold"] = True
    if size is not None:
        out["font_size"] = size
    if italic:
        out["italic"] = True
    if rgb:
        out["pattern"] = 1
        out["bg_color"] = "#" + rgb
    if horizontal:
        out["align"] = horizontal
    if vertical:
        out["valign"] = {"center": "vcenter"}.get(vertical, vertical)
    if wrap:
        out["text_wrap"] = True
    return out


def _write(out: Any, key: tuple[int, int], cell: QuickCell, fmt: Any) -> None:
    r, c = key
    value = cell.value
    if value is None or value == "":
        if fmt is not None:
            out.write_blank(r, c, None, fmt)
    elif isinstance(value, str):
        if value.startswith("=") and cell.data_type != "s":
            out.write_formula(r, c, value, fmt, "")  # no cached result: shown once calculated
        else:
            out.write_string(r, c, value, fmt)
    elif isinstance(value, bool):
        out.write_boolean(r, c, value, fmt)
    else:
        out.write_number(r, c, float(value), fmt)


def _page(out: Any, ws: QuickSheet) -> None:
    if ws.print_area:
        out.print_area(ws.print_area)
    setup = ws.page_setup
    if setup.paperSize:
        out.set_paper(setup.paperSize)
    if setup.orientation == "landscape":
        out.set_landscape()
    elif setup.orientation == "portrait":
        out.set_portrait()
    if ws.sheet_properties.pageSetUpPr.fitToPage:
        out.fit_to_pages(setup.fitToWidth or 0, setup.fitToHeight or 0)
    footer = ws.oddFooter
    text = "".join(
        f"&{side}{part.text}"
        for side, part in (("L", footer.left), ("C", footer.center), ("R", footer.right))
        if part.text
    )
    if text:
        out.set_footer(text)
