"""The workbook writer fits columns to what they show (issue 12: no ``###``, nothing cut)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ras.io.table_file import load_table
from ras.io.xlsx import MAX_WIDTH, MONEY_WIDTH, Book
from tests.conftest import Demo


def _widths(path: Path, sheet: str) -> dict[str, float]:
    ws = load_workbook(path)[sheet]
    return {k: v.width for k, v in ws.column_dimensions.items()}


def test_columns_fit_their_content(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    book = Book(path)
    long_status = "TIME LIMIT (gap 0.042 %); TARGET NOT MET"
    book.write_table(
        "Runs",
        ["Run", "Status", "Savings (£)", "Share", "Problem", "Count"],
        [
            ["base", "OPTIMAL", Decimal("12.50"), 0.5, "", 3],
            ["stretch", long_status, Decimal("123456789.12"), 0.125, "x" * 500, 1_234_567],
        ],
        formats={"Savings (£)": book.money, "Share": book.percent},
        widths={"Status": 12},
    )
    book.close()
    w = _widths(path, "Runs")
    assert w["B"] >= len(long_status)  # wider than asked: the status shows whole
    assert w["C"] >= max(MONEY_WIDTH, len("£123,456,789.12"))
    assert MAX_WIDTH <= w["E"] < MAX_WIDTH + 1  # long text is capped (XlsxWriter adds 0.71)
    assert w["F"] >= len("1,234,567")
    assert 10 <= w["A"] < 11  # short content keeps the default


def test_widths_come_from_the_content_of_large_tables_too(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    book = Book(path)
    rows = [[f"P-{i}", "short"] for i in range(3000)]
    rows[2500][1] = "a much longer value near the end"
    book.write_table("People", ["Person ID", "Note"], rows)
    book.close()
    assert _widths(path, "People")["B"] >= len("a much longer value near the end")


def test_equal_formats_of_two_columns_reach_every_row(tmp_path: Path) -> None:
    """Two columns given equal but separate formats keep them past the first row.

    XlsxWriter writes equal formats once and records the id on the first only; the rows
    after the first are written by ras itself (the Solver sheet's Bound lost its format).
    """
    path = tmp_path / "w.xlsx"
    book = Book(path)
    book.write_table(
        "Solver",
        ["Stage", "Objective", "Bound"],
        [["a", 360.0, 360.0], ["b", 25509238.752702452, 25509238.752702452]],
        formats={
            "Objective": book.wb.add_format({"num_format": "#,##0.00"}),
            "Bound": book.wb.add_format({"num_format": "#,##0.00"}),
        },
    )
    book.close()
    ws = load_workbook(path)["Solver"]
    assert [ws.cell(r, c).number_format for r in (2, 3) for c in (2, 3)] == ["#,##0.00"] * 4


@pytest.mark.slow
@pytest.mark.libreoffice
def test_no_hash_marks_when_printed(tmp_path: Path, need_soffice: str, demo: Demo) -> None:
    """Every workbook of a full run, printed to PDF by LibreOffice: no figure is ``###``.

    A control workbook with a too-narrow number column shows that the check can fail.
    """
    import shutil

    from pypdf import PdfReader

    from tests.helpers import render_pdf

    shutil.copytree(demo.folder, tmp_path / "demo")  # LibreOffice leaves the shared run be
    control = tmp_path / "control.xlsx"
    book = Book(control)
    ws = book.wb.add_worksheet("Narrow")
    ws.set_column(0, 0, 3)
    ws.write_number(0, 0, 123456789.5, book.money)
    book.close()
    names = ["allocations", "plan", "calibration", "comparison", "transition"]
    sheets = sorted((tmp_path / "demo" / "budget-sheets").glob("*.xlsx"))[:1]
    blank = tmp_path / "blank.xlsx"
    from ras.io.templates import write_assessment_template

    write_assessment_template(load_table(tmp_path / "demo" / "adult-social-care.yaml"), blank)
    files = [tmp_path / "demo" / f"{n}.xlsx" for n in names] + [control, *sheets, blank]
    pdfs = render_pdf(files, tmp_path / "pdf")
    pages = {p.stem: [page.extract_text() for page in PdfReader(p).pages] for p in pdfs}
    text = {name: "".join(got) for name, got in pages.items()}
    assert "###" in text["control"]
    for name in names:
        assert text[name].strip(), name
        assert "###" not in text[name], name
    # Page counts: every sheet's footer says "<sheet> ... Page n of N".
    per_sheet = {name: _pages_per_sheet(got) for name, got in pages.items()}
    for name in names:  # each summary, charts and all, on one page
        first = "Runs" if name == "comparison" else "Summary"
        assert per_sheet[name].get(first) == 1, (name, per_sheet[name])
    assert sum(per_sheet["plan"].values()) <= 12, per_sheet["plan"]
    assert sum(per_sheet["comparison"].values()) <= 8, per_sheet["comparison"]
    assert per_sheet["comparison"]["Frontier"] == 1
    assert per_sheet["calibration"]["Affordability"] == 1
    people = load_workbook(tmp_path / "demo" / "transition.xlsx")["People"]
    heads = [c.value for c in people[1]]
    cost = people.cell(row=2, column=heads.index("Current annual cost") + 1)
    assert "£" in cost.number_format  # a money person field, in £
    assert len(pages[sheets[0].stem]) >= 2
    assert per_sheet[sheets[0].stem].get("Indicative budget") == 1  # the person's page
    assert per_sheet[sheets[0].stem].get("Calculation") == 1
    assert len(pages["blank"]) == 2  # the Person sheet, then every question on one page
    assert "ras never reads them." in pages["blank"][1]  # the instruction, not clipped


def _pages_per_sheet(pages: list[str]) -> dict[str, int]:
    """Pages per sheet, from the footer ras puts on every page (sheet name, page n of N)."""
    import re

    counts: dict[str, int] = {}
    for text in pages:
        found = re.findall(r"([A-Z][\w -]*?)\s*Page \d+ of \d+", text)
        if found:
            counts[found[-1].strip()] = counts.get(found[-1].strip(), 0) + 1
        else:
            counts["(no footer)"] = counts.get("(no footer)", 0) + 1
    return counts


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.text(alphabet="ab \n£-", max_size=30),
            st.integers(-(10**12), 10**12),
            st.floats(-1e9, 1e9, allow_nan=False),
            st.decimals(-(10**9), 10**9, places=2, allow_nan=False, allow_infinity=False),
            st.dates(),
        ),
        max_size=25,
    ),
    st.booleans(),
)
def test_a_column_is_as_wide_as_its_widest_value_shown(values: list, percent: bool) -> None:
    """Widths are measured on 5,000 rows of every column, so the measure looks at each
    number type's extremes only: it must give what measuring every value gives (a
    yes/no value takes no width of its own)."""
    from ras.io.xlsx import _longest_shown, _shown_length

    every = [_shown_length(v, percent) for v in values if not isinstance(v, bool)]
    assert _longest_shown(values, percent) == max(every, default=0)
