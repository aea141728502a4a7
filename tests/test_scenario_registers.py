"""Scenarios (variants, --set, strict YAML) and registers (validation with locations)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from ras.cli import main, parse_set_option
from ras.errors import ConfigError, InputError, UsageError
from ras.io.register_files import read_registers
from ras.io.scenario_file import load_scenario
from tests.planning import contract, member, placement, two_placed_and_a_member, write_case


def base_case(tmp_path: Path) -> Path:
    return write_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "out_of_area", 100000)],
        horizon=2,
        savings={"kind": "vs_baseline", "rates": ["0.03", "0.03"]},
        capacity={"moves_per_year": 3},
        variants={
            "stretch": {"savings": {"rates": ["0.05", "0.3"]}},
            "slow": {"capacity": {"moves_per_year": 1}},
        },
    )


def _read(folder: Path) -> Any:
    """The registers two_placed_and_a_member wrote into ``folder`` (weeks of 52)."""
    return read_registers(folder / "placements.xlsx", folder / "contracts.xlsx", Decimal(52))


def _refused(folder: Path) -> list[str]:
    """The lines of the error reading the registers in ``folder`` raises."""
    with pytest.raises(InputError) as err:
        _read(folder)
    return str(err.value).splitlines()


def _edit(path: Path, cells: dict[tuple[str, str], Any]) -> None:
    """Set cells of a workbook, by (sheet, cell), as a person does in Excel."""
    wb = load_workbook(path)
    for (sheet, cell), value in cells.items():
        wb[sheet][cell] = value
    wb.save(path)


def test_precedence_set_over_variant_over_file(tmp_path: Path) -> None:
    path = base_case(tmp_path)
    assert [str(r) for r in load_scenario(path).scenario.savings.rates or ()] == ["0.03", "0.03"]
    stretch = load_scenario(path, "stretch").scenario.savings.rates or ()
    assert [str(r) for r in stretch] == ["0.05", "0.3"]
    sets = ["savings.rates=[0.07, 0.08]", "capacity.moves_per_year=[1,2]"]
    loaded = load_scenario(path, "stretch", [parse_set_option(s) for s in sets])
    assert [str(r) for r in loaded.scenario.savings.rates or ()] == ["0.07", "0.08"]
    assert loaded.scenario.capacity.moves_per_year == (1, 2)
    assumptions = dict(loaded.assumptions())
    assert assumptions["savings.rates"] == "0.07, 0.08"
    assert assumptions["capacity.moves_per_year"] == "1, 2"
    assert ("savings.rates", "['0.05', '0.3']", "variant stretch") in loaded.overrides
    assert ("savings.rates", "['0.07', '0.08']", "--set") in loaded.overrides


def test_a_per_year_list_set_as_in_the_workbook(tmp_path: Path) -> None:
    """`--set capacity.moves_per_year=1; 2` (as typed in a workbook cell) was "not a
    whole number"; only keys that take a list are split."""
    path = base_case(tmp_path)
    sets = ["capacity.moves_per_year=1; 2", "savings.rates=4%;5%", "name=Plan A; B"]
    loaded = load_scenario(path, None, [parse_set_option(s) for s in sets])
    assert loaded.scenario.capacity.moves_per_year == (1, 2)
    assert [str(r) for r in loaded.scenario.savings.rates or ()] == ["0.04", "0.05"]
    assert loaded.scenario.name == "Plan A; B"


def test_a_per_year_list_typed_with_commas_is_shown_how_to_write_it(tmp_path: Path) -> None:
    """`--set capacity.moves_per_year=10,12` said only "not a whole number; write one
    such as 3". A thousands figure (1,200) gets no list hint: it is one number."""
    path = base_case(tmp_path)
    for typed, hinted in [("10,12", True), ("1,200", False)]:
        with pytest.raises(ConfigError) as err:
            load_scenario(path, None, [parse_set_option(f"capacity.moves_per_year={typed}")])
        assert f"'{typed}' is not a whole number" in str(err.value)
        assert ("[10, 12, 12] (10; 12; 12 in a workbook cell or --set)" in str(err.value)) is hinted
    text = path.read_text()
    listed = tmp_path / "listed.yaml"
    data = json.loads(text)
    data["capacity"] = {"moves_per_year": "1; 2"}
    listed.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"for one a year write a list, \[10, 12, 12\]"):
        load_scenario(listed)


def test_unknown_and_duplicate_keys_name_the_line(tmp_path: Path) -> None:
    path = base_case(tmp_path)
    data = json.loads(path.read_text())
    bad = tmp_path / "bad.yaml"
    lines = ["ras_scenario: 1", "name: x", "horizon: 2", "horizn: 3"]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario(bad)
    assert "bad.yaml: line 4: horizn: unknown key" in str(err.value)
    dup = tmp_path / "dup.yaml"
    dup.write_text("ras_scenario: 1\nname: x\nname: y\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 3: duplicate key 'name'"):
        load_scenario(dup)
    data["variants"]["typo"] = {"savngs": {"rate": 0.1}}
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="savngs: unknown key.*variant 'typo'"):
        load_scenario(path)


