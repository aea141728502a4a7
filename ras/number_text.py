"""Numbers typed as text, read without guessing: ``£12,000.50`` is 12000.50."""

from __future__ import annotations

import datetime as dt
import re

#: What a typed number may hold that is not part of it: the pound sign and spaces
#: (also the no-break and thin spaces of numbers copied from web pages and documents).
_DROPPED = str.maketrans("", "", " \u00a0\u202f\u2009£")
#: Commas that group thousands: ``1,200``, ``-12,000.50``.
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")

_DIGITS = re.compile(r"[+-]?[0-9.]+")

#: Why a number typed in a cell may read as a date, for messages.
DATE_HINT = "if you typed a number, the cell is formatted as a date: format it as a number"
#: Why text with commas elsewhere is not read, for messages.
COMMA_HINT = "a comma separates thousands (12,000.50); write a decimal point as a dot"


def number_text(text: str) -> str | None:
    """``text`` as ``Decimal`` reads it; None if its commas do not group thousands.

    ``1,20``, ``12,5`` and ``1.200,50`` (a decimal comma, as other countries write) are
    None: read with the commas dropped they would be 120, 125 and 1.2005.
    """
    t = text.strip().translate(_DROPPED)
    if "," in t:
        plain = t.replace(",", "")
        if _GROUPED.fullmatch(t) is None and _DIGITS.fullmatch(plain) is not None:
            return None
        t = plain  # (text that is no number with or without its commas fails later)
    return t


def number_fix(typed: object, fix: str) -> str:
    """``fix`` for a cell that is not a number, with why it was not read as one.

    That is its commas (a decimal comma), or a date format over a number typed.
    """
    if isinstance(typed, str) and number_text(typed) is None:
        return f"{fix}; {COMMA_HINT}"
    if isinstance(typed, dt.date | dt.time | dt.timedelta):
        return f"{fix}; {DATE_HINT}"
    return fix
