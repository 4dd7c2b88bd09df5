"""Metric snapshots: `metrics/<stack>.json`, the observed load a stack's `@metrics` read by default.

`tusk-infra metrics pull` writes one file per stack (value, statistic, window, source query, when pulled,
format version; keys sorted, so a re-pull reviews as a small diff). Every other run reads the file instead of
the provider, so the same commit gives the same plan. How old the file is (freshness) is the only
time-dependent fact about it; it is reported apart from anything a plan contains.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tusk_infra.backends.defaults import DEFAULT_MAX_AGE_SECONDS as DEFAULT_MAX_AGE_SECONDS
from tusk_infra.backends.defaults import SNAPSHOT_DIR as SNAPSHOT_DIR
from tusk_infra.backends.defaults import snapshot_path as snapshot_path
from tusk_infra.tusk.errors import TuskError
from tusk_infra.tusk.providers import MetricUnavailable

SNAPSHOT_FORMAT = "tusk-infra/metrics@1"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class SnapshotError(TuskError):
    """A snapshot file that cannot be read as one: positioned in the file, saying what was expected."""


@dataclass(frozen=True)
class MetricReading:
    """One metric as pulled: the value, which statistic over which window, and the query it came from."""

    value: float
    statistic: str
    window: str
    source: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`p95, 7d`: how the value was reduced, for diffs and explain."""
        return f"{self.statistic}, {self.window}"


@dataclass(frozen=True)
class MetricSnapshot:
    """The observed metrics of one stack at one time."""

    stack: str
    pulled_at: datetime
    metrics: Mapping[str, MetricReading]
    # Set on the committed example files: made-up numbers, until a real pull replaces them.
    example: str | None = None
    # The file it was read from (as given), for messages.
    path: str = ""

    @property
    def pulled_at_text(self) -> str:
        return format_time(self.pulled_at)


def display_name(path: str | Path) -> str:
    """`metrics/<stack>.json`: the path as a reviewer knows it, whatever directory the run is in."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def format_time(moment: datetime) -> str:
    """UTC, to the second, with a Z: the only time format in a snapshot."""
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def read_snapshot(path: Path) -> MetricSnapshot | None:
    """The snapshot at `path`, None when there is no file; a malformed one is a SnapshotError at its place."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        cause = error.strerror or error
        raise SnapshotError(f"cannot read the metrics snapshot: {cause}", str(path)) from None
    return parse_snapshot(text, str(path))


def read_stack_snapshot(path: Path, stack: str | None) -> MetricSnapshot | None:
    """read_snapshot, refusing a file written for another stack (a copy would size the wrong region)."""
    snapshot = read_snapshot(path)
    if snapshot is not None and stack is not None and snapshot.stack != stack:
        text = path.read_text(encoding="utf-8")
        raise _Reader(text, str(path)).error(
            f"stack: this is the snapshot of stack {snapshot.stack!r}, not {stack!r}; run "
            f"`tusk-infra metrics pull --stack {stack}`", "stack")
    return snapshot


