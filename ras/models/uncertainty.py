"""Uncertainty in the transfer plan (SPEC §17): what may cost more than planned.

A section of the scenario with defaults of no variance: without it (or with every
value at its default) a simulated plan costs exactly what the plan says.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ras.errors import KeyPath, ModelProblem
from ras.models.base import WEEKS_LIMIT, Dec, Frozen, Share, choice_of

#: The distributions a budget multiplier may follow (only lognormal, mean 1, so far).
DISTRIBUTION_LABELS = {"lognormal": "Lognormal"}
Distribution = Annotated[Literal["lognormal"], choice_of(DISTRIBUTION_LABELS)]
#: The most draws one run may ask for.
MAX_SAMPLES = 10_000_000
#: Bounds far beyond any real spread, and below what overflows a draw: a sigma of 5
#: already makes one budget in a thousand cost 5,000 times the indicative one.
MAX_SD = 5
MAX_MULTIPLIER = 100


class BudgetSpread(Frozen):
    """How far a person's real budget may be from the indicative one."""

    distribution: Distribution = Field(
        default="lognormal", description="The multiplier's distribution (mean 1)."
    )
    sd: Dec = Field(
        default=Decimal(0),
        description="Its spread: sigma of the log, e.g. 0.15 (0: budgets cost what is planned).",
    )


class Readmission(Frozen):
    """People readmitted to a placement after they moved."""

    probability_per_year: Share = Field(
        default=Decimal(0), description="The chance, each year from the move, e.g. 5%."
    )
    weeks: Dec = Field(
        default=Decimal(0),
        description="Weeks of placement cost a readmission adds that year, on top of the budget.",
    )


class Breakdown(Frozen):
    """Support that breaks down and is re-made dearer."""

    probability_per_year: Share = Field(
        default=Decimal(0), description="The chance, each year from the move, e.g. 2%."
    )
    cost_multiplier: Dec = Field(
        default=Decimal(1),
        description="The budget is multiplied by this from the breakdown on, e.g. 1.25.",
    )


class Robust(Frozen):
    """The robust plan asked for, if any."""

    probability: Share | None = Field(
        default=None,
        description="Find the smallest planning margin whose plan meets every year's target "
        "in at least this share of draws, e.g. 90% (empty: no robust plan).",
    )


class Uncertainty(Frozen):
    """What ``ras simulate`` draws (SPEC §17)."""

    budgets: BudgetSpread = BudgetSpread()
    readmission: Readmission = Readmission()
    breakdown: Breakdown = Breakdown()
    samples: int = Field(default=1000, description="Draws to simulate.")
    seed: int = Field(
        default=0, description="The draws' seed: the same seed gives the same draws anywhere."
    )
    robust: Robust = Robust()

    @model_validator(mode="after")
    def _sensible(self) -> Uncertainty:
        problems: list[tuple[KeyPath, str]] = []
        if not 0 <= self.budgets.sd <= MAX_SD:
            problems.append((("budgets", "sd"), f"must be from 0 to {MAX_SD}"))
        if not 0 <= self.readmission.weeks <= WEEKS_LIMIT:  # a year at most
            problems.append((("readmission", "weeks"), f"must be from 0 to {WEEKS_LIMIT}"))
        if not 0 <= self.breakdown.cost_multiplier <= MAX_MULTIPLIER:
            problems.append(
                (("breakdown", "cost_multiplier"), f"must be from 0 to {MAX_MULTIPLIER}")
            )
        if not 1 <= self.samples <= MAX_SAMPLES:
            problems.append((("samples",), f"must be from 1 to {MAX_SAMPLES:,}"))
        if self.seed < 0:
            problems.append((("seed",), "must be 0 or more"))
        p = self.robust.probability
        if p is not None and not Decimal(0) < p <= 1:
            problems.append((("robust", "probability"), "must be above 0% and at most 100%"))
        if problems:
            raise ModelProblem(problems)
        return self

    @property
    def deterministic(self) -> bool:
        """Whether every draw is the plan itself (no variance anywhere)."""
        return (
            self.budgets.sd == 0
            and (self.readmission.probability_per_year == 0 or self.readmission.weeks == 0)
            and (self.breakdown.probability_per_year == 0 or self.breakdown.cost_multiplier == 1)
        )
