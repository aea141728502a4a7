"""Point tables on disk: YAML and workbook forms, conversion and fingerprints (SPEC §3, §3.3)."""

from __future__ import annotations

import hashlib
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ras.cells import cell_ref, is_blank, to_decimal, to_text
from ras.errors import ConfigError, quote
from ras.io.reader import read_sheets
from ras.io.schemas import (
    TABLE,
    TABLE_ADJUSTMENTS,
    TABLE_BANDS,
    TABLE_CEILINGS,
    TABLE_CURVE,
    TABLE_FUNDING,
    TABLE_PERSON_FIELDS,
    TABLE_QUESTIONS,
    TABLE_RATES,
    TABLE_SHEETS,
    TABLE_TOP_UPS,
)
from ras.io.strict_yaml import Locator, build_model, parse_yaml_text, read_yaml, yaml_text
from ras.io.xlsx import Book
from ras.models.base import decimal_text
from ras.models.table import PointTable
from ras.outputs import atomic_output

TABLE_KEYS = (
    "ras_table",
    "name",
    "version",
    "currency",
    "weeks_per_year",
    "method",
    "rate",
    "rates_by",
    "floor",
    "ceiling",
    "rounding",
    "range",
)
PERSON_FIELD_COLUMNS = TABLE_PERSON_FIELDS.headers
QUESTION_COLUMNS = TABLE_QUESTIONS.headers
CONDITION_COLUMNS = TABLE_ADJUSTMENTS.headers[2:]  # Question, Answer, Field, Equals


def fingerprint(table: PointTable) -> str:
    """sha256 of the table's canonical JSON form (every default included)."""
    data = table.model_dump(mode="json")
    _drop_later_defaults(data)  # so that tables written before keep their fingerprints
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _drop_later_defaults(data: dict[str, Any]) -> None:
    """Leave out keys added after format 1 while they hold their defaults."""
    for f in data.get("person_fields") or ():
        if f.get("ask") is True:
            del f["ask"]
        if not f.get("labels"):
            f.pop("labels", None)
    if not data.get("funding_streams"):
        data.pop("funding_streams", None)


