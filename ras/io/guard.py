"""Checks made on an untrusted file before any parser touches it (SPEC §12).

The checks look at bytes only: the file's signature, the zip directory (member
count, uncompressed size, compression ratio), XML document type declarations
(entity bombs), and the real extent of the cells in the sheets that will be read.
Each failure is an :class:`~ras.errors.InputError` with a one-line reason and a fix.
"""

from __future__ import annotations

import html
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ras.cells import col_index
from ras.errors import InputError, quote

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
_BIG_REF = re.compile(rb' r="(?:[A-Z]{3}[0-9]+|[A-Z]{1,2}[0-9]{6,})"')
_TWO_LETTER_REF = re.compile(rb' r="([A-Z]{2})[0-9]+"')
_LAST_ROW = re.compile(rb'<(?:\w+:)?row [^>]*?r="([0-9]+)"')
_F_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")
_C_REF = re.compile(rb' r="([A-Z]+[0-9]+)"')
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


@dataclass(frozen=True)
class SheetInfo:
    """A worksheet of an inspected workbook."""

    name: str
    member: str
    state: str = "visible"


@dataclass
class WorkbookInfo:
    """What the guard learned about a workbook without parsing its cells."""

    path: Path
    macros: bool = False
    sheets: dict[str, SheetInfo] = field(default_factory=dict)


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


def sniff(path: Path) -> str:
    """Say what a file really is: ``zip``, ``csv`` or raise with the reason.

    Raises:
        InputError: for empty files, legacy ``.xls``, encrypted workbooks, CSV
            renamed ``.xlsx`` and unknown formats.
    """
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
_LOCAL_HEADER = 30


