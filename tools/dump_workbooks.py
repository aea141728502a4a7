"""Print every cell of every workbook under a folder, for comparing two runs.

Used before and after a refactor: ``python tools/dump_workbooks.py ras-demo > before.txt``,
then again after, and ``diff``. Times, dates, durations and solver timings change from run
to run, so cells that look like them are masked (``--keep-times`` shows them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from pathlib import Path

from openpyxl import load_workbook

_TIMING = re.compile(r"\b\d+(\.\d+)?\s*(s|seconds|ms)\b")


def _cell(value: object, keep_times: bool) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time) and not keep_times:
        return "<time>"
    text = repr(value)
    return text if keep_times else _TIMING.sub("<secs>", text)


def dump(folder: Path, keep_times: bool = False) -> list[str]:
    """One line per non-empty cell: file, sheet, cell, value (formulas as written)."""
    lines: list[str] = []
    for path in sorted(folder.rglob("*.xlsx")):
        rel = path.relative_to(folder)
        try:
            book = load_workbook(path, read_only=False)
        except Exception as exc:  # the demo's deliberately broken inputs
            lines.append(f"{rel} unreadable: {type(exc).__name__}")
            continue
        for ws in book.worksheets:
            lines.append(f"{rel} [{ws.title}] dims={ws.dimensions}")
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None:
                        value = _cell(c.value, keep_times)
                        lines.append(f"{rel} {ws.title}!{c.coordinate} {value}")
    return lines


def main() -> None:
    """Command line: ``dump_workbooks.py FOLDER [--keep-times]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--keep-times", action="store_true")
    args = parser.parse_args()
    sys.stdout.write("\n".join(dump(args.folder, args.keep_times)) + "\n")


if __name__ == "__main__":
    main()
