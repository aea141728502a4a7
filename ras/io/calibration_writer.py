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
    """The Sample sheet's rows: each person in the fit, by points."""
    ordered = sorted(fit.sample, key=lambda s: (s.points, s.person_id))
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
        rows.append(("Scale factor on the table", fit.factor, None))
        rows += [
            ("R²", fit.r_squared, None),
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
                    book.money if aff.rate is not None else None,
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
        n = len(fit.sample)
        if n:
            chart = book.wb.add_chart({"type": "scatter"})
            chart.add_series(
                {
                    "name": "Current annual cost",
                    "categories": ["Sample", 1, 2, n, 2],
                    "values": ["Sample", 1, 3, n, 3],
                    "marker": {"type": "circle", "size": 4},
                }
            )
            chart.add_series(
                {
                    "name": "Fitted",
                    "categories": ["Sample", 1, 2, n, 2],
                    "values": ["Sample", 1, 4, n, 4],
                    "marker": {"type": "none"},
                    "line": {"width": 1.5} if fit.method == "rate" else {"none": True},
                    **({} if fit.method == "rate" else {"marker": {"type": "diamond", "size": 4}}),
                }
            )
            chart.set_title({"name": "Points against current cost, with the fitted line"})
            chart.set_x_axis({"name": "Total points"})
            chart.set_y_axis({"name": "£ a year", "num_format": "£#,##0"})
            ws.insert_chart(2, 4, chart, {"x_scale": 1.5, "y_scale": 1.4})
        book.write_table(
            "Sample",
            SAMPLE_HEADERS,
            sample_rows(fit),
            formats={h: book.money for h in SAMPLE.money} | {"% error": book.percent},
        )
        arows: list[list[Any]] = []
        if aff is not None:
            arows = [
                ["Budget available (£)", aff.budget],
                ["Contingency", aff.contingency],
                ["Affordable total (£)", aff.target],
                ["Scale on the calibrated table", aff.scale],
                ["Affordable rate (£ per point)", aff.rate],
                ["Scale relative to the current table", aff.factor],
                ["Total of every budget at that rate (£)", aff.total],
                ["Met exactly", "yes" if aff.exact else "no"],
                ["Nearest total below (£)", aff.below[1] if aff.below else None],
                ["Nearest total at or above (£)", aff.above[1] if aff.above else None],
                ["Result", aff.message],
            ]
        book.write_table(
            "Affordability", ["Item", "Value"], arows, widths={"Item": 40, "Value": 60}
        )
        book.close()
