"""Organisations in the transfer plan (SPEC §14): hand-worked cases.

Each case is small enough to work out on paper; the comments give the arithmetic.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from ras.commands.optimise import load_inputs, run_optimise
from ras.errors import InputError
from ras.io.scenario_file import load_scenario
from ras.optimiser.formulation import build
from tests.conftest import ROOT
from tests.planning import contract, member, placement, write_case

D = Decimal

ORGS: dict[str, Any] = {
    "ids": ["nhse", "icb", "council"],
    "names": {"nhse": "NHS England", "icb": "Integrated care board", "council": "Council"},
    "placements": {"inpatient": "nhse", "out_of_area": "icb", "residential": "council"},
    "contracts": "council",
    "budgets": {"health": "icb", "social_care": "council", "unassigned": "council"},
}


def _orgs(**changes: Any) -> dict[str, Any]:
    return {**ORGS, **changes}


def _ledger(plan_xlsx: Path) -> dict[tuple[int, str], dict[str, Any]]:
    rows = CalamineWorkbook.from_path(str(plan_xlsx)).get_sheet_by_name("Organisations")
    table = rows.to_python()
    head = table[0]
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for r in table[1:]:
        if not r or r[0] in ("", None) or not isinstance(r[0], int | float):
            break
        row = dict(zip(head, r, strict=False))
        out[int(row["Year"]), str(row["Organisation"])] = row
    return out


def _dowry_case(tmp_path: Path, **organisations: Any) -> Path:
    """One inpatient person A (£100,000 a year, paid by NHS England) whose £60,000
    budget is all health, so the ICB pays it; two weeks of double running (£3,846.15)."""
    return write_case(
        tmp_path,
        budgets={"A": 60000},
        funding={"A": {"health": 60000}},
        placements=[placement("A", "inpatient", 100000)],
        transition={"overlap_weeks": 2, "setup_cost": 0},
        organisations=_orgs(**organisations),
    )


def test_a_dowry_makes_the_move_worth_it_for_the_icb_but_not_for_nhs_england(
    tmp_path: Path,
) -> None:
    # Without a dowry, a protected ICB would pay £60,000 for A's budget out of nothing:
    # A cannot move.
    alone = run_optimise(_dowry_case(tmp_path / "a", no_worse_off=["icb"]), None)
    assert alone.plan.moves == [] and alone.plan.target_met
    # With NHS England's whole placement cost following A as a dowry, the ICB receives
    # £100,000 and pays £60,000: £40,000 better off. NHS England saves the £100,000 but
    # pays it on as the dowry, and pays the double running: £3,846.15 worse off.
    dowry = {"from": "nhse", "to": "icb", "setting": "inpatient", "share": 1.0}
    out = tmp_path / "b" / "plan.xlsx"
    scenario = _dowry_case(tmp_path / "b", no_worse_off=["icb"], dowries=[dowry])
    moved = run_optimise(scenario, out)
    assert [m.person_id for m in moved.plan.moves] == ["A"]
    ledger = _ledger(out)
    icb, nhse = ledger[1, "Integrated care board"], ledger[1, "NHS England"]
    assert D(str(icb["Individual budgets (£)"])) == D(60000)
    assert D(str(icb["Dowries received (£)"])) == D(100000)
    assert D(str(icb["Savings (£)"])) == D(40000)
    assert icb["Limit"] == "no worse off" and icb["Met"] == "yes"
    assert D(str(nhse["Dowries paid (£)"])) == D(100000)
    assert D(str(nhse["Transition (£)"])) == D("3846.15")
    assert D(str(nhse["Savings (£)"])) == D("-3846.15")
    system = ledger[1, "System"]
    assert D(str(system["Savings (£)"])) == D(100000 - 60000) - D("3846.15")
    # Protect NHS England as well and the move is worth it for nobody who may pay: the
    # double running leaves NHS England worse off whatever the ICB gains.
    both = run_optimise(
        _dowry_case(tmp_path / "c", no_worse_off=["icb", "nhse"], dowries=[dowry]), None
    )
    assert both.plan.moves == []


def _council_case(tmp_path: Path, protect: bool) -> Path:
    """R (residential, £30,000, the council's) and I (inpatient, £100,000, NHS
    England's), both with social-care budgets the council pays: R £25,000, I £40,000.
    A dowry of 36 % of I's placement (£36,000) follows I to the council. One move a
    year, two years, personalise (inpatient weight 3, residential 1.5)."""
    return write_case(
        tmp_path,
        budgets={"R": 25000, "I": 40000},
        funding={"R": {"social_care": 25000}, "I": {"social_care": 40000}},
        placements=[placement("R", "residential", 30000), placement("I", "inpatient", 100000)],
        horizon=2,
        capacity={"moves_per_year": 1},
        savings={"kind": "vs_baseline", "rates": [0, 0]},
        organisations=_orgs(
            dowries=[{"from": "nhse", "to": "council", "setting": "inpatient", "share": "36%"}],
            no_worse_off=["council"] if protect else [],
        ),
    )


def test_a_council_no_worse_off_constraint_changes_who_moves_and_when(tmp_path: Path) -> None:
    # Unprotected: I first (3 x 2 years = 6), then R (1.5 x 1) = 7.5 person-years.
    free = run_optimise(_council_case(tmp_path / "free", protect=False), None)
    assert {m.person_id: m.year for m in free.plan.moves} == {"I": 1, "R": 2}
    assert free.plan.person_years == D("7.5")
    # Protected: I alone in year 1 costs the council £40,000 - £36,000 = £4,000 over
    # its £30,000 baseline. R first saves it £5,000; then I in year 2 leaves it at
    # £25,000 + £4,000 = £29,000, within £30,000: R 1.5 x 2 + I 3 x 1 = 6 person-years.
    out = tmp_path / "kept" / "plan.xlsx"
    kept = run_optimise(_council_case(tmp_path / "kept", protect=True), out)
    assert {m.person_id: m.year for m in kept.plan.moves} == {"R": 1, "I": 2}
    assert kept.plan.person_years == D(6)
    ledger = _ledger(out)
    assert D(str(ledger[1, "Council"]["Net spend (£)"])) == D(25000)
    assert D(str(ledger[2, "Council"]["Net spend (£)"])) == D(29000)
    assert D(str(ledger[2, "Council"]["Savings (£)"])) == D(1000)
    assert D(str(ledger[2, "NHS England"]["Savings (£)"])) == D(64000)


def test_an_organisation_target_that_cannot_be_met_exits_3_and_names_it(
    tmp_path: Path,
) -> None:
    # The ICB pays O's out-of-area placement (£50,000) and O's health budget (£40,000):
    # moving O saves it at most £10,000, but its target is half its baseline, £25,000.
    scenario = write_case(
        tmp_path,
        budgets={"O": 40000},
        funding={"O": {"health": 40000}},
        placements=[placement("O", "out_of_area", 50000)],
        organisations=_orgs(targets={"icb": {"kind": "vs_baseline", "rates": ["50%"]}}),
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "plan.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "ras", "optimise", str(scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    said = done.stdout + done.stderr
    assert "TARGET NOT MET" in said
    assert "organisation Integrated care board (savings target)" in said
    assert "£15,000.00" in said  # the shortfall: £25,000 - £10,000
    ledger = _ledger(out)
    icb = ledger[1, "Integrated care board"]
    assert icb["Met"] == "no" and D(str(icb["Target (£)"])) == D(25000)
    assert D(str(icb["Savings (£)"])) == D(10000)


def test_organisation_rows_add_up_to_the_system_row(tmp_path: Path) -> None:
    """Budgets split by stream, a contract with its own Funder, dowries: every money
    column of the organisations adds up to the System row within a penny each."""
    scenario = write_case(
        tmp_path,
        budgets={"A": 61000, "B": 20000, "M1": 15000, "M2": 14000},
        funding={
            "A": {"health": 40666.67, "social_care": 20333.33},
            "B": {"social_care": 20000},
            "M1": {"health": 5000, "social_care": 10000},
        },
        placements=[
            placement("A", "inpatient", 150000),
            placement("B", "out_of_area", 45000, funder="Council"),
        ],
        contracts=[contract("C1", 120000, 4, 1, 0, 700, funder="ICB")],
        members=[member("C1", "M1"), member("C1", "M2")],
        horizon=3,
        capacity={"moves_per_year": 2},
        transition={"overlap_weeks": 4, "setup_cost": 1500},
        overheads={"per_budget_per_year": 900},
        inflation={"placements": "3%", "contracts": "2%", "budgets": "2.5%"},
        savings={"kind": "year_on_year", "rate": "2%"},
        organisations=_orgs(
            dowries=[{"from": "nhse", "to": "icb", "setting": "inpatient", "share": "75%"}]
        ),
    )
    out = tmp_path / "plan.xlsx"
    outcome = run_optimise(scenario, out)
    assert outcome.plan.moves
    ledger = _ledger(out)
    money = [h for h in next(iter(ledger.values())) if str(h).endswith("(£)")]
    money.remove("Target (£)")
    orgs = ["NHS England", "Integrated care board", "Council"]
    for t in (1, 2, 3):
        for col in money:
            total = sum(D(str(ledger[t, o][col])) for o in orgs)
            assert abs(total - D(str(ledger[t, "System"][col]))) <= D("0.01") * len(orgs), col
    # B's placement is the council's by its Funder, C1 the ICB's by its Funder.
    assert D(str(ledger[1, "Council"]["Baseline (£)"])) == D(45000) * D("1.03")
    assert D(str(ledger[1, "Integrated care board"]["Baseline (£)"])) == D(120000) * D("1.02")


def test_without_organisations_the_model_is_exactly_as_before(tmp_path: Path) -> None:
    """An organisations section with no limits adds nothing to the model; the golden
    LP file (tests/test_optimise.py) pins the model without the section."""
    plain = write_case(
        tmp_path / "plain",
        budgets={"A": 60000},
        placements=[placement("A", "inpatient", 100000)],
    )
    with_orgs = write_case(
        tmp_path / "orgs",
        budgets={"A": 60000},
        placements=[placement("A", "inpatient", 100000)],
        organisations=_orgs(),
    )
    lp = []
    for n, path in enumerate((plain, with_orgs)):
        data, _ = load_inputs(load_scenario(path))
        file = tmp_path / f"{n}.lp"
        build(data).prob.writeLP(str(file))
        lp.append(file.read_text())
    assert lp[0] == lp[1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"placements": {"inpatient": "nhs"}}, "organisations.placements.inpatient: 'nhs' is not"),
        ({"no_worse_off": ["county"]}, "organisations.no_worse_off[0]: 'county' is not"),
        (
            {"dowries": [{"from": "nhse", "to": "nhse", "setting": "inpatient", "share": 1}]},
            "a dowry must go to another organisation",
        ),
        (
            {"dowries": [{"from": "nhse", "to": "icb", "setting": "inpatient", "share": 2}]},
            "organisations.dowries[0].share",
        ),
        ({"targets": {"icb": {"kind": "vs_baseline", "rates": []}}}, "one rate per year"),
        ({"colour": "blue"}, "organisations.colour: unknown key"),
        ({"no_worse_off": ["council", "council"]}, "no_worse_off[1]: 'council' is listed twice"),
        (  # the later one was quietly used
            {"placements": {"inpatient": "nhse", "Inpatient": "icb"}},
            "placements.Inpatient: 'Inpatient' and 'inpatient' are one setting; give it one payer",
        ),
        (
            {"budgets": {"health": "icb", "Health": "council"}},
            "budgets.Health: 'Health' and 'health' are one funding stream; give it one payer",
        ),
    ],  # fmt: skip
)
def test_a_bad_organisations_section_names_the_key(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    from ras.errors import ConfigError

    scenario = write_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "inpatient", 100000)],
        organisations=_orgs(**change),
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(scenario)
    assert message in str(err.value)
    assert "line" in str(err.value)


def test_a_value_replaced_by_a_variant_or_set_is_named_where_it_was_given(
    tmp_path: Path,
) -> None:
    """A list a variant or --set replaces: its problem was named at the base's line."""
    from ras.errors import ConfigError
    from ras.models.scenario import Override

    both = [{"from": "nhse", "to": "icb", "setting": "inpatient", "share": "0.5"},
            {"from": "nhse", "to": "council", "setting": "inpatient", "share": "2"}]  # fmt: skip
    scenario = write_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "inpatient", 100000)],
        organisations=_orgs(),
        variants={"greedy": {"organisations": {"dowries": both}}},
    )
    text = scenario.read_text(encoding="utf-8").splitlines()
    line = 1 + next(i for i, t in enumerate(text) if '"2"' in t)
    with pytest.raises(ConfigError) as err:
        load_scenario(scenario, "greedy")
    assert f"line {line} (variant greedy): organisations.dowries[1].share" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_scenario(scenario)  # every variant is checked
    assert f"line {line}: organisations.dowries[1].share" in str(err.value)
    (tmp_path / "plain.yaml").write_text(
        scenario.read_text(encoding="utf-8").replace('"2"', '"0.3"'), encoding="utf-8"
    )
    where = "--set organisations.dowries=..."
    with pytest.raises(ConfigError) as err:
        load_scenario(tmp_path / "plain.yaml", None,
                      [Override(("organisations", "dowries"), both, "--set", where)])  # fmt: skip
    assert f"{where}: organisations.dowries[1].share" in str(err.value)


