"""rds-multi-az: a primary RDS instance runs a synchronous standby in another availability zone."""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE, is_read_replica
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_true, lookup, show


def validate(resource: Resource, config: Config) -> Iterator[Violation]:
    """multiAz is true on primaries (replicas are themselves the cross-region redundancy)."""
    if is_read_replica(resource.props):
        return
    multi_az = lookup(resource.props, "multiAz")
    if not is_true(multi_az):
        yield Violation(
            f"multiAz is {show(multi_az)} on a primary: losing its zone stops every write in every "
            "region until a restore; set database.multi_az: true in global.tsk",
            "multiAz",
            multi_az,
        )


POLICY = PolicyDefinition(
    id="rds-multi-az",
    description="Primary RDS instances are multi-AZ.",
    enforcement=Enforcement.ADVISORY,
    severity="medium",
    remediation="Set database.multi_az: true in global.tsk (it doubles the instance cost, hence advisory).",
    config_schema={},
    resource_types=frozenset({RDS_INSTANCE}),
    validate_resource=validate,
    tags=("aws", "rds", "availability", "cost"),
)
