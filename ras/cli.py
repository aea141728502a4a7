"""The ``ras`` command line.

Each command parses options, calls one library function, and maps ras's errors to
exit codes (SPEC §2). No scoring or optimisation lives here.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from ras.errors import (
    DISK_FULL_TEXT,
    NAME_FIX,
    NAME_NOT_TEXT,
    ExitCode,
    Issue,
    RasError,
    UsageError,
    clip,
    is_disk_full,
    is_text,
    printable,
    quote,
    shown_name,
)
from ras.models.base import decimal_text
from ras.money import pounds
from ras.version import __version__

if TYPE_CHECKING:
    from ras.models.comparison import RunEnd
    from ras.models.risk import RiskOutcome
    from ras.models.scenario import Override

F = TypeVar("F", bound=Callable[..., Any])
MAX_PRINTED_PROBLEMS = 50


def _echo(text: str, err: bool = False) -> None:
    """``click.echo``; a reader that has gone (``ras ... | head``) silences the stream.

    The run goes on and writes its outputs: the messages are for people, the workbooks
    are the work. Before, the first line after ``head`` had left ended the run as an
    internal error, exit 1, with the plan written or not depending on when that was.
    """
    try:
        click.echo(text, err=err)
    except BrokenPipeError:
        stream = sys.stderr if err else sys.stdout
        try:  # later writes, and the flush at exit, go nowhere rather than fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        except (OSError, ValueError):  # not a real file (a test's runner)
            pass


class Ui:
    """Output for one command: messages to stderr, JSON to stdout."""

    def __init__(self, quiet: bool, as_json: bool, debug: bool) -> None:
        self.quiet, self.as_json, self.debug = quiet, as_json, debug
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}

    def say(self, message: str) -> None:
        """A message for people (stderr, unless --quiet)."""
        if not self.quiet:
            _echo("\n".join(map(printable, message.split("\n"))), err=True)

    def problems(self, issues: list[Issue]) -> None:
        """Print problems one per line (stderr), the first few only."""
        if self.quiet:
            return
        for issue in issues[:MAX_PRINTED_PROBLEMS]:
            label = "warning" if issue.severity == "warning" else "error"
            _echo(f"{label}: {issue.one_line()}", err=True)
        if len(issues) > MAX_PRINTED_PROBLEMS:
            _echo(f"... and {len(issues) - MAX_PRINTED_PROBLEMS} more", err=True)

    def emit(self, data: dict[str, Any]) -> None:
        """The --json summary on stdout."""
        if self.as_json:
            _echo(json.dumps(data, indent=2, default=str))

    def progress(self, label: str, done: int, total: int) -> None:
        """Progress bar on stderr for runs of more than a few files."""
        if (
            self.quiet
            or total < 20
            or not sys.stderr.isatty()
            and not os.environ.get("RAS_PROGRESS")
        ):
            return
        from rich.console import Console
        from rich.progress import Progress

        if self._progress is None:
            self._progress = Progress(console=Console(stderr=True), transient=True)
            self._progress.start()
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=total)
        self._progress.update(self._tasks[label], completed=done)

    def solver_progress(self, p: Any) -> None:
        """A line of solver progress on stderr (stage, incumbent, bound, gap, elapsed)."""
        if self.quiet:
            return

        def figure(v: float | None) -> str:
            return "-" if v is None else f"{v:,.2f}"

        gap = "-" if p.gap is None else f"{p.gap * 100:.3g} %"
        _echo(
            f"  solving {p.stage}: best {figure(p.incumbent)}, bound {figure(p.bound)}, "
            f"gap {gap}, {p.elapsed:.0f} s",
            err=True,
        )

    def close(self) -> None:
        """Stop the progress bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _progress_every() -> float:
    """Seconds between solver progress lines: 2 on a terminal, 5 in a log.

    The environment variable RAS_PROGRESS_EVERY sets another interval.
    """
    try:
        return float(os.environ["RAS_PROGRESS_EVERY"])
    except (KeyError, ValueError):
        return 2.0 if sys.stderr.isatty() else 5.0


def common(func: F) -> F:
    """Add --quiet, --json and --debug, and map errors to exit codes."""

    @click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
    @click.option(
        "--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout."
    )
    @click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors and --json.")
    @functools.wraps(func)
    def wrapper(*args: Any, quiet: bool, as_json: bool, debug: bool, **kwargs: Any) -> Any:
        ui = Ui(quiet, as_json, debug)
        try:
            code = _mapped(func, ui, args, kwargs)
            # Done: a Ctrl-C now (a second press just after a first ended the run)
            # would only turn the exit code into a traceback; it is ignored.
            _ignore_ctrl_c()
        except KeyboardInterrupt:
            # Every ``finally`` on the way here has run (temporary files removed); exit
            # at once, without waiting for solver or worker threads to wind down. Also
            # reached when a second Ctrl-C comes while an error is being reported. A
            # Ctrl-C pending as a function starts is raised there, before any ``try``
            # of its own: hence the loop.
            while True:
                try:
                    _exit_interrupted(ui)
                except KeyboardInterrupt:
                    continue
        ui.close()
        _stop_helpers()
        sys.exit(int(code or 0))

    return wrapper  # type: ignore[return-value]


def _mapped(func: Callable[..., Any], ui: Ui, args: Any, kwargs: Any) -> int:
    """Run a command; an error becomes its one-line message and exit code."""
    debug = ui.debug
    try:
        _check_paths(kwargs)
        return int(func(*args, ui=ui, **kwargs) or 0)
    except RasError as exc:
        _ignore_ctrl_c()
        ui.close()
        if debug:
            traceback.print_exc()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            _echo(f"error: {printable(line)}", err=True)
        ui.emit({"error": str(exc), "exit_code": int(exc.exit_code)})
        return int(exc.exit_code)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        _ignore_ctrl_c()
        ui.close()
        if debug:
            raise
        filename = getattr(exc, "filename", None)
        if is_disk_full(exc):  # not where ras could tell
            where = f"{filename}: " if filename else "an output "
            message = f"{where}{printable(DISK_FULL_TEXT)}"
        elif isinstance(exc, OSError) and exc.strerror and filename:
            # The system refused a file ras named (a name too long, a folder it may not
            # enter): not a fault of ras's, and said of that file. Outputs are written
            # whole or not at all, so nothing is half-written.
            hint = "; choose a shorter name" if exc.errno == errno.ENAMETOOLONG else ""
            message = f"{clip(shown_name(str(filename)))}: {exc.strerror}{hint}"
        else:
            message = (
                f"internal error ({type(exc).__name__}: {clip(str(exc), 300)}); "
                "run again with --debug and report it"
            )
        _echo(f"error: {message}", err=True)
        ui.emit({"error": message, "exit_code": int(ExitCode.INVALID_INPUT)})
        return int(ExitCode.INVALID_INPUT)


