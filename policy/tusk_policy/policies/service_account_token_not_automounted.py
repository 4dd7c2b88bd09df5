"""service-account-token-not-automounted: pods get no Kubernetes API token unless they declare a need."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, pod_spec
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """automountServiceAccountToken is false on the pod; true passes only as a declaration: set explicitly,
    with a service account of the workload's own (never `default`, which every pod shares)."""
    found = pod_spec(resource.type, resource.props)
    if found is None:
        return
    pod_path, pod = found
    mounted = pod.get("automountServiceAccountToken")
    account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
    if mounted is False:
        return
    if mounted is True and account != "default":
        return  # declared: this workload's own account, and it asks for the token on purpose
    why = (
        "is not set, so Kubernetes mounts the token by default"
        if mounted is None
        else f"is true with the {show(account)} service account every pod shares"
    )
    yield Violation(
        f"automountServiceAccountToken {why}: anyone who gets into the pod can call the Kubernetes API; set "
        "automountServiceAccountToken: false (IRSA needs no API token), or true with a service account of "
        "the workload's own if it calls the API",
        f"{pod_path}.automountServiceAccountToken",
        mounted,
    )


POLICY = PolicyDefinition(
    id="service-account-token-not-automounted",
    description="Pods do not mount a Kubernetes API token unless they declare they need one.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Set automountServiceAccountToken: false on the pod spec (and give the app its own "
    "ServiceAccount); a workload that calls the API sets it true with its own account.",
    config_schema={},
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security"),
)
