"""A plan under uncertainty, as plain records (SPEC §17): what ``risk.xlsx`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ras.errors import Issue
from ras.models.scenario import LoadedScenario

#: The robust margin is searched in steps of this (budgets planned at B_p (1 + margin)).
MARGIN_STEP = Decimal("0.005")
#: ... up to this margin.
MARGIN_MAX = Decimal(1)


@dataclass(frozen=True)
class PlanResult:
    """One solved plan (the optimised one, or one at a planning margin), plainly."""

    margin: Decimal
    status: str  # the plan's status as plan.xlsx shows it
    target_met: bool  # whether the solve met the target (with the margin's budgets)
    moves: dict[str, int]  # person id -> move year
    releases: dict[tuple[str, int], int]  # (contract id, year) -> units released
    spend: tuple[Decimal, ...]  # each year's spend with nominal budgets, exact
    allowed: tuple[Decimal, ...]  # the most each year may cost under the target
    baseline: tuple[Decimal, ...]  # Baseline_t, t = 1..H
    person_years: Decimal
    total_savings: Decimal  # with nominal budgets
    stopped: str = ""  # "" | "time limit" | "interrupted": the solve stopped short


@dataclass(frozen=True)
class YearRisk:
    """One plan year under the draws."""

    year: int
    plan: str  # optimised | robust
    share_met: float  # of draws meeting this year's target
    spend: tuple[Decimal, Decimal, Decimal]  # P10, P50, P90 (£)
    savings: tuple[Decimal, Decimal, Decimal]  # P10, P50, P90 (£)
    extra_mean: Decimal  # mean spend above the plan's (£)
    extra_max: Decimal  # the largest (£)


@dataclass(frozen=True)
class MarginTried:
    """One step of the search for the robust margin."""

    margin: Decimal
    target_met: bool  # whether its solve met the target
    share_met: float | None  # of draws meeting every year (None: not evaluated)
    status: str


@dataclass
class RiskOutcome:
    """``ras simulate``: the optimised plan and, when asked, the robust one, under draws."""

    loaded: LoadedScenario
    samples: int
    seed: int
    optimised: PlanResult
    optimised_share: float  # of draws meeting every year
    years: list[YearRisk]
    robust: PlanResult | None = None
    robust_share: float | None = None
    asked: Decimal | None = None  # the share asked for (uncertainty.robust.probability)
    margin: Decimal | None = None  # the robust margin found (None: none up to MARGIN_MAX)
    highest_margin: Decimal | None = None  # the largest margin whose plan meets the target
    #: The robust search stopped at the time limit: ``margin`` (if any) passes but may not
    #: be the smallest that does, and None says only that none tried passed.
    robust_stopped: bool = False
    tried: list[MarginTried] = field(default_factory=list)
    workers: int = 0
    where: str = "local cluster"  # or the scheduler's address
    seconds: float = 0.0
    files: dict[str, str] = field(default_factory=dict)  # input path -> sha256
    out: Path | None = None
    warnings: tuple[Issue, ...] = ()  # about the registers: their rows used as read
