"""Scored results: the budget of one person and every step that made it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Step:
    """One line of the audit trail (the ``Explanations`` sheet)."""

    step: str
    item: str
    points: Decimal | None
    amount: Decimal | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class Applied:
    """An adjustment or top-up that applied to a person."""

    id: str
    value: Decimal  # percent for adjustments, £ for top-ups
    effect: Decimal  # £ change it made


@dataclass(frozen=True)
class Budget:
    """A person's indicative budget, every intermediate figure kept exact (SPEC §3.1)."""

    question_points: dict[str, Decimal]
    domain_points: dict[str, Decimal]  # after caps
    domain_capped: dict[str, bool]
    total_points: Decimal
    rate: Decimal | None  # rate tables
    base: Decimal
    adjustments: tuple[Applied, ...]
    adjusted: Decimal
    top_ups: tuple[Applied, ...]
    before_limits: Decimal
    floor: Decimal
    ceiling: Decimal | None
    clamped: Decimal
    annual: Decimal
    weekly: Decimal
    range_low: Decimal
    range_high: Decimal
    funding: dict[str, Decimal]  # stream -> £, sums to ``annual``
    stream_points: dict[str, Decimal]
    flags: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def adjustments_total(self) -> Decimal:
        """£ effect of all adjustments (adjusted - base)."""
        return self.adjusted - self.base

    @property
    def top_ups_total(self) -> Decimal:
        """£ of all top-ups."""
        return sum((t.effect for t in self.top_ups), Decimal(0))
