"""A plan's spend under drawn costs (SPEC §17), vectorised with numpy.

Draw i is made from its own generator, seeded by (seed, i) alone, for every movable
person and plan year, whether or not the plan moves them: so any block of draws, on any
worker, gives the same numbers, and two plans are compared on the same draws. The
spend of a draw is the plan's own (exact) spend plus a difference worked out here in
floating point; with no variance the difference is exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from ras.models.plan import Plan, PlanData
from ras.models.uncertainty import Uncertainty

#: Draws evaluated together (memory: draws x people x years x 8 bytes per array).
BLOCK = 500


@dataclass(frozen=True)
class PlanArrays:
    """What the draws need of one plan: small, plain, and cheap to send to a worker."""

    move_year: np.ndarray  # (P,) int: the year each movable person moves, 0 if not
    budget: np.ndarray  # (P, H) B_p F^b_t, the budget as planned in each year
    readmission: np.ndarray  # (P, H) A_p F^pl_t x weeks / weeks_per_year (0 for members)


def plan_arrays(data: PlanData, plan: Plan, unc: Uncertainty) -> PlanArrays:
    """The plan's moves and the money at stake for each movable person and year."""
    people = data.movable
    h = data.horizon
    years = {m.person_id: m.year for m in plan.moves}
    f_b = np.array([float(data.f_b[t]) for t in range(1, h + 1)])
    f_pl = np.array([float(data.f_pl[t]) for t in range(1, h + 1)])
    budget = np.array([float(p.budget or 0) for p in people])
    weeks = float(unc.readmission.weeks / data.weeks_per_year)
    cost = np.array([float(p.annual_cost) if p.in_placement else 0.0 for p in people])
    return PlanArrays(
        np.array([years.get(p.person_id, 0) for p in people], dtype=np.int64),
        budget[:, None] * f_b[None, :],
        cost[:, None] * f_pl[None, :] * weeks,
    )


def extra_spend(arrays: PlanArrays, unc: Uncertainty, start: int, stop: int) -> np.ndarray:
    """Draws ``start`` to ``stop - 1``: each year's spend above the plan's, (draws, H).

    Per moved person: the budget times a lognormal multiplier (mean 1, drawn once) and
    the breakdown multiplier for each breakdown so far (compounding), less the budget as
    planned; plus the placement's cost for the readmission weeks in each year with a
    readmission (placement people). Every year from the move year on.
    """
    n_people, h = arrays.budget.shape
    n = stop - start
    z = np.empty((n, n_people))
    u_readmit = np.empty((n, n_people, h))
    u_break = np.empty((n, n_people, h))
    for k, i in enumerate(range(start, stop)):
        rng = np.random.default_rng(np.random.SeedSequence([unc.seed, i]))
        z[k] = rng.standard_normal(n_people)
        u_readmit[k] = rng.random((n_people, h))
        u_break[k] = rng.random((n_people, h))
    year = np.arange(1, h + 1)
    moved = arrays.move_year[:, None] > 0
    after = moved & (year[None, :] >= arrays.move_year[:, None])  # (P, H)
    sd = float(unc.budgets.sd)
    multiplier = np.exp(sd * z - sd * sd / 2) if sd else np.ones((n, n_people))
    p_break = float(unc.breakdown.probability_per_year)
    factor = float(unc.breakdown.cost_multiplier)
    breaks = (u_break < p_break) & after[None]
    grown = factor ** np.cumsum(breaks, axis=2) if p_break and factor != 1 else 1.0
    budget = arrays.budget[None] * (multiplier[:, :, None] * grown - 1.0)
    p_readmit = float(unc.readmission.probability_per_year)
    readmitted = (u_readmit < p_readmit) & after[None]
    extra = np.where(after[None], budget, 0.0) + readmitted * arrays.readmission[None]
    out: np.ndarray = extra.sum(axis=1)
    return out


def blocks(samples: int, size: int = BLOCK) -> list[tuple[int, int]]:
    """The draws 0..samples-1 in blocks: [(start, stop), ...]."""
    return [(s, min(s + size, samples)) for s in range(0, samples, size)]


@dataclass(frozen=True)
class Targets:
    """The plan's savings target as the draws test it (SPEC §9 constraint 5)."""

    kind: str  # year_on_year | vs_baseline | absolute
    keep: Decimal  # year_on_year: 1 - rate
    allowed: tuple[Decimal, ...]  # the most each year may cost (vs_baseline, absolute)
    base0: Decimal  # Spend_0 = Baseline_0


def targets_of(data: PlanData) -> Targets:
    """The target of a plan's data."""
    s = data.scenario.savings
    if s.kind == "year_on_year":
        return Targets(s.kind, 1 - (s.rate or Decimal(0)), (), data.baseline[0])
    allowed = tuple(data.allowed_spend(t, data.baseline[0]) for t in data.years)
    return Targets(s.kind, Decimal(1), allowed, data.baseline[0])


def years_met(
    plan_spend: list[Decimal], extra: np.ndarray, targets: Targets, tolerance: float = 1.0
) -> np.ndarray:
    """Whether each draw meets each year's target (shortfall at most £1), (draws, H).

    Under ``year_on_year`` each draw's spend is held against the same draw's spend the
    year before. The plan's own part of each shortfall is exact (decimals) and the
    draws' part is added to it, so with no variance the answer is the plan's own.
    """
    h = len(plan_spend)
    if targets.kind == "year_on_year":
        previous = [targets.base0, *plan_spend[:-1]]
        exact = np.array([float(plan_spend[t] - targets.keep * previous[t]) for t in range(h)])
        before = np.concatenate([np.zeros((extra.shape[0], 1)), extra[:, :-1]], axis=1)
        shortfall = exact[None, :] + (extra - float(targets.keep) * before)
    else:
        exact = np.array([float(plan_spend[t] - targets.allowed[t]) for t in range(h)])
        shortfall = exact[None, :] + extra
    met: np.ndarray = shortfall <= tolerance
    return met
