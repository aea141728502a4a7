"""What a stage of the transfer plan is, whichever solver runs it (SPEC §9).

A stage optimises one objective (person-years, savings or the least shortfall) with
the stages before it held. Here: the objectives of a scenario, the level at which a
later stage holds an earlier one, a stage not started, and the clock of the whole
run's time limit (SPEC §16). The solvers' own ways of running stages are in
``highs_stages.py`` and ``cbc_stages.py``; ``solve.py`` runs them in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from ras.models.plan import SolveOptions, SolveStatus, StageResult
from ras.optimiser.formulation import Built

#: Relative slack when an earlier stage's money optimum is held in a later stage.
HOLD_TOLERANCE = 1e-7
#: The largest multiplier tried to make the person-years objective integral.
MAX_SCALE = 1000


def integral_scale(weights: list[Decimal]) -> int | None:
    """The smallest m <= MAX_SCALE making every weight times m whole (None: no such m)."""
    for m in range(1, MAX_SCALE + 1):
        if all((w * m) == (w * m).to_integral_value() for w in weights):
            return m
    return None


def solve_status(word: str) -> SolveStatus:
    """A solver's outcome, in the words both solvers' stages give it, as ras's own status.

    The one place where solver statuses become ras's (SPEC §9): ``optimal``, ``feasible``
    (a plan, not proven), ``infeasible``, ``unbounded``; anything else, no plan.
    """
    return _STATUS.get(word, SolveStatus.NO_SOLUTION)


_STATUS = {
    "optimal": SolveStatus.OPTIMAL,
    "feasible": SolveStatus.FEASIBLE,
    "infeasible": SolveStatus.INFEASIBLE,
    "unbounded": SolveStatus.UNBOUNDED,
}


@dataclass(frozen=True)
class Objective:
    """One stage's objective: what is optimised, which way, and how far it is proved."""

    name: str  # personalise | save | shortfall
    expr: Any
    maximise: bool
    scale: int | None  # integral with this multiplier; None: money
    gap: float | None = None  # relative gap for this objective (None: the options' gap)
    abs_gap: float | None = None  # absolute gap, in the objective's units (None: HiGHS's)
    #: A second objective added with a weight so small that it can cost this one at most
    #: TIEBREAK_SHARE (``highs_stages``) of its gap: among plans of (almost) the same
    #: savings, the solver then prefers more person-years, and the next stage starts
    #: from such a plan.
    tiebreak: Any = None
    #: Proved to the exact optimum (an integral objective a later stage holds exactly);
    #: else to the relative gap.
    exact: bool = False


def objectives(built: Built) -> list[Objective]:
    """The scenario's objectives in the order their stages run (SPEC §9, Objective)."""
    scale = integral_scale([p.weight for p in built.data.movable])
    if built.data.scenario.objective == "save":
        money = Objective("save", built.total_savings, True, None, tiebreak=built.person_years)
        # Last: to the gap, like any last stage (proving the last person-year of a
        # 5,000-person plan could take longer than the whole run).
        return [money, Objective("personalise", built.person_years, True, scale)]
    people = Objective("personalise", built.person_years, True, scale, exact=scale is not None)
    return [people, Objective("save", built.total_savings, True, None)]


def hold_level(objective: Objective, result: StageResult, gap: float, margin: float = 0.0) -> float:
    """The level at which a later stage holds an earlier stage's objective.

    Person-years are whole units (times the scale) and are held exactly at the optimum.
    Money that reached its gap is held within that gap of the stage's proven bound: any
    plan there is as good as the stage promised, and the later stage may choose among
    them (``restate`` then reports the plan's own value and gap). Money whose stage
    stopped short of its gap, or has no bound (CBC), is held at the plan found, less
    HOLD_TOLERANCE of it. ``margin`` is how far the solver may let the row slip (its
    feasibility tolerance where large coefficients cancel): the level within the gap is
    moved in by that much, so that the plan is within the gap however the row is met.
    """
    value = result.objective
    assert value is not None
    if objective.scale:
        slack = 0.5 / objective.scale
        return value - slack if objective.maximise else value + slack
    tight = HOLD_TOLERANCE * max(abs(value), 1.0)
    bound = result.bound
    if bound is None or result.status is not SolveStatus.OPTIMAL:
        return value - tight if objective.maximise else value + tight
    if objective.maximise:  # (bound - plan) / plan <= gap
        return min(value - tight, bound - gap * abs(bound) / (1 + gap) + margin)
    # The relative gap only: a shortfall stage may also stop within SHORTFALL_ABS_GAP
    # pounds, but holding it that loosely left the next stage a slice it could not
    # prove optimal (the example at an 18 % cut: 0.9 % from its bound after 300 s,
    # where the hold at the plan took 73 s).
    return max(value + tight, bound + gap * abs(bound) / (1 - gap) - margin)


def skipped(name: str, variables: int, constraints: int) -> StageResult:
    """A stage not started: the time limit had been reached."""
    return StageResult(
        name, SolveStatus.NO_SOLUTION, None, None, None, 0.0, variables, constraints, "time limit"
    )


class Clock:
    """The whole run's time limit (SPEC §16), shared by its stages."""

    def __init__(self, limit: float | None) -> None:
        self.start = time.perf_counter()
        self.limit = limit

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a limit."""
        if self.limit is None:
            return None
        return max(0.0, self.limit - (time.perf_counter() - self.start))

    def expired(self) -> bool:
        """Whether the limit has been reached."""
        left = self.remaining()
        return left is not None and left <= 0


#: A plan as the stages hold it: moves (person -> year), releases ((contract, year) ->
#: steps) and shortfall (year -> pounds).
Snapshot = tuple[dict[int, int], dict[tuple[int, int], int], dict[int, float]]


class Stages(Protocol):
    """One solver's way of running the stages of one built model, in turn."""

    built: Built
    #: Ctrl-C was pressed (see ``stop``).
    requested: bool

    def __init__(self, built: Built, options: SolveOptions, clock: Clock) -> None: ...

    def stop(self) -> None:
        """Ctrl-C: stop the solve under way; the plan so far is kept."""

    def run(self, objective: Objective, gap: float, share: float = 1.0) -> StageResult:
        """Optimise ``objective`` to ``gap``, earlier stages held, in ``share`` of the time left."""

    def hold(self, objective: Objective, result: StageResult, gap: float) -> None:
        """Hold a solved stage's objective (see ``hold_level``) in the stages after it."""

    def restate(self, results: list[StageResult]) -> list[StageResult]:
        """Each stage's objective as the final plan achieves it."""

    def snapshot(self) -> Snapshot:
        """The plan the stages hold now."""
