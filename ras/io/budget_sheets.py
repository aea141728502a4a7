"""One-page indicative budget sheets (SPEC §6), written with live formulas.

Each person's workbook holds their original sheets (for workbook inputs) and an
``Indicative budget`` sheet whose arithmetic is shown as formulas a reader can
audit; recalculated, each formula gives the figure ras computed, which stands
beside it in the ``ras figure`` column.
"""

from __future__ import annotations

import re
import shutil
import stat
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from ras.errors import Issue, Location, OutputError, Severity, clip, is_disk_full
from ras.io.cell_text import ooxml_escape
from ras.io.graft import CannotGraft, graft
from ras.io.inputs import WORKBOOK_SUFFIXES
from ras.io.quick_book import QuickBook, QuickSheet
from ras.models.assessment import Assessment
from ras.models.base import decimal_text
from ras.models.budget import Budget
from ras.models.scored import ScoreRun
from ras.models.table import PointTable
from ras.models.transition import PersonChange
from ras.money import gbp
from ras.outputs import atomic_output, marked_read_only

#: Where the pages are laid out: an openpyxl sheet, or the XlsxWriter stand-in.
Sheet = Worksheet | QuickSheet
SHEET = "Indicative budget"  # the person's page, first
CALCULATION = "Calculation"  # the audit: every step as a live formula, ras's figure beside
MONEY = '"£"#,##0.00'
POINTS = "#,##0.##"
#: The pages' fonts, fills and alignments (openpyxl's style objects are values: shared).
_REGULAR = Font(bold=False)
_BOLD = Font(bold=True)
_BIG = Font(bold=True, size=16)
_TITLE_13 = Font(bold=True, size=13)
_TITLE_14 = Font(bold=True, size=14)
_TITLE_18 = Font(bold=True, size=18)
_ITALIC = Font(italic=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_LEFT = Alignment(horizontal="left")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}


def safe_name(person_id: str) -> str:
    """A file name made from a Person ID: safe on Windows, macOS and Linux."""
    name = _UNSAFE.sub("_", person_id).strip("._") or "person"
    if name.casefold() in _RESERVED:
        name = "_" + name
    return name[:100]


@dataclass(frozen=True)
class SheetJob:
    """Everything a worker needs to write one budget sheet workbook."""

    out: str
    source: str  # the input workbook to copy sheets from ("" for bulk rows)
    table: PointTable
    fingerprint: str
    assessment: Assessment
    budget: Budget
    in_place: bool = False
    change: PersonChange | None = None  # from a previous budget (``--previous``)


def _text(ws: Sheet, ref: str, value: str, **style: Any) -> None:
    """Write text as text, read back as it was.

    A value like ``=HYPERLINK(...)`` never becomes a formula, and a Person ID with a
    control character (or ``_x0041_``) is escaped as Excel escapes it.
    """
    cell = ws[ref]
    cell.value = ooxml_escape(value) if isinstance(ws, Worksheet) else value
    cell.data_type = "s"
    for k, v in style.items():
        setattr(cell, k, v)


def _paragraph(table: PointTable, a: Assessment, b: Budget) -> str:
    parts = [f"Your answers scored {decimal_text(b.total_points)} points."]
    method = table.allocation.method
    if method == "rate" and b.rate is not None:
        parts.append(
            f"Under the {table.name} (version {table.version}) each point is worth {gbp(b.rate)} "
            f"a year, which gives {gbp(b.base)}."
        )
    elif method == "bands":
        parts.append(
            f"Under the {table.name} (version {table.version}) that band of points "
            f"converts to {gbp(b.base)} a year."
        )
    else:
        parts.append(
            f"Under the {table.name} (version {table.version}) the points convert "
            f"along a curve to {gbp(b.base)} a year."
        )
    for adj in b.adjustments:
        word = "reduced" if adj.value < 0 else "increased"
        parts.append(f"It was {word} by {decimal_text(abs(adj.value))}% ({adj.id}).")
    for tu in b.top_ups:
        if tu.value < 0:
            parts.append(f"{gbp(-tu.value)} was taken off ({tu.id}).")
        else:
            parts.append(f"A top-up of {gbp(tu.value)} was added ({tu.id}).")
    if "floor" in b.flags:
        parts.append(f"It was raised to the minimum of {gbp(b.floor)}.")
    if any(f.startswith("ceiling") for f in b.flags):
        parts.append(
            f"It was limited to the maximum of {gbp(b.ceiling or Decimal(0))}, "
            "so the funding panel will look at it."
        )
    parts.append(
        f"Your indicative budget is {gbp(b.annual)} a year ({gbp(b.weekly)} a week), "
        f"within a range of {gbp(b.range_low)} to {gbp(b.range_high)}."
    )
    parts.append(
        "This is a starting point for support planning, not a final amount: the support plan "
        "you agree sets the budget you actually receive."
    )
    return " ".join(parts)


