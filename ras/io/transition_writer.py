"""Writing ``transition.xlsx`` (SPEC §13): Summary, People, Policy, Run."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from ras.io.schemas import TRANSITION_PEOPLE
from ras.io.xlsx import Book
from ras.models.base import decimal_text
from ras.models.transition import BANDS, PersonChange, TransitionOutcome
from ras.money import change_in_whole_pounds, pence
from ras.outputs import atomic_output
from ras.version import __version__


def people_headers(outcome: TransitionOutcome) -> list[str]:
    """The People sheet's columns: the fixed ones, a column per year, then the rest."""
    fixed = list(TRANSITION_PEOPLE.headers)
    at = fixed.index("<year budget>")
    years = [f"Year {y} (£)" for y in range(1, outcome.policy.years + 1)]
    fields = list(outcome.field_labels.values())
    return fixed[:1] + fields + fixed[1:at] + years + fixed[at + 1 :]


def _answers_text(p: PersonChange) -> str:
    parts = []
    for a in p.changed:
        sign = "+" if a.effect >= 0 else "−"
        parts.append(
            f"{a.question}: {a.old or '(none)'} → {a.new or '(none)'} "
            f"({sign}{decimal_text(abs(a.effect))} points)"
        )
    return "; ".join(parts)


def people_rows(outcome: TransitionOutcome) -> list[list[Any]]:
    """One row per matched person, then the people on one side only."""
    rows: list[list[Any]] = []
    fids = list(outcome.field_labels)
    n_years = outcome.policy.years
    for p in outcome.people:
        share = p.change_share
        rows.append(
            [
                p.person_id,
                *[_shown(outcome, f, p.fields.get(f)) for f in fids],
                pence(p.old),
                pence(p.new),
                pence(p.change),
                None if share is None else float(share),
                p.band,
                *[pence(b) for b in p.years],
                p.status,
                p.old_points,
                p.new_points,
                _answers_text(p),
            ]
        )
    for side, where in ((outcome.only_old, "only in OLD"), (outcome.only_new, "only in NEW")):
        for s in side:
            old = s.budget if where == "only in OLD" else None
            new = s.budget if where == "only in NEW" else None
            rows.append(
                [
                    s.person_id,
                    *[_shown(outcome, f, s.fields.get(f)) for f in fids],
                    old,
                    new,
                    None,
                    None,
                    where,
                    *([None] * n_years),
                    "",
                    s.points if where == "only in OLD" else None,
                    s.points if where == "only in NEW" else None,
                    "",
                ]
            )
    return rows


def _shown(outcome: TransitionOutcome, fid: str, value: object) -> object:
    """A field value as people read it (an option's label)."""
    if isinstance(value, str):
        return outcome.option_labels.get(fid, {}).get(value, value)
    return value


def band_rows(people: list[PersonChange]) -> list[list[Any]]:
    """Each band: people, and the £ of change (signed)."""
    return [
        [
            band,
            sum(1 for p in people if p.band == band),
            pence(sum((p.change for p in people if p.band == band), Decimal(0))),
        ]
        for band in BANDS
    ]


def write_transition(outcome: TransitionOutcome, out: Path) -> None:
    """Write transition.xlsx atomically."""
    with atomic_output(out) as tmp:
        book = Book(tmp)
        _summary(book, outcome)
        headers = people_headers(outcome)
        money = [h for h in headers if h.endswith("(£)")]
        money += [
            outcome.field_labels[f] for f in outcome.money_fields if f in outcome.field_labels
        ]
        book.write_table(
            "People",
            headers,
            people_rows(outcome),
            formats={h: book.money for h in money} | {"Change (%)": book.percent},
            widths={"Answers that changed": 60},
        )
        _policy(book, outcome)
        _run(book, outcome)
        book.close()


