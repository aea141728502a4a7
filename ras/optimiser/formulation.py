"""Build the transfer model of SPEC §9 as a PuLP problem (no solving here).

One ``add_<family>_constraints`` function per constraint family; variables and
constraints carry readable names (``move_ASC_0001_y2``, ``savings_y3``) so that
the LP file of a small model can be read and kept as a golden file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pulp

from ras.models.plan import PlanData, target_spend
from ras.optimiser.compat import linear, new_variable

_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")


def _safe(text: str, used: set[str]) -> str:
    base = _UNSAFE.sub("_", text).strip("_") or "id"
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}_{n}"
    used.add(name)
    return name


@dataclass
class Built:
    """A built problem: the PuLP problem, its variables and the expressions of §9."""

    data: PlanData
    prob: Any
    x: dict[tuple[int, int], Any]  # (index into data.movable, year) -> binary
    k: dict[tuple[int, int], Any]  # (index into data.contracts, year) -> integer steps
    shortfall: dict[int, Any] = field(default_factory=dict)  # year -> s_t
    #: (organisation, year) -> s_{o,t}, the shortfall of an organisation's limit (SPEC §14)
    org_shortfall: dict[tuple[str, int], Any] = field(default_factory=dict)
    person_names: list[str] = field(default_factory=list)  # safe names, by movable index
    contract_names: list[str] = field(default_factory=list)
    spend: dict[int, Any] = field(default_factory=dict)  # year -> Spend_t (affine)
    org_spend: dict[tuple[str, int], Any] = field(default_factory=dict)  # Spend_{o,t}
    person_years: Any = None  # Σ w_p (H - t + 1) x_{p,t}
    total_savings: Any = None  # Σ_t Savings_t
    total_shortfall: Any = None  # Σ_t s_t


def add_variables(b: Built) -> None:
    """x_{p,t} for movable p and e_p <= t <= H; k_{c,t} for n_c <= t <= H; s_t."""
    data, prob = b.data, b.prob
    used: set[str] = set()
    for i, p in enumerate(data.movable):
        name = _safe(p.person_id, used)
        b.person_names.append(name)
        for t in range(p.earliest_year, data.horizon + 1):
            b.x[i, t] = new_variable(prob, f"move_{name}_y{t}", 0, 1, pulp.LpBinary)
    used = set()
    for j, c in enumerate(data.contracts):
        name = _safe(c.cid, used)
        b.contract_names.append(name)
        upper = (c.contract.units - c.contract.minimum_units) // c.contract.release_step
        for t in range(max(c.earliest_release, 1), data.horizon + 1):
            b.k[j, t] = new_variable(prob, f"release_{name}_y{t}", 0, upper, pulp.LpInteger)


def add_one_move_constraints(b: Built) -> None:
    """1. Σ_t x_{p,t} <= 1: each person moves at most once."""
    for i in range(len(b.data.movable)):
        terms = [(b.x[i, t], 1.0) for t in b.data.years if (i, t) in b.x]
        if len(terms) > 1:
            b.prob += linear(terms) <= 1, f"one_move_{b.person_names[i]}"


def add_minimum_units_constraints(b: Built) -> None:
    """2. R_{c,H} <= U_c - L_c: the minimum volume is kept."""
    for j, c in enumerate(b.data.contracts):
        terms = [(b.k[j, t], float(c.contract.release_step)) for t in b.data.years if (j, t) in b.k]
        if terms:
            limit = c.contract.units - c.contract.minimum_units
            b.prob += linear(terms) <= limit, f"minimum_units_{b.contract_names[j]}"


def add_empty_places_constraints(b: Built) -> None:
    """3. R_{c,t} <= v_c + Σ_{p in m_c ∩ M} X_{p,t}: only empty places are released."""
    index = {p.person_id: i for i, p in enumerate(b.data.movable)}
    for j, c in enumerate(b.data.contracts):
        if not any((j, t) in b.k for t in b.data.years):
            continue
        name = b.contract_names[j]
        for t in b.data.years:
            terms: list[tuple[Any, float]] = [
                (b.k[j, tau], float(c.contract.release_step))
                for tau in range(1, t + 1)
                if (j, tau) in b.k
            ]
            if not terms:
                continue
            for p in c.movable_members:
                i = index[p.person_id]
                terms += [(b.x[i, tau], -1.0) for tau in range(1, t + 1) if (i, tau) in b.x]
            b.prob += linear(terms) <= c.vacancies, f"empty_places_{name}_y{t}"


def add_capacity_constraints(b: Built) -> None:
    """4. Σ_p x_{p,t} <= capacity_t: the team's capacity to plan moves."""
    for t in b.data.years:
        terms = [(var, 1.0) for (i, tau), var in b.x.items() if tau == t]
        if terms:
            b.prob += linear(terms) <= b.data.capacity[t - 1], f"capacity_y{t}"


