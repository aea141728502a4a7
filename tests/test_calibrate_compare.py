"""Calibration (SPEC §10) and comparison (SPEC §11), worked by hand and read back."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from ras.calibration.fitting import affordability, fit_table, total_budgets
from ras.cli import main
from ras.commands.optimise import run_optimise
from ras.commands.score import run_score
from ras.io.table_file import load_table
from ras.models.calibration import Person
from ras.models.table import PointTable
from tests.conftest import ROOT
from tests.planning import placement, write_case

D = Decimal

TABLE = """\
ras_table: 1
name: Calib
version: "1"
person_fields:
  - {id: current_annual_cost, label: Current annual cost, type: money, required: false}
domains:
  - id: d
    label: D
    questions:
      - {id: Q1, text: q1, answers: {a: 0, b: 3, c: 7, d: 12}}
      - {id: Q2, text: q2, answers: {a: 0, b: 2, c: 5}}
allocation: {method: rate, rate: 100}
limits: {floor: 0}
"""


def people_csv(path: Path, rows: list[tuple[str, str, str, object]]) -> Path:
    lines = ["Person ID,Q1,Q2,current_annual_cost"]
    lines += [f"{pid},{q1},{q2},{'' if cost is None else cost}" for pid, q1, q2, cost in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


POINTS = {"a": 0, "b": 3, "c": 7, "d": 12}
POINTS2 = {"a": 0, "b": 2, "c": 5}


def test_known_rate_recovered_exactly_from_noise_free_costs(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TABLE, encoding="utf-8")
    rows = []
    for i, (q1, q2) in enumerate([("b", "a"), ("c", "b"), ("d", "c"), ("a", "b"), ("d", "a")]):
        rows.append((f"P{i}", q1, q2, 250 * (POINTS[q1] + POINTS2[q2])))
    rows.append(("NOCOST", "d", "c", None))  # not in the sample
    table = load_table(tmp_path / "t.yaml")
    run_score([people_csv(tmp_path / "p.csv", rows)], table, tmp_path / "a.xlsx", jobs=0)
    out = tmp_path / "cal.xlsx"
    r = CliRunner().invoke(
        main,
        [
            "calibrate",
            str(tmp_path / "a.xlsx"),
            "-t",
            str(tmp_path / "t.yaml"),
            "-o",
            str(out),
            "--json",
            "-q",
            "--write-table",
            str(tmp_path / "new.yaml"),
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert D(summary["fitted_rate"]) == D(250)
    assert summary["sample"] == 5 and summary["r_squared"] == pytest.approx(1.0)
    assert summary["mape"] == 0 and summary["outliers"] == 0
    new = load_table(tmp_path / "new.yaml")
    assert new.allocation.rate == D(250)
    assert new.version.startswith("1-calibrated-")
    # Everything else identical.
    assert new.model_dump(exclude={"allocation", "version"}) == table.model_dump(
        exclude={"allocation", "version"}
    )
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["Summary", "Sample", "Affordability"]
    sample = wb.get_sheet_by_name("Sample").to_python()
    assert sample[0][:8] == [
        "Person ID",
        "Group",
        "Total points",
        "Current annual cost (£)",
        "Fitted (£)",
        "Residual (£)",
        "% error",
        "Outlier",
    ]
    assert all(row[5] == 0 for row in sample[1:])


def test_fit_with_noise_matches_the_formula(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(TABLE, encoding="utf-8")
    table = load_table(tmp_path / "t.yaml")
    people = [
        Person("A", {}, {"Q1": "b", "Q2": "a"}, D(700)),
        Person("B", {}, {"Q1": "d", "Q2": "c"}, D(4000)),
        Person("C", {}, {"Q1": "c", "Q2": "b"}, D(2500)),
    ]
    fit = fit_table(table, people)
    # Σ p c / Σ p² = (3x700 + 17x4000 + 9x2500) / (9 + 289 + 81)
    assert fit.rate == D(3 * 700 + 17 * 4000 + 9 * 2500) / D(9 + 289 + 81)
    assert len(fit.outliers) == 0 and fit.r_squared is not None


def test_band_table_scale_factor(mh: PointTable) -> None:
    from ras.scoring.budgets import compute_budget

    answers = [
        {
            "MW1": "Some",
            "MW2": "Monthly",
            "RS1": "Some",
            "RS2": "None",
            "DA1": "Some",
            "DA2": "None",
            "RH1": "Some",
            "RH2": "No",
        },
        {
            "MW1": "A lot",
            "MW2": "Weekly",
            "RS1": "A lot",
            "RS2": "Supervised",
            "DA1": "A lot",
            "DA2": "Some",
            "RH1": "A lot",
            "RH2": "No",
        },
    ]
    people = []
    for i, a in enumerate(answers):
        base = compute_budget(mh, a, {}, explain=False).base
        people.append(Person(f"M{i}", {}, a, base * D("1.2")))
    fit = fit_table(mh, people)
    assert fit.factor == D("1.2")


AFF_TABLE = TABLE.replace("limits: {floor: 0}", "limits: {floor: 500, ceiling: 2000}")


def test_affordability_with_floor_and_ceiling_in_play(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(AFF_TABLE, encoding="utf-8")
    table = load_table(tmp_path / "t.yaml")
    people = [
        Person("zero", {}, {"Q1": "a", "Q2": "a"}, None),  # 0 points: always the floor
        Person("mid", {}, {"Q1": "c", "Q2": "b"}, None),  # 9 points
        Person("top", {}, {"Q1": "d", "Q2": "c"}, None),
    ]  # 17 points: hits the ceiling
    # At £100 a point: 500 (floor) + 900 + 1,700 = 3,100.
    assert total_budgets(table, people, D(1)) == D(3100)
    # Affordable 3,000 (no contingency): 500 + 9r + 17r = 3,000 -> r = 96.1538...; budgets
    # round to pounds, so the total cannot be exactly 3,000: 500 + 865 + 1,635 = 3,000 needs
    # 9r and 17r both rounding right; ras reports the nearest totals on each side.
    a = affordability(table, people, D(3000), D(0))
    assert a.rate is not None
    assert a.total <= D(3000)
    if a.exact:
        assert a.total == D(3000)
    else:
        assert a.below is not None and a.above is not None
        assert a.below[1] < D(3000) < a.above[1]
        assert "cannot be hit exactly" in a.message
    assert total_budgets(table, people, a.scale) == a.total
    # Above the ceiling's reach: 500 + 2,000 + 2,000 = 4,500 is the most it can total.
    high = affordability(table, people, D(10000), D(0))
    assert not high.exact and "ceilings hold the total at £4,500.00" in high.message
    # Below the floor's reach: the floors alone total 1,500.
    low = affordability(table, people, D(1000), D(0))
    assert not low.exact and "floors and top-ups total £1,500.00" in low.message


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abc")), min_size=1, max_size=6),
    st.decimals(min_value=0, max_value=5, places=3),
    st.decimals(min_value=0, max_value=5, places=3),
)
def test_affordable_total_never_falls_as_the_rate_rises(
    answers: list[tuple[str, str]], s1: Decimal, s2: Decimal
) -> None:
    from ras.io.strict_yaml import parse_yaml_text
    from ras.models.table import PointTable as PT

    data, _ = parse_yaml_text(AFF_TABLE)
    table = PT.model_validate(data)
    people = [Person(f"P{i}", {}, {"Q1": a, "Q2": b}, None) for i, (a, b) in enumerate(answers)]
    lo, hi = sorted((s1, s2))
    assert total_budgets(table, people, lo) <= total_budgets(table, people, hi)


def test_compare_matches_separate_runs_and_survives_a_failing_variant(tmp_path: Path) -> None:
    scenario = write_case(
        tmp_path,
        budgets={"A": 40000, "B": 45000, "C": 70000},
        horizon=2,
        placements=[
            placement("A", "out_of_area", 50000),
            placement("B", "inpatient", 50000),
            placement("C", "residential", 50000),
        ],
        capacity={"moves_per_year": 1},
        savings={"kind": "vs_baseline", "rates": ["0", "0"]},
        variants={
            "tight": {"savings": {"rates": ["0.05", "0.1"]}},
            "broken": {"data": {"allocations": "missing.xlsx"}},
        },
    )
    out = tmp_path / "comparison.xlsx"
    r = CliRunner().invoke(
        main, ["compare", str(scenario), "-o", str(out), "--json", "-q", "--frontier", "0:0.1:0.05"]
    )
    assert r.exit_code == 1, r.output  # the broken variant
    summary = json.loads(r.stdout)
    runs = {x["name"]: x for x in summary["runs"]}
    assert runs["broken"]["status"] == "FAILED" and "missing.xlsx" in runs["broken"]["error"]
    for name in ("base", "tight"):
        alone = run_optimise(scenario, None, variant=None if name == "base" else name)
        assert D(runs[name]["person_years"]) == alone.plan.person_years
        assert D(runs[name]["total_savings"]) == alone.plan.total_savings.quantize(D("0.01"))
        assert runs[name]["moves"] == len(alone.plan.moves)
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == ["Runs", "Savings", "Spend", "Moves", "In budgets", "Frontier"]
    savings = wb.get_sheet_by_name("Savings").to_python()
    assert savings[0] == ["Year", "Financial year", "base", "tight"]
    assert savings[1][1] == "2027/28"
    alone = run_optimise(scenario, None, variant="tight")
    assert [row[3] for row in savings[1:]] == [float(y.savings) for y in alone.plan.years]
    frontier = wb.get_sheet_by_name("Frontier").to_python()
    assert [row[0] for row in frontier[1:]] == [0.0, 0.05, 0.1]


def test_frontier_person_years_never_rise_as_the_rate_rises(tmp_path: Path) -> None:
    from ras.commands.compare import frontier_rates, run_compare

    scenario = write_case(
        tmp_path,
        budgets={"A": 40000, "B": 55000, "C": 48000, "D": 30000},
        horizon=3,
        placements=[
            placement("A", "out_of_area", 50000),
            placement("B", "inpatient", 50000),
            placement("C", "residential", 50000),
            placement("D", "inpatient", 60000),
        ],
        capacity={"moves_per_year": 2},
        savings={"kind": "vs_baseline", "rates": ["0", "0", "0"]},
    )
    rates = frontier_rates(Decimal(0), Decimal("0.2"), Decimal("0.04"))
    outcome = run_compare(scenario, None, frontier=rates, jobs=0)
    points = [p for p in outcome.frontier if p.target_met]
    assert len(points) >= 3
    years = [p.person_years for p in points]
    assert years == sorted(years, reverse=True)
    assert years[0] > years[-1]  # the frontier has a real trade-off here


def test_compare_solves_within_one_time_limit_for_the_whole_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run had the whole --time-limit: a frontier of 20 rates could take 20 times
    it. The limit is the command's (SPEC §16): runs not started in time are not solved,
    and say why; the command exits 4, as an optimise stopped by its limit does."""
    import time as real

    import ras.commands.compare as compare
    from tests.helpers import TenSecondClock

    scenario = write_case(
        tmp_path,
        budgets={"A": 40000, "B": 45000},
        placements=[placement("A", "out_of_area", 50000), placement("B", "inpatient", 50000)],
        savings={"kind": "vs_baseline", "rates": ["0"]},
    )
    monkeypatch.setattr(compare, "time", TenSecondClock)
    args = ["compare", str(scenario), "-o", str(tmp_path / "c.xlsx"), "-j", "0", "--json"]
    r = CliRunner().invoke(main, [*args, "--frontier", "0:0.04:0.01", "--time-limit", "35"])
    assert r.exit_code == 4, r.output
    summary = json.loads(r.stdout)
    runs = summary["runs"] + summary["frontier"]
    assert [x["status"] for x in runs] == ["OPTIMAL"] * 3 + ["TIME LIMIT"] * 3
    assert runs[-1]["error"] == (
        "not solved: the time limit was reached before this run could start (give "
        "--time-limit more seconds, or 0 for none)"
    )
    said = [line for line in r.stderr.splitlines() if "not solved" in line]
    assert said == [f"  rate 0.02 (and the 2 runs after it): TIME LIMIT: {runs[-1]['error']}"]
    frontier = CalamineWorkbook.from_path(str(tmp_path / "c.xlsx")).get_sheet_by_name("Frontier")
    rows = frontier.to_python()
    assert [row[rows[0].index("Note")] for row in rows[1:4]] == ["", "", runs[-1]["error"]]
    monkeypatch.setattr(compare, "time", real)
    r = CliRunner().invoke(main, [*args, "--frontier", "0:0.04:0.01", "--time-limit", "0"])
    assert r.exit_code == 0, r.output


