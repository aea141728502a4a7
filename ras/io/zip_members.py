"""A workbook's zip members read straight from its bytes, without the zipfile module.

The guard (SPEC §12) looks at a few parts of every input workbook. ``zipfile`` costs
more per file than python-calamine's whole read of a small workbook (an object per
member, a file object per part opened), so the central directory is read here with
``struct`` and parts are inflated with ``zlib`` from the same bytes that are then
handed to the parser: what is checked is what is parsed.

Anything unusual (Zip64 records, bytes before the zip, a damaged directory) is left
to ``zipfile``, which reads the directory in those cases.
"""

from __future__ import annotations

import io
import mmap
import shutil
import struct
import zipfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple, TypeAlias

_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_END = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_CENTRAL_SIG = b"PK\x01\x02"
_LOCAL_SIG = b"PK\x03\x04"
_LOCAL_SIZE = 30
_LOCAL = struct.Struct("<4s5H3L2H")
_FULL = 0xFFFFFFFF
#: Bytes inflated at a time where a part is read in pieces.
CHUNK = 1 << 20


#: A zip's bytes: read into memory, or a mapped file.
Bytes: TypeAlias = "bytes | memoryview | mmap.mmap"


class ZipDamaged(Exception):
    """The bytes are not a readable zip (or a part is not where the directory says)."""


class Member(NamedTuple):
    """One part of a zip, as its central directory describes it."""

    name: str
    method: int
    flags: int
    compress_size: int
    file_size: int
    header_offset: int
    crc: int = 0

    @property
    def encrypted(self) -> bool:
        """Whether the part is encrypted (zip's traditional encryption)."""
        return bool(self.flags & 1)


def members(data: Bytes) -> list[Member]:
    """Every member listed in the central directory of the zip in ``data``.

    Raises:
        ZipDamaged: ``data`` is not a zip whose directory can be read.
    """
    size = len(data)
    at = bytes(data[max(0, size - _EOCD_SIZE - 65_535) :]).rfind(_EOCD)
    if at < 0:
        raise ZipDamaged("no end of central directory")
    at += max(0, size - _EOCD_SIZE - 65_535)
    if at + _EOCD_SIZE > size:
        raise ZipDamaged("truncated end of central directory")
    _, disk, cd_disk, _, count, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", data, at)
    unusual = (
        disk != 0
        or cd_disk != 0
        or count == 0xFFFF
        or cd_size == _FULL
        or cd_offset == _FULL
        or cd_offset + cd_size != at
        or (at >= 20 and bytes(data[at - 20 : at - 16]) == _ZIP64_LOCATOR)
    )
    if unusual:
        return _members_by_zipfile(data)
    out: list[Member] = []
    pos = cd_offset
    for _ in range(count):
        if pos + _CENTRAL.size > at:
            raise ZipDamaged("truncated central directory")
        entry = _CENTRAL.unpack_from(data, pos)
        sig, flags, method, crc = entry[0], entry[3], entry[4], entry[7]
        csize, usize = entry[8], entry[9]
        n_name, n_extra, n_comment, off = entry[10], entry[11], entry[12], entry[16]
        if sig != _CENTRAL_SIG:
            raise ZipDamaged("bad central directory entry")
        if _FULL in (csize, usize, off):
            return _members_by_zipfile(data)  # Zip64 sizes
        raw_name = bytes(data[pos + _CENTRAL.size : pos + _CENTRAL.size + n_name])
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        out.append(Member(name, method, flags, csize, usize, off, crc))
        pos += _CENTRAL.size + n_name + n_extra + n_comment
    return out


def _members_by_zipfile(data: Bytes) -> list[Member]:
    try:
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            return [
                Member(
                    i.filename,
                    i.compress_type,
                    i.flag_bits,
                    i.compress_size,
                    i.file_size,
                    i.header_offset,
                    i.CRC,
                )
                for i in zf.infolist()
            ]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ZipDamaged(str(exc)) from exc


def raw(data: Bytes, member: Member) -> memoryview:
    """A member's compressed bytes (after its local header).

    Raises:
        ZipDamaged: the local header is not where the directory says.
    """
    off = member.header_offset
    header = bytes(data[off : off + _LOCAL_SIZE])
    if len(header) < _LOCAL_SIZE or header[:4] != _LOCAL_SIG:
        raise ZipDamaged("a part is not where the zip says")
    n_name, n_extra = struct.unpack_from("<2H", header, 26)
    start = off + _LOCAL_SIZE + n_name + n_extra
    end = start + member.compress_size
    if end > len(data):
        raise ZipDamaged("a part runs past the end of the file")
    return memoryview(data)[start:end]


