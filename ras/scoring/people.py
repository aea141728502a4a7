"""Scoring validated people in input order (SPEC §4): a repeated Person ID is an exception."""

from __future__ import annotations

from collections.abc import Sequence

from ras.errors import Issue, Location
from ras.models.scored import InputFile, Scored, Validated
from ras.models.table import PointTable
from ras.scoring.budgets import compute_budget


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
                        "duplicate-person",
                        Location(a.source, a.sheet, row=a.row),
                        f"duplicate Person ID {a.person_id!r}: "
                        f"first seen in {first_seen[a.person_id]}",
                        "give each person one assessment; remove or correct this copy",
                        a.person_id,
                    )
                )
                continue
            first_seen[a.person_id] = where
            budget = compute_budget(table, a.answers, a.fields, explain=explain)
            scored.append(Scored(a, budget))
    return scored, issues, files
