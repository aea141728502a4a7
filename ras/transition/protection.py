"""The §13 arithmetic: bands of change, protected budgets year by year, affordability.

Pure functions on exact decimals; every budget is rounded half-up to the table's
rounding step, and each year's protection starts from the rounded year before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from ras.models.transition import BANDS, Policy
from ras.money import round_half_up

ZERO, ONE = Decimal(0), Decimal(1)
TENTH, FIFTH = Decimal("0.10"), Decimal("0.20")


def band_of(old: Decimal, new: Decimal) -> str:
    """The band of change of a matched person (SPEC §13; edges exactly as written there)."""
    if old == 0:
        return BANDS[0]
    change = (new - old) / old
    if change <= -FIFTH:
        return BANDS[1]
    if change <= -TENTH:
        return BANDS[2]
    if change < 0:
        return BANDS[3]
    if change == 0:
        return BANDS[4]
    if change < TENTH:
        return BANDS[5]
    if change < FIFTH:
        return BANDS[6]
    return BANDS[7]


def protected_years(
    old: Decimal, new: Decimal, policy: Policy, rounding: Decimal, need_fell: bool
) -> tuple[tuple[Decimal, ...], str]:
    """b_1 .. b_years for one person, and whether (or why not) they are protected."""
    years = range(1, policy.years + 1)
    if old == 0:
        return tuple(new for _ in years), "new budget"
    if new == old:
        return tuple(new for _ in years), "unchanged"
    if new > old:
        n_years = policy.rises.phase_in_years
        out = tuple(
            round_half_up(old + (new - old) * min(ONE, Decimal(y) / n_years), rounding)
            for y in years
        )
        return out, "rise at once" if n_years == 1 else f"rise phased over {n_years} years"
    cuts = policy.cuts
    if cuts is None:
        return tuple(new for _ in years), "not protected (the policy has no protection)"
    if need_fell and not policy.protect_when_need_fell:
        return tuple(new for _ in years), "not protected (need fell)"
    out_list: list[Decimal] = []
    previous = old
    for y in years:
        if cuts.max_percent_per_year is not None:
            value = max(new, previous * (1 - cuts.max_percent_per_year / 100))
        else:
            assert cuts.phase_in_years is not None
            value = old + (new - old) * min(ONE, Decimal(y) / cuts.phase_in_years)
        previous = round_half_up(value, rounding)
        out_list.append(previous)
    out = tuple(out_list)
    return out, "protected" if out[0] != new else "not protected (not needed)"


def largest_affordable(
    total: Callable[[Decimal], Decimal], target: Decimal, steps: int = 60
) -> tuple[Decimal, Decimal]:
    """The largest scale s in [0, 2^20] with total(s) <= target, by bisection.

    ``total`` never falls as the scale rises (§13: Σ b_1 is monotone). Returns the scale
    and its total; a target below total(0) gives scale 0 (and its total, above target).
    """
    lo, hi = ZERO, ONE
    t_lo = total(lo)
    if t_lo > target:
        return lo, t_lo
    while total(hi) <= target and hi < 2**20:
        lo, hi = hi, hi * 2
    for _ in range(steps):
        mid = (lo + hi) / 2
        if total(mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo, total(lo)


def year_one_total(
    pairs: Sequence[tuple[Decimal, Decimal, bool]], policy: Policy, rounding: Decimal
) -> Decimal:
    """Σ b_1 over (old, new, need fell) for everyone in NEW (old 0 for people only in NEW)."""
    return sum(
        (protected_years(old, new, policy, rounding, fell)[0][0] for old, new, fell in pairs),
        ZERO,
    )
