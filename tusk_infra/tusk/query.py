"""`@query` plumbing: choose an adapter by the database URL's scheme, open it once, shape the results."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import tusk_infra.tusk.sqlite_adapter  # noqa: F401  (registers the built-in sqlite adapter)
from tusk_infra.tusk.providers import ADAPTERS, ProviderError, QueryAdapter, QueryResult
from tusk_infra.tusk.valuetypes import fits_int64


class QueryProblem(Exception):
    """No database, an unknown scheme, or the adapter failed; the message never contains a password."""


def _cause(failure: Exception, secret_bound: bool = False) -> str:
    # An adapter's ProviderError is written to be shown; any other error's text might quote a bound value.
    if not isinstance(failure, ProviderError):
        return f"{type(failure).__name__} from the adapter"
    if secret_bound and failure.quotes_values:
        # The database's own text may echo a parameter transformed (upper(?), reverse(?), substr(?, 2)),
        # which no scrubbing of the exact value can catch: its class only.
        return f"{failure.kind} (the database's message is not shown: a parameter is a secret)"
    return redact_url(failure.message)


class Database:
    """The adapter for one evaluation's database URL, opened on first use and closed at the end."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._adapter: QueryAdapter | None = None

    def fetch(self, sql: str, params: list[Any], *, secret_bound: bool = False) -> QueryResult:
        """Run one checked SELECT; with `secret_bound`, a failure is reported by its class only."""
        adapter = self._open()
        try:
            return adapter.fetch(sql, params)
        except Exception as failure:
            raise QueryProblem(f"the query failed: {_cause(failure, secret_bound)}") from None

    def close(self) -> None:
        """Close the connection if one was opened."""
        if self._adapter is not None:
            self._adapter.close()
            self._adapter = None

    def _open(self) -> QueryAdapter:
        if self._adapter is not None:
            return self._adapter
        if not self.url:
            raise QueryProblem(
                "@query needs a database: pass --db URL, set TUSK_DATABASE_URL, or set "
                "tusk-infra:databaseUrl in the stack file (Providers.database_url from Python)"
            )
        check_database_url(self.url)
        scheme = urlsplit(self.url).scheme.split("+")[0]
        factory = ADAPTERS.get(scheme)
        if factory is None:
            known = ", ".join(sorted(ADAPTERS)) or "none"
            raise QueryProblem(f"no query adapter for '{scheme}:' URLs (known: {known})")
        try:
            self._adapter = factory(self.url)
        except Exception as failure:
            where = redact_url(self.url)
            raise QueryProblem(f"cannot open the database {where}: {_cause(failure)}") from None
        return self._adapter


def shape_result(result: QueryResult) -> Any:
    """A 1x1 result is a scalar; anything else is a list of row objects (column -> value)."""
    if len(result.columns) == 1 and len(result.rows) == 1:
        return _plain(result.rows[0][0])
    return [
        {column: _plain(value) for column, value in zip(result.columns, row, strict=False)}
        for row in result.rows
    ]


def _plain(value: Any) -> Any:
    # Drivers return Decimal, datetime, bytes...: keep JSON-ready values, render the rest as text. Arrays
    # and JSON columns (PostgreSQL) arrive as lists and dicts: they stay so, with their members made plain.
    if isinstance(value, int) and not isinstance(value, bool) and not fits_int64(value):
        # str() of a huge int is slow and, past 4300 digits, refused: show its size instead.
        digits = str(value) if value.bit_length() < 4000 else ""
        shown = digits if len(digits) <= 24 else f"{digits[:21]}..."
        shown = shown or "a number of 1000+ digits"
        raise QueryProblem(
            f"the query returned {shown}, beyond the language's 64-bit integers; "
            "cast it in SQL (::float8 or ::text)"
        )
    if isinstance(value, float) and not math.isfinite(value):
        # JSON has no NaN or Infinity, and no setting means one: refuse rather than print invalid JSON.
        raise QueryProblem(
            f"the query returned {value!r}, which is not a finite number; filter it out or cast it in SQL"
        )
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _plain(item) for key, item in value.items()}
    return str(value)


# Characters a user name or password must percent-encode: written raw, parsers disagree on where the
# password ends (urllib, libpq), and the part one of them takes for a host name lands in its error message.
_RAW_IN_USERINFO = " /@#?[]\\"


def check_database_url(url: str) -> None:
    """Refuse a database URL that cannot be parsed, or whose user-info holds a character it must encode.

    The message never shows the URL's user-info: it may be a password however it is written."""
    scheme, separator, rest = url.partition("://")
    # Only a URL with an authority (`scheme://user:password@host/...`) has user-info: not sqlite:///path.
    has_authority = separator and not rest.startswith("/") and scheme.split("+")[0] != "sqlite"
    userinfo = rest.rpartition("@")[0] if has_authority else ""
    if userinfo and any(character in userinfo for character in _RAW_IN_USERINFO):
        raise QueryProblem(
            f"the database URL ({scheme}://***@...) has a user name or password with a character that must "
            "be percent-encoded: write @ / space # ? [ ] \\ as %40 %2F %20 %23 %3F %5B %5D %5C"
        )
    try:
        urlsplit(url).port  # noqa: B018  (parsing the port is what may fail)
    except ValueError as problem:
        shown = f"{scheme}://***@{rest.rpartition('@')[2]}" if userinfo else url
        raise QueryProblem(f"the database URL {shown} is not valid: {problem}") from None


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")
# libpq also reads passwords from the query string: postgresql://db/prod?password=...&sslpassword=...
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#\s]*", re.IGNORECASE)


def redact_url(text: str) -> str:
    """Hide the passwords of any URL in text (`postgresql://user:***@host/db?password=***`)."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))


def url_passwords(url: str) -> list[str]:
    """The passwords written in a database URL (user-info and query string), decoded: the strings an error
    from the driver must never show."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [value for key, value in parse_qsl(parts.query) if key.lower() in ("password", "sslpassword")]
    return [unquote(value) for value in found if value]
