"""The part of openpyxl's worksheet interface the budget pages use, written as XML.

The budget pages are laid out once (``ras.io.budget_sheets``) against openpyxl's
interface: cells by reference, their number format, font, fill and alignment, column
widths, merged cells and print set-up. Written with openpyxl, two pages cost about as
much as the rest of a budget sheet. This stand-in records the same calls and writes
the two sheets' parts itself: a worksheet part each (inline strings, formulas without
cached results) and the styles they use, in the shapes XlsxWriter writes. The graft
(``ras.io.graft``) puts those parts straight into a copy of the person's workbook;
:meth:`QuickBook.save` makes a workbook of them alone. The full openpyxl path stays
for workbooks the graft cannot take, so both paths run the same layout code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from openpyxl.writer.theme import theme_xml

from ras.cells import col_index, col_letters
from ras.io import zip_members
from ras.io.cell_text import cell_text, xml_escape

_REF = re.compile(r"([A-Z]+)([0-9]+)$")


@functools.lru_cache(maxsize=4096)
def _rc(ref: str) -> tuple[int, int]:
    m = _REF.match(ref)
    if m is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)) - 1, col_index(m.group(1))


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
    """A worksheet recorded to be written as XML (see the module's notes)."""

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
    """A workbook of :class:`QuickSheet` s, written as parts (see the module's notes)."""

    def __init__(self) -> None:
        self.worksheets: list[QuickSheet] = []
        self.active_index = 0
        self.calculation = _Calculation()
        self._looks: tuple[tuple[tuple[Any, ...], ...], list[dict[tuple[int, int], Any]]] | None
        self._looks = None

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

    @property
    def names(self) -> tuple[str, ...]:
        """The sheets' names, in order."""
        return tuple(ws.title for ws in self.worksheets)

    def _formats(self) -> tuple[tuple[tuple[Any, ...], ...], list[dict[tuple[int, int], Any]]]:
        """The formats the sheets use, and each styled cell's, worked out once.

        The formats are every one but the plain one, in order of first use; then, for
        each sheet, the format of each of its styled cells.
        """
        if self._looks is None:
            seen: dict[tuple[Any, ...], None] = {}
            looks = []
            for ws in self.worksheets:
                own = {}
                for at, cell in ws.cells.items():
                    key = _style(cell)
                    if key != _PLAIN:
                        seen[key] = None
                        own[at] = key
                looks.append(own)
            self._looks = (tuple(seen), looks)
        return self._looks

    def styles_xml(self) -> str:
        """The styles part: a plain format first (number 0), then each format used."""
        return _styles(self._formats()[0])[0]

    def sheet_xml(self, index: int, style_offset: int = 0) -> str:
        """Sheet ``index`` as a worksheet part, its format numbers moved by ``style_offset``.

        Strings are inline (no shared strings part); formulas carry no cached result,
        so they show their value once calculated (the workbook asks for that on load).
        """
        ws = self.worksheets[index]
        formats, looks = self._formats()
        numbers = _styles(formats)[1]
        look = looks[index]
        # The ``s`` attribute of each styled cell.
        styled = {at: f' s="{numbers[key] + style_offset}"' for at, key in look.items()}

        merged: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        inside: dict[tuple[int, int], tuple[int, int]] = {}
        for rng in ws.merged:
            a, b = rng.split(":")
            (r0, c0), (r1, c1) = _rc(a), _rc(b)
            merged[(r0, c0)] = (r0, c0, r1, c1)
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    inside[(r, c)] = (r0, c0)
        keys = sorted(set(ws.cells) | set(inside))
        rows: list[str] = []
        row = -1
        for r, c in keys:
            if r != row:
                if row >= 0:
                    rows.append("</row>")
                rows.append(f'<row r="{r + 1}">')
                row = r
            ref = _ref(r, c)
            owner = inside.get((r, c))
            if owner is not None and owner != (r, c):  # covered by a merge: its format only
                style = styled.get(owner, "")
                if style:
                    rows.append(f'<c r="{ref}"{style}/>')
                continue
            rows.append(_cell_xml(ref, ws.cells.get((r, c), _EMPTY), styled.get((r, c), "")))
        if row >= 0:
            rows.append("</row>")
        top = (min((k[0] for k in keys), default=0), min((k[1] for k in keys), default=0))
        last = (max((k[0] for k in keys), default=0), max((k[1] for k in keys), default=0))
        head = [
            _XML,
            f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_R_NS}">',
        ]
        if ws.sheet_properties.pageSetUpPr.fitToPage:
            head.append('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>')
        head.append(f'<dimension ref="{_ref(*top)}:{_ref(*last)}"/>')
        selected = ' tabSelected="1"' if index == self.active_index else ""
        head.append(f'<sheetViews><sheetView{selected} workbookViewId="0"/></sheetViews>')
        head.append('<sheetFormatPr defaultRowHeight="15"/>')
        widths = sorted(
            (col_index(letter), w.width)
            for letter, w in ws.column_dimensions.items()
            if w.width is not None
        )
        if widths:
            head.append("<cols>")
            head += [
                f'<col min="{c + 1}" max="{c + 1}" width="{_width(w):.16g}" customWidth="1"/>'
                for c, w in widths
            ]
            head.append("</cols>")
        tail = ["</sheetData>"]
        if ws.merged:
            tail.append(f'<mergeCells count="{len(ws.merged)}">')
            tail += [f'<mergeCell ref="{rng}"/>' for rng in ws.merged]
            tail.append("</mergeCells>")
        tail.append(
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
            'footer="0.3"/>'
        )
        tail.append(_page_setup(ws))
        footer = ws.oddFooter
        text = "".join(
            f"&{side}{part.text}"
            for side, part in (("L", footer.left), ("C", footer.center), ("R", footer.right))
            if part.text
        )
        if text:
            tail.append(f"<headerFooter><oddFooter>{cell_text(text)}</oddFooter></headerFooter>")
        tail.append("</worksheet>")
        return "".join(head) + "<sheetData>" + "".join(rows) + "".join(tail)

    def defined_names(self) -> list[str]:
        """The print areas, as ``<definedName>`` elements of sheets numbered from 0."""
        out = []
        for i, ws in enumerate(self.worksheets):
            if ws.print_area:
                quoted = "'" + ws.title.replace("'", "''") + "'"
                area = _ABSOLUTE.sub(r"$\1$\2", ws.print_area)
                out.append(
                    f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">'
                    f"{cell_text(quoted)}!{area}</definedName>"
                )
        return out

    def save(self, target: BinaryIO) -> None:
        """Write the sheets as a workbook of their own to ``target``."""
        n = len(self.worksheets)
        sheets = "".join(
            f'<sheet name="{_attr(ws.title)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>'
            for i, ws in enumerate(self.worksheets)
        )
        names = self.defined_names()
        full = ' fullCalcOnLoad="1"' if self.calculation.fullCalcOnLoad else ""
        workbook = (
            f'{_XML}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_R_NS}"><workbookPr/>'
            f'<bookViews><workbookView activeTab="{self.active_index}"/></bookViews>'
            f"<sheets>{sheets}</sheets>"
            + (f"<definedNames>{''.join(names)}</definedNames>" if names else "")
            + f'<calcPr calcId="124519"{full}/>'
            "</workbook>"
        )
        rels = [(f"rId{i + 1}", _WORKSHEET_REL, f"worksheets/sheet{i + 1}.xml") for i in range(n)]
        rels += [(f"rId{n + 1}", _STYLES_REL, "styles.xml"), (f"rId{n + 2}", _THEME_REL,
                 "theme/theme1.xml")]  # fmt: skip
        overrides = [("/xl/workbook.xml", _MAIN_TYPE), ("/xl/styles.xml", _STYLES_TYPE),
                     ("/xl/theme/theme1.xml", _THEME_TYPE)]  # fmt: skip
        overrides += [(f"/xl/worksheets/sheet{i + 1}.xml", _WORKSHEET_TYPE) for i in range(n)]
        zw = zip_members.ZipWriter(target)
        zw.add("[Content_Types].xml", _content_types(overrides).encode())
        zw.add("_rels/.rels", _relationships([("rId1", _DOCUMENT_REL, "xl/workbook.xml")]).encode())
        zw.add("xl/workbook.xml", workbook.encode())
        zw.add("xl/_rels/workbook.xml.rels", _relationships(rels).encode())
        zw.add("xl/styles.xml", self.styles_xml().encode())
        zw.add("xl/theme/theme1.xml", theme_xml.encode())
        for i in range(n):
            zw.add(f"xl/worksheets/sheet{i + 1}.xml", self.sheet_xml(i).encode())
        zw.close()


