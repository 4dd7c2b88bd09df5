"""A planned database failover, read from a diff: which stack's replica is promoted, which replicas follow
the new primary, and the order in which the stacks must be deployed.

Moving `database.primary_region` (and every stack's `databasePrimaryStack` with it) shows in the diff as a
promotion (the new primary's instance loses `replicateSourceDb`: an update) and as replacements (RDS cannot
change a replica's source, nor turn an instance into a replica). This module names them; markdown.py
renders the runbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from tusk_infra.render.diff import ABSENT, PlanDiff, ResourceChange, StackDiff

RDS_INSTANCE = "aws:rds/instance:Instance"
PRIMARY_REGION_SETTING = "database.primary_region"
SOURCE = "replicateSourceDb"


@dataclass(frozen=True)
class StackStep:
    """One stack's part in the failover: what happens to its database, and its instance's change."""

    stack: str
    role: str  # "promoted", "demoted" (old primary -> replica), "repointed" (replica of the new primary)
    instance: ResourceChange | None
    # The reason the stack's acknowledgement gives for replacing its instance, if it has one.
    acknowledged: str | None = None


@dataclass(frozen=True)
class PlannedFailover:
    """The primary moves from `old_region` to `new_region`; the steps in deploy order after the freeze."""

    old_region: str | None
    new_region: str | None
    promoted: tuple[StackStep, ...]
    others: tuple[StackStep, ...]
    # Stacks with changes but no database role change (their app's DB_PRIMARY_HOST moves with the primary).
    apps_only: tuple[str, ...]


def planned_failover(diff: PlanDiff) -> PlannedFailover | None:
    """The failover a diff carries out, or None when no database primary moves."""
    old_region, new_region = _primary_move(diff)
    steps = [step for stack in diff.stacks if (step := _step(stack)) is not None]
    if old_region is None and not any(step.role == "promoted" for step in steps):
        return None
    promoted = tuple(step for step in steps if step.role == "promoted")
    # The former primary last among the others: its replacement takes the longest, and nothing waits on it.
    others = tuple(sorted((step for step in steps if step.role != "promoted"),
                          key=lambda step: (step.role == "demoted", step.stack)))
    stepped = {step.stack for step in steps}
    apps_only = tuple(stack.stack for stack in diff.stacks
                      if stack.stack not in stepped and stack.status == "changed")
    return PlannedFailover(old_region, new_region, promoted, others, apps_only)


def _primary_move(diff: PlanDiff) -> tuple[str | None, str | None]:
    for stack in diff.stacks:
        for setting in stack.settings:
            if setting.change.path == PRIMARY_REGION_SETTING:
                before, after = setting.change.before, setting.change.after
                return (None if before is ABSENT else str(before)), (None if after is ABSENT else str(after))
    return None, None


def _step(stack: StackDiff) -> StackStep | None:
    """The stack's database role change, from its RDS instance's replicateSourceDb."""
    for resource in stack.resources:
        if resource.type != RDS_INSTANCE or resource.action not in ("update", "replace"):
            continue  # a new stack's replica is created, not moved
        source = next((change for change in resource.changes if change.path == SOURCE), None)
        if source is None:
            continue
        reasons = [finding.get("acknowledged") for finding in stack.change_findings
                   if finding.get("urn") == resource.urn]
        acknowledged = str(reasons[0]) if reasons and all(reasons) else None
        if source.after is ABSENT:
            return StackStep(stack.stack, "promoted", resource)
        if source.before is ABSENT:
            return StackStep(stack.stack, "demoted", resource, acknowledged)
        return StackStep(stack.stack, "repointed", resource, acknowledged)
    return None
