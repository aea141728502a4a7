"""Put new sheets in front of a workbook's own, copying its parts byte for byte.

A budget sheet is the person's own workbook plus two sheets ras writes. Loading and
saving the whole workbook with openpyxl costs twice as much as writing the two sheets,
and loses what openpyxl does not model (images, charts, form controls). Here the two
sheets' parts (``ras.io.quick_book``) are grafted into a copy of the person's zip:
their formats are appended to the workbook's styles, the sheets are written with
format numbers past the workbook's own, and the workbook's sheet list, relationships,
content types and defined names are extended. Every other part of the person's
workbook is copied as it is.

Only the shapes of XML that Excel, LibreOffice, openpyxl and XlsxWriter write are
handled; anything else raises :class:`CannotGraft`, and the caller falls back to a
full load and save.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ras.io import zip_members
from ras.io.guard import MAX_MEMBER

_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
_REL_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SECTIONS = ("numFmts", "fonts", "fills", "borders", "cellXfs")
_ITEM = {"numFmts": "numFmt", "fonts": "font", "fills": "fill", "borders": "border",
         "cellXfs": "xf"}  # fmt: skip


#: What may follow <calcPr> in a workbook part (the schema's order), and <definedNames>.
_AFTER_CALC = re.compile(
    r"<oleSize\b|<customWorkbookViews\b|<pivotCaches\b|<smartTagPr\b|<smartTagTypes\b|"
    r"<webPublishing\b|<fileRecoveryPr\b|<webPublishObjects\b|<extLst\b|</workbook>"
)
_AFTER_NAMES = re.compile(r"<calcPr\b|" + _AFTER_CALC.pattern)


class CannotGraft(Exception):
    """The workbook is not one this module can extend faithfully (use a full load)."""


def _section(xml: str, name: str) -> re.Match[str] | None:
    return re.search(rf"<{name}\b[^>]*?(?:/>|>(.*?)</{name}>)", xml, re.S)


def _items(body: str, item: str) -> list[str]:
    """The top-level ``<item>`` elements of a section (empty or with content)."""
    out: list[str] = []
    pos = 0
    open_tag = re.compile(rf"<{item}\b[^>]*?(/?)>")
    while True:
        m = open_tag.search(body, pos)
        if m is None:
            return out
        if m.group(1) == "/":
            out.append(m.group(0))
            pos = m.end()
            continue
        end = body.find(f"</{item}>", m.end())
        if end < 0:
            raise CannotGraft(f"an unclosed <{item}> in styles")
        out.append(body[m.start() : end + len(item) + 3])
        pos = end + len(item) + 3


def _replace_attr(xml: str, attr: str, mapping: Mapping[int, int]) -> str:
    return re.sub(
        rf'\b{attr}="(\d+)"', lambda m: f'{attr}="{mapping.get(int(m.group(1)), m.group(1))}"', xml
    )


_XF_REFS = re.compile(r'\b(fontId|fillId|borderId|numFmtId|xfId)="(\d+)"')


@functools.lru_cache(maxsize=8)
def merge_styles(base: str, extra: str) -> tuple[str, int]:
    """``base`` styles with ``extra``'s formats appended; the offset of extra's cell formats.

    Every person's workbook from one template has the same styles, and the pages
    theirs: the last few merges are remembered. Number formats of ``extra`` get ids past
    ``base``'s; its fonts, fills, borders and
    cell formats go after ``base``'s, with their references moved to match.

    Raises:
        CannotGraft: the styles are not in a shape handled here.
    """
    if re.search(r"<\w+:styleSheet\b", base):
        raise CannotGraft("styles with a namespace prefix")
    parts: dict[str, tuple[list[str], list[str]]] = {}
    for name in _SECTIONS:
        b, e = _section(base, name), _section(extra, name)
        parts[name] = (
            _items(b.group(1) or "", _ITEM[name]) if b else [],
            _items(e.group(1) or "", _ITEM[name]) if e else [],
        )
    if not parts["cellXfs"][0] or not parts["fonts"][0]:
        raise CannotGraft("styles without cell formats or fonts")
    used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', base)]
    next_id = max([163, *used]) + 1
    fmt_map: dict[int, int] = {}
    new_fmts = []
    for fmt in parts["numFmts"][1]:
        m = re.search(r'numFmtId="(\d+)"', fmt)
        if m is None:
            raise CannotGraft("a number format without an id")
        fmt_map[int(m.group(1))] = next_id
        new_fmts.append(_replace_attr(fmt, "numFmtId", {int(m.group(1)): next_id}))
        next_id += 1
    shift = {
        attr: {i: i + len(parts[section][0]) for i in range(len(parts[section][1]))}
        for attr, section in (("fontId", "fonts"), ("fillId", "fills"), ("borderId", "borders"))
    }
    moves = {**shift, "numFmtId": fmt_map}

    def move(m: re.Match[str]) -> str:
        attr, value = m.group(1), int(m.group(2))
        if attr == "xfId":
            return 'xfId="0"'  # the base's Normal style
        return f'{attr}="{moves[attr].get(value, value)}"'

    new_xfs = [_XF_REFS.sub(move, xf) for xf in parts["cellXfs"][1]]
    added = {
        "numFmts": new_fmts,
        "fonts": parts["fonts"][1],
        "fills": parts["fills"][1],
        "borders": parts["borders"][1],
        "cellXfs": new_xfs,
    }
    out = base
    for name in _SECTIONS:
        items = parts[name][0] + added[name]
        element = f'<{name} count="{len(items)}">{"".join(items)}</{name}>'
        found = _section(out, name)
        if found is not None:
            out = out[: found.start()] + element + out[found.end() :]
        elif items:
            # Missing sections go in the order the schema wants, before the next one.
            later = _SECTIONS[_SECTIONS.index(name) + 1 :] + ("cellStyles", "dxfs")
            at = next((out.find(f"<{n}") for n in later if out.find(f"<{n}") >= 0), -1)
            if at < 0:
                raise CannotGraft(f"styles without a place for <{name}>")
            out = out[:at] + element + out[at:]
    return out, len(parts["cellXfs"][0])


class _Parts:
    """A workbook's parts, read from its bytes (see ``ras.io.zip_members``)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        try:
            self.parts = {m.name: m for m in zip_members.members(data)}
        except zip_members.ZipDamaged as exc:
            raise CannotGraft(f"the zip cannot be read ({exc})") from exc

    def read(self, name: str) -> bytes:
        """A part, inflated (at most the guard's limit for one part)."""
        part = self.parts.get(name)
        if part is None:
            raise CannotGraft(f"no part {name}")
        try:
            return zip_members.inflate(self.data, part, MAX_MEMBER)
        except (zip_members.ZipDamaged, zip_members.TooBig) as exc:
            raise CannotGraft(f"part {name} cannot be read") from exc

    def head(self, name: str) -> bytes:
        """A sheet part's start, where its views are (before the cells)."""
        try:
            return zip_members.head(self.data, self.parts[name], HEAD)
        except zip_members.ZipDamaged as exc:
            raise CannotGraft(f"part {name} cannot be read") from exc


