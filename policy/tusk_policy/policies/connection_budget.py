"""connection-budget: at full scale, the app's connection pools fit in each database's max_connections.

The program records what a pure policy needs on the resources it registers: each Deployment's annotations
name the RDS instances it connects to (by `identifier`) and the pool size of one pod; the instance names its
parameter group, whose `max_connections` parameter is the database's limit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tusk_policy.aws import RDS_INSTANCE, RDS_PARAMETER_GROUP
from tusk_policy.kube import HPA_TYPES, Workload, deployments, stack_of, targeted_deployment
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_mapping, items_at, lookup, mapping_at, number, show


@dataclass(frozen=True)
class Consumer:
    """One Deployment's claim on a database: pods at full scale times connections per pod."""

    workload: Workload
    pods: float
    pool: float
    pool_raw: object

    @property
    def connections(self) -> float:
        return self.pods * self.pool


def _databases(resources: Sequence[Resource]) -> dict[str, Resource]:
    found = {}
    for resource in resources:
        identifier = lookup(resource.props, "identifier") if resource.type == RDS_INSTANCE else None
        if isinstance(identifier, str):
            found[identifier] = resource
    return found


def _max_connections(instance: Resource, resources: Sequence[Resource]) -> float | None:
    """The `max_connections` parameter of the instance's parameter group, when the stack sets one."""
    group_name = lookup(instance.props, "parameterGroupName")
    for group in resources:
        if group.type != RDS_PARAMETER_GROUP or lookup(group.props, "name") != group_name:
            continue
        if stack_of(group.urn) != stack_of(instance.urn):
            continue
        for _, parameter in items_at(group.props, "parameters"):
            if is_mapping(parameter) and parameter.get("name") == "max_connections":
                return _as_number(parameter.get("value"))
    return None


def _as_number(value: object) -> float | None:
    # Annotations and RDS parameters carry numbers as strings.
    if isinstance(value, str):
        try:
            return number(float(value))
        except ValueError:
            return None
    return number(value)


def _full_scale(workload: Workload, resources: Sequence[Resource]) -> float:
    """Pods at full scale: the scaling HPA's maxReplicas, else spec.replicas (Kubernetes' default 1)."""
    for hpa in (r for r in resources if r.type in HPA_TYPES):
        if targeted_deployment(hpa, [workload]) is not None:
            return number(lookup(hpa.props, "spec.maxReplicas")) or 0.0
    return number(lookup(workload.props, "spec.replicas")) or 1.0


def _consumers(resources: Sequence[Resource], config: Config) -> dict[str, list[Consumer]]:
    by_database: dict[str, list[Consumer]] = {}
    for workload in deployments(resources):
        annotations: Mapping[str, Any] = mapping_at(workload.props, "metadata.annotations")
        pool_raw = annotations.get(config["poolAnnotation"])
        pool = _as_number(pool_raw)
        if pool is None:
            continue
        named = (annotations.get(key) for key in config["databaseAnnotations"])
        identifiers = {identifier for identifier in named if isinstance(identifier, str)}
        consumer = Consumer(workload, _full_scale(workload, resources), pool, pool_raw)
        for identifier in sorted(i for i in identifiers if isinstance(i, str) and i):
            by_database.setdefault(identifier, []).append(consumer)
    return by_database


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Per database of the stack: the sum of maxReplicas x pool <= max_connections - reserve."""
    databases = _databases(resources)
    for identifier, consumers in sorted(_consumers(resources, config).items()):
        instance = databases.get(identifier)
        if instance is None:
            continue  # a database of another stack (the primary, seen from a replica region)
        limit = _max_connections(instance, resources)
        if limit is None:
            yield Violation(
                f"database {identifier} has no max_connections parameter in its parameter group, so the "
                "pools of "
                f"{len(consumers)} Deployment(s) cannot be checked against it; set database.max_connections",
                "parameterGroupName",
                lookup(instance.props, "parameterGroupName"),
                urn=instance.urn,
            )
            continue
        yield from _check_budget(identifier, limit, consumers, config)


def _check_budget(
    identifier: str, limit: float, consumers: list[Consumer], config: Config
) -> Iterator[Violation]:
    reserve = float(config["reservedConnections"])
    budget = limit - reserve
    demand = sum(c.connections for c in consumers)
    if demand <= budget:
        return
    stacks = {stack_of(c.workload.urn) for c in consumers}
    parts = "; ".join(
        f"Deployment {c.workload.namespace}/{c.workload.name}"
        + (f" ({stack_of(c.workload.urn)})" if len(stacks) > 1 else "")
        + f": {show(c.pods)} pods x {show(c.pool)} connections = {show(c.connections)}"
        for c in consumers
    )
    largest = max(consumers, key=lambda c: c.connections)
    pool_cap = math.floor(budget / sum(c.pods for c in consumers)) if any(c.pods for c in consumers) else 0
    yield Violation(
        f"at full scale the app would open {show(demand)} connections to database {identifier}, over its "
        "budget "
        f"of {show(budget)} (max_connections {show(limit)} - {show(reserve)} reserved) by "
        f"{show(demand - budget)}: "
        f"{parts}; lower database.primary.pool.max_open_conns (to {pool_cap} or less) or the autoscaler's "
        "max_replicas, or raise database.max_connections",
        f"metadata.annotations.{config['poolAnnotation']}",
        largest.pool_raw,
        urn=largest.workload.urn,
    )


POLICY = PolicyDefinition(
    id="connection-budget",
    description=(
        "At full scale (HPA maxReplicas x pool size, summed over the Deployments using it) a "
        "database's connections stay within max_connections minus a reserve."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Lower database.primary.pool.max_open_conns or scaling.autoscaler.max_replicas, or raise "
        "database.max_connections in global.tsk."
    ),
    config_schema={
        "reservedConnections": {
            "type": "integer",
            "minimum": 0,
            "default": 25,
            "description": "Kept free for superusers (3 + RDS's 2), WAL senders (10) and operators.",
        },
        "poolAnnotation": {
            "type": "string",
            "default": "tusk-infra.dev/db-pool-max-open-conns",
            "description": "Deployment annotation holding one pod's pool size.",
        },
        "databaseAnnotations": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["tusk-infra.dev/database-identifier", "tusk-infra.dev/database-primary-identifier"],
            "description": "Deployment annotations naming the RDS identifiers the pods connect to.",
        },
    },
    validate_stack=validate,
    # Replica regions write to the primary: its budget counts the Deployments of every region.
    cross_stack=True,
    tags=("scaling", "aws", "rds", "kubernetes"),
)
