"""container-probes: every app container has a liveness and a readiness probe."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_mapping, show

_PROBES = {
    "livenessProbe": ("requireLiveness", "a hung process is never restarted", "app.liveness"),
    "readinessProbe": (
        "requireReadiness",
        "new pods get traffic before they can serve it, so every scale-up starts with errors",
        "app.readiness",
    ),
}


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Each (non-init) container declares the probes the configuration requires."""
    for container in containers(resource.type, resource.props, init=False):
        for probe, (switch, why, setting) in _PROBES.items():
            if config[switch] and not is_mapping(container.spec.get(probe)):
                yield Violation(
                    f"container {show(container.name)} has no {probe}: {why}; set {setting} in global.tsk",
                    f"{container.path}.{probe}",
                    None,
                )


POLICY = PolicyDefinition(
    id="container-probes",
    description="Containers declare liveness and readiness probes.",
    enforcement=Enforcement.ADVISORY,
    severity="low",
    remediation=(
        "Set app.liveness and app.readiness (path, initial_delay_seconds, period_seconds) in global.tsk."
    ),
    config_schema={
        "requireLiveness": {"type": "boolean", "default": True},
        "requireReadiness": {"type": "boolean", "default": True},
    },
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "reliability"),
)