class TooBig(Exception):
    """A member inflates past the limit it was read with."""


def inflate(data: Bytes, member: Member, limit: int) -> bytes:
    """A member's bytes, inflated; :class:`TooBig` as soon as more than ``limit`` come out.

    Raises:
        ZipDamaged: the member cannot be inflated.
        TooBig: it inflates to more than ``limit`` bytes (whatever its headers say).
    """
    body = raw(data, member)
    if member.method == zipfile.ZIP_STORED:
        if len(body) > limit:
            raise TooBig(len(body))
        return bytes(body)
    try:
        inflater = zlib.decompressobj(-15)
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ZipDamaged(str(exc)) from exc
    if len(out) > limit:
        raise TooBig(len(out))
    return out


def head(data: Bytes, member: Member, size: int) -> bytes:
    """The first ``size`` inflated bytes of a member (at most)."""
    body = raw(data, member)
    if member.method == zipfile.ZIP_STORED:
        return bytes(body[:size])
    try:
        return zlib.decompressobj(-15).decompress(body, size)
    except zlib.error as exc:
        raise ZipDamaged(str(exc)) from exc


def inflated_size(data: Bytes, member: Member, limit: int) -> int:
    """How many bytes a member inflates to, counted in pieces; :class:`TooBig` past ``limit``."""
    size = 0
    for piece in pieces(data, member, limit):
        size += len(piece)
    return size


def pieces(data: Bytes, member: Member, limit: int) -> Iterator[bytes]:
    """A member's inflated bytes in pieces of at most :data:`CHUNK`; :class:`TooBig` past ``limit``.

    Raises:
        ZipDamaged: the member cannot be inflated.
        TooBig: more than ``limit`` bytes come out.
    """
    body = raw(data, member)
    if member.method == zipfile.ZIP_STORED:
        if len(body) > limit:
            raise TooBig(len(body))
        for at in range(0, len(body), CHUNK):
            yield bytes(body[at : at + CHUNK])
        return
    inflater = zlib.decompressobj(-15)
    size = 0
    try:
        for at in range(0, len(body), CHUNK):
            out = inflater.decompress(body[at : at + CHUNK], CHUNK)
            while True:
                size += len(out)
                if size > limit:
                    raise TooBig(size)
                if out:
                    yield out
                if not inflater.unconsumed_tail:
                    break
                out = inflater.decompress(inflater.unconsumed_tail, CHUNK)
        rest = inflater.flush()
        size += len(rest)
        if size > limit:
            raise TooBig(size)
        if rest:
            yield rest
    except zlib.error as exc:
        raise ZipDamaged(str(exc)) from exc


