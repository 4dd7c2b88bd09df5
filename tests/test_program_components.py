"""Each component on its own, under mocks, with settings built in the test (no global.tsk, no stack file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from tusk_infra.components import PostgresCluster, PostgresClusterArgs, RedisCluster, RedisClusterArgs
from tusk_infra.components.network import AppOnlyAccess
from tusk_infra.components.postgres import postgres_parameter_family
from tusk_infra.components.redis import redis_parameter_family
from tusk_infra.offline import runner
from tusk_infra.offline.mocks import OfflineMocks, RecordingMonitor
from tusk_infra.offline.model import RegisteredResource
from tusk_infra.settings import Database, RedisSettings
from tusk_infra.tusk.values import Secret

ACCESS = AppOnlyAccess(
    vpc_id="vpc-0123456789abcdef0",
    app_security_group_id="sg-0123456789abcdef0",
    port=0,
    subnet_ids=("subnet-0123456789abcdef0", "subnet-0123456789abcdef1"),
)


def registered(program: Callable[[], object]) -> list[RegisteredResource]:
    """Run `program` under a fresh mock runtime and return what it registered."""
    runtime_settings.reset_options(project="tusk-infra", stack="unit", preview=True)
    monitor = RecordingMonitor(OfflineMocks({}, {}))
    pulumi.runtime.set_mocks(monitor.mocks, project="tusk-infra", stack="unit", preview=True, monitor=monitor)
    runner._execute(lambda: (program(), {})[1])
    return monitor.registered


def by_type(resources: list[RegisteredResource], type_: str) -> dict[str, Any]:
    (resource,) = [r for r in resources if r.type == type_]
    return resource.inputs


def redis_settings(**changes: Any) -> RedisSettings:
    values: dict[str, Any] = {
        "shards": 4,
        "replicas_per_shard": 1,
        "node_type": "cache.m7g.large",
        "engine_version": "6.2",
        "port": 6380,
        "password": Secret("a-token-of-twenty-chars"),
        "ssl": True,
        "at_rest_encryption": True,
        "snapshot_retention_days": 5,
        "retry_attempts": 1,
        "retry_delay": "2s",
    }
    return RedisSettings.model_validate({**values, **changes})


def database_settings() -> Database:
    return Database.model_validate(
        {
            "primary_region": "eu-central-1",
            "replica_regions": ["eu-west-1"],
            "engine_version": "15",
            "instance_class": "db.m7g.large",
            "allocated_storage_gb": 50,
            "max_allocated_storage_gb": 100,
            "multi_az": False,
            "backup_retention_days": 10,
            "max_connections": 400,
            "primary": {
                "port": 5433,
                "name": "orders",
                "user": "orders_app",
                "password": Secret("pw-for-unit-tests"),
                "pool": {"max_open_conns": 10, "max_idle_conns": 5, "conn_max_lifetime": "1m"},
            },
        }
    )


def test_redis_follows_its_settings_not_the_seed() -> None:
    settings = redis_settings()
    access = AppOnlyAccess(ACCESS.vpc_id, ACCESS.app_security_group_id, settings.port, ACCESS.subnet_ids)
    resources = registered(lambda: RedisCluster("cache", RedisClusterArgs(settings, access)))
    group = by_type(resources, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert (group["numNodeGroups"], group["replicasPerNodeGroup"], group["port"]) == (4, 1, 6380)
    assert group["engineVersion"] == "6.2" and group["snapshotRetentionLimit"] == 5
    assert group["authToken"] == Secret("a-token-of-twenty-chars")
    assert by_type(resources, "aws:elasticache/parameterGroup:ParameterGroup")["family"] == "redis6"
    rule = by_type(resources, "aws:ec2/securityGroup:SecurityGroup")["ingress"][0]
    assert (rule["fromPort"], rule["toPort"]) == (6380, 6380)
    component = next(r for r in resources if r.type == "tusk:redis:RedisCluster")
    assert all(r.parent == component.urn for r in resources if r is not component)


def test_postgres_primary_and_replica_differ_only_where_they_must() -> None:
    settings = database_settings()
    access = AppOnlyAccess(ACCESS.vpc_id, ACCESS.app_security_group_id, 5433, ACCESS.subnet_ids)
    arn = "arn:aws:rds:eu-central-1:111122223333:db:orders-eu-central-1"
    primary = registered(
        lambda: PostgresCluster("db", PostgresClusterArgs(settings, "orders-primary", access))
    )
    replica = registered(
        lambda: PostgresCluster(
            "db", PostgresClusterArgs(settings, "orders-replica", access, replicate_from_arn=arn)
        )
    )
    primary_instance = by_type(primary, "aws:rds/instance:Instance")
    replica_instance = by_type(replica, "aws:rds/instance:Instance")
    assert primary_instance["engineVersion"] == "15" and primary_instance["multiAz"] is False
    assert primary_instance["dbName"] == "orders" and primary_instance["username"] == "orders_app"
    assert replica_instance["replicateSourceDb"] == arn
    # One resource in both roles: promoting the replica only removes replicateSourceDb (and takes over the
    # primary's password, final snapshot and backup settings, all updates in place).
    role_only = {"replicateSourceDb", "password", "skipFinalSnapshot", "identifier",
                 "finalSnapshotIdentifier", "parameterGroupName"}
    assert {key: value for key, value in primary_instance.items() if key not in role_only} == {
        key: value for key, value in replica_instance.items() if key not in role_only
    }
    assert "password" not in replica_instance and replica_instance["skipFinalSnapshot"] is True
    assert primary_instance["skipFinalSnapshot"] is False
    assert [r.name for r in primary if r.type == "aws:kms/key:Key"] == ["db-key"]
    assert [r.name for r in replica if r.type == "aws:kms/key:Key"] == ["db-key"]
    for instance in (primary_instance, replica_instance):
        assert instance["port"] == 5433 and instance["backupRetentionPeriod"] == 10
        assert instance["storageEncrypted"] is True and instance["deletionProtection"] is True
    group = by_type(replica, "aws:rds/parameterGroup:ParameterGroup")
    assert group["name"] == "orders-replica-postgres15" and group["family"] == "postgres15"
    assert {"name": "max_connections", "value": "400", "applyMethod": "pending-reboot"} in group["parameters"]


@pytest.mark.parametrize(
    ("version", "redis", "postgres"), [("7.1", "redis7", "postgres7"), ("16", "redis16", "postgres16")]
)
def test_parameter_families(version: str, redis: str, postgres: str) -> None:
    assert redis_parameter_family(version) == redis and postgres_parameter_family(version) == postgres


class KnownArnMocks(pulumi.runtime.Mocks):
    """A deploy rather than a preview: each new resource gets an id, and a KMS key its ARN."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        state = dict(args.inputs)
        if args.typ == "aws:kms/key:Key":
            state["arn"] = f"arn:aws:kms:eu-west-1:111122223333:key/{args.name}"
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def test_the_replica_is_encrypted_with_its_own_regions_key() -> None:
    settings = database_settings()
    access = AppOnlyAccess(ACCESS.vpc_id, ACCESS.app_security_group_id, 5433, ACCESS.subnet_ids)
    source = "arn:aws:rds:eu-central-1:111122223333:db:orders-eu-central-1"
    mocks = KnownArnMocks()
    runtime_settings.reset_options(project="tusk-infra", stack="unit", preview=False)
    pulumi.runtime.set_mocks(mocks, project="tusk-infra", stack="unit", preview=False)
    runner._execute(
        lambda: (
            PostgresCluster("db", PostgresClusterArgs(settings, "orders", access, replicate_from_arn=source)),
            {},
        )[1]
    )
    replica = mocks.inputs["db-db"]
    assert replica["kmsKeyId"] == "arn:aws:kms:eu-west-1:111122223333:key/db-key"
    assert replica["replicateSourceDb"] == source and replica["storageEncrypted"] is True
    assert mocks.inputs["db-key"]["enableKeyRotation"] is True
