"""The baseline of the scoring benchmarks: a bare python-calamine loop, one process.

    python bench/bare_calamine.py FOLDER

Reads the Person and Questionnaire sheets of every .xlsx in FOLDER and counts cells:
the least any reader of these workbooks must do.
"""

from __future__ import annotations

import sys
from pathlib import Path

from python_calamine import CalamineWorkbook


def read_all(folder: Path) -> int:
    cells = 0
    for f in sorted(folder.glob("*.xlsx")):
        wb = CalamineWorkbook.from_path(str(f))
        for name in ("Person", "Questionnaire"):
            cells += sum(len(r) for r in wb.get_sheet_by_name(name).to_python())
        wb.close()
    return cells


if __name__ == "__main__":
    print(read_all(Path(sys.argv[1])))
