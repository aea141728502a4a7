"""The transfer model (SPEC §9) on tiny cases worked by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from ras.cli import main
from ras.commands.optimise import run_optimise
from ras.models.plan import SolveOptions
from tests.planning import contract, member, placement, write_case

D = Decimal


def solve_case(tmp_path: Path, **kw: object) -> object:
    scenario = write_case(tmp_path, **kw)  # type: ignore[arg-type]
    return run_optimise(scenario, tmp_path / "plan.xlsx")


def test_a_move_that_saves_money(tmp_path: Path) -> None:
    out = solve_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "out_of_area", 100000)],
        transition={"overlap_weeks": 2, "setup_cost": 1500},
        savings={"kind": "vs_baseline", "rates": ["0.1"]},
    )
    plan = out.plan  # type: ignore[attr-defined]
    assert [(m.person_id, m.year) for m in plan.moves] == [("A", 1)]
    y1 = plan.years[0]
    # Spend = budget 60,000 + set-up 1,500 + 2 weeks' double running 100,000/52 x 2.
    assert y1.spend == D(60000) + D(1500) + D(100000) / 52 * 2
    assert y1.savings.quantize(D("0.01")) == D("34653.85")
    assert y1.target == D(10000) and y1.met
    assert plan.person_years == 2  # out_of_area weight 2 x 1 year
    assert plan.status == "OPTIMAL"


def test_costly_move_happens_only_when_the_target_allows(tmp_path: Path) -> None:
    case = {"budgets": {"B": 70000}, "placements": [placement("B", "inpatient", 50000)]}
    tight = solve_case(tmp_path / "tight", **case, savings={"kind": "vs_baseline", "rates": [0]})
    assert tight.plan.moves == []  # type: ignore[attr-defined]
    assert tight.plan.people == [("B", "inpatient", "not chosen")]  # type: ignore[attr-defined]
    loose = solve_case(
        tmp_path / "loose", **case, savings={"kind": "absolute", "amounts": [-20000]}
    )
    assert [m.person_id for m in loose.plan.moves] == ["B"]  # type: ignore[attr-defined]
    assert loose.plan.years[0].savings == D(-20000)  # type: ignore[attr-defined]
    # The same slack with objective save: money first, so B stays.
    saver = solve_case(
        tmp_path / "save",
        **case,
        objective="save",
        savings={"kind": "absolute", "amounts": [-20000]},
    )
    assert saver.plan.moves == []  # type: ignore[attr-defined]


def test_notice_period_delays_release(tmp_path: Path) -> None:
    # 4 units at £100k, 2 members, 2 vacancies; 13 months' notice: first release in year 3.
    out = solve_case(
        tmp_path,
        budgets={"M1": 20000, "M2": 20000},
        horizon=3,
        contracts=[contract("C1", 400000, 4, 0, 13, 0)],
        members=[member("C1", "M1"), member("C1", "M2")],
        savings={"kind": "vs_baseline", "rates": [0, 0, "0.5"]},
        capacity={"moves_per_year": 2},
    )
    plan = out.plan  # type: ignore[attr-defined]
    released = {(c.year, c.released) for c in plan.contracts if c.released}
    assert all(year >= 3 for year, _ in released)
    assert sum(n for _, n in released) >= 2
    # A target in year 2 that only a release could meet cannot be met: exit 3 and why.
    scenario = write_case(
        tmp_path / "early",
        budgets={"M1": 20000},
        horizon=3,
        contracts=[contract("C1", 400000, 4, 0, 13, 0)],
        members=[member("C1", "M1")],
        savings={"kind": "vs_baseline", "rates": [0, "0.25", 0]},
    )
    r = CliRunner().invoke(main, ["optimise", str(scenario), "--out", str(tmp_path / "p.xlsx")])
    assert r.exit_code == 3, r.output
    assert "TARGET NOT MET" in r.output and "notice period: contract C1" in r.output
    summary = CalamineWorkbook.from_path(str(tmp_path / "p.xlsx")).get_sheet_by_name("Summary")
    text = str(summary.to_python())
    assert "TARGET NOT MET" in text


def test_minimum_units_floor_and_exact_shortfall(tmp_path: Path) -> None:
    # 10 empty units at £10k each; at least 8 kept; half the cost must go in year 1.
    out = solve_case(
        tmp_path,
        budgets={},
        contracts=[contract("C1", 100000, 10, 8, 0, 0)],
        savings={"kind": "vs_baseline", "rates": ["0.5"]},
    )
    plan = out.plan  # type: ignore[attr-defined]
    assert not plan.target_met and plan.status == "TARGET NOT MET"
    y1 = plan.years[0]
    assert y1.units_released == 2
    assert y1.savings == D(20000) and y1.target == D(50000)
    assert y1.shortfall == D(30000)
    assert any("minimum units: contract C1" in b for b in plan.binding)


def test_capacity_limits_moves_and_weights_order_them(tmp_path: Path) -> None:
    out = solve_case(
        tmp_path,
        budgets={"I": 10000, "O": 10000, "R": 10000},
        horizon=3,
        placements=[
            placement("R", "residential", 90000),
            placement("O", "out_of_area", 90000),
            placement("I", "inpatient", 90000),
        ],
        capacity={"moves_per_year": 1},
        savings={"kind": "vs_baseline", "rates": [0, 0, 0]},
    )
    plan = out.plan  # type: ignore[attr-defined]
    assert [(m.person_id, m.year) for m in plan.moves] == [("I", 1), ("O", 2), ("R", 3)]
    assert plan.person_years == D("14.5")  # 3 x 3 + 2 x 2 + 1.5 x 1
    assert [y.moves for y in plan.years] == [1, 1, 1]
    assert any("capacity" in b for b in plan.binding) is False  # target met: nothing binds


@pytest.mark.parametrize(
    ("savings", "targets"),
    [
        # year_on_year 3%: year 1 spend <= 0.97 x 150,000; year 2 <= 0.97 x spend in year 1.
        ({"kind": "year_on_year", "rate": "0.03"}, None),
        ({"kind": "vs_baseline", "rates": ["0.05", "0.1"]}, [D(7500), D(15000)]),
        ({"kind": "absolute", "amounts": [5000, 15000]}, [D(5000), D(15000)]),
    ],
)
def test_each_savings_kind(
    tmp_path: Path, savings: dict[str, object], targets: list[Decimal] | None
) -> None:
    # A costs £20k more in a budget; B saves £10k; C saves £5k. One move a year.
    out = solve_case(
        tmp_path,
        budgets={"A": 70000, "B": 40000, "C": 45000},
        horizon=2,
        placements=[
            placement("A", "out_of_area", 50000),
            placement("B", "out_of_area", 50000),
            placement("C", "out_of_area", 50000),
        ],
        capacity={"moves_per_year": 1},
        savings=savings,
    )
    plan = out.plan  # type: ignore[attr-defined]
    years = plan.years
    if targets is None:
        assert years[0].target == D(150000) - D("0.97") * D(150000)
        assert years[1].target == D(150000) - D("0.97") * years[0].spend
    else:
        assert [y.target for y in years] == targets
    assert plan.target_met
    # Both orders of B and C give 6 person-years; B first saves more over the plan.
    assert [(m.person_id, m.year) for m in plan.moves] == [("B", 1), ("C", 2)]
    assert [y.spend for y in years] == [D(140000), D(135000)]
    assert plan.total_savings == D(25000)


def test_stay_no_assessment_and_not_ready_are_explained(tmp_path: Path) -> None:
    out = solve_case(
        tmp_path,
        budgets={"S": 1000, "L": 1000},
        horizon=2,
        placements=[
            placement("S", "inpatient", 90000, stay=True),
            placement("N", "inpatient", 90000),
            placement("L", "inpatient", 90000, earliest=3),
        ],
        savings={"kind": "vs_baseline", "rates": [0, 0]},
    )
    statuses = {pid: s for pid, _, s in out.plan.people}  # type: ignore[attr-defined]
    assert statuses == {"S": "stay", "N": "no assessment", "L": "not ready within horizon"}


def test_cbc_agrees_with_highs(tmp_path: Path) -> None:
    from ras.optimiser.solve import cbc_available

    if not cbc_available():
        pytest.skip("CBC is not installed")
    kw = dict(
        budgets={"I": 10000, "O": 30000, "R": 95000},
        horizon=3,
        placements=[
            placement("R", "residential", 90000),
            placement("O", "out_of_area", 90000),
            placement("I", "inpatient", 90000),
        ],
        contracts=[contract("C1", 300000, 6, 2, 6, 1000)],
        members=[member("C1", "M1"), member("C1", "M2")],
        capacity={"moves_per_year": 2},
        savings={"kind": "year_on_year", "rate": "0.05"},
    )
    kw["budgets"] = {**kw["budgets"], "M1": 15000, "M2": 15000}  # type: ignore[dict-item]
    scenario = write_case(tmp_path, **kw)  # type: ignore[arg-type]
    highs = run_optimise(scenario, None, options=SolveOptions(solver="highs"))
    cbc = run_optimise(scenario, None, options=SolveOptions(solver="cbc"))
    assert highs.plan.person_years == cbc.plan.person_years
    assert highs.plan.total_savings.quantize(D(1)) == cbc.plan.total_savings.quantize(D(1))


def test_golden_lp_file(tmp_path: Path) -> None:
    """The formulation of a tiny model, line by line (regenerate on purpose only:
    RAS_UPDATE_GOLDEN=1 pytest tests/test_optimise.py -k golden)."""
    import os

    from ras.commands.optimise import load_inputs
    from ras.io.scenario_file import load_scenario
    from ras.optimiser.formulation import build
    from tests.conftest import ROOT
    from tests.planning import golden_case

    data, _ = load_inputs(load_scenario(golden_case(tmp_path)))
    lp = tmp_path / "tiny.lp"
    build(data).prob.writeLP(str(lp))
    golden = ROOT / "tests" / "golden" / "transfer_tiny.lp"
    if os.environ.get("RAS_UPDATE_GOLDEN"):
        golden.write_text(lp.read_text())
    assert lp.read_text() == golden.read_text()
    # The savings row of year 1, worked by hand: A saves 40,000 less the transition
    # (1,000 set-up + 2 weeks of 100,000 / 52); M1 costs 20,000 + 1,000 set-up;
    # the target is 5% of 300,000.
    assert "savings_y1: - 35153.8461538 move_A_y1 + 21000 move_M1_y1 <= -15000" in lp.read_text()


def test_golden_lp_file_with_organisations(tmp_path: Path) -> None:
    """The same with organisations (SPEC §14): their limits are rows of their own
    (regenerate on purpose only, as above)."""
    import os

    from ras.commands.optimise import load_inputs
    from ras.io.scenario_file import load_scenario
    from ras.optimiser.formulation import build
    from tests.conftest import ROOT
    from tests.planning import golden_orgs_case

    data, _ = load_inputs(load_scenario(golden_orgs_case(tmp_path)))
    lp = tmp_path / "tiny_orgs.lp"
    build(data).prob.writeLP(str(lp))
    golden = ROOT / "tests" / "golden" / "transfer_tiny_orgs.lp"
    if os.environ.get("RAS_UPDATE_GOLDEN"):
        golden.write_text(lp.read_text())
    text = lp.read_text()
    assert text == golden.read_text()
    # The council in year 1, by hand: A's move costs it a quarter of A's budget
    # (15,000) and of the set-up (250) and brings it 20 % of A's placement (20,000):
    # -4,750; M1's costs it 20,000 + 1,000 set-up. Its baseline (the contract) is its
    # limit, so the constant cancels.
    assert "no_worse_off_council_y1: - 4750 move_A_y1 + 21000 move_M1_y1 <= 0" in text
    # The ICB in year 1: A's move saves it 100,000, less three quarters of the budget
    # (45,000) and set-up (750), less the dowry (20,000) and the double running
    # (2 weeks of 100,000 / 52 = 3,846.15...); it must spend 5 % below 100,000.
    assert "target_icb_y1: - 30403.8461538 move_A_y1 <= -5000" in text


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_solving_leaves_the_built_models_as_they_were(tmp_path: Path, solver: str) -> None:
    """Build apart from solve: the stages add objectives and holds to copies only."""
    from ras.commands.optimise import load_inputs
    from ras.io.scenario_file import load_scenario
    from ras.models.scenario import Override
    from ras.optimiser.formulation import build
    from ras.optimiser.solve import cbc_available, solve
    from tests.planning import golden_case

    if solver == "cbc" and not cbc_available():
        pytest.skip("CBC is not installed")
    too_much = Override(("savings", "rate"), "0.9", "--set", "--set savings.rate=0.9")
    loaded = load_scenario(golden_case(tmp_path), overrides=[too_much])  # infeasible
    data, _ = load_inputs(loaded)
    built, relaxed = build(data), build(data, with_shortfall=True)

    def lp_text(model: Any, name: str) -> str:
        path = tmp_path / name
        model.prob.writeLP(str(path))
        return path.read_text()

    before = [lp_text(built, "b0.lp"), lp_text(relaxed, "r0.lp")]
    solution = solve(built, SolveOptions(solver=solver), relaxed=relaxed)
    assert not solution.target_met and [s.stage for s in solution.stages][1] == "shortfall"
    assert [lp_text(built, "b1.lp"), lp_text(relaxed, "r1.lp")] == before


def test_worked_example_in_docs_model_md(tmp_path: Path) -> None:
    from tests.conftest import ROOT
    from tests.planning import golden_case

    out = run_optimise(golden_case(tmp_path), None)
    plan = out.plan
    assert [(m.person_id, m.year) for m in plan.moves] == [("A", 1), ("M1", 2)]
    assert [(c.year, c.released) for c in plan.contracts] == [(1, 0), (2, 3)]
    assert plan.years[0].spend.quantize(D("0.01")) == D("264846.15")
    assert plan.years[1].spend == D(132500)
    assert plan.person_years == 5
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    for figure in ("132,500", "264,846.15", "person-years: A 2 × 2 + M1 1 × 1 = 5"):
        assert figure in text
