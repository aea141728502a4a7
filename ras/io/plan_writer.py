"""Writing ``plan.xlsx`` (SPEC §9.1). The headers are a contract other tools read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ras.choices import OBJECTIVE_LABELS, PLACE_LABELS, label_of
from ras.io.schemas import (
    ASSUMPTIONS,
    CONTRACT_YEARS,
    MOVES,
    ORGANISATIONS,
    PEOPLE,
    SOLVER,
    SPEND,
    YEARS,
)
from ras.io.xlsx import Book
from ras.models.plan import PlanOutcome
from ras.money import pence
from ras.outputs import atomic_output

YEAR_HEADERS = YEARS.headers
MOVE_HEADERS = MOVES.headers
CONTRACT_HEADERS = CONTRACT_YEARS.headers
PEOPLE_HEADERS = PEOPLE.headers
SPEND_HEADERS = SPEND.headers
SOLVER_HEADERS = SOLVER.headers


def year_rows(outcome: PlanOutcome) -> list[list[Any]]:
    """The per-year table of the Summary sheet."""
    sc = outcome.loaded.scenario
    return [
        [
            r.year,
            sc.financial_year(r.year),
            pence(r.baseline),
            pence(r.spend),
            pence(r.savings),
            pence(r.target),
            "yes" if r.met else "no",
            pence(r.shortfall),
            r.moves,
            r.in_budgets,
            r.units_released,
        ]
        for r in outcome.plan.years
    ]


def organisation_rows(outcome: PlanOutcome) -> list[list[Any]]:
    """The Organisations sheet's rows (SPEC §14), each figure to the penny."""
    fy = outcome.loaded.scenario.financial_year
    out: list[list[Any]] = []
    for r in outcome.plan.organisations:
        out.append(
            [
                r.year,
                fy(r.year),
                r.name,
                pence(r.baseline),
                pence(r.placements),
                pence(r.budgets),
                pence(r.overheads),
                pence(r.transition),
                pence(r.contracts),
                pence(r.decommissioning),
                pence(r.dowries_paid),
                pence(r.dowries_received),
                pence(r.spend),
                pence(r.savings),
                r.limit_kind,
                None if r.target is None else pence(r.target),
                None if r.met is None else ("yes" if r.met else "no"),
            ]
        )
    return out


def plan_tables(outcome: PlanOutcome) -> dict[str, tuple[tuple[str, ...], list[list[Any]]]]:
    """The plan's tables as rows (the sheets of plan.xlsx, and ``ras.frames``)."""
    plan = outcome.plan
    fy = outcome.loaded.scenario.financial_year
    extra: dict[str, tuple[tuple[str, ...], list[list[Any]]]] = {}
    if plan.organisations:
        extra["Organisations"] = (ORGANISATIONS.headers, organisation_rows(outcome))
    return {
        "Years": (YEAR_HEADERS, year_rows(outcome)),
        "Moves": (
            MOVE_HEADERS,
            [
                [
                    m.person_id,
                    m.source,
                    label_of(m.setting, PLACE_LABELS),
                    m.year,
                    fy(m.year),
                    pence(m.current_cost),
                    pence(m.budget),
                    pence(m.transition_cost),
                    pence(m.annual_saving),
                ]
                for m in plan.moves
            ],
        ),
        "Contracts": (
            CONTRACT_HEADERS,
            [
                [
                    c.contract_id,
                    c.provider,
                    c.year,
                    fy(c.year),
                    c.units_start,
                    c.released,
                    c.retained,
                    pence(c.annual_value),
                    pence(c.decommission_cost),
                ]
                for c in plan.contracts
            ],
        ),
        "People": (
            PEOPLE_HEADERS,
            [[p[0], label_of(str(p[1]), PLACE_LABELS), *p[2:]] for p in plan.people],
        ),
        "Spend": (
            SPEND_HEADERS,
            [
                [
                    r.year,
                    fy(r.year),
                    pence(r.placements),
                    pence(r.budgets),
                    pence(r.overheads),
                    pence(r.transition),
                    pence(r.contracts),
                    pence(r.decommissioning),
                    pence(r.spend),
                ]
                for r in plan.years
            ],
        ),
        **extra,
    }


