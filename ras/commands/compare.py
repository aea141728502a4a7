"""Comparison (SPEC §11): the base scenario and every variant, and the savings frontier.

Runs go to worker processes; a run that fails is reported with its reason and does not
stop the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ras.errors import ExitCode, RasError, UsageError, quote
from ras.parallel import run_parallel
from ras.money import pence
from ras.optimise.readback import YearRow
from ras.optimise.solve import SolveOptions
from ras.io.scenario_file import load_scenario


@dataclass(frozen=True)
class RunJob:
    """One run to make: the scenario, a variant, overrides, and its label."""

    scenario: str
    name: str
    variant: str | None = None
    sets: tuple[str, ...] = ()
    rate: Decimal | None = None  # frontier points
    options: SolveOptions = field(default_factory=SolveOptions)


@dataclass(frozen=True)
class RunSummary:
    """What one run produced (small enough to send back from a worker)."""

    name: str
    status: str
    target_met: bool = False
    person_years: Decimal = Decimal(0)
    total_savings: Decimal = Decimal(0)
    moves: int = 0
    years: tuple[YearRow, ...] = ()
    error: str = ""
    exit_code: int = 0
    rate: Decimal | None = None


def run_job(job: RunJob) -> RunSummary:
    """Solve one run (in a worker); errors become a failed summary."""
    from ras.commands.optimise import run_optimise

    try:
        outcome = run_optimise(
            job.scenario, None, variant=job.variant, sets=job.sets, options=job.options
        )
    except RasError as exc:
        return RunSummary(
            job.name,
            "FAILED",
            error=str(exc).splitlines()[0],
            exit_code=int(exc.exit_code),
            rate=job.rate,
        )
    except Exception as exc:  # one run's failure must not stop the others
        return RunSummary(
            job.name,
            "FAILED",
            error=f"{type(exc).__name__}: {exc}",
            exit_code=int(ExitCode.INVALID_INPUT),
            rate=job.rate,
        )
    p = outcome.plan
    return RunSummary(
        job.name,
        p.status,
        p.target_met,
        p.person_years,
        p.total_savings,
        len(p.moves),
        tuple(p.years),
        rate=job.rate,
        exit_code=int(ExitCode.SOLVER) if p.stopped else 0,
    )


def _crashed(job: RunJob) -> RunSummary:
    return RunSummary(
        job.name,
        "FAILED",
        error="the worker process crashed",
        exit_code=int(ExitCode.SOLVER),
        rate=job.rate,
    )


def parse_frontier(text: str) -> list[Decimal]:
    """``START:STOP:STEP`` -> the rates from START to STOP inclusive."""
    try:
        start, stop, step = (Decimal(part) for part in text.split(":"))
    except (ValueError, InvalidOperation) as exc:
        raise UsageError(
            f"--frontier {quote(text)}: write START:STOP:STEP, e.g. 0:0.08:0.01"
        ) from exc
    if step <= 0 or stop < start or start < 0 or stop >= 1:
        raise UsageError(f"--frontier {quote(text)}: need 0 <= START <= STOP < 1 and STEP > 0")
    rates: list[Decimal] = []
    r = start
    while r <= stop and len(rates) < 1000:
        rates.append(r)
        r += step
    return rates


def frontier_set(kind: str, rate: Decimal, horizon: int) -> str:
    """The ``--set`` that applies one frontier rate to the base scenario."""
    if kind == "year_on_year":
        return f"savings.rate={rate}"
    if kind == "vs_baseline":
        return "savings.rates=[" + ", ".join([str(rate)] * horizon) + "]"
    raise UsageError(
        "--frontier needs a rate target (year_on_year or vs_baseline), not absolute amounts"
    )


@dataclass
class CompareOutcome:
    """Every run side by side, and the frontier."""

    scenario: str
    runs: list[RunSummary]
    frontier: list[RunSummary]

    @property
    def exit_code(self) -> int:
        """0 when every run produced a plan; else the worst failure's code."""
        return max((r.exit_code for r in self.runs + self.frontier), default=0)

    def summary(self) -> dict[str, Any]:
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
            }

        return {
            "scenario": self.scenario,
            "runs": [one(r) for r in self.runs],
            "frontier": [one(r) for r in self.frontier],
        }


def run_compare(
    scenario: Path | str,
    out: Path | None,
    *,
    frontier: str | None = None,
    options: SolveOptions | None = None,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CompareOutcome:
    """``ras compare``: base and every variant, and the frontier, then comparison.xlsx."""
    loaded = load_scenario(scenario)  # fails early on a bad file
    opts = options or SolveOptions()
    path = str(scenario)
    run_jobs = [RunJob(path, "base", options=opts)] + [
        RunJob(path, name, variant=name, options=opts) for name in loaded.scenario.variants
    ]
    front_jobs: list[RunJob] = []
    if frontier is not None:
        sc = loaded.scenario
        for rate in parse_frontier(frontier):
            front_jobs.append(
                RunJob(
                    path,
                    f"rate {rate}",
                    sets=(frontier_set(sc.savings.kind, rate, sc.horizon),),
                    rate=rate,
                    options=opts,
                )
            )
    every = run_jobs + front_jobs
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress("Solving", done[0], len(every))

    results = run_parallel(run_job, every, _crashed, jobs, tick)
    outcome = CompareOutcome(path, results[: len(run_jobs)], results[len(run_jobs) :])
    if out is not None:
        from ras.io.comparison_writer import write_comparison

        write_comparison(outcome, out)
    return outcome
