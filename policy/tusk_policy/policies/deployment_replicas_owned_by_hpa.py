"""deployment-replicas-owned-by-hpa: a Deployment an HPA scales leaves spec.replicas to the HPA."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.kube import HPA_TYPES, deployments, targeted_deployment
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, show


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """No HPA-targeted Deployment pins spec.replicas (every `pulumi up` would undo the autoscaler)."""
    candidates = deployments(resources)
    reported: set[str] = set()
    for hpa in (r for r in resources if r.type in HPA_TYPES):
        target = targeted_deployment(hpa, candidates)
        if target is None or target.urn in reported:
            continue
        replicas = lookup(target.props, "spec.replicas")
        if replicas is not None:
            reported.add(target.urn)
            yield Violation(
                f"Deployment {target.namespace}/{target.name} sets spec.replicas to {show(replicas)} while "
                f"HorizontalPodAutoscaler {hpa.name or hpa.urn} scales it: each `pulumi up` would reset the "
                "replica count the autoscaler chose; remove spec.replicas from the Deployment",
                "spec.replicas",
                replicas,
                urn=target.urn,
            )


POLICY = PolicyDefinition(
    id="deployment-replicas-owned-by-hpa",
    description="Deployments scaled by a HorizontalPodAutoscaler do not set spec.replicas.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Leave spec.replicas unset on the Deployment; the HPA's minReplicas sets the starting size.",
    config_schema={},
    validate_stack=validate,
    tags=("scaling", "kubernetes"),
)
