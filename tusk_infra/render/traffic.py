"""Global traffic in the preview and the diff: which regions are drained, which a change drains or restores.

A region is drained by `serving: false` in its [regional_config] block: its stack keeps its Route 53 health
check but registers no record, so DNS stops answering with it. The stack's plan says so through its settings
(the stack's `global.region` and that region's block), which is what this module reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tusk_infra.render.plan import Plan, StackPlan

TrafficAction = Literal["drained", "restored"]


@dataclass(frozen=True)
class TrafficChange:
    """A region a change takes out of DNS (drained) or puts back (restored), and the line that says so."""

    stack: str
    region: str
    action: TrafficAction
    # "global.tsk:LINE:COL" of the region's `serving` value at head, when it is written there.
    source: str | None

    @property
    def text(self) -> str:
        """`traffic drained from us-west-2` / `traffic restored to us-west-2`."""
        preposition = "from" if self.action == "drained" else "to"
        return f"traffic {self.action} {preposition} {self.region}"


def serving(stack: StackPlan) -> bool | None:
    """Whether the stack's region serves traffic; None when global.tsk has no [global_traffic] (no DNS)."""
    settings: Mapping[str, Any] = stack.get("settings") or {}
    region = _region(settings)
    if region is None or not isinstance(settings.get("global_traffic"), dict):
        return None
    block = _block(settings, region)
    # `serving` defaults to true: only an explicit false drains.
    return not (isinstance(block, dict) and block.get("serving") is False)


def drained_lines(stack: StackPlan) -> list[str]:
    """The preview's note for a drained stack: what it means and the line that drains it."""
    if serving(stack) is not False:
        return []
    region = _region(stack.get("settings") or {}) or stack["stack"]
    where = _source(stack, region)
    return [f"traffic drained from {region}: serving: false{f' ({where})' if where else ''}; Route 53 "
            "has no record for it, so DNS sends no users there; its health check stays, to watch it"]


def traffic_changes(base: Plan, head: Plan) -> tuple[TrafficChange, ...]:
    """Each stack, in both plans, whose region goes from serving to drained or back."""
    before = {stack["stack"]: stack for stack in base.get("stacks", [])}
    return tuple(_changes(before, head.get("stacks", [])))


def _changes(before: Mapping[str, StackPlan], after: list[StackPlan]) -> Iterator[TrafficChange]:
    for stack in after:
        old = before.get(stack["stack"])
        if old is None:
            continue
        was, now = serving(old), serving(stack)
        if was is None or now is None or was == now:
            continue
        region = _region(stack.get("settings") or {}) or stack["stack"]
        yield TrafficChange(stack["stack"], region, "restored" if now else "drained", _source(stack, region))


def _region(settings: Mapping[str, Any]) -> str | None:
    block = settings.get("global")
    region = block.get("region") if isinstance(block, dict) else None
    return region if isinstance(region, str) else None


def _block(settings: Mapping[str, Any], region: str) -> Any:
    regional = settings.get("regional_config")
    return regional.get(region.replace("-", "_")) if isinstance(regional, dict) else None


def _source(stack: StackPlan, region: str) -> str | None:
    """Where the region's `serving` is written (file:line), when it is."""
    provenance = (stack.get("provenance") or {}).get(f"regional_config.{region.replace('-', '_')}.serving")
    return provenance["location"].rsplit(":", 1)[0] if provenance else None
