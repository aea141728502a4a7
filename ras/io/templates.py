"""Blank workbooks generated from a point table or a schema (SPEC §4.1, §7).

The committed copies under ``templates/`` are made by :func:`regenerate`
(``python -m ras.io.templates``); a test fails when they are stale.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ras.cells import col_letters
from ras.io.scenario_file import canonical_of, is_workbook, write_scenario
from ras.io.schemas import PERSON, QUESTIONNAIRE, REGISTERS, SheetSchema
from ras.io.strict_yaml import parse_yaml_text
from ras.io.table_file import fingerprint, load_table, save_table
from ras.io.xlsx import Book
from ras.models.table import PointTable
from ras.outputs import atomic_output

EXAMPLE_TABLES = {
    "adult-social-care": "adult-social-care.yaml",
    "mental-health-phb": "mental-health-phb.yaml",
}


def example_table_path(name: str = "adult-social-care") -> Path:
    """Path of a bundled example table."""
    ref = resources.files("ras") / "data" / "tables" / EXAMPLE_TABLES[name]
    return Path(str(ref))


def example_table(name: str = "adult-social-care") -> PointTable:
    """A bundled example table."""
    return load_table(example_table_path(name))


def write_assessment_template(
    table: PointTable,
    out: Path,
    deterministic: bool = True,
    values: Mapping[str, Any] | None = None,
    answers: Mapping[str, str] | None = None,
) -> None:
    """Write a self-assessment workbook for ``table`` (blank, or filled for the demo).

    ``values`` fills the Person sheet (keys: ``person_id`` and field ids);
    ``answers`` fills the Questionnaire (question id -> label).
    """
    values = values or {}
    answers = answers or {}
    with atomic_output(out) as tmp:
        book = Book(tmp, deterministic=deterministic)
        wb = book.wb
        intro = wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": True})
        person = wb.add_worksheet("Person")
        quest = wb.add_worksheet("Questionnaire")
        lists = wb.add_worksheet("Lists")
        meta = wb.add_worksheet("ras")
        list_col = 0

        def list_range(items: tuple[str, ...] | list[str], title: str) -> str:
            nonlocal list_col
            lists.write_string(0, list_col, title, book.bold)
            for i, item in enumerate(items, start=1):
                lists.write_string(i, list_col, item)

            c = col_letters(list_col)
            list_col += 1
            return f"=Lists!${c}$2:${c}${len(items) + 1}"

        person.set_column(0, 0, 28)
        person.set_column(1, 1, 36)
        person.write_string(0, 0, PERSON.headers[0], book.header)
        person.write_string(0, 1, PERSON.headers[1], book.header)
        person.write_string(1, 0, "Person ID", book.bold)
        book.put(person, 1, 1, values.get("person_id"), book.unlocked_text)  # 00123 kept
        asked = [f for f in table.person_fields if f.ask]
        council = [f for f in table.person_fields if not f.ask]
        placed = list(enumerate(asked, start=2))
        if council:  # kept apart: the person is not asked these
            head = 2 + len(asked) + 1
            person.write_string(
                head, 0, "For the council to fill in (the person is not asked)", book.bold
            )
            placed += list(enumerate(council, start=head + 1))
        for r, f in placed:
            person.write_string(r, 0, f.label, book.bold)
            if not f.required:
                person.write_string(r, 2, "optional", intro)
            v = f.shown(values.get(f.id))
            if f.options is not None:
                book.put(person, r, 1, v, book.unlocked)
                person.data_validation(
                    r,
                    1,
                    r,
                    1,
                    {
                        "validate": "list",
                        "source": list_range([str(f.shown(o)) for o in f.options], f.label),
                        "error_title": "Not on the list",
                        "error_message": "Choose a value from the drop-down list.",
                    },
                )
            elif f.type in ("money", "number"):
                book.put(
                    person, r, 1, v, book.unlocked_money if f.type == "money" else book.unlocked
                )
                person.data_validation(
                    r,
                    1,
                    r,
                    1,
                    {
                        "validate": "decimal",
                        "criteria": ">=",
                        "value": 0,
                        "error_message": "Type an amount, for example 12500.",
                    },
                )
            else:
                book.put(person, r, 1, v, book.unlocked)
        person.freeze_panes(1, 0)
        quest.set_column(0, 0, 30)
        quest.set_column(1, 1, 12)
        quest.set_column(2, 2, 60)
        quest.set_column(3, 3, 32)
        quest.set_column(4, 4, 40)
        for c, h in enumerate(QUESTIONNAIRE.headers):
            quest.write_string(0, c, h, book.header)
        quest.freeze_panes(1, 0)
        r = 1
        for d, q in table.questions():
            quest.write_string(r, 0, d.label, book.wrap)
            quest.write_string(r, 1, q.id)
            quest.write_string(r, 2, q.text + ("" if q.required else " (optional)"), book.wrap)
            book.put(quest, r, 3, answers.get(q.id), book.unlocked)
            quest.write_blank(r, 4, None, book.unlocked)
            quest.set_row(r, 24)  # room to write an answer on a printed form
            quest.data_validation(
                r,
                3,
                r,
                3,
                {
                    "validate": "list",
                    "source": list_range(list(q.answers), q.id),
                    "error_title": "Not an allowed answer",
                    "error_message": "Choose an answer from the drop-down list.",
                },
            )
            r += 1
        quest.merge_range(
            r + 1,
            0,
            r + 1,
            4,
            "Choose each answer from the drop-down list. Notes stay "
            "with you and your planner; ras never reads them.",
            intro,
        )
        quest.set_row(r + 1, 30)
        book.print_setup(person, landscape=False)
        book.print_setup(quest, landscape=True)  # all five columns on one page's width
        lists.hide()
        meta.write_string(0, 0, "Key", book.bold)
        meta.write_string(0, 1, "Value", book.bold)
        meta_rows = (
            ("table", table.name),
            ("version", table.version),
            ("fingerprint", fingerprint(table)),
        )
        for i, (k, v) in enumerate(meta_rows, start=1):
            meta.write_string(i, 0, k)
            meta.write_string(i, 1, v)
        meta.very_hidden()
        person.activate()
        book.close()


def write_register_templates(
    folder: Path, deterministic: bool = True, rows: Mapping[str, list[list[Any]]] | None = None
) -> list[Path]:
    """Write blank ``placements.xlsx`` and ``contracts.xlsx`` with drop-downs."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, schemas in REGISTERS.items():
        out = folder / filename
        with atomic_output(out) as tmp:
            book = Book(tmp, deterministic=deterministic)
            for schema in schemas:
                _register_sheet(book, schema, (rows or {}).get(schema.sheet, []))
            _register_help(book, schemas)
            book.close()
        written.append(out)
    return written


