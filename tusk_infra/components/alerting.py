"""RegionalAlarms: the region's SNS topic, who it notifies, and CloudWatch alarms on its data stores.

ElastiCache publishes its metrics per node (dimension CacheClusterId), not per replication group. A
cluster-mode group names its member clusters from its own id, the shard and the node: `<group>-0001-001` is
shard 1's first node, `<group>-0003-002` shard 3's second. The ids are derived here from the group's id, its
shard count and its replicas per shard. The shards are gathered into groups of consecutive whole shards of
at most 10 nodes together (CloudWatch takes at most 10 metrics in a metric-math alarm; a new group starts when
the next shard would not fit), and each group gets one alarm per metric, not one per node or per shard: a
metric-math alarm whose queries fetch the metric of each of the group's nodes (one MetricStat query per node,
with the metric's own statistic) and whose expression, `MAX(METRICS())`, is the worst node at each timestamp.
It fires when any node of the group crosses the threshold, so every node is still watched; with 3 nodes a
shard, up to 3 shards share an alarm (the shipped deployment: 5 cache alarms a region), and a region's preview
pays Pulumi's registration per resource, not per query. An alarm is named by its group's first shard, so
adding a shard at the end keeps the existing alarms' names. A shard of more than 10 nodes is refused
(ElastiCache allows 5 replicas per shard: 6 nodes). Which node of a shard is the primary changes on failover,
so ReplicationLag (which only replicas report) is watched on every node, missing data not breaching.

Route 53 publishes health-check metrics only in us-east-1: those alarms, and the topic they notify, are
created with a us-east-1 provider whatever the stack's region (in the us-east-1 stack, the region's own
topic serves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.sns as sns

from tusk_infra.settings import (
    DEFAULT_FREEABLE_MEMORY_PERCENT,
    Alarms,
    Database,
    DatabaseAlarms,
    free_storage_threshold,
    freeable_memory_threshold,
)
from tusk_infra.stack_config import AlarmSubscription

# The region whose CloudWatch receives Route 53's health-check metrics.
HEALTH_CHECK_METRICS_REGION = "us-east-1"
# Each alarm names the resource it watches (the Pulumi logical name), for the data-store-alarms policy: an
# ElastiCache node's id is only known once the replication group exists.
WATCHES_TAG = "tusk-infra.dev/watches"
HEALTH_CHECK_WATCHED = "route53-health-check"
# Each alarm whose threshold global.tsk sets names that setting (a dotted path `explain` takes).
THRESHOLD_TAG = "tusk-infra.dev/threshold"
ALARMS_SETTINGS = "monitoring.alarms"
# A metric-math alarm: CloudWatch (PutMetricAlarm) takes at most 10 metrics (MetricStat queries) in one alarm.
MAX_METRICS_PER_ALARM = 10
# The expression a group's alarm compares with its threshold: at each timestamp, the worst of its nodes.
SHARD_EXPRESSION = "MAX(METRICS())"
SHARD_EXPRESSION_ID = "worst"


@dataclass(frozen=True)
class WatchedCache:
    """An ElastiCache replication group in cluster mode, as the alarms need it."""

    replication_group_id: pulumi.Input[str]
    resource_name: str
    shards: int
    replicas_per_shard: int


@dataclass(frozen=True)
class WatchedDatabase:
    """An RDS instance (the region's primary or replica), as the alarms need it."""

    identifier: pulumi.Input[str]
    resource_name: str
    settings: Database
    is_replica: bool


@dataclass(frozen=True)
class RegionalAlarmsArgs:
    """The region, thresholds (global.tsk's monitoring.alarms), receivers and what to watch."""

    region: str
    # Physical names start with it: "<prefix>-<region>-..." (alarm and topic names are per account/region).
    name_prefix: str
    thresholds: Alarms
    subscriptions: Sequence[AlarmSubscription]
    cache: WatchedCache
    database: WatchedDatabase
    # The region's Route 53 health check; None: no health-check alarms.
    health_check_id: pulumi.Input[str] | None = None
    # Whether that health check measures latency (TimeToFirstByte exists only then).
    health_check_measures_latency: bool = False
    # A provider in us-east-1, for the health-check alarms and their topic; needed outside us-east-1.
    health_check_provider: pulumi.ProviderResource | None = None


@dataclass(frozen=True)
class _Alarm:
    """What differs between alarms: the metric, how it is compared, and what to do about it."""

    slug: str
    namespace: str
    metric: str
    statistic: str
    comparison: str
    threshold: float
    shown: str  # the threshold in words ("above 80 %")
    runbook: str
    treat_missing_data: str = "missing"
    # The global.tsk setting the threshold comes from, under monitoring.alarms ("" when it is fixed).
    setting: str = ""


class RegionalAlarms(pulumi.ComponentResource):
    """One SNS topic per region with its subscriptions; alarms on ElastiCache, RDS and the health check."""

    topic_arn: pulumi.Output[str]
    health_check_topic_arn: pulumi.Output[str] | None
    alarm_names: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: RegionalAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tusk:alerting:RegionalAlarms", name, None, opts)
        self._name = name
        self._args = args
        self._alarms: list[cloudwatch.MetricAlarm] = []
        child = pulumi.ResourceOptions(parent=self)
        topic = self._topic(f"{name}-topic", f"{args.name_prefix}-{args.region}-alarms", child)
        self._cache_alarms(topic)
        self._database_alarms(topic)
        self.topic_arn = topic.arn
        self.health_check_topic_arn = None
        if args.health_check_id is not None:
            health_topic = self._health_check_topic(topic)
            self._health_check_alarms(health_topic, args.health_check_id)
            self.health_check_topic_arn = health_topic.arn
        self.alarm_names = pulumi.Output.all(*(alarm.name for alarm in self._alarms)).apply(list)
        outputs: dict[str, pulumi.Input[object]] = {
            "topic_arn": self.topic_arn,
            "alarm_names": self.alarm_names,
        }
        if self.health_check_topic_arn is not None:
            outputs["health_check_topic_arn"] = self.health_check_topic_arn
        self.register_outputs(outputs)

    def _topic(self, resource_name: str, topic_name: str, opts: pulumi.ResourceOptions) -> sns.Topic:
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarm
        # notifications carry no data beyond metric names and values.
        topic = sns.Topic(resource_name, name=topic_name, display_name=topic_name, opts=opts)
        for index, subscription in enumerate(self._args.subscriptions):
            # An https endpoint may carry an integration key: state and previews keep it masked.
            endpoint: pulumi.Input[str] = (
                pulumi.Output.secret(subscription.endpoint)
                if subscription.protocol == "https"
                else subscription.endpoint
            )
            sns.TopicSubscription(
                # Named after its topic: the alarm-subscriptions policy matches them by name when the topic's
                # ARN is only known after deploy.
                f"{resource_name}-subscription-{index}",
                topic=topic.arn,
                protocol=subscription.protocol,
                endpoint=endpoint,
                opts=opts,
            )
        return topic

    def _health_check_topic(self, regional_topic: sns.Topic) -> sns.Topic:
        if self._args.region == HEALTH_CHECK_METRICS_REGION:
            return regional_topic
        if self._args.health_check_provider is None:
            raise ValueError(
                f"{self._name}: health-check alarms outside {HEALTH_CHECK_METRICS_REGION} need a "
                "provider there"
            )
        name = f"{self._args.name_prefix}-{self._args.region}-health-alarms"
        return self._topic(f"{self._name}-health-topic", name, self._health_check_opts())

    def _health_check_opts(self) -> pulumi.ResourceOptions:
        if self._args.region == HEALTH_CHECK_METRICS_REGION:
            return pulumi.ResourceOptions(parent=self)
        return pulumi.ResourceOptions(parent=self, provider=self._args.health_check_provider)

    def _alarm(
        self,
        slug: str,
        alarm: _Alarm,
        dimensions: Mapping[str, pulumi.Input[str]],
        subject: pulumi.Output[str],
        watches: str,
        topic: sns.Topic,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """One alarm on one metric of one resource that notifies the topic when it fires and when it clears;
        its description names the region, the resource, the threshold and the runbook."""
        # One apply per alarm (not a concat of parts): the preview registers dozens of these per region.
        tail = (
            f": {alarm.metric} {alarm.shown} ({alarm.statistic}, {self._window()}). Runbook: {alarm.runbook}"
        )
        description = subject.apply(lambda named: f"{self._args.region}: {named}{tail}")
        self._notifying_alarm(
            slug,
            alarm,
            description,
            watches,
            topic,
            opts,
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            dimensions=dict(dimensions),
            statistic=alarm.statistic,
            period=self._args.thresholds.period_seconds,
        )

    def _window(self) -> str:
        thresholds = self._args.thresholds
        return (
            f"{thresholds.datapoints_to_alarm} of {thresholds.evaluation_periods} periods of "
            f"{thresholds.period_seconds} s"
        )

    def _notifying_alarm(
        self,
        slug: str,
        alarm: _Alarm,
        description: pulumi.Input[str],
        watches: str,
        topic: sns.Topic,
        opts: pulumi.ResourceOptions | None,
        **metric: Any,
    ) -> None:
        """The alarm, given what it measures (`metric`: one metric's namespace, name, dimensions, statistic
        and period, or metric-math `metric_queries`), comparing it with `alarm`'s threshold and notifying the
        topic on ALARM and OK."""
        thresholds = self._args.thresholds
        self._alarms.append(
            cloudwatch.MetricAlarm(
                f"{self._name}-{slug}",
                name=f"{self._args.name_prefix}-{self._args.region}-{slug}",
                alarm_description=description,
                **metric,
                comparison_operator=alarm.comparison,
                threshold=alarm.threshold,
                evaluation_periods=thresholds.evaluation_periods,
                datapoints_to_alarm=thresholds.datapoints_to_alarm,
                treat_missing_data=alarm.treat_missing_data,
                alarm_actions=[topic.arn],
                ok_actions=[topic.arn],
                # The stack's own tags come through the provider (default_tags).
                tags={WATCHES_TAG: watches, **_threshold_tag(alarm)},
                opts=opts or pulumi.ResourceOptions(parent=self),
            )
        )

    def _cache_alarms(self, topic: sns.Topic) -> None:
        """Per group of whole shards (at most 10 nodes) and metric, one metric-math alarm on the worst of the
        group's nodes."""
        cache = self._args.cache
        # Before any Output: ElastiCache allows 5 replicas per shard (6 nodes; the settings refuse more), so
        # a shard too big for one alarm can only come from another caller.
        groups = shard_groups(cache.shards, cache.replicas_per_shard,
                              shard_name=f"{self._name}: a shard of {cache.resource_name}")
        group_id = pulumi.Output.from_input(cache.replication_group_id)
        alarms = cache_alarms(self._args.thresholds)
        for shards in groups:
            nodes = [node for shard in shards for node in shard_member_nodes(shard, cache.replicas_per_shard)]
            # One apply per node, shared by the group's five alarms.
            members = [group_id.apply(partial(member_cluster_id, node=node)) for node in nodes]
            for alarm in alarms:
                tail = (
                    f": {alarm.metric} {alarm.shown} on any node (the maximum over the nodes of each "
                    f"node's {alarm.statistic}, {self._window()}). Runbook: {alarm.runbook}"
                )
                # Each alarm's description is an Output of its own, so one apply each (a plain-string
                # description without the ids measured the same within noise).
                description = group_id.apply(
                    partial(
                        _shards_description, region=self._args.region, shards=shards, nodes=nodes, tail=tail
                    )
                )
                # Named by the group's first shard: a shard added at the end joins the last group or starts a
                # new one, and the existing alarms keep their names (and are updated, not replaced).
                self._notifying_alarm(
                    f"redis-shards-{shards[0]:04d}-{alarm.slug}",
                    alarm,
                    description,
                    cache.resource_name,
                    topic,
                    None,
                    metric_queries=self._group_queries(alarm, shards, nodes, members),
                )

    def _group_queries(
        self,
        alarm: _Alarm,
        shards: Sequence[int],
        nodes: Sequence[str],
        members: Sequence[pulumi.Input[str]],
    ) -> list[cloudwatch.MetricAlarmMetricQueryArgs]:
        """One MetricStat query per node of the group's shards (not returned) and the expression the alarm
        compares: the maximum over them at each timestamp. Only the expression has return_data true
        (CloudWatch wants exactly one); the alarm itself then has no namespace, metric, dimensions, statistic
        or period."""
        queries = [
            cloudwatch.MetricAlarmMetricQueryArgs(
                id=f"node{index}",
                label=f"node {node}",
                metric=cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=alarm.namespace,
                    metric_name=alarm.metric,
                    dimensions={"CacheClusterId": member},
                    stat=alarm.statistic,
                    period=self._args.thresholds.period_seconds,
                ),
                return_data=False,
            )
            for index, (node, member) in enumerate(zip(nodes, members, strict=True), 1)
        ]
        worst = cloudwatch.MetricAlarmMetricQueryArgs(
            id=SHARD_EXPRESSION_ID,
            expression=SHARD_EXPRESSION,
            label=f"{alarm.metric}, worst node of {shards_words(shards)}",
            return_data=True,
        )
        return [*queries, worst]

    def _database_alarms(self, topic: sns.Topic) -> None:
        database = self._args.database
        role = "read replica" if database.is_replica else "primary"
        subject = pulumi.Output.from_input(database.identifier).apply(
            lambda identifier: f"RDS {role} {identifier}"
        )
        for alarm in database_alarms(
            self._args.thresholds, database.settings, is_replica=database.is_replica
        ):
            self._alarm(
                f"postgres-{alarm.slug}",
                alarm,
                {"DBInstanceIdentifier": database.identifier},
                subject,
                database.resource_name,
                topic,
            )

    def _health_check_alarms(self, topic: sns.Topic, health_check_id: pulumi.Input[str]) -> None:
        region = self._args.region
        subject = pulumi.Output.from_input(health_check_id).apply(
            lambda check: f"Route 53 health check of {region} {check}"
        )
        for alarm in health_check_alarms(self._args.thresholds, self._args.health_check_measures_latency):
            self._alarm(
                f"health-{alarm.slug}",
                alarm,
                {"HealthCheckId": health_check_id},
                subject,
                HEALTH_CHECK_WATCHED,
                topic,
                self._health_check_opts(),
            )


def _threshold_tag(alarm: _Alarm) -> dict[str, str]:
    """Where the threshold is set, for a reviewer to `tusk-infra explain global.tsk <path>`."""
    return {THRESHOLD_TAG: f"{ALARMS_SETTINGS}.{alarm.setting}"} if alarm.setting else {}


def member_cluster_id(group: str, node: str) -> str:
    """A member cluster's id: the replication group's id and the node's suffix ("0002-003")."""
    return f"{group}-{node}"


def _shards_description(
    group: str, region: str, shards: Sequence[int], nodes: Sequence[str], tail: str
) -> str:
    members = ", ".join(member_cluster_id(group, node) for node in nodes)
    return (
        f"{region}: ElastiCache {shards_words(shards)} of replication group {group} (nodes {members}){tail}"
    )


def shards_words(shards: Sequence[int]) -> str:
    """Consecutive shards in words: "shards 0001-0003", or "shard 0004" alone."""
    if len(shards) == 1:
        return f"shard {shards[0]:04d}"
    return f"shards {shards[0]:04d}-{shards[-1]:04d}"


def shard_groups(shards: int, replicas_per_shard: int, *, shard_name: str = "a shard") -> list[list[int]]:
    """The shards (1..shards) gathered into groups of consecutive whole shards whose nodes total at most
    MAX_METRICS_PER_ALARM, one metric-math alarm per group and metric; a group is closed when the next shard
    would not fit. A shard alone of more nodes fits no alarm: ValueError, naming it as `shard_name` says."""
    nodes_per_shard = 1 + replicas_per_shard
    if nodes_per_shard > MAX_METRICS_PER_ALARM:
        raise ValueError(
            f"{shard_name} has {nodes_per_shard} nodes, but a CloudWatch metric-math alarm takes at most "
            f"{MAX_METRICS_PER_ALARM} metrics"
        )
    groups: list[list[int]] = []
    for shard in range(1, shards + 1):
        if groups and (len(groups[-1]) + 1) * nodes_per_shard <= MAX_METRICS_PER_ALARM:
            groups[-1].append(shard)
        else:
            groups.append([shard])
    return groups


def shard_member_nodes(shard: int, replicas_per_shard: int) -> list[str]:
    """The member-cluster suffixes of one shard: its primary and replicas, "0002-001", "0002-002", ..."""
    return [f"{shard:04d}-{node:03d}" for node in range(1, replicas_per_shard + 2)]


def cache_member_nodes(shards: int, replicas_per_shard: int) -> list[str]:
    """The member-cluster suffixes of a cluster-mode replication group: "0001-001", "0001-002", ..."""
    return [node for shard in range(1, shards + 1) for node in shard_member_nodes(shard, replicas_per_shard)]


def cache_alarms(thresholds: Alarms) -> list[_Alarm]:
    """The alarms of one group of ElastiCache shards, each on the metric of every one of its nodes."""
    cache = thresholds.cache
    namespace = "AWS/ElastiCache"
    above = "GreaterThanThreshold"
    return [
        _Alarm("engine-cpu", namespace, "EngineCPUUtilization", "Average", above, cache.cpu_percent,
               f"above {cache.cpu_percent} %",
               "look for hot keys and slow commands (SLOWLOG GET); add shards or a larger node_type "
               "(distributed_cache.redis_cluster).", setting="cache.cpu_percent"),
        _Alarm("memory", namespace, "DatabaseMemoryUsagePercentage", "Average", above, cache.memory_percent,
               f"above {cache.memory_percent} %",
               "check key growth and TTLs (performance.cache_ttl); add shards or a larger node_type before "
               "evictions start.", setting="cache.memory_percent"),
        _Alarm("evictions", namespace, "Evictions", "Sum", above, cache.evictions,
               f"above {cache.evictions} keys per period",
               "the node is full and dropping keys: add memory (shards or node_type) or shorten TTLs.",
               "notBreaching", "cache.evictions"),
        # Only a replica reports ReplicationLag, and failover swaps roles: no data is not a problem.
        _Alarm("replication-lag", namespace, "ReplicationLag", "Maximum", above,
               cache.replication_lag_seconds, f"above {cache.replication_lag_seconds} s",
               "a replica serves stale reads: check the primary's write rate and the node's network.",
               "notBreaching", "cache.replication_lag_seconds"),
        _Alarm("connections", namespace, "CurrConnections", "Maximum", above, cache.connections,
               f"above {cache.connections} connections",
               "ElastiCache refuses clients past 65,000: check the app's Redis pool and for leaked "
               "connections.", setting="cache.connections"),
    ]  # fmt: skip


def database_alarms(thresholds: Alarms, database: Database, *, is_replica: bool) -> list[_Alarm]:
    """The alarms of the region's RDS instance; ReplicaLag only on a read replica."""
    alarms = thresholds.database
    namespace = "AWS/RDS"
    memory = freeable_memory_threshold(alarms, database.instance_class)
    if memory is None:  # the settings refuse this: a class missing from the table needs bytes
        raise ValueError(f"no FreeableMemory threshold for instance class {database.instance_class}")
    storage = free_storage_threshold(alarms, database)
    connections = database.max_connections * alarms.connections_percent // 100
    found = [
        _Alarm("cpu", namespace, "CPUUtilization", "Average", "GreaterThanThreshold", alarms.cpu_percent,
               f"above {alarms.cpu_percent} %",
               "find the top SQL in Performance Insights; move reads to replicas or raise "
               "database.instance_class.", setting="database.cpu_percent"),
        _Alarm("freeable-memory", namespace, "FreeableMemory", "Average", "LessThanThreshold", memory,
               f"below {memory} bytes ({_memory_words(alarms, database)})",
               "check connection count and work_mem-heavy queries; raise database.instance_class.",
               setting=_memory_setting(alarms)),
        _Alarm("free-storage", namespace, "FreeStorageSpace", "Minimum", "LessThanThreshold", storage,
               f"below {storage} bytes ({alarms.free_storage_percent} % of max_allocated_storage_gb "
               f"{database.max_allocated_storage_gb})",
               "autoscaling has reached max_allocated_storage_gb or cannot keep up: raise "
               "database.max_allocated_storage_gb or remove data.", setting="database.free_storage_percent"),
        _Alarm("connections", namespace, "DatabaseConnections", "Maximum", "GreaterThanThreshold",
               connections,
               f"above {connections} ({alarms.connections_percent} % of max_connections "
               f"{database.max_connections})",
               "new connections will soon be refused: check the pools (database.primary.pool) against "
               "the connection-budget policy.", setting="database.connections_percent"),
    ]  # fmt: skip
    if is_replica:
        found.append(
            _Alarm("replica-lag", namespace, "ReplicaLag", "Maximum", "GreaterThanThreshold",
                   alarms.replica_lag_seconds, f"above {alarms.replica_lag_seconds} s",
                   "reads in this region are stale: check the primary's write load and the replica's "
                   "instance class and storage throughput.", setting="database.replica_lag_seconds")
        )  # fmt: skip
    return found


def _memory_setting(alarms: DatabaseAlarms) -> str:
    if alarms.freeable_memory_bytes is not None:
        return "database.freeable_memory_bytes"
    return "database.freeable_memory_percent"


def _memory_words(alarms: DatabaseAlarms, database: Database) -> str:
    if alarms.freeable_memory_bytes is not None:
        return "monitoring.alarms.database.freeable_memory_bytes"
    percent = alarms.freeable_memory_percent or DEFAULT_FREEABLE_MEMORY_PERCENT
    return f"{percent} % of {database.instance_class}'s memory"


def health_check_alarms(thresholds: Alarms, measures_latency: bool) -> list[_Alarm]:
    """The alarms of the region's Route 53 health check; TimeToFirstByte only when it measures latency."""
    namespace = "AWS/Route53"
    found = [
        # No data from the checkers means Route 53 cannot see the region either.
        _Alarm("status", namespace, "HealthCheckStatus", "Minimum", "LessThanThreshold", 1,
               "below 1 (unhealthy)",
               "Route 53 stops answering with this region while it fails: check the load balancer and the "
               "readiness path; drain the region if it cannot serve.",
               "breaching"),
    ]  # fmt: skip
    if measures_latency:
        ttfb = thresholds.health_check.time_to_first_byte_ms
        found.append(
            _Alarm("time-to-first-byte", namespace, "TimeToFirstByte", "Average", "GreaterThanThreshold",
                   ttfb,
                   f"above {ttfb} ms",
                   "users of this region wait: check the app's latency, its pods' CPU and the data stores' "
                   "alarms.", setting="health_check.time_to_first_byte_ms")
        )  # fmt: skip
    return found
