"""PostgresCluster: the RDS PostgreSQL primary or a cross-region read replica, one resource in both roles."""

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

    instance: rds.Instance
    # The RDS instance identifier (fixed, as stack.database_identifier names it): what CloudWatch's
    # DBInstanceIdentifier dimension and the app's annotations use.
    identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    address: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    # The instance's Pulumi name (the alarms name the resource they watch by it).
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
        instance = self._instance(placement, self._key())
        self.instance = instance
        self.identifier = instance.identifier
        self.arn = instance.arn
        self.address = instance.address
        self.endpoint = instance.endpoint
        self.port = instance.port
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

    def _key(self) -> kms.Key:
        # A cross-region replica must be encrypted with a key of its own region (the primary's key lives in
        # the primary's region). Every region has one, so the region that holds the primary today can become
        # a replica after a failover, and a new primary is encrypted with its region's key too.
        return kms.Key(
            f"{self._name}-key",
            description=f"{self._name}: storage of the PostgreSQL instance",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _instance(self, placement: _InstancePlacement, key: kms.Key) -> rds.Instance:
        """One instance per region, primary or replica: the same Pulumi resource in both roles, so promoting
        a replica (a failover) is an update that removes replicateSourceDb, never a replacement."""
        settings = self._args.settings
        identifier = self._args.identifier
        source = self._args.replicate_from_arn
        return rds.Instance(
            f"{self._name}-db",
            identifier=identifier,
            # What a replica takes from its source and keeps when promoted: a PostgreSQL replica is a copy
            # of its source, so its engine, database name and master user are the source's (the provider
            # does not send dbName for one), and so is its storage at creation. Both roles pass the same
            # values, so a promotion changes none of them.
            engine="postgres",
            engine_version=settings.engine_version,
            db_name=settings.primary.name,
            username=settings.primary.user,
            allocated_storage=settings.allocated_storage_gb,
            # A replica's master password is its source's (copied with the data). The primary owns it (a
            # rotation updates it in place); a promoted replica takes it over, also in place.
            password=None if source is not None else pulumi.Output.secret(settings.primary.password.reveal()),
            replicate_source_db=source,
            instance_class=settings.instance_class,
            max_allocated_storage=settings.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            multi_az=settings.multi_az,
            port=settings.primary.port,
            # On promotion RDS applies this retention (PromoteReadReplica takes it): an update, in place.
            backup_retention_period=settings.backup_retention_days,
            # Keep the primary's final snapshot: deleting it must never lose data. RDS takes no final
            # snapshot of a replica (it holds no data of its own: the primary's snapshots have it all).
            skip_final_snapshot=source is not None,
            final_snapshot_identifier=f"{identifier}-final",
            copy_tags_to_snapshot=True,
            **placement,
            opts=_instance_options(self, self._name, replica=source is not None),
        )


def _instance_options(parent: pulumi.Resource, name: str, *, replica: bool) -> pulumi.ResourceOptions:
    """Protected in both roles; the instance keeps its identity across the names it had before it was one
    resource in both roles (`-primary` / `-replica`), so existing stacks update rather than replace it."""
    aliases: list[pulumi.Input[str] | pulumi.Alias] = [
        pulumi.Alias(name=f"{name}-primary"), pulumi.Alias(name=f"{name}-replica")
    ]
    if not replica:
        return pulumi.ResourceOptions(
            parent=parent,
            protect=True,
            aliases=aliases,
            # The storage key is chosen when the storage is created and cannot change: a promoted replica
            # keeps its region's key, a primary created before every region had one keeps the RDS default.
            # Without this, either would be replaced (kmsKeyId forces a new instance) by a config change.
            ignore_changes=["kmsKeyId"],
        )
    return pulumi.ResourceOptions(
        parent=parent,
        protect=True,
        aliases=aliases,
        # RDS cannot change the source of a replica (the provider refuses a new replicateSourceDb): a new
        # source (the primary moved) or a source on a former primary means a new instance. Replacing a
        # protected database stops at `pulumi up` until it is deliberately unprotected (README: failover).
        replace_on_changes=["replicateSourceDb"],
        # The identifier is fixed, so the new instance can only be created once the old one is gone.
        delete_before_replace=True,
        # A replica's engine, database name and master user are its source's; a replica registered before
        # they were passed in both roles has none in its state, and adding them must not replace it.
        ignore_changes=["engine", "dbName", "username"],
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
