"""PuLP 3.x and 4.x differences, kept in one place."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
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


@dataclass(frozen=True)
class Matrix:
    """A built problem as arrays (rows in CSR form), for solvers driven directly."""

    names: tuple[str, ...]  # column names, in column order
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    row_names: tuple[str, ...]
    row_lower: np.ndarray
    row_upper: np.ndarray
    row_start: np.ndarray  # int32, num_rows + 1
    col_index: np.ndarray  # int32
    value: np.ndarray

    @property
    def num_cols(self) -> int:
        """Number of columns."""
        return len(self.names)

    @property
    def num_rows(self) -> int:
        """Number of rows."""
        return len(self.row_names)

    def column(self, name: str) -> int:
        """The index of a column by name."""
        return self._index[name]

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    def vector(self, expr: Any) -> tuple[np.ndarray, float]:
        """A PuLP expression as dense coefficients over the columns, and its constant."""
        out = np.zeros(self.num_cols)
        index = self._index
        for var, coef in expr.items():
            out[index[var.name]] += coef
        return out, float(expr.constant)


def _constraints(prob: Any) -> list[tuple[str, Any]]:
    found = prob.constraints
    if callable(found):  # PuLP >= 3.3: a list, in order
        return [(c.name, c) for c in found()]
    return list(found.items())  # older PuLP: a dict, in order


def matrix_of(prob: Any) -> Matrix:
    """The problem's columns and rows as arrays (either PuLP generation)."""
    variables = prob.variables()
    names = tuple(v.name for v in variables)
    index = {n: i for i, n in enumerate(names)}
    inf = np.inf
    lower = np.array([-inf if v.lowBound is None else v.lowBound for v in variables], float)
    upper = np.array([inf if v.upBound is None else v.upBound for v in variables], float)
    integer = np.array([v.cat in (pulp.LpInteger, pulp.LpBinary) for v in variables], bool)
    row_names: list[str] = []
    row_lower: list[float] = []
    row_upper: list[float] = []
    starts = [0]
    cols: list[int] = []
    vals: list[float] = []
    for name, c in _constraints(prob):
        for var, coef in c.items():
            if coef:
                cols.append(index[var.name])
                vals.append(coef)
        starts.append(len(cols))
        lb, ub = c.getLb(), c.getUb()
        row_names.append(name)
        row_lower.append(-inf if lb is None else lb)
        row_upper.append(inf if ub is None else ub)
    return Matrix(
        names,
        lower,
        upper,
        integer,
        tuple(row_names),
        np.array(row_lower, float),
        np.array(row_upper, float),
        np.array(starts, np.int32),
        np.array(cols, np.int32),
        np.array(vals, float),
    )
