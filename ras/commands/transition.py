"""The order of the stages for a transition (SPEC §13).

Read both sides and the policy; with affordability, re-score NEW at the affordable
scale; protect each person; write transition.xlsx.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ras.cells import ID_DATE_FIX, ID_SLIP_FIX, id_taken_for_a_date, nearly_matching
from ras.errors import Issue, Location, Severity, UsageError, quote
from ras.io.allocation_rows import answer_rows
from ras.io.allocations import read_scored_people
from ras.io.reader import sha256_file
from ras.io.transition_files import load_policy, read_side
from ras.io.transition_writer import band_rows, write_transition
from ras.models.scored import ScoreRun
from ras.models.table import PointTable
from ras.models.transition import PersonChange, Side, TransitionOutcome
from ras.outputs import refuse_overwriting
from ras.transition.changes import affordable_budgets, person_changes


def run_transition(
    old: Path,
    new: Path,
    out: Path | None,
    *,
    policy_path: Path | None = None,
    table: PointTable | None = None,
) -> TransitionOutcome:
    """``ras transition``: what NEW does to each person in OLD, with the policy's protection.

    Raises:
        UsageError: ``affordability`` without the table NEW was scored with.
        InputError: a side cannot be read (file, sheet, cell).
    """
    refuse_overwriting(out, {"OLD": old, "NEW": new, "the policy": policy_path})
    policy = load_policy(policy_path)
    if policy.affordability is not None and table is None:
        raise UsageError(
            "the policy asks for affordability: give --table, the table NEW was scored with"
        )
    olds, _, _ = read_side(old, table, register_allowed=True)
    news, run_rounding, labels = read_side(new, table, register_allowed=False)
    rounding = table.rounding if table is not None else (run_rounding or Decimal(1))
    new_budgets: dict[str, Decimal] = {}
    scale = rate = total = None
    if policy.affordability is not None:
        assert table is not None
        people = read_scored_people(new, table)
        scale, _, new_budgets = affordable_budgets(table, people, olds, news, policy, rounding)
        total = policy.affordability.budget * (1 - policy.affordability.contingency)
        if table.allocation.rate is not None:
            rate = table.allocation.rate * scale
        news = [
            Side(s.person_id, new_budgets.get(s.person_id, s.budget), s.fields, s.points, s.answers)
            for s in news
        ]
    changes, only_old, only_new = person_changes(olds, news, new_budgets, policy, rounding)
    option_labels = {}
    if table is not None:
        option_labels = {f.id: dict(f.labels) for f in table.person_fields if f.labels}
    outcome = TransitionOutcome(
        policy,
        changes,
        only_old,
        only_new,
        rounding,
        old,
        new,
        {str(p): sha256_file(p) for p in (old, new, policy_path) if p is not None},
        scale,
        rate,
        total,
        labels,
        option_labels,
        frozenset(f.id for f in table.person_fields if f.type == "money") if table else frozenset(),
    )
    outcome.warnings = [
        *_ids_taken_for_dates(old, olds),
        *_ids_nearly_matching(old, only_old, only_new, "only in OLD", "only in NEW"),
    ]
    if out is not None:
        write_transition(outcome, out)
    return outcome


def _ids_taken_for_dates(path: Path, sides: list[Side]) -> list[Issue]:
    """A register's Person IDs that a spreadsheet took for dates (``1-12``)."""
    return [
        Issue(
            "id-is-a-date",
            Location(str(path), "", s.date_id_at),
            id_taken_for_a_date("the Person ID", s.person_id),
            ID_DATE_FIX,
            s.person_id,
            Severity.WARNING,
        )
        for s in sides
        if s.date_id_at
    ]


def _ids_nearly_matching(
    old: Path, only_old: list[Side], only_new: list[Side], old_side: str, new_side: str
) -> list[Issue]:
    """People on one side only whose ID is one on the other side only but for a slip."""
    near = nearly_matching((s.person_id for s in only_old), (s.person_id for s in only_new))
    return [
        Issue(
            "person-id-nearly-matches",
            Location(str(old)),
            f"Person ID {quote(pid)} is {old_side}, and {quote(other)} {new_side}",
            ID_SLIP_FIX,
            pid,
            Severity.WARNING,
        )
        for pid, other in near.items()
    ]


def transition_summary(outcome: TransitionOutcome) -> dict[str, object]:
    """Machine-readable Summary (``--json``)."""
    return {
        "matched": len(outcome.people),
        "only_old": len(outcome.only_old),
        "only_new": len(outcome.only_new),
        "bands": {b: {"people": n, "change": str(c)} for b, n, c in band_rows(outcome.people)},
        "cost_of_protection": [str(v) for v in outcome.cost_of_protection()],
        "saving_from_phasing": [str(v) for v in outcome.saving_from_phasing()],
        "scale": None if outcome.scale is None else str(outcome.scale),
        "rate": None if outcome.rate is None else str(outcome.rate),
        "rounding": str(outcome.rounding),
        "year_one_total": str(outcome.year_total(1)),
        "affordable": outcome.affordable,
        "warnings": [i.one_line() for i in outcome.warnings],
    }


def previous_changes(
    run: ScoreRun, previous: Path, policy_path: Path | None = None
) -> dict[str, PersonChange]:
    """Each scored person's change from ``previous``, protected by the policy.

    ``previous`` is an allocations workbook or a register of current budgets. A person
    there and one scored whose IDs differ only by a slip are added to the run's warnings.
    """
    policy = load_policy(policy_path)
    olds, _, _ = read_side(previous, run.table, register_allowed=True)
    points: dict[str, dict[str, tuple[str, Decimal]]] = {}
    for pid, qid, answer, pts in answer_rows(run):
        points.setdefault(pid, {})[qid] = (answer, pts)
    news = [
        Side(
            s.assessment.person_id,
            s.budget.annual,
            dict(s.assessment.fields),
            s.budget.total_points,
            points.get(s.assessment.person_id, {}),
        )
        for s in run.scored
    ]
    changes, only_old, only_new = person_changes(olds, news, {}, policy, run.table.rounding)
    slips = _ids_nearly_matching(
        previous, only_old, only_new, "only in --previous", "scored but not in --previous"
    )
    run.issues.extend([*_ids_taken_for_dates(previous, olds), *slips])
    return {c.person_id: c for c in changes}
