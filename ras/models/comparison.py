"""Comparison results as plain records (SPEC §11): one summary per run, and the frontier."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from ras.errors import Issue
from ras.models.plan import OrgYearRow, YearRow


class RunEnd(Enum):
    """How one run of a comparison ended."""

    PLAN = "plan"  # a plan was made (its status says whether the target was met)
    STOPPED = "stopped"  # the solver was stopped early; its best plan is reported
    BAD_INPUT = "bad input"  # the scenario, a register or the allocations cannot be used
    BAD_USAGE = "bad usage"  # e.g. an unknown variant
    SOLVER_FAILED = "solver failed"  # the solver gave no usable plan
    CRASHED = "crashed"  # the worker process died


@dataclass(frozen=True)
class RunSummary:
    """What one run produced (small enough to send back from a worker)."""

    name: str
    status: str
    target_met: bool = False
    person_years: Decimal = Decimal(0)
    total_savings: Decimal = Decimal(0)
    moves: int = 0
    years: tuple[YearRow, ...] = ()
    error: str = ""
    end: RunEnd = RunEnd.PLAN
    rate: Decimal | None = None
    note: str = ""  # frontier points: what a reader should notice (a higher rate saving less)
    organisations: tuple[OrgYearRow, ...] = ()  # SPEC §14: each organisation's ledger

    @property
    def remark(self) -> str:
        """What a reader should notice: the note, else why the run has no plan."""
        return self.note or self.error

    def organisation_savings(self) -> list[tuple[str, Decimal, str, bool | None]]:
        """(name, savings over the plan, limit kinds, every limit met) per organisation."""
        out: list[tuple[str, Decimal, str, bool | None]] = []
        rows = [r for r in self.organisations if r.org]
        for org in dict.fromkeys(r.org for r in rows):
            mine = [r for r in rows if r.org == org]
            kinds = " / ".join(dict.fromkeys(r.limit_kind for r in mine if r.limit_kind))
            met = None if not kinds else all(r.met is not False for r in mine)
            out.append((mine[0].name, sum((r.savings for r in mine), Decimal(0)), kinds, met))
        return out


@dataclass
class CompareOutcome:
    """Every run side by side, and the frontier."""

    scenario: str
    runs: list[RunSummary]
    frontier: list[RunSummary]
    base_year: int | None = None  # for the plan years' financial-year labels
    warnings: list[Issue] = field(default_factory=list)  # about the runs' registers, once each
