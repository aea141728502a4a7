"""The transfer plan as plain records (SPEC §9, §9.1): data, solver outcome, plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path

from ras.errors import Issue
from ras.models.registers import Contract
from ras.models.savings import Savings
from ras.models.scenario import LoadedScenario, Scenario

ZERO = Decimal(0)


ONE = Decimal(1)


@dataclass(frozen=True)
class PersonData:
    """A registered person as the model sees them."""

    person_id: str
    setting: str  # inpatient | out_of_area | residential | block
    source: str  # placement provider, or contract id for members
    contract_id: str | None  # members only
    annual_cost: Decimal  # A_p (placements); the unit price for members
    budget: Decimal | None  # B_p, from allocations
    earliest_year: int
    setup_cost: Decimal
    weight: Decimal
    stay: bool
    reason: str = ""  # why the person cannot move ("" when movable)

    @property
    def movable(self) -> bool:
        """In M: has a budget, not Stay, ready within the horizon."""
        return not self.reason

    @property
    def in_placement(self) -> bool:
        """In Pl (a placement, not a contract place)."""
        return self.contract_id is None


@dataclass(frozen=True)
class ContractData:
    """A contract with its derived figures."""

    contract: Contract
    members: tuple[PersonData, ...]  # every member
    movable_members: tuple[PersonData, ...]  # m_c ∩ M
    vacancies: int  # v_c = U_c - |m_c|
    earliest_release: int  # n_c

    @property
    def cid(self) -> str:
        """Contract ID."""
        return self.contract.contract_id


@dataclass(frozen=True)
class Payers:
    """Who pays for one person (SPEC §14)."""

    place: str  # the placement's payer, or the contract's for a member
    budget: tuple[tuple[str, Decimal], ...]  # (organisation, share of budget), shares sum to 1
    dowries: tuple[tuple[str, str, Decimal], ...] = ()  # (from, to, share of A_p) after a move

    def budget_share(self, org: str) -> Decimal:
        """The share of the person's budget, overhead and set-up ``org`` pays."""
        return sum((share for o, share in self.budget if o == org), ZERO)

    def dowry_rate(self, org: str) -> Decimal:
        """Dowries ``org`` pays for the person, net of those it receives, per £ of A_p."""
        paid = sum((share for f, _, share in self.dowries if f == org), ZERO)
        return paid - sum((share for _, t, share in self.dowries if t == org), ZERO)


@dataclass(frozen=True)
class OrgData:
    """The organisations of a plan and who pays what (SPEC §14)."""

    ids: tuple[str, ...]
    names: dict[str, str]
    payers: dict[str, Payers]  # person id -> payers
    contract_payers: tuple[str, ...]  # by contract index
    baseline: dict[str, tuple[Decimal, ...]]  # Baseline_{o,t}, t = 0..H
    no_worse_off: tuple[str, ...]
    targets: dict[str, Savings]
    warnings: tuple[Issue, ...] = ()  # e.g. a funding stream no budget is paid from

    def name(self, org: str) -> str:
        """How people read an organisation."""
        return self.names.get(org, org)

    def allowed_spend(
        self, org: str, t: int, previous_spend: Decimal
    ) -> tuple[Decimal | None, str]:
        """The most ``org`` may spend in year t, and why ("" and None: no limit).

        The tighter of its target and, for a ``no_worse_off`` organisation, its baseline.
        """
        limits: list[tuple[Decimal, str]] = []
        if org in self.no_worse_off:
            limits.append((self.baseline[org][t], "no worse off"))
        target = self.targets.get(org)
        if target is not None:
            limits.append((target_spend(target, t, previous_spend, self.baseline[org]), "target"))
        if not limits:
            return None, ""
        return min(limits, key=lambda item: item[0])


def target_spend(
    s: Savings, t: int, previous_spend: Decimal, baseline: tuple[Decimal, ...]
) -> Decimal:
    """The most year t may cost under a savings target (SPEC §9 constraint 5)."""
    if s.kind == "year_on_year":
        assert s.rate is not None
        return (ONE - s.rate) * previous_spend
    if s.kind == "vs_baseline":
        assert s.rates is not None
        return (ONE - s.rates[t - 1]) * baseline[t]
    assert s.amounts is not None
    return baseline[t] - s.amounts[t - 1]


