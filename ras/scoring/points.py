"""Answers x point table -> points (SPEC §3.1 steps 1-3). Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ras.models.table import PointTable

ZERO = Decimal(0)


@dataclass(frozen=True)
class Points:
    """Points by question and by domain, and the total."""

    question: dict[str, Decimal]
    domain_raw: dict[str, Decimal]
    domain: dict[str, Decimal]
    capped: dict[str, bool]
    total: Decimal


def score_points(table: PointTable, answers: Mapping[str, str]) -> Points:
    """Score canonical answers; unanswered questions score 0 (steps 1-3)."""
    question: dict[str, Decimal] = {}
    domain_raw: dict[str, Decimal] = {}
    domain: dict[str, Decimal] = {}
    capped: dict[str, bool] = {}
    for d in table.domains:
        raw = ZERO
        for q in d.questions:
            answer = answers.get(q.id)
            pts = q.answers[answer] if answer is not None else ZERO
            question[q.id] = pts
            raw += pts
        domain_raw[d.id] = raw
        if d.cap is not None and raw > d.cap:
            domain[d.id], capped[d.id] = d.cap, True
        else:
            domain[d.id], capped[d.id] = raw, False
    total = sum(domain.values(), ZERO)
    return Points(question, domain_raw, domain, capped, total)