def load_table(path: Path | str) -> PointTable:
    """Load a point table from ``.yaml``/``.yml`` or ``.xlsx``.

    Raises:
        ConfigError: naming the file, the key path and the line (or sheet and cell).
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        data, where = _read_table_workbook(path)
    else:
        data, where = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a point table is a mapping of keys (ras_table, name, ...)")
    return build_model(PointTable, data, str(path), where)


# --------------------------------------------------------------------------- YAML


def _plain(table: PointTable) -> dict[str, Any]:
    """The table as plain data, defaults kept, empty optional parts left out."""
    data = table.model_dump(mode="python", exclude_none=True)
    _drop_later_defaults(data)
    for key in ("adjustments", "top_ups", "person_fields"):
        if not data.get(key):
            data.pop(key, None)
    alloc = data["allocation"]
    for key in ("rates", "bands", "curve"):
        if not alloc.get(key):
            alloc.pop(key, None)
    return data


def _flow(value: Any) -> Any:
    if isinstance(value, dict):
        m = CommentedMap((k, _flow(v)) for k, v in value.items())
        return m
    if isinstance(value, (list, tuple)):
        return CommentedSeq(_flow(v) for v in value)
    return value


def _style(data: dict[str, Any]) -> CommentedMap:
    root: CommentedMap = _flow(data)
    for f in root.get("person_fields", []):
        f.fa.set_flow_style()
    for fs in root.get("funding_streams", []):
        fs.fa.set_flow_style()
    for d in root["domains"]:
        for q in d["questions"]:
            q["answers"].fa.set_flow_style()
    alloc = root["allocation"]
    for b in alloc.get("bands", []):
        b.fa.set_flow_style()
    for k in alloc.get("curve", []):
        k.fa.set_flow_style()
    if "rates" in alloc:
        alloc["rates"].fa.set_flow_style()
    for group in ("adjustments", "top_ups"):
        for item in root.get(group, []):
            for c in item["when"]:
                c.fa.set_flow_style()
    return root


def table_to_yaml(table: PointTable) -> str:
    """The table as YAML text (strings that other YAML readers might misread are quoted)."""
    yaml = YAML(typ="rt", pure=True)
    yaml.version = None
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)

    def rep_decimal(rep: Any, value: Decimal) -> Any:
        text = decimal_text(value)
        tag = "tag:yaml.org,2002:int" if "." not in text else "tag:yaml.org,2002:float"
        return rep.represent_scalar(tag, text)

    ambiguous = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~", ""}

    def rep_str(rep: Any, value: str) -> Any:
        style = '"' if value.lower() in ambiguous or to_decimal(value) is not None else None
        return rep.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    yaml.representer.add_representer(Decimal, rep_decimal)
    yaml.representer.add_representer(str, rep_str)
    buf = io.StringIO()
    yaml.dump(_style(_plain(table)), buf)
    return buf.getvalue()


# --------------------------------------------------------------------------- xlsx


def write_table_workbook(table: PointTable, path: Path, deterministic: bool = False) -> None:
    """Write the table as a workbook with the sheets of SPEC §3.3."""
    with atomic_output(path) as tmp:
        book = Book(tmp, deterministic=deterministic)
        a, lim = table.allocation, table.limits
        values: dict[str, Any] = {
            "ras_table": table.ras_table,
            "name": table.name,
            "version": table.version,
            "currency": table.currency,
            "weeks_per_year": table.weeks_per_year,
            "method": a.method,
            "rate": a.rate,
            "rates_by": a.rates_by,
            "floor": lim.floor,
            "ceiling": lim.ceiling,
            "rounding": table.rounding,
            "range": table.range,
        }
        book.write_table(
            "Table",
            TABLE.headers,
            [[k, values[k]] for k in TABLE_KEYS],
            widths={"Key": 18, "Value": 40},
        )
        rows: list[list[Any]] = []
        for f in table.person_fields:
            for opt in f.options if f.options is not None else (None,):
                label = f.labels.get(opt) if opt is not None else None
                rows.append([f.id, f.label, f.type, f.required, opt, label, f.ask])
        book.write_table("Person fields", PERSON_FIELD_COLUMNS, rows)
        if table.funding_streams:
            book.write_table(
                TABLE_FUNDING.sheet,
                TABLE_FUNDING.headers,
                [[fs.id, fs.label] for fs in table.funding_streams],
            )
        rows = []
        for d in table.domains:
            for q in d.questions:
                for ans, pts in q.answers.items():
                    rows.append(
                        [d.id, d.label, d.funding, d.cap, q.id, q.text, q.required, ans, pts]
                    )
        book.write_table("Questions", QUESTION_COLUMNS, rows, widths={"Question": 50, "Answer": 28})
        book.write_table(
            "Rates",
            TABLE_RATES.headers,
            [[k, v] for k, v in a.rates.items()],
            formats={"Rate": book.money},
        )
        book.write_table(
            "Bands",
            TABLE_BANDS.headers,
            [[b.min, b.max, b.amount] for b in a.bands],
            formats={"Amount": book.money},
        )
        book.write_table(
            "Curve",
            TABLE_CURVE.headers,
            [list(k) for k in a.curve],
            formats={"Amount": book.money},
        )
        rows = []
        for adj in table.adjustments:
            for c in adj.when:
                percent: Any = adj.percent  # under 1 %: as text, not read back as Excel's
                if 0 < abs(percent) < 1:
                    percent = f"{decimal_text(percent)}%"
                rows.append([adj.id, percent, c.question, c.answer, c.field, c.equals])
        book.write_table(
            "Adjustments", TABLE_ADJUSTMENTS.headers, rows, formats={"Percent": book.right}
        )
        rows = []
        for tu in table.top_ups:
            for c in tu.when:
                rows.append([tu.id, tu.amount, c.question, c.answer, c.field, c.equals])
        book.write_table("Top-ups", TABLE_TOP_UPS.headers, rows, formats={"Amount": book.money})
        rows = []
        if lim.ceilings_by is not None:
            rows = [[lim.ceilings_by.field, k, v] for k, v in lim.ceilings_by.values.items()]
        book.write_table("Ceilings", TABLE_CEILINGS.headers, rows, formats={"Ceiling": book.money})
        book.close()


def save_table(
    table: PointTable, path: Path | str, deterministic: bool = False, like: Path | None = None
) -> None:
    """Save a table as YAML or xlsx, chosen by the file's extension.

    ``like``: a YAML table this one was made from (by calibration). Its text is kept -
    comments, layout, key order - with only the version and the allocation's figures
    changed, when that gives exactly ``table``; otherwise the table is written afresh.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        write_table_workbook(table, path, deterministic=deterministic)
        return
    text = _edited_yaml(table, like) if like is not None else None
    if text is None:
        text = table_to_yaml(table)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _number(value: Decimal) -> int | float:
    """A figure for the YAML emitter: an int, or the float printing as the same digits."""
    return int(value) if value == value.to_integral_value() else float(decimal_text(value))


