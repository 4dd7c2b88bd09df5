"""rds-replacement-acknowledged: a change that replaces or deletes a database says so and is acknowledged.

A failover makes some replacements unavoidable: RDS cannot change a replica's source, so the other replicas
are re-created from the new primary and the former primary is re-created as a replica. Every such change,
and any other that would replace or delete an RDS instance, is a violation until the stack acknowledges it
(`tusk-infra:policyAcknowledgements`, with a reason). It judges a change, so it runs in `tusk-infra diff`;
in `pulumi up` the instances' `protect` option stops the engine before it replaces or deletes one.
"""

from __future__ import annotations

from collections.abc import Iterator

from tusk_policy.aws import RDS_INSTANCE, is_read_replica
from tusk_policy.model import Config, Enforcement, PlannedChange, PolicyDefinition, Violation
from tusk_policy.props import lookup, show

SOURCE = "replicateSourceDb"


def validate(change: PlannedChange, config: Config) -> Iterator[Violation]:
    """A replacement or deletion of an RDS instance, with what it means for the data in it."""
    identifier = show(lookup(change.resource.props, "identifier"))
    acknowledge = ("acknowledge it in tusk-infra:policyAcknowledgements of this stack (policy "
                   f"rds-replacement-acknowledged, resource {change.resource.name}, reason)")
    if change.action == "delete":
        yield Violation(f"RDS instance {identifier} would be DELETED by this change: its data goes with it "
                        f"unless a final snapshot is kept; {acknowledge}", "identifier", identifier)
        return
    if change.action != "replace":
        return
    was_replica, is_replica = is_read_replica(change.before), is_read_replica(change.resource.props)
    reasons = ", ".join(change.reasons) or "(unknown)"
    if is_replica and not was_replica:
        what = ("the former primary becomes a replica of the new one: RDS cannot turn an instance into a "
                "replica, so it is deleted and created again from the new primary (its data is the old "
                "primary's: snapshot it before `pulumi up`)")
    elif is_replica and SOURCE in reasons:
        what = ("the replica follows a new primary: RDS cannot change a replica's source, so it is deleted "
                "and created again from the new primary (reads in this region have no local replica until "
                "the new one is available)")
    else:
        what = "the instance is deleted and a new, empty one created: its data is lost unless restored"
    path = SOURCE if SOURCE in reasons else change.reasons[0] if change.reasons else ""
    message = f"RDS instance {identifier} would be REPLACED (forced by {reasons}): {what}; {acknowledge}"
    yield Violation(message, path, identifier)


POLICY = PolicyDefinition(
    id="rds-replacement-acknowledged",
    description="A change that replaces or deletes an RDS instance is acknowledged (run by tusk-infra diff).",
    enforcement=Enforcement.MANDATORY,
    severity="high",
    remediation=(
        "Avoid the replacement (see what forces it), or acknowledge it in the stack's "
        "tusk-infra:policyAcknowledgements with the reason (e.g. the planned failover), snapshot the "
        "instance, and unprotect it (`pulumi state unprotect URN`) only when the runbook reaches its stack."
    ),
    config_schema={},
    resource_types=frozenset({RDS_INSTANCE}),
    validate_change=validate,
    tags=("aws", "rds", "data-protection", "failover"),
)
