"""The exception tree and the problem records that ras reports.

Every problem ras finds in its inputs becomes an :class:`Issue`: where it is
(file, sheet, cell or key path and line), what is wrong and how to fix it.
Problems that stop a whole command raise one of the exceptions below; the CLI
maps each to a fixed exit code (see ``docs`` and SPEC §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


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


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters (with an ellipsis when cut), on one line."""
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: object) -> str:
    """An input value quoted for a message: at most 80 characters of it, then ``…``."""
    return repr(clip(value if isinstance(value, str) else str(value)))


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in an input, with its location and a fix."""

    source: str
    problem: str
    fix: str = ""
    sheet: str = ""
    cell: str = ""
    person_id: str = ""
    severity: str = "error"  # "error" or "warning"

    def __post_init__(self) -> None:
        # Input text never reaches a report whole: a Person ID is quoted like a value,
        # other fields are cut to a generous limit (their values are quoted already).
        object.__setattr__(self, "person_id", clip(self.person_id))
        for name in ("source", "problem", "fix", "sheet", "cell"):
            value = getattr(self, name)
            if len(value) > ISSUE_FIELD_LIMIT:
                object.__setattr__(self, name, clip(value, ISSUE_FIELD_LIMIT))

    def location(self) -> str:
        """Return ``file, sheet, cell`` as far as they are known."""
        parts = [self.source]
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.cell:
            parts.append(f"cell {self.cell}")
        return ", ".join(p for p in parts if p)

    def one_line(self) -> str:
        """Return the issue as one line: location, problem and fix."""
        text = f"{self.location()}: {self.problem}"
        if self.fix:
            text += f" ({self.fix})"
        return text.replace("\n", " ")


@dataclass
class Report:
    """Every issue gathered during one run, in the order found."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        """Record one issue."""
        self.issues.append(issue)

    def extend(self, issues: list[Issue]) -> None:
        """Record several issues."""
        self.issues.extend(issues)

    @property
    def errors(self) -> list[Issue]:
        """The issues that are errors."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """The issues that are warnings."""
        return [i for i in self.issues if i.severity == "warning"]


KeyPath = tuple[str | int, ...]


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

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


class ConfigError(InputError):
    """A point table, scenario or option is invalid."""


class OutputError(RasError):
    """An output cannot be written (read-only folder, locked file)."""


class UsageError(RasError):
    """The command was called wrongly."""

    exit_code = ExitCode.USAGE


class InfeasibleError(RasError):
    """The savings target cannot be met."""

    exit_code = ExitCode.INFEASIBLE


class SolverError(RasError):
    """The solver gave no usable solution."""

    exit_code = ExitCode.SOLVER
