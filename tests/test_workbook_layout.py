"""The workbook writer fits columns to what they show (issue 12: no ``###``, nothing cut)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook

from ras.io.xlsx import MAX_WIDTH, MONEY_WIDTH, Book


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
