"""HiGHS through highspy, on the matrix PuLP built: one model for every stage.

PuLP builds the problem (``formulation.py``); :func:`ras.optimiser.compat.matrix_of`
turns it into arrays once, and a :class:`HighsModel` keeps one ``highspy.Highs`` for
the whole lexicographic solve, so that each stage only changes the objective, adds the
row that holds the previous optimum, and starts from the previous stage's plan
(PuLP's own HiGHS interface rebuilds the model for every solve and cannot warm-start,
report progress or be interrupted).

The solve runs in highspy's solver thread; this thread waits on it, reports progress,
and turns Ctrl-C into a request to stop that HiGHS honours at its next check (well
under a second). A second Ctrl-C is not caught here: it reaches the caller at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ras.models.plan import Progress
from ras.optimiser.compat import Matrix

#: How often the waiting thread wakes to report progress and check for Ctrl-C.
POLL_SECONDS = 0.1
#: How long a HiGHS run may go past its time limit before it is asked to stop, and
#: then before it is given up. HiGHS checks its limits often but not everywhere: 1.16
#: spent over ten minutes past a 30-minute limit in the presolve of a sub-MIP (RINS,
#: then RENS twice) of a 1,000-person savings stage, which no check reaches.
OVERRUN_SECONDS = 10.0


@dataclass(frozen=True)
class Relaxed:
    """The optimum of an LP relaxation."""

    objective: float
    last_dual: float  # the dual value of the model's last row (0.0 without rows)
    x: np.ndarray  # column values


def relative_gap(value: float, bound: float) -> float:
    """How far a plan's ``value`` is from a ``bound`` on it, relative to the value."""
    return abs(bound - value) / max(abs(value), 1e-9)


def better(a: float | None, b: float | None, higher: bool) -> float | None:
    """The higher (``higher``) or lower of two figures, either of which may be missing."""
    if a is None or b is None:
        return b if a is None else a
    return max(a, b) if higher else min(a, b)


def _line(
    stage: str,
    figures: tuple[float | None, float | None, float | None],
    known: tuple[float | None, float | None],
    maximise: bool,
    elapsed: float,
) -> Progress:
    """A progress line: a run's plan, bound and gap, merged with ``known`` ones.

    ``known`` is the plan and bound earlier runs of the same problem found: the line
    shows the better plan and the tighter bound, and the gap between them.
    """
    plan, bound, gap = figures
    if known == (None, None):
        return Progress(stage, plan, bound, gap, elapsed)
    plan, bound = better(plan, known[0], maximise), better(bound, known[1], not maximise)
    gap = None if plan is None or bound is None else relative_gap(plan, bound)
    return Progress(stage, plan, bound, gap, elapsed)


@dataclass(frozen=True)
class Shown:
    """What progress shows of a search that optimises something else for a stage.

    A first-plan search (``highs_stages.HighsStages._first_plan``) optimises a blend, or a
    neighbourhood with columns fixed: HiGHS's own figures are neither the stage's
    objective nor bounds on it. Progress shows instead ``cost`` (solver columns, the
    stage's units) of the plan the stage would keep — the plan the search started
    from (worth ``start``) or the search's latest, whichever is better — against
    ``bound``, the stage's LP relaxation.
    """

    cost: np.ndarray
    start: float
    bound: float | None
    maximise: bool

    def best(self, latest: float | None) -> float:
        """The better of the start and ``latest`` (None: no plan of the search's yet)."""
        if latest is None:
            return self.start
        return max(self.start, latest) if self.maximise else min(self.start, latest)

    def progress(self, stage: str, latest: float | None, elapsed: float) -> Progress:
        """A progress line: the best plan in hand (see :meth:`best`) against the bound."""
        best = self.best(latest)
        gap = None if self.bound is None else relative_gap(best, self.bound)
        return Progress(stage, best, self.bound, gap, elapsed)


@dataclass(frozen=True)
class HighsOutcome:
    """How one stage ended, in the stage's own units (scale removed)."""

    status: str  # optimal | feasible | infeasible | unbounded | no solution
    stopped: str  # "" | "time limit" | "interrupted" | "stalled" (see ``stall``)
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    x: np.ndarray | None  # column values, when there is a solution


