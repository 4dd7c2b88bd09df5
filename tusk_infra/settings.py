"""One region's settings as types: the only place where global.tsk's output becomes typed values.

Validation errors point at the .tsk file:line:col of the offending value (from the document's provenance),
because users edit global.tsk, not Python.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from tusk_infra import route53_limits
from tusk_infra.rds_instance_classes import GIB, known_families, memory_bytes
from tusk_infra.tusk import Document, Providers, TuskError, evaluate_file
from tusk_infra.tusk.values import Secret
from tusk_infra.tusk.valuetypes import describe, type_name

DocPath = tuple[str | int, ...]

# What each string format means, in words: a validation error says this instead of quoting the regex.
_FORMATS: dict[str, str] = {}


def _format(pattern: str, words: str) -> StringConstraints:
    _FORMATS[pattern] = words
    return StringConstraints(pattern=pattern)


Duration = Annotated[str, _format(r"^\d+(ms|s|m|h)$", 'a duration like "500ms", "30s", "5m" or "1h"')]
CpuQuantity = Annotated[str, _format(r"^(\d+m|\d+(\.\d+)?)$", 'a CPU quantity like "250m" or "0.5"')]
MemoryQuantity = Annotated[
    str, _format(r"^\d+(Ki|Mi|Gi|Ti|K|M|G|T)?$", 'a memory quantity like "256Mi" or "1Gi"')
]
DnsLabel = Annotated[
    str,
    _format(
        r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        "a Kubernetes name: lowercase letters, digits and '-', at most 63 characters",
    ),
]
RegionName = Annotated[str, _format(r"^[a-z]{2}(-[a-z]+)+-\d$", 'an AWS region like "us-east-1"')]
Url = Annotated[str, _format(r"^https?://\S+$", "an http:// or https:// URL without spaces")]
HttpPath = Annotated[str, _format(r"^/\S*$", 'a path starting with "/" (like "/health")')]
EngineVersion = Annotated[str, _format(r"^\d+(\.\d+)?$", 'a version string like "16" or "7.1"')]
CacheNodeType = Annotated[
    str, _format(r"^cache\.[a-z0-9]+\.[a-z0-9]+$", 'an ElastiCache node type like "cache.r7g.large"')
]
DbInstanceClass = Annotated[
    str, _format(r"^db\.[a-z0-9]+\.[a-z0-9]+$", 'an RDS instance class like "db.r6g.large"')
]
PostgresName = Annotated[
    str,
    _format(
        r"^[a-z_][a-z0-9_]{0,62}$",
        "a PostgreSQL name: lowercase letters, digits and '_', not starting with a digit, up to 63 long",
    ),
]
ImageRepository = Annotated[
    str,
    _format(
        r"^[a-z0-9][a-z0-9./_-]*$",
        'an image repository like "tusklang/app" (lowercase, no tag: the tag is the stack\'s imageTag)',
    ),
]
Percent = Annotated[int, Field(ge=1, le=100)]
DomainName = Annotated[
    str,
    _format(
        r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z][-a-z0-9]{0,61}[a-z0-9]$",
        'a lowercase DNS name like "app.example.com" (no trailing dot)',
    ),
]
HostedZone = Annotated[
    str,
    _format(
        r"^(Z[A-Z0-9]{1,31}|([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z][-a-z0-9]{0,61}[a-z0-9])$",
        'a Route 53 hosted zone id like "Z0123456789ABCDEFGHIJ" or its lowercase name like "example.com"',
    ),
]


class SettingsError(TuskError):
    """global.tsk evaluated, but a value has the wrong type, is out of range or contradicts another one.

    `also` holds the other problems found in the same pass (`file:line:col: message`, in file order), so
    one run shows everything to fix; render() lists them under the first problem's snippet."""

    also: tuple[str, ...] = ()

    def render(self) -> str:
        shown = self.also[:_ALSO_SHOWN]
        more = len(self.also) - len(shown)
        lines = [super().render(), *(f"also: {line}" for line in shown)]
        if more:
            lines.append(f"also: ... and {more} more")
        return "\n".join(lines)


_ALSO_SHOWN = 10


class _Section(BaseModel):
    # strict: a quoted "50" in the .tsk is a mistake worth reporting, not something to coerce silently.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, arbitrary_types_allowed=True)


class GlobalSection(_Section):
    region: RegionName
    zone: str
    instance_id: str
    deployment_id: str


class RegionProfile(_Section):
    """One block of [regional_config]: what differs between regions."""

    cdn_url: Url
    timezone: str
    redis_shards: Annotated[int, Field(ge=1, le=500)]
    redis_node_type: CacheNodeType
    db_instance_class: DbInstanceClass
    # false drains the region: its Route 53 record goes, so DNS stops sending users there (global_traffic).
    serving: bool = True


