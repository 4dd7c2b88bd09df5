"""Which settings a changed metric snapshot moved, and why: the part of a diff that explains observed load.

Each plan carries the snapshot its stack's `@metrics` read (`metrics_snapshot`: file, pulled_at, values) and,
per setting, the metric values its expression used (provenance inputs). Between two plans, a metric whose
value changed is listed with the settings it moved — both values, the comparison from the expression
(`> 80`) and the global.tsk line — or, when it moved none, as a change with no effect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tusk_infra.tusk.metric_names import metric_comparisons


@dataclass(frozen=True)
class SettingMove:
    """One setting a metric moved: `path` before → after, the comparison it crossed and where it is."""

    path: str
    before: Any
    after: Any
    metric_before: Any
    metric_after: Any
    # `> 80`, from the setting's expression; None when the expression compares the metric with no number.
    condition: str | None
    # Whether the head's metric value satisfies the condition (None without one).
    holds: bool | None
    location: str  # global.tsk:54


@dataclass(frozen=True)
class MetricMove:
    """A metric whose snapshot value changed, how it was reduced, and the settings it moved (maybe none)."""

    name: str
    statistic: str
    window: str
    before: float | None  # None: the base snapshot lacked it
    after: float | None  # None: the head snapshot lacks it
    settings: tuple[SettingMove, ...] = ()

    @property
    def label(self) -> str:
        """`p95, 7d`."""
        return f"{self.statistic}, {self.window}"


@dataclass(frozen=True)
class SnapshotDiff:
    """A stack's metric snapshot at both revisions, when it differs."""

    file: str
    pulled_before: str | None
    pulled_after: str | None
    metrics: tuple[MetricMove, ...] = ()
    example_after: bool = False

    @property
    def has_effect(self) -> bool:
        """Whether any setting moved because of it."""
        return any(metric.settings for metric in self.metrics)


SettingChangeFacts = tuple[str, Any, Any]  # (dotted path, before, after) of a changed setting


def snapshot_diff(
    base: Mapping[str, Any] | None, head: Mapping[str, Any] | None, settings: Sequence[SettingChangeFacts]
) -> SnapshotDiff | None:
    """How the stack's snapshot changed and what that moved; None when neither read one, or it is equal."""
    if base is None or head is None:
        return None
    old, new = base.get("metrics_snapshot"), head.get("metrics_snapshot")
    if old == new:
        return None
    old_values = (old or {}).get("metrics", {})
    new_values = (new or {}).get("metrics", {})
    moves = []
    for name in sorted({*old_values, *new_values}):
        was, now = old_values.get(name), new_values.get(name)
        value_before = was.get("value") if was else None
        value_after = now.get("value") if now else None
        if value_before == value_after:
            continue
        reading = now or was or {}
        moved = tuple(_moves(name, base, head, settings))
        moves.append(MetricMove(name, str(reading.get("statistic", "?")), str(reading.get("window", "?")),
                                value_before, value_after, moved))
    return SnapshotDiff(
        file=str((new or old or {}).get("file", "metrics snapshot")),
        pulled_before=(old or {}).get("pulled_at"),
        pulled_after=(new or {}).get("pulled_at"),
        metrics=tuple(moves),
        example_after=bool((new or {}).get("example")),
    )


def _moves(
    name: str, base: Mapping[str, Any], head: Mapping[str, Any], settings: Sequence[SettingChangeFacts]
) -> list[SettingMove]:
    found = []
    for path, before, after in settings:
        source = _source(head, path)
        used_before = _metric_input(_source(base, path), name)
        used_after = _metric_input(source, name)
        if source is None or used_after is None or used_before == used_after:
            continue
        condition = next((c for c in metric_comparisons(source.get("source", "")) if c.name == name), None)
        holds = condition.holds(used_after) if condition is not None and _is_number(used_after) else None
        found.append(SettingMove(
            path=path,
            before=before,
            after=after,
            metric_before=used_before,
            metric_after=used_after,
            condition=f"{condition.op} {condition.threshold}" if condition is not None else None,
            holds=holds,
            location=str(source.get("location", "")).rsplit(":", 1)[0],
        ))
    return found


def _source(plan: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    """The provenance of `path`, else of its nearest container that has one."""
    provenance = plan.get("provenance", {})
    parts = path.split(".")
    for length in range(len(parts), 0, -1):
        found = provenance.get(".".join(parts[:length]))
        if found is not None:
            return found  # type: ignore[no-any-return]
    return None


def _metric_input(source: Mapping[str, Any] | None, name: str) -> Any:
    if source is None:
        return None
    for use in source.get("inputs", []):
        if use.get("kind") == "metric" and use.get("name") == name:
            return use.get("value")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def number_text(value: Any) -> str:
    """A metric value as people read it: 85 rather than 85.0; `(none)` when a side lacks it."""
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def metric_clause(metric: MetricMove, move: SettingMove | None = None) -> str:
    """`cpu_usage (p95, 7d) 62 → 85 > 80` (code spans are the caller's), or `..., not > 80`."""
    before = move.metric_before if move is not None else metric.before
    after = move.metric_after if move is not None else metric.after
    text = f"({metric.label}) {number_text(before)} → {number_text(after)}"
    if move is not None and move.condition is not None:
        text += f" {move.condition}" if move.holds else f", not {move.condition}"
    return text


def snapshot_data(snapshot: SnapshotDiff) -> dict[str, Any]:
    """The snapshot change as diff JSON (`metrics_snapshot` of a stack in tusk-infra/diff@3)."""
    return {
        "file": snapshot.file,
        "pulled_at_before": snapshot.pulled_before,
        "pulled_at_after": snapshot.pulled_after,
        "example": snapshot.example_after,
        "has_effect": snapshot.has_effect,
        "metrics": [
            {
                "name": metric.name,
                "statistic": metric.statistic,
                "window": metric.window,
                "before": metric.before,
                "after": metric.after,
                "settings": [
                    {"path": move.path, "before": move.before, "after": move.after,
                     "metric_before": move.metric_before, "metric_after": move.metric_after,
                     "condition": move.condition, "holds": move.holds, "location": move.location}
                    for move in metric.settings
                ],
            }
            for metric in snapshot.metrics
        ],
    }
