"""Per-person sheets too long for Excel (Explanations, Answers) as CSV files.

All of them in one pass over the people, whether records or batches of columns; lines
that repeat from person to person are formatted once.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ras.errors import OutputError
from ras.io.allocation_rows import answer_values, batch_steps, blocks_of, step_values
from ras.io.schemas import ANSWERS, EXPLANATIONS
from ras.models.budget import Step
from ras.models.scored import Scored, ScoredBatch, ScoreRun
from ras.parallel import gc_paused

Fmt = Callable[[Sequence[Any]], str]


#: Where a line's Person ID goes, in lines made once for many people.
MARK = "\x00"
#: People whose lines are written at a time: some tens of kilobytes. Joined and written
#: a whole batch at a time (tens of megabytes), the CSV writer of a 100,000-row bulk
#: table held 386 MiB (now 70) and spent twice the time in the kernel (fresh pages for
#: every block, copies from memory no cache holds).
WRITE_PEOPLE = 64


@dataclass(frozen=True)
class PersonSheet:
    """How a per-person sheet's CSV lines are made.

    ``person(scored, fmt)`` gives one person's lines after the Person ID; ``batch(batch,
    fmt)`` gives each person of a batch with their lines, each line starting with
    ``MARK`` where the ID goes. ``fmt`` formats a row as CSV (lines repeat from person
    to person: they are formatted once and reused).
    """

    path: Path
    headers: Sequence[str]
    person: Callable[[Scored, Fmt], Iterator[str]]
    batch: Callable[[ScoredBatch, Fmt], Iterator[tuple[str, str]]]


def write_person_csvs(run: ScoreRun, sheets: Sequence[PersonSheet]) -> None:
    """Per-person sheets as CSV files, fast, all in one pass over the people.

    People spilled to disk are read once, whatever the number of sheets.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")

    def fmt(row: Sequence[Any]) -> str:
        buf.seek(0)
        buf.truncate()
        w.writerow(row)
        return buf.getvalue()

    plain = re.compile(r'[^,"\r\n\x00]+').fullmatch  # an ID CSV writes as it is

    def prefix(pid: str) -> str:
        return pid if plain(pid) else fmt([pid])[:-1]

    with contextlib.ExitStack() as stack:
        stack.enter_context(gc_paused())
        outs = []
        for sheet in sheets:  # temporary files the caller commits
            fh = stack.enter_context(sheet.path.open("w", newline="", encoding="utf-8-sig"))
            outs.append((fh, [fmt(list(sheet.headers))], sheet))
        for block in blocks_of(run.scored):
            for fh, lines, sheet in outs:
                if isinstance(block, ScoredBatch):
                    for pid, text in sheet.batch(block, fmt):
                        lines.append(text.replace(MARK, prefix(pid)))
                        if len(lines) >= WRITE_PEOPLE:
                            fh.write("".join(lines))
                            lines.clear()
                else:
                    for s in block:
                        pid = prefix(s.assessment.person_id)
                        lines.extend(pid + rest for rest in sheet.person(s, fmt))
                if len(lines) >= WRITE_PEOPLE:
                    fh.write("".join(lines))
                    lines.clear()
        for fh, lines, _ in outs:
            fh.write("".join(lines))


def _marked(fmt: Fmt, row: Sequence[Any]) -> str:
    """A CSV line after the Person ID, marked where the ID goes."""
    text = fmt(["", *row])
    if MARK in text:  # a NUL in the text itself: nothing can mark the ID's place
        raise OutputError("a step or answer of the point table holds a NUL character")
    return MARK + text


def explanation_lines(run: ScoreRun, path: Path) -> PersonSheet:
    """The Explanations sheet's CSV lines.

    The steps shared between people (an answer and its points, a domain total) are
    formatted once and reused.
    """
    done: dict[int, str] = {}
    made: dict[int, tuple[list[Step], list[str]]] = {}

    def line(st: Step, fmt: Fmt) -> str:
        text = done.get(id(st))
        if text is None:
            text = fmt(["", *step_values(st)])
            if run.explainer.is_shared(st):
                done[id(st)] = text
        return text

    def person(s: Scored, fmt: Fmt) -> Iterator[str]:
        for st in run.explainer.steps(s):
            yield line(st, fmt)

    def batch(b: ScoredBatch, fmt: Fmt) -> Iterator[tuple[str, str]]:
        join = "".join
        steps = batch_steps(run, b, lambda st: _marked(fmt, step_values(st)), made)
        for pid, head, money in steps:
            yield pid, join(head) + join(money)

    return PersonSheet(path, EXPLANATIONS.headers, person, batch)


def answer_lines(run: ScoreRun, path: Path) -> PersonSheet:
    """The Answers sheet's CSV lines; each answer and its points formatted once."""
    order = [q.id for _, q in run.table.questions()]
    done: dict[tuple[str, str], str] = {}

    def person(s: Scored, fmt: Fmt) -> Iterator[str]:
        answers = s.assessment.answers
        for qid in order:
            answer = answers.get(qid)
            if answer is not None:
                text = done.get((qid, answer))
                if text is None:
                    text = fmt(["", qid, answer, s.budget.question_points[qid]])
                    done[(qid, answer)] = text
                yield text

    def batch(b: ScoredBatch, fmt: Fmt) -> Iterator[tuple[str, str]]:
        values = answer_values(b, run.table)
        texts = {q: [_marked(fmt, v) if v else "" for v in values[q]] for q in order}
        columns = [map(texts[q].__getitem__, b.answers[q]) for q in order]
        return zip(b.pids, map("".join, zip(*columns, strict=True)), strict=True)

    return PersonSheet(path, ANSWERS.headers, person, batch)
