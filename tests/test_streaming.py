"""Scoring at scale: the lean zip reader, people spilled to disk, rows streamed (#8)."""

from __future__ import annotations

import codecs
import csv
import io
import pickle
import random
import re
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ras.cli import main
from ras.commands.score import score_inputs
from ras.io import zip_members
from ras.io.allocations import write_allocations
from ras.io.table_file import load_table
from ras.io.xlsx import Coded, RowWriter, _tail_or_empty, _text_tails
from ras.models.table import PointTable
from ras.scoring.pseudonyms import Pseudonymiser, pseudonymise_run
from ras.scoring.store import People
from tests.hostile import good


def _bulk_rows(table: PointTable, n: int, seed: int = 3) -> list[list[str]]:
    """A header and ``n`` people with random valid answers (some rows broken)."""
    rng = random.Random(seed)
    questions = [q for _, q in table.questions()]
    header = ["Person ID", "client_group", "Current annual cost", *(q.id for q in questions)]
    groups = ["learning_disability", "mental_health", "older_people"]
    rows = [header]
    for i in range(n):
        row = [f"P-{i:05d}", rng.choice(groups), str(rng.randint(0, 40_000))]
        row += [rng.choice(list(q.answers)) for q in questions]
        if i % 97 == 5:
            row[4] = "not an answer"
        rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _sheets(path: Path) -> dict[str, list[list[object]]]:
    wb = CalamineWorkbook.from_path(str(path))
    try:
        return {n: wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names if n != "Run"}
    finally:
        wb.close()


def test_members_read_with_struct_match_zipfile(tmp_path: Path) -> None:
    """The lean central-directory reader agrees with zipfile on real workbooks."""
    path = good(tmp_path / "a.xlsx", "Z-1")
    data = path.read_bytes()
    ours = {m.name: m for m in zip_members.members(data)}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            m = ours[info.filename]
            assert (m.compress_size, m.file_size, m.header_offset, m.method) == (
                info.compress_size,
                info.file_size,
                info.header_offset,
                info.compress_type,
            )
            assert zip_members.inflate(data, m, info.file_size) == zf.read(info.filename)
            with pytest.raises(zip_members.TooBig):
                zip_members.inflate(data, m, info.file_size - 1)
            assert b"".join(zip_members.pieces(data, m, info.file_size)) == zf.read(info.filename)
    # Bytes before the zip (a self-extracting stub) are left to zipfile, with the same result.
    stub = b"#!stub\n" * 10 + data
    moved = {m.name: m for m in zip_members.members(stub)}
    for name, m in moved.items():
        assert zip_members.inflate(stub, m, 1 << 24) == zip_members.inflate(
            data, ours[name], 1 << 24
        )
    with pytest.raises(zip_members.ZipDamaged):
        zip_members.members(data[: len(data) // 2])


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=3000),
    st.lists(st.binary(max_size=70_000), max_size=4),
    st.binary(max_size=300),
    st.integers(0, 2),
    st.sampled_from([None, 0, 100, 5000]),
)
def test_a_part_deflated_around_a_body_reads_back(
    head: bytes, body: list[bytes], tail: bytes, copies: int, zip64_from: int | None
) -> None:
    """Head, body deflated as it came and tail make one valid part (CRC-32 and all).

    With Zip64 records from a low limit (as for parts and offsets past 4 GiB), zipfile
    and ras's own reader read the same parts.
    """

    class Writer(zip_members.ZipWriter):
        ZIP64_LIMIT = zip_members.ZipWriter.ZIP64_LIMIT if zip64_from is None else zip64_from

    assert zip_members.crc32_combine(zlib.crc32(head), zlib.crc32(tail), len(tail)) == (
        zlib.crc32(head + tail)
    )
    buf = io.BytesIO()
    out = Writer(buf)
    out.add("first.xml", b"<a/>" * copies)
    spool = zip_members.Deflated(io.BytesIO())
    for piece in body:
        spool.write(piece)
    spool.finish()
    out.add_around("sheet.xml", head, spool, tail)
    out.add("last.xml", tail)
    out.close()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        assert zf.testzip() is None  # every CRC-32 checks out
        assert zf.read("sheet.xml") == head + b"".join(body) + tail
        assert zf.read("first.xml") == b"<a/>" * copies and zf.read("last.xml") == tail
    data = buf.getvalue()
    ours = {m.name: m for m in zip_members.members(data)}
    assert zip_members.inflate(data, ours["sheet.xml"], 1 << 24) == head + b"".join(body) + tail


