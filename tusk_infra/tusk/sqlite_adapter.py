"""`@query` on SQLite (`sqlite:///path/to.db`), from the standard library, opened read-only."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from tusk_infra.tusk.providers import ProviderError, QueryResult, register_adapter
from tusk_infra.tusk.result_limits import MAX_BYTES_VARIABLE, ResultBudget

# How long one query may run. SQLite has no statement_timeout: a progress handler checks the clock every
# _CHECK_EVERY virtual-machine instructions and interrupts a query past its deadline (a runaway recursive
# WITH would otherwise never return).
DEFAULT_TIMEOUT_SECONDS = 5.0
_CHECK_EVERY = 1000


class SqliteAdapter:
    """Runs checked SELECTs against one SQLite file; the connection cannot write (mode=ro).

    Failures are ProviderErrors carrying SQLite's message: it names tables and columns, and may quote a value.
    """

    def __init__(self, url: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self._timeout_seconds = timeout_seconds
        try:
            path = sqlite_path(url)
        except ValueError as problem:
            raise ProviderError(str(problem)) from None
        if not Path(path).is_file():
            raise ProviderError(f"no SQLite database at {path}")
        uri = f"file:{quote(path)}?mode=ro"
        try:
            self._connection = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            raise ProviderError(str(error)) from None

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult:
        """Rows and column names of one SELECT, with values bound as parameters, within the time limit."""
        deadline = time.monotonic() + self._timeout_seconds
        self._connection.set_progress_handler(lambda: time.monotonic() > deadline, _CHECK_EVERY)
        budget = ResultBudget()
        # SQLite itself refuses to build a string or blob past the byte limit (zeroblob, printf, repeat):
        # it never reaches our memory.
        self._connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, budget.max_bytes)
        try:
            cursor = self._connection.execute(sql, tuple(params))
            try:
                columns = tuple(column[0] for column in cursor.description or ())
                rows = tuple(_bounded_rows(cursor, budget))
            finally:
                cursor.close()
        except sqlite3.Error as error:
            if time.monotonic() > deadline:
                limit = round(self._timeout_seconds * 1000)
                raise ProviderError(
                    f"it ran longer than the time limit of {limit} ms and was interrupted"
                ) from None
            # SQLite's message names tables and columns, and some functions quote their argument
            # (json_extract's "bad JSON path"): it is shown unless a parameter is a secret.
            if "too big" in str(error):
                raise ProviderError(
                    f"a value in the result is larger than {budget.max_bytes:,} bytes, the limit for one "
                    f"query; select less, or set {MAX_BYTES_VARIABLE} to raise it"
                ) from None
            raise ProviderError(str(error), kind=type(error).__name__, quotes_values=True) from None
        finally:
            self._connection.set_progress_handler(None, 0)
        return QueryResult(columns, rows)

    def close(self) -> None:
        """Close the connection."""
        self._connection.close()


def _bounded_rows(cursor: sqlite3.Cursor, budget: ResultBudget) -> Iterator[tuple[Any, ...]]:
    """The cursor's rows, read a batch at a time, stopping with an error past the budget."""
    while batch := cursor.fetchmany(256):
        budget.take(batch)
        yield from (tuple(row) for row in batch)


def sqlite_path(url: str) -> str:
    """The file path in a `sqlite:///relative.db` or `sqlite:////absolute.db` URL."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"not a sqlite URL: expected sqlite:///path.db, found {parts.scheme}://{parts.netloc}..."
        )
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise ValueError("the sqlite URL names no file: expected sqlite:///path.db")
    return path


register_adapter("sqlite", SqliteAdapter)
