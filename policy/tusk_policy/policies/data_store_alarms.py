"""data-store-alarms: every ElastiCache replication group and RDS instance has its CloudWatch alarms, each
with an action.

An alarm watches a data store when its dimensions name it (DBInstanceIdentifier = the instance's
identifier; CacheClusterId = one of the group's member clusters `<group id>-0001-001`...), or, while that
dimension is only known after deploy, when its `tusk-infra.dev/watches` tag names the store's Pulumi
resource. ElastiCache metrics are per node: each metric must be watched on every node (shards x (1 +
replicas per shard)), by a single-metric alarm per node or by a metric-math alarm (`metricQueries`) over
several nodes, as RegionalAlarms creates one per group of whole shards of at most 10 nodes (`MAX(METRICS())`
over the group's nodes). A metric-math alarm counts for each node whose metric feeds the query it returns
(`returnData`) whole: all of them for `MAX(METRICS())`, the ids of `MAX([a, b])` or a bare id, and none for
any other expression (`MIN` fires only when every node is bad; a sum or a constant on something else); which
shards an alarm groups does not matter, only that every node is covered. With the nodes' ids known, the
violation names the nodes each metric misses; while they are known only after deploy, nodes are counted.
An alarm with more than 10 metric queries is a violation too: CloudWatch refuses it at deploy.
"""

from __future__ import annotations

import re
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
    """One metric an alarm watches as this policy sees it: what it measures, which node (its id when known,
    else a key of its own), whether the alarm acts."""

    alarm: Resource
    metric: str
    node: str
    has_action: bool


@dataclass(frozen=True)
class _Measured:
    """One metric an alarm compares with its threshold: the alarm's own, or a metric query's."""

    namespace: object
    metric: object
    dimensions: Mapping[str, Any]
    # Which node, for counting, when the dimension naming it is only known after deploy.
    key: str


def _alarms(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == METRIC_ALARM]


def _same_stack(a: Resource, b: Resource) -> bool:
    return not stack_of(a.urn) or not stack_of(b.urn) or stack_of(a.urn) == stack_of(b.urn)


def _tagged(alarm: Resource, store: Resource, config: Config) -> bool:
    tags = known(alarm.props, "tags")
    # Not a dotted lookup: the tag's key holds a dot.
    return is_mapping(tags) and tags.get(config["watchesTag"]) == store.name


def _mapping(value: object) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def _measured(alarm: Resource) -> list[_Measured]:
    """The metrics an alarm watches: its own, or those of its metric queries that feed the returned one."""
    props = alarm.props
    queries = known(props, "metricQueries")
    key = alarm.urn or alarm.name
    if not is_list(queries) or len(queries) == 0:
        return [
            _Measured(
                known(props, "namespace"),
                known(props, "metricName"),
                _mapping(known(props, "dimensions")),
                key,
            )
        ]
    found = []
    for index in _feeding(props, len(queries)):
        path = f"metricQueries.{index}.metric"
        if known(props, path) is None:
            continue
        query_id = known(props, f"metricQueries.{index}.id")
        found.append(
            _Measured(
                known(props, f"{path}.namespace"),
                known(props, f"{path}.metricName"),
                _mapping(known(props, f"{path}.dimensions")),
                f"{key}#{query_id if isinstance(query_id, str) else index}",
            )
        )
    return found


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _feeding(props: Mapping[str, Any], count: int) -> set[int]:
    """The indices of the metric queries the alarm's returned query reads: itself, the queries its expression
    names by id, all for `METRICS()` or an expression only known after deploy, followed through expressions
    that name other expressions."""
    # Only a text id can be named by an expression (a malformed one, a list say, names nothing).
    ids = {query_id: i for i in range(count)
           if isinstance(query_id := known(props, f"metricQueries.{i}.id"), str)}
    returned = [i for i in range(count) if known(props, f"metricQueries.{i}.returnData") is True]
    if not returned:  # CloudWatch returns every query not marked false
        returned = [i for i in range(count) if known(props, f"metricQueries.{i}.returnData") is not False]
    found: set[int] = set()
    pending = list(returned)
    while pending:
        index = pending.pop()
        if index in found:
            continue
        found.add(index)
        if known(props, f"metricQueries.{index}.metric") is not None:
            continue
        expression = known(props, f"metricQueries.{index}.expression")
        if not isinstance(expression, str):  # known after deploy: no verdict offline
            return set(range(count))
        passed_on = _passed_on(expression)
        if passed_on is None:
            return set(range(count))
        pending += [ids[name] for name in passed_on if name in ids]
    return found


_WORST_OF = re.compile(r"\s*MAX\(\s*(?:METRICS\(\s*\)|\[(?P<ids>[^\]]*)\])\s*\)\s*")


def _passed_on(expression: str) -> list[str] | None:
    """The queries whose every value reaches the threshold through `expression`: all of them (None) for
    MAX(METRICS()), the ids of MAX([a, b]) or a bare id; none for anything else (MIN fires only when every
    node is bad, a sum or a constant on something other than a node crossing the threshold)."""
    worst = _WORST_OF.fullmatch(expression)
    if worst is not None:
        return None if worst["ids"] is None else _IDENTIFIER.findall(worst["ids"])
    bare = expression.strip()
    return [bare] if _IDENTIFIER.fullmatch(bare) else []


