"""Benchmark: what one resource registration costs under the offline runner's mocks, per kind of resource.

Run: .venv/bin/python bench/registration.py [--count N] [--repeat R]

A region's offline preview is mostly Pulumi's Python SDK registering the program's resources against the mock
monitor (serializing inputs, the monitor's answer, an Output per output property), so its cost per region is
about (resources per region) x (cost per resource). This registers N resources of a few kinds, each batch in a
fresh mock runtime exactly as the runner sets one up (tusk_infra.offline.runner), and prints the CPU time per
resource, the best of R batches. The kinds are the program's own: a topic with only a name (the floor), a
single-metric CloudWatch alarm, a metric-math alarm over three nodes (the cache alarms' shape) and a
Kubernetes ConfigMap. Later work that adds resources to a region can multiply.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.sns as sns
import pulumi_kubernetes as kubernetes
from pulumi.runtime import settings as runtime_settings

from tusk_infra.offline import runner
from tusk_infra.offline.mocks import OfflineMocks, RecordingMonitor

PROJECT, STACK = "bench", "bench"
TOPIC = ["arn:aws:sns:us-east-1:123456789012:alarms"]


def topic(index: int) -> None:
    sns.Topic(f"topic-{index}", name=f"topic-{index}")


def single_metric_alarm(index: int) -> None:
    cloudwatch.MetricAlarm(
        f"alarm-{index}", name=f"alarm-{index}", namespace="AWS/RDS", metric_name="CPUUtilization",
        dimensions={"DBInstanceIdentifier": "db"}, statistic="Average",
        comparison_operator="GreaterThanThreshold", threshold=80, period=60, evaluation_periods=5,
        datapoints_to_alarm=3, treat_missing_data="missing", alarm_actions=TOPIC, ok_actions=TOPIC,
        tags={"tusk-infra.dev/watches": "db"},
    )


def metric_math_alarm(index: int) -> None:
    nodes = [
        cloudwatch.MetricAlarmMetricQueryArgs(
            id=f"node{node}", label=f"node 0001-00{node}", return_data=False,
            metric=cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/ElastiCache", metric_name="EngineCPUUtilization", period=60, stat="Average",
                dimensions={"CacheClusterId": f"group-0001-00{node}"},
            ),
        )
        for node in (1, 2, 3)
    ]
    worst = cloudwatch.MetricAlarmMetricQueryArgs(id="worst", expression="MAX(METRICS())", label="worst node",
                                                  return_data=True)
    cloudwatch.MetricAlarm(
        f"math-{index}", name=f"math-{index}", comparison_operator="GreaterThanThreshold", threshold=80,
        evaluation_periods=5, datapoints_to_alarm=3, treat_missing_data="missing",
        metric_queries=[*nodes, worst],
        alarm_actions=TOPIC, ok_actions=TOPIC,
    )


def config_map(index: int) -> None:
    kubernetes.core.v1.ConfigMap(
        f"config-{index}", metadata={"name": f"config-{index}", "namespace": "app"},
        data={"LOG_LEVEL": "info", "WORKERS": "8"}, immutable=True,
    )


KINDS: dict[str, Callable[[int], None]] = {
    "sns.Topic (name only)": topic,
    "cloudwatch.MetricAlarm, one metric": single_metric_alarm,
    "cloudwatch.MetricAlarm, metric math over 3 nodes": metric_math_alarm,
    "kubernetes ConfigMap": config_map,
}


def cpu_per_resource(make: Callable[[int], None], count: int) -> float:
    """Seconds of CPU per registration: `count` of them in one program run under a fresh mock runtime."""
    runtime_settings.reset_options(project=PROJECT, stack=STACK, preview=True,
                                   organization=runner.ORGANIZATION)
    monitor = RecordingMonitor(OfflineMocks({}, {}))
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=STACK, preview=True, monitor=monitor,
                             organization=runner.ORGANIZATION)

    def program() -> dict[str, pulumi.Output[object]]:
        for index in range(count):
            make(index)
        return {}

    started = time.process_time()
    runner._execute(program)
    if len(monitor.registered) != count:
        raise SystemExit(f"registered {len(monitor.registered)} resources, expected {count}")
    return (time.process_time() - started) / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200, help="resources per batch")
    parser.add_argument("--repeat", type=int, default=5, help="batches per kind (the best one counts)")
    args = parser.parse_args()
    gc.disable()  # as the CLI runs (tusk_infra.cli): no collector pauses inside the timing
    for make in KINDS.values():
        cpu_per_resource(make, 10)  # warm: the first registration of a kind imports its modules
    best = {name: min(cpu_per_resource(make, args.count) for _ in range(args.repeat))
            for name, make in KINDS.items()}
    print(f"{'resource':52}CPU ms per registration (best of {args.repeat} x {args.count})")
    for name, seconds in best.items():
        print(f"{name:52}{seconds * 1000:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