def test_zip64_workbook_is_read(tmp_path: Path, adult: PointTable) -> None:
    """A workbook whose zip has Zip64 records (some writers always add them) scores."""
    src = good(tmp_path / "src.xlsx", "Z64-1")
    out = tmp_path / "in" / "zip64.xlsx"
    out.parent.mkdir()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            with zout.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(zin.read(info.filename))
    run = score_inputs([out.parent], adult, jobs=0)
    assert [s.assessment.person_id for s in run.scored] == ["Z64-1"], run.exceptions


@pytest.mark.parametrize("jobs", [0, 2])
def test_spilled_people_give_the_same_workbook(
    tmp_path: Path, adult: PointTable, jobs: int
) -> None:
    """Past SPILL_ROWS a bulk table is scored as it is read and kept on disk; every
    output is the same as with everyone in memory, repeats across files included."""
    rows = _bulk_rows(adult, 600)
    big = _write_csv(tmp_path / "big.csv", rows)
    again = _write_csv(tmp_path / "again.csv", [rows[0], rows[10], rows[600]])  # repeats
    first = good(tmp_path / "first.xlsx", "P-00020")  # P-00020 of big.csv repeats it
    inputs = [first, big, again]
    in_memory = score_inputs(inputs, adult, jobs=jobs, explain=False)
    spilled = score_inputs(inputs, adult, jobs=jobs, explain=False, spill_rows=100)
    assert isinstance(spilled.scored, People) and spilled.scored.spilled
    folder = Path(str(spilled.scored.folder))
    assert list(folder.glob("*.pickle"))
    assert len(spilled.scored) == len(in_memory.scored) == 1 + 600 - 7 - 1
    assert [s.assessment.person_id for s in spilled.scored] == [
        s.assessment.person_id for s in in_memory.scored
    ]
    assert spilled.scored[5].budget == in_memory.scored[5].budget
    assert spilled.scored[-1].assessment == in_memory.scored[-1].assessment
    dup = sorted(
        (i.source, i.cell, i.problem) for i in spilled.exceptions if i.code == "duplicate-person"
    )
    assert dup == sorted(
        (i.source, i.cell, i.problem) for i in in_memory.exceptions if i.code == "duplicate-person"
    )
    assert len(dup) == 3
    assert spilled.totals == in_memory.totals
    a, b = tmp_path / "memory.xlsx", tmp_path / "spilled.xlsx"
    write_allocations(in_memory, a)
    write_allocations(spilled, b)
    assert _sheets(a) == _sheets(b)
    # Pseudonyms are applied as the people are read back, never all held at once.
    key = Pseudonymiser(b"k")
    hidden = pseudonymise_run(spilled, key)
    assert isinstance(hidden.scored, People)
    assert [s.assessment.person_id for s in hidden.scored][:3] == [
        key.person(s.assessment.person_id) for s in in_memory.scored[:3]
    ]
    spilled.scored.close()
    assert not folder.exists()


