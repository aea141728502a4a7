"""The order of the stages for scoring: read -> validate -> score. No maths of its own."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ras.errors import Issue, Location, UsageError
from ras.io.allocations import write_allocations
from ras.io.inputs import collect_inputs
from ras.io.parquet import require_pyarrow
from ras.io.reader import open_input_file
from ras.io.sheet_folder import check_ours, staged_folder
from ras.io.table_file import fingerprint
from ras.models.assessment import Assessment, FileResult
from ras.models.scored import ScoreOutcome, ScoreRun, Spill, Validated
from ras.models.table import PointTable
from ras.outputs import committed_together, outside_group, refuse_overwriting
from ras.parallel import gc_paused, run_parallel
from ras.scoring.budgets import Explanations
from ras.scoring.columns import ColumnScorer
from ras.scoring.people import score_results
from ras.scoring.pseudonyms import Pseudonymiser, pseudonymise_run
from ras.scoring.store import SPILL_ROWS, People, SpillWriter, remove_spill_folder, spill_folder
from ras.scoring.totals import people_totals, tally_batch
from ras.scoring.validate import TableIndex, bulk_layout, iter_bulk, validate_workbook
from ras.version import __version__


def read_and_validate(
    path: str, index: TableIndex, spill_folder: str | None = None, spill_rows: int = SPILL_ROWS
) -> Validated:
    """Read one file and validate it against the table (runs in a worker process).

    A bulk table is read, validated and (past ``spill_rows`` rows, with a
    ``spill_folder``) scored a chunk at a time, each chunk spilled to disk: however
    long the table, only a chunk is held.
    """
    with open_input_file(path) as res:
        kind = "workbook" if res.workbook else "bulk" if res.bulk else "unreadable"
        assessments: list[Assessment] = []
        problems: list[Issue] = []
        spill = None
        if res.workbook is not None:
            assessments, problems = validate_workbook(res, index)
        elif res.bulk is not None:
            rows = iter(res.bulk.rows)
            head = list(itertools.islice(rows, spill_rows + 1)) if spill_folder else []
            if len(head) <= spill_rows:  # a small table: validated row by row, kept here
                res.bulk.rows = itertools.chain(head, rows)
                for people, found in iter_bulk(res, index):
                    problems.extend(found)
                    assessments.extend(people)
            else:  # a large one: scored a chunk at a time, spilled to disk
                assert spill_folder is not None
                spill, problems = _score_and_spill(
                    res, index, itertools.chain(head, rows), spill_folder
                )
            if res.issues:  # the file broke part-way through: it is rejected whole, as ever
                assessments, problems = [], []
                if spill is not None:
                    Path(spill.path).unlink(missing_ok=True)
                    spill = None
        issues = list(res.issues) + problems  # after the rows: problems met reading them too
    return Validated(res.source, res.sha256, kind, assessments, issues, spill)


#: Rows of a large bulk table scored at a time (see :func:`_score_and_spill`).
SCORE_CHUNK = 20_000


def _score_and_spill(
    res: FileResult, index: TableIndex, rows: Iterable[list[Any]], folder: str
) -> tuple[Spill | None, list[Issue]]:
    """Score a bulk table's rows a chunk at a time, a column at a time, spilling each."""
    bulk = res.bulk
    assert bulk is not None
    layout = bulk_layout(res, index)
    if isinstance(layout, Issue):
        return None, [layout]
    scorer = ColumnScorer(index, layout)
    writer = SpillWriter(folder, bulk.sheet)
    problems: list[Issue] = []
    at = layout.first
    it = iter(rows)
    with gc_paused():
        while chunk := list(itertools.islice(it, SCORE_CHUNK)):
            batch, found = scorer.score(chunk, at)
            at += len(chunk)
            problems.extend(found)
            if batch is not None:
                writer.spill.totals = tally_batch(batch, index.table, into=writer.spill.totals)
                writer.add_batch(batch)
    return writer.close(), problems


def _crashed(path: str) -> Validated:
    issue = Issue(
        "reader-crashed",
        Location(path),
        "the reader process crashed on this file (damaged or hostile?); it was skipped",
        "open it in Excel, check it and save it again",
    )
    return Validated(path, "", "unreadable", [], [issue])


def read_inputs(
    files: Sequence[Path],
    table: PointTable,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    spill_folder: str | None = None,
    spill_rows: int = SPILL_ROWS,
) -> list[Validated]:
    """Read and validate every file in worker processes (SPEC §12); in input order.

    With a ``spill_folder``, large bulk tables are scored in the workers and spilled
    there (see :func:`read_and_validate`).
    """
    index = TableIndex.build(table, fingerprint(table))
    func = functools.partial(
        read_and_validate, index=index, spill_folder=spill_folder, spill_rows=spill_rows
    )
    return run_parallel(func, [str(f) for f in files], _crashed, jobs, progress)


def score_inputs(
    inputs: Iterable[Path | str],
    table: PointTable,
    *,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    explain: bool = True,
    spill_rows: int = SPILL_ROWS,
    out_file: Path | None = None,
    out_folder: Path | None = None,
) -> ScoreRun:
    """Read, validate and score INPUTs (files, folders, bulk tables) with a table.

    A bulk table longer than ``spill_rows`` is scored as it is read and its people are
    kept on disk until the run is written (``run.scored`` reads them back in chunks).
    What the run will write (``out_file``, ``out_folder``) is not read from a folder,
    and never written over an input (see :func:`collect_inputs`).
    """
    started = dt.datetime.now()
    collected = collect_inputs(inputs, out_file, out_folder)
    files, issues = collected.files, collected.issues
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(files))

    folder = spill_folder()
    try:
        results = read_inputs(files, table, jobs, tick, folder, spill_rows)
        with gc_paused():  # a million Person IDs checked for repeats
            scored, problems, infos = score_results(
                results, table, explain=explain, spill_folder=folder
            )
    except BaseException:
        remove_spill_folder(folder)
        raise
    explainer = Explanations(table)
    return ScoreRun(
        table=table,
        fingerprint=fingerprint(table),
        files=infos,
        scored=scored,
        issues=issues + problems,
        explainer=explainer,
        version=__version__,
        skipped=collected.skipped,
        links=collected.links,
        started=started,
        totals=people_totals(scored, table, explainer),
    )


