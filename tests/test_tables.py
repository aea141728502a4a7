from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ras.errors import ConfigError, InputError
from ras.io.table_file import fingerprint, load_table, save_table, table_to_yaml
from ras.models.table import PointTable
from tests.conftest import ROOT

MINIMAL = """\
ras_table: 1
name: Tiny
version: "1"
domains:
  - id: d
    label: D
    questions:
      - id: Q1
        text: Q one
        answers: {Yes: 5, No: 0, On: 1, "01": 2}
allocation: {method: rate, rate: 10}
"""


def write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_yaml_12_keeps_words_as_text(tmp_path: Path) -> None:
    t = load_table(write(tmp_path, MINIMAL))
    q = t.question("Q1")
    assert q is not None
    assert list(q.answers) == ["Yes", "No", "On", "01"]
    assert q.answers["Yes"] == Decimal(5)
    assert t.weeks_per_year == Decimal("52.143")


def test_unknown_key_names_path_and_line(tmp_path: Path) -> None:
    text = MINIMAL.replace("allocation:", "allocaton: {method: rate}\nallocation:")
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    msg = str(err.value)
    assert "t.yaml" in msg and "line 11" in msg and "allocaton" in msg and "unknown key" in msg


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    text = MINIMAL.replace('version: "1"', 'version: "1"\nname: Again')
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    assert "line 4: duplicate key 'name'" in str(err.value)
    assert "first given on line 2" in str(err.value)


def test_answer_without_points_is_an_error(tmp_path: Path) -> None:
    text = MINIMAL.replace("No: 0", "No: ")
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    assert "domains[0].questions[0].answers.No" in str(err.value)
    assert "line 10" in str(err.value) and "no value given" in str(err.value)


def test_bands_with_gap_and_overlap(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "allocation: {method: rate, rate: 10}",
        "allocation:\n  method: bands\n  bands:\n    - {min: 0, max: 9, amount: 0}\n"
        "    - {min: 11, max: 20, amount: 100}\n    - {min: 15, max: 30, amount: 200}\n",
    )
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    msg = str(err.value)
    assert "allocation.bands[1].min: a gap" in msg and "line 15" in msg
    assert "allocation.bands[2].min: an overlap" in msg and "line 16" in msg


def test_condition_naming_unknown_answer(tmp_path: Path) -> None:
    text = (
        MINIMAL + "adjustments:\n  - {id: a, when: [{question: Q1, answer: Maybe}], percent: 5}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    assert "adjustments[0].when[0].answer" in str(err.value)
    assert "has no answer 'Maybe'" in str(err.value)


def test_duplicate_question_ids(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "allocation:",
        "  - id: e\n    label: E\n    questions:\n      - {id: Q1, text: again, answers: {x: 1}}\n"
        "allocation:",
    )
    with pytest.raises(ConfigError, match="duplicate question id 'Q1'"):
        load_table(write(tmp_path, text))


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(ConfigError, match="too many values"):
        load_table(write(tmp_path, "\n".join(lines) + "\n"))


@pytest.mark.parametrize("name", ["adult-social-care", "mental-health-phb"])
def test_round_trip_yaml_xlsx_yaml_keeps_fingerprint(
    tmp_path: Path, name: str, adult: PointTable, mh: PointTable
) -> None:
    t = adult if name.startswith("adult") else mh
    save_table(t, tmp_path / "t.xlsx")
    t2 = load_table(tmp_path / "t.xlsx")
    save_table(t2, tmp_path / "t.yaml")
    t3 = load_table(tmp_path / "t.yaml")
    assert fingerprint(t) == fingerprint(t2) == fingerprint(t3)
    assert t3 == t
    wb = load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == [
        "Table",
        "Person fields",
        "Funding streams",
        "Questions",
        "Rates",
        "Bands",
        "Curve",
        "Adjustments",
        "Top-ups",
        "Ceilings",
    ]
    header = [c.value for c in wb["Questions"][1]]
    assert header == [
        "Domain ID",
        "Domain",
        "Funding",
        "Cap",
        "Question ID",
        "Question",
        "Required",
        "Answer",
        "Points",
    ]


def test_fingerprint_changes_with_content(adult: PointTable) -> None:
    changed = adult.model_copy(update={"rounding": Decimal(10)})
    assert fingerprint(changed) != fingerprint(adult)


def test_yaml_output_quotes_ambiguous_words(tmp_path: Path) -> None:
    t = load_table(write(tmp_path, MINIMAL))
    text = table_to_yaml(t)
    assert '"Yes": 5' in text and '"01": 2' in text
    assert load_table(write(tmp_path, text, "again.yaml")) == t


def test_xlsx_table_error_names_sheet_and_cell(tmp_path: Path, adult: PointTable) -> None:
    save_table(adult, tmp_path / "t.xlsx")
    wb = load_workbook(tmp_path / "t.xlsx")
    ws = wb["Questions"]
    ws["I3"] = "lots"  # points of the second answer of PC1
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ConfigError) as err:
        load_table(tmp_path / "bad.xlsx")
    assert "bad.xlsx" in str(err.value)
    assert "sheet 'Questions', cell I3" in str(err.value)


