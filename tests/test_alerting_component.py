"""RegionalAlarms under mocks: every argument a real pulumi_aws argument, one metric-math alarm per group of
whole ElastiCache shards (at most 10 nodes) and metric over exactly that group's nodes, ReplicaLag on replicas
only, health-check alarms through a us-east-1 provider."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws
import pytest
from conftest import PROGRAM_SECRETS, PROJECT_DIR, REPO
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.mocks import MockResourceArgs

from tusk_infra.components import PostgresCluster, PostgresClusterArgs, RedisCluster, RedisClusterArgs
from tusk_infra.components.alerting import (
    RegionalAlarms,
    RegionalAlarmsArgs,
    WatchedCache,
    WatchedDatabase,
    cache_member_nodes,
    shard_groups,
    shard_member_nodes,
)
from tusk_infra.components.network import AppOnlyAccess
from tusk_infra.offline import runner
from tusk_infra.offline.mocks import OfflineMocks, RecordingMonitor
from tusk_infra.offline.model import UNKNOWN, RegisteredResource
from tusk_infra.rds_instance_classes import GIB
from tusk_infra.settings import Alarms, Database, load_region_settings
from tusk_infra.stack import regional_alarms
from tusk_infra.stack_config import AlarmSubscription, config_strings, load_stack_file, parse_stack_config
from tusk_infra.tusk import Providers
from tusk_infra.tusk.values import Secret

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ACCOUNT = "111122223333"
CACHE_METRICS = {
    "EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions", "ReplicationLag", "CurrConnections",
}  # fmt: skip
DATABASE_METRICS = {"CPUUtilization", "FreeableMemory", "FreeStorageSpace", "DatabaseConnections"}


class TopicArnMocks(OfflineMocks):
    """The offline mocks, plus an ARN for each SNS topic in its provider's region, so a test can see which
    topic an alarm notifies (offline, an ARN is only known after deploy)."""

    def __init__(self) -> None:
        super().__init__({}, {})
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        resource_id, state = super().new_resource(args)
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[f"{resource_id}"] = str(args.inputs["region"])
        if args.typ == TOPIC:
            region = self.provider_regions[args.provider.rsplit("::", 1)[-1]]
            state["arn"] = f"arn:aws:sns:{region}:{ACCOUNT}:{args.inputs['name']}"
        return resource_id, state


def registered(program: Callable[[], object]) -> list[RegisteredResource]:
    """Run `program` under a fresh mock runtime and return what it registered."""
    runtime_settings.reset_options(project="tusk-infra", stack="unit", preview=True)
    monitor = RecordingMonitor(TopicArnMocks())
    pulumi.runtime.set_mocks(monitor.mocks, project="tusk-infra", stack="unit", preview=True, monitor=monitor)
    runner._execute(lambda: (program(), {})[1])
    return monitor.registered


def database_settings(instance_class: str = "db.r6g.2xlarge") -> Database:
    return Database.model_validate(
        {
            "primary_region": "us-east-1",
            "replica_regions": ["us-west-2"],
            "engine_version": "16",
            "instance_class": instance_class,
            "allocated_storage_gb": 200,
            "max_allocated_storage_gb": 1000,
            "multi_az": True,
            "backup_retention_days": 7,
            "max_connections": 5000,
            "primary": {
                "port": 5432,
                "name": "orders",
                "user": "orders_app",
                "password": Secret("pw-for-unit-tests"),
                "pool": {"max_open_conns": 10, "max_idle_conns": 5, "conn_max_lifetime": "1m"},
            },
        }
    )


SUBSCRIPTIONS = (
    AlarmSubscription("email", "oncall@example.com"),
    AlarmSubscription("https", "https://events.example.com/integration/key-123/enqueue"),
)


def alarms_program(
    region: str,
    *,
    is_replica: bool,
    health_check_id: pulumi.Input[str] | None = None,
    measures_latency: bool = False,
    shards: int = 3,
    replicas: int = 2,
) -> Callable[[], object]:
    def program() -> object:
        provider = pulumi_aws.Provider(f"aws-{region}", region=region)
        us_east_1 = pulumi_aws.Provider("aws-use1-metrics", region="us-east-1")
        return RegionalAlarms(
            f"alarms-{region}",
            RegionalAlarmsArgs(
                region=region,
                name_prefix="orders",
                thresholds=Alarms(),
                subscriptions=SUBSCRIPTIONS,
                cache=WatchedCache("orders-cache", "cache-group", shards, replicas),
                database=WatchedDatabase(f"orders-{region}", "db-instance", database_settings(), is_replica),
                health_check_id=health_check_id,
                health_check_measures_latency=measures_latency,
                health_check_provider=us_east_1,
            ),
            pulumi.ResourceOptions(providers=[provider]),
        )

    return program


def of_type(resources: list[RegisteredResource], type_: str) -> list[RegisteredResource]:
    return [r for r in resources if r.type == type_]


def metric_stats(alarm: RegisteredResource) -> list[dict[str, Any]]:
    """The metrics an alarm fetches: its own (namespace, metricName, ...) or its metric queries'."""
    queries = alarm.inputs.get("metricQueries")
    if queries is None:
        return [alarm.inputs]
    return [query["metric"] for query in queries if "metric" in query]


