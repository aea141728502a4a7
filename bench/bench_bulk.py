"""A 100,000-row bulk table: `ras score` vs reading the same table bare.

python bench/bench_bulk.py [--rows 100000] [--format csv|xlsx] [--large] [--runs 3]

The baseline reads the table and does nothing else: ``pyarrow.csv.read_csv`` for a CSV,
``pandas.read_excel(engine="calamine")`` for a workbook.

Prints where the time goes (in this process), then the whole commands interleaved
(baseline, ras, baseline, ras, ...): wall and CPU of each process tree, peak memory.
``--large`` is the 1,000,000-row CSV (memory sampled across the process tree).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402
import pyarrow.csv as pa_csv  # noqa: E402
import xlsxwriter  # noqa: E402
from common import OUT, interleaved, report, timed  # noqa: E402

from ras.commands.demo import make_person  # noqa: E402
from ras.commands.score import read_inputs, run_score  # noqa: E402
from ras.io.allocations import write_allocations  # noqa: E402
from ras.io.table_file import fingerprint  # noqa: E402
from ras.io.templates import example_table  # noqa: E402
from ras.models.scored import ScoreRun  # noqa: E402
from ras.scoring.budgets import Explanations  # noqa: E402
from ras.scoring.people import score_results  # noqa: E402
from ras.scoring.totals import tally  # noqa: E402
from ras.version import __version__  # noqa: E402


def bulk_rows(rows: int) -> Iterator[list[Any]]:
    """The header, then ``rows`` generated people (the same for a workbook or a CSV)."""
    table = example_table()
    rng = random.Random(11)
    questions = [q.id for _, q in table.questions()]
    yield ["Person ID", "client_group", "living_situation", "current_annual_cost", *questions]
    for r in range(1, rows + 1):
        values, answers = make_person(table, rng, r, prefix="BULK")
        yield [
            values["person_id"],
            values.get("client_group"),
            values.get("living_situation"),
            values.get("current_annual_cost"),
        ] + [answers.get(q, "") for q in questions]


def generate(path: Path, rows: int) -> None:
    """A bulk table of ``rows`` people: an .xlsx workbook or a .csv file, by the suffix."""
    if path.suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(bulk_rows(rows))
        return
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("People")
    for r, row in enumerate(bulk_rows(rows)):
        ws.write_row(r, 0, row)
    wb.close()


BASELINES = {
    "csv": "import pyarrow.csv as c; c.read_csv({path!r})",
    "xlsx": "import pandas as pd; pd.read_excel({path!r}, engine='calamine')",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--large", action="store_true", help="1,000,000 rows (a CSV)")
    parser.add_argument("--runs", type=int, default=3, help="interleaved runs of each")
    parser.add_argument("--whole-only", action="store_true", help="skip the in-process parts")
    args = parser.parse_args()
    if args.large:
        args.rows, args.format = 1_000_000, "csv"
    table = example_table()
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"bulk-{args.rows}.{args.format}"
    if not path.exists():
        print(f"generating {path} ...")
        generate(path, args.rows)
    out = OUT / "bulk-allocations.xlsx"
    table_path = OUT / "adult-social-care.yaml"
    from ras.io.templates import example_table_path

    table_path.write_bytes(example_table_path().read_bytes())
    if not args.whole_only:
        parts(table, path, out, args.rows)
    baseline = BASELINES[args.format].format(path=str(path))
    interleaved(
        f"whole commands, interleaved: a {args.rows:,}-row bulk table ({args.format}); "
        f"baseline: {baseline.split(';')[-1].strip()}",
        [sys.executable, "-c", baseline],
        [sys.executable, "-m", "ras", "score", str(path), "-t", str(table_path), "-o", str(out)],
        runs=args.runs,
        target=10,
    )


def parts(table: Any, path: Path, out: Path, rows: int) -> None:
    """Where the time goes, in this process (the people in memory: no spilling)."""
    if path.suffix == ".csv":
        t_base, _ = timed(lambda: pa_csv.read_csv(path), repeat=2)
    else:
        t_base, frame = timed(lambda: pd.read_excel(path, engine="calamine"), repeat=2)
        assert len(frame) == rows
    big = rows + 1
    t_read, results = timed(lambda: read_inputs([path], table, spill_rows=big))
    t_score, (scored, issues, infos) = timed(lambda: score_results(results, table, explain=False))
    explainer = Explanations(table)
    run = ScoreRun(table, fingerprint(table), infos, scored, issues, explainer, __version__)
    run.totals = tally(scored, table, explainer)
    t_write, _ = timed(lambda: write_allocations(run, out))
    t_total, outcome = timed(lambda: run_score([path], table, out))
    assert len(outcome.run.scored) == rows
    report(
        f"ras score: a {rows:,}-row bulk table",
        t_base,
        {
            "read and validate (worker)": t_read,
            "score": t_score,
            "write (with explanations)": t_write,
        },
        t_total,
        10,
    )


if __name__ == "__main__":
    main()
