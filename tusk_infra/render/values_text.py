"""How one plan value reads in a terminal or a Markdown code span."""

from __future__ import annotations

import json
from typing import Any

from tusk_infra.render.plain import UNKNOWN_MARK
from tusk_infra.tusk.values import SECRET_MASK

MARKS = (SECRET_MASK, UNKNOWN_MARK)


def format_value(value: Any) -> str:
    """Scalars as JSON (so "8" and 8 differ), the secret and unknown marks bare, containers compact."""
    if isinstance(value, str) and (value in MARKS or _read_from_stack(value)):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def _read_from_stack(value: str) -> bool:
    # The diff's "(known after deploy from STACK)": an unknown value that another stack's output provides.
    return value.startswith(f"{UNKNOWN_MARK[:-1]} from ") and value.endswith(")")
