"""pod-runs-as-non-root: every container runs as a non-root user with a high UID and GID."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers, pod_spec, security_setting
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import number, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """runAsNonRoot is true and runAsUser / runAsGroup are at least the minimum, for each container (its own
    securityContext, else the pod's)."""
    found = pod_spec(resource.type, resource.props)
    if found is None:
        return
    _, pod = found
    minimum = int(config["minimumId"])
    for container in containers(resource.type, resource.props):
        name = show(container.name)
        path, non_root = security_setting(pod, container, "runAsNonRoot")
        if non_root is not True:
            yield Violation(
                f"container {name} has runAsNonRoot {show(non_root)}: the image's user (root by default) "
                "runs it; set runAsNonRoot: true (app.security in global.tsk)",
                path,
                non_root,
            )
        for key, setting in (("runAsUser", "run_as_user"), ("runAsGroup", "run_as_group")):
            path, value = security_setting(pod, container, key)
            amount = number(value)
            if amount is None or amount < minimum:
                yield Violation(
                    f"container {name} has {key} {show(value)}, below {minimum}: a low id may be an account "
                    f"of the node's (0 is root); set app.security.{setting} >= {minimum} in global.tsk",
                    path,
                    value,
                )


POLICY = PolicyDefinition(
    id="pod-runs-as-non-root",
    description="Containers run as non-root with a high UID and GID (runAsNonRoot, runAsUser/runAsGroup).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set app.security.run_as_user and run_as_group (>= 10000) in global.tsk; the program sets "
    "runAsNonRoot: true.",
    config_schema={
        "minimumId": {
            "type": "integer",
            "minimum": 1,
            "default": 10000,
            "description": "The lowest runAsUser / runAsGroup accepted (checkov CKV_K8S_40 asks for 10000).",
        },
    },
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security", "pod-security"),
)
