"""Finding the input files of a run: folders walked, lock files skipped, links recorded."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from python_calamine import CalamineWorkbook

from ras.errors import (
    NAME_FIX,
    NAME_NOT_TEXT,
    Issue,
    Location,
    Severity,
    UsageError,
    is_text,
    shown_name,
)
from ras.io.reader import ALLOCATIONS_SHEETS
from ras.io.sheet_folder import MANIFEST
from ras.outputs import same_file

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


def not_there(p: Path) -> str:
    """Why a path given to ras cannot be read: it does not exist (a link, where to)."""
    if p.is_symlink():
        return f"{p} does not exist ({_broken_link(p)})"
    return f"{p} does not exist"


#: What an entry of a folder that is not a file is (see ``_not_a_file``).
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
)


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it is a pipe, socket or device rather than a file, else None.

    Opening a named pipe waits, for ever, for something to write into it: one left in a
    folder of assessments stopped ``ras score`` for good. Only entries met in a folder
    are looked at so (a ``stat``, nothing opened): a pipe named on the command line is
    read, as the shell's ``<(...)`` gives one to be.
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # left to the reading, which names what is wrong
    return next((what for test, what in _SPECIAL_FILES if test(mode)), None)


def collect_inputs(
    inputs: Iterable[Path | str], out_file: Path | None = None, out_folder: Path | None = None
) -> Collected:
    """Expand INPUT arguments into files: folders recursively, lock and hidden files skipped.

    A link inside a folder is followed; one that points outside the folder is recorded
    (the Run sheet shows where it leads). A folder named like a workbook is searched,
    with a warning. What ras wrote itself is not read again from a folder: this run's
    ``out_file`` (an allocations workbook of an earlier run), ``out_folder`` and any
    other folder of budget sheets (:data:`MANIFEST`), and the backups ``--in-place``
    keeps beside each workbook (``NAME.backup.xlsx`` beside ``NAME.xlsx``).

    Raises:
        UsageError: an INPUT does not exist (SPEC §16: write nothing), no input files
            were found at all, or ``out_file`` would be written over an input.
    """
    inputs = list(inputs)
    out = Collected()
    missing: list[str] = []
    left_out: list[Path] = []  # CSV files met in folders
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
            csvs: list[Path] = []
            for root, dirs, names in os.walk(p):
                dirs[:] = [
                    d
                    for d in dirs
                    if not d.startswith(".") and not _ras_folder(Path(root, d), out_folder, out)
                ]
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
                listed = set(names)
                for name in names:
                    if name.startswith(".") or not name.lower().endswith(SCANNED):
                        if _a_table_left_out(name):
                            csvs.append(Path(root, name))
                        continue
                    path = Path(root, name)
                    if name.startswith("~$"):
                        out.skipped.append(str(path))
                        continue
                    if _backup_of(path) in listed or _ours(path, out_file):
                        continue  # ras wrote it: --in-place's backup, an earlier output
                    if not is_text(str(path)):  # no workbook can hold the name as it is
                        where = Location(shown_name(str(path)))
                        out.issues.append(Issue("name-not-text", where, NAME_NOT_TEXT, NAME_FIX))
                        continue
                    special = _not_a_file(path)
                    if special is not None:
                        out.issues.append(
                            Issue(
                                "not-a-file",
                                Location(str(path)),
                                f"is {special}, not a file saved on disk; it was not opened",
                                "save what it holds as a workbook, or move it out of the folder",
                            )
                        )
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
            left_out.extend(sorted(csvs))
        elif p.exists():
            if p.name.startswith("~$"):
                out.skipped.append(str(p))
            elif out_file is not None and same_file(p, out_file):
                raise UsageError(
                    f"{p} is an INPUT and the --out file: it would be written over; "
                    "choose another --out (nothing was written)"
                )
            else:
                out.files.append(p)
        else:
            missing.append(not_there(p))
    if missing:
        raise UsageError("; ".join(missing) + "; check the path (nothing was written)")
    named = [f for f in out.files if _named_like(f, out_file)]
    hit = next((f for f in named if out_file is not None and same_file(f, out_file)), None)
    if hit is not None:
        raise UsageError(
            f"{hit} is read as an INPUT, and --out would be written over it; choose another "
            "--out (nothing was written)"
        )
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
        hint = f"; a bulk table is read when named: {left_out[0]}" if left_out else ""
        raise UsageError(
            f"no assessment workbooks (.xlsx, .xlsm) found in {given}{hint}; nothing was written"
        )
    out.issues.extend(
        Issue(
            "csv-not-read",
            Location(str(path)),
            "is a CSV file in a folder; it was not read",
            "to score it as a bulk table, give the file itself as an INPUT",
            severity=Severity.WARNING,
        )
        for path in left_out
    )
    return out


#: The files ``ras score`` writes beside ``allocations.xlsx`` when a sheet is too long.
_OVERFLOW = (".allocations.csv", ".explanations.csv", ".answers.csv")


def _a_table_left_out(name: str) -> bool:
    """Whether a file in a folder is a CSV that may be a bulk table (so is worth naming).

    A folder's CSV files are not read: they may be registers, exports, or the files ras
    writes beside an allocations workbook (which are not named either).
    """
    lower = name.lower()
    return lower.endswith(".csv") and not lower.endswith(_OVERFLOW) and not name.startswith(".")


def _backup_of(path: Path) -> str | None:
    """The workbook ``path`` is ras's ``--in-place`` backup of (its name), or None."""
    stem = path.stem
    if not stem.endswith(".backup") or path.suffix.lower() not in WORKBOOK_SUFFIXES:
        return None
    return stem.removesuffix(".backup") + path.suffix


def _named_like(path: Path, out_file: Path | None) -> bool:
    """Whether ``path`` has the name of ``out_file`` (so may be it)."""
    return out_file is not None and path.name.casefold() == out_file.name.casefold()


def _ours(path: Path, out_file: Path | None) -> bool:
    """Whether ``path`` is this run's ``--out``, written by an earlier run of ras."""
    if not _named_like(path, out_file):
        return False  # (names first: a folder of 20,000 workbooks, each looked at)
    assert out_file is not None
    if not same_file(path, out_file):
        return False
    try:
        with CalamineWorkbook.from_path(str(path)) as wb:
            names = set(wb.sheet_names)
    except Exception:  # not a workbook calamine reads: not one ras wrote
        return False
    return ALLOCATIONS_SHEETS <= names


def _ras_folder(folder: Path, out_folder: Path | None, out: Collected) -> bool:
    """Whether a folder met in a walk is one ras fills with budget sheets (not read).

    This run's ``--budget-sheets`` folder is passed over quietly; another folder of
    sheets (it has ras's manifest) with a warning: give it as an INPUT to read it.
    """
    if out_folder is not None and same_file(folder, out_folder):
        return True
    if not (folder / MANIFEST).is_file():
        return False
    out.issues.append(
        Issue(
            "budget-sheets-not-read",
            Location(str(folder)),
            "is a folder of budget sheets ras wrote; its workbooks were not read",
            "give the folder itself as an INPUT to read them",
            severity=Severity.WARNING,
        )
    )
    return True
