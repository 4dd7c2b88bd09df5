"""The Pulumi program for one region stack, importable so it can run once per stack under mocks."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws
import pulumi_kubernetes

from tusk_infra.backends.selection import build_providers
from tusk_infra.backends.snapshot import MetricSnapshot, example_notice, snapshot_of, staleness
from tusk_infra.components import (
    PostgresCluster,
    PostgresClusterArgs,
    RedisCluster,
    RedisClusterArgs,
    RegionalApp,
    RegionalAppArgs,
)
from tusk_infra.components.alerting import (
    HEALTH_CHECK_METRICS_REGION,
    RegionalAlarms,
    RegionalAlarmsArgs,
    WatchedCache,
    WatchedDatabase,
)
from tusk_infra.components.app import AppNetwork, DatabaseEndpoints
from tusk_infra.components.network import AppOnlyAccess
from tusk_infra.components.traffic import GlobalTrafficArgs, RegionalTraffic
from tusk_infra.project import stack_names
from tusk_infra.settings import RegionSettings, load_region_settings
from tusk_infra.stack_config import CONFIG_KEYS, PROJECT, REGION_KEY, StackConfig, parse_stack_config
from tusk_infra.stack_file import load_stack_file, stack_file_path
from tusk_infra.stack_inputs import StackSecrets as ConfigSecrets
from tusk_infra.stack_inputs import stack_backend_settings, stack_env
from tusk_infra.tusk import Document, Providers, TuskError
from tusk_infra.tusk.providers import SecretSource

SETTINGS_FILE = "global.tsk"

# The outputs a replica stack reads from the primary stack through its StackReference.
# vpcCidr: the primary region's VPC range, where a replica region's pods write to Postgres (NetworkPolicy).
PRIMARY_OUTPUTS = ("databaseArn", "databaseAddress", "databaseIdentifier", "vpcCidr")


@dataclass(frozen=True)
class LoadedStack:
    """A stack's typed config and its region's settings, ready to build."""

    config: StackConfig
    settings: RegionSettings
    document: Document
    # The metric snapshot @metrics read (None: none read, or live metrics), and what to say about it that
    # depends on the time (too old); never part of what the stack registers.
    metrics_snapshot: MetricSnapshot | None = None
    freshness: tuple[str, ...] = ()


class StackSecrets(ConfigSecrets):
    """`@env.secure(NAME)` after the environment: the stack's secret config `tusk-infra:NAME`, decrypted by
    the engine that handed it to the program."""

    def __init__(self, warn: Callable[[str], None] = lambda message: None) -> None:
        # By full key, as pulumi.Config(PROJECT).get(NAME) reads it.
        super().__init__(pulumi.runtime.get_config, pulumi.runtime.is_config_secret, warn)


def raw_stack_config() -> dict[str, str | None]:
    """The config values the program reads, as the engine hands them over (full keys, strings)."""
    raw: dict[str, str | None] = {REGION_KEY: pulumi.Config("aws").get("region")}
    tusk_config = pulumi.Config(PROJECT)
    for _field, key, _kind, _required in CONFIG_KEYS:
        raw[f"{PROJECT}:{key}"] = tusk_config.get(key)
    return raw


def read_stack_config(project_dir: Path, stack: str) -> StackConfig:
    """The stack's config as the engine provides it, typed; errors point into Pulumi.<stack>.yaml."""
    path = stack_file_path(project_dir, stack)
    stack_file = load_stack_file(path) if path.exists() else None
    return parse_stack_config(stack, raw_stack_config(), stack_file)