def test_budget_pickles_compactly_and_exactly(adult: PointTable, tmp_path: Path) -> None:
    run = score_inputs([_write_csv(tmp_path / "t.csv", _bulk_rows(adult, 40))], adult, jobs=0)
    people = list(run.scored)
    back = pickle.loads(pickle.dumps(people, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == people
    assert all(isinstance(v, Decimal) for s in back for v in s.budget.domain_points.values())


def test_csv_read_in_pieces_keeps_encoding_rows_and_cells(
    tmp_path: Path, adult: PointTable
) -> None:
    """A cp1252 CSV whose only non-UTF-8 byte is far down is still read as cp1252."""
    rows = _bulk_rows(adult, 3000)
    rows[2999][0] = "Zoë-1"
    path = tmp_path / "people.csv"
    path.write_bytes(
        "\r\n".join(";".join(r) for r in rows).encode("cp1252") + b"\r\n"
    )  # semicolons, as Excel writes them in much of Europe
    run = score_inputs([path], adult, jobs=0)
    assert "Zoë-1" in {s.assessment.person_id for s in run.scored}
    broken = [i for i in run.exceptions if i.code == "not-an-option"]
    assert broken and {i.cell for i in broken} >= {"E7"}  # row 6 of people + header


def test_a_utf16_csv_is_read_and_a_binary_one_refused(tmp_path: Path, adult: PointTable) -> None:
    """A UTF-16 CSV (with its byte-order mark, as some exports and Excel's "Unicode text"
    write) was refused as "binary content"."""
    rows = _bulk_rows(adult, 5)
    rows[1][0] = "Zoë-1"
    path = tmp_path / "people.csv"
    path.write_text("\r\n".join("\t".join(r) for r in rows) + "\r\n", encoding="utf-16")
    run = score_inputs([path], adult, jobs=0)
    scored = {s.assessment.person_id for s in run.scored}
    assert "Zoë-1" in scored and len(scored) == 5 and not run.exceptions
    bad = tmp_path / "bad.csv"
    bad.write_bytes(codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate: not text
    run = score_inputs([bad], adult, jobs=0)
    assert [i.problem for i in run.exceptions] == ["this is not a text CSV file (binary content)"]


def test_bulk_workbook_starting_away_from_a1_names_true_cells(
    tmp_path: Path, adult: PointTable
) -> None:
    rows = _bulk_rows(adult, 10)
    path = tmp_path / "offset.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("People")
    for r, row in enumerate(rows):
        ws.write_row(r + 2, 1, row)  # the table starts at B3
    wb.close()
    run = score_inputs([path], adult, jobs=0)
    assert len(run.scored) == 9
    bad = [i for i in run.exceptions if i.code == "not-an-option"]
    assert [i.cell for i in bad] == ["F9"]  # person 5: row 3 + 1 + 5, column B + 4
    assert run.scored[0].assessment.row == 4


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from("ab &<>\t\n\r\x07\u00a0\u2003\uffffé"), max_size=8),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_a_text_column_at_once_is_each_text_made_alone(column: list[str | None]) -> None:
    """The column-at-once path gives each cell exactly as it is made on its own."""
    assert _text_tails(column, ' s="3"') == [_tail_or_empty(v, ' s="3"') for v in column]


def test_coded_columns_write_as_the_plain_column_across_blocks() -> None:
    """A coded column's cells are those of the same values given plainly, block after block.

    Each block numbers its values afresh (as a bulk table's money groups are), so the
    same amount comes under different codes; True and 1 share a hash and never a cell.
    """
    blocks = [
        ([0, 1, 0, 2, 3], {0: Decimal("20400.00"), 1: None, 2: "", 3: Decimal("391.23")}),
        ([1, 0, 2, 2], {0: Decimal("391.23"), 1: Decimal("20400.0"), 2: 1}),
        ([0, 1, 2, 0], {0: True, 1: 1, 2: "1"}),
        ([2, 1, 0], [Decimal("20400.00"), True, Decimal("0.1")]),
    ]
    coded, plain = RowWriter([None, 7]), RowWriter([None, 7])
    first = 3
    for codes, values in blocks:
        ids = [f"P{first + i}" for i in range(len(codes))]
        column = [values[c] for c in codes]
        got = coded.xml_columns([ids, Coded(codes, values)], first)
        assert got == plain.xml_columns([ids, column], first)
        first += len(codes)
    bool_block = coded.xml_columns([["X", "Y"], Coded([0, 1], {0: True, 1: 1})], 20)
    assert '<c r="B20" s="7" t="b"><v>1</v></c>' in bool_block
    assert '<c r="B21" s="7"><v>1.0</v></c>' in bool_block


def test_row_xml_formats_each_value_by_type() -> None:
    """Cached cells and rows never mix True with 1 or a number with its text."""
    xml = RowWriter([None, 5, None, None, None]).xml(
        [["a", 1, True, None, "1"], ["b", True, 1, None, "x"], ["c", 1, True, None, "1"]], 3
    )
    wrapped = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{xml}</sheetData></worksheet>"
    )
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    book.add_worksheet("S")
    book.close()
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = wrapped.encode()
            zout.writestr(info, data)
    wb = CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))
    got = wb.get_sheet_by_name("S").to_python(skip_empty_area=False)
    assert got[2:] == [
        ["a", 1.0, True, "", "1"],
        ["b", True, 1.0, "", "x"],
        ["c", 1.0, True, "", "1"],
    ]


