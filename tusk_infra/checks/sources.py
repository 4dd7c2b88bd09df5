"""Tracing an offending property back to the line a user edits: a global.tsk expression (through the settings
document's provenance) or a key of the stack's Pulumi.<stack>.yaml."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tusk_infra.checks.findings import SourceLocation
from tusk_infra.checks.stack_file import IMAGE_TAG_KEY, REGION_KEY, StackPolicySettings

# Property-path suffix (resource input, camelCase) -> the settings paths the program builds it from.
# Several candidates are told apart by value (an HPA's cpu and memory targets share a property name).
SETTINGS_SOURCES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("spec.maxReplicas", ("scaling.autoscaler.max_replicas",)),
    ("spec.minReplicas", ("scaling.autoscaler.min_replicas",)),
    (
        "target.averageUtilization",
        ("scaling.autoscaler.cpu_utilization", "scaling.autoscaler.memory_utilization"),
    ),
    ("spec.metrics", ("scaling.autoscaler.cpu_utilization",)),
    ("scaleDown.stabilizationWindowSeconds", ("scaling.autoscaler.scale_down.stabilization_seconds",)),
    ("scaleUp.policies.0.value", ("scaling.autoscaler.scale_up.percent",)),
    ("spec.behavior", ("scaling.autoscaler",)),
    ("spec.minAvailable", ("scaling.disruption_budget.min_available",)),
    ("spec.maxUnavailable", ("scaling.disruption_budget",)),
    ("db-pool-max-open-conns", ("database.primary.pool.max_open_conns",)),
    ("parameterGroupName", ("database.max_connections",)),
    ("numNodeGroups", ("distributed_cache.redis_cluster.shards",)),
    ("replicasPerNodeGroup", ("distributed_cache.redis_cluster.replicas_per_shard",)),
    ("transitEncryptionEnabled", ("distributed_cache.redis_cluster.ssl",)),
    ("atRestEncryptionEnabled", ("distributed_cache.redis_cluster.at_rest_encryption",)),
    ("authToken", ("distributed_cache.redis_cluster.password",)),
    ("storageEncrypted", ()),
    ("multiAz", ("database.multi_az",)),
    ("backupRetentionPeriod", ("database.backup_retention_days",)),
    ("replicateSourceDb", ("database.replica_regions",)),
    ("livenessProbe", ("app.liveness",)),
    ("readinessProbe", ("app.readiness",)),
    ("minServingRegions", ("global_traffic.min_serving_regions",)),
    ("securityContext.runAsUser", ("app.security.run_as_user",)),
    ("securityContext.runAsGroup", ("app.security.run_as_group",)),
    ("securityContext.readOnlyRootFilesystem", ("app.security.read_only_root_filesystem",)),
    ("service.beta.kubernetes.io/aws-load-balancer-scheme", ("app.load_balancer.scheme",)),
)
STACK_SOURCES: tuple[tuple[str, str], ...] = (
    (".image", IMAGE_TAG_KEY),
    ("provider.region", REGION_KEY),
    ("region", REGION_KEY),
)
_RESOURCES = re.compile(r"resources\.(requests|limits)\.(cpu|memory)$")


def _candidates(path: str) -> tuple[str, ...]:
    match = _RESOURCES.search(path)
    if match:
        return (f"app.resources.{match[1]}.{match[2]}",)
    for suffix, settings_paths in SETTINGS_SOURCES:
        if path.endswith(suffix):
            return settings_paths
    return ()


def _setting(data: Any, dotted: str) -> tuple[bool, Any]:
    current = data
    for key in dotted.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return False, None
        current = current[key]
    return True, current


def _same(found: object, setting: object) -> bool:
    """Whether the value on the resource is the setting's value (numbers compared as numbers: the engine
    sends floats, annotations carry strings)."""
    if found is None or isinstance(setting, Mapping | list):
        return True
    try:
        return float(str(found)) == float(str(setting))
    except ValueError:
        return str(found).lower() == str(setting).lower()


def settings_source(document: Any, path: str, found: object) -> SourceLocation | None:
    """The global.tsk expression that produced the value at this resource property, when one did."""
    data = getattr(document, "data", None)
    if data is None:
        return None
    for dotted in _candidates(path):
        present, value = _setting(data, dotted)
        if present and _same(found, value):
            provenance = document.provenance(tuple(dotted.split(".")))
            follow = getattr(document, "reference_chain", None)
            chain = follow(tuple(dotted.split("."))) if follow is not None else ()
            if chain:
                # A bare reference: point at where the value is written, and say how it is reached.
                written = chain[-1]
                via = " ← ".join([provenance.source, *(step.source for step in chain[:-1])])
                return SourceLocation(written.file, written.line, written.column,
                                      f"{written.source}  (via {via})", dotted)
            return SourceLocation(
                provenance.file, provenance.line, provenance.column, provenance.source, dotted
            )
    return None


def stack_source(settings: StackPolicySettings, path: str) -> SourceLocation | None:
    """The Pulumi.<stack>.yaml key that produced the value, for values that belong to the stack."""
    for suffix, key in STACK_SOURCES:
        node = settings.get(key)
        if path.endswith(suffix) and node is not None:
            # The value as written: the report puts the key before it (`key = value`) itself.
            return SourceLocation(node.file, node.line, node.column, str(node.value), key)
    return None


def source_of(
    document: Any, settings: StackPolicySettings, path: str, found: object
) -> SourceLocation | None:
    """Where the offending value was written, global.tsk first."""
    return settings_source(document, path, found) or stack_source(settings, path)
