"""The floor of budget sheets: one small one-sheet workbook per person, with XlsxWriter.

    python bench/xlsxwriter_floor.py FOLDER OUT

For each workbook in FOLDER, writes OUT/<name>.xlsx with one sheet of 40 labelled
figures, as fast as XlsxWriter writes any workbook: what a budget sheet cannot beat.
"""

from __future__ import annotations

import sys
from pathlib import Path

import xlsxwriter


def write_all(folder: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in sorted(folder.glob("*.xlsx")):
        wb = xlsxwriter.Workbook(str(out / f.name), {"in_memory": True})  # its fastest
        ws = wb.add_worksheet("Indicative budget")
        money = wb.add_format({"num_format": "£#,##0.00"})
        for r in range(40):
            ws.write_string(r, 0, f"Step {r}")
            ws.write_number(r, 1, r * 12.5, money)
        wb.close()
        n += 1
    return n


if __name__ == "__main__":
    print(write_all(Path(sys.argv[1]), Path(sys.argv[2])))
