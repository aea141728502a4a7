"""The plan: decisions turned into exact money, year by year (SPEC §9.1).

Every figure here is recomputed in Decimal from the chosen moves and releases, so the
plan is correct to the penny whatever the solver's floating-point tolerances.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ras.models.plan import (
    ZERO,
    ContractRow,
    MoveRow,
    OrgYearRow,
    Plan,
    PlanData,
    Solution,
    YearRow,
)
from ras.money import pounds


def make_plan(data: PlanData, solution: Solution) -> Plan:  # noqa: C901
    """Compute the plan's figures exactly from the solution's decisions."""
    movable = data.movable
    move_year = {movable[i].person_id: t for i, t in solution.moves.items()}
    released: dict[tuple[int, int], int] = {}
    for (j, t), steps in solution.releases.items():
        released[j, t] = steps * data.contracts[j].contract.release_step
    years: list[YearRow] = []
    previous_spend = data.baseline[0]
    for t in data.years:
        placements = budgets = overheads = transition = ZERO
        moves = in_budgets = 0
        for p in data.people:
            y = move_year.get(p.person_id)
            moved = y is not None and y <= t
            if p.in_placement and not moved:
                placements += p.annual_cost * data.f_pl[t]
            if moved:
                assert p.budget is not None
                in_budgets += 1
                budgets += p.budget * data.f_b[t]
                overheads += data.overhead * data.f_b[t]
            if y == t:
                moves += 1
                transition += data.transition_cost(p, t)
        contracts = decommissioning = ZERO
        units_released = 0
        for j, c in enumerate(data.contracts):
            total_released = sum(released.get((j, tau), 0) for tau in range(1, t + 1))
            now = released.get((j, t), 0)
            units_released += now
            contracts += (c.contract.units - total_released) * c.contract.unit_price * data.f_c[t]
            decommissioning += c.contract.decommission_cost * now
        row = YearRow(
            t,
            data.baseline[t],
            placements,
            budgets,
            overheads,
            transition,
            contracts,
            decommissioning,
            ZERO,
            moves,
            in_budgets,
            units_released,
        )
        target = data.baseline[t] - data.allowed_spend(t, previous_spend)
        row = replace(row, target=target)
        years.append(row)
        previous_spend = row.spend
    move_rows: list[MoveRow] = []
    for p in data.people:
        y = move_year.get(p.person_id)
        if y is None:
            continue
        assert p.budget is not None
        saving = p.annual_cost - p.budget - data.overhead
        move_rows.append(
            MoveRow(
                p.person_id,
                p.source,
                p.setting,
                y,
                p.annual_cost,
                p.budget,
                data.transition_cost(p, y),
                saving,
            )
        )
    move_rows.sort(key=lambda m: (m.year, m.person_id))
    contract_rows: list[ContractRow] = []
    for j, c in enumerate(data.contracts):
        held = c.contract.units
        for t in data.years:
            now = released.get((j, t), 0)
            contract_rows.append(
                ContractRow(
                    c.cid,
                    c.contract.provider,
                    t,
                    held,
                    now,
                    held - now,
                    (held - now) * c.contract.unit_price * data.f_c[t],
                    c.contract.decommission_cost * now,
                )
            )
            held -= now
    people: list[tuple[str, str, str]] = []
    for p in data.people:
        y = move_year.get(p.person_id)
        if y is not None:
            status = f"moves in year {y}"
        elif p.reason:
            status = p.reason
        else:
            status = "not chosen"
        people.append((p.person_id, p.setting, status))
    h = data.horizon
    weights = {p.person_id: p.weight for p in movable}
    person_years = sum((weights[pid] * (h - y + 1) for pid, y in move_year.items()), ZERO)
    total_savings = sum((r.savings for r in years), ZERO)
    plan = Plan(
        data, solution, years, move_rows, contract_rows, people, person_years, total_savings
    )
    if data.orgs is not None:
        plan.organisations = organisation_rows(data, move_year, released, years)
        short, plan.organisation_limits = organisation_limits(plan)
    else:
        short = []
    if not plan.target_met:
        plan.binding = short + binding_limits(plan)
    return plan


def organisation_rows(
    data: PlanData,
    move_year: dict[str, int],
    released: dict[tuple[int, int], int],
    system: list[YearRow],
) -> list[OrgYearRow]:
    """Each organisation's ledger, year by year, then the System row (SPEC §14), exactly."""
    orgs = data.orgs
    assert orgs is not None
    out: list[OrgYearRow] = []
    spent = {o: orgs.baseline[o][0] for o in orgs.ids}
    for t in data.years:
        rows = {
            o: dict.fromkeys(
                (
                    "placements",
                    "budgets",
                    "overheads",
                    "transition",
                    "contracts",
                    "decommissioning",
                    "paid",
                    "received",
                ),
                ZERO,
            )
            for o in orgs.ids
        }
        for p in data.people:
            pay = orgs.payers[p.person_id]
            y = move_year.get(p.person_id)
            moved = y is not None and y <= t
            if p.in_placement and not moved:
                rows[pay.place]["placements"] += p.annual_cost * data.f_pl[t]
            if not moved:
                continue
            assert p.budget is not None
            for o, share in pay.budget:
                rows[o]["budgets"] += share * p.budget * data.f_b[t]
                rows[o]["overheads"] += share * data.overhead * data.f_b[t]
                if y == t:
                    rows[o]["transition"] += share * p.setup_cost
            if y == t:
                rows[pay.place]["transition"] += data.double_running(p, t)
            for payer, to, share in pay.dowries:
                amount = share * p.annual_cost * data.f_pl[t]
                rows[payer]["paid"] += amount
                rows[to]["received"] += amount
        for j, c in enumerate(data.contracts):
            o = orgs.contract_payers[j]
            total = sum(released.get((j, tau), 0) for tau in range(1, t + 1))
            now = released.get((j, t), 0)
            rows[o]["contracts"] += (c.contract.units - total) * c.contract.unit_price * data.f_c[t]
            rows[o]["decommissioning"] += c.contract.decommission_cost * now
        for o in orgs.ids:
            r = rows[o]
            limit, kind = orgs.allowed_spend(o, t, spent[o])
            row = OrgYearRow(
                o,
                orgs.name(o),
                t,
                orgs.baseline[o][t],
                r["placements"],
                r["budgets"],
                r["overheads"],
                r["transition"],
                r["contracts"],
                r["decommissioning"],
                r["paid"],
                r["received"],
                limit,
                kind,
            )
            spent[o] = row.spend
            out.append(row)
        y_row = system[t - 1]
        paid = sum((rows[o]["paid"] for o in orgs.ids), ZERO)
        out.append(
            OrgYearRow(
                "",
                "System",
                t,
                y_row.baseline,
                y_row.placements,
                y_row.budgets,
                y_row.overheads,
                y_row.transition,
                y_row.contracts,
                y_row.decommissioning,
                paid,
                paid,
                y_row.baseline - y_row.target,
                "target",
            )
        )
    return out


