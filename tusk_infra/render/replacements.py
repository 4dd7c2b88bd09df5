"""Properties whose change makes the provider replace the resource instead of updating it in place.

Every resource type the program registers has its entry (a type with no entry only updates in place), and
each property is taken from the provider's own definition, not guessed:

- AWS (pulumi-aws 7.x wraps the Terraform AWS provider): the properties marked `ForceNew: true` in the
  resource's schema, and the `ForceNewIf` rules of its `CustomizeDiff`, in hashicorp/terraform-provider-aws
  internal/service/<service>/<file>.go; the file is named beside each entry. Names are Pulumi's camelCase.
- Kubernetes: pulumi-kubernetes v4 provider/pkg/provider/diff.go, `forceNewProperties` and its `forceNew`
  table: `.metadata.name` and `.metadata.namespace` of every kind, plus the kind's own list.

A property absent from the inputs the program sets (e.g. `snapshotIdentifier`) is listed all the same:
setting it later is a change too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tusk_infra.render.plain import Path

_RDS = "aws:rds/instance:Instance"
_REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"

# type -> top-level (or dotted) property paths that force a replacement when anything under them changes.
REPLACE_ON_CHANGE: dict[str, tuple[Path, ...]] = {
    # rds/instance.go
    _RDS: (("availabilityZone",), ("characterSetName",), ("customIamInstanceProfile",), ("dbName",),
           ("engine",), ("identifier",), ("identifierPrefix",), ("kmsKeyId",), ("ncharCharacterSetName",),
           ("restoreToPointInTime",), ("s3Import",), ("snapshotIdentifier",), ("storageEncrypted",),
           ("timezone",), ("username",)),
    # rds/parameter_group.go
    "aws:rds/parameterGroup:ParameterGroup": (("description",), ("family",), ("name",), ("namePrefix",)),
    # rds/subnet_group.go
    "aws:rds/subnetGroup:SubnetGroup": (("name",), ("namePrefix",)),
    # ec2/vpc_security_group.go
    "aws:ec2/securityGroup:SecurityGroup": (("description",), ("name",), ("namePrefix",), ("vpcId",)),
    # elasticache/replication_group.go (engine, engineVersion, transitEncryptionEnabled: see _CONDITIONAL)
    _REDIS: (("atRestEncryptionEnabled",), ("dataTieringEnabled",), ("globalReplicationGroupId",),
             ("kmsKeyId",), ("networkType",), ("port",), ("replicationGroupId",), ("securityGroupNames",),
             ("snapshotArns",), ("snapshotName",), ("subnetGroupName",)),
    # elasticache/parameter_group.go
    "aws:elasticache/parameterGroup:ParameterGroup": (("description",), ("family",), ("name",)),
    # elasticache/subnet_group.go
    "aws:elasticache/subnetGroup:SubnetGroup": (("name",),),
    # route53/health_check.go; the API agrees: UpdateHealthCheck (botocore's route53 model) has no Type,
    # RequestInterval, MeasureLatency or RoutingControlArn member, so a new interval is a new health check.
    "aws:route53/healthCheck:HealthCheck": (("measureLatency",), ("referenceName",), ("requestInterval",),
                                            ("routingControlArn",), ("type",)),
    # route53/record.go: a record is identified by its zone and name (a changed type, set identifier or
    # routing policy is an update: the provider deletes and creates the record set in one change batch).
    "aws:route53/record:Record": (("name",), ("zoneId",)),
    # cloudwatch/metric_alarm.go
    "aws:cloudwatch/metricAlarm:MetricAlarm": (("name",),),
    # sns/topic.go
    "aws:sns/topic:Topic": (("fifoTopic",), ("name",), ("namePrefix",)),
    # sns/topic_subscription.go
    "aws:sns/topicSubscription:TopicSubscription": (("endpoint",), ("protocol",), ("topic",)),
    # kms/key.go
    "aws:kms/key:Key": (("customKeyStoreId",), ("customerMasterKeySpec",), ("keyUsage",), ("multiRegion",),
                        ("xksKeyId",)),
    # diff.go `deployment` / `daemonset` / `statefulSet` / `job` (each with labelSelectorForceNewProperties,
    # which only names paths under .spec.selector).
    "kubernetes:apps/v1:Deployment": (("spec", "selector"),),
    "kubernetes:apps/v1:DaemonSet": (("spec", "selector"),),
    "kubernetes:apps/v1:StatefulSet": (("spec", "podManagementPolicy"), ("spec", "revisionHistoryLimit"),
                                       ("spec", "selector"), ("spec", "serviceName"),
                                       ("spec", "volumeClaimTemplates")),
    "kubernetes:batch/v1:Job": (("spec", "completions"), ("spec", "parallelism"), ("spec", "selector"),
                                ("spec", "template")),
    # diff.go `core`: "Service". Namespace, ServiceAccount, HorizontalPodAutoscaler, networking/v1
    # NetworkPolicy and policy/v1 PodDisruptionBudget have no list of their own (the PDB's `.spec` rule is for
    # policy/v1beta1 only): only their identity replaces.
    "kubernetes:core/v1:Service": (("spec", "clusterIP"),),
    # diff.go `forceNewProperties`: a ConfigMap's or Secret's content is immutable unless the Kubernetes
    # provider sets enableConfigMapMutable / enableSecretMutable, which the program's provider (stack.py) does
    # not; tests/test_diff_replacements.py fails if it starts to.
    "kubernetes:core/v1:ConfigMap": (("binaryData",), ("data",)),
    "kubernetes:core/v1:Secret": (("type",), ("stringData",), ("data",)),
}
# diff.go `metadataForceNewProperties`: Kubernetes objects are identified by name and namespace.
_K8S_IDENTITY: tuple[Path, ...] = (("metadata", "name"), ("metadata", "namespace"))

# Whether a change from the `before` inputs to the `after` inputs replaces the resource.
Condition = Callable[[dict[str, Any], dict[str, Any]], bool]


def _engine_change_is_not_redis_to_valkey(before: dict[str, Any], after: dict[str, Any]) -> bool:
    # customizeDiffEngineForceNewOnDowngrade: any engine change but redis -> valkey, and none in a global
    # replication group.
    if after.get("globalReplicationGroupId"):
        return False
    return not (before.get("engine") == "redis" and after.get("engine") == "valkey")


def _engine_version_downgrade(before: dict[str, Any], after: dict[str, Any]) -> bool:
    # customizeDiffEngineVersionForceNewOnDowngrade; versions not comparable offline ("7.x") are not flagged.
    old, new = version_numbers(before.get("engineVersion")), version_numbers(after.get("engineVersion"))
    return old is not None and new is not None and new < old


def _transit_encryption_fixed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    # ForceNewIf("transit_encryption_enabled"): before Redis 7.0.5 it is set only when the group is created.
    running = version_numbers(before.get("engineVersion"))
    return running is not None and running < (7, 0, 5)


# Rules that replace only in some cases: (path, condition, how the reason reads).
_CONDITIONAL: dict[str, tuple[tuple[Path, Condition, str], ...]] = {
    _REDIS: ((("engine",), _engine_change_is_not_redis_to_valkey, "engine (other than redis → valkey)"),
             (("engineVersion",), _engine_version_downgrade, "engineVersion (downgrade)"),
             (("transitEncryptionEnabled",), _transit_encryption_fixed,
              "transitEncryptionEnabled (engine < 7.0.5)")),
}


def replace_reason(
    resource_type: str, path: Path, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    """Why a change at `path` replaces the resource (the property that forces it), or None for an update."""
    rules = REPLACE_ON_CHANGE.get(resource_type, ())
    if resource_type.startswith("kubernetes:"):
        rules = (*rules, *_K8S_IDENTITY)
    for rule in rules:
        if path[: len(rule)] == rule:
            return _dotted(rule)
    for rule, applies, reason in _CONDITIONAL.get(resource_type, ()):
        if path[: len(rule)] == rule and applies(before, after):
            return reason
    return None


def version_numbers(version: Any) -> tuple[int, ...] | None:
    """`"16.4"` -> `(16, 4)`; None for anything that is not dotted numbers (`"7.x"`, unknown, absent)."""
    if not isinstance(version, str):
        return None
    parts = version.split(".")
    if not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)
