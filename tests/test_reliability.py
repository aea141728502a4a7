"""Interrupted runs, outputs that never mislead, odd inputs (SPEC §16, issue 9)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from python_calamine import CalamineWorkbook

from ras.cli import main
from tests.conftest import ROOT, Demo
from tests.hostile import good, rewrite_member

TABLE = "adult-social-care.yaml"


def _ras(*args: str) -> list[str]:
    return [sys.executable, "-m", "ras", *args]


def _group(pgid: int) -> list[int]:
    """Processes still running in a process group (a zombie has exited: init reaps it)."""
    found = []
    for entry in (p.name for p in Path("/proc").iterdir()):
        if entry.isdigit():
            try:
                state = (Path("/proc") / entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if os.getpgid(int(entry)) == pgid and state != "Z":
                    found.append(int(entry))
            except (OSError, IndexError):
                pass
    return found


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    """Wait for a run sent Ctrl-C (its stderr, if piped); one that does not stop is
    killed, group and all.

    A run that hung used to outlive its failed test, holding Dask's port 8787 and
    making later clusters warn about it.
    """
    try:
        return proc.communicate(timeout=timeout)[1] or ""
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise


def _assessments(folder: Path, n: int, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        good(folder / f"a{i:03d}.xlsx", f"A{i:03d}")
    return folder


def _score(inputs: Path, table: Path, out: Path, sheets: Path, *extra: str) -> object:
    """``ras score INPUTS -t TABLE -o OUT --budget-sheets SHEETS`` through the CLI."""
    args = ["score", str(inputs), "-t", str(table), "-o", str(out), "--budget-sheets", str(sheets)]
    return CliRunner().invoke(main, [*args, *extra])


def _alloc_sheet_column(path: Path) -> dict[str, str]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Allocations").to_python()
    col = rows[0].index("Budget sheet")
    return {str(r[0]): str(r[col]) for r in rows[1:]}


def test_a_rerun_leaves_no_stale_sheet_and_lists_each_file(
    tmp_path: Path, adult_path: Path
) -> None:
    inputs = _assessments(tmp_path / "in", 3)
    good(inputs / "odd.xlsx", "ZOË-Ø3")
    sheets, out = tmp_path / "sheets", tmp_path / "allocations.xlsx"
    args = ["score", str(inputs), "-t", str(adult_path), "-o", str(out)]
    r = CliRunner().invoke(main, [*args, "--budget-sheets", str(sheets)])
    assert r.exit_code == 0, r.output
    listed = _alloc_sheet_column(out)
    assert listed["ZOË-Ø3"] == "ZO_-_3.xlsx"  # a mangled name can still be traced
    assert sorted(p.name for p in sheets.glob("*.xlsx")) == sorted(listed.values())
    (sheets / "notes-by-a-planner.txt").write_text("mine", encoding="utf-8")
    (inputs / "a001.xlsx").unlink()  # a person leaves
    r = CliRunner().invoke(main, [*args, "--budget-sheets", str(sheets)])
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in sheets.iterdir() if not p.name.startswith("."))
    assert "A001.xlsx" not in names  # no out-of-date budget survives
    assert names == sorted([*_alloc_sheet_column(out).values(), "notes-by-a-planner.txt"])
    assert not list(tmp_path.glob(".sheets.ras-*"))
    # A planner's own file named as a sheet this run writes (a person who has joined)
    # was replaced without a word; now the run is refused, and nothing is written.
    (sheets / "A001.xlsx").write_bytes(b"a planner's own notes on A001")
    good(inputs / "a001.xlsx", "A001")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    r = CliRunner().invoke(main, [*args, "--budget-sheets", str(sheets)])
    assert r.exit_code == 1, r.output
    assert f"{sheets / 'A001.xlsx'}: not written by ras, and this run writes" in r.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_reruns_into_the_input_folder_read_only_the_inputs(
    tmp_path: Path, adult_path: Path
) -> None:
    """Outputs kept among the inputs are not read again as assessments.

    A second run read the first run's allocations.xlsx (rejected: exit 1), its budget
    sheets (each person a duplicate of themselves) and --in-place's backups (the real
    workbook rejected as the duplicate, and a backup of the backup written).
    """
    inputs = _assessments(tmp_path / "in", 2)
    out, sheets = inputs / "allocations.xlsx", inputs / "sheets"
    for _ in range(2):
        r = _score(inputs, adult_path, out, sheets)
        assert r.exit_code == 0, r.output
        assert "2 files: 2 people scored, none rejected, 0 warnings" in r.output
    for _ in range(2):
        args = ["score", str(inputs), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
        r = CliRunner().invoke(main, [*args, "--in-place"])
        assert r.exit_code == 0, r.output
        # The first run's sheets and allocations are not read, with a warning each.
        assert "3 files: 2 people scored, none rejected, 2 warnings" in r.output
    assert sorted(p.name for p in inputs.glob("*.xlsx")) == [
        "a000.backup.xlsx", "a000.xlsx", "a001.backup.xlsx", "a001.xlsx", "allocations.xlsx"
    ]  # fmt: skip
    assert "in/sheets: is a folder of budget sheets ras wrote" in r.output
    assert "in/allocations.xlsx: is an allocations workbook ras wrote, not assessments" in r.output


def test_registers_kept_beside_the_assessments_are_not_scored(
    tmp_path: Path, adult_path: Path
) -> None:
    """A commissioner's folder holds the registers too: the placements register was read
    as a bulk table (a rejected row for each placement, exit 1), the contracts register
    rejected as unreadable."""
    inputs = _assessments(tmp_path / "in", 1)
    example = Path(__file__).resolve().parents[1] / "scenarios" / "example"
    for name in ("placements.xlsx", "contracts.xlsx"):
        (inputs / name).write_bytes((example / name).read_bytes())
    args = ["score", str(inputs), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert "3 files: 1 person scored, none rejected, 2 warnings" in r.output
    assert "placements.xlsx: is a placements register, not assessments" in r.output
    assert "contracts.xlsx: is a contracts register, not assessments" in r.output


@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["optimise", "{scenario}", "-o", "{dir}/placements.xlsx"], "the placements register"),
        (["simulate", "{scenario}", "-o", "{dir}/contracts.xlsx"], "the contracts register"),
        (["compare", "{scenario}", "-o", "{dir}/allocations.xlsx"], "the allocations workbook"),
        (["calibrate", "{dir}/allocations.xlsx", "-t", "{table}", "-o", "{dir}/allocations.xlsx"],
         "the allocations workbook"),
        (["calibrate", "{dir}/allocations.xlsx", "-t", "{table}", "-o", "{dir}/c.xlsx",
          "--write-table", "{dir}/c.xlsx"], "is the --out file"),
        (["transition", "{dir}/allocations.xlsx", "{dir}/new.xlsx", "-o", "{dir}/allocations.xlsx"],
         "is OLD"),
        (["score", "{dir}/in", "-t", "{table}", "-o", "{dir}/in/a000.xlsx"], "read as an INPUT"),
        (["score", "{dir}/in/a000.xlsx", "-t", "{table}", "-o", "{dir}/in/a000.xlsx"],
         "is an INPUT and the --out file"),
        (["score", "{dir}/in", "-t", "{table}", "-o", "{dir}/allocations.xlsx",
          "--previous", "{dir}/allocations.xlsx", "--budget-sheets", "{dir}/sheets"],
         "is --previous"),
        # converting a file onto itself put the canonical form over it, comments and all
        (["scenario", "convert", "{scenario}", "{scenario}"], "is the SOURCE of this run"),
        (["table", "convert", "{dir}/t.yaml", "{dir}/./t.yaml"], "is the SOURCE of this run"),
        (["template", "assessment", "{dir}/t.xlsx", "--table", "{dir}/t.xlsx", "--force"],
         "is the --table of this run"),
    ],
)  # fmt: skip
def test_an_output_is_never_written_over_an_input(
    tmp_path: Path, adult_path: Path, command: list[str], said: str
) -> None:
    """A slip of --out onto an input (the placements register, a person's assessment)
    replaced it with the output: every command wrote over its own inputs."""
    from tests.test_scenario_registers import base_case

    scenario = base_case(tmp_path)
    _assessments(tmp_path / "in", 2)
    (tmp_path / "new.xlsx").write_bytes((tmp_path / "allocations.xlsx").read_bytes())
    (tmp_path / "t.yaml").write_bytes(adult_path.read_bytes())
    shutil.copy(ROOT / "templates" / "xlsx" / "table-adult-social-care.xlsx", tmp_path / "t.xlsx")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    fill = {"scenario": str(scenario), "dir": str(tmp_path), "table": str(adult_path)}
    r = CliRunner().invoke(main, [part.format(**fill) for part in command])
    assert r.exit_code == 2, r.output
    assert said in r.output and "choose another" in r.output
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_an_output_marked_read_only_is_not_replaced(tmp_path: Path, adult_path: Path) -> None:
    """A plan or allocations someone marked read-only (the approved one) was replaced."""
    from tests.test_scenario_registers import base_case

    scenario = base_case(tmp_path)
    inputs = _assessments(tmp_path / "in", 1)
    approved = tmp_path / "approved.xlsx"
    approved.write_bytes(b"the plan the board approved")
    approved.chmod(0o444)
    kept = tmp_path / "kept.yaml"
    kept.write_text("the table in force", encoding="utf-8")
    kept.chmod(0o444)
    scored = CliRunner().invoke(
        main, ["score", str(inputs), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx")]
    )
    assert scored.exit_code == 0, scored.output
    for args in (
        ["optimise", str(scenario), "-o", str(approved)],
        ["score", str(inputs), "-t", str(adult_path), "-o", str(approved)],
        ["calibrate", str(tmp_path / "a.xlsx"), "-t", str(adult_path),
         "-o", str(tmp_path / "calibration.xlsx"), "--write-table", str(kept)],
    ):  # fmt: skip
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, r.output
        assert "is marked read-only, so ras does not replace it" in r.output
    assert approved.read_bytes() == b"the plan the board approved"
    assert kept.read_text(encoding="utf-8") == "the table in force"
    assert not (tmp_path / "calibration.xlsx").exists()  # both outputs, or neither


def test_a_folder_ras_did_not_write_is_refused(tmp_path: Path, adult_path: Path) -> None:
    inputs = _assessments(tmp_path / "in", 1)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "budget.xlsx").write_bytes(b"someone's file")
    out = tmp_path / "allocations.xlsx"
    r = _score(inputs, adult_path, out, theirs)
    assert r.exit_code == 2, r.output
    assert "not empty and ras did not write it" in r.output
    assert not out.exists()
    assert [p.name for p in theirs.iterdir()] == ["budget.xlsx"]


def test_usage_errors_write_nothing(tmp_path: Path, adult_path: Path) -> None:
    inputs = _assessments(tmp_path / "in", 1)
    out = tmp_path / "allocations.xlsx"
    policy = tmp_path / "policy.yaml"  # read as a policy, or as a key of 16 characters
    policy.write_text("ras_policy: 1\nyears: 3\n", encoding="utf-8")
    for args, words in (
        (
            ["score", str(tmp_path / "missing"), "-t", str(adult_path), "-o", str(out)],
            "does not exist",
        ),
        (
            ["score", str(tmp_path / "empty"), "-t", str(adult_path), "-o", str(out)],
            "no assessment workbooks",
        ),
        (["score", str(inputs), "-t", str(adult_path), "-o", str(tmp_path / "a.csv")], ".xlsx"),
        (  # the folder of sheets was quietly left unwritten
            ["score", str(inputs), "-t", str(adult_path), "-o", str(out), "--in-place",
             "--budget-sheets", str(tmp_path / "sheets")],
            "give --in-place (the sheet into each input workbook) or --budget-sheets DIR",
        ),
    ):  # fmt: skip
        (tmp_path / "empty").mkdir(exist_ok=True)
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert words in r.output, r.output
        assert "Traceback" not in r.output
        assert not out.exists() and not (tmp_path / "a.csv").exists()
    assert not (tmp_path / "sheets").exists() and not (inputs / "a000.backup.xlsx").exists()


def test_a_file_named_on_the_command_line_that_is_not_there_is_a_usage_error(
    tmp_path: Path, adult_path: Path
) -> None:
    """SPEC §16: an input path or scenario that does not exist is a usage error (exit
    2). A missing scenario, table, allocations workbook, policy or key file was exit 1,
    as if the input were wrong; only a missing INPUT of `ras score` was exit 2."""
    gone = str(tmp_path / "gone.yaml")
    table, out = str(adult_path), str(tmp_path / "out.xlsx")
    inputs = str(_assessments(tmp_path / "in", 1))
    commands = [
        ["optimise", gone, "-o", out],
        ["compare", gone, "-o", out],
        ["simulate", gone, "-o", out],
        ["scenario", "check", gone],
        ["scenario", "convert", gone, str(tmp_path / "s.xlsx")],
        ["table", "check", gone],
        ["table", "convert", gone, str(tmp_path / "t.xlsx")],
        ["template", "assessment", out, "-t", gone],
        ["score", inputs, "-t", gone, "-o", out],
        ["validate", inputs, "-t", gone],
        ["score", inputs, "-t", table, "-o", out, "--pseudonymise", "--key-file", gone],
        ["calibrate", gone, "-t", table, "-o", out],
        ["calibrate", table, "-t", gone, "-o", out],
        ["transition", gone, gone, "-o", out],
    ]
    for args in commands:
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, (args, r.output)
        assert f"error: {gone} does not exist; check the path" in r.output, (args, r.output)
        assert "Traceback" not in r.output
        assert not Path(out).exists()
        assert not (tmp_path / "s.xlsx").exists() and not (tmp_path / "t.xlsx").exists()
    r = CliRunner().invoke(main, [*commands[0], "--json"])
    assert json.loads(r.stdout) == {
        "error": f"{gone} does not exist; check the path (nothing was written)",
        "exit_code": 2,
    }
    # A link to a file that is gone says where it leads, as a missing INPUT of `score` did.
    link = tmp_path / "link.yaml"
    link.symlink_to(tmp_path / "moved" / "s.yaml")
    for args in (["optimise", str(link), "-o", out], ["score", str(link), "-t", table, "-o", out]):
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, r.output
        assert (
            f"error: {link} does not exist (it is a link to {tmp_path / 'moved' / 's.yaml'}, "
            "which does not exist); check the path"
        ) in r.output, r.output
    r = CliRunner().invoke(main, ["optimise", str(tmp_path), "-o", out, "--json"])
    assert r.exit_code == 2  # click said so, with usage text and no JSON
    assert (
        json.loads(r.stdout)["error"]
        == f"{tmp_path} is a folder, not a file; check the path (nothing was written)"
    )


def test_an_option_that_does_nothing_alone_is_said_to_be_unused(
    tmp_path: Path, adult_path: Path
) -> None:
    """Options that act only with another were ignored without a word; the run is still
    made (an error would fail scripts that pass them every time)."""
    inputs = _assessments(tmp_path / "in", 1)
    out = tmp_path / "allocations.xlsx"
    policy = tmp_path / "policy.yaml"  # read as a policy, or as a key of 16 characters
    policy.write_text("ras_policy: 1\nyears: 3\n", encoding="utf-8")
    score = ["score", str(inputs), "-t", str(adult_path), "-o", str(out)]
    r = CliRunner().invoke(main, [*score, "--previous", str(out), "--key-file", str(policy)])
    assert r.exit_code == 2, r.output  # --previous names the --out: refused, as before
    r = CliRunner().invoke(main, [*score, "--policy", str(policy), "--key-file", str(policy)])
    assert r.exit_code == 0, r.output
    assert "warning: --key-file is used only with --pseudonymise; it was left unused" in r.output
    assert "warning: --policy is used only with --previous; it was left unused" in r.output
    old = tmp_path / "old.xlsx"
    old.write_bytes(out.read_bytes())
    r = CliRunner().invoke(main, [*score, "--previous", str(old)])
    assert r.exit_code == 0, r.output
    assert "warning: --previous is used only with --budget-sheets or --in-place" in r.output
    calibrate = ["calibrate", str(out), "-t", str(adult_path), "-o", str(tmp_path / "c.xlsx")]
    r = CliRunner().invoke(main, [*calibrate, "--rate-step", "1", "--contingency", "10%"])
    assert r.exit_code == 0, r.output
    assert "warning: --rate-step is used only with --write-table; it was left unused" in r.output
    assert "warning: --contingency is used only with --budget; it was left unused" in r.output
    assert (tmp_path / "c.xlsx").exists()


@pytest.mark.parametrize("closed", ["stdout", "stderr"])
def test_a_reader_that_goes_away_does_not_stop_the_run(
    tmp_path: Path, adult_path: Path, closed: str
) -> None:
    """``ras score ... --json | head -1``: once head has gone, the run still writes."""
    inputs = _assessments(tmp_path / "in", 3)
    out = tmp_path / "allocations.xlsx"
    args = _ras("score", str(inputs), "-t", str(adult_path), "-o", str(out), "--json", "-j", "0")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    gone, kept = (proc.stdout, proc.stderr) if closed == "stdout" else (proc.stderr, proc.stdout)
    assert gone is not None and kept is not None
    gone.close()  # before ras writes a line to it
    said = kept.read()
    assert proc.wait(timeout=120) == 0, said
    assert "internal error" not in said and "Traceback" not in said
    assert len(_alloc_sheet_column(out)) == 3


def test_links_and_folders_named_like_workbooks(tmp_path: Path, adult_path: Path) -> None:
    inputs = _assessments(tmp_path / "in", 1)
    outside = _assessments(tmp_path / "elsewhere", 1, start=50)
    (inputs / "dangling.xlsx").symlink_to(tmp_path / "gone.xlsx")
    (inputs / "linked.xlsx").symlink_to(outside / "a050.xlsx")
    (inputs / "folder.xlsx").mkdir()
    good(inputs / "folder.xlsx" / "inner.xlsx", "INNER")
    out = tmp_path / "allocations.xlsx"
    r = CliRunner().invoke(main, ["score", str(inputs), "-t", str(adult_path), "-o", str(out)])
    assert r.exit_code == 1, r.output  # the broken link is an exception
    assert "Errno" not in r.output
    assert "is a link to" in r.output and "which does not exist" in r.output
    wb = CalamineWorkbook.from_path(str(out))
    ids = sorted(str(r[0]) for r in wb.get_sheet_by_name("Allocations").to_python()[1:])
    assert ids == ["A000", "A050", "INNER"]
    run = wb.get_sheet_by_name("Run").to_python()
    followed = [r for r in run if r[0] == "Followed link"]
    assert followed and str((outside / "a050.xlsx").resolve()) in str(followed[0][1])
    warnings = wb.get_sheet_by_name("Warnings").to_python()
    assert any("is a folder, not a workbook" in str(r) for r in warnings)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_in_a_folder_is_named_not_waited_on_for_ever(
    tmp_path: Path, adult_path: Path
) -> None:
    """Opening a named pipe waits for something to write into it: a pipe among the
    assessments stopped ras for good. One named on the command line is still read (the
    shell's ``<(...)``)."""
    inputs = _assessments(tmp_path / "in", 1)
    os.mkfifo(inputs / "pipe.xlsx")
    out = tmp_path / "allocations.xlsx"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "ras", "score", str(inputs), "-t", str(adult_path), "-o", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,  # a regression waits for ever: this fails it instead
    )
    assert done.returncode == 1, done.stderr
    assert f"{inputs / 'pipe.xlsx'}: is a named pipe, not a file saved on disk" in done.stderr
    assert "Traceback" not in done.stderr
    wb = CalamineWorkbook.from_path(str(out))
    assert [r[0] for r in wb.get_sheet_by_name("Allocations").to_python()[1:]] == ["A000"]
    exceptions = wb.get_sheet_by_name("Exceptions").to_python()[1:]
    assert [(r[0], r[4]) for r in exceptions] == [
        (str(inputs / "pipe.xlsx"), "is a named pipe, not a file saved on disk; it was not opened")
    ]
    # a table given through a pipe, as `-t <(cat table.yaml)` gives it, is read
    table = subprocess.run(
        f"{sys.executable} -m ras score {inputs / 'a000.xlsx'} -t <(cat {adult_path}) -o {out}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr


def test_a_name_that_is_not_utf8_is_named_not_an_internal_error(
    tmp_path: Path, adult_path: Path
) -> None:
    """Names unpacked from a Windows zip file can be cp1252 bytes (``caf\\xe9.xlsx``):
    every such name among the inputs, or as the table or ``--out``, stopped the run
    with "internal error (UnicodeEncodeError: ... surrogates not allowed)"."""
    inputs = _assessments(tmp_path / "in", 1)
    good(inputs / os.fsdecode(b"caf\xe9.xlsx"), "CAFE")
    (inputs / os.fsdecode(b"r\xe9sum\xe9s")).mkdir()
    good(inputs / os.fsdecode(b"r\xe9sum\xe9s") / "inner.xlsx", "INNER")
    out = tmp_path / "allocations.xlsx"
    r = CliRunner().invoke(main, ["score", str(inputs), "-t", str(adult_path), "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert "internal error" not in r.output
    wb = CalamineWorkbook.from_path(str(out))
    assert [row[0] for row in wb.get_sheet_by_name("Allocations").to_python()[1:]] == ["A000"]
    exceptions = wb.get_sheet_by_name("Exceptions").to_python()[1:]
    assert sorted(row[0] for row in exceptions) == [
        f"{inputs}/caf\\xe9.xlsx",
        f"{inputs}/r\\xe9sum\\xe9s/inner.xlsx",
    ]
    assert all(row[4].startswith("the name is not UTF-8 text") for row in exceptions)
    assert all(row[5] == "rename it" for row in exceptions)
    for option in ("-o", "-t"):
        named = {"-o": str(out), "-t": str(adult_path)}
        named[option] = str(tmp_path / os.fsdecode(b"\xe9t\xe9.xlsx"))
        args = ["score", str(inputs / "a000.xlsx"), "-t", named["-t"], "-o", named["-o"]]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 2, r.output
        assert f"{option.replace('-o', '--out').replace('-t', '--table')} " in r.output
        assert "\\xe9t\\xe9.xlsx: the name is not UTF-8 text" in r.output
    assert not (tmp_path / os.fsdecode(b"\xe9t\xe9.xlsx")).exists()


def test_a_name_too_long_for_the_file_system_is_one_short_line(
    tmp_path: Path, adult_path: Path
) -> None:
    """A 300-character --out or --budget-sheets stopped the run with an internal error
    quoting the whole name (File name too long)."""
    inputs = _assessments(tmp_path / "in", 1)
    long_name = "x" * 300
    for extra in (
        ["-o", str(tmp_path / f"{long_name}.xlsx")],
        ["-o", str(tmp_path / "allocations.xlsx"), "--budget-sheets", str(tmp_path / long_name)],
    ):
        r = CliRunner().invoke(main, ["score", str(inputs), "-t", str(adult_path), *extra])
        assert r.exit_code == 1, r.output
        lines = [line for line in r.output.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "internal error" not in lines[0], r.output
        assert "choose a shorter name" in lines[0] and "x" * 81 not in lines[0]
    # under --json, said on stdout too (an error ras had not foreseen printed no JSON)
    sheets = ["--budget-sheets", str(tmp_path / long_name)]
    args = ["score", str(inputs), "-t", str(adult_path), "-o", str(tmp_path / "a.xlsx"), *sheets]
    r = CliRunner().invoke(main, [*args, "--json"])
    said = json.loads(r.stdout)
    assert said["exit_code"] == 1 and said["error"].endswith("choose a shorter name")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_in_place_leaves_a_read_only_workbook_and_keeps_each_ones_permissions(
    tmp_path: Path, adult_path: Path
) -> None:
    inputs = _assessments(tmp_path / "in", 3)
    locked, private = inputs / "a001.xlsx", inputs / "a002.xlsx"
    locked.chmod(0o444)
    private.chmod(0o640)
    before = locked.read_bytes()
    macros = inputs / "m.xlsm"
    rewrite_member(good(tmp_path / "m.xlsx", "MAC"), macros, "", b"", extra={"x.bin": b"VBA"})
    with_macros = macros.read_bytes()
    out = tmp_path / "allocations.xlsx"
    r = CliRunner().invoke(
        main, ["score", str(inputs), "-t", str(adult_path), "-o", str(out), "--in-place"]
    )
    assert r.exit_code == 0, r.output
    assert f"warning: {locked}: not written in place: the workbook is marked read-only" in r.output
    # before, the read-only workbook was replaced (a rename needs only the folder) and
    # every workbook written in place came back with the umask's permissions
    assert locked.read_bytes() == before and not (inputs / "a001.backup.xlsx").exists()
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444
    assert stat.S_IMODE(private.stat().st_mode) == 0o640
    assert "Indicative budget" in CalamineWorkbook.from_path(str(private)).sheet_names
    assert f"warning: {macros}: not written in place: ras never writes into a macro" in r.output
    assert "and the budget sheet into 2 input workbooks (each first copied to" in r.output
    assert macros.read_bytes() == with_macros
    assert _alloc_sheet_column(out) == {
        "A000": "a000.xlsx", "A001": "", "A002": "a002.xlsx", "MAC": ""
    }  # fmt: skip


def test_outputs_follow_the_umask(tmp_path: Path, adult_path: Path) -> None:
    inputs = _assessments(tmp_path / "in", 1)
    code = (
        "import os, sys; os.umask(0o022); from ras.cli import main; sys.argv = ['ras'] + "
        "sys.argv[1:]; main()"
    )
    for args in (
        [
            "score",
            str(inputs),
            "-t",
            str(adult_path),
            "-o",
            str(tmp_path / "a.xlsx"),
            "--budget-sheets",
            str(tmp_path / "sheets"),
        ],
        ["template", "registers", str(tmp_path / "registers")],
        ["template", "table", str(tmp_path / "table.xlsx")],
    ):
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    made = [
        tmp_path / "a.xlsx",
        *(tmp_path / "sheets").glob("*.xlsx"),
        *(tmp_path / "registers").glob("*.xlsx"),
        tmp_path / "table.xlsx",
    ]
    assert len(made) >= 5
    for path in made:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert stat.S_IMODE((tmp_path / "sheets").stat().st_mode) == 0o755


def test_a_folder_named_ras_in_the_working_directory(tmp_path: Path, adult_path: Path) -> None:
    _assessments(tmp_path / "in", 3)
    (tmp_path / "ras").mkdir()  # e.g. the parent folder of a checkout
    r = subprocess.run(
        [
            str(Path(sys.executable).with_name("ras")),
            "score",
            "in",
            "-t",
            str(adult_path),
            "-o",
            "a.xlsx",
            "--budget-sheets",
            "sheets",
            "--jobs",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "ImportError" not in r.stderr and "Traceback" not in r.stderr
    assert len(list((tmp_path / "sheets").glob("*.xlsx"))) == 3


def _interrupt(
    tmp_path: Path, adult_path: Path, after: float, twice: bool
) -> tuple[int, float, int]:
    proc = subprocess.Popen(
        _ras("score", "in", "-t", str(adult_path), "-o", "a.xlsx", "--budget-sheets", "sheets"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    # Interrupt mid-run: once the new sheets are being written beside the old folder.
    end = time.monotonic() + after
    while time.monotonic() < end and proc.poll() is None:
        if list(tmp_path.glob(".sheets.ras-new-*")):
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole group
    if twice:
        time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    _finish(proc)
    took = time.monotonic() - sent
    time.sleep(0.2)
    return proc.returncode, took, len(_group(proc.pid))


@pytest.mark.parametrize("twice", [False, True])
def test_ctrl_c_during_score_is_all_or_nothing(
    tmp_path: Path, adult_path: Path, twice: bool
) -> None:
    _assessments(tmp_path / "in", 150)
    first = subprocess.run(
        _ras("score", "in", "-t", str(adult_path), "-o", "a.xlsx", "--budget-sheets", "sheets"),
        cwd=tmp_path,
        capture_output=True,
        timeout=300,
    )
    assert first.returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sheets").iterdir()}
    alloc_before = (tmp_path / "a.xlsx").stat().st_mtime_ns
    (tmp_path / "in" / "a000.xlsx").unlink()
    code, took, left = _interrupt(tmp_path, adult_path, 60.0, twice)
    if code == 0:  # pragma: no cover - the machine finished first; nothing to judge
        pytest.skip("the run finished before Ctrl-C arrived")
    assert code == 130
    assert took < 2.0
    assert left == 0  # no worker, forkserver or tracker outlives ras
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "sheets").iterdir()}
    assert after == before  # the old folder is exactly as it was
    assert (tmp_path / "a.xlsx").stat().st_mtime_ns == alloc_before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    ("to", "sent"),
    [("group", signal.SIGTERM), ("ras", signal.SIGTERM), ("group", signal.SIGHUP)],
)
def test_sigterm_during_score_stops_every_process_and_writes_nothing(
    tmp_path: Path, adult_path: Path, to: str, sent: signal.Signals
) -> None:
    """SIGTERM to the whole group (a service manager) or to ras alone (`kill PID`), or
    SIGHUP (the terminal closed), was not handled: ras died of it (exit -15) with its
    workers still running, its hidden budget-sheet folder and temporary files left
    behind."""
    _assessments(tmp_path / "in", 150)
    proc = subprocess.Popen(
        _ras("score", "in", "-t", str(adult_path), "-o", "a.xlsx", "--budget-sheets", "s"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # as from a terminal, whatever this test runs under (nohup would ignore SIGHUP)
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 60  # until its workers write the budget sheets
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(".s.ras-new-") for p in tmp_path.iterdir()):
            break
        time.sleep(0.01)
    if proc.poll() is not None:  # pragma: no cover - finished first
        pytest.skip("the run finished before SIGTERM was sent")
    if to == "group":
        os.killpg(proc.pid, sent)
    else:
        os.kill(proc.pid, sent)
    began = time.monotonic()
    err = _finish(proc)
    assert time.monotonic() - began < 2.0
    assert proc.returncode == 128 + sent, err
    assert err.split() == ["terminated"], err
    time.sleep(0.2)
    assert _group(proc.pid) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


#: ``ras score`` with sheets past a (lowered) Excel row limit, whose forked CSV child
#: notes that it has started and then takes its time: Ctrl-C lands while it runs.
_SLOW_CSV_CHILD = """
import sys, time
from pathlib import Path
from ras.io import allocations
from ras.cli import main
allocations.EXCEL_MAX_ROWS = 11
real = allocations._csv_job
def slow(run, sheets):
    Path(sys.argv[1]).write_text("started")
    time.sleep(30)
    real(run, sheets)
allocations._csv_job = slow
main(["score", *sys.argv[2:]])
"""


def test_ctrl_c_while_sheets_go_beside_the_workbook_stops_cleanly(
    tmp_path: Path, adult_path: Path
) -> None:
    """Ctrl-C while a forked child writes the CSVs beside the workbook: exit 130 at once,
    the one word "interrupted" and no child's traceback, no process left, no file.

    The terminal sends SIGINT to the whole process group; the child used to die of it
    with a Python traceback on stderr (a million-row bulk table, interrupted late).
    """
    from ras.io.table_file import load_table
    from tests.test_streaming import _bulk_rows, _write_csv

    src = _write_csv(tmp_path / "bulk.csv", _bulk_rows(load_table(adult_path), 20, seed=8))
    marker, out = tmp_path / "started", tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _SLOW_CSV_CHILD,
            str(marker),
            str(src),
            "-t",
            str(adult_path),
            "-o",
            str(out / "allocations.xlsx"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), proc.stderr.read() if proc.stderr else ""
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole group
    sent = time.monotonic()
    err = _finish(proc)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130, err
    # Not even the first line of a child's report ("Process ForkProcess-2:").
    assert err.split() == ["interrupted"], err
    time.sleep(0.2)
    assert _group(proc.pid) == []
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("after", "sent"),
    [(1.7, signal.SIGINT), (2.0, signal.SIGINT), (2.4, signal.SIGINT), (3.0, signal.SIGTERM)],
)
def test_ctrl_c_during_compare_stops_every_run(
    tmp_path: Path, after: float, sent: signal.Signals
) -> None:
    """Ctrl-C at moments around the local cluster's start: exit 130 within 2 s, no
    process left, nothing written, and nothing on stderr but "interrupted". SIGTERM the
    same, with exit 143 and "terminated" (it killed ras and left the cluster running).

    Workers that took the terminal's Ctrl-C while starting printed Dask's tracebacks
    ("Nanny failed to start"), and a closing cluster logged closed comms.
    """
    scenario = Path(__file__).resolve().parents[1] / "scenarios" / "example.yaml"
    before = _semaphores()
    proc = subprocess.Popen(
        _ras("compare", str(scenario), "-o", "c.xlsx", "--frontier", "0:0.3:0.01"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(after)
    if proc.poll() is not None:  # pragma: no cover - finished first
        pytest.skip("compare finished before Ctrl-C arrived")
    os.killpg(proc.pid, sent)
    began = time.monotonic()
    err = _finish(proc)
    assert time.monotonic() - began < 2.0
    term = sent == signal.SIGTERM
    assert proc.returncode == (143 if term else 130)
    assert err.split() == ["terminated" if term else "interrupted"], err
    time.sleep(0.2)
    assert _group(proc.pid) == []
    assert list(tmp_path.iterdir()) == []
    # The killed workers' named semaphores are removed (each Ctrl-C left eight).
    assert _semaphores() <= before, sorted(_semaphores() - before)


def _semaphores() -> set[str]:
    """multiprocessing's named semaphores on this machine (Linux keeps them here)."""
    shm = Path("/dev/shm")
    return {p.name for p in shm.glob("sem.mp-*")} if shm.is_dir() else set()


_SPAWNING = """
import multiprocessing as mp, os, sys, threading, time
from ras.parallel import start_resource_tracker, stop_helper_processes

def spawn_for_ever():
    ctx = mp.get_context("spawn")
    while True:
        ctx.Process(target=time.sleep, args=(60,)).start()
        time.sleep(0.005)

if __name__ == "__main__":
    start_resource_tracker()
    threading.Thread(target=spawn_for_ever, daemon=True).start()
    time.sleep(1.0)
    print(len(mp.active_children()), flush=True)
    stop_helper_processes(wait=0.5)
    os._exit(130)
"""


def test_no_process_started_while_an_interrupted_run_stops_outlives_it(
    tmp_path: Path,
) -> None:
    """A thread that starts processes while an interrupted run stops (as Dask's
    nannies do while a cluster starts) leaves none behind, and no semaphore.

    A worker started after the last look for processes to kill outlived ras (CI, a
    Ctrl-C of compare at 2.4 s: a worker and a resource tracker a second later).
    """
    script = tmp_path / "spawning.py"
    script.write_text(_SPAWNING)
    before = _semaphores()
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert int(out) > 0  # processes were being started when the stop came
    assert err == ""
    time.sleep(0.2)
    assert _group(proc.pid) == []
    assert _semaphores() <= before, sorted(_semaphores() - before)


_MAKING_A_LOCK = """
import multiprocessing as mp, os, sys, threading, time
from ras.parallel import start_resource_tracker, stop_helper_processes

def make_a_lock(stopping):
    stopping.wait()
    time.sleep(0.005)  # as ras stops, under the tracker's lock
    lock = mp.get_context("spawn").Lock()  # made, then waits to register for ever
    print("never", lock, flush=True)

if __name__ == "__main__":
    start_resource_tracker()
    stopping = threading.Event()
    threading.Thread(target=make_a_lock, args=(stopping,), daemon=True).start()
    stopping.set()
    stop_helper_processes(wait=0.5)
    print(threading.active_count(), flush=True)
    os._exit(130)
"""


def test_a_semaphore_made_while_ras_stops_does_not_outlive_it(tmp_path: Path) -> None:
    """A Dask nanny that made a queue for its worker just as a Ctrl-C came left its
    semaphore in /dev/shm (a Ctrl-C of compare, once in a few dozen): it waited for ever
    to register it with the resource tracker, whose lock ras keeps as it stops."""
    script = tmp_path / "making.py"
    script.write_text(_MAKING_A_LOCK)
    before = _semaphores()
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout.split() == ["2"]  # the thread that made the lock is waiting still
    assert _semaphores() <= before, sorted(_semaphores() - before)


def test_outputs_committed_together_or_not_at_all(tmp_path: Path) -> None:
    from ras.outputs import atomic_output, committed_together

    a, b = tmp_path / "a.xlsx", tmp_path / "b.yaml"
    a.write_text("old a", encoding="utf-8")

    def interrupted() -> None:
        with committed_together():
            with atomic_output(a) as tmp:
                tmp.write_text("new a", encoding="utf-8")
            assert a.read_text(encoding="utf-8") == "old a"  # not yet
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert a.read_text(encoding="utf-8") == "old a" and not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx"]  # no temporary file
    with committed_together():
        for path in (a, b):
            with atomic_output(path) as tmp:
                tmp.write_text("new", encoding="utf-8")
    assert a.read_text(encoding="utf-8") == b.read_text(encoding="utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "b.yaml"]


def test_a_ctrl_c_as_a_temporary_file_is_made_leaves_none_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that landed just after the temporary file was made, before ras owned it,
    left a `.ras-*.xlsx` behind (seen once in CI: a Ctrl-C test under load)."""
    import tempfile

    from ras.outputs import atomic_output, committed_together

    made = tempfile.mkstemp

    def then_ctrl_c(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = made(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)  # the terminal's Ctrl-C, at the worst moment
        return fd, name

    def write(grouped: bool) -> None:
        with committed_together() if grouped else contextlib.nullcontext():
            with atomic_output(tmp_path / "a.xlsx") as tmp:
                tmp.write_text("new", encoding="utf-8")

    monkeypatch.setattr(tempfile, "mkstemp", then_ctrl_c)
    for grouped in (False, True):
        with pytest.raises(KeyboardInterrupt):
            write(grouped)
        assert list(tmp_path.iterdir()) == []


def test_a_ctrl_c_held_over_a_commit_reaches_a_handler_of_ras_own() -> None:
    """A Ctrl-C held over a commit was dropped unless Python's own handler was in place:
    under a solve's or a cluster's handler it never arrived."""
    from ras.outputs import held_interrupts

    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with held_interrupts():
            signal.raise_signal(signal.SIGINT)
            assert seen == []  # held
        assert seen == [signal.SIGINT]  # then delivered
    finally:
        signal.signal(signal.SIGINT, previous)


#: A child that presses Ctrl-C (raises SIGINT in itself) as the module MODULE starts to
#: be imported, then imports or runs what RUN says.
_CTRL_C_AT_IMPORT = """
import importlib.abc, signal, sys
class Press(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == MODULE:
            sys.meta_path.remove(self)
            signal.raise_signal(signal.SIGINT)
        return None
sys.meta_path.insert(0, Press())
RUN
"""


def _pressed_at_import(module: str, run: str) -> subprocess.CompletedProcess[str]:
    script = _CTRL_C_AT_IMPORT.replace("MODULE", repr(module)).replace("RUN", run)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def test_a_ctrl_c_while_pulp_loads_is_not_lost() -> None:
    """PuLP imports each solver's package inside a bare ``except:``: a Ctrl-C while it
    loaded HiGHS was swallowed, and `ras compare` ran to its end (once in a full run of
    the suite: no "interrupted" after 60 s)."""
    run = "try:\n    import ras.optimiser.formulation\nexcept KeyboardInterrupt:\n" \
          "    print('interrupted')\nelse:\n    print('lost')\n"  # fmt: skip
    done = _pressed_at_import("highspy.highs", run)  # (PuLP looks "highspy" up unguarded)
    assert done.stdout.split() == ["interrupted"], done.stdout + done.stderr


def test_a_ctrl_c_while_ras_loads_is_one_word() -> None:
    """A Ctrl-C in the first few tenths of a second printed the traceback of whichever
    import it met, and exit 1; later it prints "interrupted" and exits 130."""
    run = "sys.argv = ['ras', '--help']\nfrom ras.__main__ import main\nmain()\n"
    done = _pressed_at_import("click", run)
    assert (done.returncode, done.stderr, done.stdout) == (130, "interrupted\n", "")


def test_a_full_disk_stops_the_run_with_one_line_and_writes_nothing(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that filled up while budget sheets were written turned every later sheet
    into a rejected person ("150 people scored, 144 rejected"), then wrote the workbook
    and a folder of the sheets that fitted; a full disk under the workbook was "internal
    error (OSError: [Errno 28] ...); report it"."""
    import errno

    import ras.io.budget_sheets as budget_sheets

    inputs = _assessments(tmp_path / "in", 4)
    real, written = budget_sheets.graft, [0]

    def filling(source: Path, pages: Any, out: Path) -> None:
        written[0] += 1
        if written[0] > 2:  # the third sheet finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        real(source, pages, out)

    monkeypatch.setattr(budget_sheets, "graft", filling)
    out, sheets = tmp_path / "out" / "a.xlsx", tmp_path / "out" / "sheets"
    r = _score(inputs, adult_path, out, sheets, "--jobs", "0")
    assert r.exit_code == 1, r.output
    assert r.stderr.splitlines() == [
        f"error: {sheets}: cannot be written: the disk is full (or your quota used up); free "
        "some space or write the output to another folder (nothing was written)"
    ]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("ras.io.allocations.Book", full)  # as the workbook is written
    r = CliRunner().invoke(main, ["score", str(inputs), "-t", str(adult_path), "-o", str(out)])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith(f"error: {out}: cannot be written: the disk is full")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_huge_sheets_written_by_a_forked_child_inside_a_group(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ras.io.allocations as allocations

    inputs = _assessments(tmp_path / "in", 3)
    monkeypatch.setattr(allocations, "EXCEL_MAX_ROWS", 10)
    out = tmp_path / "a.xlsx"
    r = _score(inputs, adult_path, out, tmp_path / "sheets", "--jobs", "0")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.explanations.csv").stat().st_size > 100
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


_FULL_DISK_CHILD = """
import errno, sys
from ras.io import allocations
from ras.cli import main
allocations.EXCEL_MAX_ROWS = 10
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")
allocations.write_person_csvs = full
main(["score", *sys.argv[1:]])
"""


def test_a_full_disk_under_the_sheets_written_beside_the_workbook_is_one_line(
    tmp_path: Path, adult_path: Path
) -> None:
    """The forked child writing the CSVs beside a huge workbook died of a full disk with
    its traceback on stderr, then the parent said "the CSV could not be written (exit 1)"."""
    inputs = _assessments(tmp_path / "in", 3)
    out = tmp_path / "out" / "a.xlsx"
    args = [str(inputs), "-t", str(adult_path), "-o", str(out)]
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_CHILD, *args], capture_output=True, text=True
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"error: {tmp_path / 'out' / 'a.explanations.csv'}: cannot be written: the disk is "
        "full (or your quota used up); free some space or write the output to another "
        "folder (nothing was written)"
    ]
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.slow
def test_calibrate_writes_both_outputs_or_neither(
    tmp_path: Path, adult_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ras.commands.calibrate as runner

    demo = tmp_path / "demo"
    r = CliRunner().invoke(main, ["demo", "--out", str(demo), "-q"])
    assert r.exit_code in (0, 1), r.output

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as if Ctrl-C came while calibration.xlsx was written

    monkeypatch.setattr(runner, "write_calibration", broken)
    from ras.commands.calibrate import run_calibrate
    from ras.io.table_file import load_table

    table, cal = tmp_path / "new.yaml", tmp_path / "cal.xlsx"
    adult = load_table(adult_path)
    with pytest.raises(KeyboardInterrupt):
        run_calibrate(demo / "allocations.xlsx", adult, cal, write_table=table)
    assert not table.exists() and not cal.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".ras-")]


def test_the_demo_does_not_take_over_a_folder_of_someone_elses(tmp_path: Path) -> None:
    """A folder with a plan.xlsx in it was taken for a demo folder written before ras kept
    manifests, and that plan replaced by the demo's (exit 0)."""
    (tmp_path / "plan.xlsx").write_bytes(b"a commissioner's plan")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    r = CliRunner().invoke(main, ["demo", "-o", str(tmp_path), "--people", "3", "-j", "0"])
    assert r.exit_code == 2, r.output
    assert "not empty and ras did not write it" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "plan.xlsx"]
    assert (tmp_path / "plan.xlsx").read_bytes() == b"a commissioner's plan"


@pytest.mark.slow
def test_an_interrupted_demo_leaves_the_folder_as_it_was(tmp_path: Path, demo: Demo) -> None:
    shutil.copytree(demo.folder, tmp_path / "ras-demo")  # an earlier, finished demo
    demo_folder = tmp_path / "ras-demo"
    before = {str(p.relative_to(demo_folder)): p.stat().st_mtime_ns for p in demo_folder.rglob("*")}
    proc = subprocess.Popen(
        _ras("demo", "-q"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    end = time.monotonic() + 60
    while time.monotonic() < end and not list(
        tmp_path.glob(".ras-demo.ras-new-*/allocations.xlsx")
    ):
        time.sleep(0.01)  # interrupt once the new demo is half built
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    _finish(proc)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130
    after = {str(p.relative_to(demo_folder)): p.stat().st_mtime_ns for p in demo_folder.rglob("*")}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ras-demo"]


def test_descendants_are_found_from_the_kernels_lists_as_from_every_parent() -> None:
    """After Ctrl-C, ras kills what it started, found from its own processes' lists of
    children (reading every process's parent took over a second while a Dask thread
    held the interpreter); both ways find the same tree: a child, a grandchild forked
    by a thread of the child, and a great-grandchild."""
    from ras.parallel import _descendants, _descendants_by_parent

    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("no lists of children in /proc here")
    script = (
        "import subprocess, sys, threading, time\n"
        "def start():\n"
        "    subprocess.Popen([sys.executable, '-c', "
        "\"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(60)']); time.sleep(60)\"])\n"
        "t = threading.Thread(target=start); t.start(); t.join()\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    found: set[int] = set()
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(found) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            found = _descendants(child.pid)
        assert len(found) == 2 and child.pid not in found
        assert found == _descendants_by_parent(child.pid)
        assert child.pid in _descendants(os.getpid())
        assert found <= _descendants(os.getpid())
    finally:
        for pid in found | {child.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        child.wait(timeout=5)


def test_a_full_disk_is_seen_through_a_writers_own_error() -> None:
    """XlsxWriter raises FileCreateError while handling the disk's OSError: `ras demo`
    onto a full disk was "internal error (FileCreateError: [Errno 28] ...)"."""
    import errno

    from xlsxwriter.exceptions import FileCreateError

    from ras.errors import is_disk_full

    def close_on_a_full_disk() -> None:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as e:
            raise FileCreateError(e)  # noqa: B904 (as XlsxWriter does)

    with pytest.raises(FileCreateError) as err:
        close_on_a_full_disk()
    assert is_disk_full(err.value)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
