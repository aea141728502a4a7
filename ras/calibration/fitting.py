"""Calibration (SPEC §10): fit a point table to current costs and to an affordable total.

Pure functions over scored people (points, person fields, answers, current cost); the
full §3.1 arithmetic comes from :func:`ras.scoring.budgets.compute_budget`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext
from statistics import median

from pydantic import ValidationError

from ras.errors import InputError
from ras.models.budget import Budget
from ras.models.calibration import Affordability, Fit, Person, SampleRow
from ras.models.table import PointTable, norm
from ras.money import floor_step, pounds, round_half_up
from ras.scoring.budgets import compute_budget, convert

ZERO = Decimal(0)
ONE = Decimal(1)
#: A rates_by group needs this many people in the sample to get a rate of its own.
MIN_GROUP = 10
#: Fewer people than this in the sample and R² is reported with a warning.
MIN_SAMPLE = 30


def fit_through_origin(xs: Sequence[Decimal], ys: Sequence[Decimal]) -> Decimal | None:
    """The slope b minimising Σ (y - b x)²: Σ x y / Σ x²; None when Σ x² = 0."""
    sxx = sum((x * x for x in xs), ZERO)
    if sxx == 0:
        return None
    return sum((x * y for x, y in zip(xs, ys, strict=True)), ZERO) / sxx


def group_of(table: PointTable, fields: Mapping[str, object]) -> str:
    """The person's rates_by value ('' when the table has none)."""
    by = table.allocation.rates_by
    return "" if by is None else str(fields.get(by) or "")


def fit_table(
    table: PointTable,
    people: Sequence[Person],  # noqa: C901
    tolerance: Decimal = Decimal("0.5"),
) -> Fit:
    """Fit the table to the current costs of the people who have one (> 0)."""
    alloc = table.allocation
    fit = Fit(method=alloc.method, tolerance=tolerance)
    sample: list[tuple[Person, Decimal, Decimal, Budget]] = []
    for p in people:
        if p.cost is None or p.cost <= 0:
            continue
        b = compute_budget(table, p.answers, p.fields, explain=False)
        base, _, _ = convert(table, b.total_points, p.fields, how=False)
        sample.append((p, b.total_points, base, b))
    if not sample:
        return fit
    costs = [p.cost for p, *_ in sample if p.cost is not None]
    if alloc.method == "rate":
        groups: dict[str, list[tuple[Decimal, Decimal]]] = {}
        names: dict[str, str] = {}
        for p, pts, _, _ in sample:
            assert p.cost is not None
            g = group_of(table, p.fields)
            groups.setdefault(norm(g), []).append((pts, p.cost))
            names.setdefault(norm(g), g)
        own = {
            k
            for k, rows in groups.items()
            if alloc.rates_by is not None and k and len(rows) >= MIN_GROUP
        }
        for k in sorted(own):
            slope = fit_through_origin([r[0] for r in groups[k]], [r[1] for r in groups[k]])
            if slope is not None:
                label = next((key for key in alloc.rates if norm(key) == k), names[k])
                fit.group_rates[label] = slope
        rest = [r for k, rows in groups.items() if k not in own for r in rows]
        if not rest:  # every group has its own rate: `rate` is fitted on everyone
            rest = [r for rows in groups.values() for r in rows]
        fit.rate = fit_through_origin([r[0] for r in rest], [r[1] for r in rest])
        if fit.rate is not None and alloc.rate:
            fit.factor = fit.rate / alloc.rate
        for key, table_rate in alloc.rates.items():
            if key not in fit.group_rates and fit.factor is not None:
                fit.scaled_rates[key] = table_rate * fit.factor
        if alloc.rates_by is not None:
            for k in sorted(groups):
                if k and k not in own:
                    fit.warnings.append(
                        f"{names[k]}: {len(groups[k])} "
                        f"{'person' if len(groups[k]) == 1 else 'people'} in the sample, under "
                        f"{MIN_GROUP}; its rate is not fitted on its own (the table's, "
                        "scaled with the overall fit)"
                    )
    else:
        fit.factor = fit_through_origin([base for _, _, base, _ in sample], costs)
    rows_out: list[SampleRow] = []
    cal = calibrated_table(table, fit, check=False)  # only for the fitted figures
    for p, pts, base, b in sample:
        assert p.cost is not None
        if alloc.method == "rate":
            fitted, _, _ = convert(cal, pts, p.fields, how=False)
        else:
            fitted = base * (fit.factor or ZERO)
        rows_out.append(
            SampleRow(
                p.person_id,
                group_of(table, p.fields),
                pts,
                base,
                p.cost,
                fitted,
                b.annual,
                b.range_low,
                b.range_high,
            )
        )
    fit.sample = rows_out
    if len(rows_out) < MIN_SAMPLE:
        fit.warnings.append(
            f"the fit rests on {len(rows_out)} people, fewer than {MIN_SAMPLE}: R² and the "
            "errors say little yet; treat the fitted rates as a first look"
        )
    mean = sum(costs, ZERO) / len(costs)
    ss_tot = sum(((c - mean) ** 2 for c in costs), ZERO)
    ss_res = sum((r.residual**2 for r in rows_out), ZERO)
    fit.r_squared = float(1 - ss_res / ss_tot) if ss_tot else None
    apes = [float(r.pct_error) for r in rows_out]
    fit.mape = sum(apes) / len(apes)
    fit.median_ape = float(median(apes))
    fit.inside_range = sum(1 for r in rows_out if r.range_low <= r.cost <= r.range_high) / len(
        rows_out
    )
    return fit


