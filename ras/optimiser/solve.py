"""Solve a built transfer model: the lexicographic stages of SPEC §9, within a time limit.

Solver status, objective, bound and gap are mapped to ras's own types here and only
here. HiGHS (the default) is driven through highspy on the matrix PuLP built
(``highs.py``): one model for every stage, each stage warm-started from the previous
plan, progress reported, Ctrl-C honoured. CBC goes through PuLP's own interface.

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
import dataclasses
import itertools
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pulp

from ras.errors import SolverError, UsageError
from ras.models.plan import PlanData, Solution, SolveOptions, SolveStatus, StageResult
from ras.optimiser import highs
from ras.optimiser.compat import Matrix, matrix_of, pulp_version
from ras.optimiser.cumulative import cumulative
from ras.optimiser.formulation import Built, build

#: Relative slack when an earlier stage's money optimum is held in a later stage.
HOLD_TOLERANCE = 1e-7
#: Relative gap of the least-shortfall stage: its relaxation is weak, and proving the last
#: 0.1 % can take HiGHS minutes on a model that otherwise solves in seconds.
SHORTFALL_GAP = 1e-3
#: ... or this many pounds, whichever is looser: the last 0.1 % of a small shortfall is a
#: few hundred pounds, and proving it took HiGHS over 3 minutes on a 20-person demo (the
#: example at a 10 % rate). A share of the baseline instead (0.01 %) was too loose on a
#: county: the looser hold made the next stage run out of time.
SHORTFALL_ABS_GAP = 1000.0
#: The largest multiplier tried to make the person-years objective integral.
MAX_SCALE = 1000
#: HiGHS's effort on primal heuristics in the money stages (its default is 0.05). Their
#: gap closes by finding better plans, not by raising the bound: on a generated
#: 200-person county case the savings stage took over 60 s to reach 1e-4 at 0.05 and
#: 16 s at 0.3. The person-years stage keeps the default (0.3 slowed it at 5,000 people).
MONEY_HEURISTIC_EFFORT = 0.3
#: The most a tie-break (see ``_Objective.tiebreak``) may cost the objective it breaks
#: ties of, as a share of that stage's gap; the stage itself is solved to the rest.
TIEBREAK_SHARE = 0.25
#: The first-plan searches of a stage after a money hold (``_HighsStages._first_plan``): each
#: may use this share of the stage's time, and stops when it has found no better plan
#: for this many seconds: they only look for a good first plan.
SEARCH_SHARE = 0.25
SEARCH_STALL = 10.0
#: ... or this many times the seconds the stage's LP relaxation took, if longer (at 5,000
#: people on a busy machine, the search near the plan needed more than 5 s to find a
#: plan it finds in one on an idle one).
SEARCH_STALL_LP = 3.0
#: How far from a whole number an LP value may be and still count as whole.
WHOLE_TOLERANCE = 1e-6
#: The search along a money hold weighs the held objective at this multiple of its LP
#: dual value (a little more, so that the LP optimum leaves the hold slack), and stops at
#: this relative gap.
LAGRANGE_MARGIN = 1.05
LAGRANGE_GAP = 1e-4
#: A stage's solve whose plan and bound have not moved for this many seconds is run
#: again from its best plan with another random seed (``_HighsStages._restarting``);
#: each run may stay flat twice as long as the one before.
RESTART_FLAT = 20.0
#: The share of the time left that a stage may use when another stage follows it, so
#: that a first stage slow to prove its optimum leaves time for the next.
STAGE_SHARE = 0.5


# ---------------------------------------------------------------------------- solvers


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


# ---------------------------------------------------------------------------- objectives


def integral_scale(weights: list[Decimal]) -> int | None:
    """The smallest m <= MAX_SCALE making every weight times m whole (None: no such m)."""
    for m in range(1, MAX_SCALE + 1):
        if all((w * m) == (w * m).to_integral_value() for w in weights):
            return m
    return None


@dataclass(frozen=True)
class _Objective:
    name: str  # personalise | save | shortfall
    expr: Any
    maximise: bool
    scale: int | None  # integral with this multiplier; None: money
    gap: float | None = None  # relative gap for this objective (None: the options' gap)
    abs_gap: float | None = None  # absolute gap, in the objective's units (None: HiGHS's)
    #: A second objective added with a weight so small that it can cost this one at most
    #: TIEBREAK_SHARE of its gap: among plans of (almost) the same savings, the solver
    #: then prefers more person-years, and the next stage starts from such a plan.
    tiebreak: Any = None
    #: Proved to the exact optimum (an integral objective a later stage holds exactly);
    #: else to the relative gap.
    exact: bool = False


def _objectives(built: Built) -> list[_Objective]:
    scale = integral_scale([p.weight for p in built.data.movable])
    if built.data.scenario.objective == "save":
        money = _Objective("save", built.total_savings, True, None, tiebreak=built.person_years)
        # Last: to the gap, like any last stage (proving the last person-year of a
        # 5,000-person plan could take longer than the whole run).
        return [money, _Objective("personalise", built.person_years, True, scale)]
    people = _Objective("personalise", built.person_years, True, scale, exact=scale is not None)
    return [people, _Objective("save", built.total_savings, True, None)]


def _hold_level(
    objective: _Objective, result: StageResult, gap: float, margin: float = 0.0
) -> float:
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


def _proof(objective: _Objective, gap: float) -> dict[str, Any]:
    """How far HiGHS proves a stage: exactly (whole person-years), else to ``gap``."""
    return {
        "rel_gap": 0.0 if objective.exact else gap,
        "abs_gap": 0.999 if objective.exact else objective.abs_gap,
        "heuristic_effort": None if objective.scale else MONEY_HEURISTIC_EFFORT,
    }


def _merged(
    before: highs.HighsOutcome | None, out: highs.HighsOutcome, maximise: bool
) -> highs.HighsOutcome:
    """One solve's outcome merged with an earlier solve's of the same problem.

    The better plan, the tighter bound (each bounds the same optimum), this solve's
    status, and the time of both.
    """
    if before is None:
        return out
    keep = out
    if out.x is None or (
        before.x is not None
        and before.objective is not None
        and out.objective is not None
        and (before.objective > out.objective if maximise else before.objective < out.objective)
    ):
        keep = dataclasses.replace(out, objective=before.objective, x=before.x)
    bound = highs.better(out.bound, before.bound, not maximise)
    gap = None
    if keep.objective is not None and bound is not None:
        gap = highs.relative_gap(keep.objective, bound)
    status = keep.status
    if keep.x is not None and status not in ("optimal", "feasible"):
        status = "feasible"
    return dataclasses.replace(
        keep, status=status, bound=bound, gap=gap, seconds=before.seconds + out.seconds
    )


def _proven(out: highs.HighsOutcome, proof: dict[str, Any], scale: float) -> bool:
    """Whether a plan and a bound are within the gap ``proof`` asks (see ``_proof``)."""
    if out.objective is None or out.bound is None:
        return False
    apart = abs(out.bound - out.objective) * scale
    if proof["abs_gap"] is not None and apart <= proof["abs_gap"]:
        return True
    return bool(highs.relative_gap(out.objective, out.bound) <= proof["rel_gap"])


def _skipped(name: str, variables: int, constraints: int) -> StageResult:
    """A stage not started: the time limit had been reached."""
    return StageResult(
        name, SolveStatus.NO_SOLUTION, None, None, None, 0.0, variables, constraints, "time limit"
    )


class _Clock:
    def __init__(self, limit: float | None) -> None:
        self.start = time.perf_counter()
        self.limit = limit

    def remaining(self) -> float | None:
        if self.limit is None:
            return None
        return max(0.0, self.limit - (time.perf_counter() - self.start))

    def expired(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0


# ---------------------------------------------------------------------------- HiGHS


class _HighsStages:
    """The stages on one HiGHS model of a built problem, in cumulative columns."""

    def __init__(self, built: Built, options: SolveOptions, clock: _Clock) -> None:
        self.built = built
        self.options = options
        self.clock = clock
        self.matrix: Matrix = matrix_of(built.prob)
        #: Cumulative columns and the first-plan search pay where years are tied together.
        self.coupled = couples_years(built.data)
        chains = _chains(built, self.matrix) if self.coupled else []
        self.steps = cumulative(self.matrix, chains)
        self.model = highs.HighsModel(self.steps.matrix, threads=options.threads, msg=options.msg)
        self.x: np.ndarray | None = None  # the latest plan, in the columns as built
        #: Whether the next stage first searches for a better plan (``_first_plan``) ...
        self.search_next = False
        #: ... and the money objective held last (coefficients, maximised, level), when
        #: its hold has room: that search then also looks along it.
        self.held: tuple[np.ndarray, bool, float] | None = None
        self.solved: list[tuple[np.ndarray, _Objective]] = []  # each stage's objective
        self.requested = False  # Ctrl-C: see ``stop``

    def stop(self) -> None:
        """Ctrl-C: stop the solve under way at its next check, and every later one.

        Each keeps its plan; the run then writes the best plan so far.
        """
        self.requested = True
        self.model.request_stop()

    def _solve(self, stage: str, cost: np.ndarray, **kwargs: Any) -> highs.HighsOutcome:
        """One HiGHS solve of ``cost . x`` (columns as built) on the cumulative model.

        It starts from the plan so far and reports progress as the options ask.
        """
        start = None if self.x is None else self.steps.to_solver(self.x)
        out = self.model.solve(
            stage,
            self.steps.cost(cost),
            start=start,
            progress=self.options.progress,
            progress_every=self.options.progress_every,
            run_start=self.clock.start,
            **kwargs,
        )
        if out.x is None:
            return out
        return dataclasses.replace(out, x=self.steps.to_plan(out.x))

    def run(self, objective: _Objective, gap: float, share: float = 1.0) -> StageResult:
        cost, _ = self.matrix.vector(objective.expr)
        scale = float(objective.scale or 1)
        left = self.clock.remaining()
        self.solved.append((cost, objective))
        if left is not None and left <= 0:
            return _skipped(objective.name, self.matrix.num_cols, self.matrix.num_rows)
        if left is not None:
            left *= share
        began = time.perf_counter()
        if self.requested:  # Ctrl-C before this stage: not started; the plan so far
            return self._interrupted(objective, cost, None, began)
        solved, stage_gap_asked = cost, gap
        if objective.tiebreak is not None and objective.maximise and not objective.scale:
            weight = self._tiebreak_weight(cost, objective.tiebreak, gap)
            if weight > 0:
                other, _ = self.matrix.vector(objective.tiebreak)
                solved = cost + weight * other
                stage_gap_asked = gap * (1 - TIEBREAK_SHARE)
        if self.search_next and self.x is not None:
            bound = self._first_plan(objective, solved, scale, gap, left)
            if bound is not None:  # interrupted: the plan so far, against the LP bound
                return self._interrupted(objective, cost, None if np.isnan(bound) else bound, began)
            if left is not None:
                left = max(0.0, left - (time.perf_counter() - began))
        out = self._restarting(objective, solved, scale, left, _proof(objective, stage_gap_asked))
        if out.x is None and out.stopped and self.x is not None:
            # No plan of its own (a run given up past its time limit): the plan so far.
            return self._interrupted(objective, cost, out.bound, began, out.stopped)
        status = {
            "optimal": SolveStatus.OPTIMAL,
            "feasible": SolveStatus.FEASIBLE,
            "infeasible": SolveStatus.INFEASIBLE,
            "unbounded": SolveStatus.UNBOUNDED,
        }.get(out.status, SolveStatus.NO_SOLUTION)
        if out.x is not None:
            self.x = out.x
        value, bound, stage_gap = out.objective, out.bound, out.gap
        if solved is not cost and out.x is not None:
            # Report the objective itself: its value in the plan; the blended bound is a
            # valid bound on it (the tie-break is never negative), so the gap is honest.
            value = float(cost @ out.x)
            if bound is not None:
                stage_gap = highs.relative_gap(value, bound)
        if objective.scale and value is not None:
            value = round(value * scale) / scale  # integral: remove float noise
        if status is SolveStatus.OPTIMAL and stage_gap is not None and objective.scale:
            stage_gap = 0.0 if bound is None or abs(bound - (value or 0)) * scale < 1 else stage_gap
        return StageResult(
            objective.name,
            status,
            value,
            bound,
            stage_gap,
            time.perf_counter() - began,
            self.matrix.num_cols,
            self.matrix.num_rows,
            out.stopped,
        )

    def _restarting(
        self,
        objective: _Objective,
        cost: np.ndarray,
        scale: float,
        left: float | None,
        proof: dict[str, Any],
    ) -> highs.HighsOutcome:
        """The stage's solve, run again from its best plan with another seed when flat.

        How long HiGHS takes to prove a stage can depend on luck more than on the
        stage: the example at a 19 % cut proved its last stage in 10-73 s with random
        seeds 1 to 4, and in 431 s with seed 0, its plan and bound unmoved from 28 s
        to 428 s. A solve whose plan and bound have not moved for RESTART_FLAT seconds
        is stopped, and the stage solved again with the next seed, starting from the
        best plan so far; each run may stay flat twice as long as the one before, so a
        stage that needs a long search still gets one. The best plan and the tightest
        bound of all the runs are the stage's (each bound holds for the same problem):
        the stage is proven once they are within its gap.
        """
        began = time.perf_counter()
        best: highs.HighsOutcome | None = None
        flat = RESTART_FLAT
        for seed in itertools.count():
            remaining = None if left is None else left - (time.perf_counter() - began)
            known = (None, None) if best is None else (best.objective, best.bound)
            out = self._solve(
                objective.name,
                cost,
                maximise=objective.maximise,
                scale=scale,
                time_limit=remaining,
                flat=flat,
                seed=seed,
                known=known,
                **proof,
            )
            best = _merged(best, out, objective.maximise)
            if best.x is not None:
                self.x = best.x  # the next run starts from it
            if out.stopped != "stalled":
                return dataclasses.replace(best, stopped=out.stopped)
            if _proven(best, proof, scale):
                return dataclasses.replace(best, status="optimal", stopped="")
            if left is not None and time.perf_counter() - began >= left:
                return dataclasses.replace(best, stopped="time limit")
            flat *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _interrupted(
        self,
        objective: _Objective,
        cost: np.ndarray,
        bound: float | None,
        began: float,
        stopped: str = "interrupted",
    ) -> StageResult:
        """A stage stopped before its solve gave a plan: the plan so far, if any.

        Ctrl-C before or during its search, or a run given up past its time limit.
        """
        so_far = None if self.x is None else float(cost @ self.x)
        return StageResult(
            objective.name,
            SolveStatus.NO_SOLUTION if so_far is None else SolveStatus.FEASIBLE,
            so_far,
            bound,
            None if bound is None or so_far is None else highs.relative_gap(so_far, bound),
            time.perf_counter() - began,
            self.matrix.num_cols,
            self.matrix.num_rows,
            stopped,
        )

    def _first_plan(
        self, objective: _Objective, cost: np.ndarray, scale: float, gap: float, left: float | None
    ) -> float | None:
        """A better first plan for a stage that follows a money hold.

        With an earlier objective held, HiGHS's own heuristics can fail to find any
        better plan than the one the stage starts from (a 5,000-person savings plan:
        none in 400 s, 0.94 % from the bound). Two searches first, each from the best
        plan so far, on the stage's LP relaxation:

        1. near the plan (RINS): the decisions on which the LP optimum and the plan
           agree are fixed, and HiGHS searches the rest (at 5,000 people, 650 of
           22,800 columns; a better plan in a second);
        2. after a money hold with room, along the hold's price: the LP gives the hold
           row's dual value mu, and HiGHS optimises this objective plus a little more
           than mu times the held one, with the hold kept. That problem's LP optimum
           leaves the hold slack, so HiGHS finds good plans for it as fast as for a
           money stage (at 1,000 people, one better than the first search's).

        Each stops when it has found no better plan for SEARCH_STALL seconds (longer
        for a slow LP) or has used SEARCH_SHARE of the stage's time. The stage proper
        then starts from the best plan found, with nothing fixed.

        Returns the LP bound of the stage when Ctrl-C stopped a search (NaN when it
        stopped the LP itself), else None.
        """
        self.search_next = False
        held, self.held = self.held, None
        began = time.perf_counter()
        relaxed = self.model.relaxation(self.steps.cost(cost), maximise=objective.maximise)
        if self.model.interrupted:  # the plan so far; no bound known yet
            return float("nan")
        if relaxed is None:
            return None
        # A large model (or a busy machine) takes longer to find each better plan: the
        # stall grows with the time the LP took.
        stall = max(SEARCH_STALL, SEARCH_STALL_LP * (time.perf_counter() - began))
        share = None if left is None else left * SEARCH_SHARE
        # Progress shows the stage's own objective of the plan in hand, against the
        # stage's LP bound: not the blend, nor the neighbourhood's bound.
        shown = highs.Shown(
            self.steps.cost(cost), float(cost @ self.x), relaxed.objective, objective.maximise
        )
        if self._search_near(objective, cost, scale, gap, relaxed, share, stall, shown):
            return relaxed.objective
        if held is not None and relaxed.last_dual != 0:
            shown = dataclasses.replace(shown, start=float(cost @ self.x))  # the plan now
            if self._search_along(objective, cost, scale, held, relaxed, share, stall, shown):
                return relaxed.objective
        return None

    def _keep_if_better(
        self, objective: _Objective, cost: np.ndarray, x: np.ndarray | None
    ) -> None:
        """The stage's plan becomes ``x`` when ``x`` is better for ``cost``."""
        assert self.x is not None
        if x is not None:
            gain = float(cost @ x - cost @ self.x)
            if gain > 0 if objective.maximise else gain < 0:
                self.x = x

    def _search_near(
        self,
        objective: _Objective,
        cost: np.ndarray,
        scale: float,
        gap: float,
        relaxed: highs.Relaxed,
        time_limit: float | None,
        stall: float,
        shown: highs.Shown,
    ) -> bool:
        """RINS from the plan (see ``_first_plan``); True when Ctrl-C stopped it."""
        assert self.x is not None
        whole = np.round(relaxed.x)
        agree = (
            self.steps.matrix.integer
            & (np.abs(relaxed.x - whole) <= WHOLE_TOLERANCE)
            & (np.abs(self.steps.to_solver(self.x) - whole) <= WHOLE_TOLERANCE)
        )
        if agree.all() or not agree.any():
            return False  # nothing to search, or nothing narrowed
        columns = np.flatnonzero(agree)
        with self.model.fixed(columns, whole[columns]):
            out = self._solve(
                f"{objective.name} (first plan)",
                cost,
                maximise=objective.maximise,
                scale=scale,
                stall=stall,
                time_limit=time_limit,
                shown=shown,
                **_proof(objective, gap),
            )
        self._keep_if_better(objective, cost, out.x)
        return out.stopped == "interrupted"

    def _search_along(
        self,
        objective: _Objective,
        cost: np.ndarray,
        scale: float,
        held: tuple[np.ndarray, bool, float],
        relaxed: highs.Relaxed,
        time_limit: float | None,
        stall: float,
        shown: highs.Shown,
    ) -> bool:
        """The search along a money hold's price (see ``_first_plan``); True on Ctrl-C."""
        held_cost, held_max, level = held
        sign = 1.0 if objective.maximise == held_max else -1.0
        mu = abs(relaxed.last_dual) * LAGRANGE_MARGIN
        # The held objective counts from its hold level, so that the blend is about the
        # size of this objective and the relative gap means what it means for it.
        out = self._solve(
            f"{objective.name} (first plan)",
            cost + sign * mu * held_cost,
            offset=-sign * mu * level,
            maximise=objective.maximise,
            scale=scale,
            rel_gap=LAGRANGE_GAP,
            abs_gap=None,
            stall=stall,
            time_limit=time_limit,
            heuristic_effort=MONEY_HEURISTIC_EFFORT,
            shown=shown,
        )
        self._keep_if_better(objective, cost, out.x)
        return out.stopped == "interrupted"

    def _tiebreak_weight(self, cost: np.ndarray, tiebreak: Any, gap: float) -> float:
        """The weight of a tie-break that can cost at most TIEBREAK_SHARE x gap of the bound.

        The bound is the objective's LP relaxation (a fraction of a second); the
        tie-break's largest possible value is the sum of its positive coefficients
        (every variable here is at most 1 or, for releases, has zero weight).
        """
        other, _ = self.matrix.vector(tiebreak)
        upper = float(
            np.clip(other, 0, None)
            @ np.where(np.isfinite(self.matrix.col_upper), self.matrix.col_upper, 0.0)
        )
        if upper <= 0:
            return 0.0
        bound = self.model.lp_bound(self.steps.cost(cost), maximise=True)
        if bound is None or bound <= 0:  # (Ctrl-C too: the stage then stops at once)
            return 0.0
        return TIEBREAK_SHARE * gap * bound / upper

    def hold(self, objective: _Objective, result: StageResult, gap: float) -> None:
        cost, _ = self.matrix.vector(objective.expr)
        assert result.objective is not None
        # How far HiGHS may let the row slip: the plan check's tolerance on a row of this
        # size at a plan like this one (twice, as later plans differ). Bounding it by every
        # column at its upper bound instead took a fifth of a 1,000-person case's gap.
        margin = 0.0
        if self.x is not None:
            size = np.abs(self.steps.cost(cost)) @ np.abs(self.steps.to_solver(self.x))
            margin = 2 * highs.CHECK_TOLERANCE * float(size)
        level = _hold_level(objective, result, gap, margin)
        if objective.maximise:
            self.model.add_row(self.steps.cost(cost), level, np.inf)
        else:
            self.model.add_row(self.steps.cost(cost), -np.inf, level)
        # After a money hold only: after whole person-years held exactly, the county
        # cases' savings stages were a little slower with the searches (188 people 5.5 s
        # against 4.4 s, 1,914 people 17.7 s against 16.1 s).
        self.search_next = self.coupled and not objective.scale
        room = abs(level - result.objective) > HOLD_TOLERANCE * max(abs(result.objective), 1.0)
        self.held = (cost, objective.maximise, level) if self.search_next and room else None

    def restate(self, results: list[StageResult]) -> list[StageResult]:
        """Each stage's objective as the final plan achieves it, against its own bound.

        A money objective is held within its gap, so a later stage may give up some of
        it for the next objective: what is reported is the plan's own value, and a gap
        that stays within the one asked.
        """
        if self.x is None:
            return results
        # The plan as written: whole moves and releases, not the solver's 1 - 1e-9.
        x = np.where(self.matrix.integer, np.round(self.x), self.x)
        out = []
        for result, (cost, objective) in zip(results, self.solved, strict=False):
            if result.has_plan and not objective.scale and result.objective is not None:
                value = float(cost @ x)
                gap = (
                    result.gap if result.bound is None else highs.relative_gap(value, result.bound)
                )
                result = dataclasses.replace(result, objective=value, gap=gap)
            out.append(result)
        return out

    def snapshot(self) -> tuple[dict[int, int], dict[tuple[int, int], int], dict[int, float]]:
        assert self.x is not None
        x, col = self.x, self.matrix.column
        moves = {i: t for (i, t), var in self.built.x.items() if x[col(var.name)] > 0.5}
        releases = {
            key: round(x[col(var.name)])
            for key, var in self.built.k.items()
            if round(x[col(var.name)]) > 0
        }
        shortfall = {t: max(0.0, float(x[col(v.name)])) for t, v in self.built.shortfall.items()}
        return moves, releases, shortfall


def couples_years(data: PlanData) -> bool:
    """Whether HiGHS is given the model in cumulative columns (``cumulative.py``).

    They pay where a row ties each year to the year before: a ``year_on_year`` target,
    the plan's or an organisation's. There HiGHS reached the money stages' gap four to
    six times sooner; with targets year by year (``vs_baseline``, ``absolute``), which
    solve in about a second, the model as built was faster (0.3 s against 0.7 s for a
    1,000-person savings stage). The first-plan search after a hold
    (``_HighsStages._first_plan``) is used on the same models: elsewhere the
    stage after the hold takes well under a second without it.
    """
    if data.scenario.savings.kind == "year_on_year":
        return True
    orgs = data.orgs
    return orgs is not None and any(t.kind == "year_on_year" for t in orgs.targets.values())


def _chains(built: Built, matrix: Matrix) -> list[list[int]]:
    """The columns of each person's moves and each contract's releases, by year."""
    chains: list[list[int]] = []
    for variables in (built.x, built.k):
        by_owner: dict[int, list[tuple[int, int]]] = {}
        for (owner, year), var in variables.items():
            by_owner.setdefault(owner, []).append((year, matrix.column(var.name)))
        chains += [[col for _, col in sorted(years)] for years in by_owner.values()]
    return chains


# ---------------------------------------------------------------------------- CBC (PuLP)


class _PulpStages:
    """The stages through PuLP's own solver interface (CBC)."""

    def __init__(self, built: Built, options: SolveOptions, clock: _Clock) -> None:
        # The stages set objectives and add holds: on a model of their own, built from
        # the same data, so that the caller's is never changed (PuLP 4 models cannot be
        # copied with their variables).
        self.built = build(built.data, with_shortfall=built.total_shortfall is not None)
        self.prob = self.built.prob
        self.options = options
        self.clock = clock
        self.requested = False  # Ctrl-C: see ``stop``

    def stop(self) -> None:
        """Ctrl-C: CBC runs in PuLP's own process; stopping it is PuLP's (as before)."""
        self.requested = True
        raise KeyboardInterrupt

    def run(self, objective: _Objective, gap: float, share: float = 1.0) -> StageResult:
        prob = self.prob
        left = self.clock.remaining()
        if left is not None and left <= 0:
            return _skipped(objective.name, prob.numVariables(), prob.numConstraints())
        prob.sense = pulp.LpMaximize if objective.maximise else pulp.LpMinimize
        prob.setObjective(objective.expr)
        solver = _cbc(
            self.options, None if left is None else left * share, 0.0 if objective.exact else gap
        )
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
        if status is SolveStatus.FEASIBLE or (
            status is SolveStatus.NO_SOLUTION and self.clock.expired()
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

    def hold(self, objective: _Objective, result: StageResult, gap: float) -> None:
        level = _hold_level(objective, result, gap)
        name = f"hold_{objective.name}"
        if objective.maximise:
            self.prob += objective.expr >= level, name
        else:
            self.prob += objective.expr <= level, name

    def restate(self, results: list[StageResult]) -> list[StageResult]:
        """CBC reports no bound, so each money stage is held at its plan: nothing moves."""
        return results

    def snapshot(self) -> tuple[dict[int, int], dict[tuple[int, int], int], dict[int, float]]:
        b = self.built
        moves = {i: t for (i, t), var in b.x.items() if (var.varValue or 0) > 0.5}
        releases = {
            key: round(var.varValue or 0) for key, var in b.k.items() if round(var.varValue or 0)
        }
        shortfall = {t: max(0.0, var.varValue or 0.0) for t, var in b.shortfall.items()}
        return moves, releases, shortfall


_WITH_PLAN = (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def _pulp_status(prob: Any, result: Any) -> SolveStatus:
    """Either PuLP generation's status, as ras's own."""
    if not isinstance(result, int) and hasattr(result, "status"):  # PuLP 4
        s = pulp.LpSolveStatus
        if result.status == s.Optimal:
            return SolveStatus.OPTIMAL
        if result.status == s.Infeasible:
            return SolveStatus.INFEASIBLE
        if result.status == s.Unbounded:
            return SolveStatus.UNBOUNDED
        return SolveStatus.FEASIBLE if result.has_solution else SolveStatus.NO_SOLUTION
    status, sol = prob.status, getattr(prob, "sol_status", None)
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return SolveStatus.INFEASIBLE
    if status == pulp.LpStatusUnbounded:
        return SolveStatus.UNBOUNDED
    if sol == pulp.LpSolutionOptimal:
        return SolveStatus.OPTIMAL
    if sol == pulp.LpSolutionIntegerFeasible:
        return SolveStatus.FEASIBLE
    return SolveStatus.NO_SOLUTION


# ---------------------------------------------------------------------------- stages


def _no_plan(result: StageResult, options: SolveOptions) -> SolverError:
    if result.stopped == "interrupted":
        return SolverError("interrupted before the solver found any plan; nothing was written")
    limit = options.time_limit
    within = f" within the time limit of {limit:g} s" if result.stopped and limit else ""
    return SolverError(
        f"the solver found no plan{within} ({result.status.value}); nothing was written; "
        "allow more time with --time-limit (0 for none)"
    )


def _lexicographic(
    stages: Any,
    objectives: list[_Objective],
    options: SolveOptions,
    solution: Solution,
    *,
    need_first: bool,
) -> None:
    """Each objective in turn, holding the ones before.

    A stage without a plan keeps the previous stage's plan, except a first stage that
    ``need_first`` (nothing to keep): then no plan exists. A stage stopped by its share
    of the time still hands its best plan on; Ctrl-C ends the run.
    """
    for n, objective in enumerate(objectives):
        last = n == len(objectives) - 1
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
    clock = _Clock(options.time_limit)
    solution = Solution(
        {},
        {},
        {},
        solver_name=options.solver,
        solver_version=solver_version(options),
        time_limit=options.time_limit,
    )
    factory = _HighsStages if options.solver == "highs" else _PulpStages
    current: list[_HighsStages | _PulpStages] = [factory(built, options, clock)]
    with _ctrl_c_stops(lambda: current[-1].stop()):
        return _solve_stages(current, factory, options, clock, solution, relaxed)


def _solve_stages(
    current: list[Any],
    factory: Any,
    options: SolveOptions,
    clock: _Clock,
    solution: Solution,
    relaxed: Built,
) -> Solution:
    """The body of :func:`solve`; ``current[-1]`` is the stages being solved."""
    stages = current[-1]
    objectives = _objectives(stages.built)
    first = stages.run(objectives[0], options.gap, STAGE_SHARE)
    if first.status is not SolveStatus.INFEASIBLE:
        solution.stages.append(first)
        if not first.has_plan:
            raise _no_plan(first, options)
        solution.moves, solution.releases, solution.shortfall = stages.snapshot()
        if first.stopped != "interrupted":
            stages.hold(objectives[0], first, options.gap)
            _lexicographic(stages, objectives[1:], options, solution, need_first=False)
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
    shortfall = _Objective(
        "shortfall",
        stages.built.total_shortfall,
        False,
        None,
        max(options.gap, SHORTFALL_GAP),
        abs_gap=SHORTFALL_ABS_GAP,
    )
    every = [shortfall, *_objectives(stages.built)]
    _lexicographic(stages, every, options, solution, need_first=True)
    solution.stages = [solution.stages[0], *stages.restate(solution.stages[1:])]
    return solution
