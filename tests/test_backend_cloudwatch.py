"""The CloudWatch metrics provider: values read back from moto, bounded fallbacks when AWS is not there."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tusk_infra.backends.aws_clients import AwsOptions
from tusk_infra.backends.cloudwatch import (
    DEFAULT_METRICS,
    CloudWatchMetrics,
    MetricSpec,
    MetricWindow,
    UnresolvedPlaceholder,
    resolve_spec,
)
from tusk_infra.tusk.providers import MetricUnavailable

REGION = "us-east-1"
# Moto's dummy credentials on every test here, so none can reach a real AWS account.
pytestmark = pytest.mark.usefixtures("fake_aws_credentials")
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CPU = MetricSpec("ContainerInsights", "pod_cpu_utilization_over_pod_limit",
                 (("ClusterName", "tusk-use1"), ("Namespace", "tusk"), ("Service", "tusklang-app")))
REQUESTS = MetricSpec("AWS/ApplicationELB", "RequestCount", (("LoadBalancer", "app/tusk/1"),), "Sum",
                      per_second=True)


def put(spec: MetricSpec, points: list[tuple[int, float]]) -> None:
    """Publish (minutes ago, value) points for a series."""
    client = boto3.client("cloudwatch", region_name=REGION)
    client.put_metric_data(
        Namespace=spec.namespace,
        MetricData=[
            {
                "MetricName": spec.metric,
                "Dimensions": [{"Name": key, "Value": value} for key, value in spec.dimensions],
                "Timestamp": NOW - timedelta(minutes=minutes, seconds=30),
                "Value": value,
            }
            for minutes, value in points
        ],
    )


def provider(specs: dict[str, MetricSpec], **kwargs: object) -> CloudWatchMetrics:
    options = kwargs.pop("options", AwsOptions(region=REGION))
    # Tests about the time limit set `timeout` themselves; the others get room for a cold boto3 on a busy
    # machine, so the reason they assert is the one they set up and not "did not answer in time".
    kwargs.setdefault("timeout", 30.0)
    return CloudWatchMetrics(specs, options, clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def reason(answer: object) -> str:
    """The cause a provider gives for having no value (the evaluator's one warning names it)."""
    assert isinstance(answer, MetricUnavailable), answer
    return answer.reason


def test_average_over_the_window(aws: None) -> None:
    put(CPU, [(0, 70.0), (1, 80.0), (2, 90.0), (30, 5.0)])  # the 30-minute-old point is outside 5 minutes
    assert provider({"cpu_usage": CPU}).metric("cpu_usage") == pytest.approx(80.0)


def test_other_dimensions_are_not_mixed_in(aws: None) -> None:
    put(CPU, [(0, 50.0)])
    other_cluster = MetricSpec(CPU.namespace, CPU.metric, (("ClusterName", "other"),) + CPU.dimensions[1:])
    put(other_cluster, [(0, 99.0)])
    assert provider({"cpu_usage": CPU}).metric("cpu_usage") == pytest.approx(50.0)


def test_sum_per_second_is_a_rate(aws: None) -> None:
    put(REQUESTS, [(0, 6000.0), (1, 12000.0)])  # requests per minute
    metrics = provider({"requests_per_second": REQUESTS})
    assert metrics.metric("requests_per_second") == pytest.approx(150.0)


def test_window_is_configurable(aws: None) -> None:
    put(CPU, [(0, 10.0), (8, 40.0)])
    ten_minutes = provider({"cpu_usage": CPU}, window=MetricWindow(seconds=600))
    assert ten_minutes.metric("cpu_usage") == pytest.approx(25.0)


def test_one_request_serves_every_metric(aws: None) -> None:
    put(CPU, [(0, 42.0)])
    put(REQUESTS, [(0, 60.0)])
    calls: list[str] = []
    client = boto3.client("cloudwatch", region_name=REGION)
    client.meta.events.register("before-call.cloudwatch.*", lambda **kw: calls.append(kw["event_name"]))
    metrics = CloudWatchMetrics({"cpu_usage": CPU, "requests_per_second": REQUESTS}, AwsOptions(),
                                clock=lambda: NOW, client=client)
    assert (metrics.metric("cpu_usage"), metrics.metric("requests_per_second")) == (42.0, 1.0)
    assert calls == ["before-call.cloudwatch.GetMetricData"]


def test_no_data_falls_back_with_the_reason(aws: None) -> None:
    metrics = provider({"cpu_usage": CPU})
    assert reason(metrics.metric("cpu_usage")) == (
        "CloudWatch has no data for ContainerInsights/pod_cpu_utilization_over_pod_limit Average "
        "(ClusterName=tusk-use1, Namespace=tusk, Service=tusklang-app) in the last 5 min"
    )
    assert metrics.metric("cpu_usage") == metrics.metric("cpu_usage")


def test_unmapped_metric_falls_back_with_the_reason() -> None:
    metrics = provider({}, unmapped={"cpu_usage": "its dimension {cluster} is not configured"})
    assert reason(metrics.metric("cpu_usage")) == "its dimension {cluster} is not configured"
    assert reason(metrics.metric("disk_usage")) == "no CloudWatch mapping for it (mapped metrics: none)"


def test_unreachable_endpoint_falls_back_within_two_seconds() -> None:
    options = AwsOptions(region=REGION, endpoint_url="http://127.0.0.1:9", connect_timeout=1, read_timeout=2)
    metrics = provider({"cpu_usage": CPU, "requests_per_second": REQUESTS}, options=options, timeout=2.0)
    started = time.monotonic()
    cpu = metrics.metric("cpu_usage")
    requests = metrics.metric("requests_per_second")
    assert time.monotonic() - started < 2.2
    # Within the bound either cause may come first on a busy machine (refused, or the limit reached).
    for answer in (cpu, requests):
        assert reason(answer).startswith(
            ("CloudWatch unavailable (cannot reach AWS", "CloudWatch unavailable (AWS did not answer in time")
        ), answer


def test_unreachable_endpoint_is_named_as_the_cause() -> None:
    options = AwsOptions(region=REGION, endpoint_url="http://127.0.0.1:9", connect_timeout=1, read_timeout=2)
    metrics = provider({"cpu_usage": CPU}, options=options)
    assert reason(metrics.metric("cpu_usage")).startswith("CloudWatch unavailable (cannot reach AWS")


def test_silent_endpoint_is_cut_off_at_the_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        options = AwsOptions(region=REGION, endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
                             connect_timeout=5, read_timeout=5)
        metrics = provider({"cpu_usage": CPU}, options=options, timeout=0.5)
        started = time.monotonic()
        answer = metrics.metric("cpu_usage")
        assert time.monotonic() - started < 1.0
    assert reason(answer) == "CloudWatch unavailable (AWS did not answer in time (no answer within 0.5 s))"


def test_missing_credentials_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert reason(provider({"cpu_usage": CPU}).metric("cpu_usage")) == (
        "CloudWatch unavailable (no AWS credentials found (environment, shared config or instance role))"
    )


def test_default_map_fills_placeholders() -> None:
    context = {"cluster": "tusk-use1", "namespace": "tusk", "service": "tusklang-app"}
    assert resolve_spec(DEFAULT_METRICS["cpu_usage"], context) == CPU
    with pytest.raises(UnresolvedPlaceholder) as missing:
        resolve_spec(DEFAULT_METRICS["active_connections"], context)
    assert missing.value.placeholder == "db_instance"


def test_source_describes_the_series() -> None:
    metrics = provider({"requests_per_second": REQUESTS})
    assert metrics.source("requests_per_second") == (
        "CloudWatch AWS/ApplicationELB/RequestCount Sum per second (LoadBalancer=app/tusk/1)"
    )
    assert metrics.source("cpu_usage") is None


def stubbed_client() -> tuple[object, Stubber]:
    client = boto3.client("cloudwatch", region_name=REGION)
    return client, Stubber(client)


def result(values: list[float], status: str = "Complete", message: str = "") -> dict[str, object]:
    entry: dict[str, object] = {
        "Id": "m0", "Label": "cpu", "Timestamps": [NOW] * len(values), "Values": values, "StatusCode": status,
    }
    if message:
        entry["Messages"] = [{"Code": status, "Value": message}]
    return entry


def test_pages_are_followed_and_merged() -> None:
    client, stub = stubbed_client()
    stub.add_response("get_metric_data", {"MetricDataResults": [result([10.0, 20.0], "PartialData")],
                                          "NextToken": "page-2"})
    stub.add_response("get_metric_data", {"MetricDataResults": [result([60.0])]},
                      expected_params={"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY,
                                       "NextToken": "page-2"})
    with stub:
        metrics = CloudWatchMetrics({"cpu_usage": CPU}, AwsOptions(), clock=lambda: NOW, client=client)
        assert metrics.metric("cpu_usage") == pytest.approx(30.0)


def test_a_forbidden_series_names_the_reason() -> None:
    client, stub = stubbed_client()
    stub.add_response("get_metric_data",
                      {"MetricDataResults": [result([], "Forbidden", "no access to ContainerInsights")]})
    with stub:
        metrics = CloudWatchMetrics({"cpu_usage": CPU}, AwsOptions(), clock=lambda: NOW, client=client)
        answer = metrics.metric("cpu_usage")
    assert reason(answer) == (
        "CloudWatch could not read ContainerInsights/pod_cpu_utilization_over_pod_limit Average "
        "(ClusterName=tusk-use1, Namespace=tusk, Service=tusklang-app) "
        "(Forbidden: no access to ContainerInsights)"
    )


def test_access_denied_falls_back_with_the_aws_error() -> None:
    client, stub = stubbed_client()
    stub.add_client_error("get_metric_data", service_error_code="AccessDenied",
                          service_message="User is not authorized to perform cloudwatch:GetMetricData")
    with stub:
        metrics = CloudWatchMetrics({"cpu_usage": CPU}, AwsOptions(), clock=lambda: NOW, client=client)
        answer = metrics.metric("cpu_usage")
    assert reason(answer) == (
        "CloudWatch unavailable (AccessDenied: User is not authorized to perform cloudwatch:GetMetricData)"
    )
