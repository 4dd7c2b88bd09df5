"""`@metrics(name, default)` answered from Amazon CloudWatch with one bounded `GetMetricData` call per run.

A metric name maps to a namespace, metric, dimensions and statistic (the defaults read the region's app from
Container Insights, its database from RDS and its load balancer from ELB). The value is the mean of the
per-period statistic over the window. When AWS fails, is slow or has no data, the answer is a
`MetricUnavailable` with the cause, so the expression's default is used and the evaluator warns once per
metric naming that cause: a preview never fails because metrics are down.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from tusk_infra.backends.aws_clients import AwsOptions, describe_aws_failure, make_client
from tusk_infra.backends.deadline import call_with_deadline
from tusk_infra.backends.errors import BackendError
from tusk_infra.tusk.providers import MetricUnavailable


@dataclass(frozen=True)
class MetricSpec:
    """Which CloudWatch series a metric name reads. Dimension values may hold `{placeholders}`."""

    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...] = ()
    stat: str = "Average"
    # Divide the per-period statistic by the period: a Sum of requests per minute becomes requests per second.
    per_second: bool = False

    def describe(self) -> str:
        """`Namespace/Metric Stat (Dim=value, ...)`, for warnings and explain."""
        dims = ", ".join(f"{key}={value}" for key, value in self.dimensions)
        rate = " per second" if self.per_second else ""
        return f"{self.namespace}/{self.metric} {self.stat}{rate}" + (f" ({dims})" if dims else "")


# Container Insights for the app's pods, RDS for the database. The placeholders come from the
# `metricsDimensions` configuration ({region} and {stack} are always known).
# cpu_usage and memory_usage are the pods' use as a percentage of their own limit (`..._over_pod_limit`), not
# `pod_cpu_utilization`, which is a share of the node's capacity: "> 80" must mean the pods run near their
# ceiling whatever node they land on. There is no requests_per_second: the app is reached through a network
# load balancer (its LoadBalancer Service), and an NLB counts flows and bytes, not requests; ALB RequestCount
# would not exist. Map one from the app's own metrics with tusk-infra:metrics if global.tsk needs it.
DEFAULT_METRICS: dict[str, MetricSpec] = {
    "cpu_usage": MetricSpec(
        "ContainerInsights",
        "pod_cpu_utilization_over_pod_limit",
        (("ClusterName", "{cluster}"), ("Namespace", "{namespace}"), ("Service", "{service}")),
    ),
    "memory_usage": MetricSpec(
        "ContainerInsights",
        "pod_memory_utilization_over_pod_limit",
        (("ClusterName", "{cluster}"), ("Namespace", "{namespace}"), ("Service", "{service}")),
    ),
    "active_connections": MetricSpec(
        "AWS/RDS", "DatabaseConnections", (("DBInstanceIdentifier", "{db_instance}"),)
    ),
}


class UnresolvedPlaceholder(Exception):
    """A dimension value names a placeholder the configuration does not define."""

    def __init__(self, placeholder: str) -> None:
        super().__init__(placeholder)
        self.placeholder = placeholder


def resolve_spec(spec: MetricSpec, context: Mapping[str, str]) -> MetricSpec:
    """Fill `{placeholders}` in dimension values from `context`; UnresolvedPlaceholder if one is missing."""
    dimensions = tuple((key, _fill(value, context)) for key, value in spec.dimensions)
    return replace(spec, dimensions=dimensions)


def _fill(template: str, context: Mapping[str, str]) -> str:
    try:
        return template.format_map(context)
    except KeyError as missing:
        raise UnresolvedPlaceholder(str(missing.args[0])) from None
    except (ValueError, IndexError) as error:
        raise BackendError(f"bad dimension template {template!r}: {error}") from None


@dataclass(frozen=True)
class MetricWindow:
    """How far back to look and how finely: the value is the mean of per-period statistics."""

    seconds: int = 300
    period: int = 60


class CloudWatchMetrics:
    """A MetricsProvider over CloudWatch `GetMetricData`, bounded to `timeout` seconds in total per run."""

    def __init__(
        self,
        specs: Mapping[str, MetricSpec],
        options: AwsOptions,
        *,
        window: MetricWindow = MetricWindow(),
        timeout: float = 2.0,
        unmapped: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        client: Any = None,
    ) -> None:
        self.specs = dict(specs)
        # Metric names known but not mappable here, with the reason (e.g. a dimension nobody configured).
        self.unmapped = dict(unmapped or {})
        self._options = options
        self._window = window
        self._timeout = timeout
        self._clock = clock
        self._client = client
        self._outcomes: dict[str, float | str] | None = None

    def metric(self, name: str) -> float | MetricUnavailable:
        """The metric's mean over the window, or why it cannot be had (the evaluator warns with that)."""
        outcome = self._outcome(name)
        return outcome if isinstance(outcome, float) else MetricUnavailable(outcome)

    def source(self, name: str) -> str | None:
        """Where `name` is read from, for explain output (None if unmapped)."""
        spec = self.specs.get(name)
        return f"CloudWatch {spec.describe()}" if spec else None

    def _outcome(self, name: str) -> float | str:
        if name not in self.specs:
            reason = self.unmapped.get(name)
            known = ", ".join(sorted(self.specs)) or "none"
            return reason or f"no CloudWatch mapping for it (mapped metrics: {known})"
        if self._outcomes is None:
            self._outcomes = self._fetch_all()
        return self._outcomes[name]

    def _fetch_all(self) -> dict[str, float | str]:
        names = sorted(self.specs)
        try:
            # Client creation counts against the bound: its first use in a process loads botocore's models.
            series = call_with_deadline(lambda: self._query(self._get_client(), names), self._timeout)
        except Exception as error:
            cause = error.message if isinstance(error, BackendError) else describe_aws_failure(error)
            return {name: f"CloudWatch unavailable ({cause})" for name in names}
        return {name: self._reduce(name, series[name]) for name in names}

    def _get_client(self) -> Any:
        if self._client is None:
            self._client = make_client("cloudwatch", self._options)
        return self._client

    def _query(self, client: Any, names: list[str]) -> dict[str, _Series]:
        end = self._clock()
        start = end - timedelta(seconds=self._window.seconds)
        chosen = {name: self.specs[name] for name in names}
        return fetch_series(client, chosen, start, end, self._window.period)

    def _reduce(self, name: str, series: _Series) -> float | str:
        if not series.values:
            if series.problem:
                return f"CloudWatch could not read {self.specs[name].describe()} ({series.problem})"
            minutes = self._window.seconds / 60
            return f"CloudWatch has no data for {self.specs[name].describe()} in the last {minutes:g} min"
        mean = statistics.fmean(series.values)
        return mean / self._window.period if self.specs[name].per_second else mean


