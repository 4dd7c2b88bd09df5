"""Durations for `@cache(ttl, ...)`: "30s", "5m", "1h", "1d", or a whole number of seconds."""

from __future__ import annotations

import re
from typing import Any

from tusk_infra.tusk.valuetypes import ValueProblem, describe, is_number

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*\Z")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_seconds(value: Any) -> float:
    """Seconds in a duration value; a ValueProblem for anything that is not a positive duration."""
    if is_number(value):
        if value > 0:
            return float(value)
        raise ValueProblem(f"a duration must be positive, found {describe(value)}")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            seconds = float(match.group(1)) * _SECONDS[match.group(2)]
            if seconds > 0:
                return seconds
    raise ValueProblem(
        f"invalid duration: found {describe(value)}; expected a number with a unit like "
        '"30s", "5m", "1h", "1d" or a positive number of seconds'
    )
