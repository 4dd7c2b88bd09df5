"""data-store-alarms: every ElastiCache replication group and RDS instance has its CloudWatch alarms, each
with an action.

An alarm watches a data store when its dimensions name it (DBInstanceIdentifier = the instance's
identifier; CacheClusterId = one of the group's member clusters `<group id>-0001-001`...), or, while that
dimension is only known after deploy, when its `tusk-infra.dev/watches` tag names the store's Pulumi
resource. ElastiCache metrics are per node: each metric needs an alarm on every node (shards x (1 +
replicas per shard)).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tusk_policy.aws import METRIC_ALARM, RDS_INSTANCE, REPLICATION_GROUP, WATCHES_TAG, is_read_replica
from tusk_policy.kube import stack_of
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_list, is_mapping, known, number

CACHE_NAMESPACE = "AWS/ElastiCache"
RDS_NAMESPACE = "AWS/RDS"


@dataclass(frozen=True)
class _Watch:
    """One alarm as this policy sees it: what it measures, which node (when known), whether it acts."""

    alarm: Resource
    metric: str
    node: str
    has_action: bool


def _alarms(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == METRIC_ALARM]


def _same_stack(a: Resource, b: Resource) -> bool:
    return not stack_of(a.urn) or not stack_of(b.urn) or stack_of(a.urn) == stack_of(b.urn)


def _tagged(alarm: Resource, store: Resource, config: Config) -> bool:
    tags = known(alarm.props, "tags")
    # Not a dotted lookup: the tag's key holds a dot.
    return is_mapping(tags) and tags.get(config["watchesTag"]) == store.name


def _dimensions(alarm: Resource) -> Mapping[str, Any]:
    dimensions = known(alarm.props, "dimensions")
    return dimensions if is_mapping(dimensions) else {}


def _has_action(alarm: Resource) -> bool:
    actions = known(alarm.props, "alarmActions")
    return is_list(actions) and len(actions) > 0


def _watch(alarm: Resource, node: str) -> _Watch:
    metric = known(alarm.props, "metricName")
    return _Watch(alarm, metric if isinstance(metric, str) else "", node, _has_action(alarm))


def _cache_watches(group: Resource, alarms: Sequence[Resource], config: Config) -> list[_Watch]:
    group_id = known(group.props, "replicationGroupId")
    found = []
    for alarm in alarms:
        if known(alarm.props, "namespace") != CACHE_NAMESPACE or not _same_stack(alarm, group):
            continue
        dimensions = _dimensions(alarm)
        member = known(dimensions, "CacheClusterId")
        named = (
            isinstance(group_id, str)
            and (
                (isinstance(member, str) and member.startswith(f"{group_id}-"))
                or known(dimensions, "ReplicationGroupId") == group_id
            )
        )
        if named or _tagged(alarm, group, config):
            found.append(_watch(alarm, member if isinstance(member, str) else alarm.urn or alarm.name))
    return found


def _database_watches(instance: Resource, alarms: Sequence[Resource], config: Config) -> list[_Watch]:
    identifier = known(instance.props, "identifier")
    found = []
    for alarm in alarms:
        if known(alarm.props, "namespace") != RDS_NAMESPACE or not _same_stack(alarm, instance):
            continue
        dimension = known(_dimensions(alarm), "DBInstanceIdentifier")
        named = isinstance(identifier, str) and dimension == identifier
        if named or _tagged(alarm, instance, config):
            found.append(_watch(alarm, "instance"))
    return found


def _missing(watches: Sequence[_Watch], metrics: Sequence[str], nodes: int | None) -> Iterator[str]:
    """What is missing, per metric: no alarm, no alarm with an action, or too few nodes covered."""
    for metric in metrics:
        of_metric = [w for w in watches if w.metric == metric]
        acting = {w.node for w in of_metric if w.has_action}
        if not of_metric:
            yield f"no {metric} alarm"
        elif not acting:
            yield f"a {metric} alarm without alarmActions (it fires silently)"
        elif nodes is not None and len(acting) < nodes:
            yield f"{metric} alarms with an action on {len(acting)} of its {nodes} nodes"


def _cache_nodes(group: Resource) -> int | None:
    shards = number(known(group.props, "numNodeGroups"))
    replicas = number(known(group.props, "replicasPerNodeGroup"))
    if shards is None or replicas is None:
        return None
    return int(shards * (1 + replicas))


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Per replication group and per RDS instance: an alarm with an action on each required metric."""
    alarms = _alarms(resources)
    for resource in resources:
        if resource.type == REPLICATION_GROUP:
            store = f"ElastiCache replication group {resource.name}"
            watches = _cache_watches(resource, alarms, config)
            missing = list(_missing(watches, config["cacheMetrics"], _cache_nodes(resource)))
        elif resource.type == RDS_INSTANCE:
            identifier = known(resource.props, "identifier")
            store = f"RDS instance {identifier if isinstance(identifier, str) else resource.name}"
            metrics = list(config["databaseMetrics"])
            if is_read_replica(resource.props):
                metrics += config["replicaMetrics"]
            missing = list(_missing(_database_watches(resource, alarms, config), metrics, None))
        else:
            continue
        if missing:
            yield Violation(
                f"{store} has {'; '.join(missing)}: a data store without its alarms fails unnoticed; "
                "create them with "
                "RegionalAlarms (tusk_infra/components/alerting.py), thresholds in global.tsk's "
                "monitoring.alarms",
                urn=resource.urn,
            )


POLICY = PolicyDefinition(
    id="data-store-alarms",
    description=(
        "Every ElastiCache replication group (on every node) and RDS instance has CloudWatch alarms on its "
        "key metrics, each with an action."
    ),
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Create the alarms with RegionalAlarms (tusk_infra/components/alerting.py) for every data store; "
        "tune thresholds in global.tsk's monitoring.alarms."
    ),
    config_schema={
        "cacheMetrics": {
            "type": "array",
            "items": {"type": "string"},
            "default": [
                "EngineCPUUtilization",
                "DatabaseMemoryUsagePercentage",
                "Evictions",
                "ReplicationLag",
                "CurrConnections",
            ],
            "description": "AWS/ElastiCache metrics every node of a replication group needs an alarm on.",
        },
        "databaseMetrics": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["CPUUtilization", "FreeableMemory", "FreeStorageSpace", "DatabaseConnections"],
            "description": "AWS/RDS metrics every instance needs an alarm on.",
        },
        "replicaMetrics": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["ReplicaLag"],
            "description": "AWS/RDS metrics a read replica needs an alarm on as well.",
        },
        "watchesTag": {
            "type": "string",
            "default": WATCHES_TAG,
            "description": "Alarm tag naming the watched resource, used while its dimension is unknown.",
        },
    },
    validate_stack=validate,
    tags=("aws", "cloudwatch", "alerting", "elasticache", "rds"),
)