def spend_expression(b: Built, t: int) -> Any:
    """Spend_t as an affine expression of the decisions (SPEC §9 constraint 5)."""
    d = b.data
    pairs: list[tuple[Any, float]] = []
    for i, p in enumerate(d.movable):
        assert p.budget is not None
        running = (p.budget + d.overhead) * d.f_b[t]
        if p.in_placement:
            running -= p.annual_cost * d.f_pl[t]
        for tau in range(p.earliest_year, t + 1):
            coef = running
            if tau == t:
                coef += d.transition_cost(p, t)
            pairs.append((b.x[i, tau], float(coef)))
    for j in range(len(d.contracts)):
        pairs += _contract_terms(b, j, t)
    return linear(pairs, float(d.baseline[t]))


def _contract_terms(b: Built, j: int, t: int) -> list[tuple[Any, float]]:
    """Contract j's part of Spend_t beyond its value: units released, decommissioning."""
    c = b.data.contracts[j]
    unit = c.contract.unit_price * b.data.f_c[t]
    step = c.contract.release_step
    pairs: list[tuple[Any, float]] = []
    for tau in range(1, t + 1):
        if (j, tau) not in b.k:
            continue
        coef = -unit * step
        if tau == t:
            coef += c.contract.decommission_cost * step
        pairs.append((b.k[j, tau], float(coef)))
    return pairs


def org_spend_expression(b: Built, org: str, t: int) -> Any:
    """Spend_{o,t}: the part of Spend_t ``org`` pays, plus dowries paid, minus received.

    SPEC §14: a placement and its double running are the placement's payer's; budgets,
    overheads and set-up are split by the person's funding streams; contracts and
    decommissioning are the contract's payer's; a dowry is share x A_p F^pl_t a year.
    """
    d = b.data
    assert d.orgs is not None
    pairs: list[tuple[Any, float]] = []
    for i, p in enumerate(d.movable):
        assert p.budget is not None
        pay = d.orgs.payers[p.person_id]
        share = pay.budget_share(org)
        running = share * (p.budget + d.overhead) * d.f_b[t]
        running += pay.dowry_rate(org) * p.annual_cost * d.f_pl[t]
        mine = pay.place == org
        if p.in_placement and mine:
            running -= p.annual_cost * d.f_pl[t]
        once = share * p.setup_cost + (d.double_running(p, t) if mine else 0)
        for tau in range(p.earliest_year, t + 1):
            coef = running + (once if tau == t else 0)
            if coef:
                pairs.append((b.x[i, tau], float(coef)))
    for j in range(len(d.contracts)):
        if d.orgs.contract_payers[j] == org:
            pairs += _contract_terms(b, j, t)
    return linear(pairs, float(d.orgs.baseline[org][t]))


