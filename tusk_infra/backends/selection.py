"""Turn backend settings (stack config and command-line options) into the evaluator's `Providers`.

This is the only place live backends are chosen. With nothing configured the result is exactly the offline
defaults handed in: no AWS client is created and no database is opened, so no network call can happen.
Building Providers also registers the PostgreSQL `@query` adapter, which opens no connection until used.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusk_infra.backends.config import (
    CACHE_KINDS,
    CONVERTERS,
    METRICS_PROVIDERS,
    BackendSettings,
)
from tusk_infra.backends.defaults import POSTGRES_SCHEMES, SECRET_SOURCE_KINDS
from tusk_infra.backends.errors import BackendError
from tusk_infra.tusk.providers import (
    MetricsProvider,
    MetricUnavailable,
    Providers,
    QueryAdapter,
    SecretSource,
    register_adapter,
)

# Each backend's module is imported by the function that builds that backend: with none configured, a command
# (`eval FILE`) loads no AWS client code, socket or statistics (tusk_infra.backends.defaults).
if TYPE_CHECKING:
    from tusk_infra.backends.aws_clients import AwsOptions
    from tusk_infra.backends.cloudwatch import MetricSpec
    from tusk_infra.backends.file_cache import FileCache

# Read when the command line names no database; wins over the stack config's tusk-infra:databaseUrl.
DATABASE_URL_ENV = "TUSK_DATABASE_URL"

# Secrets are few and read once; they may wait longer than metrics, but never forever.
SECRET_TIMEOUTS = {"connect_timeout": 2.0, "read_timeout": 3.0, "total_attempts": 3}


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the live-backend options (`--metrics-provider`, `--cache-dir`, ...) to a command's parser."""
    group = parser.add_argument_group("live backends (default: offline)")
    group.add_argument("--secrets-from", dest="backend_secret_sources", action="append",
                       choices=sorted(SECRET_SOURCE_KINDS), metavar="SOURCE",
                       help="also read @env.secure from AWS: secretsmanager or ssm (repeatable, in order)")
    group.add_argument("--secret-prefix", dest="backend_secret_prefix", metavar="PREFIX",
                       help="AWS name prefix for secrets (default /tusk-infra/{stack}/)")
    group.add_argument("--metrics-provider", dest="backend_metrics_provider", choices=METRICS_PROVIDERS,
                       help="where @metrics reads live values (default: static)")
    group.add_argument("--metrics-window", dest="backend_metrics_window", metavar="DURATION",
                       type=option_type("metrics_window_seconds"),
                       help="average metrics over this window (5m)")
    group.add_argument("--metrics-timeout", dest="backend_metrics_timeout", metavar="DURATION",
                       type=option_type("metrics_timeout_seconds"),
                       help="total time allowed for metrics (2s)")
    group.add_argument("--metric-dimension", dest="backend_metric_dimensions", action="append",
                       type=name_value, metavar="NAME=VALUE",
                       help="fill a {NAME} in the CloudWatch dimensions, e.g. cluster=prod-use1")
    group.add_argument("--cache", dest="backend_cache", choices=CACHE_KINDS,
                       help="memory (default) or file: keep @cache values between runs")
    group.add_argument("--cache-dir", dest="backend_cache_dir", metavar="DIR",
                       help="directory of the persistent cache (implies --cache file; default .tusk-cache)")
    group.add_argument("--query-timeout", dest="backend_query_timeout", metavar="DURATION",
                       type=option_type("query_timeout_ms"),
                       help="time limit of one @query (5s; statement_timeout on PostgreSQL)")
    add_aws_options(group, "the secrets and metrics")


def add_aws_options(parser: Any, what: str) -> None:
    """--aws-region/--aws-profile/--aws-endpoint-url, read by settings_from_args; `what` the AWS data is."""
    parser.add_argument("--aws-region", dest="backend_aws_region", metavar="REGION",
                        help=f"AWS region of {what} (default: the stack's aws:region)")
    parser.add_argument("--aws-profile", dest="backend_aws_profile", metavar="PROFILE",
                        help="AWS credentials profile (default: boto3's usual chain)")
    parser.add_argument("--aws-endpoint-url", dest="backend_aws_endpoint_url", metavar="URL",
                        help="send AWS calls to this endpoint (e.g. a local emulator)")


