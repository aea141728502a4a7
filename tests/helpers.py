"""Test helpers: workbooks written by other programs (openpyxl), and LibreOffice."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time as _time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook


def write_assessment(
    path: Path,
    person: dict[str, Any],
    answers: dict[str, Any],
    extra_sheet: bool = False,
    shuffle: bool = False,
) -> Path:
    """An assessment workbook written with openpyxl, not by ras (rows found by label)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    if extra_sheet:
        ws.title = "Cover"
        ws["A1"] = "Completed with my support worker"
        ws = wb.create_sheet("Person")
    else:
        ws.title = "Person"
    ws.append(["Field", "Value"])
    items = list(person.items())
    if shuffle:
        items.reverse()
    for label, value in items:
        ws.append([label, value])
        if isinstance(value, str) and value.startswith("="):
            ws.cell(ws.max_row, 2).data_type = "s"  # text that looks like a formula
    q = wb.create_sheet("Questionnaire")
    q.append(["Domain", "Question ID", "Question", "Answer", "Notes"])
    qitems = list(answers.items())
    if shuffle:
        qitems.reverse()
    for qid, ans in qitems:
        q.append(["", qid, f"question {qid}", ans, ""])
    wb.save(path)
    return path


def half_up(value: Decimal, step: Decimal = Decimal(1)) -> Decimal:
    return (value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pdf(files: list[Path], outdir: Path) -> list[Path]:
    """Print workbooks to PDF with LibreOffice headless, as a user printing them would."""
    return recalculate(files, outdir, to="pdf:calc_pdf_Export")


def recalculate(
    files: list[Path], outdir: Path, to: str = "xlsx:Calc MS Excel 2007 XML"
) -> list[Path]:
    """Open workbooks in LibreOffice headless with recalculation forced; save copies."""
    exe = soffice()
    assert exe is not None, "LibreOffice (soffice) is not installed"
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-"))
    user = profile / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
        '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
        '<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
        "</oor:items>\n",
        encoding="utf-8",
    )
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        f"-env:UserInstallation=file://{profile}",
        "--headless",
        "--norestore",
        "--convert-to",
        to,
        "--outdir",
        str(outdir),
        *[str(f) for f in files],
    ]
    env = dict(os.environ, HOME=str(profile))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    shutil.rmtree(profile, ignore_errors=True)
    suffix = "." + to.split(":", 1)[0]
    out = [outdir / (f.stem + suffix) for f in files]
    missing = [p for p in out if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}: {proc.stdout} {proc.stderr}"
    return out


class TenSecondClock:
    """A stand-in for the ``time`` module: ten seconds pass at each look at the clock
    (``time`` or ``monotonic``); ``perf_counter`` is the real one."""

    now = 0.0

    @classmethod
    def time(cls) -> float:
        cls.now += 10
        return cls.now

    monotonic = time
    perf_counter = staticmethod(_time.perf_counter)
