"""Shared base for ras's frozen, strict configuration models."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainSerializer

from ras.choices import label_list, match_choice
from ras.errors import quote
from ras.number_text import COMMA_HINT, number_text


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros (``250``, ``52.143``)."""
    if value == value.to_integral_value():
        return str(int(value))
    text = format(value.normalize(), "f")
    return text


#: A decimal that serialises to its canonical text (used in fingerprints and JSON).
Dec = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]


class Frozen(BaseModel):
    """A frozen model that rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: The most money any one figure ras reads may be: £100 billion. No cost, budget or
#: contract in health and social care comes near it; a figure above it is a slip (a
#: pasted ``1E+300``), and in the optimiser it broke the solver's arithmetic: the plan
#: came back "infeasible" instead of the cell being named.
MONEY_LIMIT = Decimal(10) ** 11
MONEY_LIMIT_TEXT = "£100,000,000,000"


#: The largest count, year or weight a register or scenario may hold (units, months,
#: moves a year, priorities): far above any real one, and far below what breaks the
#: solver's arithmetic (docs: Limits).
COUNT_LIMIT = 1_000_000


#: The most years a plan may run (``horizon``); an Earliest move year above it is a slip,
#: most often a calendar year (``2027``) typed for a plan year.
HORIZON_LIMIT = 50


#: Weeks in a year, for weekly figures: above 0 and at most 53 (52.143 is usual).
WEEKS_LIMIT = Decimal(53)
WEEKS_PROBLEM = "must be above 0 and at most 53 (a year has about 52.143 weeks)"


def _weeks_in_a_year(value: Decimal) -> Decimal:
    if not 0 < value <= WEEKS_LIMIT:
        raise ValueError(WEEKS_PROBLEM)
    return value


#: Weeks in a year (a table's or a scenario's ``weeks_per_year``): above 0, at most 53.
Weeks = Annotated[Dec, AfterValidator(_weeks_in_a_year)]


def short_number(value: Decimal) -> str:
    """A number as a message shows it: in full, or ``1E+300`` when it is very long."""
    text = decimal_text(value)
    return text if len(text) <= 20 else f"{value:.6G}"


def too_much_money(value: Decimal) -> bool:
    """Whether an amount is more money than ras reads (above :data:`MONEY_LIMIT`)."""
    return abs(value) > MONEY_LIMIT


def _number_text(typed: str, shown: str = "") -> Decimal:
    """A number typed as text (``£2,000``, ``-15``).

    Raises:
        ValueError: not a number, quoting ``shown`` (all that was typed: ``3,5%``) or it.
    """
    said = quote((shown or typed).strip())
    text = number_text(typed)
    if text is None:
        raise ValueError(f"{said} is not a number: {COMMA_HINT}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{said} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{said} is not a number")
    return number


def parse_rate(value: Any) -> Any:
    """A rate as people type it: ``0.03``, ``3%`` or ``3 %`` are all 0.03 (SPEC §15).

    A bare number of 1 or more is an error: ``3`` would be 300 %, so it must be written
    ``3%`` (or ``0.03``). Values that are neither text nor numbers pass through for the
    model to reject.
    """
    if isinstance(value, bool):
        raise ValueError("a rate is a number such as 0.03 or 3%, not yes/no")
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            return _number_text(text[:-1], text) / 100
        value = _number_text(text)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if abs(number) >= 1:
            raise ValueError(
                f"{short_number(number)} as a rate is {short_number(number * 100)} %; "
                f"write {short_number(number)}% or a fraction such as "
                f"{short_number(number / 100)}"
            )
        return number
    return value


def parse_share(value: Any) -> Any:
    """A share of a whole: a rate (``80%``, ``0.8``), where ``1`` is all of it (100 %)."""
    if not isinstance(value, bool) and isinstance(value, int | float | Decimal | str):
        text = str(value).strip()
        if not text.endswith("%"):
            try:
                if Decimal(text) == 1:
                    return Decimal(1)
            except ArithmeticError:
                pass
    return parse_rate(value)


#: ``1.2m``, ``£250k``, ``2bn``: shorthand a finance lead writes, which ras does not guess at.
_SHORTHAND = re.compile(r"([0-9]*\.?[0-9]+)(k|m|mn|bn|thousand|million|billion)", re.IGNORECASE)
_SCALE = {"k": 3, "thousand": 3, "m": 6, "mn": 6, "million": 6, "bn": 9, "billion": 9}


def parse_money(value: Any) -> Any:
    """Pounds as people type them: ``£2,000``, ``2000`` and ``2,000.50`` (SPEC §15).

    ``£1.2m`` is refused with the whole amount to write instead (``£1,200,000``).
    """
    if isinstance(value, bool):
        raise ValueError("an amount of money is a number such as 2000 or £2,000, not yes/no")
    if isinstance(value, str):
        short = _SHORTHAND.fullmatch(number_text(value) or "")  # (as typed: £, spaces, commas)
        if short is not None:
            whole = Decimal(short.group(1)).scaleb(_SCALE[short.group(2).lower()])
            raise ValueError(
                f"{quote(value.strip())} is not a number; write the whole amount, "
                f"such as £{whole:,f}"
            )
        value = _number_text(value)
    if isinstance(value, int | float | Decimal):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if number.is_finite() and too_much_money(number):
            raise ValueError(
                f"{short_number(number)} is more than {MONEY_LIMIT_TEXT}; check the figure"
            )
    return value


def strip_percent(value: Any) -> Any:
    """A number of percent as people type it: ``-15``, ``-15%`` and ``-15 %`` are all -15."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return value.strip()[:-1].strip()
    return value