def calibrated_table(
    table: PointTable,
    fit: Fit,
    scale: Decimal = ONE,
    step: Decimal | None = None,
    version: str | None = None,
    down: bool = False,
    check: bool = True,
) -> PointTable:
    """The table with the fitted rate(s) or amounts, times ``scale``; all else identical.

    ``step`` rounds the written figures to a publishable step (£0.01, £0.05, £1);
    ``down`` rounds down, so that an affordable table stays affordable. ``check``
    validates the result as a table that can be written and read again.

    Raises:
        InputError: the fitted figures do not make a table ras can use (costs beyond
            belief fitted to few points, with no ceiling).
    """

    def q(value: Decimal) -> Decimal:
        value = value * scale
        if step is None:
            return value
        if down:
            return floor_step(value, step)
        return round_half_up(value, step)

    alloc = table.allocation
    update: dict[str, object] = {}
    if alloc.method == "rate" and fit.rate is not None:
        rates = {k: q(v) for k, v in alloc.rates.items()}
        rates.update({k: q(v) for k, v in fit.scaled_rates.items()})
        rates.update({k: q(v) for k, v in fit.group_rates.items()})
        update["allocation"] = alloc.model_copy(update={"rate": q(fit.rate), "rates": rates})
    elif alloc.method == "bands" and fit.factor is not None:
        bands = tuple(
            b.model_copy(update={"amount": q(b.amount * fit.factor)}) for b in alloc.bands
        )
        update["allocation"] = alloc.model_copy(update={"bands": bands})
    elif alloc.method == "curve" and fit.factor is not None:
        curve = tuple((x, q(y * fit.factor)) for x, y in alloc.curve)
        update["allocation"] = alloc.model_copy(update={"curve": curve})
    elif scale != ONE:  # no fit: scale the table as it is
        return calibrated_table(
            table,
            Fit(alloc.method, rate=alloc.rate, factor=ONE, group_rates=dict(alloc.rates)),
            scale,
            step,
            version,
            down,
            check,
        )
    if version is not None:
        update["version"] = version
    new = table.model_copy(update=update)
    if not check:
        return new
    try:
        return type(table).model_validate(new.model_dump())  # re-validate
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise InputError(
            f"the calibrated table would not be a table ras can use: {problems} (the costs "
            "in the sample call for these figures: check them too)"
        ) from exc


