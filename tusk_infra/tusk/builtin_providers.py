"""The offline providers the language ships with: caller-supplied metrics and an in-process TTL cache."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from tusk_infra.tusk.providers import CacheHit


class StaticMetrics:
    """`@metrics(name, default)` answered from a dict the caller supplies (`--metric name=value`)."""

    def __init__(self, values: Mapping[str, float]) -> None:
        self._values = dict(values)

    def metric(self, name: str) -> float | None:
        """The supplied value, or None so the expression's default is used."""
        return self._values.get(name)


class MemoryCache:
    """`@cache` memoised in this process; an entry expires ttl seconds after it was stored, by `clock`."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> CacheHit | None:
        """The value stored under key, unless it has expired."""
        found = self._entries.get(key)
        if found is None:
            return None
        expires_at, value = found
        if self._now() >= expires_at:
            del self._entries[key]
            return None
        return CacheHit(value)

    def put(self, key: str, value: Any, ttl_seconds: float) -> None:
        """Store value until ttl_seconds from now."""
        self._entries[key] = (self._now() + ttl_seconds, value)

    def _now(self) -> float:
        return self._clock().timestamp()
