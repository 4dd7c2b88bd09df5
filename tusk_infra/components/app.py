"""RegionalApp: the application on the region's Kubernetes cluster, wired to its Redis and Postgres."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.autoscaling.v2 as autoscaling
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.policy.v1 as policy

from tusk_infra.settings import RegionSettings, ScalingPolicy

# Annotations on the Deployment that let a pure policy compute the database connection budget from the
# registered resources: which RDS instances this app connects to, and how many connections each pod may open.
ANNOTATION_PREFIX = "tusk-infra.dev"
DATABASE_ANNOTATION = f"{ANNOTATION_PREFIX}/database-identifier"
PRIMARY_DATABASE_ANNOTATION = f"{ANNOTATION_PREFIX}/database-primary-identifier"
POOL_ANNOTATION = f"{ANNOTATION_PREFIX}/db-pool-max-open-conns"
CONFIG_HASH_ANNOTATION = f"{ANNOTATION_PREFIX}/config-hash"

DB_SECRET_NAME = "db-secrets"
REDIS_SECRET_NAME = "redis-secrets"


@dataclass(frozen=True)
class DatabaseEndpoints:
    """Where the app reads (this region's instance) and writes (the primary)."""

    read_address: pulumi.Input[str]
    primary_address: pulumi.Input[str]
    identifier: str
    primary_identifier: str


@dataclass(frozen=True)
class RegionalAppArgs:
    """The region's settings, the image to run and the endpoints of the data stores it uses."""

    settings: RegionSettings
    image: str
    redis_nodes: pulumi.Input[str]
    database: DatabaseEndpoints


class RegionalApp(pulumi.ComponentResource):
    """Namespace, ConfigMap, Secrets, Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler."""

    namespace: pulumi.Output[str]
    deployment_name: pulumi.Output[str]
    # The host name of the Service's cloud load balancer: known once it exists (after deploy).
    load_balancer_hostname: pulumi.Output[str]

    def __init__(self, name: str, args: RegionalAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tusk:app:RegionalApp", name, None, opts)
        self._name = name
        self._args = args
        app = args.settings.app
        namespace = core.Namespace(
            f"{name}-ns",
            metadata={"name": app.namespace, "labels": self._labels()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Children depend on the namespace resource, not only on its name, so they are created after it.
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        config_data = regional_config_data(args.settings)
        config_map = self._config_map(config_data, child)
        secrets = self._secrets(child)
        # Pods read the ConfigMap (envFrom) and the Secrets (secretKeyRef) at start: create those first, or
        # the first pods fail with CreateContainerConfigError.
        deployment = self._deployment(
            config_data, child.merge(pulumi.ResourceOptions(depends_on=[config_map, *secrets]))
        )
        service = self._service(child)
        self._disruption_budget(child)
        self._autoscaler(child.merge(pulumi.ResourceOptions(depends_on=[deployment])))
        self.namespace = namespace.metadata.apply(lambda metadata: metadata.name or app.namespace)
        self.deployment_name = deployment.metadata.apply(lambda metadata: metadata.name or app.name)
        self.load_balancer_hostname = service.status.apply(load_balancer_hostname)
        self.register_outputs({
            "namespace": self.namespace,
            "deployment_name": self.deployment_name,
            "load_balancer_hostname": self.load_balancer_hostname,
        })

    def _labels(self) -> dict[str, str]:
        settings = self._args.settings
        return {
            "app": settings.app.name,
            "app.kubernetes.io/name": settings.app.name,
            "app.kubernetes.io/managed-by": "pulumi",
            "tusk-infra.dev/region": settings.region,
        }

    def _metadata(self, name: str, annotations: Mapping[str, str] | None = None) -> meta.ObjectMetaArgsDict:
        metadata: meta.ObjectMetaArgsDict = {
            "name": name,
            "namespace": self._args.settings.app.namespace,
            "labels": self._labels(),
        }
        if annotations:
            metadata["annotations"] = dict(annotations)
        return metadata

    def _config_map(self, data: Mapping[str, str], opts: pulumi.ResourceOptions) -> core.ConfigMap:
        return core.ConfigMap(
            f"{self._name}-config",
            metadata=self._metadata(f"{self._args.settings.app.name}-config"),
            data=dict(data),
            opts=opts,
        )

    def _secrets(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        settings = self._args.settings
        login = settings.database.primary
        database = core.Secret(
            f"{self._name}-db-secrets",
            metadata=self._metadata(DB_SECRET_NAME),
            type="Opaque",
            string_data={
                "username": login.user,
                "password": pulumi.Output.secret(login.password.reveal()),
            },
            opts=opts,
        )
        redis = core.Secret(
            f"{self._name}-redis-secrets",
            metadata=self._metadata(REDIS_SECRET_NAME),
            type="Opaque",
            string_data={
                "password": pulumi.Output.secret(settings.distributed_cache.redis_cluster.password.reveal()),
            },
            opts=opts,
        )
        return [database, redis]

    def _deployment(self, config_data: Mapping[str, str], opts: pulumi.ResourceOptions) -> apps.Deployment:
        settings = self._args.settings
        app = settings.app
        database = self._args.database
        metadata = self._metadata(
            app.name,
            {
                DATABASE_ANNOTATION: database.identifier,
                PRIMARY_DATABASE_ANNOTATION: database.primary_identifier,
                POOL_ANNOTATION: str(settings.database.primary.pool.max_open_conns),
            },
        )
        return apps.Deployment(
            f"{self._name}-deployment",
            metadata=metadata,
            spec={
                # No `replicas`: the HorizontalPodAutoscaler owns the pod count. A fixed value here would
                # reset the scaled-out Deployment to that number on every `pulumi up`, then the HPA would
                # scale it back: a fight in which production loses capacity mid-traffic.
                "selector": {"match_labels": {"app": app.name}},
                "strategy": {
                    "type": "RollingUpdate",
                    "rolling_update": {"max_unavailable": 0, "max_surge": "25%"},
                },
                "template": {
                    "metadata": {
                        "labels": self._labels(),
                        # Pods restart when the regional settings change, not only when the image does.
                        "annotations": {CONFIG_HASH_ANNOTATION: config_hash(config_data)},
                    },
                    "spec": {
                        "containers": [self._container()],
                        "topology_spread_constraints": [
                            {
                                "max_skew": 1,
                                "topology_key": "topology.kubernetes.io/zone",
                                "when_unsatisfiable": "ScheduleAnyway",
                                "label_selector": {"match_labels": {"app": app.name}},
                            }
                        ],
                    },
                },
            },
            opts=opts,
        )

    def _container(self) -> core.ContainerArgsDict:
        settings = self._args.settings
        app = settings.app
        return {
            "name": app.name,
            "image": self._args.image,
            "ports": [{"name": "http", "container_port": app.port, "protocol": "TCP"}],
            "env_from": [{"config_map_ref": {"name": f"{app.name}-config"}}],
            "env": self._env(),
            "resources": {
                "requests": {"cpu": app.resources.requests.cpu, "memory": app.resources.requests.memory},
                "limits": {"cpu": app.resources.limits.cpu, "memory": app.resources.limits.memory},
            },
            "liveness_probe": {
                "http_get": {"path": app.liveness.path, "port": app.port},
                "initial_delay_seconds": app.liveness.initial_delay_seconds,
                "period_seconds": app.liveness.period_seconds,
            },
            "readiness_probe": {
                "http_get": {"path": app.readiness.path, "port": app.port},
                "initial_delay_seconds": app.readiness.initial_delay_seconds,
                "period_seconds": app.readiness.period_seconds,
            },
            "security_context": {"allow_privilege_escalation": False},
        }

    def _env(self) -> list[core.EnvVarArgsDict]:
        """The seed manifest's environment, with real endpoints instead of hand-written host names."""
        settings = self._args.settings
        login = settings.database.primary
        database = self._args.database
        return [
            {"name": "INSTANCE_ID", "value_from": {"field_ref": {"field_path": "metadata.name"}}},
            {"name": "REGION", "value": settings.region},
            {"name": "ZONE", "value": settings.zone},
            {"name": "REDIS_CLUSTER_NODES", "value": self._args.redis_nodes},
            _secret_env("REDIS_CLUSTER_PASSWORD", REDIS_SECRET_NAME, "password"),
            # Writes go to the primary; reads stay in the region (the local replica, or the primary itself).
            {"name": "DB_PRIMARY_HOST", "value": database.primary_address},
            {"name": "DB_READ_HOST", "value": database.read_address},
            {"name": "DB_PRIMARY_PORT", "value": str(login.port)},
            {"name": "DB_PRIMARY_NAME", "value": login.name},
            _secret_env("DB_PRIMARY_USER", DB_SECRET_NAME, "username"),
            _secret_env("DB_PRIMARY_PASSWORD", DB_SECRET_NAME, "password"),
        ]

    def _service(self, opts: pulumi.ResourceOptions) -> core.Service:
        app = self._args.settings.app
        return core.Service(
            f"{self._name}-service",
            metadata=self._metadata(app.name),
            spec={
                # The cloud load balancer in front of the region's pods.
                "type": "LoadBalancer",
                "selector": {"app": app.name},
                "ports": [{"name": "http", "port": 80, "target_port": "http", "protocol": "TCP"}],
            },
            opts=opts,
        )

    def _disruption_budget(self, opts: pulumi.ResourceOptions) -> policy.PodDisruptionBudget:
        settings = self._args.settings
        return policy.PodDisruptionBudget(
            f"{self._name}-pdb",
            metadata=self._metadata(f"{settings.app.name}-pdb"),
            spec={
                "min_available": settings.scaling.disruption_budget.min_available,
                "selector": {"match_labels": {"app": settings.app.name}},
            },
            opts=opts,
        )

    def _autoscaler(self, opts: pulumi.ResourceOptions) -> autoscaling.HorizontalPodAutoscaler:
        settings = self._args.settings
        autoscaler = settings.scaling.autoscaler
        return autoscaling.HorizontalPodAutoscaler(
            f"{self._name}-hpa",
            metadata=self._metadata(f"{settings.app.name}-hpa"),
            spec={
                "scale_target_ref": {
                    "api_version": "apps/v1",
                    "kind": "Deployment",
                    "name": settings.app.name,
                },
                "min_replicas": autoscaler.min_replicas,
                "max_replicas": autoscaler.max_replicas,
                "metrics": [
                    _utilization_metric("cpu", autoscaler.cpu_utilization),
                    _utilization_metric("memory", autoscaler.memory_utilization),
                ],
                "behavior": {
                    "scale_up": _scaling_rules(autoscaler.scale_up),
                    "scale_down": _scaling_rules(autoscaler.scale_down),
                },
            },
            opts=opts,
        )


def load_balancer_hostname(status: core.outputs.ServiceStatus | None) -> str:
    """`status.loadBalancer.ingress[0].hostname` of a LoadBalancer Service (AWS names its load balancers by
    host name, not IP); Pulumi waits for it before it counts the Service as created."""
    balancer = status.load_balancer if status is not None else None
    ingress = (balancer.ingress if balancer is not None else None) or []
    hostname = ingress[0].hostname if ingress else None
    if not hostname:
        raise ValueError("the app's Service has no load balancer host name in status.loadBalancer.ingress; "
                         "expected the AWS load balancer's DNS name once the Service is ready")
    return hostname


def _secret_env(name: str, secret: str, key: str) -> core.EnvVarArgsDict:
    return {"name": name, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}


def _utilization_metric(resource: str, percent: int) -> autoscaling.MetricSpecArgsDict:
    return {
        "type": "Resource",
        "resource": {"name": resource, "target": {"type": "Utilization", "average_utilization": percent}},
    }


def _scaling_rules(rules: ScalingPolicy) -> autoscaling.HPAScalingRulesArgsDict:
    return {
        "stabilization_window_seconds": rules.stabilization_seconds,
        "policies": [{"type": "Percent", "value": rules.percent, "period_seconds": rules.period_seconds}],
    }


def regional_config_data(settings: RegionSettings) -> dict[str, str]:
    """The regional settings the app reads from its ConfigMap (as environment variables)."""
    pool = settings.database.primary.pool
    redis = settings.distributed_cache.redis_cluster
    return {
        "REGION": settings.region,
        "ZONE": settings.zone,
        "DEPLOYMENT_ID": settings.global_.deployment_id,
        "CDN_URL": settings.regional_settings.cdn_url,
        "TIMEZONE": settings.regional_settings.timezone,
        "CACHE_TTL": settings.performance.cache_ttl,
        "WORKER_COUNT": str(settings.performance.worker_count),
        "CONNECTION_POOL_SIZE": str(settings.performance.connection_pool_size),
        "DB_POOL_MAX_OPEN_CONNS": str(pool.max_open_conns),
        "DB_POOL_MAX_IDLE_CONNS": str(pool.max_idle_conns),
        "DB_POOL_CONN_MAX_LIFETIME": pool.conn_max_lifetime,
        "REDIS_SSL": "true" if redis.ssl else "false",
        "REDIS_RETRY_ATTEMPTS": str(redis.retry_attempts),
        "REDIS_RETRY_DELAY": redis.retry_delay,
        "METRICS_ENDPOINT": settings.monitoring.metrics_endpoint,
        "LOG_AGGREGATOR": settings.monitoring.log_aggregator,
        "LOAD_BALANCER_URL": settings.scaling.load_balancer,
    }


def config_hash(data: Mapping[str, str]) -> str:
    """A short, stable digest of the ConfigMap's data."""
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()[:16]