@dataclass(frozen=True)
class PlanData:
    """Everything the formulation and the plan need."""

    scenario: Scenario
    horizon: int
    people: tuple[PersonData, ...]  # every registered person, placements first
    contracts: tuple[ContractData, ...]
    f_pl: tuple[Decimal, ...]  # F^pl_t for t = 0..H
    f_c: tuple[Decimal, ...]
    f_b: tuple[Decimal, ...]
    overhead: Decimal  # O
    overlap_weeks: Decimal
    weeks_per_year: Decimal
    capacity: tuple[int, ...]  # capacity_t for t = 1..H (index t-1)
    baseline: tuple[Decimal, ...]  # Baseline_t for t = 0..H
    missing_budgets: tuple[str, ...] = field(default=())
    orgs: OrgData | None = None  # SPEC §14; None: one purse, as without organisations
    warnings: tuple[Issue, ...] = ()  # the registers' rows used as read, but doubtful

    @property
    def years(self) -> range:
        """Plan years 1..H."""
        return range(1, self.horizon + 1)

    @property
    def movable(self) -> tuple[PersonData, ...]:
        """M, in register order."""
        return tuple(p for p in self.people if p.movable)

    @property
    def placements(self) -> tuple[PersonData, ...]:
        """Pl: every person in a placement."""
        return tuple(p for p in self.people if p.in_placement)

    def transition_cost(self, p: PersonData, t: int) -> Decimal:
        """T_{p,t}: set-up, plus double running for placement people (inflated)."""
        if not p.in_placement:
            return p.setup_cost
        return p.setup_cost + self.double_running(p, t)

    def allowed_spend(self, t: int, previous_spend: Decimal) -> Decimal:
        """The most year t may cost under the savings target (before any shortfall)."""
        return target_spend(self.scenario.savings, t, previous_spend, self.baseline)

    def double_running(self, p: PersonData, t: int) -> Decimal:
        """The placement cost paid while the budget starts (placement people only)."""
        if not p.in_placement:
            return ZERO
        return self.overlap_weeks * (p.annual_cost / self.weeks_per_year) * self.f_pl[t]


@dataclass(frozen=True)
class Progress:
    """A solve's state, as progress lines show it (objective in the stage's own units)."""

    stage: str
    incumbent: float | None
    bound: float | None
    gap: float | None
    elapsed: float  # seconds since the whole run started


#: Default limit on the whole solve, in seconds (SPEC §16).
DEFAULT_TIME_LIMIT = 600.0


class SolveStatus(Enum):
    """What a solve achieved."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped (time limit, Ctrl-C) with an incumbent
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no solution"  # stopped or failed without an incumbent


@dataclass(frozen=True)
class StageResult:
    """One solve: the objective it optimised and how it ended."""

    stage: str
    status: SolveStatus
    objective: float | None
    bound: float | None
    gap: float | None  # relative, e.g. 0.0001
    seconds: float
    variables: int
    constraints: int
    stopped: str = ""  # "" | "time limit" | "interrupted"

    @property
    def has_plan(self) -> bool:
        """Whether the stage ended with a plan."""
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass
class SolveOptions:
    """Solver choice and limits."""

    solver: str = "highs"  # highs | cbc
    time_limit: float | None = DEFAULT_TIME_LIMIT  # seconds for the whole solve; None: none
    gap: float = 1e-4  # relative MIP gap of the money stages
    threads: int | None = None
    msg: bool = False
    progress: Callable[[Progress], None] | None = None
    progress_every: float = 5.0  # seconds between progress reports


@dataclass
class Solution:
    """The decisions of the last stage that found a plan, and every stage's outcome."""

    moves: dict[int, int]  # movable index -> year
    releases: dict[tuple[int, int], int]  # (contract index, year) -> steps (k)
    shortfall: dict[int, float]  # year -> s_t (shortfall model only)
    stages: list[StageResult] = field(default_factory=list)
    target_met: bool = True
    solver_name: str = ""
    solver_version: str = ""
    build_seconds: float = 0.0
    time_limit: float | None = None

    @property
    def stopped(self) -> str:
        """``interrupted``, ``time limit`` or "" (every stage ran to its gap)."""
        reasons = {s.stopped for s in self.stages}
        if "interrupted" in reasons:
            return "interrupted"
        return "time limit" if "time limit" in reasons else ""

    @property
    def gap(self) -> float | None:
        """The worst relative gap of the stages that found a plan (None: not known)."""
        gaps = [s.gap for s in self.stages if s.has_plan]
        if not gaps or any(g is None for g in gaps):
            return None
        return max(g for g in gaps if g is not None)

    @property
    def status(self) -> SolveStatus:
        """OPTIMAL when every stage ran to its gap; FEASIBLE when any was stopped."""
        return SolveStatus.FEASIBLE if self.stopped else SolveStatus.OPTIMAL


#: Savings within this many pounds of the target count as met (solver tolerances).
MET_TOLERANCE = Decimal("1.00")


