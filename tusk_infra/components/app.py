"""RegionalApp: the application on the region's Kubernetes cluster, wired to its Redis and Postgres."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes.apps.v1 as apps
import pulumi_kubernetes.autoscaling.v2 as autoscaling
import pulumi_kubernetes.core.v1 as core
import pulumi_kubernetes.meta.v1 as meta
import pulumi_kubernetes.networking.v1 as networking
import pulumi_kubernetes.policy.v1 as policy

from tusk_infra.settings import App, RegionSettings, ScalingPolicy

# Annotations on the Deployment that let a pure policy compute the database connection budget from the
# registered resources: which RDS instances this app connects to, and how many connections each pod may open.
ANNOTATION_PREFIX = "tusk-infra.dev"
DATABASE_ANNOTATION = f"{ANNOTATION_PREFIX}/database-identifier"
PRIMARY_DATABASE_ANNOTATION = f"{ANNOTATION_PREFIX}/database-primary-identifier"
POOL_ANNOTATION = f"{ANNOTATION_PREFIX}/db-pool-max-open-conns"

# The AWS Load Balancer Controller's Service annotations (an NLB with ip targets, not the in-tree controller's
# Classic Load Balancer): kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md.
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer"
LB_TYPE_ANNOTATION = f"{LB_ANNOTATION}-type"
LB_SCHEME_ANNOTATION = f"{LB_ANNOTATION}-scheme"
# IRSA: the IAM role EKS's pod identity webhook gives the pods of a ServiceAccount.
IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
# Pod Security Admission: the Namespace enforces (and audits, and warns of) the "restricted" profile.
POD_SECURITY_LABELS = {
    f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
}
# A non-root process with every capability dropped may bind ports from this number up: 0 lets the app keep
# the seed's port 80. A "safe" sysctl (namespaced to the pod's network), allowed by the restricted profile.
UNPRIVILEGED_PORT_SYSCTL = "net.ipv4.ip_unprivileged_port_start"
PRIVILEGED_PORTS = 1024
TMP_VOLUME = "tmp"
DNS_PORT = 53
HTTPS_PORT = 443


@dataclass(frozen=True)
class DatabaseEndpoints:
    """Where the app reads (this region's instance) and writes (the primary)."""

    read_address: pulumi.Input[str]
    primary_address: pulumi.Input[str]
    identifier: str
    primary_identifier: str


@dataclass(frozen=True)
class AppNetwork:
    """The address ranges of the app's NetworkPolicy: the region's VPC, and (in a replica region) the
    primary region's, where the primary database takes the writes."""

    vpc_cidr: str
    primary_vpc_cidr: pulumi.Input[str] | None


@dataclass(frozen=True)
class RegionalAppArgs:
    """The region's settings, the image to run and the endpoints of the data stores it uses."""

    settings: RegionSettings
    image: str
    redis_nodes: pulumi.Input[str]
    database: DatabaseEndpoints
    network: AppNetwork
    # The release the image is (the stack's imageTag), shown beside a digest as app.kubernetes.io/version.
    release: str | None = None
    service_account_role_arn: str | None = None
    tls_certificate_arn: str | None = None


class RegionalApp(pulumi.ComponentResource):
    """Namespace, ServiceAccount, NetworkPolicies, ConfigMap, Secrets, Deployment, Service,
    PodDisruptionBudget and HorizontalPodAutoscaler."""

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
            metadata={"name": app.namespace, "labels": {**self._labels(), **POD_SECURITY_LABELS}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Children depend on the namespace resource, not only on its name, so they are created after it.
        child = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        self._network_policies(child)
        account = self._service_account(child)
        config_map = self._config_map(regional_config_data(args.settings), child)
        secrets = self._secrets(child)
        # Pods read the ConfigMap (envFrom) and the Secrets (secretKeyRef) at start: create those first, or
        # the first pods fail with CreateContainerConfigError.
        deployment = self._deployment(
            PodInputs(config_map, secrets, account),
            child.merge(pulumi.ResourceOptions(depends_on=[config_map, *secrets.values(), account])),
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

    def _metadata(
        self, name: str | None, annotations: Mapping[str, str] | None = None
    ) -> meta.ObjectMetaArgsDict:
        """An object's metadata; name None: Pulumi names it (`<resource name>-<random suffix>`)."""
        metadata: meta.ObjectMetaArgsDict = {
            "namespace": self._args.settings.app.namespace,
            "labels": self._labels(),
        }
        if name is not None:
            metadata["name"] = name
        if annotations:
            metadata["annotations"] = dict(annotations)
        return metadata

    def _network_policies(self, opts: pulumi.ResourceOptions) -> list[networking.NetworkPolicy]:
        """Deny every flow in the namespace, then admit the app's own (see app_network_policy_spec)."""
        settings = self._args.settings
        deny_all = networking.NetworkPolicy(
            f"{self._name}-default-deny",
            metadata=self._metadata("default-deny"),
            spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
            opts=opts,
        )
        allowed = networking.NetworkPolicy(
            f"{self._name}-netpol",
            metadata=self._metadata(settings.app.name),
            spec=app_network_policy_spec(settings, self._args.network),
            opts=opts,
        )
        return [deny_all, allowed]

    def _service_account(self, opts: pulumi.ResourceOptions) -> core.ServiceAccount:
        """The app's own identity: no API token mounted (the app does not call the Kubernetes API); with
        IRSA, EKS mounts the role's own projected token whatever this says."""
        role = self._args.service_account_role_arn
        return core.ServiceAccount(
            f"{self._name}-sa",
            metadata=self._metadata(
                self._args.settings.app.name, {IRSA_ROLE_ANNOTATION: role} if role else None
            ),
            automount_service_account_token=False,
            opts=opts,
        )

    # The ConfigMap and the Secrets are immutable and named by Pulumi: a changed value is a new object with a
    # new name, which changes the Deployment's pod template, so the pods roll. No digest of a secret is
    # written anywhere, and pods never read a half-updated object.
    def _config_map(self, data: Mapping[str, str], opts: pulumi.ResourceOptions) -> core.ConfigMap:
        return core.ConfigMap(
            f"{self._name}-config",
            metadata=self._metadata(None),
            data=dict(data),
            immutable=True,
            opts=opts,
        )

    def _secrets(self, opts: pulumi.ResourceOptions) -> dict[str, core.Secret]:
        settings = self._args.settings
        login = settings.database.primary
        database = core.Secret(
            f"{self._name}-db-secrets",
            metadata=self._metadata(None),
            type="Opaque",
            string_data={
                "username": login.user,
                "password": pulumi.Output.secret(login.password.reveal()),
            },
            immutable=True,
            opts=opts,
        )
        redis = core.Secret(
            f"{self._name}-redis-secrets",
            metadata=self._metadata(None),
            type="Opaque",
            string_data={
                "password": pulumi.Output.secret(settings.distributed_cache.redis_cluster.password.reveal()),
            },
            immutable=True,
            opts=opts,
        )
        return {"database": database, "redis": redis}

    def _deployment(self, inputs: PodInputs, opts: pulumi.ResourceOptions) -> apps.Deployment:
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
        if self._args.release:
            metadata["labels"] = {**self._labels(), "app.kubernetes.io/version": self._args.release}
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
                    "metadata": {"labels": self._labels()},
                    "spec": {
                        "service_account_name": object_name(inputs.service_account),
                        "automount_service_account_token": False,
                        "security_context": pod_security_context(app),
                        "volumes": [
                            {"name": TMP_VOLUME, "empty_dir": {"size_limit": app.security.tmp_size_limit}}
                        ],
                        "containers": [self._container(inputs)],
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

    def _container(self, inputs: PodInputs) -> core.ContainerArgsDict:
        settings = self._args.settings
        app = settings.app
        return {
            "name": app.name,
            "image": self._args.image,
            # A digest never moves: pulling it again on every start would only add a registry round trip.
            "image_pull_policy": "IfNotPresent" if "@sha256:" in self._args.image else "Always",
            "ports": [{"name": "http", "container_port": app.port, "protocol": "TCP"}],
            "env_from": [{"config_map_ref": {"name": object_name(inputs.config_map)}}],
            "env": self._env(inputs.secrets),
            "volume_mounts": [{"name": TMP_VOLUME, "mount_path": "/tmp"}],
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
            "security_context": container_security_context(app),
        }

    def _env(self, secrets: Mapping[str, core.Secret]) -> list[core.EnvVarArgsDict]:
        """The seed manifest's environment, with real endpoints instead of hand-written host names."""
        settings = self._args.settings
        login = settings.database.primary
        database = self._args.database
        db_secret, redis_secret = object_name(secrets["database"]), object_name(secrets["redis"])
        return [
            {"name": "INSTANCE_ID", "value_from": {"field_ref": {"field_path": "metadata.name"}}},
            {"name": "REGION", "value": settings.region},
            {"name": "ZONE", "value": settings.zone},
            {"name": "REDIS_CLUSTER_NODES", "value": self._args.redis_nodes},
            _secret_env("REDIS_CLUSTER_PASSWORD", redis_secret, "password"),
            # Writes go to the primary; reads stay in the region (the local replica, or the primary itself).
            {"name": "DB_PRIMARY_HOST", "value": database.primary_address},
            {"name": "DB_READ_HOST", "value": database.read_address},
            {"name": "DB_PRIMARY_PORT", "value": str(login.port)},
            {"name": "DB_PRIMARY_NAME", "value": login.name},
            _secret_env("DB_PRIMARY_USER", db_secret, "username"),
            _secret_env("DB_PRIMARY_PASSWORD", db_secret, "password"),
        ]

    def _service(self, opts: pulumi.ResourceOptions) -> core.Service:
        app = self._args.settings.app
        certificate = self._args.tls_certificate_arn
        ports: list[core.ServicePortArgsDict] = [
            {"name": "http", "port": 80, "target_port": "http", "protocol": "TCP"}
        ]
        if certificate:
            # The NLB ends TLS with the ACM certificate and forwards to the same container port.
            ports.append({"name": "https", "port": 443, "target_port": "http", "protocol": "TCP"})
        return core.Service(
            f"{self._name}-service",
            metadata=self._metadata(app.name, load_balancer_annotations(app, certificate)),
            spec={
                # An NLB of the AWS Load Balancer Controller in front of the region's pods (annotations).
                "type": "LoadBalancer",
                # ip targets: the NLB sends to pod addresses, never through a node port, so none is opened
                # and the policy is the default stated: no node hop exists for "Local" to avoid.
                "external_traffic_policy": "Cluster",
                "allocate_load_balancer_node_ports": False,
                "selector": {"app": app.name},
                "ports": ports,
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


@dataclass(frozen=True)
class PodInputs:
    """The objects a pod reads by name; Pulumi names them, so their names are outputs."""

    config_map: core.ConfigMap
    secrets: Mapping[str, core.Secret]
    service_account: core.ServiceAccount


def object_name(resource: core.ConfigMap | core.Secret | core.ServiceAccount) -> pulumi.Output[str]:
    """The name a Kubernetes object got (Pulumi's auto-name when the program set none)."""
    return resource.metadata.apply(lambda metadata: metadata.name or "")


def pod_security_context(app: App) -> core.PodSecurityContextArgsDict:
    """Pod Security Standards "restricted" with the high UID/GID global.tsk sets."""
    context: core.PodSecurityContextArgsDict = {
        "run_as_non_root": True,
        "run_as_user": app.security.run_as_user,
        "run_as_group": app.security.run_as_group,
        "fs_group": app.security.fs_group,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }
    if app.port < PRIVILEGED_PORTS:
        context["sysctls"] = [{"name": UNPRIVILEGED_PORT_SYSCTL, "value": "0"}]
    return context


def container_security_context(app: App) -> core.SecurityContextArgsDict:
    """No privilege, no capability, no escalation, a read-only root (global.tsk's choice)."""
    return {
        "allow_privilege_escalation": False,
        "privileged": False,
        "read_only_root_filesystem": app.security.read_only_root_filesystem,
        "run_as_non_root": True,
        "capabilities": {"drop": ["ALL"]},
    }


def load_balancer_annotations(app: App, certificate_arn: str | None) -> dict[str, str]:
    """The AWS Load Balancer Controller's NLB: ip targets, the scheme global.tsk chooses, cross-zone, health
    checks on the readiness path, and a TLS listener on 443 when the stack names an ACM certificate."""
    annotations = {
        LB_TYPE_ANNOTATION: "external",
        f"{LB_ANNOTATION}-nlb-target-type": "ip",
        LB_SCHEME_ANNOTATION: app.load_balancer.scheme,
        f"{LB_ANNOTATION}-attributes": (
            f"load_balancing.cross_zone.enabled={'true' if app.load_balancer.cross_zone else 'false'}"
        ),
        f"{LB_ANNOTATION}-healthcheck-protocol": "HTTP",
        f"{LB_ANNOTATION}-healthcheck-port": "traffic-port",
        f"{LB_ANNOTATION}-healthcheck-path": app.readiness.path,
    }
    if certificate_arn:
        annotations[f"{LB_ANNOTATION}-ssl-cert"] = certificate_arn
        annotations[f"{LB_ANNOTATION}-ssl-ports"] = "443"
    return annotations


def app_network_policy_spec(
    settings: RegionSettings, network: AppNetwork
) -> networking.NetworkPolicySpecArgsDict:
    """What the app's pods may do under the namespace's default deny: take traffic on their port from the
    region's VPC (the NLB's ip targets come from there), resolve names, reach Redis and Postgres in the
    region's VPC and Postgres in the primary region's, HTTPS anywhere (metrics, logs, AWS APIs), and the
    destinations global.tsk lists."""
    app = settings.app
    redis_port = settings.distributed_cache.redis_cluster.port
    db_port = settings.database.primary.port
    kube_dns: networking.NetworkPolicyPeerArgsDict = {
        "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
        "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
    }
    egress: list[networking.NetworkPolicyEgressRuleArgsDict] = [
        {"to": [kube_dns], "ports": [_port(DNS_PORT, "UDP"), _port(DNS_PORT, "TCP")]},
        {"to": [_cidr(network.vpc_cidr)], "ports": [_port(redis_port), _port(db_port)]},
    ]
    if network.primary_vpc_cidr is not None:
        egress.append({"to": [_cidr(network.primary_vpc_cidr)], "ports": [_port(db_port)]})
    egress.append({"to": [_cidr("0.0.0.0/0")], "ports": [_port(HTTPS_PORT)]})
    for rule in app.network.extra_egress:
        egress.append({"to": [_cidr(rule.cidr)], "ports": [_port(rule.port, rule.protocol)]})
    return {
        "pod_selector": {"match_labels": {"app": app.name}},
        "policy_types": ["Ingress", "Egress"],
        "ingress": [{"from_": [_cidr(network.vpc_cidr)], "ports": [_port(app.port)]}],
        "egress": egress,
    }


def _cidr(cidr: pulumi.Input[str]) -> networking.NetworkPolicyPeerArgsDict:
    return {"ip_block": {"cidr": cidr}}


def _port(port: int, protocol: str = "TCP") -> networking.NetworkPolicyPortArgsDict:
    return {"port": port, "protocol": protocol}


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


def _secret_env(name: str, secret: pulumi.Input[str], key: str) -> core.EnvVarArgsDict:
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

