"""The order of the stages for the transfer plan (SPEC §7-§9).

Scenario -> registers and budgets -> build -> solve -> plan. No maths of its own.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.errors import InputError, Issue, Severity
from ras.io.allocations import read_allocated
from ras.io.plan_writer import write_plan
from ras.io.reader import sha256_file
from ras.io.register_files import read_registers
from ras.io.scenario_file import load_scenario
from ras.models.plan import Plan, PlanData, PlanOutcome, SolveOptions
from ras.models.scenario import LoadedScenario, Override
from ras.money import pence, pounds
from ras.optimiser.data import build_data
from ras.optimiser.formulation import build
from ras.optimiser.readback import make_plan
from ras.optimiser.solve import solve
from ras.outputs import refuse_overwriting


def load_inputs(loaded: LoadedScenario) -> tuple[PlanData, dict[str, str]]:
    """Read the registers and the budgets a scenario names; derive the model's data."""
    sc = loaded.scenario
    paths = loaded.data_files()  # every missing file named at once
    allocations = paths["allocations"]
    # Both read before either's problems are raised: each file's are named in one run.
    failed: list[InputError] = []
    try:
        registers = read_registers(paths["placements"], paths["contracts"], sc.weeks_per_year)
    except InputError as exc:
        failed.append(exc)
    try:
        budgets, funding = read_allocated(allocations, funding=sc.organisations is not None)
    except InputError as exc:
        failed.append(exc)
    if len(failed) == 1:
        raise failed[0]
    if failed:
        raise InputError(
            "\n".join(str(e) for e in failed), [i for e in failed for i in e.issues]
        ) from failed[0]
    files = dict(registers.files)
    files[str(allocations)] = sha256_file(allocations)
    data = build_data(sc, registers, budgets, funding, loaded.location)
    warnings = loaded.warnings() + _none_budgeted(loaded, data, allocations) + data.warnings
    return replace(data, warnings=warnings), files


def _none_budgeted(loaded: LoadedScenario, data: PlanData, allocations: Path) -> tuple[Issue, ...]:
    """A warning when no registered person has a budget: most likely the wrong workbook.

    Empty registers (the blank ones ``ras template registers`` writes) are said as such:
    the plan of nobody was "OPTIMAL, 0 people move" without a word.
    """
    n = len(data.people)
    if not n and not data.contracts:
        return (
            Issue(
                "registers-empty",
                loaded.location(("data", "placements")),
                "the registers hold no placements and no block contracts, so there is "
                "nothing to plan",
                "fill in the registers: a row for each person in a placement on "
                "Placements, a row for each block contract on Contracts",
                severity=Severity.WARNING,
            ),
        )
    if not n or len(data.missing_budgets) < n:
        return ()
    return (
        Issue(
            "no-one-budgeted",
            loaded.location(("data", "allocations")),
            f"none of the {n:,} registered people has a budget in {allocations.name}, so no "
            "one can move",
            "check that data.allocations names the allocations of these people, and that "
            "their Person IDs are written alike in both",
            severity=Severity.WARNING,
        ),
    )


def plan_scenario(loaded: LoadedScenario, options: SolveOptions) -> PlanOutcome:
    """Build and solve one (loaded) scenario."""
    data, files = load_inputs(loaded)
    start = time.perf_counter()
    built = build(data)
    relaxed = build(data, with_shortfall=True)
    build_seconds = time.perf_counter() - start
    solution = solve(built, options, relaxed=relaxed)
    solution.build_seconds += build_seconds
    plan = make_plan(data, solution)
    return PlanOutcome(loaded, data, plan, solution.build_seconds, files)


def run_optimise(
    scenario: Path | str,
    out: Path | None,
    *,
    variant: str | None = None,
    overrides: Sequence[Override] = (),
    options: SolveOptions | None = None,
) -> PlanOutcome:
    """``ras optimise``: the plan for a scenario, written to ``out`` (plan.xlsx)."""
    loaded = load_scenario(scenario, variant, overrides, for_a_run=True)
    refuse_overwriting(out, loaded.inputs())
    outcome = plan_scenario(loaded, options or SolveOptions())
    if out is not None:
        write_plan(outcome, out)
        outcome.out = out
    return outcome


def plan_summary(outcome: PlanOutcome) -> dict[str, Any]:
    """Machine-readable summary (``--json``)."""
    p = outcome.plan
    return {
        "scenario": outcome.loaded.scenario.name,
        "variant": outcome.loaded.variant or "base",
        "status": p.status,
        "target_met": p.target_met,
        "person_years": str(p.person_years),
        "total_savings": str(pence(p.total_savings)),
        "people_moved": len(p.moves),
        "people_without_budget": len(outcome.data.missing_budgets),
        "stopped": p.stopped or None,
        "gap": p.solution.gap,
        "stages": [
            {
                "stage": s.stage,
                "status": s.status.value,
                "stopped": s.stopped or None,
                "objective": s.objective,
                "bound": s.bound,
                "gap": s.gap,
                "seconds": round(s.seconds, 3),
            }
            for s in p.solution.stages
        ],
        "years": [
            {
                "year": r.year,
                "baseline": str(pence(r.baseline)),
                "spend": str(pence(r.spend)),
                "savings": str(pence(r.savings)),
                "target": str(pence(r.target)),
                "met": r.met,
                "shortfall": str(pence(r.shortfall)),
                "moves": r.moves,
                "in_budgets": r.in_budgets,
                "units_released": r.units_released,
            }
            for r in p.years
        ],
        "binding": p.binding,
        "warnings": [i.one_line() for i in outcome.data.warnings],
        "organisations": [
            {
                "organisation": r.org or "system",
                "name": r.name,
                "year": r.year,
                "baseline": str(pence(r.baseline)),
                "dowries_paid": str(pence(r.dowries_paid)),
                "dowries_received": str(pence(r.dowries_received)),
                "spend": str(pence(r.spend)),
                "savings": str(pence(r.savings)),
                "limit": r.limit_kind or None,
                "target": None if r.target is None else str(pence(r.target)),
                "met": r.met,
            }
            for r in p.organisations
        ],
        "plan": str(outcome.out) if outcome.out else None,
    }


def organisation_lines(plan: Plan) -> list[str]:
    """One line per organisation for the terminal: savings over the plan, its limit."""
    out: list[str] = []
    rows = [r for r in plan.organisations if r.org]
    for org in dict.fromkeys(r.org for r in rows):
        mine = [r for r in rows if r.org == org]
        total = sum((r.savings for r in mine), Decimal(0))
        line = f"{mine[0].name}: savings over the plan {pounds(pence(total))}"
        kinds = " / ".join(dict.fromkeys(r.limit_kind for r in mine if r.limit_kind))
        if kinds:
            missed = [str(r.year) for r in mine if r.met is False]
            state = f"SHORT in year(s) {', '.join(missed)}" if missed else "met every year"
            line += f"; {kinds}: {state}"
        out.append(line)
    for line in plan.organisation_limits:
        out.append(f"limit: {line}")
    return out
