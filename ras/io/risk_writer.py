"""Writing ``risk.xlsx`` (SPEC §17): the plans under drawn costs, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ras.io.schemas import RISK_DRAWS, RISK_PLANS, RISK_RELEASES, RISK_YEARS
from ras.io.xlsx import Book
from ras.models.base import decimal_text
from ras.models.risk import PlanResult, RiskOutcome
from ras.money import pence
from ras.outputs import atomic_output


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def year_rows(outcome: RiskOutcome) -> list[list[Any]]:
    """The Years sheet's rows."""
    sc = outcome.loaded.scenario
    plans = {"optimised": outcome.optimised, "robust": outcome.robust}
    out: list[list[Any]] = []
    for y in outcome.years:
        plan = plans[y.plan]
        assert plan is not None
        out.append(
            [
                y.year,
                sc.financial_year(y.year),
                y.plan,
                y.share_met,
                *y.spend,
                *y.savings,
                pence(plan.spend[y.year - 1]),
                pence(plan.allowed[y.year - 1]),
            ]
        )
    return out


def plan_rows(outcome: RiskOutcome) -> tuple[list[list[Any]], list[list[Any]]]:
    """The Plans sheet: people moved by either plan; contract releases by either."""
    a, b = outcome.optimised, outcome.robust
    people = sorted(set(a.moves) | set(b.moves if b else ()))
    moved = [[p, a.moves.get(p), b.moves.get(p) if b else None] for p in people]
    keys = sorted(set(a.releases) | set(b.releases if b else ()))
    released = [
        [cid, year, a.releases.get((cid, year), 0), b.releases.get((cid, year), 0) if b else None]
        for cid, year in keys
    ]
    return moved, released


def draw_rows(outcome: RiskOutcome) -> list[list[Any]]:
    """The Draws sheet's table."""
    return [[y.year, y.plan, y.extra_mean, y.extra_max, y.share_met] for y in outcome.years]


#: What is said of a robust search that stopped at the time limit.
STOPPED = "the search stopped at the time limit (give --time-limit more seconds, or 0)"


def summary_rows(outcome: RiskOutcome) -> list[tuple[str, Any]]:
    """The Summary sheet's facts."""
    sc = outcome.loaded.scenario
    unc = sc.uncertainty

    def plan_facts(name: str, plan: PlanResult | None, share: float | None) -> list[Any]:
        if plan is None:
            return []
        return [
            (f"{name}: status", plan.status),
            (f"{name}: people moved", len(plan.moves)),
            (f"{name}: weighted person-years", float(plan.person_years)),
            (f"{name}: savings over the plan (£)", pence(plan.total_savings)),
            (f"{name}: draws meeting every year's target", _percent(share)),
        ]

    if outcome.asked is None:
        robust = "not asked (uncertainty.robust.probability)"
    elif outcome.margin is None and outcome.robust_stopped:
        robust = f"not found: {STOPPED}"
    elif outcome.margin is None:
        robust = f"none: no margin up to 100 % meets every year in {_percent(float(outcome.asked))}"
    else:
        shown = decimal_text(outcome.margin * 100)
        robust = f"{shown} % (budgets planned {shown} % dearer)"
        if outcome.robust_stopped:
            robust += f"; {STOPPED}, and a smaller margin may do"
    return [
        ("Scenario", sc.name),
        ("Variant", outcome.loaded.variant or "base"),
        ("Savings target", sc.target_sentence()),
        ("Draws", f"{outcome.samples:,} (seed {outcome.seed})"),
        (
            "Budgets",
            f"multiplier lognormal, mean 1, sd {unc.budgets.sd} (drawn once per person)",
        ),
        (
            "Readmission",
            f"{decimal_text(unc.readmission.probability_per_year * 100)} % a year, "
            f"{unc.readmission.weeks} weeks of placement cost",
        ),
        (
            "Breakdown",
            f"{decimal_text(unc.breakdown.probability_per_year * 100)} % a year, budget x "
            f"{unc.breakdown.cost_multiplier} from then on",
        ),
        (
            "Robust plan asked",
            "—"
            if outcome.asked is None
            else f"meets every year in {_percent(float(outcome.asked))} of draws",
        ),
        ("Robust margin", robust),
        *plan_facts("Optimised", outcome.optimised, outcome.optimised_share),
        *plan_facts("Robust", outcome.robust, outcome.robust_share),
        (
            "Margins tried",
            "; ".join(
                f"{decimal_text(m.margin * 100)} %: "
                + (
                    m.status
                    if not m.target_met
                    else "target met (draws not needed)"
                    if m.share_met is None
                    else _percent(m.share_met)
                )
                for m in outcome.tried
            )
            or "—",
        ),
        ("Ran on", f"{outcome.where}, {outcome.workers} workers, {outcome.seconds:.1f} s"),
    ]