class Deflated:
    """Bytes deflated into a file as they come (blocks flushed, not final), counted.

    The body of a part that :meth:`ZipWriter.add_around` puts between a head and a
    tail: large sheet XML is compressed as it is made, never held or spooled inflated.
    """

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.crc = 0
        self.size = 0
        self.compressed = 0
        self._deflater = zlib.compressobj(1, zlib.DEFLATED, -15)

    def write(self, data: bytes) -> None:
        """Deflate ``data`` onto the file."""
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self._deflater.compress(data)
        self.compressed += len(out)
        self.file.write(out)

    def finish(self) -> None:
        """Flush what is left to a byte boundary (the stream goes on after it)."""
        out = self._deflater.flush(zlib.Z_SYNC_FLUSH)
        self.compressed += len(out)
        self.file.write(out)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, row) for row in matrix]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from that of A, that of B and B's length (zlib's method).

    Python's ``zlib`` does not expose ``crc32_combine``; this is its algorithm: the
    effect of ``len2`` zero bytes on ``crc1`` by repeated squaring of the CRC's
    operator over GF(2), in about a millisecond for any length.
    """
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)  # the first pass: one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


class ZipWriter:
    """Writes a zip, copying parts of another as they are (still compressed) or adding new.

    For a workbook that is mostly copied: no part is inflated and deflated again
    unless it changes. A part or an offset past 4 GiB gets Zip64 records, as zipfile
    writes them.
    """

    #: Sizes and offsets from which Zip64 records are written (the 32-bit fields' limit).
    ZIP64_LIMIT = _FULL

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.entries: list[tuple[bytes, int, int, int, int, int, int]] = []
        self.at = 0

    def _put(self, name: str, method: int, crc: int, body: Bytes, size: int) -> None:
        self._header(name, method, crc, len(body), size)
        self.fh.write(body)
        self.at += len(body)

    def _header(self, name: str, method: int, crc: int, csize: int, size: int) -> None:
        raw_name = name.encode("utf-8")
        flags = 0x800  # names in UTF-8
        extra = b""
        version, fields = 20, (csize, size)
        if max(csize, size) >= self.ZIP64_LIMIT:  # both sizes in a Zip64 extra field
            version, fields = 45, (_FULL, _FULL)
            extra = struct.pack("<2H2Q", 1, 16, size, csize)
        header = _LOCAL.pack(
            _LOCAL_SIG, version, flags, method, 0, 0x21, crc, *fields, len(raw_name), len(extra)
        )
        self.fh.write(header)
        self.fh.write(raw_name)
        self.fh.write(extra)
        self.entries.append((raw_name, flags, method, crc, csize, size, self.at))
        self.at += len(header) + len(raw_name) + len(extra)

    def copy(self, data: Bytes, member: Member) -> None:
        """Copy a member of the zip in ``data`` as it is."""
        if member.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ZipDamaged("a part compressed in a way a workbook never is")
        self._put(member.name, member.method, member.crc, raw(data, member), member.file_size)

    def add(self, name: str, content: bytes, level: int = 1) -> None:
        """Add a part, deflated."""
        deflater = zlib.compressobj(level, zlib.DEFLATED, -15)
        body = deflater.compress(content) + deflater.flush()
        self._put(name, zipfile.ZIP_DEFLATED, zlib.crc32(content), body, len(content))

    def add_around(self, name: str, head: bytes, body: Deflated, tail: bytes) -> None:
        """Add a part made of ``head``, a body deflated already, and ``tail``.

        ``head`` and ``tail`` are deflated here as blocks of their own around the body's
        (deflate blocks from separate compressors follow one another as one stream when
        each but the last ends flushed to a byte boundary), and the CRC-32 of the whole
        is put together from the three pieces'.
        """
        front = zlib.compressobj(1, zlib.DEFLATED, -15)
        head_z = front.compress(head) + front.flush(zlib.Z_SYNC_FLUSH)
        back = zlib.compressobj(1, zlib.DEFLATED, -15)
        tail_z = back.compress(tail) + back.flush()
        crc = crc32_combine(zlib.crc32(head), body.crc, body.size)
        crc = crc32_combine(crc, zlib.crc32(tail), len(tail))
        size = len(head) + body.size + len(tail)
        csize = len(head_z) + body.compressed + len(tail_z)
        self._header(name, zipfile.ZIP_DEFLATED, crc, csize, size)
        self.fh.write(head_z)
        body.file.seek(0)
        shutil.copyfileobj(body.file, self.fh, 1 << 20)
        self.fh.write(tail_z)
        self.at += csize

    def close(self) -> None:
        """Write the central directory (with Zip64 records where a figure needs them)."""
        start = self.at
        limit = self.ZIP64_LIMIT
        for raw_name, flags, method, crc, csize, size, offset in self.entries:
            # Zip64: each figure past the limit goes in the extra field, in this order.
            big = [v for v in (size, csize, offset) if v >= limit]
            extra = struct.pack(f"<2H{len(big)}Q", 1, 8 * len(big), *big) if big else b""
            self.fh.write(
                _CENTRAL.pack(
                    _CENTRAL_SIG,
                    45 if big else 20,
                    45 if big else 20,
                    flags,
                    method,
                    0,
                    0x21,
                    crc,
                    _FULL if csize >= limit else csize,
                    _FULL if size >= limit else size,
                    len(raw_name),
                    len(extra),
                    0,
                    0,
                    0,
                    0,
                    _FULL if offset >= limit else offset,
                )  # fmt: skip
            )
            self.fh.write(raw_name)
            self.fh.write(extra)
            self.at += _CENTRAL.size + len(raw_name) + len(extra)
        count, length = len(self.entries), self.at - start
        if (
            count >= 0xFFFF
            or length >= limit
            or start >= limit
            or any(max(e[4], e[5], e[6]) >= limit for e in self.entries)
        ):
            record = self.at
            self.fh.write(
                struct.pack(
                    "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, length, start
                )
            )
            self.fh.write(struct.pack("<4sLQL", _ZIP64_LOCATOR, 0, record, 1))
            self.fh.write(struct.pack("<4s4H2LH", _EOCD, 0, 0, 0xFFFF, 0xFFFF, _FULL, _FULL, 0))
            return
        self.fh.write(struct.pack("<4s4H2LH", _EOCD, 0, 0, count, count, length, start, 0))
