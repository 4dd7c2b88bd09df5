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


_METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# A metric-math alarm (metricQueries) has none of a single-metric alarm's own metric inputs.
_SINGLE_METRIC = frozenset({"namespace", "metricName", "dimensions", "statistic", "period"})
_QUERY_METRIC = ("namespace", "metricName", "stat", "period")


def metric_query_paths(inputs: dict[str, Any]) -> list[str]:
    """A metric-math alarm's queries as a reviewer reads them: the metric once (from the first metric query;
    on a later one only what differs), each metric query's label and dimensions (which node), and each
    expression with its label; returnData only where it is not evident (a metric query returned directly,
    or one of several expressions)."""
    queries = inputs.get("metricQueries")
    if not isinstance(queries, list):
        return []
    expressions = sum(1 for query in queries if isinstance(query, dict) and "expression" in query)
    paths: list[str] = []
    first: dict[str, Any] | None = None
    for index, query in enumerate(queries):
        if not isinstance(query, dict):
            continue
        at = f"metricQueries[{index}]"
        metric = query.get("metric")
        if isinstance(metric, dict):
            shown = [name for name in _QUERY_METRIC if first is None or metric.get(name) != first.get(name)]
            first = first or metric
            paths += [f"{at}.metric.{name}" for name in shown]
            paths += [f"{at}.label", f"{at}.metric.dimensions"]
        else:
            paths += [f"{at}.expression", f"{at}.label"]
        if query.get("returnData") is True and (isinstance(metric, dict) or expressions > 1):
            paths.append(f"{at}.returnData")
    return paths


def _paths(resource_type: str, inputs: dict[str, Any]) -> tuple[str, ...] | None:
    paths = KEY_INPUTS.get(resource_type)
    if resource_type != _METRIC_ALARM or paths is None or not isinstance(inputs.get("metricQueries"), list):
        return paths
    at = paths.index("namespace")
    rest = tuple(path for path in paths[at:] if path not in _SINGLE_METRIC)
    return (*paths[:at], *metric_query_paths(inputs), *rest)


def key_inputs(resource_type: str, inputs: dict[str, Any]) -> list[tuple[str, Any]]:
    """(dotted path, value) pairs to show for a resource, in the table's order."""
    paths = _paths(resource_type, inputs)
    if paths is None:
        return [(key, value) for key, value in sorted(inputs.items()) if not isinstance(value, dict | list)]
    shown = [(path, lookup(inputs, parse_path(path))) for path in paths]
    return [(path, value) for path, value in shown if value is not _MISSING]