class RegionalSettings(_Section):
    cdn_url: Url
    timezone: str


class Performance(_Section):
    cache_ttl: Duration
    worker_count: Annotated[int, Field(ge=1)]
    connection_pool_size: Annotated[int, Field(ge=1)]


class CacheAlarms(_Section):
    """ElastiCache thresholds, watched on every node of the replication group."""

    cpu_percent: Percent = 80  # EngineCPUUtilization (the seed: CPU > 80 %)
    memory_percent: Percent = 85  # DatabaseMemoryUsagePercentage (the seed: memory > 85 %)
    evictions: Annotated[int, Field(ge=0)] = 1000  # keys evicted per period (Sum)
    replication_lag_seconds: Annotated[int, Field(ge=1)] = 10
    # ElastiCache's maxclients is fixed at 65,000.
    connections: Annotated[int, Field(ge=1, le=65000)] = 52000


class DatabaseAlarms(_Section):
    """RDS thresholds, watched on the region's instance (primary or replica)."""

    cpu_percent: Percent = 80  # CPUUtilization (the seed: CPU > 80 %)
    # FreeableMemory below a share of the instance class's memory, or below a number of bytes: one of the two.
    freeable_memory_percent: Percent | None = None
    freeable_memory_bytes: Annotated[int, Field(ge=1)] | None = None
    # FreeStorageSpace below this share of max_allocated_storage_gb (storage autoscaling grows the disk).
    free_storage_percent: Annotated[int, Field(ge=1, le=50)] = 1
    replica_lag_seconds: Annotated[int, Field(ge=1)] = 60  # ReplicaLag, on read replicas only
    connections_percent: Percent = 80  # DatabaseConnections, as a share of database.max_connections


# Memory in use above the seed's 85 % is FreeableMemory below 15 % of the class's memory.
DEFAULT_FREEABLE_MEMORY_PERCENT = 15


class HealthCheckAlarms(_Section):
    """Route 53 health check thresholds (its metrics exist only in us-east-1)."""

    # TimeToFirstByte, when the health check measures latency (the seed: response time > 1000 ms).
    time_to_first_byte_ms: Annotated[int, Field(ge=1)] = 1000


class Alarms(_Section):
    """CloudWatch alarms of the region: how long a threshold must be crossed, and the thresholds."""

    # Standard-resolution metrics (ElastiCache, RDS, Route 53) have one datapoint a minute.
    period_seconds: Annotated[int, Field(ge=60, multiple_of=60)] = 60
    evaluation_periods: Annotated[int, Field(ge=1)] = 5
    datapoints_to_alarm: Annotated[int, Field(ge=1)] = 3
    cache: CacheAlarms = Field(default_factory=CacheAlarms)
    database: DatabaseAlarms = Field(default_factory=DatabaseAlarms)
    health_check: HealthCheckAlarms = Field(default_factory=HealthCheckAlarms)


class Monitoring(_Section):
    metrics_endpoint: Url
    log_aggregator: Url
    alarms: Alarms = Field(default_factory=Alarms)


class ScalingPolicy(_Section):
    """One direction of the HPA's behavior: a stabilization window and a percent-per-period policy."""

    # Kubernetes' own bounds for HPAScalingRules.
    stabilization_seconds: Annotated[int, Field(ge=0, le=3600)]
    percent: Annotated[int, Field(ge=1, le=1000)]
    period_seconds: Annotated[int, Field(ge=1, le=1800)]


class Autoscaler(_Section):
    min_replicas: Annotated[int, Field(ge=1)]
    max_replicas: Annotated[int, Field(ge=1)]
    cpu_utilization: Percent
    memory_utilization: Percent
    scale_up: ScalingPolicy
    scale_down: ScalingPolicy


class DisruptionBudget(_Section):
    min_available: Annotated[int, Field(ge=1)]


class Scaling(_Section):
    instance_id: str
    region: RegionName
    zone: str
    load_balancer: Url
    autoscaler: Autoscaler
    disruption_budget: DisruptionBudget


class RedisSettings(_Section):
    shards: Annotated[int, Field(ge=1, le=500)]
    # At least one replica per shard, or there is nothing to fail over to.
    replicas_per_shard: Annotated[int, Field(ge=1, le=5)]
    node_type: CacheNodeType
    engine_version: EngineVersion
    port: Annotated[int, Field(ge=1, le=65535)]
    password: Secret
    ssl: bool
    at_rest_encryption: bool
    # At least a day of snapshots: a cluster that loses every node must have something to restore from.
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35)]
    retry_attempts: Annotated[int, Field(ge=0)]
    retry_delay: Duration


class DistributedCache(_Section):
    redis_cluster: RedisSettings


class ConnectionPool(_Section):
    max_open_conns: Annotated[int, Field(ge=1)]
    max_idle_conns: Annotated[int, Field(ge=0)]
    conn_max_lifetime: Duration


