"""The Python API (``import ras``): the README's example as a script, scripts without a
``__main__`` guard, and DataFrames that match the workbooks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

import ras
from tests.conftest import Demo

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _python(script: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_the_readme_api_example_runs_as_a_script(tmp_path: Path, demo: Demo) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"After `ras demo`, from the repository:\n\n```python\n(.*?)```", text, re.S)
    assert match, "the README's Python example"
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(demo.folder, tmp_path / "ras-demo")
    script = tmp_path / "example.py"
    script.write_text(match.group(1), encoding="utf-8")
    r = _python(script, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "RuntimeError" not in r.stderr
    assert "OPTIMAL" in r.stdout
    assert "2027/28" in r.stdout  # the plan's years table


def test_a_script_without_a_main_guard_gets_every_result(tmp_path: Path) -> None:
    """pandas (numpy's threads) first, so workers cannot be forked: they start from a
    forkserver, which without ras's care would re-run this script in each worker."""
    folder = tmp_path / "in"
    from ras.commands.demo import write_assessments

    table_path = ROOT / "templates" / "xlsx" / "table-adult-social-care.xlsx"
    write_assessments(ras.load_table(table_path), folder, 9)
    script = tmp_path / "s.py"
    script.write_text(
        "import pandas\n"
        "import ras\n"
        f"table = ras.load_table({str(table_path)!r})\n"
        f"run = ras.score({str(folder)!r}, table, jobs=2)\n"
        "print('scored', len(run.scored))\n",
        encoding="utf-8",
    )
    r = _python(script, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "scored 9" in r.stdout
    assert "Traceback" not in r.stderr and "RuntimeError" not in r.stderr


def test_frames_match_the_workbook(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    out = tmp_path / "plan.xlsx"
    outcome = ras.optimise(
        tmp_path / "scenarios" / "example.yaml", set={"savings.rate": "2%"}, out=out
    )
    assert outcome.loaded.scenario.savings.rate == Decimal("0.02")
    frames = ras.frames(outcome)
    wb = CalamineWorkbook.from_path(str(out))
    for sheet in ("Moves", "Contracts", "Spend"):
        rows = wb.get_sheet_by_name(sheet).to_python()
        frame = frames[sheet]
        assert list(frame.columns) == rows[0]
        assert len(frame) == len(rows) - 1
        for got, want in zip(frame.itertuples(index=False), rows[1:], strict=True):
            assert [str(g) if isinstance(g, str) else float(g) for g in got] == [
                w if isinstance(w, str) else float(w) for w in want
            ]
    values = ras.load_scenario(tmp_path / "scenarios" / "example.yaml", "stretch").values()
    assert ("savings.rate", "0.06") in {(k, v) for k, v, _, _ in values if isinstance(v, str)}
