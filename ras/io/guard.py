"""Checks made on an untrusted file before any parser touches it (SPEC §12).

The checks look at bytes only: the file's signature, the zip directory (member
count, uncompressed size, compression ratio), XML document type declarations
(entity bombs), and the real extent of the cells in the sheets that will be read.
Each failure is an :class:`~ras.errors.InputError` with a one-line reason and a fix.
"""

from __future__ import annotations

import contextlib
import html
import mmap
import os
import posixpath
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ras.cells import col_index
from ras.errors import InputError, quote
from ras.io import zip_members
from ras.io.zip_members import Member

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"

#: Most members a workbook zip may have.
MAX_MEMBERS = 10_000
#: Most bytes all members may expand to.
MAX_UNCOMPRESSED = 1024 * 1024 * 1024
#: Highest compression ratio allowed for a member larger than ``RATIO_FLOOR`` bytes.
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024
#: Most cells (rows x columns of the used extent) a sheet that ras reads may span.
MAX_CELLS = 25_000_000
EXCEL_ROWS = 1_048_576
_ASK = "ask for a copy saved normally from Excel"
EXCEL_COLS = 16_384

_CELL_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,8})"')
#: References past column Z or row 99,999: the only ones that can widen the extent much.
_FAR_REF = re.compile(rb' r="([A-Z]{2,3}[0-9]+|[A-Z][0-9]{6,})"')
_LAST_ROW = re.compile(rb'<(?:\w+:)?row [^>]*?r="([0-9]+)"')
_C_REF = re.compile(rb' r="([A-Z]+[0-9]+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


class SheetInfo(NamedTuple):
    """A worksheet of an inspected workbook."""

    name: str
    member: str
    state: str = "visible"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = head.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return bool(text) and printable / len(text) > 0.95


def sniff(path: Path, data: bytes | mmap.mmap | None = None) -> str:
    """Say what a file really is: ``zip``, ``csv`` or raise with the reason.

    ``data``: the file's bytes, when they have been read already.

    Raises:
        InputError: for empty files, legacy ``.xls``, encrypted workbooks, CSV
            renamed ``.xlsx`` and unknown formats.
    """
    if data is not None:
        size, head = len(data), bytes(data[:8192])
    else:
        try:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(8192)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
    if size == 0:
        raise InputError(f"{path}: the file is empty; save the workbook again from Excel")
    suffix = path.suffix.lower()
    if suffix in (".xlsb", ".ods", ".numbers"):
        raise InputError(f"{path}: ras does not read {suffix} files; open it and save it as .xlsx")
    if head.startswith(OLE_MAGIC):
        if data is not None:
            blob = bytes(data[: 4 * 1024 * 1024])
        else:
            with path.open("rb") as fh:
                blob = fh.read(4 * 1024 * 1024)
        if "EncryptedPackage".encode("utf-16-le") in blob:
            raise InputError(
                f"{path}: the workbook is encrypted (password-protected); remove the password "
                "in Excel (File > Info > Protect Workbook) and save it again"
            )
        raise InputError(
            f"{path}: this is an old Excel 97-2003 (.xls) file, which ras does not read; "
            "open it in Excel or LibreOffice and save it as .xlsx"
        )
    if head.startswith(ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):
        return "zip"
    if suffix == ".csv":
        return "csv"
    if _looks_like_text(head):
        raise InputError(
            f"{path}: this is a text (CSV) file with an {suffix or 'unknown'} name; "
            "rename it to .csv or save it from Excel as .xlsx"
        )
    raise InputError(f"{path}: not an Excel workbook (unknown file format); save it as .xlsx")


#: Most bytes one member may really inflate to (checked while inflating, SPEC §16).
MAX_MEMBER = 256 * 1024 * 1024
#: Deflate cannot expand data more than about 1032 times: a member whose compressed
#: bytes times this stays within the limits is safe whatever its headers claim.
DEFLATE_MAX_RATIO = 1032
#: Compression methods a workbook may use (Excel writes deflate; stored is harmless).
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
#: Files up to this size are read into memory once (hashed, checked and parsed from
#: the same bytes); larger ones are mapped.
IN_MEMORY = 64 * 1024 * 1024


@contextlib.contextmanager
def file_bytes(path: Path) -> Iterator[bytes | mmap.mmap]:
    """A file's bytes: read whole when small, else memory-mapped (closed afterwards).

    Raises:
        InputError: the file cannot be read.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size <= IN_MEMORY:
                data: bytes | mmap.mmap = fh.read()
            else:
                data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
    try:
        yield data
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _zip_checks(path: Path, data: bytes | mmap.mmap, parts: list[Member]) -> None:
    """Member count, compression methods, and sizes that hold whatever the headers say.

    Every member is checked, since openpyxl (budget sheets) parses them all. The
    declared sizes are checked first (cheap); then each member whose compressed bytes
    could inflate past a limit (deflate expands at most ~1032 times) is inflated here,
    counting, and refused as soon as the limit is passed (a zip bomb with false sizes
    in its headers).
    """
    if len(parts) > MAX_MEMBERS:
        raise InputError(
            f"{path}: the workbook has {len(parts)} parts (a zip bomb?), refused; " + _ASK
        )
    file_size = len(data)
    declared = 0
    for part in parts:
        if part.method not in _METHODS:
            raise InputError(
                f"{path}: part {quote(part.name)} uses a compression Excel never writes "
                f"(method {part.method}), refused; " + _ASK
            )
        if part.encrypted:
            raise InputError(
                f"{path}: part {quote(part.name)} is encrypted; remove the password in "
                "Excel and save the workbook again"
            )
        declared += part.file_size
        if part.file_size > RATIO_FLOOR:
            ratio = part.file_size / max(part.compress_size, 1)
            if ratio > MAX_RATIO:
                raise InputError(
                    f"{path}: part {quote(part.name)} expands {ratio:.0f} times "
                    "(a zip bomb?), refused; " + _ASK
                )
    if declared > MAX_UNCOMPRESSED:
        raise InputError(
            f"{path}: the workbook expands to {declared / 2**20:.0f} MiB (a zip bomb?), "
            "refused; " + _ASK
        )
    # Deflate's own ceiling bounds what each member can become. Where the bounds stay
    # within the limits nothing needs inflating here (ordinary workbooks); a member that
    # could pass them is inflated, counting, and refused once it does.
    bounded = 0
    for part in parts:
        compressed = min(part.compress_size, file_size)
        bound = compressed * (DEFLATE_MAX_RATIO if part.method else 1)
        if bound <= MAX_MEMBER and bounded + bound <= MAX_UNCOMPRESSED:
            bounded += bound
            continue
        explosive = max(RATIO_FLOOR, MAX_RATIO * compressed)  # past this: too high a ratio
        limit = max(0, min(MAX_MEMBER, MAX_UNCOMPRESSED - bounded, explosive))
        try:
            bounded += zip_members.inflated_size(data, part, limit)
        except zip_members.TooBig as exc:
            raise InputError(
                f"{path}: part {quote(part.name)} inflates to more than "
                f"{limit / 2**20:.1f} MiB from {part.compress_size:,} bytes, whatever its "
                f"header says ({part.file_size:,} bytes) (a zip bomb?), refused; " + _ASK
            ) from exc
        except zip_members.ZipDamaged as exc:
            raise _damaged(path, part) from exc


def _damaged(path: Path, part: Member) -> InputError:
    return InputError(
        f"{path}: the file is damaged (part {quote(part.name)} cannot be read); "
        "save the workbook again"
    )


#: Parts the value reader parses besides the workbook, its relationships and the sheets
#: (those are checked as they are read). openpyxl, used for budget sheets, parses every
#: part through defusedxml, which refuses entity declarations itself.
_PARSED_PARTS = ("xl/sharedStrings.xml", "xl/styles.xml", "[Content_Types].xml")
_HEAD = 4096


def _check_dtd(path: Path, member: str, head: bytes) -> None:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputError(
            f"{path}: part {member} declares XML entities (an XML bomb?), "
            "refused; save the workbook again from Excel"
        )


_SHEET = (re.compile(rb"<sheet\s([^>]*)"), re.compile(rb":sheet\s([^>]*)"))
_RELATIONSHIP = (
    re.compile(rb"<Relationship\s([^>]*)"),
    re.compile(rb":Relationship\s([^>]*)"),
)
_PREFIX = re.compile(rb"<\w+")


def _elements(patterns: tuple[re.Pattern[bytes], re.Pattern[bytes]], data: bytes) -> list[bytes]:
    """The attribute text of each element found, without a namespace prefix or with one.

    Each pattern starts with fixed text (fast to find); a ``:`` counts only as a
    namespace prefix (``<x:sheet``), not inside some other text.
    """
    plain, prefixed = patterns
    found = [(m.start(), m.group(1)) for m in plain.finditer(data)]
    if b":" in data:
        for m in prefixed.finditer(data):
            start = data.rfind(b"<", 0, m.start())
            if start >= 0 and _PREFIX.fullmatch(data, start, m.start()):
                found.append((m.start(), m.group(1)))
        found.sort()
    return [raw for _, raw in found]


_ATTRIBUTE = {
    name: re.compile(rf"""(?:^|\s){name}\s*=\s*(?:"([^"]*)"|'([^']*)')""".encode())
    for name in ("Id", "Target", "name", "state", r"[\w.-]+:id")
}


