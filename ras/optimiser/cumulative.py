"""The model in cumulative columns: the solver decides "moved by year t", not "moves in t".

SPEC §9's decisions are x_{p,t} (p moves at the start of year t) and k_{c,t} (release
steps in year t); ``formulation.py`` builds them as written, and the LP file keeps them.
HiGHS is given the same model in the cumulative variables of §9,
X_{p,t} = Σ_{τ≤t} x_{p,τ} (p is in a budget in year t) and K_{c,t} = Σ_{τ≤t} k_{c,τ},
with X_{p,t} ≤ X_{p,t+1}. The change of variables is unimodular (x_{p,t} =
X_{p,t} − X_{p,t−1}), so the two models have the same plans, the same objective values
and the same LP relaxation; nothing is approximated. What changes is how the solver
works: a year's savings row, dense in every earlier move of every person, needs only
the person's state in that year and the year before, and a branch on X_{p,t} ("is p in
a budget by year t?") splits the plans evenly where a branch on x_{p,t} ("does p move
in exactly year t?") does not. On generated county cases the money stages reached
their gap four to six times sooner (see bench/README.md).

Everything here is arrays: a :class:`Cumulative` holds the transformed matrix and maps
costs, rows, starts and solutions between the two sets of columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ras.optimiser.compat import Matrix


@dataclass(frozen=True)
class Cumulative:
    """A model in cumulative columns, and the maps to and from the model as built.

    Column j of :attr:`matrix` is the running total of column j of the model as built
    along its chain (a person's years, or a contract's); columns in no chain are
    unchanged. The rows are the model's rows, then one ``X_a <= X_b`` row for each pair
    of consecutive years in a chain.
    """

    matrix: Matrix
    previous: np.ndarray  # the column of the year before in the chain, or -1
    following: np.ndarray  # the column of the year after in the chain, or -1
    levels: tuple[np.ndarray, ...]  # chain columns by position (second year, third, ...)

    def cost(self, coefficients: np.ndarray) -> np.ndarray:
        """Objective (or row) coefficients of the built columns, for cumulative columns.

        Σ_t a_t x_t = Σ_t (a_t − a_{t+1}) X_t, with a_{H+1} = 0.
        """
        out = np.array(coefficients, dtype=float)
        has = self.following >= 0
        out[has] -= coefficients[self.following[has]]
        return out

    def to_plan(self, cumulative: np.ndarray) -> np.ndarray:
        """Column values of the model as built from the cumulative ones."""
        out = np.array(cumulative, dtype=float)
        has = self.previous >= 0
        out[has] -= cumulative[self.previous[has]]
        return out

    def to_solver(self, plan: np.ndarray) -> np.ndarray:
        """Cumulative column values from those of the model as built."""
        out = np.array(plan, dtype=float)
        for level in self.levels:
            out[level] += out[self.previous[level]]
        return out


def cumulative(matrix: Matrix, chains: Sequence[Sequence[int]]) -> Cumulative:
    """The model of ``matrix`` in the running totals of each chain of columns.

    Each chain lists the columns of one person's (or one contract's) years in order;
    each column has a lower bound of 0 and is in at most one chain.

    Raises:
        ValueError: a column in two chains, or a chain column that can be negative.
    """
    n = matrix.num_cols
    previous = np.full(n, -1, dtype=np.int64)
    following = np.full(n, -1, dtype=np.int64)
    position = np.zeros(n, dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    pairs: list[tuple[int, int]] = []
    for chain in chains:
        for depth, col in enumerate(chain):
            if seen[col]:
                raise ValueError(f"column {matrix.names[col]} is in two chains")
            if matrix.col_lower[col] != 0:
                raise ValueError(f"column {matrix.names[col]} has a lower bound other than 0")
            seen[col] = True
            position[col] = depth
        for a, b in zip(chain, chain[1:], strict=False):
            previous[b], following[a] = a, b
            pairs.append((a, b))

    # A·x with x = D·X: the entry (row, col, v) adds v to col and -v to the column
    # before it in its chain; entries on the same (row, col) are summed, zeros dropped.
    rows = np.repeat(np.arange(matrix.num_rows, dtype=np.int64), np.diff(matrix.row_start))
    cols = matrix.col_index.astype(np.int64)
    shifted = previous[cols] >= 0
    all_rows = np.concatenate([rows, rows[shifted]])
    all_cols = np.concatenate([cols, previous[cols[shifted]]])
    values = np.concatenate([matrix.value, -matrix.value[shifted]])
    keys = all_rows * n + all_cols
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    unique, first = np.unique(keys, return_index=True)
    summed = np.add.reduceat(values, first) if len(values) else values
    kept = summed != 0
    unique, summed = unique[kept], summed[kept]

    # The order rows: X_a - X_b <= 0 for consecutive years a, b of a chain.
    link = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    num_rows = matrix.num_rows + len(link)
    row_of = np.concatenate([unique // n, np.repeat(np.arange(matrix.num_rows, num_rows), 2)])
    col_of = np.concatenate([unique % n, link.reshape(-1)])
    value_of = np.concatenate([summed, np.tile([1.0, -1.0], len(link))])
    order = np.lexsort((col_of, row_of))
    row_of, col_of, value_of = row_of[order], col_of[order], value_of[order]
    transformed = replace(
        matrix,
        row_names=matrix.row_names + tuple(f"order_{matrix.names[a]}" for a, _ in link),
        row_lower=np.concatenate([matrix.row_lower, np.full(len(link), -np.inf)]),
        row_upper=np.concatenate([matrix.row_upper, np.zeros(len(link))]),
        row_start=np.searchsorted(row_of, np.arange(num_rows + 1)).astype(np.int32),
        col_index=col_of.astype(np.int32),
        value=value_of.astype(float),
    )
    deepest = int(position.max()) if n else 0
    levels = tuple(np.flatnonzero((position == d) & (previous >= 0)) for d in range(1, deepest + 1))
    return Cumulative(transformed, previous, following, levels)
