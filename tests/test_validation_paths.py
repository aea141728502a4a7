"""The fast validation path of bulk rows agrees with the full one (issue 10).

``_FastRow`` accepts only rows whose every value is already exactly right; anything
else goes the full way, which names the cell of each problem. Whatever the row, the
two must give the same assessment and the same issues.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from ras.io.table_file import fingerprint
from ras.io.templates import example_table
from ras.models.assessment import FileResult, RawBulk
from ras.scoring import validate
from ras.scoring.validate import TableIndex, validate_bulk

TABLE = example_table("adult-social-care")
INDEX = TableIndex.build(TABLE, fingerprint(TABLE))
QUESTIONS = [q for _, q in TABLE.questions()]
FIELDS = list(TABLE.person_fields)


def _variants(text: str) -> st.SearchStrategy[Any]:
    """A label as typed: exact, other case, padded, or something else entirely."""
    return st.sampled_from(
        [text, text.upper(), text.lower(), f" {text} ", text + "x", "", None, 3, "3.50"]
    )


def _clean_row() -> list[Any]:
    row: list[Any] = ["P-1"]
    for f in FIELDS:
        row.append(f.options[0] if f.options else ("100" if f.type != "text" else "t"))
    return row + [next(iter(q.answers)) for q in QUESTIONS]


@st.composite
def rows(draw: Any) -> list[Any]:
    """A clean row with a few cells changed (most rows differ from a clean one a little)."""
    row = _clean_row()
    for _ in range(draw(st.integers(0, 3))):
        n = draw(st.integers(0, len(row) - 1))
        if n == 0:
            row[0] = draw(st.sampled_from(["P-1", " P-1", "", None, 17, "P 2"]))
        elif n <= len(FIELDS):
            f = FIELDS[n - 1]
            if f.options:
                row[n] = draw(st.sampled_from(f.options).flatmap(_variants))
            elif f.type in ("money", "number"):
                row[n] = draw(st.sampled_from([12500, "12,500.00", "-5", "abc", "", None, 0.5]))
            else:
                row[n] = draw(st.sampled_from(["text", " padded ", "", None, 42]))
        else:
            q = QUESTIONS[n - 1 - len(FIELDS)]
            row[n] = draw(st.sampled_from(list(q.answers)).flatmap(_variants))
    if draw(st.booleans()):
        row = row[: draw(st.integers(1, len(row)))]  # short rows: missing trailing cells
    return row


HEADER = ["Person ID", *[f.id for f in FIELDS], *[q.id for q in QUESTIONS]]


def _columns() -> tuple[dict[str, int | None], dict[str, int | None]]:
    fields = {f.id: 1 + n for n, f in enumerate(FIELDS)}
    questions = {q.id: 1 + len(FIELDS) + n for n, q in enumerate(QUESTIONS)}
    return fields, questions  # type: ignore[return-value]


def _result(body: list[list[Any]]) -> FileResult:
    return FileResult("bulk.csv", bulk=RawBulk("", list(HEADER), 1, body))


def _with(n: int, value: Any) -> list[Any]:
    row = _clean_row()
    row[n] = value
    return row


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(rows(), min_size=1, max_size=4))
@example([_with(3, "-5")])  # a negative amount of money: rejected both ways
@example([_with(1, " learning_disability "), _with(0, " P-1")])
def test_fast_and_full_paths_agree(body: list[list[Any]]) -> None:
    taken = [validate._FastRow(INDEX, 0, *_columns()).try_row(r) is not None for r in body]
    event(f"fast rows: {sum(taken)} of {len(taken)}")
    fast = validate_bulk(_result(body), INDEX)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate._FastRow, "try_row", lambda self, row: None)
        full = validate_bulk(_result(body), INDEX)
    assert fast == full


def test_the_fast_path_is_taken_for_clean_rows() -> None:
    """Not vacuous: a clean row goes the fast way (the full way is never called)."""
    clean = _clean_row()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validate, "_check_answers", lambda *a, **k: pytest.fail("full path taken"))
        assessments, issues = validate_bulk(_result([clean]), INDEX)
    assert len(assessments) == 1 and not issues


def test_a_bulk_rows_place_reads_as_a_row_not_a_cell() -> None:
    """A problem of a whole bulk row was placed at "cell row 2"."""
    from ras.errors import Location

    assert str(Location("people.csv", "", row=2)) == "people.csv, row 2"
    assert str(Location("people.xlsx", "People", "C7")) == "people.xlsx, sheet 'People', cell C7"
