"""rds-deletion-protection: RDS instances cannot be deleted by a stray `pulumi destroy`."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_true, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """deletionProtection is true."""
    protected = lookup(resource.props, "deletionProtection")
    if not is_true(protected):
        yield Violation(
            f"deletionProtection is {show(protected)}: a replacement or `pulumi destroy` would delete "
            "the database outright; set deletion_protection=True",
            "deletionProtection",
            protected,
        )


POLICY = PolicyDefinition(
    id="rds-deletion-protection",
    description="RDS instances have deletion protection enabled.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Set deletion_protection=True on the instance (turn it off deliberately before a planned delete)."
    ),
    config_schema={},
    resource_types=frozenset({RDS_INSTANCE}),
    validate_resource=validate,
    tags=("aws", "rds", "data-protection"),
)
