"""Finding the input files of a run: folders walked, lock files skipped, links recorded."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ras.errors import Issue, Location, Severity, UsageError

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


#: Found in folders so that they are reported (ras reads only .xlsx/.xlsm/.csv).
OTHER_SPREADSHEETS = (".xls", ".xlsb", ".ods")


SCANNED = WORKBOOK_SUFFIXES + OTHER_SPREADSHEETS


INPUT_SUFFIXES = (*WORKBOOK_SUFFIXES, ".csv")


@dataclass
class Collected:
    """The input files found for a run, and what was noticed on the way."""

    files: list[Path] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # Excel lock files
    links: list[tuple[str, str]] = field(default_factory=list)  # followed outside the folder


def _broken_link(p: Path) -> str:
    try:
        return f"it is a link to {p.readlink()}, which does not exist"
    except OSError:  # pragma: no cover - raced away
        return "it cannot be read"


def collect_inputs(inputs: Iterable[Path | str]) -> Collected:
    """Expand INPUT arguments into files: folders recursively, lock and hidden files skipped.

    A link inside a folder is followed; one that points outside the folder is recorded
    (the Run sheet shows where it leads). A folder named like a workbook is searched,
    with a warning.

    Raises:
        UsageError: an INPUT does not exist (SPEC §16: write nothing), or no input files
            were found at all.
    """
    inputs = list(inputs)
    out = Collected()
    missing: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            if p.suffix.lower() in INPUT_SUFFIXES:
                out.issues.append(
                    Issue(
                        "folder-named-like-a-workbook",
                        Location(str(p)),
                        "is a folder, not a workbook; the workbooks inside it were read",
                        severity=Severity.WARNING,
                    )
                )
            top = p.resolve()
            found: list[Path] = []
            for root, dirs, names in os.walk(p):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for d in dirs:
                    if d.lower().endswith(INPUT_SUFFIXES):
                        out.issues.append(
                            Issue(
                                "folder-named-like-a-workbook",
                                Location(str(Path(root, d))),
                                "is a folder, not a workbook; the workbooks inside it were read",
                                severity=Severity.WARNING,
                            )
                        )
                for name in names:
                    if name.startswith(".") or not name.lower().endswith(SCANNED):
                        continue
                    path = Path(root, name)
                    if name.startswith("~$"):
                        out.skipped.append(str(path))
                        continue
                    if path.is_symlink():
                        if not path.exists():
                            out.issues.append(
                                Issue(
                                    "broken-link",
                                    Location(str(path)),
                                    f"the file cannot be read: {_broken_link(path)}",
                                    "fix or remove the link",
                                )
                            )
                            continue
                        target = path.resolve()
                        if not target.is_relative_to(top):
                            out.links.append((str(path), str(target)))
                    found.append(path)
            out.files.extend(sorted(found))
        elif p.exists():
            if p.name.startswith("~$"):
                out.skipped.append(str(p))
            else:
                out.files.append(p)
        elif p.is_symlink():
            missing.append(f"{p} does not exist ({_broken_link(p)})")
        else:
            missing.append(f"{p} does not exist")
    if missing:
        raise UsageError("; ".join(missing) + "; check the path (nothing was written)")
    seen: set[str] = set()
    unique = []
    for f in out.files:
        key = os.path.normcase(os.path.abspath(f))  # noqa: PTH100 - no symlink resolving
        if key not in seen:
            seen.add(key)
            unique.append(f)
    out.files = unique
    if not out.files and not out.issues:
        given = ", ".join(str(i) for i in inputs)
        raise UsageError(
            f"no input files (.xlsx, .xlsm or .csv) found in {given}; nothing was written"
        )
    return out