@dataclass(frozen=True)
class YearRow:
    """One plan year."""

    year: int
    baseline: Decimal
    placements: Decimal
    budgets: Decimal
    overheads: Decimal
    transition: Decimal
    contracts: Decimal
    decommissioning: Decimal
    target: Decimal  # savings required
    moves: int
    in_budgets: int
    units_released: int

    @property
    def spend(self) -> Decimal:
        """Total spend."""
        return (
            self.placements
            + self.budgets
            + self.overheads
            + self.transition
            + self.contracts
            + self.decommissioning
        )

    @property
    def savings(self) -> Decimal:
        """Baseline - spend."""
        return self.baseline - self.spend

    @property
    def shortfall(self) -> Decimal:
        """How far savings fall short of the target (0 when met)."""
        short = self.target - self.savings
        return short if short > MET_TOLERANCE else ZERO

    @property
    def met(self) -> bool:
        """Whether the year's target is met (within £1)."""
        return self.shortfall == 0


@dataclass(frozen=True)
class OrgYearRow:
    """One organisation's spend in one plan year (SPEC §14); ``org`` "" is the System row."""

    org: str
    name: str
    year: int
    baseline: Decimal
    placements: Decimal
    budgets: Decimal
    overheads: Decimal
    transition: Decimal
    contracts: Decimal
    decommissioning: Decimal
    dowries_paid: Decimal
    dowries_received: Decimal
    limit: Decimal | None = None  # the most it may spend (target, no worse off)
    limit_kind: str = ""  # "target" | "no worse off" | ""

    @property
    def spend(self) -> Decimal:
        """Net spend: its share of the plan, plus dowries paid, minus dowries received."""
        return (
            self.placements
            + self.budgets
            + self.overheads
            + self.transition
            + self.contracts
            + self.decommissioning
            + self.dowries_paid
            - self.dowries_received
        )

    @property
    def savings(self) -> Decimal:
        """Baseline - net spend."""
        return self.baseline - self.spend

    @property
    def target(self) -> Decimal | None:
        """Savings required (None: no target and not protected)."""
        return None if self.limit is None else self.baseline - self.limit

    @property
    def shortfall(self) -> Decimal:
        """How far its spend is above its limit (0 when within it, or within £1)."""
        if self.limit is None:
            return ZERO
        short = self.spend - self.limit
        return short if short > MET_TOLERANCE else ZERO

    @property
    def met(self) -> bool | None:
        """Whether the limit holds (None: no limit)."""
        return None if self.limit is None else self.shortfall == 0


@dataclass(frozen=True)
class MoveRow:
    """One move."""

    person_id: str
    source: str
    setting: str
    year: int
    current_cost: Decimal
    budget: Decimal
    transition_cost: Decimal
    annual_saving: Decimal  # year-0 prices


@dataclass(frozen=True)
class ContractRow:
    """One contract in one year."""

    contract_id: str
    provider: str
    year: int
    units_start: int
    released: int
    retained: int
    annual_value: Decimal
    decommission_cost: Decimal


@dataclass
class Plan:
    """Everything plan.xlsx shows."""

    data: PlanData
    solution: Solution
    years: list[YearRow]
    moves: list[MoveRow]
    contracts: list[ContractRow]
    people: list[tuple[str, str, str]]  # (person id, setting, status)
    person_years: Decimal
    total_savings: Decimal
    binding: list[str] = field(default_factory=list)
    organisations: list[OrgYearRow] = field(default_factory=list)  # by year, then org; System
    organisation_limits: list[str] = field(default_factory=list)  # limits met with no room

    @property
    def target_met(self) -> bool:
        """Whether every year's target, and every organisation's limit, is met."""
        return all(y.met for y in self.years) and all(
            r.met is not False for r in self.organisations
        )

    @property
    def stopped(self) -> str:
        """``interrupted`` or ``time limit`` when the solver was stopped early, else ""."""
        return self.solution.stopped

    @property
    def status(self) -> str:
        """OPTIMAL, TARGET NOT MET, TIME LIMIT (gap x %) or INTERRUPTED (gap x %).

        The gap is the worst of the stages that ran, so a plan is OPTIMAL only when
        every stage reached its gap.
        """
        if self.stopped:
            label = "INTERRUPTED" if self.stopped == "interrupted" else "TIME LIMIT"
            gap = self.solution.gap
            shown = "unknown" if gap is None else f"{gap * 100:.3g} %"
            text = f"{label} (gap {shown})"
            return text if self.target_met else f"{text}; TARGET NOT MET"
        if not self.target_met:
            return "TARGET NOT MET"
        return "OPTIMAL"


@dataclass
class PlanOutcome:
    """A solved plan and what it was made from."""

    loaded: LoadedScenario
    data: PlanData
    plan: Plan
    build_seconds: float
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256
    out: Path | None = None