def write_plan(outcome: PlanOutcome, out: Path) -> None:
    """Write plan.xlsx atomically."""
    plan = outcome.plan
    tables = plan_tables(outcome)
    with atomic_output(out) as tmp:
        book = Book(tmp)
        _summary(book, outcome)
        for schema in (MOVES, CONTRACT_YEARS, PEOPLE, SPEND):
            headers, table_rows = tables[schema.sheet]
            book.write_table(
                schema.sheet,
                headers,
                table_rows,
                formats={h: book.money for h in schema.money},
                widths={"Status": 30.0} if schema is PEOPLE else None,
            )
        if plan.organisations:
            _organisations(book, outcome, tables["Organisations"][1])
        rows: list[list[Any]] = [[k, v, ""] for k, v in outcome.loaded.assumptions()]
        for key, value, source in outcome.loaded.overrides:
            rows.append([f"override {key}", value, source])
        for path, sha in outcome.files.items():
            rows.append(["input file", path, sha])
        for issue in outcome.data.warnings:
            rows.append(["warning", issue.one_line(), ""])
        book.write_table(
            "Assumptions",
            ASSUMPTIONS.headers,
            rows,
            widths={"Key": 36, "Value": 50, "sha256": 66},
        )
        sol = plan.solution
        limit = sol.time_limit
        book.write_table(
            "Solver",
            SOLVER_HEADERS,
            [
                [
                    s.stage,
                    sol.solver_version,
                    s.status.value + (f" ({s.stopped})" if s.stopped else ""),
                    s.objective,
                    s.bound,
                    s.gap,
                    round(s.seconds, 3),
                    s.variables,
                    s.constraints,
                ]
                for s in sol.stages
            ]
            + [
                [
                    "build",
                    sol.solver_version,
                    "",
                    None,
                    None,
                    None,
                    round(outcome.build_seconds, 3),
                    None,
                    None,
                ],
                [
                    "whole run",
                    f"time limit {limit:g} s" if limit else "no time limit",
                    plan.status,
                    None,
                    None,
                    sol.gap,
                    round(sum(s.seconds for s in sol.stages) + outcome.build_seconds, 3),
                    None,
                    None,
                ],
            ],
            formats={
                "Gap": book.wb.add_format({"num_format": "0.000%"}),
                "Objective": book.wb.add_format({"num_format": "#,##0.00"}),
                "Bound": book.wb.add_format({"num_format": "#,##0.00"}),
                "Time (s)": book.wb.add_format({"num_format": "0.0"}),
            },
            widths={"Solver": 40, "Status": 34},
        )
        book.close()


def _organisations(book: Book, outcome: PlanOutcome, rows: list[list[Any]]) -> None:
    """The Organisations sheet: the ledger table, the limits that bind, a chart."""
    plan = outcome.plan
    headers = ORGANISATIONS.headers
    book.write_table(
        ORGANISATIONS.sheet,
        headers,
        rows,
        formats={h: book.money for h in ORGANISATIONS.money},
        widths={"Organisation": 26.0, "Limit": 14.0},
    )
    ws = book.wb.get_worksheet_by_name(ORGANISATIONS.sheet)
    ws.repeat_columns(0, 2)  # printed across pages: each starts with year and organisation
    r = len(rows) + 2
    notes = plan.binding if not plan.target_met else plan.organisation_limits
    if notes:
        ws.write_string(
            r,
            0,
            "Organisation limits with little room left"
            if plan.target_met
            else "TARGET NOT MET: the limits that bind",
            book.bold,
        )
        for n, line in enumerate(notes, start=1):
            ws.write_string(r + n, 0, line)
        r += len(notes) + 2
    # Savings by organisation and year, laid out for the chart: a row per year.
    names = list(dict.fromkeys(row[2] for row in rows if row[2] != "System"))
    years = list(dict.fromkeys((row[0], row[1]) for row in rows))
    if not names or not years:
        return
    savings = {(row[0], row[2]): row[headers.index("Savings (£)")] for row in rows}
    ws.write_string(r, 0, "Savings by organisation (£)", book.bold)
    ws.set_row(r + 1, 30)  # two-line headings
    ws.write_string(r + 1, 0, "Financial year", book.header)
    for k, name in enumerate(names, start=1):
        ws.write_string(r + 1, k, name, book.header)
    for n, (year, fy) in enumerate(years, start=2):
        ws.write_string(r + n, 0, fy)
        for k, name in enumerate(names, start=1):
            book.put(ws, r + n, k, savings[(year, name)], book.money)
    first, last = r + 2, r + 1 + len(years)
    chart = book.wb.add_chart({"type": "column"})
    for k in range(1, len(names) + 1):
        chart.add_series(
            {
                "name": [ORGANISATIONS.sheet, r + 1, k],
                "categories": [ORGANISATIONS.sheet, first, 0, last, 0],
                "values": [ORGANISATIONS.sheet, first, k, last, k],
            }
        )
    chart.set_title({"name": "Savings by organisation"})
    chart.set_legend({"position": "bottom"})
    chart.set_y_axis({"name": "Savings (£)", "num_format": "£#,##0"})
    chart.set_x_axis({"name": "Financial year"})
    ws.insert_chart(r, len(names) + 2, chart, {"x_scale": 1.4, "y_scale": 1.2})


