"""The model's data (SPEC §9 "Data"), derived from a scenario, registers and budgets.

Pure and exact: every figure is a Decimal; the formulation turns them into floats
only at the edge of the solver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from ras.cells import ID_SLIP_FIX, nearly_matching
from ras.choices import match_choice
from ras.errors import InputError, Issue, KeyPath, Location, Severity, quote
from ras.models.organisations import UNASSIGNED, Organisations
from ras.models.plan import ONE, ZERO, ContractData, OrgData, Payers, PersonData, PlanData
from ras.models.registers import Member, Placement, Registers
from ras.models.scenario import Scenario


def _growth(rate: Decimal, horizon: int) -> tuple[Decimal, ...]:
    return tuple((ONE + rate) ** t for t in range(horizon + 1))


def build_data(
    scenario: Scenario,
    registers: Registers,
    budgets: Mapping[str, Decimal],
    funding: Mapping[str, Mapping[str, Decimal]] | None = None,
    given_at: Callable[[KeyPath], Location] | None = None,
) -> PlanData:
    """Derive the model's data; raises :class:`InputError` for inconsistent registers.

    ``funding`` is each person's budget by funding stream (SPEC §3.2), used to split
    budgets between organisations when the scenario has them (SPEC §14); ``given_at``
    says where the scenario gives a key (``organisations.budgets.health``), for problems.
    """
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
    orgs = None
    if scenario.organisations is not None:
        orgs = build_org_data(
            scenario.organisations,
            registers,
            people,
            contracts,
            funding or {},
            (f_pl, f_c),
            given_at or (lambda _: Location("the scenario")),
        )
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
        orgs=orgs,
        warnings=registers.warnings
        + _ids_nearly_matching(registers, budgets)
        + (orgs.warnings if orgs else ()),
    )


def _ids_nearly_matching(registers: Registers, budgets: Mapping[str, Decimal]) -> tuple[Issue, ...]:
    """Registered people without a budget whose ID nearly matches a budgeted person's.

    Nearly: but for leading zeros, spaces or case. Most often Excel turned ``00123``,
    typed into a cell formatted as a number, into 123.
    """
    registered: list[Placement | Member] = [*registers.placements, *registers.members]
    ids = {p.person_id for p in registered}
    near = nearly_matching(
        (p.person_id for p in registered if p.person_id not in budgets),
        (pid for pid in budgets if pid not in ids),
    )
    return tuple(
        Issue(
            "person-id-nearly-matches",
            Location(p.where),
            f"Person ID {quote(p.person_id)} has no budget in the allocations, which "
            f"have {quote(near[p.person_id])}: planned as without an assessment",
            ID_SLIP_FIX,
            p.person_id,
            Severity.WARNING,
        )
        for p in registered
        if p.person_id in near
    )


def build_org_data(  # noqa: C901 - one pass per register, each check with its own message
    orgs: Organisations,
    registers: Registers,
    people: Sequence[PersonData],
    contracts: Sequence[ContractData],
    funding: Mapping[str, Mapping[str, Decimal]],
    growth: tuple[tuple[Decimal, ...], tuple[Decimal, ...]],
    given_at: Callable[[KeyPath], Location],
) -> OrgData:
    """Who pays for each person and contract (SPEC §14).

    Raises:
        InputError: an unknown organisation in a Funder cell, or a placement, contract or
            funding stream nobody pays (every problem at once, each with its place).
    """
    issues: list[Issue] = []
    labels = orgs.labels()
    f_pl, f_c = growth
    budgets_at = given_at(("organisations", "budgets"))

    def funder(typed: str | None, at: Location | None, fallback: str | None, what: str) -> str:
        if typed:
            hit = match_choice(typed, labels)
            if hit is None:
                issues.append(
                    Issue(
                        "unknown-organisation",
                        at or budgets_at,
                        f"Funder {quote(typed)} is not one of the scenario's organisations",
                        f"use one of the ids in organisations.ids: {', '.join(orgs.ids)}",
                    )
                )
                return ""
            return hit
        if fallback is None:
            issues.append(
                Issue(
                    "no-payer",
                    at or budgets_at,
                    f"nobody pays for this {what}",
                    f"give a Funder here, or set {_fallback_key(what)} in the scenario",
                )
            )
            return ""
        return fallback

    place_payer = {
        p.person_id: funder(
            p.funder,
            p.funder_at,
            orgs.placements.get(p.setting),  # type: ignore[call-overload]
            f"{p.setting} placement",
        )
        for p in registers.placements
    }
    contract_payer = {
        c.contract_id: funder(c.funder, c.funder_at, orgs.contracts, "block contract")
        for c in registers.contracts
    }
    payers: dict[str, Payers] = {}
    missing_streams: dict[str, str] = {}
    for p in people:
        place = place_payer[p.person_id] if p.in_placement else contract_payer[p.source]
        split = {s: a for s, a in funding.get(p.person_id, {}).items() if a > 0}
        total = sum(split.values(), ZERO)
        shares: dict[str, Decimal] = {}
        if not split or total <= 0:
            split, total = {UNASSIGNED: ONE}, ONE
        for stream, amount in split.items():
            payer = orgs.stream_payer(stream)
            if payer is None:
                missing_streams.setdefault(stream, p.person_id)
                continue
            shares[payer] = shares.get(payer, ZERO) + amount / total
        dowries = tuple(
            (d.payer, d.to, d.share)
            for d in orgs.dowries
            if p.in_placement and d.setting == p.setting and d.payer == place
        )
        payers[p.person_id] = Payers(place, tuple(shares.items()), dowries)
    for stream in missing_streams:
        issues.append(
            Issue(
                "no-payer",
                budgets_at,
                f"nobody pays the funding stream {quote(stream)} of people's budgets",
                f"add budgets.{stream} (or budgets.unassigned) to the scenario's organisations",
            )
        )
    if issues:
        raise InputError("\n".join(i.one_line() for i in issues), issues)
    h = len(f_pl) - 1
    drawn = {s for split in funding.values() for s in split}
    streams = {k: k for k in orgs.budgets if k != UNASSIGNED}
    used = {match_choice(s, streams) for s in drawn}
    warnings = tuple(
        Issue(
            "funding-stream-unused",
            given_at(("organisations", "budgets", named)),
            f"organisations.budgets names the funding stream {quote(named)}, from which no "
            "budget in the allocations is paid, so its payer pays for no one",
            (
                "several streams are separated by ';', not ','; "
                if "," in named
                else "check the spelling; "
            )
            + (
                f"the allocations' streams are {', '.join(sorted(drawn))}"
                if drawn
                else "the allocations split no budget by funding stream"
            ),
            severity=Severity.WARNING,
        )
        for named in streams
        if named not in used
    )
    baseline = {
        o: tuple(
            sum(
                (
                    p.annual_cost * f_pl[t]
                    for p in people
                    if p.in_placement and payers[p.person_id].place == o
                ),
                ZERO,
            )
            + sum(
                (c.contract.annual_value * f_c[t] for c in contracts if contract_payer[c.cid] == o),
                ZERO,
            )
            for t in range(h + 1)
        )
        for o in orgs.ids
    }
    return OrgData(
        ids=orgs.ids,
        names=dict(labels),
        payers=payers,
        contract_payers=tuple(contract_payer[c.cid] for c in contracts),
        baseline=baseline,
        no_worse_off=orgs.no_worse_off,
        targets=dict(orgs.targets),
        warnings=warnings,
    )


def _fallback_key(what: str) -> str:
    if what == "block contract":
        return "organisations.contracts"
    return f"organisations.placements.{what.split()[0]}"