class DatabaseLogin(_Section):
    """The [database] primary block: how the app connects and authenticates."""

    port: Annotated[int, Field(ge=1150, le=65535)]
    name: PostgresName
    user: PostgresName
    password: Secret
    pool: ConnectionPool


class Database(_Section):
    primary_region: RegionName
    replica_regions: list[RegionName]
    engine_version: EngineVersion
    instance_class: DbInstanceClass
    allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)]
    max_allocated_storage_gb: Annotated[int, Field(ge=20, le=65536)]
    multi_az: bool
    # Fewer than 7 days of point-in-time recovery is not a production database.
    backup_retention_days: Annotated[int, Field(ge=7, le=35)]
    max_connections: Annotated[int, Field(ge=10, le=262143)]
    primary: DatabaseLogin


class ResourceAmounts(_Section):
    cpu: CpuQuantity
    memory: MemoryQuantity


class ContainerResources(_Section):
    requests: ResourceAmounts
    limits: ResourceAmounts


class HttpProbe(_Section):
    path: HttpPath
    initial_delay_seconds: Annotated[int, Field(ge=0)]
    period_seconds: Annotated[int, Field(ge=1)]


# A user or group id of the pod: at least 10000, so it maps to no account of the node's (checkov CKV_K8S_40,
# kube-score's container-security-context-user-group-id); at most the largest id Linux hands out.
HighId = Annotated[int, Field(ge=10000, le=2147483647)]
Cidr = Annotated[
    str,
    _format(
        r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}/(3[0-2]|[12]?\d)$",
        'an IPv4 CIDR block like "10.0.0.0/16"',
    ),
]
LoadBalancerScheme = Annotated[
    str, _format(r"^(internet-facing|internal)$", '"internet-facing" or "internal"')
]
Protocol = Annotated[str, _format(r"^(TCP|UDP)$", '"TCP" or "UDP"')]


class PodSecurity(_Section):
    """The pod's identity and sandbox (Pod Security Standards "restricted", plus a high UID and a read-only
    root filesystem, which checkov and kube-score ask for)."""

    run_as_user: HighId
    run_as_group: HighId
    fs_group: HighId
    read_only_root_filesystem: bool
    # The size limit of the emptyDir mounted at /tmp: the one writable path a read-only root leaves.
    tmp_size_limit: MemoryQuantity


class LoadBalancer(_Section):
    """The Service's AWS load balancer (AWS Load Balancer Controller: an NLB with ip targets)."""

    scheme: LoadBalancerScheme
    cross_zone: bool


class EgressRule(_Section):
    """One destination the app may reach besides DNS, its data stores and HTTPS."""

    cidr: Cidr
    port: Annotated[int, Field(ge=1, le=65535)]
    protocol: Protocol


class NetworkAccess(_Section):
    """What the app's NetworkPolicy admits beyond the defaults (see RegionalApp)."""

    extra_egress: list[EgressRule]


class App(_Section):
    name: DnsLabel
    namespace: DnsLabel
    image: ImageRepository
    port: Annotated[int, Field(ge=1, le=65535)]
    resources: ContainerResources
    liveness: HttpProbe
    readiness: HttpProbe
    security: PodSecurity
    load_balancer: LoadBalancer
    network: NetworkAccess


class TrafficHealthCheck(_Section):
    """The Route 53 health check of each region's load balancer ([global_traffic] health_check)."""

    # Default: the app's readiness path, so DNS and the load balancer agree on what "ready" means.
    path: HttpPath | None = None
    protocol: Literal["HTTP", "HTTPS"] = "HTTP"
    # Default: 80 for HTTP, 443 for HTTPS (the load balancer's listener).
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # Seconds between checks from each checker region; Route 53 runs 30 (standard) or 10 (fast).
    interval: Literal[10, 30] = 30
    # Consecutive failed checks before Route 53 counts the region unhealthy (the API's 1-10).
    failure_threshold: Annotated[int, Field(ge=1, le=10)] = 3
    # Route 53 checker regions (at least 3 of route53_limits.checker_regions()); default: all of them.
    regions: list[str] | None = None
    measure_latency: bool = False

    def resolved_port(self) -> int:
        """The port checked: the one given, else the protocol's own."""
        return self.port if self.port is not None else (443 if self.protocol == "HTTPS" else 80)


