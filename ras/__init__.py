"""ras: indicative budgets from self-assessments, and the plan that pays for them.

The Python API for analysts (see ``ras.api``; the README has an example)::

    import ras
    table = ras.load_table("adult.yaml")
    run = ras.score("assessments/", table)
    ras.frames(run)["Allocations"]  # the Allocations sheet as a DataFrame
    plan = ras.optimise("scenario.xlsx", set={"savings.rate": "4%"})
    ras.frames(plan)["Years"]

The functions are loaded on first use, so that ``ras --help`` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ras.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from ras.api import (
        calibrate,
        compare,
        frames,
        frontier_rates,
        load_scenario,
        load_table,
        optimise,
        score,
    )
    from ras.models.scored import ScoreRun

__all__ = [
    "__version__",
    "allocations_frame",
    "calibrate",
    "compare",
    "frames",
    "frontier_rates",
    "load_scenario",
    "load_table",
    "optimise",
    "score",
    "score_frame",
]

_API = {"calibrate", "compare", "frames", "frontier_rates", "load_scenario", "load_table",
        "optimise", "score"}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _API:
        from ras import api

        return getattr(api, name)
    raise AttributeError(f"module 'ras' has no attribute {name!r}")


def score_frame(inputs: Any, table: Any, jobs: int | None = None) -> pd.DataFrame:
    """Score INPUTs and return the Allocations sheet as a pandas DataFrame."""
    from ras.api import frames, score

    return frames(score(inputs, table, jobs=jobs))["Allocations"]


def allocations_frame(run: ScoreRun) -> pd.DataFrame:
    """The Allocations sheet of a run as a pandas DataFrame (exact decimals kept)."""
    from ras.api import frames

    return frames(run)["Allocations"]
