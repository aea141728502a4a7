"""Sums over a run's scored people, made in one pass: what the Summary sheet shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from ras.models.scored import Explainer, RunTotals, Scored, ScoredBatch
from ras.models.table import PointTable
from ras.money import pence
from ras.scoring.store import People


def group_field(table: PointTable) -> str | None:
    """The person field used for 'totals by client group'."""
    if table.field("client_group") is not None:
        return "client_group"
    if table.allocation.rates_by:
        return table.allocation.rates_by
    for f in table.person_fields:
        if f.options:
            return f.id
    return None


def tally(
    people: Iterable[Scored],
    table: PointTable,
    explainer: Explainer,
    into: RunTotals | None = None,
) -> RunTotals:
    """Count and sum the scored people, in one pass (adding to ``into`` if given).

    By group (see :func:`group_field`) and funding stream, each budget in pence (for
    the distribution), and the rows the Explanations and Answers sheets will have.
    """
    out = into if into is not None else RunTotals()
    for st in table.streams():
        out.by_stream.setdefault(st, Decimal(0))
    gf = out.group_field = group_field(table)
    streams = table.streams()
    groups: dict[str, list[Any]] = {k: [n, amount] for k, (n, amount) in out.by_group.items()}
    total = out.total
    pennies = out.annual_pence
    for s in people:
        b = s.budget
        out.people += 1
        total += b.annual
        for st in streams:
            out.by_stream[st] += b.funding[st]
        if gf is not None:
            key = str(s.assessment.fields.get(gf) or "")
            group = groups.get(key)
            if group is None:
                group = groups[key] = [0, Decimal(0)]
            group[0] += 1
            group[1] += b.annual
        pennies.append(int(pence(b.annual) * 100))
        out.explanation_rows += explainer.count(s)
        out.answer_rows += len(s.assessment.answers)
    out.total = total
    out.by_group = {k: (int(v[0]), Decimal(v[1])) for k, v in groups.items()}
    return out


def tally_batch(batch: ScoredBatch, table: PointTable, into: RunTotals | None = None) -> RunTotals:
    """:func:`tally` of a batch scored a column at a time: by money group, not person."""
    out = into if into is not None else RunTotals()
    streams = table.streams()
    for st in streams:
        out.by_stream.setdefault(st, Decimal(0))
    gf = out.group_field = group_field(table)
    people = Counter(batch.group)
    budgets = batch.budgets
    for g, n in people.items():
        b = budgets[g]
        out.total += b.annual * n
        for st in streams:
            out.by_stream[st] += b.funding[st] * n
    if gf is not None:
        pairs = Counter(zip(batch.fields[gf], batch.group, strict=True))
        for (value, g), n in pairs.items():
            key = str(value or "")
            count, amount = out.by_group.get(key, (0, Decimal(0)))
            out.by_group[key] = (count + n, amount + budgets[g].annual * n)
    pennies = {g: int(pence(budgets[g].annual) * 100) for g in people}
    out.annual_pence.extend(map(pennies.__getitem__, batch.group))
    out.people += len(batch)
    questions = len(batch.answers)
    fixed = questions + len(table.domains) + 7  # total, conversion, limits .. range high
    for g, n in people.items():
        b = budgets[g]
        out.explanation_rows += n * (fixed + len(b.adjustments) + len(b.top_ups) + len(b.funding))
    out.answer_rows += sum(len(col) - col.count(-1) for col in batch.answers.values())
    return out


def merged(parts: Iterable[RunTotals]) -> RunTotals:
    """The totals of several runs' worth of people, as one."""
    out = RunTotals()
    for t in parts:
        out.group_field = out.group_field or t.group_field
        out.people += t.people
        out.total += t.total
        for st, amount in t.by_stream.items():
            out.by_stream[st] = out.by_stream.get(st, Decimal(0)) + amount
        for key, (n, amount) in t.by_group.items():
            n0, a0 = out.by_group.get(key, (0, Decimal(0)))
            out.by_group[key] = (n0 + n, a0 + amount)
        out.annual_pence.extend(t.annual_pence)
        out.explanation_rows += t.explanation_rows
        out.answer_rows += t.answer_rows
    return out


def people_totals(people: Sequence[Scored], table: PointTable, explainer: Explainer) -> RunTotals:
    """The totals of a run's people; a spill's own totals are used where none was left out."""
    parts: list[RunTotals] = []
    segments = people.segments() if isinstance(people, People) else [(people, None)]
    for chunk, known in segments:
        parts.append(known if known is not None else tally(chunk, table, explainer))
    out = merged(parts)
    out.group_field = group_field(table)
    for st in table.streams():
        out.by_stream.setdefault(st, Decimal(0))
    return out