def test_an_unknown_funder_names_the_cell_and_every_other_problem(tmp_path: Path) -> None:
    scenario = write_case(
        tmp_path,
        budgets={"A": 60000, "B": 1000},
        funding={"B": {"respite": 1000}},
        placements=[
            placement("A", "inpatient", 100000, funder="Trust"),
            placement("B", "residential", 20000),
        ],
        organisations=_orgs(budgets={"health": "icb"}),
    )
    with pytest.raises(InputError) as err:
        load_inputs(load_scenario(scenario))
    text = str(err.value)
    assert "placements.xlsx, sheet 'Placements', cell J2: Funder 'Trust'" in text
    assert "nobody pays the funding stream 'respite'" in text
    assert "budgets.unassigned" in text


# ------------------------------------------------------------ the scenario workbook


def _fill(path: Path, sheet: str, rows: list[list[Any]]) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=value)
    wb.save(path)


def test_organisations_typed_in_the_scenario_workbook(tmp_path: Path) -> None:
    """A commissioner fills the Organisations and Dowries sheets of the starter
    workbook with labels, names and percentages; ras reads what the YAML says."""
    from ras.io.templates import write_scenario_template

    book = tmp_path / "scenario.xlsx"
    write_scenario_template(book)
    _fill(
        book,
        "Organisations",
        [
            ["nhse", "NHS England", "Inpatient", "", "", "", "", "", ""],
            [
                "icb",
                "Integrated care board",
                "out of area",
                "Health",
                "N",
                "",
                "Year on year",
                0.02,
            ],
            ["council", "Council", "Residential", "social_care; unassigned", "Y", "yes"],
        ],
    )
    _fill(book, "Dowries", [["NHS England", "council", "Inpatient", 0.5]])
    orgs = load_scenario(book).scenario.organisations
    assert orgs is not None
    assert orgs.placements == {"inpatient": "nhse", "out_of_area": "icb", "residential": "council"}
    assert orgs.budgets == {"Health": "icb", "social_care": "council", "unassigned": "council"}
    assert orgs.contracts == "council" and orgs.no_worse_off == ("council",)
    assert orgs.targets["icb"].kind == "year_on_year"
    assert orgs.targets["icb"].rate == D("0.02")
    assert [(d.payer, d.to, d.setting, d.share) for d in orgs.dowries] == [
        ("nhse", "council", "inpatient", D("0.5"))
    ]
    assert orgs.stream_payer("health") == "icb"  # a label matches the stream's id


