"""pdb-below-hpa-min: a PodDisruptionBudget lets at least one pod go when the HPA sits at its minimum."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from tusk_policy.kube import (
    HPA_TYPES,
    PDB_TYPES,
    Workload,
    deployments,
    namespace_of,
    selector_matches,
    targeted_deployment,
)
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, mapping_at, number, show


def _pods_required(raw: object, replicas: float) -> float | None:
    """minAvailable as a pod count at this replica count ("50%" rounds up, as the eviction API does)."""
    if isinstance(raw, str) and raw.endswith("%"):
        percent = number(float(raw[:-1])) if raw[:-1].replace(".", "", 1).isdigit() else None
        return None if percent is None else float(math.ceil(percent * replicas / 100))
    return number(raw)


def _covers(pdb: Resource, workload: Workload) -> bool:
    return namespace_of(pdb.props) == workload.namespace and selector_matches(
        mapping_at(pdb.props, "spec.selector"), workload.pod_labels
    )


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """For each HPA-scaled Deployment, every PDB covering its pods keeps minAvailable below minReplicas."""
    candidates = deployments(resources)
    pdbs = [r for r in resources if r.type in PDB_TYPES]
    for hpa in (r for r in resources if r.type in HPA_TYPES):
        target = targeted_deployment(hpa, candidates)
        minimum = number(lookup(hpa.props, "spec.minReplicas"))
        if target is None or minimum is None:
            continue
        for pdb in (p for p in pdbs if _covers(p, target)):
            yield from _check(pdb, minimum, target)


def _check(pdb: Resource, minimum: float, target: Workload) -> Iterator[Violation]:
    min_available = lookup(pdb.props, "spec.minAvailable")
    max_unavailable = lookup(pdb.props, "spec.maxUnavailable")
    required = _pods_required(min_available, minimum) if min_available is not None else None
    if required is not None and required >= minimum:
        yield Violation(
            f"minAvailable is {show(min_available)} ({show(required)} pods) but the autoscaler's "
            "minReplicas for "
            f"{target.namespace}/{target.name} is {show(minimum)}: at the minimum no pod may be evicted, so "
            "node "
            f"drains hang; set disruption_budget.min_available to at most {show(minimum - 1)}",
            "spec.minAvailable",
            min_available,
            urn=pdb.urn,
        )
    if max_unavailable is not None and _pods_required(max_unavailable, minimum) == 0:
        yield Violation(
            f"maxUnavailable is {show(max_unavailable)}: no pod of {target.namespace}/{target.name} may "
            "ever be "
            "evicted, so node drains hang; allow at least 1 (or use minAvailable below minReplicas)",
            "spec.maxUnavailable",
            max_unavailable,
            urn=pdb.urn,
        )


POLICY = PolicyDefinition(
    id="pdb-below-hpa-min",
    description="PodDisruptionBudgets keep minAvailable below the HorizontalPodAutoscaler's minReplicas.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Set scaling.disruption_budget.min_available below scaling.autoscaler.min_replicas.",
    config_schema={},
    validate_stack=validate,
    tags=("scaling", "kubernetes"),
)
