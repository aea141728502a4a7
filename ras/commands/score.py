"""The order of the stages for scoring: read -> validate -> score. No maths of its own."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ras import __version__
from ras.scoring.budgets import compute_budget, explain_budget
from ras.errors import Issue
from ras.parallel import run_parallel
from ras.io.reader import read_input_file
from ras.models.assessment import Assessment
from ras.models.budget import Budget, Step
from ras.models.table import PointTable
from ras.io.table_file import fingerprint
from ras.scoring.validate import TableIndex, validate_file

if TYPE_CHECKING:
    import pandas as pd

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
#: Found in folders so that they are reported (ras reads only .xlsx/.xlsm/.csv).
OTHER_SPREADSHEETS = (".xls", ".xlsb", ".ods")
SCANNED = WORKBOOK_SUFFIXES + OTHER_SPREADSHEETS
INPUT_SUFFIXES = (*WORKBOOK_SUFFIXES, ".csv")


@dataclass(frozen=True)
class Scored:
    """One scored person: the validated assessment and its budget."""

    assessment: Assessment
    budget: Budget

    def steps(self, table: PointTable) -> tuple[Step, ...]:
        """The audit trail (made on demand when the budget was scored without it)."""
        if self.budget.steps:
            return self.budget.steps
        a = self.assessment
        return explain_budget(table, a.answers, a.fields, self.budget)

    @property
    def flags(self) -> tuple[str, ...]:
        """Budget flags and the assessment's warnings."""
        return self.budget.flags + self.assessment.warnings


@dataclass
class InputFile:
    """An input file as recorded on the Run sheet."""

    path: str
    sha256: str
    kind: str  # workbook, bulk, csv, unreadable


@dataclass
class ScoreRun:
    """Everything a scoring run produced."""

    table: PointTable
    fingerprint: str
    files: list[InputFile]
    scored: list[Scored]
    issues: list[Issue]
    skipped: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (link, where it points)
    sheet_files: dict[int, str] = field(default_factory=dict)  # scored index -> sheet file
    started: dt.datetime = field(default_factory=dt.datetime.now)
    options: dict[str, Any] = field(default_factory=dict)
    version: str = __version__

    @property
    def exceptions(self) -> list[Issue]:
        """Errors: the rejected inputs."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Warnings: inputs scored with a caveat."""
        return [i for i in self.issues if i.severity == "warning"]

    def rejected(self) -> int:
        """How many assessments (or whole files) were rejected."""
        keys = {
            (i.source, i.person_id, i.sheet if i.cell.startswith("row") else "", _row(i.cell))
            for i in self.exceptions
        }
        return len(keys)

    def to_frame(self) -> pd.DataFrame:
        """The Allocations sheet as a pandas DataFrame (exact decimals kept)."""
        import pandas as pd

        from ras.io.allocations import allocation_headers, allocation_rows

        return pd.DataFrame(allocation_rows(self), columns=allocation_headers(self.table))


def _row(cell: str) -> str:
    return "".join(ch for ch in cell if ch.isdigit())


