"""redis-shard-limits: ElastiCache replication groups keep 1-15 shards with 1-5 replicas each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tusk_policy.aws import REPLICATION_GROUP
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_list, is_mapping, lookup, number, show


def _shards(props: Mapping[str, Any]) -> tuple[str, object, float | None]:
    """(path, raw value, count) of node groups: numNodeGroups, else nodeGroupConfigurations, else 1."""
    raw = lookup(props, "numNodeGroups")
    if raw is not None:
        return "numNodeGroups", raw, number(raw)
    configured = lookup(props, "nodeGroupConfigurations")
    if is_list(configured) and configured:
        return "nodeGroupConfigurations", len(configured), float(len(configured))
    return "numNodeGroups", raw, 1.0  # a non-cluster-mode group is one shard


def _replicas(props: Mapping[str, Any]) -> tuple[str, object, float | None]:
    """(path, raw value, count) of replicas per shard, from whichever field the program set."""
    raw = lookup(props, "replicasPerNodeGroup")
    if raw is not None:
        return "replicasPerNodeGroup", raw, number(raw)
    configured = lookup(props, "nodeGroupConfigurations")
    if is_list(configured) and configured:
        counts = [number(c.get("replicaCount")) if is_mapping(c) else None for c in configured]
        known = [c for c in counts if c is not None]
        lowest = min(known) if known else 0.0
        return "nodeGroupConfigurations", lowest, lowest
    clusters = number(lookup(props, "numCacheClusters"))
    # numCacheClusters counts the primary too; AWS defaults it to 1, i.e. no replica at all.
    return "numCacheClusters", clusters, (clusters - 1) if clusters is not None else 0.0


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Shard count and replicas per shard lie within the configured bounds."""
    path, raw, shards = _shards(resource.props)
    low, high = config["minNodeGroups"], config["maxNodeGroups"]
    if shards is None or not low <= shards <= high:
        yield Violation(
            f"{path} gives {show(raw)} shards, outside {show(low)}-{show(high)}: past that resharding takes "
            "hours "
            f"and costs grow without a plan; set distributed_cache.redis_cluster.shards between {show(low)} "
            "and "
            f"{show(high)}",
            path,
            raw,
        )
    path, raw, replicas = _replicas(resource.props)
    low, high = config["minReplicasPerNodeGroup"], config["maxReplicasPerNodeGroup"]
    if replicas is None or not low <= replicas <= high:
        yield Violation(
            f"{path} gives {show(replicas)} replicas per shard, outside {show(low)}-{show(high)}: without a "
            f"replica a node loss loses the shard, and ElastiCache allows at most 5; set "
            f"distributed_cache.redis_cluster.replicas_per_shard between {show(low)} and {show(high)}",
            path,
            raw,
        )


POLICY = PolicyDefinition(
    id="redis-shard-limits",
    description=(
        "ElastiCache replication groups have 1-15 node groups (shards) and 1-5 replicas per node group."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation=(
        "Set distributed_cache.redis_cluster.shards (1-15) and replicas_per_shard (1-5) in global.tsk."
    ),
    config_schema={
        "minNodeGroups": {"type": "integer", "minimum": 1, "default": 1},
        "maxNodeGroups": {"type": "integer", "minimum": 1, "maximum": 500, "default": 15},
        "minReplicasPerNodeGroup": {"type": "integer", "minimum": 0, "maximum": 5, "default": 1},
        "maxReplicasPerNodeGroup": {"type": "integer", "minimum": 0, "maximum": 5, "default": 5},
    },
    resource_types=frozenset({REPLICATION_GROUP}),
    validate_resource=validate,
    tags=("scaling", "aws", "elasticache"),
)