def test_long_tables_stream_and_read_back(
    tmp_path: Path, adult: PointTable, adult_path: Path
) -> None:
    """Tables of 7,000 people (past the width sample) read back whole and in order."""
    rows = _bulk_rows(adult, 7000)
    src = _write_csv(tmp_path / "many.csv", rows)
    out = tmp_path / "allocations.xlsx"
    result = CliRunner().invoke(
        main, ["score", str(src), "--table", str(adult_path), "--out", str(out), "--jobs", "2"]
    )
    assert result.exit_code == 1, result.output  # some rows are rejected on purpose
    sheets = _sheets(out)
    alloc = sheets["Allocations"]
    assert len(alloc) == 1 + 7000 - len([r for r in rows[1:] if "not an answer" in r])
    ids = [r[0] for r in alloc[1:]]
    assert ids == sorted(ids)
    answers = sheets["Answers"]
    assert answers[-1][0] == ids[-1]
    assert len(answers) - 1 == sum(1 for r in rows[1:] if "not an answer" not in r) * len(
        rows[0][3:]
    )


@pytest.mark.parametrize("overflow", ["csv", "parquet"])
def test_sheets_past_excels_limit_go_beside_the_workbook(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch, overflow: str
) -> None:
    """Past the row limit (made small here) Allocations, Explanations and Answers go to
    CSV or Parquet files; Parquet keeps money and points exact; calibrate reads them."""
    import pyarrow.parquet as pq

    from ras.io import allocations

    monkeypatch.setattr(allocations, "EXCEL_MAX_ROWS", 41)
    src = _write_csv(tmp_path / "people.csv", _bulk_rows(adult, 60))
    run = score_inputs([src], adult, jobs=0, explain=False)
    out = tmp_path / "allocations.xlsx"
    beside = write_allocations(run, out, overflow)
    assert sorted(p.name for p in beside) == [
        f"allocations.{n}.{overflow}" for n in ("allocations", "answers", "explanations")
    ]
    csv_out = tmp_path / "csv" / "allocations.xlsx"
    csv_out.parent.mkdir()
    write_allocations(run, csv_out, "csv")
    for name in ("allocations", "answers", "explanations"):
        with (csv_out.parent / f"allocations.{name}.csv").open(encoding="utf-8-sig") as fh:
            want = list(csv.reader(fh))
        if overflow == "csv":
            path = tmp_path / f"allocations.{name}.csv"
            with path.open(encoding="utf-8-sig") as fh:
                assert list(csv.reader(fh)) == want
            continue
        table = pq.read_table(tmp_path / f"allocations.{name}.parquet")
        assert table.column_names == want[0]
        got = table.to_pylist()
        assert len(got) == len(want) - 1
        for row, expected in zip(got, want[1:], strict=True):
            for h, text in zip(want[0], expected, strict=True):
                value = row[h]
                if isinstance(value, Decimal):
                    assert value == Decimal(text), (name, h)
                else:
                    assert (value or "") == text, (name, h)
    if overflow == "parquet":
        schema = pq.read_table(tmp_path / "allocations.allocations.parquet").schema
        assert str(schema.field("Indicative budget (£/year)").type) == "decimal128(18, 2)"
    # calibrate reads the answers back from the file beside the workbook
    from ras.io.allocations import read_scored_people

    people = read_scored_people(out, adult)
    assert len(people) == len(run.scored)


