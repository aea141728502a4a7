"""The solver's cumulative columns: the same model, exactly (issue 7).

HiGHS is given the model in X_{p,t} = Σ_{τ≤t} x_{p,τ} (``ras/optimiser/cumulative.py``).
These tests check the change of variables itself on random matrices, that the LP
relaxation of a county case is the same in both sets of columns, and two behaviours of
the HiGHS driver the new stages rely on.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.county import generate
from ras.optimiser import highs
from ras.optimiser.compat import Matrix, matrix_of
from ras.optimiser.cumulative import cumulative
from ras.optimiser.data import build_data
from ras.optimiser.formulation import build
from ras.optimiser.highs_stages import SEARCH_STALL, SEARCH_STALL_MIN, _chains, search_stall


def _random_matrix(rng: np.random.Generator, rows: int, chains: list[int]) -> Matrix:
    cols = sum(chains) + 2  # two columns in no chain
    dense = rng.normal(size=(rows, cols)) * (rng.random((rows, cols)) < 0.5)
    starts, index, values = [0], [], []
    for r in range(rows):
        nz = np.flatnonzero(dense[r])
        index += nz.tolist()
        values += dense[r, nz].tolist()
        starts.append(len(index))
    return Matrix(
        tuple(f"c{j}" for j in range(cols)),
        np.zeros(cols),
        np.full(cols, 3.0),
        np.ones(cols, dtype=bool),
        tuple(f"r{i}" for i in range(rows)),
        np.full(rows, -np.inf),
        np.zeros(rows),
        np.array(starts, np.int32),
        np.array(index, np.int32),
        np.array(values, float),
    )


def _dense(m: Matrix) -> np.ndarray:
    out = np.zeros((m.num_rows, m.num_cols))
    for r in range(m.num_rows):
        for k in range(m.row_start[r], m.row_start[r + 1]):
            out[r, m.col_index[k]] += m.value[k]
    return out


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rows=st.integers(1, 6),
    chains=st.lists(st.integers(1, 5), min_size=1, max_size=4),
)
def test_the_change_of_variables_keeps_every_row_and_objective(
    seed: int, rows: int, chains: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    m = _random_matrix(rng, rows, chains)
    columns = iter(range(m.num_cols))
    chain_columns = [[next(columns) for _ in range(n)] for n in chains]
    steps = cumulative(m, chain_columns)
    x = rng.integers(0, 2, size=m.num_cols).astype(float)
    big_x = steps.to_solver(x)
    assert np.allclose(steps.to_plan(big_x), x)
    a, a2 = _dense(m), _dense(steps.matrix)
    # The model's rows have the same activity; the order rows hold when x >= 0.
    assert np.allclose(a2[:rows] @ big_x, a @ x)
    assert np.all(a2[rows:] @ big_x <= 1e-12)
    assert a2.shape[0] == rows + sum(n - 1 for n in chains)
    c = rng.normal(size=m.num_cols)
    assert np.isclose(steps.cost(c) @ big_x, c @ x)


def test_a_column_in_two_chains_is_refused() -> None:
    m = _random_matrix(np.random.default_rng(1), 2, [3])
    with pytest.raises(ValueError, match="two chains"):
        cumulative(m, [[0, 1], [1, 2]])


def _lp_optimum(m: Matrix, cost: np.ndarray) -> float:
    model = highs.HighsModel(m)
    bound = model.lp_bound(cost, maximise=True)
    assert bound is not None
    return bound


@pytest.mark.parametrize("objective", ["personalise", "save"])
def test_a_county_case_has_the_same_lp_relaxation_in_both_columns(objective: str) -> None:
    """Nothing is approximated: the relaxations agree to solver tolerance."""
    data = build_data(*generate(120, objective=objective))
    built = build(data)
    m = matrix_of(built.prob)
    steps = cumulative(m, _chains(built, m))
    cost = m.vector(built.person_years if objective == "personalise" else built.total_savings)[0]
    plain, stepped = _lp_optimum(m, cost), _lp_optimum(steps.matrix, steps.cost(cost))
    assert stepped == pytest.approx(plain, rel=1e-7)


def test_a_solve_stopped_on_purpose_does_not_stop_the_next() -> None:
    """HiGHS keeps its interrupt flag between solves: ras says it every time.

    A savings solve is stopped once it stalls (a stall of 0 s: at the first look after a
    plan exists); the next solve of the same model must run to its optimum.
    """
    data = build_data(*generate(200, objective="save"))
    built = build(data)
    m = matrix_of(built.prob)
    model = highs.HighsModel(m)
    savings = m.vector(built.total_savings)[0]
    first = model.solve("save", savings, maximise=True, rel_gap=1e-9, time_limit=60, stall=0.0)
    assert first.stopped == "stalled" and first.x is not None
    people = m.vector(built.person_years)[0]
    second = model.solve("personalise", people, maximise=True, scale=2, rel_gap=0,
                         abs_gap=0.999, time_limit=60)  # fmt: skip
    assert second.stopped == "" and second.status == "optimal"


@pytest.mark.slow
def test_columns_fixed_for_a_search_are_freed_after_it() -> None:
    """The search near a plan fixes columns: inside, plans keep them; after, HiGHS has
    the model's own bounds again and finds the optimum the fixing excluded."""
    data = build_data(*generate(60, objective="personalise"))
    built = build(data)
    m = matrix_of(built.prob)
    model = highs.HighsModel(m)
    people = m.vector(built.person_years)[0]
    free = model.solve("personalise", people, maximise=True, scale=2, rel_gap=0,
                       abs_gap=0.999, time_limit=60)  # fmt: skip
    assert free.status == "optimal" and free.x is not None and free.objective is not None
    moved = np.flatnonzero(m.integer & (free.x > 0.5) & (people > 0))
    assert len(moved) > 0
    moved = moved[np.argsort(-people[moved])][:1]  # the optimum's most valuable move
    with model.fixed(moved, np.zeros(len(moved))):  # forbidden
        narrow = model.solve("personalise", people, maximise=True, scale=2, rel_gap=0,
                             abs_gap=0.999, time_limit=60)  # fmt: skip
        assert narrow.x is not None and narrow.objective is not None
        assert np.all(narrow.x[moved] < 0.5)
        assert narrow.objective <= free.objective
    again = model.solve("personalise", people, maximise=True, scale=2, rel_gap=0,
                        abs_gap=0.999, time_limit=60)  # fmt: skip
    assert again.objective == pytest.approx(free.objective)
    lower, upper = model.h.getLp().col_lower_, model.h.getLp().col_upper_
    assert np.array_equal(np.asarray(lower), m.col_lower)
    assert np.array_equal(np.asarray(upper), m.col_upper)


def test_a_small_models_first_plan_search_gives_up_sooner() -> None:
    """A 153-column stage (a 30-person demo at a 15 % cut) searched 10 s past its last
    better plan, as a 5,000-person one does: 14 s of a 36 s plan for nothing."""
    assert search_stall(153, 0.001) == SEARCH_STALL_MIN
    assert SEARCH_STALL_MIN < search_stall(900, 0.01) < SEARCH_STALL
    assert search_stall(4_500, 0.2) == search_stall(22_800, 0.5) == SEARCH_STALL
    assert search_stall(22_800, 5.0) == 15.0  # a slow LP: three times its time
    sizes = [search_stall(n, 0.0) for n in range(0, 10_000, 250)]
    assert sizes == sorted(sizes)