def parse_snapshot(text: str, file: str) -> MetricSnapshot:
    """A snapshot from its JSON text; every problem names the place and what was expected."""
    reader = _Reader(text, file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise reader.at_line(f"not valid JSON: {error.msg}", error.lineno, error.colno) from None
    if not isinstance(document, dict):
        raise reader.error(f"expected a JSON object, found {type(document).__name__}", None)
    found_format = document.get("format")
    if found_format != SNAPSHOT_FORMAT:
        raise reader.error(
            f"format is {found_format!r}; this tusk-infra reads {SNAPSHOT_FORMAT!r} "
            "(re-create the file with `tusk-infra metrics pull`)", "format")
    stack = reader.text_field(document, "stack")
    pulled_at = reader.time_field(document, "pulled_at")
    example = document.get("example")
    if example is not None and not (isinstance(example, str) and example):
        raise reader.error(f"example: expected a note saying why the numbers are made up, found {example!r}",
                           "example")
    metrics = document.get("metrics")
    if not isinstance(metrics, dict):
        raise reader.error(f"metrics: expected an object of metric names, found {metrics!r}", "metrics")
    readings = {str(name): reader.reading(str(name), item) for name, item in metrics.items()}
    return MetricSnapshot(stack, pulled_at, readings, example, file)


class _Reader:
    """Positions in the snapshot text, found by the key's first occurrence (JSON parsers keep none)."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file

    def at_line(self, message: str, line: int, column: int) -> SnapshotError:
        lines = self.text.splitlines()
        source = lines[line - 1] if 0 < line <= len(lines) else None
        return SnapshotError(message, self.file, line, column, source_line=source)

    def error(self, message: str, key: str | None) -> SnapshotError:
        offset = self.text.find(f'"{key}"') if key is not None else -1
        offset = max(offset, 0)
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return self.at_line(message, line, column)

    def text_field(self, document: Mapping[str, Any], key: str) -> str:
        value = document.get(key)
        if not isinstance(value, str) or not value:
            raise self.error(f"{key}: expected a non-empty string, found {value!r}", key)
        return value

    def time_field(self, document: Mapping[str, Any], key: str) -> datetime:
        value = self.text_field(document, key)
        try:
            return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise self.error(f"{key}: expected a UTC time like 2026-12-01T09:30:00Z, found {value!r}",
                             key) from None

    def reading(self, name: str, item: Any) -> MetricReading:
        if not isinstance(item, dict):
            raise self.error(f"metrics.{name}: expected an object with value, statistic, window and source, "
                             f"found {item!r}", name)
        value = item.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(f"metrics.{name}.value: expected a number, found {value!r}", name)
        source = item.get("source", {})
        if not isinstance(source, dict):
            raise self.error(f"metrics.{name}.source: expected an object (the query), found {source!r}", name)
        return MetricReading(
            value=value,
            statistic=self.text_field(item, "statistic"),
            window=self.text_field(item, "window"),
            source=source,
        )


def snapshot_document(snapshot: MetricSnapshot) -> dict[str, Any]:
    """The snapshot as JSON-ready data (the file's content)."""
    document: dict[str, Any] = {
        "format": SNAPSHOT_FORMAT,
        "stack": snapshot.stack,
        "pulled_at": snapshot.pulled_at_text,
        "metrics": {
            name: {"value": reading.value, "statistic": reading.statistic, "window": reading.window,
                   "source": dict(reading.source)}
            for name, reading in snapshot.metrics.items()
        },
    }
    if snapshot.example is not None:
        document["example"] = snapshot.example
    return document


def snapshot_json(snapshot: MetricSnapshot) -> str:
    """The file's text: sorted keys, two-space indent, a final newline; byte-stable for the same data."""
    return json.dumps(snapshot_document(snapshot), indent=2, sort_keys=True, ensure_ascii=False,
                      allow_nan=False) + "\n"


def write_snapshot(path: Path, snapshot: MetricSnapshot) -> None:
    """Replace the file in one step (a temporary file renamed over it): a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(snapshot_json(snapshot))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def snapshot_changes(old: MetricSnapshot | None, new: MetricSnapshot) -> list[str]:
    """What a pull changed, one line per metric (added, removed, moved, unchanged)."""
    before = old.metrics if old is not None else {}
    lines = []
    for name in sorted({*before, *new.metrics}):
        was, now = before.get(name), new.metrics.get(name)
        if now is None:
            lines.append(f"{name}: removed (was {number_text(was.value) if was else '?'})")
        elif was is None:
            lines.append(f"{name} ({now.label}): {number_text(now.value)} (new)")
        elif was.value != now.value or was.label != now.label:
            lines.append(f"{name} ({now.label}): {number_text(was.value)} → {number_text(now.value)}")
        else:
            lines.append(f"{name} ({now.label}): {number_text(now.value)} (unchanged)")
    return lines


def number_text(value: float) -> str:
    """A metric value as people read it: 85 rather than 85.0, 62.5 as is."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def example_notice(snapshot: MetricSnapshot) -> str | None:
    """The warning an example snapshot carries, None for a real pull."""
    if snapshot.example is None:
        return None
    return f"{display_name(snapshot.path)} is an example snapshot: {snapshot.example}"


def staleness(snapshot: MetricSnapshot, now: datetime, max_age_seconds: float) -> str | None:
    """Why the snapshot is too old to size from, or None while it is fresh enough."""
    age = (now - snapshot.pulled_at).total_seconds()
    if age <= max_age_seconds:
        return None
    return (f"{display_name(snapshot.path)} was pulled {_days(age)} ago ({snapshot.pulled_at_text}), "
            f"over the {_days(max_age_seconds)} limit (tusk-infra:metricsMaxAge); run "
            f"`tusk-infra metrics pull --stack {snapshot.stack}` and commit the file")


def _days(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:.0f} days" if days >= 2 else f"{seconds / 3600:.0f} hours"


class SnapshotMetrics:
    """A MetricsProvider answering `@metrics` from a stack's snapshot file; deterministic by construction."""

    def __init__(self, snapshot: MetricSnapshot | None, path: str, stack: str | None) -> None:
        self.snapshot = snapshot
        self._path = path
        self._stack = stack or "NAME"

    def metric(self, name: str) -> float | MetricUnavailable:
        """The snapshot's value, or why there is none (the evaluator then warns and uses the default)."""
        pull = f"`tusk-infra metrics pull --stack {self._stack}`"
        if self.snapshot is None:
            return MetricUnavailable(f"no metrics snapshot {display_name(self._path)} (run {pull})")
        reading = self.snapshot.metrics.get(name)
        if reading is None:
            return MetricUnavailable(f"not in the metrics snapshot {display_name(self._path)} (run {pull})")
        return reading.value

    def source(self, name: str) -> str | None:
        """Where `name` came from, for explain: the file, the statistic and when it was pulled."""
        reading = self.snapshot.metrics.get(name) if self.snapshot is not None else None
        if self.snapshot is None or reading is None:
            return None
        example = ", an EXAMPLE file: made-up numbers" if self.snapshot.example else ""
        return (f"{reading.statistic} over {reading.window}, {display_name(self._path)} pulled "
                f"{self.snapshot.pulled_at_text}{example}")


def snapshot_of(provider: object) -> MetricSnapshot | None:
    """The snapshot a metrics provider (or a FirstAnswer chain) answers from, if any."""
    if isinstance(provider, SnapshotMetrics):
        return provider.snapshot
    parts = [getattr(provider, name, None) for name in ("first", "then")]
    return next((found for part in parts if part is not None
                 for found in [snapshot_of(part)] if found is not None), None)


def describe_source(provider: object, name: str) -> str | None:
    """What a metrics provider (or a FirstAnswer chain of them) says about where `name` came from."""
    first, then = getattr(provider, "first", None), getattr(provider, "then", None)
    if first is not None and then is not None:
        answer = first.metric(name)
        answered = answer is not None and not isinstance(answer, MetricUnavailable)
        return describe_source(first, name) if answered else describe_source(then, name)
    source: Callable[[str], str | None] | None = getattr(provider, "source", None)
    return source(name) if source is not None else None
