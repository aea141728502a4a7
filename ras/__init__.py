"""ras: indicative budgets from self-assessments, and the plan that pays for them.

The Python API for analysts::

    import ras
    table = ras.load_table("adult.yaml")
    run = ras.score(["assessments/"], table)
    frame = ras.allocations_frame(run)  # the Allocations sheet as a DataFrame
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ras.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from ras.models.scored import ScoreRun
    from ras.models.table import PointTable

__all__ = ["__version__", "allocations_frame", "load_table", "score", "score_frame"]


def load_table(path: str | Path) -> PointTable:
    """Load a point table from YAML or xlsx (raises ``ras.errors.ConfigError``)."""
    from ras.io.table_file import load_table as _load

    return _load(path)


def score(
    inputs: list[str | Path] | str | Path, table: PointTable | str | Path, jobs: int | None = None
) -> ScoreRun:
    """Score workbooks, folders or bulk tables; the same numbers as ``ras score``."""
    from ras.commands.score import score_inputs
    from ras.models.table import PointTable

    if not isinstance(inputs, list):
        inputs = [inputs]
    if not isinstance(table, PointTable):
        table = load_table(table)
    return score_inputs(inputs, table, jobs=jobs)


def score_frame(
    inputs: list[str | Path] | str | Path, table: PointTable | str | Path, jobs: int | None = None
) -> pd.DataFrame:
    """Score INPUTs and return the Allocations sheet as a pandas DataFrame."""
    return allocations_frame(score(inputs, table, jobs=jobs))


def allocations_frame(run: ScoreRun) -> pd.DataFrame:
    """The Allocations sheet of a run as a pandas DataFrame (exact decimals kept)."""
    import pandas as pd

    from ras.io.allocations import allocation_headers, allocation_rows

    return pd.DataFrame(allocation_rows(run), columns=allocation_headers(run.table))
