"""rds-backups: primary RDS instances keep automated backups for at least 7 days."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE, is_read_replica
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import lookup, number, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """backupRetentionPeriod >= the minimum on primaries (AWS defaults it to 1 day when unset)."""
    if is_read_replica(resource.props):
        return
    raw = lookup(resource.props, "backupRetentionPeriod")
    days, minimum = number(raw), config["minRetentionDays"]
    if days is None or days < minimum:
        found = f"{show(raw)} days" if days is not None else f"{show(raw)} (AWS then keeps 1 day)"
        yield Violation(
            f"backupRetentionPeriod is {found}, below {minimum}: a bad migration noticed after "
            f"the window cannot be undone; set database.backup_retention_days >= {minimum}",
            "backupRetentionPeriod",
            raw,
        )


POLICY = PolicyDefinition(
    id="rds-backups",
    description="Primary RDS instances retain automated backups for at least 7 days.",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation="Set database.backup_retention_days to 7 or more in global.tsk.",
    config_schema={
        "minRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7},
    },
    resource_types=frozenset({RDS_INSTANCE}),
    validate_resource=validate,
    tags=("aws", "rds", "data-protection"),
)
