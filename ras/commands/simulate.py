"""``ras simulate`` (SPEC §17): the optimised plan under drawn costs, and a robust plan.

Scenario -> registers and budgets -> (on Dask) solve -> draws -> (robust: solve at
margins, draws) -> risk.xlsx. Workers get the model's data (plain records), build and
solve the model themselves and send back plain results; blocks of draws are keyed by
their indices, so the numbers do not depend on how many workers there are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from ras.cluster import run_tasks, sweep_client, worker_count
from ras.commands.optimise import load_inputs
from ras.errors import SolverError
from ras.io.risk_writer import write_risk
from ras.io.scenario_file import load_scenario
from ras.models.base import decimal_text
from ras.models.plan import PlanData, SolveOptions
from ras.models.risk import MARGIN_STEP, MarginTried, PlanResult, RiskOutcome, YearRisk
from ras.models.scenario import Override
from ras.models.uncertainty import Uncertainty
from ras.money import pence
from ras.optimiser.formulation import build
from ras.optimiser.readback import make_plan
from ras.optimiser.solve import solve
from ras.outputs import refuse_overwriting
from ras.simulation.draws import PlanArrays, blocks, extra_spend, plan_arrays, years_met
from ras.simulation.margin import smallest_passing, with_margin

#: Percentiles reported (linear interpolation between draws).
PERCENTILES = (10, 50, 90)


@dataclass(frozen=True)
class SolveTask:
    """A plan to make on a worker: the data, the planning margin, the solver's options."""

    data: PlanData
    margin: Decimal
    options: SolveOptions
    uncertainty: Uncertainty


@dataclass(frozen=True)
class Solved:
    """A worker's answer: the plan, and what the draws need of it (None: no plan)."""

    result: PlanResult | None
    arrays: PlanArrays | None
    error: str = ""


def solve_task(task: SolveTask) -> Solved:
    """Solve one plan at its margin (on a worker); evaluate it with nominal budgets."""
    planned = with_margin(task.data, task.margin)
    try:
        solution = solve(build(planned), task.options, relaxed=build(planned, with_shortfall=True))
    except SolverError as exc:
        return Solved(None, None, str(exc))
    at_margin = make_plan(planned, solution)
    nominal = make_plan(task.data, solution)
    movable = task.data.movable
    contracts = task.data.contracts
    result = PlanResult(
        margin=task.margin,
        status=at_margin.status,
        target_met=at_margin.target_met and not at_margin.stopped,
        stopped=at_margin.stopped,
        moves={movable[i].person_id: t for i, t in solution.moves.items()},
        releases={
            (contracts[j].cid, t): steps * contracts[j].contract.release_step
            for (j, t), steps in solution.releases.items()
        },
        spend=tuple(r.spend for r in nominal.years),
        allowed=tuple(r.baseline - r.target for r in nominal.years),
        baseline=tuple(r.baseline for r in nominal.years),
        person_years=nominal.person_years,
        total_savings=nominal.total_savings,
    )
    return Solved(result, plan_arrays(task.data, nominal, task.uncertainty))


def draw_task(task: tuple[PlanArrays, Uncertainty, int, int]) -> np.ndarray:
    """One block of draws of one plan (on a worker): spend above the plan's, (draws, H)."""
    arrays, unc, start, stop = task
    return extra_spend(arrays, unc, start, stop)


def _failed_solve(task: SolveTask, exc: BaseException) -> Solved:
    return Solved(None, None, f"the worker failed: {type(exc).__name__}: {exc}")


def _failed_draws(task: Any, exc: BaseException) -> np.ndarray:
    raise SolverError(f"a block of draws could not be evaluated ({type(exc).__name__}: {exc})")


class _OutOfTime(Exception):
    """The command's time for solving ran out before a solve could start."""