def _register_sheet(book: Book, schema: SheetSchema, data: list[list[Any]]) -> None:
    ws = book.wb.add_worksheet(schema.sheet)
    n = max(len(data), 1)
    for c, col in enumerate(schema.columns):
        # An ID column is Text, so that what is typed stays as typed: in a General cell
        # 00123 becomes 123, and 1-12 the 1st of December.
        is_id = col.name.endswith(" ID")
        ws.set_column(c, c, max(14, len(col.name) + 4), book.text if is_id else None)
        ws.write_string(0, c, col.name, book.header)
        if col.description:
            ws.write_comment(0, c, col.description + (" (required)" if col.required else ""))
        fmt = book.money if col.type == "money" else book.text if is_id else None
        for r, row in enumerate(data, start=1):
            book.put(ws, r, c, row[c] if c < len(row) else None, fmt)
        last = max(n, 500)
        if col.choices:
            ws.data_validation(
                1, c, last, c, {"validate": "list", "source": list(col.choice_labels.values())}
            )
        elif col.type in ("money", "number"):
            ws.data_validation(1, c, last, c, {"validate": "decimal", "criteria": ">=", "value": 0})
        elif col.type == "integer":
            ws.data_validation(1, c, last, c, {"validate": "integer", "criteria": ">=", "value": 0})
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, n, len(schema.columns) - 1)