def load(
    project_dir: Path,
    config: StackConfig,
    *,
    env: Mapping[str, str],
    secrets: Sequence[SecretSource],
    last_resort: SecretSource | None = None,
    warn: Callable[[str], None] = lambda message: None,
    live_metrics: bool = False,
) -> LoadedStack:
    """Evaluate global.tsk for the stack's region and validate it; nothing is registered yet.

    `@env.secure` looks in `env`, then `secrets`, then the live sources the stack config enables
    (SSM / Secrets Manager), then `last_resort` (offline placeholders). `@metrics` reads the stack's
    snapshot, metrics/<stack>.json, unless `live_metrics` (or tusk-infra:liveMetrics) asks for the
    provider."""
    # The stack's identity reaches the evaluation through the env mapping it reads, never os.environ.
    injected = stack_env(config, env)
    backends = stack_backend_settings(config)
    if live_metrics:
        # Named as the option, so a problem with it reads `--live-metrics: ...`, not as a stack key.
        backends = replace(backends, live_metrics=True,
                           options={**backends.options, "live_metrics": "--live-metrics"})
    providers = build_providers(backends, Providers(env=injected, secrets=secrets, warn=warn))
    if last_resort is not None:
        providers.secrets = (*providers.secrets, last_resort)
    settings, document = load_region_settings(project_dir / SETTINGS_FILE, providers=providers)
    _check_roles(config, settings)
    _check_primary_stack_region(project_dir, config, settings)
    snapshot = snapshot_of(providers.metrics) if _reads_metrics(document) else None
    if snapshot is None:
        return LoadedStack(config, settings, document)
    notice = example_notice(snapshot)
    if notice is not None:
        warn(notice)  # true of the commit, so it belongs with the run's other warnings
    stale = staleness(snapshot, providers.clock(), backends.metrics_max_age_seconds)
    return LoadedStack(config, settings, document, snapshot, (stale,) if stale else ())


def _reads_metrics(document: Document) -> bool:
    return any(use.kind == "metric" for use in document.inputs)


def _check_roles(config: StackConfig, settings: RegionSettings) -> None:
    """The stack file and global.tsk must agree on which stack holds the primary (the region itself is
    checked by the settings, at global.tsk's $region line)."""
    names_itself = config.database_primary_stack_name == config.stack
    if settings.is_database_primary != names_itself:
        role = "the primary" if settings.is_database_primary else "a replica"
        raise config.error(
            f"{PROJECT}:databasePrimaryStack",
            f"{PROJECT}:databasePrimaryStack is {config.database_primary_stack!r}, but global.tsk makes "
            f"{settings.region} {role} region (database.primary_region: {settings.database.primary_region})",
        )


def _check_primary_stack_region(project_dir: Path, config: StackConfig, settings: RegionSettings) -> None:
    """databasePrimaryStack must name the stack of database.primary_region: a replica reads its source's ARN
    and the app its write host from that stack's outputs, so naming another replica's stack would be wrong
    without a word (a failover moves the primary: every stack's databasePrimaryStack moves with it)."""
    key = f"{PROJECT}:databasePrimaryStack"
    parts = config.database_primary_stack.split("/")
    if len(parts) == 3 and parts[1] != PROJECT:
        return  # another project's stack: not one this project can know
    path = stack_file_path(project_dir, parts[-1])
    if not path.is_file():
        return  # the offline runner says so; `pulumi up` finds out from the backend
    primary = settings.database.primary_region
    region = load_stack_file(path).values.get(REGION_KEY)
    if region == primary:
        return
    prefix = "/".join(parts[:-1] + [""])
    expected = [f"{prefix}{name}" for name in stack_names(project_dir)
                if load_stack_file(stack_file_path(project_dir, name)).values.get(REGION_KEY) == primary]
    hint = (f"expected the stack of {primary}: {' or '.join(repr(name) for name in expected)}" if expected
            else f"expected a stack in {primary}, and the project has none (no Pulumi.<stack>.yaml with "
            f"{REGION_KEY}: {primary})")
    raise config.value_error(key, (
        f"{key} is {config.database_primary_stack!r}, a stack in {region} ({path.name}), but global.tsk's "
        f"database.primary_region is {primary}: replicas would read the wrong stack's database; {hint}"
    ))


