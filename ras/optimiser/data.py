"""The model's data (SPEC §9 "Data"), derived from a scenario, registers and budgets.

Pure and exact: every figure is a Decimal; the formulation turns them into floats
only at the edge of the solver.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ras.errors import InputError, Issue, Location
from ras.models.plan import ONE, ZERO, ContractData, PersonData, PlanData
from ras.models.registers import Registers
from ras.models.scenario import Scenario


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
            issues.append(
                Issue(
                    "too-many-members",
                    Location(c.where),
                    f"contract {c.contract_id!r} has more members than units",
                )
            )
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