class _Sweep:
    """The Dask side of one simulation: solves and draws, with progress.

    The solves share one time limit, the command's (``options.time_limit``): each
    solves in what is left of it.
    """

    def __init__(
        self,
        client: Any,
        data: PlanData,
        unc: Uncertainty,
        options: SolveOptions,
        progress: Callable[[str, int, int], None] | None,
    ) -> None:
        self.client, self.data, self.unc = client, data, unc
        self.options = replace(options, progress=None)  # nothing unpicklable to workers
        self.progress = progress
        limit = options.time_limit
        self.deadline = time.monotonic() + limit if limit else None

    def solve(self, margin: Decimal) -> Solved:
        """The plan at ``margin``, solved in what is left of the time limit.

        Raises:
            _OutOfTime: less than a second is left for a robust margin's plan.
        """
        options = self.options
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < 1 and margin:  # (the optimised plan is solved first, whatever is left)
                raise _OutOfTime
            options = replace(options, time_limit=max(left, 0.001))
        if self.progress:
            self.progress(f"Solving at margin {decimal_text(margin * 100)} %", 0, 1)
        task = SolveTask(self.data, margin, options, self.unc)
        return run_tasks(self.client, solve_task, [task], _failed_solve)[0]

    def draws(self, arrays: PlanArrays) -> np.ndarray:
        parts = blocks(self.unc.samples)
        done = [0]

        def tick(n: int) -> None:
            done[0] += n
            if self.progress:
                self.progress("Drawing", done[0], len(parts))

        tasks = [(arrays, self.unc, a, b) for a, b in parts]
        out = run_tasks(self.client, draw_task, tasks, _failed_draws, tick)
        return np.concatenate(out, axis=0)


def year_risks(result: PlanResult, extra: np.ndarray, met: np.ndarray, name: str) -> list[YearRisk]:
    """Per year: the share of draws meeting the target, and percentiles of spend/savings."""
    out: list[YearRisk] = []
    for t in range(extra.shape[1]):
        q = np.percentile(extra[:, t], PERCENTILES)  # linear interpolation
        spend = [result.spend[t] + Decimal(repr(float(v))) for v in q]
        savings = [result.baseline[t] - s for s in reversed(spend)]
        out.append(
            YearRisk(
                t + 1,
                name,
                float(met[:, t].mean()),
                (pence(spend[0]), pence(spend[1]), pence(spend[2])),
                (pence(savings[0]), pence(savings[1]), pence(savings[2])),
                pence(Decimal(repr(float(extra[:, t].mean())))),
                pence(Decimal(repr(float(extra[:, t].max())))),
            )
        )
    return out


def _met(result: PlanResult, extra: np.ndarray, data: PlanData) -> np.ndarray:
    from ras.simulation.draws import targets_of

    return years_met(list(result.spend), extra, targets_of(data))


