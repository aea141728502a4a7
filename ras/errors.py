"""The exception tree and the problem records that ras reports.

Every problem ras finds in its inputs becomes an :class:`Issue`: where it is
(file, sheet, cell or key path and line), what is wrong and how to fix it.
Problems that stop a whole command raise one of the exceptions below; the CLI
maps each to a fixed exit code (see ``docs`` and SPEC §2).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """Process exit codes (SPEC §2)."""

    OK = 0
    INVALID_INPUT = 1
    USAGE = 2
    INFEASIBLE = 3
    SOLVER = 4


#: The most characters of any input value that ras quotes in a message (SPEC §16).
QUOTE_LIMIT = 80
#: The most characters of any text field of an :class:`Issue` (a safety net: values
#: inside are quoted with :func:`quote` and are at most ``QUOTE_LIMIT`` already).
ISSUE_FIELD_LIMIT = 600


#: Control characters other than line breaks and tabs (C0, DEL, C1).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANKS = str.maketrans("\r\n\t", "   ")


def printable(text: str) -> str:
    r"""``text`` on one line, safe for a terminal.

    Line breaks and tabs become spaces, and other control characters their escapes
    (``\x1b``), so a value from an input (a Person ID, a file name) cannot beep, move
    the cursor or recolour the screen.
    """
    text = text.translate(_BLANKS)
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


#: Characters a file name read from the system holds for bytes that are not UTF-8.
_NOT_TEXT = re.compile("[\ud800-\udfff]")


def is_text(name: str) -> bool:
    """Whether ``name`` (a path as the system gave it) is text that can be written out.

    Python hands over a name's bytes that are not UTF-8 (names unpacked from some
    Windows zip files are cp1252 or cp437) as lone surrogates, which no workbook, CSV
    or JSON can hold.
    """
    return _NOT_TEXT.search(name) is None


def shown_name(name: str) -> str:
    r"""``name`` as it can be written out: ``\xNN`` for each byte that is not UTF-8."""
    return _NOT_TEXT.sub(
        lambda m: (
            f"\\x{ord(m.group(0)) - 0xDC00:02x}"
            if 0xDC80 <= ord(m.group(0)) <= 0xDCFF
            else f"\\u{ord(m.group(0)):04x}"
        ),
        name,
    )


#: What is wrong with a name that is not UTF-8 text, and its fix (see ``is_text``).
NAME_NOT_TEXT = (
    "the name is not UTF-8 text (shown with \\xNN for the bytes that are not, as in names "
    "unpacked from some Windows zip files)"
)
NAME_FIX = "rename it"


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis when cut), on one line."""
    return _cut(printable(text), limit)


def quote(value: object) -> str:
    """An input value quoted for a message: at most 80 characters, control characters escaped."""
    return repr(_cut((value if isinstance(value, str) else str(value)).translate(_BLANKS)))


