"""container-capabilities-dropped: every container drops ALL Linux capabilities and adds back none."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_list, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """capabilities.drop holds ALL; capabilities.add holds only what the config allows."""
    allowed = set(config["allowedAdd"])
    for container in containers(resource.type, resource.props):
        path = f"{container.path}.securityContext.capabilities"
        dropped = lookup(container.spec, "securityContext.capabilities.drop")
        names = [str(item) for item in dropped] if is_list(dropped) else []
        if "ALL" not in names:
            yield Violation(
                f"container {show(container.name)} drops {', '.join(names) or 'no capabilities'}, not ALL: "
                "it keeps the runtime's defaults (NET_RAW, CHOWN, SETUID...); drop ALL",
                f"{path}.drop",
                names or None,
            )
        added = lookup(container.spec, "securityContext.capabilities.add")
        extra = sorted(str(item) for item in (added if is_list(added) else ()) if str(item) not in allowed)
        if extra:
            yield Violation(
                f"container {show(container.name)} adds {', '.join(extra)}; allowed: "
                f"{', '.join(sorted(allowed)) or 'none'}",
                f"{path}.add",
                extra,
            )


POLICY = PolicyDefinition(
    id="container-capabilities-dropped",
    description="Containers drop ALL capabilities and add none back (Pod Security Standards restricted).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set securityContext.capabilities.drop: [ALL] on every container; bind a low port with the "
    "pod's net.ipv4.ip_unprivileged_port_start sysctl instead of NET_BIND_SERVICE.",
    config_schema={
        "allowedAdd": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Capabilities a container may add back (restricted allows NET_BIND_SERVICE).",
        },
    },
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security", "pod-security"),
)