def run_simulate(
    scenario: Path | str,
    out: Path | None,
    *,
    samples: int | None = None,
    seed: int | None = None,
    variant: str | None = None,
    overrides: Sequence[Override] = (),
    options: SolveOptions | None = None,
    scheduler: str | None = None,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> RiskOutcome:
    """``ras simulate``: draws of the optimised plan and, with ``robust``, the robust plan.

    Raises:
        SolverError: no optimised plan (exit 4).
        InputError: bad inputs, or an unreachable scheduler (exit 1).
    """
    start = time.perf_counter()
    extra_sets = list(overrides)
    if samples is not None:
        extra_sets.append(Override(("uncertainty", "samples"), samples, "--samples", "--samples"))
    if seed is not None:
        extra_sets.append(Override(("uncertainty", "seed"), seed, "--seed", "--seed"))
    loaded = load_scenario(scenario, variant, extra_sets, for_a_run=True)
    refuse_overwriting(out, loaded.inputs())
    data, files = load_inputs(loaded)
    unc = loaded.scenario.uncertainty
    opts = options or SolveOptions()
    with sweep_client(scheduler, jobs) as client:
        sweep = _Sweep(client, data, unc, opts, progress)
        first = sweep.solve(Decimal(0))
        if first.result is None or first.arrays is None:
            raise SolverError(first.error or "the solver found no plan; nothing was written")
        optimised = first.result
        extra = sweep.draws(first.arrays)
        met = _met(optimised, extra, data)
        outcome = RiskOutcome(
            loaded,
            unc.samples,
            unc.seed,
            optimised,
            float(met.all(axis=1).mean()),
            year_risks(optimised, extra, met, "optimised"),
            asked=unc.robust.probability,
            workers=worker_count(client),
            where=scheduler or ("this process" if client is None else "a local cluster"),
            files=files,
            warnings=data.warnings,
        )
        if unc.robust.probability is not None:
            _robust(sweep, outcome, extra, met, data)
    outcome.seconds = time.perf_counter() - start
    if out is not None:
        write_risk(outcome, out)
        outcome.out = out
    return outcome


def _robust(
    sweep: _Sweep, outcome: RiskOutcome, extra0: np.ndarray, met0: np.ndarray, data: PlanData
) -> None:
    """Search the smallest margin whose plan meets every year in the asked share."""
    asked = float(outcome.asked or 0)
    solved: dict[int, Solved] = {}
    found: dict[int, tuple[PlanResult, np.ndarray, np.ndarray]] = {}

    tried: dict[int, MarginTried] = {}  # in the order asked

    def plan_at(k: int) -> Solved:
        if k not in solved:
            solved[k] = sweep.solve(k * MARGIN_STEP)
            answer = solved[k]
            met = answer.result is not None and answer.result.target_met
            status = answer.result.status if answer.result else answer.error or "no plan"
            tried[k] = MarginTried(k * MARGIN_STEP, met, None, status)
        return solved[k]

    def feasible(k: int) -> bool:
        if k == 0:
            return outcome.optimised.target_met
        answer = plan_at(k)
        return answer.result is not None and answer.result.target_met

    def passes(k: int) -> bool:
        if k == 0:
            result, extra, met = outcome.optimised, extra0, met0
        else:
            answer = plan_at(k)
            if answer.result is None or answer.arrays is None or not answer.result.target_met:
                return False
            result = answer.result
            extra = sweep.draws(answer.arrays)
            met = _met(result, extra, data)
        share = float(met.all(axis=1).mean())
        found[k] = (result, extra, met)
        tried[k] = MarginTried(k * MARGIN_STEP, result.target_met, share, result.status)
        return result.target_met and share >= asked

    try:
        k, high = smallest_passing(passes, feasible)
    except _OutOfTime:  # the smallest passing margin found so far, not proven the smallest
        outcome.robust_stopped = True
        high = max((m for m, t in tried.items() if t.target_met), default=0)
        k = min((m for m, t in tried.items() if m in found and _passed(t, asked)), default=None)
    outcome.tried = list(tried.values())
    outcome.highest_margin = high * MARGIN_STEP
    if k is None:
        return
    outcome.margin = k * MARGIN_STEP
    result, extra, met = found[k]
    outcome.robust = result
    outcome.robust_share = float(met.all(axis=1).mean())
    outcome.years += year_risks(result, extra, met, "robust")


def _passed(tried: MarginTried, asked: float) -> bool:
    return tried.target_met and tried.share_met is not None and tried.share_met >= asked


def risk_summary(outcome: RiskOutcome) -> dict[str, Any]:
    """Machine-readable summary (``--json``)."""

    def plan(result: PlanResult | None, share: float | None) -> dict[str, Any] | None:
        if result is None:
            return None
        return {
            "margin": str(result.margin),
            "status": result.status,
            "people_moved": len(result.moves),
            "person_years": str(result.person_years),
            "total_savings": str(pence(result.total_savings)),
            "share_meeting_every_year": share,
        }

    return {
        "scenario": outcome.loaded.scenario.name,
        "variant": outcome.loaded.variant or "base",
        "samples": outcome.samples,
        "seed": outcome.seed,
        "optimised": plan(outcome.optimised, outcome.optimised_share),
        "robust": plan(outcome.robust, outcome.robust_share),
        "asked": None if outcome.asked is None else str(outcome.asked),
        "robust_margin": None if outcome.margin is None else str(outcome.margin),
        "robust_search_stopped": outcome.robust_stopped,
        "margins_tried": [
            {"margin": str(m.margin), "target_met": m.target_met, "share": m.share_met}
            for m in outcome.tried
        ],
        "years": [
            {
                "year": y.year,
                "plan": y.plan,
                "share_meeting_target": y.share_met,
                "spend": [str(v) for v in y.spend],
                "savings": [str(v) for v in y.savings],
            }
            for y in outcome.years
        ],
        "warnings": [i.one_line() for i in outcome.warnings],
        "risk": str(outcome.out) if outcome.out else None,
    }