def test_settings_typed_with_commas_in_one_cell(tmp_path: Path) -> None:
    """`Inpatient, Out of area` was refused as "not one of Inpatient, Out of area or
    Residential": the message listed the very values typed."""
    from ras.io.templates import write_scenario_template

    book = tmp_path / "scenario.xlsx"
    write_scenario_template(book)
    _fill(book, "Organisations", [["nhse", "", "Inpatient, Out of area"], ["council"]])
    orgs = load_scenario(book).scenario.organisations
    assert orgs is not None
    assert orgs.placements == {"inpatient": "nhse", "out_of_area": "nhse"}


def test_a_funding_stream_no_budget_is_paid_from_is_a_warning_naming_it(tmp_path: Path) -> None:
    """`helth: icb` beside `unassigned: council`: the council quietly paid every health
    budget, and nothing said the ICB paid for no one."""
    case = write_case(
        tmp_path,
        budgets={"A": 60000},
        funding={"A": {"health": 45000, "social_care": 15000}},
        placements=[placement("A", "inpatient", 100000)],
        organisations=_orgs(budgets={"helth": "icb", "social_care": "council"}),
    )
    with pytest.raises(InputError, match="nobody pays the funding stream 'health'"):
        load_inputs(load_scenario(case))  # without `unassigned`, an error already
    case = write_case(
        tmp_path,
        budgets={"A": 60000},
        funding={"A": {"health": 45000, "social_care": 15000}},
        placements=[placement("A", "inpatient", 100000)],
        organisations=_orgs(
            budgets={"helth": "icb", "social_care": "council", "unassigned": "council"}
        ),
    )
    data, _ = load_inputs(load_scenario(case))
    (warning,) = [w for w in data.warnings if w.code == "funding-stream-unused"]
    assert "the funding stream 'helth', from which no budget" in warning.problem
    assert "the allocations' streams are health, social_care" in warning.fix
    assert str(warning.where).startswith(f"{case}, line ")
    assert data.orgs is not None and dict(data.orgs.payers["A"].budget) == {"council": D(1)}
    example, _ = load_inputs(load_scenario(ROOT / "scenarios" / "example.yaml"))
    assert not [w for w in example.warnings if w.code == "funding-stream-unused"]


