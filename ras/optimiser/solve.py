"""Solve a built transfer model: the lexicographic stages of SPEC §9, within a time limit.

Solver status, objective, bound and gap are mapped to ras's own types by the stages
(``highs_stages.py``, ``cbc_stages.py``) and only there. HiGHS (the default) is driven
through highspy on the matrix PuLP built: one model for every stage, each stage
warm-started from the previous plan, progress reported, Ctrl-C honoured. CBC goes
through PuLP's own interface.

The stages:
1. the scenario's objective (person-years for ``personalise``, savings for ``save``);
   when it is infeasible, the least total shortfall comes first (then 1 and 2 on that
   model, holding it);
2. the other objective, holding the first one's optimum.
The weighted person-years are a multiple of 1/m for a small m (weights like 1.5 give
m = 2), so they are solved scaled by m: an integral objective that HiGHS proves
optimal exactly, and holds exactly in the next stage.

The whole run shares one time limit (SPEC §16). A stage stopped by the limit or by
Ctrl-C keeps its best plan; later stages are not started; the solution says so.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ras.errors import SolverError, UsageError
from ras.models.plan import Solution, SolveOptions, SolveStatus, StageResult
from ras.optimiser import highs
from ras.optimiser.cbc_stages import CbcStages, cbc_available
from ras.optimiser.compat import pulp_version
from ras.optimiser.formulation import Built
from ras.optimiser.highs_stages import HighsStages
from ras.optimiser.stage import HOLD_TOLERANCE, Clock, Objective, Stages, objectives

__all__ = ["HOLD_TOLERANCE", "SHORTFALL_ABS_GAP", "SHORTFALL_GAP", "cbc_available", "solve"]

#: Relative gap of the least-shortfall stage: its relaxation is weak, and proving the last
#: 0.1 % can take HiGHS minutes on a model that otherwise solves in seconds.
SHORTFALL_GAP = 1e-3
#: ... or this many pounds, whichever is looser: the last 0.1 % of a small shortfall is a
#: few hundred pounds, and proving it took HiGHS over 3 minutes on a 20-person demo (the
#: example at a 10 % rate). A share of the baseline instead (0.01 %) was too loose on a
#: county: the looser hold made the next stage run out of time.
SHORTFALL_ABS_GAP = 1000.0
#: The share of the time left that a stage may use when another stage follows it, so
#: that a first stage slow to prove its optimum leaves time for the next.
STAGE_SHARE = 0.5


def solver_version(options: SolveOptions) -> str:
    """Name and version of the solver, for the Solver sheet."""
    if options.solver == "highs":
        return f"HiGHS {highs.version()} (highspy), PuLP {pulp_version()}"
    return f"CBC ({shutil.which('cbc') or 'bundled'}), PuLP {pulp_version()}"


def _check_solver(options: SolveOptions) -> None:
    if options.solver == "highs":
        if not highs.available():
            raise SolverError("HiGHS (highspy) is not installed; pip install highspy")
    elif options.solver == "cbc":
        if not cbc_available():
            raise UsageError(
                "CBC is not installed here (apt-get install coinor-cbc); use --solver highs"
            )
    else:
        raise UsageError(f"unknown solver {options.solver!r}; use highs or cbc")


# ---------------------------------------------------------------------------- stages


def _no_plan(result: StageResult, options: SolveOptions) -> SolverError:
    if result.stopped == "interrupted":
        return SolverError("interrupted before the solver found any plan; nothing was written")
    limit = options.time_limit
    if result.stopped:
        within = f" within the time limit of {limit:g} s" if limit else ""
        return SolverError(
            f"the solver found no plan{within} ({result.status.value}); nothing was written; "
            "allow more time with --time-limit (0 for none)"
        )
    # Not for want of time: more of it would not help.
    return SolverError(
        f"the solver found no plan ({result.status.value}); nothing was written; check the "
        "registers and the scenario for extreme figures"
    )


def _lexicographic(
    stages: Stages,
    order: list[Objective],
    options: SolveOptions,
    solution: Solution,
    *,
    need_first: bool,
) -> None:
    """Each objective of ``order`` in turn, holding the ones before.

    A stage without a plan keeps the previous stage's plan, except a first stage that
    ``need_first`` (nothing to keep): then no plan exists. A stage stopped by its share
    of the time still hands its best plan on; Ctrl-C ends the run.
    """
    for n, objective in enumerate(order):
        last = n == len(order) - 1
        result = stages.run(objective, objective.gap or options.gap, 1.0 if last else STAGE_SHARE)
        solution.stages.append(result)
        if result.has_plan:
            solution.moves, solution.releases, solution.shortfall = stages.snapshot()
        elif n == 0 and need_first:
            raise _no_plan(result, options)
        if result.stopped == "interrupted" or not result.has_plan or last:
            return
        stages.hold(objective, result, objective.gap or options.gap)


@contextlib.contextmanager
def _ctrl_c_stops(stop: Callable[[], None]) -> Iterator[None]:
    """Within the block, a first Ctrl-C calls ``stop``; a second raises KeyboardInterrupt.

    A Ctrl-C caught as an exception could land anywhere: between two stages, or while a
    plan is being checked, where it ended the run with nothing written. As a request, it
    stops the solve under way at its next check, and the plan so far is kept (SPEC §16).
    Only in the main thread with Python's own handler in place; else nothing changes.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pressed = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal pressed
        if pressed:
            raise KeyboardInterrupt
        pressed = True
        stop()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def solve(built: Built, options: SolveOptions, *, relaxed: Built) -> Solution:
    """Solve the plan: the target as given, else the plan with the least shortfall.

    ``built`` is the model of SPEC §9 and ``relaxed`` the same with shortfall variables
    (``build(data, with_shortfall=True)``), solved only when the target cannot be met.
    Neither is changed: the stages work on their own copy.

    Raises:
        SolverError: no usable plan (stopped before any plan was found, solver failure).
        KeyboardInterrupt: a second Ctrl-C while the first was being honoured.
    """
    _check_solver(options)
    clock = Clock(options.time_limit)
    solution = Solution(
        {},
        {},
        {},
        solver_name=options.solver,
        solver_version=solver_version(options),
        time_limit=options.time_limit,
    )
    factory: type[Stages] = HighsStages if options.solver == "highs" else CbcStages
    current: list[Stages] = [factory(built, options, clock)]
    with _ctrl_c_stops(lambda: current[-1].stop()):
        return _solve_stages(current, factory, options, clock, solution, relaxed)


