"""Cell values (as python-calamine or csv give them) as text and money; A1 cell names."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ras.number_text import number_text

#: How to fix an ID a spreadsheet took for a date (see :func:`id_date_problem`).
ID_DATE_FIX = "format the column (or cell) as Text, type the ID again and save"


def id_date_problem(what: str, value: Any) -> str | None:
    """The problem with an ID cell holding a date or time, or None if it does not.

    Excel and LibreOffice turn IDs such as ``1-12`` or ``MAR1`` typed into a General cell
    into dates: the ID is then read as the date (``2026-12-01``), and matches no one.
    """
    if not isinstance(value, (dt.date, dt.time)):
        return None
    return id_taken_for_a_date(what, to_text(value))


def id_taken_for_a_date(what: str, text: str) -> str:
    """The problem with an ID read as the date or time ``text`` (its ISO form)."""
    return (
        f"{what} is a date or time ({text}): a spreadsheet turns an ID such as 1-12 into "
        "one, and it then matches no one else's"
    )


def is_blank(value: Any) -> bool:
    """Whether a cell is empty (None, '' or only spaces)."""
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def to_text(value: Any) -> str:
    """Text of a cell as a person would read it: ``3.0`` -> ``3``, dates as ISO."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).strip()


def to_decimal(value: Any) -> Decimal | None:
    """A number from a cell: numbers as they are, text like ``£12,000.50`` parsed.

    Returns None when the value is not a number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        text = number_text(value)
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def col_letters(index: int) -> str:
    """Column letters for a 0-based column index (0 -> A)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """0-based column index of column letters (A -> 0)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def ref_position(ref: str) -> tuple[int, int]:
    """The 1-based row and 0-based column of an A1 reference (``B7`` -> (7, 1))."""
    letters = ref.rstrip("0123456789")
    return int(ref[len(letters) :]), col_index(letters)


def cell_ref(row: int, col: int) -> str:
    """A1-style reference for 0-based row and column."""
    return f"{col_letters(col)}{row + 1}"


#: What a heading may carry beside its words: a unit in brackets, a pound sign.
_UNIT = re.compile(r"\([^)]*\)|£")


def heading_key(text: str) -> str:
    """A heading as it is matched when typed by hand.

    ``Weekly cost (£)``, ``weekly cost`` and ``Weekly-cost £`` are one column, and
    ``person_id`` is ``Person ID``: case, spaces, punctuation and the unit aside.
    """
    return "".join(ch for ch in _UNIT.sub(" ", text.casefold()) if ch.isalnum())


def id_key(person_id: str) -> str:
    """A Person ID as a slip would leave it: no spaces, case or leading zeros.

    Two IDs with one key but not equal are most often one person, one of whose IDs
    Excel turned from ``00123`` into the number 123, or that was typed with spaces
    (``943 476 5919``) or pasted with an invisible character (a zero-width space).
    """
    kept = "".join(ch for ch in person_id if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return kept.casefold().lstrip("0") or "0"


def nearly_matching(lonely: Iterable[str], others: Iterable[str]) -> dict[str, str]:
    """Each ID of ``lonely`` that one of ``others`` matches by :func:`id_key`: that other."""
    by_key: dict[str, str] = {}
    for other in others:
        by_key.setdefault(id_key(other), other)
    return {pid: by_key[id_key(pid)] for pid in lonely if id_key(pid) in by_key}


#: What to do about two Person IDs that differ only as :func:`id_key` forgives.
ID_SLIP_FIX = (
    "if they are one person, make the IDs the same; Excel drops the leading zeros of an "
    "ID typed as a number, so format the column as Text"
)
