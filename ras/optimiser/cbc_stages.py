"""The stages of a plan through PuLP's own solver interface, with CBC (SPEC §9).

CBC is the alternative to HiGHS where it is installed. PuLP runs it in a process of
its own, on a model built again from the same data, and reports no bound: each money
stage is held at its plan.
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import pulp

from ras.errors import SolverError, UsageError
from ras.models.plan import SolveOptions, SolveStatus, StageResult
from ras.optimiser import highs
from ras.optimiser.formulation import Built, build
from ras.optimiser.stage import Clock, Objective, Snapshot, hold_level, skipped, solve_status
from ras.parallel import interrupt_descendants

#: A stage that ends without a plan after this share of its time limit ran out of time.
TIMED_OUT = 0.9


def cbc_available() -> bool:
    """Whether CBC can be used here."""
    if shutil.which("cbc"):
        return True
    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    return bool(bundled is not None and bundled(msg=False).available())


def _cbc(options: SolveOptions, time_limit: float | None, gap: float) -> Any:
    kwargs: dict[str, Any] = {"msg": options.msg, "gapRel": gap}
    if time_limit is not None:
        kwargs["timeLimit"] = max(1, round(time_limit))
    if options.threads is not None:
        kwargs["threads"] = options.threads
    path = shutil.which("cbc")
    if path:
        return pulp.COIN_CMD(path=path, **kwargs)
    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    if bundled is not None and bundled(msg=False).available():
        return bundled(**kwargs)
    raise UsageError("CBC is not installed here (apt-get install coinor-cbc); use --solver highs")


class CbcStages:
    """The stages through PuLP's own solver interface (CBC)."""

    def __init__(self, built: Built, options: SolveOptions, clock: Clock) -> None:
        # The stages set objectives and add holds: on a model of their own, built from
        # the same data, so that the caller's is never changed (PuLP 4 models cannot be
        # copied with their variables).
        self.built = build(built.data, with_shortfall=built.total_shortfall is not None)
        self.prob = self.built.prob
        self.options = options
        self.clock = clock
        self.requested = False  # Ctrl-C: see ``stop``

    def stop(self) -> None:
        """Ctrl-C: CBC, in a process of its own, stops and writes the best plan it has.

        A terminal's Ctrl-C reaches CBC itself; one sent to ras alone is passed on. The
        stage then reports that plan, marked interrupted, and no later stage starts.
        """
        self.requested = True
        interrupt_descendants("cbc")

    def run(self, objective: Objective, gap: float, share: float = 1.0) -> StageResult:
        """CBC on the PuLP model; its gap is the one asked (PuLP reports no bound)."""
        prob = self.prob
        left = self.clock.remaining()
        if left is not None and left <= 0:
            return skipped(objective.name, prob.numVariables(), prob.numConstraints())
        if self.requested:  # Ctrl-C before this stage: not started; the plan so far
            so_far = pulp.value(objective.expr)
            return StageResult(
                objective.name,
                SolveStatus.NO_SOLUTION if so_far is None else SolveStatus.FEASIBLE,
                so_far,
                None,
                None,
                0.0,
                prob.numVariables(),
                prob.numConstraints(),
                "interrupted",
            )
        prob.sense = pulp.LpMaximize if objective.maximise else pulp.LpMinimize
        prob.setObjective(objective.expr)
        limit = None if left is None else left * share
        solver = _cbc(self.options, limit, 0.0 if objective.exact else gap)
        start = time.perf_counter()
        with highs.quiet_stdout():
            try:
                result = prob.solve(solver)
            except pulp.PulpSolverError as exc:
                raise SolverError(f"the solver failed: {exc}") from exc
        seconds = time.perf_counter() - start
        status = _pulp_status(prob, result)
        value = pulp.value(objective.expr) if status in _WITH_PLAN else None
        stopped = ""
        # CBC stopped by its share of the time says "not solved", as when it fails: the
        # time it took tells them apart (its limit is whole seconds, at least one).
        out_of_time = limit is not None and seconds >= TIMED_OUT * max(1, round(limit))
        if self.requested:  # stopped by Ctrl-C: with the best plan CBC had, if any
            stopped = "interrupted"
        elif status is SolveStatus.FEASIBLE or (
            status is SolveStatus.NO_SOLUTION and (self.clock.expired() or out_of_time)
        ):
            stopped = "time limit"
        stage_gap = 0.0 if status is SolveStatus.OPTIMAL else None
        if status is SolveStatus.OPTIMAL and not objective.exact:
            stage_gap = gap  # CBC reports no bound through PuLP: the gap it was asked for
        return StageResult(
            objective.name,
            status,
            value,
            None,
            stage_gap,
            seconds,
            prob.numVariables(),
            prob.numConstraints(),
            stopped,
        )

    def hold(self, objective: Objective, result: StageResult, gap: float) -> None:
        """A row ``hold_<objective>`` on the PuLP model."""
        level = hold_level(objective, result, gap)
        name = f"hold_{objective.name}"
        if objective.maximise:
            self.prob += objective.expr >= level, name
        else:
            self.prob += objective.expr <= level, name

    def restate(self, results: list[StageResult]) -> list[StageResult]:
        """CBC reports no bound, so each money stage is held at its plan: nothing moves."""
        return results

    def snapshot(self) -> Snapshot:
        """The plan in the PuLP variables' values."""
        b = self.built
        moves = {i: t for (i, t), var in b.x.items() if (var.varValue or 0) > 0.5}
        releases = {
            key: round(var.varValue or 0) for key, var in b.k.items() if round(var.varValue or 0)
        }
        shortfall = {t: max(0.0, var.varValue or 0.0) for t, var in b.shortfall.items()}
        return moves, releases, shortfall


_WITH_PLAN = (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def _pulp_status(prob: Any, result: Any) -> SolveStatus:
    """Either PuLP generation's status, as ras's own (in the words of ``solve_status``)."""
    if not isinstance(result, int) and hasattr(result, "status"):  # PuLP 4
        s = pulp.LpSolveStatus
        words = {s.Optimal: "optimal", s.Infeasible: "infeasible", s.Unbounded: "unbounded"}
        word = words.get(result.status, "feasible" if result.has_solution else "none")
        return solve_status(word)
    status, sol = prob.status, getattr(prob, "sol_status", None)
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return solve_status("infeasible")
    if status == pulp.LpStatusUnbounded:
        return solve_status("unbounded")
    if sol == pulp.LpSolutionOptimal:
        return solve_status("optimal")
    if sol == pulp.LpSolutionIntegerFeasible:
        return solve_status("feasible")
    return solve_status("none")
