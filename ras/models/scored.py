"""Scoring results as plain records: scored people, the run, and what ras score wrote."""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from ras.errors import Issue
from ras.models.assessment import Assessment
from ras.models.budget import Budget, Step
from ras.models.table import PointTable


@dataclass(frozen=True)
class Scored:
    """One scored person: the validated assessment and its budget."""

    assessment: Assessment
    budget: Budget

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Compact pickling (people are spilled to disk by the million)."""
        return (Scored, (self.assessment, self.budget))

    @property
    def flags(self) -> tuple[str, ...]:
        """Budget flags and the assessment's warnings."""
        return self.budget.flags + self.assessment.warnings


class Explainer(Protocol):
    """A person's audit trail, made on demand by the scoring stage (writers only ask)."""

    def steps(self, scored: Scored) -> tuple[Step, ...]:
        """The Explanations rows of one person: one step per line of SPEC §3.1."""
        ...

    def count(self, scored: Scored) -> int:
        """How many steps :meth:`steps` gives, without making them."""
        ...

    def is_shared(self, step: Step) -> bool:
        """Whether a step is one object shared by every person it fits (format it once)."""
        ...

    def batch_steps(self, batch: ScoredBatch) -> BatchSteps:
        """The steps of a batch's people, by answer, domain points and money group."""
        ...


@dataclass(frozen=True)
class BatchSteps:
    """The Explanations steps of a :class:`ScoredBatch`, each made once.

    A person's steps are, domain by domain, the answer step of each question
    (``answers[q][a]``, with ``a`` = -1, the last, for no answer) then the domain's
    (``domains[d][code]``), and after the domains their money group's ``money[g]``.
    """

    answers: dict[str, list[Step]]
    domains: dict[str, list[Step]]
    money: list[list[Step]]
    order: list[tuple[str, tuple[str, ...]]]  # each domain id and its question ids


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
    scored: Sequence[Scored]  # a list, or people spilled to disk (ras.scoring.store)
    issues: list[Issue]
    explainer: Explainer
    version: str  # of ras
    skipped: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (link, where it points)
    sheet_files: dict[int, str] = field(default_factory=dict)  # scored index -> sheet file
    started: dt.datetime = field(default_factory=dt.datetime.now)
    options: dict[str, Any] = field(default_factory=dict)
    totals: RunTotals | None = None  # made by the scoring stage (ras.scoring.totals)

    @property
    def exceptions(self) -> list[Issue]:
        """Errors: the rejected inputs."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """Warnings: inputs scored with a caveat."""
        return [i for i in self.issues if i.severity == "warning"]

    def rejected(self) -> int:
        """How many assessments (or whole files) were rejected.

        A person whose budget sheet could not be written was scored, not rejected
        (SPEC §4.4: each assessment is one or the other): see :meth:`sheets_not_written`.
        """
        keys = {
            (i.source, i.person_id, _row(i.cell))
            for i in self.exceptions
            if i.code not in SHEET_PROBLEMS
        }
        return len(keys)

    def sheets_not_written(self) -> int:
        """How many people were scored but have no budget sheet (an Exceptions row each)."""
        return len({(i.source, i.person_id) for i in self.exceptions if i.code in SHEET_PROBLEMS})


#: The problems of writing a scored person's budget sheet (listed with the exceptions).
SHEET_PROBLEMS = frozenset(
    {"sheet-not-copied", "sheet-not-written", "sheet-writer-crashed", "macro-workbook-not-written"}
)


def _row(cell: str) -> str:
    """A bulk table's ``row 7`` (each row is an assessment); a workbook's cells are one."""
    return cell if cell.startswith("row") else ""


@dataclass
class Validated:
    """One input file read and validated in a worker: assessments and issues.

    A large bulk table's people are scored in the worker and written to ``spill``
    instead of being sent back as assessments.
    """

    source: str
    sha256: str
    kind: str  # workbook, bulk, unreadable
    assessments: list[Assessment]
    issues: list[Issue]
    spill: Spill | None = None


@dataclass
class RunTotals:
    """Sums over a run's scored people, made in one pass (the Summary sheet shows them)."""

    people: int = 0
    total: Decimal = Decimal(0)  # indicative budgets, £/year
    by_group: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # people, £
    by_stream: dict[str, Decimal] = field(default_factory=dict)
    annual_pence: array[int] = field(default_factory=lambda: array("q"))  # each budget
    explanation_rows: int = 0
    answer_rows: int = 0
    group_field: str | None = None  # the person field of ``by_group``


