"""Points -> money (SPEC §3.1 steps 4-9 and §3.2), exact decimals, with explanations.

Every function here is pure. Intermediate figures are exact decimals; only the
final figures are rounded, half-up, exactly as the specification orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from ras.models.base import decimal_text
from ras.models.result import Applied, Budget, Step
from ras.models.table import PointTable, norm
from ras.scoring import Points, all_hold, score_points

ZERO = Decimal(0)
ONE = Decimal(1)
PENNY = Decimal("0.01")
HUNDRED = Decimal(100)


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of ``step``, halves away from zero."""
    return (value / step).quantize(ONE, rounding=ROUND_HALF_UP) * step


def pence(value: Decimal) -> Decimal:
    """Round half-up to the penny."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def gbp(value: Decimal) -> str:
    """Format money for notes: ``£1,234.50`` or ``£1,234``."""
    value = pence(value)
    if value == value.to_integral_value():
        return f"£{value:,.0f}"
    return f"£{value:,.2f}"


def pick_rate(table: PointTable, fields: Mapping[str, object]) -> Decimal:
    """The £ per point for a person: by ``rates_by`` where their value is listed."""
    alloc = table.allocation
    if alloc.rates_by is not None:
        value = fields.get(alloc.rates_by)
        if value is not None:
            for key, r in alloc.rates.items():
                if norm(key) == norm(value):
                    return r
    assert alloc.rate is not None  # guaranteed by the table's validation
    return alloc.rate


def convert(
    table: PointTable, total: Decimal, fields: Mapping[str, object], scale: Decimal = ONE
) -> tuple[Decimal, Decimal | None, str]:
    """Base amount for total points (step 4): the amount, the rate used, and how.

    ``scale`` multiplies every rate, band amount or curve amount (used by calibration).
    """
    alloc = table.allocation
    if alloc.method == "rate":
        rate = pick_rate(table, fields) * scale
        how = f"{decimal_text(total)} points x {gbp(rate)} per point"
        if alloc.rates_by is not None:
            how += f" ({alloc.rates_by}: {fields.get(alloc.rates_by) or 'not given'})"
        return total * rate, rate, how
    if alloc.method == "bands":
        chosen = alloc.bands[0]
        for band in alloc.bands:
            if band.min <= total:
                chosen = band
        amount = chosen.amount * scale
        above = " (above the last band)" if total > chosen.max else ""
        how = (
            f"{decimal_text(total)} points fall in band {decimal_text(chosen.min)}-"
            f"{decimal_text(chosen.max)}{above}: {gbp(amount)}"
        )
        return amount, None, how
    knots = alloc.curve
    if total >= knots[-1][0]:
        amount = knots[-1][1] * scale
        return amount, None, f"{decimal_text(total)} points at or past the last knot: {gbp(amount)}"
    for (x0, y0), (x1, y1) in zip(knots, knots[1:], strict=False):
        if x0 <= total <= x1:
            amount = (y0 + (total - x0) * (y1 - y0) / (x1 - x0)) * scale
            how = (
                f"{decimal_text(total)} points between ({decimal_text(x0)}, {gbp(y0 * scale)}) "
                f"and ({decimal_text(x1)}, {gbp(y1 * scale)}): {gbp(amount)}"
            )
            return amount, None, how
    amount = knots[0][1] * scale  # below the first knot (only for negative points)
    return amount, None, f"{decimal_text(total)} points below the first knot: {gbp(amount)}"


def person_ceiling(table: PointTable, fields: Mapping[str, object]) -> Decimal | None:
    """The ceiling that applies to a person (``ceilings_by`` first)."""
    lim = table.limits
    if lim.ceilings_by is not None:
        value = fields.get(lim.ceilings_by.field)
        if value is not None:
            for key, ceiling in lim.ceilings_by.values.items():
                if norm(key) == norm(value):
                    return ceiling
    return lim.ceiling


def split_funding(
    table: PointTable, points: Points, annual: Decimal
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Split the annual budget across funding streams by points (§3.2).

    Every stream but the one with the most points (the first such in table order)
    gets its share rounded half-up to the penny; that stream gets the remainder,
    so the streams always add up to the budget exactly. With no points at all the
    whole budget goes to the first stream.
    """
    stream_points: dict[str, Decimal] = {s: ZERO for s in table.streams()}
    for d in table.domains:
        stream_points[d.funding or "unassigned"] += points.domain[d.id]
    streams = list(stream_points)
    if points.total == 0:
        shares = {s: ZERO for s in streams}
        shares[streams[0]] = annual
        return shares, stream_points
    residual = max(streams, key=lambda s: (stream_points[s], -streams.index(s)))
    shares = {}
    for s in streams:
        if s != residual:
            shares[s] = pence(annual * stream_points[s] / points.total)
    shares[residual] = annual - sum(shares.values(), ZERO)
    return {s: shares[s] for s in streams}, stream_points


