"""Scored results: the budget of one person and every step that made it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


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

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Compact pickling: a person's numbers as one text (spilled and sent by the million).

        Pickling each Decimal on its own costs several times more to load; the points of
        each answer are the table's own objects, which pickle shares within a chunk.
        """
        numbers = [
            *self.domain_points.values(),
            *self.stream_points.values(),
            *self.funding.values(),
            self.total_points,
            self.base,
            self.adjusted,
            self.before_limits,
            self.floor,
            self.clamped,
            self.annual,
            self.weekly,
            self.range_low,
            self.range_high,
        ]
        return (
            _budget,
            (
                self.question_points,  # its values are the table's own: pickled once a chunk
                tuple(self.domain_points),
                tuple(self.stream_points),
                tuple(self.funding),
                " ".join(map(str, numbers)),
                self.domain_capped,
                self.rate,
                self.adjustments,
                self.top_ups,
                self.ceiling,
                self.flags,
                self.steps,
            ),
        )

    @property
    def adjustments_total(self) -> Decimal:
        """£ effect of all adjustments (adjusted - base)."""
        return self.adjusted - self.base

    @property
    def top_ups_total(self) -> Decimal:
        """£ of all top-ups."""
        return sum((t.effect for t in self.top_ups), Decimal(0))


def _budget(
    question_points: dict[str, Decimal],
    domains: tuple[str, ...],
    streams: tuple[str, ...],
    funders: tuple[str, ...],
    numbers: str,
    domain_capped: dict[str, bool],
    rate: Decimal | None,
    adjustments: tuple[Applied, ...],
    top_ups: tuple[Applied, ...],
    ceiling: Decimal | None,
    flags: tuple[str, ...],
    steps: tuple[Step, ...],
) -> Budget:
    """A budget from :meth:`Budget.__reduce__`'s parts."""
    values = list(map(Decimal, numbers.split()))
    at = 0
    maps = []
    for keys in (domains, streams, funders):
        maps.append(dict(zip(keys, values[at : at + len(keys)], strict=True)))
        at += len(keys)
    (total, base, adjusted, before, floor, clamped, annual, weekly, low, high) = values[at:]
    budget = object.__new__(Budget)  # as unpickling does: no frozen __init__ field by field
    budget.__dict__.update(
        question_points=question_points,
        domain_points=maps[0],
        domain_capped=domain_capped,
        total_points=total,
        rate=rate,
        base=base,
        adjustments=adjustments,
        adjusted=adjusted,
        top_ups=top_ups,
        before_limits=before,
        floor=floor,
        ceiling=ceiling,
        clamped=clamped,
        annual=annual,
        weekly=weekly,
        range_low=low,
        range_high=high,
        funding=maps[2],
        stream_points=maps[1],
        flags=flags,
        steps=steps,
    )
    return budget