def write_budget_sheets(
    run: ScoreRun,
    folder: Path | None,
    *,
    in_place: bool = False,
    copy_sources: bool = True,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    changes: Mapping[str, Any] | None = None,
) -> tuple[list[Path], list[Issue]]:
    """Write one budget workbook per scored person (in worker processes).

    ``changes``: Person ID -> their change from a previous budget (``--previous``).
    """
    # Imported here, not at the top: openpyxl imports numpy, whose BLAS starts a thread,
    # and a process with threads cannot fork its readers safely (see ras.parallel) -
    # the slower forkserver would then start every reader of every run.
    from ras.io.budget_sheets import SheetJob, plan_sheets, write_budget_sheet

    sheet_jobs, owners, issues = plan_sheets(
        run, folder, in_place=in_place, copy_sources=copy_sources, changes=changes
    )

    def crashed(job: SheetJob) -> list[Issue]:
        return [
            Issue(
                "sheet-writer-crashed",
                Location(job.source or job.out),
                "the sheet writer crashed on this person",
                person_id=job.assessment.person_id,
            )
        ]

    results = run_parallel(write_budget_sheet, sheet_jobs, crashed, jobs, progress)
    written: list[Path] = []
    for index, job, problems in zip(owners, sheet_jobs, results, strict=True):
        issues.extend(problems)
        if not problems:
            written.append(Path(job.out))
            run.sheet_files[index] = Path(job.out).name  # listed on the Allocations sheet
    return written, issues


def run_score(
    inputs: Sequence[Path | str],
    table: PointTable,
    out: Path | None,
    *,
    budget_sheets: Path | None = None,
    in_place: bool = False,
    pseudonymise_key: bytes | None = None,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    options: dict[str, Any] | None = None,
    previous: Path | None = None,
    policy: Path | None = None,
    overflow: str = "csv",
) -> ScoreOutcome:
    """``ras score``: read, validate, score, then write allocations and budget sheets.

    ``previous`` (an allocations workbook or a register of current budgets) adds each
    person's change, protected by ``policy`` (SPEC §13), to their budget sheet.
    ``overflow`` (``csv`` or ``parquet``): the format of sheets too long for Excel.
    """
    if in_place and budget_sheets is not None:  # the folder was quietly left unwritten
        raise UsageError(
            "give --in-place (the sheet into each input workbook) or --budget-sheets DIR "
            "(a workbook per person in DIR), not both"
        )
    if overflow == "parquet":
        require_pyarrow()  # before any work
    refuse_overwriting(out, {"--previous": previous, "--policy": policy})

    def reading(done: int, total: int) -> None:
        if progress:
            progress("Reading", done, total)

    run = score_inputs(
        inputs,
        table,
        jobs=jobs,
        progress=reading,
        explain=False,
        out_file=out,
        out_folder=None if in_place else budget_sheets,
    )
    try:
        run.options = dict(options or {})
        if pseudonymise_key is not None:
            run = pseudonymise_run(run, Pseudonymiser(pseudonymise_key))
        outcome = ScoreOutcome(run)
        changes = None
        if previous is not None:
            from ras.commands.transition import previous_changes

            changes = previous_changes(run, previous, policy)
        if budget_sheets is not None and not in_place:
            check_ours(budget_sheets)  # before any work: refuse someone else's folder
            # The sheets and allocations.xlsx are committed together, or neither (SPEC §16):
            # the folder is swapped in first, then allocations.xlsx renamed into place.
            with committed_together(), staged_folder(budget_sheets) as staging:
                with outside_group():  # each sheet goes straight into the staging folder
                    sheets = _budget_sheets(
                        run, staging, False, pseudonymise_key, jobs, progress, changes
                    )
                if out is not None:
                    outcome.alongside = write_allocations(run, out, overflow)
                    outcome.allocations = out
            outcome.sheets = [budget_sheets / p.name for p in sheets]
            return outcome
        if in_place:
            outcome.sheets = _budget_sheets(
                run, None, True, pseudonymise_key, jobs, progress, changes
            )
        if out is not None:
            outcome.alongside = write_allocations(run, out, overflow)
            outcome.allocations = out
        return outcome
    except BaseException:
        # Interrupted or failed while writing: the people spilled to disk go now (an
        # interrupted ras leaves at once, without running exit handlers).
        if isinstance(run.scored, People):
            run.scored.close()
        raise


def _budget_sheets(
    run: ScoreRun,
    folder: Path | None,
    in_place: bool,
    pseudonymise_key: bytes | None,
    jobs: int | None,
    progress: Callable[[str, int, int], None] | None,
    changes: Mapping[str, Any] | None = None,
) -> list[Path]:
    count = [0]

    def writing(n: int) -> None:
        count[0] += n
        if progress:
            progress("Budget sheets", count[0], len(run.scored))

    sheets, problems = write_budget_sheets(
        run,
        folder,
        in_place=in_place,
        copy_sources=pseudonymise_key is None,
        jobs=jobs,
        progress=writing,
        changes=changes,
    )
    run.issues.extend(problems)
    return sheets
