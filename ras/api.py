"""The Python API: the commands as functions returning typed results (``import ras``).

Each function does what its command does and returns the same records the workbooks
are written from; :func:`frames` gives any result's tables as pandas DataFrames (the
sheets' columns, exact decimals kept). Nothing is written unless ``out`` is given.

Safe to call from a plain script or a notebook without an ``if __name__ ==
"__main__":`` guard: ras's worker processes never re-run the caller's script. Work
runs on every core by default; ``jobs=0`` keeps it in this process, ``jobs=N`` uses N
worker processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ras.errors import UsageError
from ras.models.base import parse_rate
from ras.models.calibration import CalibrationOutcome
from ras.models.comparison import CompareOutcome
from ras.models.plan import PlanOutcome, SolveOptions
from ras.models.scenario import LoadedScenario, Override
from ras.models.scored import ScoreRun
from ras.models.table import PointTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "calibrate",
    "compare",
    "frames",
    "load_scenario",
    "load_table",
    "optimise",
    "score",
]

PathLike = str | Path


def load_table(path: PathLike) -> PointTable:
    """Load a point table from YAML or a workbook (raises ``ras.errors.ConfigError``)."""
    from ras.io.table_file import load_table as load

    return load(Path(path))


def score(
    inputs: Iterable[PathLike] | PathLike,
    table: PointTable | PathLike,
    *,
    jobs: int | None = None,
    out: PathLike | None = None,
) -> ScoreRun:
    """Score workbooks, folders or bulk tables: ``ras score`` (``out``: allocations.xlsx)."""
    # Imported here: the optimiser's and calibration's imports start threads (numpy's
    # BLAS), and readers fork quickest from a process without them (see ras.parallel).
    from ras.commands.score import score_inputs
    from ras.io.allocations import write_allocations

    if isinstance(inputs, str | Path):
        inputs = [inputs]
    if not isinstance(table, PointTable):
        table = load_table(table)
    run = score_inputs(list(inputs), table, jobs=jobs)
    if out is not None:
        write_allocations(run, Path(out))
    return run


def _overrides(values: Mapping[str, Any] | None) -> list[Override]:
    """``{"savings.rate": "4%"}`` as overrides (like ``--set``, given in Python)."""
    out = []
    for key, value in (values or {}).items():
        keys = tuple(k.strip() for k in key.split("."))
        if not all(keys):
            raise UsageError(f"set: {key!r} is not a dotted scenario key (savings.rate)")
        shown = value if isinstance(value, str) else repr(value)
        out.append(Override(keys, value, "--set", f"set {key}={shown}"))
    return out


def load_scenario(
    path: PathLike, variant: str | None = None, set: Mapping[str, Any] | None = None
) -> LoadedScenario:
    """Load and validate a scenario (YAML or workbook) with a variant and overrides."""
    from ras.io.scenario_file import load_scenario as load

    return load(Path(path), variant, _overrides(set))


def optimise(
    scenario: PathLike,
    *,
    variant: str | None = None,
    set: Mapping[str, Any] | None = None,
    out: PathLike | None = None,
    solver: str = "highs",
    time_limit: float | None = 600,
    gap: float = 1e-4,
) -> PlanOutcome:
    """The transfer plan: ``ras optimise`` (``out``: plan.xlsx). ``time_limit=None``: none."""
    from ras.commands.optimise import run_optimise

    return run_optimise(
        Path(scenario),
        Path(out) if out is not None else None,
        variant=variant,
        overrides=_overrides(set),
        options=SolveOptions(solver=solver, time_limit=time_limit or None, gap=gap),
    )


def calibrate(
    allocations: PathLike,
    table: PointTable | PathLike,
    *,
    budget: Decimal | int | str | None = None,
    contingency: Decimal | str = "0.05",
    out: PathLike | None = None,
    write_table: PathLike | None = None,
) -> CalibrationOutcome:
    """Fit the table to current costs and to the money available: ``ras calibrate``."""
    from ras.commands.calibrate import run_calibrate

    if not isinstance(table, PointTable):
        table = load_table(table)
    return run_calibrate(
        Path(allocations),
        table,
        Path(out) if out is not None else None,
        budget=None if budget is None else Decimal(str(budget)),
        contingency=Decimal(str(contingency)),
        write_table=Path(write_table) if write_table is not None else None,
    )


def compare(
    scenario: PathLike,
    *,
    variants: Sequence[str] | None = None,
    set: Mapping[str, Any] | None = None,
    frontier: Sequence[Decimal | str | float] | None = None,
    out: PathLike | None = None,
    jobs: int | None = None,
    solver: str = "highs",
    time_limit: float | None = 600,
) -> CompareOutcome:
    """Base and variants side by side, and a frontier of savings rates: ``ras compare``.

    ``frontier`` is a list of rates (``[0, 0.02, 0.04]``) or ``(start, stop, step)``
    given as ``frontier=ras.frontier_rates(0, 0.08, 0.01)``; rates may be typed ``"3%"``.
    ``time_limit`` (seconds; None: none) is for all the runs together: each solves in
    what is left of it, and a run it leaves no time for is reported not solved.
    """
    from ras.commands.compare import run_compare

    rates = [Decimal(parse_rate(r)) for r in frontier] if frontier is not None else []
    return run_compare(
        Path(scenario),
        Path(out) if out is not None else None,
        frontier=rates,
        variants=variants,
        overrides=_overrides(set),
        jobs=jobs,
        options=SolveOptions(solver=solver, time_limit=time_limit or None),
    )


def frames(
    result: ScoreRun | PlanOutcome | CompareOutcome | CalibrationOutcome,
) -> dict[str, pd.DataFrame]:
    """A result's tables as DataFrames, named and laid out as the workbook's sheets."""
    import pandas as pd

    from ras.io.allocation_rows import allocation_headers, allocation_rows
    from ras.io.calibration_writer import SAMPLE_HEADERS, sample_rows
    from ras.io.comparison_writer import (
        FRONTIER_HEADERS,
        RUN_HEADERS,
        frontier_rows,
        organisation_run_headers,
        organisation_run_rows,
        run_rows,
    )
    from ras.io.plan_writer import plan_tables

    tables: dict[str, tuple[Sequence[str], list[list[Any]]]]
    if isinstance(result, ScoreRun):
        rows = [list(r) for r in allocation_rows(result)]
        tables = {"Allocations": (allocation_headers(result.table), rows)}
    elif isinstance(result, PlanOutcome):
        tables = dict(plan_tables(result))
    elif isinstance(result, CompareOutcome):
        ok = [r for r in result.runs if r.years]
        tables = {
            "Runs": (RUN_HEADERS, run_rows(result.runs)),
            "Organisations": (
                organisation_run_headers(ok, result.base_year),
                organisation_run_rows(ok),
            ),
            "Frontier": (FRONTIER_HEADERS, frontier_rows(result.frontier)),
        }
    elif isinstance(result, CalibrationOutcome):
        tables = {"Sample": (SAMPLE_HEADERS, sample_rows(result.fit))}
    else:
        raise TypeError(f"no tables for {type(result).__name__}")
    return {name: pd.DataFrame(rows, columns=list(h)) for name, (h, rows) in tables.items()}


def frontier_rates(start: Decimal | str, stop: Decimal | str, step: Decimal | str) -> list[Decimal]:
    """The savings rates from ``start`` to ``stop``, ``step`` apart (for :func:`compare`)."""
    from ras.commands.compare import frontier_rates as rates

    return rates(*(Decimal(parse_rate(x)) for x in (start, stop, step)))


__all__ += ["frontier_rates"]
