"""PostgresCluster: the RDS PostgreSQL primary, or a cross-region read replica of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.kms as kms
import pulumi_aws.rds as rds

from tusk_infra.components.network import AppOnlyAccess, app_only_security_group
from tusk_infra.settings import Database

# Where the connection budget lives for the policy pack: this parameter of the instance's parameter group.
MAX_CONNECTIONS_PARAMETER = "max_connections"


@dataclass(frozen=True)
class PostgresClusterArgs:
    """The database settings from global.tsk, this region's identifier and, for a replica, its primary."""

    settings: Database
    identifier: str
    access: AppOnlyAccess
    # The primary's ARN (from the primary stack's outputs); None in the primary region itself.
    replicate_from_arn: pulumi.Input[str] | None = None


class PostgresCluster(pulumi.ComponentResource):
    """An encrypted, multi-AZ, private PostgreSQL instance with backups and deletion protection."""

    arn: pulumi.Output[str]
    address: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    # The instance's identifier (CloudWatch's DBInstanceIdentifier), and its Pulumi name.
    identifier: pulumi.Output[str]
    instance_resource_name: str

    def __init__(
        self, name: str, args: PostgresClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("tusk:postgres:PostgresCluster", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        subnet_group = rds.SubnetGroup(
            f"{name}-subnets",
            description=f"{name}: private subnets",
            subnet_ids=list(args.access.subnet_ids),
            opts=child,
        )
        security_group = app_only_security_group(name, args.access, "PostgreSQL", self)
        parameter_group = self._parameter_group()
        placement = _placement(subnet_group, security_group, parameter_group)
        if args.replicate_from_arn is None:
            instance = self._primary(placement)
        else:
            instance = self._replica(placement, args.replicate_from_arn)
        self.arn = instance.arn
        self.address = instance.address
        self.endpoint = instance.endpoint
        self.port = instance.port
        self.identifier = instance.identifier
        self.instance_resource_name = instance.pulumi_resource_name
        self.register_outputs(
            {
                "arn": self.arn,
                "address": self.address,
                "endpoint": self.endpoint,
                "port": self.port,
                "identifier": self.identifier,
            }
        )

    def _parameter_group(self) -> rds.ParameterGroup:
        settings = self._args.settings
        family = postgres_parameter_family(settings.engine_version)
        return rds.ParameterGroup(
            f"{self._name}-params",
            # A fixed name, so the instance's parameterGroupName is known before deploy and the policy pack
            # can find max_connections from the registered resources alone.
            name=f"{self._args.identifier}-{family}",
            family=family,
            description=f"{self._name}: connection limit and TLS",
            parameters=[
                # Static parameter: it takes effect at the next reboot, which RDS schedules in the window.
                {
                    "name": MAX_CONNECTIONS_PARAMETER,
                    "value": str(settings.max_connections),
                    "apply_method": "pending-reboot",
                },
                {"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"},
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _primary(self, placement: _InstancePlacement) -> rds.Instance:
        settings = self._args.settings
        identifier = self._args.identifier
        return rds.Instance(
            f"{self._name}-primary",
            identifier=identifier,
            engine="postgres",
            engine_version=settings.engine_version,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gb,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            multi_az=settings.multi_az,
            db_name=settings.primary.name,
            username=settings.primary.user,
            password=pulumi.Output.secret(settings.primary.password.reveal()),
            port=settings.primary.port,
            backup_retention_period=settings.backup_retention_days,
            # Keep the final snapshot: deleting the primary must never lose data.
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{identifier}-final",
            copy_tags_to_snapshot=True,
            **placement,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )

    def _replica(self, placement: _InstancePlacement, source_arn: pulumi.Input[str]) -> rds.Instance:
        settings = self._args.settings
        # The primary's storage is encrypted with a key of its own region; a cross-region replica must be
        # encrypted with a key that lives in the replica's region.
        key = kms.Key(
            f"{self._name}-key",
            description=f"{self._name}: storage of the PostgreSQL read replica",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return rds.Instance(
            f"{self._name}-replica",
            identifier=self._args.identifier,
            # Engine, version, database name and credentials come from the source instance.
            replicate_source_db=source_arn,
            instance_class=settings.instance_class,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            multi_az=settings.multi_az,
            port=settings.primary.port,
            backup_retention_period=settings.backup_retention_days,
            # A replica holds no data of its own: a final snapshot would only duplicate the primary's.
            skip_final_snapshot=True,
            **placement,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )


class _InstancePlacement(TypedDict):
    """What primary and replica share: network placement, parameters and the safety flags."""

    db_subnet_group_name: pulumi.Input[str]
    vpc_security_group_ids: list[pulumi.Input[str]]
    parameter_group_name: pulumi.Input[str]
    publicly_accessible: bool
    deletion_protection: bool
    auto_minor_version_upgrade: bool
    performance_insights_enabled: bool
    enabled_cloudwatch_logs_exports: list[str]
    apply_immediately: bool


def _placement(
    subnet_group: rds.SubnetGroup, security_group: ec2.SecurityGroup, parameter_group: rds.ParameterGroup
) -> _InstancePlacement:
    return {
        "db_subnet_group_name": subnet_group.name,
        "vpc_security_group_ids": [security_group.id],
        "parameter_group_name": parameter_group.name,
        "publicly_accessible": False,
        "deletion_protection": True,
        "auto_minor_version_upgrade": True,
        "performance_insights_enabled": True,
        "enabled_cloudwatch_logs_exports": ["postgresql", "upgrade"],
        # Changes wait for the maintenance window instead of restarting the database mid-day.
        "apply_immediately": False,
    }


def postgres_parameter_family(engine_version: str) -> str:
    """RDS parameter group family of a PostgreSQL version: 16.4 -> postgres16."""
    return f"postgres{engine_version.split('.')[0]}"