def fetch_series(
    client: Any, specs: Mapping[str, MetricSpec], start: datetime, end: datetime, period: int
) -> dict[str, _Series]:
    """Every series' per-period statistic from `start` to `end`, in as few GetMetricData calls as it takes."""
    names = list(specs)
    queries = [_query_entry(f"m{index}", specs[name], period) for index, name in enumerate(names)]
    request: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    series = {name: _Series() for name in names}
    while True:
        response = client.get_metric_data(**request)
        for result in response.get("MetricDataResults", []):
            series[names[int(result["Id"][1:])]].add(result)
        token = response.get("NextToken")
        if not token:
            return series
        request["NextToken"] = token


def _query_entry(query_id: str, spec: MetricSpec, period: int) -> dict[str, Any]:
    metric = {
        "Namespace": spec.namespace,
        "MetricName": spec.metric,
        "Dimensions": [{"Name": key, "Value": value} for key, value in spec.dimensions],
    }
    stat = {"Metric": metric, "Period": period, "Stat": spec.stat}
    return {"Id": query_id, "MetricStat": stat, "ReturnData": True}


@dataclass
class _Series:
    """The datapoints GetMetricData returned for one query, and why there are none if it says so."""

    values: list[float] = field(default_factory=list)
    problem: str = ""

    def add(self, result: Mapping[str, Any]) -> None:
        self.values.extend(float(value) for value in result.get("Values", []))
        # Complete and PartialData (more pages follow) are normal; InternalError and Forbidden are not.
        status = result.get("StatusCode", "Complete")
        if status not in ("Complete", "PartialData"):
            details = "; ".join(str(m.get("Value", "")) for m in result.get("Messages", []) if m.get("Value"))
            self.problem = f"{status}: {details}" if details else str(status)