def _zip_checks(path: Path, zf: zipfile.ZipFile) -> None:
    """Member count, compression methods, and sizes that hold whatever the headers say.

    Every member is checked, since openpyxl (budget sheets) parses them all. The
    declared sizes are checked first (cheap); then each member whose compressed bytes
    could inflate past a limit (deflate expands at most ~1032 times) is inflated here,
    counting, and refused as soon as the limit is passed (a zip bomb with false sizes
    in its headers).
    """
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise InputError(
            f"{path}: the workbook has {len(infos)} parts (a zip bomb?), refused; " + _ASK
        )
    try:
        file_size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
    declared = 0
    for info in infos:
        if info.compress_type not in _METHODS:
            raise InputError(
                f"{path}: part {_part(info)} uses a compression Excel never writes "
                f"(method {info.compress_type}), refused; " + _ASK
            )
        declared += info.file_size
        if info.file_size > RATIO_FLOOR:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_RATIO:
                raise InputError(
                    f"{path}: part {_part(info)} expands {ratio:.0f} times "
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
    for info in infos:
        compressed = min(info.compress_size, file_size)
        bound = compressed * (DEFLATE_MAX_RATIO if info.compress_type else 1)
        if bound <= MAX_MEMBER and bounded + bound <= MAX_UNCOMPRESSED:
            bounded += bound
            continue
        bounded += _checked_size(path, zf, info, compressed, MAX_UNCOMPRESSED - bounded)


def _checked_size(
    path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, compressed: int, room: int
) -> int:
    """A member's real inflated size, refused past the limits or an explosive ratio."""
    explosive = max(RATIO_FLOOR, MAX_RATIO * compressed)  # past this: too high a ratio
    return _inflated_size(path, zf, info, max(0, min(MAX_MEMBER, room, explosive)))


def _part(info: zipfile.ZipInfo) -> str:
    return quote(info.filename)


def _inflated_size(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> int:
    """Inflate one member's raw bytes, counting; refuse it once ``limit`` is passed."""
    fp = zf.fp
    assert fp is not None
    try:
        fp.seek(info.header_offset)
        header = fp.read(_LOCAL_HEADER)
        if len(header) < _LOCAL_HEADER or header[:4] != ZIP_MAGIC:
            raise InputError(
                f"{path}: the file is damaged (part {_part(info)} is not where the zip "
                "says); save the workbook again"
            )
        name_len = int.from_bytes(header[26:28], "little")
        extra_len = int.from_bytes(header[28:30], "little")
        fp.seek(info.header_offset + _LOCAL_HEADER + name_len + extra_len)
        left = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type else None
        size = 0
        while left > 0:
            chunk = fp.read(min(left, 1 << 20))
            if not chunk:
                break
            left -= len(chunk)
            if inflater is None:
                size += len(chunk)
            else:
                data = inflater.decompress(chunk, limit + 1 - size)
                size += len(data)
                while inflater.unconsumed_tail and size <= limit:
                    data = inflater.decompress(inflater.unconsumed_tail, limit + 1 - size)
                    size += len(data)
            if size > limit:
                raise InputError(
                    f"{path}: part {_part(info)} inflates to more than {limit / 2**20:.1f} MiB "
                    f"from {info.compress_size:,} bytes, whatever its header says "
                    f"({info.file_size:,} bytes) (a zip bomb?), refused; " + _ASK
                )
        return size
    except zlib.error as exc:
        raise InputError(
            f"{path}: the file is damaged (part {_part(info)} cannot be inflated); "
            "save the workbook again"
        ) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc


#: Parts the value reader parses besides the workbook, its relationships and the sheets
#: (those are checked as they are read). openpyxl, used for budget sheets, parses every
#: part through defusedxml, which refuses entity declarations itself.
_PARSED_PARTS = ("xl/sharedStrings.xml", "xl/styles.xml", "[Content_Types].xml")


def _check_dtd(path: Path, member: str, head: bytes) -> None:
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise InputError(
            f"{path}: part {member} declares XML entities (an XML bomb?), "
            "refused; save the workbook again from Excel"
        )


def _no_dtd(path: Path, zf: zipfile.ZipFile) -> None:
    names = set(zf.namelist())
    for member in _PARSED_PARTS:
        if member in names:
            with zf.open(member) as fh:
                _check_dtd(path, member, fh.read(4096))


_ELEMENT = re.compile(rb"<(?:\w+:)?(sheet|Relationship)\s([^>]*?)/?>")
_ATTRIBUTE = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"|([\w:]+)\s*=\s*\'([^\']*)\'')


def _attributes(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTRIBUTE.finditer(raw.decode("utf-8", "replace")):
        key = m.group(1) or m.group(3)
        value = m.group(2) if m.group(1) else m.group(4)
        out[key] = html.unescape(value)
    return out


def _read_part(path: Path, zf: zipfile.ZipFile, member: str) -> bytes:
    try:
        data = zf.read(member)
    except KeyError as exc:
        raise InputError(f"{path}: not an Excel workbook (no {member}); save it as .xlsx") from exc
    _check_dtd(path, member, data[:4096])
    return data


def inspect_workbook(path: Path) -> tuple[WorkbookInfo, zipfile.ZipFile]:
    """Check a workbook zip and list its sheets. The caller closes the returned zip.

    Raises:
        InputError: the file is damaged, a bomb, or not an Excel workbook.
    """
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"{path}: the file is damaged (not a readable zip); save the workbook again"
        ) from exc
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file ({exc.strerror})") from exc
    try:
        _zip_checks(path, zf)
        names = set(zf.namelist())
        if "[Content_Types].xml" not in names:
            # calamine reads such a file, openpyxl (budget sheets) does not: a file is
            # readable for every output or rejected.
            raise InputError(
                f"{path}: the file is damaged (it has no [Content_Types].xml part, which "
                "every Excel workbook has); open it in Excel or LibreOffice and save it again"
            )
        _no_dtd(path, zf)
        info = WorkbookInfo(path=path)
        info.macros = any(n.lower().endswith("vbaproject.bin") for n in names)
        # Two small parts, read with patterns rather than a parser: no entities are ever
        # expanded, and a damaged part simply lists no sheets.
        wb = _read_part(path, zf, "xl/workbook.xml")
        rels = _read_part(path, zf, "xl/_rels/workbook.xml.rels")
        targets: dict[str, str] = {}
        for m in _ELEMENT.finditer(rels):
            if m.group(1) != b"Relationship":
                continue
            attrs = _attributes(m.group(2))
            target = attrs.get("Target", "")
            if target.startswith("/"):
                member = target.lstrip("/")
            else:
                member = str(PurePosixPath("xl") / target)
            targets[attrs.get("Id", "")] = member
        for m in _ELEMENT.finditer(wb):
            if m.group(1) != b"sheet":
                continue
            attrs = _attributes(m.group(2))
            name = attrs.get("name", "")
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), "")
            info.sheets[name] = SheetInfo(
                name=name, member=targets.get(rid, ""), state=attrs.get("state", "visible")
            )
        if not info.sheets:
            raise InputError(f"{path}: the workbook lists no sheets (damaged?); save it again")
        return info, zf
    except BaseException:
        zf.close()
        raise