def total_budgets(table: PointTable, people: Sequence[Person], scale: Decimal) -> Decimal:
    """Σ of every person's full budget (§3.1 steps 4-8) with amounts times ``scale``."""
    return sum(
        (
            compute_budget(table, p.answers, p.fields, scale=scale, explain=False).annual
            for p in people
        ),
        ZERO,
    )


def affordability(
    table: PointTable,
    people: Sequence[Person],
    budget: Decimal,  # noqa: C901
    contingency: Decimal,
    fit: Fit | None = None,
) -> Affordability:
    """Bisect the scale on the (calibrated) table so the total meets budget x (1 - c).

    The total never falls as the scale rises, so bisection finds the boundary; rounding,
    floors, ceilings and top-ups can make the target impossible to hit exactly, in which
    case the nearest totals on each side are given.
    """
    base = calibrated_table(table, fit) if fit is not None else table
    target = budget * (ONE - contingency)
    alloc = base.allocation

    def as_rate(scale: Decimal) -> tuple[Decimal | None, Decimal | None]:
        if alloc.method == "rate":
            return (alloc.rate or ZERO) * scale, (
                (fit.factor if fit and fit.factor else ONE) * scale
            )
        return None, ((fit.factor if fit and fit.factor else ONE) * scale)

    lo, hi = ZERO, ONE
    t_lo = total_budgets(base, people, lo)
    if t_lo > target:
        rate, factor = as_rate(lo)
        return Affordability(
            budget,
            contingency,
            target,
            lo,
            t_lo,
            False,
            None,
            (lo, t_lo),
            f"cannot be met: even at a rate of 0 the floors and top-ups "
            f"total {pounds(t_lo)}, above the affordable {pounds(target)}",
            rate,
            factor,
        )
    t_hi = total_budgets(base, people, hi)
    while t_hi < target:
        if hi > 10**6:
            rate, factor = as_rate(hi)
            return Affordability(
                budget,
                contingency,
                target,
                hi,
                t_hi,
                False,
                (hi, t_hi),
                None,
                f"cannot be met: ceilings hold the total at {pounds(t_hi)}, "
                f"below the affordable {pounds(target)}",
                rate,
                factor,
            )
        lo, t_lo = hi, t_hi
        hi *= 2
        t_hi = total_budgets(base, people, hi)
    with localcontext() as ctx:
        ctx.prec = 40
        for _ in range(200):
            if t_hi == target or hi - lo <= Decimal("1e-15") * max(hi, ONE):
                break
            mid = (lo + hi) / 2
            t_mid = total_budgets(base, people, mid)
            if t_mid >= target:
                hi, t_hi = mid, t_mid
            else:
                lo, t_lo = mid, t_mid
    if t_hi == target:
        rate, factor = as_rate(hi)
        return Affordability(
            budget,
            contingency,
            target,
            hi,
            t_hi,
            True,
            (lo, t_lo),
            (hi, t_hi),
            f"met exactly: the budgets total {pounds(t_hi)}",
            rate,
            factor,
        )
    rate, factor = as_rate(lo)
    return Affordability(
        budget,
        contingency,
        target,
        lo,
        t_lo,
        False,
        (lo, t_lo),
        (hi, t_hi),
        f"cannot be hit exactly (budgets are rounded and clamped by floors and ceilings): "
        f"the nearest totals are {pounds(t_lo)} below and {pounds(t_hi)} above the affordable "
        f"{pounds(target)}; the rate given is the highest that stays within it",
        rate,
        factor,
    )


def new_version(version: str, today: dt.date | None = None) -> str:
    """The version string of a calibrated table."""
    today = today or dt.date.today()
    return f"{version}-calibrated-{today:%Y%m%d}"