def namespace_of(alarm: RegisteredResource) -> str:
    (namespace,) = {metric["namespace"] for metric in metric_stats(alarm)}
    return str(namespace)


def metric_of(alarm: RegisteredResource) -> str:
    (metric,) = {metric["metricName"] for metric in metric_stats(alarm)}
    return str(metric)


def alarms_in(resources: list[RegisteredResource], namespace: str) -> list[RegisteredResource]:
    return [a for a in of_type(resources, ALARM) if namespace_of(a) == namespace]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


@pytest.mark.parametrize(
    ("type_", "args_class"),
    [
        (ALARM, pulumi_aws.cloudwatch.MetricAlarmArgs),
        (TOPIC, pulumi_aws.sns.TopicArgs),
        (SUBSCRIPTION, pulumi_aws.sns.TopicSubscriptionArgs),
    ],
)
def test_every_input_is_an_argument_of_the_installed_pulumi_aws(type_: str, args_class: type) -> None:
    accepted = {camel(name) for name in inspect.signature(args_class.__init__).parameters} - {"_Self"}
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id="hc-0123"))
    found = of_type(resources, type_)
    assert found, f"no {type_} registered"
    for resource in found:
        assert set(resource.inputs) <= accepted, (resource.urn, set(resource.inputs) - accepted)


def test_metric_queries_use_the_installed_pulumi_aws_argument_names() -> None:
    def accepted(args_class: type) -> set[str]:
        return {camel(name) for name in inspect.signature(args_class.__init__).parameters} - {"_Self"}

    query_args = accepted(pulumi_aws.cloudwatch.MetricAlarmMetricQueryArgs)
    metric_args = accepted(pulumi_aws.cloudwatch.MetricAlarmMetricQueryMetricArgs)
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id="hc-0123"))
    queries = [q for a in of_type(resources, ALARM) for q in a.inputs.get("metricQueries", [])]
    # 3 shards of 3 nodes: one group, 5 metrics, each alarm 9 nodes and the expression.
    assert len(queries) == 5 * (9 + 1)
    for query in queries:
        assert set(query) <= query_args, set(query) - query_args
        assert set(query.get("metric", {})) <= metric_args, set(query["metric"]) - metric_args


def test_alarm_inputs_use_cloudwatchs_own_vocabulary() -> None:
    # The names are right (test above); these are the values CloudWatch accepts for them.
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id="hc-0123"))
    for alarm in of_type(resources, ALARM):
        inputs = alarm.inputs
        assert inputs["comparisonOperator"] in ("GreaterThanThreshold", "LessThanThreshold"), alarm.urn
        assert inputs["treatMissingData"] in ("missing", "notBreaching", "breaching"), alarm.urn
        assert (inputs["evaluationPeriods"], inputs["datapointsToAlarm"]) == (5, 3)
        assert re.fullmatch(r"orders-us-west-2-[a-z0-9-]+", inputs["name"]), alarm.urn
        assert len(inputs["name"]) <= 255 and len(inputs["alarmDescription"]) <= 1024, alarm.urn
        if "metricQueries" in inputs:
            # CloudWatch refuses an alarm that has metric queries and a metric of its own.
            assert not {"namespace", "metricName", "dimensions", "statistic", "period"} & set(inputs)
            for query in inputs["metricQueries"]:
                assert re.fullmatch(r"[a-z][A-Za-z0-9_]*", query["id"]), query
            stats = [(metric["stat"], metric["period"]) for metric in metric_stats(alarm)]
        else:
            stats = [(inputs["statistic"], inputs["period"])]
        for statistic, period in stats:
            assert statistic in ("Average", "Sum", "Minimum", "Maximum") and period == 60, alarm.urn
        assert namespace_of(alarm) in ("AWS/ElastiCache", "AWS/RDS", "AWS/Route53"), alarm.urn