class GlobalTraffic(_Section):
    """[global_traffic]: one DNS name for the app, answered by Route 53 with a healthy serving region."""

    domain_name: DomainName
    hosted_zone: HostedZone
    routing_policy: Literal["latency", "weighted"] = "latency"
    # weighted only: [regional_config] block name -> weight (Route 53's 0-255).
    weights: dict[str, Annotated[int, Field(ge=0, le=255)]] | None = None
    # "alias" (default): an A record aliased to the region's load balancer, no TTL of its own (Route 53
    # answers with the load balancer's). "cname": a CNAME to its host name, with `ttl`.
    record: Literal["alias", "cname"] = "alias"
    ttl: Annotated[int, Field(ge=0, le=172800)] | None = None
    health_check: TrafficHealthCheck = TrafficHealthCheck()
    # Default: 2 while the project has 2 or more stacks (the min-serving-regions policy resolves it).
    min_serving_regions: Annotated[int, Field(ge=1)] | None = None

    @property
    def hosted_zone_is_id(self) -> bool:
        """True when hosted_zone is a zone id (Z...), False when it is the zone's name."""
        return self.hosted_zone.startswith("Z")

    def record_ttl(self) -> int | None:
        """The record's TTL: None for an alias (Route 53 allows none), else the one given or 60 s."""
        if self.record == "alias":
            return None
        return self.ttl if self.ttl is not None else DEFAULT_CNAME_TTL


DEFAULT_CNAME_TTL = 60


class RegionSettings(_Section):
    """Everything one region's stack needs from global.tsk."""

    global_: GlobalSection = Field(alias="global")
    regional_config: dict[str, RegionProfile]
    regional_settings: RegionalSettings
    performance: Performance
    monitoring: Monitoring
    scaling: Scaling
    distributed_cache: DistributedCache
    database: Database
    app: App
    # Optional: without it, no Route 53 health check or record is registered.
    global_traffic: GlobalTraffic | None = None

    @property
    def region(self) -> str:
        return self.global_.region

    @property
    def zone(self) -> str:
        return self.global_.zone

    @property
    def is_database_primary(self) -> bool:
        """True in the region that holds the writable database."""
        return self.region == self.database.primary_region

    @property
    def profile(self) -> RegionProfile:
        """This region's block of [regional_config]."""
        return self.regional_config[region_key(self.region)]

    @property
    def serving_regions(self) -> list[str]:
        """The regions [regional_config] leaves serving (not drained), as AWS names."""
        return [key.replace("_", "-") for key, profile in self.regional_config.items() if profile.serving]

    def health_check_path(self) -> str:
        """The path Route 53 checks: global_traffic's, else the app's readiness path."""
        traffic = self.global_traffic
        path = traffic.health_check.path if traffic is not None else None
        return path if path is not None else self.app.readiness.path


def region_key(region: str) -> str:
    """The [regional_config] block name of a region: us-east-1 -> us_east_1."""
    return region.replace("-", "_")


# The one wording of "global.tsk ignores the stack's region", for every check that finds it.
REGION_FROM_STACK = (
    'expected global.tsk to take its region from REGION (e.g. $region: @env("REGION", "us-east-1"))'
)


def load_region_settings(path: Path, *, providers: Providers) -> tuple[RegionSettings, Document]:
    """Evaluate global.tsk with the stack's providers and validate it into one region's settings.

    The REGION in `providers.env` is the stack's region: global.tsk must evaluate to it."""
    document = evaluate_file(path, providers=providers)
    return settings_from_document(document, stack_region=providers.env.get("REGION")), document


def settings_from_document(document: Document, *, stack_region: str | None = None) -> RegionSettings:
    """Validate an evaluated document; any problem is a SettingsError at the offending value's position.

    With `stack_region`, a global.region other than it is reported first: every region-derived value
    (zone, regional_config, replicas) would be wrong for the stack, and only this names the cause."""
    try:
        settings = RegionSettings.model_validate(document.data)
    except ValidationError as error:
        mismatch = _region_mismatch(document, stack_region)
        raise (mismatch or _translate(error, document)) from None
    mismatch = _region_mismatch(document, stack_region)
    if mismatch is not None:
        raise mismatch
    for path, message in _contradictions(settings):
        raise _error_at(document, path, message)
    return settings


def _region_mismatch(document: Document, stack_region: str | None) -> SettingsError | None:
    """The error for a global.region that is not the stack's REGION, at the `$region` declaration if any."""
    global_block = document.data.get("global")
    region = global_block.get("region") if isinstance(global_block, dict) else None
    if stack_region is None or not isinstance(region, str) or region == stack_region:
        return None
    message = (
        f"global.tsk evaluated to region {region!r} for a stack in {stack_region!r}; {REGION_FROM_STACK}"
    )
    source = document.provenance(("global", "region")).source.strip()
    declared = document.global_provenance(source[1:]) if source.startswith("$") else None
    if declared is None:
        return _error_at(document, ("global", "region"), message)
    return SettingsError(
        message,
        file=declared.file,
        line=declared.line,
        column=declared.column,
        source_line=document.line_text(declared.line),
    )