def _edited_yaml(table: PointTable, like: Path) -> str | None:
    """``like``'s YAML text with ``table``'s version and allocation figures, or None."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    if like.suffix.lower() not in (".yaml", ".yml") or not like.is_file():
        return None
    from ruamel.yaml.util import load_yaml_guess_indent

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    try:
        source = yaml_text(like.read_bytes())
        _, indent, offset = load_yaml_guess_indent(source)  # "  - " lists: (4, 2)
        yaml.indent(mapping=2, sequence=indent or 2, offset=offset or 0)
        doc = yaml.load(source)
        alloc = doc["allocation"]
        doc["version"] = DoubleQuotedScalarString(table.version)
        new = table.allocation
        if new.rate is not None and "rate" in alloc:
            alloc["rate"] = _number(new.rate)
        if new.rates:
            if "rates" not in alloc:
                return None
            for key, value in new.rates.items():
                alloc["rates"][key] = _number(value)
        for i, band in enumerate(new.bands):
            alloc["bands"][i]["amount"] = _number(band.amount)
        for i, (_, amount) in enumerate(new.curve):
            alloc["curve"][i][1] = _number(amount)
        buf = io.StringIO()
        yaml.dump(doc, buf)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    text = buf.getvalue()
    try:
        data, where = parse_yaml_text(text)
        same = fingerprint(build_model(PointTable, data, str(like), where)) == fingerprint(table)
    except ConfigError:
        same = False
    return text if same else None


class _Sheet:
    """Rows of one sheet of a table workbook, found by header."""

    def __init__(self, path: Path, name: str, rows: list[list[Any]], where: Locator):
        self.path, self.name, self.where = path, name, where
        self.rows = rows
        self.header: dict[str, int] = {}
        if rows:
            self.header = {
                to_text(v).casefold(): i for i, v in enumerate(rows[0]) if not is_blank(v)
            }

    def records(
        self, columns: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> list[tuple[int, dict[str, Any]]]:
        missing = [c for c in columns if c.casefold() not in self.header and c not in optional]
        if self.rows and missing:
            raise ConfigError(
                f"{self.path}: sheet {self.name!r}, row 1: missing column(s) "
                f"{', '.join(missing)}; the header row must name {', '.join(columns)}"
            )
        out = []
        for r, row in enumerate(self.rows[1:], start=1):
            rec = {
                c: row[self.header[c.casefold()]]
                if c.casefold() in self.header and self.header[c.casefold()] < len(row)
                else None
                for c in columns
            }
            if all(is_blank(v) for v in rec.values()):
                continue
            out.append((r, rec))
        return out

    def cell(self, row: int, column: str) -> str:

        col = self.header.get(column.casefold(), 0)
        return f"sheet {self.name!r}, cell {cell_ref(row, col)}"


def _not_a_formatted_fraction(path: Path, place: str, value: Any) -> None:
    """Refuse a number of percent between 0 and 1 in a cell: Excel keeps ``-15%`` as -0.15.

    Raises:
        ConfigError: naming the cell, what Excel did, and what to type.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < abs(value) < 1:
        return
    shown = decimal_text(Decimal(repr(value)))
    times = decimal_text(Decimal(repr(value)) * 100)
    raise ConfigError(
        f"{path}: {place}: Percent is {shown}, which is how Excel keeps {times}% typed in a "
        f"cell; the column is in percent, so type {times} (or the text {shown}% for "
        f"{shown} %)"
    )