def whole_percent(value: Any) -> Any:
    """:func:`strip_percent`, refusing a bare number between 0 and 1.

    ``0.1`` is more likely ten percent written as a rate is (SPEC §15) than 0.1 %, so it
    must be written ``10`` or, if meant, ``0.1%``.
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        return strip_percent(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except (InvalidOperation, ValueError, TypeError):
        return value  # the model says it is not a number
    if number.is_finite() and 0 < abs(number) < 1:
        shown, times = decimal_text(number), decimal_text(number * 100)
        raise ValueError(
            f"{shown} is {shown} %: this key is in percent, so write {times} for {times} %, "
            f"or {shown}% if {shown} % is meant"
        )
    return value


#: A number of percent (``-15`` or ``-15%``), not a rate.
Percent = Annotated[Dec, BeforeValidator(strip_percent)]
#: A number of percent where a bare number between 0 and 1 is refused as a likely rate.
WholePercent = Annotated[Dec, BeforeValidator(whole_percent)]

#: A fraction that may be typed as a percentage (``3%``); canonical text like :data:`Dec`.
Rate = Annotated[Dec, BeforeValidator(parse_rate)]
#: Pounds that may be typed with ``£`` and thousands separators; canonical like :data:`Dec`.
Money = Annotated[Dec, BeforeValidator(parse_money)]
#: A share of a whole, 0 to 1 (``100%`` or ``1`` is all of it).
Share = Annotated[Dec, BeforeValidator(parse_share)]

_FINANCIAL_YEAR = re.compile(r"\s*(\d{4})\s*[/\-\u2013]\s*(\d{2}|\d{4})\s*")


def parse_financial_year(value: Any) -> Any:
    """A year as people type a financial one (SPEC §15).

    ``2026/27``, ``2026-27`` and ``2026/2027`` are 2026; other text that is not a
    number is not a year. Anything else passes through for the model to judge.
    """
    if isinstance(value, str):
        hit = _FINANCIAL_YEAR.fullmatch(value)
        if hit:
            start, end = int(hit[1]), int(hit[2])
            if end in (start + 1, (start + 1) % 100):
                return start
            raise ValueError(
                f"{quote(value)} is not a financial year: the second year follows the first "
                f"(write {start}/{(start + 1) % 100:02d}, or {start})"
            )
        if not value.strip().isdigit():
            raise ValueError(f"{quote(value)} is not a year; write one such as 2026 (or 2026/27)")
    return value


#: A year, typed as a year (``2026``) or a financial year (``2026/27``).
Year = Annotated[int, BeforeValidator(parse_financial_year)]


def choice_of(labels: Mapping[str, str]) -> BeforeValidator:
    """A validator turning a typed label or id (any case, any spacing) into the id."""

    def pick(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        hit = match_choice(value, labels)
        if hit is None:
            raise ValueError(
                f"{quote(value)} is not one of {label_list(labels)} (ids: {', '.join(labels)})"
            )
        return hit

    pick.labels = dict(labels)  # type: ignore[attr-defined]  # read by value_kind
    return BeforeValidator(pick)


def value_kind(annotation: Any, metadata: Sequence[Any] = ()) -> tuple[str, dict[str, str]]:
    """What a model field holds, as forms and docs show it, and its choices (id -> label).

    The kind is ``rate``, ``money``, ``number``, ``integer``, ``text`` or ``choice``;
    a list of them is ``list of <kind>``; a number or a list is ``<kind> or list``.
    """
    found: list[tuple[str, dict[str, str]]] = []

    def walk(t: Any, meta: Sequence[Any]) -> None:
        for m in meta:
            func = getattr(m, "func", None)
            if func is parse_rate or func is parse_share:
                found.append(("rate", {}))
                return
            if func is parse_money:
                found.append(("money", {}))
                return
            labels = getattr(func, "labels", None)
            if labels is not None:
                found.append(("choice", dict(labels)))
                return
        origin = get_origin(t)
        if origin is Annotated:
            base, *extra = get_args(t)
            walk(base, [*extra, *meta])
        elif origin is tuple:
            before = len(found)
            walk(get_args(t)[0], ())
            if len(found) > before:
                kind, labels = found.pop()
                found.append((f"list of {kind}", labels))
        elif origin in (Union, UnionType):
            for arg in get_args(t):
                if arg is not type(None):
                    walk(arg, ())
        elif origin is Literal:
            found.append(("choice", {str(a): str(a) for a in get_args(t)}))
        elif t is int:
            found.append(("integer", {}))
        elif t is Decimal:
            found.append(("number", {}))
        elif t is str:
            found.append(("text", {}))

    walk(annotation, metadata)
    if not found:
        return "value", {}
    if len(found) == 2 and found[1][0] == f"list of {found[0][0]}":
        return f"{found[0][0]} or list", found[0][1]
    return found[0]
