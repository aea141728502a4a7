"""Solve a built transfer model: solvers, typed outcomes and the lexicographic stages.

Solver status, objective, bound and gap are mapped to ras's own types here and only
here (PuLP 3.x returns an int and sets ``prob.status``; PuLP 4.x returns
``LpSolveStats``). HiGHS (through ``highspy``) is the default and is passed to PuLP
explicitly; CBC is used where a ``cbc`` binary (or PuLP's bundled one) exists.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import pulp

from ras.errors import SolverError, UsageError
from ras.optimise.compat import PULP_4, pulp_version
from ras.optimise.formulation import Built, build

#: Relative slack when an earlier stage's optimum is held in a later stage.
HOLD_TOLERANCE = 1e-7
#: Relative gap of the least-shortfall stage: its relaxation is weak, and proving the last
#: 0.1 % can take HiGHS minutes on a model that otherwise solves in seconds.
SHORTFALL_GAP = 1e-3


class SolveStatus(Enum):
    """What a solve achieved."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped (time limit) with an incumbent
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


@dataclass
class SolveOptions:
    """Solver choice and limits."""

    solver: str = "highs"  # highs | cbc
    time_limit: float | None = None  # seconds, per stage
    gap: float = 1e-4  # relative MIP gap
    threads: int | None = None
    msg: bool = False


@dataclass
class Solution:
    """The decisions of the final stage and every stage's outcome."""

    moves: dict[int, int]  # movable index -> year
    releases: dict[tuple[int, int], int]  # (contract index, year) -> steps (k)
    shortfall: dict[int, float]  # year -> s_t (shortfall model only)
    stages: list[StageResult] = field(default_factory=list)
    target_met: bool = True
    solver_name: str = ""
    solver_version: str = ""
    build_seconds: float = 0.0

    @property
    def primary(self) -> StageResult:
        """The stage of the main objective (for status, gap and bound)."""
        named = [s for s in self.stages if s.stage in ("personalise", "save")]
        return named[0] if named else self.stages[-1]

    @property
    def timed_out(self) -> bool:
        """Whether any stage stopped at its time limit with an incumbent."""
        return any(s.status is SolveStatus.FEASIBLE for s in self.stages)


def cbc_available() -> bool:
    """Whether CBC can be used here."""
    if shutil.which("cbc"):
        return True
    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    return bool(bundled is not None and bundled(msg=False).available())


def make_solver(options: SolveOptions) -> Any:
    """The PuLP solver object for the options (HiGHS passed explicitly)."""
    if options.solver == "highs":
        kwargs: dict[str, Any] = {"msg": options.msg, "gapRel": options.gap}
        if options.time_limit is not None:
            kwargs["timeLimit"] = options.time_limit
        if options.threads is not None:
            kwargs["threads"] = options.threads
        solver = pulp.HiGHS(**kwargs)
        if not solver.available():
            raise SolverError("HiGHS (highspy) is not installed; pip install highspy")
        return solver
    if options.solver == "cbc":
        kwargs = {"msg": options.msg, "gapRel": options.gap}
        if options.time_limit is not None:
            kwargs["timeLimit"] = options.time_limit
        if options.threads is not None:
            kwargs["threads"] = options.threads
        path = shutil.which("cbc")
        if path:
            return pulp.COIN_CMD(path=path, **kwargs)
        bundled = getattr(pulp, "PULP_CBC_CMD", None)
        if bundled is not None and bundled(msg=False).available():
            return bundled(**kwargs)
        raise UsageError(
            "CBC is not installed here (apt-get install coinor-cbc); use --solver highs"
        )
    raise UsageError(f"unknown solver {options.solver!r}; use highs or cbc")


def solver_version(options: SolveOptions) -> str:
    """Name and version of the solver, for the Solver sheet."""
    if options.solver == "highs":
        try:
            import highspy

            with _quiet_stdout(True):
                version = highspy.Highs().version()
            return f"HiGHS {version} (highspy), PuLP {pulp_version()}"
        except Exception:  # pragma: no cover - version call missing in old highspy
            return f"HiGHS (highspy), PuLP {pulp_version()}"
    return f"CBC ({shutil.which('cbc') or 'bundled'}), PuLP {pulp_version()}"


@contextlib.contextmanager
def _quiet_stdout(enabled: bool) -> Iterator[None]:
    """Keep solver banners (printed by C code) off stdout, which carries --json."""
    if not enabled:
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (e.g. captured by a test runner)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _map_status(prob: Any, result: Any, options: SolveOptions) -> tuple[SolveStatus, float | None]:
    """(status, bound) from either PuLP generation."""
    if PULP_4 and not isinstance(result, int):
        s = pulp.LpSolveStatus
        status = result.status
        if status == s.Optimal:
            return SolveStatus.OPTIMAL, result.best_bound
        if status == s.Infeasible:
            return SolveStatus.INFEASIBLE, None
        if status == s.Unbounded:
            return SolveStatus.UNBOUNDED, None
        if result.has_solution:
            return SolveStatus.FEASIBLE, result.best_bound
        return SolveStatus.NO_SOLUTION, None
    status, sol = prob.status, getattr(prob, "sol_status", None)
    bound: float | None = None
    if options.solver == "highs" and getattr(prob, "solverModel", None) is not None:
        info = prob.solverModel.getInfo()
        raw = getattr(info, "mip_dual_bound", None)
        if raw is not None and math.isfinite(raw):
            bound = -raw if prob.sense == pulp.LpMaximize else raw
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return SolveStatus.INFEASIBLE, None
    if status == pulp.LpStatusUnbounded:
        return SolveStatus.UNBOUNDED, None
    if sol == pulp.LpSolutionOptimal:
        return SolveStatus.OPTIMAL, bound
    if sol == pulp.LpSolutionIntegerFeasible:
        if options.solver == "highs" and getattr(prob, "solverModel", None) is not None:
            import highspy

            if prob.solverModel.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                return SolveStatus.OPTIMAL, bound
        return SolveStatus.FEASIBLE, bound
    return SolveStatus.NO_SOLUTION, None


