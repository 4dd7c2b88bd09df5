"""What the preview and the diff show of a CloudWatch alarm: a single-metric alarm its metric inputs, a
metric-math alarm (one per group of whole ElastiCache shards and metric) its metric once, each node's query
and the expression the alarm compares, under real input paths."""

from __future__ import annotations

from typing import Any

from tusk_infra.offline.model import UNKNOWN
from tusk_infra.render.key_inputs import key_inputs, parse_path

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMMON = {
    "comparisonOperator": "GreaterThanThreshold", "threshold": 80, "evaluationPeriods": 5,
    "datapointsToAlarm": 3, "alarmActions": [UNKNOWN], "okActions": [UNKNOWN], "treatMissingData": "missing",
    "alarmDescription": "us-west-2: ...", "tags": {"tusk-infra.dev/watches": "redis-us-west-2-group"},
}  # fmt: skip
TAIL = [
    ("comparisonOperator", "GreaterThanThreshold"), ("threshold", 80), ("evaluationPeriods", 5),
    ("datapointsToAlarm", 3), ("alarmActions", [UNKNOWN]), ("okActions", [UNKNOWN]),
]  # fmt: skip


def node_query(
    index: int, metric: str = "EngineCPUUtilization", stat: str = "Average", node: str = ""
) -> dict[str, Any]:
    return {
        "id": f"node{index}", "label": f"node {node or f'0001-00{index}'}", "returnData": False,
        "metric": {"namespace": "AWS/ElastiCache", "metricName": metric, "stat": stat, "period": 60,
                   "dimensions": {"CacheClusterId": UNKNOWN}},
    }  # fmt: skip


def group_alarm() -> dict[str, Any]:
    """The alarm of a group of two shards of 2 nodes each."""
    worst = {"id": "worst", "expression": "MAX(METRICS())", "returnData": True,
             "label": "EngineCPUUtilization, worst node of shards 0001-0002"}  # fmt: skip
    nodes = ["0001-001", "0001-002", "0002-001", "0002-002"]
    return {
        "name": "tusklang-app-us-west-2-redis-shards-0001-engine-cpu",
        "metricQueries": [*(node_query(i, node=node) for i, node in enumerate(nodes, 1)), worst],
        **COMMON,
    }


def test_a_group_alarm_shows_the_metric_once_each_node_and_the_expression() -> None:
    shown = key_inputs(ALARM, group_alarm())
    assert shown == [
        ("name", "tusklang-app-us-west-2-redis-shards-0001-engine-cpu"),
        ("metricQueries[0].metric.namespace", "AWS/ElastiCache"),
        ("metricQueries[0].metric.metricName", "EngineCPUUtilization"),
        ("metricQueries[0].metric.stat", "Average"),
        ("metricQueries[0].metric.period", 60),
        ("metricQueries[0].label", "node 0001-001"),
        ("metricQueries[0].metric.dimensions", {"CacheClusterId": UNKNOWN}),
        ("metricQueries[1].label", "node 0001-002"),
        ("metricQueries[1].metric.dimensions", {"CacheClusterId": UNKNOWN}),
        ("metricQueries[2].label", "node 0002-001"),
        ("metricQueries[2].metric.dimensions", {"CacheClusterId": UNKNOWN}),
        ("metricQueries[3].label", "node 0002-002"),
        ("metricQueries[3].metric.dimensions", {"CacheClusterId": UNKNOWN}),
        ("metricQueries[4].expression", "MAX(METRICS())"),
        ("metricQueries[4].label", "EngineCPUUtilization, worst node of shards 0001-0002"),
        *TAIL,
    ]
    # Real paths: the diff of a created alarm parses them back to the inputs they name.
    for path, value in shown:
        node: Any = group_alarm()
        for part in parse_path(path):
            node = node[part]
        assert node == value, path


def test_a_single_metric_alarm_shows_its_own_metric() -> None:
    inputs = {
        "name": "tusklang-app-us-west-2-postgres-cpu", "namespace": "AWS/RDS", "metricName": "CPUUtilization",
        "dimensions": {"DBInstanceIdentifier": "tusklang-app-us-west-2"}, "statistic": "Average",
        "period": 60, **COMMON,
    }  # fmt: skip
    assert key_inputs(ALARM, inputs) == [
        ("name", "tusklang-app-us-west-2-postgres-cpu"),
        ("namespace", "AWS/RDS"),
        ("metricName", "CPUUtilization"),
        ("dimensions", {"DBInstanceIdentifier": "tusklang-app-us-west-2"}),
        ("statistic", "Average"),
        ("comparisonOperator", "GreaterThanThreshold"),
        ("threshold", 80),
        ("period", 60),
        *TAIL[2:],
    ]


def test_a_query_differing_from_the_first_and_a_returned_metric_query_are_shown() -> None:
    # A hand-written alarm: its second query another metric and statistic, and the first query returned
    # directly (no expression): what differs, and which query the alarm compares, must be visible.
    first = {**node_query(1), "returnData": True}
    inputs = {"name": "hand-written", "metricQueries": [first, node_query(2, "Evictions", "Sum")], **COMMON}
    assert key_inputs(ALARM, inputs)[:10] == [
        ("name", "hand-written"),
        ("metricQueries[0].metric.namespace", "AWS/ElastiCache"),
        ("metricQueries[0].metric.metricName", "EngineCPUUtilization"),
        ("metricQueries[0].metric.stat", "Average"),
        ("metricQueries[0].metric.period", 60),
        ("metricQueries[0].label", "node 0001-001"),
        ("metricQueries[0].metric.dimensions", {"CacheClusterId": UNKNOWN}),
        ("metricQueries[0].returnData", True),
        ("metricQueries[1].metric.metricName", "Evictions"),
        ("metricQueries[1].metric.stat", "Sum"),
    ]
