"""elasticache-failover: Redis promotes a replica automatically, in another availability zone."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import REPLICATION_GROUP
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_true, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """automaticFailoverEnabled and multiAzEnabled are both true."""
    for path, consequence in (
        ("automaticFailoverEnabled", "a failed primary node stays failed until someone intervenes"),
        ("multiAzEnabled", "a zone outage can take a shard's primary and replicas down together"),
    ):
        value = lookup(resource.props, path)
        if not is_true(value):
            yield Violation(
                f"{path} is {show(value)}: {consequence}; enable it (it needs >= 1 replica per shard)",
                path,
                value,
            )


POLICY = PolicyDefinition(
    id="elasticache-failover",
    description="ElastiCache replication groups have automatic failover and multi-AZ enabled.",
    enforcement=Enforcement.ADVISORY,
    severity="medium",
    remediation=(
        "Set automatic_failover_enabled=True and multi_az_enabled=True (requires replicas, hence cost)."
    ),
    config_schema={},
    resource_types=frozenset({REPLICATION_GROUP}),
    validate_resource=validate,
    tags=("aws", "elasticache", "availability", "cost"),
)
