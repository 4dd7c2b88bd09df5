"""The diff as JSON, for tools: the same facts as the Markdown report, none of its layout."""

from __future__ import annotations

import json
from typing import Any

from tusk_infra.render.diff import ABSENT, ACTIONS, PlanDiff, PropertyChange, ResourceChange, StackDiff
from tusk_infra.render.failover import planned_failover
from tusk_infra.render.metric_changes import snapshot_data

# @2: a stack whose file was removed is "removed" (with destroy_would_delete), no longer "deleted";
# resource changes may carry a "warning", and a "note" (a static parameter waits for a reboot).
# @3: a stack has "metrics_snapshot" (null, or how its metric snapshot changed and which settings each moved
# metric moved); a stack whose only change is its snapshot is "changed".
DIFF_FORMAT = "tusk-infra/diff@3"


def diff_json(diff: PlanDiff) -> str:
    """Byte-stable JSON of the diff; "before" or "after" is left out when that side lacks the property."""
    document = {
        "format": DIFF_FORMAT,
        "base": diff.base_label,
        "head": diff.head_label,
        "changed": diff.changed,
        "stacks": [stack_data(stack) for stack in diff.stacks],
        "notices": list(diff.notices),
        "warnings": list(diff.warnings),
        # Regions the change drains from global DNS or restores to it.
        "traffic": [
            {"stack": c.stack, "region": c.region, "change": c.action, "source": c.source}
            for c in diff.traffic
        ],
        "failover": failover_data(diff),
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def stack_data(stack: StackDiff) -> dict[str, Any]:
    """One stack's counts, settings and resource changes."""
    return {
        "stack": stack.stack,
        "status": stack.status,
        "counts": {action: stack.count(action) for action in ACTIONS},
        "policy_violations": stack.violations,
        "new_policy_violations": list(stack.new_findings),
        "settings": [
            {**change_data(setting.change), "source": setting.source} for setting in stack.settings
        ],
        "resources": [resource_data(resource) for resource in stack.resources],
        # A removed stack ("status": "removed"): the change deletes none of these; `pulumi destroy` would.
        "destroy_would_delete": [{"urn": r.urn, "type": r.type, "name": r.name} for r in stack.orphaned],
        "metrics_snapshot": snapshot_json_data(stack),
    }


def snapshot_json_data(stack: StackDiff) -> dict[str, Any] | None:
    """The stack's metric snapshot change (None when it did not change)."""
    return snapshot_data(stack.snapshot) if stack.snapshot is not None else None


def resource_data(resource: ResourceChange) -> dict[str, Any]:
    """One resource's action, the properties forcing a replacement, and its property changes."""
    return {
        "urn": resource.urn,
        "type": resource.type,
        "name": resource.name,
        "action": resource.action,
        "replace_reasons": list(resource.replace_reasons),
        "changes": [change_data(change) for change in resource.changes],
        # The replaced resources it reads (their new names); "rollout": a workload's pods restart.
        "reads_replaced": list(resource.reads_replaced),
        "rollout": resource.rollout,
    }


def change_data(change: PropertyChange) -> dict[str, Any]:
    """A property change; secret values are already masks, so only the fact of the change is told."""
    data: dict[str, Any] = {"path": change.path, "secret_changed": change.secret,
                            "forces_replacement": change.replace_reason is not None}
    if change.before is not ABSENT:
        data["before"] = change.before
    if change.after is not ABSENT:
        data["after"] = change.after
    if change.warning is not None:
        data["warning"] = change.warning
    if change.note is not None:
        data["note"] = change.note
    return data


def failover_data(diff: PlanDiff) -> dict[str, Any] | None:
    """A planned database failover (None without one): the regions, and the stacks in deploy order after the
    write freeze, each with its database's role change and the acknowledgement of its replacement."""
    failover = planned_failover(diff)
    if failover is None:
        return None
    steps = [{"stack": step.stack, "role": step.role, "acknowledged": step.acknowledged}
             for step in (*failover.promoted, *failover.others)]
    steps += [{"stack": stack, "role": "app", "acknowledged": None} for stack in failover.apps_only]
    return {"from": failover.old_region, "to": failover.new_region, "order": steps}
