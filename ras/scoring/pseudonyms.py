"""Pseudonyms (--pseudonymise): stable keyed hashes for Person IDs and file names."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ras.models.scored import InputFile, Scored, ScoreRun
from ras.scoring.store import People


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


def pseudonymise_run(run: ScoreRun, p: Pseudonymiser) -> ScoreRun:
    """A copy of the run with Person IDs and file names replaced by keyed hashes."""

    def hide(s: Scored) -> Scored:
        a = s.assessment
        return Scored(
            replace(a, person_id=p.person(a.person_id), source=p.source(a.source)), s.budget
        )

    scored: Sequence[Scored]
    if isinstance(run.scored, People) and run.scored.spilled:
        scored = run.scored.mapped(hide)  # as they are read: never all in memory
    else:
        scored = [hide(s) for s in run.scored]
    issues = [
        replace(
            i,
            person_id=p.person(i.person_id),
            where=replace(i.where, source=p.source(i.source)),
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
