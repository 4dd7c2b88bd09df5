"""hpa-scaling-behavior: scale down slowly (stabilization >= 300 s), scale up at most 100 % per 15 s."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tusk_policy.kube import HPA_TYPES
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_list, is_mapping, lookup, mapping_at, number, show

# Kubernetes' own defaults for a direction left out of `behavior` (autoscaling/v2 API reference).
_DEFAULT_STABILIZATION = {"scaleUp": 0.0, "scaleDown": 300.0}


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Behavior must be explicit; scale-down stabilization and scale-up rate within limits."""
    behavior = lookup(resource.props, "spec.behavior")
    if not is_mapping(behavior):
        yield Violation(
            "spec.behavior is not set, so Kubernetes' defaults apply unseen; set autoscaler scale_up and "
            f"scale_down (scale-down stabilization >= {show(config['minScaleDownStabilizationSeconds'])} s)",
            "spec.behavior",
            None,
        )
        return
    yield from _check_scale_down(mapping_at(behavior, "scaleDown"), config)
    yield from _check_scale_up(mapping_at(behavior, "scaleUp"), config)


def _check_scale_down(rules: Mapping[str, Any], config: Config) -> Iterator[Violation]:
    raw = rules.get("stabilizationWindowSeconds", _DEFAULT_STABILIZATION["scaleDown"])
    window, floor = number(raw), config["minScaleDownStabilizationSeconds"]
    if window is None or window < floor:
        yield Violation(
            f"scale-down stabilization window is {show(raw)} s, below {show(floor)} s: the autoscaler would "
            "drop pods on every dip and flap; set autoscaler scale_down.stabilization_seconds >= "
            f"{show(floor)}",
            "spec.behavior.scaleDown.stabilizationWindowSeconds",
            raw,
        )


def _check_scale_up(rules: Mapping[str, Any], config: Config) -> Iterator[Violation]:
    if rules.get("selectPolicy") == "Disabled":
        return
    policies = rules.get("policies")
    if not is_list(policies):
        return  # Kubernetes' default scale-up (100 % or 4 pods per 15 s) is within the default limits.
    too_fast = [(index, why) for index, why in _rates(policies, config) if why]
    # With selectPolicy Min the slowest policy governs, so one within limits is enough.
    if rules.get("selectPolicy") == "Min" and len(too_fast) < len(policies):
        return
    for index, why in too_fast:
        path = f"spec.behavior.scaleUp.policies.{index}.value"
        found = policies[index].get("value") if is_mapping(policies[index]) else policies[index]
        yield Violation(
            f"scale-up policy {index} {why}; lower autoscaler scale_up.percent or raise its period_seconds",
            path,
            found,
        )


def _rates(policies: Any, config: Config) -> Iterator[tuple[int, str]]:
    """For each scale-up policy, a description of how it is too fast, or '' when it is within limits."""
    period_limit = config["scaleUpPeriodSeconds"]
    for index, policy in enumerate(policies):
        if not is_mapping(policy):
            yield index, "is not an object with type, value and periodSeconds"
            continue
        value, period = number(policy.get("value")), number(policy.get("periodSeconds"))
        if value is None or not period:
            yield index, f"has no usable value/periodSeconds ({show(policy.get('value'))}/{show(period)})"
            continue
        kind, limit = (
            ("%", config["maxScaleUpPercent"])
            if policy.get("type") == "Percent"
            else (" pods", config["maxScaleUpPods"])
        )
        if value / period > limit / period_limit:
            yield (
                index,
                (
                    f"adds {show(value)}{kind} per {show(period)} s, faster than the limit of "
                    f"{show(limit)}{kind} per {show(period_limit)} s"
                ),
            )
        else:
            yield index, ""


POLICY = PolicyDefinition(
    id="hpa-scaling-behavior",
    description="HorizontalPodAutoscalers declare behavior: scale-down stabilization >= 300 s, scale-up "
    "no faster than 100 % per 15 s.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation=(
        "Set scaling.autoscaler.scale_down.stabilization_seconds >= 300 and keep scale_up.percent per "
        "period_seconds at or below 100 % per 15 s in global.tsk."
    ),
    config_schema={
        "minScaleDownStabilizationSeconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 3600,
            "default": 300,
        },
        "maxScaleUpPercent": {"type": "number", "exclusiveMinimum": 0, "default": 100},
        "maxScaleUpPods": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 4,
            "description": "Pods-type scale-up limit per scaleUpPeriodSeconds (Kubernetes' default).",
        },
        "scaleUpPeriodSeconds": {"type": "integer", "minimum": 1, "maximum": 1800, "default": 15},
    },
    resource_types=HPA_TYPES,
    validate_resource=validate,
    tags=("scaling", "kubernetes"),
)
