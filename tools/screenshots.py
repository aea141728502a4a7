"""Pictures of what users see, for the README: each output printed by LibreOffice.

Runs ``ras demo`` into a temporary folder, prints the workbooks to PDF with LibreOffice
(as a finance lead would print them) and writes the pages below as PNG files into
``docs/screenshots/``. Needs LibreOffice (``soffice``) and poppler's ``pdftoppm``::

    python tools/screenshots.py            # into docs/screenshots/
    python tools/screenshots.py --into DIR
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader

from ras.commands.demo import run_demo
from ras.io.table_file import load_table
from ras.io.templates import write_assessment_template, write_scenario_template

ROOT = Path(__file__).resolve().parent.parent
#: picture name -> (workbook in the demo folder, the sheet whose first page is shown)
PICTURES = {
    "allocations-summary": ("allocations.xlsx", "Summary"),
    "budget-sheet": ("budget-sheet.xlsx", "Indicative budget"),
    "plan-summary": ("plan.xlsx", "Summary"),
    "plan-organisations": ("plan.xlsx", "Organisations"),
    "comparison-frontier": ("comparison.xlsx", "Frontier"),
    "calibration-summary": ("calibration.xlsx", "Summary"),
    "blank-assessment": ("blank.xlsx", "Questionnaire"),
    "scenario-workbook": ("scenario.xlsx", "Scenario"),
    "transition-summary": ("transition.xlsx", "Summary"),
    "risk-summary": ("risk.xlsx", "Summary"),
}


def _first_page_of(pdf: Path, sheet: str) -> int:
    """The 1-based page where ``sheet`` starts (ras puts the sheet name in each footer)."""
    for n, page in enumerate(PdfReader(pdf).pages, start=1):
        found = re.findall(r"([A-Z][\w -]*?)\s*Page \d+ of \d+", page.extract_text())
        if found and found[-1].strip() == sheet:
            return n
    return 1


def main() -> None:
    """Draw every picture of ``PICTURES``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        raise SystemExit("needs LibreOffice (soffice) and poppler-utils (pdftoppm)")
    args.into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        demo = work / "demo"
        run_demo(demo, people=60)
        table = load_table(demo / "adult-social-care.yaml")
        write_assessment_template(table, demo / "blank.xlsx")
        first = sorted((demo / "budget-sheets").glob("*.xlsx"))[0]
        shutil.copy(first, demo / "budget-sheet.xlsx")
        write_scenario_template(demo / "scenario.xlsx")
        books = sorted({book for book, _ in PICTURES.values()})
        subprocess.run(
            [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(work / "pdf")]
            + [str(demo / b) for b in books],
            check=True,
            capture_output=True,
            timeout=600,
        )
        for name, (book, sheet) in PICTURES.items():
            pdf = work / "pdf" / (Path(book).stem + ".pdf")
            page = _first_page_of(pdf, sheet)
            subprocess.run(
                ["pdftoppm", "-png", "-r", "70", "-f", str(page), "-l", str(page),
                 "-singlefile", str(pdf), str(args.into / name)],
                check=True,
            )  # fmt: skip
            print(f"wrote {args.into / name}.png ({book}, sheet {sheet}, page {page})")


if __name__ == "__main__":
    main()
