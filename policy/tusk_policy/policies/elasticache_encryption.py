"""elasticache-encryption: Redis traffic is TLS-encrypted and its data encrypted at rest."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import REPLICATION_GROUP
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_true, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """transitEncryptionEnabled and atRestEncryptionEnabled are true; transit mode is not `preferred`."""
    transit = lookup(resource.props, "transitEncryptionEnabled")
    if not is_true(transit):
        yield Violation(
            f"transitEncryptionEnabled is {show(transit)}: the AUTH token and cached data cross the "
            "network in clear text; set distributed_cache.redis_cluster.ssl: true",
            "transitEncryptionEnabled",
            transit,
        )
    mode = lookup(resource.props, "transitEncryptionMode")
    if mode == "preferred":
        yield Violation(
            'transitEncryptionMode is "preferred", which still accepts unencrypted clients; set it '
            'to "required" (or leave it unset)',
            "transitEncryptionMode",
            mode,
        )
    at_rest = lookup(resource.props, "atRestEncryptionEnabled")
    if not is_true(at_rest):
        yield Violation(
            f"atRestEncryptionEnabled is {show(at_rest)}: snapshots and swap hold data unencrypted, "
            "and it cannot be turned on later without a new group; set "
            "distributed_cache.redis_cluster.at_rest_encryption: true",
            "atRestEncryptionEnabled",
            at_rest,
        )


POLICY = PolicyDefinition(
    id="elasticache-encryption",
    description="ElastiCache replication groups encrypt data in transit and at rest.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Create the group with transit_encryption_enabled=True and at_rest_encryption_enabled=True.",
    config_schema={},
    resource_types=frozenset({REPLICATION_GROUP}),
    validate_resource=validate,
    tags=("aws", "elasticache", "security", "encryption"),
)