@dataclass
class Spill:
    """A file of scored people (chunks, pickled one after another), written by a worker."""

    path: str
    sheet: str = ""  # the bulk table's sheet ("" for CSV)
    count: int = 0  # people in the file
    pids: list[str] = field(default_factory=list)  # their Person IDs, in order
    rows: list[int] = field(default_factory=list)  # and their row numbers
    totals: RunTotals | None = None  # summed as they were scored


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
            "budget_sheets_not_written": run.sheets_not_written(),
            "warnings": len(run.warnings),
            "lock_files_skipped": len(run.skipped),
            "total_indicative": str(
                run.totals.total
                if run.totals is not None
                else sum((s.budget.annual for s in run.scored), Decimal(0))
            ),
            "allocations": str(self.allocations) if self.allocations else None,
            "alongside": [str(p) for p in self.alongside],
            "budget_sheets": len(self.sheets),
            "problems": [i.one_line() for i in run.exceptions],
        }


class DomainPoints(NamedTuple):
    """A domain's points for one combination of its answers."""

    raw: Decimal  # before the cap
    points: Decimal  # after it
    capped: bool


@dataclass
class ScoredBatch:
    """Rows of a bulk table scored a column at a time (``ras.scoring.columns``).

    People are kept as columns, compact enough to spill by the million: each is the
    same person :class:`Scored` gives (made on demand from these columns). People
    with the same money figures share one budget: ``budgets[group[i]]`` holds person
    i's total points, amounts, flags and funding split (its points by question and
    domain are those of the first person scored with them, whose person fields are
    ``group_fields[group[i]]``).

    Groups are numbered across a whole table, and its batches share one list of
    budgets: a batch pickles only the budgets first used in it (from ``shared_from``
    on), and whoever reads a table's batches back in order joins them again
    (:func:`join_shared`).
    """

    source: str
    sheet: str
    pids: list[str]
    rows: array[int]  # row numbers
    fields: dict[str, list[Any]]  # person field id -> each person's value
    answers: dict[str, array[int]]  # question id -> each person's answer (-1: none)
    labels: dict[str, list[str]]  # question id -> its answers, by index
    domains: dict[str, array[int]]  # domain id -> each person's code in ``combos``
    combos: dict[str, list[DomainPoints]]  # domain id -> code -> its points
    group: array[int]  # each person's money group
    budgets: list[Budget]  # each group's budget
    group_fields: list[dict[str, Any]]  # the person fields each group's budget was made with
    warnings: dict[int, tuple[str, ...]] = field(default_factory=dict)  # person -> warnings
    shared_from: int = 0  # the first group of ``budgets`` that this batch pickles

    def __len__(self) -> int:
        return len(self.pids)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["budgets"] = self.budgets[self.shared_from :]
        state["group_fields"] = self.group_fields[self.shared_from :]
        return state


def join_shared(batch: ScoredBatch, budgets: list[Budget], fields: list[dict[str, Any]]) -> None:
    """Give a batch read back the budgets of the batches before it (``budgets``, ``fields``).

    The lists are those of the batches read before from the same table, which they
    grow: pass the same two lists for each batch, in the order they were written.
    """
    if len(budgets) != batch.shared_from:
        raise ValueError("a table's batches are read back in the order they were written")
    budgets.extend(batch.budgets)
    fields.extend(batch.group_fields)
    batch.budgets, batch.group_fields = budgets, fields
