"""image-tag-pinned: container images name a fixed tag or digest, never `latest` or nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

from tusk_policy.kube import WORKLOAD_TYPES, containers
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import show

# A digest reference: repository[:tag]@sha256:<64 lowercase hex>, as the OCI distribution spec writes it.
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def image_tag(image: str) -> str | None:
    """The tag of an image reference, None when it has none ("registry:5000/app" has no tag)."""
    if "@" in image:
        return None
    last_segment = image.rsplit("/", 1)[-1]
    return last_segment.split(":", 1)[1] if ":" in last_segment else None


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """Each container's image is pinned by digest or by a tag that is not a moving one."""
    forbidden = set(config["forbiddenTags"])
    for container in containers(resource.type, resource.props):
        image = container.spec.get("image")
        path = f"{container.path}.image"
        if not isinstance(image, str) or not image:
            yield Violation(f"container {show(container.name)} has no image", path, image)
            continue
        if _DIGEST.search(image):
            continue
        if "@" in image:
            yield Violation(
                f"container {show(container.name)} image {show(image)} has a malformed digest: expected "
                "@sha256: and 64 lowercase hex digits (the stack's tusk-infra:imageDigest)",
                path,
                image,
            )
            continue
        tag = image_tag(image)
        if tag is None or tag in forbidden:
            why = (
                "has no tag (Kubernetes pulls `latest`)"
                if tag is None
                else f"uses the moving tag {show(tag)}"
            )
            yield Violation(
                f"container {show(container.name)} image {show(image)} {why}: pods started by a "
                "scale-up could run different code than the rest; pin a release tag (the stack's "
                "tusk-infra:imageTag) or a digest",
                path,
                image,
            )


POLICY = PolicyDefinition(
    id="image-tag-pinned",
    description="Container images are pinned to a release tag or digest (no `latest`, no missing tag).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set the stack's tusk-infra:imageTag to a release version, or reference the image by digest.",
    config_schema={
        "forbiddenTags": {
            "type": "array",
            "items": {"type": "string"},
            "default": ["latest"],
            "description": "Tags that move and so do not pin anything.",
        },
    },
    resource_types=WORKLOAD_TYPES,
    validate_resource=validate,
    tags=("kubernetes", "security", "supply-chain"),
)
