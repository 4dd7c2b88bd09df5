"""container-resources: every container requests and limits CPU and memory, with limit >= request."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, Container, containers
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, show
from tusk_policy.quantity import parse_quantity


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Requests and limits are set, parse as quantities, and no limit is below its request."""
    for container in containers(resource.type, resource.props):
        for kind in config["resources"]:
            yield from _check(container, kind)


def _check(container: Container, kind: str) -> Iterator[Violation]:
    request_path, limit_path = f"resources.requests.{kind}", f"resources.limits.{kind}"
    request_raw, limit_raw = lookup(container.spec, request_path), lookup(container.spec, limit_path)
    for path, raw, why in (
        (request_path, request_raw, "the autoscaler's utilization and the scheduler need it"),
        (limit_path, limit_raw, "one pod could starve its neighbours"),
    ):
        if raw is None:
            yield Violation(
                f"container {show(container.name)} has no {path}: {why}; set app.{path} in global.tsk",
                f"{container.path}.{path}",
                None,
            )
        elif parse_quantity(raw) is None:
            yield Violation(
                f"container {show(container.name)} {path} is {show(raw)}, not a Kubernetes quantity "
                "(e.g. 250m, 0.5, 256Mi)",
                f"{container.path}.{path}",
                raw,
            )
    request, limit = parse_quantity(request_raw), parse_quantity(limit_raw)
    if request is not None and limit is not None and limit < request:
        yield Violation(
            f"container {show(container.name)} limit {kind} {show(limit_raw)} is below its request "
            f"{show(request_raw)}; Kubernetes rejects it: raise app.resources.limits.{kind} to at least the "
            "request",
            f"{container.path}.{limit_path}",
            limit_raw,
        )


POLICY = PolicyDefinition(
    id="container-resources",
    description="Containers set CPU and memory requests and limits, and no limit is below its request.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Set app.resources.requests and app.resources.limits (cpu and memory) in global.tsk, "
    "limits >= requests.",
    config_schema={
        "resources": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["cpu", "memory"],
            "description": "The resources every container must request and limit.",
        },
    },
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "reliability"),
)
