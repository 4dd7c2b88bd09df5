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
from tusk_infra.components.app import DatabaseEndpoints
from tusk_infra.components.network import AppOnlyAccess
from tusk_infra.settings import RegionSettings, load_region_settings
from tusk_infra.stack_config import CONFIG_KEYS, PROJECT, REGION_KEY, StackConfig, parse_stack_config
from tusk_infra.stack_file import load_stack_file, stack_file_path
from tusk_infra.stack_inputs import StackSecrets as ConfigSecrets
from tusk_infra.stack_inputs import stack_backend_settings, stack_env
from tusk_infra.tusk import Document, Providers, TuskError
from tusk_infra.tusk.providers import SecretSource

SETTINGS_FILE = "global.tsk"

# The outputs a replica stack reads from the primary stack through its StackReference.
PRIMARY_OUTPUTS = ("databaseArn", "databaseAddress", "databaseIdentifier")


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
    database, endpoints = _database(settings, config, aws_opts)
    app = RegionalApp(
        f"app-{config.region}",
        RegionalAppArgs(
            settings=settings,
            image=f"{settings.app.image}:{config.image_tag}",
            redis_nodes=redis.nodes,
            database=endpoints,
        ),
        pulumi.ResourceOptions(providers=[kubernetes_provider]),
    )
    return {
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
    }


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
    settings: RegionSettings, config: StackConfig, opts: pulumi.ResourceOptions
) -> tuple[PostgresCluster, DatabaseEndpoints]:
    identifier = database_identifier(settings)
    access = _access(config, settings.database.primary.port)
    name = f"postgres-{config.region}"
    if settings.is_database_primary:
        cluster = PostgresCluster(name, PostgresClusterArgs(settings.database, identifier, access), opts)
        return cluster, DatabaseEndpoints(cluster.address, cluster.address, identifier, identifier)
    primary = pulumi.StackReference(config.database_primary_stack)
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
