"""Backend configuration: which live providers a run uses, read from a stack's `tusk-infra:` config keys.

With no key set, every backend stays offline (no AWS, no database, in-process cache). Errors name the
stack file's line and column, the key, what was found and what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tusk_infra.backends.defaults import (
    DEFAULT_CACHE_DIR,
    DEFAULT_MAX_AGE_SECONDS,
    DEFAULT_SECRET_PREFIX,
    SECRET_SOURCE_KINDS,
    snapshot_path,
)
from tusk_infra.stack_file import load_stack_file
from tusk_infra.tusk.errors import TuskError

# The backends themselves are imported where a setting needs one (tusk_infra.backends.defaults says why).
if TYPE_CHECKING:
    from tusk_infra.backends.cloudwatch import MetricSpec

NAMESPACE = "tusk-infra:"
METRICS_PROVIDERS = ("static", "cloudwatch")
STALENESS_LEVELS = ("advisory", "mandatory")
# The statistics `metrics pull` reduces a window's per-period values with: a peak for deploy-time sizing.
PULL_STATISTICS = ("p50", "p90", "p95", "p99", "max", "mean")
CACHE_KINDS = ("memory", "file")

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class BackendConfigError(TuskError):
    """A backend setting in the stack config (or on the command line) is wrong; points at the stack file."""


class BackendOptionError(BackendConfigError):
    """A backend command-line option has a value that cannot be used: a usage error, named by its option.

    It has no place in a file, so it reads `--option: message` with no file:line:col.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, "<command line>", 0, 0)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BackendSettings:
    """Which live backends to use and how; the defaults are all offline."""

    stack: str | None = None
    secret_sources: tuple[str, ...] = ()
    secret_prefix: str = DEFAULT_SECRET_PREFIX
    metrics_provider: str = "static"
    metrics_window_seconds: int = 300
    metrics_period_seconds: int = 60
    metrics_timeout_seconds: float = 2.0
    metric_dimensions: Mapping[str, str] = field(default_factory=dict)
    metric_specs: Mapping[str, MetricSpec] = field(default_factory=dict)
    # @metrics reads this snapshot file (metrics/<stack>.json) unless live_metrics: the same commit, the
    # same plan. None: no stack project to hold one (eval without --stack), so the provider answers.
    metrics_snapshot: str | None = None
    live_metrics: bool = False
    metrics_max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS
    metrics_staleness: str = "advisory"
    metrics_statistic: str = "p95"
    metrics_pull_window_seconds: int = 7 * 86400
    cache: str = "memory"
    cache_dir: str = DEFAULT_CACHE_DIR
    database_url: str | None = None
    query_timeout_ms: int = 5000
    database_connect_timeout_seconds: int = 5
    aws_region: str | None = None
    aws_profile: str | None = None
    aws_endpoint_url: str | None = None
    # Where each stack config key was written (key -> file, line, column), for errors found later.
    locations: Mapping[str, tuple[str, int, int]] = field(default_factory=dict, compare=False, repr=False)
    # The command-line option that set a field (field -> `--option`); it wins over the stack config key.
    options: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def error(self, key: str, message: str) -> BackendConfigError:
        """A BackendOptionError naming the option that set `key`'s field, else an error at `key` in the stack
        file (unpositioned when it came from elsewhere)."""
        spec = STACK_KEYS.get(key)
        option = self.options.get(spec.field) if spec is not None else None
        if option is not None:
            return BackendOptionError(f"{option}: {message}")
        file, line, column = self.locations.get(key, ("<backend settings>", 1, 1))
        return BackendConfigError(f"{key}: {message}", file, line, column)

    @property
    def uses_network(self) -> bool:
        """True when some configured backend may reach AWS or a database."""
        live_metrics = self.metrics_provider == "cloudwatch" and (
            self.live_metrics or self.metrics_snapshot is None)
        return bool(self.secret_sources) or live_metrics or bool(self.database_url)


