"""Transition (SPEC §13): hand-worked protection, band edges, a property, the workbook."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ras.cli import main
from ras.commands.demo import write_assessments
from ras.commands.score import run_score
from ras.commands.transition import run_transition
from ras.io.table_file import load_table, save_table
from ras.models.table import PointTable
from ras.models.transition import Policy
from ras.scoring.budgets import compute_budget
from ras.transition.protection import band_of, protected_years
from tests.helpers import recalculate, soffice

D = Decimal


def policy(**keys: object) -> Policy:
    return Policy.model_validate(keys)


def test_a_30_percent_cut_under_a_10_percent_cap_over_three_years() -> None:
    years, status = protected_years(D(10000), D(7000), policy(cuts={"max_percent_per_year": 10}),
                                    D(1), need_fell=False)  # fmt: skip
    assert years == (D(9000), D(8100), D(7290)) and status == "protected"


def test_the_cap_starts_from_last_years_rounded_budget() -> None:
    years, _ = protected_years(
        D(1001), D(700), policy(cuts={"max_percent_per_year": 10}), D(10), need_fell=False
    )
    # 1001 x 0.9 = 900.9 -> 900; 900 x 0.9 = 810; 810 x 0.9 = 729 -> 730
    assert years == (D(900), D(810), D(730))


def test_a_cut_phased_in_and_a_phased_rise() -> None:
    cut, _ = protected_years(D(10000), D(7000), policy(cuts={"phase_in_years": 2}), D(1), False)
    assert cut == (D(8500), D(7000), D(7000))
    rise, status = protected_years(
        D(10000), D(13000), policy(rises={"phase_in_years": 3}), D(1), False
    )
    assert rise == (D(11000), D(12000), D(13000)) and status == "rise phased over 3 years"
    at_once, _ = protected_years(D(10000), D(13000), policy(), D(1), False)
    assert at_once == (D(13000),) * 3


def test_a_person_whose_need_fell_and_a_cut_within_the_cap() -> None:
    p = policy(cuts={"max_percent_per_year": 10}, protect_when_need_fell=False)
    years, status = protected_years(D(10000), D(7000), p, D(1), need_fell=True)
    assert years == (D(7000),) * 3 and status == "not protected (need fell)"
    kept, status = protected_years(D(10000), D(7000), policy(cuts={"max_percent_per_year": 10}),
                                   D(1), need_fell=True)  # fmt: skip
    assert kept[0] == D(9000) and status == "protected"  # the default protects them
    small, status = protected_years(D(10000), D(9500), policy(cuts={"max_percent_per_year": 10}),
                                    D(1), need_fell=False)  # fmt: skip
    assert small == (D(9500),) * 3 and status == "not protected (not needed)"


def test_no_old_budget() -> None:
    years, status = protected_years(D(0), D(5000), policy(cuts={"max_percent_per_year": 10}),
                                    D(1), False)  # fmt: skip
    assert years == (D(5000),) * 3 and status == "new budget"
    assert band_of(D(0), D(5000)) == "new"


@pytest.mark.parametrize(
    ("new", "band"),
    [
        (79, "down 20 % or more"),
        (80, "down 20 % or more"),
        (81, "down 10–20 %"),
        (90, "down 10–20 %"),
        (91, "down under 10 %"),
        (100, "unchanged"),
        (109, "up under 10 %"),
        (110, "up 10–20 %"),
        (119, "up 10–20 %"),
        (120, "up 20 % or more"),
    ],
)
def test_band_edges(new: int, band: str) -> None:
    assert band_of(D(100), D(new)) == band


def test_both_cut_rules_are_an_error() -> None:
    with pytest.raises(ValueError, match="not both"):
        policy(cuts={"max_percent_per_year": 10, "phase_in_years": 3})


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 200_000),
    st.integers(0, 200_000),
    st.sampled_from([5, 10, 25]),
    st.sampled_from([1, 10, 50]),
    st.integers(1, 6),
)
def test_no_protected_budget_falls_more_than_the_cap_in_a_year(
    old: int, new: int, cap: int, step: int, years: int
) -> None:
    rounding = D(step)
    n = (D(new) / rounding).to_integral_value() * rounding  # new budgets are rounded
    p = policy(years=years, cuts={"max_percent_per_year": cap})
    got, _ = protected_years(D(old), n, p, rounding, need_fell=False)
    previous = D(old)
    for b in got:
        assert b >= previous * (1 - D(cap) / 100) - rounding / 2  # half a step of rounding
        assert b >= n
        if n < old:
            assert b <= previous + rounding / 2  # an old budget off the step can round up
        previous = b


TABLE = """\
ras_table: 1
name: T
version: "{version}"
rounding: 1
person_fields:
  - id: group
    label: Group
    options: [{{id: a, label: Group A}}, {{id: b, label: Group B}}]