def fill_calculation(  # noqa: C901
    ws: Sheet, job: SheetJob
) -> tuple[dict[str, Decimal], dict[str, int]]:
    """Lay out the Calculation sheet (the audit detail).

    Returns cell -> the figure ras computed (for tests), and the row of each figure the
    person's page shows (``annual``, ``weekly``, ``low``, ``high``, ``total``, ``rate``,
    ``domain:<id>``, ``stream:<id>``).
    """
    t, a, b = job.table, job.assessment, job.budget
    expected: dict[str, Decimal] = {}
    at: dict[str, int] = {}
    bold, head_fill = _BOLD, _HEAD_FILL
    ws.column_dimensions["A"].width = 44
    ws.column_dimensions["B"].width = 12
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 50
    ws.column_dimensions["E"].width = 14
    _text(ws, "A1", "How the budget was calculated (for checking)", font=_TITLE_14)
    _text(ws, "A2", "Person ID")
    _text(ws, "B2", a.person_id, font=bold)
    _text(ws, "A3", "Point table")
    _text(ws, "B3", f"{t.name}, version {t.version}")
    _text(ws, "A4", "Table fingerprint")
    _text(ws, "B4", job.fingerprint[:16])
    row = 6
    for c, h in zip("ABCDE", ("Item", "Points", "Amount (£)", "How", "ras figure"), strict=True):
        _text(ws, f"{c}{row}", h, font=bold, fill=head_fill)
    row += 1

    def line(
        label: str,
        points: Any = None,
        amount: Any = None,
        how: str = "",
        figure: Decimal | None = None,
        money: bool = True,
        strong: bool = False,
    ) -> int:
        nonlocal row
        r = row
        _text(ws, f"A{r}", label, font=_BOLD if strong else _REGULAR)
        if points is not None:
            ws[f"B{r}"] = points if not isinstance(points, Decimal) else float(points)
            ws[f"B{r}"].number_format = POINTS
        if amount is not None:
            ws[f"C{r}"] = amount if not isinstance(amount, Decimal) else float(amount)
            ws[f"C{r}"].number_format = MONEY if money else POINTS
            if strong:
                ws[f"C{r}"].font = bold
        if how:
            _text(ws, f"D{r}", how)
        if figure is not None:
            ws[f"E{r}"] = float(figure)
            ws[f"E{r}"].number_format = MONEY if money and amount is not None else POINTS
            expected[f"C{r}" if amount is not None else f"B{r}"] = figure
        row += 1
        return r

    domain_rows: dict[str, int] = {}
    for d in t.domains:
        how = (
            f"capped at {decimal_text(d.cap)}"
            if b.domain_capped[d.id] and d.cap is not None
            else ""
        )
        domain_rows[d.id] = line(d.label, points=b.domain_points[d.id], how=how)
        at[f"domain:{d.id}"] = domain_rows[d.id]
    first, last = min(domain_rows.values()), max(domain_rows.values())
    total_r = line(
        "Total points", points=f"=SUM(B{first}:B{last})", figure=b.total_points, strong=True
    )
    alloc = t.allocation
    if alloc.method == "rate":
        rate_r = line("Rate per point (£)", amount=b.rate, how="from the table")
        at["rate"] = rate_r
        base_r = line("Base: points x rate", amount=f"=B{total_r}*C{rate_r}", figure=b.base)
    elif alloc.method == "bands":
        band = alloc.bands[0]
        for bd in alloc.bands:
            if bd.min <= b.total_points:
                band = bd
        base_r = line(
            "Base: amount for the band",
            amount=b.base,
            how=f"band {decimal_text(band.min)} to {decimal_text(band.max)} points",
            figure=b.base,
        )
    else:
        knots = alloc.curve
        if b.total_points >= knots[-1][0]:
            base_r = line("Base: amount at the last knot", amount=b.base, figure=b.base)
        else:
            x0, y0, x1, y1 = knots[0][0], knots[0][1], knots[1][0], knots[1][1]
            for (p0, q0), (p1, q1) in zip(knots, knots[1:], strict=False):
                if p0 <= b.total_points <= p1:
                    x0, y0, x1, y1 = p0, q0, p1, q1
                    break
            base_r = line(
                "Base: along the curve",
                amount=f"={float(y0)}+(B{total_r}-{float(x0)})*({float(y1)}-{float(y0)})/"
                f"({float(x1)}-{float(x0)})",
                how=f"between ({decimal_text(x0)}, {gbp(y0)}) and ({decimal_text(x1)}, {gbp(y1)})",
                figure=b.base,
            )
    prev = base_r
    for adj in b.adjustments:
        pr = row
        _text(ws, f"A{pr}", f"Adjustment: {adj.id}")
        ws[f"B{pr}"] = float(adj.value / 100)
        ws[f"B{pr}"].number_format = "0.0%"
        ws[f"C{pr}"] = f"=C{prev}*(1+B{pr})"
        ws[f"C{pr}"].number_format = MONEY
        _text(ws, f"D{pr}", f"{decimal_text(adj.value)}% because its conditions hold")
        row += 1
        prev = pr
    adjusted_r = prev
    top_rows = [line(f"Top-up: {tu.id}", amount=tu.value, how="fixed amount") for tu in b.top_ups]
    tops = "+".join(f"C{r}" for r in top_rows)
    before_r = line(
        "Before limits",
        amount=f"=C{adjusted_r}" + (f"+{tops}" if tops else ""),
        figure=b.before_limits,
    )
    floor_r = line("Floor (£)", amount=b.floor)
    if b.ceiling is not None:
        ceil_r = line("Ceiling (£)", amount=b.ceiling)
        limited = f"=MIN(MAX(C{before_r},C{floor_r}),C{ceil_r})"
    else:
        limited = f"=MAX(C{before_r},C{floor_r})"
    lim_r = line("After floor and ceiling", amount=limited, figure=b.clamped)
    round_r = line("Round to the nearest (£)", amount=t.rounding)
    annual_r = line(
        "Indicative budget (£/year)",
        amount=f"=ROUND(C{lim_r}/C{round_r},0)*C{round_r}",
        figure=b.annual,
        strong=True,
        how="rounded half-up",
    )
    weeks_r = line("Weeks per year", amount=t.weeks_per_year, money=False)
    ws[f"C{weeks_r}"].number_format = "0.000"
    at["total"], at["annual"] = total_r, annual_r
    at["weekly"] = line(
        "Weekly (£)", amount=f"=ROUND(C{annual_r}/C{weeks_r},2)", figure=b.weekly, strong=True
    )
    range_r = row
    _text(ws, f"A{range_r}", "Indicative range")
    ws[f"B{range_r}"] = float(t.range)
    ws[f"B{range_r}"].number_format = "0%"
    row += 1
    at["low"] = line(
        "Range low (£)", amount=f"=ROUND(C{annual_r}*(1-B{range_r}),0)", figure=b.range_low
    )
    at["high"] = line(
        "Range high (£)", amount=f"=ROUND(C{annual_r}*(1+B{range_r}),0)", figure=b.range_high
    )
    row += 1
    _text(ws, f"A{row}", "Funding stream", font=bold, fill=head_fill)
    _text(ws, f"B{row}", "Points", font=bold, fill=head_fill)
    _text(ws, f"C{row}", "Amount (£)", font=bold, fill=head_fill)
    row += 1
    streams = t.streams()
    if b.total_points == 0:
        residual = streams[0]
    else:
        residual = max(streams, key=lambda s: (b.stream_points[s], -streams.index(s)))
    stream_rows: dict[str, int] = {}
    for s in streams:
        stream_rows[s] = row
        at[f"stream:{s}"] = row
        row += 1
    for s, r in stream_rows.items():
        _text(ws, f"A{r}", t.stream_label(s))
        ws[f"B{r}"] = float(b.stream_points[s])
        ws[f"B{r}"].number_format = POINTS
        if s == residual:
            others = [f"C{x}" for t2, x in stream_rows.items() if t2 != s]
            ws[f"C{r}"] = f"=C{annual_r}" + (f"-({'+'.join(others)})" if others else "")
            _text(ws, f"D{r}", "the remainder, so the streams add up to the budget")
        elif b.total_points == 0:
            ws[f"C{r}"] = 0
        else:
            ws[f"C{r}"] = f"=ROUND(C{annual_r}*B{r}/B{total_r},2)"
            _text(ws, f"D{r}", "share of the points, to the penny")
        ws[f"C{r}"].number_format = MONEY
        ws[f"E{r}"] = float(b.funding[s])
        ws[f"E{r}"].number_format = MONEY
        expected[f"C{r}"] = b.funding[s]
    row += 1
    flags = "; ".join(b.flags + a.warnings) or "none"
    _text(ws, f"A{row}", "Flags", font=bold)
    _text(ws, f"B{row}", flags)
    row += 2
    _text(ws, f"A{row}", _paragraph(t, a, b), alignment=_WRAP)
    ws.merge_cells(f"A{row}:E{row + 5}")
    _one_page(ws, f"A1:E{row + 5}")
    return expected, at


