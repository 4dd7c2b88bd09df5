"""rds-not-public: RDS instances are never reachable from the internet."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """publiclyAccessible is not true (unset means private)."""
    public = lookup(resource.props, "publiclyAccessible")
    if public is True:
        yield Violation(
            "publiclyAccessible is true: the database gets a public DNS name and IP; set "
            "publicly_accessible=False and reach it from the app's VPC",
            "publiclyAccessible",
            public,
        )


POLICY = PolicyDefinition(
    id="rds-not-public",
    description="RDS instances are not publicly accessible.",
    enforcement=Enforcement.MANDATORY,
    severity="critical",
    remediation="Set publicly_accessible=False on the instance.",
    config_schema={},
    resource_types=frozenset({RDS_INSTANCE}),
    validate_resource=validate,
    tags=("aws", "rds", "security", "network"),
)