def compute_budget(  # noqa: C901 - one function follows the nine normative steps
    table: PointTable,
    answers: Mapping[str, str],
    fields: Mapping[str, object],
    scale: Decimal = ONE,
    explain: bool = True,
) -> Budget:
    """Compute one person's indicative budget, following SPEC §3.1 in order."""
    steps: list[Step] = []
    pts = score_points(table, answers)
    if explain:
        for d in table.domains:
            for q in d.questions:
                a = answers.get(q.id)
                note = a if a is not None else "not answered (optional question: 0 points)"
                steps.append(Step("Answer", q.id, pts.question[q.id], None, note))
            note = ""
            if pts.capped[d.id]:
                note = (
                    f"capped at {decimal_text(d.cap or ZERO)} "
                    f"({decimal_text(pts.domain_raw[d.id])} before the cap)"
                )
            steps.append(Step("Domain", d.label, pts.domain[d.id], None, note))
        steps.append(Step("Total points", "all domains", pts.total, None, ""))
    base, rate, how = convert(table, pts.total, fields, scale)
    if explain:
        steps.append(Step("Conversion", table.allocation.method, pts.total, base, how))

    adjusted = base
    applied: list[Applied] = []
    for adj in table.adjustments:
        if all_hold(adj.when, answers, fields):
            before = adjusted
            adjusted = adjusted * (ONE + adj.percent / HUNDRED)
            applied.append(Applied(adj.id, adj.percent, adjusted - before))
            if explain:
                steps.append(
                    Step(
                        "Adjustment",
                        adj.id,
                        None,
                        adjusted - before,
                        f"{decimal_text(adj.percent)}% applied: {gbp(before)} -> {gbp(adjusted)}",
                    )
                )
    total = adjusted
    tops: list[Applied] = []
    for tu in table.top_ups:
        if all_hold(tu.when, answers, fields):
            total += tu.amount
            tops.append(Applied(tu.id, tu.amount, tu.amount))
            if explain:
                steps.append(Step("Top-up", tu.id, None, tu.amount, f"+{gbp(tu.amount)}"))

    floor = table.limits.floor
    ceiling = person_ceiling(table, fields)
    flags: list[str] = []
    clamped = total
    if clamped < floor:
        clamped = floor
        flags.append("floor")
        limit_note = f"raised to the floor of {gbp(floor)}"
    elif ceiling is not None and clamped > ceiling:
        clamped = ceiling
        flags.append("ceiling: refer to funding panel")
        limit_note = f"reduced to the ceiling of {gbp(ceiling)}: refer to the funding panel"
    else:
        top = f" to {gbp(ceiling)}" if ceiling is not None else " (no ceiling)"
        limit_note = f"within the limits {gbp(floor)}{top}"
    annual = round_half_up(clamped, table.rounding)
    weekly = pence(annual / table.weeks_per_year)
    low = round_half_up(annual * (ONE - table.range), ONE)
    high = round_half_up(annual * (ONE + table.range), ONE)
    funding, stream_points = split_funding(table, pts, annual)
    if explain:
        steps.append(Step("Limits", "floor and ceiling", None, clamped, limit_note))
        steps.append(
            Step(
                "Rounding",
                f"nearest £{decimal_text(table.rounding)}",
                None,
                annual,
                f"{gbp(clamped)} rounded half-up: indicative annual budget",
            )
        )
        steps.append(
            Step(
                "Weekly",
                "annual / weeks per year",
                None,
                weekly,
                f"{gbp(annual)} / {decimal_text(table.weeks_per_year)}",
            )
        )
        pct = decimal_text(table.range * HUNDRED)
        steps.append(Step("Range", "low", None, low, f"-{pct}%"))
        steps.append(Step("Range", "high", None, high, f"+{pct}%"))
        for s, amount in funding.items():
            steps.append(Step("Funding", s, stream_points[s], amount, "share by points"))
    return Budget(
        question_points=pts.question,
        domain_points=pts.domain,
        domain_capped=pts.capped,
        total_points=pts.total,
        rate=rate,
        base=base,
        adjustments=tuple(applied),
        adjusted=adjusted,
        top_ups=tuple(tops),
        before_limits=total,
        floor=floor,
        ceiling=ceiling,
        clamped=clamped,
        annual=annual,
        weekly=weekly,
        range_low=low,
        range_high=high,
        funding=funding,
        stream_points=stream_points,
        flags=tuple(flags),
        steps=tuple(steps),
    )