def _import_highspy() -> Any:
    try:
        import highspy
    except ImportError:  # pragma: no cover - a dependency of ras
        return None
    return highspy


def available() -> bool:
    """Whether highspy is installed."""
    return _import_highspy() is not None


def version() -> str:
    """HiGHS's version string."""
    hs = _import_highspy()
    with quiet_stdout():
        return str(hs.Highs().version())


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Keep HiGHS's banner (printed by C++ code) off stdout, which carries --json."""
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


#: HiGHS's presolve rules switched off (the ``presolve_rule_off`` bit mask). Rule 16,
#: "Enumeration" (HiGHS 1.14 to at least 1.16), declares wrong optima on tiny plans that
#: the brute-force test finds: a 4-person, 2-contract case that has a plan of 8
#: person-years was solved "optimal" at 2 (3 under 1.14/1.15; 8 under 1.13 and with the
#: rule off). Off, the county benchmark is as fast as before (see bench/README.md).
PRESOLVE_RULES_OFF = 1 << 16
#: The least relative change of HiGHS's bound that counts as moving (``flat``): it
#: changes by float noise from check to check.
MOVED = 1e-9
#: Relative tolerance of the check of each plan HiGHS returns (objective, rows, bounds).
CHECK_TOLERANCE = 1e-6


