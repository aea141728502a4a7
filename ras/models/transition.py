"""Transition (SPEC §13): the protection policy, and what a new table does to each person."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from pydantic import Field, model_validator

from ras.errors import Issue, ModelProblem
from ras.models.base import Frozen, Money, Rate, WholePercent


class Cuts(Frozen):
    """How cuts are protected: a cap a year, or phased in (not both)."""

    max_percent_per_year: WholePercent | None = Field(
        default=None, description="A cut is at most this % of last year's budget a year."
    )
    phase_in_years: int | None = Field(
        default=None, ge=1, description="A cut is phased in evenly over this many years."
    )

    @model_validator(mode="after")
    def _one_rule(self) -> Cuts:
        if self.max_percent_per_year is not None and self.phase_in_years is not None:
            raise ModelProblem([((), "give max_percent_per_year or phase_in_years, not both")])
        m = self.max_percent_per_year
        if m is not None and not Decimal(0) < m <= 100:
            raise ModelProblem([(("max_percent_per_year",), "must be above 0 and at most 100")])
        return self


class Rises(Frozen):
    """How rises are paid."""

    phase_in_years: int = Field(default=1, ge=1, description="1: at once.")


class PolicyAffordability(Frozen):
    """Scale the new table so that the protected year-1 total fits the money."""

    budget: Money = Field(description="The money available (£ a year).")
    contingency: Rate = Field(default=Decimal("0.05"), description="Share held back.")

    @model_validator(mode="after")
    def _money_to_spend(self) -> PolicyAffordability:
        if self.budget < 0:  # as calibrate's --budget
            raise ModelProblem([(("budget",), "must be 0 or more (the money available a year)")])
        if not Decimal(0) <= self.contingency < 1:  # as calibrate's --contingency
            raise ModelProblem(
                [(("contingency",), "must be 0 or more and below 100 % (it is held back)")]
            )
        return self


class Policy(Frozen):
    """The transition policy (SPEC §13); every key optional."""

    ras_policy: int = Field(default=1, description="The policy format: 1.")
    years: int = Field(default=3, ge=1, le=20, description="Plan years shown.")
    cuts: Cuts | None = Field(default=None, description="Protection from cuts; none if left out.")
    rises: Rises = Rises()
    protect_when_need_fell: bool = Field(
        default=True, description="false: a person whose total points fell is not protected."
    )
    affordability: PolicyAffordability | None = None

    @model_validator(mode="after")
    def _format(self) -> Policy:
        if self.ras_policy != 1:
            raise ModelProblem(
                [(("ras_policy",), "this version of ras reads policies of format 1")]
            )
        return self


#: The bands of change, in order (SPEC §13).
BANDS = (
    "new",
    "down 20 % or more",
    "down 10–20 %",
    "down under 10 %",
    "unchanged",
    "up under 10 %",
    "up 10–20 %",
    "up 20 % or more",
)


@dataclass(frozen=True)
class ChangedAnswer:
    """An answer that differs between the old and the new assessment, and its effect."""

    question: str
    old: str | None
    new: str | None
    effect: Decimal  # new points of the new answer - old points of the old


@dataclass(frozen=True)
class Side:
    """One person on one side: the budget, and (for ras workbooks) points and answers."""

    person_id: str
    budget: Decimal
    fields: dict[str, object] = field(default_factory=dict)
    points: Decimal | None = None
    answers: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # q -> (answer, pts)
    #: Where the Person ID is, when a spreadsheet took it for a date (it is warned of).
    date_id_at: str = ""


@dataclass(frozen=True)
class PersonChange:
    """What the new table does to one person, year by year."""

    person_id: str
    old: Decimal
    new: Decimal
    band: str
    years: tuple[Decimal, ...]  # b_1 .. b_years
    status: str  # protected | not protected (not needed) | not protected (need fell) | ...
    fields: dict[str, object]
    changed: tuple[ChangedAnswer, ...] = ()
    old_points: Decimal | None = None
    new_points: Decimal | None = None

    @property
    def change(self) -> Decimal:
        """New - old (£)."""
        return self.new - self.old

    @property
    def change_share(self) -> Decimal | None:
        """(new - old) / old; None when there was no old budget."""
        return None if self.old == 0 else (self.new - self.old) / self.old


@dataclass
class TransitionOutcome:
    """Everything ``ras transition`` found."""

    policy: Policy
    people: list[PersonChange]
    only_old: list[Side]
    only_new: list[Side]
    rounding: Decimal
    old_path: Path
    new_path: Path
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    scale: Decimal | None = None  # affordability: the scale on the new table's amounts
    rate: Decimal | None = None  # affordability: the new table's rate at that scale
    affordable_total: Decimal | None = None  # budget x (1 - contingency)
    field_labels: dict[str, str] = field(default_factory=dict)  # person field id -> label
    option_labels: dict[str, dict[str, str]] = field(default_factory=dict)  # id -> {opt: label}
    money_fields: frozenset[str] = frozenset()  # person field ids of type money (shown in £)
    warnings: list[Issue] = field(default_factory=list)  # people on one side only, by a slip?

    def year_total(self, year: int) -> Decimal:
        """Σ b_year over everyone in NEW (people only in NEW at their new budget)."""
        matched = sum((p.years[year - 1] for p in self.people), Decimal(0))
        return matched + sum((s.budget for s in self.only_new), Decimal(0))

    @property
    def affordable(self) -> bool | None:
        """Whether year 1 fits the affordable total (None: no affordability was asked).

        False when even a rate of 0 costs more: the protection, floors or top-ups alone
        exceed the money.
        """
        if self.affordable_total is None:
            return None
        return self.year_total(1) <= self.affordable_total

    def cost_of_protection(self) -> list[Decimal]:
        """Σ max(0, b_y - n) for each year."""
        return [
            sum((max(Decimal(0), p.years[y] - p.new) for p in self.people), Decimal(0))
            for y in range(self.policy.years)
        ]

    def saving_from_phasing(self) -> list[Decimal]:
        """Σ max(0, n - b_y) for each year."""
        return [
            sum((max(Decimal(0), p.new - p.years[y]) for p in self.people), Decimal(0))
            for y in range(self.policy.years)
        ]
