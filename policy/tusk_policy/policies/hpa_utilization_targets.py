"""hpa-utilization-targets: CPU and memory utilization targets sit where scaling is neither late nor jumpy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tusk_policy.kube import HPA_TYPES, HPA_V1
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_mapping, items_at, lookup, number, show


def _utilization_targets(resource: Resource) -> Iterator[tuple[str, str, Any]]:
    """(resource name, property path, averageUtilization) for each utilization metric of the HPA."""
    if resource.type == HPA_V1:
        path = "spec.targetCPUUtilizationPercentage"
        yield "cpu", path, lookup(resource.props, path)
        return
    for index, metric in items_at(resource.props, "spec.metrics"):
        if not is_mapping(metric):
            continue
        source = {"Resource": "resource", "ContainerResource": "containerResource"}.get(
            str(metric.get("type"))
        )
        block: Any = metric.get(source) if source else None
        target: Any = block.get("target") if is_mapping(block) else None
        if is_mapping(target) and target.get("type") == "Utilization":
            path = f"spec.metrics.{index}.{source}.target.averageUtilization"
            yield str(block.get("name")), path, target.get("averageUtilization")


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Each CPU/memory utilization target lies in its band; a CPU target must exist."""
    bands = {
        "cpu": (config["cpuMin"], config["cpuMax"]),
        "memory": (config["memoryMin"], config["memoryMax"]),
    }
    seen: set[str] = set()
    for name, path, raw in _utilization_targets(resource):
        seen.add(name)
        if name not in bands:
            continue
        low, high = bands[name]
        value = number(raw)
        if value is None or not low <= value <= high:
            yield Violation(
                f"{name} utilization target is {show(raw)}%, outside {show(low)}-{show(high)}%: too low "
                "wastes "
                f"capacity, too high scales out after the pods are already saturated; set autoscaler "
                f"{name}_utilization between {show(low)} and {show(high)}",
                path,
                raw,
            )
    if config["requireCpuTarget"] and "cpu" not in seen:
        yield Violation(
            "the autoscaler has no CPU utilization target; add a Resource metric for cpu with "
            f"target.type Utilization between {show(config['cpuMin'])} and {show(config['cpuMax'])}%",
            "spec.metrics",
            None,
        )


POLICY = PolicyDefinition(
    id="hpa-utilization-targets",
    description="HorizontalPodAutoscaler CPU targets lie within 50-85 % and memory targets within 60-90 %.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation=(
        "Set scaling.autoscaler.cpu_utilization (50-85) and memory_utilization (60-90) in global.tsk."
    ),
    config_schema={
        "cpuMin": {"type": "number", "minimum": 1, "maximum": 100, "default": 50},
        "cpuMax": {"type": "number", "minimum": 1, "maximum": 100, "default": 85},
        "memoryMin": {"type": "number", "minimum": 1, "maximum": 100, "default": 60},
        "memoryMax": {"type": "number", "minimum": 1, "maximum": 100, "default": 90},
        "requireCpuTarget": {
            "type": "boolean",
            "default": True,
            "description": "Require a CPU utilization metric.",
        },
    },
    resource_types=HPA_TYPES,
    validate_resource=validate,
    tags=("scaling", "kubernetes"),
)
