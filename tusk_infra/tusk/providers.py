"""The small interfaces the evaluator uses to reach the outside world.

`@env.secure`, `@metrics`, `@cache` and `@query` never touch a network or a file themselves: they ask one of
these providers. The built-in ones are offline and deterministic; live ones (AWS, PostgreSQL, an on-disk
cache) plug in through the same interfaces.

A provider that cannot answer raises `ProviderError`: the evaluator shows its message at the expression that
asked. Any other exception is shown by its type name only, since its text might quote a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class ProviderError(Exception):
    """A provider could not answer; the message is shown to the user as is, so it never holds a secret value.

    The evaluator turns it into a TuskError at the position of the expression that asked (`@env.secure`,
    `@metrics`, `@cache`, `@query`). Say what was asked for and why it failed, e.g. "cannot read secret
    'DB_PASSWORD' from SSM Parameter Store: AccessDenied".
    """

    def __init__(self, message: str, *, kind: str = "", quotes_values: bool = False) -> None:
        super().__init__(message)
        self.message = message
        # What failed, by class (e.g. SQLite's OperationalError, PostgreSQL's SQLSTATE name): shown alone
        # when the message may quote a bound value that is a secret (`quotes_values`).
        self.kind = kind or type(self).__name__
        self.quotes_values = quotes_values


class SecretSource(Protocol):
    """Where `@env.secure(NAME)` looks after the environment: Pulumi stack secrets, Secrets Manager, SSM."""

    def lookup(self, name: str) -> str | None:
        """The secret's plain value, or None when this source does not have it."""


@dataclass(frozen=True)
class MetricUnavailable:
    """A metrics provider's "no value" with the cause, e.g. "CloudWatch unavailable (cannot reach AWS)".

    The evaluator falls back to the expression's default and warns once per metric, naming this reason;
    a provider that returns it should not warn about the metric itself.
    """

    reason: str


class MetricsProvider(Protocol):
    """Answers `@metrics(name, default)`."""

    def metric(self, name: str) -> float | MetricUnavailable | None:
        """The metric's current value, or None (or why not) to make the expression use its default."""


@dataclass(frozen=True)
class CacheHit:
    value: Any


class CacheProvider(Protocol):
    """Memoises `@cache(ttl, expr)`; keys are derived from the expression's source and inputs."""

    def get(self, key: str) -> CacheHit | None:
        """The cached value if present and not expired."""

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        """Store a value for ttl_seconds."""


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


class QueryAdapter(Protocol):
    """Runs one read-only SELECT with bound parameters (the caller has already checked it is one)."""

    def fetch(self, sql: str, params: Sequence[Any]) -> QueryResult: ...

    def close(self) -> None: ...


AdapterFactory = Callable[[str], QueryAdapter]

# URL scheme -> factory. The language registers sqlite; other packages register more (postgresql, ...).
ADAPTERS: dict[str, AdapterFactory] = {}


def register_adapter(scheme: str, factory: AdapterFactory) -> None:
    """Make `@query` able to open URLs of this scheme."""
    ADAPTERS[scheme] = factory


@dataclass
class Providers:
    """Everything an evaluation may read from outside the file. Defaults are offline and side-effect free."""

    # The environment `@env` reads: a mapping handed in, never os.environ mutated by us.
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Consulted in order when `@env.secure(NAME)` finds no env var.
    secrets: Sequence[SecretSource] = ()
    metrics: MetricsProvider | None = None
    cache: CacheProvider | None = None
    database_url: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Non-fatal notices (a metric fell back to its default, ...); never passed a secret value.
    warn: Callable[[str], None] = field(default=lambda message: None)