def test_unknown_rates_by_field(tmp_path: Path) -> None:
    text = MINIMAL.replace("{method: rate, rate: 10}", "{method: rate, rate: 10, rates_by: nope}")
    with pytest.raises(
        ConfigError, match="allocation.rates_by: 'nope' is not a person field; the fields are"
    ):
        load_table(write(tmp_path, text))


def test_table_model_is_frozen(adult: PointTable) -> None:
    with pytest.raises(Exception, match="frozen"):
        adult.name = "x"  # type: ignore[misc]
    assert isinstance(adult, PointTable)


def test_table_errors_come_all_at_once_in_plain_words(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "ras_table: 1\nname: Bad\nversion: '1'\n"
        "domains:\n  - id: d\n    label: D\n    questions:\n"
        "      - {id: Q1, text: q1, answers: {No support: 0, Some support: lots}}\n"
        "      - {id: Q2, text: q2, answers: {a: 0, b: x}}\n"
        "allocation: {method: ratee, rate: 100}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_table(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 3
    assert (
        "line 8: domains[0].questions[0].answers.Some support: 'lots' is not a number" in lines[0]
    )
    assert "line 9: domains[0].questions[1].answers.b: 'x' is not a number" in lines[1]
    assert (
        "allocation.method: 'ratee' is not allowed; choose one of 'rate', 'bands' or 'curve'"
        in (lines[2])
    )


def test_a_bad_rates_group_is_named_at_its_own_cell(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "t.xlsx"
    save_table(load_table(ROOT / "templates" / "xlsx" / "table-adult-social-care.xlsx"), path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Rates"]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "mental_health")
    row[0].value = "mental health services"
    wb.save(path)
    with pytest.raises(ConfigError) as info:
        load_table(path)
    message = str(info.value)
    assert f"sheet 'Rates', cell A{row[0].row}" in message
    assert "'mental health services' is not one of the options of Client group: " in message
    assert "learning_disability, mental_health" in message


def test_ask_round_trips_and_leaves_older_fingerprints_alone(tmp_path: Path) -> None:
    table = load_table(ROOT / "ras" / "data" / "tables" / "adult-social-care.yaml")
    cost = table.field("current_annual_cost")
    assert cost is not None and cost.ask is False
    save_table(table, tmp_path / "t.xlsx")
    assert load_table(tmp_path / "t.xlsx") == table
    asked = [f.model_copy(update={"ask": True}) for f in table.person_fields]
    everyone = table.model_copy(update={"person_fields": tuple(asked)})
    plain = table_to_yaml(everyone)
    assert "ask:" not in plain  # the default is left out, as before the key existed
    (tmp_path / "a.yaml").write_text(plain, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(
        plain.replace("required: false}", "required: false, ask: true}"), encoding="utf-8"
    )
    assert fingerprint(load_table(tmp_path / "a.yaml")) == fingerprint(
        load_table(tmp_path / "b.yaml")
    )


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        # each of these scored to an internal error (a decimal overflow), or to budgets in
        # fractions of a penny
        ("rate: 10}", "rate: 1e300}", "allocation.rate: 1E+300 is more than £100,000,000,000"),
        ("Yes: 5", "Yes: 1e15", "answers.Yes: more than 1,000,000 points"),
        (
            "rate: 10}",
            "rate: 1e11}",  # 5 points at £100,000,000,000 a point
            "allocation: the largest budget this table can give is £500,000,000,000, more than",
        ),
        (
            "rate: 10}",
            "rate: 10}\nadjustments: [{id: a, when: [{question: Q1, answer: 'Yes'}], "
            "percent: 1e300}]",
            "adjustments[0].percent: must be above -100 and at most 1,000",
        ),
        ("rate: 10}", "rate: 10}\nrounding: 0.001", "rounding: must be a whole number of pence"),
    ],  # fmt: skip
    ids=["rate", "points", "largest budget", "percent", "rounding"],
)
def test_figures_beyond_belief_in_a_table_are_named(
    tmp_path: Path, old: str, new: str, said: str
) -> None:
    assert old in MINIMAL
    with pytest.raises(ConfigError) as info:
        load_table(write(tmp_path, MINIMAL.replace(old, new)))
    assert said in str(info.value)
    # a ceiling makes the largest budget believable again
    if "largest budget" in said:
        capped = MINIMAL.replace(old, new) + "limits: {ceiling: 90000}\n"
        assert load_table(write(tmp_path, capped)).limits.ceiling == 90000


def test_one_option_given_two_rates_is_named(tmp_path: Path) -> None:
    """`mental_health: 230` and `Mental health: 999`: the later one was quietly used."""
    text = (
        MINIMAL.replace(
            'version: "1"\n',
            'version: "1"\nperson_fields:\n  - id: group\n    label: Group\n    options:\n'
            "      - {id: mental_health, label: Mental health}\n"
            "      - {id: other, label: Other}\n",
        ).replace(
            "allocation: {method: rate, rate: 10}",
            "allocation: {method: rate, rate: 10, rates_by: group,"
            " rates: {mental_health: 230, Mental health: 999}}",
        )
        + "limits: {ceilings_by: {field: group, values: {other: 5000, OTHER: 9000}}}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_table(write(tmp_path, text))
    said = str(info.value)
    assert (
        "allocation.rates.Mental health: 'Mental health' and 'mental_health' are one option of "
        "Group ('Mental health'); give it one rate" in said
    )
    assert "'OTHER' and 'other' are one option of Group ('Other'); give it one ceiling" in said


def test_an_adjustment_typed_in_excel_as_a_percentage(tmp_path: Path) -> None:
    """Excel keeps `-15%` typed in the Percent cell as -0.15, which ras read as a cut of
    0.15 %: budgets 15 % too high, without a word. A YAML `-15%` was "not a number"."""
    adjusted = MINIMAL + "adjustments:\n  - {id: a, when: [{question: Q1, answer: Yes}], "
    t = load_table(write(tmp_path, adjusted + "percent: -15%}\n"))
    assert t.adjustments[0].percent == Decimal(-15)
    book = tmp_path / "t.xlsx"
    save_table(t, book)
    wb = load_workbook(book)
    wb["Adjustments"]["B2"] = -0.15
    wb["Adjustments"]["B2"].number_format = "0%"
    wb.save(book)
    with pytest.raises(ConfigError) as err:
        load_table(book)
    assert str(err.value) == (
        f"{book}: sheet 'Adjustments', cell B2: Percent is -0.15, which is how Excel keeps "
        "-15% typed in a cell; the column is in percent, so type -15 (or the text -0.15% "
        "for -0.15 %)"
    )
    # under 1 %, on purpose: written as text, and read back the same
    half = load_table(write(tmp_path, adjusted + "percent: 0.5}\n"))
    save_table(half, book)
    cell = load_workbook(book)["Adjustments"]["B2"]
    assert cell.value == "0.5%"
    assert cell.alignment.horizontal == "right"  # lined up with the numbers above it
    assert load_table(book).adjustments[0].percent == Decimal("0.5")
    assert fingerprint(load_table(book)) == fingerprint(half)


def test_a_table_saved_by_a_windows_editor_is_read_and_its_comments_kept(
    tmp_path: Path,
) -> None:
    """A `£` in a comment, saved as "ANSI" (cp1252), was "not UTF-8 text"; calibration's
    copy of the table then lost every comment."""
    text = MINIMAL.replace("name: Tiny", "name: Tiny £ table  # costs in £ a year")
    path = tmp_path / "t.yaml"
    path.write_bytes(text.encode("cp1252"))
    t = load_table(path)
    assert t.name == "Tiny £ table"
    out = tmp_path / "new.yaml"
    save_table(t.model_copy(update={"version": "2"}), out, like=path)
    assert "# costs in £ a year" in out.read_text(encoding="utf-8")
    path.write_bytes(MINIMAL.replace("version:", "\tversion:").encode())
    with pytest.raises(ConfigError, match="indent YAML with spaces, not tabs"):
        load_table(path)
    path.write_bytes(b"ras_table: 1\x00\x01\xff")
    with pytest.raises(ConfigError, match="not a text file"):
        load_table(path)


def test_table_workbook_keys_retyped_in_another_case(tmp_path: Path) -> None:
    """` Method ` retyped in the Table sheet's Key cell was an unknown key."""
    t = load_table(ROOT / "ras" / "data" / "tables" / "adult-social-care.yaml")
    book = tmp_path / "t.xlsx"
    save_table(t, book)
    wb = load_workbook(book)
    for row in wb["Table"].iter_rows(min_row=2):
        if row[0].value in ("method", "weeks_per_year"):
            row[0].value = f" {row[0].value.title()} "
    wb.save(book)
    assert fingerprint(load_table(book)) == fingerprint(t)


def test_a_formula_no_program_calculated_is_refused_not_read_as_empty(
    tmp_path: Path, adult: PointTable
) -> None:
    """A table workbook edited by a script (openpyxl) with `=5+1` in a points cell: the
    cell read as empty, and the answer silently scored nothing."""
    save_table(adult, tmp_path / "t.xlsx")
    wb = load_workbook(tmp_path / "t.xlsx")
    wb["Questions"]["I3"] = "=5+1"  # points of the second answer of PC1, no value saved
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(InputError) as err:
        load_table(tmp_path / "bad.xlsx")
    message = str(err.value)
    assert "bad.xlsx, sheet 'Questions', cell I3: holds a formula with no calculated value" in (
        message
    )
    assert "open the file in Excel or LibreOffice and save it" in message


def test_every_problem_of_a_table_is_named_in_one_run(tmp_path: Path) -> None:
    """A check of the whole table ran only once every key was valid: a points value
    typed as text hid a negative cap, a week count of 0 and a rate picked by a field
    the table does not have. Each part now checks its own values, and the references
    to person fields and questions are checked as soon as those are valid."""
    text = """\
ras_table: 1
name: Tiny
version: "1"
weeks_per_year: 0
domains:
  - id: d
    label: D
    cap: -4
    questions:
      - {id: Q1, text: Q one, answers: {Yes: 5, No: 0}}
  - id: e
    label: E
    questions:
      - {id: Q2, text: two, answers: {a: lots}}
adjustments:
  - {id: x, when: [{question: Q9, answer: a}], percent: 5}
allocation: {method: rate, rate: 10, rates_by: nope}
"""
    with pytest.raises(ConfigError) as err:
        load_table(write(tmp_path, text))
    lines = str(err.value).splitlines()
    for said in [
        "line 4: weeks_per_year: must be above 0",
        "line 8: domains[0].cap: a cap cannot be negative",
        "line 14: domains[1].questions[0].answers.a: 'lots' is not a number",
        "line 17: allocation.rates_by: 'nope' is not a person field",
    ]:
        assert sum(said in line for line in lines) == 1, (said, lines)
    # The adjustment names a question while the domains are wrong: not checked until
    # they are (Q9 would be called unknown where the domain holding it may be mistyped).
    assert len(lines) == 4, lines
    fixed = text.replace("weeks_per_year: 0\n", "").replace("cap: -4", "cap: 4")
    fixed = fixed.replace("lots", "3").replace(", rates_by: nope", "")
    with pytest.raises(
        ConfigError, match="adjustments\\[0\\].when\\[0\\].question: unknown question 'Q9'"
    ):
        load_table(write(tmp_path, fixed))
