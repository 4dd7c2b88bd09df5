"""hpa-replica-bounds: every HorizontalPodAutoscaler keeps between 3 and the region's maximum replicas."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tusk_policy.kube import HPA_TYPES, REGION_LABEL, labels_of
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, number, show


def _region_of(resource: Resource, config: Config) -> str:
    # A region label on the HPA wins over the configured stack region because it says where the workload
    # actually runs, and it lets `pulumi preview --policy-pack policy` pick the limit with no config at all.
    labels = labels_of(resource.props)
    labelled = next((labels[key] for key in config["regionLabels"] if labels.get(key)), "")
    return labelled or str(config.get("region") or "")


def _max_for(region: str, config: Config) -> float:
    by_region: dict[str, Any] = dict(config.get("maxReplicasByRegion") or {})
    return float(by_region[region] if region in by_region else config["maxReplicas"])


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Check minReplicas, maxReplicas and their spread against the limits for the HPA's region."""
    minimum, maximum = lookup(resource.props, "spec.minReplicas"), lookup(resource.props, "spec.maxReplicas")
    low, high = number(minimum), number(maximum)
    region = _region_of(resource, config)
    limit = _max_for(region, config)
    where = f" in {region}" if region else ""
    if low is None:
        yield Violation(
            f"spec.minReplicas is {show(minimum)} (Kubernetes then defaults to 1); the floor is "
            f"{show(config['minReplicas'])}: set autoscaler min_replicas to at least "
            f"{show(config['minReplicas'])}",
            "spec.minReplicas",
            minimum,
        )
    elif low < config["minReplicas"]:
        yield Violation(
            f"spec.minReplicas is {show(low)}, below the floor of {show(config['minReplicas'])}: one node "
            "loss "
            f"would take the service down; raise autoscaler min_replicas to {show(config['minReplicas'])}",
            "spec.minReplicas",
            minimum,
        )
    if high is None:
        yield Violation(
            f"spec.maxReplicas is {show(maximum)}; set autoscaler max_replicas (at most {show(limit)})",
            "spec.maxReplicas",
            maximum,
        )
        return
    if high > limit:
        yield Violation(
            f"spec.maxReplicas is {show(high)}, above the limit of {show(limit)}{where}: the autoscaler "
            "could "
            f"outgrow the database and the cluster; lower autoscaler max_replicas to {show(limit)} or less",
            "spec.maxReplicas",
            maximum,
        )
    if low is not None:
        yield from _check_order(low, high, config, maximum)


def _check_order(low: float, high: float, config: Config, maximum: object) -> Iterator[Violation]:
    if low > high:
        yield Violation(
            f"spec.minReplicas ({show(low)}) is above spec.maxReplicas ({show(high)}); "
            "make min_replicas <= max_replicas",
            "spec.maxReplicas",
            maximum,
        )
    elif high - low < config["minimumReplicaSpread"]:
        yield Violation(
            f"spec.maxReplicas - spec.minReplicas is {show(high - low)}, below the minimum spread of "
            f"{show(config['minimumReplicaSpread'])}: the autoscaler has no room to scale; raise "
            "max_replicas",
            "spec.maxReplicas",
            maximum,
        )


POLICY = PolicyDefinition(
    id="hpa-replica-bounds",
    description="HorizontalPodAutoscalers keep minReplicas >= 3 and maxReplicas within the region's limit.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Set scaling.autoscaler.min_replicas >= 3 and max_replicas <= the region's limit in global.tsk."
    ),
    config_schema={
        "minReplicas": {
            "type": "integer",
            "minimum": 1,
            "default": 3,
            "description": "The lowest minReplicas allowed.",
        },
        "maxReplicas": {
            "type": "integer",
            "minimum": 1,
            "default": 50,
            "description": "The highest maxReplicas allowed where no per-region limit is set.",
        },
        "maxReplicasByRegion": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1},
            "default": {},
            "description": "Per-region maxReplicas limits, by AWS region.",
        },
        "minimumReplicaSpread": {
            "type": "integer",
            "minimum": 0,
            "default": 1,
            "description": "maxReplicas - minReplicas must be at least this (Gatekeeper).",
        },
        "region": {
            "type": "string",
            "default": "",
            "description": "The stack's AWS region, used to pick the per-region limit.",
        },
        "regionLabels": {
            "type": "array",
            "items": {"type": "string"},
            "default": [REGION_LABEL, "tusk-infra.dev/region"],
            "description": "HPA labels naming its region, in order of preference.",
        },
    },
    resource_types=HPA_TYPES,
    validate_resource=validate,
    tags=("scaling", "kubernetes"),
)