#: Bytes of a sheet part read to find its views (they come before the cells).
HEAD = 16_384


class Pages(Protocol):
    """New sheets as parts (``ras.io.quick_book.QuickBook``)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The sheets' names, in order."""

    def styles_xml(self) -> str:
        """A styles part holding the sheets' formats."""

    def sheet_xml(self, index: int, style_offset: int = 0) -> str:
        """A sheet's part, with inline strings, its format numbers moved by the offset."""

    def defined_names(self) -> list[str]:
        """``<definedName>`` elements of the sheets, numbered from 0."""


def graft(source: Path, pages: Pages, out: Path) -> None:
    """Write ``out``: ``source`` with the sheets of ``pages`` first.

    Raises:
        CannotGraft: the workbook is not in a shape handled here.
    """
    src = _Parts(source.read_bytes())
    names = pages.names
    src_names = set(src.parts)
    if "xl/workbook.xml" not in src_names or "xl/styles.xml" not in src_names:
        raise CannotGraft("no workbook or styles part")
    workbook = src.read("xl/workbook.xml").decode("utf-8")
    rels = src.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    types = src.read("[Content_Types].xml").decode("utf-8")
    if _MAIN not in types or re.search(r"<\w+:workbook\b", workbook):
        raise CannotGraft("not a plain .xlsx workbook (macros, or a namespace prefix)")
    if f'xmlns:r="{_R}"' not in workbook:
        raise CannotGraft("relationships under another prefix than r:")
    existing = [html.unescape(n) for n in re.findall(r'<sheet\b[^>]*?\bname="([^"]*)"', workbook)]
    if {n.casefold() for n in existing} & {n.casefold() for n in names}:
        raise CannotGraft("the workbook already has a sheet of that name")
    styles, offset = merge_styles(src.read("xl/styles.xml").decode("utf-8"), pages.styles_xml())
    ids = [int(i) for i in re.findall(r'<sheet\b[^>]*?\bsheetId="(\d+)"', workbook)]
    next_sheet_id = max([0, *ids]) + 1
    rel_ids = set(re.findall(r'\bId="([^"]+)"', rels))
    added_sheets, added_rels, added_types, parts = [], [], [], {}
    for i, name in enumerate(names):
        part = f"xl/worksheets/ras-sheet{i + 1}.xml"
        n = 1
        while part in src_names:
            n += 1
            part = f"xl/worksheets/ras-sheet{i + 1}-{n}.xml"
        new_rid = f"rIdRas{i + 1}"
        while new_rid in rel_ids:
            new_rid += "x"
        parts[part] = pages.sheet_xml(i, offset).encode("utf-8")
        added_sheets.append(
            f'<sheet name="{html.escape(name)}" sheetId="{next_sheet_id + i}" r:id="{new_rid}"/>'
        )
        added_rels.append(f'<Relationship Id="{new_rid}" Type="{_REL_SHEET}" Target="/{part}"/>')
        added_types.append(f'<Override PartName="/{part}" ContentType="{_WORKSHEET}"/>')
    workbook = _extend_workbook(workbook, pages.defined_names(), added_sheets, len(names))
    rels = rels.replace("</Relationships>", "".join(added_rels) + "</Relationships>")
    types = types.replace("</Types>", "".join(added_types) + "</Types>")
    changed = {
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels,
        "[Content_Types].xml": types,
        "xl/styles.xml": styles,
    }
    with out.open("wb") as fh:
        dst = zip_members.ZipWriter(fh)
        for name, member in src.parts.items():
            if name in changed:
                dst.add(name, changed[name].encode("utf-8"))
            elif name.startswith("xl/worksheets/") and b'tabSelected="1"' in src.head(name):
                # Only the new first sheet is selected (else the sheets open grouped).
                data = src.read(name).replace(b'tabSelected="1"', b'tabSelected="0"', 1)
                dst.add(name, data)
            else:
                dst.copy(src.data, member)  # as it is, still compressed
        for part, data in parts.items():
            dst.add(part, data)
        dst.close()


