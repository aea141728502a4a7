"""Points -> money (SPEC §3.1 steps 4-9 and §3.2), exact decimals, with explanations.

Every function here is pure. Intermediate figures are exact decimals; only the
final figures are rounded, half-up, exactly as the specification orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from ras.models.base import decimal_text
from ras.models.budget import Applied, Budget, Step
from ras.models.scored import BatchSteps, Scored, ScoredBatch
from ras.models.table import Condition, PointTable, norm
from ras.money import change, gbp, pence, round_half_up
from ras.scoring.points import Points, score_points

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


class Prepared:
    """Look-ups made once per table so that scoring a person does no searching.

    Caches the explanation steps that repeat from person to person (an answer and
    its points, a domain's total), which are immutable and so safely shared.
    """

    def __init__(self, table: PointTable) -> None:
        self.table = table
        alloc = table.allocation
        rf = table.field(alloc.rates_by or "")
        self.rates = {norm(rf.id_of(k) if rf else k): v for k, v in alloc.rates.items()}
        cb = table.limits.ceilings_by
        cf = table.field(cb.field) if cb else None
        self.ceilings = (
            {norm(cf.id_of(k) if cf else k): v for k, v in cb.values.items()} if cb else {}
        )
        self.streams = table.streams()
        self.domain_stream = {d.id: d.funding or "unassigned" for d in table.domains}
        self.answer_steps: dict[tuple[str, str | None], Step] = {}
        self.domain_steps: dict[tuple[str, Decimal, bool, Decimal], Step] = {}
        self._shared: set[int] = set()  # ids of the cached steps (kept alive by the caches)
        self.pct = decimal_text(table.range * HUNDRED)
        self.adjustments = [(a, self._conditions(a.when)) for a in table.adjustments]
        self.top_ups = [(t, self._conditions(t.when)) for t in table.top_ups]

    def _conditions(self, conds: tuple[Condition, ...]) -> list[tuple[bool, str, str, bool]]:
        """(is a question, key, canonical value, compare normalised) per condition."""
        out = []
        for c in conds:
            if c.question is not None:
                q = self.table.question(c.question)
                labels = {norm(a): a for a in (q.answers if q else {})}
                out.append((True, c.question, labels.get(norm(c.answer), str(c.answer)), False))
            else:
                f = self.table.field(c.field or "")
                options = {norm(o): o for o in (f.options or ())} if f else {}
                target = options.get(norm(f.id_of(c.equals) if f else c.equals))
                if target is None:
                    out.append((False, c.field or "", norm(c.equals), True))
                else:
                    out.append((False, c.field or "", target, False))
        return out

    @staticmethod
    def holds(
        conds: list[tuple[bool, str, str, bool]],
        answers: Mapping[str, str],
        fields: Mapping[str, object],
    ) -> bool:
        """Whether every prepared condition holds for a validated assessment."""
        for is_q, key, target, loose in conds:
            value = answers.get(key) if is_q else fields.get(key)
            if value is None:
                return False
            if loose:
                if norm(value) != target:
                    return False
            elif value != target:
                return False
        return True

    def share(self, step: Step) -> Step:
        """Mark a cached step as shared between people (see :meth:`is_shared`)."""
        self._shared.add(id(step))
        return step

    def is_shared(self, step: Step) -> bool:
        """Whether a step is a cached one, the same object for every person it fits.

        Safe by identity: cached steps live as long as this object, so no other step
        can have the same id meanwhile.
        """
        return id(step) in self._shared

    def rate(self, fields: Mapping[str, object]) -> Decimal:
        """The £ per point for a person: by ``rates_by`` where their value is listed."""
        alloc = self.table.allocation
        if alloc.rates_by is not None:
            value = fields.get(alloc.rates_by)
            if value is not None:
                hit = self.rates.get(norm(value))
                if hit is not None:
                    return hit
        assert alloc.rate is not None  # guaranteed by the table's validation
        return alloc.rate

    def ceiling(self, fields: Mapping[str, object]) -> Decimal | None:
        """The ceiling that applies to a person (``ceilings_by`` first)."""
        lim = self.table.limits
        if lim.ceilings_by is not None:
            value = fields.get(lim.ceilings_by.field)
            if value is not None:
                hit = self.ceilings.get(norm(value))
                if hit is not None:
                    return hit
        return lim.ceiling


_PREPARED: dict[int, Prepared] = {}


def prepared(table: PointTable) -> Prepared:
    """The (cached) look-ups for a table."""
    hit = _PREPARED.get(id(table))
    if hit is None or hit.table is not table:
        if len(_PREPARED) > 32:
            _PREPARED.clear()
        hit = _PREPARED[id(table)] = Prepared(table)
    return hit


def pick_rate(table: PointTable, fields: Mapping[str, object]) -> Decimal:
    """The £ per point for a person: by ``rates_by`` where their value is listed."""
    return prepared(table).rate(fields)


def convert(
    table: PointTable,
    total: Decimal,
    fields: Mapping[str, object],
    scale: Decimal = ONE,
    how: bool = True,
) -> tuple[Decimal, Decimal | None, str]:
    """Base amount for total points (step 4): the amount, the rate used, and how.

    ``scale`` multiplies every rate, band amount or curve amount (used by calibration).
    With ``how=False`` the explanation text is not made.
    """
    alloc = table.allocation
    if alloc.method == "rate":
        rate = pick_rate(table, fields) * scale
        text = ""
        if how:
            text = f"{decimal_text(total)} points x {gbp(rate)} per point"
            if alloc.rates_by is not None:
                text += f" ({alloc.rates_by}: {fields.get(alloc.rates_by) or 'not given'})"
        return total * rate, rate, text
    if alloc.method == "bands":
        chosen = alloc.bands[0]
        for band in alloc.bands:
            if band.min <= total:
                chosen = band
        amount = chosen.amount * scale
        text = ""
        if how:
            above = " (above the last band)" if total > chosen.max else ""
            text = (
                f"{decimal_text(total)} points fall in band {decimal_text(chosen.min)}-"
                f"{decimal_text(chosen.max)}{above}: {gbp(amount)}"
            )
        return amount, None, text
    knots = alloc.curve
    if total >= knots[-1][0]:
        amount = knots[-1][1] * scale
        text = (
            f"{decimal_text(total)} points at or past the last knot: {gbp(amount)}" if how else ""
        )
        return amount, None, text
    for (x0, y0), (x1, y1) in zip(knots, knots[1:], strict=False):
        if x0 <= total <= x1:
            amount = (y0 + (total - x0) * (y1 - y0) / (x1 - x0)) * scale
            text = ""
            if how:
                text = (
                    f"{decimal_text(total)} points between ({decimal_text(x0)}, "
                    f"{gbp(y0 * scale)}) and ({decimal_text(x1)}, {gbp(y1 * scale)}): {gbp(amount)}"
                )
            return amount, None, text
    amount = knots[0][1] * scale  # below the first knot (only for negative points)
    return amount, None, f"{decimal_text(total)} points below the first knot: {gbp(amount)}"


def split_funding(
    table: PointTable, points: Points, annual: Decimal
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Split the annual budget across funding streams by points (§3.2).

    Every stream but the one with the most points (the first such in table order)
    gets its share rounded half-up to the penny; that stream gets the remainder,
    so the streams always add up to the budget exactly. With no points at all the
    whole budget goes to the first stream.
    """
    prep = prepared(table)
    streams = prep.streams
    stream_points: dict[str, Decimal] = dict.fromkeys(streams, ZERO)
    for did, stream in prep.domain_stream.items():
        stream_points[stream] += points.domain[did]
    if points.total == 0:
        shares = dict.fromkeys(streams, ZERO)
        shares[streams[0]] = annual
        return shares, stream_points
    if len(streams) == 1:
        return {streams[0]: annual}, stream_points
    residual = max(streams, key=lambda s: (stream_points[s], -streams.index(s)))
    shares = {}
    for s in streams:
        if s != residual:
            shares[s] = pence(annual * stream_points[s] / points.total)
    shares[residual] = annual - sum(shares.values(), ZERO)
    return {s: shares[s] for s in streams}, stream_points


def compute_budget(
    table: PointTable,
    answers: Mapping[str, str],
    fields: Mapping[str, object],
    scale: Decimal = ONE,
    explain: bool = True,
) -> Budget:
    """Compute one person's indicative budget, following SPEC §3.1 in order.

    With ``explain`` the budget carries its audit trail (``steps``); without, the
    steps can be made later with :func:`explain_budget`, giving the same rows.
    """
    prep = prepared(table)
    pts = score_points(table, answers)
    base, rate, _ = convert(table, pts.total, fields, scale, how=False)
    adjusted = base
    applied: list[Applied] = []
    for adj, conds in prep.adjustments:
        if prep.holds(conds, answers, fields):
            before = adjusted
            adjusted = adjusted * (ONE + adj.percent / HUNDRED)
            applied.append(Applied(adj.id, adj.percent, adjusted - before))
    total = adjusted
    tops: list[Applied] = []
    for tu, conds in prep.top_ups:
        if prep.holds(conds, answers, fields):
            total += tu.amount
            tops.append(Applied(tu.id, tu.amount, tu.amount))
    floor = table.limits.floor
    ceiling = prep.ceiling(fields)
    flags: tuple[str, ...] = ()
    clamped = total
    if clamped < floor:
        clamped = floor
        flags = ("floor",)
    elif ceiling is not None and clamped > ceiling:
        clamped = ceiling
        flags = ("ceiling: refer to funding panel",)
    annual = round_half_up(clamped, table.rounding)
    weekly = pence(annual / table.weeks_per_year)
    low = round_half_up(annual * (ONE - table.range), ONE)
    high = round_half_up(annual * (ONE + table.range), ONE)
    funding, stream_points = split_funding(table, pts, annual)
    budget = Budget(
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
        flags=flags,
        steps=(),
    )
    if explain:
        return replace(budget, steps=explain_budget(table, answers, fields, budget, scale))
    return budget


def answer_step(table: PointTable, question: str, answer: str | None) -> Step:
    """The Explanations step of one answer and its points (one shared object each)."""
    prep = prepared(table)
    step = prep.answer_steps.get((question, answer))
    if step is None:
        q = table.question(question)
        assert q is not None
        note = answer if answer is not None else "not answered (optional question: 0 points)"
        step = prep.answer_steps[(question, answer)] = prep.share(
            Step("Answer", question, q.answers[answer] if answer is not None else ZERO, None, note)
        )
    return step


def domain_step(
    table: PointTable, domain: str, points: Decimal, capped: bool, raw: Decimal
) -> Step:
    """The Explanations step of a domain's points (``raw``: before its cap), shared."""
    prep = prepared(table)
    key = (domain, points, capped, raw if capped else ZERO)
    step = prep.domain_steps.get(key)
    if step is None:
        d = next(d for d in table.domains if d.id == domain)
        note = ""
        if capped:
            note = f"capped at {decimal_text(d.cap or ZERO)} ({decimal_text(raw)} before the cap)"
        step = prep.domain_steps[key] = prep.share(Step("Domain", d.label, points, None, note))
    return step


def explain_budget(
    table: PointTable,
    answers: Mapping[str, str],
    fields: Mapping[str, object],
    b: Budget,
    scale: Decimal = ONE,
) -> tuple[Step, ...]:
    """The audit trail of a computed budget: one step per line of SPEC §3.1."""
    steps: list[Step] = []
    add = steps.append
    for d in table.domains:
        for q in d.questions:
            add(answer_step(table, q.id, answers.get(q.id)))
        raw = sum((b.question_points[q.id] for q in d.questions), ZERO)
        add(domain_step(table, d.id, b.domain_points[d.id], b.domain_capped[d.id], raw))
    steps.extend(money_steps(table, fields, b, scale))
    return tuple(steps)


def money_steps(
    table: PointTable, fields: Mapping[str, object], b: Budget, scale: Decimal = ONE
) -> list[Step]:
    """The steps after the domains, from total points to funding.

    They are the same for everyone with the same money figures and ``rates_by`` value.
    """
    prep = prepared(table)
    steps: list[Step] = []
    add = steps.append
    add(Step("Total points", "all domains", b.total_points, None, ""))
    _, _, how = convert(table, b.total_points, fields, scale)
    add(Step("Conversion", table.allocation.method, b.total_points, b.base, how))
    running = b.base
    for adj in b.adjustments:
        after = running + adj.effect
        add(
            Step(
                "Adjustment",
                adj.id,
                None,
                adj.effect,
                f"{decimal_text(adj.value)}% applied: {gbp(running)} -> {gbp(after)}",
            )
        )
        running = after
    for tu in b.top_ups:
        add(Step("Top-up", tu.id, None, tu.effect, change(tu.effect)))
    if "floor" in b.flags:
        limit_note = f"raised to the floor of {gbp(b.floor)}"
    elif b.flags and b.flags[0].startswith("ceiling"):
        limit_note = (
            f"reduced to the ceiling of {gbp(b.ceiling or ZERO)}: refer to the funding panel"
        )
    else:
        top = f" to {gbp(b.ceiling)}" if b.ceiling is not None else " (no ceiling)"
        limit_note = f"within the limits {gbp(b.floor)}{top}"
    add(Step("Limits", "floor and ceiling", None, b.clamped, limit_note))
    add(
        Step(
            "Rounding",
            f"nearest £{decimal_text(table.rounding)}",
            None,
            b.annual,
            f"{gbp(b.clamped)} rounded half-up: indicative annual budget",
        )
    )
    add(
        Step(
            "Weekly",
            "annual / weeks per year",
            None,
            b.weekly,
            f"{gbp(b.annual)} / {decimal_text(table.weeks_per_year)}",
        )
    )
    add(Step("Range", "low", None, b.range_low, f"-{prep.pct}%"))
    add(Step("Range", "high", None, b.range_high, f"+{prep.pct}%"))
    for s, amount in b.funding.items():
        add(Step("Funding", s, b.stream_points[s], amount, "share by points"))
    return steps


class Explanations:
    """The audit trail of each person of a run, made when a writer asks for it.

    Budgets are scored without their steps (to keep a large run small in memory); the
    steps are made again here, person by person, exactly as :func:`explain_budget`.
    """

    def __init__(self, table: PointTable) -> None:
        self.table = table
        # A batch's money groups' steps, made once: batches of a table share budgets.
        self._money: dict[int, tuple[Budget, list[Step]]] = {}
        self._money_of: list[Budget] | None = None  # the budgets they were made for

    def steps(self, scored: Scored) -> tuple[Step, ...]:
        """One person's Explanations rows."""
        if scored.budget.steps:
            return scored.budget.steps
        a = scored.assessment
        return explain_budget(self.table, a.answers, a.fields, scored.budget)

    def count(self, scored: Scored) -> int:
        """How many rows :meth:`steps` gives, without making them."""
        b = scored.budget
        if b.steps:
            return len(b.steps)
        return (
            len(b.question_points)
            + len(self.table.domains)
            + 2  # total points, conversion
            + len(b.adjustments)
            + len(b.top_ups)
            + 5  # limits, rounding, weekly, range low and high
            + len(b.funding)
        )

    def is_shared(self, step: Step) -> bool:
        """Whether a step is one object shared by every person it fits."""
        return prepared(self.table).is_shared(step)

    def batch_steps(self, batch: ScoredBatch) -> BatchSteps:
        """The steps of a batch's people, each made once (see :class:`BatchSteps`)."""
        t = self.table
        answers = {
            q.id: [answer_step(t, q.id, a) for a in [*batch.labels[q.id], None]]
            for _, q in t.questions()
        }
        domains = {
            d.id: [domain_step(t, d.id, c.points, c.capped, c.raw) for c in batch.combos[d.id]]
            for d in t.domains
        }
        money = []
        if self._money_of is not batch.budgets:  # another table, or read again: start over
            self._money.clear()
            self._money_of = batch.budgets
        made = self._money
        for b, f in zip(batch.budgets, batch.group_fields, strict=True):
            hit = made.get(id(b))
            if hit is None or hit[0] is not b:  # (an id can be reused once its budget is gone)
                hit = made[id(b)] = (b, money_steps(t, f, b))
            money.append(hit[1])
        order = [(d.id, tuple(q.id for q in d.questions)) for d in t.domains]
        return BatchSteps(answers, domains, money, order)
