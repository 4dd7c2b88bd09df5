"""The offline providers the language ships with: caller-supplied metrics and an in-process TTL cache."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tusk_infra.tusk.providers import CacheHit

# The built-in cache's store: evaluations in one process (say, three region stacks) share cached values.
# Keys include the expression, its inputs and the database URL, so sharing never crosses contexts.
PROCESS_CACHE: dict[str, tuple[float, Any]] = {}


class StaticMetrics:
    """`@metrics(name, default)` answered from a dict the caller supplies (`--metric name=value`)."""

    def __init__(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)

    def metric(self, name: str) -> float | None:
        """The supplied value, or None so the expression's default is used."""
        return self._values.get(name)


class MemoryCache:
    """`@cache` memoised in this process; an entry expires ttl seconds after it was stored, by `clock`.

    `entries` lets several caches (one per evaluation, each with its own clock) share one store.
    """

    def __init__(
        self, clock: Callable[[], datetime], entries: dict[str, tuple[float, Any]] | None = None
    ) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {} if entries is None else entries

    def get(self, key: str) -> CacheHit | None:
        """The value stored under key, unless it has expired."""
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at, value = found
        if self._now() >= expires_at:
            del self._entries[key]
            return None
        return CacheHit(_copy(value))

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        """Store value until ttl_seconds from now."""
        self._entries[key] = (self._now() + ttl_seconds, _copy(value))

    def _now(self) -> float:
        return self._clock().timestamp()


def _copy(value: Any) -> Any:
    """A copy of lists and dicts, so documents sharing a cached value never see each other's changes."""
    if isinstance(value, list):
        return [_copy(item) for item in value]
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    return value  # scalars and Secrets are immutable
