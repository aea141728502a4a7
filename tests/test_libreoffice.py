"""A real client: LibreOffice recalculates every formula ras writes and gets ras's figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from ras.commands.score import run_score
from ras.io.budget_sheets import CALCULATION, SHEET
from ras.models.table import PointTable
from tests.helpers import recalculate, write_assessment
from tests.hostile import GOOD_ANSWERS

CASES = {
    # id: (fields, answer overrides)
    "adj-top": (
        {"Client group": "learning_disability", "Living situation": "own_home"},
        {
            "PC1": "Exceptional support",
            "PC2": "Lots of support",
            "PC4": "Two people needed",
            "FS1": "Substantial support from family",
            "FS2": "Yes",
            "KS1": "Constant supervision",
        },
    ),
    "ceiling": (
        {"Client group": "learning_disability", "Living situation": "residential"},
        {k: "Lots of support" for k in ("PC1", "PC2", "PC3", "DL1", "DL2", "DL3", "CO1", "CO2")}
        | {"KS1": "Constant supervision", "KS2": "Waking night support"},
    ),
    "mh-rate": ({"Client group": "mental_health"}, {"DL2": "Some support"}),
    "zero": (
        {"Client group": "older_people"},
        {k: v for k, v in GOOD_ANSWERS.items()}
        | {"PC1": "No support", "DL1": "No support", "CO1": "No support", "KS1": "No support"},
    ),
}


@pytest.mark.libreoffice
def test_budget_sheets_and_summary_recalculate_to_ras_figures(
    tmp_path: Path, adult: PointTable, mh: PointTable, need_soffice: str
) -> None:
    (tmp_path / "in").mkdir()
    inputs = [
        write_assessment(
            tmp_path / "in" / f"{pid}.xlsx", {"Person ID": pid, **fields}, {**GOOD_ANSWERS, **over}
        )
        for pid, (fields, over) in CASES.items()
    ]
    # Bulk rows: their pages are a workbook of their own, not grafted into the person's.
    fields, answers = CASES["adj-top"][0], {**GOOD_ANSWERS, **CASES["adj-top"][1]}
    bulk = tmp_path / "in" / "bulk.csv"
    bulk.write_text(
        ",".join(["Person ID", *fields, *answers]) + "\n"
        + ",".join(["bulk-1", *fields.values(), *answers.values()]) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    inputs.append(bulk)
    out = tmp_path / "allocations.xlsx"
    outcome = run_score(inputs, adult, out, budget_sheets=tmp_path / "sheets", jobs=0)
    assert len(outcome.sheets) == len(CASES) + 1
    # A bands table with two funding streams, too.
    mh_in = write_assessment(
        tmp_path / "mh.xlsx",
        {"Person ID": "mh-1", "Client group": "section_117"},
        {
            "MW1": "A lot",
            "MW2": "Monthly",
            "RS1": "Some",
            "RS2": "Prompting",
            "DA1": "Some",
            "DA2": "None",
            "RH1": "Some",
            "RH2": "Yes",
        },
    )
    mh_out = run_score(
        [mh_in], mh, tmp_path / "mh-alloc.xlsx", budget_sheets=tmp_path / "mh-sheets", jobs=0
    )
    files = [*outcome.sheets, *mh_out.sheets, out]
    recalced = recalculate(files, tmp_path / "lo")
    checked = 0
    budgets = {s.assessment.person_id: s.budget for s in outcome.run.scored + mh_out.run.scored}
    for path in recalced[:-1]:
        wb = CalamineWorkbook.from_path(str(path))
        assert wb.sheet_names[:2] == [SHEET, CALCULATION]
        if path.stem == "bulk-1":
            assert wb.sheet_names == [SHEET, CALCULATION]
        page = wb.get_sheet_by_name(SHEET).to_python()
        b = budgets[page[1][1]]
        # The person's page: live figures that LibreOffice recalculates to ras's own.
        assert page[4][1] == pytest.approx(float(b.annual), abs=0.001)
        assert page[5][1] == pytest.approx(float(b.weekly), abs=0.001)
        assert page[6][1] == pytest.approx(float(b.range_low), abs=0.001)
        assert page[6][2] == f"to £{b.range_high:,.0f}"
        words = " ".join(str(v) for r in page for v in r)
        assert "fingerprint" not in words and "ras figure" not in words
        rows = wb.get_sheet_by_name(CALCULATION).to_python()
        header = next(i for i, r in enumerate(rows) if r[:1] == ["Item"])
        for r in rows[header + 1 :]:
            if len(r) > 4 and isinstance(r[4], float):
                got = r[2] if isinstance(r[2], float) else r[1]
                assert isinstance(got, float), ("not recalculated", path.name, r)
                assert got == pytest.approx(r[4], abs=0.001), (path.name, r)
                checked += 1
    assert checked >= 8 * len(recalced[:-1])
    # Summary formulas: LibreOffice's results equal the values ras cached.
    before = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Summary").to_python()
    after = CalamineWorkbook.from_path(str(recalced[-1])).get_sheet_by_name("Summary").to_python()
    numbers = 0
    for rb, ra in zip(before, after, strict=False):
        for vb, va in zip(rb, ra, strict=False):
            if isinstance(vb, float):
                assert va == pytest.approx(vb, abs=0.001)
                numbers += 1
    assert numbers > 10
    total = sum(float(s.budget.annual) for s in outcome.run.scored)
    assert any(total in r for r in after)


@pytest.mark.libreoffice
def test_a_formula_calculated_to_an_empty_text_is_a_blank_cell_not_an_uncalculated_one(
    tmp_path: Path, adult: PointTable, need_soffice: str
) -> None:
    """`=IF(…,"",…)` saved by a spreadsheet program holds a calculated empty text. ras took
    it for a formula no program had calculated: the person was not scored ("holds a formula
    with no calculated value") over an optional field left empty, and a register refused."""
    from openpyxl import load_workbook

    from ras.commands.score import score_inputs
    from ras.io.register_files import read_registers
    from tests.planning import two_placed_and_a_member

    src = tmp_path / "src"
    src.mkdir()
    path = write_assessment(src / "a.xlsx", {"Person ID": "F-1", **CASES["zero"][0]}, GOOD_ANSWERS)
    wb = load_workbook(path)
    wb["Person"].append(["Current annual cost", '=IF(1=1,"",12000)'])
    quest = wb["Questionnaire"]
    row = next(r for r in quest.iter_rows() if r[1].value == "CO2")
    row[3].value = '=IF(1=1,"","Some support")'  # CO2 is optional
    wb.save(path)
    two_placed_and_a_member(src)
    wb = load_workbook(src / "placements.xlsx")
    wb["Placements"]["G2"] = '=IF(E2>0,"",1500)'  # Set-up cost (£), optional
    wb["Placements"]["G3"] = '=IF(E3>0,"",1500)'
    wb.save(src / "placements.xlsx")
    calc = tmp_path / "calc"
    recalculate([path, src / "placements.xlsx", src / "contracts.xlsx"], calc)
    run = score_inputs([calc / "a.xlsx"], adult, jobs=0)
    assert not run.exceptions, [i.one_line() for i in run.exceptions]
    assert [s.assessment.person_id for s in run.scored] == ["F-1"]
    assert run.scored[0].assessment.fields["current_annual_cost"] is None
    assert "CO2" not in run.scored[0].assessment.answers
    registers = read_registers(calc / "placements.xlsx", calc / "contracts.xlsx", 52)  # type: ignore[arg-type]
    assert [p.setup_cost for p in registers.placements] == [None, None]


@pytest.mark.libreoffice
def test_a_formula_that_fails_is_named_by_its_error_not_as_uncalculated(
    tmp_path: Path, adult: PointTable, need_soffice: str
) -> None:
    """A register's look-up that found nothing (#N/A) or a cost divided by zero, saved by
    a spreadsheet program, was "a formula with no calculated value (the program that wrote
    the file did not calculate it)": saving it again, as told, changed nothing."""
    from openpyxl import load_workbook

    from ras.commands.score import score_inputs
    from ras.errors import InputError
    from ras.io.register_files import read_registers
    from tests.planning import two_placed_and_a_member

    src = tmp_path / "src"
    src.mkdir()
    path = write_assessment(src / "a.xlsx", {"Person ID": "F-1", **CASES["zero"][0]}, GOOD_ANSWERS)
    wb = load_workbook(path)
    wb["Person"].append(["Current annual cost", "=VLOOKUP(99,Z1:AA2,2,FALSE)"])
    cost = f"B{wb['Person'].max_row}"
    wb.save(path)
    two_placed_and_a_member(src)
    wb = load_workbook(src / "placements.xlsx")
    wb["Placements"]["D2"], wb["Placements"]["E2"] = "=E3/0", None  # A's weekly cost
    wb["Placements"]["G3"] = "=NA()"  # B's set-up cost (£), optional
    wb.save(src / "placements.xlsx")
    calc = tmp_path / "calc"
    recalculate([path, src / "placements.xlsx", src / "contracts.xlsx"], calc)
    run = score_inputs([calc / "a.xlsx"], adult, jobs=0)
    assert not run.scored
    assert [(i.code, i.where.cell, i.problem) for i in run.exceptions] == [
        ("cell-error", cost, "'Current annual cost' shows the error '#N/A' instead of a value")
    ]
    with pytest.raises(InputError) as err:
        read_registers(calc / "placements.xlsx", calc / "contracts.xlsx", 52)  # type: ignore[arg-type]
    assert [(i.code, i.where.cell, i.problem) for i in err.value.issues] == [
        ("cell-error", "D2", "Weekly cost (£) shows the error '#DIV/0!' instead of a value"),
        ("cell-error", "G3", "Set-up cost (£) shows the error '#N/A' instead of a value"),
    ]