_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_WORKSHEET_REL = _R_NS + "/worksheet"
_STYLES_REL = _R_NS + "/styles"
_THEME_REL = _R_NS + "/theme"
_DOCUMENT_REL = _R_NS + "/officeDocument"
_OOXML = "application/vnd.openxmlformats-officedocument."
_MAIN_TYPE = _OOXML + "spreadsheetml.sheet.main+xml"
_WORKSHEET_TYPE = _OOXML + "spreadsheetml.worksheet+xml"
_STYLES_TYPE = _OOXML + "spreadsheetml.styles+xml"
_THEME_TYPE = _OOXML + "theme+xml"
_ABSOLUTE = re.compile(r"([A-Z]+)([0-9]+)")
_EMPTY = QuickCell()
#: The most characters an Excel cell holds.
MAX_CELL_TEXT = 32_767
_PLAIN = ("General", False, None, False, None, None, None, False)


def _content_types(overrides: list[tuple[str, str]]) -> str:
    parts = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides)
    return (
        f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f"{parts}</Types>"
    )


def _relationships(rels: list[tuple[str, str, str]]) -> str:
    items = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{x}"/>' for i, t, x in rels)
    return f'{_XML}<Relationships xmlns="{_PKG_RELS}">{items}</Relationships>'


def _attr(value: str) -> str:
    return cell_text(value).replace('"', "&quot;").replace("\n", "&#xA;")


