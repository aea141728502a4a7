"""Bulk rows validated and scored a column at a time: the figures of row by row, faster.

A bulk table of a million rows is a million people with the same few answers to each
question. Going down each column, every value is matched once per distinct text (a
dictionary look-up per cell, in C); a domain's points are added once per combination
of its answers; and a budget is computed once per distinct set of money inputs (total
and stream points, the rate's and the ceiling's field values, which adjustments and
top-ups hold), by :func:`ras.scoring.budgets.compute_budget` itself. Rows the quick
column checks do not pass (a typo, a blank, a number where a label goes) are
validated the full way, one by one, so each exception names its cell exactly as
before (:func:`ras.scoring.validate.check_bulk_row`).
"""

from __future__ import annotations

import itertools
import operator
import re
from array import array
from collections.abc import Callable, Hashable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from ras.cells import to_decimal
from ras.errors import SPREADSHEET_ERRORS, Issue
from ras.models.assessment import Assessment
from ras.models.base import MONEY_LIMIT
from ras.models.budget import Budget
from ras.models.scored import DomainPoints, Scored, ScoredBatch
from ras.models.table import PointTable, norm
from ras.scoring.budgets import compute_budget, prepared
from ras.scoring.validate import BulkLayout, TableIndex, check_bulk_row

ZERO = Decimal(0)
#: A value the quick checks do not accept: the row is validated the full way.
_BAD: Any = object()
_BLANK: Any = object()  # a blank option cell, before it is known to be allowed


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _each(keys: list[K], known: dict[K, V], make: Callable[[K, int], V]) -> list[V]:
    """``known[key]`` for each key, made (``make(key, first index)``) where not known yet.

    The keys are gone through in C (a dictionary of the distinct ones, then a look-up
    each); only each new distinct key costs Python code.
    """
    new = [k for k in dict.fromkeys(keys) if k not in known]
    if new:
        first = dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))
        for k in new:
            known[k] = make(k, first[k])
    return list(map(known.__getitem__, keys))


#: Plain decimal numbers, which ``to_decimal`` would read as ``Decimal`` reads them.
_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?").fullmatch


def _integral(values: Sequence[Decimal]) -> bool:
    return all(int(v.as_tuple().exponent) >= 0 for v in values)