def test_workbook_parts_written_other_ways_are_read(tmp_path: Path, adult: PointTable) -> None:
    """Prefixed elements, single quotes, attributes in another order, other targets:
    the guard finds the same sheets (other writers than Excel do all of these)."""
    from tests.hostile import rewrite_member

    made = good(tmp_path / "made.xlsx", "ODD-1")
    with zipfile.ZipFile(made) as z:
        workbook = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    odd_workbook = (
        workbook.replace(f'xmlns="{ns}"', f'xmlns:x="{ns}"')
        .replace("<workbook ", "<x:workbook ")
        .replace("</workbook>", "</x:workbook>")
        .replace("<sheets>", "<x:sheets>")
        .replace("</sheets>", "</x:sheets>")
        .replace("<sheet ", "<x:sheet ")
        .replace('name="Person"', "name='Person'")
    )

    def reorder(m: re.Match[str]) -> str:
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        target = attrs["Target"]  # absolute made relative, relative made absolute
        target = target.removeprefix("/xl/") if target.startswith("/") else "/xl/" + target
        return f"<Relationship Id='{attrs['Id']}' Target='{target}' Type=\"{attrs['Type']}\"/>"

    odd_rels = re.sub(r"<Relationship ([^>]*?)/?>", reorder, rels)
    assert odd_rels != rels and odd_workbook != workbook
    step = rewrite_member(made, tmp_path / "step.xlsx", "xl/workbook.xml", odd_workbook.encode())
    folder = tmp_path / "in"
    folder.mkdir()
    rewrite_member(step, folder / "odd.xlsx", "xl/_rels/workbook.xml.rels", odd_rels.encode())
    run = score_inputs([folder], adult, jobs=0)
    assert [s.assessment.person_id for s in run.scored] == ["ODD-1"], run.exceptions


def test_zip_writer_copies_parts_as_they_are_and_adds_new_ones(tmp_path: Path) -> None:
    src = good(tmp_path / "a.xlsx", "ZW-1")
    data = src.read_bytes()
    out = tmp_path / "copy.zip"
    with out.open("wb") as fh:
        writer = zip_members.ZipWriter(fh)
        for m in zip_members.members(data):
            writer.copy(data, m)
        writer.add("extra/é.txt", "un café".encode() * 1000)
        writer.close()
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out) as b:
        assert b.testzip() is None
        assert b.namelist() == [*a.namelist(), "extra/é.txt"]
        assert all(a.read(n) == b.read(n) for n in a.namelist())
        assert b.read("extra/é.txt") == "un café".encode() * 1000


@pytest.mark.parametrize("spill_rows", [20_000, 50])
def test_a_csv_that_breaks_part_way_is_rejected_whole(
    tmp_path: Path, adult: PointTable, spill_rows: int
) -> None:
    """A CSV whose 120th row cannot be parsed gives one exception for the file and no
    people from it (none half-read), spilled or not."""
    rows = _bulk_rows(adult, 200)
    text = "\n".join(",".join(r) for r in rows[:120])
    text += (
        '\n"P-bad,unclosed quote'
        + "x" * 200_000
        + "\n"
        + "\n".join(",".join(r) for r in rows[120:])
    )
    bad = tmp_path / "broken.csv"
    bad.write_text(text, encoding="utf-8")
    fine = _write_csv(tmp_path / "fine.csv", [rows[0], *rows[150:160]])
    csv.field_size_limit(100_000)
    try:
        run = score_inputs([bad, fine], adult, jobs=0, spill_rows=spill_rows)
    finally:
        csv.field_size_limit(131_072)
    sources = {Path(s.assessment.source).name for s in run.scored}
    assert sources == {"fine.csv"}
    broken = [i for i in run.exceptions if Path(i.source).name == "broken.csv"]
    assert [i.code for i in broken] == ["unreadable-file"]
    assert not isinstance(run.scored, People)  # nothing spilled survives the rejection


def test_parquet_without_pyarrow_is_one_line_and_writes_nothing(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    src = good(tmp_path / "a.xlsx", "PQ-1")
    out = tmp_path / "allocations.xlsx"
    result = CliRunner().invoke(
        main, ["score", str(src), "-t", str(adult_path), "-o", str(out), "--overflow", "parquet"]
    )
    assert result.exit_code == 2, result.output
    assert "pip install 'ras[parquet]'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_leaves_no_file_beside_the_workbook(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch, failure: type
) -> None:
    """The workbook and the CSVs beside it are committed together or not at all: an
    interruption while the workbook is written leaves neither, nor a temporary file."""
    from ras.io import allocations

    monkeypatch.setattr(allocations, "EXCEL_MAX_ROWS", 41)
    run = score_inputs([_write_csv(tmp_path / "p.csv", _bulk_rows(adult, 60))], adult, jobs=0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = allocations._workbook

    def interrupted(*args: object) -> None:
        real(*args)  # the workbook's temporary file is complete, and the CSVs under way
        raise failure("stop")

    monkeypatch.setattr(allocations, "_workbook", interrupted)
    with pytest.raises(failure):
        write_allocations(run, out_dir / "allocations.xlsx")
    assert list(out_dir.iterdir()) == []
    monkeypatch.setattr(allocations, "_workbook", real)
    assert len(write_allocations(run, out_dir / "allocations.xlsx")) == 3
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "allocations.allocations.csv",
        "allocations.answers.csv",
        "allocations.explanations.csv",
        "allocations.xlsx",
    ]