def _one_page(ws: Sheet, area: str) -> None:
    ws.print_area = area
    footer = ws.oddFooter
    if footer is not None:
        footer.left.text = "&A"
        footer.right.text = "Page &P of &N"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1
    if ws.sheet_properties.pageSetUpPr is not None:
        ws.sheet_properties.pageSetUpPr.fitToPage = True


def _change_rows(ws: Sheet, c: PersonChange, row: int, bold: Any, fill: Any, wrap: Any) -> int:
    """The change from the previous budget, in plain words; returns the next free row."""
    _text(ws, f"A{row}", "Compared with your previous budget", font=bold, fill=fill)
    _text(ws, f"B{row}", "", fill=fill)
    _text(ws, f"C{row}", "", fill=fill)
    money = '"£"#,##0'
    lines: list[tuple[str, Any, str]] = [
        ("Your previous budget", c.old, money),
        ("The change", c.change, '+"£"#,##0;-"£"#,##0;"£"0'),
    ]
    if c.years and c.years[0] != c.new:
        lines.append(("What you will receive this year", c.years[0], money))
    for label, value, fmt in lines:
        row += 1
        _text(ws, f"A{row}", label)
        ws[f"B{row}"] = float(value)
        ws[f"B{row}"].number_format = fmt
        ws[f"B{row}"].alignment = _LEFT
    if c.years and c.years[0] != c.new and c.new < c.old:
        row += 1
        steps = ", then ".join(gbp(y) for y in c.years[1:])
        _text(
            ws,
            f"A{row}",
            "The cut is spread over time to protect you"
            + (f": {steps} in the years after." if steps else "."),
            alignment=wrap,
        )
        ws.merge_cells(f"A{row}:C{row}")
    for a in c.changed:
        row += 1
        effect = f"{'+' if a.effect >= 0 else '−'}{decimal_text(abs(a.effect))} points"
        _text(
            ws,
            f"A{row}",
            f"Your answer to {a.question} changed from {a.old or 'no answer'} to "
            f"{a.new or 'no answer'} ({effect})",
            alignment=wrap,
        )
        ws.merge_cells(f"A{row}:C{row}")
    return row + 1


