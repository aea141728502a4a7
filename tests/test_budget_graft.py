"""Budget sheets grafted into a copy of the person's workbook (#8): the same pages as a
full openpyxl load and save, the person's own parts kept byte for byte."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from ras.cli import main
from ras.commands.score import run_score
from ras.io import budget_sheets
from ras.io.budget_sheets import CALCULATION, SHEET
from ras.io.graft import CannotGraft, merge_styles
from ras.models.table import PointTable
from tests.hostile import good, rewrite_member


def _look(c: Any) -> tuple[Any, ...]:
    """How a cell looks: number format, font, fill and alignment."""
    fill = c.fill.fgColor.rgb[-6:] if c.fill is not None and c.fill.fill_type == "solid" else None
    align = c.alignment
    return (
        c.number_format,
        bool(c.font and c.font.b),
        bool(c.font and c.font.i),
        float(c.font.sz or 11) if c.font else 11.0,
        fill,
        align.horizontal,
        align.vertical,
        bool(align.wrap_text),
    )


def _cells(path: Path) -> dict[str, Any]:
    """Every sheet's cells (value or formula, and how each looks), page set-up, names."""
    wb = load_workbook(path)
    out: dict[str, Any] = {"order": wb.sheetnames, "active": wb.active.title if wb.active else None}
    for ws in wb.worksheets:
        out[ws.title] = {
            c.coordinate: (c.value, *_look(c))
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.has_style
        }
        out[ws.title + " print area"] = ws.print_area
        out[ws.title + " merged"] = sorted(str(r) for r in ws.merged_cells.ranges)
        setup = ws.page_setup
        out[ws.title + " page"] = (
            setup.paperSize and int(setup.paperSize),
            setup.orientation,
            int(setup.fitToWidth or 1),
            int(setup.fitToHeight or 1),
            bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage),
            ws.oddFooter.left.text,
            ws.oddFooter.right.text,
        )
        # Column widths as they show (XlsxWriter's way adds the cell padding: under 1 more).
        out[ws.title + " widths"] = {
            k: int(d.width) for k, d in ws.column_dimensions.items() if d.customWidth
        }
    return out


def _sheets(tmp_path: Path, adult: PointTable, inputs: list[Path], name: str) -> list[Path]:
    out = tmp_path / name
    outcome = run_score(inputs, adult, None, budget_sheets=out, jobs=0)
    return sorted(outcome.sheets)


