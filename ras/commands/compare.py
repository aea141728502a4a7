"""Comparison (SPEC §11): the base scenario and every variant, and the savings frontier.

Runs are Dask tasks (a local cluster by default, or ``--scheduler``); a run that fails is
reported with its reason and does not stop the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.cluster import run_tasks, sweep_client
from ras.commands.optimise import load_inputs
from ras.errors import ConfigError, InputError, OutputError, RasError, SolverError, UsageError
from ras.io.comparison_writer import write_comparison
from ras.io.scenario_file import load_scenario
from ras.models.base import decimal_text
from ras.models.comparison import CompareOutcome, RunEnd, RunSummary
from ras.models.plan import PlanData, SolveOptions
from ras.models.scenario import Override
from ras.money import pence, pounds
from ras.optimiser.formulation import build
from ras.optimiser.readback import make_plan
from ras.optimiser.solve import solve
from ras.outputs import refuse_overwriting


@dataclass(frozen=True)
class RunJob:
    """One run to make: its label, and the scenario's values or why they cannot be used."""

    name: str
    data: PlanData | None  # the model's data (None: the run failed before solving)
    options: SolveOptions = field(default_factory=SolveOptions)
    rate: Decimal | None = None  # frontier points
    error: str = ""
    end: RunEnd = RunEnd.PLAN
    #: When the command's time for solving ends (``time.time()``; None: no limit). A run
    #: solves in what is left of it: the whole command is bounded, not each run.
    deadline: float | None = None


def run_job(job: RunJob) -> RunSummary:
    """Solve one run (on a worker): build the model from its data; plain results back."""
    if job.data is None:
        return RunSummary(job.name, "FAILED", error=job.error, end=job.end, rate=job.rate)
    options = job.options
    if job.deadline is not None:
        left = job.deadline - time.time()
        if left < 1:
            return RunSummary(
                job.name,
                "TIME LIMIT",
                error="not solved: the time limit was reached before this run could start "
                "(give --time-limit more seconds, or 0 for none)",
                end=RunEnd.SOLVER_FAILED,
                rate=job.rate,
            )
        options = replace(options, time_limit=left)
    try:
        built = build(job.data)
        solution = solve(built, options, relaxed=build(job.data, with_shortfall=True))
    except RasError as exc:
        return RunSummary(
            job.name, "FAILED", error=_first_problem(exc), end=_end_of(exc), rate=job.rate
        )
    p = make_plan(job.data, solution)
    return RunSummary(
        job.name,
        p.status,
        p.target_met,
        p.person_years,
        p.total_savings,
        len(p.moves),
        tuple(p.years),
        rate=job.rate,
        end=RunEnd.STOPPED if p.stopped else RunEnd.PLAN,
        organisations=tuple(p.organisations),
    )


def _first_problem(exc: RasError) -> str:
    """A failed run's error in one line (one cell of the Runs sheet), counting the rest."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    more = len(lines) - 1
    if not more:
        return lines[0]
    rest = "problem" if more == 1 else "problems"
    return f"{lines[0]} (and {more} more {rest}: `ras optimise` on this run lists them all)"


def _end_of(exc: RasError) -> RunEnd:
    if isinstance(exc, UsageError):
        return RunEnd.BAD_USAGE
    if isinstance(exc, SolverError):
        return RunEnd.SOLVER_FAILED
    if isinstance(exc, ConfigError | InputError | OutputError):
        return RunEnd.BAD_INPUT
    return RunEnd.BAD_INPUT


def _crashed(job: RunJob, exc: BaseException) -> RunSummary:
    from_worker = type(exc).__name__ == "KilledWorker"
    return RunSummary(
        job.name,
        "FAILED",
        error="the worker process crashed (twice: it was retried once)"
        if from_worker
        else f"{type(exc).__name__}: {str(exc)[:200]}",
        end=RunEnd.CRASHED,
        rate=job.rate,
    )


def _job(
    scenario: str,
    name: str,
    variant: str | None,
    overrides: Sequence[Override],
    options: SolveOptions,
    rate: Decimal | None = None,
) -> RunJob:
    """A run's job, its inputs read here (a run with bad inputs fails alone)."""
    try:
        data, _ = load_inputs(load_scenario(scenario, variant, overrides, for_a_run=True))
    except RasError as exc:
        return RunJob(name, None, options, rate, _first_problem(exc), _end_of(exc))
    return RunJob(name, data, options, rate)