# PutMetricAlarm takes at most 10 queries that retrieve a metric (MetricStat) in one metric-math alarm.
MAX_METRICS_PER_ALARM = 10


def _oversized(alarms: Sequence[Resource]) -> Iterator[Violation]:
    for alarm in alarms:
        queries = known(alarm.props, "metricQueries")
        if not is_list(queries):
            continue
        metrics = sum(1 for query in queries if is_mapping(query) and query.get("metric") is not None)
        if metrics > MAX_METRICS_PER_ALARM:
            yield Violation(
                f"alarm {alarm.name} has {metrics} metrics in its metric queries; CloudWatch takes at most "
                f"{MAX_METRICS_PER_ALARM} in an alarm and would refuse it at deploy: split the nodes over "
                "several alarms",
                urn=alarm.urn,
            )


def _has_action(alarm: Resource) -> bool:
    actions = known(alarm.props, "alarmActions")
    return is_list(actions) and len(actions) > 0


def _watch(alarm: Resource, measured: _Measured, node: str) -> _Watch:
    metric = measured.metric
    return _Watch(alarm, metric if isinstance(metric, str) else "", node, _has_action(alarm))


def _cache_watches(group: Resource, alarms: Sequence[Resource], config: Config) -> list[_Watch]:
    group_id = known(group.props, "replicationGroupId")
    found = []
    for alarm in alarms:
        if not _same_stack(alarm, group):
            continue
        tagged = _tagged(alarm, group, config)
        for measured in _measured(alarm):
            if measured.namespace != CACHE_NAMESPACE:
                continue
            member = known(measured.dimensions, "CacheClusterId")
            named = isinstance(group_id, str) and (
                (isinstance(member, str) and member.startswith(f"{group_id}-"))
                or known(measured.dimensions, "ReplicationGroupId") == group_id
            )
            if named or tagged:
                found.append(_watch(alarm, measured, member if isinstance(member, str) else measured.key))
    return found


def _database_watches(instance: Resource, alarms: Sequence[Resource], config: Config) -> list[_Watch]:
    identifier = known(instance.props, "identifier")
    found = []
    for alarm in alarms:
        if not _same_stack(alarm, instance):
            continue
        tagged = _tagged(alarm, instance, config)
        for measured in _measured(alarm):
            if measured.namespace != RDS_NAMESPACE:
                continue
            dimension = known(measured.dimensions, "DBInstanceIdentifier")
            if (isinstance(identifier, str) and dimension == identifier) or tagged:
                found.append(_watch(alarm, measured, "instance"))
    return found


def _missing(
    watches: Sequence[_Watch], metrics: Sequence[str], nodes: int | None, node_ids: Sequence[str] = ()
) -> Iterator[str]:
    """What is missing, per metric: no alarm, no alarm with an action, or nodes not covered (named when the
    nodes' ids are known, else counted)."""
    for metric in metrics:
        of_metric = [w for w in watches if w.metric == metric]
        acting = {w.node for w in of_metric if w.has_action}
        unwatched = [node for node in node_ids if node not in acting]
        if not of_metric:
            yield f"no {metric} alarm"
        elif not acting:
            yield f"a {metric} alarm without alarmActions (it fires silently)"
        elif node_ids and unwatched:
            yield (
                f"{metric} watched by alarms with an action on {len(node_ids) - len(unwatched)} of its "
                f"{len(node_ids)} nodes, not on {', '.join(unwatched)}"
            )
        elif not node_ids and nodes is not None and len(acting) < nodes:
            yield f"{metric} watched by alarms with an action on {len(acting)} of its {nodes} nodes"


def _cache_shape(group: Resource) -> tuple[int, int] | None:
    shards = number(known(group.props, "numNodeGroups"))
    replicas = number(known(group.props, "replicasPerNodeGroup"))
    if shards is None or replicas is None:
        return None
    return int(shards), int(replicas)


def _cache_nodes(group: Resource) -> int | None:
    shape = _cache_shape(group)
    return None if shape is None else shape[0] * (1 + shape[1])


def _cache_node_ids(group: Resource) -> list[str]:
    """The member clusters' ids, `<group id>-0001-001`..., when the group's id is known."""
    group_id = known(group.props, "replicationGroupId")
    shape = _cache_shape(group)
    if not isinstance(group_id, str) or shape is None:
        return []
    shards, replicas = shape
    return [
        f"{group_id}-{shard:04d}-{node:03d}"
        for shard in range(1, shards + 1)
        for node in range(1, replicas + 2)
    ]


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Per replication group and per RDS instance: an alarm with an action on each required metric; and no
    alarm with more metrics than CloudWatch takes."""
    alarms = _alarms(resources)
    yield from _oversized(alarms)
    for resource in resources:
        if resource.type == REPLICATION_GROUP:
            store = f"ElastiCache replication group {resource.name}"
            watches = _cache_watches(resource, alarms, config)
            missing = list(
                _missing(watches, config["cacheMetrics"], _cache_nodes(resource), _cache_node_ids(resource))
            )
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
        "Every ElastiCache replication group (on every node, per node or in a metric-math alarm over "
        "several) and RDS instance has CloudWatch alarms on its key metrics, each with an action."
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
            "description": "AWS/ElastiCache metrics alarms must watch on every node of a replication group.",
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
