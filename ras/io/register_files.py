"""Reading and validating the registers (SPEC §7) with the guarded workbook reader.

Columns come from the schemas in :mod:`ras.io.schemas`; every problem names the
file, sheet and cell, and all of them are reported together.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

from ras.cells import (
    ID_DATE_FIX,
    cell_ref,
    heading_key,
    id_date_problem,
    is_blank,
    to_decimal,
    to_text,
)
from ras.choices import label_list, match_choice
from ras.errors import (
    ERROR_FIX,
    InputError,
    Issue,
    Location,
    Severity,
    error_problem,
    every_problem,
    quote,
)
from ras.io.allocations import TOTALS
from ras.io.reader import header_row, read_sheets, sha256_file
from ras.io.schemas import CONTRACTS, MEMBERS, PLACEMENTS, REGISTERS, Column, SheetSchema
from ras.models.base import (
    COUNT_LIMIT,
    HORIZON_LIMIT,
    MONEY_LIMIT_TEXT,
    short_number,
    too_much_money,
)
from ras.models.registers import Contract, Member, Placement, Registers
from ras.models.table import norm
from ras.money import gbp
from ras.number_text import number_fix

#: How to give an Earliest move year that is a calendar year, a date or any other text.
_PLAN_YEAR = (
    "give the plan year: 1 = the first plan year (not a calendar year such as 2027, nor a date)"
)
_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0", ""}
#: How far a row's Annual cost may stray from its Weekly cost x weeks_per_year before
#: the two are said to disagree (1 %: a year of 52 or 52.143 weeks is no slip).
_COSTS_AGREE = Decimal("0.01")
#: Contract columns that cannot be 0, and how to put that right.
_AT_LEAST_ONE = {
    "Release step (units)": "leave it blank for 1",
    "Units": "a contract holds one unit or more",
}


#: A register's sheets as read: rows, formula cells and error cells, each by sheet.
_Sheets: TypeAlias = tuple[
    dict[str, list[list[Any]]], dict[str, frozenset[str]], dict[str, Mapping[str, str]]
]


class _Rows:
    """Typed rows of one register sheet; problems gathered as issues."""

    def __init__(
        self,
        path: Path,
        schema: SheetSchema,
        sheets: _Sheets,
        issues: list[Issue],
    ) -> None:
        self.path, self.schema, self.issues = path, schema, issues
        rows = self.rows = sheets[0][schema.sheet]
        self.formulas = sheets[1].get(schema.sheet, frozenset())
        self.failed = sheets[2].get(schema.sheet, {})  # cells showing an error: #N/A
        self.cols: dict[str, int] = {}
        self.reported: set[tuple[int, int]] = set()  # (row, column) of each problem
        # the headings may sit below a title: the first row with every required one
        needed = tuple(col.name for col in schema.columns if col.required)
        head = header_row(rows, needed, key=heading_key)
        self.top = head[0] if head is not None else 0
        header = rows[self.top] if rows else []
        typed = {c: to_text(v) for c, v in enumerate(header) if not is_blank(v)}
        for c, text in typed.items():
            self.cols.setdefault(norm(text), c)
        # a heading typed by hand without the unit, or with other spaces or dashes
        # ("Weekly cost", "Set up cost"), is the column it names, where the exact one is absent
        read = {self.cols[norm(col.name)] for col in schema.columns if norm(col.name) in self.cols}
        for col in schema.columns:
            if norm(col.name) not in self.cols:
                want = heading_key(col.name)
                loose = next((c for c, t in typed.items() if heading_key(t) == want), None)
                if loose is not None and loose not in read:
                    self.cols[norm(col.name)] = loose
                    read.add(loose)
        unread = {c: t for c, t in typed.items() if c not in read}
        for col in schema.columns:
            if col.required and norm(col.name) not in self.cols:
                near = _near(col.name, unread)
                self.error(
                    "column-missing",
                    self.top,
                    0 if near is None else near,
                    f"no column {col.name!r} in the header row",
                    f"add it; the columns are {', '.join(c.name for c in schema.columns)}"
                    if near is None
                    else f"if {quote(unread[near])} is it, rename that heading to {col.name!r}",
                )
        self._unread(unread)

    def _unread(self, unread: dict[int, str]) -> None:
        """Warn of each heading that is not read but looks meant to be.

        That is a column's near miss ("Earliest move" for "Earliest move year"), or a
        column of another sheet of the file (Funder on the Members sheet).
        """
        missing = [
            col.name for col in self.schema.columns if col.read and norm(col.name) not in self.cols
        ]
        others = {
            heading_key(col.name): other.sheet
            for other in REGISTERS.get(self.schema.workbook, ())
            if other is not self.schema
            for col in other.columns
        }
        for c, text in unread.items():
            near = difflib.get_close_matches(
                heading_key(text), [heading_key(m) for m in missing], n=1, cutoff=0.75
            )
            if near:
                name = next(m for m in missing if heading_key(m) == near[0])
                problem = f"column {quote(text)} is not read (ras reads {name!r})"
                fix = f"if it holds the {name}, rename the heading to {name!r}"
            elif heading_key(text) in others:
                problem = f"column {quote(text)} is not read on this sheet"
                fix = f"it is read on sheet {others[heading_key(text)]!r}"
            else:
                continue  # a column of the user's own (notes, a review date): not ras's
            where = Location(str(self.path), self.schema.sheet, cell_ref(self.top, c))
            self.issues.append(Issue("column-not-read", where, problem, fix, "", Severity.WARNING))

    def error(
        self, code: str, r: int, c: int, problem: str, fix: str = "", person_id: str = ""
    ) -> None:
        where = Location(str(self.path), self.schema.sheet, cell_ref(r, c))
        self.issues.append(Issue(code, where, problem, fix, person_id))
        self.reported.add((r, c))

    def warn(self, code: str, r: int, column: str, problem: str, fix: str, person_id: str) -> None:
        """A warning: the row is used, but may not say what was meant."""
        where = self.location(r, column)
        self.issues.append(Issue(code, where, problem, fix, person_id, Severity.WARNING))

    def earliest_year(self, r: int, rec: dict[str, Any], person_id: str) -> int | None:
        """The row's Earliest move year (1 when blank); None, with an error, when unusable."""
        year = rec["Earliest move year"]
        if year is None:
            return 1
        if year < 1:
            problem = "Earliest move year must be 1 or later"
        elif year > HORIZON_LIMIT:
            problem = (
                f"Earliest move year {year} is past the last year of any plan "
                f"(plans run for at most {HORIZON_LIMIT} years)"
            )
        else:
            return int(year)
        col = self.cols.get(norm("Earliest move year"), 0)
        fix = _PLAN_YEAR
        self.error("out-of-range", r, col, problem, fix, person_id)
        return None

    def any_reported(self, r: int, *columns: str) -> bool:
        """Whether a cell of these columns in row ``r`` has a problem reported already."""
        return any(
            (r, self.cols[norm(name)]) in self.reported
            for name in columns
            if norm(name) in self.cols
        )

    def location(self, r: int, column: str) -> Location:
        """The cell of ``column`` in row ``r``."""
        c = self.cols.get(norm(column), 0)
        return Location(str(self.path), self.schema.sheet, cell_ref(r, c))

    def where(self, r: int) -> str:
        return f"{self.path.name}, sheet {self.schema.sheet!r}, row {r + 1}"

    def records(self) -> list[tuple[int, dict[str, Any]]]:
        out: list[tuple[int, dict[str, Any]]] = []
        if any(col.required and norm(col.name) not in self.cols for col in self.schema.columns):
            return out  # a required column is missing: said once, at the header row
        first = self.cols.get(norm(self.schema.columns[0].name))
        for r in range(self.top + 1, len(self.rows)):
            row = self.rows[r]
            if all(is_blank(v) for v in row):
                continue
            at = self._totals_at(row, first)
            if at is not None:
                self.error(
                    "totals-row",
                    r,
                    at,
                    f"{quote(to_text(row[at]))} is a totals row, not a "
                    f"{self.schema.columns[0].name.removesuffix(' ID').lower()}",
                    "delete the row; ras adds the costs up itself",
                )
                continue
            rec: dict[str, Any] = {}
            for col in self.schema.columns:
                if not col.read:
                    continue  # the user's own notes: not ras's to check
                c = self.cols.get(norm(col.name))
                raw = row[c] if c is not None and c < len(row) else None
                rec[col.name] = self._value(r, c if c is not None else 0, col, raw)
            out.append((r, rec))
        return out

    @staticmethod
    def _totals_at(row: list[Any], first: int | None) -> int | None:
        """The column of the word that makes ``row`` a totals row, if it is one.

        That is ``Total`` (or ``Grand total``, …) as its ID, or in a text cell of a row
        without an ID.
        """
        if first is None:
            return None
        if first < len(row) and not is_blank(row[first]):
            return first if norm(to_text(row[first])) in TOTALS else None
        return next(
            (c for c, v in enumerate(row) if isinstance(v, str) and norm(v) in TOTALS), None
        )

    def _value(self, r: int, c: int, col: Column, raw: Any) -> Any:  # noqa: C901
        if is_blank(raw):
            if self.failed and cell_ref(r, c) in self.failed:
                problem = error_problem(col.name, self.failed[cell_ref(r, c)])
                self.error("cell-error", r, c, problem, ERROR_FIX)
                return None
            if self.formulas and cell_ref(r, c) in self.formulas:
                self.error(
                    "formula-without-value",
                    r,
                    c,
                    f"{col.name} holds a formula with no calculated value (the program that "
                    "wrote the file did not calculate it)",
                    "open the file in Excel or LibreOffice and save it, or type the value",
                )
                return None
            if col.required:
                self.error("missing-value", r, c, f"{col.name} is missing", "fill it in")
            if col.type == "yes_no":
                return col.default.upper() == "Y"
            return None
        if col.type == "text":
            text = to_text(raw)
            slip = id_date_problem(col.name, raw) if col.name.endswith(" ID") else None
            if slip is not None:
                pid = text if col.name == "Person ID" else ""
                self.warn("id-is-a-date", r, col.name, slip, ID_DATE_FIX, pid)
            return text
        if col.type == "choice":
            hit = match_choice(to_text(raw), col.choice_labels)
            if hit is None:
                self.error(
                    "not-an-option",
                    r,
                    c,
                    f"{col.name} is {quote(to_text(raw))}, which is not allowed",
                    f"choose {label_list(col.choice_labels)}",
                )
            return hit
        if col.type == "yes_no":
            t = norm(to_text(raw))
            if t in _YES:
                return True
            if t in _NO:
                return False
            self.error(
                "not-yes-or-no", r, c, f"{col.name} is {quote(to_text(raw))}", "write Y or N"
            )
            return False
        d = to_decimal(raw)
        if d is None:
            fix = number_fix(raw, "type a number")
            if col.name == "Earliest move year":  # a date, "2028/29", "April 2028"
                fix = _PLAN_YEAR
            self.error(
                "not-a-number",
                r,
                c,
                f"{col.name} is {quote(to_text(raw))}, which is not a number",
                fix,
            )
            return None
        if d < 0:
            self.error(
                "negative", r, c, f"{col.name} is negative ({short_number(d)})", "use 0 or more"
            )
            return None
        money = col.type == "money"
        if too_much_money(d) if money else d > COUNT_LIMIT:
            limit = MONEY_LIMIT_TEXT if money else f"{COUNT_LIMIT:,}"
            self.error(
                "too-large",
                r,
                c,
                f"{col.name} is {short_number(d)}, more than {limit}",
                "check the figure",
            )
            return None
        if col.type == "integer":
            if d != d.to_integral_value():
                self.error(
                    "not-a-whole-number",
                    r,
                    c,
                    f"{col.name} must be a whole number, not {short_number(d)}",
                    "use a whole number",
                )
                return None
            return int(d)
        return d


