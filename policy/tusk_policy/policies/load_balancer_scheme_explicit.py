"""load-balancer-scheme-explicit: a LoadBalancer Service says whether it faces the internet."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import SERVICE
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, mapping_at, show

SCHEME_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-scheme"


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """type: LoadBalancer carries the AWS Load Balancer Controller's scheme annotation, an allowed one."""
    if lookup(resource.props, "spec.type") != "LoadBalancer":
        return
    allowed = [str(scheme) for scheme in config["allowedSchemes"]]
    scheme = mapping_at(resource.props, "metadata.annotations").get(SCHEME_ANNOTATION)
    if scheme in allowed:
        return
    found = "no scheme annotation" if scheme is None else f"scheme {show(scheme)}"
    yield Violation(
        f"LoadBalancer Service with {found}: on EKS an unannotated one becomes a public Classic Load "
        f"Balancer by accident; set {SCHEME_ANNOTATION} to {' or '.join(allowed)} "
        "(app.load_balancer.scheme in global.tsk)",
        f"metadata.annotations.{SCHEME_ANNOTATION}",
        scheme,
    )


POLICY = PolicyDefinition(
    id="load-balancer-scheme-explicit",
    description="LoadBalancer Services state their scheme (internet-facing or internal) explicitly.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set app.load_balancer.scheme in global.tsk (internet-facing or internal).",
    config_schema={
        "allowedSchemes": {
            "type": "array",
            "items": {"type": "string", "enum": ["internet-facing", "internal"]},
            "default": ["internet-facing", "internal"],
            "description": "Schemes a stack may use (e.g. only internal for a private region).",
        },
    },
    resource_types=frozenset({SERVICE}),
    validate_resource=validate,
    tags=("kubernetes", "security", "network"),
)
