"""The savings target (SPEC §8), of the whole plan or of one organisation (§14)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ras.choices import SAVINGS_KIND_LABELS, match_choice
from ras.errors import KeyPath
from ras.models.base import Frozen, Money, Rate, choice_of

SavingsKind = Annotated[
    Literal["year_on_year", "vs_baseline", "absolute"], choice_of(SAVINGS_KIND_LABELS)
]


#: The savings values, of which each kind uses one.
_KIND_VALUES = ("rate", "rates", "amounts")
#: The one of those each kind of target uses; the others are dropped (a variant may
#: switch the kind, leaving the base file's value behind).
KIND_USES = {"year_on_year": "rate", "vs_baseline": "rates", "absolute": "amounts"}


class Savings(Frozen):
    """The savings target."""

    kind: SavingsKind = Field(
        description="year_on_year: each year's spend a rate below the plan's previous year; "
        "vs_baseline: a rate below the base year each year; absolute: £ amounts a year."
    )
    rate: Rate | None = Field(
        default=None,
        description="year_on_year: each year's spend must be at least this rate below the "
        "plan's own spend the year before (spend_t <= (1 - rate) x spend_t-1), e.g. 3%.",
    )
    rates: tuple[Rate, ...] | None = Field(
        default=None,
        description="vs_baseline: one rate per plan year; savings_t >= rate_t x baseline_t.",
    )
    amounts: tuple[Money, ...] | None = Field(
        default=None,
        description="absolute: the £ to save in each plan year (savings_t >= amount_t).",
    )

    @model_validator(mode="before")
    @classmethod
    def _only_the_kinds_values(cls, data: Any) -> Any:
        """Keep only the value the kind uses (a variant may switch kind: rate -> rates)."""
        if not isinstance(data, dict):
            return data
        kind = match_choice(data.get("kind", ""), SAVINGS_KIND_LABELS)
        uses = KIND_USES.get(kind or "")
        if uses is None:
            return data
        return {k: v for k, v in data.items() if k == uses or k not in _KIND_VALUES}


def savings_problems(s: Savings, horizon: int | None, path: KeyPath) -> list[tuple[KeyPath, str]]:
    """What is wrong with a savings target for a plan of ``horizon`` years.

    With no valid horizon (``None``) the values per year wait for it; a rate is checked
    at once.
    """
    problems: list[tuple[KeyPath, str]] = []
    if s.kind == "year_on_year":
        if s.rate is None:
            problems.append(((*path, "rate"), "year_on_year needs a rate, e.g. 0.03"))
        elif not Decimal(0) <= s.rate < 1:
            problems.append(((*path, "rate"), "must be at least 0 % and below 100 %, e.g. 3%"))
    elif horizon is None:
        pass
    elif s.kind == "vs_baseline":
        if s.rates is None or len(s.rates) != horizon:
            problems.append(((*path, "rates"), f"vs_baseline needs one rate per year ({horizon})"))
    elif s.amounts is None or len(s.amounts) != horizon:
        problems.append(((*path, "amounts"), f"absolute needs one amount per year ({horizon})"))
    return problems
