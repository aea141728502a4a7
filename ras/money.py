"""Money: the one place ras rounds (SPEC §3.1: half-up, away from zero on a half).

Every figure is an exact decimal until it is shown or stored; then it is rounded here
and nowhere else, so the same amount can never come out as two different pence.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

ONE = Decimal(1)
PENNY = Decimal("0.01")


def round_half_up(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of ``step``, halves away from zero."""
    return (value / step).quantize(ONE, rounding=ROUND_HALF_UP) * step


def pence(value: Decimal) -> Decimal:
    """Round half-up to the penny."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def round_places(value: Decimal, places: int) -> Decimal:
    """Round half-up to ``places`` decimal places."""
    return value.quantize(ONE.scaleb(-places), rounding=ROUND_HALF_UP)


def floor_places(value: Decimal, places: int) -> Decimal:
    """Round down to ``places`` decimal places (an affordable figure stays affordable)."""
    return value.quantize(ONE.scaleb(-places), rounding=ROUND_FLOOR)


def floor_step(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of ``step`` (an affordable figure stays affordable)."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def whole(value: Decimal) -> Decimal:
    """Round half-up to a whole number of pounds."""
    return value.quantize(ONE, rounding=ROUND_HALF_UP)


def pounds(value: Decimal | float, places: int = 2) -> str:
    """Money in a printed line: ``£1,234.50``, and ``-£1,234.50`` below zero (not ``£-1,234.50``).

    A decimal is rounded half-up here (format strings round half to even); one that
    shows as zero has no sign.
    """
    if isinstance(value, Decimal):
        value = round_places(value, places)
    text = f"{abs(value):,.{places}f}"
    sign = "-" if value < 0 and text.strip("0.,") else ""
    return f"{sign}£{text}"


def change(value: Decimal) -> str:
    """A change of money in notes: ``+£500``, ``-£1,234.50`` (``gbp``'s pounds and pence)."""
    text = gbp(value)
    return text if text.startswith("-") else f"+{text}"


def change_in_whole_pounds(value: Decimal) -> str:
    """A change of money in whole pounds: ``+£3``, ``−£1,235``.

    Rounded half-up, with a true minus sign as the workbooks' other changes have.
    """
    rounded = whole(value)
    return ("−" if rounded < 0 else "+") + f"£{abs(rounded):,}"


def gbp(value: Decimal) -> str:
    """Format money for notes: ``£1,234.50``, or ``£1,234`` for whole pounds.

    Below zero it reads ``-£1,234``, as ``pounds`` prints it.
    """
    value = pence(value)
    return pounds(value, 0 if value == value.to_integral_value() else 2)