def _summary(book: Book, outcome: TransitionOutcome) -> None:  # noqa: C901
    ws = book.sheet("Summary", one_page=True)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 8, 16)
    ws.write_string(0, 0, "What the new table does to each person's budget", book.title)
    people = outcome.people
    facts: list[tuple[str, Any, Any]] = [
        ("People matched", len(people), None),
        ("Only in OLD (no new budget)", len(outcome.only_old), None),
        ("Only in NEW (no old budget)", len(outcome.only_new), None),
        ("Total old budgets (£)", pence(sum((p.old for p in people), Decimal(0))), book.money),
        ("Total new budgets (£)", pence(sum((p.new for p in people), Decimal(0))), book.money),
    ]
    if outcome.scale is not None and outcome.affordable_total is not None:
        facts.append(("Affordable year-1 total (£)", outcome.affordable_total, book.money))
        facts.append(("Year-1 total with protection (£)", outcome.year_total(1), book.money))
        if not outcome.affordable:
            facts.append(
                ("NOT AFFORDABLE", "even at a rate of 0 the protected budgets cost more", None)
            )
        if outcome.rate is not None:
            facts.append(("New table's rate at that total (£ per point)", outcome.rate, book.money))
        facts.append(
            ("Scale on the new table", outcome.scale, book.wb.add_format({"num_format": "0.0000"}))
        )
    r = 2
    for label, value, fmt in facts:
        ws.write_string(r, 0, label, book.bold)
        book.put(ws, r, 1, value, fmt)
        r += 1
    r += 1
    ws.write_string(r, 0, "Band of change", book.header)
    ws.write_string(r, 1, "People", book.header)
    ws.write_string(r, 2, "Change (£)", book.header)
    first = r + 1
    for band, count, amount in band_rows(people):
        r += 1
        ws.write_string(r, 0, band)
        ws.write_number(r, 1, count)
        book.put(ws, r, 2, amount, book.money)
    last = r
    chart = book.wb.add_chart({"type": "column"})
    chart.add_series(
        {
            "name": "People",
            "categories": ["Summary", first, 0, last, 0],
            "values": ["Summary", first, 1, last, 1],
            "gap": 40,
        }
    )
    chart.set_title({"name": "How budgets change"})
    chart.set_y_axis({"name": "People", "min": 0})
    chart.set_legend({"none": True})
    ws.insert_chart(2, 4, chart, {"x_scale": 1.3, "y_scale": 1.1})
    r += 2
    years = outcome.policy.years
    ws.write_string(r, 0, "By year", book.header)
    for y in range(1, years + 1):
        ws.write_string(r, y, f"Year {y} (£)", book.header)
    cost, saving = outcome.cost_of_protection(), outcome.saving_from_phasing()
    totals = [
        sum((p.years[y] for p in people), Decimal(0))
        + sum((s.budget for s in outcome.only_new), Decimal(0))
        for y in range(years)
    ]
    for label, values in (
        ("Budgets paid, with protection", totals),
        ("Cost of protecting cuts", cost),
        ("Saving from phasing rises", saving),
    ):
        r += 1
        ws.write_string(r, 0, label)
        for y, v in enumerate(values, start=1):
            book.put(ws, r, y, pence(v), book.money)
    for fid, label in outcome.field_labels.items():
        distinct = {p.fields.get(fid) for p in people}
        if len(distinct) > MAX_GROUPS or any(isinstance(v, Decimal) for v in distinct):
            continue  # amounts and free text are not groups
        r += 2
        ws.write_string(r, 0, f"By {label.lower()}", book.header)
        for c, band in enumerate(BANDS, start=1):
            ws.write_string(r, c, band, book.header)
        ws.set_row(r, 30)
        groups: dict[str, list[PersonChange]] = {}
        for p in people:
            key = str(_shown(outcome, fid, p.fields.get(fid)) or "(not given)")
            groups.setdefault(key, []).append(p)
        for key in sorted(groups):
            r += 1
            ws.write_string(r, 0, key)
            for c, (_, count, amount) in enumerate(band_rows(groups[key]), start=1):
                shown = f" ({change_in_whole_pounds(amount)})" if count else ""
                ws.write_string(r, c, f"{count}{shown}")


#: A person field with more distinct values than this is not broken down by band.
MAX_GROUPS = 30


def _policy(book: Book, outcome: TransitionOutcome) -> None:
    rows = _flat("", outcome.policy.model_dump(mode="json"))
    rows.append(("rounding (£)", decimal_text(outcome.rounding)))
    if outcome.scale is not None:
        rows.append(("affordability: scale found", decimal_text(outcome.scale)))
    if outcome.rate is not None:
        rows.append(("affordability: rate found (£ per point)", decimal_text(outcome.rate)))
    book.pairs_sheet("Policy", ("Key", "Value"), [(k, v, None) for k, v in rows], (40, 40))


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _flat(f"{prefix}.{k}" if prefix else k, v)
        return out
    if value is None:
        return [(prefix, "")]
    return [(prefix, str(value).lower() if isinstance(value, bool) else str(value))]


def _run(book: Book, outcome: TransitionOutcome) -> None:
    rows: list[list[Any]] = [["ras version", __version__, ""]]
    rows.append(["OLD", str(outcome.old_path), outcome.files.get(str(outcome.old_path), "")])
    rows.append(["NEW", str(outcome.new_path), outcome.files.get(str(outcome.new_path), "")])
    for path, sha in outcome.files.items():
        if path not in (str(outcome.old_path), str(outcome.new_path)):
            rows.append(["input file", path, sha])
    book.write_table("Run", ["Item", "Value", "sha256"], rows, widths={"sha256": 66})