COLUMNS_TABLE = """
ras_table: 1
name: Columns and rows
version: "1"
currency: GBP
weeks_per_year: 52.143
person_fields:
  - id: client_group
    label: Client group
    options: [learning_disability, mental_health, older_people]
  - {id: living_situation, label: Living situation, options: [own_home, residential],
     required: false}
  - {id: current_annual_cost, label: Current annual cost, type: money, required: false}
funding_streams:
  - {id: health, label: Health}
  - {id: social_care, label: Social care}
domains:
  - id: care
    label: Care
    funding: social_care
    cap: 20
    questions:
      - {id: C1, text: Care one, answers: {None: 0, Some: 6.5, Lots: 14}}
      - {id: C2, text: Care two, answers: {None: 0, Some: 5, Lots: 9.50}, required: false}
  - id: health
    label: Health
    funding: health
    questions:
      - {id: H1, text: Health one, answers: {"0": 0, "1": 4, "2": 8}}
      - {id: H2, text: Health two, answers: {"No": 0, "Yes": 3.0}}
allocation:
  method: rate
  rate: 250.5
  rates_by: client_group
  rates: {mental_health: 230}
adjustments:
  - id: family
    when: [{question: H2, answer: "Yes"}, {field: living_situation, equals: own_home}]
    percent: -12.5
top_ups:
  - {id: extra, when: [{question: C1, answer: Lots}], amount: 1000}
limits:
  floor: 500
  ceiling: 9000
  ceilings_by: {field: living_situation, values: {residential: 6000}}
rounding: 1
range: 0.1
"""


def _messy_rows(n: int, seed: int = 5) -> list[list[str]]:
    """Rows the quick column checks pass, and rows they leave to the full checks."""
    rng = random.Random(seed)
    header = ["Person ID", "client_group", "Living situation", "current_annual_cost"]
    header += ["C1", "C2", "H1", "H2"]
    answers = {
        "C1": ["None", "Some", "Lots", "lots ", "SOME"],
        "C2": ["None", "Some", "Lots", ""],
        "H1": ["0", "1", "2", "2.0", "1.00"],
        "H2": ["No", "Yes", "yes"],
    }
    rows = [header]
    for i in range(n):
        row = [
            f"Q-{i:05d}" if i % 53 else f" Q-{i:05d}",
            rng.choice(["learning_disability", "mental_health", "older_people", "Older people"]),
            rng.choice(["own_home", "residential", "", "Own home"]),
            rng.choice(["", "12000", "£1,250.50", "7000.5", "-3"]),
        ]
        row += [rng.choice(answers[q]) for q in ("C1", "C2", "H1", "H2")]
        if i % 41 == 7:
            row[4] = ""  # a required question left blank
        if i % 67 == 3:
            row = [""] * len(header)  # a blank row
        if i % 89 == 11:
            row[0] = "Q-00001"  # a repeated Person ID
        rows.append(row)
    return rows