def build(settings: RegionSettings, config: StackConfig) -> dict[str, pulumi.Output[Any]]:
    """Register the region's resources; returns the stack outputs to export."""
    # Every AWS resource of the stack gets these tags through the provider, so none can forget them.
    tags = {"project": PROJECT, "stack": config.stack, "region": settings.region, "managed-by": "pulumi"}
    aws_provider = pulumi_aws.Provider(
        f"aws-{config.region}",
        region=config.region,
        default_tags={"tags": tags},
    )
    kubernetes_provider = pulumi_kubernetes.Provider(
        f"k8s-{config.region}",
        kubeconfig=config.kubeconfig,
        context=config.kube_context,
        # Replace the Kubernetes resources only when the cluster itself changes, not the kubeconfig's path.
        cluster_identifier=config.kube_context,
    )
    aws_opts = pulumi.ResourceOptions(providers=[aws_provider])
    redis = RedisCluster(f"redis-{config.region}", _redis_args(settings, config), aws_opts)
    # A replica region reads the primary stack's outputs (its database, its VPC range) through one reference.
    primary = None if settings.is_database_primary else pulumi.StackReference(config.database_primary_stack)
    database, endpoints = _database(settings, config, aws_opts, primary)
    app = RegionalApp(
        f"app-{config.region}",
        RegionalAppArgs(
            settings=settings,
            image=image_reference(settings, config),
            release=config.image_tag,
            redis_nodes=redis.nodes,
            database=endpoints,
            network=_network(config, primary),
            service_account_role_arn=config.service_account_role_arn,
            tls_certificate_arn=config.tls_certificate_arn,
        ),
        pulumi.ResourceOptions(providers=[kubernetes_provider]),
    )
    outputs: dict[str, pulumi.Output[Any]] = {
        "region": pulumi.Output.from_input(settings.region),
        "databaseRole": pulumi.Output.from_input("primary" if settings.is_database_primary else "replica"),
        "databaseArn": database.arn,
        "databaseAddress": database.address,
        "databaseEndpoint": database.endpoint,
        "databaseIdentifier": pulumi.Output.from_input(endpoints.identifier),
        "databasePrimaryAddress": pulumi.Output.from_input(endpoints.primary_address),
        "redisConfigurationEndpoint": redis.configuration_endpoint,
        "redisArn": redis.arn,
        "namespace": app.namespace,
        "deployment": app.deployment_name,
        "vpcCidr": pulumi.Output.from_input(config.vpc_cidr),
    }
    traffic = _traffic(settings, config, app, aws_opts)
    if traffic is not None:
        outputs |= {
            "healthCheckId": traffic.health_check_id,
            "trafficRecordFqdn": traffic.record_fqdn,
            "trafficServing": pulumi.Output.from_input(settings.profile.serving),
        }
    # Last: the alarms watch the data stores and, through the health check, the region's traffic.
    traffic_settings = settings.global_traffic
    measures_latency = traffic_settings is not None and traffic_settings.health_check.measure_latency
    alarms = regional_alarms(
        settings, config, redis, database, aws_provider, tags,
        health_check_id=traffic.health_check_id if traffic is not None else None,
        health_check_measures_latency=measures_latency,
    )
    outputs["alarmTopicArn"] = alarms.topic_arn
    return outputs


def _traffic(
    settings: RegionSettings, config: StackConfig, app: RegionalApp, opts: pulumi.ResourceOptions
) -> RegionalTraffic | None:
    """The region's Route 53 health check and record, after the app whose load balancer they point at."""
    if settings.global_traffic is None:
        return None
    return RegionalTraffic(
        f"traffic-{config.region}",
        GlobalTrafficArgs(
            settings=settings.global_traffic,
            region=settings.region,
            serving=settings.profile.serving,
            health_check_path=settings.health_check_path(),
            load_balancer_hostname=app.load_balancer_hostname,
            app_name=settings.app.name,
        ),
        opts.merge(pulumi.ResourceOptions(depends_on=[app])),
    )


def image_reference(settings: RegionSettings, config: StackConfig) -> str:
    """The image the pods run: by digest when the stack pins one (repo@sha256:...), else by release tag."""
    if config.image_digest is not None:
        return f"{settings.app.image}@{config.image_digest}"
    return f"{settings.app.image}:{config.image_tag}"


def _network(config: StackConfig, primary: pulumi.StackReference | None) -> AppNetwork:
    """The address ranges the app's NetworkPolicy admits: this region's VPC, and the primary region's (a
    replica region's pods write to the primary database): the vpcCidr of the primary's own stack file (known
    in a preview, offline too), else, for another project's primary, its stack's vpcCidr output. Never a
    copy in the replica's file, which could drift from the primary's."""
    if primary is None:
        return AppNetwork(vpc_cidr=config.vpc_cidr, primary_vpc_cidr=None)
    if config.primary_vpc_cidr is not None:
        return AppNetwork(vpc_cidr=config.vpc_cidr, primary_vpc_cidr=config.primary_vpc_cidr)
    return AppNetwork(vpc_cidr=config.vpc_cidr, primary_vpc_cidr=primary.require_output("vpcCidr"))


