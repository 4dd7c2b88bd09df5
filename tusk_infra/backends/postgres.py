"""The PostgreSQL `@query` adapter (psycopg 3) for postgresql:// and postgres:// URLs; selection registers it.

The query text must pass the language's single-SELECT check (the evaluator checks first; this adapter checks
again for direct callers). It then runs in its own READ ONLY transaction that is rolled back, under a
`statement_timeout`, with values only as bound parameters and through the extended protocol (which refuses a
second statement). Errors show the URL without its password and never echo a bound value, which may be a
secret.
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.placeholders import to_psycopg
from tusk_infra.tusk.providers import ProviderError, QueryResult
from tusk_infra.tusk.query import redact_url, url_passwords
from tusk_infra.tusk.result_limits import ResultBudget
from tusk_infra.tusk.sql import SqlRejected, ensure_single_select

if TYPE_CHECKING:
    import psycopg



@dataclass(frozen=True)
class PostgresLimits:
    """How long a connection attempt and one statement may take."""

    connect_timeout_seconds: int = 5
    statement_timeout_ms: int = 5000
    # statement_timeout acts on the server only: a server (or something posing as one) that accepts the
    # query and never answers would hold the run for ever. Past the statement timeout and this much more,
    # the client cuts the connection itself.
    client_grace_seconds: float = 2.0

    @property
    def client_deadline_seconds(self) -> float:
        """How long the client waits for one query's answer, whatever the server does."""
        return self.statement_timeout_ms / 1000 + self.client_grace_seconds