def test_member_cluster_ids_of_three_shards_with_two_replicas() -> None:
    assert cache_member_nodes(3, 2) == [
        "0001-001", "0001-002", "0001-003", "0002-001", "0002-002", "0002-003",
        "0003-001", "0003-002", "0003-003",
    ]  # fmt: skip
    assert shard_member_nodes(2, 2) == ["0002-001", "0002-002", "0002-003"]


@pytest.mark.parametrize(
    ("shards", "replicas", "groups"),
    [
        (3, 2, [[1, 2, 3]]),  # 9 nodes: one alarm per metric
        (4, 2, [[1, 2, 3], [4]]),  # a fourth shard of 3 would make 12
        (5, 1, [[1, 2, 3, 4, 5]]),  # 10 nodes exactly
        (6, 1, [[1, 2, 3, 4, 5], [6]]),
        (2, 5, [[1], [2]]),  # 6 nodes a shard: two would make 12
        (1, 9, [[1]]),  # 10 nodes, the most a shard may have
        (15, 2, [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12], [13, 14, 15]]),
    ],
)
def test_shards_are_grouped_whole_and_consecutive_with_at_most_ten_nodes(
    shards: int, replicas: int, groups: list[list[int]]
) -> None:
    assert shard_groups(shards, replicas) == groups


def test_a_shard_alone_of_more_than_ten_nodes_has_no_group() -> None:
    with pytest.raises(
        ValueError, match="a shard has 11 nodes, but a CloudWatch metric-math alarm takes at most 10"
    ):
        shard_groups(1, 10)


@pytest.mark.parametrize(
    ("shards", "replicas", "groups"),
    [
        (3, 2, [[1, 2, 3]]),
        (4, 2, [[1, 2, 3], [4]]),
        (1, 5, [[1]]),
        (2, 5, [[1], [2]]),
        (5, 1, [[1, 2, 3, 4, 5]]),
    ],
)
def test_one_alarm_per_group_of_shards_and_metric_over_exactly_that_groups_nodes(
    shards: int, replicas: int, groups: list[list[int]]
) -> None:
    resources = registered(alarms_program("us-west-2", is_replica=False, shards=shards, replicas=replicas))
    cache = alarms_in(resources, "AWS/ElastiCache")
    assert len(cache) == len(groups) * 5
    thresholds = {
        "EngineCPUUtilization": ("Average", 80), "DatabaseMemoryUsagePercentage": ("Average", 85),
        "Evictions": ("Sum", 1000), "ReplicationLag": ("Maximum", 10), "CurrConnections": ("Maximum", 52000),
    }  # fmt: skip
    slugs = {
        "EngineCPUUtilization": "engine-cpu", "DatabaseMemoryUsagePercentage": "memory",
        "Evictions": "evictions", "ReplicationLag": "replication-lag", "CurrConnections": "connections",
    }  # fmt: skip
    by_first = {group[0]: group for group in groups}
    seen = set()
    for alarm in cache:
        metric = metric_of(alarm)
        first = int(alarm.name.split("-redis-shards-")[1][:4])
        group = by_first[first]
        seen.add((first, metric))
        assert alarm.name == f"alarms-us-west-2-redis-shards-{first:04d}-{slugs[metric]}"
        assert alarm.inputs["name"] == f"orders-us-west-2-redis-shards-{first:04d}-{slugs[metric]}"
        *nodes, worst = alarm.inputs["metricQueries"]
        statistic, threshold = thresholds[metric]
        group_nodes = [node for shard in group for node in shard_member_nodes(shard, replicas)]
        assert len(group_nodes) <= 10
        # One query per node of the group's shards, in order, each fetching the metric with its statistic.
        assert [query["metric"] for query in nodes] == [
            {"namespace": "AWS/ElastiCache", "metricName": metric, "stat": statistic, "period": 60,
             "dimensions": {"CacheClusterId": f"orders-cache-{node}"}}
            for node in group_nodes
        ]  # fmt: skip
        assert [query["id"] for query in nodes] == [f"node{i}" for i in range(1, len(group_nodes) + 1)]
        assert [query["label"] for query in nodes] == [f"node {node}" for node in group_nodes]
        # Only the expression is returned: the alarm compares the worst node with the threshold.
        assert [query["returnData"] for query in nodes] == [False] * len(group_nodes)
        assert all("expression" not in query for query in nodes)
        assert (worst["id"], worst["expression"], worst["returnData"]) == ("worst", "MAX(METRICS())", True)
        named = f"shards {group[0]:04d}-{group[-1]:04d}" if len(group) > 1 else f"shard {group[0]:04d}"
        assert worst["label"] == f"{metric}, worst node of {named}" and "metric" not in worst
        assert (alarm.inputs["threshold"], alarm.inputs["comparisonOperator"]) == (
            threshold,
            "GreaterThanThreshold",
        )
    assert seen == {(group[0], metric) for group in groups for metric in CACHE_METRICS}
    # Every node of the replication group is watched on every metric, each by exactly one alarm.
    watched = [
        (metric["metricName"], metric["dimensions"]["CacheClusterId"])
        for alarm in cache
        for metric in metric_stats(alarm)
    ]
    nodes = cache_member_nodes(shards, replicas)
    assert sorted(watched) == sorted(
        (metric, f"orders-cache-{node}") for metric in CACHE_METRICS for node in nodes
    )


