"""Matching the two sides and working out each person's change (SPEC §13)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from ras.models.calibration import Person
from ras.models.table import PointTable
from ras.models.transition import ChangedAnswer, PersonChange, Policy, Side
from ras.scoring.budgets import compute_budget
from ras.transition.protection import band_of, largest_affordable, protected_years

ZERO = Decimal(0)


def need_fell(old: Side | None, new: Side) -> bool:
    """Whether the person's total points fell (known only when both sides have points)."""
    return (
        old is not None
        and old.points is not None
        and new.points is not None
        and new.points < old.points
    )


def changed_answers(old: Side, new: Side) -> tuple[ChangedAnswer, ...]:
    """Answers that differ, each with NEW points of the new answer - OLD points of the old."""
    out = []
    for q in list(dict.fromkeys([*old.answers, *new.answers])):
        o, n = old.answers.get(q), new.answers.get(q)
        if (o[0] if o else None) == (n[0] if n else None):
            continue
        effect = (n[1] if n else ZERO) - (o[1] if o else ZERO)
        out.append(ChangedAnswer(q, o[0] if o else None, n[0] if n else None, effect))
    return tuple(out)


def person_changes(
    olds: Sequence[Side],
    news: Sequence[Side],
    new_budgets: Mapping[str, Decimal],
    policy: Policy,
    rounding: Decimal,
) -> tuple[list[PersonChange], list[Side], list[Side]]:
    """Everyone matched by Person ID (in NEW's order), and the people on one side only."""
    old_by = {s.person_id: s for s in olds}
    new_ids = {s.person_id for s in news}
    out: list[PersonChange] = []
    for n in news:
        o = old_by.get(n.person_id)
        if o is None:
            continue
        budget = new_budgets.get(n.person_id, n.budget)
        years, status = protected_years(o.budget, budget, policy, rounding, need_fell(o, n))
        out.append(
            PersonChange(
                n.person_id,
                o.budget,
                budget,
                band_of(o.budget, budget),
                years,
                status,
                dict(n.fields) or dict(o.fields),
                changed_answers(o, n) if o.answers and n.answers else (),
                o.points,
                n.points,
            )
        )
    only_old = [s for s in olds if s.person_id not in new_ids]
    only_new = [s for s in news if s.person_id not in old_by]
    return out, only_old, only_new


def affordable_budgets(
    table: PointTable,
    people: Sequence[Person],
    olds: Sequence[Side],
    news: Sequence[Side],
    policy: Policy,
    rounding: Decimal,
) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    """The scale on NEW's table at which Σ b_1 over everyone in NEW fits the money.

    NEW is re-scored from its answers at each trial scale (every rate, or the band or
    curve amounts, together). Returns the scale, Σ b_1 there, and each new budget.
    """
    assert policy.affordability is not None
    target = policy.affordability.budget * (1 - policy.affordability.contingency)
    old_by = {s.person_id: s for s in olds}
    new_by = {s.person_id: s for s in news}

    def budgets(scale: Decimal) -> dict[str, Decimal]:
        return {
            p.person_id: compute_budget(
                table, p.answers, p.fields, scale=scale, explain=False
            ).annual
            for p in people
        }

    def year_one(scale: Decimal) -> Decimal:
        total = ZERO
        for pid, n in budgets(scale).items():
            o = old_by.get(pid)
            fell = need_fell(o, new_by[pid]) if pid in new_by else False
            years, _ = protected_years(o.budget if o else ZERO, n, policy, rounding, fell)
            total += years[0]
        return total

    scale, total = largest_affordable(year_one, target)
    return scale, total, budgets(scale)
