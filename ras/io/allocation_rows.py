"""The rows of ``allocations.xlsx``'s data sheets (SPEC §5), from a run's people.

People come as records (:class:`Scored`) or, for large bulk tables, as batches of
columns (:class:`ScoredBatch`): the rows are the same either way, a batch's made a
column at a time and each money group's once. The headers are a contract other tools
read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from ras.io.schemas import ALLOCATIONS
from ras.io.xlsx import Coded, Columns, rows_of
from ras.models.budget import Budget, Step
from ras.models.scored import Scored, ScoredBatch, ScoreRun
from ras.models.table import PointTable
from ras.money import pence

T = TypeVar("T")
COST_FIELD = "current_annual_cost"


def _unique(headers: list[str]) -> list[str]:
    out: list[str] = []
    for h in headers:
        name, n = h, 1
        while name in out:
            n += 1
            name = f"{h} ({n})"
        out.append(name)
    return out


#: A funding stream's column: ``Funding: <label> (£)``.
FUNDING_PREFIX, FUNDING_SUFFIX = "Funding: ", " (£)"


def funding_header(stream: str, table: PointTable | None = None) -> str:
    """Column heading of a funding stream: ``Funding: Social care (£)``."""
    return f"{FUNDING_PREFIX}{table.stream_label(stream) if table else stream}{FUNDING_SUFFIX}"


def allocation_headers(table: PointTable) -> list[str]:
    """The Allocations columns, in the contract's order."""
    out: list[str] = []
    for c in ALLOCATIONS.columns:
        if c.name == "<person field label>":
            out += [f.label for f in table.person_fields]
        elif c.name == "<domain label>":
            out += [d.label for d in table.domains]
        elif c.name == "Funding: <stream> (£)":
            out += [funding_header(s, table) for s in table.streams()]
        else:
            out.append(c.name)
    return _unique(out)


def blocks_of(people: Sequence[Scored]) -> Iterator[Sequence[Scored] | ScoredBatch]:
    """The people a chunk at a time: batches of columns where the store keeps them so."""
    blocks = getattr(people, "blocks", None)
    if blocks is None:
        yield people
    else:
        yield from blocks()


def allocation_rows(run: ScoreRun) -> Iterator[Sequence[Any]]:
    """One row per scored person, values in :func:`allocation_headers` order."""
    return rows_of(allocation_blocks(run))


def allocation_blocks(run: ScoreRun) -> Iterator[Sequence[Any] | Columns]:
    """:func:`allocation_rows`, people scored a column at a time as :class:`Columns`."""
    t = run.table
    has_cost = t.field(COST_FIELD) is not None
    streams = t.streams()
    n = 0
    for block in blocks_of(run.scored):
        if isinstance(block, ScoredBatch):
            yield _batch_allocation_columns(run, block, n, has_cost)
            n += len(block)
            continue
        for s in block:
            a, b = s.assessment, s.budget
            cost = a.fields.get(COST_FIELD) if has_cost else None
            cost_d = cost if isinstance(cost, Decimal) else None
            yield [
                a.person_id,
                a.source + (f" (row {a.row})" if a.row else ""),
                *(f.shown(a.fields.get(f.id)) for f in t.person_fields),
                *(b.domain_points[d.id] for d in t.domains),
                *_figures(b, streams),
                "; ".join(s.flags),
                cost_d,
                (b.annual - cost_d) if cost_d is not None else None,
                run.sheet_files.get(n),
            ]
            n += 1


def _figures(b: Budget, streams: Sequence[str]) -> tuple[Any, ...]:
    """A budget's Allocations columns from ``Total points`` to the funding streams."""
    return (
        b.total_points,
        pence(b.base),
        pence(b.adjustments_total),
        pence(b.top_ups_total),
        b.annual,
        b.weekly,
        b.range_low,
        b.range_high,
        *(b.funding[st] for st in streams),
    )