def test_four_shards_of_three_nodes_make_two_groups_of_nine_and_three_nodes() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=False, shards=4, replicas=2))
    cache = alarms_in(resources, "AWS/ElastiCache")
    assert len(cache) == 10
    sizes = {
        alarm.name: [query["label"] for query in alarm.inputs["metricQueries"] if "metric" in query]
        for alarm in cache
        if alarm.name.endswith("-memory")
    }
    assert sizes == {
        "alarms-us-west-2-redis-shards-0001-memory": [
            f"node {shard:04d}-{node:03d}" for shard in (1, 2, 3) for node in (1, 2, 3)
        ],
        "alarms-us-west-2-redis-shards-0004-memory": ["node 0004-001", "node 0004-002", "node 0004-003"],
    }
    (cpu,) = [a for a in cache if a.name == "alarms-us-west-2-redis-shards-0004-engine-cpu"]
    assert cpu.inputs["alarmDescription"].startswith(
        "us-west-2: ElastiCache shard 0004 of replication group orders-cache (nodes orders-cache-0004-001, "
        "orders-cache-0004-002, orders-cache-0004-003): EngineCPUUtilization above 80 % on any node"
    )
    assert cpu.inputs["metricQueries"][-1]["label"] == "EngineCPUUtilization, worst node of shard 0004"


def test_adding_a_shard_at_the_end_keeps_the_existing_alarms_names() -> None:
    def cache_names(shards: int) -> set[str]:
        resources = registered(alarms_program("us-west-2", is_replica=False, shards=shards, replicas=2))
        return {alarm.inputs["name"] for alarm in alarms_in(resources, "AWS/ElastiCache")}

    three, four = cache_names(3), cache_names(4)
    assert three < four
    assert four - three == {
        f"orders-us-west-2-redis-shards-0004-{slug}"
        for slug in ("engine-cpu", "memory", "evictions", "replication-lag", "connections")
    }


def test_missing_data_is_not_breaching_only_for_evictions_and_replication_lag() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=False, shards=1, replicas=1))
    missing = {metric_of(a): a.inputs["treatMissingData"] for a in alarms_in(resources, "AWS/ElastiCache")}
    assert missing == {
        "EngineCPUUtilization": "missing", "DatabaseMemoryUsagePercentage": "missing",
        "Evictions": "notBreaching", "ReplicationLag": "notBreaching", "CurrConnections": "missing",
    }  # fmt: skip


