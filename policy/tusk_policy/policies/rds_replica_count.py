"""rds-replica-count: no RDS primary feeds more than 5 read replicas."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from tusk_policy.aws import RDS_INSTANCE
from tusk_policy.model import Config, Enforcement, PolicyDefinition, Resource, Violation
from tusk_policy.props import is_set, known


def _replicas_by_source(resources: Sequence[Resource]) -> dict[str, list[Resource]]:
    by_source: dict[str, list[Resource]] = {}
    for resource in resources:
        if resource.type != RDS_INSTANCE:
            continue
        # A source ARN known only after deploy cannot be grouped; the engine sees it once the primary exists.
        source = known(resource.props, "replicateSourceDb")
        if is_set(source):
            by_source.setdefault(str(source), []).append(resource)
    return by_source


def validate(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    """Count the read replicas of each source database among the resources given (a stack, or all stacks)."""
    limit = config["maxReplicasPerPrimary"]
    for source, replicas in sorted(_replicas_by_source(resources).items()):
        if len(replicas) <= limit:
            continue
        names = ", ".join(r.name or r.urn for r in replicas)
        for replica in replicas[limit:]:
            yield Violation(
                f"primary {source} has {len(replicas)} read replicas ({names}), above the limit of {limit}: "
                "each replica adds replication load and WAL retention on the primary; remove a region from "
                "database.replica_regions or raise rds-replica-count.maxReplicasPerPrimary",
                "replicateSourceDb",
                source,
                urn=replica.urn,
            )


POLICY = PolicyDefinition(
    id="rds-replica-count",
    description="An RDS primary has at most 5 read replicas.",
    enforcement=Enforcement.MANDATORY,
    severity="medium",
    remediation="Keep database.replica_regions in global.tsk to at most 5 regions per primary.",
    config_schema={
        "maxReplicasPerPrimary": {"type": "integer", "minimum": 0, "maximum": 15, "default": 5},
    },
    validate_stack=validate,
    # Each replica region is its own stack: the count only adds up over all of them.
    cross_stack=True,
    tags=("scaling", "aws", "rds"),
)