@pytest.mark.parametrize(
    ("sheet", "rows", "message"),
    [
        (
            "Organisations",
            [["nhse", "", "Inpatient"], ["icb", "", "inpatient"]],
            "sheet 'Organisations', cell C3: 'inpatient' is paid by two organisations",
        ),
        ("Organisations", [["nhse", "", "", "", "", "maybe"]], "cell F2: 'maybe' is not Y or N"),
        (
            "Dowries",
            [["nhs", "council", "Inpatient", 0.5]],
            "sheet 'Dowries', cell A2: organisations.dowries[0].from: 'nhs' is not an organisation",
        ),
        (
            "Organisations",
            [["nhse", "", "", "", "", "", "Against the baseline", "2%; 3%"]],
            "sheet 'Organisations', cell H2: organisations.targets.nhse.rates: vs_baseline needs",
        ),
    ],
)
def test_organisation_sheet_errors_name_the_cell(
    tmp_path: Path, sheet: str, rows: list[list[Any]], message: str
) -> None:
    from ras.errors import ConfigError
    from ras.io.templates import write_scenario_template

    book = tmp_path / "scenario.xlsx"
    write_scenario_template(book)
    if sheet == "Dowries":
        _fill(book, "Organisations", [["nhse"], ["council"]])
    _fill(book, sheet, rows)
    with pytest.raises(ConfigError) as err:
        load_scenario(book)
    assert message in str(err.value)