def add_organisation_constraints(b: Built, with_shortfall: bool) -> None:
    """SPEC §14: no_worse_off (Spend_{o,t} <= Baseline_{o,t}) and per-organisation targets.

    Each is its own row, ``no_worse_off_<org>_y<t>`` or ``target_<org>_y<t>``, so that a
    binding one can be named; with shortfall variables in the least-shortfall model.
    """
    orgs = b.data.orgs
    if orgs is None:
        return
    used: set[str] = set()
    limited = [o for o in orgs.ids if o in orgs.no_worse_off or o in orgs.targets]
    for o in limited:
        name = _safe(o, used)
        for t in b.data.years:
            b.org_spend[o, t] = org_spend_expression(b, o, t)
        rows: list[tuple[str, int, Any]] = []
        for t in b.data.years:
            if o in orgs.no_worse_off:
                rows.append(("no_worse_off", t, float(orgs.baseline[o][t])))
            target = orgs.targets.get(o)
            if target is not None:
                if target.kind == "year_on_year":
                    assert target.rate is not None
                    previous = b.org_spend[o, t - 1] if t > 1 else float(orgs.baseline[o][0])
                    rows.append(("target", t, float(1 - target.rate) * previous))
                else:
                    allowed = target_spend(target, t, orgs.baseline[o][0], orgs.baseline[o])
                    rows.append(("target", t, float(allowed)))
        for kind, t, limit in rows:
            lhs = b.org_spend[o, t]
            if with_shortfall:
                s = new_variable(
                    b.prob, f"shortfall_{kind}_{name}_y{t}", 0, None, pulp.LpContinuous
                )
                b.org_shortfall[f"{kind}:{o}", t] = s
                lhs = lhs - s
            b.prob += lhs - limit <= 0, f"{kind}_{name}_y{t}"


def add_savings_constraints(b: Built, with_shortfall: bool) -> None:
    """5. The savings target each year (with a shortfall s_t >= 0 when asked)."""
    d = b.data
    s = d.scenario.savings
    for t in d.years:
        b.spend[t] = spend_expression(b, t)
    for t in d.years:
        lhs = b.spend[t]
        if with_shortfall:
            b.shortfall[t] = new_variable(b.prob, f"shortfall_y{t}", 0, None, pulp.LpContinuous)
            lhs = lhs - b.shortfall[t]
        if s.kind == "year_on_year":
            assert s.rate is not None
            keep = float(1 - s.rate)
            previous = b.spend[t - 1] if t > 1 else float(d.baseline[0])
            b.prob += lhs - keep * previous <= 0, f"savings_y{t}"
        else:
            allowed = d.allowed_spend(t, d.baseline[0])
            b.prob += lhs <= float(allowed), f"savings_y{t}"


def add_objectives(b: Built) -> None:
    """The objective expressions (set on the problem by the solver stages)."""
    d = b.data
    h = d.horizon
    weights = {i: p.weight for i, p in enumerate(d.movable)}
    b.person_years = linear([(var, float(weights[i] * (h - t + 1))) for (i, t), var in b.x.items()])
    total_baseline = float(sum(d.baseline[1:]))
    b.total_savings = total_baseline - pulp.lpSum(b.spend[t] for t in d.years)
    every = [*b.shortfall.values(), *b.org_shortfall.values()]
    b.total_shortfall = pulp.lpSum(every) if every else None


def build(data: PlanData, with_shortfall: bool = False) -> Built:
    """Build the problem of SPEC §9 (with shortfall variables for an infeasible target)."""
    prob = pulp.LpProblem("ras_transfer_plan", pulp.LpMaximize)
    b = Built(data=data, prob=prob, x={}, k={})
    add_variables(b)
    add_one_move_constraints(b)
    add_minimum_units_constraints(b)
    add_empty_places_constraints(b)
    add_capacity_constraints(b)
    add_savings_constraints(b, with_shortfall)
    add_organisation_constraints(b, with_shortfall)
    add_objectives(b)
    prob.setObjective(
        b.person_years if data.scenario.objective == "personalise" else b.total_savings
    )
    return b