#: What happens next, on every person's page.
NEXT_STEPS = (
    "What happens next: this figure is a starting point for planning your support with "
    "your support planner or social worker, not a final amount. The support plan you agree "
    "sets the budget you receive. If you think an answer was recorded wrongly, or your "
    "needs have changed, ask for your assessment to be looked at again."
)


def fill_person_page(  # noqa: C901
    ws: Sheet, job: SheetJob, at: dict[str, int]
) -> dict[str, Decimal]:
    """The person's page: their figures in plain words, each a formula on Calculation.

    Returns cell -> the figure ras computed (for tests).
    """
    t, a, b = job.table, job.assessment, job.budget
    calc = f"'{CALCULATION}'!"
    expected: dict[str, Decimal] = {}
    bold, big, head_fill, wrap = _BOLD, _BIG, _HEAD_FILL, _WRAP
    ws.column_dimensions["A"].width = 46
    ws.column_dimensions["B"].width = 18
    ws.column_dimensions["C"].width = 40

    def figure(ref: str, formula: str, value: Decimal, fmt: str = MONEY, font: Any = None) -> None:
        ws[ref] = formula
        ws[ref].number_format = fmt
        ws[ref].alignment = _LEFT
        if font is not None:
            ws[ref].font = font
        expected[ref] = value

    _text(ws, "A1", "Your indicative budget", font=_TITLE_18)
    _text(ws, "A2", "Person ID")
    _text(ws, "B2", a.person_id, font=bold)
    _text(ws, "A3", "Worked out with")
    _text(ws, "B3", f"{t.name}, version {t.version}")
    _text(ws, "A5", "Your indicative budget", font=_TITLE_13)
    figure("B5", f"={calc}C{at['annual']}", b.annual, '"£"#,##0', big)
    _text(ws, "C5", "a year")
    _text(ws, "A6", "That is, each week")
    figure("B6", f"={calc}C{at['weekly']}", b.weekly, MONEY, bold)
    _text(ws, "A7", "The range it is expected to fall in")
    figure("B7", f"={calc}C{at['low']}", b.range_low, '"£"#,##0')
    figure("C7", f'="to £"&TEXT({calc}C{at["high"]},"#,##0")', b.range_high, "@")
    expected.pop("C7")  # text: checked through B7 and the Calculation sheet
    row = 9
    if job.change is not None:
        row = _change_rows(ws, job.change, row, bold, head_fill, wrap) + 1
    _text(ws, f"A{row}", "How it was worked out", font=bold, fill=head_fill)
    _text(ws, f"B{row}", "", fill=head_fill)
    _text(ws, f"C{row}", "", fill=head_fill)
    row += 1
    for d in t.domains:
        _text(ws, f"A{row}", d.label)
        figure(f"B{row}", f"={calc}B{at[f'domain:{d.id}']}", b.domain_points[d.id], POINTS)
        _text(
            ws,
            f"C{row}",
            "points" + (" (the most this part can give)" if b.domain_capped[d.id] else ""),
        )
        row += 1
    _text(ws, f"A{row}", "Your points in total", font=bold)
    figure(f"B{row}", f"={calc}B{at['total']}", b.total_points, POINTS, bold)
    _text(ws, f"C{row}", "points")
    row += 1
    if "rate" in at:
        _text(ws, f"A{row}", "Each point is worth")
        figure(f"B{row}", f"={calc}C{at['rate']}", b.rate or Decimal(0))
        _text(ws, f"C{row}", "a year")
        row += 1
    for adj in b.adjustments:
        word = "less" if adj.value < 0 else "more"
        _text(ws, f"A{row}", f"{decimal_text(abs(adj.value))}% {word}: {adj.id.replace('_', ' ')}")
        row += 1
    for tu in b.top_ups:
        _text(ws, f"A{row}", f"Added: {tu.id.replace('_', ' ')}")
        ws[f"B{row}"] = float(tu.value)
        ws[f"B{row}"].number_format = '"£"#,##0'
        ws[f"B{row}"].alignment = _LEFT
        row += 1
    if any(f.startswith("floor") for f in b.flags):
        _text(ws, f"A{row}", f"Raised to the minimum budget, {gbp(b.floor)}")
        row += 1
    if any(f.startswith("ceiling") for f in b.flags):
        _text(ws, f"A{row}", "Limited to the maximum budget; the funding panel will look at it")
        row += 1
    _text(ws, f"A{row}", f"Rounded to the nearest {gbp(t.rounding)}")
    row += 2
    streams = t.streams()
    if len(streams) > 1:
        _text(ws, f"A{row}", "Who pays for it", font=bold, fill=head_fill)
        _text(ws, f"B{row}", "", fill=head_fill)
        row += 1
        for st in streams:
            _text(ws, f"A{row}", t.stream_label(st))
            figure(f"B{row}", f"={calc}C{at[f'stream:{st}']}", b.funding[st])
            row += 1
        row += 1
    _text(ws, f"A{row}", _paragraph(t, a, b), alignment=wrap)
    ws.merge_cells(f"A{row}:C{row + 4}")
    row += 6
    _text(ws, f"A{row}", NEXT_STEPS, alignment=wrap)
    ws.merge_cells(f"A{row}:C{row + 4}")
    row += 6
    _text(
        ws,
        f"A{row}",
        "Every step of the calculation is on the Calculation sheet of this workbook.",
        font=_ITALIC,
    )
    _one_page(ws, f"A1:C{row}")
    return expected


