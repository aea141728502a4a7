"""Hand-worked budgets (SPEC §3.1) and properties of the pure stages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ras.models.table import PointTable
from ras.money import change, change_in_whole_pounds, pounds
from ras.scoring.budgets import compute_budget, round_half_up

D = Decimal


def table(**over: Any) -> PointTable:
    data: dict[str, Any] = {
        "ras_table": 1,
        "name": "T",
        "version": "1",
        "person_fields": [
            {"id": "group", "label": "Group", "options": ["a", "b"]},
            {"id": "home", "label": "Home", "options": ["own", "care_home"], "required": False},
        ],
        "domains": [
            {
                "id": "care",
                "label": "Care",
                "funding": "social_care",
                "cap": "30",
                "questions": [
                    {"id": "C1", "text": "c1", "answers": {"None": 0, "Some": 10, "Lots": 25}},
                    {"id": "C2", "text": "c2", "answers": {"None": 0, "Some": 7, "Lots": 15}},
                ],
            },
            {
                "id": "health",
                "label": "Health",
                "funding": "health",
                "questions": [
                    {"id": "H1", "text": "h1", "answers": {"None": 0, "Some": 5, "Lots": 11}},
                ],
            },
            {
                "id": "family",
                "label": "Family",
                "questions": [
                    {"id": "F1", "text": "f1", "answers": {"Yes": 0, "No": 0}, "required": False},
                ],
            },
        ],
        "allocation": {"method": "rate", "rate": "250", "rates_by": "group", "rates": {"b": "230"}},
        "adjustments": [
            {"id": "family", "when": [{"question": "F1", "answer": "Yes"}], "percent": "-15"},
            {"id": "rural", "when": [{"field": "home", "equals": "own"}], "percent": "5"},
        ],
        "top_ups": [
            {"id": "two", "when": [{"question": "C2", "answer": "Lots"}], "amount": "8000"}
        ],
        "limits": {
            "floor": "1000",
            "ceiling": "30000",
            "ceilings_by": {"field": "home", "values": {"care_home": "12000"}},
        },
        "rounding": "1",
        "range": "0.10",
    }
    data.update(over)
    return PointTable.model_validate(data)


def test_rate_cap_adjustments_topup_by_hand() -> None:
    t = table()
    answers = {"C1": "Lots", "C2": "Lots", "H1": "Some", "F1": "Yes"}
    b = compute_budget(t, answers, {"group": "a", "home": "own"})
    # Care: 25 + 15 = 40, capped at 30. Health 5. Family 0. Total 35.
    assert b.domain_points == {"care": D(30), "health": D(5), "family": D(0)}
    assert b.domain_capped["care"] is True
    assert b.total_points == D(35)
    assert b.base == D(8750)  # 35 x £250
    # x 0.85 x 1.05 = 7809.375
    assert b.adjusted == D("7809.375")
    assert b.before_limits == D("15809.375")  # + £8,000 top-up
    assert b.annual == D(15809)  # half-up to the pound
    assert b.weekly == D("303.19")  # 15809 / 52.143 = 303.185...
    assert (b.range_low, b.range_high) == (D(14228), D(17390))  # 14228.1, 17389.9
    # Funding by points: social care 30/35, health 5/35; the larger stream takes the remainder.
    assert b.funding["health"] == D("2258.43")  # 15809 x 5/35 = 2258.428...
    assert b.funding["social_care"] == D(15809) - D("2258.43")
    assert b.funding["unassigned"] == D(0)
    assert sum(b.funding.values()) == b.annual
    assert b.flags == ()


def test_rate_by_group_and_ceiling_by_field_flags_panel() -> None:
    t = table()
    b = compute_budget(
        t, {"C1": "Lots", "C2": "Lots", "H1": "Lots"}, {"group": "b", "home": "care_home"}
    )
    # 30 + 11 = 41 points x £230 = 9430, + 8000 = 17430 > care_home ceiling 12000.
    assert b.base == D(9430)
    assert b.clamped == D(12000) and b.annual == D(12000)
    assert b.flags == ("ceiling: refer to funding panel",)


def test_floor_raises_small_budgets() -> None:
    t = table()
    b = compute_budget(t, {"C1": "None", "C2": "None", "H1": "Some"}, {"group": "a"})
    assert b.base == D(1250)
    b = compute_budget(t, {"C1": "None", "C2": "None", "H1": "None"}, {"group": "a"})
    assert b.base == D(0) and b.annual == D(1000) and b.flags == ("floor",)
    # No points: the whole budget goes to the first stream.
    assert b.funding == {"social_care": D(1000), "health": D(0), "unassigned": D(0)}


def test_rounding_is_half_up_not_bankers() -> None:
    t = table(adjustments=[], top_ups=[], rounding="10", limits={"floor": 0})
    # 1 point at £25 -> 25, to the nearest £10 half-up -> 30 (banker's would give 20).
    t = t.model_copy(
        update={
            "allocation": t.allocation.model_copy(
                update={"rate": D(25), "rates": {}, "rates_by": None}
            )
        }
    )
    b = compute_budget(t, {"C1": "None", "C2": "None", "H1": "None"}, {})
    assert b.annual == D(0)
    assert round_half_up(D(25), D(10)) == D(30)
    assert round_half_up(D("2.5"), D(1)) == D(3)
    assert round_half_up(D("0.125"), D("0.01")) == D("0.13")


def test_bands_including_above_last_band() -> None:
    t = table(
        allocation={
            "method": "bands",
            "bands": [
                {"min": 0, "max": 9, "amount": 0},
                {"min": 10, "max": 19, "amount": 5000},
                {"min": 20, "max": 29, "amount": 9000},
            ],
        },
        adjustments=[],
        top_ups=[],
        limits={"floor": 0},
    )
    assert compute_budget(t, {"C1": "Some", "C2": "None", "H1": "None"}, {}).annual == D(5000)
    assert compute_budget(t, {"C1": "Some", "C2": "None", "H1": "Lots"}, {}).annual == D(9000)
    # 30 + 11 = 41 points: above the last band takes its amount.
    b = compute_budget(t, {"C1": "Lots", "C2": "Lots", "H1": "Lots"}, {})
    assert b.total_points == D(41) and b.annual == D(9000)


def test_curve_interpolates_and_is_flat_after_last_knot() -> None:
    t = table(
        allocation={"method": "curve", "curve": [[0, 0], [20, 4000], [40, 12000]]},
        adjustments=[],
        top_ups=[],
        limits={"floor": 0},
        rounding="0.01",
    )
    b = compute_budget(t, {"C1": "Lots", "C2": "None", "H1": "None"}, {})  # 25 points
    assert b.base == D(6000)  # 4000 + 5 x (8000 / 20)
    b = compute_budget(t, {"C1": "Some", "C2": "Some", "H1": "None"}, {})  # 17 points
    assert b.base == D(3400)
    b = compute_budget(t, {"C1": "Lots", "C2": "Lots", "H1": "Lots"}, {})  # 41 points
    assert b.base == D(12000)


def test_explanations_cover_every_step() -> None:
    b = compute_budget(
        table(),
        {"C1": "Lots", "C2": "Lots", "H1": "Some", "F1": "Yes"},
        {"group": "a", "home": "own"},
    )
    steps = [s.step for s in b.steps]
    for expected in (
        "Answer",
        "Domain",
        "Total points",
        "Conversion",
        "Adjustment",
        "Top-up",
        "Limits",
        "Rounding",
        "Weekly",
        "Range",
        "Funding",
    ):
        assert expected in steps
    care = next(s for s in b.steps if s.step == "Domain" and s.item == "Care")
    assert "capped at 30" in care.note
    assert sum(1 for s in b.steps if s.step == "Answer") == 4


def test_optional_unanswered_scores_zero() -> None:
    b = compute_budget(table(), {"C1": "Some", "C2": "None", "H1": "None"}, {"group": "a"})
    assert b.question_points["F1"] == D(0)
    note = next(s.note for s in b.steps if s.item == "F1")
    assert "not answered" in note


# ----------------------------------------------------------------- properties

LEVELS = ["None", "Some", "Lots"]


@st.composite
def answer_sets(draw: st.DrawFn) -> dict[str, str]:
    return {q: draw(st.sampled_from(LEVELS)) for q in ("C1", "C2", "H1")}


@settings(max_examples=150, deadline=None)
@given(
    answer_sets(),
    st.sampled_from(["C1", "C2", "H1"]),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["own", "care_home", None]),
)
def test_budget_never_falls_when_an_answer_rises(
    answers: dict[str, str], q: str, group: str, home: str | None
) -> None:
    t = table()
    fields = {"group": group, "home": home}
    before = compute_budget(t, answers, fields)
    level = LEVELS.index(answers[q])
    if level == len(LEVELS) - 1:
        return
    higher = dict(answers, **{q: LEVELS[level + 1]})
    after = compute_budget(t, higher, fields)
    assert after.total_points >= before.total_points
    assert after.annual >= before.annual


@settings(max_examples=150, deadline=None)
@given(answer_sets(), st.sampled_from(["a", "b"]), st.booleans())
def test_money_is_conserved_across_streams(answers: dict[str, str], group: str, fam: bool) -> None:
    if fam:
        answers = dict(answers, F1="Yes")
    b = compute_budget(table(), answers, {"group": group})
    assert sum(b.funding.values()) == b.annual
    assert all(v >= 0 for v in b.funding.values())
    assert b.annual == b.annual.quantize(D(1))
    assert b.weekly == b.weekly.quantize(D("0.01"))
    assert b.range_low <= b.annual <= b.range_high


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=6), st.integers(0, 2000))
def test_bands_monotone_amounts_give_monotone_budgets(widths: list[int], pts: int) -> None:
    bands = []
    lo = 0
    for i, w in enumerate(widths):
        bands.append({"min": lo, "max": lo + w, "amount": 1000 * i})
        lo += w + 1
    t = table(
        allocation={"method": "bands", "bands": bands},
        adjustments=[],
        top_ups=[],
        limits={"floor": 0},
    )
    from ras.scoring.budgets import convert

    a, _, _ = convert(t, D(pts), {})
    b, _, _ = convert(t, D(pts + 1), {})
    assert b >= a


@pytest.mark.parametrize(
    ("value", "expected"),
    [(D("0.5"), D(1)), (D("1.5"), D(2)), (D("2.5"), D(3)), (D("-0.5"), D(-1))],
)
def test_round_half_up_table(value: Decimal, expected: Decimal) -> None:
    assert round_half_up(value, D(1)) == expected


@settings(max_examples=60, deadline=None)
@given(answer_sets(), st.sampled_from(["a", "b"]), st.booleans(), st.sampled_from(["own", None]))
def test_lazy_explanations_equal_eager_ones_and_their_count(
    answers: dict[str, str], group: str, fam: bool, home: str | None
) -> None:
    from ras.models.assessment import Assessment
    from ras.models.scored import Scored
    from ras.scoring.budgets import Explanations, explain_budget

    if fam:
        answers = dict(answers, F1="Yes")
    t = table()
    fields = {"group": group, "home": home}
    eager = compute_budget(t, answers, fields, explain=True)
    lazy = compute_budget(t, answers, fields, explain=False)
    assert lazy.steps == ()
    assert explain_budget(t, answers, fields, lazy) == eager.steps
    scored = Scored(Assessment("x", "s", fields, answers), lazy)
    explanations = Explanations(t)
    assert explanations.count(scored) == len(eager.steps)
    assert explanations.steps(scored) == eager.steps


def test_worked_example_in_docs_budgets_md(adult: PointTable) -> None:
    answers = {
        "PC1": "Exceptional support",
        "PC2": "Lots of support",
        "PC3": "Some support",
        "PC4": "Two people needed",
        "DL1": "Some support",
        "DL2": "Some support",
        "DL3": "No support",
        "CO1": "Lots of support",
        "CO2": "Some support",
        "KS1": "Lots of support",
        "KS2": "Most nights",
        "FS1": "Substantial support from family",
        "FS2": "Yes",
    }
    b = compute_budget(
        adult, answers, {"client_group": "learning_disability", "living_situation": "own_home"}
    )
    assert b.domain_points["personal_care"] == 40 and b.total_points == 89
    assert (b.base, b.adjusted, b.before_limits) == (D(22250), D("18912.50"), D("26912.50"))
    assert (b.annual, b.weekly, b.range_low, b.range_high) == (
        D(26913),
        D("516.14"),
        D(24222),
        D(29604),
    )
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "budgets.md").read_text(encoding="utf-8")
    for figure in (
        "89 points",
        "£22,250.00",
        "£18,912.50",
        "£26,912.50",
        "£26,913 a year",
        "£516.14",
        "£24,222",
        "£29,604",
    ):
        assert figure in text


def test_funding_example_in_docs(mh: PointTable) -> None:
    from ras.scoring.budgets import split_funding
    from ras.scoring.points import Points

    pts = Points(
        {},
        {},
        {"wellbeing": D(20), "risk": D(10), "daily_life": D(10), "relationships": D(4)},
        {},
        D(44),
    )
    shares, _ = split_funding(mh, pts, D(26000))
    assert shares == {"health": D("17727.27"), "social_care": D("8272.73")}


@pytest.mark.parametrize(
    ("value", "places", "text"),
    [
        (D("-146415"), 2, "-£146,415.00"),
        (D("1234.5"), 2, "£1,234.50"),
        (D("0.125"), 2, "£0.13"),  # half-up, where a format string rounds half to even
        (D("-0.125"), 2, "-£0.13"),
        (D("-0.004"), 2, "£0.00"),  # shows as zero: no sign
        (D("2.5"), 0, "£3"),
        (-1234.5, 0, "-£1,234"),  # a float (a simulated spend) is shown as it is
    ],
)
def test_money_in_a_printed_line(value: Decimal | float, places: int, text: str) -> None:
    assert pounds(value, places) == text


@pytest.mark.parametrize(
    ("how", "value", "text"),
    [
        ("notes", D("8000"), "+£8,000"),
        ("notes", D("-500"), "-£500"),  # was "+£-500": a top-up may take money off
        ("notes", D("-0.125"), "-£0.13"),
        ("whole", D("2.5"), "+£3"),  # half-up; the format string gave "+£2"
        ("whole", D("-1234.5"), "−£1,235"),
        ("whole", D("-0.4"), "+£0"),  # shows as no change: no minus
    ],
)
def test_a_change_of_money_is_signed_once_and_rounded_half_up(
    how: str, value: Decimal, text: str
) -> None:
    assert (change(value) if how == "notes" else change_in_whole_pounds(value)) == text


def test_a_top_up_that_takes_money_off_reads_as_one() -> None:
    from ras.io.budget_sheets import _paragraph
    from ras.models.assessment import Assessment

    deduction = [
        {"id": "respite", "when": [{"question": "C2", "answer": "Lots"}], "amount": "-500"}
    ]
    t = table(top_ups=deduction)
    answers = {"C1": "Lots", "C2": "Lots", "H1": "Some", "F1": "No"}
    fields: dict[str, str | Decimal | None] = {"group": "a", "home": "own"}
    b = compute_budget(t, answers, fields)
    step = next(s for s in b.steps if s.step == "Top-up")
    assert step.note == "-£500"
    text = _paragraph(t, Assessment("P1", "p1.xlsx", fields, answers), b)
    assert "£500 was taken off (respite)." in text
    assert "top-up of" not in text