def test_a_shard_with_more_nodes_than_a_metric_math_alarm_takes_is_refused() -> None:
    # ElastiCache allows 5 replicas a shard (6 nodes; the settings refuse more); CloudWatch takes 10 metrics.
    assert len(registered(alarms_program("us-west-2", is_replica=False, shards=1, replicas=9))) > 0
    refused = "a shard of cache-group has 11 nodes, but a CloudWatch metric-math alarm takes at most 10 "
    with pytest.raises(ValueError, match=refused):
        registered(alarms_program("us-west-2", is_replica=False, shards=1, replicas=10))


def test_every_alarm_names_region_resource_and_runbook_and_notifies_on_alarm_and_ok() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True))
    (topic,) = of_type(resources, TOPIC)
    arn = f"arn:aws:sns:us-west-2:{ACCOUNT}:orders-us-west-2-alarms"
    assert topic.inputs["name"] == "orders-us-west-2-alarms"
    for alarm in of_type(resources, ALARM):
        assert alarm.inputs["alarmActions"] == [arn] and alarm.inputs["okActions"] == [arn], alarm.urn
        description = alarm.inputs["alarmDescription"]
        assert description.startswith("us-west-2: ") and "Runbook: " in description, description
        for metric in metric_stats(alarm):
            dimensions = metric["dimensions"]
            watched = dimensions.get("CacheClusterId") or dimensions["DBInstanceIdentifier"]
            assert watched in description, description
    (cpu,) = [a for a in of_type(resources, ALARM) if a.name.endswith("-redis-shards-0001-engine-cpu")]
    nodes = ", ".join(f"orders-cache-{shard:04d}-{node:03d}" for shard in (1, 2, 3) for node in (1, 2, 3))
    assert cpu.inputs["alarmDescription"].startswith(
        f"us-west-2: ElastiCache shards 0001-0003 of replication group orders-cache (nodes {nodes}): "
        "EngineCPUUtilization above 80 % on any node (the maximum over the nodes of each node's Average, "
        "3 of 5 periods of 60 s). Runbook: look for hot keys"
    )


def test_database_thresholds_follow_the_class_storage_and_connection_limit() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True))
    database = {a.inputs["metricName"]: a.inputs for a in alarms_in(resources, "AWS/RDS")}
    assert set(database) == DATABASE_METRICS | {"ReplicaLag"}
    assert all(
        alarm["dimensions"] == {"DBInstanceIdentifier": "orders-us-west-2"} for alarm in database.values()
    )
    assert database["CPUUtilization"]["threshold"] == 80
    # db.r6g.2xlarge has 64 GiB: the seed's "memory > 85 %" is FreeableMemory below 15 % of it.
    assert database["FreeableMemory"]["threshold"] == 64 * GIB * 15 // 100
    assert database["FreeableMemory"]["comparisonOperator"] == "LessThanThreshold"
    assert database["FreeStorageSpace"]["threshold"] == 1000 * GIB // 100  # 1 % of max_allocated_storage_gb
    assert database["DatabaseConnections"]["threshold"] == 4000  # 80 % of max_connections 5000
    assert database["ReplicaLag"]["threshold"] == 60


def test_replica_lag_is_watched_on_replicas_only() -> None:
    primary = registered(alarms_program("us-east-1", is_replica=False))
    replica = registered(alarms_program("us-west-2", is_replica=True))
    metrics = [
        {a.inputs["metricName"] for a in alarms_in(run, "AWS/RDS")}
        for run in (primary, replica)
    ]
    assert metrics == [DATABASE_METRICS, DATABASE_METRICS | {"ReplicaLag"}]


def test_subscriptions_come_from_the_stack_and_an_https_endpoint_stays_secret() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True))
    arn = f"arn:aws:sns:us-west-2:{ACCOUNT}:orders-us-west-2-alarms"
    email, https = sorted(of_type(resources, SUBSCRIPTION), key=lambda r: r.name)
    assert (email.inputs["protocol"], email.inputs["endpoint"], email.inputs["topic"]) == (
        "email",
        "oncall@example.com",
        arn,
    )
    assert https.inputs["protocol"] == "https" and https.inputs["topic"] == arn
    assert https.inputs["endpoint"] == Secret("https://events.example.com/integration/key-123/enqueue")


def test_without_a_health_check_there_are_no_route_53_alarms() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id=None))
    assert not alarms_in(resources, "AWS/Route53")
    assert len(of_type(resources, TOPIC)) == 1