class ColumnScorer:
    """Scores the rows of one bulk table, a chunk at a time (see the module's text)."""

    def __init__(self, index: TableIndex, layout: BulkLayout) -> None:
        table = index.table
        self.table, self.index, self.layout = table, index, layout
        self.questions = [q for _, q in table.questions()]
        self.labels = {q.id: list(q.answers) for q in self.questions}
        self.position = {q.id: {a: i for i, a in enumerate(q.answers)} for q in self.questions}
        # Every text the row-by-row quick path accepts, to its answer's index.
        self.lookup: dict[str, dict[Any, int]] = {}
        for q in self.questions:
            m: dict[Any, int] = {t: self.position[q.id][a] for t, a in index.answers[q.id].items()}
            if not q.required:
                m[None] = m[""] = -1
            self.lookup[q.id] = m
        # Points by answer index; index -1 (not answered) is the last: 0 points.
        self.points = {q.id: [*q.answers.values(), ZERO] for q in self.questions}
        self.combos: dict[str, list[DomainPoints]] = {d.id: [] for d in table.domains}
        self._combo_codes: dict[str, dict[tuple[int, ...], int]] = {d.id: {} for d in table.domains}
        # Money groups, numbered across the whole table: their inputs -> number, their
        # budgets, and the person fields of the first person in each.
        self._groups: dict[tuple[Any, ...], int] = {}
        self.budgets: list[Budget] = []
        self.group_fields: list[dict[str, Any]] = []
        every = [p for q in self.questions for p in q.answers.values()]
        every += [d.cap for d in table.domains if d.cap is not None]
        # Decimal('9') == Decimal('9.0'): where points have decimals, the text is the key.
        self.integral = _integral(every)
        prep = prepared(table)
        self.streams = prep.streams
        self.domain_stream = prep.domain_stream
        self.usable = all(c is not None for c in layout.q_cols.values()) and all(
            c is not None for c in layout.field_cols.values()
        )

    # -- validation -------------------------------------------------------------------

    def _field_values(self, column: Sequence[Any], fid: str) -> list[Any]:
        """Each value of a person field column as the quick path accepts it, or _BAD."""
        f = self.table.field(fid)
        assert f is not None
        options = self.index.options.get(fid)
        blank = _BAD if f.required else None
        if options is not None:
            m: dict[Any, Any] = dict(options)  # every text an option may be typed as
            m[None] = m[""] = _BLANK
            # Only text is looked up, as row by row: a number typed takes the full checks.
            out = [m.get(v, _BAD) if type(v) is str or v is None else _BAD for v in column]
            return [blank if v is _BLANK else v for v in out] if _BLANK in out else out
        if f.type == "text":
            return [
                blank
                if v is None or v == ""
                else v.strip()
                if type(v) is str and v not in SPREADSHEET_ERRORS
                else _BAD
                for v in column
            ]

        def number(v: Any, _: int) -> Any:
            if v is None or v == "":
                return blank
            d = Decimal(v) if type(v) is str and _PLAIN_NUMBER(v) else to_decimal(v)
            return _BAD if d is None or (f.type == "money" and not 0 <= d <= MONEY_LIMIT) else d

        return _each(list(column), {}, number)  # cells are hashable: text, numbers, dates

    def score(self, rows: list[list[Any]], first: int) -> tuple[ScoredBatch | None, list[Issue]]:
        """Validate and score ``rows`` (the first is row number ``first``).

        Returns the people scored (None if no row was) and the exceptions and warnings,
        in row order.
        """
        n = len(rows)
        layout = self.layout
        bad: set[int] = set()
        answers: dict[str, list[int]] = {}
        fields: dict[str, list[Any]] = {}
        pids: list[Any] = []
        if self.usable and n:
            columns = list(itertools.zip_longest(*rows))
            width = len(columns)

            def column(c: int | None) -> Sequence[Any]:
                return columns[c] if c is not None and c < width else (None,) * n

            pids = list(column(layout.pid_col))
            if (
                set(map(type, pids)) != {str}
                or "" in pids
                or list(map(str.strip, pids)) != pids
                or not SPREADSHEET_ERRORS.isdisjoint(pids)
            ):
                bad.update(
                    i
                    for i, p in enumerate(pids)
                    if type(p) is not str or not p or p != p.strip() or p in SPREADSHEET_ERRORS
                )
            for q in self.questions:
                idx = list(map(self.lookup[q.id].get, column(layout.q_cols[q.id])))
                if None in idx:
                    bad.update(i for i, v in enumerate(idx) if v is None)
                answers[q.id] = idx  # type: ignore[assignment]
            for f in self.table.person_fields:
                vals = self._field_values(column(layout.field_cols[f.id]), f.id)
                if _BAD in vals:
                    bad.update(i for i, v in enumerate(vals) if v is _BAD)
                fields[f.id] = vals
        else:
            bad = set(range(n))
            pids = [None] * n
            answers = {q.id: [-1] * n for q in self.questions}
            fields = {f.id: [None] * n for f in self.table.person_fields}
        issues: list[Issue] = []
        warned: dict[int, tuple[str, ...]] = {}
        dropped: set[int] = set()
        for i in sorted(bad):
            assessment, problems = check_bulk_row(layout, self.index, rows[i], first + i)
            issues.extend(problems)
            if assessment is None:
                dropped.add(i)
                continue
            pids[i] = assessment.person_id
            for q in self.questions:
                a = assessment.answers.get(q.id)
                answers[q.id][i] = -1 if a is None else self.position[q.id][a]
            for f in self.table.person_fields:
                fields[f.id][i] = assessment.fields.get(f.id)
            if assessment.warnings:
                warned[i] = assessment.warnings
        keep = [i for i in range(n) if i not in dropped] if dropped else list(range(n))
        if not keep:
            return None, issues
        if dropped:
            pids = [pids[i] for i in keep]
            answers = {k: [v[i] for i in keep] for k, v in answers.items()}
            fields = {k: [v[i] for i in keep] for k, v in fields.items()}
        at = {i: k for k, i in enumerate(keep)} if warned and dropped else None
        warnings = {at[i] if at else i: w for i, w in warned.items()}
        rows_kept = array("i", (first + i for i in keep))
        return self._scored(pids, rows_kept, fields, answers, warnings), issues

    # -- scoring ----------------------------------------------------------------------

    def _domain_codes(self, answers: dict[str, list[int]]) -> dict[str, list[int]]:
        """Each person's combination of answers in each domain, as a code in ``combos``."""
        out: dict[str, list[int]] = {}
        for d in self.table.domains:
            qs = d.questions
            combos = self.combos[d.id]

            def add(
                key: tuple[int, ...], _: int, d: Any = d, qs: Any = qs, combos: Any = combos
            ) -> int:
                raw = ZERO
                for q, a in zip(qs, key, strict=True):
                    raw += self.points[q.id][a]
                capped = d.cap is not None and raw > d.cap
                combos.append(DomainPoints(raw, d.cap if capped else raw, capped))
                return len(combos) - 1

            keys = list(zip(*(answers[q.id] for q in qs), strict=True))
            out[d.id] = _each(keys, self._combo_codes[d.id], add)
        return out

    def _money_points(self, codes: dict[str, list[int]]) -> list[tuple[Any, ...]]:
        """Each person's total points and points by stream (what the money depends on).

        Added a domain at a time down the columns, in the order ``score_points`` and
        ``split_funding`` add them (so each sum is the same Decimal, exponent and all).
        """
        n = len(next(iter(codes.values()), []))
        total = [ZERO] * n
        by_stream = {s: [ZERO] * n for s in self.streams}
        for d in self.table.domains:
            points = [c.points for c in self.combos[d.id]]
            column = list(map(points.__getitem__, codes[d.id]))
            total = list(map(operator.add, total, column))
            stream = self.domain_stream[d.id]
            by_stream[stream] = list(map(operator.add, by_stream[stream], column))
        parts: list[list[Any]] = [total, *by_stream.values()]
        if not self.integral:  # Decimal("9") == Decimal("9.0"): the text tells them apart
            parts += [list(map(str, p)) for p in parts]
        return list(zip(*parts, strict=True))

    def _holds(
        self,
        conds: list[tuple[bool, str, str, bool]],
        answers: dict[str, list[int]],
        fields: dict[str, list[Any]],
        n: int,
    ) -> list[bool]:
        """Whether each person meets every condition (as ``Prepared.holds``)."""
        ok = [True] * n
        for is_q, key, target, loose in conds:
            if is_q:
                want = self.position.get(key, {}).get(target, -2)
                col = answers[key]
                ok = [o and a == want for o, a in zip(ok, col, strict=True)]
            else:
                vals = fields.get(key, [None] * n)
                if loose:
                    ok = [
                        o and v is not None and norm(v) == target
                        for o, v in zip(ok, vals, strict=True)
                    ]
                else:
                    ok = [
                        o and v is not None and v == target for o, v in zip(ok, vals, strict=True)
                    ]
        return ok

    def _scored(
        self,
        pids: list[str],
        rows: array[int],
        fields: dict[str, list[Any]],
        answers: dict[str, list[int]],
        warnings: dict[int, tuple[str, ...]],
    ) -> ScoredBatch:
        n = len(pids)
        table = self.table
        prep = prepared(table)
        codes = self._domain_codes(answers)
        money = self._money_points(codes)
        bits = [0] * n
        for j, (_, conds) in enumerate([*prep.adjustments, *prep.top_ups]):
            bit = 1 << j
            bits = [
                b | bit if h else b
                for b, h in zip(bits, self._holds(conds, answers, fields, n), strict=True)
            ]
        rates_by = table.allocation.rates_by
        rate_vals = fields.get(rates_by, [None] * n) if rates_by else [None] * n
        cb = table.limits.ceilings_by
        if cb is not None:  # the ceiling that applies, by the field's value
            ceilings = {v: prep.ceiling({cb.field: v}) for v in set(fields.get(cb.field, [None]))}
            ceil_vals = list(map(ceilings.__getitem__, fields.get(cb.field, [None] * n)))
        else:
            ceil_vals = [None] * n
        keys = list(zip(money, rate_vals, ceil_vals, bits, strict=True))
        budgets, group_fields = self.budgets, self.group_fields
        shared_from = len(budgets)

        def add(_: tuple[Any, ...], i: int) -> int:
            a = {
                q.id: self.labels[q.id][answers[q.id][i]]
                for q in self.questions
                if answers[q.id][i] >= 0
            }
            f = {k: v[i] for k, v in fields.items()}
            budgets.append(compute_budget(table, a, f, explain=False))
            group_fields.append(f)
            return len(budgets) - 1

        group = array("i", _each(keys, self._groups, add))
        wide = max((len(v) for v in self.labels.values()), default=0) > 127
        return ScoredBatch(
            source=self.layout.source,
            sheet=self.layout.sheet,
            pids=pids,
            rows=rows,
            fields=fields,
            answers={k: array("h" if wide else "b", v) for k, v in answers.items()},
            labels=self.labels,
            domains={k: array("i", v) for k, v in codes.items()},
            combos=self.combos,
            group=group,
            budgets=budgets,
            group_fields=group_fields,
            warnings=warnings,
            shared_from=shared_from,
        )