def _cut(text: str, limit: int = QUOTE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Severity(StrEnum):
    """How bad a problem is: an error rejects the input, a warning only notes it."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a problem is: the file, and as far as known the sheet and cell or row."""

    source: str  # the file (or the command line)
    sheet: str = ""
    cell: str = ""  # an A1 reference, e.g. "C7"
    row: int = 0  # a bulk table's row (as a spreadsheet numbers it) when no one cell is meant

    def cell_text(self) -> str:
        """The Cell column of the Exceptions sheet: ``C7``, ``row 12`` or empty."""
        if self.cell:
            return self.cell
        return f"row {self.row}" if self.row else ""

    def __str__(self) -> str:
        parts = [self.source]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.cell:
            parts.append(f"cell {self.cell}")
        elif self.row:
            parts.append(f"row {self.row}")  # a bulk table's row, as a spreadsheet numbers it
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in an input: a stable code, where it is, what is wrong, the fix.

    ``code`` names the kind of problem (``not-an-option``, ``duplicate-person``, ...) and
    never changes with the wording; tests and other programs match on it.
    """

    code: str
    where: Location
    problem: str
    fix: str = ""
    person_id: str = ""
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # Input text never reaches a report whole: a Person ID is quoted like a value,
        # other fields are cut to a generous limit (their values are quoted already).
        object.__setattr__(self, "person_id", clip(self.person_id))
        for name in ("problem", "fix"):
            value = getattr(self, name)
            if len(value) > ISSUE_FIELD_LIMIT:
                object.__setattr__(self, name, clip(value, ISSUE_FIELD_LIMIT))
        w = self.where
        if max(len(w.source), len(w.sheet), len(w.cell)) > ISSUE_FIELD_LIMIT:
            object.__setattr__(
                self,
                "where",
                Location(
                    clip(w.source, ISSUE_FIELD_LIMIT),
                    clip(w.sheet, ISSUE_FIELD_LIMIT),
                    clip(w.cell, ISSUE_FIELD_LIMIT),
                    w.row,
                ),
            )

    @property
    def source(self) -> str:
        """The file."""
        return self.where.source

    @property
    def sheet(self) -> str:
        """The sheet ("" when not known)."""
        return self.where.sheet

    @property
    def cell(self) -> str:
        """The cell as the Exceptions sheet shows it: ``C7``, ``row 12`` or ""."""
        return self.where.cell_text()

    def location(self) -> str:
        """Return ``file, sheet, cell`` as far as they are known."""
        return str(self.where)

    def one_line(self) -> str:
        """Return the issue as one line: location, problem and fix."""
        text = f"{self.location()}: {self.problem}"
        if self.fix:
            text += f" ({self.fix})"
        return printable(text)


KeyPath = tuple[str | int, ...]


def locate(where: Mapping[KeyPath, str], path: KeyPath) -> str:
    """Where the deepest prefix of ``path`` that ``where`` knows was given ("" if none)."""
    for n in range(len(path), -1, -1):
        if path[:n] in where:
            return where[path[:n]]
    return ""


class ModelProblem(ValueError):
    """Semantic problems found by a model validator, each with its key path."""

    def __init__(self, problems: list[tuple[KeyPath, str]]) -> None:
        super().__init__("; ".join(f"{_fmt(p)}: {m}" for p, m in problems))
        self.problems = problems


def _fmt(path: KeyPath) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


class RasError(Exception):
    """Base class of every error ras raises on purpose."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT


class InputError(RasError):
    """An input file cannot be used; the message names the file and the place."""

    def __init__(
        self, message: str, issues: list[Issue] | None = None, code: str = "unusable-file"
    ) -> None:
        super().__init__(message)
        self.issues = issues or []
        self.code = code  # the Issue code when the error is reported as one file's problem


#: Problems of one file listed in one error, at most (the rest are counted).
MAX_LISTED = 50


def every_problem(lines: list[str], issues: list[Issue] | None = None) -> InputError:
    """One error for all the problems found in a file: each on its own line.

    A file with many bad rows names the first MAX_LISTED and counts the rest, so that
    one run shows what to fix rather than the first problem only.
    """
    shown = lines[:MAX_LISTED]
    if len(lines) > MAX_LISTED:
        shown.append(f"... and {len(lines) - MAX_LISTED:,} more problems in the same file")
    return InputError("\n".join(shown), issues)


class ConfigError(InputError):
    """A point table, scenario or option is invalid."""


class OutputError(RasError):
    """An output cannot be written (read-only folder, locked file)."""


class UsageError(RasError):
    """The command was called wrongly."""

    exit_code = ExitCode.USAGE


class SolverError(RasError):
    """The solver gave no usable solution."""

    exit_code = ExitCode.SOLVER


#: The errors a spreadsheet shows in a cell (Excel's, which LibreOffice shares): a CSV
#: saved from a sheet keeps them as text.
SPREADSHEET_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
     "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#UNKNOWN!", "#BUSY!"}
)  # fmt: skip

#: How to put right a cell that shows an error.
ERROR_FIX = "correct the formula or its look-up, or type the value"


def error_problem(what: str, error: str) -> str:
    """What to say of ``what`` (a cell, a field) that shows ``error`` (``#N/A``)."""
    return f"{what} shows the error {quote(error)} instead of a value"


#: The errors of a disk (or quota) with no room left for an output.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: What is said of an output that a full disk stopped.
DISK_FULL_TEXT = (
    "cannot be written: the disk is full (or your quota used up); free some space or write "
    "the output to another folder (nothing was written)"
)


class DiskFull(OutputError):
    """An output stopped by a full disk: every output of the run fails with it.

    (Its own type, not only its cause, says so: it crosses from a worker process.)
    """


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` is a full disk, or was raised from one or while handling one.

    (XlsxWriter's ``FileCreateError`` is raised while handling the disk's ``OSError``.)
    """
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, DiskFull) or isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
