"""`ras score` over 2,000 generated workbooks vs a bare python-calamine loop.

    python bench/bench_score.py [--people 2000] [--sheets]

Prints where the time goes (read, validate and score, write) and the ratio of the
whole run to the baseline, both measured in this process on the same files.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OUT, interleaved, report, timed  # noqa: E402
from python_calamine import CalamineWorkbook  # noqa: E402

from ras.commands.demo import write_assessments  # noqa: E402
from ras.commands.score import read_inputs, run_score  # noqa: E402
from ras.io.allocations import write_allocations  # noqa: E402
from ras.io.inputs import collect_inputs  # noqa: E402
from ras.io.table_file import fingerprint  # noqa: E402
from ras.io.templates import example_table  # noqa: E402
from ras.models.scored import ScoreRun  # noqa: E402
from ras.scoring.budgets import Explanations  # noqa: E402
from ras.scoring.people import score_results  # noqa: E402
from ras.scoring.totals import tally  # noqa: E402
from ras.version import __version__  # noqa: E402


def baseline(files: list[Path]) -> int:
    cells = 0
    for f in files:
        wb = CalamineWorkbook.from_path(str(f))
        for name in ("Person", "Questionnaire"):
            cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
        wb.close()
    return cells


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument(
        "--sheets", action="store_true", help="also --budget-sheets, against an XlsxWriter floor"
    )
    parser.add_argument("--large", action="store_true", help="20,000 workbooks")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each")
    args = parser.parse_args()
    if args.large:
        args.people = 20_000
    table = example_table()
    folder = OUT / f"workbooks-{args.people}"
    if not folder.exists() or len(list(folder.glob("*.xlsx"))) != args.people:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {args.people} workbooks in {folder} ...")
        write_assessments(table, folder, args.people)
    files = collect_inputs([folder]).files
    baseline(files[:50])  # warm the file cache
    t_base, _ = timed(lambda: baseline(files), repeat=2)
    t_read, results = timed(lambda: read_inputs(files, table))
    t_score, (scored, issues, infos) = timed(lambda: score_results(results, table, explain=False))
    explainer = Explanations(table)
    run = ScoreRun(table, fingerprint(table), infos, scored, issues, explainer, __version__)
    run.totals = tally(scored, table, explainer)
    out = OUT / "allocations.xlsx"
    t_write, _ = timed(lambda: write_allocations(run, out))
    t_total, outcome = timed(lambda: run_score([folder], table, out))
    assert len(outcome.run.scored) == args.people, "every workbook must score"
    report(
        f"ras score: {args.people} workbooks",
        t_base,
        {
            "read and validate (workers)": t_read,
            "score": t_score,
            "write (with explanations)": t_write,
        },
        t_total,
        5,
    )
    here = Path(__file__).resolve().parent
    table_path = OUT / "adult-social-care.yaml"
    from ras.io.templates import example_table_path

    shutil.copy(example_table_path(), table_path)
    score = [sys.executable, "-m", "ras", "score", str(folder), "-t", str(table_path)]
    score += ["-o", str(out)]
    alone = interleaved(
        f"whole commands, interleaved: {args.people} workbooks",
        [sys.executable, str(here / "bare_calamine.py"), str(folder)],
        score,
        runs=args.runs,
        target=3,
    )
    if args.sheets:
        # Budget sheets against their floor: the same number of one-sheet workbooks
        # written with XlsxWriter. ras's share is --budget-sheets less ras score alone.
        sheets = OUT / "sheets"
        floor = interleaved(
            f"budget sheets, interleaved: {args.people} people (baseline: the XlsxWriter floor)",
            [sys.executable, str(here / "xlsxwriter_floor.py"), str(folder), str(OUT / "floor")],
            [*score, "--budget-sheets", str(sheets)],
            runs=args.runs,
        )
        print(
            f"  budget sheets alone (less ras score): {floor['ras_cpu'] - alone['ras_cpu']:.2f} s "
            f"CPU, {(floor['ras_cpu'] - alone['ras_cpu']) / floor['base_cpu']:.2f}x the floor "
            "(target <= 2x)"
        )


if __name__ == "__main__":
    main()
