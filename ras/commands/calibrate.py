"""The order of the stages for calibration: allocations -> fit -> affordability -> write."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.calibration.fitting import (
    Affordability,
    Fit,
    Person,
    affordability,
    calibrated_table,
    fit_table,
    new_version,
    total_budgets,
)
from ras.models.table import PointTable


@dataclass
class CalibrationOutcome:
    """What ``ras calibrate`` found and wrote."""

    table: PointTable
    people: list[Person]
    fit: Fit
    affordability: Affordability | None
    new_table: PointTable | None = None
    written_table: Path | None = None
    written_total: Decimal | None = None

    def summary(self) -> dict[str, Any]:
        """Machine-readable summary (``--json``)."""
        f, a = self.fit, self.affordability
        return {
            "method": f.method,
            "sample": len(f.sample),
            "fitted_rate": None if f.rate is None else str(f.rate),
            "group_rates": {k: str(v) for k, v in f.group_rates.items()},
            "factor": None if f.factor is None else str(f.factor),
            "r_squared": f.r_squared,
            "mape": f.mape,
            "median_ape": f.median_ape,
            "inside_range": f.inside_range,
            "outliers": len(f.outliers),
            "affordability": None
            if a is None
            else {
                "target": str(a.target),
                "rate": None if a.rate is None else str(a.rate),
                "scale": str(a.scale),
                "factor": None if a.factor is None else str(a.factor),
                "total": str(a.total),
                "exact": a.exact,
                "message": a.message,
                "below": None if a.below is None else str(a.below[1]),
                "above": None if a.above is None else str(a.above[1]),
            },
            "written_table": None if self.written_table is None else str(self.written_table),
            "written_total": None if self.written_total is None else str(self.written_total),
        }


def run_calibrate(
    allocations: Path,
    table: PointTable,
    out: Path | None,
    *,
    budget: Decimal | None = None,
    contingency: Decimal = Decimal("0.05"),
    tolerance: Decimal = Decimal("0.5"),
    write_table: Path | None = None,
) -> CalibrationOutcome:
    """``ras calibrate``: fit, affordability, calibration.xlsx and the calibrated table."""
    from ras.io.allocations import read_scored_people
    from ras.io.calibration_writer import write_calibration
    from ras.io.xlsx import committed_together
    from ras.io.table_file import save_table

    people = read_scored_people(allocations, table)
    fit = fit_table(table, people, tolerance)
    aff = affordability(table, people, budget, contingency, fit) if budget is not None else None
    outcome = CalibrationOutcome(table, people, fit, aff)
    if write_table is not None:
        scale = aff.scale if aff is not None else Decimal(1)
        places = 4 if aff is not None else 2
        new = calibrated_table(
            table,
            fit,
            scale,
            places=places,
            version=new_version(table.version),
            down=aff is not None,
        )
        outcome.new_table, outcome.written_table = new, write_table
        outcome.written_total = total_budgets(new, people, Decimal(1))
    with committed_together():  # the calibrated table and calibration.xlsx, or neither
        if outcome.new_table is not None and write_table is not None:
            save_table(outcome.new_table, write_table)
        if out is not None:
            write_calibration(outcome, out)
    return outcome
