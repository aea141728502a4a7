"""PuLP 3.x and 4.x differences, kept in one place."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulp

PULP_4 = hasattr(pulp, "lpSum_vars_coefs")


def linear(pairs: Iterable[tuple[Any, float]], constant: float = 0.0) -> Any:
    """A linear expression ``sum(coef * var) + constant`` built in one batch."""
    items = [(v, c) for v, c in pairs if c != 0]
    if PULP_4:
        expr = pulp.lpSum_vars_coefs(items) if items else pulp.lpSum([])
        return expr + constant if constant else expr
    return pulp.LpAffineExpression(items, constant=constant)


def new_variable(prob: Any, name: str, low: float | None, up: float | None, cat: str) -> Any:
    """A variable of ``prob`` (PuLP 4 creates variables through their problem)."""
    return prob.add_variable(name, low, up, cat)


def pulp_version() -> str:
    """The installed PuLP version."""
    return str(getattr(pulp, "__version__", "?"))