def batch_answers(batch: ScoredBatch, i: int) -> dict[str, str]:
    """Person i's answers, by question id (answered questions only)."""
    return {q: batch.labels[q][a] for q, col in batch.answers.items() if (a := col[i]) >= 0}


def batch_people(batch: ScoredBatch, table: PointTable) -> Iterator[Scored]:
    """The batch's people as :class:`Scored` records, the same as row by row gives."""
    for i, pid in enumerate(batch.pids):
        answers = batch_answers(batch, i)
        fields = {k: v[i] for k, v in batch.fields.items()}
        a = Assessment(
            pid,
            batch.source,
            fields,
            answers,
            batch.sheet,
            batch.rows[i],
            batch.warnings.get(i, ()),
        )
        yield Scored(a, compute_budget(table, answers, fields, explain=False))


def batch_subset(batch: ScoredBatch, keep: Sequence[int]) -> ScoredBatch:
    """The people of a batch at positions ``keep`` (in order), as a batch."""
    at = {i: k for k, i in enumerate(keep)}
    return ScoredBatch(
        source=batch.source,
        sheet=batch.sheet,
        pids=[batch.pids[i] for i in keep],
        rows=array("i", (batch.rows[i] for i in keep)),
        fields={k: [v[i] for i in keep] for k, v in batch.fields.items()},
        answers={k: array(v.typecode, (v[i] for i in keep)) for k, v in batch.answers.items()},
        labels=batch.labels,
        domains={k: array("i", (v[i] for i in keep)) for k, v in batch.domains.items()},
        combos=batch.combos,
        group=array("i", (batch.group[i] for i in keep)),
        budgets=batch.budgets,
        group_fields=batch.group_fields,
        warnings={at[i]: w for i, w in batch.warnings.items() if i in at},
        shared_from=batch.shared_from,
    )