def _contradictions(settings: RegionSettings) -> Iterator[tuple[DocPath, str]]:
    """Rules that span several values; each names the value a user should change."""
    autoscaler = settings.scaling.autoscaler
    if autoscaler.min_replicas > autoscaler.max_replicas:
        yield (
            ("scaling", "autoscaler", "min_replicas"),
            f"min_replicas ({autoscaler.min_replicas}) is above max_replicas ({autoscaler.max_replicas}); "
            "expected min_replicas <= max_replicas",
        )
    budget = settings.scaling.disruption_budget
    if budget.min_available >= autoscaler.min_replicas:
        yield (
            ("scaling", "disruption_budget", "min_available"),
            f"min_available ({budget.min_available}) must be below the autoscaler's min_replicas "
            f"({autoscaler.min_replicas}), or no node could ever be drained",
        )
    yield from _region_contradictions(settings)
    yield from _database_contradictions(settings)
    yield from _traffic_contradictions(settings)
    yield from internet_facing_contradictions(
        settings, settings.app.load_balancer.scheme, ("app", "load_balancer", "scheme")
    )
    yield from _alarm_contradictions(settings)
    yield from _resource_contradictions(settings.app.resources)
    redis = settings.distributed_cache.redis_cluster
    token_length = len(redis.password.reveal())
    if not 16 <= token_length <= 128:
        # Only the length is reported: the token itself never reaches a message.
        yield (
            ("distributed_cache", "redis_cluster", "password"),
            f"the Redis auth token has {token_length} characters; ElastiCache expects 16 to 128",
        )
    if not redis.ssl:
        yield (
            ("distributed_cache", "redis_cluster", "ssl"),
            "found ssl: false; expected true (ElastiCache accepts an auth token only over TLS)",
        )


def _region_contradictions(settings: RegionSettings) -> Iterator[tuple[DocPath, str]]:
    known = sorted(key.replace("_", "-") for key in settings.regional_config)
    if region_key(settings.region) not in settings.regional_config:
        yield (
            ("global", "region"),
            f"unknown region {settings.region!r}; expected one of {', '.join(known)} "
            "(add a block to [regional_config] for a new region)",
        )
    if not settings.zone.startswith(settings.region):
        yield (("global", "zone"), f"zone {settings.zone!r} is not in region {settings.region!r}")


def _database_contradictions(settings: RegionSettings) -> Iterator[tuple[DocPath, str]]:
    database = settings.database
    if database.primary_region in database.replica_regions:
        index = database.replica_regions.index(database.primary_region)
        yield (
            ("database", "replica_regions", index),
            f"{database.primary_region!r} is the primary region; it cannot also hold a replica",
        )
    for index, region in enumerate(database.replica_regions):
        if region in database.replica_regions[:index]:
            yield (
                ("database", "replica_regions", index),
                f"{region!r} is listed twice in replica_regions; a region holds one replica",
            )
    if settings.region != database.primary_region and settings.region not in database.replica_regions:
        yield (
            ("database", "replica_regions"),
            f"region {settings.region!r} is neither the primary region ({database.primary_region}) nor in "
            "replica_regions; expected it listed in replica_regions",
        )
    if database.max_allocated_storage_gb < database.allocated_storage_gb:
        yield (
            ("database", "max_allocated_storage_gb"),
            f"max_allocated_storage_gb ({database.max_allocated_storage_gb}) is below allocated_storage_gb "
            f"({database.allocated_storage_gb})",
        )
    pool = database.primary.pool
    if pool.max_idle_conns > pool.max_open_conns:
        yield (
            ("database", "primary", "pool", "max_idle_conns"),
            f"max_idle_conns ({pool.max_idle_conns}) is above max_open_conns ({pool.max_open_conns})",
        )


def _traffic_contradictions(settings: RegionSettings) -> Iterator[tuple[DocPath, str]]:
    """Route 53's rules for [global_traffic] that one field's type cannot say."""
    traffic = settings.global_traffic
    if traffic is None:
        return
    section = ("global_traffic",)
    zone = traffic.hosted_zone
    if not traffic.hosted_zone_is_id and traffic.domain_name != zone and not traffic.domain_name.endswith(
        f".{zone}"
    ):
        yield (
            (*section, "domain_name"),
            f"domain_name {traffic.domain_name!r} is not in hosted zone {zone!r}; expected {zone!r} or a "
            f"name ending in '.{zone}'",
        )
    if len(traffic.domain_name) > 253:
        yield ((*section, "domain_name"), "a DNS name has at most 253 characters")
    if traffic.record == "cname" and traffic.domain_name == zone:
        yield (
            (*section, "record"),
            f"a CNAME cannot sit at the zone apex ({zone}); expected record: \"alias\" for the apex",
        )
    if traffic.record == "alias" and traffic.ttl is not None:
        yield (
            (*section, "ttl"),
            f"found ttl: {traffic.ttl} with an alias record; alias records carry no TTL (Route 53 answers "
            "with the load balancer's own); remove ttl, or set record: \"cname\" to use one",
        )
    yield from _routing_contradictions(settings, traffic)
    yield from _health_check_contradictions(traffic.health_check)
    declared = len(settings.regional_config)
    if traffic.min_serving_regions is not None and traffic.min_serving_regions > declared:
        yield (
            (*section, "min_serving_regions"),
            f"min_serving_regions ({traffic.min_serving_regions}) is above the {declared} region(s) "
            "[regional_config] declares; no change could ever satisfy it",
        )