def _near(name: str, headings: dict[int, str]) -> int | None:
    """The column of the heading most like ``name``, if one is close."""
    keys = {heading_key(t): c for c, t in headings.items()}
    near = difflib.get_close_matches(heading_key(name), list(keys), n=1, cutoff=0.75)
    return keys[near[0]] if near else None


def _sheets(path: Path, schemas: tuple[SheetSchema, ...], issues: list[Issue]) -> _Sheets | None:
    """The register's sheets, formula and error cells; None, with the issue, if unreadable."""
    names = [s.sheet for s in schemas]
    formulas: dict[str, frozenset[str]] = {}
    failed: dict[str, Mapping[str, str]] = {}
    try:
        rows = read_sheets(path, names, required=names, formulas=formulas, errors=failed)
        return rows, formulas, failed
    except InputError as exc:
        issues.append(Issue(exc.code, Location(str(path)), str(exc).removeprefix(f"{path}: ")))
        return None


def read_registers(placements: Path, contracts: Path, weeks_per_year: Decimal) -> Registers:  # noqa: C901
    """Read and validate both registers.

    Raises:
        InputError: listing every problem, each with its file, sheet and cell.
    """
    issues: list[Issue] = []
    psheets = _sheets(placements, (PLACEMENTS,), issues)
    csheets = _sheets(contracts, (CONTRACTS, MEMBERS), issues)
    places: list[Placement] = []
    seen: dict[str, str] = {}
    if psheets:
        rows = _Rows(placements, PLACEMENTS, psheets, issues)
        for r, rec in rows.records():
            pid = rec["Person ID"] or ""
            weekly, annual = rec["Weekly cost (£)"], rec["Annual cost (£)"]
            if weekly is None and annual is None:
                if rows.any_reported(r, "Weekly cost (£)", "Annual cost (£)"):
                    continue  # given, but not a usable amount: said already
                rows.error(
                    "missing-cost",
                    r,
                    rows.cols.get(norm("Weekly cost (£)"), 0),
                    "neither a weekly nor an annual cost is given",
                    "give Weekly cost (£) or Annual cost (£)",
                    pid,
                )
                continue
            if pid in seen:
                rows.error(
                    "duplicate-person",
                    r,
                    0,
                    f"Person ID {quote(pid)} appears twice (first at {seen[pid]})",
                    "keep one row per person",
                    pid,
                )
                continue
            year = rows.earliest_year(r, rec, pid)
            if not pid or rec["Setting"] is None or rec["Provider"] is None or year is None:
                continue
            seen[pid] = rows.where(r)
            cost = annual if annual is not None else weekly * weeks_per_year
            if annual is not None and weekly is not None:
                _check_costs_agree(rows, r, pid, weekly, annual, weeks_per_year)
            places.append(
                Placement(
                    person_id=pid,
                    provider=rec["Provider"],
                    setting=rec["Setting"],
                    annual_cost=cost,
                    earliest_year=year,
                    setup_cost=rec["Set-up cost (£)"],
                    priority=rec["Priority"],
                    stay=bool(rec["Stay"]),
                    where=rows.where(r),
                    funder=rec.get("Funder"),
                    funder_at=rows.location(r, "Funder"),
                )
            )
    blocks: list[Contract] = []
    members: list[Member] = []
    if csheets:
        rows = _Rows(contracts, CONTRACTS, csheets, issues)
        ids: dict[str, int] = {}  # the contracts that can be used
        listed: set[str] = set()  # every contract on the sheet, with problems or not
        for r, rec in rows.records():
            cid = rec["Contract ID"] or ""
            if cid in listed and cid:
                rows.error(
                    "duplicate-contract",
                    r,
                    0,
                    f"Contract ID {quote(cid)} appears twice",
                    "keep one row per contract",
                )
                continue
            listed.add(cid)
            units, minimum = rec["Units"], rec["Minimum units"]
            step = rec["Release step (units)"]
            zero = next((c for c in _AT_LEAST_ONE if rec[c] == 0), None)  # None is blank
            if zero is not None:
                rows.error(
                    "out-of-range",
                    r,
                    rows.cols.get(norm(zero), 0),
                    f"{zero} must be at least 1",
                    _AT_LEAST_ONE[zero],
                )
                continue
            if units is not None and minimum is not None and minimum > units:
                rows.error(
                    "out-of-range",
                    r,
                    rows.cols.get(norm("Minimum units"), 0),
                    f"Minimum units ({minimum}) is above Units ({units})",
                    "Minimum units must be at most Units",
                )
                continue
            if (
                any(
                    rec[k] is None
                    for k in (
                        "Provider",
                        "Service",
                        "Annual value (£)",
                        "Units",
                        "Minimum units",
                        "Notice (months)",
                        "Decommission cost per unit (£)",
                    )
                )
                or not cid
            ):
                continue
            ids[cid] = r
            blocks.append(
                Contract(
                    contract_id=cid,
                    provider=rec["Provider"],
                    service=rec["Service"],
                    annual_value=rec["Annual value (£)"],
                    units=units,
                    minimum_units=minimum,
                    notice_months=rec["Notice (months)"],
                    decommission_cost=rec["Decommission cost per unit (£)"],
                    release_step=step or 1,
                    where=rows.where(r),
                    funder=rec.get("Funder"),
                    funder_at=rows.location(r, "Funder"),
                )
            )
        mrows = _Rows(contracts, MEMBERS, csheets, issues)
        count: dict[str, int] = {}
        for r, rec in mrows.records():
            cid, pid = rec["Contract ID"] or "", rec["Person ID"] or ""
            if cid in listed and cid not in ids:
                continue  # the contract's own row has a problem, reported there
            if cid not in ids:
                mrows.error(
                    "unknown-contract",
                    r,
                    0,
                    f"Contract ID {quote(cid)} is not on the Contracts sheet",
                    "add the contract or correct the ID",
                    pid,
                )
                continue
            if pid in seen:
                mrows.error(
                    "duplicate-person",
                    r,
                    mrows.cols.get(norm("Person ID"), 1),
                    f"Person ID {quote(pid)} is already registered ({seen[pid]})",
                    "a person may appear once across both registers",
                    pid,
                )
                continue
            year = mrows.earliest_year(r, rec, pid)
            if not pid or year is None:
                continue
            seen[pid] = mrows.where(r)
            count[cid] = count.get(cid, 0) + 1
            members.append(
                Member(
                    contract_id=cid,
                    person_id=pid,
                    earliest_year=year,
                    setup_cost=rec["Set-up cost (£)"],
                    priority=rec["Priority"],
                    stay=bool(rec["Stay"]),
                    where=mrows.where(r),
                )
            )
        for c in blocks:
            if count.get(c.contract_id, 0) > c.units:
                issues.append(
                    Issue(
                        "too-many-members",
                        Location(
                            str(contracts),
                            "Contracts",
                            cell_ref(ids[c.contract_id], rows.cols.get(norm("Units"), 0)),
                        ),
                        f"contract {c.contract_id!r} has {count[c.contract_id]} "
                        f"members but only {c.units} unit{'' if c.units == 1 else 's'}",
                        "check the Members sheet or the Units",
                    )
                )
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise every_problem([i.one_line() for i in errors], errors)
    files = {str(p): sha256_file(p) for p in (placements, contracts)}
    warnings = tuple(i for i in issues if i.severity == "warning")
    return Registers(tuple(places), tuple(blocks), tuple(members), files, warnings)


def _check_costs_agree(
    rows: _Rows, r: int, pid: str, weekly: Decimal, annual: Decimal, weeks: Decimal
) -> None:
    """Warn when a row's annual cost is not its weekly cost for a year (the annual is used)."""
    a_year = weekly * weeks
    if abs(annual - a_year) <= _COSTS_AGREE * max(abs(a_year), abs(annual)):
        return
    rows.warn(
        "costs-disagree",
        r,
        "Annual cost (£)",
        f"the annual cost, {gbp(annual)}, is not the weekly cost, {gbp(weekly)}, for a year "
        f"of {short_number(weeks)} weeks ({gbp(a_year)}); the annual cost is used",
        "clear the one that is wrong: one of the two is enough",
        pid,
    )
