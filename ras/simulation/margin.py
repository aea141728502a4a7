"""Planning margins (SPEC §17): budgets planned dearer than indicated, and the search.

A plan made at margin m plans every budget at B_p (1 + m); it is then evaluated with the
nominal B_p on the same draws as every other plan. The robust margin is the smallest
multiple of ``MARGIN_STEP`` whose plan meets every year's target in the asked share of
draws, found by bisection: the answer's plan passes and the plan one step below fails
(or the answer is 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from ras.models.plan import PersonData, PlanData
from ras.models.risk import MARGIN_MAX, MARGIN_STEP


def with_margin(data: PlanData, margin: Decimal) -> PlanData:
    """The same data with every budget planned at B_p (1 + margin)."""
    if margin == 0:
        return data
    factor = 1 + margin

    def dearer(p: PersonData) -> PersonData:
        return p if p.budget is None else replace(p, budget=p.budget * factor)

    people = tuple(dearer(p) for p in data.people)
    contracts = tuple(
        replace(
            c,
            members=tuple(dearer(p) for p in c.members),
            movable_members=tuple(dearer(p) for p in c.movable_members),
        )
        for c in data.contracts
    )
    return replace(data, people=people, contracts=contracts)


def steps(margin: Decimal) -> int:
    """A margin as a whole number of steps."""
    return int(margin / MARGIN_STEP)


def smallest_passing(
    passes: Callable[[int], bool], feasible: Callable[[int], bool], top: int | None = None
) -> tuple[int | None, int]:
    """The smallest step k with ``passes(k)``, and the largest step searched.

    ``feasible(k)``: whether the plan at step k meets the target at all (dearer budgets
    make it harder, so beyond some margin no plan does). The search asks ``passes(0)``;
    then finds by bisection the largest feasible step K up to ``top``; if ``passes(K)``,
    bisects between 0 (fails) and K (passes): the answer k passes and k - 1 fails (or k
    is 0). None when no feasible margin passes. The questions asked depend only on the
    answers, so the search is the same wherever the solves run.
    """
    top = steps(MARGIN_MAX) if top is None else top
    if passes(0):
        return 0, 0
    if not feasible(0):
        return None, 0
    high = top if feasible(top) else _first_true(0, top, lambda k: not feasible(k)) - 1
    if high == 0 or not passes(high):
        return None, high
    return _first_true(0, high, passes), high


def _first_true(lo: int, hi: int, test: Callable[[int], bool]) -> int:
    """The k in (lo, hi] where ``test`` turns true, by bisection (false at lo, true at hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if test(mid):
            hi = mid
        else:
            lo = mid
    return hi