def _register_help(book: Book, schemas: tuple[SheetSchema, ...]) -> None:
    ws = book.wb.add_worksheet("Help")
    ws.set_column(0, 1, 30)
    ws.set_column(2, 4, 14)
    ws.set_column(5, 5, 60)
    r = 0
    for schema in schemas:
        ws.write_string(r, 0, f"Sheet {schema.sheet}: {schema.note}", book.bold)
        r += 1
        for c, h in enumerate(("Column", "Type", "Required", "Default", "Choices", "Description")):
            ws.write_string(r, c, h, book.header)
        r += 1
        for col in schema.columns:
            for c, v in enumerate(
                (
                    col.name,
                    col.type,
                    "yes" if col.required else "no",
                    col.default,
                    ", ".join(col.choice_labels.values()),
                    col.description,
                )
            ):
                ws.write_string(r, c, v)
            r += 1
        r += 1


SCENARIO_TEMPLATE = """\
# A ras transfer-plan scenario (see docs/formats.md, "Scenario").
ras_scenario: 1
name: Five-year transformation
base_year: 2026                 # year 0 = 2026/27, the year the registers describe
horizon: 5                      # plan years 1..5
data:                           # paths relative to this file
  allocations: allocations.xlsx
  placements: placements.xlsx
  contracts: contracts.xlsx
weeks_per_year: 52.143
inflation: {placements: 0.03, contracts: 0.02, budgets: 0.025}
transition: {overlap_weeks: 4, setup_cost: 2000}
overheads: {per_budget_per_year: 0}   # care co-ordination / monitoring per budget holder
capacity: {moves_per_year: 10}       # a number, or a list with one number per year
priority: {inpatient: 3, out_of_area: 2, residential: 1.5, block: 1}
savings:
  kind: year_on_year              # year_on_year | vs_baseline | absolute
  rate: 0.03                      # year_on_year: rate; vs_baseline: rates; absolute: amounts
objective: personalise            # personalise | save
variants:
  stretch: {savings: {rate: 0.05}}
  slow_market: {capacity: {moves_per_year: 5}}
"""


def write_scenario_template(out: Path, deterministic: bool = True) -> None:
    """Write the starter scenario: YAML (with comments) or a workbook, by extension.

    Its data paths are relative (``placements.xlsx``), so a scenario written into the
    folder of ``ras template registers`` runs as written (SPEC §15).
    """
    if is_workbook(out):
        data, where = parse_yaml_text(SCENARIO_TEMPLATE)
        write_scenario(canonical_of(data, where, out), out, deterministic=deterministic)
        return
    with atomic_output(out) as tmp:
        tmp.write_text(SCENARIO_TEMPLATE, encoding="utf-8")


def write_table_template(out: Path, name: str = "adult-social-care") -> None:
    """Write a starter point table (YAML or xlsx by extension)."""
    save_table(example_table(name), out, deterministic=True)


def template_files() -> dict[str, Any]:
    """Every committed template: relative path -> a function writing it to a path."""
    out: dict[str, Any] = {}
    for name in EXAMPLE_TABLES:
        out[f"xlsx/assessment-{name}.xlsx"] = lambda p, n=name: write_assessment_template(
            example_table(n), p
        )
        out[f"xlsx/table-{name}.xlsx"] = lambda p, n=name: write_table_template(p, n)
    for filename in REGISTERS:
        out[f"xlsx/{filename}"] = lambda p, f=filename: _one_register(p, f)
    out["scenario.yaml"] = write_scenario_template
    out["xlsx/scenario.xlsx"] = write_scenario_template
    return out


def _one_register(path: Path, filename: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_register_templates(Path(tmp))
        path.write_bytes((Path(tmp) / filename).read_bytes())