def write_risk(outcome: RiskOutcome, out: Path) -> None:
    """Write risk.xlsx atomically."""
    with atomic_output(out) as tmp:
        book = Book(tmp)
        rows = year_rows(outcome)
        _summary(book, outcome, rows)
        book.write_table(
            RISK_YEARS.sheet,
            RISK_YEARS.headers,
            rows,
            formats={
                **{h: book.money for h in RISK_YEARS.money},
                "Share meeting target": book.percent,
            },
        )
        moved, released = plan_rows(outcome)
        book.write_table(RISK_PLANS.sheet, RISK_PLANS.headers, moved)
        ws = book.wb.get_worksheet_by_name(RISK_PLANS.sheet)
        r = len(moved) + 2
        for c, h in enumerate(RISK_RELEASES):
            ws.write_string(r, c, h, book.header)
        for n, row in enumerate(released, start=r + 1):
            for c, v in enumerate(row):
                book.put(ws, n, c, v)
        book.write_table(
            RISK_DRAWS.sheet,
            RISK_DRAWS.headers,
            draw_rows(outcome),
            formats={
                **{h: book.money for h in RISK_DRAWS.money},
                "Share meeting target": book.percent,
            },
        )
        book.close()


def _summary(book: Book, outcome: RiskOutcome, rows: list[list[Any]]) -> None:
    ws = book.sheet("Summary", one_page=True)
    ws.set_column(0, 0, 46)
    ws.set_column(1, 1, 70)
    ws.write_string(0, 0, f"Plan under uncertainty: {outcome.loaded.scenario.name}", book.title)
    r = 2
    for label, value in summary_rows(outcome):
        ws.write_string(r, 0, label, book.bold)
        book.put(ws, r, 1, value, book.money if "(£)" in label else None)
        r += 1
    # The fan of spend against what the target allows, per plan.
    headers = RISK_YEARS.headers
    first_row: dict[str, int | None] = {"optimised": None, "robust": None}
    for n, row in enumerate(rows, start=1):
        if first_row[row[2]] is None:
            first_row[row[2]] = n
    r += 1
    for plan, start in first_row.items():
        if start is None:
            continue
        end = max(n for n, row in enumerate(rows, start=1) if row[2] == plan)
        chart = book.wb.add_chart({"type": "line"})
        for name, colour, dash in (
            ("Spend P10 (£)", "#9DC3E6", "dash"),
            ("Spend P50 (£)", "#2E75B6", "solid"),
            ("Spend P90 (£)", "#9DC3E6", "dash"),
            ("Most spend allowed (£)", "#C00000", "solid"),
        ):
            col = headers.index(name)
            chart.add_series(
                {
                    "name": name.removesuffix(" (£)"),
                    "categories": [RISK_YEARS.sheet, start, 1, end, 1],
                    "values": [RISK_YEARS.sheet, start, col, end, col],
                    "line": {"color": colour, "dash_type": dash, "width": 2},
                }
            )
        chart.set_title({"name": f"The {plan} plan: spend across the draws, and the target"})
        chart.set_x_axis({"name": "Financial year"})
        chart.set_y_axis({"name": "£ a year", "num_format": "£#,##0"})
        chart.set_legend({"position": "bottom"})
        ws.insert_chart(r, 0, chart, {"x_scale": 1.6, "y_scale": 1.1})
        r += 18