def test_bad_frontier_is_a_usage_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(
        main,
        [
            "compare",
            str(ROOT / "scenarios" / "example.yaml"),
            "-o",
            str(tmp_path / "c.xlsx"),
            "--frontier",
            "0.1:0",
        ],
    )
    assert r.exit_code == 2 and "START:STOP:STEP" in r.output
    # Cut at 1,000 rates, this frontier ran to 0.000001 and said nothing.
    out = tmp_path / "c.xlsx"
    args = ["compare", str(ROOT / "scenarios" / "example.yaml"), "-o", str(out)]
    r = CliRunner().invoke(main, [*args, "--frontier", "0:0.3:1e-9"])
    assert r.exit_code == 2 and "is 300,000,001 rates, more than 1,000" in r.output
    assert not out.exists()
    from ras.commands.compare import frontier_rates

    assert len(frontier_rates(Decimal(0), Decimal("0.999"), Decimal("0.001"))) == 1000


def test_small_samples_are_warned_about() -> None:
    table = load_table(ROOT / "templates" / "xlsx" / "table-adult-social-care.xlsx")
    people = [
        Person(f"P{i}", {"client_group": g}, {"PC1": "Some support", "PC2": "No support"},
               D(5000 + 700 * i))
        for i, g in enumerate(["older_people"] * 4 + ["mental_health"] * 12)
    ]  # fmt: skip
    fit = fit_table(table, people)
    text = " | ".join(fit.warnings)
    assert "older_people: 4 people in the sample, under 10" in text
    assert "mental_health" not in text  # 12 people: fitted on its own
    assert "the fit rests on 16 people, fewer than 30" in text
    many = people + [
        Person(f"Q{i}", {"client_group": "mental_health"}, {"PC1": "No support"}, D(3000))
        for i in range(20)
    ]
    assert not any("fewer than 30" in w for w in fit_table(table, many).warnings)


