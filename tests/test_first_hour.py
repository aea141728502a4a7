"""A commissioner's first hour, from the README alone (issue: Excel without a programmer).

The README's "Using it on your own data" section is run top to bottom as a user would
type it; then registers are filled in as Excel fills them (labels typed, money as text),
the scenario workbook is edited with typed rates and variants, and the plan is checked
against every plan of the case enumerated by brute force.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from ras.commands.demo import make_person
from ras.commands.optimise import load_inputs
from ras.io.scenario_file import canonical_scenario, load_scenario
from ras.io.table_file import load_table
from tests.test_optimise_brute import every_plan

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def readme_blocks(section: str) -> list[list[str]]:
    """The commands of each ```bash block in a README section, one per line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {section}")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else None]
    blocks = re.findall(r"```bash\n(.*?)```", body, flags=re.S)
    out = []
    for block in blocks:
        lines = []
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
        out.append(lines)
    return out


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    args = shlex.split(command)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def fill_like_excel(
    blank: Path, out: Path, values: dict[str, Any], answers: dict[str, str]
) -> None:
    """A person's copy of the blank workbook, filled in cell by cell (openpyxl)."""
    wb = openpyxl.load_workbook(blank)
    table_labels = {"Person ID": values["person_id"]}
    person = wb["Person"]
    for row in person.iter_rows(min_row=2):
        label = row[0].value
        if label in table_labels:
            row[1].value = table_labels[label]
        elif label in values:
            row[1].value = values[label]
    q = wb["Questionnaire"]
    for row in q.iter_rows(min_row=2):
        if row[1].value in answers:
            row[3].value = answers[str(row[1].value)]
    wb.save(out)


@pytest.mark.slow
def test_the_readme_own_data_section_runs_as_written(tmp_path: Path) -> None:
    blocks = readme_blocks("Using it on your own data")
    assert len(blocks) == 3, "the section has three command blocks"
    for command in blocks[0]:
        r = run(command, tmp_path)
        assert r.returncode == 0, f"{command}: {r.stderr}"
    # People fill in copies of blank.xlsx and put them in completed/.
    table = load_table(tmp_path / "my-table.yaml")
    (tmp_path / "completed").mkdir()
    rng = random.Random(11)
    for n in range(1, 7):
        values, answers = make_person(table, rng, n)
        by_label = {f.label: values.get(f.id) for f in table.person_fields}
        by_label["person_id"] = values["person_id"]
        fill_like_excel(
            tmp_path / "blank.xlsx", tmp_path / "completed" / f"p{n}.xlsx", by_label, answers
        )
    for command in blocks[1]:
        r = run(command, tmp_path)
        assert r.returncode == 0, f"{command}: {r.stderr}"
    wb = CalamineWorkbook.from_path(str(tmp_path / "allocations.xlsx"))
    assert len(wb.get_sheet_by_name("Allocations").to_python()) == 7  # six people scored
    for command in blocks[2]:
        r = run(command, tmp_path)
        assert r.returncode == 0, f"{command}: {r.stderr}"
        if command.startswith("ras optimise"):
            assert "0 people move" in r.stderr  # the registers are still empty
    assert canonical_scenario(tmp_path / "plan" / "scenario.yaml") == canonical_scenario(
        tmp_path / "plan" / "scenario.xlsx"
    )
    runs = CalamineWorkbook.from_path(str(tmp_path / "plan" / "comparison.xlsx"))
    assert [r[0] for r in runs.get_sheet_by_name("Runs").to_python()[1:]] == [
        "base",
        "stretch",
        "slow_market",
    ]


def _fill_registers(folder: Path) -> None:
    """Registers typed as a commissioner types them: labels, £ text, Y/N."""
    wb = openpyxl.load_workbook(folder / "placements.xlsx")
    ws = wb["Placements"]
    heads = [c.value for c in ws[1]]
    rows = [
        {"Person ID": "A1", "Provider": "Moorside", "Setting": "Inpatient",
         "Annual cost (£)": "£260,000"},
        {"Person ID": "A2", "Provider": "Far Homes", "Setting": "Out of area",
         "Weekly cost (£)": 3000, "Earliest move year": 2},
        {"Person ID": "A3", "Provider": "Elm House", "Setting": "residential",
         "Annual cost (£)": 70000, "Stay": "N"},
    ]  # fmt: skip
    for r, row in enumerate(rows, start=2):
        for key, value in row.items():
            ws.cell(row=r, column=heads.index(key) + 1, value=value)
    wb.save(folder / "placements.xlsx")
    wb = openpyxl.load_workbook(folder / "contracts.xlsx")
    contracts = {
        "Contract ID": "K1", "Provider": "Block Care", "Service": "Day services",
        "Annual value (£)": "£400,000", "Units": 8, "Minimum units": 4,
        "Notice (months)": 6, "Decommission cost per unit (£)": "£1,000",
    }  # fmt: skip
    heads = [c.value for c in wb["Contracts"][1]]
    for key, value in contracts.items():
        wb["Contracts"].cell(row=2, column=heads.index(key) + 1, value=value)
    heads = [c.value for c in wb["Members"][1]]
    for r, pid in enumerate(("B1", "B2"), start=2):
        wb["Members"].cell(row=r, column=heads.index("Contract ID") + 1, value="K1")
        wb["Members"].cell(row=r, column=heads.index("Person ID") + 1, value=pid)
    wb.save(folder / "contracts.xlsx")
    wb = openpyxl.load_workbook(folder / "allocations.xlsx")
    ws = wb["Allocations"]
    heads = [c.value for c in ws[1]]
    budgets = [("A1", 90000), ("A2", 120000), ("A3", 60000), ("B1", 30000), ("B2", 45000)]
    for r, (pid, budget) in enumerate(budgets, start=2):
        ws.cell(row=r, column=heads.index("Person ID") + 1, value=pid)
        ws.cell(row=r, column=heads.index("Indicative budget (£/year)") + 1, value=budget)
    wb.save(folder / "allocations.xlsx")


def _edit_scenario(path: Path, values: dict[str, Any], variants: list[list[Any]]) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb["Scenario"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in values:
            row[1].value = values[str(row[0].value)]
    for v in variants:
        wb["Variants"].append(v)
    for r in range(2, wb["Variants"].max_row + 1):  # drop the template's own variants
        if wb["Variants"].cell(row=r, column=1).value in ("stretch", "slow_market"):
            for c in range(1, 4):
                wb["Variants"].cell(row=r, column=c).value = None
    wb.save(path)


@pytest.mark.slow
def test_a_commissioners_first_hour(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    assert run(f"ras template registers {folder}", tmp_path).returncode == 0
    assert run(f"ras template scenario {folder / 'scenario.xlsx'}", tmp_path).returncode == 0
    _fill_registers(folder)
    scenario = folder / "scenario.xlsx"
    _edit_scenario(
        scenario,
        {
            "horizon": 3,
            "savings.rate": "4 %",
            "capacity.moves_per_year": 1,
            "transition.setup_cost": "£1,500",
            "objective": "Personalise",
        },
        [["tight", "savings.rate", "15%"], ["quick", "capacity.moves_per_year", "2; 2; 1"]],
    )
    r = run(f"ras optimise {scenario} --out {folder / 'plan.xlsx'} --json", tmp_path)
    assert r.returncode in (0, 3), r.stderr
    # The plan is the best of every plan of the case (brute force, SPEC §9).
    data, _ = load_inputs(load_scenario(scenario))
    e = every_plan(data)
    tol = 1e-6 * float(sum(data.baseline)) + 0.01
    feasible = e["allowed"] & (e["shortfall"] <= tol)
    summary = json.loads(r.stdout)
    assert summary["people_moved"] >= 2  # the case is not trivial
    if feasible.any():
        assert r.returncode == 0
        assert float(summary["person_years"]) == float(e["py"][feasible].max())
    else:
        assert r.returncode == 3
    r = run(
        f"ras compare {scenario} --out {folder / 'cmp.xlsx'} --set savings.rate=0% --json",
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    runs = {x["name"]: x for x in json.loads(r.stdout)["runs"]}
    assert set(runs) == {"base", "tight", "quick"}
    assert all(x["target_met"] for x in runs.values())  # --set wins over "tight"'s 15 %
    only = run(f"ras compare {scenario} --out {folder / 'q.xlsx'} --variant quick --json", tmp_path)
    assert [x["name"] for x in json.loads(only.stdout)["runs"]] == ["base", "quick"]
    assert int(runs["quick"]["moves"]) >= int(runs["base"]["moves"])
    for a, b in (("scenario.xlsx", "s.yaml"), ("s.yaml", "s2.xlsx")):
        r = run(f"ras scenario convert {folder / a} {folder / b}", tmp_path)
        assert r.returncode == 0, r.stderr
    assert canonical_scenario(folder / "s2.xlsx") == canonical_scenario(scenario)
    assert np.isfinite(e["py"]).all()
