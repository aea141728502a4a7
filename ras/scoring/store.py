"""Scored people kept on disk while a run is written: memory stays flat for any size.

A bulk table of a million rows is too much to hold as Python objects (several KB a
person). Its people are scored as they are read, a chunk at a time, and each chunk is
written to a spill file (pickled). :class:`People` is the run's sequence of scored
people: chunks held in memory (workbooks, small tables) and spill files, read back a
chunk at a time whenever the people are gone through, in input order.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import pickle
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from ras.models.budget import Budget
from ras.models.scored import RunTotals, Scored, ScoredBatch, Spill, join_shared
from ras.models.table import PointTable
from ras.scoring.columns import batch_people, batch_subset

#: A bulk table with more rows than this is scored as it is read and spilled to disk.
SPILL_ROWS = 20_000


def read_chunks(spill: Spill) -> Iterator[list[Scored] | ScoredBatch]:
    """A spill file's chunks, in the order they were written (people, or a batch)."""
    budgets: list[Budget] = []
    fields: list[dict[str, Any]] = []
    with Path(spill.path).open("rb") as fh:
        while True:
            try:
                chunk = pickle.load(fh)
            except EOFError:
                return
            if isinstance(chunk, ScoredBatch):
                join_shared(chunk, budgets, fields)
            yield chunk


class SpillWriter:
    """Writes chunks of scored people to a new spill file in ``folder``."""

    def __init__(self, folder: str, sheet: str = "") -> None:
        fd, path = tempfile.mkstemp(prefix="scored-", suffix=".pickle", dir=folder)
        self._fh = os.fdopen(fd, "wb")
        self.spill = Spill(path, sheet)

    def add(self, people: list[Scored]) -> None:
        """Append one chunk."""
        if people:
            pickle.dump(people, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
            self.spill.count += len(people)
            self.spill.pids.extend(s.assessment.person_id for s in people)
            self.spill.rows.extend(s.assessment.row for s in people)

    def add_batch(self, batch: ScoredBatch) -> None:
        """Append people scored a column at a time."""
        pickle.dump(batch, self._fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.spill.count += len(batch)
        self.spill.pids.extend(batch.pids)
        self.spill.rows.extend(batch.rows)

    def close(self) -> Spill:
        """Finish the file; what was written."""
        self._fh.close()
        return self.spill


@dataclass
class _Part:
    """People in memory, or a spill file (with the positions of people left out)."""

    people: list[Scored] | None = None
    spill: Spill | None = None
    skip: frozenset[int] = frozenset()
    table: PointTable | None = None  # to make the people of a batch

    def __len__(self) -> int:
        if self.people is not None:
            return len(self.people)
        assert self.spill is not None
        return self.spill.count - len(self.skip)

    def __iter__(self) -> Iterator[Scored]:
        for block in self.blocks():
            if isinstance(block, ScoredBatch):
                assert self.table is not None
                yield from batch_people(block, self.table)
            else:
                yield from block

    def blocks(self) -> Iterator[list[Scored] | ScoredBatch]:
        """The people a chunk at a time: as records, or as a batch of columns."""
        if self.people is not None:
            yield self.people
            return
        assert self.spill is not None
        at = 0
        for chunk in read_chunks(self.spill):
            size = len(chunk)
            if self.skip and any(at <= i < at + size for i in self.skip):
                keep = [i - at for i in range(at, at + size) if i not in self.skip]
                if isinstance(chunk, ScoredBatch):
                    yield batch_subset(chunk, keep)
                else:
                    yield [chunk[i] for i in keep]
            else:
                yield chunk
            at += size


def spill_folder() -> str:
    """A new temporary folder for spill files (removed with the run's people)."""
    return tempfile.mkdtemp(prefix="ras-scored-")


class People(Sequence[Scored]):
    """A run's scored people, in input order: in memory, or spilled to disk in chunks.

    Iterating reads spill files a chunk at a time. Indexing a spilled person reads its
    file up to them (slow; writers iterate). The spill folder goes when this object
    does, or at :meth:`close`.
    """

    def __init__(self, folder: str | None = None, table: PointTable | None = None) -> None:
        self.table = table
        self._parts: list[_Part] = []
        self._len = 0
        self._map: Callable[[Scored], Scored] | None = None
        self._base: People | None = None
        self.folder = folder
        self._cleanup = (
            weakref.finalize(self, _remove_folder, folder, os.getpid())
            if folder is not None
            else None
        )

    def add(self, people: Iterable[Scored]) -> None:
        """Append people held in memory."""
        people = list(people)
        if not people:
            return
        last = self._parts[-1] if self._parts else None
        if last is not None and last.people is not None:
            last.people.extend(people)
        else:
            self._parts.append(_Part(people=people))
        self._len += len(people)

    def add_spill(self, spill: Spill, skip: Iterable[int] = ()) -> None:
        """Append a spill file's people, leaving out those at positions ``skip``."""
        part = _Part(spill=spill, skip=frozenset(skip), table=self.table)
        self._parts.append(part)
        self._len += len(part)

    def segments(self) -> Iterator[tuple[Iterable[Scored], RunTotals | None]]:
        """The people in parts, each with its totals when already known (a whole spill).

        Only for people as scored (not :meth:`mapped`): totals do not depend on IDs.
        """
        for part in self._parts:
            known = part.spill.totals if part.spill is not None and not part.skip else None
            yield part, known

    @property
    def spilled(self) -> bool:
        """Whether any people are on disk."""
        return any(p.spill is not None for p in self._parts)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Scored]:
        if self._map is not None:
            for part in self._parts:
                yield from map(self._map, part)
            return
        for part in self._parts:
            yield from part

    def blocks(self) -> Iterator[list[Scored] | ScoredBatch]:
        """The people a chunk at a time, in order: records, or batches of columns.

        Writers that can use columns go through these; people passed through
        :meth:`mapped` always come as records.
        """
        for part in self._parts:
            if self._map is None:
                yield from part.blocks()
            else:
                yield list(map(self._map, part))

    def mapped(self, func: Callable[[Scored], Scored]) -> People:
        """The same people, each passed through ``func`` as they are read (for spills)."""
        out = copy.copy(self)
        out._base = self  # the spill files are removed when the last view of them goes
        inner = self._map
        out._map = func if inner is None else (lambda s: func(inner(s)))
        return out

    @overload
    def __getitem__(self, index: int) -> Scored: ...

    @overload
    def __getitem__(self, index: slice) -> list[Scored]: ...

    def __getitem__(self, index: int | slice) -> Scored | list[Scored]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        for part in self._parts:
            if index < len(part):
                found = next(itertools.islice(part, index, None))
                return found if self._map is None else self._map(found)
            index -= len(part)
        raise IndexError(index)  # pragma: no cover - lengths agree

    def close(self) -> None:
        """Remove the spill files now."""
        if self._cleanup is not None:
            self._cleanup()

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to another process (a forked writer shares it; pickling copies it in memory).
        return (_from_list, (list(self),))


def _from_list(people: list[Scored]) -> People:
    out = People()
    out.add(people)
    return out


def remove_spill_folder(folder: str) -> None:
    """Remove a spill folder and the files in it."""
    _remove_folder(folder, os.getpid())


def _remove_folder(folder: str, owner: int) -> None:
    if os.getpid() != owner:  # a forked writer ending: the folder is its parent's
        return
    for entry in Path(folder).glob("*"):
        with contextlib.suppress(OSError):
            entry.unlink()
    with contextlib.suppress(OSError):
        Path(folder).rmdir()
