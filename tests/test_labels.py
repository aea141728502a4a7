"""Labels face people, ids stay in files (SPEC §15): options and funding streams."""

from __future__ import annotations

from pathlib import Path

from python_calamine import CalamineWorkbook

from ras.commands.score import run_score
from ras.io.allocations import read_scored_people
from ras.io.table_file import load_table
from ras.models.table import PointTable
from tests.helpers import write_assessment
from tests.hostile import GOOD_ANSWERS

ANSWERS = GOOD_ANSWERS


def test_an_option_by_label_or_id_scores_the_same_and_outputs_show_the_label(
    tmp_path: Path, adult: PointTable
) -> None:
    field = adult.field("client_group")
    assert field is not None and field.shown("older_people") == "Older people"
    (tmp_path / "in").mkdir()
    inputs = [
        write_assessment(
            tmp_path / "in" / f"{pid}.xlsx", {"Person ID": pid, "Client group": value}, ANSWERS
        )
        for pid, value in (("A", "Older people"), ("B", "older_people"), ("C", "OLDER PEOPLE"))
    ]
    out = tmp_path / "allocations.xlsx"
    outcome = run_score(inputs, adult, out, jobs=0)
    budgets = {s.assessment.person_id: s.budget.annual for s in outcome.run.scored}
    assert len(set(budgets.values())) == 1 and len(budgets) == 3
    assert {s.assessment.fields["client_group"] for s in outcome.run.scored} == {"older_people"}
    # older people's own rate (210 a point), not the table's 250
    assert outcome.run.scored[0].budget.rate == 210
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Allocations").to_python()
    col = rows[0].index("Client group")
    assert {r[col] for r in rows[1:]} == {"Older people"}
    assert "Funding: Social care (£)" in rows[0]
    summary = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Summary").to_python()
    assert any(r[:1] == ["Older people"] for r in summary)
    assert any(r[:1] == ["Social care"] for r in summary)
    # Read back (for calibration), the label is the id again.
    people = read_scored_people(out, adult)
    assert {p.fields["client_group"] for p in people} == {"older_people"}


def test_a_table_may_key_rates_by_label(tmp_path: Path) -> None:
    text = """\
ras_table: 1
name: L
version: "1"
person_fields:
  - id: group
    label: Group
    options: [{id: ld, label: Learning disability}, {id: op, label: Older people}]
funding_streams: [{id: sc, label: Social care}]
domains:
  - {id: d, label: D, funding: sc, questions: [{id: Q1, text: q, answers: {a: 0, b: 10}}]}
allocation: {method: rate, rate: 100, rates_by: group, rates: {Older people: 50}}
"""
    (tmp_path / "t.yaml").write_text(text, encoding="utf-8")
    table = load_table(tmp_path / "t.yaml")
    assert table.stream_label("sc") == "Social care"
    from ras.scoring.budgets import compute_budget

    older = compute_budget(table, {"Q1": "b"}, {"group": "op"}, explain=False)
    other = compute_budget(table, {"Q1": "b"}, {"group": "ld"}, explain=False)
    assert (older.annual, other.annual) == (500, 1000)
    bad = text.replace("{id: sc, label: Social care}", "{id: health, label: Health}")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    import pytest

    from ras.errors import ConfigError

    with pytest.raises(ConfigError, match="'health' is not the funding of any domain"):
        load_table(tmp_path / "bad.yaml")
