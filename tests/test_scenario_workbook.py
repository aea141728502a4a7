"""The scenario as a workbook, and values people type (SPEC §15)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from ras.cli import main
from ras.commands.starter import write_starter_registers
from ras.errors import ConfigError, InputError
from ras.io.register_files import read_registers
from ras.io.scenario_file import canonical_scenario, load_scenario, scenario_yaml, write_scenario
from ras.io.templates import SCENARIO_TEMPLATE, write_scenario_template
from ras.models.base import parse_money, parse_rate
from tests.helpers import recalculate, soffice
from tests.planning import placement, write_case

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "example.yaml"


@pytest.mark.parametrize(
    ("typed", "value"),
    [("3%", "0.03"), ("3 %", "0.03"), ("0.03", "0.03"), (" 2.5% ", "0.025"), (0.03, "0.03")],
)
def test_rates_as_people_type_them(typed: Any, value: str) -> None:
    assert parse_rate(typed) == Decimal(value)


@pytest.mark.parametrize("typed", ["3", 3, "1", 1.5, "-2"])
def test_a_bare_rate_of_one_or_more_is_an_error(typed: Any) -> None:
    with pytest.raises(ValueError, match="%"):
        parse_rate(typed)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("£2,000", "2000"),
        ("2000", "2000"),
        ("2,000.50", "2000.50"),
        ("-£1,200,000.5", "-1200000.5"),
        ("2\u00a0000", "2000"),  # a no-break space, as numbers copied from a page have
    ],
)
def test_money_as_people_type_it(typed: str, value: str) -> None:
    assert parse_money(typed) == Decimal(value)


@pytest.mark.parametrize("typed", ["1,20", "12,5", "1.200,50", "1 200,50", ",5", "1,2345"])
def test_a_comma_that_does_not_group_thousands_is_refused(typed: str) -> None:
    """A decimal comma (`1.200,50`, as other countries write it) was read with its commas
    dropped: £1.2005, and `12,5` was £125."""
    with pytest.raises(ValueError, match="a comma separates thousands"):
        parse_money(typed)
    with pytest.raises(ValueError, match="a comma separates thousands"):
        parse_rate(typed + "%")


@pytest.mark.parametrize(
    ("typed", "whole"),
    [
        ("£1.2m", "£1,200,000"),
        ("250k", "£250,000"),
        ("2.5 bn", "£2,500,000,000"),
        ("1.25 million", "£1,250,000"),
        ("£3M", "£3,000,000"),
    ],
)
def test_money_in_shorthand_is_refused_with_the_whole_amount(typed: str, whole: str) -> None:
    """ "£1.2m" said only "'1.2m' is not a number"; ras does not guess, but says what to
    write."""
    with pytest.raises(ValueError, match=f"write the whole amount, such as {whole}$"):
        parse_money(typed)


def test_shorthand_money_in_the_workbook_and_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "scenario.xlsx"
    write_scenario_template(path)
    cell = _set_value(path, "transition.setup_cost", "£2k")
    with pytest.raises(ConfigError, match=f"cell {cell}: transition.setup_cost: '£2k' is not a"):
        load_scenario(path)
    there = str(path)  # never read: the option is refused first
    r = CliRunner().invoke(
        main, ["calibrate", there, "-t", there, "-o", "c.xlsx", "--budget", "£1.2m"]
    )
    assert r.exit_code == 2, r.output
    assert "'£1.2m' is not a number; write the whole amount, such as £1,200,000" in r.output


def _scenario(folder: Path, **changes: Any) -> Path:
    data = json.loads(json.dumps(_BASE))
    for key, value in changes.items():
        node = data
        *parents, last = key.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    path = folder / "s.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


_BASE = {
    "ras_scenario": 1,
    "name": "t",
    "base_year": 2026,
    "horizon": 3,
    "data": {"allocations": "a.xlsx", "placements": "p.xlsx", "contracts": "c.xlsx"},
    "capacity": {"moves_per_year": 2},
    "savings": {"kind": "year_on_year", "rate": "0.03"},
}


def test_typed_values_and_labels_in_yaml(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path,
        savings={"kind": "Year on year", "rate": "3 %"},
        transition={"setup_cost": "£2,500", "overlap_weeks": 4},
        objective="SAVE",
        inflation={"placements": "2.5%"},
    )
    sc = load_scenario(path).scenario
    assert sc.savings.kind == "year_on_year"
    assert sc.savings.rate == Decimal("0.03")
    assert sc.transition.setup_cost == Decimal(2500)
    assert sc.objective == "save"
    assert sc.inflation.placements == Decimal("0.025")


def test_a_bad_rate_names_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    text = json.dumps(_BASE, indent=1).replace('"0.03"', '"3"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '"rate"' in t)
    assert f"line {line}: savings.rate: 3 as a rate is 300 %; write 3%" in message


def test_registers_take_setting_labels(tmp_path: Path) -> None:
    folder = tmp_path / "case"
    write_case(
        folder,
        budgets={"A": 1000},
        placements=[
            placement("A", "Out of area", 52000),
            placement("B", "INPATIENT", 52000),
            placement("C", "out-of-area", 52000),
        ],
    )
    regs = read_registers(folder / "placements.xlsx", folder / "contracts.xlsx", Decimal(52))
    assert [p.setting for p in regs.placements] == ["out_of_area", "inpatient", "out_of_area"]
    write_case(folder, budgets={}, placements=[placement("D", "Hospital", 52000)])
    with pytest.raises(InputError) as info:
        read_registers(folder / "placements.xlsx", folder / "contracts.xlsx", Decimal(52))
    assert "sheet 'Placements', cell C2" in str(info.value)
    assert "choose Inpatient, Out of area or Residential" in str(info.value)


def _example_copy(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE.parent / "example", tmp_path / "example")
    shutil.copy(EXAMPLE, tmp_path / "example.yaml")
    return tmp_path / "example.yaml"


def test_yaml_and_workbook_round_trip_to_the_same_canonical_form(tmp_path: Path) -> None:
    source = _example_copy(tmp_path)
    first = canonical_scenario(source)
    write_scenario(first, tmp_path / "a.xlsx")
    write_scenario(canonical_scenario(tmp_path / "a.xlsx"), tmp_path / "b.yaml")
    write_scenario(canonical_scenario(tmp_path / "b.yaml"), tmp_path / "b.xlsx")
    write_scenario(canonical_scenario(tmp_path / "b.xlsx"), tmp_path / "c.yaml")
    assert (tmp_path / "b.yaml").read_text() == (tmp_path / "c.yaml").read_text()
    assert (tmp_path / "b.yaml").read_text() == scenario_yaml(first)
    assert canonical_scenario(tmp_path / "a.xlsx") == first
    # the same plan from either form
    a = load_scenario(source, "stretch").scenario
    b = load_scenario(tmp_path / "a.xlsx", "stretch").scenario
    assert a.model_dump(exclude={"variants"}) == b.model_dump(exclude={"variants"})
    assert b.savings.rate == Decimal("0.06")


def test_the_cli_converts_both_ways(tmp_path: Path) -> None:
    source = _example_copy(tmp_path)
    runner = CliRunner()
    r = runner.invoke(main, ["scenario", "convert", str(source), str(tmp_path / "s.xlsx")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        main, ["scenario", "convert", str(tmp_path / "s.xlsx"), str(tmp_path / "t.yaml")]
    )
    assert r.exit_code == 0, r.output
    assert canonical_scenario(tmp_path / "t.yaml") == canonical_scenario(source)
    assert "warning" not in r.output
    # a value the scenario does not use is left out of the copy: said, not silent
    text = source.read_text(encoding="utf-8").replace(
        "  rate: 0.03", "  rate: 0.03\n  rates: [1%, 2%, 3%, 4%, 5%]"
    )
    assert "rates:" in text
    source.write_text(text, encoding="utf-8")
    r = runner.invoke(main, ["scenario", "convert", str(source), str(tmp_path / "u.xlsx")])
    assert r.exit_code == 0, r.output
    assert "savings.rates is not used with the savings kind 'Year on year'" in r.output
    assert "it is not written to u.xlsx" in r.output


def _book(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.xlsx"
    write_scenario_template(path)
    return path


def _set_value(path: Path, key: str, value: Any, number_format: str | None = None) -> str:
    wb = openpyxl.load_workbook(path)
    ws = wb["Scenario"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == key:
            row[1].value = value
            if number_format:
                row[1].number_format = number_format
            wb.save(path)
            return row[1].coordinate
    raise KeyError(key)


def test_workbook_values_typed_in_excel(tmp_path: Path) -> None:
    path = _book(tmp_path)
    _set_value(path, "savings.rate", 0.04, "0%")  # a %-formatted number
    _set_value(path, "inflation.placements", "3.5 %")  # typed as text
    _set_value(path, "transition.setup_cost", "£2,750")
    _set_value(path, "savings.kind", "year on year")
    _set_value(path, "objective", "Save")
    sc = load_scenario(path).scenario
    assert sc.savings.rate == Decimal("0.04")
    assert sc.inflation.placements == Decimal("0.035")
    assert sc.transition.setup_cost == Decimal(2750)
    assert sc.objective == "save"


def test_workbook_errors_name_the_sheet_and_cell(tmp_path: Path) -> None:
    path = _book(tmp_path)
    cell = _set_value(path, "savings.rate", 3)
    other = _set_value(path, "objective", "cheapest")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert f"sheet 'Scenario', cell {cell}: savings.rate: 3 as a rate is 300 %" in message
    assert f"sheet 'Scenario', cell {other}: objective: 'cheapest' is not one of" in message
    wb = openpyxl.load_workbook(path)
    wb["Scenario"].append(["savngs.rate", "3%"])
    wb.save(path)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    row = wb["Scenario"].max_row
    assert f"sheet 'Scenario', cell B{row}: savngs: unknown key" in str(info.value)


def _years(path: Path, column: str, values: dict[int, Any]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Years"]
    col = next(c.column for c in ws[1] if c.value == column)
    for year, value in values.items():
        ws.cell(row=year + 1, column=col, value=value)
    wb.save(path)


def test_years_override_the_scalar_for_their_year(tmp_path: Path) -> None:
    path = _book(tmp_path)
    _years(path, "Moves", {2: 4, 5: 0})
    assert load_scenario(path).scenario.capacity.moves_per_year == (10, 4, 10, 10, 0)
    _set_value(path, "savings.kind", "vs_baseline")
    _years(path, "Savings rate", {1: "1%", 3: 0.05})
    sc = load_scenario(path).scenario  # savings.rate (3%) fills the other years
    assert sc.savings.rates == tuple(Decimal(x) for x in ("0.01", "0.03", "0.05", "0.03", "0.03"))


def test_a_bad_years_value_is_one_line_naming_its_cell(tmp_path: Path) -> None:
    """7.5 moves in year 2 failed as a number (the column is a list) and as a list: two
    lines naming pydantic's types (`capacity.moves_per_year.int`, `tuple[int, ...][1]`)
    and no cell; a negative one named only the column."""
    path = _book(tmp_path)
    _years(path, "Moves", {3: 7.5})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value).splitlines() == [
        f"{path}: sheet 'Years', cell C4: capacity.moves_per_year[2]: '7.5' is not a whole "
        "number; write one such as 3",
    ]
    _years(path, "Moves", {3: 4, 2: -1})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value).splitlines() == [
        f"{path}: sheet 'Years', cell C3: capacity.moves_per_year[1]: cannot be negative",
    ]
    path.unlink()
    path = _book(tmp_path)
    cell = _set_value(path, "capacity.moves_per_year", "ten")
    with pytest.raises(ConfigError) as info:  # one number, not a list: the number's error
        load_scenario(path)
    assert str(info.value).splitlines() == [
        f"{path}: sheet 'Scenario', cell {cell}: capacity.moves_per_year: 'ten' is not a "
        "whole number; write one such as 3"
    ]


def test_a_value_showing_an_error_is_named_not_read_as_blank(tmp_path: Path) -> None:
    """`#N/A` pasted over the savings rate read as an empty cell: the plan ran on the
    default rate without a word."""
    path = _book(tmp_path)
    cell = _set_value(path, "savings.rate", "#N/A")  # openpyxl saves an error value
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}, sheet 'Scenario', cell {cell}: the cell shows the error '#N/A' instead of "
        "a value; correct the formula or its look-up, or type the value"
    )


def test_a_per_year_rate_under_year_on_year_is_an_error(tmp_path: Path) -> None:
    path = _book(tmp_path)
    _years(path, "Savings rate", {2: "4%"})
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert "sheet 'Years', cell D3" in str(info.value)
    assert "per-year Savings rate is not used with the savings kind 'Year on year'" in str(
        info.value
    )


def test_variants_sheet(tmp_path: Path) -> None:
    path = _book(tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Variants"]
    ws.append(["slow", "capacity.moves_per_year", "3; 3; 5; 5; 5"])
    ws.append(["cheap", "savings.kind", "Against the baseline"])
    ws.append(["cheap", "savings.rates", "1%; 2%; 3%; 4%; 5%"])
    wb.save(path)
    assert load_scenario(path, "slow").scenario.capacity.moves_per_year == (3, 3, 5, 5, 5)
    cheap = load_scenario(path, "cheap").scenario.savings
    assert cheap.kind == "vs_baseline"
    assert cheap.rates is not None and cheap.rates[-1] == Decimal("0.05")
    assert cheap.rate is None  # a kind's unused values are dropped
    write_scenario(canonical_scenario(path), tmp_path / "v.yaml")
    text = (tmp_path / "v.yaml").read_text()
    assert "slow:\n    capacity:\n      moves_per_year:\n      - 3\n" in text


def test_keys_retyped_in_another_case_and_an_unknown_variant_key_named_at_its_row(
    tmp_path: Path,
) -> None:
    """`Savings.Rate` typed in a Key cell was an unknown key; on the Variants sheet the
    error named no sheet or cell at all ("s.xlsx: Savings: unknown key")."""
    path = _book(tmp_path)
    wb = openpyxl.load_workbook(path)
    row = next(r for r in wb["Scenario"].iter_rows(min_row=2) if r[0].value == "savings.rate")
    row[0].value = " Savings.Rate"
    row[1].value = "4%"
    wb["Variants"].append(["slow", "Capacity.Moves_Per_Year", 3])
    wb.save(path)
    assert load_scenario(path).scenario.savings.rate == Decimal("0.04")
    assert load_scenario(path, "slow").scenario.capacity.moves_per_year == 3
    wb["Variants"].append(["slow", "Savngs.rate", "5%"])
    wb.save(path)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    n = wb["Variants"].max_row
    assert f"sheet 'Variants', cell C{n}: Savngs: unknown key" in str(info.value)


def test_check_reports_every_value_and_its_source(tmp_path: Path) -> None:
    source = _example_copy(tmp_path)
    r = CliRunner().invoke(
        main,
        [
            "scenario",
            "check",
            str(source),
            "--variant",
            "slow_market",
            "--set",
            "savings.rate=4%",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    values = json.loads(r.stdout)
    assert values["savings.rate"] == {
        "value": "0.04",
        "source": "--set",
        "where": "--set savings.rate=4%",
    }
    assert values["capacity.moves_per_year"]["source"] == "variant"
    assert values["capacity.moves_per_year"]["value"] == 6
    assert values["name"]["source"] == "scenario"
    assert values["name"]["where"] == "line 4"
    assert values["weeks_per_year"] == {"value": "52.143", "source": "scenario", "where": "line 11"}
    assert values["priority.block"]["source"] == "scenario"
    book = _book(tmp_path)
    r = CliRunner().invoke(main, ["scenario", "check", str(book), "--json"])
    # The template alone names registers that are not there yet: one error, in one document.
    assert (
        r.exit_code == 1
        and "data.allocations is 'allocations.xlsx'" in json.loads(r.stdout)["error"]
    )
    write_starter_registers(tmp_path)  # what `ras template registers` writes beside it
    r = CliRunner().invoke(main, ["scenario", "check", str(book), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["overheads.per_budget_per_year"]["where"] == (
        "sheet 'Scenario', cell B12"
    )


def test_a_default_is_reported_as_default(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    values = {k: s for k, _, s, _ in load_scenario(path).values()}
    assert values["weeks_per_year"] == "default"
    assert values["horizon"] == "scenario"


def test_the_workbook_template_and_the_yaml_template_agree(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SCENARIO_TEMPLATE, encoding="utf-8")
    write_scenario_template(tmp_path / "s.xlsx")
    assert canonical_scenario(tmp_path / "s.xlsx") == canonical_scenario(tmp_path / "s.yaml")


def test_a_missing_data_file_names_the_key_and_the_resolved_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    folder = tmp_path / "plan"
    assert runner.invoke(main, ["template", "registers", str(folder)]).exit_code == 0
    assert runner.invoke(main, ["template", "scenario", str(folder / "s.xlsx")]).exit_code == 0
    (folder / "contracts.xlsx").unlink()
    r = runner.invoke(main, ["optimise", str(folder / "s.xlsx"), "--out", str(tmp_path / "p.xlsx")])
    assert r.exit_code == 1
    assert "sheet 'Data', cell B4: data.contracts is 'contracts.xlsx'" in r.output
    assert f"no file {folder / 'contracts.xlsx'}" in r.output
    assert not (tmp_path / "p.xlsx").exists()
    # `--set` typed from another folder: the path is the scenario folder's, and ras says
    # how to write the file it meant
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "contracts.xlsx").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    args = ["optimise", "plan/s.xlsx", "--out", "p.xlsx", "--set"]
    r = runner.invoke(main, [*args, "data.contracts=mine/contracts.xlsx"])
    assert r.exit_code == 1
    assert "mine/contracts.xlsx is in the current folder: give it as ../mine/contracts.xlsx" in (
        r.output
    )


def test_libreoffice_opens_the_workbook_and_shows_financial_years(
    need_soffice: str, tmp_path: Path
) -> None:
    path = _book(tmp_path)
    _set_value(path, "base_year", 2030)
    (out,) = recalculate([path], tmp_path / "lo")
    wb = openpyxl.load_workbook(out, data_only=True)
    assert [wb["Years"].cell(row=r, column=2).value for r in range(2, 7)] == [
        "2031/32",
        "2032/33",
        "2033/34",
        "2034/35",
        "2035/36",
    ]
    kinds = [dv.formula1 for dv in wb["Scenario"].data_validations.dataValidation]
    assert any("Year on year" in (f or "") for f in kinds)
    # base_year typed as a financial year, which ras reads: the column still shows the
    # years (it showed #VALUE!), and ras reads the workbook the spreadsheet saved
    _set_value(path, "base_year", "2030/31")
    (out,) = recalculate([path], tmp_path / "lo2")
    wb = openpyxl.load_workbook(out, data_only=True)
    assert wb["Years"].cell(row=2, column=2).value == "2031/32"
    assert load_scenario(out).scenario.base_year == 2030


def test_a_formula_no_program_calculated_is_refused_not_left_to_the_default(
    tmp_path: Path,
) -> None:
    """A scenario workbook filled in by a script with `=3/100` as the rate: the cell read
    as empty, and the plan quietly ran on the default rate."""
    path = _book(tmp_path)
    cell = _set_value(path, "savings.rate", "=3/100")
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert f"sheet 'Scenario', cell {cell}: holds a formula with no calculated value" in str(
        err.value
    )
    # Calculated by a spreadsheet program, the same workbook is read.
    if soffice():
        (done,) = recalculate([path], tmp_path / "calc")
        assert load_scenario(done).scenario.savings.rate == Decimal("0.03")