domains:
  - id: d
    label: D
    questions:
      - {{id: Q1, text: q1, answers: {{none: 0, some: {q1_some}, lots: 20}}}}
      - {{id: Q2, text: q2, answers: {{none: 0, some: 5, lots: 10}}}}
allocation: {{method: rate, rate: {rate}}}
"""


def _tables(tmp_path: Path) -> tuple[PointTable, PointTable]:
    (tmp_path / "old.yaml").write_text(TABLE.format(version="1", q1_some=8, rate=100), "utf-8")
    (tmp_path / "new.yaml").write_text(TABLE.format(version="2", q1_some=12, rate=90), "utf-8")
    return load_table(tmp_path / "old.yaml"), load_table(tmp_path / "new.yaml")


def _people(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["Person ID,group,Q1,Q2"] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ids_that_differ_by_a_slip_are_pointed_out(tmp_path: Path) -> None:
    """OLD kept in Excel with the IDs as numbers: 0042 became 42, and the person was
    counted as leaving and as joining without a word."""
    _, new_t = _tables(tmp_path)
    rows = [("0042", "a", "some", "none"), ("P2", "b", "lots", "lots"), ("P3", "a", "none", "some")]
    run_score([_people(tmp_path / "n.csv", rows)], new_t, tmp_path / "new.xlsx", jobs=0)
    (tmp_path / "old.csv").write_text(
        "Person ID,Current budget (£/year)\n42,900\np2,3000\nP3,500\nGONE,100\n", "utf-8"
    )
    out = tmp_path / "t.xlsx"
    r = CliRunner().invoke(
        main, ["transition", str(tmp_path / "old.csv"), str(tmp_path / "new.xlsx"), "-o", str(out),
               "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    said = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert [line.split(": ", 2)[2] for line in said] == [
        "Person ID '42' is only in OLD, and '0042' only in NEW (if they are one person, make "
        "the IDs the same; Excel drops the leading zeros of an ID typed as a number, so format "
        "the column as Text)",
        "Person ID 'p2' is only in OLD, and 'P2' only in NEW (if they are one person, make "
        "the IDs the same; Excel drops the leading zeros of an ID typed as a number, so format "
        "the column as Text)",
    ]  # GONE has no one like it in NEW
    summary = json.loads(r.stdout)
    assert (summary["matched"], summary["only_old"], summary["only_new"]) == (1, 3, 2)
    assert len(summary["warnings"]) == 2


def test_a_transition_workbook_read_back(tmp_path: Path) -> None:
    old_t, new_t = _tables(tmp_path)
    rows = [("P1", "a", "some", "none"), ("P2", "b", "lots", "lots"), ("P3", "a", "none", "some")]
    old = run_score([_people(tmp_path / "o.csv", rows + [("GONE", "a", "some", "some")])],
                    old_t, tmp_path / "old.xlsx", jobs=0)  # fmt: skip
    # In NEW, P3's answer to Q2 changed; NEWBIE is new.
    rows_new = [*rows[:2], ("P3", "a", "none", "lots"), ("NEWBIE", "b", "some", "none")]
    run_score([_people(tmp_path / "n.csv", rows_new)], new_t, tmp_path / "new.xlsx", jobs=0)
    (tmp_path / "p.yaml").write_text(
        "ras_policy: 1\nyears: 2\ncuts: {max_percent_per_year: 10}\n", encoding="utf-8"
    )
    out = tmp_path / "transition.xlsx"
    r = CliRunner().invoke(
        main,
        ["transition", str(tmp_path / "old.xlsx"), str(tmp_path / "new.xlsx"), "-o", str(out),
         "--policy", str(tmp_path / "p.yaml"), "-t", str(tmp_path / "new.yaml"), "--json", "-q"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["matched"], summary["only_old"], summary["only_new"]) == (3, 1, 1)
    assert sum(b["people"] for b in summary["bands"].values()) == 3
    assert old.run.scored
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["Summary", "People", "Policy", "Run"]
    people = wb.get_sheet_by_name("People").to_python()
    head = people[0]
    by = {row[0]: dict(zip(head, row, strict=True)) for row in people[1:]}
    assert head[:2] == ["Person ID", "Group"]
    assert by["P1"]["Group"] == "Group A"
    # P1: 8 points x 100 = 800 -> 12 points x 90 = 1,080: up 20 % or more, at once
    assert (by["P1"]["Old budget (£)"], by["P1"]["New budget (£)"]) == (800, 1080)
    assert by["P1"]["Band"] == "up 20 % or more" and by["P1"]["Year 1 (£)"] == 1080
    # P2: 30 points: 3,000 -> 2,700 (-10 %): within the cap, not protected
    assert by["P2"]["Band"] == "down 10–20 %"
    assert by["P2"]["Protection"] == "not protected (not needed)"
    # P3: 5 -> 10 points: 500 -> 900; the answer that changed and its effect
    assert by["P3"]["Answers that changed"] == "Q2: some → lots (+5 points)"
    assert by["GONE"]["Band"] == "only in OLD" and by["NEWBIE"]["Band"] == "only in NEW"
    policy_rows = dict(wb.get_sheet_by_name("Policy").to_python()[1:])
    assert policy_rows["cuts.max_percent_per_year"] == "10"
    # Printed, a fall in money reads as one: "-£300.00", not "£-300.00".
    printed = CliRunner().invoke(
        main,
        ["transition", str(tmp_path / "old.xlsx"), str(tmp_path / "new.xlsx"), "-o",
         str(tmp_path / "again.xlsx"), "--policy", str(tmp_path / "p.yaml")],
    )  # fmt: skip
    assert "  down 10–20 %: 1 (-£300.00)" in printed.output.splitlines(), printed.output


def test_affordability_with_protection(tmp_path: Path) -> None:
    old_t, new_t = _tables(tmp_path)
    rows = [(f"P{i}", "ab"[i % 2], ["none", "some", "lots"][i % 3], ["none", "some", "lots"][i % 2])
            for i in range(12)]  # fmt: skip
    old = run_score([_people(tmp_path / "o.csv", rows)], old_t, tmp_path / "old.xlsx", jobs=0)
    run_score([_people(tmp_path / "n.csv", rows)], new_t, tmp_path / "new.xlsx", jobs=0)
    budget = sum(s.budget.annual for s in old.run.scored) * D("0.98")  # between the cap and 0
    (tmp_path / "p.yaml").write_text(
        f"cuts: {{max_percent_per_year: 5}}\naffordability: {{budget: '£{budget:,}', "
        "contingency: 0%}\n",
        encoding="utf-8",
    )
    outcome = run_transition(tmp_path / "old.xlsx", tmp_path / "new.xlsx", None,
                             policy_path=tmp_path / "p.yaml", table=new_t)  # fmt: skip
    assert outcome.scale is not None and outcome.rate is not None
    year_one = sum(p.years[0] for p in outcome.people)
    assert year_one <= budget
    # The new budgets are NEW re-scored at the scale found.
    for p in outcome.people:
        assert p.new == compute_budget(new_t, _answers(rows, p.person_id), {}, scale=outcome.scale,
                                       explain=False).annual  # fmt: skip
    # A little more would not fit: the scale is the largest that does.
    bigger = outcome.scale * D("1.01")
    total = D(0)
    for p in outcome.people:
        n = compute_budget(new_t, _answers(rows, p.person_id), {}, scale=bigger, explain=False)
        years, _ = protected_years(p.old, n.annual, outcome.policy, outcome.rounding, False)
        total += years[0]
    assert total > budget


def test_money_that_even_a_rate_of_0_overspends_is_not_called_affordable(
    tmp_path: Path,
) -> None:
    old_t, new_t = _tables(tmp_path)
    rows = [("P1", "a", "lots", "lots"), ("P2", "b", "some", "lots")]
    run_score([_people(tmp_path / "o.csv", rows)], old_t, tmp_path / "old.xlsx", jobs=0)
    run_score([_people(tmp_path / "n.csv", rows)], new_t, tmp_path / "new.xlsx", jobs=0)
    base = ["transition", str(tmp_path / "old.xlsx"), str(tmp_path / "new.xlsx"),
            "-o", str(tmp_path / "t.xlsx"), "-t", str(tmp_path / "new.yaml")]  # fmt: skip
    # The 5 % cap keeps year 1 near the old budgets: £100 cannot pay for it at any rate.
    (tmp_path / "p.yaml").write_text(
        "cuts: {max_percent_per_year: 5}\naffordability: {budget: 100, contingency: 0}\n",
        encoding="utf-8",
    )
    r = CliRunner().invoke(main, [*base, "--policy", str(tmp_path / "p.yaml"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["affordable"] is False
    assert "NOT AFFORDABLE: even at a rate of 0 the year-1 budgets" in r.stderr
    assert "above the affordable £100.00" in r.stderr
    assert "affordable: the new table's rate" not in r.stderr  # it said so, at a rate of 0
    summary = CalamineWorkbook.from_path(str(tmp_path / "t.xlsx")).get_sheet_by_name("Summary")
    assert "NOT AFFORDABLE" in [row[0] for row in summary.to_python()]
    # Less than no money is a slip (as calibrate's --budget), not a rate of 0.
    (tmp_path / "p.yaml").write_text("affordability: {budget: -5}\n", encoding="utf-8")
    r = CliRunner().invoke(main, [*base, "--policy", str(tmp_path / "p.yaml")])
    assert r.exit_code == 1 and "affordability.budget: must be 0 or more" in r.output


def _answers(rows: list[tuple[str, str, str, str]], pid: str) -> dict[str, str]:
    row = next(r for r in rows if r[0] == pid)
    return {"Q1": row[2], "Q2": row[3]}


def test_usage_and_policy_errors(tmp_path: Path) -> None:
    old_t, new_t = _tables(tmp_path)
    rows = [("P1", "a", "some", "none")]
    run_score([_people(tmp_path / "n.csv", rows)], new_t, tmp_path / "new.xlsx", jobs=0)
    (tmp_path / "reg.csv").write_text(
        "Person ID,Current budget (£/year),Group\nP1,£1,000,Group A\nX,500,b\n", encoding="utf-8"
    )
    (tmp_path / "aff.yaml").write_text("affordability: {budget: 1000}\n", encoding="utf-8")
    (tmp_path / "both.yaml").write_text(
        "cuts: {max_percent_per_year: 10, phase_in_years: 2}\n", encoding="utf-8"
    )
    base = ["transition", str(tmp_path / "reg.csv"), str(tmp_path / "new.xlsx"),
            "-o", str(tmp_path / "t.xlsx")]  # fmt: skip
    r = CliRunner().invoke(main, [*base, "--policy", str(tmp_path / "aff.yaml")])
    assert r.exit_code == 2 and "give --table" in r.output
    r = CliRunner().invoke(main, [*base, "--policy", str(tmp_path / "both.yaml")])
    assert r.exit_code == 1 and "not both" in r.output and "both.yaml" in r.output
    assert not (tmp_path / "t.xlsx").exists()
    # A register with a quoted money value and a person only in OLD; its headings typed
    # as a finance system exports them (they were "no row with both a 'Person ID' and ...")
    (tmp_path / "reg.csv").write_text(
        'person_id,Current budget £,Group\nP1,"£1,000",Group A\nX,500,b\n', encoding="utf-8"
    )
    r = CliRunner().invoke(main, [*base, "-t", str(tmp_path / "new.yaml"), "--json", "-q"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["matched"], summary["only_old"]) == (1, 1)
    # The same register as Excel saves "CSV (Comma delimited)" on a Windows machine in
    # much of Europe: cp1252 (the £ is one byte) and semicolons. It was refused as "not
    # UTF-8 text", where the same file of people was scored.
    (tmp_path / "reg.csv").write_bytes(
        'Person ID;Current budget (£/year);Group\r\nP1;"£1,000";Group A\r\nX;500;b\r\n'.encode(
            "cp1252"
        )
    )
    r = CliRunner().invoke(main, [*base, "-t", str(tmp_path / "new.yaml"), "--json", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == summary
    # A budget above £100,000,000,000 is a slip, named with its cell (it was taken).
    (tmp_path / "reg.csv").write_text(
        "Person ID,Current budget (£/year),Group\nP1,1e300,Group A\n", encoding="utf-8"
    )
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 1 and "cell B2: '1e300' is not a budget" in r.output, r.output
    # A finance system's export: a title above the header, headings in its own case, the
    # budget's without "(£/year)". It was "row 1: no 'Person ID' ... column".
    export = 'Current budgets at 1 April,,\n,,\nPERSON ID,Current Budget,Group\nP1,"£1,000",A\n'
    (tmp_path / "reg.csv").write_text(export + "X,500,b\nP2,1e300,c\n", encoding="utf-8")
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 1 and "cell B6: '1e300' is not a budget" in r.output, r.output
    (tmp_path / "reg.csv").write_text(export + "X,500,b\n", encoding="utf-8")
    r = CliRunner().invoke(main, [*base, "-t", str(tmp_path / "new.yaml"), "--json", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == summary
    (tmp_path / "reg.csv").write_text("ID,Budget\nP1,1000\n", encoding="utf-8")
    r = CliRunner().invoke(main, base)
    assert r.exit_code == 1, r.output
    assert "no row with both a 'Person ID' and a 'Current budget (£/year)' column" in r.output
    assert "row 1's columns are: ID, Budget" in r.output
    save_table(new_t, tmp_path / "copy.yaml")  # the table is untouched by all this
    assert load_table(tmp_path / "copy.yaml") == new_t


def test_the_demo_writes_a_transition(tmp_path: Path) -> None:
    table = load_table(Path(__file__).resolve().parent.parent / "ras" / "data" / "tables"
                       / "adult-social-care.yaml")  # fmt: skip
    write_assessments(table, tmp_path / "in", 5)
    run_score([tmp_path / "in"], table, tmp_path / "a.xlsx", jobs=0)
    outcome = run_transition(tmp_path / "a.xlsx", tmp_path / "a.xlsx", tmp_path / "t.xlsx",
                             table=table)  # fmt: skip
    assert {p.band for p in outcome.people} == {"unchanged"}
    assert outcome.field_labels["client_group"] == "Client group"


def test_budget_sheets_show_the_change_from_a_previous_budget(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    old_t, new_t = _tables(tmp_path)
    rows = [("P1", "a", "lots", "lots"), ("P2", "b", "some", "none")]
    run_score([_people(tmp_path / "o.csv", rows)], old_t, tmp_path / "old.xlsx", jobs=0)
    (tmp_path / "p.yaml").write_text("cuts: {max_percent_per_year: 5}\n", encoding="utf-8")
    changed = [("P1", "a", "lots", "some"), rows[1]]
    run_score(
        [_people(tmp_path / "n.csv", changed)],
        new_t,
        tmp_path / "new.xlsx",
        budget_sheets=tmp_path / "sheets",
        previous=tmp_path / "old.xlsx",
        policy=tmp_path / "p.yaml",
        jobs=0,
    )
    page = load_workbook(tmp_path / "sheets" / "P1.xlsx")["Indicative budget"]
    text = {str(c.value) for row in page.iter_rows() for c in row if c.value is not None}
    # P1: 30 points x 100 = 3,000 before; 25 points x 90 = 2,250 now (-25 %); a 5 % cap
    assert "Your previous budget" in text and "What you will receive this year" in text
    values = [c.value for row in page.iter_rows() for c in row]
    assert 3000 in values and -750 in values and 2850 in values
    assert "Your answer to Q2 changed from lots to some (−5 points)" in text


def test_a_previous_budget_under_an_id_that_lost_its_zeros_is_pointed_out(tmp_path: Path) -> None:
    """--previous kept in Excel with the IDs as numbers: the sheet of person 0042 showed
    no previous budget, without a word."""
    _, new_t = _tables(tmp_path)
    (tmp_path / "old.csv").write_text("Person ID,Current budget (£/year)\n42,900\n", "utf-8")
    out = tmp_path / "new.xlsx"
    outcome = run_score(
        [_people(tmp_path / "n.csv", [("0042", "a", "some", "none")])],
        new_t,
        out,
        budget_sheets=tmp_path / "sheets",
        previous=tmp_path / "old.csv",
        jobs=0,
    )
    said = [w.one_line() for w in outcome.run.warnings]
    assert said == [
        f"{tmp_path / 'old.csv'}: Person ID '42' is only in --previous, and '0042' scored but "
        "not in --previous (if they are one person, make the IDs the same; Excel drops the "
        "leading zeros of an ID typed as a number, so format the column as Text)"
    ]
    listed = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Warnings").to_python()
    assert any("'42' is only in --previous" in str(row) for row in listed)


@pytest.mark.parametrize(("typed", "percent"), [("10%", "10"), (" 12.5 % ", "12.5"), (10, "10")])
def test_a_cap_in_percent_may_carry_its_percent_sign(typed: object, percent: str) -> None:
    """`max_percent_per_year: 10%` was "not a number" on a key that is in percent."""
    cap = Policy.model_validate({"cuts": {"max_percent_per_year": typed}}).cuts
    assert cap is not None and cap.max_percent_per_year == Decimal(percent)


def test_a_cap_below_one_percent_written_as_a_rate_is_refused(tmp_path: Path) -> None:
    """`0.1` (ten percent, as ras's rates are written) quietly meant a cap of 0.1 % a year:
    on the demo, about four times the cost of protection."""
    from ras.errors import ConfigError
    from ras.io.transition_files import load_policy

    path = tmp_path / "p.yaml"
    path.write_text("cuts: {max_percent_per_year: 0.1}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_policy(path)
    assert str(err.value) == (
        f"{path}: line 1: cuts.max_percent_per_year: 0.1 is 0.1 %: this key is in percent, "
        "so write 10 for 10 %, or 0.1% if 0.1 % is meant"
    )
    path.write_text("cuts: {max_percent_per_year: 0.5%}\n", encoding="utf-8")
    cuts = load_policy(path).cuts
    assert cuts is not None and cuts.max_percent_per_year == Decimal("0.5")


def test_an_affordability_contingency_of_everything_is_refused() -> None:
    """100 % held back left £0 to spend: "NOT AFFORDABLE" for any budget."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="below 100 %"):
        Policy.model_validate({"affordability": {"budget": 1000, "contingency": "100%"}})


def _three_scored(folder: Path, table: PointTable) -> Path:
    """allocations.xlsx of P1, P2 and P3 (current costs £1,000, £2,000 and £3,000)."""
    from tests.hostile import GOOD_ANSWERS

    head = ["Person ID", "Client group", "Current annual cost", *GOOD_ANSWERS]
    lines = [",".join(head)] + [
        ",".join([f"P{n}", "older_people", str(1000 * n), *GOOD_ANSWERS.values()])
        for n in range(1, 4)
    ]
    (folder / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    new = folder / "new.xlsx"
    run_score([folder / "people.csv"], table, new, jobs=0)
    return new


def test_a_person_id_a_spreadsheet_took_for_a_date_is_warned_of(
    tmp_path: Path, adult: PointTable
) -> None:
    """A finance lead's register of current budgets with an ID such as 1-12 typed into a
    General cell: read as '2026-12-01', it matched no one, and nothing said why."""
    import datetime as dt

    from openpyxl import Workbook

    new = _three_scored(tmp_path, adult)
    register = Workbook()
    register.active.append(["Person ID", "Current budget (£/year)"])
    register.active.append(["P1", 900])
    register.active.append([dt.datetime(2026, 12, 1), 3000])
    register.save(tmp_path / "register.xlsx")
    outcome = run_transition(tmp_path / "register.xlsx", new, None)
    said = [(w.code, w.where.cell, w.person_id, w.problem) for w in outcome.warnings]
    assert said[0] == (
        "id-is-a-date",
        "A3",
        "2026-12-01",
        "the Person ID is a date or time (2026-12-01): a spreadsheet turns an ID such as 1-12 "
        "into one, and it then matches no one else's",
    )
    assert [w.code for w in outcome.warnings[1:]] == []  # no near match: P2 and P3 are far


def test_a_totals_row_or_a_repeated_person_is_named_at_its_cell(
    tmp_path: Path, adult: PointTable
) -> None:
    """A finance lead's `Total` row at the foot of OLD was read as a person called Total
    (counted as someone who had left), and a current cost column, read back without the
    table, was broken down on the Summary one row per amount."""
    from openpyxl import load_workbook

    from ras.errors import InputError
    from ras.io.allocations import read_allocated

    new = _three_scored(tmp_path, adult)
    r = CliRunner().invoke(main, ["transition", str(new), str(new), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 0, r.output
    wb = CalamineWorkbook.from_path(str(tmp_path / "t.xlsx"))
    groups = [row[0] for row in wb.get_sheet_by_name("Summary").to_python()]
    assert "By client group" in groups and "By current annual cost" not in groups
    people = wb.get_sheet_by_name("People").to_python()
    assert [row[people[0].index("Current annual cost")] for row in people[1:]] == [1000, 2000, 3000]

    book = load_workbook(new)
    book["Allocations"].append([])
    book["Allocations"].append(["Total", None, None, None])
    sheet = book["Allocations"]
    budget = [c.value for c in sheet[1]].index("Indicative budget (£/year)") + 1
    letter = sheet.cell(1, budget).column_letter
    sheet.cell(6, budget, f"=SUM({letter}2:{letter}4)")
    book.save(tmp_path / "old.xlsx")
    recalculated = recalculate([tmp_path / "old.xlsx"], tmp_path / "calc")[0] if soffice() else None
    for old in [tmp_path / "old.xlsx", recalculated]:
        if old is None:
            continue
        r = CliRunner().invoke(
            main, ["transition", str(old), str(new), "-o", str(tmp_path / "x.xlsx")]
        )
        assert r.exit_code == 1, r.output
        assert (
            f"{old}: sheet 'Allocations', cell A6: Person ID 'Total' is a totals row, not a "
            "person; delete the row (ras adds the budgets up itself)"
        ) in r.output
        with pytest.raises(InputError, match="cell A6: Person ID 'Total' is a totals row"):
            read_allocated(old)
    (tmp_path / "old.csv").write_text(
        "Person ID,Current budget (£/year)\nP1,900\nP2,3000\nP1,500\n", "utf-8"
    )
    r = CliRunner().invoke(
        main, ["transition", str(tmp_path / "old.csv"), str(new), "-o", str(tmp_path / "x.xlsx")]
    )
    assert r.exit_code == 1, r.output
    assert "old.csv: cell A4: Person ID 'P1' appears twice (first at row 2)" in r.output


def test_a_cell_showing_an_error_in_allocations_or_a_register_is_named(
    tmp_path: Path, adult: PointTable
) -> None:
    """A finance lead fills in current costs with a look-up: #N/A where it finds no one.
    Such a cell read as empty: calibration quietly left the person out of its sample, a
    register of current budgets lost their budget, and a #N/A over a Person ID dropped
    the row."""
    from openpyxl import Workbook, load_workbook

    from ras.errors import InputError
    from ras.io.allocations import read_allocated, read_scored_people

    new = _three_scored(tmp_path, adult)
    assert len(read_scored_people(new, adult)) == 3
    book = load_workbook(new)
    sheet = book["Allocations"]
    heads = [c.value for c in sheet[1]]
    cost = sheet.cell(3, heads.index("Current annual cost") + 1)
    cost.value = "#N/A"  # P2's cost: openpyxl saves an error value, as a paste of values does
    book.save(tmp_path / "old.xlsx")
    with pytest.raises(InputError) as err:
        read_scored_people(tmp_path / "old.xlsx", adult)
    assert str(err.value) == (
        f"{tmp_path / 'old.xlsx'}, sheet 'Allocations', cell {cost.coordinate}: the cell shows "
        "the error '#N/A' instead of a value; correct the formula or its look-up, or type the "
        "value"
    )
    assert len(read_allocated(tmp_path / "old.xlsx")[0]) == 3  # the plan reads no costs here
    sheet.cell(4, heads.index("Person ID") + 1).value = "#REF!"
    book.save(tmp_path / "old.xlsx")
    with pytest.raises(InputError, match=r"cell A4: the cell shows the error '#REF!'"):
        read_allocated(tmp_path / "old.xlsx")
    register = Workbook()
    register.active.append(["Person ID", "Current budget (£/year)"])
    register.active.append(["P1", 900])
    register.active.append(["P2", "#N/A"])
    register.save(tmp_path / "register.xlsx")
    r = CliRunner().invoke(
        main,
        ["transition", str(tmp_path / "register.xlsx"), str(new), "-o", str(tmp_path / "x.xlsx")],
    )
    assert r.exit_code == 1, r.output
    assert "register.xlsx, cell B3: the cell shows the error '#N/A' instead of a value" in r.output
    assert not (tmp_path / "x.xlsx").exists()


def test_every_bad_row_of_a_register_of_budgets_is_named_at_once(tmp_path: Path) -> None:
    """A register of current budgets with several slips was refused at the first one
    (`-500`): the user fixed it, ran again, met the next. Now every bad row is named in
    one run, each with its cell; nothing is written."""
    _, new_t = _tables(tmp_path)
    run_score([_people(tmp_path / "n.csv", [("P1", "a", "some", "none")])], new_t,
              tmp_path / "new.xlsx", jobs=0)  # fmt: skip
    rows = ["P1,-500", "P2,", "P2,300", "P3,abc", "P4,1200"]
    (tmp_path / "reg.csv").write_text(
        "Person ID,Current budget (£/year)\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    out = tmp_path / "t.xlsx"
    args = ["transition", str(tmp_path / "reg.csv"), str(tmp_path / "new.xlsx"), "-o", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {tmp_path / 'reg.csv'}: cell B2: '-500' is not a budget; give the yearly "
        "amount in pounds",
        f"error: {tmp_path / 'reg.csv'}: cell B3: the budget is empty; give the yearly "
        "amount in pounds (0 for none)",
        f"error: {tmp_path / 'reg.csv'}: cell A4: Person ID 'P2' appears twice (first at "
        "row 3); keep one row per person",
        f"error: {tmp_path / 'reg.csv'}: cell B5: 'abc' is not a budget; give the yearly "
        "amount in pounds",
    ]
    assert not out.exists()
    # Hundreds of bad rows: the first 50 named, the rest counted.
    many = "".join(f"Q{n},x\n" for n in range(120))
    (tmp_path / "reg.csv").write_text("Person ID,Current budget (£/year)\n" + many, "utf-8")
    r = CliRunner().invoke(main, args)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1 and len(errors) == 51, r.output
    assert errors[-1] == "error: ... and 70 more problems in the same file"
    assert not out.exists()
