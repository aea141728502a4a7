"""Writing ``comparison.xlsx`` (SPEC §11)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ras.io.schemas import FRONTIER, ORGANISATION_RUNS, RUNS
from ras.io.xlsx import Book
from ras.models.comparison import CompareOutcome, RunSummary
from ras.models.plan import YearRow
from ras.models.scenario import financial_year
from ras.money import pence
from ras.outputs import atomic_output

RUN_HEADERS = RUNS.headers
FRONTIER_HEADERS = FRONTIER.headers
MEASURES: dict[str, tuple[Callable[[YearRow], Any], bool]] = {  # sheet -> (value, money)
    "Savings": (lambda y: pence(y.savings), True),
    "Spend": (lambda y: pence(y.spend), True),
    "Moves": (lambda y: y.moves, False),
    "In budgets": (lambda y: y.in_budgets, False),
}


def run_rows(runs: list[RunSummary]) -> list[list[Any]]:
    """The Runs sheet's rows."""
    return [
        [
            r.name,
            r.status,
            "yes" if r.target_met else "no",
            r.moves,
            float(r.person_years),
            pence(r.total_savings),
            r.error,
        ]
        for r in runs
    ]


def organisation_run_headers(runs: list[RunSummary], base_year: int | None) -> list[str]:
    """The Organisations sheet's headings: one savings column per plan year."""
    horizon = max((len(r.years) for r in runs), default=0)
    fixed = [c.name for c in ORGANISATION_RUNS.columns[:-1]]
    return fixed + [
        f"{financial_year(base_year, t) if base_year is not None else f'Year {t}'} (£)"
        for t in range(1, horizon + 1)
    ]


def organisation_run_rows(runs: list[RunSummary]) -> list[list[Any]]:
    """One row per run and organisation: its limit, and its savings over and by year."""
    out: list[list[Any]] = []
    for r in runs:
        for name, total, kinds, met in r.organisation_savings():
            yearly = [pence(o.savings) for o in r.organisations if o.org and o.name == name]
            out.append(
                [
                    r.name,
                    name,
                    kinds,
                    None if met is None else ("yes" if met else "no"),
                    pence(total),
                    *yearly,
                ]
            )
    return out


def frontier_rows(points: list[RunSummary]) -> list[list[Any]]:
    """The Frontier sheet's rows."""
    return [
        [
            float(p.rate) if p.rate is not None else None,
            p.status,
            float(p.person_years) if p.years else None,
            p.moves if p.years else None,
            pence(p.total_savings) if p.years else None,
            p.remark,
        ]
        for p in points
    ]


#: Under the frontier table when a higher rate saved less in total.
LOWER_SAVINGS = (
    "Why a higher rate can save less in total: the target is met year by year, and under "
    "year_on_year each year's target is against the plan's own spend the year before - so "
    "cutting harder early can leave less to save later, and the objective puts people "
    "first within each year's target."
)


def write_comparison(outcome: CompareOutcome, out: Path) -> None:
    """Write comparison.xlsx atomically."""
    runs = outcome.runs
    with atomic_output(out) as tmp:
        book = Book(tmp)
        book.write_table(
            "Runs",
            RUN_HEADERS,
            run_rows(runs),
            formats={"Total savings (£)": book.money},
            widths={"Problem": 60, "Status": 22},
        )
        ok = [r for r in runs if r.years]
        horizon = max((len(r.years) for r in ok), default=0)
        base = outcome.base_year
        for sheet, (get, money) in MEASURES.items():
            rows = [
                [
                    t,
                    financial_year(base, t) if base is not None else "",
                    *[get(r.years[t - 1]) if t <= len(r.years) else None for r in ok],
                ]
                for t in range(1, horizon + 1)
            ]
            headers = ["Year", "Financial year", *[r.name for r in ok]]
            fmts = {h: book.money for h in headers[2:]} if money else {}
            book.write_table(sheet, headers, rows, formats=fmts)
            if ok and horizon:
                chart = book.wb.add_chart({"type": "line" if money else "column"})
                for c, r in enumerate(ok, start=2):
                    chart.add_series(
                        {
                            "name": r.name,
                            "categories": [sheet, 1, 1, horizon, 1],
                            "values": [sheet, 1, c, horizon, c],
                        }
                    )
                label = {"In budgets": "People in individual budgets"}.get(sheet, sheet)
                chart.set_title({"name": f"{label} by year"})
                chart.set_x_axis({"name": "Financial year"})
                chart.set_y_axis({"num_format": "£#,##0", "min": 0} if money else {"min": 0})
                ws = book.wb.get_worksheet_by_name(sheet)
                ws.insert_chart(1, len(headers) + 1, chart)
                book.print_setup(ws, one_page=True)  # the table and its chart, whole
        if any(r.organisations for r in ok):
            headers = organisation_run_headers(ok, base)
            book.write_table(
                ORGANISATION_RUNS.sheet,
                headers,
                organisation_run_rows(ok),
                formats={h: book.money for h in headers if h.endswith("(£)")},
                widths={"Organisation": 26, "Limit": 14},
            )
        _frontier(book, outcome.frontier)
        book.close()


def _frontier(book: Book, points: list[RunSummary]) -> None:
    rows = frontier_rows(points)
    book.write_table(
        "Frontier",
        FRONTIER_HEADERS,
        rows,
        formats={"Total savings (£)": book.money, "Savings rate": book.percent},
        widths={"Status": 24},
    )
    if not points:
        return
    n = len(points)
    ws = book.wb.get_worksheet_by_name("Frontier")
    if any(p.note for p in points):
        ws.write_string(n + 2, 0, LOWER_SAVINGS, book.wrap)
        ws.set_row(n + 2, 45)
    chart = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    chart.add_series(
        {
            "name": "Weighted person-years",
            "categories": ["Frontier", 1, 0, n, 0],
            "values": ["Frontier", 1, 2, n, 2],
        }
    )
    chart.set_title({"name": "What each extra point of savings costs in person-years"})
    chart.set_x_axis({"name": "Savings rate", "num_format": "0%"})
    chart.set_y_axis({"name": "Weighted person-years in individual budgets", "min": 0})
    ws.insert_chart(1, len(FRONTIER_HEADERS) + 1, chart, {"x_scale": 1.3})
    moved = book.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
    moved.add_series(
        {
            "name": "People moved",
            "categories": ["Frontier", 1, 0, n, 0],
            "values": ["Frontier", 1, 3, n, 3],
        }
    )
    moved.set_title({"name": "People moved against the savings rate"})
    moved.set_x_axis({"name": "Savings rate", "num_format": "0%"})
    moved.set_y_axis({"min": 0})
    ws.insert_chart(18, len(FRONTIER_HEADERS) + 1, moved, {"x_scale": 1.3})
    if n <= 40:  # the table and both charts on one page (a long frontier prints on more)
        book.print_setup(ws, one_page=True)