def test_compare_shows_each_runs_savings_per_organisation(tmp_path: Path) -> None:
    """comparison.xlsx: a row per run and organisation, the same figures as each plan's
    ledger; the CLI prints them under each run."""
    from click.testing import CliRunner

    from ras.cli import main

    scenario = _council_case(tmp_path, protect=True)
    text = scenario.read_text()
    scenario.write_text(
        text.rstrip()[:-1] + ', "variants": {"free": {"organisations": {"no_worse_off": []}}}}'
    )
    out = tmp_path / "comparison.xlsx"
    result = CliRunner().invoke(main, ["compare", str(scenario), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Council: savings £6,000.00; no worse off met" in result.output  # 5,000 + 1,000
    table = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Organisations").to_python()
    rows = {(r[0], r[1]): dict(zip(table[0], r, strict=False)) for r in table[1:]}
    assert D(str(rows["base", "Council"]["Savings over the plan (£)"])) == D(6000)
    assert rows["base", "Council"]["Met"] == "yes"
    assert D(str(rows["base", "Council"]["2028/29 (£)"])) == D(1000)
    plan = run_optimise(scenario, None, variant="free").plan
    council = [r for r in plan.organisations if r.org == "council"]
    assert D(str(rows["free", "Council"]["Savings over the plan (£)"])) == sum(
        (r.savings for r in council), D(0)
    )
    assert rows["free", "Council"]["Limit"] == ""


def test_scenario_check_reports_organisation_values_and_their_source() -> None:
    import json

    from click.testing import CliRunner

    from ras.cli import main

    example = ROOT / "scenarios" / "example.yaml"
    args = ["scenario", "check", str(example), "--variant", "no_dowries", "--json"]
    result = CliRunner().invoke(main, [*args, "--set", "organisations.no_worse_off=[icb]"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.stdout)
    assert values["organisations.placements.inpatient"]["value"] == "nhse"
    assert values["organisations.placements.inpatient"]["source"] == "scenario"
    assert values["organisations.dowries"] == {
        "value": [],
        "source": "variant",
        **{"where": values["organisations.dowries"]["where"]},
    }
    assert values["organisations.no_worse_off"]["value"] == ["icb"]
    assert values["organisations.no_worse_off"]["source"] == "--set"


def test_frames_give_the_organisation_tables() -> None:
    import ras

    outcome = ras.optimise(ROOT / "scenarios" / "example.yaml")
    table = ras.frames(outcome)["Organisations"]
    system = table[table["Organisation"] == "System"]
    orgs = table[table["Organisation"] != "System"]
    assert len(system) == 5 and len(orgs) == 15
    by_year = orgs.groupby("Year")["Net spend (£)"].sum()
    for year, total in by_year.items():
        row = system[system["Year"] == year]["Net spend (£)"].iloc[0]
        assert abs(float(total) - float(row)) <= 0.03
