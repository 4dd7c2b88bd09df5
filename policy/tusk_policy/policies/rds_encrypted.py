"""rds-encrypted: RDS storage is encrypted at rest (primaries and cross-region replicas alike)."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE, is_read_replica
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_set, is_true, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """storageEncrypted is true; a replica may instead carry the kmsKeyId that encrypts it in its region."""
    encrypted = lookup(resource.props, "storageEncrypted")
    if is_true(encrypted):
        return
    if is_read_replica(resource.props) and is_set(lookup(resource.props, "kmsKeyId")):
        return
    yield Violation(
        f"storageEncrypted is {show(encrypted)}: the database's data, snapshots and replicas would be "
        "stored unencrypted, and encryption cannot be added later without a rebuild; set "
        "storage_encrypted=True (and a KMS key for a cross-region replica)",
        "storageEncrypted",
        encrypted,
    )


POLICY = PolicyDefinition(
    id="rds-encrypted",
    description="RDS instances encrypt their storage at rest.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Create the instance with storage_encrypted=True; cross-region replicas also need kms_key_id."
    ),
    config_schema={},
    resource_types=frozenset({RDS_INSTANCE}),
    validate_resource=validate,
    tags=("aws", "rds", "security", "encryption"),
)