@functools.lru_cache(maxsize=4096)
def _ref(row: int, col: int) -> str:
    return f"{col_letters(col)}{row + 1}"


def _width(chars: float) -> float:
    """A column width in characters as Excel stores it (with the cell padding, as XlsxWriter)."""
    pixels = int(chars * 7 + 0.5) + 5 if chars >= 1 else int(chars * 12 + 0.5)
    return (pixels * 256 // 7) / 256.0


def _cell_xml(ref: str, cell: QuickCell, style: str) -> str:
    """A ``<c>`` element ('' for a blank cell without a format)."""
    value = cell.value
    if value is None or value == "":
        return f'<c r="{ref}"{style}/>' if style else ""
    if isinstance(value, str):
        if value.startswith("=") and cell.data_type != "s":
            return f'<c r="{ref}"{style}><f>{xml_escape(value[1:])}</f><v></v></c>'
        value = value[:MAX_CELL_TEXT]  # Excel's limit: longer text makes it repair the file
        space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
        return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{cell_text(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"{style}><v>{float(value):.16G}</v></c>'


def _page_setup(ws: QuickSheet) -> str:
    setup = ws.page_setup
    attrs = ""
    if setup.paperSize:
        attrs += f' paperSize="{setup.paperSize}"'
    if setup.orientation in ("landscape", "portrait"):
        attrs += f' orientation="{setup.orientation}"'
    if ws.sheet_properties.pageSetUpPr.fitToPage:
        for name in ("fitToWidth", "fitToHeight"):
            value = getattr(setup, name)
            if value is not None and value != 1:
                attrs += f' {name}="{value}"'
    return f"<pageSetup{attrs}/>" if attrs else ""


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


def _font(bold: bool, size: float | None, italic: bool) -> str:
    return (
        f"<font>{'<b/>' if bold else ''}{'<i/>' if italic else ''}"
        f'<sz val="{size or 11:g}"/><color theme="1"/><name val="Calibri"/>'
        '<family val="2"/><scheme val="minor"/></font>'
    )


@functools.lru_cache(maxsize=16)
def _styles(keys: tuple[tuple[Any, ...], ...]) -> tuple[str, dict[tuple[Any, ...], int]]:
    """The styles part for these formats, and each format's number (the plain one is 0)."""
    formats: dict[str, int] = {}
    fonts: dict[tuple[Any, ...], int] = {(False, None, False): 0}
    fills: dict[str, int] = {}
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>']
    numbers: dict[tuple[Any, ...], int] = {}
    for key in keys:
        number_format, bold, size, italic, rgb, horizontal, vertical, wrap = key
        fmt = 0
        if number_format != "General":
            fmt = formats.setdefault(number_format, 164 + len(formats))
        font = fonts.setdefault((bold, size, italic), len(fonts))
        fill = fills.setdefault(rgb, 2 + len(fills)) if rgb else 0
        align = ""
        if horizontal:
            align += f' horizontal="{horizontal}"'
        if vertical:
            align += f' vertical="{vertical}"'
        if wrap:
            align += ' wrapText="1"'
        applied = (
            (' applyNumberFormat="1"' if fmt else "")
            + (' applyFont="1"' if font else "")
            + (' applyFill="1"' if fill else "")
            + (' applyAlignment="1"' if align else "")
        )
        xf = f'<xf numFmtId="{fmt}" fontId="{font}" fillId="{fill}" borderId="0" xfId="0"{applied}'
        xfs.append(xf + (f"><alignment{align}/></xf>" if align else "/>"))
        numbers[key] = len(xfs) - 1
    num_fmts = "".join(
        f'<numFmt numFmtId="{i}" formatCode="{_attr(code)}"/>' for code, i in formats.items()
    )
    solid = "".join(
        f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/><bgColor indexed="64"/>'
        "</patternFill></fill>"
        for rgb in fills
    )
    xml = (
        f'{_XML}<styleSheet xmlns="{_MAIN_NS}">'
        + (f'<numFmts count="{len(formats)}">{num_fmts}</numFmts>' if formats else "")
        + f'<fonts count="{len(fonts)}">{"".join(_font(*f) for f in fonts)}</fonts>'
        f'<fills count="{2 + len(fills)}"><fill><patternFill patternType="none"/></fill>'
        f'<fill><patternFill patternType="gray125"/></fill>{solid}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '<dxfs count="0"/><tableStyles count="0" defaultTableStyle="TableStyleMedium9" '
        'defaultPivotStyle="PivotStyleLight16"/></styleSheet>'
    )
    return xml, numbers
