"""Scoring validated people in input order (SPEC §4): a repeated Person ID is an exception."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ras.errors import Issue, Location
from ras.models.assessment import Assessment
from ras.models.scored import InputFile, Scored, Validated
from ras.models.table import PointTable
from ras.scoring.budgets import compute_budget
from ras.scoring.store import People


def score_people(
    assessments: Iterable[Assessment], table: PointTable, explain: bool = False
) -> list[Scored]:
    """Each assessment with its budget (no duplicate check: see :func:`score_results`)."""
    return [
        Scored(a, compute_budget(table, a.answers, a.fields, explain=explain)) for a in assessments
    ]


def _duplicate(
    source: str, sheet: str, row: int, person_id: str, first: str, cell: str = ""
) -> Issue:
    return Issue(
        "duplicate-person",
        Location(source, sheet, cell, row),
        f"duplicate Person ID {person_id!r}: first seen in {first}",
        "give each person one assessment; remove or correct this copy",
        person_id,
    )


def score_results(
    results: Sequence[Validated],
    table: PointTable,
    explain: bool = True,
    spill_folder: str | None = None,
) -> tuple[list[Scored] | People, list[Issue], list[InputFile]]:
    """Score validated assessments in input order; a repeated Person ID is an exception.

    People a worker already scored and spilled to disk are checked for repeats by
    their IDs and left where they are: the people are then a :class:`People` (which
    owns the spill folder), else a plain list.
    """
    scored = People(spill_folder, table)
    issues: list[Issue] = []
    files: list[InputFile] = []
    # Person ID -> where first seen: (index of the result, row); the text is made on a repeat.
    first_seen: dict[str, tuple[int, int]] = {}

    def where(seen: tuple[int, int]) -> str:
        source = results[seen[0]].source
        return source + (f" row {seen[1]}" if seen[1] else "")

    for n, res in enumerate(results):
        files.append(InputFile(res.source, res.sha256, res.kind))
        issues.extend(res.issues)
        batch: list[Scored] = []
        for a in res.assessments:
            if a.person_id in first_seen:
                issues.append(
                    _duplicate(
                        a.source,
                        a.sheet,
                        a.row,
                        a.person_id,
                        where(first_seen[a.person_id]),
                        a.cell,
                    )
                )
                continue
            first_seen[a.person_id] = (n, a.row)
            batch.append(Scored(a, compute_budget(table, a.answers, a.fields, explain=explain)))
        scored.add(batch)
        spill = res.spill
        if spill is not None:
            skip: list[int] = []
            for i, (pid, row) in enumerate(zip(spill.pids, spill.rows, strict=True)):
                seen = first_seen.get(pid)
                if seen is not None:
                    issues.append(_duplicate(res.source, spill.sheet, row, pid, where(seen)))
                    skip.append(i)
                else:
                    first_seen[pid] = (n, row)
            scored.add_spill(spill, skip)
            spill.pids, spill.rows = [], []  # no longer needed: free them
    if not scored.spilled:  # everyone in memory: a plain list, as ever
        scored.close()
        return list(scored), issues, files
    return scored, issues, files
