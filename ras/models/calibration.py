"""Calibration results as plain records: the sample, the fit, affordability, the outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.models.table import PointTable


@dataclass(frozen=True)
class Person:
    """A scored person as calibration sees them."""

    person_id: str
    fields: dict[str, object]
    answers: dict[str, str]
    cost: Decimal | None  # current annual cost


@dataclass(frozen=True)
class SampleRow:
    """One person of the sample."""

    person_id: str
    group: str
    points: Decimal
    base: Decimal  # base amount under the current table
    cost: Decimal
    fitted: Decimal
    current_budget: Decimal
    range_low: Decimal
    range_high: Decimal

    @property
    def residual(self) -> Decimal:
        """Cost - fitted."""
        return self.cost - self.fitted

    @property
    def pct_error(self) -> Decimal:
        """|residual| / cost."""
        return abs(self.residual) / self.cost


@dataclass
class Fit:
    """The least-squares fit through the origin and how good it is."""

    method: str  # rate | bands | curve
    rate: Decimal | None = None  # fitted `rate` (rate tables)
    group_rates: dict[str, Decimal] = field(default_factory=dict)  # groups fitted on their own
    scaled_rates: dict[str, Decimal] = field(default_factory=dict)  # small groups, scaled
    factor: Decimal | None = None  # fitted scale (bands/curve; also rate / table rate)
    sample: list[SampleRow] = field(default_factory=list)
    r_squared: float | None = None
    mape: float | None = None
    median_ape: float | None = None
    inside_range: float | None = None  # share of costs inside the current indicative range
    tolerance: Decimal = Decimal("0.5")
    warnings: list[str] = field(default_factory=list)  # what makes the fit less certain

    @property
    def outliers(self) -> list[SampleRow]:
        """Sample rows whose % error exceeds the tolerance."""
        return [r for r in self.sample if r.pct_error > self.tolerance]


@dataclass
class Affordability:
    """The rate (or scale) at which the sum of full budgets meets the affordable total."""

    budget: Decimal
    contingency: Decimal
    target: Decimal  # budget x (1 - contingency)
    scale: Decimal  # on the calibrated table
    total: Decimal  # at ``scale``
    exact: bool
    below: tuple[Decimal, Decimal] | None  # (scale, total) nearest below the target
    above: tuple[Decimal, Decimal] | None  # (scale, total) nearest at or above
    message: str
    rate: Decimal | None = None  # the affordable `rate` (rate tables)
    factor: Decimal | None = None  # the affordable scale relative to the current table


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
