"""hpa-target-exists: an HPA's scaleTargetRef names a Deployment of the same stack and namespace."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.kube import HPA_TYPES, deployments, hpa_target, namespace_of, targeted_deployment
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import show


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Every HPA's target resolves to a Deployment registered in this stack, in the HPA's namespace."""
    candidates = deployments(resources)
    for hpa in (r for r in resources if r.type in HPA_TYPES):
        if targeted_deployment(hpa, candidates) is not None:
            continue
        api_version, kind, name = hpa_target(hpa.props)
        namespace = namespace_of(hpa.props)
        known = sorted(f"{w.namespace}/{w.name}" for w in candidates) or ["none"]
        yield Violation(
            f"scaleTargetRef is {kind or '?'} {show(name or None)} ({api_version or 'no apiVersion'}) in "
            f"namespace {show(namespace)}, but this stack has no such apps/v1 Deployment (Deployments: "
            f"{', '.join(known)}); point the autoscaler at the app's Deployment in the same namespace",
            "spec.scaleTargetRef.name",
            name or None,
            urn=hpa.urn,
        )


POLICY = PolicyDefinition(
    id="hpa-target-exists",
    description="Every HorizontalPodAutoscaler scales a Deployment of the same stack and namespace.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Create the HPA with scaleTargetRef {apiVersion: apps/v1, kind: Deployment, name: <the app's "
    "Deployment>} in the Deployment's namespace.",
    config_schema={},
    validate_stack=validate,
    tags=("scaling", "kubernetes"),
)
