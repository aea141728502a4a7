"""Writing ``calibration.xlsx`` (SPEC §10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ras.io.schemas import SAMPLE
from ras.io.xlsx import Book
from ras.models.calibration import CalibrationOutcome, Fit
from ras.outputs import atomic_output

SAMPLE_HEADERS = SAMPLE.headers


def sample_rows(fit: Fit) -> list[list[Any]]:
    """The Sample sheet's rows: each person in the fit, by group, then by points."""
    ordered = sorted(fit.sample, key=lambda s: (s.group, s.points, s.person_id))
    return [
        [
            s.person_id,
            s.group,
            s.points,
            s.cost,
            s.fitted,
            s.residual,
            s.pct_error,
            "yes" if s.pct_error > fit.tolerance else "no",
            s.current_budget,
            s.range_low,
            s.range_high,
        ]
        for s in ordered
    ]


def write_calibration(outcome: CalibrationOutcome, out: Path) -> None:
    """Write calibration.xlsx atomically."""
    fit, aff = outcome.fit, outcome.affordability
    with atomic_output(out) as tmp:
        book = Book(tmp)
        ws = book.sheet("Summary", one_page=True)
        ws.set_column(0, 0, 58)
        ws.set_column(1, 1, 34)
        ws.write_string(
            0,
            0,
            f"Calibration of {outcome.table.name} (version {outcome.table.version})",
            book.title,
        )
        rows: list[tuple[str, Any, Any]] = [
            ("Method", fit.method, None),
            ("People scored", len(outcome.people), None),
            ("Sample (current annual cost above 0)", len(fit.sample), None),
        ]
        t = outcome.table
        if fit.method == "rate":
            rows.append(("Table rate (£ per point)", t.allocation.rate, book.money))
            rows.append(("Fitted rate (£ per point)", fit.rate, book.money))
            for g, r in fit.group_rates.items():
                rows.append((f"Fitted rate for {g} (own fit, ≥ 10 people)", r, book.money))
            for g, r in fit.scaled_rates.items():
                rows.append((f"Rate for {g} (scaled with the fitted rate)", r, book.money))
        ratio = book.wb.add_format({"num_format": "0.0000"})
        rows.append(("Scale factor on the table", fit.factor, ratio))
        rows += [
            ("R²", fit.r_squared, book.wb.add_format({"num_format": "0.000"})),
            ("Mean absolute percentage error", fit.mape, book.percent),
            ("Median absolute percentage error", fit.median_ape, book.percent),
            ("Share of costs inside the indicative range", fit.inside_range, book.percent),
            (f"Outliers (error above {fit.tolerance * 100:.0f} %)", len(fit.outliers), None),
        ]
        if aff is not None:
            rows += [
                ("Affordable total (£)", aff.target, book.money),
                (
                    "Affordable rate (£ per point)"
                    if aff.rate is not None
                    else "Affordable scale on the table",
                    aff.rate if aff.rate is not None else aff.factor,
                    book.money if aff.rate is not None else ratio,
                ),
                ("Total it gives (£)", aff.total, book.money),
                ("Affordability", aff.message, None),
            ]
        if outcome.written_table is not None:
            rows.append(("Calibrated table written to", str(outcome.written_table), None))
            rows.append(
                ("Its version", outcome.new_table.version if outcome.new_table else "", None)
            )
            if outcome.written_total is not None:
                rows.append(
                    (
                        "Total of every budget with the written table (£)",
                        outcome.written_total,
                        book.money,
                    )
                )
        for i, (label, value, fmt) in enumerate(rows, start=2):
            ws.write_string(i, 0, label, book.bold)
            book.put(ws, i, 1, value, fmt)
        if fit.warnings:
            warn = book.wb.add_format({"bold": True, "font_color": "#C00000"})
            for k, warning in enumerate(fit.warnings, start=len(rows) + 3):
                ws.write_string(k, 0, f"Warning: {warning}", warn)
        table_rows = sample_rows(fit)
        if table_rows:
            _fit_chart(book, ws, table_rows)
        book.write_table(
            "Sample",
            SAMPLE_HEADERS,
            table_rows,
            formats={h: book.money for h in SAMPLE.money} | {"% error": book.percent},
        )
        _affordability(book, outcome)
        book.close()


#: One colour per group on the fit chart: its people as dots, its fitted line.
PALETTE = ("#1F77B4", "#D62728", "#2CA02C", "#9467BD", "#FF7F0E", "#8C564B", "#E377C2")


def _fit_chart(book: Book, ws: Any, rows: list[list[Any]]) -> None:
    """Points against current cost, each group's people and its own fitted line."""
    chart = book.wb.add_chart({"type": "scatter"})
    col = {h: i for i, h in enumerate(SAMPLE_HEADERS)}
    points, cost, fitted = col["Total points"], col["Current annual cost (£)"], col["Fitted (£)"]
    start = 0
    groups = 0
    for i in range(1, len(rows) + 1):
        if i < len(rows) and rows[i][col["Group"]] == rows[start][col["Group"]]:
            continue
        group = rows[start][col["Group"]] or "everyone"
        colour = PALETTE[groups % len(PALETTE)]
        first, last = start + 1, i  # sheet rows (the header is row 0)
        chart.add_series(
            {
                "name": f"{group}: current cost",
                "categories": ["Sample", first, points, last, points],
                "values": ["Sample", first, cost, last, cost],
                "marker": {"type": "circle", "size": 4, "fill": {"color": colour},
                           "border": {"color": colour}},
            }
        )  # fmt: skip
        chart.add_series(
            {
                "name": f"{group}: fitted",
                "categories": ["Sample", first, points, last, points],
                "values": ["Sample", first, fitted, last, fitted],
                "marker": {"type": "none"},
                "line": {"width": 2, "color": colour},
            }
        )
        groups += 1
        start = i
    chart.set_title({"name": "Current cost against points: each group and its fitted line"})
    chart.set_x_axis({"name": "Total points", "min": 0})
    chart.set_y_axis({"name": "£ a year", "num_format": "£#,##0", "min": 0})
    ws.insert_chart(2, 4, chart, {"x_scale": 1.6, "y_scale": 1.6})


def _affordability(book: Book, outcome: CalibrationOutcome) -> None:
    """Affordability as label and value, each value in its own format."""
    aff = outcome.affordability
    if aff is None:
        message = "No --budget was given: no affordable total was asked for."
        book.pairs_sheet("Affordability", ("Item", "Value"), [(message, None, None)])
        return
    ratio = book.wb.add_format({"num_format": "0.0000", "align": "left"})
    money = book.wb.add_format({"num_format": "£#,##0.00", "align": "left"})
    share = book.wb.add_format({"num_format": "0.0%", "align": "left"})
    rows: list[tuple[str, Any, Any]] = [
        ("Budget available (£)", aff.budget, money),
        ("Contingency", aff.contingency, share),
        ("Affordable total (£)", aff.target, money),
        ("Scale on the calibrated table", aff.scale, ratio),
        ("Affordable rate (£ per point)", aff.rate, money),
        ("Scale relative to the current table", aff.factor, ratio),
        ("Total of every budget at that rate (£)", aff.total, money),
        ("Met exactly", "yes" if aff.exact else "no", None),
        ("Nearest total below (£)", aff.below[1] if aff.below else None, money),
        ("Nearest total at or above (£)", aff.above[1] if aff.above else None, money),
        ("Result", aff.message, book.wrap),
    ]
    book.pairs_sheet("Affordability", ("Item", "Value"), rows, widths=(42, 70))