def _extend_workbook(workbook: str, names: list[str], sheets: list[str], count: int) -> str:
    """The workbook part with the new sheets first, their names defined, and them shown."""
    if "<sheets>" not in workbook and not re.search(r"<sheets\b[^>]*>", workbook):
        raise CannotGraft("no sheet list")
    workbook = re.sub(
        r"(<sheets\b[^>]*>)", lambda m: m.group(1) + "".join(sheets), workbook, count=1
    )
    # Sheet-local names are numbered by position: the workbook's own move along.
    workbook = re.sub(
        r'\blocalSheetId="(\d+)"', lambda m: f'localSheetId="{int(m.group(1)) + count}"', workbook
    )
    if names:
        if "</definedNames>" in workbook:
            workbook = re.sub(
                r"(<definedNames\b[^>]*>)", lambda m: m.group(1) + "".join(names), workbook, count=1
            )
        else:
            at = _AFTER_NAMES.search(workbook)
            assert at is not None
            workbook = (
                workbook[: at.start()]
                + f"<definedNames>{''.join(names)}</definedNames>"
                + workbook[at.start() :]
            )
    # The new first sheet is the one shown.
    workbook = re.sub(r'\b(activeTab|firstSheet)="\d+"', r'\1="0"', workbook)
    if re.search(r"<calcPr\b", workbook):
        if "fullCalcOnLoad" not in workbook:
            workbook = re.sub(r"<calcPr\b", '<calcPr fullCalcOnLoad="1"', workbook, count=1)
        else:
            workbook = re.sub(r'fullCalcOnLoad="\w+"', 'fullCalcOnLoad="1"', workbook)
    else:
        at = _AFTER_CALC.search(workbook)
        if at is None:
            raise CannotGraft("no end to the workbook part")
        workbook = workbook[: at.start()] + '<calcPr fullCalcOnLoad="1"/>' + workbook[at.start() :]
    return workbook