def _routing_contradictions(
    settings: RegionSettings, traffic: GlobalTraffic
) -> Iterator[tuple[DocPath, str]]:
    weights_path: DocPath = ("global_traffic", "weights")
    if traffic.routing_policy == "latency":
        if traffic.weights is not None:
            yield (
                weights_path,
                "weights are set but routing_policy is \"latency\"; a latency record carries no other "
                "routing policy: remove weights or set routing_policy: \"weighted\"",
            )
        return
    weights = traffic.weights or {}
    for key in weights:
        if key not in settings.regional_config:
            known = ", ".join(settings.regional_config)
            yield ((*weights_path, key), f"weight for {key!r}, which [regional_config] does not declare; "
                                         f"expected one of: {known}")
    serving = [key for key, profile in settings.regional_config.items() if profile.serving]
    missing = [key for key in serving if key not in weights]
    if missing:
        yield (
            weights_path if traffic.weights is not None else ("global_traffic", "routing_policy"),
            f"routing_policy \"weighted\" needs a weight (0-255) for every serving region; missing: "
            f"{', '.join(missing)} (in global_traffic.weights)",
        )


def _health_check_contradictions(check: TrafficHealthCheck) -> Iterator[tuple[DocPath, str]]:
    path: DocPath = ("global_traffic", "health_check", "regions")
    if check.regions is None:
        return
    allowed = route53_limits.checker_regions()
    for index, region in enumerate(check.regions):
        if region not in allowed:
            close = difflib.get_close_matches(region, allowed, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            yield (
                (*path, index),
                f"{region!r} is not a Route 53 health checker region{hint}; expected some of: "
                f"{', '.join(allowed)}",
            )
        elif region in check.regions[:index]:
            yield ((*path, index), f"{region!r} is listed twice in health_check.regions")
    least = route53_limits.min_checker_regions()
    if len(set(check.regions)) < least:
        yield (
            path,
            f"health_check.regions names {len(set(check.regions))} checker region(s); Route 53 needs at "
            f"least {least} (of: {', '.join(allowed)})",
        )


def internet_facing_contradictions(
    settings: RegionSettings, scheme: str, scheme_path: DocPath
) -> Iterator[tuple[DocPath, str]]:
    """A serving region's load balancer must be internet-facing: Route 53's health checkers (and the users
    DNS sends there) are on the internet. `scheme` is the app load balancer's, found at `scheme_path`."""
    if settings.global_traffic is None or not settings.profile.serving or scheme != "internal":
        return
    yield (
        scheme_path,
        f"the load balancer scheme is \"internal\" in {settings.region}, a serving region of global_traffic; "
        "Route 53's health checkers reach only internet-facing load balancers: expected \"internet-facing\", "
        f"or serving: false in regional_config.{region_key(settings.region)}",
    )


# RDS storage autoscaling grows the disk once free space is below 10 % of its size.
AUTOSCALING_FREE_STORAGE_SHARE = 0.10
# CloudWatch refuses an alarm whose periods span more than a day.
MAX_EVALUATION_SECONDS = 86400


def freeable_memory_threshold(alarms: DatabaseAlarms, instance_class: str) -> int | None:
    """FreeableMemory's alarm threshold in bytes: given, or a share of the class's memory (None: not in the
    table, reported by the settings' own check)."""
    if alarms.freeable_memory_bytes is not None:
        return alarms.freeable_memory_bytes
    memory = memory_bytes(instance_class)
    percent = alarms.freeable_memory_percent or DEFAULT_FREEABLE_MEMORY_PERCENT
    return None if memory is None else memory * percent // 100


def free_storage_threshold(alarms: DatabaseAlarms, database: Database) -> int:
    """FreeStorageSpace's alarm threshold in bytes: a share of the most storage autoscaling may grow to."""
    return database.max_allocated_storage_gb * GIB * alarms.free_storage_percent // 100


def _alarm_contradictions(settings: RegionSettings) -> Iterator[tuple[DocPath, str]]:
    alarms = settings.monitoring.alarms
    at = ("monitoring", "alarms")
    if alarms.datapoints_to_alarm > alarms.evaluation_periods:
        yield (
            (*at, "datapoints_to_alarm"),
            f"datapoints_to_alarm ({alarms.datapoints_to_alarm}) is above evaluation_periods "
            f"({alarms.evaluation_periods}); expected at most as many datapoints as periods evaluated",
        )
    if alarms.period_seconds * alarms.evaluation_periods > MAX_EVALUATION_SECONDS:
        yield (
            (*at, "evaluation_periods"),
            f"evaluation_periods ({alarms.evaluation_periods}) x period_seconds ({alarms.period_seconds}) is "
            f"{alarms.period_seconds * alarms.evaluation_periods} s; CloudWatch expects at most "
            f"{MAX_EVALUATION_SECONDS} s (one day)",
        )
    yield from _database_alarm_contradictions(settings, (*at, "database"))


def _database_alarm_contradictions(settings: RegionSettings, at: DocPath) -> Iterator[tuple[DocPath, str]]:
    alarms = settings.monitoring.alarms.database
    database = settings.database
    if alarms.freeable_memory_bytes is not None and alarms.freeable_memory_percent is not None:
        yield (
            (*at, "freeable_memory_bytes"),
            "found both freeable_memory_bytes and freeable_memory_percent; expected one of them",
        )
    elif alarms.freeable_memory_bytes is None and memory_bytes(database.instance_class) is None:
        given = alarms.freeable_memory_percent is not None
        yield (
            (*at, "freeable_memory_percent") if given else ("database", "instance_class"),
            f"the memory of instance class {database.instance_class!r} is not in tusk-infra's table "
            f"(families {', '.join(known_families())}), so FreeableMemory cannot be watched as a share of "
            "it; expected monitoring.alarms.database.freeable_memory_bytes",
        )
    threshold_gb = database.max_allocated_storage_gb * alarms.free_storage_percent / 100
    trigger_gb = database.allocated_storage_gb * AUTOSCALING_FREE_STORAGE_SHARE
    if database.max_allocated_storage_gb > database.allocated_storage_gb and threshold_gb >= trigger_gb:
        yield (
            (*at, "free_storage_percent"),
            f"free_storage_percent ({alarms.free_storage_percent}) of max_allocated_storage_gb "
            f"({database.max_allocated_storage_gb}) is {threshold_gb:g} GB free, not below the "
            f"{trigger_gb:g} GB at which storage autoscaling grows the {database.allocated_storage_gb} GB "
            "disk; the alarm would fire while autoscaling still has room. Expected a smaller share (or raise "
            "allocated_storage_gb)",
        )


def _resource_contradictions(resources: ContainerResources) -> Iterator[tuple[DocPath, str]]:
    """A limit below its request is a container Kubernetes refuses to create."""
    for name, amount in (("cpu", _cpu_cores), ("memory", _memory_bytes)):
        request = getattr(resources.requests, name)
        limit = getattr(resources.limits, name)
        if amount(limit) < amount(request):
            yield (
                ("app", "resources", "limits", name),
                f"limits.{name} ({limit}) is below requests.{name} ({request}); "
                "expected a limit at least as large as the request (Kubernetes refuses the pod otherwise)",
            )


_MEMORY_UNITS: Mapping[str, int] = {
    "": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}  # fmt: skip


def _cpu_cores(quantity: str) -> float:
    """A CpuQuantity in cores: "250m" -> 0.25."""
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def _memory_bytes(quantity: str) -> int:
    """A MemoryQuantity in bytes: "256Mi" -> 268435456."""
    digits = len(quantity) - len(quantity.lstrip("0123456789"))
    return int(quantity[:digits]) * _MEMORY_UNITS[quantity[digits:]]


def _translate(error: ValidationError, document: Document) -> SettingsError:
    """Turn pydantic's errors into one positioned SettingsError: the first in file order, the rest listed."""
    problems = sorted(
        (_Problem(document, detail) for detail in _deduplicated(error.errors())), key=lambda p: p.order
    )
    first, *others = problems
    message = first.message
    if others:
        message += f" (and {len(others)} more problem{'s' if len(others) > 1 else ''})"
    failure = _error_at_position(document, first.at, message, first.span)
    failure.also = tuple(f"{problem.location}: {problem.message}" for problem in others)
    return failure


class _Problem:
    """One pydantic error as the user sees it: where (an unknown key at the key itself) and what."""

    def __init__(self, document: Document, detail: ErrorDetails) -> None:
        path = _doc_path(detail["loc"])
        at = document.key_location(path) if detail["type"] == "extra_forbidden" else None
        self.at: tuple[str, int, int] = at or _position(document, path)
        self.span = len(str(path[-1])) if at is not None else 1  # the whole misspelt key
        self.message = f"{_dotted(path)}: {_describe(detail, document)}"
        # A missing key sorts last: its position is only its block's, and it is often the other half of a
        # typo whose misspelt key (reported first, with a suggestion) is the one to fix.
        self.order = (detail["type"] == "missing", self.at[1], self.at[2])

    @property
    def location(self) -> str:
        file, line, column = self.at
        return f"{file}:{line}:{column}"


def _deduplicated(details: list[ErrorDetails]) -> list[ErrorDetails]:
    """One error per location (a union field can fail once per alternative)."""
    first: dict[str, ErrorDetails] = {}
    for detail in details:
        first.setdefault(repr(detail["loc"]), detail)
    return list(first.values())


def _doc_path(loc: Sequence[Any]) -> DocPath:
    return tuple(part for part in loc if isinstance(part, str | int))


def _dotted(path: DocPath) -> str:
    return ".".join(str(part) for part in path) or "(document)"


def _describe(detail: ErrorDetails, document: Document) -> str:
    """What was found and what was expected, in the .tsk's terms and without secret values."""
    kind = detail["type"]
    if kind == "missing":
        return f"missing; expected a value for {detail['loc'][-1]!r}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(detail["loc"])
        close = difflib.get_close_matches(str(detail["loc"][-1]), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key {detail['loc'][-1]!r}{hint}; expected one of: {', '.join(allowed)}"
    if kind == "is_instance_of":  # a secret field given a plain value: a pasted password must not be echoed
        found = f"a plain {type_name(detail.get('input'))} (its value is not shown)"
        return f"found {found}; expected {_expected(detail)}"
    return f"found {_shown(detail.get('input'))}; expected {_expected(detail)}"


def _expected(detail: ErrorDetails) -> str:
    """What the field accepts, in words: a format's description, a bound, or pydantic's own phrase."""
    kind = detail["type"]
    context = detail.get("ctx") or {}
    if kind == "string_pattern_mismatch" and context.get("pattern") in _FORMATS:
        return _FORMATS[context["pattern"]]
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**context)
    if kind in _EXPECTED:
        return _EXPECTED[kind]
    return (detail["msg"][0].lower() + detail["msg"][1:]).removeprefix("input ")


_BOUNDS: Mapping[str, str] = {
    "literal_error": "{expected}",
    "greater_than_equal": "a value of at least {ge}",
    "greater_than": "a value above {gt}",
    "less_than_equal": "a value of at most {le}",
    "less_than": "a value below {lt}",
    "multiple_of": "a multiple of {multiple_of}",
}


_EXPECTED: Mapping[str, str] = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a block",
    "model_type": "a block",
    "is_instance_of": "a secret from @env.secure(...)",
}


