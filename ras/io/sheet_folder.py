"""A folder of outputs that is ras's: built beside itself, swapped in whole (SPEC §16).

``ras score --budget-sheets DIR`` writes one workbook per person. The folder is ras's:
a re-run replaces every file ras wrote there (listed in a manifest), so no sheet from
an earlier run survives; files a person put there themselves are kept (one named as a
sheet the run writes fails the run, rather than be replaced); a non-empty folder ras
did not write is refused. The new sheets are written into a hidden folder
beside DIR and swapped into place only when the run succeeds, so an interrupted or
failed run leaves DIR as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ras.errors import DISK_FULL_TEXT, DiskFull, OutputError, UsageError, is_disk_full
from ras.outputs import file_mode, folder_mode, held_interrupts

MANIFEST = ".ras-manifest.json"


def _manifest(folder: Path) -> set[str] | None:
    """The files ras wrote in ``folder`` (None: no manifest)."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(name) for name in data.get("files", [])}
    except (OSError, ValueError, AttributeError):
        return set()


def check_ours(folder: Path) -> None:
    """Refuse a folder that ras may not fill.

    Raises:
        UsageError: ``folder`` is a file, or a non-empty folder without ras's manifest.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder}: is a file, not a folder; choose a folder for the sheets")
    if folder.is_dir() and _manifest(folder) is None:
        try:
            entries = [p.name for p in folder.iterdir()]
        except OSError as exc:
            raise OutputError(f"{folder}: cannot read the folder ({exc.strerror})") from exc
        if entries:
            raise UsageError(
                f"{folder}: the folder is not empty and ras did not write it (no {MANIFEST}); "
                "choose a new or empty folder, so that no one's files are replaced"
            )


@contextlib.contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside ``folder``; on success it becomes ``folder``.

    On any exception (Ctrl-C included) the hidden folder is removed and ``folder`` is
    left exactly as it was.

    Raises:
        UsageError: see :func:`check_ours`.
        OutputError: the folder cannot be created or replaced.
    """
    folder = Path(folder)
    check_ours(folder)
    parent = folder.parent if str(folder.parent) else Path()
    staging: Path | None = None
    try:
        with held_interrupts():  # the folder exists only once its clean-up is armed
            try:
                parent.mkdir(parents=True, exist_ok=True)
                staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.ras-new-", dir=parent))
                staging.chmod(folder_mode())
            except OSError as exc:
                raise OutputError(
                    f"{folder}: cannot create the folder ({exc.strerror}); "
                    "choose a folder you can write to"
                ) from exc
        yield staging
        written = sorted(p.name for p in staging.iterdir())
        manifest = staging / MANIFEST
        manifest.write_text(
            json.dumps(
                {"written_by": "ras", "at": dt.datetime.now().isoformat(), "files": written},
                indent=1,
            ),
            encoding="utf-8",
        )
        manifest.chmod(file_mode())
        with held_interrupts():
            _swap(folder, staging, set(written))
    except BaseException as exc:
        if staging is not None and staging.exists():
            with held_interrupts():
                shutil.rmtree(staging, ignore_errors=True)
        if is_disk_full(exc):  # named as the folder asked for, not ras's hidden one
            raise DiskFull(f"{folder}: {DISK_FULL_TEXT}") from exc
        raise


def _swap(folder: Path, staging: Path, written: set[str]) -> None:
    """Put ``staging`` in place of ``folder``, keeping files ras did not write there."""
    ours = (_manifest(folder) or set()) if folder.is_dir() else set()
    if folder.is_dir():
        theirs = [
            name
            for name in sorted(written)
            if name not in ours and name != MANIFEST and (folder / name).exists()
        ]
        if theirs:  # a person's own file would be replaced by a sheet of the same name
            more = f" and {len(theirs) - 1} more" if len(theirs) > 1 else ""
            raise OutputError(
                f"{folder / theirs[0]}{more}: not written by ras, and this run writes a "
                "budget sheet of that name; move or rename it and run again "
                "(nothing was written)"
            )
    try:
        if folder.is_dir():
            for item in folder.iterdir():
                if item.name in ours or item.name == MANIFEST or item.name in written:
                    continue
                item.rename(staging / item.name)  # a person's own file: kept
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.ras-old-", dir=folder.parent))
            folder.rename(old / folder.name)
            staging.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(folder)
    except OSError as exc:
        raise OutputError(
            f"{folder}: cannot replace the folder ({exc.strerror}); close any sheet open "
            "in Excel and run again"
        ) from exc
