"""Metric snapshots end to end: `metrics pull` from moto's CloudWatch, then preview / check / explain reading
the snapshot; freshness kept apart from the plan; a failed pull leaving the old file as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from test_preview_cli import offline_env, tusk_infra_in_process

from tusk_infra.backends.metrics_pull import percentile, reduce_values
from tusk_infra.backends.snapshot import (
    SNAPSHOT_FORMAT,
    MetricReading,
    MetricSnapshot,
    SnapshotError,
    parse_snapshot,
    snapshot_json,
)
from tusk_infra.tusk import TuskError
from tusk_infra.tusk.metric_names import metric_comparisons, metric_names, metric_uses

STACK = "us-east-1"
CPU = ("ContainerInsights", "pod_cpu_utilization_over_pod_limit",
       {"ClusterName": "tusk-use1", "Namespace": "tusk-app", "Service": "tusklang-app"})
CONNECTIONS = ("AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": "tusklang-app-us-east-1"})


# --- the names global.tsk reads, found in its syntax tree ---

def test_every_metric_in_every_branch_is_found_with_its_place() -> None:
    text = (
        '$load: @metrics("queue_depth", 0)\n'
        "[performance]\n"
        'ttl: @if($region == "x", "1m", @if(@metrics("cpu_usage", 0) > 80, "30s", "5m"))\n'
        'pool { size: [1, {n: @metrics("active_connections")}] }\n'
    )
    uses = metric_uses(text, "g.tsk")
    assert [(u.name, u.line, u.column, u.key) for u in uses] == [
        ("queue_depth", 1, 8, "$load"),
        ("cpu_usage", 3, 36, "performance.ttl"),
        ("active_connections", 4, 22, "performance.pool.size"),
    ]
    assert metric_names(uses) == ["active_connections", "cpu_usage", "queue_depth"]


def test_the_projects_global_tsk_reads_cpu_usage_and_active_connections(program_project: Path) -> None:
    from tusk_infra.tusk.metric_names import metric_uses_in_file

    uses = metric_uses_in_file(program_project / "global.tsk")
    assert metric_names(uses) == ["active_connections", "cpu_usage"]
    assert {u.key for u in uses} == {"performance.cache_ttl", "performance.worker_count",
                                     "performance.connection_pool_size"}


def test_a_computed_metric_name_is_refused_at_its_position() -> None:
    with pytest.raises(TuskError) as caught:
        metric_uses('x: @metrics($name, 1)\n', "g.tsk")
    assert str(caught.value).startswith("g.tsk:1:13: the metric name of @metrics must be a string literal")


def test_comparisons_are_read_with_the_metric_on_the_left() -> None:
    found = metric_comparisons('@if(80 < @metrics("cpu_usage", 0) && @metrics("mem", 0) >= 85.5, 16, 8)')
    assert [(c.name, c.op, c.threshold) for c in found] == [("cpu_usage", ">", 80), ("mem", ">=", 85.5)]
    assert found[0].holds(85) and not found[0].holds(80)


# --- the snapshot file ---

def snapshot(value: float = 62.0, pulled: str = "2026-12-01T09:00:00Z", example: str | None = None) -> str:
    reading = MetricReading(value, "p95", "7d", {"provider": "cloudwatch", "metric": "m"})
    made = MetricSnapshot(STACK, datetime.strptime(pulled, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
                          {"cpu_usage": reading, "active_connections": MetricReading(40.0, "p95", "7d")},
                          example)
    return snapshot_json(made)


def test_the_file_is_sorted_versioned_and_reads_back() -> None:
    text = snapshot()
    document = json.loads(text)
    assert document["format"] == SNAPSHOT_FORMAT == "tusk-infra/metrics@1"
    assert list(document) == sorted(document) and list(document["metrics"]) == sorted(document["metrics"])
    assert text == json.dumps(document, indent=2, sort_keys=True) + "\n"
    read = parse_snapshot(text, "metrics/us-east-1.json")
    source = {"provider": "cloudwatch", "metric": "m"}
    assert read.metrics["cpu_usage"] == MetricReading(62.0, "p95", "7d", source)
    assert read.pulled_at_text == "2026-12-01T09:00:00Z" and read.example is None


@pytest.mark.parametrize(("edit", "position", "message"), [
    (lambda d: d.update(format="tusk-infra/metrics@9"), (2, 3), "format is 'tusk-infra/metrics@9'; this"),
    (lambda d: d.update(pulled_at="yesterday"), None, "pulled_at: expected a UTC time like"),
    (lambda d: d["metrics"]["cpu_usage"].update(value="hot"), None,
     "metrics.cpu_usage.value: expected a number"),
])
def test_a_malformed_snapshot_is_a_positioned_error(edit: Any, position: Any, message: str) -> None:
    document = json.loads(snapshot())
    edit(document)
    text = json.dumps(document, indent=2, sort_keys=True)
    with pytest.raises(SnapshotError) as caught:
        parse_snapshot(text, "metrics/us-east-1.json")
    assert caught.value.message.startswith(message), caught.value.message
    if position is not None:
        assert (caught.value.line, caught.value.column) == position


def test_invalid_json_points_at_the_line() -> None:
    with pytest.raises(SnapshotError) as caught:
        parse_snapshot('{\n  "format": tusk\n}\n', "metrics/x.json")
    assert str(caught.value).startswith("metrics/x.json:2:13: not valid JSON")


def test_peaks_are_computed_from_the_data_points() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == pytest.approx(95.05)
    assert reduce_values(values, "p50") == pytest.approx(50.5)
    assert reduce_values(values, "max") == 100.0 and reduce_values(values, "mean") == pytest.approx(50.5)
    assert reduce_values([7.0], "p99") == 7.0


# --- pull from moto, then every run reads the snapshot ---

def put(metric: tuple[str, str, dict[str, str]], values: list[float], *, minutes_apart: int = 5) -> None:
    namespace, name, dimensions = metric
    now = datetime.now(UTC)
    boto3.client("cloudwatch", region_name="us-east-1").put_metric_data(
        Namespace=namespace,
        MetricData=[{"MetricName": name, "Value": value,
                     "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                     "Timestamp": now - timedelta(minutes=minutes_apart * index + 2)}
                    for index, value in enumerate(values)],
    )


def cli(*args: str) -> Any:
    """The CLI in this process (moto's CloudWatch is in-process too), with only the test's environment."""
    env = offline_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    return tusk_infra_in_process(*args, env=env)


def plan_stack(result: Any, stack: str = STACK) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = next(s for s in json.loads(result.stdout)["stacks"] if s["stack"] == stack)
    return found


@pytest.fixture
def pulled(aws: None, program_project: Path) -> Iterator[Path]:
    """The project after `metrics pull --stack us-east-1` against moto: cpu p95 95.05, connections 150."""
    put(CPU, [float(v) for v in range(1, 101)])
    put(CONNECTIONS, [150.0] * 10)
    result = cli("metrics", "pull", "--stack", STACK, "--project-dir", str(program_project))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "  active_connections (p95, 7d): 142 → 150",
        "  cpu_usage (p95, 7d): 85.4 → 95.05",
    ]
    assert result.stdout.splitlines()[0].startswith("metrics/us-east-1.json: pulled ")
    assert result.stdout.splitlines()[0].endswith(" (replaces the example snapshot)")
    yield program_project


def test_pull_writes_the_peak_with_its_query(pulled: Path) -> None:
    document = json.loads((pulled / "metrics" / "us-east-1.json").read_text())
    assert "example" not in document and document["stack"] == STACK
    assert document["metrics"]["cpu_usage"] == {
        "value": 95.05, "statistic": "p95", "window": "7d",
        "source": {"provider": "cloudwatch", "namespace": "ContainerInsights",
                   "metric": "pod_cpu_utilization_over_pod_limit", "dimensions": CPU[2], "stat": "Average",
                   "period": 300},
    }
    assert document["metrics"]["active_connections"]["value"] == 150.0
    pulled_at = datetime.strptime(document["pulled_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - pulled_at).total_seconds()) < 300


def test_preview_uses_the_snapshot_and_is_byte_identical_whatever_cloudwatch_says(pulled: Path) -> None:
    args = ("preview", "--all-stacks", "--format", "json", "--project-dir", str(pulled))
    first = cli(*args)
    east = plan_stack(first)
    assert east["settings"]["performance"] == {"cache_ttl": "30s", "worker_count": 16,
                                               "connection_pool_size": 500}
    assert east["metrics_snapshot"]["metrics"]["cpu_usage"]["value"] == 95.05
    assert east["metrics_snapshot"]["example"] is False
    assert "warnings" not in east  # a pulled snapshot is not an example
    put(CPU, [5.0] * 50, minutes_apart=1)  # CloudWatch changes meanwhile: the plan must not
    assert cli(*args).stdout == first.stdout
    # --live-metrics reads CloudWatch instead (5-minute mean of the latest values: 5 → not hot).
    live = plan_stack(cli("preview", "--stack", STACK, "--format", "json", "--live-metrics",
                          "--project-dir", str(pulled)))
    assert live["settings"]["performance"]["worker_count"] == 8
    assert "metrics_snapshot" not in live


def test_explain_names_the_snapshot_and_when_it_was_pulled(pulled: Path) -> None:
    pulled_at = json.loads((pulled / "metrics" / "us-east-1.json").read_text())["pulled_at"]
    result = cli("explain", str(pulled / "global.tsk"), "performance.worker_count", "--stack", STACK,
                 "--env", f"REDIS_CLUSTER_PASSWORD={'r' * 20}", "--env", "DB_PRIMARY_PASSWORD=x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        f"    metric cpu_usage = 95.05 (p95 over 7d, metrics/us-east-1.json pulled {pulled_at})")


def test_a_failed_pull_leaves_the_old_snapshot_untouched(aws: None, program_project: Path) -> None:
    put(CPU, [90.0] * 5)  # and no database connections at all
    path = program_project / "metrics" / "us-east-1.json"
    before = path.read_bytes()
    result = cli("metrics", "pull", "--stack", STACK, "--project-dir", str(program_project))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "tusk-infra metrics pull: stack us-east-1: CloudWatch has no data for active_connections "
        "(AWS/RDS/DatabaseConnections Average (DBInstanceIdentifier=tusklang-app-us-east-1)) in the last 7d; "
        "metrics/us-east-1.json left unchanged"]
    assert path.read_bytes() == before


def test_unreachable_cloudwatch_leaves_the_old_snapshot_untouched(program_project: Path) -> None:
    path = program_project / "metrics" / "us-east-1.json"
    before = path.read_bytes()
    result = cli("metrics", "pull", "--stack", STACK, "--project-dir", str(program_project),
                 "--aws-endpoint-url", "http://127.0.0.1:9", "--timeout", "30s")
    assert (result.returncode, result.stdout) == (1, "")
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        "tusk-infra metrics pull: stack us-east-1: CloudWatch unavailable (cannot reach AWS")
    assert line.endswith("; metrics/us-east-1.json left unchanged")
    assert path.read_bytes() == before


def test_pull_needs_a_provider(program_project: Path) -> None:
    path = program_project / "Pulumi.us-east-1.yaml"
    path.write_text(path.read_text().replace("  tusk-infra:metricsProvider: cloudwatch\n", ""))
    result = cli("metrics", "pull", "--stack", STACK, "--project-dir", str(program_project))
    assert result.returncode == 1
    assert result.stderr.startswith("tusk-infra metrics pull: stack us-east-1: no metrics provider to pull "
                                    "from; set tusk-infra:metricsProvider: cloudwatch")


# --- examples, staleness, a metric the snapshot lacks ---

def write_snapshot(project: Path, stack: str, **changes: Any) -> None:
    path = project / "metrics" / f"{stack}.json"
    document = json.loads(path.read_text())
    document.pop("example", None)
    document.update(changes)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def test_a_stale_snapshot_is_warned_apart_from_the_plan_and_refused_when_configured(
    program_project: Path
) -> None:
    old = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    write_snapshot(program_project, STACK, pulled_at=old)
    preview = cli("preview", "--stack", STACK, "--format", "json", "--project-dir", str(program_project))
    assert "warnings" not in plan_stack(preview)  # neither stale nor an example: the plan has nothing to say
    assert preview.stderr.splitlines() == [
        f"warning: metrics/us-east-1.json was pulled 30 days ago ({old}), over the 14 days limit "
        "(tusk-infra:metricsMaxAge); run `tusk-infra metrics pull --stack us-east-1` and commit the file"]
    check = cli("check", "--stack", STACK, "--format", "json", "--project-dir", str(program_project))
    assert check.returncode == 0, check.stderr
    (finding,) = [f for f in json.loads(check.stdout)["stacks"][0]["findings"]
                  if f["policy"] == "metrics-snapshot-fresh"]
    assert (finding["enforcement"], finding["blocking"], finding["found"]) == ("advisory", False, old)
    assert finding["source"]["file"] == "metrics/us-east-1.json" and finding["source"]["key"] == "pulled_at"
    stack_file = program_project / "Pulumi.us-east-1.yaml"
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:metricsStaleness: mandatory\n")
    refused = cli("check", "--stack", STACK, "--project-dir", str(program_project))
    assert refused.returncode == 1
    assert ("[mandatory] metrics-snapshot-fresh: metrics/us-east-1.json was pulled 30 days ago"
            in refused.stdout)
    stack_file.write_text(stack_file.read_text() + "  tusk-infra:metricsMaxAge: 60d\n")
    assert cli("check", "--stack", STACK, "--project-dir", str(program_project)).returncode == 0


def test_example_snapshots_are_said_to_be_examples(program_project: Path) -> None:
    preview = cli("preview", "--stack", "eu-west-1", "--project-dir", str(program_project))
    assert preview.returncode == 0, preview.stderr
    assert ("  - metrics/eu-west-1.json is an example snapshot: made-up numbers for illustration, not "
            "observed load: run `tusk-infra metrics pull --stack eu-west-1` before sizing production from it"
            ) in preview.stdout.splitlines()
    check = cli("check", "--stack", "eu-west-1", "--project-dir", str(program_project))
    assert "[advisory] metrics-snapshot-fresh: metrics/eu-west-1.json is an example snapshot" in check.stdout


def test_a_metric_the_snapshot_lacks_uses_its_default_with_one_warning(program_project: Path) -> None:
    document = json.loads((program_project / "metrics" / "us-east-1.json").read_text())
    del document["metrics"]["cpu_usage"]
    write_snapshot(program_project, STACK, metrics=document["metrics"])
    east = plan_stack(cli("preview", "--stack", STACK, "--format", "json", "--project-dir",
                          str(program_project)))
    assert east["settings"]["performance"] == {"cache_ttl": "5m", "worker_count": 8,
                                               "connection_pool_size": 500}
    assert east["warnings"] == [
        "metric 'cpu_usage': not in the metrics snapshot metrics/us-east-1.json (run `tusk-infra metrics "
        "pull --stack us-east-1`); using its default, the integer 0"]


def test_all_stacks_writes_each_stack_that_pulled_and_keeps_the_others(
    aws: None, program_project: Path
) -> None:
    put(CPU, [70.0, 90.0])  # only us-east-1's series exist
    put(CONNECTIONS, [10.0])
    others = {stack: (program_project / "metrics" / f"{stack}.json").read_bytes()
              for stack in ("us-west-2", "eu-west-1")}
    result = cli("metrics", "pull", "--all-stacks", "--statistic", "max", "--window", "1d",
                 "--project-dir", str(program_project))
    assert result.returncode == 1
    assert [line.split(": CloudWatch")[0] for line in result.stderr.splitlines()] == [
        "tusk-infra metrics pull: stack eu-west-1", "tusk-infra metrics pull: stack us-west-2"]
    assert result.stdout.splitlines()[1:] == ["  active_connections (max, 1d): 142 → 10",
                                              "  cpu_usage (max, 1d): 85.4 → 90"]
    for stack, before in others.items():
        assert (program_project / "metrics" / f"{stack}.json").read_bytes() == before


def test_a_snapshot_of_another_stack_is_refused_at_its_stack_key(program_project: Path) -> None:
    east = program_project / "metrics" / "us-east-1.json"
    (program_project / "metrics" / "eu-west-1.json").write_text(east.read_text())
    result = cli("preview", "--stack", "eu-west-1", "--project-dir", str(program_project))
    assert (result.returncode, result.stdout) == (1, "")
    line = result.stderr.splitlines()[0]
    assert line.startswith(str(program_project / "metrics" / "eu-west-1.json") + ":")
    assert line.endswith(": stack: this is the snapshot of stack 'us-east-1', not 'eu-west-1'; run "
                         "`tusk-infra metrics pull --stack eu-west-1`")
