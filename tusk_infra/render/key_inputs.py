"""Which inputs of each resource type a reviewer wants to see in the preview tree."""

from __future__ import annotations

from typing import Any

from tusk_infra.render.plain import Path

# Dotted paths with list indices written as numbers. Types not listed show their top-level scalar inputs.
_K8S_META = ("metadata.namespace",)
KEY_INPUTS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "pulumi:providers:kubernetes": ("context", "namespace"),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "engine", "engineVersion", "nodeType", "clusterMode", "numNodeGroups", "replicasPerNodeGroup",
        "transitEncryptionEnabled", "atRestEncryptionEnabled", "authToken", "automaticFailoverEnabled",
        "multiAzEnabled", "snapshotRetentionLimit",
    ),
    "aws:elasticache/subnetGroup:SubnetGroup": ("subnetIds",),
    "aws:elasticache/parameterGroup:ParameterGroup": ("family", "parameters"),
    "aws:rds/instance:Instance": (
        "identifier", "engine", "engineVersion", "instanceClass", "allocatedStorage", "multiAz",
        "storageEncrypted", "kmsKeyId", "backupRetentionPeriod", "deletionProtection", "publiclyAccessible",
        "replicateSourceDb", "username", "password",
    ),
    "aws:rds/parameterGroup:ParameterGroup": ("family", "parameters"),
    "aws:rds/subnetGroup:SubnetGroup": ("subnetIds",),
    "aws:ec2/securityGroup:SecurityGroup": ("vpcId", "ingress", "egress"),
    "aws:kms/key:Key": ("description", "enableKeyRotation", "deletionWindowInDays"),
    "kubernetes:core/v1:Namespace": ("metadata.name", "metadata.labels"),
    "kubernetes:core/v1:ConfigMap": (*_K8S_META, "immutable", "data"),
    "kubernetes:core/v1:Secret": (*_K8S_META, "immutable", "stringData", "data"),
    "kubernetes:core/v1:ServiceAccount": (
        *_K8S_META, "metadata.name", "metadata.annotations", "automountServiceAccountToken",
    ),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": (
        *_K8S_META, "metadata.name", "spec.podSelector", "spec.policyTypes", "spec.ingress", "spec.egress",
    ),
    "aws:route53/healthCheck:HealthCheck": (
        "type", "fqdn", "port", "resourcePath", "requestInterval", "failureThreshold", "regions",
        "measureLatency",
    ),
    "aws:route53/record:Record": (
        "name", "type", "zoneId", "setIdentifier", "latencyRoutingPolicies", "weightedRoutingPolicies",
        "healthCheckId", "aliases", "ttl", "records",
    ),
    "aws:sns/topic:Topic": ("name",),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "protocol", "endpoint"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "name", "namespace", "metricName", "dimensions", "statistic", "comparisonOperator", "threshold",
        "period", "evaluationPeriods", "datapointsToAlarm", "alarmActions", "okActions",
    ),
    "kubernetes:apps/v1:Deployment": (
        *_K8S_META, "spec.selector.matchLabels", "spec.template.spec.containers[0].image",
        "spec.template.spec.containers[0].resources",
        "spec.template.spec.containers[0].livenessProbe.httpGet",
        "spec.template.spec.containers[0].readinessProbe.httpGet",
        "spec.template.spec.serviceAccountName", "spec.template.spec.automountServiceAccountToken",
        "spec.template.spec.securityContext", "spec.template.spec.containers[0].securityContext",
        "spec.template.spec.containers[0].envFrom",
    ),
    "kubernetes:core/v1:Service": (
        *_K8S_META, "metadata.annotations", "spec.type", "spec.externalTrafficPolicy", "spec.selector",
        "spec.ports",
    ),
    "kubernetes:policy/v1:PodDisruptionBudget": (*_K8S_META, "spec.minAvailable", "spec.maxUnavailable"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": (
        *_K8S_META, "spec.scaleTargetRef.name", "spec.minReplicas", "spec.maxReplicas", "spec.metrics",
        "spec.behavior",
    ),
}
_MISSING = object()


def parse_path(dotted: str) -> Path:
    """`spec.containers[0].image` -> ("spec", "containers", 0, "image")."""
    parts: list[str | int] = []
    for segment in dotted.split("."):
        name, *indices = segment.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index.rstrip("]")) for index in indices)
    return tuple(parts)


def lookup(inputs: Any, path: Path) -> Any:
    """The value at `path` inside `inputs`, or `_MISSING`."""
    value = inputs
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def key_inputs(resource_type: str, inputs: dict[str, Any]) -> list[tuple[str, Any]]:
    """(dotted path, value) pairs to show for a resource, in the table's order."""
    paths = KEY_INPUTS.get(resource_type)
    if paths is None:
        return [(key, value) for key, value in sorted(inputs.items()) if not isinstance(value, dict | list)]
    shown = [(path, lookup(inputs, parse_path(path))) for path in paths]
    return [(path, value) for path, value in shown if value is not _MISSING]
