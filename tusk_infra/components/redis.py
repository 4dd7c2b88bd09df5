"""RedisCluster: one ElastiCache Redis replication group in cluster mode, private to the app."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws.elasticache as elasticache

from tusk_infra.components.network import AppOnlyAccess, app_only_security_group
from tusk_infra.settings import RedisSettings


@dataclass(frozen=True)
class RedisClusterArgs:
    """The cluster's settings from global.tsk and where it lives."""

    settings: RedisSettings
    access: AppOnlyAccess


class RedisCluster(pulumi.ComponentResource):
    """A cluster-mode Redis with TLS, encryption at rest, an auth token, automatic failover and snapshots."""

    configuration_endpoint: pulumi.Output[str]
    nodes: pulumi.Output[str]
    arn: pulumi.Output[str]
    # The replication group's id (its member clusters are "<id>-0001-001", ...), and its Pulumi name.
    replication_group_id: pulumi.Output[str]
    group_resource_name: str

    def __init__(self, name: str, args: RedisClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tusk:redis:RedisCluster", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = elasticache.SubnetGroup(
            f"{name}-subnets",
            description=f"{name}: private subnets",
            subnet_ids=list(args.access.subnet_ids),
            opts=child,
        )
        security_group = app_only_security_group(name, args.access, "Redis", self)
        parameter_group = elasticache.ParameterGroup(
            f"{name}-params",
            family=redis_parameter_family(settings.engine_version),
            description=f"{name}: cluster mode",
            parameters=[{"name": "cluster-enabled", "value": "yes"}],
            opts=child,
        )
        group = elasticache.ReplicationGroup(
            f"{name}-group",
            description=f"{name}: cluster-mode Redis",
            engine="redis",
            engine_version=settings.engine_version,
            node_type=settings.node_type,
            port=settings.port,
            cluster_mode="enabled",
            num_node_groups=settings.shards,
            replicas_per_node_group=settings.replicas_per_shard,
            automatic_failover_enabled=True,
            multi_az_enabled=True,
            transit_encryption_enabled=settings.ssl,
            at_rest_encryption_enabled=settings.at_rest_encryption,
            # The token leaves the settings only wrapped, so state, previews and logs mask it.
            auth_token=pulumi.Output.secret(settings.password.reveal()),
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            snapshot_retention_limit=settings.snapshot_retention_days,
            auto_minor_version_upgrade=True,
            opts=child,
        )
        self.arn = group.arn
        self.replication_group_id = group.id
        self.group_resource_name = group.pulumi_resource_name
        self.configuration_endpoint = group.configuration_endpoint_address
        self.nodes = pulumi.Output.concat(group.configuration_endpoint_address, f":{settings.port}")
        self.register_outputs(
            {
                "arn": self.arn,
                "configuration_endpoint": self.configuration_endpoint,
                "nodes": self.nodes,
                "replication_group_id": self.replication_group_id,
            }
        )


def redis_parameter_family(engine_version: str) -> str:
    """ElastiCache parameter group family of an engine version: 7.1 -> redis7."""
    return f"redis{engine_version.split('.')[0]}"