def settings_from_args(args: argparse.Namespace, base: BackendSettings | None = None) -> BackendSettings:
    """`base` (e.g. from the stack config) overridden by whichever backend options were given."""
    settings = base or BackendSettings()
    changes: dict[str, Any] = {}
    # Which option set which field, so a bad value is reported as that option, not as a stack config key.
    options = dict(settings.options)
    for option, field_name in _OPTION_FIELDS.items():
        value = getattr(args, option, None)
        if value is not None:
            changes[field_name] = tuple(value) if field_name == "secret_sources" else value
            options[field_name] = _flag(option)
    dimensions = getattr(args, "backend_metric_dimensions", None)
    if dimensions:
        changes["metric_dimensions"] = {**settings.metric_dimensions, **dict(dimensions)}
        options["metric_dimensions"] = "--metric-dimension"
    if getattr(args, "backend_cache_dir", None) and not getattr(args, "backend_cache", None):
        changes["cache"] = "file"
        options["cache"] = "--cache-dir"
    changes["options"] = options
    # A command with its own --stack (preview, check) names the stack the secret prefix refers to.
    stack = getattr(args, "stack", None)
    if settings.stack is None and isinstance(stack, str):
        changes["stack"] = stack
    return dataclasses.replace(settings, **changes)


def _flag(dest: str) -> str:
    """The command-line flag of a backend option's dest: `backend_cache_dir` -> `--cache-dir`."""
    if dest == "backend_secret_sources":
        return "--secrets-from"
    return "--" + dest.removeprefix("backend_").replace("_", "-")


_OPTION_FIELDS = {
    "backend_secret_sources": "secret_sources",
    "backend_secret_prefix": "secret_prefix",
    "backend_metrics_provider": "metrics_provider",
    "backend_live_metrics": "live_metrics",
    "backend_metrics_statistic": "metrics_statistic",
    "backend_metrics_pull_window": "metrics_pull_window_seconds",
    "backend_metrics_window": "metrics_window_seconds",
    "backend_metrics_timeout": "metrics_timeout_seconds",
    "backend_cache": "cache",
    "backend_cache_dir": "cache_dir",
    "backend_query_timeout": "query_timeout_ms",
    "backend_aws_region": "aws_region",
    "backend_aws_profile": "aws_profile",
    "backend_aws_endpoint_url": "aws_endpoint_url",
}


def build_providers(settings: BackendSettings, base: Providers | None = None) -> Providers:
    """`base` (offline defaults, --env/--metric/--db already applied) with the configured live backends."""
    providers = dataclasses.replace(base) if base is not None else Providers()
    for scheme in POSTGRES_SCHEMES:
        register_adapter(scheme, partial(_postgres_adapter, settings.database_connect_timeout_seconds,
                                         settings.query_timeout_ms))
    register_adapter("sqlite", partial(_sqlite_adapter, settings.query_timeout_ms / 1000))

    # Late-bound, so a caller that swaps `warn` afterwards still receives the backends' warnings.
    def warn(message: str) -> None:
        providers.warn(message)

    providers.secrets = (*providers.secrets, *_secret_sources(settings))
    providers.metrics = _metrics(settings, providers)
    if settings.cache == "file":
        providers.cache = _file_cache(settings, providers, warn)
    # --db, then the environment (where a URL with a password belongs), then the stack config.
    providers.database_url = (
        providers.database_url or providers.env.get(DATABASE_URL_ENV) or settings.database_url
    )
    return providers


def _postgres_adapter(connect_timeout_seconds: int, query_timeout_ms: int, url: str) -> QueryAdapter:
    """The PostgreSQL adapter with the settings' limits; its module (psycopg, sockets) is imported when a
    @query first opens a postgresql:// URL."""
    from tusk_infra.backends import postgres

    return postgres.PostgresAdapter(url, postgres.PostgresLimits(connect_timeout_seconds, query_timeout_ms))


def _sqlite_adapter(timeout_seconds: float, url: str) -> QueryAdapter:
    from tusk_infra.tusk.sqlite_adapter import SqliteAdapter

    return SqliteAdapter(url, timeout_seconds=timeout_seconds)


def _file_cache(settings: BackendSettings, providers: Providers, warn: Callable[[str], None]) -> FileCache:
    from tusk_infra.backends.file_cache import FileCache

    try:
        return FileCache(settings.cache_dir, clock=lambda: providers.clock().timestamp(), warn=warn)
    except BackendError as error:
        # Raised before any evaluation, as a TuskError pointing at the setting, so commands report it cleanly.
        raise settings.error("tusk-infra:cacheDir", error.message) from None


def _secret_sources(settings: BackendSettings) -> list[SecretSource]:
    if not settings.secret_sources:
        return []
    from tusk_infra.backends.aws_secrets import SOURCE_KINDS, SecretNaming

    options = _aws_options(settings, **SECRET_TIMEOUTS)
    naming = SecretNaming(settings.secret_prefix, settings.stack)
    return [SOURCE_KINDS[kind](naming, options) for kind in settings.secret_sources]