#: Whether this process is the ``ras`` command (``run``), not a caller of ``main``
#: (a test's CliRunner): only then may ending a command change the SIGINT disposition,
#: which processes started later would inherit.
_OWN_PROCESS = False


def _ignore_ctrl_c(always: bool = False) -> None:
    """Ignore Ctrl-C from here on, also when one comes while this is being done."""
    if not (always or _OWN_PROCESS):
        return
    while True:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            return
        except KeyboardInterrupt:
            continue


def _exit_interrupted(ui: Ui) -> NoReturn:
    """Exit 130 at once after Ctrl-C (143 after SIGTERM); a second Ctrl-C now is ignored."""
    _ignore_ctrl_c(always=True)
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if _TERMINATED and _TERMINATED != signal.SIGTERM:
            signal.signal(_TERMINATED, signal.SIG_IGN)
    ui.close()
    _echo("terminated" if _TERMINATED else "interrupted", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    if not ui.debug:
        # Said: what threads still winding down print now (a Dask cluster interrupted
        # while its workers started logged "Nanny failed to start" tracebacks) is noise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    _stop_helpers(wait=0.5)  # of the 2 s SPEC §16 allows a Ctrl-C; then they are killed
    sys.stdout.flush()
    os._exit(128 + _TERMINATED if _TERMINATED else 130)


def _stop_helpers(wait: float | None = None) -> None:
    """No process ras started outlives it (multiprocessing's helpers included)."""
    if "ras.parallel" in sys.modules:
        from ras.parallel import stop_helper_processes

        stop_helper_processes(wait)


class _InputPath(click.Path):
    """A file named on the command line for ras to read (a scenario, a table, OLD).

    That it is there, and is a file, is checked as the command starts
    (:func:`_check_paths`): a usage error (SPEC §16, exit 2), said in ``--json`` too,
    as a missing INPUT of ``ras score`` is.
    """

    def __init__(self) -> None:
        super().__init__(path_type=Path)  # click's own checks would print usage, no JSON


#: Endings of files ras reads or writes: a new folder named so was meant as a file.
_FILE_ENDINGS = (".xlsx", ".xlsm", ".xls", ".yaml", ".yml", ".csv")


class _OutFile(click.Path):
    """A file ras writes, of the kind its name's ending chooses: ``.xlsx`` or ``.yaml``.

    ``.yaml`` (or ``.yml``) only where ras also writes YAML. Any other ending is refused
    as the command starts (:func:`_check_paths`: SPEC §16, a usage error, nothing written;
    in ``--json`` too): ``table.xls`` got YAML text.
    """

    def __init__(self, yaml_too: bool = False) -> None:
        super().__init__(dir_okay=False, path_type=Path)
        self.endings = (".xlsx", ".yaml", ".yml") if yaml_too else (".xlsx",)

    def problem(self, name: str, path: Path) -> str | None:
        """Why ``path`` cannot be written (as ``name`` on the command line), or None."""
        if path.suffix.lower() in self.endings:
            return None
        kinds = "an .xlsx or .yaml" if len(self.endings) > 1 else "an .xlsx"
        writes = "a workbook or YAML" if len(self.endings) > 1 else "Excel workbooks"
        return (
            f"{name} {quote(str(path))} is not {kinds} name: ras writes {writes}, such as "
            f"{path.with_suffix('.xlsx').name} (nothing was written)"
        )


def _check_paths(kwargs: dict[str, Any]) -> None:
    """Refuse what the command line names wrongly (SPEC §16: usage errors, nothing written).

    That is a file to read that is not there or is a folder, and an output (``--out``, ``DEST``)
    whose name's ending is not one ras writes.

    Raises:
        UsageError: naming each of them.
    """
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return
    wrong: dict[str, None] = {}  # each once, if named twice
    for p in ctx.command.params:
        value = kwargs.get(p.name) if p.name is not None else None
        if value is None:
            continue
        shown = p.opts[0] if isinstance(p, click.Option) else p.human_readable_name
        if isinstance(p.type, click.Path):
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if not is_text(str(one)):
                    name = clip(shown_name(str(one)))
                    raise UsageError(
                        f"{shown} {name}: {NAME_NOT_TEXT}; {NAME_FIX} (nothing was written)"
                    )
        if isinstance(p.type, _OutFile):
            problem = p.type.problem(shown, Path(value))
            if problem is not None:
                raise UsageError(problem)
        if not isinstance(p.type, _InputPath):
            continue
        if not Path(value).exists():
            from ras.io.inputs import not_there  # only now: the reader is slow to import

            wrong[not_there(Path(value))] = None
        elif Path(value).is_dir():
            wrong[f"{value} is a folder, not a file"] = None
    if wrong:
        raise UsageError("; ".join(wrong) + "; check the path (nothing was written)")


class _Number(click.FloatRange):
    """A number in a range, and not ``nan``.

    click's range lets ``nan`` through (every comparison with it is false): ``--gap nan``
    and ``--time-limit nan`` reached HiGHS.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:  # nan
            self.fail(f"{value!r} is not a number.", param, ctx)
        return number


class _Group(click.Group):
    """Lists each command with the whole first sentence of its help, wrapped, not cut.

    A command line click cannot parse (an unknown option, a missing argument) is said
    as click says it, and also, under ``--json``, as ras's JSON error on stdout.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta.setdefault("ras.json", "--json" in args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if ctx.parent is None and ctx.meta.get("ras.json"):
                error = {"error": exc.format_message(), "exit_code": int(ExitCode.USAGE)}
                _echo(json.dumps(error, indent=2))
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit=1000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def group(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", _Group)
        return super().group(*args, **kwargs)


def count(n: int, one: str, many: str) -> str:
    """``1 person``, ``2 people``."""
    return f"{n:,} {one if n == 1 else many}"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ras")
def main() -> None:
    """ras: indicative budgets from self-assessments, and the plan that pays for them.

    Read self-assessment workbooks, score them with a point table into indicative
    budgets (every figure explained), and write the results back to Excel.
    """


# --------------------------------------------------------------------------- template


@main.group()
def template() -> None:
    """Write blank workbooks: assessments, point tables, registers, scenarios."""


@template.command("assessment")
@click.argument("out", type=_OutFile())
@click.option(
    "--table",
    "-t",
    "table_path",
    required=True,
    type=_InputPath(),
    help="Point table (YAML or xlsx) the assessment is made from.",
)
@click.option("--force", is_flag=True, help="Replace the file(s) if they exist.")
@common
def template_assessment(out: Path, table_path: Path, force: bool, ui: Ui) -> int:
    """Blank self-assessment workbook generated from a point table."""
    from ras.io.table_file import load_table
    from ras.io.templates import write_assessment_template
    from ras.outputs import refuse_existing, refuse_overwriting

    refuse_overwriting(out, {"the --table": table_path}, "OUT")  # even with --force
    refuse_existing([out], force)
    table = load_table(table_path)
    write_assessment_template(table, out, deterministic=False)
    ui.say(f"wrote {out} (table {table.name!r} version {table.version})")
    ui.emit({"written": [str(out)]})
    return 0


@template.command("table")
@click.argument("out", type=_OutFile(yaml_too=True))
@click.option(
    "--example",
    type=click.Choice(["adult-social-care", "mental-health-phb"]),
    default="adult-social-care",
    show_default=True,
    help="Which example to start from.",
)
@click.option("--force", is_flag=True, help="Replace the file(s) if they exist.")
@common
def template_table(out: Path, example: str, force: bool, ui: Ui) -> int:
    """Starter point table (.yaml or .xlsx, by the file's extension)."""
    from ras.io.templates import write_table_template
    from ras.outputs import refuse_existing

    refuse_existing([out], force)
    write_table_template(out, example)
    ui.say(f"wrote {out}")
    ui.emit({"written": [str(out)]})
    return 0


@template.command("registers")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the file(s) if they exist.")
@common
def template_registers(folder: Path, force: bool, ui: Ui) -> int:
    """Blank placements.xlsx and contracts.xlsx registers, and an empty allocations.xlsx.

    Then `ras template scenario FOLDER/scenario.xlsx` gives a scenario that runs as
    written (nobody moves until the registers and allocations are filled in).
    """
    from ras.commands.starter import write_starter_registers
    from ras.io.templates import REGISTERS
    from ras.outputs import refuse_existing

    if not folder.exists() and folder.suffix.lower() in _FILE_ENDINGS:  # a new folder: `x.xlsx`
        raise UsageError(
            f"FOLDER {quote(str(folder))} is named like a file: ras writes a folder of "
            f"workbooks ({', '.join([*REGISTERS, 'allocations.xlsx'])}); name a folder, such as "
            f"{quote(str(folder.with_suffix('')))} (nothing was written)"
        )
    refuse_existing([folder / name for name in REGISTERS], force)
    written = write_starter_registers(folder)
    for p in written:
        ui.say(f"wrote {p}")
    ui.emit({"written": [str(p) for p in written]})
    return 0


@template.command("scenario")
@click.argument("out", type=_OutFile(yaml_too=True))
@click.option("--force", is_flag=True, help="Replace the file(s) if they exist.")
@common
def template_scenario(out: Path, force: bool, ui: Ui) -> int:
    """Starter scenario for the transfer plan: OUT.xlsx (a workbook) or OUT.yaml.

    Its data paths are relative to OUT's folder: placements.xlsx, contracts.xlsx and
    allocations.xlsx, as `ras template registers` writes them.
    """
    from ras.io.templates import write_scenario_template
    from ras.outputs import refuse_existing

    refuse_existing([out], force)
    write_scenario_template(out, deterministic=False)
    ui.say(f"wrote {out}")
    ui.emit({"written": [str(out)]})
    return 0


# --------------------------------------------------------------------------- scenario


@main.group()
def scenario() -> None:
    """Convert a scenario between YAML and a workbook; check the values it uses."""


@scenario.command("convert")
@click.argument("source", type=_InputPath())
@click.argument("dest", type=_OutFile(yaml_too=True))
@common
def scenario_convert(source: Path, dest: Path, ui: Ui) -> int:
    """Convert SOURCE to DEST (.yaml or .xlsx, by extension), in canonical form."""
    from ras.io.scenario_file import convert_scenario
    from ras.outputs import refuse_overwriting

    refuse_overwriting(dest, {"the SOURCE": source}, "DEST")  # its comments would be lost
    ui.problems(convert_scenario(source, dest))
    ui.say(f"wrote {dest}")
    ui.emit({"written": [str(dest)]})
    return 0


@scenario.command("check")
@click.argument("source", type=_InputPath())
@click.option("--variant", help="A variant named in the scenario file.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="As for ras optimise.")
@common
def scenario_check(source: Path, variant: str | None, sets: tuple[str, ...], ui: Ui) -> int:
    """Validate a scenario and print every value used and where it came from."""
    from ras.io.scenario_file import load_scenario

    loaded = load_scenario(source, variant, [parse_set_option(o) for o in sets], for_a_run=True)
    values = loaded.values()
    width = max(len(k) for k, *_ in values)
    for key, value, source_, place in values:
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
        where = f" ({place})" if place else ""
        ui.say(f"{key:<{width}}  {'' if shown is None else shown}  [{source_}{where}]")
    for name in loaded.scenario.variants:
        ui.say(f"variant {name}: valid")
    ui.problems(list(loaded.warnings()))
    loaded.data_files()  # a run would stop at a data file that is not there: say so now
    ui.emit({k: {"value": v, "source": s, "where": w} for k, v, s, w in values})
    return 0


# --------------------------------------------------------------------------- table


@main.group()
def table() -> None:
    """Convert and check point tables."""


@table.command("convert")
@click.argument("source", type=_InputPath())
@click.argument("dest", type=_OutFile(yaml_too=True))
@common
def table_convert(source: Path, dest: Path, ui: Ui) -> int:
    """Convert a point table between YAML and xlsx (by extension)."""
    from ras.io.table_file import fingerprint, load_table, save_table
    from ras.outputs import refuse_overwriting

    refuse_overwriting(dest, {"the SOURCE": source}, "DEST")
    t = load_table(source)
    save_table(t, dest)
    fp = fingerprint(t)
    ui.say(f"wrote {dest} (fingerprint {fp})")
    ui.emit({"written": [str(dest)], "fingerprint": fp})
    return 0


@table.command("check")
@click.argument("source", type=_InputPath())
@common
def table_check(source: Path, ui: Ui) -> int:
    """Validate a point table and print its fingerprint."""
    from ras.io.table_file import fingerprint, load_table

    t = load_table(source)
    fp = fingerprint(t)
    if not ui.as_json:
        _echo(fp)
    ui.say(
        f"{source}: valid table {t.name!r} version {t.version}: {len(t.domains)} domains, "
        f"{len(t.questions())} questions, method {t.allocation.method}"
    )
    ui.emit(
        {
            "table": t.name,
            "version": t.version,
            "fingerprint": fp,
            "domains": len(t.domains),
            "questions": len(t.questions()),
        }
    )
    return 0


# --------------------------------------------------------------------------- validate / score


def _out_option(what: str) -> Callable[[F], F]:
    """The required ``--out`` option of a command that writes ``what``."""
    return click.option(
        "--out",
        "-o",
        required=True,
        type=_OutFile(),
        help=f"{what} to write.",
    )


def _table_option(func: F) -> F:
    return click.option(
        "--table",
        "-t",
        "table_path",
        required=True,
        type=_InputPath(),
        help="Point table (YAML or xlsx).",
    )(func)


def _jobs_option(func: F) -> F:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(0),
        default=None,
        help="Worker processes (default: one per core; 0 = none).",
    )(func)


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@_table_option
@_jobs_option
@common
def validate(inputs: tuple[Path, ...], table_path: Path, jobs: int | None, ui: Ui) -> int:
    """Read and check INPUTs against a table; report every problem, write nothing.

    INPUT is a workbook, a folder (scanned recursively) or a bulk table (.xlsx/.csv).
    """
    from ras.commands.score import run_score
    from ras.io.table_file import load_table

    t = load_table(table_path)
    outcome = run_score(list(inputs), t, None, jobs=jobs, progress=ui.progress)
    ui.close()
    run = outcome.run
    ui.problems(run.issues)
    ui.say(
        f"{count(len(run.files), 'file', 'files')}: "
        f"{count(len(run.scored), 'assessment', 'assessments')} valid, "
        f"{run.rejected():,} rejected, {count(len(run.warnings), 'warning', 'warnings')}"
    )
    ui.emit(outcome.summary())
    return ExitCode.INVALID_INPUT if run.exceptions else ExitCode.OK


def _pseudonym_key(key_file: Path | None) -> bytes:
    """The key for --pseudonymise: the key file's, else ``$RAS_PSEUDONYMISE_KEY``'s."""
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise UsageError(f"{key_file}: cannot read the key file ({exc.strerror})") from exc
    else:
        key = os.environ.get("RAS_PSEUDONYMISE_KEY", "").encode()
    if len(key) < 16:
        raise UsageError(
            "--pseudonymise needs a secret key of at least 16 characters: set "
            "RAS_PSEUDONYMISE_KEY or pass --key-file; keep the same key for stable pseudonyms"
        )
    return key


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@_table_option
@_out_option("allocations.xlsx")
@click.option(
    "--budget-sheets",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for one indicative budget workbook per person.",
)
@click.option(
    "--in-place",
    is_flag=True,
    help="Write the Indicative budget sheet into each input workbook (after a backup; "
    "not with --budget-sheets).",
)
@click.option(
    "--pseudonymise",
    is_flag=True,
    help="Replace Person IDs and file names with stable keyed hashes.",
)
@click.option(
    "--key-file",
    type=_InputPath(),
    help="Secret key for --pseudonymise (default: $RAS_PSEUDONYMISE_KEY).",
)
@click.option(
    "--previous",
    type=_InputPath(),
    help="Budgets people have today (allocations.xlsx or a register): each budget sheet "
    "shows the change, this year's protected budget and the answers that changed.",
)
@click.option(
    "--policy",
    "policy_path",
    type=_InputPath(),
    help="Protection policy for --previous (as for ras transition).",
)
@click.option(
    "--overflow",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="Format of the files beside allocations.xlsx that take sheets longer than Excel "
    "allows (parquet needs pyarrow: pip install 'ras[parquet]').",
)
@_jobs_option
@common
def score(
    inputs: tuple[Path, ...],
    table_path: Path,
    out: Path,
    budget_sheets: Path | None,
    in_place: bool,
    pseudonymise: bool,
    key_file: Path | None,
    previous: Path | None,
    policy_path: Path | None,
    overflow: str,
    jobs: int | None,
    ui: Ui,
) -> int:
    """Score INPUTs into indicative budgets: allocations.xlsx and budget sheets."""
    from ras.commands.score import run_score
    from ras.io.table_file import load_table

    _needs(ui, "--key-file", key_file is not None, "--pseudonymise", pseudonymise)
    _needs(ui, "--policy", policy_path is not None, "--previous", previous is not None)
    sheets_asked = budget_sheets is not None or in_place
    _needs(ui, "--previous", previous is not None, "--budget-sheets or --in-place", sheets_asked)
    key = _pseudonym_key(key_file) if pseudonymise else None
    t = load_table(table_path)
    options = {
        "table": str(table_path),
        "out": str(out),
        "budget_sheets": budget_sheets,
        "in_place": in_place,
        "pseudonymise": pseudonymise,
        "overflow": overflow,
    }
    outcome = run_score(
        list(inputs),
        t,
        out,
        budget_sheets=budget_sheets,
        in_place=in_place,
        pseudonymise_key=key,
        jobs=jobs,
        progress=ui.progress,
        options=options,
        previous=previous,
        policy=policy_path,
        overflow=overflow,
    )
    ui.close()
    run = outcome.run
    ui.problems(run.issues)
    rejected = run.rejected()
    ui.say(
        f"{count(len(run.files), 'file', 'files')}: "
        f"{count(len(run.scored), 'person', 'people')} scored, "
        + (f"{rejected:,} rejected (see the Exceptions sheet)" if rejected else "none rejected")
        + f", {count(len(run.warnings), 'warning', 'warnings')}"
        + (
            f"; {count(unwritten, 'budget sheet', 'budget sheets')} not written "
            "(see the Exceptions sheet)"
            if (unwritten := run.sheets_not_written())
            else ""
        )
    )
    where = ""
    if in_place:
        into = count(len(outcome.sheets), "input workbook", "input workbooks")
        where = f" and the budget sheet into {into} (each first copied to NAME.backup.xlsx)"
    elif budget_sheets:
        sheets = count(len(outcome.sheets), "budget sheet", "budget sheets")
        where = f" and {sheets} in {budget_sheets}"
    ui.say(f"wrote {out}{where}")
    for p in outcome.alongside:
        ui.say(f"wrote {p} (more rows than an Excel sheet holds)")
    ui.emit(outcome.summary())
    return ExitCode.INVALID_INPUT if run.exceptions else ExitCode.OK


def _solver_option(func: F) -> F:
    return click.option(
        "--solver",
        type=click.Choice(["highs", "cbc"]),
        default="highs",
        show_default=True,
        help="MILP solver.",
    )(func)


# --------------------------------------------------------------------------- calibrate


@main.command()
@click.argument("allocations", type=_InputPath())
@_table_option
@_out_option("calibration.xlsx")
@click.option("--budget", type=str, help="The money available (£ a year) for every budget.")
@click.option(
    "--contingency",
    type=str,
    default="0.05",
    show_default=True,
    help="Share of --budget held back: 5%, 5 % or 0.05.",
)
@click.option(
    "--tolerance",
    type=str,
    default="0.5",
    show_default=True,
    help="Error (share of cost) beyond which a person is an outlier.",
)
@click.option(
    "--write-table",
    type=_OutFile(yaml_too=True),
    help="Write the calibrated table here (.yaml or .xlsx) with a new version; a YAML "
    "table keeps its comments.",
)
@click.option(
    "--rate-step",
    type=str,
    default="0.01",
    show_default=True,
    help="Round the written rates (or amounts) to this step in £, e.g. 0.05 or 1; down "
    "when --budget is given, so the table stays affordable.",
)
@common
def calibrate(
    allocations: Path,
    table_path: Path,
    out: Path,
    budget: str | None,
    contingency: str,
    tolerance: str,
    write_table: Path | None,
    rate_step: str,
    ui: Ui,
) -> int:
    """Fit the point table to current costs and to an affordable total.

    ALLOCATIONS is the allocations.xlsx written by `ras score` (people with a current
    annual cost form the sample).
    """
    from ras.commands.calibrate import run_calibrate
    from ras.io.table_file import load_table

    money = _money(budget, "--budget") if budget else None
    held_back = _rate(contingency, "--contingency", below_all=True)
    step = _step(rate_step)
    _needs(ui, "--rate-step", _given("rate_step"), "--write-table", write_table is not None)
    _needs(ui, "--contingency", _given("contingency"), "--budget", budget is not None)
    t = load_table(table_path)
    outcome = run_calibrate(
        allocations,
        t,
        out,
        budget=money,
        contingency=held_back,
        tolerance=_rate(tolerance, "--tolerance"),
        write_table=write_table,
        rate_step=step,
        table_source=table_path,
    )
    fit = outcome.fit
    ui.say(f"sample: {len(fit.sample)} of {len(outcome.people)} people have a current cost")
    if fit.rate is not None:
        ui.say(f"fitted rate: {pounds(fit.rate)} a point (table: £{t.allocation.rate})")
    for g, r in fit.group_rates.items():
        ui.say(f"  {g}: {pounds(r)} a point")
    if fit.method != "rate" and fit.factor is not None:
        ui.say(f"fitted scale on the table's amounts: {fit.factor:.6f}")
    if fit.r_squared is not None:
        ui.say(
            f"R² {fit.r_squared:.3f}; mean error {fit.mape:.1%}, median {fit.median_ape:.1%}; "
            f"{fit.inside_range:.0%} of costs inside the range; {len(fit.outliers)} outliers"
        )
    for warning in fit.warnings:
        ui.say(f"WARNING: {warning}")
    a = outcome.affordability
    if a is not None:
        what = f"rate {pounds(a.rate)} a point" if a.rate is not None else f"scale {a.factor:.4f}"
        ui.say(f"affordability: {what}, total {pounds(a.total)}: {a.message}")
    if outcome.written_table is not None:
        version = outcome.new_table.version if outcome.new_table else ""
        total = outcome.written_total
        ui.say(
            f"wrote {outcome.written_table} (version {version}; figures rounded "
            f"{'down ' if a is not None else ''}to £{rate_step}"
            + (f"; its budgets total {pounds(total)})" if total is not None else ")")
        )
    ui.say(f"wrote {out}")
    ui.emit(outcome.summary())
    return 0


def _given(name: str) -> bool:
    """Whether the option ``name`` was typed (not left at its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


def _cores_at_most(ui: Ui, jobs: int | None, scheduler: str | None) -> None:
    """Say so when a local cluster is asked for more workers than there are cores."""
    from ras.cluster import local_workers

    n = local_workers(jobs)
    if jobs and not scheduler and n < jobs:
        ui.say(
            f"warning: --jobs {jobs}: this machine gives ras {n} core{'s' if n > 1 else ''}; "
            f"the local cluster has {n} worker process{'es' if n > 1 else ''} (solves take "
            "a core each, so more would only slow the run)"
        )


def _needs(ui: Ui, option: str, given: bool, needed: str, with_it: bool) -> None:
    """Say so when an option that does nothing without another is given without it.

    A warning, not an error: the run is what was asked for, less an option that had
    nothing to act on (it used to be ignored without a word).
    """
    if given and not with_it:
        ui.say(f"warning: {option} is used only with {needed}; it was left unused")


def _money(text: str, option: str) -> Decimal:
    """A money option as people type it (``£2,000``), at most ras's limit (docs: Limits)."""
    from ras.models.base import parse_money

    try:
        value = Decimal(parse_money(text))
    except ValueError as exc:
        raise UsageError(f"{option} {quote(text)}: {exc}") from exc
    if value < 0:
        raise UsageError(f"{option} {quote(text)}: must be 0 or more")
    return value


def _step(text: str) -> Decimal:

    if text.strip().startswith("-"):  # said as for 0, not "0 or more"
        raise UsageError(f"--rate-step {quote(text)}: must be above 0, e.g. 0.01")
    step = _money(text, "--rate-step")
    if step <= 0:
        raise UsageError(f"--rate-step {quote(text)}: must be above 0, e.g. 0.01")
    return step


def _rate(text: str, option: str, below_all: bool = False) -> Decimal:
    """A rate option as people type it: ``5%``, ``5 %`` or ``0.05``.

    ``below_all``: a share held back, so less than 100 % (all of it leaves nothing).
    """
    from ras.models.base import parse_rate

    if text.strip().startswith("-"):  # not "-1 as a rate is -100 %; write -1%"
        raise UsageError(f"{option} {quote(text)}: must be 0 or more")
    try:
        value = Decimal(parse_rate(text))
    except ValueError as exc:
        raise UsageError(f"{option} {quote(text)}: {exc}") from exc
    if below_all and value >= 1:
        raise UsageError(f"{option} {quote(text)}: must be below 100 % (it is held back)")
    return value


# --------------------------------------------------------------------------- transition


@main.command()
@click.argument("old", type=_InputPath())
@click.argument("new", type=_InputPath())
@_out_option("transition.xlsx")
@click.option(
    "--policy",
    "policy_path",
    type=_InputPath(),
    help="Protection policy (YAML): cuts, rises, years, affordability.",
)
@click.option(
    "--table",
    "-t",
    "table_path",
    type=_InputPath(),
    help="The table NEW was scored with (labels, rounding; needed for affordability).",
)
@common
def transition(
    old: Path, new: Path, out: Path, policy_path: Path | None, table_path: Path | None, ui: Ui
) -> int:
    """Who gains and who loses when a table changes, with protection from sudden cuts.

    OLD is an allocations.xlsx (or a register of current budgets: Person ID, Current
    budget (£/year)); NEW is the allocations.xlsx scored with the new table.
    """
    from ras.commands.transition import run_transition, transition_summary
    from ras.io.table_file import load_table
    from ras.io.transition_writer import band_rows

    table = load_table(table_path) if table_path is not None else None
    outcome = run_transition(old, new, out, policy_path=policy_path, table=table)
    summary = transition_summary(outcome)
    ui.problems(outcome.warnings)
    ui.say(
        f"{count(len(outcome.people), 'person', 'people')} matched; "
        f"{len(outcome.only_old)} only in OLD, {len(outcome.only_new)} only in NEW"
    )
    for band, people, change in band_rows(outcome.people):
        if people:
            ui.say(f"  {band}: {people} ({pounds(change)})")
    cost = outcome.cost_of_protection()
    ui.say("cost of protection by year: " + ", ".join(pounds(c) for c in cost))
    limit = outcome.affordable_total
    if outcome.affordable is False and limit is not None:  # (False only with a limit)
        ui.say(
            f"NOT AFFORDABLE: even at a rate of 0 the year-1 budgets (with protection) cost "
            f"{pounds(outcome.year_total(1))}, above the affordable {pounds(limit)}"
        )
    elif outcome.rate is not None:
        ui.say(f"affordable: the new table's rate is {pounds(outcome.rate, 4)} a point")
    ui.say(f"wrote {out}")
    ui.emit(summary)
    return 0


# --------------------------------------------------------------------------- simulate

_scheduler_option = click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Run on an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (default: a local "
    "cluster on this machine's cores).",
)


@main.command()
@click.argument("scenario", type=_InputPath())
@_out_option("risk.xlsx")
@click.option("--samples", type=click.IntRange(min=1), help="Draws (default: the scenario's).")
@click.option(
    "--seed", type=click.IntRange(min=0), help="The draws' seed (default: the scenario's)."
)
@click.option("--variant", help="A variant named in the scenario file.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario value, e.g. --set uncertainty.budgets.sd=0.2 (repeatable).",
)
@_solver_option
@click.option(
    "--time-limit",
    type=_Number(min=0),
    default=600,
    show_default=True,
    help="Seconds for solving, for the whole command (0: none): the robust search stops "
    "there and says so, and ras exits 4.",
)
@_scheduler_option
@_jobs_option
@common
def simulate(
    scenario: Path,
    out: Path,
    samples: int | None,
    seed: int | None,
    variant: str | None,
    sets: tuple[str, ...],
    solver: str,
    time_limit: float | None,
    scheduler: str | None,
    jobs: int | None,
    ui: Ui,
) -> int:
    """Test the plan against costs that turn out higher: budgets, readmissions, breakdowns.

    Draws the scenario's `uncertainty:` section, reports per year the share of draws that
    meet the target and the spread of spend and savings; with uncertainty.robust, finds
    the smallest planning margin whose plan meets every year's target in the asked share
    of draws. Runs on Dask (a local cluster, or --scheduler).
    """
    from ras.commands.simulate import risk_summary, run_simulate
    from ras.models.plan import SolveOptions

    _cores_at_most(ui, jobs, scheduler)
    outcome = run_simulate(
        scenario,
        out,
        samples=samples,
        seed=seed,
        variant=variant,
        overrides=[parse_set_option(option) for option in sets],
        options=SolveOptions(solver=solver, time_limit=time_limit or None),
        scheduler=scheduler,
        jobs=jobs,
        progress=ui.progress,
    )
    ui.close()
    ui.problems(list(outcome.warnings))
    sc = outcome.loaded.scenario
    o = outcome.optimised
    ui.say(
        f"{sc.name} ({outcome.loaded.variant or 'base'}): {outcome.samples:,} draws, seed "
        f"{outcome.seed}, on {outcome.where} ({outcome.workers} workers)"
    )
    ui.say(
        f"  optimised plan ({o.status}): meets every year's target in "
        f"{outcome.optimised_share * 100:.1f} % of draws"
    )
    for y in outcome.years:
        ui.say(
            f"    {y.plan} year {y.year} ({sc.financial_year(y.year)}): target met in "
            f"{y.share_met * 100:.1f} %; spend P10/P50/P90 {pounds(y.spend[0], 0)} / "
            f"{pounds(y.spend[1], 0)} / {pounds(y.spend[2], 0)}"
        )
    if outcome.asked is not None:
        from ras.io.risk_writer import STOPPED

        if outcome.margin is None and outcome.robust_stopped:
            ui.say(f"  robust: not found: {STOPPED}")
        elif outcome.margin is None:
            ui.say(
                f"  robust: no margin up to 100 % meets every year in "
                f"{decimal_text(outcome.asked * 100)} % of draws"
            )
        else:
            ui.say(
                f"  robust margin {decimal_text(outcome.margin * 100)} %: meets every year in "
                f"{(outcome.robust_share or 0) * 100:.1f} % of draws (asked "
                f"{decimal_text(outcome.asked * 100)} %)"
                + (f"; {STOPPED}, and a smaller margin may do" if outcome.robust_stopped else "")
            )
    ui.say(f"wrote {out}")
    ui.emit(risk_summary(outcome))
    return _simulate_exit(outcome)


def _simulate_exit(outcome: RiskOutcome) -> ExitCode:
    """The exit code of ``ras simulate``: 4 when a solve stopped short, else 0.

    Short (SPEC §2): the optimised or the robust plan at the time limit, or the robust
    search stopped before it was done. A plan whose target is not met is evaluated like
    any other, as ``ras compare`` does.
    """
    robust = outcome.robust
    if outcome.optimised.stopped or outcome.robust_stopped or (robust and robust.stopped):
        return ExitCode.SOLVER
    return ExitCode.OK


# --------------------------------------------------------------------------- optimise


@main.command()
@click.argument("scenario", type=_InputPath())
@_out_option("plan.xlsx")
@click.option("--variant", help="A variant named in the scenario file.")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario value, e.g. --set savings.rate=5% (repeatable).",
)
@_solver_option
@click.option(
    "--time-limit",
    type=_Number(min=0),
    default=600,
    show_default=True,
    help="Seconds for the whole solve (0: none). At the limit the best plan so far is "
    "written, marked TIME LIMIT (gap x %), exit 4.",
)
@click.option(
    "--gap",
    type=_Number(0, 1),
    default=1e-4,
    show_default=True,
    help="Relative MIP gap at which the solver stops.",
)
@common
def optimise(
    scenario: Path,
    out: Path,
    variant: str | None,
    sets: tuple[str, ...],
    solver: str,
    time_limit: float | None,
    gap: float,
    ui: Ui,
) -> int:
    """Plan who moves out of which placement, and which block places are released, when.

    Meets every year's savings target while putting as many people as early as possible
    into individual budgets. Exit 3 when the target cannot be met (the plan with the
    most achievable savings is still written, marked TARGET NOT MET).
    """
    from ras.commands.optimise import organisation_lines, plan_summary, run_optimise
    from ras.models.plan import SolveOptions

    outcome = run_optimise(
        scenario,
        out,
        variant=variant,
        overrides=[parse_set_option(option) for option in sets],
        options=SolveOptions(
            solver=solver,
            time_limit=time_limit or None,
            gap=gap,
            progress=ui.solver_progress,
            progress_every=_progress_every(),
        ),
    )
    plan = outcome.plan
    ui.problems(list(outcome.data.warnings))
    ui.say(f"{outcome.loaded.scenario.name} ({outcome.loaded.variant or 'base'}): {plan.status}")
    ui.say(
        f"  {len(plan.moves)} people move; weighted person-years {plan.person_years}; "
        f"savings over the plan {pounds(plan.total_savings)}"
    )
    sc = outcome.loaded.scenario
    ui.say(f"  target: {sc.target_sentence()}")
    if outcome.data.missing_budgets:
        n = len(outcome.data.missing_budgets)
        ui.say(
            f"  {count(n, 'registered person has', 'registered people have')} no budget in "
            "the allocations: they stay (People sheet: no assessment)"
        )
    for r in plan.years:
        mark = "met" if r.met else f"SHORT by {pounds(r.shortfall)}"
        ui.say(
            f"  year {r.year} ({sc.financial_year(r.year)}): spend {pounds(r.spend)}, "
            f"savings {pounds(r.savings)} "
            f"(target {pounds(r.target)}, {mark}), {r.moves} moves, "
            f"{r.units_released} units released"
        )
    for line in plan.binding:
        ui.say(f"  binding: {line}")
    for line in organisation_lines(plan):
        ui.say(f"  {line}")
    ui.say(f"wrote {out}")
    ui.emit(plan_summary(outcome))
    if plan.stopped:
        return ExitCode.SOLVER
    return ExitCode.OK if plan.target_met else ExitCode.INFEASIBLE


@main.command()
@click.argument("scenario", type=_InputPath())
@_out_option("comparison.xlsx")
@click.option(
    "--frontier",
    metavar="START:STOP:STEP",
    help="Re-solve the base across savings rates, e.g. 0:0.08:0.01 or 0%:8%:1%.",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    help="Compare the base with this variant only (repeatable; default: every variant).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a scenario value in every run, e.g. --set savings.rate=4% (repeatable).",
)
@_solver_option
@click.option(
    "--time-limit",
    type=_Number(min=0),
    default=600,
    show_default=True,
    help="Seconds for solving, for the whole command (0: none): a run still solving then "
    "reports its best plan and gap; one not started is not solved.",
)
@_scheduler_option
@_jobs_option
@common
def compare(
    scenario: Path,
    out: Path,
    frontier: str | None,
    variants: tuple[str, ...],
    sets: tuple[str, ...],
    solver: str,
    time_limit: float | None,
    scheduler: str | None,
    jobs: int | None,
    ui: Ui,
) -> int:
    """Put the base scenario and every variant side by side (and a savings frontier).

    Runs as Dask tasks, on a local cluster across the cores or on an existing cluster
    (--scheduler); a run that fails is reported in the workbook and does not stop the
    others.
    """
    from ras.commands.compare import compare_summary, frontier_rates, run_compare
    from ras.models.plan import SolveOptions

    _cores_at_most(ui, jobs, scheduler)
    outcome = run_compare(
        scenario,
        out,
        frontier=frontier_rates(*_frontier(frontier)) if frontier is not None else (),
        variants=variants or None,
        overrides=[parse_set_option(option) for option in sets],
        jobs=jobs,
        progress=ui.progress,
        options=SolveOptions(solver=solver, time_limit=time_limit or None),
        scheduler=scheduler,
    )
    ui.close()
    ui.problems(outcome.warnings)
    every = outcome.runs + outcome.frontier
    for n, r in enumerate(every):
        if r.error:
            if n and (every[n - 1].status, every[n - 1].error) == (r.status, r.error):
                continue  # said once, of the first of the runs it is true of
            alike = _repeats(every, n)
            runs = f" (and the {alike} runs after it)" if alike else ""
            ui.say(f"  {r.name}{runs}: {r.status}: {r.error}")
            continue
        ui.say(
            f"  {r.name}: {r.status}; {r.moves} people move; weighted person-years "
            f"{decimal_text(r.person_years)}; savings {pounds(r.total_savings)}"
            + (f"; NOTE: {r.note}" if r.note else "")
        )
        for name, total, kinds, met in r.organisation_savings():
            state = "" if met is None else f"; {kinds} {'met' if met else 'NOT MET'}"
            ui.say(f"    {name}: savings {pounds(total)}{state}")
    ui.say(f"wrote {out}")
    ui.emit(compare_summary(outcome))
    return max((_run_exit(r.end) for r in outcome.runs + outcome.frontier), default=ExitCode.OK)


def _repeats(runs: list[Any], n: int) -> int:
    """How many runs right after ``runs[n]`` failed as it did (said of it once)."""
    k = n + 1
    while k < len(runs) and (runs[k].status, runs[k].error) == (runs[n].status, runs[n].error):
        k += 1
    return k - n - 1


def parse_set_option(option: str) -> Override:
    """``--set savings.rate=0.05``: the key path and the value (read as YAML)."""
    from ras.errors import ConfigError, UsageError
    from ras.io.scenario_book import typed_list
    from ras.io.strict_yaml import parse_yaml_text
    from ras.models.scenario import Override

    key, sep, text = option.partition("=")
    if not sep or not key.strip():
        raise UsageError(f"--set {quote(option)}: write KEY=VALUE, e.g. --set savings.rate=0.05")
    try:
        value, _ = parse_yaml_text(text if text.strip() else "null")
    except ConfigError as exc:
        raise UsageError(f"--set {quote(option)}: the value is not valid ({exc})") from exc
    keys = tuple(k.strip() for k in key.strip().split("."))
    value = typed_list(value, ".".join(keys))  # `10; 12; 12`, as typed in the workbook
    return Override(keys, value, "--set", f"--set {option}")


def _frontier(text: str) -> tuple[Decimal, Decimal, Decimal]:
    """``--frontier START:STOP:STEP`` as three decimals."""
    from ras.models.base import parse_rate

    try:
        start, stop, step = (Decimal(parse_rate(part)) for part in text.split(":"))
    except (ValueError, InvalidOperation) as exc:
        raise UsageError(
            f"--frontier {quote(text)}: write START:STOP:STEP, e.g. 0:0.08:0.01"
        ) from exc
    return start, stop, step


def _run_exit(end: RunEnd) -> ExitCode:
    """The exit code of one compared run (``ras compare`` exits with the worst)."""
    from ras.models.comparison import RunEnd

    return {
        RunEnd.PLAN: ExitCode.OK,
        RunEnd.STOPPED: ExitCode.SOLVER,
        RunEnd.BAD_INPUT: ExitCode.INVALID_INPUT,
        RunEnd.BAD_USAGE: ExitCode.USAGE,
        RunEnd.SOLVER_FAILED: ExitCode.SOLVER,
        RunEnd.CRASHED: ExitCode.SOLVER,
    }[end]


# --------------------------------------------------------------------------- demo


@main.command()
@click.option(
    "--out",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("ras-demo"),
    show_default=True,
    help="Folder to write into.",
)
@click.option(
    "--people",
    type=click.IntRange(1, 100_000),
    default=150,
    show_default=True,
    help="How many assessment workbooks to generate.",
)
@_jobs_option
@common
def demo(out: Path, people: int, jobs: int | None, ui: Ui) -> int:
    """Run the whole pipeline on generated example data."""
    from ras.commands.demo import run_demo

    result = run_demo(out, people=people, jobs=jobs, progress=ui.progress)
    ui.close()
    ui.say(result.describe())
    ui.emit(result.summary())
    return 0


def run() -> None:
    """The ``ras`` command (and ``python -m ras``): ``main`` in a process of its own."""
    global _OWN_PROCESS
    _OWN_PROCESS = True
    signal.signal(signal.SIGTERM, _on_sigterm)
    hangup = getattr(signal, "SIGHUP", None)
    if hangup is not None and signal.getsignal(hangup) == signal.SIG_DFL:  # (not nohup)
        signal.signal(hangup, _on_sigterm)  # the terminal closed: the same
    main()


#: The signal the run is ending for (SIGTERM: exit 143; SIGHUP: 129), if not Ctrl-C (130).
_TERMINATED = 0


def _on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM (a service stopping, ``kill``): the run stops as at a second Ctrl-C.

    Every process ras started is stopped, temporary files are removed and nothing is
    written (SPEC §16); the exit code is 143 (129 for SIGHUP, a terminal closed). The
    Ctrl-C handler in place is asked twice: a solve's first asks the solver to stop, its
    second ends the run; a commit that holds Ctrl-C for its few milliseconds delivers
    them when it is done.
    """
    global _TERMINATED
    _TERMINATED = signum
    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler:
        raise KeyboardInterrupt
    if callable(handler):
        handler(signal.SIGINT, frame)
        handler(signal.SIGINT, frame)