def _num(v: Any) -> Any:
    if is_blank(v):
        return None
    d = to_decimal(v)
    return decimal_text(d) if d is not None else to_text(v)


def _txt(v: Any) -> str | None:
    return None if is_blank(v) else to_text(v)


def _bool(v: Any) -> Any:
    if is_blank(v):
        return None
    if isinstance(v, bool):
        return v
    t = to_text(v).casefold()
    return {"true": True, "yes": True, "y": True, "false": False, "no": False, "n": False}.get(t, t)


def _read_table_workbook(path: Path) -> tuple[dict[str, Any], Locator]:  # noqa: C901

    sheets = read_sheets(
        path,
        [t.sheet for t in TABLE_SHEETS],
        required=(TABLE.sheet, TABLE_QUESTIONS.sheet),
        refuse_uncalculated=TABLE_SHEETS,
    )
    where: Locator = {}
    data: dict[str, Any] = {}

    def sheet(name: str) -> _Sheet:
        return _Sheet(path, name, sheets.get(name, []), where)

    t = sheet("Table")
    alloc: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for r, rec in t.records(TABLE.headers):
        key = "".join(to_text(rec["Key"]).split()).casefold()  # `Method`, ` rate `: as typed
        value = rec["Value"]
        if is_blank(value):
            continue
        if key in ("method", "rates_by"):
            alloc[key] = _txt(value)
            where[("allocation", key)] = t.cell(r, "Value")
        elif key == "rate":
            alloc[key] = _num(value)
            where[("allocation", key)] = t.cell(r, "Value")
        elif key in ("floor", "ceiling"):
            limits[key] = _num(value)
            where[("limits", key)] = t.cell(r, "Value")
        elif key in ("weeks_per_year", "rounding", "range", "ras_table"):
            data[key] = _num(value)
            where[(key,)] = t.cell(r, "Value")
        else:
            data[key] = _txt(value)
            where[(key,)] = t.cell(r, "Value")
    pf = sheet("Person fields")
    fields: list[dict[str, Any]] = []
    optional = ("Asked", "Option label")
    for r, rec in pf.records(PERSON_FIELD_COLUMNS, optional=optional) if pf.rows else []:
        fid = _txt(rec["ID"])
        if not fields or fields[-1]["id"] != fid:
            entry: dict[str, Any] = {"id": fid, "label": _txt(rec["Label"])}
            if _txt(rec["Type"]):
                entry["type"] = _txt(rec["Type"])
            if _bool(rec["Required"]) is not None:
                entry["required"] = _bool(rec["Required"])
            if _bool(rec["Asked"]) is not None:
                entry["ask"] = _bool(rec["Asked"])
            fields.append(entry)
            where[("person_fields", len(fields) - 1)] = pf.cell(r, "ID")
        if not is_blank(rec["Option"]):
            fields[-1].setdefault("options", []).append(to_text(rec["Option"]))
            where[("person_fields", len(fields) - 1, "options")] = pf.cell(r, "Option")
            if not is_blank(rec["Option label"]):
                option = to_text(rec["Option"])
                fields[-1].setdefault("labels", {})[option] = to_text(rec["Option label"])
                where[("person_fields", len(fields) - 1, "labels", option)] = pf.cell(
                    r, "Option label"
                )
    if fields:
        data["person_fields"] = fields
    fs_sheet = sheet(TABLE_FUNDING.sheet)
    streams = []
    for r, rec in fs_sheet.records(TABLE_FUNDING.headers) if fs_sheet.rows else []:
        streams.append({"id": _txt(rec["ID"]), "label": _txt(rec["Label"])})
        where[("funding_streams", len(streams) - 1)] = fs_sheet.cell(r, "ID")
    if streams:
        data["funding_streams"] = streams
    q = sheet("Questions")
    domains: list[dict[str, Any]] = []
    for r, rec in q.records(QUESTION_COLUMNS):
        did = _txt(rec["Domain ID"])
        if not domains or domains[-1]["id"] != did:
            dom: dict[str, Any] = {"id": did, "label": _txt(rec["Domain"]), "questions": []}
            if _txt(rec["Funding"]):
                dom["funding"] = _txt(rec["Funding"])
            if _num(rec["Cap"]) is not None:
                dom["cap"] = _num(rec["Cap"])
            domains.append(dom)
            where[("domains", len(domains) - 1)] = q.cell(r, "Domain ID")
            where[("domains", len(domains) - 1, "cap")] = q.cell(r, "Cap")
        dom = domains[-1]
        qid = _txt(rec["Question ID"])
        di = len(domains) - 1
        if not dom["questions"] or dom["questions"][-1]["id"] != qid:
            qu: dict[str, Any] = {"id": qid, "text": _txt(rec["Question"]), "answers": {}}
            if _bool(rec["Required"]) is not None:
                qu["required"] = _bool(rec["Required"])
            dom["questions"].append(qu)
            where[("domains", di, "questions", len(dom["questions"]) - 1)] = q.cell(
                r, "Question ID"
            )
        qi = len(dom["questions"]) - 1
        ans = to_text(rec["Answer"])
        answers = dom["questions"][-1]["answers"]
        if ans in answers:
            raise ConfigError(
                f"{path}: {q.cell(r, 'Answer')}: duplicate answer {quote(ans)} "
                f"for question {quote(qid)}"
            )
        answers[ans] = _num(rec["Points"])
        where[("domains", di, "questions", qi, "answers", ans)] = q.cell(r, "Points")
        where[("domains", di, "questions", qi, "answers")] = q.cell(r, "Answer")
    data["domains"] = domains
    rates = sheet("Rates")
    if rates.rows:
        for r, rec in rates.records(TABLE_RATES.headers):
            alloc.setdefault("rates", {})[to_text(rec["Value"])] = _num(rec["Rate"])
            where[("allocation", "rates", to_text(rec["Value"]))] = rates.cell(r, "Rate")
            where[("allocation", "rates", to_text(rec["Value"]), "[key]")] = rates.cell(r, "Value")
    bands = sheet("Bands")
    if bands.rows:
        for r, rec in bands.records(TABLE_BANDS.headers):
            alloc.setdefault("bands", []).append(
                {"min": _num(rec["Min"]), "max": _num(rec["Max"]), "amount": _num(rec["Amount"])}
            )
            where[("allocation", "bands", len(alloc["bands"]) - 1)] = bands.cell(r, "Min")
    curve = sheet("Curve")
    if curve.rows:
        for r, rec in curve.records(TABLE_CURVE.headers):
            alloc.setdefault("curve", []).append([_num(rec["Points"]), _num(rec["Amount"])])
            where[("allocation", "curve", len(alloc["curve"]) - 1)] = curve.cell(r, "Points")
    data["allocation"] = alloc
    for sheet_name, key, value_col in (
        ("Adjustments", "adjustments", "Percent"),
        ("Top-ups", "top_ups", "Amount"),
    ):
        s = sheet(sheet_name)
        items: list[dict[str, Any]] = []
        for r, rec in s.records(("ID", value_col, *CONDITION_COLUMNS)) if s.rows else []:
            iid = _txt(rec["ID"])
            if not items or items[-1]["id"] != iid:
                if key == "adjustments":
                    _not_a_formatted_fraction(path, s.cell(r, value_col), rec[value_col])
                items.append({"id": iid, value_col.lower(): _num(rec[value_col]), "when": []})
                where[(key, len(items) - 1)] = s.cell(r, "ID")
            cond = {k.lower(): _txt(rec[k]) for k in CONDITION_COLUMNS if not is_blank(rec[k])}
            items[-1]["when"].append(cond)
            where[(key, len(items) - 1, "when", len(items[-1]["when"]) - 1)] = s.cell(r, "ID")
        if items:
            data[key] = items
    c = sheet("Ceilings")
    if c.rows:
        recs = c.records(TABLE_CEILINGS.headers)
        if recs:
            limits["ceilings_by"] = {"field": _txt(recs[0][1]["Field"]), "values": {}}
            where[("limits", "ceilings_by")] = c.cell(recs[0][0], "Field")
            for r, rec in recs:
                limits["ceilings_by"]["values"][to_text(rec["Value"])] = _num(rec["Ceiling"])
                where[("limits", "ceilings_by", "values", to_text(rec["Value"]))] = c.cell(
                    r, "Ceiling"
                )
    if limits:
        data["limits"] = limits
    return data, where