def test_grafted_pages_equal_a_full_load_and_save(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    good(src / "a.xlsx", "G-1")
    good(src / "b.xlsx", "G-2", PC1="Lots of support")
    grafted = _sheets(tmp_path, adult, [src], "grafted")
    monkeypatch.setattr(budget_sheets, "_grafted", lambda *a: False)
    full = _sheets(tmp_path, adult, [src], "full")
    assert [p.name for p in grafted] == [p.name for p in full]
    for g, f in zip(grafted, full, strict=True):
        got, want = _cells(g), _cells(f)
        assert got["order"][:2] == [SHEET, CALCULATION]
        assert got == want
        selected = [bool(ws.sheet_view.tabSelected) for ws in load_workbook(g).worksheets]
        assert selected == [True] + [False] * (len(selected) - 1)  # else they open grouped
        with zipfile.ZipFile(g) as zg:
            assert any(n.startswith("xl/worksheets/ras-sheet") for n in zg.namelist())
            assert zg.testzip() is None  # every part's CRC-32 checks out


def test_an_odd_person_id_reads_back_from_both_ways_of_writing_the_pages(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Person ID with a control character and ``_x0041_``-like text is on the pages as
    it was read, grafted or loaded and saved in full (a .xlsm, or a workbook whose
    grafting fails). openpyxl refused the character: the sheet was not written."""
    src = tmp_path / "in"
    src.mkdir()
    good(src / "p.xlsx", "bell_x0007_P_x005F_x0041_")  # text as it is in the XML
    pid = "bell\x07P_x0041_"  # as Excel reads it
    grafted = _sheets(tmp_path, adult, [src], "grafted")
    monkeypatch.setattr(budget_sheets, "_grafted", lambda *a: False)
    full = _sheets(tmp_path, adult, [src], "full")
    assert len(grafted) == len(full) == 1
    for path in (*grafted, *full):
        book = CalamineWorkbook.from_path(str(path))
        for name in (SHEET, CALCULATION, "Person"):
            rows = book.get_sheet_by_name(name).to_python()
            assert rows[1][:2] == ["Person ID", pid], (path.parent.name, name)


def test_the_persons_own_parts_are_copied_byte_for_byte(tmp_path: Path, adult: PointTable) -> None:
    """A part openpyxl does not model (custom XML, as SharePoint adds) survives."""
    made = good(tmp_path / "made.xlsx", "CX-1")
    src = tmp_path / "in"
    src.mkdir()
    person = rewrite_member(
        made, src / "cx.xlsx", "", b"", {"customXml/item1.xml": b"<records><r id='1'/></records>"}
    )
    (sheet,) = _sheets(tmp_path, adult, [src], "out")
    with zipfile.ZipFile(person) as zs, zipfile.ZipFile(sheet) as zo:
        names = set(zo.namelist())
        assert zo.read("customXml/item1.xml") == zs.read("customXml/item1.xml")
        for n in zs.namelist():
            if n.startswith(("xl/worksheets/sheet", "xl/sharedStrings", "xl/theme/")):
                data = zs.read(n).replace(b'tabSelected="1"', b'tabSelected="0"')
                assert n in names and zo.read(n) == data, n
    out = load_workbook(sheet)
    assert out.sheetnames[:2] == [SHEET, CALCULATION]
    assert out["Person"]["B2"].value == "CX-1"


def _strict_copy(src: Path, dest: Path) -> Path:
    """``src`` as Excel's "Strict Open XML Spreadsheet" writes it: the ISO namespaces."""
    spaces = [
        (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
         b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
        (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
         b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    ]  # fmt: skip
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename != "[Content_Types].xml":
                for a, b in spaces:
                    data = data.replace(a, b)
            zout.writestr(item, data)
    return dest


def test_a_strict_open_xml_workbook_is_never_half_copied(
    tmp_path: Path, adult: PointTable, adult_path: Path
) -> None:
    """openpyxl reads no sheet of a Strict Open XML workbook: the budget sheet held ras's
    two pages and none of the person's own, without a word."""
    src = tmp_path / "in"
    src.mkdir()
    strict = _strict_copy(good(tmp_path / "made.xlsx", "ST-1"), src / "strict.xlsx")
    good(src / "plain.xlsx", "ST-2")
    before = strict.read_bytes()
    outcome = run_score([src], adult, None, budget_sheets=tmp_path / "out", jobs=0)
    assert len(outcome.run.scored) == 2  # calamine reads it: the person is scored
    (issue,) = [i for i in outcome.run.issues if i.code == "sheet-not-copied"]
    assert issue.person_id == "ST-1" and "Strict Open XML" in issue.problem
    # Scored, not rejected (SPEC §4.4: one or the other); its sheet is counted apart.
    assert (outcome.run.rejected(), outcome.run.sheets_not_written()) == (0, 1)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xlsx")) == ["ST-2.xlsx"]
    outcome = run_score([src], adult, None, in_place=True, jobs=0)
    assert [i.person_id for i in outcome.run.issues if i.code == "sheet-not-copied"] == ["ST-1"]
    assert strict.read_bytes() == before and not (src / "strict.backup.xlsx").exists()
    assert SHEET in load_workbook(src / "plain.xlsx").sheetnames
    args = ["score", str(src), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
    r = CliRunner().invoke(main, [*args, "--budget-sheets", str(tmp_path / "again")])
    assert r.exit_code == 1, r.output
    assert (
        "2 files: 2 people scored, none rejected, 0 warnings; 1 budget sheet not written "
        "(see the Exceptions sheet)"
    ) in r.output
    summary = dict(
        (row[0], row[1])
        for row in CalamineWorkbook.from_path(str(tmp_path / "a.xlsx"))
        .get_sheet_by_name("Summary")
        .to_python()
        if row and row[0]
    )
    assert summary["People scored"] == 2 and summary["Exceptions (inputs rejected)"] == 0


def test_a_workbook_that_has_the_pages_already_is_loaded_in_full(
    tmp_path: Path, adult: PointTable
) -> None:
    """--in-place twice: the second run replaces the pages (the full load and save)."""
    src = tmp_path / "in"
    src.mkdir()
    person = good(src / "p.xlsx", "IP-1")
    for _ in range(2):
        run_score([src], adult, None, in_place=True, jobs=0)
    wb = load_workbook(person)
    assert wb.sheetnames.count(SHEET) == 1 and wb.sheetnames[:2] == [SHEET, CALCULATION]
    assert (src / "p.backup.xlsx").exists()


def test_styles_merge_moves_formats_past_the_workbooks_own() -> None:
    base = (
        '<styleSheet xmlns="x"><fonts count="1"><font><sz val="10"/></font></fonts>'
        '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
        '<cellXfs count="2"><xf numFmtId="0" fontId="0"/><xf numFmtId="170" fontId="0"/>'
        "</cellXfs></styleSheet>"
    )
    extra = (
        '<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="0.0"/></numFmts>'
        '<fonts count="2"><font/><font><b val="1"/></font></fonts><fills count="1"><fill/>'
        '</fills><borders count="1"><border/></borders><cellXfs count="1">'
        '<xf numFmtId="164" fontId="1" fillId="0" borderId="0" xfId="0"/></cellXfs></styleSheet>'
    )
    merged, offset = merge_styles(base, extra)
    assert offset == 2
    assert '<numFmts count="1"><numFmt numFmtId="171" formatCode="0.0"/></numFmts><fonts' in merged
    assert '<fonts count="3">' in merged and '<cellXfs count="3">' in merged
    assert '<xf numFmtId="171" fontId="2" fillId="1" borderId="1" xfId="0"/>' in merged
    with pytest.raises(CannotGraft):
        merge_styles(base.replace("<styleSheet", "<x:styleSheet"), extra)


@pytest.mark.libreoffice
def test_a_libreoffice_workbook_takes_the_graft(
    tmp_path: Path, adult: PointTable, need_soffice: str
) -> None:
    """A person's workbook saved by LibreOffice: grafted, and LibreOffice opens the result."""
    src = tmp_path / "made"
    src.mkdir()
    good(src / "lo.xlsx", "LO-1")
    conv = tmp_path / "in"
    subprocess.run(
        [need_soffice, "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
         str(conv), str(src / "lo.xlsx")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (sheet,) = _sheets(tmp_path, adult, [conv], "out")
    with zipfile.ZipFile(sheet) as z:
        assert any(n.startswith("xl/worksheets/ras-sheet") for n in z.namelist())
    back = tmp_path / "back"
    subprocess.run(
        [need_soffice, "--headless", "--convert-to", "csv", "--outdir", str(back), str(sheet)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = (back / (sheet.stem + ".csv")).read_text(encoding="utf-8", errors="replace")
    assert "Your indicative budget" in text  # the first sheet shown is the person's page
    shutil.rmtree(back)


def test_page_text_reads_back_as_written(tmp_path: Path) -> None:
    """Text the pages hold comes back from Excel's readers as it went in.

    Escapes, a control character (as Excel writes it: ``_x0007_``), text that looks like
    such an escape (``_x005F_x0041_``), spaces at either end, and text past Excel's cell
    limit (cut to it). python-calamine and LibreOffice decode the ``_xHHHH_`` escapes as
    Excel does; openpyxl leaves them in inline strings, so it checks the rest.
    """
    from python_calamine import CalamineWorkbook

    from ras.io.quick_book import MAX_CELL_TEXT, QuickBook

    texts = {
        "A1": 'Fish & chips <b> "quoted"',
        "A2": "bell\x07here",
        "A3": "literal _x0041_ stays",
        "A4": "  spaced  ",
        "A5": "£ and ✓ and 日本",
        "A6": "x" * (MAX_CELL_TEXT + 10),
    }
    book = QuickBook()
    ws = book.create_sheet("Page")
    for ref, text in texts.items():
        ws[ref] = text
        ws[ref].data_type = "s"
    ws["B1"] = "=A1"  # a formula: no cached value, worked out on load
    ws["B2"] = 12.5
    ws["B3"] = True
    ws["B4"] = '="_x0041_ & "&A1'  # a formula's text has no _xHHHH_ escapes
    corner = book.create_sheet("Corner")
    corner["C1"], corner["A2"] = 1, 2
    path = tmp_path / "page.xlsx"
    with path.open("wb") as fh:
        book.save(fh)
    want = {**texts, "A6": "x" * MAX_CELL_TEXT}
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Page").to_python()
    assert [r[0] for r in rows] == list(want.values())
    assert [r[1] for r in rows[1:3]] == [12.5, True]
    got = load_workbook(path)["Page"]
    plain = {ref: text for ref, text in want.items() if ref not in ("A2", "A3")}
    assert {ref: got[ref].value for ref in plain} == plain
    assert (got["B1"].value, got["B2"].value, got["B3"].value) == ("=A1", 12.5, True)
    assert got["B4"].value == '="_x0041_ & "&A1'
    with zipfile.ZipFile(path) as z:  # the used range: first row and first column, to last
        assert b'<dimension ref="A1:C2"/>' in z.read("xl/worksheets/sheet2.xml")