def _solve_stages(
    current: list[Stages],
    factory: type[Stages],
    options: SolveOptions,
    clock: Clock,
    solution: Solution,
    relaxed: Built,
) -> Solution:
    """The body of :func:`solve`; ``current[-1]`` is the stages being solved."""
    stages = current[-1]
    order = objectives(stages.built)
    first = stages.run(order[0], options.gap, STAGE_SHARE)
    if first.status is not SolveStatus.INFEASIBLE:
        solution.stages.append(first)
        if not first.has_plan:
            raise _no_plan(first, options)
        solution.moves, solution.releases, solution.shortfall = stages.snapshot()
        if first.stopped != "interrupted":
            stages.hold(order[0], first, options.gap)
            _lexicographic(stages, order[1:], options, solution, need_first=False)
        solution.stages = stages.restate(solution.stages)
        return solution
    # The target cannot be met: the least total shortfall first, then the objectives.
    solution.stages.append(first)
    solution.target_met = False
    if relaxed.total_shortfall is None:
        raise ValueError("solve(): `relaxed` must be built with_shortfall=True")
    stages = factory(relaxed, options, clock)
    if current[-1].requested:  # Ctrl-C as the first model was found infeasible
        stages.stop()
    current.append(stages)
    shortfall = Objective(
        "shortfall",
        stages.built.total_shortfall,
        False,
        None,
        max(options.gap, SHORTFALL_GAP),
        abs_gap=SHORTFALL_ABS_GAP,
    )
    every = [shortfall, *objectives(stages.built)]
    _lexicographic(stages, every, options, solution, need_first=True)
    solution.stages = [solution.stages[0], *stages.restate(solution.stages[1:])]
    return solution
