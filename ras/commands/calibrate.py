"""The order of the stages for calibration: allocations -> fit -> affordability -> write."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ras.calibration.fitting import (
    affordability,
    calibrated_table,
    fit_table,
    new_version,
    total_budgets,
)
from ras.io.allocations import read_scored_people
from ras.io.calibration_writer import write_calibration
from ras.io.table_file import save_table
from ras.models.calibration import CalibrationOutcome
from ras.models.table import PointTable
from ras.outputs import committed_together, refuse_overwriting


def run_calibrate(
    allocations: Path,
    table: PointTable,
    out: Path | None,
    *,
    budget: Decimal | None = None,
    contingency: Decimal = Decimal("0.05"),
    tolerance: Decimal = Decimal("0.5"),
    write_table: Path | None = None,
    rate_step: Decimal = Decimal("0.01"),
    table_source: Path | None = None,
) -> CalibrationOutcome:
    """``ras calibrate``: fit, affordability, calibration.xlsx and the calibrated table.

    The written table's rates (or amounts) are rounded to ``rate_step`` - down, when an
    affordable total was asked for, so that it stays affordable. Written as YAML over a
    YAML ``table_source``, the source's comments and layout are kept.
    """
    read = {"the allocations workbook": allocations, "the point table": table_source}
    refuse_overwriting(out, read)
    also = {"the allocations workbook": allocations, "the --out file": out}
    refuse_overwriting(write_table, also, "--write-table")
    people = read_scored_people(allocations, table)
    fit = fit_table(table, people, tolerance)
    aff = affordability(table, people, budget, contingency, fit) if budget is not None else None
    outcome = CalibrationOutcome(table, people, fit, aff)
    if write_table is not None:
        scale = aff.scale if aff is not None else Decimal(1)
        new = calibrated_table(
            table,
            fit,
            scale,
            step=rate_step,
            version=new_version(table.version),
            down=aff is not None,
        )
        outcome.new_table, outcome.written_table = new, write_table
        outcome.written_total = total_budgets(new, people, Decimal(1))
    with committed_together():  # the calibrated table and calibration.xlsx, or neither
        if outcome.new_table is not None and write_table is not None:
            save_table(outcome.new_table, write_table, like=table_source)
        if out is not None:
            write_calibration(outcome, out)
    return outcome