def run_compare(
    scenario: Path | str,
    out: Path | None,
    *,
    frontier: Sequence[Decimal] = (),
    options: SolveOptions | None = None,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    variants: Sequence[str] | None = None,
    overrides: Sequence[Override] = (),
    scheduler: str | None = None,
) -> CompareOutcome:
    """``ras compare``: base and every variant, and the frontier, then comparison.xlsx.

    ``variants`` picks which variants run beside the base (default: all of them);
    ``overrides`` (``--set``) apply to every run and win over each variant's values.
    The runs are Dask tasks: on a local cluster of ``jobs`` workers (default: one per
    core; 0: none, here), or on the cluster at ``scheduler``. Each run's inputs are read
    here and sent as data; workers build and solve.

    Raises:
        UsageError: a variant that the scenario does not name.
        ConfigError: the scenario (or an override) is invalid.
    """
    loaded = load_scenario(scenario, None, overrides, for_a_run=True)  # fails early
    refuse_overwriting(out, loaded.inputs())
    names = list(loaded.scenario.variants)
    if variants is not None:
        for name in variants:
            load_scenario(scenario, name, overrides)  # an unknown name is a usage error
        names = [n for n in names if n in variants]
    opts = replace(options or SolveOptions(), progress=None)  # nothing unpicklable to workers
    deadline = time.time() + opts.time_limit if opts.time_limit else None
    if opts.threads is None and jobs != 0:
        opts = replace(opts, threads=1)  # one core per worker: the workers share the cores
    path = str(scenario)
    sets = tuple(overrides)
    run_jobs = [_job(path, "base", None, sets, opts)] + [
        _job(path, name, name, sets, opts) for name in names
    ]
    front_jobs: list[RunJob] = []
    sc = loaded.scenario
    for rate in frontier:
        every_set = (*sets, _rate_override(sc.savings.kind, rate, sc.horizon))
        front_jobs.append(_job(path, f"rate {rate}", None, every_set, opts, rate))
    every = [replace(job, deadline=deadline) for job in run_jobs + front_jobs]
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("Solving", done[0], len(every))

    with sweep_client(scheduler, jobs) as client:
        results = run_tasks(client, run_job, every, _crashed, tick)
    front = flag_lower_savings(results[len(run_jobs) :])
    warned = {i.one_line(): i for job in every if job.data for i in job.data.warnings}
    outcome = CompareOutcome(
        path, results[: len(run_jobs)], front, sc.base_year, list(warned.values())
    )
    if out is not None:
        write_comparison(outcome, out)
    return outcome


def flag_lower_savings(points: Sequence[RunSummary]) -> list[RunSummary]:
    """Frontier points whose total savings fall below a lower rate's, with a note saying so.

    Under ``year_on_year`` each year is measured against the plan's own previous year, so
    a higher rate can cut early and then save less in total; readers are surprised by it.
    """
    out: list[RunSummary] = []
    best: RunSummary | None = None
    for p in sorted(points, key=lambda x: x.rate if x.rate is not None else Decimal(0)):
        if p.years and best is not None and p.total_savings < best.total_savings:
            at = decimal_text(best.rate * 100) if best.rate is not None else "?"
            p = replace(
                p,
                note=f"saves {pounds(best.total_savings - p.total_savings)} less than at {at} %",
            )
        if p.years and (best is None or p.total_savings > best.total_savings):
            best = p
        out.append(p)
    return out


#: The most rates a frontier may have (each is a run of the optimiser).
MAX_FRONTIER = 1000


def frontier_rates(start: Decimal, stop: Decimal, step: Decimal) -> list[Decimal]:
    """The savings rates from ``start`` to ``stop`` inclusive, ``step`` apart (at most 1,000).

    Raises:
        UsageError: not 0 <= start <= stop < 1 with step > 0.
    """
    if step <= 0 or stop < start or start < 0 or stop >= 1:
        raise UsageError(
            f"--frontier {start}:{stop}:{step}: need 0 <= START <= STOP < 1 and STEP > 0"
        )
    count = int((stop - start) / step) + 1
    if count > MAX_FRONTIER:
        # Cut at 1,000 rates, the frontier stopped far short of STOP and did not say so.
        raise UsageError(
            f"--frontier {start}:{stop}:{step} is {count:,} rates, more than {MAX_FRONTIER:,}; "
            "use a larger STEP"
        )
    rates: list[Decimal] = []
    r = start
    while r <= stop:
        rates.append(r)
        r += step
    return rates


def _rate_override(kind: str, rate: Decimal, horizon: int) -> Override:
    """The override that applies one frontier rate to the base scenario."""
    if kind == "year_on_year":
        return Override(("savings", "rate"), str(rate), "frontier", f"frontier rate {rate}")
    if kind == "vs_baseline":
        return Override(
            ("savings", "rates"), [str(rate)] * horizon, "frontier", f"frontier rate {rate}"
        )
    raise UsageError(
        "--frontier needs a rate target (year_on_year or vs_baseline), not absolute amounts"
    )


def compare_summary(outcome: CompareOutcome) -> dict[str, Any]:
    """Machine-readable summary (``--json``)."""

    def one(r: RunSummary) -> dict[str, Any]:
        return {
            "name": r.name,
            "status": r.status,
            "target_met": r.target_met,
            "person_years": str(r.person_years),
            "total_savings": str(pence(r.total_savings)),
            "moves": r.moves,
            "error": r.error,
            "rate": None if r.rate is None else str(r.rate),
            "note": r.note,
            "organisations": [
                {
                    "name": name,
                    "savings": str(pence(total)),
                    "limit": kinds or None,
                    "met": met,
                    "by_year": [
                        str(pence(o.savings)) for o in r.organisations if o.name == name and o.org
                    ],
                }
                for name, total, kinds, met in r.organisation_savings()
            ],
        }

    return {
        "scenario": outcome.scenario,
        "runs": [one(r) for r in outcome.runs],
        "frontier": [one(r) for r in outcome.frontier],
        "warnings": [i.one_line() for i in outcome.warnings],
    }