class HighsModel:
    """One HiGHS model for all the stages of a solve."""

    def __init__(self, matrix: Matrix, *, threads: int | None = None, msg: bool = False) -> None:
        hs = _import_highspy()
        self._hs = hs
        self.matrix = matrix
        with quiet_stdout():
            h = hs.Highs()
        h.setOptionValue("output_flag", bool(msg))
        h.setOptionValue("presolve_rule_off", PRESOLVE_RULES_OFF)
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        lp = hs.HighsLp()
        lp.num_col_ = matrix.num_cols
        lp.num_row_ = matrix.num_rows
        lp.col_cost_ = np.zeros(matrix.num_cols)
        lp.col_lower_ = matrix.col_lower
        lp.col_upper_ = matrix.col_upper
        lp.row_lower_ = matrix.row_lower
        lp.row_upper_ = matrix.row_upper
        lp.a_matrix_.format_ = hs.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = matrix.row_start
        lp.a_matrix_.index_ = matrix.col_index
        lp.a_matrix_.value_ = matrix.value
        lp.a_matrix_.num_col_ = matrix.num_cols
        lp.a_matrix_.num_row_ = matrix.num_rows
        lp.integrality_ = [
            hs.HighsVarType.kInteger if i else hs.HighsVarType.kContinuous for i in matrix.integer
        ]
        h.passModel(lp)
        self.h = h
        self._lock = threading.Lock()
        self._latest: dict[str, float] = {}
        self._stop = threading.Event()
        #: Whether Ctrl-C stopped the last ``relaxation`` (it then returns None).
        self.interrupted = False
        #: Set by :meth:`request_stop`: every solve from then on stops at once.
        self.stop_requested = False
        #: Whether the last run went past its time limit (and was asked to stop).
        self.overran = False
        #: Whether a run that would not stop was given up: HiGHS may still be working
        #: in its (daemon) thread, so the model is not touched again: every later call
        #: does nothing and every later solve ends at once, at the time limit.
        self.abandoned = False
        #: Set while a search's progress is shown in its stage's terms (:class:`Shown`).
        self._shown: Shown | None = None
        self._shown_latest: float | None = None  # its objective of the search's latest plan
        h.cbMipImprovingSolution.subscribe(self._on_improving)
        h.cbMipInterrupt.subscribe(self._on_interrupt_check)
        h.cbSimplexInterrupt.subscribe(self._on_interrupt_check)
        h.cbIpmInterrupt.subscribe(self._on_interrupt_check)

    # ------------------------------------------------------------------ callbacks
    def _on_interrupt_check(self, event: Any) -> None:
        out = event.data_out
        if event.callback_type == self._hs.cb.HighsCallbackType.kCallbackMipInterrupt:
            with self._lock:
                self._latest = {
                    "primal": float(out.mip_primal_bound),
                    "dual": float(out.mip_dual_bound),
                    "gap": float(out.mip_gap),
                }
        # Said every time: HiGHS keeps the flag between solves, so a stage stopped on
        # purpose would otherwise stop the next one at its first check.
        event.interrupt(self._stop.is_set())

    def _on_improving(self, event: Any) -> None:
        shown = self._shown
        if shown is None:
            return
        value = float(shown.cost @ np.asarray(event.data_out.mip_solution))
        with self._lock:
            self._shown_latest = value

    # ------------------------------------------------------------------ changes
    def add_row(self, coefficients: np.ndarray, lower: float, upper: float) -> None:
        """Add a row ``lower <= coefficients . x <= upper`` (dense coefficients)."""
        if self.abandoned:
            return
        idx = np.flatnonzero(coefficients).astype(np.int32)
        inf = self._hs.kHighsInf
        lo = -inf if lower == -np.inf else lower
        up = inf if upper == np.inf else upper
        self.h.addRow(lo, up, len(idx), idx, coefficients[idx])

    # ------------------------------------------------------------------ solving
    def lp_bound(self, cost: np.ndarray, *, maximise: bool) -> float | None:
        """The optimum of ``cost . x`` over the LP relaxation (None: no optimum found)."""
        relaxed = self.relaxation(cost, maximise=maximise)
        return None if relaxed is None else relaxed.objective

    def relaxation(
        self, cost: np.ndarray, *, maximise: bool, time_limit: float = 60.0
    ) -> Relaxed | None:
        """The LP relaxation's optimum of ``cost . x``.

        Its value, the last row's dual value and the column values; None when it was
        not solved to optimality, or Ctrl-C stopped it (which sets :attr:`interrupted`).
        """
        if self.abandoned:
            self.interrupted = False
            return None
        hs, h = self._hs, self.h
        n = self.matrix.num_cols
        cols = np.arange(n, dtype=np.int32)
        integer = np.flatnonzero(self.matrix.integer).astype(np.int32)
        continuous = np.zeros(len(integer), dtype=np.uint8)
        h.changeColsIntegrality(len(integer), integer, continuous)
        try:
            h.changeObjectiveSense(hs.ObjSense.kMaximize if maximise else hs.ObjSense.kMinimize)
            h.changeColsCost(n, cols, cost)
            # An LP's time limit counts from the model's first solve, not this one (a
            # 5,000-person savings stage of 171 s left none for a 60 s limit).
            h.changeObjectiveOffset(0.0)
            h.setOptionValue("time_limit", float(h.getRunTime()) + float(time_limit))
            self.interrupted = self._run(limit=float(time_limit))
            if self.abandoned:
                return None
            if self.interrupted or h.getModelStatus() != hs.HighsModelStatus.kOptimal:
                return None
            solution = h.getSolution()
            duals = solution.row_dual
            last = float(duals[-1]) if len(duals) else 0.0
            x = np.array(solution.col_value)
            return Relaxed(float(h.getInfo().objective_function_value), last, x)
        finally:
            if not self.abandoned:
                kinds = np.ones(len(integer), dtype=np.uint8)  # kInteger
                h.changeColsIntegrality(len(integer), integer, kinds)
                h.clearSolver()

    @contextlib.contextmanager
    def fixed(self, columns: np.ndarray, values: np.ndarray) -> Iterator[None]:
        """Within the block, ``columns`` are fixed at ``values`` (their bounds restored after)."""
        if self.abandoned:
            yield
            return
        cols = np.asarray(columns, dtype=np.int32)
        vals = np.asarray(values, dtype=float)
        self.h.changeColsBounds(len(cols), cols, vals, vals)
        try:
            yield
        finally:
            if not self.abandoned:
                lower, upper = self.matrix.col_lower[cols], self.matrix.col_upper[cols]
                self.h.changeColsBounds(len(cols), cols, lower, upper)
                self.h.clearSolver()

    def _wait(self, timeout: float) -> bool:
        """Whether HiGHS's run ended within ``timeout`` seconds."""
        return bool(self.h.wait(timeout)[0])

    def _run(self, tick: Callable[[float], None] | None = None, limit: float | None = None) -> bool:
        """Run HiGHS in its thread until it ends; True when Ctrl-C stopped it.

        This thread waits, calling ``tick`` with the time every ``POLL_SECONDS``. Ctrl-C
        arrives either as :meth:`request_stop` (from a signal handler; the request
        holds for every later solve of this model, which stops at its first check) or
        as KeyboardInterrupt: a first asks HiGHS to stop (it does at its next check), a
        second is raised at once, and HiGHS is still told to stop.

        A run ``OVERRUN_SECONDS`` past its time limit (``limit`` seconds) is asked to
        stop (:attr:`overran`); one that still runs ``OVERRUN_SECONDS`` later is given
        up (:attr:`abandoned`): solves are never unbounded (SPEC §16).
        """
        h = self.h
        self._stop.clear()
        self.overran = False
        interrupted = self.stop_requested
        if interrupted:
            self._stop.set()
        began = time.perf_counter()
        deadline = None if limit is None or not np.isfinite(limit) else began + limit
        thread = h.startSolve()
        try:
            while True:
                try:
                    if self._wait(POLL_SECONDS):
                        return interrupted
                except KeyboardInterrupt:
                    if interrupted or self.stop_requested:
                        raise
                    interrupted = True
                    self._stop.set()
                    continue
                if self.stop_requested and not interrupted:
                    interrupted = True
                    self._stop.set()
                now = time.perf_counter()
                if deadline is not None and now > deadline + OVERRUN_SECONDS:
                    if not self.overran:
                        self.overran = True
                        self._stop.set()
                    elif now > deadline + 2 * OVERRUN_SECONDS:
                        self.abandoned = True
                        return interrupted
                if tick is not None:
                    tick(now)
        finally:
            if thread.is_alive() and not h.wait(0)[0]:
                self._stop.set()

    def request_stop(self) -> None:
        """Stop the solve under way, and any later one at its start (a Ctrl-C handler)."""
        self.stop_requested = True
        self._stop.set()

    def solve(self, stage: str, cost: np.ndarray, **kwargs: Any) -> HighsOutcome:
        """Optimise ``cost . x`` as :meth:`solve_once`, and check what HiGHS returns.

        HiGHS 1.16 can return, after presolve and from a start solution, a plan whose
        objective is not the one it reports (or that breaks a row): the brute-force test
        found a case reported at £63,893 whose plan is worth £1,461. Every plan is
        checked against the model; a plan that fails is solved again without the start,
        then without presolve, and kept only when it passes. A solve that ends in error
        (HiGHS 1.16 did, on a 24-column shortfall stage with organisations that the
        brute-force test found) is solved again the same way.
        """
        outcome = self.solve_once(stage, cost, **kwargs)
        failed = outcome.status == "no solution" and not outcome.stopped  # a solve error
        if self.consistent(outcome, cost) and not failed:
            return outcome
        retries: list[dict[str, Any]] = [{"start": None}, {"start": None, "presolve": False}]
        for change in retries:
            if outcome.stopped:  # interrupted or out of time: no second try
                break
            outcome = self.solve_once(stage, cost, **{**kwargs, **change})
            failed = outcome.status == "no solution" and not outcome.stopped
            if self.consistent(outcome, cost) and not failed:
                return outcome
        return HighsOutcome("no solution", outcome.stopped, None, outcome.bound, None,
                            outcome.seconds, None)  # fmt: skip

    def consistent(self, outcome: HighsOutcome, cost: np.ndarray) -> bool:
        """Whether a plan has the objective HiGHS reports and keeps every row and bound."""
        x = outcome.x
        if x is None or outcome.objective is None or len(x) == 0:
            return True
        m = self.matrix
        value = float(cost @ x)
        if abs(value - outcome.objective) > CHECK_TOLERANCE * max(1.0, abs(outcome.objective)):
            return False
        slack = CHECK_TOLERANCE * (1.0 + np.abs(x))
        if np.any(x < m.col_lower - slack) or np.any(x > m.col_upper + slack):
            return False
        rows = np.repeat(np.arange(m.num_rows), np.diff(m.row_start))
        terms = m.value * x[m.col_index]
        activity = np.bincount(rows, weights=terms, minlength=m.num_rows)
        size = np.bincount(rows, weights=np.abs(terms), minlength=m.num_rows)
        room = CHECK_TOLERANCE * np.maximum(1.0, size)
        return bool(
            np.all(activity >= m.row_lower - room) and np.all(activity <= m.row_upper + room)
        )

    def solve_once(
        self,
        stage: str,
        cost: np.ndarray,
        *,
        maximise: bool,
        scale: float = 1.0,
        rel_gap: float = 1e-4,
        abs_gap: float | None = None,
        time_limit: float | None = None,
        heuristic_effort: float | None = None,
        start: np.ndarray | None = None,
        progress: Callable[[Progress], None] | None = None,
        progress_every: float = 5.0,
        run_start: float | None = None,
        presolve: bool = True,
        offset: float = 0.0,
        stall: float | None = None,
        flat: float | None = None,
        seed: int = 0,
        known: tuple[float | None, float | None] = (None, None),
        shown: Shown | None = None,
    ) -> HighsOutcome:
        """Optimise ``cost . x`` (times ``scale``) from ``start``; stop at the limits.

        ``offset`` is added to the objective (it counts in the relative gap, not in the
        values returned). With ``stall``, the solve also stops once it has a plan and
        has not found a better one for that many seconds (status ``feasible``, stopped
        ``stalled``); with ``flat``, once it has a plan and neither the plan nor the
        bound has moved for that many seconds (the same). ``seed`` is HiGHS's random
        seed. ``known`` is the best objective and the best bound earlier runs of the
        same problem found (stage units): progress shows the better of them and this
        run's. With ``shown``, progress shows the stage's objective and bound, not the
        solve's.

        Raises:
            KeyboardInterrupt: a second Ctrl-C while the first was being honoured.
        """
        if self.abandoned:  # a run given up earlier may still hold the model
            return HighsOutcome("no solution", "time limit", None, None, None, 0.0, None)
        hs, h = self._hs, self.h
        n = self.matrix.num_cols
        h.changeObjectiveSense(hs.ObjSense.kMaximize if maximise else hs.ObjSense.kMinimize)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), cost * scale)
        h.changeObjectiveOffset(offset * scale)  # counts in HiGHS's relative gap
        h.setOptionValue("mip_rel_gap", float(rel_gap))
        h.setOptionValue("mip_abs_gap", float(abs_gap) if abs_gap is not None else 1e-6)
        limit = float(time_limit) if time_limit is not None else hs.kHighsInf
        h.setOptionValue("time_limit", limit)
        h.setOptionValue(
            "mip_heuristic_effort", 0.05 if heuristic_effort is None else float(heuristic_effort)
        )
        h.setOptionValue("presolve", "choose" if presolve else "off")
        h.setOptionValue("random_seed", int(seed))
        if start is not None:
            solution = hs.HighsSolution()
            solution.col_value = start
            solution.value_valid = True
            h.setSolution(solution)
        with self._lock:
            self._latest = {}
            self._shown_latest = None
        self._shown = shown
        began = time.perf_counter()
        origin = run_start if run_start is not None else began
        last_report = began
        best, improved, stalled = None, began, False
        bound, moved = None, began

        def tick(now: float) -> None:
            nonlocal last_report, best, improved, stalled, bound, moved
            if stall is not None or flat is not None:
                with self._lock:
                    primal, dual = self._latest.get("primal"), self._latest.get("dual")
                if primal is not None and abs(primal) < self._hs.kHighsInf:
                    if primal != best:
                        best, improved = primal, now
                    if dual is not None and (
                        bound is None or abs(dual - bound) > MOVED * max(1.0, abs(bound))
                    ):
                        bound, moved = dual, now
                    if not stalled and (
                        (stall is not None and now - improved > stall)
                        or (flat is not None and now - max(improved, moved) > flat)
                    ):
                        stalled = True
                        self._stop.set()
            if progress is not None and now - last_report >= progress_every:
                last_report = now
                if shown is not None:
                    with self._lock:
                        latest = self._shown_latest
                    progress(shown.progress(stage, latest, now - origin))
                else:
                    progress(self._progress(stage, scale, offset, now - origin, known, maximise))

        try:
            interrupted = self._run(tick, limit)
        finally:
            self._shown = None
        seconds = time.perf_counter() - began
        if self.abandoned:  # HiGHS may still be running: nothing of it can be read
            return HighsOutcome("no solution", "time limit", None, None, None, seconds, None)
        outcome = self._outcome(scale, offset, seconds, interrupted, stalled)
        if progress is not None and shown is not None:
            latest = None if outcome.x is None else float(shown.cost @ outcome.x)
            progress(shown.progress(stage, latest, time.perf_counter() - origin))
        elif progress is not None and outcome.objective is not None:
            progress(
                _line(
                    stage,
                    (outcome.objective, outcome.bound, outcome.gap),
                    known,
                    maximise,
                    time.perf_counter() - origin,
                )
            )
        return outcome

    def _progress(
        self,
        stage: str,
        scale: float,
        offset: float,
        elapsed: float,
        known: tuple[float | None, float | None] = (None, None),
        maximise: bool = True,
    ) -> Progress:
        """A progress line from HiGHS's latest figures and the ``known`` ones."""
        with self._lock:
            latest = dict(self._latest)
        inf = self._hs.kHighsInf

        def unscaled(key: str) -> float | None:
            v = latest.get(key)
            return None if v is None or abs(v) >= inf else v / scale - offset

        primal, gap = unscaled("primal"), latest.get("gap")
        own_gap = None if gap is None or gap >= inf or primal is None else gap  # inf: plan 0
        return _line(stage, (primal, unscaled("dual"), own_gap), known, maximise, elapsed)

    def _outcome(
        self, scale: float, offset: float, seconds: float, interrupted: bool, stalled: bool
    ) -> HighsOutcome:
        hs, h = self._hs, self.h
        model_status = h.getModelStatus()
        info = h.getInfo()
        ms = hs.HighsModelStatus
        if model_status == ms.kModelEmpty:  # nothing to decide: the empty plan
            if np.all(self.matrix.row_lower <= 0) and np.all(self.matrix.row_upper >= 0):
                return HighsOutcome("optimal", "", 0.0, 0.0, 0.0, seconds, np.zeros(0))
            return HighsOutcome("infeasible", "", None, None, None, seconds, None)
        has_solution = int(info.primal_solution_status) == 2  # kSolutionStatusFeasible
        x = np.array(h.getSolution().col_value) if has_solution else None
        value = float(info.objective_function_value) / scale - offset if has_solution else None
        raw_bound = float(info.mip_dual_bound)
        bound = raw_bound / scale - offset if abs(raw_bound) < hs.kHighsInf else None
        gap = float(info.mip_gap) if has_solution and abs(info.mip_gap) < hs.kHighsInf else None
        stopped = ""
        if model_status == ms.kOptimal:
            status = "optimal"
            if bound is None:
                bound, gap = value, 0.0
        elif model_status in (ms.kInfeasible,):
            status = "infeasible"
        elif model_status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
            status = "unbounded" if model_status == ms.kUnbounded else "infeasible"
        else:
            status = "feasible" if has_solution else "no solution"
            if stalled and not interrupted:
                stopped = "stalled"
            elif self.overran and not interrupted:
                stopped = "time limit"
            elif model_status == ms.kInterrupt or interrupted:
                stopped = "interrupted"
            elif model_status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit):
                stopped = "time limit"
        if interrupted and status in ("feasible", "optimal") and model_status != ms.kOptimal:
            stopped = "interrupted"
        return HighsOutcome(status, stopped, value, bound, gap, seconds, x)
