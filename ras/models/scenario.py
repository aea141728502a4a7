"""The transfer-plan scenario (SPEC §8): a strict, frozen model."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from ras.errors import KeyPath, ModelProblem
from ras.models.base import Dec, Frozen


class DataFiles(Frozen):
    """Input files, relative to the scenario file."""

    allocations: str = Field(description="allocations.xlsx from `ras score`.")
    placements: str = Field(description="placements.xlsx register.")
    contracts: str = Field(description="contracts.xlsx register.")


class Inflation(Frozen):
    """Yearly growth rates."""

    placements: Dec = Field(default=Decimal(0), description="Placement costs.")
    contracts: Dec = Field(default=Decimal(0), description="Block contract values.")
    budgets: Dec = Field(default=Decimal(0), description="Individual budgets and overheads.")


class Transition(Frozen):
    """One-off costs of a move."""

    overlap_weeks: Dec = Field(default=Decimal(0), description="Weeks of double running.")
    setup_cost: Dec = Field(default=Decimal(0), description="Set-up cost per move (£).")


class Overheads(Frozen):
    """Running costs per budget holder."""

    per_budget_per_year: Dec = Field(default=Decimal(0), description="£ per budget a year.")


class Capacity(Frozen):
    """How many moves the team can plan each year."""

    moves_per_year: int | tuple[int, ...] = Field(description="A number, or one per year.")


class Priority(Frozen):
    """Weights per setting (a person's Priority overrides)."""

    inpatient: Dec = Decimal(3)
    out_of_area: Dec = Decimal(2)
    residential: Dec = Decimal("1.5")
    block: Dec = Decimal(1)


class Savings(Frozen):
    """The savings target."""

    kind: Literal["year_on_year", "vs_baseline", "absolute"]
    rate: Dec | None = Field(default=None, description="year_on_year: one rate.")
    rates: tuple[Dec, ...] | None = Field(default=None, description="vs_baseline: per year.")
    amounts: tuple[Dec, ...] | None = Field(default=None, description="absolute: £ per year.")


class Scenario(Frozen):
    """A scenario after variants and ``--set`` were applied."""

    ras_scenario: int
    name: str
    base_year: int
    horizon: int = Field(ge=1, le=50)
    data: DataFiles
    weeks_per_year: Dec = Decimal("52.143")
    inflation: Inflation = Inflation()
    transition: Transition = Transition()
    overheads: Overheads = Overheads()
    capacity: Capacity
    priority: Priority = Priority()
    savings: Savings
    objective: Literal["personalise", "save"] = "personalise"
    variants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems: list[tuple[KeyPath, str]] = []
        if self.ras_scenario != 1:
            problems.append((("ras_scenario",), "this version of ras reads scenarios of format 1"))
        if self.weeks_per_year <= 0:
            problems.append((("weeks_per_year",), "must be above 0"))
        cap = self.capacity.moves_per_year
        if isinstance(cap, tuple):
            if len(cap) != self.horizon:
                problems.append(
                    (
                        ("capacity", "moves_per_year"),
                        f"give one number per plan year ({self.horizon}), not {len(cap)}",
                    )
                )
            if any(c < 0 for c in cap):
                problems.append((("capacity", "moves_per_year"), "cannot be negative"))
        elif cap < 0:
            problems.append((("capacity", "moves_per_year"), "cannot be negative"))
        s = self.savings
        if s.kind == "year_on_year":
            if s.rate is None:
                problems.append((("savings", "rate"), "year_on_year needs a rate, e.g. 0.03"))
            elif not Decimal(0) <= s.rate < 1:
                problems.append((("savings", "rate"), "must be from 0 up to 1"))
        elif s.kind == "vs_baseline":
            if s.rates is None or len(s.rates) != self.horizon:
                problems.append(
                    (("savings", "rates"), f"vs_baseline needs one rate per year ({self.horizon})")
                )
        elif s.amounts is None or len(s.amounts) != self.horizon:
            problems.append(
                (("savings", "amounts"), f"absolute needs one amount per year ({self.horizon})")
            )
        for key in ("placements", "contracts", "budgets"):
            if getattr(self.inflation, key) <= -1:
                problems.append((("inflation", key), "must be above -1"))
        if problems:
            raise ModelProblem(problems)
        return self

    def capacity_in(self, year: int) -> int:
        """Moves the team can plan in plan year ``year`` (1-based)."""
        cap = self.capacity.moves_per_year
        return cap[year - 1] if isinstance(cap, tuple) else cap


@dataclass(frozen=True)
class Override:
    """One value set over the scenario file (``--set``, a frontier point)."""

    keys: tuple[str, ...]  # e.g. ("savings", "rate")
    value: Any  # a plain YAML value
    source: str  # where it came from, as the Assumptions sheet shows it: "--set"
    where: str  # as an error about the value names it: "--set savings.rate=0.05"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario and where its values came from."""

    scenario: Scenario
    path: Path
    variant: str | None
    overrides: tuple[tuple[str, str, str], ...] = ()  # (key, value, source)
    raw: dict[str, Any] = field(default_factory=dict)

    def resolve(self, relative: str) -> Path:
        """A data path, relative to the scenario file."""
        p = Path(relative)
        return p if p.is_absolute() else (self.path.parent / p)

    def assumptions(self) -> list[tuple[str, str]]:
        """Every value used, flattened to dotted keys (variants left out)."""
        data = self.scenario.model_dump(mode="json", exclude={"variants"})
        out: list[tuple[str, str]] = []

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            elif isinstance(value, list):
                out.append((prefix, ", ".join(str(v) for v in value)))
            else:
                out.append((prefix, "" if value is None else str(value)))

        walk("", data)
        return out