def _batch_allocation_columns(
    run: ScoreRun, batch: ScoredBatch, offset: int, has_cost: bool
) -> Columns:
    """:func:`allocation_rows` of a batch: a column at a time, each money group once."""
    t = run.table
    size = len(batch)
    group = batch.group
    columns: list[Sequence[Any]] = [
        batch.pids,
        [f"{batch.source} (row {r})" if r else batch.source for r in batch.rows],
    ]
    for f in t.person_fields:
        values = batch.fields[f.id]
        shown = {v: f.shown(v) for v in set(values)}
        columns.append(list(map(shown.__getitem__, values)))
    for d in t.domains:
        columns.append(Coded(batch.domains[d.id], [c.points for c in batch.combos[d.id]]))
    used = {g: batch.budgets[g] for g in set(group)}
    streams = t.streams()
    figures = {g: _figures(b, streams) for g, b in used.items()}
    width = len(next(iter(figures.values())))
    columns.extend(Coded(group, {g: f[j] for g, f in figures.items()}) for j in range(width))
    flags = {g: "; ".join(b.flags) for g, b in used.items()}
    flag_column = list(map(flags.__getitem__, group))
    for i, warned in batch.warnings.items():
        flag_column[i] = "; ".join(batch.budgets[group[i]].flags + warned)
    columns.append(flag_column)
    if has_cost:
        annual = {g: b.annual for g, b in used.items()}
        costs = [c if isinstance(c, Decimal) else None for c in batch.fields[COST_FIELD]]
        columns.append(costs)
        columns.append(
            [None if c is None else annual[g] - c for c, g in zip(costs, group, strict=True)]
        )
    else:
        columns += [[None] * size, [None] * size]
    files = run.sheet_files
    columns.append([files.get(offset + i) for i in range(size)] if files else [None] * size)
    return Columns(columns)


def step_values(st: Step) -> tuple[Any, ...]:
    """An Explanations row after the Person ID."""
    return (st.step, st.item, st.points, None if st.amount is None else pence(st.amount), st.note)


def batch_steps(
    run: ScoreRun,
    batch: ScoredBatch,
    shape: Callable[[Step], T],
    made: dict[int, tuple[list[Step], list[T]]],
) -> Iterator[tuple[str, tuple[T, ...], list[T]]]:
    """Each person of a batch: their ID, their steps up to the domains' and the rest.

    Every distinct step is shaped (by ``shape``) once; a money group's steps once for
    all the batches that share them (``made``: the caller's, for every batch).
    """
    steps = run.explainer.batch_steps(batch)
    head: list[Iterable[T]] = []
    for did, questions in steps.order:
        for qid in questions:
            shaped = [shape(st) for st in steps.answers[qid]]
            head.append(map(shaped.__getitem__, batch.answers[qid]))
        shaped = [shape(st) for st in steps.domains[did]]
        head.append(map(shaped.__getitem__, batch.domains[did]))
    money: dict[int, list[T]] = {}
    for g in set(batch.group):
        group = steps.money[g]
        hit = made.get(id(group))
        if hit is None or hit[0] is not group:
            hit = made[id(group)] = (group, [shape(st) for st in group])
        money[g] = hit[1]
    people = zip(*head, strict=True)
    return zip(batch.pids, people, map(money.__getitem__, batch.group), strict=True)


def explanation_rows(run: ScoreRun) -> Iterator[Sequence[Any]]:
    """The audit trail: one row per step per person."""
    made: dict[int, tuple[list[Step], list[tuple[Any, ...]]]] = {}
    for block in blocks_of(run.scored):
        if isinstance(block, ScoredBatch):
            for pid, head, money in batch_steps(run, block, step_values, made):
                key = (pid,)
                yield from map(key.__add__, head)
                yield from map(key.__add__, money)
            continue
        for s in block:
            pid = s.assessment.person_id
            for st in run.explainer.steps(s):
                yield (pid, *step_values(st))


def answer_values(batch: ScoredBatch, table: PointTable) -> dict[str, list[tuple[Any, ...] | None]]:
    """Each question's Answers rows after the Person ID, by answer index (-1: none)."""
    out: dict[str, list[tuple[Any, ...] | None]] = {}
    for qid, labels in batch.labels.items():
        q = table.question(qid)
        assert q is not None
        out[qid] = [(qid, a, q.answers[a]) for a in labels] + [None]
    return out


def answer_rows(run: ScoreRun) -> Iterator[Sequence[Any]]:
    """The answers as given, one row per question answered (what other commands read)."""
    order = [q.id for _, q in run.table.questions()]
    for block in blocks_of(run.scored):
        if isinstance(block, ScoredBatch):
            values = answer_values(block, run.table)
            columns = [map(values[q].__getitem__, block.answers[q]) for q in order]
            for pid, row in zip(block.pids, zip(*columns, strict=True), strict=True):
                yield from ((pid, *v) for v in row if v is not None)
            continue
        for s in block:
            pid, answers, points = (
                s.assessment.person_id,
                s.assessment.answers,
                s.budget.question_points,
            )
            for qid in order:
                answer = answers.get(qid)
                if answer is not None:
                    yield [pid, qid, answer, points[qid]]


def exception_rows(run: ScoreRun, severity: str = "error") -> list[list[Any]]:
    """Rejected inputs (or warnings), one row per problem."""
    return [
        [i.source, i.sheet, i.cell, i.person_id, i.problem, i.fix]
        for i in run.issues
        if i.severity == severity
    ]