class PostgresAdapter:
    """A QueryAdapter over one psycopg connection, opened on first use."""

    def __init__(self, url: str, limits: PostgresLimits = PostgresLimits()) -> None:
        self._url = url
        self._limits = limits
        self._passwords = url_passwords(url)
        self._display = redact_url(url)
        self._connection: psycopg.Connection[Any] | None = None

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult:
        """Run one SELECT read-only and return its columns and rows as plain Python values."""
        try:
            statement = ensure_single_select(sql)
        except SqlRejected as rejected:
            raise BackendError(f"refused before reaching PostgreSQL: {rejected}") from None
        query = to_psycopg(statement, len(params))
        connection = self._connect()
        watchdog = _Watchdog(connection, self._limits.client_deadline_seconds)
        try:
            with watchdog:
                return self._run(connection, query, list(params))
        except ProviderError:
            # A result past its limits (rows, bytes): said as is, the connection is fine.
            self._drop_if_unsettled()
            raise
        except Exception as error:
            if watchdog.fired:
                self.close()
                raise BackendError(
                    f"no answer from PostgreSQL at {self._display} within "
                    f"{self._limits.client_deadline_seconds:g} s (the client-side deadline: the statement "
                    "timeout plus a grace period); the connection was closed"
                ) from None
            failure = self._query_error(error, params)
            self._drop_if_unsettled()
            raise failure from None

    def close(self) -> None:
        """Close the connection if one was opened."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> psycopg.Connection[Any]:
        import psycopg

        if self._connection is not None and not self._connection.closed:
            return self._connection
        try:
            connection = psycopg.connect(
                self._url,
                connect_timeout=self._limits.connect_timeout_seconds,
                application_name="tusk-infra",
                # statement_timeout bounds a slow query on a live server; keepalives notice a server
                # that vanished mid-query (host down, network cut) within seconds, not TCP's minutes.
                keepalives=1,
                keepalives_idle=5,
                keepalives_interval=2,
                keepalives_count=3,
            )
        except Exception as error:
            cause = self._clean(error)
            raise BackendError(f"cannot connect to PostgreSQL at {self._display}: {cause}") from None
        # Every transaction psycopg opens on this connection starts as BEGIN READ ONLY.
        connection.read_only = True
        self._connection = connection
        return connection

    def _run(self, connection: psycopg.Connection[Any], query: str, params: list[Any]) -> QueryResult:
        import psycopg

        result = QueryResult(columns=(), rows=())
        with connection.transaction():
            # Set per transaction, so a query can't switch it off for the next one with set_config().
            connection.execute(
                "SELECT set_config('statement_timeout', %s, true)", [str(self._limits.statement_timeout_ms)]
            )
            # stream() uses the extended protocol, where the server refuses a second statement, and
            # single-row mode, so rows are counted as they arrive and an endless result stops at the limit.
            cursor = connection.cursor()
            budget = ResultBudget()
            rows: list[tuple[Any, ...]] = []
            for row in cursor.stream(query, params):
                plain = tuple(plain_value(value) for value in row)
                budget.take([plain])
                rows.append(plain)
            columns = tuple(column.name for column in cursor.description or ())
            result = QueryResult(columns=columns, rows=tuple(rows))
            # Nothing a query does is ever committed, read-only or not.
            raise psycopg.Rollback()
        return result

    def _drop_if_unsettled(self) -> None:
        """Close a connection the failure left mid-command (e.g. a COPY), so the next query starts clean."""
        from psycopg.pq import TransactionStatus

        connection = self._connection
        if connection is not None and connection.info.transaction_status != TransactionStatus.IDLE:
            self.close()

    def _query_error(self, error: Exception, params: Sequence[Any]) -> BackendError:
        import psycopg

        if isinstance(error, psycopg.errors.QueryCanceled):
            return BackendError(
                f"it ran longer than the statement_timeout of {self._limits.statement_timeout_ms} ms "
                f"and was cancelled (PostgreSQL at {self._display})"
            )
        connection = self._connection
        if connection is not None and (connection.closed or connection.broken):
            # The server went away (stopped, restarted, network cut): open a fresh connection next time.
            self.close()
            return BackendError(f"lost the connection to PostgreSQL at {self._display}: {self._clean(error)}")
        # The server's text may quote a bound value, transformed (upper(?)::int): shown unless one is secret.
        return BackendError(
            f"PostgreSQL at {self._display}: {self._clean(error, params)}",
            kind=_error_kind(error), quotes_values=True,
        )

    def _clean(self, error: Exception, params: Sequence[Any] = ()) -> str:
        """The error's text on one line, without the password or any bound value (one may be a secret)."""
        text = " ".join(str(error).split()) or type(error).__name__
        text = text.replace(self._url, self._display)
        for password in self._passwords:
            text = text.replace(password, "***")
        # Longest first, so a value containing another is hidden whole. Very short values are left alone:
        # hiding "a" would garble the message and cannot hide anything worth protecting.
        for value in sorted((p for p in params if isinstance(p, str) and len(p) >= 3), key=len, reverse=True):
            text = text.replace(value, "[parameter]")
        return text


class _Watchdog:
    """Cuts a connection's socket if the block it guards runs past its deadline.

    psycopg waits for the server in C with no timeout of its own; shutting the socket down from another
    thread makes that wait return at once with an error, which the adapter reports as the deadline.
    """

    def __init__(self, connection: psycopg.Connection[Any], seconds: float) -> None:
        self._connection = connection
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self.fired = False

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def _cut(self) -> None:
        self.fired = True
        try:
            with socket.socket(fileno=os.dup(self._connection.fileno())) as cut:
                cut.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass


def _error_kind(error: Exception) -> str:
    """The error's class and SQLSTATE (`InvalidTextRepresentation (22P02)`): what failed, without its text."""
    sqlstate = getattr(error, "sqlstate", None)
    return f"{type(error).__name__} ({sqlstate})" if sqlstate else type(error).__name__


def plain_value(value: Any) -> Any:
    """A PostgreSQL value as a TuskLang value: numbers, strings, booleans, None, lists and objects."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        # numeric: decided by the column's scale, not the value, so a column keeps one type: SUM of
        # integers (scale 0) stays an exact int, numeric(10,2) and AVG are floats.
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain_value(item) for key, item in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)