def regional_alarms(
    settings: RegionSettings,
    config: StackConfig,
    redis: RedisCluster,
    database: PostgresCluster,
    aws_provider: pulumi_aws.Provider,
    tags: dict[str, str],
    health_check_id: pulumi.Input[str] | None = None,
    health_check_measures_latency: bool = False,
) -> RegionalAlarms:
    """The region's SNS topic and CloudWatch alarms on its Redis and Postgres (and, given its Route 53 health
    check, on that too, through a us-east-1 provider: Route 53 publishes its metrics only there)."""
    cache = settings.distributed_cache.redis_cluster
    health_check_provider: pulumi.ProviderResource | None = None
    if health_check_id is not None:
        health_check_provider = aws_provider
        if config.region != HEALTH_CHECK_METRICS_REGION:
            health_check_provider = pulumi_aws.Provider(
                f"aws-{config.region}-health-check-metrics",
                region=HEALTH_CHECK_METRICS_REGION,
                default_tags={"tags": tags},
            )
    return RegionalAlarms(
        f"alarms-{config.region}",
        RegionalAlarmsArgs(
            region=settings.region,
            name_prefix=settings.app.name,
            thresholds=settings.monitoring.alarms,
            subscriptions=config.alarm_subscriptions,
            cache=WatchedCache(
                redis.replication_group_id, redis.group_resource_name, cache.shards, cache.replicas_per_shard
            ),
            database=WatchedDatabase(
                database.identifier,
                database.instance_resource_name,
                settings.database,
                is_replica=not settings.is_database_primary,
            ),
            health_check_id=health_check_id,
            health_check_measures_latency=health_check_measures_latency,
            health_check_provider=health_check_provider,
        ),
        pulumi.ResourceOptions(providers=[aws_provider]),
    )


def database_identifier(settings: RegionSettings, region: str | None = None) -> str:
    """A region's RDS instance identifier (fixed, so the policy pack can connect app and database)."""
    return f"{settings.app.name}-{region or settings.region}"


def _access(config: StackConfig, port: int) -> AppOnlyAccess:
    return AppOnlyAccess(
        vpc_id=config.vpc_id,
        app_security_group_id=config.app_security_group_id,
        port=port,
        subnet_ids=config.subnet_ids,
    )


def _redis_args(settings: RegionSettings, config: StackConfig) -> RedisClusterArgs:
    redis = settings.distributed_cache.redis_cluster
    return RedisClusterArgs(settings=redis, access=_access(config, redis.port))


def _database(
    settings: RegionSettings,
    config: StackConfig,
    opts: pulumi.ResourceOptions,
    primary: pulumi.StackReference | None,
) -> tuple[PostgresCluster, DatabaseEndpoints]:
    identifier = database_identifier(settings)
    access = _access(config, settings.database.primary.port)
    name = f"postgres-{config.region}"
    if primary is None:
        cluster = PostgresCluster(name, PostgresClusterArgs(settings.database, identifier, access), opts)
        return cluster, DatabaseEndpoints(cluster.address, cluster.address, identifier, identifier)
    cluster = PostgresCluster(
        name,
        PostgresClusterArgs(
            settings.database,
            identifier,
            access,
            replicate_from_arn=primary.require_output("databaseArn"),
        ),
        opts,
    )
    endpoints = DatabaseEndpoints(
        read_address=cluster.address,
        primary_address=primary.require_output("databaseAddress"),
        identifier=identifier,
        primary_identifier=database_identifier(settings, settings.database.primary_region),
    )
    return cluster, endpoints


def main(project_dir: Path) -> None:
    """The program `pulumi up` runs: read the stack, evaluate global.tsk, register, export."""
    stack = pulumi.get_stack()
    try:
        config = read_stack_config(project_dir, stack)
        secrets = [StackSecrets(pulumi.log.warn)]
        loaded = load(project_dir, config, env=_process_env(), secrets=secrets, warn=pulumi.log.warn)
    except TuskError as error:
        # RunError: Pulumi prints the message without a Python traceback.
        raise pulumi.RunError(error.render()) from None
    for message in loaded.freshness:
        pulumi.log.warn(message)
    for name, value in build(loaded.settings, loaded.config).items():
        pulumi.export(name, value)


def _process_env() -> dict[str, str]:
    # Read, never written: `@env` and `@env.secure` see the environment `pulumi up` was started with.
    return dict(os.environ)
