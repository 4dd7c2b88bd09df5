"""pod-seccomp-runtime-default: every container runs under the runtime's default seccomp profile."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers, pod_spec, security_setting
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_mapping, show

_CONFINED = ("RuntimeDefault", "Localhost")


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """seccompProfile.type is RuntimeDefault (or Localhost) for each container: its own, else the pod's."""
    found = pod_spec(resource.type, resource.props)
    if found is None:
        return
    _, pod = found
    for container in containers(resource.type, resource.props):
        path, profile = security_setting(pod, container, "seccompProfile")
        kind = profile.get("type") if is_mapping(profile) else None
        if kind not in _CONFINED:
            yield Violation(
                f"container {show(container.name)} has seccomp profile {show(kind)}: every system call of "
                "the kernel is open to it; set the pod's securityContext.seccompProfile.type: RuntimeDefault",
                f"{path}.type",
                kind,
            )


POLICY = PolicyDefinition(
    id="pod-seccomp-runtime-default",
    description="Pods run under the RuntimeDefault (or a Localhost) seccomp profile, never Unconfined.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Set spec.template.spec.securityContext.seccompProfile: {type: RuntimeDefault}.",
    config_schema={},
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security", "pod-security"),
)
