"""Bounds on what one `@query` may return: rows and bytes, checked as the rows arrive.

A configuration value is small. A query that returns millions of rows, or one value of hundreds of MB
(`zeroblob(900000000)`, `printf('%.*c', 900000000, 'x')`, an endless recursive WITH), would exhaust memory
before any deadline: the adapters read rows one batch at a time and stop at the first row past a limit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tusk_infra.tusk.providers import ProviderError

MAX_ROWS_VARIABLE = "TUSK_MAX_QUERY_ROWS"
MAX_BYTES_VARIABLE = "TUSK_MAX_QUERY_BYTES"
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def _positive_from_environment(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


def max_result_rows() -> int:
    """$TUSK_MAX_QUERY_ROWS when it is a positive integer, else 10,000."""
    return _positive_from_environment(MAX_ROWS_VARIABLE, DEFAULT_MAX_ROWS)


def max_result_bytes() -> int:
    """$TUSK_MAX_QUERY_BYTES when it is a positive integer, else 16 MiB."""
    return _positive_from_environment(MAX_BYTES_VARIABLE, DEFAULT_MAX_BYTES)


@dataclass
class ResultBudget:
    """Counts rows and bytes as they are read; the row past a limit is an error naming the limit."""

    max_rows: int = field(default_factory=max_result_rows)
    max_bytes: int = field(default_factory=max_result_bytes)
    rows: int = 0
    size: int = 0

    def take(self, batch: Iterable[Sequence[Any]]) -> None:
        """Account for rows just read; raise ProviderError once a limit is crossed."""
        for row in batch:
            self.rows += 1
            self.size += sum(value_size(value) for value in row)
            if self.rows > self.max_rows:
                raise ProviderError(
                    f"the result has more than {self.max_rows:,} rows, the limit for one query; add a LIMIT "
                    f"or an aggregate, or set {MAX_ROWS_VARIABLE} to raise it"
                )
            if self.size > self.max_bytes:
                raise ProviderError(
                    f"the result is larger than {self.max_bytes:,} bytes, the limit for one query; select "
                    f"less, or set {MAX_BYTES_VARIABLE} to raise it"
                )


def value_size(value: Any) -> int:
    """Roughly how many bytes a result value holds (text and blobs by length, containers by members)."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, list | tuple):
        return 8 + sum(value_size(item) for item in value)
    if isinstance(value, dict):
        return 8 + sum(len(str(key)) + value_size(item) for key, item in value.items())
    return 8
