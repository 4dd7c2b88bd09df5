"""The change policies (a replacement or deletion judged against both revisions), for `tusk-infra diff`.

CrossGuard hands a policy one state, so these run where both revisions are known. The head revision's
render records, per stack, what the stack file says of them (level, acknowledgements) in its plan; the diff
applies them to the changes it found and reports what is not acknowledged, like any other violation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tusk_policy import BY_ID, POLICIES, PlannedChange, UnknownValue

from tusk_infra.checks.acknowledgements import read_acknowledgements
from tusk_infra.checks.config import stack_policy_config
from tusk_infra.checks.stack_file import read_stack_settings
from tusk_infra.offline.model import StackRun

CHANGE_POLICIES = tuple(policy for policy in POLICIES if policy.is_change_policy)


def change_policy_settings(run: StackRun, project_dir: Path) -> dict[str, dict[str, Any]]:
    """Per change policy the stack configures: its level and acknowledgements (only those that differ from
    the defaults, so a plan of a stack that says nothing of them has no entry)."""
    settings = read_stack_settings(project_dir, run.stack)
    config = stack_policy_config(settings, run.settings, BY_ID)
    acknowledgements = read_acknowledgements(settings, BY_ID, config.levels)
    found: dict[str, dict[str, Any]] = {}
    for policy in CHANGE_POLICIES:
        level = config.levels[policy.id]
        acks = [{"resource": ack.resource, "reason": ack.reason}
                for ack in acknowledgements if ack.policy == policy.id]
        if acks or level != policy.enforcement.value:
            found[policy.id] = {"level": level, "acknowledgements": acks}
    return found


def change_findings(
    stack: str, changes: Sequence[PlannedChange], settings: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The change policies' findings (as plan finding data) on a stack's replacements and deletions;
    `settings` is what change_policy_settings recorded for the stack at head."""
    findings: list[dict[str, Any]] = []
    for policy in CHANGE_POLICIES:
        configured = settings.get(policy.id, {})
        level = str(configured.get("level", policy.enforcement.value))
        if level == "disabled":
            continue
        for change in changes:
            try:
                violations = policy.check_change(change)
            except UnknownValue:
                continue  # a value only the cloud knows decides it: the engine's `protect` still stops it
            reason = _acknowledged(configured.get("acknowledgements", []), change)
            findings.extend({
                "policy": policy.id, "level": level, "severity": policy.severity, "urn": change.resource.urn,
                "name": change.resource.name, "type": change.resource.type, "path": violation.path,
                "found": change.action, "message": violation.message, "remediation": policy.remediation,
                "source": None, "acknowledged": reason, "stack": stack,
            } for violation in violations)
    return findings


def _acknowledged(acknowledgements: Sequence[Mapping[str, Any]], change: PlannedChange) -> str | None:
    for ack in acknowledgements:
        if ack.get("resource") in ("*", change.resource.name, change.resource.urn):
            return str(ack.get("reason") or "(no reason given)")
    return None
