"""Reading real and hostile inputs: every input is scored or an exception (SPEC §4, §12)."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from ras.cells import col_letters
from ras.cli import main
from ras.commands.score import score_inputs
from ras.errors import Severity
from ras.models.table import PointTable
from tests import hostile
from tests.helpers import write_assessment
from tests.hostile import GOOD_ANSWERS, good, person


def test_every_hostile_file_is_an_exception_and_good_ones_score(
    tmp_path: Path, adult: PointTable, adult_path: Path
) -> None:
    folder = tmp_path / "in"
    expect = hostile.build(folder)
    good(folder / "ok-1.xlsx", "OK-1")
    (folder / "sub").mkdir()
    good(folder / "sub" / "ok-2.xlsx", "OK-2")
    (folder / "~$ok-1.xlsx").write_bytes(b"lock")
    (folder / ".hidden.xlsx").write_bytes(b"junk")
    out = tmp_path / "allocations.xlsx"
    result = CliRunner().invoke(
        main, ["score", str(folder), "--table", str(adult_path), "--out", str(out), "--jobs", "2"]
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    wb = CalamineWorkbook.from_path(str(out))
    alloc = wb.get_sheet_by_name("Allocations").to_python()
    ids = sorted(r[0] for r in alloc[1:])
    assert ids == ["DUP-1", "OK-1", "OK-2"]
    exc = wb.get_sheet_by_name("Exceptions").to_python()
    assert exc[0] == ["Source", "Sheet", "Cell", "Person ID", "Problem", "How to fix"]
    rows = exc[1:]
    for name, words in expect.items():
        hits = [r for r in rows if Path(str(r[0])).name == name]
        assert hits, f"{name} is not in Exceptions"
        assert any(words in str(r[4]) or words in str(r[5]) for r in hits), (name, hits)
        # One line on stderr names the file.
        assert any(name in line for line in result.output.splitlines()), name
    # No input value is echoed whole: at most 80 characters of it, everywhere.
    assert max(len(str(c)) for r in rows for c in r) <= 600
    assert max(len(line) for line in result.output.splitlines()) <= 1000
    assert "B" * 81 not in result.output
    cells = {Path(str(r[0])).name: (r[1], r[2]) for r in rows}
    assert cells["unknown-answer.xlsx"] == ("Questionnaire", "D2")
    assert cells["missing-answer.xlsx"] == ("Questionnaire", "D12")
    assert cells["no-id.xlsx"] == ("Person", "B2")
    assert cells["dup-b.xlsx"] == ("Person", "B2")  # was the Questionnaire, with no cell
    assert cells["formula-nocache.xlsx"] == ("Questionnaire", "D2")
    # Lock and hidden files are skipped, not reported as exceptions.
    assert not any(Path(str(r[0])).name.startswith(("~$", ".")) for r in rows)
    run_rows = wb.get_sheet_by_name("Run").to_python()
    assert any(r[0] == "Skipped (lock file)" for r in run_rows)
    # The same problems by code (what programs and tests match; the wording may change).
    codes: dict[str, set[str]] = {}
    for issue in score_inputs([folder], adult, jobs=0).exceptions:
        codes.setdefault(Path(issue.source).name, set()).add(issue.code)
    assert codes["no-id.xlsx"] == {"missing-person-id"}
    assert codes["dup-b.xlsx"] == {"duplicate-person"}
    assert codes["huge-answer.xlsx"] == codes["unknown-answer.xlsx"] == {"not-an-option"}
    assert codes["missing-answer.xlsx"] == {"not-answered"}
    assert codes["formula-nocache.xlsx"] == {"formula-without-value"}
    assert codes["merged.xlsx"] == {"merged-cell"}
    assert codes["zipbomb.xlsx"] == codes["old.xls"] == {"unusable-file"}


def test_inputs_are_never_modified(tmp_path: Path, adult_path: Path) -> None:
    p = good(tmp_path / "a.xlsx", "A-1")
    before = p.read_bytes(), p.stat().st_mtime_ns
    CliRunner().invoke(
        main,
        [
            "score",
            str(p),
            "-t",
            str(adult_path),
            "-o",
            str(tmp_path / "o.xlsx"),
            "--budget-sheets",
            str(tmp_path / "sheets"),
        ],
    )
    assert (p.read_bytes(), p.stat().st_mtime_ns) == before


def test_formula_with_cached_value_is_used_with_a_warning(
    tmp_path: Path, adult: PointTable
) -> None:
    path = tmp_path / "cached.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Person")
    ws.write_row(0, 0, ["Field", "Value"])
    ws.write_row(1, 0, ["Person ID", "FC-1"])
    ws.write_row(2, 0, ["Client group", "older_people"])
    q = wb.add_worksheet("Questionnaire")
    q.write_row(0, 0, ["Domain", "Question ID", "Question", "Answer"])
    for r, (qid, ans) in enumerate(GOOD_ANSWERS.items(), start=1):
        q.write(r, 1, qid)
        if qid == "PC1":
            q.write_formula(r, 3, '="Lots of support"', None, "Lots of support")
        else:
            q.write(r, 3, ans)
    wb.close()
    run = score_inputs([path], adult, jobs=0)
    assert len(run.scored) == 1
    assert run.scored[0].assessment.answers["PC1"] == "Lots of support"
    assert [(w.code, w.cell) for w in run.warnings] == [("formula-value-used", "D2")]


def test_macro_enabled_workbook_is_read_with_warning(tmp_path: Path, adult: PointTable) -> None:
    src = good(tmp_path / "m.xlsx", "MAC-1")
    dest = tmp_path / "m.xlsm"
    hostile.rewrite_member(src, dest, "", b"", extra={"xl/vbaProject.bin": b"\x00VBA" * 100})
    run = score_inputs([dest], adult, jobs=0)
    assert [s.assessment.person_id for s in run.scored] == ["MAC-1"]
    assert [w.code for w in run.warnings] == ["macros-ignored"]


def test_labels_trimmed_case_insensitive_numbers_and_reordered_rows(
    tmp_path: Path, adult: PointTable
) -> None:
    answers = {k: f"  {v.upper()} " for k, v in GOOD_ANSWERS.items()}
    write_assessment(
        tmp_path / "a.xlsx",
        {"Person ID": 1001, " client GROUP ": "Older_People", "Current annual cost": "£12,500.50"},
        answers,
        extra_sheet=True,
        shuffle=True,
    )
    run = score_inputs([tmp_path / "a.xlsx"], adult, jobs=0)
    assert not run.exceptions, run.exceptions
    a = run.scored[0].assessment
    assert a.person_id == "1001"
    assert a.fields["client_group"] == "older_people"
    assert a.fields["current_annual_cost"] == Decimal("12500.50")
    assert a.answers["PC1"] == "Some support"


def test_number_typed_for_numeric_label(tmp_path: Path) -> None:
    from ras.io.table_file import load_table

    t = tmp_path / "t.yaml"
    t.write_text(
        'ras_table: 1\nname: N\nversion: "1"\ndomains:\n  - id: d\n    label: D\n    questions:\n'
        '      - {id: Q1, text: q, answers: {"0": 0, "1": 5, "2": 10}}\n'
        "allocation: {method: rate, rate: 100}\n",
        encoding="utf-8",
    )
    table = load_table(t)
    write_assessment(tmp_path / "n.xlsx", {"Person ID": "N1"}, {"Q1": 2})
    write_assessment(tmp_path / "m.xlsx", {"Person ID": "N2"}, {"Q1": "1"})
    run = score_inputs([tmp_path / "n.xlsx", tmp_path / "m.xlsx"], table, jobs=0)
    assert [s.budget.annual for s in run.scored] == [Decimal(1000), Decimal(500)]


def test_answers_with_autocorrected_quotes_and_dashes_match(tmp_path: Path) -> None:
    """Excel's autocorrect makes "Don't know" typed in a cell "Don’t know" (and "-" a
    dash): refused as "not allowed", next to a list showing the same words."""
    from ras.io.table_file import load_table

    t = tmp_path / "t.yaml"
    t.write_text(
        'ras_table: 1\nname: N\nversion: "1"\ndomains:\n  - id: d\n    label: D\n    questions:\n'
        '      - {id: Q1, text: q, answers: {"Don\'t know": 0, Yes - often: 5, No: 1}}\n'
        "allocation: {method: rate, rate: 100}\n",
        encoding="utf-8",
    )
    table = load_table(t)
    write_assessment(tmp_path / "a.xlsx", {"Person ID": "N1"}, {"Q1": "Don\u2019t know"})
    write_assessment(tmp_path / "b.xlsx", {"Person ID": "N2"}, {"Q1": "Yes \u2013 often"})
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("Person ID,Q1\nN3,Don\u2019t  KNOW\n", encoding="utf-8")
    run = score_inputs([tmp_path / "a.xlsx", tmp_path / "b.xlsx", csv_path], table, jobs=0)
    assert not run.exceptions, run.exceptions
    assert [s.assessment.answers["Q1"] for s in run.scored] == [
        "Don't know",
        "Yes - often",
        "Don't know",
    ]


def test_bulk_csv_and_xlsx_name_row_and_column(tmp_path: Path, adult: PointTable) -> None:
    header = ["Person ID", "client_group", "Current annual cost", *GOOD_ANSWERS]
    rows = [
        ["B-1", "mental_health", "9000", *GOOD_ANSWERS.values()],
        ["B-2", "mental_health", "", *GOOD_ANSWERS.values()],
        ["B-3", "nobody", "", *GOOD_ANSWERS.values()],
        ["B-4", "mental_health", "1e300", *GOOD_ANSWERS.values()],  # above £100bn: a slip
    ]
    rows[1][header.index("KS1")] = "Sometimes?"
    csv_path = tmp_path / "bulk.csv"
    csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    run = score_inputs([csv_path], adult, jobs=0)
    assert [s.assessment.person_id for s in run.scored] == ["B-1"]
    problems = {(i.person_id, i.cell): i.code for i in run.exceptions}
    ks1 = header.index("KS1")
    assert problems == {
        ("B-2", f"{chr(65 + ks1)}3"): "not-an-option",
        ("B-3", "B4"): "not-an-option",
        ("B-4", "C5"): "not-a-number",
    }
    assert {i.severity for i in run.exceptions} == {Severity.ERROR}
    assert run.scored[0].assessment.row == 2
    # The same table as xlsx (first sheet) gives the same result.
    xlsx = tmp_path / "bulk.xlsx"
    wb = xlsxwriter.Workbook(str(xlsx))
    ws = wb.add_worksheet("People")
    for r, row in enumerate([header, *rows]):
        ws.write_row(r, 0, row)
    wb.close()
    run2 = score_inputs([xlsx], adult, jobs=0)
    assert [s.budget.annual for s in run2.scored] == [s.budget.annual for s in run.scored]
    assert {(i.person_id, i.cell) for i in run2.exceptions} == set(problems)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ("KS1", "the column 'KS1' appears twice (first at "),  # the first was used
        ("person id", "the column 'person id' appears twice (first at A1)"),
        ("Client group", "'Client group' has two columns, by its id"),
    ],
)
def test_a_heading_ras_reads_twice_in_a_bulk_table_is_named(
    tmp_path: Path, adult: PointTable, extra: str, said: str
) -> None:
    """Two columns headed KS1 (a pasted block): the first was scored, without a word."""
    header = ["Person ID", "client_group", *GOOD_ANSWERS, "Notes", "Notes", extra]
    row = ["B-1", "mental_health", *GOOD_ANSWERS.values(), "", "", "x"]
    csv_path = tmp_path / "bulk.csv"
    csv_path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    run = score_inputs([csv_path], adult, jobs=0)
    assert not run.scored
    (issue,) = run.exceptions
    assert issue.code == "column-twice" and said in issue.problem
    assert issue.cell == f"{chr(65 + len(header) - 1)}1"  # the later heading's cell
    header[-1] = "Something else"  # "Notes" twice is not read: no problem
    csv_path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    assert [s.assessment.person_id for s in score_inputs([csv_path], adult, jobs=0).scored] == [
        "B-1"
    ]


def test_a_second_person_pasted_below_the_first_is_named(tmp_path: Path, adult: PointTable) -> None:
    """A Person sheet with a second Person ID (a second person's details pasted below
    the first): the first was scored, the second dropped without a word."""
    from openpyxl import load_workbook

    path = good(tmp_path / "two.xlsx", "P-1")
    wb = load_workbook(path)
    ws = wb["Person"]
    ws.append([])
    ws.append(["Person ID", "P-2"])
    ws.append(["Client group", "learning_disability"])  # the same value: no problem
    n = ws.max_row
    wb.save(path)
    run = score_inputs([path], adult, jobs=0)
    assert not run.scored
    (issue,) = run.exceptions
    assert (issue.code, issue.sheet, issue.cell) == ("field-twice", "Person", f"B{n - 1}")
    assert "'Person ID' is given twice, with another value (first at B2)" in issue.problem
    path = good(tmp_path / "again.xlsx", "P-3")  # the same field twice, alike: still one
    wb = load_workbook(path)
    wb["Person"].append(["Person ID", "P-3"])
    wb.save(path)
    assert [s.assessment.person_id for s in score_inputs([path], adult, jobs=0).scored] == ["P-3"]


@pytest.mark.parametrize("heading", ["person_id", "PersonID", "Person-ID"])
def test_a_person_id_heading_typed_as_an_id_is_read(
    tmp_path: Path, adult: PointTable, heading: str
) -> None:
    """Person fields are headed by their id or label (client_group); `person_id`, as an
    export names the ID column, was "no 'Person ID' column": nobody was scored."""
    header = [heading, "client_group", *GOOD_ANSWERS]
    rows = [[f"B-{i}", "mental_health", *GOOD_ANSWERS.values()] for i in range(2)]
    csv_path = tmp_path / "bulk.csv"
    csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    run = score_inputs([csv_path], adult, jobs=0)
    assert not run.exceptions
    assert [s.assessment.person_id for s in run.scored] == ["B-0", "B-1"]


def test_a_person_id_a_spreadsheet_took_for_a_date_is_warned_of(
    tmp_path: Path, adult: PointTable
) -> None:
    """An ID such as 1-12 typed into a General cell becomes 1 December: it was scored as
    '2026-12-01', without a word, and matched no one in the registers."""
    from openpyxl import Workbook

    december = dt.datetime(2026, 12, 1)
    one = write_assessment(tmp_path / "one.xlsx", person(december), GOOD_ANSWERS)
    header = ["Person ID", "client_group", *GOOD_ANSWERS]
    wb = Workbook()
    for r in [header, ["B-1", "mental_health", *GOOD_ANSWERS.values()]] + [
        [dt.time(3, 1), "mental_health", *GOOD_ANSWERS.values()]  # "3:01"
    ]:
        wb.active.append(r)
    bulk = tmp_path / "bulk.xlsx"
    wb.save(bulk)
    run = score_inputs([one, bulk], adult, jobs=0)
    assert [s.assessment.person_id for s in run.scored] == ["2026-12-01", "B-1", "03:01:00"]
    assert [(w.code, w.source, w.cell, w.person_id) for w in run.warnings] == [
        ("id-is-a-date", str(one), "B2", "2026-12-01"),
        ("id-is-a-date", str(bulk), "A3", "03:01:00"),
    ]
    assert run.warnings[0].problem == (
        "the Person ID is a date or time (2026-12-01): a spreadsheet turns an ID such as "
        "1-12 into one, and it then matches no one else's"
    )
    assert run.warnings[0].fix.startswith("format the column (or cell) as Text")


@pytest.mark.parametrize(("kind", "spill_rows"), [("csv", 20_000), ("xlsx", 20_000), ("csv", 3)])
def test_a_bulk_cell_showing_an_error_is_named_as_one(
    tmp_path: Path, adult: PointTable, kind: str, spill_rows: int
) -> None:
    """A table made with look-ups keeps #N/A where one failed: in a workbook it read as
    an empty cell (an optional cost or answer quietly missing); in a CSV saved from it, a
    Person ID of #N/A was scored as a person called '#N/A'."""
    header = ["Person ID", "client_group", "current_annual_cost", *GOOD_ANSWERS]
    rows = [[f"B-{i}", "mental_health", 1000, *GOOD_ANSWERS.values()] for i in range(4)]
    rows[1][0] = "#N/A"  # B-1's ID
    rows[2][2] = "#DIV/0!"  # B-2's cost (optional)
    rows[3][header.index("CO2")] = "#N/A"  # B-3's answer to CO2 (optional)
    path = tmp_path / f"bulk.{kind}"
    if kind == "csv":
        lines = [",".join(map(str, r)) for r in [header, *rows]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        from openpyxl import Workbook

        wb = Workbook()
        for r in [header, *rows]:
            wb.active.append(r)  # openpyxl saves "#N/A" as an error value (t="e")
        wb.save(path)
    run = score_inputs([path], adult, jobs=0, spill_rows=spill_rows)  # 3: a column at a time
    assert [s.assessment.person_id for s in run.scored] == ["B-0"]
    assert [(i.code, i.where.cell, i.problem) for i in run.exceptions] == [
        ("cell-error", "A3", "the Person ID shows the error '#N/A' instead of a value"),
        ("cell-error", "C4", "'Current annual cost' shows the error '#DIV/0!' instead of a value"),
        ("cell-error", f"{col_letters(header.index('CO2'))}5",
         "the answer to CO2 shows the error '#N/A' instead of a value"),
    ]  # fmt: skip


def test_a_large_bulk_sheet_with_too_many_error_cells_is_refused_not_read_as_blank(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large sheet's scan listed at most MAX_ERRORS error cells: the rest read as empty
    cells, without a word (an optional cost or answer quietly missing)."""
    from openpyxl import Workbook

    import ras.io.guard as guard
    import ras.io.zip_members as zip_members

    header = ["Person ID", "client_group", "current_annual_cost", *GOOD_ANSWERS]
    rows = [[f"B-{i}", "mental_health", 1000, *GOOD_ANSWERS.values()] for i in range(80)]
    for i in range(0, 80, 16):
        rows[i][2] = "#N/A"  # five people's current cost (optional)
    wb = Workbook()
    for r in [header, *rows]:
        wb.active.append(r)
    path = tmp_path / "bulk.xlsx"
    wb.save(path)
    monkeypatch.setattr(zip_members, "CHUNK", 4096)  # the sheet is read as a large one
    monkeypatch.setattr(guard, "MAX_ERRORS", 6)
    run = score_inputs([path], adult, jobs=0)
    assert len(run.scored) == 75
    assert [i.where.cell for i in run.exceptions] == [f"C{i + 2}" for i in range(0, 80, 16)]
    guard._SEEN.clear()
    monkeypatch.setattr(guard, "MAX_ERRORS", 4)
    run = score_inputs([path], adult, jobs=0)
    assert not run.scored
    assert [(i.problem, i.fix) for i in run.exceptions] == [
        (
            "sheet 'Sheet' has 4 or more cells showing an error (#N/A, #DIV/0!, ...), more "
            "than ras names one by one",
            "correct the formulas or their look-ups, or type the values, and save it again",
        )
    ]


def test_a_required_column_missing_from_a_bulk_table_is_one_problem(
    tmp_path: Path, adult: PointTable
) -> None:
    """Without a KS1 column, every row was its own "no column for question KS1": a
    100,000-row table gave 100,000 lines of Exceptions saying one thing."""
    answers = {k: v for k, v in GOOD_ANSWERS.items() if k not in ("KS1", "CO2")}  # CO2: optional
    header = ["Person ID", "client_group", *answers]
    rows = [[f"B-{i}", "mental_health", *answers.values()] for i in range(3)]
    csv_path = tmp_path / "bulk.csv"
    csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    run = score_inputs([csv_path], adult, jobs=0)
    assert not run.scored
    (issue,) = run.exceptions
    assert (issue.code, issue.where.row) == ("column-missing", 1)
    assert issue.problem == "no column for the required question KS1"
    header.append("KS1")  # given: the optional CO2 may still be left out
    rows = [[*r, GOOD_ANSWERS["KS1"]] for r in rows]
    csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    run = score_inputs([csv_path], adult, jobs=0)
    assert not run.exceptions and len(run.scored) == 3


def test_worker_crash_loses_one_file_not_the_run(tmp_path: Path) -> None:
    from ras.parallel import run_parallel
    from tests.crashy import read_or_crash

    files = [str(good(tmp_path / f"p{i}.xlsx", f"P{i}")) for i in range(6)]
    files.insert(3, str(tmp_path / "CRASH.xlsx"))
    results = run_parallel(read_or_crash, files, lambda f: f"crashed:{Path(f).name}", jobs=2)
    assert results[3] == "crashed:CRASH.xlsx"
    assert [r for i, r in enumerate(results) if i != 3] == [f"read:p{i}.xlsx" for i in range(6)]


def test_text_from_inputs_is_written_as_text(tmp_path: Path, adult_path: Path) -> None:
    pid = '=HYPERLINK("http://x","y")'
    write_assessment(tmp_path / "h.xlsx", person(pid), GOOD_ANSWERS)
    out = tmp_path / "o.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "score",
            str(tmp_path / "h.xlsx"),
            "-t",
            str(adult_path),
            "-o",
            str(out),
            "--budget-sheets",
            str(tmp_path / "s"),
        ],
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as z:
        sheet = z.read("xl/worksheets/sheet2.xml").decode()  # Allocations
        shared = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in shared
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Allocations").to_python()
    assert rows[1][0] == pid
    sheets = list((tmp_path / "s").glob("*.xlsx"))
    assert len(sheets) == 1
    from openpyxl import load_workbook

    ws = load_workbook(sheets[0])["Indicative budget"]
    assert ws["B2"].value == pid and ws["B2"].data_type == "s"


def test_read_only_output_folder(tmp_path: Path, adult_path: Path) -> None:
    import os

    p = good(tmp_path / "a.xlsx", "A-1")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        # As root, permissions do not bind: /proc is a read-only file system instead.
        target = ro if not os.access(ro, os.W_OK) else Path("/proc/ras-test")
        r = CliRunner().invoke(
            main, ["score", str(p), "-t", str(adult_path), "-o", str(target / "o.xlsx")]
        )
        assert r.exit_code == 1 and "cannot write to the folder" in r.output, r.output
        assert "Traceback" not in r.output
        assert not list(ro.iterdir())
    finally:
        ro.chmod(0o700)


def test_locked_output_file_is_not_touched(tmp_path: Path, adult_path: Path) -> None:
    p = good(tmp_path / "a.xlsx", "A-1")
    out = tmp_path / "o.xlsx"
    out.write_bytes(b"previous")
    (tmp_path / "~$o.xlsx").write_bytes(b"lock")
    r = CliRunner().invoke(main, ["score", str(p), "-t", str(adult_path), "-o", str(out)])
    assert r.exit_code == 1
    assert "open in another program" in r.output and "Traceback" not in r.output
    assert out.read_bytes() == b"previous"
    assert not list(tmp_path.glob(".ras-*"))


def test_parts_checked_once_are_checked_again_when_their_bytes_differ(
    tmp_path: Path, adult: PointTable
) -> None:
    """The guard remembers parts that passed by their exact bytes, never by their names.

    Workbooks from one template share parts byte for byte and those are checked once;
    a workbook that differs from them only in an entity-declaring styles part, or in a
    stray cell far away on a sheet, is still refused, in either order.
    """
    base = good(tmp_path / "base.xlsx", "SEEN-1")
    with zipfile.ZipFile(base) as z:
        styles = z.read("xl/styles.xml")
        sheet = z.read("xl/worksheets/sheet1.xml")
    evil_styles = b'<!DOCTYPE s [<!ENTITY e "x">]>' + styles
    assert evil_styles != styles
    dtd = hostile.rewrite_member(base, tmp_path / "dtd.xlsx", "xl/styles.xml", evil_styles)
    far = sheet.replace(
        b"</sheetData>", b'<row r="900000"><c r="XFD900000"><v>1</v></c></row></sheetData>'
    )
    stray = hostile.rewrite_member(base, tmp_path / "stray.xlsx", "xl/worksheets/sheet1.xml", far)
    twin = good(tmp_path / "twin.xlsx", "SEEN-2")  # the same template: parts in common
    for order in ([base, dtd, stray, twin], [dtd, stray, twin, base]):
        run = score_inputs(order, adult, jobs=0)
        assert sorted(s.assessment.source for s in run.scored) == sorted([str(base), str(twin)])
        problems = {Path(i.where.source).name: i.problem for i in run.issues}
        assert "entities" in problems["dtd.xlsx"], problems
        assert "XFD900000" in problems["stray.xlsx"], problems


def test_a_blank_copy_of_the_template_is_one_exception(
    tmp_path: Path, adult: PointTable, adult_path: Path
) -> None:
    """A blank `ras template assessment` copied among the completed ones gave 15 lines,
    one per field and question. It is one: the assessment is blank. One filled cell is
    enough for the detailed problems again (it is then a half-done assessment)."""
    from ras.io.templates import write_assessment_template

    folder = tmp_path / "completed"
    folder.mkdir()
    write_assessment_template(adult, folder / "blank.xlsx")
    write_assessment_template(adult, folder / "started.xlsx", values={"person_id": "P7"})
    write_assessment(folder / "done.xlsx", person("P1"), GOOD_ANSWERS)
    run = score_inputs([folder], adult, jobs=0)
    by_file: dict[str, list[str]] = {}
    for issue in run.exceptions:
        by_file.setdefault(Path(issue.source).name, []).append(issue.code)
    assert by_file["blank.xlsx"] == ["blank-assessment"]
    assert "missing-person-id" not in by_file["started.xlsx"]
    assert "not-answered" in by_file["started.xlsx"] and len(by_file["started.xlsx"]) > 5
    assert [s.assessment.person_id for s in run.scored] == ["P1"]
    r = CliRunner().invoke(main, ["validate", str(folder / "blank.xlsx"), "-t", str(adult_path)])
    assert r.exit_code == 1
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("error: ")]
    assert "cell B2: the assessment is blank: no Person ID, no details and no answers" in line