def test_health_check_alarms_use_a_us_east_1_provider_and_topic() -> None:
    resources = registered(
        alarms_program("eu-west-1", is_replica=True, health_check_id="hc-fake-0123", measures_latency=True)
    )
    (provider,) = [r for r in resources if r.name == "aws-use1-metrics"]
    (regional,) = [r for r in resources if r.name == "aws-eu-west-1"]
    health = {a.inputs["metricName"]: a for a in alarms_in(resources, "AWS/Route53")}
    assert set(health) == {"HealthCheckStatus", "TimeToFirstByte"}
    arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-eu-west-1-health-alarms"
    for alarm in health.values():
        assert alarm.provider == provider.urn, alarm.urn
        assert alarm.inputs["dimensions"] == {"HealthCheckId": "hc-fake-0123"}
        assert alarm.inputs["alarmActions"] == [arn] and alarm.inputs["okActions"] == [arn]
        assert alarm.inputs["alarmDescription"].startswith(
            "eu-west-1: Route 53 health check of eu-west-1 hc-fake"
        )
    status, latency = health["HealthCheckStatus"].inputs, health["TimeToFirstByte"].inputs
    assert (status["statistic"], status["comparisonOperator"], status["threshold"]) == (
        "Minimum",
        "LessThanThreshold",
        1,
    )
    assert (latency["comparisonOperator"], latency["threshold"]) == ("GreaterThanThreshold", 1000)
    topics = {t.name: t for t in of_type(resources, TOPIC)}
    assert topics["alarms-eu-west-1-health-topic"].provider == provider.urn
    assert topics["alarms-eu-west-1-topic"].provider == regional.urn
    health_subscriptions = [s for s in of_type(resources, SUBSCRIPTION) if s.provider == provider.urn]
    assert {s.inputs["topic"] for s in health_subscriptions} == {arn} and len(health_subscriptions) == 2
    others = [a for a in of_type(resources, ALARM) if namespace_of(a) != "AWS/Route53"]
    assert others and all(a.provider == regional.urn for a in others)


def test_health_check_alarms_without_latency_measuring_skip_time_to_first_byte() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id="hc-fake"))
    metrics = {a.inputs["metricName"] for a in alarms_in(resources, "AWS/Route53")}
    assert metrics == {"HealthCheckStatus"}


def test_in_us_east_1_the_regional_topic_serves_the_health_check_alarms() -> None:
    resources = registered(alarms_program("us-east-1", is_replica=False, health_check_id="hc-fake"))
    (topic,) = of_type(resources, TOPIC)
    (status,) = alarms_in(resources, "AWS/Route53")
    arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-us-east-1-alarms"
    assert topic.inputs["name"] == "orders-us-east-1-alarms" and status.inputs["alarmActions"] == [arn]


def test_children_are_parented_and_outputs_registered() -> None:
    resources = registered(alarms_program("us-west-2", is_replica=True, health_check_id="hc-fake"))
    (component,) = [r for r in resources if r.type == "tusk:alerting:RegionalAlarms"]
    children = [r for r in resources if r.type in (ALARM, TOPIC, SUBSCRIPTION)]
    assert children and all(r.parent == component.urn for r in children)


def stack_inputs(stack: str) -> tuple[Any, Any]:
    """A real stack's settings and config (the shipped deployment's)."""
    env = {"REGION": stack, "ZONE": f"{stack}a", **PROGRAM_SECRETS}
    settings = load_region_settings(PROJECT_DIR / "global.tsk", providers=Providers(env=env))[0]
    stack_file = load_stack_file(PROJECT_DIR / f"Pulumi.{stack}.yaml")
    return settings, parse_stack_config(stack, config_strings(stack_file), stack_file)


