"""What several Kubernetes policies need: workload pod templates, containers, HPA targets, label selectors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tusk_policy.props import is_list, is_mapping, lookup, mapping_at

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
HPA_V2 = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
HPA_V1 = "kubernetes:autoscaling/v1:HorizontalPodAutoscaler"
HPA_TYPES = frozenset({HPA_V2, HPA_V1})
PDB_TYPES = frozenset({"kubernetes:policy/v1:PodDisruptionBudget"})
REGION_LABEL = "topology.kubernetes.io/region"

# Where each workload kind keeps its pod spec.
POD_SPEC_PATHS: dict[str, str] = {
    DEPLOYMENT: "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:apps/v1:ReplicaSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
    "kubernetes:core/v1:Pod": "spec",
}
WORKLOAD_TYPES = frozenset(POD_SPEC_PATHS)


@dataclass(frozen=True)
class Container:
    """One container of a pod template and the dotted path it sits at."""

    path: str
    name: str
    spec: Mapping[str, Any]


def containers(resource_type: str, props: Mapping[str, Any], *, init: bool = True) -> Iterator[Container]:
    """Every container (and init container) of a workload's pod template."""
    pod_path = POD_SPEC_PATHS.get(resource_type)
    if pod_path is None:
        return
    fields = ("containers", "initContainers") if init else ("containers",)
    for field_name in fields:
        listed = lookup(props, f"{pod_path}.{field_name}")
        if not is_list(listed):
            continue
        for index, spec in enumerate(listed):
            if is_mapping(spec):
                yield Container(f"{pod_path}.{field_name}.{index}", str(spec.get("name", index)), spec)


def name_of(props: Mapping[str, Any]) -> str | None:
    """metadata.name, when the program sets it."""
    name = lookup(props, "metadata.name")
    return name if isinstance(name, str) else None


def namespace_of(props: Mapping[str, Any]) -> str:
    """metadata.namespace; Kubernetes puts an object without one in "default"."""
    namespace = lookup(props, "metadata.namespace")
    return namespace if isinstance(namespace, str) and namespace else "default"


def labels_of(props: Mapping[str, Any], path: str = "metadata.labels") -> dict[str, str]:
    """A label map as plain strings."""
    return {str(key): str(value) for key, value in mapping_at(props, path).items()}


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics: matchLabels and matchExpressions all hold; empty selects nothing
    here, since a PDB with an empty selector is a mistake rather than a match-all we should reason about."""
    match_labels = mapping_at(selector, "matchLabels")
    expressions = lookup(selector, "matchExpressions")
    if not match_labels and not is_list(expressions):
        return False
    if any(labels.get(str(key)) != str(value) for key, value in match_labels.items()):
        return False
    return all(_expression_holds(expr, labels) for expr in (expressions if is_list(expressions) else ()))


def _expression_holds(expression: Any, labels: Mapping[str, str]) -> bool:
    if not is_mapping(expression):
        return False
    key, operator = str(expression.get("key", "")), expression.get("operator")
    values = [str(v) for v in expression.get("values") or ()]
    if operator == "In":
        return labels.get(key) in values
    if operator == "NotIn":
        return labels.get(key) not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    return False


@dataclass(frozen=True)
class Workload:
    """A Deployment as stack policies see it: identity, namespace, and the labels its pods carry."""

    urn: str
    name: str
    namespace: str
    pod_labels: Mapping[str, str]
    props: Mapping[str, Any]


def hpa_target(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """(apiVersion, kind, name) of an HPA's scaleTargetRef, with empty strings where unset."""
    ref = mapping_at(props, "spec.scaleTargetRef")
    return (str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""), str(ref.get("name") or ""))


def deployments(resources: Sequence[Any]) -> list[Workload]:
    """Every Deployment of the stack whose name is known."""
    found = []
    for resource in resources:
        if resource.type != DEPLOYMENT:
            continue
        name = name_of(resource.props)
        if name is not None:
            pod_labels = labels_of(resource.props, "spec.template.metadata.labels")
            found.append(
                Workload(resource.urn, name, namespace_of(resource.props), pod_labels, resource.props)
            )
    return found


def stack_of(urn: str) -> str:
    """The stack a URN belongs to ("urn:pulumi:us-east-1::tusk-infra::..." -> "us-east-1"), else ""."""
    if not urn.startswith("urn:pulumi:"):
        return ""
    return urn[len("urn:pulumi:") :].split("::", 1)[0]


def targeted_deployment(hpa: Any, candidates: Sequence[Workload]) -> Workload | None:
    """The Deployment an HPA scales, if it is in the same stack and namespace.

    Resources of several stacks may be checked together (a cross-region budget), so the stack is compared
    too whenever both URNs name one."""
    api_version, kind, name = hpa_target(hpa.props)
    if kind != "Deployment" or api_version not in ("", "apps/v1"):
        return None
    namespace, stack = namespace_of(hpa.props), stack_of(hpa.urn)
    for workload in candidates:
        same_stack = not stack or not stack_of(workload.urn) or stack_of(workload.urn) == stack
        if workload.name == name and workload.namespace == namespace and same_stack:
            return workload
    return None


NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE = "kubernetes:core/v1:Service"


def pod_spec(resource_type: str, props: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The dotted path and the pod spec of a workload (None for other kinds or when it has none)."""
    pod_path = POD_SPEC_PATHS.get(resource_type)
    if pod_path is None:
        return None
    spec = lookup(props, pod_path)
    return (pod_path, spec) if is_mapping(spec) else None


def security_setting(pod: Mapping[str, Any], container: Container, key: str) -> tuple[str, Any]:
    """A securityContext field as Kubernetes applies it: the container's own, else the pod's; with the
    path of the one in force (the container's path when neither sets it)."""
    own = mapping_at(container.spec, "securityContext")
    if own.get(key) is not None:
        return f"{container.path}.securityContext.{key}", own[key]
    pod_level = mapping_at(pod, "securityContext")
    if pod_level.get(key) is not None:
        pod_path = container.path.rsplit(".", 2)[0]
        return f"{pod_path}.securityContext.{key}", pod_level[key]
    return f"{container.path}.securityContext.{key}", None