def parse_duration(value: object) -> float:
    """Seconds from `30s`, `5m`, `1h`, `1d`, `500ms` or a plain number of seconds; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '30s' or '5m', found {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(str(value))
        if not match:
            raise ValueError(f"expected a duration like '30s', '5m' or '500ms', found {value!r}")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, found {value!r}")
    return seconds


@dataclass(frozen=True)
class _Key:
    """One `tusk-infra:` key: the settings field it sets and how its value is checked."""

    field: str
    convert: Callable[[Any], Any]


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, found {value!r}")
        return str(value)

    return convert


def _text(value: Any) -> str:
    if isinstance(value, Mapping) and "secure" in value:
        raise ValueError(
            "found an encrypted Pulumi secret, which an offline run cannot decrypt; "
            "pass it through the environment or the command line instead"
        )
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, found {value!r}")
    return value


def _secret_sources(value: Any) -> tuple[str, ...]:
    items = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        kinds = ", ".join(SECRET_SOURCE_KINDS)
        raise ValueError(f"expected a list of secret sources ({kinds}), found {value!r}")
    return tuple(_choice(SECRET_SOURCE_KINDS)(item) for item in items)


def _window(value: Any) -> int:
    seconds = parse_duration(value)
    if seconds < 60:
        raise ValueError(f"expected a window of at least 60s, found {value!r}")
    return int(seconds)


def _period(value: Any) -> int:
    seconds = parse_duration(value)
    # CloudWatch accepts 1, 5, 10, 30 (high resolution) or any multiple of 60.
    if not (seconds in (1, 5, 10, 30) or (seconds >= 60 and seconds % 60 == 0)):
        raise ValueError(f"expected 1s, 5s, 10s, 30s or a multiple of 60s, found {value!r}")
    return int(seconds)


def _flag(value: Any) -> bool:
    # The engine hands the program config as strings; the stack file's YAML has a real boolean.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"expected true or false, found {value!r}")


def _pull_window(value: Any) -> int:
    seconds = parse_duration(value)
    if not 3600 <= seconds <= 63 * 86400:
        # CloudWatch keeps 5-minute data for 63 days.
        raise ValueError(f"expected a window from 1h to 63d, found {value!r}")
    return int(seconds)


def _timeout(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds > 30:
        raise ValueError(f"expected at most 30s (a preview must not wait long on metrics), found {value!r}")
    return seconds


def _milliseconds(value: Any) -> int:
    return max(1, round(parse_duration(value) * 1000))


def _whole_seconds(value: Any) -> int:
    # libpq counts connect_timeout in whole seconds.
    return max(1, round(parse_duration(value)))


def _string_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"expected a mapping of names to strings, found {value!r}")
    return {key: str(item) for key, item in value.items()}


def _metric_specs(value: Any) -> dict[str, MetricSpec]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of metric names to CloudWatch series, found {value!r}")
    return {str(name): _metric_spec(str(name), spec) for name, spec in value.items()}


def _metric_spec(name: str, spec: Any) -> MetricSpec:
    from tusk_infra.backends.cloudwatch import MetricSpec

    allowed = {"namespace", "metric", "dimensions", "stat", "perSecond"}
    if not isinstance(spec, Mapping) or not {"namespace", "metric"} <= set(spec) or set(spec) - allowed:
        raise ValueError(
            f"metric {name!r}: expected keys namespace, metric and optionally dimensions, stat, perSecond; "
            f"found {spec!r}"
        )
    per_second = spec.get("perSecond", False)
    if not isinstance(per_second, bool):
        raise ValueError(f"metric {name!r}: perSecond must be true or false, found {per_second!r}")
    return MetricSpec(
        namespace=_text(spec["namespace"]),
        metric=_text(spec["metric"]),
        dimensions=tuple(sorted(_string_map(spec.get("dimensions", {})).items())),
        stat=_text(spec.get("stat", "Average")),
        per_second=per_second,
    )


STACK_KEYS: dict[str, _Key] = {
    "tusk-infra:secretSources": _Key("secret_sources", _secret_sources),
    "tusk-infra:secretPrefix": _Key("secret_prefix", _text),
    "tusk-infra:metricsProvider": _Key("metrics_provider", _choice(METRICS_PROVIDERS)),
    "tusk-infra:metricsWindow": _Key("metrics_window_seconds", _window),
    "tusk-infra:metricsPeriod": _Key("metrics_period_seconds", _period),
    "tusk-infra:metricsTimeout": _Key("metrics_timeout_seconds", _timeout),
    "tusk-infra:metricsDimensions": _Key("metric_dimensions", _string_map),
    "tusk-infra:metrics": _Key("metric_specs", _metric_specs),
    "tusk-infra:liveMetrics": _Key("live_metrics", _flag),
    "tusk-infra:metricsMaxAge": _Key("metrics_max_age_seconds", parse_duration),
    "tusk-infra:metricsStaleness": _Key("metrics_staleness", _choice(STALENESS_LEVELS)),
    "tusk-infra:metricsStatistic": _Key("metrics_statistic", _choice(PULL_STATISTICS)),
    "tusk-infra:metricsPullWindow": _Key("metrics_pull_window_seconds", _pull_window),
    "tusk-infra:cache": _Key("cache", _choice(CACHE_KINDS)),
    "tusk-infra:cacheDir": _Key("cache_dir", _text),
    "tusk-infra:databaseUrl": _Key("database_url", _text),
    "tusk-infra:queryTimeout": _Key("query_timeout_ms", _milliseconds),
    "tusk-infra:databaseConnectTimeout": _Key("database_connect_timeout_seconds", _whole_seconds),
    "tusk-infra:awsEndpointUrl": _Key("aws_endpoint_url", _text),
    "aws:region": _Key("aws_region", _text),
    "aws:profile": _Key("aws_profile", _text),
}

# Converters shared with the command-line options in selection.py.
CONVERTERS: dict[str, Callable[[Any], Any]] = {key.field: key.convert for key in STACK_KEYS.values()}


def settings_from_stack_config(
    config: Mapping[str, Any],
    *,
    stack: str | None = None,
    file: str = "<stack config>",
    positions: Mapping[str, tuple[int, int]] | None = None,
    base: BackendSettings | None = None,
) -> BackendSettings:
    """BackendSettings from a stack's `config:` mapping; other keys are left to their owners."""
    settings = replace(base or BackendSettings(), stack=stack or (base.stack if base else None))
    locations = {key: (file, *(positions or {}).get(key, (1, 1))) for key in STACK_KEYS if key in config}
    changes: dict[str, Any] = {"locations": {**settings.locations, **locations}}
    for key, spec in STACK_KEYS.items():
        if key not in config:
            continue
        try:
            changes[spec.field] = spec.convert(config[key])
        except ValueError as error:
            raise BackendConfigError(f"{key}: {error}", *locations[key]) from None
    return replace(settings, **changes)


def load_stack_settings(path: Path, stack: str, base: BackendSettings | None = None) -> BackendSettings:
    """BackendSettings from `Pulumi.<stack>.yaml`; errors point at the file's line and column of the value."""
    stack_file = load_stack_file(path, error_type=BackendConfigError)
    settings = settings_from_stack_config(
        stack_file.values, stack=stack, file=str(path), positions=stack_file.value_positions, base=base
    )
    # A stack in a project reads @metrics from its snapshot beside the stack file (metrics/<stack>.json).
    return replace(settings, metrics_snapshot=str(snapshot_path(path.parent, stack)))