def test_bad_set_and_unknown_variant(tmp_path: Path) -> None:
    path = base_case(tmp_path)
    with pytest.raises(UsageError, match="no variant 'nope'.*stretch, slow"):
        load_scenario(path, "nope")
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_set_option("savings.rate")
    with pytest.raises(ConfigError, match="--set savings.ratee=1"):
        load_scenario(path, None, [parse_set_option("savings.ratee=1")])
    r = CliRunner().invoke(
        main, ["optimise", str(path), "-o", str(tmp_path / "p.xlsx"), "--variant", "nope"]
    )
    assert r.exit_code == 2 and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        # An absurd figure made the solver report "infeasible" ("allow more time").
        ("transition.setup_cost=1e300", "1E+300 is more than £100,000,000,000"),
        ("overheads.per_budget_per_year=£200,000,000,000", "is more than £100,000,000,000"),
        ("weeks_per_year=1e300", "weeks_per_year: must be above 0 and at most 53"),
        ("savings.rates=[1e300, 0.03]", "1E+300 as a rate"),  # was all 301 digits
        # Accepted before: a negative overlap was a credit on every move.
        ("transition.overlap_weeks=-5", "overlap_weeks: must be from 0 to 520 weeks"),
        ("priority.block=-2", "priority.block: must be from 0 to 1,000,000"),
        ("capacity.moves_per_year=2000000", "must be at most 1,000,000"),
        ("base_year=3000", "base_year: must be a year such as 2026"),
        ("uncertainty.budgets.sd=1e300", "uncertainty.budgets.sd: must be from 0 to 5"),
        ("uncertainty.breakdown.cost_multiplier=1e9", "must be from 0 to 100"),
    ],
)
def test_absurd_figures_in_a_scenario_are_named(tmp_path: Path, setting: str, said: str) -> None:
    path = base_case(tmp_path)
    r = CliRunner().invoke(
        main, ["optimise", str(path), "-o", str(tmp_path / "p.xlsx"), "--set", setting]
    )
    assert r.exit_code == 1, r.output
    assert said in r.output and "solver" not in r.output
    assert max(map(len, r.output.splitlines())) < 300
    assert not (tmp_path / "p.xlsx").exists()


def test_a_base_year_typed_as_a_financial_year(tmp_path: Path) -> None:
    path = base_case(tmp_path)
    text = path.read_text(encoding="utf-8").replace('"base_year": 2026', '"base_year": "2026/27"')
    path.write_text(text, encoding="utf-8")
    assert load_scenario(path).scenario.base_year == 2026  # it was "not a whole number"
    for typed in ("2025-26", "2025/2026"):
        over = parse_set_option(f"base_year={typed}")
        assert load_scenario(path, None, [over]).scenario.base_year == 2025
    with pytest.raises(ConfigError) as err:
        load_scenario(path, None, [parse_set_option("base_year=2026/28")])
    assert "'2026/28' is not a financial year" in str(err.value) and "2026/27" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_scenario(path, None, [parse_set_option("base_year=FY2026")])
    assert "'FY2026' is not a year; write one such as 2026 (or 2026/27)" in str(err.value)


def test_variant_run_echoes_assumptions_and_files(tmp_path: Path) -> None:
    path = base_case(tmp_path)
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(
        main,
        [
            "optimise",
            str(path),
            "-o",
            str(out),
            "--variant",
            "slow",
            "--set",
            "savings.rates=[0.01, 0.02]",
            "--json",
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["variant"] == "slow"
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == [
        "Summary",
        "Moves",
        "Contracts",
        "People",
        "Spend",
        "Assumptions",
        "Solver",
    ]
    rows = {r[0]: r[1] for r in wb.get_sheet_by_name("Assumptions").to_python()[1:]}
    assert rows["capacity.moves_per_year"] == "1"
    assert rows["savings.rates"] == "0.01, 0.02"
    assert rows["override savings.rates"] == "['0.01', '0.02']"
    files = [r for r in wb.get_sheet_by_name("Assumptions").to_python() if r[0] == "input file"]
    assert len(files) == 3 and all(len(r[2]) == 64 for r in files)
    headers = wb.get_sheet_by_name("Moves").to_python()[0]
    assert headers == [
        "Person ID",
        "From",
        "Setting",
        "Year",
        "Financial year",
        "Current annual cost (£)",
        "Indicative budget (£/year)",
        "Transition cost (£)",
        "Annual saving (£)",
    ]
    summary = wb.get_sheet_by_name("Summary").to_python()
    year_header = next(r for r in summary if r[:1] == ["Year"])
    assert year_header == [
        "Year",
        "Financial year",
        "Baseline (£)",
        "Spend (£)",
        "Savings (£)",
        "Target",
        "Met",
        "Shortfall (£)",
        "Moves",
        "People in individual budgets",
        "Units released",
    ]
    ws = load_workbook(out)["Summary"]
    assert len(ws._charts) == 2  # baseline against spend; people moved


def test_a_savings_value_its_kind_does_not_use_is_a_warning(tmp_path: Path) -> None:
    """`rates` beside `kind: year_on_year`, or `--set savings.rates=...`, was dropped
    without a word: the plan ran on savings.rate."""
    case = write_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "out_of_area", 100000)],
        horizon=2,
        savings={"kind": "year_on_year", "rate": "0.03", "rates": ["0.05", "0.05"]},
        variants={"baseline": {"savings": {"kind": "vs_baseline", "rates": ["0.01", "0.02"]}}},
    )
    (warning,) = load_scenario(case).warnings()
    assert warning.code == "setting-not-used"
    assert str(warning.where).startswith(f"{case}, line ")
    assert warning.problem == "savings.rates is not used with the savings kind 'Year on year'"
    assert "this kind uses rate" in warning.fix
    # the variant switched the kind: the file's `rate` is left behind, as variants do
    assert load_scenario(case, "baseline").warnings() == ()
    over = [parse_set_option("savings.amounts=[1000, 2000]")]
    (warning,) = load_scenario(case, "baseline", over).warnings()
    assert warning.problem.startswith("savings.amounts is not used")
    assert str(warning.where) == f"{case}, --set savings.amounts=[1000, 2000]"
    r = CliRunner().invoke(main, ["scenario", "check", str(case)])
    assert r.exit_code == 0, r.output
    assert "warning: " in r.stderr and "savings.rates is not used" in r.stderr


