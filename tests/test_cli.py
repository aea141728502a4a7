"""The command line through click's CliRunner, the README, and the Python API."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

import ras
from ras.cli import main
from ras.io.allocation_rows import allocation_headers
from ras.models.table import PointTable
from tests.conftest import ROOT, Demo
from tests.hostile import GOOD_ANSWERS, good


def all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}".strip()
        if isinstance(cmd, click.Group):
            out += all_commands(cmd, full)
        else:
            out.append((full, cmd))
    return out


@pytest.mark.parametrize(("name", "cmd"), all_commands(main))
def test_every_command_has_help_and_is_in_the_readme(name: str, cmd: click.Command) -> None:
    assert cmd.help and len(cmd.help) > 20
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"ras {name}" in readme, f"`ras {name}` is not documented in README.md"


def test_table_check_prints_fingerprint_and_convert_round_trips(
    tmp_path: Path, adult_path: Path
) -> None:
    r = CliRunner().invoke(main, ["table", "check", str(adult_path)])
    assert r.exit_code == 0
    fp = r.stdout.strip().splitlines()[0]
    assert len(fp) == 64
    r = CliRunner().invoke(main, ["table", "convert", str(adult_path), str(tmp_path / "t.xlsx")])
    assert r.exit_code == 0
    r = CliRunner().invoke(main, ["table", "check", str(tmp_path / "t.xlsx"), "--json"])
    assert json.loads(r.stdout)["fingerprint"] == fp


def test_bad_table_is_exit_1_with_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("ras_table: 1\nname: x\nname: y\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["table", "check", str(bad)])
    assert r.exit_code == 1
    assert "bad.yaml: line 3: duplicate key 'name'" in r.output
    assert "Traceback" not in r.output


def test_usage_error_is_exit_2(adult_path: Path) -> None:
    r = CliRunner().invoke(main, ["score", "x.xlsx", "-t", str(adult_path)])
    assert r.exit_code == 2


def test_validate_writes_nothing(tmp_path: Path, adult_path: Path) -> None:
    good(tmp_path / "a.xlsx", "A-1")
    good(tmp_path / "b.xlsx", "B-1", PC1="Nope")
    before = sorted(p.name for p in tmp_path.iterdir())
    r = CliRunner().invoke(main, ["validate", str(tmp_path), "-t", str(adult_path), "--json"])
    assert r.exit_code == 1
    summary = json.loads(r.stdout)
    assert summary["people_scored"] == 1 and summary["rejected"] == 1
    assert "'Nope', which is not allowed" in summary["problems"][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_score_json_and_headers(tmp_path: Path, adult: PointTable, adult_path: Path) -> None:
    good(tmp_path / "a.xlsx", "A-1")
    out = tmp_path / "allocations.xlsx"
    r = CliRunner().invoke(
        main,
        ["score", str(tmp_path / "a.xlsx"), "-t", str(adult_path), "-o", str(out), "--json", "-q"],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["people_scored"] == 1
    wb = CalamineWorkbook.from_path(str(out))
    assert wb.sheet_names == [
        "Summary",
        "Allocations",
        "Explanations",
        "Answers",
        "Exceptions",
        "Warnings",
        "Run",
    ]
    answers = wb.get_sheet_by_name("Answers").to_python()
    assert answers[0] == ["Person ID", "Question ID", "Answer", "Points"]
    expl = wb.get_sheet_by_name("Explanations").to_python()
    # The same answers and points as the audit trail shows, one row per question answered.
    assert [r[1:] for r in answers[1:]] == [
        [r[2], r[5], r[3]] for r in expl[1:] if r[1] == "Answer" and "not answered" not in r[5]
    ]
    assert {r[0] for r in answers[1:]} == {"A-1"}
    alloc = wb.get_sheet_by_name("Allocations").to_python()
    assert alloc[0] == allocation_headers(adult)
    assert alloc[0][:5] == [
        "Person ID",
        "Source",
        "Client group",
        "Living situation",
        "Current annual cost",
    ]
    assert alloc[0][-4:] == ["Flags", "Current annual cost (£)", "Difference (£)", "Budget sheet"]
    assert Decimal(summary["total_indicative"]) == Decimal(
        str(alloc[1][alloc[0].index("Indicative budget (£/year)")])
    ).quantize(Decimal(1))
    expl = wb.get_sheet_by_name("Explanations").to_python()
    assert expl[0] == ["Person ID", "Step", "Item", "Points", "Amount (£)", "Note"]
    run_rows = {r[0]: r[1] for r in wb.get_sheet_by_name("Run").to_python()[1:]}
    assert run_rows["Table fingerprint"] == summary["table"]["fingerprint"]


def test_pseudonymise_is_stable_and_hides_ids(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    good(tmp_path / "in" / "mary-smith.xlsx", "NHS-123")
    monkeypatch.setenv("RAS_PSEUDONYMISE_KEY", "a-long-secret-key-for-tests")
    ids = []
    for n in (1, 2):
        out = tmp_path / f"o{n}.xlsx"
        r = CliRunner().invoke(
            main,
            [
                "score",
                str(tmp_path / "in"),
                "-t",
                str(adult_path),
                "-o",
                str(out),
                "--pseudonymise",
                "--budget-sheets",
                str(tmp_path / f"s{n}"),
            ],
        )
        assert r.exit_code == 0, r.output
        wb = CalamineWorkbook.from_path(str(out))
        text = str([wb.get_sheet_by_name(s).to_python() for s in wb.sheet_names])
        assert "NHS-123" not in text and "mary-smith" not in text
        ids.append(wb.get_sheet_by_name("Allocations").to_python()[1][0])
        assert "NHS-123" not in r.output
        sheets = (tmp_path / f"s{n}").iterdir()
        assert [p.stem for p in sheets if not p.name.startswith(".")] == [ids[-1]]
    assert ids[0] == ids[1] and ids[0].startswith("P-")
    monkeypatch.delenv("RAS_PSEUDONYMISE_KEY")
    r = CliRunner().invoke(
        main,
        [
            "score",
            str(tmp_path / "in"),
            "-t",
            str(adult_path),
            "-o",
            str(tmp_path / "o3.xlsx"),
            "--pseudonymise",
        ],
    )
    assert r.exit_code == 2 and "RAS_PSEUDONYMISE_KEY" in r.output


def test_python_api_matches_cli(tmp_path: Path, adult_path: Path) -> None:
    (tmp_path / "in").mkdir()
    levels = ["No support", "Some support", "Lots of support", "Exceptional support"]
    for i in range(4):
        good(tmp_path / "in" / f"{i}.xlsx", f"API-{i}", PC1=levels[i])
    frame = ras.score_frame(tmp_path / "in", ras.load_table(adult_path), jobs=0)
    out = tmp_path / "o.xlsx"
    CliRunner().invoke(main, ["score", str(tmp_path / "in"), "-t", str(adult_path), "-o", str(out)])
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Allocations").to_python()
    col = rows[0].index("Indicative budget (£/year)")
    assert [Decimal(str(r[col])) for r in rows[1:]] == list(frame["Indicative budget (£/year)"])
    assert list(frame["Person ID"]) == [f"API-{i}" for i in range(4)]


@pytest.mark.slow
def test_demo_writes_everything(demo: Demo) -> None:
    assert "allocations.xlsx" in demo.output and "Where to look" in demo.output
    wb = CalamineWorkbook.from_path(str(demo.folder / "allocations.xlsx"))
    alloc = wb.get_sheet_by_name("Allocations").to_python()
    assert len(alloc) == 151  # the heading and 150 people
    exc = wb.get_sheet_by_name("Exceptions").to_python()
    assert len({r[0] for r in exc[1:]}) == 6
    assert len(list((demo.folder / "budget-sheets").glob("*.xlsx"))) == 150
    for name in ("plan", "calibration", "transition", "comparison", "risk"):
        assert (demo.folder / f"{name}.xlsx").is_file(), name


def test_template_commands(tmp_path: Path, adult_path: Path) -> None:
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["template", "assessment", str(tmp_path / "a.xlsx"), "-t", str(adult_path)]
        ).exit_code
        == 0
    )
    assert runner.invoke(main, ["template", "table", str(tmp_path / "t.yaml")]).exit_code == 0
    assert ras.load_table(tmp_path / "t.yaml") == ras.load_table(adult_path)
    assert runner.invoke(main, ["template", "registers", str(tmp_path / "reg")]).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "reg").iterdir()) == [
        "allocations.xlsx",
        "contracts.xlsx",
        "placements.xlsx",
    ]
    wb = CalamineWorkbook.from_path(str(tmp_path / "reg" / "contracts.xlsx"))
    assert wb.sheet_names[:2] == ["Contracts", "Members"]
    assert runner.invoke(main, ["template", "scenario", str(tmp_path / "s.yaml")]).exit_code == 0
    assert "ras_scenario: 1" in (tmp_path / "s.yaml").read_text()
    # `registers plan.xlsx` made a folder called plan.xlsx: a new folder named like a file
    # is a usage error; a folder of that name that is there already is the user's.
    r = runner.invoke(main, ["template", "registers", str(tmp_path / "plan.xlsx")])
    assert r.exit_code == 2 and not (tmp_path / "plan.xlsx").exists()
    assert "is named like a file: ras writes a folder of workbooks" in r.output
    assert f"such as '{tmp_path / 'plan'}'" in r.output
    (tmp_path / "odd.xlsx").mkdir()
    assert runner.invoke(main, ["template", "registers", str(tmp_path / "odd.xlsx")]).exit_code == 0
    assert (tmp_path / "odd.xlsx" / "placements.xlsx").is_file()


def test_large_tables_are_spliced_and_huge_sheets_go_to_csv(
    tmp_path: Path, adult: PointTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    from openpyxl import load_workbook

    import ras.io.allocations as allocations
    from ras.commands.score import run_score

    header = ["Person ID", "client_group", *[q.id for _, q in adult.questions()]]
    rows = [
        [
            f"R-{i}",
            "mental_health",
            *[list(q.answers)[i % len(q.answers)] for _, q in adult.questions()],
        ]
        for i in range(40)
    ]
    bulk = tmp_path / "bulk.csv"
    bulk.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    out = tmp_path / "a.xlsx"
    outcome = run_score([bulk], adult, out, jobs=0)
    assert len(outcome.run.scored) == 40
    wb = load_workbook(out)
    ws = wb["Explanations"]
    n_steps = sum(len(outcome.run.explainer.steps(s)) for s in outcome.run.scored)
    assert ws.max_row == n_steps + 1
    assert ws.tables["Explanations"].ref == f"A1:F{n_steps + 1}"
    assert wb["Allocations"].tables["Allocations"].ref.endswith(str(41))
    values = [[c.value for c in r] for r in ws.iter_rows(min_row=2, max_row=3)]
    assert values[0][0] == "R-0" and values[0][1] == "Answer"
    # Over Excel's row limit, a sheet is written alongside as CSV and Summary says where.
    monkeypatch.setattr(allocations, "EXCEL_MAX_ROWS", 100)
    outcome = run_score([bulk], adult, tmp_path / "b.xlsx", jobs=0)
    csv_path = tmp_path / "b.explanations.csv"
    assert outcome.alongside == [csv_path, tmp_path / "b.answers.csv"]
    # calibrate and transition read the answers from the CSV the Answers sheet points to
    from ras.io.allocations import read_scored_people

    people = read_scored_people(tmp_path / "b.xlsx", adult)
    assert [p.answers for p in people] == [s.assessment.answers for s in outcome.run.scored]
    with csv_path.open(encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    assert lines[0] == ["Person ID", "Step", "Item", "Points", "Amount (£)", "Note"]
    assert len(lines) == n_steps + 1
    summary = CalamineWorkbook.from_path(str(tmp_path / "b.xlsx")).get_sheet_by_name("Summary")
    assert any("b.explanations.csv" in str(v) for r in summary.to_python() for v in r)


def test_the_command_line_reads_well() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["-V"]).output.startswith("ras, version ")
    listing = runner.invoke(main, ["--help"]).output
    commands = listing.split("Commands:")[1]
    assert "..." not in commands  # descriptions are wrapped, not cut
    assert "released, when." in listing


def test_one_person_is_not_people(tmp_path: Path, adult_path: Path) -> None:
    from ras.commands.demo import write_assessments

    write_assessments(ras.load_table(adult_path), tmp_path / "in", 1)
    r = CliRunner().invoke(
        main, ["score", str(tmp_path / "in"), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
    )
    assert r.exit_code == 0, r.output
    assert "1 file: 1 person scored, none rejected, 0 warnings" in r.output
    r = CliRunner().invoke(
        main,
        ["score", str(tmp_path / "in"), "-t", str(adult_path), "-o", str(tmp_path / "b.xlsx")]
        + ["--budget-sheets", str(tmp_path / "sheets")],
    )
    assert r.exit_code == 0, r.output
    assert f"and 1 budget sheet in {tmp_path / 'sheets'}" in r.output


def test_control_characters_from_inputs_do_not_reach_the_terminal(
    tmp_path: Path, adult_path: Path
) -> None:
    """A file name or value with an escape sequence or a bell is printed as its escape:
    an input cannot recolour the terminal, move its cursor or beep."""
    folder = tmp_path / "in"
    folder.mkdir()
    good(
        folder / "red\x1b[31m.xlsx", "T-1", PC1="not_x0007_an answer"
    )  # Excel's escape: read as a bell
    good(folder / "ok.xlsx", "T-2")
    r = CliRunner().invoke(
        main, ["score", str(folder), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
    )
    assert r.exit_code == 1, r.output
    assert "red\\x1b[31m.xlsx" in r.output  # named, and still findable
    assert not any(c in r.output for c in "\x1b\x07\r"), repr(r.output)
    assert "1 person scored, 1 rejected" in r.output


def test_a_command_run_in_process_leaves_ctrl_c_alone(adult_path: Path, tmp_path: Path) -> None:
    """Only the `ras` process ignores a late Ctrl-C: a caller keeps its handler.

    (Processes started later inherit an ignored SIGINT: a test's own `ras optimise`
    subprocess once could not be interrupted after an in-process command had run.)
    """
    import signal

    before = signal.getsignal(signal.SIGINT)
    ok = CliRunner().invoke(main, ["table", "check", str(adult_path)])
    (tmp_path / "bad.yaml").write_text("not: a table\n", encoding="utf-8")
    bad = CliRunner().invoke(main, ["table", "check", str(tmp_path / "bad.yaml")])
    assert ok.exit_code == 0 and bad.exit_code != 0
    assert signal.getsignal(signal.SIGINT) is before


def test_an_output_named_with_an_ending_ras_does_not_write_is_refused(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ras table convert t.yaml t.xls` wrote YAML text into t.xls, and `ras template
    assessment blank.txt` a workbook named .txt: a usage error now, as `--out a.csv` was."""
    scenario = ROOT / "scenarios" / "example.yaml"
    for args, said in (
        (["template", "assessment", "blank.txt", "-t", str(adult_path)], "OUT 'blank.txt'"),
        (["template", "table", "t.xls"], "OUT 't.xls'"),
        (["template", "scenario", "s.txt"], "OUT 's.txt'"),
        (["table", "convert", str(adult_path), "t.xls"], "DEST 't.xls'"),
        (["scenario", "convert", str(scenario), "s.csv"], "DEST 's.csv'"),
    ):
        here = tmp_path / f"{args[0]}-{args[1]}"
        here.mkdir()
        monkeypatch.chdir(here)
        r = CliRunner().invoke(main, [*args, "--json"])
        assert r.exit_code == 2, (args, r.output)
        error = json.loads(r.stdout)["error"]
        assert error.startswith(f"{said} is not an .xlsx"), error
        assert error.endswith("(nothing was written)")
        assert list(here.iterdir()) == []
    r = CliRunner().invoke(main, ["table", "convert", str(adult_path), "t.yml"])
    assert r.exit_code == 0 and (here / "t.yml").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["optimise", "s.yaml", "--bogus"], "No such option '--bogus'"),
        (["optimise", "s.yaml"], "Missing option '--out' / '-o'."),
        (["template", "table"], "Missing argument 'OUT'."),
        (["bogus"], "No such command 'bogus'."),
    ],
)
def test_a_command_line_click_cannot_parse_is_an_error_in_json_too(
    args: list[str], said: str
) -> None:
    """Under --json a script read nothing on stdout when click refused the command line:
    it gets ras's JSON error, as for any other usage error; stderr is as click says it."""
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 2
    error = json.loads(r.stdout)
    assert error["exit_code"] == 2 and error["error"].startswith(said)
    assert "Usage: " in r.stderr
    plain = CliRunner().invoke(main, args)
    assert plain.exit_code == 2 and plain.stdout == ""


