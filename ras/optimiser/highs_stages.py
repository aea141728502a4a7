"""The stages of a plan on one HiGHS model, in cumulative columns (SPEC §9, §16).

One model for every stage, each stage started from the previous plan: searches for a
better first plan after a money hold, solves run again with another seed when they
stay flat, progress reported, Ctrl-C honoured. The model and its solves are in
``highs.py``; what a stage is, in ``stage.py``.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import numpy as np

from ras.models.plan import PlanData, SolveOptions, SolveStatus, StageResult
from ras.optimiser import highs
from ras.optimiser.compat import Matrix, matrix_of
from ras.optimiser.cumulative import cumulative
from ras.optimiser.formulation import Built
from ras.optimiser.stage import (
    HOLD_TOLERANCE,
    Clock,
    Objective,
    Snapshot,
    hold_level,
    skipped,
    solve_status,
)

#: HiGHS's effort on primal heuristics in the money stages (its default is 0.05). Their
#: gap closes by finding better plans, not by raising the bound: on a generated
#: 200-person county case the savings stage took over 60 s to reach 1e-4 at 0.05 and
#: 16 s at 0.3. The person-years stage keeps the default (0.3 slowed it at 5,000 people).
MONEY_HEURISTIC_EFFORT = 0.3
#: The most a tie-break (see ``Objective.tiebreak``) may cost the objective it breaks
#: ties of, as a share of that stage's gap; the stage itself is solved to the rest.
TIEBREAK_SHARE = 0.25
#: The first-plan searches of a stage after a money hold (``HighsStages._first_plan``): each
#: may use this share of the stage's time, and stops when it has found no better plan
#: for this many seconds: they only look for a good first plan.
SEARCH_SHARE = 0.25
SEARCH_STALL = 10.0
#: ... on a model of this many columns (about 1,000 people) or more; a smaller one gets a
#: share of it in proportion, and at least SEARCH_STALL_MIN seconds (see ``search_stall``).
SEARCH_FULL_COLUMNS = 4_000
SEARCH_STALL_MIN = 1.0
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
#: again from its best plan with another random seed (``HighsStages._restarting``);
#: each run may stay flat twice as long as the one before.
RESTART_FLAT = 20.0


def proof(objective: Objective, gap: float) -> dict[str, Any]:
    """How far HiGHS proves a stage: exactly (whole person-years), else to ``gap``."""
    return {
        "rel_gap": 0.0 if objective.exact else gap,
        "abs_gap": 0.999 if objective.exact else objective.abs_gap,
        "heuristic_effort": None if objective.scale else MONEY_HEURISTIC_EFFORT,
    }


def merged(
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


def proven(out: highs.HighsOutcome, proof: dict[str, Any], scale: float) -> bool:
    """Whether a plan and a bound are within the gap ``proof`` asks (see ``proof``)."""
    if out.objective is None or out.bound is None:
        return False
    apart = abs(out.bound - out.objective) * scale
    if proof["abs_gap"] is not None and apart <= proof["abs_gap"]:
        return True
    return bool(highs.relative_gap(out.objective, out.bound) <= proof["rel_gap"])


class HighsStages:
    """The stages on one HiGHS model of a built problem, in cumulative columns."""

    def __init__(self, built: Built, options: SolveOptions, clock: Clock) -> None:
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
        self.solved: list[tuple[np.ndarray, Objective]] = []  # each stage's objective
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

    def run(self, objective: Objective, gap: float, share: float = 1.0) -> StageResult:
        """A tie-break, the first-plan searches after a money hold, then the solve proper."""
        cost, _ = self.matrix.vector(objective.expr)
        scale = float(objective.scale or 1)
        left = self.clock.remaining()
        self.solved.append((cost, objective))
        if left is not None and left <= 0:
            return skipped(objective.name, self.matrix.num_cols, self.matrix.num_rows)
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
        out = self._restarting(objective, solved, scale, left, proof(objective, stage_gap_asked))
        if out.x is None and out.stopped and self.x is not None:
            # No plan of its own (a run given up past its time limit): the plan so far.
            return self._interrupted(objective, cost, out.bound, began, out.stopped)
        status = solve_status(out.status)
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
        objective: Objective,
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
            best = merged(best, out, objective.maximise)
            if best.x is not None:
                self.x = best.x  # the next run starts from it
            if out.stopped in ("stalled", "time limit") and proven(best, proof, scale):
                # Proven, though HiGHS had not said so when it stopped: at a time limit,
                # its last plan can meet its bound (a 1,000-person stage found the
                # plan of its bound at the very second its share of the time ran out).
                return dataclasses.replace(best, status="optimal", stopped="")
            if out.stopped != "stalled":
                return dataclasses.replace(best, stopped=out.stopped)
            if left is not None and time.perf_counter() - began >= left:
                return dataclasses.replace(best, stopped="time limit")
            flat *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _interrupted(
        self,
        objective: Objective,
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
        self, objective: Objective, cost: np.ndarray, scale: float, gap: float, left: float | None
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
        stall = search_stall(self.steps.matrix.num_cols, time.perf_counter() - began)
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

    def _keep_if_better(self, objective: Objective, cost: np.ndarray, x: np.ndarray | None) -> None:
        """The stage's plan becomes ``x`` when ``x`` is better for ``cost``."""
        assert self.x is not None
        if x is not None:
            gain = float(cost @ x - cost @ self.x)
            if gain > 0 if objective.maximise else gain < 0:
                self.x = x

    def _search_near(
        self,
        objective: Objective,
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
                **proof(objective, gap),
            )
        self._keep_if_better(objective, cost, out.x)
        return out.stopped == "interrupted"

    def _search_along(
        self,
        objective: Objective,
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

    def hold(self, objective: Objective, result: StageResult, gap: float) -> None:
        """A row added to the HiGHS model; a money hold also sets up the next searches."""
        cost, _ = self.matrix.vector(objective.expr)
        assert result.objective is not None
        # How far HiGHS may let the row slip: the plan check's tolerance on a row of this
        # size at a plan like this one (twice, as later plans differ). Bounding it by every
        # column at its upper bound instead took a fifth of a 1,000-person case's gap.
        margin = 0.0
        if self.x is not None:
            size = np.abs(self.steps.cost(cost)) @ np.abs(self.steps.to_solver(self.x))
            margin = 2 * highs.CHECK_TOLERANCE * float(size)
        level = hold_level(objective, result, gap, margin)
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

    def snapshot(self) -> Snapshot:
        """The plan in hand, read from its columns."""
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


def search_stall(columns: int, lp_seconds: float) -> float:
    """How long a first-plan search may go without finding a better plan.

    A large model (or a busy machine) takes longer to find each better plan: the stall
    grows with the time the LP took. A small one is searched in a fraction of the time:
    SEARCH_STALL is for SEARCH_FULL_COLUMNS columns (about 1,000 people) and up, and a
    smaller model gets a share of it in proportion, but at least SEARCH_STALL_MIN.
    """
    sized = SEARCH_STALL * min(1.0, columns / SEARCH_FULL_COLUMNS)
    return max(SEARCH_STALL_MIN, sized, SEARCH_STALL_LP * lp_seconds)


def couples_years(data: PlanData) -> bool:
    """Whether HiGHS is given the model in cumulative columns (``cumulative.py``).

    They pay where a row ties each year to the year before: a ``year_on_year`` target,
    the plan's or an organisation's. There HiGHS reached the money stages' gap four to
    six times sooner; with targets year by year (``vs_baseline``, ``absolute``), which
    solve in about a second, the model as built was faster (0.3 s against 0.7 s for a
    1,000-person savings stage). The first-plan search after a hold
    (``HighsStages._first_plan``) is used on the same models: elsewhere the
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
