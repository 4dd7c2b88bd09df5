"""`tusk-infra metrics pull` underneath: read a stack's metrics from CloudWatch as a peak over a window.

Deploy-time sizing wants a peak, not a five-minute mean: each metric is read as its per-period statistic
(e.g. 5-minute averages) over the window (7 days by default) and reduced to one number with the chosen
statistic (p95 by default), computed here from the data points, so any provider (and moto) serves it.
Anything short of a value for every metric is a PullError: a snapshot is written whole or not at all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tusk_infra.backends.aws_clients import AwsOptions, describe_aws_failure, make_client
from tusk_infra.backends.cloudwatch import MetricSpec, fetch_series
from tusk_infra.backends.config import BackendSettings
from tusk_infra.backends.deadline import call_with_deadline
from tusk_infra.backends.errors import BackendError
from tusk_infra.backends.selection import metric_map
from tusk_infra.backends.snapshot import MetricReading, MetricSnapshot

DEFAULT_PERIOD_SECONDS = 300
DEFAULT_PULL_TIMEOUT_SECONDS = 60.0


class PullError(Exception):
    """Why a stack's metrics could not be pulled; one line, safe to print."""


def reduce_values(values: Sequence[float], statistic: str) -> float:
    """One number from a window's per-period values: pNN (linear interpolation), max or mean."""
    if statistic == "max":
        return max(values)
    if statistic == "mean":
        return statistics.fmean(values)
    return percentile(values, float(statistic.removeprefix("p")))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile by linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def duration_text(seconds: int) -> str:
    """`7d`, `12h`, `5m` or `30s`: the largest unit that divides the duration."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def pull_snapshot(
    stack: str,
    names: Sequence[str],
    settings: BackendSettings,
    *,
    now: datetime,
    period: int = DEFAULT_PERIOD_SECONDS,
    timeout: float = DEFAULT_PULL_TIMEOUT_SECONDS,
    where: Mapping[str, str] | None = None,
    client: Any = None,
) -> MetricSnapshot:
    """Every metric in `names` for the stack, as the stack's settings map them; PullError on any gap.

    `where` gives a global.tsk location per name, for the message when a name has no mapping."""
    specs = _specs(names, settings, where or {})
    window = settings.metrics_pull_window_seconds
    start = now - timedelta(seconds=window)
    get_client: Callable[[], Any] = (lambda: client) if client is not None else (
        lambda: make_client("cloudwatch", _options(settings, timeout)))
    try:
        series = call_with_deadline(lambda: fetch_series(get_client(), specs, start, now, period), timeout)
    except Exception as error:
        cause = error.message if isinstance(error, BackendError) else describe_aws_failure(error)
        raise PullError(f"CloudWatch unavailable ({cause})") from None
    readings = {}
    for name, spec in specs.items():
        found = series[name]
        if found.problem:
            raise PullError(f"CloudWatch could not read {name} from {spec.describe()} ({found.problem})")
        if not found.values:
            raise PullError(f"CloudWatch has no data for {name} ({spec.describe()}) in the last "
                            f"{duration_text(window)}")
        values = [value / period for value in found.values] if spec.per_second else found.values
        value = round(reduce_values(values, settings.metrics_statistic), 2)
        readings[name] = MetricReading(value, settings.metrics_statistic, duration_text(window),
                                       _source(spec, period))
    return MetricSnapshot(stack, now.replace(microsecond=0), readings)


def _specs(
    names: Sequence[str], settings: BackendSettings, where: Mapping[str, str]
) -> dict[str, MetricSpec]:
    specs, unmapped = metric_map(settings)
    chosen = {}
    for name in names:
        at = f" (read at {where[name]})" if name in where else ""
        if name in specs:
            chosen[name] = specs[name]
        elif name in unmapped:
            raise PullError(f"metric {name!r}{at} cannot be read: {unmapped[name]}")
        else:
            known = ", ".join(sorted(specs)) or "none"
            raise PullError(f"metric {name!r}{at} has no CloudWatch mapping (mapped: {known}); add one under "
                            "tusk-infra:metrics in the stack file")
    return chosen


def _source(spec: MetricSpec, period: int) -> dict[str, Any]:
    """The query a value came from, as the snapshot records it."""
    source: dict[str, Any] = {
        "provider": "cloudwatch",
        "namespace": spec.namespace,
        "metric": spec.metric,
        "dimensions": dict(spec.dimensions),
        "stat": spec.stat,
        "period": period,
    }
    if spec.per_second:
        source["per_second"] = True
    return source


def _options(settings: BackendSettings, timeout: float) -> AwsOptions:
    return AwsOptions(region=settings.aws_region, endpoint_url=settings.aws_endpoint_url,
                      profile=settings.aws_profile, connect_timeout=min(timeout / 2, 10.0),
                      read_timeout=min(timeout, 30.0), total_attempts=3)