def run_stage(
    built: Built, stage: str, objective: Any, maximise: bool, options: SolveOptions
) -> StageResult:
    """Solve with one objective; the problem keeps the variable values."""
    prob = built.prob
    prob.sense = pulp.LpMaximize if maximise else pulp.LpMinimize
    prob.setObjective(objective)
    solver = make_solver(options)
    start = time.perf_counter()
    with _quiet_stdout(not options.msg):
        try:
            result = prob.solve(solver)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"the solver failed: {exc}") from exc
    seconds = time.perf_counter() - start
    status, bound = _map_status(prob, result, options)
    value = pulp.value(objective) if status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE) else None
    gap = None
    if value is not None:
        if status is SolveStatus.OPTIMAL:
            gap = 0.0 if bound is None else _gap(value, bound)
            gap = min(gap, options.gap)
        elif bound is not None:
            gap = _gap(value, bound)
    return StageResult(
        stage, status, value, bound, gap, seconds, prob.numVariables(), prob.numConstraints()
    )


def _gap(value: float, bound: float) -> float:
    return abs(bound - value) / max(abs(value), 1e-9)


def _hold(built: Built, name: str, objective: Any, value: float, maximise: bool) -> None:
    slack = HOLD_TOLERANCE * max(abs(value), 1.0)
    if maximise:
        built.prob += objective >= value - slack, f"hold_{name}"
    else:
        built.prob += objective <= value + slack, f"hold_{name}"


def _snapshot(built: Built) -> tuple[dict[int, int], dict[tuple[int, int], int], dict[int, float]]:
    moves: dict[int, int] = {}
    for (i, t), var in built.x.items():
        if (var.varValue or 0) > 0.5:
            moves[i] = t
    releases = {
        key: round(var.varValue or 0)
        for key, var in built.k.items()
        if round(var.varValue or 0) > 0
    }
    shortfall = {t: max(0.0, var.varValue or 0.0) for t, var in built.shortfall.items()}
    return moves, releases, shortfall


def _stages(built: Built, options: SolveOptions, solution: Solution) -> None:
    """The lexicographic objective of §9, on a built (maybe shortfall) model."""
    objective = built.data.scenario.objective
    order = [("personalise", built.person_years), ("save", built.total_savings)]
    if objective == "save":
        order.reverse()
    for n, (name, expr) in enumerate(order):
        result = run_stage(built, name, expr, True, options)
        solution.stages.append(result)
        if result.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            solution.moves, solution.releases, solution.shortfall = _snapshot(built)
            if n == 0:
                assert result.objective is not None
                _hold(built, name, expr, result.objective, True)
        elif n == 0:
            if result.status is SolveStatus.INFEASIBLE:
                raise SolverError("the model became infeasible while holding an optimum")
            raise SolverError(
                f"the solver found no plan ({result.status.value}"
                + (
                    f" within the time limit of {options.time_limit:g} s"
                    if options.time_limit
                    else ""
                )
                + "); allow more time with --time-limit"
            )
        # A later stage that fails keeps the previous stage's plan.


def solve(built: Built, options: SolveOptions) -> Solution:
    """Solve the plan: the target as given, else the plan with the least shortfall.

    Raises:
        SolverError: no usable solution (time limit without an incumbent, failure).
    """
    solution = Solution(
        {}, {}, {}, solver_name=options.solver, solver_version=solver_version(options)
    )
    first = run_stage(built, "feasibility", built.person_years, True, options)
    if first.status is SolveStatus.INFEASIBLE:
        solution.stages.append(first)
        solution.target_met = False
        start = time.perf_counter()
        relaxed = build(built.data, with_shortfall=True)
        solution.build_seconds += time.perf_counter() - start
        assert relaxed.total_shortfall is not None
        result = run_stage(
            relaxed,
            "shortfall",
            relaxed.total_shortfall,
            False,
            replace(options, gap=max(options.gap, SHORTFALL_GAP)),
        )
        solution.stages.append(result)
        if result.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            raise SolverError(
                f"the solver found no plan even with a shortfall ({result.status.value})"
            )
        assert result.objective is not None
        _hold(relaxed, "shortfall", relaxed.total_shortfall, result.objective, False)
        _stages(relaxed, options, solution)
        return solution
    if first.status not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        raise SolverError(
            f"the solver found no plan ({first.status.value}"
            + (f" within the time limit of {options.time_limit:g} s" if options.time_limit else "")
            + "); allow more time with --time-limit"
        )
    # The first solve already optimised the first objective when it is personalise.
    if built.data.scenario.objective == "personalise":
        first = replace(first, stage="personalise")
        solution.stages.append(first)
        solution.moves, solution.releases, solution.shortfall = _snapshot(built)
        assert first.objective is not None
        _hold(built, "personalise", built.person_years, first.objective, True)
        result = run_stage(built, "save", built.total_savings, True, options)
        solution.stages.append(result)
        if result.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
            solution.moves, solution.releases, solution.shortfall = _snapshot(built)
        return solution
    _stages(built, options, solution)
    return solution
