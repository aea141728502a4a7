"""Builders for hostile and broken input files (each teaches one exception)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from openpyxl import Workbook, load_workbook

from tests.helpers import write_assessment

GOOD_ANSWERS = {
    "PC1": "Some support",
    "PC2": "No support",
    "PC3": "No support",
    "PC4": "Nobody",
    "DL1": "Some support",
    "DL2": "No support",
    "DL3": "No support",
    "CO1": "Some support",
    "CO2": "No support",
    "KS1": "Some support",
    "KS2": "Never",
    "FS1": "No support from family",
    "FS2": "No",
}


def person(
    pid: object, group: str = "learning_disability", cost: object = None
) -> dict[str, object]:
    out: dict[str, object] = {"Person ID": pid, "Client group": group}
    if cost is not None:
        out["Current annual cost"] = cost
    return out


def good(path: Path, pid: str, **answers: str) -> Path:
    return write_assessment(path, person(pid), {**GOOD_ANSWERS, **answers})


def rewrite_member(
    src: Path, dest: Path, member: str, data: bytes, extra: dict[str, bytes] | None = None
) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, data if item.filename == member else zin.read(item.filename))
        for name, blob in (extra or {}).items():
            zout.writestr(name, blob)
    return dest


def forged_bomb(src: Path, dest: Path, inflated: int, member: str = "xl/sharedStrings.xml") -> Path:
    """A copy of ``src`` whose ``member`` inflates to ``inflated`` bytes of spaces while
    its zip headers (local and central) claim 4,096 bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b" " * (1 << 20)
    parts = [z.compress(chunk) for _ in range(inflated // len(chunk))]
    parts.append(z.flush())
    raw = b"".join(parts)
    crc = 0
    for _ in range(inflated // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename != member:
                zout.writestr(item.filename, zin.read(item.filename))
        name = member.encode()
        offset = out.tell()
        header = struct.pack(
            "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(raw), 4096, len(name), 0
        )
        out.write(header + name + raw)
        info = zipfile.ZipInfo(member)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.header_offset = offset
        info.CRC = crc
        info.compress_size = len(raw)
        info.file_size = 4096  # the lie, in the central directory too
        zout.filelist.append(info)
        zout.NameToInfo[member] = info
        zout.start_dir = out.tell()
    dest.write_bytes(out.getvalue())
    return dest


def build(folder: Path) -> dict[str, str]:
    """Write the hostile collection; returns file name -> words its exception must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}
    base = good(folder / "base.xlsx", "TMP")

    (folder / "corrupt.xlsx").write_bytes(base.read_bytes()[:700])
    expect["corrupt.xlsx"] = "damaged"

    bomb = io.BytesIO()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data + b" " * (60 * 1024 * 1024)
            zout.writestr(item.filename, data)
    (folder / "zipbomb.xlsx").write_bytes(bomb.getvalue())
    expect["zipbomb.xlsx"] = "zip bomb"

    forged_bomb(base, folder / "forged-sizes.xlsx", 300 * 1024 * 1024, "xl/worksheets/sheet2.xml")
    expect["forged-sizes.xlsx"] = "zip bomb"

    with (
        zipfile.ZipFile(base) as zin,
        zipfile.ZipFile(folder / "no-content-types.xlsx", "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            if item.filename != "[Content_Types].xml":
                zout.writestr(item, zin.read(item.filename))
    expect["no-content-types.xlsx"] = "[Content_Types].xml"

    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    rewrite_member(base, folder / "xmlbomb.xlsx", "xl/worksheets/sheet2.xml", laughs)
    expect["xmlbomb.xlsx"] = "XML bomb"

    wb = load_workbook(base)
    wb["Questionnaire"]["XFD1048576"] = "far away"
    wb.save(folder / "far-cell.xlsx")
    expect["far-cell.xlsx"] = "XFD1048576"

    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000)
    expect["old.xls"] = ".xls"

    (folder / "renamed.xlsx").write_text("Person ID,PC1\nX1,Some support\n", encoding="utf-8")
    expect["renamed.xlsx"] = "CSV"

    try:
        import msoffcrypto.format.ooxml as ooxml

        enc = io.BytesIO()
        ooxml.OOXMLFile(io.BytesIO(base.read_bytes())).encrypt("secret", enc)
        (folder / "encrypted.xlsx").write_bytes(enc.getvalue())
        expect["encrypted.xlsx"] = "encrypted"
    except ImportError:  # pragma: no cover - test extra not installed
        pass

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Person"
    ws.append(["Field", "Value"])
    ws.append(["Person ID", "NOQ"])
    wb.save(folder / "no-questionnaire.xlsx")
    expect["no-questionnaire.xlsx"] = "no 'Questionnaire' sheet"

    write_assessment(folder / "no-id.xlsx", person(None), GOOD_ANSWERS)
    expect["no-id.xlsx"] = "Person ID is missing"

    good(folder / "dup-a.xlsx", "DUP-1")
    good(folder / "dup-b.xlsx", "DUP-1")
    expect["dup-b.xlsx"] = "duplicate Person ID 'DUP-1'"

    good(folder / "huge-answer.xlsx", "HA-1", PC2="B" * 1_000_000)
    expect["huge-answer.xlsx"] = "'" + "B" * 79 + "…', which is not allowed"

    good(folder / "unknown-answer.xlsx", "UA-1", PC1="Quite a lot")
    expect["unknown-answer.xlsx"] = "'Quite a lot', which is not allowed"

    answers = dict(GOOD_ANSWERS)
    answers["KS2"] = None  # type: ignore[assignment]
    write_assessment(folder / "missing-answer.xlsx", person("MA-1"), answers)
    expect["missing-answer.xlsx"] = "question KS2 is not answered"

    good(folder / "formula-nocache.xlsx", "FN-1", PC1='="Some support"')
    expect["formula-nocache.xlsx"] = "formula with no calculated value"

    wb = load_workbook(good(folder / "merged.xlsx", "MG-1"))
    wb["Questionnaire"].merge_cells("D2:D3")
    wb.save(folder / "merged.xlsx")
    expect["merged.xlsx"] = "inside merged cells D2:D3"
    base.unlink()
    return expect