def test_the_stack_creates_a_us_east_1_provider_for_a_health_check_outside_us_east_1() -> None:
    settings, config = stack_inputs("us-west-2")
    database = settings.database
    redis = settings.distributed_cache.redis_cluster
    access = AppOnlyAccess(config.vpc_id, config.app_security_group_id, redis.port, config.subnet_ids)

    def program() -> object:
        provider = pulumi_aws.Provider("aws-us-west-2", region="us-west-2")
        opts = pulumi.ResourceOptions(providers=[provider])
        cache = RedisCluster("redis-us-west-2", RedisClusterArgs(redis, access), opts)
        source = "arn:aws:rds:us-east-1:111122223333:db:tusklang-app-us-east-1"
        db = PostgresCluster(
            "postgres-us-west-2",
            PostgresClusterArgs(database, "tusklang-app-us-west-2", access, replicate_from_arn=source),
            opts,
        )
        return regional_alarms(settings, config, cache, db, provider, {"stack": "us-west-2"}, "hc-fake-id")

    resources = registered(program)
    (metrics_provider,) = [r for r in resources if r.name == "aws-us-west-2-health-check-metrics"]
    assert metrics_provider.inputs["region"] == "us-east-1"
    (status,) = alarms_in(resources, "AWS/Route53")
    assert status.provider == metrics_provider.urn
    # Offline the replication group's id is only known after deploy, so its nodes' ids are too.
    cache = alarms_in(resources, "AWS/ElastiCache")
    # us-west-2's 2 shards of 3 nodes are one group: 5 alarms, each on the 6 nodes.
    assert len(cache) == 5 and all(len(metric_stats(a)) == 6 for a in cache)
    assert all(m["dimensions"]["CacheClusterId"] is UNKNOWN for a in cache for m in metric_stats(a))
    assert {a.inputs["tags"]["tusk-infra.dev/watches"] for a in cache} == {"redis-us-west-2-group"}
    rds = alarms_in(resources, "AWS/RDS")
    assert {a.inputs["tags"]["tusk-infra.dev/watches"] for a in rds} == {"postgres-us-west-2-db"}
    assert {a.inputs["dimensions"]["DBInstanceIdentifier"] for a in rds} == {"tusklang-app-us-west-2"}


def test_each_threshold_names_its_global_tsk_setting() -> None:
    env = {"REGION": "us-west-2", "ZONE": "us-west-2a", **PROGRAM_SECRETS}
    document = load_region_settings(PROJECT_DIR / "global.tsk", providers=Providers(env=env))[1]
    resources = registered(
        alarms_program("us-west-2", is_replica=True, health_check_id="hc", measures_latency=True)
    )
    direct = {"EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions", "ReplicationLag",
              "CurrConnections", "CPUUtilization", "ReplicaLag", "TimeToFirstByte"}  # fmt: skip
    for alarm in of_type(resources, ALARM):
        setting = alarm.inputs["tags"].get("tusk-infra.dev/threshold")
        if metric_of(alarm) == "HealthCheckStatus":
            assert setting is None  # unhealthy is 0, nothing to set
            continue
        assert setting is not None and setting.startswith("monitoring.alarms."), alarm.urn
        value = document.get(setting)  # what `tusk-infra explain global.tsk <setting>` shows
        if metric_of(alarm) in direct:
            assert alarm.inputs["threshold"] == value, alarm.urn
    memory = next(a for a in of_type(resources, ALARM) if metric_of(a) == "FreeableMemory")
    assert (
        memory.inputs["tags"]["tusk-infra.dev/threshold"]
        == "monitoring.alarms.database.freeable_memory_percent"
    )


def test_the_preview_shows_where_each_threshold_is_set() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tusk_infra", "preview", "--stack", "us-west-2"],
        cwd=REPO, env={"PATH": os.environ.get("PATH", ""), **PROGRAM_SECRETS},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = (PROJECT_DIR / "global.tsk").read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, line in enumerate(lines, 1) if line.strip().startswith("replica_lag_seconds: 60")]
    column = lines[number - 1].index("60") + 1
    shown = result.stdout.splitlines()
    at = next(i for i, line in enumerate(shown) if line.endswith("alarms-us-west-2-postgres-replica-lag"))
    block = shown[at : at + 15]
    assert any(line.endswith("threshold: 60") for line in block), block
    expected = (
        f"threshold set at: global.tsk:{number}:{column} monitoring.alarms.database.replica_lag_seconds"
    )
    assert any(line.endswith(expected) for line in block), block
    # The ElastiCache alarm too (us-west-2's 2 shards of 3 nodes are one group), though its nodes' ids are
    # known after deploy.
    assert sum("monitoring.alarms.cache.cpu_percent" in line for line in shown) == 1