def test_written_rates_are_rounded_to_the_step_and_stay_affordable(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("# our table: keep this note\n" + TABLE, encoding="utf-8")
    table = load_table(tmp_path / "t.yaml")
    answers = [("b", "a"), ("c", "b"), ("d", "c"), ("a", "b")]
    rows = [
        (f"P{i}", q1, q2, 137 * (POINTS[q1] + POINTS2[q2]) + 11 * i)
        for i, (q1, q2) in enumerate(answers)
    ]
    run_score([people_csv(tmp_path / "p.csv", rows)], table, tmp_path / "a.xlsx", jobs=0)
    args = ["calibrate", str(tmp_path / "a.xlsx"), "-t", str(tmp_path / "t.yaml"), "-q",
            "-o", str(tmp_path / "c.xlsx"), "--budget", "£9,000", "--contingency", "5%",
            "--rate-step", "0.25", "--write-table", str(tmp_path / "new.yaml")]  # fmt: skip
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    new = load_table(tmp_path / "new.yaml")
    rate = new.allocation.rate
    assert rate is not None and rate % D("0.25") == 0
    people = [Person(p, {}, {"Q1": a, "Q2": b}, None) for p, a, b, _ in rows]
    assert total_budgets(new, people, D(1)) <= D(9000) * D("0.95")
    nudged = new.allocation.model_copy(update={"rate": rate + D("0.25")})
    assert (
        total_budgets(new.model_copy(update={"allocation": nudged}), people, D(1))
        > D(9000) * D("0.95") - 20
    )  # one step up is (about) the limit: the rate was not cut further
    text = (tmp_path / "new.yaml").read_text(encoding="utf-8")
    assert text.startswith("# our table: keep this note\n")
    assert "      - {id: Q1, text: q1" in text  # the layout kept


def test_costs_that_call_for_a_table_beyond_belief_are_named(tmp_path: Path) -> None:
    """£90,000,000,000 a year on 3 points: the fitted rate makes a table that can give
    more than £100,000,000,000 (17 points). It was an internal error, with or without
    --write-table."""
    (tmp_path / "t.yaml").write_text(TABLE, encoding="utf-8")
    table = load_table(tmp_path / "t.yaml")
    rows = [("P1", "b", "a", 90_000_000_000), ("P2", "b", "a", 89_000_000_000)]
    run_score([people_csv(tmp_path / "p.csv", rows)], table, tmp_path / "a.xlsx", jobs=0)
    args = ["calibrate", str(tmp_path / "a.xlsx"), "-t", str(tmp_path / "t.yaml"),
            "-o", str(tmp_path / "c.xlsx")]  # fmt: skip
    r = CliRunner().invoke(main, [*args, "--write-table", str(tmp_path / "new.yaml")])
    assert r.exit_code == 1, r.output
    assert "the calibrated table would not be a table ras can use: allocation: the " in r.output
    assert "largest budget this table can give is £" in r.output
    assert "internal error" not in r.output
    assert not (tmp_path / "c.xlsx").exists() and not (tmp_path / "new.yaml").exists()
    r = CliRunner().invoke(main, args)  # the calibration itself can still be read
    assert r.exit_code == 0, r.output
    assert "fitted rate: £29,833,333,333.33 a point" in r.output


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (["--budget", "1e300"], "1E+300 is more than £100,000,000,000"),  # was accepted
        (["--budget", "abc"], "'abc' is not a number"),
        (["--budget", "-5"], "must be 0 or more"),
        (["--rate-step", "1e300"], "1E+300 is more than £100,000,000,000"),
        (["--rate-step", "0"], "must be above 0"),
        (["--rate-step", "-1"], "'-1': must be above 0"),  # was "must be 0 or more"
        (["--tolerance", "-1"], "'-1': must be 0 or more"),  # was "write -1%"
        (["--budget", "9", "--contingency", "100%"], "must be below 100 %"),  # was accepted
    ],
)
def test_money_options_are_checked(tmp_path: Path, option: list[str], said: str) -> None:
    (tmp_path / "t.yaml").write_text(TABLE, encoding="utf-8")
    (tmp_path / "a.xlsx").write_bytes(b"")  # never read: the options are refused first
    out = tmp_path / "c.xlsx"
    args = ["calibrate", str(tmp_path / "a.xlsx"), "-t", str(tmp_path / "t.yaml"), "-o", str(out)]
    r = CliRunner().invoke(main, [*args, *option])
    assert r.exit_code == 2, r.output
    assert said in r.output and not out.exists()


def test_a_rate_that_saves_less_than_a_lower_one_is_flagged() -> None:
    from ras.commands.compare import flag_lower_savings
    from ras.models.comparison import RunSummary
    from ras.models.plan import YearRow

    year = (YearRow.__new__(YearRow),)  # any year: a plan was made
    points = [
        RunSummary(f"rate {r}", "OPTIMAL", True, D(10), D(s), 3, year, rate=D(r))
        for r, s in (("0.10", 900), ("0", 1000), ("0.05", 1200), ("0.15", 1150))
    ]
    flagged = {p.rate: p.note for p in flag_lower_savings(points)}
    assert flagged[D("0")] == flagged[D("0.05")] == ""
    assert flagged[D("0.10")] == "saves £300.00 less than at 5 %"
    assert flagged[D("0.15")] == "saves £50.00 less than at 5 %"