#: A limit met with less room than this share of the organisation's baseline (or £1) is
#: reported as having little room left: it is likely to shape the plan.
LITTLE_ROOM = Decimal("0.005")


def _little_room(r: OrgYearRow) -> bool:
    assert r.limit is not None
    return r.limit - r.spend <= max(Decimal(1), LITTLE_ROOM * abs(r.baseline))


def organisation_limits(plan: Plan) -> tuple[list[str], list[str]]:
    """Organisation limits not met, and those met with little room left (SPEC §14)."""
    short: list[str] = []
    tight: list[str] = []
    rows = [r for r in plan.organisations if r.org and r.limit is not None]
    for org in dict.fromkeys(r.org for r in rows):
        mine = [r for r in rows if r.org == org]
        name = mine[0].name
        for kind in dict.fromkeys(r.limit_kind for r in mine):
            of_kind = [r for r in mine if r.limit_kind == kind]
            missed = [r for r in of_kind if not r.met]
            what = "no worse off" if kind == "no worse off" else "savings target"
            if missed:
                total = sum((r.shortfall for r in missed), ZERO)
                short.append(
                    f"organisation {name} ({what}): spends {pounds(total)} more than it may "
                    f"in year(s) {', '.join(str(r.year) for r in missed)}"
                )
            at = [r for r in of_kind if r.met and _little_room(r)]
            if at:
                each = ", ".join(f"{r.year} ({pounds(r.limit - r.spend)})" for r in at if r.limit)
                tight.append(f"organisation {name} ({what}): little room left in year(s) {each}")
    return short, tight


def binding_limits(plan: Plan) -> list[str]:  # noqa: C901
    """The limits that stop the target being met, in plain words."""
    data = plan.data
    out: list[str] = []
    short_years = [r.year for r in plan.years if not r.met]
    full = [r.year for r in plan.years if r.moves >= data.capacity[r.year - 1]]
    if full:
        out.append(
            "capacity: the team's capacity to plan moves is fully used in year(s) "
            + ", ".join(map(str, full))
        )
    for c in data.contracts:
        if c.earliest_release > 1 and any(y < c.earliest_release for y in short_years):
            out.append(
                f"notice period: contract {c.cid} cannot release places before year "
                f"{c.earliest_release} ({c.contract.notice_months} months' notice)"
            )
        released = sum(r.released for r in plan.contracts if r.contract_id == c.cid)
        if c.contract.units - released <= c.contract.minimum_units:
            out.append(
                f"minimum units: contract {c.cid} is held at its minimum of "
                f"{c.contract.minimum_units} units"
            )
    moved = {m.person_id for m in plan.moves}
    later = [
        p
        for p in data.movable
        if p.person_id not in moved and any(y < p.earliest_year for y in short_years)
    ]
    if later:
        out.append(
            f"people not ready: {len(later)} people cannot move before their earliest move year"
        )
    not_within = [p for p in data.people if p.reason == "not ready within horizon"]
    if not_within:
        out.append(f"people not ready: {len(not_within)} people are not ready within the horizon")
    dearer = [
        p
        for p in data.movable
        if p.person_id not in moved
        and p.in_placement
        and p.budget is not None
        and p.budget + data.overhead >= p.annual_cost
    ]
    members_dearer = [p for p in data.movable if p.person_id not in moved and not p.in_placement]
    if dearer:
        out.append(
            f"moves that cost more than they save: {len(dearer)} people's individual "
            "budgets cost as much as or more than their placements"
        )
    if members_dearer:
        out.append(
            f"block places: {len(members_dearer)} contract members not moved; their "
            "moves save money only when whole release steps of places can be released"
        )
    stay = [p for p in data.people if p.reason == "stay"]
    if stay:
        out.append(f"stay: {len(stay)} people are marked Stay and never move")
    missing = [p for p in data.people if p.reason == "no assessment"]
    if missing:
        out.append(
            f"no assessment: {len(missing)} registered people have no indicative "
            "budget in the allocations workbook"
        )
    return out
