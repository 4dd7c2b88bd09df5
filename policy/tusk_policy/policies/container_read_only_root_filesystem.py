"""container-read-only-root-filesystem: no container can write to its image's filesystem."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Each container (init containers too) sets securityContext.readOnlyRootFilesystem: true."""
    for container in containers(resource.type, resource.props):
        value = lookup(container.spec, "securityContext.readOnlyRootFilesystem")
        if value is not True:
            yield Violation(
                f"container {show(container.name)} has readOnlyRootFilesystem {show(value)}: an intruder "
                "can replace the image's binaries; set app.security.read_only_root_filesystem: true in "
                "global.tsk (the pod mounts an emptyDir at /tmp for scratch files)",
                f"{container.path}.securityContext.readOnlyRootFilesystem",
                value,
            )


POLICY = PolicyDefinition(
    id="container-read-only-root-filesystem",
    description="Containers run with a read-only root filesystem.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Set app.security.read_only_root_filesystem: true in global.tsk.",
    config_schema={},
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security", "pod-security"),
)
