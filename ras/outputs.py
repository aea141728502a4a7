"""Writing outputs all or nothing (SPEC §16): atomic files, groups committed together."""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ras.errors import DISK_FULL_TEXT, DiskFull, OutputError, UsageError, clip, is_disk_full


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file or folder (links and relative paths seen through)."""
    try:
        return Path(a).samefile(b)
    except OSError:  # one does not exist (yet): compare the names
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))  # noqa: PTH100


def refuse_overwriting(
    out: Path | None, inputs: Mapping[str, Path | None], option: str = "--out"
) -> None:
    """Refuse to write ``out`` over one of the run's input files (SPEC §16).

    ``inputs`` maps what each input is ("the placements register") to its path.

    Raises:
        UsageError: ``out`` is one of them (nothing was written).
    """
    if out is None:
        return
    if marked_read_only(out):  # said before the work, not after it
        raise UsageError(read_only_problem(out))
    for what, path in inputs.items():
        if path is not None and same_file(out, path):
            raise UsageError(
                f"{out} is {what} of this run, and {option} would be written over it; "
                f"choose another {option} (nothing was written)"
            )


def marked_read_only(path: Path) -> bool:
    """Whether ``path`` is a file marked read-only (its owner may not write it).

    ras writes by renaming a new file into place, which needs only the folder to be
    writable (and a superuser may write anything): the mark is what says "keep this".
    """
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and not st.st_mode & stat.S_IWUSR


def read_only_problem(path: Path) -> str:
    """What is said when an output would replace a file marked read-only."""
    return (
        f"{path}: the file is marked read-only, so ras does not replace it; "
        "choose another name, or make it writable (nothing was written)"
    )


def refuse_existing(paths: Iterable[Path], replace: bool) -> None:
    """Refuse to write a template over a file that exists, unless asked to (``--force``).

    A blank register written into a scenario's folder replaced the register someone
    had filled in.

    Raises:
        UsageError: a path exists and ``replace`` is false (nothing was written).
    """
    if replace:
        return
    there = [p for p in paths if p.exists()]
    if there:
        names = ", ".join(str(p) for p in there)
        one = len(there) == 1
        it = "it" if one else "them"
        raise UsageError(
            f"{names} already exist{'s' if one else ''}: a blank template would replace "
            f"{it}; choose another name, or give --force to replace {it} (nothing was written)"
        )


def lock_file(path: Path) -> Path:
    """The lock file Excel and LibreOffice keep beside an open workbook."""
    return path.with_name("~$" + path.name)


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK = current
    return _UMASK


def file_mode() -> int:
    """The mode a new file gets from the user's umask (0644 under umask 022)."""
    return 0o666 & ~_umask()


def folder_mode() -> int:
    """The mode a new folder gets from the user's umask (0755 under umask 022)."""
    return 0o777 & ~_umask()


@contextlib.contextmanager
def atomic_output(path: Path, mode: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    Nothing is left behind on failure, and an existing output is replaced only
    when the new one is complete. The file gets ``mode`` (the permissions of a workbook
    written in place), else what the umask allows.

    Raises:
        OutputError: the folder cannot be written or the file is open elsewhere.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path()
    for lock in (lock_file(path), path.with_name(".~lock." + path.name + "#")):
        try:
            locked = lock.exists()
        except OSError as exc:  # a name too long for the file system, with the lock's
            raise OutputError(
                f"{clip(str(path))}: cannot write the file ({exc.strerror}: the name and "
                f"Excel's lock file {clip(lock.name, 20)} must each fit the file system); "
                "choose a shorter name"
            ) from exc
        if locked:
            raise OutputError(
                f"{path}: the file is open in another program (lock file {lock.name}); "
                "close it and run again, or choose another output name"
            )
    if marked_read_only(path):
        raise OutputError(read_only_problem(path))
    tmp: Path | None = None
    group = _GROUP.get()
    try:
        with held_interrupts():  # a Ctrl-C lands once the file is ours to remove
            tmp = _temporary(path, folder, mode)
        yield tmp
        if group is not None:
            group.append((tmp, path))  # renamed with the rest of the group
            return
        _replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if is_disk_full(exc) and not isinstance(exc, DiskFull):
            raise DiskFull(f"{path}: {DISK_FULL_TEXT}") from exc
        raise
    finally:
        if group is None and tmp is not None and tmp.exists():
            tmp.unlink()


def _temporary(path: Path, folder: Path, mode: int | None) -> Path:
    """A new empty file beside ``path`` with the output's permissions.

    Raises:
        OutputError: the folder cannot be written.
    """
    tmp: Path | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".ras-", suffix=path.suffix, dir=folder)
        tmp = Path(tmp_name)
        try:
            os.fchmod(fd, file_mode() if mode is None else mode)  # mkstemp makes 0600
        finally:
            os.close(fd)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise OutputError(
            f"{path}: cannot write to the folder {folder} ({exc.strerror}); "
            "choose a folder you can write to"
        ) from exc
    return tmp


def _replace(tmp: Path, path: Path) -> None:
    try:
        tmp.replace(path)
    except OSError as exc:
        raise OutputError(
            f"{path}: cannot replace the file ({exc.strerror}); "
            "it may be open in another program: close it and run again"
        ) from exc


_GROUP: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar(
    "ras_output_group", default=None
)


def leave_group() -> None:
    """In a forked child: write outputs directly, not into the parent's pending group.

    (A forked child has a copy of the parent's group; renames it deferred there would
    never happen.)
    """
    _GROUP.set(None)


@contextlib.contextmanager
def outside_group() -> Iterator[None]:
    """Outputs written inside go straight into place (e.g. into a staging folder)."""
    token = _GROUP.set(None)
    try:
        yield
    finally:
        _GROUP.reset(token)


@contextlib.contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold Ctrl-C for the few milliseconds of a commit or a clean-up, then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if not caught:
        return
    if previous is signal.default_int_handler:
        raise KeyboardInterrupt
    if callable(previous):  # a handler of ras's own (a solve's, a cluster's): as if now
        for _ in caught[:2]:  # (a second press means stop at once)
            previous(signal.SIGINT, sys._getframe())
    elif previous == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def committed_together() -> Iterator[None]:
    """Outputs written inside (with :func:`atomic_output`) are committed together or not at all.

    Each output is written to its temporary file as usual; the renames into place wait
    until the block ends without an exception (Ctrl-C included), then happen one after
    another with Ctrl-C held for those few milliseconds. On an exception every
    temporary file is removed and no output is touched (SPEC §16). Inside another such
    block, the outputs join the outer one's.
    """
    if _GROUP.get() is not None:
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _GROUP.set(pending)
    try:
        try:
            yield
        finally:
            _GROUP.reset(token)
        with held_interrupts():
            for tmp, path in pending:
                _replace(tmp, path)
    except BaseException:  # (a Ctrl-C just before the renames too): no temporary file stays
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