def test_dowries_above_the_placements_cost_are_a_warning(tmp_path: Path) -> None:
    """SPEC §14 allows them, but 70 % and 50 % of one setting's cost were taken silently."""
    case = write_case(
        tmp_path,
        budgets={"A": 60000},
        placements=[placement("A", "inpatient", 100000)],
        organisations={
            "ids": ["nhse", "icb"],
            "names": {"nhse": "NHS England"},
            "placements": {"inpatient": "nhse"},
            "budgets": {"unassigned": "icb"},
            "dowries": [
                {"from": "nhse", "to": "icb", "setting": "inpatient", "share": "70%"},
                {"from": "nhse", "to": "icb", "setting": "inpatient", "share": "0.5"},
            ],
        },
    )
    (warning,) = load_scenario(case).warnings()
    assert warning.code == "dowries-over-cost"
    assert "NHS England pays for Inpatient placements add up to 120 %" in warning.problem
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(main, ["optimise", str(case), "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert any("add up to 120 %" in w for w in json.loads(r.stdout)["warnings"])
    assumptions = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Assumptions")
    assert any("add up to 120 %" in str(v) for row in assumptions.to_python() for v in row)


def test_register_problems_name_file_sheet_and_cell(tmp_path: Path) -> None:
    write_case(
        tmp_path,
        budgets={},
        placements=[
            placement("A", "hospital", 1000),
            placement("B", "inpatient", -5),
            placement("X", "inpatient", 1000),
            placement("H", "inpatient", 1e300),
        ],
        contracts=[
            contract("C1", 100000, 2, 3, 0, 0),
            contract("C2", 100000, 1, 0, 0, 0),
            contract("C3", 100000, 10**9, 0, 0, 0),
            contract("C4", 100000, 5, 0, 0, 0, step=0),
        ],
        members=[
            *(member("C9", "Z"), member("C2", "X"), member("C2", "Y1"), member("C2", "Y2")),
            member("C1", "M1"),  # its contract is listed, with a problem of its own
        ],
    )
    with pytest.raises(InputError) as err:
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    text = str(err.value)
    assert "placements.xlsx, sheet 'Placements', cell C2: Setting is 'hospital'" in text
    assert "cell E3: Annual cost (£) is negative" in text
    assert "neither a weekly nor an annual cost" not in text  # it was given, but bad
    assert "cell E5: Annual cost (£) is 1E+300, more than £100,000,000,000" in text
    assert "cell E4: Units is 1000000000, more than 1,000,000" in text
    assert "cell I5: Release step (units) must be at least 1" in text
    assert "'C1' is not on the Contracts sheet" not in text  # it is: said once, at F2
    assert "sheet 'Contracts', cell F2: Minimum units (3) is above Units (2)" in text
    assert "sheet 'Members', cell A2: Contract ID 'C9' is not on the Contracts sheet" in text
    assert "Person ID 'X' is already registered" in text
    assert "contract 'C2' has 2 members but only 1 unit" in text
    r = CliRunner().invoke(
        main, ["optimise", str(tmp_path / "scenario.yaml"), "-o", str(tmp_path / "p.xlsx")]
    )
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert not (tmp_path / "p.xlsx").exists()


def test_a_calendar_year_typed_as_the_move_year_is_named(tmp_path: Path) -> None:
    write_case(
        tmp_path,
        budgets={"A": 500, "B": 500, "M1": 500, "M2": 500},
        placements=[
            placement("A", "inpatient", 1000, earliest=2027),
            placement("B", "inpatient", 1000, earliest=50),
        ],
        contracts=[contract("C1", 100000, 5, 0, 0, 0)],
        members=[member("C1", "M1", earliest=2028), member("C1", "M2", earliest=0)],
    )
    with pytest.raises(InputError) as err:
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    lines = str(err.value).splitlines()
    assert len(lines) == 3, lines  # 50 is a (long) plan's last year: not an error
    assert "sheet 'Placements', cell F2: Earliest move year 2027 is past the last year" in lines[0]
    assert "not a calendar year such as 2027" in lines[0]
    assert "sheet 'Members', cell C2: Earliest move year 2028 is past" in lines[1]
    # a member's 0 was quietly taken as 1, where the same on Placements was an error
    assert "sheet 'Members', cell C3: Earliest move year must be 1 or later" in lines[2]


def test_a_date_where_a_number_belongs_says_how_it_came(tmp_path: Path) -> None:
    """A move year typed as 1/4/2028, or 1200 typed into a date-formatted cost cell (Excel
    shows 14/04/1903), was only "not a number (type a number)"."""
    import datetime as dt

    two_placed_and_a_member(tmp_path)
    wb = load_workbook(tmp_path / "placements.xlsx")
    wb["Placements"]["E3"].number_format = "dd/mm/yyyy"  # B's annual cost: a date format
    wb.save(tmp_path / "placements.xlsx")
    _edit(
        tmp_path / "placements.xlsx",
        {
            ("Placements", "F2"): dt.datetime(2028, 4, 1),
            ("Placements", "E3"): 1200,
            ("Placements", "F3"): "2028/29",
        },
    )  # A's earliest move year; B's cost, typed into the date-formatted cell; B's year
    with pytest.raises(InputError) as err:
        _read(tmp_path)
    assert [(i.where.cell, i.problem, i.fix) for i in err.value.issues] == [
        (
            "F2",
            "Earliest move year is '2028-04-01', which is not a number",
            "give the plan year: 1 = the first plan year (not a calendar year such as 2027, "
            "nor a date)",
        ),
        (
            "E3",
            "Annual cost (£) is '1903-04-14', which is not a number",
            "type a number; if you typed a number, the cell is formatted as a date: format it "
            "as a number",
        ),
        (  # a financial year, as a commissioner would name it: the same fix
            "F3",
            "Earliest move year is '2028/29', which is not a number",
            "give the plan year: 1 = the first plan year (not a calendar year such as 2027, "
            "nor a date)",
        ),
    ]


def test_a_formula_a_program_did_not_calculate_is_named_as_such(tmp_path: Path) -> None:
    """A register written by a program (openpyxl) with `=4000*52`: the cell reads empty,
    and ras said "neither a weekly nor an annual cost is given" of a cell that Excel
    shows with a value."""
    import openpyxl

    two_placed_and_a_member(tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "placements.xlsx")
    wb["Placements"]["E2"] = "=4000*52"  # no value saved with it
    wb["Placements"]["E3"] = "=SUM(1000)"
    wb.save(tmp_path / "placements.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "contracts.xlsx")
    wb["Members"]["C2"] = "=1+1"  # Earliest move year, optional: not quietly 1 either
    wb.save(tmp_path / "contracts.xlsx")
    with pytest.raises(InputError) as err:
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    lines = str(err.value).splitlines()
    assert len(lines) == 3, lines
    assert (
        "sheet 'Placements', cell E2: Annual cost (£) holds a formula with no calculated"
        in (lines[0])
    )
    assert "open the file in Excel or LibreOffice and save it" in lines[0]
    assert "cell E3: Annual cost (£) holds a formula" in lines[1]
    assert "sheet 'Members', cell C2: Earliest move year holds a formula" in lines[2]
    assert all("neither a weekly nor an annual cost" not in line for line in lines)


def test_registers_kept_by_hand_may_have_a_title_above_the_header(tmp_path: Path) -> None:
    """A title row above the headings was "no column 'Person ID' in the header row"."""
    two_placed_and_a_member(tmp_path)
    for name, sheets in (
        ("placements.xlsx", ["Placements"]),
        ("contracts.xlsx", ["Contracts", "Members"]),
    ):
        wb = load_workbook(tmp_path / name)
        for sheet in sheets:
            wb[sheet].insert_rows(1, 2)
            wb[sheet]["A1"] = f"{sheet} at 1 April 2026"
        wb.save(tmp_path / name)
    regs = read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    assert [p.person_id for p in regs.placements] == ["A", "B"]
    assert [m.person_id for m in regs.members] == ["M1"] and len(regs.contracts) == 1
    wb = load_workbook(tmp_path / "placements.xlsx")
    wb["Placements"]["C5"] = "hospital"  # B's setting, four rows down
    wb.save(tmp_path / "placements.xlsx")
    with pytest.raises(InputError, match="sheet 'Placements', cell C5: Setting is 'hospital'"):
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]


def test_headings_typed_by_hand_are_read_or_named(tmp_path: Path) -> None:
    """Registers kept by hand have their own headings. "Weekly cost" (no "(£)") was not
    read, so every row lacked a cost; "Set up cost" and "Earliest move" were not read
    and said nothing: the scenario's set-up cost and year 1 were used instead. A
    missing required column was also said once per row."""
    two_placed_and_a_member(tmp_path)
    placements = {
        **{("Placements", c): v for c, v in [("D1", "weekly cost"), ("D2", 20), ("E2", None)]},
        ("Placements", "G1"): "Set up cost",  # A's set-up cost, below
        ("Placements", "G2"): 777,
        ("Placements", "F1"): "Earliest move",  # B: not before year 3 (not read)
        ("Placements", "F3"): 3,
        ("Placements", "K1"): "Social worker",  # the user's own column: not warned of
    }  # (A: £20 a week)
    _edit(tmp_path / "placements.xlsx", placements)
    members = {("Members", "G1"): "Funder", ("Members", "G2"): "icb"}  # read on Contracts
    _edit(tmp_path / "contracts.xlsx", members)
    regs = _read(tmp_path)
    a, b = regs.placements
    assert (a.annual_cost, a.setup_cost, b.earliest_year) == (20 * 52, 777, 1)
    said = [(i.code, i.where.sheet, i.where.cell, i.problem) for i in regs.warnings]
    assert said == [
        (
            "column-not-read",
            "Placements",
            "F1",
            "column 'Earliest move' is not read (ras reads 'Earliest move year')",
        ),
        ("column-not-read", "Members", "G1", "column 'Funder' is not read on this sheet"),
    ]
    _edit(tmp_path / "contracts.xlsx", {("Members", "A1"): "Contract"})  # Contract ID, misnamed
    assert _refused(tmp_path) == [
        f"{tmp_path / 'contracts.xlsx'}, sheet 'Members', cell A1: no column 'Contract ID' "
        "in the header row (if 'Contract' is it, rename that heading to 'Contract ID')"
    ]


def test_an_id_a_spreadsheet_took_for_a_date_is_warned_of(tmp_path: Path) -> None:
    """Typed into a General cell, an ID such as 1-12 becomes 1 December: it was read as
    '2026-12-01' and matched no one, without a word (the person had "no budget")."""
    two_placed_and_a_member(tmp_path)
    _edit(tmp_path / "placements.xlsx", {("Placements", "A3"): dt.datetime(2026, 12, 1)})
    march = dt.datetime(2026, 3, 1)  # a contract "3-1", on both sheets
    _edit(tmp_path / "contracts.xlsx", {("Contracts", "A2"): march, ("Members", "A2"): march})
    regs = _read(tmp_path)
    assert regs.placements[1].person_id == "2026-12-01"  # read as typed, and used
    said = [(i.code, i.where.sheet, i.where.cell, i.person_id, i.fix) for i in regs.warnings]
    fix = "format the column (or cell) as Text, type the ID again and save"
    assert said == [
        ("id-is-a-date", "Placements", "A3", "2026-12-01", fix),
        ("id-is-a-date", "Contracts", "A2", "", fix),
        ("id-is-a-date", "Members", "A2", "", fix),
    ]
    assert regs.warnings[0].problem == (
        "Person ID is a date or time (2026-12-01): a spreadsheet turns an ID such as 1-12 "
        "into one, and it then matches no one else's"
    )


def test_an_error_pasted_as_a_value_is_named_not_read_as_blank(tmp_path: Path) -> None:
    """A register copied from a sheet of look-ups and pasted as values keeps its #N/A
    cells. They read as empty: an optional Set-up cost of #N/A silently became the
    scenario's set-up cost."""
    two_placed_and_a_member(tmp_path)
    errors = {("Placements", "G2"): "#N/A", ("Placements", "K3"): "#REF!"}  # K: Notes, not read
    _edit(tmp_path / "placements.xlsx", errors)  # openpyxl saves them as error values (t="e")
    assert _refused(tmp_path) == [
        f"{tmp_path / 'placements.xlsx'}, sheet 'Placements', cell G2: Set-up cost (£) shows "
        "the error '#N/A' instead of a value (correct the formula or its look-up, or type "
        "the value)"
    ]


def test_a_weekly_and_an_annual_cost_that_disagree_are_warned_of(tmp_path: Path) -> None:
    row = placement("A", "inpatient", 520_000)
    row[3] = 1000  # £1,000 a week is £52,000 a year: the annual cost is ten times that
    near = placement("B", "inpatient", 52_143)
    near[3] = 1000  # a year of 52.143 weeks against the scenario's 52: no slip
    write_case(
        tmp_path,
        budgets={"A": 60000, "B": 1000},
        placements=[row, near],
        weeks_per_year=52,
        horizon=1,
        savings={"kind": "vs_baseline", "rates": ["0"]},
        variants={"more": {"capacity": {"moves_per_year": 20}}},  # the same registers
    )
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(
        main, ["optimise", str(tmp_path / "scenario.yaml"), "-o", str(out), "--json"]
    )
    assert r.exit_code == 0, r.output
    said = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert said == [
        f"warning: {tmp_path / 'placements.xlsx'}, sheet 'Placements', cell E2: "
        "the annual cost, £520,000, is not the weekly cost, £1,000, for a year of 52 weeks "
        "(£52,000); the annual cost is used (clear the one that is wrong: one of the two is "
        "enough)"
    ]
    assert json.loads(r.stdout)["warnings"] == [said[0].removeprefix("warning: ")]
    wb = CalamineWorkbook.from_path(str(out))
    rows = wb.get_sheet_by_name("Assumptions").to_python()
    assert [row[1] for row in rows if row[0] == "warning"] == json.loads(r.stdout)["warnings"]
    moves = wb.get_sheet_by_name("Moves").to_python()
    assert [m[5] for m in moves[1:] if m[0] == "A"] == [520000]  # the annual cost is used
    sc = tmp_path / "scenario.yaml"
    r = CliRunner().invoke(main, ["compare", str(sc), "-o", str(tmp_path / "c.xlsx"), "-j", "0"])
    assert r.exit_code == 0, r.output
    assert [line for line in r.stderr.splitlines() if line.startswith("warning:")] == said


def test_paths_are_relative_to_the_scenario(tmp_path: Path) -> None:
    path = base_case(tmp_path / "deep" / "folder")
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    r = CliRunner().invoke(main, ["optimise", str(path), "-o", str(elsewhere / "p.xlsx")])
    assert r.exit_code == 0, r.output


def test_a_data_path_typed_on_windows_is_found_elsewhere(tmp_path: Path) -> None:
    """A scenario workbook filled in on Windows names `registers\\placements.xlsx`."""
    path = base_case(tmp_path)
    (tmp_path / "registers").mkdir()
    (tmp_path / "placements.xlsx").rename(tmp_path / "registers" / "placements.xlsx")
    typed = "data.placements=registers\\placements.xlsx"
    loaded = load_scenario(path, None, [parse_set_option(typed)])
    assert loaded.data_file("placements") == tmp_path / "registers" / "placements.xlsx"
    args = ["optimise", str(path), "-o", str(tmp_path / "p.xlsx"), "--set", typed]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output  # it was "there is no file …\registers\placements.xlsx"
    # A path that exists as typed is taken as typed; one found neither way is named as typed.
    with pytest.raises(InputError) as err:
        load_scenario(path, None, [parse_set_option("data.placements=nowhere\\p.xlsx")]).data_file(
            "placements"
        )
    assert "data.placements is 'nowhere\\\\p.xlsx'" in str(err.value)


def test_a_data_path_in_other_capitals_is_named_as_the_file_is(tmp_path: Path) -> None:
    """Windows finds `Registers\\Placements.xlsx` for registers/placements.xlsx; here it
    was only "there is no file": the fix is to spell it as the file is."""
    path = base_case(tmp_path)
    (tmp_path / "registers").mkdir()
    (tmp_path / "placements.xlsx").rename(tmp_path / "registers" / "placements.xlsx")
    typed = "data.placements=Registers/Placements.xlsx"
    with pytest.raises(InputError) as err:
        load_scenario(path, None, [parse_set_option(typed)]).data_file("placements")
    assert str(err.value).endswith(
        "the file is 'registers/placements.xlsx': capitals count here, so give it so"
    )
    (tmp_path / "Registers").mkdir()  # two files that match but for capitals: no guess
    (tmp_path / "Registers" / "placements.xlsx").write_bytes(b"")
    with pytest.raises(InputError) as err:
        load_scenario(path, None, [parse_set_option(typed)]).data_file("placements")
    assert str(err.value).endswith("correct the path or put the file there")


def test_every_missing_data_file_is_named_at_once(tmp_path: Path) -> None:
    """Two data paths wrong: the run named the first, and the second only once it was
    fixed; `ras scenario check` said nothing of either and exited 0."""
    path = base_case(tmp_path)
    (tmp_path / "allocations.xlsx").rename(tmp_path / "budgets.xlsx")
    (tmp_path / "contracts.xlsx").rename(tmp_path / "blocks.xlsx")
    for command in (["optimise", str(path), "-o", str(tmp_path / "p.xlsx")],
                    ["scenario", "check", str(path)]):  # fmt: skip
        r = CliRunner().invoke(main, command)
        assert r.exit_code == 1, r.output
        errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 2, r.stderr
        assert "data.allocations is 'allocations.xlsx', but there is no file" in errors[0]
        assert "data.contracts is 'contracts.xlsx', but there is no file" in errors[1]
    assert not (tmp_path / "p.xlsx").exists()
    assert "data.placements  " in r.stderr  # check still prints the values it read
    r = CliRunner().invoke(main, ["compare", str(path), "-o", str(tmp_path / "c.xlsx")])
    assert "FAILED" in r.output and "(and 1 more problem:" in r.output, r.output
    # A bad setting too: the files were named only once the scenario was valid.
    r = CliRunner().invoke(main, ["scenario", "check", str(path), "--set", "horizon=0"])
    assert r.exit_code == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3 and "horizon: '0' is too small" in errors[0], r.stderr
    assert "data.allocations is" in errors[1] and "data.contracts is" in errors[2]


def test_an_id_that_lost_its_leading_zeros_is_pointed_out(tmp_path: Path) -> None:
    """The register's Person ID column was a number column: Excel made 00123 into 123,
    and the person was planned as having no assessment without a word."""
    scenario = write_case(
        tmp_path,
        budgets={"00123": 60000, "B7": 50000, "9434765919": 50000},
        placements=[
            placement(123, "inpatient", 100000),  # type: ignore[arg-type]
            placement("b7", "inpatient", 90000),  # case: a different person, but say so
            placement("C1", "inpatient", 90000),  # no budget, and nothing like it
            placement("943 476\u200b5919", "inpatient", 90000),  # spaced, a pasted ZWSP
        ],
    )
    r = CliRunner().invoke(
        main, ["optimise", str(scenario), "-o", str(tmp_path / "p.xlsx"), "--json"]
    )
    assert r.exit_code == 0, r.output
    said = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(said) == 4, said
    assert "none of the 4 registered people has a budget in allocations.xlsx" in said[0]
    assert "row 2: Person ID '123' has no budget in the allocations, which have '00123'" in said[1]
    assert "Excel drops the leading zeros" in said[1]
    assert "Person ID 'b7' has no budget in the allocations, which have 'B7'" in said[2]
    assert (
        "row 5: Person ID '943 476\\u200b5919' has no budget in the allocations, which have "
        "'9434765919'"
    ) in said[3]
    assert "4 registered people have no budget in the allocations" in r.stderr
    summary = json.loads(r.stdout)
    assert summary["people_without_budget"] == 4 and len(summary["warnings"]) == 4


def test_allocations_with_none_of_the_registered_people_are_a_warning(tmp_path: Path) -> None:
    """The wrong allocations workbook gave a plan with no moves and one line among the
    year figures ("2 registered people have no budget"), nothing in --json's warnings."""
    from ras.commands.optimise import load_inputs

    case = write_case(
        tmp_path,
        budgets={"Z1": 500, "Z2": 500},
        placements=[placement("A", "inpatient", 1000), placement("B", "inpatient", 1000)],
    )
    data, _ = load_inputs(load_scenario(case))
    (warning,) = [w for w in data.warnings if w.code == "no-one-budgeted"]
    assert warning.problem.startswith("none of the 2 registered people has a budget in ")
    assert str(warning.where).startswith(f"{case}, line ")
    case = write_case(
        tmp_path,
        budgets={"A": 500},
        placements=[placement("A", "inpatient", 1000), placement("B", "inpatient", 1000)],
    )
    data, _ = load_inputs(load_scenario(case))
    assert not [w for w in data.warnings if w.code == "no-one-budgeted"]  # one has


def test_a_person_twice_in_the_allocations_is_named(tmp_path: Path) -> None:
    """A pasted-together allocations workbook: the last row's budget was quietly used."""
    import xlsxwriter

    scenario = base_case(tmp_path)
    wb = xlsxwriter.Workbook(str(tmp_path / "allocations.xlsx"))
    ws = wb.add_worksheet("Allocations")
    ws.write_row(0, 0, ["Person ID", "Source", "Indicative budget (£/year)"])
    ws.write_row(1, 0, ["A", "a.xlsx", 60000])
    ws.write_row(2, 0, ["B", "b.xlsx", 1000])
    ws.write_row(3, 0, ["A", "a2.xlsx", 1])
    ws.write_row(4, 0, ["C", "c.xlsx", "n/a"])
    wb.close()
    _edit(tmp_path / "placements.xlsx", {("Placements", "E2"): "lots"})  # and a register's
    r = CliRunner().invoke(main, ["optimise", str(scenario), "-o", str(tmp_path / "p.xlsx")])
    assert r.exit_code == 1, r.output
    assert "sheet 'Allocations', cell A4: Person ID 'A' appears twice (first at row 2)" in r.output
    # Every bad row in one run, not the first only; and the register's problem with them
    # (the allocations' waited for the registers to be put right).
    assert "sheet 'Allocations', cell C5: 'n/a' is not a budget" in r.output
    assert "sheet 'Placements', cell E2: Annual cost (£) is 'lots'" in r.output
    assert not (tmp_path / "p.xlsx").exists()


def test_a_file_of_another_kind_is_named_as_such(tmp_path: Path, adult_path: Path) -> None:
    """A scenario given as the point table gave a line for every key it lacked or had."""
    scenario = base_case(tmp_path)
    (tmp_path / "in").mkdir()
    policy = tmp_path / "policy.yaml"
    policy.write_text("ras_policy: 1\nyears: 2\n", encoding="utf-8")
    cases = [
        (["score", str(tmp_path / "in"), "-t", str(scenario), "-o", str(tmp_path / "a.xlsx")],
         "this is a scenario (ras_scenario), not a point table"),
        (["optimise", str(adult_path), "-o", str(tmp_path / "p.xlsx")],
         "this is a point table (ras_table), not a scenario"),
        (["optimise", str(policy), "-o", str(tmp_path / "p.xlsx")],
         "this is a policy (ras_policy), not a scenario"),
        (["transition", str(tmp_path / "allocations.xlsx"), str(tmp_path / "allocations.xlsx"),
          "-o", str(tmp_path / "t.xlsx"), "--policy", str(scenario)],
         "this is a scenario (ras_scenario), not a policy"),
    ]  # fmt: skip
    for args, said in cases:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1, r.output
        errors = [line for line in r.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and said in errors[0], r.output


def test_a_decimal_comma_in_a_register_or_a_bulk_table_is_an_error_not_a_bigger_cost(
    tmp_path: Path, adult_path: Path
) -> None:
    """`1200,50` typed as text (a decimal comma, as a provider abroad or another locale's
    export writes it) was read with its comma dropped: £120,050 a week; in a bulk table a
    current annual cost of `12500,50` was £1,250,050 (and calibration fitted to it)."""
    row = placement("A", "inpatient", 1000)
    row[3], row[4] = "1200,50", None
    write_case(tmp_path, budgets={"A": 500}, placements=[row])
    with pytest.raises(InputError) as err:
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    assert (
        "sheet 'Placements', cell D2: Weekly cost (£) is '1200,50', which is not a number "
        "(type a number; a comma separates thousands (12,000.50); write a decimal point as a dot)"
    ) in str(err.value)
    from tests.hostile import GOOD_ANSWERS

    bulk = tmp_path / "bulk.csv"
    head = ["Person ID", "Client group", "Current annual cost", *GOOD_ANSWERS]
    rows = [["B-1", "older_people", "12500,50", *GOOD_ANSWERS.values()]]
    rows.append(["B-2", "older_people", "12,500.50", *GOOD_ANSWERS.values()])
    bulk.write_text(
        "\n".join(",".join(f'"{v}"' for v in r) for r in [head, *rows]) + "\n", encoding="utf-8"
    )
    r = CliRunner().invoke(main, ["validate", str(bulk), "-t", str(adult_path), "--json"])
    assert r.exit_code == 1, r.output
    summary = json.loads(r.stdout)
    assert summary["people_scored"] == 1 and summary["rejected"] == 1
    assert summary["problems"] == [
        f"{bulk}, cell C2: 'Current annual cost' is '12500,50', which is not an amount of money "
        "(type a number such as 12500.00; a comma separates thousands (12,000.50); write a "
        "decimal point as a dot)"
    ]


def test_a_totals_row_at_the_foot_of_a_register_is_named_as_such(tmp_path: Path) -> None:
    """`Total` with the costs summed, below the people: "Provider is missing (fill it in)"
    and "Setting is missing (fill it in)", which is not the fix."""
    two_placed_and_a_member(tmp_path)
    wb = load_workbook(tmp_path / "placements.xlsx")
    wb["Placements"].append(["TOTAL", None, None, None, 2000])
    wb.save(tmp_path / "placements.xlsx")
    with pytest.raises(InputError) as err:
        read_registers(tmp_path / "placements.xlsx", tmp_path / "contracts.xlsx", 52)  # type: ignore[arg-type]
    assert str(err.value).splitlines() == [
        f"{tmp_path / 'placements.xlsx'}, sheet 'Placements', cell A4: 'TOTAL' is a totals "
        "row, not a person (delete the row; ras adds the costs up itself)"
    ]
    # The word under another heading, the ID left empty: it was "Person ID is missing"
    # and "Setting is missing"
    _edit(
        tmp_path / "placements.xlsx",
        {("Placements", "A4"): None, ("Placements", "B4"): "Grand Total"},
    )
    assert _refused(tmp_path) == [
        f"{tmp_path / 'placements.xlsx'}, sheet 'Placements', cell B4: 'Grand Total' is a "
        "totals row, not a person (delete the row; ras adds the costs up itself)"
    ]


def test_the_blank_registers_plan_nothing_and_say_so(tmp_path: Path) -> None:
    """The blank registers and scenario of `ras template` gave "OPTIMAL, 0 people move"
    and a plan of zeros, without a word that the registers were empty."""
    runner = CliRunner()
    assert runner.invoke(main, ["template", "registers", str(tmp_path)]).exit_code == 0
    sc = tmp_path / "scenario.yaml"
    assert runner.invoke(main, ["template", "scenario", str(sc)]).exit_code == 0
    r = runner.invoke(main, ["optimise", str(sc), "-o", str(tmp_path / "p.xlsx"), "--json"])
    assert r.exit_code == 0, r.output
    said = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert said == [
        f"warning: {sc}, line 8: the registers hold no placements and no block contracts, so "
        "there is nothing to plan (fill in the registers: a row for each person in a placement "
        "on Placements, a row for each block contract on Contracts)"
    ]
    assert json.loads(r.stdout)["warnings"] == [said[0].removeprefix("warning: ")]


def test_every_bad_setting_of_a_scenario_is_named_in_one_run(tmp_path: Path) -> None:
    """A range checked across the whole scenario ran only once every key was valid:
    `horizon: 0` and a priority of -3 gave the horizon alone; the priority came after
    it was fixed. Each key now checks its own values, so both come at once, each at its
    line; a value a year is checked against the horizon as soon as the horizon is
    valid, with the rest."""
    example = Path(__file__).resolve().parent.parent / "scenarios" / "example.yaml"
    text = example.read_text(encoding="utf-8")
    assert "\nhorizon: 5\n" in text and "inpatient: 3," in text
    bad = text.replace("\nhorizon: 5\n", "\nhorizon: 0\n").replace(
        "inpatient: 3,", "inpatient: -3,"
    )
    (tmp_path / "s.yaml").write_text(bad, encoding="utf-8")
    shutil.copytree(example.parent / "example", tmp_path / "example")  # its data files
    sets = ["transition.overlap_weeks=999", "inflation.budgets=-200%", "weeks_per_year=0",
            "base_year=1800", "capacity.moves_per_year=-1", "savings.rate=100%"]  # fmt: skip
    args = ["scenario", "check", str(tmp_path / "s.yaml")]
    r = CliRunner().invoke(main, [*args, *(x for s in sets for x in ("--set", s))])
    assert r.exit_code == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    for said in [
        "horizon: '0' is too small",
        "priority.inpatient: must be from 0 to 1,000,000",
        "transition.overlap_weeks: must be from 0 to 520 weeks",
        "inflation.budgets: must be above -1",
        "weeks_per_year: must be above 0",
        "base_year: must be a year such as 2026",
        "capacity.moves_per_year: cannot be negative",
        # a rate needs no horizon: it waited for a valid one before
        "savings.rate: must be at least 0 % and below 100 %",
    ]:
        assert sum(said in line for line in errors) == 1, (said, r.stderr)
    assert len(errors) == 8
    # A value a year against the horizon is checked as its key is: with the others.
    r = CliRunner().invoke(
        main,
        [
            *args,
            "--set",
            "horizon=3",
            "--set",
            "capacity.moves_per_year=[1,2]",
            "--set",
            "savings.kind=absolute",
            "--set",
            "savings.amounts=[1,2]",
        ],  # fmt: skip
    )
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1 and len(errors) == 3, r.stderr
    assert "priority.inpatient: must be from 0" in errors[1]
    assert errors[0].endswith("capacity.moves_per_year: give one number per plan year (3), not 2")
    assert errors[2].endswith("savings.amounts: absolute needs one amount per year (3)")
    assert any(line.startswith(f"error: {tmp_path / 's.yaml'}: line ") and "priority" in line
               for line in errors)  # fmt: skip