def _summary(book: Book, outcome: PlanOutcome) -> None:  # noqa: C901
    plan = outcome.plan
    sc = outcome.loaded.scenario
    ws = book.sheet("Summary", one_page=True)
    ws.set_column(0, 0, 36)
    ws.set_column(1, len(YEAR_HEADERS) - 1, 16)
    ws.write_string(0, 0, f"Transfer plan: {sc.name}", book.title)
    status_fmt = (
        book.wb.add_format({"bold": True, "font_color": "#C00000"})
        if not plan.target_met
        else book.bold
    )
    facts: list[tuple[str, Any]] = [
        ("Scenario", sc.name),
        ("Variant", outcome.loaded.variant or "base"),
        ("Status", plan.status),
        ("Objective", label_of(sc.objective, OBJECTIVE_LABELS)),
        ("Savings target", sc.target_sentence()),
        ("Person-years in budgets (weighted)", float(plan.person_years)),
        ("Total savings over the plan (£)", pence(plan.total_savings)),
        ("People moved", len(plan.moves)),
        ("Year 1 is", sc.financial_year(1)),
    ]
    if plan.organisations and sc.organisations is not None:
        names = [sc.organisations.name(o) for o in sc.organisations.ids]
        facts.append(("Organisations", f"{', '.join(names)}: see the Organisations sheet"))
    r = 2
    for label, value in facts:
        ws.write_string(r, 0, label, book.bold)
        fmt = status_fmt if label == "Status" else (book.money if "(£)" in label else None)
        book.put(ws, r, 1, value, fmt)
        r += 1
    r += 1
    first = r
    rows = year_rows(outcome)
    ws.set_row(r, 30)  # two-line headings
    ws.add_table(
        r,
        0,
        r + len(rows),
        len(YEAR_HEADERS) - 1,
        {
            "name": "Years",
            "columns": [{"header": h, "header_format": book.header} for h in YEAR_HEADERS],
            "style": "Table Style Light 9",
        },
    )
    for i, row in enumerate(rows, start=1):  # money as exact numbers, text as text
        for c, v in enumerate(row):
            book.put(
                ws,
                r + i,
                c,
                v,
                book.money if YEAR_HEADERS[c] in YEARS.money else None,
            )
    last = r + len(rows)
    r = last + 2
    if plan.binding:
        ws.write_string(r, 0, "TARGET NOT MET: the limits that bind", status_fmt)
        r += 1
        for line in plan.binding:
            ws.write_string(r, 0, line)
            r += 1
        r += 1
    chart = book.wb.add_chart({"type": "line"})
    fy_col = YEAR_HEADERS.index("Financial year")
    for col, name in (
        (YEAR_HEADERS.index("Baseline (£)"), "Baseline"),
        (YEAR_HEADERS.index("Spend (£)"), "Spend"),
    ):
        chart.add_series(
            {
                "name": name,
                "categories": ["Summary", first + 1, fy_col, last, fy_col],
                "values": ["Summary", first + 1, col, last, col],
                "marker": {"type": "circle"},
            }
        )
    chart.set_title({"name": "Baseline against spend"})
    chart.set_x_axis({"name": "Financial year"})
    chart.set_y_axis({"name": "£ a year", "num_format": "£#,##0", "min": 0})
    ws.insert_chart(r, 0, chart, {"x_scale": 1.3})
    moves_col = YEAR_HEADERS.index("Moves")
    held_col = YEAR_HEADERS.index("People in individual budgets")
    moved = book.wb.add_chart({"type": "column"})
    moved.add_series(
        {
            "name": "People moved",
            "categories": ["Summary", first + 1, fy_col, last, fy_col],
            "values": ["Summary", first + 1, moves_col, last, moves_col],
        }
    )
    moved.add_series(
        {
            "name": "People in individual budgets",
            "categories": ["Summary", first + 1, fy_col, last, fy_col],
            "values": ["Summary", first + 1, held_col, last, held_col],
        }
    )
    moved.set_title({"name": "People moved"})
    moved.set_x_axis({"name": "Financial year"})
    moved.set_y_axis({"min": 0})
    ws.insert_chart(r, 6, moved, {"x_scale": 1.1})