@pytest.mark.parametrize("option", ["--gap", "--time-limit"])
def test_nan_is_not_a_number_for_an_option(tmp_path: Path, option: str) -> None:
    """click's ranges let nan through; it reached the solver (a plan 'within nan s')."""
    scenario = ROOT / "scenarios" / "example.yaml"
    out = tmp_path / "plan.xlsx"
    r = CliRunner().invoke(main, ["optimise", str(scenario), "-o", str(out), option, "nan"])
    assert r.exit_code == 2, r.output
    assert "'nan' is not a number" in r.output and not out.exists()


def test_rejected_counts_assessments_not_their_problems(tmp_path: Path, adult_path: Path) -> None:
    """A blank assessment from `ras template assessment` (14 problems then) was "12
    rejected": one for each row its problems were on. A workbook or a bulk row with two
    problems is one rejected (the blank one is now one problem, `blank-assessment`)."""
    folder = tmp_path / "in"
    folder.mkdir()
    r = CliRunner().invoke(
        main, ["template", "assessment", str(folder / "blank.xlsx"), "-t", str(adult_path)]
    )
    assert r.exit_code == 0, r.output
    good(folder / "two.xlsx", "T-2", PC1="Nope", PC2="Nope either")
    head = ["Person ID", "Client group", *GOOD_ANSWERS]
    rows = [
        ["B-1", "older_people", "Nope", "Nope", *list(GOOD_ANSWERS.values())[2:]],
        ["B-2", "nobody", "Nope", *list(GOOD_ANSWERS.values())[1:]],
        ["B-3", "older_people", *GOOD_ANSWERS.values()],
    ]
    (folder / "bulk.csv").write_text(
        "\n".join(",".join(r) for r in [head, *rows]) + "\n", encoding="utf-8"
    )
    r = CliRunner().invoke(
        main, ["validate", str(folder), str(folder / "bulk.csv"), "-t", str(adult_path), "--json"]
    )
    assert r.exit_code == 1, r.output
    summary = json.loads(r.stdout)
    assert len(summary["problems"]) == 7  # 1 + 2 for two.xlsx, 2 for each bulk row
    assert summary["rejected"] == 4  # the blank one, two.xlsx, B-1 and B-2


def test_a_csv_in_a_folder_is_named_not_read(tmp_path: Path, adult_path: Path) -> None:
    """A bulk table dropped into a folder of workbooks was skipped without a word, and a
    folder of CSV files said "no input files (.xlsx, .xlsm or .csv) found"."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bulk.csv").write_text("Person ID\nB-1\n", encoding="utf-8")
    (folder / "allocations.explanations.csv").write_text("x\n", encoding="utf-8")  # ras's
    r = CliRunner().invoke(main, ["validate", str(folder), "-t", str(adult_path)])
    assert r.exit_code == 2, r.output
    assert "no assessment workbooks (.xlsx, .xlsm) found in" in r.output
    assert f"a bulk table is read when named: {folder / 'bulk.csv'}" in r.output
    good(folder / "a.xlsx", "A-1")
    r = CliRunner().invoke(main, ["validate", str(folder), "-t", str(adult_path), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["people_scored"] == 1 and summary["warnings"] == 1
    assert (
        f"warning: {folder / 'bulk.csv'}: is a CSV file in a folder; it was not read "
        "(to score it as a bulk table, give the file itself as an INPUT)"
    ) in r.stderr
    assert "explanations.csv" not in r.stderr
