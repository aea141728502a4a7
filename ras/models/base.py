"""Shared base for ras's frozen, strict configuration models."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, PlainSerializer


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
