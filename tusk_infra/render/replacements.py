"""Properties whose change makes the provider replace the resource instead of updating it in place.

A small, deliberate table (the ones reviewers most need warned about), not the providers' full schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tusk_infra.render.plain import Path

_RDS = "aws:rds/instance:Instance"
_REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"

# type -> top-level (or dotted) property paths that force a replacement when anything under them changes.
REPLACE_ON_CHANGE: dict[str, tuple[Path, ...]] = {
    _RDS: (("engine",), ("identifier",), ("identifierPrefix",), ("storageEncrypted",), ("kmsKeyId",),
           ("dbName",), ("username",)),
    _REDIS: (("clusterMode",), ("engine",), ("atRestEncryptionEnabled",), ("subnetGroupName",)),
    "kubernetes:apps/v1:Deployment": (("spec", "selector"),),
    "kubernetes:apps/v1:StatefulSet": (("spec", "selector"),),
    "kubernetes:apps/v1:DaemonSet": (("spec", "selector"),),
    "kubernetes:batch/v1:Job": (("spec", "selector"),),
}
# Kubernetes objects are identified by name and namespace: changing either creates a new object.
_K8S_IDENTITY: tuple[Path, ...] = (("metadata", "name"), ("metadata", "namespace"))


def _redis_cluster_mode(inputs: dict[str, Any]) -> bool:
    mode = inputs.get("clusterMode")
    if isinstance(mode, str):
        return mode.lower() == "enabled"
    groups = inputs.get("numNodeGroups")
    return isinstance(groups, int) and groups > 1


# Conditional rules: the node type of a group with one shard (no cluster mode) is not resized in place.
_CONDITIONAL: dict[str, tuple[tuple[Path, Callable[[dict[str, Any]], bool]], ...]] = {
    _REDIS: ((("nodeType",), lambda inputs: not _redis_cluster_mode(inputs)),),
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
    for rule, applies in _CONDITIONAL.get(resource_type, ()):
        if path[: len(rule)] == rule and applies(before) and applies(after):
            return f"{_dotted(rule)} (non-cluster group)"
    return None


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path)