@dataclass(frozen=True)
class SheetScan:
    """Facts about one sheet's XML: its extent, formula cells and merged ranges."""

    rows: int
    cols: int
    formula_cells: frozenset[str]
    merged: tuple[str, ...]


def scan_sheet(path: Path, zf: zipfile.ZipFile, sheet: SheetInfo, detail: bool) -> SheetScan:
    """Measure a sheet's real cell extent before it is parsed.

    With ``detail``, also list formula cells and merged ranges (for small sheets).

    Raises:
        InputError: the sheet spans more cells than ras will read.
    """
    try:
        data = zf.read(sheet.member)
    except KeyError as exc:
        raise InputError(
            f"{path}: sheet {sheet.name!r} is missing from the file; save the workbook again"
        ) from exc
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InputError(
            f"{path}: sheet {sheet.name!r} is damaged; save the workbook again"
        ) from exc
    _check_dtd(path, sheet.member, data[:4096])
    max_row, max_col, far = 0, 0, ""
    for m in _BIG_REF.finditer(data):
        ref = m.group(0)[4:-1].decode()
        letters = ref.rstrip("0123456789")
        row, col = int(ref[len(letters) :]), col_index(letters) + 1
        if row * max(col, 1) > max_row * max(max_col, 1):
            far = ref
        max_row, max_col = max(max_row, row), max(max_col, col)
    for m in _TWO_LETTER_REF.finditer(data):
        max_col = max(max_col, col_index(m.group(1).decode()) + 1)
    last = data.rfind(b"<row ")
    if last < 0:
        last = data.rfind(b":row ")
    if last >= 0:
        row_match = _LAST_ROW.search(data, max(0, last - 10))
        if row_match:
            max_row = max(max_row, int(row_match.group(1)))
    if max_col == 0:
        max_col = 26 if data.find(b' r="') >= 0 else 0
    if max_row > EXCEL_ROWS or max_col > EXCEL_COLS or max_row * max_col > MAX_CELLS:
        where = f" (a cell at {far})" if far else ""
        raise InputError(
            f"{path}: sheet {sheet.name!r} spans {max_row:,} rows x {max_col:,} columns{where}, "
            f"more than ras reads ({MAX_CELLS:,} cells); delete the stray cells far from the data"
        )
    formulas: frozenset[str] = frozenset()
    merged: tuple[str, ...] = ()
    if detail:
        found = set()
        for tag in _F_TAG.finditer(data):
            # The nearest ` r="` before the formula is its cell's reference.
            at = data.rfind(b' r="', 0, tag.start())
            cell = _C_REF.match(data, at) if at >= 0 else None
            if cell is not None:
                found.add(cell.group(1).decode())
        formulas = frozenset(found)
        merged = tuple(m.group(1).decode() for m in _MERGE.finditer(data))
    return SheetScan(rows=max_row, cols=max_col, formula_cells=formulas, merged=merged)