def _files(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(folder.iterdir()):
        out[p.name] = _sheets(p) if p.suffix == ".xlsx" else p.read_bytes()
    return out


def _messy_workbook(path: Path, rows: list[list[str]]) -> Path:
    """The rows as a bulk workbook, numbers typed as numbers (and a yes/no cell)."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("People")
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if r and c in (3, 6) and re.fullmatch(r"[0-9]+(\.[0-9]+)?", v):
                ws.write_number(r, c, float(v))  # a cost, or a numeric label, as a number
            elif r and c == 7 and r % 113 == 0:
                ws.write_boolean(r, c, True)  # Yes typed as TRUE: the full checks say so
            elif v:
                ws.write_string(r, c, v)
    wb.close()
    return path


@pytest.mark.parametrize(("overflow", "kind"), [(False, "csv"), (True, "csv"), (False, "xlsx")])
def test_columns_score_and_write_as_rows_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overflow: bool, kind: str
) -> None:
    """A large bulk table is scored a column at a time; every figure, step, exception
    and file is the same as scoring it row by row: half points, caps, two funding
    streams, rates, ceilings, adjustments and top-ups by field and answer, labels typed
    in other cases, numbers for labels, blanks, repeats and broken rows."""
    from ras.io import allocations

    table_path = tmp_path / "table.yaml"
    table_path.write_text(COLUMNS_TABLE, encoding="utf-8")
    table = load_table(table_path)
    rows = _messy_rows(1500)
    if kind == "csv":
        path = _write_csv(tmp_path / "messy.csv", rows)
    else:
        path = _messy_workbook(tmp_path / "messy.xlsx", rows)
    by_rows = score_inputs([path], table, jobs=0, explain=False)
    by_columns = score_inputs([path], table, jobs=0, explain=False, spill_rows=100)
    assert isinstance(by_columns.scored, People) and by_columns.scored.spilled
    assert not isinstance(by_rows.scored, People)
    assert len(by_rows.scored) > 600
    assert sum(s.budget.domain_capped["care"] for s in by_rows.scored) > 10
    assert len({s.budget.funding["health"] for s in by_rows.scored}) > 10
    assert [s.assessment for s in by_columns.scored] == [s.assessment for s in by_rows.scored]
    assert [s.budget for s in by_columns.scored] == [s.budget for s in by_rows.scored]
    key = [(i.source, i.cell, i.code, i.problem) for i in by_rows.issues]
    assert [(i.source, i.cell, i.code, i.problem) for i in by_columns.issues] == key
    assert {i.code for i in by_rows.issues} >= {"duplicate-person", "not-answered"}
    assert by_columns.totals == by_rows.totals
    if overflow:  # every sheet past "Excel's limit": the CSV files beside the workbook
        monkeypatch.setattr(allocations, "EXCEL_MAX_ROWS", 50)
    for run, name in ((by_rows, "rows"), (by_columns, "columns")):
        (tmp_path / name).mkdir()
        write_allocations(run, tmp_path / name / "allocations.xlsx")
    rows, columns = _files(tmp_path / "rows"), _files(tmp_path / "columns")
    assert len(rows) == (4 if overflow else 1)
    assert rows == columns


def test_texts_that_look_like_escapes_read_back_as_they_were_read_in(
    tmp_path: Path, adult: PointTable, adult_path: Path
) -> None:
    """Person IDs with ``_xHHHH_``-like text or control characters come back unchanged.

    Excel's readers turn ``_x0041_`` in cell text into ``A``; the writer escapes such
    text (``_x005F_x0041_``) and writes control characters as escapes, on every sheet a
    person's rows are on, whether a column of text is made at once or value by value.
    """
    ids = ["P_x0041_1", "P_X00ff_2", "bell\x07P3", "P4\rcr", "P_x005F_5", "tab\tP6", "P7"]
    rows = _bulk_rows(adult, len(ids))
    for row, pid in zip(rows[1:], ids, strict=True):
        row[0] = pid
        if "not an answer" in row:
            row[4] = rows[1][4]
    out, src = tmp_path / "allocations.xlsx", _write_csv(tmp_path / "odd.csv", rows)
    result = CliRunner().invoke(
        main, ["score", str(src), "--table", str(adult_path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    sheets = _sheets(out)
    assert sorted(r[0] for r in sheets["Allocations"][1:]) == sorted(ids)
    assert {r[0] for r in sheets["Answers"][1:]} == set(ids)
    assert {r[0] for r in sheets["Explanations"][1:]} == set(ids)
    only_lookalikes = RowWriter([None]).xml([["_x0041_"], ["b_x00e9_"]], 2)
    assert "_x005F_x0041_" in only_lookalikes and "_x005F_x00e9_" in only_lookalikes