_DOUBLE_QUOTED = re.compile(rb'([\w.:-]+)\s*=\s*"([^"]*)"')


def _quick_attributes(raw: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """Some attributes of an element (``''`` when absent), entities decoded.

    One pass for the usual double quotes; a name not found so is looked for again in
    any quoting (and ``r:id`` under any prefix).
    """
    found = {k.decode("ascii", "replace"): v for k, v in _DOUBLE_QUOTED.findall(raw)}
    out: dict[str, str] = {}
    for name in names:
        value = found.get(name)
        if value is None:
            text = _attribute(raw, r"[\w.-]+:id" if name == "r:id" else name)
            out[name] = text or ""
            continue
        text = value.decode("utf-8", "replace")
        out[name] = html.unescape(text) if "&" in text else text
    return out


def _attribute(raw: bytes, name: str) -> str | None:
    """One attribute's value in an element's attribute text (entities decoded), or None."""
    m = _ATTRIBUTE[name].search(raw)
    if m is None:
        return None
    value = (m.group(1) if m.group(1) is not None else m.group(2)).decode("utf-8", "replace")
    return html.unescape(value) if "&" in value else value


@dataclass
class WorkbookInfo:
    """What the guard learned about a workbook without parsing its cells.

    ``data`` is the file's bytes: the guard's checks and the parser read the same bytes.
    """

    path: Path
    data: bytes | mmap.mmap
    parts: dict[str, Member]
    macros: bool = False
    sheets: dict[str, SheetInfo] = field(default_factory=dict)

    def read(self, member: str, limit: int = MAX_MEMBER) -> bytes:
        """A part's bytes, inflated (at most ``limit``), checked for entity declarations.

        Raises:
            InputError: the part is missing, damaged, too big or declares entities.
        """
        part = self.parts.get(member)
        if part is None:
            raise InputError(f"{self.path}: not an Excel workbook (no {member}); save it as .xlsx")
        try:
            data = zip_members.inflate(self.data, part, limit)
        except zip_members.ZipDamaged as exc:
            raise _damaged(self.path, part) from exc
        except zip_members.TooBig as exc:
            raise InputError(
                f"{self.path}: part {quote(member)} inflates to more than "
                f"{limit / 2**20:.0f} MiB (a zip bomb?), refused; " + _ASK
            ) from exc
        _check_dtd(self.path, member, data[:_HEAD])
        return data


def inspect_workbook(path: Path, data: bytes | mmap.mmap) -> WorkbookInfo:
    """Check a workbook zip (``data``, the bytes of ``path``) and list its sheets.

    Raises:
        InputError: the file is damaged, a bomb, or not an Excel workbook.
    """
    try:
        listed = zip_members.members(data)
    except zip_members.ZipDamaged as exc:
        raise InputError(
            f"{path}: the file is damaged (not a readable zip); save the workbook again"
        ) from exc
    _zip_checks(path, data, listed)
    parts = {p.name: p for p in listed}
    if "[Content_Types].xml" not in parts:
        # calamine reads such a file, openpyxl (budget sheets) does not: a file is
        # readable for every output or rejected.
        raise InputError(
            f"{path}: the file is damaged (it has no [Content_Types].xml part, which "
            "every Excel workbook has); open it in Excel or LibreOffice and save it again"
        )
    for member in _PARSED_PARTS:
        part = parts.get(member)
        if part is not None:
            try:
                key = _seen_key("dtd", data, part)
                if key not in _SEEN:
                    _check_dtd(path, member, zip_members.head(data, part, _HEAD))
                    _remember(key, True)
            except zip_members.ZipDamaged as exc:
                raise _damaged(path, part) from exc
    info = WorkbookInfo(path=path, data=data, parts=parts)
    info.macros = any(n.lower().endswith("vbaproject.bin") for n in parts)
    book_part, rels_part = parts.get("xl/workbook.xml"), parts.get("xl/_rels/workbook.xml.rels")
    key = None
    if book_part is not None and rels_part is not None:
        try:
            key = _seen_key("sheets", data, book_part, rels_part)
        except zip_members.ZipDamaged:
            key = None  # read below, which says what is wrong
        known = _SEEN.get(key) if key is not None else None
        if known is not None:
            info.sheets = dict(known)
            return info
    # Two small parts, read with patterns rather than a parser: no entities are ever
    # expanded, and a damaged part simply lists no sheets.
    wb = info.read("xl/workbook.xml")
    rels = info.read("xl/_rels/workbook.xml.rels")
    targets: dict[str, str] = {}
    for raw in _elements(_RELATIONSHIP, rels):
        attrs = _quick_attributes(raw, ("Id", "Target"))
        target = attrs["Target"]
        if target.startswith("/"):
            member = target.lstrip("/")
        else:
            member = posixpath.normpath("xl/" + target)
        targets[attrs["Id"]] = member
    for raw in _elements(_SHEET, wb):
        attrs = _quick_attributes(raw, ("name", "state", "r:id"))
        name = attrs["name"]
        info.sheets[name] = SheetInfo(
            name=name, member=targets.get(attrs["r:id"], ""), state=attrs["state"] or "visible"
        )
    if not info.sheets:
        raise InputError(f"{path}: the workbook lists no sheets (damaged?); save it again")
    if key is not None:
        _remember(key, dict(info.sheets))
    return info


#: Parts checked before, by what they are checked for and their exact compressed bytes.
#: Workbooks made from one template share most parts byte for byte (the workbook and
#: its relationships, styles, hidden sheets): each is inflated and checked once. The
#: same compressed bytes always inflate to the same text, so the same checks hold;
#: only parts that passed are remembered.
_SEEN: dict[tuple[Any, ...], Any] = {}
#: Most parts remembered (a few per template), and the largest (compressed bytes).
SEEN_PARTS = 256
SEEN_BYTES = 64 * 1024


def _seen_key(what: Any, data: bytes | mmap.mmap, *parts: Member) -> tuple[Any, ...] | None:
    """The key under which ``parts`` (small ones only) are remembered for ``what``."""
    if any(p.compress_size > SEEN_BYTES for p in parts):
        return None
    return (what, *((p.method, bytes(zip_members.raw(data, p))) for p in parts))


def _remember(key: tuple[Any, ...] | None, value: Any) -> None:
    if key is None:
        return
    if len(_SEEN) >= SEEN_PARTS:
        _SEEN.clear()
    _SEEN[key] = value


@dataclass(frozen=True)
class SheetScan:
    """Facts about one sheet's XML: its extent, formula cells and merged ranges."""

    rows: int
    cols: int
    formula_cells: frozenset[str]
    merged: tuple[str, ...]
    #: Formula cells whose saved result is text (``t="str"``): blank there means a program
    #: calculated an empty text (``=IF(…,"",…)``), not that no program calculated it.
    text_results: frozenset[str] = frozenset()
    #: Cells holding an error (``t="e"``: ``#N/A``, ``#DIV/0!``), which the parser reads as
    #: empty: a failed look-up in a register, or its value pasted, is no blank cell.
    errors: Mapping[str, str] = field(default_factory=dict)


#: Error cells a large sheet may hold (a bulk table's are named row by row); past it the
#: sheet is refused, for the rest would read as empty cells.
MAX_ERRORS = 100_000
#: Bytes kept from one piece of a large sheet to the next, so that no cell reference is
#: missed where the pieces meet.
_OVERLAP = 64


def _extent(data: bytes, max_row: int, max_col: int, far: str) -> tuple[int, int, str]:
    """The far corner of the cells referenced in a piece of sheet XML (and so far)."""
    for m in _FAR_REF.finditer(data):
        ref = m.group(1).decode()
        letters = ref.rstrip("0123456789")
        row, col = int(ref[len(letters) :]), col_index(letters) + 1
        if row * max(col, 1) > max_row * max(max_col, 1):
            far = ref
        max_row, max_col = max(max_row, row), max(max_col, col)
    last = data.rfind(b"<row ")
    if last < 0:
        last = data.rfind(b":row ")
    if last >= 0:
        row_match = _LAST_ROW.search(data, max(0, last - 10))
        if row_match:
            max_row = max(max_row, int(row_match.group(1)))
    return max_row, max_col, far


_ERROR_TAG = re.compile(rb'<(?:\w+:)?c\s([^>]*?\bt="e"[^>]*)>')
_R_ATTR = re.compile(rb'(?:^|\s)r="([A-Z]{1,3}[0-9]{1,8})"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]{0,40})<")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")


def _error_cells(data: bytes) -> dict[str, str]:
    """Each cell of sheet XML that holds an error (``t="e"``), and the error (``#N/A``)."""
    out: dict[str, str] = {}
    if b't="e"' not in data:
        return out
    for m in _ERROR_TAG.finditer(data):
        ref = _R_ATTR.search(m.group(1))
        if ref is None:
            continue
        end = _CELL_END.search(data, m.end())
        value = _VALUE.search(data, m.end(), end.start() if end else m.end())
        text = value.group(1).decode("utf-8", "replace").strip() if value else ""
        out[ref.group(1).decode()] = text or "#VALUE!"
    return out


_F_PLAIN = re.compile(rb"<f[ >/]")
_F_PREFIXED = re.compile(rb":f[ >/]")


def _formula_tags(data: bytes) -> Iterator[int]:
    """Where each formula element (``<f>``, ``<f ...>``, ``<x:f>``) starts in sheet XML.

    Two patterns that each start with a fixed text, which the pattern engine finds fast
    (one starting with a class of characters would test every byte).
    """
    for m in _F_PLAIN.finditer(data):
        yield m.start()
    for m in _F_PREFIXED.finditer(data):
        start = data.rfind(b"<", 0, m.start())
        if start >= 0 and _PREFIX.fullmatch(data, start, m.start()):  # a namespace prefix
            yield start


def scan_sheet(info: WorkbookInfo, sheet: SheetInfo, detail: bool) -> SheetScan:
    """Measure a sheet's real cell extent before it is parsed.

    With ``detail``, also list formula cells and merged ranges (for small sheets).
    A large sheet is inflated and measured in pieces, never held whole.

    Raises:
        InputError: the sheet spans more cells than ras will read.
    """
    path = info.path
    part = info.parts.get(sheet.member)
    if part is None:
        raise InputError(
            f"{path}: sheet {sheet.name!r} is missing from the file; save the workbook again"
        )
    try:
        key = _seen_key(("scan", detail), info.data, part)
    except zip_members.ZipDamaged:
        key = None  # read below, which says what is wrong
    known: SheetScan | None = _SEEN.get(key) if key is not None else None
    if known is not None:
        return known
    scan = _scan_sheet(info, sheet, part, detail)
    _remember(key, scan)
    return scan


def _scan_sheet(info: WorkbookInfo, sheet: SheetInfo, part: Member, detail: bool) -> SheetScan:
    path = info.path
    max_row, max_col, far = 0, 0, ""
    any_ref = False
    whole = b""
    errors: dict[str, str] = {}
    try:
        if detail or part.file_size <= zip_members.CHUNK:
            whole = info.read(sheet.member)
            max_row, max_col, far = _extent(whole, 0, 0, "")
            any_ref = whole.find(b' r="') >= 0
            errors = _error_cells(whole)
        else:
            carry = b""
            for i, piece in enumerate(zip_members.pieces(info.data, part, MAX_MEMBER)):
                if i == 0:
                    _check_dtd(path, sheet.member, piece[:_HEAD])
                text = carry + piece
                max_row, max_col, far = _extent(text, max_row, max_col, far)
                any_ref = any_ref or text.find(b' r="') >= 0
                errors.update(_error_cells(text[: text.rfind(b"<")]))
                if len(errors) >= MAX_ERRORS:
                    raise InputError(
                        f"{path}: sheet {sheet.name!r} has {MAX_ERRORS:,} or more cells showing "
                        "an error (#N/A, #DIV/0!, ...), more than ras names one by one; "
                        "correct the formulas or their look-ups, or type the values, and "
                        "save it again"
                    )
                carry = text[-_OVERLAP:]
    except zip_members.ZipDamaged as exc:
        raise InputError(
            f"{path}: sheet {sheet.name!r} is damaged; save the workbook again"
        ) from exc
    except zip_members.TooBig as exc:
        raise InputError(
            f"{path}: sheet {sheet.name!r} inflates to more than "
            f"{MAX_MEMBER / 2**20:.0f} MiB (a zip bomb?), refused; " + _ASK
        ) from exc
    if max_col == 0:
        max_col = 26 if any_ref else 0
    if max_row > EXCEL_ROWS or max_col > EXCEL_COLS or max_row * max_col > MAX_CELLS:
        where = f" (a cell at {far})" if far else ""
        raise InputError(
            f"{path}: sheet {sheet.name!r} spans {max_row:,} rows x {max_col:,} columns{where}, "
            f"more than ras reads ({MAX_CELLS:,} cells); delete the stray cells far from the data"
        )
    formulas: frozenset[str] = frozenset()
    text_results: frozenset[str] = frozenset()
    merged: tuple[str, ...] = ()
    if detail:
        found = set()
        texts = set()
        for start in _formula_tags(whole):
            # The nearest ` r="` before the formula is its cell's reference.
            at = whole.rfind(b' r="', 0, start)
            cell = _C_REF.match(whole, at) if at >= 0 else None
            if cell is not None:
                ref = cell.group(1).decode()
                found.add(ref)
                if whole.find(b' t="str"', whole.rfind(b"<", 0, at), whole.find(b">", at)) >= 0:
                    texts.add(ref)
        formulas = frozenset(found)
        text_results = frozenset(texts)
        if b"mergeCell " in whole:
            merged = tuple(m.group(1).decode() for m in _MERGE.finditer(whole))
    return SheetScan(max_row, max_col, formulas, merged, text_results, errors)
