"""The model's data (SPEC §9 "Data"), derived from a scenario, registers and budgets.

Pure and exact: every figure is a Decimal; the formulation turns them into floats
only at the edge of the solver.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from ras.errors import InputError, Issue
from ras.models.registers import Contract, Registers
from ras.models.scenario import Scenario

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
        return (
            p.setup_cost + self.overlap_weeks * (p.annual_cost / self.weeks_per_year) * self.f_pl[t]
        )

    def allowed_spend(self, t: int, previous_spend: Decimal) -> Decimal:
        """The most year t may cost under the savings target (before any shortfall)."""
        s = self.scenario.savings
        if s.kind == "year_on_year":
            assert s.rate is not None
            return (ONE - s.rate) * previous_spend
        if s.kind == "vs_baseline":
            assert s.rates is not None
            return (ONE - s.rates[t - 1]) * self.baseline[t]
        assert s.amounts is not None
        return self.baseline[t] - s.amounts[t - 1]


def _growth(rate: Decimal, horizon: int) -> tuple[Decimal, ...]:
    return tuple((ONE + rate) ** t for t in range(horizon + 1))


def build_data(
    scenario: Scenario, registers: Registers, budgets: Mapping[str, Decimal]
) -> PlanData:
    """Derive the model's data; raises :class:`InputError` for inconsistent registers."""
    h = scenario.horizon
    pr = scenario.priority
    weights = {
        "inpatient": pr.inpatient,
        "out_of_area": pr.out_of_area,
        "residential": pr.residential,
        "block": pr.block,
    }
    default_setup = scenario.transition.setup_cost

    def reason(budget: Decimal | None, stay: bool, earliest: int) -> str:
        if budget is None:
            return "no assessment"
        if stay:
            return "stay"
        if earliest > h:
            return "not ready within horizon"
        return ""

    people: list[PersonData] = []
    for p in registers.placements:
        b = budgets.get(p.person_id)
        people.append(
            PersonData(
                p.person_id,
                p.setting,
                p.provider,
                None,
                p.annual_cost,
                b,
                p.earliest_year,
                p.setup_cost if p.setup_cost is not None else default_setup,
                p.priority if p.priority is not None else weights[p.setting],
                p.stay,
                reason(b, p.stay, p.earliest_year),
            )
        )
    contracts: list[ContractData] = []
    issues: list[Issue] = []
    for c in registers.contracts:
        members: list[PersonData] = []
        for m in registers.members_of(c.contract_id):
            b = budgets.get(m.person_id)
            members.append(
                PersonData(
                    m.person_id,
                    "block",
                    c.contract_id,
                    c.contract_id,
                    c.unit_price,
                    b,
                    m.earliest_year,
                    m.setup_cost if m.setup_cost is not None else default_setup,
                    m.priority if m.priority is not None else weights["block"],
                    m.stay,
                    reason(b, m.stay, m.earliest_year),
                )
            )
        vacancies = c.units - len(members)
        if vacancies < 0:
            issues.append(Issue(c.where, f"contract {c.contract_id!r} has more members than units"))
        people.extend(members)
        contracts.append(
            ContractData(
                c,
                tuple(members),
                tuple(p for p in members if p.movable),
                vacancies,
                c.earliest_release_year,
            )
        )
    if issues:
        raise InputError("\n".join(i.one_line() for i in issues), issues)
    f_pl = _growth(scenario.inflation.placements, h)
    f_c = _growth(scenario.inflation.contracts, h)
    f_b = _growth(scenario.inflation.budgets, h)
    baseline = tuple(
        sum((p.annual_cost * f_pl[t] for p in people if p.in_placement), ZERO)
        + sum((c.contract.annual_value * f_c[t] for c in contracts), ZERO)
        for t in range(h + 1)
    )
    missing = tuple(p.person_id for p in people if p.budget is None)
    return PlanData(
        scenario=scenario,
        horizon=h,
        people=tuple(people),
        contracts=tuple(contracts),
        f_pl=f_pl,
        f_c=f_c,
        f_b=f_b,
        overhead=scenario.overheads.per_budget_per_year,
        overlap_weeks=scenario.transition.overlap_weeks,
        weeks_per_year=scenario.weeks_per_year,
        capacity=tuple(scenario.capacity_in(t) for t in range(1, h + 1)),
        baseline=baseline,
        missing_budgets=missing,
    )
