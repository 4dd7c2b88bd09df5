"""Kubernetes resource quantities ("250m", "0.5", "256Mi", "1G"), parsed exactly as numbers."""

from __future__ import annotations

import math
import re
from decimal import Decimal

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}

_QUANTITY = re.compile(r"^\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?P<suffix>[a-zA-Z]*)\s*$")


def parse_quantity(value: object) -> Decimal | None:
    """The quantity's value in base units (cores, bytes); None when it is not a valid quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value)) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value)
    if match is None or match["suffix"] not in _SUFFIXES:
        return None
    try:
        quantity = Decimal(match["number"]) * _SUFFIXES[match["suffix"]]
    except ArithmeticError:  # decimal's Overflow and InvalidOperation, e.g. "1e999999999Ki"
        return None
    return quantity if quantity.is_finite() else None
