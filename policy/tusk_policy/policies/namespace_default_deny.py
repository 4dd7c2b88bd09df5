"""namespace-default-deny: every namespace that runs workloads has a default-deny NetworkPolicy."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.kube import NETWORK_POLICY, WORKLOAD_TYPES, namespace_of, stack_of
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_list, is_mapping, lookup, mapping_at, show


def denies_all(props: object) -> bool:
    """A NetworkPolicy selecting every pod (empty podSelector), for Ingress and Egress, admitting nothing."""
    if not is_mapping(props):
        return False
    selector = lookup(props, "spec.podSelector")
    if not is_mapping(selector) or mapping_at(selector, "matchLabels") or selector.get("matchExpressions"):
        return False
    types = lookup(props, "spec.policyTypes")
    if not is_list(types) or not {"Ingress", "Egress"} <= {str(kind) for kind in types}:
        return False
    return all(not lookup(props, f"spec.{rules}") for rules in ("ingress", "egress"))


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """For each (stack, namespace) with a workload, a NetworkPolicy there that denies all by default."""
    denied = {
        (stack_of(r.urn), namespace_of(r.props))
        for r in resources
        if r.type == NETWORK_POLICY and denies_all(r.props)
    }
    reported: set[tuple[str, str]] = set()
    for workload in (r for r in resources if r.type in WORKLOAD_TYPES):
        key = (stack_of(workload.urn), namespace_of(workload.props))
        if key in denied or key in reported:
            continue
        reported.add(key)
        yield Violation(
            f"namespace {show(key[1])} runs workloads but has no default-deny NetworkPolicy "
            "(podSelector {}, policyTypes [Ingress, Egress], no rules): every pod there takes and sends any "
            "traffic; add one "
            "and admit the app's own flows with a second policy",
            "metadata.namespace",
            key[1],
            urn=workload.urn,
        )


POLICY = PolicyDefinition(
    id="namespace-default-deny",
    description="Every namespace with workloads has a default-deny NetworkPolicy (ingress and egress).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Create a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] in the "
    "namespace; allow the app's traffic in a policy of its own.",
    config_schema={},
    validate_stack=validate,
    tags=("kubernetes", "security", "network"),
)