def _add_pages(wb: Workbook | QuickBook, job: SheetJob) -> None:
    """Put the person's page and the Calculation sheet first in ``wb``, and show the page."""
    ws = wb.create_sheet(SHEET, 0)
    _, at = fill_calculation(wb.create_sheet(CALCULATION, 1), job)
    fill_person_page(ws, job, at)
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.calculation.fullCalcOnLoad = True


def _grafted(job: SheetJob, src: Path, out: Path) -> bool:
    """Write ``out`` as ``src`` with the two pages grafted in front; False if it cannot be.

    The pages are written as XML (``ras.io.quick_book``) and the person's own parts
    copied byte for byte (``ras.io.graft``): several times faster than loading and
    saving their workbook with openpyxl, and nothing openpyxl does not model is lost.
    """
    if src.suffix.lower() != ".xlsx":
        return False  # a macro-enabled workbook: its macros are left behind (full load)
    book = QuickBook()
    _add_pages(book, job)
    source = src
    if job.in_place:
        backup = src.with_name(src.stem + ".backup" + src.suffix)
        shutil.copy2(src, backup)
        source = backup
    try:
        with atomic_output(out, _mode(src) if job.in_place else None) as tmp:
            graft(source, book, tmp)
    except (CannotGraft, zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        if source is not src:  # the full load below makes its own copy, if it writes
            source.unlink(missing_ok=True)
        return False
    return True


def _sheets_lost(src: Path, loaded: list[str]) -> list[str]:
    """The sheets ``src`` lists that a load of it (``loaded``: their names) did not read."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(src))
    try:
        return [n for n in wb.sheet_names if n not in loaded]
    finally:
        wb.close()


#: The namespace of a workbook saved as "Strict Open XML Spreadsheet" (ISO/IEC 29500 strict).
_STRICT = b"http://purl.oclc.org/ooxml/spreadsheetml/main"


def _strict(src: Path) -> bool:
    """Whether ``src`` is a Strict Open XML workbook, which openpyxl reads no sheets of."""
    with zipfile.ZipFile(src) as z:
        try:
            return _STRICT in z.read("xl/workbook.xml")[:4096]
        except KeyError:
            return False


def _mode(path: Path) -> int:
    """A file's permissions, which the workbook written in its place keeps."""
    return stat.S_IMODE(path.stat().st_mode)


def write_budget_sheet(job: SheetJob) -> list[Issue]:
    """Write one person's budget workbook; problems come back as issues."""
    out = Path(job.out)
    src = Path(job.source) if job.source else None
    try:
        if src is None:  # the pages alone (a bulk row, or a pseudonymised run)
            book = QuickBook()
            _add_pages(book, job)
            with atomic_output(out) as tmp, tmp.open("wb") as fh:
                book.save(fh)
            return []
        if _grafted(job, src, src if job.in_place else out):
            return []
        if src.suffix.lower() in (".xlsx", ".xlsm"):
            try:
                with warnings.catch_warnings():  # what it cannot read is checked below
                    warnings.simplefilter("ignore")
                    wb = load_workbook(src, keep_vba=False, keep_links=False, rich_text=False)
            except Exception as exc:  # the input, not the output folder, is at fault
                return [
                    Issue(
                        "sheet-not-copied",
                        Location(job.source),
                        f"the workbook could not be copied into a budget sheet ({clip(str(exc))})",
                        "open it in Excel or LibreOffice and save it again",
                        person_id=job.assessment.person_id,
                    )
                ]
            lost = _sheets_lost(src, wb.sheetnames)
            if lost:  # openpyxl read the file but not all its sheets: never half a copy
                return [
                    Issue(
                        "sheet-not-copied",
                        Location(job.source),
                        "it is saved as Strict Open XML, whose sheets ras cannot copy into a "
                        "budget sheet"
                        if _strict(src)
                        else "the workbook's own sheets could not be copied into a budget sheet "
                        f"({len(lost)} of them, such as {lost[0]!r}, were not read)",
                        "open it in Excel and save it as an Excel Workbook (.xlsx)",
                        person_id=job.assessment.person_id,
                    )
                ]
            if SHEET in wb.sheetnames:
                del wb[SHEET]
        else:
            wb = Workbook()
            assert wb.active is not None
            wb.remove(wb.active)
        if CALCULATION in wb.sheetnames:
            del wb[CALCULATION]
        _add_pages(wb, job)
        mode = None
        if job.in_place and src is not None:
            backup = src.with_name(src.stem + ".backup" + src.suffix)
            shutil.copy2(src, backup)
            out, mode = src, _mode(src)
        with atomic_output(out, mode) as tmp:
            wb.save(tmp)
    except Exception as exc:  # one person's sheet failing must not stop the others
        if is_disk_full(exc):  # but a full disk fails them all: the run stops, writes nothing
            raise
        return [
            Issue(
                "sheet-not-written",
                Location(job.source or job.out),
                f"the budget sheet could not be written ({clip(str(exc))})",
                "check the output folder",
                person_id=job.assessment.person_id,
            )
        ]
    return []


def _not_in_place(path: Path) -> tuple[str, str, str] | None:
    """Why a workbook is left as it is by ``--in-place`` (code, problem, fix), if it is."""
    if path.suffix.lower() == ".xlsm":
        problem = "not written in place: ras never writes into a macro-enabled workbook"
        return "macro-workbook-not-written", problem, "use --budget-sheets DIR instead"
    if marked_read_only(path):
        problem = "not written in place: the workbook is marked read-only"
        fix = "make it writable to add the sheet, or use --budget-sheets DIR"
        return "read-only-workbook-not-written", problem, fix
    return None


def plan_sheets(
    run: ScoreRun,
    folder: Path | None,
    *,
    in_place: bool = False,
    copy_sources: bool = True,
    changes: Mapping[str, PersonChange] | None = None,
) -> tuple[list[SheetJob], list[int], list[Issue]]:
    """One job per person: where their sheet goes and what it is copied from.

    Returns the jobs, the index in ``run.scored`` of each job's person, and the people
    whose sheet cannot be written (as warnings).
    """
    jobs_list: list[SheetJob] = []
    owners: list[int] = []  # index into run.scored of each job
    used: set[str] = set()
    issues: list[Issue] = []
    for index, s in enumerate(run.scored):
        a = s.assessment
        is_workbook = a.row == 0 and Path(a.source).suffix.lower() in WORKBOOK_SUFFIXES
        src = a.source if (copy_sources and is_workbook) else ""
        if in_place:
            if not src:
                continue
            why = _not_in_place(Path(src))
            if why is not None:
                code, problem, fix = why
                where = Location(a.source)
                issues.append(Issue(code, where, problem, fix, a.person_id, Severity.WARNING))
                continue
            out = Path(src)
        else:
            assert folder is not None
            base = safe_name(a.person_id)
            name, n = base, 1
            while name.casefold() in used:
                n += 1
                name = f"{base}-{n}"
            used.add(name.casefold())
            out = folder / f"{name}.xlsx"
        change = (changes or {}).get(a.person_id)
        jobs_list.append(
            SheetJob(str(out), src, run.table, run.fingerprint, a, s.budget, in_place, change)
        )
        owners.append(index)
    if folder is not None and not in_place:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the folder ({exc.strerror})") from exc

    return jobs_list, owners, issues