class Pseudonymiser:
    """Stable keyed hashes for Person IDs and file names (``--pseudonymise``)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def _h(self, text: str) -> str:
        return hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def person(self, person_id: str) -> str:
        """Pseudonym for a Person ID."""
        return "P-" + self._h("person:" + person_id)[:12].upper() if person_id else ""

    def source(self, source: str) -> str:
        """Pseudonym for an input file name (keeps the extension)."""
        return "input-" + self._h("file:" + source)[:10] + Path(source).suffix.lower()


@dataclass
class Collected:
    """The input files found for a run, and what was noticed on the way."""

    files: list[Path] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # Excel lock files
    links: list[tuple[str, str]] = field(default_factory=list)  # followed outside the folder


def _broken_link(p: Path) -> str:
    try:
        return f"it is a link to {p.readlink()}, which does not exist"
    except OSError:  # pragma: no cover - raced away
        return "it cannot be read"


def collect_inputs(inputs: Iterable[Path | str]) -> Collected:
    """Expand INPUT arguments into files: folders recursively, lock and hidden files skipped.

    A link inside a folder is followed; one that points outside the folder is recorded
    (the Run sheet shows where it leads). A folder named like a workbook is searched,
    with a warning.

    Raises:
        UsageError: an INPUT does not exist (SPEC §16: write nothing), or no input files
            were found at all.
    """
    from ras.errors import UsageError

    inputs = list(inputs)
    out = Collected()
    missing: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            if p.suffix.lower() in INPUT_SUFFIXES:
                out.issues.append(
                    Issue(
                        str(p),
                        "is a folder, not a workbook; the workbooks inside it were read",
                        severity="warning",
                    )
                )
            top = p.resolve()
            found: list[Path] = []
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for d in dirs:
                    if d.lower().endswith(INPUT_SUFFIXES):
                        out.issues.append(
                            Issue(
                                str(Path(root, d)),
                                "is a folder, not a workbook; the workbooks inside it were read",
                                severity="warning",
                            )
                        )
                for name in names:
                    if name.startswith(".") or not name.lower().endswith(SCANNED):
                        continue
                    path = Path(root, name)
                    if name.startswith("~$"):
                        out.skipped.append(str(path))
                        continue
                    if path.is_symlink():
                        if not path.exists():
                            out.issues.append(
                                Issue(
                                    str(path),
                                    f"the file cannot be read: {_broken_link(path)}",
                                    "fix or remove the link",
                                )
                            )
                            continue
                        target = path.resolve()
                        if not target.is_relative_to(top):
                            out.links.append((str(path), str(target)))
                    found.append(path)
            out.files.extend(sorted(found))
        elif p.exists():
            if p.name.startswith("~$"):
                out.skipped.append(str(p))
            else:
                out.files.append(p)
        elif p.is_symlink():
            missing.append(f"{p} does not exist ({_broken_link(p)})")
        else:
            missing.append(f"{p} does not exist")
    if missing:
        raise UsageError("; ".join(missing) + "; check the path (nothing was written)")
    seen: set[str] = set()
    unique = []
    for f in out.files:
        key = os.path.normcase(os.path.abspath(f))  # noqa: PTH100 - no symlink resolving
        if key not in seen:
            seen.add(key)
            unique.append(f)
    out.files = unique
    if not out.files and not out.issues:
        given = ", ".join(str(i) for i in inputs)
        raise UsageError(
            f"no input files (.xlsx, .xlsm or .csv) found in {given}; nothing was written"
        )
    return out


@dataclass
class Validated:
    """One input file read and validated in a worker: assessments and issues."""

    source: str
    sha256: str
    kind: str  # workbook, bulk, unreadable
    assessments: list[Assessment]
    issues: list[Issue]


def read_and_validate(path: str, index: TableIndex) -> Validated:
    """Read one file and validate it against the table (runs in a worker process)."""
    res = read_input_file(path)
    kind = "workbook" if res.workbook else "bulk" if res.bulk else "unreadable"
    assessments: list[Assessment] = []
    issues = list(res.issues)
    if kind != "unreadable":
        assessments, problems = validate_file(res, index)
        issues.extend(problems)
    return Validated(res.source, res.sha256, kind, assessments, issues)


def _crashed(path: str) -> Validated:
    issue = Issue(
        path,
        "the reader process crashed on this file (damaged or hostile?); it was skipped",
        "open it in Excel, check it and save it again",
    )
    return Validated(path, "", "unreadable", [], [issue])


def read_inputs(
    files: Sequence[Path],
    table: PointTable,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Validated]:
    """Read and validate every file in worker processes (SPEC §12); in input order."""
    index = TableIndex.build(table, fingerprint(table))
    func = functools.partial(read_and_validate, index=index)
    return run_parallel(func, [str(f) for f in files], _crashed, jobs, progress)


def score_results(
    results: Sequence[Validated], table: PointTable, explain: bool = True
) -> tuple[list[Scored], list[Issue], list[InputFile]]:
    """Score validated assessments in input order; a repeated Person ID is an exception."""
    scored: list[Scored] = []
    issues: list[Issue] = []
    files: list[InputFile] = []
    first_seen: dict[str, str] = {}
    for res in results:
        files.append(InputFile(res.source, res.sha256, res.kind))
        issues.extend(res.issues)
        for a in res.assessments:
            where = a.source + (f" row {a.row}" if a.row else "")
            if a.person_id in first_seen:
                issues.append(
                    Issue(
                        a.source,
                        f"duplicate Person ID {a.person_id!r}: "
                        f"first seen in {first_seen[a.person_id]}",
                        "give each person one assessment; remove or correct this copy",
                        a.sheet,
                        f"row {a.row}" if a.row else "",
                        a.person_id,
                    )
                )
                continue
            first_seen[a.person_id] = where
            budget = compute_budget(table, a.answers, a.fields, explain=explain)
            scored.append(Scored(a, budget))
    return scored, issues, files


def pseudonymise_run(run: ScoreRun, p: Pseudonymiser) -> ScoreRun:
    """A copy of the run with Person IDs and file names replaced by keyed hashes."""
    scored = [
        Scored(
            replace(
                s.assessment,
                person_id=p.person(s.assessment.person_id),
                source=p.source(s.assessment.source),
            ),
            s.budget,
        )
        for s in run.scored
    ]
    issues = [
        replace(
            i,
            person_id=p.person(i.person_id),
            source=p.source(i.source),
            problem=i.problem.replace(i.person_id, p.person(i.person_id))
            if i.person_id
            else i.problem,
        )
        for i in run.issues
    ]
    files = [InputFile(p.source(f.path), f.sha256, f.kind) for f in run.files]
    return replace(
        run, scored=scored, issues=issues, files=files, skipped=[p.source(s) for s in run.skipped]
    )


def score_inputs(
    inputs: Iterable[Path | str],
    table: PointTable,
    *,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    explain: bool = True,
) -> ScoreRun:
    """Read, validate and score INPUTs (files, folders, bulk tables) with a table."""
    started = dt.datetime.now()
    collected = collect_inputs(inputs)
    files, issues = collected.files, collected.issues
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], len(files))

    results = read_inputs(files, table, jobs, tick)
    scored, problems, infos = score_results(results, table, explain=explain)
    return ScoreRun(
        table=table,
        fingerprint=fingerprint(table),
        files=infos,
        scored=scored,
        issues=issues + problems,
        skipped=collected.skipped,
        links=collected.links,
        started=started,
    )


@dataclass
class ScoreOutcome:
    """What ``ras score`` wrote."""

    run: ScoreRun
    allocations: Path | None = None
    alongside: list[Path] = field(default_factory=list)
    sheets: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """A machine-readable summary (``--json``)."""
        run = self.run
        return {
            "table": {
                "name": run.table.name,
                "version": run.table.version,
                "fingerprint": run.fingerprint,
            },
            "files_read": len(run.files),
            "people_scored": len(run.scored),
            "exceptions": len(run.exceptions),
            "rejected": run.rejected(),
            "warnings": len(run.warnings),
            "lock_files_skipped": len(run.skipped),
            "total_indicative": str(sum((s.budget.annual for s in run.scored), Decimal(0))),
            "allocations": str(self.allocations) if self.allocations else None,
            "alongside": [str(p) for p in self.alongside],
            "budget_sheets": len(self.sheets),
            "problems": [i.one_line() for i in run.exceptions],
        }


def write_budget_sheets(
    run: ScoreRun,
    folder: Path | None,
    *,
    in_place: bool = False,
    copy_sources: bool = True,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Path], list[Issue]]:
    """Write one budget workbook per scored person (in worker processes)."""
    from ras.io.budget_sheets import SheetJob, safe_name, write_budget_sheet

    jobs_list: list[SheetJob] = []
    owners: list[int] = []  # index into run.scored of each job
    used: set[str] = set()
    issues: list[Issue] = []
    for index, s in enumerate(run.scored):
        a = s.assessment
        is_workbook = a.row == 0 and Path(a.source).suffix.lower() in WORKBOOK_SUFFIXES
        src = a.source if (copy_sources and is_workbook) else ""
        if in_place:
            if not src:
                continue
            if Path(src).suffix.lower() == ".xlsm":
                issues.append(
                    Issue(
                        a.source,
                        "not written in place: ras never writes into a macro-enabled workbook",
                        "use --budget-sheets DIR instead",
                        person_id=a.person_id,
                        severity="warning",
                    )
                )
                continue
            out = Path(src)
        else:
            assert folder is not None
            base = safe_name(a.person_id)
            name, n = base, 1
            while name.casefold() in used:
                n += 1
                name = f"{base}-{n}"
            used.add(name.casefold())
            out = folder / f"{name}.xlsx"
        jobs_list.append(SheetJob(str(out), src, run.table, run.fingerprint, a, s.budget, in_place))
        owners.append(index)
    if folder is not None and not in_place:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from ras.errors import OutputError

            raise OutputError(f"{folder}: cannot create the folder ({exc.strerror})") from exc

    def crashed(job: SheetJob) -> list[Issue]:
        return [
            Issue(
                job.source or job.out,
                "the sheet writer crashed on this person",
                person_id=job.assessment.person_id,
            )
        ]

    results = run_parallel(write_budget_sheet, jobs_list, crashed, jobs, progress)
    written: list[Path] = []
    for index, job, problems in zip(owners, jobs_list, results, strict=True):
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
) -> ScoreOutcome:
    """``ras score``: read, validate, score, then write allocations and budget sheets."""
    from ras.io.allocations import write_allocations

    def reading(done: int, total: int) -> None:
        if progress:
            progress("Reading", done, total)

    run = score_inputs(inputs, table, jobs=jobs, progress=reading, explain=False)
    run.options = dict(options or {})
    if pseudonymise_key is not None:
        run = pseudonymise_run(run, Pseudonymiser(pseudonymise_key))
    outcome = ScoreOutcome(run)
    if budget_sheets is not None and not in_place:
        from ras.io.sheet_folder import check_ours, staged_folder
        from ras.io.xlsx import committed_together, outside_group

        check_ours(budget_sheets)  # before any work: refuse someone else's folder
        # The sheets and allocations.xlsx are committed together, or neither (SPEC §16):
        # the folder is swapped in first, then allocations.xlsx renamed into place.
        with committed_together(), staged_folder(budget_sheets) as staging:
            with outside_group():  # each sheet goes straight into the staging folder
                sheets = _budget_sheets(run, staging, False, pseudonymise_key, jobs, progress)
            if out is not None:
                outcome.alongside = write_allocations(run, out)
                outcome.allocations = out
        outcome.sheets = [budget_sheets / p.name for p in sheets]
        return outcome
    if in_place:
        outcome.sheets = _budget_sheets(run, None, True, pseudonymise_key, jobs, progress)
    if out is not None:
        outcome.alongside = write_allocations(run, out)
        outcome.allocations = out
    return outcome


def _budget_sheets(
    run: ScoreRun,
    folder: Path | None,
    in_place: bool,
    pseudonymise_key: bytes | None,
    jobs: int | None,
    progress: Callable[[str, int, int], None] | None,
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
    )
    run.issues.extend(problems)
    return sheets