def _allowed_keys(loc: Sequence[Any]) -> list[str]:
    """The keys the block holding loc[-1] accepts (empty when the block is not a model)."""
    model: type[BaseModel] | None = RegionSettings
    parts = list(loc[:-1])
    while parts and model is not None:
        field = _field(model, parts.pop(0))
        if field is None:
            return []
        model, keyed = _block_model(field.annotation)
        if keyed and parts:
            parts.pop(0)  # dict[str, Model]: the next part is a key of the dict (a region block name)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _field(model: type[BaseModel], key: Any) -> FieldInfo | None:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _block_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model of a field's block, and whether it sits one dict key deeper (dict[str, Model])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    args: tuple[Any, ...] = tuple(getattr(annotation, "__args__", ()))
    if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return args[1], True
    optional = [arg for arg in args if isinstance(arg, type) and issubclass(arg, BaseModel)]
    if len(optional) == 1 and type(None) in args:  # Model | None: an optional block
        return optional[0], False
    return None, False


def _shown(value: Any) -> str:
    """A value as the language describes it in messages (never a secret's), a string quoted whole."""
    # describe() shortens a string past 40 characters: fine beside the expression it comes from, but this is
    # the end result, often built by an expression or read with @env, which the caret snippet does not show;
    # the part cut off (a trailing space, a wrong suffix) may be the part that does not match.
    if isinstance(value, str):
        return f'the string "{value}"'
    return describe(value)


def _error_at(document: Document, path: DocPath, message: str) -> SettingsError:
    return _error_at_position(document, _position(document, path), message)


def _error_at_position(
    document: Document, at: tuple[str, int, int], message: str, span: int = 1
) -> SettingsError:
    file, line, column = at
    return SettingsError(
        message, file=file, line=line, column=column, source_line=document.line_text(line), span=span
    )


def _position(document: Document, path: DocPath) -> tuple[str, int, int]:
    """The position of the value at path, or of its nearest ancestor that exists (a missing key's block)."""
    for end in range(len(path), 0, -1):
        try:
            provenance = document.provenance(path[:end])
        except (KeyError, IndexError, TypeError, ValueError, TuskError):
            continue
        return provenance.file, provenance.line, provenance.column
    return document.file, 1, 1