def _metrics(settings: BackendSettings, providers: Providers) -> MetricsProvider | None:
    if settings.live_metrics and settings.metrics_provider != "cloudwatch":
        raise settings.error("tusk-infra:liveMetrics", "live metrics need a provider to read: set "
                             "tusk-infra:metricsProvider: cloudwatch (or --metrics-provider cloudwatch)")
    if settings.metrics_snapshot is not None and not settings.live_metrics:
        if settings.metrics_provider == "cloudwatch":
            metric_map(settings)  # a mapping `metrics pull` could not use is wrong now, not only then
        return _snapshot_metrics(settings, providers)
    if settings.metrics_provider != "cloudwatch":
        return providers.metrics
    from tusk_infra.backends.cloudwatch import CloudWatchMetrics, MetricWindow

    specs, unmapped = metric_map(settings)
    # Split the time budget: at most half of it waiting for a connection, the rest for the answer.
    timeout = settings.metrics_timeout_seconds
    options = _aws_options(settings, connect_timeout=timeout / 2, read_timeout=timeout, total_attempts=2)
    cloudwatch = CloudWatchMetrics(
        specs,
        options,
        window=MetricWindow(settings.metrics_window_seconds, settings.metrics_period_seconds),
        timeout=timeout,
        unmapped=unmapped,
        clock=lambda: providers.clock().astimezone(UTC),
    )
    # Values given on the command line (--metric NAME=VALUE) win over CloudWatch.
    return cloudwatch if providers.metrics is None else FirstAnswer(providers.metrics, cloudwatch)


def _snapshot_metrics(settings: BackendSettings, providers: Providers) -> MetricsProvider:
    """The stack's snapshot; values given on the command line (--metric NAME=VALUE) win over it."""
    from tusk_infra.backends.snapshot import SnapshotMetrics, read_stack_snapshot

    path = settings.metrics_snapshot
    assert path is not None
    snapshot = SnapshotMetrics(read_stack_snapshot(Path(path), settings.stack), path, settings.stack)
    return snapshot if providers.metrics is None else FirstAnswer(providers.metrics, snapshot)


def metric_map(settings: BackendSettings) -> tuple[dict[str, MetricSpec], dict[str, str]]:
    """The resolved CloudWatch series per metric name, and why any default metric is left unmapped."""
    from tusk_infra.backends.cloudwatch import DEFAULT_METRICS, UnresolvedPlaceholder, resolve_spec

    context = {
        "region": settings.aws_region or "",
        "stack": settings.stack or "",
        **settings.metric_dimensions,
    }
    specs: dict[str, MetricSpec] = {}
    unmapped: dict[str, str] = {}
    for name, spec in {**DEFAULT_METRICS, **settings.metric_specs}.items():
        try:
            specs[name] = resolve_spec(spec, context)
        except UnresolvedPlaceholder as missing:
            if name in settings.metric_specs:
                raise settings.error(
                    "tusk-infra:metrics",
                    f"metric {name!r} uses {{{missing.placeholder}}}, which tusk-infra:metricsDimensions "
                    f"(or --metric-dimension) does not define",
                ) from None
            unmapped[name] = (
                f"its CloudWatch dimension {{{missing.placeholder}}} is not configured "
                f"(set tusk-infra:metricsDimensions.{missing.placeholder} or --metric-dimension "
                f"{missing.placeholder}=...)"
            )
    return specs, unmapped


def _aws_options(settings: BackendSettings, **timeouts: Any) -> AwsOptions:
    from tusk_infra.backends.aws_clients import AwsOptions

    return AwsOptions(
        region=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        profile=settings.aws_profile,
        **timeouts,
    )


@dataclasses.dataclass(frozen=True)
class FirstAnswer:
    """Asks each metrics provider in turn; the first that knows the metric answers."""

    first: MetricsProvider
    then: MetricsProvider

    def metric(self, name: str) -> float | MetricUnavailable | None:
        """The first provider's value, else the second's answer (a value, or why there is none)."""
        value = self.first.metric(name)
        known = value is not None and not isinstance(value, MetricUnavailable)
        return value if known else self.then.metric(name)


def option_type(field_name: str) -> Callable[[str], Any]:
    """An argparse `type` that converts an option's text as the stack config's key of that setting is."""
    convert = CONVERTERS[field_name]

    def parse(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def name_value(text: str) -> tuple[str, str]:
    """An argparse `type` for NAME=VALUE options."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, found {text!r}")
    return name, value
